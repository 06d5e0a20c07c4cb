#!/usr/bin/env bash
# test/scenarios/hot_standby.sh -- verification on a hot standby: a primary
# and a streaming standby (pg_basebackup -R); rows written on the primary
# verify on the standby, read-only (verify_chain() and assert_intact() work
# there and write no log); tampering on the primary, once replayed, is caught
# on the standby; after promotion the former standby seals new rows, keeps
# verifying and logs again.
#
# Starts its own two clusters through scripts/lib.sh.
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "${AC_LIB:-$(dirname "$0")/../../scripts/lib.sh}"

DB=ac_standby

expect() { # expect WHAT GOT WANT
    if [[ $2 != "$3" ]]; then
        ac_die "$1: got '$2', want '$3'"
    fi
    ac_log "ok: $1"
}
qp() { psql_on primary "$DB" -qtAc "$1"; }
qs() { psql_on standby "$DB" -qtAc "$1"; }

VERIFY_SQL="SELECT string_agg(format('%s/%s/%s/%s', tbl, lane, rows_checked, intact), ' ' ORDER BY tbl::text, lane) FROM audit_chain.verify_chain()"

# ------------------------------------------------------------------ primary
start_cluster primary wal_level=replica max_wal_senders=5 hot_standby=on
on_cluster primary createdb "$DB"
psql_on primary "$DB" -q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION audit_chain;
CREATE TABLE public.events (id bigint GENERATED ALWAYS AS IDENTITY, actor text, what text, at timestamptz DEFAULT now());
SELECT audit_chain.protect('public.events', lanes => 2);
CREATE TABLE public.ledger (id int, amount numeric(12, 2));
SELECT audit_chain.protect('public.ledger');
CREATE TABLE public.tail (id int);
SELECT audit_chain.protect('public.tail');
INSERT INTO public.events (actor, what) SELECT 'before', 'backup ' || g FROM generate_series(1, 20) g;
INSERT INTO public.tail SELECT g FROM generate_series(1, 5) g;
SQL

# ------------------------------------------------------------------ standby
start_standby primary standby
expect "standby is in recovery" "$(qs 'SELECT pg_is_in_recovery()')" t

# Rows after the base backup, from two writers at once (both lanes)
psql_on primary "$DB" -q -c "BEGIN; INSERT INTO public.events (actor, what) VALUES ('slow', 'holds a lane'); SELECT pg_sleep(2); COMMIT;" >/dev/null &
slow=$!
sleep 0.5
for i in $(seq 1 30); do
    psql_on primary "$DB" -q -c "INSERT INTO public.events (actor, what) VALUES ('user$i', 'streamed')"
done
wait "$slow"
psql_on primary "$DB" -q >/dev/null <<'SQL'
INSERT INTO public.ledger SELECT g, g * 1.25 FROM generate_series(1, 500) g;
INSERT INTO public.tail SELECT g FROM generate_series(6, 10) g;
SELECT audit_chain.checkpoint();
SQL
expect "rows in both lanes of events" "$(qp 'SELECT count(DISTINCT chain_lane) FROM public.events')" 2

primary_verify=$(qp "$VERIFY_SQL")
ac_log "primary: $primary_verify"
[[ $primary_verify != *false* ]] || ac_die "the primary does not verify: $primary_verify"
wait_replay primary standby 60

# ------------------------------------------------------------------ verify on the standby
log_before=$(qs 'SELECT count(*) FROM audit_chain.verification_log')
standby_verify=$(qs "$VERIFY_SQL") || ac_die "verify_chain() failed on the standby"
expect "verify_chain() on the standby: same lanes and rows as on the primary, intact" "$standby_verify" "$primary_verify"
psql_on standby "$DB" -q -c 'CALL audit_chain.assert_intact()' ||
    ac_die "CALL audit_chain.assert_intact() failed on the standby"
ac_log "ok: CALL audit_chain.assert_intact() passes on the standby"
psql_on standby "$DB" -q -c "CALL audit_chain.assert_intact('public.ledger')" ||
    ac_die "assert_intact('public.ledger') failed on the standby"
expect "a standby run writes no verification_log row" \
    "$(qs 'SELECT count(*) FROM audit_chain.verification_log')" "$log_before"
expect "row_hash() works on the standby" \
    "$(qs "SELECT count(*) FROM public.ledger WHERE chain_hash = audit_chain.row_hash('public.ledger', chain_lane, chain_seq)")" 500
expect "lane_head() on the standby matches the primary" \
    "$(qs "SELECT seq FROM audit_chain.lane_head('public.ledger', 0)")" 500
if psql_on standby "$DB" -q -c "INSERT INTO public.ledger VALUES (0, 0)" 2>/dev/null; then
    ac_die "an INSERT on the standby succeeded"
fi
ac_log "ok: the standby refuses writes"

# ------------------------------------------------------------------ tamper on the primary
psql_on primary "$DB" -q -c "SET session_replication_role = replica;
    UPDATE public.ledger SET amount = amount + 0.01 WHERE chain_seq = 250;"
psql_on primary "$DB" -q -c "SET session_replication_role = replica;
    DELETE FROM public.tail WHERE chain_seq >= 9;"
wait_replay primary standby 60
expect "changed row caught on the standby" \
    "$(qs "SELECT format('%s/%s', intact, first_bad_seq) FROM audit_chain.verify_chain('public.ledger')")" "f/250"
expect "tail cut below the checkpoint caught on the standby" \
    "$(qs "SELECT format('%s/%s', intact, first_bad_seq) FROM audit_chain.verify_chain('public.tail')")" "f/9"
expect "untouched table still intact on the standby" \
    "$(qs "SELECT bool_and(intact) FROM audit_chain.verify_chain('public.events')")" t
if psql_on standby "$DB" -q -c 'CALL audit_chain.assert_intact()' 2>"$(ac_tmpdir)/assert.err"; then
    ac_die "assert_intact() passed on the standby after tampering"
fi
grep -q 'audit chain verification failed in 2 lane(s)' "$(ac_tmpdir)/assert.err" ||
    { cat "$(ac_tmpdir)/assert.err" >&2; ac_die "assert_intact() on the standby failed with an unexpected message"; }
ac_log "ok: psql -v ON_ERROR_STOP=1 -c 'CALL audit_chain.assert_intact()' exits non-zero on the standby"
state=$(psql_on standby "$DB" -qtA -v VERBOSITY=verbose -c 'CALL audit_chain.assert_intact()' 2>&1 || true)
[[ $state == *XX001* ]] || ac_die "assert_intact() on the standby did not raise XX001: $state"
ac_log "ok: with SQLSTATE XX001"
expect "still no verification_log row written on the standby" \
    "$(qs 'SELECT count(*) FROM audit_chain.verification_log')" "$log_before"

# ------------------------------------------------------------------ promote
promote_cluster standby
for _ in $(seq 1 100); do
    [[ $(qs 'SELECT pg_is_in_recovery()') == f ]] && break
    sleep 0.1
done
expect "the standby was promoted" "$(qs 'SELECT pg_is_in_recovery()')" f
stop_cluster primary
psql_on standby "$DB" -q -c "CREATE TABLE public.heads_before AS
    SELECT c.lane, h.seq, h.hash FROM audit_chain.chains c, audit_chain.lane_head(c.tbl, c.lane) h
     WHERE c.tbl = 'public.events'::regclass"
psql_on standby "$DB" -q -c "INSERT INTO public.events (actor, what) VALUES ('after', 'promotion')"
expect "a row sealed on the promoted standby continues its lane (seq n+1, linked to the old head)" \
    "$(qs "SELECT e.chain_seq = b.seq + 1 AND e.chain_prev = b.hash
             FROM public.events e JOIN public.heads_before b ON b.lane = e.chain_lane
            WHERE e.actor = 'after'")" t
expect "events still verify after promotion" \
    "$(qs "SELECT bool_and(intact) FROM audit_chain.verify_chain('public.events')")" t
log_now=$(qs 'SELECT count(*) FROM audit_chain.verification_log')
((log_now > log_before)) || ac_die "verify_chain() on the promoted server wrote no verification_log row"
ac_log "ok: the promoted server logs its verification runs"

ac_log "hot_standby: PASS"
