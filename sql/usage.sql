\set VERBOSITY terse
SET timezone = 'UTC';
-- usage_report() and the live GDPR Art. 30 register (issue 14).  A fixed data
-- set: an AI gateway's calls over two days, 2026-02-01 and 02-02 (UTC).
CREATE TEMP TABLE calls (occurred_at timestamptz, outcome text, actor text, provider text, model text,
                         input_tokens integer, output_tokens integer, latency_ms integer, cost numeric,
                         purpose text, legal_basis text, data_subject text, data_categories text[],
                         disclosure_to text, transfer_country text, event_type text);
INSERT INTO calls VALUES
('2026-02-01 08:00+00', 'success', 'ana', 'openai',    'gpt-4o',        100,  50,  200, 0.001000, 'u-support', 'contract', 'u-c1', '{contact}', NULL, 'US', 'api_request'),
('2026-02-01 08:05+00', 'success', 'ana', 'openai',    'gpt-4o',        300, 150,  400, 0.003000, 'u-support', 'contract', 'u-c2', '{contact}', NULL, 'US', 'api_request'),
('2026-02-01 08:10+00', 'error',   'ben', 'openai',    'gpt-4o',         80, NULL, 1000, NULL,     'u-support', 'contract', 'u-c1', '{contact,usage}', NULL, 'US', 'api_request'),
('2026-02-01 09:00+00', 'success', 'ben', 'anthropic', 'claude-3-5',    500, 250,  600, 0.005000, 'u-support', 'consent',  'u-c3', '{contact}', NULL, 'US', 'api_request'),
('2026-02-01 23:59:59.999+00', 'failure', 'ana', 'anthropic', 'claude-3-5', 10, 0, 100, 0.000100, 'u-research', 'consent', 'u-c3', '{health}', NULL, 'US', 'api_request'),
('2026-02-02 00:00+00', 'success', 'ana', 'mistral',   'mistral-large', 200, 100,  300, 0.002000, 'u-research', 'consent', 'u-c4', '{health}', NULL, 'FR', 'api_request'),
('2026-02-02 10:00+00', 'blocked', 'cy',  'openai',    'gpt-4o',        120,   0,   50, 0.000000, 'u-support', 'contract', 'u-c5', '{contact}', NULL, 'US', 'api_request'),
('2026-02-02 10:01+00', 'denied',  'cy',  'openai',    'gpt-4o',         90,   0, NULL, NULL,     'u-support', 'contract', 'u-c5', '{contact}', NULL, 'US', 'api_request'),
('2026-02-02 11:00+00', 'success', 'cy',  NULL,        'llama-3-local',  40,  20,  800, NULL,     'u-support', 'contract', 'u-c6', '{contact}', NULL, NULL, 'api_request'),
-- not AI calls: no provider and no model
('2026-02-01 12:00+00', 'success', 'ana', NULL, NULL, NULL, NULL, 5, NULL, 'u-support', 'contract', 'u-c1', '{contact}', NULL, NULL, 'data_access'),
('2026-02-02 12:00+00', 'success', 'dee', NULL, NULL, NULL, NULL, NULL, NULL, 'u-research', 'legal_obligation', 'u-c4', '{health}', 'Ministry of Health', NULL, 'disclosure'),
('2026-02-02 12:30+00', 'success', 'dee', NULL, NULL, NULL, NULL, NULL, NULL, 'u-research', 'legal_obligation', 'u-c3', '{health,genetic}', 'Lab Partner Inc', 'CH', 'disclosure');
-- through log_event(), transfer_country its last parameter
SELECT count(audit_chain.log_event(c.event_type, 'call', outcome => c.outcome, actor => c.actor,
                                   provider => c.provider, model => c.model, input_tokens => c.input_tokens,
                                   output_tokens => c.output_tokens, latency_ms => c.latency_ms, cost => c.cost,
                                   purpose => c.purpose, legal_basis => c.legal_basis,
                                   data_subject => c.data_subject, data_categories => c.data_categories,
                                   disclosure_to => c.disclosure_to, occurred_at => c.occurred_at,
                                   transfer_country => c.transfer_country)) AS logged
  FROM (SELECT * FROM calls ORDER BY occurred_at) c;

-- usage_report: per day (UTC), provider and model by default
SELECT * FROM audit_chain.usage_report('2026-02-01', '2026-02-03');
SELECT * FROM audit_chain.usage_report('2026-02-01', '2026-02-03', '{actor}');
SELECT * FROM audit_chain.usage_report('2026-02-01', '2026-02-03', '{provider,actor,provider}');
SELECT * FROM audit_chain.usage_report('2026-02-01', '2026-02-03', '{}');
SELECT * FROM audit_chain.usage_report(group_by => ARRAY['day'], since => '2026-02-01', until => '2026-02-03');
-- [since, until): until is left out, since is in
SELECT day, calls FROM audit_chain.usage_report('2026-02-01 08:00+00', '2026-02-02 00:00+00', '{day}');
SELECT count(*) AS empty_range FROM audit_chain.usage_report('2026-02-01', '2026-02-01');
SELECT count(*) AS one_row, bool_and(calls >= 9) AS all_calls FROM audit_chain.usage_report('-infinity', 'infinity', '{}');
-- the range is read from events_usage_idx
SET enable_seqscan = off;
EXPLAIN (COSTS OFF)
SELECT count(*) FROM audit_chain.events e
 WHERE (e.provider IS NOT NULL OR e.model IS NOT NULL)
   AND e.occurred_at >= '2026-02-01' AND e.occurred_at < '2026-02-03';
RESET enable_seqscan;
-- bad input
SELECT * FROM audit_chain.usage_report(NULL, '2026-02-03');
SELECT * FROM audit_chain.usage_report('2026-02-01', NULL);
SELECT * FROM audit_chain.usage_report('2026-02-03', '2026-02-01');
SELECT * FROM audit_chain.usage_report('2026-02-01', '2026-02-03', NULL);
SELECT * FROM audit_chain.usage_report('2026-02-01', '2026-02-03', '{day,week}');
SELECT * FROM audit_chain.usage_report('2026-02-01', '2026-02-03', '{Day}');
SELECT * FROM audit_chain.usage_report('2026-02-01', '2026-02-03', ARRAY['model', NULL]);
SELECT * FROM audit_chain.usage_report('2026-02-01', '2026-02-03', '{{day},{model}}');
SELECT * FROM audit_chain.usage_report('2026-02-01', '2026-02-03', ARRAY[repeat('x', 1000)]);
-- not for PUBLIC
SET ROLE ac_app;
SELECT * FROM audit_chain.usage_report('2026-02-01', '2026-02-03');
RESET ROLE;

-- transfer_country: ISO 3166-1 alpha-2, upper case
SELECT audit_chain.log_event('api_request', 'call', provider => 'openai', transfer_country => 'us');
SELECT audit_chain.log_event('api_request', 'call', provider => 'openai', transfer_country => 'USA');
SELECT audit_chain.log_event('api_request', 'call', provider => 'openai', transfer_country => '');
INSERT INTO audit_chain.events (event_type, action, transfer_country) VALUES ('api_request', 'call', 'de');
INSERT INTO audit_chain.events (event_type, action, transfer_country) VALUES ('api_request', 'call', 'Ü1');
SELECT audit_chain.in_eea('FR') AS fr, audit_chain.in_eea('NO') AS no, audit_chain.in_eea('GR') AS gr,
       audit_chain.in_eea('CH') AS ch, audit_chain.in_eea('GB') AS gb, audit_chain.in_eea('US') AS us;

-- the Art. 30 register: current without refresh_reports(), recipients with
-- the countries of transfers to third countries
SELECT purpose, legal_bases, data_categories, recipients, transfers,
       subjects, events, first_event, last_event, as_of = now() AS live
  FROM audit_chain.gdpr_processing_records WHERE purpose LIKE 'u-%' ORDER BY purpose;
-- one more event: the register follows at once, within the transaction too
BEGIN;
SELECT count(audit_chain.log_event('api_request', 'call', provider => 'google', purpose => 'u-support',
                                   legal_basis => 'legitimate_interests', data_subject => 'u-c7',
                                   data_categories => '{contact,device}', transfer_country => 'IN'));
SELECT legal_bases, data_categories, recipients, subjects, events
  FROM audit_chain.gdpr_processing_records WHERE purpose = 'u-support';
-- a rolled-back savepoint takes its register update with it
SAVEPOINT s;
SELECT count(audit_chain.log_event('api_request', 'call', provider => 'acme', purpose => 'u-support',
                                   data_subject => 'u-c8'));
ROLLBACK TO SAVEPOINT s;
-- a multi-row INSERT with the same new subject twice counts it once
INSERT INTO audit_chain.events (event_type, action, purpose, data_subject, disclosure_to)
VALUES ('disclosure', 'send', 'u-support', 'u-c9', 'Courier Ltd'),
       ('disclosure', 'send', 'u-support', 'u-c9', 'Courier Ltd');
COMMIT;
SELECT legal_bases, data_categories, recipients, subjects, events
  FROM audit_chain.gdpr_processing_records WHERE purpose = 'u-support';
-- a purpose whose events name no legal basis, no categories, no recipient
SELECT count(audit_chain.log_event('data_access', 'read', purpose => 'u-none'));
SELECT legal_bases, data_categories, recipients, transfers, subjects, events
  FROM audit_chain.gdpr_processing_records WHERE purpose = 'u-none';
-- a rebuild recounts the same register from the events
CREATE TEMP TABLE before_rebuild AS
SELECT purpose, legal_bases, data_categories, recipients, transfers, subjects, events, first_event, last_event
  FROM audit_chain.gdpr_processing_records;
CALL audit_chain.refresh_reports();
CALL audit_chain.refresh_reports(rebuild => true);
SELECT count(*) AS differ
  FROM ((SELECT * FROM before_rebuild
         EXCEPT ALL
         SELECT purpose, legal_bases, data_categories, recipients, transfers, subjects, events, first_event, last_event
           FROM audit_chain.gdpr_processing_records)
        UNION ALL
        (SELECT purpose, legal_bases, data_categories, recipients, transfers, subjects, events, first_event, last_event
           FROM audit_chain.gdpr_processing_records
         EXCEPT ALL
         SELECT * FROM before_rebuild)) d;
CALL audit_chain.refresh_reports(rebuild => NULL);
BEGIN ISOLATION LEVEL REPEATABLE READ;
CALL audit_chain.refresh_reports(rebuild => true);
ROLLBACK;
-- the register's tables and trigger function are not for PUBLIC, nor is a rebuild
SET ROLE ac_app;
SELECT count(*) FROM audit_chain.register_lanes;
CALL audit_chain.refresh_reports();
RESET ROLE;
RESET timezone;
