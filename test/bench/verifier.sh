#!/usr/bin/env bash
# test/bench/verifier.sh: audit_chain_verify (the offline verifier, in
# parallel threads over libpq) against one backend's verify_chain, in one run
# on one throwaway cluster:
#
#   load     $VB_ROWS rows (default 10M) of the benchmark's audit event into a
#            chained table of $VB_LANES lanes (default 16), one concurrent
#            session per lane, then VACUUM ANALYZE and a warm cache
#   verify   $VB_REPS pairs (default 3), taking turns: verify_chain() of the
#            table (timed inside the session, as bench.sh does) and
#            audit_chain_verify --table (wall time, --jobs $VB_JOBS, default
#            4); the ratio of each pair, their median; the verifier's peak
#            memory (its maximum RSS) and its CPU (user + sys), and the
#            server's CPU for each (the postmaster's reaped children)
#   where    where the verifier's time goes, one run each: the server's COPY
#            of every lane in seq order by index scan, the same by sequential
#            scan (what a client-side reorder buffer would need), the chain
#            columns alone, the hashed columns alone (each to /dev/null, the
#            backend's own CPU time), and SHA-256 on this machine
#            (openssl speed -evp sha256)
#
# and prints PASS / FALL SHORT against the target of issue 13: the verifier
# at least twice as fast as verify_chain.  About 6 minutes here at 10M rows.
#
#   test/bench/verifier.sh
#   VB_ROWS=1000000 test/bench/verifier.sh     # a quick look
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../scripts/lib.sh
. "${AC_LIB:-$HERE/../../scripts/lib.sh}"
# shellcheck source=common.sh
. "$HERE/common.sh"

ROWS=${VB_ROWS:-10000000}
LANES=${VB_LANES:-16}
REPS=${VB_REPS:-3}
JOBS=${VB_JOBS:-4}

[[ ${BENCH_SKIP_SETUP:-0} == 1 ]] || build_install
V=$AC_PGBIN/audit_chain_verify
[[ -x $V ]] || ac_die "$V is not installed"
start_cluster vbench -c fsync=on -c max_connections=100 -c shared_buffers=2GB \
    -c max_wal_size=8GB -c checkpoint_timeout=30min -c autovacuum=off
W=$(ac_tmpdir)/vbench
mkdir -p "$W"
psql_db postgres -q -c 'CREATE DATABASE vbench'
psql_db vbench -q -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION audit_chain' \
    -c "CREATE TABLE events ($EVENT_COLS)" -c "SELECT audit_chain.protect('events', lanes => $LANES)" >/dev/null

COLS="actor, action, provider, model, input_tokens, output_tokens, latency_ms, cost, client_addr, details, occurred_at"
SELECT_ROWS="SELECT 'user-' || (g % 5000), 'chat.completion', 'openai', 'gpt-4o-2024-08-06', g % 4000, g % 2000, g % 9000,
    (g % 4000) * 0.0000025, '10.20.30.40', jsonb_build_object('request_id', 'req_' || g, 'status', 200,
    'endpoint', '/v1/chat/completions', 'user_agent', 'python-httpx/0.27.0', 'purpose', 'customer-support'), now()"

# ---------------------------------------------------------------- load
ac_log "load: $ROWS rows into $LANES lanes, one session per lane"
t0=$SECONDS
per=$((ROWS / LANES))
for ((i = 0; i < LANES; i++)); do
    n=$per
    ((i == LANES - 1)) && n=$((ROWS - per * (LANES - 1)))
    # concurrent transactions hold different lanes: one lane each
    psql_db vbench -q -c "INSERT INTO events ($COLS) $SELECT_ROWS FROM generate_series(1, $n) g" >/dev/null &
done
wait
psql_db vbench -q -c 'VACUUM ANALYZE events' -c 'CHECKPOINT' >/dev/null
psql_db vbench -qAt -c 'SELECT count(*) FROM events' >/dev/null      # warm the cache
LOADED=$(psql_db vbench -qAt -c "SELECT count(DISTINCT chain_lane) || ' lanes, ' || count(*) || ' rows' FROM events")
SIZE=$(psql_db vbench -qAt -c "SELECT pg_size_pretty(pg_table_size('events'))")
ac_log "loaded $LOADED ($SIZE) in $((SECONDS - t0)) s"

PM_PID=$(head -n1 "${AC_PGDATA[vbench]}/postmaster.pid")
# server_cpu: CPU seconds of the cluster's processes so far (the
# postmaster's reaped children and its live ones), in clock ticks
server_ticks() {
    local t c
    t=$(awk '{print $16 + $17}' "/proc/$PM_PID/stat")
    for c in $(pgrep -P "$PM_PID"); do
        t=$((t + $(awk '{print $14 + $15}' "/proc/$c/stat" 2>/dev/null || echo 0)))
    done
    echo "$t"
}
TICK=$(getconf CLK_TCK)

# ---------------------------------------------------------------- verify
verify_chain_run() { # -> "seconds server_cpu_seconds"
    local s0 s1
    s0=$(server_ticks)
    psql_db vbench -At -c "SELECT audit_chain.canonical_text(1)" \
        -c "SELECT extract(epoch FROM clock_timestamp())" \
        -c "SELECT bool_and(intact) FROM audit_chain.verify_chain('events')" \
        -c "SELECT extract(epoch FROM clock_timestamp())" >"$W/vc.out"
    [[ $(sed -n 3p "$W/vc.out") == t ]] || ac_die "verify_chain did not report intact"
    sleep 0.2
    s1=$(server_ticks)
    awk -v a="$(sed -n 2p "$W/vc.out")" -v b="$(sed -n 4p "$W/vc.out")" -v c=$((s1 - s0)) -v k="$TICK" \
        'BEGIN {printf "%.3f %.2f\n", b - a, c / k}'
}
verifier_run() { # -> "seconds server_cpu_seconds client_cpu_seconds max_rss_kb"
    local s0 s1
    s0=$(server_ticks)
    /usr/bin/time -f '%e %U %S %M' -o "$W/time.out" "$V" --dbname vbench --table events --jobs "$JOBS" --quiet \
        >"$W/v.out" 2>"$W/v.err" || { cat "$W/v.out" "$W/v.err" >&2; ac_die "audit_chain_verify did not report intact"; }
    grep -q '^result: INTACT' "$W/v.out" || ac_die "audit_chain_verify did not report intact"
    sleep 0.2
    s1=$(server_ticks)
    read -r wall user sys rss <"$W/time.out"
    awk -v w="$wall" -v c=$((s1 - s0)) -v k="$TICK" -v u="$user" -v s="$sys" -v r="$rss" \
        'BEGIN {printf "%.3f %.2f %.2f %d\n", w, c / k, u + s, r}'
}

ac_log "verify: $REPS pairs, verify_chain and audit_chain_verify --jobs $JOBS taking turns"
VC="" AV="" VC_CPU="" AV_SCPU="" AV_CCPU="" AV_RSS=""
verifier_run >/dev/null    # warm-up (and a first check that it runs)
for ((r = 0; r < REPS; r++)); do
    # shellcheck disable=SC2046
    for v in $(rotated "$r" verify_chain verifier); do
        if [[ $v == verify_chain ]]; then
            read -r s c < <(verify_chain_run)
            VC+="$s " VC_CPU+="$c "
            ac_log "  rep $r verify_chain: ${s}s (server CPU ${c}s)"
        else
            read -r s c u m < <(verifier_run)
            AV+="$s " AV_SCPU+="$c " AV_CCPU+="$u " AV_RSS+="$m "
            ac_log "  rep $r audit_chain_verify: ${s}s (server CPU ${c}s, client CPU ${u}s, max RSS ${m} kB)"
        fi
    done
done
# shellcheck disable=SC2086
{
    VC_MED=$(printf '%s\n' $VC | median)
    AV_MED=$(printf '%s\n' $AV | median)
    VC_CPU_MED=$(printf '%s\n' $VC_CPU | median)
    AV_SCPU_MED=$(printf '%s\n' $AV_SCPU | median)
    AV_CCPU_MED=$(printf '%s\n' $AV_CCPU | median)
    AV_RSS_MAX=$(printf '%s\n' $AV_RSS | sort -n | tail -n1)
}
RATIO=$(paired_ratio "$VC" "$AV")

# ---------------------------------------------------------------- where
# backend_cpu SQL...: the backend's own CPU seconds for each statement
backend_cpu() {
    {
        printf '%s\n' 'SELECT pg_backend_pid() AS pid \gset' '\setenv BPID :pid'
        echo "SET datestyle = 'ISO, YMD'; SET intervalstyle = 'postgres'; SET timezone = 'UTC';"
        echo "SET extra_float_digits = 1; SET bytea_output = 'hex'; SET max_parallel_workers_per_gather = 0; SET jit = off;"
        local s
        for s in "$@"; do
            printf '%s\n' '\! awk '"'"'{printf "%s ", $14 + $15}'"'"' /proc/$BPID/stat' '\o /dev/null'
            printf '%s\n' "$s" '\o' '\! awk '"'"'{printf "%s\n", $14 + $15}'"'"' /proc/$BPID/stat'
        done
    } | psql_db vbench -qAt | awk -v k="$TICK" '/^[0-9]+ [0-9]+$/ {printf "%.2f\n", ($2 - $1) / k}'
}
HASHED="actor, action, provider, model, input_tokens, output_tokens, latency_ms, cost, client_addr, details, occurred_at"
IDX="SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_sort = off;"
ac_log "where the time goes: one COPY each, to /dev/null on the server"
mapfile -t WHERE < <(backend_cpu \
    "SELECT count(*) FROM audit_chain.verify_chain('events');" \
    "$IDX COPY (SELECT chain_seq, chain_at, chain_prev, chain_hash, $HASHED FROM events WHERE chain_lane BETWEEN 0 AND $((LANES - 1)) ORDER BY chain_lane, chain_seq) TO '/dev/null';" \
    "RESET enable_seqscan; RESET enable_bitmapscan; RESET enable_sort; COPY (SELECT chain_lane, chain_seq, chain_at, chain_prev, chain_hash, $HASHED FROM events) TO '/dev/null';" \
    "COPY (SELECT chain_lane, chain_seq, chain_at, chain_prev, chain_hash FROM events) TO '/dev/null';" \
    "COPY (SELECT $HASHED FROM events) TO '/dev/null';" \
    "COPY (SELECT details FROM events) TO '/dev/null';")
OPENSSL_OUT=$(openssl speed -evp sha256 -seconds 2 2>/dev/null | grep -E '^(sha256|SHA256)' | tail -1)
SHA_64=$(awk '{gsub("k","",$3); print $3 * 1000}' <<<"$OPENSSL_OUT")
SHA_16K=$(awk '{gsub("k","",$7); print $7 * 1000}' <<<"$OPENSSL_OUT")

echo
echo "== audit_chain_verify against verify_chain: $LOADED ($SIZE), $(nproc) cores"
printf '   verify_chain (one backend)            %8.2f s   %9.0f rows/s   server CPU %6.2f s\n' \
    "$VC_MED" "$(awk -v r="$ROWS" -v s="$VC_MED" 'BEGIN {print r / s}')" "$VC_CPU_MED"
printf '   audit_chain_verify --jobs %-2s          %8.2f s   %9.0f rows/s   server CPU %6.2f s, client CPU %6.2f s, max RSS %d kB\n' \
    "$JOBS" "$AV_MED" "$(awk -v r="$ROWS" -v s="$AV_MED" 'BEGIN {print r / s}')" "$AV_SCPU_MED" "$AV_CCPU_MED" "$AV_RSS_MAX"
printf '   runs (s): verify_chain %s| audit_chain_verify %s\n' "$VC" "$AV"
printf '   verify_chain time / audit_chain_verify time (median of the paired ratios): %sx\n' "$RATIO"
echo
echo "== where the time goes (CPU seconds of one backend, each to /dev/null)"
printf '   verify_chain() of the table                                   %6.2f s\n' "${WHERE[0]}"
printf '   COPY of every lane in seq order, index scan (what it reads)   %6.2f s\n' "${WHERE[1]}"
printf '   COPY of the table by sequential scan (no order)               %6.2f s\n' "${WHERE[2]}"
printf '   COPY of the five chain columns alone                          %6.2f s\n' "${WHERE[3]}"
printf '   COPY of the eleven hashed columns alone                       %6.2f s\n' "${WHERE[4]}"
printf '   COPY of the jsonb column alone                                %6.2f s\n' "${WHERE[5]}"
printf '   SHA-256 (openssl speed -evp sha256): 64-byte %.0f MB/s, 16 KiB %.0f MB/s\n' \
    "$(awk -v x="$SHA_64" 'BEGIN {print x / 1e6}')" "$(awk -v x="$SHA_16K" 'BEGIN {print x / 1e6}')"
printf '   the verifier: server CPU %s s + client CPU %s s = %s s of CPU for %s s of verify_chain\n' \
    "$AV_SCPU_MED" "$AV_CCPU_MED" "$(awk -v a="$AV_SCPU_MED" -v b="$AV_CCPU_MED" 'BEGIN {printf "%.2f", a + b}')" "$VC_CPU_MED"
echo
echo "== target"
awk -v r="$RATIO" 'BEGIN {printf "%-11s audit_chain_verify / verify_chain speed over the table   %s (need 2)\n", (r >= 2 ? "PASS" : "FALL SHORT"), r}'
