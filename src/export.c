/*-------------------------------------------------------------------------
 *
 * export.c
 *	  export_segment(): the rows of a chained table as a segment file, JSON
 *	  Lines that a verifier checks with no database at all.
 *
 * The file is specified in doc/checkpoints.md, section 4: a header (the
 * table, its hashed columns, and for each exported lane the point its first
 * exported row links to), one line per row with the canonical text of every
 * hashed column (doc/hash-format.md, section 3; made by encode.c, the same
 * code that the seal trigger hashes with), and a trailer with the counts.
 * Each lane's rows come in chain_seq order, those of the archive table
 * first, then the live ones.
 *
 * Nothing here checks the chain: a row is written as it is stored, also a
 * tampered one, so that the verifier finds what verify_chain() would.  The
 * one exception is a redaction record that the file cannot express (it
 * names a column that holds a value): that is an error rather than a file
 * that would verify.
 *
 * The rows are read through the executor in one snapshot (the statement's),
 * a batch at a time, and go into the result's tuplestore, which stays in
 * work_mem and spills to a temporary file beyond it: memory does not grow
 * with the table.
 *
 * IDENTIFICATION
 *	  src/export.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"

#include "archive.h"
#include "chaintable.h"
#include "checkpoint.h"
#include "encode.h"
#include "hash.h"
#include "lane.h"
#include "redact.h"
#include "relname.h"
#include "verify.h"

#define AC_SEGMENT_FORMAT	"audit_chain/segment/v1"

/* Rows fetched from a cursor at a time: the bound on rows held in memory */
#define EXPORT_ROWS_PER_FETCH	1000

/* One exported lane: where it starts, and what was written of it */
typedef struct ExportLane
{
	int16		lane;
	uint8		genesis[AC_HASH_LEN];
	int64		start_seq;		/* the first exported row links to this */
	uint8		start_hash[AC_HASH_LEN];
	int64		archived_seq;	/* the live lane starts after this */
	bool		read_archive;	/* the range reaches into the archive */
	int64		rows;			/* rows written */
	int64		last_seq;		/* of the last row written, or start_seq */
	StringInfoData last_hash;	/* its chain_hash as hex, or "null" */
} ExportLane;

/* The state of one export_segment() call */
typedef struct ExportState
{
	Oid			root;			/* the chained table */
	Oid			archive;		/* its archive table, or InvalidOid */
	TupleDesc	rootdesc;		/* a copy of the root's tuple descriptor */
	AcRowDesc  *desc;			/* its hashed columns, on rootdesc */
	AcRedactions *redactions;	/* kept digests, or NULL: none */
	int			nlanes;			/* lanes exported */
	ExportLane	lanes[AC_MAX_LANES];
	bool		has_from;
	int64		from_seq;
	int64		to_seq;			/* PG_INT64_MAX when not given */
	FmgrInfo	at_out;			/* timestamptz_out, for chain_at */
	ReturnSetInfo *rsinfo;
	MemoryContext rowcxt;		/* reset after every row */
	int64		rows;			/* rows written, all lanes */
} ExportState;

/*
 * append_hex
 *		Append len bytes as lower-case hex, quoted as a JSON string.
 */
static void
append_hex(StringInfo buf, const uint8 *bytes, int len)
{
	enlargeStringInfo(buf, len * 2 + 2);
	buf->data[buf->len++] = '"';
	buf->len += hex_encode((const char *) bytes, len, buf->data + buf->len);
	buf->data[buf->len++] = '"';
	buf->data[buf->len] = '\0';
}

/*
 * append_hash_datum
 *		Append a bytea chain column (chain_prev, chain_hash) as quoted hex,
 *		whatever its length, or null.  Stored values are written as they
 *		are: a hash of the wrong length is the verifier's finding.
 */
static void
append_hash_datum(StringInfo buf, Datum d, bool isnull)
{
	bytea	   *b;

	if (isnull)
	{
		appendStringInfoString(buf, "null");
		return;
	}
	b = DatumGetByteaPP(d);
	append_hex(buf, (const uint8 *) VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
}

/*
 * append_json_text
 *		Append len bytes of UTF-8 text as a JSON string, escaped by
 *		escape_json(): quotes, backslashes and control characters escaped,
 *		everything else (non-ASCII included) kept as it is.  The result is
 *		a text value, so the bytes are first converted to the server
 *		encoding (a no-op in a UTF-8 database).
 */
static void
append_json_text(StringInfo buf, const char *utf8, int len)
{
	char	   *srv = pg_any_to_server(utf8, len, PG_UTF8);

	/* escape_json wants a terminated string; the canonical text is not */
	if (srv == utf8)
		srv = pnstrdup(utf8, len);
	escape_json(buf, srv);
}

/*
 * put_line
 *		Add one line of the file to the result.
 */
static void
put_line(ExportState *es, StringInfo line)
{
	Datum		value = PointerGetDatum(cstring_to_text_with_len(line->data, line->len));
	bool		isnull = false;

	tuplestore_putvalues(es->rsinfo->setResult, es->rsinfo->setDesc,
						 &value, &isnull);
}

/*
 * check_may_read
 *		The caller must be able to read every row of a table the export
 *		reads (the chained table, or its archive table): SELECT on it, and no
 *		row-level security policy that would hide rows, which the file would
 *		then show as deleted.  verify_chain() asks the same.  For the archive
 *		table (archived_through > 0), the error says which table it is and
 *		where the export could start without it.
 */
static void
check_may_read(Oid relid, Oid live, int64 archived_through)
{
	bool		is_archive = OidIsValid(live);

	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
	{
		if (!is_archive)
			aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, get_rel_name(relid));
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for archive table %s",
						ac_display_relname(relid)),
				 errdetail("It holds the rows of chained table \"%s\" up to chain_seq %lld, which the export includes.",
						   get_rel_name(live), (long long) archived_through),
				 errhint("Export from chain_seq %lld, or as a role granted SELECT on the archive table.",
						 (long long) archived_through + 1)));
	}
	if (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cannot export %s \"%s\" under row-level security",
						is_archive ? "archive table" : "chained table",
						get_rel_name(relid)),
				 errdetail("A segment file must hold every row of the lanes it covers."),
				 errhint("Export as a role that bypasses row-level security, or as the table owner.")));
}

/*
 * row_hash_at
 *		The chain_hash of row (lane, seq) of table relid, read in the
 *		statement's snapshot with the caller's rights: into hash, returning
 *		true, or false if there is no such row with a 32-byte hash.  Must be
 *		called inside SPI.
 */
static bool
row_hash_at(Oid relid, int16 lane, int64 seq, uint8 *hash)
{
	Oid			argtypes[2] = {INT2OID, INT8OID};
	Datum		args[2];
	bool		isnull;
	const uint8 *h;
	int			ret;

	args[0] = Int16GetDatum(lane);
	args[1] = Int64GetDatum(seq);
	ret = SPI_execute_with_args(psprintf("SELECT chain_hash FROM %s "
										 "WHERE chain_lane OPERATOR(pg_catalog.=) $1 "
										 "AND chain_seq OPERATOR(pg_catalog.=) $2",
										 ac_qualified_relname(relid)),
								2, argtypes, args, NULL, true, 2);
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
 * plan_lane
 *		Where one exported lane starts and whether its range reaches into the
 *		archive table.  Without from_seq the lane starts at its purge
 *		boundary (the archived segment, then the live lane, to the head);
 *		with from_seq at the row before from_seq: the purge or archive
 *		boundary if it is one, else that row, which must exist.  Must be
 *		called inside SPI, after the caller's right to read the tables was
 *		checked.
 */
static void
plan_lane(ExportState *es, ExportLane *el, const AcLaneStart *st)
{
	const char *relname = get_rel_name(es->root);
	int64		s;

	memcpy(el->genesis, st->genesis, AC_HASH_LEN);
	el->archived_seq = st->seq;
	initStringInfo(&el->last_hash);

	if (!es->has_from)
	{
		el->start_seq = st->purged_seq;
		memcpy(el->start_hash, st->purged_hash, AC_HASH_LEN);
		el->read_archive = OidIsValid(es->archive) && st->seq > st->purged_seq;
		return;
	}

	if (es->from_seq <= st->purged_seq)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("chain_seq %lld of lane %d of table \"%s\" was purged",
						(long long) es->from_seq, el->lane, relname),
				 errdetail("The rows of the lane up to chain_seq %lld are gone.",
						   (long long) st->purged_seq),
				 errhint("Export from chain_seq %lld or later, or with from_seq NULL.",
						 (long long) st->purged_seq + 1)));

	s = es->from_seq - 1;
	el->start_seq = s;
	el->read_archive = OidIsValid(es->archive) && es->from_seq <= st->seq;
	if (s == st->purged_seq)
		memcpy(el->start_hash, st->purged_hash, AC_HASH_LEN);
	else if (s == st->seq)
		memcpy(el->start_hash, st->hash, AC_HASH_LEN);
	else if ((s < st->seq && !OidIsValid(es->archive)) ||
			 !row_hash_at(s < st->seq ? es->archive : es->root, el->lane, s,
						  el->start_hash))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lane %d of table \"%s\" has no row at chain_seq %lld",
						el->lane, relname, (long long) s),
				 errdetail("An export from chain_seq %lld links to the row before it.",
						   (long long) es->from_seq),
				 errhint("Choose a from_seq at most one past the lane's last chain_seq; audit_chain.verify_chain() reports a lane with rows missing.")));
}

/*
 * write_header
 *		The first line: format, table, hashed columns, and each lane's start.
 */
static void
write_header(ExportState *es)
{
	StringInfoData line;

	initStringInfo(&line);
	appendStringInfoString(&line, "{\"format\": \"" AC_SEGMENT_FORMAT "\", "
						   "\"hash_format\": \"" AC_FORMAT_V1 "\", \"table\": \"");
	appendStringInfoString(&line, ac_encoded_relname(es->root));
	appendStringInfoString(&line, "\", \"columns\": [");
	for (int i = 0; i < es->desc->ncols; i++)
	{
		Form_pg_attribute att = TupleDescAttr(es->rootdesc,
											  es->desc->cols[i].attnum - 1);

		if (i > 0)
			appendStringInfoString(&line, ", ");
		appendStringInfoString(&line, "{\"name\": ");
		escape_json(&line, NameStr(att->attname));
		appendStringInfoString(&line, ", \"type\": ");
		escape_json(&line, format_type_with_typemod(att->atttypid,
													att->atttypmod));
		appendStringInfoChar(&line, '}');
	}
	appendStringInfoString(&line, "], \"lanes\": [");
	for (int l = 0; l < es->nlanes; l++)
	{
		ExportLane *el = &es->lanes[l];

		if (l > 0)
			appendStringInfoString(&line, ", ");
		appendStringInfo(&line, "{\"lane\": %d, \"genesis\": ", el->lane);
		append_hex(&line, el->genesis, AC_HASH_LEN);
		appendStringInfo(&line, ", \"start_seq\": " INT64_FORMAT ", \"start_hash\": ",
						 el->start_seq);
		append_hex(&line, el->start_hash, AC_HASH_LEN);
		appendStringInfoChar(&line, '}');
	}
	appendStringInfoString(&line, "]}");
	put_line(es, &line);
	pfree(line.data);
}

/*
 * write_row
 *		One row's line: lane, seq, chain_at as canonical text, chain_prev and
 *		chain_hash as hex, and the canonical text of every hashed column (null
 *		for NULL, the kept digest for a redacted column).  values and isnull
 *		are in the layout desc was remapped to.  Runs in the row context.
 */
static void
write_row(ExportState *es, ExportLane *el, AcRowDesc *desc, Datum *values,
		  bool *isnull)
{
	StringInfoData line;
	const uint8 **kept = NULL;
	const char *problem;
	char		buf[AC_ENCODE_BUFLEN];
	const char *text;
	int			len;
	int64		seq = DatumGetInt64(values[desc->att_seq - 1]);

	/* the file can only tell a redacted column that is NULL */
	problem = ac_redactions_kept(es->redactions, desc, el->lane, seq, isnull,
								 &kept);
	if (problem != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("cannot export chain_seq %lld of lane %d of table \"%s\": %s",
						(long long) seq, el->lane, get_rel_name(es->root),
						problem),
				 errhint("audit_chain.verify_chain() reports the lane as broken.")));

	initStringInfo(&line);
	appendStringInfo(&line, "{\"lane\": %d, \"seq\": " INT64_FORMAT ", \"at\": ",
					 el->lane, seq);
	if (isnull[desc->att_at - 1])
		appendStringInfoString(&line, "null");
	else
	{
		text = ac_canonical_value(AC_ENC_TIMESTAMPTZ, &es->at_out,
								  values[desc->att_at - 1], buf, &len);
		append_json_text(&line, text, len);
	}
	appendStringInfoString(&line, ", \"prev\": ");
	append_hash_datum(&line, values[desc->att_prev - 1], isnull[desc->att_prev - 1]);
	appendStringInfoString(&line, ", \"hash\": ");
	append_hash_datum(&line, values[desc->att_hash - 1], isnull[desc->att_hash - 1]);
	appendStringInfoString(&line, ", \"values\": [");
	for (int i = 0; i < desc->ncols; i++)
	{
		AcColumn   *col = &desc->cols[i];

		if (i > 0)
			appendStringInfoString(&line, ", ");
		if (!isnull[col->attnum - 1])
		{
			text = ac_canonical_value(col->encoder, &col->outfunc,
									  values[col->attnum - 1], buf, &len);
			append_json_text(&line, text, len);
		}
		else if (kept != NULL && kept[i] != NULL)
		{
			appendStringInfoString(&line, "{\"redacted\": ");
			append_hex(&line, kept[i], AC_HASH_LEN);
			appendStringInfoChar(&line, '}');
		}
		else
			appendStringInfoString(&line, "null");
	}
	appendStringInfoString(&line, "]}");
	put_line(es, &line);

	/* what the trailer says of the lane */
	el->rows++;
	es->rows++;
	el->last_seq = seq;
	resetStringInfo(&el->last_hash);
	append_hash_datum(&el->last_hash, values[desc->att_hash - 1],
					  isnull[desc->att_hash - 1]);
}

/*
 * write_rows
 *		Write the rows of one lane held in table relid (the archive table or
 *		the chained table) within the exported range, in chain_seq order,
 *		reading a batch at a time through a cursor in the statement's
 *		snapshot.  For the archive table, a hashed column that it does not
 *		have yet (added to the chained table after the last archive(), so
 *		NULL in every archived row) is read as NULL.  Must be called inside
 *		SPI.
 */
static void
write_rows(ExportState *es, ExportLane *el, Oid relid)
{
	Relation	rel = table_open(relid, AccessShareLock);
	TupleDesc	reldesc = RelationGetDescr(rel);
	StringInfoData sql;
	Oid			argtypes[3] = {INT2OID, INT8OID, INT8OID};
	Datum		args[3];
	Portal		cursor;
	bool		remapped = false;
	AcRowDesc  *desc;

	/*
	 * The root's hashed columns, in its order and by its names, whichever
	 * table is read: remapped below to the query's result layout
	 */
	desc = ac_rowdesc_build(es->rootdesc, get_rel_name(es->root), true);
	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT chain_lane, chain_seq, chain_at, chain_prev, chain_hash");
	for (int i = 0; i < es->desc->ncols; i++)
	{
		const char *name = NameStr(TupleDescAttr(es->rootdesc,
												 es->desc->cols[i].attnum - 1)->attname);

		if (relid == es->root || SPI_fnumber(reldesc, name) > 0)
			appendStringInfo(&sql, ", %s", quote_identifier(name));
		else
			appendStringInfo(&sql, ", NULL AS %s", quote_identifier(name));
	}
	appendStringInfo(&sql, " FROM %s WHERE chain_lane OPERATOR(pg_catalog.=) $1"
					 " AND chain_seq OPERATOR(pg_catalog.>) $2"
					 " AND chain_seq OPERATOR(pg_catalog.<=) $3"
					 " ORDER BY chain_seq",
					 ac_qualified_relname(relid));
	table_close(rel, AccessShareLock);

	args[0] = Int16GetDatum(el->lane);
	args[1] = Int64GetDatum(es->has_from ? es->from_seq - 1 : PG_INT64_MIN);
	args[2] = Int64GetDatum(es->to_seq);
	cursor = SPI_cursor_open_with_args(NULL, sql.data, 3, argtypes, args, NULL,
									   true, CURSOR_OPT_NO_SCROLL);
	for (;;)
	{
		SPITupleTable *batch;
		uint64		n;
		Datum	   *values;
		bool	   *isnull;

		SPI_cursor_fetch(cursor, true, EXPORT_ROWS_PER_FETCH);
		n = SPI_processed;
		batch = SPI_tuptable;
		if (n == 0)
			break;
		if (!remapped)
		{
			ac_rowdesc_remap(desc, es->rootdesc, batch->tupdesc);
			remapped = true;
		}
		values = palloc(sizeof(Datum) * batch->tupdesc->natts);
		isnull = palloc(sizeof(bool) * batch->tupdesc->natts);
		for (uint64 i = 0; i < n; i++)
		{
			MemoryContext old = MemoryContextSwitchTo(es->rowcxt);

			CHECK_FOR_INTERRUPTS();
			heap_deform_tuple(batch->vals[i], batch->tupdesc, values, isnull);
			write_row(es, el, desc, values, isnull);
			MemoryContextSwitchTo(old);
			MemoryContextReset(es->rowcxt);
		}
		pfree(values);
		pfree(isnull);
		SPI_freetuptable(batch);
	}
	SPI_cursor_close(cursor);
}

/*
 * write_trailer
 *		The last line: rows written, and each lane's count and last row.
 */
static void
write_trailer(ExportState *es)
{
	StringInfoData line;

	initStringInfo(&line);
	appendStringInfo(&line, "{\"end\": true, \"rows\": " INT64_FORMAT ", \"lanes\": [",
					 es->rows);
	for (int l = 0; l < es->nlanes; l++)
	{
		ExportLane *el = &es->lanes[l];

		if (l > 0)
			appendStringInfoString(&line, ", ");
		appendStringInfo(&line, "{\"lane\": %d, \"rows\": " INT64_FORMAT
						 ", \"last_seq\": " INT64_FORMAT ", \"last_hash\": ",
						 el->lane, el->rows, el->last_seq);
		if (el->rows > 0)
			appendBinaryStringInfo(&line, el->last_hash.data, el->last_hash.len);
		else
			append_hex(&line, el->start_hash, AC_HASH_LEN);
		appendStringInfoChar(&line, '}');
	}
	appendStringInfoString(&line, "]}");
	put_line(es, &line);
	pfree(line.data);
}

/*
 * export_segment(tbl regclass, lane integer DEFAULT NULL,
 *				  from_seq bigint DEFAULT NULL, to_seq bigint DEFAULT NULL)
 *		RETURNS SETOF text
 *
 * The lines of a segment file (doc/checkpoints.md, section 4) of chained
 * table tbl: every lane, or only lane; the rows from_seq to to_seq of each
 * (both included; NULL: from the lane's purge boundary, to its head),
 * archived rows first.  The caller needs SELECT on tbl, and on its archive
 * table when the range reaches archived rows; under row-level security the
 * export is refused (hidden rows would look deleted).  The registry and the
 * list of archive tables are read without the caller's privileges, as
 * verify_chain() reads them, and so are the kept digests of redacted
 * columns.
 */
PG_FUNCTION_INFO_V1(audit_chain_export_segment);
Datum
audit_chain_export_segment(PG_FUNCTION_ARGS)
{
	ExportState *es;
	AcLaneStart starts[AC_MAX_LANES];
	bool		numbered;
	int			nlanes;
	int			only_lane = -1;
	Relation	rel;
	int			nestlevel;
	MemoryContext cxt;
	MemoryContext old;

	/* the arguments on their own */
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table must not be NULL")));
	if (!PG_ARGISNULL(2) && PG_GETARG_INT64(2) < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("from_seq must be at least 1"),
				 errhint("A lane's rows are numbered from 1; NULL exports from the lane's first row.")));
	if (!PG_ARGISNULL(3) && PG_GETARG_INT64(3) < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("to_seq must be at least 1"),
				 errhint("A lane's rows are numbered from 1; NULL exports to the lane's last row.")));
	if (!PG_ARGISNULL(2) && !PG_ARGISNULL(3) &&
		PG_GETARG_INT64(2) > PG_GETARG_INT64(3))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("from_seq %lld is after to_seq %lld",
						(long long) PG_GETARG_INT64(2),
						(long long) PG_GETARG_INT64(3))));

	cxt = AllocSetContextCreate(CurrentMemoryContext, "audit_chain export",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	es = palloc0(sizeof(ExportState));
	es->root = PG_GETARG_OID(0);
	es->has_from = !PG_ARGISNULL(2);
	es->from_seq = es->has_from ? PG_GETARG_INT64(2) : 0;
	es->to_seq = PG_ARGISNULL(3) ? PG_INT64_MAX : PG_GETARG_INT64(3);
	fmgr_info(F_TIMESTAMPTZ_OUT, &es->at_out);

	/*
	 * The table: an archive table (or a partition archive() moved into one)
	 * is refused rather than exported on its own, since its rows are a part
	 * of the chained table's lanes and the file names the chained table.
	 */
	if (OidIsValid(ac_archive_live_table(es->root)))
	{
		Oid			live = ac_archive_live_table(es->root);

		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is an archive table", get_rel_name(es->root)),
				 errdetail("It holds archived rows of chained table \"%s\", whose export writes them first.",
						   get_rel_name(live) ? get_rel_name(live) : "?"),
				 errhint("Export the chained table; to_seq stops the export where its archived rows end.")));
	}
	nlanes = ac_check_chained_table(es->root, AccessShareLock);
	check_may_read(es->root, InvalidOid, 0);
	if (!PG_ARGISNULL(1))
	{
		only_lane = PG_GETARG_INT32(1);
		if (only_lane < 0 || only_lane >= nlanes)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("lane %d is out of range", only_lane),
					 errhint("Table \"%s\" has lanes 0 to %d.",
							 get_rel_name(es->root), nlanes - 1)));
	}

	/* its lanes, as the registry records them, in the statement's snapshot */
	memset(starts, 0, sizeof(starts));
	if (ac_registry_lanes(es->root, GetActiveSnapshot(), starts, &numbered) != nlanes ||
		!numbered)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("lanes of table \"%s\" in audit_chain.chains are not numbered 0 to %d",
						get_rel_name(es->root), nlanes - 1)));
	for (int l = 0; l < nlanes; l++)
	{
		if (only_lane >= 0 && l != only_lane)
			continue;
		if (!starts[l].valid)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("lane %d of table \"%s\" has no valid genesis or boundary hash in audit_chain.chains",
							l, get_rel_name(es->root))));
		es->lanes[es->nlanes++].lane = l;
	}

	rel = table_open(es->root, AccessShareLock);
	es->rootdesc = CreateTupleDescCopyConstr(RelationGetDescr(rel));
	es->desc = ac_rowdesc_build(es->rootdesc, RelationGetRelationName(rel), true);
	table_close(rel, AccessShareLock);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	es->archive = ac_archive_of(es->root);
	if (OidIsValid(es->archive) && get_rel_name(es->archive) == NULL)
		es->archive = InvalidOid;	/* dropped: verify_chain() reports that */

	/* where each lane starts; the archive is read only if the range needs it */
	for (int l = 0; l < es->nlanes; l++)
	{
		const AcLaneStart *st = &starts[es->lanes[l].lane];

		if (OidIsValid(es->archive) &&
			(es->has_from ? es->from_seq : st->purged_seq + 1) <= st->seq)
		{
			check_may_read(es->archive, es->root, st->seq);
			break;
		}
	}
	for (int l = 0; l < es->nlanes; l++)
		plan_lane(es, &es->lanes[l], &starts[es->lanes[l].lane]);

	/* the kept digests, of archived rows too (recorded under the table) */
	es->redactions = ac_redactions_load(es->root, -1, 0, GetActiveSnapshot(), cxt);

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	es->rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	es->rowcxt = AllocSetContextCreate(cxt, "audit_chain export row",
									   ALLOCSET_DEFAULT_SIZES);

	/* once for the whole file, as verify_chain() does */
	nestlevel = ac_enter_canonical_settings();
	write_header(es);
	for (int l = 0; l < es->nlanes; l++)
	{
		ExportLane *el = &es->lanes[l];

		el->last_seq = el->start_seq;
		if (el->read_archive)
			write_rows(es, el, es->archive);
		write_rows(es, el, es->root);
	}
	write_trailer(es);
	ac_leave_canonical_settings(nestlevel);

	SPI_finish();
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	return (Datum) 0;
}
