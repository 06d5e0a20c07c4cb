#!/usr/bin/env bash
# test/scenarios/dump_restore.sh -- a database with chained tables survives
# pg_dump and pg_restore (custom format) and pg_dump | psql (plain format):
# the restored chains verify with the same rows, audit_chain.chains,
# checkpoints, the logs, retention policies, legal holds and redactions come back
# (pg_extension_config_dump), the restored checkpoint still catches a cut
# tail, and new rows continue each chain.
#
# Uses the cluster in PGHOST/PGPORT if one answers there (databases named
# ac_dr_*_PID, dropped at exit), else starts its own through scripts/lib.sh.
# Set AC_OWN_CLUSTER=1 to always start its own.
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "${AC_LIB:-$(dirname "$0")/../../scripts/lib.sh}"

if [[ ${AC_OWN_CLUSTER:-0} != 1 && -n ${PGHOST:-} ]] &&
    psql -X -qtAc 'SELECT 1' -d postgres >/dev/null 2>&1; then
    export PGUSER=${PGUSER:-postgres}
    ac_log "using the running cluster at PGHOST=$PGHOST PGPORT=${PGPORT:-5432}"
else
    start_cluster dump_restore
fi

SRC=ac_dr_src_$$
DST=ac_dr_dst_$$
DST2=ac_dr_plain_$$
TMP=$(ac_tmpdir)
DUMP=$TMP/src.dump
PLAIN=$TMP/src.sql
chmod 777 "$TMP"

drop_dbs() {
    local db
    for db in "$SRC" "$DST" "$DST2"; do
        PGOPTIONS='-c client_min_messages=warning' \
            psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
    done
}
ac_defer drop_dbs

q() { # q DB SQL: one value, unaligned
    psql_db "$1" -qtAc "$2"
}

expect() { # expect WHAT GOT WANT
    if [[ $2 != "$3" ]]; then
        ac_die "$1: got '$2', want '$3'"
    fi
    ac_log "ok: $1"
}

# ------------------------------------------------------------------ source
createdb "$SRC"
psql_db "$SRC" -q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION audit_chain;
CREATE SCHEMA app;
CREATE TABLE app.audit (id bigint GENERATED ALWAYS AS IDENTITY, actor text, action text,
                        details jsonb, at timestamptz DEFAULT now(), amount numeric(10, 2),
                        tags text[], doubled bigint GENERATED ALWAYS AS (id * 2) STORED);
SELECT audit_chain.protect('app.audit', lanes => 2);
CREATE TABLE app.access (id int, day date, who text) PARTITION BY RANGE (day);
CREATE TABLE app.access_2024 PARTITION OF app.access FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE app.access_2025 PARTITION OF app.access FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
SELECT audit_chain.protect('app.access');
CREATE TABLE app.cut (id int);
SELECT audit_chain.protect('app.cut');
CREATE TABLE app.gone (id int);
SELECT audit_chain.protect('app.gone');
INSERT INTO app.gone VALUES (1);
SELECT audit_chain.unprotect('app.gone', 'retired before the dump');
SQL

# Rows in both lanes of app.audit: a second writer while the first holds its lane
psql_db "$SRC" -q -c "BEGIN; INSERT INTO app.audit (actor, action) VALUES ('slow', 'holds a lane'); SELECT pg_sleep(2); COMMIT;" >/dev/null &
slow=$!
sleep 0.5
for i in $(seq 1 20); do
    psql_db "$SRC" -q -c "INSERT INTO app.audit (actor, action, details, amount, tags)
                          VALUES ('user$i', 'login', '{\"n\": $i}', $i.5, '{a,b}')"
done
wait "$slow"
psql_db "$SRC" -q >/dev/null <<'SQL'
INSERT INTO app.audit (actor, action) SELECT 'bulk', 'batch ' || g FROM generate_series(1, 50) g;
INSERT INTO app.access SELECT g, DATE '2024-06-01' + g * 2, 'who' || g FROM generate_series(1, 200) g;
INSERT INTO app.cut SELECT g FROM generate_series(1, 10) g;
-- audit_chain.events is an extension table: its rows come back through
-- pg_extension_config_dump, loaded while its seal trigger is on
SELECT audit_chain.log_event('api_request', 'chat.completion', actor => 'user' || g,
                             provider => 'openai', model => 'gpt-4o', input_tokens => g,
                             input_digest => audit_chain.digest('prompt ' || g),
                             purpose => 'support', data_subject => 'cust-' || (g % 7),
                             transfer_country => 'US')
  FROM generate_series(1, 30) g;
CREATE TABLE app.patients (id int PRIMARY KEY, name text);
SELECT audit_chain.track('app.patients');
INSERT INTO app.patients VALUES (1, 'Amy'), (2, 'Rory');
UPDATE app.patients SET name = 'Amy P.' WHERE id = 1;
-- retention policies and legal holds come back too (the hold's history included)
SELECT audit_chain.set_retention('app.audit', framework => 'HIPAA');
SELECT audit_chain.set_retention('audit_chain.events', interval '2 years', 'GDPR', interval '1 year');
SELECT audit_chain.legal_hold('app.cut', true, 'case 1');
SELECT audit_chain.legal_hold('app.cut', false, 'case 1 closed');
SELECT audit_chain.legal_hold('app.access', true, 'subpoena 7');
-- redacted rows come back with their kept digests, and still verify (pg_dump
-- loads app.audit and audit_chain.events before audit_chain.redactions)
SELECT audit_chain.redact('app.audit', chain_lane, chain_seq, ARRAY['actor', 'details'], 'erasure 1')
  FROM app.audit WHERE actor = 'user3';
SELECT count(*) FROM audit_chain.redact_subject('user5', 'erasure 2');
-- archived rows, their archive table and the boundary log come back too
CALL audit_chain.archive('app.audit', interval '1 microsecond');
INSERT INTO app.audit (actor, action) VALUES ('after', 'the archive');
SELECT audit_chain.checkpoint();
INSERT INTO app.audit (actor, action) VALUES ('late', 'after the checkpoint');
SQL

lanes_used=$(q "$SRC" "SELECT count(DISTINCT chain_lane) FROM (SELECT chain_lane FROM app.audit UNION ALL SELECT chain_lane FROM audit_chain_archive.audit) t")
expect "source: rows in both lanes of app.audit" "$lanes_used" 2
src_verify=$(q "$SRC" "SELECT string_agg(format('%s/%s/%s/%s', tbl, lane, rows_checked, intact), ' ' ORDER BY tbl::text, lane) FROM audit_chain.verify_chain()")
ac_log "source verify: $src_verify"
[[ $src_verify != *false* ]] || ac_die "the source database does not verify: $src_verify"

# What must come back
snapshot() { # snapshot DB: the extension's own tables, as text
    psql_db "$1" -qtA <<'SQL'
-- (the lanes of audit_chain.events and audit_chain.boundaries, made again by
-- CREATE EXTENSION with the same genesis hashes, take the dumped rows'
-- boundaries and created_at: audit_chain.restore_lane())
SELECT 'chains', tbl::text, lane, encode(genesis, 'hex'), archived_seq,
       encode(archived_hash, 'hex'), purged_seq, encode(purged_hash, 'hex'),
       created_at, created_by
  FROM audit_chain.chains ORDER BY 2, 3;
SELECT 'archives', tbl::text, archive::text FROM audit_chain.archives ORDER BY 2;
SELECT 'boundary', chain_seq, kind, tbl_name, lane, from_seq, to_seq, row_count,
       encode(to_hash, 'hex'), encode(chain_hash, 'hex')
  FROM audit_chain.boundaries ORDER BY 2;
SELECT 'rows', 'audit_chain_archive.audit', count(*), md5(string_agg(t::text, '|' ORDER BY chain_lane, chain_seq)) FROM audit_chain_archive.audit t;
SELECT 'checkpoint', checkpoint_id, created_at, encode(sha256(payload), 'hex')
  FROM audit_chain.checkpoints ORDER BY 2;
SELECT 'head', checkpoint_id, tbl::text, lane, seq, encode(hash, 'hex')
  FROM audit_chain.checkpoint_heads ORDER BY 2, 3, 4;
SELECT 'protection', id, action, tbl_name, lanes, rows_sealed, heads, reason
  FROM audit_chain.protection_log ORDER BY 2;
SELECT 'verification', verification_id, tbl::text, lane, rows_checked, intact, last_seq
  FROM audit_chain.verification_log ORDER BY 2;
SELECT 'retention', tbl::text, keep, framework, archive_keep, set_at, set_by
  FROM audit_chain.retention_policies ORDER BY 2;
SELECT 'legal hold', id, tbl::text, tbl_name, hold, reason, set_at, set_by
  FROM audit_chain.legal_hold_log ORDER BY 2;
SELECT 'on hold', tbl::text, reason FROM audit_chain.legal_holds ORDER BY 2;
SELECT 'redaction', tbl::text, lane, seq, column_name, encode(digest, 'hex'), reason, redacted_at, redacted_by
  FROM audit_chain.redactions ORDER BY 2, 3, 4, 5;
SELECT 'rows', 'app.audit', count(*), md5(string_agg(t::text, '|' ORDER BY chain_lane, chain_seq)) FROM app.audit t;
SELECT 'rows', 'app.access', count(*), md5(string_agg(t::text, '|' ORDER BY chain_lane, chain_seq)) FROM app.access t;
SELECT 'rows', 'app.cut', count(*), md5(string_agg(t::text, '|' ORDER BY chain_lane, chain_seq)) FROM app.cut t;
SELECT 'rows', 'app.gone', count(*), md5(string_agg(t::text, '|' ORDER BY chain_lane, chain_seq)) FROM app.gone t;
SELECT 'rows', 'audit_chain.events', count(*), md5(string_agg(t::text, '|' ORDER BY chain_lane, chain_seq)) FROM audit_chain.events t;
SQL
}
snapshot "$SRC" >"$TMP/src.snap"
# The Art. 30 register is dumped (register_lanes), and its trigger leaves the
# restored events to it (refresh_reports(rebuild => true) recounts it as well)
REG_SQL="SELECT string_agg(format('%s/%s/%s/%s/%s/%s', purpose, legal_bases, recipients, transfers, subjects, events), ' ' ORDER BY purpose) FROM audit_chain.gdpr_processing_records"
src_reg=$(q "$SRC" "$REG_SQL")
[[ $src_reg == *support* ]] || ac_die "no register in the source: '$src_reg'"
EVT_SQL="SELECT string_agg(evtname || ':' || evtenabled::text, ',' ORDER BY evtname) FROM pg_event_trigger"
src_evt=$(q "$SRC" "$EVT_SQL")
[[ $src_evt == *audit_chain* ]] || ac_die "no audit_chain event trigger in the source: '$src_evt'"

# ------------------------------------------------------------------ dump and restore
pg_dump -Fc -f "$DUMP" "$SRC" || ac_die "pg_dump -Fc failed"
pg_dump -Fp -f "$PLAIN" "$SRC" || ac_die "pg_dump -Fp failed"
createdb "$DST"
if ! pg_restore --exit-on-error -d "$DST" "$DUMP" 2>"$TMP/restore.err"; then
    cat "$TMP/restore.err" >&2
    ac_die "pg_restore into a new database FAILED (see the errors above)"
fi
if [[ -s $TMP/restore.err ]]; then
    ac_warn "pg_restore printed:"
    cat "$TMP/restore.err" >&2
else
    ac_log "ok: pg_restore -Fc ran without an error"
fi
createdb "$DST2"
if ! psql -X -q -v ON_ERROR_STOP=1 -d "$DST2" -f "$PLAIN" >"$TMP/plain.out" 2>&1; then
    cat "$TMP/plain.out" >&2
    ac_die "restoring the plain dump with psql FAILED (see the errors above)"
fi
ac_log "ok: plain dump restored with psql -v ON_ERROR_STOP=1"

for db in "$DST" "$DST2"; do
    ac_log "---- checking $db"
    snapshot "$db" >"$TMP/$db.snap"
    if ! diff -u "$TMP/src.snap" "$TMP/$db.snap" >&2; then
        ac_die "$db: audit_chain.chains / checkpoints / logs / rows differ from the source (diff above)"
    fi
    ac_log "ok: chains, checkpoints, checkpoint heads, protection and verification logs and rows restored"

    got=$(q "$db" "SELECT string_agg(format('%s/%s/%s/%s', tbl, lane, rows_checked, intact), ' ' ORDER BY tbl::text, lane) FROM audit_chain.verify_chain()")
    expect "$db: verify_chain() gives the same lanes and rows_checked, all intact" "$got" "$src_verify"
    psql_db "$db" -q -c 'CALL audit_chain.assert_intact()' || ac_die "$db: assert_intact() failed"
    expect "$db: the Art. 30 register is back" "$(q "$db" "$REG_SQL")" "$src_reg"
    psql_db "$db" -q -c 'CALL audit_chain.refresh_reports(rebuild => true)' || ac_die "$db: rebuild failed"
    expect "$db: and a rebuild gives the same register" "$(q "$db" "$REG_SQL")" "$src_reg"

    # The guard is back: triggers and event triggers
    got=$(q "$db" "SELECT count(*) FROM pg_trigger WHERE tgname = 'zz_audit_chain_seal' AND tgrelid IN ('app.audit'::regclass, 'app.access'::regclass, 'app.cut'::regclass)")
    expect "$db: seal triggers restored" "$got" 3
    got=$(q "$db" "$EVT_SQL")
    expect "$db: event triggers restored and enabled as in the source" "$got" "$src_evt"
    if psql_db "$db" -q -c "UPDATE app.audit SET actor = 'mallory'" 2>/dev/null; then
        ac_die "$db: UPDATE of a restored chained table was allowed"
    fi
    if psql_db "$db" -q -c "DROP TABLE app.cut" 2>/dev/null; then
        ac_die "$db: DROP TABLE of a restored chained table was allowed"
    fi
    ac_log "ok: $db: UPDATE and DROP TABLE still refused"

    # New rows continue each chain: seq n+1 of the lane they take, linked to the old head
    psql_db "$db" -q -c "CREATE TABLE public.heads AS SELECT c.tbl, c.lane, h.seq, h.hash
                           FROM audit_chain.chains c, audit_chain.lane_head(c.tbl, c.lane) h"
    psql_db "$db" -q -c "INSERT INTO app.audit (actor, action) VALUES ('restored', 'first after restore')"
    psql_db "$db" -q -c "INSERT INTO app.access VALUES (999, '2025-03-03', 'restored')"
    got=$(q "$db" "SELECT count(*) FROM app.audit a JOIN public.heads h ON h.tbl = 'app.audit'::regclass AND h.lane = a.chain_lane
                    WHERE a.actor = 'restored' AND a.chain_seq = h.seq + 1 AND a.chain_prev = h.hash")
    expect "$db: the new row of app.audit continues its lane (seq n+1, linked to the old head)" "$got" 1
    got=$(q "$db" "SELECT chain_seq FROM app.access WHERE id = 999")
    expect "$db: the new row of app.access is seq 201" "$got" 201
    got=$(q "$db" "SELECT bool_and(intact) FROM audit_chain.verify_chain()")
    expect "$db: everything still verifies after new rows" "$got" t

    # The restored checkpoint still catches a cut tail
    psql_db "$db" -q -c "SET session_replication_role = replica; DELETE FROM app.cut WHERE chain_seq = 10"
    got=$(q "$db" "SELECT format('%s/%s', intact, first_bad_seq) FROM audit_chain.verify_chain('app.cut')")
    expect "$db: a tail cut below the restored checkpoint is caught" "$got" "f/10"
    if psql_db "$db" -q -c 'CALL audit_chain.assert_intact()' 2>/dev/null; then
        ac_die "$db: assert_intact() passed on a cut tail"
    fi
    ac_log "ok: $db: assert_intact() fails on it"
done

ac_log "dump_restore: PASS"
