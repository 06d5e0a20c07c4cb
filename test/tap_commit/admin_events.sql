-- Admin events say what changed, and an ordinary role can neither forge
-- nor suppress them (issue 14).  An unprivileged role (tapc_ae) GRANTs and
-- REVOKEs on its own objects, names them to mislead, sets what it can set,
-- and tries to write or silence the events itself.  Admin events are written
-- at commit, so this file commits: run it with pg_prove outside a
-- transaction.  Creates and drops roles tapc_ae, tapc_ae2 and schema
-- tapc_ae.
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
-- the utility hook runs in sessions that loaded the library (or preload it)
LOAD 'audit_chain';

-- Leftovers of an interrupted run
DROP SCHEMA IF EXISTS tapc_ae CASCADE;
DROP ROLE IF EXISTS tapc_ae;
DROP ROLE IF EXISTS tapc_ae2;
DROP ROLE IF EXISTS "tapc_ae"", ""postgres";

SELECT plan(15);

CREATE ROLE tapc_ae;
CREATE ROLE tapc_ae2;
CREATE ROLE "tapc_ae"", ""postgres";
CREATE SCHEMA tapc_ae AUTHORIZATION tapc_ae;
SELECT clock_timestamp() AS t0 \gset

SET SESSION AUTHORIZATION tapc_ae;
-- what a session can set does not change what is recorded
SET audit_chain.actor = 'postgres';
SET check_function_bodies = off;
CREATE TABLE tapc_ae.t (a int);
CREATE TABLE tapc_ae."x"", ""grantees"": [""postgres""]" (a int);
GRANT SELECT, UPDATE ON tapc_ae.t TO tapc_ae2 WITH GRANT OPTION;
GRANT SELECT ON tapc_ae."x"", ""grantees"": [""postgres""]" TO "tapc_ae"", ""postgres";
REVOKE UPDATE ON tapc_ae.t FROM tapc_ae2 CASCADE;
ALTER ROLE tapc_ae SET work_mem = '1MB';
-- a GRANT in a subtransaction that commits is recorded with it
BEGIN;
SAVEPOINT s;
GRANT INSERT ON tapc_ae.t TO PUBLIC;
RELEASE SAVEPOINT s;
COMMIT;
RESET check_function_bodies;
RESET audit_chain.actor;

GRANT USAGE ON SCHEMA tapc_ae TO tapc_ae2;
-- a GRANT of privileges it cannot grant (tapc_ae2 holds SELECT WITH GRANT
-- OPTION, not DELETE): PostgreSQL grants SELECT only, with a WARNING
RESET SESSION AUTHORIZATION;
SET client_min_messages = error;
SET SESSION AUTHORIZATION tapc_ae2;
GRANT SELECT, DELETE ON tapc_ae.t TO "tapc_ae"", ""postgres";
RESET SESSION AUTHORIZATION;
SET client_min_messages = warning;
SET SESSION AUTHORIZATION tapc_ae;

-- ways to forge or suppress, each refused
\set ON_ERROR_STOP false
SELECT throws_ok($$INSERT INTO audit_chain.events (event_type, action, resource, details)
                   VALUES ('admin', 'revoke', 'tapc_ae.t', '{"grantees": ["tapc_ae2"]}')$$,
                 '42501', 'permission denied for table events',
                 'an ordinary role cannot write an admin event');
SELECT throws_ok($$ALTER EVENT TRIGGER audit_chain_ddl_log DISABLE$$,
                 '42501', 'must be owner of event trigger audit_chain_ddl_log',
                 'nor disable the event trigger that records GRANT');
SELECT throws_ok($$SET session_replication_role = replica$$,
                 '42501', 'permission denied to set parameter "session_replication_role"',
                 'nor turn event triggers off for its session');
SELECT throws_ok($$SELECT audit_chain.ddl_log()$$,
                 NULL, NULL,
                 'nor call the event trigger function itself');
\set ON_ERROR_STOP true
RESET SESSION AUTHORIZATION;

SELECT is((SELECT details->'objects' FROM audit_chain.events
            WHERE event_type = 'admin' AND chain_at >= :'t0' AND action = 'grant'
              AND details->'privileges' = '["SELECT", "UPDATE"]'),
          '["tapc_ae.t"]'::jsonb,
          'the GRANT names its object');
SELECT is((SELECT jsonb_build_array(resource, details->'grantees', details->'grant_option', db_role, actor)
             FROM audit_chain.events
            WHERE event_type = 'admin' AND chain_at >= :'t0' AND action = 'grant'
              AND details->'privileges' = '["SELECT", "UPDATE"]'),
          '["tapc_ae.t", ["tapc_ae2"], true, "tapc_ae", "postgres"]'::jsonb,
          'its grantee and WITH GRANT OPTION; db_role is who ran it, whatever the actor setting says');
SELECT is((SELECT (details->'objects') || (details->'grantees') FROM audit_chain.events
            WHERE event_type = 'admin' AND chain_at >= :'t0' AND action = 'grant'
              AND details->'grantees' ? 'tapc_ae", "postgres' AND db_role = 'tapc_ae'),
          '["tapc_ae.\"x\"\", \"\"grantees\"\": [\"\"postgres\"\"]\"", "tapc_ae\", \"postgres"]'::jsonb,
          'names built to look like JSON or lists stay one quoted object and one grantee');
SELECT is((SELECT jsonb_build_array(details->'privileges', details->'not_applied', db_role)
             FROM audit_chain.events
            WHERE event_type = 'admin' AND chain_at >= :'t0' AND action = 'grant'
              AND db_role = 'tapc_ae2'),
          '[["SELECT", "DELETE"], [{"object": "tapc_ae.t", "privileges": ["DELETE"]}], "tapc_ae2"]'::jsonb,
          'a privilege the grantor could not grant is listed as not applied');
SELECT is((SELECT count(*)::int FROM audit_chain.events
            WHERE event_type = 'admin' AND chain_at >= :'t0' AND action = 'grant'
              AND details->'grantees' ? 'postgres'),
          0, 'no event names postgres as a grantee');
SELECT is((SELECT jsonb_build_array(resource, details->'privileges', details->'cascade')
             FROM audit_chain.events
            WHERE event_type = 'admin' AND chain_at >= :'t0' AND action = 'revoke'),
          '["tapc_ae.t", ["UPDATE"], true]'::jsonb,
          'the REVOKE names its object, privilege and CASCADE');
SELECT is((SELECT details->'grantees' FROM audit_chain.events
            WHERE event_type = 'admin' AND chain_at >= :'t0' AND action = 'grant'
              AND details->'privileges' = '["INSERT"]'),
          '["PUBLIC"]'::jsonb,
          'a GRANT to PUBLIC in a released savepoint is recorded, naming PUBLIC');
SELECT is((SELECT jsonb_build_array(resource, details->>'setting', db_role) FROM audit_chain.events
            WHERE event_type = 'admin' AND chain_at >= :'t0' AND action = 'alter role set'),
          '["tapc_ae", "work_mem", "tapc_ae"]'::jsonb,
          'ALTER ROLE SET on itself names the role and the setting');
SELECT is((SELECT count(*)::int FROM audit_chain.events
            WHERE event_type = 'admin' AND chain_at >= :'t0' AND resource IS NULL),
          0, 'no anonymous admin event');

-- DROP OWNED: one event naming the roles and the objects, no anonymous rows
SELECT clock_timestamp() AS t1 \gset
DROP OWNED BY tapc_ae2, "tapc_ae"", ""postgres";
SELECT is((SELECT jsonb_build_array(action, resource, details->'roles',
                                    jsonb_array_length(details->'revoked'))
             FROM audit_chain.events WHERE event_type = 'admin' AND chain_at >= :'t1'),
          '["drop owned", "tapc_ae2, tapc_ae\", \"postgres", ["tapc_ae2", "tapc_ae\", \"postgres"], 3]'::jsonb,
          'DROP OWNED is one event naming its roles and the three objects it revoked on');
SELECT is((SELECT count(*)::int FROM audit_chain.events
            WHERE event_type = 'admin' AND chain_at >= :'t1' AND action = 'revoke'),
          0, 'and writes no revoke row of its own');

SELECT * FROM finish();

DROP SCHEMA tapc_ae CASCADE;
DROP OWNED BY tapc_ae;
DROP ROLE tapc_ae;
DROP ROLE tapc_ae2;
DROP ROLE "tapc_ae"", ""postgres";
\if :drop_audit_chain
DROP EXTENSION audit_chain;
\endif
\if :drop_pgtap
DROP EXTENSION pgtap;
\endif
