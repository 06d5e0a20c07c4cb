/*-------------------------------------------------------------------------
 *
 * inspect.c
 *	  Functions for auditors and external verifiers: one row's hash input
 *	  and hash, the canonical text of a value, and a lane's head.
 *
 * canonical_row and row_hash recompute, from the row as stored, what the
 * seal trigger hashed (doc/hash-format.md specifies it, hash.c computes
 * it), so that a verifier outside the database can compare its own
 * computation byte for byte.
 * canonical_text shows the text one value is hashed as.  lane_head reads the
 * newest row of a lane, as checkpoint() records it.  None of them checks a
 * chain: that is verify.c.
 *
 * IDENTIFICATION
 *	  src/inspect.c
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
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/typcache.h"

#include "chaintable.h"
#include "hash.h"
#include "lane.h"
#include "redact.h"
#include "verify.h"

/*
 * fetch_row
 *		Read the row (lane, seq) of a chained table; fills values/isnull in
 *		the layout of the returned row description.  Must be inside SPI.
 */
static AcRowDesc *
fetch_row(Oid root, int32 lane, int64 seq, Datum **values, bool **isnull)
{
	Relation	rel = ac_open_chained_table(root, AccessShareLock, NULL);
	TupleDesc	rootdesc = CreateTupleDescCopyConstr(RelationGetDescr(rel));
	AcRowDesc  *desc = ac_rowdesc_build(rootdesc, RelationGetRelationName(rel), true);
	StringInfoData sql;
	Oid			argtypes[2] = {INT2OID, INT8OID};
	Datum		args[2];
	int			ret;

	if (lane < 0 || lane >= AC_MAX_LANES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lane %d is out of range", lane),
				 errhint("Lanes are numbered from 0 to the table's lane count minus 1.")));

	initStringInfo(&sql);
	ac_chain_select(&sql, rel, rootdesc, desc);
	appendStringInfoString(&sql, " WHERE chain_lane OPERATOR(pg_catalog.=) $1 "
						   "AND chain_seq OPERATOR(pg_catalog.=) $2");
	table_close(rel, AccessShareLock);

	args[0] = Int16GetDatum((int16) lane);
	args[1] = Int64GetDatum(seq);
	ret = SPI_execute_with_args(sql.data, 2, argtypes, args, NULL, true, 2);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(SPI_processed == 0 ? ERRCODE_NO_DATA_FOUND : ERRCODE_CARDINALITY_VIOLATION),
				 errmsg("%s row with chain_lane %d and chain_seq %lld in table \"%s\"",
						SPI_processed == 0 ? "no" : "more than one",
						lane, (long long) seq, get_rel_name(root))));

	ac_rowdesc_remap(desc, rootdesc, SPI_tuptable->tupdesc);
	*values = palloc(sizeof(Datum) * SPI_tuptable->tupdesc->natts);
	*isnull = palloc(sizeof(bool) * SPI_tuptable->tupdesc->natts);
	heap_deform_tuple(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, *values, *isnull);
	if ((*isnull)[desc->att_at - 1] || (*isnull)[desc->att_prev - 1] ||
		ac_hash_of_bytea((*values)[desc->att_prev - 1]) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("row with chain_lane %d and chain_seq %lld in table \"%s\" is not sealed",
						lane, (long long) seq, get_rel_name(root))));
	return desc;
}

/*
 * row_input_bytes
 *		The hash input of row (lane, seq) of a chained table, as bytea.
 */
static bytea *
row_input_bytes(Oid root, int32 lane, int64 seq)
{
	AcRowDesc  *desc;
	Datum	   *values;
	bool	   *isnull;
	const uint8 **kept;
	StringInfoData buf;
	bytea	   *result;
	MemoryContext outer = CurrentMemoryContext;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	desc = fetch_row(root, lane, seq, &values, &isnull);

	/* a redacted column's kept digest takes its place (redact.c) */
	(void) ac_redactions_kept(ac_redactions_load(root, lane, seq, GetActiveSnapshot(),
												 CurrentMemoryContext),
							  desc, lane, seq, isnull, &kept);

	/* ac_row_input switches to the canonical settings itself */
	initStringInfo(&buf);
	ac_row_input(desc, values, isnull, seq,
				 DatumGetTimestampTz(values[desc->att_at - 1]),
				 ac_hash_of_bytea(values[desc->att_prev - 1]), kept, &buf);

	result = MemoryContextAlloc(outer, VARHDRSZ + buf.len);
	SET_VARSIZE(result, VARHDRSZ + buf.len);
	memcpy(VARDATA(result), buf.data, buf.len);
	SPI_finish();
	return result;
}

/*
 * canonical_row(tbl regclass, lane int, seq bigint) RETURNS bytea
 *		The exact bytes that SHA-256 hashes for one row, recomputed from the
 *		row as stored: for auditors and external verifiers.
 */
PG_FUNCTION_INFO_V1(audit_chain_canonical_row);
Datum
audit_chain_canonical_row(PG_FUNCTION_ARGS)
{
	PG_RETURN_BYTEA_P(row_input_bytes(PG_GETARG_OID(0), PG_GETARG_INT32(1),
									  PG_GETARG_INT64(2)));
}

/*
 * row_hash(tbl regclass, lane int, seq bigint) RETURNS bytea
 *		The chain_hash that row (lane, seq) should have, recomputed from its
 *		contents (not the stored chain_hash).
 */
PG_FUNCTION_INFO_V1(audit_chain_row_hash);
Datum
audit_chain_row_hash(PG_FUNCTION_ARGS)
{
	bytea	   *input = row_input_bytes(PG_GETARG_OID(0), PG_GETARG_INT32(1),
										PG_GETARG_INT64(2));
	uint8		hash[AC_HASH_LEN];

	ac_sha256(VARDATA(input), VARSIZE(input) - VARHDRSZ, hash);
	PG_RETURN_BYTEA_P(ac_hash_bytea(hash));
}

/*
 * canonical_text(value anyelement) RETURNS text
 *		The canonical text of a value (doc/hash-format.md, section 3): what
 *		its col_digest hashes.
 */
PG_FUNCTION_INFO_V1(audit_chain_canonical_text);
Datum
audit_chain_canonical_text(PG_FUNCTION_ARGS)
{
	Oid			typid = get_fn_expr_argtype(fcinfo->flinfo, 0);
	Oid			outfn;
	bool		isvarlena;
	FmgrInfo	finfo;
	int			nestlevel;
	const char *text;
	char	   *srv;
	char		buf[AC_ENCODE_BUFLEN];
	int			len;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (!OidIsValid(typid))
		elog(ERROR, "could not determine the argument type");
	ac_check_column_type(typid, NULL, NULL);
	/* an anonymous record's field types are only known from the value */
	if (typid == RECORDOID)
	{
		HeapTupleHeader rec = PG_GETARG_HEAPTUPLEHEADER(0);
		TupleDesc	rowdesc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(rec),
													 HeapTupleHeaderGetTypMod(rec));

		for (int i = 0; i < rowdesc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(rowdesc, i);

			if (!att->attisdropped)
				ac_check_column_type(att->atttypid, NULL, NULL);
		}
		ReleaseTupleDesc(rowdesc);
	}

	getTypeOutputInfo(typid, &outfn, &isvarlena);
	fmgr_info(outfn, &finfo);
	nestlevel = ac_enter_canonical_settings();
	text = ac_canonical_value(ac_encoder_for_type(typid), &finfo,
							  PG_GETARG_DATUM(0), buf, &len);
	ac_leave_canonical_settings(nestlevel);

	/* The text is UTF-8; hand it back in the server encoding */
	srv = pg_any_to_server(text, len, PG_UTF8);
	PG_RETURN_TEXT_P(srv == text ? cstring_to_text_with_len(text, len) :
					 cstring_to_text(srv));
}

/*
 * lane_head(tbl regclass, lane int, OUT seq bigint, OUT hash bytea)
 *		The newest committed (or own) row of a lane, or its start point if it
 *		is empty.  Used by checkpoint().
 */
PG_FUNCTION_INFO_V1(audit_chain_lane_head);
Datum
audit_chain_lane_head(PG_FUNCTION_ARGS)
{
	Oid			root = PG_GETARG_OID(0);
	int32		lane = PG_GETARG_INT32(1);
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	int64		seq;
	uint8		hash[AC_HASH_LEN];

	AclResult	aclresult;
	int			nlanes;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	/*
	 * The head is read from the index directly: check what a SELECT would
	 * (for an OID that is no relation, that is a clear error too), then that
	 * it is a chained table with chain columns of the right types.
	 */
	aclresult = pg_class_aclcheck(root, GetUserId(), ACL_SELECT);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_TABLE, get_rel_name(root));
	nlanes = ac_check_chained_table(root, AccessShareLock);

	/*
	 * A lane's head counts every row of the lane, also the rows a row-level
	 * security policy hides from the caller: polled, it would tell a tenant
	 * how many rows the others write, and when.
	 */
	if (check_enable_rls(root, InvalidOid, false) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cannot read the lane heads of chained table \"%s\" under row-level security",
						get_rel_name(root)),
				 errdetail("A lane's head counts the rows that the policies hide too."),
				 errhint("Read them as a role that bypasses row-level security, or as the table owner.")));
	if (lane < 0 || lane >= nlanes)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lane %d is out of range", lane),
				 errhint("Table \"%s\" has lanes 0 to %d.", get_rel_name(root),
						 nlanes - 1)));

	if (!ac_lane_read_head(root, (int16) lane, 0, &seq, hash))
		ac_lane_boundary(root, (int16) lane, &seq, hash);

	values[0] = Int64GetDatum(seq);
	values[1] = PointerGetDatum(ac_hash_bytea(hash));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
