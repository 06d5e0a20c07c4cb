#!/usr/bin/env bash
# test/verifier/run.sh -- the tests of audit_chain_verify, the offline
# verifier (verifier/), run by scripts/test.sh (also with --quick):
#
#   1. the hash format: the committed test vectors reproduced byte for byte
#      (--test-vectors), and the verifier's timestamptz parser against the
#      server's own text and epoch of a few thousand values (--test-timestamps)
#   2. an intact database: exit 0, the summary and --json
#   3. tampering, each in a table of its own, exit 1 with the failing seq in
#      the output: a changed value, a changed chain column, a deleted middle
#      row, a tail cut against a checkpoint, a forged boundary, an edited
#      redaction digest, a changed archived row, a row moved out of its lane
#   4. the whole-tail rewrite: a superuser recomputes every hash of a lane's
#      tail in plain SQL and deletes the stored checkpoints: intact without
#      evidence, caught against an older exported checkpoint file
#   5. exit 2 with a message: every usage error, a bad connection, a database
#      without audit_chain, a missing table, malformed, truncated and garbage
#      checkpoint files, a bad signature, a wrong public key, a bad key file
#   6. a segment file verified with no database: intact, a changed value, a
#      checkpoint head inside it, truncated, garbage
#   7. stored checkpoints: a key rotation (old checkpoints keep verifying),
#      a checkpoint deleted from the middle, a stored payload changed
#   8. a hot standby (a primary and a standby of its own): intact, in one
#      exported snapshot or, where the server refuses that, separate ones
#
# Checkpoints are signed by the server (audit_chain.signing_key_file, set
# for the test with ALTER SYSTEM and reset at exit) and exported with
# export_checkpoint(); segment files are written by export_segment().
#
# Uses the cluster in PGHOST/PGPORT if one answers there (databases named
# ac_vf_*_PID, dropped at exit), else starts its own through scripts/lib.sh.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../scripts/lib.sh
. "${AC_LIB:-$HERE/../../scripts/lib.sh}"

if [[ ${AC_OWN_CLUSTER:-0} != 1 && -n ${PGHOST:-} ]] &&
    psql -X -qtAc 'SELECT 1' -d postgres >/dev/null 2>&1; then
    export PGUSER=${PGUSER:-postgres}
    ac_log "using the running cluster at PGHOST=$PGHOST PGPORT=${PGPORT:-5432}"
else
    start_cluster verifier
fi

V=$AC_PGBIN/audit_chain_verify
[[ -x $V ]] || ac_die "$V is not installed (make install)"
T=$(ac_tmpdir)/verifier
mkdir -p "$T"
DB=ac_vf_main_$$
DB2=ac_vf_rewrite_$$
DB3=ac_vf_plain_$$
DB4=ac_vf_keys_$$
N_OK=0

drop_dbs() {
    local db
    for db in "$DB" "$DB2" "$DB3" "$DB4"; do
        PGOPTIONS='-c client_min_messages=warning' \
            psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
    done
}
ac_defer drop_dbs

q() { psql_db "$1" -qtAc "$2"; }

# check NAME WANT_RC PATTERN -- CMD...: run CMD, want its exit status and
# PATTERN (an extended regexp, "" for none) in its stdout + stderr
check() {
    local name=$1 want=$2 pat=$3 rc=0
    shift 4
    "$@" >"$T/out" 2>&1 || rc=$?
    if ((rc != want)); then
        cat "$T/out" >&2
        ac_die "$name: exit status $rc, want $want"
    fi
    if [[ -n $pat ]] && ! grep -Eq -- "$pat" "$T/out"; then
        cat "$T/out" >&2
        ac_die "$name: output lacks /$pat/"
    fi
    N_OK=$((N_OK + 1))
    printf 'ok %2d - %s (exit %d%s)\n' "$N_OK" "$name" "$rc" \
        "$( [[ -n $pat ]] && printf ', /%s/' "$pat")"
    if ((rc != 0)) && [[ ${VERBOSE_FAILS:-1} == 1 ]]; then
        grep -E '^(FAILED|audit_chain_verify: error)' "$T/out" | head -n 2 | sed 's/^/      /' || true
    fi
}

# ------------------------------------------------------------------ keys
openssl genpkey -algorithm ed25519 -out "$T/key.pem" 2>/dev/null
openssl pkey -in "$T/key.pem" -pubout -out "$T/pub.pem"
openssl genpkey -algorithm ed25519 -out "$T/other.pem" 2>/dev/null
openssl pkey -in "$T/other.pem" -pubout -out "$T/other_pub.pem"
KID=$(openssl pkey -pubin -in "$T/pub.pem" -outform DER | openssl dgst -sha256 -r | cut -c1-64)

# The server signs checkpoints (audit_chain.signing_key_file, set with
# ALTER SYSTEM for the whole cluster, reset at exit).
sign_with() { # sign_with KEYFILE
    cp "$1" "$T/server_key.pem"
    if ac_is_root; then chown postgres:postgres "$T/server_key.pem"; fi
    chmod 600 "$T/server_key.pem"
    psql_db postgres -q -c "LOAD 'audit_chain'" -c "ALTER SYSTEM SET audit_chain.signing_key_file = '$T/server_key.pem'" \
        -c "SELECT pg_reload_conf()" >/dev/null
    sleep 0.5
}
unsign() {
    psql -X -q -d postgres -c "ALTER SYSTEM RESET audit_chain.signing_key_file" -c "SELECT pg_reload_conf()" \
        >/dev/null 2>&1 || true
}
ac_defer unsign

# checkpoint DB OUTFILE: a new signed checkpoint of DB, exported
# (export_checkpoint())
checkpoint() {
    q "$1" "SELECT audit_chain.checkpoint()" >/dev/null
    q "$1" "SELECT audit_chain.export_checkpoint()" >"$2"
    jq -e '.signature != null' "$2" >/dev/null || ac_die "the checkpoint of $1 is not signed"
}

new_db() {
    createdb "$1"
    psql_db "$1" -q -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION audit_chain' >/dev/null
}

createdb "$DB3"     # no audit_chain in it
new_db "$DB"
[[ $(q "$DB" "SELECT to_regprocedure('audit_chain.export_checkpoint(bigint)') IS NOT NULL") == t ]] ||
    ac_die "audit_chain.export_checkpoint() is not installed"
sign_with "$T/key.pem"

# export_seg DB TABLE OUTFILE [LANE FROM TO]: export_segment() of public.TABLE
export_seg() {
    local db=$1 tbl=$2 out=$3 lane=${4:-NULL} from=${5:-NULL} to=${6:-NULL}
    psql_db "$db" -AtX -v FETCH_COUNT=1000 \
        -c "SELECT * FROM audit_chain.export_segment('public.$tbl', $lane, $from, $to)" >"$out"
}

# ------------------------------------------------------------------ 1. hash format
echo "# 1. the hash format"
check "test vectors reproduced" 0 "every byte reproduced" -- "$V" --test-vectors "$AC_ROOT/test/vectors/v1.json"
PGOPTIONS='-c datestyle=ISO,YMD -c timezone=UTC' psql_db "$DB" -qtA -F $'\t' >"$T/ts.txt" <<'SQL'
SELECT t::text, (extract(epoch FROM t) * 1000000)::bigint
  FROM (SELECT timestamptz '2026-12-02 00:15:00.123456+00' + g * interval '7 days 3 hours 17 minutes 0.000123 seconds' AS t
          FROM generate_series(-120000, 120000, 97) g
        UNION ALL SELECT unnest(ARRAY['0044-03-15 12:00:00+00 BC', '4713-11-24 00:00:00+00 BC', '0001-01-01 00:00:00+00',
                                      '0001-12-31 23:59:59.999999+00 BC', '1969-12-31 23:59:59.999999+00',
                                      '1970-01-01 00:00:00+00', '2000-02-29 12:00:00.5+00', '12345-01-01 10:00:00+00',
                                      '200000-12-31 23:59:59.999999+00', '1900-03-01 00:00:00+00']::timestamptz[])) s
SQL
check "timestamptz text parsed as the server reads it ($(wc -l <"$T/ts.txt") values, BC and 6-digit years)" 0 "checked, 0 wrong" \
    -- "$V" --test-timestamps <"$T/ts.txt"

# ------------------------------------------------------------------ 2. intact
echo "# 2. an intact database"
psql_db "$DB" -q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE FUNCTION public.fresh(t text, lanes int DEFAULT 1, n int DEFAULT 5) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TABLE public.%I (id int, who text, amount numeric, note text)', t);
    PERFORM audit_chain.protect(format('public.%I', t)::regclass, lanes);
    EXECUTE format('INSERT INTO public.%I SELECT g, ''user'' || g, g * 10, CASE WHEN g %% 2 = 0 THEN E''tab\there\nnewline \\ backslash'' END FROM generate_series(1, $1) g', t) USING n;
END $$;
CREATE SCHEMA "My Schema";
CREATE TABLE "My Schema"."Orders.v2" ("Note" text, v float8, j jsonb, arr text[], ts timestamptz, b bytea, "é" text);
SELECT audit_chain.protect('"My Schema"."Orders.v2"', lanes => 3);
INSERT INTO "My Schema"."Orders.v2"
SELECT 'n' || g, g / 3.0, jsonb_build_object('b', g, 'a', 'x y'), ARRAY['q', NULL, 'r s'], '2024-01-01'::timestamptz + g * interval '1 hour',
       '\xdeadbeef', 'ü' FROM generate_series(1, 300) g;
CREATE TABLE public.parted (id int, at timestamptz NOT NULL, who text) PARTITION BY RANGE (at);
CREATE TABLE public.parted_a PARTITION OF public.parted FOR VALUES FROM ('2000-01-01') TO ('2025-01-01');
CREATE TABLE public.parted_b PARTITION OF public.parted FOR VALUES FROM ('2025-01-01') TO ('2100-01-01');
SELECT audit_chain.protect('public.parted', lanes => 2);
INSERT INTO public.parted SELECT g, '2024-12-31'::timestamptz + g * interval '1 hour', 'w' || g FROM generate_series(1, 100) g;
SQL
for t in t_value t_at t_delete t_tail t_bound t_red t_arch t_stray; do q "$DB" "SELECT fresh('$t')" >/dev/null; done
q "$DB" "SELECT audit_chain.redact('t_red', 0, 2, ARRAY['who'], 'test erasure')" >/dev/null
# t_arch: five rows archived, five live
sleep 0.01
psql_db "$DB" -q -c "CALL audit_chain.archive('t_arch', interval '1 millisecond')" >/dev/null
q "$DB" "INSERT INTO t_arch SELECT g, 'user' || g, g FROM generate_series(6, 10) g" >/dev/null
[[ $(q "$DB" "SELECT archived_seq FROM audit_chain.chains WHERE tbl = 't_arch'::regclass") == 5 ]] ||
    ac_die "archive() did not archive t_arch's five rows"
checkpoint "$DB" "$T/cp1.json"
[[ $(jq -r .key_id "$T/cp1.json") == "$KID" ]] || ac_die "the exported key_id is not openssl's SHA-256 of the DER public key"
check "intact database" 0 "result: INTACT" -- "$V" --dbname "$DB"
grep -E 'signature|t_arch|Orders|checked:' "$T/out" | sed 's/^/      /'
check "intact, the signed checkpoint verified against --public-key" 0 "signatures good.*1 published" \
    -- "$V" --dbname "$DB" --checkpoint "$T/cp1.json" --public-key "$T/pub.pem" --jobs 3
check "intact --json" 0 '"result": "intact"' -- "$V" --dbname "$DB" --json --checkpoint "$T/cp1.json"
jq -e '.exit_code == 0 and .rows > 400 and (.failures | length) == 0 and .signatures_verified >= 2' "$T/out" >/dev/null ||
    ac_die "--json: unexpected document"
check "intact, --table and --quiet" 0 "^result: INTACT" -- "$V" --dbname "$DB" --table t_arch --table '"My Schema"."Orders.v2"' --quiet
[[ $(wc -l <"$T/out") == 1 ]] || ac_die "--quiet printed more than the result line"
# an auditor role with SELECT on what the README lists, and nothing else
AUDITOR=ac_vf_auditor_$$
psql_db "$DB" -q >/dev/null <<SQL
CREATE ROLE $AUDITOR LOGIN;
GRANT SELECT ON audit_chain.chains, audit_chain.archives, audit_chain.boundaries, audit_chain.redactions,
                audit_chain.checkpoints, audit_chain.signing_keys TO $AUDITOR;
GRANT USAGE ON SCHEMA audit_chain_archive TO $AUDITOR;
GRANT SELECT ON ALL TABLES IN SCHEMA audit_chain_archive TO $AUDITOR;
GRANT SELECT ON ALL TABLES IN SCHEMA public, "My Schema" TO $AUDITOR;
GRANT USAGE ON SCHEMA "My Schema" TO $AUDITOR;
GRANT SELECT ON audit_chain.events TO $AUDITOR;
SQL
drop_auditor() { psql -X -q -d "$DB" -c "DROP OWNED BY $AUDITOR" -c "DROP ROLE IF EXISTS $AUDITOR" >/dev/null 2>&1 || true; }
ac_defer drop_auditor
check "intact, as an auditor role with the README's grants" 0 "result: INTACT" \
    -- "$V" --dbname "dbname=$DB user=$AUDITOR" --checkpoint "$T/cp1.json" --public-key "$T/pub.pem"
psql_db "$DB" -q -c "REVOKE SELECT ON audit_chain.redactions FROM $AUDITOR" >/dev/null
check "as an auditor without SELECT on audit_chain.redactions" 2 "could not read audit_chain.redactions: ERROR:  permission denied" \
    -- "$V" --dbname "dbname=$DB user=$AUDITOR"
psql_db "$DB" -q -c "GRANT SELECT ON audit_chain.redactions TO $AUDITOR" -c "REVOKE SELECT ON t_arch FROM $AUDITOR" >/dev/null
check "as an auditor without SELECT on a chained table" 2 "could not read .*t_arch.*permission denied" \
    -- "$V" --dbname "dbname=$DB user=$AUDITOR"
[[ $(q "$DB" "SELECT count(*) FROM audit_chain.verify_chain() WHERE NOT intact") == 0 ]] ||
    ac_die "verify_chain() does not find the test database intact"

# ------------------------------------------------------------------ 3. tampering
echo "# 3. tampering (each exit 1, with the failing seq)"
tamper() { # tamper SQL: as a superuser behind the triggers' back
    psql_db "$DB" -q -c 'SET session_replication_role = replica' -c "$1" >/dev/null
}
tamper "UPDATE t_value SET amount = 1 WHERE chain_seq = 3"
check "changed value" 1 "table public.t_value lane 0 seq 3: chain_hash of chain_seq 3 does not match" \
    -- "$V" --dbname "$DB" --table t_value
tamper "UPDATE t_at SET chain_at = chain_at + interval '1 microsecond' WHERE chain_seq = 2"
check "changed chain column (chain_at)" 1 "t_at lane 0 seq 2: chain_hash" -- "$V" --dbname "$DB" --table t_at
tamper "DELETE FROM t_delete WHERE chain_seq = 3"
check "deleted middle row" 1 "t_delete lane 0 seq 3: chain_seq 3 is missing" -- "$V" --dbname "$DB" --table t_delete
tamper "DELETE FROM t_tail WHERE chain_seq = 5"
check "cut tail against the stored checkpoint" 1 "t_tail lane 0 seq 5 checkpoint [0-9]+: the lane ends at chain_seq 4 but checkpoint [0-9]+ recorded its head at chain_seq 5" \
    -- "$V" --dbname "$DB" --table t_tail
tamper "UPDATE audit_chain.chains SET archived_seq = 2, archived_hash = (SELECT chain_hash FROM t_bound WHERE chain_seq = 2)
         WHERE tbl = 't_bound'::regclass; DELETE FROM t_bound WHERE chain_seq <= 2"
check "forged boundary (head rows cut, the registry's boundary moved over them)" 1 \
    "t_bound lane 0 seq 1: the lane starts after chain_seq 2 in audit_chain.chains, but audit_chain.boundaries records no archive" \
    -- "$V" --dbname "$DB" --table t_bound
tamper "UPDATE audit_chain.redactions SET digest = sha256('forged') WHERE tbl = 't_red'::regclass"
check "edited redaction digest" 1 "t_red lane 0 seq 2: chain_hash of chain_seq 2 does not match" -- "$V" --dbname "$DB" --table t_red
ARCH=$(q "$DB" "SELECT audit_chain.archive_table('t_arch')")
tamper "UPDATE $ARCH SET who = 'someone else' WHERE chain_seq = 2"
check "changed archived row ($ARCH)" 1 "t_arch lane 0 seq 2: chain_hash of chain_seq 2 does not match" -- "$V" --dbname "$DB" --table t_arch
tamper "UPDATE t_stray SET chain_lane = 7 WHERE chain_seq = 3"
check "a row moved out of its lane (chain_lane 7 of a one-lane table)" 1 "table public.t_stray seq 3: 1 rows of public.t_stray are in no lane" \
    -- "$V" --dbname "$DB" --table t_stray
check "every tampered table at once, --json" 1 '"result": "tampered"' -- "$V" --dbname "$DB" --json --jobs 2
jq -e '[.failures[] | select(.lane == 0) | "\(.table) \(.seq)"] | sort ==
       ["public.t_arch 2", "public.t_at 2", "public.t_bound 1", "public.t_delete 3", "public.t_red 2", "public.t_stray 3", "public.t_tail 5", "public.t_value 3"]' \
    "$T/out" >/dev/null || { jq '.failures' "$T/out" >&2; ac_die "--json: not the eight lane failures expected"; }
echo "      --json lists the lane failures: $(jq -c '[.failures[] | "\(.table):\(.seq)"]' "$T/out")"

# ------------------------------------------------------------------ 4. whole-tail rewrite
echo "# 4. the whole-tail rewrite attack"
new_db "$DB2"
psql_db "$DB2" -q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE TABLE public.ledger (id int, who text, amount numeric, note text);
SELECT audit_chain.protect('public.ledger', lanes => 2);
INSERT INTO public.ledger SELECT g, 'user' || g, g * 10 FROM generate_series(1, 20) g;
SQL
checkpoint "$DB2" "$T/old.json"
q "$DB2" "INSERT INTO public.ledger SELECT g, 'user' || g, g * 10 FROM generate_series(21, 24) g" >/dev/null
checkpoint "$DB2" "$T/newer.json"
L=$(q "$DB2" "SELECT chain_lane FROM public.ledger WHERE id = 5")
S=$(q "$DB2" "SELECT chain_seq FROM public.ledger WHERE id = 5")
OLDHEAD=$(q "$DB2" "SELECT max(chain_seq) FROM public.ledger WHERE chain_lane = $L AND id <= 20")
# The attacker: a superuser changes a row, recomputes every later hash of its
# lane in plain SQL (doc/hash-format.md), and deletes every stored checkpoint.
psql_db "$DB2" -q -v lane="$L" -v seq="$S" >/dev/null <<'SQL'
SET session_replication_role = replica;
SET datestyle = 'ISO, YMD'; SET timezone = 'UTC'; SET extra_float_digits = 1;
CREATE FUNCTION pg_temp.term(name text, value text) RETURNS bytea LANGUAGE sql AS
$$ SELECT CASE WHEN value IS NULL THEN ''::bytea ELSE int4send(octet_length(convert_to(name, 'UTF8')))
             || convert_to(name, 'UTF8') || sha256(convert_to(value, 'UTF8')) END $$;
UPDATE public.ledger SET amount = 999999 WHERE chain_lane = :lane AND chain_seq = :seq;
SELECT set_config('ac.lane', :'lane', false), set_config('ac.seq', :'seq', false);
DO $$
DECLARE
    r record;
    prev bytea;
    h bytea;
    l int := current_setting('ac.lane')::int;
    s bigint := current_setting('ac.seq')::bigint;
BEGIN
    SELECT chain_prev INTO prev FROM public.ledger WHERE chain_lane = l AND chain_seq = s;
    FOR r IN SELECT * FROM public.ledger WHERE chain_lane = l AND chain_seq >= s ORDER BY chain_seq LOOP
        h := sha256(convert_to('audit_chain/v1', 'UTF8') || '\x00'::bytea || int8send(r.chain_seq)
                    || int8send((extract(epoch FROM r.chain_at) * 1000000)::bigint) || prev
                    || pg_temp.term('id', r.id::text) || pg_temp.term('who', r.who)
                    || pg_temp.term('amount', r.amount::text) || pg_temp.term('note', r.note));
        UPDATE public.ledger SET chain_prev = prev, chain_hash = h WHERE chain_lane = l AND chain_seq = r.chain_seq;
        prev := h;
    END LOOP;
END $$;
DELETE FROM audit_chain.checkpoint_heads;
DELETE FROM audit_chain.checkpoints;
SQL
[[ $(q "$DB2" "SELECT bool_and(intact) FROM audit_chain.verify_chain('public.ledger')") == t ]] ||
    ac_die "the rewrite was not a clean one: verify_chain() sees it without evidence"
check "rewritten tail, no evidence outside: the chain is consistent" 0 "result: INTACT" -- "$V" --dbname "$DB2"
check "rewritten tail against the older exported checkpoint (head at seq $OLDHEAD of lane $L)" 1 \
    "lane $L seq $OLDHEAD checkpoint [0-9]+: chain_seq $OLDHEAD has another hash than the head checkpoint" \
    -- "$V" --dbname "$DB2" --checkpoint "$T/old.json" --public-key "$T/pub.pem"
grep -q "published checkpoint .* is not in audit_chain.checkpoints: stored checkpoints were deleted" "$T/out" ||
    ac_die "the deleted stored checkpoints are not reported"
check "the same with the newer file too, and --json" 1 '"result": "tampered"' \
    -- "$V" --dbname "$DB2" --checkpoint "$T/old.json" --checkpoint "$T/newer.json" --public-key "$T/pub.pem" --json

# ------------------------------------------------------------------ 5. errors
echo "# 5. errors: exit 2 with a message"
cp "$T/cp1.json" "$T/good.json"
check "no arguments" 2 "give --dbname CONNINFO or --segment FILE" -- "$V"
check "unknown option" 2 "unknown option: --frobnicate" -- "$V" --frobnicate
check "missing option argument" 2 "missing argument: --dbname|unknown option or missing argument" -- "$V" --dbname
check "stray argument" 2 "unexpected argument: extra" -- "$V" --dbname "$DB" extra
check "--jobs 0" 2 "--jobs must be a number from 1 to 64" -- "$V" --dbname "$DB" --jobs 0
check "--jobs x" 2 "--jobs must be a number from 1 to 64" -- "$V" --dbname "$DB" --jobs x
check "--dbname and --segment" 2 "not both" -- "$V" --dbname "$DB" --segment /dev/null
check "--table with --segment" 2 "--table needs --dbname" -- "$V" --segment /dev/null --table t
check "--dbname twice" 2 "--dbname given twice" -- "$V" --dbname "$DB" --dbname "$DB"
check "bad connection" 2 "could not connect to the database" -- "$V" --dbname "host=/nonexistent port=1 connect_timeout=2"
check "no such database" 2 "could not connect to the database: .*does not exist" -- "$V" --dbname ac_vf_no_such_db_$$
check "database without audit_chain" 2 "audit_chain is not installed in this database" -- "$V" --dbname "$DB3"
check "--table: no such table" 2 '--table "no_such": no such table' -- "$V" --dbname "$DB" --table no_such
q "$DB" "CREATE TABLE plain_t (x int)" >/dev/null
check "--table: not a chained table" 2 '--table "plain_t" is not a chained table' -- "$V" --dbname "$DB" --table plain_t
check "checkpoint file missing" 2 "could not open .*nope.json" -- "$V" --dbname "$DB" --checkpoint "$T/nope.json"
check "checkpoint file is a directory" 2 "is a directory" -- "$V" --dbname "$DB" --checkpoint "$T"
head -c 4096 /dev/urandom >"$T/garbage.bin"
check "checkpoint file of garbage bytes" 2 "is malformed: not a JSON document" -- "$V" --dbname "$DB" --checkpoint "$T/garbage.bin"
: >"$T/empty.json"
check "empty checkpoint file" 2 "is malformed: not a JSON document" -- "$V" --dbname "$DB" --checkpoint "$T/empty.json"
head -c "$(($(wc -c <"$T/good.json") / 2))" "$T/good.json" >"$T/truncated.json"
check "truncated checkpoint file" 2 "is malformed: not a JSON document" -- "$V" --dbname "$DB" --checkpoint "$T/truncated.json"
echo '[1, 2, 3]' >"$T/array.json"
check "checkpoint file: JSON, not an object" 2 "is malformed: not a JSON object" -- "$V" --dbname "$DB" --checkpoint "$T/array.json"
jq -c '.format = "something/else"' "$T/good.json" >"$T/fmt.json"
check "checkpoint file: wrong format" 2 'is malformed: "format" is not' -- "$V" --dbname "$DB" --checkpoint "$T/fmt.json"
jq -c '.payload = "%%%not base64"' "$T/good.json" >"$T/b64.json"
check "checkpoint file: payload not base64" 2 'is malformed: "payload" is missing or not base64' -- "$V" --dbname "$DB" --checkpoint "$T/b64.json"
# a payload cut before its end line (re-encoded: the JSON is well formed)
jq -r .payload "$T/good.json" | base64 -d | head -n -1 >"$T/cut.bin"
jq -c --arg p "$(base64 -w0 "$T/cut.bin")" '.payload = $p' "$T/good.json" >"$T/cutpayload.json"
check "checkpoint file: truncated payload (no end line)" 2 "is malformed: the payload is malformed: line [0-9]+ does not end|is neither a lane line nor the end" \
    -- "$V" --dbname "$DB" --checkpoint "$T/cutpayload.json"
jq -c '.checkpoint_id = 999' "$T/good.json" >"$T/id.json"
check "checkpoint file: checkpoint_id differs from the payload's" 2 'differs from the payload' -- "$V" --dbname "$DB" --checkpoint "$T/id.json"
jq -c '.key_id = "00\(.key_id[2:])"' "$T/good.json" >"$T/kid.json"
check "checkpoint file: key_id differs from the payload's" 2 "is not the payload's key_id line" -- "$V" --dbname "$DB" --checkpoint "$T/kid.json"
jq -c --arg pem "$(cat "$T/other_pub.pem")" '.public_key = $pem' "$T/good.json" >"$T/pem.json"
check "checkpoint file: public_key does not hash to key_id" 2 "does not hash to its key_id" -- "$V" --dbname "$DB" --checkpoint "$T/pem.json"
# the payload's checkpoint_id changed (and the document's copy of it): the
# document is consistent, only the signature can tell
jq -r .payload "$T/good.json" | base64 -d | sed 's/^checkpoint_id \([0-9]*\)$/checkpoint_id \10/' >"$T/forged.bin"
cmp -s "$T/forged.bin" <(jq -r .payload "$T/good.json" | base64 -d) && ac_die "the forged payload is not changed"
jq -c --arg p "$(base64 -w0 "$T/forged.bin")" --argjson id "$(sed -n 2p "$T/forged.bin" | cut -d' ' -f2)" \
    '.payload = $p | .checkpoint_id = $id' "$T/good.json" >"$T/forged.json"
check "checkpoint file: payload changed, signature no longer verifies" 2 "the signature does not verify" \
    -- "$V" --dbname "$DB" --checkpoint "$T/forged.json" --public-key "$T/pub.pem"
check "checkpoint file: the same, checked against the key it carries" 2 "the signature does not verify with the public key it carries" \
    -- "$V" --dbname "$DB" --checkpoint "$T/forged.json"
check "wrong public key" 2 "is not a --public-key key \(wrong key\)" -- "$V" --dbname "$DB" --checkpoint "$T/good.json" --public-key "$T/other_pub.pem"
check "public key file of garbage" 2 'public key ".*garbage.bin": not a PEM public key' -- "$V" --dbname "$DB" --public-key "$T/garbage.bin"
check "public key file: a private key" 2 "not a PEM public key" -- "$V" --dbname "$DB" --public-key "$T/key.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null | openssl pkey -pubout >"$T/ec.pem"
check "public key file: not Ed25519" 2 "not an Ed25519 public key" -- "$V" --dbname "$DB" --public-key "$T/ec.pem"
jq -c '.signature = null | .key_id = null | .public_key = null | .algorithm = null' "$T/good.json" >"$T/unsigned.json"
check "checkpoint file of another database" 2 "is a checkpoint of database ac_vf_main_[0-9]+, not of ac_vf_rewrite_[0-9]+" \
    -- "$V" --dbname "$DB2" --checkpoint "$T/good.json"
check "checkpoint file: signature stripped (payload still names a key)" 2 "has no signature but its payload names a key_id" \
    -- "$V" --dbname "$DB" --checkpoint "$T/unsigned.json"

# ------------------------------------------------------------------ 6. segment files
echo "# 6. segment files, no database"
q "$DB" "SELECT fresh('seg', 2, 12)" >/dev/null
q "$DB" "INSERT INTO seg SELECT g, 'user' || g, g FROM generate_series(13, 20) g" >/dev/null &
q "$DB" "INSERT INTO seg SELECT g, 'user' || g, g FROM generate_series(21, 30) g" >/dev/null
wait
q "$DB" "SELECT audit_chain.redact('seg', chain_lane, chain_seq, ARRAY['who'], 'test erasure') FROM seg WHERE id = 2" >/dev/null
checkpoint "$DB" "$T/segcp.json"
export_seg "$DB" seg "$T/seg.jsonl"
check "segment file, no database" 0 "result: INTACT" -- "$V" --segment "$T/seg.jsonl"
check "segment file with the checkpoint of its lanes" 0 "1 published" \
    -- "$V" --segment "$T/seg.jsonl" --checkpoint "$T/segcp.json" --public-key "$T/pub.pem"
"$V" --segment "$T/seg.jsonl" --checkpoint "$T/segcp.json" --json | jq -e '[.lanes[].checkpoint_points] | add > 0' >/dev/null ||
    ac_die "the checkpoint's heads were not checked in the segment"
export_seg "$DB2" ledger "$T/ledger.jsonl"
check "segment of the rewritten ledger, no checkpoint: consistent" 0 "result: INTACT" -- "$V" --segment "$T/ledger.jsonl"
check "segment of the rewritten ledger against the older checkpoint file" 1 \
    "lane $L seq $OLDHEAD checkpoint [0-9]+: chain_seq $OLDHEAD has another hash than the head checkpoint" \
    -- "$V" --segment "$T/ledger.jsonl" --checkpoint "$T/old.json" --public-key "$T/pub.pem"
SL=$(q "$DB" "SELECT chain_lane FROM seg WHERE id = 25")
export_seg "$DB" seg "$T/seg_part.jsonl" "$SL" 3 6
[[ $(wc -l <"$T/seg_part.jsonl") == 6 ]] || ac_die "export_segment(seg, $SL, 3, 6) did not write 4 rows"
check "segment file of seq 3 to 6 of one lane (starts after seq 2)" 0 "rows +4  seq 3\.\.6 .* intact" -- "$V" --segment "$T/seg_part.jsonl"
q "$DB" "SELECT fresh('seg_arch')" >/dev/null
sleep 0.01
psql_db "$DB" -q -c "CALL audit_chain.archive('seg_arch', interval '1 millisecond')" >/dev/null
q "$DB" "INSERT INTO seg_arch SELECT g, 'user' || g, g FROM generate_series(6, 9) g" >/dev/null
export_seg "$DB" seg_arch "$T/seg_arch.jsonl"
check "segment file of a lane with archived rows (archive first, then live)" 0 "rows +9  seq 1\.\.9 .* intact" \
    -- "$V" --segment "$T/seg_arch.jsonl"
check "the same lane in the database" 0 "seg_arch +lane  0  rows +9 \(5 archived\)" -- "$V" --dbname "$DB" --table seg_arch
awk 'NR == 4 { sub(/"user[0-9]+"/, "\"mallory\"") } { print }' "$T/seg.jsonl" >"$T/seg_value.jsonl"
BADSEQ=$(sed -n 4p "$T/seg.jsonl" | jq .seq)
BADLANE=$(sed -n 4p "$T/seg.jsonl" | jq .lane)
check "segment file: changed value" 1 "lane $BADLANE seq $BADSEQ: chain_hash of chain_seq $BADSEQ does not match" -- "$V" --segment "$T/seg_value.jsonl"
head -n -1 "$T/seg.jsonl" >"$T/seg_notrailer.jsonl"
check "segment file: truncated (no trailer)" 2 "has no trailer line \(truncated\)" -- "$V" --segment "$T/seg_notrailer.jsonl"
sed '5d' "$T/seg.jsonl" >"$T/seg_dropped.jsonl"
check "segment file: a row line dropped" 2 "the trailer counts [0-9]+ rows, the file has [0-9]+ \(truncated\)" -- "$V" --segment "$T/seg_dropped.jsonl"
head -c "$(($(wc -c <"$T/seg.jsonl") / 2))" "$T/seg.jsonl" >"$T/seg_cut.jsonl"
check "segment file: cut mid-line" 2 "truncated|not a JSON object" -- "$V" --segment "$T/seg_cut.jsonl"
check "segment file of garbage bytes" 2 "line 1: not a JSON object" -- "$V" --segment "$T/garbage.bin"
check "segment file: empty" 2 "is empty" -- "$V" --segment "$T/empty.json"
check "segment file missing" 2 "could not open segment file" -- "$V" --segment "$T/nope.jsonl"
check "segment file: not one (a checkpoint file)" 2 "does not start with its header line|line 1:" -- "$V" --segment "$T/good.json"

# ------------------------------------------------------------------ 7. stored checkpoints
echo "# 7. stored checkpoints: key rotation, deletion, forgery"
new_db "$DB4"
q "$DB4" "CREATE TABLE k (id int, who text); SELECT audit_chain.protect('k', lanes => 1)" >/dev/null
for i in 1 2; do
    q "$DB4" "INSERT INTO k SELECT g, 'w' || g FROM generate_series(1, 5) g" >/dev/null
    checkpoint "$DB4" "$T/k$i.json"
done
sign_with "$T/other.pem"
q "$DB4" "INSERT INTO k SELECT g, 'w' || g FROM generate_series(1, 5) g" >/dev/null
checkpoint "$DB4" "$T/k3.json"
[[ $(jq -r .key_id "$T/k3.json") != "$KID" ]] || ac_die "the key was not rotated"
check "key rotation: three checkpoints under two keys, both published" 0 "5 checkpoints \(5 signed, 5 signatures good, 2 published" \
    -- "$V" --dbname "$DB4" --public-key "$T/pub.pem" --public-key "$T/other_pub.pem" --checkpoint "$T/k1.json" --checkpoint "$T/k3.json"
check "key rotation: only the old key given: the new checkpoint is flagged" 0 "stored checkpoint 3 is signed by key [0-9a-f]+, which is not a --public-key key" \
    -- "$V" --dbname "$DB4" --public-key "$T/pub.pem"
check "key rotation: the new checkpoint file against the old key only" 2 "wrong key" \
    -- "$V" --dbname "$DB4" --public-key "$T/pub.pem" --checkpoint "$T/k3.json"
psql_db "$DB4" -q -c 'DELETE FROM audit_chain.checkpoint_heads WHERE checkpoint_id = 2' \
    -c 'DELETE FROM audit_chain.checkpoints WHERE checkpoint_id = 2' >/dev/null
check "a stored checkpoint deleted from the middle" 1 "checkpoint 3: stored checkpoint 3 does not name checkpoint 1 as its previous one" \
    -- "$V" --dbname "$DB4"
check "the same, with its published file" 1 "published checkpoint 2 .* is not in audit_chain.checkpoints" \
    -- "$V" --dbname "$DB4" --checkpoint "$T/k2.json" --public-key "$T/pub.pem"
psql_db "$DB4" -q -c "UPDATE audit_chain.checkpoints SET payload = convert_to(regexp_replace(convert_from(payload, 'UTF8'), 'lane public.k 0 ([0-9a-f]+) 5 ', 'lane public.k 0 \1 4 '), 'UTF8') WHERE checkpoint_id = 1" >/dev/null
check "a stored payload changed (head moved back to seq 4)" 1 "the signature of stored checkpoint 1 does not verify" -- "$V" --dbname "$DB4"
check "the same, against its published file" 1 "published checkpoint 1 .* differs from the one stored" \
    -- "$V" --dbname "$DB4" --checkpoint "$T/k1.json" --public-key "$T/pub.pem"

# ------------------------------------------------------------------ 8. hot standby
echo "# 8. a hot standby"
SAVED_HOST=${PGHOST:-} SAVED_PORT=${PGPORT:-}
start_cluster vprimary
PRIMARY="host=${AC_SOCKDIR[vprimary]} port=${AC_PORT[vprimary]} user=postgres"
psql -X -q -d "$PRIMARY dbname=postgres" -c 'CREATE DATABASE sb' >/dev/null
psql -X -q -d "$PRIMARY dbname=sb" >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION audit_chain;
CREATE TABLE s (id int, who text);
SELECT audit_chain.protect('s', lanes => 2);
INSERT INTO s SELECT g, 'w' || g FROM generate_series(1, 1000) g;
SELECT audit_chain.checkpoint();
SQL
start_standby vprimary vstandby
wait_replay vprimary vstandby
check "hot standby: verified on the standby" 0 "result: INTACT" \
    -- "$V" --dbname "host=${AC_SOCKDIR[vstandby]} port=${AC_PORT[vstandby]} user=postgres dbname=sb" --jobs 2
if grep -q "could not export a snapshot" "$T/out"; then
    echo "      the standby refused pg_export_snapshot(): each connection read in its own snapshot (warned)"
else
    grep -q "one shared snapshot" "$T/out" || ac_die "the summary does not say which snapshot was used"
    echo "      the standby exported its snapshot: every lane read in one snapshot"
fi
export PGHOST=$SAVED_HOST PGPORT=$SAVED_PORT

echo "# $N_OK checks passed"
