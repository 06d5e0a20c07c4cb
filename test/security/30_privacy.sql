-- Attack: reading the audit trail without being granted it.  The events
-- hold personal data and PHI; the registry, checkpoints and logs say what
-- is audited and when it was checked.  Then: the grants the README gives a
-- writer and an auditor are enough for each, and no more.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

SELECT plan(29);

CREATE ROLE sec_nosy NOLOGIN;
CREATE ROLE sec_writer NOLOGIN;
CREATE ROLE sec_auditor NOLOGIN;

SELECT audit_chain.log_event('data_access', 'read chart', data_subject => 'patient-7', phi => true);

-- Anybody
SET SESSION AUTHORIZATION sec_nosy;
SELECT throws_ok($$SELECT * FROM audit_chain.events$$, '42501', 'permission denied for table events',
                 'PUBLIC cannot read the events');
SELECT throws_ok($$SELECT * FROM audit_chain.chains$$, '42501', 'permission denied for table chains',
                 'nor the registry');
SELECT throws_ok($$SELECT * FROM audit_chain.protection_log$$, '42501', NULL, 'nor protection_log');
SELECT throws_ok($$SELECT * FROM audit_chain.checkpoints$$, '42501', NULL, 'nor checkpoints');
SELECT throws_ok($$SELECT * FROM audit_chain.checkpoint_heads$$, '42501', NULL, 'nor checkpoint_heads');
SELECT throws_ok($$SELECT * FROM audit_chain.verification_log$$, '42501', NULL, 'nor verification_log');
SELECT throws_ok($$SELECT * FROM audit_chain.hipaa_phi_activity$$, '42501', NULL, 'nor a report view');
SELECT throws_ok($$SELECT * FROM audit_chain.register_lanes$$, '42501', NULL,
                 'nor the summary behind the Art. 30 register');
SELECT throws_ok($$SELECT * FROM audit_chain.gdpr_subject_access('patient-7')$$, '42501', NULL,
                 'nor a report function');
SELECT throws_ok($$SELECT * FROM audit_chain.export_jsonl('-infinity')$$, '42501', NULL,
                 'nor the SIEM export');
SELECT throws_ok($$SELECT audit_chain.log_event('security', 'forged')$$, '42501', NULL,
                 'and cannot write events');
SELECT throws_ok($$INSERT INTO audit_chain.events (event_type, action) VALUES ('security', 'forged')$$,
                 '42501', NULL, 'not even directly');
RESET SESSION AUTHORIZATION;

-- A writer, with exactly the README's grants
GRANT INSERT ON audit_chain.events TO sec_writer;
GRANT EXECUTE ON FUNCTION audit_chain.log_event(text, text, text, text, text, text, text, integer,
    integer, integer, numeric, bytea, bytea, text, text, text, text, text[], boolean, text,
    text, text, inet, text, jsonb, timestamptz, text, text, text, text[], text, text) TO sec_writer;
SET SESSION AUTHORIZATION sec_writer;
SELECT isnt(audit_chain.log_event('api_request', 'chat.completion', provider => 'acme'), NULL,
            'the writer can call log_event() and gets the event id');
SELECT lives_ok($$INSERT INTO audit_chain.events (event_type, action) VALUES ('api_request', 'direct')$$,
                'and insert directly');
SELECT throws_ok($$SELECT * FROM audit_chain.events$$, '42501', NULL, 'but cannot read the events');
SELECT throws_ok($$UPDATE audit_chain.events SET action = 'x'$$, '42501', NULL, 'nor change them');
SELECT throws_ok($$SELECT * FROM audit_chain.verify_chain('audit_chain.events')$$, '42501', NULL,
                 'nor verify');
RESET SESSION AUTHORIZATION;
SELECT is((SELECT count(*)::int FROM audit_chain.events WHERE db_role = 'sec_writer'), 2,
          'the writer''s events are there, attributed to it');

-- An auditor, with exactly the README's grants
GRANT SELECT ON audit_chain.events, audit_chain.chains, audit_chain.checkpoints,
    audit_chain.checkpoint_heads, audit_chain.verification_log, audit_chain.protection_log
    TO sec_auditor;
GRANT SELECT ON audit_chain.gdpr_processing_records, audit_chain.gdpr_consent_gaps,
    audit_chain.soc2_security_events, audit_chain.soc2_verification_evidence,
    audit_chain.hipaa_phi_activity TO sec_auditor;
GRANT EXECUTE ON FUNCTION audit_chain.verify_chain(regclass, boolean, json, text),
    audit_chain.lane_head(regclass, integer),
    audit_chain.row_hash(regclass, integer, bigint),
    audit_chain.canonical_row(regclass, integer, bigint),
    audit_chain.gdpr_subject_access(text), audit_chain.gdpr_subject_access_json(text),
    audit_chain.hipaa_disclosures(text, timestamptz),
    audit_chain.activity_anomalies(integer, timestamptz),
    audit_chain.export_jsonl(timestamptz) TO sec_auditor;
GRANT EXECUTE ON PROCEDURE audit_chain.assert_intact(regclass, boolean, json, text) TO sec_auditor;
SET SESSION AUTHORIZATION sec_auditor;
SELECT is((SELECT count(*)::int FROM audit_chain.events WHERE data_subject = 'patient-7'), 1,
          'the auditor reads the events');
SELECT is((SELECT bool_and(intact) FROM audit_chain.verify_chain('audit_chain.events')), true,
          'verifies them');
SELECT lives_ok($$CALL audit_chain.assert_intact('audit_chain.events')$$, 'asserts they are intact');
SELECT is((SELECT count(*)::int FROM audit_chain.gdpr_subject_access('patient-7')), 1,
          'runs the subject access report');
SELECT is((SELECT count(*)::int FROM audit_chain.hipaa_phi_activity), 1, 'reads the report views');
SELECT ok((SELECT count(*) FROM audit_chain.export_jsonl('-infinity')) >= 3, 'exports');
SELECT is((SELECT count(*)::int FROM audit_chain.verification_log
            WHERE tbl = 'audit_chain.events'::regclass AND verified_by = 'sec_auditor'), 32,
          'reads the verification evidence (two runs of 16 lanes)');
SELECT lives_ok($$SELECT audit_chain.row_hash('audit_chain.events', e.chain_lane, e.chain_seq)
                    FROM audit_chain.events e LIMIT 1$$, 'recomputes a row hash');
SELECT throws_ok($$INSERT INTO audit_chain.events (event_type, action) VALUES ('security', 'x')$$,
                 '42501', NULL, 'but cannot write events');
SELECT throws_ok($$DELETE FROM audit_chain.verification_log$$, '42501', NULL,
                 'nor remove the verification evidence');
SELECT throws_ok($$SELECT audit_chain.checkpoint()$$, '42501', NULL, 'nor take checkpoints (the monitor does)');
RESET SESSION AUTHORIZATION;

SELECT * FROM finish();
ROLLBACK;
