/*-------------------------------------------------------------------------
 *
 * chaintable.c
 *	  Finding and checking chained tables.
 *
 * Every C function that takes a regclass and reads a chained table checks
 * it here first, before it reads a tuple: the relation exists, it is an
 * ordinary or partitioned table (not a view, sequence, index, ...), it is not
 * a temporary table, its lanes are registered in audit_chain.chains and
 * numbered 0 to n-1, and the five chain columns have exactly the types that
 * protect() gives them, on the table and on every leaf partition.  The code
 * that reads rows takes the chain columns' types for granted (a chain_hash
 * that is not a bytea would be read as a pointer), so a relation that fails
 * these checks never gets that far.
 *
 * The registry is read here by a direct scan, not through SQL: the seal
 * trigger runs as the inserting role, verify_chain as the auditor, the DDL
 * guard as whoever runs the DDL, and none needs (or gets) SELECT on
 * audit_chain.chains.
 *
 * Also here, what holds for every chained table: where a partition's rows
 * are chained (ac_chain_root, ac_partition_ancestor), its leaves, the
 * triggers the extension puts on it, and the one rule about other triggers:
 * no BEFORE ROW trigger may fire after the seal trigger
 * (ac_trigger_fires_after_seal), which protect(), the DDL guard and the seal
 * trigger all apply.
 *
 * IDENTIFICATION
 *	  src/chaintable.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/partition.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "chaintable.h"
#include "lane.h"
#include "registry.h"
#include "relname.h"

/* The chain columns and the types protect() gives them */
static const struct
{
	const char *name;
	Oid			type;
}			chain_columns[] =
{
	{AC_COL_LANE, INT2OID},
	{AC_COL_SEQ, INT8OID},
	{AC_COL_AT, TIMESTAMPTZOID},
	{AC_COL_PREV, BYTEAOID},
	{AC_COL_HASH, BYTEAOID},
};

/* Attribute numbers of the columns of audit_chain.chains read here */
typedef struct RegistryColumns
{
	AttrNumber	tbl;
	AttrNumber	lane;
	AttrNumber	genesis;
	AttrNumber	archived_seq;
	AttrNumber	archived_hash;
	AttrNumber	purged_seq;
	AttrNumber	purged_hash;
	AttrNumber	replica_of;
} RegistryColumns;

/*
 * open_registry
 *		Open audit_chain.chains, and find the attribute numbers of the
 *		columns read here.  If it does not exist (while the extension is
 *		being created or dropped): NULL if missing_ok, else an error.
 */
static Relation
open_registry(RegistryColumns *cols, bool missing_ok)
{
	Oid			relid = ac_extension_relid("chains");

	if (!OidIsValid(relid))
	{
		if (missing_ok)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"audit_chain.chains\" does not exist"),
				 errhint("Install the extension with CREATE EXTENSION audit_chain.")));
	}
	cols->tbl = get_attnum(relid, "tbl");
	cols->lane = get_attnum(relid, "lane");
	cols->genesis = get_attnum(relid, "genesis");
	cols->archived_seq = get_attnum(relid, "archived_seq");
	cols->archived_hash = get_attnum(relid, "archived_hash");
	cols->purged_seq = get_attnum(relid, "purged_seq");
	cols->purged_hash = get_attnum(relid, "purged_hash");
	cols->replica_of = get_attnum(relid, "replica_of");
	if (cols->tbl == InvalidAttrNumber || cols->lane == InvalidAttrNumber ||
		cols->genesis == InvalidAttrNumber ||
		cols->archived_seq == InvalidAttrNumber ||
		cols->archived_hash == InvalidAttrNumber ||
		cols->purged_seq == InvalidAttrNumber ||
		cols->purged_hash == InvalidAttrNumber ||
		cols->replica_of == InvalidAttrNumber)
		elog(ERROR, "audit_chain.chains lacks one of its columns");
	return table_open(relid, AccessShareLock);
}

/*
 * register_registry_snapshot
 *		Register the snapshot to read the registry with: snapshot, or the
 *		active or transaction snapshot if InvalidSnapshot.  The caller
 *		unregisters it.
 */
static Snapshot
register_registry_snapshot(Snapshot snapshot)
{
	if (snapshot == InvalidSnapshot)
		snapshot = ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot();
	return RegisterSnapshot(snapshot);
}

/*
 * ac_registry_lanes
 *		The number of lanes registered for table root in audit_chain.chains,
 *		read with snapshot (the active or transaction snapshot if
 *		InvalidSnapshot), without any privilege on the registry.
 *
 * With starts (an array of AC_MAX_LANES), also where each lane starts.
 * *numbered tells whether the lanes are numbered 0 to n-1.
 */
int
ac_registry_lanes(Oid root, Snapshot snapshot, AcLaneStart *starts,
				  bool *numbered)
{
	RegistryColumns cols;
	Relation	reg = open_registry(&cols, false);
	TupleDesc	tupdesc = RelationGetDescr(reg);
	bool		seen[AC_MAX_LANES];
	int			nrows = 0;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;

	memset(seen, 0, sizeof(seen));
	*numbered = true;
	snapshot = register_registry_snapshot(snapshot);

	ScanKeyInit(&key, cols.tbl, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(root));
	scan = systable_beginscan(reg, RelationGetPrimaryKeyIndex(reg), true,
							  snapshot, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		int16		lane = DatumGetInt16(heap_getattr(tup, cols.lane, tupdesc, &isnull));
		Datum		d;
		const uint8 *h;
		const uint8 *g;

		nrows++;
		if (isnull || lane < 0 || lane >= AC_MAX_LANES || seen[lane])
		{
			*numbered = false;
			continue;
		}
		seen[lane] = true;
		if (starts == NULL)
			continue;

		d = heap_getattr(tup, cols.genesis, tupdesc, &isnull);
		g = isnull ? NULL : ac_hash_of_bytea(d);
		starts[lane].valid = g != NULL;
		if (g == NULL)
			continue;
		memcpy(starts[lane].genesis, g, AC_HASH_LEN);

		d = heap_getattr(tup, cols.archived_seq, tupdesc, &isnull);
		starts[lane].seq = isnull ? 0 : DatumGetInt64(d);
		d = heap_getattr(tup, cols.archived_hash, tupdesc, &isnull);
		h = isnull ? g : ac_hash_of_bytea(d);
		starts[lane].archived_hash_set = !isnull;
		if (h == NULL)
			starts[lane].valid = false;
		else
			memcpy(starts[lane].hash, h, AC_HASH_LEN);

		d = heap_getattr(tup, cols.purged_seq, tupdesc, &isnull);
		starts[lane].purged_seq = isnull ? 0 : DatumGetInt64(d);
		d = heap_getattr(tup, cols.purged_hash, tupdesc, &isnull);
		h = isnull ? g : ac_hash_of_bytea(d);
		starts[lane].purged_hash_set = !isnull;
		if (h == NULL)
			starts[lane].valid = false;
		else
			memcpy(starts[lane].purged_hash, h, AC_HASH_LEN);

		starts[lane].replica = !heap_attisnull(tup, cols.replica_of, tupdesc);
	}
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(reg, AccessShareLock);

	for (int l = 0; l < nrows && *numbered; l++)
	{
		if (l >= AC_MAX_LANES || !seen[l])
			*numbered = false;
	}
	return nrows;
}

/*
 * ac_registry_is_replica
 *		Whether table root is registered as the replica copy of a
 *		publisher's chained table (audit_chain.protect_replica(): its rows
 *		arrive by logical replication, sealed on the publisher), read with
 *		snapshot (the active or transaction snapshot if InvalidSnapshot)
 *		without any privilege on the registry.
 */
bool
ac_registry_is_replica(Oid root, Snapshot snapshot)
{
	RegistryColumns cols;
	Relation	reg = open_registry(&cols, false);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		result = false;

	snapshot = register_registry_snapshot(snapshot);
	ScanKeyInit(&key, cols.tbl, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(root));
	scan = systable_beginscan(reg, RelationGetPrimaryKeyIndex(reg), true,
							  snapshot, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		if (!heap_attisnull(tup, cols.replica_of, RelationGetDescr(reg)))
			result = true;
	}
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(reg, AccessShareLock);
	return result;
}

/*
 * ac_registry_tables_as_of
 *		Every table registered in audit_chain.chains, dropped ones included,
 *		each once, in the registry's storage order, read with snapshot (the
 *		active or transaction snapshot if InvalidSnapshot) by a plain heap
 *		scan: no SQL, so no privilege on the registry is needed and no
 *		search_path is involved.  NIL if the registry does not exist and
 *		missing_ok.  The list is made in CurrentMemoryContext.
 */
List *
ac_registry_tables_as_of(Snapshot snapshot, bool missing_ok)
{
	RegistryColumns cols;
	Relation	reg = open_registry(&cols, missing_ok);
	SysScanDesc scan;
	HeapTuple	tup;
	List	   *result = NIL;

	if (reg == NULL)
		return NIL;
	snapshot = register_registry_snapshot(snapshot);
	scan = systable_beginscan(reg, InvalidOid, false, snapshot, 0, NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, cols.tbl, RelationGetDescr(reg), &isnull);

		if (!isnull)
			result = list_append_unique_oid(result, DatumGetObjectId(d));
	}
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(reg, AccessShareLock);
	return result;
}

/*
 * ac_registry_tables
 *		Every table registered in audit_chain.chains, dropped ones included,
 *		in OID order, each once.
 *
 * Read with the active snapshot, the one ac_registry_lanes() reads each
 * table's lanes with by default: under READ COMMITTED a new transaction
 * snapshot could list a table protected after the statement began, whose
 * lanes the statement's snapshot does not see.
 */
List *
ac_registry_tables(void)
{
	List	   *result = ac_registry_tables_as_of(InvalidSnapshot, false);

	list_sort(result, list_oid_cmp);
	return result;
}

/*
 * make_problem
 *		An AcTableProblem, in the current memory context.
 */
static AcTableProblem *
make_problem(int sqlerrcode, char *message, char *detail, char *hint)
{
	AcTableProblem *p = palloc(sizeof(AcTableProblem));

	p->sqlerrcode = sqlerrcode;
	p->message = message;
	p->detail = detail;
	p->hint = hint;
	return p;
}

/*
 * column_problem
 *		Whether one table (the chained table or one of its leaves) has the
 *		five chain columns with their types.
 */
static AcTableProblem *
column_problem(Relation rel)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);

	for (int c = 0; c < lengthof(chain_columns); c++)
	{
		Form_pg_attribute found = NULL;

		for (int i = 0; i < tupdesc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(tupdesc, i);

			if (!att->attisdropped &&
				strcmp(NameStr(att->attname), chain_columns[c].name) == 0)
			{
				found = att;
				break;
			}
		}
		if (found == NULL)
			return make_problem(ERRCODE_UNDEFINED_COLUMN,
								psprintf("chained table \"%s\" has no column \"%s\"",
										 RelationGetRelationName(rel),
										 chain_columns[c].name),
								pstrdup("A chained table has the columns chain_lane, chain_seq, chain_at, chain_prev and chain_hash."),
								pstrdup("The chain columns are made by audit_chain.protect() and must be kept."));
		if (found->atttypid != chain_columns[c].type)
			return make_problem(ERRCODE_DATATYPE_MISMATCH,
								psprintf("column \"%s\" of chained table \"%s\" has type %s, not %s",
										 chain_columns[c].name,
										 RelationGetRelationName(rel),
										 format_type_be(found->atttypid),
										 format_type_be(chain_columns[c].type)),
								NULL,
								pstrdup("The chain columns are made by audit_chain.protect() and must keep their types: chain_lane smallint, chain_seq bigint, chain_at timestamptz, chain_prev bytea, chain_hash bytea."));
	}
	return NULL;
}

/*
 * ac_chained_table_problem
 *		Why relid is not a chained table that can be read, or NULL if it is.
 *
 * Locks the relation (and the partitions of a partitioned one) in lockmode
 * until the end of the transaction.  *nlanes gets the number of lanes
 * registered for relid, also when there is a problem (so that a caller can
 * report on each), even when the relation no longer exists.
 */
AcTableProblem *
ac_chained_table_problem(Oid relid, LOCKMODE lockmode, int *nlanes)
{
	Relation	rel;
	bool		numbered;
	AcTableProblem *problem = NULL;
	const char *name;

	*nlanes = ac_registry_lanes(relid, InvalidSnapshot, NULL, &numbered);

	rel = try_relation_open(relid, lockmode);
	if (rel == NULL)
		return make_problem(ERRCODE_UNDEFINED_TABLE,
							psprintf("relation with OID %u does not exist", relid),
							*nlanes > 0 ?
							pstrdup("It is registered in audit_chain.chains: a chained table was dropped without audit_chain.unprotect().") :
							NULL,
							NULL);
	name = RelationGetRelationName(rel);

	if (rel->rd_rel->relkind != RELKIND_RELATION &&
		rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
		problem = make_problem(ERRCODE_WRONG_OBJECT_TYPE,
							   psprintf("\"%s\" is not a table", name),
							   psprintf("It is %s.", ac_relkind_name(rel->rd_rel->relkind)),
							   pstrdup("Only ordinary and partitioned tables can be chained."));
	else if (rel->rd_rel->relpersistence == RELPERSISTENCE_TEMP)
		problem = make_problem(ERRCODE_FEATURE_NOT_SUPPORTED,
							   psprintf("temporary table \"%s\" cannot be a chained table", name),
							   pstrdup("A temporary table disappears at the end of its session, and its audit trail with it."),
							   NULL);
	else if (*nlanes == 0)
		problem = make_problem(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
							   psprintf("table \"%s\" is not a chained table", name),
							   NULL,
							   pstrdup("Protect it first with audit_chain.protect()."));
	else if (!numbered)
		problem = make_problem(ERRCODE_DATA_CORRUPTED,
							   psprintf("lanes of table \"%s\" in audit_chain.chains are not numbered 0 to %d",
										name, *nlanes - 1),
							   NULL, NULL);
	else
		problem = column_problem(rel);

	if (problem == NULL && rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
	{
		List	   *all = find_all_inheritors(relid, lockmode, NULL);
		ListCell   *lc;

		foreach(lc, all)
		{
			Oid			part = lfirst_oid(lc);
			Relation	prel;

			if (part == relid)
				continue;
			prel = table_open(part, NoLock);
			if (prel->rd_rel->relkind == RELKIND_FOREIGN_TABLE)
				problem = make_problem(ERRCODE_WRONG_OBJECT_TYPE,
									   psprintf("partition \"%s\" of chained table \"%s\" is a foreign table",
												RelationGetRelationName(prel), name),
									   pstrdup("The rows of a chained table must be stored in the database."),
									   NULL);
			else if (prel->rd_rel->relkind == RELKIND_RELATION)
				problem = column_problem(prel);
			table_close(prel, NoLock);
			if (problem != NULL)
				break;
		}
		list_free(all);
	}

	relation_close(rel, NoLock);
	return problem;
}

/*
 * ac_raise_table_problem
 *		Raise a problem ac_chained_table_problem() or the like found, as the
 *		error it describes.
 */
void
ac_raise_table_problem(const AcTableProblem *p)
{
	ereport(ERROR,
			(errcode(p->sqlerrcode),
			 errmsg_internal("%s", p->message),
			 p->detail ? errdetail_internal("%s", p->detail) : 0,
			 p->hint ? errhint("%s", p->hint) : 0));
}

/*
 * ac_check_chained_table
 *		Raise the error of ac_chained_table_problem(), if any; else return
 *		the number of lanes.  The relation stays locked in lockmode.
 */
int
ac_check_chained_table(Oid relid, LOCKMODE lockmode)
{
	int			nlanes;
	AcTableProblem *p = ac_chained_table_problem(relid, lockmode, &nlanes);

	if (p != NULL)
		ac_raise_table_problem(p);
	return nlanes;
}

/*
 * ac_check_chain_columns
 *		Raise an error unless rel (a chained table or one of its leaves) has
 *		the five chain columns with their types.  For the seal trigger's path,
 *		which reads and writes the chain columns of whatever table it was put
 *		on, registered or not: CREATE TRIGGER ... EXECUTE FUNCTION
 *		audit_chain.seal_row() is open to any table owner.
 */
void
ac_check_chain_columns(Relation rel)
{
	AcTableProblem *p = column_problem(rel);

	if (p != NULL)
		ac_raise_table_problem(p);
}

/*
 * ac_open_chained_table
 *		Check relid with ac_check_chained_table() and open it; the caller
 *		closes it.  *nlanes, if not NULL, gets the number of lanes.
 */
Relation
ac_open_chained_table(Oid relid, LOCKMODE lockmode, int *nlanes)
{
	int			n = ac_check_chained_table(relid, lockmode);

	if (nlanes != NULL)
		*nlanes = n;
	return table_open(relid, NoLock);
}

/*
 * ac_chain_leaves
 *		The tables that hold the rows of a chain: the table itself, or the
 *		leaf partitions of a partitioned table.
 */
List *
ac_chain_leaves(Oid root)
{
	List	   *all;
	List	   *leaves = NIL;
	ListCell   *lc;

	if (get_rel_relkind(root) != RELKIND_PARTITIONED_TABLE)
		return list_make1_oid(root);

	all = find_all_inheritors(root, AccessShareLock, NULL);
	foreach(lc, all)
	{
		Oid			relid = lfirst_oid(lc);

		if (get_rel_relkind(relid) == RELKIND_RELATION)
			leaves = lappend_oid(leaves, relid);
	}
	list_free(all);
	return leaves;
}

/*
 * ac_chain_root
 *		The chained table a relation's rows belong to, for the seal trigger:
 *		the relation itself, or the top of its partition tree.
 */
Oid
ac_chain_root(Relation rel)
{
	if (rel->rd_rel->relispartition)
	{
		List	   *ancestors = get_partition_ancestors(RelationGetRelid(rel));
		Oid			root = llast_oid(ancestors);

		list_free(ancestors);
		return root;
	}
	return RelationGetRelid(rel);
}

/*
 * ac_partition_ancestor
 *		relid itself, or else the nearest of its partition ancestors, for
 *		which test(relid, arg) is true; InvalidOid if none is.
 */
Oid
ac_partition_ancestor(Oid relid, bool (*test) (Oid relid, void *arg), void *arg)
{
	List	   *ancestors;
	ListCell   *lc;
	Oid			result = InvalidOid;

	if (test(relid, arg))
		return relid;
	if (!get_rel_relispartition(relid))
		return InvalidOid;
	ancestors = get_partition_ancestors(relid);
	foreach(lc, ancestors)
	{
		if (test(lfirst_oid(lc), arg))
		{
			result = lfirst_oid(lc);
			break;
		}
	}
	list_free(ancestors);
	return result;
}

/*
 * ac_is_chain_trigger
 *		True if a trigger name is one the extension gives its triggers.
 */
bool
ac_is_chain_trigger(const char *tgname)
{
	return tgname != NULL &&
		strncmp(tgname, AC_TRIGGER_PREFIX, strlen(AC_TRIGGER_PREFIX)) == 0;
}

/*
 * ac_trigger_fires_after_seal
 *		True if a trigger of type tgtype named tgname is a BEFORE ROW trigger
 *		that fires after the seal trigger, whose name is seal_name (normally
 *		AC_SEAL_TRIGGER): BEFORE ROW triggers fire in name order, and one that
 *		fires after the seal trigger could change or drop the row after it
 *		was hashed.  The one rule behind protect()'s refusal, the DDL guard's
 *		and the seal trigger's note that a sealed row may yet be dropped.
 */
bool
ac_trigger_fires_after_seal(int16 tgtype, const char *tgname,
							const char *seal_name)
{
	return TRIGGER_FOR_ROW(tgtype) && TRIGGER_FOR_BEFORE(tgtype) &&
		strcmp(tgname, seal_name) > 0;
}

/*
 * ac_chain_index
 *		The btree index on (chain_lane, chain_seq) of a leaf table, and the
 *		attribute numbers of chain_lane, chain_seq and chain_hash.  If there
 *		is no such index: an error, or InvalidOid if missing_ok.
 */
Oid
ac_chain_index(Relation rel, AttrNumber *att_lane, AttrNumber *att_seq,
			   AttrNumber *att_hash, bool missing_ok)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	List	   *indexes;
	ListCell   *lc;
	Oid			result = InvalidOid;

	*att_lane = *att_seq = *att_hash = InvalidAttrNumber;
	for (int i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		if (att->attisdropped)
			continue;
		if (strcmp(NameStr(att->attname), AC_COL_LANE) == 0)
			*att_lane = att->attnum;
		else if (strcmp(NameStr(att->attname), AC_COL_SEQ) == 0)
			*att_seq = att->attnum;
		else if (strcmp(NameStr(att->attname), AC_COL_HASH) == 0)
			*att_hash = att->attnum;
	}

	indexes = RelationGetIndexList(rel);
	foreach(lc, indexes)
	{
		Oid			indexoid = lfirst_oid(lc);
		Relation	irel = index_open(indexoid, AccessShareLock);
		Form_pg_index idx = irel->rd_index;

		if (irel->rd_rel->relam == BTREE_AM_OID &&
			idx->indisvalid && idx->indnkeyatts == 2 &&
			idx->indkey.values[0] == *att_lane &&
			idx->indkey.values[1] == *att_seq &&
			RelationGetIndexPredicate(irel) == NIL)
			result = indexoid;
		index_close(irel, AccessShareLock);
		if (OidIsValid(result))
			break;
	}
	list_free(indexes);

	if (*att_lane == InvalidAttrNumber || *att_seq == InvalidAttrNumber ||
		*att_hash == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("table \"%s\" is missing one of its chain columns",
						RelationGetRelationName(rel))));
	if (!OidIsValid(result) && !missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("chained table \"%s\" has no index on (chain_lane, chain_seq)",
						RelationGetRelationName(rel)),
				 errhint("The index is made by audit_chain.protect(); it must not be dropped.")));
	return result;
}
