/*-------------------------------------------------------------------------
 *
 * events.c
 *	  Events the extension writes itself into audit_chain.events: row
 *	  changes of tracked tables, DDL and privilege changes, role changes
 *	  (what an admin event says is admin.c's).
 *
 * They are written as the owner of audit_chain.events, the way RI triggers
 * act as a table's owner, so that whoever changes a tracked table or runs
 * DDL needs no INSERT privilege on the event table, and cannot choose what
 * is written: db_role is set to the role that acted, and the functions
 * only run as triggers (or from the utility hook).  Row changes are written
 * at once; admin events (DDL, GRANT, role commands), which any role can
 * cause, wait until just before commit, so that an open transaction holds
 * no lane of the event table for them.
 *
 * Also here: the trigger that sets what the server knows (db_role) on every
 * row of audit_chain.events, whoever inserts it.
 *
 * IDENTIFICATION
 *	  src/events.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "tcop/cmdtag.h"
#include "tcop/deparse_utility.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "admin.h"
#include "chaintable.h"
#include "events.h"
#include "hash.h"
#include "registry.h"
#include "relname.h"

/*
 * The truncate trigger audit_chain.track() makes; its row trigger is
 * AC_TRACK_TRIGGER (chaintable.h).
 */
#define TRACK_TRUNCATE_TRIGGER_NAME "zz_audit_chain_track_truncate"

/*
 * PendingEvent: one event the extension writes, with what it records of the
 * moment it happened.  Admin events wait in a list until just before commit
 * (see queue_event); row changes are written at once.
 */
typedef struct PendingEvent
{
	SubTransactionId subid;		/* subtransaction that queued it */
	char	   *event_type;
	char	   *action;
	char	   *resource;
	char	   *details;		/* JSON text, or NULL */
	char	   *role;			/* db_role: the role that acted */
	TimestampTz occurred_at;
	/* the session's assertions at that moment, NULL if unset */
	char	   *actor;
	char	   *session_id;
	char	   *purpose;
	char	   *legal_basis;
	char	   *data_subject;
	char	   *application_name;
} PendingEvent;

/* Admin events of the current transaction, in TopTransactionContext */
static List *pending_events = NIL;

/*
 * While the extension inserts an event of its own, the role it records as
 * db_role (set_event_facts reads it).  Only this file sets it, around its
 * own INSERT, so no SQL caller can.
 */
static const char *acting_role = NULL;

/*
 * setting_or_null
 *		The current value of a setting, copied, or NULL if it is unset or
 *		empty (as the column defaults of audit_chain.events read them).
 */
static char *
setting_or_null(const char *name)
{
	const char *value = GetConfigOption(name, true, false);

	if (value == NULL || value[0] == '\0')
		return NULL;
	return pstrdup(value);
}

/*
 * make_event
 *		An event of the current moment, attributed to the role the session
 *		acts as (see set_event_facts), in CurrentMemoryContext.
 */
static PendingEvent *
make_event(const char *event_type, const char *action, const char *resource,
		   const char *details_json)
{
	PendingEvent *ev = palloc0(sizeof(PendingEvent));

	ev->subid = GetCurrentSubTransactionId();
	ev->event_type = pstrdup(event_type);
	ev->action = pstrdup(action);
	ev->resource = resource ? pstrdup(resource) : NULL;
	ev->details = details_json ? pstrdup(details_json) : NULL;
	ev->role = pstrdup(GetUserNameFromId(GetOuterUserId(), false));
	ev->occurred_at = GetCurrentStatementStartTimestamp();
	ev->actor = setting_or_null("audit_chain.actor");
	ev->session_id = setting_or_null("audit_chain.session_id");
	ev->purpose = setting_or_null("audit_chain.purpose");
	ev->legal_basis = setting_or_null("audit_chain.legal_basis");
	ev->data_subject = setting_or_null("audit_chain.data_subject");
	ev->application_name = setting_or_null("application_name");
	return ev;
}

/*
 * insert_event
 *		Insert one event as the owner of audit_chain.events, so that whoever
 *		caused it needs no privilege on the table.  The caller is connected
 *		to SPI.  Columns not given take their defaults (event_id,
 *		client_addr); db_role is the event's role, set by set_event_facts.
 */
static void
insert_event(Oid owner, PendingEvent *ev)
{
	Oid			argtypes[11] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID,
	TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	const char *texts[11] = {ev->event_type, ev->action, ev->resource, ev->details, NULL,
		ev->actor, ev->session_id, ev->purpose, ev->legal_basis,
	ev->data_subject, ev->application_name};
	Datum		args[11];
	char		nulls[11];
	int			ret;

	for (int i = 0; i < 11; i++)
	{
		nulls[i] = texts[i] != NULL ? ' ' : 'n';
		args[i] = texts[i] != NULL ? CStringGetTextDatum(texts[i]) : (Datum) 0;
	}
	args[4] = TimestampTzGetDatum(ev->occurred_at);
	nulls[4] = ' ';

	Assert(acting_role == NULL);
	acting_role = ev->role;
	PG_TRY();
	{
		ret = ac_execute_as(owner, NULL,
							"INSERT INTO audit_chain.events "
							"(event_type, action, resource, details, occurred_at, actor, "
							"session_id, purpose, legal_basis, data_subject, application_name) "
							"VALUES ($1, $2, $3, $4::pg_catalog.jsonb, $5, $6, $7, $8, $9, $10, $11)",
							11, argtypes, args, nulls);
	}
	PG_FINALLY();
	{
		acting_role = NULL;
	}
	PG_END_TRY();
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "unexpected SPI result: %s", SPI_result_code_string(ret));
}

/*
 * append_event
 *		Write one event now, attributed to the role the session acts as.
 *		Does nothing if the extension is not installed in this database.
 */
static void
append_event(const char *event_type, const char *action, const char *resource,
			 const char *details_json)
{
	Oid			owner = ac_table_owner("events", true);

	if (!OidIsValid(owner))
		return;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	insert_event(owner, make_event(event_type, action, resource, details_json));
	SPI_finish();
}

/*
 * queue_event
 *		Record one admin event, to be written just before the transaction
 *		commits (ac_events_flush_pending).
 *
 * Writing an event takes a lane of audit_chain.events until commit (lane.c).
 * Any role can run DDL in a schema of its own, GRANT on its own objects or
 * change its own password, so if these events were written at once, a
 * role with no privilege at all could hold every lane by leaving such
 * transactions open, and stall every writer of events.  Queued, they take a
 * lane only for the commit itself.  They are dropped with the
 * subtransaction or transaction that queued them.
 */
static void
queue_event(const char *event_type, const char *action, const char *resource,
			const char *details_json)
{
	MemoryContext old;
	Oid			nspid = get_namespace_oid("audit_chain", true);

	/*
	 * Is the extension installed here?  Looked up without locking the table:
	 * a lock held to the end of this transaction would let an open
	 * transaction queue an ALTER or VACUUM FULL of the table, and every
	 * writer behind it.
	 */
	if (!OidIsValid(nspid) || !OidIsValid(get_relname_relid("events", nspid)))
		return;

	old = MemoryContextSwitchTo(TopTransactionContext);
	pending_events = lappend(pending_events,
							 make_event(event_type, action, resource, details_json));
	MemoryContextSwitchTo(old);
}

/*
 * ac_events_queue_admin
 *		Record an admin event that the extension's own functions cause
 *		(set_retention(), legal_hold(), ...), written at commit like the
 *		events of DDL (see queue_event), attributed to the role that acted.
 *		details_json is a JSON object's text, or NULL.
 */
void
ac_events_queue_admin(const char *action, const char *resource,
					  const char *details_json)
{
	queue_event("admin", action, resource, details_json);
}

/*
 * ac_events_flush_pending
 *		Before commit: write the queued admin events, in the order they
 *		happened (PREPARE TRANSACTION with events queued is refused, see
 *		ac_events_refuse_prepare).  complete.c's completeness check
 *		runs after this, so that it covers the rows written here.
 */
void
ac_events_flush_pending(void)
{
	while (pending_events != NIL)
	{
		List	   *events = pending_events;
		Oid			owner = ac_table_owner("events", true);
		ListCell   *lc;

		pending_events = NIL;
		if (!OidIsValid(owner))
			return;				/* the extension was dropped meanwhile */
		/* at pre-commit no statement is running, so no snapshot is set */
		PushActiveSnapshot(GetTransactionSnapshot());
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		foreach(lc, events)
			insert_event(owner, (PendingEvent *) lfirst(lc));
		SPI_finish();
		PopActiveSnapshot();
	}
}

/*
 * ac_events_refuse_prepare
 *		Before PREPARE TRANSACTION: refuse to prepare a transaction that has
 *		admin events to write.
 *
 * Written at PREPARE, they would hold a lane of audit_chain.events until
 * COMMIT PREPARED or ROLLBACK PREPARED, after the session is gone and past
 * every timeout, and any role can queue them (DDL in a schema of its own,
 * ALTER ROLE on itself): a few prepared transactions would stall every
 * writer of events for good.  Nothing else can write them later, so the
 * transaction is refused instead.
 */
void
ac_events_refuse_prepare(void)
{
	if (pending_events == NIL)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("cannot prepare a transaction that has audit_chain admin events to record"),
			 errdetail("Recording them would hold a lane of audit_chain.events until COMMIT PREPARED or ROLLBACK PREPARED, and every writer of events could be made to wait for it."),
			 errhint("Commit DDL, GRANT and role commands without PREPARE TRANSACTION.")));
}

/*
 * ac_events_at_eoxact
 *		The transaction ended: forget its queued admin events.
 */
void
ac_events_at_eoxact(void)
{
	/* the list lived in TopTransactionContext, which is gone */
	pending_events = NIL;
}

/*
 * ac_events_at_eosubxact
 *		Drop the events queued by an aborted subtransaction (what they
 *		record was rolled back); hand those of a committed one to its parent.
 */
void
ac_events_at_eosubxact(bool is_commit, SubTransactionId mySubid,
					   SubTransactionId parentSubid)
{
	ListCell   *lc;

	foreach(lc, pending_events)
	{
		PendingEvent *ev = (PendingEvent *) lfirst(lc);

		if (ev->subid != mySubid)
			continue;
		if (is_commit)
			ev->subid = parentSubid;
		else
			pending_events = foreach_delete_current(pending_events, lc);
	}
}

/*
 * set_event_facts
 *		BEFORE INSERT, FOR EACH ROW trigger of audit_chain.events: what the
 *		server knows is set by the server, whatever the inserter wrote.
 *
 * db_role is the role the session acts as: the login role, or the role of
 * SET ROLE (which needs membership in it).  SECURITY DEFINER functions in
 * between do not change it, the extension's own (which write events as the
 * table's owner) and any others: a definer function is code run on the
 * caller's behalf, and the caller is who acted.  For the events the
 * extension queues, it is the role that acted when the event was queued.
 *
 * The trigger's name sorts before zz_audit_chain_seal, so the row is sealed
 * with the server's value.  A row a superuser inserts with chain columns
 * already set is left as it is: that is a restore of a dump (or of a
 * replica), whose rows are sealed already and judged by the seal trigger
 * and verify_chain(); a superuser could write any value with triggers off
 * anyway.  The session must act as a superuser too, not only the function
 * running: a superuser's SECURITY DEFINER function copying rows for a
 * caller does not pass the caller's db_role through.
 */
PG_FUNCTION_INFO_V1(audit_chain_set_event_facts);
Datum
audit_chain_set_event_facts(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	tupdesc;
	HeapTuple	tuple;
	int			att_role;
	int			att_hash;
	NameData	role;
	Datum		value;
	bool		isnull = false;
	bool		oldnull;
	Datum		old;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("set_event_facts: must be called as a trigger")));
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("set_event_facts: must be fired BEFORE INSERT, FOR EACH ROW")));

	tupdesc = RelationGetDescr(trigdata->tg_relation);
	tuple = trigdata->tg_trigtuple;
	att_role = SPI_fnumber(tupdesc, "db_role");
	att_hash = SPI_fnumber(tupdesc, "chain_hash");
	if (att_role <= 0 || TupleDescAttr(tupdesc, att_role - 1)->atttypid != NAMEOID)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("set_event_facts: table \"%s\" has no column \"db_role\" of type name",
						RelationGetRelationName(trigdata->tg_relation))));

	if (superuser() && superuser_arg(GetOuterUserId()) &&
		att_hash > 0 && !heap_attisnull(tuple, att_hash, tupdesc))
		return PointerGetDatum(tuple);

	namestrcpy(&role, acting_role != NULL ? acting_role :
			   GetUserNameFromId(GetOuterUserId(), false));
	old = heap_getattr(tuple, att_role, tupdesc, &oldnull);
	if (!oldnull && strcmp(NameStr(*DatumGetName(old)), NameStr(role)) == 0)
		return PointerGetDatum(tuple);
	value = NameGetDatum(&role);
	return PointerGetDatum(heap_modify_tuple_by_cols(tuple, tupdesc, 1, &att_role,
													 &value, &isnull));
}

/*
 * append_json_field
 *		Append "key": "value" (or null) to a JSON object being built.
 */
static void
append_json_field(StringInfo buf, const char *key, const char *value)
{
	if (buf->len > 1)
		appendStringInfoString(buf, ", ");
	escape_json(buf, key);
	appendStringInfoString(buf, ": ");
	if (value == NULL)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, value);
}

/*
 * TrackedColumn: one column a track trigger looks at.
 */
typedef struct TrackedColumn
{
	int			attnum;
	const char *name;
	FmgrInfo	outfunc;
	Oid			typid;
} TrackedColumn;

/*
 * RowChange: one row change a track trigger records, and what it compared.
 */
typedef struct RowChange
{
	const char *op;				/* "insert", "update" or "delete" */
	HeapTuple	oldtup;			/* the old row, NULL for INSERT */
	HeapTuple	newtup;			/* the new row, NULL for DELETE */
	TrackedColumn *cols;		/* the tracked columns */
	int			ncols;
	char	  **oldtexts;		/* canonical texts of the old row (NULL: SQL
								 * NULL), or NULL for INSERT */
	char	  **newtexts;		/* same, of the new row; NULL for DELETE */
	bool	   *changed;		/* per column: UPDATE changed it, or INSERT
								 * or DELETE has a value in it */
	int			nchanged;
} RowChange;

/*
 * column_text
 *		Canonical text of a column of a tuple, or NULL.
 */
static char *
column_text(TrackedColumn *col, HeapTuple tuple, TupleDesc tupdesc)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, col->attnum, tupdesc, &isnull);
	int			len;

	if (isnull)
		return NULL;
	return ac_canonical_text(&col->outfunc, d, &len);
}

/*
 * row_digest
 *		SHA-256, as hex, of the tracked columns of a row, built from the
 *		column terms of the v1 row hash (ac_append_column_term): one for
 *		each non-NULL column, in column order.
 */
static char *
row_digest(TrackedColumn *cols, int ncols, char **texts)
{
	StringInfoData buf;
	uint8		digest[AC_HASH_LEN];
	char	   *hex = palloc(AC_HASH_LEN * 2 + 1);

	initStringInfo(&buf);
	for (int i = 0; i < ncols; i++)
	{
		if (texts[i] != NULL)
			ac_append_column_term(&buf, cols[i].name, strlen(cols[i].name),
								  texts[i], strlen(texts[i]));
	}
	ac_sha256(buf.data, buf.len, digest);
	hex_encode((char *) digest, AC_HASH_LEN, hex);
	hex[AC_HASH_LEN * 2] = '\0';
	return hex;
}

/*
 * append_values
 *		Append "key": {col: text, ...} for the given columns.
 */
static void
append_values(StringInfo buf, const char *key, TrackedColumn *cols, int ncols,
			  char **texts, bool *only)
{
	StringInfoData obj;

	initStringInfo(&obj);
	appendStringInfoChar(&obj, '{');
	for (int i = 0; i < ncols; i++)
	{
		if (only != NULL && !only[i])
			continue;
		if (obj.len > 1)
			appendStringInfoString(&obj, ", ");
		escape_json(&obj, cols[i].name);
		appendStringInfoString(&obj, ": ");
		if (texts[i] == NULL)
			appendStringInfoString(&obj, "null");
		else
			escape_json(&obj, texts[i]);
	}
	appendStringInfoChar(&obj, '}');
	if (buf->len > 1)
		appendStringInfoString(buf, ", ");
	escape_json(buf, key);
	appendStringInfo(buf, ": %s", obj.data);
}

/*
 * has_own_trigger
 *		True if relid has a trigger of that name made on it directly, not a
 *		clone of a partitioned table's trigger.
 */
static bool
has_own_trigger(Oid relid, const char *name)
{
	Relation	tgrel;
	ScanKeyData keys[2];
	SysScanDesc scan;
	HeapTuple	tup;
	bool		result = false;

	tgrel = table_open(TriggerRelationId, AccessShareLock);
	ScanKeyInit(&keys[0], Anum_pg_trigger_tgrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	ScanKeyInit(&keys[1], Anum_pg_trigger_tgname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum(name));
	scan = systable_beginscan(tgrel, TriggerRelidNameIndexId, true, NULL, 2, keys);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		result = !OidIsValid(((Form_pg_trigger) GETSTRUCT(tup))->tgparentid);
	systable_endscan(scan);
	table_close(tgrel, AccessShareLock);
	return result;
}

/*
 * has_track_trigger
 *		True if relid has the row trigger of audit_chain.track() made on it
 *		directly (a test for ac_partition_ancestor).
 */
static bool
has_track_trigger(Oid relid, void *arg)
{
	return has_own_trigger(relid, AC_TRACK_TRIGGER);
}

/*
 * tracked_root
 *		The table whose audit_chain.track() covers relid: relid itself, or
 *		the nearest partition ancestor that was tracked, or InvalidOid if
 *		there is none (a partition detached from a tracked table).
 */
static Oid
tracked_root(Oid relid)
{
	return ac_partition_ancestor(relid, has_track_trigger, NULL);
}

/*
 * key_json
 *		The primary key of a row, as a JSON object of column texts.
 */
static char *
key_json(Relation rel, Bitmapset *pkattrs, HeapTuple tuple)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	StringInfoData key;
	int			x = -1;

	initStringInfo(&key);
	appendStringInfoChar(&key, '{');
	while ((x = bms_next_member(pkattrs, x)) >= 0)
	{
		AttrNumber	attnum = x + FirstLowInvalidHeapAttributeNumber;
		Form_pg_attribute att = TupleDescAttr(tupdesc, attnum - 1);
		bool		isnull;
		Datum		d = heap_getattr(tuple, attnum, tupdesc, &isnull);
		Oid			outfn;
		bool		isvarlena;

		if (key.len > 1)
			appendStringInfoString(&key, ", ");
		escape_json(&key, NameStr(att->attname));
		appendStringInfoString(&key, ": ");
		if (isnull)
			appendStringInfoString(&key, "null");
		else
		{
			getTypeOutputInfo(att->atttypid, &outfn, &isvarlena);
			escape_json(&key, OidOutputFunctionCall(outfn, d));
		}
	}
	appendStringInfoChar(&key, '}');
	return key.data;
}

/*
 * missing_columns
 *		Listed columns the table no longer has (renamed or dropped since
 *		track()), as a JSON array, or NULL if there are none: the events say
 *		so, rather than the tracking silently shrinking.
 */
static char *
missing_columns(TupleDesc tupdesc, Trigger *trigger)
{
	StringInfoData buf;
	bool		any = false;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	for (int a = 1; a < trigger->tgnargs; a++)
	{
		bool		found = false;

		for (int i = 0; i < tupdesc->natts && !found; i++)
		{
			Form_pg_attribute att = TupleDescAttr(tupdesc, i);

			found = !att->attisdropped &&
				strcmp(trigger->tgargs[a], NameStr(att->attname)) == 0;
		}
		if (found)
			continue;
		if (any)
			appendStringInfoString(&buf, ", ");
		escape_json(&buf, trigger->tgargs[a]);
		any = true;
	}
	appendStringInfoChar(&buf, ']');
	return any ? buf.data : NULL;
}

/*
 * log_truncate
 *		Write the row_change event of a TRUNCATE of rel, which lies under
 *		the tracked table root (InvalidOid: rel was detached from it).
 *
 * TRUNCATE fires a statement trigger, which partitions do not inherit, so
 * track() puts one on every leaf partition of a partitioned table (and
 * ddl_log on every partition made later): truncating the parent fires it on
 * each leaf, truncating one partition on that one.
 */
static void
log_truncate(Relation rel, Oid root)
{
	char	   *qualname;
	StringInfoData details;

	if (!OidIsValid(root))
		return;					/* detached from a tracked table */
	qualname = ac_qualified_relname(root);
	initStringInfo(&details);
	appendStringInfoChar(&details, '{');
	append_json_field(&details, "table", qualname);
	append_json_field(&details, "operation", "truncate");
	if (root != RelationGetRelid(rel))
		append_json_field(&details, "partition",
						  ac_qualified_relname(RelationGetRelid(rel)));
	appendStringInfoChar(&details, '}');
	append_event("row_change", "truncate", qualname, details.data);
}

/*
 * row_change_tuples
 *		The operation of a row trigger's event and its old and new rows.
 */
static void
row_change_tuples(TriggerData *trigdata, RowChange *rc)
{
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		rc->op = "insert";
		rc->newtup = trigdata->tg_trigtuple;
	}
	else if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		rc->op = "update";
		rc->oldtup = trigdata->tg_trigtuple;
		rc->newtup = trigdata->tg_newtuple;
	}
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
	{
		rc->op = "delete";
		rc->oldtup = trigdata->tg_trigtuple;
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("track_change: must be fired by INSERT, UPDATE or DELETE")));
}

/*
 * tracked_columns
 *		The columns the trigger tracks: those named by its arguments after
 *		the first, or every live column if it names none.
 */
static void
tracked_columns(TupleDesc tupdesc, Trigger *trigger, RowChange *rc)
{
	rc->cols = palloc0(sizeof(TrackedColumn) * tupdesc->natts);
	rc->ncols = 0;
	for (int i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		TrackedColumn *col = &rc->cols[rc->ncols];
		bool		wanted = trigger->tgnargs == 1;
		Oid			outfn;
		bool		isvarlena;

		if (att->attisdropped)
			continue;
		for (int a = 1; !wanted && a < trigger->tgnargs; a++)
			wanted = strcmp(trigger->tgargs[a], NameStr(att->attname)) == 0;
		if (!wanted)
			continue;
		col->attnum = att->attnum;
		col->name = NameStr(att->attname);
		col->typid = att->atttypid;
		getTypeOutputInfo(att->atttypid, &outfn, &isvarlena);
		fmgr_info(outfn, &col->outfunc);
		rc->ncols++;
	}
}

/*
 * compare_columns
 *		The canonical texts of the tracked columns of the old and new rows,
 *		and which columns changed.  The caller has entered the canonical
 *		settings.
 */
static void
compare_columns(RowChange *rc, TupleDesc tupdesc)
{
	int			n = Max(rc->ncols, 1);

	rc->oldtexts = rc->oldtup ? palloc0(sizeof(char *) * n) : NULL;
	rc->newtexts = rc->newtup ? palloc0(sizeof(char *) * n) : NULL;
	rc->changed = palloc0(sizeof(bool) * n);
	rc->nchanged = 0;
	for (int i = 0; i < rc->ncols; i++)
	{
		char	   *oldtext = NULL;
		char	   *newtext = NULL;

		if (rc->oldtup)
			oldtext = rc->oldtexts[i] = column_text(&rc->cols[i], rc->oldtup, tupdesc);
		if (rc->newtup)
			newtext = rc->newtexts[i] = column_text(&rc->cols[i], rc->newtup, tupdesc);
		if (rc->oldtup && rc->newtup)
			rc->changed[i] = (oldtext == NULL) != (newtext == NULL) ||
				(oldtext != NULL && strcmp(oldtext, newtext) != 0);
		else
			rc->changed[i] = (rc->oldtup ? oldtext : newtext) != NULL;
		if (rc->changed[i])
			rc->nchanged++;
	}
}

/*
 * append_keys
 *		Append the primary key of the changed row (the new row, the old one
 *		for DELETE) to details, and the old key too if an UPDATE changed it.
 *		Nothing if the table has no primary key.
 */
static void
append_keys(StringInfo details, Relation rel, RowChange *rc)
{
	Bitmapset  *pkattrs = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_PRIMARY_KEY);
	char	   *key;

	if (bms_is_empty(pkattrs))
		return;
	key = key_json(rel, pkattrs, rc->newtup ? rc->newtup : rc->oldtup);
	appendStringInfo(details, ", \"key\": %s", key);
	if (rc->oldtup && rc->newtup)
	{
		char	   *oldkey = key_json(rel, pkattrs, rc->oldtup);

		if (strcmp(oldkey, key) != 0)
			appendStringInfo(details, ", \"old_key\": %s", oldkey);
	}
}

/*
 * row_change_details
 *		The details of a row_change event, as JSON text: the table (and the
 *		partition), the operation, the keys, the tracked columns that are
 *		gone (missing, a JSON array, or NULL), the changed columns, the
 *		digests of the old and new tracked values, and the values when
 *		with_values.  The caller has entered the canonical settings.
 */
static char *
row_change_details(Relation rel, const char *qualname, const char *missing,
				   bool with_values, RowChange *rc)
{
	StringInfoData details;

	initStringInfo(&details);
	appendStringInfoChar(&details, '{');
	append_json_field(&details, "table", qualname);
	append_json_field(&details, "operation", rc->op);
	if (rel->rd_rel->relispartition)
		append_json_field(&details, "partition",
						  ac_qualified_relname(RelationGetRelid(rel)));
	append_keys(&details, rel, rc);
	if (missing != NULL)
		appendStringInfo(&details, ", \"missing_columns\": %s", missing);

	appendStringInfoString(&details, ", \"changed\": [");
	for (int i = 0, n = 0; i < rc->ncols; i++)
	{
		if (!rc->changed[i])
			continue;
		if (n++ > 0)
			appendStringInfoString(&details, ", ");
		escape_json(&details, rc->cols[i].name);
	}
	appendStringInfoChar(&details, ']');
	if (rc->oldtup)
		append_json_field(&details, "old_digest",
						  row_digest(rc->cols, rc->ncols, rc->oldtexts));
	if (rc->newtup)
		append_json_field(&details, "new_digest",
						  row_digest(rc->cols, rc->ncols, rc->newtexts));
	if (with_values)
	{
		if (rc->oldtup)
			append_values(&details, "old", rc->cols, rc->ncols, rc->oldtexts,
						  rc->newtup ? rc->changed : NULL);
		if (rc->newtup)
			append_values(&details, "new", rc->cols, rc->ncols, rc->newtexts,
						  rc->oldtup ? rc->changed : NULL);
	}
	appendStringInfoChar(&details, '}');
	return details.data;
}

/*
 * track_change
 *		AFTER INSERT OR UPDATE OR DELETE, FOR EACH ROW trigger (and AFTER
 *		TRUNCATE statement trigger) that audit_chain.track() puts on a
 *		business table.  Arguments: 'values' or 'digests', then the tracked
 *		column names (none: every column).
 *
 * Writes one row_change event: the table, the operation, the primary key,
 * the changed columns, SHA-256 digests of the old and new tracked values,
 * and the values themselves only when asked for.  An UPDATE that changes
 * no tracked column writes nothing.  On a partition, the event names the
 * partitioned table that was tracked (and the partition in details).
 */
PG_FUNCTION_INFO_V1(audit_chain_track_change);
Datum
audit_chain_track_change(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	tupdesc;
	Trigger    *trigger;
	bool		with_values;
	RowChange	rc;
	char	   *qualname;
	char	   *missing;
	char	   *details;
	int			nestlevel;
	Oid			root;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("track_change: must be called as a trigger")));
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("track_change: must be fired AFTER")));

	rel = trigdata->tg_relation;
	trigger = trigdata->tg_trigger;

	/*
	 * The table track() was called on: a row trigger of its own is on it, a
	 * clone on a partition of it; a truncate trigger can be on either.
	 */
	if (!trigger->tgisclone && !TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		root = RelationGetRelid(rel);
	else
		root = tracked_root(RelationGetRelid(rel));

	if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
	{
		log_truncate(rel, root);
		return PointerGetDatum(NULL);
	}
	qualname = ac_qualified_relname(OidIsValid(root) ? root : RelationGetRelid(rel));
	if (!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("track_change: must be fired FOR EACH ROW, or by TRUNCATE")));

	tupdesc = RelationGetDescr(rel);
	if (trigger->tgnargs < 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("track_change: trigger \"%s\" has no arguments", trigger->tgname)));
	with_values = strcmp(trigger->tgargs[0], "values") == 0;

	memset(&rc, 0, sizeof(rc));
	row_change_tuples(trigdata, &rc);
	missing = missing_columns(tupdesc, trigger);
	tracked_columns(tupdesc, trigger, &rc);

	nestlevel = ac_enter_canonical_settings();
	compare_columns(&rc, tupdesc);

	/* a no-op update of the tracked columns is not an event */
	if (rc.oldtup && rc.newtup && rc.nchanged == 0)
	{
		ac_leave_canonical_settings(nestlevel);
		return PointerGetDatum(NULL);
	}
	details = row_change_details(rel, qualname, missing, with_values, &rc);
	ac_leave_canonical_settings(nestlevel);

	append_event("row_change", rc.op, qualname, details);
	return PointerGetDatum(NULL);
}

/*
 * track_trigger_args
 *		The arguments of the track trigger of root, as a list of String
 *		nodes for a CreateTrigStmt.
 */
static List *
track_trigger_args(Oid root)
{
	Relation	rel = table_open(root, AccessShareLock);
	TriggerDesc *trigdesc = rel->trigdesc;
	List	   *args = NIL;

	for (int i = 0; trigdesc != NULL && i < trigdesc->numtriggers; i++)
	{
		Trigger    *tg = &trigdesc->triggers[i];

		if (tg->tgisclone || strcmp(tg->tgname, AC_TRACK_TRIGGER) != 0)
			continue;
		for (int a = 0; a < tg->tgnargs; a++)
			args = lappend(args, makeString(pstrdup(tg->tgargs[a])));
		break;
	}
	table_close(rel, AccessShareLock);
	return args;
}

/*
 * add_track_truncate_trigger
 *		Give leaf, under the tracked table root, the truncate trigger of
 *		track(), as owner (the owner of audit_chain.events), and queue the
 *		admin event of its creation.
 *
 * CreateTrigger() is called directly, not through SQL: a CREATE TRIGGER
 * statement would fire every event trigger of the database (the DBA's
 * included) as owner, under the session's search_path, in the middle of
 * another role's command, and an operator of that role's could then run
 * with owner's privileges.  Called directly, it runs no code but its own.
 */
static void
add_track_truncate_trigger(Oid leaf, Oid root, Oid owner)
{
	StringInfoData details;

	ac_create_statement_trigger_as(owner, leaf, TRACK_TRUNCATE_TRIGGER_NAME,
								   "track_change", track_trigger_args(root),
								   TRIGGER_TYPE_AFTER, TRIGGER_TYPE_TRUNCATE);

	/* the event the statement would have made */
	initStringInfo(&details);
	appendStringInfoChar(&details, '{');
	append_json_field(&details, "command_tag", "CREATE TRIGGER");
	append_json_field(&details, "object_type", "trigger");
	append_json_field(&details, "schema", NULL);
	appendStringInfoChar(&details, '}');
	queue_event("admin", "create trigger",
				psprintf("%s on %s", quote_identifier(TRACK_TRUNCATE_TRIGGER_NAME),
						 ac_qualified_relname(leaf)),
				details.data);
}

/*
 * cover_partitions
 *		Give every leaf partition at or below relid that lies under a tracked
 *		table the truncate trigger of track(), if it lacks it.
 *
 * Statement triggers are not cloned to partitions, so a partition made or
 * attached after track() would otherwise be truncated with no event.  The
 * trigger is made as the owner of audit_chain.events, like the events
 * themselves: the partition's owner may not execute track_change().
 */
static void
cover_partitions(Oid relid)
{
	char		relkind = get_rel_relkind(relid);
	List	   *tree;
	ListCell   *lc;
	Oid			owner;

	if (relkind != RELKIND_PARTITIONED_TABLE &&
		!(relkind == RELKIND_RELATION && get_rel_relispartition(relid)))
		return;
	if (!OidIsValid(tracked_root(relid)))
		return;
	owner = ac_table_owner("events", true);
	if (!OidIsValid(owner))
		return;

	tree = find_all_inheritors(relid, AccessShareLock, NULL);
	foreach(lc, tree)
	{
		Oid			leaf = lfirst_oid(lc);
		Oid			root;

		if (get_rel_relkind(leaf) != RELKIND_RELATION)
			continue;
		root = tracked_root(leaf);
		if (!OidIsValid(root) || root == leaf ||
			has_own_trigger(leaf, TRACK_TRUNCATE_TRIGGER_NAME))
			continue;
		add_track_truncate_trigger(leaf, root, owner);
	}
	list_free(tree);
}

/*
 * replaying_dump
 *		True while a superuser replays a dump: pg_dump's scripts and
 *		pg_restore set check_function_bodies = off.  Such DDL recreates what
 *		was (its events come back with the dump), so it is not recorded
 *		again; recording it would also put fresh events into lanes that the
 *		restored events are about to take.  A superuser could silence the
 *		event triggers anyway, so this hides nothing more.  The session must
 *		act as a superuser, not only the function running: anyone may turn
 *		check_function_bodies off before calling a superuser's SECURITY
 *		DEFINER function that runs DDL.
 */
static bool
replaying_dump(void)
{
	return !check_function_bodies && superuser() && superuser_arg(GetOuterUserId());
}

/*
 * same_event
 *		True if an earlier row of this firing already queued the event of
 *		that action on that object: CREATE OR REPLACE VIEW collects the view
 *		twice (once as the ALTER TABLE it runs inside, once as the view),
 *		and is one statement, one event.
 */
static bool
same_event(List *seen, const char *action, const char *identity)
{
	ListCell   *lc;
	char	   *key = psprintf("%s\n%s", action, identity ? identity : "");

	foreach(lc, seen)
	{
		if (strcmp((const char *) lfirst(lc), key) == 0)
			return true;
	}
	return false;
}

/*
 * queue_admin_event
 *		Queue an admin event described by admin.c.
 */
static void
queue_admin_event(AdminEvent *ev)
{
	queue_event("admin", ev->action, ev->resource, ev->details);
}

/*
 * pending_has
 *		True if this transaction has an admin event of that action and
 *		resource queued.
 */
static bool
pending_has(const char *action, const char *resource)
{
	ListCell   *lc;

	foreach(lc, pending_events)
	{
		PendingEvent *ev = (PendingEvent *) lfirst(lc);

		if (strcmp(ev->action, action) == 0 && ev->resource != NULL &&
			strcmp(ev->resource, resource) == 0)
			return true;
	}
	return false;
}

/*
 * queue_cascaded_extensions
 *		After CREATE EXTENSION: one "create extension" event for each
 *		extension it pulled in through CASCADE, naming it, with the
 *		extension that required it (cascade_from).
 *
 * Event triggers collect only the extension the statement named.  Those it
 * pulled in are the extensions it requires (directly or through another)
 * whose pg_extension row this transaction inserted, and that have no event
 * queued yet (one made by an earlier statement of the transaction has its
 * own).
 */
static void
queue_cascaded_extensions(Oid extoid, const char *top)
{
	Relation	deprel;
	ScanKeyData keys[2];
	SysScanDesc scan;
	HeapTuple	tup;
	List	   *required = NIL;
	ListCell   *lc;

	deprel = table_open(DependRelationId, AccessShareLock);
	ScanKeyInit(&keys[0], Anum_pg_depend_classid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(ExtensionRelationId));
	ScanKeyInit(&keys[1], Anum_pg_depend_objid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(extoid));
	scan = systable_beginscan(deprel, DependDependerIndexId, true, NULL, 2, keys);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_depend dep = (Form_pg_depend) GETSTRUCT(tup);

		if (dep->refclassid == ExtensionRelationId && dep->deptype == DEPENDENCY_NORMAL)
			required = lappend_oid(required, dep->refobjid);
	}
	systable_endscan(scan);
	table_close(deprel, AccessShareLock);

	foreach(lc, required)
	{
		Oid			reqoid = lfirst_oid(lc);
		Relation	extrel = table_open(ExtensionRelationId, AccessShareLock);
		ScanKeyData key;
		char	   *name = NULL;

		ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber,
					F_OIDEQ, ObjectIdGetDatum(reqoid));
		scan = systable_beginscan(extrel, ExtensionOidIndexId, true, NULL, 1, &key);
		tup = systable_getnext(scan);
		if (HeapTupleIsValid(tup) &&
			TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(tup->t_data)))
			name = pstrdup(NameStr(((Form_pg_extension) GETSTRUCT(tup))->extname));
		systable_endscan(scan);
		table_close(extrel, AccessShareLock);

		if (name != NULL && !pending_has("create extension", name))
		{
			StringInfoData details;

			initStringInfo(&details);
			appendStringInfoChar(&details, '{');
			append_json_field(&details, "command_tag", "CREATE EXTENSION");
			append_json_field(&details, "object_type", "extension");
			append_json_field(&details, "schema", NULL);
			append_json_field(&details, "cascade_from", top);
			appendStringInfoChar(&details, '}');
			queue_event("admin", "create extension", name, details.data);
			queue_cascaded_extensions(reqoid, top);
		}
	}
}

/*
 * ddl_log
 *		Event trigger function, ddl_command_end and sql_drop: every DDL
 *		command, GRANT and REVOKE becomes an admin event, one per object the
 *		command collected (one per statement for GRANT and REVOKE, however
 *		many objects: admin.c says which), except DROP OWNED, which is one
 *		event naming its roles and every object whose privileges it revoked
 *		(and, from sql_drop, one per object it dropped).
 */
PG_FUNCTION_INFO_V1(audit_chain_ddl_log);
Datum
audit_chain_ddl_log(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	bool		dropping;
	bool		drop_owned;
	int			ret;
	SPITupleTable *tuptable;
	uint64		n;
	List	   *tables = NIL;
	List	   *seen = NIL;
	List	   *revokes = NIL;
	ListCell   *lc;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ddl_log: must be called as an event trigger")));
	if (replaying_dump() || creating_extension)
		PG_RETURN_VOID();
	trigdata = (EventTriggerData *) fcinfo->context;
	dropping = strcmp(trigdata->event, "sql_drop") == 0;
	drop_owned = trigdata->tag == CMDTAG_DROP_OWNED &&
		trigdata->parsetree != NULL && IsA(trigdata->parsetree, DropOwnedStmt);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (dropping)
		ret = SPI_execute("SELECT 'drop ' OPERATOR(pg_catalog.||) object_type, object_type, object_identity, schema_name, "
						  "NULL::pg_catalog.oid, NULL::pg_catalog.pg_ddl_command "
						  "FROM pg_catalog.pg_event_trigger_dropped_objects() "
						  "WHERE original AND NOT is_temporary", true, 0);
	else
		ret = SPI_execute("SELECT pg_catalog.lower(command_tag), object_type, object_identity, schema_name, "
						  "objid, command "
						  "FROM pg_catalog.pg_event_trigger_ddl_commands() "
						  "WHERE NOT in_extension AND (schema_name IS NULL OR NOT schema_name OPERATOR(pg_catalog.~~) 'pg\\_temp%')",
						  true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	tuptable = SPI_tuptable;
	n = SPI_processed;

	for (uint64 i = 0; i < n; i++)
	{
		char	   *action = SPI_getvalue(tuptable->vals[i], tuptable->tupdesc, 1);
		char	   *objtype = SPI_getvalue(tuptable->vals[i], tuptable->tupdesc, 2);
		char	   *identity = SPI_getvalue(tuptable->vals[i], tuptable->tupdesc, 3);
		char	   *schema = SPI_getvalue(tuptable->vals[i], tuptable->tupdesc, 4);
		StringInfoData details;
		bool		isnull;
		Oid			objid;
		CollectedCommand *cmd = NULL;

		objid = DatumGetObjectId(SPI_getbinval(tuptable->vals[i], tuptable->tupdesc, 5,
											   &isnull));
		if (isnull)
			objid = InvalidOid;
		if (!dropping)
		{
			Datum		d = SPI_getbinval(tuptable->vals[i], tuptable->tupdesc, 6, &isnull);

			if (!isnull)
				cmd = (CollectedCommand *) DatumGetPointer(d);
		}

		/* GRANT and REVOKE: what changed, from the collected command */
		if (cmd != NULL && cmd->type == SCT_Grant)
		{
			if (drop_owned)
				revokes = lappend(revokes, cmd);
			else
				queue_admin_event(ac_admin_describe_grant(cmd, trigdata->parsetree));
			continue;
		}
		if (cmd != NULL && cmd->type == SCT_AlterDefaultPrivileges &&
			cmd->parsetree != NULL && IsA(cmd->parsetree, AlterDefaultPrivilegesStmt))
		{
			queue_admin_event(ac_admin_describe_defprivs(cmd->parsetree));
			continue;
		}

		if (same_event(seen, action, identity))
			continue;
		seen = lappend(seen, psprintf("%s\n%s", action, identity ? identity : ""));

		initStringInfo(&details);
		appendStringInfoChar(&details, '{');
		append_json_field(&details, "command_tag", GetCommandTagName(trigdata->tag));
		append_json_field(&details, "object_type", objtype);
		append_json_field(&details, "schema", schema);
		appendStringInfoChar(&details, '}');
		queue_event("admin", action, identity, details.data);

		if (dropping || !OidIsValid(objid))
			continue;
		if (strcmp(objtype, "table") == 0)
			tables = lappend_oid(tables, objid);
		else if (strcmp(action, "create extension") == 0 && identity != NULL)
			queue_cascaded_extensions(objid, identity);
	}

	/* DROP OWNED: one event, whatever it revoked (and even if nothing) */
	if (drop_owned && !dropping)
		queue_admin_event(ac_admin_describe_drop_owned(trigdata->parsetree, revokes));

	/* a partition made or attached under a tracked table */
	foreach(lc, tables)
		cover_partitions(lfirst_oid(lc));
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * ac_events_utility_done
 *		From the utility hook, after a statement event triggers do not see
 *		has succeeded: queue the admin event admin.c described before it
 *		ran.  Active in sessions that have loaded the library;
 *		shared_preload_libraries (or session_preload_libraries) makes that
 *		every session.  Not while an extension script runs (as ddl_log) nor
 *		while a superuser replays a dump.
 */
void
ac_events_utility_done(AdminEvent *ev)
{
	if (!IsTransactionState() || RecoveryInProgress() || replaying_dump() ||
		creating_extension)
		return;
	queue_admin_event(ev);
}
