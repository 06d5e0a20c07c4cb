/*-------------------------------------------------------------------------
 *
 * redact.h
 *	  Redaction of columns of chained rows (GDPR Art. 17 erasure), and the
 *	  kept column digests that verification puts in their place.
 *
 * IDENTIFICATION
 *	  src/redact.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_CHAIN_REDACT_H
#define AUDIT_CHAIN_REDACT_H

#include "utils/snapshot.h"

#include "hash.h"

/* The redactions of one chained table, by (lane, seq); opaque */
typedef struct AcRedactions AcRedactions;

extern AcRedactions *ac_redactions_load(Oid tbl, int lane, int64 seq,
										Snapshot snapshot, MemoryContext cxt);
extern const char *ac_redactions_kept(AcRedactions *redactions,
									  AcRowDesc *desc, int lane, int64 seq,
									  const bool *isnull,
									  const uint8 ***kept);
extern void ac_redactions_forget(Oid relid);
extern void ac_redactions_forget_through(Oid relid, int16 lane, int64 seq);

#endif							/* AUDIT_CHAIN_REDACT_H */
