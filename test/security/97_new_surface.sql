-- Attack: the entry points this release added or changed (event_json(),
-- export_chain(), protect_replica(), export_events(), verify_chain(),
-- chain_status), called by an unprivileged role with hostile arguments
-- (NULL, 0, a temporary table, a view, wrong column types) and a
-- search_path led by a schema it owns, full of look-alike operators.  Every
-- call ends in a clear error or a right answer; no look-alike runs.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

SELECT plan(20);

CREATE ROLE sec_ns NOLOGIN;
CREATE SCHEMA ns_evil AUTHORIZATION sec_ns;
CREATE TABLE ns_evil.hits (what text);
ALTER TABLE ns_evil.hits OWNER TO sec_ns;
GRANT EXECUTE ON FUNCTION audit_chain.export_chain(regclass), audit_chain.protect_replica(regclass, json),
    audit_chain.export_events(text, integer, text), audit_chain.verify_chain(regclass, boolean, json, text),
    audit_chain.lane_head(regclass, integer) TO sec_ns;
GRANT SELECT ON audit_chain.chain_status, audit_chain.events, audit_chain.chains, audit_chain.archives TO sec_ns;
CREATE TABLE public.ns_chained (id int, note text);
SELECT audit_chain.protect('public.ns_chained', 2);
INSERT INTO public.ns_chained VALUES (1, 'a'), (2, 'b');
SELECT audit_chain.log_event('api_request', 'chat.completion');

SET SESSION AUTHORIZATION sec_ns;
CREATE FUNCTION ns_evil.hit(what text) RETURNS void LANGUAGE sql
    AS $$ INSERT INTO ns_evil.hits VALUES (what) $$;
CREATE FUNCTION ns_evil.texteq(a text, b text) RETURNS bool LANGUAGE sql
    AS $$ SELECT ns_evil.hit('text ='); SELECT a OPERATOR(pg_catalog.=) b $$;
CREATE OPERATOR ns_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = ns_evil.texteq);
CREATE FUNCTION ns_evil.int8gt(a bigint, b bigint) RETURNS bool LANGUAGE sql
    AS $$ SELECT ns_evil.hit('int8 >'); SELECT a OPERATOR(pg_catalog.>) b $$;
CREATE OPERATOR ns_evil.> (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = ns_evil.int8gt);
CREATE FUNCTION ns_evil.int24eq(a smallint, b int) RETURNS bool LANGUAGE sql
    AS $$ SELECT ns_evil.hit('int2 = int4'); SELECT a OPERATOR(pg_catalog.=) b $$;
CREATE OPERATOR ns_evil.= (LEFTARG = smallint, RIGHTARG = int, FUNCTION = ns_evil.int24eq);
CREATE FUNCTION ns_evil.oideq(a oid, b oid) RETURNS bool LANGUAGE sql
    AS $$ SELECT ns_evil.hit('oid ='); SELECT a OPERATOR(pg_catalog.=) b $$;
CREATE OPERATOR ns_evil.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = ns_evil.oideq);
CREATE FUNCTION ns_evil.jsonb_strip_nulls(j jsonb) RETURNS jsonb LANGUAGE sql
    AS $$ SELECT ns_evil.hit('jsonb_strip_nulls'); SELECT j $$;
CREATE TEMP TABLE ns_temp (id int, chain_lane int, chain_seq text);
CREATE VIEW ns_evil.v AS SELECT 1 AS id;
CREATE TABLE ns_evil.wrong (id int, chain_lane text, chain_seq text, chain_at text, chain_prev text, chain_hash text);
-- each attack runs with the hostile path first (pgTAP's own comparisons,
-- which follow the caller's path, run outside it): its SQLSTATE, or 'ok'
CREATE FUNCTION ns_evil.try(sql text) RETURNS text LANGUAGE plpgsql
SET search_path = ns_evil, pg_catalog, public AS $$
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;

-- event_json(): NULLs, a bad format, a row built by the caller
SELECT is(ns_evil.try($$SELECT audit_chain.event_json(NULL::audit_chain.events)$$), 'ok', 'event_json(NULL) answers (NULL)');
SELECT is(ns_evil.try($$SELECT audit_chain.event_json(NULL::audit_chain.events, NULL)$$), '22023', 'event_json: a NULL format is refused');
SELECT is(ns_evil.try($$SELECT audit_chain.event_json(NULL::audit_chain.events, 'ecs'' OR 1=1')$$), '22023', 'event_json: an unknown format is refused');
SELECT is(ns_evil.try($$SELECT audit_chain.event_json(jsonb_populate_record(NULL::audit_chain.events,
              '{"event_type": "security", "action": "x", "outcome": "blocked", "chain_lane": 0, "chain_seq": 1}'))$$),
          'ok', 'event_json of a row the caller built');
-- export_chain(): NULL, 0, a temporary table, a view, a table that is not chained
SELECT is(ns_evil.try($$SELECT audit_chain.export_chain(NULL)$$), 'ok', 'export_chain(NULL) is NULL (strict), nothing read');
SELECT is(ns_evil.try($$SELECT audit_chain.export_chain(0)$$), '42P01', 'export_chain(0) is refused');
SELECT is(ns_evil.try($$SELECT audit_chain.export_chain('pg_temp.ns_temp')$$), '0A000', 'export_chain of a temporary table is refused');
SELECT is(ns_evil.try($$SELECT audit_chain.export_chain('ns_evil.v')$$), '42809', 'export_chain of a view is refused');
SELECT is(ns_evil.try($$SELECT audit_chain.export_chain('ns_evil.wrong')$$), '55000', 'export_chain of a table that is not chained is refused');
-- protect_replica(): NULLs, 0, a temporary table, a view, wrong column types
SELECT is(ns_evil.try($$SELECT audit_chain.protect_replica(NULL, '{}')$$), '22004', 'protect_replica(NULL, ...) is refused');
SELECT is(ns_evil.try($$SELECT audit_chain.protect_replica('ns_evil.wrong', NULL)$$), '22004', 'protect_replica(tbl, NULL) is refused');
SELECT is(ns_evil.try($$SELECT audit_chain.protect_replica(0, '{}')$$), '42P01', 'protect_replica(0, ...) is refused');
SELECT is(ns_evil.try($$SELECT audit_chain.protect_replica('pg_temp.ns_temp', '{}')$$), '0A000', 'protect_replica of a temporary table is refused');
SELECT is(ns_evil.try($$SELECT audit_chain.protect_replica('ns_evil.v', '{}')$$), '42809', 'protect_replica of a view is refused');
SELECT is(ns_evil.try($$SELECT audit_chain.protect_replica('ns_evil.wrong', '{"table": "ns_evil.wrong"}')$$), '42804', 'protect_replica of a table with chain columns of the wrong types is refused');
-- export_events(), verify_chain(), chain_status through the hostile path
SELECT is(ns_evil.try($$SELECT * FROM audit_chain.export_events('v1:0.0.0:0')$$), '22023', 'export_events: a forged cursor is refused');
SELECT is(ns_evil.try($$SELECT count(*) FROM audit_chain.export_events(NULL, 10)$$), 'ok', 'export_events answers through the hostile path');
SELECT is(ns_evil.try($$SELECT * FROM audit_chain.verify_chain(0)$$), '42P01', 'verify_chain(0) is refused');
SELECT is(ns_evil.try($$SELECT * FROM audit_chain.chain_status$$), '42501', 'chain_status: without SELECT on a chained table, refused');
SELECT is((SELECT string_agg(DISTINCT what, ', ') FROM ns_evil.hits), NULL, 'no look-alike ran');
RESET SESSION AUTHORIZATION;

SELECT * FROM finish();
ROLLBACK;
