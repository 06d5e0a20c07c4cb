/*-------------------------------------------------------------------------
 *
 * lane.h
 *	  Lane locks and lane heads of chained tables.
 *
 * IDENTIFICATION
 *	  src/lane.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_CHAIN_LANE_H
#define AUDIT_CHAIN_LANE_H

#include "access/xact.h"
#include "nodes/pg_list.h"
#include "utils/relcache.h"

#include "hash.h"

#define AC_MAX_LANES		64

/*
 * The lane this transaction holds on one chained table, and its head.
 *
 * The lane lock is held to the end of the transaction (or of the
 * subtransaction that took it, if that one aborts), so while we hold it
 * nobody else can extend the lane and the cached head stays right.
 */
typedef struct LaneState
{
	Oid			root;			/* hash key: the chained table */
	int16		lane;			/* lane held */
	SubTransactionId lock_subid;	/* subtransaction owning the lock */
	bool		head_valid;		/* head_seq/head_hash are current */
	int64		head_seq;		/* last seq in the lane */
	uint8		head_hash[AC_HASH_LEN]; /* its chain_hash */
	int64		base_seq;		/* head when the lock was taken */
} LaneState;

extern void ac_lane_init(void);
extern void ac_lane_at_eoxact(bool is_commit);
extern void ac_lane_at_eosubxact(bool is_commit, SubTransactionId mySubid,
								 SubTransactionId parentSubid);
extern void ac_lane_relcache_callback(Datum arg, Oid relid);
extern LaneState *ac_lane_acquire(Oid root, int lanes, int forced_lane);
extern void ac_lane_forget(Oid root);
extern void ac_lane_advance(LaneState *state, int64 seq, const uint8 *hash);
extern void ac_lane_boundary(Oid root, int16 lane, int64 *seq, uint8 *hash);
extern bool ac_lane_read_head(Oid root, int16 lane, int64 after_seq,
							  int64 *seq, uint8 *hash);
extern bool ac_lane_read_head_at(Oid root, int16 lane, int64 after_seq,
								 int64 *seq, uint8 *hash, TimestampTz *at);
extern List *ac_lane_held(void);
extern int64 ac_lane_sealed(LaneState *state);
extern int64 ac_lane_count_rows(Oid root, int16 lane, int64 after_seq);

#endif							/* AUDIT_CHAIN_LANE_H */
