/*-------------------------------------------------------------------------
 *
 * result.c
 *	  Building the result of a run (see result.h).
 *
 * IDENTIFICATION
 *	  verifier/result.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "result.h"
#include "util.h"

/* grow an array of elem-size entries to hold one more */
static void *
grow(void *arr, int n, int *cap, size_t elem)
{
	if (n < *cap)
		return arr;
	*cap = *cap ? 2 * *cap : 16;
	return av_realloc(arr, elem * (size_t) *cap);
}

/*
 * av_result_init
 *		An empty result of a run in mode ("database" or "segment").
 */
void
av_result_init(AvResult *r, const char *mode)
{
	memset(r, 0, sizeof(*r));
	r->mode = mode;
}

/*
 * av_result_add_lane
 *		A new, zeroed lane entry.
 */
AvLane *
av_result_add_lane(AvResult *r)
{
	AvLane	   *l;

	r->lanes = grow(r->lanes, r->nlanes, &r->lanes_cap, sizeof(AvLane));
	l = &r->lanes[r->nlanes++];
	memset(l, 0, sizeof(*l));
	return l;
}

/*
 * av_result_add_checkpoint
 *		A new, zeroed checkpoint entry.
 */
AvCheckpoint *
av_result_add_checkpoint(AvResult *r)
{
	AvCheckpoint *c;

	r->checkpoints = grow(r->checkpoints, r->ncheckpoints, &r->checkpoints_cap,
						  sizeof(AvCheckpoint));
	c = &r->checkpoints[r->ncheckpoints++];
	memset(c, 0, sizeof(*c));
	c->intact = true;
	return c;
}

/*
 * av_result_fail
 *		Record a failure.  A failure about a checkpoint marks that
 *		checkpoint's entries not intact.
 */
void
av_result_fail(AvResult *r, const char *table, int lane, bool has_seq,
			   int64_t seq, int64_t checkpoint_id, const char *fmt,...)
{
	va_list		ap;
	char		buf[1024];
	AvFailure  *f;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	r->failures = grow(r->failures, r->nfailures, &r->failures_cap, sizeof(AvFailure));
	f = &r->failures[r->nfailures++];
	f->table = av_strdup(table);
	f->lane = lane;
	f->has_seq = has_seq;
	f->seq = seq;
	f->checkpoint_id = checkpoint_id;
	f->problem = av_strdup(buf);
	if (checkpoint_id > 0)
		for (int i = 0; i < r->ncheckpoints; i++)
			if (r->checkpoints[i].id == checkpoint_id)
				r->checkpoints[i].intact = false;
}

/*
 * av_result_warn
 *		Record a warning: something not checked, or checked with less
 *		assurance, that is not itself evidence of tampering.
 */
void
av_result_warn(AvResult *r, const char *fmt,...)
{
	va_list		ap;
	char		buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	r->warnings = grow(r->warnings, r->nwarnings, &r->warnings_cap, sizeof(char *));
	r->warnings[r->nwarnings++] = av_strdup(buf);
}

/*
 * av_result_exit_code
 *		0 intact, 1 tampered.
 */
int
av_result_exit_code(const AvResult *r)
{
	return r->nfailures > 0 ? AV_EXIT_TAMPERED : AV_EXIT_INTACT;
}
