#!/usr/bin/env bash
# scripts/asan.sh -- run the test suites against audit_chain built with
# AddressSanitizer and UndefinedBehaviorSanitizer (gcc's
# -fsanitize=address,undefined).  PostgreSQL itself stays as installed;
# audit_chain.so links the ASan and UBSan runtimes, so every backend that
# loads it runs it under the sanitizers.  PostgreSQL's own code is not
# instrumented: ASan sees wild accesses (SEGV) and overflows of global
# objects in audit_chain's code, not overflows inside palloc'd memory
# (PostgreSQL's allocator carves chunks out of big malloc'd blocks, and the
# process's malloc stays libc's); UBSan checks audit_chain's code.
#
#   1. build with COPT='-fsanitize=address,undefined --param=asan-stack=0
#      -fno-omit-frame-pointer -g -O1' (PGXS adds COPT to the compile and the
#      link line; why no stack redzones: see SAN below), install
#   2. start a throwaway cluster; the runtimes come in with audit_chain.so
#      (its DT_NEEDED), with options compiled into it (see below: the
#      environment cannot carry them): ASan detect_leaks=0 (postgres does not
#      free what it keeps until exit), abort_on_error=1; UBSan
#      print_stacktrace=1, halt_on_error=0; both log_path=DIR/san/report
#      (and the server log, where a runtime that started before it read its
#      options writes); a canary for each runtime first proves the reports
#      arrive
#   3. make installcheck (regression + isolation), pg_prove test/*.sql,
#      test/tap_commit/*.sql and the attack suite test/security/*.sql, then
#      scripts/sqlsmith.sh against the same cluster (its probe pass calls
#      every audit_chain function that takes a table with good and bad
#      tables, then SQLsmith for --sqlsmith seconds per role)
#   4. read the sanitizer logs: a report with a frame in audit_chain's code
#      (audit_chain.so, src/*.c) fails the script; reports only in
#      PostgreSQL's own code are listed as such.  A failing suite fails it
#      too.
#
# At exit the ordinary build is installed again (--keep-asan: leave the
# sanitizer build installed, e.g. to reproduce a report by hand; its options,
# log_path included, are compiled in).  Needs nothing beyond what scripts/lib.sh installs (gcc brings
# libasan and libubsan on Debian 12).
#
# Usage: scripts/asan.sh [--sqlsmith S] [--logdir DIR] [--keep-asan]
#   --sqlsmith S   seconds of SQLsmith per role under the sanitizers
#                  (default 60; 0: only the probe pass; -1: no sqlsmith.sh)
#   --logdir DIR   where the sanitizer logs, the server log and the suites'
#                  output go (default: a new /tmp/audit_chain-asan.XXXXXX,
#                  kept)
#   --keep-asan    do not reinstall the ordinary build at exit
# Env: AC_PGBIN (the PostgreSQL to use), AC_KEEP=1 (leave the cluster running)
# shellcheck disable=SC2119  # lib functions called without arguments
set -euo pipefail

SMITH=60
LOGDIR=
KEEP_ASAN=0
while (($#)); do
    case $1 in
        --sqlsmith) SMITH=${2:?}; shift 2 ;;
        --logdir) LOGDIR=${2:?}; shift 2 ;;
        --keep-asan) KEEP_ASAN=1; shift ;;
        -h | --help) sed -n '2,44p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
done
[[ $SMITH =~ ^-?[0-9]+$ ]] || { echo "--sqlsmith takes an integer" >&2; exit 2; }

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$AC_ROOT"

ensure_packages
ASAN_RT=$(gcc -print-file-name=libasan.so)
UBSAN_RT=$(gcc -print-file-name=libubsan.so)
[[ $ASAN_RT == /* && -e $ASAN_RT ]] || ac_die "gcc has no libasan.so (Debian: libasan8, pulled in by gcc)"
[[ $UBSAN_RT == /* && -e $UBSAN_RT ]] || ac_die "gcc has no libubsan.so (Debian: libubsan1, pulled in by gcc)"
ASAN_RT=$(readlink -f "$ASAN_RT")
UBSAN_RT=$(readlink -f "$UBSAN_RT")

if [[ -z $LOGDIR ]]; then
    LOGDIR=$(mktemp -d /tmp/audit_chain-asan.XXXXXX)
fi
mkdir -p "$LOGDIR/san"
LOGDIR=$(cd "$LOGDIR" && pwd)
rm -f "$LOGDIR"/san/*
chmod 755 "$LOGDIR"
if ac_is_root; then chown postgres "$LOGDIR/san"; fi
chmod 777 "$LOGDIR/san"

# --param=asan-stack=0: no redzones around audit_chain's stack variables.
# PostgreSQL leaves a failing statement with siglongjmp; with the runtime
# loaded late its longjmp interceptors are not in place, so the redzones of
# the frames an error skips stay poisoned and the next statement's stack
# reads (of PostgreSQL's own frames too) are reported as overflows: every
# test that raises an error made a false report.  Globals stay checked.
SAN='-fsanitize=address,undefined --param=asan-stack=0 -fno-omit-frame-pointer -g -O1'
# The runtimes' options.  Not in the environment: libasan comes in with
# audit_chain.so when a backend loads it, after PostgreSQL overwrote its
# environment block with the process title, and the runtimes read their
# options from /proc/self/environ.  (A postmaster started with
# LD_PRELOAD=libasan.so hangs on Debian 12 instead, in bindtextdomain: any
# program linked with libgcrypt -- PostgreSQL is, through libsystemd and
# libldap -- does under that preload.)  So the
# options are compiled into the sanitizer build: __asan_default_options and
# __ubsan_default_options, in an object linked into audit_chain.so only here.
# verify_asan_link_order=0: the runtime is not the first library loaded.
ASAN_OPTS="detect_leaks=0:abort_on_error=1:disable_coredump=1:log_path=$LOGDIR/san/report:detect_odr_violation=0:allow_addr2line=1:print_summary=1:verify_asan_link_order=0"
UBSAN_OPTS="print_stacktrace=1:halt_on_error=0:log_path=$LOGDIR/san/report:allow_addr2line=1"
OPTS_C=$LOGDIR/sanitizer_options.c
OPTS_O=$LOGDIR/sanitizer_options.o
{
    echo '/* generated by scripts/asan.sh: the sanitizer runtimes'"'"' options */'
    echo 'const char *__asan_default_options(void);'
    echo 'const char *__ubsan_default_options(void);'
    echo "const char *__asan_default_options(void) { return \"$ASAN_OPTS\"; }"
    echo "const char *__ubsan_default_options(void) { return \"$UBSAN_OPTS\"; }"
} >"$OPTS_C"
gcc -fPIC -O1 -c -o "$OPTS_O" "$OPTS_C" || ac_die "could not compile $OPTS_C"
# The canaries: two functions in the same object, built with the
# sanitizers, that make one report each (a signed overflow for UBSan, a
# global-buffer-overflow for ASan), so that the script checks the whole
# chain -- runtime loaded, options read, reports written where it looks --
# before it trusts an empty log.
CANARY_C=$LOGDIR/sanitizer_canary.c
CANARY_O=$LOGDIR/sanitizer_canary.o
{
    echo '/* generated by scripts/asan.sh: canaries for the sanitizer build */'
    echo '#include "postgres.h"'
    echo '#include "fmgr.h"'
    echo 'PG_FUNCTION_INFO_V1(ac_san_canary_ubsan);'
    echo 'PG_FUNCTION_INFO_V1(ac_san_canary_asan);'
    echo 'static volatile char ac_san_canary_buf[8];'
    echo 'Datum ac_san_canary_ubsan(PG_FUNCTION_ARGS) { int32 a = PG_GETARG_INT32(0); PG_RETURN_INT32(a + PG_INT32_MAX); }'
    echo 'Datum ac_san_canary_asan(PG_FUNCTION_ARGS) { PG_RETURN_INT32(ac_san_canary_buf[PG_GETARG_INT32(0)]); }'
} >"$CANARY_C"
gcc -fPIC -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -g \
    -I"$("$PG_CONFIG" --includedir-server)" -c -o "$CANARY_O" "$CANARY_C" ||
    ac_die "could not compile $CANARY_C"

restore_build() {
    ac_log "reinstalling the ordinary build"
    build_install || ac_warn "could not reinstall the ordinary build"
}
((KEEP_ASAN)) || ac_defer restore_build
# PGXS puts COPT on the compile and the link lines, LDFLAGS_SL on the link
build_install "COPT=$SAN" "LDFLAGS_SL=$OPTS_O $CANARY_O"
so=$("$PG_CONFIG" --pkglibdir)/audit_chain.so
if ! ldd "$so" | grep libasan >/dev/null; then
    ac_die "$so is not linked with libasan: the sanitizer flags did not reach the link"
fi
nm -D --defined-only "$so" | grep ' __asan_default_options$' >/dev/null ||
    ac_die "$so does not define __asan_default_options"

start_cluster asan
wait_server() {
    local i
    for ((i = 0; i < 120; i++)); do
        psql_db postgres -qtAc 'SELECT 1' >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    return 1
}
SERVER_LOG=${AC_LOGFILE[asan]}
# A backend that loaded audit_chain.so has the runtimes mapped
mapped=$(psql_db postgres -qtA -c "LOAD 'audit_chain'" \
    -c "SELECT pg_read_file('/proc/self/maps') ~ 'libasan' AND pg_read_file('/proc/self/maps') ~ 'libubsan'")
[[ $mapped == t ]] || ac_die "a backend that loaded audit_chain.so has no libasan/libubsan mapped"
psql_db postgres -q <<'SQL' >/dev/null 2>&1 || true
CREATE FUNCTION pg_temp.canary_ubsan(int) RETURNS int AS '$libdir/audit_chain', 'ac_san_canary_ubsan' LANGUAGE C STRICT;
CREATE FUNCTION pg_temp.canary_asan(int) RETURNS int AS '$libdir/audit_chain', 'ac_san_canary_asan' LANGUAGE C STRICT;
SELECT pg_temp.canary_ubsan(1);
SELECT pg_temp.canary_asan(8);
SQL
sleep 1
wait_server || ac_die "the server does not answer after the canaries"
# (the runtimes write to log_path, or, when a runtime started before it
# read its options, to stderr: the server log; both are read)
grep -qs 'runtime error: signed integer overflow' "$LOGDIR"/san/* "$SERVER_LOG" ||
    ac_die "UBSan's canary left no report in $LOGDIR/san or the server log"
grep -qs 'ERROR: AddressSanitizer: global-buffer-overflow' "$LOGDIR"/san/* "$SERVER_LOG" ||
    ac_die "ASan's canary left no report in $LOGDIR/san or the server log"
mkdir -p "$LOGDIR/canary"
mv "$LOGDIR"/san/* "$LOGDIR/canary/" 2>/dev/null || true
cp "$SERVER_LOG" "$LOGDIR/canary/postgres.log"
LOG_START=$(stat -c %s "$SERVER_LOG")
ac_log "canaries reported by UBSan and ASan (moved to $LOGDIR/canary)"
ac_log "backends load libasan and libubsan with audit_chain.so; sanitizer logs in $LOGDIR/san"

RESULTS=()
SUITE_FAIL=0
result() { RESULTS+=("$(printf '%-5s %-28s %s' "$1" "$2" "$3")"); [[ $1 == FAIL ]] && SUITE_FAIL=1; return 0; }


# ---------------------------------------------------------------- installcheck
ac_log "make installcheck (regression + isolation) under the sanitizers"
rm -rf results output_iso regression.diffs regression.out
if make --no-print-directory PG_CONFIG="$PG_CONFIG" installcheck >"$LOGDIR/installcheck.out" 2>&1; then
    result PASS installcheck "$(grep -cE '\.\.\. ok( |$)' "$LOGDIR/installcheck.out" || true) tests"
else
    result FAIL installcheck "$(grep -cE '\.\.\. FAILED' "$LOGDIR/installcheck.out" || true) failed; $LOGDIR/installcheck.out"
    for d in regression.diffs output_iso/regression.diffs; do
        [[ -s $d ]] && cp "$d" "$LOGDIR/${d//\//_}"
    done
fi
tail -n 5 "$LOGDIR/installcheck.out"
wait_server || ac_die "the server does not answer after installcheck"

# ---------------------------------------------------------------- pgTAP
prove() { # prove NAME DB FILE...
    local name=$1 db=$2
    shift 2
    PGOPTIONS='-c client_min_messages=warning' \
        psql_db postgres -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
    PGOPTIONS='-c client_min_messages=warning' psql_db "$db" -qc 'CREATE EXTENSION IF NOT EXISTS pgtap'
    ac_log "pg_prove $name ($# files) under the sanitizers"
    if pg_prove --psql-bin "$AC_PGBIN/psql" -d "$db" --failures --nocolor "$@" >"$LOGDIR/$name.out" 2>&1; then
        result PASS "$name" "$(sed -n 's/^Files=\([0-9]*\), Tests=\([0-9]*\),.*/\1 files, \2 tests/p' "$LOGDIR/$name.out" | tail -n 1)"
    else
        result FAIL "$name" "$(grep -E '^(Files=|Result:)' "$LOGDIR/$name.out" | tr '\n' ' '); $LOGDIR/$name.out"
    fi
    tail -n 3 "$LOGDIR/$name.out"
    wait_server || ac_die "the server does not answer after $name"
}
shopt -s nullglob
tap=(test/*.sql)
tapc=(test/tap_commit/*.sql)
sec=(test/security/*.sql)
shopt -u nullglob
if ((${#tap[@]})); then prove pgtap tap "${tap[@]}"; else result SKIP pgtap "no test/*.sql"; fi
if ((${#tapc[@]})); then prove pgtap_commit tap_commit "${tapc[@]}"; else result SKIP pgtap_commit "no test/tap_commit/*.sql"; fi
if ((${#sec[@]})); then prove security security "${sec[@]}"; else result SKIP security "no test/security/*.sql"; fi

# ---------------------------------------------------------------- verifier + signing
# audit_chain_verify was built with the same COPT (make passes it down to
# verifier/), so test/verifier/run.sh runs the program under ASan and UBSan,
# against this cluster.  Leak detection is off: the program keeps its
# result, lanes and keys until it exits and does not free them one by one
# (LeakSanitizer reports them as lost when main returns); that its memory
# does not grow with the rows is shown by test/bench/verifier.sh (peak RSS
# over 10M rows).  The rest: the signing paths of checkpoint() run in
# the server (the script sets audit_chain.signing_key_file), the libpq, thread
# and file paths in the client.  Its reports land in the same log_path.
if [[ -x test/verifier/run.sh ]]; then
    ac_log "test/verifier/run.sh under the sanitizers (server and audit_chain_verify)"
    if ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:log_path=$LOGDIR/san/report:allow_addr2line=1" \
        UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=0:log_path=$LOGDIR/san/report" \
        test/verifier/run.sh >"$LOGDIR/verifier.out" 2>&1; then
        result PASS verifier "$(grep -c '^ok ' "$LOGDIR/verifier.out" || true) checks"
    else
        result FAIL verifier "$LOGDIR/verifier.out"
    fi
    tail -n 3 "$LOGDIR/verifier.out"
    wait_server || ac_die "the server does not answer after test/verifier/run.sh"
fi

# ---------------------------------------------------------------- probes + sqlsmith
if ((SMITH >= 0)); then
    ac_log "scripts/sqlsmith.sh against the sanitizer cluster (probes, then ${SMITH}s per role)"
    if "$AC_ROOT/scripts/sqlsmith.sh" --no-build --server-log "$SERVER_LOG" \
        --duration "$SMITH" --out "$LOGDIR/sqlsmith" >"$LOGDIR/sqlsmith.out" 2>&1; then
        result PASS sqlsmith "$(grep -E '^  (probes|super|app):' "$LOGDIR/sqlsmith.out" | tr -s ' ' | tr '\n' ';')"
    else
        result FAIL sqlsmith "$LOGDIR/sqlsmith.out"
    fi
    grep -A30 '^=* sqlsmith summary' "$LOGDIR/sqlsmith.out" || tail -n 20 "$LOGDIR/sqlsmith.out"
    wait_server || ac_die "the server does not answer after sqlsmith.sh"
fi

# ---------------------------------------------------------------- sanitizer logs
cp "$SERVER_LOG" "$LOGDIR/postgres.log"
sleep 1
SRC_RE="$AC_ROOT/(src|verifier)/|audit_chain(_verify|\\.so)|(^|[ /])(src|verifier)/[a-z_]+\\.[ch]:[0-9]+"

# Symbolize frames of audit_chain.so the runtime left as (module+0xoffset).
symbolize() {
    local line mod off sym
    while IFS= read -r line; do
        if [[ $line =~ \((/[^+]*audit_chain\.so)\+(0x[0-9a-f]+)\) ]]; then
            mod=${BASH_REMATCH[1]}
            off=${BASH_REMATCH[2]}
            sym=$(addr2line -f -i -C -p -e "$mod" "$off" 2>/dev/null | head -n 1 || true)
            printf '%s  [%s]\n' "$line" "${sym:-?}"
        else
            printf '%s\n' "$line"
        fi
    done
}

# One report per ASan log file (abort_on_error); UBSan may write several
# "runtime error" reports to one file.
N_OURS=0
N_PG=0
OURS=()
PGONLY=()
declare -A SITES=() SITE_KIND=()
# reports the runtimes wrote to stderr (the server log) since the canaries;
# san/ exists only if a runtime wrote a report since the canaries moved
mkdir -p "$LOGDIR/san"
tail -c +"$((LOG_START + 1))" "$SERVER_LOG" |
    grep -E 'runtime error:|==[0-9]+==ERROR:|^ +#[0-9]+ |^SUMMARY: ' >"$LOGDIR/san/server-log.txt" || true
[[ -s $LOGDIR/san/server-log.txt ]] || rm -f "$LOGDIR/san/server-log.txt"
shopt -s nullglob
san_files=("$LOGDIR"/san/report.* "$LOGDIR"/san/server-log.tx[t])   # [t]: a glob, so nullglob drops it when absent
shopt -u nullglob
for f in "${san_files[@]}"; do
    symbolize <"$f" >"$f.sym"
    # split UBSan files into reports at each "runtime error" line
    awk -v out="$f.part" '/runtime error:|^==[0-9]+==ERROR:/ { n++ } { print > (out "." (n ? n : 0)) }' "$f.sym"
    for p in "$f.part".*; do
        grep -qE 'runtime error:|ERROR: (Address|Undefined|Leak)Sanitizer|^==[0-9]+==ERROR' "$p" || continue
        head_line=$(grep -m1 -E 'runtime error:|ERROR:' "$p" | sed 's/^==[0-9]*==//')
        ours=$(grep -m1 -E "$SRC_RE" "$p" || true)
        if [[ -n $ours ]]; then
            N_OURS=$((N_OURS + 1))
            OURS+=("$p")
            echo
            echo "!!!!!!!! sanitizer report from audit_chain code ($p):"
            echo "    $head_line"
            site=$(sed -E 's/^ *#[0-9]+ 0x[0-9a-f]+ in //' <<<"$ours")
            SITES[$site]=$((${SITES[$site]:-0} + 1))
            SITE_KIND[$site]=$(sed -E 's/ \(pc .*//; s/ on unknown address.*//; s/^ERROR: //' <<<"$head_line")
            echo "    first audit_chain frame: $site"
            grep -E '^ *#[0-9]+ ' "$p" | head -n 12 | sed 's/^/    /' || true
        else
            N_PG=$((N_PG + 1))
            PGONLY+=("$p: $head_line")
        fi
    done
done

crashes=$(tail -c +"$((LOG_START + 1))" "$SERVER_LOG" |
    grep -E 'terminated by signal|exited with exit code [^01]|TRAP:|PANIC:' || true)

echo
echo "======================== asan summary ========================"
for r in "${RESULTS[@]}"; do echo "  $r"; done
echo "  sanitizer reports from audit_chain code: $N_OURS"
for site in "${!SITES[@]}"; do
    printf '    %3d x %s: %s\n' "${SITES[$site]}" "${SITE_KIND[$site]}" "$site"
done | sort -t: -k2
echo "  sanitizer reports only in PostgreSQL's own code: $N_PG"
for r in "${PGONLY[@]}"; do echo "    $r"; done
if [[ -n $crashes ]]; then
    echo "  abnormal backend exits in the server log:"
    awk 'NR <= 20 { print "    " $0 }' <<<"$crashes"
fi
echo "  logs: $LOGDIR (san/: sanitizer reports, postgres.log, *.out)"
if ((N_OURS > 0 || SUITE_FAIL)); then
    echo "asan: FAILED"
    exit 1
fi
echo "asan: passed"
