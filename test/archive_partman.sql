-- archive() of a table partitioned by time: by hand and by pg_partman
-- (Debian's postgresql-15-partman).  Old partitions leave whole by DETACH
-- into audit_chain_archive, as children of the archive table; the live table
-- verifies from the new boundaries, the archive as a segment, and pg_partman
-- goes on making partitions.  A partition that does not hold the first rows
-- of every lane is archived row by row instead.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;
CREATE SCHEMA partman;
CREATE EXTENSION pg_partman SCHEMA partman;

SELECT plan(18);

-- A pg_partman table: daily partitions from ten days back, created_at the key
CREATE SCHEMA tap_pm;
CREATE TABLE tap_pm.calls (id int, created_at timestamptz NOT NULL DEFAULT now(), who text)
    PARTITION BY RANGE (created_at);
SELECT partman.create_parent('tap_pm.calls', 'created_at', 'native', 'daily',
                             p_start_partition := (now() - interval '10 days')::date::text,
                             p_premake := 2);
SELECT audit_chain.protect('tap_pm.calls', 4);
SELECT is((SELECT count(*) FROM pg_inherits WHERE inhparent = 'tap_pm.calls'::regclass),
          (SELECT count(*) FROM pg_inherits i JOIN pg_trigger t ON t.tgrelid = i.inhrelid
            WHERE i.inhparent = 'tap_pm.calls'::regclass AND t.tgname = 'zz_audit_chain_truncate'),
          'every partition pg_partman made has the TRUNCATE refusal');

-- rows for every day, oldest first (so each old partition holds the first rows of its lanes)
INSERT INTO tap_pm.calls (id, created_at, who)
SELECT g, date_trunc('day', now()) - interval '10 days' + g * interval '1 hour', 'user' || g
  FROM generate_series(0, 10 * 24 - 1) g;
INSERT INTO tap_pm.calls (id, who) SELECT g, 'now' FROM generate_series(1, 5) g;
SELECT is((SELECT count(*) FROM tap_pm.calls), 245::bigint, '245 rows');

CALL audit_chain.archive('tap_pm.calls', interval '5 days');

SELECT cmp_ok((SELECT count(*) FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid
                WHERE i.inhparent = audit_chain.archive_table('tap_pm.calls')),
              '>=', 4::bigint, 'at least the four oldest whole days are children of the archive table');
SELECT is((SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'tap_pm.calls'::regclass
              AND c.relnamespace = 'audit_chain_archive'::regnamespace),
          0::bigint, 'none of them is still a partition of the live table');
SELECT is((SELECT sum(row_count) FROM audit_chain.boundaries WHERE tbl_name = 'tap_pm.calls' AND kind = 'detach'),
          (SELECT count(*) FROM audit_chain_archive.calls)::numeric,
          'the detach boundaries account for every archived row');
SELECT ok((SELECT count(*) FROM audit_chain.boundaries WHERE tbl_name = 'tap_pm.calls' AND kind = 'detach') > 0,
          'detach boundaries were recorded');
SELECT ok(NOT EXISTS (SELECT FROM tap_pm.calls WHERE created_at < now() - interval '6 days'),
          'no row of the detached days is left live');
SELECT is((SELECT count(*) FROM tap_pm.calls) + (SELECT count(*) FROM audit_chain_archive.calls),
          245::bigint, 'every row is in one of the two');
SELECT is((SELECT count(*) FROM (SELECT chain_lane, chain_seq FROM tap_pm.calls
                                 INTERSECT SELECT chain_lane, chain_seq FROM audit_chain_archive.calls) s),
          0::bigint, 'and none in both');
SELECT results_eq($$SELECT bool_and(intact) FROM audit_chain.verify_chain('tap_pm.calls')$$,
                  $$VALUES (true)$$, 'the live table verifies from the boundaries');
SELECT results_eq($$SELECT bool_and(intact) FROM audit_chain.verify_chain('audit_chain_archive.calls')$$,
                  $$VALUES (true)$$, 'the archive verifies as a segment, detached partitions and all');
-- pg_partman keeps working on the table
SELECT lives_ok($$SELECT partman.run_maintenance('tap_pm.calls')$$, 'pg_partman maintenance runs after');
INSERT INTO tap_pm.calls (id, who) VALUES (999, 'after');
SELECT results_eq($$SELECT bool_and(intact) FROM audit_chain.verify_chain('tap_pm.calls')$$,
                  $$VALUES (true)$$, 'and new rows chain on');

-- By hand: an old partition whose rows are not the first of their lane
-- (rows of a newer partition came first) is archived row by row instead
CREATE TABLE tap_pm.visits (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE tap_pm.visits_old PARTITION OF tap_pm.visits FOR VALUES FROM ('2020-01-01') TO ('2020-02-01');
CREATE TABLE tap_pm.visits_new PARTITION OF tap_pm.visits FOR VALUES FROM ('2020-02-01') TO (MAXVALUE);
SELECT audit_chain.protect('tap_pm.visits');
INSERT INTO tap_pm.visits VALUES (1, '2020-03-01');          -- seq 1, in the newer partition
INSERT INTO tap_pm.visits VALUES (2, '2020-01-15'), (3, '2020-01-16');
CALL audit_chain.archive('tap_pm.visits', interval '1 microsecond');
SELECT is((SELECT count(*) FROM audit_chain.boundaries WHERE tbl_name = 'tap_pm.visits' AND kind = 'detach'),
          0::bigint, 'a partition that is not a prefix of its lane is not detached');
SELECT is((SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = 'tap_pm.visits_old'::regclass),
          'tap_pm', 'it stays a partition');
SELECT is((SELECT count(*) FROM tap_pm.visits), 0::bigint, 'its rows were archived one by one');
SELECT results_eq($$SELECT bool_and(intact) FROM audit_chain.verify_chain('audit_chain_archive.visits')$$,
                  $$VALUES (true)$$, 'and verify');
SELECT throws_ok($$ALTER TABLE tap_pm.visits DETACH PARTITION tap_pm.visits_old$$, '55000',
                 'cannot detach a partition of chained table "visits"',
                 'nobody else may detach a partition');

SELECT * FROM finish();
ROLLBACK;
