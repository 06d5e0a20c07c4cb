/*-------------------------------------------------------------------------
 *
 * retention.c
 *	  set_retention() and legal_hold(): how long the rows of a chained table
 *	  are kept, and the legal holds that stop archiving, purging and
 *	  redaction of them.
 *
 * Both follow protect.c's pattern: they run as their caller, who must own
 * the table (a superuser does); they check everything first, and only then
 * write the extension's own tables (audit_chain.retention_policies and
 * audit_chain.legal_hold_log), as those tables' owner, since nobody else
 * may write them.  Each change is also an admin event in
 * audit_chain.events, written at commit (events.c).
 *
 * A policy says, for one chained table:
 *	 keep			how long a row stays in the live table, counted from its
 *					chain_at: the retention period;
 *	 framework		the rule it follows (HIPAA, SOC 2, GDPR), or NULL;
 *	 archive_keep	how long an archived row is kept after that (it is purged
 *					once older than keep + archive_keep), or NULL: forever.
 * Archiving and purging are not here: they are to be built on this file's
 * tables and on ac_legal_hold_active().
 *
 * Every SQL text run here names its objects with their schema and its
 * operators with OPERATOR(pg_catalog.x), and the SQL declarations fix
 * search_path = pg_catalog, pg_temp.
 *
 * IDENTIFICATION
 *	  src/retention.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "chaintable.h"
#include "compat.h"
#include "events.h"
#include "registry.h"
#include "relname.h"
#include "retention.h"

/*
 * A retention framework set_retention() knows: its name as stored, its
 * default (and minimum) retention period, or NULL if it has none, and
 * where that period comes from.
 */
typedef struct RetentionFramework
{
	const char *name;			/* as stored in retention_policies.framework */
	const char *preset;			/* interval text, or NULL */
	const char *source;			/* for error details */
} RetentionFramework;

static const RetentionFramework frameworks[] = {
	{"HIPAA", "6 years",
	"HIPAA (45 CFR 164.316(b)(2)(i)) requires documentation to be retained for six years from its creation or the date when it last was in effect."},
	{"SOC 2", "1 year",
	"SOC 2 reports cover an observation period of up to twelve months, so auditors ask for at least one year of audit logs."},
	{"GDPR", NULL,
	"GDPR Art. 5(1)(e) requires personal data to be kept no longer than is necessary for the purposes of the processing; only the controller can say how long that is."},
};

/* What the newest row of audit_chain.legal_hold_log says of one table */
typedef struct LegalHoldState
{
	bool		found;			/* is there a row at all? */
	bool		held;
	TimestampTz set_at;
	char	   *set_by;
	char	   *reason;
} LegalHoldState;

/*
 * find_framework
 *		The framework named name (case-insensitive, spaces and hyphens
 *		ignored: "SOC 2", "soc2" and "SOC-2" are one), or an error listing
 *		the known ones.
 */
static const RetentionFramework *
find_framework(const char *name)
{
	StringInfoData want;

	initStringInfo(&want);
	for (const char *p = name; *p; p++)
		if (*p != ' ' && *p != '-')
			appendStringInfoChar(&want, pg_toupper((unsigned char) *p));

	for (int i = 0; i < lengthof(frameworks); i++)
	{
		StringInfoData have;

		initStringInfo(&have);
		for (const char *p = frameworks[i].name; *p; p++)
			if (*p != ' ')
				appendStringInfoChar(&have, *p);
		if (want.len > 0 && strcmp(want.data, have.data) == 0)
			return &frameworks[i];
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown retention framework \"%s\"", name),
			 errhint("Known frameworks: HIPAA (six years), SOC 2 (one year), GDPR (no default: pass keep). Pass NULL for a policy of your own.")));
	return NULL;				/* keep compiler quiet */
}

/*
 * interval_text
 *		An interval as the session writes it (IntervalStyle), for messages.
 */
static char *
interval_text(Interval *span)
{
	return DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(span)));
}

/*
 * interval_iso
 *		An interval in ISO 8601 ("P6Y"), for the JSON of events: the same
 *		whatever the session's IntervalStyle.
 */
static char *
interval_iso(Interval *span)
{
	struct pg_itm itm;
	char		buf[MAXDATELEN + 1];

	interval2itm(*span, &itm);
	EncodeInterval(&itm, INTSTYLE_ISO_8601, buf);
	return pstrdup(buf);
}

/*
 * interval_seconds
 *		The length of an interval in seconds as extract(epoch) counts it: a
 *		year is 365.25 days, a month 30 days.
 *
 * Not the interval comparison operators, which count a year as 360 days:
 * by them '364 days' is longer than '1 year', and '2160 days' (five
 * years and eleven months) as long as '6 years'.
 */
static float8
interval_seconds(Interval *span)
{
	return DatumGetFloat8(DirectFunctionCall2(interval_part,
											  CStringGetTextDatum("epoch"),
											  IntervalPGetDatum(span)));
}

/*
 * interval_positive
 *		Whether span is longer than zero both by extract(epoch) and by the
 *		interval comparison operators (which the tables' CHECK constraints
 *		use): '1 month -30 days' is not, nor is '1 year -365 days'.
 */
static bool
interval_positive(Interval *span)
{
	Interval   *zero = palloc0(sizeof(Interval));

	return interval_seconds(span) > 0 &&
		DatumGetBool(DirectFunctionCall2(interval_gt, IntervalPGetDatum(span),
										 IntervalPGetDatum(zero)));
}

/*
 * parse_interval
 *		An interval from its text (the presets).
 */
static Interval *
parse_interval(const char *text)
{
	return DatumGetIntervalP(DirectFunctionCall3(interval_in, CStringGetDatum(text),
												 ObjectIdGetDatum(InvalidOid),
												 Int32GetDatum(-1)));
}

/*
 * ac_check_table_owner
 *		Check that relation relid exists and that the caller owns it (or is a
 *		member of its owner, or a superuser).  Returns its name for messages.
 *		Checked before any lock is taken on it, as RangeVarGetRelidExtended's
 *		callbacks do, so that nobody can queue a lock on a table that is not
 *		theirs.
 */
char *
ac_check_table_owner(Oid relid)
{
	HeapTuple	tup;
	Form_pg_class form;
	char	   *display;
	char		relkind;

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	form = (Form_pg_class) GETSTRUCT(tup);
	display = ac_quote_relname(form->relnamespace, NameStr(form->relname), true);
	relkind = form->relkind;
	ReleaseSysCache(tup);

	if (!ac_table_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, get_relkind_objtype(relkind), display);
	return display;
}

/*
 * open_chained_target
 *		Check that relid is a chained table the caller owns, and lock it in
 *		AC_RETENTION_LOCKMODE, which serializes set_retention() and
 *		legal_hold() of one table with each other, with unprotect() and with
 *		DDL, but not with readers and writers.  Ownership is checked again
 *		once the lock is held: the table may have been given away meanwhile.
 *		Returns the table's name for messages.
 */
static char *
open_chained_target(Oid relid)
{
	(void) ac_check_table_owner(relid);
	(void) ac_check_chained_table(relid, AC_RETENTION_LOCKMODE);
	return ac_check_table_owner(relid);
}

/*
 * column_number
 *		The attribute number of column name of rel, which the install script
 *		made (the DDL guard keeps the extension's tables as they are).
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
 * read_legal_hold
 *		What the newest row of audit_chain.legal_hold_log says of table
 *		relid, read with a snapshot taken now: holds committed before the
 *		call and those of the current transaction are seen.
 *
 * Read directly through the index on (tbl, id), not through SPI, so that it
 * needs no privilege on the log, can be called by C code whether or not it
 * is connected to SPI, and sees committed holds under any isolation level.
 */
static void
read_legal_hold(Oid relid, LegalHoldState *state)
{
	Oid			logid = ac_extension_relid("legal_hold_log");
	Oid			indexid = ac_extension_relid("legal_hold_log_tbl_idx");
	Relation	rel;
	Relation	index;
	ScanKeyData key;
	SysScanDesc scan;
	Snapshot	snapshot;
	HeapTuple	tup;

	memset(state, 0, sizeof(LegalHoldState));
	if (!OidIsValid(logid))
		return;					/* the extension is being created or dropped */
	if (!OidIsValid(indexid))
		elog(ERROR, "index audit_chain.legal_hold_log_tbl_idx is missing");

	rel = table_open(logid, AccessShareLock);
	index = index_open(indexid, AccessShareLock);
	ScanKeyInit(&key, column_number(rel, "tbl"), BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = systable_beginscan_ordered(rel, index, snapshot, 1, &key);

	/* the highest id: the rows of one table are written one at a time */
	tup = systable_getnext_ordered(scan, BackwardScanDirection);
	if (HeapTupleIsValid(tup))
	{
		TupleDesc	tupdesc = RelationGetDescr(rel);
		bool		isnull;
		Datum		d;

		state->found = true;
		state->held = DatumGetBool(heap_getattr(tup, column_number(rel, "hold"),
												tupdesc, &isnull));
		state->set_at = DatumGetTimestampTz(heap_getattr(tup, column_number(rel, "set_at"),
														 tupdesc, &isnull));
		state->set_by = pstrdup(NameStr(*DatumGetName(heap_getattr(tup, column_number(rel, "set_by"),
																   tupdesc, &isnull))));
		d = heap_getattr(tup, column_number(rel, "reason"), tupdesc, &isnull);
		state->reason = isnull ? NULL : TextDatumGetCString(d);
	}

	systable_endscan_ordered(scan);
	UnregisterSnapshot(snapshot);
	index_close(index, AccessShareLock);
	table_close(rel, AccessShareLock);
}

/*
 * ac_legal_hold_active
 *		Whether chained table relid is under legal hold now.  For the code
 *		that archives, purges or redacts rows, which must refuse while a hold
 *		is on.
 *
 * It sees every hold committed before it is called, and those of the
 * current transaction.  A caller that must not race a hold being placed
 * holds AC_RETENTION_LOCKMODE (or a stronger lock) on the table first, as
 * legal_hold() does: then a hold is either committed before the check, or
 * waits for the caller's transaction to end.
 */
bool
ac_legal_hold_active(Oid relid)
{
	LegalHoldState state;

	read_legal_hold(relid, &state);
	return state.held;
}

/*
 * ac_check_no_legal_hold
 *		Raise an error if table relid is under legal hold: "cannot <action>
 *		"tbl", which is under legal hold", with when, by whom and why.
 *		action is a verb phrase, e.g. "unprotect" or "archive rows of".
 */
void
ac_check_no_legal_hold(Oid relid, const char *action)
{
	LegalHoldState state;

	read_legal_hold(relid, &state);
	if (state.held)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot %s \"%s\", which is under legal hold",
						action, ac_display_relname(relid)),
				 errdetail("The hold was placed at %s by %s, for \"%s\".",
						   timestamptz_to_str(state.set_at), state.set_by,
						   state.reason ? state.reason : ""),
				 errhint("Release the hold first with audit_chain.legal_hold(tbl, false, reason).")));
}

/*
 * append_json_text
 *		Append "key": "value" (or null) to a JSON object being built in buf.
 */
static void
append_json_text(StringInfo buf, const char *key, const char *value)
{
	if (buf->len > 1)
		appendStringInfoString(buf, ", ");
	escape_json(buf, key);
	appendStringInfoString(buf, ": ");
	if (value != NULL)
		escape_json(buf, value);
	else
		appendStringInfoString(buf, "null");
}

/*
 * policy_json
 *		A policy as a JSON object's text, for the events: intervals in
 *		ISO 8601.  Any of the values may be NULL.
 */
static char *
policy_json(Interval *keep, const char *framework, Interval *archive_keep)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	append_json_text(&buf, "keep", keep ? interval_iso(keep) : NULL);
	append_json_text(&buf, "framework", framework);
	append_json_text(&buf, "archive_keep", archive_keep ? interval_iso(archive_keep) : NULL);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/*
 * previous_policy_json
 *		The policy the table has now, as policy_json() writes it, or NULL if
 *		it has none.  Read as the policies' owner: the caller need not be
 *		allowed to read them.  The caller is connected to SPI.
 */
static char *
previous_policy_json(Oid owner, Oid relid)
{
	Oid			argtypes[1] = {REGCLASSOID};
	Datum		args[1];
	HeapTuple	tup;
	TupleDesc	tupdesc;
	bool		isnull[3];
	Datum		values[3];

	args[0] = ObjectIdGetDatum(relid);
	if (ac_execute_as(owner, NULL,
					  "SELECT keep, framework, archive_keep "
					  "FROM audit_chain.retention_policies "
					  "WHERE tbl OPERATOR(pg_catalog.=) $1",
					  1, argtypes, args, NULL) != SPI_OK_SELECT)
		elog(ERROR, "could not read the retention policy");
	if (SPI_processed == 0)
		return NULL;
	tup = SPI_tuptable->vals[0];
	tupdesc = SPI_tuptable->tupdesc;
	for (int i = 0; i < 3; i++)
		values[i] = SPI_getbinval(tup, tupdesc, i + 1, &isnull[i]);
	return policy_json(isnull[0] ? NULL : DatumGetIntervalP(values[0]),
					   isnull[1] ? NULL : TextDatumGetCString(values[1]),
					   isnull[2] ? NULL : DatumGetIntervalP(values[2]));
}

/*
 * set_retention(tbl regclass, keep interval DEFAULT NULL,
 *				 framework text DEFAULT NULL,
 *				 archive_keep interval DEFAULT NULL) RETURNS void
 *		Set (or replace) the retention policy of a chained table the caller
 *		owns.  keep: how long rows stay in the live table, counted from
 *		chain_at; NULL takes the framework's preset.  framework: 'HIPAA'
 *		(six years), 'SOC 2' (one year), 'GDPR' (no preset: keep must be
 *		given), or NULL; a keep shorter than the framework's period is
 *		refused.  archive_keep: how long archived rows are kept after keep,
 *		NULL for ever.
 *
 * A framework's period is a minimum, and a policy labelled with it that
 * keeps rows for less would put a false statement in the Art. 30 register
 * and mislead whoever relies on the label: so it is refused, not warned
 * about.  A policy of one's own (framework NULL) takes any positive keep.
 */
PG_FUNCTION_INFO_V1(audit_chain_set_retention);
Datum
audit_chain_set_retention(PG_FUNCTION_ARGS)
{
	Oid			relid;
	Interval   *keep = PG_ARGISNULL(1) ? NULL : PG_GETARG_INTERVAL_P(1);
	const RetentionFramework *fw = NULL;
	Interval   *archive_keep = PG_ARGISNULL(3) ? NULL : PG_GETARG_INTERVAL_P(3);
	char	   *display;
	Oid			owner;
	char	   *previous;
	StringInfoData details;
	Oid			argtypes[4] = {REGCLASSOID, INTERVALOID, TEXTOID, INTERVALOID};
	Datum		args[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table must not be NULL")));
	relid = PG_GETARG_OID(0);
	if (!PG_ARGISNULL(2))
		fw = find_framework(text_to_cstring(PG_GETARG_TEXT_PP(2)));

	if (keep == NULL)
	{
		if (fw == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("keep must not be NULL"),
					 errhint("Pass an interval, such as interval '1 year', or a framework with a preset: HIPAA (six years) or SOC 2 (one year).")));
		if (fw->preset == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s sets no retention period: the controller must choose keep",
							fw->name),
					 errdetail("%s", fw->source),
					 errhint("Pass keep, for example audit_chain.set_retention(tbl, interval '2 years', '%s').",
							 fw->name)));
		keep = parse_interval(fw->preset);
	}
	if (!interval_positive(keep))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("keep must be a positive interval, not %s", interval_text(keep)),
				 errhint("keep is how long rows stay in the live table, counted from chain_at.")));
	if (fw != NULL && fw->preset != NULL)
	{
		Interval   *minimum = parse_interval(fw->preset);

		if (interval_seconds(keep) < interval_seconds(minimum))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("keep %s is shorter than the %s retention period of %s",
							interval_text(keep), fw->name, interval_text(minimum)),
					 errdetail("%s", fw->source),
					 errhint("Pass a keep of at least %s (or NULL for exactly that), or framework NULL for a policy of your own.",
							 interval_text(minimum))));
	}
	if (archive_keep != NULL && !interval_positive(archive_keep))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("archive_keep must be a positive interval, not %s",
						interval_text(archive_keep)),
				 errhint("archive_keep is how long archived rows are kept after keep; pass NULL to keep them for ever.")));

	display = open_chained_target(relid);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	owner = ac_table_owner("retention_policies", false);
	previous = previous_policy_json(owner, relid);

	args[0] = ObjectIdGetDatum(relid);
	args[1] = IntervalPGetDatum(keep);
	if (fw != NULL)
		args[2] = CStringGetTextDatum(fw->name);
	else
		nulls[2] = 'n';
	if (archive_keep != NULL)
		args[3] = IntervalPGetDatum(archive_keep);
	else
		nulls[3] = 'n';
	if (ac_execute_as(owner, NULL,
					  "INSERT INTO audit_chain.retention_policies AS p "
					  "(tbl, keep, framework, archive_keep) VALUES ($1, $2, $3, $4) "
					  "ON CONFLICT (tbl) DO UPDATE SET keep = EXCLUDED.keep, "
					  "framework = EXCLUDED.framework, archive_keep = EXCLUDED.archive_keep, "
					  "set_at = EXCLUDED.set_at, set_by = EXCLUDED.set_by",
					  4, argtypes, args, nulls) != SPI_OK_INSERT)
		elog(ERROR, "could not store the retention policy");
	SPI_finish();

	initStringInfo(&details);
	appendStringInfoChar(&details, '{');
	append_json_text(&details, "table", display);
	appendStringInfoString(&details, ", \"policy\": ");
	appendStringInfoString(&details, policy_json(keep, fw ? fw->name : NULL, archive_keep));
	appendStringInfoString(&details, ", \"previous\": ");
	appendStringInfoString(&details, previous ? previous : "null");
	appendStringInfoChar(&details, '}');
	ac_events_queue_admin("set retention", display, details.data);

	PG_RETURN_VOID();
}

/*
 * ac_retention_forget
 *		unprotect(): a table that is no longer chained has nothing to archive
 *		or purge, so its retention policy goes (recorded as a "drop
 *		retention" event with the policy it had).  Every policy thus names a
 *		chained table, and none is left to point at a dropped table's OID,
 *		which a dump would carry to a restored cluster where another table
 *		may have it.  The caller holds a lock on the table that conflicts
 *		with AC_RETENTION_LOCKMODE.
 */
void
ac_retention_forget(Oid relid, const char *display)
{
	Oid			owner = ac_table_owner("retention_policies", false);
	Oid			argtypes[1] = {REGCLASSOID};
	Datum		args[1];
	char	   *previous;
	StringInfoData details;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	previous = previous_policy_json(owner, relid);
	if (previous != NULL)
	{
		args[0] = ObjectIdGetDatum(relid);
		(void) ac_execute_as(owner, NULL,
							 "DELETE FROM audit_chain.retention_policies "
							 "WHERE tbl OPERATOR(pg_catalog.=) $1",
							 1, argtypes, args, NULL);
	}
	SPI_finish();
	if (previous == NULL)
		return;

	initStringInfo(&details);
	appendStringInfoChar(&details, '{');
	append_json_text(&details, "table", display);
	appendStringInfoString(&details, ", \"previous\": ");
	appendStringInfoString(&details, previous);
	append_json_text(&details, "cause", "unprotect");
	appendStringInfoChar(&details, '}');
	ac_events_queue_admin("drop retention", display, details.data);
}

/*
 * legal_hold(tbl regclass, "on" boolean, reason text) RETURNS void
 *		Place (on = true) or release (on = false) a legal hold on a chained
 *		table the caller owns.  While it is on, the table's rows may not be
 *		archived, purged or redacted, and the table may not be unprotected.
 *		reason is required to place a hold (the matter it is for), optional
 *		to release one.  Every hold and release is a row of
 *		audit_chain.legal_hold_log and an admin event.
 *
 * One hold covers a table: placing a second, or releasing one that is not
 * on, is an error rather than a silent no-op, so that the log never shows
 * a change that did not happen.
 */
PG_FUNCTION_INFO_V1(audit_chain_legal_hold);
Datum
audit_chain_legal_hold(PG_FUNCTION_ARGS)
{
	Oid			relid;
	bool		on;
	char	   *reason = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	char	   *display;
	LegalHoldState state;
	Oid			argtypes[4] = {REGCLASSOID, TEXTOID, BOOLOID, TEXTOID};
	Datum		args[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	StringInfoData details;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table must not be NULL")));
	relid = PG_GETARG_OID(0);
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("on must not be NULL"),
				 errhint("Pass true to place a legal hold, false to release it.")));
	on = PG_GETARG_BOOL(1);

	/* a blank reason is no reason */
	if (reason != NULL && strspn(reason, " \t\n\r\f\v") == strlen(reason))
		reason = NULL;
	if (on && reason == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a legal hold needs a reason"),
				 errhint("Name the matter the hold is for, such as a case or request number.")));

	display = open_chained_target(relid);

	read_legal_hold(relid, &state);
	if (on && state.held)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" is already under legal hold", display),
				 errdetail("The hold was placed at %s by %s, for \"%s\".",
						   timestamptz_to_str(state.set_at), state.set_by,
						   state.reason ? state.reason : ""),
				 errhint("One hold covers every matter; to change its reason, release it and place it again.")));
	if (!on && !state.held)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" is not under legal hold", display)));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	args[0] = ObjectIdGetDatum(relid);
	args[1] = CStringGetTextDatum(display);
	args[2] = BoolGetDatum(on);
	if (reason != NULL)
		args[3] = CStringGetTextDatum(reason);
	else
		nulls[3] = 'n';
	if (ac_execute_as(ac_table_owner("legal_hold_log", false), NULL,
					  "INSERT INTO audit_chain.legal_hold_log (tbl, tbl_name, hold, reason) "
					  "VALUES ($1, $2, $3, $4)",
					  4, argtypes, args, nulls) != SPI_OK_INSERT)
		elog(ERROR, "could not record the legal hold");
	SPI_finish();

	/* the row is seen by the next read_legal_hold() of this transaction */
	CommandCounterIncrement();

	initStringInfo(&details);
	appendStringInfoChar(&details, '{');
	append_json_text(&details, "table", display);
	appendStringInfo(&details, ", \"on\": %s", on ? "true" : "false");
	append_json_text(&details, "reason", reason);
	appendStringInfoChar(&details, '}');
	ac_events_queue_admin(on ? "legal hold on" : "legal hold off", display, details.data);

	PG_RETURN_VOID();
}
