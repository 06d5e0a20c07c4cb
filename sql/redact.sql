\set VERBOSITY terse
-- Redaction: redact() and redact_subject() (src/redact.c)
CREATE SCHEMA red;
CREATE TABLE red.visits (id int NOT NULL, email text, dob date, stay interval, score float8,
                         notes jsonb, tags text[],
                         label text GENERATED ALWAYS AS ('visit ' || id) STORED);
SELECT audit_chain.protect('red.visits');
INSERT INTO red.visits (id, email, dob, stay, score, notes, tags)
SELECT i, 'p' || i || '@example.org', date '1980-01-01' + i, interval '1 day 2 hours' * i,
       i / 3.0, jsonb_build_object('visit', i, 'why', 'checkup'), ARRAY['a', NULL, 'c']
  FROM generate_series(1, 6) AS i;
INSERT INTO red.visits (id, email) VALUES (7, NULL);
CREATE TABLE red.plain (id int, email text);

-- the happy path: the values go, their digests stay, the chain verifies
SELECT audit_chain.redact('red.visits', 0, 2, ARRAY['email', 'dob'], 'erasure request 1');
SELECT id, email, dob, label FROM red.visits WHERE id IN (1, 2) ORDER BY id;
SELECT lane, seq, column_name, reason, redacted_by = session_user AS by_me,
       digest = sha256(convert_to(CASE column_name WHEN 'email' THEN 'p2@example.org'
                                                   ELSE '1980-01-03' END, 'UTF8')) AS digest_of_value
  FROM audit_chain.redactions WHERE tbl = 'red.visits'::regclass ORDER BY seq, column_name;
SELECT lane, rows_checked, intact, problem FROM audit_chain.verify_chain('red.visits');
SELECT audit_chain.row_hash('red.visits', 0, 2) = chain_hash AS row_hash_matches
  FROM red.visits WHERE id = 2;
-- the hash input holds the kept digest in the column's place
SELECT position(convert_to('email', 'UTF8') || sha256(convert_to('p2@example.org', 'UTF8'))
                IN audit_chain.canonical_row('red.visits', 0, 2)) > 0 AS input_has_kept_digest;

-- values whose text depends on the session's settings are digested in the
-- canonical settings whatever the session's
SET intervalstyle = iso_8601;
SET extra_float_digits = 3;
SET datestyle = 'German';
SELECT audit_chain.redact('red.visits', 0, 3, ARRAY['stay', 'score', 'notes', 'tags'], 'erasure request 2');
RESET intervalstyle;
RESET extra_float_digits;
RESET datestyle;
SELECT column_name,
       digest = sha256(convert_to(CASE column_name
                                    WHEN 'stay' THEN '3 days 06:00:00'
                                    WHEN 'score' THEN '1'
                                    WHEN 'notes' THEN '{"why": "checkup", "visit": 3}'
                                    ELSE '{a,NULL,c}' END, 'UTF8')) AS digest_of_canonical_text
  FROM audit_chain.redactions WHERE tbl = 'red.visits'::regclass AND seq = 3 ORDER BY column_name;
-- a second redaction of the same row, of other columns
SELECT audit_chain.redact('red.visits', 0, 3, ARRAY['email'], 'erasure request 3');
SELECT id, email, dob, stay, score, notes, tags FROM red.visits WHERE id = 3;
SELECT lane, rows_checked, intact, problem FROM audit_chain.verify_chain('red.visits');
SELECT lane, rows_checked, intact, problem FROM audit_chain.verify_chain('red.visits', true);
-- each call is an admin event: table, row, columns and reason, never a value
SELECT action, resource, details FROM audit_chain.events
 WHERE action = 'redact' AND resource = 'red.visits' ORDER BY details->>'reason';

-- bad input, with the hints
\set VERBOSITY default
SELECT audit_chain.redact('red.visits', 0, 2, ARRAY['email'], 'again');
SELECT audit_chain.redact('red.visits', 0, 7, ARRAY['email'], 'NULL already');
SELECT audit_chain.redact('red.visits', 0, 99, ARRAY['email'], 'no such row');
SELECT audit_chain.redact('red.visits', 0, 0, ARRAY['email'], 'no such row');
SELECT audit_chain.redact('red.visits', 1, 1, ARRAY['email'], 'no such lane');
SELECT audit_chain.redact('red.visits', -1, 1, ARRAY['email'], 'no such lane');
SELECT audit_chain.redact('red.visits', 0, 1, ARRAY['chain_hash'], 'a chain column');
SELECT audit_chain.redact('red.visits', 0, 1, ARRAY['chain_seq'], 'a chain column');
SELECT audit_chain.redact('red.visits', 0, 1, ARRAY['label'], 'a generated column');
SELECT audit_chain.redact('red.visits', 0, 1, ARRAY['id'], 'a NOT NULL column');
SELECT audit_chain.redact('red.visits', 0, 1, ARRAY['nope'], 'no such column');
SELECT audit_chain.redact('red.visits', 0, 1, ARRAY['Email'], 'names are exact');
SELECT audit_chain.redact('red.visits', 0, 1, ARRAY['email', 'email'], 'twice');
SELECT audit_chain.redact('red.visits', 0, 1, ARRAY[]::text[], 'none');
SELECT audit_chain.redact('red.visits', 0, 1, ARRAY[NULL], 'a NULL name');
SELECT audit_chain.redact('red.visits', 0, 1, NULL, 'no columns');
SELECT audit_chain.redact('red.visits', 0, 1, ARRAY['email'], NULL);
SELECT audit_chain.redact('red.visits', 0, 1, ARRAY['email'], '  ');
SELECT audit_chain.redact('red.visits', NULL, 1, ARRAY['email'], 'x');
SELECT audit_chain.redact('red.visits', 0, NULL, ARRAY['email'], 'x');
SELECT audit_chain.redact(NULL, 0, 1, ARRAY['email'], 'x');
SELECT audit_chain.redact(0, 0, 1, ARRAY['email'], 'x');
SELECT audit_chain.redact('red.plain', 0, 1, ARRAY['email'], 'not chained');
-- under legal hold (terse: the detail says when the hold was placed)
SELECT audit_chain.legal_hold('red.visits', true, 'case 2026-40');
\set VERBOSITY terse
SELECT audit_chain.redact('red.visits', 0, 1, ARRAY['email'], 'held');
\set VERBOSITY default
SELECT audit_chain.legal_hold('red.visits', false, 'case 2026-40 closed');
-- an archived row (archived_seq written by hand here: no archive yet)
BEGIN;
UPDATE audit_chain.chains SET archived_seq = 1 WHERE tbl = 'red.visits'::regclass AND lane = 0;
SELECT audit_chain.redact('red.visits', 0, 1, ARRAY['email'], 'archived');
ROLLBACK;
-- a row that does not verify is not redacted
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE red.visits SET email = 'changed@example.org' WHERE id = 4;
RESET session_replication_role;
SELECT audit_chain.redact('red.visits', 0, 4, ARRAY['dob'], 'tampered row');
ROLLBACK;
\set VERBOSITY terse
-- nothing changed
SELECT count(*) AS redactions FROM audit_chain.redactions WHERE tbl = 'red.visits'::regclass;
SELECT count(*) AS nulls FROM red.visits WHERE email IS NULL;

-- redact_subject: every event about or by a data subject
SELECT clock_timestamp() AS red_t0 \gset
SET audit_chain.actor = 'red-subject-1';
SELECT audit_chain.log_event('api_request', 'chat', data_subject => 'red-subject-1',
                             user_agent => 'curl/8', details => '{"prompt_chars": 12}') IS NOT NULL AS logged;
SET audit_chain.actor = 'red-doctor';
SELECT audit_chain.log_event('data_access', 'read chart', data_subject => 'red-subject-1',
                             consent_id => 'consent-9', user_agent => 'browser',
                             client_addr => '10.0.0.9') IS NOT NULL AS logged;
SELECT audit_chain.log_event('data_access', 'read chart', data_subject => 'red-subject-2') IS NOT NULL AS logged;
RESET audit_chain.actor;
SELECT audit_chain.log_event('data_access', 'export', data_subject => 'red-subject-1',
                             session_id => 'sess-4', client_addr => '10.0.0.4') IS NOT NULL AS logged;
SET audit_chain.actor = 'red-subject-1';
SELECT audit_chain.log_event('data_access', 'read chart', data_subject => 'red-subject-2',
                             session_id => 'sess-5') IS NOT NULL AS logged;
RESET audit_chain.actor;
SELECT tbl, columns FROM audit_chain.redact_subject('red-subject-1', 'Art. 17 request 77')
 ORDER BY columns::text;
SELECT action, actor, session_id, client_addr, user_agent, consent_id, data_subject, details
  FROM audit_chain.events
 WHERE event_type <> 'admin' AND occurred_at >= :'red_t0'
 ORDER BY occurred_at, action;
SELECT bool_and(intact) AS events_intact FROM audit_chain.verify_chain('audit_chain.events');
-- again: nothing more to redact
SELECT count(*) FROM audit_chain.redact_subject('red-subject-1', 'Art. 17 request 77');
-- the event names the rows and columns, not the subject
SELECT action, resource, details->>'reason' AS reason,
       jsonb_array_length(details->'redacted') AS rows,
       details::text LIKE '%red-subject-1%' AS names_subject
  FROM audit_chain.events WHERE action = 'redact subject' AND occurred_at >= :'red_t0'
 ORDER BY occurred_at;
\set VERBOSITY default
SELECT * FROM audit_chain.redact_subject(NULL, 'x');
SELECT * FROM audit_chain.redact_subject('', 'x');
SELECT * FROM audit_chain.redact_subject('red-subject-2', NULL);
SELECT audit_chain.legal_hold('audit_chain.events', true, 'case 2026-41');
\set VERBOSITY terse
SELECT * FROM audit_chain.redact_subject('red-subject-2', 'held');
SELECT audit_chain.legal_hold('audit_chain.events', false, 'case 2026-41 closed');
\set VERBOSITY terse

-- unprotect() drops the table's kept digests
SELECT audit_chain.unprotect('red.visits', 'end of test');
SELECT count(*) AS redactions FROM audit_chain.redactions WHERE tbl = 'red.visits'::regclass;
DROP SCHEMA red CASCADE;
