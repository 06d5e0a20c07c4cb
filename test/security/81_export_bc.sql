-- Issue 10, item 8 (half): export_jsonl() writes every timestamp in ISO 8601.
--
-- to_jsonb() writes a timestamptz before year 1 as "0044-03-15T12:00:00+00:00
-- BC", which no ISO 8601 reader takes.  export_jsonl() writes such times with
-- astronomical year numbering (1 BC is year 0000, 44 BC is -0043), leaves
-- times from year 1 on as they were, and does not touch text that merely
-- ends in " BC".
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

SELECT plan(4);

INSERT INTO audit_chain.events (event_type, action, resource, occurred_at) VALUES
    ('admin', 'ides of March, 44 BC', 'sec_bc', '0044-03-15 12:00:00+00 BC'),
    ('admin', 'last moment of 1 BC', 'sec_bc', '0001-12-31 23:59:59.5+00 BC'),
    ('admin', 'earliest', 'sec_bc', '4713-01-01 00:00:00+00 BC'),
    ('admin', 'first moment of AD 1', 'sec_bc', '0001-01-01 00:00:00+00'),
    ('admin', 'recent', 'sec_bc', '2026-01-08 14:20:00.25+00');
CREATE TEMP VIEW sec_bc_export AS
    SELECT l FROM audit_chain.export_jsonl('-infinity') AS l WHERE l::jsonb ->> 'resource' = 'sec_bc';

SELECT results_eq(
    $$SELECT l::jsonb ->> 'action', l::jsonb ->> 'occurred_at'
        FROM sec_bc_export ORDER BY (l::jsonb ->> 'chain_seq')::bigint$$,
    $$VALUES ('ides of March, 44 BC', '-0043-03-15T12:00:00+00:00'),
             ('last moment of 1 BC', '0000-12-31T23:59:59.5+00:00'),
             ('earliest', '-4712-01-01T00:00:00+00:00'),
             ('first moment of AD 1', '0001-01-01T00:00:00+00:00'),
             ('recent', '2026-01-08T14:20:00.25+00:00')$$,
    'BC times are exported in ISO 8601 (astronomical years), AD times as before, text ending in BC untouched');
SELECT is((SELECT count(*)::int FROM sec_bc_export
            WHERE l::jsonb ->> 'occurred_at' LIKE '% BC' OR l::jsonb ->> 'chain_at' LIKE '% BC'),
          0, 'no exported time ends in " BC"');
SELECT is((SELECT count(*)::int FROM sec_bc_export
            WHERE (l::jsonb ->> 'occurred_at') !~ '^-?[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?[+-][0-9]{2}:[0-9]{2}$'),
          0, 'every occurred_at has the ISO 8601 form');
SELECT is((SELECT count(*)::int FROM sec_bc_export
            WHERE (l::jsonb ->> 'chain_at') = to_jsonb((SELECT chain_at FROM audit_chain.events e
                                                         WHERE e.event_id = (l::jsonb ->> 'event_id')::uuid)) #>> '{}'),
          5, 'chain_at (a server time) is exported as to_jsonb() writes it');

SELECT * FROM finish();
ROLLBACK;
