#!/usr/bin/env bash
# test/scenarios/archive_kill.sh -- archive() interrupted in the middle of a
# batch loses nothing and duplicates nothing.
#
# A 4-lane table of a year of backdated rows (test/scenarios/backdate.sql;
# 300,030 rows, 822 a day) is archived in three rounds, each interrupted
# once some of its batches have committed (the lanes' archived_seq moved):
#   1. kill -9 of the backend running CALL audit_chain.archive(tbl, '250 days')
#      (the postmaster then restarts every backend and recovers);
#   2. pg_cancel_backend() of CALL audit_chain.archive(tbl, '120 days');
#   3. a crash of the whole server (pg_ctl -m immediate) during
#      CALL audit_chain.archive(tbl, '1 day'), then crash recovery.
# Two pgbench clients insert single rows into the live table meanwhile.
# After each interruption, and again after the same call rerun to
# completion: every row is in exactly one of the live and the archive table
# (their counts add up to the rows backdated plus those the writers
# committed, no (lane, seq) in both, each lane split at its
# boundary with no gap), the boundary log accounts for every archived row,
# and verify_chain finds the live table, the archive table and
# audit_chain.boundaries intact.  After the rerun the archive holds exactly
# the rows older than the cutoff.  The rows are 105 s apart, the cutoffs whole
# days: no row crosses a cutoff while a round runs.
#
# Starts its own cluster through scripts/lib.sh.
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "${AC_LIB:-$(dirname "$0")/../../scripts/lib.sh}"

DB=ac_kill
TBL=public.big
PER_DAY=${AC_KILL_PER_DAY:-822}
TOTAL=$((365 * PER_DAY))
TMP=$(ac_tmpdir)
expect() { # expect WHAT GOT WANT [NOTE]
    if [[ $2 != "$3" ]]; then
        ac_die "$1: got '$2', want '$3'"
    fi
    ac_log "ok: $1${4:+ ($4)}"
}
q() { psql_db "$DB" -qtAc "$1"; }
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }

start_cluster kill timezone=UTC
createdb "$DB"
psql_db "$DB" -q -f "$AC_ROOT/test/scenarios/backdate.sql"
psql_db "$DB" -q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION audit_chain;
CREATE TABLE public.big (account bigint, action text, amount numeric(12,2), note text);
SELECT audit_chain.protect('public.big', lanes => 4);
SQL
t=$(date +%s%N)
q "SELECT ac_test.backdate('$TBL', 365, $PER_DAY, 'account, action, amount, note',
     \$\$i % 5000, (ARRAY['read', 'write', 'export'])[1 + i % 3], i * 0.01, repeat('n', 40)\$\$)" >/dev/null
ac_log "backdated $TOTAL rows in $(ms "$t") ms"
expect "backdated rows verify" "$(q "SELECT count(*) FILTER (WHERE intact) FROM audit_chain.verify_chain('$TBL')")" 4
ARCH=$(q "SELECT audit_chain.archive_table('$TBL')")
ac_log "archive table: $ARCH"

archived() { q "SELECT sum(archived_seq) FROM audit_chain.chains WHERE tbl = '$TBL'::regclass"; }
older_than() { echo $(((365 - $1) * PER_DAY + 1)); }   # rows at least DAYS old

# check WHEN: every row in exactly one place, all of it verifying
check() {
    local when=$1 live arch logged writes
    live=$(q "SELECT count(*) FROM $TBL")
    arch=$(q "SELECT count(*) FROM $ARCH")
    writes=$(written)
    expect "$when: live + archived = all rows" "$((live + arch))" "$((TOTAL + writes))" \
        "$live live, $arch archived; $writes of all the rows came from the writers"
    expect "$when: each lane split at its boundary, no row in both" \
        "$(q "SELECT string_agg(p, '; ') FROM ac_test.split_problems('$TBL') p")" ""
    logged=$(q "SELECT coalesce(sum(row_count), 0) FROM audit_chain.boundaries
                 WHERE kind = 'archive' AND lane_genesis IN
                       (SELECT genesis FROM audit_chain.chains WHERE tbl = '$TBL'::regclass)")
    expect "$when: audit_chain.boundaries accounts for every archived row" "$logged" "$arch"
    expect "$when: live table intact" \
        "$(q "SELECT count(*) FILTER (WHERE intact) || '/' || count(*) FROM audit_chain.verify_chain('$TBL')")" 4/4
    expect "$when: archive table intact" \
        "$(q "SELECT count(*) FILTER (WHERE intact) || '/' || count(*) FROM audit_chain.verify_chain('$ARCH')")" 4/4
    expect "$when: audit_chain.boundaries intact" \
        "$(q "SELECT count(*) FILTER (WHERE intact) || '/' || count(*) FROM audit_chain.verify_chain('audit_chain.boundaries')")" 1/1
}

# start_archive DAYS: CALL archive in the background; sets ARCHIVER (the
# psql's pid) and BACKEND (the server process running the CALL)
start_archive() {
    local i
    PGAPPNAME=ac_archive_kill psql_db "$DB" -c "CALL audit_chain.archive('$TBL', interval '$1 days')" \
        >"$TMP/archive.out" 2>&1 &
    ARCHIVER=$!
    BACKEND=
    for i in $(seq 1 200); do
        BACKEND=$(q "SELECT pid FROM pg_stat_activity WHERE application_name = 'ac_archive_kill'
                       AND query LIKE 'CALL audit_chain.archive(%'")
        [[ -n $BACKEND ]] && break
        sleep 0.05
    done
    [[ -n $BACKEND ]] || ac_die "no backend found running the archive"
}

# wait_progress BASE: until some batch of the running archive committed
# (archived_seq summed over the lanes above BASE) and the backend is in the
# next one, holding a transaction that has written (backend_xid set); polls
# from inside one statement, so that the interruption follows within
# milliseconds.  Sets XID to that transaction's id.
wait_progress() {
    XID=$(psql_db "$DB" -qtA -c "SET statement_timeout = '120s'" -c "
        CREATE TEMP TABLE seen (xid xid8);
        DO \$\$
        DECLARE x xid;
        BEGIN
            LOOP
                IF (SELECT sum(archived_seq) FROM audit_chain.chains
                     WHERE tbl = '$TBL'::regclass) > $1 THEN
                    -- (pg_stat_activity is read once per transaction otherwise)
                    PERFORM pg_stat_clear_snapshot();
                    SELECT backend_xid INTO x FROM pg_stat_activity WHERE pid = $BACKEND;
                    EXIT WHEN x IS NOT NULL;
                END IF;
                PERFORM pg_sleep(0.001);
            END LOOP;
            -- a new cluster: epoch 0, the xid8 is the xid
            INSERT INTO seen VALUES (x::text::xid8);
        END \$\$;
        SELECT xid FROM seen") || ac_die "archive committed no batch within 120 s: $(cat "$TMP/archive.out")"
}

# Writers: two pgbench clients inserting single rows into the live table
# (200 a second in all) while archive() runs; their rows are new, never
# archived, and must chain on at the lanes' tails.
cat >"$TMP/writer.sql" <<'SQL'
INSERT INTO public.big (account, action, amount, note) VALUES (:client_id, 'write', 1, 'writer');
SQL
WRITERS=
start_writers() {
    pgbench -n -c 2 -j 2 -R 200 -T 120 -f "$TMP/writer.sql" "$DB" >>"$TMP/pgbench.out" 2>&1 &
    WRITERS=$!
}
stop_writers() {
    if [[ -n $WRITERS ]]; then
        kill -TERM "$WRITERS" 2>/dev/null || true
        wait "$WRITERS" 2>/dev/null || true
        WRITERS=
    fi
}
ac_defer stop_writers
written() { q "SELECT count(*) FROM $TBL WHERE note = 'writer'"; }

wait_up() { # until the server accepts connections again
    local i
    for i in $(seq 1 600); do
        if q "SELECT 1" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    ac_die "server not back within 60 s"
}

# round NAME DAYS HOW: archive the rows older than DAYS, interrupt it with
# HOW (kill9 | cancel | crash), check, rerun to completion, check
round() {
    local name=$1 days=$2 how=$3 base want at_stop rc t status w0 w1
    base=$(archived)
    want=$(older_than "$days")
    ac_log "round $name: archive('$TBL', '$days days'), $((want - base)) rows to move, interrupted by $how"
    t=$(date +%s%N)
    w0=$(written)
    start_writers
    start_archive "$days"
    wait_progress "$base"
    case $how in
        kill9) kill -KILL "$BACKEND" ;;
        cancel) q "SELECT pg_cancel_backend($BACKEND)" >/dev/null ;;
        crash) crash_cluster kill ;;
    esac
    rc=0
    wait "$ARCHIVER" || rc=$?
    ac_log "$name: interrupted after $(ms "$t") ms; the CALL exited with $rc: $(tr '\n' ' ' <"$TMP/archive.out")"
    ((rc != 0)) || ac_die "$name: the CALL was not interrupted (it exited 0)"
    stop_writers
    if [[ $how == crash ]]; then restart_cluster kill; fi
    wait_up
    ac_log "$name: the writers committed $(($(written) - w0)) rows while it ran"
    at_stop=$(archived)
    ((at_stop > base && at_stop < want)) ||
        ac_die "$name: $((at_stop - base)) of $((want - base)) rows archived when interrupted: not in the middle (raise AC_KILL_PER_DAY)"
    ac_log "$name: $((at_stop - base)) of $((want - base)) rows had been archived"
    # the batch in progress when it was interrupted left nothing behind
    status=$(q "SELECT pg_xact_status('$XID')")
    if [[ $status == aborted ]]; then
        ac_log "ok: $name: the batch in progress (transaction $XID) was rolled back"
    else
        ac_warn "$name: the batch in progress (transaction $XID) is $status: the interruption came after it committed"
    fi
    psql_db "$DB" -P footer=off -c "SELECT lane, live, live_first, archived, arch_first, arch_last, archived_seq, in_both
                                      FROM ac_test.lane_split('$TBL')"
    check "$name, interrupted"

    t=$(date +%s%N)
    w0=$(written)
    start_writers
    psql_db "$DB" -qc "CALL audit_chain.archive('$TBL', interval '$days days')"
    ac_log "$name: rerun moved $((want - at_stop)) rows in $(ms "$t") ms"
    sleep 0.2
    stop_writers
    w1=$(written)
    ((w1 > w0)) || ac_die "$name: the writers committed nothing during the rerun"
    ac_log "$name: the writers committed $((w1 - w0)) rows during the rerun"
    expect "$name: after the rerun, every row older than $days days archived" "$(archived)" "$want"
    check "$name, rerun"
}

round "kill -9" 250 kill9
round "cancel" 120 cancel
round "crash" 1 crash
psql_db "$DB" -P footer=off -c "
SELECT kind, lane, count(*) AS moves, sum(row_count) AS rows, min(from_seq) AS from_seq, max(to_seq) AS to_seq
  FROM audit_chain.boundaries GROUP BY 1, 2 ORDER BY 1, 2"
ac_log "archive_kill: all checks passed"
