/*-------------------------------------------------------------------------
 *
 * report.h
 *	  Printing a result: the human summary and --json.
 *
 * IDENTIFICATION
 *	  verifier/report.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AV_REPORT_H
#define AV_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "result.h"

extern void av_report_text(FILE *out, const AvResult *r, bool quiet);
extern void av_report_json(FILE *out, const AvResult *r);

#endif							/* AV_REPORT_H */
