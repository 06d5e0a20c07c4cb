/*-------------------------------------------------------------------------
 *
 * eventjson.c
 *	  audit_chain.event_json(): one event of audit_chain.events as the JSON
 *	  document the SIEM feed ships (doc/siem.md), in the Elastic Common
 *	  Schema or raw.
 *
 * What the document holds is fixed by doc/siem.md; this file writes it
 * without the per-value type lookups of to_jsonb() and jsonb_build_object()
 * (which cost export_events() some 100 us an event).  The result is a
 * jsonb built the way those functions build it, so its text is the same:
 *
 *	- every column that is not NULL, under its own name, as to_jsonb() writes
 *	  its type (numbers, booleans, strings, arrays, the details object), and
 *	  NULLs dropped everywhere as jsonb_strip_nulls() drops them (object
 *	  members only, in details too);
 *	- the chain's digests (chain_prev, chain_hash, input_digest,
 *	  output_digest) as hex strings;
 *	- times in ISO 8601 in UTC whatever the session's TimeZone, and a time
 *	  before year 1 in astronomical year numbering (1 BC is 0000, 44 BC is
 *	  -0043), which ISO 8601 readers accept, not the " BC" to_jsonb() adds.
 *
 * The ECS document maps the columns ECS and the OpenTelemetry GenAI
 * conventions have fields for, and keeps every other column under
 * audit_chain (columns added in a later version too).
 *
 * IDENTIFICATION
 *	  src/eventjson.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/jsonapi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/typcache.h"

#include "registry.h"

PG_FUNCTION_INFO_V1(audit_chain_event_json);

/* the columns the documents name, and the type each must have */
typedef enum EventCol
{
	EC_EVENT_ID,
	EC_OCCURRED_AT,
	EC_EVENT_TYPE,
	EC_ACTION,
	EC_OUTCOME,
	EC_ACTOR,
	EC_CLIENT_ADDR,
	EC_USER_AGENT,
	EC_RESOURCE,
	EC_PROVIDER,
	EC_MODEL,
	EC_INPUT_TOKENS,
	EC_OUTPUT_TOKENS,
	EC_LATENCY_MS,
	EC_REQUEST_ID,
	EC_TRACE_ID,
	EC_CHAIN_LANE,
	EC_CHAIN_SEQ,
	EC_CHAIN_AT,
	EC_CHAIN_PREV,
	EC_CHAIN_HASH,
	EC_INPUT_DIGEST,
	EC_OUTPUT_DIGEST,
	EC_NCOLS
} EventCol;

typedef struct EventColDef
{
	const char *name;
	Oid			typid;
	bool		ecs_own;		/* ECS has a place for it: not under
								 * audit_chain under its own name */
} EventColDef;

static const EventColDef event_cols[EC_NCOLS] = {
	[EC_EVENT_ID] = {"event_id", UUIDOID, true},
	[EC_OCCURRED_AT] = {"occurred_at", TIMESTAMPTZOID, true},
	[EC_EVENT_TYPE] = {"event_type", TEXTOID, false},
	[EC_ACTION] = {"action", TEXTOID, true},
	[EC_OUTCOME] = {"outcome", TEXTOID, false},
	[EC_ACTOR] = {"actor", TEXTOID, true},
	[EC_CLIENT_ADDR] = {"client_addr", INETOID, true},
	[EC_USER_AGENT] = {"user_agent", TEXTOID, true},
	[EC_RESOURCE] = {"resource", TEXTOID, false},
	[EC_PROVIDER] = {"provider", TEXTOID, true},
	[EC_MODEL] = {"model", TEXTOID, true},
	[EC_INPUT_TOKENS] = {"input_tokens", INT4OID, true},
	[EC_OUTPUT_TOKENS] = {"output_tokens", INT4OID, true},
	[EC_LATENCY_MS] = {"latency_ms", INT4OID, true},
	[EC_REQUEST_ID] = {"request_id", TEXTOID, false},
	[EC_TRACE_ID] = {"trace_id", TEXTOID, false},
	[EC_CHAIN_LANE] = {"chain_lane", INT2OID, true},
	[EC_CHAIN_SEQ] = {"chain_seq", INT8OID, true},
	[EC_CHAIN_AT] = {"chain_at", TIMESTAMPTZOID, true},
	[EC_CHAIN_PREV] = {"chain_prev", BYTEAOID, true},
	[EC_CHAIN_HASH] = {"chain_hash", BYTEAOID, true},
	[EC_INPUT_DIGEST] = {"input_digest", BYTEAOID, true},
	[EC_OUTPUT_DIGEST] = {"output_digest", BYTEAOID, true},
};

/* what a column's values need to be written */
typedef struct ColInfo
{
	const char *name;			/* points into the cached tuple descriptor */
	int			namelen;
	Oid			typid;
	int			col;			/* its EventCol, or -1 */
	bool		hex;			/* a digest: written as hex */
	Oid			elemtype;		/* for an array, its element type */
	int16		elemlen;
	bool		elembyval;
	char		elemalign;
	bool		have_out;
	FmgrInfo	out;			/* output function (of the element type for
								 * an array), when the type needs one */
} ColInfo;

typedef struct EventJsonCache
{
	Oid			typid;
	uint64		tupdesc_id;		/* the typcache's identifier of the rowtype */
	TupleDesc	tupdesc;
	ColInfo    *cols;			/* by attribute number - 1; name NULL if
								 * dropped */
	int			attno[EC_NCOLS];	/* 0-based, -1 if the table lacks it */
} EventJsonCache;

static EventJsonCache *event_json_cache(FunctionCallInfo fcinfo, Oid typid);
static void push_key(JsonbParseState **ps, const char *key, int len);
static void push_cstring(JsonbParseState **ps, JsonbIteratorToken tok, const char *s);
static void push_text(JsonbParseState **ps, JsonbIteratorToken tok, text *t);
static void push_numeric(JsonbParseState **ps, JsonbIteratorToken tok, Numeric n);
static void push_time(JsonbParseState **ps, JsonbIteratorToken tok, Datum value);
static void push_hex(JsonbParseState **ps, JsonbIteratorToken tok, bytea *b);
static void push_value(JsonbParseState **ps, JsonbIteratorToken tok, ColInfo *ci,
					   Oid typid, Datum value);
static void push_array(JsonbParseState **ps, JsonbIteratorToken tok, ColInfo *ci,
					   ArrayType *arr);
static void push_jsonb_stripped(JsonbParseState **ps, JsonbIteratorToken tok, Jsonb *jb);
static void push_columns(JsonbParseState **ps, EventJsonCache *c, Datum *values,
						 bool *nulls, bool ecs);
static Jsonb *event_raw(EventJsonCache *c, Datum *values, bool *nulls);
static Jsonb *event_ecs(EventJsonCache *c, Datum *values, bool *nulls);

/*
 * event_json(e audit_chain.events, format text DEFAULT 'ecs') RETURNS jsonb
 *
 * NULL for a NULL event.  Reads nothing but its argument: an event value
 * anybody can build, so it needs no privilege.
 */
Datum
audit_chain_event_json(PG_FUNCTION_ARGS)
{
	HeapTupleHeader th;
	HeapTupleData tuple;
	EventJsonCache *c;
	Oid			events_type;
	Datum	   *values;
	bool	   *nulls;
	char	   *format;
	bool		ecs;
	Jsonb	   *result;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("format must not be NULL"),
				 errhint("Valid formats are \"ecs\" (Elastic Common Schema 8.x) and \"raw\" (the columns of audit_chain.events).")));
	format = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (strcmp(format, "ecs") == 0)
		ecs = true;
	else if (strcmp(format, "raw") == 0)
		ecs = false;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown export format \"%s\"", format),
				 errhint("Valid formats are \"ecs\" (Elastic Common Schema 8.x) and \"raw\" (the columns of audit_chain.events).")));
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();

	/*
	 * The SQL signature takes audit_chain.events only; check anyway that the
	 * value is a row of that type before reading its columns.
	 */
	th = PG_GETARG_HEAPTUPLEHEADER(0);
	events_type = get_rel_type_id(ac_extension_relid("events"));
	if (!OidIsValid(events_type) || HeapTupleHeaderGetTypeId(th) != events_type)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("event_json() takes a row of audit_chain.events")));
	c = event_json_cache(fcinfo, events_type);

	tuple.t_len = HeapTupleHeaderGetDatumLength(th);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = th;
	values = palloc(sizeof(Datum) * c->tupdesc->natts);
	nulls = palloc(sizeof(bool) * c->tupdesc->natts);
	heap_deform_tuple(&tuple, c->tupdesc, values, nulls);

	result = ecs ? event_ecs(c, values, nulls) : event_raw(c, values, nulls);
	PG_RETURN_JSONB_P(result);
}

/*
 * event_json_cache
 *		What the columns of audit_chain.events need, kept for the query (in
 *		fn_extra) and rebuilt when the row type changes.
 */
static EventJsonCache *
event_json_cache(FunctionCallInfo fcinfo, Oid typid)
{
	EventJsonCache *c = fcinfo->flinfo->fn_extra;
	TypeCacheEntry *tce = lookup_type_cache(typid, TYPECACHE_TUPDESC);
	MemoryContext old;
	TupleDesc	td;

	if (tce->tupDesc == NULL)
		elog(ERROR, "type %u is not a row type", typid);
	if (c != NULL && c->typid == typid && c->tupdesc_id == tce->tupDesc_identifier)
		return c;

	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	c = palloc0(sizeof(EventJsonCache));
	c->typid = typid;
	c->tupdesc_id = tce->tupDesc_identifier;
	c->tupdesc = td = CreateTupleDescCopy(tce->tupDesc);
	c->cols = palloc0(sizeof(ColInfo) * td->natts);
	for (int k = 0; k < EC_NCOLS; k++)
		c->attno[k] = -1;

	for (int i = 0; i < td->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(td, i);
		ColInfo    *ci = &c->cols[i];

		if (att->attisdropped)
			continue;
		ci->name = NameStr(att->attname);
		ci->namelen = strlen(ci->name);
		ci->typid = att->atttypid;
		ci->col = -1;
		for (int k = 0; k < EC_NCOLS; k++)
		{
			if (strcmp(ci->name, event_cols[k].name) != 0)
				continue;
			if (att->atttypid != event_cols[k].typid)
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("column \"%s\" of audit_chain.events has type %s, not %s",
								ci->name, format_type_be(att->atttypid),
								format_type_be(event_cols[k].typid)),
						 errhint("Reinstall the extension: its table was altered.")));
			ci->col = k;
			c->attno[k] = i;
			ci->hex = (event_cols[k].typid == BYTEAOID);
		}
		ci->elemtype = get_element_type(att->atttypid);
		if (OidIsValid(ci->elemtype))
			get_typlenbyvalalign(ci->elemtype, &ci->elemlen, &ci->elembyval,
								 &ci->elemalign);
	}
	MemoryContextSwitchTo(old);

	/* the columns the ECS document needs to exist */
	for (int k = 0; k < EC_NCOLS; k++)
		if (c->attno[k] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("audit_chain.events has no column \"%s\"", event_cols[k].name),
					 errhint("Reinstall the extension: its table was altered.")));

	fcinfo->flinfo->fn_extra = c;
	return c;
}

static void
push_key(JsonbParseState **ps, const char *key, int len)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) key;
	v.val.string.len = len;
	pushJsonbValue(ps, WJB_KEY, &v);
}

#define PUSH_KEY(ps, lit) push_key((ps), (lit), sizeof(lit) - 1)

/* s must live as long as the JsonbParseState: pushJsonbValue() keeps the pointer */
static void
push_cstring(JsonbParseState **ps, JsonbIteratorToken tok, const char *s)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) s;
	v.val.string.len = strlen(s);
	pushJsonbValue(ps, tok, &v);
}

static void
push_text(JsonbParseState **ps, JsonbIteratorToken tok, text *t)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = VARDATA_ANY(t);
	v.val.string.len = VARSIZE_ANY_EXHDR(t);
	pushJsonbValue(ps, tok, &v);
}

static void
push_numeric(JsonbParseState **ps, JsonbIteratorToken tok, Numeric n)
{
	JsonbValue	v;

	v.type = jbvNumeric;
	v.val.numeric = n;
	pushJsonbValue(ps, tok, &v);
}

static void
push_int64(JsonbParseState **ps, JsonbIteratorToken tok, int64 i)
{
	push_numeric(ps, tok, int64_to_numeric(i));
}

/*
 * push_time
 *		A timestamptz in ISO 8601 in UTC, as to_jsonb() writes it with
 *		TimeZone UTC, except before year 1: astronomical year numbering.
 */
static void
push_time(JsonbParseState **ps, JsonbIteratorToken tok, Datum value)
{
	char		buf[MAXDATELEN + 1];
	char		iso[MAXDATELEN + 16];
	const int	utc = 0;
	size_t		len;

	JsonEncodeDateTime(buf, value, TIMESTAMPTZOID, &utc);
	len = strlen(buf);
	if (len > 3 && strcmp(buf + len - 3, " BC") == 0)
	{
		/* "0044-03-15T12:00:00+00:00 BC" is -0043-03-15T12:00:00+00:00 */
		char	   *dash = strchr(buf, '-');
		long		year;

		if (dash == NULL || dash == buf)
			elog(ERROR, "unexpected time format \"%s\"", buf);
		buf[len - 3] = '\0';
		year = strtol(buf, NULL, 10);
		if (year == 1)
			snprintf(iso, sizeof(iso), "0000%s", dash);
		else
			snprintf(iso, sizeof(iso), "-%04ld%s", year - 1, dash);
		push_cstring(ps, tok, pstrdup(iso));
	}
	else
		push_cstring(ps, tok, pstrdup(buf));
}

static void
push_hex(JsonbParseState **ps, JsonbIteratorToken tok, bytea *b)
{
	size_t		n = VARSIZE_ANY_EXHDR(b);
	char	   *hex = palloc(n * 2 + 1);

	hex_encode(VARDATA_ANY(b), n, hex);
	hex[n * 2] = '\0';
	push_cstring(ps, tok, hex);
}

/*
 * push_value
 *		One value of type typid as to_jsonb() writes it (ci: the column, for
 *		its array element type and cached output function).
 */
static void
push_value(JsonbParseState **ps, JsonbIteratorToken tok, ColInfo *ci, Oid typid,
		   Datum value)
{
	JsonbValue	v;

	switch (typid)
	{
		case BOOLOID:
			v.type = jbvBool;
			v.val.boolean = DatumGetBool(value);
			pushJsonbValue(ps, tok, &v);
			return;
		case INT2OID:
			push_int64(ps, tok, DatumGetInt16(value));
			return;
		case INT4OID:
			push_int64(ps, tok, DatumGetInt32(value));
			return;
		case INT8OID:
			push_int64(ps, tok, DatumGetInt64(value));
			return;
		case NUMERICOID:
			{
				Numeric		n = DatumGetNumeric(value);

				/* NaN and infinity are no JSON numbers: strings */
				if (numeric_is_nan(n) || numeric_is_inf(n))
					push_cstring(ps, tok,
								 DatumGetCString(DirectFunctionCall1(numeric_out, value)));
				else
					push_numeric(ps, tok, n);
				return;
			}
		case FLOAT4OID:
		case FLOAT8OID:
			{
				double		d = (typid == FLOAT4OID) ? DatumGetFloat4(value) : DatumGetFloat8(value);

				if (isnan(d) || isinf(d))
					push_cstring(ps, tok, isnan(d) ? "NaN" : (d > 0 ? "Infinity" : "-Infinity"));
				else
					push_numeric(ps, tok,
								 DatumGetNumeric(DirectFunctionCall1(float8_numeric,
																	 Float8GetDatum(d))));
				return;
			}
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
			push_text(ps, tok, DatumGetTextPP(value));
			return;
		case NAMEOID:
			push_cstring(ps, tok, NameStr(*DatumGetName(value)));
			return;
		case TIMESTAMPTZOID:
			push_time(ps, tok, value);
			return;
		case JSONBOID:
			push_jsonb_stripped(ps, tok, DatumGetJsonbP(value));
			return;
		default:
			break;
	}

	if (ci != NULL && OidIsValid(ci->elemtype) && typid == ci->typid)
	{
		push_array(ps, tok, ci, DatumGetArrayTypeP(value));
		return;
	}

	/* anything else: its text, as a string (uuid, inet, bytea, ...) */
	if (ci == NULL)
	{
		Oid			outfn;
		bool		isvarlena;

		getTypeOutputInfo(typid, &outfn, &isvarlena);
		push_cstring(ps, tok, OidOutputFunctionCall(outfn, value));
		return;
	}
	if (!ci->have_out)
	{
		Oid			outfn;
		bool		isvarlena;

		getTypeOutputInfo(OidIsValid(ci->elemtype) ? ci->elemtype : typid,
						  &outfn, &isvarlena);
		fmgr_info_cxt(outfn, &ci->out, TopMemoryContext);
		ci->have_out = true;
	}
	push_cstring(ps, tok, OutputFunctionCall(&ci->out, value));
}

/*
 * push_array
 *		An array as nested JSON arrays, NULL elements as null (as to_jsonb()).
 */
static void
push_array(JsonbParseState **ps, JsonbIteratorToken tok, ColInfo *ci, ArrayType *arr)
{
	int			ndim = ARR_NDIM(arr);
	int		   *dims = ARR_DIMS(arr);
	int			nitems = ArrayGetNItems(ndim, dims);
	Datum	   *elems;
	bool	   *enulls;
	int			nelems;
	int			idx[MAXDIM];
	int			k = 0;

	deconstruct_array(arr, ci->elemtype, ci->elemlen, ci->elembyval, ci->elemalign,
					  &elems, &enulls, &nelems);
	Assert(nelems == nitems);

	pushJsonbValue(ps, WJB_BEGIN_ARRAY, NULL);
	if (ndim == 0 || nitems == 0)
	{
		pushJsonbValue(ps, WJB_END_ARRAY, NULL);
		return;
	}
	/* walk the dimensions: open an array at every level but the outermost */
	for (int d = 0; d < ndim; d++)
		idx[d] = 0;
	for (int d = 1; d < ndim; d++)
		pushJsonbValue(ps, WJB_BEGIN_ARRAY, NULL);
	for (;;)
	{
		if (enulls[k])
		{
			JsonbValue	v;

			v.type = jbvNull;
			pushJsonbValue(ps, WJB_ELEM, &v);
		}
		else
			push_value(ps, WJB_ELEM, ci, ci->elemtype, elems[k]);
		k++;
		/* next index: close and reopen the inner arrays that end here */
		{
			int			d = ndim - 1;

			while (d >= 0 && ++idx[d] == dims[d])
			{
				idx[d] = 0;
				pushJsonbValue(ps, WJB_END_ARRAY, NULL);
				d--;
			}
			if (d < 0)
				return;
			for (int e = d + 1; e < ndim; e++)
				pushJsonbValue(ps, WJB_BEGIN_ARRAY, NULL);
		}
	}
}

/*
 * push_jsonb_stripped
 *		A jsonb value, object members whose value is null left out at every
 *		level (jsonb_strip_nulls()).
 */
static void
push_jsonb_stripped(JsonbParseState **ps, JsonbIteratorToken tok, Jsonb *jb)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbValue	k;
	JsonbIteratorToken t;

	if (JB_ROOT_IS_SCALAR(jb))
	{
		/* a scalar: [raw scalar] */
		it = JsonbIteratorInit(&jb->root);
		(void) JsonbIteratorNext(&it, &v, false);	/* WJB_BEGIN_ARRAY */
		(void) JsonbIteratorNext(&it, &v, false);	/* WJB_ELEM */
		pushJsonbValue(ps, tok, &v);
		return;
	}

	it = JsonbIteratorInit(&jb->root);
	while ((t = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		if (t == WJB_KEY)
		{
			k = v;
			t = JsonbIteratorNext(&it, &v, false);
			/* a value: scalar, or the start of a nested container */
			if (t == WJB_VALUE && v.type == jbvNull)
				continue;
			pushJsonbValue(ps, WJB_KEY, &k);
			if (t == WJB_VALUE)
				pushJsonbValue(ps, WJB_VALUE, &v);
			else
				pushJsonbValue(ps, t, NULL);
			continue;
		}
		/* the containers' starts and ends */
		if (t != WJB_ELEM)
		{
			pushJsonbValue(ps, t, NULL);
			continue;
		}
		/* WJB_ELEM */
		pushJsonbValue(ps, t, &v);
	}
}

/*
 * push_columns
 *		Every column that is not NULL under its name (ECS: the columns ECS
 *		has no place for), digests in hex.
 */
static void
push_columns(JsonbParseState **ps, EventJsonCache *c, Datum *values, bool *nulls,
			 bool ecs)
{
	for (int i = 0; i < c->tupdesc->natts; i++)
	{
		ColInfo    *ci = &c->cols[i];

		if (ci->name == NULL || nulls[i])
			continue;
		if (ecs && ci->col >= 0 && event_cols[ci->col].ecs_own)
			continue;
		/* a JSON null (not an SQL NULL) is dropped as jsonb_strip_nulls() does */
		if (ci->typid == JSONBOID)
		{
			Jsonb	   *jb = DatumGetJsonbP(values[i]);
			JsonbValue	sv;

			if (JB_ROOT_IS_SCALAR(jb) && JsonbExtractScalar(&jb->root, &sv) &&
				sv.type == jbvNull)
				continue;
		}
		push_key(ps, ci->name, ci->namelen);
		if (ci->hex)
			push_hex(ps, WJB_VALUE, DatumGetByteaPP(values[i]));
		else
			push_value(ps, WJB_VALUE, ci, ci->typid, values[i]);
	}
}

static Jsonb *
event_raw(EventJsonCache *c, Datum *values, bool *nulls)
{
	JsonbParseState *ps = NULL;
	JsonbValue *res;

	pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
	push_columns(&ps, c, values, nulls, false);
	res = pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

/* does s start with prefix */
static bool
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* s starts with "sign", then at most one character, then word (sign.?in) */
static bool
starts_sign(const char *s, const char *word)
{
	if (!starts(s, "sign"))
		return false;
	s += 4;
	if (starts(s, word))
		return true;
	if (*s == '\0')
		return false;
	s += pg_mblen(s);
	return starts(s, word);
}

/*
 * ecs_category
 *		event.category and event.type (doc/siem.md) of an event type and
 *		action; category NULL for an event type not listed, types NULL then.
 */
static const char *
ecs_category(const char *et, const char *action, const char *outcome,
			 const char **type)
{
	bool		denied = outcome != NULL &&
		(strcmp(outcome, "denied") == 0 || strcmp(outcome, "blocked") == 0);
	const char *cat = NULL;

	*type = NULL;
	if (strcmp(et, "authentication") == 0)
	{
		cat = "authentication";
		if (starts(action, "login") || starts(action, "logon") || starts_sign(action, "in"))
			*type = "start";
		else if (starts(action, "logout") || starts(action, "logoff") || starts_sign(action, "out"))
			*type = "end";
		else
			*type = "info";
	}
	else if (strcmp(et, "api_request") == 0 || strcmp(et, "security") == 0)
	{
		cat = (et[0] == 'a') ? "api" : "intrusion_detection";
		if (denied)
			*type = "denied";
		else
			*type = (et[0] == 's') ? "info" : "access";
	}
	else if (strcmp(et, "error") == 0)
	{
		cat = "api";
		*type = "info";
	}
	else if (strcmp(et, "data_access") == 0 || strcmp(et, "disclosure") == 0)
	{
		cat = "database";
		*type = "access";
	}
	else if (strcmp(et, "row_change") == 0 || strcmp(et, "admin") == 0 ||
			 strcmp(et, "consent") == 0)
	{
		if (et[0] == 'r')
			cat = "database";
		else if (et[0] == 'c')
			cat = "iam";
		else if (strstr(action, "grant") || strstr(action, "revoke") ||
				 strstr(action, "role") || strstr(action, "user") ||
				 strstr(action, "policy"))
			cat = "iam";
		else
			cat = "configuration";
		if (starts(action, "insert") || starts(action, "create"))
			*type = "creation";
		else if (starts(action, "delete") || starts(action, "drop"))
			*type = "deletion";
		else
			*type = "change";
	}
	return cat;
}

/* resource ~ '^[A-Za-z][A-Za-z0-9+.-]*://' */
static bool
is_url(const char *s)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
		return false;
	for (s++; (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		 (*s >= '0' && *s <= '9') || *s == '+' || *s == '.' || *s == '-'; s++)
		;
	return starts(s, "://");
}

/*
 * push_member_object
 *		key: {inner: text}, the shape of most ECS fields ("user": {"name": ...})
 */
static void
push_member_object(JsonbParseState **ps, const char *key, const char *inner, Datum value)
{
	push_key(ps, key, strlen(key));
	pushJsonbValue(ps, WJB_BEGIN_OBJECT, NULL);
	push_key(ps, inner, strlen(inner));
	push_text(ps, WJB_VALUE, DatumGetTextPP(value));
	pushJsonbValue(ps, WJB_END_OBJECT, NULL);
}

#define COL(k)		(c->attno[k])
#define ISNULL(k)	(nulls[COL(k)])
#define VAL(k)		(values[COL(k)])
#define CSTR(k)		(TextDatumGetCString(VAL(k)))

static Jsonb *
event_ecs(EventJsonCache *c, Datum *values, bool *nulls)
{
	JsonbParseState *ps = NULL;
	JsonbValue *res;
	const char *et = ISNULL(EC_EVENT_TYPE) ? "" : CSTR(EC_EVENT_TYPE);
	const char *action = ISNULL(EC_ACTION) ? "" : CSTR(EC_ACTION);
	const char *outcome = ISNULL(EC_OUTCOME) ? NULL : CSTR(EC_OUTCOME);
	const char *type;
	const char *cat = ecs_category(et, action, outcome, &type);
	bool		gen_ai;

	pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);

	if (!ISNULL(EC_OCCURRED_AT))
	{
		PUSH_KEY(&ps, "@timestamp");
		push_time(&ps, WJB_VALUE, VAL(EC_OCCURRED_AT));
	}

	PUSH_KEY(&ps, "ecs");
	pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
	PUSH_KEY(&ps, "version");
	push_cstring(&ps, WJB_VALUE, "8.17.0");
	pushJsonbValue(&ps, WJB_END_OBJECT, NULL);

	PUSH_KEY(&ps, "event");
	pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
	if (!ISNULL(EC_EVENT_ID))
	{
		PUSH_KEY(&ps, "id");
		push_value(&ps, WJB_VALUE, &c->cols[COL(EC_EVENT_ID)], UUIDOID, VAL(EC_EVENT_ID));
	}
	PUSH_KEY(&ps, "kind");
	push_cstring(&ps, WJB_VALUE, "event");
	PUSH_KEY(&ps, "category");
	pushJsonbValue(&ps, WJB_BEGIN_ARRAY, NULL);
	if (cat != NULL)
		push_cstring(&ps, WJB_ELEM, cat);
	else
	{
		JsonbValue	v;

		v.type = jbvNull;
		pushJsonbValue(&ps, WJB_ELEM, &v);
	}
	pushJsonbValue(&ps, WJB_END_ARRAY, NULL);
	if (type != NULL)
	{
		PUSH_KEY(&ps, "type");
		pushJsonbValue(&ps, WJB_BEGIN_ARRAY, NULL);
		push_cstring(&ps, WJB_ELEM, type);
		pushJsonbValue(&ps, WJB_END_ARRAY, NULL);
	}
	if (!ISNULL(EC_ACTION))
	{
		PUSH_KEY(&ps, "action");
		push_text(&ps, WJB_VALUE, DatumGetTextPP(VAL(EC_ACTION)));
	}
	PUSH_KEY(&ps, "outcome");
	push_cstring(&ps, WJB_VALUE,
				 (outcome != NULL && strcmp(outcome, "success") == 0) ? "success" : "failure");
	if (outcome != NULL && (strcmp(outcome, "denied") == 0 || strcmp(outcome, "blocked") == 0 ||
							strcmp(outcome, "error") == 0))
	{
		PUSH_KEY(&ps, "reason");
		push_cstring(&ps, WJB_VALUE, outcome);
	}
	if (!ISNULL(EC_LATENCY_MS))
	{
		/* nanoseconds */
		PUSH_KEY(&ps, "duration");
		push_int64(&ps, WJB_VALUE, (int64) DatumGetInt32(VAL(EC_LATENCY_MS)) * 1000000);
	}
	PUSH_KEY(&ps, "dataset");
	push_cstring(&ps, WJB_VALUE, "audit_chain.events");
	PUSH_KEY(&ps, "module");
	push_cstring(&ps, WJB_VALUE, "audit_chain");
	pushJsonbValue(&ps, WJB_END_OBJECT, NULL);

	if (!ISNULL(EC_ACTOR))
	{
		push_member_object(&ps, "user", "name", VAL(EC_ACTOR));
	}
	if (!ISNULL(EC_CLIENT_ADDR))
	{
		PUSH_KEY(&ps, "source");
		pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
		PUSH_KEY(&ps, "ip");
		push_text(&ps, WJB_VALUE,
				  DatumGetTextPP(DirectFunctionCall1(network_host, VAL(EC_CLIENT_ADDR))));
		pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
	}
	if (!ISNULL(EC_USER_AGENT))
	{
		push_member_object(&ps, "user_agent", "original", VAL(EC_USER_AGENT));
	}
	if (!ISNULL(EC_RESOURCE))
	{
		const char *r = CSTR(EC_RESOURCE);

		if (is_url(r) || r[0] == '/')
		{
			PUSH_KEY(&ps, "url");
			pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
			if (r[0] == '/')
				PUSH_KEY(&ps, "path");
			else
				PUSH_KEY(&ps, "original");
			push_cstring(&ps, WJB_VALUE, r);
			pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
		}
	}

	/* OpenTelemetry GenAI */
	gen_ai = !ISNULL(EC_PROVIDER) || !ISNULL(EC_MODEL) ||
		!ISNULL(EC_INPUT_TOKENS) || !ISNULL(EC_OUTPUT_TOKENS);
	if (gen_ai)
	{
		PUSH_KEY(&ps, "gen_ai");
		pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
		if (!ISNULL(EC_PROVIDER))
		{
			push_member_object(&ps, "provider", "name", VAL(EC_PROVIDER));
			PUSH_KEY(&ps, "system");
			push_text(&ps, WJB_VALUE, DatumGetTextPP(VAL(EC_PROVIDER)));
		}
		if (!ISNULL(EC_MODEL))
		{
			push_member_object(&ps, "request", "model", VAL(EC_MODEL));
		}
		if (!ISNULL(EC_INPUT_TOKENS) || !ISNULL(EC_OUTPUT_TOKENS))
		{
			PUSH_KEY(&ps, "usage");
			pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
			if (!ISNULL(EC_INPUT_TOKENS))
			{
				PUSH_KEY(&ps, "input_tokens");
				push_int64(&ps, WJB_VALUE, DatumGetInt32(VAL(EC_INPUT_TOKENS)));
			}
			if (!ISNULL(EC_OUTPUT_TOKENS))
			{
				PUSH_KEY(&ps, "output_tokens");
				push_int64(&ps, WJB_VALUE, DatumGetInt32(VAL(EC_OUTPUT_TOKENS)));
			}
			pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
		}
		pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
	}

	/* W3C trace context, and the request */
	if (!ISNULL(EC_TRACE_ID))
	{
		push_member_object(&ps, "trace", "id", VAL(EC_TRACE_ID));
	}
	if (!ISNULL(EC_REQUEST_ID))
	{
		PUSH_KEY(&ps, "http");
		pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
		push_member_object(&ps, "request", "id", VAL(EC_REQUEST_ID));
		pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
	}

	/* everything else, and the chain */
	PUSH_KEY(&ps, "audit_chain");
	pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
	push_columns(&ps, c, values, nulls, true);
	PUSH_KEY(&ps, "table");
	push_cstring(&ps, WJB_VALUE, "audit_chain.events");
	if (!ISNULL(EC_CHAIN_LANE))
	{
		PUSH_KEY(&ps, "lane");
		push_int64(&ps, WJB_VALUE, DatumGetInt16(VAL(EC_CHAIN_LANE)));
	}
	if (!ISNULL(EC_CHAIN_SEQ))
	{
		PUSH_KEY(&ps, "seq");
		push_int64(&ps, WJB_VALUE, DatumGetInt64(VAL(EC_CHAIN_SEQ)));
	}
	if (!ISNULL(EC_CHAIN_AT))
	{
		PUSH_KEY(&ps, "at");
		push_time(&ps, WJB_VALUE, VAL(EC_CHAIN_AT));
	}
	if (!ISNULL(EC_CHAIN_PREV))
	{
		PUSH_KEY(&ps, "prev");
		push_hex(&ps, WJB_VALUE, DatumGetByteaPP(VAL(EC_CHAIN_PREV)));
	}
	if (!ISNULL(EC_CHAIN_HASH))
	{
		PUSH_KEY(&ps, "hash");
		push_hex(&ps, WJB_VALUE, DatumGetByteaPP(VAL(EC_CHAIN_HASH)));
	}
	if (!ISNULL(EC_INPUT_DIGEST))
	{
		PUSH_KEY(&ps, "input_digest");
		push_hex(&ps, WJB_VALUE, DatumGetByteaPP(VAL(EC_INPUT_DIGEST)));
	}
	if (!ISNULL(EC_OUTPUT_DIGEST))
	{
		PUSH_KEY(&ps, "output_digest");
		push_hex(&ps, WJB_VALUE, DatumGetByteaPP(VAL(EC_OUTPUT_DIGEST)));
	}
	pushJsonbValue(&ps, WJB_END_OBJECT, NULL);

	res = pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}
