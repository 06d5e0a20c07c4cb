\set VERBOSITY terse
-- an empty table
CREATE TABLE public.orders_audit (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor   text NOT NULL,
    action  text NOT NULL,
    amount  numeric(12,2),
    details jsonb
);
SELECT audit_chain.protect('public.orders_audit');
\d public.orders_audit
SELECT tbl, lane, length(genesis) AS genesis_len, archived_seq, archived_hash
  FROM audit_chain.chains WHERE tbl = 'public.orders_audit'::regclass;
INSERT INTO orders_audit (actor, action, amount) VALUES ('alice', 'create', 10.5);
SELECT id, actor, chain_lane, chain_seq, length(chain_prev) AS prev_len, length(chain_hash) AS hash_len,
       chain_prev = (SELECT genesis FROM audit_chain.chains WHERE tbl = 'orders_audit'::regclass) AS links_to_genesis
  FROM orders_audit;

-- a table with rows already in it: sealed in physical order, into lane 0
CREATE TABLE public.legacy (id int, note text);
INSERT INTO legacy SELECT g, 'note ' || g FROM generate_series(1, 5) g;
SELECT audit_chain.protect('legacy', lanes => 3);
SELECT id, note, chain_lane, chain_seq FROM legacy ORDER BY chain_lane, chain_seq;
SELECT lane, count(*) OVER () AS lanes FROM audit_chain.chains WHERE tbl = 'legacy'::regclass ORDER BY lane;
SELECT count(DISTINCT genesis) AS distinct_genesis FROM audit_chain.chains WHERE tbl = 'legacy'::regclass;
SELECT lane, rows_checked, intact, first_bad_seq, problem FROM audit_chain.verify_chain('legacy') ORDER BY lane;

-- a partitioned table
CREATE TABLE public.events_p (at date NOT NULL, what text) PARTITION BY RANGE (at);
CREATE TABLE public.events_p_2025 PARTITION OF events_p FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE public.events_p_2026 PARTITION OF events_p FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO events_p VALUES ('2025-06-01', 'old');
SELECT audit_chain.protect('events_p');
INSERT INTO events_p VALUES ('2026-02-01', 'a'), ('2025-03-01', 'b'), ('2026-03-01', 'c');
SELECT tableoid::regclass, at, what, chain_lane, chain_seq FROM events_p ORDER BY chain_seq;
SELECT lane, rows_checked, intact FROM audit_chain.verify_chain('events_p');
-- a partition created later gets the seal trigger too
CREATE TABLE public.events_p_2027 PARTITION OF events_p FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');
INSERT INTO events_p VALUES ('2027-05-05', 'd');
SELECT tableoid::regclass, what, chain_seq FROM events_p WHERE what = 'd';
SELECT lane, rows_checked, intact FROM audit_chain.verify_chain('events_p');

SELECT action, tbl_name, lanes, rows_sealed FROM audit_chain.protection_log ORDER BY id;
