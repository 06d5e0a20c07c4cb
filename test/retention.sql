-- set_retention() and legal_hold(): the presets, every refusal (SQLSTATE and
-- message), the policies table, the hold log and view, unprotect() under a
-- hold, and the retention column of the GDPR Art. 30 register.
\set ON_ERROR_STOP true
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off

BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL intervalstyle = postgres;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS audit_chain;

SELECT plan(74);

CREATE SCHEMA tap_ret;
CREATE TABLE tap_ret.visits (id int, patient text);
SELECT audit_chain.protect('tap_ret.visits');
CREATE TABLE tap_ret.tickets (id int, subject text);
SELECT audit_chain.protect('tap_ret.tickets', 2);
CREATE TABLE tap_ret.plain (id int);
CREATE VIEW tap_ret.v AS SELECT 1 AS x;
CREATE TABLE tap_ret.parted (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE tap_ret.parted_1 PARTITION OF tap_ret.parted FOR VALUES FROM ('2020-01-01') TO ('2030-01-01');
SELECT audit_chain.protect('tap_ret.parted');

-- The objects
SELECT has_table('audit_chain', 'retention_policies', 'retention_policies exists');
SELECT col_is_pk('audit_chain', 'retention_policies', 'tbl', 'one policy per table');
SELECT columns_are('audit_chain', 'retention_policies',
                   ARRAY['tbl', 'keep', 'framework', 'archive_keep', 'set_at', 'set_by'],
                   'retention_policies has its columns');
SELECT has_table('audit_chain', 'legal_hold_log', 'legal_hold_log exists');
SELECT has_view('audit_chain', 'legal_holds', 'legal_holds exists');
SELECT function_returns('audit_chain', 'set_retention', ARRAY['regclass', 'interval', 'text', 'interval'],
                        'void', 'set_retention(regclass, interval, text, interval) returns void');
SELECT function_returns('audit_chain', 'legal_hold', ARRAY['regclass', 'boolean', 'text'],
                        'void', 'legal_hold(regclass, boolean, text) returns void');
SELECT is((SELECT array_agg(c::regclass::text ORDER BY c::regclass::text)
             FROM pg_extension e, unnest(e.extconfig) c WHERE e.extname = 'audit_chain'
              AND c::regclass::text IN ('audit_chain.retention_policies', 'audit_chain.legal_hold_log',
                                        'audit_chain.legal_hold_log_id_seq')),
          ARRAY['audit_chain.legal_hold_log', 'audit_chain.legal_hold_log_id_seq',
                'audit_chain.retention_policies'],
          'pg_dump keeps the policies and the hold log (pg_extension_config_dump)');

-- Presets
SELECT lives_ok($$SELECT audit_chain.set_retention('tap_ret.visits', framework => 'HIPAA')$$,
                'HIPAA with keep NULL');
SELECT is((SELECT format('%s %s %s', keep, framework, archive_keep IS NULL)
             FROM audit_chain.retention_policies WHERE tbl = 'tap_ret.visits'::regclass),
          '6 years HIPAA t', 'HIPAA takes six years');
SELECT lives_ok($$SELECT audit_chain.set_retention('tap_ret.tickets', NULL, 'SOC2')$$, 'SOC2 with keep NULL');
SELECT is((SELECT format('%s %s', keep, framework)
             FROM audit_chain.retention_policies WHERE tbl = 'tap_ret.tickets'::regclass),
          '1 year SOC 2', 'SOC 2 takes one year, stored as "SOC 2"');
SELECT lives_ok($$SELECT audit_chain.set_retention('tap_ret.tickets', NULL, 'soc 2')$$, '"soc 2" is SOC 2');
SELECT lives_ok($$SELECT audit_chain.set_retention('tap_ret.tickets', NULL, ' Soc-2 ')$$, '" Soc-2 " is SOC 2');
SELECT lives_ok($$SELECT audit_chain.set_retention('tap_ret.visits', NULL, 'hipaa')$$, '"hipaa" is HIPAA');

-- Longer than the preset, an archive period, GDPR with a keep, a policy of one's own
SELECT lives_ok($$SELECT audit_chain.set_retention('tap_ret.visits', interval '10 years', 'HIPAA', interval '2 years')$$,
                'HIPAA with a longer keep and an archive period');
SELECT is((SELECT format('%s %s %s', keep, framework, archive_keep)
             FROM audit_chain.retention_policies WHERE tbl = 'tap_ret.visits'::regclass),
          '10 years HIPAA 2 years', 'the policy is replaced');
SELECT is((SELECT count(*)::int FROM audit_chain.retention_policies WHERE tbl = 'tap_ret.visits'::regclass),
          1, 'one row per table');
SELECT lives_ok($$SELECT audit_chain.set_retention('tap_ret.tickets', interval '30 days', 'GDPR')$$,
                'GDPR with a keep of the controller''s choosing');
SELECT lives_ok($$SELECT audit_chain.set_retention('tap_ret.parted', interval '1 hour')$$,
                'a policy of one''s own on a partitioned table: any positive keep');
SELECT is((SELECT format('%s %s', keep, framework IS NULL)
             FROM audit_chain.retention_policies WHERE tbl = 'tap_ret.parted'::regclass),
          '01:00:00 t', 'stored with framework NULL');
SELECT lives_ok($$SELECT audit_chain.set_retention('tap_ret.visits', interval '2192 days', 'HIPAA')$$,
                'HIPAA: 2192 days is six years of 365.25 days');
SELECT is((SELECT set_by FROM audit_chain.retention_policies WHERE tbl = 'tap_ret.visits'::regclass),
          session_user, 'set_by is the session user');

-- Refusals
SELECT throws_ok($$SELECT audit_chain.set_retention('tap_ret.visits', NULL, 'GDPR')$$, '22004',
                 'GDPR sets no retention period: the controller must choose keep',
                 'GDPR has no default, and the error says so');
SELECT throws_ok($$SELECT audit_chain.set_retention('tap_ret.visits', NULL)$$, '22004',
                 'keep must not be NULL', 'keep NULL without a framework');
SELECT throws_ok($$SELECT audit_chain.set_retention('tap_ret.visits')$$, '22004',
                 'keep must not be NULL', 'no keep at all');
SELECT throws_ok($$SELECT audit_chain.set_retention('tap_ret.visits', interval '5 years', 'HIPAA')$$, '22023',
                 'keep 5 years is shorter than the HIPAA retention period of 6 years',
                 'a keep shorter than HIPAA''s six years is refused');
SELECT throws_ok($$SELECT audit_chain.set_retention('tap_ret.visits', interval '2190 days', 'HIPAA')$$, '22023',
                 'keep 2190 days is shorter than the HIPAA retention period of 6 years',
                 'six years of 365 days are not six years');
SELECT throws_ok($$SELECT audit_chain.set_retention('tap_ret.tickets', interval '364 days', 'SOC 2')$$, '22023',
                 'keep 364 days is shorter than the SOC 2 retention period of 1 year',
                 'a keep shorter than SOC 2''s year (was accepted: interval comparison counts 360 days a year)');
SELECT throws_ok($$SELECT audit_chain.set_retention('tap_ret.tickets', interval '11 months', 'SOC 2')$$, '22023',
                 'keep 11 mons is shorter than the SOC 2 retention period of 1 year',
                 'eleven months are not a year');
SELECT throws_ok($$SELECT audit_chain.set_retention('tap_ret.visits', interval '0')$$, '22023',
                 'keep must be a positive interval, not 00:00:00', 'a zero keep');
SELECT throws_ok($$SELECT audit_chain.set_retention('tap_ret.visits', interval '-1 day')$$, '22023',
                 'keep must be a positive interval, not -1 days', 'a negative keep');
SELECT throws_ok($$SELECT audit_chain.set_retention('tap_ret.visits', interval '1 month -30 days')$$, '22023',
                 'keep must be a positive interval, not 1 mon -30 days', 'a keep that adds up to zero');
SELECT throws_ok($$SELECT audit_chain.set_retention('tap_ret.visits', interval '1 year -365 days')$$, '22023',
                 'keep must be a positive interval, not 1 year -365 days',
                 'a keep that is zero or less by either count');
SELECT throws_ok($$SELECT audit_chain.set_retention('tap_ret.visits', interval '1 year', 'PCI DSS')$$, '22023',
                 'unknown retention framework "PCI DSS"', 'an unknown framework');
SELECT throws_ok($$SELECT audit_chain.set_retention('tap_ret.visits', interval '1 year', '')$$, '22023',
                 'unknown retention framework ""', 'an empty framework');
SELECT throws_ok($$SELECT audit_chain.set_retention('tap_ret.visits', interval '1 year', archive_keep => interval '0')$$,
                 '22023', 'archive_keep must be a positive interval, not 00:00:00', 'a zero archive_keep');
SELECT throws_ok($$SELECT audit_chain.set_retention('tap_ret.visits', interval '1 year', archive_keep => interval '-2 years')$$,
                 '22023', 'archive_keep must be a positive interval, not -2 years', 'a negative archive_keep');
SELECT throws_ok($$SELECT audit_chain.set_retention('tap_ret.plain', interval '1 year')$$, '55000',
                 'table "plain" is not a chained table', 'a table that is not chained');
SELECT throws_ok($$SELECT audit_chain.set_retention('tap_ret.parted_1', interval '1 year')$$, '55000',
                 'table "parted_1" is not a chained table', 'a partition of a chained table');
SELECT throws_ok($$SELECT audit_chain.set_retention('tap_ret.v', interval '1 year')$$, '42809',
                 '"v" is not a table', 'a view');
SELECT throws_ok($$SELECT audit_chain.set_retention(NULL, interval '1 year')$$, '22004',
                 'table must not be NULL', 'a NULL table');
SELECT throws_ok($$SELECT audit_chain.set_retention(0, interval '1 year')$$, '42P01',
                 'relation with OID 0 does not exist', 'OID 0');
SELECT throws_ok($$SELECT audit_chain.set_retention(4294967295::oid::regclass, interval '1 year')$$, '42P01',
                 'relation with OID 4294967295 does not exist', 'a dropped OID');
SELECT is((SELECT format('%s %s', keep, archive_keep IS NULL)
             FROM audit_chain.retention_policies WHERE tbl = 'tap_ret.visits'::regclass),
          '2192 days t', 'a refused call changes nothing');

-- Legal hold
SELECT lives_ok($$SELECT audit_chain.legal_hold('tap_ret.visits', true, 'case 17')$$, 'place a hold');
SELECT is((SELECT format('%s %s %s', tbl, held_by = session_user, reason) FROM audit_chain.legal_holds),
          'tap_ret.visits t case 17', 'legal_holds shows it');
SELECT throws_ok($$SELECT audit_chain.legal_hold('tap_ret.visits', true, 'case 18')$$, '55000',
                 'table "tap_ret.visits" is already under legal hold', 'holds do not stack');
SELECT throws_ok($$SELECT audit_chain.unprotect('tap_ret.visits')$$, '55000',
                 'cannot unprotect "tap_ret.visits", which is under legal hold',
                 'unprotect() is refused under hold (unchained, the table could be dropped)');
SELECT is((SELECT count(*)::int FROM audit_chain.chains WHERE tbl = 'tap_ret.visits'::regclass), 1,
          'and the table stays chained');
SELECT throws_ok($$SELECT audit_chain.legal_hold('tap_ret.tickets', false, 'x')$$, '55000',
                 'table "tap_ret.tickets" is not under legal hold', 'release of a hold that is not on');
SELECT throws_ok($$SELECT audit_chain.legal_hold('tap_ret.tickets', true, NULL)$$, '22023',
                 'a legal hold needs a reason', 'a hold without a reason');
SELECT throws_ok($$SELECT audit_chain.legal_hold('tap_ret.tickets', true)$$, '22023',
                 'a legal hold needs a reason', 'a hold without a reason argument');
SELECT throws_ok($$SELECT audit_chain.legal_hold('tap_ret.tickets', true, E' \t\n')$$, '22023',
                 'a legal hold needs a reason', 'a hold with a blank reason');
SELECT throws_ok($$SELECT audit_chain.legal_hold('tap_ret.tickets', NULL, 'x')$$, '22004',
                 'on must not be NULL', 'on NULL');
SELECT throws_ok($$SELECT audit_chain.legal_hold(NULL, true, 'x')$$, '22004',
                 'table must not be NULL', 'a NULL table');
SELECT throws_ok($$SELECT audit_chain.legal_hold('tap_ret.plain', true, 'x')$$, '55000',
                 'table "plain" is not a chained table', 'a table that is not chained');
SELECT throws_ok($$SELECT audit_chain.legal_hold('tap_ret.v', true, 'x')$$, '42809',
                 '"v" is not a table', 'a view');
SELECT throws_ok($$SELECT audit_chain.legal_hold(0, true, 'x')$$, '42P01',
                 'relation with OID 0 does not exist', 'OID 0');
SELECT lives_ok($$SELECT audit_chain.legal_hold('tap_ret.visits', "on" => false, reason => 'case 17 closed')$$,
                'release, with the named argument "on"');
SELECT is((SELECT count(*)::int FROM audit_chain.legal_holds), 0, 'no hold is on');
SELECT lives_ok($$SELECT audit_chain.legal_hold('tap_ret.parted', true, 'case 19')$$, 'a hold on a partitioned table');
SELECT is((SELECT array_agg(format('%s %s %s', tbl_name, hold, reason) ORDER BY id) FROM audit_chain.legal_hold_log),
          ARRAY['tap_ret.visits t case 17', 'tap_ret.visits f case 17 closed', 'tap_ret.parted t case 19'],
          'legal_hold_log keeps every hold and release');
SELECT throws_ok($$SELECT audit_chain.unprotect('tap_ret.parted')$$, '55000',
                 'cannot unprotect "tap_ret.parted", which is under legal hold', 'nor a partitioned one under hold');
SELECT throws_ok($$INSERT INTO audit_chain.legal_hold_log (tbl, tbl_name, hold) VALUES ('tap_ret.visits', 'x', true)$$,
                 '23514', NULL, 'the log itself refuses a hold without a reason');

-- unprotect() drops the policy of the table it unchains
SELECT lives_ok($$SELECT audit_chain.unprotect('tap_ret.tickets')$$, 'unprotect a table with a policy');
SELECT is((SELECT count(*)::int FROM audit_chain.retention_policies WHERE tbl = 'tap_ret.tickets'::regclass), 0,
          'its policy is gone');
SELECT throws_ok($$SELECT audit_chain.set_retention('tap_ret.tickets', interval '1 year')$$, '55000',
                 'table "tickets" is not a chained table', 'and no new one can be set');

-- The GDPR Art. 30 register
SELECT audit_chain.log_event('api_request', 'triage', purpose => 'tap retention');
CALL audit_chain.refresh_reports();
SELECT is((SELECT retention FROM audit_chain.gdpr_processing_records WHERE purpose = 'tap retention'),
          NULL, 'no policy for the events: retention is NULL');
SELECT audit_chain.set_retention('audit_chain.events', framework => 'HIPAA');
SELECT is((SELECT retention FROM audit_chain.gdpr_processing_records WHERE purpose = 'tap retention'),
          'keep 6 years (HIPAA); archive: no limit', 'the register shows the events'' policy');
SELECT audit_chain.set_retention('audit_chain.events', interval '18 months', 'GDPR', interval '6 months');
SELECT audit_chain.legal_hold('audit_chain.events', true, 'inquiry 3');
SELECT is((SELECT retention FROM audit_chain.gdpr_processing_records WHERE purpose = 'tap retention'),
          'keep 1 year 6 mons (GDPR); archive: 6 mons; legal hold', 'and a legal hold on them');
SELECT throws_ok($$DROP EXTENSION audit_chain$$, '55000',
                 'cannot drop extension audit_chain while audit_chain.events is under legal hold',
                 'DROP EXTENSION would drop the events under hold: refused');
SELECT throws_ok($$DROP EXTENSION audit_chain CASCADE$$, '55000',
                 'cannot drop extension audit_chain while audit_chain.events is under legal hold',
                 'also with CASCADE');
SELECT columns_are('audit_chain', 'gdpr_processing_records',
                   ARRAY['purpose', 'legal_bases', 'data_categories', 'recipients', 'subjects', 'events',
                         'first_event', 'last_event', 'retention', 'as_of', 'transfers'],
                   'the register keeps its columns');

SELECT * FROM finish();
ROLLBACK;
