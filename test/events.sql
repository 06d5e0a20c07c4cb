-- audit_chain.events: column defaults and the who/why session settings
-- (audit_chain.actor, purpose, legal_basis, data_subject, session_id), a
-- connection pool that shares one role between users, the CHECK constraints,
-- log_event() and hash-only mode with digest(), track() / untrack() of a
-- business table (digests, column lists, values, no-op updates, a role with no
-- privilege on the event table), the refusal of UPDATE, DELETE and TRUNCATE,
-- and verify_chain() on the event table after all of it.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

-- A connection pool logs in as one role and serves one user per transaction:
-- three real transactions on this one connection (each rolled back, so they
-- leave nothing behind), their results kept in psql variables and checked
-- below.  SET LOCAL must end with its transaction, or the next user's events
-- would be attributed to the previous user.
BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS audit_chain;
CREATE ROLE tap_ev_pool NOLOGIN;
GRANT SELECT, INSERT ON audit_chain.events TO tap_ev_pool;
SET LOCAL ROLE tap_ev_pool;
SET LOCAL audit_chain.actor = 'alice@example.com';
SET LOCAL audit_chain.session_id = 'req-1';
INSERT INTO audit_chain.events (event_type, action) VALUES ('data_access', 'read')
RETURNING coalesce(actor, '<null>') AS pool1_actor, db_role AS pool1_role,
          coalesce(session_id, '<null>') AS pool1_session, pg_backend_pid() AS pool1_pid,
          txid_current() AS pool1_xid \gset
ROLLBACK;

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS audit_chain;
CREATE ROLE tap_ev_pool NOLOGIN;
GRANT SELECT, INSERT ON audit_chain.events TO tap_ev_pool;
SET LOCAL ROLE tap_ev_pool;
SELECT current_setting('audit_chain.actor') AS pool2_actor_before,
       current_setting('audit_chain.session_id') AS pool2_session_before \gset
SET LOCAL audit_chain.actor = 'bob@example.com';
SET LOCAL audit_chain.session_id = 'req-2';
INSERT INTO audit_chain.events (event_type, action) VALUES ('data_access', 'read')
RETURNING coalesce(actor, '<null>') AS pool2_actor, db_role AS pool2_role,
          coalesce(session_id, '<null>') AS pool2_session, pg_backend_pid() AS pool2_pid,
          txid_current() AS pool2_xid \gset
ROLLBACK;

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS audit_chain;
CREATE ROLE tap_ev_pool NOLOGIN;
GRANT SELECT, INSERT ON audit_chain.events TO tap_ev_pool;
SET LOCAL ROLE tap_ev_pool;
INSERT INTO audit_chain.events (event_type, action) VALUES ('data_access', 'read')
RETURNING coalesce(actor, '<null>') AS pool3_actor, db_role AS pool3_role,
          coalesce(session_id, '<null>') AS pool3_session \gset
ROLLBACK;

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

SELECT plan(148);

-- The settings are checked by the library: make sure it is loaded in this
-- session even when the extension was already installed in the database.
SELECT ok(audit_chain.version() IS NOT NULL, 'the library is loaded');

CREATE SCHEMA tap_events;
GRANT USAGE ON SCHEMA tap_events TO PUBLIC;

-- The newest event this transaction wrote about a resource, but for admin
-- events (DDL).  One transaction
-- keeps one lane, so chain_seq orders its events.
CREATE FUNCTION tap_events.last_event(res text) RETURNS audit_chain.events
LANGUAGE sql STABLE AS $$
    SELECT * FROM audit_chain.events WHERE resource = res AND event_type <> 'admin'
     ORDER BY chain_at DESC, chain_seq DESC LIMIT 1
$$;
-- How many events there are about a resource (DDL on it is recorded as admin
-- events: not counted)
CREATE FUNCTION tap_events.n_events(res text) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT count(*) FROM audit_chain.events WHERE resource = res AND event_type <> 'admin'
$$;
-- One term of a row digest: uint32_be(len(name)) || name || SHA-256(text)
CREATE FUNCTION tap_events.term(name text, val text) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN val IS NULL THEN ''::bytea
                ELSE int4send(octet_length(convert_to(name, 'UTF8'))) || convert_to(name, 'UTF8')
                     || sha256(convert_to(val, 'UTF8')) END
$$;

--
-- The pooled connection (the three transactions above)
--
SELECT is(:'pool1_actor'::text, 'alice@example.com', 'pool, transaction 1: actor from SET LOCAL audit_chain.actor');
SELECT is(:'pool1_session'::text, 'req-1', 'pool, transaction 1: session_id from SET LOCAL audit_chain.session_id');
SELECT is(:'pool2_actor_before'::text, '', 'pool, transaction 2: the first user''s SET LOCAL actor ended with its transaction');
SELECT is(:'pool2_session_before'::text, '', 'pool, transaction 2: the first user''s SET LOCAL session_id ended with its transaction');
SELECT is(:'pool2_actor'::text, 'bob@example.com', 'pool, transaction 2: the second user is recorded');
SELECT is(:'pool2_session'::text, 'req-2', 'pool, transaction 2: with its own session_id');
SELECT is(:'pool3_actor'::text, '<null>', 'pool, transaction 3: no SET LOCAL, no actor (not the previous user)');
SELECT is(:'pool3_session'::text, '<null>', 'pool, transaction 3: no session_id');
SELECT ok(:'pool1_role' = 'tap_ev_pool' AND :'pool2_role' = 'tap_ev_pool' AND :'pool3_role' = 'tap_ev_pool',
          'pool: db_role is the shared pool role in every transaction');
SELECT ok(:pool1_pid = :pool2_pid AND :pool1_xid <> :pool2_xid,
          'pool: one connection, two transactions');

--
-- Column defaults, no settings
--
SET LOCAL application_name = '';
INSERT INTO audit_chain.events (event_type, action, resource)
VALUES ('data_access', 'read', 'tap_events/defaults');
SELECT results_eq(
    $$SELECT actor, purpose, legal_basis, data_subject, session_id, application_name,
             outcome, phi, consent_id, details
        FROM tap_events.last_event('tap_events/defaults')$$,
    $$VALUES (NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text,
              'success'::text, false, NULL::text, NULL::jsonb)$$,
    'without settings: who/why are NULL, outcome success, phi false, empty application_name is NULL');
SELECT is((tap_events.last_event('tap_events/defaults')).db_role, current_user,
          'db_role defaults to current_user');
SELECT ok((tap_events.last_event('tap_events/defaults')).client_addr IS NOT DISTINCT FROM inet_client_addr(),
          'client_addr defaults to inet_client_addr()');
SELECT ok((tap_events.last_event('tap_events/defaults')).event_id IS NOT NULL, 'event_id is generated');
SELECT ok((tap_events.last_event('tap_events/defaults')).occurred_at
              BETWEEN transaction_timestamp() AND clock_timestamp(),
          'occurred_at defaults to the statement time');
SELECT ok((SELECT chain_lane BETWEEN 0 AND 15 AND chain_seq >= 1 AND length(chain_hash) = 32
                  AND length(chain_prev) = 32
             FROM tap_events.last_event('tap_events/defaults')),
          'the event is sealed into one of the 16 lanes');
SELECT is((SELECT audit_chain.row_hash('audit_chain.events', chain_lane, chain_seq) = chain_hash
             FROM tap_events.last_event('tap_events/defaults')), true,
          'its chain_hash is the hash of its contents');

SET LOCAL application_name = 'tap-events-app';
INSERT INTO audit_chain.events (event_type, action, resource)
VALUES ('data_access', 'read', 'tap_events/appname');
SELECT is((tap_events.last_event('tap_events/appname')).application_name, 'tap-events-app',
          'application_name defaults to the session''s application_name');

--
-- Session settings
--
SET LOCAL audit_chain.actor = 'dr.house@example.org';
SET LOCAL audit_chain.purpose = 'treatment';
SET LOCAL audit_chain.legal_basis = 'vital_interests';
SET LOCAL audit_chain.data_subject = 'patient-42';
SET LOCAL audit_chain.session_id = 'sess-0001';
INSERT INTO audit_chain.events (event_type, action, resource)
VALUES ('data_access', 'read', 'tap_events/settings');
SELECT results_eq(
    $$SELECT actor, purpose, legal_basis, data_subject, session_id
        FROM tap_events.last_event('tap_events/settings')$$,
    $$VALUES ('dr.house@example.org', 'treatment', 'vital_interests', 'patient-42', 'sess-0001')$$,
    'actor, purpose, legal_basis, data_subject, session_id come from SET LOCAL audit_chain.*');

INSERT INTO audit_chain.events (event_type, action, resource, actor, purpose, legal_basis,
                                data_subject, session_id)
VALUES ('data_access', 'read', 'tap_events/explicit', 'svc-batch', 'billing', 'contract',
        'cust-7', 'sess-x');
SELECT results_eq(
    $$SELECT actor, purpose, legal_basis, data_subject, session_id
        FROM tap_events.last_event('tap_events/explicit')$$,
    $$VALUES ('svc-batch', 'billing', 'contract', 'cust-7', 'sess-x')$$,
    'values given in the INSERT win over the settings');

INSERT INTO audit_chain.events (event_type, action, resource, actor, data_subject)
VALUES ('data_access', 'read', 'tap_events/explicit-null', NULL, NULL);
SELECT results_eq(
    $$SELECT actor, data_subject, purpose FROM tap_events.last_event('tap_events/explicit-null')$$,
    $$VALUES (NULL::text, NULL::text, 'treatment'::text)$$,
    'an explicit NULL wins over the setting; the other settings still apply');

SET LOCAL audit_chain.actor = '';
SET LOCAL audit_chain.legal_basis = '';
RESET audit_chain.purpose;
INSERT INTO audit_chain.events (event_type, action, resource)
VALUES ('data_access', 'read', 'tap_events/unset');
SELECT results_eq(
    $$SELECT actor, legal_basis, purpose, data_subject
        FROM tap_events.last_event('tap_events/unset')$$,
    $$VALUES (NULL::text, NULL::text, NULL::text, 'patient-42'::text)$$,
    'a setting set to '''' or reset is NULL in the event');

SELECT is(set_config('audit_chain.legal_basis', 'legitimate_interests', true), 'legitimate_interests',
          'set_config() of audit_chain.legal_basis works too');
INSERT INTO audit_chain.events (event_type, action, resource)
VALUES ('data_access', 'read', 'tap_events/set_config');
SELECT is((tap_events.last_event('tap_events/set_config')).legal_basis, 'legitimate_interests',
          'and is recorded');

-- every GDPR Art. 6(1) basis is accepted by the setting and by the column
SELECT lives_ok(format($$SET LOCAL audit_chain.legal_basis = %L$$, b), 'legal_basis setting accepts ' || b)
  FROM unnest(ARRAY['consent', 'contract', 'legal_obligation', 'vital_interests',
                    'public_task', 'legitimate_interests']) AS b;
SELECT lives_ok($$INSERT INTO audit_chain.events (event_type, action, resource, legal_basis)
                  SELECT 'data_access', 'read', 'tap_events/bases', b
                    FROM unnest(ARRAY['consent', 'contract', 'legal_obligation', 'vital_interests',
                                      'public_task', 'legitimate_interests']) AS b$$,
                'the legal_basis column accepts the six GDPR bases');

-- an invalid basis is refused when it is set, not when the event is written
SELECT throws_ok($$SET LOCAL audit_chain.legal_basis = 'because'$$, '22023', NULL,
                 'SET LOCAL audit_chain.legal_basis to an unknown basis: 22023');
SELECT throws_ok($$SET LOCAL audit_chain.legal_basis = 'Consent'$$, '22023', NULL,
                 'the basis is case-sensitive, as in the column');
SELECT throws_ok($$SELECT set_config('audit_chain.legal_basis', 'legitimate interests', true)$$, '22023', NULL,
                 'set_config() of an unknown basis: 22023');
SELECT is(current_setting('audit_chain.legal_basis'), 'legitimate_interests',
          'a refused value leaves the setting as it was');
SELECT throws_ok($$SET LOCAL audit_chain.actr = 'x'$$, '42602', NULL,
                 'a misspelt audit_chain.* setting is refused (reserved prefix)');
SET LOCAL audit_chain.legal_basis = '';
SET LOCAL audit_chain.data_subject = '';
SET LOCAL audit_chain.session_id = '';

--
-- CHECK and NOT NULL constraints
--
SELECT throws_ok($$INSERT INTO audit_chain.events (event_type, action) VALUES ('login', 'x')$$,
                 '23514', NULL, 'event_type outside the nine types: 23514');
SELECT throws_ok($$INSERT INTO audit_chain.events (event_type, action) VALUES ('Authentication', 'x')$$,
                 '23514', NULL, 'event_type is case-sensitive: 23514');
SELECT throws_ok($$INSERT INTO audit_chain.events (event_type, action) VALUES ('admin', '')$$,
                 '23514', NULL, 'empty action: 23514');
SELECT throws_ok($$INSERT INTO audit_chain.events (event_type, action, outcome) VALUES ('admin', 'x', 'ok')$$,
                 '23514', NULL, 'outcome outside success/failure/denied/blocked/error: 23514');
SELECT throws_ok($$INSERT INTO audit_chain.events (event_type, action, legal_basis) VALUES ('admin', 'x', 'gdpr')$$,
                 '23514', NULL, 'legal_basis column outside the six bases: 23514');
SELECT throws_ok($$INSERT INTO audit_chain.events (event_type, action, latency_ms) VALUES ('api_request', 'x', -1)$$,
                 '23514', NULL, 'negative latency_ms: 23514');
SELECT throws_ok($$INSERT INTO audit_chain.events (event_type, action, input_tokens) VALUES ('api_request', 'x', -1)$$,
                 '23514', NULL, 'negative input_tokens: 23514');
SELECT throws_ok($$INSERT INTO audit_chain.events (event_type, action, output_tokens) VALUES ('api_request', 'x', -1)$$,
                 '23514', NULL, 'negative output_tokens: 23514');
SELECT throws_ok($$INSERT INTO audit_chain.events (event_type, action, cost) VALUES ('api_request', 'x', -0.01)$$,
                 '23514', NULL, 'negative cost: 23514');
SELECT throws_ok($$INSERT INTO audit_chain.events (event_type, action, input_digest) VALUES ('api_request', 'x', '\x0102')$$,
                 '23514', NULL, 'input_digest that is not 32 bytes: 23514');
SELECT throws_ok($$INSERT INTO audit_chain.events (event_type, action, output_digest)
                   VALUES ('api_request', 'x', sha512('x'::bytea))$$,
                 '23514', NULL, 'output_digest that is not 32 bytes (a SHA-512): 23514');
SELECT throws_ok($$INSERT INTO audit_chain.events (event_type, action) VALUES (NULL, 'x')$$,
                 '23502', NULL, 'event_type is required: 23502');
SELECT throws_ok($$INSERT INTO audit_chain.events (event_type, action) VALUES ('admin', NULL)$$,
                 '23502', NULL, 'action is required: 23502');
WITH i AS (INSERT INTO audit_chain.events (event_type, action, db_role)
           VALUES ('admin', 'x', NULL) RETURNING db_role)
SELECT is((SELECT db_role FROM i), current_user, 'a NULL db_role is replaced by the server''s');
SELECT throws_ok($$INSERT INTO audit_chain.events (event_type, action, phi) VALUES ('admin', 'x', NULL)$$,
                 '23502', NULL, 'phi cannot be NULL: 23502');
SELECT lives_ok($$INSERT INTO audit_chain.events (event_type, action, outcome, latency_ms, input_tokens,
                                                  output_tokens, cost, input_digest, output_digest, resource)
                  SELECT t, 'edge', o, 0, 0, 0, 0, sha256(''::bytea), sha256('x'::bytea), 'tap_events/edges'
                    FROM unnest(ARRAY['authentication', 'api_request', 'data_access', 'admin', 'security',
                                      'error', 'consent', 'disclosure', 'row_change']) AS t,
                         unnest(ARRAY['success', 'failure', 'denied', 'blocked', 'error']) AS o$$,
                'every event type with every outcome, zero counts and 32-byte digests are accepted');
SELECT is((SELECT count(*) FROM audit_chain.events WHERE resource = 'tap_events/edges'), 45::bigint, '9 types x 5 outcomes written');

--
-- digest(): hash-only mode
--
SELECT is(audit_chain.digest('Summarise the discharge letter of patient 42'::text),
          sha256(convert_to('Summarise the discharge letter of patient 42', 'UTF8')),
          'digest(text) is SHA-256 of the UTF-8 text');
SELECT is(audit_chain.digest('Grüße, 東京'::text), sha256('\x4772c3bc c39f652c20e69db1e4baac'::bytea),
          'digest(text) hashes UTF-8 bytes');
SELECT is(audit_chain.digest('{"b": 2, "a": [1, 2]}'::jsonb), sha256(convert_to('{"a": [1, 2], "b": 2}', 'UTF8')),
          'digest(jsonb) hashes the normalised jsonb text');
SELECT is(audit_chain.digest('{"a":[1,2],   "b":2}'::jsonb), audit_chain.digest('{"b": 2, "a": [1, 2]}'::jsonb),
          'digest(jsonb) does not depend on key order or white space');
SELECT is(audit_chain.digest('\xdeadbeef'::bytea), sha256('\xdeadbeef'::bytea), 'digest(bytea) is SHA-256');
SELECT is(length(audit_chain.digest(''::text)), 32, 'digest of an empty text is 32 bytes');
SELECT ok(audit_chain.digest(NULL::text) IS NULL, 'digest(NULL) is NULL');

--
-- log_event()
--
SET LOCAL audit_chain.actor = 'carol@example.com';
SET LOCAL audit_chain.purpose = 'customer-support';
SET LOCAL audit_chain.legal_basis = 'contract';
SET LOCAL audit_chain.data_subject = 'cust-1001';
SET LOCAL audit_chain.session_id = 'sess-77';
SELECT audit_chain.log_event('api_request', 'chat.completion',
           provider => 'openai', model => 'gpt-4o-2024-08-06',
           input_tokens => 812, output_tokens => 204, latency_ms => 1543, cost => 0.004123,
           input_digest => audit_chain.digest('What is my order status?'::text),
           output_digest => audit_chain.digest('{"answer": "shipped"}'::jsonb),
           resource => 'tap_events/log1', client_addr => '203.0.113.7', user_agent => 'python-httpx/0.27.0',
           details => '{"request_id": "req_1"}') AS log1 \gset
SELECT is((tap_events.last_event('tap_events/log1')).event_id, :'log1'::uuid,
          'log_event() returns the event_id of the event it wrote');
SELECT results_eq(
    $$SELECT event_type, action, outcome, provider, model, input_tokens, output_tokens, latency_ms, cost,
             client_addr, user_agent, details
        FROM tap_events.last_event('tap_events/log1')$$,
    $$VALUES ('api_request', 'chat.completion', 'success', 'openai', 'gpt-4o-2024-08-06', 812, 204, 1543,
              0.004123::numeric, '203.0.113.7'::inet, 'python-httpx/0.27.0', '{"request_id": "req_1"}'::jsonb)$$,
    'log_event() named arguments land in their columns');
SELECT results_eq(
    $$SELECT input_digest, output_digest FROM tap_events.last_event('tap_events/log1')$$,
    $$VALUES (sha256(convert_to('What is my order status?', 'UTF8')),
              sha256(convert_to('{"answer": "shipped"}', 'UTF8')))$$,
    'hash-only mode: the prompt and response are stored as their SHA-256 only');
SELECT is((SELECT count(*) FROM audit_chain.events e
            WHERE e.event_id = :'log1' AND strpos(to_jsonb(e)::text, 'order status') > 0), 0::bigint,
          'hash-only mode: the prompt text is nowhere in the event');
SELECT results_eq(
    $$SELECT actor, purpose, legal_basis, data_subject, session_id, db_role::text COLLATE "default", phi
        FROM tap_events.last_event('tap_events/log1')$$,
    $$VALUES ('carol@example.com', 'customer-support', 'contract', 'cust-1001', 'sess-77', current_user::text COLLATE "default", false)$$,
    'log_event() takes who and why from the settings, db_role from current_user, phi false');

SELECT lives_ok($$SELECT audit_chain.log_event(event_type => 'disclosure', action => 'records.sent',
                      actor => 'hie-gateway', purpose => 'treatment', legal_basis => 'vital_interests',
                      data_subject => 'patient-9', data_categories => ARRAY['health', 'identity'],
                      phi => true, disclosure_to => 'St. Elsewhere Hospital',
                      authorization_ref => 'AUTH-2024-118', session_id => 'sess-override',
                      resource => 'tap_events/log2', outcome => 'success',
                      occurred_at => '2024-03-01 10:00:00+00')$$,
                'log_event() with the disclosure arguments');
SELECT results_eq(
    $$SELECT event_type, actor, purpose, legal_basis, data_subject, data_categories, phi, disclosure_to,
             authorization_ref, session_id, occurred_at
        FROM tap_events.last_event('tap_events/log2')$$,
    $$VALUES ('disclosure', 'hie-gateway', 'treatment', 'vital_interests', 'patient-9', ARRAY['health', 'identity'],
              true, 'St. Elsewhere Hospital', 'AUTH-2024-118', 'sess-override', '2024-03-01 10:00:00+00'::timestamptz)$$,
    'log_event() arguments win over the settings; occurred_at can be given');

SELECT lives_ok($$SELECT audit_chain.log_event('security', 'rate_limit', outcome => NULL, phi => NULL,
                                               resource => 'tap_events/log3')$$,
                'log_event() with outcome and phi NULL');
SELECT results_eq(
    $$SELECT outcome, phi, client_addr IS NOT DISTINCT FROM inet_client_addr(),
             occurred_at BETWEEN transaction_timestamp() AND clock_timestamp()
        FROM tap_events.last_event('tap_events/log3')$$,
    $$VALUES ('success', false, true, true)$$,
    'log_event(): NULL outcome is success, NULL phi is false, client_addr and occurred_at default');
SELECT throws_ok($$SELECT audit_chain.log_event('api_request', 'x', input_digest => '\x00'::bytea)$$,
                 '23514', NULL, 'log_event() with a digest that is not 32 bytes: 23514');
SELECT throws_ok($$SELECT audit_chain.log_event('api_request', 'x', outcome => 'fine')$$,
                 '23514', NULL, 'log_event() with an unknown outcome: 23514');
SELECT throws_ok($$SELECT audit_chain.log_event('api_request', 'x', legal_basis => 'because')$$,
                 '23514', NULL, 'log_event() with an unknown legal_basis: 23514');
SELECT throws_ok($$SELECT audit_chain.log_event('api_request', 'x', input_tokens => -5)$$,
                 '23514', NULL, 'log_event() with negative tokens: 23514');
SELECT throws_ok($$SELECT audit_chain.log_event(NULL, 'x')$$,
                 '23502', NULL, 'log_event() without an event_type: 23502');
RESET audit_chain.actor;
RESET audit_chain.purpose;
RESET audit_chain.legal_basis;
RESET audit_chain.data_subject;
RESET audit_chain.session_id;

--
-- track(): row changes of a business table, digests only
--
CREATE TABLE tap_events.patients (
    id      int PRIMARY KEY,
    name    text NOT NULL,
    dob     date,
    notes   text
);
SELECT lives_ok($$SELECT audit_chain.track('tap_events.patients')$$, 'track() a table');
SELECT is((SELECT array_agg(tgname ORDER BY tgname) FROM pg_trigger
            WHERE tgrelid = 'tap_events.patients'::regclass AND NOT tgisinternal),
          ARRAY['zz_audit_chain_track', 'zz_audit_chain_track_truncate']::name[],
          'track() adds the zz_audit_chain_track triggers (rows and TRUNCATE)');

SET LOCAL audit_chain.actor = 'nurse.joy@example.org';
SET LOCAL audit_chain.purpose = 'treatment';
INSERT INTO tap_events.patients VALUES (1, 'Ada Lovelace', '1815-12-10', NULL);
SELECT results_eq(
    $$SELECT event_type, action, outcome, actor, purpose, db_role::text COLLATE "default",
             details->>'table', details->>'operation', details->'key', details->'changed',
             details ? 'old_digest', details ? 'old', details ? 'new'
        FROM tap_events.last_event('tap_events.patients')$$,
    $$VALUES ('row_change', 'insert', 'success', 'nurse.joy@example.org', 'treatment', current_user::text COLLATE "default",
              'tap_events.patients', 'insert', '{"id": "1"}'::jsonb, '["id", "name", "dob"]'::jsonb,
              false, false, false)$$,
    'INSERT: a row_change event with table, operation, key, the non-NULL columns, settings as defaults');
SELECT is((tap_events.last_event('tap_events.patients')).details->>'new_digest',
          encode(sha256(tap_events.term('id', '1') || tap_events.term('name', 'Ada Lovelace')
                        || tap_events.term('dob', '1815-12-10') || tap_events.term('notes', NULL)), 'hex'),
          'INSERT: new_digest is the SHA-256 of the row''s column terms, as hex');
SELECT ok(strpos((tap_events.last_event('tap_events.patients')).details::text, 'Ada') = 0,
          'digests mode: no value of the row is in the event');

UPDATE tap_events.patients SET notes = 'allergic to penicillin' WHERE id = 1;
SELECT results_eq(
    $$SELECT action, details->>'operation', details->'key', details->'changed',
             details->>'old_digest', details->>'new_digest'
        FROM tap_events.last_event('tap_events.patients')$$,
    $$VALUES ('update', 'update', '{"id": "1"}'::jsonb, '["notes"]'::jsonb,
              encode(sha256(tap_events.term('id', '1') || tap_events.term('name', 'Ada Lovelace')
                            || tap_events.term('dob', '1815-12-10')), 'hex'),
              encode(sha256(tap_events.term('id', '1') || tap_events.term('name', 'Ada Lovelace')
                            || tap_events.term('dob', '1815-12-10')
                            || tap_events.term('notes', 'allergic to penicillin')), 'hex'))$$,
    'UPDATE: only the changed column, old and new digests');
SELECT is(tap_events.n_events('tap_events.patients'), 2::bigint, 'two events so far');

UPDATE tap_events.patients SET notes = notes, name = name WHERE id = 1;
SELECT is(tap_events.n_events('tap_events.patients'), 2::bigint, 'a no-op UPDATE is not recorded');
UPDATE tap_events.patients SET notes = 'allergic to penicillin' WHERE id = 1;
SELECT is(tap_events.n_events('tap_events.patients'), 2::bigint, 'an UPDATE to the same value is not recorded');
UPDATE tap_events.patients SET id = id WHERE id = 1;
SELECT is(tap_events.n_events('tap_events.patients'), 2::bigint, 'nor is SET id = id');

INSERT INTO tap_events.patients VALUES (2, 'Alan Turing', '1912-06-23', 'x'), (3, 'Grace Hopper', NULL, NULL);
SELECT is(tap_events.n_events('tap_events.patients'), 4::bigint, 'a two-row INSERT writes two events');
UPDATE tap_events.patients SET dob = '1906-12-09' WHERE id = 3;
SELECT is((tap_events.last_event('tap_events.patients')).details->'changed', '["dob"]'::jsonb,
          'UPDATE from NULL to a value is a change');
UPDATE tap_events.patients SET notes = NULL WHERE id = 2;
SELECT is((tap_events.last_event('tap_events.patients')).details->'changed', '["notes"]'::jsonb,
          'UPDATE from a value to NULL is a change');

DELETE FROM tap_events.patients WHERE id = 1;
SELECT results_eq(
    $$SELECT action, details->'key', details->'changed', details->>'old_digest', details ? 'new_digest'
        FROM tap_events.last_event('tap_events.patients')$$,
    $$VALUES ('delete', '{"id": "1"}'::jsonb, '["id", "name", "dob", "notes"]'::jsonb,
              encode(sha256(tap_events.term('id', '1') || tap_events.term('name', 'Ada Lovelace')
                            || tap_events.term('dob', '1815-12-10')
                            || tap_events.term('notes', 'allergic to penicillin')), 'hex'),
              false)$$,
    'DELETE: key and old_digest of the deleted row, no new_digest');
SELECT is((SELECT details->>'old_digest' FROM tap_events.last_event('tap_events.patients')),
          (SELECT details->>'new_digest' FROM audit_chain.events
            WHERE resource = 'tap_events.patients' AND details->'key' = '{"id": "1"}' AND action = 'update'
            ORDER BY chain_seq DESC LIMIT 1),
          'the DELETE''s old_digest is the last UPDATE''s new_digest');

SELECT throws_ok($$SELECT audit_chain.track('tap_events.patients')$$, '42710', NULL,
                 'track() twice: 42710');
SELECT lives_ok($$SELECT audit_chain.untrack('tap_events.patients')$$, 'untrack()');
DELETE FROM tap_events.patients WHERE id = 2;
SELECT is(tap_events.n_events('tap_events.patients'), 7::bigint, 'after untrack() changes are not recorded');
SELECT throws_ok($$SELECT audit_chain.untrack('tap_events.patients')$$, '55000', NULL,
                 'untrack() of a table that is not tracked: 55000');

--
-- track() with a column list
--
SELECT lives_ok($$SELECT audit_chain.track('tap_events.patients', ARRAY['name', 'dob'])$$,
                'track() only name and dob');
INSERT INTO tap_events.patients VALUES (10, 'Edsger Dijkstra', NULL, 'secret note');
SELECT results_eq(
    $$SELECT action, details->'key', details->'changed', details->>'new_digest'
        FROM tap_events.last_event('tap_events.patients')$$,
    $$VALUES ('insert', '{"id": "10"}'::jsonb, '["name"]'::jsonb,
              encode(sha256(tap_events.term('name', 'Edsger Dijkstra')), 'hex'))$$,
    'INSERT: only the listed columns are in changed and in the digest; the key is still there');
UPDATE tap_events.patients SET notes = 'another note' WHERE id = 10;
SELECT is(tap_events.n_events('tap_events.patients'), 8::bigint,
          'an UPDATE of a column that is not tracked is not recorded');
UPDATE tap_events.patients SET dob = '1930-05-11', notes = 'third note' WHERE id = 10;
SELECT is((tap_events.last_event('tap_events.patients')).details->'changed', '["dob"]'::jsonb,
          'an UPDATE of tracked and untracked columns lists the tracked ones');
SELECT lives_ok($$SELECT audit_chain.untrack('tap_events.patients')$$, 'untrack() again');

SELECT throws_ok($$SELECT audit_chain.track('tap_events.patients', ARRAY['name', 'ssn'])$$, '42703', NULL,
                 'track() of a column the table does not have: 42703');
SELECT throws_ok($$SELECT audit_chain.track('tap_events.patients', ARRAY[]::text[])$$, '22023', NULL,
                 'track() with an empty column list: 22023');
SELECT throws_ok($$SELECT audit_chain.track('audit_chain.events')$$, '42501', NULL,
                 'track() of the event table itself is refused');
CREATE VIEW tap_events.patient_names AS SELECT id, name FROM tap_events.patients;
SELECT throws_ok($$SELECT audit_chain.track('tap_events.patient_names')$$, '42809', NULL,
                 'track() of a view: 42809');

--
-- track() with values
--
SELECT lives_ok($$SELECT audit_chain.track('tap_events.patients', with_values => true)$$,
                'track() with_values');
INSERT INTO tap_events.patients VALUES (20, 'Barbara Liskov', '1939-11-07', NULL);
SELECT results_eq(
    $$SELECT details->'new', details ? 'old', details->'changed'
        FROM tap_events.last_event('tap_events.patients')$$,
    $$VALUES ('{"id": "20", "name": "Barbara Liskov", "dob": "1939-11-07", "notes": null}'::jsonb, false,
              '["id", "name", "dob"]'::jsonb)$$,
    'with_values INSERT: new holds every column as text (NULL as null)');
UPDATE tap_events.patients SET name = 'B. Liskov', notes = 'Turing award' WHERE id = 20;
SELECT results_eq(
    $$SELECT details->'old', details->'new', details->'changed'
        FROM tap_events.last_event('tap_events.patients')$$,
    $$VALUES ('{"name": "Barbara Liskov", "notes": null}'::jsonb, '{"name": "B. Liskov", "notes": "Turing award"}'::jsonb,
              '["name", "notes"]'::jsonb)$$,
    'with_values UPDATE: old and new hold the changed columns only');
SELECT ok((tap_events.last_event('tap_events.patients')).details ?& ARRAY['old_digest', 'new_digest'],
          'with_values keeps the digests too');
DELETE FROM tap_events.patients WHERE id = 20;
SELECT results_eq(
    $$SELECT details->'old', details ? 'new' FROM tap_events.last_event('tap_events.patients')$$,
    $$VALUES ('{"id": "20", "name": "B. Liskov", "dob": "1939-11-07", "notes": "Turing award"}'::jsonb, false)$$,
    'with_values DELETE: old holds the whole row');
SELECT lives_ok($$SELECT audit_chain.untrack('tap_events.patients')$$, 'untrack() once more');

-- column list and values; a table with a composite key, odd names and types
CREATE TABLE tap_events."Visits" (
    patient_id  int,
    visit_at    timestamptz,
    "Ward"      text,
    charge      numeric(8, 2),
    PRIMARY KEY (patient_id, visit_at)
);
SELECT lives_ok($$SELECT audit_chain.track('tap_events."Visits"', ARRAY['Ward', 'charge'], true)$$,
                'track() a column list with values');
SET LOCAL timezone = 'America/New_York';
INSERT INTO tap_events."Visits" VALUES (3, '2024-05-01 09:30:00+02', 'ICU "B"', 12.5);
SELECT results_eq(
    $$SELECT resource, details->>'table', details->'key', details->'new', details->'changed'
        FROM audit_chain.events WHERE resource = 'tap_events."Visits"' AND event_type = 'row_change'
       ORDER BY chain_seq DESC LIMIT 1$$,
    $$VALUES ('tap_events."Visits"', 'tap_events."Visits"',
              '{"patient_id": "3", "visit_at": "2024-05-01 07:30:00+00"}'::jsonb,
              '{"Ward": "ICU \"B\"", "charge": "12.50"}'::jsonb, '["Ward", "charge"]'::jsonb)$$,
    'a quoted table name, a composite key in UTC, values of the listed columns only');
UPDATE tap_events."Visits" SET charge = 12.50;
SELECT is((SELECT count(*) FROM audit_chain.events WHERE resource = 'tap_events."Visits"' AND event_type = 'row_change'), 1::bigint,
          'numeric 12.5 to 12.50 of a numeric(8,2) is a no-op update');
UPDATE tap_events."Visits" SET charge = 99, visit_at = visit_at + interval '1 hour';
SELECT results_eq(
    $$SELECT details->'old', details->'new', details->'changed', details->'key'
        FROM audit_chain.events WHERE resource = 'tap_events."Visits"' AND event_type = 'row_change'
       ORDER BY chain_seq DESC LIMIT 1$$,
    $$VALUES ('{"charge": "12.50"}'::jsonb, '{"charge": "99.00"}'::jsonb, '["charge"]'::jsonb,
              '{"patient_id": "3", "visit_at": "2024-05-01 08:30:00+00"}'::jsonb)$$,
    'UPDATE of a tracked and an untracked key column: only the tracked change, the new key');
RESET timezone;

--
-- A role with no privilege on audit_chain.events still gets its changes
-- recorded, as itself
--
CREATE ROLE tap_ev_clerk NOLOGIN;
GRANT SELECT, INSERT, UPDATE, DELETE ON tap_events.patients TO tap_ev_clerk;
SELECT ok(NOT has_table_privilege('tap_ev_clerk', 'audit_chain.events', 'INSERT'),
          'the clerk may not INSERT into audit_chain.events');
SELECT lives_ok($$SELECT audit_chain.track('tap_events.patients')$$, 'track() the table again');
SET LOCAL audit_chain.actor = 'clerk-17';
SET LOCAL ROLE tap_ev_clerk;
SELECT throws_ok($$INSERT INTO audit_chain.events (event_type, action) VALUES ('admin', 'forged')$$,
                 '42501', NULL, 'the clerk cannot write events directly');
SELECT throws_ok($$SELECT audit_chain.log_event('admin', 'forged')$$,
                 '42501', NULL, 'nor through log_event()');
SELECT lives_ok($$INSERT INTO tap_events.patients VALUES (30, 'Katherine Johnson', '1918-08-26', NULL)$$,
                'the clerk inserts into the tracked table');
SELECT lives_ok($$UPDATE tap_events.patients SET notes = 'NASA' WHERE id = 30$$,
                'the clerk updates it');
SELECT lives_ok($$DELETE FROM tap_events.patients WHERE id = 30$$, 'the clerk deletes from it');
RESET ROLE;
SELECT results_eq(
    $$SELECT action, db_role::text COLLATE "default", actor FROM audit_chain.events
       WHERE resource = 'tap_events.patients' AND details->'key' = '{"id": "30"}'
       ORDER BY chain_seq$$,
    $$VALUES ('insert', 'tap_ev_clerk', 'clerk-17'), ('update', 'tap_ev_clerk', 'clerk-17'),
             ('delete', 'tap_ev_clerk', 'clerk-17')$$,
    'each change is recorded with the clerk as db_role and the actor setting');
SELECT lives_ok($$SELECT audit_chain.untrack('tap_events.patients')$$, 'untrack() at the end');
RESET audit_chain.actor;

--
-- A writer with exactly the grants the README gives one: INSERT on the event
-- table and EXECUTE on log_event().  It writes both ways, reads nothing, and
-- cannot track() a table (owner-only, not granted).
--
CREATE ROLE tap_ev_writer NOLOGIN;
GRANT INSERT ON audit_chain.events TO tap_ev_writer;
GRANT EXECUTE ON FUNCTION audit_chain.log_event(text, text, text, text, text, text, text, integer,
    integer, integer, numeric, bytea, bytea, text, text, text, text, text[], boolean, text,
    text, text, inet, text, jsonb, timestamptz, text, text, text, text[], text, text) TO tap_ev_writer;
SET LOCAL ROLE tap_ev_writer;
SELECT lives_ok($$SELECT audit_chain.log_event('api_request', 'writer log_event', resource => 'tap_events/writer')$$,
                'the writer calls log_event()');
SELECT lives_ok($$INSERT INTO audit_chain.events (event_type, action, resource)
                  VALUES ('api_request', 'writer insert', 'tap_events/writer')$$,
                'the writer inserts');
SELECT throws_ok($$SELECT count(*) FROM audit_chain.events$$, '42501',
                 'permission denied for table events', 'the writer cannot read events: 42501');
SELECT throws_ok($$SELECT audit_chain.track('tap_events.patients')$$, '42501', NULL,
                 'the writer cannot track(): 42501');
RESET ROLE;
SELECT results_eq(
    $$SELECT action, db_role::text COLLATE "default" FROM audit_chain.events
       WHERE resource = 'tap_events/writer' ORDER BY chain_seq$$,
    $$VALUES ('writer log_event', 'tap_ev_writer'), ('writer insert', 'tap_ev_writer')$$,
    'both events are written, as the writer');

--
-- Known gaps of track(), as TODO tests (they pass the suite while failing;
-- pg_prove says "unexpectedly succeeded" once they are fixed)
--
-- A partitioned table: rows land in partitions, and the trigger track()
-- puts on the parent fires on each partition, which names itself.
CREATE TABLE tap_events.admissions (id int, ward text, PRIMARY KEY (id, ward)) PARTITION BY LIST (ward);
CREATE TABLE tap_events.admissions_icu PARTITION OF tap_events.admissions FOR VALUES IN ('icu');
SELECT audit_chain.track('tap_events.admissions');
INSERT INTO tap_events.admissions VALUES (1, 'icu');
SELECT is((SELECT count(*) FROM audit_chain.events WHERE resource LIKE 'tap_events.admissions%'
              AND event_type = 'row_change'), 1::bigint,
          'a change of a partitioned table is recorded once');
SELECT is((SELECT resource FROM audit_chain.events WHERE resource LIKE 'tap_events.admissions%'
              AND event_type = 'row_change'), 'tap_events.admissions',
          'a change of a partitioned table names the tracked table as its resource');
SELECT audit_chain.untrack('tap_events.admissions');

--
-- TRUNCATE of one partition of a tracked partitioned table (issue 10, item
-- 5): statement triggers are not cloned to partitions, so track() puts its
-- truncate trigger on every leaf partition, and the event trigger ddl_log on
-- every partition made or attached later.  Each emptied leaf is one event,
-- naming the tracked table and the partition; a detached partition is no
-- longer recorded; untrack() removes every one of these triggers.
--
CREATE TABLE tap_events.wards (id int, ward text, PRIMARY KEY (id, ward)) PARTITION BY LIST (ward);
CREATE TABLE tap_events.wards_icu PARTITION OF tap_events.wards FOR VALUES IN ('icu');
CREATE TABLE tap_events.wards_er PARTITION OF tap_events.wards FOR VALUES IN ('er', 'er2')
    PARTITION BY LIST (ward);
CREATE TABLE tap_events.wards_er1 PARTITION OF tap_events.wards_er FOR VALUES IN ('er');
SELECT audit_chain.track('tap_events.wards');
-- later: a partition made, a sub-partition made, a table attached
CREATE TABLE tap_events.wards_ped PARTITION OF tap_events.wards FOR VALUES IN ('ped');
CREATE TABLE tap_events.wards_er2 PARTITION OF tap_events.wards_er FOR VALUES IN ('er2');
CREATE TABLE tap_events.wards_onc (id int NOT NULL, ward text NOT NULL);
ALTER TABLE tap_events.wards ATTACH PARTITION tap_events.wards_onc FOR VALUES IN ('onc');
SELECT set_eq(
    $$SELECT tgrelid::regclass::text FROM pg_trigger WHERE tgname = 'zz_audit_chain_track_truncate'
         AND tgrelid::regclass::text LIKE 'tap_events.wards%'$$,
    ARRAY['tap_events.wards_icu', 'tap_events.wards_er1', 'tap_events.wards_ped',
          'tap_events.wards_er2', 'tap_events.wards_onc'],
    'every leaf partition, made before or after track() or attached, has the truncate trigger');
INSERT INTO tap_events.wards VALUES (1, 'icu'), (2, 'er'), (3, 'ped'), (4, 'er2'), (5, 'onc');
CREATE FUNCTION tap_events.truncates() RETURNS SETOF text LANGUAGE sql AS $$
    SELECT details->>'partition' FROM audit_chain.events
     WHERE event_type = 'row_change' AND action = 'truncate' AND resource = 'tap_events.wards'
     ORDER BY chain_seq
$$;
TRUNCATE tap_events.wards_icu;
SELECT results_eq($$SELECT * FROM tap_events.truncates()$$,
                  ARRAY['tap_events.wards_icu'],
                  'TRUNCATE of one partition: one event, naming the tracked table and the partition');
TRUNCATE tap_events.wards_onc, tap_events.wards_ped;
SELECT is((SELECT count(*) FROM tap_events.truncates() AS p
            WHERE p IN ('tap_events.wards_onc', 'tap_events.wards_ped')), 2::bigint,
          'TRUNCATE of an attached and of a later partition: recorded');
TRUNCATE tap_events.wards_er;
SELECT is((SELECT count(*) FROM tap_events.truncates() AS p
            WHERE p IN ('tap_events.wards_er1', 'tap_events.wards_er2')), 2::bigint,
          'TRUNCATE of a sub-partitioned partition: one event per leaf it empties');
SELECT is((SELECT count(*) FROM audit_chain.events
            WHERE event_type = 'row_change' AND action = 'truncate'
              AND resource LIKE 'tap_events.wards_%'), 0::bigint,
          'no truncate event names a partition as the tracked table');
ALTER TABLE tap_events.wards DETACH PARTITION tap_events.wards_onc;
TRUNCATE tap_events.wards_onc;
SELECT is((SELECT count(*) FROM tap_events.truncates() AS p WHERE p = 'tap_events.wards_onc'), 1::bigint,
          'a detached partition is no longer recorded');
SELECT lives_ok($$SELECT audit_chain.untrack('tap_events.wards')$$, 'untrack() the partitioned table');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'zz_audit_chain_track%'
              AND tgrelid::regclass::text LIKE 'tap_events.wards%'
              AND tgrelid <> 'tap_events.wards_onc'::regclass), 0::bigint,
          'untrack() removes the truncate trigger of every partition');

-- A tracked column renamed: the trigger keeps the old name in its arguments,
-- so the column is silently no longer tracked.  (Refusing the rename would
-- be a fix too: then the old name is updated.)
CREATE TABLE tap_events.rooms (id int PRIMARY KEY, label text, floor int);
SELECT audit_chain.track('tap_events.rooms', ARRAY['label']);
DO $$
BEGIN
    ALTER TABLE tap_events.rooms RENAME COLUMN label TO room_label;
EXCEPTION WHEN others THEN
    NULL;
END
$$;
INSERT INTO tap_events.rooms VALUES (1, 'A-101', 1);
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'tap_events.rooms'::regclass
                  AND attname = 'room_label') THEN
        UPDATE tap_events.rooms SET room_label = 'A-102';
    ELSE
        UPDATE tap_events.rooms SET label = 'A-102';
    END IF;
END
$$;
SELECT is(tap_events.n_events('tap_events.rooms'), 2::bigint,
          'a renamed tracked column is still tracked (or the rename is refused)');
SELECT audit_chain.untrack('tap_events.rooms');

-- TRUNCATE removes every row of a tracked table without a row_change event.
-- (Refusing TRUNCATE of a tracked table would be a fix too.)
SELECT audit_chain.track('tap_events.rooms');
DO $$
BEGIN
    TRUNCATE tap_events.rooms;
EXCEPTION WHEN others THEN
    PERFORM set_config('tap_events.truncate_refused', 'yes', true);
END
$$;
SELECT ok(EXISTS (SELECT 1 FROM audit_chain.events WHERE resource = 'tap_events.rooms'
                     AND event_type = 'row_change' AND action = 'truncate')
          OR coalesce(current_setting('tap_events.truncate_refused', true), '') = 'yes',
          'TRUNCATE of a tracked table is recorded (or refused)');
SELECT audit_chain.untrack('tap_events.rooms');

--
-- Events cannot be changed or removed, not even by a superuser
--
SELECT throws_ok(format($$UPDATE audit_chain.events SET action = 'tampered' WHERE event_id = %L$$, :'log1'),
                 '0A000', NULL, 'UPDATE of an event: 0A000');
SELECT throws_ok($$UPDATE audit_chain.events SET outcome = 'failure' WHERE resource = 'tap_events.patients'$$,
                 '0A000', NULL, 'UPDATE of row_change events: 0A000');
SELECT throws_ok(format($$DELETE FROM audit_chain.events WHERE event_id = %L$$, :'log1'),
                 '0A000', NULL, 'DELETE of an event: 0A000');
SELECT throws_ok($$TRUNCATE audit_chain.events$$, '0A000', NULL, 'TRUNCATE of the event table: 0A000');
SELECT throws_ok($$INSERT INTO audit_chain.events (event_id, event_type, action)
                   VALUES ($$ || quote_literal(:'log1') || $$, 'admin', 'replay')$$,
                 '23505', NULL, 'an event_id cannot be reused (primary key)');
SELECT is((SELECT action FROM audit_chain.events WHERE event_id = :'log1'), 'chat.completion',
          'the event is unchanged');

--
-- The chain is intact after all of it
--
SELECT ok(EXISTS (SELECT 1 FROM audit_chain.events WHERE resource LIKE 'tap_events%'), 'events were written');
SELECT results_eq(
    $$SELECT bool_and(intact), count(*) FILTER (WHERE lane IS NULL), sum(rows_checked) >= (SELECT count(*) FROM audit_chain.events)
        FROM audit_chain.verify_chain('audit_chain.events')$$,
    $$VALUES (true, 0::bigint, true)$$,
    'verify_chain(''audit_chain.events''): every lane intact, no stray rows');
SELECT is((SELECT count(*) FROM audit_chain.events
            WHERE chain_hash <> audit_chain.row_hash('audit_chain.events', chain_lane, chain_seq)), 0::bigint,
          'every event''s chain_hash matches row_hash()');

SELECT * FROM finish();
ROLLBACK;
