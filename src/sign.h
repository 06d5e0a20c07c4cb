/*-------------------------------------------------------------------------
 *
 * sign.h
 *	  Ed25519 signatures of checkpoints: the signing key, key ids, and
 *	  checking a signature (doc/checkpoints.md section 2).
 *
 * IDENTIFICATION
 *	  src/sign.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_CHAIN_SIGN_H
#define AUDIT_CHAIN_SIGN_H

#include "hash.h"

#define AC_SIG_LEN			64
#define AC_KEY_ID_LEN		32
#define AC_SIG_ALGORITHM	"ed25519"

/* The public half of the signing key, as checkpoint() records it */
typedef struct AcPublicKey
{
	uint8		key_id[AC_KEY_ID_LEN];
	char	   *pem;			/* SubjectPublicKeyInfo, PEM, palloc'd */
} AcPublicKey;

/* An open signing key (sign.c); NULL when no key is configured */
typedef struct AcSigner AcSigner;

extern AcSigner *ac_signer_open(AcPublicKey *pub);
extern void ac_signer_sign(AcSigner *signer, const char *data, size_t len,
						   uint8 *sig);
extern void ac_signer_close(AcSigner *signer);
extern bool ac_public_key_id(const char *pem, uint8 *key_id, char **why);
extern bool ac_signature_valid(const char *pem, const char *payload,
							   int payload_len, const uint8 *sig, int sig_len,
							   char **why);

#endif							/* AUDIT_CHAIN_SIGN_H */
