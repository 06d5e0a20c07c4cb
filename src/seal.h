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

#include "nodes/nodes.h"
#include "utils/relcache.h"

#include "hash.h"

extern void ac_seal_relcache_callback(Datum arg, Oid relid);
extern void ac_seal_backfill_begin(Oid root);
extern void ac_seal_backfill_end(void);
extern void ac_seal_permit_begin(Oid root, CmdType cmd, int16 lane,
								 int64 first_seq, int64 last_seq);
extern void ac_seal_permit_end(void);

#endif							/* AUDIT_CHAIN_SEAL_H */
