/*-------------------------------------------------------------------------
 *
 * hash.c
 *	  The hash of a row, format audit_chain/v1.
 *
 * This is the only file that talks to OpenSSL's digest API.  The format is
 * fixed, and external verifiers depend on every byte:
 *
 *	chain_hash = SHA-256("audit_chain/v1" || 0x00
 *						 || uint64_be(chain_seq)
 *						 || int64_be(chain_at, microseconds since 1970 UTC)
 *						 || chain_prev (32 bytes)
 *						 || for each hashed, non-NULL column in attnum order:
 *							  uint32_be(len(name)) || name || col_digest)
 *	col_digest = SHA-256(canonical text of the value, UTF-8)
 *
 * The canonical text is the type's output function result under DateStyle
 * 'ISO, YMD', IntervalStyle 'postgres', TimeZone 'UTC', extra_float_digits 1
 * and bytea_output 'hex'; encode.c makes it.  Here: which columns are hashed
 * (ac_rowdesc_build), the column digests (remembered for repeated values),
 * and the row's bytes and hash (ac_row_input, ac_row_hash).
 *
 * IDENTIFICATION
 *	  src/hash.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

/*
 * OpenSSL 3.0's EVP_DigestInit_ex frees and re-creates the provider's digest
 * state at every call, which costs more than hashing a short value: measured
 * here, 82 ns per digest of 20 bytes through a reused EVP context against 56
 * ns through SHA256_Init/Update/Final, which use the same accelerated block
 * function (SHA-NI where the CPU has it).  A row hashes a dozen short values,
 * so the low-level interface is used where the library has it, unless
 * OpenSSL runs in FIPS mode: then every digest goes through EVP and the FIPS
 * provider.  The low-level interface is deprecated in OpenSSL 3, not
 * removed; builds without it always use EVP.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "common/hashfn.h"
#include "mb/pg_wchar.h"
#include "port/pg_bswap.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "encode.h"
#include "hash.h"

#if !defined(OPENSSL_NO_DEPRECATED_3_0) && defined(SHA256_DIGEST_LENGTH)
#define AC_HAVE_LOW_LEVEL_SHA256
#endif

/* Use EVP for every digest (FIPS mode, or no low-level interface) */
static bool ac_use_evp = true;

/* The SHA-256 implementation, fetched once per backend */
static const EVP_MD *ac_md = NULL;

/*
 * One digest context, made once per backend and reused for every digest.
 * Nothing between EVP_DigestInit_ex and EVP_DigestFinal_ex can raise a
 * PostgreSQL error, and the next Init resets it, so it cannot be left in a
 * bad state or leak across an error.
 */
static EVP_MD_CTX *ac_ctx = NULL;

/*
 * ac_hash_init
 *		Look up SHA-256 once, so that no digest pays for an implicit fetch.
 */
static void
ac_hash_init(void)
{
	if (ac_ctx != NULL)
		return;
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	ac_md = EVP_MD_fetch(NULL, "SHA256", NULL);
#ifdef AC_HAVE_LOW_LEVEL_SHA256
	ac_use_evp = EVP_default_properties_is_fips_enabled(NULL) != 0;
#endif
#else
	ac_md = EVP_sha256();
#ifdef AC_HAVE_LOW_LEVEL_SHA256
	ac_use_evp = false;
#endif
#endif
	if (ac_md == NULL)
		elog(ERROR, "could not load the SHA-256 implementation from OpenSSL");
	ac_ctx = EVP_MD_CTX_new();
	if (ac_ctx == NULL)
		elog(ERROR, "could not allocate an OpenSSL digest context");
}

/*
 * ac_sha256
 *		SHA-256 of len bytes at data into out (32 bytes).
 */
void
ac_sha256(const void *data, size_t len, uint8 *out)
{
	unsigned int outlen = 0;

	if (ac_ctx == NULL)
		ac_hash_init();
#ifdef AC_HAVE_LOW_LEVEL_SHA256
	if (!ac_use_evp)
	{
		SHA256_CTX	ctx;

		if (SHA256_Init(&ctx) != 1 ||
			SHA256_Update(&ctx, data, len) != 1 ||
			SHA256_Final(out, &ctx) != 1)
			elog(ERROR, "SHA-256 computation failed in OpenSSL");
		return;
	}
#endif
	if (EVP_DigestInit_ex(ac_ctx, ac_md, NULL) != 1 ||
		EVP_DigestUpdate(ac_ctx, data, len) != 1 ||
		EVP_DigestFinal_ex(ac_ctx, out, &outlen) != 1 ||
		outlen != AC_HASH_LEN)
		elog(ERROR, "SHA-256 computation failed in OpenSSL");
}

/*
 * ac_hash_bytea
 *		A hash (32 bytes at hash) as a palloc'd bytea, for a chain column or
 *		a function's result.
 */
bytea *
ac_hash_bytea(const uint8 *hash)
{
	bytea	   *result = palloc(VARHDRSZ + AC_HASH_LEN);

	SET_VARSIZE(result, VARHDRSZ + AC_HASH_LEN);
	memcpy(VARDATA(result), hash, AC_HASH_LEN);
	return result;
}

/*
 * ac_hash_of_bytea
 *		Pointer to the 32 bytes of a bytea chain hash, or NULL if the value is
 *		not 32 bytes long.
 */
const uint8 *
ac_hash_of_bytea(Datum d)
{
	bytea	   *b = DatumGetByteaPP(d);

	if (VARSIZE_ANY_EXHDR(b) != AC_HASH_LEN)
		return NULL;
	return (const uint8 *) VARDATA_ANY(b);
}

/*
 * ac_hash_hex
 *		A hash (32 bytes at hash) as 64 lower-case hex digits, palloc'd.
 */
char *
ac_hash_hex(const uint8 *hash)
{
	char	   *hex = palloc(AC_HASH_LEN * 2 + 1);

	hex_encode((const char *) hash, AC_HASH_LEN, hex);
	hex[AC_HASH_LEN * 2] = '\0';
	return hex;
}

/*
 * ac_is_chain_column
 *		True if attname is one of the five chain columns.
 */
bool
ac_is_chain_column(const char *attname)
{
	return strcmp(attname, AC_COL_LANE) == 0 ||
		strcmp(attname, AC_COL_SEQ) == 0 ||
		strcmp(attname, AC_COL_AT) == 0 ||
		strcmp(attname, AC_COL_PREV) == 0 ||
		strcmp(attname, AC_COL_HASH) == 0;
}

/*
 * ac_rowdesc_build
 *		Describe how to hash rows of the given tuple descriptor.
 *
 * Hashed columns are every live, non-generated column other than the five
 * chain columns, in attnum order.  Names are converted to UTF-8 here once.
 * If require_chain_columns, all five chain columns must be present.
 * The result is allocated in CurrentMemoryContext.
 */
AcRowDesc *
ac_rowdesc_build(TupleDesc tupdesc, const char *relname,
				 bool require_chain_columns)
{
	AcRowDesc  *desc = palloc0(sizeof(AcRowDesc));
	int			i;

	desc->cols = palloc0(sizeof(AcColumn) * Max(tupdesc->natts, 1));

	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		const char *name = NameStr(att->attname);
		AcColumn   *col;
		Oid			outfn;
		bool		isvarlena;

		if (att->attisdropped)
			continue;
		if (strcmp(name, AC_COL_LANE) == 0)
			desc->att_lane = att->attnum;
		else if (strcmp(name, AC_COL_SEQ) == 0)
			desc->att_seq = att->attnum;
		else if (strcmp(name, AC_COL_AT) == 0)
			desc->att_at = att->attnum;
		else if (strcmp(name, AC_COL_PREV) == 0)
			desc->att_prev = att->attnum;
		else if (strcmp(name, AC_COL_HASH) == 0)
			desc->att_hash = att->attnum;
		else if (att->attgenerated == '\0')
		{
			ac_check_column_type(att->atttypid, name, relname);

			col = &desc->cols[desc->ncols++];
			col->attnum = att->attnum;
			col->typid = att->atttypid;
			col->name = pg_server_to_any(name, strlen(name), PG_UTF8);
			col->namelen = strlen(col->name);
			col->encoder = ac_encoder_for_type(att->atttypid);
			col->settings_sensitive = ac_type_needs_settings(att->atttypid,
															 col->encoder);
			col->typlen = att->attlen;
			col->typbyval = att->attbyval;
			col->memo_off = !ac_type_text_is_value_only(att->atttypid,
														 col->encoder);
			col->memo_cxt = CurrentMemoryContext;
			desc->terms_len += 4 + col->namelen + AC_HASH_LEN;
			getTypeOutputInfo(att->atttypid, &outfn, &isvarlena);
			fmgr_info(outfn, &col->outfunc);
		}
	}

	if (require_chain_columns &&
		(desc->att_lane == 0 || desc->att_seq == 0 || desc->att_at == 0 ||
		 desc->att_prev == 0 || desc->att_hash == 0))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("table \"%s\" is missing one of its chain columns", relname),
				 errdetail("A chained table has the columns chain_lane, chain_seq, chain_at, chain_prev and chain_hash.")));

	return desc;
}

/*
 * remap_attnum
 *		The attnum in "to" of the live column that has attnum a in "from".
 */
static AttrNumber
remap_attnum(AttrNumber a, TupleDesc from, TupleDesc to)
{
	const char *name;

	if (a == InvalidAttrNumber)
		return InvalidAttrNumber;
	name = NameStr(TupleDescAttr(from, a - 1)->attname);
	for (int i = 0; i < to->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(to, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return att->attnum;
	}
	elog(ERROR, "column \"%s\" of a chained table is missing from a row layout",
		 name);
	return InvalidAttrNumber;	/* keep compiler quiet */
}

/*
 * ac_rowdesc_remap
 *		Point a row description built on tuple layout "from" (say, the root of
 *		a partitioned table) at the same columns, by name, in layout "to" (a
 *		partition, or the result of a query).  The hashed column order stays
 *		that of "from".
 */
void
ac_rowdesc_remap(AcRowDesc *desc, TupleDesc from, TupleDesc to)
{
	for (int i = 0; i < desc->ncols; i++)
		desc->cols[i].attnum = remap_attnum(desc->cols[i].attnum, from, to);
	desc->att_lane = remap_attnum(desc->att_lane, from, to);
	desc->att_seq = remap_attnum(desc->att_seq, from, to);
	desc->att_at = remap_attnum(desc->att_at, from, to);
	desc->att_prev = remap_attnum(desc->att_prev, from, to);
	desc->att_hash = remap_attnum(desc->att_hash, from, to);
}

/*
 * memo_key
 *		The bytes that identify a value of a column for its remembered
 *		digest, or NULL if it is not worth remembering (long, or stored
 *		out of line).
 */
static const char *
memo_key(AcColumn *col, const Datum *value, int *keylen)
{
	if (col->typbyval)
	{
		*keylen = sizeof(Datum);
		return (const char *) value;
	}
	if (col->typlen > 0)
	{
		*keylen = col->typlen;
		return col->typlen <= AC_MEMO_MAXLEN ? DatumGetPointer(*value) : NULL;
	}
	if (col->typlen == -1)
	{
		struct varlena *v = (struct varlena *) DatumGetPointer(*value);

		/* a TOAST pointer or compressed bytes do not identify the value */
		if (VARATT_IS_EXTERNAL(v) || VARATT_IS_COMPRESSED(v))
			return NULL;
		*keylen = VARSIZE_ANY_EXHDR(v);
		return *keylen <= AC_MEMO_MAXLEN ? VARDATA_ANY(v) : NULL;
	}
	return NULL;
}

/*
 * column_digest
 *		col_digest of one non-NULL value of a column.
 *
 * Audit rows repeat many values (an action, a model, an address), so each
 * column remembers the digests of a few recent short values, keyed by the
 * value's stored bytes: equal bytes give equal canonical text.  A column
 * whose values seldom repeat stops remembering after a few thousand rows.
 */
static void
column_digest(AcColumn *col, Datum value, uint8 *digest)
{
	AcMemoSlot *slot = NULL;
	const char *key = NULL;
	int			keylen = 0;
	uint32		h = 0;
	char		buf[AC_ENCODE_BUFLEN];
	const char *text;
	int			len;

	if (!col->memo_off && (key = memo_key(col, &value, &keylen)) != NULL)
	{
		if (col->memo == NULL)
		{
			col->memo = MemoryContextAlloc(col->memo_cxt,
										   sizeof(AcMemoSlot) * AC_MEMO_SLOTS);
			for (int i = 0; i < AC_MEMO_SLOTS; i++)
				col->memo[i].len = -1;
		}
		h = hash_bytes((const unsigned char *) key, keylen);
		slot = &col->memo[h & (AC_MEMO_SLOTS - 1)];
		col->memo_lookups++;
		if (slot->len == keylen && slot->hash == h &&
			memcmp(slot->bytes, key, keylen) == 0)
		{
			col->memo_hits++;
			memcpy(digest, slot->digest, AC_HASH_LEN);
			return;
		}
		if (col->memo_lookups >= 4096)
		{
			/* fewer than one hit in eight: not worth it for this column */
			if (col->memo_hits < 512)
			{
				col->memo_off = true;
				pfree(col->memo);
				col->memo = NULL;
				slot = NULL;
			}
			col->memo_lookups = col->memo_hits = 0;
		}
	}

	text = ac_canonical_value(col->encoder, &col->outfunc, value, buf, &len);
	ac_sha256(text, len, digest);

	if (slot != NULL)
	{
		slot->hash = h;
		slot->len = keylen;
		memcpy(slot->bytes, key, keylen);
		memcpy(slot->digest, digest, AC_HASH_LEN);
	}
}

/*
 * ac_column_digest
 *		col_digest of one non-NULL value of a hashed column, under the
 *		canonical settings whatever the session's: what redact() keeps.
 */
void
ac_column_digest(AcColumn *col, Datum value, uint8 *digest)
{
	int			nestlevel = -1;

	if (col->settings_sensitive)
		nestlevel = ac_enter_canonical_settings();
	column_digest(col, value, digest);
	if (col->settings_sensitive)
		ac_leave_canonical_settings(nestlevel);
}

/*
 * ac_row_input
 *		Append the exact bytes that SHA-256 hashes for one row to buf.
 *
 * values and isnull are indexed by attnum - 1 of the tuple layout that desc
 * was built for.  This is what audit_chain.canonical_row() returns, and what
 * an external verifier must rebuild.
 *
 * kept is NULL, or has one entry per hashed column (desc->cols order): the
 * col_digest kept by redact() for a redacted column, else NULL.  A NULL
 * column with a kept digest contributes its term with that digest, as its
 * value did before it was redacted (redact.c); a column that is not NULL
 * is hashed from its value, kept digest or not (verify.c reports that).
 *
 * The canonical settings are entered here, and only when the row has a
 * non-NULL value whose text depends on them (an interval or a float8, say):
 * callers need not switch them, and the rows of most tables are hashed
 * without any settings switch at all.
 */
void
ac_row_input(AcRowDesc *desc, const Datum *values, const bool *isnull,
			 int64 seq, TimestampTz at, const uint8 *prev,
			 const uint8 *const *kept, StringInfo buf)
{
	uint64		be64;
	uint32		be32;
	int			nestlevel = -1;
	bool		entered = false;
	char	   *p;
	int			i;

	/* room for everything: the header, then each column's term at most */
	enlargeStringInfo(buf, sizeof(AC_FORMAT_V1) + 16 + AC_HASH_LEN +
					  desc->terms_len);
	p = buf->data + buf->len;

	memcpy(p, AC_FORMAT_V1, sizeof(AC_FORMAT_V1));	/* with its NUL */
	p += sizeof(AC_FORMAT_V1);
	be64 = pg_hton64((uint64) seq);
	memcpy(p, &be64, 8);
	p += 8;
	be64 = pg_hton64((uint64) (at + AC_UNIX_EPOCH_OFFSET_USEC));
	memcpy(p, &be64, 8);
	p += 8;
	memcpy(p, prev, AC_HASH_LEN);
	p += AC_HASH_LEN;

	for (i = 0; i < desc->ncols; i++)
	{
		AcColumn   *col = &desc->cols[i];
		int			idx = col->attnum - 1;

		if (isnull[idx])
		{
			/* a redacted column: its kept digest takes the value's place */
			if (kept != NULL && kept[i] != NULL)
			{
				be32 = pg_hton32((uint32) col->namelen);
				memcpy(p, &be32, 4);
				memcpy(p + 4, col->name, col->namelen);
				p += 4 + col->namelen;
				memcpy(p, kept[i], AC_HASH_LEN);
				p += AC_HASH_LEN;
			}
			continue;
		}

		if (col->settings_sensitive && !entered)
		{
			nestlevel = ac_enter_canonical_settings();
			entered = true;
		}

		be32 = pg_hton32((uint32) col->namelen);
		memcpy(p, &be32, 4);
		memcpy(p + 4, col->name, col->namelen);
		p += 4 + col->namelen;
		column_digest(col, values[idx], (uint8 *) p);
		p += AC_HASH_LEN;
	}
	buf->len = p - buf->data;
	buf->data[buf->len] = '\0';

	if (entered)
		ac_leave_canonical_settings(nestlevel);
}

/*
 * ac_row_hash
 *		chain_hash of one row: SHA-256 of ac_row_input.
 */
void
ac_row_hash(AcRowDesc *desc, const Datum *values, const bool *isnull,
			int64 seq, TimestampTz at, const uint8 *prev,
			const uint8 *const *kept, uint8 *out)
{
	StringInfoData buf;

	initStringInfo(&buf);
	ac_row_input(desc, values, isnull, seq, at, prev, kept, &buf);
	ac_sha256(buf.data, buf.len, out);
	pfree(buf.data);
}

/*
 * ac_append_column_term
 *		Append one column's term of the row hash input to buf, for a
 *		non-NULL column whose canonical text is given:
 *		uint32_be(namelen) || name || SHA-256(text).
 *
 * ac_row_input writes the same terms in place (with remembered digests);
 * track_change's row digests (events.c) are SHA-256 of such terms.
 */
void
ac_append_column_term(StringInfo buf, const char *name, int namelen,
					  const char *text, int textlen)
{
	uint32		be = pg_hton32((uint32) namelen);
	uint8		digest[AC_HASH_LEN];

	ac_sha256(text, textlen, digest);
	appendBinaryStringInfo(buf, (char *) &be, 4);
	appendBinaryStringInfo(buf, name, namelen);
	appendBinaryStringInfo(buf, (char *) digest, AC_HASH_LEN);
}
