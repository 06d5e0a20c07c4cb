/*-------------------------------------------------------------------------
 *
 * fuzz_payload.c
 *	  libFuzzer target: the checkpoint payload v2 parser (verifier/payload.c,
 *	  doc/checkpoints.md section 1).
 *
 * IDENTIFICATION
 *	  test/fuzz/fuzz_payload.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>

#include "common.h"
#include "payload.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * LLVMFuzzerTestOneInput
 *		Parse the input as a payload; a refusal must come with a message, an
 *		accepted payload must be freed without trouble.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	AvPayload	p;
	char		err[AV_ERRLEN];

	memset(&p, 0, sizeof(p));
	fuzz_err_reset(err);
	if (av_payload_parse((const char *) data, size, &p, err))
	{
		/* touch what the caller reads */
		for (int i = 0; i < p.nlanes; i++)
			if (p.lanes[i].table == NULL)
				abort();
	}
	else
		fuzz_check_message("av_payload_parse", err);
	av_payload_free(&p);
	return 0;
}
