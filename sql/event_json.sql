\set VERBOSITY terse
--
-- event_json(): one event as the SIEM feed's document (doc/siem.md), in C
-- (src/eventjson.c).  Checked against the mapping written in SQL (as
-- export_events() built it before), on events with every edge the C has to
-- get right, and on the events the other tests wrote.
--
SET client_min_messages = warning;
-- the reference: the ECS and raw documents as SQL builds them
CREATE FUNCTION pg_temp.ref_doc(e audit_chain.events, format text) RETURNS text
LANGUAGE sql STABLE SET timezone = 'UTC' AS $ref$
SELECT (CASE WHEN format = 'raw' THEN (pg_catalog.jsonb_strip_nulls(pg_catalog.to_jsonb(o.e)) - 'chain_prev' - 'chain_hash'
                  - 'input_digest' - 'output_digest'
                  || pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                         'chain_prev', pg_catalog.encode((o.e).chain_prev, 'hex'),
                         'chain_hash', pg_catalog.encode((o.e).chain_hash, 'hex'),
                         'input_digest', pg_catalog.encode((o.e).input_digest, 'hex'),
                         'output_digest', pg_catalog.encode((o.e).output_digest, 'hex')))
                  || pg_catalog.jsonb_build_object('occurred_at', t.occurred_at, 'chain_at', t.chain_at)) ELSE pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
            '@timestamp', t.occurred_at,
            'ecs', pg_catalog.jsonb_build_object('version', '8.17.0'),
            'event', pg_catalog.jsonb_build_object(
                'id', (o.e).event_id,
                'kind', 'event',
                'category', pg_catalog.jsonb_build_array(c.category),
                'type', pg_catalog.to_jsonb(c.types),
                'action', (o.e).action,
                'outcome', CASE (o.e).outcome WHEN 'success' THEN 'success' ELSE 'failure' END,
                'reason', CASE WHEN (o.e).outcome IN ('denied', 'blocked', 'error') THEN (o.e).outcome END,
                'duration', (o.e).latency_ms::bigint * 1000000,
                'dataset', 'audit_chain.events',
                'module', 'audit_chain'),
            'user', NULLIF(pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('name', (o.e).actor)), '{}'),
            'source', NULLIF(pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('ip', pg_catalog.host((o.e).client_addr))), '{}'),
            'user_agent', NULLIF(pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('original', (o.e).user_agent)), '{}'),
            'url', CASE WHEN (o.e).resource ~ '^[A-Za-z][A-Za-z0-9+.-]*://'
                        THEN pg_catalog.jsonb_build_object('original', (o.e).resource)
                        WHEN (o.e).resource ~ '^/'
                        THEN pg_catalog.jsonb_build_object('path', (o.e).resource) END,
            'gen_ai', NULLIF(pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                'provider', NULLIF(pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('name', (o.e).provider)), '{}'),
                'system', (o.e).provider,
                'request', NULLIF(pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('model', (o.e).model)), '{}'),
                'usage', NULLIF(pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                    'input_tokens', (o.e).input_tokens,
                    'output_tokens', (o.e).output_tokens)), '{}'))), '{}'),
            'trace', NULLIF(pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('id', j.j->'trace_id')), '{}'),
            'http', NULLIF(pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                'request', NULLIF(pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('id', j.j->'request_id')), '{}'))), '{}'),
            -- every other column under its own name (columns added later
            -- too), and the chain columns
            'audit_chain', (j.j - ARRAY['event_id', 'occurred_at', 'action', 'actor', 'client_addr',
                                        'user_agent', 'provider', 'model', 'input_tokens', 'output_tokens',
                                        'latency_ms', 'chain_lane', 'chain_seq', 'chain_at', 'chain_prev',
                                        'chain_hash', 'input_digest', 'output_digest'])
                           || pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                'table', 'audit_chain.events',
                'lane', (o.e).chain_lane,
                'seq', (o.e).chain_seq,
                'at', t.chain_at,
                'prev', pg_catalog.encode((o.e).chain_prev, 'hex'),
                'hash', pg_catalog.encode((o.e).chain_hash, 'hex'),
                'input_digest', pg_catalog.encode((o.e).input_digest, 'hex'),
                'output_digest', pg_catalog.encode((o.e).output_digest, 'hex'))))) END)::text
  FROM (SELECT e) o
         CROSS JOIN LATERAL (
             -- to_jsonb() writes a time before year 1 as "0044-03-15T12:00:00+00:00 BC",
             -- which is not ISO 8601: astronomical year numbering instead (1 BC is 0000)
             SELECT pg_catalog.max(CASE WHEN v.k = 'o' THEN v.iso END) AS occurred_at,
                    pg_catalog.max(CASE WHEN v.k = 'c' THEN v.iso END) AS chain_at
               FROM (SELECT z.k, CASE WHEN rm.m IS NULL THEN pg_catalog.to_jsonb(z.ts) #>> '{}'
                                      WHEN rm.m[1]::integer = 1 THEN '0000' || rm.m[2]
                                      ELSE '-' || pg_catalog.lpad((rm.m[1]::integer - 1)::text, 4, '0') || rm.m[2] END
                       FROM (VALUES ('o', (o.e).occurred_at), ('c', (o.e).chain_at)) AS z(k, ts)
                       LEFT JOIN LATERAL pg_catalog.regexp_match(pg_catalog.to_jsonb(z.ts) #>> '{}', '^([0-9]+)(-.*) BC$') AS rm(m)
                         ON z.ts OPERATOR(pg_catalog.<) '0001-01-01 00:00:00+00'::timestamptz) AS v(k, iso)) AS t
         CROSS JOIN LATERAL (SELECT pg_catalog.jsonb_strip_nulls(pg_catalog.to_jsonb(o.e)) AS j) AS j
         CROSS JOIN LATERAL (
             SELECT CASE (o.e).event_type
                        WHEN 'authentication' THEN 'authentication'
                        WHEN 'api_request' THEN 'api'
                        WHEN 'error' THEN 'api'
                        WHEN 'data_access' THEN 'database'
                        WHEN 'row_change' THEN 'database'
                        WHEN 'disclosure' THEN 'database'
                        WHEN 'security' THEN 'intrusion_detection'
                        WHEN 'consent' THEN 'iam'
                        WHEN 'admin' THEN CASE WHEN (o.e).action ~ '(grant|revoke|role|user|policy)' THEN 'iam'
                                               ELSE 'configuration' END
                    END AS category,
                    CASE
                        WHEN (o.e).event_type = 'authentication'
                        THEN CASE WHEN (o.e).action ~ '^(login|logon|sign.?in)' THEN ARRAY['start']
                                  WHEN (o.e).action ~ '^(logout|logoff|sign.?out)' THEN ARRAY['end']
                                  ELSE ARRAY['info'] END
                        WHEN (o.e).event_type IN ('api_request', 'security')
                        THEN CASE WHEN (o.e).outcome IN ('denied', 'blocked') THEN ARRAY['denied']
                                  WHEN (o.e).event_type = 'security' THEN ARRAY['info']
                                  ELSE ARRAY['access'] END
                        WHEN (o.e).event_type = 'error' THEN ARRAY['info']
                        WHEN (o.e).event_type IN ('data_access', 'disclosure') THEN ARRAY['access']
                        WHEN (o.e).event_type IN ('row_change', 'admin', 'consent')
                        THEN CASE WHEN (o.e).action ~ '^(insert|create)' THEN ARRAY['creation']
                                  WHEN (o.e).action ~ '^(delete|drop)' THEN ARRAY['deletion']
                                  ELSE ARRAY['change'] END
                    END AS types) AS c
$ref$;
-- events built as values (nothing inserted): event_json() reads only its
-- argument
CREATE TEMP TABLE ej_cases (name text, e audit_chain.events);
INSERT INTO ej_cases
SELECT c.name, jsonb_populate_record(NULL::audit_chain.events, b.base || c.over)
  FROM (SELECT '{"event_id": "6f1d4a2c-0b6e-4b1a-9a55-3f2f8f0e1c01", "occurred_at": "2026-06-01 12:00:00.5+00",
                 "event_type": "api_request", "action": "chat.completion", "outcome": "success",
                 "db_role": "app", "phi": false, "chain_lane": 3, "chain_seq": 42,
                 "chain_at": "2026-06-01 12:00:01+00",
                 "chain_prev": "\\x00ff", "chain_hash": "\\xabcdef0123"}'::jsonb AS base) b
 CROSS JOIN LATERAL (VALUES
    ('minimal', '{}'::jsonb),
    ('ai call', '{"actor": "alice", "client_addr": "10.0.0.7", "user_agent": "curl/8", "resource": "https://api.example.com/v1",
                  "provider": "openai", "model": "gpt-4o", "input_tokens": 10, "output_tokens": 0, "latency_ms": 1500,
                  "cost": 0.000120, "input_digest": "\\x01", "output_digest": "\\x02", "request_id": "req-1",
                  "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7",
                  "safety_detectors": ["pii_email"], "safety_reason": "email in prompt", "transfer_country": "US"}'),
    ('tokens only', '{"input_tokens": 5}'),
    ('BC times', '{"occurred_at": "0044-03-15 12:00:00+00 BC", "chain_at": "0001-12-31 23:59:59.999999+00 BC"}'),
    ('year 10000', '{"occurred_at": "12345-01-01 00:00:00+00"}'),
    ('infinity', '{"occurred_at": "infinity", "chain_at": "-infinity"}'),
    ('NaN cost', '{"cost": "NaN"}'),
    ('nested nulls', '{"details": {"a": null, "b": {"c": null, "d": [null, 1, {"e": null}]}, "f": "x"}}'),
    ('details null', '{"details": null}'),
    ('details JSON null', '{}'),
    ('details string', '{"details": "just text"}'),
    ('details array', '{"details": [null, 1]}'),
    ('empty array', '{"data_categories": []}'),
    ('array with NULL', '{"data_categories": ["health", null]}'),
    ('strings to escape', '{"actor": "a \"quoted\"\\\\ back\nnew\u00e9\u4e2d", "session_id": "\t"}'),
    ('masked client', '{"client_addr": "10.1.0.0/16"}'),
    ('IPv6 client', '{"client_addr": "2001:db8::1"}'),
    ('path resource', '{"resource": "/v1/embeddings"}'),
    ('odd scheme', '{"resource": "git+ssh.x-y://host/repo"}'),
    ('not a url', '{"resource": "1http://x"}'),
    ('relative resource', '{"resource": "ehr/patients"}'),
    ('denied call', '{"outcome": "denied"}'),
    ('blocked call', '{"outcome": "blocked"}'),
    ('error call', '{"outcome": "error", "event_type": "error"}'),
    ('failed login', '{"event_type": "authentication", "action": "login", "outcome": "failure"}'),
    ('sign-in', '{"event_type": "authentication", "action": "sign-in"}'),
    ('sign in, en dash', '{"event_type": "authentication", "action": "sign\u2013in"}'),
    ('signing', '{"event_type": "authentication", "action": "signing.key"}'),
    ('sign out', '{"event_type": "authentication", "action": "sign_out"}'),
    ('logoff', '{"event_type": "authentication", "action": "logoff"}'),
    ('mfa', '{"event_type": "authentication", "action": "mfa.verify"}'),
    ('security', '{"event_type": "security", "action": "rate_limit"}'),
    ('security blocked', '{"event_type": "security", "action": "ip", "outcome": "blocked"}'),
    ('read', '{"event_type": "data_access", "action": "read"}'),
    ('disclosure', '{"event_type": "disclosure", "action": "records.disclosed"}'),
    ('insert', '{"event_type": "row_change", "action": "insert"}'),
    ('delete', '{"event_type": "row_change", "action": "delete"}'),
    ('update', '{"event_type": "row_change", "action": "update"}'),
    ('grant', '{"event_type": "admin", "action": "grant"}'),
    ('create role', '{"event_type": "admin", "action": "create role"}'),
    ('drop table', '{"event_type": "admin", "action": "drop table"}'),
    ('alter system', '{"event_type": "admin", "action": "alter system"}'),
    ('consent given', '{"event_type": "consent", "action": "consent_given"}'),
    ('unknown type', '{"event_type": "something_else"}'),
    ('no outcome', '{"outcome": null}')
 ) AS c(name, over);
UPDATE ej_cases SET e.details = 'null'::jsonb WHERE name = 'details JSON null';
INSERT INTO ej_cases SELECT '2-D array', e FROM ej_cases WHERE name = 'minimal';
-- a value with every column NULL (not a row the table could hold)
INSERT INTO ej_cases VALUES ('all NULL', jsonb_populate_record(NULL::audit_chain.events, '{}'));
UPDATE ej_cases SET e.data_categories = '{{a,b},{c,NULL}}' WHERE name = '2-D array';
-- both documents of every case equal the reference, byte for byte
SELECT name,
       audit_chain.event_json(e, 'raw')::text = pg_temp.ref_doc(e, 'raw') AS raw_same,
       audit_chain.event_json(e)::text = pg_temp.ref_doc(e, 'ecs') AS ecs_same
  FROM ej_cases WHERE name <> 'all NULL' ORDER BY name;
-- every column NULL: no member at all (the SQL wrote "occurred_at": null and
-- "chain_at": null in raw, which a row of the table, NOT NULL there, never has)
SELECT audit_chain.event_json(e, 'raw') AS raw, audit_chain.event_json(e) AS ecs
  FROM ej_cases WHERE name = 'all NULL';
-- and on every event the other tests wrote
SELECT count(*) > 0 AS events,
       count(*) FILTER (WHERE audit_chain.event_json(e, 'raw')::text <> pg_temp.ref_doc(e, 'raw')) AS raw_differ,
       count(*) FILTER (WHERE audit_chain.event_json(e, 'ecs')::text <> pg_temp.ref_doc(e, 'ecs')) AS ecs_differ
  FROM audit_chain.events e;
-- what some of them look like
SELECT name, audit_chain.event_json(e, 'raw') ->> 'occurred_at' AS raw_occurred_at,
       audit_chain.event_json(e) -> 'audit_chain' ->> 'at' AS ecs_at
  FROM ej_cases WHERE name IN ('BC times', 'year 10000', 'infinity', 'minimal') ORDER BY name;
SELECT name, audit_chain.event_json(e) -> 'event' -> 'category' AS category,
       audit_chain.event_json(e) -> 'event' -> 'type' AS type
  FROM ej_cases WHERE (e).event_type <> 'api_request' OR name = 'denied call' ORDER BY name;
SELECT audit_chain.event_json(e) FROM ej_cases WHERE name = 'ai call';
SELECT audit_chain.event_json(e, 'raw') FROM ej_cases WHERE name IN ('nested nulls', 'strings to escape', '2-D array', 'NaN cost')
 ORDER BY name;
-- the session's TimeZone does not change the times
SET timezone = 'America/New_York';
SELECT audit_chain.event_json(e) ->> '@timestamp' AS ts FROM ej_cases WHERE name = 'minimal';
RESET timezone;
-- a NULL event is NULL; a bad format is an error
SELECT audit_chain.event_json(NULL::audit_chain.events) IS NULL AS null_event;
SELECT audit_chain.event_json(e, 'ocsf') FROM ej_cases WHERE name = 'minimal';
SELECT audit_chain.event_json(e, NULL) FROM ej_cases WHERE name = 'minimal';
SELECT audit_chain.event_json(NULL::audit_chain.events, 'xml');
-- it needs no privilege: a role with none builds an event and gets its document
CREATE ROLE ej_nobody;
SET ROLE ej_nobody;
SELECT audit_chain.event_json(jsonb_populate_record(NULL::audit_chain.events,
           '{"event_type": "security", "action": "probe", "outcome": "success", "chain_lane": 0, "chain_seq": 1}'))
       -> 'event' ->> 'category' AS category;
SELECT count(*) FROM audit_chain.events;
RESET ROLE;
DROP ROLE ej_nobody;
