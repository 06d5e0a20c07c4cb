/*-------------------------------------------------------------------------
 *
 * rowhash.c
 *	  The row hash of doc/hash-format.md section 1 (see rowhash.h).
 *
 * IDENTIFICATION
 *	  verifier/rowhash.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "rowhash.h"
#include "util.h"

#define PREFIX "audit_chain/v1"
#define PREFIX_LEN 15			/* with its zero byte */

/* the fixed part of the input: prefix, seq, chain_at, prev */
#define FIXED_LEN (PREFIX_LEN + 8 + 8 + 32)

/*
 * av_hasher_init
 *		A hasher for a table whose hashed columns are names[0 .. ncols-1]
 *		(their UTF-8 bytes, name_lens[i] each).
 */
void
av_hasher_init(AvHasher *h, int ncols, const char *const *names,
			   const size_t *name_lens)
{
	size_t		need = FIXED_LEN;

	memset(h, 0, sizeof(*h));
	h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	h->ctx = EVP_MD_CTX_new();
	if (h->md == NULL || h->ctx == NULL)
	{
		fprintf(stderr, "audit_chain_verify: OpenSSL has no SHA-256\n");
		exit(2);
	}
	h->ncols = ncols;
	h->prefix = av_malloc(sizeof(uint8_t *) * (size_t) (ncols + 1));
	h->prefix_len = av_malloc(sizeof(size_t) * (size_t) (ncols + 1));
	h->memo = av_malloc(sizeof(AvHashMemo) * (size_t) (ncols + 1));
	memset(h->memo, 0, sizeof(AvHashMemo) * (size_t) (ncols + 1));
	for (int i = 0; i < ncols; i++)
	{
		size_t		n = name_lens[i];
		uint8_t    *p = av_malloc(4 + n);

		p[0] = (uint8_t) (n >> 24);
		p[1] = (uint8_t) (n >> 16);
		p[2] = (uint8_t) (n >> 8);
		p[3] = (uint8_t) n;
		memcpy(p + 4, names[i], n);
		h->prefix[i] = p;
		h->prefix_len[i] = 4 + n;
		need += 4 + n + 32;
	}
	h->buf = av_malloc(need);
	h->buf_cap = need;
}

/*
 * av_hasher_free
 *		Free a hasher.
 */
void
av_hasher_free(AvHasher *h)
{
	for (int i = 0; i < h->ncols; i++)
	{
		free(h->prefix[i]);
		free(h->memo[i].text);
	}
	free(h->prefix);
	free(h->prefix_len);
	free(h->memo);
	free(h->buf);
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_free(h->md);
	memset(h, 0, sizeof(*h));
}

/*
 * av_sha256
 *		SHA-256 of len bytes, with the hasher's context.
 */
void
av_sha256(AvHasher *h, const void *data, size_t len, uint8_t *out)
{
	unsigned int n;

	if (!EVP_DigestInit_ex2(h->ctx, h->md, NULL) ||
		!EVP_DigestUpdate(h->ctx, data, len) ||
		!EVP_DigestFinal_ex(h->ctx, out, &n))
	{
		fprintf(stderr, "audit_chain_verify: SHA-256 failed in OpenSSL\n");
		exit(2);
	}
}

/*
 * av_col_digest
 *		col_digest of a value of column col: SHA-256 of its canonical text,
 *		or the memo's digest when the text is the one hashed last for col.
 */
void
av_col_digest(AvHasher *h, int col, const char *text, size_t len, uint8_t *out)
{
	AvHashMemo *m = &h->memo[col];

	if (m->valid && m->len == len && memcmp(m->text, text, len) == 0)
	{
		memcpy(out, m->digest, 32);
		return;
	}
	av_sha256(h, text, len, out);
	if (len <= 256)
	{
		if (m->cap < len + 1)
		{
			m->cap = 257;
			m->text = av_realloc(m->text, m->cap);
		}
		memcpy(m->text, text, len);
		m->len = len;
		memcpy(m->digest, out, 32);
		m->valid = true;
	}
	else
		m->valid = false;
}

/* put v big-endian into 8 bytes */
static void
put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--)
	{
		p[i] = (uint8_t) v;
		v >>= 8;
	}
}

/*
 * av_row_input
 *		Build a row's hash input (section 1) in h->buf; returns its length.
 *		terms has one entry per hashed column, in attnum order.
 */
size_t
av_row_input(AvHasher *h, int64_t seq, int64_t at_us, const uint8_t *prev,
			 const AvTerm *terms)
{
	uint8_t    *p = h->buf;

	memcpy(p, PREFIX, PREFIX_LEN);	/* with its terminating zero byte */
	p += PREFIX_LEN;
	put_be64(p, (uint64_t) seq);
	p += 8;
	put_be64(p, (uint64_t) at_us);
	p += 8;
	memcpy(p, prev, 32);
	p += 32;
	for (int i = 0; i < h->ncols; i++)
	{
		if (terms[i].kind == AV_TERM_NULL)
			continue;
		memcpy(p, h->prefix[i], h->prefix_len[i]);
		p += h->prefix_len[i];
		if (terms[i].kind == AV_TERM_DIGEST)
			memcpy(p, terms[i].digest, 32);
		else
			av_col_digest(h, i, terms[i].text, terms[i].len, p);
		p += 32;
	}
	return (size_t) (p - h->buf);
}

/*
 * av_row_hash
 *		chain_hash of a row: SHA-256 of its input.
 */
void
av_row_hash(AvHasher *h, int64_t seq, int64_t at_us, const uint8_t *prev,
			const AvTerm *terms, uint8_t *out)
{
	size_t		n = av_row_input(h, seq, at_us, prev, terms);

	av_sha256(h, h->buf, n, out);
}
