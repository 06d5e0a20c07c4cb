#!/usr/bin/env bash
# test/scenarios/signing.sh -- signed checkpoints end to end, with nothing
# but openssl, jq and base64 on the checking side (doc/checkpoints.md):
#
#  1. keys made with `openssl genpkey -algorithm ed25519`, owned by the
#     server's user with mode 0600, named in postgresql.conf, reloaded;
#  2. checkpoint() signs; export_checkpoint()'s document unpacks with jq and
#     base64 -d, its signature verifies with `openssl pkeyutl -verify -rawin`
#     and its key id is `openssl pkey -outform DER | openssl dgst -sha256`;
#  3. key rotation: old checkpoints still verify, in verify_chain() and with
#     openssl;
#  4. bad key files (group-readable, wrong owner, RSA, encrypted, missing,
#     garbage): each a clear error, no key bytes in it, no checkpoint;
#  5. the setting is hidden from and unsettable by an ordinary role;
#  6. forged checkpoint rows (edited payload, wrong signature, unknown key,
#     public key not matching its id, another key id, a middle checkpoint
#     deleted) each caught by verify_chain();
#  7. the issue's attack: a superuser rewrites a lane's tail recomputing every
#     hash and deletes every stored checkpoint and key, so verify_chain()
#     alone finds nothing; verify_chain() with an older exported checkpoint
#     (and the trusted public key) catches it, and a cut tail too.
#
# Starts its own cluster (the setting is server-wide).
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "${AC_LIB:-$(dirname "$0")/../../scripts/lib.sh}"

for tool in openssl jq base64; do
    command -v "$tool" >/dev/null || ac_die "$tool is needed (scripts/lib.sh installs it)"
done

start_cluster signing
DB=sig
TMP=$(ac_tmpdir)
K=$TMP/keys
mkdir -p "$K"
chmod 755 "$K"
if ac_is_root; then SRV=postgres; else SRV=$(id -un); fi

q() { # q SQL: one value, unaligned
    psql_db "$DB" -qtA -c "$1"
}

expect() { # expect WHAT GOT WANT
    if [[ $2 != "$3" ]]; then
        ac_die "$1: got '$2', want '$3'"
    fi
    ac_log "ok: $1"
}

expect_match() { # expect_match WHAT GOT PATTERN (bash glob)
    # shellcheck disable=SC2053  # the pattern is a glob on purpose
    if [[ $2 != $3 ]]; then
        ac_die "$1: got '$2', want it to match '$3'"
    fi
    ac_log "ok: $1"
}

fails() { # fails WHAT SQLSTATE MESSAGE-GLOB SQL [PGUSER]: must fail so
    local out
    if out=$(PGUSER=${5:-postgres} psql_db "$DB" -qtA -v VERBOSITY=verbose -c "$4" 2>&1); then
        ac_die "$1: succeeded: $out"
    fi
    [[ $out == *"ERROR:  $2: "* ]] || ac_die "$1: want SQLSTATE $2, got: $out"
    # shellcheck disable=SC2053
    [[ $out == $3 ]] || ac_die "$1: want a message matching '$3', got: $out"
    ac_log "ok: $1 ($2)"
    LAST_ERROR=$out
}

mkkey() { # mkkey NAME: an Ed25519 key pair NAME.pem (0600, the server's) and NAME.pub
    openssl genpkey -algorithm ed25519 -out "$K/$1.pem" 2>/dev/null
    openssl pkey -in "$K/$1.pem" -pubout -out "$K/$1.pub"
    own "$K/$1.pem" "$SRV" 600
}

own() { # own FILE USER MODE
    as_root chown "$2" "$1"
    as_root chmod "$3" "$1"
}

keyid_of() { # keyid_of PUBLIC.pem: SHA-256 of the DER SubjectPublicKeyInfo
    openssl pkey -pubin -in "$1" -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1
}

use_key() { # use_key FILE: postgresql.conf, reload, and wait for new sessions to see it
    local i v
    set_conf signing audit_chain.signing_key_file "$1"
    psql_db postgres -qtAc 'SELECT pg_reload_conf()' >/dev/null
    for i in $(seq 1 100); do
        v=$(psql_db "$DB" -qtA -c "LOAD 'audit_chain'" -c 'SHOW audit_chain.signing_key_file')
        [[ $v == "$1" ]] && return 0
        sleep 0.1
    done
    ac_die "the server did not pick up audit_chain.signing_key_file = '$1'"
}

export_cp() { # export_cp ID FILE: export_checkpoint(ID) into FILE
    q "SELECT audit_chain.export_checkpoint($1)" >"$2"
}

unpack() { # unpack JSON PREFIX: PREFIX.payload, PREFIX.sig, PREFIX.pub
    jq -r .payload "$1" | base64 -d >"$2.payload"
    jq -r .signature "$1" | base64 -d >"$2.sig"
    jq -r .public_key "$1" >"$2.pub"
}

osslverify() { # osslverify PUBLIC.pem PREFIX: openssl's verdict on PREFIX's signature
    openssl pkeyutl -verify -pubin -inkey "$1" -rawin -in "$2.payload" -sigfile "$2.sig" 2>&1 | head -n 1
}

verify_sql() { # verify_sql [published JSON file] [trusted key file]: every row of verify_chain() as text
    local doc=null key=
    [[ -n ${1:-} ]] && doc=$(cat "$1")
    [[ -n ${2:-} ]] && key=$(cat "$2")
    psql_db "$DB" -qtA -v doc="$doc" -v key="$key" <<'SQL'
SELECT format('%s|%s|%s|%s|%s', tbl, coalesce(lane::text, '-'), intact::text, first_bad_seq, problem)
  FROM audit_chain.verify_chain(published => nullif(:'doc', 'null')::json,
                                trusted_key => nullif(:'key', ''))
 ORDER BY tbl::text, lane;
SQL
}

# ------------------------------------------------------------------ setup
createdb "$DB"
psql_db "$DB" -q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION audit_chain;
CREATE SCHEMA app;
CREATE TABLE app.log (id int, note text);
SELECT audit_chain.protect('app.log');
INSERT INTO app.log SELECT g, 'row ' || g FROM generate_series(1, 20) g;
SQL

# ------------------------------------------------------------------ 1, 2
# No key yet: an unsigned checkpoint
cp1=$(q "SELECT audit_chain.checkpoint()")
export_cp "$cp1" "$TMP/e1.json"
expect "without a key, the checkpoint is unsigned" \
    "$(jq -c '[.signature, .key_id, .public_key, .algorithm]' "$TMP/e1.json")" '[null,null,null,null]'
jq -r .payload "$TMP/e1.json" | base64 -d >"$TMP/e1.payload"
expect "its payload says key_id none" "$(sed -n 6p "$TMP/e1.payload")" "key_id none"

mkkey k1
use_key "$K/k1.pem"
q "INSERT INTO app.log SELECT g, 'row ' || g FROM generate_series(21, 30) g" >/dev/null
cp2=$(q "SELECT audit_chain.checkpoint()")
export_cp "$cp2" "$TMP/e2.json"
unpack "$TMP/e2.json" "$TMP/e2"
k1id=$(keyid_of "$K/k1.pub")
expect "the document's keys, in order" "$(jq -r 'keys_unsorted | join(",")' "$TMP/e2.json")" \
    "format,checkpoint_id,created_at,payload,signature,key_id,public_key,algorithm"
expect "format" "$(jq -r .format "$TMP/e2.json")" "audit_chain/checkpoint-export/v1"
expect "base64 without line breaks" "$(jq -r '.payload | test("\n")' "$TMP/e2.json")" false
expect "the signature is 64 bytes" "$(wc -c <"$TMP/e2.sig")" 64
expect "openssl pkeyutl -verify: the signature verifies with k1.pub" \
    "$(osslverify "$K/k1.pub" "$TMP/e2")" "Signature Verified Successfully"
expect "and with the document's own public key" \
    "$(osslverify "$TMP/e2.pub" "$TMP/e2")" "Signature Verified Successfully"
expect "key_id is openssl's SHA-256 of the DER public key" "$(jq -r .key_id "$TMP/e2.json")" "$k1id"
expect "the document's public key hashes to it too" "$(keyid_of "$TMP/e2.pub")" "$k1id"
expect "the payload's key_id line" "$(sed -n 6p "$TMP/e2.payload")" "key_id $k1id"
expect "previous is the SHA-256 of the previous payload" "$(sed -n 5p "$TMP/e2.payload")" \
    "previous $(sha256sum "$TMP/e1.payload" | cut -d' ' -f1)"
expect "checkpoint_id and created_at repeat the payload" \
    "$(jq -r '"checkpoint_id \(.checkpoint_id)\ncreated_at \(.created_at)"' "$TMP/e2.json")" \
    "$(sed -n 2,3p "$TMP/e2.payload")"
expect "the payload ends with its end line" "$(tail -n 1 "$TMP/e2.payload")" \
    "end $(grep -c '^lane ' "$TMP/e2.payload")"
expect "a tampered payload does not verify with openssl" \
    "$(sed 's/^database sig$/database six/' "$TMP/e2.payload" >"$TMP/x.payload"; cp "$TMP/e2.sig" "$TMP/x.sig"
       osslverify "$K/k1.pub" "$TMP/x")" "Signature Verification Failure"
expect "signing_keys holds the key, first used by this checkpoint" \
    "$(q "SELECT encode(key_id, 'hex') || ' ' || algorithm || ' ' || first_checkpoint_id
            || ' ' || (public_key = pg_read_file('$K/k1.pub')) FROM audit_chain.signing_keys")" \
    "$k1id ed25519 $cp2 true"

q "INSERT INTO app.log SELECT g, 'row ' || g FROM generate_series(31, 40) g" >/dev/null
cp3=$(q "SELECT audit_chain.checkpoint()")
export_cp "$cp3" "$TMP/e3.json"       # the one the attacker will not be able to reach

# ------------------------------------------------------------------ 3
mkkey k2
use_key "$K/k2.pem"
k2id=$(keyid_of "$K/k2.pub")
q "INSERT INTO app.log SELECT g, 'row ' || g FROM generate_series(41, 50) g" >/dev/null
cp4=$(q "SELECT audit_chain.checkpoint()")
export_cp "$cp4" "$TMP/e4.json"
unpack "$TMP/e4.json" "$TMP/e4"
expect "after rotation, the new key signs" "$(jq -r .key_id "$TMP/e4.json")" "$k2id"
expect "openssl: the new checkpoint verifies with k2.pub" \
    "$(osslverify "$K/k2.pub" "$TMP/e4")" "Signature Verified Successfully"
expect "openssl: the old checkpoint still verifies with k1.pub" \
    "$(osslverify "$K/k1.pub" "$TMP/e2")" "Signature Verified Successfully"
expect "openssl: but not with k2.pub" \
    "$(osslverify "$K/k2.pub" "$TMP/e2")" "Signature Verification Failure"
expect "both keys are in signing_keys" \
    "$(q "SELECT string_agg(encode(key_id, 'hex'), ' ' ORDER BY first_checkpoint_id) FROM audit_chain.signing_keys")" \
    "$k1id $k2id"
good=$(verify_sql)
expect "verify_chain(): every lane intact, and the 4 checkpoints (two keys) too" \
    "$(grep -c '|false|' <<<"$good" || true) $(grep '^audit_chain.checkpoints|' <<<"$good")" \
    "0 audit_chain.checkpoints|-|true||"
expect "checkpoints checked" \
    "$(q "SELECT rows_checked FROM audit_chain.verify_chain() WHERE tbl = 'audit_chain.checkpoints'::regclass")" 4
both=$(jq -s . "$TMP/e2.json" "$TMP/e4.json")
printf '%s' "$both" >"$TMP/e24.json"
expect "verify_chain() with published checkpoints of both keys: intact" \
    "$(verify_sql "$TMP/e24.json" | grep -c '|false|' || true)" 0
expect "with k1.pub as the trusted key, the k2 checkpoint is refused" \
    "$(verify_sql "$TMP/e24.json" "$K/k1.pub" | grep '^audit_chain.checkpoints|')" \
    "audit_chain.checkpoints|-|false|$cp4|published checkpoint $cp4 is not signed by the trusted key (it names key $k2id)"
expect "an older checkpoint against its own trusted key: intact" \
    "$(verify_sql "$TMP/e2.json" "$K/k1.pub" | grep -c '|false|' || true)" 0

# ------------------------------------------------------------------ 4
k1body=$(sed -n 2p "$K/k1.pem")
n_before=$(q "SELECT count(*) FROM audit_chain.checkpoints")
bad_key() { # bad_key WHAT FILE SQLSTATE MESSAGE-GLOB
    use_key "$2"
    fails "$1" "$3" "$4" "SELECT audit_chain.checkpoint()"
    [[ $LAST_ERROR != *"PRIVATE KEY"* && $LAST_ERROR != *"$k1body"* ]] ||
        ac_die "$1: the error shows key material: $LAST_ERROR"
}
cp "$K/k1.pem" "$K/group.pem"
own "$K/group.pem" "$SRV" 640
bad_key "a group-readable key file" "$K/group.pem" F0000 \
    '*signing key file "'"$K"'/group.pem" has group or world access*u=rw (0600)*'
cp "$K/k1.pem" "$K/world.pem"
own "$K/world.pem" "$SRV" 604
bad_key "a world-readable key file" "$K/world.pem" F0000 '*has group or world access*'
if ac_is_root; then
    cp "$K/k1.pem" "$K/nobody.pem"
    own "$K/nobody.pem" nobody 644
    bad_key "a key file owned by another user" "$K/nobody.pem" F0000 \
        '*must be owned by the database user or root*'
    cp "$K/k1.pem" "$K/nobody600.pem"
    own "$K/nobody600.pem" nobody 600
    bad_key "a key file of another user that the server cannot read" "$K/nobody600.pem" 42501 \
        '*could not open signing key file*Permission denied*'
else
    ac_log "skip: a key file owned by another user (needs root to chown)"
fi
openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:2048 -out "$K/rsa.pem" 2>/dev/null
own "$K/rsa.pem" "$SRV" 600
bad_key "an RSA key" "$K/rsa.pem" F0000 '*does not hold an Ed25519 key*The key is of type RSA*'
openssl genpkey -algorithm ed25519 -aes-256-cbc -pass pass:secret -out "$K/enc.pem" 2>/dev/null
own "$K/enc.pem" "$SRV" 600
bad_key "an encrypted key" "$K/enc.pem" F0000 '*holds an encrypted key*'
bad_key "a missing key file" "$K/missing.pem" 58P01 \
    '*could not open signing key file "'"$K"'/missing.pem": No such file or directory*'
head -c 600 /dev/urandom | base64 >"$K/garbage.pem"
own "$K/garbage.pem" "$SRV" 600
bad_key "a garbage key file" "$K/garbage.pem" F0000 '*is not a PEM private key*'
openssl pkey -in "$K/k1.pem" -pubout -out "$K/pubonly.pem"
own "$K/pubonly.pem" "$SRV" 600
bad_key "a public key where the private key belongs" "$K/pubonly.pem" F0000 '*is not a PEM private key*'
expect "no checkpoint was taken with a bad key" \
    "$(q "SELECT count(*) FROM audit_chain.checkpoints")" "$n_before"
use_key "$K/k2.pem"

# ------------------------------------------------------------------ 5
psql_db "$DB" -q -c "CREATE ROLE plain LOGIN" >/dev/null
fails "an ordinary role cannot SHOW the key file" 42501 '*must be superuser*' \
    "SELECT audit_chain.version(); SHOW audit_chain.signing_key_file" plain
fails "nor read it with current_setting()" 42501 '*must be superuser*' \
    "SELECT audit_chain.version(); SELECT current_setting('audit_chain.signing_key_file')" plain
expect "nor see it in pg_settings" \
    "$(PGUSER=plain psql_db "$DB" -qtA -c "SELECT audit_chain.version()" \
        -c "SELECT count(*) FROM pg_settings WHERE name = 'audit_chain.signing_key_file'" | tail -n 1)" 0
fails "an ordinary role cannot SET it" 55P02 '*cannot be changed now*' \
    "SELECT audit_chain.version(); SET audit_chain.signing_key_file = '/tmp/evil.pem'" plain
fails "nor ALTER SYSTEM it" 42501 '*permission denied to set parameter*' \
    "ALTER SYSTEM SET audit_chain.signing_key_file = '/tmp/evil.pem'" plain
fails "not even a superuser SETs it in a session" 55P02 '*cannot be changed now*' \
    "LOAD 'audit_chain'; SET audit_chain.signing_key_file = '/tmp/evil.pem'"
fails "an ordinary role cannot take a checkpoint" 42501 '*permission denied for function checkpoint*' \
    "SELECT audit_chain.checkpoint()" plain
fails "nor export one" 42501 '*permission denied for function export_checkpoint*' \
    "SELECT audit_chain.export_checkpoint()" plain

# ------------------------------------------------------------------ 6
forged() { # forged WHAT SQL PROBLEM-GLOB: the checkpoints' row after SQL, rolled back
    local got
    got=$(psql_db "$DB" -qtA <<SQL
BEGIN;
SET LOCAL session_replication_role = replica;
$2;
SET LOCAL session_replication_role = origin;
SELECT format('%s|%s|%s', intact::text, first_bad_seq, problem) FROM audit_chain.verify_chain()
 WHERE tbl = 'audit_chain.checkpoints'::regclass;
ROLLBACK;
SQL
    )
    expect_match "$1" "$got" "$3"
}
forged "an edited payload" \
    "UPDATE audit_chain.checkpoints SET payload = payload || '\\x0a'::bytea WHERE checkpoint_id = $cp3" \
    "false|$cp3|checkpoint $cp3: its payload is not a checkpoint payload v2: it has lines after its end line*"
forged "an edited payload that still parses" \
    "UPDATE audit_chain.checkpoints SET payload = convert_to(replace(convert_from(payload, 'UTF8'), E'\\ndatabase sig\\n', E'\\ndatabase six\\n'), 'UTF8') WHERE checkpoint_id = $cp3" \
    "false|$cp3|the signature of checkpoint $cp3 does not verify with key $k1id: its payload or signature was changed*"
forged "another checkpoint's signature" \
    "UPDATE audit_chain.checkpoints SET signature = (SELECT signature FROM audit_chain.checkpoints WHERE checkpoint_id = $cp2) WHERE checkpoint_id = $cp3" \
    "false|$cp3|the signature of checkpoint $cp3 does not verify with key $k1id*"
forged "a key id no key has" \
    "DELETE FROM audit_chain.signing_keys WHERE key_id = '\\x$k1id'" \
    "false|$cp2|checkpoint $cp2 is signed by key $k1id, which is not in audit_chain.signing_keys*"
forged "a public key that does not hash to its key id" \
    "UPDATE audit_chain.signing_keys SET public_key = pg_read_file('$K/k2.pub') WHERE key_id = '\\x$k1id'" \
    "false|$cp2|the public key of key $k1id in audit_chain.signing_keys does not hash to its key_id*"
forged "a key id column changed to another key" \
    "UPDATE audit_chain.checkpoints SET key_id = '\\x$k2id' WHERE checkpoint_id = $cp2" \
    "false|$cp2|checkpoint $cp2: its key_id column is not the key_id line of its payload*"
forged "a signature removed" \
    "UPDATE audit_chain.checkpoints SET signature = NULL, key_id = NULL WHERE checkpoint_id = $cp2" \
    "false|$cp2|checkpoint $cp2: its key_id column is not the key_id line of its payload*"
forged "a middle checkpoint deleted" \
    "DELETE FROM audit_chain.checkpoint_heads WHERE checkpoint_id = $cp3; DELETE FROM audit_chain.checkpoints WHERE checkpoint_id = $cp3" \
    "false|$cp4|checkpoint $cp4 does not follow checkpoint $cp2: its previous digest is not the SHA-256 of that checkpoint's payload*"
forged "the first checkpoints deleted" \
    "DELETE FROM audit_chain.checkpoint_heads WHERE checkpoint_id <= $cp2; DELETE FROM audit_chain.checkpoints WHERE checkpoint_id <= $cp2" \
    "false|$cp3|checkpoint $cp3 follows a checkpoint that is no longer in audit_chain.checkpoints*"
expect "and nothing was left forged" "$(verify_sql | grep -c '|false|' || true)" 0

# signed checkpoints and their keys survive pg_dump and pg_restore (the
# checkpoints reference signing_keys: pg_dump loads the keys first)
pg_dump -Fc -d "$DB" -f "$TMP/sig.dump"
createdb sig_restored
pg_restore -d sig_restored "$TMP/sig.dump"
expect "restored: signing_keys and the signed checkpoints came back" \
    "$(psql_db sig_restored -qtA -c "SELECT (SELECT count(*) FROM audit_chain.signing_keys) || ' ' || count(signature) FROM audit_chain.checkpoints")" \
    "2 3"
expect "restored: verify_chain() finds every lane and checkpoint intact" \
    "$(psql_db sig_restored -qtA -c "SELECT bool_and(intact) || ' ' || max(rows_checked) FILTER (WHERE tbl = 'audit_chain.checkpoints'::regclass) FROM audit_chain.verify_chain()")" \
    "true 4"

# ------------------------------------------------------------------ 7
head3=$(jq -r .payload "$TMP/e3.json" | base64 -d | grep '^lane app.log 0 ' | cut -d' ' -f5)
ac_log "published checkpoint $cp3 recorded app.log lane 0 at chain_seq $head3"

# a truncated chain (and the checkpoints deleted) against the older export
got=$(psql_db "$DB" -qtA -v doc="$(cat "$TMP/e3.json")" <<'SQL'
BEGIN;
SET LOCAL session_replication_role = replica;
DELETE FROM app.log WHERE chain_seq > 25;
DELETE FROM audit_chain.checkpoint_heads;
DELETE FROM audit_chain.checkpoints;
DELETE FROM audit_chain.signing_keys;
SET LOCAL session_replication_role = origin;
SELECT format('%s|%s|%s', intact::text, first_bad_seq, problem)
  FROM audit_chain.verify_chain('app.log', published => :'doc'::json) WHERE lane = 0;
ROLLBACK;
SQL
)
expect "a cut tail is caught against the older exported checkpoint" "$got" \
    "false|26|the lane ends at chain_seq 25 but published checkpoint $cp3 recorded chain_seq $head3: rows were cut from the tail"

# the attack: the tail rewritten from seq 5 with every hash recomputed,
# every stored checkpoint and key deleted, and a new checkpoint taken
psql_db "$DB" -q >/dev/null <<'SQL'
SET session_replication_role = replica;
UPDATE app.log SET note = 'forged' WHERE chain_seq = 5;
DO $$
DECLARE
    s bigint;
    last bigint := (SELECT max(chain_seq) FROM app.log);
BEGIN
    FOR s IN 5..last LOOP
        IF s > 5 THEN
            UPDATE app.log SET chain_prev = (SELECT chain_hash FROM app.log WHERE chain_seq = s - 1)
             WHERE chain_seq = s;
        END IF;
        UPDATE app.log SET chain_hash = audit_chain.row_hash('app.log', 0, s) WHERE chain_seq = s;
    END LOOP;
END $$;
DELETE FROM audit_chain.checkpoint_heads;
DELETE FROM audit_chain.checkpoints;
DELETE FROM audit_chain.signing_keys;
DELETE FROM audit_chain.verification_log;
RESET session_replication_role;
SELECT audit_chain.checkpoint();
SQL
expect "after the attack, verify_chain() alone finds nothing" \
    "$(verify_sql | grep -c '|false|' || true)" 0
attacked=$(verify_sql "$TMP/e3.json" "$K/k1.pub")
expect "against the older exported checkpoint, the rewritten lane fails" \
    "$(grep '^app.log|0|' <<<"$attacked")" \
    "app.log|0|false|$head3|chain_seq $head3 differs from published checkpoint $cp3: the chain was rewritten"
expect "and the published checkpoint is missing from the database" \
    "$(grep '^audit_chain.checkpoints|' <<<"$attacked")" \
    "audit_chain.checkpoints|-|false|$cp3|published checkpoint $cp3 is missing from audit_chain.checkpoints"
fails "assert_intact() with the published checkpoint raises" XX001 \
    '*audit chain verification failed in 2 lane(s)*differs from published checkpoint*' \
    "CALL audit_chain.assert_intact(published => '$(cat "$TMP/e3.json")', trusted_key => '$(cat "$K/k1.pub")')"
expect "assert_intact() without it does not" \
    "$(q "CALL audit_chain.assert_intact()" 2>&1)" ""

ac_log "signing scenario passed"
