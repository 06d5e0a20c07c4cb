#!/usr/bin/env bash
# test/scenarios/admin_preload.sh -- what the admin events need
# shared_preload_libraries for (issue 14), each statement run as the first
# statement of a fresh session (psql -c), as an application or a DBA would:
#   without it: GRANT/REVOKE on a table and DROP OWNED (event triggers) are
#     recorded; CREATE ROLE, GRANT on a database and CREATE DATABASE (the
#     utility hook, not loaded yet in a fresh session) are not;
#   with shared_preload_libraries = 'audit_chain': every statement of the
#     list below is recorded, exactly once, naming what it changed; a
#     statement that fails writes nothing; CREATE DATABASE run from the
#     database that has the extension is recorded there, run from one that
#     has not (postgres) it is recorded nowhere and does not fail.
# Starts its own cluster through scripts/lib.sh.
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "${AC_LIB:-$(dirname "$0")/../../scripts/lib.sh}"

DB=ac_adm
expect() { # expect WHAT GOT WANT
    if [[ $2 != "$3" ]]; then
        ac_die "$1: got '$2', want '$3'"
    fi
    ac_log "ok: $1"
}
q() { psql_db "$DB" -qtAc "$1"; }
# fresh DB SQL...: each statement the first of a new session
fresh() {
    local db=$1 s
    shift
    for s in "$@"; do psql_db "$db" -qc "$s" >/dev/null; done
}
fresh_fails() { # fresh_fails DB SQL: the statement must fail
    if psql_db "$1" -qc "$2" >/dev/null 2>&1; then ac_die "did not fail: $2"; fi
}
since() { # since T0 COLUMNS: admin events since T0, one line each
    q "SELECT $2 FROM audit_chain.events
        WHERE event_type = 'admin' AND chain_at >= '$1' ORDER BY chain_at, chain_lane, chain_seq"
}

start_cluster adm
createdb "$DB"
fresh "$DB" "CREATE EXTENSION audit_chain" "CREATE TABLE public.t (a int)" \
    "CREATE ROLE adm_user LOGIN"

# ---- without shared_preload_libraries
t0=$(q "SELECT clock_timestamp()")
fresh "$DB" "GRANT SELECT ON public.t TO adm_user" \
    "CREATE ROLE adm_nopre" \
    "GRANT CONNECT ON DATABASE $DB TO adm_nopre" \
    "CREATE DATABASE adm_nopre_db" \
    "DROP OWNED BY adm_nopre"
expect "no preload: event triggers record GRANT on a table and DROP OWNED" \
    "$(since "$t0" "action || ' ' || resource")" \
    "grant public.t
drop owned adm_nopre"
fresh "$DB" "DROP DATABASE adm_nopre_db" "DROP ROLE adm_nopre"

# ---- with shared_preload_libraries
set_conf adm shared_preload_libraries audit_chain
restart_cluster adm
t1=$(q "SELECT clock_timestamp()")
fresh "$DB" "CREATE FUNCTION public.evf() RETURNS event_trigger LANGUAGE plpgsql AS 'BEGIN END'"
fresh "$DB" \
    "CREATE ROLE adm_r2" \
    "ALTER ROLE adm_r2 CREATEDB" \
    "GRANT adm_r2 TO adm_user WITH ADMIN OPTION" \
    "REVOKE adm_r2 FROM adm_user" \
    "COMMENT ON ROLE adm_r2 IS 'temp'" \
    "CREATE DATABASE adm_db OWNER adm_r2" \
    "ALTER DATABASE adm_db SET work_mem = '2MB'" \
    "GRANT CONNECT ON DATABASE adm_db TO adm_user" \
    "REVOKE CONNECT ON DATABASE adm_db FROM adm_user" \
    "COMMENT ON DATABASE adm_db IS 'temp'" \
    "CREATE EVENT TRIGGER adm_et ON ddl_command_end EXECUTE FUNCTION public.evf()" \
    "ALTER EVENT TRIGGER adm_et DISABLE" \
    "DROP EVENT TRIGGER adm_et" \
    "REASSIGN OWNED BY adm_r2 TO postgres" \
    "DROP OWNED BY adm_r2" \
    "ALTER DATABASE adm_db RENAME TO adm_db2"
# an ordinary role, on itself, first statement of its session
PGUSER=adm_user fresh "$DB" "ALTER ROLE adm_user SET work_mem = '1MB'"
# fails: nothing recorded
fresh_fails "$DB" "DROP DATABASE adm_missing"
fresh_fails "$DB" "GRANT CONNECT ON DATABASE adm_missing TO adm_user"
fresh_fails "$DB" "CREATE ROLE adm_r2"
# from another database: recorded there if it has the extension, else nowhere
fresh postgres "CREATE DATABASE adm_elsewhere" "DROP DATABASE adm_elsewhere"
fresh adm_db2 "CREATE ROLE adm_r3" "DROP ROLE adm_r3"
fresh "$DB" "DROP DATABASE adm_db2" "DROP ROLE adm_r2"

expect "preloaded: every statement once, naming what it changed" \
    "$(since "$t1" "action || ' ' || resource")" \
    "create function public.evf()
create role adm_r2
alter role adm_r2
grant role adm_r2
revoke role adm_r2
comment adm_r2
create database adm_db
alter database set adm_db
grant adm_db
revoke adm_db
comment adm_db
create event trigger adm_et
alter event trigger adm_et
drop event trigger adm_et
reassign owned adm_r2
drop owned adm_r2
alter database adm_db
alter role set adm_user
drop database adm_db2
drop role adm_r2"
expect "GRANT role: the role, the member, WITH ADMIN OPTION" \
    "$(q "SELECT (details->>'roles') || (details->>'members') || (details->>'admin_option')
           FROM audit_chain.events WHERE chain_at >= '$t1' AND action = 'grant role'")" \
    '["adm_r2"]["adm_user"]true'
expect "GRANT CONNECT ON DATABASE: object, privilege, grantee" \
    "$(q "SELECT (details->>'objects') || (details->>'privileges') || (details->>'grantees')
           FROM audit_chain.events WHERE chain_at >= '$t1' AND action = 'grant'")" \
    '["adm_db"]["CONNECT"]["adm_user"]'
expect "ALTER ROLE SET by the role itself, attributed to it" \
    "$(q "SELECT db_role FROM audit_chain.events WHERE chain_at >= '$t1' AND action = 'alter role set'")" \
    adm_user
expect "the event table verifies" \
    "$(q "SELECT bool_and(intact) FROM audit_chain.verify_chain('audit_chain.events')")" t
ac_log "admin_preload: all checks passed"
