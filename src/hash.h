/*-------------------------------------------------------------------------
 *
 * hash.h
 *	  The hash of a row, format audit_chain/v1: SHA-256 over the row's
 *	  header and one term per column.
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

#include "encode.h"

#define AC_HASH_LEN			32
#define AC_FORMAT_V1		"audit_chain/v1"

/* Names of the five chain columns (fixed by the format: doc/hash-format.md) */
#define AC_COL_LANE			"chain_lane"
#define AC_COL_SEQ			"chain_seq"
#define AC_COL_AT			"chain_at"
#define AC_COL_PREV			"chain_prev"
#define AC_COL_HASH			"chain_hash"

/* Microseconds between 1970-01-01 and 2000-01-01 (PostgreSQL's epoch) */
#define AC_UNIX_EPOCH_OFFSET_USEC \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)

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
extern bytea *ac_hash_bytea(const uint8 *hash);
extern const uint8 *ac_hash_of_bytea(Datum d);
extern char *ac_hash_hex(const uint8 *hash);
extern bool ac_is_chain_column(const char *attname);
extern AcRowDesc *ac_rowdesc_build(TupleDesc tupdesc, const char *relname,
								   bool require_chain_columns);
extern void ac_rowdesc_remap(AcRowDesc *desc, TupleDesc from, TupleDesc to);
extern void ac_column_digest(AcColumn *col, Datum value, uint8 *digest);
extern void ac_row_input(AcRowDesc *desc, const Datum *values,
						 const bool *isnull, int64 seq, TimestampTz at,
						 const uint8 *prev, const uint8 *const *kept,
						 StringInfo buf);
extern void ac_row_hash(AcRowDesc *desc, const Datum *values,
						const bool *isnull, int64 seq, TimestampTz at,
						const uint8 *prev, const uint8 *const *kept,
						uint8 *out);
extern void ac_append_column_term(StringInfo buf, const char *name,
								  int namelen, const char *text, int textlen);

#endif							/* AUDIT_CHAIN_HASH_H */
