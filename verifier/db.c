/*-------------------------------------------------------------------------
 *
 * db.c
 *	  Verifying a database over libpq: read the registry, the hashed
 *	  columns, the archives, the boundary records, the redactions, the
 *	  stored checkpoints and the signing keys, then walk every lane in
 *	  parallel threads, each with its own connection in one exported
 *	  snapshot, streaming the rows with COPY.
 *
 * Nothing the server computed is trusted: the verifier takes the rows'
 * text (canonical text under the settings of doc/hash-format.md section 8),
 * and recomputes every col_digest and chain_hash, parses chain_at itself,
 * checks every link, the boundaries against their records, and the lanes
 * against every checkpoint's heads.  What it must take from the server is
 * the text of the values (their output functions) and what the rows are.
 *
 * IDENTIFICATION
 *	  verifier/db.c
 *
 *-------------------------------------------------------------------------
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "copyrow.h"
#include "crypto.h"
#include "db.h"
#include "lanewalk.h"
#include "payload.h"
#include "rowhash.h"
#include "util.h"

/* doc/hash-format.md section 8, and what a long read-only walk needs */
#define SESSION_SETTINGS \
	"SET datestyle = 'ISO, YMD'; SET intervalstyle = 'postgres'; " \
	"SET timezone = 'UTC'; SET extra_float_digits = 1; " \
	"SET bytea_output = 'hex'; SET client_encoding = 'UTF8'; " \
	"SET search_path = pg_catalog, pg_temp; SET row_security = off; " \
	"SET statement_timeout = 0; SET idle_in_transaction_session_timeout = 0"

/* a worker reads each lane by its index, in seq order, with no parallel workers */
#define WORKER_SETTINGS \
	"SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_sort = off; " \
	"SET max_parallel_workers_per_gather = 0; SET jit = off"

typedef struct DbTable
{
	char	   *oid;			/* as text */
	char	   *encoded;		/* schema.name, percent-encoded */
	char	   *display;		/* schema.name as given by the catalog */
	char	   *qualified;		/* quoted for SQL */
	bool		exists;
	bool		selected;
	int			nlanes;
	int			ncols;
	char	  **colnames;
	size_t	   *collens;
	char	   *select_list;	/* quoted hashed columns, ", "-separated */
	char	   *archive_qualified;	/* NULL: no archive table */
	AvRedaction *red;			/* sorted by lane, seq */
	int			nred;
	int			red_cap;
} DbTable;

typedef struct DbLane
{
	DbTable    *t;
	int			lane;
	uint8_t		genesis[32];
	int64_t		archived_seq;
	uint8_t		archived_hash[32];	/* or the genesis */
	bool		archived_hash_set;
	int64_t		purged_seq;
	uint8_t		purged_hash[32];	/* or the genesis */
	bool		purged_hash_set;

	AvExpect   *exp;
	int			nexp;
	int			exp_cap;

	/* a problem found before the walk (boundaries, checkpoints) */
	bool		pre_bad;
	int64_t		pre_seq;
	int64_t		pre_cp;
	char	   *pre_problem;

	/* the walk */
	volatile int64_t progress;	/* rows read so far */
	volatile int state;			/* 0 waiting, 1 walking, 2 done */
	int64_t		archived_rows;
	int64_t		live_rows;
	int64_t		redacted;
	bool		bad;
	int64_t		bad_seq;
	int64_t		bad_cp;
	char	   *problem;
	int64_t		head_seq;
	uint8_t		head_hash[32];
	double		seconds;
	char	   *error;			/* the walk could not run */
} DbLane;

typedef struct DbState
{
	AvOptions  *opt;
	AvResult   *r;
	PGconn	   *conn;
	char	   *snapshot;		/* exported snapshot id, or NULL */
	char	   *dbname;
	DbTable    *tables;
	int			ntables;
	DbLane	   *lanes;
	int			nlanes;
	DbLane	  **by_genesis;		/* sorted by genesis */
	DbLane	  **work;			/* selected lanes, in the order to walk */
	int			nwork;
	int			next_work;
	int			running;		/* worker threads not yet finished */
	pthread_mutex_t lock;
} DbState;

/* the newest boundary record of each kind, per lane genesis */
typedef struct Boundary
{
	uint8_t		genesis[32];
	bool		has_archive;
	int64_t		archive_seq;
	uint8_t		archive_hash[32];
	bool		has_purge;
	int64_t		purge_seq;
	uint8_t		purge_hash[32];
} Boundary;

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/*
 * first_line
 *		The first line of a libpq error message (a copy).
 */
static char *
first_line(const char *msg)
{
	size_t		n = strcspn(msg, "\n");

	return av_strndup(msg, n);
}

/*
 * connect_db
 *		A connection with the canonical session settings; exit status 2 on
 *		failure.
 */
static PGconn *
connect_db(const char *conninfo, char **errmsg)
{
	const char *keys[] = {"dbname", "fallback_application_name", NULL};
	const char *vals[] = {conninfo, "audit_chain_verify", NULL};
	PGconn	   *conn = PQconnectdbParams(keys, vals, 1);
	PGresult   *res;

	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
	{
		*errmsg = first_line(conn ? PQerrorMessage(conn) : "out of memory");
		PQfinish(conn);
		return NULL;
	}
	res = PQexec(conn, SESSION_SETTINGS);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		*errmsg = first_line(PQerrorMessage(conn));
		PQclear(res);
		PQfinish(conn);
		return NULL;
	}
	PQclear(res);
	*errmsg = NULL;
	return conn;
}

/*
 * query
 *		Run a query that must succeed (or stop the run, exit status 2).
 */
static PGresult *
query(DbState *st, const char *what, const char *sql, int nparams,
	  const char *const *params)
{
	PGresult   *res = PQexecParams(st->conn, sql, nparams, NULL, params,
								   NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK &&
		PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		char	   *msg = first_line(PQerrorMessage(st->conn));

		PQclear(res);
		av_die("could not read %s: %s", what, msg);
	}
	return res;
}

/* a 32-byte bytea field into out, or false */
static bool
field_hash(PGresult *res, int row, int col, uint8_t *out)
{
	if (PQgetisnull(res, row, col))
		return false;
	return av_parse_bytea_hash(PQgetvalue(res, row, col),
							   (size_t) PQgetlength(res, row, col), out);
}

/* an int64 field */
static int64_t
field_int(PGresult *res, int row, int col)
{
	int64_t		v = 0;

	if (!av_parse_int64(PQgetvalue(res, row, col),
						(size_t) PQgetlength(res, row, col), &v))
		av_die("the server returned \"%s\" where a number belongs",
			   PQgetvalue(res, row, col));
	return v;
}

/*
 * lane_pre_problem
 *		Record a problem of a lane found before its walk (the first one).
 */
static void
lane_pre_problem(DbLane *l, int64_t seq, int64_t cp, const char *fmt,...)
	__attribute__((format(printf, 4, 5)));

static void
lane_pre_problem(DbLane *l, int64_t seq, int64_t cp, const char *fmt,...)
{
	va_list		ap;
	char		buf[1024];

	if (l->pre_bad)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	l->pre_bad = true;
	l->pre_seq = seq;
	l->pre_cp = cp;
	l->pre_problem = av_strdup(buf);
}

/* add an expectation to a lane */
static void
lane_expect(DbLane *l, int64_t seq, const uint8_t *hash, bool at_set,
			int64_t at, int64_t cp, const char *what)
{
	AvExpect   *e;

	if (l->nexp == l->exp_cap)
	{
		l->exp_cap = l->exp_cap ? 2 * l->exp_cap : 8;
		l->exp = av_realloc(l->exp, sizeof(AvExpect) * (size_t) l->exp_cap);
	}
	e = &l->exp[l->nexp++];
	e->seq = seq;
	memcpy(e->hash, hash, 32);
	e->at_set = at_set;
	e->at = at;
	e->checkpoint_id = cp;
	e->what = what;
}

static int
genesis_cmp(const void *a, const void *b)
{
	return memcmp((*(DbLane *const *) a)->genesis,
				  (*(DbLane *const *) b)->genesis, 32);
}

/* the lane with this genesis, or NULL */
static DbLane *
lane_by_genesis(DbState *st, const uint8_t *genesis)
{
	int			lo = 0,
				hi = st->nlanes - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		int			c = memcmp(st->by_genesis[mid]->genesis, genesis, 32);

		if (c == 0)
			return st->by_genesis[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

/*
 * open_snapshot
 *		Start the main connection's repeatable-read transaction and export
 *		its snapshot for the worker connections (PostgreSQL 15 exports one
 *		on a hot standby too).  Where the server refuses, the workers take
 *		snapshots of their own, with a warning: the lanes are then read at
 *		slightly different moments, which an archive() or a checkpoint
 *		taken meanwhile can make look like tampering.
 */
static void
open_snapshot(DbState *st)
{
	PGresult   *res;

	res = PQexec(st->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		av_die("could not start a transaction: %s", first_line(PQerrorMessage(st->conn)));
	PQclear(res);
	res = PQexec(st->conn, "SELECT pg_catalog.pg_export_snapshot()");
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
	{
		st->snapshot = av_strdup(PQgetvalue(res, 0, 0));
		st->r->shared_snapshot = true;
		PQclear(res);
		return;
	}
	av_result_warn(st->r, "could not export a snapshot (%s): each connection reads in its own snapshot",
				   first_line(PQerrorMessage(st->conn)));
	PQclear(res);
	res = PQexec(st->conn, "ROLLBACK");
	PQclear(res);
	res = PQexec(st->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		av_die("could not start a transaction: %s", first_line(PQerrorMessage(st->conn)));
	PQclear(res);
}

/*
 * read_registry
 *		Every lane of audit_chain.chains, its table (which may be gone) and
 *		the table's archive table.
 */
static void
read_registry(DbState *st)
{
	PGresult   *res;
	int			n;

	res = query(st, "the extension",
				"SELECT e.extversion, pg_catalog.current_database() "
				"FROM pg_catalog.pg_extension e WHERE e.extname = 'audit_chain'", 0, NULL);
	if (PQntuples(res) != 1)
		av_die("audit_chain is not installed in this database");
	st->dbname = av_strdup(PQgetvalue(res, 0, 1));
	st->r->database = av_strdup(st->dbname);
	PQclear(res);

	res = query(st, "audit_chain.chains",
				"SELECT c.tbl::pg_catalog.oid, n.nspname, r.relname, c.lane, c.genesis, "
				"c.archived_seq, c.archived_hash, c.purged_seq, c.purged_hash, "
				"an.nspname, ar.relname, r.oid IS NOT NULL "
				"FROM audit_chain.chains c "
				"LEFT JOIN pg_catalog.pg_class r ON r.oid = c.tbl "
				"LEFT JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace "
				"LEFT JOIN audit_chain.archives a ON a.tbl = c.tbl "
				"LEFT JOIN pg_catalog.pg_class ar ON ar.oid = a.archive "
				"LEFT JOIN pg_catalog.pg_namespace an ON an.oid = ar.relnamespace "
				"ORDER BY c.tbl::pg_catalog.oid, c.lane", 0, NULL);
	n = PQntuples(res);
	st->lanes = av_malloc(sizeof(DbLane) * (size_t) (n + 1));
	memset(st->lanes, 0, sizeof(DbLane) * (size_t) (n + 1));
	st->tables = av_malloc(sizeof(DbTable) * (size_t) (n + 1));
	memset(st->tables, 0, sizeof(DbTable) * (size_t) (n + 1));
	for (int i = 0; i < n; i++)
	{
		DbLane	   *l = &st->lanes[st->nlanes++];
		DbTable    *t;

		if (st->ntables == 0 ||
			strcmp(st->tables[st->ntables - 1].oid, PQgetvalue(res, i, 0)) != 0)
		{
			t = &st->tables[st->ntables++];
			t->oid = av_strdup(PQgetvalue(res, i, 0));
			t->exists = PQgetvalue(res, i, 11)[0] == 't';
			t->selected = true;
			if (t->exists)
			{
				const char *nsp = PQgetvalue(res, i, 1);
				const char *rel = PQgetvalue(res, i, 2);
				char	   *qn = PQescapeIdentifier(st->conn, nsp, strlen(nsp));
				char	   *qr = PQescapeIdentifier(st->conn, rel, strlen(rel));
				char	   *en = av_percent_encode(nsp, strlen(nsp));
				char	   *er = av_percent_encode(rel, strlen(rel));

				t->qualified = av_sprintf("%s.%s", qn, qr);
				t->encoded = av_sprintf("%s.%s", en, er);
				t->display = av_sprintf("%s.%s", nsp, rel);
				PQfreemem(qn);
				PQfreemem(qr);
				free(en);
				free(er);
				if (!PQgetisnull(res, i, 10))
				{
					const char *ans = PQgetvalue(res, i, 9);
					const char *arl = PQgetvalue(res, i, 10);

					qn = PQescapeIdentifier(st->conn, ans, strlen(ans));
					qr = PQescapeIdentifier(st->conn, arl, strlen(arl));
					t->archive_qualified = av_sprintf("%s.%s", qn, qr);
					PQfreemem(qn);
					PQfreemem(qr);
				}
			}
			else
			{
				t->encoded = av_sprintf("oid%s", t->oid);
				t->display = av_sprintf("(table with OID %s)", t->oid);
			}
		}
		t = &st->tables[st->ntables - 1];
		l->t = t;
		l->lane = (int) field_int(res, i, 3);
		if (l->lane != t->nlanes)
			lane_pre_problem(l, 1, 0, "the lanes of %s in audit_chain.chains are not numbered from 0 without a gap",
							 t->display);
		t->nlanes++;
		if (!field_hash(res, i, 4, l->genesis))
			av_die("lane %d of %s has no 32-byte genesis in audit_chain.chains", l->lane, t->display);
		l->archived_seq = field_int(res, i, 5);
		l->archived_hash_set = field_hash(res, i, 6, l->archived_hash);
		if (!l->archived_hash_set)
			memcpy(l->archived_hash, l->genesis, 32);
		l->purged_seq = field_int(res, i, 7);
		l->purged_hash_set = field_hash(res, i, 8, l->purged_hash);
		if (!l->purged_hash_set)
			memcpy(l->purged_hash, l->genesis, 32);
		if (!t->exists)
			lane_pre_problem(l, 1, 0, "%s is registered in audit_chain.chains but does not exist",
							 t->display);
	}
	PQclear(res);

	st->by_genesis = av_malloc(sizeof(DbLane *) * (size_t) (st->nlanes + 1));
	for (int i = 0; i < st->nlanes; i++)
		st->by_genesis[i] = &st->lanes[i];
	qsort(st->by_genesis, (size_t) st->nlanes, sizeof(DbLane *), genesis_cmp);
	for (int i = 1; i < st->nlanes; i++)
		if (memcmp(st->by_genesis[i - 1]->genesis, st->by_genesis[i]->genesis, 32) == 0)
			lane_pre_problem(st->by_genesis[i], 1, 0,
							 "lane %d of %s has the same genesis as lane %d of %s: a lane was copied",
							 st->by_genesis[i]->lane, st->by_genesis[i]->t->display,
							 st->by_genesis[i - 1]->lane, st->by_genesis[i - 1]->t->display);
}

/*
 * select_tables
 *		--table: keep only the named tables (each must be a chained table).
 */
static void
select_tables(DbState *st)
{
	if (st->opt->ntables == 0)
		return;
	for (int i = 0; i < st->ntables; i++)
		st->tables[i].selected = false;
	/* names are resolved with the user's search_path, as psql would */
	PQclear(query(st, "search_path", "SET search_path TO DEFAULT", 0, NULL));
	for (int k = 0; k < st->opt->ntables; k++)
	{
		const char *params[1] = {st->opt->tables[k]};
		PGresult   *res = PQexecParams(st->conn,
									   "SELECT pg_catalog.to_regclass($1)::pg_catalog.oid",
									   1, NULL, params, NULL, NULL, 0);
		bool		found = false;

		if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
			av_die("--table \"%s\": %s", st->opt->tables[k],
				   first_line(PQerrorMessage(st->conn)));
		if (PQgetisnull(res, 0, 0))
			av_die("--table \"%s\": no such table", st->opt->tables[k]);
		for (int i = 0; i < st->ntables; i++)
			if (strcmp(st->tables[i].oid, PQgetvalue(res, 0, 0)) == 0)
			{
				st->tables[i].selected = true;
				found = true;
			}
		PQclear(res);
		if (!found)
			av_die("--table \"%s\" is not a chained table (it has no lane in audit_chain.chains)",
				   st->opt->tables[k]);
	}
	PQclear(query(st, "search_path", "SET search_path = pg_catalog, pg_temp", 0, NULL));
}

/*
 * read_columns
 *		The hashed columns of each table (doc/hash-format.md section 2).
 */
static void
read_columns(DbState *st)
{
	for (int i = 0; i < st->ntables; i++)
	{
		DbTable    *t = &st->tables[i];
		const char *params[1] = {t->oid};
		PGresult   *res;
		size_t		listlen = 1;
		char	  **quoted;

		if (!t->exists)
			continue;
		res = query(st, "the columns of a chained table",
					"SELECT a.attname FROM pg_catalog.pg_attribute a "
					"WHERE a.attrelid = $1::pg_catalog.oid AND a.attnum > 0 "
					"AND NOT a.attisdropped AND a.attgenerated = '' "
					"AND a.attname NOT IN ('chain_lane', 'chain_seq', 'chain_at', 'chain_prev', 'chain_hash') "
					"ORDER BY a.attnum", 1, params);
		t->ncols = PQntuples(res);
		t->colnames = av_malloc(sizeof(char *) * (size_t) (t->ncols + 1));
		t->collens = av_malloc(sizeof(size_t) * (size_t) (t->ncols + 1));
		quoted = av_malloc(sizeof(char *) * (size_t) (t->ncols + 1));
		for (int c = 0; c < t->ncols; c++)
		{
			t->colnames[c] = av_strdup(PQgetvalue(res, c, 0));
			t->collens[c] = strlen(t->colnames[c]);
			quoted[c] = PQescapeIdentifier(st->conn, t->colnames[c], t->collens[c]);
			listlen += strlen(quoted[c]) + 2;
		}
		t->select_list = av_malloc(listlen);
		t->select_list[0] = '\0';
		for (int c = 0; c < t->ncols; c++)
		{
			strcat(t->select_list, ", ");
			strcat(t->select_list, quoted[c]);
			PQfreemem(quoted[c]);
		}
		free(quoted);
		PQclear(res);
	}
}

/* qsort order of redactions: lane, seq */
static int
redaction_cmp(const void *a, const void *b)
{
	const AvRedaction *x = a;
	const AvRedaction *y = b;

	if (x->lane != y->lane)
		return x->lane < y->lane ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * read_redactions
 *		The kept digests of redacted columns, per table (doc/hash-format.md
 *		section 1).  A record of a table that is not registered is ignored;
 *		one naming a column that is not hashed is kept with col -1 (the row
 *		then fails).
 */
static void
read_redactions(DbState *st)
{
	PGresult   *res = query(st, "audit_chain.redactions",
							"SELECT tbl::pg_catalog.oid, lane, seq, column_name, digest "
							"FROM audit_chain.redactions ORDER BY 1, 2, 3", 0, NULL);
	int			n = PQntuples(res);

	for (int i = 0; i < n; i++)
	{
		DbTable    *t = NULL;
		AvRedaction *rd;
		const char *col = PQgetvalue(res, i, 3);

		for (int k = 0; k < st->ntables; k++)
			if (strcmp(st->tables[k].oid, PQgetvalue(res, i, 0)) == 0)
				t = &st->tables[k];
		if (t == NULL || !t->exists)
			continue;
		if (t->nred == t->red_cap)
		{
			t->red_cap = t->red_cap ? 2 * t->red_cap : 16;
			t->red = av_realloc(t->red, sizeof(AvRedaction) * (size_t) t->red_cap);
		}
		rd = &t->red[t->nred++];
		memset(rd, 0, sizeof(*rd));
		rd->lane = (int) field_int(res, i, 1);
		rd->seq = field_int(res, i, 2);
		rd->column_name = av_strdup(col);
		rd->col = -1;
		for (int c = 0; c < t->ncols; c++)
			if (strcmp(t->colnames[c], col) == 0)
				rd->col = c;
		rd->bad_digest = !field_hash(res, i, 4, rd->digest);
	}
	PQclear(res);
	for (int k = 0; k < st->ntables; k++)
		if (st->tables[k].nred > 1)
			qsort(st->tables[k].red, (size_t) st->tables[k].nred,
				  sizeof(AvRedaction), redaction_cmp);
}

/*
 * check_boundaries
 *		Each lane's boundaries in audit_chain.chains must be the "to" of the
 *		newest record of their kind in audit_chain.boundaries (a chained
 *		table, walked like the others), or seq 0 and no hash when there is
 *		none (doc/hash-format.md section 5).
 */
static void
check_boundaries(DbState *st)
{
	PGresult   *res = query(st, "audit_chain.boundaries",
							"SELECT kind, lane_genesis, to_seq, to_hash "
							"FROM audit_chain.boundaries ORDER BY chain_seq", 0, NULL);
	int			n = PQntuples(res);
	Boundary   *b = av_malloc(sizeof(Boundary) * (size_t) (st->nlanes + 1));

	memset(b, 0, sizeof(Boundary) * (size_t) (st->nlanes + 1));
	/* b[i] belongs to st->by_genesis[i] */
	for (int i = 0; i < n; i++)
	{
		uint8_t		g[32];
		uint8_t		h[32];
		DbLane	   *l;
		int			idx;
		bool		purge = strcmp(PQgetvalue(res, i, 0), "purge") == 0;

		if (!field_hash(res, i, 1, g))
			continue;			/* a bad record fails the boundaries chain */
		l = lane_by_genesis(st, g);
		if (l == NULL)
			continue;			/* a lane no longer registered */
		idx = 0;
		while (st->by_genesis[idx] != l)
			idx++;
		if (!field_hash(res, i, 3, h))
			memset(h, 0, 32);
		if (purge)
		{
			b[idx].has_purge = true;
			b[idx].purge_seq = field_int(res, i, 2);
			memcpy(b[idx].purge_hash, h, 32);
		}
		else
		{
			b[idx].has_archive = true;
			b[idx].archive_seq = field_int(res, i, 2);
			memcpy(b[idx].archive_hash, h, 32);
		}
	}
	PQclear(res);

	for (int i = 0; i < st->nlanes; i++)
	{
		DbLane	   *l = st->by_genesis[i];
		Boundary   *bd = &b[i];

		if (bd->has_archive)
		{
			if (bd->archive_seq != l->archived_seq ||
				memcmp(bd->archive_hash, l->archived_hash, 32) != 0)
				lane_pre_problem(l, (bd->archive_seq < l->archived_seq ? bd->archive_seq : l->archived_seq) + 1, 0,
								 "the lane starts after chain_seq %lld in audit_chain.chains, but audit_chain.boundaries records its last archive through chain_seq %lld: the boundary was moved without audit_chain.archive()",
								 (long long) l->archived_seq, (long long) bd->archive_seq);
		}
		else if (l->archived_seq != 0 || l->archived_hash_set)
			lane_pre_problem(l, 1, 0,
							 "the lane starts after chain_seq %lld in audit_chain.chains, but audit_chain.boundaries records no archive of it: the boundary was moved without audit_chain.archive()",
							 (long long) l->archived_seq);
		if (bd->has_purge)
		{
			if (bd->purge_seq != l->purged_seq ||
				memcmp(bd->purge_hash, l->purged_hash, 32) != 0)
				lane_pre_problem(l, (bd->purge_seq < l->purged_seq ? bd->purge_seq : l->purged_seq) + 1, 0,
								 "the archived rows of the lane start after chain_seq %lld in audit_chain.chains, but audit_chain.boundaries records its last purge through chain_seq %lld: the boundary was moved without the purge",
								 (long long) l->purged_seq, (long long) bd->purge_seq);
		}
		else if (l->purged_seq != 0 || l->purged_hash_set)
			lane_pre_problem(l, 1, 0,
							 "the archived rows of the lane start after chain_seq %lld in audit_chain.chains, but audit_chain.boundaries records no purge of it: the boundary was moved without the purge",
							 (long long) l->purged_seq);
		if (l->purged_seq > l->archived_seq)
			lane_pre_problem(l, l->archived_seq + 1, 0,
							 "the purge boundary (chain_seq %lld) is past the archive boundary (chain_seq %lld)",
							 (long long) l->purged_seq, (long long) l->archived_seq);
	}
	free(b);
}

/*
 * apply_checkpoint
 *		What a checkpoint (stored or published) says about each lane: its
 *		boundaries only moved forward since, and its head and its boundaries
 *		past today's purge boundary are rows of the chain as recorded.  The
 *		rows are checked during the walk (expectations).
 */
static void
apply_checkpoint(DbState *st, const AvPayload *p, const char *source)
{
	for (int i = 0; i < p->nlanes; i++)
	{
		const AvPayloadLane *pl = &p->lanes[i];
		DbLane	   *l = lane_by_genesis(st, pl->genesis);
		int64_t		cp = p->checkpoint_id;

		if (l == NULL)
		{
			av_result_warn(st->r, "checkpoint %lld (%s) records lane %d of %s, whose genesis is not in audit_chain.chains any more (unprotected?): not checked",
						   (long long) cp, source, pl->lane, pl->table);
			continue;
		}
		if (!l->t->selected)
			continue;
		if (l->lane != pl->lane)
			lane_pre_problem(l, 1, cp,
							 "checkpoint %lld recorded this lane's genesis as lane %d, it is lane %d now: lanes were renumbered",
							 (long long) cp, pl->lane, l->lane);
		if (pl->purged_seq > l->purged_seq)
			lane_pre_problem(l, l->purged_seq + 1, cp,
							 "checkpoint %lld recorded the purge boundary at chain_seq %lld, it is at chain_seq %lld now: the boundary was moved back",
							 (long long) cp, (long long) pl->purged_seq, (long long) l->purged_seq);
		else if (pl->start_seq > l->archived_seq)
			lane_pre_problem(l, l->archived_seq + 1, cp,
							 "checkpoint %lld recorded the archive boundary at chain_seq %lld, it is at chain_seq %lld now: the boundary was moved back",
							 (long long) cp, (long long) pl->start_seq, (long long) l->archived_seq);
		else if (pl->purged_seq == l->purged_seq &&
				 memcmp(pl->purged_hash, l->purged_hash, 32) != 0)
			lane_pre_problem(l, l->purged_seq + 1, cp,
							 "the purge boundary's hash is not the one checkpoint %lld recorded: the chain was rewritten",
							 (long long) cp);
		else if (pl->start_seq == l->archived_seq &&
				 memcmp(pl->start_hash, l->archived_hash, 32) != 0)
			lane_pre_problem(l, l->archived_seq + 1, cp,
							 "the archive boundary's hash is not the one checkpoint %lld recorded: the chain was rewritten",
							 (long long) cp);
		lane_expect(l, pl->head_seq, pl->head_hash, pl->head_at_set,
					pl->head_at, cp, "head");
		if (pl->start_seq > l->purged_seq && pl->start_seq < pl->head_seq)
			lane_expect(l, pl->start_seq, pl->start_hash, false, 0, cp,
						"archive boundary");
		if (pl->purged_seq > l->purged_seq && pl->purged_seq < pl->start_seq)
			lane_expect(l, pl->purged_seq, pl->purged_hash, false, 0, cp,
						"purge boundary");
	}
}

/*
 * load_signing_keys
 *		audit_chain.signing_keys, if the installed version has it: each key
 *		must hash to its key id.
 */
static AvKey *
load_signing_keys(DbState *st, int *nkeys)
{
	PGresult   *res;
	AvKey	   *keys;
	int			n;

	*nkeys = 0;
	res = query(st, "the catalog",
				"SELECT pg_catalog.to_regclass('audit_chain.signing_keys') IS NOT NULL", 0, NULL);
	if (PQgetvalue(res, 0, 0)[0] != 't')
	{
		PQclear(res);
		return NULL;
	}
	PQclear(res);
	res = query(st, "audit_chain.signing_keys",
				"SELECT key_id, public_key FROM audit_chain.signing_keys", 0, NULL);
	n = PQntuples(res);
	keys = av_malloc(sizeof(AvKey) * (size_t) (n + 1));
	for (int i = 0; i < n; i++)
	{
		uint8_t		kid[32];
		char		err[AV_ERRLEN];
		char		hex[65];
		AvKey		k;

		if (!field_hash(res, i, 0, kid))
		{
			av_result_fail(st->r, NULL, -1, false, 0, 0,
						   "a row of audit_chain.signing_keys has a key_id that is not 32 bytes");
			continue;
		}
		av_hex(kid, 32, hex);
		if (!av_key_from_pem(PQgetvalue(res, i, 1), (size_t) PQgetlength(res, i, 1), &k, err))
		{
			av_result_fail(st->r, NULL, -1, false, 0, 0,
						   "key %s of audit_chain.signing_keys: %s", hex, err);
			continue;
		}
		if (memcmp(k.key_id, kid, 32) != 0)
		{
			av_result_fail(st->r, NULL, -1, false, 0, 0,
						   "key %s of audit_chain.signing_keys does not hash to its key_id: the key was replaced",
						   hex);
			av_key_free(&k);
			continue;
		}
		k.source = av_strdup("audit_chain.signing_keys");
		keys[(*nkeys)++] = k;
	}
	PQclear(res);
	return keys;
}

/*
 * read_checkpoints
 *		Every stored checkpoint: its payload parses, its previous digest
 *		links to the checkpoint before it, its signature verifies with its
 *		key from audit_chain.signing_keys (and the key is a --public-key
 *		key, when some were given), and its heads go to the lanes.  Then
 *		every published file: it must be stored, byte for byte, and its heads
 *		go to the lanes too.
 */
static void
read_checkpoints(DbState *st)
{
	PGresult   *res;
	int			n;
	int			nkeys;
	AvKey	   *keys = load_signing_keys(st, &nkeys);
	uint8_t		prev_digest[32];
	bool		have_prev = false;
	int64_t		prev_id = 0;
	uint8_t   **stored_payloads;
	size_t	   *stored_lens;
	int64_t    *stored_ids;

	res = query(st, "audit_chain.checkpoints",
				"SELECT checkpoint_id, payload, signature, key_id "
				"FROM audit_chain.checkpoints ORDER BY checkpoint_id", 0, NULL);
	n = PQntuples(res);
	stored_payloads = av_malloc(sizeof(uint8_t *) * (size_t) (n + 1));
	stored_lens = av_malloc(sizeof(size_t) * (size_t) (n + 1));
	stored_ids = av_malloc(sizeof(int64_t) * (size_t) (n + 1));
	for (int i = 0; i < n; i++)
	{
		int64_t		id = field_int(res, i, 0);
		size_t		plen = 0;
		uint8_t    *payload = PQunescapeBytea((const unsigned char *) PQgetvalue(res, i, 1), &plen);
		AvPayload	p;
		char		err[AV_ERRLEN];
		AvCheckpoint *c = av_result_add_checkpoint(st->r);
		uint8_t		digest[32];

		if (payload == NULL)
			av_die("out of memory");
		stored_payloads[i] = payload;
		stored_lens[i] = plen;
		stored_ids[i] = id;
		c->id = id;
		c->source = av_strdup("database");
		av_sha256_once(payload, plen, digest);
		if (!av_payload_parse((const char *) payload, plen, &p, err))
		{
			av_result_fail(st->r, NULL, -1, false, 0, id,
						   "the payload of stored checkpoint %lld is malformed: %s", (long long) id, err);
			memcpy(prev_digest, digest, 32);
			have_prev = true;
			prev_id = id;
			continue;
		}
		c->created_at = av_strdup(p.created_at);
		c->lanes = p.nlanes;
		if (p.checkpoint_id != id)
			av_result_fail(st->r, NULL, -1, false, 0, id,
						   "stored checkpoint %lld holds the payload of checkpoint %lld", (long long) id,
						   (long long) p.checkpoint_id);
		if (p.version == 1)
		{
			av_result_warn(st->r, "stored checkpoint %lld is a version 1 payload (unsigned, no genesis): its heads are not checked",
						   (long long) id);
		}
		else
		{
			/* the chain of checkpoints */
			if (!have_prev && p.has_previous)
				av_result_fail(st->r, NULL, -1, false, 0, id,
							   "stored checkpoint %lld names a previous checkpoint, but none is stored before it: checkpoints were deleted",
							   (long long) id);
			else if (have_prev && !p.has_previous)
				av_result_fail(st->r, NULL, -1, false, 0, id,
							   "stored checkpoint %lld names no previous checkpoint, but checkpoint %lld is stored before it",
							   (long long) id, (long long) prev_id);
			else if (have_prev && memcmp(p.previous, prev_digest, 32) != 0)
				av_result_fail(st->r, NULL, -1, false, 0, id,
							   "stored checkpoint %lld does not name checkpoint %lld as its previous one: a checkpoint was deleted or changed",
							   (long long) id, (long long) prev_id);

			/* the signature */
			if (p.has_key_id)
			{
				size_t		slen = 0;
				uint8_t    *sig = PQgetisnull(res, i, 2) ? NULL :
					PQunescapeBytea((const unsigned char *) PQgetvalue(res, i, 2), &slen);
				const AvKey *key = NULL;
				char		hex[65];

				av_hex(p.key_id, 32, hex);
				memcpy(c->key_id, hex, sizeof(hex));
				c->is_signed = true;
				for (int k = 0; k < nkeys; k++)
					if (memcmp(keys[k].key_id, p.key_id, 32) == 0)
						key = &keys[k];
				if (key == NULL && st->opt->nkeys > 0)
					key = av_find_key(st->opt, p.key_id);
				if (sig == NULL || slen != 64)
					av_result_fail(st->r, NULL, -1, false, 0, id,
								   "stored checkpoint %lld names key %s but has no 64-byte signature: its signature was removed",
								   (long long) id, hex);
				else if (key == NULL)
					av_result_fail(st->r, NULL, -1, false, 0, id,
								   "stored checkpoint %lld is signed by key %s, which is not in audit_chain.signing_keys",
								   (long long) id, hex);
				else if (!av_ed25519_verify(key, payload, plen, sig, slen))
					av_result_fail(st->r, NULL, -1, false, 0, id,
								   "the signature of stored checkpoint %lld does not verify with key %s: the checkpoint was forged or changed",
								   (long long) id, hex);
				else
				{
					c->signature_ok = true;
					st->r->signatures++;
					c->trusted_key = av_find_key(st->opt, p.key_id) != NULL;
					if (st->opt->nkeys > 0 && !c->trusted_key)
						av_result_warn(st->r, "stored checkpoint %lld is signed by key %s, which is not a --public-key key",
									   (long long) id, hex);
				}
				if (sig)
					PQfreemem(sig);
			}
			else if (!PQgetisnull(res, i, 2))
				av_result_fail(st->r, NULL, -1, false, 0, id,
							   "stored checkpoint %lld has a signature but its payload names no key",
							   (long long) id);
			else if (st->opt->nkeys > 0)
				av_result_warn(st->r, "stored checkpoint %lld is not signed", (long long) id);
			apply_checkpoint(st, &p, "database");
		}
		av_payload_free(&p);
		memcpy(prev_digest, digest, 32);
		have_prev = true;
		prev_id = id;
	}
	PQclear(res);

	/* published checkpoints: stored byte for byte, and their heads */
	for (int f = 0; f < st->opt->npublished; f++)
	{
		AvPublished *pub = &st->opt->published[f];
		int			found = -1;
		char	   *dbenc = av_percent_encode(st->dbname, strlen(st->dbname));

		/*
		 * Another database's checkpoint would be checked against lanes of the
		 * same genesis here, which every installation shares for
		 * audit_chain.events and audit_chain.boundaries: wrong input, not
		 * tampering.
		 */
		if (strcmp(dbenc, pub->exp.parsed.database) != 0)
			av_die("checkpoint file \"%s\" is a checkpoint of database %s, not of %s",
				   pub->path, pub->exp.parsed.database, dbenc);
		free(dbenc);
		for (int i = 0; i < n; i++)
			if (stored_ids[i] == pub->exp.checkpoint_id)
				found = i;
		if (found < 0)
			av_result_fail(st->r, NULL, -1, false, 0, pub->exp.checkpoint_id,
						   "published checkpoint %lld (%s) is not in audit_chain.checkpoints: stored checkpoints were deleted",
						   (long long) pub->exp.checkpoint_id, pub->path);
		else if (stored_lens[found] != pub->exp.payload_len ||
				 memcmp(stored_payloads[found], pub->exp.payload, pub->exp.payload_len) != 0)
			av_result_fail(st->r, NULL, -1, false, 0, pub->exp.checkpoint_id,
						   "published checkpoint %lld (%s) differs from the one stored in audit_chain.checkpoints: the stored checkpoint was replaced",
						   (long long) pub->exp.checkpoint_id, pub->path);
		apply_checkpoint(st, &pub->exp.parsed, pub->path);
	}
	for (int i = 0; i < n; i++)
		PQfreemem(stored_payloads[i]);
	free(stored_payloads);
	free(stored_lens);
	free(stored_ids);
	for (int k = 0; k < nkeys; k++)
		av_key_free(&keys[k]);
	free(keys);
}

/*
 * check_stray_rows
 *		Rows in no lane of their table (chain_lane NULL or not a registered
 *		lane), in the live table and its archive table.
 */
static void
check_stray_rows(DbState *st, DbTable *t)
{
	const char *rels[2] = {t->qualified, t->archive_qualified};

	for (int k = 0; k < 2; k++)
	{
		char	   *sql;
		PGresult   *res;

		if (rels[k] == NULL)
			continue;
		sql = av_sprintf("SELECT pg_catalog.count(*), pg_catalog.min(chain_seq) FROM %s "
						 "WHERE chain_lane IS NULL OR chain_lane < 0 OR chain_lane >= %d",
						 rels[k], t->nlanes);
		res = query(st, rels[k], sql, 0, NULL);
		free(sql);
		if (field_int(res, 0, 0) > 0)
			av_result_fail(st->r, t->encoded, -1, !PQgetisnull(res, 0, 1),
						   PQgetisnull(res, 0, 1) ? 0 : field_int(res, 0, 1), 0,
						   "%s rows of %s%s are in no lane (chain_lane NULL or not a registered lane): they are not sealed into the chain",
						   PQgetvalue(res, 0, 0), k ? "the archive table of " : "", t->display);
		PQclear(res);
	}
}

/*
 * check_copy_row
 *		One COPY row of a lane (chain_seq, chain_at, chain_prev, chain_hash,
 *		then the hashed columns) into the walk.
 */
static void
check_copy_row(AvWalk *w, const AvCopyRow *row, int ncols, const char *rel,
			   char **error)
{
	int64_t		seq,
				at;
	uint8_t		prev[32],
				hash[32];

	if (row->fields[0].data == NULL || row->fields[1].data == NULL ||
		row->fields[2].data == NULL || row->fields[3].data == NULL)
	{
		w->rows++;
		seq = w->expect_seq;
		if (row->fields[0].data != NULL)
			(void) av_parse_int64(row->fields[0].data, row->fields[0].len, &seq);
		av_walk_problem(w, seq, 0, "a row is not sealed: its chain columns are NULL");
		return;
	}
	if (!av_parse_int64(row->fields[0].data, row->fields[0].len, &seq))
	{
		if (*error == NULL)
			*error = av_sprintf("unexpected chain_seq from %s", rel);
		return;
	}
	if (!av_parse_timestamptz(row->fields[1].data, row->fields[1].len, &at))
	{
		w->rows++;
		av_walk_problem(w, seq, 0, "chain_at of chain_seq %lld is not a finite timestamp (\"%.*s\")",
						(long long) seq, (int) (row->fields[1].len > 64 ? 64 : row->fields[1].len),
						row->fields[1].data);
		return;
	}
	if (!av_parse_bytea_hash(row->fields[2].data, row->fields[2].len, prev) ||
		!av_parse_bytea_hash(row->fields[3].data, row->fields[3].len, hash))
	{
		w->rows++;
		av_walk_problem(w, seq, 0, "chain_prev or chain_hash of chain_seq %lld is not 32 bytes",
						(long long) seq);
		return;
	}
	for (int c = 0; c < ncols; c++)
	{
		const AvCopyField *f = &row->fields[4 + c];

		if (f->data == NULL)
			w->terms[c].kind = AV_TERM_NULL;
		else
		{
			w->terms[c].kind = AV_TERM_TEXT;
			w->terms[c].text = f->data;
			w->terms[c].len = f->len;
		}
	}
	av_walk_row(w, seq, at, prev, hash);
}

/*
 * stream_rows
 *		COPY the rows of one lane of relation rel in seq order into the
 *		walk.  Returns NULL, or an error message (the walk could not run).
 */
static char *
stream_rows(PGconn *conn, DbLane *l, const char *rel, AvWalk *w,
			int64_t *count)
{
	DbTable    *t = l->t;
	char	   *sql;
	PGresult   *res;
	AvCopyRow	row;
	char		err[AV_ERRLEN];
	char	   *error = NULL;
	char	   *buf;
	int			n;

	memset(&row, 0, sizeof(row));
	sql = av_sprintf("COPY (SELECT chain_seq, chain_at, chain_prev, chain_hash%s FROM %s "
					 "WHERE chain_lane = %d ORDER BY chain_seq) TO STDOUT",
					 t->select_list, rel, l->lane);
	res = PQexec(conn, sql);
	free(sql);
	if (PQresultStatus(res) != PGRES_COPY_OUT)
	{
		error = av_sprintf("could not read %s: %s", rel, first_line(PQerrorMessage(conn)));
		PQclear(res);
		return error;
	}
	PQclear(res);
	while ((n = PQgetCopyData(conn, &buf, 0)) > 0)
	{
		(*count)++;
		if ((*count & 4095) == 0)
			__atomic_store_n(&l->progress, l->archived_rows + *count, __ATOMIC_RELAXED);
		/* the fields point into buf: it is freed after the row is checked */
		if (!av_copy_parse_row(buf, (size_t) n, &row, err) ||
			row.nfields != 4 + t->ncols)
		{
			if (error == NULL)
				error = av_sprintf("unexpected COPY data from %s: %s", rel,
								   row.nfields != 4 + t->ncols ? "wrong number of fields" : err);
		}
		else if (w->bad)
			w->rows++;
		else
			check_copy_row(w, &row, t->ncols, rel, &error);
		PQfreemem(buf);
	}
	if (n == -2 && error == NULL)
		error = av_sprintf("could not read %s: %s", rel, first_line(PQerrorMessage(conn)));
	res = PQgetResult(conn);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && error == NULL)
		error = av_sprintf("could not read %s: %s", rel, first_line(PQerrorMessage(conn)));
	PQclear(res);
	while ((res = PQgetResult(conn)) != NULL)
		PQclear(res);
	av_copy_row_free(&row);
	__atomic_store_n(&l->progress, l->archived_rows + *count, __ATOMIC_RELAXED);
	return error;
}

/*
 * walk_lane
 *		The whole lane: from the purge boundary through the archived
 *		segment (archive table) to the archive boundary, then the live lane
 *		to its head; every checkpoint head on the way.
 */
static void
walk_lane(PGconn *conn, DbLane *l)
{
	DbTable    *t = l->t;
	AvHasher	h;
	AvWalk		w;
	double		t0 = now_seconds();
	int64_t		count = 0;

	av_hasher_init(&h, t->ncols, (const char *const *) t->colnames, t->collens);
	{
		int			first = 0,
					nred = 0;

		while (first < t->nred && t->red[first].lane < l->lane)
			first++;
		while (first + nred < t->nred && t->red[first + nred].lane == l->lane)
			nred++;
		av_walk_init(&w, l->lane, &h, t->ncols, (const char *const *) t->colnames,
					 l->exp, l->nexp, t->red + first, nred);
	}
	l->exp = NULL;				/* the walk owns them now */
	if (l->pre_bad)
		av_walk_problem(&w, l->pre_seq, l->pre_cp, "%s", l->pre_problem);
	av_walk_start(&w, l->purged_seq, l->purged_hash);

	if (t->archive_qualified != NULL)
	{
		l->error = stream_rows(conn, l, t->archive_qualified, &w, &count);
		l->archived_rows = count;
		av_walk_segment_end(&w, l->archived_seq, l->archived_hash, "archived segment");
	}
	else if (l->archived_seq > l->purged_seq)
		av_walk_problem(&w, l->archived_seq, 0,
						"rows through chain_seq %lld were archived, but the table has no archive table",
						(long long) l->archived_seq);
	if (l->error == NULL)
	{
		count = 0;
		l->error = stream_rows(conn, l, t->qualified, &w, &count);
		l->live_rows = count;
	}
	av_walk_finish(&w, true);

	l->bad = w.bad;
	l->bad_seq = w.bad_seq;
	l->bad_cp = w.bad_checkpoint;
	l->problem = w.problem ? av_strdup(w.problem) : NULL;
	l->head_seq = w.last_seq;
	memcpy(l->head_hash, w.prev, 32);
	l->redacted = w.redacted;
	l->seconds = now_seconds() - t0;
	av_walk_free(&w);
	av_hasher_free(&h);
}

typedef struct Worker
{
	DbState    *st;
	pthread_t	thread;
	PGconn	   *conn;
	char	   *error;
} Worker;

/*
 * worker_main
 *		A worker thread: take the next lane, walk it, until none is left.
 */
static void *
worker_main(void *arg)
{
	Worker	   *wk = arg;
	DbState    *st = wk->st;

	for (;;)
	{
		int			i;
		DbLane	   *l;

		pthread_mutex_lock(&st->lock);
		i = st->next_work++;
		pthread_mutex_unlock(&st->lock);
		if (i >= st->nwork)
			break;
		l = st->work[i];
		__atomic_store_n(&l->state, 1, __ATOMIC_RELAXED);
		walk_lane(wk->conn, l);
		__atomic_store_n(&l->state, 2, __ATOMIC_RELEASE);
		if (l->error)
			break;				/* its connection may be unusable */
	}
	__atomic_sub_fetch(&st->running, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * open_worker
 *		A worker's connection, in the main connection's snapshot.
 */
static void
open_worker(DbState *st, Worker *wk)
{
	char	   *err;
	PGresult   *res;

	wk->st = st;
	wk->conn = connect_db(st->opt->dbname, &err);
	if (wk->conn == NULL)
		av_die("could not open a worker connection: %s", err);
	res = PQexec(wk->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		av_die("could not start a transaction: %s", first_line(PQerrorMessage(wk->conn)));
	PQclear(res);
	if (st->snapshot)
	{
		const char *params[1] = {st->snapshot};
		char	   *sql;

		/* SET TRANSACTION SNAPSHOT takes no parameter: quote it */
		{
			char	   *lit = PQescapeLiteral(wk->conn, params[0], strlen(params[0]));

			sql = av_sprintf("SET TRANSACTION SNAPSHOT %s", lit);
			PQfreemem(lit);
		}
		res = PQexec(wk->conn, sql);
		free(sql);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			av_die("could not import the snapshot: %s", first_line(PQerrorMessage(wk->conn)));
		PQclear(res);
	}

	/*
	 * A lane is read in seq order by the chained table's unique index on
	 * (chain_lane, chain_seq).  Left to itself, the planner prefers a
	 * (parallel) bitmap scan and a sort, which for a big lane spills to disk
	 * and costs more than the index scan; and parallel workers would take
	 * the cores the other lanes need.  Measured in test/bench/README.md.
	 * The disabled plans' costs would also start JIT compilation (with
	 * inlining and optimization) for every lane's query: jit is off.
	 */
	res = PQexec(wk->conn, WORKER_SETTINGS);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		av_die("could not set up a worker connection: %s", first_line(PQerrorMessage(wk->conn)));
	PQclear(res);
}

/* lanes in the order to walk: by table, then lane */
static void
plan_work(DbState *st)
{
	st->work = av_malloc(sizeof(DbLane *) * (size_t) (st->nlanes + 1));
	for (int i = 0; i < st->nlanes; i++)
		if (st->lanes[i].t->selected && st->lanes[i].t->exists)
			st->work[st->nwork++] = &st->lanes[i];
}

/*
 * show_progress
 *		One line on stderr (a terminal): rows and rows/s, and each lane
 *		being walked with its rows.
 */
static void
show_progress(DbState *st, double t0, bool last)
{
	int64_t		rows = 0;
	int			done = 0;
	char		active[512] = "";
	size_t		alen = 0;
	double		el = now_seconds() - t0;

	for (int i = 0; i < st->nwork; i++)
	{
		DbLane	   *l = st->work[i];
		int			s = __atomic_load_n(&l->state, __ATOMIC_ACQUIRE);
		int64_t		p = __atomic_load_n(&l->progress, __ATOMIC_RELAXED);

		rows += s == 2 ? l->archived_rows + l->live_rows : p;
		if (s == 2)
			done++;
		else if (s == 1 && alen < sizeof(active) - 80)
			alen += (size_t) snprintf(active + alen, sizeof(active) - alen, "  %s/%d %lldk",
									  l->t->display, l->lane, (long long) (p / 1000));
	}
	fprintf(stderr, "\r\033[K%lld rows, %.0f rows/s, lanes %d/%d done%s",
			(long long) rows, el > 0 ? (double) rows / el : 0.0, done, st->nwork,
			active);
	if (last)
		fputs("\r\033[K", stderr);
	fflush(stderr);
}

/*
 * av_verify_database
 *		Verify the database opt->dbname into r (see the file comment).
 */
void
av_verify_database(AvOptions *opt, AvResult *r)
{
	DbState		st;
	char	   *err;
	Worker	   *workers;
	int			nworkers;
	double		t0;

	memset(&st, 0, sizeof(st));
	st.opt = opt;
	st.r = r;
	pthread_mutex_init(&st.lock, NULL);
	st.conn = connect_db(opt->dbname, &err);
	if (st.conn == NULL)
		av_die("could not connect to the database: %s", err);
	open_snapshot(&st);
	read_registry(&st);
	select_tables(&st);
	read_columns(&st);
	read_redactions(&st);
	check_boundaries(&st);
	read_checkpoints(&st);
	for (int i = 0; i < st.ntables; i++)
		if (st.tables[i].selected && st.tables[i].exists)
			check_stray_rows(&st, &st.tables[i]);
	plan_work(&st);

	nworkers = opt->jobs < st.nwork ? opt->jobs : st.nwork;
	r->jobs = nworkers;
	workers = av_malloc(sizeof(Worker) * (size_t) (nworkers + 1));
	memset(workers, 0, sizeof(Worker) * (size_t) (nworkers + 1));
	for (int i = 0; i < nworkers; i++)
		open_worker(&st, &workers[i]);
	/* every worker holds the snapshot now: the main transaction may end */
	t0 = now_seconds();
	st.running = nworkers;
	for (int i = 0; i < nworkers; i++)
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0)
			av_die("could not start a thread");
	if (opt->progress)
	{
		while (__atomic_load_n(&st.running, __ATOMIC_ACQUIRE) > 0)
		{
			show_progress(&st, t0, false);
			usleep(250000);
		}
		show_progress(&st, t0, true);
	}
	for (int i = 0; i < nworkers; i++)
		pthread_join(workers[i].thread, NULL);
	r->seconds = now_seconds() - t0;

	for (int i = 0; i < st.nwork; i++)
		if (st.work[i]->error)
			av_die("%s", st.work[i]->error);
	for (int i = 0; i < st.nwork; i++)
	{
		DbLane	   *l = st.work[i];
		AvLane	   *al;

		if (l->state != 2)
			av_die("lane %d of %s was not walked", l->lane, l->t->display);
		al = av_result_add_lane(r);
		al->table = av_strdup(l->t->encoded);
		al->lane = l->lane;
		memcpy(al->genesis, l->genesis, 32);
		al->start_seq = l->purged_seq;
		al->archived_seq = l->archived_seq;
		al->archived_rows = l->archived_rows;
		al->live_rows = l->live_rows;
		al->head_seq = l->head_seq;
		memcpy(al->head_hash, l->head_hash, 32);
		al->intact = !l->bad;
		al->checkpoints = l->nexp;
		al->seconds = l->seconds;
		r->rows += l->archived_rows + l->live_rows;
		r->redactions += l->redacted;
		if (l->bad)
			av_result_fail(r, l->t->encoded, l->lane, true, l->bad_seq, l->bad_cp,
						   "%s", l->problem);
	}
	/* lanes of tables that could not be read */
	for (int i = 0; i < st.nlanes; i++)
		if (st.lanes[i].t->selected && !st.lanes[i].t->exists)
			av_result_fail(r, st.lanes[i].t->encoded, st.lanes[i].lane, false, 0, 0,
						   "%s", st.lanes[i].pre_problem);
	for (int i = 0; i < nworkers; i++)
		PQfinish(workers[i].conn);
	PQfinish(st.conn);
	free(workers);
}
