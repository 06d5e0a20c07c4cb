/*-------------------------------------------------------------------------
 *
 * payload.h
 *	  Parser of a checkpoint payload, version 2 (doc/checkpoints.md
 *	  section 1).
 *
 * Pure: input the payload bytes and their length, output an AvPayload or a
 * one-line message; no libpq, no globals.  The parser checks the syntax
 * and the payload's own consistency (every line ends in a line feed, the
 * fields are what the format says, no table and lane or genesis twice, the end
 * line's count); what the payload says about the data is checked by its
 * callers.  A version 1 payload (audit_chain 1.0, unsigned and without
 * genesis) is recognized and returned with version 1 and no lanes.
 *
 * IDENTIFICATION
 *	  verifier/payload.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AV_PAYLOAD_H
#define AV_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct AvPayloadLane
{
	char	   *table;			/* as in the payload: percent-encoded */
	int			lane;
	uint8_t		genesis[32];
	int64_t		head_seq;
	uint8_t		head_hash[32];
	bool		head_at_set;	/* false: "-", the lane had no live rows */
	int64_t		head_at;		/* microseconds since 1970 */
	int64_t		start_seq;		/* archive boundary */
	uint8_t		start_hash[32];
	int64_t		purged_seq;		/* purge boundary */
	uint8_t		purged_hash[32];
} AvPayloadLane;

typedef struct AvPayload
{
	int			version;		/* 2, or 1 (no lanes parsed) */
	int64_t		checkpoint_id;
	char		created_at[40]; /* as written: YYYY-MM-DDTHH:MM:SS.ffffffZ */
	char	   *database;		/* percent-encoded */
	bool		has_previous;
	uint8_t		previous[32];
	bool		has_key_id;
	uint8_t		key_id[32];
	AvPayloadLane *lanes;
	int			nlanes;
} AvPayload;

extern bool av_payload_parse(const char *data, size_t len, AvPayload *out,
							 char *err);
extern void av_payload_free(AvPayload *p);

#endif							/* AV_PAYLOAD_H */
