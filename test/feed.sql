-- export_events() at the archive and purge boundaries, and the shipper's
-- grants: a cursor on an event that was archived since is checked against
-- the archive table (or the boundary's hash) and the feed goes on from the
-- archive table, in seq order, without a hole or a repeat; a shipper that
-- may not read the archive table gets an error, not a skip; a cursor behind
-- the purge boundary is an error (22023) naming the lost range, and a new
-- feed (NULL) starts at the oldest event kept.  The purge is simulated by
-- moving the boundary in audit_chain.chains (the rows stay; this file
-- rolls back).
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;
SELECT plan(14);

-- the shipper of the README
CREATE ROLE tap_shipper;
GRANT EXECUTE ON FUNCTION audit_chain.export_events(text, integer, text) TO tap_shipper;
GRANT SELECT ON audit_chain.events, audit_chain.chains, audit_chain.archives TO tap_shipper;

-- everything so far, then six events in this backend's lane
CREATE TEMP TABLE c AS
SELECT (SELECT x.next_cursor FROM audit_chain.export_events(NULL, 1000000) WITH ORDINALITY x(l, next_cursor, i)
         ORDER BY i DESC LIMIT 1) AS c0;
GRANT SELECT ON c TO tap_shipper;
SELECT count(audit_chain.log_event('data_access', 'read', resource => 'tap-feed-' || g))
  FROM generate_series(1, 6) g \g /dev/null
CREATE TEMP TABLE got AS
SELECT x.i, x.line::jsonb AS j, x.next_cursor FROM audit_chain.export_events((SELECT c0 FROM c)) WITH ORDINALITY x(line, next_cursor, i)
 WHERE x.line::jsonb #>> '{audit_chain,resource}' LIKE 'tap-feed-%';
SELECT is((SELECT count(*)::int FROM got), 6, 'six new events');
SELECT (j #>> '{audit_chain,lane}')::int AS lane, (j #>> '{audit_chain,seq}')::bigint AS s1
  FROM got WHERE i = (SELECT min(i) FROM got) \gset
GRANT SELECT ON got TO tap_shipper;

-- archive this transaction's events (one transaction, as CALL inside a
-- block is); the cursor after the second event now names an archived one
SELECT pg_sleep(0.01);
CALL audit_chain.archive('audit_chain.events', '1 millisecond');
SELECT ok((SELECT archived_seq FROM audit_chain.chains
            WHERE tbl = 'audit_chain.events'::regclass AND lane = :lane) >= :s1 + 5, 'the six were archived');

SET LOCAL SESSION AUTHORIZATION tap_shipper;
SELECT throws_ok(format('SELECT * FROM audit_chain.export_events(%L)', (SELECT next_cursor FROM got WHERE j #>> '{audit_chain,seq}' = (:s1 + 1)::text)),
                 '42501', NULL, 'a shipper that may not read the archive table: an error, not a skip');
RESET SESSION AUTHORIZATION;
GRANT USAGE ON SCHEMA audit_chain_archive TO tap_shipper;
GRANT SELECT ON audit_chain_archive.events TO tap_shipper;
SET LOCAL SESSION AUTHORIZATION tap_shipper;
SELECT results_eq(
    format($$SELECT x.line::jsonb #>> '{audit_chain,resource}' FROM audit_chain.export_events(%L) x
              WHERE x.line::jsonb #>> '{audit_chain,resource}' LIKE 'tap-feed-%%'$$,
           (SELECT next_cursor FROM got WHERE j #>> '{audit_chain,seq}' = (:s1 + 1)::text)),
    $$VALUES ('tap-feed-3'), ('tap-feed-4'), ('tap-feed-5'), ('tap-feed-6')$$,
    'from a cursor on an archived event: the rest, from the archive table, in order');
SELECT results_eq(
    format($$SELECT x.line FROM audit_chain.export_events(%L, 100, 'raw') x$$,
           (SELECT next_cursor FROM got WHERE j #>> '{audit_chain,seq}' = (:s1 + 1)::text)),
    format($$SELECT x.line FROM audit_chain.export_events(%L, 100, 'raw') x OFFSET 0$$,
           (SELECT next_cursor FROM got WHERE j #>> '{audit_chain,seq}' = (:s1 + 1)::text)),
    'the same lines again: stable');
SELECT is((SELECT count(*)::int FROM audit_chain.export_events((SELECT next_cursor FROM got WHERE i = (SELECT max(i) FROM got))) x
            WHERE x.line::jsonb #>> '{audit_chain,resource}' LIKE 'tap-feed-%'), 0,
          'from the cursor after the last (at the archive boundary): nothing of them again');
SELECT throws_ok(format('SELECT * FROM audit_chain.export_events(%L)',
                        replace((SELECT next_cursor FROM got WHERE j #>> '{audit_chain,seq}' = (:s1 + 1)::text),
                                :'lane' || '.' || (:s1 + 1) || '.', :'lane' || '.' || (:s1 + 1) || '.x')),
                 '22023', NULL, 'an edited cursor: an error');
RESET SESSION AUTHORIZATION;

-- the purge: events through s1 + 3 are gone
UPDATE audit_chain.chains
   SET purged_seq = :s1 + 3,
       purged_hash = (SELECT chain_hash FROM audit_chain_archive.events WHERE chain_lane = :lane AND chain_seq = :s1 + 3)
 WHERE tbl = 'audit_chain.events'::regclass AND lane = :lane;
SET LOCAL SESSION AUTHORIZATION tap_shipper;
SELECT throws_ok(format('SELECT * FROM audit_chain.export_events(%L)', (SELECT next_cursor FROM got WHERE j #>> '{audit_chain,seq}' = (:s1 + 1)::text)),
                 '22023', format('export cursor is behind the purge boundary of lane %s', :lane),
                 'a cursor behind the purge boundary: an error');
SELECT throws_ok(format('SELECT * FROM audit_chain.export_events(%L)',
                        'v1::' || left(encode(sha256(convert_to('audit_chain/v1 cursor ', 'UTF8')), 'hex'), 8)),
                 '22023', format('export cursor is behind the purge boundary of lane %s', :lane),
                 'a cursor that does not name the lane is at 0 of it: behind the purge boundary, an error');
SELECT lives_ok(format('SELECT * FROM audit_chain.export_events(%L)', (SELECT next_cursor FROM got WHERE j #>> '{audit_chain,seq}' = (:s1 + 3)::text)),
                'a cursor at the purge boundary: checked against the boundary''s hash');
SELECT results_eq(
    format($$SELECT x.line::jsonb #>> '{audit_chain,resource}' FROM audit_chain.export_events(%L) x
              WHERE x.line::jsonb #>> '{audit_chain,resource}' LIKE 'tap-feed-%%'$$,
           (SELECT next_cursor FROM got WHERE j #>> '{audit_chain,seq}' = (:s1 + 3)::text)),
    $$VALUES ('tap-feed-5'), ('tap-feed-6')$$,
    'and goes on after it');
SELECT results_eq(
    $$SELECT x.line::jsonb #>> '{audit_chain,resource}' FROM audit_chain.export_events(NULL, 1000000) x
       WHERE x.line::jsonb #>> '{audit_chain,resource}' LIKE 'tap-feed-%'$$,
    $$VALUES ('tap-feed-5'), ('tap-feed-6')$$,
    'a new feed starts at the oldest event kept');
RESET SESSION AUTHORIZATION;

-- a hole where there must be none (a row gone without a boundary): an error, not a skip
SELECT audit_chain.log_event('data_access', 'read', resource => 'tap-feed-7') \g /dev/null
UPDATE audit_chain.chains SET purged_seq = 0, purged_hash = NULL, archived_seq = :s1 + 4,
       archived_hash = (SELECT chain_hash FROM audit_chain_archive.events WHERE chain_lane = :lane AND chain_seq = :s1 + 4)
 WHERE tbl = 'audit_chain.events'::regclass AND lane = :lane;
SELECT throws_ok(format('SELECT * FROM audit_chain.export_events(%L)', (SELECT next_cursor FROM got WHERE j #>> '{audit_chain,seq}' = (:s1 + 4)::text)),
                 'XX001', format('lane %s of audit_chain.events has no event with seq %s', :lane, :s1 + 5),
                 'events missing behind a boundary: data_corrupted, not a skip');

SET LOCAL SESSION AUTHORIZATION tap_shipper;
SELECT throws_ok('SELECT * FROM audit_chain.export_events(NULL, 0)', '22023', NULL, 'bad max_events');
RESET SESSION AUTHORIZATION;

SELECT * FROM finish();
ROLLBACK;
