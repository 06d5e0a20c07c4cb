/*-------------------------------------------------------------------------
 *
 * report.c
 *	  Printing a result (see result.h): a human summary on stdout, or one
 *	  JSON document (--json).  Warnings go to stderr in the summary mode
 *	  and into the document with --json.
 *
 * IDENTIFICATION
 *	  verifier/report.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "report.h"
#include "util.h"

/*
 * av_report_text
 *		The human summary: what was checked, each failure with its table,
 *		lane and seq, and the verdict.  --quiet prints the failures and the
 *		verdict only.
 */
void
av_report_text(FILE *out, const AvResult *r, bool quiet)
{
	int			ok_sigs = 0,
				signed_cps = 0,
				files = 0,
				intact_lanes = 0;
	int64_t		archived = 0;

	for (int i = 0; i < r->ncheckpoints; i++)
	{
		signed_cps += r->checkpoints[i].is_signed;
		ok_sigs += r->checkpoints[i].signature_ok;
		files += strcmp(r->checkpoints[i].source, "database") != 0;
	}
	for (int i = 0; i < r->nlanes; i++)
	{
		intact_lanes += r->lanes[i].intact;
		archived += r->lanes[i].archived_rows;
	}
	for (int i = 0; i < r->nwarnings; i++)
		fprintf(stderr, "audit_chain_verify: warning: %s\n", r->warnings[i]);

	if (!quiet)
	{
		fprintf(out, "audit_chain_verify: %s %s", r->mode, r->database ? r->database : "");
		if (strcmp(r->mode, "database") == 0)
			fprintf(out, " (%d connection%s, %s)", r->jobs, r->jobs == 1 ? "" : "s",
					r->shared_snapshot ? "one shared snapshot" : "separate snapshots");
		fputc('\n', out);
		for (int i = 0; i < r->nlanes; i++)
		{
			const AvLane *l = &r->lanes[i];
			char		head[65];

			av_hex(l->head_hash, 32, head);
			fprintf(out, "  %-40s lane %2d  rows %10lld", l->table, l->lane,
					(long long) (l->archived_rows + l->live_rows));
			if (l->archived_rows)
				fprintf(out, " (%lld archived)", (long long) l->archived_rows);
			if (l->head_seq > l->start_seq)
				fprintf(out, "  seq %lld..%lld", (long long) l->start_seq + 1,
						(long long) l->head_seq);
			else
				fprintf(out, "  seq -");
			fprintf(out, "  head %.16s  %s\n", head, l->intact ? "intact" : "FAILED");
		}
		for (int i = 0; i < r->ncheckpoints; i++)
		{
			const AvCheckpoint *c = &r->checkpoints[i];

			fprintf(out, "  checkpoint %lld (%s) %s, %d lanes, %s%s%s\n",
					(long long) c->id, c->source, c->created_at ? c->created_at : "?",
					c->lanes,
					!c->is_signed ? "unsigned" : c->signature_ok ? "signature good" : "signature NOT good",
					c->is_signed && c->signature_ok ? (c->trusted_key ? " (a --public-key key)" : " (key not given with --public-key)") : "",
					c->intact ? "" : ", FAILED");
		}
		fprintf(out, "checked: %lld rows (%lld archived) in %d lanes (%d intact), %d checkpoints (%d signed, %d signatures good, %d published files), %lld redacted values, %.2f s",
				(long long) r->rows, (long long) archived, r->nlanes, intact_lanes,
				r->ncheckpoints, signed_cps, ok_sigs, files,
				(long long) r->redactions, r->seconds);
		if (r->seconds > 0)
			fprintf(out, ", %.0f rows/s", (double) r->rows / r->seconds);
		fputc('\n', out);
	}
	for (int i = 0; i < r->nfailures; i++)
	{
		const AvFailure *f = &r->failures[i];

		fprintf(out, "FAILED:");
		if (f->table)
			fprintf(out, " table %s", f->table);
		if (f->lane >= 0)
			fprintf(out, " lane %d", f->lane);
		if (f->has_seq)
			fprintf(out, " seq %lld", (long long) f->seq);
		if (f->checkpoint_id > 0)
			fprintf(out, " checkpoint %lld", (long long) f->checkpoint_id);
		fprintf(out, ": %s\n", f->problem);
	}
	if (r->nfailures)
		fprintf(out, "result: TAMPERED (%d failure%s)\n", r->nfailures, r->nfailures == 1 ? "" : "s");
	else
		fprintf(out, "result: INTACT\n");
}

/*
 * av_report_json
 *		The result as one JSON object (keys in a fixed order).
 */
void
av_report_json(FILE *out, const AvResult *r)
{
	json_t	   *root = json_object();
	json_t	   *lanes = json_array();
	json_t	   *cps = json_array();
	json_t	   *fails = json_array();
	json_t	   *warns = json_array();
	char		hex[65];

	json_object_set_new(root, "format", json_string("audit_chain/verify-result/v1"));
	json_object_set_new(root, "result", json_string(r->nfailures ? "tampered" : "intact"));
	json_object_set_new(root, "exit_code", json_integer(av_result_exit_code(r)));
	json_object_set_new(root, "mode", json_string(r->mode));
	if (strcmp(r->mode, "database") == 0)
		json_object_set_new(root, "database", r->database ? json_string(r->database) : json_null());
	else
		json_object_set_new(root, "segment", r->database ? json_string(r->database) : json_null());
	json_object_set_new(root, "shared_snapshot", json_boolean(r->shared_snapshot));
	json_object_set_new(root, "jobs", json_integer(r->jobs));
	json_object_set_new(root, "rows", json_integer(r->rows));
	json_object_set_new(root, "lanes_checked", json_integer(r->nlanes));
	json_object_set_new(root, "checkpoints_checked", json_integer(r->ncheckpoints));
	json_object_set_new(root, "signatures_verified", json_integer(r->signatures));
	json_object_set_new(root, "redacted_values", json_integer(r->redactions));
	json_object_set_new(root, "seconds", json_real(r->seconds));
	for (int i = 0; i < r->nlanes; i++)
	{
		const AvLane *l = &r->lanes[i];
		json_t	   *o = json_object();

		json_object_set_new(o, "table", json_string(l->table));
		json_object_set_new(o, "lane", json_integer(l->lane));
		av_hex(l->genesis, 32, hex);
		json_object_set_new(o, "genesis", json_string(hex));
		json_object_set_new(o, "start_seq", json_integer(l->start_seq));
		json_object_set_new(o, "archived_seq", json_integer(l->archived_seq));
		json_object_set_new(o, "archived_rows", json_integer(l->archived_rows));
		json_object_set_new(o, "live_rows", json_integer(l->live_rows));
		json_object_set_new(o, "head_seq", json_integer(l->head_seq));
		av_hex(l->head_hash, 32, hex);
		json_object_set_new(o, "head_hash", json_string(hex));
		json_object_set_new(o, "checkpoint_points", json_integer(l->checkpoints));
		json_object_set_new(o, "intact", json_boolean(l->intact));
		json_array_append_new(lanes, o);
	}
	for (int i = 0; i < r->ncheckpoints; i++)
	{
		const AvCheckpoint *c = &r->checkpoints[i];
		json_t	   *o = json_object();

		json_object_set_new(o, "checkpoint_id", json_integer(c->id));
		json_object_set_new(o, "source", json_string(c->source));
		json_object_set_new(o, "created_at", c->created_at ? json_string(c->created_at) : json_null());
		json_object_set_new(o, "lanes", json_integer(c->lanes));
		json_object_set_new(o, "signed", json_boolean(c->is_signed));
		json_object_set_new(o, "signature_ok", c->is_signed ? json_boolean(c->signature_ok) : json_null());
		json_object_set_new(o, "key_id", c->key_id[0] ? json_string(c->key_id) : json_null());
		json_object_set_new(o, "trusted_key", json_boolean(c->trusted_key));
		json_object_set_new(o, "intact", json_boolean(c->intact));
		json_array_append_new(cps, o);
	}
	for (int i = 0; i < r->nfailures; i++)
	{
		const AvFailure *f = &r->failures[i];
		json_t	   *o = json_object();

		json_object_set_new(o, "table", f->table ? json_string(f->table) : json_null());
		json_object_set_new(o, "lane", f->lane >= 0 ? json_integer(f->lane) : json_null());
		json_object_set_new(o, "seq", f->has_seq ? json_integer(f->seq) : json_null());
		json_object_set_new(o, "checkpoint_id", f->checkpoint_id > 0 ? json_integer(f->checkpoint_id) : json_null());
		json_object_set_new(o, "problem", json_string(f->problem));
		json_array_append_new(fails, o);
	}
	for (int i = 0; i < r->nwarnings; i++)
		json_array_append_new(warns, json_string(r->warnings[i]));
	json_object_set_new(root, "lanes", lanes);
	json_object_set_new(root, "checkpoints", cps);
	json_object_set_new(root, "failures", fails);
	json_object_set_new(root, "warnings", warns);
	json_dumpf(root, out, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	fputc('\n', out);
	json_decref(root);
}
