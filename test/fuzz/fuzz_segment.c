/*-------------------------------------------------------------------------
 *
 * fuzz_segment.c
 *	  libFuzzer target: the parser of one segment-file line
 *	  (verifier/segment.c, doc/checkpoints.md section 4).
 *
 * The input is one line without its line feed, as segfile.c hands it over.
 *
 * IDENTIFICATION
 *	  test/fuzz/fuzz_segment.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>

#include "common.h"
#include "segment.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * LLVMFuzzerTestOneInput
 *		Parse the input as one segment line; a refusal must come with a
 *		message.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	AvSegLine	line;
	char		err[AV_ERRLEN];

	memset(&line, 0, sizeof(line));
	fuzz_err_reset(err);
	if (av_segment_parse_line((const char *) data, size, &line, err))
	{
		if (line.kind == AV_SEG_ROW)
			for (int i = 0; i < line.nvalues; i++)
				if (line.values[i].kind == AV_SEG_TEXT && line.values[i].text == NULL)
					abort();
	}
	else
		fuzz_check_message("av_segment_parse_line", err);
	av_segment_line_free(&line);
	return 0;
}
