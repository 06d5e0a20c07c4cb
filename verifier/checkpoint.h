/*-------------------------------------------------------------------------
 *
 * checkpoint.h
 *	  Parser of an exported checkpoint: the JSON document that
 *	  audit_chain.export_checkpoint() returns (doc/checkpoints.md section 3).
 *
 * Pure: input the file's bytes and their length, output an AvExport or a
 * one-line message; no libpq, no globals.  It decodes the base64 payload
 * and signature (OpenSSL's decoder) and parses the payload (payload.h), and
 * checks what the document must agree with itself on: checkpoint_id and
 * created_at repeat the payload's, key_id is the payload's key_id line.
 * It does not verify the signature or hash the public key (crypto.h does,
 * outside the parser).
 *
 * IDENTIFICATION
 *	  verifier/checkpoint.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AV_CHECKPOINT_H
#define AV_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "payload.h"

typedef struct AvExport
{
	int64_t		checkpoint_id;
	char	   *created_at;
	uint8_t    *payload;		/* decoded payload bytes */
	size_t		payload_len;
	AvPayload	parsed;			/* the payload, parsed */
	bool		is_signed;		/* signature, key_id, public_key not null */
	uint8_t		signature[64];
	uint8_t		key_id[32];
	char	   *public_key;		/* PEM text */
	char	   *algorithm;
} AvExport;

extern bool av_export_parse(const char *data, size_t len, AvExport *out,
							char *err);
extern void av_export_free(AvExport *e);

/* base64 (RFC 4648, padded, no line breaks) into a new buffer */
extern bool av_base64_decode(const char *s, size_t len, uint8_t **out,
							 size_t *outlen);

#endif							/* AV_CHECKPOINT_H */
