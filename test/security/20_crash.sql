-- Attack class 2 (issue 10): no crash from any input by any role.
--
-- Every C entry point that takes a regclass (lane_head, row_hash,
-- canonical_row, verify_chain, full and incremental, set_retention,
-- legal_hold, redact, export_segment) is called by an
-- unprivileged role on relations that are not chained tables: a temporary
-- table with chain columns of the wrong types (the issue's SIGSEGV), a view, a
-- materialized view, a sequence, an index, a composite type, a dropped OID,
-- OID 0, an unregistered table, and registered tables whose chain columns are
-- missing or of the wrong type or whose lanes are misnumbered (rows that the
-- old _register() let any table owner write).  Each gives its own clear
-- error.  Then the superuser's verify_chain() of every table, checkpoint()
-- and assert_intact() with those registry rows present: a clear failed lane
-- per broken table, the good table still verified and checkpointed, no
-- crash.  Before chaintable.c, the first lane_head() call crashed the server.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

SELECT plan(121);

CREATE ROLE sec_crash_attacker LOGIN;
CREATE SCHEMA sec_crash AUTHORIZATION sec_crash_attacker;
GRANT EXECUTE ON FUNCTION audit_chain.row_hash(regclass, integer, bigint),
    audit_chain.lane_head(regclass, integer),
    audit_chain.canonical_row(regclass, integer, bigint),
    audit_chain.verify_chain(regclass, boolean, json, text),
    audit_chain.set_retention(regclass, interval, text, interval),
    audit_chain.legal_hold(regclass, boolean, text),
    audit_chain.redact(regclass, integer, bigint, text[], text),
    audit_chain.export_segment(regclass, integer, bigint, bigint) TO sec_crash_attacker;

-- A good chained table, owned by the superuser
CREATE TABLE sec_crash.good (id int, note text);
SELECT audit_chain.protect('sec_crash.good');
INSERT INTO sec_crash.good (id, note) VALUES (1, 'one'), (2, 'two');

-- What the attacker makes
SET SESSION AUTHORIZATION sec_crash_attacker;
SET search_path = sec_crash, public;
CREATE TEMP TABLE w (chain_lane smallint, chain_seq bigint, chain_hash bigint);
CREATE UNIQUE INDEX ON w (chain_lane, chain_seq);
INSERT INTO w VALUES (0, 1, 1);
CREATE TABLE sec_crash.p (chain_lane smallint, chain_seq bigint, chain_hash bigint);
CREATE UNIQUE INDEX p_idx ON sec_crash.p (chain_lane, chain_seq);
INSERT INTO sec_crash.p VALUES (0, 1, 1);
CREATE VIEW sec_crash.v AS SELECT * FROM sec_crash.p;
CREATE MATERIALIZED VIEW sec_crash.m AS SELECT * FROM sec_crash.p;
CREATE SEQUENCE sec_crash.s;
CREATE TYPE sec_crash.ct AS (chain_lane smallint, chain_seq bigint, chain_hash bigint);
-- registered below by the superuser, as the old _register() let its owner do
CREATE TABLE sec_crash.bad (chain_lane smallint, chain_seq bigint, chain_at timestamptz,
                            chain_prev bytea, chain_hash bigint);
INSERT INTO sec_crash.bad VALUES (0, 1, now(), '\x00', 1);
CREATE TABLE sec_crash.short (chain_lane smallint, chain_seq bigint, chain_hash bigint);
CREATE UNIQUE INDEX ON sec_crash.short (chain_lane, chain_seq);
INSERT INTO sec_crash.short VALUES (0, 1, 1);
CREATE TABLE sec_crash.gappy (chain_lane smallint, chain_seq bigint, chain_at timestamptz,
                              chain_prev bytea, chain_hash bytea);
CREATE TABLE sec_crash.gone (x int);
SELECT 'sec_crash.gone'::regclass::oid AS gone_oid \gset
SELECT set_config('sec_crash.gone', :'gone_oid', true) IS NOT NULL AS remembered \gset
DROP TABLE sec_crash.gone;
RESET search_path;
RESET SESSION AUTHORIZATION;

INSERT INTO audit_chain.chains (tbl, lane, genesis)
VALUES ('sec_crash.bad', 0, sha256('x')), ('sec_crash.short', 0, sha256('x')),
       ('sec_crash.gappy', 0, sha256('x')), ('sec_crash.gappy', 2, sha256('x'));

-- The objects and the error each must give, in every entry point
CREATE TEMP TABLE sec_crash_cases (rel text, sqlstate text, msg text);
INSERT INTO sec_crash_cases VALUES
    ('''w''', '0A000', 'temporary table "w" cannot be a chained table'),
    ('''sec_crash.v''', '42809', '"v" is not a table'),
    ('''sec_crash.m''', '42809', '"m" is not a table'),
    ('''sec_crash.s''', '42809', '"s" is not a table'),
    ('''sec_crash.p_idx''', '42809', '"p_idx" is not a table'),
    ('''sec_crash.ct''', '42809', '"ct" is not a table'),
    (:'gone_oid', '42P01', 'relation with OID ' || :'gone_oid' || ' does not exist'),
    ('0', '42P01', 'relation with OID 0 does not exist'),
    ('''sec_crash.p''', '55000', 'table "p" is not a chained table'),
    ('''sec_crash.bad''', '42804',
     'column "chain_hash" of chained table "bad" has type bigint, not bytea'),
    ('''sec_crash.short''', '42703', 'chained table "short" has no column "chain_at"'),
    ('''sec_crash.gappy''', 'XX001',
     'lanes of table "gappy" in audit_chain.chains are not numbered 0 to 1');
CREATE TEMP TABLE sec_crash_calls (call text);
INSERT INTO sec_crash_calls VALUES
    ('SELECT * FROM audit_chain.lane_head(%s, 0)'),
    ('SELECT audit_chain.row_hash(%s, 0, 1)'),
    ('SELECT audit_chain.canonical_row(%s, 0, 1)'),
    ('SELECT * FROM audit_chain.verify_chain(%s)'),
    ('SELECT * FROM audit_chain.verify_chain(%s, true)'),
    ('SELECT audit_chain.set_retention(%s, interval ''1 year'')'),
    ('SELECT audit_chain.legal_hold(%s, true, ''x'')'),
    ('SELECT audit_chain.redact(%s, 0, 1, ARRAY[''chain_hash''], ''x'')'),
    ('SELECT * FROM audit_chain.export_segment(%s)');
GRANT SELECT ON sec_crash_cases, sec_crash_calls TO sec_crash_attacker;

-- 108 calls by the attacker: each a clear error, none a crash
SET SESSION AUTHORIZATION sec_crash_attacker;
SELECT throws_ok(format(k.call, c.rel || '::pg_catalog.regclass'), c.sqlstate, c.msg,
                 format('attacker: %s on %s: %s', split_part(k.call, '(', 1), c.rel, c.msg))
  FROM sec_crash_cases c CROSS JOIN sec_crash_calls k
 ORDER BY k.call, c.rel;
RESET SESSION AUTHORIZATION;

-- The seal trigger put by the attacker on its own tables, whose chain
-- columns have the wrong types: a clear error before a chain column is read
-- or written (it crashed reading a bigint chain_hash as a bytea)
SET SESSION AUTHORIZATION sec_crash_attacker;
CREATE TABLE sec_crash.sealed_bad (x int, chain_lane smallint, chain_seq bigint,
                                   chain_at timestamptz, chain_prev bytea, chain_hash bigint);
CREATE UNIQUE INDEX ON sec_crash.sealed_bad (chain_lane, chain_seq);
INSERT INTO sec_crash.sealed_bad VALUES (0, 0, 1, now(), '\x00', 12345);
CREATE TRIGGER zz_audit_chain_seal BEFORE INSERT ON sec_crash.sealed_bad
    FOR EACH ROW EXECUTE FUNCTION audit_chain.seal_row('1');
SELECT throws_ok($$INSERT INTO sec_crash.sealed_bad (x) VALUES (1)$$, '42804',
                 'column "chain_hash" of chained table "sealed_bad" has type bigint, not bytea',
                 'attacker: seal_row() on its own table with a bigint chain_hash');
CREATE TABLE sec_crash.sealed_text (x int, chain_lane smallint, chain_seq bigint,
                                    chain_at text, chain_prev bytea, chain_hash bytea);
CREATE TRIGGER zz_audit_chain_seal BEFORE INSERT ON sec_crash.sealed_text
    FOR EACH ROW EXECUTE FUNCTION audit_chain.seal_row('1');
SELECT throws_ok($$INSERT INTO sec_crash.sealed_text (x) VALUES (1)$$, '42804',
                 'column "chain_at" of chained table "sealed_text" has type text, not timestamp with time zone',
                 'attacker: seal_row() on its own table with a text chain_at');
RESET SESSION AUTHORIZATION;

-- The superuser gets the same answers on the registered broken tables
SELECT throws_ok($$SELECT * FROM audit_chain.lane_head('sec_crash.bad', 0)$$, '42804',
                 'column "chain_hash" of chained table "bad" has type bigint, not bytea',
                 'superuser: lane_head() on a registered table with a chain_hash of the wrong type');
SELECT throws_ok($$SELECT * FROM audit_chain.verify_chain('sec_crash.bad')$$, '42804',
                 'column "chain_hash" of chained table "bad" has type bigint, not bytea',
                 'superuser: verify_chain() of it');
SELECT throws_ok($$SELECT * FROM audit_chain.verify_chain('sec_crash.short', true)$$, '42703',
                 'chained table "short" has no column "chain_at"',
                 'superuser: incremental verify_chain() of a registered table without chain_at');
SELECT throws_ok($$SELECT * FROM audit_chain.lane_head('sec_crash.good', 1)$$, '22023',
                 'lane 1 is out of range',
                 'lane_head() of a lane the table does not have');

-- Registry rows pointing at a temporary table and at a dropped table too
INSERT INTO audit_chain.chains (tbl, lane, genesis)
VALUES ('w'::regclass, 0, sha256('x')), (:'gone_oid'::oid::regclass, 0, sha256('x'));

-- verify_chain() of every table: a failed lane per broken table, with why
SELECT results_eq(
    $$SELECT tbl::text, lane, rows_checked::int, intact, first_bad_seq, problem
        FROM audit_chain.verify_chain()
       WHERE tbl::text LIKE 'sec\_crash.%' OR tbl::text IN ('w', current_setting('sec_crash.gone'))
       ORDER BY tbl::oid, lane$$,
    $$VALUES ('sec_crash.good', 0, 2, true, NULL::bigint, NULL::text),
             ('w', 0, 0, false, NULL,
              'temporary table "w" cannot be a chained table: A temporary table disappears at the end of its session, and its audit trail with it.'),
             ('sec_crash.bad', 0, 0, false, NULL,
              'column "chain_hash" of chained table "bad" has type bigint, not bytea'),
             ('sec_crash.short', 0, 0, false, NULL,
              'chained table "short" has no column "chain_at": A chained table has the columns chain_lane, chain_seq, chain_at, chain_prev and chain_hash.'),
             ('sec_crash.gappy', 0, 0, false, NULL,
              'lanes of table "gappy" in audit_chain.chains are not numbered 0 to 1'),
             ('sec_crash.gappy', 1, 0, false, NULL,
              'lanes of table "gappy" in audit_chain.chains are not numbered 0 to 1'),
             (current_setting('sec_crash.gone'), 0, 0, false, NULL,
              'relation with OID ' || current_setting('sec_crash.gone') || ' does not exist: It is registered in audit_chain.chains: a chained table was dropped without audit_chain.unprotect().'),
             -- the seal trigger without a registry row is reported too
             ('sec_crash.sealed_bad', 0, 0, false, NULL,
              'table "sealed_bad" has the seal trigger of audit_chain but no lane in audit_chain.chains: its chains cannot be verified: a restore that did not load audit_chain.chains (pg_restore --schema-only, or a restore whose errors were ignored), or registry rows deleted'),
             ('sec_crash.sealed_text', 0, 0, false, NULL,
              'table "sealed_text" has the seal trigger of audit_chain but no lane in audit_chain.chains: its chains cannot be verified: a restore that did not load audit_chain.chains (pg_restore --schema-only, or a restore whose errors were ignored), or registry rows deleted')$$,
    'superuser: verify_chain() of every table reports each broken registry row (and a seal trigger without one) as a failed lane and still verifies the good table');
SELECT results_eq(
    $$SELECT count(*)::int, bool_and(intact) FROM audit_chain.verify_chain(NULL, true)
       WHERE tbl = 'sec_crash.good'::regclass$$,
    $$VALUES (1, true)$$,
    'superuser: incremental verify_chain() of every table too');
SELECT is((SELECT count(*)::int FROM audit_chain.verification_log
            WHERE NOT intact AND tbl::text IN ('sec_crash.bad', 'w', current_setting('sec_crash.gone'))
              AND first_bad_seq IS NULL AND problem IS NOT NULL), 6,
          'the failed lanes are in verification_log');
SELECT throws_ok($$CALL audit_chain.assert_intact()$$, 'XX001', NULL,
                 'superuser: assert_intact() fails, naming the broken tables');

-- checkpoint() leaves the broken tables out (with a warning) and records the good one
SET LOCAL client_min_messages = error;
SELECT lives_ok($$SELECT audit_chain.checkpoint()$$,
                'superuser: checkpoint() does not fail on broken registry rows');
SELECT results_eq(
    $$SELECT tbl::text, lane::int, seq FROM audit_chain.checkpoint_heads
       WHERE checkpoint_id = (SELECT max(checkpoint_id) FROM audit_chain.checkpoints)
         AND tbl::text NOT LIKE 'audit_chain.%' ORDER BY tbl::oid, lane$$,
    $$VALUES ('sec_crash.good', 0, 2::bigint)$$,
    'the checkpoint holds the good table''s head and nothing of the broken ones');

-- and the good table is still intact afterwards
SELECT results_eq($$SELECT intact FROM audit_chain.verify_chain('sec_crash.good')$$,
                  $$VALUES (true)$$, 'the good table verifies after all of it');

SELECT * FROM finish();
ROLLBACK;
