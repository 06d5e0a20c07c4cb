#!/usr/bin/env bash
# test/scenarios/pg_cron.sh -- the two ways the README schedules retention,
# run for real (the lines are read from README.md; until it has them, the
# ones below):
#   cron:     a crontab line, its command run as cron runs it (sh -c, an
#             environment of its own; the README's database is ours):
#             17 3 * * * psql -d mydb -v ON_ERROR_STOP=1 -c 'CALL audit_chain.apply_retention()'
#   pg_cron:  SELECT cron.schedule('audit-chain-retention', '* * * * *',
#                                  'CALL audit_chain.apply_retention()')
#             on a cluster with pg_cron (Debian's postgresql-15-cron)
#             preloaded, with its schedule made every minute, waiting for
#             its run in cron.job_run_details (pg_cron 1.4 schedules by the
#             minute).
# Each must succeed and do what apply_retention does: a table of a year of
# backdated rows (test/scenarios/backdate.sql) with keep 300 days, then
# 200 days, has its boundary moved to exactly the rows older than that, the
# move recorded in audit_chain.boundaries, and both tables verify.
#
# Starts its own cluster through scripts/lib.sh.
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "${AC_LIB:-$(dirname "$0")/../../scripts/lib.sh}"

DB=ac_cron
PER_DAY=24
WAIT=${AC_CRON_WAIT:-100}          # seconds to wait for pg_cron's run
expect() { # expect WHAT GOT WANT
    if [[ $2 != "$3" ]]; then
        ac_die "$1: got '$2', want '$3'"
    fi
    ac_log "ok: $1${4:+ ($4)}"
}
q() { psql_db "$DB" -qtAc "$1"; }

start_cron_cluster cron "$DB" timezone=UTC
createdb "$DB"
psql_db "$DB" -q -f "$AC_ROOT/test/scenarios/backdate.sql"
psql_db "$DB" -q >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION pg_cron;
CREATE EXTENSION audit_chain;
CREATE TABLE public.access_log (who text, what text);
SELECT audit_chain.protect('public.access_log', lanes => 2);
SELECT ac_test.backdate('public.access_log', 365, $PER_DAY, 'who, what',
                        \$\$'u' || i % 10, 'read'\$\$);
SQL
expect "backdated rows verify" \
    "$(q "SELECT bool_and(intact) FROM audit_chain.verify_chain('public.access_log')")" t

archived() { q "SELECT sum(archived_seq) FROM audit_chain.chains WHERE tbl = 'public.access_log'::regclass"; }
moves() {
    q "SELECT count(*) FROM audit_chain.boundaries b
        WHERE b.kind = 'archive' AND b.lane_genesis IN
              (SELECT genesis FROM audit_chain.chains WHERE tbl = 'public.access_log'::regclass)"
}
check_archive() { # check_archive WHAT KEEP_DAYS MOVES
    local want=$(((365 - $2) * PER_DAY + 1)) arch
    expect "$1: rows older than $2 days archived" "$(archived)" "$want"
    expect "$1: the move recorded in audit_chain.boundaries" "$(moves)" "$3"
    expect "$1: live table intact" \
        "$(q "SELECT bool_and(intact) FROM audit_chain.verify_chain('public.access_log')")" t
    arch=$(q "SELECT audit_chain.archive_table('public.access_log')")
    expect "$1: archive table intact" "$(q "SELECT bool_and(intact) FROM audit_chain.verify_chain('$arch')")" t
    expect "$1: every row in exactly one table" \
        "$(q "SELECT string_agg(p, '; ') FROM ac_test.split_problems('public.access_log') p")" ""
}

# ------------------------------------------------------------------ cron
q "SELECT audit_chain.set_retention('public.access_log', interval '300 days')" >/dev/null
# the README's lines when it has them (its database, -d, is ours here)
CRONTAB_LINE=$(grep -m 1 -E "^[0-9*/,-]+ +[0-9*/,-]+ +[0-9*/,-]+ +[0-9*/,-]+ +[0-9*/,-]+ +psql .*apply_retention" \
    "$AC_ROOT/README.md" || true)
if [[ -z $CRONTAB_LINE ]]; then
    CRONTAB_LINE="17 3 * * * psql -d mydb -v ON_ERROR_STOP=1 -c 'CALL audit_chain.apply_retention()'"
    ac_warn "README.md shows no crontab line with apply_retention: using $CRONTAB_LINE"
fi
CRONTAB_LINE=$(sed -E "s/ -d +[^ ]+/ -d $DB/" <<<"$CRONTAB_LINE")
read -r _ _ _ _ _ command <<<"$CRONTAB_LINE"
ac_log "crontab: $CRONTAB_LINE"
out=$(env -i PATH="$AC_PGBIN:/usr/bin:/bin" HOME=/tmp PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER=postgres \
    sh -c "$command" 2>&1) || ac_die "the cron command failed: $out"
[[ $out != *ERROR* ]] || ac_die "the cron command printed an error: $out"
ac_log "ok: cron: the command ran (its output: '${out//$'\n'/ }')"
# two lanes, one move each
check_archive cron 300 2

# ------------------------------------------------------------------ pg_cron
q "SELECT audit_chain.set_retention('public.access_log', interval '200 days')" >/dev/null
SCHEDULE=$(grep -m 1 -oE "SELECT cron\.schedule\([^;]*apply_retention[^;]*\)" "$AC_ROOT/README.md" || true)
if [[ -z $SCHEDULE ]]; then
    SCHEDULE="SELECT cron.schedule('audit-chain-retention', '* * * * *', 'CALL audit_chain.apply_retention()')"
    ac_warn "README.md shows no cron.schedule line with apply_retention: using $SCHEDULE"
fi
# every minute, whatever the README's schedule, so that it runs now
SCHEDULE=$(sed -E "s/^(SELECT cron\.schedule\('[^']*', *)'[^']*'/\1'* * * * *'/" <<<"$SCHEDULE")
JOB_NAME=$(sed -E "s/^SELECT cron\.schedule\('([^']*)'.*/\1/" <<<"$SCHEDULE")
ac_log "pg_cron: $SCHEDULE"
job=$(q "$SCHEDULE")
ac_log "pg_cron: job $job ($JOB_NAME) scheduled; waiting up to ${WAIT}s for its first run"
t=$SECONDS
status=
while ((SECONDS - t < WAIT)); do
    status=$(q "SELECT status FROM cron.job_run_details WHERE jobid = $job
                 AND status IN ('succeeded', 'failed') ORDER BY runid LIMIT 1")
    [[ -n $status ]] && break
    sleep 1
done
psql_db "$DB" -P footer=off -c "SELECT jobid, runid, command, status, return_message, start_time, end_time
                                  FROM cron.job_run_details ORDER BY runid"
[[ -n $status ]] || ac_die "pg_cron: no run of job $job finished within ${WAIT}s"
q "SELECT cron.unschedule('$JOB_NAME')" >/dev/null
expect "pg_cron: the run succeeded" "$status" succeeded "after $((SECONDS - t))s"
expect "pg_cron: its return message" \
    "$(q "SELECT return_message FROM cron.job_run_details WHERE jobid = $job ORDER BY runid LIMIT 1")" CALL
check_archive pg_cron 200 4
psql_db "$DB" -P footer=off -c "
SELECT kind, lane, from_seq, to_seq, row_count, cutoff, moved_by
  FROM audit_chain.boundaries ORDER BY chain_seq"
ac_log "pg_cron: all checks passed"
