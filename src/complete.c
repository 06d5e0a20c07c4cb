/*-------------------------------------------------------------------------
 *
 * complete.c
 *	  The pre-commit check that every row a transaction sealed is in its
 *	  chained table.
 *
 * Before commit, every lane this transaction extended is checked: each seq
 * it sealed must be in the table.  A sealed row that never got there (INSERT
 * ... ON CONFLICT skipping it, or a trigger sorting after ours returning
 * NULL) would leave a gap in the chain, so the commit is refused.  The check
 * costs an index scan over the new rows of each lane, so it runs only in
 * transactions that could need it: an ExecutorEnd hook notes statements with
 * ON CONFLICT.  It is ExecutorEnd, not ExecutorStart, because the library is
 * usually loaded by the seal trigger in the middle of the first statement
 * that writes to a chained table: that statement (and any statement that is
 * running it, such as a function's caller) started before the hook was
 * there, but ends after.  Every statement that ran to completion has ended
 * before the transaction commits (open portals are closed first), and the
 * rows of one that failed are rolled back with its (sub)transaction.  The
 * seal trigger itself notes rows it seals while a BEFORE ROW trigger sorts
 * after it (the DDL guard refuses to make one, but a superuser can get past
 * the guard) or outside session_replication_role origin, whose triggers may
 * differ (it sees every such row, COPY and logical replication included,
 * which do not pass through the executor hooks).  Any other sealed row is
 * inserted, or the statement fails.
 *
 * The lanes held and their rows are read through lane.c.  The ExecutorEnd
 * hook and the transaction callback that call in here are installed by
 * _PG_init (audit_chain.c).
 *
 * IDENTIFICATION
 *	  src/complete.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "nodes/pg_list.h"
#include "utils/lsyscache.h"

#include "chaintable.h"
#include "complete.h"
#include "lane.h"

/*
 * Whether this transaction ran a statement that might seal a row and then
 * not insert it; see the header comment.
 */
static bool xact_may_skip_rows = false;

/*
 * ac_complete_note_may_skip
 *		The current transaction may seal rows that are then not inserted:
 *		run the completeness check before it commits.
 */
void
ac_complete_note_may_skip(void)
{
	xact_may_skip_rows = true;
}

/*
 * plan_may_skip_rows
 *		True if a plan tree holds an INSERT ... ON CONFLICT.  In PostgreSQL
 *		15 a ModifyTable node heads the plan or one of the subplans (a
 *		data-modifying WITH, also one inlined from a SQL function), so
 *		following the left and right trees of each is enough.
 */
static bool
plan_may_skip_rows(Plan *plan)
{
	if (plan == NULL)
		return false;
	if (IsA(plan, ModifyTable) &&
		((ModifyTable *) plan)->onConflictAction != ONCONFLICT_NONE)
		return true;
	return plan_may_skip_rows(plan->lefttree) ||
		plan_may_skip_rows(plan->righttree);
}

/*
 * ac_complete_note_statement
 *		From the ExecutorEnd hook: note statements after which the pre-commit
 *		check must run.
 *
 * Every statement, SELECTs too: a SQL function inlined into a SELECT can
 * bring a data-modifying WITH along, in a subplan, without the statement
 * being marked hasModifyingCTE.
 */
void
ac_complete_note_statement(PlannedStmt *stmt)
{
	ListCell   *lc;

	if (xact_may_skip_rows)
		return;
	if (plan_may_skip_rows(stmt->planTree))
		xact_may_skip_rows = true;
	foreach(lc, stmt->subplans)
	{
		if (plan_may_skip_rows((Plan *) lfirst(lc)))
			xact_may_skip_rows = true;
	}
}

/*
 * check_lanes_complete
 *		Before commit: every seq this transaction sealed must be in the table.
 */
static void
check_lanes_complete(void)
{
	List	   *held = ac_lane_held();
	ListCell   *lc;

	foreach(lc, held)
	{
		LaneState  *state = (LaneState *) lfirst(lc);
		int64		sealed = ac_lane_sealed(state);
		int64		count;
		const char *relname;

		if (sealed == 0)
			continue;
		count = ac_lane_count_rows(state->root, state->lane, state->base_seq);
		if (count == sealed)
			continue;

		relname = get_rel_name(state->root);
		if (count < sealed)
			ereport(ERROR,
					(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
					 errmsg("%lld sealed row(s) of lane %d of chained table \"%s\" were not inserted",
							(long long) (sealed - count), state->lane,
							relname ? relname : "?"),
					 errdetail("A row was sealed into the chain and then skipped, which would leave a gap in the chain."),
					 errhint("INSERT ... ON CONFLICT DO NOTHING and BEFORE ROW triggers that sort after \"%s\" and return NULL cannot be used on chained tables.",
								 AC_SEAL_TRIGGER)));
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("lane %d of chained table \"%s\" holds %lld row(s) this transaction did not seal",
						state->lane, relname ? relname : "?",
						(long long) (count - sealed)),
				 errdetail("Rows were written into the lane while this transaction held its lock, bypassing the seal trigger."),
				 errhint("Run audit_chain.verify_chain() on the table.")));
	}
	list_free(held);
}

/*
 * ac_complete_pre_commit
 *		Before commit (or PREPARE TRANSACTION): check the lanes held, if a
 *		statement may have skipped sealed rows.  It must run after the
 *		queued admin events are written, so that it covers them.
 */
void
ac_complete_pre_commit(void)
{
	if (xact_may_skip_rows)
		check_lanes_complete();
}

/*
 * ac_complete_at_eoxact
 *		The transaction ended: the next one starts with nothing noted.
 */
void
ac_complete_at_eoxact(void)
{
	xact_may_skip_rows = false;
}
