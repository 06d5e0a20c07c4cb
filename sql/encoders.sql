\set VERBOSITY terse
-- The direct encoders (src/hash.c) must write exactly what each type's output
-- function writes under the settings of doc/hash-format.md, whatever the
-- session's settings are; and the per-column memory of recent digests must
-- never change a hash.  Session settings are deliberately hostile.
SET timezone = 'Asia/Kathmandu';
SET datestyle = 'SQL, DMY';
SET intervalstyle = 'sql_standard';
SET extra_float_digits = 3;
SET bytea_output = 'escape';

-- the reference: the output function (format's %s) under the canonical settings
CREATE FUNCTION public.ref(v anyelement) RETURNS text LANGUAGE plpgsql STRICT
SET timezone = 'UTC' SET datestyle = 'ISO, YMD' SET intervalstyle = 'postgres'
SET extra_float_digits = 1 SET bytea_output = 'hex'
AS $$ BEGIN RETURN format('%s', v); END $$;

CREATE DOMAIN public.label AS varchar(20);
CREATE TABLE public.samples (kind text, canonical text, reference text);

INSERT INTO samples
SELECT 'bool', audit_chain.canonical_text(v), ref(v) FROM unnest(ARRAY[true, false]) v
UNION ALL
SELECT 'int2', audit_chain.canonical_text(v), ref(v)
  FROM unnest(ARRAY[0, 1, -1, 32767, -32768, 10, -10]::int2[]) v
UNION ALL
SELECT 'int4', audit_chain.canonical_text(v), ref(v)
  FROM unnest(ARRAY[0, 7, -7, 2147483647, -2147483648, 1000000, -999]) v
UNION ALL
SELECT 'int8', audit_chain.canonical_text(v), ref(v)
  FROM unnest(ARRAY[0, 9223372036854775807, -9223372036854775808, 4294967296, -1]::int8[]) v
UNION ALL
SELECT 'oid', audit_chain.canonical_text(v), ref(v)
  FROM unnest(ARRAY[0, 1, 4294967295, 2147483648]::oid[]) v
UNION ALL
SELECT 'text', audit_chain.canonical_text(v), ref(v)
  FROM unnest(ARRAY['', 'plain', E'tab\there', 'Ünïcode ☃ 😀', repeat('x', 3000)]) v
UNION ALL
SELECT 'varchar', audit_chain.canonical_text(v), ref(v)
  FROM unnest(ARRAY['', 'abc', 'é']::varchar(10)[]) v
UNION ALL
SELECT 'bpchar', audit_chain.canonical_text(v), ref(v)
  FROM unnest(ARRAY['a', 'ab ', '']::char(4)[]) v
UNION ALL
SELECT 'domain', audit_chain.canonical_text(v), ref(v)
  FROM unnest(ARRAY['dom', '']::label[]) v
UNION ALL
SELECT 'uuid', audit_chain.canonical_text(v), ref(v)
  FROM unnest(ARRAY['00000000-0000-0000-0000-000000000000', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF',
                    'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11']::uuid[]) v
UNION ALL
SELECT 'bytea', audit_chain.canonical_text(v), ref(v)
  FROM unnest(ARRAY['', '\x00', '\xdeadbeef', '\x5c27', decode(repeat('ab', 200), 'hex')]::bytea[]) v
UNION ALL
SELECT 'date', audit_chain.canonical_text(v), ref(v)
  FROM unnest(ARRAY['2024-02-29', '1970-01-01', '0001-01-01', '0001-12-31 BC', '4713-01-01 BC',
                    '5874897-12-31', 'infinity', '-infinity']::date[]) v
UNION ALL
SELECT 'timestamp', audit_chain.canonical_text(v), ref(v)
  FROM unnest(ARRAY['2024-02-29 23:59:59.999999', '1970-01-01 00:00:00', '2000-01-01 00:00:00.5',
                    '0001-01-01 00:00:00', '0044-03-15 12:00:00 BC', '4713-11-24 00:00:00 BC',
                    '294276-12-31 23:59:59.999999', 'infinity', '-infinity']::timestamp[]) v
UNION ALL
SELECT 'timestamptz', audit_chain.canonical_text(v), ref(v)
  FROM unnest(ARRAY['2024-02-29 23:59:59.999999+05', '1970-01-01 00:00:00+00', '1969-12-31 23:59:59.1-01',
                    '2000-01-01 00:00:00.000001 UTC', '1883-11-18 12:00:00 America/New_York',
                    '0001-01-01 00:00:00+00', '0044-03-15 12:00:00+00 BC', '4713-11-24 00:00:00+00 BC',
                    '294276-12-31 23:59:59.999999+00', 'infinity', '-infinity']::timestamptz[]) v
UNION ALL
SELECT 'numeric', audit_chain.canonical_text(v), ref(v)
  FROM unnest(ARRAY['0', '0.0', '-0.000', '1', '-1', '0.0001', '-0.00012', '9999', '10000', '10000.0001',
                    '12.3400', '100', '1000000.000000', '0.0000025', '123456789012345678901234567890.123456789',
                    '1e-20', '1e20', '-5.5', '1e300', '1e-300', '-1.5e-1000', 'NaN', 'Infinity', '-Infinity',
                    repeat('9', 1000) || '.' || repeat('1', 500)]::numeric[]) v
UNION ALL
SELECT 'numeric(12,6)', audit_chain.canonical_text(v), ref(v)
  FROM unnest(ARRAY['0', '0.0000025', '-123456.5', '1']::numeric(12,6)[]) v
UNION ALL
SELECT 'inet', audit_chain.canonical_text(v), ref(v)
  FROM unnest(ARRAY['10.20.30.40', '10.20.30.0/24', '0.0.0.0', '255.255.255.255/32', '10.1.2.3/8', '::1', '::',
                    '2001:db8::1/64', '::ffff:1.2.3.4', '2001:db8:0:0:1:0:0:1', '1:2:3:4:5:6:7:8/128',
                    'fe80::/10']::inet[]) v
UNION ALL
SELECT 'cidr', audit_chain.canonical_text(v), ref(v)
  FROM unnest(ARRAY['10.0.0.0/8', '10.1.2.3/32', '192.168/16', '0.0.0.0/0', '::/0', '2001:db8::/32',
                    '::1/128']::cidr[]) v
UNION ALL
SELECT 'json', audit_chain.canonical_text(v), ref(v)
  FROM unnest(ARRAY['{}', ' { "b" : 1,"a":[ 2 ] } ', '"\u00e9"']::json[]) v
UNION ALL
SELECT 'jsonb', audit_chain.canonical_text(v), ref(v)
  FROM unnest(ARRAY['{}', '[]', '""', '"str"', 'null', 'true', 'false', '0', '-1.5e10', '1e-5', '1.000', '-0',
                    '[1, "a", null, true, false, {}, []]', '{"a": {"b": [1, {"c": null}]}, "": 0}',
                    '{"bb": 1, "a": 2, "ccc": [[[]]]}', '[[1, 2], [3, [4, [5]]]]',
                    E'"\\b\\f\\n\\r\\t \\" \\\\ / \\u0001 \\u001f \\u007f é ☃ 😀"',
                    E'{"k\\ney \\"q\\"": "v\\u0007x"}',
                    '{"request_id": "req_01J9ZK3W5X7Y8Z9A0B1C2D3E4F", "status": 200, "stream": false, "cost": 0.0000025}',
                    repeat('[', 500) || repeat(']', 500)]::jsonb[]) v
UNION ALL
-- more than 32 members: some of their entries hold offsets, not lengths
SELECT 'jsonb wide', audit_chain.canonical_text(v), ref(v)
  FROM (SELECT jsonb_object_agg('key' || g, CASE g % 4 WHEN 0 THEN to_jsonb(g) WHEN 1 THEN to_jsonb('s' || g)
                                               WHEN 2 THEN jsonb_build_array(g, g * 1.5) ELSE 'null' END)
          FROM generate_series(1, 100) g
        UNION ALL
        SELECT jsonb_agg(CASE WHEN g % 3 = 0 THEN jsonb_build_object('n', g) ELSE to_jsonb(repeat('x', g)) END)
          FROM generate_series(1, 300) g) AS w(v);

-- The same values as a table stores them: short ones with a one-byte header
-- and unaligned, long ones compressed.
CREATE TABLE public.stored (n numeric, i inet, c cidr, j jsonb);
INSERT INTO stored (n) SELECT v FROM unnest(ARRAY['0', '-0.00012', '12.3400', '1e300', '-1e300', '-1.5e-1000', 'NaN',
                                                  '-Infinity', repeat('9', 1000) || '.5']::numeric[]) v;
INSERT INTO stored (i) SELECT v FROM unnest(ARRAY['10.20.30.40', '2001:db8::1/64', '::ffff:1.2.3.4']::inet[]) v;
INSERT INTO stored (c) SELECT v FROM unnest(ARRAY['10.0.0.0/8', '::/0']::cidr[]) v;
INSERT INTO stored (j) SELECT v FROM unnest(ARRAY['{}', '"s"', '7', '{"a": [1, 2.50, "x"]}']::jsonb[]) v;
INSERT INTO stored (j) SELECT jsonb_object_agg('key' || g, repeat('v', g % 50)) FROM generate_series(1, 400) g;
SELECT count(*) FILTER (WHERE pg_column_size(j) < octet_length(j::text)) AS compressed_jsonb FROM stored;
INSERT INTO samples
SELECT 'stored numeric', audit_chain.canonical_text(n), ref(n) FROM stored WHERE n IS NOT NULL
UNION ALL
SELECT 'stored inet', audit_chain.canonical_text(i), ref(i) FROM stored WHERE i IS NOT NULL
UNION ALL
SELECT 'stored cidr', audit_chain.canonical_text(c), ref(c) FROM stored WHERE c IS NOT NULL
UNION ALL
SELECT 'stored jsonb', audit_chain.canonical_text(j), ref(j) FROM stored WHERE j IS NOT NULL;

-- every sample, one line each; a mismatch shows as false
SELECT kind, canonical, canonical = reference AS same
  FROM samples WHERE length(canonical) < 60
 ORDER BY kind, canonical COLLATE "C";
SELECT count(*) AS samples, count(*) FILTER (WHERE canonical IS DISTINCT FROM reference) AS mismatches
  FROM samples;

-- Rows whose values repeat (so that remembered digests are used) and rows
-- whose values do not, sealed under the hostile settings, then checked
-- against the v1 hash (doc/hash-format.md) written in plain SQL under the
-- canonical ones.
CREATE TYPE public.mood AS ENUM ('calm', 'busy');
CREATE TABLE public.repeats (
    n int, act text, who label, ok boolean, small int2, big int8, id uuid, raw bytea,
    day date, at timestamp, atz timestamptz, amount numeric, doc jsonb, m mood, f float8
);
SELECT audit_chain.protect('public.repeats');
INSERT INTO repeats
SELECT g, 'act-' || (g % 3), 'who-' || (g % 50), g % 2 = 0, (g % 7)::int2, g % 5 * 1000000000000,
       CASE WHEN g % 4 = 0 THEN 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid
            ELSE md5(g::text)::uuid END,
       CASE WHEN g % 10 = 0 THEN NULL ELSE decode(md5((g % 3)::text), 'hex') END,
       DATE '2024-01-01' + g % 3, TIMESTAMP '2024-01-01' + (g % 2) * interval '1 hour',
       TIMESTAMPTZ '2024-06-01 00:00:00+00' + (g % 9) * interval '1 minute',
       (g % 4) / 3.0, jsonb_build_object('k', g % 2), (ARRAY['calm', 'busy'])[1 + g % 2]::mood,
       (g % 3) / 7.0
  FROM generate_series(1, 6000) g;

CREATE FUNCTION public.enc_term(name text, value text) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN value IS NULL THEN ''::bytea
                ELSE int4send(octet_length(convert_to(name, 'UTF8'))) || convert_to(name, 'UTF8')
                     || sha256(convert_to(value, 'UTF8')) END
$$;
CREATE FUNCTION public.reference_hash(r repeats) RETURNS bytea LANGUAGE sql AS $$
    SELECT sha256(convert_to('audit_chain/v1', 'UTF8') || '\x00'::bytea
           || int8send(r.chain_seq) || int8send((extract(epoch FROM r.chain_at) * 1000000)::bigint)
           || r.chain_prev
           || enc_term('n', ref(r.n)) || enc_term('act', ref(r.act))
           || enc_term('who', ref(r.who)) || enc_term('ok', ref(r.ok))
           || enc_term('small', ref(r.small)) || enc_term('big', ref(r.big))
           || enc_term('id', ref(r.id)) || enc_term('raw', ref(r.raw))
           || enc_term('day', ref(r.day)) || enc_term('at', ref(r.at))
           || enc_term('atz', ref(r.atz)) || enc_term('amount', ref(r.amount))
           || enc_term('doc', ref(r.doc)) || enc_term('m', ref(r.m))
           || enc_term('f', ref(r.f)))
$$;
SELECT count(*) AS rows, count(*) FILTER (WHERE reference_hash(r) <> r.chain_hash) AS wrong_hashes
  FROM repeats r;
SELECT lane, rows_checked, intact FROM audit_chain.verify_chain('public.repeats');

-- a changed value among repeated ones is still found
SET session_replication_role = replica;
UPDATE repeats SET act = 'act-1' WHERE n = 3000;
RESET session_replication_role;
SELECT lane, rows_checked, intact, first_bad_seq, problem FROM audit_chain.verify_chain('public.repeats');

-- A value stored out of line reaches the trigger as a TOAST pointer of the
-- table it was selected from.  Its digest must not be remembered under the
-- pointer's bytes: here an inline value made of exactly those bytes follows it.
CREATE TABLE public.stage (b bytea);
ALTER TABLE stage ALTER b SET STORAGE EXTERNAL;
INSERT INTO stage VALUES (decode(repeat('ab', 3000), 'hex'));
SELECT reltoastrelid::regclass AS toast, reltoastrelid::int8 AS toastoid
  FROM pg_class WHERE oid = 'stage'::regclass \gset
SELECT min(chunk_id)::int8 AS valueid FROM :toast \gset
CREATE FUNCTION public.le4(int8) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT set_byte(set_byte(set_byte(set_byte('\x00000000'::bytea, 0, ($1 & 255)::int),
           1, (($1 >> 8) & 255)::int), 2, (($1 >> 16) & 255)::int), 3, (($1 >> 24) & 255)::int)
$$;
CREATE TABLE public.big (b bytea);
SELECT audit_chain.protect('public.big');
INSERT INTO big SELECT b FROM stage;
-- tag 18 (on disk), raw size, external size, value id, toast table id
INSERT INTO big VALUES ('\x12'::bytea || le4(3004) || le4(3000) || le4(:valueid)
                        || substring(le4(:toastoid) FROM 1 FOR 3));
INSERT INTO big SELECT b FROM stage;
SELECT chain_seq, octet_length(b) AS bytes,
       sha256(convert_to('audit_chain/v1', 'UTF8') || '\x00'::bytea
              || int8send(chain_seq) || int8send((extract(epoch FROM chain_at) * 1000000)::bigint)
              || chain_prev || enc_term('b', ref(b))) = chain_hash AS hash_right
  FROM big ORDER BY chain_seq;
SELECT lane, rows_checked, intact FROM audit_chain.verify_chain('public.big');
SELECT audit_chain.unprotect('public.big', 'test done');
DROP TABLE big, stage;
DROP FUNCTION le4(int8);

SELECT audit_chain.unprotect('public.repeats', 'test done');
DROP FUNCTION reference_hash(repeats);
DROP TABLE repeats, samples, stored;
DROP TYPE mood;
DROP DOMAIN label;
DROP FUNCTION ref(anyelement);
DROP FUNCTION enc_term(text, text);
