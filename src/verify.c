/*-------------------------------------------------------------------------
 *
 * verify.c
 *	  Verification of chained tables.
 *
 * verify_chain walks every lane in seq order, recomputes each row's hash
 * from its contents (section 3 of the design), checks every link, and
 * compares the lane with the newest checkpoint.  It reports, like amcheck,
 * one row per lane instead of stopping at the first error, and it only
 * reads the chained tables, so it runs on a hot standby too.  On a primary,
 * in a read-write transaction, it also appends its result to
 * audit_chain.verification_log.
 *
 * IDENTIFICATION
 *	  src/verify.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/pairingheap.h"
#include "mb/pg_wchar.h"
#include "nodes/makefuncs.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "chaintable.h"
#include "compat.h"
#include "hash.h"
#include "lane.h"
#include "registry.h"
#include "seal.h"
#include "verify.h"

/* What verification found in one lane */
typedef struct LaneCheck
{
	int16		lane;
	int64		expect_seq;		/* next seq we expect */
	uint8		prev[AC_HASH_LEN];	/* hash the next row must link to */
	int64		rows;			/* rows seen in this lane */
	int64		last_seq;		/* last seq that verified */
	bool		bad;
	int64		first_bad_seq;
	char	   *problem;
	bool		has_checkpoint;
	int64		cp_id;
	int64		cp_seq;
	uint8		cp_hash[AC_HASH_LEN];
	pairingheap *pending;		/* heap scan: rows that came before their turn */
} LaneCheck;

/* A row held back by the heap scan until the rows before it are checked */
typedef struct PendingRow
{
	pairingheap_node node;
	int64		seq;
	HeapTuple	tuple;
} PendingRow;

/*
 * Rows a heap scan may hold back before it gives up and walks the index in
 * seq order instead.  Rows of one lane are inserted in seq order, so in the
 * heap they are nearly in order; concurrent writers interleave pages.
 */
#define MAX_PENDING_ROWS 200000

/* One chained table under verification */
typedef struct ChainCheck
{
	Oid			root;
	int			nlanes;
	LaneCheck  *lanes;			/* indexed by lane number */
	int64		stray_rows;		/* rows in no registered lane */
	int64		stray_first_seq;
	char	   *stray_problem;
} ChainCheck;

#define ROWS_PER_FETCH 10000

static void check_tails(ChainCheck *cc, MemoryContext cxt);

/*
 * ac_bytea_hash
 *		Pointer to the 32 bytes of a bytea chain hash, or NULL if the value is
 *		not 32 bytes long.
 */
const uint8 *
ac_bytea_hash(Datum d)
{
	bytea	   *b = DatumGetByteaPP(d);

	if (VARSIZE_ANY_EXHDR(b) != AC_HASH_LEN)
		return NULL;
	return (const uint8 *) VARDATA_ANY(b);
}

/*
 * lane_problem
 *		Record the first problem found in a lane; later ones are ignored.
 */
static void
lane_problem(LaneCheck *lc, int64 seq, MemoryContext cxt, const char *fmt,...)
	pg_attribute_printf(4, 5);

static void
lane_problem(LaneCheck *lc, int64 seq, MemoryContext cxt, const char *fmt,...)
{
	MemoryContext old;
	StringInfoData buf;
	va_list		args;

	if (lc->bad)
		return;
	old = MemoryContextSwitchTo(cxt);
	initStringInfo(&buf);
	for (;;)
	{
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&buf, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	MemoryContextSwitchTo(old);
	lc->bad = true;
	lc->first_bad_seq = seq;
	lc->problem = buf.data;
}

/*
 * load_chain
 *		The lanes of one chained table (nlanes of them, as checked by
 *		ac_check_chained_table), with their start points and newest
 *		checkpoint.  Must be called inside SPI.
 *
 * The registry and the checkpoints are the extension's own record, read
 * without any privilege of the caller's on them: the registry by a direct
 * scan, the checkpoints as the owner of audit_chain.checkpoint_heads.  A lane
 * whose start point (genesis or archived-through boundary) is not the one
 * its newest checkpoint recorded is marked broken before any row is read.
 */
static ChainCheck *
load_chain(Oid root, int nlanes, MemoryContext cxt)
{
	ChainCheck *cc;
	AcLaneStart starts[AC_MAX_LANES];
	bool		numbered;
	Oid			argtypes[1] = {REGCLASSOID};
	Datum		args[1];
	int			ret;
	int			n;
	MemoryContext old;

	memset(starts, 0, sizeof(starts));
	n = ac_registry_lanes(root, InvalidSnapshot, starts, &numbered);
	if (n != nlanes || !numbered)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("lanes of table \"%s\" in audit_chain.chains are not numbered 0 to %d",
						get_rel_name(root), n - 1)));

	old = MemoryContextSwitchTo(cxt);
	cc = palloc0(sizeof(ChainCheck));
	cc->root = root;
	cc->nlanes = nlanes;
	cc->lanes = palloc0(sizeof(LaneCheck) * Max(cc->nlanes, 1));
	MemoryContextSwitchTo(old);

	for (int i = 0; i < nlanes; i++)
	{
		LaneCheck  *lc = &cc->lanes[i];

		if (!starts[i].valid)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("lane %d of table \"%s\" has no valid genesis hash in audit_chain.chains",
							i, get_rel_name(root))));
		lc->lane = i;
		lc->last_seq = starts[i].seq;
		lc->expect_seq = lc->last_seq + 1;
		memcpy(lc->prev, starts[i].hash, AC_HASH_LEN);
	}

	args[0] = ObjectIdGetDatum(root);
	ret = ac_execute_as(ac_table_owner("checkpoint_heads", false), NULL,
						"SELECT lane, seq, hash, checkpoint_id, start_seq, start_hash "
						"FROM audit_chain.checkpoint_heads "
						"WHERE tbl OPERATOR(pg_catalog.=) $1 "
						"AND checkpoint_id OPERATOR(pg_catalog.=) "
						"(SELECT pg_catalog.max(checkpoint_id) "
						" FROM audit_chain.checkpoint_heads "
						" WHERE tbl OPERATOR(pg_catalog.=) $1)",
						1, argtypes, args, NULL);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	td = SPI_tuptable->tupdesc;
		bool		isnull;
		bool		snull;
		int16		lane = DatumGetInt16(SPI_getbinval(tup, td, 1, &isnull));
		const uint8 *h;
		const uint8 *start_hash;
		int64		start_seq;
		LaneCheck  *lc;

		if (lane < 0 || lane >= cc->nlanes)
			continue;
		lc = &cc->lanes[lane];
		lc->cp_seq = DatumGetInt64(SPI_getbinval(tup, td, 2, &isnull));
		h = ac_bytea_hash(SPI_getbinval(tup, td, 3, &isnull));
		lc->cp_id = DatumGetInt64(SPI_getbinval(tup, td, 4, &isnull));
		if (h == NULL)
			continue;
		memcpy(lc->cp_hash, h, AC_HASH_LEN);
		lc->has_checkpoint = true;

		/* the lane must still start where the checkpoint saw it start */
		start_seq = DatumGetInt64(SPI_getbinval(tup, td, 5, &snull));
		start_hash = NULL;
		if (!snull)
		{
			Datum		d = SPI_getbinval(tup, td, 6, &isnull);

			start_hash = isnull ? NULL : ac_bytea_hash(d);
		}
		if (start_hash != NULL && start_seq != lc->last_seq)
			lane_problem(lc, Min(start_seq, lc->last_seq) + 1, cxt,
						 "the lane starts after chain_seq %lld, but checkpoint %lld recorded its start after chain_seq %lld: its archived-through boundary in audit_chain.chains was changed",
						 (long long) lc->last_seq, (long long) lc->cp_id,
						 (long long) start_seq);
		else if (start_hash != NULL &&
				 memcmp(start_hash, lc->prev, AC_HASH_LEN) != 0)
			lane_problem(lc, lc->last_seq + 1, cxt,
						 "the lane's start hash is not the one checkpoint %lld recorded: its genesis or archived-through hash in audit_chain.chains was changed",
						 (long long) lc->cp_id);
		else if (lc->cp_seq == lc->last_seq &&
				 memcmp(lc->cp_hash, lc->prev, AC_HASH_LEN) != 0)
			lane_problem(lc, lc->last_seq + 1, cxt,
						 "the lane's start hash is not the head checkpoint %lld recorded at chain_seq %lld: its genesis or archived-through hash in audit_chain.chains was changed",
						 (long long) lc->cp_id, (long long) lc->cp_seq);
	}
	return cc;
}

/*
 * check_row
 *		Check one row of a lane against what the chain says it must be.
 */
static void
check_row(LaneCheck *lc, AcRowDesc *desc, Datum *values, bool *isnull,
		  MemoryContext cxt)
{
	int			iseq = desc->att_seq - 1;
	int			iat = desc->att_at - 1;
	int			iprev = desc->att_prev - 1;
	int			ihash = desc->att_hash - 1;
	int64		seq;
	const uint8 *prev;
	const uint8 *hash;
	uint8		computed[AC_HASH_LEN];

	lc->rows++;
	if (lc->bad)
		return;

	if (isnull[iseq] || isnull[iat] || isnull[iprev] || isnull[ihash])
	{
		lane_problem(lc, isnull[iseq] ? lc->expect_seq : DatumGetInt64(values[iseq]),
					 cxt, "a row is not sealed: its chain columns are NULL");
		return;
	}
	seq = DatumGetInt64(values[iseq]);
	if (seq < lc->expect_seq)
	{
		lane_problem(lc, seq, cxt,
					 "chain_seq %lld appears more than once: a row was inserted into the chain",
					 (long long) seq);
		return;
	}
	if (seq > lc->expect_seq)
	{
		if (seq == lc->expect_seq + 1)
			lane_problem(lc, lc->expect_seq, cxt,
						 "chain_seq %lld is missing: a row was deleted",
						 (long long) lc->expect_seq);
		else
			lane_problem(lc, lc->expect_seq, cxt,
						 "chain_seq %lld to %lld are missing: rows were deleted",
						 (long long) lc->expect_seq, (long long) seq - 1);
		return;
	}

	prev = ac_bytea_hash(values[iprev]);
	hash = ac_bytea_hash(values[ihash]);
	if (prev == NULL || memcmp(prev, lc->prev, AC_HASH_LEN) != 0)
	{
		lane_problem(lc, seq, cxt,
					 "chain_prev of chain_seq %lld does not match the chain_hash before it: rows were replaced or reordered",
					 (long long) seq);
		return;
	}

	ac_row_hash(desc, values, isnull, seq, DatumGetTimestampTz(values[iat]),
				prev, computed);
	if (hash == NULL || memcmp(hash, computed, AC_HASH_LEN) != 0)
	{
		lane_problem(lc, seq, cxt,
					 "chain_hash of chain_seq %lld does not match the row's contents: the row was changed after it was sealed",
					 (long long) seq);
		return;
	}

	if (lc->has_checkpoint && seq == lc->cp_seq &&
		memcmp(hash, lc->cp_hash, AC_HASH_LEN) != 0)
	{
		lane_problem(lc, seq, cxt,
					 "chain_seq %lld differs from checkpoint %lld: the chain was rewritten",
					 (long long) seq, (long long) lc->cp_id);
		return;
	}

	memcpy(lc->prev, hash, AC_HASH_LEN);
	lc->last_seq = seq;
	lc->expect_seq = seq + 1;
}


/*
 * note_stray
 *		Count a row that is in no lane of the table (NULL or unregistered
 *		chain_lane); the first one gives the problem text.
 */
static void
note_stray(ChainCheck *cc, int lane, bool seqnull, Datum seq, MemoryContext cxt)
{
	MemoryContext old;

	if (cc->stray_rows++ > 0)
		return;
	old = MemoryContextSwitchTo(cxt);
	cc->stray_first_seq = seqnull ? 0 : DatumGetInt64(seq);
	if (lane < 0)
		cc->stray_problem = pstrdup("rows with a NULL chain_lane are not sealed into any lane");
	else
		cc->stray_problem = psprintf("rows in lane %d, which is not a lane of this table, are not sealed into the chain",
									 lane);
	MemoryContextSwitchTo(old);
}

/*
 * ac_chain_select
 *		Start "SELECT <chain columns>, <hashed columns> FROM <table>" for a
 *		chained table, with the hashed columns of desc (built on rootdesc).
 *		The sorted walk reads with it, and so do the auditor functions.
 */
void
ac_chain_select(StringInfo sql, Relation rel, TupleDesc rootdesc, AcRowDesc *desc)
{
	appendStringInfoString(sql, "SELECT chain_lane, chain_seq, chain_at, chain_prev, chain_hash");
	for (int i = 0; i < desc->ncols; i++)
		appendStringInfo(sql, ", %s",
						 quote_identifier(NameStr(TupleDescAttr(rootdesc, desc->cols[i].attnum - 1)->attname)));
	appendStringInfo(sql, " FROM %s",
					 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
												RelationGetRelationName(rel)));
}

/*
 * pending_cmp
 *		Pairing heap order: the smallest seq first.
 */
static int
pending_cmp(const pairingheap_node *a, const pairingheap_node *b, void *arg)
{
	int64		sa = pairingheap_const_container(PendingRow, node, a)->seq;
	int64		sb = pairingheap_const_container(PendingRow, node, b)->seq;

	return (sa < sb) ? 1 : (sa > sb) ? -1 : 0;
}

/*
 * check_tuple
 *		Deform a heap tuple of the chained table and check it.
 */
static void
check_tuple(LaneCheck *lc, AcRowDesc *desc, TupleDesc tupdesc, HeapTuple tuple,
			Datum *values, bool *isnull, MemoryContext cxt)
{
	heap_deform_tuple(tuple, tupdesc, values, isnull);
	check_row(lc, desc, values, isnull, cxt);
}

/*
 * drain_pending
 *		Check held-back rows of a lane whose turn has come; with all, check
 *		every one left (the end of the scan: what remains follows a gap).
 */
static int64
drain_pending(LaneCheck *lc, AcRowDesc *desc, TupleDesc tupdesc, bool all,
			  Datum *values, bool *isnull, MemoryContext rowcxt,
			  MemoryContext cxt)
{
	int64		drained = 0;

	while (lc->pending != NULL && !pairingheap_is_empty(lc->pending))
	{
		PendingRow *p = pairingheap_container(PendingRow, node,
											  pairingheap_first(lc->pending));
		MemoryContext old;

		if (!all && p->seq > lc->expect_seq)
			break;
		(void) pairingheap_remove_first(lc->pending);
		old = MemoryContextSwitchTo(rowcxt);
		check_tuple(lc, desc, tupdesc, p->tuple, values, isnull, cxt);
		MemoryContextSwitchTo(old);
		MemoryContextReset(rowcxt);
		heap_freetuple(p->tuple);
		pfree(p);
		drained++;
	}
	return drained;
}

/*
 * prefetch_next_row
 *		Ask the CPU for the bytes of the scan's next row on this page, so
 *		that they load while the current row is hashed: every row is read
 *		once, from memory rather than cache, and deforming a row otherwise
 *		waits for its first load.  Always inlined: as a function of its own it
 *		has no effect the compiler can see, and gcc drops the call.
 */
static pg_attribute_always_inline void
prefetch_next_row(TableScanDesc scan)
{
#if defined(__GNUC__) || defined(__clang__)
	Page		page;
	ItemId		lp;
	const char *p;

	if (!ac_heapscan_next_row(scan, &page, &lp))
		return;
	p = (const char *) PageGetItem(page, lp);
	for (uint32 off = 0; off < ItemIdGetLength(lp); off += 64)
		__builtin_prefetch(p + off);
#endif
}

/*
 * walk_heap
 *		Check every row of an ordinary chained table in one sequential scan,
 *		without sorting: each lane is walked in seq order, and a row met
 *		before its turn waits in a small per-lane heap.  Returns false, having
 *		checked nothing for good, if too many rows had to wait; the caller
 *		then walks the table in index order.
 */
static bool
walk_heap(ChainCheck *cc, Relation rel, MemoryContext cxt)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	AcRowDesc  *desc = ac_rowdesc_build(tupdesc, RelationGetRelationName(rel), true);
	TableScanDesc scan;
	HeapTuple	tuple;
	Datum	   *values = palloc(sizeof(Datum) * tupdesc->natts);
	bool	   *isnull = palloc(sizeof(bool) * tupdesc->natts);
	MemoryContext rowcxt = AllocSetContextCreate(CurrentMemoryContext,
												 "audit_chain verify row",
												 ALLOCSET_DEFAULT_SIZES);
	MemoryContext pendcxt = AllocSetContextCreate(CurrentMemoryContext,
												  "audit_chain verify pending",
												  ALLOCSET_DEFAULT_SIZES);
	int64		npending = 0;
	bool		ok = true;

	for (int l = 0; l < cc->nlanes; l++)
		cc->lanes[l].pending = pairingheap_allocate(pending_cmp, NULL);

	/* physical order from the first block: no synchronized scan */
	scan = table_beginscan_strat(rel, GetActiveSnapshot(), 0, NULL, true, false);
	while ((tuple = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		snull;
		Datum		sd;
		int			lane;
		LaneCheck  *lc;
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();

		prefetch_next_row(scan);

		/*
		 * Deform the whole row once: the chain columns come last, so reading
		 * them alone would walk every column before them anyway.
		 */
		heap_deform_tuple(tuple, tupdesc, values, isnull);
		lane = isnull[desc->att_lane - 1] ? -1 :
			DatumGetInt16(values[desc->att_lane - 1]);
		sd = values[desc->att_seq - 1];
		snull = isnull[desc->att_seq - 1];
		if (lane < 0 || lane >= cc->nlanes)
		{
			note_stray(cc, lane, snull, sd, cxt);
			continue;
		}
		lc = &cc->lanes[lane];

		if (!snull && !lc->bad && DatumGetInt64(sd) > lc->expect_seq)
		{
			PendingRow *p;

			if (++npending > MAX_PENDING_ROWS)
			{
				ok = false;
				break;
			}
			old = MemoryContextSwitchTo(pendcxt);
			p = palloc(sizeof(PendingRow));
			p->seq = DatumGetInt64(sd);
			p->tuple = heap_copytuple(tuple);
			MemoryContextSwitchTo(old);
			pairingheap_add(lc->pending, &p->node);
			continue;
		}

		old = MemoryContextSwitchTo(rowcxt);
		check_row(lc, desc, values, isnull, cxt);
		MemoryContextSwitchTo(old);
		MemoryContextReset(rowcxt);
		npending -= drain_pending(lc, desc, tupdesc, false, values, isnull,
								  rowcxt, cxt);
	}
	table_endscan(scan);

	/* Whatever still waits comes after a gap: check it in seq order */
	for (int l = 0; ok && l < cc->nlanes; l++)
		(void) drain_pending(&cc->lanes[l], desc, tupdesc, true, values, isnull,
							 rowcxt, cxt);

	MemoryContextDelete(rowcxt);
	MemoryContextDelete(pendcxt);
	for (int l = 0; l < cc->nlanes; l++)
		cc->lanes[l].pending = NULL;
	return ok;
}

/*
 * reset_chain
 *		Forget what a walk found, to walk again from the lanes' start points.
 */
static void
reset_chain(ChainCheck *cc, const ChainCheck *start)
{
	for (int l = 0; l < cc->nlanes; l++)
		cc->lanes[l] = start->lanes[l];
	cc->stray_rows = 0;
	cc->stray_first_seq = 0;
	cc->stray_problem = NULL;
}

/*
 * walk_sorted
 *		Read every row of the chained table in (lane, seq) order, through the
 *		executor, and check it.  Works for partitioned tables too.  With
 *		only_lane >= 0, read only that lane's rows after after_seq (the
 *		incremental mode).  Must be called inside SPI.
 */
static void
walk_sorted(ChainCheck *cc, MemoryContext cxt, int only_lane, int64 after_seq)
{
	Relation	rel = table_open(cc->root, AccessShareLock);
	AcRowDesc  *desc;
	StringInfoData sql;
	Portal		cursor;
	MemoryContext rowcxt;
	TupleDesc	rootdesc = CreateTupleDescCopyConstr(RelationGetDescr(rel));
	bool		remapped = false;

	desc = ac_rowdesc_build(rootdesc, RelationGetRelationName(rel), true);

	initStringInfo(&sql);
	ac_chain_select(&sql, rel, rootdesc, desc);
	if (only_lane >= 0)
		appendStringInfo(&sql, " WHERE chain_lane OPERATOR(pg_catalog.=) %d"
						 " AND chain_seq OPERATOR(pg_catalog.>) " INT64_FORMAT,
						 only_lane, after_seq);
	appendStringInfoString(&sql, " ORDER BY chain_lane, chain_seq");
	table_close(rel, AccessShareLock);

	cursor = SPI_cursor_open_with_args(NULL, sql.data, 0, NULL, NULL, NULL,
									   true, CURSOR_OPT_NO_SCROLL);
	rowcxt = AllocSetContextCreate(CurrentMemoryContext,
								   "audit_chain verify row",
								   ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		SPITupleTable *batch;
		uint64		n;

		SPI_cursor_fetch(cursor, true, ROWS_PER_FETCH);
		n = SPI_processed;
		batch = SPI_tuptable;
		if (n == 0)
			break;
		if (!remapped)
		{
			ac_rowdesc_remap(desc, rootdesc, batch->tupdesc);
			remapped = true;
		}

		for (uint64 i = 0; i < n; i++)
		{
			MemoryContext old = MemoryContextSwitchTo(rowcxt);
			int			natts = batch->tupdesc->natts;
			Datum	   *values = palloc(sizeof(Datum) * natts);
			bool	   *isnull = palloc(sizeof(bool) * natts);
			int16		lane;

			CHECK_FOR_INTERRUPTS();
			heap_deform_tuple(batch->vals[i], batch->tupdesc, values, isnull);
			lane = isnull[desc->att_lane - 1] ? -1 : DatumGetInt16(values[desc->att_lane - 1]);
			if (lane < 0 || lane >= cc->nlanes)
				note_stray(cc, lane, isnull[desc->att_seq - 1],
						   values[desc->att_seq - 1], cxt);
			else
				check_row(&cc->lanes[lane], desc, values, isnull, cxt);
			MemoryContextSwitchTo(old);
			MemoryContextReset(rowcxt);
		}
		SPI_freetuptable(batch);
	}
	SPI_cursor_close(cursor);
	MemoryContextDelete(rowcxt);
}

/*
 * may_verify_problem
 *		Why the caller may not read every row of the chained table, or NULL
 *		if it may: it needs SELECT on it, and no row-level security policy
 *		may hide rows from it.
 *
 * The heap scan reads the table directly, so it checks what the executor
 * would; the sorted walk and the incremental walk read through the
 * executor, where a policy would silently hide rows, which would then look
 * deleted.  Every walk refuses instead.
 */
static AcTableProblem *
may_verify_problem(Oid root)
{
	AcTableProblem *p;

	if (pg_class_aclcheck(root, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
	{
		p = palloc0(sizeof(AcTableProblem));
		p->sqlerrcode = ERRCODE_INSUFFICIENT_PRIVILEGE;
		p->message = psprintf("permission denied for table %s", get_rel_name(root));
		return p;
	}
	if (check_enable_rls(root, InvalidOid, false) == RLS_ENABLED)
	{
		p = palloc0(sizeof(AcTableProblem));
		p->sqlerrcode = ERRCODE_INSUFFICIENT_PRIVILEGE;
		p->message = psprintf("cannot verify chained table \"%s\" under row-level security",
							  get_rel_name(root));
		p->detail = pstrdup("Verification must read every row of the table.");
		p->hint = pstrdup("Verify as a role that bypasses row-level security, or as the table owner.");
		return p;
	}
	return NULL;
}

/*
 * check_may_verify
 *		Raise the error of may_verify_problem(), if any.
 */
static void
check_may_verify(Oid root)
{
	AcTableProblem *p = may_verify_problem(root);

	if (p != NULL)
		ereport(ERROR,
				(errcode(p->sqlerrcode),
				 errmsg_internal("%s", p->message),
				 p->detail ? errdetail_internal("%s", p->detail) : 0,
				 p->hint ? errhint("%s", p->hint) : 0));
}

/*
 * walk_chain
 *		Check every row of a chained table: one sequential heap scan for an
 *		ordinary table, the sorted walk for a partitioned one (or when the
 *		heap is too far out of order).  Then compare each lane's end with its
 *		newest checkpoint.
 */
static void
walk_chain(ChainCheck *cc, MemoryContext cxt)
{
	Relation	rel = table_open(cc->root, AccessShareLock);
	bool		done = false;

	check_may_verify(cc->root);

	if (rel->rd_rel->relkind == RELKIND_RELATION)
	{
		ChainCheck	start = *cc;
		MemoryContext old = MemoryContextSwitchTo(cxt);

		start.lanes = palloc(sizeof(LaneCheck) * Max(cc->nlanes, 1));
		memcpy(start.lanes, cc->lanes, sizeof(LaneCheck) * cc->nlanes);
		MemoryContextSwitchTo(old);

		done = walk_heap(cc, rel, cxt);
		if (!done)
			reset_chain(cc, &start);
	}
	table_close(rel, AccessShareLock);
	if (!done)
		walk_sorted(cc, cxt, -1, 0);
	check_tails(cc, cxt);
}

/*
 * resume_lane
 *		Incremental mode: move a lane's start point to where its last intact
 *		verification ended, after checking that the row there still has the
 *		hash that verification saw.  Returns false if the lane has no such
 *		verification (it is then walked in full).
 */
static bool
resume_lane(ChainCheck *cc, LaneCheck *lc, MemoryContext cxt)
{
	Oid			argtypes[3] = {REGCLASSOID, INT2OID, INT8OID};
	Datum		args[2];
	bool		isnull;
	int64		seq;
	int64		vid;
	const uint8 *hash;
	uint8		saved[AC_HASH_LEN];
	int			ret;

	args[0] = ObjectIdGetDatum(cc->root);
	args[1] = Int16GetDatum(lc->lane);
	/* the log is the extension's own record: read it as its owner */
	ret = ac_execute_as(ac_table_owner("verification_log", false), NULL,
						"SELECT last_seq, last_hash, verification_id "
						"FROM audit_chain.verification_log "
						"WHERE tbl OPERATOR(pg_catalog.=) $1 "
						"AND lane OPERATOR(pg_catalog.=) $2 AND intact "
						"AND last_seq IS NOT NULL "
						"ORDER BY verification_id DESC LIMIT 1",
						2, argtypes, args, NULL);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		return false;
	seq = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	hash = ac_bytea_hash(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	vid = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	if (hash == NULL || seq <= lc->last_seq)
		return false;			/* nothing to skip */
	memcpy(saved, hash, AC_HASH_LEN);

	/* the row it ended on must still be there, with the same hash */
	args[0] = Int16GetDatum(lc->lane);
	args[1] = Int64GetDatum(seq);
	ret = SPI_execute_with_args(psprintf("SELECT chain_hash FROM %s "
										 "WHERE chain_lane OPERATOR(pg_catalog.=) $1 "
										 "AND chain_seq OPERATOR(pg_catalog.=) $2",
										 quote_qualified_identifier(get_namespace_name(get_rel_namespace(cc->root)),
																	get_rel_name(cc->root))),
								2, argtypes + 1, args, NULL, true, 2);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	if (SPI_processed != 1 ||
		(hash = ac_bytea_hash(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull))) == NULL ||
		memcmp(hash, saved, AC_HASH_LEN) != 0)
	{
		lane_problem(lc, seq, cxt,
					 "chain_seq %lld is not the row verification %lld saw: the chain was changed before that point",
					 (long long) seq, (long long) vid);
		return true;
	}
	lc->last_seq = seq;
	lc->expect_seq = seq + 1;
	memcpy(lc->prev, saved, AC_HASH_LEN);
	return true;
}

/*
 * walk_incremental
 *		Check only the rows of each lane after its last intact verification;
 *		lanes never verified are walked in full.
 */
static void
walk_incremental(ChainCheck *cc, MemoryContext cxt)
{
	check_may_verify(cc->root);
	for (int l = 0; l < cc->nlanes; l++)
	{
		LaneCheck  *lc = &cc->lanes[l];

		if (lc->bad)
			continue;			/* its start point is already wrong */
		(void) resume_lane(cc, lc, cxt);
		if (!lc->bad)
			walk_sorted(cc, cxt, l, lc->last_seq);
	}
	check_tails(cc, cxt);
}

/*
 * check_tails
 *		A lane that stops short of its newest checkpoint lost its tail.
 */
static void
check_tails(ChainCheck *cc, MemoryContext cxt)
{
	for (int l = 0; l < cc->nlanes; l++)
	{
		LaneCheck  *lc = &cc->lanes[l];

		if (!lc->bad && lc->has_checkpoint && lc->last_seq < lc->cp_seq)
			lane_problem(lc, lc->last_seq + 1, cxt,
						 "the lane ends at chain_seq %lld but checkpoint %lld recorded chain_seq %lld: rows were cut from the tail",
						 (long long) lc->last_seq, (long long) lc->cp_id,
						 (long long) lc->cp_seq);
	}
}

/*
 * log_result
 *		Append one lane's result to audit_chain.verification_log.
 */
static void
log_result(Oid root, int16 lane, bool haslane, int64 rows, bool intact,
		   int64 first_bad, const char *problem, int64 last_seq,
		   const uint8 *last_hash, bool incremental)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[10] = {REGCLASSOID, INT2OID, INT8OID, BOOLOID,
	INT8OID, TEXTOID, INT8OID, BYTEAOID, NAMEOID, BOOLOID};
	Datum		args[10];
	char		nulls[10] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	NameData	verifier;
	bytea	   *h;
	int			ret;
	Oid			log_owner = ac_table_owner("verification_log", false);
	if (plan == NULL)
	{
		plan = SPI_prepare("INSERT INTO audit_chain.verification_log "
						   "(tbl, lane, rows_checked, intact, first_bad_seq, problem, "
						   "last_seq, last_hash, verified_by, incremental) "
						   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
						   10, argtypes);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
	}
	args[0] = ObjectIdGetDatum(root);
	args[1] = Int16GetDatum(lane);
	if (!haslane)
		nulls[1] = 'n';
	args[2] = Int64GetDatum(rows);
	args[3] = BoolGetDatum(intact);
	args[4] = Int64GetDatum(first_bad);
	if (intact || first_bad < 0)
		nulls[4] = 'n';
	args[5] = problem ? CStringGetTextDatum(problem) : (Datum) 0;
	if (problem == NULL)
		nulls[5] = 'n';
	args[6] = Int64GetDatum(last_seq);
	if (last_hash != NULL)
	{
		h = palloc(VARHDRSZ + AC_HASH_LEN);
		SET_VARSIZE(h, VARHDRSZ + AC_HASH_LEN);
		memcpy(VARDATA(h), last_hash, AC_HASH_LEN);
		args[7] = PointerGetDatum(h);
	}
	else
	{
		args[6] = (Datum) 0;
		nulls[6] = 'n';
		nulls[7] = 'n';
	}
	/*
	 * The log is the extension's own record: write it as the owner of the
	 * log table, as RI triggers act as the table owner, so that a role that
	 * may verify needs no privilege on the log itself.
	 */
	namestrcpy(&verifier, GetUserNameFromId(GetUserId(), false));
	args[8] = NameGetDatum(&verifier);
	args[9] = BoolGetDatum(incremental);
	ret = ac_execute_as(log_owner, plan, NULL, 0, NULL, args, nulls);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "unexpected SPI result: %s", SPI_result_code_string(ret));
}

/*
 * report_bad_table
 *		verify_chain of every table: a registered table that cannot be
 *		verified at all (it was dropped, is no longer a table with the chain
 *		columns, or the caller may not read all of it) fails in each of its
 *		registered lanes.  It is reported, not skipped: a chained table that
 *		vanished, or that the auditor was locked out of, is exactly what
 *		verification is for.
 */
static void
report_bad_table(ReturnSetInfo *rsinfo, Oid root, int nlanes,
				 AcTableProblem *bad, bool log, bool incremental)
{
	char	   *problem = bad->detail ?
		psprintf("%s: %s", bad->message, bad->detail) : bad->message;

	for (int l = 0; l < Max(nlanes, 1); l++)
	{
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, true, false};

		values[0] = ObjectIdGetDatum(root);
		values[1] = Int32GetDatum(l);
		values[2] = Int64GetDatum(0);
		values[3] = BoolGetDatum(false);
		values[4] = (Datum) 0;
		values[5] = CStringGetTextDatum(problem);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		if (log)
			log_result(root, l, true, 0, false, -1, problem, 0, NULL,
					   incremental);
	}
}

/*
 * verify_chain(tbl regclass DEFAULT NULL, incremental boolean DEFAULT false)
 *		RETURNS TABLE (tbl regclass, lane int, rows_checked bigint,
 *					   intact boolean, first_bad_seq bigint, problem text)
 *
 * tbl: the chained table to verify, or NULL for every chained table.
 * incremental: check each lane only after the point where its last intact
 * verification ended (rows_checked then counts the new rows only).
 * One row per lane; one more row, with lane NULL, if the table holds rows
 * that are in no lane at all.
 */
PG_FUNCTION_INFO_V1(verify_chain);
Datum
verify_chain(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext cxt;
	List	   *roots = NIL;
	ListCell   *lc;
	int			nestlevel;
	bool		log = !RecoveryInProgress() && !XactReadOnly;
	bool		incremental = PG_NARGS() > 1 && !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);

	InitMaterializedSRF(fcinfo, 0);
	cxt = AllocSetContextCreate(CurrentMemoryContext, "audit_chain verify",
								ALLOCSET_DEFAULT_SIZES);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/*
	 * One table: it must be a chained table that the caller may read in
	 * full, or the call fails.  Every table: each registered one is checked
	 * in the loop below, and one that is not a readable chained table
	 * (dropped, with chain columns of the wrong type, not readable by the
	 * caller or under row-level security, ...) gets a failed row per lane
	 * instead of stopping the verification of the others: the owner of one
	 * table must not be able to stop the verification of every table.
	 */
	if (!PG_ARGISNULL(0))
	{
		Oid			root = PG_GETARG_OID(0);

		(void) ac_check_chained_table(root, AccessShareLock);
		check_may_verify(root);
		roots = list_make1_oid(root);
	}
	else
		roots = ac_registry_tables();

	nestlevel = ac_enter_canonical_settings();

	foreach(lc, roots)
	{
		Oid			root = lfirst_oid(lc);
		ChainCheck *cc;
		int			nlanes;
		AcTableProblem *bad;

		bad = ac_chained_table_problem(root, AccessShareLock, &nlanes);
		if (bad == NULL)
			bad = may_verify_problem(root);
		if (bad != NULL)
		{
			report_bad_table(rsinfo, root, nlanes, bad, log, incremental);
			continue;
		}
		cc = load_chain(root, nlanes, cxt);
		if (incremental)
			walk_incremental(cc, cxt);
		else
			walk_chain(cc, cxt);

		for (int l = 0; l < cc->nlanes; l++)
		{
			LaneCheck  *lck = &cc->lanes[l];
			Datum		values[6];
			bool		nulls[6] = {false, false, false, false, false, false};

			values[0] = ObjectIdGetDatum(root);
			values[1] = Int32GetDatum(lck->lane);
			values[2] = Int64GetDatum(lck->rows);
			values[3] = BoolGetDatum(!lck->bad);
			values[4] = Int64GetDatum(lck->first_bad_seq);
			nulls[4] = !lck->bad;
			values[5] = lck->bad ? CStringGetTextDatum(lck->problem) : (Datum) 0;
			nulls[5] = !lck->bad;
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			if (log)
				log_result(root, lck->lane, true, lck->rows, !lck->bad,
						   lck->first_bad_seq, lck->problem,
						   lck->last_seq, lck->bad ? NULL : lck->prev, incremental);
		}
		if (cc->stray_rows > 0)
		{
			Datum		values[6];
			bool		nulls[6] = {false, true, false, false, false, false};
			char	   *problem = psprintf("%lld %s", (long long) cc->stray_rows,
										   cc->stray_problem);

			values[0] = ObjectIdGetDatum(root);
			values[1] = (Datum) 0;
			values[2] = Int64GetDatum(cc->stray_rows);
			values[3] = BoolGetDatum(false);
			values[4] = Int64GetDatum(cc->stray_first_seq);
			values[5] = CStringGetTextDatum(problem);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			if (log)
				log_result(root, 0, false, cc->stray_rows, false,
						   cc->stray_first_seq, problem, 0, NULL, false);
		}
		MemoryContextReset(cxt);
	}

	ac_leave_canonical_settings(nestlevel);
	SPI_finish();
	MemoryContextDelete(cxt);
	return (Datum) 0;
}
