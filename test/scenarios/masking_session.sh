#!/usr/bin/env bash
# test/scenarios/masking_session.sh -- masking at collection from a fresh
# session, where the library is not loaded yet (the suite's cluster does
# not preload it): a writer that sets audit_chain.hash_detail_keys before
# anything loads the library gets a placeholder, which PostgreSQL drops with
# a WARNING when the library defines the setting as PGC_SUSET (the writer may
# not set it); the administrator's per-database value applies, and the
# prompt the writer sends is stored as a digest.  Also: a writer's SET after
# the library is loaded is an error, and ALTER ROLE ... SET is refused.
#
# Uses the suite's cluster (a database of its own, dropped at the end).
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "${AC_LIB:-$(dirname "$0")/../../scripts/lib.sh}"

DB=ac_masking
W=ac_mask_writer

expect() { # expect WHAT GOT WANT
    if [[ $2 != "$3" ]]; then
        ac_die "$1: got '$2', want '$3'"
    fi
    ac_log "ok: $1"
}
cleanup() {
    psql_db postgres -qc "DROP DATABASE IF EXISTS $DB" -c "DROP ROLE IF EXISTS $W" >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup

psql_db postgres -qc "CREATE DATABASE $DB" -c "CREATE ROLE $W LOGIN"
psql_db "$DB" -q <<SQL
CREATE EXTENSION audit_chain;
GRANT INSERT ON audit_chain.events TO $W;
ALTER DATABASE $DB SET audit_chain.hash_detail_keys = 'prompt';
SQL

# 1. placeholder before the library loads: kept until the load, then dropped
out=$(psql_db "$DB" -U "$W" -qtA 2>&1 <<'SQL'
SET audit_chain.hash_detail_keys = '';
INSERT INTO audit_chain.events (event_type, action, details)
VALUES ('api_request', 'masking scenario', '{"prompt": "ann@example.com wants a refund"}');
SHOW audit_chain.hash_detail_keys;
SQL
)
ac_log "writer session said: $out"
case $out in
    *'WARNING:  permission denied to set parameter "audit_chain.hash_detail_keys"'*) ac_log "ok: the placeholder was dropped with a WARNING" ;;
    *) ac_die "no WARNING for the writer's placeholder: $out" ;;
esac
expect "the setting is the database's after the load" "$(printf '%s\n' "$out" | tail -n 1)" "prompt"
got=$(psql_db "$DB" -qtAc "SELECT details->>'prompt' FROM audit_chain.events WHERE action = 'masking scenario'")
want=$(psql_db "$DB" -qtAc "SELECT 'sha256:' || encode(audit_chain.digest('\"ann@example.com wants a refund\"'::jsonb), 'hex')")
expect "the prompt is stored as its digest" "$got" "$want"

# 2. after the load: an error
out=$(psql_db "$DB" -U "$W" -qtA -v ON_ERROR_STOP=0 2>&1 <<'SQL'
SELECT audit_chain.version() IS NOT NULL;  -- a C function: loads the library
SET audit_chain.hash_detail_keys = '';
SQL
) || true
case $out in
    *'ERROR:  permission denied to set parameter "audit_chain.hash_detail_keys"'*) ac_log "ok: SET after the load is refused" ;;
    *) ac_die "the writer's SET after the load was not refused: $out" ;;
esac
out=$(psql_db "$DB" -U "$W" -qtA -v ON_ERROR_STOP=0 -c "ALTER ROLE $W SET audit_chain.hash_detail_keys = ''" 2>&1) || true
case $out in
    *'permission denied to set parameter'*) ac_log "ok: ALTER ROLE ... SET is refused" ;;
    *) ac_die "the writer's ALTER ROLE ... SET was not refused: $out" ;;
esac
expect "the chain verifies" "$(psql_db "$DB" -qtAc "SELECT bool_and(intact) FROM audit_chain.verify_chain('audit_chain.events')")" "t"
ac_log "masking_session: PASS"
