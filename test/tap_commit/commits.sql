-- Chains across real commits: aborted transactions give their seqs back,
-- checkpoints and verification see committed rows, and unprotect() is
-- recorded and lets the table go.  Run with pg_prove outside a
-- transaction.  Creates and drops schema tap_commit_c.
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
              WHERE n.nspname = 'tap_commit_c' GROUP BY c.tbl
    LOOP
        PERFORM audit_chain.unprotect(t, 'pgTAP cleanup');
    END LOOP;
    DROP SCHEMA IF EXISTS tap_commit_c CASCADE;
END
$$;

SELECT plan(21);

CREATE SCHEMA tap_commit_c;
CREATE TABLE tap_commit_c.log (id int CHECK (id > 0), v text);
SELECT audit_chain.protect('tap_commit_c.log', lanes => 2);
CREATE TABLE tap_commit_c.lane AS SELECT NULL::smallint AS l;

-- Three committed transactions
INSERT INTO tap_commit_c.log (id, v) VALUES (1, 'a'), (2, 'b');
INSERT INTO tap_commit_c.log (id, v) VALUES (3, 'c');
BEGIN;
INSERT INTO tap_commit_c.log (id, v) VALUES (4, 'd');
INSERT INTO tap_commit_c.log (id, v) VALUES (5, 'e');
COMMIT;
UPDATE tap_commit_c.lane SET l = (SELECT min(chain_lane) FROM tap_commit_c.log);
SELECT is((SELECT count(DISTINCT chain_lane)::int FROM tap_commit_c.log), 1,
          'one backend, one after another: its transactions keep to one lane');
SELECT is((SELECT array_agg(chain_seq ORDER BY chain_seq) FROM tap_commit_c.log),
          ARRAY[1, 2, 3, 4, 5]::bigint[], 'committed transactions: seqs 1..5');

-- A rolled-back transaction gives its seqs back
BEGIN;
INSERT INTO tap_commit_c.log (id, v) SELECT g, 'undone' FROM generate_series(100, 109) g;
ROLLBACK;
INSERT INTO tap_commit_c.log (id, v) VALUES (6, 'f');
SELECT is((SELECT chain_seq FROM tap_commit_c.log WHERE id = 6), 6::bigint,
          'after a ROLLBACK the next row is seq 6');
SELECT is((SELECT chain_prev FROM tap_commit_c.log WHERE id = 6),
          (SELECT chain_hash FROM tap_commit_c.log WHERE id = 5), 'and links to seq 5');

-- A statement failing half-way (the third row breaks a CHECK)
SELECT throws_ok($$INSERT INTO tap_commit_c.log (id, v) VALUES (7, 'g'), (8, 'h'), (-1, 'bad')$$,
                 '23514', NULL, 'a multi-row INSERT fails on its last row');
INSERT INTO tap_commit_c.log (id, v) VALUES (7, 'g');
SELECT is((SELECT chain_seq FROM tap_commit_c.log WHERE id = 7), 7::bigint,
          'after a failed statement the next row is seq 7');

-- A transaction that failed in an explicit block
\echo '# an ERROR on stderr is expected next'
\set ON_ERROR_STOP false
BEGIN;
INSERT INTO tap_commit_c.log (id, v) VALUES (50, 'lost');
SELECT 1 / 0;
COMMIT;
\set ON_ERROR_STOP true
INSERT INTO tap_commit_c.log (id, v) VALUES (8, 'h');
SELECT is((SELECT chain_seq FROM tap_commit_c.log WHERE id = 8), 8::bigint,
          'after an aborted transaction block the next row is seq 8');

-- Checkpoint, committed
SELECT audit_chain.checkpoint() \g /dev/null
SELECT results_eq(
    $$SELECT lane, seq FROM audit_chain.checkpoint_heads WHERE tbl = 'tap_commit_c.log'::regclass
       AND checkpoint_id = (SELECT max(checkpoint_id) FROM audit_chain.checkpoints) ORDER BY lane$$,
    $$SELECT g::smallint, CASE WHEN g = l THEN 8::bigint ELSE 0::bigint END
        FROM tap_commit_c.lane, generate_series(0, 1) g ORDER BY g$$,
    'the checkpoint holds seq 8 for the used lane and 0 for the empty one');
SELECT results_eq(
    $$SELECT hash FROM audit_chain.checkpoint_heads h, tap_commit_c.lane
       WHERE h.tbl = 'tap_commit_c.log'::regclass AND h.lane = l AND h.checkpoint_id = (SELECT max(checkpoint_id) FROM audit_chain.checkpoints)$$,
    $$SELECT chain_hash FROM tap_commit_c.log WHERE chain_seq = 8$$,
    'and the hash of seq 8');
SELECT results_eq(
    $$SELECT hash FROM audit_chain.checkpoint_heads h, tap_commit_c.lane
       WHERE h.tbl = 'tap_commit_c.log'::regclass AND h.lane <> l AND h.checkpoint_id = (SELECT max(checkpoint_id) FROM audit_chain.checkpoints)$$,
    $$SELECT genesis FROM audit_chain.chains c, tap_commit_c.lane
       WHERE c.tbl = 'tap_commit_c.log'::regclass AND c.lane <> l$$,
    'and the genesis of the empty lane');
INSERT INTO tap_commit_c.log (id, v) VALUES (9, 'i');
SELECT results_eq($$SELECT sum(rows_checked)::int, bool_and(intact) FROM audit_chain.verify_chain('tap_commit_c.log')$$,
                  $$VALUES (9, true)$$, 'rows after the checkpoint verify');
SELECT is((SELECT count(*)::int FROM audit_chain.verification_log
            WHERE tbl = 'tap_commit_c.log'::regclass AND intact), 2,
          'the run was logged, one row per lane');
SELECT lives_ok($$CALL audit_chain.assert_intact('tap_commit_c.log')$$, 'assert_intact() passes');

-- unprotect(), committed
CREATE TABLE tap_commit_c.heads AS
    SELECT c.lane, h.seq, h.hash FROM audit_chain.chains c, audit_chain.lane_head(c.tbl, c.lane) h
     WHERE c.tbl = 'tap_commit_c.log'::regclass;
SELECT audit_chain.unprotect('tap_commit_c.log', 'end of test') \g /dev/null
SELECT results_eq(
    $$SELECT action, lanes, reason FROM audit_chain.protection_log
       WHERE relid = 'tap_commit_c.log'::regclass ORDER BY id$$,
    $$VALUES ('protect', 2, NULL::text), ('unprotect', 2, 'end of test')$$,
    'protect and unprotect both recorded');
SELECT results_eq(
    $$SELECT (e->>'lane')::int, (e->>'seq')::bigint, decode(e->>'hash', 'hex')
        FROM audit_chain.protection_log p, jsonb_array_elements(p.heads) e
       WHERE p.relid = 'tap_commit_c.log'::regclass AND p.action = 'unprotect' ORDER BY 1$$,
    $$SELECT lane::int, seq, hash FROM tap_commit_c.heads ORDER BY 1$$,
    'the unprotect records each lane head');
SELECT is((SELECT count(*)::int FROM audit_chain.chains WHERE tbl = 'tap_commit_c.log'::regclass), 0,
          'the lanes are unregistered');
SELECT throws_ok($$SELECT * FROM audit_chain.verify_chain('tap_commit_c.log')$$, NULL, NULL,
                 'verify_chain() of an unprotected table is an error');
SELECT lives_ok($$INSERT INTO tap_commit_c.log (id, v) VALUES (10, 'j')$$,
                'after unprotect the chain columns take NULL: a plain insert works');
SELECT lives_ok($$UPDATE tap_commit_c.log SET v = 'changed' WHERE id = 1$$, 'UPDATE works again');
SELECT 'tap_commit_c.log'::regclass::oid AS relid \gset
SELECT lives_ok($$DROP TABLE tap_commit_c.log$$, 'DROP TABLE works again');
SELECT is((SELECT count(*)::int FROM audit_chain.protection_log
            WHERE relid = :relid AND action = 'unprotect'), 1,
          'the record of the unprotect outlives the table');

SELECT * FROM finish();

-- Clean up
DROP SCHEMA tap_commit_c CASCADE;
\if :drop_audit_chain
DROP EXTENSION audit_chain;
\endif
\if :drop_pgtap
DROP EXTENSION pgtap;
\endif
