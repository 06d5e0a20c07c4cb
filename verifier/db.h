/*-------------------------------------------------------------------------
 *
 * db.h
 *	  Verifying a database over libpq.
 *
 * IDENTIFICATION
 *	  verifier/db.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AV_DB_H
#define AV_DB_H

#include "published.h"
#include "result.h"

extern void av_verify_database(AvOptions *opt, AvResult *r);

#endif							/* AV_DB_H */
