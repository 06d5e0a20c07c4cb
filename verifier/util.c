/*-------------------------------------------------------------------------
 *
 * util.c
 *	  Small pure helpers of audit_chain_verify.
 *
 * IDENTIFICATION
 *	  verifier/util.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/*
 * av_malloc
 *		malloc that never returns NULL: out of memory ends the program with
 *		exit status 2, like any other error that stops a run.
 */
void *
av_malloc(size_t n)
{
	void	   *p = malloc(n ? n : 1);

	if (p == NULL)
	{
		fprintf(stderr, "audit_chain_verify: out of memory\n");
		exit(2);
	}
	return p;
}

/*
 * av_realloc
 *		realloc that never returns NULL (see av_malloc).
 */
void *
av_realloc(void *p, size_t n)
{
	void	   *q = realloc(p, n ? n : 1);

	if (q == NULL)
	{
		fprintf(stderr, "audit_chain_verify: out of memory\n");
		exit(2);
	}
	return q;
}

/*
 * av_strdup
 *		A copy of s (NULL stays NULL).
 */
char *
av_strdup(const char *s)
{
	return s == NULL ? NULL : av_strndup(s, strlen(s));
}

/*
 * av_strndup
 *		A NUL-terminated copy of the n bytes at s.
 */
char *
av_strndup(const char *s, size_t n)
{
	char	   *p = av_malloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/*
 * av_sprintf
 *		A newly allocated formatted string.
 */
char *
av_sprintf(const char *fmt,...)
{
	va_list		ap;
	int			n;
	char	   *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	p = av_malloc((size_t) n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t) n + 1, fmt, ap);
	va_end(ap);
	return p;
}

/*
 * av_hex
 *		Lower-case hex of n bytes into out (2n + 1 bytes, NUL-terminated).
 */
void
av_hex(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++)
	{
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* the value of each byte as a hex digit, or -1 */
static const signed char hexvals[256] = {
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, -1, -1, -1, -1, -1, -1,
	-1, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1
};

/*
 * av_unhex
 *		Exactly 2n hex digits (either case) at s into n bytes: false if len
 *		is not 2n or a character is not a hex digit.
 */
bool
av_unhex(const char *s, size_t len, uint8_t *out, size_t n)
{
	int			bad = 0;

	if (len != 2 * n)
		return false;

	for (size_t i = 0; i < n; i++)
	{
		int			hi = hexvals[(unsigned char) s[2 * i]];
		int			lo = hexvals[(unsigned char) s[2 * i + 1]];

		bad |= hi | lo;			/* -1 sets the sign bit */
		out[i] = (uint8_t) ((hi & 15) << 4 | (lo & 15));
	}
	return bad >= 0;
}

/*
 * av_parse_bytea_hash
 *		A bytea in hex output ("\x" and 64 hex digits) into 32 bytes: false
 *		for any other text (another length included).
 */
bool
av_parse_bytea_hash(const char *s, size_t len, uint8_t *out)
{
	if (len != 2 + 64 || s[0] != '\\' || s[1] != 'x')
		return false;
	return av_unhex(s + 2, 64, out, 32);
}

/*
 * av_parse_int64
 *		A decimal integer, optional '-' sign, no other characters, within
 *		int64.
 */
bool
av_parse_int64(const char *s, size_t len, int64_t *out)
{
	bool		neg = false;
	uint64_t	v = 0;
	size_t		i = 0;

	if (len > 0 && s[0] == '-')
	{
		neg = true;
		i = 1;
	}
	if (i >= len || len - i > 19)
		return false;
	for (; i < len; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t) (s[i] - '0');
	}
	if (!neg && v > (uint64_t) INT64_MAX)
		return false;
	if (neg && v > (uint64_t) INT64_MAX + 1)
		return false;
	*out = neg ? (int64_t) (0 - v) : (int64_t) v;
	return true;
}

/*
 * days_from_civil
 *		Days since 1970-01-01 of a date of the proleptic Gregorian calendar
 *		(astronomical year: 0 is 1 BC), as PostgreSQL counts them.
 */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t		era;
	int64_t		yoe;
	int64_t		doy;
	int64_t		doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * civil_from_days
 *		The inverse of days_from_civil.
 */
static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t		era;
	int64_t		doe;
	int64_t		yoe;
	int64_t		doy;
	int64_t		mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* n decimal digits at s[*pos] into *out; advances *pos */
static bool
digits(const char *s, size_t len, size_t *pos, size_t n, int64_t *out)
{
	int64_t		v = 0;

	if (*pos + n > len)
		return false;
	for (size_t i = 0; i < n; i++)
	{
		char		c = s[*pos + i];

		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*pos += n;
	*out = v;
	return true;
}

/* the days in month m of astronomical year y */
static int
month_days(int64_t y, int m)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool		leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : mdays[m - 1];
}

/*
 * av_parse_timestamptz
 *		The text of a finite timestamptz as PostgreSQL 15 writes it under
 *		DateStyle ISO (doc/hash-format.md section 3):
 *		"YYYY-MM-DD HH:MM:SS[.f{1,6}]+HH[:MM[:SS]][ BC]", the year four or
 *		more digits, into microseconds since 1970-01-01 00:00 UTC.  Anything
 *		else (infinity included: chain_at is finite) is refused.
 */
bool
av_parse_timestamptz(const char *s, size_t len, int64_t *us)
{
	size_t		pos = 0;
	size_t		ylen = 0;
	int64_t		year,
				mon,
				day,
				hh,
				mi,
				ss,
				frac = 0,
				oh = 0,
				om = 0,
				os = 0;
	int			sign;
	int64_t		days;
	int64_t		secs;

	while (ylen < len && s[ylen] >= '0' && s[ylen] <= '9')
		ylen++;
	if (ylen < 4 || ylen > 9)
		return false;
	if (!digits(s, len, &pos, ylen, &year))
		return false;
	if (pos >= len || s[pos++] != '-' || !digits(s, len, &pos, 2, &mon) ||
		pos >= len || s[pos++] != '-' || !digits(s, len, &pos, 2, &day) ||
		pos >= len || s[pos++] != ' ' || !digits(s, len, &pos, 2, &hh) ||
		pos >= len || s[pos++] != ':' || !digits(s, len, &pos, 2, &mi) ||
		pos >= len || s[pos++] != ':' || !digits(s, len, &pos, 2, &ss))
		return false;
	if (pos < len && s[pos] == '.')
	{
		int			n = 0;

		pos++;
		while (pos < len && s[pos] >= '0' && s[pos] <= '9' && n < 6)
		{
			frac = frac * 10 + (s[pos] - '0');
			pos++;
			n++;
		}
		if (n == 0)
			return false;
		for (; n < 6; n++)
			frac *= 10;
	}
	if (pos >= len || (s[pos] != '+' && s[pos] != '-'))
		return false;
	sign = s[pos++] == '-' ? -1 : 1;
	if (!digits(s, len, &pos, 2, &oh))
		return false;
	if (pos < len && s[pos] == ':')
	{
		pos++;
		if (!digits(s, len, &pos, 2, &om))
			return false;
		if (pos < len && s[pos] == ':')
		{
			pos++;
			if (!digits(s, len, &pos, 2, &os))
				return false;
		}
	}
	if (pos + 3 == len && memcmp(s + pos, " BC", 3) == 0)
	{
		if (year == 0)
			return false;
		year = 1 - year;		/* astronomical */
		pos += 3;
	}
	else if (year == 0)
		return false;
	if (pos != len)
		return false;
	/* PostgreSQL's timestamps end in 294276 AD (and 4714 BC) */
	if (year > 294276 || year < -4713)
		return false;
	if (mon < 1 || mon > 12 || day < 1 || day > month_days(year, (int) mon) ||
		hh > 23 || mi > 59 || ss > 60 || om > 59 || os > 59)
		return false;

	days = days_from_civil(year, (int) mon, (int) day);
	secs = days * 86400 + hh * 3600 + mi * 60 + ss -
		sign * (oh * 3600 + om * 60 + os);
	/* past about 294247 AD, microseconds since 1970 no longer fit in int64 */
	if (__builtin_mul_overflow(secs, (int64_t) 1000000, us) ||
		__builtin_add_overflow(*us, frac, us))
		return false;
	return true;
}

/*
 * av_format_timestamptz
 *		The inverse of av_parse_timestamptz for an offset of +00: the text
 *		PostgreSQL writes for a timestamptz in UTC (the test vectors give
 *		chain_at as microseconds; the tests round-trip it).
 */
bool
av_format_timestamptz(int64_t us, char *out, size_t outlen)
{
	int64_t		days = us >= 0 ? us / 86400000000LL : -((-us + 86400000000LL - 1) / 86400000000LL);
	int64_t		rest = us - days * 86400000000LL;
	int64_t		y;
	int			m,
				d;
	int64_t		secs = rest / 1000000;
	int64_t		frac = rest % 1000000;
	char		fbuf[16] = "";
	bool		bc;
	int			n;

	civil_from_days(days, &y, &m, &d);
	bc = y <= 0;
	if (bc)
		y = 1 - y;
	if (frac != 0)
	{
		int			len;

		snprintf(fbuf, sizeof(fbuf), ".%06lld", (long long) frac);
		len = (int) strlen(fbuf);
		while (fbuf[len - 1] == '0')
			fbuf[--len] = '\0';
	}
	n = snprintf(out, outlen, "%04lld-%02d-%02d %02lld:%02lld:%02lld%s+00%s",
				 (long long) y, m, d, (long long) (secs / 3600),
				 (long long) (secs / 60 % 60), (long long) (secs % 60), fbuf,
				 bc ? " BC" : "");
	return n > 0 && (size_t) n < outlen;
}

/*
 * av_percent_encode
 *		One part of a table's name as a payload writes it
 *		(doc/checkpoints.md section 1): every byte not A-Z, a-z, 0-9 or _ as
 *		%XX.
 */
char *
av_percent_encode(const char *s, size_t len)
{
	static const char digits_uc[] = "0123456789ABCDEF";
	char	   *out = av_malloc(3 * len + 1);
	size_t		o = 0;

	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '_')
			out[o++] = (char) c;
		else
		{
			out[o++] = '%';
			out[o++] = digits_uc[c >> 4];
			out[o++] = digits_uc[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}

/*
 * av_printable
 *		Replace, in place, every byte of s that is not printable ASCII with
 *		'?'.  For text that comes from the input (jansson's "near '...'")
 *		before it goes into a message printed on a terminal: a hostile file
 *		must not put control or escape sequences there.  Returns s.
 */
char *
av_printable(char *s)
{
	for (char *c = s; *c; c++)
		if ((unsigned char) *c < 0x20 || (unsigned char) *c > 0x7e)
			*c = '?';
	return s;
}
