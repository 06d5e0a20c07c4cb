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

/* report_html.c: --html FILE */
extern FILE *av_report_html_open(const char *path, char *err);
extern bool av_report_html_finish(FILE *f, const char *path, const AvResult *r,
								  const char *version, char *err);

#endif							/* AV_REPORT_H */
