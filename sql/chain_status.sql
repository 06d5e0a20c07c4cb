\set VERBOSITY terse
--
-- chain_status (1.1): where each lane stands, its last verification, its
-- newest checkpoint and the rows sealed after it
--
SET client_min_messages = warning;
CREATE TABLE public.cs (id int PRIMARY KEY, note text);
SELECT audit_chain.protect('public.cs', 2);
-- one transaction writes one lane: the other stays empty
INSERT INTO public.cs SELECT g, 'row ' || g FROM generate_series(1, 5) AS g;
-- neither lane verified nor checkpointed yet
SELECT head_seq, archived_seq, purged_seq, last_verified_at IS NULL AS never_verified,
       last_checkpoint_id IS NULL AS never_checkpointed, rows_after_checkpoint
  FROM audit_chain.chain_status WHERE tbl = 'public.cs'::regclass ORDER BY head_seq DESC;
SELECT count(*) AS lanes FROM audit_chain.verify_chain('public.cs');
SELECT audit_chain.checkpoint() IS NOT NULL AS checkpointed;
INSERT INTO public.cs SELECT g, 'row ' || g FROM generate_series(6, 8) AS g;
SELECT head_seq, last_verified_intact, last_verified_incremental,
       last_checkpoint_id = (SELECT max(checkpoint_id) FROM audit_chain.checkpoints) AS newest_checkpoint,
       checkpoint_seq, rows_after_checkpoint
  FROM audit_chain.chain_status WHERE tbl = 'public.cs'::regclass ORDER BY head_seq DESC;
-- every chained table is listed, lane by lane
SELECT count(*) = (SELECT count(*) FROM audit_chain.chains) AS every_lane FROM audit_chain.chain_status;
-- a failed verification shows
SET session_replication_role = replica;
UPDATE public.cs SET note = 'changed' WHERE id = 2;
RESET session_replication_role;
SELECT count(*) FILTER (WHERE NOT intact) AS bad_lanes FROM audit_chain.verify_chain('public.cs');
SELECT head_seq, last_verified_intact FROM audit_chain.chain_status WHERE tbl = 'public.cs'::regclass ORDER BY head_seq DESC;
-- not for PUBLIC; a monitor granted the view also needs lane_head() and
-- SELECT on the tables
CREATE ROLE cs_monitor;
SET ROLE cs_monitor;
SELECT * FROM audit_chain.chain_status;
RESET ROLE;
GRANT USAGE ON SCHEMA audit_chain TO cs_monitor;
GRANT SELECT ON audit_chain.chain_status TO cs_monitor;
SET ROLE cs_monitor;
SELECT * FROM audit_chain.chain_status WHERE tbl = 'public.cs'::regclass;
RESET ROLE;
GRANT EXECUTE ON FUNCTION audit_chain.lane_head(regclass, integer) TO cs_monitor;
SET ROLE cs_monitor;
SELECT count(*) FROM audit_chain.chain_status WHERE tbl = 'public.cs'::regclass;
RESET ROLE;
GRANT SELECT ON public.cs TO cs_monitor;
SET ROLE cs_monitor;
SELECT head_seq FROM audit_chain.chain_status WHERE tbl = 'public.cs'::regclass ORDER BY head_seq DESC;
RESET ROLE;
REVOKE ALL ON audit_chain.chain_status, public.cs FROM cs_monitor;
REVOKE ALL ON FUNCTION audit_chain.lane_head(regclass, integer) FROM cs_monitor;
REVOKE ALL ON SCHEMA audit_chain FROM cs_monitor;
DROP ROLE cs_monitor;
SELECT audit_chain.unprotect('public.cs', 'chain_status test done');
DROP TABLE public.cs;
