\set VERBOSITY terse
-- all chains at once, in oid order
-- (audit_chain.events has 16 lanes; which ones hold rows depends on backend pids)
SELECT tbl, lane, rows_checked, intact, first_bad_seq, problem
  FROM audit_chain.verify_chain() WHERE tbl <> 'audit_chain.events'::regclass ORDER BY tbl::text, lane;
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
SELECT tbl, lane, intact FROM audit_chain.verify_chain() WHERE tbl <> 'audit_chain.events'::regclass ORDER BY tbl::text, lane;
INSERT INTO public.s (id, who, note) VALUES (200, 'odd settings', 'x');
RESET ALL;
SELECT lane, intact FROM audit_chain.verify_chain('public.s');

-- rows physically out of seq order (as concurrent writers leave them) still
-- verify: the heap scan holds back rows that come before their turn
CREATE TABLE public.shuffled (id int, who text);
SELECT audit_chain.protect('public.shuffled', lanes => 2);
INSERT INTO shuffled SELECT g, 'w' || g FROM generate_series(1, 50) g;
CREATE TEMP TABLE shuffled_copy AS SELECT * FROM shuffled;
SET session_replication_role = replica;
DELETE FROM shuffled;
INSERT INTO shuffled SELECT * FROM shuffled_copy ORDER BY chain_seq % 7, chain_seq DESC;
RESET session_replication_role;
SELECT count(*) FILTER (WHERE chain_seq < prev_seq) > 0 AS physically_out_of_order
  FROM (SELECT chain_seq, lag(chain_seq) OVER (ORDER BY ctid) AS prev_seq FROM shuffled) x;
SELECT sum(rows_checked) AS rows_checked, bool_and(intact) AS intact FROM audit_chain.verify_chain('shuffled');
-- and a deletion among them is still found at the right seq
SET session_replication_role = replica;
DELETE FROM shuffled WHERE chain_seq = 17;
RESET session_replication_role;
SELECT rows_checked, intact, first_bad_seq, problem FROM audit_chain.verify_chain('shuffled') WHERE NOT intact;
SELECT audit_chain.unprotect('public.shuffled');
DROP TABLE public.shuffled;

-- incremental mode: only the rows after the last intact verification
CREATE TABLE public.inc (id int);
SELECT audit_chain.protect('public.inc');
INSERT INTO inc SELECT g FROM generate_series(1, 100) g;
SELECT rows_checked, intact FROM audit_chain.verify_chain('inc', incremental => true);  -- never verified: all
INSERT INTO inc SELECT g FROM generate_series(101, 110) g;
SELECT rows_checked, intact FROM audit_chain.verify_chain('inc', incremental => true);  -- the 10 new rows
SELECT rows_checked, intact FROM audit_chain.verify_chain('inc', incremental => true);  -- nothing new
SELECT incremental, rows_checked, last_seq FROM audit_chain.verification_log
 WHERE tbl = 'inc'::regclass ORDER BY verification_id;
-- a change after the resume point is found
INSERT INTO inc SELECT g FROM generate_series(111, 120) g;
SET session_replication_role = replica;
UPDATE inc SET id = -1 WHERE chain_seq = 115;
RESET session_replication_role;
SELECT rows_checked, intact, first_bad_seq FROM audit_chain.verify_chain('inc', incremental => true);
SET session_replication_role = replica;
UPDATE inc SET id = 115 WHERE chain_seq = 115;
RESET session_replication_role;
SELECT rows_checked, intact FROM audit_chain.verify_chain('inc', incremental => true);
-- the row where the last verification ended must still be the one it saw
SET session_replication_role = replica;
UPDATE inc SET chain_hash = sha256('x') WHERE chain_seq = 120;
RESET session_replication_role;
SELECT rows_checked, intact, first_bad_seq, regexp_replace(problem, 'verification [0-9]+', 'verification N') AS problem
  FROM audit_chain.verify_chain('inc', incremental => true);
-- a change before the resume point is only found by a full run
SELECT rows_checked, intact, first_bad_seq FROM audit_chain.verify_chain('inc');
SELECT audit_chain.unprotect('public.inc');
DROP TABLE public.inc;
