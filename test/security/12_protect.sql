-- Attack: getting a table into (or out of) the registry in a state the
-- chain cannot guard: inheritance trees, rules, temporary and foreign
-- objects, dropped OIDs, NULLs, and the extension's own table.
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

CREATE ROLE sec_owner NOLOGIN;
CREATE SCHEMA sec_p AUTHORIZATION sec_owner;
GRANT EXECUTE ON FUNCTION audit_chain.protect(regclass, integer),
    audit_chain.unprotect(regclass, text) TO sec_owner;
SET SESSION AUTHORIZATION sec_owner;

CREATE TABLE sec_p.parent (id int);
CREATE TABLE sec_p.child () INHERITS (sec_p.parent);
SELECT throws_ok($$SELECT audit_chain.protect('sec_p.child')$$, '55000',
                 'cannot protect "child", which inherits from another table',
                 'an inheritance child cannot be protected (its parent changes its columns)');
SELECT throws_ok($$SELECT audit_chain.protect('sec_p.parent')$$, '55000',
                 'cannot protect "parent", which has inheritance children',
                 'nor an inheritance parent (its children''s rows show through it)');

CREATE TABLE sec_p.ruled (id int);
CREATE RULE swallow AS ON INSERT TO sec_p.ruled DO INSTEAD NOTHING;
SELECT throws_ok($$SELECT audit_chain.protect('sec_p.ruled')$$, '55000',
                 'cannot protect "ruled", which has rules',
                 'a table with a rule cannot be protected (DO INSTEAD NOTHING swallows audit rows)');

CREATE VIEW sec_p.v AS SELECT 1 AS x;
SELECT throws_ok($$SELECT audit_chain.protect('sec_p.v')$$, '42809', '"sec_p.v" is not a table',
                 'a view cannot be protected');
SELECT throws_ok($$SELECT audit_chain.unprotect('sec_p.v')$$, '42809', '"sec_p.v" is not a table',
                 'nor unprotected');
CREATE SEQUENCE sec_p.s;
SELECT throws_ok($$SELECT audit_chain.protect('sec_p.s')$$, '42809', '"sec_p.s" is not a table',
                 'a sequence cannot be protected');
SELECT throws_ok($$SELECT audit_chain.protect(0)$$, '42P01', 'relation with OID 0 does not exist',
                 'OID 0 is a clear error');
SELECT throws_ok($$SELECT audit_chain.unprotect(4294967295::oid::regclass)$$, '42P01',
                 'relation with OID 4294967295 does not exist', 'so is a dropped OID');
SELECT throws_ok($$SELECT audit_chain.protect(NULL)$$, '22004', 'table must not be NULL', 'NULL table');
SELECT throws_ok($$SELECT audit_chain.protect('sec_p.parent', NULL)$$, '22023',
                 'lanes must be between 1 and 64, not NULL', 'NULL lanes');
SELECT throws_ok($$SELECT audit_chain.protect('sec_p.parent', 65)$$, '22023',
                 'lanes must be between 1 and 64, not 65', 'too many lanes');

-- Someone else's table
RESET SESSION AUTHORIZATION;
CREATE TABLE public.sec_not_yours (id int);
SET SESSION AUTHORIZATION sec_owner;
SELECT throws_ok($$SELECT audit_chain.protect('public.sec_not_yours')$$, '42501',
                 'must be owner of table public.sec_not_yours', 'a table the caller does not own');

-- The extension's own table
RESET SESSION AUTHORIZATION;
SELECT throws_ok($$SELECT audit_chain.unprotect('audit_chain.events')$$, '0A000',
                 'cannot unprotect "events", which belongs to the extension',
                 'unprotect(events) says why it is refused (was: an unrelated not-null error)');
SELECT is((SELECT count(*)::int FROM audit_chain.chains WHERE tbl = 'audit_chain.events'::regclass), 16,
          'events keeps its 16 lanes');

SELECT * FROM finish();
ROLLBACK;
