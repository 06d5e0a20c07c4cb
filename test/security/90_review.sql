-- Review of issue 10's protect()/unprotect() in C (src/protect.c): attacks
-- by a table owner on whoever runs protect() for them.
--
-- protect() seals the rows a table already holds by UPDATEs of the table,
-- which fire its triggers and evaluate its CHECK constraints, generated
-- columns and index expressions: code that the table's owner wrote.  A
-- superuser asked to protect an application's table, or a role that is a
-- member of the owning role, must not run that code with its own
-- privileges (on 3807530 the owner of the table became superuser).  It runs
-- as the table's owner, as REFRESH MATERIALIZED VIEW and CREATE INDEX do.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

SELECT plan(18);

CREATE ROLE rv_mallory NOLOGIN;
CREATE ROLE rv_admin NOLOGIN;
GRANT rv_mallory TO rv_admin;           -- rv_admin may act as the table's owner
CREATE SCHEMA rv AUTHORIZATION rv_mallory;
GRANT EXECUTE ON FUNCTION audit_chain.protect(regclass, integer),
    audit_chain.unprotect(regclass, text) TO rv_mallory, rv_admin;

SET SESSION AUTHORIZATION rv_mallory;
-- who ran the owner's code, and how
CREATE TABLE rv.seen (what text, who name);
-- becomes superuser if ever run by one; notes who ran it
CREATE FUNCTION rv.spy(what text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rv.seen VALUES (what, current_user);
    IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        EXECUTE 'ALTER ROLE rv_mallory SUPERUSER';
    END IF;
    RETURN true;
END $$;
CREATE FUNCTION rv.spy_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM rv.spy(TG_NAME);
    RETURN NEW;
END $$;
CREATE FUNCTION rv.spy_immutable(i int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    PERFORM rv.spy('index expression');
    RETURN i;
END $$;

CREATE TABLE rv.bait (id int CHECK (rv.spy('check constraint')), note text);
CREATE INDEX ON rv.bait (rv.spy_immutable(id));
CREATE TRIGGER a_spy BEFORE UPDATE ON rv.bait
    FOR EACH ROW EXECUTE FUNCTION rv.spy_trigger();
CREATE TRIGGER after_spy AFTER UPDATE ON rv.bait
    FOR EACH ROW EXECUTE FUNCTION rv.spy_trigger();
INSERT INTO rv.bait VALUES (1, 'one'), (2, 'two');
CREATE TABLE rv.bait2 (LIKE rv.bait INCLUDING ALL);
CREATE TRIGGER a_spy BEFORE UPDATE ON rv.bait2
    FOR EACH ROW EXECUTE FUNCTION rv.spy_trigger();
INSERT INTO rv.bait2 VALUES (1, 'one');
TRUNCATE rv.seen;
RESET SESSION AUTHORIZATION;

-- 1. the confused superuser
SELECT lives_ok($$SELECT audit_chain.protect('rv.bait')$$,
                'a superuser protects a table with rows, owned by another role');
SELECT is((SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = 'rv_mallory'), false,
          'the table''s owner did not become superuser through its trigger');
SELECT is((SELECT pg_catalog.array_agg(DISTINCT who::text) FROM rv.seen), ARRAY['rv_mallory'],
          'the owner''s trigger, CHECK constraint and index expression ran as the owner');
SELECT is((SELECT pg_catalog.array_agg(DISTINCT what ORDER BY what) FROM rv.seen),
          ARRAY['a_spy', 'after_spy', 'check constraint', 'index expression'],
          'all four ran while the existing rows were sealed');
SELECT is((SELECT pg_catalog.count(*) FROM audit_chain.verify_chain('rv.bait') WHERE intact), 1::bigint,
          'and the table is chained and intact');

-- 2. a member of the owning role
TRUNCATE rv.seen;
SET SESSION AUTHORIZATION rv_admin;
SELECT lives_ok($$SELECT audit_chain.protect('rv.bait2')$$,
                'a member of the owning role protects the table');
RESET SESSION AUTHORIZATION;
SELECT is((SELECT pg_catalog.array_agg(DISTINCT who::text) FROM rv.seen), ARRAY['rv_mallory'],
          'the owner''s trigger ran as the owner, not as the member');

-- 3. the owner's code runs as a security-restricted operation
SET SESSION AUTHORIZATION rv_mallory;
CREATE TABLE rv.bait3 (id int);
CREATE FUNCTION rv.temp_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    CREATE TEMP TABLE rv_left_behind (x int);
    RETURN NEW;
END $$;
CREATE TRIGGER a_temp BEFORE UPDATE ON rv.bait3
    FOR EACH ROW EXECUTE FUNCTION rv.temp_trigger();
INSERT INTO rv.bait3 VALUES (1);
RESET SESSION AUTHORIZATION;
SELECT throws_ok($$SELECT audit_chain.protect('rv.bait3')$$, '42501',
                 'cannot create temporary table within security-restricted operation',
                 'the owner''s code cannot leave objects behind for the superuser (security-restricted operation)');

-- 3b. FORCE ROW LEVEL SECURITY does not hide rows from the sealing: every
-- existing row is sealed (it hid them, and protect() failed with "column
-- chain_lane contains null values")
SET SESSION AUTHORIZATION rv_mallory;
CREATE TABLE rv.forced (n int);
INSERT INTO rv.forced VALUES (1), (2), (3);
ALTER TABLE rv.forced ENABLE ROW LEVEL SECURITY;
ALTER TABLE rv.forced FORCE ROW LEVEL SECURITY;
CREATE POLICY only_one ON rv.forced USING (n = 1);
SELECT lives_ok($$SELECT audit_chain.protect('rv.forced')$$,
                'a table with FORCE ROW LEVEL SECURITY is protected by its owner');
RESET SESSION AUTHORIZATION;
SELECT is((SELECT pg_catalog.count(*) FROM rv.forced WHERE chain_hash IS NOT NULL), 3::bigint,
          'and all of its rows are sealed, those its policy hides too');

-- 4. an unlogged partition: emptied by a crash, like an unlogged table
SET SESSION AUTHORIZATION rv_mallory;
CREATE TABLE rv.parted (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE rv.parted_old PARTITION OF rv.parted
    FOR VALUES FROM ('2000-01-01') TO ('2020-01-01');
CREATE UNLOGGED TABLE rv.parted_new PARTITION OF rv.parted
    FOR VALUES FROM ('2020-01-01') TO ('2040-01-01');
SELECT throws_ok($$SELECT audit_chain.protect('rv.parted')$$, '0A000',
                 'cannot protect "rv.parted", whose partition "rv.parted_new" is unlogged',
                 'a partitioned table with an unlogged partition cannot be protected');
ALTER TABLE rv.parted_new SET LOGGED;
SELECT lives_ok($$SELECT audit_chain.protect('rv.parted')$$,
                'once the partition is logged, it can');
RESET SESSION AUTHORIZATION;

-- 4b. a rule on a partition swallows the INSERTs made into it directly
SET SESSION AUTHORIZATION rv_mallory;
CREATE TABLE rv.ruled (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE rv.ruled_1 PARTITION OF rv.ruled
    FOR VALUES FROM ('2000-01-01') TO ('2040-01-01');
CREATE RULE swallow AS ON INSERT TO rv.ruled_1 DO INSTEAD NOTHING;
SELECT throws_ok($$SELECT audit_chain.protect('rv.ruled')$$, '55000',
                 'cannot protect "rv.ruled", whose partition "rv.ruled_1" has rules',
                 'a partitioned table with a rule on a partition cannot be protected');
RESET SESSION AUTHORIZATION;

-- 4c. odd names: a table whose name is 63 bytes long (its index name,
-- cut to 63 bytes, was the table's own name), and one whose
-- <table>_chain_idx is taken
SET SESSION AUTHORIZATION rv_mallory;
CREATE TABLE rv.a23456789012345678901234567890123456789012345678901234567890123 (n int);
SELECT lives_ok($$SELECT audit_chain.protect('rv.a23456789012345678901234567890123456789012345678901234567890123')$$,
                'a table with a 63-byte name can be protected');
CREATE TABLE rv.taken (n int);
CREATE TABLE rv.taken_chain_idx (n int);
SELECT lives_ok($$SELECT audit_chain.protect('rv.taken')$$,
                'a table whose <table>_chain_idx name is taken can be protected');
RESET SESSION AUTHORIZATION;

-- 5. lane_head() under row-level security: the head's seq counts the
-- rows the policy hides, so polling it shows other tenants' activity
CREATE ROLE rv_tenant NOLOGIN;
GRANT EXECUTE ON FUNCTION audit_chain.lane_head(regclass, integer) TO rv_tenant;
SET SESSION AUTHORIZATION rv_mallory;
CREATE TABLE rv.tenant_log (tenant name, what text);
SELECT audit_chain.protect('rv.tenant_log');
INSERT INTO rv.tenant_log VALUES ('someone_else', 'a'), ('someone_else', 'b');
ALTER TABLE rv.tenant_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON rv.tenant_log USING (tenant = current_user);
GRANT USAGE ON SCHEMA rv TO rv_tenant;
GRANT SELECT ON rv.tenant_log TO rv_tenant;
SET SESSION AUTHORIZATION rv_tenant;
SELECT throws_ok($$SELECT * FROM audit_chain.lane_head('rv.tenant_log', 0)$$, '42501',
                 'cannot read the lane heads of chained table "tenant_log" under row-level security',
                 'lane_head() refuses a caller under row-level security');
RESET SESSION AUTHORIZATION;
SELECT is((SELECT seq FROM audit_chain.lane_head('rv.tenant_log', 0)), 2::bigint,
          'a role that bypasses row-level security reads the head');

-- 6. protect() called by a trigger that protect() fires: a clear error
SET SESSION AUTHORIZATION rv_mallory;
CREATE TABLE rv.outer_t (id int);
CREATE TABLE rv.inner_t (id int);
CREATE FUNCTION rv.nested() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM audit_chain.protect('rv.inner_t');
    RETURN NEW;
END $$;
CREATE TRIGGER a_nested BEFORE UPDATE ON rv.outer_t
    FOR EACH ROW EXECUTE FUNCTION rv.nested();
INSERT INTO rv.outer_t VALUES (1);
SELECT throws_ok($$SELECT audit_chain.protect('rv.outer_t')$$, '55000',
                 'cannot protect table "inner_t" while the existing rows of table "outer_t" are being sealed',
                 'protect() inside protect()''s sealing of existing rows is a clear error');
RESET SESSION AUTHORIZATION;

SELECT * FROM finish();
ROLLBACK;
