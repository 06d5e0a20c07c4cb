/*-------------------------------------------------------------------------
 *
 * checkpoint.h
 *	  Checkpoints: the signed payload v2 of every lane's head and
 *	  boundaries (doc/checkpoints.md), taking them and reading them back.
 *
 * IDENTIFICATION
 *	  src/checkpoint.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_CHAIN_CHECKPOINT_H
#define AUDIT_CHAIN_CHECKPOINT_H

#include "lib/stringinfo.h"
#include "nodes/pg_list.h"

#include "hash.h"

#define AC_CHECKPOINT_V2	"audit_chain/checkpoint/v2"
#define AC_EXPORT_V1		"audit_chain/checkpoint-export/v1"

/* One lane line of a payload */
typedef struct AcCheckpointLane
{
	char	   *tbl;			/* schema.name, percent-encoded */
	Oid			root;			/* the table (checkpoint() only) */
	int			lane;
	uint8		genesis[AC_HASH_LEN];
	int64		head_seq;
	uint8		head_hash[AC_HASH_LEN];
	bool		head_has_at;	/* false: "-" (no live rows) */
	int64		head_at_us;		/* chain_at, microseconds since 1970 */
	int64		start_seq;		/* archive boundary */
	uint8		start_hash[AC_HASH_LEN];
	int64		purged_seq;		/* purge boundary */
	uint8		purged_hash[AC_HASH_LEN];
} AcCheckpointLane;

/* A parsed payload */
typedef struct AcCheckpointPayload
{
	int64		checkpoint_id;
	char	   *created_at;		/* as written: YYYY-MM-DDTHH:MM:SS.ffffffZ */
	char	   *database;		/* percent-encoded */
	bool		has_previous;
	uint8		previous[AC_HASH_LEN];
	bool		has_key_id;
	uint8		key_id[AC_HASH_LEN];
	int			nlanes;
	AcCheckpointLane *lanes;
} AcCheckpointPayload;

extern void ac_encode_name(StringInfo buf, const char *name);
extern char *ac_encoded_relname(Oid relid);
extern char *ac_checkpoint_time(TimestampTz t);
extern AcCheckpointPayload *ac_parse_checkpoint(const char *data, int len,
												char **why);

#endif							/* AUDIT_CHAIN_CHECKPOINT_H */
