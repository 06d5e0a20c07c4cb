/*-------------------------------------------------------------------------
 *
 * crypto.h
 *	  Ed25519 public keys, key ids and signatures of checkpoints
 *	  (doc/checkpoints.md section 2), with OpenSSL.
 *
 * IDENTIFICATION
 *	  verifier/crypto.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AV_CRYPTO_H
#define AV_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An Ed25519 public key and its key id */
typedef struct AvKey
{
	void	   *pkey;			/* EVP_PKEY * */
	uint8_t		key_id[32];
	char	   *source;			/* file name, or "signing_keys" */
} AvKey;

extern bool av_key_from_pem(const char *pem, size_t len, AvKey *key, char *err);
extern void av_key_free(AvKey *key);
extern bool av_ed25519_verify(const AvKey *key, const uint8_t *msg, size_t len,
							  const uint8_t *sig, size_t siglen);
extern void av_sha256_once(const void *data, size_t len, uint8_t *out);
extern bool av_read_file(const char *path, size_t limit, char **data,
						 size_t *len, char *err);

#endif							/* AV_CRYPTO_H */
