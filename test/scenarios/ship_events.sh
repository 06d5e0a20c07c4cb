#!/usr/bin/env bash
# test/scenarios/ship_events.sh -- the README's shipper, examples/ship_events.sh,
# end to end: no event lost or duplicated while writers run.
#
#   1. A shipper role with the grants the README lists.
#   2. Writers (pgbench, 4 clients) write events for a few seconds: some
#      stamped hours in the past, some in transactions that sleep before they
#      commit, some rolled back; one transaction writes an event stamped a day
#      ago and commits only after the shipper has run several times (the
#      "0 of 6 polls" case of the old occurred_at recipe).
#   3. Meanwhile the shipper runs again and again in small batches
#      (AC_BATCH=25), and three times it is killed part-way through a batch
#      (after the export, after writing the next state, after publishing the
#      batch file): each run after a crash recovers.
#   4. When the writers are done, a last run; then every committed event is
#      in exactly one line of exactly one batch file, and no other line is.
#   5. The archive: events archived behind a saved cursor are read from the
#      archive table (a shipper without SELECT on it gets an error, not a
#      silent skip).
#
# Uses the suite's cluster (a database of its own, dropped at the end).
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "${AC_LIB:-$(dirname "$0")/../../scripts/lib.sh}"

DB=ac_ship
W=$(ac_tmpdir)/ship_events
rm -rf "$W"
mkdir -p "$W"
SHIP=$AC_ROOT/examples/ship_events.sh

expect() { # expect WHAT GOT WANT
    if [[ $2 != "$3" ]]; then
        ac_die "$1: got '$2', want '$3'"
    fi
    ac_log "ok: $1"
}
q() { psql_db "$DB" -qtAc "$1"; }

dropdb --if-exists "$DB"
createdb "$DB"
ac_defer dropdb --if-exists "$DB"
psql_db "$DB" -q <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION audit_chain;
DROP ROLE IF EXISTS ac_ship_shipper;
CREATE ROLE ac_ship_shipper LOGIN;
GRANT EXECUTE ON FUNCTION audit_chain.export_events(text, integer, text) TO ac_ship_shipper;
GRANT SELECT ON audit_chain.events, audit_chain.chains, audit_chain.archives TO ac_ship_shipper;
-- what the spool files held, loaded back for the checks
CREATE TABLE shipped (id bigserial, file text, line jsonb);
SQL

# load_file FILE: one batch file's lines into table shipped
load_file() {
    psql_db "$DB" -q -v file="$(basename "$1")" <<SQL
\\copy shipped (line) FROM '$1' WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')
UPDATE shipped SET file = :'file' WHERE file IS NULL;
SQL
}

# the shipper as the README runs it: its own role, spool and state
ship() { # ship [ENV=VALUE ...]
    env PGUSER=ac_ship_shipper PGDATABASE="$DB" AC_SPOOL="$W/spool" AC_STATE="$W/state/ship.state" \
        AC_BATCH=25 "$@" bash "$SHIP"
}

# ---------------------------------------------------------------- 2, 3
cat >"$W/commit.sql" <<'SQL'
\set h random(0, 30)
\set ms random(0, 40)
BEGIN;
SELECT audit_chain.log_event('api_request', 'chat', resource => 'ship-test',
    occurred_at => now() - make_interval(hours => :h));
SELECT pg_sleep(:ms / 1000.0);
COMMIT;
SQL
cat >"$W/abort.sql" <<'SQL'
BEGIN;
SELECT audit_chain.log_event('api_request', 'chat', resource => 'ship-aborted');
ROLLBACK;
SQL
pgbench -n -c 4 -j 2 -R 60 -T 6 -f "$W/commit.sql@9" -f "$W/abort.sql@1" "$DB" >"$W/pgbench.out" 2>&1 &
writers=$!
# the late one: stamped a day ago, committed after several shipper runs
psql_db "$DB" -qtA >"$W/late.out" 2>&1 <<'SQL' &
BEGIN;
SELECT audit_chain.log_event('api_request', 'late', resource => 'ship-test',
    occurred_at => now() - interval '1 day') IS NOT NULL;
SELECT pg_sleep(3);
COMMIT;
SQL
late=$!

runs=0 crashes=0
for point in '' exported '' state_written '' '' published '' '' ''; do
    sleep 0.4
    if [[ -n $point ]]; then
        # at least one event to ship, even if the writers are slow to start or done
        q "SELECT audit_chain.log_event('api_request', 'chat', resource => 'ship-test') IS NOT NULL" >/dev/null
        if ship AC_SHIP_CRASH_AT="$point" 2>>"$W/ship.err"; then
            ac_die "the shipper was to crash at $point: $(cat "$W/ship.err")"
        fi
        crashes=$((crashes + 1))
    else
        ship
    fi
    runs=$((runs + 1))
done
# while the late transaction was open, the old recipe's window never saw it
wait "$late" || ac_die "the late writer failed: $(cat "$W/late.out")"
wait "$writers" || ac_die "pgbench failed: $(cat "$W/pgbench.out")"
ship
ship                                    # nothing new: no new file
expect "shipper runs, of which killed" "$runs $crashes" "10 3"
grep -q 'crashing at published' "$W/ship.err" || ac_die "no crash after publishing"

# ---------------------------------------------------------------- 4
for f in "$W"/spool/events-*.jsonl; do
    load_file "$f"
done
files=$(find "$W/spool" -maxdepth 1 -name 'events-*.jsonl' | wc -l)
((files > 5)) || ac_die "only $files batch files"
expect "no partial or temporary file left" "$(find "$W/spool" -mindepth 1 ! -name 'events-*.jsonl' | wc -l)" 0
expect "batch files numbered 1..$files without a gap" \
    "$(find "$W/spool" -maxdepth 1 -name 'events-*.jsonl' -printf '%f\n' | sed 's/.*events-0*//; s/\.jsonl//' | sort -n | awk '$1 != NR' | wc -l)" 0
committed=$(q "SELECT count(*) FROM audit_chain.events")
((committed > 50)) || ac_die "only $committed events written"
expect "lines = committed events" "$(q "SELECT count(*) FROM shipped")" "$committed"
expect "no event twice" "$(q "SELECT count(*) - count(DISTINCT line #>> '{event,id}') FROM shipped")" 0
expect "no committed event missing" \
    "$(q "SELECT count(*) FROM audit_chain.events e WHERE NOT EXISTS
            (SELECT 1 FROM shipped s WHERE s.line #>> '{event,id}' = e.event_id::text)")" 0
expect "no aborted event shipped" "$(q "SELECT count(*) FROM shipped WHERE line #>> '{audit_chain,resource}' = 'ship-aborted'")" 0
expect "the late, backdated event shipped once" \
    "$(q "SELECT count(*) FROM shipped WHERE line #>> '{event,action}' = 'late'")" 1
expect "lines say what the events say (lane, seq, hash)" \
    "$(q "SELECT count(*) FROM shipped s JOIN audit_chain.events e
            ON e.event_id::text = s.line #>> '{event,id}'
           AND e.chain_lane = (s.line #>> '{audit_chain,lane}')::int
           AND e.chain_seq = (s.line #>> '{audit_chain,seq}')::bigint
           AND encode(e.chain_hash, 'hex') = s.line #>> '{audit_chain,hash}'")" "$committed"
expect "within each lane, seqs in order across files" \
    "$(q "SELECT count(*) FROM (SELECT (line #>> '{audit_chain,seq}')::bigint - lag((line #>> '{audit_chain,seq}')::bigint)
                                    OVER (PARTITION BY line #>> '{audit_chain,lane}' ORDER BY id) AS step
                               FROM shipped) s WHERE step <> 1")" 0

# ---------------------------------------------------------------- 5
cp "$W/state/ship.state" "$W/saved.state"
q "SELECT count(*) FROM (SELECT audit_chain.log_event('data_access', 'read', resource => 'ship-archived')
                           FROM generate_series(1, 20)) s" >/dev/null
q "SELECT pg_sleep(0.01)" >/dev/null
psql_db "$DB" -qc "CALL audit_chain.archive('audit_chain.events', '1 millisecond')"
archived=$(q "SELECT count(*) FROM audit_chain_archive.events WHERE resource = 'ship-archived'")
expect "archived events" "$archived" 20
if ship 2>"$W/noarch.err"; then
    ac_die "a shipper that may not read the archive table went on"
fi
grep -q 'permission denied' "$W/noarch.err" ||
    ac_die "unexpected error: $(cat "$W/noarch.err")"
ac_log "ok: no SELECT on the archive table: an error, not a skip"
q "GRANT USAGE ON SCHEMA audit_chain_archive TO ac_ship_shipper;
   GRANT SELECT ON audit_chain_archive.events TO ac_ship_shipper" >/dev/null
ship
for f in "$W"/spool/events-*.jsonl; do
    b=$(basename "$f")
    if [[ $(q "SELECT count(*) FROM shipped WHERE file = '$b'") == 0 ]]; then
        load_file "$f"
    fi
done
expect "archived events shipped from the archive table" \
    "$(q "SELECT count(*) FROM shipped WHERE line #>> '{audit_chain,resource}' = 'ship-archived'")" 20
expect "every event, live or archived, shipped once" \
    "$(q "SELECT count(*) = count(DISTINCT line #>> '{event,id}')
             AND count(*) = (SELECT count(*) FROM audit_chain.events)
                          + (SELECT count(*) FROM audit_chain_archive.events)
            FROM shipped")" t
ac_log "ship_events: all checks passed"
