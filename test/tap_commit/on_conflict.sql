-- INSERT ... ON CONFLICT DO NOTHING on a chained table: the seal trigger has
-- already given a skipped row its seq, so a transaction that skipped a row
-- must fail at COMMIT (or PREPARE), leaving no gap; one that skipped nothing,
-- or rolled the skip back, commits.  Needs real commits: run it with
-- pg_prove outside a transaction.  Creates and drops schema tap_commit_oc.
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
BEGIN
    IF to_regclass('tap_commit_oc.t') IS NOT NULL THEN
        IF EXISTS (SELECT 1 FROM audit_chain.chains WHERE tbl = 'tap_commit_oc.t'::regclass) THEN
            PERFORM audit_chain.unprotect('tap_commit_oc.t', 'pgTAP cleanup');
        END IF;
    END IF;
    DROP SCHEMA IF EXISTS tap_commit_oc CASCADE;
END
$$;

SELECT plan(16);

CREATE SCHEMA tap_commit_oc;
CREATE TABLE tap_commit_oc.t (id int PRIMARY KEY, v text);
SELECT audit_chain.protect('tap_commit_oc.t');
INSERT INTO tap_commit_oc.t (id, v) VALUES (1, 'a');

-- A skipped row in an explicit transaction: the COMMIT fails
\echo '# an ERROR on stderr is expected next'
\set ON_ERROR_STOP false
\set LAST_ERROR_SQLSTATE 00000
BEGIN;
INSERT INTO tap_commit_oc.t (id, v) VALUES (1, 'dup') ON CONFLICT DO NOTHING;
COMMIT;
\set ON_ERROR_STOP true
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '39P01', 'COMMIT of a transaction that skipped a sealed row fails (39P01)');
SELECT matches(:'LAST_ERROR_MESSAGE'::text, '1 sealed row\(s\) of lane 0 of chained table "t" were not inserted',
               'the error says how many sealed rows were not inserted');

-- The same as a single statement in autocommit mode
\echo '# an ERROR on stderr is expected next'
\set ON_ERROR_STOP false
\set LAST_ERROR_SQLSTATE 00000
INSERT INTO tap_commit_oc.t (id, v) VALUES (1, 'dup'), (2, 'new') ON CONFLICT DO NOTHING;
\set ON_ERROR_STOP true
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '39P01', 'an autocommit INSERT ... ON CONFLICT DO NOTHING that skips a row fails');
SELECT results_eq($$SELECT id, chain_seq FROM tap_commit_oc.t ORDER BY chain_seq$$,
                  $$VALUES (1, 1::bigint)$$, 'nothing of the failed transactions is left');

-- Nothing skipped: it commits
SELECT lives_ok($$INSERT INTO tap_commit_oc.t (id, v) VALUES (2, 'b') ON CONFLICT DO NOTHING$$,
                'ON CONFLICT DO NOTHING without a conflict works');
SELECT is((SELECT chain_seq FROM tap_commit_oc.t WHERE id = 2), 2::bigint,
          'the row takes the next seq: the failed transactions left no gap');

-- The skip rolled back to a savepoint: the rest commits
\set LAST_ERROR_SQLSTATE 00000
BEGIN;
SAVEPOINT s;
INSERT INTO tap_commit_oc.t (id, v) VALUES (1, 'dup') ON CONFLICT DO NOTHING;
ROLLBACK TO SAVEPOINT s;
INSERT INTO tap_commit_oc.t (id, v) VALUES (3, 'c');
COMMIT;
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '00000', 'a skip undone by ROLLBACK TO SAVEPOINT does not block the COMMIT');
SELECT is((SELECT chain_seq FROM tap_commit_oc.t WHERE id = 3), 3::bigint, 'and the next row is seq 3');

-- The lane was taken before the savepoint, then a skip rolled back
\set LAST_ERROR_SQLSTATE 00000
BEGIN;
INSERT INTO tap_commit_oc.t (id, v) VALUES (4, 'd');
SAVEPOINT s;
INSERT INTO tap_commit_oc.t (id, v) VALUES (1, 'dup') ON CONFLICT DO NOTHING;
ROLLBACK TO SAVEPOINT s;
INSERT INTO tap_commit_oc.t (id, v) VALUES (5, 'e');
COMMIT;
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '00000', 'lane held across the savepoint: the COMMIT succeeds');
SELECT results_eq($$SELECT id, chain_seq FROM tap_commit_oc.t WHERE id IN (4, 5) ORDER BY id$$,
                  $$VALUES (4, 4::bigint), (5, 5::bigint)$$, 'seqs 4 and 5, no hole where the skip was');

-- PREPARE TRANSACTION is checked the same way (needs max_prepared_transactions)
SELECT current_setting('max_prepared_transactions')::int > 0 AS can_prepare \gset
\if :can_prepare
\echo '# an ERROR on stderr is expected next'
\set ON_ERROR_STOP false
\set LAST_ERROR_SQLSTATE 00000
BEGIN;
INSERT INTO tap_commit_oc.t (id, v) VALUES (1, 'dup') ON CONFLICT DO NOTHING;
PREPARE TRANSACTION 'tap_commit_oc_skip';
\set ON_ERROR_STOP true
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '39P01', 'PREPARE TRANSACTION after a skipped row fails');
SELECT is((SELECT count(*)::int FROM pg_prepared_xacts WHERE gid = 'tap_commit_oc_skip'), 0,
          'and nothing was prepared');
BEGIN;
INSERT INTO tap_commit_oc.t (id, v) VALUES (6, 'f');
PREPARE TRANSACTION 'tap_commit_oc_ok';
COMMIT PREPARED 'tap_commit_oc_ok';
SELECT is((SELECT chain_seq FROM tap_commit_oc.t WHERE id = 6), 6::bigint,
          'a prepared then committed transaction seals seq 6');
\else
SELECT skip('max_prepared_transactions is 0', 3);
INSERT INTO tap_commit_oc.t (id, v) VALUES (6, 'f');
\endif

SELECT results_eq($$SELECT rows_checked, intact FROM audit_chain.verify_chain('tap_commit_oc.t')$$,
                  $$VALUES (6::bigint, true)$$, 'the chain is intact after all of it');
SELECT is((SELECT array_agg(chain_seq ORDER BY chain_seq) FROM tap_commit_oc.t),
          ARRAY[1, 2, 3, 4, 5, 6]::bigint[], 'seqs 1..6 without a gap');

-- ON CONFLICT DO UPDATE is an UPDATE, refused
SELECT throws_ok($$INSERT INTO tap_commit_oc.t (id, v) VALUES (1, 'x') ON CONFLICT (id) DO UPDATE SET v = 'y'$$,
                 '0A000', NULL, 'ON CONFLICT DO UPDATE is refused');

SELECT * FROM finish();

-- Clean up
SELECT audit_chain.unprotect('tap_commit_oc.t', 'pgTAP cleanup') \g /dev/null
DROP SCHEMA tap_commit_oc CASCADE;
\if :drop_audit_chain
DROP EXTENSION audit_chain;
\endif
\if :drop_pgtap
DROP EXTENSION pgtap;
\endif
