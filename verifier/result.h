/*-------------------------------------------------------------------------
 *
 * result.h
 *	  The result model of audit_chain_verify: what was checked and what
 *	  failed.
 *
 * One AvResult per run.  It lists every lane that was walked (AvLane), every
 * checkpoint that was checked (AvCheckpoint: stored in the database or a
 * published file given with --checkpoint), and every failure (AvFailure:
 * which table, lane and seq, and the problem in a sentence).  The human
 * summary, --json and a later --html are all printed from it (report.c), so
 * they cannot disagree.
 *
 * Exit status: 0 when there is no failure, 1 when there is one (the data or
 * its evidence was tampered with), 2 for an error that stopped the run
 * (usage, connection, malformed input, wrong key): errors are not failures
 * and never reach this struct; they are printed on stderr and end the run.
 *
 * IDENTIFICATION
 *	  verifier/result.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AV_RESULT_H
#define AV_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AV_HASH_LEN 32

#define AV_EXIT_INTACT		0
#define AV_EXIT_TAMPERED	1
#define AV_EXIT_ERROR		2

/* One failure: what is wrong, and where */
typedef struct AvFailure
{
	char	   *table;			/* schema.name as in checkpoint payloads, or
								 * NULL: not about one table */
	int			lane;			/* -1: not about one lane */
	bool		has_seq;
	int64_t		seq;			/* the first seq that is wrong */
	int64_t		checkpoint_id;	/* 0: not about a checkpoint */
	char	   *problem;		/* one sentence */
} AvFailure;

/* One lane that was walked */
typedef struct AvLane
{
	char	   *table;			/* schema.name, percent-encoded as in a
								 * payload (doc/checkpoints.md section 1) */
	int			lane;
	uint8_t		genesis[AV_HASH_LEN];
	int64_t		start_seq;		/* where its rows start: the purge boundary */
	int64_t		archived_seq;	/* where the live lane starts */
	int64_t		archived_rows;	/* rows read from the archive table */
	int64_t		live_rows;		/* rows read from the live table */
	int64_t		head_seq;		/* the last seq that verified */
	uint8_t		head_hash[AV_HASH_LEN];
	int			checkpoints;	/* checkpoint heads checked on this lane */
	bool		intact;
	double		seconds;		/* wall time of its walk */
} AvLane;

/* One checkpoint that was checked */
typedef struct AvCheckpoint
{
	int64_t		id;
	char	   *created_at;		/* as the payload says */
	char	   *source;			/* "database", or the file name */
	bool		is_signed;
	bool		signature_ok;	/* when is_signed */
	bool		trusted_key;	/* verified with a --public-key key */
	char		key_id[2 * AV_HASH_LEN + 1];	/* hex, or "" */
	int			lanes;			/* lane lines in its payload */
	bool		intact;			/* no failure names it */
} AvCheckpoint;

/* The whole run */
typedef struct AvResult
{
	const char *mode;			/* "database" or "segment" */
	char	   *database;		/* database name, or the segment file */
	bool		shared_snapshot;	/* every lane read in one snapshot */
	int			jobs;

	AvLane	   *lanes;
	int			nlanes;
	int			lanes_cap;
	AvCheckpoint *checkpoints;
	int			ncheckpoints;
	int			checkpoints_cap;
	AvFailure  *failures;
	int			nfailures;
	int			failures_cap;
	char	  **warnings;
	int			nwarnings;
	int			warnings_cap;

	int64_t		rows;			/* rows whose hash was recomputed */
	int64_t		signatures;		/* signatures verified */
	int64_t		redactions;		/* redacted columns whose kept digest was used */
	double		seconds;
} AvResult;

/* result.c */
extern void av_result_init(AvResult *r, const char *mode);
extern AvLane *av_result_add_lane(AvResult *r);
extern AvCheckpoint *av_result_add_checkpoint(AvResult *r);
extern void av_result_fail(AvResult *r, const char *table, int lane,
						   bool has_seq, int64_t seq, int64_t checkpoint_id,
						   const char *fmt,...)
			__attribute__((format(printf, 7, 8)));
extern void av_result_warn(AvResult *r, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
extern int	av_result_exit_code(const AvResult *r);

#endif							/* AV_RESULT_H */
