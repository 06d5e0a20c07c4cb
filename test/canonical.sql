-- canonical_text(): the text whose SHA-256 is a column's digest is the same
-- whatever the session's settings (doc/hash-format.md), matching the v1
-- test vectors; types whose text cannot be fixed are refused.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

SELECT plan(76);

-- Hostile session settings: every one differs from the canonical one
SET LOCAL timezone = 'Asia/Kolkata';
SET LOCAL datestyle = 'SQL, DMY';
SET LOCAL intervalstyle = 'iso_8601';
SET LOCAL extra_float_digits = 3;
SET LOCAL bytea_output = 'escape';
SET LOCAL lc_monetary = 'C';

-- The values of test/vectors/v1.json
SELECT is(audit_chain.canonical_text(42::bigint), '42',
          'v1 canonical text of id (bigint)');
SELECT is(encode(sha256(convert_to(audit_chain.canonical_text(42::bigint), 'UTF8')), 'hex'),
          '73475cb40a568e8da8a045ced110137e159f890ac4da883b6b17dc651b3a8049', 'v1 col_digest of id (bigint)');
SELECT is(audit_chain.canonical_text('dr-smith'::text), 'dr-smith',
          'v1 canonical text of actor (text)');
SELECT is(encode(sha256(convert_to(audit_chain.canonical_text('dr-smith'::text), 'UTF8')), 'hex'),
          '42e457aa5c07b015868a57be3a803f33c0229024a6cab679fb529e23c377c7e4', 'v1 col_digest of actor (text)');
SELECT is(audit_chain.canonical_text(1234.5::numeric(12,2)), '1234.50',
          'v1 canonical text of amount (numeric(12,2))');
SELECT is(encode(sha256(convert_to(audit_chain.canonical_text(1234.5::numeric(12,2)), 'UTF8')), 'hex'),
          'e042c20a3a5a45c42b6fc35f132a18004af71b79929334a47808f87460a53a63', 'v1 col_digest of amount (numeric(12,2))');
SELECT is(audit_chain.canonical_text('2024-02-29 23:59:59.999999+05'::timestamptz), '2024-02-29 18:59:59.999999+00',
          'v1 canonical text of at (timestamptz)');
SELECT is(encode(sha256(convert_to(audit_chain.canonical_text('2024-02-29 23:59:59.999999+05'::timestamptz), 'UTF8')), 'hex'),
          '9b8c05f991e949ada6a9b527e89df79704185c91b6986ecbc8a193bbadf9049c', 'v1 col_digest of at (timestamptz)');
SELECT is(audit_chain.canonical_text('10.1.2.3'::inet), '10.1.2.3',
          'v1 canonical text of ip (inet)');
SELECT is(encode(sha256(convert_to(audit_chain.canonical_text('10.1.2.3'::inet), 'UTF8')), 'hex'),
          '8e099943f7370d7ecd46ad56442e02670e8ed1a8b2ba5c42a69f06f1c050189b', 'v1 col_digest of ip (inet)');
SELECT is(audit_chain.canonical_text('10.1.0.0/16'::cidr), '10.1.0.0/16',
          'v1 canonical text of net (cidr)');
SELECT is(encode(sha256(convert_to(audit_chain.canonical_text('10.1.0.0/16'::cidr), 'UTF8')), 'hex'),
          '061bb4c1d9b2c615d1590e4a591e09898d281a9239eb20efbd80777fef277b92', 'v1 col_digest of net (cidr)');
SELECT is(audit_chain.canonical_text(true::boolean), 't',
          'v1 canonical text of ok (boolean)');
SELECT is(encode(sha256(convert_to(audit_chain.canonical_text(true::boolean), 'UTF8')), 'hex'),
          'e3b98a4da31a127d4bde6e43033f66ba274cab0eb7eb1c70ec41402bf6273dd8', 'v1 col_digest of ok (boolean)');
SELECT is(audit_chain.canonical_text('{"b": [1, 2.50], "a": null}'::jsonb), '{"a": null, "b": [1, 2.50]}',
          'v1 canonical text of data (jsonb)');
SELECT is(encode(sha256(convert_to(audit_chain.canonical_text('{"b": [1, 2.50], "a": null}'::jsonb), 'UTF8')), 'hex'),
          '5358e608f943f05a49ea71d6867b52687243034bb4850ace84315867301406a6', 'v1 col_digest of data (jsonb)');
SELECT is(audit_chain.canonical_text(0.1::float8), '0.1',
          'v1 canonical text of ratio (float8)');
SELECT is(encode(sha256(convert_to(audit_chain.canonical_text(0.1::float8), 'UTF8')), 'hex'),
          '14be4b45f18e0d8c67b4f719b5144eee88497e413709d11d85b096d8e2346310', 'v1 col_digest of ratio (float8)');
SELECT is(audit_chain.canonical_text(1.1::float4), '1.1',
          'v1 canonical text of tiny (float4)');
SELECT is(encode(sha256(convert_to(audit_chain.canonical_text(1.1::float4), 'UTF8')), 'hex'),
          'b05e244762b1e472be89a93800cc3ee326743cecb55984bf12813addb8de66d0', 'v1 col_digest of tiny (float4)');
SELECT is(audit_chain.canonical_text('1 year 2 mons -3 days 04:05:06.5'::interval), '1 year 2 mons -3 days +04:05:06.5',
          'v1 canonical text of wait (interval)');
SELECT is(encode(sha256(convert_to(audit_chain.canonical_text('1 year 2 mons -3 days 04:05:06.5'::interval), 'UTF8')), 'hex'),
          '9aa889e306ce19d53d28973cb901b223181326f3ccc247abb380cbbcf2d0c10a', 'v1 col_digest of wait (interval)');
SELECT is(audit_chain.canonical_text('\xdeadbeef'::bytea), '\xdeadbeef',
          'v1 canonical text of raw (bytea)');
SELECT is(encode(sha256(convert_to(audit_chain.canonical_text('\xdeadbeef'::bytea), 'UTF8')), 'hex'),
          '8b881d36d9e6b40c3ea753fbd71278f40ad03de8cd5fa438aa0d81290deb3c49', 'v1 col_digest of raw (bytea)');
SELECT is(audit_chain.canonical_text('2024-02-29'::date), '2024-02-29',
          'v1 canonical text of day (date)');
SELECT is(encode(sha256(convert_to(audit_chain.canonical_text('2024-02-29'::date), 'UTF8')), 'hex'),
          '2b65ec693644068605c58315fc62d32e4eff6b2f515de973ce63f5bc6e3dcadf', 'v1 col_digest of day (date)');
SELECT is(audit_chain.canonical_text('A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::uuid), 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
          'v1 canonical text of uid (uuid)');
SELECT is(encode(sha256(convert_to(audit_chain.canonical_text('A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::uuid), 'UTF8')), 'hex'),
          '0aca198ee7979a67105e1a1f69ddbff10f82c7d8d2f69a2a41a15d75ac2d1146', 'v1 col_digest of uid (uuid)');
SELECT is(audit_chain.canonical_text('{b,"a c",NULL}'::text[]), '{b,"a c",NULL}',
          'v1 canonical text of tags (text[])');
SELECT is(encode(sha256(convert_to(audit_chain.canonical_text('{b,"a c",NULL}'::text[]), 'UTF8')), 'hex'),
          '5395298c854fc5c02de1eb9d1416cfd6c3900e7d6b1211e59253090dc7c669f7', 'v1 col_digest of tags (text[])');
SELECT is(audit_chain.canonical_text(E'\u00e9t\u00e9 \U0001F600'::text), 'été 😀',
          'v1 canonical text of note (text)');
SELECT is(encode(sha256(convert_to(audit_chain.canonical_text(E'\u00e9t\u00e9 \U0001F600'::text), 'UTF8')), 'hex'),
          'b6f737808912766258ebee9db7f560a07aee90dae75779f3009d35bb1873b4f9', 'v1 col_digest of note (text)');
SELECT is(audit_chain.canonical_text(''::text), '',
          'v1 canonical text of empty (text)');
SELECT is(encode(sha256(convert_to(audit_chain.canonical_text(''::text), 'UTF8')), 'hex'),
          'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'v1 col_digest of empty (text)');

SELECT is(audit_chain.canonical_text(NULL::text), NULL, 'canonical_text of NULL is NULL');

-- More types under the same settings
SELECT is(audit_chain.canonical_text('2024-02-29 23:59:59'::timestamp), '2024-02-29 23:59:59',
          'timestamp without time zone: ISO, not SQL/DMY');
SELECT is(audit_chain.canonical_text('2024-07-01 12:00:00+02'::timestamptz), '2024-07-01 10:00:00+00',
          'timestamptz: in UTC, not the session time zone');
SELECT is(audit_chain.canonical_text('0001-01-01 00:00:00+00'::timestamptz - interval '1 day'),
          '0001-12-31 00:00:00+00 BC', 'timestamptz before year 1: BC');
SELECT is(audit_chain.canonical_text('infinity'::timestamptz), 'infinity', 'timestamptz infinity');
SELECT is(audit_chain.canonical_text('04:05:06+05'::timetz), '04:05:06+05', 'timetz keeps its own offset');
SELECT is(audit_chain.canonical_text('04:05:06.789'::time), '04:05:06.789', 'time');
SELECT is(audit_chain.canonical_text('-1 day -02:00:00'::interval), '-1 days -02:00:00',
          'negative interval in postgres style');
SELECT is(audit_chain.canonical_text('PT0S'::interval), '00:00:00', 'zero interval');
SELECT is(audit_chain.canonical_text(1::float8 / 3), '0.3333333333333333', 'float8: shortest exact text');
SELECT is(audit_chain.canonical_text(1e100::float8), '1e+100', 'float8 1e100');
SELECT is(audit_chain.canonical_text('NaN'::float8), 'NaN', 'float8 NaN');
SELECT is(audit_chain.canonical_text('-Infinity'::float8), '-Infinity', 'float8 -Infinity');
SELECT is(audit_chain.canonical_text('-0'::float8), '-0', 'float8 negative zero');
SELECT is(audit_chain.canonical_text(0.1::float4), '0.1', 'float4 0.1');
SELECT is(audit_chain.canonical_text('\x'::bytea), '\x', 'empty bytea');
SELECT is(audit_chain.canonical_text(ARRAY['2024-01-01 00:00:00+00'::timestamptz]),
          '{"2024-01-01 00:00:00+00"}', 'an array of timestamptz');
SELECT is(audit_chain.canonical_text(ARRAY['\x00ff'::bytea]), '{"\\x00ff"}', 'an array of bytea');
SELECT is(audit_chain.canonical_text(tstzrange('2024-01-01 00:00+00', '2024-01-02 00:00+00')),
          '["2024-01-01 00:00:00+00","2024-01-02 00:00:00+00")', 'a tstzrange');
SELECT is(audit_chain.canonical_text(ROW(1::float8 / 3, '2024-01-01'::date, '1 hour'::interval)),
          '(0.3333333333333333,2024-01-01,01:00:00)', 'a record of sensitive types');
SELECT is(audit_chain.canonical_text('{"b": [1, 2.50], "a": null}'::json), '{"b": [1, 2.50], "a": null}',
          'json keeps its text as written');
SELECT is(audit_chain.canonical_text(12345678901234567890.000::numeric), '12345678901234567890.000',
          'numeric keeps its scale');
SELECT is(audit_chain.canonical_text('  padded'::varchar(20)), '  padded', 'varchar');
SELECT is(audit_chain.canonical_text('ab'::char(4)), 'ab  ', 'char(n) keeps its padding');
SELECT is(audit_chain.canonical_text('08:00:2b:01:02:03'::macaddr), '08:00:2b:01:02:03', 'macaddr');
SELECT is(audit_chain.canonical_text(B'1010'), '1010', 'bit string');
SELECT is(audit_chain.canonical_text('(1,2)'::point), '(1,2)', 'point');

-- The session's settings are left as they were
SELECT results_eq(
    $$SELECT current_setting('timezone'), current_setting('datestyle'), current_setting('intervalstyle'),
             current_setting('extra_float_digits'), current_setting('bytea_output')$$,
    $$VALUES ('Asia/Kolkata', 'SQL, DMY', 'iso_8601', '3', 'escape')$$,
    'canonical_text() restores the session settings');
SELECT is(now()::date::text, to_char(now() AT TIME ZONE 'Asia/Kolkata', 'DD/MM/YYYY'),
          'and they are still in force');

-- Rows sealed under hostile settings verify under other ones
CREATE SCHEMA tap_canon;
CREATE TABLE tap_canon.t (id int, at timestamptz, d date, w interval, r float8, b bytea);
SELECT audit_chain.protect('tap_canon.t');
INSERT INTO tap_canon.t (id, at, d, w, r, b)
VALUES (1, '2024-02-29 23:59:59.999999+05', '2024-02-29', '1 year 2 mons -3 days 04:05:06.5', 0.1, '\xdeadbeef');
SET LOCAL timezone = 'America/St_Johns';
SET LOCAL datestyle = 'German';
SET LOCAL intervalstyle = 'sql_standard';
SET LOCAL extra_float_digits = -15;
SET LOCAL bytea_output = 'hex';
SELECT results_eq($$SELECT rows_checked, intact FROM audit_chain.verify_chain('tap_canon.t')$$,
                  $$VALUES (1::bigint, true)$$, 'a row sealed under one set of settings verifies under another');
SELECT is(position(sha256(convert_to('2024-02-29 18:59:59.999999+00', 'UTF8'))
                   IN audit_chain.canonical_row('tap_canon.t', 0, 1)) > 0, true,
          'the hash input holds the digest of the canonical timestamptz text');
SELECT is(position(sha256(convert_to('1 year 2 mons -3 days +04:05:06.5', 'UTF8'))
                   IN audit_chain.canonical_row('tap_canon.t', 0, 1)) > 0, true,
          'and of the canonical interval text');

-- Types whose text depends on settings or names are refused
CREATE DOMAIN tap_canon.price AS money;
CREATE TABLE tap_canon.m (id int, amount money);
CREATE TABLE tap_canon.ma (id int, amounts money[]);
CREATE TABLE tap_canon.md (id int, amount tap_canon.price);
CREATE TABLE tap_canon.rc (id int, rel regclass);
CREATE TABLE tap_canon.rt (id int, typ regtype);
CREATE TABLE tap_canon.rp (id int, fn regprocedure);
SELECT throws_ok($$SELECT audit_chain.protect('tap_canon.m')$$, '0A000',
                 'column "amount" of table "m" has type money, which cannot be hashed canonically',
                 'protect() refuses a money column');
SELECT throws_ok($$SELECT audit_chain.protect('tap_canon.ma')$$, '0A000', NULL,
                 'protect() refuses a money[] column');
SELECT throws_ok($$SELECT audit_chain.protect('tap_canon.md')$$, '0A000', NULL,
                 'protect() refuses a domain over money');
SELECT throws_ok($$SELECT audit_chain.protect('tap_canon.rc')$$, '0A000', NULL,
                 'protect() refuses a regclass column');
SELECT throws_ok($$SELECT audit_chain.protect('tap_canon.rt')$$, '0A000', NULL,
                 'protect() refuses a regtype column');
SELECT throws_ok($$SELECT audit_chain.protect('tap_canon.rp')$$, '0A000', NULL,
                 'protect() refuses a regprocedure column');
SELECT is((SELECT count(*)::int FROM audit_chain.chains WHERE tbl::text LIKE 'tap_canon.%'), 1,
          'no refused table was registered');
SELECT hasnt_column('tap_canon', 'm', 'chain_seq', 'a refused table is left without chain columns');
SELECT throws_ok($$SELECT audit_chain.canonical_text(1::money)$$, '0A000', NULL,
                 'canonical_text() refuses money');
SELECT throws_ok($$SELECT audit_chain.canonical_text('pg_class'::regclass)$$, '0A000', NULL,
                 'canonical_text() refuses regclass');

SELECT * FROM finish();
ROLLBACK;
