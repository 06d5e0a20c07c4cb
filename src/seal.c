/*-------------------------------------------------------------------------
 *
 * seal.c
 *	  The row trigger that seals rows into the chain, and the refusal of
 *	  UPDATE, DELETE and TRUNCATE on chained tables.
 *
 * protect() installs zz_audit_chain_seal as a BEFORE INSERT OR UPDATE OR
 * DELETE row trigger.  BEFORE ROW triggers fire in name order, so the name
 * sorts after ordinary trigger names and the row we hash is the final row.
 *
 * IDENTIFICATION
 *	  src/seal.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "chaintable.h"
#include "complete.h"
#include "hash.h"
#include "lane.h"
#include "redact.h"
#include "restore.h"
#include "seal.h"

/* How to seal rows of one table (a chained table or one of its leaves) */
typedef struct SealInfo
{
	Oid			relid;			/* hash key */
	bool		valid;
	Oid			root;			/* the chained table */
	MemoryContext mcxt;			/* holds desc */
	AcRowDesc  *desc;			/* hashed columns, in the leaf's attnums */
	int			lanes;			/* the seal trigger's lane count */
	bool		trigger_follows;	/* a BEFORE ROW INSERT trigger fires after
									 * the seal trigger */
	bool		replica;		/* a replica copy (protect_replica()): its
								 * rows come from the publisher only */
} SealInfo;

static HTAB *seal_infos = NULL;

/* Set while protect() seals pre-existing rows of this table */
static Oid	backfill_root = InvalidOid;

/*
 * Set while redact() sets columns of one row to NULL (CMD_UPDATE): the one
 * kind of change the seal trigger lets through, and only to rows of this
 * lane in this seq range.  See ac_seal_permit_begin().  (archive() moves
 * rows without firing triggers: src/archive.c.)
 */
typedef struct SealPermit
{
	Oid			root;
	CmdType		cmd;
	int16		lane;
	int64		first_seq;
	int64		last_seq;
} SealPermit;

static SealPermit seal_permit = {InvalidOid, CMD_UNKNOWN, 0, 0, 0};

/*
 * ac_seal_relcache_callback
 *		Relcache callback (registered by _PG_init) that keeps cached row
 *		descriptions in step with ALTER TABLE.
 */
void
ac_seal_relcache_callback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	SealInfo   *info;

	if (seal_infos == NULL)
		return;
	hash_seq_init(&status, seal_infos);
	while ((info = hash_seq_search(&status)) != NULL)
	{
		if (relid == InvalidOid || info->relid == relid || info->root == relid)
			info->valid = false;
	}
}

/*
 * ac_rowdesc_for
 *		Row description of rel, in rel's attnums but in the hashed column
 *		order of the chained table root.  Allocated in CurrentMemoryContext.
 */
static AcRowDesc *
ac_rowdesc_for(Relation rel, Oid root)
{
	AcRowDesc  *desc;
	Relation	rootrel;

	if (root == RelationGetRelid(rel))
		return ac_rowdesc_build(RelationGetDescr(rel),
								RelationGetRelationName(rel), true);

	rootrel = table_open(root, AccessShareLock);
	desc = ac_rowdesc_build(RelationGetDescr(rootrel),
							RelationGetRelationName(rootrel), true);
	ac_rowdesc_remap(desc, RelationGetDescr(rootrel), RelationGetDescr(rel));
	table_close(rootrel, AccessShareLock);
	return desc;
}

/*
 * trigger_lanes
 *		The lane count protect() wrote into the trigger's argument.
 */
static int
trigger_lanes(TriggerData *trigdata)
{
	Trigger    *trigger = trigdata->tg_trigger;
	char	   *end;
	long		lanes;

	if (trigger->tgnargs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trigger \"%s\" on table \"%s\" must have exactly one argument, the lane count",
						trigger->tgname,
						RelationGetRelationName(trigdata->tg_relation))));
	errno = 0;
	lanes = strtol(trigger->tgargs[0], &end, 10);
	if (errno != 0 || *end != '\0' || lanes < 1 || lanes > AC_MAX_LANES)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trigger \"%s\" on table \"%s\" has an invalid lane count \"%s\"",
						trigger->tgname,
						RelationGetRelationName(trigdata->tg_relation),
						trigger->tgargs[0])));
	return (int) lanes;
}

/*
 * before_trigger_follows
 *		True if an enabled BEFORE ROW INSERT trigger of rel fires after ours,
 *		and so could drop a row we sealed.
 */
static bool
before_trigger_follows(Relation rel, Trigger *ours)
{
	TriggerDesc *td = rel->trigdesc;

	for (int i = 0; i < td->numtriggers; i++)
	{
		Trigger    *t = &td->triggers[i];

		if (t->tgenabled != TRIGGER_DISABLED && TRIGGER_FOR_INSERT(t->tgtype) &&
			ac_trigger_fires_after_seal(t->tgtype, t->tgname, ours->tgname))
			return true;
	}
	return false;
}

/*
 * get_seal_info
 *		Cached sealing information for the relation of a seal trigger call,
 *		rebuilt after invalidation (which creating, renaming, enabling or
 *		disabling any of the relation's triggers causes).
 */
static SealInfo *
get_seal_info(TriggerData *trigdata)
{
	Relation	rel = trigdata->tg_relation;
	Oid			relid = RelationGetRelid(rel);
	SealInfo   *info;
	bool		found;
	MemoryContext old;

	if (seal_infos == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(SealInfo);
		ctl.hcxt = CacheMemoryContext;
		seal_infos = hash_create("audit_chain seal info", 16, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}

	info = hash_search(seal_infos, &relid, HASH_ENTER, &found);
	if (found && info->valid)
		return info;

	if (found && info->mcxt != NULL)
		MemoryContextDelete(info->mcxt);
	info->mcxt = NULL;
	info->valid = false;

	/* Build in a temporary context first, so an error leaves no half entry */
	PG_TRY();
	{
		MemoryContext mcxt = AllocSetContextCreate(CacheMemoryContext,
												   "audit_chain seal info",
												   ALLOCSET_SMALL_SIZES);

		info->mcxt = mcxt;
		info->root = ac_chain_root(rel);
		old = MemoryContextSwitchTo(mcxt);
		info->desc = ac_rowdesc_for(rel, info->root);
		MemoryContextSwitchTo(old);
		info->lanes = trigger_lanes(trigdata);
		info->trigger_follows = before_trigger_follows(rel, trigdata->tg_trigger);
		info->replica = ac_registry_is_replica(info->root, InvalidSnapshot);
		info->valid = true;
	}
	PG_CATCH();
	{
		if (info->mcxt != NULL)
			MemoryContextDelete(info->mcxt);
		(void) hash_search(seal_infos, &relid, HASH_REMOVE, NULL);
		PG_RE_THROW();
	}
	PG_END_TRY();

	return info;
}

/*
 * seal_tuple
 *		Return a copy of tuple with the chain columns filled in: the next seq
 *		of the lane this transaction holds, the time, the previous hash, and
 *		the row's own hash.  Whatever the user put in the chain columns is
 *		overwritten.
 */
static HeapTuple
seal_tuple(Relation rel, SealInfo *info, HeapTuple tuple, int lanes,
		   int forced_lane)
{
	AcRowDesc  *desc = info->desc;
	TupleDesc	tupdesc = RelationGetDescr(rel);
	LaneState  *lane;
	Datum	   *values;
	bool	   *isnull;
	bytea	   *prev;
	bytea	   *hash;
	uint8		rowhash[AC_HASH_LEN];
	int64		seq;
	TimestampTz at;
	HeapTuple	result;

	lane = ac_lane_acquire(info->root, lanes, forced_lane);
	seq = lane->head_seq + 1;
	at = GetCurrentTimestamp();

	values = palloc(sizeof(Datum) * tupdesc->natts);
	isnull = palloc(sizeof(bool) * tupdesc->natts);
	heap_deform_tuple(tuple, tupdesc, values, isnull);

	ac_row_hash(desc, values, isnull, seq, at, lane->head_hash, NULL, rowhash);
	prev = ac_hash_bytea(lane->head_hash);
	hash = ac_hash_bytea(rowhash);

	/* The row is deformed already: set the chain columns and form it once */
	values[desc->att_lane - 1] = Int16GetDatum(lane->lane);
	values[desc->att_seq - 1] = Int64GetDatum(seq);
	values[desc->att_at - 1] = TimestampTzGetDatum(at);
	values[desc->att_prev - 1] = PointerGetDatum(prev);
	values[desc->att_hash - 1] = PointerGetDatum(hash);
	isnull[desc->att_lane - 1] = isnull[desc->att_seq - 1] = isnull[desc->att_at - 1] =
		isnull[desc->att_prev - 1] = isnull[desc->att_hash - 1] = false;
	result = heap_form_tuple(tupdesc, values, isnull);
	result->t_self = tuple->t_self;
	result->t_tableOid = tuple->t_tableOid;

	ac_lane_advance(lane, seq, rowhash);

	pfree(values);
	pfree(isnull);
	return result;
}

/*
 * has_null_column
 *		Whether a hashed column of the row is NULL: it may have been redacted.
 */
static bool
has_null_column(AcRowDesc *desc, const bool *isnull)
{
	for (int i = 0; i < desc->ncols; i++)
		if (isnull[desc->cols[i].attnum - 1])
			return true;
	return false;
}

/*
 * is_redacted_row
 *		is_presealed() of a row whose hash did not recompute and that has a
 *		NULL column: a redacted row (redact.c) being restored from a dump.
 *		True if it recomputes with the digests kept in audit_chain.redactions,
 *		or if a dump is being replayed (by a superuser, with
 *		check_function_bodies off, as pg_dump's scripts and pg_restore do):
 *		the redactions may be restored after the table, since pg_dump orders
 *		table data by schema name, and verify_chain() judges the row later.
 */
static bool
is_redacted_row(Oid root, AcRowDesc *desc, Datum *values, bool *isnull,
				int16 lane, const uint8 *prev, const uint8 *hash)
{
	const uint8 **kept;
	uint8		computed[AC_HASH_LEN];
	int64		seq = DatumGetInt64(values[desc->att_seq - 1]);

	if (!check_function_bodies && superuser_arg(GetOuterUserId()))
		return true;
	if (ac_redactions_kept(ac_redactions_load(root, lane, seq,
											  ActiveSnapshotSet() ? GetActiveSnapshot() :
											  GetTransactionSnapshot(),
											  CurrentMemoryContext),
						   desc, lane, seq, isnull, &kept) != NULL ||
		kept == NULL)
		return false;
	ac_row_hash(desc, values, isnull, seq,
				DatumGetTimestampTz(values[desc->att_at - 1]), prev, kept, computed);
	return memcmp(computed, hash, AC_HASH_LEN) == 0;
}

/*
 * is_presealed
 *		True if the row carries a valid seal already: every chain column set,
 *		a lane of the table, 32-byte hashes, and a chain_hash that recomputes
 *		from the row.  Whether it links to the rows before it is for
 *		verify_chain() to judge.
 */
static bool
is_presealed(Relation rel, SealInfo *info, HeapTuple tuple, int lanes)
{
	AcRowDesc  *desc = info->desc;
	TupleDesc	tupdesc = RelationGetDescr(rel);
	Datum	   *values;
	bool	   *isnull;
	const uint8 *prev;
	const uint8 *hash;
	int16		lane;
	uint8		computed[AC_HASH_LEN];
	bool		result;

	if (heap_attisnull(tuple, desc->att_lane, tupdesc) ||
		heap_attisnull(tuple, desc->att_seq, tupdesc) ||
		heap_attisnull(tuple, desc->att_at, tupdesc) ||
		heap_attisnull(tuple, desc->att_prev, tupdesc) ||
		heap_attisnull(tuple, desc->att_hash, tupdesc))
		return false;

	values = palloc(sizeof(Datum) * tupdesc->natts);
	isnull = palloc(sizeof(bool) * tupdesc->natts);
	heap_deform_tuple(tuple, tupdesc, values, isnull);
	lane = DatumGetInt16(values[desc->att_lane - 1]);
	prev = ac_hash_of_bytea(values[desc->att_prev - 1]);
	hash = ac_hash_of_bytea(values[desc->att_hash - 1]);
	if (lane < 0 || lane >= lanes || prev == NULL || hash == NULL)
		return false;

	ac_row_hash(desc, values, isnull, DatumGetInt64(values[desc->att_seq - 1]),
				DatumGetTimestampTz(values[desc->att_at - 1]), prev, NULL, computed);
	result = memcmp(computed, hash, AC_HASH_LEN) == 0;
	if (!result && has_null_column(desc, isnull))
		result = is_redacted_row(info->root, desc, values, isnull, lane, prev, hash);
	pfree(values);
	pfree(isnull);
	return result;
}

/*
 * permitted_change
 *		Whether the change the trigger fired for is what the current permit
 *		allows: an UPDATE of a row of the permitted lane and seq range that
 *		changes nothing but columns set to NULL.
 */
static bool
permitted_change(TriggerData *trigdata)
{
	Relation	rel = trigdata->tg_relation;
	TupleDesc	tupdesc = RelationGetDescr(rel);
	HeapTuple	old = trigdata->tg_trigtuple;
	int			att_lane = SPI_fnumber(tupdesc, "chain_lane");
	int			att_seq = SPI_fnumber(tupdesc, "chain_seq");
	bool		lane_null;
	bool		seq_null;
	int16		lane;
	int64		seq;

	if (!TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) || seal_permit.cmd != CMD_UPDATE)
		return false;
	if (att_lane <= 0 || att_seq <= 0)
		return false;
	lane = DatumGetInt16(heap_getattr(old, att_lane, tupdesc, &lane_null));
	seq = DatumGetInt64(heap_getattr(old, att_seq, tupdesc, &seq_null));
	if (lane_null || seq_null || lane != seal_permit.lane ||
		seq < seal_permit.first_seq || seq > seal_permit.last_seq)
		return false;

	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		HeapTuple	new = trigdata->tg_newtuple;

		/* every column keeps its value or becomes NULL */
		for (int i = 0; i < tupdesc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(tupdesc, i);
			Datum		ov;
			Datum		nv;
			bool		onull;
			bool		nnull;

			if (att->attisdropped)
				continue;
			ov = heap_getattr(old, i + 1, tupdesc, &onull);
			nv = heap_getattr(new, i + 1, tupdesc, &nnull);
			if (nnull)
			{
				if (!onull && ac_is_chain_column(NameStr(att->attname)))
					return false;
				continue;
			}
			if (onull || !datumIsEqual(ov, nv, att->attbyval, att->attlen))
				return false;
		}
	}
	return true;
}

/*
 * refuse_replica_write
 *		A local INSERT, UPDATE or DELETE on a replica copy: its rows are the
 *		publisher's, applied by logical replication as sealed there (the
 *		apply worker runs with session_replication_role = replica, so this
 *		trigger does not fire for it).  A row sealed here would fork the
 *		publisher's chain.
 */
static void
refuse_replica_write(TriggerData *trigdata)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("cannot %s table \"%s\", which is a replica copy of a chained table",
					TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ? "insert into" :
					TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? "update" : "delete from",
					RelationGetRelationName(trigdata->tg_relation)),
			 errdetail("Its rows arrive by logical replication, exactly as the publisher sealed them; a row written here would not be in the publisher's chain."),
			 errhint("Write to the table on the publisher.  audit_chain.chains.replica_of names it.")));
}

/*
 * seal_row
 *		BEFORE INSERT OR UPDATE OR DELETE, FOR EACH ROW trigger of a chained
 *		table.  Argument: the table's lane count.
 *
 * INSERT: seal the row.  UPDATE and DELETE: refused, since sealed rows are
 * immutable (but protect() uses UPDATE internally to seal rows that were in
 * the table before it was protected).  On a replica copy
 * (protect_replica()) every local write is refused, INSERT too: its rows
 * come from the publisher, already sealed.
 */
PG_FUNCTION_INFO_V1(audit_chain_seal_row);
Datum
audit_chain_seal_row(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	SealInfo   *info;
	int			lanes;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("seal_row: must be called as a trigger")));
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("seal_row: must be fired BEFORE, FOR EACH ROW")));

	rel = trigdata->tg_relation;
	/* a data-only restore: before the registry is read, which may fail */
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		ac_restore_check_row(rel, trigdata->tg_trigtuple);
	info = get_seal_info(trigdata);
	lanes = info->lanes;

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		HeapTuple	tuple = trigdata->tg_trigtuple;

		/*
		 * A superuser inserting a row that is already validly sealed (a
		 * restore of a dump, which loads extension tables with their triggers
		 * on) stores it as it is: a superuser could write it with triggers
		 * off anyway, and verify_chain() judges its links like any row's.
		 * Any other value in the chain columns is overwritten.
		 */
		if (superuser() && is_presealed(rel, info, tuple, lanes))
		{
			ac_lane_forget(info->root);
			return PointerGetDatum(tuple);
		}
		if (info->replica)
			refuse_replica_write(trigdata);
		if (SessionReplicationRole != SESSION_REPLICATION_ROLE_ORIGIN ||
			info->trigger_follows)
			ac_complete_note_may_skip();
		return PointerGetDatum(seal_tuple(rel, info, tuple, lanes, -1));
	}

	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) &&
		OidIsValid(backfill_root) &&
		info->root == backfill_root)
		return PointerGetDatum(seal_tuple(rel, info, trigdata->tg_newtuple, lanes, 0));

	if (OidIsValid(seal_permit.root) && seal_permit.root == info->root &&
		permitted_change(trigdata))
		return PointerGetDatum(TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ?
							   trigdata->tg_newtuple : trigdata->tg_trigtuple);

	if (info->replica)
		refuse_replica_write(trigdata);
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("cannot %s rows of chained table \"%s\"",
					TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? "update" : "delete",
					RelationGetRelationName(rel)),
			 errdetail("Rows of a hash-chained audit table cannot be changed or removed once sealed."),
			 errhint("Insert a correcting row instead.  To stop protecting the table, call audit_chain.unprotect(), which is recorded.")));
	PG_RETURN_NULL();			/* keep compiler quiet */
}

/*
 * refuse_truncate
 *		BEFORE TRUNCATE, FOR EACH STATEMENT trigger of a chained table.
 */
PG_FUNCTION_INFO_V1(audit_chain_refuse_truncate);
Datum
audit_chain_refuse_truncate(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("refuse_truncate: must be called as a trigger")));
	if (!TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("refuse_truncate: must be fired by TRUNCATE")));

	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("cannot truncate chained table \"%s\"",
					RelationGetRelationName(trigdata->tg_relation)),
			 errdetail("Rows of a hash-chained audit table cannot be removed once sealed."),
			 errhint("To stop protecting the table, call audit_chain.unprotect(), which is recorded.")));
	PG_RETURN_NULL();			/* keep compiler quiet */
}

/*
 * ac_seal_backfill_begin
 *		protect() is about to seal the rows root held before it was
 *		protected, by UPDATEs that the seal trigger turns into seals (into
 *		lane 0) instead of refusing them.  Only one table at a time.
 */
void
ac_seal_backfill_begin(Oid root)
{
	/* reachable: a trigger that protect() fires may call protect() */
	if (OidIsValid(backfill_root))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot protect table \"%s\" while the existing rows of table \"%s\" are being sealed",
						get_rel_name(root), get_rel_name(backfill_root)),
				 errdetail("A trigger of the table being protected called audit_chain.protect().")));
	backfill_root = root;
}

/*
 * ac_seal_permit_begin
 *		Let the seal trigger of root pass cmd (CMD_UPDATE, the only one) on
 *		the rows of lane with seq first_seq .. last_seq, until
 *		ac_seal_permit_end().  The only change let through is columns other
 *		than the chain columns set to NULL.  The caller must
 *		end the permit in PG_FINALLY, and must check that the statement
 *		changed the rows it meant to: a BEFORE trigger of the table's owner
 *		can skip a row.
 */
void
ac_seal_permit_begin(Oid root, CmdType cmd, int16 lane, int64 first_seq,
					 int64 last_seq)
{
	if (cmd != CMD_UPDATE)
		elog(ERROR, "the seal trigger permits UPDATE only");
	if (OidIsValid(seal_permit.root))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot change rows of table \"%s\" while rows of table \"%s\" are being archived or redacted",
						get_rel_name(root), get_rel_name(seal_permit.root)),
				 errdetail("A trigger of the table being archived or redacted called audit_chain.archive() or audit_chain.redact().")));
	seal_permit.root = root;
	seal_permit.cmd = cmd;
	seal_permit.lane = lane;
	seal_permit.first_seq = first_seq;
	seal_permit.last_seq = last_seq;
}

/*
 * ac_seal_permit_end
 *		UPDATE and DELETE are refused again.
 */
void
ac_seal_permit_end(void)
{
	seal_permit.root = InvalidOid;
	seal_permit.cmd = CMD_UNKNOWN;
}

/*
 * ac_seal_backfill_end
 *		The rows are sealed (or the sealing failed): UPDATE is refused again.
 */
void
ac_seal_backfill_end(void)
{
	backfill_root = InvalidOid;
}
