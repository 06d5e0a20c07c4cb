#!/usr/bin/env bash
# test/scenarios/verifier_html.sh -- audit_chain_verify --html, rendered in
# headless Chromium (Debian's chromium package).
#
# A database with two chained tables whose names are hostile HTML
# (schema "x&y", table "<script>alert(1)</script>", and a table named
# "</td><img src=x onerror=alert(2)>"), a signed checkpoint exported to a
# file.  Then:
#   1. intact: audit_chain_verify --html exits 0; Chromium's DOM of the report
#      says INTACT, and holds no <script> or <img> element;
#   2. a superuser changes row 3 of the <script> table behind the triggers'
#      back: --html exits 1; in Chromium's DOM the verdict is TAMPERED, a
#      failure row names seq 3 and the table, its name is text
#      (&lt;script&gt;...), and there is still no <script> or <img> element;
#      printed to PDF it is A4;
#   3. --html into a directory that does not exist: exit 2 and a message,
#      before any verification; a run that fails (a database that does not
#      exist) leaves neither the report nor its temporary file.
# The screenshots (intact.png, tampered.png), the PDF and the DOM dumps stay in
# $AC_TEST_OUTPUT/verifier_html (default test/output/verifier_html, ignored
# by git) for a person to look at.
#
# Starts its own cluster through scripts/lib.sh (a signing key is a server
# setting, which the suite's shared cluster must not get).
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "${AC_LIB:-$(dirname "$0")/../../scripts/lib.sh}"

OUTDIR=${AC_TEST_OUTPUT:-$AC_ROOT/test/output}/verifier_html
DB=ac_html
VERIFY=$("$PG_CONFIG" --bindir)/audit_chain_verify
TMP=$(ac_tmpdir)

[[ -x $VERIFY ]] || ac_die "$VERIFY is not installed (make install)"
command -v chromium >/dev/null || ac_die "chromium is not installed (apt-get install chromium)"
rm -rf "$OUTDIR"
mkdir -p "$OUTDIR"

ok() { ac_log "ok: $*"; }
q() { psql_db "$DB" -qtAc "$1"; }

# chromium ARG... : headless, no sandbox (we may be root, and containers
# rarely allow its sandbox), its profile in our temp dir, no D-Bus
chromium_run() {
    DBUS_SESSION_BUS_ADDRESS=disabled: timeout 90 chromium --headless --no-sandbox \
        --disable-gpu --no-first-run --hide-scrollbars \
        --user-data-dir="$TMP/chromium-profile" "$@" 2>>"$OUTDIR/chromium.log"
}

# dom_check FILE.html NAME : dump Chromium's DOM of the report into
# NAME.dom.html and check it has no element an attacker could have smuggled in
dom_check() {
    chromium_run --dump-dom "file://$1" >"$OUTDIR/$2.dom.html"
    [[ -s $OUTDIR/$2.dom.html ]] || ac_die "$2: chromium produced no DOM (see $OUTDIR/chromium.log)"
    if grep -qiE '<(script|img|iframe|object|embed|link|svg)[ >/]' "$OUTDIR/$2.dom.html"; then
        grep -oiE '<(script|img|iframe|object|embed|link|svg)[^>]*>' "$OUTDIR/$2.dom.html" | head >&2
        ac_die "$2: the rendered report holds an element from a table name"
    fi
    ok "$2: Chromium's DOM holds no script, img, iframe, object, embed, link or svg element"
}

# ---------------------------------------------------------------- setup
start_cluster html
KEYS=$TMP/keys
mkdir -p "$KEYS"
openssl genpkey -algorithm ed25519 -out "$KEYS/signing.pem" 2>/dev/null
openssl pkey -in "$KEYS/signing.pem" -pubout -out "$KEYS/public.pem"
chmod 600 "$KEYS/signing.pem"
if ac_is_root; then chown -R postgres "$KEYS"; fi
set_conf html audit_chain.signing_key_file "$KEYS/signing.pem"
psql_db postgres -qtAc 'SELECT pg_reload_conf()' >/dev/null

createdb "$DB"
psql_db "$DB" -qtA >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION audit_chain;
CREATE SCHEMA "x&y";
CREATE TABLE "x&y"."<script>alert(1)</script>" (id int, note text);
SELECT audit_chain.protect('"x&y"."<script>alert(1)</script>"');
INSERT INTO "x&y"."<script>alert(1)</script>"
    SELECT g, 'note ' || g FROM generate_series(1, 5) g;
CREATE TABLE public."</td><img src=x onerror=alert(2)>" (id int);
SELECT audit_chain.protect('public."</td><img src=x onerror=alert(2)>"');
INSERT INTO public."</td><img src=x onerror=alert(2)>" VALUES (1), (2);
SELECT audit_chain.checkpoint();
SQL
q 'SELECT audit_chain.export_checkpoint()' >"$OUTDIR/checkpoint.json"
[[ $(jq -r .algorithm "$OUTDIR/checkpoint.json") == ed25519 ]] ||
    ac_die "the exported checkpoint is not signed"

# ---------------------------------------------------------------- 1. intact
rc=0
"$VERIFY" --dbname "$DB" --quiet --checkpoint "$OUTDIR/checkpoint.json" \
    --public-key "$KEYS/public.pem" --html "$OUTDIR/intact.html" \
    >"$OUTDIR/intact.out" 2>&1 || rc=$?
[[ $rc == 0 ]] || { cat "$OUTDIR/intact.out" >&2; ac_die "intact: exit $rc, want 0"; }
[[ ! -e $OUTDIR/intact.html.tmp ]] || ac_die "intact: intact.html.tmp left behind"
ok "intact: exit 0"
dom_check "$OUTDIR/intact.html" intact
grep -q '<div class="verdict intact" id="verdict"><span class="word">INTACT</span>' "$OUTDIR/intact.dom.html" ||
    ac_die "intact: Chromium's DOM has no INTACT verdict"
ok "intact: the verdict in Chromium is INTACT"
chromium_run --screenshot="$OUTDIR/intact.png" --window-size=800,1130 "file://$OUTDIR/intact.html" >/dev/null
[[ -s $OUTDIR/intact.png ]] || ac_die "intact: no screenshot"

# ---------------------------------------------------------------- 2. tampered
psql_db "$DB" -qtA >/dev/null <<'SQL'
SET session_replication_role = replica;
UPDATE "x&y"."<script>alert(1)</script>" SET note = 'forged' WHERE chain_seq = 3;
SQL
rc=0
"$VERIFY" --dbname "$DB" --quiet --checkpoint "$OUTDIR/checkpoint.json" \
    --public-key "$KEYS/public.pem" --html "$OUTDIR/tampered.html" \
    >"$OUTDIR/tampered.out" 2>&1 || rc=$?
[[ $rc == 1 ]] || { cat "$OUTDIR/tampered.out" >&2; ac_die "tampered: exit $rc, want 1"; }
ok "tampered: exit 1"
dom_check "$OUTDIR/tampered.html" tampered
D=$OUTDIR/tampered.dom.html
grep -q '<div class="verdict tampered" id="verdict"><span class="word">TAMPERED</span>' "$D" ||
    ac_die "tampered: Chromium's DOM has no TAMPERED verdict"
ok "tampered: the verdict in Chromium is TAMPERED"
# the failure row: the table's name as text, lane 0, seq 3
name='x&amp;y\.&lt;script&gt;alert\(1\)&lt;/script&gt;'
grep -qE "<tr class=\"failure\"><td class=\"n\">[0-9]+</td><td>$name<span class=\"enc\">x%26y\.%3Cscript%3Ealert%281%29%3C%2Fscript%3E</span></td><td class=\"n\">0</td><td class=\"n seq\">3</td>" "$D" ||
    ac_die "tampered: no failure row for seq 3 of the <script> table in Chromium's DOM"
ok "tampered: a failure row names seq 3 of x&y.<script>alert(1)</script>, escaped"
grep -q '&lt;/td&gt;&lt;img src=x onerror=alert(2)&gt;' "$D" ||
    ac_die "tampered: the <img> table's name is not shown as text"
ok "tampered: the </td><img ...> table's name is text"
chromium_run --screenshot="$OUTDIR/tampered.png" --window-size=800,1130 "file://$OUTDIR/tampered.html" >/dev/null
[[ -s $OUTDIR/tampered.png ]] || ac_die "tampered: no screenshot"
chromium_run --no-pdf-header-footer --print-to-pdf="$OUTDIR/tampered.pdf" "file://$OUTDIR/tampered.html" >/dev/null
grep -aqE 'MediaBox \[0 0 59[45]\.[0-9]+ 84[12]\.[0-9]+\]' "$OUTDIR/tampered.pdf" ||
    ac_die "tampered: the PDF is not A4"
ok "tampered: printed to PDF on A4 ($(grep -ac '/Type /Page\b' "$OUTDIR/tampered.pdf") page(s))"

# ---------------------------------------------------------------- 3. unwritable
rc=0
"$VERIFY" --dbname "$DB" --html "$TMP/no/such/dir/r.html" >"$OUTDIR/unwritable.out" 2>&1 || rc=$?
[[ $rc == 2 ]] || ac_die "unwritable --html: exit $rc, want 2"
grep -q '^audit_chain_verify: error: could not create ".*r.html.tmp": No such file or directory$' "$OUTDIR/unwritable.out" ||
    { cat "$OUTDIR/unwritable.out" >&2; ac_die "unwritable --html: not the message expected"; }
ok "unwritable --html path: exit 2, $(cat "$OUTDIR/unwritable.out")"

rc=0
"$VERIFY" --dbname ac_html_no_such_db --html "$TMP/failed.html" >"$OUTDIR/failed.out" 2>&1 || rc=$?
[[ $rc == 2 ]] || ac_die "failed run with --html: exit $rc, want 2"
[[ ! -e $TMP/failed.html && ! -e $TMP/failed.html.tmp ]] ||
    ac_die "failed run with --html: a report or its temporary file was left behind"
ok "a failed run (exit 2) leaves no report and no temporary file"

ac_log "verifier_html: the screenshots and the PDF are in $OUTDIR"
