\set VERBOSITY terse
-- audit_chain.events: a ready, chained event table
SELECT count(*) AS lanes FROM audit_chain.chains WHERE tbl = 'audit_chain.events'::regclass;
SELECT column_name, data_type, is_nullable, column_default IS NOT NULL AS has_default
  FROM information_schema.columns
 WHERE table_schema = 'audit_chain' AND table_name = 'events'
 ORDER BY ordinal_position;

-- who and why come from session settings, so a pooled connection with one
-- role still records the real user
SELECT clock_timestamp() AS t0 \gset
BEGIN;
SET LOCAL audit_chain.actor = 'alice@example.com';
SET LOCAL audit_chain.purpose = 'customer-support';
SET LOCAL audit_chain.legal_basis = 'contract';
SET LOCAL audit_chain.data_subject = 'patient-17';
SET LOCAL audit_chain.session_id = 'sess-1';
INSERT INTO audit_chain.events (event_type, action) VALUES ('data_access', 'read chart');
COMMIT;
BEGIN;
SET LOCAL audit_chain.actor = 'bob@example.com';
INSERT INTO audit_chain.events (event_type, action, outcome) VALUES ('authentication', 'login', 'failure');
COMMIT;
INSERT INTO audit_chain.events (event_type, action) VALUES ('api_request', 'no context');
SELECT event_type, action, outcome, actor, purpose, legal_basis, data_subject, session_id,
       db_role = current_user AS db_role_is_me, application_name IS NOT NULL AS has_app,
       occurred_at <= now() + interval '1 second' AS occurred_now, phi
  FROM audit_chain.events WHERE chain_at >= :'t0' AND event_type <> 'admin' ORDER BY chain_at;

-- bad input
SET audit_chain.legal_basis = 'because';
\set VERBOSITY default
SET audit_chain.legal_basis = 'because';
\set VERBOSITY terse
INSERT INTO audit_chain.events (event_type, action) VALUES ('gossip', 'x');
INSERT INTO audit_chain.events (event_type, action, outcome) VALUES ('admin', 'x', 'meh');
INSERT INTO audit_chain.events (event_type, action, legal_basis) VALUES ('admin', 'x', 'because');
INSERT INTO audit_chain.events (event_type, action) VALUES ('admin', '');
INSERT INTO audit_chain.events (event_type, action, input_tokens) VALUES ('api_request', 'x', -1);
INSERT INTO audit_chain.events (event_type, action, input_digest) VALUES ('api_request', 'x', '\x00');
UPDATE audit_chain.events SET actor = 'mallory';
DELETE FROM audit_chain.events;
TRUNCATE audit_chain.events;

-- an AI API proxy logs one call per request, in hash-only mode
SELECT encode(audit_chain.digest('hello'), 'hex') AS digest_text,
       encode(audit_chain.digest('{"b": 1, "a": [2]}'::jsonb), 'hex') = encode(sha256('{"a": [2], "b": 1}'), 'hex') AS jsonb_canonical,
       audit_chain.digest('\x00ff'::bytea) = sha256('\x00ff') AS digest_bytes;
SELECT audit_chain.log_event(
           'api_request', 'chat.completion',
           actor => 'carol', provider => 'openai', model => 'gpt-4o',
           input_tokens => 812, output_tokens => 240, latency_ms => 1432, cost => 0.0061,
           input_digest => audit_chain.digest('What is my balance?'),
           output_digest => audit_chain.digest('Your balance is ...'),
           purpose => 'customer-support', legal_basis => 'contract', data_subject => 'cust-9',
           data_categories => ARRAY['financial'], details => '{"request_id": "req_1"}') IS NOT NULL AS logged;
SELECT actor, provider, model, input_tokens, output_tokens, latency_ms, cost,
       input_digest = sha256('What is my balance?') AS in_digest_ok, data_categories, details
  FROM audit_chain.events WHERE action = 'chat.completion';
SELECT audit_chain.log_event('nonsense', 'x');
SELECT audit_chain.log_event('api_request', 'x', outcome => 'perhaps');
SELECT audit_chain.log_event('api_request', 'x', latency_ms => -5);

-- track(): row changes of a business table become row_change events
CREATE TABLE public.patients (id int PRIMARY KEY, name text, dob date, notes text);
SELECT audit_chain.track('public.patients');
BEGIN;
SET LOCAL audit_chain.actor = 'dr-who';
INSERT INTO patients VALUES (1, 'Amy', '1990-01-02', 'first visit');
UPDATE patients SET notes = 'follow-up' WHERE id = 1;
UPDATE patients SET notes = 'follow-up' WHERE id = 1;     -- no change: no event
DELETE FROM patients WHERE id = 1;
COMMIT;
SELECT action, actor, resource, details->'key' AS key, details->'changed' AS changed,
       length(details->>'old_digest') AS old_len, length(details->>'new_digest') AS new_len,
       details ? 'old' OR details ? 'new' AS has_values
  FROM audit_chain.events WHERE event_type = 'row_change' ORDER BY chain_at;
-- the new digest of the insert is the row's digest; the delete's old digest is the last one
SELECT (SELECT details->>'new_digest' FROM audit_chain.events WHERE event_type = 'row_change' AND action = 'update')
     = (SELECT details->>'old_digest' FROM audit_chain.events WHERE event_type = 'row_change' AND action = 'delete')
       AS digests_follow_the_row;
SELECT audit_chain.untrack('public.patients');
-- only some columns, with their values
SELECT audit_chain.track('public.patients', columns => ARRAY['name', 'dob'], with_values => true);
INSERT INTO patients VALUES (2, 'Rory', '1988-03-04', 'x');
UPDATE patients SET notes = 'not tracked' WHERE id = 2;    -- no event
UPDATE patients SET name = 'Rory W.' WHERE id = 2;
SELECT action, details->'changed' AS changed, details->'old' AS old, details->'new' AS new
  FROM audit_chain.events WHERE event_type = 'row_change' AND resource = 'public.patients'
   AND details->'key'->>'id' = '2' ORDER BY chain_at;
-- bad input to track()
SELECT audit_chain.track('public.patients');
SELECT audit_chain.untrack('public.patients');
SELECT audit_chain.track('public.patients', columns => ARRAY['name', 'nope', 'neither']);
SELECT audit_chain.track('public.patients', columns => ARRAY[]::text[]);
SELECT audit_chain.track('pg_catalog.pg_class');
SELECT audit_chain.track('audit_chain.events');
CREATE TABLE public.chained_t (x int);
SELECT audit_chain.protect('public.chained_t');
SELECT audit_chain.track('public.chained_t');
CREATE VIEW public.pv AS SELECT 1 AS x;
SELECT audit_chain.track('public.pv');
SELECT audit_chain.untrack('public.pv');
SELECT audit_chain.track(NULL);

-- a role with no privilege on the event table still gets its changes recorded,
-- as itself
SELECT audit_chain.track('public.patients');
GRANT SELECT, INSERT, UPDATE ON public.patients TO ac_app;
SET ROLE ac_app;
INSERT INTO public.patients VALUES (3, 'Clara', '1991-05-06', NULL);
INSERT INTO audit_chain.events (event_type, action) VALUES ('admin', 'sneaky');
RESET ROLE;
SELECT action, db_role, details->'key' AS key FROM audit_chain.events
 WHERE event_type = 'row_change' AND details->'key'->>'id' = '3';

-- a partitioned table: events name the tracked table; TRUNCATE is recorded;
-- a changed key keeps the old one; a renamed tracked column is reported
CREATE TABLE public.pt (id int, region text, note text, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE public.pt_eu PARTITION OF public.pt FOR VALUES IN ('eu');
SELECT audit_chain.track('public.pt');
INSERT INTO public.pt VALUES (1, 'eu', 'a');
UPDATE public.pt SET id = 2 WHERE id = 1;
TRUNCATE public.pt;
CREATE TABLE public.renamed (id int PRIMARY KEY, a text);
SELECT audit_chain.track('public.renamed', columns => ARRAY['a']);
ALTER TABLE public.renamed RENAME COLUMN a TO a2;
ALTER TABLE public.renamed DROP COLUMN a;
ALTER TABLE public.renamed RENAME COLUMN id TO ident;    -- not listed: allowed
SELECT audit_chain.untrack('public.renamed');
SELECT audit_chain.track('public.renamed', columns => ARRAY['a']);
-- a column that vanished anyway (the guard was off) is reported in the events
SET session_replication_role = replica;
ALTER TABLE public.renamed RENAME COLUMN a TO a2;
RESET session_replication_role;
INSERT INTO public.renamed VALUES (1, 'x');
SELECT action, resource, details->>'partition' AS partition, details->'key' AS key,
       details->'old_key' AS old_key, details->'missing_columns' AS missing
  FROM audit_chain.events WHERE event_type = 'row_change' AND resource IN ('public.pt', 'public.renamed')
 ORDER BY chain_at;
DROP TABLE public.pt, public.renamed;

-- the events chain stays intact through all of it
SELECT count(*) AS lanes, sum(rows_checked) = (SELECT count(*) FROM audit_chain.events) AS all_rows,
       bool_and(intact) AS intact
  FROM audit_chain.verify_chain('audit_chain.events');

-- a restore: a superuser inserting rows that are validly sealed keeps them as
-- they are (pg_restore loads extension tables with their triggers on); other
-- values in the chain columns are overwritten
CREATE TEMP TABLE saved AS SELECT * FROM public.chained_t;
INSERT INTO public.chained_t VALUES (1), (2), (3);
CREATE TEMP TABLE saved_rows AS SELECT * FROM public.chained_t ORDER BY chain_seq;
SET session_replication_role = replica;
DELETE FROM public.chained_t;
RESET session_replication_role;
INSERT INTO public.chained_t SELECT * FROM saved_rows ORDER BY chain_seq;
SELECT count(*) AS same_rows FROM public.chained_t c JOIN saved_rows s USING (chain_lane, chain_seq, chain_hash);
INSERT INTO public.chained_t (x, chain_lane, chain_seq, chain_at, chain_prev, chain_hash)
VALUES (4, 0, 77, now(), sha256('x'), sha256('y'));
SELECT x, chain_seq FROM public.chained_t ORDER BY chain_seq;
SELECT lane, rows_checked, intact FROM audit_chain.verify_chain('public.chained_t');

-- DDL, GRANT/REVOKE and role changes are admin events, attributed to whoever ran them
SELECT clock_timestamp() AS t1 \gset
CREATE TABLE public.ddl_demo (x int);
ALTER TABLE public.ddl_demo ADD COLUMN y text;
GRANT SELECT ON public.ddl_demo TO ac_auditor;
REVOKE SELECT ON public.ddl_demo FROM ac_auditor;
CREATE ROLE ac_tmp_role;
ALTER ROLE ac_tmp_role WITH PASSWORD 'not-in-the-log';
GRANT ac_auditor TO ac_tmp_role;
DROP ROLE ac_tmp_role;
DROP TABLE public.ddl_demo;
-- they are written just before commit (so that an open transaction after DDL
-- holds no lane of the event table), attributed to the role that acted even
-- if the session changes role before committing; a rolled back
-- subtransaction or transaction writes none; a procedure's COMMIT writes them
CREATE SCHEMA app_ddl AUTHORIZATION ac_app;
BEGIN;
SET LOCAL ROLE ac_app;
CREATE TABLE app_ddl.kept (x int);
SAVEPOINT s;
CREATE TABLE app_ddl.undone (x int);
ROLLBACK TO SAVEPOINT s;
RESET ROLE;
SELECT count(*) AS lanes_held FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();
COMMIT;
BEGIN;
CREATE TABLE public.rolled_back (x int);
ROLLBACK;
CREATE PROCEDURE public.ddl_proc() LANGUAGE plpgsql AS $$
BEGIN
    CREATE TABLE public.in_proc (x int);
    COMMIT;
    DROP TABLE public.in_proc;
    ROLLBACK;
END
$$;
CALL public.ddl_proc();
DROP PROCEDURE public.ddl_proc();
DROP TABLE public.in_proc;
DROP SCHEMA app_ddl CASCADE;
-- a superuser replaying a dump (check_function_bodies off) is not recorded
SET check_function_bodies = off;
CREATE TABLE public.replayed (x int);
DROP TABLE public.replayed;
RESET check_function_bodies;
SELECT action, resource, db_role, details->>'command_tag' AS command_tag, details->>'object_type' AS object_type
  FROM audit_chain.events WHERE event_type = 'admin' AND chain_at >= :'t1' ORDER BY chain_at;
SELECT count(*) AS password_in_log FROM audit_chain.events WHERE details::text LIKE '%not-in-the-log%';

SELECT audit_chain.unprotect('public.chained_t');
DROP TABLE public.chained_t, public.patients;
DROP VIEW public.pv;
