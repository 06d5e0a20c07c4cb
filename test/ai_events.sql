-- Requests and traces, consent, safety and masking at collection on
-- audit_chain.events (issue 14): the settings audit_chain.request_id,
-- trace_id, traceparent and their defaults in INSERT and log_event(), the
-- trigger zz_audit_chain_mask (its place before the seal, masking at any
-- depth, case-insensitive, idempotent, NULLs kept, digests a reader can
-- recompute with audit_chain.digest(jsonb)), record_consent(), and the
-- rows of the chain verifying after all of it.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;
SELECT plan(35);

-- the trigger order: set_event_facts, mask_event, then the seal, last
SELECT is(array_agg(tgname::text ORDER BY tgname),
          '{zz_audit_chain_facts,zz_audit_chain_mask,zz_audit_chain_seal}',
          'BEFORE ROW INSERT triggers of events in firing order: facts, mask, seal')
  FROM pg_trigger WHERE tgrelid = 'audit_chain.events'::regclass AND NOT tgisinternal
   AND tgtype & 2 = 2 AND tgtype & 4 = 4 AND tgtype & 1 = 1;
SELECT is((SELECT context FROM pg_settings WHERE name = 'audit_chain.hash_detail_keys'), 'superuser',
          'audit_chain.hash_detail_keys is PGC_SUSET');
SELECT is((SELECT context FROM pg_settings WHERE name = 'audit_chain.traceparent'), 'user',
          'audit_chain.traceparent is a user setting, like the actor');
SELECT has_index('audit_chain', 'events', 'events_request_idx', 'request_id is indexed');
SELECT has_index('audit_chain', 'events', 'events_trace_idx', 'trace_id is indexed');

-- 1. ids from the settings, in INSERT and log_event() alike
CREATE TEMP TABLE ids (k text, request_id text, trace_id text, span_id text);
SET LOCAL audit_chain.request_id = 'tap-req-1';
SET LOCAL audit_chain.traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
WITH e AS (INSERT INTO audit_chain.events (event_type, action) VALUES ('api_request', 'tap insert')
           RETURNING request_id, trace_id, span_id)
INSERT INTO ids SELECT 'insert', * FROM e;
SELECT audit_chain.log_event('api_request', 'tap log_event');
INSERT INTO ids SELECT 'log_event', request_id, trace_id, span_id FROM audit_chain.events WHERE action = 'tap log_event';
SELECT results_eq($$SELECT k, request_id, trace_id, span_id FROM ids ORDER BY k$$,
    $$VALUES ('insert', 'tap-req-1', '0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331'),
             ('log_event', 'tap-req-1', '0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331')$$,
    'request_id, trace_id and span_id default from the settings (traceparent split)');
SET LOCAL audit_chain.trace_id = '4bf92f3577b34da6a3ce929d0e0e4736';
SELECT audit_chain.log_event('api_request', 'tap trace_id wins') AS id1 \gset
SELECT is((SELECT trace_id FROM audit_chain.events
            WHERE event_id = :'id1'),
          '4bf92f3577b34da6a3ce929d0e0e4736', 'audit_chain.trace_id wins over the traceparent''s trace-id');
INSERT INTO audit_chain.events (event_type, action) VALUES ('api_request', 'tap trace_id wins insert');
SELECT is((SELECT ROW(trace_id, span_id)::text FROM audit_chain.events WHERE action IN ('tap trace_id wins', 'tap trace_id wins insert')
            GROUP BY 1), '(4bf92f3577b34da6a3ce929d0e0e4736,)',
          'and then the traceparent''s span is not taken, in INSERT and log_event() alike');
SELECT audit_chain.log_event('api_request', 'tap args', request_id => 'tap-req-2',
                                                   trace_id => 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa') AS id2 \gset
SELECT is((SELECT ROW(request_id, trace_id, span_id)::text FROM audit_chain.events
            WHERE event_id = :'id2'),
          '(tap-req-2,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,)',
          'log_event() arguments win; a trace id given there does not take the setting''s span');
RESET audit_chain.trace_id;
RESET audit_chain.traceparent;
RESET audit_chain.request_id;
SELECT audit_chain.log_event('api_request', 'tap no ids') AS id3 \gset
SELECT is((SELECT ROW(request_id, trace_id, span_id)::text FROM audit_chain.events
            WHERE event_id = :'id3'),
          '(,,)', 'no settings, no ids');
SELECT is((SELECT count(*)::int FROM audit_chain.request_timeline('tap-req-1')), 4,
          'request_timeline() finds the request''s events');
SELECT is((SELECT count(*)::int FROM audit_chain.request_timeline('0af7651916cd43dd8448eb211c80319c')), 2,
          'and the trace''s');

-- 2. malformed ids: 22023 with the format in the hint
SELECT throws_ok($$SET LOCAL audit_chain.traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331'$$,
                 '22023', 'invalid value for parameter "audit_chain.traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331"',
                 'a traceparent without flags');
SELECT throws_ok($$SET LOCAL audit_chain.traceparent = '00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01'$$,
                 '22023', NULL, 'a traceparent in upper case');
SELECT throws_ok($$SET LOCAL audit_chain.trace_id = '0af7651916cd43dd8448eb211c80319'$$,
                 '22023', 'invalid value for parameter "audit_chain.trace_id": "0af7651916cd43dd8448eb211c80319"',
                 'a trace id of 31 digits');
SELECT throws_ok($$INSERT INTO audit_chain.events (event_type, action, trace_id) VALUES ('api_request', 'x', 'g0000000000000000000000000000000')$$,
                 '22023', 'invalid trace id "g0000000000000000000000000000000"', 'INSERT of a bad trace id');
SELECT throws_ok($$INSERT INTO audit_chain.events (event_type, action, trace_id, span_id)
                   VALUES ('api_request', 'x', '0af7651916cd43dd8448eb211c80319c', '0000000000000000')$$,
                 '22023', 'invalid span id "0000000000000000"', 'INSERT of a zero span id');
DO $$
BEGIN
    INSERT INTO audit_chain.events (event_type, action, trace_id) VALUES ('api_request', 'x', 'nope');
EXCEPTION WHEN invalid_parameter_value THEN
    DECLARE h text;
    BEGIN
        GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
        PERFORM set_config('tap.hint', h, true);
    END;
END $$;
SELECT matches(current_setting('tap.hint'), '4bf92f3577b34da6a3ce929d0e0e4736',
               'the hint shows a trace id''s format');

-- 3. masking at collection
SET LOCAL audit_chain.hash_detail_keys = 'prompt, Email, "user name"';
SELECT is(current_setting('audit_chain.hash_detail_keys'), 'prompt, Email, "user name"', 'the setting takes a list');
INSERT INTO audit_chain.events (event_type, action, details) VALUES ('api_request', 'tap mask insert',
    '{"prompt": "my card is 4111", "EMAIL": "a@b.example", "user name": "Ann", "keep": "visible",
      "messages": [{"role": "user", "prompt": "hello"}, "prompt"], "nested": {"deeper": {"email": {"x": [1, 2]}}},
      "n": null, "tokens": 12}');
SELECT audit_chain.log_event('api_request', 'tap mask log_event', details => '{"prompt": "my card is 4111"}');
SELECT is((SELECT details FROM audit_chain.events WHERE action = 'tap mask insert'),
    jsonb_build_object(
        'prompt', 'sha256:' || encode(audit_chain.digest('"my card is 4111"'::jsonb), 'hex'),
        'EMAIL', 'sha256:' || encode(audit_chain.digest('"a@b.example"'::jsonb), 'hex'),
        'user name', 'sha256:' || encode(audit_chain.digest('"Ann"'::jsonb), 'hex'),
        'keep', 'visible',
        'messages', jsonb_build_array(jsonb_build_object('role', 'user',
                        'prompt', 'sha256:' || encode(audit_chain.digest('"hello"'::jsonb), 'hex')), 'prompt'),
        'nested', jsonb_build_object('deeper', jsonb_build_object(
                        'email', 'sha256:' || encode(audit_chain.digest('{"x": [1, 2]}'::jsonb), 'hex'))),
        'n', NULL, 'tokens', 12),
    'INSERT: listed keys masked at any depth, ignoring case, objects whole, a string element and other keys kept, null kept');
SELECT is((SELECT details->>'prompt' FROM audit_chain.events WHERE action = 'tap mask log_event'),
          'sha256:' || encode(audit_chain.digest('"my card is 4111"'::jsonb), 'hex'),
          'log_event(): masked the same way');
SELECT is((SELECT count(*)::int FROM audit_chain.events WHERE details::text LIKE '%4111%' OR details::text LIKE '%a@b.example%'), 0,
          'the clear values are nowhere in the table');
INSERT INTO audit_chain.events (event_type, action, details)
SELECT 'api_request', 'tap mask again', details FROM audit_chain.events WHERE action = 'tap mask insert';
SELECT is((SELECT details FROM audit_chain.events WHERE action = 'tap mask again'),
          (SELECT details FROM audit_chain.events WHERE action = 'tap mask insert'),
          'masking is idempotent: a digest is not hashed again');
SELECT audit_chain.log_event('api_request', 'tap scalar', details => '"prompt"') AS id4 \gset
SELECT is((SELECT details FROM audit_chain.events
            WHERE event_id = :'id4'),
          '"prompt"'::jsonb, 'a scalar details is left as it is');
SELECT audit_chain.log_event('api_request', 'tap array', details => '[{"prompt": 1}]') AS id5 \gset
SELECT is((SELECT details FROM audit_chain.events
            WHERE event_id = :'id5'),
          jsonb_build_array(jsonb_build_object('prompt', 'sha256:' || encode(audit_chain.digest('1'::jsonb), 'hex'))),
          'objects in a top-level array are masked');
SET LOCAL audit_chain.hash_detail_keys = '';
SELECT audit_chain.log_event('api_request', 'tap off', details => '{"prompt": "hi"}') AS id6 \gset
SELECT is((SELECT details->>'prompt' FROM audit_chain.events
            WHERE event_id = :'id6'),
          'hi', 'an empty list masks nothing');
SET LOCAL audit_chain.hash_detail_keys = 'prompt';

SET LOCAL audit_chain.hash_detail_keys = 'keep';
SELECT is((SELECT details->>'keep' FROM audit_chain.events WHERE action = 'tap mask insert'), 'visible',
          'rows written before the setting changed keep their values');
SET LOCAL audit_chain.hash_detail_keys = 'prompt';

-- 4. consent records
SELECT isnt(audit_chain.record_consent('tap-subj', 'tap-c1', true, 'tap purpose'), NULL, 'record_consent() returns the event id');
SELECT audit_chain.record_consent('tap-subj', 'tap-c1', false) AS id7 \gset
SELECT is((SELECT ROW(event_type, action, consent_id, data_subject, purpose)::text FROM audit_chain.events
            WHERE event_id = :'id7'),
          '(consent,consent_withdrawn,tap-c1,tap-subj,)', 'a withdrawal: event_type consent, action consent_withdrawn');
SELECT throws_ok($$SELECT audit_chain.record_consent('', 'c', true)$$, '22023',
                 'a consent record needs a data subject', 'record_consent() without a subject');
SELECT throws_ok($$SELECT audit_chain.record_consent('s', NULL, true)$$, '22023',
                 'a consent record needs a consent id', 'record_consent() without a consent id');
SELECT throws_ok($$SELECT audit_chain.log_event('consent', 'consent_given', data_subject => 's')$$, '23514',
                 'new row for relation "events" violates check constraint "events_consent_record_check"',
                 'log_event() of consent given without a consent id');
SELECT throws_ok($$INSERT INTO audit_chain.events (event_type, action, consent_id) VALUES ('consent', 'consent_withdrawn', 'c')$$, '23514',
                 'new row for relation "events" violates check constraint "events_consent_record_check"',
                 'INSERT of a withdrawal without a subject');
SELECT audit_chain.log_event('api_request', 'tap after', data_subject => 'tap-subj',
                                                   consent_id => 'tap-c1', occurred_at => now() + interval '1 second') AS id8 \gset
SELECT is((SELECT issue FROM audit_chain.gdpr_consent_violations
            WHERE event_id = :'id8'),
          'withdrawn', 'processing after the withdrawal is reported');

-- 5. after all of it the chain verifies
SELECT is((SELECT bool_and(intact) FROM audit_chain.verify_chain('audit_chain.events')), true,
          'the events chain verifies');

SELECT * FROM finish();
ROLLBACK;
