/*-------------------------------------------------------------------------
 *
 * rowhash.h
 *	  The row hash of doc/hash-format.md section 1, computed by the
 *	  verifier itself with OpenSSL's EVP SHA-256.
 *
 * An AvHasher belongs to one thread.  It knows the hashed columns of one
 * table (their names, in attnum order) and keeps, per column, the last
 * value it hashed and its col_digest: a value equal to the previous row's
 * (an action, a provider, a model) is not hashed again.  The digest is the
 * verifier's own, of the same bytes, so nothing is trusted by the memo.
 *
 * IDENTIFICATION
 *	  verifier/rowhash.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AV_ROWHASH_H
#define AV_ROWHASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum AvTermKind
{
	AV_TERM_NULL,				/* NULL and not redacted: no term */
	AV_TERM_TEXT,				/* canonical text: its SHA-256 */
	AV_TERM_DIGEST				/* a redacted column: its kept digest */
} AvTermKind;

typedef struct AvTerm
{
	AvTermKind	kind;
	const char *text;
	size_t		len;
	const uint8_t *digest;
} AvTerm;

typedef struct AvHashMemo
{
	char	   *text;
	size_t		len;
	size_t		cap;
	bool		valid;
	uint8_t		digest[32];
} AvHashMemo;

typedef struct AvHasher
{
	void	   *md;				/* EVP_MD * (SHA-256, fetched once) */
	void	   *ctx;			/* EVP_MD_CTX * */
	int			ncols;
	uint8_t   **prefix;			/* per column: uint32_be(len) || name */
	size_t	   *prefix_len;
	AvHashMemo *memo;
	uint8_t    *buf;			/* the input being built */
	size_t		buf_cap;
} AvHasher;

extern void av_hasher_init(AvHasher *h, int ncols, const char *const *names,
						   const size_t *name_lens);
extern void av_hasher_free(AvHasher *h);
extern void av_sha256(AvHasher *h, const void *data, size_t len, uint8_t *out);
extern void av_col_digest(AvHasher *h, int col, const char *text, size_t len,
						  uint8_t *out);
extern void av_row_hash(AvHasher *h, int64_t seq, int64_t at_us,
						const uint8_t *prev, const AvTerm *terms, uint8_t *out);
extern size_t av_row_input(AvHasher *h, int64_t seq, int64_t at_us,
						   const uint8_t *prev, const AvTerm *terms);

#endif							/* AV_ROWHASH_H */
