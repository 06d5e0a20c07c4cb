\set VERBOSITY terse
-- Requests and traces, consent and safety on audit_chain.events (issue 14):
-- a fixed data set of an AI API proxy, March 2026, and every report's output.

-- two requests of one conversation (one trace), written with the settings
BEGIN;
SET LOCAL audit_chain.actor = 'ai-app';
SET LOCAL audit_chain.request_id = 'ai-req-1';
SET LOCAL audit_chain.traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
INSERT INTO audit_chain.events (occurred_at, event_type, action, data_subject, consent_id, model)
VALUES ('2026-03-02 10:00:00+00', 'api_request', 'request received', 'ai-subj-1', 'ai-c1', NULL),
       ('2026-03-02 10:00:00.250+00', 'api_request', 'model called', 'ai-subj-1', 'ai-c1', 'ai-model-a');
-- two steps in one statement: same occurred_at, kept in the order written
INSERT INTO audit_chain.events (occurred_at, event_type, action, model, safety_detectors)
VALUES ('2026-03-02 10:00:01+00', 'api_request', 'tool called', 'ai-model-a', NULL),
       ('2026-03-02 10:00:01+00', 'api_request', 'safety check', 'ai-model-a', '{}');
SELECT audit_chain.log_event('api_request', 'response sent', model => 'ai-model-a',
                             latency_ms => 1800, occurred_at => '2026-03-02 10:00:01.800+00') IS NOT NULL AS logged;
COMMIT;
BEGIN;
SET LOCAL audit_chain.actor = 'ai-app';
SET LOCAL audit_chain.request_id = 'ai-req-2';
SET LOCAL audit_chain.trace_id = '4bf92f3577b34da6a3ce929d0e0e4736';
SELECT audit_chain.log_event('api_request', 'request received', occurred_at => '2026-03-02 10:05:00+00') IS NOT NULL AS logged;
SELECT audit_chain.log_event('api_request', 'safety check', outcome => 'blocked', model => 'ai-model-a',
                             safety_detectors => '{pii,prompt_injection}', safety_reason => 'email address in prompt',
                             span_id => 'b7ad6b7169203331', trace_id => '4bf92f3577b34da6a3ce929d0e0e4736',
                             occurred_at => '2026-03-02 10:05:00.100+00') IS NOT NULL AS logged;
COMMIT;

SELECT step, occurred_at, since_first, action, outcome, actor, request_id, span_id, model,
       safety_detectors, safety_reason
  FROM audit_chain.request_timeline('ai-req-1');
-- the conversation: both requests, by trace id
SELECT step, since_first, request_id, action, outcome, span_id
  FROM audit_chain.request_timeline('4bf92f3577b34da6a3ce929d0e0e4736');
SELECT count(*) FROM audit_chain.request_timeline('ai-no-such-request');

-- consent: given, withdrawn, given again; processing in each state
SELECT audit_chain.record_consent('ai-subj-1', 'ai-c1', true, 'support chat',
                                  occurred_at => '2026-03-01 09:00+00') IS NOT NULL AS recorded;
SELECT audit_chain.record_consent('ai-subj-1', 'ai-c1', false, occurred_at => '2026-03-03 09:00+00') IS NOT NULL AS recorded;
SELECT audit_chain.record_consent('ai-subj-1', 'ai-c1', true, occurred_at => '2026-03-05 09:00+00') IS NOT NULL AS recorded;
SELECT audit_chain.record_consent('ai-subj-2', 'ai-c2', true, occurred_at => '2026-03-04 09:00+00') IS NOT NULL AS recorded;
INSERT INTO audit_chain.events (occurred_at, event_type, action, outcome, data_subject, consent_id, purpose, legal_basis)
VALUES ('2026-03-03 08:59+00', 'api_request', 'chat', 'success', 'ai-subj-1', 'ai-c1', 'support chat', 'consent'),
       ('2026-03-03 09:00+00', 'api_request', 'chat at the withdrawal', 'success', 'ai-subj-1', 'ai-c1', 'support chat', 'consent'),
       ('2026-03-04 12:00+00', 'api_request', 'chat after withdrawal', 'success', 'ai-subj-1', 'ai-c1', 'support chat', 'consent'),
       ('2026-03-04 12:01+00', 'api_request', 'refused after withdrawal', 'denied', 'ai-subj-1', 'ai-c1', 'support chat', 'consent'),
       ('2026-03-06 12:00+00', 'api_request', 'chat after consent again', 'success', 'ai-subj-1', 'ai-c1', 'support chat', 'consent'),
       ('2026-03-03 12:00+00', 'api_request', 'chat before consent', 'success', 'ai-subj-2', 'ai-c2', 'support chat', 'consent'),
       ('2026-03-04 12:00+00', 'api_request', 'chat under consent', 'success', 'ai-subj-2', 'ai-c2', 'support chat', 'consent'),
       ('2026-03-04 12:00+00', 'api_request', 'chat under another''s consent', 'success', 'ai-subj-3', 'ai-c2', 'support chat', 'consent'),
       ('2026-03-04 12:00+00', 'api_request', 'chat under an unknown consent', 'success', 'ai-subj-2', 'ai-c9', 'support chat', 'consent');
-- a consent record that failed is no consent
INSERT INTO audit_chain.events (occurred_at, event_type, action, outcome, data_subject, consent_id)
VALUES ('2026-03-01 08:00+00', 'consent', 'consent_given', 'failure', 'ai-subj-3', 'ai-c2');
SELECT occurred_at, data_subject, consent_id, issue, withdrawn_at, action
  FROM audit_chain.gdpr_consent_violations
 WHERE data_subject LIKE 'ai-%'
 ORDER BY occurred_at, data_subject, action;

-- safety: checks on two days and two models
INSERT INTO audit_chain.events (occurred_at, event_type, action, outcome, model, safety_detectors, safety_reason)
VALUES ('2026-03-03 10:00+00', 'api_request', 'safety check', 'success', 'ai-model-a', '{}', NULL),
       ('2026-03-03 11:00+00', 'api_request', 'safety check', 'success', 'ai-model-a', '{toxicity}', NULL),
       ('2026-03-03 12:00+00', 'api_request', 'safety check', 'blocked', 'ai-model-a', '{pii,toxicity}', 'insult and a phone number'),
       ('2026-03-03 13:00+00', 'api_request', 'safety check', 'blocked', 'ai-model-b', '{prompt_injection}', 'ignore previous instructions'),
       ('2026-03-03 23:59:59+00', 'api_request', 'safety check', 'blocked', 'ai-model-b', NULL, 'policy: weapons'),
       ('2026-03-04 00:00:01+00', 'api_request', 'safety check', 'success', 'ai-model-b', '{pii,pii}', NULL);
SELECT day, model, detector, checks, blocks
  FROM audit_chain.ai_safety_daily
 WHERE model LIKE 'ai-model-%'
 ORDER BY day, model, detector NULLS FIRST;

-- every row above is sealed and the chain verifies
SELECT bool_and(intact) AS intact FROM audit_chain.verify_chain('audit_chain.events');

-- bad input
SELECT * FROM audit_chain.request_timeline(NULL);
SELECT * FROM audit_chain.request_timeline('');
SET audit_chain.trace_id = '4BF92F3577B34DA6A3CE929D0E0E4736';
SET audit_chain.trace_id = '00000000000000000000000000000000';
SET audit_chain.traceparent = '4bf92f3577b34da6a3ce929d0e0e4736';
SET audit_chain.traceparent = 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
SET audit_chain.traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01';
SET audit_chain.traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x';
INSERT INTO audit_chain.events (event_type, action, trace_id) VALUES ('api_request', 'x', 'not-a-trace');
SELECT audit_chain.log_event('api_request', 'x', span_id => '00f067aa0ba902b7');
SELECT audit_chain.log_event('api_request', 'x', trace_id => '4bf92f3577b34da6a3ce929d0e0e4736', span_id => 'xyz');
SELECT audit_chain.record_consent(NULL, 'ai-c1', true);
SELECT audit_chain.record_consent('ai-subj-1', '', true);
SELECT audit_chain.record_consent('ai-subj-1', 'ai-c1', NULL);
INSERT INTO audit_chain.events (event_type, action, data_subject) VALUES ('consent', 'consent_withdrawn', 'ai-subj-1');
INSERT INTO audit_chain.events (event_type, action, safety_detectors) VALUES ('api_request', 'x', '{pii,""}');
SET audit_chain.hash_detail_keys = 'prompt,,email';
SET audit_chain.hash_detail_keys = 'prompt email';
SET audit_chain.hash_detail_keys = '"prompt';
SET ROLE ac_app;
SET audit_chain.hash_detail_keys = '';
RESET ROLE;
