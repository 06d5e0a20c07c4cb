/*-------------------------------------------------------------------------
 *
 * copyrow.c
 *	  Parser of one row of COPY text format (see copyrow.h).
 *
 * The text format (PostgreSQL documentation, COPY, "Text Format"): fields
 * separated by a tab, the row ended by a line feed, a NULL field written
 * \N, and in a field's text the backslash escapes \b \f \n \r \t \v \\,
 * \digits (octal, one to three) and \xdigits (hex, one or two); a backslash
 * before any other character stands for that character.  The server writes
 * only some of these, but a parser that reads what may be handed to it
 * accepts them all.
 *
 * IDENTIFICATION
 *	  verifier/copyrow.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copyrow.h"
#include "util.h"

/* the value of an octal or hex digit, or -1 */
static int
digit_value(char c, int base)
{
	if (c >= '0' && c <= '7')
		return c - '0';
	if (base == 16)
	{
		if (c >= '8' && c <= '9')
			return c - '0';
		if (c >= 'a' && c <= 'f')
			return c - 'a' + 10;
		if (c >= 'A' && c <= 'F')
			return c - 'A' + 10;
	}
	return -1;
}

/*
 * add_field
 *		Append a field to the row, growing its array.
 */
static void
add_field(AvCopyRow *out, const char *data, size_t len)
{
	if (out->nfields == out->fields_cap)
	{
		out->fields_cap = out->fields_cap ? 2 * out->fields_cap : 16;
		out->fields = av_realloc(out->fields,
								 sizeof(AvCopyField) * (size_t) out->fields_cap);
	}
	out->fields[out->nfields].data = data;
	out->fields[out->nfields].len = len;
	out->nfields++;
}

/*
 * unescape
 *		Unescape the field text at data[0 .. len-1] (a backslash at
 *		data[i]) into out, returning the bytes written, or -1 for a lone
 *		backslash at the end.
 */
static long
unescape(const char *data, size_t len, char *out)
{
	size_t		i = 0;
	size_t		o = 0;

	while (i < len)
	{
		const char *bs = memchr(data + i, '\\', len - i);
		size_t		run = bs ? (size_t) (bs - (data + i)) : len - i;

		memcpy(out + o, data + i, run);
		o += run;
		i += run;
		if (i == len)
			break;
		/* a backslash escape */
		if (i + 1 >= len)
			return -1;
		i++;
		switch (data[i])
		{
			case 'b':
				out[o++] = '\b';
				i++;
				break;
			case 'f':
				out[o++] = '\f';
				i++;
				break;
			case 'n':
				out[o++] = '\n';
				i++;
				break;
			case 'r':
				out[o++] = '\r';
				i++;
				break;
			case 't':
				out[o++] = '\t';
				i++;
				break;
			case 'v':
				out[o++] = '\v';
				i++;
				break;
			case 'x':
				{
					int			v = 0;
					int			n = 0;

					i++;
					while (n < 2 && i < len && digit_value(data[i], 16) >= 0)
					{
						v = v * 16 + digit_value(data[i], 16);
						i++;
						n++;
					}
					out[o++] = n == 0 ? 'x' : (char) v;	/* "\x" alone: an x */
				}
				break;
			case '0':
			case '1':
			case '2':
			case '3':
			case '4':
			case '5':
			case '6':
			case '7':
				{
					int			v = 0;
					int			n = 0;

					while (n < 3 && i < len && digit_value(data[i], 8) >= 0)
					{
						v = v * 8 + digit_value(data[i], 8);
						i++;
						n++;
					}
					out[o++] = (char) (v & 0xff);
				}
				break;
			default:
				out[o++] = data[i++];
				break;
		}
	}
	return (long) o;
}

/*
 * av_copy_parse_row
 *		Split and unescape one COPY text row (see copyrow.h).  The row must
 *		end in a line feed and hold no other unescaped line feed or carriage
 *		return.  A field without a backslash points into data itself (it is
 *		the common case, and needs no copy); one with escapes points into
 *		out->buf.
 */
bool
av_copy_parse_row(const char *data, size_t len, AvCopyRow *out, char *err)
{
	size_t		start = 0;
	size_t		o = 0;

	out->nfields = 0;
	if (len == 0 || data[len - 1] != '\n')
	{
		snprintf(err, AV_ERRLEN, "a COPY row does not end in a line feed");
		return false;
	}
	len--;
	if (memchr(data, '\n', len) != NULL || memchr(data, '\r', len) != NULL)
	{
		snprintf(err, AV_ERRLEN, "a COPY row holds an unescaped line break");
		return false;
	}
	/* unescaped text is never longer than the escaped text */
	if (out->buf_cap < len + 1)
	{
		out->buf_cap = len + 1 > 256 ? len + 1 : 256;
		out->buf = av_realloc(out->buf, out->buf_cap);
	}

	for (;;)
	{
		const char *tab = memchr(data + start, '\t', len - start);
		size_t		end = tab ? (size_t) (tab - data) : len;
		size_t		flen = end - start;
		const char *f = data + start;

		if (flen == 2 && f[0] == '\\' && f[1] == 'N')
			add_field(out, NULL, 0);
		else if (memchr(f, '\\', flen) == NULL)
			add_field(out, f, flen);
		else
		{
			long		n = unescape(f, flen, out->buf + o);

			if (n < 0)
			{
				snprintf(err, AV_ERRLEN, "a COPY field ends in a lone backslash");
				return false;
			}
			add_field(out, out->buf + o, (size_t) n);
			o += (size_t) n;
		}
		if (tab == NULL)
			break;
		start = end + 1;
	}
	return true;
}

/*
 * av_copy_row_free
 *		Free what a row holds (the struct itself is the caller's).
 */
void
av_copy_row_free(AvCopyRow *row)
{
	free(row->fields);
	free(row->buf);
	row->fields = NULL;
	row->buf = NULL;
	row->fields_cap = 0;
	row->buf_cap = 0;
	row->nfields = 0;
}
