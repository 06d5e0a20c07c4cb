#!/usr/bin/env bash
# scripts/demo.sh -- a guided tour of audit_chain on a throwaway cluster:
# protect a table, append rows, verify the chain, watch UPDATE being refused,
# tamper as a superuser behind the triggers' back, watch verification catch it,
# and show the compliance evidence.  Sets up everything it needs (packages,
# build, install) like scripts/test.sh.  Works as root or as a user with sudo.
#
# Usage: scripts/demo.sh [--keep]
#   --keep   leave the cluster running at the end and print how to connect
# shellcheck disable=SC2119  # lib functions called without arguments
set -euo pipefail

KEEP=0
for arg in "$@"; do
    case $arg in
        --keep) KEEP=1 ;;
        -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
    esac
done

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$AC_ROOT"

heading() {
    printf '\n==================================================================\n'
    printf '  %s\n' "$@"
    printf '==================================================================\n'
}

# psql for the demo: echo every statement before its result (-e), stop at the
# first unexpected error.
demo_psql() {
    psql_db demo -e -P null='(null)'
}

heading "Setup: packages, build, install, throwaway cluster"
ensure_packages
build_install
start_cluster main
psql_db postgres -qc 'CREATE DATABASE demo'

heading "1. Install the extension and protect an audit table"
demo_psql <<'SQL'
CREATE EXTENSION audit_chain;
CREATE TABLE public.orders_audit (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor   text NOT NULL,
    action  text NOT NULL,
    amount  numeric(12,2),
    details jsonb
);
SELECT audit_chain.protect('public.orders_audit');
SQL

heading "2. Append audit rows: each row is hash-chained to the one before"
demo_psql <<'SQL'
INSERT INTO public.orders_audit (actor, action, amount, details) VALUES
    ('alice@example.com', 'order.create',  1250.00, '{"order": "SO-1001", "customer": "ACME GmbH"}'),
    ('bob@example.com',   'order.approve', 1250.00, '{"order": "SO-1001", "approval": "manager"}'),
    ('carol@example.com', 'refund.issue',   -75.50, '{"order": "SO-0987", "reason": "damaged"}'),
    ('svc-billing',       'invoice.send',   980.00, '{"order": "SO-1002", "channel": "email"}');
SELECT id, actor, chain_lane, chain_seq,
       encode(chain_prev, 'hex') AS prev,
       encode(chain_hash, 'hex') AS hash
  FROM public.orders_audit
 ORDER BY chain_lane, chain_seq;
SQL

heading "3. Verify the chain: recompute every hash and link"
demo_psql <<'SQL'
SELECT * FROM audit_chain.verify_chain('public.orders_audit');
SQL

heading "4. Protected rows are append-only: UPDATE is refused" \
    "(the error below is expected)"
demo_psql <<'SQL'
\set ON_ERROR_STOP off
UPDATE public.orders_audit SET amount = 1.00 WHERE id = 2;
\set ON_ERROR_STOP on
SQL

heading "5. A superuser tampers behind the triggers' back" \
    "(session_replication_role = replica skips ordinary triggers)"
demo_psql <<'SQL'
SET session_replication_role = replica;
UPDATE public.orders_audit SET amount = 1.00 WHERE id = 2;
RESET session_replication_role;
SELECT id, actor, action, amount FROM public.orders_audit ORDER BY id;
SQL

heading "6. Verification catches it: intact = f, first bad row and the problem" \
    "(every chain: the demo table, and the extension's own audit_chain.events)"
demo_psql <<'SQL'
SELECT tbl, count(*) AS lanes, sum(rows_checked) AS rows_checked, bool_and(intact) AS intact,
       min(first_bad_seq) AS first_bad_seq, string_agg(problem, '; ') AS problem
  FROM audit_chain.verify_chain() GROUP BY tbl ORDER BY tbl::text;
SQL

heading "7. assert_intact() fails, so a scheduled job or CI step goes red"
echo "\$ psql -v ON_ERROR_STOP=1 -c 'CALL audit_chain.assert_intact()'"
rc=0
"$AC_PGBIN/psql" -X -d demo -v ON_ERROR_STOP=1 -c 'CALL audit_chain.assert_intact()' || rc=$?
echo "exit code: $rc"
if ((rc == 0)); then
    ac_warn "assert_intact() did not fail on a tampered chain"
fi

if [[ $(psql_db demo -qtAc \
    "SELECT to_regclass('audit_chain.soc2_verification_evidence') IS NOT NULL") == t ]]; then
    heading "8. Compliance report: SOC 2 evidence that the control ran"
    demo_psql <<'SQL'
\pset expanded on
SELECT * FROM audit_chain.soc2_verification_evidence;
SQL
else
    heading "8. Compliance report: every verification run is logged" \
        "(the SOC 2 evidence that the control ran)"
    demo_psql <<'SQL'
\pset expanded on
SELECT * FROM audit_chain.verification_log ORDER BY 1;
SQL
fi

if ((KEEP)); then
    AC_KEEP=1
    stop_hint="pg_ctl -D ${AC_PGDATA[main]} stop"
    if ac_is_root; then stop_hint="runuser -u postgres -- $AC_PGBIN/$stop_hint"; else stop_hint="$AC_PGBIN/$stop_hint"; fi
    heading "The cluster is still running (--keep)"
    cat <<EOF
Connect:
    $AC_PGBIN/psql -h ${AC_SOCKDIR[main]} -p ${AC_PORT[main]} -U postgres demo
or
    export PGHOST=${AC_SOCKDIR[main]} PGPORT=${AC_PORT[main]} PGUSER=postgres
    psql demo
Server log: ${AC_LOGFILE[main]}
Stop and clean up:
    $stop_hint && rm -rf $(ac_tmpdir)
EOF
else
    heading "Done: the throwaway cluster is stopped and removed" \
        "(scripts/demo.sh --keep leaves it running)"
fi
