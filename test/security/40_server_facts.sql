-- Attack suite, issue 10 item 4: what the server knows is not taken from the
-- inserter.  db_role is set by the server (the trigger zz_audit_chain_facts
-- on audit_chain.events) to the role the session acts as: the login role or
-- the role of SET ROLE, through any SECURITY DEFINER function, and for the
-- events the extension writes as the table's owner (row changes of tracked
-- tables), the role that made the change.  A writer forges it through a
-- direct INSERT, log_event(), a SECURITY DEFINER wrapper of its own or of a
-- more privileged role, session settings, and a row with the chain columns
-- filled in; every stored value is checked.  What the application asserts
-- (actor, application_name, client_addr) stays as given.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

SELECT plan(28);

-- the library is loaded (its settings are reserved from here on)
SELECT ok(audit_chain.version() IS NOT NULL, 'the library is loaded');

-- A writer, as the README tells to make one; a role with more privileges
-- (sf_boss), a group the writer belongs to, a clerk with no privilege on the
-- event table who writes a tracked table.
CREATE ROLE sf_writer;
CREATE ROLE sf_boss;
CREATE ROLE sf_team;
CREATE ROLE sf_clerk;
GRANT sf_team TO sf_writer;
GRANT INSERT ON audit_chain.events TO sf_writer, sf_boss, sf_team;
GRANT EXECUTE ON FUNCTION audit_chain.log_event(text, text, text, text, text, text, text, integer,
    integer, integer, numeric, bytea, bytea, text, text, text, text, text[], boolean, text,
    text, text, inet, text, jsonb, timestamptz, text, text, text, text[], text, text) TO sf_writer;
CREATE SCHEMA sf_own AUTHORIZATION sf_writer;
CREATE SCHEMA sf_boss_s AUTHORIZATION sf_boss;
GRANT USAGE ON SCHEMA sf_boss_s TO sf_writer;

-- the event of a marker action, as the superuser sees it
CREATE FUNCTION pg_temp.ev(marker text) RETURNS audit_chain.events
LANGUAGE sql AS $$ SELECT * FROM audit_chain.events WHERE action = marker $$;

SELECT ok(NOT has_table_privilege('public', 'audit_chain.events', 'SELECT'),
          'PUBLIC cannot read audit_chain.events');

SET SESSION AUTHORIZATION sf_writer;

-- 1. a direct INSERT naming another role
SELECT lives_ok($$INSERT INTO audit_chain.events (event_type, action, db_role, actor)
                  VALUES ('admin', 'sf direct', 'postgres', 'alice@example.com')$$,
                'the writer inserts an event naming db_role postgres');

-- 2. log_event() (it takes no db_role; the session's settings and the
-- arguments are the application's assertions)
SET audit_chain.actor = 'postgres';
SET application_name = 'postgres';
SELECT lives_ok($$SELECT audit_chain.log_event('api_request', 'sf log_event', client_addr => '203.0.113.7')$$,
                'the writer logs an event through log_event()');
RESET audit_chain.actor;
RESET application_name;

-- 3. session settings: no setting carries db_role, and the writer cannot
-- become another role
SELECT throws_ok($$SET ROLE postgres$$, '42501', 'permission denied to set role "postgres"',
                 'SET ROLE to a role the writer is not a member of: 42501');
SELECT throws_ok($$SET audit_chain.db_role = 'postgres'$$, '42602', NULL,
                 'there is no audit_chain.db_role setting: 42602');
SET LOCAL "sf.db_role" = 'postgres';
SELECT lives_ok($$INSERT INTO audit_chain.events (event_type, action, db_role)
                  VALUES ('admin', 'sf settings', current_setting('sf.db_role'))$$,
                'the writer inserts db_role from a setting of its own');

-- 4. a SECURITY DEFINER function of the writer's own
CREATE FUNCTION sf_own.forge() RETURNS void LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ INSERT INTO audit_chain.events (event_type, action, db_role) VALUES ('admin', 'sf own definer', 'postgres') $$;
SELECT lives_ok($$SELECT sf_own.forge()$$, 'the writer''s own SECURITY DEFINER function inserts');

-- 5. a row with every chain column filled in, as a restore would give it:
-- only a superuser's rows are taken as they are
SELECT lives_ok($$INSERT INTO audit_chain.events (event_type, action, db_role, chain_lane, chain_seq,
                                                  chain_at, chain_prev, chain_hash)
                  VALUES ('admin', 'sf presealed', 'postgres', 0, 1, now(), sha256('a'), sha256('b'))$$,
                'the writer inserts a row with the chain columns set');

-- 5b. COPY, which fires row triggers too
COPY audit_chain.events (event_type, action, db_role) FROM STDIN;
admin	sf copy	postgres
\.

-- 6. SET ROLE to a group the writer is a member of acts as that group
SET ROLE sf_team;
SELECT lives_ok($$INSERT INTO audit_chain.events (event_type, action, db_role)
                  VALUES ('admin', 'sf set role', 'postgres')$$,
                'the writer, as its group, inserts an event');
RESET ROLE;

RESET SESSION AUTHORIZATION;

-- 7. a SECURITY DEFINER wrapper of a more privileged role, which the writer
-- may call: the caller is recorded, not the wrapper's owner
SET SESSION AUTHORIZATION sf_boss;
CREATE FUNCTION sf_boss_s.log_as_boss(marker text) RETURNS void LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ INSERT INTO audit_chain.events (event_type, action, db_role) VALUES ('admin', marker, 'sf_boss') $$;
GRANT EXECUTE ON FUNCTION sf_boss_s.log_as_boss(text) TO sf_writer;
SELECT lives_ok($$SELECT sf_boss_s.log_as_boss('sf boss himself')$$, 'the wrapper''s owner calls it');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION sf_writer;
SELECT lives_ok($$SELECT sf_boss_s.log_as_boss('sf boss wrapper')$$, 'the writer calls the wrapper');
RESET SESSION AUTHORIZATION;

-- 8. a superuser's SECURITY DEFINER function that copies a row with chain
-- columns set, called by the writer: not taken as a superuser's restore
CREATE FUNCTION public.sf_import(marker text) RETURNS void LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ INSERT INTO audit_chain.events (event_type, action, db_role, chain_lane, chain_seq,
                                      chain_at, chain_prev, chain_hash)
      VALUES ('admin', marker, 'postgres', 0, 1, now(), sha256('a'), sha256('b')) $$;
REVOKE ALL ON FUNCTION public.sf_import(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.sf_import(text) TO sf_writer;
SET SESSION AUTHORIZATION sf_writer;
SELECT lives_ok($$SELECT public.sf_import('sf superuser import')$$,
                'the writer calls a superuser''s function that inserts a row with chain columns set');
RESET SESSION AUTHORIZATION;

-- 9. events the extension writes as the event table's owner: a row change
-- of a tracked table, directly and through a superuser's SECURITY DEFINER
-- function, names the role that made the change
CREATE TABLE public.sf_tracked (id int PRIMARY KEY, note text);
SELECT audit_chain.track('public.sf_tracked');
GRANT INSERT ON public.sf_tracked TO sf_clerk;
CREATE FUNCTION public.sf_add(i int) RETURNS void LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ INSERT INTO public.sf_tracked VALUES (i, 'through a definer') $$;
REVOKE ALL ON FUNCTION public.sf_add(int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.sf_add(int) TO sf_writer;
SET SESSION AUTHORIZATION sf_clerk;
SELECT lives_ok($$INSERT INTO public.sf_tracked VALUES (1, 'direct')$$,
                'the clerk inserts into the tracked table');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION sf_writer;
SELECT lives_ok($$SELECT public.sf_add(2)$$,
                'the writer inserts into it through a superuser''s SECURITY DEFINER function');
RESET SESSION AUTHORIZATION;

-- What was stored
SELECT is((pg_temp.ev('sf direct')).db_role, 'sf_writer'::name,
          'direct INSERT: db_role is the writer, not the postgres it wrote');
SELECT is((pg_temp.ev('sf direct')).actor, 'alice@example.com',
          'direct INSERT: the asserted actor is kept');
SELECT is((pg_temp.ev('sf log_event')).db_role, 'sf_writer'::name,
          'log_event(): db_role is the writer');
SELECT results_eq(
    $$SELECT actor, application_name, host(client_addr) FROM pg_temp.ev('sf log_event')$$,
    $$VALUES ('postgres', 'postgres', '203.0.113.7')$$,
    'log_event(): actor, application_name and client_addr are the application''s assertions, kept');
SELECT is((pg_temp.ev('sf copy')).db_role, 'sf_writer'::name,
          'COPY naming db_role postgres: the writer');
SELECT is((pg_temp.ev('sf settings')).db_role, 'sf_writer'::name,
          'db_role from a session setting: the writer');
SELECT is((pg_temp.ev('sf own definer')).db_role, 'sf_writer'::name,
          'the writer''s own SECURITY DEFINER function: the writer');
SELECT results_eq(
    $$SELECT db_role, chain_hash = audit_chain.row_hash('audit_chain.events', chain_lane, chain_seq)
        FROM pg_temp.ev('sf presealed')$$,
    $$VALUES ('sf_writer'::name, true)$$,
    'a row with chain columns set: db_role is the writer, and the row is sealed anew');
SELECT is((pg_temp.ev('sf superuser import')).db_role, 'sf_writer'::name,
          'a superuser''s definer function called by the writer: the writer');
SELECT is((pg_temp.ev('sf set role')).db_role, 'sf_team'::name,
          'after SET ROLE to its group: the group');
SELECT is((pg_temp.ev('sf boss himself')).db_role, 'sf_boss'::name,
          'the wrapper called by its owner: the owner');
SELECT is((pg_temp.ev('sf boss wrapper')).db_role, 'sf_writer'::name,
          'a more privileged role''s SECURITY DEFINER wrapper called by the writer: the writer');
SELECT results_eq(
    $$SELECT details->'key'->>'id', db_role FROM audit_chain.events
       WHERE event_type = 'row_change' AND resource = 'public.sf_tracked' ORDER BY chain_seq$$,
    $$VALUES ('1', 'sf_clerk'::name), ('2', 'sf_writer'::name)$$,
    'row changes written as the event table''s owner name the role that made them');

SELECT * FROM finish();
ROLLBACK;
