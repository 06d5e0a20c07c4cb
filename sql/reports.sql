\set VERBOSITY terse
-- A small, fixed data set: a clinic with an AI assistant, January 2026
CREATE TEMP TABLE ds (occurred_at timestamptz, event_type text, action text, outcome text,
                      actor text, data_subject text, purpose text, legal_basis text,
                      consent_id text, data_categories text[], phi boolean, provider text,
                      model text, disclosure_to text, authorization_ref text, details jsonb);
INSERT INTO ds VALUES
('2026-01-05 09:00+00', 'authentication', 'login', 'success', 'dr-adams', NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, NULL, NULL, NULL),
('2026-01-05 09:02+00', 'authentication', 'login', 'failure', 'mallory', NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, NULL, NULL, '{"reason": "bad password"}'),
('2026-01-05 09:03+00', 'authentication', 'login', 'failure', 'mallory', NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, NULL, NULL, '{"reason": "bad password"}'),
('2026-01-05 09:10+00', 'data_access', 'read chart', 'success', 'dr-adams', 'patient-1', 'treatment', 'vital_interests', NULL, '{health}', true, NULL, NULL, NULL, NULL, NULL),
('2026-01-05 09:12+00', 'api_request', 'summarize chart', 'success', 'dr-adams', 'patient-1', 'treatment', 'vital_interests', NULL, '{health}', true, 'openai', 'gpt-4o', NULL, NULL, NULL),
('2026-01-05 09:20+00', 'data_access', 'read chart', 'success', 'nurse-baker', 'patient-2', 'treatment', 'vital_interests', NULL, '{health,contact}', true, NULL, NULL, NULL, NULL, NULL),
('2026-01-05 10:00+00', 'disclosure', 'send records', 'success', 'clerk-cole', 'patient-1', 'insurance claim', 'contract', NULL, '{health,financial}', true, NULL, NULL, 'Acme Insurance', 'auth-991', '{"description": "claim 2026-001: visit notes"}'),
('2026-01-06 11:00+00', 'api_request', 'draft reply', 'success', 'agent-dee', 'cust-7', 'customer support', 'consent', 'consent-77', '{contact}', false, 'anthropic', 'claude-3-5-sonnet', NULL, NULL, NULL),
('2026-01-06 11:05+00', 'api_request', 'draft reply', 'success', 'agent-dee', 'cust-8', 'customer support', 'consent', NULL, '{contact}', false, 'anthropic', 'claude-3-5-sonnet', NULL, NULL, NULL),
('2026-01-06 11:06+00', 'api_request', 'draft reply', 'blocked', 'agent-dee', 'cust-9', 'customer support', 'consent', NULL, '{contact}', false, 'anthropic', 'claude-3-5-sonnet', NULL, NULL, '{"reason": "PII filter"}'),
('2026-01-06 12:00+00', 'consent', 'consent given', 'success', 'cust-8', 'cust-8', 'customer support', 'consent', 'consent-88', '{contact}', false, NULL, NULL, NULL, NULL, NULL),
('2026-01-07 08:00+00', 'data_access', 'export', 'denied', 'intern-eve', 'patient-2', 'research', 'public_task', NULL, '{health}', true, NULL, NULL, NULL, NULL, NULL),
('2026-01-07 08:30+00', 'security', 'rate limit', 'blocked', 'bot-x', NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, NULL, NULL, NULL),
('2026-01-07 09:00+00', 'admin', 'grant role', 'success', 'dba-fox', NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, NULL, NULL, '{"command_tag": "GRANT"}'),
('2026-01-07 09:05+00', 'admin', 'alter system', 'success', 'dba-fox', NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, NULL, NULL, '{"setting": "log_connections"}'),
('2019-12-31 23:00+00', 'disclosure', 'send records', 'success', 'clerk-cole', 'patient-1', 'public health reporting', 'legal_obligation', NULL, '{health}', true, NULL, NULL, 'County Health Dept', 'law-12', NULL),
('2021-03-01 10:00+00', 'disclosure', 'send records', 'success', 'clerk-cole', 'patient-1', 'public health reporting', 'legal_obligation', NULL, '{health}', true, NULL, NULL, 'County Health Dept', 'law-12', '{"description": "vaccination report"}');
-- one actor over the rate: five API calls in one hour
INSERT INTO ds SELECT '2026-01-08 14:00+00'::timestamptz + g * interval '5 minutes', 'api_request', 'classify ticket',
                      'success', 'svc-batch', 'cust-' || g, 'customer support', 'legitimate_interests', NULL,
                      '{contact}', false, 'openai', 'gpt-4o-mini', NULL, NULL, NULL
                 FROM generate_series(1, 5) g;
INSERT INTO audit_chain.events (occurred_at, event_type, action, outcome, actor, data_subject, purpose,
                                legal_basis, consent_id, data_categories, phi, provider, model,
                                disclosure_to, authorization_ref, details)
SELECT * FROM ds ORDER BY occurred_at;

-- GDPR Art. 30 records of processing: a register kept as events arrive
-- (refresh_reports() is a no-op kept for cron lines; more in usage.sql)
SELECT count(*) AS without_refresh FROM audit_chain.gdpr_processing_records;
CALL audit_chain.refresh_reports();
SELECT purpose, legal_bases, data_categories, recipients, subjects, events, first_event, last_event, retention,
       as_of = now() AS live
  FROM audit_chain.gdpr_processing_records ORDER BY purpose;

-- GDPR Art. 15 subject access, as rows and as one document
SELECT occurred_at, event_type, action, actor, purpose, legal_basis, disclosure_to
  FROM audit_chain.gdpr_subject_access('patient-1');
SELECT jsonb_pretty(audit_chain.gdpr_subject_access_json('cust-8') - 'generated_at'
                    #- '{activity,0,event_id}' #- '{activity,1,event_id}');
SELECT audit_chain.gdpr_subject_access_json('nobody')->'events' AS events_of_unknown_subject;
SELECT * FROM audit_chain.gdpr_subject_access('');
SELECT audit_chain.gdpr_subject_access_json(NULL);

-- GDPR consent gaps
SELECT occurred_at, actor, data_subject, purpose, action FROM audit_chain.gdpr_consent_gaps ORDER BY occurred_at;

-- SOC 2 CC6.1 / CC7.2 security events
SELECT occurred_at, control, event_type, action, outcome, actor
  FROM audit_chain.soc2_security_events
 WHERE occurred_at >= '2026-01-01' AND occurred_at < '2026-02-01' ORDER BY occurred_at;

-- SOC 2 verification evidence: the control ran, and what it found
SELECT lane, intact FROM audit_chain.verify_chain('audit_chain.events') WHERE NOT intact;
SELECT tbl, last_verified_at > now() - interval '1 hour' AS recent, last_verified_by,
       last_result_intact, lanes_checked, runs_last_30_days >= 1 AS ran, failed_runs_last_30_days
  FROM audit_chain.soc2_verification_evidence WHERE tbl = 'audit_chain.events'::regclass;

-- HIPAA 164.312(b) PHI activity review
SELECT day, actor, patient, events, actions FROM audit_chain.hipaa_phi_activity
 WHERE day >= '2026-01-01' ORDER BY day, actor, patient;

-- HIPAA 164.528 accounting of disclosures: six years before as_of
SELECT disclosed_at, recipient, description, purpose, authorization_ref, actor
  FROM audit_chain.hipaa_disclosures('patient-1', as_of => '2026-02-01');
SELECT count(*) AS disclosures_six_years_before_2027_06
  FROM audit_chain.hipaa_disclosures('patient-1', as_of => '2027-06-01');
SELECT * FROM audit_chain.hipaa_disclosures('');
SELECT * FROM audit_chain.hipaa_disclosures('patient-1', as_of => NULL);
SELECT * FROM audit_chain.hipaa_disclosures('patient-1', as_of => 'infinity');

-- activity anomalies
SELECT * FROM audit_chain.activity_anomalies(per_hour => 3, since => '2026-01-01');
SELECT count(*) AS over_ten FROM audit_chain.activity_anomalies(per_hour => 10, since => '2026-01-01');
SELECT * FROM audit_chain.activity_anomalies(per_hour => 0);
SELECT * FROM audit_chain.activity_anomalies(per_hour => 5, since => NULL);

-- export for a SIEM: one JSON object per line
SELECT (line::jsonb - 'event_id' - 'chain_at' - 'chain_seq' - 'chain_lane' - 'chain_hash' - 'chain_prev'
        - 'application_name' - 'db_role' - 'client_addr')::text AS line
  FROM audit_chain.export_jsonl('2026-01-08 14:20+00') AS line
 WHERE (line::jsonb->>'occurred_at')::timestamptz < '2026-02-01';
SELECT bool_and(line::jsonb ? 'chain_hash' AND length(line::jsonb->>'chain_hash') = 64) AS with_chain_hash
  FROM audit_chain.export_jsonl('-infinity') AS line;
SELECT * FROM audit_chain.export_jsonl(NULL);

-- reports are not for PUBLIC
SET ROLE ac_app;
SELECT count(*) FROM audit_chain.gdpr_consent_gaps;
CALL audit_chain.refresh_reports();
SELECT audit_chain.gdpr_subject_access_json('cust-8');
RESET ROLE;
