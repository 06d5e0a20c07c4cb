\set VERBOSITY terse
-- all chains at once, in oid order
SELECT tbl, lane, rows_checked, intact, first_bad_seq, problem
  FROM audit_chain.verify_chain() ORDER BY tbl::text, lane;
CALL audit_chain.assert_intact();
CALL audit_chain.assert_intact('public.s');
-- each run is logged, one row per lane
SELECT count(*) > 0 AS logged, bool_and(intact) AS all_intact,
       count(DISTINCT verified_by) AS verifiers,
       bool_and(last_seq IS NOT NULL AND length(last_hash) = 32) FILTER (WHERE intact) AS heads_recorded
  FROM audit_chain.verification_log;
SELECT tbl, lane, rows_checked, last_seq FROM audit_chain.verification_log
 WHERE tbl = 'public.s'::regclass ORDER BY verification_id DESC LIMIT 1;
-- in a read-only transaction it verifies but cannot log
BEGIN READ ONLY;
SELECT lane, intact FROM audit_chain.verify_chain('public.s');
COMMIT;
-- the result does not depend on the session's settings
SET timezone = 'Pacific/Chatham';
SET datestyle = 'German, DMY';
SET intervalstyle = 'iso_8601';
SET extra_float_digits = -5;
SET bytea_output = 'escape';
SELECT tbl, lane, intact FROM audit_chain.verify_chain() ORDER BY tbl::text, lane;
INSERT INTO public.s (id, who, note) VALUES (200, 'odd settings', 'x');
RESET ALL;
SELECT lane, intact FROM audit_chain.verify_chain('public.s');
