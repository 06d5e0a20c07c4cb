-- Restores of a dump (issue 15): what audit_chain does while a dump is
-- replayed, that is while a superuser runs with check_function_bodies off
-- as pg_dump's scripts and pg_restore do (test/scenarios/restore_all.sh runs
-- the real pg_dump and pg_restore; this file checks each rule alone):
--
--  - a sealed row of a dump reaching a chained table's seal trigger, and
--    DISABLE TRIGGER on a chained table or one of the extension's tables,
--    are a data-only restore: refused (0A000), saying what to do;
--  - CREATE SCHEMA audit_chain when the extension is there is a restore into
--    a database that has it: refused (55000), saying what to do;
--  - a dumped row of a lane of audit_chain.events merges into the lane
--    CREATE EXTENSION made (restore_lane()), once, only while the lane is as
--    made, only while replaying; otherwise the primary key refuses it;
--  - the register leaves the events of a replayed dump to the dumped
--    register_lanes.
-- None of it is reachable by an ordinary role that turns
-- check_function_bodies off: its rows are sealed and counted as always.
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

CREATE ROLE sec_rs_attacker LOGIN;
CREATE SCHEMA sec_rs AUTHORIZATION sec_rs_attacker;
CREATE TABLE sec_rs.t (x int);
SELECT audit_chain.protect('sec_rs.t');
GRANT INSERT ON sec_rs.t TO sec_rs_attacker;
GRANT INSERT ON audit_chain.events TO sec_rs_attacker;

-- ---------------------------------------------------------------- replaying
SET LOCAL check_function_bodies = off;

SELECT throws_ok($$INSERT INTO sec_rs.t (x, chain_lane, chain_seq, chain_at, chain_prev, chain_hash)
                  VALUES (1, 0, 1, now(), sha256(''), sha256('x'))$$,
                 '0A000', 'cannot restore the rows of table "t" into a table that audit_chain guards already',
                 'replaying a dump: a sealed row into a chained table whose trigger is there (data-only) is refused');
SELECT lives_ok($$INSERT INTO sec_rs.t (x) VALUES (2)$$,
                'replaying a dump: a new row without a seal is sealed as always');
SELECT throws_ok($$ALTER TABLE sec_rs.t DISABLE TRIGGER ALL$$,
                 '0A000', 'cannot restore the rows of table "t" into a table that audit_chain guards already',
                 'replaying a dump: DISABLE TRIGGER ALL on a chained table (--data-only --disable-triggers) is refused');
CREATE FUNCTION sec_rs.noop() RETURNS trigger LANGUAGE plpgsql AS $f$BEGIN RETURN NULL; END$f$;
CREATE TRIGGER zzz_noop AFTER INSERT ON sec_rs.t FOR EACH ROW EXECUTE FUNCTION sec_rs.noop();
SELECT lives_ok($$ALTER TABLE sec_rs.t DISABLE TRIGGER zzz_noop$$,
                'replaying a dump: a trigger of the user''s own disabled by name (as a whole restore does) is left alone');
SELECT throws_ok($$ALTER TABLE audit_chain.chains DISABLE TRIGGER ALL$$,
                 '0A000', 'cannot restore the rows of table "chains" into a table that audit_chain guards already',
                 'replaying a dump: DISABLE TRIGGER ALL on an extension table is refused the same way');
SELECT throws_ok($$CREATE SCHEMA audit_chain$$,
                 '55000', format('cannot restore a dump of audit_chain into database "%s", which has the extension already',
                                 current_database()),
                 'replaying a dump: CREATE SCHEMA audit_chain where the extension is (created first) is refused');
SELECT lives_ok($$CREATE SCHEMA IF NOT EXISTS audit_chain$$,
                'replaying a dump: CREATE SCHEMA IF NOT EXISTS audit_chain (never in a dump) is left to PostgreSQL, a notice');

-- a dumped lane of audit_chain.events: merged into the one made here
SELECT lives_ok($$INSERT INTO audit_chain.chains (tbl, lane, genesis, archived_seq, archived_hash, created_at, created_by)
                  VALUES ('audit_chain.events', 15, sha256(convert_to('audit_chain/v1 events lane 15', 'UTF8')),
                          3, sha256('boundary'), '2020-01-01', 'restored')$$,
                'replaying a dump: a dumped lane of events merges into the lane CREATE EXTENSION made');
SELECT is((SELECT format('%s/%s/%s/%s', count(*), max(archived_seq), max(created_by), max(created_at))
             FROM audit_chain.chains WHERE tbl = 'audit_chain.events'::regclass AND lane = 15),
          '1/3/restored/2020-01-01 00:00:00+00',
          'the lane takes the dumped boundary and created_at, and is still one row');
SELECT throws_ok($$INSERT INTO audit_chain.chains (tbl, lane, genesis, archived_seq, created_by)
                   VALUES ('audit_chain.events', 15, sha256(convert_to('audit_chain/v1 events lane 15', 'UTF8')),
                           5, 'again')$$,
                 '55000', 'cannot restore lane 15 of table "audit_chain.events" into a database where it is in use',
                 'replaying a dump: a lane whose boundary moved here already is not overwritten');
SELECT throws_ok($$INSERT INTO audit_chain.chains (tbl, lane, genesis)
                   VALUES ('audit_chain.events', 14, sha256('another genesis'))$$,
                 '55000', 'cannot restore lane 14 of table "audit_chain.events" into a database where it is in use',
                 'replaying a dump: a lane with another genesis is not merged');

-- the register: the events of a replayed dump are counted in the dumped register already
SELECT lives_ok($$INSERT INTO audit_chain.events (event_type, action, purpose) VALUES ('api_request', 'replayed', 'sec_rs_replay')$$,
                'replaying a dump: an event with a purpose goes in');
SELECT is((SELECT count(*) FROM audit_chain.register_lanes WHERE purpose = 'sec_rs_replay'), 0::bigint,
          'replaying a dump: the register leaves it to the dumped register_lanes');

-- ---------------------------------------------------------------- an ordinary role
SET SESSION AUTHORIZATION sec_rs_attacker;
SET check_function_bodies = off;
SELECT lives_ok($$INSERT INTO sec_rs.t (x, chain_lane, chain_seq, chain_at, chain_prev, chain_hash)
                  VALUES (3, 0, 1, now(), sha256(''), sha256('x'))$$,
                'an ordinary role with check_function_bodies off: its row with made-up chain values goes in...');
RESET SESSION AUTHORIZATION;
SELECT is((SELECT chain_seq FROM sec_rs.t WHERE x = 3), 2::bigint,
          '... sealed anew (seq 2, after the row before), not kept as given');
SET SESSION AUTHORIZATION sec_rs_attacker;
INSERT INTO audit_chain.events (event_type, action, purpose) VALUES ('api_request', 'attacker', 'sec_rs_attacker');
RESET SESSION AUTHORIZATION;
SELECT is((SELECT sum(events) FROM audit_chain.register_lanes WHERE purpose = 'sec_rs_attacker'), 1::numeric,
          'an ordinary role with check_function_bodies off: its event is counted in the register');

-- ---------------------------------------------------------------- not replaying
RESET check_function_bodies;
SELECT throws_ok($$INSERT INTO audit_chain.chains (tbl, lane, genesis)
                   VALUES ('audit_chain.events', 13, sha256(convert_to('audit_chain/v1 events lane 13', 'UTF8')))$$,
                 '23505', NULL,
                 'not replaying a dump: a second row of a lane of events fails on the primary key');
SELECT is((SELECT bool_and(intact) FROM audit_chain.verify_chain('sec_rs.t')), true,
          'the chained table still verifies');

SELECT * FROM finish();
ROLLBACK;
