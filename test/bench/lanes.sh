#!/usr/bin/env bash
# test/bench/lanes.sh: how many lanes concurrent writers need.
#
# The numbers behind the default lane count of audit_chain.events: pgbench,
# one INSERT of the benchmark's audit event per transaction, synchronous
# commit on (the lane lock is held through the commit flush), at
# $LANES_CLIENTS clients (default 16), against a plain table and against
# chained tables of 1, 2, 4, 8, 16, 32 and 64 lanes.  The variants take turns
# within each repetition; ratios are medians of the paired ratios to plain.
#
#   test/bench/lanes.sh                      # about 5 minutes here
#   LANES_CLIENTS="4 16" test/bench/lanes.sh
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../scripts/lib.sh
. "${AC_LIB:-$HERE/../../scripts/lib.sh}"
# shellcheck source=common.sh
. "$HERE/common.sh"

SECONDS_PER_RUN=${BENCH_SECONDS:-6}
REPS=${BENCH_REPS:-3}
CLIENTS=${LANES_CLIENTS:-16}
COUNTS="1 2 4 8 16 32 64"

[[ ${BENCH_SKIP_SETUP:-0} == 1 ]] || build_install
start_cluster lanes -c fsync=on -c max_connections=100 -c shared_buffers=512MB \
    -c max_wal_size=4GB -c checkpoint_timeout=30min -c synchronous_commit=on -c autovacuum=off
PGBENCH=$AC_PGBIN/pgbench
W=$(ac_tmpdir)/lanes
mkdir -p "$W"

psql_db postgres -q -c 'CREATE DATABASE lanes'
psql_db lanes -q -c 'CREATE EXTENSION audit_chain' -c "CREATE TABLE plain ($EVENT_COLS)" >/dev/null
VARIANTS="plain"
for n in $COUNTS; do
    psql_db lanes -q -c "CREATE TABLE chain$n ($EVENT_COLS)" \
        -c "SELECT audit_chain.protect('chain$n', lanes => $n)" >/dev/null
    VARIANTS+=" chain$n"
done
for t in $VARIANTS; do insert_sql "$t" >"$W/$t.sql"; done

tps() {   # tps TABLE CLIENTS SECONDS
    local out
    out=$("$PGBENCH" -n -c "$2" -j 2 -T "$3" -f "$W/$1.sql" lanes 2>&1) ||
        { printf '%s\n' "$out" >&2; ac_die "pgbench failed"; }
    printf '%s\n' "$out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}

echo "== single-row inserts, synchronous_commit on: tps (median of $REPS x ${SECONDS_PER_RUN}s) and the median paired ratio to plain"
for c in $CLIENTS; do
    declare -A VALS=()
    psql_db lanes -q -c 'VACUUM' -c 'CHECKPOINT' >/dev/null
    for t in $VARIANTS; do tps "$t" "$c" 2 >/dev/null; done   # warm-up
    for ((r = 1; r <= REPS; r++)); do
        for t in $VARIANTS; do VALS[$t]+="$(tps "$t" "$c" "$SECONDS_PER_RUN") "; done
    done
    printf '%3d clients:' "$c"
    for t in $VARIANTS; do
        m=$(printf '%s\n' ${VALS[$t]} | median)
        printf '  %s %.0f (%sx)' "${t/chain/lanes=}" "$m" "$(paired_ratio "${VALS[$t]}" "${VALS[plain]}")"
    done
    echo
done
