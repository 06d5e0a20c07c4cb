/*-------------------------------------------------------------------------
 *
 * common.h
 *	  What every libFuzzer target of audit_chain_verify's parsers checks
 *	  besides "no crash, no leak, no sanitizer report".
 *
 * A parser that refuses its input must say why in one line: a message that
 * is not empty, ends inside the AV_ERRLEN buffer and holds no line break
 * and no byte outside printable ASCII (the program prints it after
 * "audit_chain_verify: error: " on a terminal and exits 2: bytes of a hostile
 * file copied into it could be terminal escape sequences).  A broken
 * message is a bug the fuzzer reports like a crash (abort()).
 *
 * IDENTIFICATION
 *	  test/fuzz/common.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AV_FUZZ_COMMON_H
#define AV_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* fill the error buffer with a byte no message has, to see it was written */
static inline void
fuzz_err_reset(char *err)
{
	memset(err, 0x7f, AV_ERRLEN);
}

/*
 * fuzz_check_message
 *		Abort unless err holds a clear one-line message (see above).
 */
static inline void
fuzz_check_message(const char *parser, const char *err)
{
	const char *nul = memchr(err, '\0', AV_ERRLEN);

	if (nul == NULL || nul == err)
	{
		fprintf(stderr, "%s: refused the input without a message\n", parser);
		abort();
	}
	for (const char *c = err; c < nul; c++)
	{
		if (*c < 0x20 || *c > 0x7e)
		{
			fprintf(stderr, "%s: message holds byte 0x%02x at %d: \"%s\"\n",
					parser, (unsigned char) *c, (int) (c - err), err);
			abort();
		}
	}
}

#endif							/* AV_FUZZ_COMMON_H */
