-- Review 2 of issue 10: walking around the DDL guard (src/ddl.c) as the
-- owner of a chained table, by the ways the first review did not try.
--
--  - a row type that a chained table's column uses, changed through an
--    inheritance parent of its table (ALTER TABLE parent ADD/DROP COLUMN
--    recurses), or by DROP DOMAIN/TYPE ... CASCADE, which drops the
--    attributes using the domain: old rows no longer hash to their seal;
--  - a BEFORE ROW trigger whose name starts with the extension's prefix
--    (zz_audit_chain_z sorts after zz_audit_chain_seal): it changed rows
--    after they were hashed, and drop_guard then kept it for good;
--  - a table made a partition by ATTACH with what a chained table may not
--    have: a trigger named like the TRUNCATE guard that is not it (the
--    partition could be emptied, and its rows skipped the empty check), a
--    BEFORE ROW trigger after the seal, a DO INSTEAD NOTHING rule (rows
--    written to the partition vanished), rows under a genuine-looking trigger;
--  - CREATE SCHEMA making a partition and a late trigger on it at once;
--  - ALTER EXTENSION audit_chain DROP TABLE audit_chain.events, after which
--    ALTER TABLE could change it (as a superuser);
--  - a partition of a tracked table made by its owner: ddl_log gave it the
--    truncate trigger with a CREATE TRIGGER statement run as the owner of
--    audit_chain.events, which fired every event trigger of the database as
--    that owner, under the table owner's search_path: a DBA's PL/pgSQL event
--    trigger with "tg_tag LIKE ..." ran the table owner's operator ~~ as a
--    superuser, and the table owner became one.
-- Each fails on a5410ce and passes with the fix.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

SELECT plan(22);

CREATE ROLE r2_owner;
DO $$BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO r2_owner', current_database()); END$$;
CREATE SCHEMA r2 AUTHORIZATION r2_owner;

SET SESSION AUTHORIZATION r2_owner;
CREATE TABLE r2.y (a int);
CREATE TABLE r2.x () INHERITS (r2.y);
CREATE TABLE r2.t (id int, c r2.x);
CREATE DOMAIN r2.dom AS int;
CREATE TYPE r2.comp AS (a int, b r2.dom);
CREATE TABLE r2.t2 (id int, c r2.comp);
CREATE TABLE r2.pc (id int, v text) PARTITION BY RANGE (id);
CREATE TABLE r2.pc1 PARTITION OF r2.pc FOR VALUES FROM (0) TO (10);
CREATE FUNCTION r2.mangle() RETURNS trigger LANGUAGE plpgsql AS
    $$BEGIN NEW.v := 'changed after sealing'; RETURN NEW; END$$;
CREATE FUNCTION r2.noop() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;
RESET SESSION AUTHORIZATION;

SELECT audit_chain.protect('r2.t');
SELECT audit_chain.protect('r2.t2');
SELECT audit_chain.protect('r2.pc');

SET SESSION AUTHORIZATION r2_owner;
INSERT INTO r2.t VALUES (1, ROW(1)::r2.x);
INSERT INTO r2.t2 VALUES (1, ROW(1, 2)::r2.comp);
INSERT INTO r2.pc VALUES (1, 'one');

-- 1. Row types changed through a parent, or by CASCADE
SELECT throws_ok($$ALTER TABLE r2.y ADD COLUMN z int$$, '55000',
    'cannot alter row type r2.x because column "c" of chained table "t" uses it',
    'a column added to the parent of a table whose row type a chained column uses is refused');
SELECT throws_ok($$ALTER TABLE r2.y DROP COLUMN a$$, '55000',
    'cannot alter row type r2.x because column "c" of chained table "t" uses it',
    'a column dropped from that parent is refused');
SELECT throws_ok($$ALTER TABLE r2.y ALTER COLUMN a TYPE bigint$$, '55000',
    'cannot alter row type r2.x because column "c" of chained table "t" uses it',
    'a column of that parent changed in type is refused');
SELECT throws_ok($$DROP DOMAIN r2.dom CASCADE$$, '55000',
    'cannot alter row type r2.comp because column "c" of chained table "t2" uses it',
    'DROP DOMAIN ... CASCADE, dropping an attribute of a type a chained column uses, is refused');
SELECT lives_ok($$ALTER TABLE r2.y ADD CONSTRAINT y_a CHECK (a > 0)$$,
    'other ALTER TABLEs of the parent still work');

-- 2. A BEFORE ROW trigger with the extension's prefix, after the seal
SELECT throws_ok($$CREATE TRIGGER zz_audit_chain_zz BEFORE INSERT ON r2.pc
                   FOR EACH ROW EXECUTE FUNCTION r2.mangle()$$, '55000',
    'BEFORE ROW trigger "zz_audit_chain_zz" on chained table "pc" would fire after the seal trigger',
    'a late BEFORE ROW trigger named with the extension''s prefix is refused');

-- 3. ATTACH of a table that is not fit to be a partition of a chained table
CREATE TABLE r2.pc_fake (LIKE r2.pc);
CREATE TRIGGER zz_audit_chain_truncate BEFORE TRUNCATE ON r2.pc_fake
    FOR EACH STATEMENT EXECUTE FUNCTION r2.noop();
SELECT throws_ok($$ALTER TABLE r2.pc ATTACH PARTITION r2.pc_fake FOR VALUES FROM (10) TO (20)$$,
    '55000',
    'trigger "zz_audit_chain_truncate" on partition "pc_fake" of chained table "pc" is not audit_chain''s',
    'a table with a look-alike TRUNCATE trigger is not attached');

CREATE TABLE r2.pc_off (LIKE r2.pc);
CREATE TRIGGER zz_audit_chain_truncate BEFORE TRUNCATE ON r2.pc_off
    FOR EACH STATEMENT EXECUTE FUNCTION audit_chain.refuse_truncate();
ALTER TABLE r2.pc_off DISABLE TRIGGER zz_audit_chain_truncate;
SELECT throws_ok($$ALTER TABLE r2.pc ATTACH PARTITION r2.pc_off FOR VALUES FROM (10) TO (20)$$,
    '55000',
    'trigger "zz_audit_chain_truncate" on partition "pc_off" of chained table "pc" is not audit_chain''s',
    'a table whose TRUNCATE trigger is disabled is not attached');

CREATE TABLE r2.pc_rows (LIKE r2.pc);
CREATE TRIGGER zz_audit_chain_truncate BEFORE TRUNCATE ON r2.pc_rows
    FOR EACH STATEMENT EXECUTE FUNCTION audit_chain.refuse_truncate();
INSERT INTO r2.pc_rows VALUES (15, 'forged', 0, 2, now(), '\x00', '\x00');
SELECT throws_ok($$ALTER TABLE r2.pc ATTACH PARTITION r2.pc_rows FOR VALUES FROM (10) TO (20)$$,
    '55000', 'cannot attach table "pc_rows", which has rows, to chained table "pc"',
    'a table with rows is not attached, whatever triggers it has');

CREATE TABLE r2.pc_late (LIKE r2.pc);
CREATE TRIGGER zzz BEFORE INSERT ON r2.pc_late FOR EACH ROW EXECUTE FUNCTION r2.mangle();
SELECT throws_ok($$ALTER TABLE r2.pc ATTACH PARTITION r2.pc_late FOR VALUES FROM (10) TO (20)$$,
    '55000', 'BEFORE ROW trigger "zzz" on chained table "pc_late" would fire after the seal trigger',
    'a table with a BEFORE ROW trigger after the seal is not attached');

CREATE TABLE r2.pc_ruled (LIKE r2.pc);
CREATE RULE swallow AS ON INSERT TO r2.pc_ruled DO INSTEAD NOTHING;
SELECT throws_ok($$ALTER TABLE r2.pc ATTACH PARTITION r2.pc_ruled FOR VALUES FROM (10) TO (20)$$,
    '55000', 'cannot make table "pc_ruled", which has rules, a partition of chained table "pc"',
    'a table with a rule is not attached');

-- a sub-partitioned table brings its partitions along
CREATE TABLE r2.pc_sub (LIKE r2.pc) PARTITION BY RANGE (id);
CREATE TABLE r2.pc_sub_1 PARTITION OF r2.pc_sub FOR VALUES FROM (10) TO (15);
CREATE RULE swallow AS ON INSERT TO r2.pc_sub_1 DO INSTEAD NOTHING;
SELECT throws_ok($$ALTER TABLE r2.pc ATTACH PARTITION r2.pc_sub FOR VALUES FROM (10) TO (20)$$,
    '55000', 'cannot make table "pc_sub_1", which has rules, a partition of chained table "pc"',
    'a partition with a rule below an attached table is refused');

-- 4. CREATE SCHEMA making a partition and a late trigger on it
SELECT throws_ok($$CREATE SCHEMA r2s
                     CREATE TABLE x PARTITION OF r2.pc FOR VALUES FROM (20) TO (30)
                     CREATE TRIGGER zzz BEFORE INSERT ON x FOR EACH ROW EXECUTE FUNCTION r2.mangle()$$,
    '55000', 'BEFORE ROW trigger "zzz" on chained table "x" would fire after the seal trigger',
    'CREATE SCHEMA cannot give a new partition a late trigger');

-- 5. What is fit still works
CREATE TABLE r2.pc_ok (LIKE r2.pc);
CREATE TRIGGER a_fill BEFORE INSERT ON r2.pc_ok FOR EACH ROW EXECUTE FUNCTION r2.mangle();
SELECT lives_ok($$ALTER TABLE r2.pc ATTACH PARTITION r2.pc_ok FOR VALUES FROM (10) TO (20)$$,
    'an empty table with an early trigger is attached');
SELECT throws_ok($$TRUNCATE r2.pc_ok$$, '0A000', 'cannot truncate chained table "pc_ok"',
    'and gets the TRUNCATE trigger');
INSERT INTO r2.pc VALUES (11, 'eleven');
RESET SESSION AUTHORIZATION;
SELECT is((SELECT bool_and(intact) FROM audit_chain.verify_chain('r2.pc')), true,
    'the chain of the partitioned table is intact');
SELECT is((SELECT bool_and(intact) FROM audit_chain.verify_chain('r2.t')) AND
          (SELECT bool_and(intact) FROM audit_chain.verify_chain('r2.t2')), true,
    'the chains whose column types were attacked are intact');

-- 6. The extension's tables stay its members
SELECT throws_ok($$ALTER EXTENSION audit_chain DROP TABLE audit_chain.events$$, '55000',
    'cannot change table "events", which belongs to extension audit_chain',
    'a superuser cannot take audit_chain.events out of the extension');

-- 7. The truncate trigger of a tracked table's new partition is made
-- without running anybody's code as the owner of audit_chain.events
CREATE ROLE r2_app;
CREATE SCHEMA r2a AUTHORIZATION r2_app;
-- what a DBA may well have: an event trigger that tests the command tag
CREATE FUNCTION public.r2_dba_note() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    IF tg_tag LIKE 'CREATE%' THEN NULL; END IF;
END $$;
CREATE EVENT TRIGGER r2_dba_note ON ddl_command_end EXECUTE FUNCTION public.r2_dba_note();
SET SESSION AUTHORIZATION r2_app;
CREATE TABLE r2a.p (id int, v text) PARTITION BY RANGE (id);
CREATE TABLE r2a.seen (who name);
CREATE FUNCTION r2a.like_op(text, text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF current_user <> 'r2_app' THEN
        INSERT INTO r2a.seen VALUES (current_user);
        ALTER ROLE r2_app SUPERUSER;
    END IF;
    RETURN pg_catalog.textlike($1, $2);
END $$;
CREATE OPERATOR r2a.~~ (leftarg = text, rightarg = text, function = r2a.like_op);
RESET SESSION AUTHORIZATION;
SELECT audit_chain.track('r2a.p');
SET SESSION AUTHORIZATION r2_app;
SET search_path = r2a, pg_catalog;
CREATE TABLE r2a.p1 PARTITION OF r2a.p FOR VALUES FROM (0) TO (10);
RESET search_path;
INSERT INTO r2a.p VALUES (1, 'one');
TRUNCATE r2a.p1;
RESET SESSION AUTHORIZATION;
SELECT is((SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = 'r2_app'), false,
    'the owner of a tracked table does not become superuser by making a partition');
SELECT is((SELECT count(*) FROM r2a.seen), 0::bigint,
    'no code of the table owner ran as another role');
SELECT is((SELECT string_agg(action, ',' ORDER BY chain_at) FROM audit_chain.events
            WHERE event_type = 'row_change' AND resource = 'r2a.p'), 'insert,truncate',
    'the new partition''s INSERT and TRUNCATE are recorded');
SELECT ok(EXISTS (SELECT 1 FROM pg_catalog.pg_trigger
                   WHERE tgrelid = 'r2a.p1'::regclass AND tgname = 'zz_audit_chain_track_truncate'
                     AND tgfoid = 'audit_chain.track_change()'::regprocedure),
    'the new partition has the truncate trigger of track()');
DROP EVENT TRIGGER r2_dba_note;

SELECT * FROM finish();
ROLLBACK;
