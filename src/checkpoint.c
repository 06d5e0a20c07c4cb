/*-------------------------------------------------------------------------
 *
 * checkpoint.c
 *	  checkpoint() and export_checkpoint(): the payload v2 of
 *	  doc/checkpoints.md, signed with the key of audit_chain.signing_key_file,
 *	  and its JSON export.
 *
 * A checkpoint records, for every lane of every chained table, its genesis,
 * its head (seq, hash and chain_at of its last committed row) and its two
 * boundaries (archive and purge), and the SHA-256 of the previous
 * checkpoint's payload, so that checkpoints form a chain of their own.
 * Checkpoints are taken one at a time: checkpoint() holds a lock on
 * audit_chain.checkpoints that conflicts with itself until its transaction
 * ends.
 *
 * The caller needs EXECUTE on checkpoint() (not granted to PUBLIC).  The
 * heads are read directly, as the seal trigger reads them, and the
 * checkpoint is written as the owner of the extension's tables
 * (registry.c's ac_execute_as), as the SECURITY DEFINER function it
 * replaces did.
 *
 * The payload is built and parsed here (verify.c checks stored and
 * published checkpoints with ac_parse_checkpoint), and every parsed payload
 * must write back to the same bytes: there is one way to write each one.
 *
 * IDENTIFICATION
 *	  src/checkpoint.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "chaintable.h"
#include "checkpoint.h"
#include "hash.h"
#include "lane.h"
#include "registry.h"
#include "sign.h"

/*
 * ac_encode_name
 *		Append a name percent-encoded as doc/checkpoints.md section 1 says:
 *		its UTF-8 bytes, each one that is not A-Z, a-z, 0-9 or _ written as
 *		% and two upper-case hex digits.
 */
void
ac_encode_name(StringInfo buf, const char *name)
{
	static const char hexdigits[] = "0123456789ABCDEF";
	const unsigned char *utf8;

	utf8 = (const unsigned char *) pg_server_to_any(name, strlen(name), PG_UTF8);
	for (const unsigned char *p = utf8; *p != '\0'; p++)
	{
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			(*p >= '0' && *p <= '9') || *p == '_')
			appendStringInfoChar(buf, (char) *p);
		else
		{
			appendStringInfoChar(buf, '%');
			appendStringInfoChar(buf, hexdigits[*p >> 4]);
			appendStringInfoChar(buf, hexdigits[*p & 0x0f]);
		}
	}
}

/*
 * ac_encoded_relname
 *		A relation's schema and name, each percent-encoded, joined by ".":
 *		how a payload names a table.  NULL if there is no such relation.
 */
char *
ac_encoded_relname(Oid relid)
{
	char	   *relname = get_rel_name(relid);
	char	   *nspname;
	StringInfoData buf;

	if (relname == NULL)
		return NULL;
	nspname = get_namespace_name(get_rel_namespace(relid));
	if (nspname == NULL)
		return NULL;
	initStringInfo(&buf);
	ac_encode_name(&buf, nspname);
	appendStringInfoChar(&buf, '.');
	ac_encode_name(&buf, relname);
	return buf.data;
}

/*
 * ac_checkpoint_time
 *		A time as a payload writes it: UTC, YYYY-MM-DDTHH:MM:SS.ffffffZ.
 */
char *
ac_checkpoint_time(TimestampTz t)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (TIMESTAMP_NOT_FINITE(t) ||
		timestamp2tm(t, NULL, &tm, &fsec, NULL, NULL) != 0 ||
		tm.tm_year < 1 || tm.tm_year > 9999)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range for a checkpoint")));
	return psprintf("%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
					tm.tm_year, tm.tm_mon, tm.tm_mday,
					tm.tm_hour, tm.tm_min, tm.tm_sec, (int) fsec);
}

/*
 * lane_cmp
 *		Payload order of lane lines: by table as bytes, then by lane.
 */
static int
lane_cmp(const void *a, const void *b)
{
	const AcCheckpointLane *la = (const AcCheckpointLane *) a;
	const AcCheckpointLane *lb = (const AcCheckpointLane *) b;
	int			c = strcmp(la->tbl, lb->tbl);

	if (c != 0)
		return c;
	return (la->lane > lb->lane) - (la->lane < lb->lane);
}

/*
 * format_payload
 *		Write a payload v2: the one way to write each checkpoint.
 */
static void
format_payload(StringInfo buf, const AcCheckpointPayload *cp)
{
	appendStringInfo(buf, "%s\n", AC_CHECKPOINT_V2);
	appendStringInfo(buf, "checkpoint_id " INT64_FORMAT "\n", cp->checkpoint_id);
	appendStringInfo(buf, "created_at %s\n", cp->created_at);
	appendStringInfo(buf, "database %s\n", cp->database);
	appendStringInfo(buf, "previous %s\n",
					 cp->has_previous ? ac_hash_hex(cp->previous) : "none");
	appendStringInfo(buf, "key_id %s\n",
					 cp->has_key_id ? ac_hash_hex(cp->key_id) : "none");
	for (int i = 0; i < cp->nlanes; i++)
	{
		const AcCheckpointLane *l = &cp->lanes[i];

		appendStringInfo(buf, "lane %s %d %s " INT64_FORMAT " %s ",
						 l->tbl, l->lane, ac_hash_hex(l->genesis),
						 l->head_seq, ac_hash_hex(l->head_hash));
		if (l->head_has_at)
			appendStringInfo(buf, INT64_FORMAT, l->head_at_us);
		else
			appendStringInfoChar(buf, '-');
		appendStringInfo(buf, " " INT64_FORMAT " %s " INT64_FORMAT " %s\n",
						 l->start_seq, ac_hash_hex(l->start_hash),
						 l->purged_seq, ac_hash_hex(l->purged_hash));
	}
	appendStringInfo(buf, "end %d\n", cp->nlanes);
}

/*
 * parse_hex
 *		64 lower-case hex digits into 32 bytes.
 */
static bool
parse_hex(const char *s, uint8 *out)
{
	if (strlen(s) != AC_HASH_LEN * 2)
		return false;
	for (int i = 0; i < AC_HASH_LEN; i++)
	{
		int			v = 0;

		for (int j = 0; j < 2; j++)
		{
			char		c = s[i * 2 + j];

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= c - '0';
			else if (c >= 'a' && c <= 'f')
				v |= c - 'a' + 10;
			else
				return false;
		}
		out[i] = (uint8) v;
	}
	return true;
}

/*
 * parse_int64
 *		A decimal number (a leading - allowed if negative_ok).
 */
static bool
parse_int64(const char *s, bool negative_ok, int64 *out)
{
	char	   *end;

	if (*s == '\0' || (*s == '-' && !negative_ok) || *s == '+' ||
		isspace((unsigned char) *s))
		return false;
	errno = 0;
	*out = strtoi64(s, &end, 10);
	return errno == 0 && *end == '\0';
}

/*
 * split_fields
 *		Split a line (modified) at single spaces into at most max fields.
 */
static int
split_fields(char *line, char **fields, int max)
{
	int			n = 0;
	char	   *p = line;

	for (;;)
	{
		char	   *sp = strchr(p, ' ');

		if (n == max)
			return max + 1;
		fields[n++] = p;
		if (sp == NULL)
			return n;
		*sp = '\0';
		p = sp + 1;
	}
}

/*
 * ac_parse_checkpoint
 *		Parse a payload v2; NULL with *why set if it is not one, written
 *		exactly as checkpoint() writes it (in particular, truncated: no
 *		"end" line, or one that does not count the lane lines).
 */
AcCheckpointPayload *
ac_parse_checkpoint(const char *data, int len, char **why)
{
	AcCheckpointPayload *cp = palloc0(sizeof(AcCheckpointPayload));
	char	   *copy;
	char	   *line;
	char	   *fields[12];
	int			lineno = 0;
	int			maxlanes = 16;
	bool		ended = false;
	StringInfoData again;

	if (len <= 0 || memchr(data, '\0', len) != NULL ||
		data[len - 1] != '\n')
	{
		*why = "it is empty, holds a zero byte or does not end in a line feed";
		return NULL;
	}
	copy = pnstrdup(data, len);
	cp->lanes = palloc(sizeof(AcCheckpointLane) * maxlanes);
	line = copy;
	while (*line != '\0')
	{
		char	   *nl = strchr(line, '\n');
		int			n;

		*nl = '\0';
		lineno++;
		if (ended)
		{
			*why = "it has lines after its end line";
			return NULL;
		}
		switch (lineno)
		{
			case 1:
				if (strcmp(line, AC_CHECKPOINT_V2) != 0)
				{
					*why = "it does not start with the line audit_chain/checkpoint/v2";
					return NULL;
				}
				break;
			case 2:
				n = split_fields(line, fields, 2);
				if (n != 2 || strcmp(fields[0], "checkpoint_id") != 0 ||
					!parse_int64(fields[1], false, &cp->checkpoint_id))
				{
					*why = "its checkpoint_id line is malformed";
					return NULL;
				}
				break;
			case 3:
				n = split_fields(line, fields, 2);
				if (n != 2 || strcmp(fields[0], "created_at") != 0 ||
					strlen(fields[1]) != 27)
				{
					*why = "its created_at line is malformed";
					return NULL;
				}
				cp->created_at = pstrdup(fields[1]);
				break;
			case 4:
				n = split_fields(line, fields, 2);
				if (n != 2 || strcmp(fields[0], "database") != 0)
				{
					*why = "its database line is malformed";
					return NULL;
				}
				cp->database = pstrdup(fields[1]);
				break;
			case 5:
			case 6:
				{
					const char *key = lineno == 5 ? "previous" : "key_id";
					bool	   *has = lineno == 5 ? &cp->has_previous : &cp->has_key_id;
					uint8	   *h = lineno == 5 ? cp->previous : cp->key_id;

					n = split_fields(line, fields, 2);
					if (n != 2 || strcmp(fields[0], key) != 0 ||
						(strcmp(fields[1], "none") != 0 && !parse_hex(fields[1], h)))
					{
						*why = lineno == 5 ? "its previous line is malformed" :
							"its key_id line is malformed";
						return NULL;
					}
					*has = strcmp(fields[1], "none") != 0;
				}
				break;
			default:
				n = split_fields(line, fields, 11);
				if (n == 2 && strcmp(fields[0], "end") == 0)
				{
					int64		count;

					if (!parse_int64(fields[1], false, &count) ||
						count != cp->nlanes)
					{
						*why = "its end line does not count its lane lines";
						return NULL;
					}
					ended = true;
				}
				else if (n == 11 && strcmp(fields[0], "lane") == 0)
				{
					AcCheckpointLane *l;
					int64		lane;

					if (cp->nlanes == maxlanes)
					{
						maxlanes *= 2;
						cp->lanes = repalloc(cp->lanes, sizeof(AcCheckpointLane) * maxlanes);
					}
					l = &cp->lanes[cp->nlanes];
					memset(l, 0, sizeof(*l));
					l->tbl = pstrdup(fields[1]);
					l->head_has_at = strcmp(fields[6], "-") != 0;
					if (!parse_int64(fields[2], false, &lane) || lane > PG_INT16_MAX ||
						!parse_hex(fields[3], l->genesis) ||
						!parse_int64(fields[4], false, &l->head_seq) ||
						!parse_hex(fields[5], l->head_hash) ||
						(l->head_has_at && !parse_int64(fields[6], true, &l->head_at_us)) ||
						!parse_int64(fields[7], false, &l->start_seq) ||
						!parse_hex(fields[8], l->start_hash) ||
						!parse_int64(fields[9], false, &l->purged_seq) ||
						!parse_hex(fields[10], l->purged_hash))
					{
						*why = psprintf("its lane line %d is malformed", cp->nlanes + 1);
						return NULL;
					}
					l->lane = (int) lane;
					cp->nlanes++;
				}
				else
				{
					*why = psprintf("line %d is neither a lane line nor its end line",
									lineno);
					return NULL;
				}
				break;
		}
		line = nl + 1;
	}
	if (!ended)
	{
		*why = "it has no end line: it is truncated";
		return NULL;
	}

	/* the one way to write it: what was read must write back the same */
	initStringInfo(&again);
	format_payload(&again, cp);
	if (again.len != len || memcmp(again.data, data, len) != 0)
	{
		*why = "it is not written the way checkpoint() writes a payload (order of the lane lines, numbers or names)";
		return NULL;
	}
	pfree(again.data);
	pfree(copy);
	return cp;
}

/*
 * table_lanes
 *		The lane lines of one chained table, appended to *lanes (*nlanes of
 *		them, room for *maxlanes).  Raises the error that makes the
 *		checkpoint leave the table out.
 */
static void
table_lanes(Oid root, AcCheckpointLane **lanes, int *nlanes, int *maxlanes)
{
	AcTableProblem *bad;
	AcLaneStart starts[AC_MAX_LANES];
	bool		numbered;
	int			n;
	int			nreg;
	char	   *tbl;

	bad = ac_chained_table_problem(root, AccessShareLock, &n);
	if (bad != NULL)
		ac_raise_table_problem(bad);
	memset(starts, 0, sizeof(starts));
	nreg = ac_registry_lanes(root, InvalidSnapshot, starts, &numbered);
	if (nreg != n || !numbered)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("lanes of table \"%s\" in audit_chain.chains are not numbered 0 to %d",
						get_rel_name(root), n - 1)));
	tbl = ac_encoded_relname(root);

	for (int i = 0; i < n; i++)
	{
		AcCheckpointLane *l;
		TimestampTz at;

		if (!starts[i].valid)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("lane %d of table \"%s\" has no valid genesis or boundary hash in audit_chain.chains",
							i, get_rel_name(root))));
		if (*nlanes == *maxlanes)
		{
			*maxlanes *= 2;
			*lanes = repalloc(*lanes, sizeof(AcCheckpointLane) * *maxlanes);
		}
		l = &(*lanes)[*nlanes];
		memset(l, 0, sizeof(*l));
		l->tbl = tbl;
		l->root = root;
		l->lane = i;
		memcpy(l->genesis, starts[i].genesis, AC_HASH_LEN);
		l->start_seq = starts[i].seq;
		memcpy(l->start_hash, starts[i].hash, AC_HASH_LEN);
		l->purged_seq = starts[i].purged_seq;
		memcpy(l->purged_hash, starts[i].purged_hash, AC_HASH_LEN);
		if (ac_lane_read_head_at(root, (int16) i, 0, &l->head_seq,
								 l->head_hash, &at))
		{
			l->head_has_at = true;
			l->head_at_us = at + AC_UNIX_EPOCH_OFFSET_USEC;
		}
		else
		{
			/* no live rows: the head is the live lane's start point */
			l->head_seq = l->start_seq;
			memcpy(l->head_hash, l->start_hash, AC_HASH_LEN);
		}
		(*nlanes)++;
	}
}

/*
 * collect_lanes
 *		The lane lines of every chained table that can be read, in payload
 *		order.  A table that cannot (dropped, no longer with its chain
 *		columns, ...) is left out with a WARNING, in a subtransaction, as
 *		the plpgsql checkpoint() did: one broken table must not stop the
 *		checkpoints of every other; verify_chain() reports it.
 */
static void
collect_lanes(AcCheckpointPayload *cp)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	List	   *roots = ac_registry_tables();
	ListCell   *lc;
	int			maxlanes = 64;

	cp->lanes = palloc(sizeof(AcCheckpointLane) * maxlanes);
	cp->nlanes = 0;
	foreach(lc, roots)
	{
		Oid			root = lfirst_oid(lc);
		int			before = cp->nlanes;

		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(cxt);
		PG_TRY();
		{
			table_lanes(root, &cp->lanes, &cp->nlanes, &maxlanes);
			ReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
		}
		PG_CATCH();
		{
			ErrorData  *edata;
			char	   *name;

			MemoryContextSwitchTo(cxt);
			edata = CopyErrorData();
			FlushErrorState();
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
			cp->nlanes = before;
			name = get_rel_name(root);
			ereport(WARNING,
					(errcode(edata->sqlerrcode),
					 errmsg("checkpoint " INT64_FORMAT " leaves out chained table %s: %s",
							cp->checkpoint_id,
							name ? quote_identifier(name) : psprintf("%u", root),
							edata->message),
					 errhint("Run audit_chain.verify_chain() on it.")));
			FreeErrorData(edata);
		}
		PG_END_TRY();
	}
	if (cp->nlanes > 1)
		qsort(cp->lanes, cp->nlanes, sizeof(AcCheckpointLane), lane_cmp);
}

/*
 * previous_payload_digest
 *		The SHA-256 of the payload of the newest checkpoint below id, read
 *		with the latest snapshot (under the checkpoint lock, a checkpoint
 *		committed after this transaction's snapshot is the previous one
 *		too): false if there is none.  Must be called inside SPI.
 */
static bool
previous_payload_digest(Oid owner, int64 id, uint8 *digest)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(id)};
	SPIPlanPtr	plan;
	Oid			save_userid;
	int			save_sec_context;
	int			ret;
	bool		isnull;
	bytea	   *payload;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(owner, save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	plan = SPI_prepare("SELECT payload FROM audit_chain.checkpoints "
					   "WHERE checkpoint_id OPERATOR(pg_catalog.<) $1 "
					   "ORDER BY checkpoint_id DESC LIMIT 1", 1, argtypes);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	ret = SPI_execute_snapshot(plan, args, NULL, GetLatestSnapshot(),
							   InvalidSnapshot, true, false, 1);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_snapshot failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		return false;
	payload = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0],
											SPI_tuptable->tupdesc, 1, &isnull));
	ac_sha256(VARDATA_ANY(payload), VARSIZE_ANY_EXHDR(payload), digest);
	SPI_freeplan(plan);
	return true;
}

/*
 * record_key
 *		Make the public key a row of audit_chain.signing_keys, unless it is
 *		one already.  Must be called inside SPI.
 */
static void
record_key(const AcPublicKey *pub, int64 id)
{
	Oid			argtypes[4] = {BYTEAOID, TEXTOID, TEXTOID, INT8OID};
	Datum		args[4];
	int			ret;

	args[0] = PointerGetDatum(ac_hash_bytea(pub->key_id));
	args[1] = CStringGetTextDatum(pub->pem);
	args[2] = CStringGetTextDatum(AC_SIG_ALGORITHM);
	args[3] = Int64GetDatum(id);
	ret = ac_execute_as(ac_table_owner("signing_keys", false), NULL,
						"INSERT INTO audit_chain.signing_keys "
						"(key_id, public_key, algorithm, first_checkpoint_id) "
						"VALUES ($1, $2, $3, $4) ON CONFLICT (key_id) DO NOTHING",
						4, argtypes, args, NULL);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
}

/*
 * store_checkpoint
 *		Insert the checkpoint and its heads.  Must be called inside SPI.
 */
static void
store_checkpoint(const AcCheckpointPayload *cp, TimestampTz at,
				 const StringInfoData *payload, const uint8 *sig)
{
	Oid			owner = ac_table_owner("checkpoints", false);
	Oid			argtypes[10] = {INT8OID, TIMESTAMPTZOID, BYTEAOID, BYTEAOID, BYTEAOID};
	Datum		args[10];
	char		nulls[10] = {' ', ' ', ' ', ' ', ' '};
	bytea	   *pl;
	SPIPlanPtr	plan;
	int			ret;

	pl = palloc(VARHDRSZ + payload->len);
	SET_VARSIZE(pl, VARHDRSZ + payload->len);
	memcpy(VARDATA(pl), payload->data, payload->len);
	args[0] = Int64GetDatum(cp->checkpoint_id);
	args[1] = TimestampTzGetDatum(at);
	args[2] = PointerGetDatum(pl);
	if (sig != NULL)
	{
		bytea	   *s = palloc(VARHDRSZ + AC_SIG_LEN);

		SET_VARSIZE(s, VARHDRSZ + AC_SIG_LEN);
		memcpy(VARDATA(s), sig, AC_SIG_LEN);
		args[3] = PointerGetDatum(s);
		args[4] = PointerGetDatum(ac_hash_bytea(cp->key_id));
	}
	else
		nulls[3] = nulls[4] = 'n';
	ret = ac_execute_as(owner, NULL,
						"INSERT INTO audit_chain.checkpoints "
						"(checkpoint_id, created_at, payload, signature, key_id) "
						"OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5)",
						5, argtypes, args, nulls);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));

	if (cp->nlanes == 0)
		return;
	argtypes[0] = INT8OID;
	argtypes[1] = REGCLASSOID;
	argtypes[2] = INT2OID;
	argtypes[3] = INT8OID;
	argtypes[4] = BYTEAOID;
	argtypes[5] = TIMESTAMPTZOID;
	argtypes[6] = INT8OID;
	argtypes[7] = BYTEAOID;
	argtypes[8] = INT8OID;
	argtypes[9] = BYTEAOID;
	plan = SPI_prepare("INSERT INTO audit_chain.checkpoint_heads "
					   "(checkpoint_id, tbl, lane, seq, hash, chain_at, "
					   "start_seq, start_hash, purged_seq, purged_hash) "
					   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
					   10, argtypes);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	for (int i = 0; i < cp->nlanes; i++)
	{
		const AcCheckpointLane *l = &cp->lanes[i];

		memset(nulls, ' ', sizeof(nulls));
		args[0] = Int64GetDatum(cp->checkpoint_id);
		args[1] = ObjectIdGetDatum(l->root);
		args[2] = Int16GetDatum((int16) l->lane);
		args[3] = Int64GetDatum(l->head_seq);
		args[4] = PointerGetDatum(ac_hash_bytea(l->head_hash));
		args[5] = TimestampTzGetDatum(l->head_at_us - AC_UNIX_EPOCH_OFFSET_USEC);
		if (!l->head_has_at)
			nulls[5] = 'n';
		args[6] = Int64GetDatum(l->start_seq);
		args[7] = PointerGetDatum(ac_hash_bytea(l->start_hash));
		args[8] = Int64GetDatum(l->purged_seq);
		args[9] = PointerGetDatum(ac_hash_bytea(l->purged_hash));
		ret = ac_execute_as(owner, plan, NULL, 0, NULL, args, nulls);
		if (ret != SPI_OK_INSERT)
			elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	}
	SPI_freeplan(plan);
}

/*
 * checkpoint() RETURNS bigint
 *		Record the head and boundaries of every lane of every chained table
 *		as a new checkpoint, its payload signed if audit_chain.signing_key_file
 *		names a key; returns its checkpoint_id.
 */
PG_FUNCTION_INFO_V1(audit_chain_checkpoint);
Datum
audit_chain_checkpoint(PG_FUNCTION_ARGS)
{
	Oid			cprel = ac_extension_relid("checkpoints");
	Oid			owner;
	AcCheckpointPayload cp;
	TimestampTz at;
	StringInfoData payload;
	AcPublicKey pub;
	uint8		sig[AC_SIG_LEN];
	AcSigner   *volatile signer = NULL;
	bool		signed_cp = false;
	int			ret;
	bool		isnull;

	if (!OidIsValid(cprel))
		elog(ERROR, "audit_chain.checkpoints does not exist");
	owner = ac_rel_owner(cprel);
	PreventCommandIfReadOnly("checkpoint()");

	/* one at a time, to the end of the transaction: they form a chain */
	LockRelationOid(cprel, ShareRowExclusiveLock);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	memset(&cp, 0, sizeof(cp));
	ret = ac_execute_as(owner, NULL,
						"SELECT pg_catalog.nextval('audit_chain.checkpoints_checkpoint_id_seq'::pg_catalog.regclass)",
						0, NULL, NULL, NULL);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	cp.checkpoint_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
												   SPI_tuptable->tupdesc, 1, &isnull));
	at = GetCurrentTimestamp();
	cp.created_at = ac_checkpoint_time(at);
	{
		StringInfoData db;

		initStringInfo(&db);
		ac_encode_name(&db, get_database_name(MyDatabaseId));
		cp.database = db.data;
	}
	cp.has_previous = previous_payload_digest(owner, cp.checkpoint_id, cp.previous);
	collect_lanes(&cp);

	/* sign, holding the private key only here */
	memset(&pub, 0, sizeof(pub));
	initStringInfo(&payload);
	PG_TRY();
	{
		signer = ac_signer_open(&pub);
		if (signer != NULL)
		{
			cp.has_key_id = true;
			memcpy(cp.key_id, pub.key_id, AC_KEY_ID_LEN);
		}
		format_payload(&payload, &cp);
		if (signer != NULL)
		{
			ac_signer_sign(signer, payload.data, payload.len, sig);
			signed_cp = true;
		}
	}
	PG_FINALLY();
	{
		ac_signer_close(signer);
		signer = NULL;
	}
	PG_END_TRY();

	if (signed_cp)
		record_key(&pub, cp.checkpoint_id);
	store_checkpoint(&cp, at, &payload, signed_cp ? sig : NULL);
	SPI_finish();
	PG_RETURN_INT64(cp.checkpoint_id);
}

/*
 * export_checkpoint(checkpoint_id bigint DEFAULT NULL) RETURNS json
 *		One checkpoint (the newest if checkpoint_id is NULL) as the JSON
 *		document of doc/checkpoints.md section 3: its payload and signature
 *		in base64, its key id and public key.  Read as the owner of the
 *		checkpoints: EXECUTE on this function is the privilege that lets a
 *		role read them this way (not granted to PUBLIC).
 */
PG_FUNCTION_INFO_V1(audit_chain_export_checkpoint);
Datum
audit_chain_export_checkpoint(PG_FUNCTION_ARGS)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1];
	char		nulls[1] = {' '};
	int			ret;
	bool		isnull;
	Datum		result;

	args[0] = PG_ARGISNULL(0) ? (Datum) 0 : PG_GETARG_DATUM(0);
	if (PG_ARGISNULL(0))
		nulls[0] = 'n';
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ret = ac_execute_as(ac_table_owner("checkpoints", false), NULL,
						"SELECT pg_catalog.json_build_object("
						"'format', '" AC_EXPORT_V1 "', "
						"'checkpoint_id', c.checkpoint_id, "
						"'created_at', pg_catalog.to_char(pg_catalog.timezone('UTC', c.created_at), 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
						"'payload', pg_catalog.translate(pg_catalog.encode(c.payload, 'base64'), E'\\n', ''), "
						"'signature', pg_catalog.translate(pg_catalog.encode(c.signature, 'base64'), E'\\n', ''), "
						"'key_id', pg_catalog.encode(c.key_id, 'hex'), "
						"'public_key', k.public_key, "
						"'algorithm', k.algorithm) "
						"FROM audit_chain.checkpoints c "
						"LEFT JOIN audit_chain.signing_keys k "
						"ON k.key_id OPERATOR(pg_catalog.=) c.key_id "
						"WHERE $1 IS NULL OR c.checkpoint_id OPERATOR(pg_catalog.=) $1 "
						"ORDER BY c.checkpoint_id DESC LIMIT 1",
						1, argtypes, args, nulls);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
	{
		if (PG_ARGISNULL(0))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("no checkpoint has been taken"),
					 errhint("Take one with audit_chain.checkpoint().")));
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("checkpoint " INT64_FORMAT " does not exist",
						PG_GETARG_INT64(0)),
				 errhint("See audit_chain.checkpoints for the checkpoints taken.")));
	}
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	result = SPI_datumTransfer(result, false, -1);
	SPI_finish();
	PG_RETURN_DATUM(result);
}
