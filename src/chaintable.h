/*-------------------------------------------------------------------------
 *
 * chaintable.h
 *	  Finding and checking chained tables: the registry, the relation, its
 *	  leaves and their chain columns.
 *
 * IDENTIFICATION
 *	  src/chaintable.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_CHAIN_CHAINTABLE_H
#define AUDIT_CHAIN_CHAINTABLE_H

#include "nodes/pg_list.h"
#include "storage/lockdefs.h"
#include "utils/relcache.h"
#include "utils/snapshot.h"

#include "hash.h"

/*
 * The triggers the extension puts on tables.  protect() makes the seal
 * trigger on a chained table (its partitions get clones) and the TRUNCATE
 * refusal on the table and on each partition; track() makes the tracking
 * trigger.  All their names start with AC_TRIGGER_PREFIX.  BEFORE ROW
 * triggers fire in name order, and the seal trigger's name sorts after
 * ordinary names, so that the row it hashes is the row stored.
 */
#define AC_TRIGGER_PREFIX	"zz_audit_chain_"
#define AC_SEAL_TRIGGER		"zz_audit_chain_seal"
#define AC_TRUNCATE_TRIGGER	"zz_audit_chain_truncate"
#define AC_TRACK_TRIGGER	"zz_audit_chain_track"

/* Where one lane starts, as audit_chain.chains records it */
typedef struct AcLaneStart
{
	int64		seq;			/* archived_seq */
	uint8		hash[AC_HASH_LEN];	/* COALESCE(archived_hash, genesis) */
	bool		valid;			/* the three hashes are 32 bytes */
	uint8		genesis[AC_HASH_LEN];
	bool		archived_hash_set;	/* archived_hash is not NULL */
	int64		purged_seq;		/* where the archived segment starts */
	uint8		purged_hash[AC_HASH_LEN];	/* COALESCE(purged_hash, genesis) */
	bool		purged_hash_set;	/* purged_hash is not NULL */
	bool		replica;		/* replica_of is set: a copy of a publisher's
								 * lane (audit_chain.protect_replica()) */
} AcLaneStart;

/*
 * Why a relation is not a chained table that can be read: what
 * ac_check_chained_table() would raise.
 */
typedef struct AcTableProblem
{
	int			sqlerrcode;
	char	   *message;
	char	   *detail;
	char	   *hint;
} AcTableProblem;

extern int	ac_registry_lanes(Oid root, Snapshot snapshot, AcLaneStart *starts,
							  bool *numbered);
extern bool ac_registry_is_replica(Oid root, Snapshot snapshot);
extern List *ac_registry_tables_as_of(Snapshot snapshot, bool missing_ok);
extern List *ac_registry_tables(void);
extern AcTableProblem *ac_chained_table_problem(Oid relid, LOCKMODE lockmode,
												int *nlanes);
extern void ac_raise_table_problem(const AcTableProblem *p)
			pg_attribute_noreturn();
extern int	ac_check_chained_table(Oid relid, LOCKMODE lockmode);
extern void ac_check_chain_columns(Relation rel);
extern Relation ac_open_chained_table(Oid relid, LOCKMODE lockmode, int *nlanes);
extern List *ac_chain_leaves(Oid root);
extern Oid	ac_chain_index(Relation rel, AttrNumber *att_lane,
						   AttrNumber *att_seq, AttrNumber *att_hash,
						   bool missing_ok);
extern Oid	ac_chain_root(Relation rel);
extern Oid	ac_partition_ancestor(Oid relid,
								  bool (*test) (Oid relid, void *arg),
								  void *arg);
extern bool ac_is_chain_trigger(const char *tgname);
extern bool ac_trigger_fires_after_seal(int16 tgtype, const char *tgname,
										const char *seal_name);

#endif							/* AUDIT_CHAIN_CHAINTABLE_H */
