/*-------------------------------------------------------------------------
 *
 * audit_chain.c
 *	  Module entry point of the audit_chain extension.
 *
 * IDENTIFICATION
 *	  src/audit_chain.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/executor.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/inval.h"

#include "complete.h"
#include "events.h"
#include "guc.h"
#include "hash.h"
#include "lane.h"
#include "seal.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;

static void ac_ExecutorEnd(QueryDesc *queryDesc);

/*
 * _PG_init
 *		Define the settings and install the hooks and callbacks.  Nothing
 *		here needs shared_preload_libraries.
 */
void
_PG_init(void)
{
	ac_guc_init();
	ac_events_init();
	ac_lane_init();
	ac_seal_init();

	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = ac_ExecutorEnd;

	RegisterXactCallback(ac_lane_xact_callback, NULL);
	RegisterXactCallback(ac_complete_xact_callback, NULL);
	RegisterSubXactCallback(ac_lane_subxact_callback, NULL);
	CacheRegisterRelcacheCallback(ac_lane_relcache_callback, (Datum) 0);
}

/*
 * ac_ExecutorEnd
 *		ExecutorEnd hook: let complete.c note statements after which the
 *		pre-commit completeness check must run.
 */
static void
ac_ExecutorEnd(QueryDesc *queryDesc)
{
	ac_complete_note_statement(queryDesc->plannedstmt);
	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

/*
 * version() RETURNS text
 *		The version of the loaded library, which may differ from the
 *		installed SQL version until ALTER EXTENSION ... UPDATE.
 */
PG_FUNCTION_INFO_V1(version);
Datum
version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(AUDIT_CHAIN_VERSION));
}
