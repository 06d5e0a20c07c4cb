-- How lane.c reads a lane when the chain index is gone, and the pre-commit
-- completeness check (complete.c) when rows in a lane are not the ones the
-- transaction sealed.  A superuser can get past the DDL guard (event
-- triggers off in session_replication_role replica) and drop the chain
-- index: lane heads are then read by a heap scan, and a transaction that
-- must be checked cannot commit.  A superuser writing into a lane held by
-- the transaction, past the seal trigger, makes that check fail too.  Needs
-- real commits: run it with pg_prove outside a transaction.  Creates and
-- drops schema tap_commit_lr.
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
    IF to_regclass('tap_commit_lr.t') IS NOT NULL THEN
        IF EXISTS (SELECT 1 FROM audit_chain.chains WHERE tbl = 'tap_commit_lr.t'::regclass) THEN
            PERFORM audit_chain.unprotect('tap_commit_lr.t', 'pgTAP cleanup');
        END IF;
    END IF;
    IF to_regclass('tap_commit_lr.u') IS NOT NULL THEN
        IF EXISTS (SELECT 1 FROM audit_chain.chains WHERE tbl = 'tap_commit_lr.u'::regclass) THEN
            PERFORM audit_chain.unprotect('tap_commit_lr.u', 'pgTAP cleanup');
        END IF;
    END IF;
    DROP SCHEMA IF EXISTS tap_commit_lr CASCADE;
END
$$;

SELECT plan(9);

CREATE SCHEMA tap_commit_lr;
CREATE TABLE tap_commit_lr.t (id int PRIMARY KEY, v text);
SELECT audit_chain.protect('tap_commit_lr.t') \g /dev/null
INSERT INTO tap_commit_lr.t (id, v) VALUES (1, 'a'), (2, 'b');

-- The chain index dropped behind the DDL guard's back
SET session_replication_role = replica;
DROP INDEX tap_commit_lr.t_chain_idx;
RESET session_replication_role;

-- The head is read from the heap (the known head went with the relcache entry)
INSERT INTO tap_commit_lr.t (id, v) VALUES (3, 'c');
SELECT is((SELECT chain_seq FROM tap_commit_lr.t WHERE id = 3), 3::bigint,
          'without the chain index, the next row follows the head read from the heap');
SELECT is((SELECT chain_prev FROM tap_commit_lr.t WHERE id = 3),
          (SELECT chain_hash FROM tap_commit_lr.t WHERE id = 2),
          'and links to it');
SELECT results_eq($$SELECT rows_checked, intact FROM audit_chain.verify_chain('tap_commit_lr.t')$$,
                  $$VALUES (3::bigint, true)$$, 'the chain is intact');

-- A transaction that must be checked cannot count its rows without the index
\echo '# an ERROR on stderr is expected next'
\set ON_ERROR_STOP false
\set LAST_ERROR_SQLSTATE 00000
BEGIN;
INSERT INTO tap_commit_lr.t (id, v) VALUES (4, 'd') ON CONFLICT DO NOTHING;
COMMIT;
\set ON_ERROR_STOP true
SELECT is(:'LAST_ERROR_SQLSTATE'::text, '55000',
          'without the chain index, COMMIT after ON CONFLICT fails (55000)');
SELECT is(:'LAST_ERROR_MESSAGE'::text,
          'chained table "t" has no index on (chain_lane, chain_seq)',
          'the error names the missing index');
SELECT is((SELECT count(*)::int FROM tap_commit_lr.t), 3, 'and the row is not there');

-- Rows written into a lane the transaction holds, past the seal trigger
CREATE TABLE tap_commit_lr.u (id int PRIMARY KEY, v text);
SELECT audit_chain.protect('tap_commit_lr.u') \g /dev/null
INSERT INTO tap_commit_lr.u (id, v) VALUES (1, 'a');
\echo '# an ERROR on stderr is expected next'
\set ON_ERROR_STOP false
\set LAST_ERROR_SQLSTATE 00000
BEGIN;
INSERT INTO tap_commit_lr.u (id, v) VALUES (2, 'b') ON CONFLICT DO NOTHING;
SET LOCAL session_replication_role = replica;
INSERT INTO tap_commit_lr.u (id, v, chain_lane, chain_seq, chain_at, chain_prev, chain_hash)
SELECT 3, 'forged', 0, 3, chain_at, chain_hash, chain_hash FROM tap_commit_lr.u WHERE id = 2;
COMMIT;
\set ON_ERROR_STOP true
SELECT is(:'LAST_ERROR_SQLSTATE'::text, 'XX001',
          'a lane holding a row the transaction did not seal: COMMIT fails (XX001)');
SELECT is(:'LAST_ERROR_MESSAGE'::text,
          'lane 0 of chained table "u" holds 1 row(s) this transaction did not seal',
          'the error says how many rows were not sealed');
SELECT is((SELECT count(*)::int FROM tap_commit_lr.u), 1, 'and none of them is there');

SELECT * FROM finish();

-- Clean up
SELECT audit_chain.unprotect('tap_commit_lr.t', 'pgTAP cleanup') \g /dev/null
SELECT audit_chain.unprotect('tap_commit_lr.u', 'pgTAP cleanup') \g /dev/null
DROP SCHEMA tap_commit_lr CASCADE;
\if :drop_audit_chain
DROP EXTENSION audit_chain;
\endif
\if :drop_pgtap
DROP EXTENSION pgtap;
\endif
