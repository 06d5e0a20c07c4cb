/*-------------------------------------------------------------------------
 *
 * published.h
 *	  Published checkpoint files (--checkpoint) and trusted public keys
 *	  (--public-key): loading them and checking their signatures.
 *
 * A file that cannot be read or parsed, whose key does not hash to its key
 * id, whose signature does not verify, or that is not signed by one of the
 * --public-key keys when some were given, stops the run with exit status 2:
 * it is bad input, not evidence about the data.
 *
 * IDENTIFICATION
 *	  verifier/published.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AV_PUBLISHED_H
#define AV_PUBLISHED_H

#include "checkpoint.h"
#include "crypto.h"
#include "result.h"

typedef struct AvPublished
{
	char	   *path;
	AvExport	exp;
	bool		trusted;		/* signature verified with a --public-key */
	AvCheckpoint *entry;		/* its entry in the result */
} AvPublished;

typedef struct AvOptions
{
	const char *dbname;
	const char *segment;
	char	  **tables;
	int			ntables;
	char	  **checkpoint_files;
	int			ncheckpoint_files;
	char	  **key_files;
	int			nkey_files;
	int			jobs;
	bool		json;
	bool		quiet;
	bool		progress;		/* stderr is a terminal and not --quiet */
	int			order_mode;		/* 0 index scan (default), 1 heap + sort */

	/* loaded */
	AvKey	   *keys;
	int			nkeys;
	AvPublished *published;
	int			npublished;
} AvOptions;

extern void av_die(const char *fmt,...) __attribute__((format(printf, 1, 2), noreturn));
extern void av_load_keys(AvOptions *opt);
extern void av_load_published(AvOptions *opt, AvResult *r);
extern const AvKey *av_find_key(const AvOptions *opt, const uint8_t *key_id);

#endif							/* AV_PUBLISHED_H */
