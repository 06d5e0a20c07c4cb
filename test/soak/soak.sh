#!/usr/bin/env bash
# test/soak/soak.sh -- an hour of everything at once, then: was anything lost?
#
# Not part of ./scripts/test.sh (it runs for SOAK_SECONDS, default 3600).  On a
# throwaway cluster of its own (scripts/lib.sh), with a signing key:
#
#   writers      pgbench, SOAK_CLIENTS clients (default 6): single-row INSERTs
#                into a 4-lane chained table, multi-row INSERTs that sometimes
#                ROLLBACK (to a savepoint taken after the lane was, or the
#                whole transaction), and audit_chain.log_event() calls; every
#                committed transaction is logged by pgbench (-l), with its
#                client and script
#   verifier     verify_chain(NULL, incremental => true) every 10 s, a full
#                verify_chain() every 5 minutes; any problem stops the soak
#   checkpoints  checkpoint() every 30 s, each exported with
#                export_checkpoint() into a file, as a monitor publishes them
#   archiver     CALL archive(tbl, '60 seconds') every 45 s (the oldest rows
#                move into the archive table while the writers write)
#   fuzzer       SQLsmith as an unprivileged role, for the whole run
#
# Then it stops the writers and checks, printing one line per check:
#   - pgbench: no failed transaction; per client and script, the rows in the
#     table (live + archive) are exactly the committed transactions pgbench
#     logged (the rolled-back ones left nothing);
#   - every lane of every table verifies in full (verify_chain()), with every
#     stored checkpoint, and against every published checkpoint with the
#     trusted key;
#   - audit_chain_verify (the offline verifier) agrees, given the published
#     checkpoints;
#   - the server log has no crash (a backend terminated by a signal, PANIC).
# and prints the figures: rows, transactions a second, verifications,
# checkpoints, archive runs and rows moved, fuzzer queries.
#
#   test/soak/soak.sh                    # an hour
#   SOAK_SECONDS=120 test/soak/soak.sh   # a smoke run
#   BENCH_SKIP_SETUP=1 ...               # the extension is installed already
#
# Env: SOAK_SECONDS (3600), SOAK_CLIENTS (6), SOAK_SEED (1); AC_KEEP=1 leaves
# the cluster running; SOAK_SABOTAGE=1 deletes one row before the checks (as
# a superuser with triggers off can), to show that they fail then.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../scripts/lib.sh
. "${AC_LIB:-$HERE/../../scripts/lib.sh}"

SECS=${SOAK_SECONDS:-3600}
CLIENTS=${SOAK_CLIENTS:-6}
SEED=${SOAK_SEED:-1}
for v in SECS CLIENTS SEED; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || ac_die "SOAK_$v must be a positive integer, not '${!v}'"
done
((SECS >= 30)) || ac_die "SOAK_SECONDS must be at least 30"
PGBIN=${AC_PGBIN:-/usr/lib/postgresql/15/bin}

if [[ ${BENCH_SKIP_SETUP:-0} != 1 ]]; then
    ensure_packages
    build_install
fi
command -v sqlsmith >/dev/null || ac_die "sqlsmith is missing (apt-get install sqlsmith)"

W=$(ac_tmpdir)/soak
mkdir -p "$W/published" "$W/pgbench"
chmod 777 "$W" "$W/published" "$W/pgbench"

# the signing key: owned by the server's user, mode 0600
KEY=$W/signing.pem
openssl genpkey -algorithm ed25519 -out "$KEY" 2>/dev/null
openssl pkey -in "$KEY" -pubout -out "$W/signing.pub" 2>/dev/null
as_root chown postgres "$KEY"
as_root chmod 600 "$KEY"

start_cluster soak max_connections=60 "audit_chain.signing_key_file=$KEY" \
    log_min_messages=warning shared_buffers=256MB max_wal_size=4GB
DB=soak
psql_db postgres -q -c "CREATE DATABASE $DB"
psql_db "$DB" -q -v ON_ERROR_STOP=1 <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION audit_chain;
CREATE TABLE public.soak (
    id      bigint GENERATED ALWAYS AS IDENTITY,
    client  integer NOT NULL,
    script  integer NOT NULL,
    payload text,
    at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
SELECT audit_chain.protect('public.soak', 4);
-- the fuzzer's role: no superuser, may read and write the soak table
CREATE ROLE fuzz LOGIN;
GRANT SELECT, INSERT ON public.soak TO fuzz;
-- as README "Residual risks" advises: an unprivileged role that takes
-- session advisory locks row by row fills the server's lock table, and
-- every writer's INSERT then fails (the first soak run: SQLsmith did, 14
-- minutes in, and the writers stopped)
DO $$
DECLARE f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
              WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.proname LIKE 'pg%advisory%lock%'
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END
$$;
SQL

# ---------------------------------------------------------------- writers
cat >"$W/single.sql" <<'SQL'
INSERT INTO public.soak (client, script, payload) VALUES (:client_id, 0, repeat('x', (random() * 200)::int));
SQL
cat >"$W/multi.sql" <<'SQL'
\set r random(1, 10)
BEGIN;
INSERT INTO public.soak (client, script, payload) SELECT :client_id, 1, 'batch ' || g FROM generate_series(1, 5) AS g;
SAVEPOINT s;
INSERT INTO public.soak (client, script, payload) VALUES (:client_id, 1, 'rolled back to the savepoint');
ROLLBACK TO SAVEPOINT s;
\if :r = 1
ROLLBACK;
\else
COMMIT;
\endif
SQL
cat >"$W/event.sql" <<'SQL'
SELECT audit_chain.log_event('api_request', 'chat.completion', actor => 'client-' || :client_id,
                             provider => 'openai', model => 'gpt-4o', input_tokens => 100, output_tokens => 20,
                             purpose => 'customer-support', legal_basis => 'contract',
                             data_subject => 'cust-' || (random() * 1000)::int, request_id => 'soak-' || :client_id);
SQL

ac_log "soak: ${SECS}s, $CLIENTS writers, verifier, checkpoints, archiver, fuzzer"
start=$(date +%s)
(cd "$W/pgbench" && PGDATABASE=$DB "$PGBIN/pgbench" -n -c "$CLIENTS" -j 2 -T "$SECS" \
    -f "$W/single.sql@6" -f "$W/multi.sql@2" -f "$W/event.sql@2" -l --log-prefix=tx \
    --random-seed="$SEED" >"$W/pgbench.out" 2>"$W/pgbench.err") &
writers=$!

# ---------------------------------------------------------------- side jobs
STOP=$W/stop
verifier() {
    local n=0 full=0 t0 bad
    while [[ ! -e $STOP ]]; do
        sleep 10
        if ((n % 30 == 29)); then
            bad=$(psql_db "$DB" -qAt -c "SELECT count(*) FROM audit_chain.verify_chain() WHERE NOT intact") || bad=error
            full=$((full + 1))
        else
            bad=$(psql_db "$DB" -qAt -c "SELECT count(*) FROM audit_chain.verify_chain(NULL, true) WHERE NOT intact") || bad=error
        fi
        n=$((n + 1))
        if [[ $bad != 0 ]]; then
            echo "verification $n: $bad" >"$W/verifier.failed"
            psql_db "$DB" -qAt -c "SELECT * FROM audit_chain.verify_chain() WHERE NOT intact" >>"$W/verifier.failed" 2>&1 || true
            return
        fi
        echo "$n $full" >"$W/verifier.count"
    done
}
checkpointer() {
    local id
    while [[ ! -e $STOP ]]; do
        sleep 30
        id=$(psql_db "$DB" -qAt -c "SELECT audit_chain.checkpoint()") || { echo "checkpoint failed" >"$W/checkpoints.failed"; return; }
        psql_db "$DB" -qAt -c "SELECT audit_chain.export_checkpoint($id)" >"$W/published/$id.json" ||
            { echo "export of checkpoint $id failed" >"$W/checkpoints.failed"; return; }
    done
}
archiver() {
    local runs=0
    while [[ ! -e $STOP ]]; do
        sleep 45
        psql_db "$DB" -q -c "CALL audit_chain.archive('public.soak', '60 seconds')" >/dev/null 2>>"$W/archiver.err" ||
            { echo "archive failed" >"$W/archiver.failed"; return; }
        runs=$((runs + 1))
        echo "$runs" >"$W/archiver.count"
    done
}
fuzzer() {
    timeout -s INT -k 10 "$SECS" sqlsmith --target="host=$PGHOST port=$PGPORT dbname=$DB user=fuzz" \
        --seed="$SEED" --exclude-catalog --verbose >"$W/sqlsmith.out" 2>"$W/sqlsmith.err" || true
}
verifier & v_pid=$!
checkpointer & c_pid=$!
archiver & a_pid=$!
fuzzer & f_pid=$!

wait "$writers" || true
touch "$STOP"
wait "$v_pid" "$c_pid" "$a_pid" "$f_pid" 2>/dev/null || true
elapsed=$(($(date +%s) - start))
ac_log "soak: writers done after ${elapsed}s; checking"

# one more archive (every row moves), then count them in both tables
psql_db "$DB" -q -c "CALL audit_chain.archive('public.soak', '1 microsecond')" >/dev/null
ARCH=$(psql_db "$DB" -qAt -c "SELECT audit_chain.archive_table('public.soak')")

# SOAK_SABOTAGE=1: show that the checks can fail: one stored row of client 0
# deleted behind the triggers' back, as a superuser can
if [[ ${SOAK_SABOTAGE:-0} == 1 ]]; then
    psql_db "$DB" -q -c "SET session_replication_role = replica" \
        -c "DELETE FROM $ARCH WHERE id = (SELECT max(id) FROM $ARCH WHERE client = 0 AND script = 0)" >/dev/null
    ac_log "soak: SOAK_SABOTAGE: deleted the newest single-row insert of client 0"
fi

fails=0
check() { # check DESCRIPTION COMMAND...: print ok/FAILED
    if "${@:2}"; then
        echo "ok: $1"
    else
        echo "FAILED: $1"
        fails=$((fails + 1))
    fi
}
for f in verifier checkpoints archiver; do
    if [[ -e $W/$f.failed ]]; then
        echo "FAILED: $f during the soak: $(cat "$W/$f.failed")"
        fails=$((fails + 1))
    fi
done

# pgbench: ran to the end, nothing failed
check "pgbench ran to the end" grep -q '^number of transactions actually processed' "$W/pgbench.out"
failed_tx=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$W/pgbench.out")
check "no failed transaction (pgbench: ${failed_tx:-?})" test "${failed_tx:-1}" = 0

# pgbench's log: client transaction_no time script_no ...  (client and
# :client_id count from 0).  multi.sql commits 5 rows, or none when it rolls
# back (pgbench logs those too): its rows are checked in fives.
cat "$W"/pgbench/tx.* | awk '{n[$1 " " $4]++} END {for (k in n) print k, n[k]}' | sort >"$W/logged"
psql_db "$DB" -qAt -F ' ' -c "
    SELECT client, script, count(*) FROM (SELECT client, script FROM public.soak
                                              UNION ALL SELECT client, script FROM $ARCH) r
     GROUP BY 1, 2 ORDER BY 1, 2" >"$W/stored"
events=$(psql_db "$DB" -qAt -c "SELECT count(*) FROM audit_chain.events WHERE request_id LIKE 'soak-%'")
logged_events=$(awk '$4 == 2' "$W"/pgbench/tx.* | wc -l)
logged_single=$(awk '$4 == 0' "$W"/pgbench/tx.* | wc -l)
stored_single=$(awk '$2 == 0 {s += $3} END {print s + 0}' "$W/stored")
multi_tx=$(awk '$4 == 1' "$W"/pgbench/tx.* | wc -l)
stored_multi=$(awk '$2 == 1 {s += $3} END {print s + 0}' "$W/stored")
# per client: single-row rows == its logged single-row transactions
per_client_ok() {
    local c
    for ((c = 0; c < CLIENTS; c++)); do
        local l s
        l=$(awk -v c="$c" '$1 == c && $2 == 0 {print $3}' "$W/logged")
        s=$(awk -v c="$c" '$1 == c && $2 == 0 {print $3}' "$W/stored")
        [[ ${l:-0} == "${s:-0}" ]] || { echo "  client $c: pgbench logged ${l:-0} single-row commits, the tables hold ${s:-0} rows"; return 1; }
    done
}
check "every single-row commit is stored, per client ($logged_single commits, $stored_single rows)" per_client_ok
check "multi-row transactions left whole batches only ($stored_multi rows from $multi_tx transactions, some rolled back)" \
    test $((stored_multi % 5)) = 0 -a "$stored_multi" -le $((multi_tx * 5))
check "every log_event() call is stored ($logged_events calls, $events events)" test "$logged_events" = "$events"
no_savepoint_rows() { [[ $(psql_db "$DB" -qAt -c "SELECT count(*) FROM public.soak WHERE payload LIKE 'rolled back%'") == 0 ]]; }
check "no row of a rolled-back savepoint" no_savepoint_rows

# verification, in full, with the stored and the published checkpoints
# the published documents as one JSON array, in a file: psql reads it with
# \set and a backquote (60 documents are too long for a command line)
cat "$W"/published/*.json 2>/dev/null | jq -s -c '.' >"$W/published.json" 2>/dev/null || echo '[]' >"$W/published.json"
ncp=$(find "$W/published" -name '*.json' | wc -l)
full_ok() {
    local bad
    bad=$(psql_db "$DB" -qAt <<SQL
\\set pub \`cat $W/published.json\`
\\set key \`cat $W/signing.pub\`
SELECT count(*) FROM audit_chain.verify_chain(NULL, false, :'pub'::json, :'key') WHERE NOT intact;
SQL
    )
    [[ $bad == 0 ]] || { echo "  $bad lanes do not verify"; return 1; }
}
check "every lane verifies in full, with every stored and all $ncp published checkpoints" full_ok
offline_ok() {
    local args=()
    for f in "$W"/published/*.json; do args+=(--checkpoint "$f"); done
    "$PGBIN/audit_chain_verify" --quiet "${args[@]}" --public-key "$W/signing.pub" \
        --dbname "host=$PGHOST port=$PGPORT dbname=$DB user=postgres" >"$W/offline.out" 2>&1 ||
        { tail -5 "$W/offline.out"; return 1; }
}
check "audit_chain_verify (offline) agrees" offline_ok
no_crash() { ! grep -E 'terminated by signal|PANIC|server process .* was terminated' "${AC_LOGFILE[soak]}"; }
check "the server log has no crash" no_crash

read -r vruns vfull <"$W/verifier.count" 2>/dev/null || { vruns=0; vfull=0; }
aruns=$(cat "$W/archiver.count" 2>/dev/null || echo 0)
live=$(psql_db "$DB" -qAt -c "SELECT count(*) FROM public.soak")
archived=$(psql_db "$DB" -qAt -c "SELECT count(*) FROM $ARCH")
tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$W/pgbench.out" | head -1)
squeries=$(grep -o 'queries: [0-9]*' "$W/sqlsmith.err" | tail -1 | grep -o '[0-9]*' || echo '?')
echo
echo "== soak figures (${elapsed}s)"
echo "writers:       $CLIENTS clients, ${tps:-?} transactions/s; public.soak $((live + archived)) rows ($live live, $archived archived), $events events"
echo "verifications: $vruns (of which $vfull full), every one intact"
echo "checkpoints:   $ncp taken and published"
echo "archive runs:  $aruns (and one at the end)"
echo "fuzzer:        sqlsmith as an unprivileged role, ${squeries} queries"
if ((fails)); then
    echo "soak: FAILED ($fails checks)"
    exit 1
fi
echo "soak: PASS"
