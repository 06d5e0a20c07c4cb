-- Attack: archiving (issue 12).  Rows cut from the head of a lane and the
-- boundary moved to hide it, by hand or with a forged record of the move; a
-- forged purge; rows deleted from an archive table or changed in it; a row
-- changed in place before it is archived (archive() would carry it out of
-- sight); an owner's DELETE triggers that would skip or delete rows of a
-- batch (they do not fire: rows move, they are not deleted); writes into the archive table outside
-- archive(); a non-owner or a writer calling archive(); a hostile
-- search_path full of look-alikes of what archive() runs; a foreign key
-- that would be left dangling.
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

CREATE ROLE sec_arc_owner NOLOGIN;
CREATE ROLE sec_arc_mallory NOLOGIN;
CREATE ROLE sec_arc_writer NOLOGIN;
CREATE SCHEMA sec_a AUTHORIZATION sec_arc_owner;
GRANT USAGE ON SCHEMA sec_a TO PUBLIC;
-- what a DBA grants table owners (README, Security)
GRANT EXECUTE ON FUNCTION audit_chain.protect(regclass, integer),
    audit_chain.archive_table(regclass),
    audit_chain.verify_chain(regclass, boolean, json, text),
    audit_chain.legal_hold(regclass, boolean, text)
  TO sec_arc_owner, sec_arc_mallory;
GRANT EXECUTE ON PROCEDURE audit_chain.archive(regclass, interval),
    audit_chain.apply_retention()
  TO sec_arc_owner, sec_arc_mallory;

-- A helper to count a lane's rows in a table, whoever may read it
CREATE FUNCTION pg_temp.n(tbl regclass) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE r bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM %s', tbl) INTO r;
    RETURN r;
END $$;

SET SESSION AUTHORIZATION sec_arc_owner;
CREATE TABLE sec_a.ledger (id int, note text);
SELECT audit_chain.protect('sec_a.ledger');
INSERT INTO sec_a.ledger SELECT g, 'row ' || g FROM generate_series(1, 20) g;
GRANT INSERT ON sec_a.ledger TO sec_arc_writer;
RESET SESSION AUTHORIZATION;

-- 1. Who may archive
SET SESSION AUTHORIZATION sec_arc_writer;
SELECT throws_ok($$CALL audit_chain.archive('sec_a.ledger', interval '1 microsecond')$$, '42501',
                 'permission denied for procedure archive', 'a writer may not call archive()');
SELECT throws_ok($$CALL audit_chain.apply_retention()$$, '42501',
                 'permission denied for procedure apply_retention', 'nor apply_retention()');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION sec_arc_mallory;
SELECT throws_ok($$CALL audit_chain.archive('sec_a.ledger', interval '1 microsecond')$$, '42501',
                 'must be owner of table sec_a.ledger', 'a non-owner with EXECUTE may not archive');
SELECT throws_ok($$SELECT audit_chain.archive_table('sec_a.ledger')$$, '42501',
                 'must be owner of table sec_a.ledger', 'nor make its archive table');
RESET SESSION AUTHORIZATION;

-- 2. The owner archives under a hostile search_path: look-alike operators
-- and functions of its own first on the path are never called
CREATE SCHEMA sec_arc_evil AUTHORIZATION sec_arc_owner;
SET SESSION AUTHORIZATION sec_arc_owner;
CREATE FUNCTION sec_arc_evil.gt(bigint, bigint) RETURNS boolean LANGUAGE plpgsql AS
    $$BEGIN RAISE EXCEPTION 'look-alike > called'; END$$;
CREATE OPERATOR sec_arc_evil.> (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = sec_arc_evil.gt);
CREATE FUNCTION sec_arc_evil.lt(timestamptz, timestamptz) RETURNS boolean LANGUAGE plpgsql AS
    $$BEGIN RAISE EXCEPTION 'look-alike < called'; END$$;
CREATE OPERATOR sec_arc_evil.< (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = sec_arc_evil.lt);
CREATE FUNCTION sec_arc_evil.min(bigint) RETURNS bigint LANGUAGE plpgsql AS
    $$BEGIN RAISE EXCEPTION 'look-alike min called'; END$$;
SET LOCAL search_path = sec_arc_evil, pg_catalog, public;
SELECT lives_ok($$CALL audit_chain.archive('sec_a.ledger', interval '1 microsecond')$$,
                'the owner archives under a search_path of look-alikes');
RESET search_path;
SELECT is(pg_temp.n('audit_chain_archive.ledger'), 20::bigint, 'all 20 rows are in the archive');
SELECT is(pg_temp.n('sec_a.ledger'), 0::bigint, 'and none in the live table');
SELECT results_eq($$SELECT bool_and(intact) FROM audit_chain.verify_chain('sec_a.ledger')$$,
                  $$VALUES (true)$$, 'the live table verifies from the boundary');
SELECT results_eq($$SELECT bool_and(intact) FROM audit_chain.verify_chain('audit_chain_archive.ledger')$$,
                  $$VALUES (true)$$, 'the archive verifies as a segment');

-- 3. The archive table: the owner may read it, but not write it
SELECT throws_ok($$INSERT INTO audit_chain_archive.ledger (id, chain_lane, chain_seq, chain_at, chain_prev, chain_hash)
                   SELECT 99, 0, 21, now(), chain_hash, chain_hash FROM audit_chain_archive.ledger WHERE chain_seq = 20$$,
                 '0A000', 'cannot insert into archive table "ledger"', 'the owner cannot insert into the archive');
SELECT throws_ok($$DELETE FROM audit_chain_archive.ledger$$, '42501',
                 'permission denied for table ledger', 'nor delete from it');
SELECT throws_ok($$ALTER TABLE audit_chain_archive.ledger DISABLE TRIGGER USER$$, '42501',
                 'must be owner of table ledger', 'nor disable its guard');
SELECT throws_ok($$DROP TABLE audit_chain_archive.ledger$$, '42501',
                 'must be owner of table ledger', 'nor drop it');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION sec_arc_writer;
SELECT throws_ok($$SELECT count(*) FROM audit_chain_archive.ledger$$, '42501',
                 'permission denied for schema audit_chain_archive', 'a writer cannot read the archive');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION sec_arc_mallory;
SELECT throws_ok($$SELECT count(*) FROM audit_chain_archive.ledger$$, '42501',
                 'permission denied for schema audit_chain_archive', 'nor another role');
RESET SESSION AUTHORIZATION;

-- 4. A row changed in place is never carried into the archive
SET SESSION AUTHORIZATION sec_arc_owner;
CREATE TABLE sec_a.changed (id int, note text);
SELECT audit_chain.protect('sec_a.changed');
INSERT INTO sec_a.changed SELECT g, 'row ' || g FROM generate_series(1, 10) g;
RESET SESSION AUTHORIZATION;
SET LOCAL session_replication_role = replica;
UPDATE sec_a.changed SET note = 'rewritten' WHERE chain_seq = 6;
SET LOCAL session_replication_role = origin;
SET SESSION AUTHORIZATION sec_arc_owner;
SELECT throws_ok($$CALL audit_chain.archive('sec_a.changed', interval '1 microsecond')$$, 'XX001',
                 'cannot archive rows of lane 0 of table "changed": chain_seq 6 does not verify',
                 'archive() refuses a lane with a changed row');
SELECT is(pg_temp.n('sec_a.changed'), 10::bigint, 'nothing was moved');
RESET SESSION AUTHORIZATION;
SELECT results_eq($$SELECT archived_seq FROM audit_chain.chains WHERE tbl = 'sec_a.changed'::regclass$$,
                  $$VALUES (0::bigint)$$, 'and the boundary did not move');

-- 5. The owner's triggers do not fire when rows move (they are not
-- deleted), so none can skip, add or remove rows of a batch; a foreign key
-- that references the table refuses archive() (it would be left dangling)
SET SESSION AUTHORIZATION sec_arc_owner;
CREATE TABLE sec_a.trig (id int PRIMARY KEY);
SELECT audit_chain.protect('sec_a.trig');
INSERT INTO sec_a.trig SELECT g FROM generate_series(1, 10) g;
CREATE TABLE sec_a.trig_log (n int);
CREATE FUNCTION sec_a.skip() RETURNS trigger LANGUAGE plpgsql AS
    $$BEGIN INSERT INTO sec_a.trig_log VALUES (OLD.id); IF OLD.id = 4 THEN RETURN NULL; END IF; RETURN OLD; END$$;
CREATE TRIGGER a_skip BEFORE DELETE ON sec_a.trig FOR EACH ROW EXECUTE FUNCTION sec_a.skip();
CREATE FUNCTION sec_a.snipe() RETURNS trigger LANGUAGE plpgsql AS
    $$BEGIN DELETE FROM sec_a.trig WHERE id = 10; RETURN NULL; END$$;
CREATE TRIGGER a_snipe AFTER DELETE ON sec_a.trig FOR EACH STATEMENT EXECUTE FUNCTION sec_a.snipe();
CREATE TABLE sec_a.ref (id int REFERENCES sec_a.trig (id));
SELECT throws_ok($$CALL audit_chain.archive('sec_a.trig', interval '1 microsecond')$$, '0A000',
                 'cannot archive rows of table "trig": foreign key "ref_id_fkey" of table "ref" references it',
                 'a table a foreign key references is not archived');
DROP TABLE sec_a.ref;
SELECT lives_ok($$CALL audit_chain.archive('sec_a.trig', interval '1 microsecond')$$,
                'archive() moves the rows past the owner''s DELETE triggers');
SELECT is(pg_temp.n('sec_a.trig_log'), 0::bigint, 'which did not fire');
SELECT is(pg_temp.n('audit_chain_archive.trig'), 10::bigint, 'all ten rows are in the archive');
SELECT results_eq($$SELECT bool_and(intact) FROM audit_chain.verify_chain('audit_chain_archive.trig')$$,
                  $$VALUES (true)$$, 'which verifies');
INSERT INTO sec_a.trig VALUES (11);
SELECT throws_ok($$DELETE FROM sec_a.trig WHERE id = 11$$, '0A000',
                 'cannot delete rows of chained table "trig"',
                 'the table''s own DELETE is refused as before');
RESET SESSION AUTHORIZATION;

-- 6. Rows cut from the head of a lane, the boundary moved by hand
SET SESSION AUTHORIZATION sec_arc_owner;
CREATE TABLE sec_a.cut (id int);
SELECT audit_chain.protect('sec_a.cut');
INSERT INTO sec_a.cut SELECT g FROM generate_series(1, 10) g;
RESET SESSION AUTHORIZATION;
SET LOCAL session_replication_role = replica;
DELETE FROM sec_a.cut WHERE chain_seq <= 3;
UPDATE audit_chain.chains
   SET archived_seq = 3, archived_hash = (SELECT chain_prev FROM sec_a.cut WHERE chain_seq = 4)
 WHERE tbl = 'sec_a.cut'::regclass;
SET LOCAL session_replication_role = origin;
SELECT results_eq(
    $$SELECT intact, first_bad_seq, problem FROM audit_chain.verify_chain('sec_a.cut')$$,
    $$VALUES (false, 1::bigint, 'the lane starts after chain_seq 3 in audit_chain.chains, but audit_chain.boundaries records no archive of it: the boundary was moved without audit_chain.archive()')$$,
    'a boundary moved by hand fails the lane');
-- ... and with a forged record of the move (sealed like a real one)
INSERT INTO audit_chain.boundaries (kind, tbl_name, lane, lane_genesis, from_seq, from_hash, to_seq, to_hash, row_count)
SELECT 'archive', 'sec_a.cut', 0, genesis, 0, genesis, 3, archived_hash, 3
  FROM audit_chain.chains WHERE tbl = 'sec_a.cut'::regclass;
SELECT results_eq(
    $$SELECT intact, first_bad_seq, problem FROM audit_chain.verify_chain('sec_a.cut')$$,
    $$VALUES (false, 3::bigint, 'rows through chain_seq 3 were archived, but the table has no archive table')$$,
    'a forged record of the move fails it too: the rows are not in an archive');
SET SESSION AUTHORIZATION sec_arc_owner;
SELECT ok(audit_chain.archive_table('sec_a.cut') IS NOT NULL, 'the owner makes an archive table');
RESET SESSION AUTHORIZATION;
SELECT results_eq(
    $$SELECT intact, problem FROM audit_chain.verify_chain('sec_a.cut')$$,
    $$VALUES (false, 'rows through chain_seq 3 were archived, but the archive table does not hold that row with the boundary''s hash')$$,
    'nor in a new, empty archive table');
SELECT results_eq(
    $$SELECT intact, problem FROM audit_chain.verify_chain('audit_chain_archive.cut')$$,
    $$VALUES (false, 'the archive ends at chain_seq 0 but the live lane starts after chain_seq 3: archived rows were deleted')$$,
    'which fails as a segment too');
SELECT throws_ok($$CALL audit_chain.assert_intact()$$, 'XX001', NULL,
                 'assert_intact() of everything raises');

-- 7. Rows deleted from an archive, a row changed in it, a forged purge
SET LOCAL session_replication_role = replica;
DELETE FROM audit_chain_archive.ledger WHERE chain_seq = 7;
SET LOCAL session_replication_role = origin;
SELECT results_eq(
    $$SELECT intact, first_bad_seq, problem FROM audit_chain.verify_chain('audit_chain_archive.ledger')$$,
    $$VALUES (false, 7::bigint, 'chain_seq 7 is missing: a row was deleted')$$,
    'a row deleted from the archive fails the segment');
SET LOCAL session_replication_role = replica;
UPDATE audit_chain_archive.ledger SET note = 'rewritten' WHERE chain_seq = 3;
SET LOCAL session_replication_role = origin;
SELECT results_eq(
    $$SELECT intact, first_bad_seq FROM audit_chain.verify_chain('audit_chain_archive.ledger')$$,
    $$VALUES (false, 3::bigint)$$,
    'a row changed in the archive fails the segment from there');
-- the oldest archived rows dropped and the purge boundary set to hide it
SET LOCAL session_replication_role = replica;
DELETE FROM audit_chain_archive.ledger WHERE chain_seq <= 8;
UPDATE audit_chain.chains
   SET purged_seq = 8, purged_hash = (SELECT chain_prev FROM audit_chain_archive.ledger WHERE chain_seq = 9)
 WHERE tbl = 'sec_a.ledger'::regclass;
SET LOCAL session_replication_role = origin;
SELECT results_eq(
    $$SELECT intact, problem FROM audit_chain.verify_chain('sec_a.ledger')$$,
    $$VALUES (false, 'the archived rows of the lane start after chain_seq 8 in audit_chain.chains, but audit_chain.boundaries records no purge of it: the boundary was moved without the purge')$$,
    'a purge boundary set by hand fails the lane');

-- 8. The boundary log itself: a record deleted breaks its own chain
SET LOCAL session_replication_role = replica;
DELETE FROM audit_chain.boundaries WHERE tbl_name = 'sec_a.trig';
SET LOCAL session_replication_role = origin;
SELECT results_eq(
    $$SELECT intact FROM audit_chain.verify_chain('audit_chain.boundaries')$$,
    $$VALUES (false)$$, 'a boundary record deleted fails audit_chain.boundaries');
SELECT results_eq(
    $$SELECT intact, problem FROM audit_chain.verify_chain('sec_a.trig')$$,
    $$VALUES (false, 'the lane starts after chain_seq 10 in audit_chain.chains, but audit_chain.boundaries records no archive of it: the boundary was moved without audit_chain.archive()')$$,
    'and the lane whose move it recorded');

-- 9. Odd targets
SELECT throws_ok($$CALL audit_chain.archive('audit_chain.boundaries', interval '1 day')$$, '0A000',
                 'cannot archive rows of table "audit_chain.boundaries"', 'the boundary log is never archived');
SELECT throws_ok($$CALL audit_chain.archive('audit_chain_archive.ledger', interval '1 day')$$, '55000',
                 'table "ledger" is not a chained table', 'an archive table is not archived again');
SELECT throws_ok($$CALL audit_chain.archive('pg_class', interval '1 day')$$, '55000',
                 NULL, 'a catalog is not a chained table');

SELECT * FROM finish();
ROLLBACK;
