#!/usr/bin/env bash
# test/fuzz/messages.sh -- every malformed seed of the fuzz corpora, handed to
# the real program, ends it with exit status 2 and one clear line on stderr:
#
#   checkpoint/bad-*, crash-*   audit_chain_verify --segment /dev/null --checkpoint F
#   payload/bad-*, crash-*      the payload wrapped, base64, into an otherwise
#                               valid unsigned export_checkpoint() document
#   segment/bad-*, crash-*      a segment file of a valid header and that line
#
# "one clear line": exactly one line, "audit_chain_verify: error: " and a
# message naming the file, printable ASCII only (no byte of the input that
# could be a terminal escape sequence).  The valid seeds must get past the
# parser (no "malformed" message).  Run by test/fuzz/run.sh after the
# fuzzers; usage: test/fuzz/messages.sh [PATH/TO/audit_chain_verify]
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PROG=${1:-$ROOT/verifier/audit_chain_verify}
[[ -x $PROG ]] || { echo "messages: no $PROG (build it: make)" >&2; exit 1; }
TMP=$(mktemp -d /tmp/ac_fuzz_msg.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
C=$HERE/corpus
n=0
bad=0

# check NAME EXPECT_MALFORMED CMD...: run CMD, check its status and stderr
check() {
    local name=$1 malformed=$2 rc=0 lines
    shift 2
    "$@" >/dev/null 2>"$TMP/err" || rc=$?
    lines=$(wc -l <"$TMP/err")
    n=$((n + 1))
    if ((malformed)); then
        if ((rc != 2)) || ((lines != 1)) || ! grep -q '^audit_chain_verify: error: ' "$TMP/err" ||
            LC_ALL=C grep -q '[^ -~]' "$TMP/err"; then
            echo "messages: $name: exit $rc, $lines line(s), want exit 2 and one printable error line:" >&2
            cat -v "$TMP/err" >&2
            bad=$((bad + 1))
        fi
    elif grep -q 'malformed\|not a JSON' "$TMP/err"; then
        echo "messages: $name: a valid seed was refused by the parser:" >&2
        cat -v "$TMP/err" >&2
        bad=$((bad + 1))
    fi
}

is_bad() { [[ ${1##*/} == bad-* || ${1##*/} == crash-* ]]; }

for f in "$C"/checkpoint/*; do
    m=0; is_bad "$f" && m=1
    check "checkpoint/${f##*/}" $m "$PROG" --segment /dev/null --checkpoint "$f"
done

for f in "$C"/payload/*; do
    m=0; is_bad "$f" && m=1
    [[ ${f##*/} == v1 ]] && m=1        # a v1 payload is refused in an export
    doc=$TMP/payload.json
    printf '{"format": "audit_chain/checkpoint-export/v1", "checkpoint_id": 1, "created_at": "2026-12-02T00:15:00.123456Z", "payload": "%s", "signature": null, "key_id": null, "public_key": null, "algorithm": null}' \
        "$(base64 -w0 <"$f")" >"$doc"
    # a valid payload fails on the repeated id or time instead: not "malformed: the payload"
    if ((m)); then
        check "payload/${f##*/}" 1 "$PROG" --segment /dev/null --checkpoint "$doc"
    else
        "$PROG" --segment /dev/null --checkpoint "$doc" >/dev/null 2>"$TMP/err" || true
        n=$((n + 1))
        if grep -q 'the payload is malformed' "$TMP/err"; then
            echo "messages: payload/${f##*/}: a valid payload was refused:" >&2
            cat -v "$TMP/err" >&2
            bad=$((bad + 1))
        fi
    fi
done

header=$C/segment/export-header
for f in "$C"/segment/*; do
    is_bad "$f" || continue
    { cat "$header"; echo; cat "$f"; echo; } >"$TMP/seg.jsonl"
    check "segment/${f##*/}" 1 "$PROG" --segment "$TMP/seg.jsonl"
done

if ((bad)); then
    echo "messages: $bad of $n inputs FAILED" >&2
    exit 1
fi
echo "messages: $n malformed and valid seeds through $PROG: exit 2 with one printable line for each malformed one"
