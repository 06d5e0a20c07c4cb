/*-------------------------------------------------------------------------
 *
 * segfile.h
 *	  Verifying a segment file with no database.
 *
 * IDENTIFICATION
 *	  verifier/segfile.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AV_SEGFILE_H
#define AV_SEGFILE_H

#include "published.h"
#include "result.h"

extern void av_verify_segment(AvOptions *opt, AvResult *r);

#endif							/* AV_SEGFILE_H */
