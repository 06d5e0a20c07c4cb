-- The extension's SQL surface, as an attacker sees it first: what PUBLIC
-- may call or read, which functions run as their owner, and that every
-- function runs with a fixed search_path.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

SELECT plan(6);

CREATE TEMP VIEW ext_functions AS
SELECT p.oid, p.proname, p.prosecdef, p.proconfig, p.prorettype,
       pg_get_function_identity_arguments(p.oid) AS args
  FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'audit_chain';

SELECT is((SELECT string_agg(proname, ', ' ORDER BY proname) FROM ext_functions WHERE proname LIKE '\_%'),
          NULL, 'no internal helper has an SQL entry point');

-- Callable by PUBLIC: trigger and event-trigger functions (which refuse to
-- run outside a trigger, and which CREATE TRIGGER needs EXECUTE on), and
-- functions that only compute from their arguments.
SELECT is((SELECT string_agg(DISTINCT proname, ', ' ORDER BY proname) FROM ext_functions
            WHERE has_function_privilege('public', oid, 'EXECUTE')
              AND prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype)),
          'canonical_text, digest, event_json, in_eea, version',
          'PUBLIC may call only the functions that read nothing');

SELECT is((SELECT string_agg(proname || '(' || args || ')', ', ' ORDER BY proname) FROM ext_functions
            WHERE prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype)
              AND (proconfig IS NULL OR NOT proconfig @> ARRAY['search_path=pg_catalog, pg_temp'])),
          'apply_retention(), archive(IN tbl regclass, IN older_than interval)',
          'every function that is not a trigger runs with search_path = pg_catalog, pg_temp, but the two procedures that COMMIT (a SET clause forbids COMMIT; they set it in C around every batch, test/security/37_archive.sql)');

SELECT is((SELECT string_agg(proname, ', ' ORDER BY proname) FROM ext_functions WHERE prosecdef),
          'refresh_reports, register_event',
          'SECURITY DEFINER only where the README explains why (checkpoint() is C and writes as the extension owner itself)');

SELECT is((SELECT string_agg(c.relname, ', ' ORDER BY c.relname)
             FROM pg_class c
            WHERE c.relnamespace = 'audit_chain'::regnamespace
              AND c.relkind IN ('r', 'v', 'm', 'p', 'S')
              AND (has_table_privilege('public', c.oid, 'SELECT')
                   OR has_table_privilege('public', c.oid, 'INSERT')
                   OR has_table_privilege('public', c.oid, 'UPDATE')
                   OR has_table_privilege('public', c.oid, 'DELETE'))),
          NULL, 'PUBLIC may read or write no table, view or sequence of the extension');

SELECT is((SELECT string_agg(c.relname || '.' || a.attname, ', ')
             FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
            WHERE c.relnamespace = 'audit_chain'::regnamespace
              AND c.relkind IN ('r', 'v', 'm', 'p')
              AND has_column_privilege('public', c.oid, a.attnum, 'SELECT')),
          NULL, 'nor any of their columns');

SELECT * FROM finish();
ROLLBACK;
