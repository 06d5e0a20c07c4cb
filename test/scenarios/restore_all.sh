#!/usr/bin/env bash
# test/scenarios/restore_all.sh -- everything audit_chain keeps survives a
# dump and a restore, or the restore fails at once with an error that says
# what to do; never a partial restore that verifies as if it were complete.
#
# The source database holds all of it: a 4-lane and a 2-lane chained table,
# audit_chain.events written in several lanes, an archive of both (and a
# purge of one), checkpoints signed with two keys (a rotation, so
# audit_chain.signing_keys has two rows), redactions, retention policies and
# a legal hold.  Then:
#
#  1. pg_dump -Fc | pg_restore into a new database (and again with -j 2
#     --disable-triggers, with -1, and in three runs: --section=pre-data,
#     data, post-data);
#  2. pg_dump (plain, also with --disable-triggers) | psql;
#     after each: the extension's tables and every row as in the source,
#     verify_chain() the same lanes, rows and verdicts (live, archives,
#     events, boundaries, checkpoints), the exported signed checkpoint
#     verifies against the restored chains with the trusted key,
#     export_checkpoint() gives the same document, new rows continue each
#     lane, and a new checkpoint is signed;
#  3. into a database where CREATE EXTENSION audit_chain ran first (and one
#     where it was used): a clear error (55000, what to do) before anything
#     is restored, with pg_restore --exit-on-error and psql ON_ERROR_STOP;
#     pg_restore --clean over a restored database: refused at its first
#     drop, with the same advice;
#  4. pg_restore --data-only (with and without --disable-triggers, and a
#     plain --data-only dump) into a --schema-only restore: a clear error
#     at the first chained table, nothing loaded;
#  5. a --schema-only restore alone: verify_chain() reports every chained
#     table whose registry rows are missing instead of skipping it.
#
# Starts its own cluster (the signing key is a server setting).
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "${AC_LIB:-$(dirname "$0")/../../scripts/lib.sh}"

command -v openssl >/dev/null || ac_die "openssl is needed (scripts/lib.sh installs it)"

start_cluster restore_all
TMP=$(ac_tmpdir)
K=$TMP/keys
mkdir -p "$K"
chmod 755 "$TMP" "$K"
if ac_is_root; then SRV=postgres; else SRV=$(id -un); fi
SRC=src
N=0

q() { # q DB SQL: one value, unaligned
    psql_db "$1" -qtAc "$2"
}

expect() { # expect WHAT GOT WANT
    if [[ $2 != "$3" ]]; then
        ac_die "$1: got '$2', want '$3'"
    fi
    ac_log "ok: $1"
}

mkkey() { # mkkey NAME: an Ed25519 key NAME.pem (0600, the server's) and NAME.pub
    openssl genpkey -algorithm ed25519 -out "$K/$1.pem" 2>/dev/null
    openssl pkey -in "$K/$1.pem" -pubout -out "$K/$1.pub"
    as_root chown "$SRV" "$K/$1.pem"
    as_root chmod 600 "$K/$1.pem"
}

use_key() { # use_key FILE: ALTER SYSTEM, reload, wait until new sessions see it
    local i v
    psql_db postgres -q -c "LOAD 'audit_chain'" \
        -c "ALTER SYSTEM SET audit_chain.signing_key_file = '$1'" -c 'SELECT pg_reload_conf()' >/dev/null
    for i in $(seq 1 100); do
        v=$(psql_db postgres -qtA -c "LOAD 'audit_chain'" -c 'SHOW audit_chain.signing_key_file')
        [[ $v == "$1" ]] && return 0
        sleep 0.1
    done
    ac_die "the server did not pick up audit_chain.signing_key_file = '$1'"
}

writers() { # writers DB SQL: 4 sessions at once, each holding its lane for a second
    local i pids=()
    for i in 1 2 3 4; do
        psql_db "$1" -q -c "BEGIN; ${2//@/$i}; SELECT pg_sleep(1); COMMIT;" >/dev/null &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i" || ac_die "a writer failed"; done
}

newdb() { # newdb: a new database (from template0), its name in db
    N=$((N + 1))
    db=r$N
    createdb -T template0 "$db"
}

# ------------------------------------------------------------------ source
mkkey k1
mkkey k2
use_key "$K/k1.pem"
createdb "$SRC"
psql_db "$SRC" -q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION audit_chain;
CREATE SCHEMA app;
CREATE TABLE app.audit (id bigint GENERATED ALWAYS AS IDENTITY, actor text, action text,
                        details jsonb, at timestamptz DEFAULT now());
SELECT audit_chain.protect('app.audit', lanes => 4);
CREATE TABLE app.old (id int, note text);
SELECT audit_chain.protect('app.old', lanes => 2);
-- a trigger of the user's own on a chained table (named to sort after the
-- chain triggers, so made after them), disabled: pg_dump restores
-- it with ALTER TABLE ... DISABLE TRIGGER
CREATE FUNCTION app.noop() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;
CREATE TRIGGER zzz_audit_noop AFTER INSERT ON app.audit FOR EACH ROW EXECUTE FUNCTION app.noop();
ALTER TABLE app.audit DISABLE TRIGGER zzz_audit_noop;
SQL
writers "$SRC" "INSERT INTO app.audit (actor, action, details) SELECT 'w@-' || g, 'login', jsonb_build_object('g', g) FROM generate_series(1, 5) g"
writers "$SRC" "INSERT INTO app.old SELECT g, 'first' FROM generate_series(1, 5) g"
writers "$SRC" "SELECT audit_chain.log_event('api_request', 'chat', actor => 'u@', purpose => 'support', data_subject => 'cust-@-' || g, transfer_country => 'US') FROM generate_series(1, 3) g"
psql_db "$SRC" -q >/dev/null <<'SQL'
-- app.old: everything archived and purged at once, then a second batch archived
SELECT audit_chain.set_retention('app.old', interval '1 microsecond', NULL, interval '1 microsecond');
CALL audit_chain.apply_retention();
SQL
writers "$SRC" "INSERT INTO app.old SELECT 100 + g, 'second' FROM generate_series(1, 3) g"
psql_db "$SRC" -q >/dev/null <<'SQL'
SELECT audit_chain.set_retention('app.old', interval '10 years', NULL, interval '10 years');
CALL audit_chain.archive('app.old', interval '1 microsecond');
INSERT INTO app.old VALUES (200, 'live');
-- the events: archived (their lanes' boundaries move), then more
CALL audit_chain.archive('audit_chain.events', interval '1 microsecond');
SELECT audit_chain.log_event('api_request', 'after the archive', actor => 'u9', purpose => 'support', data_subject => 'cust-9');
SELECT audit_chain.set_retention('app.audit', framework => 'HIPAA');
SELECT audit_chain.set_retention('audit_chain.events', interval '2 years', 'GDPR', interval '1 year');
SELECT audit_chain.legal_hold('app.audit', true, 'case 7');
SELECT audit_chain.legal_hold('app.audit', false, 'case 7 closed');
SELECT audit_chain.legal_hold('app.old', true, 'subpoena 9');
SELECT audit_chain.redact('app.audit', chain_lane, chain_seq, ARRAY['actor', 'details'], 'erasure 1')
  FROM app.audit WHERE actor = 'w2-3';
SELECT count(*) FROM audit_chain.redact_subject('cust-9', 'erasure 2');
SELECT audit_chain.checkpoint();
INSERT INTO app.audit (actor, action) VALUES ('between', 'the checkpoints');
SQL
use_key "$K/k2.pem"
q "$SRC" "SELECT audit_chain.checkpoint()" >/dev/null
q "$SRC" "INSERT INTO app.audit (actor, action) VALUES ('late', 'after the checkpoints')"
q "$SRC" "SELECT audit_chain.export_checkpoint(2)" >"$TMP/cp2.json"

got=$(q "$SRC" "SELECT (SELECT count(DISTINCT chain_lane) FROM app.audit) || '/' ||
                       (SELECT count(DISTINCT chain_lane) FROM (SELECT chain_lane FROM audit_chain.events UNION ALL SELECT chain_lane FROM audit_chain_archive.events) t) || '/' ||
                       (SELECT count(*) FROM audit_chain.chains WHERE archived_seq > 0) || '/' ||
                       (SELECT count(*) FROM audit_chain.chains WHERE purged_seq > 0) || '/' ||
                       (SELECT count(*) FROM audit_chain.checkpoints WHERE key_id IS NOT NULL) || '/' ||
                       (SELECT count(*) FROM audit_chain.signing_keys) || '/' ||
                       (SELECT count(*) FROM audit_chain.redactions) || '/' ||
                       (SELECT count(*) FROM audit_chain.archives)")
ac_log "source: app.audit lanes / events lanes / lanes archived / lanes purged / signed checkpoints / keys / redactions / archives: $got"
IFS=/ read -r a e ar pu sc sk rd av <<<"$got"
((a >= 2 && e >= 2 && ar >= 3 && pu == 2 && sc == 2 && sk == 2 && rd >= 3 && av == 2)) ||
    ac_die "the source does not hold everything it should: $got"

VERIFY_SQL="SELECT string_agg(format('%s/%s/%s/%s', tbl, coalesce(lane::text, '-'), rows_checked, intact), ' ' ORDER BY tbl::text, lane) FROM audit_chain.verify_chain()"
src_verify=$(q "$SRC" "$VERIFY_SQL")
[[ $src_verify != *false* ]] || ac_die "the source database does not verify: $src_verify"
ac_log "ok: the source verifies ($(wc -w <<<"$src_verify") lanes and checkpoints)"

snapshot() { # snapshot DB: the extension's tables and every chained row, as text
    psql_db "$1" -qtA <<'SQL'
SELECT 'chains', tbl::text, lane, encode(genesis, 'hex'), archived_seq, encode(archived_hash, 'hex'),
       archived_at, purged_seq, encode(purged_hash, 'hex'), created_at, created_by
  FROM audit_chain.chains ORDER BY 2, 3;
SELECT 'archives', tbl::text, archive::text FROM audit_chain.archives ORDER BY 2;
SELECT 'key', encode(key_id, 'hex'), public_key, algorithm, first_used_at, first_checkpoint_id
  FROM audit_chain.signing_keys ORDER BY 2;
SELECT 'checkpoint', checkpoint_id, created_at, encode(sha256(payload), 'hex'),
       encode(signature, 'hex'), encode(key_id, 'hex')
  FROM audit_chain.checkpoints ORDER BY 2;
SELECT 'head', checkpoint_id, tbl::text, lane, seq, encode(hash, 'hex'), start_seq, purged_seq
  FROM audit_chain.checkpoint_heads ORDER BY 2, 3, 4;
SELECT 'protection', id, action, tbl_name, lanes, rows_sealed, heads, reason
  FROM audit_chain.protection_log ORDER BY 2;
SELECT 'verification', verification_id, tbl::text, lane, rows_checked, intact, last_seq
  FROM audit_chain.verification_log ORDER BY 2;
SELECT 'retention', tbl::text, keep, framework, archive_keep, set_at, set_by
  FROM audit_chain.retention_policies ORDER BY 2;
SELECT 'legal hold', id, tbl::text, hold, reason, set_at FROM audit_chain.legal_hold_log ORDER BY 2;
SELECT 'redaction', tbl::text, lane, seq, column_name, encode(digest, 'hex'), reason, redacted_at
  FROM audit_chain.redactions ORDER BY 2, 3, 4, 5;
SELECT 'boundaries', count(*), md5(string_agg(t::text, '|' ORDER BY chain_seq)) FROM audit_chain.boundaries t;
SELECT 'events', count(*), md5(string_agg(t::text, '|' ORDER BY chain_lane, chain_seq)) FROM audit_chain.events t;
SELECT 'archived events', count(*), md5(string_agg(t::text, '|' ORDER BY chain_lane, chain_seq)) FROM audit_chain_archive.events t;
SELECT 'app.audit', count(*), md5(string_agg(t::text, '|' ORDER BY chain_lane, chain_seq)) FROM app.audit t;
SELECT 'app.old', count(*), md5(string_agg(t::text, '|' ORDER BY chain_lane, chain_seq)) FROM app.old t;
SELECT 'archived app.old', count(*), md5(string_agg(t::text, '|' ORDER BY chain_lane, chain_seq)) FROM audit_chain_archive.old t;
SQL
}
snapshot "$SRC" >"$TMP/src.snap"
# The Art. 30 register (not dumped: the restored events pass through its trigger)
REG_SQL="SELECT string_agg(format('%s/%s/%s/%s/%s/%s', purpose, legal_bases, recipients, transfers, subjects, events), ' ' ORDER BY purpose) FROM audit_chain.gdpr_processing_records"
src_reg=$(q "$SRC" "$REG_SQL")
q "$SRC" "SELECT audit_chain.export_checkpoint(1)" >"$TMP/src.cp1"
q "$SRC" "SELECT audit_chain.export_checkpoint(2)" >"$TMP/src.cp2"

# ------------------------------------------------------------------ dumps
pg_dump -Fc -f "$TMP/src.dump" "$SRC" || ac_die "pg_dump -Fc failed"
pg_dump -Fp -f "$TMP/src.sql" "$SRC" || ac_die "pg_dump -Fp failed"
pg_dump -Fp --disable-triggers -f "$TMP/src_dt.sql" "$SRC" || ac_die "pg_dump --disable-triggers failed"
pg_dump -Fp --data-only -f "$TMP/data.sql" "$SRC" || ac_die "pg_dump --data-only failed"
pg_dump -Fp --data-only --disable-triggers -f "$TMP/data_dt.sql" "$SRC" || ac_die "pg_dump --data-only --disable-triggers failed"
chmod 644 "$TMP"/*.dump "$TMP"/*.sql

check_intact() { # check_intact DB HOW: the restored database is the source's
    local db=$1 how=$2 got
    snapshot "$db" >"$TMP/$db.snap"
    if ! diff -u "$TMP/src.snap" "$TMP/$db.snap" >&2; then
        ac_die "$how: the restored tables differ from the source (diff above)"
    fi
    ac_log "ok: $how: chains (events lanes' boundaries included), archives, keys, checkpoints, heads, logs, policies, holds, redactions and every row as in the source"
    expect "$how: the user's own trigger on a chained table came back disabled, the chain triggers enabled" \
        "$(q "$db" "SELECT string_agg(tgname || ':' || tgenabled::text, ' ' ORDER BY tgname) FROM pg_trigger WHERE tgrelid = 'app.audit'::regclass")" \
        "zz_audit_chain_seal:O zz_audit_chain_truncate:O zzz_audit_noop:D"
    expect "$how: the Art. 30 register is the source's" "$(q "$db" "$REG_SQL")" "$src_reg"
    expect "$how: verify_chain() gives the source's lanes, rows and verdicts" "$(q "$db" "$VERIFY_SQL")" "$src_verify"
    got=$(psql_db "$db" -qtA -v doc="$(cat "$TMP/cp2.json")" -v key="$(cat "$K/k2.pub")" <<'SQL'
SELECT count(*) FILTER (WHERE NOT intact) || '/' || count(*)
  FROM audit_chain.verify_chain(published => :'doc'::json, trusted_key => :'key')
SQL
)
    expect "$how: the exported signed checkpoint 2 verifies against the restored chains with the trusted key" "${got%%/*}" 0
    expect "$how: export_checkpoint(1) is the source's document" "$(q "$db" "SELECT audit_chain.export_checkpoint(1)")" "$(cat "$TMP/src.cp1")"
    expect "$how: export_checkpoint(2) is the source's document" "$(q "$db" "SELECT audit_chain.export_checkpoint(2)")" "$(cat "$TMP/src.cp2")"
    # new rows continue each lane they take: seq n+1, linked to the old head
    q "$db" "CREATE TABLE public.heads AS SELECT c.tbl, c.lane, h.seq, h.hash
               FROM audit_chain.chains c, audit_chain.lane_head(c.tbl, c.lane) h" >/dev/null
    writers "$db" "INSERT INTO app.audit (actor, action) VALUES ('restored @', 'after the restore')"
    writers "$db" "SELECT audit_chain.log_event('api_request', 'after the restore', actor => 'r@')"
    # (the first new row of each lane it took: two writers may share a lane)
    got=$(q "$db" "WITH f AS (SELECT DISTINCT ON (chain_lane) chain_lane, chain_seq, chain_prev FROM app.audit
                              WHERE actor LIKE 'restored %' ORDER BY chain_lane, chain_seq)
                   SELECT (SELECT count(*) FROM app.audit WHERE actor LIKE 'restored %') || '/' ||
                          bool_and(f.chain_seq = h.seq + 1 AND f.chain_prev = h.hash)
                     FROM f JOIN public.heads h ON h.tbl = 'app.audit'::regclass AND h.lane = f.chain_lane")
    expect "$how: 4 new rows of app.audit, continuing each lane they took (seq n+1, linked to the old head)" "$got" "4/true"
    got=$(q "$db" "SELECT count(*) || '/' || count(*) FILTER (WHERE e.chain_seq > h.seq)
                     FROM audit_chain.events e JOIN public.heads h ON h.tbl = 'audit_chain.events'::regclass AND h.lane = e.chain_lane
                    WHERE e.action = 'after the restore'")
    expect "$how: 4 new events, each after its lane's restored head" "$got" "4/4"
    q "$db" "SELECT audit_chain.checkpoint()" >/dev/null
    got=$(q "$db" "SELECT encode(key_id, 'hex') = (SELECT encode(key_id, 'hex') FROM audit_chain.checkpoints WHERE checkpoint_id = 2)
                     FROM audit_chain.checkpoints ORDER BY checkpoint_id DESC LIMIT 1")
    expect "$how: a new checkpoint is signed with the current key" "$got" t
    got=$(q "$db" "SELECT count(*) FILTER (WHERE NOT intact) FROM audit_chain.verify_chain()")
    expect "$how: everything still verifies after the new rows and checkpoint" "$got" 0
}

# ------------------------------------------------------------------ 1. custom
newdb
pg_restore --exit-on-error -d "$db" "$TMP/src.dump" || ac_die "pg_restore -Fc into a new database failed"
check_intact "$db" "pg_restore -Fc"
newdb
# (--disable-triggers acts on data-only restores alone: part 4)
pg_restore --exit-on-error -j 2 --disable-triggers -d "$db" "$TMP/src.dump" ||
    ac_die "pg_restore -Fc -j 2 --disable-triggers into a new database failed"
check_intact "$db" "pg_restore -Fc -j 2 --disable-triggers"

newdb
pg_restore --exit-on-error -1 -d "$db" "$TMP/src.dump" || ac_die "pg_restore -1 into a new database failed"
check_intact "$db" "pg_restore -1"
newdb
for section in pre-data data post-data; do
    pg_restore --exit-on-error --section=$section -d "$db" "$TMP/src.dump" ||
        ac_die "pg_restore --section=$section into a new database failed"
done
check_intact "$db" "pg_restore --section=pre-data, data, post-data"

# ------------------------------------------------------------------ 2. plain
newdb
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$TMP/src.sql" >/dev/null || ac_die "psql of the plain dump failed"
check_intact "$db" "pg_dump | psql"
newdb
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$TMP/src_dt.sql" >/dev/null || ac_die "psql of the plain --disable-triggers dump failed"
check_intact "$db" "pg_dump --disable-triggers | psql"

# ------------------------------------------------------------------ 3. extension first
# fails WHAT WANT-GLOB CMD...: CMD must fail, its output matching WANT-GLOB
fails() {
    local what=$1 want=$2 out
    shift 2
    if out=$("$@" 2>&1); then
        ac_die "$what: succeeded"
    fi
    # shellcheck disable=SC2053  # the pattern is a glob on purpose
    [[ $out == $want ]] || ac_die "$what: want output matching '$want', got: $out"
    ac_log "ok: $what"
}
EXT_FIRST="cannot restore a dump of audit_chain into database \"r*\", which has the extension already*HINT:  Restore into a new database made with \"createdb -T template0\", stopping at the first error (pg_restore --exit-on-error, or psql -v ON_ERROR_STOP=1)."
untouched() { # untouched DB HOW: nothing of the dump was restored
    # (only the schemas that sort before audit_chain are made before it)
    expect "$2: nothing restored (no table app.audit, no checkpoint, the extension's 17 lanes)" \
        "$(q "$1" "SELECT to_regclass('app.audit') IS NULL AND NOT EXISTS (SELECT FROM audit_chain.checkpoints)
                   AND (SELECT count(*) FROM audit_chain.chains) = 17")" t
}
newdb
q "$db" "CREATE EXTENSION audit_chain" >/dev/null
fails "extension created first: pg_restore --exit-on-error fails at once, saying what to do" "*ERROR:  $EXT_FIRST*" \
    pg_restore --exit-on-error -d "$db" "$TMP/src.dump"
untouched "$db" "extension created first, pg_restore"
newdb
q "$db" "CREATE EXTENSION audit_chain" >/dev/null
fails "extension created first: psql -v ON_ERROR_STOP=1 of the plain dump fails at once (55000)" "*ERROR:  55000: $EXT_FIRST*" \
    psql -X -q -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$db" -f "$TMP/src.sql"
untouched "$db" "extension created first, psql"
newdb
q "$db" "CREATE EXTENSION audit_chain; SELECT audit_chain.log_event('api_request', 'local'); SELECT audit_chain.checkpoint()" >/dev/null
fails "extension created first and used: pg_restore -1 fails, saying what to do" "*ERROR:  $EXT_FIRST*" \
    pg_restore -1 -d "$db" "$TMP/src.dump"
expect "extension created first and used: only its own event and checkpoint" \
    "$(q "$db" "SELECT (SELECT count(*) FROM audit_chain.events) || '/' || (SELECT count(*) FROM audit_chain.checkpoints) || '/' || (to_regclass('app.audit') IS NULL)")" "1/1/true"

# over a restored database (pg_restore --clean): the DDL guard refuses the first drop
fails "pg_restore --clean over a restored database fails at its first drop, saying what to do" \
    '*ERROR:  cannot drop trigger zz_audit_chain_* on app.*, which belongs to a chained table*HINT:  To restore a dump, restore it into a new database made with "createdb -T template0", not over this one (pg_restore --clean).*' \
    pg_restore --clean --if-exists --exit-on-error -d r1 "$TMP/src.dump"
expect "pg_restore --clean: the database it ran over still verifies" \
    "$(q r1 "SELECT count(*) FILTER (WHERE NOT intact) FROM audit_chain.verify_chain()")" 0

# ------------------------------------------------------------------ 4. data only
DATA_ONLY='cannot restore the rows of table "*" into a table that audit_chain guards already*HINT:  Restore the whole dump, schema and data, into a new database made with "createdb -T template0".'
schema_db() { # schema_db: a new database with the dump's schema only
    newdb
    pg_restore --exit-on-error --schema-only -d "$db" "$TMP/src.dump" || ac_die "pg_restore --schema-only failed"
}
no_rows() { # no_rows DB HOW: no row of the dump was loaded
    expect "$2: no row loaded" \
        "$(q "$1" "SELECT (SELECT count(*) FROM app.audit) + (SELECT count(*) FROM app.old) + (SELECT count(*) FROM audit_chain.events)
                        + (SELECT count(*) FROM audit_chain.checkpoints) + (SELECT count(*) FROM audit_chain_archive.old)")" 0
}
schema_db
fails "pg_restore --data-only into the restored schema fails at the first chained table" "*ERROR:  $DATA_ONLY*" \
    pg_restore --exit-on-error --data-only -d "$db" "$TMP/src.dump"
no_rows "$db" "pg_restore --data-only"
fails "pg_restore --data-only --disable-triggers fails at the first chained table" "*ERROR:  $DATA_ONLY*" \
    pg_restore --exit-on-error --data-only --disable-triggers -d "$db" "$TMP/src.dump"
no_rows "$db" "pg_restore --data-only --disable-triggers"
fails "a plain --data-only dump fails at the first chained table (0A000)" "*ERROR:  0A000: $DATA_ONLY*" \
    psql -X -q -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$db" -f "$TMP/data.sql"
no_rows "$db" "plain --data-only"
fails "a plain --data-only --disable-triggers dump fails at the first chained table (0A000)" "*ERROR:  0A000: $DATA_ONLY*" \
    psql -X -q -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$db" -f "$TMP/data_dt.sql"
no_rows "$db" "plain --data-only --disable-triggers"

# and with its errors ignored (pg_restore's default): loud, and nothing verifies as whole
schema_db
if pg_restore --data-only -d "$db" "$TMP/src.dump" 2>"$TMP/ignored.err"; then
    ac_die "pg_restore --data-only with its errors ignored succeeded"
fi
got=$(q "$db" "SELECT count(*) FILTER (WHERE NOT intact) > 0 AND bool_and(intact) FILTER (WHERE tbl = 'app.audit'::regclass) IS FALSE FROM audit_chain.verify_chain()")
expect "pg_restore --data-only, errors ignored: exit status 1, and verify_chain() fails app.audit and more" "$got" t

# ------------------------------------------------------------------ 5. schema only
schema_db
got=$(q "$db" "SELECT string_agg(format('%s/%s/%s', tbl, lane, intact), ' ' ORDER BY tbl::text)
                 FROM audit_chain.verify_chain() WHERE problem LIKE '%has the seal trigger of audit_chain but no lane in audit_chain.chains%'")
expect "pg_restore --schema-only: verify_chain() reports the chained tables whose registry was not restored" "$got" "app.audit/0/f app.old/0/f"
if psql_db "$db" -q -c 'CALL audit_chain.assert_intact()' 2>/dev/null; then
    ac_die "pg_restore --schema-only: assert_intact() passed"
fi
ac_log "ok: pg_restore --schema-only: assert_intact() fails"

ac_log "restore_all: PASS"
