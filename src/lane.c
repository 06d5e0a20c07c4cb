/*-------------------------------------------------------------------------
 *
 * lane.c
 *	  Lane locks and lane heads of chained tables.
 *
 * A writer takes a lane lock (a transaction-level advisory lock keyed by
 * table and lane, the same lock as pg_advisory_xact_lock(table oid, lane))
 * and keeps that lane for the rest of its transaction.  Having the lock, it
 * reads the lane head with SnapshotSelf: that sees every committed row, since
 * the previous holder released the lock only after its commit was visible,
 * plus our own rows, including those of the current command, and nothing of
 * aborted subtransactions.  SnapshotSelf is not an MVCC snapshot, so the read
 * takes no SSI predicate locks and does not depend on the isolation level.
 *
 * The head is then cached for the rest of the transaction, so a multi-row
 * INSERT or COPY reads it once.  A subtransaction abort invalidates the
 * cache (and forgets the lane entirely if the aborted subtransaction took
 * the lock, because then the lock is gone too).
 *
 * Before commit, complete.c checks that every seq this transaction sealed
 * is in the table: it reads the lanes held with ac_lane_held() and
 * ac_lane_sealed(), and counts their rows with ac_lane_count_rows().
 *
 * _PG_init (audit_chain.c) registers the relcache callback below, and its
 * transaction callbacks call ac_lane_at_eoxact and ac_lane_at_eosubxact.
 *
 * IDENTIFICATION
 *	  src/lane.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "chaintable.h"
#include "lane.h"

/*
 * Lanes held by the current transaction, keyed by table.  The table lives as
 * long as the backend and is emptied at the end of every transaction, so a
 * one-insert transaction does not build a hash table of its own.
 */
static HTAB *held_lanes = NULL;

/*
 * Last committed head of each lane this backend wrote, kept across
 * transactions.  After taking a lane lock, only rows after it need reading.
 */
typedef struct KnownHeadKey
{
	Oid			root;
	int32		lane;			/* int32: no padding in a hashed key */
} KnownHeadKey;

typedef struct KnownHead
{
	KnownHeadKey key;
	int64		seq;
	uint8		hash[AC_HASH_LEN];
} KnownHead;

static HTAB *known_heads = NULL;

/* The chain index of each leaf table, cached until relcache invalidation */
typedef struct LeafIndex
{
	Oid			relid;			/* hash key */
	Oid			indexoid;		/* InvalidOid if the table has none */
	AttrNumber	att_lane;
	AttrNumber	att_seq;
	AttrNumber	att_hash;
} LeafIndex;

static HTAB *leaf_indexes = NULL;

/*
 * ac_lane_init
 *		Make the backend's tables of held lanes, known heads and chain
 *		indexes; called from _PG_init, before it registers the callbacks
 *		that use them.
 */
void
ac_lane_init(void)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(LaneState);
	ctl.hcxt = TopMemoryContext;
	held_lanes = hash_create("audit_chain held lanes", 8, &ctl,
							 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	ctl.keysize = sizeof(KnownHeadKey);
	ctl.entrysize = sizeof(KnownHead);
	known_heads = hash_create("audit_chain known heads", 32, &ctl,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(LeafIndex);
	leaf_indexes = hash_create("audit_chain leaf indexes", 32, &ctl,
							   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/*
 * ac_lane_relcache_callback
 *		Forget cached chain indexes and known heads of a relation that changed
 *		(or of every relation, for a full invalidation).  Known heads are only
 *		a shortcut, so dropping them is always safe.
 */
void
ac_lane_relcache_callback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	LeafIndex  *li;
	KnownHead  *kh;

	hash_seq_init(&status, leaf_indexes);
	while ((li = hash_seq_search(&status)) != NULL)
	{
		if (relid == InvalidOid || li->relid == relid || li->indexoid == relid)
			(void) hash_search(leaf_indexes, &li->relid, HASH_REMOVE, NULL);
	}
	hash_seq_init(&status, known_heads);
	while ((kh = hash_seq_search(&status)) != NULL)
	{
		if (relid == InvalidOid || kh->key.root == relid)
			(void) hash_search(known_heads, &kh->key, HASH_REMOVE, NULL);
	}
}

/*
 * The last field of a lane lock's tag (pg_locks.objsubid).  SQL's advisory
 * lock functions, which PUBLIC may call, make only 1 (one bigint key) and 2
 * (two integer keys): with 2 here, any role could hold every lane of
 * audit_chain.events with pg_advisory_lock(table oid, lane) and stall every
 * writer until it disconnected.  No SQL function makes this value.
 */
#define AC_LANE_LOCK_FIELD4		0x4143	/* "AC" */

/*
 * lane_locktag
 *		The lock of one lane: an advisory lock tag with the database, the
 *		table oid and the lane, which pg_locks shows (locktype advisory,
 *		classid table oid, objid lane, objsubid AC_LANE_LOCK_FIELD4) but
 *		which no SQL function can take.
 */
static void
lane_locktag(LOCKTAG *tag, Oid root, int16 lane)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, (uint32) root, (uint32) lane,
						 AC_LANE_LOCK_FIELD4);
}

/*
 * open_lane_leaf
 *		Open one leaf table of a chained table and find its chain index and
 *		chain columns (li->indexoid is InvalidOid if it has no chain index).
 *		The caller closes the table.
 */
static Relation
open_lane_leaf(Oid leaf, LeafIndex *li)
{
	Relation	rel = table_open(leaf, AccessShareLock);
	LeafIndex  *cached;

	/*
	 * Look the index up before entering it in the cache: opening indexes can
	 * process invalidations, which remove cache entries.
	 */
	cached = hash_search(leaf_indexes, &leaf, HASH_FIND, NULL);
	if (cached != NULL)
		*li = *cached;
	else
	{
		/*
		 * The chain columns are read as int2, int8 and bytea: check their
		 * types once per leaf (until its relcache entry changes), as the
		 * seal trigger may have been put on any table.
		 */
		ac_check_chain_columns(rel);
		li->relid = leaf;
		li->indexoid = ac_chain_index(rel, &li->att_lane, &li->att_seq,
									  &li->att_hash, true);
		cached = hash_search(leaf_indexes, &leaf, HASH_ENTER, NULL);
		*cached = *li;
	}
	return rel;
}

/*
 * begin_lane_scan
 *		A scan of the chain index irel of rel, with SnapshotSelf, over the
 *		rows of one lane with seq > after_seq, in seq order.
 */
static IndexScanDesc
begin_lane_scan(Relation rel, Relation irel, int16 lane, int64 after_seq)
{
	IndexScanDesc scan;
	ScanKeyData keys[2];

	ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_INT2EQ,
				Int16GetDatum(lane));
	ScanKeyInit(&keys[1], 2, BTGreaterStrategyNumber, F_INT8GT,
				Int64GetDatum(after_seq));
	scan = index_beginscan(rel, irel, SnapshotSelf, 2, 0);
	index_rescan(scan, keys, 2, NULL, 0);
	return scan;
}

/*
 * read_leaf_head
 *		The row with the highest seq above after_seq in one lane of one leaf
 *		table, read with SnapshotSelf: returns true with *seq and hash set
 *		(and *at, its chain_at, if at is not NULL), or false if this leaf has
 *		none.
 *
 * On the chain index this is a backward scan, which stops at after_seq, so
 * a known head makes it cheap.
 */
static bool
read_leaf_head(Oid leaf, int16 lane, int64 after_seq, int64 *seq,
			   uint8 *hash, TimestampTz *at)
{
	LeafIndex	li;
	Relation	rel = open_lane_leaf(leaf, &li);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	bool		found = false;
	bool		isnull;
	Datum		d;
	const uint8 *h;

	if (OidIsValid(li.indexoid))
	{
		Relation	irel = index_open(li.indexoid, AccessShareLock);
		IndexScanDesc scan = begin_lane_scan(rel, irel, lane, after_seq);

		if (index_getnext_slot(scan, BackwardScanDirection, slot))
		{
			d = slot_getattr(slot, li.att_seq, &isnull);
			*seq = isnull ? 0 : DatumGetInt64(d);
			found = true;
		}
		index_endscan(scan);
		index_close(irel, AccessShareLock);
	}
	else
	{
		/*
		 * Only when someone dropped the chain index (a superuser with event
		 * triggers off): scan the heap, keep the highest seq, and leave the
		 * slot holding that row.
		 */
		TableScanDesc scan = table_beginscan(rel, SnapshotSelf, 0, NULL);
		TupleTableSlot *cur = table_slot_create(rel, NULL);
		int64		best = 0;

		while (table_scan_getnextslot(scan, ForwardScanDirection, cur))
		{
			int64		s;

			d = slot_getattr(cur, li.att_lane, &isnull);
			if (isnull || DatumGetInt16(d) != lane)
				continue;
			d = slot_getattr(cur, li.att_seq, &isnull);
			if (isnull)
				continue;
			s = DatumGetInt64(d);
			if (s <= after_seq)
				continue;
			if (!found || s > best)
			{
				best = s;
				ExecCopySlot(slot, cur);
				found = true;
			}
		}
		table_endscan(scan);
		ExecDropSingleTupleTableSlot(cur);
		if (found)
			*seq = best;
	}

	if (found)
	{
		d = slot_getattr(slot, li.att_hash, &isnull);
		h = isnull ? NULL : ac_hash_of_bytea(d);
		if (h == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("head of lane %d of chained table \"%s\" has no valid chain_hash",
							lane, RelationGetRelationName(rel)),
					 errhint("Run audit_chain.verify_chain() on the table.")));
		memcpy(hash, h, AC_HASH_LEN);
		if (at != NULL)
		{
			AttrNumber	att_at = get_attnum(leaf, AC_COL_AT);

			d = att_at == InvalidAttrNumber ? (Datum) 0 :
				slot_getattr(slot, att_at, &isnull);
			if (att_at == InvalidAttrNumber || isnull)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("head of lane %d of chained table \"%s\" has no chain_at",
								lane, RelationGetRelationName(rel)),
						 errhint("Run audit_chain.verify_chain() on the table.")));
			*at = DatumGetTimestampTz(d);
		}
	}

	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * count_leaf_rows
 *		The number of rows with seq > after_seq in one lane of one leaf
 *		table, read with SnapshotSelf on the chain index, which the leaf must
 *		have.
 */
static int64
count_leaf_rows(Oid leaf, int16 lane, int64 after_seq)
{
	LeafIndex	li;
	Relation	rel = open_lane_leaf(leaf, &li);
	TupleTableSlot *slot;
	Relation	irel;
	IndexScanDesc scan;
	int64		count = 0;

	if (!OidIsValid(li.indexoid))
		li.indexoid = ac_chain_index(rel, &li.att_lane, &li.att_seq,
									 &li.att_hash, false);
	slot = table_slot_create(rel, NULL);
	irel = index_open(li.indexoid, AccessShareLock);
	scan = begin_lane_scan(rel, irel, lane, after_seq);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
		count++;
	index_endscan(scan);
	index_close(irel, AccessShareLock);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, AccessShareLock);
	return count;
}

/*
 * ac_lane_boundary
 *		Where a lane starts when it has no live rows: the archived-through
 *		boundary if rows were archived, else (0, genesis).
 *
 * Read with a fresh snapshot, so that it is right under REPEATABLE READ too,
 * and by a direct scan of the registry: the seal trigger runs as the
 * inserting role, who need not be able to read audit_chain.chains.
 */
void
ac_lane_boundary(Oid root, int16 lane, int64 *seq, uint8 *hash)
{
	AcLaneStart starts[AC_MAX_LANES];
	bool		numbered;
	int			nlanes;

	memset(starts, 0, sizeof(starts));
	nlanes = ac_registry_lanes(root, GetLatestSnapshot(), starts, &numbered);
	if (lane < 0 || lane >= nlanes || !numbered)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("lane %d of table \"%s\" is not registered in audit_chain.chains",
						lane, get_rel_name(root) ? get_rel_name(root) : "?"),
				 errhint("Protect the table with audit_chain.protect().")));
	if (!starts[lane].valid)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("lane %d of table \"%s\" has no valid genesis or boundary hash",
						lane, get_rel_name(root))));
	*seq = starts[lane].seq;
	memcpy(hash, starts[lane].hash, AC_HASH_LEN);
}

/*
 * ac_lane_read_head
 *		The committed-or-own head of a lane: highest seq over every leaf.
 *		Returns false, with seq and hash untouched, if the lane has no rows
 *		with seq > after_seq.
 */
bool
ac_lane_read_head(Oid root, int16 lane, int64 after_seq, int64 *seq,
				  uint8 *hash)
{
	return ac_lane_read_head_at(root, lane, after_seq, seq, hash, NULL);
}

/*
 * ac_lane_read_head_at
 *		ac_lane_read_head, and also the head's chain_at into *at if at is
 *		not NULL (checkpoint() signs it).
 */
bool
ac_lane_read_head_at(Oid root, int16 lane, int64 after_seq, int64 *seq,
					 uint8 *hash, TimestampTz *at)
{
	List	   *leaves = ac_chain_leaves(root);
	ListCell   *lc;
	bool		found = false;

	foreach(lc, leaves)
	{
		int64		s;
		uint8		h[AC_HASH_LEN];
		TimestampTz t = 0;

		if (read_leaf_head(lfirst_oid(lc), lane, after_seq, &s, h,
						   at != NULL ? &t : NULL) &&
			(!found || s > *seq))
		{
			*seq = s;
			memcpy(hash, h, AC_HASH_LEN);
			if (at != NULL)
				*at = t;
			found = true;
		}
	}
	list_free(leaves);
	return found;
}

/*
 * load_head
 *		Fill state's head from the table, or from the lane's boundary.
 */
static void
load_head(LaneState *state)
{
	KnownHeadKey key;
	KnownHead  *known;

	memset(&key, 0, sizeof(key));
	key.root = state->root;
	key.lane = state->lane;
	known = hash_search(known_heads, &key, HASH_FIND, NULL);

	if (ac_lane_read_head(state->root, state->lane, known ? known->seq : 0,
						  &state->head_seq, state->head_hash))
		;						/* rows after the known head, or no known head */
	else if (known != NULL)
	{
		state->head_seq = known->seq;
		memcpy(state->head_hash, known->hash, AC_HASH_LEN);
	}
	else
		ac_lane_boundary(state->root, state->lane,
						 &state->head_seq, state->head_hash);
	state->head_valid = true;
}

/*
 * remember_heads
 *		After commit, the heads of the lanes this transaction held are
 *		committed rows: remember them for the next transaction.
 */
static void
remember_heads(void)
{
	HASH_SEQ_STATUS status;
	LaneState  *state;

	hash_seq_init(&status, held_lanes);
	while ((state = hash_seq_search(&status)) != NULL)
	{
		KnownHeadKey key;
		KnownHead  *known;

		if (!state->head_valid)
			continue;
		memset(&key, 0, sizeof(key));
		key.root = state->root;
		key.lane = state->lane;
		known = hash_search(known_heads, &key, HASH_ENTER, NULL);
		known->seq = state->head_seq;
		memcpy(known->hash, state->head_hash, AC_HASH_LEN);
	}
}

/*
 * ac_lane_acquire
 *		The lane this transaction writes to on table root, locked, with its
 *		head loaded.
 *
 * If the transaction already holds a lane of the table it keeps it.  Else it
 * tries every lane without waiting, starting from one that depends on the
 * backend so that backends spread out, and takes the first free one; if all
 * are busy it waits for its starting lane.  forced_lane >= 0 asks for that
 * lane only (used to seal pre-existing rows into lane 0).
 */
LaneState *
ac_lane_acquire(Oid root, int lanes, int forced_lane)
{
	LaneState  *state;
	LOCKTAG		tag;
	int			start;
	int			lane = -1;

	state = hash_search(held_lanes, &root, HASH_FIND, NULL);
	if (state != NULL)
	{
		if (!state->head_valid)
			load_head(state);
		return state;
	}

	if (lanes < 1 || lanes > AC_MAX_LANES)
		elog(ERROR, "invalid lane count %d for table %u", lanes, root);

	/*
	 * Take the lock before making the entry: the wait can fail (cancel,
	 * lock_timeout, deadlock), and an entry for a lane we do not hold would
	 * let the next insert write without the lock.
	 */
	if (forced_lane >= 0)
		start = forced_lane;
	else
	{
		start = MyProcPid % lanes;
		for (int i = 0; i < lanes; i++)
		{
			int			l = (start + i) % lanes;

			lane_locktag(&tag, root, l);
			if (LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL)
			{
				lane = l;
				break;
			}
		}
	}
	if (lane < 0)
	{
		lane = start;
		lane_locktag(&tag, root, lane);
		(void) LockAcquire(&tag, ExclusiveLock, false, false);
	}

	state = hash_search(held_lanes, &root, HASH_ENTER, NULL);
	state->lane = lane;
	state->lock_subid = GetCurrentSubTransactionId();
	state->head_valid = false;
	state->base_seq = 0;
	load_head(state);
	state->base_seq = state->head_seq;
	return state;
}

/*
 * ac_lane_forget
 *		Rows were written into a chain's lanes without sealing (a superuser's
 *		restore): reread heads from the table next time.
 */
void
ac_lane_forget(Oid root)
{
	HASH_SEQ_STATUS status;
	KnownHead  *kh;

	{
		LaneState  *state = hash_search(held_lanes, &root, HASH_FIND, NULL);

		if (state != NULL)
			state->head_valid = false;
	}
	hash_seq_init(&status, known_heads);
	while ((kh = hash_seq_search(&status)) != NULL)
	{
		if (kh->key.root == root)
			(void) hash_search(known_heads, &kh->key, HASH_REMOVE, NULL);
	}
}

/*
 * ac_lane_advance
 *		Record a newly sealed row as the head of the lane.
 */
void
ac_lane_advance(LaneState *state, int64 seq, const uint8 *hash)
{
	state->head_seq = seq;
	memcpy(state->head_hash, hash, AC_HASH_LEN);
}

/*
 * ac_lane_count_rows
 *		The number of rows with seq > after_seq in one lane, over every leaf
 *		of the chained table, read with SnapshotSelf: committed rows and
 *		this transaction's own.  Every leaf must have its chain index.
 */
int64
ac_lane_count_rows(Oid root, int16 lane, int64 after_seq)
{
	List	   *leaves = ac_chain_leaves(root);
	ListCell   *lc;
	int64		count = 0;

	foreach(lc, leaves)
		count += count_leaf_rows(lfirst_oid(lc), lane, after_seq);
	list_free(leaves);
	return count;
}

/*
 * ac_lane_held
 *		The lanes the current transaction holds, as a list of LaneState
 *		pointers, which stay valid until the transaction ends (or a
 *		subtransaction that took one of the locks aborts).
 */
List *
ac_lane_held(void)
{
	HASH_SEQ_STATUS status;
	LaneState  *state;
	List	   *result = NIL;

	hash_seq_init(&status, held_lanes);
	while ((state = hash_seq_search(&status)) != NULL)
		result = lappend(result, state);
	return result;
}

/*
 * ac_lane_sealed
 *		How many seqs this transaction has sealed into a lane it holds: its
 *		head now, less its head when the lock was taken.  The head is read
 *		again if a subtransaction abort left it stale.
 */
int64
ac_lane_sealed(LaneState *state)
{
	if (!state->head_valid)
		load_head(state);
	return state->head_seq - state->base_seq;
}

/*
 * ac_lane_at_eoxact
 *		The transaction ended, and its lane locks with it: after a commit,
 *		remember the heads of the lanes it held (committed rows now), then
 *		forget the lanes.
 */
void
ac_lane_at_eoxact(bool is_commit)
{
	HASH_SEQ_STATUS status;
	LaneState  *state;

	if (hash_get_num_entries(held_lanes) == 0)
		return;
	if (is_commit)
		remember_heads();
	hash_seq_init(&status, held_lanes);
	while ((state = hash_seq_search(&status)) != NULL)
		(void) hash_search(held_lanes, &state->root, HASH_REMOVE, NULL);
}

/*
 * ac_lane_at_eosubxact
 *		Keep held lanes in step with the end of a subtransaction.
 *
 * On abort, the rows the subtransaction sealed are gone, so the cached head
 * is stale; if the subtransaction took the lock, the lock is gone as well
 * and the lane is forgotten.  On commit, a lock taken by the subtransaction
 * now belongs to its parent.
 */
void
ac_lane_at_eosubxact(bool is_commit, SubTransactionId mySubid,
					 SubTransactionId parentSubid)
{
	HASH_SEQ_STATUS status;
	LaneState  *state;

	if (hash_get_num_entries(held_lanes) == 0)
		return;

	hash_seq_init(&status, held_lanes);
	while ((state = hash_seq_search(&status)) != NULL)
	{
		if (is_commit)
		{
			if (state->lock_subid == mySubid)
				state->lock_subid = parentSubid;
		}
		else if (state->lock_subid == mySubid)
			(void) hash_search(held_lanes, &state->root, HASH_REMOVE, NULL);
		else
			state->head_valid = false;
	}
}
