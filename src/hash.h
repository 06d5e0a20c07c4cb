/*-------------------------------------------------------------------------
 *
 * hash.h
 *	  Canonical row encoding and SHA-256 hashing, format audit_chain/v1.
 *
 * IDENTIFICATION
 *	  src/hash.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_CHAIN_HASH_H
#define AUDIT_CHAIN_HASH_H

#include "access/tupdesc.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#define AC_HASH_LEN			32
#define AC_FORMAT_V1		"audit_chain/v1"

/* Names of the five chain columns (fixed by the design) */
#define AC_COL_LANE			"chain_lane"
#define AC_COL_SEQ			"chain_seq"
#define AC_COL_AT			"chain_at"
#define AC_COL_PREV			"chain_prev"
#define AC_COL_HASH			"chain_hash"

/* Microseconds between 1970-01-01 and 2000-01-01 (PostgreSQL's epoch) */
#define AC_UNIX_EPOCH_OFFSET_USEC \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)

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

/* Column digests remembered per column (a power of two) */
#define AC_MEMO_SLOTS		32
/* Values longer than this are not remembered */
#define AC_MEMO_MAXLEN		64

/* A remembered col_digest: the value's bytes and the digest of its text */
typedef struct AcMemoSlot
{
	uint32		hash;			/* hash of the value's bytes */
	int			len;			/* number of bytes; -1: empty slot */
	uint8		digest[AC_HASH_LEN];
	char		bytes[AC_MEMO_MAXLEN];
} AcMemoSlot;

/* One hashed column of a chained table */
typedef struct AcColumn
{
	AttrNumber	attnum;			/* attribute number in the table */
	Oid			typid;			/* declared type */
	char	   *name;			/* attribute name, UTF-8 */
	int			namelen;		/* strlen(name) */
	bool		settings_sensitive; /* output depends on DateStyle etc. */
	AcEncoder	encoder;		/* how the canonical text is made */
	int16		typlen;			/* of the column's type */
	bool		typbyval;
	FmgrInfo	outfunc;		/* the type's output function */
	bool		memo_off;		/* do not remember digests */
	MemoryContext memo_cxt;		/* where the memo is made */
	AcMemoSlot *memo;			/* remembered digests, or NULL */
	uint32		memo_lookups;	/* since the last tally */
	uint32		memo_hits;
} AcColumn;

/*
 * How to hash the rows of one chained table: the hashed columns in attnum
 * order, and where the chain columns are.
 */
typedef struct AcRowDesc
{
	int			ncols;
	AcColumn   *cols;
	int			terms_len;		/* bytes of all column terms, none NULL */
	AttrNumber	att_lane;
	AttrNumber	att_seq;
	AttrNumber	att_at;
	AttrNumber	att_prev;
	AttrNumber	att_hash;
} AcRowDesc;

extern void ac_sha256(const void *data, size_t len, uint8 *out);
extern bool ac_is_chain_column(const char *attname);
extern AcRowDesc *ac_rowdesc_build(TupleDesc tupdesc, const char *relname,
								   bool require_chain_columns);
extern void ac_rowdesc_remap(AcRowDesc *desc, TupleDesc from, TupleDesc to);
extern void ac_check_column_type(Oid typid, const char *attname,
								 const char *relname);
extern bool ac_type_contains(Oid typid, Oid target);
extern int	ac_enter_canonical_settings(void);
extern void ac_leave_canonical_settings(int nestlevel);
extern AcEncoder ac_encoder_for_type(Oid typid);
extern char *ac_canonical_text(FmgrInfo *outfunc, Datum value, int *len);
extern const char *ac_canonical_value(AcEncoder encoder, FmgrInfo *outfunc,
									  Datum value, char *buf, int *len);
extern void ac_row_input(AcRowDesc *desc, const Datum *values,
						 const bool *isnull, int64 seq, TimestampTz at,
						 const uint8 *prev, StringInfo buf);
extern void ac_row_hash(AcRowDesc *desc, const Datum *values,
						const bool *isnull, int64 seq, TimestampTz at,
						const uint8 *prev, uint8 *out);
extern void ac_append_column_term(StringInfo buf, const char *name,
								  int namelen, const char *text, int textlen);

#endif							/* AUDIT_CHAIN_HASH_H */
