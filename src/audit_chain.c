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

#include "access/xact.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "tcop/utility.h"
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
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

static void ac_ExecutorEnd(QueryDesc *queryDesc);
static void ac_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
							  bool readOnlyTree,
							  ProcessUtilityContext context,
							  ParamListInfo params,
							  QueryEnvironment *queryEnv,
							  DestReceiver *dest, QueryCompletion *qc);

/*
 * _PG_init
 *		Define the settings, make each module's backend-local state, and
 *		install every hook and callback of the extension.  Nothing here
 *		needs shared_preload_libraries: the library is usually loaded by the
 *		first trigger or function of the extension a session runs.
 *
 * Hooks:
 * - ExecutorEnd (ac_ExecutorEnd, complete.c): notes statements holding
 *	 INSERT ... ON CONFLICT, after which the pre-commit completeness check
 *	 must run.  ExecutorEnd rather than ExecutorStart, because the library
 *	 is often loaded in the middle of the first statement that writes to a
 *	 chained table, which then ends, but did not start, with the hook there.
 * - ProcessUtility (ac_ProcessUtility, events.c): role statements, which
 *	 event triggers do not see, become admin events once they succeed.
 *
 * Transaction callbacks.  RegisterXactCallback prepends, so they run in the
 * reverse order of registration; at pre-commit, events.c's must run before
 * complete.c's, so that the completeness check covers the admin events
 * written just then:
 * - lane.c: remembers the heads of the lanes held after commit, and
 *	 forgets the lanes (whose locks are gone) when the transaction ends.
 * - complete.c: before commit (or PREPARE), checks that every row sealed
 *	 into a lane held is in the table, when a statement may have skipped
 *	 one.
 * - events.c, registered last so that it runs first: writes the queued
 *	 admin events at pre-commit, forgets them when the transaction ends.
 *
 * Subtransaction callbacks:
 * - lane.c: a lane taken by an aborted subtransaction is no longer held,
 *	 and the cached head of any other is stale.
 * - events.c: admin events queued by an aborted subtransaction are dropped.
 *
 * Relcache callbacks (ALTER TABLE, index changes, DROP):
 * - lane.c: forgets cached chain indexes and known lane heads.
 * - seal.c: forgets cached row descriptions of chained tables.
 */
void
_PG_init(void)
{
	ac_guc_init();
	ac_lane_init();

	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = ac_ExecutorEnd;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = ac_ProcessUtility;

	/* in this order: see above */
	RegisterXactCallback(ac_lane_xact_callback, NULL);
	RegisterXactCallback(ac_complete_xact_callback, NULL);
	RegisterXactCallback(ac_events_xact_callback, NULL);

	RegisterSubXactCallback(ac_lane_subxact_callback, NULL);
	RegisterSubXactCallback(ac_events_subxact_callback, NULL);

	CacheRegisterRelcacheCallback(ac_lane_relcache_callback, (Datum) 0);
	CacheRegisterRelcacheCallback(ac_seal_relcache_callback, (Datum) 0);
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
 * ac_ProcessUtility
 *		ProcessUtility hook: a role statement becomes an admin event once it
 *		has succeeded.  What it names is read before it runs.
 */
static void
ac_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
				  bool readOnlyTree, ProcessUtilityContext context,
				  ParamListInfo params, QueryEnvironment *queryEnv,
				  DestReceiver *dest, QueryCompletion *qc)
{
	char	   *role;
	const char *command = ac_events_role_command(pstmt->utilityStmt, &role);

	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
							queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);

	if (command != NULL)
		ac_events_role_changed(command, role);
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
