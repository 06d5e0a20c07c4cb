-- Attack: privilege escalation through the extension's SQL entry points.
-- An ordinary role that owns a schema must not run its own code as the
-- extension's owner (a superuser), by any function of the extension.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

SELECT plan(14);

CREATE ROLE sec_mallory NOLOGIN;
CREATE SCHEMA sec_mallory AUTHORIZATION sec_mallory;
CREATE TABLE sec_mallory.mine (id int);
ALTER TABLE sec_mallory.mine OWNER TO sec_mallory;
-- the owner of an audit table may be granted protect() and unprotect()
GRANT EXECUTE ON FUNCTION audit_chain.protect(regclass, integer),
    audit_chain.unprotect(regclass, text) TO sec_mallory;

SET SESSION AUTHORIZATION sec_mallory;
-- An operator "-" that makes its caller superuser, if its caller may
CREATE FUNCTION sec_mallory.minus(a int, b int) RETURNS int
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE 'ALTER ROLE sec_mallory SUPERUSER';
    RETURN a OPERATOR(pg_catalog.-) b;
EXCEPTION WHEN insufficient_privilege THEN
    RETURN a OPERATOR(pg_catalog.-) b;
END $$;
CREATE OPERATOR sec_mallory.- (LEFTARG = int, RIGHTARG = int, FUNCTION = sec_mallory.minus);
SET search_path = sec_mallory, pg_catalog, public;

-- The old internal helpers of protect() no longer exist; calling them, as
-- the attack did, is an undefined function, not a superuser.
SELECT throws_ok($$SELECT audit_chain._register('sec_mallory.mine', 2)$$, '42883', NULL,
                 '_register() has no SQL entry point');
SELECT throws_ok($$SELECT audit_chain._unregister('sec_mallory.mine')$$, '42883', NULL,
                 '_unregister() has no SQL entry point');
SELECT throws_ok($$SELECT audit_chain._log_protection('sec_mallory.mine', 'protect', 1, 0, NULL, NULL)$$,
                 '42883', NULL, '_log_protection() has no SQL entry point');
SELECT throws_ok($$SELECT audit_chain._seal_existing('sec_mallory.mine')$$, '42883', NULL,
                 '_seal_existing() has no SQL entry point');
SELECT throws_ok($$SELECT audit_chain._seal_existing(0)$$, '42883', NULL,
                 '_seal_existing(0) (a crash before) has no SQL entry point');

-- protect() and unprotect() through the hostile search_path
SELECT lives_ok($$SELECT audit_chain.protect('sec_mallory.mine', 4)$$,
                'the owner protects its own table with the hostile operator first on its path');
SELECT lives_ok($$SELECT audit_chain.unprotect('sec_mallory.mine', 'test')$$,
                'and unprotects it again');
RESET search_path;
RESET SESSION AUTHORIZATION;

SELECT ok(NOT (SELECT rolsuper FROM pg_roles WHERE rolname = 'sec_mallory'),
          'the attacker did not become superuser');
SELECT is((SELECT count(*)::int FROM audit_chain.protection_log l
            WHERE l.relid = 'sec_mallory.mine'::regclass),
          2, 'both are in protection_log');
SELECT is((SELECT string_agg(l.logged_by || ':' || l.action || ':' || l.lanes, ',' ORDER BY l.id)
             FROM audit_chain.protection_log l WHERE l.relid = 'sec_mallory.mine'::regclass),
          'sec_mallory:protect:4,sec_mallory:unprotect:4',
          'protection_log names the real caller');

-- Nobody but the extension writes its registry and logs
SET SESSION AUTHORIZATION sec_mallory;
SELECT throws_ok($$INSERT INTO audit_chain.protection_log (action, tbl_name, relid, lanes)
                   VALUES ('unprotect', 'x', 1, 1)$$, '42501', NULL,
                 'protection_log entries cannot be forged');
SELECT throws_ok($$INSERT INTO audit_chain.chains (tbl, lane, genesis)
                   VALUES ('sec_mallory.mine', 0, pg_catalog.sha256('x'))$$, '42501', NULL,
                 'registry rows cannot be written directly');
CREATE TEMP TABLE w (id int);
SELECT throws_ok($$SELECT audit_chain.protect('w')$$, '0A000',
                 'cannot protect temporary table "w"',
                 'a temporary table cannot enter the registry');
RESET SESSION AUTHORIZATION;
SELECT is((SELECT count(*)::int FROM audit_chain.chains c
            WHERE c.tbl::oid NOT IN (SELECT oid FROM pg_class)),
          0, 'no registry row points at a relation that does not exist');

SELECT * FROM finish();
ROLLBACK;
