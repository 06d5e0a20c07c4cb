/*-------------------------------------------------------------------------
 *
 * events.c
 *	  Events the extension writes itself into audit_chain.events: row
 *	  changes of tracked tables.
 *
 * They are written as the owner of audit_chain.events, the way RI triggers
 * act as a table's owner, so that whoever changes a tracked table or runs
 * DDL needs no INSERT privilege on the event table, and cannot choose what
 * is written: db_role is set to the role that acted, and the function
 * only runs as a trigger.
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
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "port/pg_bswap.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/syscache.h"

#include "hash.h"

/*
 * events_owner
 *		The owner of audit_chain.events, or InvalidOid if the table does not
 *		exist in this database (the extension is not installed here).
 */
static Oid
events_owner(void)
{
	Oid			relid = RangeVarGetRelid(makeRangeVar("audit_chain", "events", -1),
										 AccessShareLock, true);
	HeapTuple	tup;
	Oid			owner;

	if (!OidIsValid(relid))
		return InvalidOid;
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

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
	Oid			owner = events_owner();
	Oid			save_userid;
	int			save_sec_context;
	Oid			argtypes[5] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, NAMEOID};
	Datum		args[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	NameData	role;
	int			ret;

	if (!OidIsValid(owner))
		return;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	namestrcpy(&role, GetUserNameFromId(save_userid, false));
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
	SetUserIdAndSecContext(owner, save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	ret = SPI_execute_with_args("INSERT INTO audit_chain.events "
								"(event_type, action, resource, details, db_role) "
								"VALUES ($1, $2, $3, $4::pg_catalog.jsonb, $5)",
								5, argtypes, args, nulls, false, 0);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
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
	return ac_canonical_text(&col->outfunc, col->typid, d, &len);
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
 * track_change
 *		AFTER INSERT OR UPDATE OR DELETE, FOR EACH ROW trigger that audit_chain
 *		.track() puts on a business table.  Arguments: 'values' or 'digests',
 *		then the tracked column names (none: every column).
 *
 * Writes one row_change event: the table, the operation, the primary key,
 * the changed columns, SHA-256 digests of the old and new tracked values,
 * and the values themselves only when asked for.  An UPDATE that changes
 * no tracked column writes nothing.
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

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("track_change: must be called as a trigger")));
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) || !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("track_change: must be fired AFTER, FOR EACH ROW")));

	rel = trigdata->tg_relation;
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

	qualname = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
										  RelationGetRelationName(rel));
	initStringInfo(&details);
	appendStringInfoChar(&details, '{');
	append_json_field(&details, "table", qualname);
	append_json_field(&details, "operation", op);

	/* the primary key, from the new row (the old one for DELETE) */
	pkattrs = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_PRIMARY_KEY);
	if (!bms_is_empty(pkattrs))
	{
		StringInfoData key;
		int			x = -1;
		HeapTuple	keytup = newtup ? newtup : oldtup;

		initStringInfo(&key);
		appendStringInfoChar(&key, '{');
		while ((x = bms_next_member(pkattrs, x)) >= 0)
		{
			AttrNumber	attnum = x + FirstLowInvalidHeapAttributeNumber;
			Form_pg_attribute att = TupleDescAttr(tupdesc, attnum - 1);
			bool		isnull;
			Datum		d = heap_getattr(keytup, attnum, tupdesc, &isnull);
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
		appendStringInfo(&details, ", \"key\": %s", key.data);
	}

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
