/*-------------------------------------------------------------------------
 *
 * seal.h
 *	  The seal trigger of chained tables.
 *
 * IDENTIFICATION
 *	  src/seal.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_CHAIN_SEAL_H
#define AUDIT_CHAIN_SEAL_H

#include "utils/relcache.h"

#include "hash.h"

extern void ac_seal_relcache_callback(Datum arg, Oid relid);
extern void ac_seal_backfill_begin(Oid root);
extern void ac_seal_backfill_end(void);

#endif							/* AUDIT_CHAIN_SEAL_H */
