/*-------------------------------------------------------------------------
 *
 * redact.c
 *	  redact() and redact_subject(): erasure of personal data in chained
 *	  rows (GDPR Art. 17) that keeps the chain verifiable, and the kept
 *	  digests that verification puts in place of the erased values.
 *
 * A redaction sets columns of one sealed row to NULL and keeps each one's
 * col_digest (doc/hash-format.md, section 1) in audit_chain.redactions.
 * The row's hash input then carries, in the column's place, the same term
 * as before: uint32_be(len name) || name || kept digest.  So the row still
 * hashes to its chain_hash, the lane still links, and every checkpoint
 * still matches, while the value itself is gone (as Amazon QLDB's
 * REDACT_REVISION keeps the digest of a redacted revision).
 *
 * redact() follows retention.c's pattern: it runs as its caller, who must
 * own the table (a superuser does); it takes AC_RETENTION_LOCKMODE on the
 * table, which a legal hold also takes, checks the owner again and the
 * hold, and only then acts.  The UPDATE runs as the table's owner in a
 * security-restricted operation (the table's own triggers fire, as the
 * owner's code, never as a superuser caller's), under a seal permit
 * (seal.c) that lets through nothing but columns of this one row set to
 * NULL.  Afterwards the row is read again and must hash, with the kept
 * digests, to its chain_hash: whatever a trigger did beyond the redaction
 * (skip the row, set another column to NULL, update the row again) fails
 * the call.  Each call is an admin event; it names the table, row and
 * columns, never a value.
 *
 * Verification (verify.c) loads a table's redactions once, into a hash
 * table by (lane, seq), with the snapshot it reads the rows with
 * (ac_redactions_load), and asks for the kept digests of each row
 * (ac_redactions_kept): a NULL pointer for the tables that have none, a
 * hash lookup that misses for most rows of those that have.
 *
 * IDENTIFICATION
 *	  src/redact.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "chaintable.h"
#include "compat.h"
#include "events.h"
#include "hash.h"
#include "lane.h"
#include "redact.h"
#include "registry.h"
#include "relname.h"
#include "retention.h"
#include "seal.h"
#include "verify.h"

/* A row of a chained table: the hash key of the redactions */
typedef struct RedactionKey
{
	int64		seq;
	int32		lane;
	int32		zero;			/* no padding bytes in the hashed key */
} RedactionKey;

/* One redacted column of a row, as audit_chain.redactions records it */
typedef struct RedactedColumn
{
	char	   *name;			/* as stored (server encoding): messages */
	char	   *utf8;			/* as the row description has it */
	int			utf8len;
	bool		digest_ok;		/* the digest is 32 bytes */
	uint8		digest[AC_HASH_LEN];
} RedactedColumn;

/* The redacted columns of one row */
typedef struct RedactedRow
{
	RedactionKey key;
	List	   *columns;		/* of RedactedColumn * */
} RedactedRow;

struct AcRedactions
{
	HTAB	   *rows;			/* RedactedRow by RedactionKey */
};

/*
 * The columns of audit_chain.events that redact_subject() erases for a
 * data subject (README, Erasure).  about: when the event is about the
 * subject (data_subject is the subject).  by: when the subject acted (actor
 * is the subject, or actor is NULL on an event about the subject).  The
 * other columns (what was done, when, under which purpose and legal basis,
 * by which model, disclosed to whom, under which authorization, digests of
 * the content) are the record of the processing itself and stay.
 */
typedef struct SubjectColumn
{
	const char *name;
	bool		about;			/* redacted on events about the subject */
	bool		by;				/* redacted on events by the subject */
} SubjectColumn;

static const SubjectColumn subject_columns[] = {
	{"actor", false, true},
	{"session_id", false, true},
	{"client_addr", false, true},
	{"user_agent", false, true},
	{"consent_id", true, false},
	{"data_subject", true, false},
	{"details", true, false},
};

/*
 * A chained table being redacted: what every row of it needs, made once
 * per call.
 */
typedef struct RedactTarget
{
	Oid			relid;
	char	   *display;		/* for messages and the event */
	char	   *qualname;		/* for SQL text */
	Oid			owner;			/* the table's owner: runs the statements */
	int			nlanes;
	AcLaneStart starts[AC_MAX_LANES];	/* archived_seq of each lane */
	TupleDesc	rootdesc;
	AcRowDesc  *desc;			/* hashed columns, in the layout of select */
	AttrNumber *rootatt;		/* per hashed column: its attnum in rootdesc */
	char	   *select;			/* the row by chain_lane $1, chain_seq $2 */
	bool		remapped;		/* desc is in the layout of select's result */
} RedactTarget;

/*
 * column_number
 *		The attribute number of column name of rel, one of the extension's
 *		tables (the DDL guard keeps them as the install script made them).
 */
static AttrNumber
column_number(Relation rel, const char *name)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);

	for (int i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return att->attnum;
	}
	elog(ERROR, "column \"%s\" of \"%s\" is missing", name, RelationGetRelationName(rel));
	return InvalidAttrNumber;	/* keep compiler quiet */
}

/*
 * ac_redactions_load
 *		The redactions recorded for chained table tbl (all of them, or, with
 *		lane >= 0, those of row (lane, seq)), read with snapshot, into a
 *		hash table in memory context cxt; NULL if there are none.
 *
 * Read directly through the primary key index of audit_chain.redactions,
 * not through SPI: a verifier needs no privilege on the table, and the
 * redactions are read with the same snapshot as the rows they belong to,
 * so a redaction committed in between is either seen with its row or not
 * at all.
 */
AcRedactions *
ac_redactions_load(Oid tbl, int lane, int64 seq, Snapshot snapshot,
				   MemoryContext cxt)
{
	Oid			relid = ac_extension_relid("redactions");
	Oid			indexid = ac_extension_relid("redactions_pkey");
	AcRedactions *result = NULL;
	Relation	rel;
	TupleDesc	tupdesc;
	ScanKeyData keys[3];
	int			nkeys = 1;
	SysScanDesc scan;
	HeapTuple	tup;
	AttrNumber	att_lane;
	AttrNumber	att_seq;
	AttrNumber	att_col;
	AttrNumber	att_digest;

	if (!OidIsValid(relid))
		return NULL;			/* the extension is being created or dropped */
	if (!OidIsValid(indexid))
		elog(ERROR, "index audit_chain.redactions_pkey is missing");

	rel = table_open(relid, AccessShareLock);
	tupdesc = RelationGetDescr(rel);
	att_lane = column_number(rel, "lane");
	att_seq = column_number(rel, "seq");
	att_col = column_number(rel, "column_name");
	att_digest = column_number(rel, "digest");
	ScanKeyInit(&keys[0], column_number(rel, "tbl"), BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(tbl));
	if (lane >= 0)
	{
		ScanKeyInit(&keys[1], att_lane, BTEqualStrategyNumber,
					F_INT2EQ, Int16GetDatum((int16) lane));
		ScanKeyInit(&keys[2], att_seq, BTEqualStrategyNumber,
					F_INT8EQ, Int64GetDatum(seq));
		nkeys = 3;
	}
	snapshot = RegisterSnapshot(snapshot);
	scan = systable_beginscan(rel, indexid, true, snapshot, nkeys, keys);
	while ((tup = systable_getnext(scan)) != NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);
		RedactionKey key;
		RedactedRow *row;
		RedactedColumn *col;
		bool		found;
		bool		isnull;
		Datum		d;
		bytea	   *digest;
		char	   *utf8;

		if (result == NULL)
		{
			HASHCTL		ctl;

			result = palloc0(sizeof(AcRedactions));
			ctl.keysize = sizeof(RedactionKey);
			ctl.entrysize = sizeof(RedactedRow);
			ctl.hcxt = cxt;
			result->rows = hash_create("audit_chain redactions", 64, &ctl,
									   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		}
		memset(&key, 0, sizeof(key));
		key.lane = DatumGetInt16(heap_getattr(tup, att_lane, tupdesc, &isnull));
		key.seq = DatumGetInt64(heap_getattr(tup, att_seq, tupdesc, &isnull));
		row = hash_search(result->rows, &key, HASH_ENTER, &found);
		if (!found)
			row->columns = NIL;

		col = palloc0(sizeof(RedactedColumn));
		col->name = pstrdup(NameStr(*DatumGetName(heap_getattr(tup, att_col,
																 tupdesc, &isnull))));
		utf8 = pg_server_to_any(col->name, strlen(col->name), PG_UTF8);
		col->utf8 = utf8 == col->name ? col->name : pstrdup(utf8);
		col->utf8len = strlen(col->utf8);
		d = heap_getattr(tup, att_digest, tupdesc, &isnull);
		if (!isnull)
		{
			digest = DatumGetByteaPP(d);
			if (VARSIZE_ANY_EXHDR(digest) == AC_HASH_LEN)
			{
				memcpy(col->digest, VARDATA_ANY(digest), AC_HASH_LEN);
				col->digest_ok = true;
			}
		}
		row->columns = lappend(row->columns, col);
		MemoryContextSwitchTo(old);
	}
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
	return result;
}

/*
 * ac_redactions_kept
 *		The kept digests of row (lane, seq) for ac_row_hash(): *kept is set to
 *		an array with one entry per hashed column of desc (NULL where the
 *		column is not redacted), palloc'd, or to NULL if the row has no
 *		redaction.  redactions may be NULL (the table has none).
 *
 * Returns NULL, or the text of the first finding that makes the row fail:
 * a redacted column that holds a value again (written back after its
 * redaction, or a redaction recorded for a column that was never erased),
 * a redaction of a column the table does not hash, a digest that is not 32
 * bytes.  *kept then has the digests of the other redacted columns
 * (canonical_row() shows that input).  isnull is indexed like the values
 * ac_row_hash() gets.
 */
const char *
ac_redactions_kept(AcRedactions *redactions, AcRowDesc *desc, int lane,
				   int64 seq, const bool *isnull, const uint8 ***kept)
{
	RedactionKey key;
	RedactedRow *row;
	const uint8 **result;
	const char *problem = NULL;
	ListCell   *lc;

	*kept = NULL;
	if (redactions == NULL)
		return NULL;
	memset(&key, 0, sizeof(key));
	key.lane = lane;
	key.seq = seq;
	row = hash_search(redactions->rows, &key, HASH_FIND, NULL);
	if (row == NULL)
		return NULL;

	result = palloc0(sizeof(uint8 *) * Max(desc->ncols, 1));
	foreach(lc, row->columns)
	{
		RedactedColumn *col = lfirst(lc);
		int			i;

		for (i = 0; i < desc->ncols; i++)
			if (desc->cols[i].namelen == col->utf8len &&
				memcmp(desc->cols[i].name, col->utf8, col->utf8len) == 0)
				break;
		if (i == desc->ncols)
		{
			if (problem == NULL)
				problem = psprintf("audit_chain.redactions records column \"%s\" of chain_seq %lld as redacted, but the table hashes no such column",
								   col->name, (long long) seq);
		}
		else if (!col->digest_ok)
		{
			if (problem == NULL)
				problem = psprintf("the kept digest of column \"%s\" of chain_seq %lld in audit_chain.redactions is not 32 bytes long",
								   col->name, (long long) seq);
		}
		else if (!isnull[desc->cols[i].attnum - 1])
		{
			if (problem == NULL)
				problem = psprintf("column \"%s\" of chain_seq %lld is recorded as redacted but holds a value: it was written again after its redaction",
								   col->name, (long long) seq);
		}
		else
			result[i] = col->digest;
	}
	*kept = result;
	return problem;
}

/*
 * ac_redactions_forget
 *		unprotect(): the redactions of a table that is no longer chained go.
 *		Its rows are sealed anew, without kept digests, if it is protected
 *		again, and the digests are of personal data, kept only for the
 *		chain.  The caller holds a lock on the table that conflicts with
 *		AC_RETENTION_LOCKMODE; unprotect() itself is recorded.
 */
void
ac_redactions_forget(Oid relid)
{
	Oid			owner = ac_table_owner("redactions", true);
	Oid			argtypes[1] = {REGCLASSOID};
	Datum		args[1];

	if (!OidIsValid(owner))
		return;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	args[0] = ObjectIdGetDatum(relid);
	if (ac_execute_as(owner, NULL,
					  "DELETE FROM audit_chain.redactions "
					  "WHERE tbl OPERATOR(pg_catalog.=) $1",
					  1, argtypes, args, NULL) != SPI_OK_DELETE)
		elog(ERROR, "could not delete the redactions of a table");
	SPI_finish();
}

/*
 * ac_redactions_forget_through
 *		The purge (archive.c): the kept digests of the rows of lane of table
 *		relid through seq go, with the rows.  The caller is connected to SPI
 *		and holds AC_RETENTION_LOCKMODE on the table; the purge is recorded.
 */
void
ac_redactions_forget_through(Oid relid, int16 lane, int64 seq)
{
	Oid			argtypes[3] = {REGCLASSOID, INT2OID, INT8OID};
	Datum		args[3];

	args[0] = ObjectIdGetDatum(relid);
	args[1] = Int16GetDatum(lane);
	args[2] = Int64GetDatum(seq);
	if (ac_execute_as(ac_table_owner("redactions", false), NULL,
					  "DELETE FROM audit_chain.redactions "
					  "WHERE tbl OPERATOR(pg_catalog.=) $1 "
					  "AND lane OPERATOR(pg_catalog.=) $2 "
					  "AND seq OPERATOR(pg_catalog.<=) $3",
					  3, argtypes, args, NULL) != SPI_OK_DELETE)
		elog(ERROR, "could not delete the redactions of purged rows");
}

/*
 * open_target
 *		Check that relid is a chained table the caller owns, lock it in
 *		AC_RETENTION_LOCKMODE (which legal_hold() takes too: a hold is either
 *		committed and seen here, or waits for this transaction), check the
 *		owner again under the lock and that no legal hold is on, and describe
 *		the table for redact_row().
 */
static void
open_target(Oid relid, RedactTarget *t)
{
	Relation	rel;
	bool		numbered;
	StringInfoData sql;

	memset(t, 0, sizeof(RedactTarget));
	(void) ac_check_table_owner(relid);
	t->nlanes = ac_check_chained_table(relid, AC_RETENTION_LOCKMODE);
	t->display = ac_check_table_owner(relid);
	ac_check_no_legal_hold(relid, "redact rows of");

	t->relid = relid;
	t->owner = ac_rel_owner(relid);
	t->qualname = ac_qualified_relname(relid);
	(void) ac_registry_lanes(relid, InvalidSnapshot, t->starts, &numbered);

	rel = table_open(relid, NoLock);
	t->rootdesc = CreateTupleDescCopyConstr(RelationGetDescr(rel));
	t->desc = ac_rowdesc_build(t->rootdesc, RelationGetRelationName(rel), true);
	t->rootatt = palloc(sizeof(AttrNumber) * Max(t->desc->ncols, 1));
	for (int i = 0; i < t->desc->ncols; i++)
		t->rootatt[i] = t->desc->cols[i].attnum;
	initStringInfo(&sql);
	ac_chain_select(&sql, rel, t->rootdesc, t->desc);
	appendStringInfoString(&sql, " WHERE chain_lane OPERATOR(pg_catalog.=) $1 "
						   "AND chain_seq OPERATOR(pg_catalog.=) $2");
	t->select = sql.data;
	table_close(rel, NoLock);
}

/*
 * hashed_column
 *		The index in t->desc of the column named name, which redact() may
 *		erase, or an error saying why not: no such column, a chain column, a
 *		generated column, a NOT NULL column.
 */
static int
hashed_column(RedactTarget *t, const char *name)
{
	for (int i = 0; i < t->rootdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(t->rootdesc, i);

		if (att->attisdropped || strcmp(NameStr(att->attname), name) != 0)
			continue;
		if (ac_is_chain_column(name))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_COLUMN_REFERENCE),
					 errmsg("cannot redact chain column \"%s\"", name),
					 errdetail("The chain columns link the row into its lane and hold no personal data."),
					 errhint("Name the columns that hold the personal data.")));
		if (att->attgenerated != '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_COLUMN_REFERENCE),
					 errmsg("cannot redact generated column \"%s\"", name),
					 errdetail("A generated column is computed from other columns and is not hashed."),
					 errhint("Redact the columns it is computed from: it is computed again from them.")));
		if (att->attnotnull)
			ereport(ERROR,
					(errcode(ERRCODE_NOT_NULL_VIOLATION),
					 errmsg("cannot redact column \"%s\", which is NOT NULL", name),
					 errdetail("A redacted column is set to NULL."),
					 errhint("If the column holds personal data, drop its NOT NULL constraint first: ALTER TABLE %s ALTER COLUMN %s DROP NOT NULL.",
							 t->display, quote_identifier(name))));
		for (int c = 0; c < t->desc->ncols; c++)
			if (t->rootatt[c] == att->attnum)
				return c;
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("column \"%s\" of table \"%s\" does not exist", name, t->display)));
	return -1;					/* keep compiler quiet */
}

/*
 * read_row
 *		Row (lane, seq) of the target, read as its owner with a snapshot
 *		taken now, deformed into *values and *isnull (in the layout of
 *		t->desc), or false if there is no such row.  The tuple is copied into
 *		CurrentMemoryContext and SPI's copy freed.
 */
static bool
read_row(RedactTarget *t, int16 lane, int64 seq, Datum **values, bool **isnull)
{
	Oid			argtypes[2] = {INT2OID, INT8OID};
	Datum		args[2];
	HeapTuple	tup;
	TupleDesc	tupdesc;

	args[0] = Int16GetDatum(lane);
	args[1] = Int64GetDatum(seq);
	if (ac_execute_as(t->owner, NULL, t->select, 2, argtypes, args, NULL) != SPI_OK_SELECT)
		elog(ERROR, "could not read a row of a chained table");
	if (SPI_processed == 0)
	{
		SPI_freetuptable(SPI_tuptable);
		return false;
	}
	tupdesc = SPI_tuptable->tupdesc;
	if (!t->remapped)
	{
		ac_rowdesc_remap(t->desc, t->rootdesc, tupdesc);
		t->remapped = true;
	}
	tup = heap_copytuple(SPI_tuptable->vals[0]);
	*values = palloc(sizeof(Datum) * tupdesc->natts);
	*isnull = palloc(sizeof(bool) * tupdesc->natts);
	heap_deform_tuple(tup, tupdesc, *values, *isnull);
	SPI_freetuptable(SPI_tuptable);
	return true;
}

/*
 * row_matches
 *		Whether a row read by read_row() hashes, with the kept digests kept,
 *		to its chain_hash.
 */
static bool
row_matches(RedactTarget *t, Datum *values, bool *isnull, const uint8 **kept)
{
	AcRowDesc  *desc = t->desc;
	const uint8 *prev;
	const uint8 *hash;
	uint8		computed[AC_HASH_LEN];

	if (isnull[desc->att_seq - 1] || isnull[desc->att_at - 1] ||
		isnull[desc->att_prev - 1] || isnull[desc->att_hash - 1])
		return false;
	prev = ac_hash_of_bytea(values[desc->att_prev - 1]);
	hash = ac_hash_of_bytea(values[desc->att_hash - 1]);
	if (prev == NULL || hash == NULL)
		return false;
	ac_row_hash(desc, values, isnull, DatumGetInt64(values[desc->att_seq - 1]),
				DatumGetTimestampTz(values[desc->att_at - 1]), prev, kept, computed);
	return memcmp(computed, hash, AC_HASH_LEN) == 0;
}

/*
 * columns_null
 *		Whether columns cols (indexes into desc) of a row are all NULL.
 */
static bool
columns_null(AcRowDesc *desc, const bool *isnull, const int *cols, int ncols)
{
	for (int c = 0; c < ncols; c++)
		if (!isnull[desc->cols[cols[c]].attnum - 1])
			return false;
	return true;
}

/*
 * redact_row
 *		Redact columns cols (indexes into t->desc, ncols of them) of row
 *		(lane, seq) of the target, for reason.  The caller is connected to
 *		SPI and has opened the target.
 */
static void
redact_row(RedactTarget *t, int lane, int64 seq, const int *cols, int ncols,
		   const char *reason)
{
	AcRowDesc  *desc = t->desc;
	AcRedactions *redactions;
	Datum	   *values;
	bool	   *isnull;
	const uint8 **kept;
	const uint8 **newkept;
	uint8	   *digests;
	const char *problem;
	StringInfoData sql;
	Oid			argtypes[6] = {INT2OID, INT8OID, REGCLASSOID, TEXTOID, BYTEAOID, TEXTOID};
	Datum		args[6];
	volatile uint64 processed = 0;
	volatile int ret = 0;

	if (lane < 0 || lane >= t->nlanes || lane > PG_INT16_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lane %d is out of range", lane),
				 errhint("Table \"%s\" has lanes 0 to %d.", t->display, t->nlanes - 1)));
	if (seq > 0 && seq <= t->starts[lane].seq)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot redact chain_seq %lld of lane %d of table \"%s\", which is archived",
						(long long) seq, lane, t->display),
				 errdetail("Lane %d is archived through chain_seq %lld; archived rows are not redacted.",
						   lane, (long long) t->starts[lane].seq),
				 errhint("Archived rows leave when their retention ends.")));

	if (!read_row(t, lane, seq, &values, &isnull))
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("no row with chain_lane %d and chain_seq %lld in table \"%s\"",
						lane, (long long) seq, t->display)));

	/* the row as it is must verify, with any earlier redaction of it */
	CommandCounterIncrement();
	redactions = ac_redactions_load(t->relid, lane, seq, GetTransactionSnapshot(),
									CurrentMemoryContext);
	problem = ac_redactions_kept(redactions, desc, lane, seq, isnull, &kept);
	if (problem != NULL || !row_matches(t, values, isnull, kept))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("row with chain_lane %d and chain_seq %lld in table \"%s\" does not match its chain_hash",
						lane, (long long) seq, t->display),
				 problem ? errdetail("%s.", problem) : 0,
				 errhint("Run audit_chain.verify_chain() on the table: a row that does not verify is not redacted.")));

	/* the digest of each value, which takes its place */
	newkept = palloc0(sizeof(uint8 *) * Max(desc->ncols, 1));
	if (kept != NULL)
		memcpy(newkept, kept, sizeof(uint8 *) * desc->ncols);
	digests = palloc(AC_HASH_LEN * ncols);
	for (int c = 0; c < ncols; c++)
	{
		AcColumn   *col = &desc->cols[cols[c]];
		const char *name = NameStr(TupleDescAttr(t->rootdesc, t->rootatt[cols[c]] - 1)->attname);

		if (isnull[col->attnum - 1])
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("column \"%s\" of chain_seq %lld of lane %d of table \"%s\" is %s",
							name, (long long) seq, lane, t->display,
							kept != NULL && kept[cols[c]] != NULL ? "already redacted" : "NULL"),
					 errdetail("There is no value to redact."),
					 errhint("Name only the columns that hold a value.")));
		ac_column_digest(col, values[col->attnum - 1], digests + AC_HASH_LEN * c);
		newkept[cols[c]] = digests + AC_HASH_LEN * c;
	}

	/*
	 * The UPDATE, as the table's owner, under a permit for this row only:
	 * the seal trigger lets columns of it be set to NULL and nothing else.
	 */
	initStringInfo(&sql);
	appendStringInfo(&sql, "UPDATE %s SET ", t->qualname);
	for (int c = 0; c < ncols; c++)
		appendStringInfo(&sql, "%s%s = NULL", c > 0 ? ", " : "",
						 quote_identifier(NameStr(TupleDescAttr(t->rootdesc, t->rootatt[cols[c]] - 1)->attname)));
	appendStringInfoString(&sql, " WHERE chain_lane OPERATOR(pg_catalog.=) $1 "
						   "AND chain_seq OPERATOR(pg_catalog.=) $2");
	args[0] = Int16GetDatum(lane);
	args[1] = Int64GetDatum(seq);
	ac_seal_permit_begin(t->relid, CMD_UPDATE, lane, seq, seq);
	PG_TRY();
	{
		ret = ac_execute_as(t->owner, NULL, sql.data, 2, argtypes, args, NULL);
		processed = SPI_processed;
	}
	PG_FINALLY();
	{
		ac_seal_permit_end();
	}
	PG_END_TRY();
	if (ret != SPI_OK_UPDATE)
		elog(ERROR, "unexpected SPI result: %s", SPI_result_code_string(ret));
	if (processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_TRIGGERED_DATA_CHANGE_VIOLATION),
				 errmsg("chain_seq %lld of lane %d of table \"%s\" was not redacted",
						(long long) seq, lane, t->display),
				 errdetail("A BEFORE UPDATE trigger of the table skipped the row."),
				 errhint("Redaction runs the table's triggers as its owner: let them pass the UPDATE that sets the redacted columns to NULL.")));

	/*
	 * What is stored now must be the row with those columns NULL, and
	 * nothing else changed: it must hash to its chain_hash with their kept
	 * digests.  A trigger that set another column to NULL, or updated the
	 * row once more, is caught here.
	 */
	if (!read_row(t, lane, seq, &values, &isnull) ||
		!columns_null(desc, isnull, cols, ncols) ||
		!row_matches(t, values, isnull, newkept))
		ereport(ERROR,
				(errcode(ERRCODE_TRIGGERED_DATA_CHANGE_VIOLATION),
				 errmsg("a trigger changed chain_seq %lld of lane %d of table \"%s\" beyond the redaction",
						(long long) seq, lane, t->display),
				 errdetail("After the redaction the row must hash to its chain_hash, with the kept digests of the redacted columns in their place."),
				 errhint("Redaction runs the table's triggers as its owner: let them pass the UPDATE that sets the redacted columns to NULL.")));

	/* the kept digests, as the owner of audit_chain.redactions */
	args[2] = ObjectIdGetDatum(t->relid);
	args[5] = CStringGetTextDatum(reason);
	for (int c = 0; c < ncols; c++)
	{
		args[3] = CStringGetTextDatum(NameStr(TupleDescAttr(t->rootdesc, t->rootatt[cols[c]] - 1)->attname));
		args[4] = PointerGetDatum(ac_hash_bytea(digests + AC_HASH_LEN * c));
		if (ac_execute_as(ac_table_owner("redactions", false), NULL,
						  "INSERT INTO audit_chain.redactions "
						  "(tbl, lane, seq, column_name, digest, reason) "
						  "VALUES ($3, $1, $2, $4::pg_catalog.name, $5, $6)",
						  6, argtypes, args, NULL) != SPI_OK_INSERT)
			elog(ERROR, "could not record a redaction");
	}
}

/*
 * reason_text
 *		The reason argument, which must be given and not blank: the request
 *		the erasure answers.
 */
static char *
reason_text(FunctionCallInfo fcinfo, int argno)
{
	char	   *reason = PG_ARGISNULL(argno) ? NULL :
		text_to_cstring(PG_GETARG_TEXT_PP(argno));

	if (reason == NULL || strspn(reason, " \t\n\r\f\v") == strlen(reason))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a redaction needs a reason"),
				 errhint("Name the request it answers, such as an erasure request number.")));
	return reason;
}

/*
 * append_json_columns
 *		Append a JSON array of the names of columns cols of t to buf.
 */
static void
append_json_columns(StringInfo buf, RedactTarget *t, const int *cols, int ncols)
{
	appendStringInfoChar(buf, '[');
	for (int c = 0; c < ncols; c++)
	{
		if (c > 0)
			appendStringInfoString(buf, ", ");
		escape_json(buf, NameStr(TupleDescAttr(t->rootdesc, t->rootatt[cols[c]] - 1)->attname));
	}
	appendStringInfoChar(buf, ']');
}

/*
 * redact(tbl regclass, lane integer, seq bigint, columns text[],
 *		  reason text) RETURNS void
 *		Erase the values of columns of row (lane, seq) of chained table tbl,
 *		which the caller owns: set them to NULL and keep each one's
 *		col_digest in audit_chain.redactions, so that the row and its chain
 *		still verify.  reason: the request it answers (required).
 *
 * Refused under legal hold, for a chain column, a generated column, a
 * column the table does not have, named twice or already NULL (nothing to
 * redact), a missing row, an archived row, a row that does not verify, and
 * an unprotected table.  Recorded as an admin event "redact" that names the
 * table, row and columns and the reason, never a value.
 */
PG_FUNCTION_INFO_V1(audit_chain_redact);
Datum
audit_chain_redact(PG_FUNCTION_ARGS)
{
	RedactTarget t;
	ArrayType  *arr;
	Datum	   *names;
	bool	   *nulls;
	int			nnames;
	int		   *cols;
	int32		lane;
	int64		seq;
	char	   *reason;
	StringInfoData details;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table must not be NULL")));
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", PG_ARGISNULL(1) ? "lane" : "seq")));
	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("columns must not be NULL"),
				 errhint("Pass the names of the columns to redact, such as ARRAY['email'].")));
	lane = PG_GETARG_INT32(1);
	seq = PG_GETARG_INT64(2);
	arr = PG_GETARG_ARRAYTYPE_P(3);
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &names, &nulls, &nnames);
	if (nnames == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("columns must not be empty"),
				 errhint("Pass the names of the columns to redact, such as ARRAY['email'].")));
	for (int i = 0; i < nnames; i++)
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("column names must not be NULL")));
	reason = reason_text(fcinfo, 4);

	open_target(PG_GETARG_OID(0), &t);
	cols = palloc(sizeof(int) * nnames);
	for (int i = 0; i < nnames; i++)
	{
		char	   *name = TextDatumGetCString(names[i]);

		cols[i] = hashed_column(&t, name);
		for (int j = 0; j < i; j++)
			if (cols[j] == cols[i])
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("column \"%s\" is named more than once", name)));
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	redact_row(&t, lane, seq, cols, nnames, reason);
	SPI_finish();

	initStringInfo(&details);
	appendStringInfoString(&details, "{\"table\": ");
	escape_json(&details, t.display);
	appendStringInfo(&details, ", \"lane\": %d, \"seq\": %lld, \"columns\": ",
					 lane, (long long) seq);
	append_json_columns(&details, &t, cols, nnames);
	appendStringInfoString(&details, ", \"reason\": ");
	escape_json(&details, reason);
	appendStringInfoChar(&details, '}');
	ac_events_queue_admin("redact", t.display, details.data);

	PG_RETURN_VOID();
}

/* One event of audit_chain.events that redact_subject() redacts */
typedef struct SubjectRow
{
	int16		lane;
	int64		seq;
	int			ncols;
	int			cols[lengthof(subject_columns)];	/* indexes into t.desc */
} SubjectRow;

/*
 * subject_rows
 *		The events of audit_chain.events that are about subject or by
 *		subject, and which of their columns to redact (those of
 *		subject_columns that apply and are not NULL), in lane and seq order.
 *		col_index[k] is the index in t->desc of subject_columns[k].
 */
static List *
subject_rows(RedactTarget *t, const char *subject, const int *col_index)
{
	StringInfoData sql;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	List	   *rows = NIL;

	initStringInfo(&sql);
	appendStringInfoString(&sql,
						   "SELECT chain_lane, chain_seq, "
						   "COALESCE(data_subject OPERATOR(pg_catalog.=) $1, false), "
						   "COALESCE(actor OPERATOR(pg_catalog.=) $1, false) "
						   "OR (actor IS NULL AND COALESCE(data_subject OPERATOR(pg_catalog.=) $1, false))");
	for (int k = 0; k < lengthof(subject_columns); k++)
		appendStringInfo(&sql, ", %s IS NOT NULL", subject_columns[k].name);
	appendStringInfoString(&sql,
						   " FROM audit_chain.events "
						   "WHERE data_subject OPERATOR(pg_catalog.=) $1 "
						   "OR actor OPERATOR(pg_catalog.=) $1 "
						   "ORDER BY chain_lane, chain_seq");
	args[0] = CStringGetTextDatum(subject);
	if (ac_execute_as(t->owner, NULL, sql.data, 1, argtypes, args, NULL) != SPI_OK_SELECT)
		elog(ERROR, "could not read audit_chain.events");

	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	td = SPI_tuptable->tupdesc;
		SubjectRow *row = palloc0(sizeof(SubjectRow));
		bool		isnull;
		bool		about;
		bool		by;

		row->lane = DatumGetInt16(SPI_getbinval(tup, td, 1, &isnull));
		row->seq = DatumGetInt64(SPI_getbinval(tup, td, 2, &isnull));
		about = DatumGetBool(SPI_getbinval(tup, td, 3, &isnull));
		by = DatumGetBool(SPI_getbinval(tup, td, 4, &isnull));
		for (int k = 0; k < lengthof(subject_columns); k++)
		{
			bool		present = DatumGetBool(SPI_getbinval(tup, td, 5 + k, &isnull));

			if (present && ((about && subject_columns[k].about) ||
							(by && subject_columns[k].by)))
				row->cols[row->ncols++] = col_index[k];
		}
		if (row->ncols > 0)
			rows = lappend(rows, row);
	}
	SPI_freetuptable(SPI_tuptable);
	return rows;
}

/*
 * redact_subject(subject text, reason text)
 *		RETURNS TABLE (tbl regclass, lane integer, seq bigint, columns text[])
 *		A GDPR Art. 17 erasure request: redact, in every event of
 *		audit_chain.events about the data subject or by them, the columns
 *		that hold their personal data (subject_columns; README, Erasure), and
 *		return what was redacted.  The caller must own audit_chain.events
 *		(the extension's owner, or a superuser).
 *
 * Refused under a legal hold on audit_chain.events.  Rows already archived
 * are not in audit_chain.events and are not redacted.  Calling it again
 * finds nothing more to redact.  One admin event "redact subject" records
 * the rows and columns (none, if nothing was found) and the reason; it does
 * not name the subject.
 */
PG_FUNCTION_INFO_V1(audit_chain_redact_subject);
Datum
audit_chain_redact_subject(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	RedactTarget t;
	Oid			events;
	char	   *subject;
	char	   *reason;
	int			col_index[lengthof(subject_columns)];
	List	   *rows;
	ListCell   *lc;
	MemoryContext rowcxt;
	StringInfoData details;
	int64		nrows = 0;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("subject must not be NULL")));
	subject = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (subject[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("subject must not be empty"),
				 errhint("Pass the data subject's identifier as audit_chain.events.data_subject holds it.")));
	reason = reason_text(fcinfo, 1);

	InitMaterializedSRF(fcinfo, 0);

	events = ac_extension_relid("events");
	if (!OidIsValid(events))
		elog(ERROR, "table audit_chain.events is missing");
	open_target(events, &t);
	for (int k = 0; k < lengthof(subject_columns); k++)
		col_index[k] = hashed_column(&t, subject_columns[k].name);

	/* made before SPI_connect: it outlives SPI_finish */
	initStringInfo(&details);
	appendStringInfoString(&details, "{\"table\": ");
	escape_json(&details, t.display);
	appendStringInfoString(&details, ", \"redacted\": [");

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rows = subject_rows(&t, subject, col_index);

	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "audit_chain redact row",
								   ALLOCSET_DEFAULT_SIZES);
	foreach(lc, rows)
	{
		SubjectRow *row = lfirst(lc);
		MemoryContext old;
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};
		Datum	   *names;

		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(rowcxt);
		redact_row(&t, row->lane, row->seq, row->cols, row->ncols, reason);

		names = palloc(sizeof(Datum) * row->ncols);
		for (int c = 0; c < row->ncols; c++)
			names[c] = CStringGetTextDatum(NameStr(TupleDescAttr(t.rootdesc, t.rootatt[row->cols[c]] - 1)->attname));
		values[0] = ObjectIdGetDatum(events);
		values[1] = Int32GetDatum(row->lane);
		values[2] = Int64GetDatum(row->seq);
		values[3] = PointerGetDatum(construct_array(names, row->ncols, TEXTOID,
													-1, false, TYPALIGN_INT));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextSwitchTo(old);
		MemoryContextReset(rowcxt);

		appendStringInfo(&details, "%s{\"lane\": %d, \"seq\": %lld, \"columns\": ",
						 nrows > 0 ? ", " : "", row->lane, (long long) row->seq);
		append_json_columns(&details, &t, row->cols, row->ncols);
		appendStringInfoChar(&details, '}');
		nrows++;
	}
	MemoryContextDelete(rowcxt);
	SPI_finish();

	appendStringInfoString(&details, "], \"reason\": ");
	escape_json(&details, reason);
	appendStringInfoChar(&details, '}');
	ac_events_queue_admin("redact subject", t.display, details.data);

	return (Datum) 0;
}
