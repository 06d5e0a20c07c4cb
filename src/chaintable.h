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

/* Where one lane starts, as audit_chain.chains records it */
typedef struct AcLaneStart
{
	int64		seq;			/* archived_seq */
	uint8		hash[AC_HASH_LEN];	/* COALESCE(archived_hash, genesis) */
	bool		valid;			/* the hash is 32 bytes */
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
extern List *ac_registry_tables(void);
extern AcTableProblem *ac_chained_table_problem(Oid relid, LOCKMODE lockmode,
												int *nlanes);
extern void ac_raise_table_problem(const AcTableProblem *p) pg_attribute_noreturn();
extern int	ac_check_chained_table(Oid relid, LOCKMODE lockmode);
extern void ac_check_chain_columns(Relation rel);
extern Relation ac_open_chained_table(Oid relid, LOCKMODE lockmode, int *nlanes);
extern List *ac_chain_leaves(Oid root);

#endif							/* AUDIT_CHAIN_CHAINTABLE_H */
