\set VERBOSITY terse
CREATE TABLE public.s (id int, who text, note text);
SELECT audit_chain.protect('public.s');

-- user-supplied chain values are overwritten
INSERT INTO s (id, who, chain_lane, chain_seq, chain_at, chain_prev, chain_hash)
VALUES (1, 'mallory', 5, 999, '1999-01-01', '\x00', '\x00');
SELECT id, chain_lane, chain_seq, chain_at > now() - interval '1 minute' AS fresh_at,
       length(chain_prev) AS prev_len, length(chain_hash) AS hash_len FROM s;

-- multi-row INSERT, INSERT ... SELECT, COPY
INSERT INTO s (id, who) VALUES (2, 'a'), (3, 'b'), (4, 'c');
INSERT INTO s (id, who) SELECT g, 'gen' FROM generate_series(5, 104) g;
COPY s (id, who, note) FROM stdin;
105	copy	first
106	copy	\N
107	copy	third
\.

-- an aborted transaction and a rolled-back savepoint leave no gap
BEGIN;
INSERT INTO s (id, who) VALUES (900, 'aborted');
ROLLBACK;
BEGIN;
INSERT INTO s (id, who) VALUES (108, 'kept');
SAVEPOINT sp;
INSERT INTO s (id, who) VALUES (901, 'rolled back'), (902, 'rolled back');
ROLLBACK TO SAVEPOINT sp;
INSERT INTO s (id, who) VALUES (109, 'after savepoint');
SAVEPOINT sp2;
INSERT INTO s (id, who) VALUES (110, 'released');
RELEASE SAVEPOINT sp2;
COMMIT;
-- an error caught in PL/pgSQL (a subtransaction) leaves no gap either
DO $$
BEGIN
    BEGIN
        INSERT INTO public.s (id, who) VALUES (903, 'caught');
        RAISE EXCEPTION 'boom';
    EXCEPTION WHEN raise_exception THEN
        NULL;
    END;
    INSERT INTO public.s (id, who) VALUES (111, 'after caught error');
END;
$$;

SELECT count(*) AS n, min(chain_seq), max(chain_seq), count(DISTINCT chain_seq) AS distinct_seq,
       bool_and(id < 900) AS no_aborted_rows
  FROM s;
-- every row links to the one before it
SELECT count(*) AS broken_links
  FROM (SELECT chain_prev, lag(chain_hash) OVER (ORDER BY chain_seq) AS before, chain_seq FROM s) x
 WHERE chain_seq > 1 AND chain_prev <> before;
SELECT lane, rows_checked, intact FROM audit_chain.verify_chain('s');

-- a user BEFORE ROW trigger runs before the seal, so the hash covers the final row
CREATE FUNCTION public.upper_who() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN NEW.who := upper(NEW.who); RETURN NEW; END $$;
CREATE TRIGGER aa_upper_who BEFORE INSERT ON s FOR EACH ROW EXECUTE FUNCTION public.upper_who();
INSERT INTO s (id, who) VALUES (112, 'lower case');
SELECT who, audit_chain.row_hash('s', 0, chain_seq) = chain_hash AS hash_covers_final_row
  FROM s WHERE id = 112;
DROP TRIGGER aa_upper_who ON s;

-- UPDATE, DELETE and TRUNCATE are refused
UPDATE s SET who = 'x' WHERE id = 1;
DELETE FROM s WHERE id = 1;
TRUNCATE s;
\set VERBOSITY default
UPDATE s SET who = 'x' WHERE id = 1;
\set VERBOSITY terse

-- INSERT ... ON CONFLICT DO NOTHING that skips a sealed row cannot commit
CREATE TABLE public.s_uniq (k int PRIMARY KEY, v text);
SELECT audit_chain.protect('public.s_uniq');
INSERT INTO s_uniq VALUES (1, 'one');
INSERT INTO s_uniq VALUES (1, 'dup') ON CONFLICT DO NOTHING;
INSERT INTO s_uniq VALUES (2, 'two') ON CONFLICT DO NOTHING;
-- the check runs only after statements that can skip rows: so also when the
-- skip hides in a data-modifying CTE, in a function, or after a plain insert
WITH w AS (INSERT INTO s_uniq VALUES (1, 'cte') ON CONFLICT DO NOTHING RETURNING k)
SELECT count(*) FROM w;
CREATE FUNCTION public.s_uniq_add(int) RETURNS void LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO s_uniq VALUES ($1, 'fn') ON CONFLICT (k) DO UPDATE SET v = 'fn' WHERE false; END $$;
SELECT s_uniq_add(2);
BEGIN;
INSERT INTO s_uniq VALUES (3, 'three');
INSERT INTO s_uniq VALUES (3, 'again') ON CONFLICT DO NOTHING;
COMMIT;
-- A new session loads the library in the middle of its first statement that
-- writes to a chained table (the seal trigger's first call): a skip in that
-- very statement is caught too, also in a function or a CTE it runs; the
-- first plain insert of a new session commits without the check.
\c
INSERT INTO s_uniq VALUES (1, 'new session') ON CONFLICT DO NOTHING;
\c
SELECT s_uniq_add(2);
\c
WITH w AS (INSERT INTO s_uniq VALUES (1, 'new session cte') ON CONFLICT DO NOTHING RETURNING k)
SELECT count(*) FROM w;
\c
INSERT INTO s_uniq VALUES (4, 'new session');
-- a SQL function inlined into a SELECT brings its data-modifying WITH along
CREATE FUNCTION public.s_uniq_sneak(int) RETURNS SETOF int LANGUAGE sql STABLE AS
$$ WITH c AS (INSERT INTO s_uniq VALUES ($1, 'inlined') ON CONFLICT DO NOTHING RETURNING k)
   SELECT k FROM c $$;
SELECT * FROM s_uniq_sneak(1);
DROP FUNCTION s_uniq_sneak(int);
DROP FUNCTION s_uniq_add(int);
SELECT k, v, chain_seq FROM s_uniq ORDER BY chain_seq;
-- a partition attached with a BEFORE ROW trigger that sorts after the seal
-- trigger and drops rows: the DDL guard refuses it; attached with the guard
-- off (event triggers do not fire for replicas), the sealed row that never
-- arrives is still caught
CREATE TABLE public.s_part (k int, v text) PARTITION BY RANGE (k);
CREATE TABLE public.s_part1 PARTITION OF s_part FOR VALUES FROM (0) TO (10);
SELECT audit_chain.protect('public.s_part');
CREATE TABLE public.s_part2 (LIKE s_part);
CREATE FUNCTION public.s_drop_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER zzz_drop BEFORE INSERT ON s_part2 FOR EACH ROW EXECUTE FUNCTION s_drop_row();
ALTER TABLE s_part ATTACH PARTITION s_part2 FOR VALUES FROM (10) TO (20);
SET session_replication_role = replica;
ALTER TABLE s_part ATTACH PARTITION s_part2 FOR VALUES FROM (10) TO (20);
RESET session_replication_role;
INSERT INTO s_part VALUES (1, 'kept');
INSERT INTO s_part VALUES (15, 'dropped');
SELECT k, v, chain_seq FROM s_part ORDER BY chain_seq;
SELECT lane, rows_checked, intact FROM audit_chain.verify_chain('s_part');
-- and when such a trigger appears after this session has cached the table
-- (made with the DDL guard off: event triggers do not fire for replicas)
INSERT INTO s_part VALUES (2, 'kept too');
SET session_replication_role = replica;
CREATE TRIGGER zzz_drop BEFORE INSERT ON s_part1 FOR EACH ROW EXECUTE FUNCTION s_drop_row();
RESET session_replication_role;
INSERT INTO s_part VALUES (3, 'dropped');
SELECT k, v, chain_seq FROM s_part ORDER BY chain_seq;
SELECT audit_chain.unprotect('public.s_part', 'test done');
DROP TABLE s_part;
DROP FUNCTION s_drop_row();
SELECT lane, rows_checked, intact FROM audit_chain.verify_chain('s_uniq');

-- generated columns are not hashed, dropped columns are not hashed
CREATE TABLE public.s_gen (a int, dropped text, b int GENERATED ALWAYS AS (a * 2) STORED);
ALTER TABLE s_gen DROP COLUMN dropped;
SELECT audit_chain.protect('public.s_gen');
INSERT INTO s_gen (a) VALUES (1), (2);
SELECT a, b, chain_seq, audit_chain.row_hash('s_gen', 0, chain_seq) = chain_hash AS ok FROM s_gen ORDER BY chain_seq;
-- the canonical row names only column a
SELECT position('\x0000000161'::bytea IN audit_chain.canonical_row('s_gen', 0, 1)) > 0 AS names_a,
       position('\x0000000162'::bytea IN audit_chain.canonical_row('s_gen', 0, 1)) > 0 AS names_b;

-- lanes: one transaction keeps one lane
CREATE TABLE public.s_lanes (x int);
SELECT audit_chain.protect('public.s_lanes', lanes => 4);
BEGIN;
INSERT INTO s_lanes VALUES (1);
INSERT INTO s_lanes VALUES (2), (3);
SELECT count(DISTINCT chain_lane) AS lanes_used, array_agg(chain_seq ORDER BY chain_seq) FROM s_lanes;
COMMIT;
SELECT sum(rows_checked), bool_and(intact), count(*) AS lanes FROM audit_chain.verify_chain('s_lanes');
SELECT audit_chain.unprotect('public.s_lanes');
DROP TABLE public.s_lanes;
