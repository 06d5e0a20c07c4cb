--
-- archive_table(), archive(), apply_retention() and the boundaries they keep
--
SET client_min_messages = warning;
CREATE SCHEMA arc;
CREATE TABLE arc.calls (id int, who text, note text, twice int GENERATED ALWAYS AS (id * 2) STORED);
SELECT audit_chain.protect('arc.calls');
RESET client_min_messages;

-- two batches of rows, the first older than the second
INSERT INTO arc.calls (id, who, note) SELECT i, 'user' || i, 'first' FROM generate_series(1, 10) i;
INSERT INTO arc.calls (id, who, note) SELECT i, 'user' || i, 'second' FROM generate_series(11, 15) i;

-- the archive table: same columns, in audit_chain_archive, made once
SELECT audit_chain.archive_table('arc.calls');
SELECT audit_chain.archive_table('arc.calls');
SELECT attname, format_type(atttypid, atttypmod), attnotnull, attgenerated
  FROM pg_attribute WHERE attrelid = 'audit_chain_archive.calls'::regclass AND attnum > 0
 ORDER BY attnum;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_chain_archive.calls'::regclass ORDER BY 1;
SELECT relacl IS NOT NULL AS has_acl,
       has_table_privilege('public', 'audit_chain_archive.calls', 'SELECT') AS public_select
  FROM pg_class WHERE oid = 'audit_chain_archive.calls'::regclass;

-- archive the rows older than the first row of the second batch: the first ten
DO $$
DECLARE
    age interval;
BEGIN
    SELECT now() - chain_at INTO age FROM arc.calls WHERE id = 11;
    CALL audit_chain.archive('arc.calls', age);
END $$;
SELECT lane, archived_seq, archived_hash IS NOT NULL AS has_hash, purged_seq
  FROM audit_chain.chains WHERE tbl = 'arc.calls'::regclass;
SELECT count(*) AS live, min(chain_seq) FROM arc.calls;
SELECT count(*) AS archived, min(chain_seq), max(chain_seq), min(twice), max(twice)
  FROM audit_chain_archive.calls;
SELECT kind, tbl_name, lane, from_seq, to_seq, row_count
  FROM audit_chain.boundaries ORDER BY chain_seq;
-- the boundary links the two: the archive's last hash is the live lane's start
SELECT (SELECT chain_hash FROM audit_chain_archive.calls WHERE chain_seq = 10)
     = (SELECT chain_prev FROM arc.calls WHERE chain_seq = 11) AS linked;

-- both verify: the live lane from the boundary, the archive as a segment
SELECT tbl, lane, rows_checked, intact FROM audit_chain.verify_chain('arc.calls');
SELECT tbl, lane, rows_checked, intact FROM audit_chain.verify_chain('audit_chain_archive.calls');
SELECT tbl, lane, rows_checked, intact FROM audit_chain.verify_chain()
 WHERE tbl::text LIKE 'arc.%' OR tbl::text LIKE 'audit_chain_archive.%'
    OR tbl::text = 'audit_chain.boundaries' ORDER BY tbl::text;
-- and incrementally
SELECT tbl, lane, intact FROM audit_chain.verify_chain('arc.calls', true);

-- the run is an event
SELECT action, resource, details->>'rows' AS rows, details->>'batches' AS batches,
       details->>'partitions' AS partitions
  FROM audit_chain.events WHERE event_type = 'admin' AND action IN ('archive', 'create archive table')
 ORDER BY occurred_at, action;

-- nothing older: nothing moves, and a second run is harmless
CALL audit_chain.archive('arc.calls', interval '1 day');
SELECT count(*) FROM audit_chain.boundaries;

-- new rows chain on; then everything is archived, the lane's head too
INSERT INTO arc.calls (id, who, note) VALUES (16, 'user16', 'third');
CALL audit_chain.archive('arc.calls', interval '1 microsecond');
SELECT count(*) AS live FROM arc.calls;
SELECT count(*) AS archived FROM audit_chain_archive.calls;
-- an empty live lane starts at the boundary: the next row links to it
INSERT INTO arc.calls (id, who, note) VALUES (17, 'user17', 'fourth');
SELECT chain_seq, chain_prev = (SELECT chain_hash FROM audit_chain_archive.calls WHERE chain_seq = 16) AS links
  FROM arc.calls;
SELECT tbl, lane, rows_checked, intact FROM audit_chain.verify_chain('arc.calls');
SELECT tbl, lane, rows_checked, intact FROM audit_chain.verify_chain('audit_chain_archive.calls');

-- a checkpoint taken before archiving still verifies after it
SELECT audit_chain.checkpoint() > 0 AS checkpointed;
INSERT INTO arc.calls (id, who, note) VALUES (18, 'user18', 'fifth');
CALL audit_chain.archive('arc.calls', interval '1 microsecond');
SELECT tbl, lane, intact FROM audit_chain.verify_chain('arc.calls');

-- the archive table takes rows only from archive()
INSERT INTO audit_chain_archive.calls (id, chain_lane, chain_seq, chain_at, chain_prev, chain_hash)
VALUES (99, 0, 99, now(), '\x00', '\x00');
UPDATE audit_chain_archive.calls SET note = 'changed' WHERE chain_seq = 1;
DELETE FROM audit_chain_archive.calls WHERE chain_seq = 1;
TRUNCATE audit_chain_archive.calls;

-- purge: archived rows past keep + archive_keep go, the boundary hashes stay
SELECT audit_chain.set_retention('arc.calls', interval '1 microsecond', NULL, interval '1 microsecond');
INSERT INTO arc.calls (id, who, note) VALUES (19, 'user19', 'sixth');
CALL audit_chain.apply_retention();
SELECT lane, archived_seq, purged_seq, purged_hash = archived_hash AS purged_all
  FROM audit_chain.chains WHERE tbl = 'arc.calls'::regclass;
SELECT count(*) AS live FROM arc.calls;
SELECT count(*) AS archived FROM audit_chain_archive.calls;
SELECT kind, lane, from_seq, to_seq, row_count FROM audit_chain.boundaries ORDER BY chain_seq;
SELECT tbl, lane, rows_checked, intact FROM audit_chain.verify_chain('arc.calls');
SELECT tbl, lane, rows_checked, intact FROM audit_chain.verify_chain('audit_chain_archive.calls');
INSERT INTO arc.calls (id, who, note) VALUES (20, 'user20', 'seventh');
SELECT tbl, lane, rows_checked, intact FROM audit_chain.verify_chain('arc.calls');
-- the live table's DELETE is refused outside archive(), as before
DELETE FROM arc.calls;
SELECT action, details->>'rows' AS rows FROM audit_chain.events
 WHERE event_type = 'admin' AND action = 'purge archive';

-- a legal hold stops archive() and purging; apply_retention() skips the table
SELECT audit_chain.legal_hold('arc.calls', true, 'matter 12');
\set VERBOSITY terse
CALL audit_chain.archive('arc.calls', interval '1 microsecond');
\set VERBOSITY default
CALL audit_chain.apply_retention();
SELECT audit_chain.legal_hold('arc.calls', false, 'matter 12 closed');

-- a table partitioned by time archives whole old partitions by DETACH
CREATE TABLE arc.visits (id int, at timestamptz NOT NULL, note text) PARTITION BY RANGE (at);
CREATE TABLE arc.visits_2020_01 PARTITION OF arc.visits FOR VALUES FROM ('2020-01-01') TO ('2020-02-01');
CREATE TABLE arc.visits_2020_02 PARTITION OF arc.visits FOR VALUES FROM ('2020-02-01') TO ('2020-03-01');
CREATE TABLE arc.visits_rest PARTITION OF arc.visits FOR VALUES FROM ('2020-03-01') TO (MAXVALUE);
SELECT audit_chain.protect('arc.visits', 2);
INSERT INTO arc.visits SELECT i, '2020-01-10'::timestamptz + i * interval '1 hour', 'jan' FROM generate_series(1, 100) i;
INSERT INTO arc.visits SELECT i, '2020-02-10'::timestamptz + i * interval '1 hour', 'feb' FROM generate_series(1, 100) i;
INSERT INTO arc.visits SELECT i, now(), 'now' FROM generate_series(1, 5) i;
CALL audit_chain.archive('arc.visits', interval '1 year');
SELECT c.relname, n.nspname, i.inhparent::regclass AS parent
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
 WHERE c.relname LIKE 'visits%' AND c.relkind = 'r' ORDER BY 1, 2;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_chain_archive.visits_2020_01'::regclass ORDER BY 1;
SELECT kind, tbl_name, from_seq, to_seq, row_count FROM audit_chain.boundaries
 WHERE tbl_name = 'arc.visits' ORDER BY chain_seq;
SELECT sum(archived_seq) AS archived_seq FROM audit_chain.chains WHERE tbl = 'arc.visits'::regclass;
SELECT count(*) AS live FROM arc.visits;
SELECT count(*) AS archived FROM audit_chain_archive.visits;
-- (which lane the rows are in depends on the backend: sum over the lanes)
SELECT tbl, count(*) AS lanes, sum(rows_checked) AS rows_checked, bool_and(intact) AS intact
  FROM audit_chain.verify_chain('arc.visits') GROUP BY tbl;
SELECT tbl, count(*) AS lanes, sum(rows_checked) AS rows_checked, bool_and(intact) AS intact
  FROM audit_chain.verify_chain('audit_chain_archive.visits') GROUP BY tbl;
SELECT details->>'rows' AS rows, details->>'partitions' AS partitions FROM audit_chain.events
 WHERE action = 'archive' AND resource = 'arc.visits';
-- the detached partitions' rows cannot be changed either
DELETE FROM audit_chain_archive.visits_2020_01;
-- nor may anyone else detach a partition
ALTER TABLE arc.visits DETACH PARTITION arc.visits_rest;

-- archive_delay paces the batches; it takes 0 to 10 s
SET audit_chain.archive_delay = -1;
SET audit_chain.archive_delay = '11s';
SET audit_chain.archive_delay = '5ms';
INSERT INTO arc.calls (id, who, note) VALUES (21, 'user21', 'eighth');
CALL audit_chain.archive('arc.calls', interval '1 microsecond');
SELECT count(*) AS live FROM arc.calls;
RESET audit_chain.archive_delay;

-- bad input
CALL audit_chain.archive('arc.calls', interval '0');
CALL audit_chain.archive('arc.calls', interval '-1 day');
CALL audit_chain.archive('arc.calls', interval '1 day ago');
CALL audit_chain.archive('arc.calls', NULL);
CALL audit_chain.archive(NULL, interval '1 day');
CALL audit_chain.archive(0, interval '1 day');
CREATE TABLE arc.plain (id int);
CALL audit_chain.archive('arc.plain', interval '1 day');
SELECT audit_chain.archive_table('arc.plain');
CALL audit_chain.archive('audit_chain.boundaries', interval '1 day');
SELECT audit_chain.archive_table('audit_chain.boundaries');
SELECT audit_chain.archive_table(NULL);
-- a non-owner may not archive, nor name the archive table
SET client_min_messages = warning;
CREATE ROLE arc_other;
RESET client_min_messages;
GRANT USAGE ON SCHEMA arc TO arc_other;
GRANT EXECUTE ON PROCEDURE audit_chain.archive(regclass, interval) TO arc_other;
GRANT EXECUTE ON FUNCTION audit_chain.archive_table(regclass) TO arc_other;
SET ROLE arc_other;
CALL audit_chain.archive('arc.calls', interval '1 day');
SELECT audit_chain.archive_table('arc.calls');
RESET ROLE;
-- PUBLIC may not call them at all
SET ROLE arc_other;
CALL audit_chain.apply_retention();
RESET ROLE;

-- unprotect: the archive stays, but is no longer the table's archive
SELECT audit_chain.unprotect('arc.calls');
SELECT count(*) FROM audit_chain.archives WHERE tbl = 'arc.calls'::regclass;
SELECT count(*) AS still_archived FROM audit_chain_archive.calls;

REVOKE ALL ON SCHEMA arc FROM arc_other;
REVOKE ALL ON PROCEDURE audit_chain.archive(regclass, interval) FROM arc_other;
REVOKE ALL ON FUNCTION audit_chain.archive_table(regclass) FROM arc_other;
DROP ROLE arc_other;
