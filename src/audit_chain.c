/*-------------------------------------------------------------------------
 *
 * audit_chain.c
 *	  Module entry point of the audit_chain extension: _PG_init, which
 *	  installs every hook and callback (listed in its comment), the hooks
 *	  and callbacks themselves, which call into the modules, and version().
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

#include "admin.h"
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
static void ac_xact_callback(XactEvent event, void *arg);
static void ac_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
								SubTransactionId parentSubid, void *arg);

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
 * - ProcessUtility (ac_ProcessUtility, admin.c, events.c): statements
 *	 event triggers do not see (roles, databases, tablespaces, event
 *	 triggers, REASSIGN OWNED, GRANT or COMMENT on a database or role, ...)
 *	 become admin events once they succeed.
 *
 * One transaction callback (ac_xact_callback), which calls the modules in
 * the order they depend on:
 * - at pre-commit, first events.c, which writes the queued admin events
 *	 (at pre-prepare it refuses a transaction that has some), then
 *	 complete.c, which checks that every row sealed into a lane held is in
 *	 its table, the admin events' rows included, when a statement may have
 *	 skipped one;
 * - at the end of the transaction, events.c and complete.c forget what
 *	 the transaction queued and noted, and lane.c remembers the heads of
 *	 the lanes held (after a commit) and forgets the lanes, whose locks are
 *	 gone.
 * (Registered as separate callbacks, these would have to be registered in
 * the reverse order, as RegisterXactCallback prepends.)
 *
 * One subtransaction callback (ac_subxact_callback): at the end of a
 * subtransaction, events.c drops the admin events an aborted one queued,
 * and lane.c forgets a lane whose lock an aborted one took, and the cached
 * head of any other.
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

	RegisterXactCallback(ac_xact_callback, NULL);
	RegisterSubXactCallback(ac_subxact_callback, NULL);
	CacheRegisterRelcacheCallback(ac_lane_relcache_callback, (Datum) 0);
	CacheRegisterRelcacheCallback(ac_seal_relcache_callback, (Datum) 0);
}

/*
 * ac_xact_callback
 *		Transaction callback: the pre-commit work and the end-of-transaction
 *		cleanup of each module, in the order _PG_init's comment gives.
 */
static void
ac_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			ac_events_flush_pending();
			ac_complete_pre_commit();
			break;
		case XACT_EVENT_PRE_PREPARE:
			ac_events_refuse_prepare();
			ac_complete_pre_commit();
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			ac_events_at_eoxact();
			ac_complete_at_eoxact();
			ac_lane_at_eoxact(event == XACT_EVENT_COMMIT);
			break;
		default:
			break;
	}
}

/*
 * ac_subxact_callback
 *		Subtransaction callback: keep queued admin events and held lanes in
 *		step with a subtransaction that commits or aborts.
 */
static void
ac_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					SubTransactionId parentSubid, void *arg)
{
	bool		is_commit;

	if (event == SUBXACT_EVENT_COMMIT_SUB)
		is_commit = true;
	else if (event == SUBXACT_EVENT_ABORT_SUB)
		is_commit = false;
	else
		return;
	ac_events_at_eosubxact(is_commit, mySubid, parentSubid);
	ac_lane_at_eosubxact(is_commit, mySubid, parentSubid);
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
 *		ProcessUtility hook: a statement event triggers do not see (role,
 *		database, tablespace and event trigger statements, REASSIGN OWNED,
 *		ALTER SYSTEM, GRANT or COMMENT on a database or role, ...: see
 *		admin.c) becomes an admin event once it has succeeded.  What it
 *		names is read before it runs; a statement that fails queues
 *		nothing.
 */
static void
ac_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
				  bool readOnlyTree, ProcessUtilityContext context,
				  ParamListInfo params, QueryEnvironment *queryEnv,
				  DestReceiver *dest, QueryCompletion *qc)
{
	AdminEvent *ev = ac_admin_describe_utility(pstmt->utilityStmt);

	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
							queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);

	if (ev != NULL)
		ac_events_utility_done(ev);
}

/*
 * version() RETURNS text
 *		The version of the loaded library, which may differ from the
 *		installed SQL version until ALTER EXTENSION ... UPDATE.
 */
PG_FUNCTION_INFO_V1(audit_chain_version);
Datum
audit_chain_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(AUDIT_CHAIN_VERSION));
}
