#!/usr/bin/env bash
# test/scenarios/backdate.sh -- the test-only writer of backdated rows
# (test/scenarios/backdate.sql, plain SQL, no product code) writes rows that
# the seal trigger stores as they are and that verify: a year of events in
# the 16 lanes of audit_chain.events, a 4-lane table with an identity column,
# a generated column and common types, and a partitioned 2-lane table, each
# continued a second time from its heads.  Every row's hash recomputed in
# plain SQL equals the stored one, every lane verifies intact, chain_at grows
# with seq in every lane, and the oldest row is a year old.  The other
# retention scenarios (retention_year, pg_cron, archive_kill) build on it.
#
# Starts its own cluster through scripts/lib.sh.
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "${AC_LIB:-$(dirname "$0")/../../scripts/lib.sh}"

DB=ac_backdate
expect() { # expect WHAT GOT WANT
    if [[ $2 != "$3" ]]; then
        ac_die "$1: got '$2', want '$3'"
    fi
    ac_log "ok: $1"
}
q() { psql_db "$DB" -qtAc "$1"; }

start_cluster backdate
createdb "$DB"
# the helpers first: their DDL, once the extension is there, would be
# logged as events stamped now, ahead of the backdated ones
psql_db "$DB" -q -f "$AC_ROOT/test/scenarios/backdate.sql"
psql_db "$DB" -qc 'SET client_min_messages = warning' -c 'CREATE EXTENSION audit_chain'
t=$SECONDS
n=$(q "SELECT ac_test.backdate('audit_chain.events', 365, 24,
        'event_type, action, actor, resource, phi, data_subject, details',
        \$\$'data_access', 'read', 'user' || i % 97, 'patient/' || i % 1000, i % 3 = 0,
          CASE WHEN i % 5 = 0 THEN 'subject-' || i % 11 END,
          jsonb_build_object('i', i, 'lane', ac_lane)\$\$)")
expect "events written" "$n" 8760
# (protect() logs an event stamped now: after the backdated ones)
psql_db "$DB" -q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE TABLE public.kinds (
    id      bigint GENERATED ALWAYS AS IDENTITY,
    who     text,
    amount  numeric(10,2),
    ok      boolean,
    tags    text[],
    doc     jsonb,
    "Odd Name" text,
    at      timestamptz DEFAULT now(),
    twice   bigint GENERATED ALWAYS AS (id * 2) STORED
);
SELECT audit_chain.protect('public.kinds', lanes => 4);
CREATE TABLE public.parted (id bigint, note text) PARTITION BY RANGE (id);
CREATE TABLE public.parted_a PARTITION OF public.parted FOR VALUES FROM (0) TO (1000);
CREATE TABLE public.parted_b PARTITION OF public.parted FOR VALUES FROM (1000) TO (MAXVALUE);
SELECT audit_chain.protect('public.parted', lanes => 2);
SQL

n=$(q "SELECT ac_test.backdate('public.kinds', 365, 40, 'who, amount, ok, tags, doc, \"Odd Name\"',
        \$\$'u' || i % 50, i / 7.0, CASE WHEN i % 3 > 0 THEN i % 2 = 0 END,
          ARRAY['a b', NULL, i::text], jsonb_build_object('b', i, 'a', 'x'), ''\$\$)")
expect "kinds rows written" "$n" 14600
n=$(q "SELECT ac_test.backdate('public.parted', 365, 4, 'id, note', \$\$i, repeat('n', (i % 5)::int)\$\$)")
expect "parted rows written" "$n" 1460
ac_log "backdated 24820 rows in $((SECONDS - t))s"

for tbl in public.kinds public.parted; do
    back=$(q "SELECT count(*) FROM (SELECT chain_at < lag(chain_at) OVER (PARTITION BY chain_lane ORDER BY chain_seq) AS back
                                      FROM $tbl) s WHERE back")
    expect "$tbl: chain_at grows with seq in every lane" "$back" 0
done
back=$(q "SELECT count(*) FROM (SELECT chain_at < lag(chain_at) OVER (PARTITION BY chain_lane ORDER BY chain_seq) AS back
                                  FROM audit_chain.events WHERE action = 'read') s WHERE back")
expect "audit_chain.events: chain_at of the backdated events grows with seq" "$back" 0
age=$(q "SELECT date_trunc('day', now() - min(chain_at))::text FROM public.kinds")
expect "oldest backdated row is a year old" "$age" "365 days"

# a second round continues every lane from its head
q "SELECT ac_test.backdate('public.kinds', 2, 10, 'who', \$\$'again'\$\$)" >/dev/null
q "SELECT ac_test.backdate('public.parted', 2, 10, 'id', \$\$2000 + i\$\$)" >/dev/null
q "SELECT ac_test.backdate('audit_chain.events', 1, 32, 'event_type, action', \$\$'admin', 'again'\$\$)" >/dev/null

psql_db "$DB" -c "
SELECT c.relname AS tbl, e.chain_lane AS lane, count(*) AS rows, max(e.chain_seq) AS last_seq,
       min(e.chain_at)::date AS oldest, max(e.chain_at)::date AS newest
  FROM (SELECT 'kinds' AS relname UNION ALL SELECT 'parted' UNION ALL SELECT 'events') c
  CROSS JOIN LATERAL (
      SELECT chain_lane, chain_seq, chain_at FROM public.kinds WHERE c.relname = 'kinds'
      UNION ALL SELECT chain_lane, chain_seq, chain_at FROM public.parted WHERE c.relname = 'parted'
      UNION ALL SELECT chain_lane, chain_seq, chain_at FROM audit_chain.events WHERE c.relname = 'events') e
 WHERE e.chain_lane IN (0, 1, 15)
 GROUP BY 1, 2 ORDER BY 1, 2"

for tbl in audit_chain.events public.kinds public.parted; do
    bad=$(q "SELECT count(*) FROM ac_test.recompute('$tbl') WHERE computed IS DISTINCT FROM stored")
    expect "$tbl: every stored hash equals the plain-SQL one" "$bad" 0
    got=$(q "SELECT count(*) FILTER (WHERE intact) || '/' || count(*) FROM audit_chain.verify_chain('$tbl')")
    lanes=$(q "SELECT count(*) FROM audit_chain.chains WHERE tbl = '$tbl'::regclass")
    expect "$tbl: verify_chain intact in every lane" "$got" "$lanes/$lanes"
    gaps=$(q "SELECT count(*) FROM (SELECT chain_lane, max(chain_seq) - min(chain_seq) + 1 - count(*) AS gap
                                      FROM $tbl GROUP BY 1) s WHERE gap <> 0")
    expect "$tbl: no gap in any lane's seqs" "$gaps" 0
done
twice=$(q "SELECT count(*) FROM public.kinds WHERE twice <> id * 2 OR id IS NULL")
expect "identity and generated columns filled" "$twice" 0

# as an ordinary role the same insert is sealed anew (is_presealed is for
# superusers only): the helper's own check notices and refuses
q "CREATE ROLE backdate_app; GRANT USAGE ON SCHEMA ac_test TO backdate_app;
   GRANT INSERT, SELECT ON public.kinds TO backdate_app; GRANT USAGE ON SEQUENCE public.kinds_id_seq TO backdate_app; GRANT SELECT ON audit_chain.chains TO backdate_app"
err=$(psql_db "$DB" -qtAc "SET ROLE backdate_app; SELECT ac_test.backdate('public.kinds', 1, 4, 'who', \$\$'x'\$\$)" 2>&1 || true)
case $err in
    *"backdate: 0 of 4 rows"*) ac_log "ok: not a superuser: rows sealed anew, backdate refuses (${err%%$'\n'*})" ;;
    *) ac_die "backdate as a non-superuser: unexpected: $err" ;;
esac
ac_log "backdate: all checks passed"
