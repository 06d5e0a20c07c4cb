#!/usr/bin/env bash
# test/bench/bench.sh: the benchmark harness of audit_chain.
#
# One run, one throwaway cluster (fsync on), every variant measured side by
# side so ratios come from the same run:
#
#   inserts  pgbench, one INSERT of a ~380-byte AI audit event per transaction,
#            at 1, 4 and 16 clients, synchronous_commit on and off, against
#              plain      a plain table
#              floor      a table with the chain columns (filled by defaults)
#                         and the chain index, no trigger: no sealing at all
#              chain1     audit_chain, lanes => 1
#              chainN     audit_chain, lanes => $BENCH_LANES (default 16)
#              plpgsql    the PL/pgSQL hash chain a user would copy from a blog
#                         (advisory lock + head row + sha256()), same hash format
#              pgaudit    a plain table with pgaudit.log = 'write'
#            warm-up, then $BENCH_REPS repetitions (default 5) of
#            $BENCH_SECONDS seconds (default 4), the variants taking turns;
#            medians, and the median of each repetition's ratio to plain
#   bulk     INSERT ... SELECT and COPY of $BENCH_BULK_ROWS rows (default 1M),
#            chained vs plain vs two no-sealing floors, $BENCH_BULK_REPS
#            repetitions (default 3) taking turns
#   verify   verify_chain over 1M and $BENCH_VERIFY_ROWS rows (default 10M),
#            rows/s and MB/s of hashed bytes, beside `openssl speed -evp sha256`;
#            backend private memory (RssAnon: not the shared buffers it
#            touches) sampled during the big verify; then a checkpoint and
#            incremental verifies of 10,000 and 100,000 new rows
#   archive  test/bench/archive.sh (unless BENCH_SKIP_ARCHIVE=1): archive() of
#            1M rows against INSERT ... SELECT + DELETE, writers during it,
#            the DETACH path
#   log_event test/bench/log_event.sh (unless BENCH_SKIP_LOG_EVENT=1):
#            log_event() beside INSERT INTO audit_chain.events, with and
#            without the live Art. 30 register's trigger
#
# and prints PASS / FALL SHORT against the targets of the performance issue.
#
#   test/bench/bench.sh                 # full run (about 20 minutes here)
#   BENCH_QUICK=1 test/bench/bench.sh   # short smoke run (a few minutes)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../scripts/lib.sh
. "${AC_LIB:-$HERE/../../scripts/lib.sh}"
# shellcheck source=common.sh
. "$HERE/common.sh"

if [[ ${BENCH_QUICK:-0} == 1 ]]; then
    : "${BENCH_SECONDS:=2}" "${BENCH_REPS:=3}" "${BENCH_BULK_ROWS:=200000}" "${BENCH_VERIFY_ROWS:=1000000}"
    : "${BENCH_BULK_REPS:=2}"
fi
SECONDS_PER_RUN=${BENCH_SECONDS:-4}
REPS=${BENCH_REPS:-5}
LANES=${BENCH_LANES:-16}
BULK_ROWS=${BENCH_BULK_ROWS:-1000000}
VERIFY_ROWS=${BENCH_VERIFY_ROWS:-10000000}
CLIENTS=${BENCH_CLIENTS:-"1 4 16"}

if [[ ${BENCH_SKIP_SETUP:-0} != 1 ]]; then
    ensure_packages postgresql-15-pgaudit
    build_install
fi
# autovacuum off: on a 2-core machine a background vacuum landing in one cell
# (the insert-only tables get vacuumed as they grow) skews that cell alone;
# instead every group of cells starts from the same state, after VACUUM and
# CHECKPOINT.
start_cluster bench -c fsync=on -c shared_preload_libraries=pgaudit \
    -c max_connections=100 -c shared_buffers=512MB -c max_wal_size=4GB \
    -c checkpoint_timeout=30min -c synchronous_commit=on -c autovacuum=off
PGBENCH=$AC_PGBIN/pgbench
W=$(ac_tmpdir)/bench
mkdir -p "$W"

psql_db postgres -q -c 'CREATE DATABASE bench' -c 'CREATE DATABASE bench_pgaudit'
psql_db postgres -q -c "ALTER DATABASE bench_pgaudit SET pgaudit.log = 'write'"


# The tables of the no-sealing floors: the five chain columns, filled by
# defaults (lane 0, a sequence, constant hashes), and the unique index of a
# chained table, with no trigger.
FLOOR_HASH="'\\x$(printf 'ab%.0s' {1..32})'::bytea"
floor_cols() {   # floor_cols CHAIN_AT_DEFAULT
    echo "chain_lane smallint NOT NULL DEFAULT 0, chain_seq bigint NOT NULL DEFAULT nextval('floor_seq'),
        chain_at timestamptz NOT NULL DEFAULT $1, chain_prev bytea NOT NULL DEFAULT $FLOOR_HASH,
        chain_hash bytea NOT NULL DEFAULT $FLOOR_HASH"
}
psql_db bench -q <<SQL
CREATE EXTENSION audit_chain;
CREATE TABLE plain   ($EVENT_COLS);
CREATE SEQUENCE floor_seq;
CREATE TABLE floor   ($EVENT_COLS, $(floor_cols 'now()'));
CREATE UNIQUE INDEX ON floor (chain_lane, chain_seq);
CREATE TABLE chain1  ($EVENT_COLS);
CREATE TABLE chainN  ($EVENT_COLS);
CREATE TABLE plpgsql ($EVENT_COLS, chain_seq bigint, chain_at timestamptz,
                      chain_prev bytea, chain_hash bytea);
SELECT audit_chain.protect('chain1', lanes => 1);
SELECT audit_chain.protect('chainN', lanes => $LANES);

-- The reference chain: the PL/pgSQL design a user would otherwise copy, with
-- the same hash format (doc/hash-format.md).
CREATE TABLE plpgsql_head (id int PRIMARY KEY, seq bigint NOT NULL, hash bytea NOT NULL);
INSERT INTO plpgsql_head VALUES (1, 0, sha256('genesis'));
CREATE FUNCTION term(name text, value text) RETURNS bytea LANGUAGE sql IMMUTABLE AS
\$\$ SELECT CASE WHEN value IS NULL THEN ''::bytea ELSE int4send(octet_length(convert_to(name, 'UTF8')))
             || convert_to(name, 'UTF8') || sha256(convert_to(value, 'UTF8')) END \$\$;
CREATE FUNCTION plpgsql_seal() RETURNS trigger LANGUAGE plpgsql AS \$\$
DECLARE h record;
BEGIN
    PERFORM pg_advisory_xact_lock(4242);
    SELECT seq, hash INTO h FROM plpgsql_head WHERE id = 1;
    NEW.chain_seq := h.seq + 1;
    NEW.chain_at := clock_timestamp();
    NEW.chain_prev := h.hash;
    NEW.chain_hash := sha256(convert_to('audit_chain/v1', 'UTF8') || '\x00'::bytea
        || int8send(NEW.chain_seq)
        || int8send((extract(epoch FROM NEW.chain_at) * 1000000)::bigint)
        || NEW.chain_prev
        || term('actor', NEW.actor) || term('action', NEW.action)
        || term('provider', NEW.provider) || term('model', NEW.model)
        || term('input_tokens', NEW.input_tokens::text) || term('output_tokens', NEW.output_tokens::text)
        || term('latency_ms', NEW.latency_ms::text) || term('cost', NEW.cost::text)
        || term('client_addr', NEW.client_addr::text) || term('details', NEW.details::text)
        || term('occurred_at', NEW.occurred_at::text));
    UPDATE plpgsql_head SET seq = NEW.chain_seq, hash = NEW.chain_hash WHERE id = 1;
    RETURN NEW;
END \$\$;
CREATE TRIGGER seal BEFORE INSERT ON plpgsql FOR EACH ROW EXECUTE FUNCTION plpgsql_seal();
SQL
psql_db bench_pgaudit -q -c "CREATE TABLE plain ($EVENT_COLS)"

for t in plain floor chain1 chainN plpgsql; do insert_sql "$t" >"$W/$t.sql"; done

# run_pgbench DB SCRIPT CLIENTS SYNC SECONDS -> prints tps
run_pgbench() {
    local db=$1 script=$2 c=$3 sync=$4 secs=$5 j=2 out
    ((c < j)) && j=$c
    out=$(PGOPTIONS="-c synchronous_commit=$sync" "$PGBENCH" -n -c "$c" -j "$j" -T "$secs" \
        -f "$script" "$db" 2>&1) || { printf '%s\n' "$out" >&2; ac_die "pgbench failed"; }
    printf '%s\n' "$out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}

settle() {   # the same starting state for every cell
    psql_db bench -q -c 'VACUUM' >/dev/null
    psql_db bench_pgaudit -q -c 'VACUUM' -c 'CHECKPOINT' >/dev/null
}

declare -A TPS VALS RATIO
VARIANTS="plain floor chain1 chainN plpgsql pgaudit"
variant_target() {   # variant_target VARIANT -> "db script"
    if [[ $1 == pgaudit ]]; then echo "bench_pgaudit $W/plain.sql"; else echo "bench $W/$1.sql"; fi
}
ac_log "inserts: ${SECONDS_PER_RUN}s x $REPS reps per cell, clients: $CLIENTS, lanes for chainN: $LANES"
# The variants take turns within each repetition, so that a slow spell of
# the machine (a shared VM) falls on all of them rather than on one, and each
# repetition starts one variant further on, so that none always runs just
# after the same other one.  Many short repetitions pair better than a few
# long ones: this VM's flush time drifts over tens of seconds.
for sync in on off; do
    for c in $CLIENTS; do
        settle
        for v in $VARIANTS; do
            read -r db script < <(variant_target "$v")
            run_pgbench "$db" "$script" "$c" "$sync" 2 >/dev/null    # warm-up
            VALS[$v]=""
        done
        for ((r = 0; r < REPS; r++)); do
            # shellcheck disable=SC2086
            for v in $(rotated "$r" $VARIANTS); do
                read -r db script < <(variant_target "$v")
                VALS[$v]+="$(run_pgbench "$db" "$script" "$c" "$sync" "$SECONDS_PER_RUN") "
            done
        done
        for v in $VARIANTS; do
            TPS[$v,$c,$sync]=$(printf '%s\n' ${VALS[$v]} | median)
            # the ratio to plain (or to the PL/pgSQL chain) of each repetition,
            # then their median: pairs run back to back see the same machine
            for base in plain plpgsql; do
                RATIO[$v,$base,$c,$sync]=$(paired_ratio "${VALS[$v]}" "${VALS[$base]}")
            done
            ac_log "  sync=$sync c=$c $v: ${VALS[$v]}-> median ${TPS[$v,$c,$sync]}, paired ratio to plain ${RATIO[$v,plain,$c,$sync]}"
        done
    done
done

echo
echo "== single-row inserts (tps, median of $REPS x ${SECONDS_PER_RUN}s; median of the paired ratios to plain)"
echo "   (floor: a table with the chain columns and their unique index, filled by defaults, no trigger)"
printf '%-6s %-4s %10s %16s %16s %16s %16s %16s\n' sync clts plain floor chain1 "chain$LANES" plpgsql pgaudit
for sync in on off; do
    for c in $CLIENTS; do
        p=${TPS[plain,$c,$sync]}
        printf '%-6s %-4s %10.0f' "$sync" "$c" "$p"
        for v in floor chain1 chainN plpgsql pgaudit; do
            printf ' %9.0f (%4sx)' "${TPS[$v,$c,$sync]}" "${RATIO[$v,plain,$c,$sync]}"
        done
        echo
    done
done

# ---------------------------------------------------------------- bulk
BULK_SELECT="SELECT 'user-' || (g % 5000), 'chat.completion', 'openai', 'gpt-4o-2024-08-06', g % 4000, g % 2000, g % 9000,
    (g % 4000) * 0.0000025, '10.20.30.40', jsonb_build_object('request_id', 'req_' || g, 'status', 200,
    'endpoint', '/v1/chat/completions', 'user_agent', 'python-httpx/0.27.0', 'purpose', 'customer-support'), now()
    FROM generate_series(1, $BULK_ROWS) g"
COLS="actor, action, provider, model, input_tokens, output_tokens, latency_ms, cost, client_addr, details, occurred_at"
# Two floors, loaded from the same input as plain and chained, with no
# sealing at all: a table with the five chain columns (filled by defaults:
# lane 0, a sequence, constant hashes) and the unique index of a chained
# table.
#   bulk_floor    chain_at DEFAULT now(): COPY keeps its batched multi-insert.
#   bulk_floor1   chain_at DEFAULT clock_timestamp(): a volatile default turns
#                 COPY's batching off, as any BEFORE ROW trigger does (the
#                 seal is one), so each row is inserted and WAL-logged on its
#                 own.  A load through a BEFORE ROW trigger into a table
#                 with that index pays at least this, less the floor's
#                 nextval() (about 0.2 us a row here).
# INSERT ... SELECT never batches, so there the two floors should agree.
psql_db bench -q -c "CREATE TABLE bulk_plain ($EVENT_COLS)" -c "CREATE TABLE bulk_chain ($EVENT_COLS)" \
    -c "SELECT audit_chain.protect('bulk_chain')" \
    -c "CREATE TABLE bulk_floor ($EVENT_COLS, $(floor_cols 'now()'))" \
    -c "CREATE UNIQUE INDEX ON bulk_floor (chain_lane, chain_seq)" \
    -c "CREATE TABLE bulk_floor1 ($EVENT_COLS, $(floor_cols 'clock_timestamp()'))" \
    -c "CREATE UNIQUE INDEX ON bulk_floor1 (chain_lane, chain_seq)" >/dev/null
psql_db bench -q -c "COPY ($BULK_SELECT) TO STDOUT" >"$W/bulk.copy"
BULK_REPS=${BENCH_BULK_REPS:-3}
BULK_TABLES="bulk_plain bulk_chain bulk_floor bulk_floor1"
declare -A BULK BULKV BULKR
ac_log "bulk: $BULK_ROWS rows x $BULK_REPS reps per table"
for kind in select copy; do
    for t in $BULK_TABLES; do BULKV[$kind,$t]=""; done
    for ((r = 0; r < BULK_REPS; r++)); do
        # the tables take turns, each repetition starting one further on
        # shellcheck disable=SC2086
        for t in $(rotated "$r" $BULK_TABLES); do
            if [[ $t == bulk_chain ]]; then
                psql_db bench -q -c "SELECT audit_chain.unprotect('$t')" -c "DROP TABLE $t" \
                    -c "CREATE TABLE $t ($EVENT_COLS)" -c "SELECT audit_chain.protect('$t')" -c "CHECKPOINT" >/dev/null
            else
                psql_db bench -q -c "TRUNCATE $t" -c "CHECKPOINT" >/dev/null
            fi
            t0=$(date +%s.%N)
            case $kind in
                select) psql_db bench -q -c "INSERT INTO $t ($COLS) $BULK_SELECT" >/dev/null ;;
                copy) psql_db bench -q -c "COPY $t ($COLS) FROM STDIN" <"$W/bulk.copy" >/dev/null ;;
            esac
            t1=$(date +%s.%N)
            BULKV[$kind,$t]+="$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}') "
        done
    done
    for t in $BULK_TABLES; do
        BULK[$kind,$t]=$(printf '%s\n' ${BULKV[$kind,$t]} | median)
        # plain time / this time, for each repetition, then the median
        BULKR[$kind,$t]=$(paired_ratio "${BULKV[$kind,bulk_plain]}" "${BULKV[$kind,$t]}")
        ac_log "  $kind $t: ${BULKV[$kind,$t]}s -> median ${BULK[$kind,$t]}s, paired ratio ${BULKR[$kind,$t]}"
    done
done
psql_db bench -q -c "DROP TABLE bulk_floor, bulk_floor1" >/dev/null
echo
echo "== bulk load of $BULK_ROWS rows (seconds, median of $BULK_REPS; ratio = median of paired plain time / other time)"
echo "   (floors: the chain columns and their unique index, no sealing; batched: COPY's multi-insert"
echo "    on; row by row: off, as with any BEFORE ROW trigger)"
for kind in select copy; do
    printf '%-18s plain %7ss  chained %7ss %sx  floor batched %7ss %sx  row by row %7ss %sx\n' \
        "$([[ $kind == select ]] && echo 'INSERT ... SELECT' || echo 'COPY')" \
        "${BULK[$kind,bulk_plain]}" "${BULK[$kind,bulk_chain]}" "${BULKR[$kind,bulk_chain]}" \
        "${BULK[$kind,bulk_floor]}" "${BULKR[$kind,bulk_floor]}" \
        "${BULK[$kind,bulk_floor1]}" "${BULKR[$kind,bulk_floor1]}"
done

# ---------------------------------------------------------------- verify
# What SHA-256 must do per row, from a sample of 1,000 rows: bytes hashed (the
# row input plus every column's text), digests, and 64-byte compression blocks
# (each message is padded with at least 9 bytes to whole blocks).
read -r BYTES_PER_ROW DIGESTS_PER_ROW BLOCKS_PER_ROW < <(psql_db bench -At -F ' ' -c "
    SELECT round(avg(octet_length(audit_chain.canonical_row('bulk_chain', 0, chain_seq))
                 + coalesce(octet_length(audit_chain.canonical_text(actor)), 0)
                 + coalesce(octet_length(audit_chain.canonical_text(action)), 0)
                 + coalesce(octet_length(audit_chain.canonical_text(provider)), 0)
                 + coalesce(octet_length(audit_chain.canonical_text(model)), 0)
                 + coalesce(octet_length(audit_chain.canonical_text(input_tokens)), 0)
                 + coalesce(octet_length(audit_chain.canonical_text(output_tokens)), 0)
                 + coalesce(octet_length(audit_chain.canonical_text(latency_ms)), 0)
                 + coalesce(octet_length(audit_chain.canonical_text(cost)), 0)
                 + coalesce(octet_length(audit_chain.canonical_text(client_addr)), 0)
                 + coalesce(octet_length(audit_chain.canonical_text(details)), 0)
                 + coalesce(octet_length(audit_chain.canonical_text(occurred_at)), 0))),
           round(avg(1 + (actor IS NOT NULL)::int + (action IS NOT NULL)::int + (provider IS NOT NULL)::int + (model IS NOT NULL)::int + (input_tokens IS NOT NULL)::int + (output_tokens IS NOT NULL)::int + (latency_ms IS NOT NULL)::int + (cost IS NOT NULL)::int + (client_addr IS NOT NULL)::int + (details IS NOT NULL)::int + (occurred_at IS NOT NULL)::int), 1),
           round(avg(ceil((octet_length(audit_chain.canonical_row('bulk_chain', 0, chain_seq)) + 9) / 64.0)
                 + coalesce(ceil((octet_length(audit_chain.canonical_text(actor)) + 9) / 64.0), 0)
                 + coalesce(ceil((octet_length(audit_chain.canonical_text(action)) + 9) / 64.0), 0)
                 + coalesce(ceil((octet_length(audit_chain.canonical_text(provider)) + 9) / 64.0), 0)
                 + coalesce(ceil((octet_length(audit_chain.canonical_text(model)) + 9) / 64.0), 0)
                 + coalesce(ceil((octet_length(audit_chain.canonical_text(input_tokens)) + 9) / 64.0), 0)
                 + coalesce(ceil((octet_length(audit_chain.canonical_text(output_tokens)) + 9) / 64.0), 0)
                 + coalesce(ceil((octet_length(audit_chain.canonical_text(latency_ms)) + 9) / 64.0), 0)
                 + coalesce(ceil((octet_length(audit_chain.canonical_text(cost)) + 9) / 64.0), 0)
                 + coalesce(ceil((octet_length(audit_chain.canonical_text(client_addr)) + 9) / 64.0), 0)
                 + coalesce(ceil((octet_length(audit_chain.canonical_text(details)) + 9) / 64.0), 0)
                 + coalesce(ceil((octet_length(audit_chain.canonical_text(occurred_at)) + 9) / 64.0), 0)), 1)
      FROM bulk_chain WHERE chain_seq <= 1000")
OPENSSL_OUT=$(openssl speed -evp sha256 -seconds 2 2>/dev/null | grep -E '^(sha256|SHA256)' | tail -1)
# columns: 16 64 256 1024 8192 16384 bytes, in kB/s (the "k" suffix)
SHA_64=$(awk '{gsub("k","",$3); print $3 * 1000}' <<<"$OPENSSL_OUT")
SHA_256=$(awk '{gsub("k","",$4); print $4 * 1000}' <<<"$OPENSSL_OUT")
SHA_16K=$(awk '{gsub("k","",$7); print $7 * 1000}' <<<"$OPENSSL_OUT")

verify_run() {   # verify_run ROWS -> "seconds peak_rss_kb first_rss_kb"
    local rows=$1 t0 t1 pid rss first="" peak=0
    psql_db bench -q -c "SELECT audit_chain.unprotect('bulk_chain')" -c "DROP TABLE bulk_chain" \
        -c "CREATE TABLE bulk_chain ($EVENT_COLS)" -c "SELECT audit_chain.protect('bulk_chain')" >/dev/null
    local left=$rows n
    while ((left > 0)); do
        n=$((left > 1000000 ? 1000000 : left))
        psql_db bench -q -c "INSERT INTO bulk_chain ($COLS) ${BULK_SELECT/generate_series(1, $BULK_ROWS)/generate_series(1, $n)}" >/dev/null
        left=$((left - n))
    done
    psql_db bench -q -c "VACUUM ANALYZE bulk_chain" >/dev/null
    psql_db bench -q -c "SELECT count(*) FROM bulk_chain" >/dev/null   # warm the cache
    # timed inside the session: the function, not the connection or the
    # loading of the library (canonical_text loads it first)
    psql_db bench -At -c "SELECT pg_backend_pid()" -c "SELECT audit_chain.canonical_text(1)" \
        -c "SELECT extract(epoch FROM clock_timestamp())" \
        -c "SELECT intact FROM audit_chain.verify_chain('bulk_chain')" \
        -c "SELECT extract(epoch FROM clock_timestamp())" >"$W/verify.out" &
    local job=$!
    while kill -0 "$job" 2>/dev/null; do
        pid=$(head -n1 "$W/verify.out" 2>/dev/null || true)
        if [[ -n $pid && -r /proc/$pid/status ]]; then
            rss=$(awk '/^RssAnon/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
            [[ -z $first && -n $rss ]] && first=$rss
            ((rss > peak)) && peak=$rss
        fi
        sleep 0.2
    done
    wait "$job"
    [[ $(sed -n 4p "$W/verify.out") == t ]] || ac_die "verify_chain did not report intact"
    t0=$(sed -n 3p "$W/verify.out")
    t1=$(sed -n 5p "$W/verify.out")
    echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}') $peak ${first:-0}"
}
echo
echo "== verify_chain (one backend); SHA-256 on this machine (openssl speed -evp sha256):"
printf '   64-byte blocks %.0f MB/s, 256-byte %.0f MB/s, 16 KiB %.0f MB/s\n' \
    "$(awk -v x="$SHA_64" 'BEGIN {print x / 1e6}')" "$(awk -v x="$SHA_256" 'BEGIN {print x / 1e6}')" \
    "$(awk -v x="$SHA_16K" 'BEGIN {print x / 1e6}')"
printf '   the v1 format hashes %s bytes in %s digests, %s compression blocks, per benchmark row\n' \
    "$BYTES_PER_ROW" "$DIGESTS_PER_ROW" "$BLOCKS_PER_ROW"
# The SHA-256 bound: every block of every digest at openssl's 16 KiB rate,
# which is the block function alone (no per-call cost).  Digests of values
# that repeat need not be recomputed, so a verify can pass this bound.
BOUND=$(awk -v k="$BLOCKS_PER_ROW" -v x="$SHA_16K" 'BEGIN {printf "%.0f", x / (64 * k)}')
printf '   SHA-256 bound for that row: %s rows/s (at the 64-byte call rate: %s rows/s)\n' "$BOUND" \
    "$(awk -v b="$BYTES_PER_ROW" -v x="$SHA_64" 'BEGIN {printf "%.0f", x / b}')"
declare -A VRATE
for rows in 1000000 "$VERIFY_ROWS"; do
    read -r secs peak first < <(verify_run "$rows")
    rate=$(awk -v r="$rows" -v s="$secs" 'BEGIN {printf "%.0f", r / s}')
    mbs=$(awk -v r="$rows" -v s="$secs" -v b="$BYTES_PER_ROW" 'BEGIN {printf "%.1f", r * b / s / 1e6}')
    bound=$BOUND
    VRATE[$rows]=$rate
    printf '   %9d rows: %7.2fs  %8d rows/s  %6s MB/s  (%.0f%% of the SHA-256 bound of %d rows/s)  backend private memory (RssAnon) %s kB at start, peak %s kB\n' \
        "$rows" "$secs" "$rate" "$mbs" "$(awk -v a="$rate" -v b="$bound" 'BEGIN {print 100 * a / b}')" "$bound" "$first" "$peak"
    [[ $rows == "$VERIFY_ROWS" ]] && { PEAK_RSS=$peak; FIRST_RSS=$first; }
done

# Incremental: on the big table just verified in full, a checkpoint, then new
# rows; each incremental run must cost in proportion to its new rows only.
psql_db bench -q -c "SELECT audit_chain.checkpoint()" >/dev/null
declare -A INC
for n in 10000 100000; do
    psql_db bench -q -c "INSERT INTO bulk_chain ($COLS) ${BULK_SELECT/generate_series(1, $BULK_ROWS)/generate_series(1, $n)}" >/dev/null
    t0=$(date +%s.%N)
    checked=$(psql_db bench -At -c "SELECT sum(rows_checked) FILTER (WHERE intact) FROM audit_chain.verify_chain('bulk_chain', incremental => true)")
    t1=$(date +%s.%N)
    [[ $checked == "$n" ]] || ac_die "incremental verify checked '$checked' rows, not the $n new ones"
    INC[$n]=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
    printf '   incremental after a checkpoint and %6d new rows on %d: %6.3fs (%d rows/s of new rows)\n' \
        "$n" "$VERIFY_ROWS" "${INC[$n]}" "$(awk -v r="$n" -v s="${INC[$n]}" 'BEGIN {printf "%.0f", r / s}')"
done
# Per new row (its fixed cost included), the incremental run may cost at most
# 5x what the full walk costs per row: it reads in index order, a row at a
# time, where the full walk reads the heap in order.  Its time then follows
# the new rows, not the millions before them.
INC_PER_ROW=$(awk -v s="${INC[100000]}" 'BEGIN {printf "%.3f", s / 100000 * 1e6}')
FULL_PER_ROW=$(awk -v r="${VRATE[$VERIFY_ROWS]}" 'BEGIN {printf "%.3f", 1e6 / r}')

# The best a seal in a BEFORE ROW trigger could do in bulk: the row-by-row
# floor's time plus the SHA-256 block function alone over every row (no
# encoding, no trigger call, nothing else).
bulk_best() {   # bulk_best KIND -> ratio to plain
    awk -v p="${BULK[$1,bulk_plain]}" -v f="${BULK[$1,bulk_floor1]}" -v n="$BULK_ROWS" \
        -v k="$BLOCKS_PER_ROW" -v x="$SHA_16K" 'BEGIN {printf "%.2f", p / (f + n * k * 64 / x)}'
}
echo
echo "== bulk: the best ratio a BEFORE ROW seal could reach here (row-by-row floor + SHA-256 block time of every row)"
printf '   INSERT ... SELECT %sx, COPY %sx\n' "$(bulk_best select)" "$(bulk_best copy)"

# ---------------------------------------------------------------- targets
echo
echo "== targets"
verdict() { if awk -v a="$1" -v b="$2" 'BEGIN {exit !(a >= b)}'; then echo PASS; else echo "FALL SHORT"; fi; }
target() { printf '%-11s %-70s %s (need %s)\n' "$(verdict "$2" "$3")" "$1" "$2" "$3"; }
last_c=${CLIENTS##* }
target "sync on, 1 client: chain1 / plain" "${RATIO[chain1,plain,1,on]}" 0.9
target "sync on, $last_c clients: chain$LANES / plain" "${RATIO[chainN,plain,$last_c,on]}" 0.8
target "sync on, $last_c clients: chain$LANES / plpgsql reference" "${RATIO[chainN,plpgsql,$last_c,on]}" 3
target "sync off, 1 client: chain1 / plain" "${RATIO[chain1,plain,1,off]}" 0.85
target "sync off, $last_c clients: chain$LANES / plain" "${RATIO[chainN,plain,$last_c,off]}" 0.7
target "bulk INSERT ... SELECT: plain time / chained time" "${BULKR[select,bulk_chain]}" 0.6
target "bulk COPY: plain time / chained time" "${BULKR[copy,bulk_chain]}" 0.6
target "verify_chain rows/s over $VERIFY_ROWS rows" "${VRATE[$VERIFY_ROWS]}" 600000
target "incremental verify: 5 x full-walk us/row ($FULL_PER_ROW) minus its own us/row ($INC_PER_ROW)" \
    "$(awk -v f="$FULL_PER_ROW" -v i="$INC_PER_ROW" 'BEGIN {printf "%.3f", 5 * f - i}')" 0
GROWTH_MB=$(awk -v a="${FIRST_RSS:-0}" -v b="${PEAK_RSS:-0}" 'BEGIN {printf "%.1f", (b - a) / 1024}')
target "verify memory flat: 64 MB minus growth of RssAnon in MB ($GROWTH_MB)" "$(awk -v g="$GROWTH_MB" 'BEGIN {print 64 - g}')" 0

# ---------------------------------------------------------------- archive
# archive(), the writers while it runs and the DETACH path: test/bench/archive.sh,
# on a cluster of its own (the one above is idle meanwhile)
if [[ ${BENCH_SKIP_ARCHIVE:-0} != 1 ]]; then
    echo
    BENCH_SKIP_SETUP=1 "$HERE/archive.sh" | sed -n '/^== archive/,$p'
fi

# ---------------------------------------------------------------- log_event
# log_event() beside INSERT INTO audit_chain.events, with and without the live
# Art. 30 register: test/bench/log_event.sh, on a cluster of its own
if [[ ${BENCH_SKIP_LOG_EVENT:-0} != 1 ]]; then
    echo
    BENCH_SKIP_SETUP=1 "$HERE/log_event.sh" | sed -n '/^== log_event/,$p'
fi
