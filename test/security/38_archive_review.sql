-- Attack: an attacker's review of archive() (issue 12).  The extension's
-- owner makes and alters archive tables, and takes old partitions over
-- whole: code of the live table's owner must never run with its
-- privileges (a domain's CHECK run by the rewrite of an added column; a
-- trigger, an expression index, expression statistics or a row security
-- policy left on a detached partition, run by whoever writes or analyzes it
-- next, autovacuum included); privileges the owner granted on a partition
-- must not outlive the move; a row security policy on another partition
-- must not fool the check that an old partition is a prefix of its lane;
-- a column added to the live table must not stop archive(); and a table
-- that cannot be archived must not stop apply_retention() for the others.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

SELECT plan(37);

CREATE ROLE sec_rv_owner NOLOGIN;
CREATE ROLE sec_rv_friend NOLOGIN;
CREATE ROLE sec_rv_peer NOLOGIN;
CREATE SCHEMA sec_rv AUTHORIZATION sec_rv_owner;
GRANT EXECUTE ON FUNCTION audit_chain.protect(regclass, integer),
    audit_chain.archive_table(regclass),
    audit_chain.verify_chain(regclass, boolean, json, text)
  TO sec_rv_owner;
GRANT EXECUTE ON PROCEDURE audit_chain.archive(regclass, interval) TO sec_rv_owner;

-- Who ran the owner's code: a log anyone may append to
CREATE TABLE public.sec_rv_ran (who name, what text);
GRANT INSERT ON public.sec_rv_ran TO PUBLIC;
-- did any code of the owner's run as a superuser?
CREATE FUNCTION pg_temp.ran_as_superuser() RETURNS bigint LANGUAGE sql AS
    $$SELECT count(*) FROM public.sec_rv_ran r JOIN pg_roles o ON o.rolname = r.who WHERE o.rolsuper$$;
-- the schema a relation (by OID) is in now
CREATE FUNCTION pg_temp.nsp(rel oid) RETURNS text LANGUAGE sql AS
    $$SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = rel$$;
CREATE TEMP TABLE rels (name text PRIMARY KEY, rel oid);
GRANT ALL ON rels TO PUBLIC;

SET SESSION AUTHORIZATION sec_rv_owner;
-- spy() logs whoever runs it; spy_i() is an immutable wrapper that
-- expression indexes and statistics accept
CREATE FUNCTION sec_rv.spy(what text) RETURNS boolean LANGUAGE plpgsql AS
    $$BEGIN INSERT INTO public.sec_rv_ran VALUES (current_user, what); RETURN true; END$$;
CREATE FUNCTION sec_rv.spy_i(n int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS
    $$BEGIN PERFORM sec_rv.spy('expression'); RETURN n; END$$;
CREATE FUNCTION sec_rv.spy_t() RETURNS trigger LANGUAGE plpgsql AS
    $$BEGIN PERFORM sec_rv.spy('trigger'); RETURN NULL; END$$;

-- 1. A column added to the live table after its archive table was made:
-- archive() adds it to the archive table (it used to fail: the table was
-- open in the session).  The column's type is a domain whose CHECK calls
-- the owner's code; the archive table gets the base type, so that the
-- rewrite of the archive table never runs that code as the extension's owner.
CREATE DOMAIN sec_rv.checked AS int CHECK (sec_rv.spy('domain'));
CREATE TABLE sec_rv.log (id int);
SELECT audit_chain.protect('sec_rv.log');
INSERT INTO sec_rv.log SELECT g FROM generate_series(1, 5) g;
CALL audit_chain.archive('sec_rv.log', interval '1 microsecond');
ALTER TABLE sec_rv.log ADD COLUMN extra sec_rv.checked;
INSERT INTO sec_rv.log (id, extra) SELECT g, g FROM generate_series(6, 8) g;
SELECT lives_ok($$CALL audit_chain.archive('sec_rv.log', interval '1 microsecond')$$,
                'archive() after a column was added to the live table');
RESET SESSION AUTHORIZATION;
SELECT is(pg_temp.ran_as_superuser(), 0::bigint,
          'the domain''s CHECK never ran as a superuser');
SELECT is((SELECT count(*) FROM audit_chain_archive.log), 8::bigint, 'all 8 rows are archived');
SELECT is((SELECT count(*) FROM audit_chain_archive.log WHERE extra IS NOT NULL), 3::bigint,
          'with the added column''s values');
SELECT results_eq($$SELECT bool_and(intact) FROM audit_chain.verify_chain('audit_chain_archive.log')$$,
                  $$VALUES (true)$$, 'the archive verifies');
SELECT results_eq($$SELECT bool_and(intact) FROM audit_chain.verify_chain('sec_rv.log')$$,
                  $$VALUES (true)$$, 'so does the live table');

-- 2. Old partitions that carry code of the owner's are not taken over whole
-- (their rows are archived row by row when old enough, and the partition
-- stays the owner's)
SET SESSION AUTHORIZATION sec_rv_owner;
CREATE TABLE sec_rv.visits (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE sec_rv.v_trig PARTITION OF sec_rv.visits FOR VALUES FROM ('2020-01-01') TO ('2020-02-01');
CREATE TABLE sec_rv.v_rest PARTITION OF sec_rv.visits FOR VALUES FROM ('2020-02-01') TO (MAXVALUE);
SELECT audit_chain.protect('sec_rv.visits', 1);
INSERT INTO sec_rv.visits SELECT g, '2020-01-10'::timestamptz + g * interval '1 hour' FROM generate_series(1, 5) g;
INSERT INTO sec_rv.visits VALUES (6, now());
CREATE TRIGGER a_first BEFORE INSERT OR UPDATE OR DELETE ON sec_rv.v_trig
    FOR EACH ROW EXECUTE FUNCTION sec_rv.spy_t();
INSERT INTO rels VALUES ('v_trig', 'sec_rv.v_trig'::regclass);
SELECT lives_ok($$CALL audit_chain.archive('sec_rv.visits', interval '1 year')$$,
                'archive() of a table whose old partition has a trigger of the owner''s');
RESET SESSION AUTHORIZATION;
SELECT is(pg_temp.nsp((SELECT rel FROM rels WHERE name = 'v_trig')), 'sec_rv',
          'that partition is not detached');
-- a trigger on the partitioned table itself is not in the way: its clones
-- on the partitions go with DETACH
SET SESSION AUTHORIZATION sec_rv_owner;
CREATE TABLE sec_rv.cl (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE sec_rv.cl_old PARTITION OF sec_rv.cl FOR VALUES FROM ('2020-01-01') TO ('2020-02-01');
CREATE TABLE sec_rv.cl_rest PARTITION OF sec_rv.cl FOR VALUES FROM ('2020-02-01') TO (MAXVALUE);
SELECT audit_chain.protect('sec_rv.cl', 1);
INSERT INTO sec_rv.cl SELECT g, '2020-01-10'::timestamptz + g * interval '1 hour' FROM generate_series(1, 5) g;
INSERT INTO sec_rv.cl VALUES (6, now());
CREATE TRIGGER a_all AFTER INSERT ON sec_rv.cl FOR EACH ROW EXECUTE FUNCTION sec_rv.spy_t();
INSERT INTO rels VALUES ('cl_old', 'sec_rv.cl_old'::regclass);
CALL audit_chain.archive('sec_rv.cl', interval '1 year');
RESET SESSION AUTHORIZATION;
SELECT is(pg_temp.nsp((SELECT rel FROM rels WHERE name = 'cl_old')), 'audit_chain_archive',
          'a partition with only a clone of the partitioned table''s trigger is detached');
SELECT is((SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
             JOIN pg_roles o ON o.oid = c.relowner
            WHERE t.tgfoid = 'sec_rv.spy_t'::regproc AND o.rolsuper), 0::bigint,
          'no table of a superuser has the owner''s trigger');

SET SESSION AUTHORIZATION sec_rv_owner;
CREATE TABLE sec_rv.ix (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE sec_rv.ix_old PARTITION OF sec_rv.ix FOR VALUES FROM ('2020-01-01') TO ('2020-02-01');
CREATE TABLE sec_rv.ix_rest PARTITION OF sec_rv.ix FOR VALUES FROM ('2020-02-01') TO (MAXVALUE);
SELECT audit_chain.protect('sec_rv.ix', 1);
INSERT INTO sec_rv.ix SELECT g, '2020-01-10'::timestamptz + g * interval '1 hour' FROM generate_series(1, 5) g;
INSERT INTO sec_rv.ix VALUES (6, now());
CREATE INDEX ix_old_spy ON sec_rv.ix_old (sec_rv.spy_i(id));
CREATE TABLE sec_rv.st (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE sec_rv.st_old PARTITION OF sec_rv.st FOR VALUES FROM ('2020-01-01') TO ('2020-02-01');
CREATE TABLE sec_rv.st_rest PARTITION OF sec_rv.st FOR VALUES FROM ('2020-02-01') TO (MAXVALUE);
SELECT audit_chain.protect('sec_rv.st', 1);
INSERT INTO sec_rv.st SELECT g, '2020-01-10'::timestamptz + g * interval '1 hour' FROM generate_series(1, 5) g;
INSERT INTO sec_rv.st VALUES (6, now());
CREATE STATISTICS sec_rv.st_old_spy ON (sec_rv.spy_i(id)), id FROM sec_rv.st_old;
INSERT INTO rels VALUES ('ix_old', 'sec_rv.ix_old'::regclass), ('st_old', 'sec_rv.st_old'::regclass);
SELECT lives_ok($$CALL audit_chain.archive('sec_rv.ix', interval '1 year')$$,
                'archive() of a table whose old partition has an expression index');
SELECT lives_ok($$CALL audit_chain.archive('sec_rv.st', interval '1 year')$$,
                'archive() of a table whose old partition has expression statistics');
RESET SESSION AUTHORIZATION;
SELECT is(pg_temp.nsp((SELECT rel FROM rels WHERE name = 'ix_old')), 'sec_rv',
          'the partition with the expression index is not detached');
SELECT is(pg_temp.nsp((SELECT rel FROM rels WHERE name = 'st_old')), 'sec_rv',
          'nor the one with expression statistics');
-- what autovacuum does, as each partition's owner, wherever it is now
DELETE FROM public.sec_rv_ran;
DO $$DECLARE r oid;
BEGIN
    FOR r IN SELECT rel FROM rels WHERE name IN ('ix_old', 'st_old') LOOP
        EXECUTE format('ANALYZE %s', r::regclass);
    END LOOP;
END$$;
SELECT is(pg_temp.ran_as_superuser(), 0::bigint,
          'ANALYZE runs neither the index expression nor the statistics expression as a superuser');

SET SESSION AUTHORIZATION sec_rv_owner;
CREATE TABLE sec_rv.pol (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE sec_rv.p_old PARTITION OF sec_rv.pol FOR VALUES FROM ('2020-01-01') TO ('2020-02-01');
CREATE TABLE sec_rv.p_rest PARTITION OF sec_rv.pol FOR VALUES FROM ('2020-02-01') TO (MAXVALUE);
SELECT audit_chain.protect('sec_rv.pol', 1);
INSERT INTO sec_rv.pol SELECT g, '2020-01-10'::timestamptz + g * interval '1 hour' FROM generate_series(1, 5) g;
INSERT INTO sec_rv.pol VALUES (6, now());
CREATE POLICY spy ON sec_rv.p_old USING (sec_rv.spy('policy'));
INSERT INTO rels VALUES ('p_old', 'sec_rv.p_old'::regclass);
SELECT lives_ok($$CALL audit_chain.archive('sec_rv.pol', interval '1 year')$$,
                'archive() of a table whose old partition has a row security policy');
RESET SESSION AUTHORIZATION;
SELECT is(pg_temp.nsp((SELECT rel FROM rels WHERE name = 'p_old')), 'sec_rv',
          'that partition is not detached');

-- 3. A partition detached whole keeps no privilege the owner granted on it
SET SESSION AUTHORIZATION sec_rv_owner;
CREATE TABLE sec_rv.acl (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE sec_rv.a_old PARTITION OF sec_rv.acl FOR VALUES FROM ('2020-01-01') TO ('2020-02-01');
CREATE TABLE sec_rv.a_rest PARTITION OF sec_rv.acl FOR VALUES FROM ('2020-02-01') TO (MAXVALUE);
SELECT audit_chain.protect('sec_rv.acl', 1);
INSERT INTO sec_rv.acl SELECT g, '2020-01-10'::timestamptz + g * interval '1 hour' FROM generate_series(1, 5) g;
INSERT INTO sec_rv.acl VALUES (6, now());
ALTER TABLE sec_rv.a_old ALTER COLUMN id SET DEFAULT (sec_rv.spy('default')::int);
GRANT ALL ON sec_rv.a_old TO sec_rv_friend WITH GRANT OPTION;
GRANT SELECT (id), UPDATE (id) ON sec_rv.a_old TO sec_rv_peer;
INSERT INTO rels VALUES ('a_old', 'sec_rv.a_old'::regclass);
CALL audit_chain.archive('sec_rv.acl', interval '1 year');
RESET SESSION AUTHORIZATION;
SELECT is(pg_temp.nsp((SELECT rel FROM rels WHERE name = 'a_old')), 'audit_chain_archive',
          'a partition without code of the owner''s is detached whole');
SELECT is((SELECT count(*) FROM pg_class c, aclexplode(c.relacl) a
            WHERE c.oid = (SELECT rel FROM rels WHERE name = 'a_old') AND a.grantee <> c.relowner),
          0::bigint, 'no one but its new owner has a privilege on it');
SELECT is((SELECT count(*) FROM pg_attribute WHERE attrelid = (SELECT rel FROM rels WHERE name = 'a_old')
              AND attacl IS NOT NULL), 0::bigint, 'nor on one of its columns');
SELECT is((SELECT count(*) FROM pg_attrdef WHERE adrelid = (SELECT rel FROM rels WHERE name = 'a_old')),
          0::bigint, 'and it keeps no column default of the owner''s');

-- 4. A row security policy on another partition does not hide a lane's
-- rows from the check that an old partition is a prefix of the lane: row 2
-- is in the newer partition, between rows 1 and 3 of the old one
SET SESSION AUTHORIZATION sec_rv_owner;
CREATE TABLE sec_rv.rls (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE sec_rv.r_old PARTITION OF sec_rv.rls FOR VALUES FROM ('2020-01-01') TO ('2020-02-01');
CREATE TABLE sec_rv.r_rest PARTITION OF sec_rv.rls FOR VALUES FROM ('2020-02-01') TO (MAXVALUE);
SELECT audit_chain.protect('sec_rv.rls', 1);
INSERT INTO sec_rv.rls VALUES (1, '2020-01-10');
INSERT INTO sec_rv.rls VALUES (2, now());
INSERT INTO sec_rv.rls VALUES (3, '2020-01-11');
CREATE POLICY hide ON sec_rv.r_rest USING (false);
ALTER TABLE sec_rv.r_rest ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
SELECT throws_ok($$CALL audit_chain.archive('sec_rv.rls', interval '1 year')$$, '42501',
                 'query would be affected by row-level security policy for table "r_rest"',
                 'archive() refuses to look at a lane through a row security policy');
RESET SESSION AUTHORIZATION;
SELECT is((SELECT count(*) FROM sec_rv.rls), 3::bigint, 'every row stays in the live table');
SELECT results_eq($$SELECT bool_and(intact) FROM audit_chain.verify_chain('sec_rv.rls')$$,
                  $$VALUES (true)$$, 'which verifies');

-- 5. apply_retention(), run for every table by a superuser (cron), goes on
-- past a table its owner made impossible to archive (here with a foreign
-- key that references it), with a warning: one owner cannot stop the
-- retention of every other table
SET SESSION AUTHORIZATION sec_rv_owner;
CREATE TABLE sec_rv.blocker (id int PRIMARY KEY);
SELECT audit_chain.protect('sec_rv.blocker');
CREATE TABLE sec_rv.blocker_ref (id int REFERENCES sec_rv.blocker);
INSERT INTO sec_rv.blocker SELECT g FROM generate_series(1, 3) g;
RESET SESSION AUTHORIZATION;
CREATE TABLE public.sec_rv_other (id int);
SELECT audit_chain.protect('public.sec_rv_other');
INSERT INTO public.sec_rv_other SELECT g FROM generate_series(1, 3) g;
SELECT audit_chain.set_retention('sec_rv.blocker', interval '1 microsecond');
SELECT audit_chain.set_retention('public.sec_rv_other', interval '1 microsecond');
SET LOCAL client_min_messages = error;
SELECT throws_ok($$CALL audit_chain.apply_retention()$$, '55000',
                 'apply_retention() could not apply the retention policy of 1 table',
                 'apply_retention() goes on past a table that cannot be archived, then fails the run (a cron job must see it)');
SET LOCAL client_min_messages = warning;
-- (inside a transaction block the error undoes the run: that the other
-- table's rows are archived and committed is in test/tap_commit/apply_retention_failure.sql)
SELECT is((SELECT count(*) FROM sec_rv.blocker), 3::bigint,
          'the blocking table''s rows stay where they were');
SELECT results_eq($$SELECT bool_and(intact) FROM audit_chain.verify_chain('sec_rv.blocker')$$,
                  $$VALUES (true)$$, 'and verify');

-- 6. Two schemas' partitions of the same name, as pg_partman names them
-- (and with a long multibyte name): the second one's indexes, which move
-- with it, took names already used in the archive schema, and archive()
-- failed; and its new name must not cut a character in two
CREATE SCHEMA sec_rv_t1 AUTHORIZATION sec_rv_owner;
CREATE SCHEMA sec_rv_t2 AUTHORIZATION sec_rv_owner;
SET SESSION AUTHORIZATION sec_rv_owner;
CREATE TABLE sec_rv_t1.events (id int, at timestamptz NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE sec_rv_t1.events_p2020_01 PARTITION OF sec_rv_t1.events FOR VALUES FROM ('2020-01-01') TO ('2020-02-01');
CREATE TABLE sec_rv_t1."xéééééééééééééééééééééééééééééé" PARTITION OF sec_rv_t1.events FOR VALUES FROM ('2020-02-01') TO ('2020-03-01');
CREATE TABLE sec_rv_t1.events_rest PARTITION OF sec_rv_t1.events FOR VALUES FROM ('2020-03-01') TO (MAXVALUE);
SELECT audit_chain.protect('sec_rv_t1.events');
INSERT INTO sec_rv_t1.events VALUES (1, '2020-01-10'), (2, '2020-02-10'), (3, now());
CREATE TABLE sec_rv_t2.events (id int, at timestamptz NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE sec_rv_t2.events_p2020_01 PARTITION OF sec_rv_t2.events FOR VALUES FROM ('2020-01-01') TO ('2020-02-01');
CREATE TABLE sec_rv_t2."xéééééééééééééééééééééééééééééé" PARTITION OF sec_rv_t2.events FOR VALUES FROM ('2020-02-01') TO ('2020-03-01');
CREATE TABLE sec_rv_t2.events_rest PARTITION OF sec_rv_t2.events FOR VALUES FROM ('2020-03-01') TO (MAXVALUE);
SELECT audit_chain.protect('sec_rv_t2.events');
INSERT INTO sec_rv_t2.events VALUES (1, '2020-01-10'), (2, '2020-02-10'), (3, now());
CALL audit_chain.archive('sec_rv_t1.events', interval '1 year');
SELECT lives_ok($$CALL audit_chain.archive('sec_rv_t2.events', interval '1 year')$$,
                'archive() of partitions named as those of another schema archived before');
SELECT is((SELECT count(*) FROM sec_rv_t2.events), 1::bigint, 'both old partitions left the live table');
RESET SESSION AUTHORIZATION;
SELECT is((SELECT count(*) FROM pg_class WHERE relnamespace = 'audit_chain_archive'::regnamespace
              AND relname LIKE 'events_p2020_01%' AND relkind = 'r'), 2::bigint,
          'both partitions of that name are in the archive schema');
SELECT is((SELECT count(*) FROM pg_class WHERE relnamespace = 'audit_chain_archive'::regnamespace
              AND relname LIKE 'xé%' AND relkind = 'r'), 2::bigint,
          'and both of the long name');
SELECT results_eq($$SELECT bool_and(intact) FROM audit_chain.verify_chain('audit_chain_archive.events_2')$$,
                  $$VALUES (true)$$, 'the second archive verifies');

-- 7. A former owner of the live table reads none of its archive: ALTER
-- TABLE ... OWNER TO another role, then archive() by the new owner takes
-- SELECT and INSERT on the archive table from the former one (a role an
-- administrator granted SELECT alone keeps it)
CREATE ROLE sec_rv_heir NOLOGIN;
CREATE ROLE sec_rv_auditor NOLOGIN;
GRANT EXECUTE ON PROCEDURE audit_chain.archive(regclass, interval) TO sec_rv_heir;
GRANT USAGE ON SCHEMA sec_rv TO sec_rv_heir;
GRANT SELECT ON audit_chain_archive.log TO sec_rv_auditor;
ALTER TABLE sec_rv.log OWNER TO sec_rv_heir;
SET SESSION AUTHORIZATION sec_rv_heir;
CALL audit_chain.archive('sec_rv.log', interval '1 microsecond');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION sec_rv_owner;
SELECT throws_ok($$SELECT count(*) FROM audit_chain_archive.log$$, '42501',
                 'permission denied for table log', 'the former owner cannot read the archive');
RESET SESSION AUTHORIZATION;
SELECT ok(has_table_privilege('sec_rv_heir', 'audit_chain_archive.log', 'SELECT'),
          'the new owner can');
SELECT ok(has_table_privilege('sec_rv_auditor', 'audit_chain_archive.log', 'SELECT'),
          'and so can a role granted SELECT by hand');

-- 8. verify_chain() of an old partition that archive() detached verifies
-- its archive table, whole: on its own the partition held only part of the
-- segment and reported rows deleted (a false alarm).  Row 1 is archived row
-- by row, row 2 with its partition.
SET SESSION AUTHORIZATION sec_rv_owner;
CREATE TABLE sec_rv.split (id int, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE sec_rv.split_old PARTITION OF sec_rv.split FOR VALUES FROM ('2020-02-01') TO ('2020-03-01');
CREATE TABLE sec_rv.split_rest PARTITION OF sec_rv.split FOR VALUES FROM ('2020-03-01') TO (MAXVALUE);
SELECT audit_chain.protect('sec_rv.split');
INSERT INTO sec_rv.split VALUES (1, now());
SELECT pg_sleep(0.3);
INSERT INTO sec_rv.split VALUES (2, '2020-02-10');
CALL audit_chain.archive('sec_rv.split', interval '0.15 s');
CALL audit_chain.archive('sec_rv.split', interval '1 year');
RESET SESSION AUTHORIZATION;
SELECT is((SELECT count(*) FROM ONLY audit_chain_archive.split), 1::bigint,
          'one row was archived row by row');
SELECT results_eq($$SELECT tbl::text, rows_checked, intact FROM audit_chain.verify_chain('audit_chain_archive.split_old')$$,
                  $$VALUES ('audit_chain_archive.split', 2::bigint, true)$$,
                  'verify_chain() of the detached partition verifies its archive table');

SELECT * FROM finish();
ROLLBACK;
