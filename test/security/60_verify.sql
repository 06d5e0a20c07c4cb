-- Attack class 6 (issue 10): verification never trusts what it should not.
--
-- 1. The registry, the checkpoints and the logs are private (no SELECT for
--    PUBLIC), yet the extension's own reads of them work for every role that
--    needs them: a writer with INSERT only seals the first row of an empty
--    lane (the lane's genesis is read for it), an auditor with SELECT on the
--    table and EXECUTE on verify_chain verifies in full and incrementally
--    against the newest checkpoint, and reads lane heads.
-- 2. Incremental verify_chain honours row-level security as the full walk
--    does: it refuses, where it used to read through the policy and report
--    the hidden rows as deleted.
-- 3. The start point of a lane in audit_chain.chains is checked against the
--    newest checkpoint: a genesis replaced after a checkpoint of an empty
--    lane, and rows cut from the head of a lane disguised as archiving (the
--    archived-through boundary moved after the checkpoint), fail the lane.
--    Before, both verified intact.  Since issue 12 the moved boundary fails
--    the lane even after a later checkpoint: audit_chain.boundaries, the
--    chained log of boundary moves, has no record of it.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

SELECT plan(28);

CREATE ROLE sec_v_writer LOGIN;
CREATE ROLE sec_v_auditor LOGIN;
CREATE SCHEMA sec_verify;
GRANT USAGE ON SCHEMA sec_verify TO PUBLIC;
GRANT EXECUTE ON FUNCTION audit_chain.verify_chain(regclass, boolean),
    audit_chain.lane_head(regclass, integer) TO sec_v_auditor;
GRANT EXECUTE ON PROCEDURE audit_chain.assert_intact(regclass, boolean) TO sec_v_auditor;
-- As the install script has it; repeated so that this file proves the
-- internal reads below need no SELECT on these tables.
REVOKE SELECT ON audit_chain.chains, audit_chain.checkpoints, audit_chain.checkpoint_heads,
    audit_chain.verification_log, audit_chain.protection_log, audit_chain.events FROM PUBLIC;

------------------------------------------------------------------------------
-- 1. Internal reads without SELECT on the registry and the logs
------------------------------------------------------------------------------
CREATE TABLE sec_verify.log (id int, who text);
SELECT audit_chain.protect('sec_verify.log');
CREATE TABLE sec_verify.quiet (id int);
SELECT audit_chain.protect('sec_verify.quiet');
GRANT INSERT ON sec_verify.log TO sec_v_writer;
GRANT SELECT ON sec_verify.log, sec_verify.quiet TO sec_v_auditor;

SET SESSION AUTHORIZATION sec_v_writer;
SELECT throws_ok($$SELECT count(*) FROM audit_chain.chains$$, '42501',
                 'permission denied for table chains', 'the writer cannot read the registry');
SELECT throws_ok($$SELECT count(*) FROM audit_chain.events$$, '42501',
                 'permission denied for table events', 'nor the events');
SELECT lives_ok($$INSERT INTO sec_verify.log (id, who) VALUES (1, 'first')$$,
                'a role with INSERT only seals the first row of an empty lane (its genesis is read for it)');
SELECT lives_ok($$INSERT INTO sec_verify.log (id, who) VALUES (2, 'second')$$, 'and the next one');
RESET SESSION AUTHORIZATION;

SELECT results_eq($$SELECT chain_seq FROM sec_verify.log ORDER BY chain_seq$$,
                  $$VALUES (1::bigint), (2::bigint)$$, 'the writer''s rows are sealed');
SELECT ok(audit_chain.checkpoint() > 0, 'a checkpoint of both tables');

SET SESSION AUTHORIZATION sec_v_auditor;
SELECT throws_ok($$SELECT count(*) FROM audit_chain.checkpoint_heads$$, '42501',
                 'permission denied for table checkpoint_heads',
                 'the auditor cannot read checkpoint_heads');
SELECT throws_ok($$SELECT count(*) FROM audit_chain.verification_log$$, '42501',
                 'permission denied for table verification_log',
                 'nor verification_log');
SELECT results_eq($$SELECT rows_checked, intact FROM audit_chain.verify_chain('sec_verify.log')$$,
                  $$VALUES (2::bigint, true)$$,
                  'the auditor verifies (registry and checkpoint read for it)');
SELECT results_eq($$SELECT rows_checked, intact FROM audit_chain.verify_chain('sec_verify.log', true)$$,
                  $$VALUES (0::bigint, true)$$,
                  'and incrementally (its last verification read for it)');
SELECT lives_ok($$CALL audit_chain.assert_intact('sec_verify.log', true)$$, 'assert_intact() too');
SELECT results_eq($$SELECT seq FROM audit_chain.lane_head('sec_verify.log', 0)$$,
                  $$VALUES (2::bigint)$$, 'lane_head() of a lane with rows');
SELECT results_eq($$SELECT seq, length(hash) FROM audit_chain.lane_head('sec_verify.quiet', 0)$$,
                  $$VALUES (0::bigint, 32)$$, 'lane_head() of an empty lane: its start point from the registry');
RESET SESSION AUTHORIZATION;

SELECT results_eq(
    $$SELECT h.start_seq, h.start_hash = c.genesis
        FROM audit_chain.checkpoint_heads h
        JOIN audit_chain.chains c ON c.tbl = h.tbl AND c.lane = h.lane
       WHERE h.tbl = 'sec_verify.log'::regclass$$,
    $$VALUES (0::bigint, true)$$,
    'checkpoint() records where each lane starts');
SELECT matches((SELECT convert_from(payload, 'UTF8') FROM audit_chain.checkpoints
                 ORDER BY checkpoint_id DESC LIMIT 1),
               (SELECT '\nlane sec_verify\.log 0 ' || encode(genesis, 'hex') || ' 2 [0-9a-f]{64} -?[0-9]+ 0 '
                       || encode(genesis, 'hex') || ' 0 ' || encode(genesis, 'hex') || '\n'
                  FROM audit_chain.chains WHERE tbl = 'sec_verify.log'::regclass),
               'and its payload, which is what gets published, binds the start point too');

------------------------------------------------------------------------------
-- 2. Incremental verification under row-level security
------------------------------------------------------------------------------
CREATE TABLE sec_verify.rls (id int, owner_name text);
SELECT audit_chain.protect('sec_verify.rls');
INSERT INTO sec_verify.rls VALUES (1, 'sec_v_auditor'), (2, 'someone else');
SELECT results_eq($$SELECT intact FROM audit_chain.verify_chain('sec_verify.rls')$$,
                  $$VALUES (true)$$, 'verified in full once, by the superuser');
INSERT INTO sec_verify.rls VALUES (3, 'someone else'), (4, 'sec_v_auditor');
ALTER TABLE sec_verify.rls ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON sec_verify.rls USING (owner_name = current_user);
GRANT SELECT ON sec_verify.rls TO sec_v_auditor;

SET SESSION AUTHORIZATION sec_v_auditor;
SELECT throws_ok($$SELECT * FROM audit_chain.verify_chain('sec_verify.rls')$$, '42501',
                 'cannot verify chained table "rls" under row-level security',
                 'a full walk under a policy is refused');
SELECT throws_ok($$SELECT * FROM audit_chain.verify_chain('sec_verify.rls', true)$$, '42501',
                 'cannot verify chained table "rls" under row-level security',
                 'an incremental walk under a policy is refused too, not a false deletion');
-- verify_chain() of every table: the table the auditor cannot read in full
-- fails, with why, and does not stop the verification of the others
SELECT results_eq(
    $$SELECT tbl::text, intact, problem FROM audit_chain.verify_chain()
       WHERE tbl::text IN ('sec_verify.log', 'sec_verify.rls') ORDER BY 1$$,
    $$VALUES ('sec_verify.log', true, NULL::text),
             ('sec_verify.rls', false, 'cannot verify chained table "rls" under row-level security: Verification must read every row of the table.')$$,
    'verify_chain() of every table reports the table under a policy as failed and verifies the others');
SELECT results_eq(
    $$SELECT DISTINCT intact, problem FROM audit_chain.verify_chain(NULL, true)
       WHERE tbl = 'audit_chain.events'::regclass$$,
    $$VALUES (false, 'permission denied for table events')$$,
    'and a table it may not read at all as failed, in each lane, in an incremental run too');
RESET SESSION AUTHORIZATION;
SELECT results_eq($$SELECT rows_checked, intact FROM audit_chain.verify_chain('sec_verify.rls', true)$$,
                  $$VALUES (2::bigint, true)$$,
                  'the table owner''s incremental walk sees every row and finds the lane intact');

------------------------------------------------------------------------------
-- 3. Start points checked against the newest checkpoint
------------------------------------------------------------------------------

-- 3a. A genesis replaced after a checkpoint of an empty lane, and the lane
-- then written from the forged genesis
CREATE TABLE sec_verify.g (id int);
SELECT audit_chain.protect('sec_verify.g');
SELECT audit_chain.checkpoint() AS cp_g \gset
UPDATE audit_chain.chains SET genesis = sha256('forged genesis')
 WHERE tbl = 'sec_verify.g'::regclass;
INSERT INTO sec_verify.g VALUES (1), (2);
SELECT results_eq(
    $$SELECT intact, first_bad_seq, problem FROM audit_chain.verify_chain('sec_verify.g')$$,
    format($$VALUES (false, 1::bigint, 'the lane''s start hash is not the one checkpoint %s recorded: its genesis or archived-through hash in audit_chain.chains was changed')$$,
           :'cp_g'),
    'a genesis replaced after a checkpoint fails the lane');
SELECT results_eq(
    $$SELECT intact, first_bad_seq FROM audit_chain.verify_chain('sec_verify.g', true)$$,
    $$VALUES (false, 1::bigint)$$,
    'in an incremental walk too');
SELECT throws_ok($$CALL audit_chain.assert_intact('sec_verify.g')$$, 'XX001', NULL,
                 'assert_intact() raises');

-- 3b. The oldest rows deleted behind the triggers' back after a checkpoint,
-- and the archived-through boundary moved to hide it: the rest of the lane
-- still links, and the checkpointed head is still there
CREATE TABLE sec_verify.b (id int);
SELECT audit_chain.protect('sec_verify.b');
INSERT INTO sec_verify.b VALUES (1), (2), (3);
SELECT audit_chain.checkpoint() AS cp_b \gset
SET LOCAL session_replication_role = replica;
DELETE FROM sec_verify.b WHERE chain_seq <= 2;
UPDATE audit_chain.chains
   SET archived_seq = 2,
       archived_hash = (SELECT chain_prev FROM sec_verify.b WHERE chain_seq = 3),
       archived_at = now()
 WHERE tbl = 'sec_verify.b'::regclass;
SET LOCAL session_replication_role = origin;
SELECT results_eq(
    $$SELECT rows_checked, intact, first_bad_seq, problem FROM audit_chain.verify_chain('sec_verify.b')$$,
    $$VALUES (1::bigint, false, 1::bigint, 'the lane starts after chain_seq 2 in audit_chain.chains, but audit_chain.boundaries records no archive of it: the boundary was moved without audit_chain.archive()')$$,
    'rows cut from the start of a lane after a checkpoint, disguised as archiving, fail the lane');
SELECT results_eq(
    $$SELECT intact, first_bad_seq FROM audit_chain.verify_chain('sec_verify.b', true)$$,
    $$VALUES (false, 1::bigint)$$,
    'in an incremental walk too');

-- A new checkpoint does not whitewash it: the boundary log (issue 12) has no
-- record of the move, whatever the checkpoints say
SELECT ok(audit_chain.checkpoint() > :'cp_b'::bigint, 'a checkpoint after the forged move');
SELECT results_eq($$SELECT rows_checked, intact FROM audit_chain.verify_chain('sec_verify.b')$$,
                  $$VALUES (1::bigint, false)$$,
                  'the lane still fails after a new checkpoint');

SELECT * FROM finish();
ROLLBACK;
