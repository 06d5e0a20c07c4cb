/*-------------------------------------------------------------------------
 *
 * hash.c
 *	  Canonical row encoding and SHA-256 hashing, format audit_chain/v1.
 *
 * This is the only file that talks to OpenSSL's digest API.  The format is
 * fixed by DESIGN.md section 3, and external verifiers depend on every byte:
 *
 *	chain_hash = SHA-256("audit_chain/v1" || 0x00
 *						 || uint64_be(chain_seq)
 *						 || int64_be(chain_at, microseconds since 1970 UTC)
 *						 || chain_prev (32 bytes)
 *						 || for each hashed, non-NULL column in attnum order:
 *							  uint32_be(len(name)) || name || col_digest)
 *	col_digest = SHA-256(canonical text of the value, UTF-8)
 *
 * The canonical text is the type's output function result under DateStyle
 * 'ISO, YMD', IntervalStyle 'postgres', TimeZone 'UTC', extra_float_digits 1
 * and bytea_output 'hex'.
 *
 * IDENTIFICATION
 *	  src/hash.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

/*
 * OpenSSL 3.0's EVP_DigestInit_ex frees and re-creates the provider's digest
 * state at every call, which costs more than hashing a short value: measured
 * here, 82 ns per digest of 20 bytes through a reused EVP context against 56
 * ns through SHA256_Init/Update/Final, which use the same accelerated block
 * function (SHA-NI where the CPU has it).  A row hashes a dozen short values,
 * so the low-level interface is used where the library has it, unless
 * OpenSSL runs in FIPS mode: then every digest goes through EVP and the FIPS
 * provider.  The low-level interface is deprecated in OpenSSL 3, not
 * removed; builds without it always use EVP.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "port/pg_bswap.h"
#include "utils/builtins.h"
#include "utils/bytea.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"
#include "utils/uuid.h"

#include "encode.h"
#include "hash.h"

#if !defined(OPENSSL_NO_DEPRECATED_3_0) && defined(SHA256_DIGEST_LENGTH)
#define AC_HAVE_LOW_LEVEL_SHA256
#endif

/* Use EVP for every digest (FIPS mode, or no low-level interface) */
static bool ac_use_evp = true;

/* The SHA-256 implementation, fetched once per backend */
static const EVP_MD *ac_md = NULL;

/*
 * One digest context, made once per backend and reused for every digest.
 * Nothing between EVP_DigestInit_ex and EVP_DigestFinal_ex can raise a
 * PostgreSQL error, and the next Init resets it, so it cannot be left in a
 * bad state or leak across an error.
 */
static EVP_MD_CTX *ac_ctx = NULL;

/*
 * ac_hash_init
 *		Look up SHA-256 once, so that no digest pays for an implicit fetch.
 */
static void
ac_hash_init(void)
{
	if (ac_ctx != NULL)
		return;
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	ac_md = EVP_MD_fetch(NULL, "SHA256", NULL);
#ifdef AC_HAVE_LOW_LEVEL_SHA256
	ac_use_evp = EVP_default_properties_is_fips_enabled(NULL) != 0;
#endif
#else
	ac_md = EVP_sha256();
#ifdef AC_HAVE_LOW_LEVEL_SHA256
	ac_use_evp = false;
#endif
#endif
	if (ac_md == NULL)
		elog(ERROR, "could not load the SHA-256 implementation from OpenSSL");
	ac_ctx = EVP_MD_CTX_new();
	if (ac_ctx == NULL)
		elog(ERROR, "could not allocate an OpenSSL digest context");
}

/*
 * ac_sha256
 *		SHA-256 of len bytes at data into out (32 bytes).
 */
void
ac_sha256(const void *data, size_t len, uint8 *out)
{
	unsigned int outlen = 0;

	if (ac_ctx == NULL)
		ac_hash_init();
#ifdef AC_HAVE_LOW_LEVEL_SHA256
	if (!ac_use_evp)
	{
		SHA256_CTX	ctx;

		if (SHA256_Init(&ctx) != 1 ||
			SHA256_Update(&ctx, data, len) != 1 ||
			SHA256_Final(out, &ctx) != 1)
			elog(ERROR, "SHA-256 computation failed in OpenSSL");
		return;
	}
#endif
	if (EVP_DigestInit_ex(ac_ctx, ac_md, NULL) != 1 ||
		EVP_DigestUpdate(ac_ctx, data, len) != 1 ||
		EVP_DigestFinal_ex(ac_ctx, out, &outlen) != 1 ||
		outlen != AC_HASH_LEN)
		elog(ERROR, "SHA-256 computation failed in OpenSSL");
}

/*
 * ac_is_chain_column
 *		True if attname is one of the five chain columns.
 */
bool
ac_is_chain_column(const char *attname)
{
	return strcmp(attname, AC_COL_LANE) == 0 ||
		strcmp(attname, AC_COL_SEQ) == 0 ||
		strcmp(attname, AC_COL_AT) == 0 ||
		strcmp(attname, AC_COL_PREV) == 0 ||
		strcmp(attname, AC_COL_HASH) == 0;
}

/*
 * type_output_is_stable
 *		True if the type's output function ignores every setting that section
 *		3 fixes, so it can run under the session's settings unchanged.
 *
 * Anything not listed here (dates and times, floats, bytea, geometric
 * types, arrays, composites, ranges and types from other extensions) is
 * treated as sensitive, which is always safe: it only costs a settings
 * switch.
 */
static bool
type_output_is_stable(Oid typid)
{
	switch (typid)
	{
		case BOOLOID:
		case CHAROID:
		case NAMEOID:
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case OIDOID:
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
		case NUMERICOID:
		case UUIDOID:
		case JSONOID:
		case JSONBOID:
		case INETOID:
		case CIDROID:
		case MACADDROID:
		case MACADDR8OID:
		case BITOID:
		case VARBITOID:
		case XMLOID:
			return true;
		default:
			return false;
	}
}

/*
 * type_text_is_value_only
 *		True if the canonical text of a value of the type depends on the
 *		value's bytes alone (given the settings section 3 fixes), so that its
 *		digest can be remembered: not an enum label, which can be renamed,
 *		nor a role name in an aclitem, nor anything from another extension.
 */
static bool
type_text_is_value_only(Oid typid, AcEncoder encoder)
{
	Oid			base = getBaseType(typid);

	if (encoder != AC_ENC_OUTPUT || type_output_is_stable(base))
		return true;
	switch (base)
	{
		case FLOAT4OID:
		case FLOAT8OID:
		case INTERVALOID:
		case TIMEOID:
		case TIMETZOID:
			return true;
		default:
			return false;
	}
}

/*
 * ac_encoder_for_type
 *		The direct encoder for values of a type (looking through domains), or
 *		AC_ENC_OUTPUT if its output function must run.
 */
AcEncoder
ac_encoder_for_type(Oid typid)
{
	switch (getBaseType(typid))
	{
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
		case JSONOID:			/* json_out returns the stored text */
			return AC_ENC_TEXT;
		case NUMERICOID:
			return AC_ENC_NUMERIC;
		case INETOID:
			return AC_ENC_INET;
		case CIDROID:
			return AC_ENC_CIDR;
		case JSONBOID:
			return AC_ENC_JSONB;
		case BOOLOID:
			return AC_ENC_BOOL;
		case INT2OID:
			return AC_ENC_INT2;
		case INT4OID:
			return AC_ENC_INT4;
		case INT8OID:
			return AC_ENC_INT8;
		case OIDOID:
			return AC_ENC_OID;
		case UUIDOID:
			return AC_ENC_UUID;
		case BYTEAOID:
			return AC_ENC_BYTEA;
		case DATEOID:
			return AC_ENC_DATE;
		case TIMESTAMPOID:
			return AC_ENC_TIMESTAMP;
		case TIMESTAMPTZOID:
			return AC_ENC_TIMESTAMPTZ;
		default:
			return AC_ENC_OUTPUT;
	}
}

/*
 * type_text_needs_names
 *		True if the text form of a value of this base type depends on more
 *		than the value: money on lc_monetary, the reg* types on search_path
 *		and object names, aclitem on role names.
 */
static bool
type_text_needs_names(Oid base)
{
	switch (base)
	{
		case MONEYOID:
		case REGCLASSOID:
		case REGTYPEOID:
		case REGPROCOID:
		case REGPROCEDUREOID:
		case REGOPEROID:
		case REGOPERATOROID:
		case REGCONFIGOID:
		case REGDICTIONARYOID:
		case REGNAMESPACEOID:
		case REGROLEOID:
		case REGCOLLATIONOID:
		case ACLITEMOID:
			return true;
		default:
			return false;
	}
}

/*
 * find_in_type
 *		The first type within typid (itself, or looked for through domains,
 *		arrays, composite attributes, range subtypes and multiranges, to any
 *		depth) that is target, or that type_text_needs_names() refuses when
 *		target is InvalidOid.  InvalidOid if none.  *nested is set to true if
 *		the type was found inside a composite, range or multirange.
 */
static Oid
find_in_type(Oid typid, Oid target, bool *nested)
{
	Oid			base;
	Oid			inner;
	Oid			found = InvalidOid;
	char		typtype;

	check_stack_depth();
	CHECK_FOR_INTERRUPTS();

	/* a domain itself may be the target (ALTER DOMAIN, not used today) */
	if (OidIsValid(target) && typid == target)
		return typid;
	base = getBaseType(typid);
	if (OidIsValid(target) ? base == target : type_text_needs_names(base))
		return base;

	inner = get_element_type(base);
	if (OidIsValid(inner))
		return find_in_type(inner, target, nested);

	typtype = get_typtype(base);
	if (typtype == TYPTYPE_COMPOSITE)
	{
		TupleDesc	tupdesc = lookup_rowtype_tupdesc(base, -1);

		for (int i = 0; i < tupdesc->natts && !OidIsValid(found); i++)
		{
			Form_pg_attribute att = TupleDescAttr(tupdesc, i);

			if (!att->attisdropped)
				found = find_in_type(att->atttypid, target, nested);
		}
		ReleaseTupleDesc(tupdesc);
	}
	else if (typtype == TYPTYPE_RANGE)
		found = find_in_type(get_range_subtype(base), target, nested);
	else if (typtype == TYPTYPE_MULTIRANGE)
		found = find_in_type(get_multirange_range(base), target, nested);
	if (OidIsValid(found))
		*nested = true;
	return found;
}

/*
 * ac_type_contains
 *		True if values of typid contain values of target: typid is target,
 *		or a domain, array, composite, range or multirange built on it, to any
 *		depth.  For the DDL guard: a change to target changes the text of
 *		typid's values.
 */
bool
ac_type_contains(Oid typid, Oid target)
{
	bool		nested = false;

	return OidIsValid(find_in_type(typid, target, &nested));
}

/*
 * ac_check_column_type
 *		Refuse a column type whose text form depends on more than the value:
 *		money (lc_monetary), the reg* types (search_path and object names) and
 *		aclitem (role names), also where they hide inside domains, arrays,
 *		composites, ranges and multiranges, to any depth.  Such a column would
 *		report false alarms after a rename or a settings change.
 *		relname NULL: a bare value.
 */
void
ac_check_column_type(Oid typid, const char *attname, const char *relname)
{
	bool		nested = false;
	Oid			bad = find_in_type(typid, InvalidOid, &nested);
	const char *why;
	const char *hint;

	if (!OidIsValid(bad))
		return;

	if (bad == MONEYOID)
	{
		why = "The text form of money depends on lc_monetary, so the same value could hash differently on another server.";
		hint = "Store amounts as numeric, with the currency in a separate column.";
	}
	else if (bad == ACLITEMOID)
	{
		why = "The text form of aclitem names roles, which can be renamed.";
		hint = "Store privileges as text.";
	}
	else
	{
		why = "The text form of object identifier types depends on search_path and on object names, which can change.";
		hint = "Store the object's name as text, or its OID as oid.";
	}

	if (nested)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 relname ?
				 errmsg("column \"%s\" of table \"%s\" has type %s, which contains type %s and cannot be hashed canonically",
						attname, relname, format_type_be(typid), format_type_be(bad)) :
				 errmsg("values of type %s contain type %s and cannot be hashed canonically",
						format_type_be(typid), format_type_be(bad)),
				 errdetail("%s", why),
				 errhint("%s", hint)));
	/* the type itself, a domain over it or an array of it */
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 relname ?
			 errmsg("column \"%s\" of table \"%s\" has type %s, which cannot be hashed canonically",
					attname, relname,
					bad == MONEYOID ? "money" : format_type_be(typid)) :
			 errmsg("values of type %s cannot be hashed canonically",
					bad == MONEYOID ? "money" : format_type_be(typid)),
			 errdetail("%s", why),
			 errhint("%s", hint)));
}

/*
 * ac_rowdesc_build
 *		Describe how to hash rows of the given tuple descriptor.
 *
 * Hashed columns are every live, non-generated column other than the five
 * chain columns, in attnum order.  Names are converted to UTF-8 here once.
 * If require_chain_columns, all five chain columns must be present.
 * The result is allocated in CurrentMemoryContext.
 */
AcRowDesc *
ac_rowdesc_build(TupleDesc tupdesc, const char *relname,
				 bool require_chain_columns)
{
	AcRowDesc  *desc = palloc0(sizeof(AcRowDesc));
	int			i;

	desc->cols = palloc0(sizeof(AcColumn) * Max(tupdesc->natts, 1));

	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		const char *name = NameStr(att->attname);
		AcColumn   *col;
		Oid			outfn;
		bool		isvarlena;

		if (att->attisdropped)
			continue;
		if (strcmp(name, AC_COL_LANE) == 0)
			desc->att_lane = att->attnum;
		else if (strcmp(name, AC_COL_SEQ) == 0)
			desc->att_seq = att->attnum;
		else if (strcmp(name, AC_COL_AT) == 0)
			desc->att_at = att->attnum;
		else if (strcmp(name, AC_COL_PREV) == 0)
			desc->att_prev = att->attnum;
		else if (strcmp(name, AC_COL_HASH) == 0)
			desc->att_hash = att->attnum;
		else if (att->attgenerated == '\0')
		{
			ac_check_column_type(att->atttypid, name, relname);

			col = &desc->cols[desc->ncols++];
			col->attnum = att->attnum;
			col->typid = att->atttypid;
			col->name = pg_server_to_any(name, strlen(name), PG_UTF8);
			col->namelen = strlen(col->name);
			col->encoder = ac_encoder_for_type(att->atttypid);
			col->settings_sensitive = col->encoder == AC_ENC_OUTPUT &&
				!type_output_is_stable(getBaseType(att->atttypid));
			col->typlen = att->attlen;
			col->typbyval = att->attbyval;
			col->memo_off = !type_text_is_value_only(att->atttypid,
													  col->encoder);
			col->memo_cxt = CurrentMemoryContext;
			desc->terms_len += 4 + col->namelen + AC_HASH_LEN;
			getTypeOutputInfo(att->atttypid, &outfn, &isvarlena);
			fmgr_info(outfn, &col->outfunc);
		}
	}

	if (require_chain_columns &&
		(desc->att_lane == 0 || desc->att_seq == 0 || desc->att_at == 0 ||
		 desc->att_prev == 0 || desc->att_hash == 0))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("table \"%s\" is missing one of its chain columns", relname),
				 errdetail("A chained table has the columns chain_lane, chain_seq, chain_at, chain_prev and chain_hash.")));

	return desc;
}

/*
 * remap_attnum
 *		The attnum in "to" of the live column that has attnum a in "from".
 */
static AttrNumber
remap_attnum(AttrNumber a, TupleDesc from, TupleDesc to)
{
	const char *name;

	if (a == InvalidAttrNumber)
		return InvalidAttrNumber;
	name = NameStr(TupleDescAttr(from, a - 1)->attname);
	for (int i = 0; i < to->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(to, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return att->attnum;
	}
	elog(ERROR, "column \"%s\" of a chained table is missing from a row layout",
		 name);
	return InvalidAttrNumber;	/* keep compiler quiet */
}

/*
 * ac_rowdesc_remap
 *		Point a row description built on tuple layout "from" (say, the root of
 *		a partitioned table) at the same columns, by name, in layout "to" (a
 *		partition, or the result of a query).  The hashed column order stays
 *		that of "from".
 */
void
ac_rowdesc_remap(AcRowDesc *desc, TupleDesc from, TupleDesc to)
{
	for (int i = 0; i < desc->ncols; i++)
		desc->cols[i].attnum = remap_attnum(desc->cols[i].attnum, from, to);
	desc->att_lane = remap_attnum(desc->att_lane, from, to);
	desc->att_seq = remap_attnum(desc->att_seq, from, to);
	desc->att_at = remap_attnum(desc->att_at, from, to);
	desc->att_prev = remap_attnum(desc->att_prev, from, to);
	desc->att_hash = remap_attnum(desc->att_hash, from, to);
}

/*
 * settings_are_canonical
 *		True if the session's settings already give canonical text.
 *
 * DateOrder does not matter in ISO style, so 'ISO, MDY' (the default) is as
 * good as 'ISO, YMD'.  Any zone that is UTC under another name gives the
 * same ISO output, with a +00 offset.
 */
static bool
settings_are_canonical(void)
{
	const char *tz;

	if (DateStyle != USE_ISO_DATES ||
		IntervalStyle != INTSTYLE_POSTGRES ||
		extra_float_digits != 1 ||
		bytea_output != BYTEA_OUTPUT_HEX ||
		session_timezone == NULL)
		return false;

	tz = pg_get_timezone_name(session_timezone);
	return tz != NULL &&
		(strcmp(tz, "UTC") == 0 || strcmp(tz, "Etc/UTC") == 0 ||
		 strcmp(tz, "Etc/UCT") == 0 || strcmp(tz, "UCT") == 0 ||
		 strcmp(tz, "Etc/Universal") == 0 || strcmp(tz, "Universal") == 0 ||
		 strcmp(tz, "Etc/Zulu") == 0 || strcmp(tz, "Zulu") == 0);
}

/*
 * ac_enter_canonical_settings
 *		Switch to the settings of section 3 if the session differs.
 *
 * Returns a GUC nest level to hand to ac_leave_canonical_settings, or -1 if
 * nothing had to change.  If an error is raised in between, transaction or
 * subtransaction abort restores the settings, as for a function with SET
 * clauses.
 */
int
ac_enter_canonical_settings(void)
{
	int			nestlevel;
	GucContext	ctx = superuser() ? PGC_SUSET : PGC_USERSET;

	if (settings_are_canonical())
		return -1;

	nestlevel = NewGUCNestLevel();
	(void) set_config_option("datestyle", "ISO, YMD", ctx, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("intervalstyle", "postgres", ctx, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("timezone", "UTC", ctx, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("extra_float_digits", "1", ctx, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("bytea_output", "hex", ctx, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return nestlevel;
}

/*
 * ac_leave_canonical_settings
 *		Undo ac_enter_canonical_settings.
 */
void
ac_leave_canonical_settings(int nestlevel)
{
	if (nestlevel >= 0)
		AtEOXact_GUC(true, nestlevel);
}

/*
 * server_to_utf8
 *		n bytes of text in the server encoding, as UTF-8: the same bytes when
 *		the server encoding is UTF-8 (or the text is plain ASCII), else a
 *		converted, NUL-terminated copy.  Sets *len to the result's length.
 */
static char *
server_to_utf8(const char *s, int n, int *len)
{
	char	   *utf8 = pg_server_to_any(s, n, PG_UTF8);

	*len = (utf8 == s) ? n : strlen(utf8);
	return utf8;
}

/*
 * ac_canonical_text
 *		The canonical text of one non-NULL value, as UTF-8, with its length.
 *
 * The caller must have entered the canonical settings if the type is
 * settings-sensitive.  The result is palloc'd (or the output function's own
 * string, when the server encoding is already UTF-8).
 */
char *
ac_canonical_text(FmgrInfo *outfunc, Datum value, int *len)
{
	char	   *text = OutputFunctionCall(outfunc, value);

	return server_to_utf8(text, strlen(text), len);
}

/*
 * ac_canonical_value
 *		The canonical text of one non-NULL value, as UTF-8, and its length
 *		(not necessarily NUL-terminated).
 *
 * The direct encoders write exactly what the output function writes under
 * the settings of section 3, whatever the session's settings are; the
 * regression test "encoders" holds them to that.  buf (AC_ENCODE_BUFLEN
 * bytes) may be used for the result; so may the value's own storage.  For
 * AC_ENC_OUTPUT the caller must have entered the canonical settings if the
 * type is settings-sensitive.
 */
const char *
ac_canonical_value(AcEncoder encoder, FmgrInfo *outfunc, Datum value,
				   char *buf, int *len)
{
	static const char hexdigits[] = "0123456789abcdef";

	switch (encoder)
	{
		case AC_ENC_TEXT:
			{
				text	   *t = DatumGetTextPP(value);

				return server_to_utf8(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), len);
			}
		case AC_ENC_BOOL:
			buf[0] = DatumGetBool(value) ? 't' : 'f';
			*len = 1;
			return buf;
		case AC_ENC_INT2:
			*len = pg_itoa(DatumGetInt16(value), buf);
			return buf;
		case AC_ENC_INT4:
			*len = pg_ltoa(DatumGetInt32(value), buf);
			return buf;
		case AC_ENC_INT8:
			*len = pg_lltoa(DatumGetInt64(value), buf);
			return buf;
		case AC_ENC_OID:
			*len = pg_ultoa_n(DatumGetObjectId(value), buf);
			return buf;
		case AC_ENC_UUID:
			{
				pg_uuid_t  *u = DatumGetUUIDP(value);
				char	   *p = buf;

				for (int i = 0; i < UUID_LEN; i++)
				{
					if (i == 4 || i == 6 || i == 8 || i == 10)
						*p++ = '-';
					*p++ = hexdigits[u->data[i] >> 4];
					*p++ = hexdigits[u->data[i] & 0x0F];
				}
				*len = p - buf;
				return buf;
			}
		case AC_ENC_BYTEA:
			{
				bytea	   *b = DatumGetByteaPP(value);
				size_t		n = VARSIZE_ANY_EXHDR(b);
				char	   *out = buf;

				if (2 + 2 * n > AC_ENCODE_BUFLEN)
					out = palloc(2 + 2 * n);
				out[0] = '\\';
				out[1] = 'x';
				*len = 2 + (int) hex_encode(VARDATA_ANY(b), n, out + 2);
				return out;
			}
		case AC_ENC_DATE:
			{
				DateADT		d = DatumGetDateADT(value);
				struct pg_tm tm;

				if (DATE_NOT_FINITE(d))
					EncodeSpecialDate(d, buf);
				else
				{
					j2date(d + POSTGRES_EPOCH_JDATE,
						   &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
					EncodeDateOnly(&tm, USE_ISO_DATES, buf);
				}
				*len = strlen(buf);
				return buf;
			}
		case AC_ENC_TIMESTAMP:
		case AC_ENC_TIMESTAMPTZ:
			{
				Timestamp	ts = DatumGetTimestamp(value);
				struct pg_tm tm;
				fsec_t		fsec;

				if (TIMESTAMP_NOT_FINITE(ts))
				{
					EncodeSpecialTimestamp(ts, buf);
					*len = strlen(buf);
					return buf;
				}

				/*
				 * Broken down without a zone, which is UTC; an out-of-range
				 * value goes to the output function, which reports it.
				 */
				if (timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
					break;
				if (encoder == AC_ENC_TIMESTAMPTZ)
				{
					/* as timestamptz_out in zone UTC: offset +00 */
					tm.tm_isdst = 0;
					EncodeDateTime(&tm, fsec, true, 0, NULL, USE_ISO_DATES, buf);
				}
				else
					EncodeDateTime(&tm, fsec, false, 0, NULL, USE_ISO_DATES, buf);
				*len = strlen(buf);
				return buf;
			}
		case AC_ENC_NUMERIC:
			return ac_encode_numeric((struct varlena *)
									 PG_DETOAST_DATUM_PACKED(value), buf, len);
		case AC_ENC_INET:
		case AC_ENC_CIDR:
			{
				const char *s = ac_encode_inet(DatumGetInetPP(value),
											   encoder == AC_ENC_CIDR,
											   buf, len);

				if (s != NULL)
					return s;
				break;
			}
		case AC_ENC_JSONB:
			{
				char	   *s = ac_encode_jsonb(DatumGetJsonbP(value), len);

				return server_to_utf8(s, *len, len);
			}
		case AC_ENC_OUTPUT:
			break;
	}
	return ac_canonical_text(outfunc, value, len);
}

/*
 * memo_key
 *		The bytes that identify a value of a column for its remembered
 *		digest, or NULL if it is not worth remembering (long, or stored
 *		out of line).
 */
static const char *
memo_key(AcColumn *col, const Datum *value, int *keylen)
{
	if (col->typbyval)
	{
		*keylen = sizeof(Datum);
		return (const char *) value;
	}
	if (col->typlen > 0)
	{
		*keylen = col->typlen;
		return col->typlen <= AC_MEMO_MAXLEN ? DatumGetPointer(*value) : NULL;
	}
	if (col->typlen == -1)
	{
		struct varlena *v = (struct varlena *) DatumGetPointer(*value);

		/* a TOAST pointer or compressed bytes do not identify the value */
		if (VARATT_IS_EXTERNAL(v) || VARATT_IS_COMPRESSED(v))
			return NULL;
		*keylen = VARSIZE_ANY_EXHDR(v);
		return *keylen <= AC_MEMO_MAXLEN ? VARDATA_ANY(v) : NULL;
	}
	return NULL;
}

/*
 * column_digest
 *		col_digest of one non-NULL value of a column.
 *
 * Audit rows repeat many values (an action, a model, an address), so each
 * column remembers the digests of a few recent short values, keyed by the
 * value's stored bytes: equal bytes give equal canonical text.  A column
 * whose values seldom repeat stops remembering after a few thousand rows.
 */
static void
column_digest(AcColumn *col, Datum value, uint8 *digest)
{
	AcMemoSlot *slot = NULL;
	const char *key = NULL;
	int			keylen = 0;
	uint32		h = 0;
	char		buf[AC_ENCODE_BUFLEN];
	const char *text;
	int			len;

	if (!col->memo_off && (key = memo_key(col, &value, &keylen)) != NULL)
	{
		if (col->memo == NULL)
		{
			col->memo = MemoryContextAlloc(col->memo_cxt,
										   sizeof(AcMemoSlot) * AC_MEMO_SLOTS);
			for (int i = 0; i < AC_MEMO_SLOTS; i++)
				col->memo[i].len = -1;
		}
		h = hash_bytes((const unsigned char *) key, keylen);
		slot = &col->memo[h & (AC_MEMO_SLOTS - 1)];
		col->memo_lookups++;
		if (slot->len == keylen && slot->hash == h &&
			memcmp(slot->bytes, key, keylen) == 0)
		{
			col->memo_hits++;
			memcpy(digest, slot->digest, AC_HASH_LEN);
			return;
		}
		if (col->memo_lookups >= 4096)
		{
			/* fewer than one hit in eight: not worth it for this column */
			if (col->memo_hits < 512)
			{
				col->memo_off = true;
				pfree(col->memo);
				col->memo = NULL;
				slot = NULL;
			}
			col->memo_lookups = col->memo_hits = 0;
		}
	}

	text = ac_canonical_value(col->encoder, &col->outfunc, value, buf, &len);
	ac_sha256(text, len, digest);

	if (slot != NULL)
	{
		slot->hash = h;
		slot->len = keylen;
		memcpy(slot->bytes, key, keylen);
		memcpy(slot->digest, digest, AC_HASH_LEN);
	}
}

/*
 * ac_row_input
 *		Append the exact bytes that SHA-256 hashes for one row to buf.
 *
 * values and isnull are indexed by attnum - 1 of the tuple layout that desc
 * was built for.  This is what audit_chain.canonical_row() returns, and what
 * an external verifier must rebuild.
 */
void
ac_row_input(AcRowDesc *desc, const Datum *values, const bool *isnull,
			 int64 seq, TimestampTz at, const uint8 *prev, StringInfo buf)
{
	uint64		be64;
	uint32		be32;
	int			nestlevel = -1;
	bool		entered = false;
	char	   *p;
	int			i;

	/* room for everything: the header, then each column's term at most */
	enlargeStringInfo(buf, sizeof(AC_FORMAT_V1) + 16 + AC_HASH_LEN +
					  desc->terms_len);
	p = buf->data + buf->len;

	memcpy(p, AC_FORMAT_V1, sizeof(AC_FORMAT_V1));	/* with its NUL */
	p += sizeof(AC_FORMAT_V1);
	be64 = pg_hton64((uint64) seq);
	memcpy(p, &be64, 8);
	p += 8;
	be64 = pg_hton64((uint64) (at + AC_UNIX_EPOCH_OFFSET_USEC));
	memcpy(p, &be64, 8);
	p += 8;
	memcpy(p, prev, AC_HASH_LEN);
	p += AC_HASH_LEN;

	for (i = 0; i < desc->ncols; i++)
	{
		AcColumn   *col = &desc->cols[i];
		int			idx = col->attnum - 1;

		if (isnull[idx])
			continue;

		if (col->settings_sensitive && !entered)
		{
			nestlevel = ac_enter_canonical_settings();
			entered = true;
		}

		be32 = pg_hton32((uint32) col->namelen);
		memcpy(p, &be32, 4);
		memcpy(p + 4, col->name, col->namelen);
		p += 4 + col->namelen;
		column_digest(col, values[idx], (uint8 *) p);
		p += AC_HASH_LEN;
	}
	buf->len = p - buf->data;
	buf->data[buf->len] = '\0';

	if (entered)
		ac_leave_canonical_settings(nestlevel);
}

/*
 * ac_row_hash
 *		chain_hash of one row: SHA-256 of ac_row_input.
 */
void
ac_row_hash(AcRowDesc *desc, const Datum *values, const bool *isnull,
			int64 seq, TimestampTz at, const uint8 *prev, uint8 *out)
{
	StringInfoData buf;

	initStringInfo(&buf);
	ac_row_input(desc, values, isnull, seq, at, prev, &buf);
	ac_sha256(buf.data, buf.len, out);
	pfree(buf.data);
}

/*
 * ac_append_column_term
 *		Append one column's term of the row hash input to buf, for a
 *		non-NULL column whose canonical text is given:
 *		uint32_be(namelen) || name || SHA-256(text).
 *
 * ac_row_input writes the same terms in place (with remembered digests);
 * track_change's row digests (events.c) are SHA-256 of such terms.
 */
void
ac_append_column_term(StringInfo buf, const char *name, int namelen,
					  const char *text, int textlen)
{
	uint32		be = pg_hton32((uint32) namelen);
	uint8		digest[AC_HASH_LEN];

	ac_sha256(text, textlen, digest);
	appendBinaryStringInfo(buf, (char *) &be, 4);
	appendBinaryStringInfo(buf, name, namelen);
	appendBinaryStringInfo(buf, (char *) digest, AC_HASH_LEN);
}
