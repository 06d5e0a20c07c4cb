#!/usr/bin/env bash
# test/bench/log_event.sh: what log_event() costs beside a plain INSERT into
# audit_chain.events, and what the live Art. 30 register costs.
#
# pgbench, one event per transaction (an AI call with a purpose, a data
# subject out of 50,000, a legal basis, data categories and a transfer
# country: the register's trigger does all its work), at $LOGEV_CLIENTS
# clients (default "1 4"), synchronous_commit $LOGEV_SYNC (default off, so
# that the CPU cost shows rather than the flush), four variants taking turns
# within each repetition:
#
#   insert          INSERT INTO audit_chain.events (...) VALUES (...)
#   log_event       SELECT audit_chain.log_event(...), the same event
#   insert_noreg    the INSERT, in a database whose register trigger
#   log_event_noreg (zz_audit_chain_register) is disabled: the cost before
#                   the register was kept live
#
# medians of $BENCH_REPS (default 5) x $BENCH_SECONDS (default 4) seconds, and
# the median of each repetition's ratio to insert.
#
#   test/bench/log_event.sh                 # about 4 minutes here
#   LOGEV_CLIENTS="1 4 16" test/bench/log_event.sh
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../scripts/lib.sh
. "${AC_LIB:-$HERE/../../scripts/lib.sh}"
# shellcheck source=common.sh
. "$HERE/common.sh"

SECONDS_PER_RUN=${BENCH_SECONDS:-4}
REPS=${BENCH_REPS:-5}
CLIENTS=${LOGEV_CLIENTS:-"1 4"}
SYNC=${LOGEV_SYNC:-off}

[[ ${BENCH_SKIP_SETUP:-0} == 1 ]] || build_install
start_cluster logev -c fsync=on -c max_connections=100 -c shared_buffers=512MB \
    -c max_wal_size=4GB -c checkpoint_timeout=30min -c autovacuum=off
PGBENCH=$AC_PGBIN/pgbench
W=$(ac_tmpdir)/logev
mkdir -p "$W"

psql_db postgres -q -c 'CREATE DATABASE logev' -c 'CREATE DATABASE logev_noreg'
psql_db logev -q -c 'CREATE EXTENSION audit_chain' >/dev/null
# the DDL guard refuses changes to the extension's tables: off for a moment
psql_db logev_noreg -q -c 'CREATE EXTENSION audit_chain' \
    -c 'ALTER EVENT TRIGGER audit_chain_ddl_guard DISABLE' \
    -c 'ALTER TABLE audit_chain.events DISABLE TRIGGER zz_audit_chain_register' \
    -c 'ALTER EVENT TRIGGER audit_chain_ddl_guard ENABLE' >/dev/null

VARS='\set s random(1, 50000)
\set tin random(10, 4000)
\set tout random(10, 2000)
\set lat random(50, 9000)
\set p random(1, 6)'
cat >"$W/insert.sql" <<SQL
$VARS
INSERT INTO audit_chain.events (event_type, action, actor, provider, model, input_tokens, output_tokens,
                                latency_ms, cost, purpose, legal_basis, data_subject, data_categories,
                                transfer_country, details)
VALUES ('api_request', 'chat.completion', 'svc-gateway', 'openai', 'gpt-4o-2024-08-06', :tin, :tout, :lat,
        :tin * 0.0000025, 'purpose-' || :p, 'contract', 'cust-' || :s, '{contact}', 'US',
        '{"status": 200, "endpoint": "/v1/chat/completions", "stream": false}');
SQL
cat >"$W/log_event.sql" <<SQL
$VARS
SELECT audit_chain.log_event('api_request', 'chat.completion', actor => 'svc-gateway', provider => 'openai',
        model => 'gpt-4o-2024-08-06', input_tokens => :tin, output_tokens => :tout, latency_ms => :lat,
        cost => :tin * 0.0000025, purpose => 'purpose-' || :p, legal_basis => 'contract',
        data_subject => 'cust-' || :s, data_categories => '{contact}', transfer_country => 'US',
        details => '{"status": 200, "endpoint": "/v1/chat/completions", "stream": false}');
SQL

VARIANTS="insert log_event insert_noreg log_event_noreg"
tps() {   # tps VARIANT CLIENTS SECONDS
    local db=logev script=${1%_noreg} out j=2
    [[ $1 == *_noreg ]] && db=logev_noreg
    (($2 < j)) && j=$2
    out=$(PGOPTIONS="-c synchronous_commit=$SYNC" "$PGBENCH" -n -c "$2" -j "$j" -T "$3" \
        -f "$W/$script.sql" "$db" 2>&1) || { printf '%s\n' "$out" >&2; ac_die "pgbench failed"; }
    printf '%s\n' "$out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}

declare -A TPS RAT
ac_log "log_event: ${SECONDS_PER_RUN}s x $REPS reps per cell, clients: $CLIENTS, synchronous_commit=$SYNC"
for c in $CLIENTS; do
    declare -A VALS=()
    for db in logev logev_noreg; do psql_db "$db" -q -c 'VACUUM' -c 'CHECKPOINT' >/dev/null; done
    for v in $VARIANTS; do tps "$v" "$c" 2 >/dev/null; done   # warm-up
    for ((r = 0; r < REPS; r++)); do
        # shellcheck disable=SC2086
        for v in $(rotated "$r" $VARIANTS); do VALS[$v]+="$(tps "$v" "$c" "$SECONDS_PER_RUN") "; done
    done
    for v in $VARIANTS; do
        TPS[$v,$c]=$(printf '%s\n' ${VALS[$v]} | median)
        RAT[$v,$c]=$(paired_ratio "${VALS[$v]}" "${VALS[insert]}")
        RAT[$v,noreg,$c]=$(paired_ratio "${VALS[$v]}" "${VALS[${v%_noreg}_noreg]}")
        ac_log "  c=$c $v: ${VALS[$v]}-> median ${TPS[$v,$c]}, paired ratio to insert ${RAT[$v,$c]}"
    done
done

echo
echo "== log_event() beside INSERT INTO audit_chain.events (tps, median of $REPS x ${SECONDS_PER_RUN}s,"
echo "   synchronous_commit=$SYNC; in brackets the median paired ratio to insert; 'register':"
echo "   the live Art. 30 register's trigger, ratio of on to off in the same run)"
printf '%-5s %16s %16s %16s %16s %14s %14s\n' clts insert log_event "insert noreg" "log_event noreg" \
    "register ins" "register log"
for c in $CLIENTS; do
    printf '%-5s' "$c"
    for v in $VARIANTS; do printf ' %9.0f (%4sx)' "${TPS[$v,$c]}" "${RAT[$v,$c]}"; done
    printf ' %13sx %13sx\n' "${RAT[insert,noreg,$c]}" "${RAT[log_event,noreg,$c]}"
done

# No lost updates under concurrent writers: the register's event count is the
# count of the events with a purpose; its subject count may exceed the exact
# one only by races between first events of the same (purpose, subject) pair.
read -r reg_events exact_events reg_subjects exact_subjects < <(psql_db logev -At -F ' ' -c "
    SELECT (SELECT sum(events) FROM audit_chain.gdpr_processing_records),
           (SELECT count(*) FROM audit_chain.events WHERE purpose IS NOT NULL),
           (SELECT sum(subjects) FROM audit_chain.gdpr_processing_records),
           (SELECT count(*) FROM (SELECT DISTINCT purpose, data_subject FROM audit_chain.events
                                   WHERE purpose IS NOT NULL AND data_subject IS NOT NULL) p)")
echo "register after the run: events $reg_events (events with a purpose: $exact_events),"\
     "subjects $reg_subjects (exact: $exact_subjects)"
[[ $reg_events == "$exact_events" ]] || ac_die "the register lost or doubled events under concurrent writers"
