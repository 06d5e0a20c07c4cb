-- Attack suite, issue 14: masking at collection cannot be bypassed by the
-- writer.  The administrator lists keys of details in
-- audit_chain.hash_detail_keys (PGC_SUSET); the trigger zz_audit_chain_mask
-- replaces their values by digests before zz_audit_chain_seal hashes the
-- row.  A writer (INSERT on events, EXECUTE on log_event) tries to turn the
-- setting off (SET, SET LOCAL, set_config, pg_settings, ALTER ROLE, a
-- function's SET clause, session_replication_role), to get past the
-- trigger (a trigger of its own, DISABLE TRIGGER, UPDATE and INSERT ... ON
-- CONFLICT DO UPDATE after the fact, a key spelt with a JSON escape or
-- another case, a SECURITY DEFINER function and a trigger on a table of its
-- own that write the event): every attempt fails or is masked.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

SELECT plan(20);

CREATE ROLE mk_writer;
GRANT INSERT ON audit_chain.events TO mk_writer;
GRANT EXECUTE ON FUNCTION audit_chain.log_event(text, text, text, text, text, text, text, integer,
    integer, integer, numeric, bytea, bytea, text, text, text, text, text[], boolean, text,
    text, text, inet, text, jsonb, timestamptz, text, text, text, text[], text, text) TO mk_writer;
CREATE SCHEMA mk_own AUTHORIZATION mk_writer;

-- the administrator's setting (for this transaction)
SET LOCAL audit_chain.hash_detail_keys = 'prompt, email';

SET SESSION AUTHORIZATION mk_writer;

-- 1. turn the setting off
SELECT throws_ok($$SET audit_chain.hash_detail_keys = ''$$, '42501',
                 'permission denied to set parameter "audit_chain.hash_detail_keys"', 'SET');
SELECT throws_ok($$SET LOCAL audit_chain.hash_detail_keys = 'nothing'$$, '42501',
                 'permission denied to set parameter "audit_chain.hash_detail_keys"', 'SET LOCAL');
SELECT throws_ok($$SELECT set_config('audit_chain.hash_detail_keys', '', true)$$, '42501',
                 'permission denied to set parameter "audit_chain.hash_detail_keys"', 'set_config()');
SELECT throws_ok($$UPDATE pg_settings SET setting = '' WHERE name = 'audit_chain.hash_detail_keys'$$, '42501',
                 'permission denied to set parameter "audit_chain.hash_detail_keys"', 'UPDATE pg_settings');
SELECT throws_ok($$ALTER ROLE mk_writer SET audit_chain.hash_detail_keys = ''$$, '42501', NULL,
                 'ALTER ROLE ... SET');
SELECT throws_ok($$CREATE FUNCTION mk_own.f() RETURNS void LANGUAGE sql
                   SET audit_chain.hash_detail_keys = '' AS 'SELECT'$$, '42501', NULL,
                 'a function with a SET clause');
SELECT throws_ok($$SET session_replication_role = replica$$, '42501', NULL,
                 'session_replication_role = replica (no triggers)');
SELECT is(current_setting('audit_chain.hash_detail_keys'), 'prompt, email', 'the setting is the administrator''s');

-- 2. get past the trigger
SELECT throws_ok($$CREATE TRIGGER aa_unmask BEFORE INSERT ON audit_chain.events
                   FOR EACH ROW EXECUTE FUNCTION audit_chain.set_event_facts()$$, '42501',
                 'permission denied for table events', 'a trigger of its own on events');
SELECT throws_ok($$ALTER TABLE audit_chain.events DISABLE TRIGGER zz_audit_chain_mask$$, '55000',
                 'cannot change table "events", which belongs to extension audit_chain', 'DISABLE TRIGGER');
SELECT lives_ok($$INSERT INTO audit_chain.events (event_type, action, details)
                  VALUES ('api_request', 'mk insert', '{"prompt": "secret prompt", "EMAIL": "ann@example.com", "ctx": {"pro\u006dpt": "secret 2"}}')$$,
                'the writer inserts details with the listed keys');
SELECT lives_ok($$SELECT audit_chain.log_event('api_request', 'mk log_event', details => '{"email": "bob@example.com"}')$$,
                'and through log_event()');
SELECT throws_ok($$UPDATE audit_chain.events SET details = '{"prompt": "secret prompt"}' WHERE action = 'mk insert'$$,
                 '42501', 'permission denied for table events', 'UPDATE after the fact');
SELECT throws_ok($$INSERT INTO audit_chain.events (event_id, event_type, action, details)
                   VALUES (gen_random_uuid(), 'api_request', 'mk upsert', '{}')
                   ON CONFLICT (event_id) DO UPDATE SET details = '{"prompt": "secret prompt"}'$$,
                 '42501', 'permission denied for table events', 'INSERT ... ON CONFLICT DO UPDATE');
-- a definer function and a trigger of the writer's own write the event
CREATE FUNCTION mk_own.definer() RETURNS void LANGUAGE sql SECURITY DEFINER
    AS $$ INSERT INTO audit_chain.events (event_type, action, details)
          VALUES ('api_request', 'mk definer', '{"prompt": "secret 3"}') $$;
SELECT mk_own.definer();
CREATE TABLE mk_own.t (v text);
CREATE FUNCTION mk_own.tg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_chain.events (event_type, action, details)
    VALUES ('api_request', 'mk own trigger', jsonb_build_object('email', NEW.v));
    RETURN NEW;
END $$;
CREATE TRIGGER mk_tg AFTER INSERT ON mk_own.t FOR EACH ROW EXECUTE FUNCTION mk_own.tg();
INSERT INTO mk_own.t VALUES ('carol@example.com');
RESET SESSION AUTHORIZATION;

-- 3. what was stored
SELECT is((SELECT details FROM audit_chain.events WHERE action = 'mk insert'),
          jsonb_build_object('prompt', 'sha256:' || encode(audit_chain.digest('"secret prompt"'::jsonb), 'hex'),
                             'EMAIL', 'sha256:' || encode(audit_chain.digest('"ann@example.com"'::jsonb), 'hex'),
                             'ctx', jsonb_build_object('prompt', 'sha256:' || encode(audit_chain.digest('"secret 2"'::jsonb), 'hex'))),
          'INSERT: masked (another case, a JSON escape, nested)');
SELECT is((SELECT details->>'email' FROM audit_chain.events WHERE action = 'mk log_event'),
          'sha256:' || encode(audit_chain.digest('"bob@example.com"'::jsonb), 'hex'), 'log_event(): masked');
SELECT is((SELECT details->>'prompt' FROM audit_chain.events WHERE action = 'mk definer'),
          'sha256:' || encode(audit_chain.digest('"secret 3"'::jsonb), 'hex'), 'its SECURITY DEFINER function: masked');
SELECT is((SELECT details->>'email' FROM audit_chain.events WHERE action = 'mk own trigger'),
          'sha256:' || encode(audit_chain.digest('"carol@example.com"'::jsonb), 'hex'), 'its own table''s trigger: masked');
SELECT is((SELECT count(*)::int FROM audit_chain.events
            WHERE details::text ~ '(secret|@example\.com)'), 0, 'no clear value anywhere in events');
SELECT is((SELECT bool_and(intact) FROM audit_chain.verify_chain('audit_chain.events')), true,
          'the masked rows are the sealed rows: the chain verifies');
SELECT * FROM finish();
ROLLBACK;
