#!/usr/bin/env bash
# test/scenarios/timestamp.sh -- the RFC 3161 timestamp round trip of a
# checkpoint, end to end, with nothing but the openssl command line: what the
# README's "Publishing checkpoints" section tells an administrator to do.
#
#   1. A throwaway CA and a timestamp authority (TSA) certificate signed by it
#      (extendedKeyUsage critical timeStamping, as RFC 3161 section 2.3 asks),
#      made with openssl in a temporary directory.
#   2. A chained table with rows, audit_chain.checkpoint(), its export
#      (audit_chain.export_checkpoint(), checkpoint.json) and the payload
#      bytes inside it written to payload.bin.
#   3. openssl ts -query (SHA-256 of payload.bin, asking for the TSA's
#      certificate), answered by openssl ts -reply as the local TSA.
#   4. openssl ts -verify of payload.bin against the reply and the CA: OK;
#      also against the query (which checks the nonce too).
#   5. What must fail: the payload with one byte changed, a payload missing
#      its last line, and the right payload against another CA.
#
# Uses the suite's cluster (a database of its own, dropped at the end).
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "${AC_LIB:-$(dirname "$0")/../../scripts/lib.sh}"

DB=ac_timestamp
TS=$(ac_tmpdir)/timestamp
mkdir -p "$TS"
cd "$TS"

expect() { # expect WHAT GOT WANT
    if [[ $2 != "$3" ]]; then
        ac_die "$1: got '$2', want '$3'"
    fi
    ac_log "ok: $1"
}
q() { psql_db "$DB" -qtAc "$1"; }

# ---------------------------------------------------------------- 1. CA, TSA
openssl version >&2
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=audit_chain test CA" \
    -keyout ca.key -out ca.pem \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=audit_chain test TSA" \
    -keyout tsa.key -out tsa.csr 2>/dev/null
cat > tsa_ext.cnf <<'EOF'
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
openssl x509 -req -in tsa.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile tsa_ext.cnf -out tsa.pem 2>/dev/null
openssl verify -CAfile ca.pem tsa.pem >/dev/null
expect "the TSA certificate has extendedKeyUsage critical timeStamping" \
    "$(openssl x509 -in tsa.pem -noout -ext extendedKeyUsage | tr -d ' ' | paste -sd' ')" \
    "X509v3ExtendedKeyUsage:critical TimeStamping"

# the TSA's configuration for openssl ts -reply (openssl.cnf's [ tsa ] section)
echo 01 > tsaserial
cat > tsa.cnf <<EOF
[ tsa ]
default_tsa = tsa_config

[ tsa_config ]
serial = $TS/tsaserial
crypto_device = builtin
signer_cert = $TS/tsa.pem
certs = $TS/ca.pem
signer_key = $TS/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
EOF

# another CA, which must not vouch for this TSA
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=another CA" \
    -keyout other.key -out other.pem 2>/dev/null

# ---------------------------------------------------------------- 2. checkpoint
dropdb --if-exists "$DB" 2>/dev/null
createdb "$DB"
ac_defer dropdb --if-exists "$DB"
psql_db "$DB" -q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION audit_chain;
CREATE TABLE public.payments_audit (id bigint, who text, amount numeric(12,2));
SELECT audit_chain.protect('public.payments_audit');
INSERT INTO public.payments_audit
SELECT g, 'user-' || g, g * 1.25 FROM generate_series(1, 100) g;
SELECT audit_chain.checkpoint();
SQL
CP=$(q "SELECT max(checkpoint_id) FROM audit_chain.checkpoints")

# What an administrator publishes: export_checkpoint()'s JSON document, and
# the payload bytes inside it (base64), which are what the token covers.
q "SELECT audit_chain.export_checkpoint()" > checkpoint.json
expect "checkpoint.json is an export of checkpoint $CP" \
    "$(jq -r '.format + " " + (.checkpoint_id | tostring)' checkpoint.json)" \
    "audit_chain/checkpoint-export/v1 $CP"
jq -r .payload checkpoint.json | base64 -d > payload.bin
q "SELECT encode(payload, 'base64') FROM audit_chain.checkpoints WHERE checkpoint_id = $CP" \
    | base64 -d > stored.bin
cmp -s payload.bin stored.bin || ac_die "export_checkpoint()'s payload is not the stored one"
ac_log "ok: the payload in checkpoint.json is the stored payload, byte for byte"
[[ -s payload.bin ]] || ac_die "empty payload"
expect "payload.bin is checkpoint $CP's payload" \
    "$(sed -n 2p payload.bin)" "checkpoint_id $CP"
PAYLOAD_SHA=$(openssl dgst -sha256 -r payload.bin | cut -d' ' -f1)

# ---------------------------------------------------------------- 3. query, reply
openssl ts -query -data payload.bin -sha256 -cert -out req.tsq 2>/dev/null
openssl ts -reply -config tsa.cnf -queryfile req.tsq -inkey tsa.key -signer tsa.pem \
    -chain ca.pem -out resp.tsr 2>/dev/null
openssl ts -reply -in resp.tsr -text > resp.txt 2>/dev/null
expect "the reply is granted" "$(sed -n 's/^Status: *//p' resp.txt)" "Granted."
IMPRINT=$(sed -n '/^Message data:/,/^Serial number:/p' resp.txt \
    | grep -E '^ +[0-9a-f]{4} - ' | sed -E 's/^ +[0-9a-f]{4} - //; s/  .*$//; s/[- ]//g' | tr -d '\n')
expect "the reply's message imprint is SHA-256(payload.bin)" "$IMPRINT" "$PAYLOAD_SHA"

# ---------------------------------------------------------------- 4. verify
openssl ts -verify -data payload.bin -in resp.tsr -CAfile ca.pem > verify.out 2>&1 \
    || { cat verify.out >&2; ac_die "openssl ts -verify failed on the timestamped payload"; }
expect "openssl ts -verify -data payload.bin" "$(tail -1 verify.out)" "Verification: OK"
openssl ts -verify -queryfile req.tsq -in resp.tsr -CAfile ca.pem > verify_q.out 2>&1 \
    || { cat verify_q.out >&2; ac_die "openssl ts -verify failed against the query"; }
expect "openssl ts -verify -queryfile req.tsq (nonce too)" "$(tail -1 verify_q.out)" "Verification: OK"

# later: the payload read again from the database still matches the token
q "SELECT encode(payload, 'base64') FROM audit_chain.checkpoints WHERE checkpoint_id = $CP" \
    | base64 -d > again.bin
openssl ts -verify -data again.bin -in resp.tsr -CAfile ca.pem > /dev/null 2>&1 \
    || ac_die "the stored payload no longer verifies against its timestamp"
ac_log "ok: the payload read again from audit_chain.checkpoints verifies against resp.tsr"

# ---------------------------------------------------------------- 5. must fail
must_fail() { # must_fail WHAT ARGS...
    local what=$1
    shift
    if openssl ts -verify "$@" > fail.out 2>&1; then
        cat fail.out >&2
        ac_die "$what: openssl ts -verify succeeded"
    fi
    ac_log "ok: $what fails ($(grep -m1 -oE 'Verification: FAILED|message imprint mismatch|certificate verify error|unable to get local issuer certificate' fail.out | paste -sd' '))"
}
# one byte of a head hash changed: what a rewritten chain would need
cp payload.bin changed.bin
LINE=$(grep -nE '[0-9a-f]{64}' changed.bin | sed -n '$p' | cut -d: -f1)
[[ -n $LINE ]] || ac_die "no hash in the payload"
sed -i -E "${LINE}s/([0-9a-f]{63})0/\\11/;t;${LINE}s/([0-9a-f]{63})[1-9a-f]/\\10/" changed.bin
cmp -s payload.bin changed.bin && ac_die "changed.bin was not changed"
must_fail "a payload with one byte changed" -data changed.bin -in resp.tsr -CAfile ca.pem
head -n -1 payload.bin > truncated.bin
must_fail "a payload without its last line" -data truncated.bin -in resp.tsr -CAfile ca.pem
must_fail "the payload against another CA" -data payload.bin -in resp.tsr -CAfile other.pem

echo "timestamp: checkpoint $CP ($(wc -c < payload.bin) bytes, SHA-256 $PAYLOAD_SHA)"
echo "timestamp: token by a local TSA (EKU critical timeStamping), verified with openssl ts -verify"
echo "timestamp: against the data and the query; a changed or truncated payload and a foreign CA fail"
