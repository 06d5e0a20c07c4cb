#!/usr/bin/env bash
# test/scenarios/retention_year.sh -- a year of audit rows, then retention.
#
# Writes a year of backdated rows (test/scenarios/backdate.sql: plain SQL,
# presealed rows) into audit_chain.events (16 lanes, 48 a day), a 4-lane
# table public.patients (96 a day) and a 2-lane table public.billing
# (8 a day), checks that they verify, sets the policies
#   events    keep 90 days, then 180 days in the archive, then purged
#   patients  keep 180 days, archived for ever
#   billing   the HIPAA preset (six years: nothing is old enough)
# and runs `CALL audit_chain.apply_retention()`.  Then it prints and checks,
# per table: rows live / archived / purged against what the policy asked
# for (counted from chain_at before the call), every lane split exactly at
# its boundary (archived seqs purged_seq+1 .. archived_seq, live rows after,
# no row in both), the boundaries in audit_chain.chains and the log
# audit_chain.boundaries, and verify_chain intact on the live tables, the
# archive tables and the boundary log.  A second apply_retention changes
# nothing.  Last, the forged boundary: as a superuser, delete the 10 oldest
# live rows of a lane and set chains.archived_seq / archived_hash to the
# first remaining row's seq - 1 and chain_prev; verify_chain must find the
# lane broken (on an archived lane of patients, and on a lane of billing that
# was never archived); and again with a validly sealed entry appended to
# audit_chain.boundaries for the forged move: the live table and the archive
# then disagree, and both say so.  apply_retention's archive and purge
# events carry the row counts.
#
# The backdated rows are evenly spaced (30, 15, 180 minutes) from exactly a
# year ago, and every cutoff is a whole number of days, so no row crosses a
# cutoff while the script runs (it takes well under 15 minutes): the counts
# are exact.
#
# Starts its own cluster through scripts/lib.sh.
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "${AC_LIB:-$(dirname "$0")/../../scripts/lib.sh}"

DB=ac_year
expect() { # expect WHAT GOT WANT
    if [[ $2 != "$3" ]]; then
        ac_die "$1: got '$2', want '$3'"
    fi
    ac_log "ok: $1${4:+ ($4)}"
}
q() { psql_db "$DB" -qtAc "$1"; }
show() { printf '\n-- %s\n' "$1"; psql_db "$DB" -P footer=off -c "$2"; }

start_cluster year timezone=UTC
createdb "$DB"
# the helpers before the extension: their DDL would be logged as events
# stamped now, ahead of the backdated ones in those lanes
psql_db "$DB" -q -f "$AC_ROOT/test/scenarios/backdate.sql"
psql_db "$DB" -qc 'SET client_min_messages = warning' -c 'CREATE EXTENSION audit_chain'

# ------------------------------------------------------------------ a year of rows
t=$SECONDS
q "SELECT ac_test.backdate('audit_chain.events', 365, 48,
     'event_type, action, actor, resource, phi, data_subject',
     \$\$'data_access', 'read', 'clinician-' || i % 40, 'patient/' || i % 500, i % 4 = 0,
       'subject-' || i % 500\$\$)" >/dev/null
psql_db "$DB" -q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE TABLE public.patients (patient text, action text, detail jsonb, at timestamptz DEFAULT now());
SELECT audit_chain.protect('public.patients', lanes => 4);
CREATE TABLE public.billing (invoice bigint, amount numeric(12,2), paid boolean);
SELECT audit_chain.protect('public.billing', lanes => 2);
SQL
q "SELECT ac_test.backdate('public.patients', 365, 96, 'patient, action, detail',
     \$\$'p' || i % 1000, (ARRAY['read', 'update', 'print'])[1 + i % 3], jsonb_build_object('i', i)\$\$)" >/dev/null
q "SELECT ac_test.backdate('public.billing', 365, 8, 'invoice, amount, paid', \$\$i, i * 1.25, i % 2 = 0\$\$)" >/dev/null
ac_log "wrote a year of rows in $((SECONDS - t))s"

TABLES=(audit_chain.events public.patients public.billing)
intact() { # intact TBL: "k/n" lanes intact
    q "SELECT count(*) FILTER (WHERE intact) || '/' || count(*) FROM audit_chain.verify_chain('$1')"
}
# the lanes' genesis hashes: audit_chain.boundaries names a lane by its genesis
genesis() { printf "SELECT genesis FROM audit_chain.chains WHERE tbl = '%s'::regclass" "$1"; }
lanes_of() { q "SELECT count(*) FROM audit_chain.chains WHERE tbl = '$1'::regclass"; }
for tbl in "${TABLES[@]}"; do
    n=$(lanes_of "$tbl")
    expect "$tbl verifies before retention" "$(intact "$tbl")" "$n/$n"
done
show "before retention: rows per table, oldest and newest" "
SELECT 'audit_chain.events' AS tbl, count(*) AS rows, min(chain_at) AS oldest, max(chain_at) AS newest FROM audit_chain.events
UNION ALL SELECT 'public.patients', count(*), min(chain_at), max(chain_at) FROM public.patients
UNION ALL SELECT 'public.billing', count(*), min(chain_at), max(chain_at) FROM public.billing"

# ------------------------------------------------------------------ policies
psql_db "$DB" -q >/dev/null <<'SQL'
SELECT audit_chain.set_retention('audit_chain.events', interval '90 days', NULL, interval '180 days');
SELECT audit_chain.set_retention('public.patients', interval '180 days');
SELECT audit_chain.set_retention('public.billing', NULL, 'HIPAA');
SQL
show "policies" "SELECT tbl, keep, framework, archive_keep FROM audit_chain.retention_policies ORDER BY tbl::text"

# What the policies ask for, counted from chain_at now: rows to leave the
# live table (older than keep) and rows to be purged (older than keep +
# archive_keep), of the rows there are now.
psql_db "$DB" -q <<'SQL'
SET client_min_messages = warning;
CREATE TABLE public.expected (tbl regclass, counted_at timestamptz, total bigint,
                              moved bigint, purged bigint);
BEGIN;
INSERT INTO public.expected
SELECT 'audit_chain.events', now(), count(*),
       count(*) FILTER (WHERE chain_at <= now() - interval '90 days'),
       count(*) FILTER (WHERE chain_at <= now() - interval '270 days')
  FROM audit_chain.events WHERE chain_at <= now();
INSERT INTO public.expected
SELECT 'public.patients', now(), count(*),
       count(*) FILTER (WHERE chain_at <= now() - interval '180 days'), 0
  FROM public.patients WHERE chain_at <= now();
INSERT INTO public.expected
SELECT 'public.billing', now(), count(*),
       count(*) FILTER (WHERE chain_at <= now() - interval '6 years'), 0
  FROM public.billing WHERE chain_at <= now();
COMMIT;
SQL
show "expected" "SELECT tbl, total, moved AS to_leave_live, purged AS to_purge FROM public.expected ORDER BY tbl::text"
# the spacing gives these exactly: 275 days x 48 + 1, 95 x 48 + 1, 185 x 96 + 1
expect "events: rows older than 90 days" "$(q "SELECT moved FROM expected WHERE tbl = 'audit_chain.events'::regclass")" 13201
expect "events: rows older than 270 days" "$(q "SELECT purged FROM expected WHERE tbl = 'audit_chain.events'::regclass")" 4561
expect "patients: rows older than 180 days" "$(q "SELECT moved FROM expected WHERE tbl = 'public.patients'::regclass")" 17761

# ------------------------------------------------------------------ apply
t0=$(date +%s%N)
psql_db "$DB" -c 'CALL audit_chain.apply_retention()'
ac_log "apply_retention took $((($(date +%s%N) - t0) / 1000000)) ms"

report() {
    show "rows live / archived / purged" "
SELECT e.tbl, e.total AS before, sum(s.live) AS live, sum(s.archived) AS archived,
       sum(s.purged_seq) AS purged, a.archive
  FROM public.expected e
  CROSS JOIN LATERAL ac_test.lane_split(e.tbl) s
  LEFT JOIN audit_chain.archives a ON a.tbl = e.tbl
 GROUP BY e.tbl, e.total, a.archive ORDER BY e.tbl::text"
    show "boundaries in audit_chain.chains (lanes 0 and 1 of each table)" "
SELECT tbl, lane, archived_seq, purged_seq, archived_at,
       substr(encode(archived_hash, 'hex'), 1, 16) AS archived_hash,
       substr(encode(purged_hash, 'hex'), 1, 16) AS purged_hash
  FROM audit_chain.chains WHERE tbl IN (SELECT tbl FROM public.expected) AND lane < 2
 ORDER BY tbl::text, lane"
    show "audit_chain.boundaries, per table and kind" "
SELECT tbl_name, kind, count(*) AS moves, count(DISTINCT lane) AS lanes, sum(row_count) AS rows,
       min(from_seq) AS min_from, max(to_seq) AS max_to, max(cutoff) AS cutoff
  FROM audit_chain.boundaries GROUP BY 1, 2 ORDER BY 1, 2"
    show "audit_chain.boundaries, lane 0 of each table" "
SELECT chain_seq AS log_seq, kind, tbl_name, lane, from_seq, to_seq, row_count, cutoff,
       substr(encode(to_hash, 'hex'), 1, 16) AS to_hash
  FROM audit_chain.boundaries WHERE lane = 0 ORDER BY chain_seq"
}
report

for tbl in "${TABLES[@]}"; do
    read -r total moved purged at <<<"$(q "SELECT total, moved, purged, counted_at FROM expected
                                            WHERE tbl = '$tbl'::regclass" | tr '|' ' ')"
    got=$(q "SELECT sum(archived_seq) || ' ' || sum(purged_seq) || ' ' || sum(archived)
               FROM ac_test.lane_split('$tbl')")
    read -r archived_seq purged_seq archived <<<"$got"
    expect "$tbl: rows that left the live table" "$archived_seq" "$moved"
    expect "$tbl: rows purged from the archive" "$purged_seq" "$purged"
    expect "$tbl: rows in the archive table" "$archived" "$((moved - purged))"
    live_old=$(q "SELECT count(*) FROM $tbl WHERE chain_at <= '$at'::timestamptz")
    expect "$tbl: rows of before still live" "$live_old" "$((total - moved))"
    expect "$tbl: every lane split at its boundary" "$(q "SELECT string_agg(p, '; ') FROM ac_test.split_problems('$tbl') p")" ""
    n=$(lanes_of "$tbl")
    expect "$tbl: live table intact" "$(intact "$tbl")" "$n/$n"
    if ((moved > purged)); then
        arch=$(q "SELECT audit_chain.archive_table('$tbl')")
        expect "$tbl: archive table $arch intact" "$(intact "$arch")" "$n/$n"
        # archived rows are older than the cutoff, the live rows of before not
        cutoff=$(q "SELECT max(cutoff) FROM audit_chain.boundaries b
                     WHERE b.kind = 'archive' AND b.lane_genesis IN ($(genesis "$tbl"))")
        [[ -n $cutoff ]] || ac_die "$tbl: no cutoff recorded in audit_chain.boundaries"
        late=$(q "SELECT count(*) FROM $arch a WHERE a.chain_at >= '$cutoff'")
        expect "$tbl: no archived row is newer than the cutoff" "$late" 0 "$cutoff"
        early=$(q "SELECT count(*) FROM $tbl t WHERE t.chain_at < '$cutoff'")
        expect "$tbl: no live row is older than the cutoff" "$early" 0
    fi
    for kind in archive purge; do
        want=$moved
        [[ $kind == purge ]] && want=$purged
        got=$(q "SELECT coalesce(sum(row_count), 0) FROM audit_chain.boundaries
                  WHERE kind = '$kind' AND lane_genesis IN ($(genesis "$tbl"))")
        expect "$tbl: audit_chain.boundaries records the rows of kind $kind" "$got" "$want"
    done
done
expect "audit_chain.boundaries intact" "$(intact audit_chain.boundaries)" "1/1"
# apply_retention records each archive and purge as an event, with its rows
for tbl in "${TABLES[@]}"; do
    read -r moved purged at <<<"$(q "SELECT moved, purged, counted_at FROM expected
                                      WHERE tbl = '$tbl'::regclass" | tr '|' ' ')"
    expect "$tbl: the archive recorded as an event, with its row count" \
        "$(q "SELECT string_agg(details->>'rows', ',') FROM audit_chain.events
               WHERE chain_at > '$at' AND event_type = 'admin' AND action = 'archive'
                 AND resource = '$tbl'")" "$moved"
    if ((purged > 0)); then
        expect "$tbl: the purge recorded as an event, with its row count" \
            "$(q "SELECT string_agg(details->>'rows', ',') FROM audit_chain.events
                   WHERE chain_at > '$at' AND event_type = 'admin' AND action = 'purge archive'
                     AND resource = '$tbl'")" "$purged"
    fi
done
show "events written by apply_retention" "
SELECT chain_lane, chain_seq, event_type, action, resource, left(details::text, 100) AS details
  FROM audit_chain.events WHERE chain_at > (SELECT max(counted_at) FROM expected) ORDER BY chain_at"

# ------------------------------------------------------------------ a second run
# (the live rows written since, the events apply_retention logs, do not count)
state() {
    q "SELECT string_agg(format('%s:%s:%s:%s:%s', tbl, lane, archived, archived_seq, purged_seq), ' ')
         FROM (SELECT e.tbl, s.* FROM expected e CROSS JOIN LATERAL ac_test.lane_split(e.tbl) s
               ORDER BY e.tbl::text, s.lane) x"
    for tbl in "${TABLES[@]}"; do
        q "SELECT count(*) FROM $tbl WHERE chain_at <= (SELECT counted_at FROM expected
                                                          WHERE tbl = '$tbl'::regclass)"
    done
}
before=$(state)
moves=$(q "SELECT count(*) FROM audit_chain.boundaries")
psql_db "$DB" -qc 'CALL audit_chain.apply_retention()'
expect "second apply_retention: lanes unchanged" "$(state)" "$before"
expect "second apply_retention: no boundary move" "$(q "SELECT count(*) FROM audit_chain.boundaries")" "$moves"

# ------------------------------------------------------------------ forged boundary
# The superuser's cut at the head of a lane: delete its 10 oldest live rows
# (triggers off) and move the boundary in audit_chain.chains to match.
forge() { # forge TBL LANE
    psql_db "$DB" -q <<SQL
BEGIN;
SET LOCAL session_replication_role = replica;
DELETE FROM $1 WHERE chain_lane = $2 AND chain_seq IN
    (SELECT chain_seq FROM $1 WHERE chain_lane = $2 ORDER BY chain_seq LIMIT 10);
UPDATE audit_chain.chains c
   SET archived_seq = f.chain_seq - 1, archived_hash = f.chain_prev, archived_at = now()
  FROM (SELECT chain_seq, chain_prev FROM $1 WHERE chain_lane = $2
         ORDER BY chain_seq LIMIT 1) f
 WHERE c.tbl = '$1'::regclass AND c.lane = $2;
COMMIT;
SQL
}
for target in "public.patients 2" "public.billing 0"; do
    read -r tbl lane <<<"$target"
    forge "$tbl" "$lane"
    show "forged boundary: $tbl lane $lane (10 oldest live rows deleted, chains moved to match)" "
SELECT lane, archived_seq, substr(encode(archived_hash, 'hex'), 1, 16) AS archived_hash
  FROM audit_chain.chains WHERE tbl = '$tbl'::regclass AND lane = $lane"
    show "verify_chain('$tbl') after the forgery" "SELECT * FROM audit_chain.verify_chain('$tbl')"
    got=$(q "SELECT intact FROM audit_chain.verify_chain('$tbl') WHERE lane = $lane")
    expect "$tbl: forged boundary of lane $lane found" "$got" f \
        "$(q "SELECT problem FROM audit_chain.verify_chain('$tbl') WHERE lane = $lane")"
    n=$(lanes_of "$tbl")
    expect "$tbl: the other lanes still intact" "$(intact "$tbl")" "$((n - 1))/$n"
done

# The same cut with the log forged too: the superuser appends to
# audit_chain.boundaries a validly sealed row (plain SQL, backdate.sql) that
# records an archive of the 10 deleted rows.  The archive table does not
# hold them: verification of the live table and of the archive finds it.
tbl=public.patients lane=1
forge "$tbl" "$lane"
psql_db "$DB" -q >/dev/null <<SQL
CREATE TABLE public.forged AS
SELECT c.genesis, c.archived_seq, c.archived_hash, b.to_seq, b.to_hash
  FROM audit_chain.chains c,
       LATERAL (SELECT to_seq, to_hash FROM audit_chain.boundaries
                 WHERE lane_genesis = c.genesis ORDER BY chain_seq DESC LIMIT 1) b
 WHERE c.tbl = '$tbl'::regclass AND c.lane = $lane;
SELECT ac_test.backdate('audit_chain.boundaries', 1, 1,
    'kind, tbl_name, lane, lane_genesis, from_seq, from_hash, to_seq, to_hash, row_count, cutoff',
    \$\$'archive', '$tbl', $lane::smallint, (SELECT genesis FROM forged), (SELECT to_seq FROM forged),
      (SELECT to_hash FROM forged), (SELECT archived_seq FROM forged), (SELECT archived_hash FROM forged),
      (SELECT archived_seq - to_seq FROM forged), now()\$\$);
SQL
show "forged boundary with a forged, validly sealed log entry: $tbl lane $lane" "
SELECT chain_seq AS log_seq, kind, tbl_name, lane, from_seq, to_seq, row_count
  FROM audit_chain.boundaries WHERE lane_genesis = (SELECT genesis FROM forged)"
expect "audit_chain.boundaries with the forged entry still chains" "$(intact audit_chain.boundaries)" "1/1"
show "verify_chain('$tbl') and its archive after the forgery" "
SELECT * FROM audit_chain.verify_chain('$tbl') WHERE lane = $lane
UNION ALL SELECT * FROM audit_chain.verify_chain(audit_chain.archive_table('$tbl')) WHERE lane = $lane"
expect "$tbl: forged boundary and log entry of lane $lane found in the live table" \
    "$(q "SELECT intact FROM audit_chain.verify_chain('$tbl') WHERE lane = $lane")" f
expect "$tbl: and in the archive" \
    "$(q "SELECT intact FROM audit_chain.verify_chain(audit_chain.archive_table('$tbl')) WHERE lane = $lane")" f
ac_log "retention_year: all checks passed"
