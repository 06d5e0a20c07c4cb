/*-------------------------------------------------------------------------
 *
 * fuzz_copyrow.c
 *	  libFuzzer target: the parser of one COPY text row
 *	  (verifier/copyrow.c).
 *
 * Each input is parsed twice into the same AvCopyRow, as the lane walk
 * reuses it from row to row: first the whole input, then its first half,
 * so that a stale buffer or field array from a longer row is exercised.
 *
 * IDENTIFICATION
 *	  test/fuzz/fuzz_copyrow.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>

#include "common.h"
#include "copyrow.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* parse one row and check the result or the message */
static void
parse_one(const uint8_t *data, size_t size, AvCopyRow *row)
{
	char		err[AV_ERRLEN];
	volatile char sink = 0;

	fuzz_err_reset(err);
	if (av_copy_parse_row((const char *) data, size, row, err))
	{
		/* every field must lie inside the row's buffer: read it all */
		for (int f = 0; f < row->nfields; f++)
			for (size_t i = 0; i < row->fields[f].len; i++)
				sink ^= row->fields[f].data[i];
		if (row->nfields < 1)
			abort();
	}
	else
		fuzz_check_message("av_copy_parse_row", err);
	(void) sink;
}

/*
 * LLVMFuzzerTestOneInput
 *		Parse the input, then its first half, into one reused row.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	AvCopyRow	row;
	uint8_t    *half;

	memset(&row, 0, sizeof(row));
	parse_one(data, size, &row);
	/* a copy of its own, so ASan sees reads past its end */
	half = malloc(size / 2 + 1);
	memcpy(half, data, size / 2);
	parse_one(half, size / 2, &row);
	free(half);
	av_copy_row_free(&row);
	return 0;
}
