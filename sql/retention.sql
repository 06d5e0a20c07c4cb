\set VERBOSITY terse
-- Retention policies and legal holds (src/retention.c)
SET intervalstyle = postgres;
CREATE SCHEMA ret;
CREATE TABLE ret.visits (id int, patient text);
SELECT audit_chain.protect('ret.visits');
CREATE TABLE ret.tickets (id int, subject text);
SELECT audit_chain.protect('ret.tickets', lanes => 2);
CREATE TABLE ret.plain (id int);

-- the presets: keep NULL takes the framework's period
SELECT audit_chain.set_retention('ret.visits', framework => 'HIPAA');
SELECT audit_chain.set_retention('ret.tickets', NULL, 'soc 2');
SELECT tbl, keep, framework, archive_keep, set_by = session_user AS set_by_me
  FROM audit_chain.retention_policies ORDER BY tbl::text;
-- a longer keep than the preset, an archive period; "SOC2" and "SOC-2" are SOC 2
SELECT audit_chain.set_retention('ret.visits', interval '7 years', 'hipaa', interval '3 years');
SELECT audit_chain.set_retention('ret.tickets', interval '18 months', 'SOC-2');
-- a policy of one's own: any positive keep
SELECT audit_chain.set_retention('ret.tickets', interval '90 days');
-- GDPR: the controller chooses
SELECT audit_chain.set_retention('audit_chain.events', interval '2 years', 'GDPR', interval '1 year');
SELECT tbl, keep, framework, archive_keep
  FROM audit_chain.retention_policies ORDER BY tbl::text;

-- bad input, with the hints
\set VERBOSITY default
SELECT audit_chain.set_retention('ret.visits', NULL, 'GDPR');
SELECT audit_chain.set_retention('ret.visits', NULL);
SELECT audit_chain.set_retention('ret.visits');
SELECT audit_chain.set_retention('ret.visits', interval '1 year', 'HIPAA');
-- a year is 365.25 days here, not 360 as interval comparison has it
SELECT audit_chain.set_retention('ret.tickets', interval '364 days', 'SOC 2');
SELECT audit_chain.set_retention('ret.visits', interval '2190 days', 'HIPAA');
SELECT audit_chain.set_retention('ret.visits', interval '1 year -365 days');
SELECT audit_chain.set_retention('ret.visits', interval '0');
SELECT audit_chain.set_retention('ret.visits', interval '-1 day');
SELECT audit_chain.set_retention('ret.visits', interval '1 month -30 days');
SELECT audit_chain.set_retention('ret.visits', interval '1 year', 'PCI DSS');
SELECT audit_chain.set_retention('ret.visits', interval '1 year', '');
SELECT audit_chain.set_retention('ret.visits', interval '1 year', archive_keep => interval '0');
SELECT audit_chain.set_retention('ret.visits', interval '1 year', archive_keep => interval '-1 year');
SELECT audit_chain.set_retention('ret.plain', interval '1 year');
SELECT audit_chain.set_retention(NULL, interval '1 year');
SELECT audit_chain.set_retention(0, interval '1 year');
\set VERBOSITY terse
-- nothing changed
SELECT tbl, keep, framework, archive_keep
  FROM audit_chain.retention_policies ORDER BY tbl::text;

-- legal hold
SELECT audit_chain.legal_hold('ret.visits', true, 'case 2026-17: Doe v. Clinic');
SELECT tbl, held_by = session_user AS by_me, reason FROM audit_chain.legal_holds;
SELECT audit_chain.legal_hold('ret.visits', true, 'another matter');
SELECT audit_chain.legal_hold('ret.tickets', false, 'nothing to release');
SELECT audit_chain.legal_hold('ret.tickets', true, NULL);
SELECT audit_chain.legal_hold('ret.tickets', true, ' ');
SELECT audit_chain.legal_hold('ret.tickets', true);
SELECT audit_chain.legal_hold('ret.tickets', NULL, 'why');
SELECT audit_chain.legal_hold('ret.plain', true, 'why');
SELECT audit_chain.legal_hold(NULL, true, 'why');
-- a table under hold cannot be unprotected (and then dropped)
SELECT audit_chain.unprotect('ret.visits');
-- the named argument is "on", a reserved word
SELECT audit_chain.legal_hold('ret.visits', "on" => false, reason => 'case 2026-17 settled');
SELECT audit_chain.legal_hold('ret.visits', false);
SELECT tbl FROM audit_chain.legal_holds;
SELECT audit_chain.legal_hold('ret.visits', true, 'case 2026-20');
SELECT tbl, reason FROM audit_chain.legal_holds;
SELECT id - min(id) OVER () AS n, tbl, tbl_name, hold, reason
  FROM audit_chain.legal_hold_log ORDER BY id;

-- the GDPR Art. 30 register shows the policy of audit_chain.events
SELECT audit_chain.log_event('api_request', 'triage', purpose => 'treatment') IS NOT NULL AS logged;
CALL audit_chain.refresh_reports();
SELECT DISTINCT retention FROM audit_chain.gdpr_processing_records;
SELECT audit_chain.legal_hold('audit_chain.events', true, 'regulator inquiry 5');
SELECT DISTINCT retention FROM audit_chain.gdpr_processing_records;
SELECT audit_chain.legal_hold('audit_chain.events', false, 'inquiry closed');
SELECT DISTINCT retention FROM audit_chain.gdpr_processing_records;

-- every change is an admin event, written at commit
SELECT action, resource, details FROM audit_chain.events
 WHERE event_type = 'admin' AND (action LIKE '%retention' OR action LIKE 'legal hold%')
 ORDER BY chain_at, chain_lane, chain_seq;

-- unprotect() drops the table's policy, and says so in an event
SELECT audit_chain.unprotect('ret.tickets');
SELECT tbl FROM audit_chain.retention_policies ORDER BY tbl::text;
SELECT action, resource, details FROM audit_chain.events
 WHERE action = 'drop retention';
-- a rolled-back change leaves neither a policy nor an event
BEGIN;
SELECT audit_chain.set_retention('ret.visits', interval '10 years');
ROLLBACK;
SELECT tbl, keep FROM audit_chain.retention_policies WHERE tbl = 'ret.visits'::regclass;
SELECT count(*) FROM audit_chain.events WHERE details->'policy'->>'keep' = 'P10Y';

-- the chains still verify
SELECT tbl, lane, intact FROM audit_chain.verify_chain('audit_chain.events') WHERE NOT intact;
SELECT tbl, lane, intact FROM audit_chain.verify_chain('ret.visits');
