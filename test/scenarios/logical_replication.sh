#!/usr/bin/env bash
# test/scenarios/logical_replication.sh -- a central audit cluster receiving
# two publishers' chains by logical replication (README: "Logical replication
# to a central audit cluster"):
#
#  - publishers A and B (clusters of their own, wal_level = logical) keep
#    chained tables in schemas site_a and site_b; A signs its checkpoints;
#  - the publication guard refuses what cannot work: FOR ALL TABLES (it would
#    publish audit_chain.events), audit_chain.events by name, and chained
#    tables published with UPDATE or DELETE;
#  - central cluster C creates the same tables (their columns and the chain
#    columns), registers each with audit_chain.protect_replica() and the
#    publisher's audit_chain.export_chain(), and subscribes;
#  - rows arrive exactly as sealed (every chain column equal to the
#    publisher's), verify on C, and verify against each publisher's published
#    checkpoint (A's with A's public key); the central copy keeps up as both
#    lanes of A are written;
#  - local INSERT, UPDATE, DELETE and TRUNCATE on the copies are refused;
#  - tampering on C, by a superuser with triggers off, is caught: a changed
#    row by verify_chain() alone, a rewritten and re-hashed lane by the
#    publisher's checkpoint;
#  - C's own audit_chain.events and checkpoints are untouched by all this;
#  - archive() on A does not reach C, and A's checkpoints taken after it
#    (their lanes start after the archived rows) verify against C's copy;
#  - C dumped and restored (pg_dump -Fc, pg_restore): the copies are still
#    replica copies, verify, and refuse local writes.
#
# Starts its own three clusters through scripts/lib.sh.
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "${AC_LIB:-$(dirname "$0")/../../scripts/lib.sh}"

DB=app          # both publishers' database (the names need not differ)
CDB=central     # the central cluster's database
TMP=$(ac_tmpdir)
K=$TMP/keys
mkdir -p "$K"
chmod 755 "$K"
if ac_is_root; then SRV=postgres; else SRV=$(id -un); fi

expect() { # expect WHAT GOT WANT
    if [[ $2 != "$3" ]]; then
        ac_die "$1: got '$2', want '$3'"
    fi
    ac_log "ok: $1"
}

fails() { # fails WHAT CLUSTER DB SQLSTATE MESSAGE-GLOB SQL: must fail so
    local out
    if out=$(psql_on "$2" "$3" -qtA -v VERBOSITY=verbose -c "$6" 2>&1); then
        ac_die "$1: succeeded: $out"
    fi
    [[ $out == *"ERROR:  $4: "* ]] || ac_die "$1: want SQLSTATE $4, got: $out"
    # shellcheck disable=SC2053  # the pattern is a glob on purpose
    [[ $out == $5 ]] || ac_die "$1: want a message matching '$5', got: $out"
    ac_log "ok: $1 ($4)"
}

qa() { psql_on pub_a "$DB" -qtAc "$1"; }
qb() { psql_on pub_b "$DB" -qtAc "$1"; }
qc() { psql_on central "$CDB" -qtAc "$1"; }

# every chain column of every row, in chain order: equal on both sides when
# the rows arrived exactly as sealed
chain_digest() { # chain_digest TABLE
    echo "SELECT count(*) || ' ' || md5(coalesce(string_agg(
              concat_ws('|', chain_lane, chain_seq, chain_at, encode(chain_prev, 'hex'),
                        encode(chain_hash, 'hex'), t::text),
              ',' ORDER BY chain_lane, chain_seq), '')) FROM $1 t"
}

wait_rows() { # wait_rows TABLE COUNT: until the central copy holds COUNT rows
    local i n
    for ((i = 0; i < 600; i++)); do
        n=$(qc "SELECT count(*) FROM $1")
        [[ $n == "$2" ]] && return 0
        sleep 0.1
    done
    ac_die "the central copy of $1 holds $n rows after 60 s, want $2"
}

# ------------------------------------------------------------------ publishers
openssl genpkey -algorithm ed25519 -out "$K/a.pem" 2>/dev/null
openssl pkey -in "$K/a.pem" -pubout -out "$K/a.pub"
as_root chown "$SRV" "$K/a.pem"
as_root chmod 600 "$K/a.pem"

start_cluster pub_a wal_level=logical "audit_chain.signing_key_file=$K/a.pem"
start_cluster pub_b wal_level=logical
start_cluster central
on_cluster pub_a createdb "$DB"
on_cluster pub_b createdb "$DB"
on_cluster central createdb "$CDB"

psql_on pub_a "$DB" -q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION audit_chain;
CREATE SCHEMA site_a;
CREATE TABLE site_a.orders_audit (id bigint GENERATED ALWAYS AS IDENTITY, actor text NOT NULL,
                                  what text, amount numeric(12, 2), at timestamptz DEFAULT now());
SELECT audit_chain.protect('site_a.orders_audit', lanes => 2);
INSERT INTO site_a.orders_audit (actor, what, amount)
SELECT 'user' || g % 7, 'order ' || g, g * 1.25 FROM generate_series(1, 200) g;
SELECT audit_chain.log_event('admin', 'config_change', actor => 'site_a');
SQL
psql_on pub_b "$DB" -q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION audit_chain;
CREATE SCHEMA site_b;
CREATE TABLE site_b.access_log (id int, who text, door text, detail jsonb);
SELECT audit_chain.protect('site_b.access_log');
INSERT INTO site_b.access_log SELECT g, 'badge' || g % 11, 'door ' || g % 3, jsonb_build_object('n', g)
  FROM generate_series(1, 120) g;
SELECT audit_chain.log_event('admin', 'config_change', actor => 'site_b');
SQL

# ------------------------------------------------------------------ the publication guard
fails "CREATE PUBLICATION ... FOR ALL TABLES is refused (it would publish audit_chain.events)" \
    pub_a "$DB" 0A000 '*cannot publish all tables of a database with audit_chain*FOR ALL TABLES*audit_chain.events*export_events()*' \
    "CREATE PUBLICATION everything FOR ALL TABLES WITH (publish = 'insert')"
fails "publishing audit_chain.events by name is refused" \
    pub_a "$DB" 0A000 '*cannot publish audit_chain.events, which belongs to audit_chain*' \
    "CREATE PUBLICATION ev FOR TABLE audit_chain.events WITH (publish = 'insert')"
fails "publishing a chained table with UPDATE and DELETE (the default) is refused" \
    pub_a "$DB" 0A000 "*cannot publish chained table site_a.orders_audit with UPDATE, DELETE, TRUNCATE replicated*publish = 'insert'*" \
    "CREATE PUBLICATION pa FOR TABLE site_a.orders_audit"
fails "publishing a chained table's schema with DELETE is refused" \
    pub_b "$DB" 0A000 "*cannot publish chained table site_b.access_log with DELETE replicated*" \
    "CREATE PUBLICATION pb FOR TABLES IN SCHEMA site_b WITH (publish = 'insert, delete')"
expect "no publication was left behind by the refusals" "$(qa 'SELECT count(*) FROM pg_publication')" 0
qa "CREATE PUBLICATION pa FOR TABLE site_a.orders_audit WITH (publish = 'insert')" >/dev/null
qb "CREATE PUBLICATION pb FOR TABLES IN SCHEMA site_b WITH (publish = 'insert')" >/dev/null
ac_log "ok: publications of the chained tables with publish = 'insert' are accepted (by table on A, by schema on B)"
fails "ALTER PUBLICATION ... ADD TABLE audit_chain.events is refused" \
    pub_a "$DB" 0A000 '*cannot publish audit_chain.events*' \
    "ALTER PUBLICATION pa ADD TABLE audit_chain.events"
fails "ALTER PUBLICATION ... SET (publish = 'insert, update') is refused" \
    pub_a "$DB" 0A000 '*cannot publish chained table site_a.orders_audit with UPDATE replicated*' \
    "ALTER PUBLICATION pa SET (publish = 'insert, update')"
fails "unprotect() of a published table is refused (the copy would receive unsealed rows)" \
    pub_a "$DB" 55000 '*cannot unprotect "site_a.orders_audit", which publication pa publishes*' \
    "SELECT audit_chain.unprotect('site_a.orders_audit')"
expect "publication pa still publishes inserts only" \
    "$(qa "SELECT pubinsert::text || pubupdate::text || pubdelete::text FROM pg_publication WHERE pubname = 'pa'")" truefalsefalse

# ------------------------------------------------------------------ the central cluster
psql_on central "$CDB" -q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION audit_chain;
SELECT audit_chain.log_event('admin', 'config_change', actor => 'central');
-- the publishers' tables: their columns, in their order, then the chain columns
CREATE SCHEMA site_a;
CREATE TABLE site_a.orders_audit (id bigint, actor text NOT NULL, what text, amount numeric(12, 2),
                                  at timestamptz,
                                  chain_lane smallint, chain_seq bigint, chain_at timestamptz,
                                  chain_prev bytea, chain_hash bytea);
CREATE SCHEMA site_b;
CREATE TABLE site_b.access_log (id int, who text, door text, detail jsonb,
                                chain_lane smallint, chain_seq bigint, chain_at timestamptz,
                                chain_prev bytea, chain_hash bytea);
SQL
chain_a=$(qa "SELECT audit_chain.export_chain('site_a.orders_audit')")
chain_b=$(qb "SELECT audit_chain.export_chain('site_b.access_log')")
expect "export_chain() on A describes 2 lanes and 5 hashed columns" \
    "$(jq -c '[.format, .table, (.lanes | length), (.columns | length)]' <<<"$chain_a")" \
    '["audit_chain/chain-export/v1","site_a.orders_audit",2,5]'
fails "protect_replica() refuses B's description for A's table" \
    central "$CDB" 22023 '*chain description is of table site_b.access_log, not of site_a.orders_audit*' \
    "SELECT audit_chain.protect_replica('site_a.orders_audit', '$chain_b')"
psql_on central "$CDB" -q -v chain="$chain_a" \
    <<<"SELECT audit_chain.protect_replica('site_a.orders_audit', :'chain')" >/dev/null
psql_on central "$CDB" -q -v chain="$chain_b" \
    <<<"SELECT audit_chain.protect_replica('site_b.access_log', :'chain')" >/dev/null
expect "the copies' lanes carry the publishers' genesis" \
    "$(qc "SELECT string_agg(encode(genesis, 'hex'), ',' ORDER BY tbl::text, lane) FROM audit_chain.chains WHERE replica_of IS NOT NULL")" \
    "$(jq -r '[.lanes[].genesis] | join(",")' <<<"$chain_a"),$(jq -r '[.lanes[].genesis] | join(",")' <<<"$chain_b")"
expect "audit_chain.chains names the publisher of each copy" \
    "$(qc "SELECT string_agg(DISTINCT replica_of, ',' ORDER BY replica_of) FROM audit_chain.chains")" \
    "app site_a.orders_audit,app site_b.access_log"

qc "CREATE SUBSCRIPTION sub_a CONNECTION 'host=${AC_SOCKDIR[pub_a]} port=${AC_PORT[pub_a]} dbname=$DB user=postgres' PUBLICATION pa" >/dev/null
qc "CREATE SUBSCRIPTION sub_b CONNECTION 'host=${AC_SOCKDIR[pub_b]} port=${AC_PORT[pub_b]} dbname=$DB user=postgres' PUBLICATION pb" >/dev/null
wait_rows site_a.orders_audit 200
wait_rows site_b.access_log 120
ac_log "ok: the initial copy of both subscriptions arrived (200 + 120 rows)"

# ------------------------------------------------------------------ rows flowing
# two writers on A at once (both lanes), a checkpoint on each publisher
psql_on pub_a "$DB" -q -c "BEGIN; INSERT INTO site_a.orders_audit (actor, what, amount) VALUES ('slow', 'holds a lane', 1); SELECT pg_sleep(1.5); COMMIT;" >/dev/null &
slow=$!
sleep 0.3
for i in $(seq 1 20); do
    qa "INSERT INTO site_a.orders_audit (actor, what, amount) VALUES ('user$i', 'streamed', $i)" >/dev/null
done
wait "$slow"
qb "INSERT INTO site_b.access_log SELECT g, 'late', 'door 9', NULL FROM generate_series(121, 150) g" >/dev/null
expect "A's rows are in both of its lanes" "$(qa 'SELECT count(DISTINCT chain_lane) FROM site_a.orders_audit')" 2
cp_a=$(qa "SELECT audit_chain.checkpoint()")
cp_b=$(qb "SELECT audit_chain.checkpoint()")
doc_a=$(qa "SELECT audit_chain.export_checkpoint($cp_a)")
doc_b=$(qb "SELECT audit_chain.export_checkpoint($cp_b)")
expect "A's checkpoint is signed, B's is not" \
    "$(jq -r '.algorithm' <<<"$doc_a") $(jq -r '.algorithm' <<<"$doc_b")" "ed25519 null"
wait_rows site_a.orders_audit 221
wait_rows site_b.access_log 150

expect "A's rows arrived exactly as sealed (every chain column and value equal)" \
    "$(qc "$(chain_digest site_a.orders_audit)")" "$(qa "$(chain_digest site_a.orders_audit)")"
expect "B's rows arrived exactly as sealed (every chain column and value equal)" \
    "$(qc "$(chain_digest site_b.access_log)")" "$(qb "$(chain_digest site_b.access_log)")"
for lane in 0 1; do
    expect "lane_head() of A's lane $lane is the same on C" \
        "$(qc "SELECT seq || ' ' || encode(hash, 'hex') FROM audit_chain.lane_head('site_a.orders_audit', $lane)")" \
        "$(qa "SELECT seq || ' ' || encode(hash, 'hex') FROM audit_chain.lane_head('site_a.orders_audit', $lane)")"
done

# ------------------------------------------------------------------ verification on C
VERIFY="SELECT string_agg(format('%s/%s/%s/%s', tbl, coalesce(lane::text, 'cp'), rows_checked, intact), ' ' ORDER BY tbl::text, lane NULLS LAST) FROM audit_chain.verify_chain"
expect "verify_chain() on C: both copies intact" \
    "$(qc "$VERIFY() WHERE tbl::text LIKE 'site_%'")" \
    "site_a.orders_audit/0/$(qa 'SELECT count(*) FROM site_a.orders_audit WHERE chain_lane = 0')/t site_a.orders_audit/1/$(qa 'SELECT count(*) FROM site_a.orders_audit WHERE chain_lane = 1')/t site_b.access_log/0/150/t"
expect "verify_chain() of all of C is intact (its own events and boundaries too)" \
    "$(qc "SELECT bool_and(intact) FROM audit_chain.verify_chain()")" t
psql_on central "$CDB" -q -c "CALL audit_chain.assert_intact()" || ac_die "assert_intact() failed on C"
ac_log "ok: CALL audit_chain.assert_intact() passes on C"
expect "A's signed checkpoint verifies against C's copy, with A's public key" \
    "$(psql_on central "$CDB" -qtA -v doc="$doc_a" -v key="$(cat "$K/a.pub")" \
        <<<"SELECT string_agg(format('%s/%s', coalesce(lane::text, 'cp'), intact), ' ' ORDER BY lane NULLS LAST) FROM audit_chain.verify_chain('site_a.orders_audit', false, :'doc', :'key')")" \
    "0/t 1/t cp/t"
expect "B's checkpoint verifies against C's copy" \
    "$(psql_on central "$CDB" -qtA -v doc="$doc_b" \
        <<<"SELECT bool_and(intact) FROM audit_chain.verify_chain('site_b.access_log', false, :'doc')")" t
expect "both publishers' checkpoints at once verify the whole of C" \
    "$(psql_on central "$CDB" -qtA -v doc="[$doc_a, $doc_b]" \
        <<<"SELECT bool_and(intact) FROM audit_chain.verify_chain(NULL, false, :'doc')")" t
expect "B's checkpoint is refused with A's public key as the trusted key" \
    "$(psql_on central "$CDB" -qtA -v doc="$doc_b" -v key="$(cat "$K/a.pub")" \
        <<<"SELECT problem FROM audit_chain.verify_chain('site_b.access_log', false, :'doc', :'key') WHERE NOT intact")" \
    "published checkpoint $cp_b is not signed, but a trusted key was given"

# ------------------------------------------------------------------ local writes refused on C
fails "a local INSERT into a copy is refused" \
    central "$CDB" 0A000 '*cannot insert into table "orders_audit", which is a replica copy of a chained table*Write to the table on the publisher*' \
    "INSERT INTO site_a.orders_audit (id, actor) VALUES (1, 'intruder')"
fails "a local INSERT of a copied row's exact values is refused too" \
    central "$CDB" 0A000 '*cannot insert into table "access_log", which is a replica copy*' \
    "INSERT INTO site_b.access_log SELECT id + 1000, who, door, detail, chain_lane, chain_seq + 1000, chain_at, chain_prev, chain_hash FROM site_b.access_log ORDER BY chain_seq LIMIT 1"
fails "a local UPDATE of a copy is refused" \
    central "$CDB" 0A000 '*cannot update table "orders_audit", which is a replica copy of a chained table*' \
    "UPDATE site_a.orders_audit SET amount = 0 WHERE chain_seq = 1"
fails "a local DELETE from a copy is refused" \
    central "$CDB" 0A000 '*cannot delete from table "access_log", which is a replica copy of a chained table*' \
    "DELETE FROM site_b.access_log WHERE chain_seq = 1"
fails "TRUNCATE of a copy is refused" \
    central "$CDB" 0A000 '*cannot truncate chained table "orders_audit"*' \
    "TRUNCATE site_a.orders_audit"

# ------------------------------------------------------------------ tampering on C is caught
# (in A's lane with the most rows, which has a chain_seq 10)
L=$(qc "SELECT chain_lane FROM site_a.orders_audit GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
# a superuser with triggers off (session_replication_role = replica, as the
# apply worker) changes a row: verify_chain() alone catches it
expect "a changed row on C is caught by verify_chain()" \
    "$(psql_on central "$CDB" -qtA <<SQL
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE site_a.orders_audit SET amount = amount + 1000 WHERE chain_lane = $L AND chain_seq = 10;
SELECT first_bad_seq || ': ' || problem FROM audit_chain.verify_chain('site_a.orders_audit') WHERE lane = $L;
ROLLBACK;
SQL
)" "10: chain_hash of chain_seq 10 does not match the row's contents: the row was changed after it was sealed"

# the same row changed and the rest of its lane re-hashed (row_hash() gives
# the hash of the stored contents): consistent on its own, but not with
# what the publisher's checkpoint recorded
rewrite_sql="BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE site_a.orders_audit SET amount = amount + 1000 WHERE chain_lane = $L AND chain_seq = 10;
DO \$\$
DECLARE s bigint; prev bytea;
BEGIN
    SELECT chain_prev INTO prev FROM site_a.orders_audit WHERE chain_lane = $L AND chain_seq = 10;
    FOR s IN SELECT chain_seq FROM site_a.orders_audit WHERE chain_lane = $L AND chain_seq >= 10 ORDER BY chain_seq LOOP
        UPDATE site_a.orders_audit SET chain_prev = prev WHERE chain_lane = $L AND chain_seq = s;
        UPDATE site_a.orders_audit SET chain_hash = audit_chain.row_hash('site_a.orders_audit', $L, s)
         WHERE chain_lane = $L AND chain_seq = s RETURNING chain_hash INTO prev;
    END LOOP;
END
\$\$;
SELECT 'alone: ' || intact FROM audit_chain.verify_chain('site_a.orders_audit') WHERE lane = $L;
SELECT 'with A''s checkpoint: ' || intact || ': ' || problem
  FROM audit_chain.verify_chain('site_a.orders_audit', false, :'doc', :'key') WHERE lane = $L;
ROLLBACK;"
rewritten=$(psql_on central "$CDB" -qtA -v doc="$doc_a" -v key="$(cat "$K/a.pub")" <<<"$rewrite_sql")
expect "a re-hashed lane on C verifies on its own (nothing else to compare with)" \
    "$(head -n 1 <<<"$rewritten")" "alone: true"
# shellcheck disable=SC2053
[[ $(tail -n 1 <<<"$rewritten") == "with A's checkpoint: false: chain_seq "*" differs from the publisher's checkpoint $cp_a: the chain was rewritten" ]] ||
    ac_die "the re-hashed lane was not caught by A's checkpoint: $rewritten"
ac_log "ok: a re-hashed lane on C is caught by A's published checkpoint"
expect "a row cut from the tail of C's copy is caught by A's checkpoint" \
    "$(psql_on central "$CDB" -qtA -v doc="$doc_a" -v key="$(cat "$K/a.pub")" <<'SQL'
BEGIN;
SET LOCAL session_replication_role = replica;
DELETE FROM site_a.orders_audit WHERE chain_lane = 1
   AND chain_seq = (SELECT max(chain_seq) FROM site_a.orders_audit WHERE chain_lane = 1);
SELECT intact FROM audit_chain.verify_chain('site_a.orders_audit', false, :'doc', :'key') WHERE lane = 1;
ROLLBACK;
SQL
)" f
expect "C's lane genesis replaced (a superuser re-registering the copy) is caught by A's checkpoint" \
    "$(psql_on central "$CDB" -qtA -v doc="$doc_a" -v key="$(cat "$K/a.pub")" <<'SQL'
BEGIN;
UPDATE audit_chain.chains SET genesis = sha256('forged') WHERE tbl = 'site_a.orders_audit'::regclass AND lane = 1;
SELECT bool_and(intact) FROM audit_chain.verify_chain('site_a.orders_audit', false, :'doc', :'key');
ROLLBACK;
SQL
)" f
expect "after the rollbacks C's copy verifies against A's checkpoint again" \
    "$(psql_on central "$CDB" -qtA -v doc="$doc_a" -v key="$(cat "$K/a.pub")" \
        <<<"SELECT bool_and(intact) FROM audit_chain.verify_chain('site_a.orders_audit', false, :'doc', :'key')")" t

# ------------------------------------------------------------------ C's own record
qc "SELECT audit_chain.checkpoint()" >/dev/null
qa "INSERT INTO site_a.orders_audit (actor, what, amount) SELECT 'after', 'central checkpoint', g FROM generate_series(1, 30) g" >/dev/null
wait_rows site_a.orders_audit 251
expect "C's own checkpoint (which records the copies) and the new rows verify" \
    "$(qc "SELECT bool_and(intact) FROM audit_chain.verify_chain()")" t
expect "C's audit_chain.events holds only its own events" \
    "$(qc "SELECT string_agg(DISTINCT actor, ',') FROM audit_chain.events WHERE action = 'config_change'")" central
expect "no apply worker error in C's log" \
    "$(grep -c 'logical replication.*ERROR\|ERROR.*duplicate key' "${AC_LOGFILE[central]}" || true)" 0

# ------------------------------------------------------------------ A archives: C keeps every row
psql_on pub_a "$DB" -q -c "CALL audit_chain.archive('site_a.orders_audit', '1 microsecond')"
qa "INSERT INTO site_a.orders_audit (actor, what, amount) SELECT 'after', 'archive', g FROM generate_series(1, 5) g" >/dev/null
expect "A's live table holds only the rows written after its archive()" \
    "$(qa 'SELECT count(*) FROM site_a.orders_audit')" 5
cp_a2=$(qa "SELECT audit_chain.checkpoint()")
doc_a2=$(qa "SELECT audit_chain.export_checkpoint($cp_a2)")
wait_rows site_a.orders_audit 256
ac_log "ok: the archive() on A did not reach C, which holds all 256 rows"
expect "A's checkpoint after its archive() (its lanes start after the archived rows) verifies against C's copy" \
    "$(psql_on central "$CDB" -qtA -v doc="[$doc_a, $doc_a2]" -v key="$(cat "$K/a.pub")" \
        <<<"SELECT string_agg(format('%s/%s', coalesce(lane::text, 'cp'), intact), ' ' ORDER BY lane NULLS LAST) FROM audit_chain.verify_chain('site_a.orders_audit', false, :'doc', :'key')")" \
    "0/t 1/t cp/t"
# with C's own checkpoints deleted too, so that only A's can tell
boundary_check=$(psql_on central "$CDB" -qtA -v doc="$doc_a2" -v key="$(cat "$K/a.pub")" <<SQL
BEGIN;
SET LOCAL session_replication_role = replica;
DELETE FROM audit_chain.checkpoint_heads;
DELETE FROM audit_chain.checkpoints;
-- the row at the boundary, re-hashed so that only the checkpoint can tell
UPDATE site_a.orders_audit SET what = 'rewritten' WHERE chain_lane = $L
   AND chain_seq = (SELECT max(chain_seq) FROM site_a.orders_audit WHERE chain_lane = $L AND what <> 'archive');
UPDATE site_a.orders_audit SET chain_hash = audit_chain.row_hash('site_a.orders_audit', $L, chain_seq)
 WHERE chain_lane = $L AND what = 'rewritten';
SELECT intact || ': ' || problem FROM audit_chain.verify_chain('site_a.orders_audit', false, :'doc', :'key') WHERE lane = $L;
ROLLBACK;
SQL
)
# shellcheck disable=SC2053
[[ $boundary_check == "false: chain_seq "*" differs from the publisher's checkpoint $cp_a2: the chain was rewritten" ]] ||
    ac_die "a row at A's archive boundary changed and re-hashed on C was not caught by A's checkpoint: $boundary_check"
ac_log "ok: a row at A's archive boundary changed and re-hashed on C (its own checkpoints deleted) is caught by A's checkpoint"

# ------------------------------------------------------------------ C restored from a dump
on_cluster central pg_dump -Fc --no-subscriptions -f "$TMP/central.dump" "$CDB"
on_cluster central createdb central_restored
on_cluster central pg_restore --exit-on-error -d central_restored "$TMP/central.dump"
qr() { psql_on central central_restored -qtAc "$1"; }
expect "the restored copies are still replica copies, with the publishers' genesis" \
    "$(qr "SELECT string_agg(encode(genesis, 'hex'), ',' ORDER BY tbl::text, lane) FROM audit_chain.chains WHERE replica_of IS NOT NULL")" \
    "$(qc "SELECT string_agg(encode(genesis, 'hex'), ',' ORDER BY tbl::text, lane) FROM audit_chain.chains WHERE replica_of IS NOT NULL")"
expect "the restored database verifies, against both publishers' checkpoints too" \
    "$(psql_on central central_restored -qtA -v doc="[$doc_a, $doc_b]" \
        <<<"SELECT bool_and(intact) FROM audit_chain.verify_chain(NULL, false, :'doc')")" t
fails "a local INSERT into a restored copy is refused" \
    central central_restored 0A000 '*cannot insert into table "orders_audit", which is a replica copy of a chained table*' \
    "INSERT INTO site_a.orders_audit (id, actor) VALUES (1, 'intruder')"
ac_log "logical replication scenario passed"
