/*-------------------------------------------------------------------------
 *
 * verify.h
 *	  Helpers of the verification that the auditor functions share.
 *
 * IDENTIFICATION
 *	  src/verify.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_CHAIN_VERIFY_H
#define AUDIT_CHAIN_VERIFY_H

#include "lib/stringinfo.h"
#include "utils/relcache.h"

#include "hash.h"

extern void ac_chain_select(StringInfo sql, Relation rel, TupleDesc rootdesc,
							AcRowDesc *desc);

#endif							/* AUDIT_CHAIN_VERIFY_H */
