-- apply_retention() from cron (outside a transaction block, committing after
-- every batch): a table that cannot be archived (here a foreign key of its
-- owner's references it) is skipped with a warning, every other table's
-- policy is applied and committed, and then the run fails, so that cron or
-- pg_cron reports it instead of "succeeded".  Needs real commits: run it
-- with pg_prove outside a transaction.  Creates and drops schema tapc_ar.
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

SELECT plan(6);

CREATE SCHEMA tapc_ar;
CREATE TABLE tapc_ar.blocker (id int PRIMARY KEY);
SELECT audit_chain.protect('tapc_ar.blocker') \gset
CREATE TABLE tapc_ar.blocker_ref (id int REFERENCES tapc_ar.blocker);
CREATE TABLE tapc_ar.other (id int);
SELECT audit_chain.protect('tapc_ar.other') \gset
INSERT INTO tapc_ar.blocker SELECT g FROM generate_series(1, 3) g;
INSERT INTO tapc_ar.other SELECT g FROM generate_series(1, 3) g;
SELECT audit_chain.set_retention('tapc_ar.blocker', interval '1 microsecond') \gset
SELECT audit_chain.set_retention('tapc_ar.other', interval '1 microsecond') \gset

\echo '# a WARNING and an ERROR on stderr are expected next'
\set ON_ERROR_STOP false
\set LAST_ERROR_SQLSTATE 00000
CALL audit_chain.apply_retention();
\set ON_ERROR_STOP true
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '55000'::text, 'the run fails (SQLSTATE 55000)');
SELECT is(:'LAST_ERROR_MESSAGE'::text, 'apply_retention() could not apply the retention policy of 1 table'::text,
          'saying how many tables it left');
SELECT is((SELECT count(*) FROM tapc_ar.other), 0::bigint, 'the other table''s rows were archived');
SELECT is((SELECT count(*) FROM audit_chain_archive.other), 3::bigint, 'into its archive, committed');
SELECT is((SELECT count(*) FROM tapc_ar.blocker), 3::bigint, 'the blocking table''s rows stay');
SELECT ok((SELECT bool_and(intact) FROM audit_chain.verify_chain('tapc_ar.other'))
          AND (SELECT bool_and(intact) FROM audit_chain.verify_chain('audit_chain_archive.other')),
          'both parts of the archived table verify');

SELECT * FROM finish();

SELECT audit_chain.unprotect('tapc_ar.blocker') \gset
SELECT audit_chain.unprotect('tapc_ar.other') \gset
DROP TABLE audit_chain_archive.other;
DROP TABLE IF EXISTS audit_chain_archive.blocker;
DROP SCHEMA tapc_ar CASCADE;
\if :drop_audit_chain
DROP EXTENSION audit_chain;
\endif
\if :drop_pgtap
DROP EXTENSION pgtap;
\endif
