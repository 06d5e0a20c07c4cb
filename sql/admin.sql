-- Admin events say what changed (issue 14): every GRANT and REVOKE names
-- the objects, grantees and privileges; role grants the roles and members;
-- DROP ROLE, DROP OWNED and REASSIGN OWNED the roles; statements event
-- triggers do not see (databases, roles, event triggers, REASSIGN OWNED,
-- GRANT and COMMENT on a database or role) are recorded by the utility
-- hook; each statement once, none that failed.
-- The hook runs in sessions that loaded the library: LOAD it first, as
-- shared_preload_libraries would (test/scenarios/admin_preload.sh checks
-- fresh sessions with it preloaded).
\set VERBOSITY terse
LOAD 'audit_chain';
SET client_min_messages = warning;
DROP DATABASE IF EXISTS ac_adm_db;
DROP DATABASE IF EXISTS ac_adm_db2;
DROP ROLE IF EXISTS ac_adm_r1;
DROP ROLE IF EXISTS ac_adm_r2;
DROP ROLE IF EXISTS ac_adm_owner;
RESET client_min_messages;
SELECT clock_timestamp() AS t0 \gset

-- roles
CREATE ROLE ac_adm_r1 LOGIN PASSWORD 'not-in-the-log' CONNECTION LIMIT 3;
CREATE ROLE ac_adm_r2;
CREATE ROLE ac_adm_owner;
ALTER ROLE ac_adm_r1 WITH PASSWORD 'nor-this' VALID UNTIL 'infinity';
ALTER ROLE ac_adm_r1 SET work_mem = '2MB';
ALTER GROUP ac_adm_r2 ADD USER ac_adm_r1;
ALTER GROUP ac_adm_r2 DROP USER ac_adm_r1;
COMMENT ON ROLE ac_adm_r1 IS 'support engineer';
GRANT ac_adm_r2 TO ac_adm_r1 WITH ADMIN OPTION GRANTED BY CURRENT_USER;
REVOKE ADMIN OPTION FOR ac_adm_r2 FROM ac_adm_r1 CASCADE;
REVOKE ac_adm_r2 FROM ac_adm_r1;

-- object privileges: one event per statement, however many objects
CREATE SCHEMA ac_adm;
CREATE TABLE ac_adm.a (x int, y int);
CREATE TABLE ac_adm.b (x int);
CREATE TABLE ac_adm."odd, name" (x int);
CREATE FUNCTION ac_adm.f(int) RETURNS int LANGUAGE sql AS 'SELECT $1';
GRANT SELECT, INSERT ON ac_adm.a, ac_adm.b TO ac_adm_r1 WITH GRANT OPTION;
GRANT UPDATE (x, y), SELECT ON ac_adm.a TO ac_adm_r2, PUBLIC;
REVOKE GRANT OPTION FOR INSERT ON ac_adm.a FROM ac_adm_r1 CASCADE;
GRANT ALL ON ALL TABLES IN SCHEMA ac_adm TO ac_adm_r2;
REVOKE ALL ON ac_adm."odd, name" FROM ac_adm_r2;
GRANT EXECUTE ON FUNCTION ac_adm.f(int) TO ac_adm_r1;
CREATE SCHEMA ac_adm_empty;
GRANT SELECT ON ALL TABLES IN SCHEMA ac_adm_empty TO ac_adm_r1;
DROP SCHEMA ac_adm_empty;
GRANT USAGE, CREATE ON SCHEMA ac_adm TO ac_adm_owner;
ALTER DEFAULT PRIVILEGES FOR ROLE ac_adm_owner IN SCHEMA ac_adm GRANT SELECT ON TABLES TO ac_adm_r1;

-- views: CREATE OR REPLACE is one event
CREATE VIEW ac_adm.v AS SELECT 1 AS x;
CREATE OR REPLACE VIEW ac_adm.v AS SELECT 1 AS x, 2 AS y;

-- databases, from this database: the events are written here
CREATE DATABASE ac_adm_db;
ALTER DATABASE ac_adm_db CONNECTION LIMIT 5;
ALTER DATABASE ac_adm_db SET work_mem = '4MB';
ALTER DATABASE ac_adm_db OWNER TO ac_adm_owner;
ALTER DATABASE ac_adm_db RENAME TO ac_adm_db2;
GRANT CONNECT, TEMP ON DATABASE ac_adm_db2 TO ac_adm_r1;
REVOKE CONNECT ON DATABASE ac_adm_db2 FROM PUBLIC;
COMMENT ON DATABASE ac_adm_db2 IS 'tenant database';
DROP DATABASE ac_adm_db2;
DROP DATABASE IF EXISTS ac_adm_db2;

-- event triggers
CREATE FUNCTION ac_adm.evf() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN END$$;
CREATE EVENT TRIGGER ac_adm_et ON ddl_command_start WHEN TAG IN ('CREATE TABLE')
    EXECUTE FUNCTION ac_adm.evf();
ALTER EVENT TRIGGER ac_adm_et DISABLE;
DROP EVENT TRIGGER ac_adm_et;

-- an extension pulls in another through CASCADE: one event each
CREATE EXTENSION earthdistance CASCADE;
DROP EXTENSION earthdistance, cube;

-- ALTER SYSTEM (the setting, not its value)
ALTER SYSTEM SET work_mem = '4MB';
ALTER SYSTEM RESET work_mem;

-- ownership and roles going away
CREATE TABLE ac_adm.owned (x int);
ALTER TABLE ac_adm.owned OWNER TO ac_adm_owner;
REASSIGN OWNED BY ac_adm_owner TO CURRENT_USER;
DROP OWNED BY ac_adm_r1, ac_adm_r2, ac_adm_owner;
DROP ROLE ac_adm_r1, ac_adm_r2;
DROP ROLE IF EXISTS ac_adm_r1;

-- statements that fail write nothing (the role exists already, ...)
CREATE ROLE ac_adm_owner;
GRANT SELECT ON ac_adm.missing TO ac_adm_owner;
GRANT CONNECT ON DATABASE ac_adm_missing TO ac_adm_owner;
GRANT ac_adm_missing TO ac_adm_owner;
CREATE DATABASE ac_adm_db WITH TEMPLATE ac_adm_missing;
DROP DATABASE ac_adm_missing;
-- (a WARNING, no change)
COMMENT ON DATABASE ac_adm_missing IS 'x';
CREATE TABLE ac_adm.kept_by_owner (x int);
ALTER TABLE ac_adm.kept_by_owner OWNER TO ac_adm_owner;
DROP ROLE ac_adm_owner;
REASSIGN OWNED BY ac_adm_missing TO CURRENT_USER;
BEGIN;
CREATE ROLE ac_adm_rolled_back;
GRANT SELECT ON ac_adm.a TO ac_adm_rolled_back;
ROLLBACK;
BEGIN;
SAVEPOINT s;
COMMENT ON ROLE ac_adm_owner IS 'rolled back';
ROLLBACK TO SAVEPOINT s;
COMMIT;
DROP SCHEMA ac_adm CASCADE;
DROP OWNED BY ac_adm_owner;
DROP ROLE ac_adm_owner;

-- every admin event of the script, in order
SELECT action, resource, details
  FROM audit_chain.events
 WHERE event_type = 'admin' AND chain_at >= :'t0'
 ORDER BY chain_at, chain_lane, chain_seq;
-- attributed to the role that ran them
SELECT count(*) AS events, count(*) FILTER (WHERE db_role = current_user) AS by_me
  FROM audit_chain.events WHERE event_type = 'admin' AND chain_at >= :'t0';
-- no anonymous privilege or role event, and no password
SELECT count(*) AS anonymous
  FROM audit_chain.events
 WHERE event_type = 'admin' AND chain_at >= :'t0' AND resource IS NULL;
SELECT count(*) AS passwords_in_log
  FROM audit_chain.events
 WHERE chain_at >= :'t0' AND (details::text LIKE '%not-in-the-log%' OR details::text LIKE '%nor-this%');
SELECT lane, intact FROM audit_chain.verify_chain('audit_chain.events') WHERE NOT intact;

-- cost: a GRANT on 1000 tables is one event, not one per table
CREATE SCHEMA ac_adm_many;
DO $$BEGIN
    FOR i IN 1..1000 LOOP
        EXECUTE format('CREATE TABLE ac_adm_many.t%s (x int)', pg_catalog.lpad(i::text, 4, '0'));
    END LOOP;
END$$;
SELECT clock_timestamp() AS t1 \gset
CREATE ROLE ac_adm_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA ac_adm_many TO ac_adm_reader;
DROP SCHEMA ac_adm_many CASCADE;
DROP ROLE ac_adm_reader;
SELECT action, resource, jsonb_array_length(details->'objects') AS objects,
       details->'objects'->>999 AS last, details->'in_schemas' AS in_schemas
  FROM audit_chain.events
 WHERE event_type = 'admin' AND chain_at >= :'t1'
 ORDER BY chain_at, chain_lane, chain_seq;
