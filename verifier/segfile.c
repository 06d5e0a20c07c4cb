/*-------------------------------------------------------------------------
 *
 * segfile.c
 *	  Verifying a segment file (doc/checkpoints.md section 4) with no
 *	  database: every row's col_digests and chain_hash recomputed from its
 *	  values, every link from the header's start points, the trailer's
 *	  counts and last hashes, and the heads of the published checkpoints
 *	  (--checkpoint) that fall inside the segment.
 *
 * The file is read a line at a time, so memory stays bounded.  A file
 * that is not a segment file, is truncated (no trailer, or counts that
 * differ), or breaks the file's own structure stops the run with exit
 * status 2; rows whose hashes or links do not verify are failures (1).
 *
 * IDENTIFICATION
 *	  verifier/segfile.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lanewalk.h"
#include "rowhash.h"
#include "segfile.h"
#include "segment.h"
#include "util.h"

#define MAX_LINE (256 * 1024 * 1024)

/*
 * read_line
 *		getline() that stops at MAX_LINE bytes: a file with no line feed (a
 *		hostile one, or /dev/zero) must not grow the buffer until the
 *		machine runs out of memory.  Returns the length read (the line feed
 *		included), -1 at the end of the file, or dies on a read error or a
 *		line too long.
 */
static ssize_t
read_line(char **line, size_t *cap, FILE *f, const char *path, int64_t lineno)
{
	size_t		n = 0;
	int			c;

	while ((c = getc_unlocked(f)) != EOF)
	{
		if (n + 2 > *cap)
		{
			if (n > MAX_LINE)
				av_die("segment file \"%s\", line %lld: line too long", path, (long long) lineno);
			*cap = *cap ? 2 * *cap : 8192;
			*line = av_realloc(*line, *cap);
		}
		(*line)[n++] = (char) c;
		if (c == '\n')
			break;
	}
	if (ferror(f))
		av_die("could not read segment file \"%s\": %s", path, strerror(errno));
	if (n == 0)
		return -1;
	(*line)[n] = '\0';
	return (ssize_t) n;
}

typedef struct SegLane
{
	AvSegLane	head;			/* from the header */
	AvWalk		walk;
	bool		started;
	bool		finished;
	int64_t		rows;
	int			nexp;
} SegLane;

/*
 * lane_expectations
 *		The heads (and boundaries) published checkpoints recorded for the
 *		lane with this genesis.
 */
static AvExpect *
lane_expectations(AvOptions *opt, const uint8_t *genesis, int *nexp)
{
	AvExpect   *exp = NULL;
	int			n = 0;

	for (int f = 0; f < opt->npublished; f++)
	{
		const AvPayload *p = &opt->published[f].exp.parsed;

		for (int i = 0; i < p->nlanes; i++)
		{
			const AvPayloadLane *pl = &p->lanes[i];

			if (memcmp(pl->genesis, genesis, 32) != 0)
				continue;
			exp = av_realloc(exp, sizeof(AvExpect) * (size_t) (n + 3));
			exp[n].seq = pl->head_seq;
			memcpy(exp[n].hash, pl->head_hash, 32);
			exp[n].at_set = pl->head_at_set;
			exp[n].at = pl->head_at;
			exp[n].checkpoint_id = p->checkpoint_id;
			exp[n].what = "head";
			n++;
			if (pl->start_seq < pl->head_seq)
			{
				exp[n].seq = pl->start_seq;
				memcpy(exp[n].hash, pl->start_hash, 32);
				exp[n].at_set = false;
				exp[n].at = 0;
				exp[n].checkpoint_id = p->checkpoint_id;
				exp[n].what = "archive boundary";
				n++;
			}
		}
	}
	*nexp = n;
	return exp;
}

/*
 * av_verify_segment
 *		Verify the segment file opt->segment into r.
 */
void
av_verify_segment(AvOptions *opt, AvResult *r)
{
	FILE	   *f = fopen(opt->segment, "rb");
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		len;
	int64_t		lineno = 0;
	AvSegLine	header;
	AvSegLine	sl;
	char		err[AV_ERRLEN];
	AvHasher	h;
	SegLane    *lanes;
	SegLane    *cur = NULL;
	bool		trailer = false;
	int64_t		total = 0;
	const char **names;
	size_t	   *lens;
	struct timespec ts0,
				ts1;

	clock_gettime(CLOCK_MONOTONIC, &ts0);
	if (f == NULL)
		av_die("could not open segment file \"%s\": %s", opt->segment, strerror(errno));
	r->database = av_strdup(opt->segment);

	len = read_line(&line, &cap, f, opt->segment, 1);
	if (len <= 0)
		av_die("segment file \"%s\" is empty", opt->segment);
	lineno = 1;
	if (line[len - 1] == '\n')
		len--;
	if (!av_segment_parse_line(line, (size_t) len, &header, err))
		av_die("segment file \"%s\", line 1: %s", opt->segment, err);
	if (header.kind != AV_SEG_HEADER)
		av_die("segment file \"%s\" does not start with its header line", opt->segment);

	names = av_malloc(sizeof(char *) * (size_t) (header.ncolumns + 1));
	lens = av_malloc(sizeof(size_t) * (size_t) (header.ncolumns + 1));
	for (int c = 0; c < header.ncolumns; c++)
	{
		names[c] = header.columns[c].name;
		lens[c] = header.columns[c].name_len;
	}
	av_hasher_init(&h, header.ncolumns, names, lens);
	lanes = av_malloc(sizeof(SegLane) * (size_t) (header.nlanes + 1));
	memset(lanes, 0, sizeof(SegLane) * (size_t) (header.nlanes + 1));
	for (int i = 0; i < header.nlanes; i++)
	{
		AvExpect   *exp;
		int			nexp;

		lanes[i].head = header.lanes[i];
		exp = lane_expectations(opt, header.lanes[i].genesis, &nexp);
		lanes[i].nexp = nexp;
		av_walk_init(&lanes[i].walk, header.lanes[i].lane, &h, header.ncolumns,
					 names, exp, nexp, NULL, 0);
		av_walk_start(&lanes[i].walk, header.lanes[i].start_seq,
					  header.lanes[i].start_hash);
	}

	while ((len = read_line(&line, &cap, f, opt->segment, lineno + 1)) > 0)
	{
		SegLane    *sg = NULL;

		lineno++;
		if (line[len - 1] == '\n')
			len--;
		else
			av_die("segment file \"%s\", line %lld: the last line does not end in a line feed (truncated)",
				   opt->segment, (long long) lineno);
		if (len > MAX_LINE)
			av_die("segment file \"%s\", line %lld: line too long", opt->segment, (long long) lineno);
		if (trailer)
			av_die("segment file \"%s\", line %lld: lines follow the trailer", opt->segment, (long long) lineno);
		if (!av_segment_parse_line(line, (size_t) len, &sl, err))
			av_die("segment file \"%s\", line %lld: %s", opt->segment, (long long) lineno, err);
		if (sl.kind == AV_SEG_HEADER)
			av_die("segment file \"%s\", line %lld: a second header", opt->segment, (long long) lineno);
		if (sl.kind == AV_SEG_TRAILER)
		{
			trailer = true;
			if (sl.rows != total)
				av_die("segment file \"%s\": the trailer counts %lld rows, the file has %lld (truncated)",
					   opt->segment, (long long) sl.rows, (long long) total);
			for (int e = 0; e < sl.nends; e++)
			{
				SegLane    *tl = NULL;

				for (int i = 0; i < header.nlanes; i++)
					if (lanes[i].head.lane == sl.ends[e].lane)
						tl = &lanes[i];
				if (tl == NULL)
					av_die("segment file \"%s\": the trailer lists lane %d, which the header does not",
						   opt->segment, sl.ends[e].lane);
				if (tl->rows != sl.ends[e].rows)
					av_die("segment file \"%s\": the trailer counts %lld rows in lane %d, the file has %lld (truncated)",
						   opt->segment, (long long) sl.ends[e].rows, tl->head.lane, (long long) tl->rows);
				if (!tl->walk.bad &&
					(tl->walk.last_seq != sl.ends[e].last_seq ||
					 memcmp(tl->walk.prev, sl.ends[e].last_hash, 32) != 0))
					av_walk_problem(&tl->walk, tl->walk.last_seq, 0,
									"the trailer says lane %d ends at chain_seq %lld with another hash than its last row's: the segment was changed",
									tl->head.lane, (long long) sl.ends[e].last_seq);
			}
			if (sl.nends != header.nlanes)
				av_die("segment file \"%s\": the trailer lists %d lanes, the header %d",
					   opt->segment, sl.nends, header.nlanes);
			av_segment_line_free(&sl);
			continue;
		}

		/* a row */
		for (int i = 0; i < header.nlanes; i++)
			if (lanes[i].head.lane == sl.lane)
				sg = &lanes[i];
		if (sg == NULL)
			av_die("segment file \"%s\", line %lld: a row of lane %d, which the header does not list",
				   opt->segment, (long long) lineno, sl.lane);
		if (sg != cur)
		{
			if (sg->started)
				av_die("segment file \"%s\", line %lld: the rows of lane %d are not together",
					   opt->segment, (long long) lineno, sl.lane);
			if (cur)
				cur->finished = true;
			cur = sg;
			sg->started = true;
		}
		if (sl.nvalues != header.ncolumns)
			av_die("segment file \"%s\", line %lld: %d values for %d columns",
				   opt->segment, (long long) lineno, sl.nvalues, header.ncolumns);
		for (int c = 0; c < header.ncolumns; c++)
		{
			AvTerm	   *t = &sg->walk.terms[c];

			switch (sl.values[c].kind)
			{
				case AV_SEG_NULL:
					t->kind = AV_TERM_NULL;
					break;
				case AV_SEG_TEXT:
					t->kind = AV_TERM_TEXT;
					t->text = sl.values[c].text;
					t->len = sl.values[c].len;
					break;
				case AV_SEG_REDACTED:
					t->kind = AV_TERM_DIGEST;
					t->digest = sl.values[c].digest;
					sg->walk.redacted++;
					break;
			}
		}
		sg->rows++;
		total++;
		if (sl.seq_null || !sl.at_ok || !sl.prev_ok || !sl.hash_ok)
		{
			/* a row whose chain columns cannot verify (as stored) */
			sg->walk.rows++;
			if (sl.seq_null)
				av_walk_problem(&sg->walk, sg->walk.expect_seq, 0,
								"a row is not sealed: its chain columns are NULL");
			else if (!sl.at_ok)
				av_walk_problem(&sg->walk, sl.seq, 0,
								"chain_at of chain_seq %lld is not a finite timestamp", (long long) sl.seq);
			else
				av_walk_problem(&sg->walk, sl.seq, 0,
								"chain_prev or chain_hash of chain_seq %lld is not 32 bytes", (long long) sl.seq);
		}
		else
			av_walk_row(&sg->walk, sl.seq, sl.at_us, sl.prev, sl.hash);
		av_segment_line_free(&sl);
	}
	if (ferror(f))
		av_die("could not read segment file \"%s\"", opt->segment);
	fclose(f);
	free(line);
	if (!trailer)
		av_die("segment file \"%s\" has no trailer line (truncated)", opt->segment);

	clock_gettime(CLOCK_MONOTONIC, &ts1);
	r->seconds = (double) (ts1.tv_sec - ts0.tv_sec) + (double) (ts1.tv_nsec - ts0.tv_nsec) / 1e9;
	for (int i = 0; i < header.nlanes; i++)
	{
		SegLane    *sg = &lanes[i];
		AvLane	   *al = av_result_add_lane(r);
		int			past;

		past = 0;
		for (int k = sg->walk.exp_pos; k < sg->walk.nexp; k++)
			if (sg->walk.exp[k].seq > sg->walk.last_seq)
				past++;
		av_walk_finish(&sg->walk, false);
		if (past > 0 && !sg->walk.bad)
			av_result_warn(r, "lane %d: %d checkpoint point(s) lie past the segment's last row (chain_seq %lld): not checked here",
						   sg->head.lane, past, (long long) sg->walk.last_seq);
		al->table = av_strdup(header.table);
		al->lane = sg->head.lane;
		memcpy(al->genesis, sg->head.genesis, 32);
		al->start_seq = sg->head.start_seq;
		al->archived_seq = sg->head.start_seq;
		al->live_rows = sg->rows;
		al->head_seq = sg->walk.last_seq;
		memcpy(al->head_hash, sg->walk.prev, 32);
		al->checkpoints = sg->nexp;
		al->intact = !sg->walk.bad;
		r->rows += sg->rows;
		r->redactions += sg->walk.redacted;
		if (sg->walk.bad)
			av_result_fail(r, header.table, sg->head.lane, true, sg->walk.bad_seq,
						   sg->walk.bad_checkpoint, "%s", sg->walk.problem);
		av_walk_free(&sg->walk);
	}
	for (int f2 = 0; f2 < opt->npublished; f2++)
	{
		const AvPayload *p = &opt->published[f2].exp.parsed;
		bool		any = false;

		for (int i = 0; i < p->nlanes; i++)
			for (int k = 0; k < header.nlanes; k++)
				any |= memcmp(p->lanes[i].genesis, header.lanes[k].genesis, 32) == 0;
		if (!any)
			av_result_warn(r, "checkpoint file %s records none of the segment's lanes",
						   opt->published[f2].path);
	}
	av_hasher_free(&h);
	free(names);
	free(lens);
	free(lanes);
	av_segment_line_free(&header);
}
