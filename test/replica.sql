-- Logical replication to a central audit cluster (README): export_chain(),
-- protect_replica() and what each refuses, local writes refused on a replica
-- copy, rows applied as the apply worker applies them (triggers off) kept as
-- sealed and verified with the publisher's genesis and checkpoint, and the
-- publication guard.  The whole flow across clusters is
-- test/scenarios/logical_replication.sh; here one database plays both sides:
-- tap_rep.src is "the publisher's" table, unprotected after its export so
-- that its genesis is free for tap_rep.copy, "the subscriber's" copy.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

SELECT plan(63);

CREATE SCHEMA tap_rep;
CREATE ROLE tap_rep_owner;
CREATE ROLE tap_rep_other;
GRANT USAGE, CREATE ON SCHEMA tap_rep TO tap_rep_owner, tap_rep_other;
GRANT EXECUTE ON FUNCTION audit_chain.protect_replica(regclass, json),
                          audit_chain.export_chain(regclass) TO tap_rep_owner, tap_rep_other;

-- "The publisher": two lanes, rows in both, a checkpoint
CREATE TABLE tap_rep.src (id int, note text, amount numeric(12, 2));
SELECT audit_chain.protect('tap_rep.src', lanes => 2);
INSERT INTO tap_rep.src SELECT g, 'row ' || g, g * 1.5 FROM generate_series(1, 5) g;
SELECT audit_chain.checkpoint() AS cp \gset
SELECT audit_chain.export_checkpoint(:cp) AS doc \gset
SELECT audit_chain.export_chain('tap_rep.src') AS src_chain \gset
-- the same description, for a table named tap_rep.copy
SELECT jsonb_set(:'src_chain'::jsonb, '{table}', '"tap_rep.copy"')::text AS chain \gset

-- export_chain()
SELECT is((:'src_chain'::json ->> 'format'), 'audit_chain/chain-export/v1', 'export_chain(): format');
SELECT is((:'src_chain'::json ->> 'table'), 'tap_rep.src', 'export_chain(): table, schema-qualified');
SELECT is((SELECT json_agg(c ->> 'name' ORDER BY o)::text FROM json_array_elements(:'src_chain'::json -> 'columns') WITH ORDINALITY AS t(c, o)),
          '["id", "note", "amount"]', 'export_chain(): the hashed columns in order, not the chain columns');
SELECT is((:'src_chain'::json -> 'columns' -> 2 ->> 'type'), 'numeric(12,2)', 'export_chain(): types with their typmod');
SELECT is((SELECT string_agg(l ->> 'genesis', ',' ORDER BY (l ->> 'lane')::int) FROM json_array_elements(:'src_chain'::json -> 'lanes') l),
          (SELECT string_agg(encode(genesis, 'hex'), ',' ORDER BY lane) FROM audit_chain.chains WHERE tbl = 'tap_rep.src'::regclass),
          'export_chain(): each lane''s genesis, in lane order');
SELECT is(audit_chain.export_chain(NULL)::text, NULL, 'export_chain(NULL) is NULL');
CREATE TABLE tap_rep.plain (id int);
SELECT throws_ok($$SELECT audit_chain.export_chain('tap_rep.plain')$$, '55000',
                 'table "plain" is not a chained table', 'export_chain() of a table that is not chained');
SET SESSION AUTHORIZATION tap_rep_other;
SELECT throws_ok($$SELECT audit_chain.export_chain('tap_rep.src')$$, '42501',
                 'permission denied for table tap_rep.src', 'export_chain() needs SELECT on the table');
RESET SESSION AUTHORIZATION;

-- "The publisher" lets its lanes go (its rows stay), so that this database can
-- hold the copy of its chain
SELECT audit_chain.unprotect('tap_rep.src', 'test: the copy takes its lanes');

-- "The subscriber's" table: the publisher's columns, then the chain columns
CREATE TABLE tap_rep.copy (id int, note text, amount numeric(12, 2),
                           chain_lane smallint, chain_seq bigint, chain_at timestamptz,
                           chain_prev bytea, chain_hash bytea);
ALTER TABLE tap_rep.copy OWNER TO tap_rep_owner;

-- protect_replica(): bad arguments
SELECT throws_ok($$SELECT audit_chain.protect_replica(NULL, '{}')$$, '22004',
                 'table must not be NULL', 'protect_replica(): NULL table');
SELECT throws_ok($$SELECT audit_chain.protect_replica('tap_rep.copy', NULL)$$, '22004',
                 'chain description must not be NULL', 'protect_replica(): NULL description');
SELECT throws_ok($$SELECT audit_chain.protect_replica('tap_rep.copy', '[1]')$$, '22023',
                 'chain description is not an export of audit_chain.export_chain()', 'protect_replica(): not an object');
SELECT throws_ok(format($$SELECT audit_chain.protect_replica('tap_rep.copy', %L)$$,
                        jsonb_set(:'chain'::jsonb, '{format}', '"audit_chain/chain-export/v9"')),
                 '22023', 'chain description is not an export of audit_chain.export_chain()',
                 'protect_replica(): another format');
SELECT throws_ok(format($$SELECT audit_chain.protect_replica('tap_rep.copy', %L)$$,
                        :'chain'::jsonb - 'lanes'),
                 '22023', 'chain description is not an export of audit_chain.export_chain()',
                 'protect_replica(): no lanes');
SELECT throws_ok(format($$SELECT audit_chain.protect_replica('tap_rep.copy', %L)$$,
                        jsonb_set(:'chain'::jsonb, '{lanes}', '[]')),
                 '22023', 'chain description is not an export of audit_chain.export_chain()',
                 'protect_replica(): zero lanes');
SELECT throws_ok(format($$SELECT audit_chain.protect_replica('tap_rep.copy', %L)$$,
                        jsonb_set(:'chain'::jsonb, '{lanes,1,lane}', '5')),
                 '22023', 'chain description is not an export of audit_chain.export_chain()',
                 'protect_replica(): lanes not numbered 0 to n-1');
SELECT throws_ok(format($$SELECT audit_chain.protect_replica('tap_rep.copy', %L)$$,
                        jsonb_set(:'chain'::jsonb, '{lanes,0,genesis}', '"00ff"')),
                 '22023', 'chain description is not an export of audit_chain.export_chain()',
                 'protect_replica(): a genesis that is not 32 bytes of hex');
SELECT throws_ok(format($$SELECT audit_chain.protect_replica('tap_rep.copy', %L)$$,
                        jsonb_set(:'chain'::jsonb, '{lanes,0,genesis}', to_jsonb(upper(:'chain'::json -> 'lanes' -> 0 ->> 'genesis')))),
                 '22023', 'chain description is not an export of audit_chain.export_chain()',
                 'protect_replica(): an upper-case genesis (not what export_chain() writes)');
SELECT throws_ok(format($$SELECT audit_chain.protect_replica('tap_rep.copy', %L)$$,
                        jsonb_set(:'chain'::jsonb, '{lanes,1,archived_seq}', '3')),
                 '0A000', 'cannot make a replica of lane 1 of table tap_rep.copy, whose rows through chain_seq 3 were archived on the publisher',
                 'protect_replica(): a lane archived on the publisher');
SELECT throws_ok($$SELECT audit_chain.protect_replica('tap_rep.copy', $$ || quote_literal(:'src_chain') || ')',
                 '22023', 'chain description is of table tap_rep.src, not of tap_rep.copy',
                 'protect_replica(): the description of another table');
SELECT throws_ok(format($$SELECT audit_chain.protect_replica('tap_rep.copy', %L)$$,
                        jsonb_set(:'chain'::jsonb, '{columns,2,type}', '"numeric"')),
                 '42P16', 'the columns of table "tap_rep.copy" are not those of the publisher''s table',
                 'protect_replica(): a column of another type (numeric, not numeric(12,2))');
SELECT throws_ok(format($$SELECT audit_chain.protect_replica('tap_rep.copy', %L)$$,
                        jsonb_set(:'chain'::jsonb, '{columns}', (:'chain'::jsonb -> 'columns') - 1)),
                 '42P16', 'the columns of table "tap_rep.copy" are not those of the publisher''s table',
                 'protect_replica(): a column the publisher lacks');
SELECT throws_ok(format($$SELECT audit_chain.protect_replica('tap_rep.copy', %L)$$,
                        jsonb_set(:'chain'::jsonb, '{columns}', (:'chain'::jsonb -> 'columns') || '[{"name": "extra", "type": "text"}]')),
                 '42P16', 'the columns of table "tap_rep.copy" are not those of the publisher''s table',
                 'protect_replica(): a column this table lacks');

-- protect_replica(): tables it refuses
SELECT throws_ok($$SELECT audit_chain.protect_replica('tap_rep.plain', $$ || quote_literal(jsonb_set(:'chain'::jsonb, '{table}', '"tap_rep.plain"')) || ')',
                 '42703', 'chained table "plain" has no column "chain_lane"',
                 'protect_replica(): a table without the chain columns');
CREATE TABLE tap_rep.badtype (id int, note text, amount numeric(12, 2),
                              chain_lane int, chain_seq bigint, chain_at timestamptz,
                              chain_prev bytea, chain_hash bytea);
SELECT throws_ok($$SELECT audit_chain.protect_replica('tap_rep.badtype', $$ || quote_literal(jsonb_set(:'chain'::jsonb, '{table}', '"tap_rep.badtype"')) || ')',
                 '42804', 'column "chain_lane" of chained table "badtype" has type integer, not smallint',
                 'protect_replica(): a chain column of the wrong type');
CREATE TEMP TABLE tmp_copy (LIKE tap_rep.copy);
SELECT throws_ok($$SELECT audit_chain.protect_replica('tmp_copy', '{}')$$,
                 '0A000', NULL, 'protect_replica(): a temporary table');
SELECT throws_ok($$SELECT audit_chain.protect_replica('pg_class', '{}')$$,
                 '42501', 'cannot make "pg_catalog.pg_class", which is in schema pg_catalog, a replica copy',
                 'protect_replica(): a catalog');
SET SESSION AUTHORIZATION tap_rep_other;
SELECT throws_ok($$SELECT audit_chain.protect_replica('tap_rep.copy', $$ || quote_literal(:'chain') || ')',
                 '42501', 'must be owner of table tap_rep.copy', 'protect_replica(): a table the caller does not own');
RESET SESSION AUTHORIZATION;
-- a genesis that names a lane here already: the chain would have two copies
CREATE TABLE tap_rep.local (id int, note text, amount numeric(12, 2));
SELECT audit_chain.protect('tap_rep.local');
SELECT throws_ok(format($$SELECT audit_chain.protect_replica('tap_rep.copy', %L)$$,
                        jsonb_set(:'chain'::jsonb, '{lanes,1,genesis}',
                                  to_jsonb((SELECT encode(genesis, 'hex') FROM audit_chain.chains WHERE tbl = 'tap_rep.local'::regclass)))),
                 '42710', 'lane 1 of the publisher''s table tap_rep.copy is registered already, as lane 0 of table tap_rep.local',
                 'protect_replica(): a genesis registered already');
SELECT is((SELECT count(*)::int FROM audit_chain.chains WHERE tbl = 'tap_rep.copy'::regclass), 0,
          'the refusals registered nothing');

-- protect_replica() by the table's owner
SET SESSION AUTHORIZATION tap_rep_owner;
SELECT lives_ok($$SELECT audit_chain.protect_replica('tap_rep.copy', $$ || quote_literal(:'chain') || ')',
                'protect_replica() by the owner of the table');
RESET SESSION AUTHORIZATION;
SELECT is((SELECT string_agg(lane || ' ' || encode(genesis, 'hex') || ' ' || replica_of, ',' ORDER BY lane)
             FROM audit_chain.chains WHERE tbl = 'tap_rep.copy'::regclass),
          (SELECT string_agg((l ->> 'lane') || ' ' || (l ->> 'genesis') || ' ' || current_database()::text || ' tap_rep.copy', ',')
             FROM json_array_elements(:'chain'::json -> 'lanes') l),
          'the lanes are registered with the publisher''s genesis, replica_of names the publisher');
SELECT is((SELECT action || ': ' || reason FROM audit_chain.protection_log WHERE relid = 'tap_rep.copy'::regclass),
          'protect_replica: replica of ' || current_database()::text || ' tap_rep.copy', 'recorded in protection_log');
SELECT has_trigger('tap_rep', 'copy', 'zz_audit_chain_seal', 'the seal trigger is on the copy');
SELECT has_trigger('tap_rep', 'copy', 'zz_audit_chain_truncate', 'the TRUNCATE trigger is on the copy');
SELECT has_index('tap_rep', 'copy', 'copy_chain_idx', ARRAY['chain_lane', 'chain_seq'], 'the chain index is made');
SELECT col_not_null('tap_rep', 'copy', 'chain_hash', 'the chain columns are NOT NULL');
SELECT throws_ok($$SELECT audit_chain.protect_replica('tap_rep.copy', $$ || quote_literal(:'chain') || ')',
                 '42710', 'table "tap_rep.copy" is already protected', 'protect_replica() twice');
SELECT throws_ok($$SELECT audit_chain.protect('tap_rep.copy')$$,
                 '42710', 'table "tap_rep.copy" is already protected', 'protect() of a replica copy');

-- rows applied as the apply worker applies them (session_replication_role =
-- replica: the seal trigger does not fire): kept exactly as sealed
SET LOCAL session_replication_role = replica;
INSERT INTO tap_rep.copy SELECT id, note, amount, chain_lane, chain_seq, chain_at, chain_prev, chain_hash FROM tap_rep.src;
RESET session_replication_role;
SELECT set_eq($$SELECT chain_lane, chain_seq, chain_hash FROM tap_rep.copy$$,
              $$SELECT chain_lane, chain_seq, chain_hash FROM tap_rep.src$$,
              'applied rows are stored as sealed on the publisher');
SELECT is((SELECT bool_and(intact) FROM audit_chain.verify_chain('tap_rep.copy')), true,
          'the copy verifies with the publisher''s genesis');
SELECT is((SELECT string_agg(coalesce(lane::text, 'cp') || '/' || intact, ' ' ORDER BY lane NULLS LAST)
             FROM audit_chain.verify_chain('tap_rep.copy', false, :'doc')),
          '0/true 1/true cp/true', 'the copy verifies against the publisher''s published checkpoint');

-- local writes are refused, to the owner and to a superuser
SET SESSION AUTHORIZATION tap_rep_owner;
SELECT throws_ok($$INSERT INTO tap_rep.copy (id, note) VALUES (99, 'local')$$, '0A000',
                 'cannot insert into table "copy", which is a replica copy of a chained table',
                 'a local INSERT into a replica copy is refused');
SELECT throws_ok($$UPDATE tap_rep.copy SET note = 'changed' WHERE id = 1$$, '0A000',
                 'cannot update table "copy", which is a replica copy of a chained table',
                 'a local UPDATE of a replica copy is refused');
SELECT throws_ok($$DELETE FROM tap_rep.copy WHERE id = 1$$, '0A000',
                 'cannot delete from table "copy", which is a replica copy of a chained table',
                 'a local DELETE from a replica copy is refused');
SELECT throws_ok($$TRUNCATE tap_rep.copy$$, '0A000', 'cannot truncate chained table "copy"',
                 'TRUNCATE of a replica copy is refused');
SELECT throws_ok($$SET session_replication_role = replica$$, '42501', NULL,
                 'the owner cannot switch the seal trigger off');
RESET SESSION AUTHORIZATION;
SELECT throws_ok($$INSERT INTO tap_rep.copy (id, note) VALUES (99, 'local')$$, '0A000',
                 'cannot insert into table "copy", which is a replica copy of a chained table',
                 'a superuser''s local INSERT is refused too');
SELECT is((SELECT count(*)::int FROM tap_rep.copy), 5, 'the copy holds the publisher''s rows only');

-- a row changed behind the trigger's back (a superuser, triggers off) is caught
SAVEPOINT tamper;
SET LOCAL session_replication_role = replica;
UPDATE tap_rep.copy SET amount = 1000 WHERE id = 3;
RESET session_replication_role;
SELECT is((SELECT bool_and(intact) FROM audit_chain.verify_chain('tap_rep.copy')), false,
          'a changed row of the copy is caught');
ROLLBACK TO SAVEPOINT tamper;

-- erasure on the central copy: redact() works there as on any chained table
SELECT lives_ok((SELECT format($$SELECT audit_chain.redact('tap_rep.copy', %s, %s, ARRAY['note'], 'erasure request on the central copy')$$,
                               chain_lane, chain_seq)
                    FROM tap_rep.copy ORDER BY chain_lane, chain_seq LIMIT 1),
                'redact() on a replica copy');
SELECT is((SELECT string_agg(coalesce(lane::text, 'cp') || '/' || intact, ' ' ORDER BY lane NULLS LAST)
             FROM audit_chain.verify_chain('tap_rep.copy', false, :'doc')),
          '0/true 1/true cp/true', 'the redacted copy still verifies, against the publisher''s checkpoint too');

-- the publication guard (wal_level need not be logical to make publications)
SET LOCAL client_min_messages = error;
SELECT throws_ok($$CREATE PUBLICATION tap_rep_all FOR ALL TABLES WITH (publish = 'insert')$$, '0A000',
                 'cannot publish all tables of a database with audit_chain',
                 'FOR ALL TABLES is refused: it would publish audit_chain.events');
SELECT throws_ok($$CREATE PUBLICATION tap_rep_ev FOR TABLE audit_chain.events WITH (publish = 'insert')$$, '0A000',
                 'cannot publish audit_chain.events, which belongs to audit_chain', 'publishing audit_chain.events is refused');
SELECT throws_ok($$CREATE PUBLICATION tap_rep_p FOR TABLE tap_rep.local$$, '0A000',
                 'cannot publish chained table tap_rep.local with UPDATE, DELETE, TRUNCATE replicated',
                 'publishing a chained table with UPDATE, DELETE and TRUNCATE is refused');
SELECT lives_ok($$CREATE PUBLICATION tap_rep_p FOR TABLE tap_rep.local, tap_rep.plain WITH (publish = 'insert')$$,
                'publishing a chained table''s inserts is accepted');
SELECT throws_ok($$ALTER PUBLICATION tap_rep_p SET (publish = 'insert, delete')$$, '0A000',
                 'cannot publish chained table tap_rep.local with DELETE replicated',
                 'ALTER PUBLICATION ... SET (publish) with DELETE is refused');
SELECT throws_ok($$ALTER PUBLICATION tap_rep_p ADD TABLE audit_chain.boundaries$$, '0A000',
                 'cannot publish audit_chain.boundaries, which belongs to audit_chain',
                 'ALTER PUBLICATION ... ADD TABLE of an extension table is refused');
SELECT lives_ok($$CREATE PUBLICATION tap_rep_plain FOR TABLE tap_rep.plain$$,
                'a table that is not chained is published as usual');
SELECT throws_ok($$ALTER PUBLICATION tap_rep_p ADD TABLES IN SCHEMA audit_chain$$, '0A000', NULL,
                 'ALTER PUBLICATION ... ADD TABLES IN SCHEMA audit_chain is refused');
CREATE TABLE tap_rep.parts (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE tap_rep.parts_2026 PARTITION OF tap_rep.parts FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
SELECT audit_chain.protect('tap_rep.parts');
SELECT throws_ok($$CREATE PUBLICATION tap_rep_parts FOR TABLE tap_rep.parts WITH (publish = 'insert, delete')$$, '0A000',
                 'cannot publish chained table tap_rep.parts_2026 with DELETE replicated',
                 'a partitioned chained table published with DELETE is refused (its partitions are what is published)');
-- a table in a publication of its schema before it is chained: protect() refuses it
CREATE SCHEMA tap_rep_pub;
CREATE PUBLICATION tap_rep_sch FOR TABLES IN SCHEMA tap_rep_pub;
CREATE TABLE tap_rep_pub.later (id int);
SELECT throws_ok($$SELECT audit_chain.protect('tap_rep_pub.later')$$, '0A000',
                 'cannot protect "tap_rep_pub.later", which publication tap_rep_sch replicates with UPDATE, DELETE or TRUNCATE',
                 'protect() of a table that a publication replicates with UPDATE, DELETE or TRUNCATE');
ALTER PUBLICATION tap_rep_sch SET (publish = 'insert');
SELECT lives_ok($$SELECT audit_chain.protect('tap_rep_pub.later')$$,
                'protect() of a table whose publication replicates inserts only');
SELECT throws_ok($$SELECT audit_chain.unprotect('tap_rep_pub.later')$$, '55000',
                 'cannot unprotect "tap_rep_pub.later", which publication tap_rep_sch publishes',
                 'unprotect() of a published table (the copy would receive unsealed rows)');

SELECT * FROM finish();
ROLLBACK;
