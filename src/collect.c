/*-------------------------------------------------------------------------
 *
 * collect.c
 *	  What audit_chain.events checks and masks as a row is collected:
 *	  request and trace ids (W3C Trace Context) and the keys of details
 *	  whose values are stored as digests only.
 *
 * mask_event() is a BEFORE INSERT row trigger of audit_chain.events.  Its
 * name, zz_audit_chain_mask, sorts before zz_audit_chain_seal, so the row
 * the seal trigger hashes is the masked one: the clear value never reaches
 * the chain, the WAL of a sealed row or an export.  The keys to mask come
 * from audit_chain.hash_detail_keys, which only a superuser (or a role
 * granted SET on it) can change, so the writer cannot turn masking off for
 * its own session.
 *
 * IDENTIFICATION
 *	  src/collect.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/rel.h"

#include "collect.h"
#include "hash.h"

/* The keys of details to mask; set by the assign hook of the setting */
AcMaskKeys *ac_mask_keys = NULL;

#define AC_MASK_PREFIX		"sha256:"
#define AC_MASK_PREFIX_LEN	7
#define AC_MASK_LEN			(AC_MASK_PREFIX_LEN + 2 * AC_HASH_LEN)

/*
 * is_lower_hex
 *		True if s[0..len) are all lower-case hexadecimal digits.
 */
static bool
is_lower_hex(const char *s, int len)
{
	for (int i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/*
 * is_all_zero
 *		True if s[0..len) are all '0'.
 */
static bool
is_all_zero(const char *s, int len)
{
	for (int i = 0; i < len; i++)
		if (s[i] != '0')
			return false;
	return true;
}

/*
 * ac_trace_id_valid
 *		A W3C Trace Context trace-id: 32 lower-case hex digits, not all zero.
 */
bool
ac_trace_id_valid(const char *s)
{
	return strlen(s) == 32 && is_lower_hex(s, 32) && !is_all_zero(s, 32);
}

/*
 * ac_span_id_valid
 *		A W3C Trace Context parent-id (span id): 16 lower-case hex digits,
 *		not all zero.
 */
bool
ac_span_id_valid(const char *s)
{
	return strlen(s) == 16 && is_lower_hex(s, 16) && !is_all_zero(s, 16);
}

/*
 * ac_traceparent_problem
 *		NULL if s is a valid traceparent header value of version 00
 *		("00-<trace-id>-<parent-id>-<flags>"), else a sentence saying what
 *		is wrong with it (for errdetail).
 */
const char *
ac_traceparent_problem(const char *s)
{
	if (strlen(s) != 55 || s[2] != '-' || s[35] != '-' || s[52] != '-')
		return "A traceparent is 55 characters: version, trace-id, parent-id and flags separated by hyphens.";
	if (!is_lower_hex(s, 2) || !is_lower_hex(s + 53, 2))
		return "The version and the flags are two lower-case hexadecimal digits each.";
	if (strncmp(s, "00", 2) != 0)
		return "Only version 00 of traceparent is supported.";
	if (!is_lower_hex(s + 3, 32) || is_all_zero(s + 3, 32))
		return "The trace-id is 32 lower-case hexadecimal digits, not all zero.";
	if (!is_lower_hex(s + 36, 16) || is_all_zero(s + 36, 16))
		return "The parent-id is 16 lower-case hexadecimal digits, not all zero.";
	return NULL;
}

/*
 * key_listed
 *		True if a key of details (not NUL-terminated) is one of the keys to
 *		mask.  Case-insensitive (ASCII): masking too much is the safe way
 *		to be wrong, and "Email" leaks as much as "email".
 */
static bool
key_listed(const char *key, int len)
{
	for (int i = 0; i < ac_mask_keys->nkeys; i++)
	{
		const char *k = ac_mask_keys->keys[i];

		if ((int) strlen(k) == len && pg_strncasecmp(k, key, len) == 0)
			return true;
	}
	return false;
}

/*
 * is_masked
 *		True if a value is already a digest as mask_value() writes it
 *		("sha256:" and 64 lower-case hex digits): masking is idempotent, so
 *		an application may send digests itself.
 */
static bool
is_masked(JsonbValue *v)
{
	return v->type == jbvString && v->val.string.len == AC_MASK_LEN &&
		strncmp(v->val.string.val, AC_MASK_PREFIX, AC_MASK_PREFIX_LEN) == 0 &&
		is_lower_hex(v->val.string.val + AC_MASK_PREFIX_LEN, 2 * AC_HASH_LEN);
}

/*
 * mask_value
 *		Replace *v by the string "sha256:" || hex SHA-256 of the value's
 *		canonical JSON text (jsonb's output, as audit_chain.digest(jsonb)
 *		hashes it): a string's text has its quotes, an object's is the whole
 *		object.
 */
static void
mask_value(JsonbValue *v)
{
	char	   *text;
	uint8		digest[AC_HASH_LEN];
	char	   *out;
	static const char hex[] = "0123456789abcdef";

	if (v->type == jbvBinary)
		text = JsonbToCString(NULL, v->val.binary.data, v->val.binary.len);
	else
	{
		Jsonb	   *jb = JsonbValueToJsonb(v);

		text = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
	}
	ac_sha256(text, strlen(text), digest);

	out = palloc(AC_MASK_LEN + 1);
	memcpy(out, AC_MASK_PREFIX, AC_MASK_PREFIX_LEN);
	for (int i = 0; i < AC_HASH_LEN; i++)
	{
		out[AC_MASK_PREFIX_LEN + 2 * i] = hex[digest[i] >> 4];
		out[AC_MASK_PREFIX_LEN + 2 * i + 1] = hex[digest[i] & 0x0f];
	}
	out[AC_MASK_LEN] = '\0';
	v->type = jbvString;
	v->val.string.val = out;
	v->val.string.len = AC_MASK_LEN;
}

/*
 * mask_container
 *		Push a copy of a jsonb container into *ps with the values of listed
 *		keys masked, in objects at any depth (arrays' objects included).
 *		Returns what the last push returned: the finished value at the top.
 */
static JsonbValue *
mask_container(JsonbContainer *c, JsonbParseState **ps, bool *changed)
{
	JsonbIterator *it = JsonbIteratorInit(c);
	JsonbIteratorToken tok;
	JsonbValue	v;
	JsonbValue *res = NULL;
	bool		listed = false;

	check_stack_depth();
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		CHECK_FOR_INTERRUPTS();
		switch (tok)
		{
			case WJB_BEGIN_ARRAY:
				res = pushJsonbValue(ps, tok, v.val.array.rawScalar ? &v : NULL);
				break;
			case WJB_BEGIN_OBJECT:
			case WJB_END_OBJECT:
			case WJB_END_ARRAY:
				res = pushJsonbValue(ps, tok, NULL);
				break;
			case WJB_KEY:
				listed = key_listed(v.val.string.val, v.val.string.len);
				res = pushJsonbValue(ps, tok, &v);
				break;
			case WJB_VALUE:
			case WJB_ELEM:
				if (tok == WJB_VALUE && listed && v.type != jbvNull && !is_masked(&v))
				{
					mask_value(&v);
					*changed = true;
					res = pushJsonbValue(ps, tok, &v);
				}
				else if (v.type == jbvBinary)
					res = mask_container(v.val.binary.data, ps, changed);
				else
					res = pushJsonbValue(ps, tok, &v);
				listed = false;
				break;
			default:
				elog(ERROR, "unexpected jsonb iterator token %d", (int) tok);
		}
	}
	return res;
}

/*
 * mask_details
 *		details with the values of listed keys masked, or NULL if none was.
 */
static Jsonb *
mask_details(Jsonb *details)
{
	JsonbParseState *ps = NULL;
	JsonbValue *res;
	bool		changed = false;

	if (JB_ROOT_IS_SCALAR(details))
		return NULL;
	res = mask_container(&details->root, &ps, &changed);
	return changed ? JsonbValueToJsonb(res) : NULL;
}

/*
 * id_column
 *		The text of a column of the row, or NULL.
 */
static char *
id_column(HeapTuple tuple, TupleDesc tupdesc, const char *name)
{
	int			att = SPI_fnumber(tupdesc, name);
	bool		isnull;
	Datum		d;

	if (att <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("mask_event: table has no column \"%s\"", name)));
	d = heap_getattr(tuple, att, tupdesc, &isnull);
	return isnull ? NULL : TextDatumGetCString(d);
}

/*
 * check_ids
 *		The row's trace_id and span_id must be W3C Trace Context ids, and a
 *		span needs its trace: a clear error (22023, the format in the hint)
 *		rather than the CHECK constraint's.
 */
static void
check_ids(HeapTuple tuple, TupleDesc tupdesc)
{
	char	   *trace_id = id_column(tuple, tupdesc, "trace_id");
	char	   *span_id = id_column(tuple, tupdesc, "span_id");

	if (trace_id != NULL && !ac_trace_id_valid(trace_id))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid trace id \"%s\"", trace_id),
				 errdetail("A W3C Trace Context trace-id is 32 lower-case hexadecimal digits, not all zero."),
				 errhint("For example 4bf92f3577b34da6a3ce929d0e0e4736, the second field of the traceparent header 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.")));
	if (span_id != NULL && !ac_span_id_valid(span_id))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid span id \"%s\"", span_id),
				 errdetail("A W3C Trace Context parent-id (span id) is 16 lower-case hexadecimal digits, not all zero."),
				 errhint("For example 00f067aa0ba902b7, the third field of the traceparent header 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.")));
	if (span_id != NULL && trace_id == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("span id \"%s\" without a trace id", span_id),
				 errhint("A span belongs to a trace: give trace_id too, or set audit_chain.traceparent.")));
}

/*
 * mask_event
 *		BEFORE INSERT, FOR EACH ROW trigger of audit_chain.events: checks the
 *		trace ids, then replaces the values of the keys of details listed in
 *		audit_chain.hash_detail_keys by their digests.
 *
 * A row a superuser session inserts with chain columns already set is a
 * restore of a dump, sealed already (as set_event_facts() judges it): it
 * is left as it is, since masking it again under today's setting would
 * change a sealed row.
 */
PG_FUNCTION_INFO_V1(audit_chain_mask_event);
Datum
audit_chain_mask_event(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	tupdesc;
	HeapTuple	tuple;
	int			att_hash;
	int			att_details;
	bool		isnull;
	Datum		d;
	Jsonb	   *masked;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("mask_event: must be called as a trigger")));
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("mask_event: must be fired BEFORE INSERT, FOR EACH ROW")));

	tupdesc = RelationGetDescr(trigdata->tg_relation);
	tuple = trigdata->tg_trigtuple;
	att_hash = SPI_fnumber(tupdesc, "chain_hash");
	att_details = SPI_fnumber(tupdesc, "details");
	if (att_details <= 0 || TupleDescAttr(tupdesc, att_details - 1)->atttypid != JSONBOID)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("mask_event: table \"%s\" has no column \"details\" of type jsonb",
						RelationGetRelationName(trigdata->tg_relation))));

	if (superuser() && superuser_arg(GetOuterUserId()) &&
		att_hash > 0 && !heap_attisnull(tuple, att_hash, tupdesc))
		return PointerGetDatum(tuple);

	check_ids(tuple, tupdesc);

	if (ac_mask_keys == NULL || ac_mask_keys->nkeys == 0)
		return PointerGetDatum(tuple);
	d = heap_getattr(tuple, att_details, tupdesc, &isnull);
	if (isnull)
		return PointerGetDatum(tuple);
	masked = mask_details(DatumGetJsonbP(d));
	if (masked == NULL)
		return PointerGetDatum(tuple);
	d = JsonbPGetDatum(masked);
	isnull = false;
	return PointerGetDatum(heap_modify_tuple_by_cols(tuple, tupdesc, 1, &att_details,
													 &d, &isnull));
}
