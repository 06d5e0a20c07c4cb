-- Attack: replica copies (protect_replica(), README "Logical replication to a
-- central audit cluster").  An attacker who owns a table on the central
-- cluster tries to claim another chain's lanes with a forged description, to
-- write rows into a copy (sealed ones copied from elsewhere too), to switch
-- the refusal off, or to unmark the copy; and tries the same on a copy that
-- is not theirs.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

SELECT plan(13);

CREATE ROLE sec_rep_victim NOLOGIN;
CREATE ROLE sec_rep_attacker NOLOGIN;
CREATE SCHEMA sec_rep;
GRANT USAGE, CREATE ON SCHEMA sec_rep TO sec_rep_victim, sec_rep_attacker;
GRANT EXECUTE ON FUNCTION audit_chain.protect(regclass, integer),
    audit_chain.unprotect(regclass, text), audit_chain.export_chain(regclass),
    audit_chain.protect_replica(regclass, json) TO sec_rep_victim, sec_rep_attacker;

-- the victim's chained table, with rows
SET SESSION AUTHORIZATION sec_rep_victim;
CREATE TABLE sec_rep.ledger (id int, note text);
SELECT audit_chain.protect('sec_rep.ledger');
INSERT INTO sec_rep.ledger VALUES (1, 'one'), (2, 'two');
SELECT audit_chain.export_chain('sec_rep.ledger') AS victim_chain \gset
RESET SESSION AUTHORIZATION;

-- the attacker's table, shaped like a copy
SET SESSION AUTHORIZATION sec_rep_attacker;
CREATE TABLE sec_rep.mine (id int, note text, chain_lane smallint, chain_seq bigint,
                           chain_at timestamptz, chain_prev bytea, chain_hash bytea);
SELECT throws_ok(format($$SELECT audit_chain.protect_replica('sec_rep.mine', %L)$$,
                        jsonb_set(:'victim_chain'::jsonb, '{table}', '"sec_rep.mine"')),
                 '42710', 'lane 0 of the publisher''s table sec_rep.mine is registered already, as lane 0 of table sec_rep.ledger',
                 'a forged description cannot claim the genesis of a lane registered here');
SELECT throws_ok(format($$SELECT audit_chain.protect_replica('sec_rep.mine', %L)$$,
                        jsonb_set(jsonb_set(:'victim_chain'::jsonb, '{table}', '"sec_rep.mine"'), '{lanes}',
                                  (SELECT jsonb_agg(jsonb_build_object('lane', g, 'genesis', repeat('ab', 32),
                                                                       'archived_seq', 0, 'purged_seq', 0))
                                     FROM generate_series(0, 64) g))),
                 '22023', 'chain description is not an export of audit_chain.export_chain()',
                 'nor register 65 lanes');
SELECT throws_ok(format($$SELECT audit_chain.protect_replica('sec_rep.ledger', %L)$$, :'victim_chain'),
                 '42501', 'must be owner of table sec_rep.ledger',
                 'nor register someone else''s table');
-- a legitimate copy of the attacker's own (a description from "elsewhere")
SELECT lives_ok(format($$SELECT audit_chain.protect_replica('sec_rep.mine', %L)$$,
                       jsonb_set(jsonb_set(:'victim_chain'::jsonb, '{table}', '"sec_rep.mine"'),
                                 '{lanes,0,genesis}', to_jsonb(repeat('cd', 32)))),
                'the attacker registers a copy of their own');
SELECT throws_ok($$INSERT INTO sec_rep.mine (id, note) VALUES (3, 'forged')$$, '0A000',
                 'cannot insert into table "mine", which is a replica copy of a chained table',
                 'the owner of a copy cannot write rows into it');
SELECT throws_ok($$SET session_replication_role = replica$$, '42501', NULL,
                 'nor act as the apply worker (session_replication_role is for superusers)');
SELECT throws_ok($$ALTER TABLE sec_rep.mine DISABLE TRIGGER zz_audit_chain_seal$$, '55000',
                 'cannot disable a chain trigger of chained table "mine"',
                 'nor disable the seal trigger');
SELECT throws_ok($$ALTER TABLE sec_rep.mine ENABLE REPLICA TRIGGER zz_audit_chain_seal$$, '55000',
                 'cannot disable a chain trigger of chained table "mine"',
                 'nor make it fire for the apply worker only');
SELECT throws_ok($$DROP TRIGGER zz_audit_chain_seal ON sec_rep.mine$$, '55000',
                 'cannot drop trigger zz_audit_chain_seal on sec_rep.mine, which belongs to a chained table',
                 'nor drop it');
SELECT throws_ok($$UPDATE audit_chain.chains SET replica_of = NULL WHERE tbl = 'sec_rep.mine'::regclass$$,
                 '42501', 'permission denied for table chains',
                 'nor unmark the copy in the registry');
RESET SESSION AUTHORIZATION;

-- rows sealed elsewhere, copied in by a superuser with triggers on: the
-- copy refuses them (a restore by a superuser of valid rows is the one
-- exception, as on any chained table)
SELECT throws_ok($$INSERT INTO sec_rep.mine SELECT id, note, chain_lane, chain_seq + 10, chain_at, chain_prev, chain_hash FROM sec_rep.ledger$$,
                 '0A000', 'cannot insert into table "mine", which is a replica copy of a chained table',
                 'rows that do not recompute are refused even to a superuser');
SELECT is((SELECT count(*)::int FROM sec_rep.mine), 0, 'the copy is still empty');
SELECT is((SELECT count(*)::int FROM sec_rep.ledger), 2, 'the victim''s table is untouched');

SELECT * FROM finish();
ROLLBACK;
