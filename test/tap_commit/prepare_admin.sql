-- PREPARE TRANSACTION with admin events queued (review 2 of issue 10).
-- Admin events (DDL, GRANT, role commands) are written just before commit,
-- taking a lane of audit_chain.events only for the commit itself.  Written
-- at PREPARE, they held that lane until COMMIT PREPARED: any role could
-- run DDL in its own schema or ALTER ROLE on itself, prepare, disconnect,
-- and keep a lane for good, past every timeout; sixteen such prepared
-- transactions stalled every writer of events.  Such a PREPARE is refused.
-- Also: DDL run for a role by a superuser's SECURITY DEFINER function is
-- recorded even if the role turned check_function_bodies off (which is how
-- a dump replayed by a superuser is told apart).
-- Needs real commits: run it with pg_prove outside a transaction.  Creates
-- and drops role tapc_pa and schema tapc_pa.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;
\set VERBOSITY terse

SELECT NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pgtap') AS drop_pgtap,
       NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'audit_chain') AS drop_audit_chain \gset
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

-- Leftovers of an interrupted run
DROP SCHEMA IF EXISTS tapc_pa CASCADE;
DROP ROLE IF EXISTS tapc_pa;

SELECT plan(8);

CREATE ROLE tapc_pa;
CREATE SCHEMA tapc_pa AUTHORIZATION tapc_pa;

SELECT current_setting('max_prepared_transactions')::int > 0 AS can_prepare \gset
\if :can_prepare
SET SESSION AUTHORIZATION tapc_pa;
\echo '# ERRORs on stderr are expected next'
\set ON_ERROR_STOP false
\set LAST_ERROR_SQLSTATE 00000
BEGIN;
CREATE TABLE tapc_pa.t (a int);
PREPARE TRANSACTION 'tapc_pa_ddl';
\set ON_ERROR_STOP true
SELECT is(:'LAST_ERROR_SQLSTATE'::text || ' ' || :'LAST_ERROR_MESSAGE'::text,
          '0A000 cannot prepare a transaction that has audit_chain admin events to record',
          'an unprivileged role cannot prepare a transaction after DDL');
\set ON_ERROR_STOP false
\set LAST_ERROR_SQLSTATE 00000
BEGIN;
ALTER ROLE tapc_pa SET work_mem = '1MB';
PREPARE TRANSACTION 'tapc_pa_role';
\set ON_ERROR_STOP true
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '0A000',
          'nor after a role command on itself');
RESET SESSION AUTHORIZATION;
SELECT is((SELECT count(*)::int FROM pg_prepared_xacts WHERE gid LIKE 'tapc\_pa%'), 0,
          'nothing was prepared');
SELECT is((SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory' AND pid IS NULL), 0,
          'no prepared transaction holds a lane');
-- (what the code before the fix prepared would block the rest)
SELECT format('ROLLBACK PREPARED %L', gid) FROM pg_prepared_xacts
 WHERE gid LIKE 'tapc\_pa%' \gexec

-- what a rolled-back savepoint queued is gone: that transaction prepares
SET SESSION AUTHORIZATION tapc_pa;
CREATE TABLE tapc_pa.t (a int);
BEGIN;
SAVEPOINT s;
CREATE TABLE tapc_pa.u (a int);
ROLLBACK TO SAVEPOINT s;
INSERT INTO tapc_pa.t VALUES (1);
PREPARE TRANSACTION 'tapc_pa_ok';
RESET SESSION AUTHORIZATION;
SELECT is((SELECT count(*)::int FROM pg_prepared_xacts WHERE gid = 'tapc_pa_ok'), 1,
          'a transaction whose DDL was rolled back to a savepoint prepares');
ROLLBACK PREPARED 'tapc_pa_ok';
\else
SELECT skip('max_prepared_transactions is 0', 5);
SET SESSION AUTHORIZATION tapc_pa;
CREATE TABLE tapc_pa.t (a int);
RESET SESSION AUTHORIZATION;
\endif

-- committed without PREPARE, DDL is recorded as before
SELECT is((SELECT count(*)::int FROM audit_chain.events
            WHERE event_type = 'admin' AND action = 'create table' AND resource = 'tapc_pa.t'
              AND db_role = 'tapc_pa'), 1,
          'a committed CREATE TABLE is an admin event of its role');
SELECT is((SELECT count(*)::int FROM audit_chain.events
            WHERE event_type = 'admin' AND resource = 'tapc_pa.u'), 0,
          'the one rolled back is not');

-- a superuser's SECURITY DEFINER function that runs DDL for its caller
CREATE FUNCTION tapc_pa.make_table() RETURNS void LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$BEGIN CREATE TABLE tapc_pa.made_for_caller (a int); END$$;
GRANT EXECUTE ON FUNCTION tapc_pa.make_table() TO tapc_pa;
SET SESSION AUTHORIZATION tapc_pa;
SET check_function_bodies = off;
SELECT tapc_pa.make_table();
RESET check_function_bodies;
RESET SESSION AUTHORIZATION;
SELECT is((SELECT count(*)::int FROM audit_chain.events
            WHERE event_type = 'admin' AND resource = 'tapc_pa.made_for_caller'
              AND db_role = 'tapc_pa'), 1,
          'DDL of a definer function is recorded with check_function_bodies off');

SELECT * FROM finish();

DROP SCHEMA tapc_pa CASCADE;
DROP ROLE tapc_pa;
\if :drop_audit_chain
DROP EXTENSION audit_chain;
\endif
\if :drop_pgtap
DROP EXTENSION pgtap;
\endif
