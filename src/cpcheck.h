/*-------------------------------------------------------------------------
 *
 * cpcheck.h
 *	  verify_chain()'s check of the checkpoints: every stored one, and the
 *	  published ones given to it, and what they say each lane must hold.
 *
 * IDENTIFICATION
 *	  src/cpcheck.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_CHAIN_CPCHECK_H
#define AUDIT_CHAIN_CPCHECK_H

#include "utils/hsearch.h"

#include "hash.h"

/* Which checkpoint says so: a stored one, or a published document */
typedef struct AcCpLabel
{
	int64		id;
	bool		published;
	bool		foreign;		/* published by the publisher of replica
								 * copies (protect_replica()) */
} AcCpLabel;

/* What a point of a lane is in the checkpoint that recorded it */
#define AC_POINT_HEAD		'h'
#define AC_POINT_START		's'	/* archive boundary */
#define AC_POINT_PURGE		'p'	/* purge boundary */

/* A row (seq, hash) that a checkpoint says the lane holds */
typedef struct AcExpPoint
{
	int64		seq;
	uint8		hash[AC_HASH_LEN];
	bool		has_at;			/* a head with live rows: its chain_at */
	int64		at_us;			/* microseconds since 1970 */
	char		kind;			/* AC_POINT_* */
	AcCpLabel	cp;
} AcExpPoint;

/* What every checkpoint says of one registered lane */
typedef struct AcLaneExpect
{
	uint8		genesis[AC_HASH_LEN];	/* hash key */
	Oid			root;
	int16		lane;
	bool		replica;		/* a replica copy's lane */
	int			npoints;		/* sorted by seq, one per seq, after loading */
	int			maxpoints;
	AcExpPoint *points;
	int			last[3];		/* while loading: last point of each kind */
	/* the highest boundaries recorded: they only move forward */
	bool		has_bounds;
	int64		max_start_seq;
	AcCpLabel	max_start_cp;
	int64		max_purged_seq;
	AcCpLabel	max_purged_cp;
	/* a checkpoint recorded another genesis for this table's lane */
	bool		genesis_changed;
	AcCpLabel	genesis_cp;
	/* while loading: the newest stored checkpoints with either genesis */
	int64		stored_match_id;	/* 0: none */
	int64		stored_mismatch_id;
} AcLaneExpect;

/* The checkpoints of one verify_chain() call */
typedef struct AcCheckpointCheck
{
	MemoryContext cxt;			/* where all of this lives */
	HTAB	   *by_genesis;		/* AcLaneExpect of every registered lane */
	int64		checked;		/* checkpoints checked, stored and published */
	bool		any;			/* any checkpoint at all */
	bool		bad;
	int64		first_bad_id;
	char	   *problem;		/* the first problem found */
	int			nproblems;
} AcCheckpointCheck;

extern AcCheckpointCheck *ac_check_checkpoints(bool has_published,
											   Datum published,
											   const char *trusted_key);
extern AcLaneExpect *ac_lane_expect(AcCheckpointCheck *cc,
									const uint8 *genesis);
extern char *ac_cp_label(AcCpLabel cp);

#endif							/* AUDIT_CHAIN_CPCHECK_H */
