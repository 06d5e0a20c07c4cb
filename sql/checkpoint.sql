\set VERBOSITY terse
CREATE TABLE public.cp (x int);
SELECT audit_chain.protect('public.cp', lanes => 2);
INSERT INTO cp VALUES (1), (2), (3);
SELECT audit_chain.checkpoint() AS id \gset
-- one head per lane of every chain
-- (which lane a backend writes to depends on its pid, so lanes are not shown)
SELECT h.tbl, h.seq, length(h.hash) AS hash_len,
       h.hash = coalesce((SELECT chain_hash FROM cp WHERE chain_lane = h.lane ORDER BY chain_seq DESC LIMIT 1),
                         (SELECT genesis FROM audit_chain.chains c WHERE c.tbl = h.tbl AND c.lane = h.lane)) AS is_head
  FROM audit_chain.checkpoint_heads h
 WHERE h.checkpoint_id = :id AND h.tbl = 'cp'::regclass
 ORDER BY h.seq;
SELECT count(*) = (SELECT count(*) FROM audit_chain.chains) AS every_lane
  FROM audit_chain.checkpoint_heads WHERE checkpoint_id = :id;
-- the payload is plain text: a header, then one line per lane
SELECT regexp_replace(regexp_replace(convert_from(payload, 'UTF8'), '[0-9a-f]{64}', '<hash>', 'g'),
                      'created_at [^\n]+', 'created_at <time>') AS payload
  FROM audit_chain.checkpoints WHERE checkpoint_id = :id \gset
SELECT split_part(:'payload', E'\n', 1) AS line1, split_part(:'payload', E'\n', 2) ~ '^checkpoint_id [0-9]+$' AS line2,
       split_part(:'payload', E'\n', 3) AS line3;
SELECT regexp_replace(line, ' [01] ', ' <lane> ') AS line
  FROM regexp_split_to_table(:'payload', E'\n') AS line WHERE line LIKE 'public.cp %' ORDER BY 1;
SELECT max(h.seq) AS longest_lane FROM generate_series(0, 1) l, LATERAL audit_chain.lane_head('cp', l) h;
-- checkpoints stay verifiable after more rows
INSERT INTO cp VALUES (4);
SELECT lane, intact FROM audit_chain.verify_chain('cp') ORDER BY lane;
