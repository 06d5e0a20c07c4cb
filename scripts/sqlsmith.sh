#!/usr/bin/env bash
# scripts/sqlsmith.sh -- fuzz audit_chain with SQLsmith (Debian's sqlsmith):
# builds and installs the extension (scripts/lib.sh), starts a throwaway
# cluster, makes a database with chained tables (protect(), several lanes), a
# chained partitioned table, a tracked table (track()), events (log_event())
# and rows in each, plus a table of regclass values (good and bad: a view, a
# sequence, an index, tables with chain columns of the wrong types, OID 0, a
# dropped table's OID) that sqlsmith's sub-selects feed to the regclass
# arguments of the audit_chain functions.  Then runs sqlsmith twice, for a
# bounded time each, with a fixed seed: as the superuser and as an
# unprivileged login role with the grants of an application and an auditor.
#
# It fails when the server log shows a backend "terminated by signal" (or
# any other abnormal backend exit) or when the server does not answer after
# a run; it then prints the crash lines, the query the backend was running,
# and the last queries sqlsmith sent before it.  It stops a run at the first
# crash.  At the end it reports, per role, how many queries ran, how many of
# them call an audit_chain function, the calls per audit_chain function
# (pg_stat_user_functions, track_functions = all) and internal errors
# (SQLSTATE XX000) raised while a statement called audit_chain.
#
# Before sqlsmith, a probe pass calls every audit_chain function whose first
# argument is a regclass (found in pg_proc, so it follows the API) with each
# of those regclass values and with a temporary table and view of the
# caller's own, as each role, every call in a transaction that rolls back and
# that also runs verify_chain() and checkpoint() after a call that succeeded;
# each crash is reported with its call.  SQLsmith alone seldom gets there:
# it picks a function from all of pg_proc, and most of the arguments it
# writes are NULL casts, which a STRICT function never sees.
#
# Usage: scripts/sqlsmith.sh [--duration S] [--seed N] [--max-queries N]
#                            [--roles both|super|app] [--with-catalog]
#                            [--no-build] [--no-probes] [--out DIR]
#                            [--server-log FILE]
#   --duration S     seconds per role (default 120; 0: probes only)
#   --seed N         sqlsmith's RNG seed (default 1; the app run uses N+1)
#   --max-queries N  also stop a run after N queries (default: no limit)
#   --roles R        which runs: both (default), super, app
#   --with-catalog   let sqlsmith query the system catalogs too (by default
#                    --exclude-catalog: its FROM lists then pick our tables)
#   --no-build       skip the package check and build (the suite's scenario
#                    test/scenarios/sqlsmith.sh; the extension is installed)
#   --no-probes      skip the probe pass
#   --out DIR        keep the query dumps, sqlsmith reports and server log in
#                    DIR (default: the temp directory, removed at exit)
#   --server-log F   use the cluster already running at PGHOST/PGPORT, whose
#                    server log is F, instead of starting one (scripts/asan.sh);
#                    the database is then smith_PID
# Env: AC_PGBIN (PostgreSQL to use), AC_KEEP=1 (leave the cluster running).
# shellcheck disable=SC2119  # lib functions called without arguments
set -euo pipefail

DURATION=120
SEED=1
MAXQ=
ROLES=both
CATALOG=0
BUILD=1
OUTDIR=
SERVER_LOG=
PROBES=1
while (($#)); do
    case $1 in
        --duration) DURATION=${2:?}; shift 2 ;;
        --seed) SEED=${2:?}; shift 2 ;;
        --max-queries) MAXQ=${2:?}; shift 2 ;;
        --roles) ROLES=${2:?}; shift 2 ;;
        --with-catalog) CATALOG=1; shift ;;
        --no-build) BUILD=0; shift ;;
        --out) OUTDIR=${2:?}; shift 2 ;;
        --server-log) SERVER_LOG=${2:?}; shift 2 ;;
        --no-probes) PROBES=0; shift ;;
        -h | --help) sed -n '2,50p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
done
[[ $DURATION =~ ^[0-9]+$ && $SEED =~ ^[0-9]+$ ]] || { echo "--duration and --seed take integers" >&2; exit 2; }
[[ -z $MAXQ || $MAXQ =~ ^[0-9]+$ ]] || { echo "--max-queries takes an integer" >&2; exit 2; }
case $ROLES in both | super | app) ;; *) echo "--roles: both, super or app" >&2; exit 2 ;; esac

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if ((BUILD)); then
    ensure_packages
    build_install
fi
command -v sqlsmith >/dev/null || ac_die "sqlsmith is missing (apt-get install sqlsmith)"

if [[ -z $OUTDIR ]]; then
    OUTDIR=$(ac_tmpdir)/sqlsmith
fi
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)

APP=smith_app
if [[ -n $SERVER_LOG ]]; then
    [[ -n ${PGHOST:-} && -r $SERVER_LOG ]] || ac_die "--server-log needs PGHOST/PGPORT and a readable log"
    export PGUSER=${PGUSER:-postgres}
    DB=smith_$$
    LOG=$SERVER_LOG
    ac_log "using the running cluster at PGHOST=$PGHOST PGPORT=${PGPORT:-5432}, database $DB"
    TRACK_OPT=(-c "ALTER DATABASE $DB SET track_functions = 'all'")
else
    # track_functions: count the calls of every audit_chain function (C and
    # SQL too).  track_activity_query_size: the crash message quotes the
    # whole query.  log_line_prefix with %e: the SQLSTATE of each error.
    start_cluster sqlsmith track_functions=all track_activity_query_size=65536 \
        "log_line_prefix=%m [%p] %q%u@%d %e " log_min_error_statement=error
    DB=smith
    LOG=${AC_LOGFILE[sqlsmith]}
    TRACK_OPT=()
fi

createdb "$DB"
if ((${#TRACK_OPT[@]})); then psql_db "$DB" -q "${TRACK_OPT[@]}" >/dev/null; fi
ac_log "setting up database $DB"
psql_db "$DB" -q >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION audit_chain;

-- the unprivileged role sqlsmith runs as in its second run: no superuser,
-- no CREATEROLE, no CREATEDB; the grants of an application and an auditor
DO \$\$BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$APP') THEN
        CREATE ROLE $APP LOGIN;
    END IF;
END\$\$;

-- chained tables, several lanes, the column types an audit table has
CREATE TABLE public.ledger (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor   text NOT NULL,
    action  text NOT NULL,
    amount  numeric(12,2),
    at      timestamptz NOT NULL DEFAULT now());
INSERT INTO public.ledger (actor, action, amount)
    SELECT 'user' || g % 7, 'pay', g * 1.5 FROM generate_series(1, 50) g;
SELECT audit_chain.protect('public.ledger', lanes => 4);
INSERT INTO public.ledger (actor, action, amount)
    SELECT 'user' || g % 5, 'refund', g FROM generate_series(1, 30) g;

CREATE TABLE public.access_log (
    who     text,
    addr    inet,
    tags    text[],
    payload jsonb,
    blob    bytea,
    ok      boolean,
    day     date,
    span    int4range,
    ref     uuid DEFAULT gen_random_uuid(),
    score   double precision);
SELECT audit_chain.protect('public.access_log');
INSERT INTO public.access_log (who, addr, tags, payload, blob, ok, day, span, score)
    SELECT 'u' || g, ('10.0.0.' || g)::inet, ARRAY['a', 'b' || g], jsonb_build_object('n', g),
           decode(md5(g::text), 'hex'), g % 2 = 0, date '2026-01-01' + g, int4range(g, g + 10),
           g / 3.0
      FROM generate_series(1, 40) g;

-- the application's own chained table
CREATE TABLE public.app_notes (id int, note text);
ALTER TABLE public.app_notes OWNER TO $APP;
SELECT audit_chain.protect('public.app_notes', lanes => 2);
INSERT INTO public.app_notes SELECT g, 'note ' || g FROM generate_series(1, 20) g;

-- a chained partitioned table
CREATE TABLE public.measurements (at date NOT NULL, sensor int, v numeric)
    PARTITION BY RANGE (at);
CREATE TABLE public.measurements_2025 PARTITION OF public.measurements
    FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE public.measurements_2026 PARTITION OF public.measurements
    FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO public.measurements
    SELECT date '2025-06-01' + g * 7, g % 4, g * 0.25 FROM generate_series(1, 60) g;
SELECT audit_chain.protect('public.measurements', lanes => 2);
INSERT INTO public.measurements
    SELECT date '2026-02-01' + g, g % 4, g FROM generate_series(1, 20) g;

-- a tracked business table
CREATE TABLE public.customers (id int PRIMARY KEY, name text, email text, born date);
INSERT INTO public.customers SELECT g, 'c' || g, 'c' || g || '@example.org', date '1980-01-01' + g
    FROM generate_series(1, 20) g;
SELECT audit_chain.track('public.customers', with_values => true);
UPDATE public.customers SET email = 'x' || email WHERE id % 3 = 0;
DELETE FROM public.customers WHERE id > 18;

-- events
SELECT audit_chain.log_event('api_request', 'chat.completion', provider => 'openai',
        model => 'gpt', input_tokens => g, output_tokens => 2 * g, latency_ms => 10 * g,
        data_subject => 'patient-' || g % 3, phi => g % 2 = 0)
  FROM generate_series(1, 30) g;
SELECT audit_chain.log_event('data_access', 'read', actor => 'dr-' || g, resource => 'chart/' || g,
        purpose => 'treatment', legal_basis => 'contract')
  FROM generate_series(1, 10) g;
SELECT audit_chain.checkpoint();

-- regclass values for sqlsmith's sub-selects: the chained and tracked tables,
-- and what a caller might pass instead
CREATE TABLE public.wrong_chain (chain_lane smallint, chain_seq bigint, chain_hash bigint);
CREATE UNIQUE INDEX ON public.wrong_chain (chain_lane, chain_seq);
INSERT INTO public.wrong_chain VALUES (0, 1, 1), (0, 2, 2);
-- all five chain columns, chain_hash of the wrong type, owned by the app role
CREATE TABLE public.wrong_types (chain_lane smallint, chain_seq bigint, chain_at timestamptz,
                                 chain_prev bytea, chain_hash bigint);
INSERT INTO public.wrong_types VALUES (0, 1, now(), '', 1), (1, 1, now(), '', 2);
ALTER TABLE public.wrong_types OWNER TO $APP;
CREATE VIEW public.ledger_view AS SELECT * FROM public.ledger;
CREATE MATERIALIZED VIEW public.ledger_mv AS SELECT id, actor FROM public.ledger;
CREATE SEQUENCE public.some_seq;
CREATE TYPE public.some_composite AS (a int, b text);
CREATE TABLE public.dropped (x int);
CREATE TABLE public.fuzz_rel (rel regclass, lane int, seq bigint);
-- (sqlsmith's scalar sub-selects mostly use OFFSET 1 to 5, and there is no
-- ORDER BY: the bad values come first, in insertion order)
INSERT INTO public.fuzz_rel (rel, lane, seq) VALUES
    ('public.ledger', 0, 1), ('public.wrong_types', 0, 1), ('public.wrong_chain', 0, 1), (0, 0, 0),
    ('public.ledger_view', 0, 1), ('public.dropped'::regclass::oid::regclass, 0, 1),
    ('public.measurements', 1, 2), ('public.measurements_2025', 0, 1),
    ('public.some_seq', 0, 1), ('public.ledger_pkey', 0, 1), ('public.some_composite', 0, 1),
    ('public.ledger_mv', 0, 1), ('public.customers', 0, 1), ('public.access_log', 0, 40),
    ('public.app_notes', 1, 3), ('audit_chain.events', 0, 1), ('audit_chain.events', 15, 1),
    ('pg_catalog.pg_class', 0, 1), ('audit_chain.chains', 0, 1), (-1, -1, -1),
    ('public.ledger', 3, 5), ('public.ledger', 64, 9223372036854775807), ('public.ledger', -1, -1);
DROP TABLE public.dropped;

-- grants: the application writes its audit tables and events, reads them,
-- changes its business table; as an auditor it recomputes rows
GRANT INSERT, SELECT ON public.ledger, public.access_log, public.measurements TO $APP;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.customers TO $APP;
GRANT SELECT ON public.fuzz_rel, public.wrong_chain, public.ledger_view TO $APP;
GRANT INSERT, SELECT ON audit_chain.events TO $APP;
GRANT EXECUTE ON FUNCTION audit_chain.log_event(text, text, text, text, text, text, text,
    integer, integer, integer, numeric, bytea, bytea, text, text, text, text, text[], boolean,
    text, text, text, inet, text, jsonb, timestamptz, text, text, text, text[], text, text) TO $APP;
GRANT EXECUTE ON FUNCTION audit_chain.protect(regclass, integer),
    audit_chain.unprotect(regclass, text) TO $APP;
GRANT EXECUTE ON FUNCTION audit_chain.verify_chain(regclass, boolean, json, text),
    audit_chain.row_hash(regclass, integer, bigint),
    audit_chain.canonical_row(regclass, integer, bigint) TO $APP;
SQL
ac_log "database ready: $(psql_db "$DB" -qtAc "SELECT count(*) FROM audit_chain.chains") lanes in the registry"

# ---------------------------------------------------------------- helpers
log_size() { stat -c %s "$LOG"; }

# Abnormal backend exits since byte offset $1 of the server log.
crash_lines() {
    tail -c +"$(($1 + 1))" "$LOG" |
        grep -E 'terminated by signal|was terminated by exception|exited with exit code [^0]|exited with unrecognized status|terminating any other active server processes|TRAP:|PANIC:' || true
}

server_answers() {
    local i
    for ((i = 0; i < 60; i++)); do
        if psql_db postgres -qtAc 'SELECT 1' >/dev/null 2>&1; then return 0; fi
        sleep 0.5
    done
    return 1
}

# Split a --dump-all-queries file into statements (they end in ";\n").
# count_calls FILE: "total calling" -- statements, and those that call an
# audit_chain function (audit_chain.name( ).
count_calls() {
    awk 'BEGIN { RS = ";\n"; n = 0; c = 0 }
         NF { n++; if ($0 ~ /audit_chain\.[a-z_0-9]+\(/) c++ }
         END { print n, c }' "$1"
}

# last_queries FILE N: the last N statements of a dump
last_queries() {
    awk -v n="$2" 'BEGIN { RS = ";\n" } NF { q[++k] = $0 }
        END { for (i = (k > n ? k - n + 1 : 1); i <= k; i++) printf "-- query %d of %d\n%s;\n\n", i, k, q[i] }' "$1"
}

FAILED=0
REPORT=()

# run_smith NAME ROLE SEED
run_smith() {
    local name=$1 role=$2 seed=$3 start pid rc=0 t0 crashed=0 stats counts
    local dump=$OUTDIR/queries.$name.sql err=$OUTDIR/sqlsmith.$name.txt
    local -a args=(--target="host=$PGHOST port=$PGPORT dbname=$DB user=$role"
        --seed="$seed" --verbose --dump-all-queries)
    ((CATALOG)) || args+=(--exclude-catalog)
    [[ -n $MAXQ ]] && args+=(--max-queries="$MAXQ")

    psql_db "$DB" -qtAc 'SELECT pg_stat_reset()' >/dev/null
    start=$(log_size)
    ac_log "sqlsmith as $role: seed $seed, ${DURATION}s${MAXQ:+, at most $MAXQ queries}"
    t0=$SECONDS
    # SIGINT makes sqlsmith print its report and exit
    timeout -s INT -k 10 "$DURATION" sqlsmith "${args[@]}" >"$dump" 2>"$err" &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        if [[ -n $(crash_lines "$start") ]]; then
            crashed=1
            sleep 0.3
            kill -INT "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.5
    done
    wait "$pid" || rc=$?
    [[ -n $(crash_lines "$start") ]] && crashed=1

    read -r -a counts <<<"$(count_calls "$dump")"
    local nq=${counts[0]:-0} ncall=${counts[1]:-0}
    if ! server_answers; then
        FAILED=1
        REPORT+=("$name: FAIL: the server does not answer after the run")
        ac_warn "$name: the server does not answer"
        return 0
    fi
    # the function statistics of the run (flushed when sqlsmith's session ended)
    sleep 1
    stats=$(psql_db "$DB" -qtAF ' ' -c "SELECT funcname, calls FROM pg_stat_user_functions
        WHERE schemaname = 'audit_chain' ORDER BY calls DESC, funcname")
    {
        echo "== $name (role $role, seed $seed, $((SECONDS - t0))s, sqlsmith exit $rc)"
        echo "queries sent: $nq; calling an audit_chain function: $ncall"
        echo "calls per audit_chain function (pg_stat_user_functions):"
        if [[ -n $stats ]]; then awk '{ print "    " $0 }' <<<"$stats"; else echo "    none recorded"; fi
        echo "sqlsmith's report (last):"
        # the last "queries:" block sqlsmith printed (every 10 lines and at exit)
        awk '/^queries: /{b = ""} {b = b $0 "\n"} END {printf "%s", b}' "$err" |
            grep -vE '^[.eCSt]*$' | head -n 40 | sed 's/^/    /' || true
    } | tee "$OUTDIR/summary.$name.txt"

    # internal errors (XX000) of statements whose first line calls an
    # audit_chain function (the error may still be PostgreSQL's own)
    local xx
    xx=$(tail -c +"$((start + 1))" "$LOG" |
        awk '/ XX000 ERROR: /{e = $0; getline s; if (s ~ /audit_chain\.[a-z_0-9]+\(/) print e}' |
        sed 's/^.* XX000 ERROR: */    /' | sort | uniq -c | sort -rn | head -n 20 || true)
    if [[ -n $xx ]]; then
        echo "internal errors (XX000) in statements calling an audit_chain function:"
        echo "$xx"
    fi

    if ((crashed)); then
        FAILED=1
        REPORT+=("$name: FAIL: a backend crashed (details above; dump $dump)")
        echo
        echo "!!!!!!!! $name: crash in the server log:"
        tail -c +"$((start + 1))" "$LOG" |
            grep -E -A3 'terminated by signal|was terminated by exception|exited with exit code [^0]|exited with unrecognized status|TRAP:|PANIC:' |
            head -n 60 || true
        echo
        echo "!!!!!!!! the last queries sqlsmith sent before it stopped:"
        last_queries "$dump" 5
    else
        REPORT+=("$name: ok: $nq queries, $ncall calling audit_chain, no crash")
    fi
    if ((nq == 0)); then
        FAILED=1
        REPORT+=("$name: FAIL: sqlsmith sent no query (see $err)")
        tail -n 20 "$err" >&2
    fi
}

# ---------------------------------------------------------------- probes
# The calls: every audit_chain function or procedure whose first argument is
# a regclass, with each value of public.fuzz_rel (by OID, so a dropped one
# too) and the session's temporary table and view; the other arguments by
# type.  One line per call.
probe_calls() {
    psql_db "$DB" -qtA <<'SQL'
WITH fn AS (
    SELECT p.oid, p.prokind, p.proargtypes::oid[] AS args,
           coalesce(p.proargnames, '{}') AS names
      FROM pg_proc p
     WHERE p.pronamespace = 'audit_chain'::regnamespace
       AND p.pronargs >= 1 AND p.proargtypes[0] = 'regclass'::regtype
       AND p.prokind IN ('f', 'p')
), val AS (
    SELECT format('%s::oid::regclass', rel::oid) AS r, lane, seq, ord,
           replace(rel::text, '*/', '') AS what
      FROM (SELECT rel, lane, seq, row_number() OVER () AS ord FROM public.fuzz_rel) f
    UNION ALL
    VALUES ('''pg_temp.tmp_wrong''::regclass', 0, 1::bigint, 1000, 'temp table'),
           ('''pg_temp.tmp_view''::regclass', 0, 1, 1001, 'temp view'),
           ('''pg_temp.tmp_seq''::regclass', 0, 1, 1002, 'temp sequence')
)
SELECT format('%s %s.%I(%s); -- %s',
              CASE fn.prokind WHEN 'p' THEN 'CALL' ELSE 'SELECT * FROM' END,
              'audit_chain', p.proname,
              (SELECT string_agg(CASE WHEN i = 1 THEN val.r
                                      WHEN fn.names[i] = 'lanes' THEN '2'
                                      ELSE CASE t
                                          WHEN 'regclass'::regtype THEN val.r
                                          WHEN 'int2'::regtype THEN val.lane::text
                                          WHEN 'int4'::regtype THEN val.lane::text
                                          WHEN 'int8'::regtype THEN val.seq::text
                                          WHEN 'bool'::regtype THEN 'false'
                                          WHEN 'text'::regtype THEN '''protect'''
                                          WHEN 'jsonb'::regtype THEN '''{}''::jsonb'
                                          ELSE format('NULL::%s', t::regtype)
                                      END END, ', ' ORDER BY i)
                 FROM unnest(fn.args) WITH ORDINALITY AS a(t, i)),
              val.what)
  FROM fn JOIN pg_proc p ON p.oid = fn.oid, val
 ORDER BY p.proname, fn.oid, val.ord;
SQL
}

PROBE_PRE="SET client_min_messages = error;
SET statement_timeout = '10s';
CREATE TEMP TABLE tmp_wrong (chain_lane smallint, chain_seq bigint, chain_hash bigint);
CREATE UNIQUE INDEX ON tmp_wrong (chain_lane, chain_seq);
INSERT INTO tmp_wrong VALUES (0, 1, 1), (0, 2, 2);
CREATE TEMP VIEW tmp_view AS SELECT * FROM tmp_wrong;
CREATE TEMP SEQUENCE tmp_seq;"

# run_probes NAME ROLE: run every call, each in a transaction that rolls
# back, in as few sessions as possible: psql (not interactive) exits when the
# server crashes; the "@@probe N" it echoed last names the call, and the
# next session starts after it.
run_probes() {
    local name=$1 role=$2
    local calls=$OUTDIR/probes.$name.sql out=$OUTDIR/probes.$name.out
    local -a lines=()
    local i=0 n rc j start sess ncrash=0
    mapfile -t lines < <(probe_calls)
    n=${#lines[@]}
    ((n > 0)) || { REPORT+=("probes $name: no audit_chain function takes a regclass first"); return 0; }
    printf '%s\n' "${lines[@]}" >"$calls"
    : >"$out"
    start=$(log_size)
    ac_log "probes as $role: $n calls"
    while ((i < n)); do
        rc=0
        sess=$(log_size)
        {
            printf '%s\n' "$PROBE_PRE"
            for ((j = i; j < n; j++)); do
                printf '\\echo @@probe %d\nBEGIN;\n%s\n' "$j" "${lines[j]}"
                printf 'SELECT count(*) AS verify_rows FROM audit_chain.verify_chain();\n'
                printf 'SELECT audit_chain.checkpoint() IS NOT NULL AS checkpointed;\nROLLBACK;\n'
            done
        } | psql -X -q -v ON_ERROR_STOP=0 -U "$role" -d "$DB" >>"$out" 2>&1 || rc=$?
        ((rc == 0)) && break
        j=$(grep -o '^@@probe [0-9]*' "$out" | tail -n 1 | cut -d' ' -f2)
        [[ -n $j ]] || j=$i
        server_answers || { FAILED=1; REPORT+=("probes $name: FAIL: the server does not answer"); return 0; }
        if [[ -n $(crash_lines "$sess") ]]; then
            ncrash=$((ncrash + 1))
            echo "!!!!!!!! probe as $role: the server crashed at (or in the verify_chain/checkpoint after): ${lines[j]}"
            echo "@@crash ${lines[j]}" >>"$out"
        else
            # psql also exits 2 when the session ends with FATAL
            ac_warn "probe as $role lost its connection without a crash (psql exit $rc) at: ${lines[j]}"
            echo "@@lost ${lines[j]}" >>"$out"
        fi
        i=$((j + 1))
    done
    local crashes
    crashes=$(crash_lines "$start")
    if ((ncrash)) || [[ -n $crashes ]]; then
        FAILED=1
        REPORT+=("probes $name: FAIL: $ncrash of $n calls crashed the server (above; $out)")
        echo "!!!!!!!! server log of the probes as $role:"
        tail -c +"$((start + 1))" "$LOG" |
            grep -E -A2 'terminated by signal|exited with exit code [^0]|TRAP:|PANIC:' | head -n 60 || true
    else
        REPORT+=("probes $name: ok: $n calls, no crash")
    fi
}

if ((PROBES)); then
    if [[ $ROLES == both || $ROLES == super ]]; then run_probes super postgres; fi
    if [[ $ROLES == both || $ROLES == app ]]; then run_probes app "$APP"; fi
fi

if ((DURATION > 0)); then
    if [[ $ROLES == both || $ROLES == super ]]; then run_smith super postgres "$SEED"; fi
    if [[ $ROLES == both || $ROLES == app ]]; then run_smith app "$APP" "$((SEED + 1))"; fi
fi

cp "$LOG" "$OUTDIR/postgres.log" 2>/dev/null || true
echo
echo "======================== sqlsmith summary ========================"
for line in "${REPORT[@]}"; do echo "  $line"; done
echo "  output: $OUTDIR"
if ((FAILED)); then
    echo "sqlsmith: FAILED"
    exit 1
fi
echo "sqlsmith: passed"
