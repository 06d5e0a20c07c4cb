/* sql/audit_chain--1.0--1.1.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION audit_chain UPDATE TO '1.1'" to load this file. \quit

--
-- 1.1: audit_chain.chain_status, one row per lane of every chained table:
-- where it stands, when it was last verified and how much of it the newest
-- checkpoint does not bind yet (rows after a checkpoint can be cut from the
-- tail unseen: README, "What it guarantees").  For a monitor (Nagios,
-- Prometheus' sql_exporter, a cron line) that alerts on a lane not verified
-- or not checkpointed for too long.
--
-- The head comes from lane_head(), which runs as the caller: the caller
-- needs EXECUTE on lane_head() and SELECT on each chained table it lists, as
-- for verify_chain().
--
CREATE VIEW audit_chain.chain_status AS
SELECT c.tbl, c.lane,
       h.seq AS head_seq,
       c.archived_seq,
       c.purged_seq,
       v.verified_at AS last_verified_at,
       v.intact AS last_verified_intact,
       v.incremental AS last_verified_incremental,
       k.checkpoint_id AS last_checkpoint_id,
       k.created_at AS last_checkpoint_at,
       k.seq AS checkpoint_seq,
       -- rows of the lane sealed after the newest checkpoint's head
       h.seq OPERATOR(pg_catalog.-) COALESCE(k.seq, 0) AS rows_after_checkpoint
  FROM audit_chain.chains c
 CROSS JOIN LATERAL audit_chain.lane_head(c.tbl, c.lane) AS h(seq, hash)
  LEFT JOIN LATERAL (
       SELECT l.verified_at, l.intact, l.incremental
         FROM audit_chain.verification_log l
        WHERE l.tbl OPERATOR(pg_catalog.=) c.tbl
          AND l.lane OPERATOR(pg_catalog.=) c.lane
        ORDER BY l.verified_at DESC, l.verification_id DESC
        LIMIT 1) v ON true
  LEFT JOIN LATERAL (
       SELECT ch.checkpoint_id, ch.seq, cp.created_at
         FROM audit_chain.checkpoint_heads ch
         JOIN audit_chain.checkpoints cp ON cp.checkpoint_id OPERATOR(pg_catalog.=) ch.checkpoint_id
        WHERE ch.tbl OPERATOR(pg_catalog.=) c.tbl
          AND ch.lane OPERATOR(pg_catalog.=) c.lane
        ORDER BY ch.checkpoint_id DESC
        LIMIT 1) k ON true;
COMMENT ON VIEW audit_chain.chain_status IS
    'Per lane of every chained table: head seq, archive and purge boundaries, the last verification, the newest checkpoint and the rows sealed after it';

-- like the logs it reads: for the monitoring role the DBA grants it to
REVOKE ALL ON audit_chain.chain_status FROM PUBLIC;
