#!/usr/bin/env bash
# test/scenarios/crash_recovery.sh -- chains survive a crash: concurrent
# writers (pgbench, two lanes and one lane, multi-statement transactions)
# are cut off by an immediate shutdown; after crash recovery every lane
# verifies, its seqs are 1..n without a gap, and new rows continue each
# chain.  Also: a prepared transaction keeps its lane locked across the
# crash, and a protect() cut off by the crash leaves the table either fully
# protected or untouched.
#
# Starts its own cluster through scripts/lib.sh.
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "${AC_LIB:-$(dirname "$0")/../../scripts/lib.sh}"

DB=ac_crash
TMP=$(ac_tmpdir)
MIN_ROWS=${AC_CRASH_MIN_ROWS:-600}     # rows of public.crash before the crash
BENCH_SECONDS=60                       # pgbench's own limit

expect() { # expect WHAT GOT WANT
    if [[ $2 != "$3" ]]; then
        ac_die "$1: got '$2', want '$3'"
    fi
    ac_log "ok: $1"
}
q() { psql_db "$DB" -qtAc "$1"; }

start_cluster crash max_prepared_transactions=10
createdb "$DB"
psql_db "$DB" -q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION audit_chain;
CREATE TABLE public.crash (writer int, n int, payload text, at timestamptz DEFAULT clock_timestamp());
SELECT audit_chain.protect('public.crash', lanes => 2);
CREATE TABLE public.single (n int);
SELECT audit_chain.protect('public.single');
CREATE TABLE public.prep (id int);
SELECT audit_chain.protect('public.prep');
INSERT INTO public.prep VALUES (1), (2);
CREATE TABLE public.big (id int, v text);
INSERT INTO public.big SELECT g, md5(g::text) FROM generate_series(1, 100000) g;
SQL

# A prepared transaction holding the only lane of public.prep
psql_db "$DB" -q -c "BEGIN; INSERT INTO public.prep VALUES (3); PREPARE TRANSACTION 'ac_crash_prep';"
prep_oid=$(q "SELECT 'public.prep'::regclass::oid")

cat >"$TMP/writer.sql" <<'SQL'
\set r random(1, 1000000)
BEGIN;
INSERT INTO public.crash (writer, n, payload) VALUES (:client_id, :r, repeat('x', 200));
INSERT INTO public.crash (writer, n, payload) VALUES (:client_id, :r, 'second of the transaction');
COMMIT;
INSERT INTO public.crash (writer, n, payload) SELECT :client_id, g, 'multi-row' FROM generate_series(1, 3) g;
INSERT INTO public.single (n) VALUES (:r);
SQL

# ------------------------------------------------------------------ write, crash
pgbench -n -c 4 -j 2 -T "$BENCH_SECONDS" -f "$TMP/writer.sql" "$DB" >"$TMP/pgbench.out" 2>&1 &
bench=$!
stop_bench() { kill "$1" 2>/dev/null || true; }
ac_defer stop_bench "$bench"

# protect() of a large table, running when the crash comes
psql_db "$DB" -q -c "SELECT audit_chain.protect('public.big')" >"$TMP/protect.out" 2>&1 &
protecting=$!

for _ in $(seq 1 600); do
    n=$(q "SELECT count(*) FROM public.crash" 2>/dev/null || echo 0)
    ((n >= MIN_ROWS)) && break
    kill -0 "$bench" 2>/dev/null || { cat "$TMP/pgbench.out" >&2; ac_die "pgbench stopped before the crash"; }
    sleep 0.1
done
((n >= MIN_ROWS)) || ac_die "only $n rows written before the crash"
ac_log "crashing (pg_ctl -m immediate stop) with $n rows in public.crash and writers running"
crash_cluster crash
bench_rc=0
wait "$bench" || bench_rc=$?
wait "$protecting" || true
((bench_rc != 0)) || ac_warn "pgbench ended cleanly: the crash may have come after it finished"
grep -qiE 'server closed the connection|terminat|connection' "$TMP/pgbench.out" &&
    ac_log "pgbench's clients were cut off mid-run, as intended"

# ------------------------------------------------------------------ recover
restart_cluster crash
q "SELECT 1" >/dev/null || ac_die "the cluster did not come back after the crash"
ac_log "ok: crash recovery done"

VERIFY_SQL="SELECT string_agg(format('%s/%s/%s/%s', tbl, lane, rows_checked, intact), ' ' ORDER BY tbl::text, lane) FROM audit_chain.verify_chain()"
got=$(q "$VERIFY_SQL")
ac_log "after recovery: $got"
[[ $got != *false* ]] || ac_die "a lane does not verify after the crash: $got"
ac_log "ok: every lane verifies after the crash"

gaps=$(q "SELECT coalesce(string_agg(format('%s lane %s: %s rows, seq %s..%s', t, l, n, lo, hi), '; '), '')
            FROM (SELECT 'crash' t, chain_lane l, count(*) n, min(chain_seq) lo, max(chain_seq) hi,
                         count(DISTINCT chain_seq) d FROM public.crash GROUP BY chain_lane
                  UNION ALL
                  SELECT 'single', chain_lane, count(*), min(chain_seq), max(chain_seq),
                         count(DISTINCT chain_seq) FROM public.single GROUP BY chain_lane) s
           WHERE lo <> 1 OR hi <> n OR d <> n")
expect "every lane is seq 1..n without a gap or a duplicate" "$gaps" ""
rows=$(q "SELECT count(*) FROM public.crash")
lanes=$(q "SELECT count(DISTINCT chain_lane) FROM public.crash")
ac_log "public.crash: $rows rows in $lanes lane(s) survived"
expect "lane_head() is the last surviving row of each lane" \
    "$(q "SELECT bool_and(h.seq = m.hi) FROM (SELECT chain_lane, max(chain_seq) hi FROM public.crash GROUP BY 1) m,
                 audit_chain.lane_head('public.crash', m.chain_lane) h")" t

# New rows continue each chain
psql_db "$DB" -q -c "CREATE TABLE public.heads AS
    SELECT c.tbl, c.lane, h.seq, h.hash
      FROM audit_chain.chains c, audit_chain.lane_head(c.tbl, c.lane) h"
psql_db "$DB" -q -c "INSERT INTO public.crash (writer, n, payload) VALUES (0, 0, 'after the crash')"
psql_db "$DB" -q -c "INSERT INTO public.single (n) VALUES (0)"
expect "a new row of public.crash continues its lane (seq n+1, linked to the old head)" \
    "$(q "SELECT count(*) FROM public.crash c JOIN public.heads h ON h.tbl = 'public.crash'::regclass AND h.lane = c.chain_lane
           WHERE c.payload = 'after the crash' AND c.chain_seq = h.seq + 1 AND c.chain_prev = h.hash")" 1
expect "a new row of public.single continues its lane" \
    "$(q "SELECT count(*) FROM public.single s JOIN public.heads h ON h.tbl = 'public.single'::regclass AND h.lane = 0
           WHERE s.n = 0 AND s.chain_seq = h.seq + 1 AND s.chain_prev = h.hash")" 1

# The prepared transaction: still there, still holding the lane
expect "the prepared transaction survived the crash" \
    "$(q "SELECT count(*) FROM pg_prepared_xacts WHERE gid = 'ac_crash_prep'")" 1
expect "its lane lock survived too (an advisory lock held by no backend)" \
    "$(q "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid IS NULL AND granted
           AND classid = $prep_oid AND objid = 0 AND objsubid = 16707")" 1
if psql_db "$DB" -q -c "SET lock_timeout = '1s'; INSERT INTO public.prep VALUES (4)" 2>"$TMP/prep.err"; then
    ac_die "a writer got the lane of public.prep while the prepared transaction held it"
fi
grep -q 'lock timeout' "$TMP/prep.err" || { cat "$TMP/prep.err" >&2; ac_die "unexpected error from the blocked writer"; }
ac_log "ok: a new writer waits for the lane held by the prepared transaction"
psql_db "$DB" -q -c "COMMIT PREPARED 'ac_crash_prep'"
psql_db "$DB" -q -c "INSERT INTO public.prep VALUES (4)"
expect "after COMMIT PREPARED the lane goes on: 1, 2, 3 (prepared), 4" \
    "$(q "SELECT string_agg(id || ':' || chain_seq, ',' ORDER BY chain_seq) FROM public.prep")" "1:1,2:2,3:3,4:4"

# protect() cut off by the crash: all or nothing
if [[ $(q "SELECT count(*) FROM audit_chain.chains WHERE tbl = 'public.big'::regclass") == 0 ]]; then
    expect "protect() cut off by the crash left no chain column behind" \
        "$(q "SELECT count(*) FROM pg_attribute WHERE attrelid = 'public.big'::regclass AND attname LIKE 'chain%' AND NOT attisdropped")" 0
    expect "nor a trigger" \
        "$(q "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.big'::regclass")" 0
    psql_db "$DB" -q -c "SELECT audit_chain.protect('public.big')" >/dev/null
    ac_log "ok: protect() runs again after the crash"
else
    ac_log "protect() of public.big had committed before the crash"
fi
expect "public.big verifies" \
    "$(q "SELECT format('%s/%s', rows_checked, intact) FROM audit_chain.verify_chain('public.big')")" "100000/t"

got=$(q "SELECT bool_and(intact) FROM audit_chain.verify_chain()")
expect "everything verifies at the end" "$got" t
psql_db "$DB" -q -c 'CALL audit_chain.assert_intact()' || ac_die "assert_intact() failed at the end"

ac_log "crash_recovery: PASS"
