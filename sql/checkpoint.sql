\set VERBOSITY terse
CREATE TABLE public.cp (x int);
SELECT audit_chain.protect('public.cp', lanes => 2);
INSERT INTO cp VALUES (1), (2), (3);
-- a name that must be percent-encoded: a space, a dot, a non-ASCII letter
CREATE SCHEMA "My Schema";
CREATE TABLE "My Schema"."a.b é" (x int);
SELECT audit_chain.protect('"My Schema"."a.b é"');
INSERT INTO "My Schema"."a.b é" VALUES (1);
SELECT audit_chain.checkpoint() AS id \gset
-- one head per lane of every chain
-- (which lane a backend writes to depends on its pid, so lanes are not shown)
SELECT h.tbl, h.seq, length(h.hash) AS hash_len,
       h.hash = coalesce((SELECT chain_hash FROM cp WHERE chain_lane = h.lane ORDER BY chain_seq DESC LIMIT 1),
                         (SELECT genesis FROM audit_chain.chains c WHERE c.tbl = h.tbl AND c.lane = h.lane)) AS is_head,
       h.chain_at IS NOT DISTINCT FROM (SELECT chain_at FROM cp WHERE chain_lane = h.lane ORDER BY chain_seq DESC LIMIT 1) AS chain_at_ok
  FROM audit_chain.checkpoint_heads h
 WHERE h.checkpoint_id = :id AND h.tbl = 'cp'::regclass
 ORDER BY h.seq;
SELECT count(*) = (SELECT count(*) FROM audit_chain.chains) AS every_lane
  FROM audit_chain.checkpoint_heads WHERE checkpoint_id = :id;
-- the payload v2 (doc/checkpoints.md section 1), hashes and times replaced
SELECT regexp_replace(regexp_replace(regexp_replace(convert_from(payload, 'UTF8'),
                      '[0-9a-f]{64}', '<hash>', 'g'),
                      'created_at [^\n]+', 'created_at <time>'),
                      ' [0-9]{16} ', ' <chain_at> ', 'g') AS payload
  FROM audit_chain.checkpoints WHERE checkpoint_id = :id \gset
SELECT line FROM regexp_split_to_table(:'payload', E'\n') WITH ORDINALITY AS l(line, n)
 WHERE n IN (1, 3, 4, 6) ORDER BY n;
SELECT split_part(:'payload', E'\n', 2) = 'checkpoint_id ' || :id AS id_line,
       split_part(:'payload', E'\n', 5) ~ '^previous (none|<hash>)$' AS previous_line,
       split_part(:'payload', E'\n', -2)
           = 'end ' || (SELECT count(*) FROM regexp_split_to_table(:'payload', E'\n') l
                         WHERE l LIKE 'lane %') AS end_line,
       right(:'payload', 1) = E'\n' AS ends_in_line_feed;
SELECT regexp_replace(line, '^lane public.cp [01] ', 'lane public.cp <lane> ') AS line
  FROM regexp_split_to_table(:'payload', E'\n') AS line
 WHERE line LIKE 'lane public.cp %' OR line LIKE 'lane My%' ORDER BY 1;
-- every lane line, byte for byte, from the registry and the tables
SELECT convert_from(payload, 'UTF8') AS payload
  FROM audit_chain.checkpoints WHERE checkpoint_id = :id \gset
WITH heads AS (
    SELECT c.tbl, c.lane, c.genesis, h.seq, h.hash,
           (SELECT (extract(epoch FROM t.chain_at) * 1000000)::bigint
              FROM audit_chain.checkpoint_heads t
             WHERE t.checkpoint_id = :id AND t.tbl = c.tbl AND t.lane = c.lane) AS at_us,
           c.archived_seq, coalesce(c.archived_hash, c.genesis) AS start_hash,
           c.purged_seq, coalesce(c.purged_hash, c.genesis) AS purged_hash
      FROM audit_chain.chains c, LATERAL audit_chain.lane_head(c.tbl, c.lane) h
     WHERE c.tbl IN ('cp'::regclass, '"My Schema"."a.b é"'::regclass)
)
SELECT format('lane %s %s %s %s %s %s %s %s %s %s',
              CASE WHEN tbl = 'cp'::regclass THEN 'public.cp' ELSE 'My%20Schema.a%2Eb%20%C3%A9' END,
              lane, encode(genesis, 'hex'), seq, encode(hash, 'hex'), coalesce(at_us::text, '-'),
              archived_seq, encode(start_hash, 'hex'), purged_seq, encode(purged_hash, 'hex'))
       = ANY (string_to_array(:'payload', E'\n')) AS line_in_payload, seq
  FROM heads ORDER BY tbl::text, seq;
-- the chain of checkpoints: previous is the SHA-256 of the previous payload
SELECT audit_chain.checkpoint() AS id2 \gset
SELECT split_part(convert_from(c2.payload, 'UTF8'), E'\n', 5)
       = 'previous ' || encode(sha256(c1.payload), 'hex') AS previous_ok,
       split_part(convert_from(c2.payload, 'UTF8'), E'\n', 6) AS key_id_line,
       c2.signature IS NULL AND c2.key_id IS NULL AS unsigned
  FROM audit_chain.checkpoints c1, audit_chain.checkpoints c2
 WHERE c1.checkpoint_id = :id AND c2.checkpoint_id = :id2;
-- export_checkpoint(): the newest one, or the one asked for
SELECT json_object_keys(audit_chain.export_checkpoint()) AS key;
SELECT (e->>'checkpoint_id')::bigint = :id2 AS newest,
       decode(e->>'payload', 'base64') = c.payload AS payload_ok,
       e->>'payload' !~ '\n' AS one_line,
       'created_at ' || (e->>'created_at') = split_part(convert_from(c.payload, 'UTF8'), E'\n', 3)
           AS created_at_ok,
       e->>'format', e->'signature', e->'key_id', e->'public_key', e->'algorithm'
  FROM audit_chain.export_checkpoint() e, audit_chain.checkpoints c
 WHERE c.checkpoint_id = :id2;
SELECT (audit_chain.export_checkpoint(:id)->>'checkpoint_id')::bigint = :id AS asked_for;
SELECT audit_chain.export_checkpoint(-1);
SELECT max(h.seq) AS longest_lane FROM generate_series(0, 1) l, LATERAL audit_chain.lane_head('cp', l) h;
-- checkpoints stay verifiable after more rows
INSERT INTO cp VALUES (4);
SELECT lane, intact FROM audit_chain.verify_chain('cp') ORDER BY lane;
SELECT audit_chain.unprotect('"My Schema"."a.b é"');
DROP TABLE "My Schema"."a.b é";
DROP SCHEMA "My Schema";
