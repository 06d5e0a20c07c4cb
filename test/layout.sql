-- Tables of awkward shape: dropped columns, names that need quoting and
-- non-ASCII names, TOASTed values, partitions whose columns sit at other
-- attnums than the parent's, rows loaded with COPY, RETURNING.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

SELECT plan(20);

CREATE SCHEMA tap_layout;

-- A dropped column, before and after protect()
CREATE TABLE tap_layout.dropped (a int, b text, c text);
INSERT INTO tap_layout.dropped VALUES (1, 'gone', 'kept');
ALTER TABLE tap_layout.dropped DROP COLUMN b;
SELECT lives_ok($$SELECT audit_chain.protect('tap_layout.dropped')$$, 'protect() a table with a dropped column');
INSERT INTO tap_layout.dropped (a, c) VALUES (2, 'new');
SELECT results_eq($$SELECT rows_checked, intact FROM audit_chain.verify_chain('tap_layout.dropped')$$,
                  $$VALUES (2::bigint, true)$$, 'a table with a dropped column verifies');
SELECT is(position(convert_to('gone', 'UTF8') IN audit_chain.canonical_row('tap_layout.dropped', 0, 1)), 0,
          'the dropped column is not hashed');

-- Quoted and non-ASCII names, several lanes, large values
CREATE SCHEMA "Tap Odd";
CREATE TABLE "Tap Odd"."My Täble" ("Ünïcode col" text, "select" int, "big one" text);
INSERT INTO "Tap Odd"."My Täble" VALUES ('é', 1, repeat('abc', 100000));
SELECT lives_ok($$SELECT audit_chain.protect('"Tap Odd"."My Täble"', 3)$$,
                'protect() a table whose schema, table and column names need quoting');
SELECT has_index('Tap Odd', 'My Täble', 'My Täble_chain_idx', ARRAY['chain_lane', 'chain_seq'],
                 'the chain index is named after the table');
SELECT results_eq(
    $$INSERT INTO "Tap Odd"."My Täble" VALUES ('ü', 2, repeat('xyz', 200000))
      RETURNING chain_seq, length(chain_hash)$$,
    $$VALUES (2::bigint, 32)$$,
    'INSERT ... RETURNING shows the sealed chain columns');
SELECT results_eq(
    $$SELECT sum(rows_checked)::int, bool_and(intact) FROM audit_chain.verify_chain('"Tap Odd"."My Täble"')$$,
    $$VALUES (2, true)$$, 'quoted names and TOASTed values verify');
SELECT cmp_ok(position(convert_to('Ünïcode col', 'UTF8') IN
                       audit_chain.canonical_row('"Tap Odd"."My Täble"', 0, 1)), '>', 0,
              'a non-ASCII column name is hashed as its UTF-8 bytes');
SELECT is(position(sha256(convert_to(repeat('xyz', 200000), 'UTF8')) IN
                   audit_chain.canonical_row('"Tap Odd"."My Täble"', 0, 2)) > 0, true,
          'a TOASTed value is hashed in full');

-- Partitions whose columns sit at other attnums than the parent's
CREATE TABLE tap_layout.parted (id int, who text, at date) PARTITION BY RANGE (at);
CREATE TABLE tap_layout.parted_a PARTITION OF tap_layout.parted FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE tap_layout.parted_b (junk int, at date, who text, id int);
ALTER TABLE tap_layout.parted_b DROP COLUMN junk;
ALTER TABLE tap_layout.parted ATTACH PARTITION tap_layout.parted_b FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO tap_layout.parted VALUES (1, 'a', '2024-05-05'), (2, 'b', '2025-05-05');
SELECT lives_ok($$SELECT audit_chain.protect('tap_layout.parted')$$,
                'protect() a partitioned table whose partitions differ in layout');
INSERT INTO tap_layout.parted VALUES (3, 'c', '2024-06-06'), (4, 'd', '2025-06-06');
SELECT results_eq(
    $$SELECT id, tableoid::regclass::text, chain_seq FROM tap_layout.parted ORDER BY chain_seq$$,
    $$VALUES (1, 'tap_layout.parted_a', 1::bigint), (2, 'tap_layout.parted_b', 2::bigint),
             (3, 'tap_layout.parted_a', 3::bigint), (4, 'tap_layout.parted_b', 4::bigint)$$,
    'rows in both partitions, one lane');
SELECT is((SELECT count(*)::int FROM tap_layout.parted
            WHERE chain_hash = audit_chain.row_hash('tap_layout.parted', chain_lane, chain_seq)), 4,
          'row_hash() agrees with the seal in both layouts');
SELECT is(audit_chain.canonical_row('tap_layout.parted', 0, 4),
          convert_to('audit_chain/v1', 'UTF8') || '\x00'::bytea || int8send(4)
          || (SELECT int8send((extract(epoch FROM chain_at) * 1000000)::bigint) || chain_prev
                FROM tap_layout.parted WHERE chain_seq = 4)
          || int4send(2) || convert_to('id', 'UTF8') || sha256(convert_to('4', 'UTF8'))
          || int4send(3) || convert_to('who', 'UTF8') || sha256(convert_to('d', 'UTF8'))
          || int4send(2) || convert_to('at', 'UTF8') || sha256(convert_to('2025-06-06', 'UTF8')),
          'a row of the reordered partition is hashed in the parent''s column order');
SELECT results_eq($$SELECT rows_checked, intact FROM audit_chain.verify_chain('tap_layout.parted')$$,
                  $$VALUES (4::bigint, true)$$, 'the partitioned table verifies');
CREATE TABLE tap_layout.parted_c PARTITION OF tap_layout.parted FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO tap_layout.parted VALUES (5, 'e', '2026-02-02');
SELECT results_eq($$SELECT rows_checked, intact FROM audit_chain.verify_chain('tap_layout.parted')$$,
                  $$VALUES (5::bigint, true)$$, 'a partition created after protect() joins the chain');
SELECT has_trigger('tap_layout', 'parted_c', 'zz_audit_chain_seal', 'and gets the seal trigger');

-- COPY
CREATE TABLE tap_layout.copied (id int, note text, at timestamptz);
SELECT audit_chain.protect('tap_layout.copied');
COPY tap_layout.copied (id, note, at) FROM STDIN;
1	first	2024-01-01 00:00:00+00
2	second	2024-01-02 00:00:00+00
3	\N	2024-01-03 00:00:00+00
4	fourth	2024-01-04 00:00:00+00
\.
COPY tap_layout.copied (id, note, at, chain_lane, chain_seq, chain_at, chain_prev, chain_hash) FROM STDIN;
5	forged chain values	2024-01-05 00:00:00+00	9	999	2000-01-01 00:00:00+00	\\x00	\\x00
\.
SELECT results_eq($$SELECT id, chain_lane::int, chain_seq FROM tap_layout.copied ORDER BY chain_seq$$,
                  $$VALUES (1, 0, 1::bigint), (2, 0, 2::bigint), (3, 0, 3::bigint), (4, 0, 4::bigint), (5, 0, 5::bigint)$$,
                  'COPY seals every row, gap-free, overwriting chain values given in the data');
SELECT is((SELECT count(*)::int FROM tap_layout.copied c JOIN tap_layout.copied p ON p.chain_seq = c.chain_seq - 1
            WHERE c.chain_prev = p.chain_hash), 4, 'COPYed rows link one to the next');
SELECT results_eq($$SELECT rows_checked, intact FROM audit_chain.verify_chain('tap_layout.copied')$$,
                  $$VALUES (5::bigint, true)$$, 'COPYed rows verify');
SELECT is((SELECT chain_at FROM tap_layout.copied WHERE id = 5) > '2000-01-02'::timestamptz, true,
          'chain_at from the COPY data was overwritten');

SELECT * FROM finish();
ROLLBACK;
