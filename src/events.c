/*-------------------------------------------------------------------------
 *
 * events.c
 *	  Events the extension writes itself into audit_chain.events: row
 *	  changes of tracked tables, DDL and privilege changes, role changes.
 *
 * They are written as the owner of audit_chain.events, the way RI triggers
 * act as a table's owner, so that whoever changes a tracked table or runs
 * DDL needs no INSERT privilege on the event table, and cannot choose what
 * is written: db_role is set to the role that acted, and the functions
 * only run as triggers (or from the utility hook).
 *
 * IDENTIFICATION
 *	  src/events.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "port/pg_bswap.h"
#include "tcop/cmdtag.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/syscache.h"

#include "events.h"
#include "hash.h"
#include "registry.h"

static ProcessUtility_hook_type prev_process_utility = NULL;

/*
 * append_event
 *		Insert one event as the owner of audit_chain.events, attributed to
 *		the current role.  Columns not given take their defaults (actor,
 *		purpose, data_subject ... from the session's settings).  Does nothing
 *		if the extension is not installed in this database.
 */
static void
append_event(const char *event_type, const char *action, const char *resource,
			 const char *details_json)
{
	Oid			owner = ac_table_owner("events", true);
	Oid			argtypes[5] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, NAMEOID};
	Datum		args[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	NameData	role;
	int			ret;

	if (!OidIsValid(owner))
		return;

	namestrcpy(&role, GetUserNameFromId(GetUserId(), false));
	args[0] = CStringGetTextDatum(event_type);
	args[1] = CStringGetTextDatum(action);
	if (resource != NULL)
		args[2] = CStringGetTextDatum(resource);
	else
		nulls[2] = 'n';
	if (details_json != NULL)
		args[3] = CStringGetTextDatum(details_json);
	else
		nulls[3] = 'n';
	args[4] = NameGetDatum(&role);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ret = ac_execute_as(owner, NULL,
						"INSERT INTO audit_chain.events "
						"(event_type, action, resource, details, db_role) "
						"VALUES ($1, $2, $3, $4::pg_catalog.jsonb, $5)",
						5, argtypes, args, nulls);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "unexpected SPI result: %s", SPI_result_code_string(ret));
	SPI_finish();
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
 *		SHA-256, as hex, of the tracked columns of a row, built like the v1
 *		row hash: for each non-NULL column, uint32_be(len(name)) || name ||
 *		SHA-256(canonical text).
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
		uint8		coldigest[AC_HASH_LEN];
		uint32		be;
		int			namelen = strlen(cols[i].name);

		if (texts[i] == NULL)
			continue;
		ac_sha256(texts[i], strlen(texts[i]), coldigest);
		be = pg_hton32((uint32) namelen);
		appendBinaryStringInfo(&buf, (char *) &be, 4);
		appendBinaryStringInfo(&buf, cols[i].name, namelen);
		appendBinaryStringInfo(&buf, (char *) coldigest, AC_HASH_LEN);
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
 * tracked_table_name
 *		The table track() was called on: the table itself, or, for a trigger
 *		cloned onto a partition, the top of the partition tree.
 */
static char *
tracked_table_name(Relation rel, Trigger *trigger)
{
	Oid			relid = RelationGetRelid(rel);

	if (trigger->tgisclone && rel->rd_rel->relispartition)
	{
		List	   *ancestors = get_partition_ancestors(relid);

		relid = llast_oid(ancestors);
		list_free(ancestors);
	}
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
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
PG_FUNCTION_INFO_V1(track_change);
Datum
track_change(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	tupdesc;
	Trigger    *trigger;
	bool		with_values;
	TrackedColumn *cols;
	int			ncols = 0;
	HeapTuple	oldtup = NULL,
				newtup = NULL;
	char	  **oldtexts,
			  **newtexts;
	bool	   *changed;
	int			nchanged = 0;
	const char *op;
	StringInfoData details;
	char	   *qualname;
	int			nestlevel;
	Bitmapset  *pkattrs;
	char	   *missing;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("track_change: must be called as a trigger")));
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("track_change: must be fired AFTER")));

	rel = trigdata->tg_relation;
	qualname = tracked_table_name(rel, trigdata->tg_trigger);

	if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
	{
		initStringInfo(&details);
		appendStringInfoChar(&details, '{');
		append_json_field(&details, "table", qualname);
		append_json_field(&details, "operation", "truncate");
		appendStringInfoChar(&details, '}');
		append_event("row_change", "truncate", qualname, details.data);
		return PointerGetDatum(NULL);
	}
	if (!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("track_change: must be fired FOR EACH ROW, or by TRUNCATE")));

	tupdesc = RelationGetDescr(rel);
	trigger = trigdata->tg_trigger;
	if (trigger->tgnargs < 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("track_change: trigger \"%s\" has no arguments", trigger->tgname)));
	with_values = strcmp(trigger->tgargs[0], "values") == 0;

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		op = "insert";
		newtup = trigdata->tg_trigtuple;
	}
	else if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		op = "update";
		oldtup = trigdata->tg_trigtuple;
		newtup = trigdata->tg_newtuple;
	}
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
	{
		op = "delete";
		oldtup = trigdata->tg_trigtuple;
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("track_change: must be fired by INSERT, UPDATE or DELETE")));

	/* the tracked columns: the listed ones, or every live column */
	missing = missing_columns(tupdesc, trigger);
	cols = palloc0(sizeof(TrackedColumn) * tupdesc->natts);
	for (int i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		bool		wanted = trigger->tgnargs == 1;
		Oid			outfn;
		bool		isvarlena;

		if (att->attisdropped)
			continue;
		for (int a = 1; !wanted && a < trigger->tgnargs; a++)
			wanted = strcmp(trigger->tgargs[a], NameStr(att->attname)) == 0;
		if (!wanted)
			continue;
		cols[ncols].attnum = att->attnum;
		cols[ncols].name = NameStr(att->attname);
		cols[ncols].typid = att->atttypid;
		getTypeOutputInfo(att->atttypid, &outfn, &isvarlena);
		fmgr_info(outfn, &cols[ncols].outfunc);
		ncols++;
	}

	oldtexts = palloc0(sizeof(char *) * Max(ncols, 1));
	newtexts = palloc0(sizeof(char *) * Max(ncols, 1));
	changed = palloc0(sizeof(bool) * Max(ncols, 1));
	nestlevel = ac_enter_canonical_settings();
	for (int i = 0; i < ncols; i++)
	{
		if (oldtup)
			oldtexts[i] = column_text(&cols[i], oldtup, tupdesc);
		if (newtup)
			newtexts[i] = column_text(&cols[i], newtup, tupdesc);
		if (oldtup && newtup)
			changed[i] = (oldtexts[i] == NULL) != (newtexts[i] == NULL) ||
				(oldtexts[i] != NULL && strcmp(oldtexts[i], newtexts[i]) != 0);
		else
			changed[i] = (oldtup ? oldtexts[i] : newtexts[i]) != NULL;
		if (changed[i])
			nchanged++;
	}

	/* a no-op update of the tracked columns is not an event */
	if (oldtup && newtup && nchanged == 0)
	{
		ac_leave_canonical_settings(nestlevel);
		return PointerGetDatum(NULL);
	}

	initStringInfo(&details);
	appendStringInfoChar(&details, '{');
	append_json_field(&details, "table", qualname);
	append_json_field(&details, "operation", op);
	if (rel->rd_rel->relispartition)
		append_json_field(&details, "partition",
						  quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
													 RelationGetRelationName(rel)));

	/* the primary key, from the new row (the old one for DELETE) */
	pkattrs = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_PRIMARY_KEY);
	if (!bms_is_empty(pkattrs))
	{
		char	   *key = key_json(rel, pkattrs, newtup ? newtup : oldtup);

		appendStringInfo(&details, ", \"key\": %s", key);
		if (oldtup && newtup)
		{
			char	   *oldkey = key_json(rel, pkattrs, oldtup);

			if (strcmp(oldkey, key) != 0)
				appendStringInfo(&details, ", \"old_key\": %s", oldkey);
		}
	}
	if (missing != NULL)
		appendStringInfo(&details, ", \"missing_columns\": %s", missing);

	appendStringInfoString(&details, ", \"changed\": [");
	for (int i = 0, n = 0; i < ncols; i++)
	{
		if (!changed[i])
			continue;
		if (n++ > 0)
			appendStringInfoString(&details, ", ");
		escape_json(&details, cols[i].name);
	}
	appendStringInfoChar(&details, ']');
	if (oldtup)
		append_json_field(&details, "old_digest", row_digest(cols, ncols, oldtexts));
	if (newtup)
		append_json_field(&details, "new_digest", row_digest(cols, ncols, newtexts));
	if (with_values)
	{
		if (oldtup)
			append_values(&details, "old", cols, ncols, oldtexts, newtup ? changed : NULL);
		if (newtup)
			append_values(&details, "new", cols, ncols, newtexts, oldtup ? changed : NULL);
	}
	appendStringInfoChar(&details, '}');
	ac_leave_canonical_settings(nestlevel);

	append_event("row_change", op, qualname, details.data);
	return PointerGetDatum(NULL);
}

/*
 * replaying_dump
 *		True while a superuser replays a dump: pg_dump's scripts and
 *		pg_restore set check_function_bodies = off.  Such DDL recreates what
 *		was (its events come back with the dump), so it is not recorded
 *		again; recording it would also put fresh events into lanes that the
 *		restored events are about to take.  A superuser could silence the
 *		event triggers anyway, so this hides nothing more.
 */
static bool
replaying_dump(void)
{
	return !check_function_bodies && superuser();
}

/*
 * ddl_log
 *		Event trigger function, ddl_command_end and sql_drop: every DDL
 *		command, GRANT and REVOKE becomes an admin event.
 */
PG_FUNCTION_INFO_V1(ddl_log);
Datum
ddl_log(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	bool		dropping;
	int			ret;
	SPITupleTable *tuptable;
	uint64		n;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ddl_log: must be called as an event trigger")));
	if (replaying_dump() || creating_extension)
		PG_RETURN_VOID();
	trigdata = (EventTriggerData *) fcinfo->context;
	dropping = strcmp(trigdata->event, "sql_drop") == 0;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (dropping)
		ret = SPI_execute("SELECT 'drop ' || object_type, object_type, object_identity, schema_name "
						  "FROM pg_catalog.pg_event_trigger_dropped_objects() "
						  "WHERE original AND NOT is_temporary", true, 0);
	else
		ret = SPI_execute("SELECT pg_catalog.lower(command_tag), object_type, object_identity, schema_name "
						  "FROM pg_catalog.pg_event_trigger_ddl_commands() "
						  "WHERE NOT in_extension AND (schema_name IS NULL OR schema_name NOT LIKE 'pg\\_temp%')",
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

		initStringInfo(&details);
		appendStringInfoChar(&details, '{');
		append_json_field(&details, "command_tag", GetCommandTagName(trigdata->tag));
		append_json_field(&details, "object_type", objtype);
		append_json_field(&details, "schema", schema);
		appendStringInfoChar(&details, '}');
		append_event("admin", action, identity, details.data);
	}
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * role_command
 *		The action of a role or role-membership statement (and the role it
 *		names, if one), or NULL for any other statement.
 */
static const char *
role_command(Node *parsetree, const char **role)
{
	*role = NULL;
	switch (nodeTag(parsetree))
	{
		case T_CreateRoleStmt:
			*role = ((CreateRoleStmt *) parsetree)->role;
			return "create role";
		case T_AlterRoleStmt:
			*role = get_rolespec_name(((AlterRoleStmt *) parsetree)->role);
			return "alter role";
		case T_AlterRoleSetStmt:
			if (((AlterRoleSetStmt *) parsetree)->role != NULL &&
				((AlterRoleSetStmt *) parsetree)->role->roletype != ROLESPEC_PUBLIC)
				*role = get_rolespec_name(((AlterRoleSetStmt *) parsetree)->role);
			return "alter role set";
		case T_DropRoleStmt:
			return "drop role";
		case T_GrantRoleStmt:
			return ((GrantRoleStmt *) parsetree)->is_grant ? "grant role" : "revoke role";
		case T_RenameStmt:
			if (((RenameStmt *) parsetree)->renameType == OBJECT_ROLE)
			{
				*role = ((RenameStmt *) parsetree)->subname;
				return "alter role rename";
			}
			return NULL;
		default:
			return NULL;
	}
}

/*
 * ac_process_utility
 *		Utility hook: role changes, which event triggers do not see, become
 *		admin events once they succeed.  Active in sessions that have loaded
 *		the library; shared_preload_libraries makes that every session.
 */
static void
ac_process_utility(PlannedStmt *pstmt, const char *queryString,
				   bool readOnlyTree, ProcessUtilityContext context,
				   ParamListInfo params, QueryEnvironment *queryEnv,
				   DestReceiver *dest, QueryCompletion *qc)
{
	const char *role = NULL;
	const char *command = role_command(pstmt->utilityStmt, &role);
	char	   *rolename = role ? pstrdup(role) : NULL;

	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, readOnlyTree, context, params,
							 queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);

	if (command != NULL && IsTransactionState() && !RecoveryInProgress() &&
		!replaying_dump())
	{
		StringInfoData details;

		/* not the statement text: it can hold a password */
		initStringInfo(&details);
		appendStringInfoChar(&details, '{');
		append_json_field(&details, "command_tag", command);
		appendStringInfoChar(&details, '}');
		append_event("admin", command, rolename, details.data);
	}
}

/*
 * ac_events_init
 *		Install the utility hook; called from _PG_init.
 */
void
ac_events_init(void)
{
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = ac_process_utility;
}
