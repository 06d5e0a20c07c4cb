/*-------------------------------------------------------------------------
 *
 * encode.c
 *	  Direct canonical encoders for numeric, inet/cidr and jsonb.
 *
 * Each writes exactly the bytes the type's output function writes
 * (numeric_out, inet_out, cidr_out, jsonb_out), reading the value's stored
 * form in place: no function-call interface, no iterator, no copy of every
 * string to terminate it, and JSON strings escaped in runs rather than a
 * byte at a time.  None of these types' output depends on a setting.  The
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

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "port.h"
#include "utils/inet.h"
#include "utils/jsonb.h"

#include "encode.h"

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
 * ac_encode_numeric
 *		numeric_out's text of a stored numeric (with any varlena header, not
 *		compressed or external); buf (AC_ENCODE_BUFLEN bytes) is used if the
 *		text fits.
 */
const char *
ac_encode_numeric(const struct varlena *v, char *buf, int *len)
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
 * ac_encode_inet
 *		inet_out's (or cidr_out's) text of an inet or cidr value, in buf; NULL
 *		if the address cannot be written (the output function then reports
 *		why).
 */
const char *
ac_encode_inet(const inet *ip, bool is_cidr, char *buf, int *len)
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
 * ac_encode_jsonb
 *		jsonb_out's text of a jsonb value, palloc'd, in the server encoding.
 */
char *
ac_encode_jsonb(const Jsonb *jb, int *len)
{
	StringInfoData out;

	/* the text is seldom much longer than the stored form */
	initStringInfo(&out);
	enlargeStringInfo(&out, VARSIZE(jb) + VARSIZE(jb) / 4);
	json_put_container(&out, &jb->root);
	*len = out.len;
	return out.data;
}
