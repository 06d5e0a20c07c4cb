-- Redaction across real commits: the admin events of redact() and
-- redact_subject() (written at commit), and redacted rows through archive()
-- and the purge of apply_retention() (which commit batch by batch): they
-- move to the archive table and verify there with the kept digests recorded
-- under the live table; an archived row is not redacted; the purge drops the
-- purged rows' redaction records.  Run with pg_prove outside a transaction.
-- Creates and drops schema tap_commit_r.
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

-- Leftovers of an interrupted run
DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT c.tbl FROM audit_chain.chains c JOIN pg_class r ON r.oid = c.tbl
               JOIN pg_namespace n ON n.oid = r.relnamespace
              WHERE n.nspname = 'tap_commit_r' GROUP BY c.tbl
    LOOP
        PERFORM audit_chain.unprotect(t, 'pgTAP cleanup');
    END LOOP;
    DROP SCHEMA IF EXISTS tap_commit_r CASCADE;
    DROP TABLE IF EXISTS audit_chain_archive.old;
END
$$;

SELECT plan(9);

CREATE SCHEMA tap_commit_r;
CREATE TABLE tap_commit_r.old (id int, email text);
SELECT audit_chain.protect('tap_commit_r.old');
INSERT INTO tap_commit_r.old SELECT g, 'o' || g || '@example.org' FROM generate_series(1, 6) g;
SELECT clock_timestamp() AS t0 \gset
SELECT audit_chain.redact('tap_commit_r.old', 0, 2, ARRAY['email'], 'tap commit request 6');
SELECT is((SELECT details::text FROM audit_chain.events
            WHERE action = 'redact' AND occurred_at >= :'t0'),
          '{"seq": 2, "lane": 0, "table": "tap_commit_r.old", "reason": "tap commit request 6", "columns": ["email"]}',
          'the redaction is an admin event, written at commit: table, row, columns, reason');
SELECT audit_chain.log_event('api_request', 'chat', data_subject => 'tap-commit-subject',
                             user_agent => 'ua') IS NOT NULL AS logged;
SELECT count(*) FROM audit_chain.redact_subject('tap-commit-subject', 'tap commit request 7');
SELECT is((SELECT format('%s %s %s', event_type, resource, details->>'reason') FROM audit_chain.events
            WHERE action = 'redact subject' AND occurred_at >= :'t0'),
          'admin audit_chain.events tap commit request 7', 'so is redact_subject()');
SELECT is((SELECT count(*)::int FROM audit_chain.events
            WHERE occurred_at >= :'t0' AND details::text LIKE '%tap-commit-subject%'), 0,
          'no event names the subject');

SELECT pg_sleep(0.01);
CALL audit_chain.archive('tap_commit_r.old', interval '1 millisecond');
INSERT INTO tap_commit_r.old VALUES (7, 'o7@example.org');
SELECT is((SELECT count(*)::int FROM audit_chain_archive.old WHERE email IS NULL), 1,
          'the redacted row was archived');
SELECT is((SELECT string_agg(format('%s/%s', tbl, intact), ' ' ORDER BY tbl::text)
             FROM audit_chain.verify_chain() WHERE tbl::text LIKE '%.old'),
          'audit_chain_archive.old/t tap_commit_r.old/t', 'the live table and its archive verify');
SELECT throws_ok($$SELECT audit_chain.redact('tap_commit_r.old', 0, 3, ARRAY['email'], 'x')$$, '55000',
                 'cannot redact chain_seq 3 of lane 0 of table "tap_commit_r.old", which is archived',
                 'an archived row is not redacted');
BEGIN;
DELETE FROM audit_chain.redactions WHERE tbl = 'tap_commit_r.old'::regclass;
SELECT is((SELECT first_bad_seq FROM audit_chain.verify_chain('audit_chain_archive.old')), 2::bigint,
          'a deleted redaction record of an archived row is found in the archive');
ROLLBACK;
SELECT audit_chain.set_retention('tap_commit_r.old', interval '1 millisecond', NULL, interval '1 millisecond');
SELECT pg_sleep(0.01);
CALL audit_chain.apply_retention();
SELECT is((SELECT count(*)::int FROM audit_chain.redactions WHERE tbl = 'tap_commit_r.old'::regclass), 0,
          'the purge drops the kept digests of the rows it drops');
SELECT is((SELECT bool_and(intact) FROM audit_chain.verify_chain() WHERE tbl::text LIKE '%.old'), true,
          'and everything still verifies');

SELECT * FROM finish();

-- Clean up
SELECT audit_chain.unprotect('tap_commit_r.old', 'pgTAP cleanup');
-- unprotect() forgets the archive table but leaves it (and its rows) in place
DROP TABLE audit_chain_archive.old;
DROP SCHEMA tap_commit_r CASCADE;
\if :drop_audit_chain
DROP EXTENSION audit_chain;
\endif
\if :drop_pgtap
DROP EXTENSION pgtap;
\endif
