\set VERBOSITY terse
--
-- export_events(): the gap-free SIEM feed (README, "Shipping events to a SIEM")
--
SET client_min_messages = warning;
-- a v1 cursor from its body, with the checksum (for the forged cursors below)
CREATE FUNCTION pg_temp.cur(body text) RETURNS text LANGUAGE sql AS
$$ SELECT 'v1:' || body || ':' || left(encode(sha256(convert_to('audit_chain/v1 cursor ' || body, 'UTF8')), 'hex'), 8) $$;
-- every line from a cursor, in pages of page_size, as one shipper would get them
CREATE FUNCTION pg_temp.drain(c text, page_size integer, fmt text DEFAULT 'ecs')
RETURNS TABLE (n integer, line text, next_cursor text) LANGUAGE plpgsql AS $$
DECLARE
    got integer;
    r record;
BEGIN
    n := 0;
    LOOP
        got := 0;
        FOR r IN SELECT * FROM audit_chain.export_events(c, page_size, fmt) LOOP
            n := n + 1; got := got + 1;
            line := r.line; next_cursor := r.next_cursor; c := r.next_cursor;
            RETURN NEXT;
        END LOOP;
        EXIT WHEN got = 0;
    END LOOP;
END $$;
CREATE TEMP TABLE feed_start AS
SELECT (SELECT x.next_cursor FROM audit_chain.export_events(NULL, 1000000) WITH ORDINALITY AS x(l, next_cursor, i)
         ORDER BY x.i DESC LIMIT 1) AS c;
SELECT c ~ '^v1:([0-9]+\.[0-9]+\.[0-9a-f]{16}(,|:))+[0-9a-f]{8}$' AS start_cursor_is_v1 FROM feed_start;
SELECT c AS c0 FROM feed_start \gset
RESET client_min_messages;

-- the fixed data set: one event of every type, times given
SELECT count(*) AS written FROM (VALUES
    (audit_chain.log_event('api_request', 'chat completion', actor => 'agent-dee', resource => 'https://api.example.com/v1/chat',
        provider => 'openai', model => 'gpt-4o-mini', input_tokens => 812, output_tokens => 164, latency_ms => 930,
        cost => 0.000245, input_digest => audit_chain.digest('prompt'), output_digest => audit_chain.digest('answer'),
        purpose => 'customer support', legal_basis => 'consent', consent_id => 'c-17', data_subject => 'cust-8',
        data_categories => ARRAY['contact'], session_id => 'sess-1', client_addr => '203.0.113.7',
        user_agent => 'support-bot/2.1', details => '{"conversation": "conv-9"}', occurred_at => '2026-01-06 11:05:00+00')),
    (audit_chain.log_event('api_request', 'chat completion', outcome => 'blocked', actor => 'agent-dee',
        resource => '/v1/chat', provider => 'anthropic', model => 'claude-sonnet-4', input_tokens => 55,
        occurred_at => '2026-01-06 11:06:00+00')),
    (audit_chain.log_event('authentication', 'login', outcome => 'failure', actor => 'mallory',
        client_addr => '198.51.100.23', occurred_at => '2026-01-05 09:02:00+00')),
    (audit_chain.log_event('authentication', 'logout', actor => 'dr-adams', occurred_at => '2026-01-05 17:00:00+00')),
    (audit_chain.log_event('data_access', 'read chart', actor => 'dr-adams', resource => 'patient/1', phi => true,
        data_subject => 'patient-1', purpose => 'treatment', legal_basis => 'vital_interests',
        occurred_at => '2026-01-05 09:10:00+00')),
    (audit_chain.log_event('admin', 'grant role', actor => 'dba-fox', resource => 'role auditor',
        occurred_at => '2026-01-07 09:00:00+00')),
    (audit_chain.log_event('admin', 'create table', actor => 'dba-fox', resource => 'public.claims',
        occurred_at => '2026-01-07 09:01:00+00')),
    (audit_chain.log_event('security', 'rate limit', outcome => 'blocked', actor => 'bot-x',
        occurred_at => '2026-01-07 08:30:00+00')),
    (audit_chain.log_event('error', 'upstream timeout', outcome => 'error', provider => 'openai', latency_ms => 30000,
        occurred_at => '2026-01-07 08:31:00+00')),
    (audit_chain.log_event('consent', 'withdraw consent', data_subject => 'cust-8', consent_id => 'c-17',
        occurred_at => '2026-01-08 10:00:00+00')),
    (audit_chain.log_event('disclosure', 'send records', actor => 'clerk-cole', disclosure_to => 'Acme Insurance',
        authorization_ref => 'auth-991', data_subject => 'patient-1', phi => true, occurred_at => '2026-01-05 10:00:00+00')),
    (audit_chain.log_event('row_change', 'delete', resource => 'public.claims', occurred_at => '2026-01-07 10:00:00+00')),
    -- before year 1: ISO 8601 with astronomical year numbering
    (audit_chain.log_event('data_access', 'read scroll', actor => 'scribe', occurred_at => '0044-03-15 12:00:00+00 BC'))
) AS v(id);

-- ECS lines, in feed order (within a lane: seq order), volatile fields masked
SELECT n, (line::jsonb #- '{event,id}' #- '{audit_chain,at}' #- '{audit_chain,lane}' #- '{audit_chain,seq}'
           #- '{audit_chain,prev}' #- '{audit_chain,hash}' #- '{audit_chain,db_role}'
           #- '{audit_chain,application_name}')::text AS line
  FROM pg_temp.drain(:'c0', 100);
-- the chain columns are there, and the lane and seq of each line are those of its cursor
SELECT count(*) AS lines,
       bool_and(length(line::jsonb #>> '{audit_chain,hash}') = 64
                AND length(line::jsonb #>> '{audit_chain,prev}') = 64) AS hashes,
       bool_and(next_cursor LIKE '%' || (line::jsonb #>> '{audit_chain,lane}') || '.'
                || (line::jsonb #>> '{audit_chain,seq}') || '.'
                || left(line::jsonb #>> '{audit_chain,hash}', 16) || '%') AS cursor_names_the_line,
       count(DISTINCT line::jsonb #>> '{event,id}') AS distinct_events
  FROM pg_temp.drain(:'c0', 100);

-- raw: exactly the lines of export_jsonl()
SELECT count(*) AS raw_lines,
       count(*) FILTER (WHERE d.line IN (SELECT j FROM audit_chain.export_jsonl('-infinity') j)) AS as_export_jsonl
  FROM pg_temp.drain(:'c0', 100, 'raw') d;

-- pages of 1, 2, 5: the same lines in the same order, each once
SELECT s.size, count(*) AS lines,
       bool_and(p.line = a.line AND p.next_cursor = a.next_cursor) AS same_as_one_call
  FROM (VALUES (1), (2), (5)) AS s(size)
  CROSS JOIN LATERAL pg_temp.drain(:'c0', s.size) AS p
  JOIN pg_temp.drain(:'c0', 100) AS a USING (n)
 GROUP BY s.size ORDER BY s.size;

-- after the last event: nothing, until a new one
SELECT next_cursor AS c1 FROM pg_temp.drain(:'c0', 100) ORDER BY n DESC LIMIT 1 \gset
SELECT count(*) AS after_last FROM audit_chain.export_events(:'c1');

-- the README's scenario: an event whose time the application set in the past.
-- Six polls of the old recipe, export_jsonl(now() - 5 minutes), never see it;
-- the cursor delivers it once.
SELECT audit_chain.log_event('api_request', 'late', actor => 'backdated', occurred_at => now() - interval '1 day') IS NOT NULL AS written;
SELECT count(*) FILTER (WHERE l::jsonb->>'actor' = 'backdated') AS window_polls_saw_it
  FROM generate_series(1, 6) AS poll, LATERAL audit_chain.export_jsonl(now() - interval '5 minutes') AS l;
SELECT line::jsonb #>> '{user,name}' AS actor, line::jsonb #>> '{event,action}' AS action
  FROM audit_chain.export_events(:'c1');
SELECT count(*) AS second_poll FROM audit_chain.export_events(
    (SELECT next_cursor FROM audit_chain.export_events(:'c1')));

-- bad arguments and bad cursors: each a clear error (SQLSTATE, message, hint)
DO $$
DECLARE
    q text;
    msg text;
    detail text;
    hint text;
    good text := (SELECT c FROM feed_start);
    body text := split_part(good, ':', 2);
    first_lane text := split_part(split_part(body, ',', 1), '.', 1);
    first_seq bigint := split_part(split_part(body, ',', 1), '.', 2)::bigint;
BEGIN
    FOREACH q IN ARRAY ARRAY[
        'SELECT * FROM audit_chain.export_events(''garbage'')',
        'SELECT * FROM audit_chain.export_events('''')',
        'SELECT * FROM audit_chain.export_events(''v2:0.1.0123456789abcdef:01234567'')',
        'SELECT * FROM audit_chain.export_events(''v1:'')',
        'SELECT * FROM audit_chain.export_events(''v1:0.1.0123456789ABCDEF:01234567'')',
        'SELECT * FROM audit_chain.export_events(''v1:0.-1.0123456789abcdef:01234567'')',
        'SELECT * FROM audit_chain.export_events(' || quote_literal(good || ' ') || ')',
        -- one digit changed: the checksum no longer matches
        'SELECT * FROM audit_chain.export_events(' || quote_literal(overlay(good PLACING
            CASE substr(good, length(good) - 12, 1) WHEN '0' THEN '1' ELSE '0' END FROM length(good) - 12 FOR 1)) || ')',
        -- forged, with a correct checksum
        'SELECT * FROM audit_chain.export_events(pg_temp.cur(''64.1.0123456789abcdef''))',
        'SELECT * FROM audit_chain.export_events(pg_temp.cur(''3.1.0123456789abcdef,2.1.0123456789abcdef''))',
        'SELECT * FROM audit_chain.export_events(pg_temp.cur(''3.1.0123456789abcdef,3.2.0123456789abcdef''))',
        'SELECT * FROM audit_chain.export_events(pg_temp.cur(''0.0.0123456789abcdef''))',
        'SELECT * FROM audit_chain.export_events(pg_temp.cur(''0.9223372036854775808.0123456789abcdef''))',
        'SELECT * FROM audit_chain.export_events(pg_temp.cur(''20.1.0123456789abcdef''))',
        -- another database's cursor: the event it names has another hash
        'SELECT * FROM audit_chain.export_events(pg_temp.cur(''' || first_lane || '.' || first_seq || '.0123456789abcdef''))',
        -- ahead of the lane (a standby behind, or another database)
        'SELECT * FROM audit_chain.export_events(pg_temp.cur(''' || first_lane || '.' || (first_seq + 1000000) || '.0123456789abcdef''))',
        'SELECT * FROM audit_chain.export_events(NULL, 0)',
        'SELECT * FROM audit_chain.export_events(NULL, NULL)',
        'SELECT * FROM audit_chain.export_events(NULL, 1000001)',
        'SELECT * FROM audit_chain.export_events(NULL, 10, ''xml'')',
        'SELECT * FROM audit_chain.export_events(NULL, 10, NULL)'
    ] LOOP
        BEGIN
            EXECUTE q;
            RAISE NOTICE 'ok';
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
            RAISE NOTICE E'% %\n  detail: %\n  hint: %', SQLSTATE, regexp_replace(msg, 'lane [0-9]+', 'lane N'),
                regexp_replace(detail, '(Lane|lane|Event|seq) [0-9]+', '\1 N', 'g'),
                left(NULLIF(hint, ''), 70);
        END;
    END LOOP;
END $$;

-- not for PUBLIC: the feed carries personal data
SET ROLE ac_app;
SELECT * FROM audit_chain.export_events(NULL, 1);
RESET ROLE;
