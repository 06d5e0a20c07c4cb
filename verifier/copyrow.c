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
#include <stdint.h>
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
 * av_copy_parse_row
 *		Split and unescape one COPY text row (see copyrow.h).  The row must
 *		end in a line feed, and hold no other unescaped line feed or
 *		carriage return.
 */
bool
av_copy_parse_row(const char *data, size_t len, AvCopyRow *out, char *err)
{
	size_t		i = 0;
	size_t		o = 0;
	size_t		start;
	int			nnull = 0;

	out->nfields = 0;
	if (len == 0 || data[len - 1] != '\n')
	{
		snprintf(err, AV_ERRLEN, "a COPY row does not end in a line feed");
		return false;
	}
	len--;
	/* unescaped text is never longer than the escaped text */
	if (out->buf_cap < len + 1)
	{
		out->buf_cap = len + 1 > 256 ? len + 1 : 256;
		out->buf = av_realloc(out->buf, out->buf_cap);
	}

	/*
	 * Fields are first recorded as offsets into buf, a NULL one with a len
	 * of SIZE_MAX, and made pointers at the end.  nnull: 0 the field is
	 * empty so far, 1 it is \N so far, 2 it has text.
	 */
	start = o;
	for (;;)
	{
		if (i == len || data[i] == '\t')
		{
			/* data holds the offset into buf until the row is done */
			add_field(out, (const char *) (uintptr_t) start,
					  nnull == 1 ? (size_t) -1 : o - start);
			nnull = 0;
			if (i == len)
				break;
			i++;
			start = o;
			continue;
		}
		if (data[i] == '\n' || data[i] == '\r')
		{
			snprintf(err, AV_ERRLEN, "a COPY row holds an unescaped line break");
			return false;
		}
		if (data[i] != '\\')
		{
			out->buf[o++] = data[i++];
			nnull = 2;
			continue;
		}
		/* a backslash escape */
		if (i + 1 >= len)
		{
			snprintf(err, AV_ERRLEN, "a COPY row ends in a lone backslash");
			return false;
		}
		i++;
		if (data[i] == 'N' && o == start && nnull == 0 &&
			(i + 1 == len || data[i + 1] == '\t'))
		{
			i++;
			nnull = 1;
			continue;
		}
		nnull = 2;
		switch (data[i])
		{
			case 'b':
				out->buf[o++] = '\b';
				i++;
				break;
			case 'f':
				out->buf[o++] = '\f';
				i++;
				break;
			case 'n':
				out->buf[o++] = '\n';
				i++;
				break;
			case 'r':
				out->buf[o++] = '\r';
				i++;
				break;
			case 't':
				out->buf[o++] = '\t';
				i++;
				break;
			case 'v':
				out->buf[o++] = '\v';
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
					if (n == 0)
						out->buf[o++] = 'x';	/* "\x" alone: an x */
					else
						out->buf[o++] = (char) v;
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
					out->buf[o++] = (char) (v & 0xff);
				}
				break;
			default:
				out->buf[o++] = data[i++];
				break;
		}
	}

	for (int f = 0; f < out->nfields; f++)
	{
		if (out->fields[f].len == (size_t) -1)
		{
			out->fields[f].data = NULL;
			out->fields[f].len = 0;
		}
		else
			out->fields[f].data = out->buf + (uintptr_t) out->fields[f].data;
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
