\set VERBOSITY terse
CREATE TABLE public.d (id int, who text, kind text, g int GENERATED ALWAYS AS (id + 1) STORED);
CREATE TYPE public.mood AS ENUM ('ok', 'bad');
SELECT audit_chain.protect('public.d');
INSERT INTO d (id, who) VALUES (1, 'a'), (2, 'b');

-- refused: DDL that would break verification
ALTER TABLE d DROP COLUMN who;
ALTER TABLE d ALTER COLUMN id TYPE bigint;
ALTER TABLE d RENAME COLUMN who TO actor;
ALTER TABLE d ALTER COLUMN g DROP EXPRESSION;
ALTER TABLE d DISABLE TRIGGER ALL;
ALTER TABLE d DISABLE TRIGGER USER;
ALTER TABLE d DISABLE TRIGGER zz_audit_chain_seal;
ALTER TABLE d ENABLE REPLICA TRIGGER zz_audit_chain_seal;
ALTER TABLE d ALTER COLUMN chain_hash DROP NOT NULL;
ALTER TABLE d ADD COLUMN flag boolean DEFAULT false;
ALTER TABLE d ADD COLUMN created timestamptz DEFAULT now();
ALTER TABLE d ADD COLUMN n int GENERATED ALWAYS AS IDENTITY;
ALTER TABLE d ADD COLUMN s serial;
ALTER TABLE d ADD COLUMN price money;
ALTER TABLE d SET UNLOGGED;
ALTER TRIGGER zz_audit_chain_seal ON d RENAME TO aa_seal;
DROP TRIGGER zz_audit_chain_seal ON d;
DROP TRIGGER zz_audit_chain_truncate ON d;
DROP INDEX d_chain_idx;
DROP TABLE d;
CREATE FUNCTION public.noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER zzz_late BEFORE INSERT ON d FOR EACH ROW EXECUTE FUNCTION public.noop();
DROP EXTENSION audit_chain CASCADE;
CREATE OR REPLACE TRIGGER zz_audit_chain_seal BEFORE INSERT ON d FOR EACH ROW EXECUTE FUNCTION public.noop();
CREATE TRIGGER aa_renamed BEFORE INSERT ON d FOR EACH ROW EXECUTE FUNCTION public.noop();
ALTER TRIGGER aa_renamed ON d RENAME TO zzzz_renamed;
DROP TRIGGER aa_renamed ON d;
CREATE DOMAIN public.five AS int DEFAULT 5;
ALTER TABLE d ADD COLUMN n public.five;
ALTER TABLE d ADD COLUMN n public.five DEFAULT NULL;
-- protect() refuses a table that already has a late BEFORE ROW trigger
CREATE TABLE public.d_late (x int);
CREATE TRIGGER zzzz_late BEFORE INSERT ON d_late FOR EACH ROW EXECUTE FUNCTION public.noop();
SELECT audit_chain.protect('public.d_late');
DROP TABLE public.d_late;
-- partitions: not dropped, not detached; new ones refuse TRUNCATE too
CREATE TABLE public.dp (k int, v text) PARTITION BY RANGE (k);
CREATE TABLE public.dp_1 PARTITION OF dp FOR VALUES FROM (0) TO (10);
SELECT audit_chain.protect('public.dp');
CREATE TABLE public.dp_2 PARTITION OF dp FOR VALUES FROM (10) TO (20);
INSERT INTO dp VALUES (1, 'a'), (11, 'b');
DROP TABLE dp_1;
ALTER TABLE dp DETACH PARTITION dp_2;
TRUNCATE dp_2;
TRUNCATE dp_1;
SELECT lane, rows_checked, intact FROM audit_chain.verify_chain('dp');
SELECT audit_chain.unprotect('public.dp');
DROP TABLE public.dp;
\set VERBOSITY default
ALTER TABLE d ADD COLUMN flag boolean DEFAULT false;
-- ways around: a parent, a rule, a type the table uses, the extension's tables
CREATE TABLE public.d_parent (id int, who text);
ALTER TABLE d INHERIT d_parent;
ALTER EVENT TRIGGER audit_chain_ddl_guard DISABLE;
ALTER TABLE d INHERIT d_parent;
ALTER EVENT TRIGGER audit_chain_ddl_guard ENABLE;
ALTER TABLE d_parent RENAME COLUMN who TO actor;
ALTER TABLE d NO INHERIT d_parent;
DROP TABLE public.d_parent;
CREATE RULE swallow AS ON INSERT TO d DO INSTEAD NOTHING;
CREATE TYPE public.dpair AS (a int, b text);
ALTER TABLE d ADD COLUMN pr public.dpair;
ALTER TYPE public.dpair ADD ATTRIBUTE c int;
CREATE TYPE public.dreg AS (r regclass);
ALTER TABLE d ADD COLUMN r public.dreg[];
ALTER TABLE audit_chain.events ADD COLUMN tenant text;
\set VERBOSITY terse

-- allowed: DDL that keeps old rows hashing the same
ALTER TABLE d ADD COLUMN flag boolean;
ALTER TABLE d ADD COLUMN note text DEFAULT NULL;
ALTER TABLE d ALTER COLUMN flag SET DEFAULT true;
ALTER TABLE d ADD COLUMN m public.mood;
ALTER TABLE d ADD COLUMN g2 int GENERATED ALWAYS AS (id * 3) STORED;
ALTER TABLE d RENAME TO d2;
ALTER TABLE d2 RENAME TO d;
CREATE TRIGGER aa_early BEFORE INSERT ON d FOR EACH ROW EXECUTE FUNCTION public.noop();
CREATE TRIGGER zzz_after AFTER INSERT ON d FOR EACH ROW EXECUTE FUNCTION public.noop();
CREATE INDEX d_who_idx ON d (who);
DROP INDEX d_who_idx;
ALTER TABLE d ALTER COLUMN who SET STATISTICS 500;
INSERT INTO d (id, who, m) VALUES (3, 'c', 'ok');
SELECT id, who, flag, note, m, chain_seq FROM d ORDER BY chain_seq;
SELECT lane, rows_checked, intact FROM audit_chain.verify_chain('d');

-- after unprotect() the table is an ordinary table again, and that is recorded
SELECT audit_chain.unprotect('d', 'schema migration');
SELECT action, tbl_name, lanes, jsonb_array_length(heads) AS lanes_recorded,
       (heads->0->>'seq')::int AS head_seq, reason
  FROM audit_chain.protection_log WHERE tbl_name = 'public.d' ORDER BY id;
SELECT count(*) AS chains_rows FROM audit_chain.chains WHERE tbl = 'd'::regclass;
UPDATE d SET who = 'changed' WHERE id = 1;
-- and rows can go in without chain values
INSERT INTO d (id) VALUES (4);
ALTER TABLE d DROP COLUMN who;
DROP TABLE d;
DROP FUNCTION public.noop();
DROP TYPE public.mood;
DROP DOMAIN public.five;
DROP TYPE public.dpair;
DROP TYPE public.dreg;
