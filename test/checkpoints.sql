-- verify_chain() and every checkpoint (doc/checkpoints.md): the row of the
-- checkpoints themselves, published documents (export_checkpoint()) checked
-- on their own and against the stored ones, a re-protected table, chain_at
-- in a checkpoint, and checkpoints taken one at a time.  Unsigned
-- checkpoints here (the suite's cluster has no key); the signed ones are in
-- test/scenarios/signing.sh.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

SELECT plan(20);

CREATE SCHEMA tap_cp;
CREATE TABLE tap_cp.a (x int);
SELECT audit_chain.protect('tap_cp.a');
INSERT INTO tap_cp.a SELECT g FROM generate_series(1, 3) g;
CREATE TEMP TABLE cps AS SELECT audit_chain.checkpoint() AS cp1;
CREATE TEMP TABLE docs AS SELECT audit_chain.export_checkpoint((SELECT cp1 FROM cps)) AS doc1;

-- The checkpoints' row
SELECT is((SELECT count(*)::int FROM audit_chain.verify_chain('tap_cp.a')), 1,
          'verify_chain(tbl) of an intact table: its lanes only');
SELECT results_eq(
    $$SELECT lane, rows_checked, intact, first_bad_seq, problem FROM audit_chain.verify_chain()
       WHERE tbl = 'audit_chain.checkpoints'::regclass$$,
    $$SELECT NULL::int, (SELECT count(*) FROM audit_chain.checkpoints), true, NULL::bigint, NULL::text$$,
    'verify_chain() of every table: a row for the checkpoints, each one checked');
SELECT results_eq(
    $$SELECT rows_checked, intact FROM audit_chain.verify_chain('tap_cp.a', published => (SELECT doc1 FROM docs))
       WHERE tbl = 'audit_chain.checkpoints'::regclass$$,
    $$SELECT (SELECT count(*) + 1 FROM audit_chain.checkpoints), true$$,
    'a published checkpoint given: checked too, intact');
SELECT results_eq(
    $$SELECT rows_checked, intact FROM audit_chain.verify_chain('tap_cp.a', published => (SELECT json_build_array(doc1, doc1) FROM docs))
       WHERE tbl = 'audit_chain.checkpoints'::regclass$$,
    $$SELECT (SELECT count(*) + 2 FROM audit_chain.checkpoints), true$$,
    'an array of published checkpoints');
SELECT lives_ok(format('CALL audit_chain.assert_intact(%L, published => %L)', 'tap_cp.a', doc1),
                'assert_intact() with a published checkpoint')
  FROM docs;

-- Published documents that do not hold together
SELECT is((SELECT problem FROM audit_chain.verify_chain('tap_cp.a',
               published => (SELECT jsonb_set(doc1::jsonb, '{checkpoint_id}', '999')::json FROM docs))
            WHERE tbl = 'audit_chain.checkpoints'::regclass),
          'published checkpoint 999: its checkpoint_id or created_at is not what its payload says',
          'a published document whose checkpoint_id is not its payload''s');
SELECT is((SELECT problem FROM audit_chain.verify_chain('tap_cp.a',
               published => (SELECT jsonb_set(doc1::jsonb, '{key_id}', to_jsonb(repeat('ab', 32)))::json FROM docs))
            WHERE tbl = 'audit_chain.checkpoints'::regclass),
          format('published checkpoint %s: its key_id is not the key_id line of its payload', (SELECT cp1 FROM cps)),
          'a published document whose key_id is not its payload''s');
-- the payload changed (unsigned: nothing but the stored copy to compare with)
CREATE TEMP TABLE forged AS
SELECT jsonb_set(doc1::jsonb, '{payload}',
           to_jsonb(translate(encode(convert_to(
               regexp_replace(convert_from(decode(doc1->>'payload', 'base64'), 'UTF8'),
                              '(\nlane tap_cp\.a 0 [0-9a-f]{64} 3 )[0-9a-f]{64}', '\1' || repeat('0', 64)),
               'UTF8'), 'base64'), E'\n', '')))::json AS doc
  FROM docs;
SELECT matches((SELECT problem FROM audit_chain.verify_chain('tap_cp.a', published => (SELECT doc FROM forged))
                 WHERE tbl = 'audit_chain.checkpoints'::regclass),
               format('^published checkpoint %s differs from checkpoint %s in audit_chain.checkpoints',
                      (SELECT cp1 FROM cps), (SELECT cp1 FROM cps)),
               'a published document whose payload is not the stored one: differs');
SELECT throws_ok(format('CALL audit_chain.assert_intact(%L, published => %L)', 'tap_cp.a', doc),
                 'XX001', NULL, 'assert_intact() fails on it')
  FROM forged;
-- missing from the database (as after the attack of the README)
SELECT is((SELECT problem FROM audit_chain.verify_chain('tap_cp.a',
               published => (SELECT jsonb_set(jsonb_set(doc1::jsonb, '{checkpoint_id}', '987654'), '{payload}',
                   to_jsonb(translate(encode(convert_to(replace(convert_from(decode(doc1->>'payload', 'base64'), 'UTF8'),
                       'checkpoint_id ' || (SELECT cp1 FROM cps) || E'\n', E'checkpoint_id 987654\n'), 'UTF8'),
                       'base64'), E'\n', '')))::json FROM docs))
            WHERE tbl = 'audit_chain.checkpoints'::regclass),
          'published checkpoint 987654 is missing from audit_chain.checkpoints',
          'a published checkpoint the database does not hold');

-- chain_at is in the checkpoint: an unsigned newest checkpoint edited to
-- another chain_at (the hash covers chain_at, so only a forged checkpoint
-- can say so; a signed one would fail its signature first)
SAVEPOINT edit;
UPDATE audit_chain.checkpoints
   SET payload = convert_to(regexp_replace(convert_from(payload, 'UTF8'),
                     '(\nlane tap_cp\.a 0 [0-9a-f]{64} 3 [0-9a-f]{64} )[0-9]+ ', '\112345 '), 'UTF8')
 WHERE checkpoint_id = (SELECT cp1 FROM cps);
SELECT is((SELECT problem FROM audit_chain.verify_chain('tap_cp.a') WHERE lane = 0),
          format('chain_at of chain_seq 3 differs from checkpoint %s', (SELECT cp1 FROM cps)),
          'a checkpoint whose chain_at is not the row''s');
ROLLBACK TO SAVEPOINT edit;

-- A stored checkpoint deleted from the middle (unsigned ones chain too)
SAVEPOINT middle;
SELECT audit_chain.checkpoint() AS cp2 \gset
SELECT audit_chain.checkpoint() AS cp3 \gset
DELETE FROM audit_chain.checkpoint_heads WHERE checkpoint_id = :cp2;
DELETE FROM audit_chain.checkpoints WHERE checkpoint_id = :cp2;
SELECT matches((SELECT problem FROM audit_chain.verify_chain('tap_cp.a')
                 WHERE tbl = 'audit_chain.checkpoints'::regclass),
               format('^checkpoint %s does not follow checkpoint %s: ', :cp3, (SELECT cp1 FROM cps)),
               'a deleted middle checkpoint breaks the chain of checkpoints');
ROLLBACK TO SAVEPOINT middle;

-- Re-protected: a new genesis.  The newest stored checkpoint had the old
-- one: failed until a new checkpoint accepts the new start; a published
-- checkpoint of the old lane stays evidence that it was replaced.
SELECT audit_chain.unprotect('tap_cp.a', 're-protect test');
ALTER TABLE tap_cp.a DROP COLUMN chain_lane, DROP COLUMN chain_seq, DROP COLUMN chain_at,
    DROP COLUMN chain_prev, DROP COLUMN chain_hash;
SELECT audit_chain.protect('tap_cp.a');
SELECT is((SELECT problem FROM audit_chain.verify_chain('tap_cp.a') WHERE lane = 0),
          format('the lane''s start hash is not the one checkpoint %s recorded: its genesis or archived-through hash in audit_chain.chains was changed',
                 (SELECT cp1 FROM cps)),
          're-protected: the newest checkpoint recorded another genesis');
SELECT ok(audit_chain.checkpoint() > 0, 'a new checkpoint');
SELECT results_eq($$SELECT intact FROM audit_chain.verify_chain('tap_cp.a')$$, $$VALUES (true)$$,
                  'the new checkpoint accepts the new start');
SELECT matches((SELECT problem FROM audit_chain.verify_chain('tap_cp.a', published => (SELECT doc1 FROM docs))
                 WHERE tbl = 'audit_chain.checkpoints'::regclass),
               format('^published checkpoint %s records lane 0 of table tap_cp\.a with genesis [0-9a-f]{64}, which is no lane''s genesis in audit_chain\.chains',
                      (SELECT cp1 FROM cps)),
               'a published checkpoint of the old lane: its lane is gone');
SELECT is((SELECT problem FROM audit_chain.verify_chain('tap_cp.a', published => (SELECT doc1 FROM docs))
            WHERE lane = 0),
          format('the lane''s start hash is not the one published checkpoint %s recorded: its genesis or archived-through hash in audit_chain.chains was changed',
                 (SELECT cp1 FROM cps)),
          'and the lane fails against it');

-- Incremental verification uses the checkpoints too
INSERT INTO tap_cp.a VALUES (4);
SELECT ok(audit_chain.checkpoint() > 0, 'a checkpoint of the new lane');
SELECT results_eq($$SELECT intact FROM audit_chain.verify_chain('tap_cp.a', true)$$, $$VALUES (true)$$,
                  'incremental verification, intact');
INSERT INTO tap_cp.a VALUES (5);
SELECT audit_chain.checkpoint() > 0 AS checkpointed \gset
SET LOCAL session_replication_role = replica;
DELETE FROM tap_cp.a WHERE chain_seq = (SELECT max(chain_seq) FROM tap_cp.a);
SET LOCAL session_replication_role = origin;
SELECT matches((SELECT problem FROM audit_chain.verify_chain('tap_cp.a', true)),
               'rows were cut from the tail$', 'incremental verification: the cut tail against the checkpoint');

SELECT * FROM finish();
ROLLBACK;
