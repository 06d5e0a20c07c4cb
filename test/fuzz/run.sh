#!/usr/bin/env bash
# test/fuzz/run.sh -- build a libFuzzer target for each of audit_chain_verify's
# file parsers and run each one briefly over its seed corpus.
#
#   checkpoint  verifier/checkpoint.c  export_checkpoint() JSON
#   payload     verifier/payload.c     checkpoint payload v2
#   segment     verifier/segment.c     one line of an export_segment() file
#   copyrow     verifier/copyrow.c     one COPY text row
#
# Built with clang -fsanitize=fuzzer,address,undefined (UBSan aborts on its
# first report); any crash, leak, sanitizer report, timeout, out-of-memory or
# broken error message (common.h) fails the run with exit status 1.  Then
# messages.sh hands the malformed seeds to the built program (exit 2 and one
# printable line each).
#
# Usage: test/fuzz/run.sh [-t SECONDS] [-o OUTDIR] [-k] [TARGET...]
#   -t SECONDS  run time per target (default 20; env AC_FUZZ_SECONDS)
#   -o OUTDIR   build directory, findings and logs (default env AC_FUZZ_OUT,
#               else a temp dir removed at exit)
#   -k          keep the inputs a run adds to the seed corpora in
#               OUTDIR/corpus/TARGET (never written into the repository)
# The seed corpora (test/fuzz/corpus/TARGET/) are read only: new inputs go to
# a scratch corpus in OUTDIR; a crashing input is written to
# OUTDIR/crash-TARGET-* and named in the message.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SECS=${AC_FUZZ_SECONDS:-20}
OUT=${AC_FUZZ_OUT:-}
KEEP=0
while getopts 't:o:kh' opt; do
    case $opt in
        t) SECS=$OPTARG ;;
        o) OUT=$OPTARG ;;
        k) KEEP=1 ;;
        h) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=(checkpoint payload segment copyrow)

CC=${AC_FUZZ_CC:-}
if [[ -z $CC ]]; then
    for c in clang-14 clang; do
        if command -v "$c" >/dev/null; then CC=$c; break; fi
    done
fi
[[ -n $CC ]] || { echo "fuzz: no clang (apt-get install clang)" >&2; exit 1; }

if [[ -z $OUT ]]; then
    OUT=$(mktemp -d /tmp/ac_fuzz.XXXXXX)
    trap 'rm -rf "$OUT"' EXIT
fi
mkdir -p "$OUT"

# Each parser and what it needs (objects from verifier/)
declare -A SRCS=(
    [checkpoint]="checkpoint.c payload.c util.c"
    [payload]="payload.c util.c"
    [segment]="segment.c util.c"
    [copyrow]="copyrow.c util.c"
)
JANSSON_CFLAGS=$(pkg-config --cflags jansson 2>/dev/null || true)
JANSSON_LIBS=$(pkg-config --libs jansson 2>/dev/null || echo -ljansson)
CFLAGS=(-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
        -fno-sanitize-recover=all -Wall -Wextra -Wno-unused-parameter
        -Wno-sign-compare -Wno-missing-field-initializers
        -I"$ROOT/verifier" -I"$HERE")

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
for t in "${TARGETS[@]}"; do
    [[ -n ${SRCS[$t]:-} ]] || { echo "fuzz: unknown target $t" >&2; exit 2; }
    bin=$OUT/fuzz_$t
    srcs=()
    for s in ${SRCS[$t]}; do srcs+=("$ROOT/verifier/$s"); done
    # shellcheck disable=SC2086  # pkg-config output is a word list
    if ! "$CC" "${CFLAGS[@]}" $JANSSON_CFLAGS -o "$bin" "$HERE/fuzz_$t.c" "${srcs[@]}" \
        $JANSSON_LIBS -lcrypto 2>"$OUT/build_$t.log"; then
        cat "$OUT/build_$t.log" >&2
        echo "fuzz: $t: build failed" >&2
        failed+=("$t (build)")
        continue
    fi
    seeds=$HERE/corpus/$t
    scratch=$OUT/corpus/$t
    mkdir -p "$scratch"
    rm -f "$OUT"/crash-"$t"-* "$OUT"/leak-"$t"-* "$OUT"/timeout-"$t"-* "$OUT"/oom-"$t"-*
    n_seeds=$(find "$seeds" -type f | wc -l)
    echo "fuzz: $t: ${SECS}s from $n_seeds seeds"
    rc=0
    # The scratch corpus first: libFuzzer writes new inputs into the first
    # directory only.  -timeout: one input must not take a second;
    # -rss_limit_mb/-malloc_limit_mb: a parser must not blow up memory.
    dict=()
    case $t in
        checkpoint | segment) dict=(-dict="$HERE/json.dict") ;;
        *) dict=(-dict="$HERE/$t.dict") ;;
    esac
    "$bin" "$scratch" "$seeds" "${dict[@]}" -max_total_time="$SECS" -timeout=2 \
        -rss_limit_mb=1024 -malloc_limit_mb=256 -max_len=16384 \
        -print_final_stats=1 -artifact_prefix="$OUT/crash-$t-" \
        >"$OUT/fuzz_$t.log" 2>&1 || rc=$?
    grep -E '^(#[0-9]+\s+DONE|stat::number_of_executed_units|Done [0-9]+ runs)' "$OUT/fuzz_$t.log" |
        sed "s/^/fuzz: $t: /" || true
    if ((rc != 0)) || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$OUT/fuzz_$t.log"; then
        echo "fuzz: $t: FAILED (exit $rc); the end of its log ($OUT/fuzz_$t.log):" >&2
        tail -n 60 "$OUT/fuzz_$t.log" >&2
        ls "$OUT"/{crash,leak,timeout,oom}-"$t"-* 2>/dev/null | sed 's/^/fuzz: crashing input: /' >&2 || true
        failed+=("$t")
    fi
    if ((!KEEP)); then rm -rf "$scratch"; fi
done

# The malformed seeds through the real program, when it is built: exit 2
# and one printable line each (messages.sh)
if [[ -x $ROOT/verifier/audit_chain_verify ]]; then
    "$HERE/messages.sh" "$ROOT/verifier/audit_chain_verify" || failed+=("messages")
else
    echo "fuzz: verifier/audit_chain_verify is not built: messages.sh skipped"
fi

if ((${#failed[@]})); then
    echo "fuzz: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz: ${#TARGETS[@]} targets, ${SECS}s each: no crash, leak or sanitizer report"
