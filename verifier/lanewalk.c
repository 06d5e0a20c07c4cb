/*-------------------------------------------------------------------------
 *
 * lanewalk.c
 *	  Walking one lane in seq order (see lanewalk.h).
 *
 * A lane's rows come in one or two segments: the archived segment (from the
 * purge boundary to the archive boundary) and the live one (from the
 * archive boundary to the head).  The caller starts the walk at the first
 * segment's start point (av_walk_start), feeds every row in seq order
 * (av_walk_row: the row's chain columns; its column values are in
 * w->terms), ends each segment where it must end (av_walk_segment_end), and
 * finishes the lane (av_walk_finish: the heads of checkpoints past its end).
 *
 * IDENTIFICATION
 *	  verifier/lanewalk.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lanewalk.h"
#include "util.h"

/*
 * av_expect_cmp
 *		qsort order of expectations: by seq.
 */
int
av_expect_cmp(const void *a, const void *b)
{
	int64_t		sa = ((const AvExpect *) a)->seq;
	int64_t		sb = ((const AvExpect *) b)->seq;

	return sa < sb ? -1 : sa > sb;
}

/*
 * av_walk_init
 *		A walk of lane over a table with ncols hashed columns, checking the
 *		expectations exp (sorted here; the walk takes them over) and using
 *		the redactions red (this lane's, sorted by seq).
 */
void
av_walk_init(AvWalk *w, int lane, AvHasher *hasher, int ncols,
			 const char *const *colnames, AvExpect *exp, int nexp,
			 const AvRedaction *red, int nred)
{
	memset(w, 0, sizeof(*w));
	w->lane = lane;
	w->hasher = hasher;
	w->ncols = ncols;
	w->colnames = colnames;
	w->terms = av_malloc(sizeof(AvTerm) * (size_t) (ncols + 1));
	w->exp = exp;
	w->nexp = nexp;
	if (nexp > 1)
		qsort(exp, (size_t) nexp, sizeof(AvExpect), av_expect_cmp);
	w->red = red;
	w->nred = nred;
}

/*
 * av_walk_free
 *		Free what a walk holds (not the hasher, nor the redactions).
 */
void
av_walk_free(AvWalk *w)
{
	free(w->terms);
	free(w->exp);
	free(w->problem);
	w->terms = NULL;
	w->exp = NULL;
	w->problem = NULL;
}

/*
 * av_walk_problem
 *		Record the lane's first problem; later ones are ignored.
 */
void
av_walk_problem(AvWalk *w, int64_t seq, int64_t checkpoint_id,
				const char *fmt,...)
{
	va_list		ap;
	char		buf[1024];

	if (w->bad)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	w->bad = true;
	w->bad_seq = seq;
	w->bad_checkpoint = checkpoint_id;
	w->problem = av_strdup(buf);
}

/*
 * check_point
 *		Expectations at seq, which the lane passes with hash (a row, or a
 *		start point: at_set false, its chain_at is not known here).
 *		Expectations below seq that were not met are past: the rows they
 *		name were purged (before the first segment) or skipped by a gap,
 *		which the link check reports.
 */
static void
check_point(AvWalk *w, int64_t seq, const uint8_t *hash, bool at_known,
			int64_t at)
{
	while (w->exp_pos < w->nexp && w->exp[w->exp_pos].seq < seq)
		w->exp_pos++;
	while (w->exp_pos < w->nexp && w->exp[w->exp_pos].seq == seq)
	{
		AvExpect   *e = &w->exp[w->exp_pos++];

		if (memcmp(e->hash, hash, 32) != 0)
			av_walk_problem(w, seq, e->checkpoint_id,
							"chain_seq %lld has another hash than the %s checkpoint %lld recorded: the chain was rewritten",
							(long long) seq, e->what, (long long) e->checkpoint_id);
		else if (e->at_set && at_known && e->at != at)
			av_walk_problem(w, seq, e->checkpoint_id,
							"chain_seq %lld has another chain_at than the %s checkpoint %lld recorded: the chain was rewritten",
							(long long) seq, e->what, (long long) e->checkpoint_id);
	}
}

/*
 * av_walk_start
 *		Start (or restart) the walk at a start point: the next row must be
 *		seq + 1 and link to hash.
 */
void
av_walk_start(AvWalk *w, int64_t seq, const uint8_t *hash)
{
	w->expect_seq = seq + 1;
	w->last_seq = seq;
	memcpy(w->prev, hash, 32);
	check_point(w, seq, hash, false, 0);
}

/*
 * apply_redactions
 *		The kept digests of this row's redacted columns into w->terms; a
 *		record that names a column holding a value, or no hashed column, or
 *		has a digest of the wrong length, is a problem.  Returns false on a
 *		problem.
 */
static bool
apply_redactions(AvWalk *w, int64_t seq)
{
	while (w->red_pos < w->nred && w->red[w->red_pos].seq < seq)
		w->red_pos++;
	while (w->red_pos < w->nred && w->red[w->red_pos].seq == seq)
	{
		const AvRedaction *r = &w->red[w->red_pos++];

		if (r->col < 0)
		{
			av_walk_problem(w, seq, 0,
							"audit_chain.redactions records column \"%s\" of chain_seq %lld, which is not a hashed column",
							r->column_name, (long long) seq);
			return false;
		}
		if (r->bad_digest)
		{
			av_walk_problem(w, seq, 0,
							"audit_chain.redactions records a digest of column \"%s\" of chain_seq %lld that is not 32 bytes",
							r->column_name, (long long) seq);
			return false;
		}
		if (w->terms[r->col].kind != AV_TERM_NULL)
		{
			av_walk_problem(w, seq, 0,
							"column \"%s\" of chain_seq %lld is recorded as redacted but holds a value: the value was written back",
							r->column_name, (long long) seq);
			return false;
		}
		w->terms[r->col].kind = AV_TERM_DIGEST;
		w->terms[r->col].digest = r->digest;
		w->redacted++;
	}
	return true;
}

/*
 * av_walk_row
 *		Check one row of the lane: its seq comes next, it links to the row
 *		before, its hash is the hash of its contents (w->terms, filled by
 *		the caller; redactions are applied here), and it matches what
 *		checkpoints recorded at its seq.
 */
void
av_walk_row(AvWalk *w, int64_t seq, int64_t at_us, const uint8_t *prev,
			const uint8_t *hash)
{
	uint8_t		computed[32];

	w->rows++;
	if (w->bad)
		return;
	if (seq < w->expect_seq)
	{
		av_walk_problem(w, seq, 0,
						"chain_seq %lld appears more than once: a row was inserted into the chain",
						(long long) seq);
		return;
	}
	if (seq > w->expect_seq)
	{
		if (seq == w->expect_seq + 1)
			av_walk_problem(w, w->expect_seq, 0,
							"chain_seq %lld is missing: a row was deleted",
							(long long) w->expect_seq);
		else
			av_walk_problem(w, w->expect_seq, 0,
							"chain_seq %lld to %lld are missing: rows were deleted",
							(long long) w->expect_seq, (long long) seq - 1);
		return;
	}
	if (memcmp(prev, w->prev, 32) != 0)
	{
		av_walk_problem(w, seq, 0,
						"chain_prev of chain_seq %lld does not match the chain_hash before it: rows were replaced or reordered",
						(long long) seq);
		return;
	}
	if (w->nred > 0 && !apply_redactions(w, seq))
		return;
	av_row_hash(w->hasher, seq, at_us, prev, w->terms, computed);
	if (memcmp(computed, hash, 32) != 0)
	{
		av_walk_problem(w, seq, 0,
						"chain_hash of chain_seq %lld does not match the row's contents: the row was changed after it was sealed",
						(long long) seq);
		return;
	}
	check_point(w, seq, hash, true, at_us);
	if (w->bad)
		return;
	memcpy(w->prev, hash, 32);
	w->last_seq = seq;
	w->expect_seq = seq + 1;
}

/*
 * av_walk_segment_end
 *		A segment must end exactly at (end_seq, end_hash): the archived
 *		segment where the live lane starts.
 */
void
av_walk_segment_end(AvWalk *w, int64_t end_seq, const uint8_t *end_hash,
					const char *what)
{
	if (w->bad)
		return;
	if (w->last_seq < end_seq)
		av_walk_problem(w, w->last_seq + 1, 0,
						"the %s ends at chain_seq %lld but must reach chain_seq %lld: rows were deleted",
						what, (long long) w->last_seq, (long long) end_seq);
	else if (w->last_seq > end_seq)
		av_walk_problem(w, end_seq + 1, 0,
						"the %s holds rows after chain_seq %lld, where it must end: rows were inserted",
						what, (long long) end_seq);
	else if (memcmp(w->prev, end_hash, 32) != 0)
		av_walk_problem(w, end_seq, 0,
						"the last row of the %s does not have the hash the next segment starts from: the chain was rewritten",
						what);
}

/*
 * av_walk_finish
 *		The lane ended: a checkpoint that recorded a head past its end shows
 *		that rows were cut from the tail.  With whole_lane false (a segment
 *		file covering part of a lane) heads past the end cannot be checked
 *		and are left alone.
 */
void
av_walk_finish(AvWalk *w, bool whole_lane)
{
	if (w->bad || !whole_lane)
		return;
	while (w->exp_pos < w->nexp && w->exp[w->exp_pos].seq <= w->last_seq)
		w->exp_pos++;
	if (w->exp_pos < w->nexp)
	{
		AvExpect   *e = &w->exp[w->nexp - 1];

		av_walk_problem(w, w->last_seq + 1, e->checkpoint_id,
						"the lane ends at chain_seq %lld but checkpoint %lld recorded its %s at chain_seq %lld: rows were cut from the tail",
						(long long) w->last_seq, (long long) e->checkpoint_id,
						e->what, (long long) e->seq);
	}
}
