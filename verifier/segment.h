/*-------------------------------------------------------------------------
 *
 * segment.h
 *	  Parser of one line of a segment file: the JSON Lines file that
 *	  audit_chain.export_segment() writes (doc/checkpoints.md section 4).
 *
 * Pure: input one line (without its line feed) and its length, output an
 * AvSegLine (the header, a row or the trailer) or a one-line message; no
 * libpq, no globals.  The parser checks each line on its own (members,
 * types, hex, the row's chain_at text); how the lines fit together (rows in
 * seq order, links, the trailer's counts) is checked by its caller
 * (segfile.c).
 *
 * IDENTIFICATION
 *	  verifier/segment.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AV_SEGMENT_H
#define AV_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum AvSegKind
{
	AV_SEG_HEADER,
	AV_SEG_ROW,
	AV_SEG_TRAILER
} AvSegKind;

typedef struct AvSegColumn
{
	char	   *name;
	size_t		name_len;
	char	   *type;
} AvSegColumn;

/* a lane of the header: where its first exported row links to */
typedef struct AvSegLane
{
	int			lane;
	uint8_t		genesis[32];
	int64_t		start_seq;
	uint8_t		start_hash[32];
} AvSegLane;

/* a lane of the trailer */
typedef struct AvSegLaneEnd
{
	int			lane;
	int64_t		rows;
	int64_t		last_seq;
	uint8_t		last_hash[32];
} AvSegLaneEnd;

typedef enum AvSegValueKind
{
	AV_SEG_NULL,
	AV_SEG_TEXT,
	AV_SEG_REDACTED
} AvSegValueKind;

typedef struct AvSegValue
{
	AvSegValueKind kind;
	char	   *text;			/* AV_SEG_TEXT */
	size_t		len;
	uint8_t		digest[32];		/* AV_SEG_REDACTED: the kept col_digest */
} AvSegValue;

typedef struct AvSegLine
{
	AvSegKind	kind;

	/* AV_SEG_HEADER */
	char	   *table;
	AvSegColumn *columns;
	int			ncolumns;
	AvSegLane  *lanes;
	int			nlanes;

	/* AV_SEG_ROW (chain columns as stored: a tampered row still parses) */
	int			lane;
	bool		seq_null;		/* "seq": null */
	int64_t		seq;
	bool		at_ok;			/* "at" is a finite timestamptz's text */
	int64_t		at_us;			/* chain_at, parsed from "at" */
	bool		prev_ok;		/* "prev" is 32 bytes (not null, not another
								 * length) */
	uint8_t		prev[32];
	bool		hash_ok;
	uint8_t		hash[32];
	AvSegValue *values;
	int			nvalues;

	/* AV_SEG_TRAILER */
	int64_t		rows;
	AvSegLaneEnd *ends;
	int			nends;
} AvSegLine;

extern bool av_segment_parse_line(const char *data, size_t len,
								  AvSegLine *out, char *err);
extern void av_segment_line_free(AvSegLine *line);

#endif							/* AV_SEGMENT_H */
