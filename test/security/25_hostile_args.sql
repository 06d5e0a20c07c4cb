-- Attack: every SQL-callable function, called by an unprivileged role that
-- was granted it, with hostile arguments (NULL, OID 0, another session's
-- kind of object: a temp table with wrong-typed chain columns, a view),
-- while the role's search_path leads with a schema it owns full of
-- look-alike operators.  Each call must end in the clear error listed
-- (SQLSTATE), or succeed where that is the documented answer; none may
-- crash the server, raise an internal error, or run a look-alike.  Calls
-- 51 to 70 are those of issue 12: archive_table, archive, apply_retention,
-- redact, redact_subject; 71 to 94 those of issue 13: export_segment (71 to
-- 79), export_checkpoint and
-- the published checkpoints and trusted key of verify_chain and
-- assert_intact; 95 to 104 those of issue 14's feed (export_events), 201 to
-- 216 the rest of issue 14 (request_timeline, record_consent, log_event's
-- trace ids and safety fields, the settings); 1401 to 1415 issue 14's usage part:
-- usage_report, refresh_reports(rebuild), in_eea, log_event's transfer_country,
-- the register's trigger function.  Then a role that was granted nothing.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

SELECT plan(145);

CREATE ROLE sec_args NOLOGIN;
CREATE SCHEMA sec_args AUTHORIZATION sec_args;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA audit_chain TO sec_args;
GRANT EXECUTE ON ALL PROCEDURES IN SCHEMA audit_chain TO sec_args;
CREATE TABLE sec_args_out (n int, q text, result text);
GRANT INSERT ON sec_args_out TO sec_args;
-- a chained table the role may not read
CREATE TABLE public.sec_args_theirs (id int);
SELECT audit_chain.protect('public.sec_args_theirs');

SET SESSION AUTHORIZATION sec_args;
CREATE TABLE sec_args.hits (what text);
CREATE FUNCTION sec_args.int4eq(a int, b int) RETURNS bool LANGUAGE sql
    AS $$ INSERT INTO sec_args.hits VALUES ('int4 ='); SELECT a OPERATOR(pg_catalog.=) b $$;
CREATE OPERATOR sec_args.= (LEFTARG = int, RIGHTARG = int, FUNCTION = sec_args.int4eq);
CREATE FUNCTION sec_args.int4mi(a int, b int) RETURNS int LANGUAGE sql
    AS $$ INSERT INTO sec_args.hits VALUES ('int4 -'); SELECT a OPERATOR(pg_catalog.-) b $$;
CREATE OPERATOR sec_args.- (LEFTARG = int, RIGHTARG = int, FUNCTION = sec_args.int4mi);
CREATE FUNCTION sec_args.regclasseq(a regclass, b regclass) RETURNS bool LANGUAGE sql
    AS $$ INSERT INTO sec_args.hits VALUES ('regclass ='); SELECT a::oid OPERATOR(pg_catalog.=) b::oid $$;
CREATE OPERATOR sec_args.= (LEFTARG = regclass, RIGHTARG = regclass, FUNCTION = sec_args.regclasseq);
CREATE FUNCTION sec_args.texteq(a text, b text) RETURNS bool LANGUAGE sql
    AS $$ INSERT INTO sec_args.hits VALUES ('text ='); SELECT a OPERATOR(pg_catalog.=) b $$;
CREATE OPERATOR sec_args.= (LEFTARG = text, RIGHTARG = text, FUNCTION = sec_args.texteq);

CREATE TABLE sec_args.t (id int);
SELECT audit_chain.protect('sec_args.t');
CREATE TEMP TABLE tt (chain_lane int, chain_seq text, chain_hash int);
CREATE VIEW sec_args.v AS SELECT 1 AS chain_lane;

-- Each call in a subtransaction of its own; the path is hostile only inside
CREATE FUNCTION sec_args.try(n int, q text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    result text := 'ok';
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'sec_args, pg_catalog, pg_temp', true);
    BEGIN
        EXECUTE q;
    EXCEPTION WHEN OTHERS THEN
        result := SQLSTATE;
    END;
    PERFORM pg_catalog.set_config('search_path', 'public, pg_catalog', true);
    INSERT INTO public.sec_args_out VALUES (n, q, result);
END $$;

SELECT sec_args.try(n, q) FROM (VALUES
 (1, 'SELECT audit_chain.protect(NULL, NULL)'),
 (2, 'SELECT audit_chain.protect(0, 0)'),
 (3, 'SELECT audit_chain.protect(0, 1)'),
 (4, 'SELECT audit_chain.protect(''tt'', 1)'),
 (5, 'SELECT audit_chain.protect(''sec_args.v'', 1)'),
 (6, 'SELECT audit_chain.unprotect(NULL, NULL)'),
 (7, 'SELECT audit_chain.unprotect(0)'),
 (8, 'SELECT audit_chain.unprotect(''tt'')'),
 (9, 'SELECT audit_chain.unprotect(''sec_args.v'')'),
 (10, 'SELECT * FROM audit_chain.verify_chain(''sec_args.t'', NULL)'),
 (11, 'SELECT * FROM audit_chain.verify_chain(0)'),
 (12, 'SELECT * FROM audit_chain.verify_chain(''tt'')'),
 (13, 'SELECT * FROM audit_chain.verify_chain(''sec_args.v'', true)'),
 (14, 'CALL audit_chain.assert_intact(''sec_args.t'', NULL)'),
 (15, 'CALL audit_chain.assert_intact(0)'),
 (16, 'CALL audit_chain.assert_intact(''tt'')'),
 (17, 'SELECT * FROM audit_chain.lane_head(NULL, NULL)'),
 (18, 'SELECT * FROM audit_chain.lane_head(0, 0)'),
 (19, 'SELECT * FROM audit_chain.lane_head(''tt'', 0)'),
 (20, 'SELECT * FROM audit_chain.lane_head(''sec_args.v'', 0)'),
 (21, 'SELECT * FROM audit_chain.lane_head(''sec_args.t'', -1)'),
 (22, 'SELECT audit_chain.row_hash(NULL, NULL, NULL)'),
 (23, 'SELECT audit_chain.row_hash(0, 0, 0)'),
 (24, 'SELECT audit_chain.row_hash(''tt'', 0, 1)'),
 (25, 'SELECT audit_chain.row_hash(''sec_args.t'', 99, 1)'),
 (26, 'SELECT audit_chain.canonical_row(0, 0, 0)'),
 (27, 'SELECT audit_chain.canonical_row(''sec_args.v'', 0, 1)'),
 (28, 'SELECT audit_chain.canonical_text(NULL::int)'),
 (29, 'SELECT audit_chain.canonical_text(0::regclass)'),
 (30, 'SELECT audit_chain.canonical_text(ROW(1, 0::regclass))'),
 (31, 'SELECT audit_chain.set_retention(NULL, NULL, NULL, NULL)'),
 (32, 'SELECT audit_chain.set_retention(0, ''1 year'')'),
 (33, 'SELECT audit_chain.set_retention(''tt'', ''1 year'')'),
 (34, 'SELECT audit_chain.set_retention(''sec_args.v'', ''1 year'')'),
 (35, 'SELECT audit_chain.set_retention(''sec_args.t'', ''0'')'),
 (36, 'SELECT audit_chain.set_retention(''sec_args.t'', NULL, ''nope'')'),
 (37, 'SELECT audit_chain.legal_hold(NULL, NULL, NULL)'),
 (38, 'SELECT audit_chain.legal_hold(0, true, ''r'')'),
 (39, 'SELECT audit_chain.legal_hold(''tt'', true, ''r'')'),
 (40, 'SELECT audit_chain.legal_hold(''sec_args.t'', true, NULL)'),
 (41, 'SELECT audit_chain.track(NULL, NULL, NULL)'),
 (42, 'SELECT audit_chain.track(0)'),
 (43, 'SELECT audit_chain.track(''sec_args.v'')'),
 (44, 'SELECT audit_chain.untrack(NULL)'),
 (45, 'SELECT audit_chain.untrack(0)'),
 (46, 'SELECT audit_chain.export_jsonl(NULL)'),
 (47, 'SELECT audit_chain.gdpr_subject_access_json(NULL)'),
 (48, 'SELECT * FROM audit_chain.hipaa_disclosures(NULL, NULL)'),
 (49, 'SELECT * FROM audit_chain.activity_anomalies(0, NULL)'),
 (50, 'SELECT audit_chain.checkpoint()'),
 (51, 'SELECT audit_chain.archive_table(NULL)'),
 (52, 'SELECT audit_chain.archive_table(0)'),
 (53, 'SELECT audit_chain.archive_table(''tt'')'),
 (54, 'SELECT audit_chain.archive_table(''sec_args.v'')'),
 (55, 'CALL audit_chain.archive(NULL, NULL)'),
 (56, 'CALL audit_chain.archive(0, ''1 day'')'),
 (57, 'CALL audit_chain.archive(''tt'', ''1 day'')'),
 (58, 'CALL audit_chain.archive(''sec_args.v'', ''1 day'')'),
 (59, 'CALL audit_chain.archive(''sec_args.t'', ''0'')'),
 (60, 'CALL audit_chain.archive(''sec_args.t'', ''-1 day'')'),
 (61, 'CALL audit_chain.archive(''sec_args.t'', ''1 day'')'),
 (62, 'CALL audit_chain.apply_retention()'),
 (63, 'SELECT audit_chain.redact(NULL, NULL, NULL, NULL, NULL)'),
 (64, 'SELECT audit_chain.redact(0, 0, 0, ARRAY[''id''], ''r'')'),
 (65, 'SELECT audit_chain.redact(''tt'', 0, 1, ARRAY[''chain_seq''], ''r'')'),
 (66, 'SELECT audit_chain.redact(''sec_args.v'', 0, 1, ARRAY[''chain_lane''], ''r'')'),
 (67, 'SELECT audit_chain.redact(''sec_args.t'', 0, 1, ARRAY[''chain_hash''], ''r'')'),
 (68, 'SELECT audit_chain.redact(''sec_args.t'', -1, 0, ARRAY[''id''], ''r'')'),
 (69, 'SELECT * FROM audit_chain.redact_subject(NULL, NULL)'),
 (70, 'SELECT * FROM audit_chain.redact_subject('''', ''r'')'),
 (71, 'SELECT * FROM audit_chain.export_segment(NULL, NULL, NULL, NULL)'),
 (72, 'SELECT * FROM audit_chain.export_segment(0)'),
 (73, 'SELECT * FROM audit_chain.export_segment(''tt'')'),
 (74, 'SELECT * FROM audit_chain.export_segment(''sec_args.v'')'),
 (75, 'SELECT * FROM audit_chain.export_segment(''public.sec_args_out'')'),
 (76, 'SELECT * FROM audit_chain.export_segment(''public.sec_args_theirs'')'),
 (77, 'SELECT * FROM audit_chain.export_segment(''sec_args.t'', 1)'),
 (78, 'SELECT * FROM audit_chain.export_segment(''sec_args.t'', 0, 2, 1)'),
 (79, 'SELECT * FROM audit_chain.export_segment(''sec_args.t'', NULL, 1)'),
 (80, 'SELECT audit_chain.export_checkpoint(NULL)'),
 (81, 'SELECT audit_chain.export_checkpoint(-1)'),
 (82, 'SELECT audit_chain.export_checkpoint(9223372036854775807)'),
 (83, 'SELECT * FROM audit_chain.verify_chain(NULL, NULL, NULL, NULL)'),
 (84, 'SELECT * FROM audit_chain.verify_chain(''sec_args.t'', false, ''"garbage"'')'),
 (85, 'SELECT * FROM audit_chain.verify_chain(''sec_args.t'', false, ''[]'')'),
 (86, 'SELECT * FROM audit_chain.verify_chain(''sec_args.t'', false, ''null'')'),
 (87, 'SELECT * FROM audit_chain.verify_chain(''sec_args.t'', false, ''[[{}]]'')'),
 (88, 'SELECT * FROM audit_chain.verify_chain(NULL, false, ''{"format": "audit_chain/checkpoint-export/v1", "checkpoint_id": 1, "payload": "!!!"}'')'),
 (89, 'SELECT * FROM audit_chain.verify_chain(NULL, false, ''{"format": "audit_chain/checkpoint-export/v1", "checkpoint_id": "x", "payload": "YQ=="}'')'),
 (90, 'SELECT * FROM audit_chain.verify_chain(NULL, false, ''{"format": "audit_chain/checkpoint-export/v1", "checkpoint_id": 1, "payload": "YWJj", "signature": "%%%"}'')'),
 (91, 'SELECT * FROM audit_chain.verify_chain(NULL, false, ''{"format": "audit_chain/checkpoint-export/v1", "checkpoint_id": 1, "payload": "YWJj"}'')'),
 (92, 'SELECT * FROM audit_chain.verify_chain(NULL, false, NULL, ''-----BEGIN PUBLIC KEY-----'')'),
 (93, 'SELECT * FROM audit_chain.verify_chain(NULL, false, audit_chain.export_checkpoint(), ''not a key'')'),
 (94, 'CALL audit_chain.assert_intact(NULL, false, ''{"format": "x"}'')'),
 (95, 'SELECT * FROM audit_chain.export_events(NULL, NULL, NULL)'),
 (96, 'SELECT * FROM audit_chain.export_events(''v1:'', 10)'),
 (97, 'SELECT * FROM audit_chain.export_events(repeat(''9'', 100000))'),
 (98, 'SELECT * FROM audit_chain.export_events(''v99999999999999:0.1.0123456789abcdef:00000000'')'),
 (99, 'SELECT * FROM audit_chain.export_events(NULL, -1)'),
 (100, 'SELECT * FROM audit_chain.export_events(NULL, 2147483647)'),
 (101, 'SELECT * FROM audit_chain.export_events(NULL, 10, ''ECS'')'),
 (102, 'SELECT * FROM audit_chain.export_events(''v1:'' || repeat(''0.1.0123456789abcdef,'', 70) || ''0.1.0123456789abcdef:00000000'')'),
 (103, 'SELECT * FROM audit_chain.export_events(''v1:０.1.0123456789abcdef:00000000'')'),
 (104, 'SELECT * FROM audit_chain.export_events()')
) v(n, q);
RESET SESSION AUTHORIZATION;

SELECT is(o.result, e.result, o.q)
  FROM sec_args_out o
  JOIN (VALUES
    (1, '22004'), (2, '22023'), (3, '42P01'), (4, '0A000'), (5, '42809'),
    (6, '22004'), (7, '42P01'), (8, '55000'), (9, '42809'),
    (10, 'ok'), (11, '42P01'), (12, '0A000'), (13, '42809'),
    (14, 'ok'), (15, '42P01'), (16, '0A000'),
    (17, 'ok'), (18, '42P01'), (19, '0A000'), (20, '42809'), (21, '22023'),
    (22, 'ok'), (23, '42P01'), (24, '0A000'), (25, '22023'), (26, '42P01'), (27, '42809'),
    (28, 'ok'), (29, '0A000'), (30, '0A000'),
    (31, '22004'), (32, '42P01'), (33, '0A000'), (34, '42809'), (35, '22023'), (36, '22023'),
    (37, '22004'), (38, '42P01'), (39, '0A000'), (40, '22023'),
    (41, '22004'), (42, '42P01'), (43, '42809'), (44, '22004'), (45, '55000'),
    (46, '22023'), (47, '22023'), (48, '22023'), (49, '22023'), (50, 'ok'),
    (51, 'ok'), (52, '42P01'), (53, '0A000'), (54, '42809'),
    (55, '22004'), (56, '42P01'), (57, '0A000'), (58, '42809'), (59, '22023'), (60, '22023'),
    (61, 'ok'), (62, 'ok'),
    (63, '22004'), (64, '42P01'), (65, '0A000'), (66, '42809'), (67, '42P10'), (68, '22023'),
    (69, '22004'), (70, '22023'),
    (71, '22004'), (72, '42P01'), (73, '0A000'), (74, '42809'), (75, '55000'), (76, '42501'),
    (77, '22023'), (78, '22023'), (79, 'ok'),
    (80, 'ok'), (81, '42704'), (82, '42704'), (83, 'ok'), (84, '22023'), (85, '22023'), (86, '22023'), (87, '22023'), (88, '22023'), (89, '22023'), (90, '22023'), (91, 'ok'), (92, '22023'), (93, '22023'), (94, '22023'),
    (95, '22023'), (96, '22023'), (97, '22023'), (98, '22023'), (99, '22023'), (100, '22023'),
    (101, '22023'), (102, '22023'), (103, '22023'), (104, '42501')
  ) e(n, result) ON e.n = o.n
 ORDER BY o.n;

-- Calls 201 to 216, those of issue 14: request_timeline, record_consent,
-- and log_event's ids and safety fields (with INSERT on events, so that the
-- values themselves are judged), the settings of trace ids and masking
GRANT INSERT ON audit_chain.events TO sec_args;
SET SESSION AUTHORIZATION sec_args;
SELECT sec_args.try(n, q) FROM (VALUES
 (201, 'SELECT * FROM audit_chain.request_timeline(NULL)'),
 (202, 'SELECT * FROM audit_chain.request_timeline('''')'),
 (203, 'SELECT * FROM audit_chain.request_timeline(''x'''' OR true --'')'),
 (204, 'SELECT audit_chain.record_consent(NULL, NULL, NULL)'),
 (205, 'SELECT audit_chain.record_consent(''s'', NULL, true)'),
 (206, 'SELECT audit_chain.record_consent(''s'', ''c'', NULL)'),
 (207, 'SELECT audit_chain.record_consent(repeat(''s'', 100000), ''c'', true, NULL, ''[[[[{}]]]]'', ''infinity'')'),
 (208, 'SELECT audit_chain.log_event(''api_request'', ''x'', trace_id => ''nothex'')'),
 (209, 'SELECT audit_chain.log_event(''api_request'', ''x'', trace_id => ''4bf92f3577b34da6a3ce929d0e0e4736'', span_id => ''zz'')'),
 (210, 'SELECT audit_chain.log_event(''api_request'', ''x'', span_id => ''00f067aa0ba902b7'')'),
 (211, 'SELECT audit_chain.log_event(''api_request'', ''x'', request_id => '''')'),
 (212, 'SELECT audit_chain.log_event(''api_request'', ''x'', safety_detectors => ARRAY[NULL])'),
 (213, 'SELECT audit_chain.log_event(''consent'', ''consent_withdrawn'')'),
 (214, 'SELECT pg_catalog.set_config(''audit_chain.traceparent'', ''00-'' || repeat(''f'', 10000), true)'),
 (215, 'SELECT pg_catalog.set_config(''audit_chain.trace_id'', repeat(''0'', 32), true)'),
 (216, 'SELECT pg_catalog.set_config(''audit_chain.hash_detail_keys'', ''a'', true)')
) v(n, q);
RESET SESSION AUTHORIZATION;
SELECT is(o.result, e.result, o.q)
  FROM sec_args_out o
  JOIN (VALUES
    (201, '22023'), (202, '22023'), (203, '42501'), (204, '22023'), (205, '22023'), (206, '22004'),
    (207, 'ok'), (208, '22023'), (209, '22023'), (210, '22023'), (211, '23514'), (212, '23514'),
    (213, '23514'), (214, '22023'), (215, '22023'), (216, '42501')
  ) e(n, result) ON e.n = o.n
 ORDER BY o.n;

SELECT is((SELECT count(*)::int FROM sec_args_out WHERE n < 1400), 94 + 10 + 16, 'every call ran');

-- the usage calls below judge a role without INSERT on events
REVOKE INSERT ON audit_chain.events FROM sec_args;
-- issue 14 (usage): the role may not read the events, so a well-formed
-- usage_report() ends in 42501; every malformed one in 22023 before that
SET SESSION AUTHORIZATION sec_args;
SELECT sec_args.try(n, q) FROM (VALUES
 (1401, 'SELECT * FROM audit_chain.usage_report(NULL, NULL, NULL)'),
 (1402, 'SELECT * FROM audit_chain.usage_report(''infinity'', ''-infinity'')'),
 (1403, 'SELECT * FROM audit_chain.usage_report(''-infinity'', ''infinity'', ''{}'')'),
 (1404, 'SELECT * FROM audit_chain.usage_report(now(), now(), ARRAY[NULL]::text[])'),
 (1405, 'SELECT * FROM audit_chain.usage_report(now(), now(), ''{day,"day; DROP TABLE sec_args.t"}'')'),
 (1406, 'SELECT * FROM audit_chain.usage_report(now(), now(), array_fill(''actor''::text, ARRAY[100000]))'),
 (1407, 'SELECT * FROM audit_chain.usage_report(now(), now(), ''{{day},{model}}'')'),
 (1408, 'SELECT * FROM audit_chain.usage_report(now(), now(), ''[5:5]={day}'')'),
 (1409, 'SELECT * FROM audit_chain.usage_report(now(), now(), ARRAY[repeat(''\x'', 100000)])'),
 (1410, 'CALL audit_chain.refresh_reports(NULL)'),
 (1411, 'CALL audit_chain.refresh_reports(rebuild => true)'),
 (1412, 'SELECT audit_chain.in_eea(NULL)'),
 (1413, 'SELECT audit_chain.log_event(''api_request'', ''x'', transfer_country => ''u s'')'),
 (1414, 'SELECT audit_chain.log_event(''api_request'', ''x'', transfer_country => ''US'')'),
 (1415, 'SELECT audit_chain.register_event()')
) v(n, q);
RESET SESSION AUTHORIZATION;
SELECT is(o.result, e.result, o.q)
  FROM sec_args_out o
  JOIN (VALUES
    (1401, '22023'), (1402, '22023'), (1403, '42501'), (1404, '22023'), (1405, '22023'),
    (1406, '42501'), (1407, '22023'), (1408, '42501'), (1409, '22023'), (1410, '22023'),
    (1411, 'ok'), (1412, 'ok'), (1413, '22023'), (1414, '42501'), (1415, '0A000')
  ) e(n, result) ON e.n = o.n
 ORDER BY o.n;
SELECT is((SELECT count(*)::int FROM sec_args_out WHERE n > 1400), 15, 'every call of issue 14 ran');
-- the register's trigger function runs as the extension owner: a role that
-- was granted it cannot put it on a table of its own to forge the register
SET SESSION AUTHORIZATION sec_args;
CREATE TABLE sec_args.fake (event_id uuid, occurred_at timestamptz, chain_lane smallint, chain_seq bigint,
                            purpose text, legal_basis text, data_subject text, data_categories text[],
                            disclosure_to text, provider text, transfer_country text);
CREATE TRIGGER forge AFTER INSERT ON sec_args.fake FOR EACH ROW EXECUTE FUNCTION audit_chain.register_event();
SELECT throws_ok($$INSERT INTO sec_args.fake VALUES (gen_random_uuid(), now(), 0, 1, 'forged', 'consent',
                                                    's', '{x}', 'Evil Corp', NULL, 'KP')$$,
                 '39P01', NULL, 'register_event() on a table of its own: refused');
RESET SESSION AUTHORIZATION;
SELECT is((SELECT count(*)::int FROM audit_chain.register_lanes WHERE purpose = 'forged'), 0,
          'and nothing was added to the register');
SELECT is((SELECT string_agg(DISTINCT what, ', ') FROM sec_args.hits), NULL,
          'no look-alike operator ran inside the extension');

-- a published document that is well formed but holds no checkpoint: a
-- finding in the checkpoints' row, not an error
SELECT is((SELECT problem FROM audit_chain.verify_chain(NULL, false,
               '{"format": "audit_chain/checkpoint-export/v1", "checkpoint_id": 1, "payload": "YWJj"}')
            WHERE tbl = 'audit_chain.checkpoints'::regclass),
          'published checkpoint 1: its payload is not a checkpoint payload v2: it is empty, holds a zero byte or does not end in a line feed',
          'a published document with a garbage payload is reported, not trusted');
SELECT throws_ok($$SELECT * FROM audit_chain.verify_chain(NULL, false, '"garbage"')$$, '22023',
                 'published checkpoint document 1 is not a checkpoint export',
                 'a published document that is no export: a clear error');

-- A role granted nothing may neither export nor verify
CREATE ROLE sec_args_none NOLOGIN;
SET SESSION AUTHORIZATION sec_args_none;
SELECT throws_ok($$SELECT audit_chain.export_checkpoint()$$, '42501', NULL,
                 'export_checkpoint() is not for PUBLIC');
SELECT throws_ok($$SELECT * FROM audit_chain.verify_chain(NULL, false, '[]')$$, '42501', NULL,
                 'nor verify_chain() with published checkpoints');
SELECT throws_ok($$SELECT audit_chain.checkpoint()$$, '42501', NULL,
                 'nor checkpoint()');
RESET SESSION AUTHORIZATION;

SELECT * FROM finish();
ROLLBACK;
