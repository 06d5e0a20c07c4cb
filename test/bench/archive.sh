#!/usr/bin/env bash
# test/bench/archive.sh: archiving, beside what moving the same rows by hand
# costs, in one run on one throwaway cluster (fsync on):
#
#   move     CALL audit_chain.archive() of $ARCH_ROWS rows (default 1M) of a
#            chained table (one lane: one INSERT ... SELECT loads them) against
#            INSERT ... SELECT + DELETE of the same rows between two plain
#            tables with the same unique (chain_lane, chain_seq) index, in one
#            transaction; $ARCH_REPS repetitions (default 3) taking turns
#   writers  pgbench, one INSERT of the benchmark's audit event per
#            transaction, into the live chained table (16 lanes), synchronous
#            commit on: alone, and while archive() moves $ARCH_ROWS older rows
#            of the same table; $ARCH_REPS pairs, the ratio of each pair, their
#            median; for each of $ARCH_WRITERS (clients:archive_delay ms,
#            default "1:0 4:0 4:25")
#            (the archive() backend's RssAnon sampled while it runs)
#   detach   archive() of a table partitioned by month whose old partition
#            holds 10,000, 100,000 and $ARCH_ROWS rows: seconds for each
#
# and PASS / FALL SHORT against the targets of the retention issue.  Called
# by bench.sh (unless BENCH_SKIP_ARCHIVE=1); runs alone too:
#
#   test/bench/archive.sh                       # about 5 minutes here
#   ARCH_ROWS=200000 test/bench/archive.sh      # a quick look
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../scripts/lib.sh
. "${AC_LIB:-$HERE/../../scripts/lib.sh}"
# shellcheck source=common.sh
. "$HERE/common.sh"

ROWS=${ARCH_ROWS:-1000000}
REPS=${ARCH_REPS:-3}

[[ ${BENCH_SKIP_SETUP:-0} == 1 ]] || build_install
start_cluster archbench -c fsync=on -c max_connections=100 -c shared_buffers=512MB \
    -c max_wal_size=4GB -c checkpoint_timeout=30min -c synchronous_commit=on -c autovacuum=off
PGBENCH=$AC_PGBIN/pgbench
W=$(ac_tmpdir)/archbench
mkdir -p "$W"
psql_db postgres -q -c 'CREATE DATABASE arch'

SELECT_ROWS="SELECT 'user-' || (g % 5000), 'chat.completion', 'openai', 'gpt-4o-2024-08-06', g % 4000, g % 2000, g % 9000,
    (g % 4000) * 0.0000025, '10.20.30.40', jsonb_build_object('request_id', 'req_' || g, 'status', 200,
    'endpoint', '/v1/chat/completions', 'user_agent', 'python-httpx/0.27.0', 'purpose', 'customer-support')"
COLS="actor, action, provider, model, input_tokens, output_tokens, latency_ms, cost, client_addr, details"
CHAIN_COLS="chain_lane smallint NOT NULL, chain_seq bigint NOT NULL, chain_at timestamptz NOT NULL,
    chain_prev bytea NOT NULL, chain_hash bytea NOT NULL"

psql_db arch -q >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION audit_chain;
CREATE TABLE moved ($EVENT_COLS);
SELECT audit_chain.protect('moved', lanes => 1);
CREATE TABLE live ($EVENT_COLS);
SELECT audit_chain.protect('live', lanes => 16);
CREATE TABLE plain_src ($EVENT_COLS, $CHAIN_COLS);
CREATE UNIQUE INDEX ON plain_src (chain_lane, chain_seq);
CREATE TABLE plain_dst ($EVENT_COLS, $CHAIN_COLS);
CREATE UNIQUE INDEX ON plain_dst (chain_lane, chain_seq);
CREATE TABLE plain_keep ($EVENT_COLS, $CHAIN_COLS);
SQL

q() { psql_db arch -qtAc "$1"; }
# timed SQL: seconds of one psql call
timed() {
    local t0 t1
    t0=$(date +%s.%N)
    psql_db arch -q -c "$1" >/dev/null
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}'
}
settle() { psql_db arch -q -c 'VACUUM ANALYZE' -c 'CHECKPOINT' >/dev/null; }
# timed_mem SQL: "seconds first_rss_kb peak_rss_kb" of one statement, with the
# backend's private memory (RssAnon) sampled while it runs
timed_mem() {
    local t0 t1 pid rss first="" peak=0 job
    rm -f "$W/mem.out"
    t0=$(date +%s.%N)
    psql_db arch -qAt -c "SELECT pg_backend_pid()" -c "$1" >"$W/mem.out" &
    job=$!
    while kill -0 "$job" 2>/dev/null; do
        pid=$(head -n1 "$W/mem.out" 2>/dev/null || true)
        if [[ -n $pid && -r /proc/$pid/status ]]; then
            rss=$(awk '/^RssAnon/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
            [[ -z $first && -n $rss ]] && first=$rss
            ((rss > peak)) && peak=$rss
        fi
        sleep 0.1
    done
    wait "$job"
    t1=$(date +%s.%N)
    echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}') ${first:-0} $peak"
}

# ---------------------------------------------------------------- move
ac_log "move: $ROWS rows, $REPS repetitions"
A_TIMES="" P_TIMES="" MEM_GROWTH=""
for ((r = 0; r < REPS; r++)); do
    psql_db arch -q -c "INSERT INTO moved ($COLS) $SELECT_ROWS FROM generate_series(1, $ROWS) g" >/dev/null
    if ((r == 0)); then
        # the plain variant moves the very same rows, chain columns and all
        psql_db arch -q -c "INSERT INTO plain_keep SELECT $COLS, occurred_at, chain_lane, chain_seq, chain_at, chain_prev, chain_hash FROM moved" >/dev/null
    fi
    psql_db arch -q -c 'TRUNCATE plain_src, plain_dst' -c 'INSERT INTO plain_src SELECT * FROM plain_keep' >/dev/null
    settle
    # shellcheck disable=SC2046
    for v in $(rotated "$r" archive plain); do
        if [[ $v == archive ]]; then
            read -r t first peak < <(timed_mem "CALL audit_chain.archive('moved', interval '1 microsecond')")
            A_TIMES+="$t "
            MEM_GROWTH+="$(awk -v a="$first" -v b="$peak" 'BEGIN {printf "%.1f", (b - a) / 1024}') "
        else
            t=$(timed "BEGIN; INSERT INTO plain_dst SELECT * FROM plain_src; DELETE FROM plain_src; COMMIT;")
            P_TIMES+="$t "
        fi
        ac_log "  rep $r $v: ${t}s"
    done
    [[ $(q "SELECT count(*) FROM moved") == 0 ]] || ac_die "archive() left rows behind"
done
A_MED=$(printf '%s\n' $A_TIMES | median)
P_MED=$(printf '%s\n' $P_TIMES | median)
MOVE_RATIO=$(paired_ratio "$P_TIMES" "$A_TIMES")
INTACT=$(q "SELECT bool_and(intact) FROM audit_chain.verify_chain(audit_chain.archive_table('moved'))")
[[ $INTACT == t ]] || ac_die "the archive of the benchmark does not verify"

# ---------------------------------------------------------------- writers
# Each configuration: clients, and archive()'s audit_chain.archive_delay (ms).
# One client leaves a core of this 2-core machine to archive(); four keep both
# busy on their own, so there archive() takes CPU time from them, which the
# delay gives back.
insert_sql live >"$W/live.sql"
WCONFIGS=${ARCH_WRITERS:-"1:0 4:0 4:25"}
declare -A W_ALONE W_DURING WRATIO
for cfg in $WCONFIGS; do
    c=${cfg%%:*} delay=${cfg##*:}
    ac_log "writers: $c clients, archive_delay ${delay}ms, alone and while archive() runs, $REPS pairs"
    W_ALONE[$cfg]="" W_DURING[$cfg]=""
    for ((r = 0; r < REPS; r++)); do
        psql_db arch -q -c "INSERT INTO live ($COLS) $SELECT_ROWS FROM generate_series(1, $ROWS) g" >/dev/null
        settle
        secs=$(awk -v a="$A_MED" 'BEGIN {s = int(a * 0.8); print (s < 3 ? 3 : s)}')
        j=2; ((c < j)) && j=$c
        alone=$("$PGBENCH" -n -c "$c" -j "$j" -T "$secs" -f "$W/live.sql" arch 2>&1 | sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
        # the rows older than the pgbench run just made are the ones to move
        PGOPTIONS="-c audit_chain.archive_delay=$delay" \
            psql_db arch -q -c "CALL audit_chain.archive('live', interval '1 microsecond')" >/dev/null &
        apid=$!
        sleep 0.3
        during=$("$PGBENCH" -n -c "$c" -j "$j" -T "$secs" -f "$W/live.sql" arch 2>&1 | sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
        wait "$apid"
        W_ALONE[$cfg]+="$alone " W_DURING[$cfg]+="$during "
        ac_log "  pair $r (${secs}s each): alone $alone tps, during archive() $during tps"
    done
    WRATIO[$cfg]=$(paired_ratio "${W_DURING[$cfg]}" "${W_ALONE[$cfg]}")
done
INTACT=$(q "SELECT bool_and(intact) FROM audit_chain.verify_chain('live')")
[[ $INTACT == t ]] || ac_die "the live table does not verify after archiving under writers"

# ---------------------------------------------------------------- detach
psql_db arch -q >/dev/null <<SQL
SET client_min_messages = warning;
CREATE TABLE part ($EVENT_COLS) PARTITION BY RANGE (occurred_at);
CREATE TABLE part_rest PARTITION OF part FOR VALUES FROM ('2021-01-01') TO (MAXVALUE);
SELECT audit_chain.protect('part', lanes => 16);
SQL
declare -A DETACH
month=1
for n in 10000 100000 "$ROWS"; do
    from=$(printf '2020-%02d-01' "$month")
    to=$(printf '2020-%02d-01' $((month + 1)))
    psql_db arch -q -c "CREATE TABLE part_$month PARTITION OF part FOR VALUES FROM ('$from') TO ('$to')" >/dev/null
    psql_db arch -q -c "INSERT INTO part ($COLS, occurred_at) $SELECT_ROWS, TIMESTAMPTZ '$from' + g * interval '1 ms' FROM generate_series(1, $n) g" >/dev/null
    settle
    DETACH[$n]=$(timed "CALL audit_chain.archive('part', interval '1 year')")
    [[ $(q "SELECT count(*) FROM audit_chain_archive.part_$month") == "$n" ]] || ac_die "part_$month was not detached whole"
    [[ $(q "SELECT relnamespace::regnamespace FROM pg_class WHERE relname = 'part_$month'") == audit_chain_archive ]] ||
        ac_die "part_$month is not in audit_chain_archive"
    ac_log "  detach of a partition of $n rows: ${DETACH[$n]}s"
    month=$((month + 1))
done
INTACT=$(q "SELECT bool_and(intact) FROM audit_chain.verify_chain(audit_chain.archive_table('part'))")
[[ $INTACT == t ]] || ac_die "the detached partitions do not verify"

echo
echo "== archive: $ROWS rows (seconds, median of $REPS; ratio: median of the paired ratios)"
printf '   archive()                      %8.2f s   (%.0f rows/s)\n' "$A_MED" "$(awk -v n="$ROWS" -v t="$A_MED" 'BEGIN {print n / t}')"
printf '   INSERT ... SELECT + DELETE     %8.2f s   plain time / archive() time: %sx\n' "$P_MED" "$MOVE_RATIO"
MEM_MAX=$(printf '%s\n' $MEM_GROWTH | sort -g | tail -1)
printf '   archive() backend memory       RssAnon growth during the move, per repetition: %s MB\n' "$MEM_GROWTH"
for cfg in $WCONFIGS; do
    printf '   writers, %s clients, archive_delay %3s ms: alone %8.0f tps, during archive() %8.0f tps: %sx\n' \
        "${cfg%%:*}" "${cfg##*:}" "$(printf '%s\n' ${W_ALONE[$cfg]} | median)" \
        "$(printf '%s\n' ${W_DURING[$cfg]} | median)" "${WRATIO[$cfg]}"
done
printf '   detach of an old partition     10k rows %ss, 100k rows %ss, %s rows %ss\n' \
    "${DETACH[10000]}" "${DETACH[100000]}" "$ROWS" "${DETACH[$ROWS]}"

echo
echo "== archive targets"
verdict() { if awk -v a="$1" -v b="$2" 'BEGIN {exit !(a >= b)}'; then echo PASS; else echo "FALL SHORT"; fi; }
target() { printf '%-11s %-70s %s (need %s)\n' "$(verdict "$2" "$3")" "$1" "$2" "$3"; }
target "archive(): plain INSERT ... SELECT + DELETE time / archive() time" "$MOVE_RATIO" 0.5
first=${WCONFIGS%% *}
target "writers during archive() / alone (${first%%:*} client, delay ${first##*:} ms)" "${WRATIO[$first]}" 0.8
target "archive() memory flat: 64 MB minus the largest growth of RssAnon in MB ($MEM_MAX)" \
    "$(awk -v g="$MEM_MAX" 'BEGIN {print 64 - g}')" 0
SLOWEST=$(printf '%s\n' "${DETACH[@]}" | sort -g | tail -1)
target "detach path: 1 s minus the slowest detach ($SLOWEST s)" "$(awk -v s="$SLOWEST" 'BEGIN {printf "%.3f", 1 - s}')" 0
