# shellcheck shell=bash
# scripts/lib.sh -- shared helpers for scripts/test.sh, scripts/demo.sh and the
# shell tests under test/ (scenarios, stress, bench).  Source it:
#
#     . "${AC_LIB:-$(dirname "$0")/../../scripts/lib.sh}"
#
# Functions (all die with a message on failure):
#   ensure_packages [PKG...]        apt-get install whatever of the needed
#                                   Debian 12 packages (plus PKG...) is missing
#   build_install [MAKE_ARG...]     make clean; make all; make install
#   start_cluster [NAME] [-c k=v | k=v]...
#                                   initdb + start a throwaway cluster (default
#                                   NAME "main"), unix socket only
#   start_cron_cluster NAME DB [-c k=v | k=v]...
#                                   start_cluster with pg_cron preloaded, its
#                                   jobs in database DB (create DB, then
#                                   CREATE EXTENSION pg_cron in it)
#   start_standby PRIMARY NAME [-c k=v]...
#                                   pg_basebackup -R from PRIMARY, start it
#   stop_cluster [NAME [MODE]]      pg_ctl stop (MODE fast by default); no NAME:
#                                   stop every cluster this shell started
#   crash_cluster NAME              pg_ctl -m immediate stop (simulated crash)
#   restart_cluster NAME [MODE]     stop (if running) with MODE, then start
#   promote_cluster NAME            pg_ctl promote a standby
#   set_conf NAME KEY VALUE         append KEY = 'VALUE' to its postgresql.conf
#   wait_replay PRIMARY STANDBY [SECONDS]
#                                   wait until STANDBY replayed PRIMARY's WAL
#   use_cluster NAME                export PGHOST/PGPORT/PGUSER for NAME
#   on_cluster NAME CMD...          run CMD with PGHOST/PGPORT of NAME
#   psql_db DB [PSQL_ARG...]        psql -X -v ON_ERROR_STOP=1 -d DB (current env)
#   psql_on NAME DB [PSQL_ARG...]   same, against cluster NAME
#   as_pg CMD...                    run CMD as the server's OS user (postgres
#                                   when we are root, else ourselves)
#   as_root CMD...                  run CMD as root (sudo when not root)
#   ac_tmpdir                       print this shell's temp directory (made when
#                                   lib.sh is sourced, removed at exit)
#   ac_defer CMD...                 run CMD at exit, before clusters are stopped
#   ac_log / ac_warn / ac_die MSG   messages on stderr
#
# Per-cluster facts live in associative arrays indexed by NAME:
#   AC_PGDATA[NAME] AC_PORT[NAME] AC_SOCKDIR[NAME] AC_LOGFILE[NAME]
# The first cluster started in a shell becomes the current one: PGHOST, PGPORT
# and PGUSER are exported for it (use_cluster switches).  Server settings are
# written to the cluster's postgresql.conf, so a plain `pg_ctl -D DIR start`
# after a crash brings it back with the same port, socket and options.
# Defaults: listen_addresses='' (socket only), shared_preload_libraries='',
# fsync=off, max_prepared_transactions=10; later settings override them.
#
# On exit (normal, error, Ctrl-C, SIGTERM) every cluster this shell started is
# stopped with -m immediate and the temp directory is removed; on a failing
# exit the tail of each server log is printed first.  Set AC_KEEP=1 to leave
# the clusters running and the files in place.  A script that needs its own
# cleanup must use ac_defer rather than `trap ... EXIT` (which would replace
# ours).  Environment knobs:
#   AC_PG_OPTS     extra "k=v" settings (space separated) for every cluster
#   AC_VERBOSE=1   show build output
#
# Valgrind hook: a cluster under valgrind would be started here (postgres run
# through valgrind --trace-children=yes with src/tools/valgrind.supp and
# -c max_connections=...); not implemented.

# ---------------------------------------------------------------- basics
if [[ -n ${AC_LIB_LOADED:-} ]]; then return 0; fi
AC_LIB_LOADED=1

AC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AC_PGBIN=${AC_PGBIN:-/usr/lib/postgresql/15/bin}
PG_CONFIG=$AC_PGBIN/pg_config
AC_LIB=$AC_ROOT/scripts/lib.sh
case ":$PATH:" in
    "$AC_PGBIN:"*) ;;
    *) PATH=$AC_PGBIN:$PATH ;;
esac
export AC_ROOT AC_PGBIN PG_CONFIG AC_LIB PATH

# Debian 12 packages the build and the tests need.
AC_PACKAGES=(
    postgresql-15 postgresql-client-15 postgresql-server-dev-15
    postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl
    postgresql-15-pgaudit libssl-dev libpq-dev gcc make openssl util-linux
    sqlsmith postgresql-15-cron postgresql-15-partman
    libjansson-dev pkg-config jq clang chromium
)

declare -gA AC_PGDATA=() AC_PORT=() AC_SOCKDIR=() AC_LOGFILE=()
AC_CLUSTERS=()          # names, in start order
AC_DEFERRED=()          # commands for ac_defer
AC_TMP=                 # this shell's temp dir (never exported)
AC_CURRENT=             # cluster PGHOST/PGPORT point to

ac_log()  { printf '%s\n' "==> $*" >&2; }
ac_warn() { printf '%s\n' "WARNING: $*" >&2; }
ac_die()  { printf '%s\n' "ERROR: $*" >&2; exit 1; }

ac_is_root() { [[ $(id -u) -eq 0 ]]; }

as_root() {
    if ac_is_root; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        ac_die "need root for: $*  (not root and sudo is not installed)"
    fi
}

# The server refuses to run as root: as root, run server-side tools
# (initdb, pg_ctl, pg_basebackup) as postgres.  From / so the postgres user
# never trips over an unreadable current directory.
as_pg() {
    if ac_is_root; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

_ac_make_tmp() {
    # /tmp rather than $TMPDIR: unix socket paths must stay short.
    AC_TMP=$(mktemp -d /tmp/audit_chain.XXXXXX) || ac_die "mktemp failed"
    chmod 755 "$AC_TMP"            # postgres must be able to traverse it
    trap _ac_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
}

ac_tmpdir() { printf '%s\n' "$AC_TMP"; }

ac_defer() { AC_DEFERRED+=("$(printf '%q ' "$@")"); }

# ---------------------------------------------------------------- setup
ensure_packages() {
    local p missing=()
    for p in "${AC_PACKAGES[@]}" "$@"; do
        # shellcheck disable=SC2016  # ${Status} is dpkg-query's, not ours
        if [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) != "install ok installed" ]]; then
            missing+=("$p")
        fi
    done
    if ((${#missing[@]})); then
        ac_log "installing missing packages: ${missing[*]}"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
            ac_die "apt-get update failed"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            -o Dpkg::Use-Pty=0 --no-install-recommends "${missing[@]}" ||
            ac_die "apt-get install failed: ${missing[*]}"
    fi
    local t
    for t in pg_config initdb pg_ctl postgres psql pg_basebackup pgbench; do
        [[ -x $AC_PGBIN/$t ]] || ac_die "$AC_PGBIN/$t is missing"
    done
    command -v pg_prove >/dev/null || ac_die "pg_prove is missing"
    command -v runuser >/dev/null || ac_die "runuser is missing"
    getent passwd postgres >/dev/null || ac_die "OS user postgres is missing"
}

# Are the built artefacts already installed byte for byte?  Only used to
# spare a non-root user a sudo prompt.
_ac_install_uptodate() {
    local pkglib share f
    pkglib=$("$PG_CONFIG" --pkglibdir)
    share=$("$PG_CONFIG" --sharedir)/extension
    for f in "$AC_ROOT"/*.so; do
        [[ -e $f ]] || return 1
        cmp -s "$f" "$pkglib/${f##*/}" || return 1
    done
    for f in "$AC_ROOT"/*.control "$AC_ROOT"/sql/*--*.sql; do
        [[ -e $f ]] || continue
        cmp -s "$f" "$share/${f##*/}" || return 1
    done
}

# build_install [MAKE_ARG...]: e.g. build_install COPT=-Werror
build_install() {
    local mk=(make -C "$AC_ROOT" --no-print-directory "PG_CONFIG=$PG_CONFIG")
    local log
    [[ -f $AC_ROOT/Makefile ]] || ac_die "no Makefile in $AC_ROOT"
    log=$AC_TMP/build.log
    ac_log "build: make clean all${*:+ $*}"
    if [[ ${AC_VERBOSE:-0} == 1 ]]; then
        if ! { "${mk[@]}" clean && "${mk[@]}" -j"$(nproc)" "$@" all; }; then
            ac_die "build failed (make $* all)"
        fi
    else
        if ! { "${mk[@]}" clean && "${mk[@]}" -j"$(nproc)" "$@" all; } >"$log" 2>&1; then
            cat "$log" >&2
            ac_die "build failed (make $* all)"
        fi
    fi
    if ! ac_is_root && _ac_install_uptodate; then
        ac_log "install: already up to date"
        return 0
    fi
    ac_log "install: make install"
    if ! as_root "${mk[@]}" "$@" install >"$log" 2>&1; then
        cat "$log" >&2
        ac_die "make install failed"
    fi
}

# ---------------------------------------------------------------- clusters
_ac_check_name() {
    [[ $1 =~ ^[A-Za-z0-9_]+$ ]] || ac_die "bad cluster name '$1'"
}

_ac_known() {
    [[ -n ${AC_PGDATA[$1]+x} ]] || ac_die "no cluster named '$1'"
}

_ac_port_used() {
    local p=$1 n hex
    for n in "${AC_CLUSTERS[@]}"; do
        [[ ${AC_PORT[$n]} == "$p" ]] && return 0
    done
    [[ -e /tmp/.s.PGSQL.$p || -e /var/run/postgresql/.s.PGSQL.$p ]] && return 0
    printf -v hex '%04X' "$p"
    grep -qs ":$hex " /proc/net/tcp /proc/net/tcp6 && return 0
    return 1
}

# Sets AC_NEW_PORT (no command substitution: $RANDOM and subshells).
_ac_pick_port() {
    local i p
    for i in {1..100}; do
        p=$((50000 + RANDOM % 10001))
        if ! _ac_port_used "$p"; then AC_NEW_PORT=$p; return 0; fi
    done
    ac_die "no free port found in 50000-60000"
}

# Create NAME's directory, register it; the data dir is not created.
_ac_register() {
    local name=$1 base
    _ac_check_name "$name"
    [[ -z ${AC_PGDATA[$name]+x} ]] || ac_die "cluster '$name' already exists"
    base=$AC_TMP/$name
    mkdir -p "$base/sock"
    if ac_is_root; then chown -R postgres:postgres "$base"; fi
    _ac_pick_port
    AC_PGDATA[$name]=$base/data
    AC_SOCKDIR[$name]=$base/sock
    AC_LOGFILE[$name]=$base/postgres.log
    AC_PORT[$name]=$AC_NEW_PORT
    AC_CLUSTERS+=("$name")
}

# _ac_settings NAME [-c k=v | k=v]...: append to NAME's postgresql.conf
_ac_settings() {
    local name=$1 kv
    shift
    while (($#)); do
        case $1 in
            -c) (($# >= 2)) || ac_die "-c needs a key=value"; kv=$2; shift 2 ;;
            -c*) kv=${1#-c}; shift ;;
            --*=*) kv=${1#--}; shift ;;
            *=*) kv=$1; shift ;;
            *) ac_die "bad server option '$1' (want -c key=value)" ;;
        esac
        set_conf "$name" "${kv%%=*}" "${kv#*=}"
    done
}

# set_conf NAME KEY VALUE: later lines win; takes effect on (re)start or,
# for reloadable settings, after SELECT pg_reload_conf().
set_conf() {
    local name=$1 key=$2 val=$3
    _ac_known "$name"
    printf "%s = '%s'\n" "$key" "${val//\'/\'\'}" >>"${AC_PGDATA[$name]}/postgresql.conf"
}

_ac_base_settings() {
    local name=$1 o
    local -a extra=()
    {
        printf '\n# ---- scripts/lib.sh (throwaway test cluster %s)\n' "$name"
    } >>"${AC_PGDATA[$name]}/postgresql.conf"
    set_conf "$name" port "${AC_PORT[$name]}"
    set_conf "$name" unix_socket_directories "${AC_SOCKDIR[$name]}"
    set_conf "$name" listen_addresses ""
    set_conf "$name" shared_preload_libraries ""
    set_conf "$name" fsync off          # the OS does not crash in our tests
    set_conf "$name" max_prepared_transactions 10
    set_conf "$name" log_line_prefix "%m [%p] %q%u@%d "
    if [[ -n ${AC_PG_OPTS:-} ]]; then
        read -r -a extra <<<"$AC_PG_OPTS"
        for o in "${extra[@]}"; do _ac_settings "$name" "$o"; done
    fi
}

_ac_pg_ctl_start() {
    local name=$1
    if ! as_pg "$AC_PGBIN/pg_ctl" -D "${AC_PGDATA[$name]}" -l "${AC_LOGFILE[$name]}" \
        -w -t 120 -s start; then
        ac_warn "server log of cluster '$name':"
        tail -n 40 "${AC_LOGFILE[$name]}" >&2 || true
        ac_die "could not start cluster '$name'"
    fi
}

_ac_running() {
    [[ -f ${AC_PGDATA[$1]}/postmaster.pid ]]
}

# start_cluster [NAME] [-c key=value | key=value]...
start_cluster() {
    local name=main locale_opt
    if (($#)) && [[ $1 != -* && $1 != *=* ]]; then name=$1; shift; fi
    _ac_register "$name"
    if locale -a 2>/dev/null | grep -iE '^c\.utf-?8$' >/dev/null; then
        locale_opt=--locale=C.UTF-8
    else
        locale_opt=--no-locale
    fi
    if ! as_pg "$AC_PGBIN/initdb" -D "${AC_PGDATA[$name]}" --auth=trust -U postgres \
        --encoding=UTF8 "$locale_opt" --no-sync >"$AC_TMP/$name/initdb.log" 2>&1; then
        cat "$AC_TMP/$name/initdb.log" >&2
        ac_die "initdb failed for cluster '$name'"
    fi
    _ac_base_settings "$name"
    _ac_settings "$name" "$@"
    _ac_pg_ctl_start "$name"
    ac_log "cluster '$name' up: PGHOST=${AC_SOCKDIR[$name]} PGPORT=${AC_PORT[$name]}"
    if [[ -z $AC_CURRENT ]]; then use_cluster "$name"; fi
}

# start_cron_cluster NAME DB [-c key=value | key=value]...: a cluster with
# pg_cron (Debian's postgresql-15-cron) preloaded and its scheduler in DB.
# pg_cron runs a job over libpq, by default to localhost over TCP, which our
# clusters do not listen on: cron.host points it to the cluster's socket
# directory instead.  Until DB exists the scheduler logs an error and retries.
start_cron_cluster() {
    local name=$1 db=$2
    shift 2
    _ac_check_name "$name"
    start_cluster "$name" shared_preload_libraries=pg_cron "cron.database_name=$db" \
        "cron.host=$AC_TMP/$name/sock" "$@"
}

# start_standby PRIMARY NAME [-c key=value]...: hot standby via pg_basebackup -R
start_standby() {
    local primary=$1 name=$2
    shift 2
    _ac_known "$primary"
    _ac_register "$name"
    if ! as_pg "$AC_PGBIN/pg_basebackup" -D "${AC_PGDATA[$name]}" -R -X stream -c fast \
        -h "${AC_SOCKDIR[$primary]}" -p "${AC_PORT[$primary]}" -U postgres -w \
        >"$AC_TMP/$name/basebackup.log" 2>&1; then
        cat "$AC_TMP/$name/basebackup.log" >&2
        ac_die "pg_basebackup of '$primary' into '$name' failed"
    fi
    # The copied postgresql.conf holds the primary's settings, including its
    # port and socket directory: override just those.
    printf '\n# ---- scripts/lib.sh (standby %s of %s)\n' "$name" "$primary" \
        >>"${AC_PGDATA[$name]}/postgresql.conf"
    set_conf "$name" port "${AC_PORT[$name]}"
    set_conf "$name" unix_socket_directories "${AC_SOCKDIR[$name]}"
    set_conf "$name" hot_standby on
    _ac_settings "$name" "$@"
    _ac_pg_ctl_start "$name"
    ac_log "standby '$name' of '$primary' up: PGHOST=${AC_SOCKDIR[$name]} PGPORT=${AC_PORT[$name]}"
    if [[ -z $AC_CURRENT ]]; then use_cluster "$name"; fi
}

# stop_cluster [NAME [MODE]]; MODE: smart | fast (default) | immediate
stop_cluster() {
    local n
    if (($# == 0)); then
        for ((n = ${#AC_CLUSTERS[@]} - 1; n >= 0; n--)); do
            stop_cluster "${AC_CLUSTERS[n]}"
        done
        return 0
    fi
    local name=$1 mode=${2:-fast}
    _ac_known "$name"
    _ac_running "$name" || return 0
    as_pg "$AC_PGBIN/pg_ctl" -D "${AC_PGDATA[$name]}" -m "$mode" -w -t 120 -s stop ||
        ac_die "could not stop cluster '$name'"
}

crash_cluster() { stop_cluster "$1" immediate; }

restart_cluster() {
    local name=$1 mode=${2:-fast}
    stop_cluster "$name" "$mode"
    _ac_pg_ctl_start "$name"
}

promote_cluster() {
    _ac_known "$1"
    as_pg "$AC_PGBIN/pg_ctl" -D "${AC_PGDATA[$1]}" -w -t 120 -s promote ||
        ac_die "could not promote cluster '$1'"
}

use_cluster() {
    _ac_known "$1"
    AC_CURRENT=$1
    export PGHOST=${AC_SOCKDIR[$1]} PGPORT=${AC_PORT[$1]} PGUSER=postgres
}

on_cluster() {
    local name=$1
    shift
    _ac_known "$name"
    PGHOST=${AC_SOCKDIR[$name]} PGPORT=${AC_PORT[$name]} PGUSER=postgres "$@"
}

psql_db() {
    local db=$1
    shift
    "$AC_PGBIN/psql" -X -v ON_ERROR_STOP=1 -d "$db" "$@"
}

psql_on() {
    local name=$1
    shift
    on_cluster "$name" psql_db "$@"
}

# wait_replay PRIMARY STANDBY [SECONDS]
wait_replay() {
    local primary=$1 standby=$2 limit=${3:-60} lsn i
    lsn=$(psql_on "$primary" postgres -qtAc 'SELECT pg_current_wal_lsn()')
    for ((i = 0; i < limit * 10; i++)); do
        if [[ $(psql_on "$standby" postgres -qtAc \
            "SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn") == t ]]; then
            return 0
        fi
        sleep 0.1
    done
    ac_die "standby '$standby' did not replay up to $lsn within ${limit}s"
}

# ---------------------------------------------------------------- cleanup
_ac_kill_cluster() {
    local name=$1 data pid
    data=${AC_PGDATA[$name]}
    [[ -f $data/postmaster.pid ]] || return 0
    pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)
    as_pg "$AC_PGBIN/pg_ctl" -D "$data" -m immediate -w -t 30 -s stop >/dev/null 2>&1
    if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
    fi
}

_ac_cleanup() {
    local rc=$? i name
    trap - EXIT INT TERM HUP
    set +e
    for ((i = ${#AC_DEFERRED[@]} - 1; i >= 0; i--)); do
        eval "${AC_DEFERRED[i]}"
    done
    if ((rc != 0)); then
        for name in "${AC_CLUSTERS[@]}"; do
            [[ -s ${AC_LOGFILE[$name]} ]] || continue
            printf '\n---- tail of server log, cluster %s (%s)\n' \
                "$name" "${AC_LOGFILE[$name]}" >&2
            tail -n 30 "${AC_LOGFILE[$name]}" >&2
        done
    fi
    if [[ ${AC_KEEP:-0} == 1 ]]; then
        [[ -n $AC_TMP ]] && ac_log "AC_KEEP=1: clusters left running, files in $AC_TMP"
        return "$rc"
    fi
    for ((i = ${#AC_CLUSTERS[@]} - 1; i >= 0; i--)); do
        _ac_kill_cluster "${AC_CLUSTERS[i]}"
    done
    [[ -n $AC_TMP && -d $AC_TMP ]] && rm -rf "$AC_TMP"
    return "$rc"
}

# Created at source time (not lazily: a first call from inside $(...) would
# create it in a subshell).  Removed again on exit.
_ac_make_tmp
