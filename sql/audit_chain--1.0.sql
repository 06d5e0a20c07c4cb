/* audit_chain--1.0.sql: install script of audit_chain 1.0 */

\echo Use "CREATE EXTENSION audit_chain" to load this file. \quit

--
-- Registry of chains
--

CREATE TABLE audit_chain.chains (
    tbl             regclass    NOT NULL,
    -- 64 is AC_MAX_LANES (src/lane.h), the C code's limit on lanes
    lane            smallint    NOT NULL CHECK (lane >= 0 AND lane < 64),
    genesis         bytea       NOT NULL CHECK (pg_catalog.length(genesis) = 32),
    archived_seq    bigint      NOT NULL DEFAULT 0 CHECK (archived_seq >= 0),
    archived_hash   bytea       CHECK (archived_hash IS NULL OR pg_catalog.length(archived_hash) = 32),
    archived_at     timestamptz,
    -- rows of the archive purged through this seq (archive(), apply_retention()):
    -- the archived segment starts after purged_seq, at COALESCE(purged_hash, genesis)
    purged_seq      bigint      NOT NULL DEFAULT 0 CHECK (purged_seq >= 0),
    purged_hash     bytea       CHECK (purged_hash IS NULL OR pg_catalog.length(purged_hash) = 32),
    CHECK (purged_seq <= archived_seq),
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    created_by      name        NOT NULL DEFAULT SESSION_USER,
    -- NULL for a lane sealed here; for the copy of a publisher's lane that
    -- logical replication fills (protect_replica()): "<database> <table>"
    -- of the publisher, as its chain export names them
    replica_of      text,
    PRIMARY KEY (tbl, lane)
);
COMMENT ON TABLE audit_chain.chains IS
    'Every lane of every chained table: its genesis hash and archived-through boundary';
-- Every row is dumped, the lanes of audit_chain.events and
-- audit_chain.boundaries too: archive() and the purge move their boundaries,
-- which a restore must bring back.  This script makes those lanes again
-- before the restore loads the dumped rows, so restore_lane() below merges a
-- dumped row of such a lane into the one made here instead of failing on the
-- primary key.
SELECT pg_catalog.pg_extension_config_dump('audit_chain.chains', '');

-- BEFORE INSERT trigger of audit_chain.chains, while a dump is replayed (a
-- superuser with check_function_bodies off, as pg_dump's scripts and
-- pg_restore set it): a dumped row of a lane of audit_chain.events or
-- audit_chain.boundaries updates the lane this script made, if that one is
-- as this script made it (same genesis, no boundary moved), and is then
-- skipped.  Any other row goes in as it is (a clash fails on the key).
CREATE FUNCTION audit_chain.restore_lane()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    cur audit_chain.chains;
BEGIN
    -- (to_regclass: this script inserts the lanes of events before it makes
    -- boundaries)
    IF NEW.tbl::oid NOT IN (coalesce(to_regclass('audit_chain.events')::oid, 0),
                            coalesce(to_regclass('audit_chain.boundaries')::oid, 0))
       OR current_setting('check_function_bodies')::boolean
       OR NOT coalesce((SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user), false) THEN
        RETURN NEW;
    END IF;
    SELECT * INTO cur FROM audit_chain.chains c
     WHERE c.tbl = NEW.tbl AND c.lane = NEW.lane FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NEW;
    END IF;
    IF cur.genesis <> NEW.genesis OR cur.archived_seq <> 0 OR cur.purged_seq <> 0 THEN
        RAISE EXCEPTION 'cannot restore lane % of table "%" into a database where it is in use',
                        NEW.lane, NEW.tbl
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = CASE WHEN cur.genesis <> NEW.genesis
                                THEN 'The lane here has another genesis hash than the dumped one.'
                                ELSE format('The lane here starts after chain_seq %s already (the dump has %s).',
                                            greatest(cur.archived_seq, cur.purged_seq), NEW.archived_seq) END,
                  HINT = 'Restore the dump into a new database made with "createdb -T template0", without audit_chain.';
    END IF;
    UPDATE audit_chain.chains c
       SET archived_seq = NEW.archived_seq, archived_hash = NEW.archived_hash,
           archived_at = NEW.archived_at, purged_seq = NEW.purged_seq,
           purged_hash = NEW.purged_hash, created_at = NEW.created_at,
           created_by = NEW.created_by
     WHERE c.tbl = NEW.tbl AND c.lane = NEW.lane;
    RETURN NULL;
END
$fn$;
COMMENT ON FUNCTION audit_chain.restore_lane() IS
    'Row trigger of audit_chain.chains: a restored lane of audit_chain.events or audit_chain.boundaries updates the one CREATE EXTENSION made';
REVOKE ALL ON FUNCTION audit_chain.restore_lane() FROM PUBLIC;
CREATE TRIGGER zz_audit_chain_restore_lane BEFORE INSERT ON audit_chain.chains
    FOR EACH ROW EXECUTE FUNCTION audit_chain.restore_lane();

CREATE TABLE audit_chain.protection_log (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    logged_at   timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    logged_by   name        NOT NULL DEFAULT SESSION_USER,
    action      text        NOT NULL CHECK (action IN ('protect', 'protect_replica', 'unprotect')),
    tbl_name    text        NOT NULL,
    relid       oid         NOT NULL,
    lanes       integer     NOT NULL,
    rows_sealed bigint,
    heads       jsonb,
    reason      text
);
COMMENT ON TABLE audit_chain.protection_log IS
    'Every protect() and unprotect(), with the lane heads at unprotect time';
SELECT pg_catalog.pg_extension_config_dump('audit_chain.protection_log', '');
SELECT pg_catalog.pg_extension_config_dump('audit_chain.protection_log_id_seq', '');

-- Every public key that signed a checkpoint (doc/checkpoints.md section 2),
-- recorded by checkpoint() on the key's first use; a rotated key stays, so
-- old checkpoints keep verifying
CREATE TABLE audit_chain.signing_keys (
    key_id              bytea       PRIMARY KEY CHECK (pg_catalog.length(key_id) = 32),
    public_key          text        NOT NULL,
    algorithm           text        NOT NULL CHECK (algorithm = 'ed25519'),
    first_used_at       timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    first_checkpoint_id bigint      NOT NULL
);
COMMENT ON TABLE audit_chain.signing_keys IS
    'Public keys (PEM) that signed checkpoints; key_id is the SHA-256 of the DER SubjectPublicKeyInfo';
SELECT pg_catalog.pg_extension_config_dump('audit_chain.signing_keys', '');

CREATE TABLE audit_chain.checkpoints (
    checkpoint_id   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    created_by      name        NOT NULL DEFAULT SESSION_USER,
    -- the payload v2 of doc/checkpoints.md section 1: the bytes signed
    payload         bytea       NOT NULL,
    -- Ed25519 signature of payload by the key key_id, or both NULL (no key).
    -- No foreign key to signing_keys: pg_restore -j loads the two tables at
    -- once, in separate transactions, and the checkpoints' rows would fail
    -- it; verify_chain() reports a checkpoint whose key is missing.
    signature       bytea       CHECK (pg_catalog.length(signature) = 64),
    key_id          bytea       CHECK (pg_catalog.length(key_id) = 32),
    CHECK ((signature IS NULL) = (key_id IS NULL))
);
COMMENT ON TABLE audit_chain.checkpoints IS
    'Recorded heads and boundaries of every lane; payload is the exact text signed (doc/checkpoints.md)';
SELECT pg_catalog.pg_extension_config_dump('audit_chain.checkpoints', '');
SELECT pg_catalog.pg_extension_config_dump('audit_chain.checkpoints_checkpoint_id_seq', '');

-- The lane lines of each checkpoint's payload, as a table (verify_chain()
-- checks the signed payloads themselves, not this table)
CREATE TABLE audit_chain.checkpoint_heads (
    -- (no foreign key to checkpoints, for pg_restore -j: see key_id there)
    checkpoint_id   bigint   NOT NULL,
    tbl             regclass NOT NULL,
    lane            smallint NOT NULL,
    seq             bigint   NOT NULL,
    hash            bytea    NOT NULL CHECK (pg_catalog.length(hash) = 32),
    -- the head row's chain_at; NULL when the lane had no live rows
    chain_at        timestamptz,
    -- where the lane started (audit_chain.chains: archived_seq and
    -- COALESCE(archived_hash, genesis)) when the checkpoint was taken
    start_seq       bigint   NOT NULL,
    start_hash      bytea    NOT NULL CHECK (pg_catalog.length(start_hash) = 32),
    -- where its archived segment started (purged_seq and
    -- COALESCE(purged_hash, genesis))
    purged_seq      bigint   NOT NULL,
    purged_hash     bytea    NOT NULL CHECK (pg_catalog.length(purged_hash) = 32),
    PRIMARY KEY (checkpoint_id, tbl, lane)
);
CREATE INDEX checkpoint_heads_tbl_idx
    ON audit_chain.checkpoint_heads (tbl, checkpoint_id);
COMMENT ON TABLE audit_chain.checkpoint_heads IS
    'The head (seq, hash, chain_at) and the boundaries of each lane at each checkpoint';
SELECT pg_catalog.pg_extension_config_dump('audit_chain.checkpoint_heads', '');

CREATE TABLE audit_chain.verification_log (
    verification_id bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    verified_at     timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
    verified_by     name        NOT NULL DEFAULT SESSION_USER,
    tbl             regclass    NOT NULL,
    lane            smallint,
    rows_checked    bigint      NOT NULL,
    intact          boolean     NOT NULL,
    first_bad_seq   bigint,
    problem         text,
    last_seq        bigint,
    last_hash       bytea,
    incremental     boolean     NOT NULL DEFAULT false
);
CREATE INDEX verification_log_tbl_idx
    ON audit_chain.verification_log (tbl, lane, verified_at);
CREATE INDEX verification_log_time_idx
    ON audit_chain.verification_log (tbl, verified_at);
CREATE INDEX verification_log_failure_idx
    ON audit_chain.verification_log (tbl, verified_at) WHERE NOT intact;
COMMENT ON TABLE audit_chain.verification_log IS
    'One row per lane per run of verify_chain() on a primary: the evidence that the integrity control ran';
SELECT pg_catalog.pg_extension_config_dump('audit_chain.verification_log', '');
SELECT pg_catalog.pg_extension_config_dump('audit_chain.verification_log_verification_id_seq', '');

GRANT USAGE ON SCHEMA audit_chain TO PUBLIC;

-- The registry and the logs are private: the extension's C code reads them
-- without the caller's privileges (the seal trigger as the inserting role,
-- verify_chain() as the auditor), so nobody needs SELECT on them to write or
-- verify a chained table.  An auditor who should read them is granted SELECT.
REVOKE ALL ON audit_chain.chains, audit_chain.protection_log,
    audit_chain.checkpoints, audit_chain.checkpoint_heads, audit_chain.signing_keys,
    audit_chain.verification_log FROM PUBLIC;

--
-- C functions
--

CREATE FUNCTION audit_chain.version()
RETURNS text
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'audit_chain_version';
COMMENT ON FUNCTION audit_chain.version() IS
    'Version of the loaded audit_chain library';

CREATE FUNCTION audit_chain.seal_row()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'audit_chain_seal_row';
COMMENT ON FUNCTION audit_chain.seal_row() IS
    'Row trigger of chained tables: seals inserted rows, refuses UPDATE and DELETE';

CREATE FUNCTION audit_chain.refuse_truncate()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'audit_chain_refuse_truncate';
COMMENT ON FUNCTION audit_chain.refuse_truncate() IS
    'Statement trigger of chained tables: refuses TRUNCATE';

CREATE FUNCTION audit_chain.lane_head(tbl regclass, lane integer,
                                      OUT seq bigint, OUT hash bytea)
RETURNS record
LANGUAGE C STRICT VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'audit_chain_lane_head';
COMMENT ON FUNCTION audit_chain.lane_head(regclass, integer) IS
    'Last committed seq and hash of a lane (its start point if empty)';

CREATE FUNCTION audit_chain.verify_chain(tbl regclass DEFAULT NULL,
                                         incremental boolean DEFAULT false,
                                         published json DEFAULT NULL,
                                         trusted_key text DEFAULT NULL)
RETURNS TABLE (tbl regclass, lane integer, rows_checked bigint,
               intact boolean, first_bad_seq bigint, problem text)
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'audit_chain_verify_chain';
COMMENT ON FUNCTION audit_chain.verify_chain(regclass, boolean, json, text) IS
    'Recomputes and checks every row of one chained table, or of all of them (incremental: only rows after the last intact verification), against every stored checkpoint and the published ones given (export_checkpoint() documents, signed by trusted_key if given); one row per lane, and one for the checkpoints';

CREATE FUNCTION audit_chain.row_hash(tbl regclass, lane integer, seq bigint)
RETURNS bytea
LANGUAGE C STRICT STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'audit_chain_row_hash';
COMMENT ON FUNCTION audit_chain.row_hash(regclass, integer, bigint) IS
    'The chain_hash of a row recomputed from its stored contents (format audit_chain/v1)';

CREATE FUNCTION audit_chain.canonical_row(tbl regclass, lane integer, seq bigint)
RETURNS bytea
LANGUAGE C STRICT STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'audit_chain_canonical_row';
COMMENT ON FUNCTION audit_chain.canonical_row(regclass, integer, bigint) IS
    'The exact bytes SHA-256 hashes for a row (format audit_chain/v1)';

CREATE FUNCTION audit_chain.export_segment(tbl regclass, lane integer DEFAULT NULL,
                                           from_seq bigint DEFAULT NULL,
                                           to_seq bigint DEFAULT NULL)
RETURNS SETOF text
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'audit_chain_export_segment';
COMMENT ON FUNCTION audit_chain.export_segment(regclass, integer, bigint, bigint) IS
    'The lines of a segment file of a chained table (doc/checkpoints.md section 4): header, one JSON line per row with the canonical text of its columns, archived rows first, trailer; for verification with no database';

CREATE FUNCTION audit_chain.canonical_text(value anyelement)
RETURNS text
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'audit_chain_canonical_text';
COMMENT ON FUNCTION audit_chain.canonical_text(anyelement) IS
    'The canonical text of a value, whose SHA-256 is its col_digest (format audit_chain/v1)';

CREATE FUNCTION audit_chain.ddl_guard()
RETURNS event_trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'audit_chain_ddl_guard';
COMMENT ON FUNCTION audit_chain.ddl_guard() IS
    'Event trigger: refuses DDL that would break the verification of a chained table';

--
-- protect / unprotect
--

-- Both run as their caller, who must own the table; they write the registry
-- and protection_log as the registry's owner, after their checks (src/protect.c).
CREATE FUNCTION audit_chain.protect(tbl regclass, lanes integer DEFAULT 1)
RETURNS void
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'audit_chain_protect';
COMMENT ON FUNCTION audit_chain.protect(regclass, integer) IS
    'Turns a table into a hash-chained audit table with the given number of lanes';

CREATE FUNCTION audit_chain.unprotect(tbl regclass, reason text DEFAULT NULL)
RETURNS void
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'audit_chain_unprotect';
COMMENT ON FUNCTION audit_chain.unprotect(regclass, text) IS
    'Stops chaining a table (recorded in protection_log with its lane heads); its rows and chain columns stay';

--
-- Logical replication to a central audit cluster (README: Reliability)
--

-- C (src/protect.c).  export_chain() runs on the publisher, protect_replica()
-- on the subscriber, as the owner of the table there, which has the
-- publisher's columns and the five chain columns.
CREATE FUNCTION audit_chain.export_chain(tbl regclass)
RETURNS json
LANGUAGE C STRICT VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'audit_chain_export_chain';
COMMENT ON FUNCTION audit_chain.export_chain(regclass) IS
    'The description of a chained table that a subscriber needs to verify its copy: database, table, hashed columns, and each lane''s genesis and boundaries';

CREATE FUNCTION audit_chain.protect_replica(tbl regclass, chain json)
RETURNS void
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'audit_chain_protect_replica';
COMMENT ON FUNCTION audit_chain.protect_replica(regclass, json) IS
    'Registers a subscriber''s table as the replica copy of a publisher''s chained table (chain: what export_chain() returned there): its lanes get the publisher''s genesis, applied rows are kept as sealed, local writes are refused';

-- Publishing a chained table with UPDATE or DELETE would carry archive(),
-- the purge and redact() to the subscriber as row changes that its copy
-- cannot verify; publishing the extension's own tables (audit_chain.events
-- above all) collides with the subscriber's own.  Refused when the
-- publication is made or changed.
CREATE FUNCTION audit_chain.publication_guard()
RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r   record;
BEGIN
    -- the publications of this command, and every table each one publishes
    FOR r IN
        SELECT p.pubname, p.puballtables, p.pubupdate, p.pubdelete, p.pubtruncate,
               pt.schemaname, pt.tablename, c.oid AS relid, n.nspname
          FROM pg_catalog.pg_publication p
          JOIN pg_catalog.pg_publication_tables pt
            ON pt.pubname OPERATOR(pg_catalog.=) p.pubname
          JOIN pg_catalog.pg_namespace n
            ON n.nspname OPERATOR(pg_catalog.=) pt.schemaname
          JOIN pg_catalog.pg_class c
            ON c.relnamespace OPERATOR(pg_catalog.=) n.oid
           AND c.relname OPERATOR(pg_catalog.=) pt.tablename
         WHERE p.oid IN (SELECT d.objid FROM pg_catalog.pg_event_trigger_ddl_commands() d
                          WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_publication'::pg_catalog.regclass
                         UNION
                         SELECT pr.prpubid FROM pg_catalog.pg_event_trigger_ddl_commands() d
                           JOIN pg_catalog.pg_publication_rel pr ON pr.oid OPERATOR(pg_catalog.=) d.objid
                          WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_publication_rel'::pg_catalog.regclass
                         UNION
                         SELECT pn.pnpubid FROM pg_catalog.pg_event_trigger_ddl_commands() d
                           JOIN pg_catalog.pg_publication_namespace pn ON pn.oid OPERATOR(pg_catalog.=) d.objid
                          WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_publication_namespace'::pg_catalog.regclass)
         ORDER BY p.pubname, pt.schemaname, pt.tablename
    LOOP
        IF r.puballtables THEN
            RAISE EXCEPTION 'cannot publish all tables of a database with audit_chain'
                USING ERRCODE = 'feature_not_supported',
                      DETAIL = pg_catalog.format('Publication %s (FOR ALL TABLES) would publish audit_chain.events and the extension''s other tables. A subscriber has its own: the rows would collide with its own (duplicate lanes and seqs), and its apply worker would fail on them again and again.',
                               pg_catalog.quote_ident(r.pubname)),
                      HINT = 'Publish your chained tables by name (FOR TABLE ...) or by schema (FOR TABLES IN SCHEMA ...), WITH (publish = ''insert''). To ship events, use audit_chain.export_events() or a chained table of your own.';
        END IF;
        IF r.nspname IN ('audit_chain', 'audit_chain_archive') THEN
            RAISE EXCEPTION 'cannot publish %.%, which belongs to audit_chain',
                  pg_catalog.quote_ident(r.schemaname), pg_catalog.quote_ident(r.tablename)
                USING ERRCODE = 'feature_not_supported',
                      DETAIL = pg_catalog.format('Publication %s would publish it. A subscriber has its own audit_chain.events and registry: the rows would collide with its own (duplicate lanes and seqs), and its apply worker would fail on them again and again.',
                               pg_catalog.quote_ident(r.pubname)),
                      HINT = 'Publish your chained tables by name (FOR TABLE ...) or by schema. To ship events, use audit_chain.export_events() or a chained table of your own.';
        END IF;
        IF (r.pubupdate OR r.pubdelete OR r.pubtruncate) AND EXISTS (
               SELECT 1 FROM pg_catalog.pg_trigger t
                WHERE t.tgrelid OPERATOR(pg_catalog.=) r.relid
                  AND t.tgname OPERATOR(pg_catalog.=) 'zz_audit_chain_seal'
                  AND t.tgfoid OPERATOR(pg_catalog.=) 'audit_chain.seal_row()'::pg_catalog.regprocedure) THEN
            RAISE EXCEPTION 'cannot publish chained table %.% with % replicated',
                  pg_catalog.quote_ident(r.schemaname), pg_catalog.quote_ident(r.tablename),
                  pg_catalog.concat_ws(', ', CASE WHEN r.pubupdate THEN 'UPDATE' END,
                                       CASE WHEN r.pubdelete THEN 'DELETE' END,
                                       CASE WHEN r.pubtruncate THEN 'TRUNCATE' END)
                USING ERRCODE = 'feature_not_supported',
                      DETAIL = pg_catalog.format('Publication %s would carry archive(), the purge and redact() to the subscriber as row changes that its copy of the chain cannot verify.',
                               pg_catalog.quote_ident(r.pubname)),
                      HINT = 'Publish inserts only: CREATE PUBLICATION ... WITH (publish = ''insert'').';
        END IF;
    END LOOP;
END;
$$;
COMMENT ON FUNCTION audit_chain.publication_guard() IS
    'Event trigger: refuses publications of the extension''s own tables, and of chained tables with UPDATE, DELETE or TRUNCATE';
REVOKE ALL ON FUNCTION audit_chain.publication_guard() FROM PUBLIC;

CREATE EVENT TRIGGER audit_chain_publication_guard ON ddl_command_end
    WHEN TAG IN ('CREATE PUBLICATION', 'ALTER PUBLICATION')
    EXECUTE FUNCTION audit_chain.publication_guard();

--
-- Verification and checkpoints
--

CREATE PROCEDURE audit_chain.assert_intact(tbl regclass DEFAULT NULL,
                                           incremental boolean DEFAULT false,
                                           published json DEFAULT NULL,
                                           trusted_key text DEFAULT NULL)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    bad     text;
    nbad    integer;
BEGIN
    SELECT count(*),
           string_agg(format('%s lane %s: first bad chain_seq %s: %s',
                             v.tbl, coalesce(v.lane::text, '(none)'),
                             v.first_bad_seq, v.problem), E'\n'
                      ORDER BY v.tbl::oid, v.lane)
      INTO nbad, bad
      FROM audit_chain.verify_chain(tbl, incremental, published, trusted_key) v
     WHERE NOT v.intact;
    IF nbad > 0 THEN
        RAISE EXCEPTION 'audit chain verification failed in % lane(s)', nbad
            USING ERRCODE = 'data_corrupted', DETAIL = bad,
                  HINT = 'See audit_chain.verification_log; compare with your latest published checkpoint.';
    END IF;
END;
$$;
COMMENT ON PROCEDURE audit_chain.assert_intact(regclass, boolean, json, text) IS
    'Runs verify_chain() and raises an error (SQLSTATE XX001) if any lane, or any checkpoint, is broken';

-- C (src/checkpoint.c): runs as its caller, reads the heads directly and
-- writes the checkpoint as the owner of the extension's tables.
CREATE FUNCTION audit_chain.checkpoint()
RETURNS bigint
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'audit_chain_checkpoint';
COMMENT ON FUNCTION audit_chain.checkpoint() IS
    'Records (and signs, with audit_chain.signing_key_file) the head and boundaries of every lane of every chained table; returns the checkpoint id';

CREATE FUNCTION audit_chain.export_checkpoint(checkpoint_id bigint DEFAULT NULL)
RETURNS json
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'audit_chain_export_checkpoint';
COMMENT ON FUNCTION audit_chain.export_checkpoint(bigint) IS
    'One checkpoint (the newest by default) as the JSON document to publish: payload, signature, key id, public key';

--
-- Guarding DDL
--

-- The three guards are C (src/ddl.c).  ddl_guard resolves the names in the
-- command it judges, so it runs with the caller's search_path and runs no SQL;
-- the other two run fully qualified SQL under a fixed search_path.  Event
-- trigger functions are called by the server without an EXECUTE check, so
-- nobody needs EXECUTE on them.
CREATE FUNCTION audit_chain.drop_guard()
RETURNS event_trigger
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'audit_chain_drop_guard';
COMMENT ON FUNCTION audit_chain.drop_guard() IS
    'Event trigger: refuses drops of chained tables, their columns and their triggers';

CREATE FUNCTION audit_chain.partition_guard()
RETURNS event_trigger
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'audit_chain_partition_guard';
COMMENT ON FUNCTION audit_chain.partition_guard() IS
    'Event trigger: gives new partitions of chained tables the trigger that refuses TRUNCATE';

REVOKE ALL ON FUNCTION audit_chain.ddl_guard() FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_chain.drop_guard() FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_chain.partition_guard() FROM PUBLIC;

CREATE EVENT TRIGGER audit_chain_ddl_guard ON ddl_command_start
    WHEN TAG IN ('ALTER EXTENSION', 'ALTER FOREIGN TABLE', 'ALTER TABLE', 'ALTER TRIGGER', 'ALTER TYPE',
                 'CREATE FOREIGN TABLE', 'CREATE RULE', 'CREATE SCHEMA', 'CREATE TABLE',
                 'CREATE TRIGGER', 'CREATE VIEW', 'DROP EXTENSION', 'DROP INDEX', 'DROP OWNED',
                 'DROP SCHEMA', 'DROP TABLE')
    EXECUTE FUNCTION audit_chain.ddl_guard();

CREATE EVENT TRIGGER audit_chain_partition_guard ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'CREATE SCHEMA', 'ALTER TABLE')
    EXECUTE FUNCTION audit_chain.partition_guard();

CREATE EVENT TRIGGER audit_chain_drop_guard ON sql_drop
    EXECUTE FUNCTION audit_chain.drop_guard();


--
-- Audit events for AI and API systems
--

CREATE FUNCTION audit_chain.track_change()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'audit_chain_track_change';
COMMENT ON FUNCTION audit_chain.track_change() IS
    'Row trigger that track() puts on business tables: writes row_change events';

CREATE FUNCTION audit_chain.ddl_log()
RETURNS event_trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'audit_chain_ddl_log';
COMMENT ON FUNCTION audit_chain.ddl_log() IS
    'Event trigger: DDL, GRANT and REVOKE become admin events';

CREATE TABLE audit_chain.events (
    event_id          uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid() PRIMARY KEY,
    occurred_at       timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
    event_type        text        NOT NULL
        CONSTRAINT events_event_type_check CHECK (event_type IN
            ('authentication', 'api_request', 'data_access', 'admin', 'security', 'error',
             'consent', 'disclosure', 'row_change')),
    action            text        NOT NULL CONSTRAINT events_action_check CHECK (action <> ''),
    outcome           text        NOT NULL DEFAULT 'success'
        CONSTRAINT events_outcome_check CHECK (outcome IN ('success', 'failure', 'denied', 'blocked', 'error')),
    actor             text        DEFAULT NULLIF(pg_catalog.current_setting('audit_chain.actor', true), ''),
    db_role           name        NOT NULL DEFAULT CURRENT_USER,
    session_id        text        DEFAULT NULLIF(pg_catalog.current_setting('audit_chain.session_id', true), ''),
    client_addr       inet        DEFAULT pg_catalog.inet_client_addr(),
    user_agent        text,
    application_name  text        DEFAULT NULLIF(pg_catalog.current_setting('application_name', true), ''),
    resource          text,
    provider          text,
    model             text,
    purpose           text        DEFAULT NULLIF(pg_catalog.current_setting('audit_chain.purpose', true), ''),
    legal_basis       text        DEFAULT NULLIF(pg_catalog.current_setting('audit_chain.legal_basis', true), '')
        CONSTRAINT events_legal_basis_check CHECK (legal_basis IN
            ('consent', 'contract', 'legal_obligation', 'vital_interests', 'public_task',
             'legitimate_interests')),
    consent_id        text,
    data_subject      text        DEFAULT NULLIF(pg_catalog.current_setting('audit_chain.data_subject', true), ''),
    data_categories   text[],
    phi               boolean     NOT NULL DEFAULT false,
    disclosure_to     text,
    authorization_ref text,
    latency_ms        integer     CONSTRAINT events_latency_ms_check CHECK (latency_ms >= 0),
    input_tokens      integer     CONSTRAINT events_input_tokens_check CHECK (input_tokens >= 0),
    output_tokens     integer     CONSTRAINT events_output_tokens_check CHECK (output_tokens >= 0),
    cost              numeric(14,6) CONSTRAINT events_cost_check CHECK (cost >= 0),
    input_digest      bytea       CONSTRAINT events_input_digest_check CHECK (pg_catalog.length(input_digest) = 32),
    output_digest     bytea       CONSTRAINT events_output_digest_check CHECK (pg_catalog.length(output_digest) = 32),
    -- one request and one trace (W3C Trace Context) through their steps;
    -- mask_event() checks the ids' format with a clear error first
    request_id        text        DEFAULT NULLIF(pg_catalog.current_setting('audit_chain.request_id', true), '')
        CONSTRAINT events_request_id_check CHECK (request_id <> ''),
    trace_id          text        DEFAULT coalesce(NULLIF(pg_catalog.current_setting('audit_chain.trace_id', true), ''),
                                                   NULLIF(pg_catalog.split_part(pg_catalog.current_setting('audit_chain.traceparent', true), '-', 2), ''))
        CONSTRAINT events_trace_id_check CHECK (trace_id ~ '^[0-9a-f]{32}$' AND trace_id <> '00000000000000000000000000000000'),
    -- the traceparent's span, unless audit_chain.trace_id names another trace
    span_id           text        DEFAULT CASE WHEN coalesce(pg_catalog.current_setting('audit_chain.trace_id', true), '') = ''
                                          THEN NULLIF(pg_catalog.split_part(pg_catalog.current_setting('audit_chain.traceparent', true), '-', 3), '') END
        CONSTRAINT events_span_id_check CHECK (span_id ~ '^[0-9a-f]{16}$' AND span_id <> '0000000000000000'),
    -- the safety checks of an AI call: the detectors that fired ('{}': checked,
    -- none fired) and why it was blocked (outcome 'blocked')
    safety_detectors  text[]      CONSTRAINT events_safety_detectors_check
        CHECK (pg_catalog.array_position(safety_detectors, NULL) IS NULL AND pg_catalog.array_position(safety_detectors, '') IS NULL),
    safety_reason     text        CONSTRAINT events_safety_reason_check CHECK (safety_reason <> ''),
    -- ISO 3166-1 alpha-2 code of the third country the recipients of this
    -- event (disclosure_to, the AI provider) process the data in (GDPR Art. 30(1)(e))
    transfer_country  text        CONSTRAINT events_transfer_country_check
        CHECK (transfer_country OPERATOR(pg_catalog.~) '^[A-Z]{2}$' COLLATE "C"),
    details           jsonb,
    chain_lane        smallint    NOT NULL,
    chain_seq         bigint      NOT NULL,
    chain_at          timestamptz NOT NULL,
    chain_prev        bytea       NOT NULL,
    chain_hash        bytea       NOT NULL,
    -- a consent record names the consent and whose it is
    CONSTRAINT events_consent_record_check CHECK
        (event_type <> 'consent' OR action NOT IN ('consent_given', 'consent_withdrawn')
         OR (consent_id IS NOT NULL AND consent_id <> '' AND data_subject IS NOT NULL AND data_subject <> ''))
);
COMMENT ON TABLE audit_chain.events IS
    'Chained audit events of AI and API systems: who, what, when, where, why';
CREATE UNIQUE INDEX events_chain_idx ON audit_chain.events (chain_lane, chain_seq);
-- for the reports
CREATE INDEX events_occurred_at_idx ON audit_chain.events (occurred_at) INCLUDE (actor);
CREATE INDEX events_subject_idx ON audit_chain.events (data_subject, occurred_at)
    WHERE data_subject IS NOT NULL;
CREATE INDEX events_actor_idx ON audit_chain.events (actor, occurred_at)
    WHERE actor IS NOT NULL;
CREATE INDEX events_type_idx ON audit_chain.events (event_type, occurred_at);
CREATE INDEX events_purpose_idx ON audit_chain.events (purpose, legal_basis)
    WHERE purpose IS NOT NULL;
CREATE INDEX events_phi_day_idx ON audit_chain.events
    (((occurred_at AT TIME ZONE 'UTC')::date), actor, db_role, data_subject) WHERE phi;
CREATE INDEX events_consent_gap_idx ON audit_chain.events (occurred_at)
    WHERE legal_basis = 'consent' AND consent_id IS NULL;
-- request_timeline(); consent (gdpr_consent_violations): the consent records
-- of a subject and consent id, and the processing that names a consent id;
-- ai_safety_daily
CREATE INDEX events_request_idx ON audit_chain.events (request_id, occurred_at)
    WHERE request_id IS NOT NULL;
CREATE INDEX events_trace_idx ON audit_chain.events (trace_id, occurred_at)
    WHERE trace_id IS NOT NULL;
CREATE INDEX events_consent_record_idx ON audit_chain.events (data_subject, consent_id, occurred_at)
    INCLUDE (action)
    WHERE event_type = 'consent' AND action IN ('consent_given', 'consent_withdrawn') AND outcome = 'success';
CREATE INDEX events_consent_use_idx ON audit_chain.events (occurred_at)
    INCLUDE (data_subject, consent_id)
    WHERE consent_id IS NOT NULL AND event_type <> 'consent' AND outcome NOT IN ('denied', 'blocked');
CREATE INDEX events_safety_day_idx ON audit_chain.events (((occurred_at AT TIME ZONE 'UTC')::date), model)
    WHERE safety_detectors IS NOT NULL OR safety_reason IS NOT NULL;
-- The planner does not use a partial index's statistics for its expression:
-- without these, "day > current_date - 30" is estimated at a third of the
-- table, which at 10M events turns on JIT inlining and optimization for
-- ai_safety_daily (0.5 to 0.9 s of compiling for a 0.15 s query,
-- test/bench/reports.sh)
CREATE STATISTICS audit_chain.events_day_stats ON ((occurred_at AT TIME ZONE 'UTC')::date)
    FROM audit_chain.events;
-- usage_report(): the AI calls (events with a provider or a model) by time,
-- with what the report adds up, so that a range is an index-only scan
CREATE INDEX events_usage_idx ON audit_chain.events (occurred_at)
    INCLUDE (provider, model, actor, outcome, input_tokens, output_tokens, cost, latency_ms)
    WHERE provider IS NOT NULL OR model IS NOT NULL;

-- 16 lanes: the benchmark (test/bench) shows a 16-lane chain keeps 0.85x of a plain
-- table at 16 clients with synchronous_commit off, where one lane keeps 0.37x.
CREATE TRIGGER zz_audit_chain_seal BEFORE INSERT OR UPDATE OR DELETE ON audit_chain.events
    FOR EACH ROW EXECUTE FUNCTION audit_chain.seal_row('16');
-- What the server knows is set by the server (db_role), whoever inserts; the
-- name sorts before zz_audit_chain_seal, so the sealed row has the server's value
CREATE FUNCTION audit_chain.set_event_facts()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'audit_chain_set_event_facts';
COMMENT ON FUNCTION audit_chain.set_event_facts() IS
    'Row trigger of audit_chain.events: sets db_role to the role the session acts as';
CREATE TRIGGER zz_audit_chain_facts BEFORE INSERT ON audit_chain.events
    FOR EACH ROW EXECUTE FUNCTION audit_chain.set_event_facts();
-- Masking at collection (audit_chain.hash_detail_keys) and the trace ids'
-- format: also before zz_audit_chain_seal, so the row sealed is the masked one
CREATE FUNCTION audit_chain.mask_event()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'audit_chain_mask_event';
COMMENT ON FUNCTION audit_chain.mask_event() IS
    'Row trigger of audit_chain.events: replaces the values of the keys of details listed in audit_chain.hash_detail_keys by digests, checks request and trace ids';
CREATE TRIGGER zz_audit_chain_mask BEFORE INSERT ON audit_chain.events
    FOR EACH ROW EXECUTE FUNCTION audit_chain.mask_event();
CREATE TRIGGER zz_audit_chain_truncate BEFORE TRUNCATE ON audit_chain.events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_chain.refuse_truncate();
-- the same genesis in every install, so that a restored dump still links
INSERT INTO audit_chain.chains (tbl, lane, genesis)
SELECT 'audit_chain.events', l,
       pg_catalog.sha256(pg_catalog.convert_to('audit_chain/v1 events lane ' || l, 'UTF8'))
  FROM pg_catalog.generate_series(0, 15) AS l;
SELECT pg_catalog.pg_extension_config_dump('audit_chain.events', '');

-- personal data: no access for PUBLIC; a writer gets INSERT (and EXECUTE on
-- log_event), an auditor SELECT (README, Security)
REVOKE ALL ON audit_chain.events FROM PUBLIC;

CREATE FUNCTION audit_chain.digest(content text)
RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN pg_catalog.sha256(pg_catalog.convert_to(content, 'UTF8'));
COMMENT ON FUNCTION audit_chain.digest(text) IS
    'SHA-256 of a text as UTF-8: store this instead of a prompt or a response (hash-only mode)';

CREATE FUNCTION audit_chain.digest(content jsonb)
RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN pg_catalog.sha256(pg_catalog.convert_to(content::text, 'UTF8'));
COMMENT ON FUNCTION audit_chain.digest(jsonb) IS
    'SHA-256 of a JSON document''s canonical jsonb text: for structured prompts and responses';

CREATE FUNCTION audit_chain.digest(content bytea)
RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN pg_catalog.sha256(content);
COMMENT ON FUNCTION audit_chain.digest(bytea) IS
    'SHA-256 of raw bytes';

CREATE FUNCTION audit_chain.log_event(
    event_type        text,
    action            text,
    outcome           text        DEFAULT 'success',
    actor             text        DEFAULT NULL,
    resource          text        DEFAULT NULL,
    provider          text        DEFAULT NULL,
    model             text        DEFAULT NULL,
    input_tokens      integer     DEFAULT NULL,
    output_tokens     integer     DEFAULT NULL,
    latency_ms        integer     DEFAULT NULL,
    cost              numeric     DEFAULT NULL,
    input_digest      bytea       DEFAULT NULL,
    output_digest     bytea       DEFAULT NULL,
    purpose           text        DEFAULT NULL,
    legal_basis       text        DEFAULT NULL,
    consent_id        text        DEFAULT NULL,
    data_subject      text        DEFAULT NULL,
    data_categories   text[]      DEFAULT NULL,
    phi               boolean     DEFAULT false,
    disclosure_to     text        DEFAULT NULL,
    authorization_ref text        DEFAULT NULL,
    session_id        text        DEFAULT NULL,
    client_addr       inet        DEFAULT NULL,
    user_agent        text        DEFAULT NULL,
    details           jsonb       DEFAULT NULL,
    occurred_at       timestamptz DEFAULT NULL,
    request_id        text        DEFAULT NULL,
    trace_id          text        DEFAULT NULL,
    span_id           text        DEFAULT NULL,
    safety_detectors  text[]      DEFAULT NULL,
    safety_reason     text        DEFAULT NULL,
    transfer_country  text        DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    id  uuid;
BEGIN
    IF log_event.transfer_country IS NOT NULL
       AND log_event.transfer_country OPERATOR(pg_catalog.!~) ('^[A-Z]{2}$' COLLATE "C") THEN
        RAISE EXCEPTION 'transfer_country must be an ISO 3166-1 alpha-2 country code, not %',
                        quote_literal(left(log_event.transfer_country, 40))
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass two upper-case letters, for example ''US'' or ''IN''.';
    END IF;
    -- the id is made here, not read back with RETURNING, which would need
    -- SELECT on the table: a writer needs INSERT only
    id := pg_catalog.gen_random_uuid();
    INSERT INTO audit_chain.events AS e
        (event_id, occurred_at, event_type, action, outcome, actor, session_id, client_addr, user_agent,
         resource, provider, model, purpose, legal_basis, consent_id, data_subject,
         data_categories, phi, disclosure_to, authorization_ref, latency_ms, input_tokens,
         output_tokens, cost, input_digest, output_digest, request_id, trace_id, span_id,
         safety_detectors, safety_reason, transfer_country, details)
    VALUES
        (id, coalesce(log_event.occurred_at, statement_timestamp()),
         log_event.event_type, log_event.action, coalesce(log_event.outcome, 'success'),
         coalesce(log_event.actor, NULLIF(current_setting('audit_chain.actor', true), '')),
         coalesce(log_event.session_id, NULLIF(current_setting('audit_chain.session_id', true), '')),
         coalesce(log_event.client_addr, inet_client_addr()),
         log_event.user_agent, log_event.resource, log_event.provider, log_event.model,
         coalesce(log_event.purpose, NULLIF(current_setting('audit_chain.purpose', true), '')),
         coalesce(log_event.legal_basis, NULLIF(current_setting('audit_chain.legal_basis', true), '')),
         log_event.consent_id,
         coalesce(log_event.data_subject, NULLIF(current_setting('audit_chain.data_subject', true), '')),
         log_event.data_categories, coalesce(log_event.phi, false), log_event.disclosure_to,
         log_event.authorization_ref, log_event.latency_ms, log_event.input_tokens,
         log_event.output_tokens, log_event.cost, log_event.input_digest,
         log_event.output_digest,
         coalesce(log_event.request_id, NULLIF(current_setting('audit_chain.request_id', true), '')),
         -- a trace id given here, or in audit_chain.trace_id, takes no span
         -- from the traceparent setting
         coalesce(log_event.trace_id, NULLIF(current_setting('audit_chain.trace_id', true), ''),
                  NULLIF(split_part(current_setting('audit_chain.traceparent', true), '-', 2), '')),
         CASE WHEN log_event.span_id IS NOT NULL OR log_event.trace_id IS NOT NULL THEN log_event.span_id
              WHEN coalesce(current_setting('audit_chain.trace_id', true), '') <> '' THEN NULL
              ELSE NULLIF(split_part(current_setting('audit_chain.traceparent', true), '-', 3), '') END,
         log_event.safety_detectors, log_event.safety_reason, log_event.transfer_country, log_event.details);
    RETURN id;
END;
$$;
COMMENT ON FUNCTION audit_chain.log_event(text, text, text, text, text, text, text, integer,
    integer, integer, numeric, bytea, bytea, text, text, text, text, text[], boolean, text,
    text, text, inet, text, jsonb, timestamptz, text, text, text, text[], text, text) IS
    'Writes one audit event; who and why default from the audit_chain.* session settings';

CREATE FUNCTION audit_chain.track(tbl regclass, columns text[] DEFAULT NULL,
                                  with_values boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r       record;
    bad     text;
    args    text;
    leaf    regclass;
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'table must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT c.relkind, n.nspname, c.relowner INTO r
      FROM pg_class c JOIN pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
     WHERE c.oid OPERATOR(pg_catalog.=) tbl;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'relation with OID % does not exist', tbl::oid
            USING ERRCODE = 'undefined_table';
    END IF;
    IF r.relkind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '"%" is not a table', tbl
            USING ERRCODE = 'wrong_object_type', HINT = 'Only ordinary and partitioned tables can be tracked.';
    END IF;
    IF r.nspname IN ('pg_catalog', 'information_schema', 'audit_chain', 'audit_chain_archive')
       OR r.nspname LIKE 'pg\_%' THEN
        RAISE EXCEPTION 'cannot track "%", which is in schema %', tbl, r.nspname
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Track your own business tables; system and audit tables are not tracked.';
    END IF;
    IF NOT pg_has_role(r.relowner, 'MEMBER') THEN
        RAISE EXCEPTION 'must be owner of table %', tbl USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- a chained table, or a partition of one, has the seal trigger (the
    -- registry itself is not readable by the caller)
    IF EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid OPERATOR(pg_catalog.=) tbl
                  AND t.tgname = 'zz_audit_chain_seal') THEN
        RAISE EXCEPTION 'cannot track chained table "%"', tbl
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'A chained table is itself an audit trail: its rows are sealed and cannot change.';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid OPERATOR(pg_catalog.=) tbl
                  AND t.tgname = 'zz_audit_chain_track') THEN
        RAISE EXCEPTION 'table "%" is already tracked', tbl
            USING ERRCODE = 'duplicate_object', HINT = 'Call audit_chain.untrack() first to change what is tracked.';
    END IF;
    IF columns IS NOT NULL THEN
        IF cardinality(columns) = 0 THEN
            RAISE EXCEPTION 'columns must not be empty'
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass NULL to track every column.';
        END IF;
        SELECT string_agg(format('%I', c), ', ') INTO bad
          FROM unnest(columns) AS c
         WHERE c IS NULL OR NOT EXISTS (SELECT 1 FROM pg_attribute a
                                         WHERE a.attrelid OPERATOR(pg_catalog.=) tbl
                                           AND a.attname = c AND a.attnum > 0 AND NOT a.attisdropped);
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION 'table "%" has no column(s) %', tbl, bad
                USING ERRCODE = 'undefined_column';
        END IF;
    END IF;
    SELECT string_agg(format('%L', a), ', ')
      INTO args
      FROM unnest(ARRAY[CASE WHEN with_values THEN 'values' ELSE 'digests' END]
                  || coalesce(columns, '{}')) AS a;
    EXECUTE format('CREATE TRIGGER zz_audit_chain_track AFTER INSERT OR UPDATE OR DELETE ON %s '
                   'FOR EACH ROW EXECUTE FUNCTION audit_chain.track_change(%s)', tbl, args);
    -- TRUNCATE fires the statement triggers of each table it empties, and
    -- partitions do not inherit them: a partitioned table gets one on every
    -- leaf partition (the event trigger ddl_log adds it to partitions made or
    -- attached later), so that truncating one partition is recorded too
    IF r.relkind = 'r' THEN
        EXECUTE format('CREATE TRIGGER zz_audit_chain_track_truncate AFTER TRUNCATE ON %s '
                       'FOR EACH STATEMENT EXECUTE FUNCTION audit_chain.track_change(%s)', tbl, args);
    END IF;
    FOR leaf IN SELECT p.relid FROM pg_partition_tree(tbl) p
                  JOIN pg_class c ON c.oid OPERATOR(pg_catalog.=) p.relid
                 WHERE p.isleaf AND c.relkind = 'r' AND p.relid OPERATOR(pg_catalog.<>) tbl
                   AND NOT EXISTS (SELECT 1 FROM pg_trigger t
                                    WHERE t.tgrelid OPERATOR(pg_catalog.=) p.relid
                                      AND t.tgname = 'zz_audit_chain_track_truncate')
    LOOP
        EXECUTE format('CREATE TRIGGER zz_audit_chain_track_truncate AFTER TRUNCATE ON %s '
                       'FOR EACH STATEMENT EXECUTE FUNCTION audit_chain.track_change(%s)', leaf, args);
    END LOOP;
END;
$$;
COMMENT ON FUNCTION audit_chain.track(regclass, text[], boolean) IS
    'Records every INSERT, UPDATE and DELETE on a business table as a row_change event';

CREATE FUNCTION audit_chain.untrack(tbl regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    part    regclass;
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'table must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid OPERATOR(pg_catalog.=) tbl
                      AND t.tgname = 'zz_audit_chain_track') THEN
        RAISE EXCEPTION 'table "%" is not tracked', tbl
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    EXECUTE format('DROP TRIGGER zz_audit_chain_track ON %s', tbl);
    EXECUTE format('DROP TRIGGER IF EXISTS zz_audit_chain_track_truncate ON %s', tbl);
    FOR part IN SELECT p.relid FROM pg_partition_tree(tbl) p
                  JOIN pg_trigger t ON t.tgrelid OPERATOR(pg_catalog.=) p.relid
                 WHERE t.tgname = 'zz_audit_chain_track_truncate'
                   AND p.relid OPERATOR(pg_catalog.<>) tbl
    LOOP
        EXECUTE format('DROP TRIGGER zz_audit_chain_track_truncate ON %s', part);
    END LOOP;
END;
$$;
COMMENT ON FUNCTION audit_chain.untrack(regclass) IS
    'Stops recording row changes of a table';

-- DDL, GRANT and REVOKE become admin events (statements event triggers do
-- not see - roles, databases, event triggers, GRANT on a database, ... -
-- through the utility hook, in sessions that loaded the library)
CREATE EVENT TRIGGER audit_chain_ddl_log ON ddl_command_end
    EXECUTE FUNCTION audit_chain.ddl_log();
CREATE EVENT TRIGGER audit_chain_drop_log ON sql_drop
    EXECUTE FUNCTION audit_chain.ddl_log();

REVOKE ALL ON FUNCTION audit_chain.log_event(text, text, text, text, text, text, text, integer,
    integer, integer, numeric, bytea, bytea, text, text, text, text, text[], boolean, text,
    text, text, inet, text, jsonb, timestamptz, text, text, text, text[], text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_chain.track(regclass, text[], boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_chain.untrack(regclass) FROM PUBLIC;


--
-- Retention policies and legal holds
--

-- How long the rows of each chained table are kept (src/retention.c).
-- Archiving and purging, which apply the policies, come next; they must
-- refuse while a legal hold is on (ac_legal_hold_active() in C).
CREATE TABLE audit_chain.retention_policies (
    tbl             regclass    PRIMARY KEY,
    -- how long a row stays in the live table, counted from its chain_at
    keep            interval    NOT NULL CHECK (keep > interval '0'),
    framework       text        CHECK (framework IN ('HIPAA', 'SOC 2', 'GDPR')),
    -- how long an archived row is kept after keep (purged once older than
    -- keep + archive_keep); NULL: for ever
    archive_keep    interval    CHECK (archive_keep > interval '0'),
    set_at          timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    set_by          name        NOT NULL DEFAULT SESSION_USER
);
COMMENT ON TABLE audit_chain.retention_policies IS
    'The retention policy of each chained table: keep (live), framework, archive_keep; set by set_retention()';
SELECT pg_catalog.pg_extension_config_dump('audit_chain.retention_policies', '');

-- Every hold placed and released; the newest row of a table is its state.
CREATE TABLE audit_chain.legal_hold_log (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tbl         regclass    NOT NULL,
    tbl_name    text        NOT NULL,
    hold        boolean     NOT NULL,
    reason      text        CHECK (NOT hold OR pg_catalog.btrim(coalesce(reason, '')) <> ''),
    set_at      timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    set_by      name        NOT NULL DEFAULT SESSION_USER
);
-- read by ac_legal_hold_active(): the newest row of one table
CREATE INDEX legal_hold_log_tbl_idx ON audit_chain.legal_hold_log (tbl, id);
COMMENT ON TABLE audit_chain.legal_hold_log IS
    'Every legal hold placed (hold) and released (not hold) with legal_hold(): who, when and why';
SELECT pg_catalog.pg_extension_config_dump('audit_chain.legal_hold_log', '');
SELECT pg_catalog.pg_extension_config_dump('audit_chain.legal_hold_log_id_seq', '');

CREATE VIEW audit_chain.legal_holds AS
SELECT l.tbl, l.set_at AS held_since, l.set_by AS held_by, l.reason
  FROM (SELECT DISTINCT ON (g.tbl) g.tbl, g.hold, g.set_at, g.set_by, g.reason
          FROM audit_chain.legal_hold_log g
         ORDER BY g.tbl, g.id DESC) l
 WHERE l.hold;
COMMENT ON VIEW audit_chain.legal_holds IS
    'The chained tables under legal hold now: since when, placed by whom, and why';

-- Both run as their caller, who must own the table; they write the tables
-- above as their owner, after their checks (src/retention.c).
CREATE FUNCTION audit_chain.set_retention(tbl regclass, keep interval DEFAULT NULL,
                                          framework text DEFAULT NULL,
                                          archive_keep interval DEFAULT NULL)
RETURNS void
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'audit_chain_set_retention';
COMMENT ON FUNCTION audit_chain.set_retention(regclass, interval, text, interval) IS
    'Sets the retention policy of a chained table: keep (NULL: the framework''s preset, HIPAA 6 years, SOC 2 1 year), framework, archive_keep';

CREATE FUNCTION audit_chain.legal_hold(tbl regclass, "on" boolean, reason text DEFAULT NULL)
RETURNS void
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'audit_chain_legal_hold';
COMMENT ON FUNCTION audit_chain.legal_hold(regclass, boolean, text) IS
    'Places (true, with a reason) or releases (false) a legal hold on a chained table: no archiving, purging or redaction while on';

REVOKE ALL ON audit_chain.retention_policies, audit_chain.legal_hold_log,
    audit_chain.legal_hold_log_id_seq, audit_chain.legal_holds FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_chain.set_retention(regclass, interval, text, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_chain.legal_hold(regclass, boolean, text) FROM PUBLIC;


--
-- Erasure: redaction of columns of chained rows (src/redact.c)
--

-- The col_digest of every redacted value, which takes the value's place in
-- its row's hash input (doc/hash-format.md, section 1): an independent
-- verifier reads this table.  Written only by redact() and redact_subject(),
-- as this table's owner; read by verification directly, without privilege.
CREATE TABLE audit_chain.redactions (
    tbl          regclass    NOT NULL,
    lane         smallint    NOT NULL,
    seq          bigint      NOT NULL,
    column_name  name        NOT NULL,
    digest       bytea       NOT NULL CHECK (pg_catalog.length(digest) = 32),
    reason       text        NOT NULL CHECK (pg_catalog.btrim(reason) <> ''),
    redacted_at  timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    redacted_by  name        NOT NULL DEFAULT SESSION_USER,
    PRIMARY KEY (tbl, lane, seq, column_name)
);
COMMENT ON TABLE audit_chain.redactions IS
    'Every redacted column of a chained row: its kept col_digest (which verification hashes in its place), why, when, by whom';
SELECT pg_catalog.pg_extension_config_dump('audit_chain.redactions', '');

-- Both run as their caller, who must own the table (redact_subject:
-- audit_chain.events); the UPDATE runs as the table's owner.
CREATE FUNCTION audit_chain.redact(tbl regclass, lane integer, seq bigint,
                                   columns text[], reason text)
RETURNS void
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'audit_chain_redact';
COMMENT ON FUNCTION audit_chain.redact(regclass, integer, bigint, text[], text) IS
    'Erases columns of one chained row (sets them NULL), keeping their digests so the chain still verifies; recorded as an event';

CREATE FUNCTION audit_chain.redact_subject(subject text, reason text)
RETURNS TABLE (tbl regclass, lane integer, seq bigint, columns text[])
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'audit_chain_redact_subject';
COMMENT ON FUNCTION audit_chain.redact_subject(text, text) IS
    'GDPR Art. 17: redacts the personal-data columns of every event about or by a data subject; returns what it redacted';

REVOKE ALL ON audit_chain.redactions FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_chain.redact(regclass, integer, bigint, text[], text) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_chain.redact_subject(text, text) FROM PUBLIC;


--
-- Archive: boundaries, archive tables, archive(), apply_retention()
--

-- Archive tables live here, one per chained table, owned by the extension's
-- owner; the table's owner may read its archive (src/archive.c).
CREATE SCHEMA audit_chain_archive;
COMMENT ON SCHEMA audit_chain_archive IS
    'Archive tables of chained tables: rows moved out of the live table by audit_chain.archive()';
REVOKE ALL ON SCHEMA audit_chain_archive FROM PUBLIC;

CREATE TABLE audit_chain.archives (
    tbl         regclass    PRIMARY KEY,
    archive     regclass    NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    created_by  name        NOT NULL DEFAULT SESSION_USER
);
COMMENT ON TABLE audit_chain.archives IS
    'The archive table of each chained table that has one (archive_table())';
SELECT pg_catalog.pg_extension_config_dump('audit_chain.archives', '');

-- Every move of a lane's boundary: archive (rows moved to the archive table),
-- detach (a partition moved), purge (archived rows dropped).  A chained table
-- itself (one lane), so a boundary move cannot be forged, dropped or edited
-- without verify_chain() or a checkpoint (which binds its head) seeing it.
-- verify_chain() of a table checks that the boundaries in audit_chain.chains
-- are the last ones recorded here.  lane_genesis names the lane: it survives
-- renames and dump/restore, where the OID does not.
CREATE TABLE audit_chain.boundaries (
    kind          text        NOT NULL CHECK (kind IN ('archive', 'detach', 'purge')),
    tbl_name      text        NOT NULL,
    lane          smallint    NOT NULL,
    lane_genesis  bytea       NOT NULL CHECK (pg_catalog.length(lane_genesis) = 32),
    from_seq      bigint      NOT NULL,
    from_hash     bytea       NOT NULL CHECK (pg_catalog.length(from_hash) = 32),
    to_seq        bigint      NOT NULL CHECK (to_seq > from_seq),
    to_hash       bytea       NOT NULL CHECK (pg_catalog.length(to_hash) = 32),
    row_count     bigint      NOT NULL CHECK (row_count >= 0),
    cutoff        timestamptz,
    moved_at      timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    moved_by      name        NOT NULL DEFAULT SESSION_USER,
    chain_lane    smallint    NOT NULL,
    chain_seq     bigint      NOT NULL,
    chain_at      timestamptz NOT NULL,
    chain_prev    bytea       NOT NULL,
    chain_hash    bytea       NOT NULL
);
COMMENT ON TABLE audit_chain.boundaries IS
    'Every boundary move of every lane (archive, detach, purge): a chained log that verify_chain() checks audit_chain.chains against';
CREATE UNIQUE INDEX boundaries_chain_idx ON audit_chain.boundaries (chain_lane, chain_seq);
CREATE INDEX boundaries_lane_idx ON audit_chain.boundaries (lane_genesis, kind, chain_seq);
CREATE TRIGGER zz_audit_chain_seal BEFORE INSERT OR UPDATE OR DELETE ON audit_chain.boundaries
    FOR EACH ROW EXECUTE FUNCTION audit_chain.seal_row('1');
CREATE TRIGGER zz_audit_chain_truncate BEFORE TRUNCATE ON audit_chain.boundaries
    FOR EACH STATEMENT EXECUTE FUNCTION audit_chain.refuse_truncate();
INSERT INTO audit_chain.chains (tbl, lane, genesis)
VALUES ('audit_chain.boundaries', 0,
        pg_catalog.sha256(pg_catalog.convert_to('audit_chain/v1 boundaries lane 0', 'UTF8')));
SELECT pg_catalog.pg_extension_config_dump('audit_chain.boundaries', '');

CREATE FUNCTION audit_chain.guard_archive()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'audit_chain_guard_archive';
COMMENT ON FUNCTION audit_chain.guard_archive() IS
    'Trigger of archive tables: refuses every INSERT, UPDATE, DELETE and TRUNCATE but archive()''s and the purge''s own';

CREATE FUNCTION audit_chain.archive_table(tbl regclass)
RETURNS regclass
LANGUAGE C STRICT VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'audit_chain_archive_table';
COMMENT ON FUNCTION audit_chain.archive_table(regclass) IS
    'The archive table of a chained table, in schema audit_chain_archive (made on first use)';

-- No SET clause on the two procedures: it would forbid the COMMITs between
-- batches.  The C code sets search_path = pg_catalog, pg_temp itself around
-- every batch it runs.
CREATE PROCEDURE audit_chain.archive(tbl regclass, older_than interval)
LANGUAGE C
AS 'MODULE_PATHNAME', 'audit_chain_archive';
COMMENT ON PROCEDURE audit_chain.archive(regclass, interval) IS
    'Moves, lane by lane, the oldest rows (chain_at older than older_than) into the archive table, in batches that commit as they go';

CREATE PROCEDURE audit_chain.apply_retention()
LANGUAGE C
AS 'MODULE_PATHNAME', 'audit_chain_apply_retention';
COMMENT ON PROCEDURE audit_chain.apply_retention() IS
    'Applies every retention policy: archives rows older than keep, purges archived rows older than keep + archive_keep';

REVOKE ALL ON audit_chain.archives, audit_chain.boundaries FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_chain.archive_table(regclass) FROM PUBLIC;
REVOKE ALL ON PROCEDURE audit_chain.archive(regclass, interval) FROM PUBLIC;
REVOKE ALL ON PROCEDURE audit_chain.apply_retention() FROM PUBLIC;


--
-- Reports
--

-- Art. 30 records summarize every event ever written: a register, kept
-- current as events arrive.  A row trigger on audit_chain.events (AFTER, so
-- that the row is sealed) adds each event with a purpose to a summary per
-- lane and purpose, in one UPDATE.  A writer holds its lane's lock
-- (src/lane.c) until it commits, so only writers of the same lane ever touch
-- the same summary row, and the lane lock serializes them already: no new
-- waits, no lost updates, no deadlocks.  Reading the register adds up at most
-- 16 rows per purpose.
CREATE TABLE audit_chain.register_lanes (
    lane            smallint    NOT NULL,
    purpose         text        NOT NULL,
    legal_bases     text[]      NOT NULL,
    data_categories text[]      NOT NULL,
    -- [{"r": recipient, "c": transfer_country or ""}, ...]
    recipients      jsonb       NOT NULL,
    subjects        bigint      NOT NULL,
    events          bigint      NOT NULL,
    first_event     timestamptz NOT NULL,
    last_event      timestamptz NOT NULL,
    PRIMARY KEY (lane, purpose)
);
COMMENT ON TABLE audit_chain.register_lanes IS
    'Summary behind gdpr_processing_records, per lane of audit_chain.events and purpose; kept by register_event()';
-- Dumped: it counts archived and purged events too, which a restore of the
-- events alone could not count again (register_event() leaves the restored
-- events to it).
SELECT pg_catalog.pg_extension_config_dump('audit_chain.register_lanes', '');

-- EU member states (Greece is GR in ISO 3166-1), Iceland, Liechtenstein, Norway
CREATE FUNCTION audit_chain.in_eea(country text)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN country OPERATOR(pg_catalog.=) ANY ('{AT,BE,BG,CY,CZ,DE,DK,EE,ES,FI,FR,GR,HR,HU,IE,IS,IT,LI,LT,LU,LV,MT,NL,NO,PL,PT,RO,SE,SI,SK}'::text[]);
COMMENT ON FUNCTION audit_chain.in_eea(text) IS
    'Whether an ISO 3166-1 alpha-2 code is a country of the European Economic Area (EU 27, IS, LI, NO); adequacy decisions are not considered';

-- One new event with a purpose (the trigger's WHEN).  Its (purpose, data
-- subject) pair is a new subject when no other event has it (read through
-- events_subject_idx alone: "purpose || ''" keeps the planner off
-- events_purpose_idx, whose every entry of a busy purpose a bitmap AND would
-- read on each insert), except events
-- after it in its own lane (later rows of the same statement, whose AFTER
-- triggers fire after this one).  Two concurrent transactions that write the
-- first events of the same pair in different lanes may both count it, and a
-- statement that writes several lanes at once (a restore) may count a pair
-- in none: refresh_reports(rebuild => true) recounts.
CREATE FUNCTION audit_chain.register_event()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rcpts   jsonb := '[]';
BEGIN
    -- SECURITY DEFINER: only as the trigger the extension puts on its events
    IF TG_RELID OPERATOR(pg_catalog.<>) 'audit_chain.events'::pg_catalog.regclass
       OR TG_OP <> 'INSERT' OR TG_LEVEL <> 'ROW' OR TG_WHEN <> 'AFTER' THEN
        RAISE EXCEPTION 'register_event() must run as the AFTER INSERT row trigger of audit_chain.events, not on "%"',
                        TG_RELID::pg_catalog.regclass
            USING ERRCODE = 'trigger_protocol_violated';
    END IF;
    -- the events of a dump being replayed (by a superuser with
    -- check_function_bodies off, as pg_dump's scripts and pg_restore set it)
    -- are counted already in the dumped register_lanes
    IF NOT current_setting('check_function_bodies')::boolean
       AND coalesce((SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = session_user), false) THEN
        RETURN NULL;
    END IF;
    IF NEW.disclosure_to IS NOT NULL THEN
        rcpts := rcpts || jsonb_build_array(jsonb_build_object('r', NEW.disclosure_to,
                                                               'c', coalesce(NEW.transfer_country, '')));
    END IF;
    IF NEW.provider IS NOT NULL THEN
        rcpts := rcpts || jsonb_build_array(jsonb_build_object('r', 'AI provider: ' || NEW.provider,
                                                               'c', coalesce(NEW.transfer_country, '')));
    END IF;
    UPDATE audit_chain.register_lanes r
       SET events = r.events + 1,
           subjects = r.subjects
               + CASE WHEN NEW.data_subject IS NOT NULL
                       AND NOT EXISTS (SELECT 1 FROM audit_chain.events e
                                        WHERE e.data_subject = NEW.data_subject
                                          AND (e.purpose || '') = NEW.purpose
                                          AND NOT (e.chain_lane = NEW.chain_lane AND e.chain_seq >= NEW.chain_seq))
                      THEN 1 ELSE 0 END,
           first_event = least(r.first_event, NEW.occurred_at),
           last_event = greatest(r.last_event, NEW.occurred_at),
           legal_bases = CASE WHEN NEW.legal_basis IS NULL OR NEW.legal_basis = ANY (r.legal_bases)
                              THEN r.legal_bases
                              ELSE ARRAY(SELECT DISTINCT x FROM unnest(r.legal_bases || NEW.legal_basis) AS x
                                          ORDER BY x) END,
           data_categories = CASE WHEN NEW.data_categories IS NULL OR NEW.data_categories <@ r.data_categories
                                  THEN r.data_categories
                                  ELSE ARRAY(SELECT DISTINCT x FROM unnest(r.data_categories || NEW.data_categories) AS x
                                              WHERE x IS NOT NULL ORDER BY x) END,
           recipients = CASE WHEN r.recipients @> rcpts THEN r.recipients
                             ELSE (SELECT jsonb_agg(DISTINCT x) FROM jsonb_array_elements(r.recipients || rcpts) AS x) END
     WHERE r.lane = NEW.chain_lane AND r.purpose = NEW.purpose;
    IF NOT FOUND THEN
        INSERT INTO audit_chain.register_lanes
            (lane, purpose, legal_bases, data_categories, recipients, subjects, events, first_event, last_event)
        VALUES (NEW.chain_lane, NEW.purpose,
                CASE WHEN NEW.legal_basis IS NULL THEN '{}'::text[] ELSE ARRAY[NEW.legal_basis] END,
                ARRAY(SELECT DISTINCT x FROM unnest(NEW.data_categories) AS x WHERE x IS NOT NULL ORDER BY x),
                (SELECT coalesce(jsonb_agg(DISTINCT x), '[]') FROM jsonb_array_elements(rcpts) AS x),
                CASE WHEN NEW.data_subject IS NOT NULL
                      AND NOT EXISTS (SELECT 1 FROM audit_chain.events e
                                       WHERE e.data_subject = NEW.data_subject
                                         AND (e.purpose || '') = NEW.purpose
                                         AND NOT (e.chain_lane = NEW.chain_lane AND e.chain_seq >= NEW.chain_seq))
                     THEN 1 ELSE 0 END,
                1, NEW.occurred_at, NEW.occurred_at);
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION audit_chain.register_event() IS
    'Row trigger of audit_chain.events: adds an event with a purpose to the Art. 30 register (register_lanes)';
CREATE TRIGGER zz_audit_chain_register AFTER INSERT ON audit_chain.events
    FOR EACH ROW WHEN (NEW.purpose IS NOT NULL) EXECUTE FUNCTION audit_chain.register_event();

-- The register is current without it; existing cron lines keep working.
CREATE PROCEDURE audit_chain.refresh_reports(rebuild boolean DEFAULT false)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF rebuild IS NULL THEN
        RAISE EXCEPTION 'rebuild must not be NULL' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT rebuild THEN
        RETURN;
    END IF;
    -- the lock waits for every writer that added to the register to commit,
    -- and holds new ones back in their trigger: the next statement's snapshot
    -- sees exactly the events counted in the rows it replaces
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'refresh_reports(rebuild => true) must run at isolation level read committed'
            USING ERRCODE = 'invalid_transaction_state',
                  HINT = 'Call it in its own transaction, or SET TRANSACTION ISOLATION LEVEL READ COMMITTED.';
    END IF;
    LOCK TABLE audit_chain.register_lanes IN EXCLUSIVE MODE;
    DELETE FROM audit_chain.register_lanes;
    INSERT INTO audit_chain.register_lanes
        (lane, purpose, legal_bases, data_categories, recipients, subjects, events, first_event, last_event)
    WITH n AS (
        SELECT e.chain_lane, e.purpose, e.legal_basis, e.data_subject, e.data_categories, e.occurred_at,
               e.disclosure_to, e.provider, e.transfer_country
          FROM audit_chain.events e WHERE e.purpose IS NOT NULL
    ), fresh AS (
        SELECT p.lane, p.purpose, count(*) AS subjects
          FROM (SELECT n.purpose, n.data_subject, min(n.chain_lane) AS lane
                  FROM n WHERE n.data_subject IS NOT NULL GROUP BY 1, 2) p
         GROUP BY 1, 2
    ), cats AS (
        SELECT n.chain_lane AS lane, n.purpose, array_agg(DISTINCT c ORDER BY c) AS data_categories
          FROM n, unnest(n.data_categories) AS c
         WHERE c IS NOT NULL
         GROUP BY 1, 2
    ), rcpts AS (
        SELECT n.chain_lane AS lane, n.purpose,
               jsonb_agg(DISTINCT jsonb_build_object('r', t.r, 'c', coalesce(n.transfer_country, ''))) AS recipients
          FROM n, LATERAL (VALUES (n.disclosure_to), ('AI provider: ' || n.provider)) AS t(r)
         WHERE t.r IS NOT NULL
         GROUP BY 1, 2
    ), agg AS (
        SELECT n.chain_lane AS lane, n.purpose,
               coalesce(array_agg(DISTINCT n.legal_basis ORDER BY n.legal_basis)
                            FILTER (WHERE n.legal_basis IS NOT NULL), '{}') AS legal_bases,
               count(*) AS events, min(n.occurred_at) AS first_event, max(n.occurred_at) AS last_event
          FROM n GROUP BY 1, 2
    )
    SELECT a.lane, a.purpose, a.legal_bases, coalesce(c.data_categories, '{}'),
           coalesce(r.recipients, '[]'), coalesce(f.subjects, 0), a.events, a.first_event, a.last_event
      FROM agg a
      LEFT JOIN cats c ON c.lane = a.lane AND c.purpose = a.purpose
      LEFT JOIN rcpts r ON r.lane = a.lane AND r.purpose = a.purpose
      LEFT JOIN fresh f ON f.lane = a.lane AND f.purpose = a.purpose;
END;
$$;
COMMENT ON PROCEDURE audit_chain.refresh_reports(boolean) IS
    'The Art. 30 register is kept as events arrive: a no-op, unless rebuild => true recounts it from audit_chain.events (after a restore with triggers disabled; forgets archived events)';

CREATE VIEW audit_chain.gdpr_processing_records AS
WITH pr AS (
    SELECT l.purpose, sum(l.subjects)::bigint AS subjects, sum(l.events)::bigint AS events,
           min(l.first_event) AS first_event, max(l.last_event) AS last_event
      FROM audit_chain.register_lanes l
     GROUP BY l.purpose
), lb AS (
    SELECT l.purpose, array_agg(DISTINCT x ORDER BY x) AS legal_bases
      FROM audit_chain.register_lanes l, unnest(l.legal_bases) AS x
     GROUP BY l.purpose
), dc AS (
    SELECT l.purpose, array_agg(DISTINCT x ORDER BY x) AS data_categories
      FROM audit_chain.register_lanes l, unnest(l.data_categories) AS x
     GROUP BY l.purpose
), rc AS (
    SELECT d.purpose,
           array_agg(DISTINCT d.recipient ORDER BY d.recipient) AS recipients,
           jsonb_agg(jsonb_build_object('recipient', d.recipient, 'country', d.transfer_country,
                                        'outside_eea', NOT audit_chain.in_eea(d.transfer_country))
                     ORDER BY d.recipient, d.transfer_country)
               FILTER (WHERE d.transfer_country IS NOT NULL) AS transfers
      FROM (SELECT DISTINCT l.purpose, x->>'r' AS recipient, NULLIF(x->>'c', '') AS transfer_country
              FROM audit_chain.register_lanes l, jsonb_array_elements(l.recipients) AS x) d
     GROUP BY d.purpose
)
SELECT pr.purpose, lb.legal_bases, dc.data_categories, rc.recipients, rc.transfers, pr.subjects, pr.events,
       pr.first_event, pr.last_event,
       ret.retention,
       pg_catalog.now() AS as_of
  FROM pr
  LEFT JOIN lb ON lb.purpose = pr.purpose
  LEFT JOIN dc ON dc.purpose = pr.purpose
  LEFT JOIN rc ON rc.purpose = pr.purpose
  -- the policy of audit_chain.events (set_retention) and its legal hold
  CROSS JOIN (
       SELECT NULLIF(concat_ws('; ',
                  (SELECT 'keep ' || p.keep::text
                          || coalesce(' (' || p.framework || ')', '')
                          || '; archive: ' || coalesce(p.archive_keep::text, 'no limit')
                     FROM audit_chain.retention_policies p
                    WHERE p.tbl OPERATOR(pg_catalog.=) 'audit_chain.events'::pg_catalog.regclass),
                  (SELECT 'legal hold'
                     FROM audit_chain.legal_holds h
                    WHERE h.tbl OPERATOR(pg_catalog.=) 'audit_chain.events'::pg_catalog.regclass)),
              '') AS retention) ret;
COMMENT ON VIEW audit_chain.gdpr_processing_records IS
    'GDPR Art. 30(1): per purpose, the legal bases, categories of data, recipients (AI providers included) with transfers to third countries, subjects and retention; current as events arrive';

CREATE FUNCTION audit_chain.gdpr_subject_access(subject text)
RETURNS SETOF audit_chain.events
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF subject IS NULL OR subject = '' THEN
        RAISE EXCEPTION 'subject must not be empty'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass the data_subject identifier the events carry.';
    END IF;
    RETURN QUERY SELECT * FROM audit_chain.events e
                  WHERE e.data_subject = gdpr_subject_access.subject
                  ORDER BY e.occurred_at;
END;
$$;
COMMENT ON FUNCTION audit_chain.gdpr_subject_access(text) IS
    'GDPR Art. 15: every event about one data subject';

CREATE FUNCTION audit_chain.gdpr_subject_access_json(subject text)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object(
        'data_subject', subject,
        'generated_at', now(),
        'events', count(*),
        'purposes', coalesce(jsonb_agg(DISTINCT e.purpose) FILTER (WHERE e.purpose IS NOT NULL), '[]'),
        'legal_bases', coalesce(jsonb_agg(DISTINCT e.legal_basis) FILTER (WHERE e.legal_basis IS NOT NULL), '[]'),
        'data_categories', coalesce((SELECT jsonb_agg(DISTINCT c) FROM audit_chain.gdpr_subject_access(subject) s,
                                           unnest(s.data_categories) c), '[]'),
        'recipients', coalesce(jsonb_agg(DISTINCT e.disclosure_to) FILTER (WHERE e.disclosure_to IS NOT NULL), '[]'),
        'ai_providers', coalesce(jsonb_agg(DISTINCT e.provider) FILTER (WHERE e.provider IS NOT NULL), '[]'),
        'first_event', min(e.occurred_at),
        'last_event', max(e.occurred_at),
        'activity', coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
            'occurred_at', e.occurred_at, 'event_type', e.event_type, 'action', e.action,
            'outcome', e.outcome, 'actor', e.actor, 'purpose', e.purpose,
            'legal_basis', e.legal_basis, 'resource', e.resource, 'provider', e.provider,
            'model', e.model, 'disclosure_to', e.disclosure_to, 'event_id', e.event_id))
            ORDER BY e.occurred_at), '[]'))
      FROM audit_chain.gdpr_subject_access(subject) e
$$;
COMMENT ON FUNCTION audit_chain.gdpr_subject_access_json(text) IS
    'GDPR Art. 15: one JSON document of everything about one data subject';

CREATE VIEW audit_chain.gdpr_consent_gaps AS
SELECT e.event_id, e.occurred_at, e.actor, e.data_subject, e.purpose, e.action, e.resource
  FROM audit_chain.events e
 WHERE e.legal_basis = 'consent' AND e.consent_id IS NULL;
COMMENT ON VIEW audit_chain.gdpr_consent_gaps IS
    'GDPR Art. 7(1): processing on the basis of consent with no consent on record';

--
-- Requests and traces, consent, safety (issue 14)
--

-- One request's or one trace's (a conversation's) events in order.  Order:
-- occurred_at (the application's time of the step), then chain order: chain_at
-- (when the row was sealed), lane and chain_seq (the order the rows of one
-- lane were sealed in), so steps that share occurred_at (one statement) keep
-- the order they were written in.
CREATE FUNCTION audit_chain.request_timeline(id text)
RETURNS TABLE (step bigint, occurred_at timestamptz, since_first interval,
               event_type text, action text, outcome text, actor text,
               request_id text, trace_id text, span_id text, provider text, model text,
               latency_ms integer, input_tokens integer, output_tokens integer,
               safety_detectors text[], safety_reason text, resource text, event_id uuid)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF id IS NULL OR id = '' THEN
        RAISE EXCEPTION 'request or trace id must not be empty'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass a request_id, or a trace_id of 32 lower-case hexadecimal digits.';
    END IF;
    RETURN QUERY
    SELECT row_number() OVER w,
           e.occurred_at, e.occurred_at - first_value(e.occurred_at) OVER w,
           e.event_type, e.action, e.outcome, e.actor, e.request_id, e.trace_id, e.span_id,
           e.provider, e.model, e.latency_ms, e.input_tokens, e.output_tokens,
           e.safety_detectors, e.safety_reason, e.resource, e.event_id
      FROM audit_chain.events e
     WHERE e.request_id = request_timeline.id OR e.trace_id = request_timeline.id
    WINDOW w AS (ORDER BY e.occurred_at, e.chain_at, e.chain_lane, e.chain_seq)
     ORDER BY e.occurred_at, e.chain_at, e.chain_lane, e.chain_seq;
END;
$$;
COMMENT ON FUNCTION audit_chain.request_timeline(text) IS
    'The events of one request (request_id) or trace (trace_id) in order, with the time since the first';

-- Consent records are events: event_type 'consent', action consent_given or
-- consent_withdrawn, with consent_id and data_subject (a CHECK constraint
-- requires both).  record_consent() writes one.
CREATE FUNCTION audit_chain.record_consent(subject text, consent_id text, given boolean,
                                           purpose text DEFAULT NULL, details jsonb DEFAULT NULL,
                                           occurred_at timestamptz DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    id  uuid;
BEGIN
    IF subject IS NULL OR subject = '' THEN
        RAISE EXCEPTION 'a consent record needs a data subject'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass the data_subject identifier the events about this person carry.';
    END IF;
    IF record_consent.consent_id IS NULL OR record_consent.consent_id = '' THEN
        RAISE EXCEPTION 'a consent record needs a consent id'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass the id of the consent (as the processing events name it in consent_id).';
    END IF;
    IF given IS NULL THEN
        RAISE EXCEPTION 'given must not be NULL'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'true records consent given, false its withdrawal.';
    END IF;
    id := gen_random_uuid();
    INSERT INTO audit_chain.events AS e
        (event_id, occurred_at, event_type, action, consent_id, data_subject, purpose, details)
    VALUES
        (id, coalesce(record_consent.occurred_at, statement_timestamp()), 'consent',
         CASE WHEN given THEN 'consent_given' ELSE 'consent_withdrawn' END,
         record_consent.consent_id, subject,
         coalesce(record_consent.purpose, NULLIF(current_setting('audit_chain.purpose', true), '')),
         record_consent.details);
    RETURN id;
END;
$$;
COMMENT ON FUNCTION audit_chain.record_consent(text, text, boolean, text, jsonb, timestamptz) IS
    'Records consent given (given true) or withdrawn (false) by a data subject: a consent event';

-- Processing that names a consent (consent_id) for a subject, when the
-- subject's last consent record for it at that time is a withdrawal
-- (GDPR Art. 7(3)), or there is none: given only later, or never.  Denied
-- and blocked events did not process and are left out.  The consent
-- records are few: they are summed up per subject and consent id (first
-- given, ever withdrawn) and hash-joined to the processing, and only the
-- processing under a consent that was ever withdrawn looks up the last
-- record before it (events_consent_record_idx).  Filter on occurred_at
-- (events_consent_use_idx) or data_subject to keep it fast.
CREATE VIEW audit_chain.gdpr_consent_violations AS
SELECT e.occurred_at, e.data_subject, e.consent_id,
       CASE WHEN p.first_given IS NULL THEN 'never_given'
            WHEN e.occurred_at < p.first_given THEN 'not_yet_given'
            ELSE 'withdrawn' END AS issue,
       c.occurred_at AS withdrawn_at,
       e.event_type, e.action, e.actor, e.purpose, e.model, e.request_id, e.event_id,
       c.event_id AS withdrawal_event_id
  FROM audit_chain.events e
  LEFT JOIN (
       SELECT r.data_subject, r.consent_id,
              min(r.occurred_at) FILTER (WHERE r.action = 'consent_given') AS first_given,
              bool_or(r.action = 'consent_withdrawn') AS withdrawn_ever
         FROM audit_chain.events r
        WHERE r.event_type = 'consent' AND r.action IN ('consent_given', 'consent_withdrawn')
          AND r.outcome = 'success'
        GROUP BY r.data_subject, r.consent_id) p
    ON p.data_subject = e.data_subject AND p.consent_id = e.consent_id
  LEFT JOIN LATERAL (
       SELECT r.action, r.occurred_at, r.event_id
         FROM audit_chain.events r
        WHERE p.withdrawn_ever AND e.occurred_at >= p.first_given
          AND r.event_type = 'consent' AND r.action IN ('consent_given', 'consent_withdrawn')
          AND r.outcome = 'success'
          AND r.data_subject = e.data_subject AND r.consent_id = e.consent_id
          AND r.occurred_at <= e.occurred_at
        -- a withdrawal at the same instant as a consent wins
        ORDER BY r.occurred_at DESC, r.action DESC
        LIMIT 1) c ON true
 WHERE e.consent_id IS NOT NULL AND e.event_type <> 'consent'
   AND e.outcome NOT IN ('denied', 'blocked')
   AND (p.first_given IS NULL OR e.occurred_at < p.first_given OR c.action = 'consent_withdrawn');
COMMENT ON VIEW audit_chain.gdpr_consent_violations IS
    'GDPR Art. 7(3) and 6(1)(a): processing under a consent after its withdrawal, before it was given, or never given for that subject';

-- Safety checks: events with safety_detectors ('{}': checked, none fired) or
-- a safety_reason.  Per day (UTC) and model: a row with detector NULL counts
-- all checks and blocks (outcome 'blocked'); a row per detector counts the
-- checks in which it fired and the blocks among them.
CREATE VIEW audit_chain.ai_safety_daily AS
SELECT s.day, s.model, NULL::text AS detector, count(*) AS checks,
       count(*) FILTER (WHERE s.outcome = 'blocked') AS blocks
  FROM (SELECT (e.occurred_at AT TIME ZONE 'UTC')::date AS day, e.model, e.outcome
          FROM audit_chain.events e
         WHERE e.safety_detectors IS NOT NULL OR e.safety_reason IS NOT NULL) s
 GROUP BY s.day, s.model
UNION ALL
SELECT s.day, s.model, d.detector, count(*) AS checks,
       count(*) FILTER (WHERE s.outcome = 'blocked') AS blocks
  FROM (SELECT (e.occurred_at AT TIME ZONE 'UTC')::date AS day, e.model, e.outcome, e.safety_detectors
          FROM audit_chain.events e
         WHERE e.safety_detectors IS NOT NULL OR e.safety_reason IS NOT NULL) s,
       LATERAL (SELECT DISTINCT x AS detector FROM unnest(s.safety_detectors) AS x) d
 GROUP BY s.day, s.model, d.detector;
COMMENT ON VIEW audit_chain.ai_safety_daily IS
    'Safety checks of AI calls per day (UTC), model and detector: checks and blocks (detector NULL: all checks)';

CREATE VIEW audit_chain.soc2_security_events AS
SELECT e.occurred_at,
       CASE WHEN e.event_type = 'admin' THEN 'CC7.2' ELSE 'CC6.1' END AS control,
       e.event_type, e.action, e.outcome, e.actor, e.db_role, e.client_addr, e.resource, e.event_id
  FROM audit_chain.events e
 WHERE (e.event_type IN ('authentication', 'security', 'api_request', 'data_access')
        AND e.outcome IN ('failure', 'denied', 'blocked'))
    OR e.event_type = 'admin'
    OR (e.event_type = 'security');
COMMENT ON VIEW audit_chain.soc2_security_events IS
    'SOC 2 CC6.1 (failed, denied and blocked access) and CC7.2 (privilege and configuration changes)';

-- A run is one verify_chain() call on one table: its rows share verified_at.
CREATE VIEW audit_chain.soc2_verification_evidence AS
SELECT t.tbl,
       l.verified_at AS last_verified_at,
       l.verified_by AS last_verified_by,
       l.intact AS last_result_intact,
       l.lanes AS lanes_checked,
       l.rows_checked,
       coalesce(m.runs, 0) AS runs_last_30_days,
       coalesce(m.failed_runs, 0) AS failed_runs_last_30_days,
       (SELECT max(f.verified_at) FROM audit_chain.verification_log f
         WHERE f.tbl OPERATOR(pg_catalog.=) t.tbl AND NOT f.intact) AS last_failure_at
  FROM (SELECT DISTINCT c.tbl FROM audit_chain.chains c) t
  LEFT JOIN LATERAL (
       SELECT v.verified_at, min(v.verified_by) AS verified_by, bool_and(v.intact) AS intact,
              count(*) AS lanes, sum(v.rows_checked) AS rows_checked
         FROM audit_chain.verification_log v
        WHERE v.tbl OPERATOR(pg_catalog.=) t.tbl
          AND v.verified_at = (SELECT max(x.verified_at) FROM audit_chain.verification_log x
                                WHERE x.tbl OPERATOR(pg_catalog.=) t.tbl)
        GROUP BY v.verified_at) l ON true
  LEFT JOIN LATERAL (
       SELECT count(DISTINCT v.verified_at) AS runs,
              count(DISTINCT v.verified_at) FILTER (WHERE NOT v.intact) AS failed_runs
         FROM audit_chain.verification_log v
        WHERE v.tbl OPERATOR(pg_catalog.=) t.tbl
          AND v.verified_at > pg_catalog.now() - interval '30 days') m ON true;
COMMENT ON VIEW audit_chain.soc2_verification_evidence IS
    'SOC 2 CC7.2/CC4.1: when the integrity control last ran on each chained table (never: NULLs), and its result';

CREATE VIEW audit_chain.hipaa_phi_activity AS
SELECT (e.occurred_at AT TIME ZONE 'UTC')::date AS day, e.actor, e.db_role, e.data_subject AS patient,
       count(*) AS events, array_agg(DISTINCT e.action ORDER BY e.action) AS actions,
       min(e.occurred_at) AS first_at, max(e.occurred_at) AS last_at
  FROM audit_chain.events e
 WHERE e.phi
 GROUP BY 1, 2, 3, 4;
COMMENT ON VIEW audit_chain.hipaa_phi_activity IS
    'HIPAA 164.312(b): who touched which patient''s PHI, per day (UTC)';

CREATE FUNCTION audit_chain.hipaa_disclosures(patient text, as_of timestamptz DEFAULT now())
RETURNS TABLE (disclosed_at timestamptz, recipient text, description text, purpose text,
               authorization_ref text, actor text, event_id uuid)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF patient IS NULL OR patient = '' THEN
        RAISE EXCEPTION 'patient must not be empty'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF as_of IS NULL OR as_of = 'infinity' OR as_of = '-infinity' THEN
        RAISE EXCEPTION 'as_of must be a finite timestamp, not %', coalesce(as_of::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    SELECT e.occurred_at, e.disclosure_to,
           coalesce(e.details->>'description', e.action), e.purpose, e.authorization_ref,
           e.actor, e.event_id
      FROM audit_chain.events e
     WHERE e.data_subject = hipaa_disclosures.patient
       AND e.event_type = 'disclosure'
       AND e.occurred_at > hipaa_disclosures.as_of - interval '6 years'
       AND e.occurred_at <= hipaa_disclosures.as_of
     ORDER BY e.occurred_at;
END;
$$;
COMMENT ON FUNCTION audit_chain.hipaa_disclosures(text, timestamptz) IS
    'HIPAA 164.528: accounting of disclosures of one patient''s PHI over the six years before as_of';

CREATE FUNCTION audit_chain.activity_anomalies(per_hour integer DEFAULT 100,
                                               since timestamptz DEFAULT now() - interval '7 days')
RETURNS TABLE (actor text, hour timestamptz, events bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF per_hour IS NULL OR per_hour < 1 THEN
        RAISE EXCEPTION 'per_hour must be at least 1, not %', coalesce(per_hour::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF since IS NULL THEN
        RAISE EXCEPTION 'since must not be NULL' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    SELECT e.actor, date_trunc('hour', e.occurred_at, 'UTC'), count(*)
      FROM audit_chain.events e
     WHERE e.occurred_at >= activity_anomalies.since AND e.actor IS NOT NULL
     GROUP BY 1, 2
    HAVING count(*) > activity_anomalies.per_hour
     ORDER BY 3 DESC, 1, 2;
END;
$$;
COMMENT ON FUNCTION audit_chain.activity_anomalies(integer, timestamptz) IS
    'Actors whose events in one hour exceed a threshold (SOC 2 CC7.2 monitoring)';

-- What an AI platform team asks first: calls, tokens, cost, errors and latency
-- of the AI calls (events with a provider or a model), over [since, until).
-- Served by events_usage_idx (an index-only scan once the table is vacuumed).
CREATE FUNCTION audit_chain.usage_report(since timestamptz, until timestamptz,
                                         group_by text[] DEFAULT '{day,provider,model}')
RETURNS TABLE (day date, provider text, model text, actor text, calls bigint,
               input_tokens bigint, output_tokens bigint, cost numeric, errors bigint,
               error_rate numeric, p50_latency_ms numeric, p95_latency_ms numeric)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    bad     text;
    by_day  boolean;
    by_prov boolean;
    by_mod  boolean;
    by_act  boolean;
BEGIN
    IF since IS NULL OR until IS NULL THEN
        RAISE EXCEPTION '% must not be NULL', CASE WHEN since IS NULL THEN 'since' ELSE 'until' END
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass a range, for example since => now() - interval ''7 days'', until => now(); ''-infinity'' and ''infinity'' are allowed.';
    END IF;
    IF since > until THEN
        RAISE EXCEPTION 'since (%) is later than until (%)', since, until
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The report covers since <= occurred_at < until.';
    END IF;
    IF group_by IS NULL THEN
        RAISE EXCEPTION 'group_by must not be NULL'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Allowed keys: day, provider, model, actor; pass ''{}'' for one row of totals.';
    END IF;
    IF array_ndims(group_by) > 1 THEN
        RAISE EXCEPTION 'group_by must be a one-dimensional array'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Allowed keys: day, provider, model, actor.';
    END IF;
    SELECT coalesce(quote_literal(CASE WHEN length(k) > 40 THEN left(k, 40) || '...' ELSE k END), 'NULL')
      INTO bad
      FROM unnest(group_by) AS k
     WHERE k IS NULL OR k NOT IN ('day', 'provider', 'model', 'actor')
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'unknown group_by key %', bad
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Allowed keys: day, provider, model, actor.';
    END IF;
    by_day := 'day' = ANY (group_by);
    by_prov := 'provider' = ANY (group_by);
    by_mod := 'model' = ANY (group_by);
    by_act := 'actor' = ANY (group_by);
    RETURN QUERY
    SELECT CASE WHEN by_day THEN (e.occurred_at AT TIME ZONE 'UTC')::date END,
           CASE WHEN by_prov THEN e.provider END,
           CASE WHEN by_mod THEN e.model END,
           CASE WHEN by_act THEN e.actor END,
           count(*),
           sum(e.input_tokens)::bigint,
           sum(e.output_tokens)::bigint,
           sum(e.cost),
           count(*) FILTER (WHERE e.outcome IN ('error', 'failure')),
           round(count(*) FILTER (WHERE e.outcome IN ('error', 'failure'))::numeric / count(*), 4),
           round((percentile_cont(0.5) WITHIN GROUP (ORDER BY e.latency_ms))::numeric, 1),
           round((percentile_cont(0.95) WITHIN GROUP (ORDER BY e.latency_ms))::numeric, 1)
      FROM audit_chain.events e
     WHERE (e.provider IS NOT NULL OR e.model IS NOT NULL)
       AND e.occurred_at >= usage_report.since AND e.occurred_at < usage_report.until
     GROUP BY 1, 2, 3, 4
     ORDER BY 1, 2, 3, 4;
END;
$$;
COMMENT ON FUNCTION audit_chain.usage_report(timestamptz, timestamptz, text[]) IS
    'AI calls over [since, until) per day (UTC), provider, model and actor: calls, tokens, cost, error rate (outcome error or failure) and p50/p95 latency (percentile_cont, interpolated, to 0.1 ms)';

-- One event as the JSON document the SIEM feed ships (doc/siem.md): the
-- Elastic Common Schema with the OpenTelemetry GenAI fields ('ecs'), or its
-- columns ('raw'); written in C (src/eventjson.c).  It reads nothing but its
-- argument, so it needs no privilege of its own.
CREATE FUNCTION audit_chain.event_json(e audit_chain.events, format text DEFAULT 'ecs')
RETURNS jsonb
LANGUAGE C IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'audit_chain_event_json';
COMMENT ON FUNCTION audit_chain.event_json(audit_chain.events, text) IS
    'One event as a JSON document: Elastic Common Schema 8.x with OpenTelemetry GenAI fields (ecs), or its columns (raw); digests in hex, times in ISO 8601 UTC';

CREATE FUNCTION audit_chain.export_jsonl(since timestamptz)
RETURNS SETOF text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET timezone = 'UTC'
AS $$
BEGIN
    IF since IS NULL THEN
        RAISE EXCEPTION 'since must not be NULL'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass ''-infinity'' to export every event.';
    END IF;
    RETURN QUERY
    SELECT audit_chain.event_json(e, 'raw')::text
      FROM audit_chain.events e
     WHERE e.occurred_at >= export_jsonl.since
     ORDER BY e.occurred_at, e.chain_lane, e.chain_seq;
END;
$$;
COMMENT ON FUNCTION audit_chain.export_jsonl(timestamptz) IS
    'One JSON text per event since a time, with its chain columns as hex, for a SIEM (Filebeat, Fluentd, Splunk, Datadog)';

-- The gap-free feed for a SIEM (README, "Shipping events to a SIEM").
--
-- A cursor is where a shipper stands in every lane of audit_chain.events: the
-- seq of the last event it was given in each lane.  The next call returns the
-- events after it, lane by lane in seq order.  Why that is every committed
-- event exactly once, whatever occurred_at says and however late a
-- transaction commits:
--
-- 1. In every MVCC snapshot, the visible events of a lane are one run of seqs
--    without a hole.  The seal trigger gives a row seq n + 1 only while its
--    transaction holds the lane's lock (src/lane.c), and it keeps the lock
--    until its transaction ends; the previous holder released it only after
--    its commit was visible (CommitTransaction takes the transaction out of
--    the proc array before it releases its locks).  So the transaction that
--    wrote seq n + 1 committed after the one that wrote seq n, and a snapshot
--    that sees the later commit sees the earlier one.  A transaction that
--    holds seq 7 and has not committed holds the lock: nobody has seq 8
--    yet, so the reader sees 1 .. 6 and stops there; seq 7 comes with the
--    next call, after its commit.  An aborted writer leaves no seq behind:
--    the next holder reads the head with SnapshotSelf and reuses the seq.  A
--    savepoint rolled back releases the lock only if it took it, and then
--    every row written under that lock is rolled back with it.
-- 2. Isolation levels do not matter: the reader's snapshot, whenever it was
--    taken (between two commits, in REPEATABLE READ or SERIALIZABLE, on a hot
--    standby, which replays commits in WAL order), sees a prefix of each lane;
--    every query below runs in the one snapshot of the calling statement (the
--    function is STABLE), so the boundaries in audit_chain.chains and the
--    rows of the live and the archive table agree (archive() moves rows and
--    the boundary in one transaction).
-- 3. Events after the cursor in a lane are therefore the next seqs of that
--    lane, and the cursor after an event is the old cursor with that lane at
--    the event's seq: rows are delivered in seq order within a lane, so
--    stopping anywhere (max_events, a crash) leaves no hole behind the
--    cursor.  The function checks this (every lane's rows must be cursor + 1,
--    cursor + 2, ...) and raises an error rather than skip one.
-- 4. Lanes are merged by the running maximum of chain_at within each lane (a
--    key that never decreases along a lane), then lane, then seq: the same
--    cursor and the same committed events give the same lines in the same
--    order.  A lane the cursor does not name starts at 0 (lanes added later).
-- 5. Events behind the archive boundary are read from the archive table; a
--    cursor behind the purge boundary (events dropped by apply_retention())
--    is an error, never a silent skip.  A NULL cursor starts at the oldest
--    event kept (archive included), and the cursors it returns name every
--    lane with a purge boundary; a lane a cursor does not name is at 0.
--
-- The cursor text is "v1:" then, for every lane past 0, "lane.seq.tag" (tag:
-- the first 16 hex digits of that event's chain_hash), comma-separated, then
-- ":" and the first 8 hex digits of SHA-256 of the part between the colons.
-- The checksum catches a damaged or edited cursor, the tags a cursor of
-- another database (it names events this chain does not have).
CREATE FUNCTION audit_chain.export_events(after text DEFAULT NULL,
                                          max_events integer DEFAULT 10000,
                                          format text DEFAULT 'ecs')
RETURNS TABLE (line text, next_cursor text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET timezone = 'UTC'
-- its query reads a few index ranges; on a big table the planner's cost
-- estimate (the lanes' whole ranges, not the LIMIT) turns on JIT inlining
-- and optimization, 0.4 to 0.8 s of compiling a call (test/bench/reports.sh)
SET jit = off
AS $fn$
DECLARE
    bad_hint  constant text := 'Pass the cursor text the last export_events() call returned (its next_cursor), unchanged, or NULL to start a new feed at the oldest event kept.';
    m         text[];
    body      text;
    ent       text;
    f         text[];
    ln        integer;
    last_ln   integer := -1;
    sq        numeric;
    -- indexed by lane + 1
    pos       bigint[] := pg_catalog.array_fill(0::bigint, ARRAY[64]);
    tag       text[] := pg_catalog.array_fill(NULL::text, ARRAY[64]);
    named     boolean[] := pg_catalog.array_fill(false, ARRAY[64]);
    exists_ln boolean[] := pg_catalog.array_fill(false, ARRAY[64]);
    b         record;
    lanes     integer[] := '{}';
    froms     bigint[] := '{}';
    archs     bigint[] := '{}';
    arch      regclass;
    need_arch boolean := false;
    h         bytea;
    src       text;
    row_src   text;
    q         text;
    r         record;
    ent_of    text[] := pg_catalog.array_fill(NULL::text, ARRAY[64]);
BEGIN
    IF max_events IS NULL OR max_events < 1 OR max_events > 1000000 THEN
        RAISE EXCEPTION 'max_events must be between 1 and 1000000, not %', coalesce(max_events::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF format IS NULL THEN
        RAISE EXCEPTION 'format must not be NULL'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Valid formats are "ecs" (Elastic Common Schema 8.x) and "raw" (the columns of audit_chain.events, as export_jsonl() writes them).';
    END IF;
    IF format NOT IN ('ecs', 'raw') THEN
        RAISE EXCEPTION 'unknown export format "%"', format
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Valid formats are "ecs" (Elastic Common Schema 8.x) and "raw" (the columns of audit_chain.events, as export_jsonl() writes them).';
    END IF;

    -- the cursor: version, syntax, checksum, then lane by lane
    IF after IS NOT NULL THEN
        IF after !~ '^v[0-9]+:' THEN
            RAISE EXCEPTION 'invalid export cursor'
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'An export cursor starts with its version, "v1:".',
                      HINT = bad_hint;
        END IF;
        IF after !~ '^v1:' THEN
            RAISE EXCEPTION 'export cursor version "%" is not supported', substring(after FROM '^(v[0-9]{1,9})')
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'This version of audit_chain reads v1 cursors only; the cursor was made by a newer one.',
                      HINT = 'Use the audit_chain version that made the cursor, or start a new feed with NULL.';
        END IF;
        m := regexp_match(after, '^v1:((?:[0-9]{1,5}\.[0-9]{1,19}\.[0-9a-f]{16})(?:,[0-9]{1,5}\.[0-9]{1,19}\.[0-9a-f]{16}){0,63})?:([0-9a-f]{8})$');
        IF m IS NULL THEN
            RAISE EXCEPTION 'invalid export cursor'
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'A v1 cursor is "v1:", lane.seq.tag entries separated by commas, ":" and an 8-digit checksum.',
                      HINT = bad_hint;
        END IF;
        body := coalesce(m[1], '');
        IF pg_catalog.left(pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to('audit_chain/v1 cursor ' || body, 'UTF8')), 'hex'), 8) <> m[2] THEN
            RAISE EXCEPTION 'export cursor checksum does not match'
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'The cursor was damaged or edited.',
                      HINT = bad_hint;
        END IF;
        IF body <> '' THEN
            FOREACH ent IN ARRAY pg_catalog.string_to_array(body, ',') LOOP
                f := pg_catalog.string_to_array(ent, '.');
                ln := f[1]::integer;
                sq := f[2]::numeric;
                IF ln > 63 OR ln <= last_ln OR sq < 1 OR sq > 9223372036854775807 THEN
                    RAISE EXCEPTION 'invalid export cursor'
                        USING ERRCODE = 'invalid_parameter_value',
                              DETAIL = pg_catalog.format('Entry "%s": lanes are 0 to 63 in increasing order, seqs 1 to 9223372036854775807.', ent),
                              HINT = bad_hint;
                END IF;
                last_ln := ln;
                pos[ln + 1] := sq::bigint;
                tag[ln + 1] := f[3];
                named[ln + 1] := true;
            END LOOP;
        END IF;
    END IF;

    SELECT x.archive INTO arch FROM audit_chain.archives x
     WHERE x.tbl OPERATOR(pg_catalog.=) 'audit_chain.events'::pg_catalog.regclass;

    -- every lane of audit_chain.events, and the cursor's place in it
    FOR b IN SELECT c.lane, c.archived_seq, c.archived_hash, c.purged_seq, c.purged_hash
               FROM audit_chain.chains c
              WHERE c.tbl OPERATOR(pg_catalog.=) 'audit_chain.events'::pg_catalog.regclass
              ORDER BY c.lane
    LOOP
        ln := b.lane;
        exists_ln[ln + 1] := true;
        IF b.purged_seq > 0 AND b.purged_hash IS NULL THEN
            RAISE EXCEPTION 'lane % of audit_chain.events has a purge boundary without a hash', ln
                USING ERRCODE = 'data_corrupted',
                      HINT = 'Run audit_chain.verify_chain(''audit_chain.events'').';
        END IF;
        IF after IS NULL THEN
            -- a new feed: from the oldest event kept (the purged ones went
            -- before the feed began); the cursors it returns name the lane
            pos[ln + 1] := b.purged_seq;
            IF b.purged_seq > 0 THEN
                tag[ln + 1] := pg_catalog.left(pg_catalog.encode(b.purged_hash, 'hex'), 16);
            END IF;
        ELSE
            -- a lane the cursor does not name is at 0 (nothing of it delivered)
            IF pos[ln + 1] < b.purged_seq THEN
                RAISE EXCEPTION 'export cursor is behind the purge boundary of lane %', ln
                    USING ERRCODE = 'invalid_parameter_value',
                          DETAIL = pg_catalog.format('Events %s to %s of lane %s were purged by apply_retention() before they were exported.',
                                                     pos[ln + 1] + 1, b.purged_seq, ln),
                          HINT = 'Those events cannot be exported any more: record the gap, then start a new feed with NULL (it starts at the oldest event kept), and export more often than the retention period.';
            END IF;
            -- the event the cursor stands on: its hash must match the tag
            IF pos[ln + 1] = 0 THEN
                h := NULL;
            ELSIF pos[ln + 1] = b.purged_seq THEN
                h := b.purged_hash;
            ELSIF pos[ln + 1] = b.archived_seq THEN
                h := b.archived_hash;
            ELSE
                h := NULL;
                SELECT e.chain_hash INTO h FROM audit_chain.events e
                 WHERE e.chain_lane OPERATOR(pg_catalog.=) ln::smallint
                   AND e.chain_seq OPERATOR(pg_catalog.=) pos[ln + 1];
                IF h IS NULL AND pos[ln + 1] < b.archived_seq AND arch IS NOT NULL THEN
                    EXECUTE pg_catalog.format('SELECT a.chain_hash FROM %s a WHERE a.chain_lane OPERATOR(pg_catalog.=) $1 AND a.chain_seq OPERATOR(pg_catalog.=) $2', arch)
                       INTO h USING ln::smallint, pos[ln + 1];
                END IF;
            END IF;
            IF h IS NULL AND pos[ln + 1] > 0 THEN
                RAISE EXCEPTION 'export cursor is ahead of lane %', ln
                    USING ERRCODE = 'invalid_parameter_value',
                          DETAIL = pg_catalog.format('Lane %s of audit_chain.events has no event with seq %s.', ln, pos[ln + 1]),
                          HINT = 'The cursor was made by another database, or by a server this one is behind: a standby that has not replayed as far (read from the server the cursor came from), or a server promoted from a standby that lagged, which lost the events the cursor passed (resume from a cursor taken before them). Otherwise start a new feed with NULL.';
            END IF;
            IF pos[ln + 1] > 0 AND pg_catalog.left(pg_catalog.encode(h, 'hex'), 16) <> tag[ln + 1] THEN
                RAISE EXCEPTION 'export cursor does not belong to this database'
                    USING ERRCODE = 'invalid_parameter_value',
                          DETAIL = pg_catalog.format('Event %s of lane %s has another hash than the cursor records.', pos[ln + 1], ln),
                          HINT = 'A cursor is valid only for the audit_chain.events it was read from: start a new feed for this database with NULL. If this server was promoted from a standby that lagged, the events the cursor passed were lost and new ones took their seqs: resume from a cursor taken before them.';
            END IF;
        END IF;
        lanes := lanes || ln;
        froms := froms || pos[ln + 1];
        archs := archs || b.archived_seq;
        IF pos[ln + 1] < b.archived_seq THEN
            need_arch := true;
        END IF;
    END LOOP;
    FOR ln IN 0 .. 63 LOOP
        IF named[ln + 1] AND NOT exists_ln[ln + 1] THEN
            RAISE EXCEPTION 'export cursor names lane %, which audit_chain.events does not have', ln
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'A cursor is valid only for the audit_chain.events it was read from: start a new feed for this database with NULL.';
        END IF;
        -- the cursor after each line: ent_of holds every lane's "lane.seq.tag"
        -- (NULL for a lane at 0), so its text is one array_to_string() a line
        IF pos[ln + 1] > 0 THEN
            ent_of[ln + 1] := ln || '.' || pos[ln + 1] || '.' || tag[ln + 1];
        END IF;
    END LOOP;
    IF need_arch AND arch IS NULL THEN
        RAISE EXCEPTION 'audit_chain.events has archived events but no archive table'
            USING ERRCODE = 'data_corrupted';
    END IF;

    -- The next events of each lane, live and (behind the boundary) archived:
    -- first only their keys (at most max_events a lane), merged and cut to
    -- the page, then the page's rows, each made into its line by
    -- audit_chain.event_json() (src/eventjson.c).  Whole rows in the merge
    -- would be sorted on disk once there are many lanes (16 lanes of 10,000).
    src := $q$
        SELECT x.chain_lane AS lane, x.chain_seq AS seq, x.chain_at AS at, false AS arch
          FROM p CROSS JOIN LATERAL (
            SELECT e.chain_lane, e.chain_seq, e.chain_at FROM audit_chain.events e
             WHERE e.chain_lane OPERATOR(pg_catalog.=) p.lane
               AND e.chain_seq OPERATOR(pg_catalog.>) p.pos
             ORDER BY e.chain_seq LIMIT $4) x$q$;
    row_src := $q$
            SELECT e FROM audit_chain.events e
             WHERE NOT o.arch
               AND e.chain_lane OPERATOR(pg_catalog.=) o.lane
               AND e.chain_seq OPERATOR(pg_catalog.=) o.seq$q$;
    IF need_arch THEN
        src := src || pg_catalog.format($q$
        UNION ALL
        SELECT y.chain_lane, y.chain_seq, y.chain_at, true
          FROM p CROSS JOIN LATERAL (
            SELECT a.chain_lane, a.chain_seq, a.chain_at FROM %s a
             WHERE a.chain_lane OPERATOR(pg_catalog.=) p.lane
               AND a.chain_seq OPERATOR(pg_catalog.>) p.pos
               AND a.chain_seq OPERATOR(pg_catalog.<=) p.archived
             ORDER BY a.chain_seq LIMIT $4) y
         WHERE p.pos OPERATOR(pg_catalog.<) p.archived$q$, arch);
        row_src := row_src || pg_catalog.format($q$
            UNION ALL
            SELECT pg_catalog.jsonb_populate_record(NULL::audit_chain.events, pg_catalog.to_jsonb(a))
              FROM %s a
             WHERE o.arch
               AND a.chain_lane OPERATOR(pg_catalog.=) o.lane
               AND a.chain_seq OPERATOR(pg_catalog.=) o.seq$q$, arch);
    END IF;

    -- merged by the running maximum of chain_at within each lane, then lane,
    -- then seq (see above)
    q := pg_catalog.format($q$
        WITH p AS (SELECT * FROM ROWS FROM (pg_catalog.unnest($1::integer[]), pg_catalog.unnest($2::bigint[]),
                                             pg_catalog.unnest($3::bigint[])) AS p(lane, pos, archived)),
        k AS (
            SELECT s.lane, s.seq, s.arch,
                   pg_catalog.max(s.at) OVER (PARTITION BY s.lane ORDER BY s.seq) AS at_key
              FROM (%s) s),
        o AS (SELECT k.* FROM k ORDER BY k.at_key, k.lane, k.seq LIMIT $4)
        SELECT o.lane, o.seq, (r.e).chain_hash AS hash,
               audit_chain.event_json(r.e, $5)::text AS doc
          FROM o CROSS JOIN LATERAL (%s) AS r(e)
         ORDER BY o.at_key, o.lane, o.seq$q$, src, row_src);

    FOR r IN EXECUTE q USING lanes, froms, archs, max_events, format LOOP
        ln := r.lane;
        -- never skip: the next event of a lane is the one after the cursor
        IF r.seq <> pos[ln + 1] + 1 THEN
            RAISE EXCEPTION 'lane % of audit_chain.events has no event with seq %', ln, pos[ln + 1] + 1
                USING ERRCODE = 'data_corrupted',
                      DETAIL = pg_catalog.format('The next event found after seq %s is seq %s.', pos[ln + 1], r.seq),
                      HINT = 'Run audit_chain.verify_chain(''audit_chain.events'').';
        END IF;
        pos[ln + 1] := r.seq;
        ent_of[ln + 1] := ln || '.' || r.seq || '.' || pg_catalog.left(pg_catalog.encode(r.hash, 'hex'), 16);
        body := pg_catalog.array_to_string(ent_of, ',');
        line := r.doc;
        next_cursor := 'v1:' || body || ':'
               || pg_catalog.left(pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to('audit_chain/v1 cursor ' || body, 'UTF8')), 'hex'), 8);
        RETURN NEXT;
    END LOOP;
END;
$fn$;
COMMENT ON FUNCTION audit_chain.export_events(text, integer, text) IS
    'The gap-free SIEM feed: the events after a cursor (NULL: from the oldest kept), at most max_events, one JSON line each (ECS 8.x, or raw) with the cursor to store after it';

--
-- Privileges: administration is for superusers and whom they grant it to
--

REVOKE ALL ON FUNCTION audit_chain.protect(regclass, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_chain.unprotect(regclass, text) FROM PUBLIC;
-- export_chain() checks SELECT on the table; protect_replica() that the
-- caller owns it, as protect() does
REVOKE ALL ON FUNCTION audit_chain.export_chain(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_chain.protect_replica(regclass, json) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_chain.checkpoint() FROM PUBLIC;
-- export_checkpoint() reads the checkpoints as their owner: for the monitor
-- that publishes them and for auditors, granted by the DBA
REVOKE ALL ON FUNCTION audit_chain.export_checkpoint(bigint) FROM PUBLIC;
-- protect() and unprotect() run as their caller; the internal functions they
-- call check that the caller owns the table (or may read it) themselves, so a
-- superuser can GRANT EXECUTE on protect() and unprotect() to table owners.
REVOKE ALL ON FUNCTION audit_chain.verify_chain(regclass, boolean, json, text) FROM PUBLIC;
REVOKE ALL ON PROCEDURE audit_chain.assert_intact(regclass, boolean, json, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_chain.row_hash(regclass, integer, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_chain.canonical_row(regclass, integer, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_chain.export_segment(regclass, integer, bigint, bigint) FROM PUBLIC;
-- lane_head() checks SELECT on the table, but it is for checkpoint() and auditors
REVOKE ALL ON FUNCTION audit_chain.lane_head(regclass, integer) FROM PUBLIC;

-- Reports show personal data: for roles the DBA grants them to
REVOKE ALL ON PROCEDURE audit_chain.refresh_reports(boolean) FROM PUBLIC;
REVOKE ALL ON audit_chain.register_lanes FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_chain.register_event() FROM PUBLIC;
REVOKE ALL ON audit_chain.gdpr_processing_records, audit_chain.gdpr_consent_gaps,
    audit_chain.soc2_security_events, audit_chain.soc2_verification_evidence,
    audit_chain.hipaa_phi_activity FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_chain.gdpr_subject_access(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_chain.gdpr_subject_access_json(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_chain.hipaa_disclosures(text, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_chain.activity_anomalies(integer, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_chain.usage_report(timestamptz, timestamptz, text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_chain.export_jsonl(timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_chain.export_events(text, integer, text) FROM PUBLIC;
REVOKE ALL ON audit_chain.gdpr_consent_violations, audit_chain.ai_safety_daily FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_chain.request_timeline(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_chain.record_consent(text, text, boolean, text, jsonb, timestamptz) FROM PUBLIC;
