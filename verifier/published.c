/*-------------------------------------------------------------------------
 *
 * published.c
 *	  Published checkpoint files and trusted public keys (see
 *	  published.h).
 *
 * IDENTIFICATION
 *	  verifier/published.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "published.h"
#include "util.h"

#define MAX_CHECKPOINT_FILE (64 * 1024 * 1024)

/*
 * av_die
 *		Print a one-line error on stderr and exit with status 2.
 */
void
av_die(const char *fmt,...)
{
	va_list		ap;

	fflush(stdout);
	fputs("audit_chain_verify: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/*
 * av_load_keys
 *		Read every --public-key file: each must be one Ed25519 public key
 *		in PEM.
 */
void
av_load_keys(AvOptions *opt)
{
	opt->keys = av_malloc(sizeof(AvKey) * (size_t) (opt->nkey_files + 1));
	for (int i = 0; i < opt->nkey_files; i++)
	{
		char	   *data;
		size_t		len;
		char		err[AV_ERRLEN];

		if (!av_read_file(opt->key_files[i], 1024 * 1024, &data, &len, err))
			av_die("public key: %s", err);
		if (!av_key_from_pem(data, len, &opt->keys[i], err))
			av_die("public key \"%s\": %s", opt->key_files[i], err);
		free(data);
		opt->keys[i].source = av_strdup(opt->key_files[i]);
		opt->nkeys++;
	}
}

/*
 * av_find_key
 *		The --public-key key with this key id, or NULL.
 */
const AvKey *
av_find_key(const AvOptions *opt, const uint8_t *key_id)
{
	for (int i = 0; i < opt->nkeys; i++)
		if (memcmp(opt->keys[i].key_id, key_id, 32) == 0)
			return &opt->keys[i];
	return NULL;
}

/*
 * av_load_published
 *		Read, parse and check every --checkpoint file; each gets an entry in
 *		the result.  The signature is checked against the --public-key keys
 *		when there are any, else against the key the file carries (with a
 *		warning: a forger would carry his own key).
 */
void
av_load_published(AvOptions *opt, AvResult *r)
{
	opt->published = av_malloc(sizeof(AvPublished) * (size_t) (opt->ncheckpoint_files + 1));
	for (int i = 0; i < opt->ncheckpoint_files; i++)
	{
		AvPublished *p = &opt->published[i];
		const char *path = opt->checkpoint_files[i];
		char	   *data;
		size_t		len;
		char		err[AV_ERRLEN];
		char		kid[65];
		AvKey		own;
		const AvKey *trusted;

		memset(p, 0, sizeof(*p));
		p->path = av_strdup(path);
		if (!av_read_file(path, MAX_CHECKPOINT_FILE, &data, &len, err))
			av_die("checkpoint file: %s", err);
		if (!av_export_parse(data, len, &p->exp, err))
			av_die("checkpoint file \"%s\" is malformed: %s", path, err);
		free(data);
		opt->npublished++;

		p->entry = av_result_add_checkpoint(r);
		p->entry->id = p->exp.checkpoint_id;
		p->entry->created_at = av_strdup(p->exp.created_at);
		p->entry->source = av_strdup(path);
		p->entry->lanes = p->exp.parsed.nlanes;
		p->entry->is_signed = p->exp.is_signed;

		if (!p->exp.is_signed)
		{
			if (opt->nkeys > 0)
				av_die("checkpoint file \"%s\" is not signed, but --public-key was given", path);
			av_result_warn(r, "checkpoint file %s (checkpoint %lld) is not signed: it proves only what its copy outside the database proves",
						   path, (long long) p->exp.checkpoint_id);
			continue;
		}
		av_hex(p->exp.key_id, 32, kid);
		memcpy(p->entry->key_id, kid, sizeof(kid));
		if (!av_key_from_pem(p->exp.public_key, strlen(p->exp.public_key), &own, err))
			av_die("checkpoint file \"%s\": its public_key: %s", path, err);
		if (memcmp(own.key_id, p->exp.key_id, 32) != 0)
		{
			av_key_free(&own);
			av_die("checkpoint file \"%s\": its public_key does not hash to its key_id", path);
		}
		if (opt->nkeys > 0)
		{
			trusted = av_find_key(opt, p->exp.key_id);
			if (trusted == NULL)
			{
				av_key_free(&own);
				av_die("checkpoint file \"%s\" is signed by key %s, which is not a --public-key key (wrong key)",
					   path, kid);
			}
			if (!av_ed25519_verify(trusted, p->exp.payload, p->exp.payload_len,
								   p->exp.signature, 64))
			{
				av_key_free(&own);
				av_die("checkpoint file \"%s\": the signature does not verify with --public-key %s",
					   path, trusted->source);
			}
			p->trusted = true;
		}
		else
		{
			if (!av_ed25519_verify(&own, p->exp.payload, p->exp.payload_len,
								   p->exp.signature, 64))
			{
				av_key_free(&own);
				av_die("checkpoint file \"%s\": the signature does not verify with the public key it carries", path);
			}
			av_result_warn(r, "checkpoint file %s: signature checked against the public key the file carries (key id %s); give --public-key to check it against the key you published",
						   path, kid);
		}
		av_key_free(&own);
		p->entry->signature_ok = true;
		p->entry->trusted_key = p->trusted;
		r->signatures++;
	}
}
