\set VERBOSITY terse
CREATE EXTENSION audit_chain;
SELECT extname, extversion, extrelocatable, n.nspname
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE extname = 'audit_chain';
SELECT audit_chain.version();
-- every object of the extension has a comment
SELECT pg_describe_object(classid, objid, objsubid) AS object
  FROM pg_depend d
 WHERE refclassid = 'pg_extension'::regclass
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'audit_chain')
   AND deptype = 'e'
   AND obj_description(objid, (SELECT relname FROM pg_class WHERE oid = classid)) IS NULL
   AND classid IN ('pg_proc'::regclass, 'pg_class'::regclass)
   AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = objid AND c.relkind IN ('S', 'i'))
 ORDER BY 1;
-- administrative functions are not executable by PUBLIC
SELECT p.proname, has_function_privilege('public', p.oid, 'EXECUTE') AS public_can_execute
  FROM pg_proc p
 WHERE p.pronamespace = 'audit_chain'::regnamespace
 ORDER BY 1, 2;
-- the regression tests need non-superusers (roles outlive the test database)
SET client_min_messages = warning;
DROP ROLE IF EXISTS ac_app;
DROP ROLE IF EXISTS ac_auditor;
RESET client_min_messages;
CREATE ROLE ac_app LOGIN;
CREATE ROLE ac_auditor LOGIN;
