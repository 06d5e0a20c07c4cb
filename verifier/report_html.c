/*-------------------------------------------------------------------------
 *
 * report_html.c
 *	  --html FILE: the result (see result.h) as a one-page HTML report an
 *	  auditor can file.
 *
 * The page is self-contained: inline CSS, no script, no image, no font, no
 * link to anything outside it, so that it renders the same offline, in a
 * mail attachment or in ten years.  It prints on A4 (an @page rule, table
 * headers repeated on each page, rows not split across pages).  From top to
 * bottom: the verdict (INTACT or TAMPERED), what was checked (database or
 * segment file, when, by which program version, the snapshot), every
 * failure with its table, lane and seq, warnings, the lanes, and the
 * checkpoints and their signatures.
 *
 * Every string that reaches the page is HTML-escaped: table names, failure
 * messages and file names come from the database or from files an attacker
 * may have written (a table can be named "<script>...").  Bytes that are not
 * valid UTF-8, and control characters, are shown as U+FFFD.  Table names are
 * shown decoded (doc/checkpoints.md section 1), with the percent-encoded form
 * of the payloads under them when the two differ.
 *
 * The file is written next to its final name and renamed into place when
 * complete, so a run that stops half way leaves no half report behind.
 *
 * IDENTIFICATION
 *	  verifier/report_html.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report.h"
#include "util.h"

/* The style sheet: screen and A4 print */
static const char *const html_css =
"@page { size: A4; margin: 14mm 12mm 16mm 12mm; }\n"
"* { box-sizing: border-box; }\n"
"html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }\n"
"body { font: 9.5pt/1.35 \"DejaVu Sans\", \"Liberation Sans\", Arial, sans-serif;\n"
"  color: #111; background: #fff; margin: 0 auto; padding: 8mm 6mm; max-width: 200mm; }\n"
"h1 { font-size: 14pt; margin: 0 0 2mm 0; }\n"
"h2 { font-size: 11pt; margin: 5mm 0 1.5mm 0; padding-bottom: 0.5mm;\n"
"  border-bottom: 1.5px solid #333; break-after: avoid; page-break-after: avoid; }\n"
".verdict { border: 3px solid; border-radius: 2mm; padding: 3mm 5mm; margin: 0 0 4mm 0;\n"
"  display: flex; align-items: baseline; gap: 5mm; }\n"
".verdict .word { font-size: 24pt; font-weight: bold; letter-spacing: 0.08em; }\n"
".verdict .why { font-size: 10.5pt; }\n"
".intact { color: #0b5d1e; border-color: #0b5d1e; background: #e7f4ea; }\n"
".tampered { color: #8e0b0b; border-color: #8e0b0b; background: #fbe8e8; }\n"
"table { width: 100%; border-collapse: collapse; font-size: 8pt; margin: 0 0 1mm 0; }\n"
"thead { display: table-header-group; }\n"
"tr { break-inside: avoid; page-break-inside: avoid; }\n"
"th { text-align: left; background: #eee; border-bottom: 1px solid #888; padding: 1mm 1.2mm;\n"
"  font-weight: bold; }\n"
"td { border-bottom: 1px solid #ddd; padding: 0.8mm 1.2mm; vertical-align: top;\n"
"  overflow-wrap: break-word; }\n"
"td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }\n"
"td.n { white-space: nowrap; }\n"
".hash { font-family: \"DejaVu Sans Mono\", \"Liberation Mono\", monospace; font-size: 7pt;\n"
"  word-break: break-all; display: inline-block; width: 32.5ch; }\n"
".enc { display: block; color: #555; font-family: \"DejaVu Sans Mono\", monospace;\n"
"  font-size: 6.5pt; word-break: break-all; }\n"
".ok { color: #0b5d1e; font-weight: bold; white-space: nowrap; }\n"
".bad { color: #8e0b0b; font-weight: bold; white-space: nowrap; }\n"
".dim { color: #666; }\n"
"table.facts { font-size: 9pt; }\n"
"table.facts th { width: 32%; background: none; border-bottom: 1px solid #ddd; font-weight: normal;\n"
"  color: #444; }\n"
"table.facts td { font-weight: bold; }\n"
"table.fail td { background: #fdf3f3; }\n"
"ul.warn { margin: 0; padding-left: 5mm; font-size: 8.5pt; }\n"
"footer { margin-top: 5mm; font-size: 7.5pt; color: #555; border-top: 1px solid #ccc;\n"
"  padding-top: 1.5mm; }\n"
"@media print { body { padding: 0; max-width: none; } }\n";

/*
 * utf8_len
 *		The length of the valid UTF-8 sequence at s (n bytes left), or 0 if
 *		the bytes there are not one (overlong forms and surrogates are not).
 */
static int
utf8_len(const unsigned char *s, size_t n)
{
	int			len;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < (size_t) len)
		return 0;
	for (int i = 1; i < len; i++)
	{
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		(cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	/* C1 controls (U+0080..U+009F) are not text either */
	if (cp >= 0x80 && cp <= 0x9f)
		return 0;
	return len;
}

/*
 * put_escn
 *		Write n bytes of s as HTML text: & < > " ' as entities, control
 *		characters and invalid UTF-8 as U+FFFD (tab and line feed as
 *		spaces).  Safe in element content and in a quoted attribute value.
 */
static void
put_escn(FILE *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		i = 0;

	while (i < n)
	{
		unsigned char c = p[i];
		int			len;

		switch (c)
		{
			case '&':
				fputs("&amp;", out);
				i++;
				continue;
			case '<':
				fputs("&lt;", out);
				i++;
				continue;
			case '>':
				fputs("&gt;", out);
				i++;
				continue;
			case '"':
				fputs("&quot;", out);
				i++;
				continue;
			case '\'':
				fputs("&#39;", out);
				i++;
				continue;
			case '\t':
			case '\n':
				fputc(' ', out);
				i++;
				continue;
			default:
				break;
		}
		if (c < 0x20 || c == 0x7f)
		{
			fputs("&#xFFFD;", out);
			i++;
			continue;
		}
		len = utf8_len(p + i, n - i);
		if (len == 0)
		{
			fputs("&#xFFFD;", out);
			i++;
			continue;
		}
		fwrite(p + i, 1, (size_t) len, out);
		i += (size_t) len;
	}
}

/* put_esc: a NUL-terminated string as HTML text (NULL as nothing) */
static void
put_esc(FILE *out, const char *s)
{
	if (s)
		put_escn(out, s, strlen(s));
}

/*
 * percent_decode
 *		The bytes a percent-encoded name stands for (doc/checkpoints.md
 *		section 1); a '%' not followed by two hex digits stays as it is.
 */
static char *
percent_decode(const char *s)
{
	size_t		n = strlen(s);
	char	   *out = av_malloc(n + 1);
	size_t		o = 0;

	for (size_t i = 0; i < n; i++)
	{
		uint8_t		b;

		if (s[i] == '%' && i + 2 < n && av_unhex(s + i + 1, 2, &b, 1))
		{
			out[o++] = (char) b;
			i += 2;
		}
		else
			out[o++] = s[i];
	}
	out[o] = '\0';
	return out;
}

/*
 * put_table
 *		A table name (percent-encoded, as in payloads) for people: decoded,
 *		escaped, and with the encoded form under it when it differs.
 *		A decoded NUL would cut the name short, so such a name is shown
 *		encoded only.
 */
static void
put_table(FILE *out, const char *encoded)
{
	char	   *plain;

	if (encoded == NULL)
	{
		fputs("<span class=\"dim\">&mdash;</span>", out);
		return;
	}
	if (strstr(encoded, "%00") != NULL)
	{
		put_esc(out, encoded);
		return;
	}
	plain = percent_decode(encoded);
	put_esc(out, plain);
	if (strcmp(plain, encoded) != 0)
	{
		fputs("<span class=\"enc\">", out);
		put_esc(out, encoded);
		fputs("</span>", out);
	}
	free(plain);
}

/* put_hash: 32 bytes as lower-case hex, in the hash style */
static void
put_hash(FILE *out, const uint8_t *h)
{
	char		hex[2 * AV_HASH_LEN + 1];

	av_hex(h, AV_HASH_LEN, hex);
	fprintf(out, "<span class=\"hash\">%s</span>", hex);
}

/* put_yes_no: a check mark cell: good (green) or not (red) */
static void
put_yes_no(FILE *out, bool good, const char *yes, const char *no)
{
	fprintf(out, "<td><span class=\"%s\">%s %s</span></td>",
			good ? "ok" : "bad", good ? "&#10003;" : "&#10007;", good ? yes : no);
}

/* put_fact: one row of the "what was checked" table */
static void
put_fact_start(FILE *out, const char *label)
{
	fprintf(out, "<tr><th scope=\"row\">%s</th><td>", label);
}

/*
 * write_html
 *		The whole page into out (see the file header).
 */
static void
write_html(FILE *out, const AvResult *r, const char *version, time_t now)
{
	bool		is_db = strcmp(r->mode, "database") == 0;
	bool		tampered = r->nfailures > 0;
	int			intact_lanes = 0,
				signed_cps = 0,
				good_sigs = 0,
				trusted = 0,
				files = 0;
	int64_t		archived = 0;
	char		when[64];
	char		started[64];
	struct tm	tm;
	time_t		start = now - (time_t) (r->seconds + 0.5);

	for (int i = 0; i < r->nlanes; i++)
	{
		intact_lanes += r->lanes[i].intact;
		archived += r->lanes[i].archived_rows;
	}
	for (int i = 0; i < r->ncheckpoints; i++)
	{
		const AvCheckpoint *c = &r->checkpoints[i];

		signed_cps += c->is_signed;
		good_sigs += c->is_signed && c->signature_ok;
		trusted += c->is_signed && c->signature_ok && c->trusted_key;
		files += strcmp(c->source, "database") != 0;
	}
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	gmtime_r(&start, &tm);
	strftime(started, sizeof(started), "%Y-%m-%d %H:%M:%S UTC", &tm);

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n", out);
	/* no resource of any kind may load, even if something slipped through */
	fputs("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n", out);
	fputs("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n", out);
	fprintf(out, "<title>audit_chain verification: %s &ndash; ", tampered ? "TAMPERED" : "INTACT");
	put_esc(out, r->database);
	fprintf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", html_css);

	/* the verdict */
	fprintf(out, "<div class=\"verdict %s\" id=\"verdict\"><span class=\"word\">%s</span><span class=\"why\">",
			tampered ? "tampered" : "intact", tampered ? "TAMPERED" : "INTACT");
	if (tampered)
		fprintf(out, "%d failure%s found: the data or its evidence was changed (exit status %d)",
				r->nfailures, r->nfailures == 1 ? "" : "s", av_result_exit_code(r));
	else
		fprintf(out, "every row hash, link, boundary and checkpoint checked out (exit status %d)",
				av_result_exit_code(r));
	fputs("</span></div>\n", out);

	fputs("<h1>audit_chain verification report</h1>\n", out);

	/* what was checked */
	fputs("<table class=\"facts\"><tbody>\n", out);
	put_fact_start(out, is_db ? "Database" : "Segment file");
	put_esc(out, r->database);
	fputs("</td></tr>\n", out);
	put_fact_start(out, "Checked");
	fprintf(out, "%s to %s (%.2f s)</td></tr>\n", started, when, r->seconds);
	put_fact_start(out, "Program");
	fputs("audit_chain_verify ", out);
	put_esc(out, version);
	fputs(" (recomputes every hash itself from doc/hash-format.md; trusts nothing the server computes)</td></tr>\n", out);
	put_fact_start(out, "Snapshot");
	if (!is_db)
		fputs("none: a file of audit_chain.export_segment(), verified with no database", out);
	else if (r->shared_snapshot)
		fprintf(out, "one shared snapshot for every lane (%d connection%s): the report shows one moment of the database",
				r->jobs, r->jobs == 1 ? "" : "s");
	else
		fprintf(out, "<span class=\"bad\">separate snapshots</span> (%d connection%s): rows committed during the run may be seen in some lanes and not in others",
				r->jobs, r->jobs == 1 ? "" : "s");
	fputs("</td></tr>\n", out);
	put_fact_start(out, "Rows");
	fprintf(out, "%lld hashes recomputed (%lld from archive tables), %lld redacted values checked by their kept digest</td></tr>\n",
			(long long) r->rows, (long long) archived, (long long) r->redactions);
	put_fact_start(out, "Lanes");
	fprintf(out, "%d checked, %d intact</td></tr>\n", r->nlanes, intact_lanes);
	put_fact_start(out, "Checkpoints");
	fprintf(out, "%d checked (%d from published files), %d signed, %d signatures good, %d by a key given with --public-key</td></tr>\n",
			r->ncheckpoints, files, signed_cps, good_sigs, trusted);
	fputs("</tbody></table>\n", out);

	/* failures */
	fprintf(out, "<h2 id=\"failures\">Failures (%d)</h2>\n", r->nfailures);
	if (r->nfailures == 0)
		fputs("<p class=\"ok\">None.</p>\n", out);
	else
	{
		fputs("<table class=\"fail\"><thead><tr><th class=\"n\">#</th><th>Table</th><th class=\"n\">Lane</th><th class=\"n\">Seq</th><th class=\"n\">Checkpoint</th><th>Problem</th></tr></thead><tbody>\n", out);
		for (int i = 0; i < r->nfailures; i++)
		{
			const AvFailure *f = &r->failures[i];

			fprintf(out, "<tr class=\"failure\"><td class=\"n\">%d</td><td>", i + 1);
			put_table(out, f->table);
			fputs("</td><td class=\"n\">", out);
			if (f->lane >= 0)
				fprintf(out, "%d", f->lane);
			fputs("</td><td class=\"n seq\">", out);
			if (f->has_seq)
				fprintf(out, "%lld", (long long) f->seq);
			fputs("</td><td class=\"n\">", out);
			if (f->checkpoint_id > 0)
				fprintf(out, "%lld", (long long) f->checkpoint_id);
			fputs("</td><td>", out);
			put_esc(out, f->problem);
			fputs("</td></tr>\n", out);
		}
		fputs("</tbody></table>\n", out);
	}

	/* warnings */
	if (r->nwarnings > 0)
	{
		fprintf(out, "<h2 id=\"warnings\">Warnings (%d)</h2>\n<ul class=\"warn\">\n", r->nwarnings);
		for (int i = 0; i < r->nwarnings; i++)
		{
			fputs("<li>", out);
			put_esc(out, r->warnings[i]);
			fputs("</li>\n", out);
		}
		fputs("</ul>\n", out);
	}

	/* lanes */
	fprintf(out, "<h2 id=\"lanes\">Lanes (%d)</h2>\n", r->nlanes);
	fputs("<table><thead><tr><th>Table</th><th class=\"n\">Lane</th><th class=\"n\">Archived rows</th><th class=\"n\">Live rows</th><th class=\"n\">Seq from</th><th class=\"n\">Head seq</th><th>Head hash</th><th class=\"n\">Checkpoints</th><th>Result</th></tr></thead><tbody>\n", out);
	for (int i = 0; i < r->nlanes; i++)
	{
		const AvLane *l = &r->lanes[i];

		fputs("<tr><td>", out);
		put_table(out, l->table);
		fprintf(out, "</td><td class=\"n\">%d</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td><td>",
				l->lane, (long long) l->archived_rows, (long long) l->live_rows,
				(long long) l->start_seq, (long long) l->head_seq);
		put_hash(out, l->head_hash);
		fprintf(out, "</td><td class=\"n\">%d</td>", l->checkpoints);
		put_yes_no(out, l->intact, "intact", "FAILED");
		fputs("</tr>\n", out);
	}
	fputs("</tbody></table>\n", out);

	/* checkpoints and signatures */
	fprintf(out, "<h2 id=\"checkpoints\">Checkpoints and signatures (%d)</h2>\n", r->ncheckpoints);
	if (r->ncheckpoints == 0)
		fputs("<p class=\"bad\">No checkpoint was checked: nothing outside the rows themselves vouches for the heads.</p>\n", out);
	else
	{
		fputs("<table><thead><tr><th class=\"n\">Id</th><th>Created at</th><th>Source</th><th class=\"n\">Lanes</th><th>Signed</th><th>Key id</th><th>Trusted key</th><th>Result</th></tr></thead><tbody>\n", out);
		for (int i = 0; i < r->ncheckpoints; i++)
		{
			const AvCheckpoint *c = &r->checkpoints[i];
			bool		ok = c->intact && (!c->is_signed || c->signature_ok);

			fprintf(out, "<tr><td class=\"n\">%lld</td><td>", (long long) c->id);
			put_esc(out, c->created_at);
			fputs("</td><td>", out);
			put_esc(out, c->source);
			fprintf(out, "</td><td class=\"n\">%d</td><td>", c->lanes);
			if (!c->is_signed)
				fputs("<span class=\"dim\">unsigned</span>", out);
			else if (c->signature_ok)
				fputs("<span class=\"ok\">&#10003; good</span>", out);
			else
				fputs("<span class=\"bad\">&#10007; NOT good</span>", out);
			fputs("</td><td>", out);
			if (c->key_id[0])
			{
				fputs("<span class=\"hash\">", out);
				put_esc(out, c->key_id);
				fputs("</span>", out);
			}
			else
				fputs("<span class=\"dim\">&mdash;</span>", out);
			fputs("</td><td>", out);
			if (!c->is_signed)
				fputs("<span class=\"dim\">&mdash;</span>", out);
			else
				fputs(c->trusted_key ? "<span class=\"ok\">yes (--public-key)</span>" : "<span class=\"dim\">no: the key stored with it</span>", out);
			fputs("</td>", out);
			put_yes_no(out, ok, "ok", "FAILED");
			fputs("</tr>\n", out);
		}
		fputs("</tbody></table>\n", out);
	}

	fprintf(out, "<footer>Written by audit_chain_verify ");
	put_esc(out, version);
	fprintf(out, " at %s. Exit status %d: 0 intact, 1 tampered. A trusted key is one the auditor gave on the command line (--public-key); a signature that is good only by the key stored in the database or the exported file proves less. The head of a FAILED lane is its last row that verified. Table names are shown decoded, with the percent-encoded form of the checkpoint payloads under them.</footer>\n",
			when, av_result_exit_code(r));
	fputs("</body>\n</html>\n", out);
}

/* the temporary file while the run goes on, removed at exit if still there */
static char *pending_tmp = NULL;

/* atexit: a run that ended in an error (exit 2) leaves no temporary file */
static void
remove_pending_tmp(void)
{
	if (pending_tmp)
		unlink(pending_tmp);
}

/*
 * av_report_html_open
 *		Create the file the report will be written into: path.tmp next to
 *		path, made before the run so that a path that cannot be written is
 *		an error at once, not after an hour of verification.  Returns NULL
 *		with a message in err (AV_ERRLEN bytes) on failure.
 */
FILE *
av_report_html_open(const char *path, char *err)
{
	char	   *tmp = av_sprintf("%s.tmp", path);
	FILE	   *f = fopen(tmp, "w");

	if (f == NULL)
	{
		snprintf(err, AV_ERRLEN, "could not create \"%s\": %s", tmp, strerror(errno));
		free(tmp);
		return NULL;
	}
	pending_tmp = tmp;
	atexit(remove_pending_tmp);
	return f;
}

/*
 * av_report_html_finish
 *		Write the report of r into f (from av_report_html_open), close it
 *		and rename it to path.  Returns false with a message in err on a
 *		write error (then the temporary file is removed).
 */
bool
av_report_html_finish(FILE *f, const char *path, const AvResult *r,
					  const char *version, char *err)
{
	char	   *tmp = av_sprintf("%s.tmp", path);
	bool		ok;

	write_html(f, r, version, time(NULL));
	ok = !ferror(f);
	if (fclose(f) != 0)
		ok = false;
	if (!ok)
		snprintf(err, AV_ERRLEN, "could not write \"%s\": %s", tmp, strerror(errno));
	else if (rename(tmp, path) != 0)
	{
		snprintf(err, AV_ERRLEN, "could not rename \"%s\" to \"%s\": %s", tmp, path, strerror(errno));
		ok = false;
	}
	if (!ok)
		unlink(tmp);
	free(tmp);
	free(pending_tmp);
	pending_tmp = NULL;
	return ok;
}
