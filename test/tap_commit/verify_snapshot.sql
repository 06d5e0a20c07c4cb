-- verify_chain() reads everything in one snapshot: the rows, the registry,
-- the boundary records, the archive and the checkpoints.  An archive() batch
-- or a checkpoint committed by another session while a verification runs
-- must not make an intact chain look tampered with.  (test/soak/soak.sh
-- found it: the boundary records and the checkpoints were read with a
-- snapshot of their own, taken later than the rows'.)  The other session's
-- commit lands inside the verifying statement through dblink, after the
-- statement took its snapshot.  Run with pg_prove outside a transaction.
-- Creates and drops schema tap_commit_vs.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
\set VERBOSITY terse

SELECT NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pgtap') AS drop_pgtap,
       NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'audit_chain') AS drop_audit_chain,
       NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'dblink') AS drop_dblink \gset
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;
CREATE EXTENSION IF NOT EXISTS dblink;

-- Leftovers of an interrupted run
DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT c.tbl FROM audit_chain.chains c JOIN pg_class r ON r.oid = c.tbl
               JOIN pg_namespace n ON n.oid = r.relnamespace
              WHERE n.nspname = 'tap_commit_vs' GROUP BY c.tbl
    LOOP
        PERFORM audit_chain.unprotect(t, 'pgTAP cleanup');
    END LOOP;
    DROP SCHEMA IF EXISTS tap_commit_vs CASCADE;
    DROP TABLE IF EXISTS audit_chain_archive.vs;
END
$$;

SELECT plan(5);

CREATE SCHEMA tap_commit_vs;
CREATE TABLE tap_commit_vs.vs (id int, note text);
SELECT audit_chain.protect('tap_commit_vs.vs', 1);
INSERT INTO tap_commit_vs.vs SELECT g, 'row ' || g FROM generate_series(1, 30) AS g;
SELECT pg_sleep(0.05);

-- the other session, on the same server as the same user
SELECT format('dbname=%s user=%s port=%s host=%s', current_database(), current_user,
              current_setting('port'), split_part(current_setting('unix_socket_directories'), ',', 1)) AS conn \gset

-- 1. an archive() committed after the statement's snapshot
SELECT is((WITH other AS MATERIALIZED (
               SELECT dblink_exec(:'conn', 'CALL audit_chain.archive(''tap_commit_vs.vs'', ''1 microsecond'')') AS r)
           SELECT string_agg(coalesce(v.problem, 'intact'), '; ')
             FROM other, LATERAL audit_chain.verify_chain(CASE WHEN other.r IS NOT NULL
                                                               THEN 'tap_commit_vs.vs'::regclass END) v),
          'intact',
          'an archive() committed during a verification leaves it intact (rows, registry and boundary records in one snapshot)');
SELECT is((SELECT archived_seq FROM audit_chain.chains WHERE tbl = 'tap_commit_vs.vs'::regclass), 30::bigint,
          'the archive did move the rows');

-- 2. new rows and a checkpoint committed after the statement's snapshot
SELECT is((WITH other AS MATERIALIZED (
               SELECT dblink_exec(:'conn', 'INSERT INTO tap_commit_vs.vs SELECT g, ''late'' FROM generate_series(31, 35) AS g') AS r1,
                      (SELECT t.id FROM dblink(:'conn', 'SELECT audit_chain.checkpoint()') AS t(id bigint)) AS r2)
           SELECT string_agg(coalesce(v.problem, 'intact'), '; ')
             FROM other, LATERAL audit_chain.verify_chain(CASE WHEN other.r1 IS NOT NULL AND other.r2 IS NOT NULL
                                                               THEN 'tap_commit_vs.vs'::regclass END) v),
          'intact',
          'a checkpoint committed during a verification, over rows it cannot see, leaves it intact');
-- 3. and the next verification sees both, intact
SELECT is((SELECT string_agg(coalesce(problem, 'intact'), '; ') FROM audit_chain.verify_chain('tap_commit_vs.vs')),
          'intact', 'the next verification sees the archive, the rows and the checkpoint: intact');
SELECT is((SELECT rows_checked FROM audit_chain.verify_chain('tap_commit_vs.vs')), 5::bigint,
          'it checked the 5 live rows (the 30 archived ones verify with the archive table)');

SELECT * FROM finish();

-- Clean up
SELECT audit_chain.unprotect('tap_commit_vs.vs', 'pgTAP cleanup');
DROP TABLE audit_chain_archive.vs;
DROP SCHEMA tap_commit_vs CASCADE;
\if :drop_dblink
DROP EXTENSION dblink;
\endif
\if :drop_audit_chain
DROP EXTENSION audit_chain;
\endif
\if :drop_pgtap
DROP EXTENSION pgtap;
\endif
