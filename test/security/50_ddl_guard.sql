-- Attack suite, class 5: walking around the DDL guard.  Every attack runs as
-- an unprivileged role that owns the tables it attacks (the superuser only
-- protects them, and sets up what a table owner cannot do alone); the
-- attacks on the extension's own tables run as a superuser, who is refused
-- too.  Each throws_ok checks SQLSTATE and message.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

SELECT plan(64);

CREATE ROLE ac_ddl_owner;
DO $$BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO ac_ddl_owner', current_database()); END$$;
CREATE SCHEMA att AUTHORIZATION ac_ddl_owner;
-- The guard must not depend on who may execute its helpers
REVOKE ALL ON FUNCTION audit_chain.refuse_truncate() FROM PUBLIC;

-- The owner's tables, and types its columns use
SET SESSION AUTHORIZATION ac_ddl_owner;
CREATE TABLE att.ch (id int, b text);
CREATE TABLE att.p (id int, b text);
CREATE TABLE att.ch2 (id int, b text);
CREATE TABLE att.ruled (id int, b text);
CREATE TABLE att.sink (id int);
CREATE TABLE att.pr (k int, v text) PARTITION BY RANGE (k);
CREATE TABLE att.pr_1 PARTITION OF att.pr FOR VALUES FROM (0) TO (10);
CREATE TABLE att.pr2 (k int, v text) PARTITION BY RANGE (k);
CREATE TABLE att.pr2_1 PARTITION OF att.pr2 FOR VALUES FROM (0) TO (10);
CREATE TYPE att.pair AS (x int, y text);
CREATE TYPE att.mood AS ENUM ('ok', 'bad');
CREATE TABLE att.rt (x int);
CREATE VIEW att.vw AS SELECT 1 AS a;
CREATE TABLE att.uses (id int, pr att.pair, m att.mood, r att.rt, v att.vw);
CREATE TYPE att.inner_reg AS (r regclass);
CREATE DOMAIN att.dom_reg AS att.inner_reg;
CREATE TYPE att.moneyrange AS RANGE (subtype = money);
CREATE TABLE att.t_comp (id int, c att.inner_reg);
CREATE TABLE att.t_domarr (id int, c att.dom_reg[]);
CREATE TABLE att.t_range (id int, c att.moneyrange);
CREATE TABLE att.t_multi (id int, c att.moneymultirange);
CREATE TABLE att.t_acl (id int, c aclitem[]);
CREATE TABLE att.typed (id int);
RESET SESSION AUTHORIZATION;

\o /dev/null
SELECT audit_chain.protect('att.ch');
SELECT audit_chain.protect('att.ch2');
SELECT audit_chain.protect('att.ruled');
SELECT audit_chain.protect('att.pr');
SELECT audit_chain.protect('att.pr2');
SELECT audit_chain.protect('att.uses');
SELECT audit_chain.protect('att.typed');
INSERT INTO att.ch VALUES (1, 'one');
INSERT INTO att.uses VALUES (1, ROW(1, 'a'), 'ok', ROW(5), ROW(1));
-- The shapes a superuser could make with the guard off (or that predate it):
-- chained tables below a parent the owner controls
CREATE TABLE att.p_old (id int, b text);
ALTER TABLE att.p_old OWNER TO ac_ddl_owner;
CREATE TABLE att.ch_old (id int, b text);
ALTER TABLE att.ch_old OWNER TO ac_ddl_owner;
SELECT audit_chain.protect('att.ch_old');
\o
CREATE TABLE att.gp (LIKE att.pr2) PARTITION BY RANGE (k);
ALTER TABLE att.gp OWNER TO ac_ddl_owner;
ALTER EVENT TRIGGER audit_chain_ddl_guard DISABLE;
ALTER TABLE att.ch_old INHERIT att.p_old;
CREATE RULE swallow AS ON INSERT TO att.ruled DO INSTEAD NOTHING;
ALTER TABLE att.ruled DISABLE RULE swallow;
ALTER TABLE att.gp ATTACH PARTITION att.pr2 FOR VALUES FROM (0) TO (100);
CREATE TYPE att.tyc AS (id int, chain_lane smallint, chain_seq bigint, chain_at timestamptz,
                        chain_prev bytea, chain_hash bytea);
ALTER TYPE att.tyc OWNER TO ac_ddl_owner;
CREATE TABLE att.ty1 (id int);
ALTER TABLE att.ty1 OWNER TO ac_ddl_owner;
\o /dev/null
SELECT audit_chain.protect('att.ty1');
\o
ALTER TABLE att.ty1 OF att.tyc;
ALTER EVENT TRIGGER audit_chain_ddl_guard ENABLE;
CREATE ROLE ac_ddl_part;
CREATE TABLE att.pr_8 PARTITION OF att.pr FOR VALUES FROM (80) TO (90);
ALTER TABLE att.pr_8 OWNER TO ac_ddl_part;
CREATE SCHEMA att2 AUTHORIZATION ac_ddl_owner;
CREATE FOREIGN DATA WRAPPER att_fdw;
CREATE SERVER att_srv FOREIGN DATA WRAPPER att_fdw;
GRANT USAGE ON FOREIGN SERVER att_srv TO ac_ddl_owner;
CREATE TYPE att.tt AS (id int, chain_lane smallint, chain_seq bigint, chain_at timestamptz,
                       chain_prev bytea, chain_hash bytea);
ALTER TYPE att.tt OWNER TO ac_ddl_owner;

SET SESSION AUTHORIZATION ac_ddl_owner;

-- 1. A chained table made a child or a partition, then changed through the parent
SELECT throws_ok($$ALTER TABLE att.ch INHERIT att.p$$, '55000',
    'cannot make chained table "ch" inherit from another table',
    'INHERIT: a chained table cannot become a child');
CREATE TABLE att.pp (LIKE att.ch2) PARTITION BY LIST (id);
SELECT throws_ok($$ALTER TABLE att.pp ATTACH PARTITION att.ch2 FOR VALUES IN (1)$$, '55000',
    'cannot attach chained table "ch2" as a partition of "pp"',
    'ATTACH PARTITION: a chained table cannot become a partition');
SELECT throws_ok($$ALTER TABLE att.p_old RENAME COLUMN b TO bb$$, '55000',
    'cannot rename a column of chained table "ch_old"',
    'RENAME COLUMN on the parent of a chained child');
SELECT throws_ok($$ALTER TABLE att.p_old ALTER COLUMN b TYPE varchar(3)$$, '55000',
    'cannot change the type of a column of chained table "ch_old"',
    'ALTER COLUMN TYPE on the parent of a chained child');
SELECT throws_ok($$ALTER TABLE att.p_old ADD COLUMN flag boolean DEFAULT true$$, '55000',
    'cannot add a column with a default to chained table "ch_old"',
    'ADD COLUMN ... DEFAULT on the parent of a chained child');
SELECT throws_ok($$ALTER TABLE att.p_old ALTER COLUMN id SET DATA TYPE bigint, ADD COLUMN n serial$$, '55000',
    'cannot change the type of a column of chained table "ch_old"',
    'several subcommands on the parent: the first harmful one is refused');
SELECT throws_ok($$ALTER TABLE att.gp RENAME COLUMN v TO w$$, '55000',
    'cannot rename a column of chained table "pr2"',
    'RENAME COLUMN on the parent of a chained partitioned table');
SELECT throws_ok($$ALTER TABLE att.gp ALTER COLUMN v TYPE varchar(3)$$, '55000',
    'cannot change the type of a column of chained table "pr2"',
    'ALTER COLUMN TYPE on the parent of a chained partitioned table');
SELECT throws_ok($$ALTER TABLE att.typed OF att.tt$$, '55000',
    'cannot make chained table "typed" a typed table',
    'OF type: a chained table cannot become a typed table');
SELECT throws_ok($$ALTER TYPE att.tyc ALTER ATTRIBUTE id TYPE bigint CASCADE$$, '55000',
    'cannot change the type of a column of chained table "ty1"',
    'ALTER TYPE ... ALTER ATTRIBUTE TYPE ... CASCADE reaching a chained typed table');
SELECT throws_ok($$ALTER TYPE att.tyc RENAME ATTRIBUTE id TO ident CASCADE$$, '55000',
    'cannot rename a column of chained table "ty1"',
    'ALTER TYPE ... RENAME ATTRIBUTE ... CASCADE reaching a chained typed table');
SELECT lives_ok($$ALTER TABLE att.p_old ALTER COLUMN b SET DEFAULT 'x'$$,
    'SET DEFAULT through the parent is allowed, as on the chained table itself (old rows keep their values)');
SELECT lives_ok($$ALTER TABLE att.gp DETACH PARTITION att.pr2$$,
    'DETACH PARTITION of a chained table from a parent is allowed (it does not reach the chained table)');
SELECT lives_ok($$ALTER TABLE ONLY att.p_old ADD CONSTRAINT p_old_id_check CHECK (id > 0) NO INHERIT$$,
    'DDL on the parent alone (ONLY) is allowed');
-- partitions made by CREATE TABLE ... PARTITION OF are the chain
SELECT lives_ok($$CREATE TABLE att.pr_2 PARTITION OF att.pr FOR VALUES FROM (10) TO (20)$$,
    'CREATE TABLE ... PARTITION OF a chained table is allowed');
SELECT is((SELECT count(*)::int FROM pg_trigger
            WHERE tgrelid = to_regclass('att.pr_2') AND tgname = 'zz_audit_chain_truncate'), 1,
    'a partition made by the table owner gets the TRUNCATE trigger');
SELECT throws_ok($$TRUNCATE att.pr_2$$, '0A000', 'cannot truncate chained table "pr_2"',
    'TRUNCATE of the new partition is refused');
CREATE TABLE att.pr_3 (LIKE att.pr INCLUDING ALL);
SELECT lives_ok($$ALTER TABLE att.pr ATTACH PARTITION att.pr_3 FOR VALUES FROM (20) TO (30)$$,
    'ATTACH PARTITION of an empty plain table to a chained table is allowed');
SELECT is((SELECT count(*)::int FROM pg_trigger
            WHERE tgrelid = to_regclass('att.pr_3') AND tgname = 'zz_audit_chain_truncate'), 1,
    'an attached partition gets the TRUNCATE trigger');
CREATE TABLE att.pr_4 (LIKE att.pr INCLUDING ALL);
INSERT INTO att.pr_4 VALUES (31, 'forged', 0, 1000, '1970-01-01', '\x00', '\x00');
SELECT throws_ok($$ALTER TABLE att.pr ATTACH PARTITION att.pr_4 FOR VALUES FROM (30) TO (40)$$, '55000',
    'cannot attach table "pr_4", which has rows, to chained table "pr"',
    'ATTACH PARTITION of a table holding unsealed rows');
SELECT throws_ok($$CREATE TABLE att.kid () INHERITS (att.ch)$$, '55000',
    'cannot make table "kid" inherit from chained table "ch"',
    'CREATE TABLE ... INHERITS a chained table');
CREATE TABLE att.lk (LIKE att.ch);
SELECT throws_ok($$ALTER TABLE att.lk INHERIT att.ch$$, '55000',
    'cannot make table "lk" inherit from chained table "ch"',
    'ALTER TABLE ... INHERIT a chained table');
SELECT throws_ok($$CREATE UNLOGGED TABLE att.pr_u PARTITION OF att.pr FOR VALUES FROM (60) TO (70)$$,
    '55000', 'cannot make unlogged table "pr_u" a partition of chained table "pr"',
    'CREATE UNLOGGED TABLE ... PARTITION OF a chained table (a crash empties it)');
CREATE UNLOGGED TABLE att.pr_u2 (LIKE att.pr);
SELECT throws_ok($$ALTER TABLE att.pr ATTACH PARTITION att.pr_u2 FOR VALUES FROM (70) TO (80)$$,
    '55000', 'cannot make unlogged table "pr_u2" a partition of chained table "pr"',
    'ATTACH PARTITION of an empty unlogged table');
SELECT throws_ok($$CREATE FOREIGN TABLE att.pr_f PARTITION OF att.pr FOR VALUES FROM (50) TO (60) SERVER att_srv$$,
    '55000', 'cannot make foreign table "pr_f" a partition of chained table "pr"',
    'CREATE FOREIGN TABLE ... PARTITION OF a chained table');
CREATE FOREIGN TABLE att.ft (k int, v text, chain_lane smallint NOT NULL, chain_seq bigint NOT NULL,
    chain_at timestamptz NOT NULL, chain_prev bytea NOT NULL, chain_hash bytea NOT NULL) SERVER att_srv;
SELECT throws_ok($$ALTER TABLE att.pr ATTACH PARTITION att.ft FOR VALUES FROM (60) TO (70)$$,
    '55000', 'cannot make foreign table "ft" a partition of chained table "pr"',
    'ATTACH PARTITION of a foreign table to a chained table');
CREATE TABLE att2.pr_9 PARTITION OF att.pr FOR VALUES FROM (90) TO (100);
SELECT throws_ok($$DROP SCHEMA att2 CASCADE$$, '55000',
    'cannot drop a partition of chained table "pr"',
    'DROP SCHEMA ... CASCADE of a schema holding a partition of a chained table');
SET SESSION AUTHORIZATION ac_ddl_part;
SELECT throws_ok($$DROP OWNED BY ac_ddl_part$$, '55000',
    'cannot drop a partition of chained table "pr"',
    'DROP OWNED BY the owner of a partition of a chained table');
SET SESSION AUTHORIZATION ac_ddl_owner;
SELECT throws_ok($$ALTER TABLE att.pr_1 RENAME COLUMN chain_at TO at$$, '55000',
    'cannot rename a column of chained table "pr_1"',
    'RENAME COLUMN on a partition of a chained table');

-- 2. Rules on a chained table
SELECT throws_ok($$CREATE RULE swallow AS ON INSERT TO att.ch DO INSTEAD NOTHING$$, '55000',
    'cannot create a rule on chained table "ch"', 'CREATE RULE ... DO INSTEAD NOTHING');
SELECT throws_ok($$CREATE OR REPLACE RULE swallow AS ON INSERT TO att.ch DO INSTEAD NOTHING$$, '55000',
    'cannot create a rule on chained table "ch"', 'CREATE OR REPLACE RULE');
SELECT throws_ok($$CREATE RULE redirect AS ON INSERT TO att.ch DO INSTEAD INSERT INTO att.sink VALUES (NEW.id)$$,
    '55000', 'cannot create a rule on chained table "ch"', 'CREATE RULE that rewrites INSERT');
SELECT throws_ok($$CREATE RULE also AS ON INSERT TO att.ch DO ALSO NOTHING$$, '55000',
    'cannot create a rule on chained table "ch"', 'CREATE RULE ... DO ALSO');
SELECT throws_ok($$CREATE RULE swallow AS ON INSERT TO att.pr_1 DO INSTEAD NOTHING$$, '55000',
    'cannot create a rule on chained table "pr_1"', 'CREATE RULE on a partition of a chained table');
SELECT throws_ok($$ALTER TABLE att.ruled ENABLE RULE swallow$$, '55000',
    'cannot enable a rule on chained table "ruled"', 'ENABLE RULE of a rule made with the guard off');
SELECT throws_ok($$ALTER TABLE att.ruled ENABLE ALWAYS RULE swallow$$, '55000',
    'cannot enable a rule on chained table "ruled"', 'ENABLE ALWAYS RULE');
SELECT throws_ok($$ALTER TABLE att.ruled ENABLE REPLICA RULE swallow$$, '55000',
    'cannot enable a rule on chained table "ruled"', 'ENABLE REPLICA RULE');
SELECT lives_ok($$ALTER TABLE att.ruled DISABLE RULE swallow$$, 'DISABLE RULE is allowed');

-- 4. Types whose text depends on more than the value, hidden inside others
RESET SESSION AUTHORIZATION;
SELECT throws_ok($$SELECT audit_chain.protect('att.t_comp')$$, '0A000',
    'column "c" of table "t_comp" has type att.inner_reg, which contains type regclass and cannot be hashed canonically',
    'protect(): regclass inside a composite');
SELECT throws_ok($$SELECT audit_chain.protect('att.t_domarr')$$, '0A000',
    'column "c" of table "t_domarr" has type att.dom_reg[], which contains type regclass and cannot be hashed canonically',
    'protect(): regclass in an array of a domain over a composite');
SELECT throws_ok($$SELECT audit_chain.protect('att.t_range')$$, '0A000',
    'column "c" of table "t_range" has type att.moneyrange, which contains type money and cannot be hashed canonically',
    'protect(): money in a range');
SELECT throws_ok($$SELECT audit_chain.protect('att.t_multi')$$, '0A000',
    'column "c" of table "t_multi" has type att.moneymultirange, which contains type money and cannot be hashed canonically',
    'protect(): money in a multirange');
SELECT throws_ok($$SELECT audit_chain.protect('att.t_acl')$$, '0A000',
    'column "c" of table "t_acl" has type aclitem[], which cannot be hashed canonically',
    'protect(): aclitem');
SET SESSION AUTHORIZATION ac_ddl_owner;
SELECT throws_ok($$ALTER TABLE att.ch ADD COLUMN c att.dom_reg[]$$, '0A000',
    'column "c" of table "ch" has type att.dom_reg[], which contains type regclass and cannot be hashed canonically',
    'ADD COLUMN of a type with regclass inside');
SELECT throws_ok($$ALTER TABLE att.ch ADD COLUMN c att.moneyrange$$, '0A000',
    'column "c" of table "ch" has type att.moneyrange, which contains type money and cannot be hashed canonically',
    'ADD COLUMN of a range over money');
SELECT throws_ok($$ALTER TYPE att.pair ADD ATTRIBUTE z int$$, '55000',
    'cannot alter type att.pair because column "pr" of chained table "uses" uses it',
    'ALTER TYPE ... ADD ATTRIBUTE of a type a chained table uses');
SELECT throws_ok($$ALTER TYPE att.pair DROP ATTRIBUTE y$$, '55000',
    'cannot alter type att.pair because column "pr" of chained table "uses" uses it',
    'ALTER TYPE ... DROP ATTRIBUTE');
SELECT throws_ok($$ALTER TYPE att.pair ALTER ATTRIBUTE y TYPE varchar(1)$$, '55000',
    'cannot alter type att.pair because column "pr" of chained table "uses" uses it',
    'ALTER TYPE ... ALTER ATTRIBUTE TYPE');
SELECT throws_ok($$ALTER TABLE att.rt ADD COLUMN q int$$, '55000',
    'cannot alter row type att.rt because column "r" of chained table "uses" uses it',
    'ALTER TABLE ... ADD COLUMN of a table whose row type a chained table uses');
SELECT throws_ok($$CREATE OR REPLACE VIEW att.vw AS SELECT 1 AS a, 2 AS b$$, '55000',
    'cannot alter row type att.vw because column "v" of chained table "uses" uses it',
    'CREATE OR REPLACE VIEW adding a column to a view whose row type a chained table uses');
SELECT throws_ok($$ALTER TYPE att.mood RENAME VALUE 'ok' TO 'fine'$$, '55000',
    'cannot alter enum att.mood because column "m" of chained table "uses" uses it',
    'ALTER TYPE ... RENAME VALUE of an enum a chained table uses');
SELECT lives_ok($$ALTER TYPE att.mood ADD VALUE 'meh'$$,
    'ALTER TYPE ... ADD VALUE changes no stored text and is allowed');
SELECT lives_ok($$ALTER TYPE att.pair RENAME ATTRIBUTE y TO why$$,
    'ALTER TYPE ... RENAME ATTRIBUTE changes no stored text and is allowed');

-- CREATE SCHEMA with elements: judged like the statements it holds
SELECT lives_ok($$CREATE SCHEMA att3 CREATE TABLE pr_5 PARTITION OF att.pr FOR VALUES FROM (40) TO (50)$$,
    'CREATE SCHEMA ... CREATE TABLE ... PARTITION OF a chained table is allowed');
SELECT is((SELECT count(*)::int FROM pg_trigger
            WHERE tgrelid = to_regclass('att3.pr_5') AND tgname = 'zz_audit_chain_truncate'), 1,
    'a partition made inside CREATE SCHEMA gets the TRUNCATE trigger');
SELECT throws_ok($$CREATE SCHEMA att4 CREATE TABLE kid () INHERITS (att.ch)$$, '55000',
    'cannot make table "kid" inherit from chained table "ch"',
    'CREATE SCHEMA ... CREATE TABLE ... INHERITS a chained table');

-- The guards under a hostile search_path: look-alikes of what they could call
CREATE FUNCTION att.pg_event_trigger_dropped_objects(OUT classid oid, OUT objid oid,
    OUT objsubid integer, OUT original boolean, OUT normal boolean, OUT is_temporary boolean,
    OUT object_type text, OUT schema_name text, OUT object_name text,
    OUT object_identity text, OUT address_names text[], OUT address_args text[])
    RETURNS SETOF record LANGUAGE sql AS $$SELECT NULL::oid, NULL::oid, 0, true, true, false,
    'nothing', NULL, NULL, NULL, NULL::text[], NULL::text[] WHERE false$$;
CREATE FUNCTION att.oideq_always(oid, oid) RETURNS boolean LANGUAGE sql AS 'SELECT false';
CREATE OPERATOR att.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = att.oideq_always);
CREATE TEMP TABLE chains (tbl oid);
SET search_path = att, pg_temp, pg_catalog, public;
SELECT throws_ok($$DROP TABLE att.ch$$, '55000',
    'cannot drop table att.ch, which belongs to a chained table',
    'DROP TABLE under a hostile search_path');
SELECT throws_ok($$DROP TRIGGER zz_audit_chain_seal ON att.ch$$, '55000',
    'cannot drop trigger zz_audit_chain_seal on att.ch, which belongs to a chained table',
    'DROP TRIGGER under a hostile search_path');
SELECT throws_ok($$ALTER TABLE ch RENAME COLUMN b TO bb$$, '55000',
    'cannot rename a column of chained table "ch"',
    'RENAME COLUMN under a hostile search_path');
RESET search_path;

-- 3. The extension's own tables: refused even to a superuser
RESET SESSION AUTHORIZATION;
SELECT throws_ok($$ALTER TABLE audit_chain.events ADD COLUMN tenant text$$, '55000',
    'cannot change table "events", which belongs to extension audit_chain',
    'ALTER TABLE audit_chain.events ADD COLUMN, as a superuser');
SELECT throws_ok($$ALTER TABLE audit_chain.events RENAME COLUMN actor TO who$$, '55000',
    'cannot change table "events", which belongs to extension audit_chain',
    'ALTER TABLE audit_chain.events RENAME COLUMN, as a superuser');
SELECT throws_ok($$ALTER TABLE audit_chain.chains ADD COLUMN note text$$, '55000',
    'cannot change table "chains", which belongs to extension audit_chain',
    'ALTER TABLE audit_chain.chains ADD COLUMN, as a superuser');
SELECT lives_ok($$ALTER TABLE audit_chain.events SET (fillfactor = 90)$$,
    'storage settings of audit_chain.events may still be changed');

-- The chains are intact after all that
SELECT is((SELECT bool_and(intact) FROM audit_chain.verify_chain('att.uses')), true,
    'att.uses still verifies');

SELECT * FROM finish();
ROLLBACK;
