/*-------------------------------------------------------------------------
 *
 * encode.c
 *	  The canonical text of a value, format audit_chain/v1: which types can
 *	  be hashed, how each is written, and the settings it is written under.
 *
 * A column value's canonical text is its type's output function result under
 * the canonical settings (DateStyle 'ISO, YMD', IntervalStyle 'postgres',
 * TimeZone 'UTC', extra_float_digits 1, bytea_output 'hex'), as UTF-8; hash.c
 * hashes it.  This file decides, for each column type:
 *
 *	- whether it can be hashed at all: not if its text depends on more than
 *	  the value, as money's, the reg* types' and aclitem's do
 *	  (ac_check_column_type);
 *	- what writes its text (ac_encoder_for_type): the output function, or a
 *	  direct encoder for a common type, which writes the very same bytes
 *	  without a function call, an allocation or a settings switch;
 *	- whether that text depends on the session's settings, so that they must
 *	  be switched first (ac_type_needs_settings, ac_enter_canonical_settings),
 *	  and whether it depends on the value's bytes alone, so that hash.c may
 *	  remember its digest (ac_type_text_is_value_only);
 *
 * and writes the text (ac_canonical_value).
 *
 * The direct encoders for numeric, inet/cidr and jsonb write exactly the
 * bytes of numeric_out, inet_out, cidr_out and jsonb_out, reading the value's
 * stored form in place: no function-call interface, no iterator, no copy of
 * every string to terminate it, and JSON strings escaped in runs rather than
 * a byte at a time.  None of these types' output depends on a setting.  The
 * regression test "encoders" holds every encoder to its output function.
 *
 * The stored forms read here are those that pg_upgrade carries over
 * unchanged, so they are fixed for all releases this extension supports.
 *
 * IDENTIFICATION
 *	  src/encode.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "port.h"
#include "utils/builtins.h"
#include "utils/bytea.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/inet.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"
#include "utils/uuid.h"

#include "encode.h"

/*
 * type_output_is_stable
 *		True if the type's output function ignores every canonical setting
 *		(see ac_enter_canonical_settings), so it can run under the session's
 *		settings unchanged.
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
 * ac_type_needs_settings
 *		True if the canonical text of a value of the type, written by
 *		encoder, depends on the session's settings, so that the canonical
 *		settings must be entered before it is made.  The direct encoders
 *		never do.
 */
bool
ac_type_needs_settings(Oid typid, AcEncoder encoder)
{
	return encoder == AC_ENC_OUTPUT && !type_output_is_stable(getBaseType(typid));
}

/*
 * ac_type_text_is_value_only
 *		True if the canonical text of a value of the type, written by
 *		encoder, depends on the value's bytes alone (under the canonical
 *		settings), so that its digest can be remembered: not an enum label,
 *		which can be renamed, nor a role name in an aclitem, nor anything
 *		from another extension.
 */
bool
ac_type_text_is_value_only(Oid typid, AcEncoder encoder)
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
 *		Switch to the canonical settings if the session's differ: DateStyle
 *		'ISO, YMD', IntervalStyle 'postgres', TimeZone 'UTC',
 *		extra_float_digits 1 and bytea_output 'hex'.
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
 * The stored numeric: a uint16 header, for the long form an int16 weight,
 * then base-10000 digits (int16).  The header's top two bits: 00 positive,
 * 01 negative, 10 short form, 11 special (NaN, +/-Infinity).
 */
#define NUM_FLAGS_MASK		0xC000
#define NUM_NEG				0x4000
#define NUM_SHORT			0x8000
#define NUM_SPECIAL			0xC000
#define NUM_NAN				0xC000
#define NUM_PINF			0xD000
#define NUM_NINF			0xF000
#define NUM_EXT_MASK		0xF000	/* the flag bits of a special value */
#define NUM_SHORT_NEG		0x2000
#define NUM_SHORT_DSCALE	0x1F80
#define NUM_SHORT_DSCALE_SHIFT 7
#define NUM_SHORT_WNEG		0x0040
#define NUM_SHORT_WEIGHT	0x003F
#define NUM_DSCALE_MASK		0x3FFF
#define NUM_DEC_DIGITS		4

typedef struct StoredNumeric
{
	uint16		header;
	bool		special;
	bool		negative;
	int			weight;			/* of the first digit, in base-10000 places */
	int			dscale;			/* decimal digits shown after the point */
	int			ndigits;
	const char *digits;			/* int16 each, maybe unaligned */
} StoredNumeric;

/*
 * read_numeric
 *		Read the size bytes of a stored numeric at p (after its varlena
 *		header) into n; the digits are left in place.
 */
static void
read_numeric(const char *p, int size, StoredNumeric *n)
{
	uint16		h;

	memcpy(&h, p, sizeof(uint16));
	n->header = h;
	n->special = (h & NUM_FLAGS_MASK) == NUM_SPECIAL;
	if (n->special)
		return;
	if (h & NUM_SHORT)
	{
		n->negative = (h & NUM_SHORT_NEG) != 0;
		n->dscale = (h & NUM_SHORT_DSCALE) >> NUM_SHORT_DSCALE_SHIFT;
		n->weight = (h & NUM_SHORT_WEIGHT) |
			((h & NUM_SHORT_WNEG) ? ~NUM_SHORT_WEIGHT : 0);
		n->digits = p + sizeof(uint16);
		n->ndigits = (size - (int) sizeof(uint16)) / (int) sizeof(int16);
	}
	else
	{
		int16		w;

		memcpy(&w, p + sizeof(uint16), sizeof(int16));
		n->negative = (h & NUM_FLAGS_MASK) == NUM_NEG;
		n->dscale = h & NUM_DSCALE_MASK;
		n->weight = w;
		n->digits = p + 2 * sizeof(uint16);
		n->ndigits = (size - 2 * (int) sizeof(uint16)) / (int) sizeof(int16);
	}
}

/* Base-10000 digit d of n (0 outside the stored digits) */
static inline int
numeric_digit(const StoredNumeric *n, int d)
{
	int16		dig;

	if (d < 0 || d >= n->ndigits)
		return 0;
	memcpy(&dig, n->digits + d * sizeof(int16), sizeof(int16));
	return dig;
}

/* Room numeric_write needs for n, with its terminating NUL */
static int
numeric_bound(const StoredNumeric *n)
{
	int			before;

	if (n->special)
		return sizeof("-Infinity");
	before = (n->weight + 1) * NUM_DEC_DIGITS;
	if (before <= 0)
		before = 1;
	return before + n->dscale + NUM_DEC_DIGITS + 2;
}

/*
 * numeric_write
 *		numeric_out's text of n into out (numeric_bound(n) bytes); returns
 *		its length.  Digits before the point without leading zeros (a lone
 *		0 if there are none), then exactly dscale digits after it.
 */
static int
numeric_write(const StoredNumeric *n, char *out)
{
	char	   *cp = out;
	int			d;

	if (n->special)
	{
		uint16		kind = n->header & NUM_EXT_MASK;
		const char *s = kind == NUM_PINF ? "Infinity" :
			kind == NUM_NINF ? "-Infinity" : "NaN";

		strcpy(out, s);
		return strlen(s);
	}

	if (n->negative)
		*cp++ = '-';
	if (n->weight < 0)
	{
		d = n->weight + 1;
		*cp++ = '0';
	}
	else
	{
		for (d = 0; d <= n->weight; d++)
		{
			int			dig = numeric_digit(n, d);
			int			place = 1000;
			bool		started = d > 0;

			for (; place > 1; place /= 10)
			{
				int			q = dig / place;

				dig -= q * place;
				started |= q > 0;
				if (started)
					*cp++ = '0' + q;
			}
			*cp++ = '0' + dig;
		}
	}
	if (n->dscale > 0)
	{
		char	   *end;

		*cp++ = '.';
		end = cp + n->dscale;
		/* whole groups of four, then cut back to dscale */
		for (int i = 0; i < n->dscale; d++, i += NUM_DEC_DIGITS)
		{
			int			dig = numeric_digit(n, d);

			cp[3] = '0' + dig % 10;
			cp[2] = '0' + (dig / 10) % 10;
			cp[1] = '0' + (dig / 100) % 10;
			cp[0] = '0' + dig / 1000;
			cp += NUM_DEC_DIGITS;
		}
		cp = end;
	}
	*cp = '\0';
	return cp - out;
}

/*
 * encode_numeric
 *		numeric_out's text of a stored numeric (with any varlena header, not
 *		compressed or external); buf (AC_ENCODE_BUFLEN bytes) is used if the
 *		text fits.
 */
static const char *
encode_numeric(const struct varlena *v, char *buf, int *len)
{
	StoredNumeric n;
	char	   *out = buf;
	int			bound;

	read_numeric(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v), &n);
	bound = numeric_bound(&n);
	if (bound > AC_ENCODE_BUFLEN)
		out = palloc(bound);
	*len = numeric_write(&n, out);
	return out;
}

/*
 * encode_inet
 *		inet_out's (or cidr_out's) text of an inet or cidr value, in buf; NULL
 *		if the address cannot be written (the output function then reports
 *		why).
 */
static const char *
encode_inet(const inet *ip, bool is_cidr, char *buf, int *len)
{
	StaticAssertStmt(AC_ENCODE_BUFLEN >=
					 sizeof("xxxx:xxxx:xxxx:xxxx:xxxx:xxxx:255.255.255.255/128"),
					 "buffer too small for an address");

	if (pg_inet_net_ntop(ip_family(ip), ip_addr(ip), ip_bits(ip),
						 buf, AC_ENCODE_BUFLEN) == NULL)
		return NULL;
	*len = strlen(buf);
	if (is_cidr && strchr(buf, '/') == NULL)
		*len += snprintf(buf + *len, AC_ENCODE_BUFLEN - *len, "/%u",
						 (unsigned int) ip_bits(ip));
	return buf;
}

/* Append n bytes, growing the buffer only when they do not fit */
static inline void
put_bytes(StringInfo out, const char *p, int n)
{
	if (out->len + n >= out->maxlen)
		enlargeStringInfo(out, n);
	memcpy(out->data + out->len, p, n);
	out->len += n;
	out->data[out->len] = '\0';
}

/*
 * json_put_string
 *		A JSON string literal, escaped as escape_json() does: the two-letter
 *		escapes, \u00XX for other control characters, the rest as is.
 */
static void
json_put_string(StringInfo out, const char *s, int len)
{
	const char *end = s + len;
	char	   *dst;

	/* room for the string unescaped and its quotes; escapes make more */
	enlargeStringInfo(out, len + 2);
	dst = out->data + out->len;
	*dst++ = '"';
	for (const char *p = s; p < end; p++)
	{
		unsigned char c = (unsigned char) *p;
		char		e;

		if (c >= 0x20 && c != '"' && c != '\\')
		{
			*dst++ = c;
			continue;
		}
		switch (c)
		{
			case '\b':
				e = 'b';
				break;
			case '\f':
				e = 'f';
				break;
			case '\n':
				e = 'n';
				break;
			case '\r':
				e = 'r';
				break;
			case '\t':
				e = 't';
				break;
			default:
				e = c;			/* '"' and '\\' stand for themselves */
				break;
		}
		/* an escape takes up to six bytes in place of one */
		out->len = dst - out->data;
		enlargeStringInfo(out, (end - p) + 6 + 1);
		dst = out->data + out->len;
		*dst++ = '\\';
		if (c < 0x20 && e == c)
			dst += sprintf(dst, "u%04x", (unsigned int) c);
		else
			*dst++ = e;
	}
	*dst++ = '"';
	out->len = dst - out->data;
	*dst = '\0';
}

static void json_put_container(StringInfo out, const JsonbContainer *jc);

/*
 * json_put_value
 *		One scalar or nested container of a jsonb container: je is its
 *		JEntry, its data sits at base + off, len bytes.
 */
static void
json_put_value(StringInfo out, const char *base, uint32 off, uint32 len,
			   JEntry je)
{
	if (JBE_ISSTRING(je))
		json_put_string(out, base + off, len);
	else if (JBE_ISNUMERIC(je))
	{
		const struct varlena *v = (const struct varlena *) (base + INTALIGN(off));
		StoredNumeric n;

		read_numeric(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v), &n);
		enlargeStringInfo(out, numeric_bound(&n));
		out->len += numeric_write(&n, out->data + out->len);
	}
	else if (JBE_ISBOOL_TRUE(je))
		put_bytes(out, "true", 4);
	else if (JBE_ISBOOL_FALSE(je))
		put_bytes(out, "false", 5);
	else if (JBE_ISNULL(je))
		put_bytes(out, "null", 4);
	else
		json_put_container(out, (const JsonbContainer *) (base + INTALIGN(off)));
}

/*
 * json_put_container
 *		An object or array as jsonb_out writes it: ", " between members,
 *		": " after a key, keys in their stored order.  An object's JEntries
 *		hold all its keys, then all its values.
 */
static void
json_put_container(StringInfo out, const JsonbContainer *jc)
{
	uint32		count = JsonContainerSize(jc);
	bool		object = JsonContainerIsObject(jc);
	const char *base = (const char *) &jc->children[object ? 2 * count : count];
	uint32		off = 0;
	uint32		voff = 0;

	check_stack_depth();

	if (JsonContainerIsScalar(jc))
	{
		/* a bare scalar is stored as a one-element array */
		uint32		next = 0;

		JBE_ADVANCE_OFFSET(next, jc->children[0]);
		json_put_value(out, base, 0, next, jc->children[0]);
		return;
	}

	if (object)
		voff = getJsonbOffset(jc, count);
	put_bytes(out, object ? "{" : "[", 1);
	for (uint32 i = 0; i < count; i++)
	{
		JEntry		je = jc->children[i];
		uint32		next = off;

		if (i > 0)
			put_bytes(out, ", ", 2);
		JBE_ADVANCE_OFFSET(next, je);
		if (object)
		{
			JEntry		ve = jc->children[i + count];
			uint32		vnext = voff;

			json_put_string(out, base + off, next - off);
			put_bytes(out, ": ", 2);
			JBE_ADVANCE_OFFSET(vnext, ve);
			json_put_value(out, base, voff, vnext - voff, ve);
			voff = vnext;
		}
		else
			json_put_value(out, base, off, next - off, je);
		off = next;
	}
	put_bytes(out, object ? "}" : "]", 1);
}

/*
 * encode_jsonb
 *		jsonb_out's text of a jsonb value, palloc'd, in the server encoding.
 */
static char *
encode_jsonb(const Jsonb *jb, int *len)
{
	StringInfoData out;

	/* the text is seldom much longer than the stored form */
	initStringInfo(&out);
	enlargeStringInfo(&out, VARSIZE(jb) + VARSIZE(jb) / 4);
	json_put_container(&out, &jb->root);
	*len = out.len;
	return out.data;
}

/*
 * ac_canonical_value
 *		The canonical text of one non-NULL value, as UTF-8, and its length
 *		(not necessarily NUL-terminated).
 *
 * The direct encoders write exactly what the output function writes under
 * the canonical settings, whatever the session's settings are; the
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
			return encode_numeric((struct varlena *)
									 PG_DETOAST_DATUM_PACKED(value), buf, len);
		case AC_ENC_INET:
		case AC_ENC_CIDR:
			{
				const char *s = encode_inet(DatumGetInetPP(value),
											   encoder == AC_ENC_CIDR,
											   buf, len);

				if (s != NULL)
					return s;
				break;
			}
		case AC_ENC_JSONB:
			{
				char	   *s = encode_jsonb(DatumGetJsonbP(value), len);

				return server_to_utf8(s, *len, len);
			}
		case AC_ENC_OUTPUT:
			break;
	}
	return ac_canonical_text(outfunc, value, len);
}
