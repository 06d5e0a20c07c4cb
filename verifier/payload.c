/*-------------------------------------------------------------------------
 *
 * payload.c
 *	  Parser of a checkpoint payload (see payload.h).
 *
 * IDENTIFICATION
 *	  verifier/payload.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "payload.h"
#include "util.h"

#define MAX_FIELDS 12

/* One line of the payload, split at single spaces */
typedef struct Line
{
	const char *f[MAX_FIELDS];
	size_t		len[MAX_FIELDS];
	int			n;
} Line;

/*
 * next_line
 *		Split the line at *pos into fields; false (with err) if there is no
 *		full line, a field is empty, or there are more than MAX_FIELDS.
 */
static bool
next_line(const char *data, size_t len, size_t *pos, Line *line, int lineno,
		  char *err)
{
	size_t		start = *pos;
	size_t		i;
	size_t		fstart;

	line->n = 0;
	for (i = start; i < len && data[i] != '\n'; i++)
	{
		if (data[i] == '\r' || data[i] == '\0')
		{
			snprintf(err, AV_ERRLEN, "line %d holds a carriage return or a zero byte", lineno);
			return false;
		}
	}
	if (i == len)
	{
		snprintf(err, AV_ERRLEN, "line %d does not end in a line feed: the payload is truncated", lineno);
		return false;
	}
	*pos = i + 1;
	fstart = start;
	for (size_t j = start; j <= i; j++)
	{
		if (j == i || data[j] == ' ')
		{
			if (j == fstart)
			{
				snprintf(err, AV_ERRLEN, "line %d has an empty field (two spaces, or a space at an end)", lineno);
				return false;
			}
			if (line->n == MAX_FIELDS)
			{
				snprintf(err, AV_ERRLEN, "line %d has too many fields", lineno);
				return false;
			}
			line->f[line->n] = data + fstart;
			line->len[line->n] = j - fstart;
			line->n++;
			fstart = j + 1;
		}
	}
	return true;
}

/* does field k of line equal s? */
static bool
field_is(const Line *line, int k, const char *s)
{
	return k < line->n && line->len[k] == strlen(s) &&
		memcmp(line->f[k], s, line->len[k]) == 0;
}

/* a non-negative decimal without leading zeros (0 itself allowed) */
static bool
parse_count(const char *s, size_t len, int64_t *out)
{
	if (len == 0 || s[0] == '-' || (len > 1 && s[0] == '0'))
		return false;
	return av_parse_int64(s, len, out);
}

/*
 * valid_name
 *		A percent-encoded name: A-Z a-z 0-9 _ and %XX (upper-case hex), and
 *		with dot, exactly one unencoded '.' between two non-empty parts.
 */
static bool
valid_name(const char *s, size_t len, bool dotted)
{
	int			dots = 0;
	size_t		part = 0;

	for (size_t i = 0; i < len; i++)
	{
		char		c = s[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '_')
			part++;
		else if (c == '%' && i + 2 < len &&
				 ((s[i + 1] >= '0' && s[i + 1] <= '9') || (s[i + 1] >= 'A' && s[i + 1] <= 'F')) &&
				 ((s[i + 2] >= '0' && s[i + 2] <= '9') || (s[i + 2] >= 'A' && s[i + 2] <= 'F')))
		{
			i += 2;
			part++;
		}
		else if (c == '.' && dotted && part > 0)
		{
			dots++;
			part = 0;
		}
		else
			return false;
	}
	return part > 0 && dots == (dotted ? 1 : 0);
}

/* YYYY-MM-DDTHH:MM:SS.ffffffZ, digits where digits go */
static bool
valid_created_at(const char *s, size_t len)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";

	if (len != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; i < len; i++)
	{
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return false;
	}
	return true;
}

/* a 64-hex-digit hash in lower case */
static bool
parse_hash(const char *s, size_t len, uint8_t *out)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] >= 'A' && s[i] <= 'F')
			return false;
	return av_unhex(s, len, out, 32);
}

/*
 * compare_lanes, compare_genesis
 *		qsort orders of lane lines: by table as bytes then lane, and by
 *		genesis.  A payload is written sorted by table and lane, but the
 *		parser does not rely on it: it sorts to find a lane or a genesis
 *		that is there twice.
 */
static int
compare_lanes(const void *pa, const void *pb)
{
	const AvPayloadLane *a = pa;
	const AvPayloadLane *b = pb;
	int			c = strcmp(a->table, b->table);

	if (c != 0)
		return c;
	return a->lane < b->lane ? -1 : a->lane > b->lane;
}

static int
compare_genesis(const void *pa, const void *pb)
{
	return memcmp(((const AvPayloadLane *) pa)->genesis,
				  ((const AvPayloadLane *) pb)->genesis, 32);
}

/*
 * has_duplicates
 *		Does a table and lane, or a genesis, appear on two lane lines?
 */
static bool
has_duplicates(const AvPayload *p)
{
	AvPayloadLane *copy;
	bool		dup = false;

	if (p->nlanes < 2)
		return false;
	copy = av_malloc(sizeof(AvPayloadLane) * (size_t) p->nlanes);
	memcpy(copy, p->lanes, sizeof(AvPayloadLane) * (size_t) p->nlanes);
	qsort(copy, (size_t) p->nlanes, sizeof(AvPayloadLane), compare_lanes);
	for (int i = 1; i < p->nlanes && !dup; i++)
		dup = compare_lanes(&copy[i - 1], &copy[i]) == 0;
	qsort(copy, (size_t) p->nlanes, sizeof(AvPayloadLane), compare_genesis);
	for (int i = 1; i < p->nlanes && !dup; i++)
		dup = compare_genesis(&copy[i - 1], &copy[i]) == 0;
	free(copy);
	return dup;
}

/*
 * parse_lane
 *		A "lane" line into l.
 */
static bool
parse_lane(const Line *line, int lineno, AvPayloadLane *l, char *err)
{
	int64_t		v;

	if (line->n != 11)
	{
		snprintf(err, AV_ERRLEN, "line %d: a lane line has 11 fields, this one %d", lineno, line->n);
		return false;
	}
	if (!valid_name(line->f[1], line->len[1], true))
	{
		snprintf(err, AV_ERRLEN, "line %d: the table name is not a percent-encoded schema.name", lineno);
		return false;
	}
	if (!parse_count(line->f[2], line->len[2], &v) || v > 63)
	{
		snprintf(err, AV_ERRLEN, "line %d: the lane number is not 0 to 63", lineno);
		return false;
	}
	l->lane = (int) v;
	if (!parse_hash(line->f[3], line->len[3], l->genesis) ||
		!parse_hash(line->f[5], line->len[5], l->head_hash) ||
		!parse_hash(line->f[8], line->len[8], l->start_hash) ||
		!parse_hash(line->f[10], line->len[10], l->purged_hash))
	{
		snprintf(err, AV_ERRLEN, "line %d: a hash is not 64 lower-case hex digits", lineno);
		return false;
	}
	if (!parse_count(line->f[4], line->len[4], &l->head_seq) ||
		!parse_count(line->f[7], line->len[7], &l->start_seq) ||
		!parse_count(line->f[9], line->len[9], &l->purged_seq))
	{
		snprintf(err, AV_ERRLEN, "line %d: a seq is not a decimal number", lineno);
		return false;
	}
	if (line->len[6] == 1 && line->f[6][0] == '-')
		l->head_at_set = false;
	else if (av_parse_int64(line->f[6], line->len[6], &l->head_at) &&
			 !(line->len[6] > 1 && line->f[6][0] == '0') &&
			 !(line->len[6] > 2 && line->f[6][0] == '-' && line->f[6][1] == '0') &&
			 !(line->len[6] == 2 && line->f[6][0] == '-' && line->f[6][1] == '0'))
		l->head_at_set = true;
	else
	{
		snprintf(err, AV_ERRLEN, "line %d: the head's chain_at is neither a decimal number nor \"-\"", lineno);
		return false;
	}
	if (l->purged_seq > l->start_seq || l->start_seq > l->head_seq)
	{
		snprintf(err, AV_ERRLEN, "line %d: the purge boundary, the archive boundary and the head are not in order", lineno);
		return false;
	}
	if (!l->head_at_set && l->head_seq != l->start_seq)
	{
		snprintf(err, AV_ERRLEN, "line %d: a head with no chain_at must be the lane's start point", lineno);
		return false;
	}
	l->table = av_strndup(line->f[1], line->len[1]);
	return true;
}

/*
 * av_payload_parse
 *		Parse a payload (see payload.h).  On failure out holds nothing that
 *		needs freeing.
 */
bool
av_payload_parse(const char *data, size_t len, AvPayload *out, char *err)
{
	size_t		pos = 0;
	Line		line;
	int			lineno = 1;
	int			cap = 0;
	int64_t		end_count;

	memset(out, 0, sizeof(*out));
	if (!next_line(data, len, &pos, &line, lineno, err))
		return false;
	if (field_is(&line, 0, "audit_chain/checkpoint/v1") && line.n == 1)
		out->version = 1;
	else if (field_is(&line, 0, "audit_chain/checkpoint/v2") && line.n == 1)
		out->version = 2;
	else
	{
		snprintf(err, AV_ERRLEN, "not a checkpoint payload: the first line is not \"audit_chain/checkpoint/v2\"");
		return false;
	}

	lineno++;
	if (!next_line(data, len, &pos, &line, lineno, err))
		return false;
	if (!field_is(&line, 0, "checkpoint_id") || line.n != 2 ||
		!parse_count(line.f[1], line.len[1], &out->checkpoint_id) ||
		out->checkpoint_id == 0)
	{
		snprintf(err, AV_ERRLEN, "line 2 is not \"checkpoint_id <id>\"");
		return false;
	}
	lineno++;
	if (!next_line(data, len, &pos, &line, lineno, err))
		return false;
	if (!field_is(&line, 0, "created_at") || line.n != 2 ||
		!valid_created_at(line.f[1], line.len[1]))
	{
		snprintf(err, AV_ERRLEN, "line 3 is not \"created_at YYYY-MM-DDTHH:MM:SS.ffffffZ\"");
		return false;
	}
	memcpy(out->created_at, line.f[1], line.len[1]);
	out->created_at[line.len[1]] = '\0';
	if (out->version == 1)
		return true;			/* the lines of v1 are not parsed */

	lineno++;
	if (!next_line(data, len, &pos, &line, lineno, err))
		return false;
	if (!field_is(&line, 0, "database") || line.n != 2 ||
		!valid_name(line.f[1], line.len[1], false))
	{
		snprintf(err, AV_ERRLEN, "line 4 is not \"database <percent-encoded name>\"");
		return false;
	}
	out->database = av_strndup(line.f[1], line.len[1]);

	lineno++;
	if (!next_line(data, len, &pos, &line, lineno, err))
		goto fail;
	if (!field_is(&line, 0, "previous") || line.n != 2)
	{
		snprintf(err, AV_ERRLEN, "line 5 is not \"previous <hex or none>\"");
		goto fail;
	}
	if (!field_is(&line, 1, "none"))
	{
		if (!parse_hash(line.f[1], line.len[1], out->previous))
		{
			snprintf(err, AV_ERRLEN, "line 5: previous is neither 64 lower-case hex digits nor \"none\"");
			goto fail;
		}
		out->has_previous = true;
	}

	lineno++;
	if (!next_line(data, len, &pos, &line, lineno, err))
		goto fail;
	if (!field_is(&line, 0, "key_id") || line.n != 2)
	{
		snprintf(err, AV_ERRLEN, "line 6 is not \"key_id <hex or none>\"");
		goto fail;
	}
	if (!field_is(&line, 1, "none"))
	{
		if (!parse_hash(line.f[1], line.len[1], out->key_id))
		{
			snprintf(err, AV_ERRLEN, "line 6: key_id is neither 64 lower-case hex digits nor \"none\"");
			goto fail;
		}
		out->has_key_id = true;
	}

	for (;;)
	{
		lineno++;
		if (!next_line(data, len, &pos, &line, lineno, err))
			goto fail;
		if (field_is(&line, 0, "end"))
			break;
		if (!field_is(&line, 0, "lane"))
		{
			snprintf(err, AV_ERRLEN, "line %d is neither a lane line nor the end line", lineno);
			goto fail;
		}
		if (out->nlanes == cap)
		{
			cap = cap ? 2 * cap : 16;
			out->lanes = av_realloc(out->lanes, sizeof(AvPayloadLane) * (size_t) cap);
		}
		memset(&out->lanes[out->nlanes], 0, sizeof(AvPayloadLane));
		if (!parse_lane(&line, lineno, &out->lanes[out->nlanes], err))
			goto fail;
		out->nlanes++;
	}
	if (line.n != 2 || !parse_count(line.f[1], line.len[1], &end_count))
	{
		snprintf(err, AV_ERRLEN, "line %d is not \"end <number of lane lines>\"", lineno);
		goto fail;
	}
	if (end_count != out->nlanes)
	{
		snprintf(err, AV_ERRLEN, "the end line counts %lld lane lines, the payload has %d",
				 (long long) end_count, out->nlanes);
		goto fail;
	}
	if (pos != len)
	{
		snprintf(err, AV_ERRLEN, "bytes follow the end line");
		goto fail;
	}
	if (has_duplicates(out))
	{
		snprintf(err, AV_ERRLEN, "two lane lines name the same table and lane, or the same genesis");
		goto fail;
	}
	return true;

fail:
	av_payload_free(out);
	return false;
}

/*
 * av_payload_free
 *		Free what a parsed payload holds.
 */
void
av_payload_free(AvPayload *p)
{
	for (int i = 0; i < p->nlanes; i++)
		free(p->lanes[i].table);
	free(p->lanes);
	free(p->database);
	p->lanes = NULL;
	p->database = NULL;
	p->nlanes = 0;
}
