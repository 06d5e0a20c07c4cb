\set VERBOSITY terse
-- Each case: a fresh chained table of five rows, one tampering done as a
-- superuser who bypasses the triggers, then what verify_chain reports.
CREATE FUNCTION public.fresh(t text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TABLE public.%I (id int, who text, amount numeric)', t);
    PERFORM audit_chain.protect(format('public.%I', t)::regclass);
    EXECUTE format('INSERT INTO public.%I SELECT g, ''user'' || g, g * 10 FROM generate_series(1, 5) g', t);
END $$;
CREATE FUNCTION public.report(t text)
RETURNS TABLE (lane int, rows_checked bigint, intact boolean, first_bad_seq bigint, problem text)
LANGUAGE sql AS $$
    SELECT lane, rows_checked, intact, first_bad_seq, problem
      FROM audit_chain.verify_chain(format('public.%I', t)::regclass) ORDER BY lane NULLS LAST
$$;

-- a changed value
SELECT fresh('t_value');
SET session_replication_role = replica;
UPDATE t_value SET amount = 1 WHERE chain_seq = 3;
RESET session_replication_role;
SELECT * FROM report('t_value');

-- changed chain columns
SELECT fresh('t_at');
SET session_replication_role = replica;
UPDATE t_at SET chain_at = chain_at + interval '1 second' WHERE chain_seq = 2;
RESET session_replication_role;
SELECT * FROM report('t_at');

SELECT fresh('t_hash');
SET session_replication_role = replica;
UPDATE t_hash SET chain_hash = sha256('forged') WHERE chain_seq = 4;
RESET session_replication_role;
SELECT * FROM report('t_hash');

SELECT fresh('t_prev');
SET session_replication_role = replica;
UPDATE t_prev SET chain_prev = sha256('forged') WHERE chain_seq = 2;
RESET session_replication_role;
SELECT * FROM report('t_prev');

SELECT fresh('t_seq');
SET session_replication_role = replica;
UPDATE t_seq SET chain_seq = 30 WHERE chain_seq = 3;
RESET session_replication_role;
SELECT * FROM report('t_seq');

-- a row deleted in the middle
SELECT fresh('t_delete');
SET session_replication_role = replica;
DELETE FROM t_delete WHERE chain_seq = 3;
RESET session_replication_role;
SELECT * FROM report('t_delete');

-- two rows deleted in the middle
SELECT fresh('t_delete2');
SET session_replication_role = replica;
DELETE FROM t_delete2 WHERE chain_seq IN (2, 3);
RESET session_replication_role;
SELECT * FROM report('t_delete2');

-- a forged row inserted in the middle, with a hash that is right for itself:
-- the rows after it were renumbered, but the next link no longer matches
SELECT fresh('t_forged');
SET session_replication_role = replica;
UPDATE t_forged SET chain_seq = -chain_seq WHERE chain_seq >= 3;
UPDATE t_forged SET chain_seq = -chain_seq + 1 WHERE chain_seq < 0;
INSERT INTO t_forged (id, who, amount, chain_lane, chain_seq, chain_at, chain_prev, chain_hash)
SELECT 99, 'forger', 0, 0, 3, chain_at, chain_hash, '\x00' FROM t_forged WHERE chain_seq = 2;
UPDATE t_forged SET chain_hash = audit_chain.row_hash('t_forged', 0, 3) WHERE chain_seq = 3;
RESET session_replication_role;
SELECT * FROM report('t_forged');

-- a forged row appended with a wrong hash
SELECT fresh('t_append');
SET session_replication_role = replica;
INSERT INTO t_append (id, who, amount, chain_lane, chain_seq, chain_at, chain_prev, chain_hash)
SELECT 99, 'forger', 0, 0, 6, now(), chain_hash, sha256('x') FROM t_append WHERE chain_seq = 5;
RESET session_replication_role;
SELECT * FROM report('t_append');

-- a duplicate seq (the unique index dropped first, which the superuser can do
-- with event triggers off)
SELECT fresh('t_dup');
SET session_replication_role = replica;
DROP INDEX t_dup_chain_idx;
INSERT INTO t_dup SELECT * FROM t_dup WHERE chain_seq = 2;
RESET session_replication_role;
SELECT * FROM report('t_dup');

-- two rows swapped
SELECT fresh('t_swap');
SET session_replication_role = replica;
UPDATE t_swap SET chain_seq = -1 WHERE chain_seq = 2;
UPDATE t_swap SET chain_seq = 2 WHERE chain_seq = 3;
UPDATE t_swap SET chain_seq = 3 WHERE chain_seq = -1;
RESET session_replication_role;
SELECT * FROM report('t_swap');

-- contents of two rows swapped, chain columns left in place
SELECT fresh('t_swap_values');
SET session_replication_role = replica;
UPDATE t_swap_values a SET id = b.id, who = b.who, amount = b.amount
  FROM t_swap_values b
 WHERE (a.chain_seq, b.chain_seq) IN ((2, 4), (4, 2));
RESET session_replication_role;
SELECT * FROM report('t_swap_values');

-- an unsealed row: inserted with the triggers off, in no lane of the table
SELECT fresh('t_unsealed');
SET session_replication_role = replica;
INSERT INTO t_unsealed (id, who, chain_lane, chain_seq, chain_at, chain_prev, chain_hash)
VALUES (42, 'sneaky', 7, 1, now(), '\x00', '\x00');
RESET session_replication_role;
SELECT * FROM report('t_unsealed');

-- the tail cut off after a checkpoint
SELECT fresh('t_tail');
SELECT audit_chain.checkpoint() > 0 AS checkpointed;
SET session_replication_role = replica;
DELETE FROM t_tail WHERE chain_seq >= 4;
RESET session_replication_role;
SELECT * FROM report('t_tail');

-- every row removed after a checkpoint
SELECT fresh('t_emptied');
SELECT audit_chain.checkpoint() > 0 AS checkpointed;
SET session_replication_role = replica;
TRUNCATE t_emptied;
RESET session_replication_role;
SELECT * FROM report('t_emptied');

-- the whole lane rewritten consistently from genesis, with one value changed:
-- every link and hash is right, but it no longer matches the checkpoint
SELECT fresh('t_rewrite');
SELECT audit_chain.checkpoint() > 0 AS checkpointed;
SET session_replication_role = replica;
UPDATE t_rewrite SET amount = 0 WHERE chain_seq = 2;
DO $$
DECLARE s bigint;
BEGIN
    FOR s IN 2..5 LOOP
        IF s > 2 THEN
            UPDATE public.t_rewrite SET chain_prev = (SELECT chain_hash FROM public.t_rewrite WHERE chain_seq = s - 1)
             WHERE chain_seq = s;
        END IF;
        UPDATE public.t_rewrite SET chain_hash = audit_chain.row_hash('public.t_rewrite', 0, s) WHERE chain_seq = s;
    END LOOP;
END $$;
RESET session_replication_role;
SELECT count(*) AS rows_with_right_hash FROM t_rewrite WHERE chain_hash = audit_chain.row_hash('t_rewrite', 0, chain_seq);
SELECT * FROM report('t_rewrite');

-- assert_intact raises data_corrupted (XX001)
\set VERBOSITY default
CALL audit_chain.assert_intact('public.t_value');
\set VERBOSITY terse
DO $$
BEGIN
    CALL audit_chain.assert_intact();
EXCEPTION WHEN data_corrupted THEN
    RAISE NOTICE 'caught SQLSTATE %', SQLSTATE;
END $$;

-- clean up: tampered tables are unprotected and dropped
SELECT audit_chain.unprotect(format('public.%I', t)::regclass, 'regression test cleanup')
  FROM unnest(ARRAY['t_value', 't_at', 't_hash', 't_prev', 't_seq', 't_delete', 't_delete2',
                    't_forged', 't_append', 't_dup', 't_swap', 't_swap_values', 't_unsealed',
                    't_tail', 't_emptied', 't_rewrite']) t;
DROP TABLE t_value, t_at, t_hash, t_prev, t_seq, t_delete, t_delete2, t_forged, t_append, t_dup,
    t_swap, t_swap_values, t_unsealed, t_tail, t_emptied, t_rewrite;
DROP FUNCTION fresh(text);
DROP FUNCTION report(text);
