\set VERBOSITY terse
--
-- export_segment(): the segment file of doc/checkpoints.md section 4
--
SET client_min_messages = warning;
CREATE SCHEMA exp;
CREATE TABLE exp.t (id int, note text, tags text[], doc jsonb, amount numeric(8,2),
                    "Ünï col" text, email text, twice int GENERATED ALWAYS AS (id * 2) STORED);
SELECT audit_chain.protect('exp.t');
RESET client_min_messages;

-- the rows that will be archived, one of them redacted first
INSERT INTO exp.t (id, note, tags, doc, amount, "Ünï col", email) VALUES
    (1, 'first', ARRAY['a', NULL, 'b c'], '{"b": 1, "a": [2.50, null]}', 1.5, 'x', 'one@example.org'),
    (2, 'second', NULL, NULL, NULL, NULL, 'two@example.org'),
    (3, '', '{}', '"str"', -0.01, 'z', NULL);
SELECT audit_chain.redact('exp.t', 0, 2, ARRAY['email'], 'erasure request');
SELECT pg_sleep(0.01);
-- archive the three: the cutoff is just after the newest of them
DO $$
DECLARE
    age interval;
BEGIN
    SELECT now() - (max(chain_at) + interval '1 microsecond') INTO age FROM exp.t;
    CALL audit_chain.archive('exp.t', age);
END $$;
SELECT lane, archived_seq, purged_seq FROM audit_chain.chains WHERE tbl = 'exp.t'::regclass;

-- live rows: quotes, backslashes, newlines, tabs, a control character, Unicode
INSERT INTO exp.t (id, note, tags, doc, amount, "Ünï col", email) VALUES
    (4, E'say "hi"\\ and\nbye\tnow', ARRAY['q"uote', E'back\\slash'], '{"k": "v\"w"}', 10, 'Ünïcödé ☃ 😀', E'ctl\x01char'),
    (5, 'five', NULL, NULL, NULL, NULL, 'five@example.org');
SELECT audit_chain.redact('exp.t', 0, 5, ARRAY['email'], 'erasure request');
-- a column added after the archive: the archive table does not have it yet
ALTER TABLE exp.t ADD COLUMN late text;
INSERT INTO exp.t (id, note, late) VALUES (6, 'six', 'late value');

-- the file, with the hashes and times (which differ from run to run) masked;
-- the kept digests of redacted columns are not masked: they are fixed
CREATE FUNCTION exp.masked(tbl regclass, lane int DEFAULT NULL, f bigint DEFAULT NULL,
                           t bigint DEFAULT NULL) RETURNS SETOF text LANGUAGE sql AS $$
    SELECT regexp_replace(regexp_replace(l,
               '"(prev|hash|genesis|start_hash|last_hash)": "[0-9a-f]{64}"', '"\1": "#"', 'g'),
               '"at": "[^"]*"', '"at": "#"', 'g')
      FROM audit_chain.export_segment(tbl, lane, f, t) l
$$;
SELECT * FROM exp.masked('exp.t');
-- a range: from_seq and to_seq both included, the start the row before
SELECT * FROM exp.masked('exp.t', 0, 3, 4);
SELECT * FROM exp.masked('exp.t', 0, 6);
-- one past the head: no rows, the lane starts and ends at its head
SELECT * FROM exp.masked('exp.t', NULL, 7, NULL);
-- to_seq inside the archive: the live table is not needed
SELECT * FROM exp.masked('exp.t', 0, NULL, 2);
-- also as a set-returning function in the select list
SELECT count(*) FROM (SELECT audit_chain.export_segment('exp.t')) s;

-- every line is JSON; the values are the stored ones, byte for byte
CREATE TABLE exp.file AS
SELECT n, l::json AS j FROM audit_chain.export_segment('exp.t') WITH ORDINALITY AS f(l, n);
SELECT count(*) AS lines, count(*) FILTER (WHERE (j->>'seq') IS NOT NULL) AS rows FROM exp.file;
SELECT (f.j->>'seq')::bigint AS seq,
       f.j->'values'->>0 = t.id::text AS id, f.j->'values'->>1 = t.note AS note,
       (f.j->'values'->>5) IS NOT DISTINCT FROM t."Ünï col" AS unicode,
       CASE json_typeof(f.j->'values'->6) WHEN 'object' THEN 'redacted'
            ELSE ((f.j->'values'->>6) IS NOT DISTINCT FROM t.email)::text END AS email
  FROM exp.file f
  JOIN (SELECT id, note, "Ünï col", email, chain_seq FROM exp.t
        UNION ALL SELECT id, note, "Ünï col", email, chain_seq FROM audit_chain_archive.t) t
    ON t.chain_seq = (f.j->>'seq')::bigint
 ORDER BY 1;

-- the format is self-consistent: each row's hash recomputed in plain SQL from
-- the file alone (doc/hash-format.md section 1: canonical text, kept digests
-- of redacted columns, NULL left out) is its "hash", which is the row's
-- chain_hash; each row links to the one before, the first to the header's
-- start, and the trailer's last hash is the last row's
CREATE FUNCTION exp.file_hash(j json, header json) RETURNS bytea LANGUAGE sql AS $$
    SELECT sha256(convert_to('audit_chain/v1', 'UTF8') || '\x00'::bytea
                  || int8send((j->>'seq')::bigint)
                  || int8send((extract(epoch FROM (j->>'at')::timestamptz) * 1000000)::bigint)
                  || decode(j->>'prev', 'hex')
                  || coalesce((SELECT string_agg(
                         CASE json_typeof(v)
                             WHEN 'null' THEN ''::bytea
                             ELSE int4send(octet_length(convert_to(c->>'name', 'UTF8')))
                                  || convert_to(c->>'name', 'UTF8')
                                  || CASE json_typeof(v)
                                         WHEN 'object' THEN decode(v->>'redacted', 'hex')
                                         ELSE sha256(convert_to(v#>>'{}', 'UTF8')) END
                         END, ''::bytea ORDER BY i)
                      FROM json_array_elements(j->'values') WITH ORDINALITY AS x(v, i)
                      JOIN json_array_elements(header->'columns') WITH ORDINALITY AS y(c, k)
                        ON k = i), ''::bytea))
$$;
WITH h AS (SELECT j FROM exp.file WHERE n = 1),
     r AS (SELECT n, j FROM exp.file WHERE (j->>'seq') IS NOT NULL),
     stored AS (SELECT chain_seq, chain_hash FROM exp.t
                UNION ALL SELECT chain_seq, chain_hash FROM audit_chain_archive.t)
SELECT (r.j->>'seq')::bigint AS seq,
       exp.file_hash(r.j, h.j) = decode(r.j->>'hash', 'hex') AS recomputed,
       decode(r.j->>'hash', 'hex') = s.chain_hash AS is_chain_hash,
       r.j->>'prev' = coalesce(lag(r.j->>'hash') OVER (ORDER BY r.n),
                               h.j->'lanes'->0->>'start_hash') AS linked
  FROM r CROSS JOIN h JOIN stored s ON s.chain_seq = (r.j->>'seq')::bigint
 ORDER BY r.n;
SELECT h.j->'lanes'->0->>'start_hash' = encode(c.genesis, 'hex') AS starts_at_genesis,
       t.j->'lanes'->0->>'last_hash' = (SELECT r.j->>'hash' FROM exp.file r
                                         WHERE (r.j->>'seq') IS NOT NULL ORDER BY r.n DESC LIMIT 1) AS ends_at_last
  FROM exp.file h, exp.file t, audit_chain.chains c
 WHERE h.n = 1 AND t.n = (SELECT max(n) FROM exp.file) AND c.tbl = 'exp.t'::regclass;
-- and the chain it describes verifies
SELECT tbl, lane, rows_checked, intact FROM audit_chain.verify_chain('exp.t');

-- a table of two lanes: both in the header and the trailer, rows lane by lane
SET client_min_messages = warning;
CREATE TABLE exp.two (id int);
SELECT audit_chain.protect('exp.two', 2);
RESET client_min_messages;
INSERT INTO exp.two VALUES (1), (2);
SELECT json_array_length(l::json->'lanes') AS lanes FROM audit_chain.export_segment('exp.two') l
 WHERE l LIKE '{"format"%' OR l LIKE '{"end"%';
SELECT count(*) FILTER (WHERE l LIKE '{"lane"%') AS rows FROM audit_chain.export_segment('exp.two') l;
-- (which lane holds the rows depends on the backend: the two files together)
SELECT (SELECT count(*) FROM audit_chain.export_segment('exp.two', 0))
     + (SELECT count(*) FROM audit_chain.export_segment('exp.two', 1)) AS lines_of_both;

-- bad arguments: each a clear error, before any row is read
CREATE TABLE exp.plain (id int);
CREATE VIEW exp.v AS SELECT * FROM exp.t;
DO $$
DECLARE
    q text;
BEGIN
    FOREACH q IN ARRAY ARRAY[
        'SELECT * FROM audit_chain.export_segment(NULL)',
        'SELECT * FROM audit_chain.export_segment(NULL, 0, 1, 1)',
        'SELECT * FROM audit_chain.export_segment(0)',
        'SELECT * FROM audit_chain.export_segment(''exp.v'')',
        'SELECT * FROM audit_chain.export_segment(''exp.plain'')',
        'SELECT * FROM audit_chain.export_segment(''audit_chain_archive.t'')',
        'SELECT * FROM audit_chain.export_segment(''exp.t'', -1)',
        'SELECT * FROM audit_chain.export_segment(''exp.t'', 1)',
        'SELECT * FROM audit_chain.export_segment(''exp.t'', 64)',
        'SELECT * FROM audit_chain.export_segment(''exp.t'', 0, 0)',
        'SELECT * FROM audit_chain.export_segment(''exp.t'', 0, -9223372036854775808)',
        'SELECT * FROM audit_chain.export_segment(''exp.t'', 0, NULL, 0)',
        'SELECT * FROM audit_chain.export_segment(''exp.t'', 0, 5, 4)',
        'SELECT * FROM audit_chain.export_segment(''exp.t'', 0, 9)',
        'SELECT * FROM audit_chain.export_segment(''exp.t'', NULL, 9223372036854775807)'
    ] LOOP
        BEGIN
            EXECUTE q;
            RAISE NOTICE '%: ok', q;
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE '%: % %', q, SQLSTATE, SQLERRM;
        END;
    END LOOP;
END $$;

-- privileges: SELECT on the table, and on the archive table when the range
-- reaches archived rows; no row-level security
GRANT USAGE ON SCHEMA exp TO ac_auditor;
GRANT EXECUTE ON FUNCTION audit_chain.export_segment(regclass, integer, bigint, bigint) TO ac_auditor;
SET ROLE ac_auditor;
SELECT * FROM audit_chain.export_segment('exp.t');
RESET ROLE;
GRANT SELECT ON exp.t TO ac_auditor;
SET ROLE ac_auditor;
SELECT * FROM audit_chain.export_segment('exp.t');
SELECT * FROM audit_chain.export_segment('exp.t', 0, 3);
SELECT count(*) FROM audit_chain.export_segment('exp.t', 0, 4);
SELECT count(*) FROM audit_chain.export_segment('exp.t', 0, 5);
RESET ROLE;
ALTER TABLE exp.t ENABLE ROW LEVEL SECURITY;
SET ROLE ac_auditor;
SELECT count(*) FROM audit_chain.export_segment('exp.t', 0, 4);
RESET ROLE;
ALTER TABLE exp.t DISABLE ROW LEVEL SECURITY;
REVOKE ALL ON exp.t FROM ac_auditor;
REVOKE ALL ON SCHEMA exp FROM ac_auditor;
REVOKE ALL ON FUNCTION audit_chain.export_segment(regclass, integer, bigint, bigint) FROM ac_auditor;

-- a redacted column written back behind the triggers' back: the file cannot
-- say that the record and the row disagree, so there is no file
SET session_replication_role = replica;
UPDATE exp.t SET email = 'five@example.org' WHERE id = 5;
RESET session_replication_role;
SELECT count(*) FROM audit_chain.export_segment('exp.t');
-- a range without that row is still exported
SELECT count(*) FROM audit_chain.export_segment('exp.t', 0, 6);

-- a from_seq at or below the purge boundary: those rows are gone (the
-- boundaries are moved by hand here; verify_chain() would report that)
UPDATE audit_chain.chains SET purged_seq = 1, archived_seq = 1 WHERE tbl = 'exp.two'::regclass;
SELECT * FROM audit_chain.export_segment('exp.two', NULL, 1);

SET client_min_messages = warning;
SELECT audit_chain.unprotect('exp.t', 'end of test');
SELECT audit_chain.unprotect('exp.two', 'end of test');
DROP SCHEMA exp CASCADE;
RESET client_min_messages;
