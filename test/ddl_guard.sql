-- The DDL guard: DDL that would break the verification of a chained table
-- is refused; harmless DDL is allowed and keeps the chain intact; after
-- unprotect() everything is allowed again.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

SELECT plan(67);

CREATE SCHEMA tap_ddl;
CREATE FUNCTION tap_ddl.shout() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN NEW.who := upper(NEW.who); RETURN NEW; END$$;
CREATE FUNCTION tap_ddl.pass() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN RETURN NEW; END$$;

CREATE TABLE tap_ddl.log (id int, who text, doubled int GENERATED ALWAYS AS (id * 2) STORED);
SELECT audit_chain.protect('tap_ddl.log');
INSERT INTO tap_ddl.log (id, who) SELECT g, 'user' || g FROM generate_series(1, 5) g;

CREATE TABLE tap_ddl.parted (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE tap_ddl.parted_2024 PARTITION OF tap_ddl.parted FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
SELECT audit_chain.protect('tap_ddl.parted');
INSERT INTO tap_ddl.parted VALUES (1, '2024-02-02');

CREATE SCHEMA tap_ddl_doomed;
CREATE TABLE tap_ddl_doomed.t (id int);
SELECT audit_chain.protect('tap_ddl_doomed.t');

-- Refused: drops
SELECT throws_ok($$DROP TABLE tap_ddl.log$$, '55000', NULL, 'DROP TABLE is refused');
SELECT throws_ok($$DROP TABLE tap_ddl.log CASCADE$$, '55000', NULL, 'DROP TABLE ... CASCADE is refused');
SELECT throws_ok($$DROP SCHEMA tap_ddl_doomed CASCADE$$, '55000', NULL,
                 'DROP SCHEMA ... CASCADE of a schema holding a chained table is refused');
SELECT throws_ok($$ALTER TABLE tap_ddl.log DROP COLUMN who$$, '55000',
                 'cannot drop a column of chained table "log"', 'DROP COLUMN is refused');
SELECT throws_ok($$ALTER TABLE tap_ddl.log DROP COLUMN chain_hash$$, '55000', NULL,
                 'DROP COLUMN of a chain column is refused');
SELECT throws_ok($$ALTER TABLE tap_ddl.log DROP COLUMN doubled$$, '55000', NULL,
                 'DROP COLUMN of a generated column is refused');
SELECT throws_ok($$DROP TRIGGER zz_audit_chain_seal ON tap_ddl.log$$, '55000', NULL,
                 'DROP TRIGGER of the seal trigger is refused');
SELECT throws_ok($$DROP TRIGGER zz_audit_chain_truncate ON tap_ddl.log$$, '55000', NULL,
                 'DROP TRIGGER of the truncate trigger is refused');
SELECT throws_ok($$DROP INDEX tap_ddl.log_chain_idx$$, '55000',
                 'cannot drop the chain index of chained table "log"', 'DROP INDEX of the chain index is refused');
SELECT throws_ok($$DROP EXTENSION audit_chain$$, '55000',
                 'cannot drop extension audit_chain while tables are chained',
                 'DROP EXTENSION is refused while tables are chained');

-- Refused: columns
SELECT throws_ok($$ALTER TABLE tap_ddl.log RENAME COLUMN who TO actor$$, '55000',
                 'cannot rename a column of chained table "log"', 'RENAME COLUMN is refused');
SELECT throws_ok($$ALTER TABLE tap_ddl.log RENAME COLUMN chain_seq TO seq$$, '55000', NULL,
                 'RENAME COLUMN of a chain column is refused');
SELECT throws_ok($$ALTER TABLE tap_ddl.log ALTER COLUMN who TYPE varchar(100)$$, '55000',
                 'cannot change the type of a column of chained table "log"', 'ALTER COLUMN TYPE is refused');
SELECT throws_ok($$ALTER TABLE tap_ddl.log ALTER COLUMN id TYPE bigint$$, '55000', NULL,
                 'ALTER COLUMN TYPE to a wider integer is refused too');
SELECT throws_ok($$ALTER TABLE tap_ddl.log ALTER COLUMN chain_seq DROP NOT NULL$$, '55000', NULL,
                 'DROP NOT NULL of a chain column is refused');
SELECT throws_ok($$ALTER TABLE tap_ddl.log ALTER COLUMN doubled DROP EXPRESSION$$, '55000', NULL,
                 'DROP EXPRESSION of a generated column is refused');
SELECT throws_ok($$ALTER TABLE tap_ddl.log ADD COLUMN n int DEFAULT 5$$, '55000',
                 'cannot add a column with a default to chained table "log"',
                 'ADD COLUMN with a constant default is refused');
SELECT throws_ok($$ALTER TABLE tap_ddl.log ADD COLUMN n timestamptz DEFAULT now()$$, '55000', NULL,
                 'ADD COLUMN with a volatile default is refused');
SELECT throws_ok($$ALTER TABLE tap_ddl.log ADD COLUMN n int NOT NULL DEFAULT 0$$, '55000', NULL,
                 'ADD COLUMN NOT NULL DEFAULT is refused');
SELECT throws_ok($$ALTER TABLE tap_ddl.log ADD COLUMN n serial$$, '55000', NULL,
                 'ADD COLUMN serial is refused');
SELECT throws_ok($$ALTER TABLE tap_ddl.log ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY$$, '55000', NULL,
                 'ADD COLUMN identity is refused');
SELECT throws_ok($$ALTER TABLE tap_ddl.log ADD COLUMN n money$$, '0A000', NULL,
                 'ADD COLUMN of type money is refused');
SELECT throws_ok($$ALTER TABLE tap_ddl.log ADD COLUMN n regclass$$, '0A000', NULL,
                 'ADD COLUMN of type regclass is refused');

-- Refused: triggers and table state
SELECT throws_ok($$ALTER TABLE tap_ddl.log DISABLE TRIGGER ALL$$, '55000',
                 'cannot disable the triggers of chained table "log"', 'DISABLE TRIGGER ALL is refused');
SELECT throws_ok($$ALTER TABLE tap_ddl.log DISABLE TRIGGER USER$$, '55000', NULL,
                 'DISABLE TRIGGER USER is refused');
SELECT throws_ok($$ALTER TABLE tap_ddl.log DISABLE TRIGGER zz_audit_chain_seal$$, '55000', NULL,
                 'DISABLE TRIGGER of the seal trigger is refused');
SELECT throws_ok($$ALTER TABLE tap_ddl.log DISABLE TRIGGER zz_audit_chain_truncate$$, '55000', NULL,
                 'DISABLE TRIGGER of the truncate trigger is refused');
SELECT throws_ok($$ALTER TABLE tap_ddl.log ENABLE REPLICA TRIGGER zz_audit_chain_seal$$, '55000', NULL,
                 'ENABLE REPLICA TRIGGER of the seal trigger is refused');
SELECT throws_ok($$ALTER TRIGGER zz_audit_chain_seal ON tap_ddl.log RENAME TO aa_seal$$, '55000', NULL,
                 'renaming the seal trigger is refused');
SELECT throws_ok($$CREATE TRIGGER zzzz_late BEFORE INSERT ON tap_ddl.log
                   FOR EACH ROW EXECUTE FUNCTION tap_ddl.shout()$$, '55000', NULL,
                 'a BEFORE ROW trigger sorting after the seal trigger is refused');
SELECT throws_ok($$ALTER TABLE tap_ddl.log SET UNLOGGED$$, '55000',
                 'cannot make unlogged chained table "log"', 'SET UNLOGGED is refused');
SELECT throws_ok($$ALTER TABLE tap_ddl.parted DETACH PARTITION tap_ddl.parted_2024$$, '55000',
                 'cannot detach a partition of chained table "parted"', 'DETACH PARTITION is refused');
SELECT throws_ok($$ALTER TABLE tap_ddl.parted_2024 DISABLE TRIGGER ALL$$, '55000', NULL,
                 'DISABLE TRIGGER ALL on a partition is refused');
SELECT throws_ok($$CREATE TRIGGER zzzz_late BEFORE INSERT ON tap_ddl.parted_2024
                   FOR EACH ROW EXECUTE FUNCTION tap_ddl.pass()$$, '55000', NULL,
                 'a late BEFORE ROW trigger on a partition is refused');

SELECT results_eq($$SELECT intact FROM audit_chain.verify_chain('tap_ddl.log')$$, $$VALUES (true)$$,
                  'after all the refusals the chain is intact');
SELECT has_trigger('tap_ddl', 'log', 'zz_audit_chain_seal', 'the seal trigger is still there');

-- Allowed, and harmless
SELECT lives_ok($$ALTER TABLE tap_ddl.log ADD COLUMN note text$$, 'ADD COLUMN without a default is allowed');
SELECT lives_ok($$ALTER TABLE tap_ddl.log ADD COLUMN flag boolean DEFAULT NULL$$,
                'ADD COLUMN with DEFAULT NULL is allowed');
SELECT lives_ok($$ALTER TABLE tap_ddl.log ALTER COLUMN note SET DEFAULT 'n/a'$$,
                'ALTER COLUMN SET DEFAULT is allowed');
SELECT lives_ok($$ALTER TABLE tap_ddl.log ADD COLUMN tripled int GENERATED ALWAYS AS (id * 3) STORED$$,
                'ADD COLUMN of a generated column is allowed');
SELECT lives_ok($$CREATE INDEX log_who_idx ON tap_ddl.log (who)$$, 'CREATE INDEX is allowed');
SELECT lives_ok($$CREATE TRIGGER aa_shout BEFORE INSERT ON tap_ddl.log
                  FOR EACH ROW EXECUTE FUNCTION tap_ddl.shout()$$,
                'a BEFORE ROW trigger sorting before the seal trigger is allowed');
SELECT lives_ok($$CREATE TRIGGER zzzz_after AFTER INSERT ON tap_ddl.log
                  FOR EACH ROW EXECUTE FUNCTION tap_ddl.pass()$$,
                'an AFTER ROW trigger with a late name is allowed');
SELECT lives_ok($$COMMENT ON TABLE tap_ddl.log IS 'audit log'$$, 'COMMENT is allowed');
SELECT results_eq($$SELECT intact FROM audit_chain.verify_chain('tap_ddl.log')$$, $$VALUES (true)$$,
                  'old rows still verify after the new columns');
INSERT INTO tap_ddl.log (id, who) VALUES (6, 'six');
SELECT results_eq($$SELECT who, note, tripled FROM tap_ddl.log WHERE chain_seq = 6$$,
                  $$VALUES ('SIX', 'n/a', 18)$$, 'a new row gets the new default and trigger');
SELECT cmp_ok(position(convert_to('note', 'UTF8') IN audit_chain.canonical_row('tap_ddl.log', 0, 6)), '>', 0,
              'the new column is hashed in new rows');
SELECT is(position(convert_to('note', 'UTF8') IN audit_chain.canonical_row('tap_ddl.log', 0, 5)), 0,
          'old rows read NULL for it and do not hash it');
SELECT lives_ok($$ALTER TABLE tap_ddl.log RENAME TO journal$$, 'RENAME TABLE is allowed');
CREATE SCHEMA tap_ddl_other;
SELECT lives_ok($$ALTER TABLE tap_ddl.journal SET SCHEMA tap_ddl_other$$, 'SET SCHEMA is allowed');
SELECT results_eq($$SELECT rows_checked, intact FROM audit_chain.verify_chain('tap_ddl_other.journal')$$,
                  $$VALUES (6::bigint, true)$$, 'intact after RENAME and SET SCHEMA');
INSERT INTO tap_ddl_other.journal (id, who) VALUES (7, 'seven');
SELECT results_eq($$SELECT rows_checked, intact FROM audit_chain.verify_chain('tap_ddl_other.journal')$$,
                  $$VALUES (7::bigint, true)$$, 'the renamed table keeps chaining');

-- unprotect() lifts the guard, and is recorded
SELECT lives_ok($$SELECT audit_chain.unprotect('tap_ddl_other.journal', 'decommissioned')$$,
                'unprotect() with a reason');
SELECT results_eq(
    $$SELECT action, lanes, reason, heads FROM audit_chain.protection_log
       WHERE relid = 'tap_ddl_other.journal'::regclass AND action = 'unprotect'$$,
    $$SELECT 'unprotect', 1, 'decommissioned',
             jsonb_build_array(jsonb_build_object('lane', 0, 'seq', 7, 'hash', encode(chain_hash, 'hex')))
        FROM tap_ddl_other.journal WHERE chain_seq = 7$$,
    'protection_log records the unprotect, its reason and the lane heads');
SELECT is((SELECT count(*)::int FROM audit_chain.chains WHERE tbl = 'tap_ddl_other.journal'::regclass), 0,
          'the lanes are no longer registered');
SELECT hasnt_trigger('tap_ddl_other', 'journal', 'zz_audit_chain_seal', 'the seal trigger is gone');
SELECT hasnt_trigger('tap_ddl_other', 'journal', 'zz_audit_chain_truncate', 'the truncate trigger is gone');
SELECT is((SELECT count(*)::int FROM tap_ddl_other.journal), 7, 'the rows stay');
SELECT lives_ok($$UPDATE tap_ddl_other.journal SET who = 'x' WHERE id = 1$$, 'UPDATE is allowed after unprotect');
SELECT lives_ok($$ALTER TABLE tap_ddl_other.journal DROP COLUMN note$$, 'DROP COLUMN is allowed after unprotect');
SELECT lives_ok($$DROP TABLE tap_ddl_other.journal$$, 'DROP TABLE is allowed after unprotect');
SELECT throws_ok($$SELECT audit_chain.unprotect('tap_ddl.parted_2024')$$, '55000', NULL,
                 'unprotect() of a table that is not chained is refused');

-- Known gaps (see the report of this test file's author); each on a table
-- of its own, since the DDL goes through while the gap is open
CREATE TABLE tap_ddl.replaced (id int, who text);
SELECT audit_chain.protect('tap_ddl.replaced');
SELECT throws_ok($$CREATE OR REPLACE TRIGGER zz_audit_chain_seal BEFORE INSERT OR UPDATE OR DELETE
                   ON tap_ddl.replaced FOR EACH ROW EXECUTE FUNCTION tap_ddl.pass()$$, '55000', NULL,
                 'CREATE OR REPLACE TRIGGER of the seal trigger is refused');

CREATE TABLE tap_ddl.renamed (id int, who text);
CREATE TRIGGER aa_shout BEFORE INSERT ON tap_ddl.renamed FOR EACH ROW EXECUTE FUNCTION tap_ddl.shout();
SELECT audit_chain.protect('tap_ddl.renamed');
SELECT throws_ok($$ALTER TRIGGER aa_shout ON tap_ddl.renamed RENAME TO zzzz_shout$$, '55000', NULL,
                 'renaming a BEFORE ROW trigger to sort after the seal trigger is refused');

CREATE TABLE tap_ddl.late (id int, who text);
CREATE TRIGGER zzzz_shout BEFORE INSERT ON tap_ddl.late FOR EACH ROW EXECUTE FUNCTION tap_ddl.shout();
SELECT throws_ok($$SELECT audit_chain.protect('tap_ddl.late')$$, NULL, NULL,
                 'protect() refuses a table with a BEFORE ROW trigger sorting after the seal trigger');

CREATE DOMAIN tap_ddl.five AS int DEFAULT 5;
CREATE TABLE tap_ddl.domained (id int);
SELECT audit_chain.protect('tap_ddl.domained');
INSERT INTO tap_ddl.domained VALUES (1);
SELECT throws_ok($$ALTER TABLE tap_ddl.domained ADD COLUMN n tap_ddl.five$$, '55000', NULL,
                 'ADD COLUMN of a domain type with a default is refused');

SELECT throws_ok($$DROP TABLE tap_ddl.parted_2024$$, '55000', NULL,
                 'DROP TABLE of a partition of a chained table is refused');

SELECT * FROM finish();
ROLLBACK;
