-- The committed test vectors, test/vectors/v1.json (doc/hash-format.md
-- section 7), read from the file itself so that the file and the extension
-- cannot drift apart: every column's canonical text and digest, every row's
-- hash input and hash, and the lane they make.  Nothing below names a value
-- of the file; a vector that the extension does not reproduce fails a test.
-- psql reads the file relative to the repository root (where the suite runs).
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
\set v1 `cat test/vectors/v1.json`

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

CREATE SCHEMA tap_vjson;
CREATE TABLE tap_vjson.file AS SELECT :'v1'::jsonb AS v;
CREATE VIEW tap_vjson.rows AS
    SELECT r.n, r.r
      FROM tap_vjson.file, jsonb_array_elements(v -> 'rows') WITH ORDINALITY AS r(r, n);
CREATE VIEW tap_vjson.cols AS
    SELECT rows.n, c.attno, c.c
      FROM tap_vjson.rows, jsonb_array_elements(r -> 'columns') WITH ORDINALITY AS c(c, attno);

-- 5 for the file and the lane, 2 per column value, 5 per row
SELECT plan(5 + 2 * (SELECT count(*)::int FROM tap_vjson.cols)
              + 5 * (SELECT count(*)::int FROM tap_vjson.rows));

-- Hostile session settings: every one differs from the canonical one
SET LOCAL timezone = 'Asia/Kolkata';
SET LOCAL datestyle = 'SQL, DMY';
SET LOCAL intervalstyle = 'iso_8601';
SET LOCAL extra_float_digits = 3;
SET LOCAL bytea_output = 'escape';

-- The file
SELECT is(v ->> 'format', 'audit_chain/v1', 'v1.json: format audit_chain/v1') FROM tap_vjson.file;
SELECT is(v ->> 'genesis', encode(sha256(convert_to('test genesis', 'UTF8')), 'hex'),
          'v1.json: the genesis is sha256(''test genesis'')') FROM tap_vjson.file;
SELECT ok((SELECT count(*) FROM tap_vjson.rows) > 0 AND
          (SELECT count(*) FROM tap_vjson.cols) > 0, 'v1.json: has rows with columns');
SELECT is((SELECT count(DISTINCT sig) FROM (
               SELECT n, string_agg(format('%I %s', c ->> 'name', c ->> 'type'), ', ' ORDER BY attno) AS sig
                 FROM tap_vjson.cols GROUP BY n) s), 1::bigint,
          'v1.json: every row has the same columns, in the same order');

-- Every column value: the extension's canonical text of the SQL literal, as a
-- value of the column's type, is the file's; the file's col_digest is the
-- SHA-256 of that text (both NULL for a NULL value)
CREATE FUNCTION tap_vjson.canonical(lit text, typ text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    result text;
BEGIN
    EXECUTE format('SELECT audit_chain.canonical_text(CAST(%s AS %s))', lit, typ) INTO result;
    RETURN result;
END
$$;
SELECT is(tap_vjson.canonical(c ->> 'sql_literal', c ->> 'type'), c ->> 'canonical_text',
          format('v1.json row %s: canonical_text of %s (%s) %s', n, c ->> 'name', c ->> 'type', c ->> 'sql_literal'))
  FROM tap_vjson.cols ORDER BY n, attno;
SELECT is(encode(sha256(convert_to(c ->> 'canonical_text', 'UTF8')), 'hex'), c ->> 'col_digest',
          format('v1.json row %s: col_digest of %s is SHA-256 of its canonical text', n, c ->> 'name'))
  FROM tap_vjson.cols ORDER BY n, attno;

-- A chained table with the file's columns, its lane starting from the file's
-- genesis, and the file's rows written with their chain columns as given
-- (past the trigger, as a superuser)
DO $$
DECLARE
    cols text;
BEGIN
    SELECT string_agg(format('%I %s', c ->> 'name', c ->> 'type'), ', ' ORDER BY attno)
      INTO cols FROM tap_vjson.cols WHERE n = 1;
    EXECUTE format('CREATE TABLE tap_vjson.t (%s)', cols);
END
$$;
SELECT audit_chain.protect('tap_vjson.t');
UPDATE audit_chain.chains SET genesis = decode(v ->> 'genesis', 'hex')
  FROM tap_vjson.file WHERE tbl = 'tap_vjson.t'::regclass AND lane = 0;
SET LOCAL session_replication_role = replica;
DO $$
DECLARE
    row record;
    names text;
    literals text;
BEGIN
    FOR row IN SELECT n, r FROM tap_vjson.rows ORDER BY n LOOP
        SELECT string_agg(format('%I', c ->> 'name'), ', ' ORDER BY attno),
               string_agg(format('CAST(%s AS %s)', c ->> 'sql_literal', c ->> 'type'), ', ' ORDER BY attno)
          INTO names, literals FROM tap_vjson.cols WHERE n = row.n;
        EXECUTE format('INSERT INTO tap_vjson.t (%s, chain_lane, chain_seq, chain_at, chain_prev, chain_hash) '
                       'VALUES (%s, 0, %s, %L::timestamptz + %s::bigint * interval ''1 microsecond'', '
                       'decode(%L, ''hex''), decode(%L, ''hex''))',
                       names, literals, (row.r ->> 'chain_seq')::bigint, '1970-01-01 00:00:00+00',
                       row.r ->> 'chain_at_unix_micros', row.r ->> 'chain_prev', row.r ->> 'chain_hash');
    END LOOP;
END
$$;
SET LOCAL session_replication_role = origin;

-- Every row: chain_at as written is the file's; the file's rows link (seq
-- 1, 2, ...; the first to the genesis, each other to the hash before it);
-- canonical_row() is the hash input built from the file's fields alone; its
-- SHA-256, and row_hash(), are the file's chain_hash
CREATE VIEW tap_vjson.expected AS
SELECT rows.n, (r ->> 'chain_seq')::bigint AS seq, r ->> 'chain_hash' AS chain_hash,
       convert_to('audit_chain/v1', 'UTF8') || '\x00'::bytea
       || int8send((r ->> 'chain_seq')::bigint)
       || int8send((r ->> 'chain_at_unix_micros')::bigint)
       || decode(r ->> 'chain_prev', 'hex')
       || coalesce((SELECT string_agg(int4send(octet_length(convert_to(c ->> 'name', 'UTF8')))
                                      || convert_to(c ->> 'name', 'UTF8')
                                      || decode(c ->> 'col_digest', 'hex'), ''::bytea ORDER BY attno)
                      FROM tap_vjson.cols c WHERE c.n = rows.n AND c.c ->> 'col_digest' IS NOT NULL),
                   ''::bytea) AS input
  FROM tap_vjson.rows;

SELECT is((SELECT (extract(epoch FROM t.chain_at) * 1000000)::bigint FROM tap_vjson.t
            WHERE t.chain_seq = (r ->> 'chain_seq')::bigint),
          (r ->> 'chain_at_unix_micros')::bigint,
          format('v1.json row %s: chain_at is %s microseconds after 1970', n, r ->> 'chain_at_unix_micros'))
  FROM tap_vjson.rows ORDER BY n;
SELECT is(format('%s %s', r ->> 'chain_seq', r ->> 'chain_prev'),
          format('%s %s', n, coalesce(lag(r ->> 'chain_hash') OVER (ORDER BY n), v ->> 'genesis')),
          format('v1.json row %s: chain_seq %s, linked to the hash before it', n, n))
  FROM tap_vjson.rows, tap_vjson.file ORDER BY n;
SELECT is(audit_chain.canonical_row('tap_vjson.t', 0, seq), input,
          format('v1.json row %s: canonical_row() is the input built from the file', n))
  FROM tap_vjson.expected ORDER BY n;
SELECT is(encode(sha256(input), 'hex'), chain_hash,
          format('v1.json row %s: SHA-256 of that input is the file''s chain_hash', n))
  FROM tap_vjson.expected ORDER BY n;
SELECT is(encode(audit_chain.row_hash('tap_vjson.t', 0, seq), 'hex'), chain_hash,
          format('v1.json row %s: row_hash() is the file''s chain_hash', n))
  FROM tap_vjson.expected ORDER BY n;

-- The rows make one intact lane
SELECT is((SELECT format('%s %s %s', lane, rows_checked, intact)
             FROM audit_chain.verify_chain('tap_vjson.t')),
          format('0 %s t', (SELECT count(*) FROM tap_vjson.rows)),
          'v1.json: verify_chain() finds the file''s rows one intact lane');

SELECT * FROM finish();
ROLLBACK;
