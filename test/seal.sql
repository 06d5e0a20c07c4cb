-- The seal trigger: what it writes into the chain columns, that it sees the
-- final row, multi-row inserts, generated columns, and the refusal of
-- UPDATE, DELETE and TRUNCATE.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

SELECT plan(34);

CREATE SCHEMA tap_seal;
CREATE TABLE tap_seal.log (
    id      int,
    who     text,
    amount  numeric(10, 2),
    doubled int GENERATED ALWAYS AS (id * 2) STORED
);
SELECT audit_chain.protect('tap_seal.log');

-- User-supplied chain column values are overwritten
INSERT INTO tap_seal.log (id, who, amount, chain_lane, chain_seq, chain_at, chain_prev, chain_hash)
VALUES (1, 'alice', 10, 5, 999, '2000-01-01 00:00:00+00', '\x00', '\x00');
SELECT results_eq(
    $$SELECT chain_lane::int, chain_seq, length(chain_prev), length(chain_hash) FROM tap_seal.log WHERE id = 1$$,
    $$VALUES (0, 1::bigint, 32, 32)$$,
    'user-supplied chain_lane, chain_seq, chain_prev, chain_hash are overwritten');
SELECT cmp_ok((SELECT chain_at FROM tap_seal.log WHERE id = 1), '>', '2000-01-01 00:00:00+00'::timestamptz,
              'user-supplied chain_at is overwritten');
SELECT is((SELECT chain_prev FROM tap_seal.log WHERE id = 1),
          (SELECT genesis FROM audit_chain.chains WHERE tbl = 'tap_seal.log'::regclass AND lane = 0),
          'first row links to the genesis hash');

-- chain_at is the sealing time (clock_timestamp, not the transaction start)
SELECT pg_sleep(0.05);
INSERT INTO tap_seal.log (id, who, amount) VALUES (2, 'bob', 20);
SELECT cmp_ok((SELECT chain_at FROM tap_seal.log WHERE id = 2), '>', now(),
              'chain_at is later than the transaction start: it is clock time');
SELECT cmp_ok((SELECT abs(extract(epoch FROM clock_timestamp() - chain_at)) FROM tap_seal.log WHERE id = 2),
              '<', 5::numeric, 'chain_at is close to clock_timestamp()');
SELECT cmp_ok((SELECT chain_at FROM tap_seal.log WHERE id = 2), '>=',
              (SELECT chain_at FROM tap_seal.log WHERE id = 1), 'chain_at does not go backwards');

-- Links
SELECT is((SELECT chain_prev FROM tap_seal.log WHERE chain_seq = 2),
          (SELECT chain_hash FROM tap_seal.log WHERE chain_seq = 1),
          'chain_prev of row 2 is chain_hash of row 1');
SELECT is((SELECT chain_hash FROM tap_seal.log WHERE chain_seq = 2),
          audit_chain.row_hash('tap_seal.log', 0, 2),
          'chain_hash equals row_hash() recomputed from the row');
SELECT is(sha256(audit_chain.canonical_row('tap_seal.log', 0, 2)),
          (SELECT chain_hash FROM tap_seal.log WHERE chain_seq = 2),
          'chain_hash is the SHA-256 of canonical_row()');
SELECT results_eq(
    $$SELECT seq, hash FROM audit_chain.lane_head('tap_seal.log', 0)$$,
    $$SELECT chain_seq, chain_hash FROM tap_seal.log WHERE chain_seq = 2$$,
    'lane_head() is the newest row');

-- Generated columns are not hashed; NULL columns are left out
SELECT is(position(convert_to('doubled', 'UTF8') IN audit_chain.canonical_row('tap_seal.log', 0, 2)), 0,
          'a generated column is not in the hash input');
SELECT cmp_ok(position(convert_to('amount', 'UTF8') IN audit_chain.canonical_row('tap_seal.log', 0, 2)), '>', 0,
              'an ordinary column is in the hash input');
INSERT INTO tap_seal.log (id, who, amount) VALUES (3, 'carol', NULL);
SELECT is(position(convert_to('amount', 'UTF8') IN audit_chain.canonical_row('tap_seal.log', 0, 3)), 0,
          'a NULL column is left out of the hash input');
SELECT is((SELECT chain_hash FROM tap_seal.log WHERE id = 3), audit_chain.row_hash('tap_seal.log', 0, 3),
          'a row with a NULL column verifies');

-- Hash input layout (doc/hash-format.md): prefix, seq, chain_at, prev
SELECT is(substring(audit_chain.canonical_row('tap_seal.log', 0, 3) FROM 1 FOR 15),
          convert_to('audit_chain/v1', 'UTF8') || '\x00'::bytea,
          'hash input starts with "audit_chain/v1" and a 0 byte');
SELECT is(substring(audit_chain.canonical_row('tap_seal.log', 0, 3) FROM 16 FOR 8),
          '\x0000000000000003'::bytea, 'then chain_seq as uint64 big-endian');
SELECT is(substring(audit_chain.canonical_row('tap_seal.log', 0, 3) FROM 24 FOR 8),
          (SELECT decode(lpad(to_hex((extract(epoch FROM chain_at) * 1000000)::bigint), 16, '0'), 'hex')
             FROM tap_seal.log WHERE id = 3),
          'then chain_at as int64 big-endian microseconds since 1970');
SELECT is(substring(audit_chain.canonical_row('tap_seal.log', 0, 3) FROM 32 FOR 32),
          (SELECT chain_prev FROM tap_seal.log WHERE id = 3), 'then chain_prev');
SELECT is(substring(audit_chain.canonical_row('tap_seal.log', 0, 3) FROM 64 FOR 4 + 2 + 32),
          '\x00000002'::bytea || convert_to('id', 'UTF8') || sha256(convert_to('3', 'UTF8')),
          'then the first column: uint32 name length, name, SHA-256 of its text');

-- A user BEFORE ROW trigger that sorts before the seal trigger runs first,
-- so the hash covers the final row
CREATE FUNCTION tap_seal.shout() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN NEW.who := upper(NEW.who); RETURN NEW; END$$;
CREATE TRIGGER aa_modify BEFORE INSERT ON tap_seal.log FOR EACH ROW EXECUTE FUNCTION tap_seal.shout();
INSERT INTO tap_seal.log (id, who, amount) VALUES (4, 'dave', 40);
SELECT is((SELECT who FROM tap_seal.log WHERE id = 4), 'DAVE', 'user trigger changed the row');
SELECT is((SELECT chain_hash FROM tap_seal.log WHERE id = 4), audit_chain.row_hash('tap_seal.log', 0, 4),
          'the hash covers the row as the user trigger left it');
DROP TRIGGER aa_modify ON tap_seal.log;

-- Multi-row INSERT, INSERT ... SELECT, dynamic SQL: gap-free
INSERT INTO tap_seal.log (id, who, amount) VALUES (5, 'e', 1), (6, 'f', 2), (7, 'g', 3);
INSERT INTO tap_seal.log (id, who, amount) SELECT g, 'bulk', g FROM generate_series(8, 107) g;
DO $$
BEGIN
    EXECUTE 'INSERT INTO tap_seal.log (id, who, amount) SELECT g, $1, g FROM generate_series(108, 157) g'
        USING 'dynamic';
    FOR i IN 158..160 LOOP
        INSERT INTO tap_seal.log (id, who, amount) VALUES (i, 'loop', i);
    END LOOP;
END
$$;
SELECT is((SELECT array_agg(chain_seq ORDER BY chain_seq) FROM tap_seal.log),
          (SELECT array_agg(g::bigint) FROM generate_series(1, 160) g),
          'multi-row INSERT, INSERT ... SELECT and plpgsql inserts: seqs 1..160, no gaps');
SELECT is((SELECT count(*)::int FROM tap_seal.log l JOIN tap_seal.log p ON p.chain_seq = l.chain_seq - 1
            WHERE l.chain_prev = p.chain_hash), 159, 'every row links to the one before');

-- A rolled-back savepoint leaves no hole
SAVEPOINT before_rollback;
INSERT INTO tap_seal.log (id, who, amount) SELECT g, 'undone', g FROM generate_series(161, 170) g;
ROLLBACK TO SAVEPOINT before_rollback;
INSERT INTO tap_seal.log (id, who, amount) VALUES (171, 'after rollback', 1);
SELECT is((SELECT chain_seq FROM tap_seal.log WHERE id = 171), 161::bigint,
          'after a rolled-back savepoint the next row takes the next free seq');
SELECT is((SELECT chain_prev FROM tap_seal.log WHERE id = 171),
          (SELECT chain_hash FROM tap_seal.log WHERE chain_seq = 160),
          'and links to the last surviving row');

-- An error inside a plpgsql exception block (an implicit savepoint)
DO $$
BEGIN
    BEGIN
        INSERT INTO tap_seal.log (id, who, amount) VALUES (172, 'doomed', 1);
        RAISE EXCEPTION 'abort the block';
    EXCEPTION WHEN raise_exception THEN
        NULL;
    END;
    INSERT INTO tap_seal.log (id, who, amount) VALUES (173, 'survivor', 1);
END
$$;
SELECT results_eq($$SELECT id, chain_seq FROM tap_seal.log WHERE id >= 172$$,
                  $$VALUES (173, 162::bigint)$$,
                  'an aborted subtransaction leaves no hole');

SELECT results_eq(
    $$SELECT lane, rows_checked, intact FROM audit_chain.verify_chain('tap_seal.log')$$,
    $$VALUES (0, 162::bigint, true)$$,
    'the whole table verifies');

-- UPDATE, DELETE, TRUNCATE are refused
SELECT throws_ok($$UPDATE tap_seal.log SET who = 'mallory' WHERE id = 1$$,
                 '0A000', 'cannot update rows of chained table "log"', 'UPDATE is refused');
SELECT throws_ok($$UPDATE tap_seal.log SET chain_seq = chain_seq$$,
                 '0A000', 'cannot update rows of chained table "log"', 'UPDATE of a chain column is refused');
SELECT throws_ok($$DELETE FROM tap_seal.log WHERE id = 1$$,
                 '0A000', 'cannot delete rows of chained table "log"', 'DELETE is refused');
SELECT throws_ok($$TRUNCATE tap_seal.log$$,
                 '0A000', 'cannot truncate chained table "log"', 'TRUNCATE is refused');
CREATE TABLE tap_seal.keyed (id int PRIMARY KEY, v text);
SELECT audit_chain.protect('tap_seal.keyed');
INSERT INTO tap_seal.keyed VALUES (1, 'a');
SELECT throws_ok($$INSERT INTO tap_seal.keyed VALUES (1, 'b') ON CONFLICT (id) DO UPDATE SET v = 'c'$$,
                 '0A000', 'cannot update rows of chained table "keyed"',
                 'INSERT ... ON CONFLICT DO UPDATE cannot update a sealed row');
SELECT throws_ok($$SELECT audit_chain.seal_row()$$, NULL, NULL,
                 'seal_row() cannot be called directly');
SELECT is((SELECT count(*)::int FROM tap_seal.log), 162, 'nothing was changed by the refused statements');

SELECT * FROM finish();
ROLLBACK;
