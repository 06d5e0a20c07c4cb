-- Attack suite, issue 10 item 7: denial of service through the lanes of
-- audit_chain.events.  Writing an event holds a lane until commit, and any
-- role can run DDL in a schema of its own or change its own password, which
-- the extension records as admin events.  These are now queued and written
-- just before commit, so a transaction left open after them holds no lane
-- (test/isolation/specs/admin_events_no_lane.spec shows sixteen of them not
-- stalling a writer).  Left, and documented: a role that writes events (or a
-- tracked table) holds one lane per open transaction, as any writer does.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

SELECT plan(9);

SELECT ok(audit_chain.version() IS NOT NULL, 'the library (and its utility hook) is loaded');

-- lane locks of audit_chain.events this backend holds
CREATE FUNCTION pg_temp.my_lanes() RETURNS bigint
LANGUAGE sql AS $$
    SELECT count(*) FROM pg_locks
     WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
       AND classid = 'audit_chain.events'::regclass::oid
$$;

CREATE ROLE dos_attacker;
CREATE ROLE dos_writer;
CREATE SCHEMA dos_own AUTHORIZATION dos_attacker;
GRANT INSERT ON audit_chain.events TO dos_writer;

SELECT is(pg_temp.my_lanes(), 0::bigint,
          'a superuser''s CREATE ROLE, CREATE SCHEMA and GRANT take no lane');

SET SESSION AUTHORIZATION dos_attacker;
SELECT lives_ok($$CREATE TABLE dos_own.t (a int)$$, 'the attacker creates a table in its schema');
SELECT lives_ok($$ALTER ROLE dos_attacker PASSWORD 'hunter2'$$, 'the attacker changes its password');
SELECT lives_ok($$ALTER ROLE dos_attacker SET work_mem = '8MB'$$, 'the attacker changes its settings');
SELECT lives_ok($$GRANT SELECT ON dos_own.t TO PUBLIC$$, 'the attacker grants on its table');
SELECT lives_ok($$DROP TABLE dos_own.t$$, 'the attacker drops its table');
SELECT is(pg_temp.my_lanes(), 0::bigint,
          'after DDL, role commands and GRANT the open transaction holds no lane of audit_chain.events');
RESET SESSION AUTHORIZATION;

-- what is left: a writer holds one lane while its transaction is open
SET SESSION AUTHORIZATION dos_writer;
INSERT INTO audit_chain.events (event_type, action) VALUES ('api_request', 'dos probe');
INSERT INTO audit_chain.events (event_type, action) VALUES ('api_request', 'dos probe 2');
SELECT is(pg_temp.my_lanes(), 1::bigint, 'a writer of events holds one lane, however many it writes');
RESET SESSION AUTHORIZATION;

SELECT * FROM finish();
ROLLBACK;
