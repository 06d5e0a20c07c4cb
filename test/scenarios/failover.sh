#!/usr/bin/env bash
# test/scenarios/failover.sh -- chains survive a failover: a primary with a
# synchronous streaming standby (synchronous_standby_names = '*',
# synchronous_commit = on: a commit is acknowledged once the standby has
# flushed its WAL), four writers on a 4-lane chained table and on
# audit_chain.events (log_event()), each writing down every transaction it got
# a commit acknowledgement for.  Signed checkpoints are taken and exported
# before the failover, one of them while the writers run.  Then the primary's
# postmaster is killed (kill -9) mid-write, the standby promoted, and the
# writers reconnect to it and go on.  Checked on the new primary:
#
#  1. every acknowledged row (ledger rows and events) is there;
#  2. verify_chain() finds every lane, of the table and of events, intact,
#     and the checkpoints too; the seqs of each lane are 1..n without a gap;
#     verify_chain(incremental => true) goes on from the run the old primary
#     logged;
#  3. the first row written after the failover in each lane follows the last
#     row written before it (seq n+1, chain_prev = its chain_hash), in all 4
#     lanes of the table and all 16 of events;
#  4. a session opened on the standby before the failover (verifying there)
#     writes rows and events once it is promoted;
#  5. a SIEM shipper's export_events() cursor from before the failover
#     resumes: every event shipped exactly once;
#  6. a prepared transaction holding the only lane of a table keeps that lane
#     locked across the failover; after COMMIT PREPARED the lane goes on;
#  7. the checkpoints exported before the failover still verify
#     (verify_chain(published => ..., trusted_key => ...)); a checkpoint taken
#     after the failover is signed by the same key and chains onto them;
#     audit_chain_verify (the offline verifier) agrees.
#
# Then what asynchronous replication gives: a second, asynchronous standby
# that has fallen behind (its WAL receiver stopped) is promoted after a
# crash, so rows, events and a checkpoint the clients were told were
# committed are lost.  verify_chain() alone cannot see it (the chain is
# merely shorter); verify_chain() with the published checkpoint names the
# cut tail and the missing checkpoint and, once new rows take the lost seqs,
# a rewritten chain (audit_chain_verify too, exit 1); the shipper's cursor is
# refused (22023), with a hint that names the lagging standby.
#
# AC_FAILOVER_SYNC=0 makes the first standby asynchronous too: then check 1
# usually fails (it did in 2 runs of 3), which shows that it can.
#
# Starts its own clusters through scripts/lib.sh.
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "${AC_LIB:-$(dirname "$0")/../../scripts/lib.sh}"

for tool in openssl jq stdbuf; do
    command -v "$tool" >/dev/null || ac_die "$tool is needed"
done

DB=ac_failover
TMP=$(ac_tmpdir)
K=$TMP/keys
W=$TMP/writers
WRITERS=4
ROWS_BEFORE_CP=${AC_FAILOVER_ROWS_CP:-150}      # ledger rows before the mid-write checkpoint
ROWS_BEFORE_KILL=${AC_FAILOVER_ROWS_KILL:-400}  # ledger rows before the kill
ACKS_AFTER=${AC_FAILOVER_ACKS_AFTER:-50}        # acknowledged transactions of each writer after the failover
mkdir -p "$K" "$W"
chmod 755 "$K" "$W"
if ac_is_root; then SRV=postgres; else SRV=$(id -un); fi

expect() { # expect WHAT GOT WANT
    if [[ $2 != "$3" ]]; then
        ac_die "$1: got '$2', want '$3'"
    fi
    ac_log "ok: $1"
}
q() { # q CLUSTER SQL: one value, unaligned
    psql_on "$1" "$DB" -qtAc "$2"
}

# ------------------------------------------------------------------ key
openssl genpkey -algorithm ed25519 -out "$K/k.pem" 2>/dev/null
openssl pkey -in "$K/k.pem" -pubout -out "$K/k.pub"
as_root chown "$SRV" "$K/k.pem"
as_root chmod 600 "$K/k.pem"
keyid=$(openssl pkey -pubin -in "$K/k.pub" -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)

# ------------------------------------------------------------------ primary
# The key file is named in postgresql.conf, which pg_basebackup copies: the
# standby signs with the same key, found at the same path.
start_cluster primary wal_level=replica max_wal_senders=5 hot_standby=on \
    max_prepared_transactions=10 "audit_chain.signing_key_file=$K/k.pem"
on_cluster primary createdb "$DB"
psql_on primary "$DB" -q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION audit_chain;
-- era: the cluster the row was written on (seed, primary, standby)
CREATE TABLE public.ledger (tag text NOT NULL, part int NOT NULL, era text NOT NULL,
                            amount numeric(12, 2), at timestamptz DEFAULT clock_timestamp());
SELECT audit_chain.protect('public.ledger', lanes => 4);
CREATE TABLE public.prep (id int);
SELECT audit_chain.protect('public.prep');
INSERT INTO public.ledger (tag, part, era, amount)
SELECT 'seed' || g, 1, 'seed', g FROM generate_series(1, 40) g;
INSERT INTO public.prep VALUES (1), (2);
CREATE SEQUENCE public.fill_barrier;
SELECT nextval('public.fill_barrier');
SELECT audit_chain.log_event('admin', 'seed', details => '{"era": "seed"}');
SQL

# ------------------------------------------------------------------ synchronous standby
# The standby must not wait for a standby of its own once promoted.
start_standby primary standby synchronous_standby_names=
# AC_FAILOVER_SYNC=0 leaves the standby asynchronous: then the check of the
# acknowledged rows below may fail, as it should (a look at the test's power)
SYNC_STATE=sync
if [[ ${AC_FAILOVER_SYNC:-1} == 1 ]]; then
    set_conf primary synchronous_standby_names '*'
else
    SYNC_STATE=async
fi
set_conf primary synchronous_commit on
q primary 'SELECT pg_reload_conf()' >/dev/null
for _ in $(seq 1 100); do
    [[ $(q primary "SELECT count(*) FROM pg_stat_replication WHERE sync_state = '$SYNC_STATE'") == 1 ]] && break
    sleep 0.1
done
expect "the standby streams ${SYNC_STATE}hronously (pg_stat_replication.sync_state)" \
    "$(q primary "SELECT sync_state FROM pg_stat_replication")" "$SYNC_STATE"
expect "the primary runs with synchronous_commit = on" "$(q primary 'SHOW synchronous_commit')" on

fill_lanes() { # fill_lanes CLUSTER N SQL...: N sessions at once, each writes events with its SQL and
    # keeps its transaction open until all N held a lane of audit_chain.events
    # at the same time (whoever sees it bumps public.fill_barrier, which is
    # not transactional): as a writer takes a free lane, each gets its own
    local c=$1 n=$2 i pids=() start
    shift 2
    start=$(q "$c" "SELECT last_value FROM public.fill_barrier")
    for ((i = 0; i < n; i++)); do
        q "$c" "BEGIN; SET LOCAL statement_timeout = '60s'; $1;
                DO \$\$ BEGIN
                    WHILE (SELECT last_value FROM public.fill_barrier) = $start LOOP
                        IF (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 16707
                              AND classid = 'audit_chain.events'::regclass::oid) >= $n THEN
                            PERFORM nextval('public.fill_barrier');
                        END IF;
                        PERFORM pg_sleep(0.05);
                    END LOOP;
                END \$\$; COMMIT;" >/dev/null &
        pids+=("$!")
        (($# > 0)) && shift
    done
    for i in "${pids[@]}"; do wait "$i" || ac_die "a session of fill_lanes failed"; done
}
# sixteen transactions at once, each holding a lane of audit_chain.events
seed_events=()
for n in $(seq 1 16); do
    seed_events+=("SELECT audit_chain.log_event('admin', 'seed$n', details => '{\"era\": \"seed\"}')")
done
fill_lanes primary 16 "${seed_events[@]}"
expect "audit_chain.events has rows in all 16 lanes" \
    "$(q primary "SELECT count(DISTINCT chain_lane) FROM audit_chain.events")" 16

cp1=$(q primary "SELECT audit_chain.checkpoint()")
q primary "SELECT audit_chain.export_checkpoint($cp1)" >"$TMP/cp1.json"
expect "checkpoint $cp1 is signed by the key" "$(jq -r .key_id "$TMP/cp1.json")" "$keyid"

# A session opened on the standby before the failover (a reader, say behind
# a pooler): it verifies there, read-only, and writes once promoted.
mkfifo "$TMP/held.fifo"
psql_on standby "$DB" -qtA <"$TMP/held.fifo" >"$TMP/held.out" 2>&1 &
held_pid=$!
exec 3>"$TMP/held.fifo"
echo "SELECT 'standby ' || pg_is_in_recovery() || ' ' || bool_and(intact) FROM audit_chain.verify_chain();" >&3

# A prepared transaction holding the only lane of public.prep (seq 3)
q primary "BEGIN; INSERT INTO public.prep VALUES (3); PREPARE TRANSACTION 'ac_failover_prep';" >/dev/null

# ------------------------------------------------------------------ writers
# Each writer keeps one psql session, fed by a generator, on the cluster
# named in $W/target.  Every transaction is followed by an \echo that psql
# reaches only once the COMMIT (or the autocommit statement) returned: the
# acknowledgements, line-buffered into $W/ack.N.  When the session is lost,
# the writer reconnects to whatever $W/target names by then, with a new
# attempt number, so every tag is unique.
gen() { # gen WRITER ATTEMPT ERA: SQL for psql, without end
    local i=0 tag
    while :; do
        i=$((i + 1))
        tag="w$1.a$2.$i"
        if ((i % 2)); then
            printf '%s\n' "BEGIN;" \
                "INSERT INTO public.ledger (tag, part, era, amount) VALUES ('$tag', 1, '$3', $i), ('$tag', 2, '$3', -$i);" \
                "SELECT audit_chain.log_event('api_request', '$tag', actor => 'writer$1', details => '{\"era\": \"$3\"}');" \
                "COMMIT;" \
                "\\echo tx $tag $3"
        else
            printf '%s\n' \
                "INSERT INTO public.ledger (tag, part, era, amount) VALUES ('$tag', 1, '$3', $i);" \
                "\\echo row $tag $3" \
                "SELECT audit_chain.log_event('data_access', '$tag', actor => 'writer$1', details => '{\"era\": \"$3\"}');" \
                "\\echo event $tag $3"
        fi
    done
}

writer() { # writer N: runs until $W/stop exists
    local n=$1 attempt=0 target
    while [[ ! -e $W/stop ]]; do
        attempt=$((attempt + 1))
        target=$(cat "$W/target")
        gen "$n" "$attempt" "$target" |
            PGCONNECT_TIMEOUT=2 stdbuf -oL "$AC_PGBIN/psql" -X -q -tA -v ON_ERROR_STOP=1 -o /dev/null \
                -h "${AC_SOCKDIR[$target]}" -p "${AC_PORT[$target]}" -U postgres -d "$DB" \
                >>"$W/ack.$n" 2>>"$W/err.$n" &
        echo "$!" >"$W/psql.$n"
        wait "$!" 2>/dev/null || true
        sleep 0.1
    done
}

stop_writers() {
    local n pid
    touch "$W/stop"
    for pid in "${writer_pids[@]}"; do
        while kill -0 "$pid" 2>/dev/null; do
            for n in $(seq 1 "$WRITERS"); do
                [[ -s $W/psql.$n ]] && { kill "$(cat "$W/psql.$n")" 2>/dev/null || true; }
            done
            sleep 0.1
        done
    done
    writer_pids=()
}
writer_pids=()
ac_defer stop_writers

acks() { # acks [ERA]: acknowledged transactions so far
    cat "$W"/ack.* 2>/dev/null | grep -c " ${1:-}" || true
}
wait_for() { # wait_for WHAT SECONDS COMMAND...: until COMMAND succeeds
    local what=$1 limit=$2 i
    shift 2
    for ((i = 0; i < limit * 10; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    ac_die "timed out after ${limit}s waiting for $what"
}
ship_from() { # ship_from CLUSTER CURSOR FILE: a SIEM shipper's export_events() after CURSOR ('' for the start)
    psql_on "$1" "$DB" -q -A -t -F $'\t' -v cursor="$2" >"$3" <<'SQL'
SELECT line, next_cursor FROM audit_chain.export_events(NULLIF(:'cursor', ''), 1000000)
SQL
}
ledger_rows_at_least() { (($(q primary "SELECT count(*) FROM public.ledger") >= $1)); }
each_writer_acked() { # each_writer_acked ERA N: every writer has N acknowledgements from ERA
    local n
    for n in $(seq 1 "$WRITERS"); do
        (($(grep -c " $1\$" "$W/ack.$n" || true) >= $2)) || return 1
    done
}

echo primary >"$W/target"
for n in $(seq 1 "$WRITERS"); do
    writer "$n" 3>&- &    # not the fifo of the held session
    writer_pids+=("$!")
done
t0=$SECONDS
wait_for "$ROWS_BEFORE_CP ledger rows" 60 ledger_rows_at_least "$ROWS_BEFORE_CP"

# a checkpoint while the writers run
cp2=$(q primary "SELECT audit_chain.checkpoint()")
q primary "SELECT audit_chain.export_checkpoint($cp2)" >"$TMP/cp2.json"
ac_log "checkpoint $cp2 taken and exported mid-write ($(q primary "SELECT count(*) FROM public.ledger") ledger rows)"
# a verification (it writes verification_log, for verify_chain(incremental))
# and a SIEM shipper's export of every event so far, while the writers run
q primary "SELECT count(*) FROM audit_chain.verify_chain() WHERE NOT intact" >/dev/null
ship_from primary "" "$TMP/ship1.rows"
cursor=$(tail -n 1 "$TMP/ship1.rows" | cut -f2)
ac_log "verify_chain() run and $(wc -l <"$TMP/ship1.rows") events shipped (export_events()) mid-write"
wait_for "$ROWS_BEFORE_KILL ledger rows" 60 ledger_rows_at_least "$ROWS_BEFORE_KILL"

# ------------------------------------------------------------------ kill the primary
pm=$(head -n 1 "${AC_PGDATA[primary]}/postmaster.pid")
children=$(pgrep -P "$pm" | tr '\n' ' ' || true)
acked_before=$(acks primary)
kill -KILL "$pm"
ac_log "killed the primary's postmaster (kill -9 $pm) with $acked_before acknowledged transactions and $WRITERS writers running"
# its backends notice the postmaster's death and exit on their own
for _ in $(seq 1 50); do
    alive=
    for c in $children; do kill -0 "$c" 2>/dev/null && alive+="$c "; done
    [[ -z $alive ]] && break
    sleep 0.1
done
for c in ${alive:-}; do kill -KILL "$c" 2>/dev/null || true; done
# every row the old primary sealed was sealed before now, every row of the
# new primary after
tkill=$(date -u '+%Y-%m-%d %H:%M:%S.%6N+00')
rm -f "${AC_PGDATA[primary]}/postmaster.pid"   # so that the cleanup does not try to stop it

promote_cluster standby
expect "the standby was promoted" "$(q standby 'SELECT pg_is_in_recovery()')" f
echo standby >"$W/target"
# the session opened on the standby writes now
printf '%s\n' "SELECT 'promoted ' || pg_is_in_recovery() || ' ' || bool_and(intact) FROM audit_chain.verify_chain();" \
    "INSERT INTO public.ledger (tag, part, era) VALUES ('held', 1, 'standby');" \
    "SELECT audit_chain.log_event('admin', 'held');" "\\echo held done" >&3
exec 3>&-
wait "$held_pid" || { cat "$TMP/held.out" >&2; ac_die "the session opened on the standby failed after the promotion"; }
expect "a session opened on the standby before the failover verified there, and once promoted writes rows and events" \
    "$(grep -v '^[0-9a-f-]\{36\}$' "$TMP/held.out" | tr '\n' '|')" "standby true true|promoted false true|held done|"
wait_for "$ACKS_AFTER acknowledged transactions of each writer on the new primary" 60 each_writer_acked standby "$ACKS_AFTER"
stop_writers
ac_log "writers stopped after $((SECONDS - t0)) s: $(acks primary) transactions acknowledged by the old primary, $(acks standby) by the new one"
lost_sessions=$(cat "$W"/err.* | grep -ciE 'server closed the connection|terminat|connection to server' || true)
((lost_sessions >= 1)) || ac_die "no writer lost its session: the kill did not come mid-write"
ac_log "ok: the writers' sessions were cut off by the kill ($lost_sessions connection errors)"
for n in $(seq 1 "$WRITERS"); do
    expect "writer $n reconnected to the new primary and went on" \
        "$( (($(grep -c ' standby$' "$W/ack.$n" || true) > 0)) && echo yes)" yes
done

# Sixteen transactions at once, each holding a lane of events, four of them
# a lane of the ledger too: every lane gets a row written after the failover.
finals=()
for n in $(seq 1 16); do
    sql="SELECT audit_chain.log_event('admin', 'final$n', details => '{\"era\": \"standby\"}')"
    ((n <= 4)) && sql+="; INSERT INTO public.ledger (tag, part, era) VALUES ('final$n', 1, 'standby')"
    finals+=("$sql")
done
fill_lanes standby 16 "${finals[@]}"

# ------------------------------------------------------------------ 1. acknowledged rows
awk '{ print $1 "\t" $2 "\t" $3 }' "$W"/ack.* >"$TMP/acks.tsv"
psql_on standby "$DB" -q -c "CREATE TABLE public.acks (kind text, tag text, era text)" \
    -c "\\copy public.acks FROM '$TMP/acks.tsv'"
expect "acknowledged transactions recorded (no duplicate tags)" \
    "$(q standby "SELECT count(*) = count(DISTINCT (kind, tag)) FROM public.acks")" t
missing_rows=$(q standby "SELECT count(*) FROM public.acks a
    LEFT JOIN (SELECT tag, count(*) n FROM public.ledger GROUP BY tag) l USING (tag)
    WHERE a.kind IN ('tx', 'row') AND coalesce(l.n, 0) <> CASE a.kind WHEN 'tx' THEN 2 ELSE 1 END")
expect "every acknowledged ledger row is on the new primary ($(q standby "SELECT count(*) FROM public.acks WHERE kind IN ('tx', 'row')") transactions)" \
    "$missing_rows" 0
missing_events=$(q standby "SELECT count(*) FROM public.acks a
    WHERE a.kind IN ('tx', 'event')
      AND NOT EXISTS (SELECT 1 FROM audit_chain.events e WHERE e.action = a.tag)")
expect "every acknowledged event is on the new primary ($(q standby "SELECT count(*) FROM public.acks WHERE kind IN ('tx', 'event')") of them)" \
    "$missing_events" 0
ac_log "committed on the old primary and replicated, but never acknowledged (the kill came first): $(q standby \
    "SELECT count(DISTINCT tag) FROM public.ledger l WHERE era = 'primary' AND NOT EXISTS (SELECT 1 FROM public.acks a WHERE a.tag = l.tag)") ledger transaction(s)"

# ------------------------------------------------------------------ 2. verification
# first, before any verification on the new primary: the incremental run
# starts from the one the old primary logged mid-write
inc=$(q standby "SELECT sum(rows_checked) || ' ' || bool_and(intact) FROM audit_chain.verify_chain(incremental => true)
                  WHERE tbl <> 'audit_chain.checkpoints'::regclass")
full=$(q standby "SELECT count(*) FROM public.ledger")
full=$((full + $(q standby "SELECT count(*) FROM audit_chain.events") + 2))
expect "verify_chain(incremental => true) goes on from the run logged on the old primary: intact (${inc% *} of $full rows checked)" \
    "$( ((${inc% *} > 0 && ${inc% *} < full)) && echo "${inc#* }")" true
VERIFY_SQL="SELECT string_agg(format('%s/%s/%s/%s', tbl, coalesce(lane::text, '-'), rows_checked, intact), ' ' ORDER BY tbl::text, lane) FROM audit_chain.verify_chain() WHERE rows_checked > 0"
got=$(q standby "$VERIFY_SQL")
ac_log "verify_chain() on the new primary: $got"
[[ $got != *false* ]] || ac_die "a lane does not verify after the failover: $got"
expect "verify_chain(): no lane and no checkpoint broken" \
    "$(q standby "SELECT count(*) FROM audit_chain.verify_chain() WHERE NOT intact")" 0
expect "the ledger's 4 lanes were all checked" \
    "$(q standby "SELECT count(*) FROM audit_chain.verify_chain('public.ledger') WHERE rows_checked > 0")" 4
psql_on standby "$DB" -q -c 'CALL audit_chain.assert_intact()'
ac_log "ok: CALL audit_chain.assert_intact() passes"
gaps=$(q standby "SELECT coalesce(string_agg(format('%s lane %s: %s rows, seq %s..%s', t, l, n, lo, hi), '; '), '')
            FROM (SELECT 'ledger' t, chain_lane l, count(*) n, min(chain_seq) lo, max(chain_seq) hi,
                         count(DISTINCT chain_seq) d FROM public.ledger GROUP BY chain_lane
                  UNION ALL
                  SELECT 'events', chain_lane, count(*), min(chain_seq), max(chain_seq),
                         count(DISTINCT chain_seq) FROM audit_chain.events GROUP BY chain_lane) s
           WHERE lo <> 1 OR hi <> n OR d <> n")
expect "every lane of the ledger and of events is seq 1..n without a gap or a duplicate" "$gaps" ""

# ------------------------------------------------------------------ 3. lanes continue
# per lane: the last row sealed before the kill, the first after it (on the
# new primary: the old one sealed nothing after the kill)
CONT_SQL="WITH r AS (SELECT chain_lane, chain_seq, chain_prev, chain_hash, chain_at > '$tkill' AS after FROM %s),
     b AS (SELECT DISTINCT ON (chain_lane) * FROM r WHERE NOT after ORDER BY chain_lane, chain_seq DESC),
     a AS (SELECT DISTINCT ON (chain_lane) * FROM r WHERE after ORDER BY chain_lane, chain_seq)
SELECT count(*) || ' ' || count(*) FILTER (WHERE a.chain_seq = b.chain_seq + 1 AND a.chain_prev = b.chain_hash
                                           AND NOT EXISTS (SELECT 1 FROM r WHERE r.chain_lane = a.chain_lane
                                                            AND NOT r.after AND r.chain_seq > a.chain_seq))
  FROM a JOIN b USING (chain_lane)"
# shellcheck disable=SC2059  # CONT_SQL is a format on purpose
expect "each of the ledger's 4 lanes continues after the failover: the first new row is seq n+1, linked to the last row before" \
    "$(q standby "$(printf "$CONT_SQL" public.ledger)")" "4 4"
# shellcheck disable=SC2059
expect "each of the 16 lanes of audit_chain.events continues the same way" \
    "$(q standby "$(printf "$CONT_SQL" audit_chain.events)")" "16 16"

# the shipper goes on from its cursor: every event exactly once
ship_from standby "$cursor" "$TMP/ship2.rows"
cut -f1 "$TMP/ship1.rows" "$TMP/ship2.rows" | jq -r .event.id | sort >"$TMP/shipped.ids"
expect "the shipper's cursor from before the failover resumes on the new primary: every event shipped once ($(wc -l <"$TMP/ship2.rows") more)" \
    "$(sort -u "$TMP/shipped.ids" | wc -l) $(wc -l <"$TMP/shipped.ids")" \
    "$(q standby "SELECT count(*) FROM audit_chain.events") $(q standby "SELECT count(*) FROM audit_chain.events")"

# ------------------------------------------------------------------ 4. the prepared transaction
expect "the prepared transaction survived the failover" \
    "$(q standby "SELECT count(*) FROM pg_prepared_xacts WHERE gid = 'ac_failover_prep'")" 1
expect "and still holds the lane lock of public.prep on the new primary" \
    "$(q standby "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid IS NULL AND granted
                   AND classid = 'public.prep'::regclass::oid AND objid = 0 AND objsubid = 16707")" 1
if psql_on standby "$DB" -q -c "SET lock_timeout = '500ms'; INSERT INTO public.prep VALUES (4)" 2>"$TMP/prep.err"; then
    ac_die "a writer got the lane of public.prep while the prepared transaction held it"
fi
grep -q 'lock timeout' "$TMP/prep.err" || { cat "$TMP/prep.err" >&2; ac_die "unexpected error from the blocked writer"; }
ac_log "ok: a writer waits for that lane"
q standby "COMMIT PREPARED 'ac_failover_prep'" >/dev/null
q standby "INSERT INTO public.prep VALUES (4)" >/dev/null
expect "after COMMIT PREPARED the lane goes on: 1, 2, 3 (prepared on the old primary), 4" \
    "$(q standby "SELECT string_agg(id || ':' || chain_seq, ',' ORDER BY chain_seq) FROM public.prep")" "1:1,2:2,3:3,4:4"

# ------------------------------------------------------------------ 5. checkpoints
jq -s . "$TMP/cp1.json" "$TMP/cp2.json" >"$TMP/before.json"
verify_published() { # verify_published FILE: broken rows of verify_chain(published, trusted key)
    psql_on standby "$DB" -qtA -v doc="$(cat "$1")" -v key="$(cat "$K/k.pub")" <<'SQL'
SELECT count(*) FILTER (WHERE NOT intact) || ' ' || coalesce(string_agg(problem, '; ') FILTER (WHERE NOT intact), '')
  FROM audit_chain.verify_chain(published => :'doc'::json, trusted_key => :'key')
SQL
}
expect "checkpoints $cp1 and $cp2, exported before the failover, verify against the new primary with the trusted key" \
    "$(verify_published "$TMP/before.json")" "0 "
cp3=$(q standby "SELECT audit_chain.checkpoint()")
q standby "SELECT audit_chain.export_checkpoint($cp3)" >"$TMP/cp3.json"
ac_log "checkpoint $cp3 taken on the new primary (after $cp2: the id sequence may skip values at a failover)"
expect "it is signed by the same key (the standby reads the same key file)" "$(jq -r .key_id "$TMP/cp3.json")" "$keyid"
expect "its previous digest is the SHA-256 of checkpoint $cp2's payload" \
    "$(jq -r .payload "$TMP/cp3.json" | base64 -d | sed -n 5p)" \
    "previous $(jq -r .payload "$TMP/cp2.json" | base64 -d | sha256sum | cut -d' ' -f1)"
expect "verify_chain() checks the 3 checkpoints, intact" \
    "$(q standby "SELECT rows_checked || ' ' || intact FROM audit_chain.verify_chain() WHERE tbl = 'audit_chain.checkpoints'::regclass")" \
    "3 true"
jq -s . "$TMP/cp1.json" "$TMP/cp2.json" "$TMP/cp3.json" >"$TMP/all.json"
expect "all three published checkpoints verify" "$(verify_published "$TMP/all.json")" "0 "

# ------------------------------------------------------------------ 6. offline verifier
V=$AC_PGBIN/audit_chain_verify
if [[ -x $V ]]; then
    if ! "$V" --quiet --dbname "host=${AC_SOCKDIR[standby]} port=${AC_PORT[standby]} user=postgres dbname=$DB" \
        --checkpoint "$TMP/cp1.json" --checkpoint "$TMP/cp2.json" --checkpoint "$TMP/cp3.json" \
        --public-key "$K/k.pub" >"$TMP/verify.out" 2>&1; then
        cat "$TMP/verify.out" >&2
        ac_die "audit_chain_verify fails against the new primary"
    fi
    ac_log "ok: audit_chain_verify with the three checkpoints and the public key: $(tail -n 1 "$TMP/verify.out")"
else
    ac_warn "skip: $V is not installed"
fi

# ------------------------------------------------------------------ asynchronous replication
# The new primary gets an asynchronous standby (synchronous_standby_names
# stays empty) that falls behind: its WAL receiver is stopped
# (primary_conninfo emptied).  What the clients then commit, and a checkpoint
# published meanwhile, are lost when the primary crashes and that standby is
# promoted.
start_standby standby async synchronous_standby_names=
wait_replay standby async 60
expect "the second standby streams asynchronously" \
    "$(q standby "SELECT sync_state FROM pg_stat_replication")" async
heads_async=$(q standby "SELECT count(*) FROM public.ledger")
# (pg_basebackup -R wrote primary_conninfo into postgresql.auto.conf)
q async "ALTER SYSTEM SET primary_conninfo = ''" >/dev/null
q async 'SELECT pg_reload_conf()' >/dev/null
for _ in $(seq 1 100); do
    [[ $(q standby "SELECT count(*) FROM pg_stat_replication") == 0 ]] && break
    sleep 0.1
done
expect "the asynchronous standby stopped receiving" "$(q standby "SELECT count(*) FROM pg_stat_replication")" 0
# the shipper is up to date before the loss
cursor=$(tail -n 1 "$TMP/ship2.rows" | cut -f2)
ship_from standby "$cursor" "$TMP/ship3.rows"
[[ -s $TMP/ship3.rows ]] && cursor=$(tail -n 1 "$TMP/ship3.rows" | cut -f2)
q standby "INSERT INTO public.ledger (tag, part, era) SELECT 'async' || g, 1, 'async' FROM generate_series(1, 10) g" >/dev/null
q standby "SELECT count(audit_chain.log_event('api_request', 'lost' || g)) FROM generate_series(1, 5) g" >/dev/null
ev_lost=$(q standby "SELECT chain_lane || ' ' || chain_seq FROM audit_chain.events WHERE action = 'lost5'")
ship_from standby "$cursor" "$TMP/ship4.rows"
expect "the shipper shipped the 5 events logged meanwhile" "$(wc -l <"$TMP/ship4.rows")" 5
cursor=$(tail -n 1 "$TMP/ship4.rows" | cut -f2)
cp4=$(q standby "SELECT audit_chain.checkpoint()")
q standby "SELECT audit_chain.export_checkpoint($cp4)" >"$TMP/cp4.json"
lane_lost=$(q standby "SELECT chain_lane FROM public.ledger WHERE tag = 'async1'")
seq_cp4=$(jq -r .payload "$TMP/cp4.json" | base64 -d | awk -v l="$lane_lost" '$1 == "lane" && $2 == "public.ledger" && $3 == l { print $5 }')
ac_log "10 rows acknowledged and checkpoint $cp4 published (ledger lane $lane_lost at chain_seq $seq_cp4), not yet on the asynchronous standby"
crash_cluster standby
promote_cluster async
expect "the asynchronous standby was promoted" "$(q async 'SELECT pg_is_in_recovery()')" f
expect "the acknowledged rows are gone" \
    "$(q async "SELECT count(*) || ' ' || (count(*) = $heads_async) FROM public.ledger")" "$heads_async true"
expect "verify_chain() alone finds nothing wrong: a shorter chain is still a valid chain" \
    "$(q async "SELECT count(*) FROM audit_chain.verify_chain() WHERE NOT intact")" 0
jq -s . "$TMP/cp1.json" "$TMP/cp2.json" "$TMP/cp3.json" "$TMP/cp4.json" >"$TMP/async.json"
verify_async() {
    psql_on async "$DB" -qtA -v doc="$(cat "$TMP/async.json")" -v key="$(cat "$K/k.pub")" <<'SQL'
SELECT format('%s|%s|%s', coalesce(lane::text, '-'), first_bad_seq, problem)
  FROM audit_chain.verify_chain(published => :'doc'::json, trusted_key => :'key')
 WHERE NOT intact AND tbl IN ('public.ledger'::regclass, 'audit_chain.checkpoints'::regclass)
 ORDER BY tbl::text, lane
SQL
}
got=$(verify_async)
ac_log "with the published checkpoint $cp4:"$'\n'"$got"
expect "verify_chain(published) names the cut tail" \
    "$(grep -c "^$lane_lost|.*published checkpoint $cp4 recorded chain_seq $seq_cp4: rows were cut from the tail" <<<"$got")" 1
expect "and the published checkpoint missing from the database" \
    "$(grep -c "^-|$cp4|published checkpoint $cp4 is missing from audit_chain.checkpoints" <<<"$got")" 1
ship_fails() { # ship_fails WHAT MESSAGE-GLOB: export_events(cursor) on async must fail so
    local out
    if out=$(psql_on async "$DB" -qtA -v VERBOSITY=verbose -v cursor="$cursor" 2>&1 <<'SQL'
SELECT count(*) FROM audit_chain.export_events(:'cursor', 1000000)
SQL
    ); then
        ac_die "$1: export_events() succeeded: $out"
    fi
    # shellcheck disable=SC2053  # the pattern is a glob on purpose
    [[ $out == $2 ]] || ac_die "$1: want a message matching '$2', got: $out"
    ac_log "ok: $1"
}
ship_fails "the shipper's cursor, past the lost events, is refused (not silently skipped): 22023 ahead of lane ${ev_lost% *}" \
    "*ERROR:  22023: export cursor is ahead of lane ${ev_lost% *}*has no event with seq ${ev_lost#* }*HINT:*a server promoted from a standby that lagged*resume from a cursor taken before them*"
lost_events=()
for n in $(seq 1 16); do
    sql="SELECT count(audit_chain.log_event('api_request', 'new$n.' || g)) FROM generate_series(1, 5) g"
    ((n <= 4)) && sql+="; INSERT INTO public.ledger (tag, part, era) SELECT 'reuse$n.' || g, 1, 'async' FROM generate_series(1, 10) g"
    lost_events+=("$sql")
done
# new events in every lane of events, and 10 new rows in each lane of the
# ledger: the lanes are as long again as the lost checkpoint recorded
fill_lanes async 16 "${lost_events[@]}"
expect "new rows took the lost seqs of ledger lane $lane_lost" \
    "$(q async "SELECT max(chain_seq) >= $seq_cp4 FROM public.ledger WHERE chain_lane = $lane_lost")" t
ship_fails "once new events took the lost seqs, the cursor is refused as not this chain's: 22023" \
    "*ERROR:  22023: export cursor does not belong to this database*Event ${ev_lost#* } of lane ${ev_lost% *} has another hash than the cursor records*HINT:*promoted from a standby that lagged*resume from a cursor taken before them*"
got=$(verify_async)
ac_log "once new rows took the lost seqs:"$'\n'"$got"
expect "verify_chain(published) reports a rewritten chain" \
    "$(grep -c "^$lane_lost|.*differs from published checkpoint $cp4: the chain was rewritten" <<<"$got")" 1
if [[ -x $V ]]; then
    rc=0
    "$V" --quiet --dbname "host=${AC_SOCKDIR[async]} port=${AC_PORT[async]} user=postgres dbname=$DB" \
        --table public.ledger --checkpoint "$TMP/cp4.json" --public-key "$K/k.pub" >"$TMP/verify4.out" 2>&1 || rc=$?
    expect "audit_chain_verify with checkpoint $cp4 exits 1 (tampered) and names the rewritten seq" \
        "$rc $(grep -c "seq $seq_cp4 checkpoint $cp4: chain_seq $seq_cp4 has another hash than .*: the chain was rewritten" "$TMP/verify4.out")" "1 1"
fi

ac_log "failover: PASS"
