/*-------------------------------------------------------------------------
 *
 * verify.c
 *	  Verification of chained tables.
 *
 * verify_chain walks every lane in seq order, recomputes each row's hash
 * from its contents (doc/hash-format.md), checks every link, and compares
 * the lane with every checkpoint (cpcheck.c checks the checkpoints
 * themselves).  It reports, like amcheck, one row
 * per lane instead of stopping at the first error, and it only reads the
 * chained tables, so it runs on a hot standby too.  On a primary, in a
 * read-write transaction, it also appends its result to
 * audit_chain.verification_log.
 *
 * The steps, in the order verify_chain takes them, all sharing one
 * VerifyState: tables_to_verify, then for each table verify_table:
 * load_chain (the lanes' start points and newest checkpoint), then
 * walk_chain (walk_heap, one sequential scan; walk_sorted if the table is
 * partitioned or its heap too far out of order) or walk_incremental
 * (resume_lane, then walk_sorted from there), each row through check_row,
 * then check_tails, and report_chain, which returns a row per lane and
 * logs it (log_result).
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
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/pairingheap.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "archive.h"
#include "chaintable.h"
#include "compat.h"
#include "cpcheck.h"
#include "hash.h"
#include "lane.h"
#include "redact.h"
#include "registry.h"
#include "relname.h"
#include "seal.h"
#include "verify.h"

/*
 * What verification found in one lane.  The same struct reports the rows
 * that are in no lane (no_lane), and the lanes of a table that could not be
 * read at all (first_bad_unknown).
 */
typedef struct LaneCheck
{
	int16		lane;
	bool		no_lane;		/* rows in no registered lane: lane is NULL */
	int64		expect_seq;		/* next seq we expect */
	uint8		prev[AC_HASH_LEN];	/* hash the next row must link to */
	int64		rows;			/* rows seen in this lane */
	int64		last_seq;		/* last seq that verified */
	bool		bad;
	int64		first_bad_seq;
	bool		first_bad_unknown;	/* no row was read: first_bad_seq NULL */
	char	   *problem;
	/* the rows checkpoints recorded after the lane's start, by seq */
	const AcExpPoint *exp;
	int			nexp;
	int			iexp;			/* the next one the walk meets */
	bool		has_checkpoint; /* the lane must reach cp_seq */
	int64		cp_seq;
	AcCpLabel	cp;
	bool		has_end;		/* an archived segment: where it must end */
	int64		end_seq;
	uint8		end_hash[AC_HASH_LEN];
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

/*
 * The state of one verify_chain() call, passed to every step of it (as
 * amcheck passes its HeapCheckContext): what was asked, where the results
 * go, the table being checked and the row being checked.
 */
typedef struct VerifyState
{
	ReturnSetInfo *rsinfo;		/* the result rows go to its tuplestore */
	bool		incremental;	/* only the rows after the last verification */
	bool		log;			/* append results to verification_log */
	MemoryContext cxt;			/* the table's lanes and problems; reset
								 * after each table */

	/* the table being verified */
	Oid			root;
	Oid			live;			/* root is the archive table of this one */
	ChainCheck *cc;
	AcRedactions *redactions;	/* its redacted rows, or NULL: none */
	AcCheckpointCheck *cps;		/* every checkpoint, checked once per call */

	/* the walk in progress: the row being checked, in the layout of desc */
	AcRowDesc  *desc;
	Datum	   *values;
	bool	   *isnull;
	MemoryContext rowcxt;		/* reset after every row */
} VerifyState;

#define ROWS_PER_FETCH 10000

/*
 * lane_problem
 *		Record the first problem found in a lane; later ones are ignored.
 */
static void
lane_problem(VerifyState *vs, LaneCheck *lck, int64 seq, const char *fmt,...)
	pg_attribute_printf(4, 5);

static void
lane_problem(VerifyState *vs, LaneCheck *lck, int64 seq, const char *fmt,...)
{
	va_list		args;

	if (lck->bad)
		return;
	va_start(args, fmt);
	lck->problem = ac_vformat_in(vs->cxt, fmt, args);
	va_end(args);
	lck->bad = true;
	lck->first_bad_seq = seq;
}

/*
 * new_chain_check
 *		A ChainCheck of nlanes empty lanes for table root, in vs->cxt, made
 *		the table being verified (vs->cc).
 */
static ChainCheck *
new_chain_check(VerifyState *vs, Oid root, int nlanes)
{
	MemoryContext old = MemoryContextSwitchTo(vs->cxt);
	ChainCheck *cc = palloc0(sizeof(ChainCheck));

	cc->root = root;
	cc->nlanes = nlanes;
	cc->lanes = palloc0(sizeof(LaneCheck) * Max(nlanes, 1));
	MemoryContextSwitchTo(old);
	vs->cc = cc;
	return cc;
}

/*
 * archive_hash_at
 *		The chain_hash of the row (lane, seq) of the archive table of live,
 *		read as the archive's owner: into hash, returning true, or false if
 *		there is no such row.  *no_archive tells that live has no archive
 *		table at all.  Must be called inside SPI.
 */
static bool
archive_hash_at(Oid live, int16 lane, int64 seq, uint8 *hash, bool *no_archive)
{
	Oid			argtypes[2] = {INT2OID, INT8OID};
	Datum		args[2];
	Oid			archive;
	bool		isnull;
	const uint8 *h;
	int			ret;

	*no_archive = false;
	archive = ac_archive_of(live);
	if (!OidIsValid(archive) || get_rel_name(archive) == NULL)
	{
		*no_archive = true;
		return false;
	}
	args[0] = Int16GetDatum(lane);
	args[1] = Int64GetDatum(seq);
	ret = ac_execute_as_ro(ac_rel_owner(archive), NULL,
						psprintf("SELECT chain_hash FROM %s "
								 "WHERE chain_lane OPERATOR(pg_catalog.=) $1 "
								 "AND chain_seq OPERATOR(pg_catalog.=) $2",
								 ac_qualified_relname(archive)),
						2, argtypes, args, NULL, true);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	if (SPI_processed != 1)
		return false;
	h = ac_hash_of_bytea(SPI_getbinval(SPI_tuptable->vals[0],
									   SPI_tuptable->tupdesc, 1, &isnull));
	if (isnull || h == NULL)
		return false;
	memcpy(hash, h, AC_HASH_LEN);
	return true;
}

/*
 * last_boundary
 *		The newest move of kind purge (purge) or archive/detach (!purge) of
 *		the lane with this genesis in audit_chain.boundaries: false if there
 *		is none.  Must be called inside SPI.
 */
static bool
last_boundary(const uint8 *genesis, bool purge, int64 *to_seq, uint8 *to_hash)
{
	Oid			argtypes[1] = {BYTEAOID};
	Datum		args[1] = {PointerGetDatum(ac_hash_bytea(genesis))};
	bool		isnull;
	const uint8 *h;
	int			ret;

	ret = ac_execute_as_ro(ac_table_owner("boundaries", false), NULL,
						purge ?
						"SELECT to_seq, to_hash FROM audit_chain.boundaries "
						"WHERE lane_genesis OPERATOR(pg_catalog.=) $1 "
						"AND kind OPERATOR(pg_catalog.=) 'purge' "
						"ORDER BY chain_seq DESC LIMIT 1" :
						"SELECT to_seq, to_hash FROM audit_chain.boundaries "
						"WHERE lane_genesis OPERATOR(pg_catalog.=) $1 "
						"AND kind OPERATOR(pg_catalog.<>) 'purge' "
						"ORDER BY chain_seq DESC LIMIT 1",
						1, argtypes, args, NULL, true);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		return false;
	*to_seq = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										  SPI_tuptable->tupdesc, 1, &isnull));
	h = ac_hash_of_bytea(SPI_getbinval(SPI_tuptable->vals[0],
									   SPI_tuptable->tupdesc, 2, &isnull));
	if (h == NULL)
		memset(to_hash, 0, AC_HASH_LEN);
	else
		memcpy(to_hash, h, AC_HASH_LEN);
	return true;
}

/*
 * check_boundaries
 *		A lane's boundaries in audit_chain.chains (where the live lane starts,
 *		where its archived segment starts) must be the last ones that
 *		archive() and the purge recorded in audit_chain.boundaries, a chained
 *		table: a boundary moved or set by hand (to hide rows cut from the
 *		head of the lane) is caught here.  And the archived segment must end
 *		where the live lane starts: the archive table holds the row at the
 *		boundary, with the boundary's hash.  Must be called inside SPI.
 */
static void
check_boundaries(VerifyState *vs, LaneCheck *lck, const AcLaneStart *st)
{
	int64		rseq;
	uint8		rhash[AC_HASH_LEN];
	bool		no_archive;

	if (last_boundary(st->genesis, false, &rseq, rhash))
	{
		if (rseq != st->seq || memcmp(rhash, st->hash, AC_HASH_LEN) != 0)
		{
			lane_problem(vs, lck, Min(rseq, st->seq) + 1,
						 "the lane starts after chain_seq %lld in audit_chain.chains, but audit_chain.boundaries records its last archive through chain_seq %lld: the boundary was moved without audit_chain.archive()",
						 (long long) st->seq, (long long) rseq);
			return;
		}
	}
	else if (st->seq != 0 || st->archived_hash_set)
	{
		lane_problem(vs, lck, 1,
					 "the lane starts after chain_seq %lld in audit_chain.chains, but audit_chain.boundaries records no archive of it: the boundary was moved without audit_chain.archive()",
					 (long long) st->seq);
		return;
	}

	if (last_boundary(st->genesis, true, &rseq, rhash))
	{
		if (rseq != st->purged_seq ||
			memcmp(rhash, st->purged_hash, AC_HASH_LEN) != 0)
		{
			lane_problem(vs, lck, Min(rseq, st->purged_seq) + 1,
						 "the archived rows of the lane start after chain_seq %lld in audit_chain.chains, but audit_chain.boundaries records its last purge through chain_seq %lld: the boundary was moved without the purge",
						 (long long) st->purged_seq, (long long) rseq);
			return;
		}
	}
	else if (st->purged_seq != 0 || st->purged_hash_set)
	{
		lane_problem(vs, lck, 1,
					 "the archived rows of the lane start after chain_seq %lld in audit_chain.chains, but audit_chain.boundaries records no purge of it: the boundary was moved without the purge",
					 (long long) st->purged_seq);
		return;
	}

	/* the archived segment ends at the live lane's start */
	if (st->seq > st->purged_seq &&
		(!archive_hash_at(vs->root, lck->lane, st->seq, rhash, &no_archive) ||
		 memcmp(rhash, st->hash, AC_HASH_LEN) != 0))
		lane_problem(vs, lck, st->seq,
					 no_archive ?
					 "rows through chain_seq %lld were archived, but the table has no archive table" :
					 "rows through chain_seq %lld were archived, but the archive table does not hold that row with the boundary's hash",
					 (long long) st->seq);
}

/*
 * check_archived_point
 *		A row a checkpoint recorded was archived since: unless it was purged
 *		too, the archive table must hold it, unchanged.  Must be called
 *		inside SPI.
 */
static void
check_archived_point(VerifyState *vs, LaneCheck *lck, const AcExpPoint *p)
{
	uint8		hash[AC_HASH_LEN];
	bool		no_archive;

	if (!archive_hash_at(vs->root, lck->lane, p->seq, hash, &no_archive) ||
		memcmp(hash, p->hash, AC_HASH_LEN) != 0)
		lane_problem(vs, lck, p->seq,
					 "the archived row at chain_seq %lld is not the %s %s recorded: the chain was rewritten",
					 (long long) p->seq,
					 p->kind == AC_POINT_HEAD ? "head" : "boundary",
					 ac_cp_label(p->cp));
}

/*
 * apply_checkpoints
 *		What every checkpoint recorded of a lane, against where the lane
 *		starts now (st): its boundaries only moved forward; a recorded row
 *		at the archive or purge boundary is that boundary; the newest
 *		recorded row now in the archive is there, unchanged; the rows
 *		recorded after the start are checked by the walk (lck->exp), which
 *		must reach the last of them.  With archived, for the walk of the
 *		archive table: the rows recorded between the purge and archive
 *		boundaries are checked by that walk instead.  Must be called inside
 *		SPI.
 */
static void
apply_checkpoints(VerifyState *vs, LaneCheck *lck, const AcLaneStart *st,
				  bool archived)
{
	AcLaneExpect *e = ac_lane_expect(vs->cps, st->genesis);
	const AcExpPoint *in_archive = NULL;
	int			first = -1;
	int			last = -1;

	if (e == NULL)
		return;
	if (e->genesis_changed)
	{
		lane_problem(vs, lck, st->seq + 1,
					 "the lane's start hash is not the one %s recorded: its genesis or archived-through hash in audit_chain.chains was changed",
					 ac_cp_label(e->genesis_cp));
		return;
	}
	if (e->has_bounds && e->max_start_seq > st->seq)
	{
		lane_problem(vs, lck, st->seq + 1,
					 "the lane starts after chain_seq %lld, but %s recorded its start after chain_seq %lld: its archived-through boundary in audit_chain.chains was moved back",
					 (long long) st->seq, ac_cp_label(e->max_start_cp),
					 (long long) e->max_start_seq);
		return;
	}
	if (e->has_bounds && e->max_purged_seq > st->purged_seq)
	{
		lane_problem(vs, lck, st->purged_seq + 1,
					 "the archived rows of the lane start after chain_seq %lld, but %s recorded them starting after chain_seq %lld: its purge boundary in audit_chain.chains was moved back",
					 (long long) st->purged_seq, ac_cp_label(e->max_purged_cp),
					 (long long) e->max_purged_seq);
		return;
	}

	for (int i = 0; i < e->npoints; i++)
	{
		const AcExpPoint *p = &e->points[i];

		if (archived ? (p->seq > st->purged_seq && p->seq <= st->seq) :
			p->seq > st->seq)
		{
			if (first < 0)
				first = i;
			last = i;
		}
		else if (p->seq == st->seq)
		{
			if (memcmp(p->hash, st->hash, AC_HASH_LEN) != 0)
			{
				if (p->kind == AC_POINT_HEAD)
					lane_problem(vs, lck, st->seq + 1,
								 "the lane's start hash is not the head %s recorded at chain_seq %lld: its genesis or archived-through hash in audit_chain.chains was changed",
								 ac_cp_label(p->cp), (long long) p->seq);
				else
					lane_problem(vs, lck, st->seq + 1,
								 "the lane's start hash is not the one %s recorded: its genesis or archived-through hash in audit_chain.chains was changed",
								 ac_cp_label(p->cp));
				return;
			}
		}
		else if (p->seq == st->purged_seq)
		{
			if (memcmp(p->hash, st->purged_hash, AC_HASH_LEN) != 0)
			{
				lane_problem(vs, lck, st->purged_seq + 1,
							 "the hash where the lane's archived rows start is not the one %s recorded at chain_seq %lld: its purge boundary in audit_chain.chains was changed",
							 ac_cp_label(p->cp), (long long) p->seq);
				return;
			}
		}
		else if (!archived && p->seq > st->purged_seq && p->seq < st->seq)
			in_archive = p;		/* the newest one wins: points are sorted */
	}

	if (in_archive != NULL)
		check_archived_point(vs, lck, in_archive);
	if (first >= 0)
	{
		lck->exp = &e->points[first];
		lck->nexp = last - first + 1;
		lck->iexp = 0;
		if (!archived)
		{
			lck->has_checkpoint = true;
			lck->cp_seq = e->points[last].seq;
			lck->cp = e->points[last].cp;
		}
	}
}

/*
 * load_chain
 *		The lanes of the table being verified (nlanes of them, as checked by
 *		ac_check_chained_table), with their start points and what the
 *		checkpoints recorded of them, into vs->cc.  Must be called inside SPI.
 *
 * The registry and the checkpoints are the extension's own record, read
 * without any privilege of the caller's on them: the registry by a direct
 * scan, the checkpoints (cpcheck.c) as their owner.  A lane whose start
 * point (genesis or boundaries) does not agree with a checkpoint is marked
 * broken before any row is read.
 */
static void
load_chain(VerifyState *vs, int nlanes)
{
	Oid			root = vs->root;
	ChainCheck *cc;
	AcLaneStart starts[AC_MAX_LANES];
	bool		numbered;
	int			n;

	memset(starts, 0, sizeof(starts));
	n = ac_registry_lanes(root, InvalidSnapshot, starts, &numbered);
	if (n != nlanes || !numbered)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("lanes of table \"%s\" in audit_chain.chains are not numbered 0 to %d",
						get_rel_name(root), n - 1)));

	cc = new_chain_check(vs, root, nlanes);

	for (int i = 0; i < nlanes; i++)
	{
		LaneCheck  *lck = &cc->lanes[i];

		if (!starts[i].valid)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("lane %d of table \"%s\" has no valid genesis hash in audit_chain.chains",
							i, get_rel_name(root))));
		lck->lane = i;
		lck->last_seq = starts[i].seq;
		lck->expect_seq = lck->last_seq + 1;
		memcpy(lck->prev, starts[i].hash, AC_HASH_LEN);
		check_boundaries(vs, lck, &starts[i]);
		if (!lck->bad)
			apply_checkpoints(vs, lck, &starts[i], false);
	}

}

/*
 * check_row
 *		Check the current row (vs->values) of a lane against what the chain
 *		says it must be.
 */
static void
check_row(VerifyState *vs, LaneCheck *lck)
{
	AcRowDesc  *desc = vs->desc;
	Datum	   *values = vs->values;
	bool	   *isnull = vs->isnull;
	int			iseq = desc->att_seq - 1;
	int			iat = desc->att_at - 1;
	int			iprev = desc->att_prev - 1;
	int			ihash = desc->att_hash - 1;
	int64		seq;
	const uint8 *prev;
	const uint8 *hash;
	const uint8 **kept = NULL;
	const char *redacted;
	uint8		computed[AC_HASH_LEN];

	lck->rows++;
	if (lck->bad)
		return;

	if (isnull[iseq] || isnull[iat] || isnull[iprev] || isnull[ihash])
	{
		lane_problem(vs, lck,
					 isnull[iseq] ? lck->expect_seq : DatumGetInt64(values[iseq]),
					 "a row is not sealed: its chain columns are NULL");
		return;
	}
	seq = DatumGetInt64(values[iseq]);
	if (seq < lck->expect_seq)
	{
		lane_problem(vs, lck, seq,
					 "chain_seq %lld appears more than once: a row was inserted into the chain",
					 (long long) seq);
		return;
	}
	if (seq > lck->expect_seq)
	{
		if (seq == lck->expect_seq + 1)
			lane_problem(vs, lck, lck->expect_seq,
						 "chain_seq %lld is missing: a row was deleted",
						 (long long) lck->expect_seq);
		else
			lane_problem(vs, lck, lck->expect_seq,
						 "chain_seq %lld to %lld are missing: rows were deleted",
						 (long long) lck->expect_seq, (long long) seq - 1);
		return;
	}

	prev = ac_hash_of_bytea(values[iprev]);
	hash = ac_hash_of_bytea(values[ihash]);
	if (prev == NULL || memcmp(prev, lck->prev, AC_HASH_LEN) != 0)
	{
		lane_problem(vs, lck, seq,
					 "chain_prev of chain_seq %lld does not match the chain_hash before it: rows were replaced or reordered",
					 (long long) seq);
		return;
	}

	/* a redacted column's kept digest takes its place (redact.c) */
	if (vs->redactions != NULL &&
		(redacted = ac_redactions_kept(vs->redactions, desc, lck->lane, seq,
									   isnull, &kept)) != NULL)
	{
		lane_problem(vs, lck, seq, "%s", redacted);
		return;
	}
	ac_row_hash(desc, values, isnull, seq, DatumGetTimestampTz(values[iat]),
				prev, kept, computed);
	if (hash == NULL || memcmp(hash, computed, AC_HASH_LEN) != 0)
	{
		lane_problem(vs, lck, seq,
					 "chain_hash of chain_seq %lld does not match the row's contents: the row was changed after it was sealed",
					 (long long) seq);
		return;
	}

	/* a row a checkpoint recorded: the same row */
	while (lck->iexp < lck->nexp && lck->exp[lck->iexp].seq < seq)
		lck->iexp++;			/* incremental: verified before */
	if (lck->iexp < lck->nexp && lck->exp[lck->iexp].seq == seq)
	{
		const AcExpPoint *p = &lck->exp[lck->iexp++];

		if (memcmp(hash, p->hash, AC_HASH_LEN) != 0)
		{
			lane_problem(vs, lck, seq,
						 "chain_seq %lld differs from %s: the chain was rewritten",
						 (long long) seq, ac_cp_label(p->cp));
			return;
		}
		if (p->has_at &&
			DatumGetTimestampTz(values[iat]) + AC_UNIX_EPOCH_OFFSET_USEC != p->at_us)
		{
			lane_problem(vs, lck, seq,
						 "chain_at of chain_seq %lld differs from %s",
						 (long long) seq, ac_cp_label(p->cp));
			return;
		}
	}

	memcpy(lck->prev, hash, AC_HASH_LEN);
	lck->last_seq = seq;
	lck->expect_seq = seq + 1;
}


/*
 * note_stray
 *		Count the current row, which is in no lane of the table (NULL or
 *		unregistered chain_lane); the first one gives the problem text.
 */
static void
note_stray(VerifyState *vs, int lane)
{
	ChainCheck *cc = vs->cc;
	int			iseq = vs->desc->att_seq - 1;
	MemoryContext old;

	if (cc->stray_rows++ > 0)
		return;
	old = MemoryContextSwitchTo(vs->cxt);
	cc->stray_first_seq = vs->isnull[iseq] ? 0 : DatumGetInt64(vs->values[iseq]);
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
	appendStringInfo(sql, " FROM %s", ac_qualified_relname(RelationGetRelid(rel)));
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
 *		Deform a heap tuple of the chained table into the current row and
 *		check it.
 */
static void
check_tuple(VerifyState *vs, LaneCheck *lck, TupleDesc tupdesc, HeapTuple tuple)
{
	heap_deform_tuple(tuple, tupdesc, vs->values, vs->isnull);
	check_row(vs, lck);
}

/*
 * drain_pending
 *		Check held-back rows of a lane whose turn has come; with all, check
 *		every one left (the end of the scan: what remains follows a gap).
 */
static int64
drain_pending(VerifyState *vs, LaneCheck *lck, TupleDesc tupdesc, bool all)
{
	int64		drained = 0;

	while (lck->pending != NULL && !pairingheap_is_empty(lck->pending))
	{
		PendingRow *p = pairingheap_container(PendingRow, node,
											  pairingheap_first(lck->pending));
		MemoryContext old;

		if (!all && p->seq > lck->expect_seq)
			break;
		(void) pairingheap_remove_first(lck->pending);
		old = MemoryContextSwitchTo(vs->rowcxt);
		check_tuple(vs, lck, tupdesc, p->tuple);
		MemoryContextSwitchTo(old);
		MemoryContextReset(vs->rowcxt);
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
walk_heap(VerifyState *vs, Relation rel)
{
	ChainCheck *cc = vs->cc;
	TupleDesc	tupdesc = RelationGetDescr(rel);
	AcRowDesc  *desc = ac_rowdesc_build(tupdesc, RelationGetRelationName(rel), true);
	TableScanDesc scan;
	HeapTuple	tuple;
	MemoryContext pendcxt;
	int64		npending = 0;
	bool		ok = true;

	vs->desc = desc;
	vs->values = palloc(sizeof(Datum) * tupdesc->natts);
	vs->isnull = palloc(sizeof(bool) * tupdesc->natts);
	vs->rowcxt = AllocSetContextCreate(CurrentMemoryContext,
									   "audit_chain verify row",
									   ALLOCSET_DEFAULT_SIZES);
	pendcxt = AllocSetContextCreate(CurrentMemoryContext,
									"audit_chain verify pending",
									ALLOCSET_DEFAULT_SIZES);

	for (int l = 0; l < cc->nlanes; l++)
		cc->lanes[l].pending = pairingheap_allocate(pending_cmp, NULL);

	/* physical order from the first block: no synchronized scan */
	scan = table_beginscan_strat(rel, GetActiveSnapshot(), 0, NULL, true, false);
	while ((tuple = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		snull;
		Datum		sd;
		int			lane;
		LaneCheck  *lck;
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();

		prefetch_next_row(scan);

		/*
		 * Deform the whole row once: the chain columns come last, so reading
		 * them alone would walk every column before them anyway.
		 */
		heap_deform_tuple(tuple, tupdesc, vs->values, vs->isnull);
		lane = vs->isnull[desc->att_lane - 1] ? -1 :
			DatumGetInt16(vs->values[desc->att_lane - 1]);
		sd = vs->values[desc->att_seq - 1];
		snull = vs->isnull[desc->att_seq - 1];
		if (lane < 0 || lane >= cc->nlanes)
		{
			note_stray(vs, lane);
			continue;
		}
		lck = &cc->lanes[lane];

		if (!snull && !lck->bad && DatumGetInt64(sd) > lck->expect_seq)
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
			pairingheap_add(lck->pending, &p->node);
			continue;
		}

		old = MemoryContextSwitchTo(vs->rowcxt);
		check_row(vs, lck);
		MemoryContextSwitchTo(old);
		MemoryContextReset(vs->rowcxt);
		npending -= drain_pending(vs, lck, tupdesc, false);
	}
	table_endscan(scan);

	/* Whatever still waits comes after a gap: check it in seq order */
	for (int l = 0; ok && l < cc->nlanes; l++)
		(void) drain_pending(vs, &cc->lanes[l], tupdesc, true);

	MemoryContextDelete(vs->rowcxt);
	vs->rowcxt = NULL;
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
walk_sorted(VerifyState *vs, int only_lane, int64 after_seq)
{
	ChainCheck *cc = vs->cc;
	Relation	rel = table_open(cc->root, AccessShareLock);
	AcRowDesc  *desc;
	StringInfoData sql;
	Portal		cursor;
	TupleDesc	rootdesc = CreateTupleDescCopyConstr(RelationGetDescr(rel));
	bool		remapped = false;

	desc = ac_rowdesc_build(rootdesc, RelationGetRelationName(rel), true);
	vs->desc = desc;

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
	vs->rowcxt = AllocSetContextCreate(CurrentMemoryContext,
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
			MemoryContext old = MemoryContextSwitchTo(vs->rowcxt);
			int			natts = batch->tupdesc->natts;
			int16		lane;

			CHECK_FOR_INTERRUPTS();
			vs->values = palloc(sizeof(Datum) * natts);
			vs->isnull = palloc(sizeof(bool) * natts);
			heap_deform_tuple(batch->vals[i], batch->tupdesc, vs->values, vs->isnull);
			lane = vs->isnull[desc->att_lane - 1] ? -1 :
				DatumGetInt16(vs->values[desc->att_lane - 1]);
			if (lane < 0 || lane >= cc->nlanes)
				note_stray(vs, lane);
			else
				check_row(vs, &cc->lanes[lane]);
			MemoryContextSwitchTo(old);
			MemoryContextReset(vs->rowcxt);
		}
		SPI_freetuptable(batch);
	}
	SPI_cursor_close(cursor);
	MemoryContextDelete(vs->rowcxt);
	vs->rowcxt = NULL;
	vs->values = NULL;
	vs->isnull = NULL;
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
		ac_raise_table_problem(p);
}

/*
 * check_tails
 *		A lane that stops short of its newest checkpoint lost its tail.
 */
static void
check_tails(VerifyState *vs)
{
	ChainCheck *cc = vs->cc;

	for (int l = 0; l < cc->nlanes; l++)
	{
		LaneCheck  *lck = &cc->lanes[l];

		if (!lck->bad && lck->has_checkpoint && lck->last_seq < lck->cp_seq)
			lane_problem(vs, lck, lck->last_seq + 1,
						 "the lane ends at chain_seq %lld but %s recorded chain_seq %lld: rows were cut from the tail",
						 (long long) lck->last_seq, ac_cp_label(lck->cp),
						 (long long) lck->cp_seq);
	}
}

/*
 * walk_chain
 *		Check every row of a chained table: one sequential heap scan for an
 *		ordinary table, the sorted walk for a partitioned one (or when the
 *		heap is too far out of order).  Then compare each lane's end with its
 *		newest checkpoint.
 */
static void
walk_chain(VerifyState *vs)
{
	ChainCheck *cc = vs->cc;
	Relation	rel = table_open(cc->root, AccessShareLock);
	bool		done = false;

	check_may_verify(cc->root);

	/* an archive table may have children: detached partitions */
	if (rel->rd_rel->relkind == RELKIND_RELATION && !rel->rd_rel->relhassubclass)
	{
		ChainCheck	start = *cc;
		MemoryContext old = MemoryContextSwitchTo(vs->cxt);

		start.lanes = palloc(sizeof(LaneCheck) * Max(cc->nlanes, 1));
		memcpy(start.lanes, cc->lanes, sizeof(LaneCheck) * cc->nlanes);
		MemoryContextSwitchTo(old);

		done = walk_heap(vs, rel);
		if (!done)
			reset_chain(cc, &start);
	}
	table_close(rel, AccessShareLock);
	if (!done)
		walk_sorted(vs, -1, 0);
	check_tails(vs);
}

/*
 * resume_lane
 *		Incremental mode: move a lane's start point to where its last intact
 *		verification ended, after checking that the row there still has the
 *		hash that verification saw.  Returns false if the lane has no such
 *		verification (it is then walked in full).
 */
static bool
resume_lane(VerifyState *vs, LaneCheck *lck)
{
	Oid			root = vs->root;
	Oid			argtypes[3] = {REGCLASSOID, INT2OID, INT8OID};
	Datum		args[2];
	bool		isnull;
	int64		seq;
	int64		vid;
	const uint8 *hash;
	uint8		saved[AC_HASH_LEN];
	int			ret;

	args[0] = ObjectIdGetDatum(root);
	args[1] = Int16GetDatum(lck->lane);
	/* the log is the extension's own record: read it as its owner */
	ret = ac_execute_as_ro(ac_table_owner("verification_log", false), NULL,
						"SELECT last_seq, last_hash, verification_id "
						"FROM audit_chain.verification_log "
						"WHERE tbl OPERATOR(pg_catalog.=) $1 "
						"AND lane OPERATOR(pg_catalog.=) $2 AND intact "
						"AND last_seq IS NOT NULL "
						"ORDER BY verification_id DESC LIMIT 1",
						2, argtypes, args, NULL, true);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		return false;
	seq = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	hash = ac_hash_of_bytea(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	vid = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	if (hash == NULL || seq <= lck->last_seq)
		return false;			/* nothing to skip */
	memcpy(saved, hash, AC_HASH_LEN);

	/* the row it ended on must still be there, with the same hash */
	args[0] = Int16GetDatum(lck->lane);
	args[1] = Int64GetDatum(seq);
	ret = SPI_execute_with_args(psprintf("SELECT chain_hash FROM %s "
										 "WHERE chain_lane OPERATOR(pg_catalog.=) $1 "
										 "AND chain_seq OPERATOR(pg_catalog.=) $2",
										 ac_qualified_relname(root)),
								2, argtypes + 1, args, NULL, true, 2);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	if (SPI_processed != 1 ||
		(hash = ac_hash_of_bytea(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull))) == NULL ||
		memcmp(hash, saved, AC_HASH_LEN) != 0)
	{
		lane_problem(vs, lck, seq,
					 "chain_seq %lld is not the row verification %lld saw: the chain was changed before that point",
					 (long long) seq, (long long) vid);
		return true;
	}
	lck->last_seq = seq;
	lck->expect_seq = seq + 1;
	memcpy(lck->prev, saved, AC_HASH_LEN);
	return true;
}

/*
 * walk_incremental
 *		Check only the rows of each lane after its last intact verification;
 *		lanes never verified are walked in full.
 */
static void
walk_incremental(VerifyState *vs)
{
	ChainCheck *cc = vs->cc;

	check_may_verify(cc->root);
	for (int l = 0; l < cc->nlanes; l++)
	{
		LaneCheck  *lck = &cc->lanes[l];

		if (lck->bad)
			continue;			/* its start point is already wrong */
		(void) resume_lane(vs, lck);
		if (!lck->bad)
			walk_sorted(vs, l, lck->last_seq);
	}
	check_tails(vs);
}

/*
 * log_result
 *		Append one lane's result to audit_chain.verification_log.
 */
static void
log_result(VerifyState *vs, const LaneCheck *lck)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[10] = {REGCLASSOID, INT2OID, INT8OID, BOOLOID,
	INT8OID, TEXTOID, INT8OID, BYTEAOID, NAMEOID, BOOLOID};
	Datum		args[10];
	char		nulls[10] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	NameData	verifier;
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
	args[0] = ObjectIdGetDatum(vs->root);
	args[1] = Int16GetDatum(lck->lane);
	if (lck->no_lane)
		nulls[1] = 'n';
	args[2] = Int64GetDatum(lck->rows);
	args[3] = BoolGetDatum(!lck->bad);
	args[4] = Int64GetDatum(lck->first_bad_seq);
	if (!lck->bad || lck->first_bad_unknown || lck->first_bad_seq < 0)
		nulls[4] = 'n';
	args[5] = lck->problem ? CStringGetTextDatum(lck->problem) : (Datum) 0;
	if (lck->problem == NULL)
		nulls[5] = 'n';
	/* where an intact lane ends, for the next incremental verification */
	if (!lck->bad && !lck->no_lane)
	{
		args[6] = Int64GetDatum(lck->last_seq);
		args[7] = PointerGetDatum(ac_hash_bytea(lck->prev));
	}
	else
	{
		args[6] = (Datum) 0;
		args[7] = (Datum) 0;
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
	args[9] = BoolGetDatum(vs->incremental);
	ret = ac_execute_as(log_owner, plan, NULL, 0, NULL, args, nulls);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "unexpected SPI result: %s", SPI_result_code_string(ret));
}

/*
 * report_lane
 *		One result row of verify_chain(), for a lane (or for the rows in no
 *		lane); also appended to audit_chain.verification_log when logging.
 */
static void
report_lane(VerifyState *vs, const LaneCheck *lck)
{
	Datum		values[6];
	bool		nulls[6] = {false, false, false, false, false, false};

	values[0] = ObjectIdGetDatum(vs->root);
	values[1] = Int32GetDatum(lck->lane);
	nulls[1] = lck->no_lane;
	values[2] = Int64GetDatum(lck->rows);
	values[3] = BoolGetDatum(!lck->bad);
	values[4] = Int64GetDatum(lck->first_bad_seq);
	nulls[4] = !lck->bad || lck->first_bad_unknown;
	values[5] = lck->bad ? CStringGetTextDatum(lck->problem) : (Datum) 0;
	nulls[5] = !lck->bad;
	tuplestore_putvalues(vs->rsinfo->setResult, vs->rsinfo->setDesc,
						 values, nulls);
	if (vs->log)
		log_result(vs, lck);
}

/*
 * report_chain
 *		The result rows of a verified table: one per lane, and one with lane
 *		NULL if rows were found in no lane.
 */
static void
report_chain(VerifyState *vs)
{
	ChainCheck *cc = vs->cc;

	for (int l = 0; l < cc->nlanes; l++)
		report_lane(vs, &cc->lanes[l]);
	if (cc->stray_rows > 0)
	{
		LaneCheck	stray;

		memset(&stray, 0, sizeof(stray));
		stray.no_lane = true;
		stray.rows = cc->stray_rows;
		stray.bad = true;
		stray.first_bad_seq = cc->stray_first_seq;
		stray.problem = psprintf("%lld %s", (long long) cc->stray_rows,
								 cc->stray_problem);
		report_lane(vs, &stray);
	}
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
report_bad_table(VerifyState *vs, int nlanes, AcTableProblem *bad)
{
	char	   *problem = bad->detail ?
		psprintf("%s: %s", bad->message, bad->detail) : bad->message;

	for (int l = 0; l < Max(nlanes, 1); l++)
	{
		LaneCheck	lck;

		memset(&lck, 0, sizeof(lck));
		lck.lane = l;
		lck.bad = true;
		lck.first_bad_unknown = true;
		lck.problem = problem;
		report_lane(vs, &lck);
	}
}

/*
 * report_checkpoints
 *		The result row of the checkpoints themselves: table
 *		audit_chain.checkpoints, lane NULL, rows_checked the checkpoints
 *		checked (stored and published), first_bad_seq the checkpoint_id of
 *		the first problem.
 */
static void
report_checkpoints(VerifyState *vs)
{
	LaneCheck	lck;

	memset(&lck, 0, sizeof(lck));
	vs->root = ac_extension_relid("checkpoints");
	lck.no_lane = true;
	lck.rows = vs->cps->checked;
	lck.bad = vs->cps->bad;
	lck.first_bad_seq = vs->cps->first_bad_id;
	lck.problem = vs->cps->problem;
	report_lane(vs, &lck);
}

/*
 * verify_archive
 *		Verify the archive table of chained table live: each lane's archived
 *		segment must run from where the purge left it (purged_seq and hash,
 *		or genesis) to exactly where the live lane starts (archived_seq and
 *		hash), every row linked and hashing to its chain_hash.
 */
static void
verify_archive(VerifyState *vs, Oid archive, Oid live)
{
	int			nlanes;
	AcTableProblem *bad;
	AcLaneStart starts[AC_MAX_LANES];
	bool		numbered;
	ChainCheck *cc;

	vs->root = archive;
	vs->live = live;
	vs->cc = NULL;
	bad = ac_chained_table_problem(live, AccessShareLock, &nlanes);
	if (bad == NULL)
		bad = may_verify_problem(archive);
	if (bad != NULL)
	{
		report_bad_table(vs, nlanes, bad);
		vs->live = InvalidOid;
		return;
	}

	memset(starts, 0, sizeof(starts));
	if (ac_registry_lanes(live, InvalidSnapshot, starts, &numbered) != nlanes ||
		!numbered)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("lanes of table \"%s\" in audit_chain.chains are not numbered 0 to %d",
						get_rel_name(live), nlanes - 1)));
	cc = new_chain_check(vs, archive, nlanes);
	for (int i = 0; i < nlanes; i++)
	{
		LaneCheck  *lck = &cc->lanes[i];

		if (!starts[i].valid)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("lane %d of table \"%s\" has no valid genesis or boundary hash in audit_chain.chains",
							i, get_rel_name(live))));
		lck->lane = i;
		lck->last_seq = starts[i].purged_seq;
		lck->expect_seq = lck->last_seq + 1;
		memcpy(lck->prev, starts[i].purged_hash, AC_HASH_LEN);
		lck->has_end = true;
		lck->end_seq = starts[i].seq;
		memcpy(lck->end_hash, starts[i].hash, AC_HASH_LEN);
		/* the archived rows checkpoints recorded, checked by this walk */
		apply_checkpoints(vs, lck, &starts[i], true);
	}

	/* archived rows keep their redactions, recorded under the live table */
	vs->redactions = ac_redactions_load(live, -1, 0, GetActiveSnapshot(), vs->cxt);
	walk_chain(vs);

	for (int i = 0; i < nlanes; i++)
	{
		LaneCheck  *lck = &cc->lanes[i];

		if (lck->bad)
			continue;
		if (lck->last_seq < lck->end_seq)
			lane_problem(vs, lck, lck->last_seq + 1,
						 "the archive ends at chain_seq %lld but the live lane starts after chain_seq %lld: archived rows were deleted",
						 (long long) lck->last_seq, (long long) lck->end_seq);
		else if (lck->last_seq > lck->end_seq)
			lane_problem(vs, lck, lck->end_seq + 1,
						 "the archive holds rows after chain_seq %lld, where the live lane starts: rows were inserted into the archive",
						 (long long) lck->end_seq);
		else if (memcmp(lck->prev, lck->end_hash, AC_HASH_LEN) != 0)
			lane_problem(vs, lck, lck->end_seq,
						 "the last archived row does not have the hash the live lane starts from: the archive was rewritten");
	}
	report_chain(vs);
	vs->cc = NULL;
	vs->live = InvalidOid;
	vs->redactions = NULL;
	MemoryContextReset(vs->cxt);
}

/*
 * verify_table
 *		Verify one registered table, or an archive table, and report it: its
 *		lanes, or, if it cannot be verified at all, a failed row per lane.
 */
static void
verify_table(VerifyState *vs, Oid root)
{
	int			nlanes;
	AcTableProblem *bad;
	Oid			live = ac_archive_live_table(root);

	if (OidIsValid(live))
	{
		verify_archive(vs, root, live);
		return;
	}
	vs->root = root;
	vs->cc = NULL;
	bad = ac_chained_table_problem(root, AccessShareLock, &nlanes);
	if (bad == NULL)
		bad = may_verify_problem(root);
	if (bad != NULL)
	{
		report_bad_table(vs, nlanes, bad);
		return;
	}

	load_chain(vs, nlanes);
	vs->redactions = ac_redactions_load(root, -1, 0, GetActiveSnapshot(), vs->cxt);
	if (vs->incremental)
		walk_incremental(vs);
	else
		walk_chain(vs);
	report_chain(vs);
	vs->cc = NULL;
	vs->redactions = NULL;
	MemoryContextReset(vs->cxt);
}

/*
 * unregistered_tables
 *		Tables that carry the seal trigger of audit_chain (their own, not a
 *		partition's clone of its parent's) but are not among roots, the
 *		registered ones: a restore that made the tables and their triggers
 *		but did not load audit_chain.chains (pg_restore --schema-only, or a
 *		restore whose errors were ignored), or registry rows deleted.
 *		Reported rather than skipped, so such a database never verifies as
 *		if it were whole.  Must be called inside SPI.
 */
static List *
unregistered_tables(List *roots)
{
	List	   *result = NIL;
	int			ret;

	ret = SPI_execute("SELECT t.tgrelid FROM pg_catalog.pg_trigger t"
					  " WHERE t.tgname OPERATOR(pg_catalog.=) 'zz_audit_chain_seal'"
					  " AND t.tgparentid OPERATOR(pg_catalog.=) 0"
					  " AND t.tgfoid OPERATOR(pg_catalog.=) 'audit_chain.seal_row()'::pg_catalog.regprocedure"
					  " ORDER BY 1",
					  true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Oid			relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
														   SPI_tuptable->tupdesc, 1,
														   &isnull));

		if (!list_member_oid(roots, relid))
			result = lappend_oid(result, relid);
	}
	return result;
}

/*
 * report_unregistered
 *		The failed row of a table unregistered_tables() found.
 */
static void
report_unregistered(VerifyState *vs, Oid relid)
{
	AcTableProblem bad;

	memset(&bad, 0, sizeof(bad));
	bad.sqlerrcode = ERRCODE_DATA_CORRUPTED;
	bad.message = psprintf("table \"%s\" has the seal trigger of audit_chain but no lane in audit_chain.chains",
						   get_rel_name(relid));
	bad.detail = "its chains cannot be verified: a restore that did not load audit_chain.chains (pg_restore --schema-only, or a restore whose errors were ignored), or registry rows deleted";
	vs->root = relid;
	vs->cc = NULL;
	report_bad_table(vs, 1, &bad);
}

/*
 * tables_to_verify
 *		The tables verify_chain() was asked for.  Must be called inside SPI.
 *
 * One table: it must be a chained table that the caller may read in full,
 * or the call fails.  Every table: each registered one is checked by
 * verify_table(), and one that is not a readable chained table (dropped,
 * with chain columns of the wrong type, not readable by the caller or under
 * row-level security, ...) gets a failed row per lane instead of stopping
 * the verification of the others: the owner of one table must not be able
 * to stop the verification of every table.
 */
static List *
tables_to_verify(FunctionCallInfo fcinfo)
{
	Oid			root;

	if (PG_ARGISNULL(0))
	{
		List	   *roots = ac_registry_tables();
		int			ret;

		/* and every archive table, after the tables */
		ret = ac_execute_as_ro(ac_table_owner("archives", false), NULL,
							"SELECT archive FROM audit_chain.archives ORDER BY tbl",
							0, NULL, NULL, NULL, true);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			Oid			a = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
														   SPI_tuptable->tupdesc, 1,
														   &isnull));

			roots = lappend_oid(roots, a);
		}
		return roots;
	}
	root = PG_GETARG_OID(0);
	if (OidIsValid(ac_archive_live_table(root)))
	{
		/*
		 * An old partition that archive() detached holds part of the
		 * archived segment: its archive table is verified, whole (on its
		 * own the partition would look like a segment with rows deleted)
		 */
		root = ac_archive_root_of(root);
		check_may_verify(root);
		return list_make1_oid(root);
	}
	(void) ac_check_chained_table(root, AccessShareLock);
	check_may_verify(root);
	return list_make1_oid(root);
}

/*
 * verify_chain(tbl regclass DEFAULT NULL, incremental boolean DEFAULT false,
 *				published json DEFAULT NULL, trusted_key text DEFAULT NULL)
 *		RETURNS TABLE (tbl regclass, lane int, rows_checked bigint,
 *					   intact boolean, first_bad_seq bigint, problem text)
 *
 * tbl: the chained table to verify, or NULL for every chained table.
 * incremental: check each lane only after the point where its last intact
 * verification ended (rows_checked then counts the new rows only).
 * published: documents export_checkpoint() returned (one, or a JSON array),
 * kept outside the database; trusted_key: the PEM public key they must be
 * signed with.
 * One row per lane; one more row, with lane NULL, if the table holds rows
 * that are in no lane at all; and one for the checkpoints themselves
 * (audit_chain.checkpoints, lane NULL: see report_checkpoints).
 */
PG_FUNCTION_INFO_V1(audit_chain_verify_chain);
Datum
audit_chain_verify_chain(PG_FUNCTION_ARGS)
{
	VerifyState vs;
	List	   *roots;
	ListCell   *lc;
	int			nestlevel;
	bool		has_published;
	char	   *trusted_key = NULL;
	MemoryContext cpcxt;
	MemoryContext old;

	memset(&vs, 0, sizeof(vs));
	vs.log = !RecoveryInProgress() && !XactReadOnly;
	vs.incremental = PG_NARGS() > 1 && !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);

	InitMaterializedSRF(fcinfo, 0);
	vs.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	vs.cxt = AllocSetContextCreate(CurrentMemoryContext, "audit_chain verify",
								   ALLOCSET_DEFAULT_SIZES);
	/* outside SPI's procedure context, which SPI_finish() deletes */
	cpcxt = AllocSetContextCreate(CurrentMemoryContext, "audit_chain checkpoints",
								  ALLOCSET_DEFAULT_SIZES);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	roots = tables_to_verify(fcinfo);

	/* every checkpoint, stored and published, once for all the tables */
	has_published = PG_NARGS() > 2 && !PG_ARGISNULL(2);
	if (PG_NARGS() > 3 && !PG_ARGISNULL(3))
		trusted_key = text_to_cstring(PG_GETARG_TEXT_PP(3));
	if (trusted_key != NULL && !has_published)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a trusted key needs published checkpoints to check"),
				 errhint("Pass the documents export_checkpoint() returned as published.")));
	old = MemoryContextSwitchTo(cpcxt);
	vs.cps = ac_check_checkpoints(has_published,
								  has_published ? PG_GETARG_DATUM(2) : (Datum) 0,
								  trusted_key);
	MemoryContextSwitchTo(old);

	/*
	 * ac_row_input switches to the canonical settings itself when a row
	 * needs them; switching once for the whole run here saves doing it row
	 * by row (it then finds them in force and does nothing).
	 */
	nestlevel = ac_enter_canonical_settings();
	foreach(lc, roots)
		verify_table(&vs, lfirst_oid(lc));
	ac_leave_canonical_settings(nestlevel);
	if (PG_ARGISNULL(0))
	{
		List	   *unregistered = unregistered_tables(roots);

		foreach(lc, unregistered)
			report_unregistered(&vs, lfirst_oid(lc));
	}

	/*
	 * The checkpoints' own row: when every table was verified and there are
	 * checkpoints, when published ones were given, or when one is wrong.
	 */
	if (vs.cps->bad || has_published || (PG_ARGISNULL(0) && vs.cps->any))
		report_checkpoints(&vs);

	SPI_finish();
	MemoryContextDelete(vs.cxt);
	MemoryContextDelete(cpcxt);
	return (Datum) 0;
}
