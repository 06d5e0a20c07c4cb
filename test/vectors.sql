-- The v1 test vectors (test/vectors/v1.json): rows written with the
-- vectors' chain columns must hash, byte for byte, to the vectors' hashes,
-- and verify as one intact lane; a new row continues that lane.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

SELECT plan(15);

CREATE SCHEMA tap_vec;
CREATE FUNCTION tap_vec.at(micros bigint) RETURNS timestamptz LANGUAGE sql IMMUTABLE AS
$$SELECT '1970-01-01 00:00:00+00'::timestamptz + micros * interval '1 microsecond'$$;

CREATE TABLE tap_vec.v1 (
    id bigint,
    actor text,
    amount numeric(12,2),
    at timestamptz,
    ip inet,
    net cidr,
    ok boolean,
    data jsonb,
    ratio float8,
    tiny float4,
    wait interval,
    raw bytea,
    day date,
    uid uuid,
    tags text[],
    note text,
    empty text,
    missing text
);
SELECT audit_chain.protect('tap_vec.v1');

-- The lane starts from the vectors' genesis, sha256('test genesis')
UPDATE audit_chain.chains SET genesis = sha256(convert_to('test genesis', 'UTF8'))
 WHERE tbl = 'tap_vec.v1'::regclass AND lane = 0;
SELECT is(encode(genesis, 'hex'), '494504bc082f1d7cedd1eba6b890081b724695c8e2b5009a3875b1b4dec5ba31', 'genesis of the vectors is sha256(''test genesis'')')
  FROM audit_chain.chains WHERE tbl = 'tap_vec.v1'::regclass;

-- Write the rows with their chain columns as given, past the trigger
SET LOCAL session_replication_role = replica;
INSERT INTO tap_vec.v1 (id, actor, amount, at, ip, net, ok, data, ratio, tiny, wait, raw, day, uid, tags, note, empty, missing, chain_lane, chain_seq, chain_at, chain_prev, chain_hash)
VALUES (42, 'dr-smith', 1234.5, '2024-02-29 23:59:59.999999+05', '10.1.2.3', '10.1.0.0/16', true, '{"b": [1, 2.50], "a": null}', 0.1, 1.1, '1 year 2 mons -3 days 04:05:06.5', '\xdeadbeef', '2024-02-29', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '{b,"a c",NULL}', E'\u00e9t\u00e9 \U0001F600', '', NULL,
        0, 1, tap_vec.at(1709236799999999), '\x494504bc082f1d7cedd1eba6b890081b724695c8e2b5009a3875b1b4dec5ba31', '\xd4baece2d25ff119450a9b20b79cc8aa91fccd659e7eb7c82df48c14d8120e1b');
INSERT INTO tap_vec.v1 (id, actor, amount, at, ip, net, ok, data, ratio, tiny, wait, raw, day, uid, tags, note, empty, missing, chain_lane, chain_seq, chain_at, chain_prev, chain_hash)
VALUES (42, 'dr-smith', 1234.5, '2024-02-29 23:59:59.999999+05', '10.1.2.3', '10.1.0.0/16', true, '{"b": [1, 2.50], "a": null}', 0.1, 1.1, '1 year 2 mons -3 days 04:05:06.5', '\xdeadbeef', '2024-02-29', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '{b,"a c",NULL}', E'\u00e9t\u00e9 \U0001F600', '', NULL,
        0, 2, tap_vec.at(1709236800000000), '\xd4baece2d25ff119450a9b20b79cc8aa91fccd659e7eb7c82df48c14d8120e1b', '\x152c050ffd9ec5eec10a5d25b27c1e348475a8a4cd2aa8ac7a6bf79f7a76ee12');
INSERT INTO tap_vec.v1 (id, actor, amount, at, ip, net, ok, data, ratio, tiny, wait, raw, day, uid, tags, note, empty, missing, chain_lane, chain_seq, chain_at, chain_prev, chain_hash)
VALUES (42, 'dr-smith', 1234.5, '2024-02-29 23:59:59.999999+05', '10.1.2.3', '10.1.0.0/16', true, '{"b": [1, 2.50], "a": null}', 0.1, 1.1, '1 year 2 mons -3 days 04:05:06.5', '\xdeadbeef', '2024-02-29', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '{b,"a c",NULL}', E'\u00e9t\u00e9 \U0001F600', '', NULL,
        0, 3, tap_vec.at(-1), '\x152c050ffd9ec5eec10a5d25b27c1e348475a8a4cd2aa8ac7a6bf79f7a76ee12', '\x929f672704142bde484e2c207bc20b93244bdf0cbabfc0f604e815efdf55b857');
SET LOCAL session_replication_role = origin;

SELECT is(extract(epoch FROM chain_at)::numeric, -0.000001, 'row 3 has chain_at one microsecond before 1970')
  FROM tap_vec.v1 WHERE chain_seq = 3;

SELECT is(audit_chain.canonical_row('tap_vec.v1', 0, 1),
           convert_to('audit_chain/v1', 'UTF8')
           || '\x00'::bytea
           || int8send(1::bigint)
           || int8send(1709236799999999::bigint)
           || '\x494504bc082f1d7cedd1eba6b890081b724695c8e2b5009a3875b1b4dec5ba31'::bytea
           || int4send(2) || convert_to('id', 'UTF8') || '\x73475cb40a568e8da8a045ced110137e159f890ac4da883b6b17dc651b3a8049'::bytea
           || int4send(5) || convert_to('actor', 'UTF8') || '\x42e457aa5c07b015868a57be3a803f33c0229024a6cab679fb529e23c377c7e4'::bytea
           || int4send(6) || convert_to('amount', 'UTF8') || '\xe042c20a3a5a45c42b6fc35f132a18004af71b79929334a47808f87460a53a63'::bytea
           || int4send(2) || convert_to('at', 'UTF8') || '\x9b8c05f991e949ada6a9b527e89df79704185c91b6986ecbc8a193bbadf9049c'::bytea
           || int4send(2) || convert_to('ip', 'UTF8') || '\x8e099943f7370d7ecd46ad56442e02670e8ed1a8b2ba5c42a69f06f1c050189b'::bytea
           || int4send(3) || convert_to('net', 'UTF8') || '\x061bb4c1d9b2c615d1590e4a591e09898d281a9239eb20efbd80777fef277b92'::bytea
           || int4send(2) || convert_to('ok', 'UTF8') || '\xe3b98a4da31a127d4bde6e43033f66ba274cab0eb7eb1c70ec41402bf6273dd8'::bytea
           || int4send(4) || convert_to('data', 'UTF8') || '\x5358e608f943f05a49ea71d6867b52687243034bb4850ace84315867301406a6'::bytea
           || int4send(5) || convert_to('ratio', 'UTF8') || '\x14be4b45f18e0d8c67b4f719b5144eee88497e413709d11d85b096d8e2346310'::bytea
           || int4send(4) || convert_to('tiny', 'UTF8') || '\xb05e244762b1e472be89a93800cc3ee326743cecb55984bf12813addb8de66d0'::bytea
           || int4send(4) || convert_to('wait', 'UTF8') || '\x9aa889e306ce19d53d28973cb901b223181326f3ccc247abb380cbbcf2d0c10a'::bytea
           || int4send(3) || convert_to('raw', 'UTF8') || '\x8b881d36d9e6b40c3ea753fbd71278f40ad03de8cd5fa438aa0d81290deb3c49'::bytea
           || int4send(3) || convert_to('day', 'UTF8') || '\x2b65ec693644068605c58315fc62d32e4eff6b2f515de973ce63f5bc6e3dcadf'::bytea
           || int4send(3) || convert_to('uid', 'UTF8') || '\x0aca198ee7979a67105e1a1f69ddbff10f82c7d8d2f69a2a41a15d75ac2d1146'::bytea
           || int4send(4) || convert_to('tags', 'UTF8') || '\x5395298c854fc5c02de1eb9d1416cfd6c3900e7d6b1211e59253090dc7c669f7'::bytea
           || int4send(4) || convert_to('note', 'UTF8') || '\xb6f737808912766258ebee9db7f560a07aee90dae75779f3009d35bb1873b4f9'::bytea
           || int4send(5) || convert_to('empty', 'UTF8') || '\xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'::bytea,
          'v1 row 1: canonical_row() is the input doc/hash-format.md specifies');
SELECT is(encode(sha256(audit_chain.canonical_row('tap_vec.v1', 0, 1)), 'hex'), 'd4baece2d25ff119450a9b20b79cc8aa91fccd659e7eb7c82df48c14d8120e1b',
          'v1 row 1: SHA-256 of canonical_row() is the expected chain_hash');
SELECT is(encode(audit_chain.row_hash('tap_vec.v1', 0, 1), 'hex'), 'd4baece2d25ff119450a9b20b79cc8aa91fccd659e7eb7c82df48c14d8120e1b',
          'v1 row 1: row_hash() is the expected chain_hash');
SELECT is(audit_chain.canonical_row('tap_vec.v1', 0, 2),
           convert_to('audit_chain/v1', 'UTF8')
           || '\x00'::bytea
           || int8send(2::bigint)
           || int8send(1709236800000000::bigint)
           || '\xd4baece2d25ff119450a9b20b79cc8aa91fccd659e7eb7c82df48c14d8120e1b'::bytea
           || int4send(2) || convert_to('id', 'UTF8') || '\x73475cb40a568e8da8a045ced110137e159f890ac4da883b6b17dc651b3a8049'::bytea
           || int4send(5) || convert_to('actor', 'UTF8') || '\x42e457aa5c07b015868a57be3a803f33c0229024a6cab679fb529e23c377c7e4'::bytea
           || int4send(6) || convert_to('amount', 'UTF8') || '\xe042c20a3a5a45c42b6fc35f132a18004af71b79929334a47808f87460a53a63'::bytea
           || int4send(2) || convert_to('at', 'UTF8') || '\x9b8c05f991e949ada6a9b527e89df79704185c91b6986ecbc8a193bbadf9049c'::bytea
           || int4send(2) || convert_to('ip', 'UTF8') || '\x8e099943f7370d7ecd46ad56442e02670e8ed1a8b2ba5c42a69f06f1c050189b'::bytea
           || int4send(3) || convert_to('net', 'UTF8') || '\x061bb4c1d9b2c615d1590e4a591e09898d281a9239eb20efbd80777fef277b92'::bytea
           || int4send(2) || convert_to('ok', 'UTF8') || '\xe3b98a4da31a127d4bde6e43033f66ba274cab0eb7eb1c70ec41402bf6273dd8'::bytea
           || int4send(4) || convert_to('data', 'UTF8') || '\x5358e608f943f05a49ea71d6867b52687243034bb4850ace84315867301406a6'::bytea
           || int4send(5) || convert_to('ratio', 'UTF8') || '\x14be4b45f18e0d8c67b4f719b5144eee88497e413709d11d85b096d8e2346310'::bytea
           || int4send(4) || convert_to('tiny', 'UTF8') || '\xb05e244762b1e472be89a93800cc3ee326743cecb55984bf12813addb8de66d0'::bytea
           || int4send(4) || convert_to('wait', 'UTF8') || '\x9aa889e306ce19d53d28973cb901b223181326f3ccc247abb380cbbcf2d0c10a'::bytea
           || int4send(3) || convert_to('raw', 'UTF8') || '\x8b881d36d9e6b40c3ea753fbd71278f40ad03de8cd5fa438aa0d81290deb3c49'::bytea
           || int4send(3) || convert_to('day', 'UTF8') || '\x2b65ec693644068605c58315fc62d32e4eff6b2f515de973ce63f5bc6e3dcadf'::bytea
           || int4send(3) || convert_to('uid', 'UTF8') || '\x0aca198ee7979a67105e1a1f69ddbff10f82c7d8d2f69a2a41a15d75ac2d1146'::bytea
           || int4send(4) || convert_to('tags', 'UTF8') || '\x5395298c854fc5c02de1eb9d1416cfd6c3900e7d6b1211e59253090dc7c669f7'::bytea
           || int4send(4) || convert_to('note', 'UTF8') || '\xb6f737808912766258ebee9db7f560a07aee90dae75779f3009d35bb1873b4f9'::bytea
           || int4send(5) || convert_to('empty', 'UTF8') || '\xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'::bytea,
          'v1 row 2: canonical_row() is the input doc/hash-format.md specifies');
SELECT is(encode(sha256(audit_chain.canonical_row('tap_vec.v1', 0, 2)), 'hex'), '152c050ffd9ec5eec10a5d25b27c1e348475a8a4cd2aa8ac7a6bf79f7a76ee12',
          'v1 row 2: SHA-256 of canonical_row() is the expected chain_hash');
SELECT is(encode(audit_chain.row_hash('tap_vec.v1', 0, 2), 'hex'), '152c050ffd9ec5eec10a5d25b27c1e348475a8a4cd2aa8ac7a6bf79f7a76ee12',
          'v1 row 2: row_hash() is the expected chain_hash');
SELECT is(audit_chain.canonical_row('tap_vec.v1', 0, 3),
           convert_to('audit_chain/v1', 'UTF8')
           || '\x00'::bytea
           || int8send(3::bigint)
           || int8send(-1::bigint)
           || '\x152c050ffd9ec5eec10a5d25b27c1e348475a8a4cd2aa8ac7a6bf79f7a76ee12'::bytea
           || int4send(2) || convert_to('id', 'UTF8') || '\x73475cb40a568e8da8a045ced110137e159f890ac4da883b6b17dc651b3a8049'::bytea
           || int4send(5) || convert_to('actor', 'UTF8') || '\x42e457aa5c07b015868a57be3a803f33c0229024a6cab679fb529e23c377c7e4'::bytea
           || int4send(6) || convert_to('amount', 'UTF8') || '\xe042c20a3a5a45c42b6fc35f132a18004af71b79929334a47808f87460a53a63'::bytea
           || int4send(2) || convert_to('at', 'UTF8') || '\x9b8c05f991e949ada6a9b527e89df79704185c91b6986ecbc8a193bbadf9049c'::bytea
           || int4send(2) || convert_to('ip', 'UTF8') || '\x8e099943f7370d7ecd46ad56442e02670e8ed1a8b2ba5c42a69f06f1c050189b'::bytea
           || int4send(3) || convert_to('net', 'UTF8') || '\x061bb4c1d9b2c615d1590e4a591e09898d281a9239eb20efbd80777fef277b92'::bytea
           || int4send(2) || convert_to('ok', 'UTF8') || '\xe3b98a4da31a127d4bde6e43033f66ba274cab0eb7eb1c70ec41402bf6273dd8'::bytea
           || int4send(4) || convert_to('data', 'UTF8') || '\x5358e608f943f05a49ea71d6867b52687243034bb4850ace84315867301406a6'::bytea
           || int4send(5) || convert_to('ratio', 'UTF8') || '\x14be4b45f18e0d8c67b4f719b5144eee88497e413709d11d85b096d8e2346310'::bytea
           || int4send(4) || convert_to('tiny', 'UTF8') || '\xb05e244762b1e472be89a93800cc3ee326743cecb55984bf12813addb8de66d0'::bytea
           || int4send(4) || convert_to('wait', 'UTF8') || '\x9aa889e306ce19d53d28973cb901b223181326f3ccc247abb380cbbcf2d0c10a'::bytea
           || int4send(3) || convert_to('raw', 'UTF8') || '\x8b881d36d9e6b40c3ea753fbd71278f40ad03de8cd5fa438aa0d81290deb3c49'::bytea
           || int4send(3) || convert_to('day', 'UTF8') || '\x2b65ec693644068605c58315fc62d32e4eff6b2f515de973ce63f5bc6e3dcadf'::bytea
           || int4send(3) || convert_to('uid', 'UTF8') || '\x0aca198ee7979a67105e1a1f69ddbff10f82c7d8d2f69a2a41a15d75ac2d1146'::bytea
           || int4send(4) || convert_to('tags', 'UTF8') || '\x5395298c854fc5c02de1eb9d1416cfd6c3900e7d6b1211e59253090dc7c669f7'::bytea
           || int4send(4) || convert_to('note', 'UTF8') || '\xb6f737808912766258ebee9db7f560a07aee90dae75779f3009d35bb1873b4f9'::bytea
           || int4send(5) || convert_to('empty', 'UTF8') || '\xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'::bytea,
          'v1 row 3: canonical_row() is the input doc/hash-format.md specifies');
SELECT is(encode(sha256(audit_chain.canonical_row('tap_vec.v1', 0, 3)), 'hex'), '929f672704142bde484e2c207bc20b93244bdf0cbabfc0f604e815efdf55b857',
          'v1 row 3: SHA-256 of canonical_row() is the expected chain_hash');
SELECT is(encode(audit_chain.row_hash('tap_vec.v1', 0, 3), 'hex'), '929f672704142bde484e2c207bc20b93244bdf0cbabfc0f604e815efdf55b857',
          'v1 row 3: row_hash() is the expected chain_hash');

SELECT results_eq($$SELECT lane, rows_checked, intact, problem FROM audit_chain.verify_chain('tap_vec.v1')$$,
                  $$VALUES (0, 3::bigint, true, NULL::text)$$,
                  'the three vector rows verify as one intact lane');

-- A new row, sealed by the trigger, continues the lane from the vectors
INSERT INTO tap_vec.v1 (id, actor, note) VALUES (43, 'after the vectors', 'four');
SELECT results_eq($$SELECT chain_seq, encode(chain_prev, 'hex') FROM tap_vec.v1 WHERE id = 43$$,
                  $$VALUES (4::bigint, '929f672704142bde484e2c207bc20b93244bdf0cbabfc0f604e815efdf55b857')$$,
                  'a new row takes seq 4 and links to the last vector row');
SELECT results_eq($$SELECT rows_checked, intact FROM audit_chain.verify_chain('tap_vec.v1')$$,
                  $$VALUES (4::bigint, true)$$, 'and the lane still verifies');

-- One bit of a vector row changed: caught
SET LOCAL session_replication_role = replica;
UPDATE tap_vec.v1 SET note = note || ' ' WHERE chain_seq = 2;
SET LOCAL session_replication_role = origin;
SELECT results_eq($$SELECT intact, first_bad_seq FROM audit_chain.verify_chain('tap_vec.v1')$$,
                  $$VALUES (false, 2::bigint)$$, 'a space added to a vector row is caught at its seq');

SELECT * FROM finish();
ROLLBACK;
