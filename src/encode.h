/*-------------------------------------------------------------------------
 *
 * encode.h
 *	  The canonical text of a value, format audit_chain/v1.
 *
 * IDENTIFICATION
 *	  src/encode.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_CHAIN_ENCODE_H
#define AUDIT_CHAIN_ENCODE_H

#include "fmgr.h"
#include "utils/datetime.h"

/*
 * How a column's canonical text is made: by the type's output function, or
 * by a direct encoder for a common type that writes the very same bytes
 * without a function call, an allocation or a settings switch.
 */
typedef enum AcEncoder
{
	AC_ENC_OUTPUT = 0,			/* the type's output function */
	AC_ENC_TEXT,				/* text, varchar, bpchar: the bytes */
	AC_ENC_BOOL,
	AC_ENC_INT2,
	AC_ENC_INT4,
	AC_ENC_INT8,
	AC_ENC_OID,
	AC_ENC_UUID,
	AC_ENC_BYTEA,				/* hex form */
	AC_ENC_DATE,				/* ISO */
	AC_ENC_TIMESTAMP,			/* ISO */
	AC_ENC_TIMESTAMPTZ,			/* ISO, in UTC */
	AC_ENC_NUMERIC,
	AC_ENC_INET,
	AC_ENC_CIDR,
	AC_ENC_JSONB				/* as jsonb_out: ", " and ": " */
} AcEncoder;

/*
 * Room for the canonical text of any type with a direct encoder but bytea,
 * long numerics and jsonb
 */
#define AC_ENCODE_BUFLEN	(MAXDATELEN + 1)

extern void ac_check_column_type(Oid typid, const char *attname,
								 const char *relname);
extern bool ac_type_contains(Oid typid, Oid target);
extern AcEncoder ac_encoder_for_type(Oid typid);
extern bool ac_type_needs_settings(Oid typid, AcEncoder encoder);
extern bool ac_type_text_is_value_only(Oid typid, AcEncoder encoder);
extern int	ac_enter_canonical_settings(void);
extern void ac_leave_canonical_settings(int nestlevel);
extern char *ac_canonical_text(FmgrInfo *outfunc, Datum value, int *len);
extern const char *ac_canonical_value(AcEncoder encoder, FmgrInfo *outfunc,
									  Datum value, char *buf, int *len);

#endif							/* AUDIT_CHAIN_ENCODE_H */
