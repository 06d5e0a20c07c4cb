# audit_chain: PGXS build
#
# The control file is the one place the version lives.

EXTENSION = audit_chain
EXTVERSION = $(shell sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" $(EXTENSION).control)

MODULE_big = audit_chain
OBJS = $(patsubst %.c,%.o,$(wildcard src/*.c))

DATA = $(wildcard sql/$(EXTENSION)--*.sql)

# Explicit and ordered: setup first.  Never a wildcard over sql/*.sql,
# which also holds the install and upgrade scripts.
REGRESS = setup protect errors seal verify tamper ddl hash_spec vectors encoders checkpoint reports usage events ai_events meta retention archive redact export admin feed event_json chain_status
REGRESS_OPTS = --inputdir=. --outputdir=.

ISOLATION = two_writers abort_writer savepoint_rollback rr_serializable lanes_no_deadlock lane_wait_cancel admin_events_no_lane protect_rename verify_snapshot lane_lock_sql protect_busy drop_guard_rr legal_hold_race archive_race archive_detach_race redact_race checkpoint_chain feed_late_commit register_concurrent
ISOLATION_OPTS = --inputdir=test/isolation --outputdir=output_iso

PG_CPPFLAGS = -DAUDIT_CHAIN_VERSION='"$(EXTVERSION)"' -I$(srcdir)/src
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare
SHLIB_LINK += -lcrypto

EXTRA_CLEAN = output_iso results regression.diffs regression.out

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# audit_chain_verify, the offline verifier (verifier/, a PGXS PROGRAM): built
# by `make`, installed into PostgreSQL's bindir by `make install`.
all: verifier-all
install: verifier-install
uninstall: verifier-uninstall
clean: verifier-clean
installdirs: verifier-installdirs

.PHONY: verifier-all verifier-install verifier-uninstall verifier-clean verifier-installdirs
verifier-all verifier-install verifier-uninstall verifier-clean verifier-installdirs: verifier-%:
	$(MAKE) -C $(srcdir)/verifier PG_CONFIG=$(PG_CONFIG) $*
