-- Attack: redaction (redact(), redact_subject()).  A role that does not own
-- a table redacts its rows, or the data subjects of the events; an owner
-- whose triggers try to turn the redaction's permit into a change of the
-- row (another column set, or set to NULL, the row skipped, the row updated
-- again from an AFTER trigger); a chain column redacted; a redaction under
-- legal hold; the redaction records written directly; a tamperer who
-- deletes or alters a redaction record, or writes a redacted value back.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

SELECT plan(30);

CREATE ROLE sec_red_owner NOLOGIN;
CREATE ROLE sec_red_mallory NOLOGIN;
CREATE ROLE sec_red_nobody NOLOGIN;
CREATE SCHEMA sec_d AUTHORIZATION sec_red_owner;
GRANT USAGE ON SCHEMA sec_d TO PUBLIC;
-- what a DBA grants table owners (README, Security)
GRANT EXECUTE ON FUNCTION audit_chain.protect(regclass, integer),
    audit_chain.legal_hold(regclass, boolean, text),
    audit_chain.redact(regclass, integer, bigint, text[], text),
    audit_chain.redact_subject(text, text),
    audit_chain.verify_chain(regclass, boolean, json, text)
  TO sec_red_owner, sec_red_mallory;

SET SESSION AUTHORIZATION sec_red_owner;
CREATE TABLE sec_d.patients (id int, email text, dob date, note text);
SELECT audit_chain.protect('sec_d.patients');
INSERT INTO sec_d.patients (id, email, dob, note)
SELECT i, 'p' || i || '@example.org', date '1980-01-01' + i, 'note ' || i
  FROM generate_series(1, 12) AS i;
GRANT SELECT, INSERT, UPDATE, DELETE ON sec_d.patients TO sec_red_mallory;
RESET SESSION AUTHORIZATION;

-- Without EXECUTE
SET SESSION AUTHORIZATION sec_red_nobody;
SELECT throws_ok($$SELECT audit_chain.redact('sec_d.patients', 0, 1, ARRAY['email'], 'x')$$, '42501',
                 'permission denied for function redact', 'PUBLIC may not call redact()');
SELECT throws_ok($$SELECT * FROM audit_chain.redact_subject('p1@example.org', 'x')$$, '42501',
                 'permission denied for function redact_subject', 'nor redact_subject()');
SELECT throws_ok($$SELECT * FROM audit_chain.redactions$$, '42501',
                 'permission denied for table redactions', 'nor read the kept digests');
RESET SESSION AUTHORIZATION;

-- With EXECUTE, and every privilege on the table, but not its owner
SET SESSION AUTHORIZATION sec_red_mallory;
SELECT throws_ok($$SELECT audit_chain.redact('sec_d.patients', 0, 1, ARRAY['email'], 'erase it')$$, '42501',
                 'must be owner of table sec_d.patients', 'a non-owner cannot redact a row');
SELECT throws_ok($$SELECT * FROM audit_chain.redact_subject('p1@example.org', 'erase me')$$, '42501',
                 'must be owner of table audit_chain.events', 'nor redact a data subject''s events');
SELECT throws_ok($$UPDATE sec_d.patients SET email = NULL WHERE id = 1$$, '0A000',
                 'cannot update rows of chained table "patients"', 'nor set a column to NULL by hand');
SELECT throws_ok($$INSERT INTO audit_chain.redactions (tbl, lane, seq, column_name, digest, reason)
                   VALUES ('sec_d.patients', 0, 1, 'email', sha256('x'), 'forged')$$, '42501',
                 'permission denied for table redactions', 'nor forge a redaction record');
RESET SESSION AUTHORIZATION;

-- The owner: chain columns, and the legal hold
SET SESSION AUTHORIZATION sec_red_owner;
SELECT throws_ok($$SELECT audit_chain.redact('sec_d.patients', 0, 1, ARRAY['chain_hash'], 'x')$$, '42P10',
                 'cannot redact chain column "chain_hash"', 'no chain column: chain_hash');
SELECT throws_ok($$SELECT audit_chain.redact('sec_d.patients', 0, 1, ARRAY['email', 'chain_prev'], 'x')$$, '42P10',
                 'cannot redact chain column "chain_prev"', 'nor chain_prev beside a real column');
SELECT throws_ok($$SELECT audit_chain.redact('sec_d.patients', 0, 1, ARRAY['chain_at'], 'x')$$, '42P10',
                 'cannot redact chain column "chain_at"', 'nor chain_at');
SELECT audit_chain.legal_hold('sec_d.patients', true, 'case 12');
SELECT throws_ok($$SELECT audit_chain.redact('sec_d.patients', 0, 1, ARRAY['email'], 'x')$$, '55000',
                 'cannot redact rows of "sec_d.patients", which is under legal hold',
                 'no redaction under legal hold');
SELECT audit_chain.legal_hold('sec_d.patients', false, 'case 12 closed');
RESET SESSION AUTHORIZATION;
SELECT audit_chain.legal_hold('audit_chain.events', true, 'case 13');
SELECT throws_ok($$SELECT * FROM audit_chain.redact_subject('p1@example.org', 'x')$$, '55000',
                 'cannot redact rows of "audit_chain.events", which is under legal hold',
                 'nor of the events, even for a superuser');
SELECT audit_chain.legal_hold('audit_chain.events', false, 'case 13 closed');

-- The owner's triggers run during the redaction (as the owner): each tries
-- to make the permitted UPDATE into something else
SET SESSION AUTHORIZATION sec_red_owner;
CREATE FUNCTION sec_d.forge() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.note := 'forged'; RETURN NEW; END $$;
CREATE FUNCTION sec_d.null_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.note := NULL; RETURN NEW; END $$;
CREATE FUNCTION sec_d.skip() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RETURN NULL; END $$;
CREATE FUNCTION sec_d.again_value() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN UPDATE sec_d.patients SET note = 'forged' WHERE id = NEW.id; RETURN NULL; END $$;
CREATE FUNCTION sec_d.again_null() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN UPDATE sec_d.patients SET note = NULL WHERE id = NEW.id AND note IS NOT NULL; RETURN NULL; END $$;

-- a value written by a trigger that fires before the seal trigger
CREATE TRIGGER a_forge BEFORE UPDATE ON sec_d.patients FOR EACH ROW EXECUTE FUNCTION sec_d.forge();
SELECT throws_ok($$SELECT audit_chain.redact('sec_d.patients', 0, 1, ARRAY['email'], 'x')$$, '0A000',
                 'cannot update rows of chained table "patients"',
                 'a BEFORE trigger that writes a value: the seal trigger refuses the permit');
DROP TRIGGER a_forge ON sec_d.patients;
-- ... a trigger whose name sorts after the seal trigger's cannot be made
-- (the DDL guard); redact() would catch its change after the UPDATE anyway
SELECT throws_ok($$CREATE TRIGGER zzz_forge BEFORE UPDATE ON sec_d.patients
                   FOR EACH ROW EXECUTE FUNCTION sec_d.forge()$$, '55000',
                 'BEFORE ROW trigger "zzz_forge" on chained table "patients" would fire after the seal trigger',
                 'no BEFORE trigger that would fire after the seal trigger');
-- another column set to NULL, which the permit lets through
CREATE TRIGGER a_null_note BEFORE UPDATE ON sec_d.patients FOR EACH ROW EXECUTE FUNCTION sec_d.null_note();
SELECT throws_ok($$SELECT audit_chain.redact('sec_d.patients', 0, 3, ARRAY['email'], 'x')$$, '27000',
                 'a trigger changed chain_seq 3 of lane 0 of table "sec_d.patients" beyond the redaction',
                 'a BEFORE trigger that erases another column too: caught');
DROP TRIGGER a_null_note ON sec_d.patients;
-- the row skipped: nothing erased, but a redaction would be recorded
CREATE TRIGGER a_skip BEFORE UPDATE ON sec_d.patients FOR EACH ROW EXECUTE FUNCTION sec_d.skip();
SELECT throws_ok($$SELECT audit_chain.redact('sec_d.patients', 0, 4, ARRAY['email'], 'x')$$, '27000',
                 'chain_seq 4 of lane 0 of table "sec_d.patients" was not redacted',
                 'a BEFORE trigger that skips the row: caught');
DROP TRIGGER a_skip ON sec_d.patients;
-- the row updated again from an AFTER trigger, inside the permit
CREATE TRIGGER a_again_value AFTER UPDATE ON sec_d.patients FOR EACH ROW EXECUTE FUNCTION sec_d.again_value();
SELECT throws_ok($$SELECT audit_chain.redact('sec_d.patients', 0, 5, ARRAY['email'], 'x')$$, '0A000',
                 'cannot update rows of chained table "patients"',
                 'an AFTER trigger that uses the permit to write a value: refused');
DROP TRIGGER a_again_value ON sec_d.patients;
CREATE TRIGGER a_again_null AFTER UPDATE ON sec_d.patients FOR EACH ROW EXECUTE FUNCTION sec_d.again_null();
SELECT throws_ok($$SELECT audit_chain.redact('sec_d.patients', 0, 6, ARRAY['email'], 'x')$$, '27000',
                 'a trigger changed chain_seq 6 of lane 0 of table "sec_d.patients" beyond the redaction',
                 'an AFTER trigger that uses the permit to erase another column: caught');
DROP TRIGGER a_again_null ON sec_d.patients;
SELECT is((SELECT count(*)::int FROM sec_d.patients WHERE email IS NULL OR note IS NULL OR note <> 'note ' || id), 0,
          'no trigger changed anything');
RESET SESSION AUTHORIZATION;
SELECT is((SELECT count(*)::int FROM audit_chain.redactions), 0, 'and no redaction was recorded');

-- A superuser caller: the owner's trigger still runs as the owner, not as
-- the superuser
SET SESSION AUTHORIZATION sec_red_owner;
CREATE TABLE sec_d.who (role name);
CREATE FUNCTION sec_d.note_role() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO sec_d.who VALUES (current_user); RETURN NEW; END $$;
CREATE TRIGGER a_note_role BEFORE UPDATE ON sec_d.patients FOR EACH ROW EXECUTE FUNCTION sec_d.note_role();
RESET SESSION AUTHORIZATION;
SELECT lives_ok($$SELECT audit_chain.redact('sec_d.patients', 0, 7, ARRAY['email'], 'request 7')$$,
                'a superuser redacts a row of a table with a trigger');
SELECT is((SELECT string_agg(role, ',') FROM sec_d.who), 'sec_red_owner',
          'the trigger ran as the table owner, not as the superuser');
SET SESSION AUTHORIZATION sec_red_owner;
DROP TRIGGER a_note_role ON sec_d.patients;
SELECT lives_ok($$SELECT audit_chain.redact('sec_d.patients', 0, 8, ARRAY['email', 'dob'], 'request 8')$$,
                'the owner redacts a row');
SELECT is((SELECT intact FROM audit_chain.verify_chain('sec_d.patients')), true,
          'the chain verifies after the redactions');
RESET SESSION AUTHORIZATION;

-- Tampering with what the redaction left: each is found by verification
SAVEPOINT tamper;
DELETE FROM audit_chain.redactions WHERE tbl = 'sec_d.patients'::regclass AND seq = 8 AND column_name = 'dob';
SELECT is((SELECT problem FROM audit_chain.verify_chain('sec_d.patients')),
          'chain_hash of chain_seq 8 does not match the row''s contents: the row was changed after it was sealed',
          'a deleted redaction record breaks the row');
ROLLBACK TO SAVEPOINT tamper;
UPDATE audit_chain.redactions SET digest = sha256(convert_to('1999-09-09', 'UTF8'))
 WHERE tbl = 'sec_d.patients'::regclass AND seq = 8 AND column_name = 'dob';
SELECT is((SELECT problem FROM audit_chain.verify_chain('sec_d.patients')),
          'chain_hash of chain_seq 8 does not match the row''s contents: the row was changed after it was sealed',
          'so does an altered kept digest');
ROLLBACK TO SAVEPOINT tamper;
UPDATE audit_chain.redactions SET column_name = 'note'
 WHERE tbl = 'sec_d.patients'::regclass AND seq = 8 AND column_name = 'dob';
SELECT is((SELECT problem FROM audit_chain.verify_chain('sec_d.patients')),
          'column "note" of chain_seq 8 is recorded as redacted but holds a value: it was written again after its redaction',
          'and a record moved to a column that holds a value');
ROLLBACK TO SAVEPOINT tamper;
-- a superuser writes a value back behind the triggers' back: the original
-- one, so that the row would hash as it did before its redaction
SET LOCAL session_replication_role = replica;
UPDATE sec_d.patients SET dob = date '1980-01-09' WHERE id = 8;
RESET session_replication_role;
SELECT is((SELECT problem FROM audit_chain.verify_chain('sec_d.patients')),
          'column "dob" of chain_seq 8 is recorded as redacted but holds a value: it was written again after its redaction',
          'a redacted value written back is found, even the original one');
ROLLBACK TO SAVEPOINT tamper;
-- a redaction record added for a column that was NULL to begin with
SET SESSION AUTHORIZATION sec_red_owner;
INSERT INTO sec_d.patients (id, email, dob, note) VALUES (13, 'p13@example.org', NULL, 'note 13');
RESET SESSION AUTHORIZATION;
INSERT INTO audit_chain.redactions (tbl, lane, seq, column_name, digest, reason)
VALUES ('sec_d.patients', 0, 13, 'dob', sha256(convert_to('1980-01-14', 'UTF8')), 'forged');
SELECT is((SELECT problem FROM audit_chain.verify_chain('sec_d.patients')),
          'chain_hash of chain_seq 13 does not match the row''s contents: the row was changed after it was sealed',
          'a forged redaction of a column that was always NULL breaks the row');
ROLLBACK TO SAVEPOINT tamper;
SELECT is((SELECT intact FROM audit_chain.verify_chain('sec_d.patients')), true,
          'untouched, the chain verifies');

SELECT * FROM finish();
ROLLBACK;
