/*-------------------------------------------------------------------------
 *
 * segment.c
 *	  Parser of one line of a segment file (see segment.h).
 *
 * IDENTIFICATION
 *	  verifier/segment.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "segment.h"
#include "util.h"

#define SEGMENT_FORMAT "audit_chain/segment/v1"
#define HASH_FORMAT "audit_chain/v1"

/* a 64-hex-digit string member into out */
static bool
get_hash(json_t *obj, const char *key, uint8_t *out)
{
	json_t	   *v = json_object_get(obj, key);

	return json_is_string(v) &&
		av_unhex(json_string_value(v), json_string_length(v), out, 32);
}

/*
 * get_stored_hash
 *		A chain_prev or chain_hash member as export_segment() writes it: hex
 *		of the stored bytes, of any length, or null.  *ok tells whether it is
 *		32 bytes (into out); false only for a member that is not hex.
 */
static bool
get_stored_hash(json_t *obj, const char *key, uint8_t *out, bool *ok)
{
	json_t	   *v = json_object_get(obj, key);
	const char *s;
	size_t		len;

	*ok = false;
	if (json_is_null(v))
		return true;
	if (!json_is_string(v))
		return false;
	s = json_string_value(v);
	len = json_string_length(v);
	if (len == 64)
	{
		*ok = av_unhex(s, len, out, 32);
		return *ok;
	}
	if (len % 2 != 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
			  (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

/* an integer member in [min, max] into out */
static bool
get_int(json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out)
{
	json_t	   *v = json_object_get(obj, key);

	if (!json_is_integer(v))
		return false;
	if (json_integer_value(v) < min || json_integer_value(v) > max)
		return false;
	*out = json_integer_value(v);
	return true;
}

/*
 * parse_header
 *		The header line: format, hash_format, table, columns, lanes.
 */
static bool
parse_header(json_t *root, AvSegLine *out, char *err)
{
	json_t	   *v = json_object_get(root, "hash_format");
	json_t	   *cols;
	json_t	   *lanes;
	size_t		i;

	out->kind = AV_SEG_HEADER;
	if (!json_is_string(v) || strcmp(json_string_value(v), HASH_FORMAT) != 0)
	{
		snprintf(err, AV_ERRLEN, "the header's \"hash_format\" is not \"%s\"", HASH_FORMAT);
		return false;
	}
	v = json_object_get(root, "table");
	if (!json_is_string(v) || json_string_length(v) == 0 ||
		strspn(json_string_value(v), "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_%.") !=
		json_string_length(v))
	{
		/* percent-encoded (doc/checkpoints.md section 1): it reaches terminals */
		snprintf(err, AV_ERRLEN, "the header's \"table\" is not a percent-encoded schema.name");
		return false;
	}
	out->table = av_strdup(json_string_value(v));
	cols = json_object_get(root, "columns");
	if (!json_is_array(cols) || json_array_size(cols) > 1600)
	{
		snprintf(err, AV_ERRLEN, "the header's \"columns\" is not an array of at most 1600 columns");
		return false;
	}
	out->columns = av_malloc(sizeof(AvSegColumn) * (json_array_size(cols) + 1));
	for (i = 0; i < json_array_size(cols); i++)
	{
		json_t	   *c = json_array_get(cols, i);
		json_t	   *name = json_object_get(c, "name");
		json_t	   *type = json_object_get(c, "type");

		if (!json_is_string(name) || json_string_length(name) == 0 ||
			(type != NULL && !json_is_string(type)))
		{
			snprintf(err, AV_ERRLEN, "column %zu of the header has no \"name\" string", i + 1);
			return false;
		}
		out->columns[i].name = av_strndup(json_string_value(name), json_string_length(name));
		out->columns[i].name_len = json_string_length(name);
		out->columns[i].type = type ? av_strdup(json_string_value(type)) : NULL;
		out->ncolumns++;
	}
	lanes = json_object_get(root, "lanes");
	if (!json_is_array(lanes) || json_array_size(lanes) > 64)
	{
		snprintf(err, AV_ERRLEN, "the header's \"lanes\" is not an array of at most 64 lanes");
		return false;
	}
	out->lanes = av_malloc(sizeof(AvSegLane) * (json_array_size(lanes) + 1));
	for (i = 0; i < json_array_size(lanes); i++)
	{
		json_t	   *l = json_array_get(lanes, i);
		AvSegLane  *sl = &out->lanes[i];
		int64_t		lane;

		if (!get_int(l, "lane", 0, 63, &lane) ||
			!get_hash(l, "genesis", sl->genesis) ||
			!get_int(l, "start_seq", 0, INT64_MAX, &sl->start_seq) ||
			!get_hash(l, "start_hash", sl->start_hash))
		{
			snprintf(err, AV_ERRLEN, "lane %zu of the header lacks \"lane\", \"genesis\", \"start_seq\" or \"start_hash\"", i + 1);
			return false;
		}
		sl->lane = (int) lane;
		for (int k = 0; k < out->nlanes; k++)
			if (out->lanes[k].lane == sl->lane)
			{
				snprintf(err, AV_ERRLEN, "the header lists lane %d twice", sl->lane);
				return false;
			}
		out->nlanes++;
	}
	return true;
}

/*
 * parse_row
 *		A row line: lane, seq, at, prev, hash, values.
 */
static bool
parse_row(json_t *root, AvSegLine *out, char *err)
{
	json_t	   *v;
	json_t	   *vals;
	int64_t		lane;

	out->kind = AV_SEG_ROW;
	if (!get_int(root, "lane", 0, 63, &lane))
	{
		snprintf(err, AV_ERRLEN, "a row has no \"lane\" (0 to 63)");
		return false;
	}
	out->lane = (int) lane;
	v = json_object_get(root, "seq");
	if (json_is_null(v))
		out->seq_null = true;
	else if (!get_int(root, "seq", 0, INT64_MAX, &out->seq))
	{
		snprintf(err, AV_ERRLEN, "a row's \"seq\" is neither a non-negative integer nor null");
		return false;
	}
	v = json_object_get(root, "at");
	if (json_is_string(v))
		out->at_ok = av_parse_timestamptz(json_string_value(v), json_string_length(v), &out->at_us);
	else if (!json_is_null(v))
	{
		snprintf(err, AV_ERRLEN, "row %lld: \"at\" is neither a string nor null", (long long) out->seq);
		return false;
	}
	if (!get_stored_hash(root, "prev", out->prev, &out->prev_ok) ||
		!get_stored_hash(root, "hash", out->hash, &out->hash_ok))
	{
		snprintf(err, AV_ERRLEN, "row %lld: \"prev\" or \"hash\" is neither hex nor null",
				 (long long) out->seq);
		return false;
	}
	vals = json_object_get(root, "values");
	if (!json_is_array(vals) || json_array_size(vals) > 1600)
	{
		snprintf(err, AV_ERRLEN, "row %lld: \"values\" is not an array", (long long) out->seq);
		return false;
	}
	out->values = av_malloc(sizeof(AvSegValue) * (json_array_size(vals) + 1));
	for (size_t i = 0; i < json_array_size(vals); i++)
	{
		json_t	   *e = json_array_get(vals, i);
		AvSegValue *sv = &out->values[i];

		memset(sv, 0, sizeof(*sv));
		out->nvalues++;
		if (json_is_null(e))
			sv->kind = AV_SEG_NULL;
		else if (json_is_string(e))
		{
			sv->kind = AV_SEG_TEXT;
			sv->len = json_string_length(e);
			sv->text = av_strndup(json_string_value(e), sv->len);
		}
		else if (json_is_object(e) && json_object_size(e) == 1 &&
				 get_hash(e, "redacted", sv->digest))
			sv->kind = AV_SEG_REDACTED;
		else
		{
			snprintf(err, AV_ERRLEN, "row %lld: value %zu is neither a string, null nor {\"redacted\": <hex>}",
					 (long long) out->seq, i + 1);
			return false;
		}
	}
	return true;
}

/*
 * parse_trailer
 *		The trailer: end, rows, lanes.
 */
static bool
parse_trailer(json_t *root, AvSegLine *out, char *err)
{
	json_t	   *lanes;

	out->kind = AV_SEG_TRAILER;
	if (!json_is_true(json_object_get(root, "end")) ||
		!get_int(root, "rows", 0, INT64_MAX, &out->rows))
	{
		snprintf(err, AV_ERRLEN, "the trailer has no \"end\": true or no \"rows\" count");
		return false;
	}
	lanes = json_object_get(root, "lanes");
	if (!json_is_array(lanes) || json_array_size(lanes) > 64)
	{
		snprintf(err, AV_ERRLEN, "the trailer's \"lanes\" is not an array of at most 64 lanes");
		return false;
	}
	out->ends = av_malloc(sizeof(AvSegLaneEnd) * (json_array_size(lanes) + 1));
	for (size_t i = 0; i < json_array_size(lanes); i++)
	{
		json_t	   *l = json_array_get(lanes, i);
		AvSegLaneEnd *e = &out->ends[i];
		int64_t		lane;

		if (!get_int(l, "lane", 0, 63, &lane) ||
			!get_int(l, "rows", 0, INT64_MAX, &e->rows) ||
			!get_int(l, "last_seq", 0, INT64_MAX, &e->last_seq) ||
			!get_hash(l, "last_hash", e->last_hash))
		{
			snprintf(err, AV_ERRLEN, "lane %zu of the trailer lacks \"lane\", \"rows\", \"last_seq\" or \"last_hash\"", i + 1);
			return false;
		}
		e->lane = (int) lane;
		out->nends++;
	}
	return true;
}

/*
 * av_segment_parse_line
 *		Parse one line of a segment file (see segment.h).  On failure out
 *		holds nothing that needs freeing.
 */
bool
av_segment_parse_line(const char *data, size_t len, AvSegLine *out, char *err)
{
	json_t	   *root;
	json_error_t jerr;
	bool		ok;

	memset(out, 0, sizeof(*out));
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
	{
		snprintf(err, AV_ERRLEN, "not a JSON object (column %d: %s)", jerr.column, av_printable(jerr.text));
		return false;
	}
	if (!json_is_object(root))
	{
		snprintf(err, AV_ERRLEN, "not a JSON object");
		json_decref(root);
		return false;
	}
	if (json_object_get(root, "format") != NULL)
	{
		json_t	   *f = json_object_get(root, "format");

		if (!json_is_string(f) || strcmp(json_string_value(f), SEGMENT_FORMAT) != 0)
		{
			snprintf(err, AV_ERRLEN, "the header's \"format\" is not \"%s\"", SEGMENT_FORMAT);
			ok = false;
		}
		else
			ok = parse_header(root, out, err);
	}
	else if (json_object_get(root, "end") != NULL)
		ok = parse_trailer(root, out, err);
	else
		ok = parse_row(root, out, err);
	json_decref(root);
	if (!ok)
		av_segment_line_free(out);
	return ok;
}

/*
 * av_segment_line_free
 *		Free what a parsed line holds.
 */
void
av_segment_line_free(AvSegLine *line)
{
	for (int i = 0; i < line->ncolumns; i++)
	{
		free(line->columns[i].name);
		free(line->columns[i].type);
	}
	free(line->columns);
	free(line->lanes);
	for (int i = 0; i < line->nvalues; i++)
		free(line->values[i].text);
	free(line->values);
	free(line->ends);
	free(line->table);
	memset(line, 0, sizeof(*line));
}
