#!/usr/bin/env bash
# scripts/test.sh -- the whole audit_chain test suite, from a fresh Debian 12
# machine: installs what is missing, builds with -Werror, installs, starts a
# throwaway cluster and runs, failing fast:
#   1. make installcheck   (pg_regress REGRESS + isolation ISOLATION specs)
#   2. pgTAP               (test/*.sql in database tap, test/tap_commit/*.sql
#                           in database tap_commit, the attack suite
#                           test/security/*.sql in database security)
#   3. scenarios           (every executable test/scenarios/*.sh, sorted)
#      verifier            (test/verifier/run.sh: audit_chain_verify)
#      fuzz                (test/fuzz/run.sh: libFuzzer on the verifier's
#                           parsers, 20 s each, 5 s with --quick)
#   4. stress              (test/stress/stress.sh; skipped with --quick)
# Works as root or as a user with sudo.  See test/README.md.
#
# Usage: scripts/test.sh [--quick]
# Env:   AC_SCENARIO_TIMEOUT (s, default 300)  AC_STRESS_TIMEOUT (s, default 300)
#        AC_VERBOSE=1 (show build output)  AC_KEEP=1 (leave cluster running)
# shellcheck disable=SC2119  # lib functions called without arguments
set -euo pipefail

QUICK=0
for arg in "$@"; do
    case $arg in
        --quick) QUICK=1 ;;
        -h | --help)
            sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
    esac
done

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$AC_ROOT"

SCENARIO_TIMEOUT=${AC_SCENARIO_TIMEOUT:-300}
STRESS_TIMEOUT=${AC_STRESS_TIMEOUT:-300}
T0=$SECONDS
N_PASS=0 N_FAIL=0 N_SKIP=0
SUMMARY=()

note() { # note STATUS NAME DETAIL
    SUMMARY+=("$(printf '%-5s %-34s %s' "$1" "$2" "$3")")
}

summary() {
    echo
    echo "======================== audit_chain test summary ========================"
    local line
    for line in "${SUMMARY[@]}"; do echo "  $line"; done
    echo "  total time: $((SECONDS - T0))s"
    echo "summary: $N_PASS passed, $N_FAIL failed, $N_SKIP skipped"
}

fail() { # fail NAME MESSAGE: record, summarise, exit non-zero
    N_FAIL=$((N_FAIL + 1))
    note FAIL "$1" "$2"
    echo "FAILED: $1: $2" >&2
    summary
    exit 1
}

heading() { printf '\n######## %s\n' "$*"; }

# ---------------------------------------------------------------- setup
heading "setup: packages, build (-Werror), install, cluster"
ensure_packages
build_install COPT=-Werror
# Hook: AC_VALGRIND=1 would start this cluster with postgres under valgrind
# (see the note in lib.sh); not implemented.
start_cluster main
OUT=$(ac_tmpdir)

# ---------------------------------------------------------------- 1. installcheck
heading "1. make installcheck (pg_regress + isolation)"
t=$SECONDS
rm -rf results output_iso regression.diffs regression.out
count_ok()  { grep -cE '\.\.\. ok( |$)' "$OUT/installcheck.out" || true; }
count_bad() { grep -cE '\.\.\. FAILED' "$OUT/installcheck.out" || true; }
if ! make --no-print-directory PG_CONFIG="$PG_CONFIG" installcheck 2>&1 |
    tee "$OUT/installcheck.out"; then
    for d in regression.diffs output_iso/regression.diffs; do
        if [[ -s $d ]]; then
            echo
            echo "---------------- $d (first 400 lines) ----------------"
            head -n 400 "$d"
        fi
    done
    fail installcheck "$(count_ok) ok, $(count_bad) FAILED; diffs above, in ./regression.diffs and ./output_iso/regression.diffs"
fi
ok=$(count_ok)
bad=$(count_bad)
((bad == 0)) || fail installcheck "$bad test(s) FAILED"
((ok > 0)) || fail installcheck "ran no test (does the Makefile define REGRESS?)"
N_PASS=$((N_PASS + ok))
note PASS "installcheck" "$ok tests, $((SECONDS - t))s"

# ---------------------------------------------------------------- 2. pgTAP
heading "2. pgTAP (pg_prove)"
shopt -s nullglob
tap_files=(test/*.sql)
tapc_files=(test/tap_commit/*.sql)
sec_files=(test/security/*.sql)
shopt -u nullglob

run_prove() { # run_prove NAME DB FILE...
    local name=$1 db=$2 t=$SECONDS n
    shift 2
    PGOPTIONS='-c client_min_messages=warning' \
        psql_db postgres -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    PGOPTIONS='-c client_min_messages=warning' \
        psql_db "$db" -qc 'CREATE EXTENSION IF NOT EXISTS pgtap'
    if ! pg_prove --psql-bin "$AC_PGBIN/psql" -d "$db" --failures --nocolor "$@" 2>&1 |
        tee "$OUT/$name.out"; then
        fail "$name" "pg_prove reported failures (above)"
    fi
    n=$(sed -n 's/^Files=[0-9]*, Tests=\([0-9]*\),.*/\1/p' "$OUT/$name.out" | tail -n 1)
    N_PASS=$((N_PASS + ${n:-0}))
    note PASS "$name" "$# files, ${n:-?} tests, $((SECONDS - t))s"
}

if ((${#tap_files[@]} == 0 && ${#tapc_files[@]} == 0)); then
    echo "no pgTAP files"
    N_SKIP=$((N_SKIP + 1))
    note SKIP "pgtap" "no pgTAP files"
fi
if ((${#tap_files[@]})); then run_prove pgtap tap "${tap_files[@]}"; fi
# These commit (no wrapping transaction): own database, run after the others.
if ((${#tapc_files[@]})); then run_prove pgtap_commit tap_commit "${tapc_files[@]}"; fi
# The attack suite: each file runs its attacks as unprivileged roles it makes
# itself (SET SESSION AUTHORIZATION), in one transaction that rolls back.
if ((${#sec_files[@]})); then run_prove security security "${sec_files[@]}"; fi

# ---------------------------------------------------------------- 3. scenarios
heading "3. scenarios (test/scenarios/*.sh)"
# Scenarios get PGHOST/PGPORT/PGUSER of the running cluster, AC_LIB, AC_ROOT,
# PG_CONFIG and PATH in their environment.
# Each script runs under timeout(1) in the background: timeout puts it in a
# process group of its own and, when the time is up, sends TERM to the whole
# group (the script's trap then stops any cluster it started).  `wait` lets
# our own INT/TERM trap run at once; the deferred hook then forwards TERM to
# the script and waits for its cleanup.
CHILD=
stop_child() {
    if [[ -n $CHILD ]]; then
        kill -TERM "$CHILD" 2>/dev/null
        wait "$CHILD" 2>/dev/null
    fi
}
ac_defer stop_child
run_script() { # run_script NAME FILE TIMEOUT
    local name=$1 file=$2 limit=$3 t=$SECONDS rc=0
    heading "$name"
    timeout -k 30 "$limit" "$file" </dev/null &
    CHILD=$!
    wait "$CHILD" || rc=$?
    CHILD=
    if ((rc == 124)); then fail "$name" "timed out after ${limit}s"; fi
    if ((rc != 0)); then fail "$name" "exited with status $rc"; fi
    N_PASS=$((N_PASS + 1))
    note PASS "$name" "$((SECONDS - t))s"
}

shopt -s nullglob
scenarios=(test/scenarios/*.sh)
shopt -u nullglob
n_run=0
for f in "${scenarios[@]}"; do
    if [[ ! -x $f ]]; then
        ac_warn "$f is not executable: skipped (chmod +x it)"
        N_SKIP=$((N_SKIP + 1))
        note SKIP "${f#test/}" "not executable"
        continue
    fi
    run_script "${f#test/}" "$f" "$SCENARIO_TIMEOUT"
    n_run=$((n_run + 1))
done
((n_run > 0)) || echo "no scenario scripts"

# ---------------------------------------------------------------- verifier
# audit_chain_verify, the offline verifier (verifier/): run like a scenario,
# with --quick too.
if [[ -x test/verifier/run.sh ]]; then
    run_script verifier/run.sh test/verifier/run.sh "$SCENARIO_TIMEOUT"
fi

# ---------------------------------------------------------------- fuzz
# libFuzzer on audit_chain_verify's file parsers (test/fuzz/run.sh): any
# crash, leak or sanitizer report fails; crashing inputs are kept in
# test/output/fuzz.
if [[ -x test/fuzz/run.sh ]]; then
    if ((QUICK)); then AC_FUZZ_SECONDS=5; else AC_FUZZ_SECONDS=20; fi
    export AC_FUZZ_SECONDS AC_FUZZ_OUT=$AC_ROOT/test/output/fuzz
    run_script fuzz/run.sh test/fuzz/run.sh "$SCENARIO_TIMEOUT"
fi

# ---------------------------------------------------------------- 4. stress
heading "4. stress (test/stress/stress.sh)"
stress=test/stress/stress.sh
if ((QUICK)); then
    echo "skipped (--quick)"
    N_SKIP=$((N_SKIP + 1))
    note SKIP "stress" "--quick"
elif [[ ! -e $stress ]]; then
    echo "no $stress"
    note SKIP "stress" "no $stress"
    N_SKIP=$((N_SKIP + 1))
elif [[ ! -x $stress ]]; then
    ac_warn "$stress is not executable: skipped (chmod +x it)"
    N_SKIP=$((N_SKIP + 1))
    note SKIP "stress" "not executable"
else
    run_script stress/stress.sh "$stress" "$STRESS_TIMEOUT"
fi

summary
