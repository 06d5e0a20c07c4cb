\set VERBOSITY terse
-- test/vectors/v1.json: one lane of three rows over 18 columns.
-- Session settings are deliberately not the canonical ones.
SET timezone = 'America/New_York';
SET datestyle = 'SQL, DMY';
SET intervalstyle = 'sql_standard';
SET extra_float_digits = 3;
SET bytea_output = 'escape';

CREATE TABLE public.vec (
    id bigint, actor text, amount numeric(12,2), at timestamptz, ip inet, net cidr,
    ok boolean, data jsonb, ratio float8, tiny float4, wait interval, raw bytea,
    day date, uid uuid, tags text[], note text, empty text, missing text
);
SELECT audit_chain.protect('public.vec');
INSERT INTO vec
SELECT 42, 'dr-smith', 1234.5, '2024-02-29 23:59:59.999999+05', '10.1.2.3', '10.1.0.0/16',
       true, '{"b": [1, 2.50], "a": null}', 0.1, 1.1, '1 year 2 mons -3 days 04:05:06.5',
       '\xdeadbeef', '2024-02-29', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '{b,"a c",NULL}',
       E'\u00e9t\u00e9 \U0001F600', '', NULL
  FROM generate_series(1, 3);

-- canonical texts and column digests
SELECT c.col, c.canonical, encode(sha256(convert_to(c.canonical, 'UTF8')), 'hex') AS col_digest
  FROM vec, LATERAL (VALUES
    (1, 'id', audit_chain.canonical_text(id)), (2, 'actor', audit_chain.canonical_text(actor)),
    (3, 'amount', audit_chain.canonical_text(amount)), (4, 'at', audit_chain.canonical_text(at)),
    (5, 'ip', audit_chain.canonical_text(ip)), (6, 'net', audit_chain.canonical_text(net)),
    (7, 'ok', audit_chain.canonical_text(ok)), (8, 'data', audit_chain.canonical_text(data)),
    (9, 'ratio', audit_chain.canonical_text(ratio)), (10, 'tiny', audit_chain.canonical_text(tiny)),
    (11, 'wait', audit_chain.canonical_text(wait)), (12, 'raw', audit_chain.canonical_text(raw)),
    (13, 'day', audit_chain.canonical_text(day)), (14, 'uid', audit_chain.canonical_text(uid)),
    (15, 'tags', audit_chain.canonical_text(tags)), (16, 'note', audit_chain.canonical_text(note)),
    (17, 'empty', audit_chain.canonical_text(empty)), (18, 'missing', audit_chain.canonical_text(missing))
  ) AS c(n, col, canonical)
 WHERE vec.chain_seq = 1
 ORDER BY c.n;

-- put the vectors' chain_at and chain_prev in place (as a superuser, triggers off)
SET session_replication_role = replica;
UPDATE vec SET chain_prev = sha256('test genesis'),
               chain_at = 'epoch'::timestamptz + 1709236799999999 * interval '1 microsecond'
 WHERE chain_seq = 1;
UPDATE vec SET chain_prev = '\xd4baece2d25ff119450a9b20b79cc8aa91fccd659e7eb7c82df48c14d8120e1b',
               chain_at = 'epoch'::timestamptz + 1709236800000000 * interval '1 microsecond'
 WHERE chain_seq = 2;
UPDATE vec SET chain_prev = '\x152c050ffd9ec5eec10a5d25b27c1e348475a8a4cd2aa8ac7a6bf79f7a76ee12',
               chain_at = 'epoch'::timestamptz - interval '1 microsecond'
 WHERE chain_seq = 3;
RESET session_replication_role;

SELECT chain_seq, encode(audit_chain.row_hash('vec', 0, chain_seq), 'hex') AS chain_hash,
       encode(audit_chain.row_hash('vec', 0, chain_seq), 'hex') = (ARRAY[
           'd4baece2d25ff119450a9b20b79cc8aa91fccd659e7eb7c82df48c14d8120e1b',
           '152c050ffd9ec5eec10a5d25b27c1e348475a8a4cd2aa8ac7a6bf79f7a76ee12',
           '929f672704142bde484e2c207bc20b93244bdf0cbabfc0f604e815efdf55b857'])[chain_seq] AS matches_vector
  FROM vec ORDER BY chain_seq;
-- the hash input of row 3 starts with the format, seq 3 and chain_at -1
SELECT encode(substring(audit_chain.canonical_row('vec', 0, 3) FROM 1 FOR 31), 'hex') AS input_head;
RESET ALL;
