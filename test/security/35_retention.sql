-- Attack: retention policies and legal holds.  A role that does not own a
-- table sets its policy or lifts its hold; anybody reads or writes the
-- policies and the hold log directly; a hostile search_path full of
-- look-alikes of what the SQL behind set_retention() and legal_hold() uses;
-- odd relations and OIDs that must give clear errors, not crashes.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL intervalstyle = postgres;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

SELECT plan(30);

CREATE ROLE sec_ret_owner NOLOGIN;
CREATE ROLE sec_ret_mallory NOLOGIN;
CREATE ROLE sec_ret_nobody NOLOGIN;
CREATE SCHEMA sec_r AUTHORIZATION sec_ret_owner;
GRANT USAGE ON SCHEMA sec_r TO PUBLIC;
-- what a DBA grants table owners (README, Security)
GRANT EXECUTE ON FUNCTION audit_chain.protect(regclass, integer),
    audit_chain.unprotect(regclass, text),
    audit_chain.set_retention(regclass, interval, text, interval),
    audit_chain.legal_hold(regclass, boolean, text)
  TO sec_ret_owner, sec_ret_mallory;

SET SESSION AUTHORIZATION sec_ret_owner;
CREATE TABLE sec_r.ledger (id int, note text);
SELECT audit_chain.protect('sec_r.ledger');
SELECT audit_chain.set_retention('sec_r.ledger', framework => 'HIPAA');
SELECT audit_chain.legal_hold('sec_r.ledger', true, 'case 9');
RESET SESSION AUTHORIZATION;

-- Without EXECUTE
SET SESSION AUTHORIZATION sec_ret_nobody;
SELECT throws_ok($$SELECT audit_chain.set_retention('sec_r.ledger', interval '1 day')$$, '42501',
                 'permission denied for function set_retention', 'PUBLIC may not call set_retention()');
SELECT throws_ok($$SELECT audit_chain.legal_hold('sec_r.ledger', false, 'x')$$, '42501',
                 'permission denied for function legal_hold', 'nor legal_hold()');
SELECT throws_ok($$SELECT * FROM audit_chain.retention_policies$$, '42501',
                 'permission denied for table retention_policies', 'nor read the policies');
SELECT throws_ok($$SELECT * FROM audit_chain.legal_hold_log$$, '42501',
                 'permission denied for table legal_hold_log', 'nor the hold log');
SELECT throws_ok($$SELECT * FROM audit_chain.legal_holds$$, '42501',
                 'permission denied for view legal_holds', 'nor the holds in force');
SELECT throws_ok($$SELECT nextval('audit_chain.legal_hold_log_id_seq')$$, '42501', NULL,
                 'nor use the log''s sequence');
RESET SESSION AUTHORIZATION;

-- With EXECUTE, on a table of someone else's
SET SESSION AUTHORIZATION sec_ret_mallory;
SELECT throws_ok($$SELECT audit_chain.set_retention('sec_r.ledger', interval '1 day')$$, '42501',
                 'must be owner of table sec_r.ledger', 'a non-owner cannot shorten a table''s retention');
SELECT throws_ok($$SELECT audit_chain.legal_hold('sec_r.ledger', false, 'case closed, trust me')$$, '42501',
                 'must be owner of table sec_r.ledger', 'nor lift its legal hold');
SELECT throws_ok($$SELECT audit_chain.legal_hold('sec_r.ledger', true, 'freeze it')$$, '42501',
                 'must be owner of table sec_r.ledger', 'nor place one');
SELECT throws_ok($$SELECT audit_chain.set_retention('audit_chain.events', interval '1 day')$$, '42501',
                 'must be owner of table audit_chain.events', 'nor set the policy of the events');
SELECT throws_ok($$SELECT audit_chain.legal_hold('audit_chain.events', true, 'x')$$, '42501',
                 'must be owner of table audit_chain.events', 'nor hold the events');
SELECT throws_ok($$SELECT audit_chain.unprotect('sec_r.ledger')$$, '42501',
                 'must be owner of table sec_r.ledger', 'nor unprotect it');
-- nor write the tables behind the functions
SELECT throws_ok($$UPDATE audit_chain.retention_policies SET keep = interval '1 day'$$, '42501',
                 'permission denied for table retention_policies', 'no direct UPDATE of the policies');
SELECT throws_ok($$INSERT INTO audit_chain.legal_hold_log (tbl, tbl_name, hold) VALUES ('sec_r.ledger', 'x', false)$$,
                 '42501', 'permission denied for table legal_hold_log', 'no forged release in the log');
RESET SESSION AUTHORIZATION;

-- Not even the owner writes them directly
SET SESSION AUTHORIZATION sec_ret_owner;
SELECT throws_ok($$DELETE FROM audit_chain.legal_hold_log$$, '42501',
                 'permission denied for table legal_hold_log', 'the owner cannot delete its hold from the log');
SELECT throws_ok($$DELETE FROM audit_chain.retention_policies$$, '42501',
                 'permission denied for table retention_policies', 'nor its policy');
SELECT throws_ok($$SELECT audit_chain.unprotect('sec_r.ledger')$$, '55000',
                 'cannot unprotect "sec_r.ledger", which is under legal hold',
                 'nor unprotect (then drop) its table under hold');
RESET SESSION AUTHORIZATION;
SELECT is((SELECT format('%s %s', keep, framework) FROM audit_chain.retention_policies
            WHERE tbl = 'sec_r.ledger'::regclass), '6 years HIPAA', 'the policy is as the owner set it');
SELECT is((SELECT reason FROM audit_chain.legal_holds WHERE tbl = 'sec_r.ledger'::regclass), 'case 9',
          'and the hold is on');

-- Odd relations: clear errors, no crash
SET SESSION AUTHORIZATION sec_ret_owner;
CREATE TEMP TABLE w (chain_lane smallint, chain_seq bigint, chain_at timestamptz, chain_prev bytea, chain_hash bytea);
SELECT throws_ok($$SELECT audit_chain.set_retention('w', interval '1 day')$$, '0A000',
                 'temporary table "w" cannot be a chained table', 'a temporary look-alike of a chained table');
SELECT throws_ok($$SELECT audit_chain.legal_hold('w', true, 'x')$$, '0A000',
                 'temporary table "w" cannot be a chained table', 'the same for legal_hold()');
CREATE INDEX w_idx ON w (chain_lane);
SELECT throws_ok($$SELECT audit_chain.set_retention('w_idx', interval '1 day')$$, '42809',
                 '"w_idx" is not a table', 'an index');
CREATE SEQUENCE sec_r.s;
SELECT throws_ok($$SELECT audit_chain.legal_hold('sec_r.s', true, 'x')$$, '42809',
                 '"s" is not a table', 'a sequence');
SELECT throws_ok($$SELECT audit_chain.legal_hold(4294967295::oid::regclass, true, 'x')$$, '42P01',
                 'relation with OID 4294967295 does not exist', 'a dropped OID');
SELECT throws_ok($$SELECT audit_chain.set_retention('pg_catalog.pg_class', interval '1 day')$$, '42501',
                 'must be owner of table pg_catalog.pg_class', 'a catalog');
RESET SESSION AUTHORIZATION;

-- A hostile search_path: look-alikes of what the SQL behind the functions uses
CREATE ROLE sec_ret_eve NOLOGIN;
CREATE SCHEMA evil_r AUTHORIZATION sec_ret_eve;
GRANT USAGE ON SCHEMA evil_r TO PUBLIC;
GRANT EXECUTE ON FUNCTION audit_chain.protect(regclass, integer),
    audit_chain.unprotect(regclass, text),
    audit_chain.set_retention(regclass, interval, text, interval),
    audit_chain.legal_hold(regclass, boolean, text) TO sec_ret_eve;
SET SESSION AUTHORIZATION sec_ret_eve;
CREATE TABLE evil_r.hits (what text, by_role name DEFAULT current_user);
GRANT INSERT, SELECT ON evil_r.hits TO PUBLIC;
CREATE FUNCTION evil_r.hit(what text) RETURNS void LANGUAGE sql
    AS $$ INSERT INTO evil_r.hits (what) VALUES (what) $$;
CREATE FUNCTION evil_r.regclasseq(a regclass, b regclass) RETURNS bool LANGUAGE sql
    AS $$ SELECT evil_r.hit('regclass ='); SELECT a::oid OPERATOR(pg_catalog.=) b::oid $$;
CREATE OPERATOR evil_r.= (LEFTARG = regclass, RIGHTARG = regclass, FUNCTION = evil_r.regclasseq);
CREATE FUNCTION evil_r.intervalgt(a interval, b interval) RETURNS bool LANGUAGE sql
    AS $$ SELECT evil_r.hit('interval >'); SELECT a OPERATOR(pg_catalog.>) b $$;
CREATE OPERATOR evil_r.> (LEFTARG = interval, RIGHTARG = interval, FUNCTION = evil_r.intervalgt);
CREATE FUNCTION evil_r.textne(a text, b text) RETURNS bool LANGUAGE sql
    AS $$ SELECT evil_r.hit('text <>'); SELECT a OPERATOR(pg_catalog.<>) b $$;
CREATE OPERATOR evil_r.<> (LEFTARG = text, RIGHTARG = text, FUNCTION = evil_r.textne);
CREATE FUNCTION evil_r.btrim(t text) RETURNS text LANGUAGE sql
    AS $$ SELECT evil_r.hit('btrim'); SELECT pg_catalog.btrim(t) $$;
CREATE FUNCTION evil_r.clock_timestamp() RETURNS timestamptz LANGUAGE sql
    AS $$ SELECT evil_r.hit('clock_timestamp'); SELECT pg_catalog.clock_timestamp() $$;
CREATE FUNCTION evil_r.upper(t text) RETURNS text LANGUAGE sql
    AS $$ SELECT evil_r.hit('upper'); SELECT pg_catalog.upper(t) $$;
CREATE FUNCTION evil_r.via(stmt text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    saved text := pg_catalog.current_setting('search_path');
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'evil_r, pg_catalog, public', true);
    BEGIN
        EXECUTE stmt;
    EXCEPTION WHEN OTHERS THEN
        PERFORM pg_catalog.set_config('search_path', saved, true);
        RAISE;
    END;
    PERFORM pg_catalog.set_config('search_path', saved, true);
END $$;
SELECT lives_ok($$SELECT evil_r.via('SELECT upper(''x'')')$$, 'sanity: an unqualified call on the hostile path');
SELECT is((SELECT count(*)::int FROM evil_r.hits), 1, 'is caught by the look-alike');
DELETE FROM evil_r.hits;
CREATE TABLE evil_r.t (id int);
SELECT audit_chain.protect('evil_r.t');
SELECT lives_ok($$SELECT evil_r.via($q$SELECT audit_chain.set_retention('evil_r.t', framework => 'soc 2', archive_keep => interval '1 year');
                                       SELECT audit_chain.set_retention('evil_r.t', interval '2 years', 'SOC 2');
                                       SELECT audit_chain.legal_hold('evil_r.t', true, 'x');
                                       SELECT audit_chain.legal_hold('evil_r.t', false, 'y');
                                       SELECT audit_chain.unprotect('evil_r.t')$q$)$$,
                'set_retention(), legal_hold() and unprotect() through the hostile path');
RESET SESSION AUTHORIZATION;
SELECT lives_ok($$SELECT evil_r.via($q$SELECT audit_chain.set_retention('audit_chain.events', interval '3 years', 'GDPR');
                                       SELECT audit_chain.legal_hold('audit_chain.events', true, 'z');
                                       SELECT retention FROM audit_chain.gdpr_processing_records$q$)$$,
                'a superuser does the same through it');
SELECT is((SELECT string_agg(DISTINCT what || ' as ' || by_role, ', ') FROM evil_r.hits), NULL,
          'no look-alike ran inside the extension');

SELECT * FROM finish();
ROLLBACK;
