-- verify_chain() and assert_intact() against tampering by a superuser who
-- bypasses the triggers with session_replication_role = replica: changed
-- values and chain columns, deleted, forged, duplicated, swapped and stray
-- rows, a cut tail and a rewritten chain (against a checkpoint), and the
-- verification log.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

SELECT plan(54);

CREATE SCHEMA tap_verify;

-- make(name, n): a chained table of n rows, seqs 1..n in lane 0
CREATE FUNCTION tap_verify.make(name text, n int, lanes int DEFAULT 1) RETURNS regclass
LANGUAGE plpgsql AS $$
DECLARE
    t regclass;
BEGIN
    EXECUTE format('CREATE TABLE tap_verify.%I (id int, payload text, at timestamptz)', name);
    t := format('tap_verify.%I', name)::regclass;
    PERFORM audit_chain.protect(t, lanes);
    EXECUTE format('INSERT INTO %s (id, payload, at) SELECT g, %L || g, %L::timestamptz + g * interval %L '
                   'FROM generate_series(1, %s) g',
                   t, 'row ', '2024-01-01 00:00:00+00', '1 hour', n);
    RETURN t;
END
$$;

-- rehash(t, lane, from_seq): recompute the links and hashes of a lane from
-- from_seq on, as a forger with superuser rights could
CREATE FUNCTION tap_verify.rehash(t regclass, l int, from_seq bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    s bigint;
    top bigint;
BEGIN
    EXECUTE format('SELECT max(chain_seq) FROM %s WHERE chain_lane = %s', t, l) INTO top;
    FOR s IN from_seq .. top LOOP
        IF s = 1 THEN
            EXECUTE format('UPDATE %s SET chain_prev = (SELECT genesis FROM audit_chain.chains '
                           'WHERE tbl = %L::regclass AND lane = %s) WHERE chain_lane = %s AND chain_seq = 1',
                           t, t, l, l);
        ELSE
            EXECUTE format('UPDATE %s SET chain_prev = (SELECT chain_hash FROM %s WHERE chain_lane = %s '
                           'AND chain_seq = %s) WHERE chain_lane = %s AND chain_seq = %s',
                           t, t, l, s - 1, l, s);
        END IF;
        EXECUTE format('UPDATE %s SET chain_hash = audit_chain.row_hash(%L, %s, %s) '
                       'WHERE chain_lane = %s AND chain_seq = %s', t, t, l, s, l, s);
    END LOOP;
END
$$;

-- Build every table first, while the triggers are on
SELECT tap_verify.make('clean', 6);
SELECT tap_verify.make('value', 6);
SELECT tap_verify.make('at', 6);
SELECT tap_verify.make('prev', 6);
SELECT tap_verify.make('hash', 6);
SELECT tap_verify.make('seq', 6);
SELECT tap_verify.make('deleted', 6);
SELECT tap_verify.make('deleted2', 6);
SELECT tap_verify.make('forged', 6);
SELECT tap_verify.make('dup', 6);
SELECT tap_verify.make('swapped', 6);
SELECT tap_verify.make('stray', 6);
SELECT tap_verify.make('tail', 6);
SELECT tap_verify.make('tail_nocp', 6);
SELECT tap_verify.make('rewritten', 6);
SELECT tap_verify.make('twolanes', 4, 2);
SELECT tap_verify.make('empty', 0);

-- Checkpoint: records every lane head of every chained table
SELECT cmp_ok(audit_chain.checkpoint(), '>', 0::bigint, 'checkpoint() returns an id');

SELECT results_eq(
    $$SELECT lane, rows_checked, intact, first_bad_seq, problem FROM audit_chain.verify_chain('tap_verify.clean')$$,
    $$VALUES (0, 6::bigint, true, NULL::bigint, NULL::text)$$,
    'an untouched table is intact');
SELECT results_eq(
    $$SELECT lane, rows_checked, intact FROM audit_chain.verify_chain('tap_verify.empty')$$,
    $$VALUES (0, 0::bigint, true)$$,
    'an empty chained table is intact');
SELECT lives_ok($$CALL audit_chain.assert_intact('tap_verify.clean')$$,
                'assert_intact() passes on an intact table');

-- Tamper, as a superuser bypassing the triggers
SET LOCAL session_replication_role = replica;

UPDATE tap_verify.value SET payload = 'changed' WHERE chain_seq = 3;
UPDATE tap_verify.at SET chain_at = chain_at + interval '1 microsecond' WHERE chain_seq = 3;
UPDATE tap_verify.prev SET chain_prev = sha256('\x00') WHERE chain_seq = 3;
UPDATE tap_verify.hash SET chain_hash = sha256('\x00') WHERE chain_seq = 3;
UPDATE tap_verify.seq SET chain_seq = 30 WHERE chain_seq = 3;
DELETE FROM tap_verify.deleted WHERE chain_seq = 3;
DELETE FROM tap_verify.deleted2 WHERE chain_seq IN (3, 4);

-- A forged row inserted at seq 4, the later rows renumbered, the forged row
-- itself given a correct link and hash
UPDATE tap_verify.forged SET chain_seq = -chain_seq WHERE chain_seq >= 4;
UPDATE tap_verify.forged SET chain_seq = 1 - chain_seq WHERE chain_seq < 0;
INSERT INTO tap_verify.forged (id, payload, at, chain_lane, chain_seq, chain_at, chain_prev, chain_hash)
SELECT 100, 'forged', at, 0, 4, chain_at + interval '1 second', chain_hash, sha256('\x00')
  FROM tap_verify.forged WHERE chain_seq = 3;
UPDATE tap_verify.forged SET chain_hash = audit_chain.row_hash('tap_verify.forged', 0, 4) WHERE chain_seq = 4;

-- A second row with seq 3 (the unique index is dropped first; event
-- triggers do not fire under session_replication_role = replica either)
DROP INDEX tap_verify.dup_chain_idx;
INSERT INTO tap_verify.dup (id, payload, at, chain_lane, chain_seq, chain_at, chain_prev, chain_hash)
SELECT 100, 'duplicate', at, chain_lane, chain_seq, chain_at, chain_prev, chain_hash
  FROM tap_verify.dup WHERE chain_seq = 3;

-- Rows 3 and 4 swap places
UPDATE tap_verify.swapped SET chain_seq = -chain_seq WHERE chain_seq IN (3, 4);
UPDATE tap_verify.swapped SET chain_seq = CASE chain_seq WHEN -3 THEN 4 ELSE 3 END WHERE chain_seq < 0;

-- A row in a lane that the table does not have
INSERT INTO tap_verify.stray (id, payload, at, chain_lane, chain_seq, chain_at, chain_prev, chain_hash)
VALUES (100, 'stray', now(), 7, 1, now(), sha256('\x00'), sha256('\x01'));

-- The newest rows cut, with and without a checkpoint covering them
DELETE FROM tap_verify.tail WHERE chain_seq >= 5;

-- Rewritten from seq 2 on, every link and hash recomputed: consistent in
-- itself, but not with the checkpoint
UPDATE tap_verify.rewritten SET payload = 'rewritten' WHERE chain_seq = 2;
SELECT tap_verify.rehash('tap_verify.rewritten', 0, 2);

-- Two lanes: the 4 rows went to the lane this backend picked; a correct
-- row is forged into the other lane (the chain cannot tell; see the README,
-- What it guarantees), later a row of that lane is changed
CREATE TEMP TABLE tap_lanes AS
    SELECT min(chain_lane)::int AS used, 1 - min(chain_lane)::int AS other FROM tap_verify.twolanes;
INSERT INTO tap_verify.twolanes (id, payload, at, chain_lane, chain_seq, chain_at, chain_prev, chain_hash)
SELECT 200, 'other lane', now(), other, 1, clock_timestamp(), '\x00', '\x00' FROM tap_lanes;
SELECT tap_verify.rehash('tap_verify.twolanes', other, 1) FROM tap_lanes;

SET LOCAL session_replication_role = origin;

-- Rows that were added after the checkpoint and then cut are not detectable
INSERT INTO tap_verify.tail_nocp (id) VALUES (7), (8);
SET LOCAL session_replication_role = replica;
DELETE FROM tap_verify.tail_nocp WHERE chain_seq >= 7;
SET LOCAL session_replication_role = origin;

SELECT results_eq(
    $$SELECT lane, rows_checked, intact, first_bad_seq FROM audit_chain.verify_chain('tap_verify.value')$$,
    $$VALUES (0, 6::bigint, false, 3::bigint)$$, 'changed value: broken at seq 3');
SELECT matches((SELECT problem FROM audit_chain.verify_chain('tap_verify.value')),
               'chain_hash of chain_seq 3 does not match the row''s contents',
               'changed value: problem says the contents do not match');

SELECT results_eq(
    $$SELECT intact, first_bad_seq FROM audit_chain.verify_chain('tap_verify.at')$$,
    $$VALUES (false, 3::bigint)$$, 'chain_at changed by 1 microsecond: broken at seq 3');
SELECT matches((SELECT problem FROM audit_chain.verify_chain('tap_verify.at')),
               'chain_seq 3 does not match', 'chain_at changed: problem names seq 3');

SELECT results_eq(
    $$SELECT intact, first_bad_seq FROM audit_chain.verify_chain('tap_verify.prev')$$,
    $$VALUES (false, 3::bigint)$$, 'chain_prev changed: broken at seq 3');
SELECT matches((SELECT problem FROM audit_chain.verify_chain('tap_verify.prev')),
               'chain_prev of chain_seq 3', 'chain_prev changed: problem names the link');

SELECT results_eq(
    $$SELECT intact, first_bad_seq FROM audit_chain.verify_chain('tap_verify.hash')$$,
    $$VALUES (false, 3::bigint)$$, 'chain_hash changed: broken at seq 3');
SELECT matches((SELECT problem FROM audit_chain.verify_chain('tap_verify.hash')),
               'chain_hash of chain_seq 3', 'chain_hash changed: problem names the hash');

SELECT results_eq(
    $$SELECT intact, first_bad_seq FROM audit_chain.verify_chain('tap_verify.seq')$$,
    $$VALUES (false, 3::bigint)$$, 'chain_seq changed: broken at seq 3');
SELECT matches((SELECT problem FROM audit_chain.verify_chain('tap_verify.seq')),
               'chain_seq 3', 'chain_seq changed: problem names seq 3');

SELECT results_eq(
    $$SELECT rows_checked, intact, first_bad_seq FROM audit_chain.verify_chain('tap_verify.deleted')$$,
    $$VALUES (5::bigint, false, 3::bigint)$$, 'deleted middle row: broken at seq 3');
SELECT matches((SELECT problem FROM audit_chain.verify_chain('tap_verify.deleted')),
               'chain_seq 3 is missing', 'deleted middle row: problem says seq 3 is missing');
SELECT results_eq(
    $$SELECT rows_checked, intact, first_bad_seq FROM audit_chain.verify_chain('tap_verify.deleted2')$$,
    $$VALUES (4::bigint, false, 3::bigint)$$, 'two deleted rows: broken at seq 3');
SELECT matches((SELECT problem FROM audit_chain.verify_chain('tap_verify.deleted2')),
               '3 to 4 are missing', 'two deleted rows: problem names the range');

SELECT results_eq(
    $$SELECT rows_checked, intact, first_bad_seq FROM audit_chain.verify_chain('tap_verify.forged')$$,
    $$VALUES (7::bigint, false, 5::bigint)$$,
    'forged row in the middle (itself well linked): the row after it breaks, seq 5');
SELECT matches((SELECT problem FROM audit_chain.verify_chain('tap_verify.forged')),
               'chain_prev of chain_seq 5', 'forged row: problem names the broken link');

SELECT results_eq(
    $$SELECT rows_checked, intact, first_bad_seq FROM audit_chain.verify_chain('tap_verify.dup')$$,
    $$VALUES (7::bigint, false, 3::bigint)$$, 'duplicate seq 3: broken at seq 3');
SELECT matches((SELECT problem FROM audit_chain.verify_chain('tap_verify.dup')),
               'chain_seq 3', 'duplicate seq: problem names seq 3');

SELECT results_eq(
    $$SELECT rows_checked, intact, first_bad_seq FROM audit_chain.verify_chain('tap_verify.swapped')$$,
    $$VALUES (6::bigint, false, 3::bigint)$$, 'rows 3 and 4 swapped: broken at seq 3');
SELECT matches((SELECT problem FROM audit_chain.verify_chain('tap_verify.swapped')),
               'reordered', 'swapped rows: problem says replaced or reordered');

SELECT results_eq(
    $$SELECT lane, rows_checked, intact FROM audit_chain.verify_chain('tap_verify.stray') ORDER BY lane NULLS LAST$$,
    $$VALUES (0, 6::bigint, true), (NULL, 1::bigint, false)$$,
    'a row in an unregistered lane: lane 0 intact, plus a failing row with lane NULL');
SELECT matches((SELECT problem FROM audit_chain.verify_chain('tap_verify.stray') WHERE lane IS NULL),
               'lane 7', 'stray row: problem names lane 7');
SELECT throws_ok($$CALL audit_chain.assert_intact('tap_verify.stray')$$, 'XX001', NULL,
                 'assert_intact() fails on a stray row');

SELECT results_eq(
    $$SELECT rows_checked, intact, first_bad_seq FROM audit_chain.verify_chain('tap_verify.tail')$$,
    $$VALUES (4::bigint, false, 5::bigint)$$, 'tail cut below the checkpoint: broken at seq 5');
SELECT matches((SELECT problem FROM audit_chain.verify_chain('tap_verify.tail')),
               'cut from the tail', 'tail cut: problem says rows were cut from the tail');
SELECT results_eq(
    $$SELECT rows_checked, intact FROM audit_chain.verify_chain('tap_verify.tail_nocp')$$,
    $$VALUES (6::bigint, true)$$,
    'rows written after the last checkpoint and cut are not detectable (threat model)');

SELECT results_eq(
    $$SELECT rows_checked, intact, first_bad_seq FROM audit_chain.verify_chain('tap_verify.rewritten')$$,
    $$VALUES (6::bigint, false, 6::bigint)$$,
    'chain rewritten with recomputed hashes: caught at the checkpointed seq 6');
SELECT matches((SELECT problem FROM audit_chain.verify_chain('tap_verify.rewritten')),
               'differs from checkpoint', 'rewritten chain: problem names the checkpoint');
SELECT is((SELECT chain_hash FROM tap_verify.rewritten WHERE chain_seq = 6),
          audit_chain.row_hash('tap_verify.rewritten', 0, 6),
          'the rewritten rows are consistent in themselves');

SELECT results_eq(
    $$SELECT v.lane, v.rows_checked, v.intact FROM audit_chain.verify_chain('tap_verify.twolanes') v ORDER BY v.lane$$,
    $$SELECT used, 4::bigint, true FROM tap_lanes UNION ALL SELECT other, 1::bigint, true FROM tap_lanes ORDER BY 1$$,
    'two lanes, each verified on its own');
SET LOCAL session_replication_role = replica;
UPDATE tap_verify.twolanes SET payload = 'changed' WHERE chain_lane = (SELECT other FROM tap_lanes);
SET LOCAL session_replication_role = origin;
SELECT results_eq(
    $$SELECT v.lane, v.intact, v.first_bad_seq FROM audit_chain.verify_chain('tap_verify.twolanes') v ORDER BY v.lane$$,
    $$SELECT used, true, NULL::bigint FROM tap_lanes UNION ALL SELECT other, false, 1::bigint FROM tap_lanes ORDER BY 1$$,
    'a change in one lane breaks that lane only');

-- assert_intact()
SELECT throws_ok($$CALL audit_chain.assert_intact('tap_verify.value')$$, 'XX001',
                 'audit chain verification failed in 1 lane(s)', 'assert_intact() raises XX001 on a changed row');
SELECT throws_ok($$CALL audit_chain.assert_intact('tap_verify.tail')$$, 'XX001', NULL,
                 'assert_intact() raises XX001 on a cut tail');
SELECT throws_ok($$CALL audit_chain.assert_intact()$$, 'XX001', NULL,
                 'assert_intact() of every table raises XX001');
SELECT lives_ok($$CALL audit_chain.assert_intact('tap_verify.clean')$$,
                'assert_intact() of an intact table still passes');

-- verify_chain() with no argument covers every chained table
SELECT is((SELECT count(*)::int FROM audit_chain.verify_chain() v
            WHERE v.tbl::text LIKE 'tap_verify.%' AND v.lane IS NOT NULL), 18,
          'verify_chain() reports every lane of every chained table');
SELECT is((SELECT count(*)::int FROM audit_chain.verify_chain() v
            WHERE v.tbl::text LIKE 'tap_verify.%' AND NOT v.intact), 14,
          'verify_chain() reports each broken table');

-- The verification log
CREATE TEMP TABLE tap_before AS
    SELECT count(*) AS n FROM audit_chain.verification_log WHERE tbl = 'tap_verify.twolanes'::regclass;
SELECT is((SELECT count(*)::int FROM audit_chain.verify_chain('tap_verify.twolanes')), 2, 'one more run');
SELECT is((SELECT count(*) FROM audit_chain.verification_log WHERE tbl = 'tap_verify.twolanes'::regclass),
          (SELECT n + 2 FROM tap_before),
          'each verify_chain() run appends one log row per lane');
SELECT results_eq(
    $$SELECT intact, first_bad_seq, problem, rows_checked, last_seq, last_hash, verified_by::text
        FROM audit_chain.verification_log WHERE tbl = 'tap_verify.clean'::regclass
       ORDER BY verification_id DESC LIMIT 1$$,
    $$SELECT true, NULL::bigint, NULL::text, 6::bigint, h.seq, h.hash, session_user::text
        FROM audit_chain.lane_head('tap_verify.clean', 0) h$$,
    'an intact run logs rows_checked and the last seq and hash');
SELECT results_eq(
    $$SELECT intact, first_bad_seq, problem LIKE '%does not match%', rows_checked
        FROM audit_chain.verification_log WHERE tbl = 'tap_verify.value'::regclass
       ORDER BY verification_id DESC LIMIT 1$$,
    $$VALUES (false, 3::bigint, true, 6::bigint)$$,
    'a failed run logs the first bad seq and the problem');
SELECT is((SELECT count(*)::int FROM audit_chain.verification_log
            WHERE tbl = 'tap_verify.stray'::regclass AND lane IS NULL AND NOT intact) > 0, true,
          'a stray row is logged with lane NULL');
SELECT is((SELECT count(*) FROM audit_chain.verification_log WHERE verified_at IS NULL), 0::bigint,
          'every log row has a time');

-- Checkpoint contents
SELECT results_eq(
    $$SELECT seq, hash FROM audit_chain.checkpoint_heads
       WHERE tbl = 'tap_verify.clean'::regclass
         AND checkpoint_id = (SELECT max(checkpoint_id) FROM audit_chain.checkpoints)$$,
    $$SELECT chain_seq, chain_hash FROM tap_verify.clean WHERE chain_seq = 6$$,
    'checkpoint_heads holds the head of a lane');
SELECT results_eq(
    $$SELECT seq FROM audit_chain.checkpoint_heads
       WHERE tbl = 'tap_verify.empty'::regclass
         AND checkpoint_id = (SELECT max(checkpoint_id) FROM audit_chain.checkpoints)$$,
    $$VALUES (0::bigint)$$,
    'an empty lane is checkpointed at seq 0');
SELECT matches((SELECT convert_from(payload, 'UTF8') FROM audit_chain.checkpoints
                 ORDER BY checkpoint_id DESC LIMIT 1),
               '^audit_chain/checkpoint/v2\n', 'checkpoint payload starts with its format line');
SELECT matches((SELECT convert_from(payload, 'UTF8') FROM audit_chain.checkpoints
                 ORDER BY checkpoint_id DESC LIMIT 1),
               (SELECT '\nlane tap_verify.clean 0 ' || encode(c.genesis, 'hex') || ' 6 '
                       || encode(t.chain_hash, 'hex') || ' '
                       || (extract(epoch FROM t.chain_at) * 1000000)::bigint || ' 0 '
                  FROM tap_verify.clean t, audit_chain.chains c
                 WHERE t.chain_seq = 6 AND c.tbl = 'tap_verify.clean'::regclass),
               'checkpoint payload lists the lane head');
SELECT is((SELECT count(*)::int FROM audit_chain.checkpoint_heads h
            WHERE h.checkpoint_id = (SELECT max(checkpoint_id) FROM audit_chain.checkpoints)
              AND h.tbl::text LIKE 'tap_verify.%'), 18,
          'a checkpoint covers every lane of every chained table');

-- A later checkpoint moves the reference: the cut tail is now the base
SELECT cmp_ok(audit_chain.checkpoint(), '>', 0::bigint, 'a second checkpoint');
SELECT results_eq(
    $$SELECT intact FROM audit_chain.verify_chain('tap_verify.tail')$$,
    $$VALUES (true)$$,
    'after a new checkpoint taken over the cut tail, verify compares with the newest one');

SELECT * FROM finish();
ROLLBACK;
