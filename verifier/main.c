/*-------------------------------------------------------------------------
 *
 * main.c
 *	  audit_chain_verify: the offline verifier of audit_chain.
 *
 *	  audit_chain_verify --dbname CONNINFO [--table T ...]
 *		  [--checkpoint FILE.json ...] [--public-key KEY.pem ...] [--jobs N]
 *		  [--json] [--quiet] [--html FILE.html]
 *	  audit_chain_verify --segment FILE.jsonl [--checkpoint FILE.json ...]
 *		  [--public-key KEY.pem ...] [--json] [--quiet] [--html FILE.html]
 *
 * Exit status: 0 intact, 1 tampered, 2 usage, connection, malformed input
 * or wrong key (with a one-line message on stderr).
 *
 * IDENTIFICATION
 *	  verifier/main.c
 *
 *-------------------------------------------------------------------------
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "published.h"
#include "report.h"
#include "result.h"
#include "segfile.h"
#include "util.h"
#include "vectors.h"

#define VERIFIER_VERSION "1.0"

static void
usage(FILE *out)
{
	fprintf(out,
			"audit_chain_verify checks audit_chain's hash chains outside the database: it\n"
			"recomputes every row hash itself and checks links, boundaries, redactions and\n"
			"signed checkpoints.\n"
			"\n"
			"Usage:\n"
			"  audit_chain_verify --dbname CONNINFO [OPTION]...\n"
			"  audit_chain_verify --segment FILE.jsonl [OPTION]...\n"
			"\n"
			"Options:\n"
			"  -d, --dbname=CONNINFO     database to verify (a name or a connection string)\n"
			"  -s, --segment=FILE        verify a file of audit_chain.export_segment(), no database\n"
			"  -t, --table=TABLE         verify only this chained table (repeatable)\n"
			"  -c, --checkpoint=FILE     a published export_checkpoint() file (repeatable)\n"
			"  -k, --public-key=FILE     an Ed25519 public key (PEM) that signs checkpoints (repeatable)\n"
			"  -j, --jobs=N              lanes walked in parallel, each on its own connection (default 4)\n"
			"      --json                print the result as JSON\n"
			"      --html=FILE           also write a one-page HTML report to FILE\n"
			"  -q, --quiet               print only failures and the result line\n"
			"      --test-vectors=FILE   reproduce the hash format's test vectors, and exit\n"
			"  -V, --version             print the version, and exit\n"
			"  -?, --help                show this help, and exit\n"
			"\n"
			"Exit status: 0 intact, 1 tampered, 2 usage, connection or input error.\n");
}

/* fail with a usage error: exit status 2 */
static void
usage_error(const char *fmt, const char *arg)
{
	fputs("audit_chain_verify: error: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nTry \"audit_chain_verify --help\" for more information.\n", stderr);
	exit(2);
}

/* append a string to a growing array */
static void
push(char ***arr, int *n, const char *s)
{
	*arr = av_realloc(*arr, sizeof(char *) * (size_t) (*n + 1));
	(*arr)[(*n)++] = av_strdup(s);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"dbname", required_argument, NULL, 'd'},
		{"segment", required_argument, NULL, 's'},
		{"table", required_argument, NULL, 't'},
		{"checkpoint", required_argument, NULL, 'c'},
		{"public-key", required_argument, NULL, 'k'},
		{"jobs", required_argument, NULL, 'j'},
		{"json", no_argument, NULL, 1},
		{"html", required_argument, NULL, 4},
		{"quiet", no_argument, NULL, 'q'},
		{"test-vectors", required_argument, NULL, 2},
		{"test-timestamps", no_argument, NULL, 3},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, '?'},
		{NULL, 0, NULL, 0}
	};
	AvOptions	opt;
	AvResult	r;
	int			c;
	int			code;
	const char *html_path = NULL;
	FILE	   *html = NULL;
	char		err[AV_ERRLEN];

	memset(&opt, 0, sizeof(opt));
	opt.jobs = 4;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "d:s:t:c:k:j:qV?", longopts, NULL)) != -1)
	{
		switch (c)
		{
			case 'd':
				if (opt.dbname)
					usage_error("--dbname given twice%s", "");
				opt.dbname = optarg;
				break;
			case 's':
				if (opt.segment)
					usage_error("--segment given twice%s", "");
				opt.segment = optarg;
				break;
			case 't':
				push(&opt.tables, &opt.ntables, optarg);
				break;
			case 'c':
				push(&opt.checkpoint_files, &opt.ncheckpoint_files, optarg);
				break;
			case 'k':
				push(&opt.key_files, &opt.nkey_files, optarg);
				break;
			case 'j':
				{
					char	   *end;
					long		v = strtol(optarg, &end, 10);

					if (*optarg == '\0' || *end != '\0' || v < 1 || v > 64)
						usage_error("--jobs must be a number from 1 to 64, not \"%s\"", optarg);
					opt.jobs = (int) v;
				}
				break;
			case 1:
				opt.json = true;
				break;
			case 'q':
				opt.quiet = true;
				break;
			case 4:
				if (html_path)
					usage_error("--html given twice%s", "");
				html_path = optarg;
				break;
			case 2:
				return av_test_vectors(optarg);
			case 3:
				return av_test_timestamps();
			case 'V':
				printf("audit_chain_verify %s\n", VERIFIER_VERSION);
				return 0;
			case '?':
				if (optopt != 0 && optopt != '?')
					usage_error("unknown option or missing argument: %s", argv[optind - 1]);
				if (optopt == 0 && argv[optind - 1] && strcmp(argv[optind - 1], "--help") != 0 &&
					strcmp(argv[optind - 1], "-?") != 0)
					usage_error("unknown option: %s", argv[optind - 1]);
				usage(stdout);
				return 0;
			default:
				usage_error("unknown option: %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument: %s", argv[optind]);
	if (opt.dbname == NULL && opt.segment == NULL)
		usage_error("give --dbname CONNINFO or --segment FILE%s", "");
	if (opt.dbname && opt.segment)
		usage_error("give --dbname or --segment, not both%s", "");
	if (opt.segment && opt.ntables > 0)
		usage_error("--table needs --dbname%s", "");
	opt.progress = !opt.quiet && !opt.json && isatty(STDERR_FILENO);

	/* the report file is created first: a path that cannot be written fails now */
	if (html_path && (html = av_report_html_open(html_path, err)) == NULL)
	{
		fprintf(stderr, "audit_chain_verify: error: %s\n", err);
		return 2;
	}

	av_result_init(&r, opt.segment ? "segment" : "database");
	av_load_keys(&opt);
	av_load_published(&opt, &r);
	if (opt.segment)
		av_verify_segment(&opt, &r);
	else
		av_verify_database(&opt, &r);

	if (opt.json)
	{
		av_report_json(stdout, &r);
	}
	else
		av_report_text(stdout, &r, opt.quiet);
	code = av_result_exit_code(&r);
	fflush(stdout);
	if (html && !av_report_html_finish(html, html_path, &r, VERIFIER_VERSION, err))
	{
		fprintf(stderr, "audit_chain_verify: error: %s\n", err);
		return 2;
	}
	return code;
}
