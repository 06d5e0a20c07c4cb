/*-------------------------------------------------------------------------
 *
 * collect.h
 *	  Checks and masking of audit_chain.events rows as they are collected.
 *
 * IDENTIFICATION
 *	  src/collect.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_CHAIN_COLLECT_H
#define AUDIT_CHAIN_COLLECT_H

/* The keys of details whose values are masked (audit_chain.hash_detail_keys) */
typedef struct AcMaskKeys
{
	int			nkeys;
	char	   *keys[FLEXIBLE_ARRAY_MEMBER];
} AcMaskKeys;

extern AcMaskKeys *ac_mask_keys;

extern bool ac_trace_id_valid(const char *s);
extern bool ac_span_id_valid(const char *s);
extern const char *ac_traceparent_problem(const char *s);

#endif							/* AUDIT_CHAIN_COLLECT_H */
