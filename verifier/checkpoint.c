/*-------------------------------------------------------------------------
 *
 * checkpoint.c
 *	  Parser of an exported checkpoint (see checkpoint.h).
 *
 * IDENTIFICATION
 *	  verifier/checkpoint.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "checkpoint.h"
#include "util.h"

#define EXPORT_FORMAT "audit_chain/checkpoint-export/v1"

/*
 * av_base64_decode
 *		Decode padded base64 without line breaks with OpenSSL's
 *		EVP_DecodeBlock, which does not itself refuse every bad input: the
 *		length must be a multiple of 4, every character of the alphabet,
 *		'=' only as one or two final characters.
 */
bool
av_base64_decode(const char *s, size_t len, uint8_t **out, size_t *outlen)
{
	size_t		pad = 0;
	uint8_t    *buf;
	int			n;

	if (len % 4 != 0 || len > (size_t) 1 << 30)
		return false;
	for (size_t i = 0; i < len; i++)
	{
		char		c = s[i];

		if (c == '=')
		{
			if (i < len - 2)
				return false;
			pad++;
		}
		else if (pad > 0 ||
				 !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
				   (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return false;
	}
	buf = av_malloc(len / 4 * 3 + 1);
	n = EVP_DecodeBlock(buf, (const unsigned char *) s, (int) len);
	if (n < 0 || (size_t) n < pad)
	{
		free(buf);
		return false;
	}
	*out = buf;
	*outlen = (size_t) n - pad;
	return true;
}

/* a string member, or NULL if absent or not a string */
static const char *
member_string(json_t *obj, const char *key, size_t *len)
{
	json_t	   *v = json_object_get(obj, key);

	if (!json_is_string(v))
		return NULL;
	if (len)
		*len = json_string_length(v);
	return json_string_value(v);
}

/*
 * av_export_parse
 *		Parse an exported checkpoint (see checkpoint.h).  On failure out
 *		holds nothing that needs freeing.
 */
bool
av_export_parse(const char *data, size_t len, AvExport *out, char *err)
{
	json_t	   *root;
	json_error_t jerr;
	json_t	   *v;
	const char *s;
	size_t		slen;
	const char *keys[] = {"format", "checkpoint_id", "created_at", "payload",
	"signature", "key_id", "public_key", "algorithm"};
	int			nnull = 0;
	char		perr[AV_ERRLEN];
	uint8_t    *sig = NULL;
	size_t		siglen = 0;

	memset(out, 0, sizeof(*out));
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
	{
		snprintf(err, AV_ERRLEN, "not a JSON document (line %d, column %d: %s)",
				 jerr.line, jerr.column, av_printable(jerr.text));
		return false;
	}
	if (!json_is_object(root))
	{
		snprintf(err, AV_ERRLEN, "not a JSON object");
		goto fail;
	}
	s = member_string(root, "format", NULL);
	if (s == NULL || strcmp(s, EXPORT_FORMAT) != 0)
	{
		snprintf(err, AV_ERRLEN, "\"format\" is not \"%s\"", EXPORT_FORMAT);
		goto fail;
	}
	v = json_object_get(root, "checkpoint_id");
	if (!json_is_integer(v) || json_integer_value(v) <= 0)
	{
		snprintf(err, AV_ERRLEN, "\"checkpoint_id\" is not a positive integer");
		goto fail;
	}
	out->checkpoint_id = json_integer_value(v);
	s = member_string(root, "created_at", NULL);
	if (s == NULL)
	{
		snprintf(err, AV_ERRLEN, "\"created_at\" is missing or not a string");
		goto fail;
	}
	out->created_at = av_strdup(s);
	s = member_string(root, "payload", &slen);
	if (s == NULL || !av_base64_decode(s, slen, &out->payload, &out->payload_len))
	{
		snprintf(err, AV_ERRLEN, "\"payload\" is missing or not base64");
		goto fail;
	}
	if (!av_payload_parse((const char *) out->payload, out->payload_len,
						  &out->parsed, perr))
	{
		snprintf(err, AV_ERRLEN, "the payload is malformed: %s", perr);
		goto fail;
	}
	if (out->parsed.version != 2)
	{
		snprintf(err, AV_ERRLEN, "the payload is not version 2");
		goto fail;
	}
	if (out->parsed.checkpoint_id != out->checkpoint_id ||
		strcmp(out->parsed.created_at, out->created_at) != 0)
	{
		snprintf(err, AV_ERRLEN, "\"checkpoint_id\" or \"created_at\" differs from the payload's");
		goto fail;
	}

	for (size_t i = 4; i < 8; i++)
		nnull += json_is_null(json_object_get(root, keys[i]));
	if (nnull == 4)
	{
		if (out->parsed.has_key_id)
		{
			snprintf(err, AV_ERRLEN, "the document has no signature but its payload names a key_id");
			goto fail;
		}
		json_decref(root);
		return true;
	}
	if (nnull != 0)
	{
		snprintf(err, AV_ERRLEN, "\"signature\", \"key_id\", \"public_key\" and \"algorithm\" must all be set or all be null");
		goto fail;
	}
	out->is_signed = true;
	s = member_string(root, "algorithm", NULL);
	if (s == NULL || strcmp(s, "ed25519") != 0)
	{
		snprintf(err, AV_ERRLEN, "\"algorithm\" is not \"ed25519\"");
		goto fail;
	}
	out->algorithm = av_strdup(s);
	s = member_string(root, "signature", &slen);
	if (s == NULL || !av_base64_decode(s, slen, &sig, &siglen) || siglen != 64)
	{
		snprintf(err, AV_ERRLEN, "\"signature\" is not the base64 of 64 bytes");
		free(sig);
		goto fail;
	}
	memcpy(out->signature, sig, 64);
	free(sig);
	s = member_string(root, "key_id", &slen);
	if (s == NULL || !av_unhex(s, slen, out->key_id, 32))
	{
		snprintf(err, AV_ERRLEN, "\"key_id\" is not 64 hex digits");
		goto fail;
	}
	if (!out->parsed.has_key_id || memcmp(out->parsed.key_id, out->key_id, 32) != 0)
	{
		snprintf(err, AV_ERRLEN, "\"key_id\" is not the payload's key_id line");
		goto fail;
	}
	s = member_string(root, "public_key", &slen);
	if (s == NULL || slen == 0 || strlen(s) != slen)
	{
		snprintf(err, AV_ERRLEN, "\"public_key\" is not a PEM string");
		goto fail;
	}
	out->public_key = av_strdup(s);
	json_decref(root);
	return true;

fail:
	json_decref(root);
	av_export_free(out);
	return false;
}

/*
 * av_export_free
 *		Free what a parsed export holds.
 */
void
av_export_free(AvExport *e)
{
	free(e->created_at);
	free(e->payload);
	av_payload_free(&e->parsed);
	free(e->public_key);
	free(e->algorithm);
	memset(e, 0, sizeof(*e));
}
