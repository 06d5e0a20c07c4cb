#!/usr/bin/env bash
# test/scenarios/sqlsmith.sh -- the suite's bounded fuzzing run (about 70 s):
# scripts/sqlsmith.sh on a cluster of its own, without building (the suite
# installed the extension): the probe pass (every audit_chain function that
# takes a table, called with good and bad tables, as the superuser and as an
# unprivileged role), then SQLsmith for AC_SQLSMITH_SECONDS (default 25)
# per role with a fixed seed (AC_SQLSMITH_SEED, default 1).  Fails on any
# backend terminated by a signal, or a server that stops answering.  For a
# longer run: scripts/sqlsmith.sh --duration 600 --seed N.
set -euo pipefail

root=${AC_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
export AC_ROOT=$root
exec "$root/scripts/sqlsmith.sh" --no-build \
    --duration "${AC_SQLSMITH_SECONDS:-25}" --seed "${AC_SQLSMITH_SEED:-1}"
