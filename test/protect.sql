-- protect(): what it adds to a table, how it registers lanes, how it seals
-- the rows a table already held, partitioned tables, and what it refuses.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

SELECT plan(61);

CREATE SCHEMA tap_protect;
SET LOCAL search_path = tap_protect, public;

-- A table with rows in it before protect(): physical order 3, 1, 2
CREATE TABLE tap_protect.orders (id int, note text);
INSERT INTO tap_protect.orders VALUES (3, 'third'), (1, 'first'), (2, 'second');

SELECT lives_ok($$SELECT audit_chain.protect('tap_protect.orders')$$,
                'protect() a non-empty table');

-- Chain columns
SELECT has_column('tap_protect', 'orders', 'chain_lane', 'chain_lane added');
SELECT has_column('tap_protect', 'orders', 'chain_seq', 'chain_seq added');
SELECT has_column('tap_protect', 'orders', 'chain_at', 'chain_at added');
SELECT has_column('tap_protect', 'orders', 'chain_prev', 'chain_prev added');
SELECT has_column('tap_protect', 'orders', 'chain_hash', 'chain_hash added');
SELECT col_type_is('tap_protect', 'orders', 'chain_lane', 'smallint', 'chain_lane is smallint');
SELECT col_type_is('tap_protect', 'orders', 'chain_seq', 'bigint', 'chain_seq is bigint');
SELECT col_type_is('tap_protect', 'orders', 'chain_at', 'timestamp with time zone', 'chain_at is timestamptz');
SELECT col_type_is('tap_protect', 'orders', 'chain_prev', 'bytea', 'chain_prev is bytea');
SELECT col_type_is('tap_protect', 'orders', 'chain_hash', 'bytea', 'chain_hash is bytea');
SELECT col_not_null('tap_protect', 'orders', 'chain_lane', 'chain_lane is NOT NULL');
SELECT col_not_null('tap_protect', 'orders', 'chain_seq', 'chain_seq is NOT NULL');
SELECT col_not_null('tap_protect', 'orders', 'chain_at', 'chain_at is NOT NULL');
SELECT col_not_null('tap_protect', 'orders', 'chain_prev', 'chain_prev is NOT NULL');
SELECT col_not_null('tap_protect', 'orders', 'chain_hash', 'chain_hash is NOT NULL');

-- Index and triggers
SELECT has_index('tap_protect', 'orders', 'orders_chain_idx', ARRAY['chain_lane', 'chain_seq'],
                 'index orders_chain_idx on (chain_lane, chain_seq)');
SELECT index_is_unique('tap_protect', 'orders', 'orders_chain_idx', 'the chain index is unique');
SELECT has_trigger('tap_protect', 'orders', 'zz_audit_chain_seal', 'seal trigger installed');
SELECT has_trigger('tap_protect', 'orders', 'zz_audit_chain_truncate', 'truncate trigger installed');
SELECT trigger_is('tap_protect', 'orders', 'zz_audit_chain_seal', 'audit_chain', 'seal_row',
                  'seal trigger calls audit_chain.seal_row');
SELECT trigger_is('tap_protect', 'orders', 'zz_audit_chain_truncate', 'audit_chain', 'refuse_truncate',
                  'truncate trigger calls audit_chain.refuse_truncate');
SELECT results_eq(
    $$SELECT t.tgtype::int & 66, t.tgenabled::text FROM pg_trigger t
       WHERE t.tgrelid = 'tap_protect.orders'::regclass AND t.tgname = 'zz_audit_chain_seal'$$,
    $$VALUES (2, 'O')$$,
    'seal trigger is BEFORE, FOR EACH ROW and enabled');

-- Registration of the one lane
SELECT results_eq(
    $$SELECT lane::int, length(genesis), archived_seq, archived_hash IS NULL
        FROM audit_chain.chains WHERE tbl = 'tap_protect.orders'::regclass$$,
    $$VALUES (0, 32, 0::bigint, true)$$,
    'one lane registered, 32-byte genesis, nothing archived');

-- Existing rows sealed into lane 0, in physical order
SELECT results_eq(
    $$SELECT id, chain_lane::int, chain_seq FROM tap_protect.orders ORDER BY chain_seq$$,
    $$VALUES (3, 0, 1::bigint), (1, 0, 2::bigint), (2, 0, 3::bigint)$$,
    'existing rows sealed as seq 1..n in physical order');
SELECT is(
    (SELECT chain_prev FROM tap_protect.orders WHERE chain_seq = 1),
    (SELECT genesis FROM audit_chain.chains WHERE tbl = 'tap_protect.orders'::regclass),
    'first sealed row links to the genesis hash');
SELECT is(
    (SELECT count(*)::int FROM tap_protect.orders o
       JOIN tap_protect.orders p ON p.chain_seq = o.chain_seq - 1
      WHERE o.chain_prev = p.chain_hash),
    2, 'each later row links to the one before');
SELECT is(
    (SELECT count(*)::int FROM tap_protect.orders
      WHERE chain_hash = audit_chain.row_hash('tap_protect.orders', chain_lane, chain_seq)),
    3, 'stored chain_hash equals row_hash() for every sealed row');
SELECT results_eq(
    $$SELECT lane, rows_checked, intact, first_bad_seq, problem
        FROM audit_chain.verify_chain('tap_protect.orders')$$,
    $$VALUES (0, 3::bigint, true, NULL::bigint, NULL::text)$$,
    'verify_chain: the sealed table is intact');

-- protection_log
SELECT results_eq(
    $$SELECT action, tbl_name, lanes, rows_sealed, logged_by::text
        FROM audit_chain.protection_log WHERE relid = 'tap_protect.orders'::regclass$$,
    $$VALUES ('protect', 'tap_protect.orders', 1, 3::bigint, session_user::text)$$,
    'protect() is recorded in protection_log');

-- New rows continue the chain
INSERT INTO tap_protect.orders (id, note) VALUES (4, 'fourth');
SELECT is((SELECT chain_seq FROM tap_protect.orders WHERE id = 4), 4::bigint,
          'a new row continues after the sealed rows');
SELECT is((SELECT intact FROM audit_chain.verify_chain('tap_protect.orders')), true,
          'still intact after a new row');

-- Several lanes
CREATE TABLE tap_protect.events (id int, what text);
SELECT lives_ok($$SELECT audit_chain.protect('tap_protect.events', lanes => 3)$$,
                'protect() with 3 lanes');
SELECT results_eq(
    $$SELECT lane::int FROM audit_chain.chains WHERE tbl = 'tap_protect.events'::regclass ORDER BY lane$$,
    $$VALUES (0), (1), (2)$$,
    'lanes 0, 1 and 2 registered');
SELECT is((SELECT count(*)::int FROM audit_chain.chains
            WHERE tbl = 'tap_protect.events'::regclass AND length(genesis) = 32), 3,
          'every lane has a 32-byte genesis');
SELECT is((SELECT count(DISTINCT genesis)::int FROM audit_chain.chains
            WHERE tbl = 'tap_protect.events'::regclass), 3,
          'every lane has its own genesis');
SELECT isnt((SELECT genesis FROM audit_chain.chains WHERE tbl = 'tap_protect.events'::regclass AND lane = 0),
            (SELECT genesis FROM audit_chain.chains WHERE tbl = 'tap_protect.orders'::regclass AND lane = 0),
            'tables do not share a genesis');
SELECT results_eq(
    $$SELECT c.lane::int, h.seq, h.hash FROM audit_chain.chains c, audit_chain.lane_head(c.tbl, c.lane) h
       WHERE c.tbl = 'tap_protect.events'::regclass ORDER BY lane$$,
    $$SELECT lane::int, 0::bigint, genesis FROM audit_chain.chains
       WHERE tbl = 'tap_protect.events'::regclass ORDER BY lane$$,
    'lane_head() of an empty lane is (0, genesis)');
SELECT matches((SELECT tgargs::text FROM pg_trigger
                 WHERE tgrelid = 'tap_protect.events'::regclass AND tgname = 'zz_audit_chain_seal'),
               '3', 'the seal trigger carries the lane count');
INSERT INTO tap_protect.events (id, what) SELECT g, 'e' || g FROM generate_series(1, 5) g;
SELECT results_eq(
    $$SELECT count(DISTINCT chain_lane)::int, min(chain_seq), max(chain_seq) FROM tap_protect.events$$,
    $$VALUES (1, 1::bigint, 5::bigint)$$,
    'one transaction writes one lane, seqs 1..5');
SELECT is((SELECT count(*)::int FROM audit_chain.verify_chain('tap_protect.events') WHERE intact), 3,
          'verify_chain reports each of the 3 lanes intact');
SELECT is((SELECT rows_sealed FROM audit_chain.protection_log
            WHERE relid = 'tap_protect.events'::regclass AND action = 'protect'), 0::bigint,
          'protection_log records 0 rows sealed for an empty table');

-- Partitioned table
CREATE TABLE tap_protect.access (id int, at date, who text) PARTITION BY RANGE (at);
CREATE TABLE tap_protect.access_2023 PARTITION OF tap_protect.access
    FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE tap_protect.access_2024 PARTITION OF tap_protect.access
    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
INSERT INTO tap_protect.access VALUES (1, '2024-03-01', 'old-a'), (2, '2023-03-01', 'old-b');
SELECT lives_ok($$SELECT audit_chain.protect('tap_protect.access')$$,
                'protect() a partitioned table holding rows');
SELECT has_index('tap_protect', 'access', 'access_chain_idx', ARRAY['chain_lane', 'chain_seq'],
                 'partitioned table gets the chain index');
SELECT has_trigger('tap_protect', 'access_2023', 'zz_audit_chain_seal', 'seal trigger cloned to a partition');
SELECT has_trigger('tap_protect', 'access_2024', 'zz_audit_chain_truncate', 'truncate trigger on a partition');
SELECT results_eq(
    $$SELECT id, tableoid::regclass::text, chain_seq FROM tap_protect.access ORDER BY chain_seq$$,
    $$VALUES (2, 'access_2023', 1::bigint), (1, 'access_2024', 2::bigint)$$,
    'existing rows of the partitions sealed, partitions in oid order');
INSERT INTO tap_protect.access (id, at, who)
VALUES (3, '2024-05-01', 'a'), (4, '2023-05-01', 'b'), (5, '2024-06-01', 'c');
SELECT results_eq(
    $$SELECT id, tableoid::regclass::text, chain_seq FROM tap_protect.access WHERE id >= 3 ORDER BY id$$,
    $$VALUES (3, 'access_2024', 3::bigint), (4, 'access_2023', 4::bigint), (5, 'access_2024', 5::bigint)$$,
    'inserts are routed to the partitions and numbered across them');
SELECT is((SELECT array_agg(chain_seq ORDER BY chain_seq) FROM tap_protect.access),
          ARRAY[1, 2, 3, 4, 5]::bigint[], 'one gap-free lane over both partitions');
SELECT results_eq(
    $$SELECT lane, rows_checked, intact FROM audit_chain.verify_chain('tap_protect.access')$$,
    $$VALUES (0, 5::bigint, true)$$,
    'verify_chain of a partitioned table: intact');
SELECT throws_ok($$SELECT audit_chain.protect('tap_protect.access_2024')$$,
                 '42809', NULL, 'a partition cannot be protected on its own');
SELECT throws_ok($$TRUNCATE tap_protect.access_2023$$, '0A000', NULL,
                 'TRUNCATE of a partition is refused');

-- What protect() refuses
SELECT throws_ok($$SELECT audit_chain.protect('tap_protect.orders')$$,
                 '42710', 'table "tap_protect.orders" is already protected',
                 'protect() twice is refused');
SELECT throws_ok($$SELECT audit_chain.protect('tap_protect.orders', 0)$$,
                 '22023', NULL, 'lanes => 0 is refused');
SELECT throws_ok($$SELECT audit_chain.protect('tap_protect.orders', 65)$$,
                 '22023', NULL, 'lanes => 65 is refused');
CREATE VIEW tap_protect.v AS SELECT 1 AS x;
SELECT throws_ok($$SELECT audit_chain.protect('tap_protect.v')$$,
                 '42809', NULL, 'a view cannot be protected');
CREATE TEMP TABLE tap_temp (id int);
SELECT throws_ok($$SELECT audit_chain.protect('tap_temp')$$,
                 '0A000', NULL, 'a temporary table cannot be protected');
CREATE UNLOGGED TABLE tap_protect.unlogged (id int);
SELECT throws_ok($$SELECT audit_chain.protect('tap_protect.unlogged')$$,
                 '0A000', NULL, 'an unlogged table cannot be protected');
CREATE TABLE tap_protect.clash (id int, chain_seq int);
SELECT throws_ok($$SELECT audit_chain.protect('tap_protect.clash')$$,
                 '42701', NULL, 'a table with a column named like a chain column is refused');
SELECT throws_ok($$SELECT audit_chain.protect(NULL)$$,
                 '22004', NULL, 'protect(NULL) is refused');

-- version
SELECT is(audit_chain.version(),
          (SELECT default_version FROM pg_available_extensions WHERE name = 'audit_chain'),
          'version() matches the control file');

SELECT * FROM finish();
ROLLBACK;
