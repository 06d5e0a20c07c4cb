/*-------------------------------------------------------------------------
 *
 * lanewalk.h
 *	  Walking one lane in seq order: links, row hashes, redactions and the
 *	  heads that checkpoints recorded (doc/hash-format.md sections 1, 4, 5;
 *	  doc/checkpoints.md section 1).
 *
 * The database walk (db.c) and the segment file (segfile.c) both feed rows
 * to an AvWalk, one at a time, so memory stays bounded whatever the lane's
 * length.  The first problem found in a lane is kept (with its seq); rows
 * after it are counted but not checked, as verify_chain() does.
 *
 * IDENTIFICATION
 *	  verifier/lanewalk.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AV_LANEWALK_H
#define AV_LANEWALK_H

#include <stdbool.h>
#include <stdint.h>

#include "rowhash.h"

/* A point a checkpoint recorded on the lane: the row at seq must be there */
typedef struct AvExpect
{
	int64_t		seq;
	uint8_t		hash[32];
	bool		at_set;			/* a head with its chain_at */
	int64_t		at;
	int64_t		checkpoint_id;
	const char *what;			/* "head", "archive boundary", ... */
} AvExpect;

/* A redacted column: its kept digest takes the NULL value's place */
typedef struct AvRedaction
{
	int			lane;
	int64_t		seq;
	int			col;			/* hashed column index, -1: not a hashed
								 * column */
	char	   *column_name;
	bool		bad_digest;		/* not 32 bytes */
	uint8_t		digest[32];
} AvRedaction;

typedef struct AvWalk
{
	int			lane;
	AvHasher   *hasher;
	int			ncols;
	AvTerm	   *terms;			/* scratch: one per hashed column */

	int64_t		expect_seq;		/* the next seq */
	uint8_t		prev[32];		/* what it must link to */
	int64_t		last_seq;		/* the last seq that verified */
	int64_t		rows;
	int64_t		redacted;		/* kept digests used */

	bool		bad;
	int64_t		bad_seq;
	char	   *problem;
	int64_t		bad_checkpoint; /* the checkpoint a problem is about */

	AvExpect   *exp;			/* sorted by seq */
	int			nexp;
	int			exp_pos;

	const AvRedaction *red;		/* this lane's, sorted by seq */
	int			nred;
	int			red_pos;

	const char *const *colnames;
} AvWalk;

extern void av_walk_init(AvWalk *w, int lane, AvHasher *hasher, int ncols,
						 const char *const *colnames, AvExpect *exp, int nexp,
						 const AvRedaction *red, int nred);
extern void av_walk_free(AvWalk *w);
extern void av_walk_problem(AvWalk *w, int64_t seq, int64_t checkpoint_id,
							const char *fmt,...)
			__attribute__((format(printf, 4, 5)));
extern void av_walk_start(AvWalk *w, int64_t seq, const uint8_t *hash);
extern void av_walk_row(AvWalk *w, int64_t seq, int64_t at_us,
						const uint8_t *prev, const uint8_t *hash);
extern void av_walk_segment_end(AvWalk *w, int64_t end_seq,
								const uint8_t *end_hash, const char *what);
extern void av_walk_finish(AvWalk *w, bool whole_lane);
extern int	av_expect_cmp(const void *a, const void *b);

#endif							/* AV_LANEWALK_H */
