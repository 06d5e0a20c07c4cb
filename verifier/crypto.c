/*-------------------------------------------------------------------------
 *
 * crypto.c
 *	  Ed25519 keys and signatures with OpenSSL (see crypto.h).
 *
 * IDENTIFICATION
 *	  verifier/crypto.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "crypto.h"
#include "util.h"

/*
 * av_sha256_once
 *		SHA-256 of len bytes (one-shot, for the few digests outside rows).
 */
void
av_sha256_once(const void *data, size_t len, uint8_t *out)
{
	unsigned int n;

	if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL))
	{
		fprintf(stderr, "audit_chain_verify: SHA-256 failed in OpenSSL\n");
		exit(2);
	}
}

/*
 * av_key_from_pem
 *		An Ed25519 public key from PEM text (a SubjectPublicKeyInfo, "BEGIN
 *		PUBLIC KEY"), and its key id: SHA-256 of the DER encoding of the
 *		SubjectPublicKeyInfo.  A private key, another algorithm or anything
 *		else is refused.
 */
bool
av_key_from_pem(const char *pem, size_t len, AvKey *key, char *err)
{
	BIO		   *bio;
	EVP_PKEY   *pkey;
	unsigned char *der = NULL;
	int			derlen;

	memset(key, 0, sizeof(*key));
	if (len > 64 * 1024)
	{
		snprintf(err, AV_ERRLEN, "not a PEM public key (too long)");
		return false;
	}
	bio = BIO_new_mem_buf(pem, (int) len);
	if (bio == NULL)
	{
		snprintf(err, AV_ERRLEN, "out of memory in OpenSSL");
		return false;
	}
	pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (pkey == NULL)
	{
		snprintf(err, AV_ERRLEN, "not a PEM public key (\"-----BEGIN PUBLIC KEY-----\")");
		return false;
	}
	if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519)
	{
		EVP_PKEY_free(pkey);
		snprintf(err, AV_ERRLEN, "not an Ed25519 public key");
		return false;
	}
	derlen = i2d_PUBKEY(pkey, &der);
	if (derlen <= 0)
	{
		EVP_PKEY_free(pkey);
		ERR_clear_error();
		snprintf(err, AV_ERRLEN, "could not DER-encode the public key");
		return false;
	}
	av_sha256_once(der, (size_t) derlen, key->key_id);
	OPENSSL_free(der);
	key->pkey = pkey;
	return true;
}

/*
 * av_key_free
 *		Free a key.
 */
void
av_key_free(AvKey *key)
{
	EVP_PKEY_free(key->pkey);
	free(key->source);
	memset(key, 0, sizeof(*key));
}

/*
 * av_ed25519_verify
 *		Does sig (64 bytes) sign the len bytes at msg under key (Ed25519,
 *		RFC 8032, pure: no pre-hash)?
 */
bool
av_ed25519_verify(const AvKey *key, const uint8_t *msg, size_t len,
				  const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *ctx;
	int			ok;

	if (key->pkey == NULL || siglen != 64)
		return false;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return false;
	ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key->pkey) == 1 &&
		EVP_DigestVerify(ctx, sig, siglen, msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

/*
 * av_read_file
 *		The whole of a regular file, at most limit bytes, NUL-terminated
 *		(the NUL is not counted in len).
 */
bool
av_read_file(const char *path, size_t limit, char **data, size_t *len,
			 char *err)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf = NULL;
	size_t		n = 0;
	size_t		cap = 0;
	struct stat st;

	if (f == NULL)
	{
		snprintf(err, AV_ERRLEN, "could not open \"%s\": %s", path, strerror(errno));
		return false;
	}
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode))
	{
		fclose(f);
		snprintf(err, AV_ERRLEN, "\"%s\" is a directory", path);
		return false;
	}
	for (;;)
	{
		size_t		got;

		if (cap - n < 65536)
		{
			cap = cap ? 2 * cap : 65536;
			buf = av_realloc(buf, cap + 1);
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (n > limit)
		{
			fclose(f);
			free(buf);
			snprintf(err, AV_ERRLEN, "\"%s\" is larger than %zu bytes", path, limit);
			return false;
		}
		if (got == 0)
			break;
	}
	if (ferror(f))
	{
		fclose(f);
		free(buf);
		snprintf(err, AV_ERRLEN, "could not read \"%s\"", path);
		return false;
	}
	fclose(f);
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return true;
}
