-- test/scenarios/backdate.sql -- a test-only way to write backdated rows into a
-- chained table, with no product code: a psql include for the scenarios
-- (\i test/scenarios/backdate.sql, as a superuser).
--
-- The seal trigger stores a row that a superuser inserts already validly
-- sealed (src/seal.c, is_presealed) as it is.  The functions below compute
-- that seal in plain SQL, exactly as sql/hash_spec.sql writes the v1 format
-- of doc/hash-format.md: term() is hash_spec.sql's, the input is
--   'audit_chain/v1' || 0x00 || int8send(seq) || int8send(chain_at in us)
--   || chain_prev || the terms of the hashed columns in attnum order,
-- and a column's canonical text is its type's output function's text
-- (format('%s', v) calls it) under the settings of section 3, which every
-- function here sets.  Nothing calls the extension's own hashing code.
--
--   SELECT ac_test.backdate(tbl, days, per_day, cols, exprs);
--
-- appends days * per_day rows to tbl, spread over its lanes round robin,
-- row i (1, 2, ...) at chain_at = now() - days + (i - 1) * (1 day / per_day),
-- so the oldest row is days old and the times grow with seq in every lane.
-- Each lane continues from its current head (its last row, or its start
-- point: archived_seq and archived_hash, else genesis).  cols is a column
-- list of tbl and exprs the matching select list, in which i (bigint, 1..n)
-- and ac_lane (the row's lane) may be used; the other columns take their
-- defaults.  Returns the number of rows written, after checking that every
-- one of them was stored with the seal computed here (a row the trigger had
-- sealed again itself would have a new chain_at and hash).
--
-- Run it as the only writer of tbl: rows inserted concurrently would take
-- the seqs it computed.

SET client_min_messages = warning;
CREATE SCHEMA IF NOT EXISTS ac_test;

-- one term per hashed column: uint32_be(len(name)) || name || sha256(canonical text)
-- (sql/hash_spec.sql)
CREATE OR REPLACE FUNCTION ac_test.term(name text, value text) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN value IS NULL THEN ''::bytea
                ELSE int4send(octet_length(convert_to(name, 'UTF8')))
                     || convert_to(name, 'UTF8')
                     || sha256(convert_to(value, 'UTF8'))
           END
$$;

-- the fixed part of a row's hash input, before its terms (sql/hash_spec.sql)
CREATE OR REPLACE FUNCTION ac_test.head_input(seq bigint, at timestamptz, prev bytea)
RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT convert_to('audit_chain/v1', 'UTF8') || '\x00'::bytea
           || int8send(seq)
           || int8send((extract(epoch FROM at) * 1000000)::bigint)
           || prev
$$;

-- The hashed columns of a chained table (doc/hash-format.md, section 2):
-- not dropped, not generated, not a chain column, in attnum order.
CREATE OR REPLACE FUNCTION ac_test.hashed_columns(tbl regclass) RETURNS SETOF name
LANGUAGE sql STABLE AS $$
    SELECT a.attname FROM pg_attribute a
     WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped
       AND a.attgenerated = ''
       AND a.attname NOT IN ('chain_lane', 'chain_seq', 'chain_at', 'chain_prev', 'chain_hash')
     ORDER BY a.attnum
$$;

-- An SQL expression: the terms of the row called alias, concatenated.  A
-- NULL column adds nothing (num_nonnulls looks at the datum itself, not at
-- the fields of a composite value).
CREATE OR REPLACE FUNCTION ac_test.terms_sql(tbl regclass, alias text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(string_agg(
               format('ac_test.term(%L, CASE WHEN num_nonnulls(%I.%I) = 1 THEN format(%L, %I.%I) END)',
                      c, alias, c, '%s', alias, c), ' || '),
           '''''::bytea')
      FROM ac_test.hashed_columns(tbl) AS c
$$;

-- The v1 hash of every row of a table, recomputed here: for a check of the
-- rows that exist (lane, seq, chain_hash as stored, hash recomputed).
CREATE OR REPLACE FUNCTION ac_test.recompute(tbl regclass)
RETURNS TABLE (lane smallint, seq bigint, stored bytea, computed bytea)
LANGUAGE plpgsql
SET timezone = 'UTC' SET datestyle = 'ISO, YMD' SET intervalstyle = 'postgres'
SET extra_float_digits = 1 SET bytea_output = 'hex'
AS $$
BEGIN
    RETURN QUERY EXECUTE format(
        'SELECT r.chain_lane, r.chain_seq, r.chain_hash,
                sha256(ac_test.head_input(r.chain_seq, r.chain_at, r.chain_prev) || %s)
           FROM %s AS r', ac_test.terms_sql(tbl, 'r'), tbl);
END
$$;

CREATE OR REPLACE FUNCTION ac_test.backdate(tbl regclass, days integer, per_day integer,
                                            cols text DEFAULT '', exprs text DEFAULT '')
RETURNS bigint
LANGUAGE plpgsql
SET timezone = 'UTC' SET datestyle = 'ISO, YMD' SET intervalstyle = 'postgres'
SET extra_float_digits = 1 SET bytea_output = 'hex'
-- the chain is built by a recursive join on (lane, seq): one index probe per
-- row, never a hash of the whole stage per step
SET enable_hashjoin = off SET enable_mergejoin = off
SET client_min_messages = warning
AS $$
DECLARE
    n       bigint := days::bigint * per_day;
    lanes   integer;
    c       record;
    all_cols text;
    stored  bigint;
BEGIN
    IF n <= 0 THEN
        RAISE EXCEPTION 'backdate: days * per_day must be positive';
    END IF;
    SELECT count(*) INTO lanes FROM audit_chain.chains AS ch WHERE ch.tbl = backdate.tbl;
    IF lanes = 0 THEN
        RAISE EXCEPTION 'backdate: % is not a chained table', tbl;
    END IF;

    -- each lane's head: its last row, else its start point
    DROP TABLE IF EXISTS pg_temp.ac_heads, pg_temp.ac_stage, pg_temp.ac_chain;
    CREATE TEMP TABLE ac_heads (ac_lane smallint PRIMARY KEY, h_seq bigint, h_hash bytea);
    FOR c IN SELECT ch.lane, ch.archived_seq, coalesce(ch.archived_hash, ch.genesis) AS start
               FROM audit_chain.chains AS ch WHERE ch.tbl = backdate.tbl ORDER BY ch.lane
    LOOP
        EXECUTE format('INSERT INTO ac_heads
                        SELECT $1, coalesce(t.chain_seq, $2), coalesce(t.chain_hash, $3)
                          FROM (SELECT 1) AS one
                          LEFT JOIN (SELECT chain_seq, chain_hash FROM %s
                                      WHERE chain_lane = $1
                                      ORDER BY chain_seq DESC LIMIT 1) AS t ON true', tbl)
            USING c.lane, c.archived_seq, c.start;
    END LOOP;

    -- the rows, with the table's defaults, their lane, seq and time
    EXECUTE format('CREATE TEMP TABLE ac_stage (LIKE %s INCLUDING DEFAULTS)', tbl);
    ALTER TABLE ac_stage ALTER chain_lane DROP NOT NULL, ALTER chain_seq DROP NOT NULL,
        ALTER chain_at DROP NOT NULL, ALTER chain_prev DROP NOT NULL,
        ALTER chain_hash DROP NOT NULL, ADD COLUMN ac_terms bytea;
    -- an identity column takes its value from the table's own sequence
    FOR c IN SELECT a.attname FROM pg_attribute a
              WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped
                AND a.attidentity <> ''
    LOOP
        EXECUTE format('ALTER TABLE ac_stage ALTER %I SET DEFAULT nextval(%L)', c.attname,
                       pg_get_serial_sequence(tbl::text, c.attname));
    END LOOP;
    EXECUTE format(
        'INSERT INTO ac_stage (%s chain_lane, chain_seq, chain_at)
         SELECT %s g.ac_lane, h.h_seq + row_number() OVER (PARTITION BY g.ac_lane ORDER BY g.i),
                g.ac_at
           FROM (SELECT i, ((i - 1) %% %s)::smallint AS ac_lane,
                        now() - make_interval(days => $1) + (i - 1) * (interval ''1 day'' / $2) AS ac_at
                   FROM generate_series(1::bigint, $3) AS i) AS g
           JOIN ac_heads AS h USING (ac_lane)',
        CASE WHEN cols <> '' THEN cols || ',' ELSE '' END,
        CASE WHEN exprs <> '' THEN exprs || ',' ELSE '' END,
        lanes) USING days, per_day, n;

    -- the terms of each row, then the links, lane by lane in seq order
    EXECUTE format('UPDATE ac_stage AS s SET ac_terms = %s', ac_test.terms_sql(tbl, 's'));
    CREATE UNIQUE INDEX ON ac_stage (chain_lane, chain_seq);
    ANALYZE ac_stage;
    CREATE TEMP TABLE ac_chain AS
    WITH RECURSIVE l(lane, seq, prev, hash) AS (
        SELECT h.ac_lane, h.h_seq, NULL::bytea, h.h_hash FROM ac_heads AS h
        UNION ALL
        SELECT s.chain_lane, s.chain_seq, l.hash,
               sha256(ac_test.head_input(s.chain_seq, s.chain_at, l.hash) || s.ac_terms)
          FROM l JOIN ac_stage AS s ON s.chain_lane = l.lane AND s.chain_seq = l.seq + 1
    )
    SELECT * FROM l WHERE prev IS NOT NULL;
    UPDATE ac_stage AS s SET chain_prev = l.prev, chain_hash = l.hash
      FROM ac_chain AS l WHERE s.chain_lane = l.lane AND s.chain_seq = l.seq;

    -- insert them sealed, oldest first
    SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO all_cols
      FROM pg_attribute a
     WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '';
    EXECUTE format('INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE
                    SELECT %s FROM ac_stage ORDER BY chain_seq, chain_lane',
                   tbl, all_cols, all_cols);

    -- every row stored with our seal, none sealed again by the trigger
    EXECUTE format('SELECT count(*) FROM %s AS t JOIN ac_stage AS s
                      ON t.chain_lane = s.chain_lane AND t.chain_seq = s.chain_seq
                     AND t.chain_hash = s.chain_hash AND t.chain_at = s.chain_at', tbl)
        INTO stored;
    IF stored <> n THEN
        RAISE EXCEPTION 'backdate: % of % rows of % stored as sealed here', stored, n, tbl;
    END IF;
    DROP TABLE ac_heads, ac_stage, ac_chain;
    RETURN n;
END
$$;

-- After archiving: where each lane's rows are.  One row per lane of tbl:
-- rows in the live table and in its archive table (audit_chain.archives;
-- none if it has none), the seq range of each, the boundaries recorded in
-- audit_chain.chains, and how many (lane, seq) are in both tables.
CREATE OR REPLACE FUNCTION ac_test.lane_split(tbl regclass)
RETURNS TABLE (lane smallint, live bigint, live_first bigint, live_last bigint,
               archived bigint, arch_first bigint, arch_last bigint,
               archived_seq bigint, purged_seq bigint, in_both bigint)
LANGUAGE plpgsql
AS $$
DECLARE
    arch regclass;
BEGIN
    SELECT a.archive INTO arch FROM audit_chain.archives AS a WHERE a.tbl = lane_split.tbl;
    RETURN QUERY EXECUTE format(
        'SELECT ch.lane, coalesce(l.n, 0), l.lo, l.hi, coalesce(a.n, 0), a.lo, a.hi,
                ch.archived_seq, ch.purged_seq, coalesce(b.n, 0)
           FROM audit_chain.chains AS ch
           LEFT JOIN (SELECT chain_lane, count(*) AS n, min(chain_seq) AS lo, max(chain_seq) AS hi
                        FROM %1$s GROUP BY 1) AS l ON l.chain_lane = ch.lane
           LEFT JOIN (SELECT chain_lane, count(*) AS n, min(chain_seq) AS lo, max(chain_seq) AS hi
                        FROM %2$s GROUP BY 1) AS a ON a.chain_lane = ch.lane
           LEFT JOIN (SELECT x.chain_lane, count(*) AS n FROM %1$s AS x
                        JOIN %2$s AS y USING (chain_lane, chain_seq) GROUP BY 1) AS b
                  ON b.chain_lane = ch.lane
          WHERE ch.tbl = $1 ORDER BY ch.lane',
        tbl,
        coalesce(arch::text, format('(SELECT * FROM %s WHERE false)', tbl)))
    USING tbl;
END
$$;

-- What is wrong with the split of tbl's lanes between the live table and the
-- archive, checked from the rows alone (no verify_chain): a lane's archived
-- rows are exactly seqs purged_seq + 1 .. archived_seq, its live rows
-- archived_seq + 1 .. its head with no gap, and no (lane, seq) is in both.
-- No row: all is well.
CREATE OR REPLACE FUNCTION ac_test.split_problems(tbl regclass)
RETURNS SETOF text
LANGUAGE sql
AS $$
    SELECT format('lane %s: %s', s.lane, p)
      FROM ac_test.lane_split(tbl) AS s,
           LATERAL (VALUES
               (CASE WHEN s.in_both > 0 THEN s.in_both || ' rows in both tables' END),
               (CASE WHEN s.live > 0 AND s.live_first <> s.archived_seq + 1
                     THEN 'live rows start at ' || s.live_first || ', boundary is ' || s.archived_seq END),
               (CASE WHEN s.live > 0 AND s.live <> s.live_last - s.live_first + 1
                     THEN 'gap in the live rows' END),
               (CASE WHEN s.archived <> s.archived_seq - s.purged_seq
                     THEN s.archived || ' archived rows, boundaries say ' || (s.archived_seq - s.purged_seq) END),
               (CASE WHEN s.archived > 0 AND (s.arch_first <> s.purged_seq + 1 OR s.arch_last <> s.archived_seq)
                     THEN 'archived seqs ' || s.arch_first || '..' || s.arch_last || ', boundaries say '
                          || (s.purged_seq + 1) || '..' || s.archived_seq END)) AS v(p)
     WHERE p IS NOT NULL
$$;
RESET client_min_messages;
