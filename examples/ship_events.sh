#!/usr/bin/env bash
# examples/ship_events.sh -- ship audit_chain.events to a SIEM, every
# committed event exactly once, with audit_chain.export_events() and a cursor
# kept in a file.
#
# Each batch of events (JSON lines, Elastic Common Schema by default) becomes
# one file $AC_SPOOL/events-<batch number>.jsonl, which appears whole (it is
# renamed into place); point the SIEM agent at $AC_SPOOL/events-*.jsonl
# (Filebeat filestream, Fluent Bit tail, Vector file, Splunk monitor) and let
# it, or a cron job, delete files it has read.  The cursor is in $AC_STATE,
# replaced atomically (write, fsync, rename) after each batch.
#
# Crash safety (README, "Shipping events to a SIEM"): a batch is published
# by the rename of its file, and the state file that goes with it
# ($AC_STATE.new: batch number and cursor after it) is written and synced
# before that rename.  On start, a leftover $AC_STATE.new is completed if its
# batch file was published (the crash came between the two renames) and
# dropped otherwise (the batch is exported again, from the same cursor).  So
# each event lands in exactly one published file, whatever moment the shipper
# dies at.  The agent's own delivery to the SIEM is at-least-once: index by
# event.id (ECS) to make that idempotent too.
#
# Usage: ship_events.sh [--loop SECONDS]
#   without --loop: ship everything there is, then exit (run it from cron;
#   an overlapping run exits at once);  --loop: do so every SECONDS seconds.
# Env:  PGHOST, PGPORT, PGUSER, PGDATABASE, ... (libpq: who and where; the
#       role needs EXECUTE on audit_chain.export_events and SELECT on
#       audit_chain.events, audit_chain.chains and audit_chain.archives)
#       AC_SPOOL   the directory of batch files (default /var/spool/audit_chain)
#       AC_STATE   the cursor file (default /var/lib/audit_chain/ship.state)
#       AC_BATCH   events per batch, 1 to 1000000 (default 10000)
#       AC_FORMAT  ecs or raw (default ecs)
set -euo pipefail

SPOOL=${AC_SPOOL:-/var/spool/audit_chain}
STATE=${AC_STATE:-/var/lib/audit_chain/ship.state}
BATCH=${AC_BATCH:-10000}
FORMAT=${AC_FORMAT:-ecs}
# test hook (test/scenarios/ship_events.sh): die at this point of a batch
CRASH_AT=${AC_SHIP_CRASH_AT:-}
INTERVAL=

case ${1:-} in
    '') ;;
    --loop)
        INTERVAL=${2:?--loop needs a number of seconds}
        [[ $INTERVAL =~ ^[0-9]+$ ]] || { echo "ship_events: --loop needs a number of seconds" >&2; exit 2; }
        ;;
    *) echo "usage: ship_events.sh [--loop SECONDS]" >&2; exit 2 ;;
esac
[[ $BATCH =~ ^[0-9]+$ ]] || { echo "ship_events: AC_BATCH must be a number" >&2; exit 2; }

mkdir -p "$SPOOL" "$(dirname "$STATE")"
# one shipper at a time: a cron run that overlaps the previous one leaves
exec 9>>"$STATE.lock"
if ! flock -n 9; then
    echo "ship_events: another shipper holds $STATE.lock" >&2
    exit 0
fi

crash() { # crash POINT: the test hook
    if [[ $CRASH_AT == "$1" ]]; then
        echo "ship_events: crashing at $1 (AC_SHIP_CRASH_AT)" >&2
        kill -9 $$
    fi
}

batch_file() { printf '%s/events-%012d.jsonl' "$SPOOL" "$1"; }

# Finish or undo the batch a crash interrupted
recover() {
    local n cursor
    if [[ -f $STATE.new ]]; then
        IFS=$'\t' read -r n cursor <"$STATE.new" || true
        if [[ -n ${n:-} && -f $(batch_file "$n") ]]; then
            mv -f "$STATE.new" "$STATE"     # published: commit its cursor
            sync "$(dirname "$STATE")"
        else
            rm -f "$STATE.new"              # not published: export it again
        fi
    fi
    rm -f "$SPOOL"/.events-*.tmp "$SPOOL"/.events-*.rows
}

# Export one batch after the stored cursor and publish it; sets GOT
ship_batch() {
    local n=0 cursor='' next file tmp last
    if [[ -s $STATE ]]; then
        IFS=$'\t' read -r n cursor <"$STATE"
    fi
    next=$((n + 1))
    file=$(batch_file "$next")
    tmp=$SPOOL/.$(basename "$file").tmp
    # one row per event: its JSON line (no tab or newline in it: JSON escapes
    # them) and the cursor after it
    psql -X -q -A -t -F $'\t' -v ON_ERROR_STOP=1 \
        -v cursor="$cursor" -v batch="$BATCH" -v format="$FORMAT" >"$tmp.rows" <<'SQL'
SELECT line, next_cursor
  FROM audit_chain.export_events(NULLIF(:'cursor', ''), :'batch'::integer, :'format');
SQL
    GOT=$(wc -l <"$tmp.rows")
    if ((GOT == 0)); then
        rm -f "$tmp.rows"
        return
    fi
    cut -f1 "$tmp.rows" >"$tmp"
    last=$(tail -n 1 "$tmp.rows" | cut -f2)
    rm -f "$tmp.rows"
    sync "$tmp"
    crash exported
    printf '%s\t%s\n' "$next" "$last" >"$STATE.new"
    sync "$STATE.new"
    crash state_written
    # publish, the commit point: a hard link appears whole and, unlike a
    # rename, never replaces a file already published under that name
    ln "$tmp" "$file"
    rm -f "$tmp"
    sync "$SPOOL"
    crash published
    mv -f "$STATE.new" "$STATE"
    sync "$(dirname "$STATE")"
}

ship_all() {
    recover
    while :; do
        ship_batch
        ((GOT == BATCH)) || break           # a short batch: caught up
    done
}

if [[ -z $INTERVAL ]]; then
    ship_all
else
    while :; do
        ship_all
        sleep "$INTERVAL"
    done
fi
