/*-------------------------------------------------------------------------
 *
 * copyrow.h
 *	  Parser of one row of COPY ... TO STDOUT in text format.
 *
 * Pure: input is one data row as PQgetCopyData returns it (the fields,
 * tab-separated, backslash-escaped, ending in a line feed), output the
 * unescaped fields; no libpq, no globals.  A field points into the input
 * (when it has no escape) or into out->buf, which the parser grows as needed
 * and reuses from row to row: the input must outlive the fields.
 *
 * IDENTIFICATION
 *	  verifier/copyrow.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AV_COPYROW_H
#define AV_COPYROW_H

#include <stdbool.h>
#include <stddef.h>

typedef struct AvCopyField
{
	const char *data;			/* NULL for SQL NULL (\N) */
	size_t		len;
} AvCopyField;

typedef struct AvCopyRow
{
	int			nfields;
	AvCopyField *fields;
	int			fields_cap;
	char	   *buf;			/* the unescaped bytes of every field */
	size_t		buf_cap;
} AvCopyRow;

/*
 * Parse one row of len bytes at data.  Returns true with out filled in, or
 * false with a one-line message in err (AV_ERRLEN bytes).
 */
extern bool av_copy_parse_row(const char *data, size_t len, AvCopyRow *out,
							  char *err);
extern void av_copy_row_free(AvCopyRow *row);

#endif							/* AV_COPYROW_H */
