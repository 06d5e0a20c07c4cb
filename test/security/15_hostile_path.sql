-- Attack: a hostile search_path.  The attacker owns a schema full of
-- look-alikes of the functions, aggregates and operators the extension's
-- SQL uses, puts it first on its search_path (before pg_catalog), and calls
-- every function of the extension it can be granted through it, and makes
-- the triggers and event triggers fire.  A superuser whose search_path was
-- pointed at the schema does the same with the administrative functions.
-- Every look-alike records that it ran; none may have run.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

SELECT plan(43);

CREATE ROLE sec_eve NOLOGIN;
CREATE SCHEMA evil AUTHORIZATION sec_eve;
CREATE TABLE evil.hits (what text, by_role name DEFAULT current_user);
ALTER TABLE evil.hits OWNER TO sec_eve;
GRANT INSERT, SELECT ON evil.hits TO PUBLIC;
GRANT USAGE ON SCHEMA evil TO PUBLIC;

-- What a well-meaning DBA grants: the table owner may protect its tables,
-- write and track; it may verify and see reports.
GRANT EXECUTE ON FUNCTION audit_chain.protect(regclass, integer),
    audit_chain.unprotect(regclass, text),
    audit_chain.verify_chain(regclass, boolean, json, text),
    audit_chain.row_hash(regclass, integer, bigint),
    audit_chain.canonical_row(regclass, integer, bigint),
    audit_chain.log_event(text, text, text, text, text, text, text, integer, integer, integer,
        numeric, bytea, bytea, text, text, text, text, text[], boolean, text, text, text, inet,
        text, jsonb, timestamptz, text, text, text, text[], text, text),
    audit_chain.track(regclass, text[], boolean),
    audit_chain.untrack(regclass),
    audit_chain.gdpr_subject_access(text),
    audit_chain.gdpr_subject_access_json(text),
    audit_chain.hipaa_disclosures(text, timestamptz),
    audit_chain.activity_anomalies(integer, timestamptz),
    audit_chain.export_jsonl(timestamptz),
    audit_chain.checkpoint()
  TO sec_eve;
GRANT EXECUTE ON PROCEDURE audit_chain.assert_intact(regclass, boolean, json, text),
    audit_chain.refresh_reports(boolean) TO sec_eve;
GRANT SELECT, INSERT ON audit_chain.events TO sec_eve;

SET SESSION AUTHORIZATION sec_eve;

-- The look-alikes.  Each records its name, then does what the real one does.
CREATE FUNCTION evil.hit(what text) RETURNS void LANGUAGE sql
    AS $$ INSERT INTO evil.hits (what) VALUES (what) $$;
CREATE FUNCTION evil.int4mi(a int, b int) RETURNS int LANGUAGE sql
    AS $$ SELECT evil.hit('int4 -'); SELECT a OPERATOR(pg_catalog.-) b $$;
CREATE OPERATOR evil.- (LEFTARG = int, RIGHTARG = int, FUNCTION = evil.int4mi);
CREATE FUNCTION evil.int4eq(a int, b int) RETURNS bool LANGUAGE sql
    AS $$ SELECT evil.hit('int4 ='); SELECT a OPERATOR(pg_catalog.=) b $$;
CREATE OPERATOR evil.= (LEFTARG = int, RIGHTARG = int, FUNCTION = evil.int4eq);
CREATE FUNCTION evil.int8eq(a bigint, b bigint) RETURNS bool LANGUAGE sql
    AS $$ SELECT evil.hit('int8 ='); SELECT a OPERATOR(pg_catalog.=) b $$;
CREATE OPERATOR evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = evil.int8eq);
CREATE FUNCTION evil.int2eq(a smallint, b smallint) RETURNS bool LANGUAGE sql
    AS $$ SELECT evil.hit('int2 ='); SELECT a OPERATOR(pg_catalog.=) b $$;
CREATE OPERATOR evil.= (LEFTARG = smallint, RIGHTARG = smallint, FUNCTION = evil.int2eq);
CREATE FUNCTION evil.regclasseq(a regclass, b regclass) RETURNS bool LANGUAGE sql
    AS $$ SELECT evil.hit('regclass ='); SELECT a::oid OPERATOR(pg_catalog.=) b::oid $$;
CREATE OPERATOR evil.= (LEFTARG = regclass, RIGHTARG = regclass, FUNCTION = evil.regclasseq);
CREATE FUNCTION evil.regclassne(a regclass, b regclass) RETURNS bool LANGUAGE sql
    AS $$ SELECT evil.hit('regclass <>'); SELECT a::oid OPERATOR(pg_catalog.<>) b::oid $$;
CREATE OPERATOR evil.<> (LEFTARG = regclass, RIGHTARG = regclass, FUNCTION = evil.regclassne);
CREATE FUNCTION evil.oideq(a oid, b oid) RETURNS bool LANGUAGE sql
    AS $$ SELECT evil.hit('oid ='); SELECT a OPERATOR(pg_catalog.=) b $$;
CREATE OPERATOR evil.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = evil.oideq);
CREATE FUNCTION evil.texteq(a text, b text) RETURNS bool LANGUAGE sql
    AS $$ SELECT evil.hit('text ='); SELECT a OPERATOR(pg_catalog.=) b $$;
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.texteq);
CREATE FUNCTION evil.namecat(a text, b text) RETURNS text LANGUAGE sql
    AS $$ SELECT evil.hit('text ||'); SELECT a OPERATOR(pg_catalog.||) b $$;
CREATE OPERATOR evil.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.namecat);
CREATE FUNCTION evil.tsge(a timestamptz, b timestamptz) RETURNS bool LANGUAGE sql
    AS $$ SELECT evil.hit('timestamptz >='); SELECT a OPERATOR(pg_catalog.>=) b $$;
CREATE OPERATOR evil.>= (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = evil.tsge);
CREATE FUNCTION evil.generate_series(a int, b int) RETURNS SETOF int LANGUAGE sql
    AS $$ SELECT evil.hit('generate_series'); SELECT pg_catalog.generate_series(a, b) $$;
CREATE FUNCTION evil.sha256(b bytea) RETURNS bytea LANGUAGE sql
    AS $$ SELECT evil.hit('sha256'); SELECT pg_catalog.sha256(b) $$;
CREATE FUNCTION evil.length(b bytea) RETURNS int LANGUAGE sql
    AS $$ SELECT evil.hit('length'); SELECT pg_catalog.length(b) $$;
CREATE FUNCTION evil.convert_to(t text, e name) RETURNS bytea LANGUAGE sql
    AS $$ SELECT evil.hit('convert_to'); SELECT pg_catalog.convert_to(t, e) $$;
CREATE FUNCTION evil.encode(b bytea, f text) RETURNS text LANGUAGE sql
    AS $$ SELECT evil.hit('encode'); SELECT pg_catalog.encode(b, f) $$;
CREATE FUNCTION evil.lower(t text) RETURNS text LANGUAGE sql
    AS $$ SELECT evil.hit('lower'); SELECT pg_catalog.lower(t) $$;
CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE sql
    AS $$ SELECT evil.hit('now'); SELECT pg_catalog.now() $$;
CREATE FUNCTION evil.clock_timestamp() RETURNS timestamptz LANGUAGE sql
    AS $$ SELECT evil.hit('clock_timestamp'); SELECT pg_catalog.clock_timestamp() $$;
CREATE FUNCTION evil.statement_timestamp() RETURNS timestamptz LANGUAGE sql
    AS $$ SELECT evil.hit('statement_timestamp'); SELECT pg_catalog.statement_timestamp() $$;
CREATE FUNCTION evil.current_setting(n text, m boolean) RETURNS text LANGUAGE sql
    AS $$ SELECT evil.hit('current_setting'); SELECT pg_catalog.current_setting(n, m) $$;
CREATE FUNCTION evil.nextval(s regclass) RETURNS bigint LANGUAGE sql
    AS $$ SELECT evil.hit('nextval'); SELECT pg_catalog.nextval(s) $$;
CREATE FUNCTION evil.pg_get_serial_sequence(t text, c text) RETURNS text LANGUAGE sql
    AS $$ SELECT evil.hit('pg_get_serial_sequence'); SELECT pg_catalog.pg_get_serial_sequence(t, c) $$;
CREATE FUNCTION evil.pg_has_role(r oid, p text) RETURNS boolean LANGUAGE sql
    AS $$ SELECT evil.hit('pg_has_role'); SELECT pg_catalog.pg_has_role(r, p) $$;
CREATE FUNCTION evil.gen_random_uuid() RETURNS uuid LANGUAGE sql
    AS $$ SELECT evil.hit('gen_random_uuid'); SELECT pg_catalog.gen_random_uuid() $$;
CREATE FUNCTION evil.inet_client_addr() RETURNS inet LANGUAGE sql
    AS $$ SELECT evil.hit('inet_client_addr'); SELECT pg_catalog.inet_client_addr() $$;
CREATE FUNCTION evil.cnt(s bigint) RETURNS bigint LANGUAGE sql
    AS $$ SELECT evil.hit('count'); SELECT s OPERATOR(pg_catalog.+) 1 $$;
CREATE AGGREGATE evil.count(*) (SFUNC = evil.cnt, STYPE = bigint, INITCOND = '0');
CREATE FUNCTION evil.pg_partition_tree(r regclass)
    RETURNS TABLE (relid regclass, parentrelid regclass, isleaf boolean, level int) LANGUAGE sql
    AS $$ SELECT evil.hit('pg_partition_tree'); SELECT * FROM pg_catalog.pg_partition_tree(r) $$;

-- Run one statement with the hostile path first, then put the path back
CREATE FUNCTION evil.via(stmt text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    saved text := pg_catalog.current_setting('search_path');
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'evil, pg_catalog, public', true);
    BEGIN
        EXECUTE stmt;
    EXCEPTION WHEN OTHERS THEN
        PERFORM pg_catalog.set_config('search_path', saved, true);
        RAISE;
    END;
    PERFORM pg_catalog.set_config('search_path', saved, true);
END $$;

-- Sanity: the look-alikes do catch an unqualified use
SELECT lives_ok($$SELECT evil.via('SELECT 2 - 1')$$, 'an unqualified "-" on the hostile path');
SELECT is((SELECT count(*)::int FROM evil.hits), 1, 'is caught by the look-alike');
DELETE FROM evil.hits;

CREATE TABLE evil.ledger (id int, note text);
CREATE TABLE evil.parted (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE evil.parted_1 PARTITION OF evil.parted FOR VALUES FROM ('2020-01-01') TO ('2030-01-01');
CREATE TABLE evil.business (id int PRIMARY KEY, v text);
INSERT INTO evil.ledger VALUES (1, 'before protect');

SELECT lives_ok($$SELECT evil.via($q$SELECT audit_chain.protect('evil.ledger', 3)$q$)$$, 'protect()');
SELECT lives_ok($$SELECT evil.via($q$SELECT audit_chain.protect('evil.parted', 2)$q$)$$, 'protect() a partitioned table');
SELECT lives_ok($$SELECT evil.via($q$CREATE TABLE evil.parted_2 PARTITION OF evil.parted FOR VALUES FROM ('2030-01-01') TO ('2040-01-01')$q$)$$,
                'a new partition (the partition guard fires)');
SELECT lives_ok($$SELECT evil.via($q$INSERT INTO evil.ledger (id, note) VALUES (2, 'x'), (3, 'y')$q$)$$, 'the seal trigger');
SELECT lives_ok($$SELECT evil.via($q$INSERT INTO evil.parted (id, at) VALUES (1, '2025-01-01'), (2, '2035-01-01')$q$)$$,
                'the seal trigger on partitions');
SELECT throws_ok($$SELECT evil.via($q$UPDATE evil.ledger SET note = 'z'$q$)$$, '0A000', NULL, 'the seal trigger refusing UPDATE');
SELECT throws_ok($$SELECT evil.via($q$TRUNCATE evil.ledger$q$)$$, '0A000', NULL, 'the TRUNCATE trigger');
SELECT throws_ok($$SELECT evil.via($q$ALTER TABLE evil.ledger DROP COLUMN note$q$)$$, '55000', NULL, 'the DDL guard');
SELECT throws_ok($$SELECT evil.via($q$DROP TABLE evil.ledger$q$)$$, NULL, NULL, 'the drop guard');
SELECT lives_ok($$SELECT evil.via($q$SELECT * FROM audit_chain.verify_chain('evil.ledger')$q$)$$, 'verify_chain()');
SELECT lives_ok($$SELECT evil.via($q$SELECT * FROM audit_chain.verify_chain('evil.ledger', true)$q$)$$, 'verify_chain(incremental)');
SELECT lives_ok($$SELECT evil.via($q$SELECT * FROM audit_chain.verify_chain('evil.parted')$q$)$$, 'verify_chain() of a partitioned table');
SELECT lives_ok($$SELECT evil.via($q$CALL audit_chain.assert_intact('evil.ledger')$q$)$$, 'assert_intact()');
SELECT lives_ok($$SELECT evil.via($q$SELECT audit_chain.row_hash('evil.ledger', 0, 1)$q$)$$, 'row_hash()');
SELECT lives_ok($$SELECT evil.via($q$SELECT audit_chain.canonical_row('evil.ledger', 0, 1)$q$)$$, 'canonical_row()');
SELECT lives_ok($$SELECT evil.via($q$SELECT audit_chain.canonical_text(42)$q$)$$, 'canonical_text()');
SELECT lives_ok($$SELECT evil.via($q$SELECT audit_chain.digest('x'::text), audit_chain.digest('{}'::jsonb), audit_chain.digest('\x00'::bytea)$q$)$$, 'digest()');
SELECT lives_ok($$SELECT evil.via($q$SELECT audit_chain.version()$q$)$$, 'version()');
SELECT lives_ok($$SELECT evil.via($q$SELECT audit_chain.log_event('api_request', 'call', data_subject => 'p1', purpose => 'support')$q$)$$, 'log_event()');
SELECT lives_ok($$SELECT evil.via($q$INSERT INTO audit_chain.events (event_type, action) VALUES ('security', 'direct')$q$)$$,
                'a direct insert into events');
SELECT lives_ok($$SELECT evil.via($q$SELECT audit_chain.track('evil.business')$q$)$$, 'track()');
SELECT lives_ok($$SELECT evil.via($q$INSERT INTO evil.business VALUES (1, 'a'); UPDATE evil.business SET v = 'b'; DELETE FROM evil.business$q$)$$,
                'track_change()');
SELECT lives_ok($$SELECT evil.via($q$TRUNCATE evil.business$q$)$$, 'track_change() on TRUNCATE');
SELECT lives_ok($$SELECT evil.via($q$SELECT audit_chain.untrack('evil.business')$q$)$$, 'untrack()');
SELECT lives_ok($$SELECT evil.via($q$SELECT * FROM audit_chain.gdpr_subject_access('p1')$q$)$$, 'gdpr_subject_access()');
SELECT lives_ok($$SELECT evil.via($q$SELECT audit_chain.gdpr_subject_access_json('p1')$q$)$$, 'gdpr_subject_access_json()');
SELECT lives_ok($$SELECT evil.via($q$SELECT * FROM audit_chain.hipaa_disclosures('p1')$q$)$$, 'hipaa_disclosures()');
SELECT lives_ok($$SELECT evil.via($q$SELECT * FROM audit_chain.activity_anomalies(1)$q$)$$, 'activity_anomalies()');
SELECT lives_ok($$SELECT evil.via($q$SELECT * FROM audit_chain.export_jsonl('-infinity')$q$)$$, 'export_jsonl()');
SELECT lives_ok($$SELECT evil.via($q$CALL audit_chain.refresh_reports()$q$)$$, 'refresh_reports()');
SELECT lives_ok($$SELECT evil.via($q$SELECT audit_chain.checkpoint()$q$)$$, 'checkpoint()');
SELECT lives_ok($$SELECT evil.via($q$SELECT audit_chain.unprotect('evil.ledger', 'done')$q$)$$, 'unprotect()');
SELECT lives_ok($$SELECT evil.via($q$CREATE TEMP TABLE t_ddl (x int); DROP TABLE t_ddl$q$)$$, 'the DDL event triggers');

SELECT throws_ok($$SELECT evil.via($q$SELECT audit_chain._register('evil.business', 2)$q$)$$, '42883', NULL,
                 'the internal _register() (ran "-" as the registry owner) has no SQL entry point');
SELECT is((SELECT string_agg(DISTINCT what || ' as ' || by_role, ', ') FROM evil.hits), NULL,
          'no look-alike ran inside the extension (as the attacker)');
DELETE FROM evil.hits;
RESET SESSION AUTHORIZATION;

-- A superuser whose search_path was pointed at the attacker's schema
SELECT lives_ok($$SELECT evil.via($q$SELECT * FROM audit_chain.verify_chain()$q$)$$, 'superuser: verify_chain() of every table');
SELECT lives_ok($$SELECT evil.via($q$SELECT audit_chain.checkpoint()$q$)$$, 'superuser: checkpoint()');
SELECT lives_ok($$SELECT evil.via($q$CALL audit_chain.refresh_reports()$q$)$$, 'superuser: refresh_reports()');
SELECT lives_ok($$SELECT evil.via($q$SELECT audit_chain.protect('evil.business')$q$)$$, 'superuser: protect()');
SELECT is((SELECT string_agg(DISTINCT what || ' as ' || by_role, ', ') FROM evil.hits), NULL,
          'no look-alike ran inside the extension (as the superuser)');
SELECT ok(NOT (SELECT rolsuper FROM pg_roles WHERE rolname = 'sec_eve'), 'the attacker is not superuser');

SELECT * FROM finish();
ROLLBACK;
