-- Privileges: who may protect, unprotect, verify and checkpoint, what an
-- ordinary writer can and cannot do, and what everyone may read.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

SELECT plan(38);

CREATE ROLE tap_priv_owner NOLOGIN;      -- owns a table, not superuser
CREATE ROLE tap_priv_writer NOLOGIN;     -- may insert
CREATE ROLE tap_priv_auditor NOLOGIN;    -- may verify, may read the table
CREATE ROLE tap_priv_nobody NOLOGIN;     -- may verify, may not read the table

CREATE SCHEMA tap_priv;
GRANT USAGE ON SCHEMA tap_priv TO PUBLIC;
GRANT CREATE ON SCHEMA tap_priv TO tap_priv_owner;   -- protect() creates an index
CREATE TABLE tap_priv.log (id int, who text);
SELECT audit_chain.protect('tap_priv.log');
GRANT SELECT, INSERT, UPDATE, DELETE ON tap_priv.log TO tap_priv_writer;
GRANT SELECT ON tap_priv.log TO tap_priv_auditor;
GRANT EXECUTE ON FUNCTION audit_chain.verify_chain, audit_chain.lane_head TO tap_priv_auditor, tap_priv_nobody;
GRANT EXECUTE ON PROCEDURE audit_chain.assert_intact TO tap_priv_auditor;
CREATE TABLE tap_priv.owned (id int);
ALTER TABLE tap_priv.owned OWNER TO tap_priv_owner;

-- An ordinary writer
SET LOCAL ROLE tap_priv_writer;
SELECT lives_ok($$INSERT INTO tap_priv.log (id, who) VALUES (1, 'first')$$,
                'a role with INSERT only can write the first row of an empty lane');
SELECT lives_ok($$INSERT INTO tap_priv.log (id, who) VALUES (2, 'second')$$,
                'and the next one');
SELECT results_eq($$SELECT chain_seq FROM tap_priv.log ORDER BY chain_seq$$,
                  $$VALUES (1::bigint), (2::bigint)$$, 'the writer''s rows are sealed');
SELECT throws_ok($$UPDATE tap_priv.log SET who = 'x'$$, '0A000', NULL,
                 'UPDATE privilege does not allow changing sealed rows');
SELECT throws_ok($$DELETE FROM tap_priv.log$$, '0A000', NULL,
                 'DELETE privilege does not allow removing sealed rows');
SELECT throws_ok($$SET session_replication_role = replica$$, '42501', NULL,
                 'a non-superuser cannot switch the triggers off with session_replication_role');
SELECT throws_ok($$SELECT audit_chain.protect('tap_priv.log')$$, '42501', NULL,
                 'protect() is not granted to PUBLIC');
SELECT throws_ok($$SELECT audit_chain.unprotect('tap_priv.log')$$, '42501', NULL,
                 'unprotect() is not granted to PUBLIC');
SELECT throws_ok($$SELECT audit_chain.checkpoint()$$, '42501', NULL,
                 'checkpoint() is not granted to PUBLIC');
SELECT throws_ok($$SELECT * FROM audit_chain.verify_chain('tap_priv.log')$$, '42501', NULL,
                 'verify_chain() is not granted to PUBLIC');
SELECT throws_ok($$CALL audit_chain.assert_intact('tap_priv.log')$$, '42501', NULL,
                 'assert_intact() is not granted to PUBLIC');
SELECT throws_ok($$SELECT audit_chain.row_hash('tap_priv.log', 0, 1)$$, '42501', NULL,
                 'row_hash() is not granted to PUBLIC');
SELECT throws_ok($$SELECT audit_chain.canonical_row('tap_priv.log', 0, 1)$$, '42501', NULL,
                 'canonical_row() is not granted to PUBLIC');
SELECT throws_ok($$SELECT * FROM audit_chain.lane_head('tap_priv.owned', 0)$$, '42501', NULL,
                 'lane_head() needs SELECT on the table');
SELECT throws_ok($$SELECT audit_chain._unregister('tap_priv.log')$$, '42883', NULL,
                 'the registry has no SQL entry point of its own');
SELECT is(audit_chain.canonical_text(42), '42', 'canonical_text() is for everyone');
SELECT is(audit_chain.version(), audit_chain.version(), 'version() is for everyone');

-- The registry and the logs are private; nobody but the extension writes them
SELECT throws_ok($$SELECT count(*) FROM audit_chain.chains$$, '42501', NULL,
                 'PUBLIC cannot read audit_chain.chains');
SELECT throws_ok($$SELECT count(*) FROM audit_chain.protection_log$$, '42501', NULL,
                 'PUBLIC cannot read protection_log');
SELECT throws_ok($$SELECT count(*) FROM audit_chain.checkpoints$$, '42501', NULL,
                 'PUBLIC cannot read checkpoints');
SELECT throws_ok($$SELECT count(*) FROM audit_chain.checkpoint_heads$$, '42501', NULL,
                 'PUBLIC cannot read checkpoint_heads');
SELECT throws_ok($$SELECT count(*) FROM audit_chain.verification_log$$, '42501', NULL,
                 'PUBLIC cannot read verification_log');
SELECT throws_ok($$UPDATE audit_chain.chains SET genesis = sha256('x')$$, '42501', NULL,
                 'PUBLIC cannot change a genesis hash');
SELECT throws_ok($$DELETE FROM audit_chain.chains$$, '42501', NULL, 'PUBLIC cannot unregister lanes');
SELECT throws_ok($$INSERT INTO audit_chain.verification_log (tbl, rows_checked, intact)
                   VALUES ('tap_priv.log', 1, true)$$, '42501', NULL,
                 'PUBLIC cannot forge verification evidence');
SELECT throws_ok($$DELETE FROM audit_chain.checkpoints$$, '42501', NULL, 'PUBLIC cannot delete checkpoints');
RESET ROLE;

-- An auditor granted verify_chain, with SELECT on the table
SET LOCAL ROLE tap_priv_auditor;
SELECT results_eq($$SELECT rows_checked, intact FROM audit_chain.verify_chain('tap_priv.log')$$,
                  $$VALUES (2::bigint, true)$$, 'a granted auditor can verify');
SELECT lives_ok($$CALL audit_chain.assert_intact('tap_priv.log')$$, 'and call assert_intact()');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM audit_chain.verification_log WHERE tbl = 'tap_priv.log'::regclass), 2,
          'the auditor''s runs are logged though it has no INSERT on the log');

-- A role granted verify_chain without SELECT on the table
SET LOCAL ROLE tap_priv_nobody;
SELECT throws_ok($$SELECT * FROM audit_chain.verify_chain('tap_priv.log')$$, '42501',
                 'permission denied for table log',
                 'verify_chain() needs SELECT on the table: it reads as the caller');
RESET ROLE;

-- A non-owner, even when granted protect() and unprotect()
GRANT EXECUTE ON FUNCTION audit_chain.protect, audit_chain.unprotect
    TO tap_priv_writer, tap_priv_owner;
SET LOCAL ROLE tap_priv_writer;
SELECT throws_ok($$SELECT audit_chain.protect('tap_priv.owned')$$, '42501',
                 'must be owner of table tap_priv.owned', 'protect() of another role''s table is refused');
SELECT throws_ok($$SELECT audit_chain.unprotect('tap_priv.log')$$, '42501',
                 'must be owner of table tap_priv.log', 'unprotect() of another role''s table is refused');
RESET ROLE;

-- A non-superuser owner of a chained table is bound by the DDL guard too,
-- and the guards and protect()/unprotect() work for it with the registry
-- closed to PUBLIC (they read it without the caller's privileges).
SELECT audit_chain.protect('tap_priv.owned');
SET LOCAL ROLE tap_priv_owner;
SELECT throws_ok($$ALTER TABLE tap_priv.owned DISABLE TRIGGER ALL$$, '55000', NULL,
                 'the owner cannot disable the triggers');
SELECT throws_ok($$DROP TABLE tap_priv.owned$$, '55000', NULL, 'the owner cannot drop the table');
SELECT throws_ok($$ALTER TABLE tap_priv.owned DROP COLUMN id$$, '55000', NULL, 'the owner cannot drop a column');
RESET ROLE;

-- protect() and unprotect() granted to a table owner work for it: they
-- write the registry as its owner after checking the caller.
SET LOCAL ROLE tap_priv_owner;
SELECT lives_ok($$SELECT audit_chain.unprotect('tap_priv.owned')$$,
                'the owner, granted unprotect(), can unprotect its table');
RESET ROLE;
CREATE TABLE tap_priv.owned2 (id int);
ALTER TABLE tap_priv.owned2 OWNER TO tap_priv_owner;
SET LOCAL ROLE tap_priv_owner;
SELECT lives_ok($$SELECT audit_chain.protect('tap_priv.owned2')$$,
                'the owner, granted protect(), can protect its table');
RESET ROLE;
GRANT EXECUTE ON FUNCTION audit_chain.checkpoint TO tap_priv_owner;
SET LOCAL ROLE tap_priv_owner;
SELECT lives_ok($$SELECT audit_chain.checkpoint()$$, 'a role granted checkpoint() can take a checkpoint');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
