-- redact() and redact_subject(): the chain still verifies after a redaction
-- (ordinary, multi-lane and partitioned tables, full and incremental
-- verification, checkpoints), the kept digest is what an independent
-- verifier puts in the value's place (the hash recomputed in plain SQL),
-- and every way of undoing or faking a redaction is found: a deleted or
-- altered redaction record, a value written back.  redact_subject()'s
-- result and its event.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

SELECT plan(33);

CREATE SCHEMA tap_red;
CREATE TABLE tap_red.visits (id int, email text, dob date, note text);
SELECT audit_chain.protect('tap_red.visits', 2);
INSERT INTO tap_red.visits (id, email, dob, note)
SELECT i, 'p' || i || '@example.org', date '1980-01-01' + i, 'note ' || i
  FROM generate_series(1, 20) AS i;
CREATE TABLE tap_red.parted (id int, at date, email text) PARTITION BY RANGE (at);
CREATE TABLE tap_red.parted_a PARTITION OF tap_red.parted FOR VALUES FROM ('2020-01-01') TO ('2025-01-01');
CREATE TABLE tap_red.parted_b (email text, id int, at date);
ALTER TABLE tap_red.parted ATTACH PARTITION tap_red.parted_b FOR VALUES FROM ('2025-01-01') TO ('2030-01-01');
SELECT audit_chain.protect('tap_red.parted');
INSERT INTO tap_red.parted (id, at, email)
SELECT i, date '2023-06-01' + i * 100, 'q' || i || '@example.org' FROM generate_series(1, 10) AS i;

-- The objects
SELECT has_table('audit_chain', 'redactions', 'audit_chain.redactions exists');
SELECT col_is_pk('audit_chain', 'redactions', ARRAY['tbl', 'lane', 'seq', 'column_name'],
                 'one kept digest per table, lane, seq and column');
SELECT ok((SELECT extconfig @> ARRAY['audit_chain.redactions'::regclass::oid]
             FROM pg_extension WHERE extname = 'audit_chain'),
          'pg_dump keeps the redactions');
SELECT has_function('audit_chain', 'redact', ARRAY['regclass', 'integer', 'bigint', 'text[]', 'text']);
SELECT has_function('audit_chain', 'redact_subject', ARRAY['text', 'text']);

-- A checkpoint before, so that verification also compares with it
SELECT ok(audit_chain.checkpoint() > 0, 'a checkpoint of the heads');

-- Redact rows of both lanes of the multi-lane table
CREATE TEMP TABLE picked AS
SELECT chain_lane, chain_seq, id FROM tap_red.visits WHERE id IN (3, 4, 11, 20);
SELECT lives_ok($$SELECT audit_chain.redact('tap_red.visits', chain_lane, chain_seq, ARRAY['email', 'dob'], 'request 1')
                    FROM picked WHERE id IN (3, 11)$$, 'redact two rows');
SELECT lives_ok($$SELECT audit_chain.redact('tap_red.visits', chain_lane, chain_seq, ARRAY['note'], 'request 2')
                    FROM picked WHERE id IN (4, 20)$$, 'and two more, another column');
SELECT is((SELECT count(*)::int FROM tap_red.visits WHERE email IS NULL OR dob IS NULL OR note IS NULL), 4,
          'four rows have NULLs now');
SELECT is((SELECT count(*)::int FROM audit_chain.redactions WHERE tbl = 'tap_red.visits'::regclass), 6,
          'six kept digests');
SELECT is((SELECT bool_and(intact) FROM audit_chain.verify_chain('tap_red.visits')), true,
          'the table verifies after the redactions, with its checkpoint');
SELECT is((SELECT sum(rows_checked)::int FROM audit_chain.verify_chain('tap_red.visits')), 20,
          'every row was checked');
SELECT is((SELECT bool_and(audit_chain.row_hash('tap_red.visits', chain_lane, chain_seq) = chain_hash)
             FROM tap_red.visits), true, 'row_hash() of every row is its chain_hash');

-- An independent verifier: the hash of a redacted row in plain SQL, with the
-- kept digest from audit_chain.redactions in the column's place
CREATE FUNCTION pg_temp.term(name text, digest bytea) RETURNS bytea LANGUAGE sql AS $$
    SELECT CASE WHEN digest IS NULL THEN ''::bytea
                ELSE int4send(octet_length(convert_to(name, 'UTF8'))) || convert_to(name, 'UTF8') || digest END $$;
CREATE FUNCTION pg_temp.col(tbl regclass, lane int, seq bigint, name text, value text) RETURNS bytea
LANGUAGE sql AS $$
    SELECT pg_temp.term(name, coalesce(sha256(convert_to(value, 'UTF8')),
                                       (SELECT r.digest FROM audit_chain.redactions r
                                         WHERE r.tbl = col.tbl AND r.lane = col.lane AND r.seq = col.seq
                                           AND r.column_name = col.name))) $$;
SELECT is((SELECT bool_and(sha256(convert_to('audit_chain/v1', 'UTF8') || '\x00'::bytea
                                  || int8send(v.chain_seq)
                                  || int8send((extract(epoch FROM v.chain_at) * 1000000)::bigint)
                                  || v.chain_prev
                                  || pg_temp.col('tap_red.visits', v.chain_lane, v.chain_seq, 'id', v.id::text)
                                  || pg_temp.col('tap_red.visits', v.chain_lane, v.chain_seq, 'email', v.email)
                                  || pg_temp.col('tap_red.visits', v.chain_lane, v.chain_seq, 'dob', to_char(v.dob, 'YYYY-MM-DD'))
                                  || pg_temp.col('tap_red.visits', v.chain_lane, v.chain_seq, 'note', v.note))
                           = v.chain_hash)
             FROM tap_red.visits v), true,
          'every row hashes in plain SQL (doc/hash-format.md) with the kept digests in place of the NULLs');

-- Incremental verification after a redaction of an old row
SELECT ok((SELECT bool_and(intact) FROM audit_chain.verify_chain('tap_red.visits')), 'a verification to resume from');
INSERT INTO tap_red.visits (id, email) VALUES (21, 'p21@example.org');
SELECT lives_ok($$SELECT audit_chain.redact('tap_red.visits', chain_lane, chain_seq, ARRAY['email'], 'request 3')
                    FROM tap_red.visits WHERE id = 21$$, 'redact a new row');
SELECT is((SELECT bool_and(intact) FROM audit_chain.verify_chain('tap_red.visits', true)), true,
          'incremental verification is intact too');

-- The partitioned table (the sorted walk), with a partition whose columns
-- are in another order
SELECT lives_ok($$SELECT audit_chain.redact('tap_red.parted', 0, chain_seq, ARRAY['email'], 'request 4')
                    FROM tap_red.parted WHERE id IN (2, 9)$$, 'redact rows of two partitions');
SELECT is((SELECT count(*)::int FROM tap_red.parted WHERE email IS NULL), 2, 'their email is gone');
SELECT is((SELECT intact FROM audit_chain.verify_chain('tap_red.parted')), true,
          'the partitioned table verifies');

-- Undoing or faking a redaction, as a superuser behind the triggers' back:
-- verification finds each
SAVEPOINT tamper;
DELETE FROM audit_chain.redactions
 WHERE tbl = 'tap_red.visits'::regclass AND seq = (SELECT chain_seq FROM picked WHERE id = 11) AND column_name = 'dob';
SELECT is((SELECT count(*)::int FROM audit_chain.verify_chain('tap_red.visits') WHERE NOT intact), 1,
          'a deleted redaction record: the row no longer verifies');
ROLLBACK TO SAVEPOINT tamper;
UPDATE audit_chain.redactions SET digest = sha256('\x00'::bytea)
 WHERE tbl = 'tap_red.visits'::regclass AND seq = (SELECT chain_seq FROM picked WHERE id = 3) AND column_name = 'email';
SELECT is((SELECT first_bad_seq FROM audit_chain.verify_chain('tap_red.visits') WHERE NOT intact),
          (SELECT chain_seq FROM picked WHERE id = 3), 'an altered kept digest: found at its row');
ROLLBACK TO SAVEPOINT tamper;
SET LOCAL session_replication_role = replica;
UPDATE tap_red.visits SET email = 'p3@example.org' WHERE id = 3;
RESET session_replication_role;
SELECT matches((SELECT problem FROM audit_chain.verify_chain('tap_red.visits') WHERE NOT intact),
               '^column "email" of chain_seq [0-9]+ is recorded as redacted but holds a value',
               'the original value written back: found, though the row hashes as before');
ROLLBACK TO SAVEPOINT tamper;
SET LOCAL session_replication_role = replica;
UPDATE tap_red.parted SET email = 'other@example.org' WHERE id = 9;
RESET session_replication_role;
SELECT matches((SELECT problem FROM audit_chain.verify_chain('tap_red.parted') WHERE NOT intact),
               '^column "email" of chain_seq [0-9]+ is recorded as redacted but holds a value',
               'a value written back into a partition: found');
ROLLBACK TO SAVEPOINT tamper;
SELECT is((SELECT bool_and(intact) FROM audit_chain.verify_chain()), true, 'untouched, everything verifies');

-- redact_subject()
SET LOCAL audit_chain.actor = 'tap-subject';
SELECT FROM audit_chain.log_event('authentication', 'login', session_id => 'sess-1', user_agent => 'app/1');
SELECT FROM audit_chain.log_event('api_request', 'chat', data_subject => 'tap-subject', details => '{"n": 1}');
SET LOCAL audit_chain.actor = 'tap-clerk';
SELECT FROM audit_chain.log_event('disclosure', 'send record', data_subject => 'tap-subject',
                             consent_id => 'consent-1', disclosure_to => 'insurer', session_id => 'sess-2');
SELECT FROM audit_chain.log_event('data_access', 'read', data_subject => 'tap-other');
RESET audit_chain.actor;
CREATE TEMP TABLE erased AS
SELECT * FROM audit_chain.redact_subject('tap-subject', 'Art. 17 request 5');
SELECT is((SELECT array_agg(columns::text ORDER BY columns::text) FROM erased),
          ARRAY['{actor,data_subject,details}', '{actor,session_id,user_agent}', '{consent_id,data_subject}'],
          'redact_subject() returns each event and the columns it erased');
SELECT is((SELECT count(*)::int FROM erased e JOIN audit_chain.events v
             ON v.chain_lane = e.lane AND v.chain_seq = e.seq
            WHERE e.tbl = 'audit_chain.events'::regclass), 3, 'which are the events'' lanes and seqs');
SELECT is((SELECT count(*)::int FROM audit_chain.events
            WHERE 'tap-subject' IN (actor, data_subject)), 0, 'no event names the subject any more');
SELECT is((SELECT format('%s %s %s', actor, disclosure_to, session_id) FROM audit_chain.events
            WHERE action = 'send record'),
          'tap-clerk insurer sess-2', 'the clerk''s own data and the disclosure stay');
SELECT is((SELECT count(*)::int FROM audit_chain.events WHERE data_subject = 'tap-other'), 1,
          'another subject''s events are untouched');
SELECT is((SELECT bool_and(intact) FROM audit_chain.verify_chain('audit_chain.events')), true,
          'the events still verify');
SELECT is((SELECT count(*)::int FROM audit_chain.redact_subject('tap-subject', 'Art. 17 request 5')), 0,
          'a second call finds nothing');
SELECT is((SELECT count(*)::int FROM audit_chain.redactions
            WHERE tbl = 'audit_chain.events'::regclass AND reason = 'Art. 17 request 5'), 8,
          'eight kept digests, with the request''s reason');
-- (the admin events of redact() and redact_subject() are written at commit:
-- the regression test redact shows them)

SELECT * FROM finish();
ROLLBACK;
