/*-------------------------------------------------------------------------
 *
 * fuzz_checkpoint.c
 *	  libFuzzer target: the export_checkpoint() JSON parser
 *	  (verifier/checkpoint.c, doc/checkpoints.md section 3), which also
 *	  decodes base64 and parses the payload inside.
 *
 * IDENTIFICATION
 *	  test/fuzz/fuzz_checkpoint.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>

#include "checkpoint.h"
#include "common.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * LLVMFuzzerTestOneInput
 *		Parse the input as an exported checkpoint; a refusal must come with
 *		a message.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	AvExport	e;
	char		err[AV_ERRLEN];

	memset(&e, 0, sizeof(e));
	fuzz_err_reset(err);
	if (av_export_parse((const char *) data, size, &e, err))
	{
		if (e.payload == NULL && e.payload_len != 0)
			abort();
		if (e.parsed.checkpoint_id != e.checkpoint_id)
			abort();			/* the parser must have refused it */
	}
	else
		fuzz_check_message("av_export_parse", err);
	av_export_free(&e);
	return 0;
}
