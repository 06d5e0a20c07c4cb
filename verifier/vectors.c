/*-------------------------------------------------------------------------
 *
 * vectors.c
 *	  --test-vectors FILE: reproduce every byte of the committed test
 *	  vectors (doc/hash-format.md section 7) with the verifier's own code;
 *	  --test-timestamps: parse "text<TAB>microseconds" lines (the server's
 *	  own answers) with the verifier's timestamptz parser.
 *
 * Both are run by test/verifier/run.sh.  They use the very functions the
 * verification uses (rowhash.c, util.c), so a vector that does not
 * reproduce is a verifier that would call an intact row tampered.
 *
 * IDENTIFICATION
 *	  verifier/vectors.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rowhash.h"
#include "util.h"
#include "vectors.h"

/* a hex member of 32 bytes into out */
static bool
hex_member(json_t *obj, const char *key, uint8_t *out)
{
	json_t	   *v = json_object_get(obj, key);

	return json_is_string(v) &&
		av_unhex(json_string_value(v), json_string_length(v), out, 32);
}

/*
 * av_test_vectors
 *		Check every col_digest, every chain_prev link and every chain_hash of
 *		the vectors file at path, and round-trip each chain_at through the
 *		timestamptz text.  Prints what it checked; returns the exit status
 *		(0 all reproduced, 1 a mismatch, 2 the file is unreadable).
 */
int
av_test_vectors(const char *path)
{
	json_error_t jerr;
	json_t	   *root = json_load_file(path, 0, &jerr);
	json_t	   *rows;
	uint8_t		genesis[32];
	uint8_t		prev[32];
	int			bad = 0;
	int			ndigests = 0;
	size_t		r;

	if (root == NULL)
	{
		fprintf(stderr, "audit_chain_verify: could not read test vectors \"%s\": %s\n", path, jerr.text);
		return 2;
	}
	rows = json_object_get(root, "rows");
	if (!hex_member(root, "genesis", genesis) || !json_is_array(rows) ||
		json_array_size(rows) == 0)
	{
		fprintf(stderr, "audit_chain_verify: \"%s\" has no genesis or no rows\n", path);
		json_decref(root);
		return 2;
	}
	memcpy(prev, genesis, 32);
	for (r = 0; r < json_array_size(rows); r++)
	{
		json_t	   *row = json_array_get(rows, r);
		json_t	   *cols = json_object_get(row, "columns");
		json_t	   *jseq = json_object_get(row, "chain_seq");
		json_t	   *jat = json_object_get(row, "chain_at_unix_micros");
		size_t		ncols = json_array_size(cols);
		const char **names = av_malloc(sizeof(char *) * (ncols + 1));
		size_t	   *lens = av_malloc(sizeof(size_t) * (ncols + 1));
		AvTerm	   *terms = av_malloc(sizeof(AvTerm) * (ncols + 1));
		uint8_t		want_prev[32];
		uint8_t		want_hash[32];
		uint8_t		got[32];
		AvHasher	h;
		char		ts[64];
		int64_t		back;

		if (!json_is_integer(jseq) || !json_is_integer(jat) ||
			!hex_member(row, "chain_prev", want_prev) ||
			!hex_member(row, "chain_hash", want_hash))
		{
			fprintf(stderr, "audit_chain_verify: row %zu of the vectors lacks its chain fields\n", r + 1);
			json_decref(root);
			return 2;
		}
		for (size_t c = 0; c < ncols; c++)
		{
			json_t	   *name = json_object_get(json_array_get(cols, c), "name");

			names[c] = json_string_value(name);
			lens[c] = names[c] ? json_string_length(name) : 0;
			if (names[c] == NULL)
				names[c] = "";
		}
		av_hasher_init(&h, (int) ncols, names, lens);
		for (size_t c = 0; c < ncols; c++)
		{
			json_t	   *col = json_array_get(cols, c);
			json_t	   *text = json_object_get(col, "canonical_text");
			uint8_t		want[32];

			if (json_is_null(text))
			{
				terms[c].kind = AV_TERM_NULL;
				continue;
			}
			terms[c].kind = AV_TERM_TEXT;
			terms[c].text = json_string_value(text);
			terms[c].len = json_string_length(text);
			if (!hex_member(col, "col_digest", want))
			{
				fprintf(stderr, "audit_chain_verify: column %s of row %zu has no col_digest\n", names[c], r + 1);
				json_decref(root);
				return 2;
			}
			av_col_digest(&h, (int) c, terms[c].text, terms[c].len, got);
			ndigests++;
			if (memcmp(got, want, 32) != 0)
			{
				printf("FAIL row %zu column %s: col_digest differs\n", r + 1, names[c]);
				bad++;
			}
		}
		if (memcmp(prev, want_prev, 32) != 0)
		{
			printf("FAIL row %zu: chain_prev is not the genesis or the hash before it\n", r + 1);
			bad++;
		}
		av_row_hash(&h, json_integer_value(jseq), json_integer_value(jat),
					want_prev, terms, got);
		if (memcmp(got, want_hash, 32) != 0)
		{
			printf("FAIL row %zu: chain_hash differs\n", r + 1);
			bad++;
		}
		if (!av_format_timestamptz(json_integer_value(jat), ts, sizeof(ts)) ||
			!av_parse_timestamptz(ts, strlen(ts), &back) ||
			back != json_integer_value(jat))
		{
			printf("FAIL row %zu: chain_at %lld does not round-trip through its text \"%s\"\n",
				   r + 1, (long long) json_integer_value(jat), ts);
			bad++;
		}
		else
			printf("row %lld: chain_at %s, %zu columns, chain_hash reproduced\n",
				   (long long) json_integer_value(jseq), ts, ncols);
		memcpy(prev, want_hash, 32);
		av_hasher_free(&h);
		free(names);
		free(lens);
		free(terms);
	}
	printf("test vectors %s: %zu rows, %d col_digests, %zu chain_hashes: %s\n",
		   path, json_array_size(rows), ndigests, json_array_size(rows),
		   bad ? "MISMATCH" : "every byte reproduced");
	json_decref(root);
	return bad ? 1 : 0;
}

/*
 * av_test_timestamps
 *		Read lines "text<TAB>microseconds" on stdin (the server's text of a
 *		timestamptz and its epoch in microseconds) and check that the
 *		verifier's parser gives the same number for each, and its formatter
 *		the same text.  Returns 0 if every line agrees, 1 otherwise.
 */
int
av_test_timestamps(void)
{
	char		line[256];
	int			n = 0;
	int			bad = 0;

	while (fgets(line, sizeof(line), stdin) != NULL)
	{
		char	   *tab = strchr(line, '\t');
		int64_t		want;
		int64_t		got;
		char		back[64];
		size_t		len;

		if (tab == NULL)
			continue;
		len = strcspn(tab + 1, "\n");
		n++;
		if (!av_parse_int64(tab + 1, len, &want))
		{
			printf("FAIL bad line: %s", line);
			bad++;
			continue;
		}
		if (!av_parse_timestamptz(line, (size_t) (tab - line), &got) || got != want)
		{
			printf("FAIL parse \"%.*s\": want %lld\n", (int) (tab - line), line, (long long) want);
			bad++;
		}
		else if (!av_format_timestamptz(want, back, sizeof(back)) ||
				 strlen(back) != (size_t) (tab - line) ||
				 memcmp(back, line, (size_t) (tab - line)) != 0)
		{
			printf("FAIL format %lld: got \"%s\", want \"%.*s\"\n", (long long) want, back,
				   (int) (tab - line), line);
			bad++;
		}
	}
	printf("timestamps: %d checked, %d wrong\n", n, bad);
	return bad || n == 0 ? 1 : 0;
}
