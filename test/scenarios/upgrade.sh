#!/usr/bin/env bash
# test/scenarios/upgrade.sh -- ALTER EXTENSION audit_chain UPDATE, on a
# database that used the extension.
#
# Every version ever released stays installable (its install script is
# frozen: checked here against the digest it was released with), and every
# update path from it is walked.  For each released version V, in a database
# of its own:
#   1. CREATE EXTENSION audit_chain VERSION 'V' with the current library, and
#      fill it: chained tables with lanes, events (log_event, request ids),
#      tracked changes, a redaction, an archive and a retention policy,
#      signed checkpoints;
#   2. at V and after each step of every path pg_extension_update_paths()
#      lists from V: every chain verifies (against the stored and the
#      published checkpoints), the functions work (one call each, listed
#      below), new rows continue each lane, a checkpoint chains onto the
#      previous one; what a version added works from that version on;
#   3. at the end of each path, the extension's objects are those of a fresh
#      CREATE EXTENSION of the same version: functions (definitions,
#      settings, privileges), tables, columns, indexes, constraints,
#      triggers, views, event triggers, statistics objects and comments
#      (with no full install script of the target, a fresh install runs the
#      same scripts: this shows that they give the same result on a database
#      in use; that the comparison sees a change is checked against a fresh
#      install of V);
# Also: META.json and the control file name the same version.
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "${AC_LIB:-$(dirname "$0")/../../scripts/lib.sh}"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

# The released install scripts and the SHA-256 they were released with: a
# released script never changes (a change goes into an upgrade script).
declare -A RELEASED=(
    [1.0]=4911f842e3dd20234712839f5b9ffd2df9309a9446c6e7155e66c508681f4d16
)

ok() { ac_log "ok: $*"; }
fail() { ac_die "upgrade: $*"; }

# ---------------------------------------------------------------- static
default=$(sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" "$ROOT/audit_chain.control")
meta=$(jq -r '.version' "$ROOT/META.json")
provides=$(jq -r '.provides.audit_chain.version' "$ROOT/META.json")
[[ $meta == "$default.0" && $provides == "$default.0" ]] ||
    fail "META.json says $meta (provides $provides), the control file $default"
ok "META.json ($meta) and the control file ($default) agree"
for v in "${!RELEASED[@]}"; do
    f=$ROOT/sql/audit_chain--$v.sql
    [[ -f $f ]] || fail "the install script of released version $v is missing"
    sum=$(sha256sum "$f" | cut -d' ' -f1)
    [[ $sum == "${RELEASED[$v]}" ]] ||
        fail "sql/audit_chain--$v.sql changed after $v was released (SHA-256 $sum): put the change in an upgrade script"
    ok "sql/audit_chain--$v.sql is as released"
done

TMP=$(ac_tmpdir)/upgrade
mkdir -p "$TMP"
chmod 777 "$TMP"
KEY=$TMP/signing.pem
openssl genpkey -algorithm ed25519 -out "$KEY" 2>/dev/null
openssl pkey -in "$KEY" -pubout -out "$TMP/signing.pub" 2>/dev/null
as_root chown postgres "$KEY"
as_root chmod 600 "$KEY"
start_cluster upgrade "audit_chain.signing_key_file=$KEY"

q() { psql_db "$1" -qAt -c "$2"; }

# fill DB: what a 1.0 user has
fill() {
    local db=$1
    psql_db "$db" -q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE TABLE public.ledger (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, who text, amount numeric, at timestamptz DEFAULT now());
SELECT audit_chain.protect('public.ledger', 4);
INSERT INTO public.ledger (who, amount) SELECT 'user-' || g, g * 1.5 FROM generate_series(1, 200) AS g;
CREATE TABLE public.patients (id int PRIMARY KEY, name text, email text);
SELECT audit_chain.track('public.patients', with_values => true);
INSERT INTO public.patients VALUES (1, 'Ann', 'ann@example.org'), (2, 'Bob', 'bob@example.org');
UPDATE public.patients SET email = 'ann@example.com' WHERE id = 1;
SELECT audit_chain.log_event('api_request', 'chat.completion', actor => 'alice', provider => 'openai',
                             model => 'gpt-4o', input_tokens => 10, output_tokens => 5, latency_ms => 120,
                             purpose => 'customer-support', legal_basis => 'contract', data_subject => 'cust-1',
                             request_id => 'req-1')
  FROM generate_series(1, 20);
SELECT audit_chain.record_consent('cust-1', 'cns-1', true);
-- old rows to archive: backdated chain_at is not possible, so archive the
-- rows older than a moment ago
SELECT pg_sleep(0.2);
CALL audit_chain.archive('public.ledger', '0.1 seconds');
SELECT audit_chain.set_retention('public.ledger', '10 years');
SELECT audit_chain.redact('public.ledger', l.chain_lane, l.chain_seq, '{who}', 'erasure request 1')
  FROM (SELECT chain_lane, chain_seq FROM public.ledger ORDER BY id DESC LIMIT 1) l;
INSERT INTO public.ledger (who, amount) SELECT 'late-' || g, g FROM generate_series(1, 20) AS g;
SQL
}

# publish DB FILE: the newest checkpoint, exported
publish() {
    local id
    id=$(q "$1" "SELECT audit_chain.checkpoint()")
    q "$1" "SELECT audit_chain.export_checkpoint($id)" >"$2"
}

# check DB VERSION LABEL: everything works at this step
check() {
    local db=$1 v=$2 label=$3 pub key bad n before after
    [[ $(q "$db" "SELECT extversion FROM pg_extension WHERE extname = 'audit_chain'") == "$v" ]] ||
        fail "$label: extversion is not $v"
    pub=$(jq -s -c '.' "$TMP/$db".*.json)
    key=$(cat "$TMP/signing.pub")
    bad=$(psql_db "$db" -qAt -v pub="$pub" -v key="$key" <<'SQL'
SELECT count(*) FROM audit_chain.verify_chain(NULL, false, :'pub'::json, :'key') WHERE NOT intact;
SQL
    )
    [[ $bad == 0 ]] || fail "$label: $bad lanes do not verify"
    ok "$label: every chain verifies, with the stored and $(jq 'length' <<<"$pub") published checkpoints"
    # one call of each function a user or a monitor calls
    n=$(psql_db "$db" -qAt <<'SQL'
SET client_min_messages = warning;
SELECT count(*) FROM (
    SELECT 1 FROM (SELECT count(*) FROM audit_chain.verify_chain('public.ledger', true)) s
    UNION ALL SELECT 1 FROM audit_chain.lane_head('public.ledger', 0)
    UNION ALL SELECT 1 FROM (SELECT chain_lane, chain_seq FROM public.ledger ORDER BY id DESC LIMIT 1) r
               WHERE length(audit_chain.row_hash('public.ledger', r.chain_lane, r.chain_seq)) = 32
    UNION ALL SELECT 1 FROM (SELECT chain_lane, chain_seq FROM public.ledger ORDER BY id DESC LIMIT 1) r
               WHERE audit_chain.canonical_row('public.ledger', r.chain_lane, r.chain_seq) IS NOT NULL
    UNION ALL SELECT 1 WHERE audit_chain.canonical_text(42) = '42'
    UNION ALL SELECT 1 WHERE length(audit_chain.digest('x')) = 32
    UNION ALL SELECT 1 FROM (SELECT count(*) FROM audit_chain.export_segment('public.ledger', 0)) s
    UNION ALL SELECT 1 FROM (SELECT count(*) FROM audit_chain.export_events(NULL, 5)) s
    UNION ALL SELECT 1 FROM (SELECT audit_chain.event_json(e) FROM audit_chain.events e LIMIT 1) s
    UNION ALL SELECT 1 FROM (SELECT count(*) FROM audit_chain.export_jsonl('-infinity')) s
    UNION ALL SELECT 1 FROM (SELECT count(*) FROM audit_chain.request_timeline('req-1')) s
    UNION ALL SELECT 1 FROM (SELECT count(*) FROM audit_chain.usage_report(now() - interval '1 day', now() + interval '1 day')) s
    UNION ALL SELECT 1 FROM (SELECT count(*) FROM audit_chain.gdpr_subject_access('cust-1')) s
    UNION ALL SELECT 1 WHERE audit_chain.gdpr_subject_access_json('cust-1') IS NOT NULL
    UNION ALL SELECT 1 FROM (SELECT count(*) FROM audit_chain.gdpr_processing_records) s
    UNION ALL SELECT 1 FROM (SELECT count(*) FROM audit_chain.gdpr_consent_violations) s
    UNION ALL SELECT 1 FROM (SELECT count(*) FROM audit_chain.ai_safety_daily) s
    UNION ALL SELECT 1 FROM (SELECT count(*) FROM audit_chain.soc2_security_events) s
    UNION ALL SELECT 1 FROM (SELECT count(*) FROM audit_chain.soc2_verification_evidence) s
    UNION ALL SELECT 1 FROM (SELECT count(*) FROM audit_chain.hipaa_phi_activity) s
    UNION ALL SELECT 1 FROM (SELECT count(*) FROM audit_chain.activity_anomalies(1)) s
    UNION ALL SELECT 1 WHERE audit_chain.export_chain('public.ledger') IS NOT NULL
    UNION ALL SELECT 1 WHERE audit_chain.archive_table('public.ledger') IS NOT NULL
    UNION ALL SELECT 1 WHERE audit_chain.version() IS NOT NULL
) calls;
SQL
    )
    [[ $n == 24 ]] || fail "$label: $n of 24 function calls answered"
    ok "$label: 24 functions and reports answer"
    # new rows continue each lane; a new checkpoint chains on
    before=$(q "$db" "SELECT string_agg(lane || ':' || (audit_chain.lane_head('public.ledger', lane)).seq, ',' ORDER BY lane) FROM generate_series(0, 3) AS lane")
    for i in 1 2 3 4 5 6 7 8; do
        q "$db" "INSERT INTO public.ledger (who, amount) VALUES ('$label $i', $i)" >/dev/null
    done
    q "$db" "SELECT audit_chain.log_event('api_request', 'after $label')" >/dev/null
    after=$(q "$db" "SELECT string_agg(lane || ':' || (audit_chain.lane_head('public.ledger', lane)).seq, ',' ORDER BY lane) FROM generate_series(0, 3) AS lane")
    [[ $before != "$after" ]] || fail "$label: no lane moved"
    publish "$db" "$TMP/$db.$(date +%s%N).json"
    bad=$(q "$db" "SELECT count(*) FROM audit_chain.verify_chain() WHERE NOT intact")
    [[ $bad == 0 ]] || fail "$label: new rows or the new checkpoint do not verify"
    ok "$label: new rows continue the lanes ($before -> $after), a new checkpoint chains on"
    # what a version added
    if [[ $(q "$db" "SELECT count(*) FROM pg_views WHERE schemaname = 'audit_chain' AND viewname = 'chain_status'") == 1 ]]; then
        # the checkpoint just published binds every lane's head
        [[ $(q "$db" "SELECT count(*) FILTER (WHERE last_checkpoint_id IS NOT NULL AND rows_after_checkpoint = 0
                                                 AND last_verified_at IS NOT NULL)
                        FROM audit_chain.chain_status WHERE tbl = 'public.ledger'::regclass") == 4 ]] ||
            fail "$label: chain_status does not show the four lanes of public.ledger checkpointed and verified"
        ok "$label: chain_status (1.1) shows the four lanes, verified and checkpointed"
    fi
}

# the extension's objects, in a canonical text form
objects() {
    psql_db "$1" -qAt <<'SQL'
WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'audit_chain'),
mem AS (SELECT d.classid, d.objid FROM pg_depend d, ext WHERE d.refclassid = 'pg_extension'::regclass
                                                          AND d.refobjid = ext.oid AND d.deptype = 'e')
SELECT 'function ' || p.oid::regprocedure || ' ' || md5(pg_get_functiondef(p.oid))
       || ' ' || coalesce(p.proacl::text, '') || ' ' || coalesce(obj_description(p.oid, 'pg_proc'), '')
  FROM pg_proc p JOIN mem ON mem.classid = 'pg_proc'::regclass AND mem.objid = p.oid
 WHERE p.prokind <> 'a'
UNION ALL
SELECT 'relation ' || c.oid::regclass || ' ' || c.relkind::text || ' ' || coalesce(c.relacl::text, '')
       || ' ' || coalesce(obj_description(c.oid, 'pg_class'), '')
       || coalesce(' view ' || md5(pg_get_viewdef(c.oid)), '')
  FROM pg_class c JOIN mem ON mem.classid = 'pg_class'::regclass AND mem.objid = c.oid
UNION ALL
SELECT 'column ' || a.attrelid::regclass || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
       || ' ' || a.attnotnull || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') || ' ' || a.attnum
       || ' ' || coalesce(a.attacl::text, '')
  FROM pg_attribute a JOIN mem ON mem.classid = 'pg_class'::regclass AND mem.objid = a.attrelid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'index ' || pg_get_indexdef(i.indexrelid)
  FROM pg_index i JOIN mem ON mem.classid = 'pg_class'::regclass AND mem.objid = i.indrelid
UNION ALL
SELECT 'constraint ' || co.conrelid::regclass || ' ' || co.conname || ' ' || pg_get_constraintdef(co.oid)
  FROM pg_constraint co JOIN mem ON mem.classid = 'pg_class'::regclass AND mem.objid = co.conrelid
UNION ALL
SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' ' || t.tgenabled::text
  FROM pg_trigger t JOIN mem ON mem.classid = 'pg_class'::regclass AND mem.objid = t.tgrelid
 WHERE NOT t.tgisinternal
UNION ALL
SELECT 'event trigger ' || e.evtname || ' ' || e.evtevent || ' ' || e.evtenabled::text || ' '
       || e.evtfoid::regproc || ' ' || coalesce(e.evttags::text, '')
  FROM pg_event_trigger e JOIN mem ON mem.classid = 'pg_event_trigger'::regclass AND mem.objid = e.oid
UNION ALL
SELECT 'statistics ' || s.stxnamespace::regnamespace || '.' || s.stxname || ' ' || pg_get_statisticsobjdef(s.oid)
  FROM pg_statistic_ext s JOIN mem ON mem.classid = 'pg_statistic_ext'::regclass AND mem.objid = s.oid
UNION ALL
SELECT 'type ' || t.oid::regtype
  FROM pg_type t JOIN mem ON mem.classid = 'pg_type'::regclass AND mem.objid = t.oid
ORDER BY 1;
SQL
}

# ---------------------------------------------------------------- paths
for v in $(printf '%s\n' "${!RELEASED[@]}" | sort -V); do
    paths=$(q postgres "SELECT target || '|' || path FROM pg_extension_update_paths('audit_chain')
                         WHERE source = '$v' AND path IS NOT NULL ORDER BY target")
    [[ $v == "$default" || -n $paths ]] || fail "no update path from released version $v to $default"
    [[ -n $paths ]] || { ok "$v is the current version: no path to walk"; continue; }
    while IFS='|' read -r target path; do
        db=up_${v//./_}_to_${target//./_}
        q postgres "CREATE DATABASE $db" >/dev/null
        q "$db" "CREATE EXTENSION audit_chain VERSION '$v'" >/dev/null
        fill "$db"
        publish "$db" "$TMP/$db.0.json"
        check "$db" "$v" "$v"
        IFS='-' read -r -a steps <<<"${path//--/-}"
        for step in "${steps[@]:1}"; do
            q "$db" "ALTER EXTENSION audit_chain UPDATE TO '$step'" >/dev/null
            check "$db" "$step" "$v -> $step"
        done
        # the same objects as a fresh install of the target
        fresh=fresh_${target//./_}
        if [[ -z $(q postgres "SELECT 1 FROM pg_database WHERE datname = '$fresh'") ]]; then
            q postgres "CREATE DATABASE $fresh" >/dev/null
            q "$fresh" "CREATE EXTENSION audit_chain VERSION '$target'" >/dev/null
        fi
        objects "$db" >"$TMP/$db.objects"
        objects "$fresh" >"$TMP/$fresh.objects"
        if ! diff -u "$TMP/$fresh.objects" "$TMP/$db.objects" >"$TMP/$db.diff"; then
            head -40 "$TMP/$db.diff" >&2
            fail "$v -> $target ($path): the extension's objects differ from a fresh install of $target"
        fi
        ok "$v -> $target ($path): the extension's $(wc -l <"$TMP/$db.objects") objects are those of a fresh install of $target"
        # and the comparison sees what the path changed: a fresh $v differs
        old=fresh_${v//./_}
        if [[ -z $(q postgres "SELECT 1 FROM pg_database WHERE datname = '$old'") ]]; then
            q postgres "CREATE DATABASE $old" >/dev/null
            q "$old" "CREATE EXTENSION audit_chain VERSION '$v'" >/dev/null
        fi
        objects "$old" >"$TMP/$old.objects"
        ndiff=$(diff "$TMP/$old.objects" "$TMP/$db.objects" | grep -c '^[<>]' || true)
        ((ndiff > 0)) || fail "$v -> $target: the objects of a fresh $v and of the updated database do not differ: the comparison sees nothing"
        ok "$v -> $target: $ndiff lines of the comparison tell a fresh $v from it (what the path changed)"
    done <<<"$paths"
done
ac_log "upgrade: PASS"
