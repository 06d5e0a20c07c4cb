/*-------------------------------------------------------------------------
 *
 * encode.h
 *	  Direct canonical encoders for numeric, inet/cidr and jsonb.
 *
 * IDENTIFICATION
 *	  src/encode.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_CHAIN_ENCODE_H
#define AUDIT_CHAIN_ENCODE_H

#include "utils/inet.h"
#include "utils/jsonb.h"

#include "hash.h"

extern const char *ac_encode_numeric(const struct varlena *v, char *buf,
									 int *len);
extern const char *ac_encode_inet(const inet *ip, bool is_cidr, char *buf,
								  int *len);
extern char *ac_encode_jsonb(const Jsonb *jb, int *len);

#endif							/* AUDIT_CHAIN_ENCODE_H */
