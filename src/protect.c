/*-------------------------------------------------------------------------
 *
 * protect.c
 *	  protect() and unprotect(): turning a table into a chained table and
 *	  back, with every write to the registry they make; and for logical
 *	  replication, export_chain() and protect_replica(), which registers a
 *	  subscriber's copy of a publisher's chained table.
 *
 * Both run as their caller, who must own the table: the DDL they run
 * (ALTER TABLE, CREATE INDEX, CREATE TRIGGER) is checked by PostgreSQL
 * against the caller as usual.  The registry (audit_chain.chains) and
 * audit_chain.protection_log are the extension's own record, which nobody
 * may write directly; these functions write them as the registry's owner,
 * the way RI triggers act as the owner of the table they check, and only
 * after every check has passed.  There is no other SQL entry point to the
 * registry writes or to the sealing of existing rows, so no caller can skip
 * a check by calling a step on its own.
 *
 * Every SQL text run here names its objects with their schema and its
 * operators with OPERATOR(pg_catalog.x), and the SQL declarations fix
 * search_path = pg_catalog, pg_temp, so nothing on the caller's search_path
 * is ever resolved.
 *
 * IDENTIFICATION
 *	  src/protect.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "chaintable.h"
#include "checkpoint.h"
#include "compat.h"
#include "ddl.h"
#include "hash.h"
#include "lane.h"
#include "redact.h"
#include "registry.h"
#include "relname.h"
#include "retention.h"
#include "seal.h"

/* What protect() and unprotect() need to know of the table */
typedef struct ProtectTarget
{
	Oid			relid;
	char		relkind;
	Oid			owner;			/* relowner */
	char	   *nspname;
	char	   *relname;
	char	   *qualname;		/* schema-qualified, quoted */
	char	   *display;		/* for messages: as regclass shows it */
} ProtectTarget;

/*
 * fill_target
 *		Read what protect() and unprotect() need of relation relid from its
 *		pg_class row, and check that it is a table the caller owns.
 */
static void
fill_target(Oid relid, const char *what, ProtectTarget *target)
{
	HeapTuple	tup;
	Form_pg_class form;

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	form = (Form_pg_class) GETSTRUCT(tup);
	target->relid = relid;
	target->relkind = form->relkind;
	target->owner = form->relowner;
	target->relname = pstrdup(NameStr(form->relname));
	target->nspname = get_namespace_name(form->relnamespace);
	target->qualname = ac_quote_relname(form->relnamespace, target->relname,
										false);
	target->display = ac_quote_relname(form->relnamespace, target->relname,
									   true);
	ReleaseSysCache(tup);

	if (target->relkind != RELKIND_RELATION &&
		target->relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", target->display),
				 errdetail("It is %s.", ac_relkind_name(target->relkind)),
				 errhint("Only ordinary and partitioned tables can be %s.", what)));
	if (!ac_table_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE, target->display);
}

/*
 * open_target
 *		Check that relid names a table the caller owns, then lock it in
 *		SHARE ROW EXCLUSIVE mode (which serializes protect() and unprotect()
 *		of one table with each other and with writers).  Ownership is checked
 *		before the lock, as RangeVarGetRelidExtended's callbacks do, so that
 *		nobody can queue a lock on a table that is not theirs.
 *
 * Everything is read again once the lock is held: while we waited, the
 * table may have been dropped, renamed, moved to another schema or given
 * to another owner (each of which takes a lock that conflicts with ours).
 * The DDL run later names the table by its schema-qualified name, so a
 * name read before the lock could name another table by then (a new one
 * made under the old name), which would then get the chain columns and
 * triggers while this one got the registry rows.
 */
static void
open_target(Oid relid, const char *what, ProtectTarget *target)
{
	fill_target(relid, what, target);

	LockRelationOid(relid, ShareRowExclusiveLock);

	fill_target(relid, what, target);
}

/*
 * run_ddl
 *		Run one utility statement inside SPI as the caller.
 */
static void
run_ddl(const char *sql)
{
	int			ret = SPI_execute(sql, false, 0);

	if (ret < 0)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
}

/*
 * register_lanes
 *		Enter the lanes of a newly chained table in audit_chain.chains, each
 *		with its own genesis hash from the server's strong random source.
 */
static void
register_lanes(Oid relid, int lanes)
{
	Oid			owner = ac_table_owner("chains", false);
	Oid			argtypes[3] = {REGCLASSOID, INT2OID, BYTEAOID};
	SPIPlanPtr	plan;

	plan = SPI_prepare("INSERT INTO audit_chain.chains (tbl, lane, genesis) "
					   "VALUES ($1, $2, $3)", 3, argtypes);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	for (int lane = 0; lane < lanes; lane++)
	{
		Datum		args[3];
		uint8		genesis[AC_HASH_LEN];

		if (!pg_strong_random(genesis, AC_HASH_LEN))
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not generate random bytes for a genesis hash")));
		args[0] = ObjectIdGetDatum(relid);
		args[1] = Int16GetDatum((int16) lane);
		args[2] = PointerGetDatum(ac_hash_bytea(genesis));
		if (ac_execute_as(owner, plan, NULL, 0, NULL, args, NULL) != SPI_OK_INSERT)
			elog(ERROR, "could not register lane %d", lane);
	}
	SPI_freeplan(plan);
}

/*
 * log_protection
 *		Append a protect() or unprotect() to audit_chain.protection_log.
 *		rows_sealed < 0 and heads == NULL and reason == NULL store NULL.
 */
static void
log_protection(const ProtectTarget *target, const char *action, int lanes,
			   int64 rows_sealed, const char *heads, text *reason)
{
	Oid			argtypes[7] = {TEXTOID, OIDOID, TEXTOID, INT4OID, INT8OID,
	TEXTOID, TEXTOID};
	Datum		args[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};

	args[0] = CStringGetTextDatum(target->qualname);
	args[1] = ObjectIdGetDatum(target->relid);
	args[2] = CStringGetTextDatum(action);
	args[3] = Int32GetDatum(lanes);
	args[4] = Int64GetDatum(rows_sealed);
	if (rows_sealed < 0)
		nulls[4] = 'n';
	if (heads != NULL)
		args[5] = CStringGetTextDatum(heads);
	else
		nulls[5] = 'n';
	if (reason != NULL)
		args[6] = PointerGetDatum(reason);
	else
		nulls[6] = 'n';
	(void) ac_execute_as(ac_table_owner("protection_log", false), NULL,
						 "INSERT INTO audit_chain.protection_log "
						 "(tbl_name, relid, action, lanes, rows_sealed, heads, reason) "
						 "VALUES ($1, $2, $3, $4, $5, $6::pg_catalog.jsonb, $7)",
						 7, argtypes, args, nulls);
}

/*
 * check_no_late_trigger
 *		BEFORE ROW triggers fire in name order: none of the table or of its
 *		partitions may sort after the seal trigger, or the row it hashes
 *		would not be the row stored.
 */
static void
check_no_late_trigger(Oid relid)
{
	List	   *rels = find_all_inheritors(relid, AccessShareLock, NULL);
	ListCell   *lc;

	foreach(lc, rels)
	{
		Relation	rel = table_open(lfirst_oid(lc), NoLock);
		TriggerDesc *td = rel->trigdesc;

		for (int i = 0; td != NULL && i < td->numtriggers; i++)
		{
			Trigger    *t = &td->triggers[i];

			if (!t->tgisinternal &&
				ac_trigger_fires_after_seal(t->tgtype, t->tgname, AC_SEAL_TRIGGER))
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("BEFORE ROW trigger \"%s\" on \"%s\" would fire after the seal trigger",
								t->tgname, ac_display_relname(RelationGetRelid(rel))),
						 errdetail("BEFORE ROW triggers fire in name order; \"%s\" must see the final row.",
								   AC_SEAL_TRIGGER),
						 errhint("Rename the trigger so that it sorts before \"%s\".",
								 AC_SEAL_TRIGGER)));
		}
		table_close(rel, NoLock);
	}
	list_free(rels);
}

/*
 * check_partitions
 *		What protect() refuses of a table it refuses in a partition too: an
 *		unlogged partition is emptied after a crash just as an unlogged table
 *		is, and the rows of a foreign partition are not stored in the
 *		database at all.  Either way rows of the chain vanish, or change,
 *		where verification cannot see it.  And a rule on a partition
 *		rewrites or swallows the INSERTs made into that partition directly,
 *		as a rule on the table does for the INSERTs made into it.
 */
static void
check_partitions(const ProtectTarget *target)
{
	List	   *rels = find_all_inheritors(target->relid, AccessShareLock, NULL);
	ListCell   *lc;

	foreach(lc, rels)
	{
		Oid			part = lfirst_oid(lc);
		Relation	prel;
		char		relkind;
		char		relpersistence;
		bool		relhasrules;

		if (part == target->relid)
			continue;
		prel = table_open(part, NoLock);
		relkind = prel->rd_rel->relkind;
		relpersistence = prel->rd_rel->relpersistence;
		relhasrules = prel->rd_rel->relhasrules;
		table_close(prel, NoLock);
		if (relkind == RELKIND_FOREIGN_TABLE)
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("cannot protect \"%s\", whose partition \"%s\" is a foreign table",
							target->display, ac_display_relname(part)),
					 errdetail("The rows of a chained table must be stored in the database.")));
		if (relpersistence == RELPERSISTENCE_UNLOGGED)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot protect \"%s\", whose partition \"%s\" is unlogged",
							target->display, ac_display_relname(part)),
					 errdetail("An unlogged partition is emptied after a crash, and the audit trail in it with it."),
					 errhint("Make the partition logged first with ALTER TABLE ... SET LOGGED.")));
		if (relhasrules)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot protect \"%s\", whose partition \"%s\" has rules",
							target->display, ac_display_relname(part)),
					 errdetail("A rule can rewrite or swallow the INSERT that would seal a row."),
					 errhint("Drop the partition's rules first.")));
	}
	list_free(rels);
}

/*
 * check_protectable
 *		Everything protect() refuses, checked before it changes anything.
 */
static void
check_protectable(const ProtectTarget *target)
{
	Relation	rel = table_open(target->relid, NoLock);
	TupleDesc	tupdesc = RelationGetDescr(rel);

	if (rel->rd_rel->relpersistence == RELPERSISTENCE_TEMP)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot protect temporary table \"%s\"", target->display),
				 errdetail("A temporary table disappears at the end of the session, and its audit trail with it.")));
	if (rel->rd_rel->relpersistence == RELPERSISTENCE_UNLOGGED)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot protect unlogged table \"%s\"", target->display),
				 errdetail("An unlogged table is emptied after a crash, and its audit trail with it."),
				 errhint("Make it logged first with ALTER TABLE ... SET LOGGED.")));
	if (target->relkind == RELKIND_PARTITIONED_TABLE)
		check_partitions(target);
	if (rel->rd_rel->relispartition)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("cannot protect \"%s\", which is a partition", target->display),
				 errhint("Protect the partitioned table instead; its partitions are chained with it.")));
	if (strcmp(target->nspname, "pg_catalog") == 0 ||
		strcmp(target->nspname, "information_schema") == 0 ||
		strcmp(target->nspname, "audit_chain") == 0 ||
		strcmp(target->nspname, "audit_chain_archive") == 0 ||
		strncmp(target->nspname, "pg_toast", 8) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cannot protect \"%s\", which is in schema %s",
						target->display, target->nspname)));

	for (int i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		if (!att->attisdropped && ac_is_chain_column(NameStr(att->attname)))
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_COLUMN),
					 errmsg("table \"%s\" already has a column named like a chain column",
							target->display),
					 errdetail("protect() adds chain_lane, chain_seq, chain_at, chain_prev and chain_hash."),
					 errhint("Rename the existing column first.")));
	}

	/* inheritance, rules, typed tables, foreign partitions */
	ac_check_protectable_shape(target->relid);

	/* refuses column types that cannot be hashed canonically */
	(void) ac_rowdesc_build(tupdesc, target->relname, false);
	table_close(rel, NoLock);

	check_no_late_trigger(target->relid);
}

/*
 * published_by
 *		The first publication (by name) that publishes the table or one of
 *		its partitions, and with update_delete only one that replicates
 *		UPDATE, DELETE or TRUNCATE; NULL if none.  Must be called inside SPI.
 */
static char *
published_by(const ProtectTarget *target, bool update_delete)
{
	Oid			argtypes[2] = {REGCLASSOID, BOOLOID};
	Datum		args[2] = {ObjectIdGetDatum(target->relid), BoolGetDatum(update_delete)};
	int			ret;

	ret = SPI_execute_with_args("SELECT p.pubname::pg_catalog.text FROM pg_catalog.pg_publication p, "
								"pg_catalog.pg_get_publication_tables(p.pubname::pg_catalog.text) t "
								"WHERE (t.relid OPERATOR(pg_catalog.=) $1 OR t.relid IN "
								"(SELECT pt.relid FROM pg_catalog.pg_partition_tree($1) pt)) "
								"AND (NOT $2 OR p.pubupdate OR p.pubdelete OR p.pubtruncate) "
								"ORDER BY 1 LIMIT 1",
								2, argtypes, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		return NULL;
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/*
 * check_not_published
 *		A chained table must not be in a publication that replicates
 *		UPDATE, DELETE or TRUNCATE: archive(), the purge and redact() would
 *		reach the subscriber's copy as changes it cannot verify.  The
 *		publication guard (an event trigger) refuses such publications of
 *		chained tables; this catches a table that was in one before it was
 *		chained (a FOR TABLES IN SCHEMA or FOR ALL TABLES publication takes
 *		in new tables by itself).  Must be called inside SPI.
 */
static void
check_not_published(const ProtectTarget *target, const char *what)
{
	char	   *pubname = published_by(target, true);

	if (pubname != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot %s \"%s\", which publication %s replicates with UPDATE, DELETE or TRUNCATE",
						what, target->display, quote_identifier(pubname)),
				 errdetail("archive(), the purge and redact() would reach the subscriber's copy of the chain as row changes that it cannot verify."),
				 errhint("Publish inserts only (ALTER PUBLICATION ... SET (publish = 'insert')), or take the table out of the publication first.")));
}

/*
 * check_unpublished
 *		unprotect() of a published table: a subscriber's copy of the chain
 *		would receive rows without chain values, which it refuses (its chain
 *		columns are NOT NULL), and its apply worker would stop on them.
 *		Must be called inside SPI.
 */
static void
check_unpublished(const ProtectTarget *target)
{
	char	   *pubname = published_by(target, false);

	if (pubname != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot unprotect \"%s\", which publication %s publishes",
						target->display, quote_identifier(pubname)),
				 errdetail("A subscriber's copy of the chain would receive rows without chain values, which it refuses."),
				 errhint("Take the table out of the publication first (ALTER PUBLICATION ... DROP TABLE).")));
}

/*
 * create_triggers
 *		The seal trigger, and the TRUNCATE trigger on the table and on each
 *		of its partitions (statement triggers are not cloned to partitions).
 */
static void
create_triggers(const ProtectTarget *target, int lanes)
{
	List	   *rels;
	ListCell   *lc;

	run_ddl(psprintf("CREATE TRIGGER " AC_SEAL_TRIGGER
					 " BEFORE INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW"
					 " EXECUTE FUNCTION audit_chain.seal_row('%d')",
					 target->qualname, lanes));
	rels = find_all_inheritors(target->relid, AccessShareLock, NULL);
	foreach(lc, rels)
	{
		Oid			relid = lfirst_oid(lc);

		run_ddl(psprintf("CREATE TRIGGER " AC_TRUNCATE_TRIGGER
						 " BEFORE TRUNCATE ON %s FOR EACH STATEMENT"
						 " EXECUTE FUNCTION audit_chain.refuse_truncate()",
						 ac_display_relname(relid)));
	}
	list_free(rels);
}

/*
 * seal_existing_rows
 *		Seal the rows the table held before protect(), into lane 0, in
 *		physical order (partitions in oid order), one UPDATE by ctid each, so
 *		that the seal trigger sees each final row.  Returns the number of
 *		rows sealed.
 *
 * The scan and the UPDATEs run as the table's owner, in a security-
 * restricted operation, as REFRESH MATERIALIZED VIEW and CREATE INDEX do:
 * they fire the table's triggers and evaluate its CHECK constraints,
 * generated columns, index expressions and row-level security policies,
 * all code that the table's owner wrote.  Run with the caller's privileges,
 * a superuser (or a member of the owning role) who protects a table would
 * hand them to that code.  FORCE ROW LEVEL SECURITY is set aside, as RI
 * triggers set it aside for the owner: every row must be sealed, and the
 * owner could switch FORCE off anyway.
 */
static int64
seal_existing_rows(const ProtectTarget *target)
{
	StringInfoData sql;
	SPIPlanPtr	update;
	Portal		cursor;
	Oid			argtypes[2] = {OIDOID, TIDOID};
	volatile int64 sealed = 0;
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;

	/* restored by the (sub)transaction abort on error */
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(target->owner,
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION | SECURITY_NOFORCE_RLS);
	save_nestlevel = NewGUCNestLevel();

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "UPDATE %s SET chain_lane = 0 "
					 "WHERE tableoid OPERATOR(pg_catalog.=) $1 "
					 "AND ctid OPERATOR(pg_catalog.=) $2",
					 target->qualname);
	update = SPI_prepare(sql.data, 2, argtypes);
	if (update == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));

	resetStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT tableoid, ctid FROM %s ORDER BY tableoid, ctid",
					 target->qualname);
	/*
	 * Not read_only: with a new snapshot, taken now that the table is
	 * locked.  protect()'s own statement snapshot was taken before it waited
	 * for the lock, and would miss the rows that the writers it waited for
	 * committed (they would stay unsealed).
	 */
	cursor = SPI_cursor_open_with_args(NULL, sql.data, 0, NULL, NULL, NULL,
									   false, 0);

	ac_seal_backfill_begin(target->relid);
	PG_TRY();
	{
		for (;;)
		{
			SPITupleTable *batch;
			uint64		nfetched;

			SPI_cursor_fetch(cursor, true, 1000);
			nfetched = SPI_processed;
			if (nfetched == 0)
				break;
			batch = SPI_tuptable;
			for (uint64 i = 0; i < nfetched; i++)
			{
				Datum		args[2];
				bool		isnull;
				int			ret;

				args[0] = SPI_getbinval(batch->vals[i], batch->tupdesc, 1, &isnull);
				args[1] = SPI_getbinval(batch->vals[i], batch->tupdesc, 2, &isnull);
				ret = SPI_execute_plan(update, args, NULL, false, 0);
				if (ret != SPI_OK_UPDATE)
					elog(ERROR, "SPI_execute_plan failed: %s",
						 SPI_result_code_string(ret));
				if (SPI_processed != 1)
					ereport(ERROR,
							(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
							 errmsg("could not seal an existing row of table \"%s\"",
									target->relname),
							 errdetail("A trigger on the table suppressed the update that seals it.")));
				sealed++;
				CHECK_FOR_INTERRUPTS();
			}
			SPI_freetuptable(batch);
		}
	}
	PG_FINALLY();
	{
		ac_seal_backfill_end();
	}
	PG_END_TRY();

	SPI_cursor_close(cursor);
	SPI_freeplan(update);

	/*
	 * Under REPEATABLE READ or SERIALIZABLE the rows were read with the
	 * transaction's snapshot, which misses the rows committed by the writers
	 * protect() waited for; this transaction cannot seal them.
	 */
	if (IsolationUsesXactSnapshot())
	{
		SPIPlanPtr	unsealed;

		resetStringInfo(&sql);
		appendStringInfo(&sql, "SELECT FROM %s WHERE chain_hash IS NULL LIMIT 1",
						 target->qualname);
		unsealed = SPI_prepare(sql.data, 0, NULL);
		if (unsealed == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		if (SPI_execute_snapshot(unsealed, NULL, NULL, GetLatestSnapshot(),
								 InvalidSnapshot, true, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute_snapshot failed");
		if (SPI_processed > 0)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to concurrent update"),
					 errdetail("Rows of table \"%s\" were committed after this transaction's snapshot was taken; they cannot be sealed in it.",
							   target->display),
					 errhint("Retry the transaction, or call protect() in a READ COMMITTED transaction.")));
		SPI_freeplan(unsealed);
	}

	/* undo any GUC change the owner's code made, and become the caller again */
	AtEOXact_GUC(false, save_nestlevel);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	return sealed;
}

/*
 * protect(tbl regclass, lanes int DEFAULT 1) RETURNS void
 *		Turn a table the caller owns into a chained table with the given
 *		number of lanes: add the chain columns, register the lanes, create
 *		the chain index and triggers, seal the rows it already holds, and
 *		record it in audit_chain.protection_log.
 */
PG_FUNCTION_INFO_V1(audit_chain_protect);
Datum
audit_chain_protect(PG_FUNCTION_ARGS)
{
	ProtectTarget target;
	int32		lanes;
	int64		sealed;
	bool		numbered;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table must not be NULL")));
	lanes = PG_ARGISNULL(1) ? -1 : PG_GETARG_INT32(1);
	if (PG_ARGISNULL(1) || lanes < 1 || lanes > AC_MAX_LANES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 PG_ARGISNULL(1) ?
				 errmsg("lanes must be between 1 and %d, not NULL", AC_MAX_LANES) :
				 errmsg("lanes must be between 1 and %d, not %d", AC_MAX_LANES, lanes),
				 errhint("Use 1 for one total order, more for concurrent writers.")));

	open_target(PG_GETARG_OID(0), "chained", &target);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* a fresh snapshot: a protect() we waited for has committed */
	if (ac_registry_lanes(target.relid, GetLatestSnapshot(), NULL, &numbered) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("table \"%s\" is already protected", target.display),
				 errhint("See audit_chain.chains.")));
	check_protectable(&target);
	check_not_published(&target, "protect");

	run_ddl(psprintf("ALTER TABLE %s ADD COLUMN chain_lane pg_catalog.int2, "
					 "ADD COLUMN chain_seq pg_catalog.int8, "
					 "ADD COLUMN chain_at pg_catalog.timestamptz, "
					 "ADD COLUMN chain_prev pg_catalog.bytea, "
					 "ADD COLUMN chain_hash pg_catalog.bytea", target.qualname));
	register_lanes(target.relid, lanes);

	/*
	 * A unique index on a partitioned table must contain the partition key.
	 * The index is named <table>_chain_idx, shortened and numbered as
	 * PostgreSQL names indexes when that is too long or taken (for a table
	 * with a 63-byte name it was the table's own name).
	 */
	run_ddl(psprintf("CREATE %s INDEX %s ON %s (chain_lane, chain_seq)",
					 target.relkind == RELKIND_PARTITIONED_TABLE ? "" : "UNIQUE",
					 quote_identifier(ChooseRelationName(target.relname, "chain", "idx",
														 get_rel_namespace(target.relid),
														 false)),
					 target.qualname));
	create_triggers(&target, lanes);

	sealed = seal_existing_rows(&target);

	run_ddl(psprintf("ALTER TABLE %s ALTER COLUMN chain_lane SET NOT NULL, "
					 "ALTER COLUMN chain_seq SET NOT NULL, ALTER COLUMN chain_at SET NOT NULL, "
					 "ALTER COLUMN chain_prev SET NOT NULL, ALTER COLUMN chain_hash SET NOT NULL",
					 target.qualname));

	log_protection(&target, "protect", lanes, sealed, NULL, NULL);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * lane_heads_json
 *		The head of every lane of a chained table, as a JSON array of
 *		{"lane", "seq", "hash"} objects, for protection_log.
 */
static char *
lane_heads_json(Oid relid, int lanes)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	for (int lane = 0; lane < lanes; lane++)
	{
		int64		seq;
		uint8		hash[AC_HASH_LEN];

		if (!ac_lane_read_head(relid, (int16) lane, 0, &seq, hash))
			ac_lane_boundary(relid, (int16) lane, &seq, hash);
		appendStringInfo(&buf, "%s{\"lane\": %d, \"seq\": " INT64_FORMAT ", \"hash\": \"%s\"}",
						 lane > 0 ? ", " : "", lane, seq, ac_hash_hex(hash));
	}
	appendStringInfoChar(&buf, ']');
	return buf.data;
}

/*
 * unprotect(tbl regclass, reason text DEFAULT NULL) RETURNS void
 *		Stop chaining a table the caller owns: record the head of each lane
 *		in audit_chain.protection_log, remove the lanes from the registry,
 *		drop the chain triggers and let the chain columns be NULL again, and
 *		drop the table's retention policy.  The rows and their chain columns
 *		stay.  Refused while the table is under legal hold.
 */
PG_FUNCTION_INFO_V1(audit_chain_unprotect);
Datum
audit_chain_unprotect(PG_FUNCTION_ARGS)
{
	ProtectTarget target;
	int			lanes;
	bool		numbered;
	char	   *heads;
	List	   *rels;
	ListCell   *lc;
	Oid			argtypes[1] = {REGCLASSOID};
	Datum		args[1];

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table must not be NULL")));
	if (get_rel_namespace(PG_GETARG_OID(0)) == get_namespace_oid("audit_chain", true))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot unprotect \"%s\", which belongs to the extension",
						get_rel_name(PG_GETARG_OID(0))),
				 errdetail("The extension's own tables are always chained."),
				 errhint("To stop recording events, stop writing them; DROP EXTENSION removes audit_chain.events with everything else.")));

	open_target(PG_GETARG_OID(0), "unprotected", &target);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	lanes = ac_registry_lanes(target.relid, GetLatestSnapshot(), NULL, &numbered);
	if (lanes == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" is not a chained table", target.display)));
	/* rows under legal hold stay chained (unchained, they could be dropped) */
	ac_check_no_legal_hold(target.relid, "unprotect");
	check_unpublished(&target);
	heads = lane_heads_json(target.relid, lanes);

	/* out of the registry first: the DDL guard then lets the rest through */
	args[0] = ObjectIdGetDatum(target.relid);
	(void) ac_execute_as(ac_table_owner("chains", false), NULL,
						 "DELETE FROM audit_chain.chains "
						 "WHERE tbl OPERATOR(pg_catalog.=) $1",
						 1, argtypes, args, NULL);

	/*
	 * Its archive table, if any, stays where it is, with its rows and its
	 * guard, but is no longer the archive of a chain: verify_chain() no
	 * longer checks it (there is no registry to check it against).  The
	 * protection log's heads and the boundaries log keep what it held.
	 */
	(void) ac_execute_as(ac_table_owner("archives", false), NULL,
						 "DELETE FROM audit_chain.archives "
						 "WHERE tbl OPERATOR(pg_catalog.=) $1",
						 1, argtypes, args, NULL);

	run_ddl(psprintf("DROP TRIGGER IF EXISTS " AC_SEAL_TRIGGER " ON %s",
					 target.qualname));
	rels = find_all_inheritors(target.relid, AccessShareLock, NULL);
	foreach(lc, rels)
	{
		Oid			relid = lfirst_oid(lc);

		if (OidIsValid(get_trigger_oid(relid, AC_TRUNCATE_TRIGGER, true)))
			run_ddl(psprintf("DROP TRIGGER " AC_TRUNCATE_TRIGGER " ON %s",
							 ac_display_relname(relid)));
	}
	list_free(rels);

	/* an ordinary table again: rows may be inserted without chain values */
	run_ddl(psprintf("ALTER TABLE %s ALTER COLUMN chain_lane DROP NOT NULL, "
					 "ALTER COLUMN chain_seq DROP NOT NULL, ALTER COLUMN chain_at DROP NOT NULL, "
					 "ALTER COLUMN chain_prev DROP NOT NULL, ALTER COLUMN chain_hash DROP NOT NULL",
					 target.qualname));

	log_protection(&target, "unprotect", lanes, -1, heads,
				   PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1));
	SPI_finish();

	/* nothing is left to archive: the table's retention policy goes */
	ac_retention_forget(target.relid, target.display);
	/* nor to verify: its redactions' kept digests go */
	ac_redactions_forget(target.relid);
	PG_RETURN_VOID();
}

/*
 * Logical replication to a central audit cluster
 *
 * A chained table published (WITH (publish = 'insert')) to a subscriber
 * arrives there with its chain columns, exactly as sealed on the publisher:
 * the apply worker runs with session_replication_role = replica, so the
 * seal trigger does not fire on the rows it applies.  What the subscriber
 * lacks is the rest of the chain's record: each lane's genesis, which
 * protect() would make anew (and the copy would then not verify).
 * export_chain() on the publisher writes what the subscriber needs, and
 * protect_replica() on the subscriber registers the table with it, marked
 * as a replica copy (audit_chain.chains.replica_of), on which the seal
 * trigger refuses local writes.
 */

#define AC_CHAIN_EXPORT_V1	"audit_chain/chain-export/v1"

/*
 * hashed_column_type
 *		The declared type of a hashed column, as format_type() writes it
 *		(with its typmod: numeric(12,2) and numeric hash differently).
 */
static char *
hashed_column_type(TupleDesc tupdesc, AttrNumber attnum)
{
	Form_pg_attribute att = TupleDescAttr(tupdesc, attnum - 1);

	return format_type_with_typemod(att->atttypid, att->atttypmod);
}

/*
 * export_chain(tbl regclass) RETURNS json
 *		The description of a chained table that protect_replica() takes on a
 *		subscriber: {"format", "database", "table", "columns": [{"name",
 *		"type"}], "lanes": [{"lane", "genesis", "archived_seq",
 *		"purged_seq"}]}.  The caller needs SELECT on the table.  Nothing in
 *		it is secret: a lane's genesis is in every checkpoint payload.
 */
PG_FUNCTION_INFO_V1(audit_chain_export_chain);
Datum
audit_chain_export_chain(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	AclResult	acl;
	Relation	rel;
	TupleDesc	tupdesc;
	AcRowDesc  *desc;
	AcLaneStart starts[AC_MAX_LANES];
	bool		numbered;
	int			nlanes;
	StringInfoData buf;
	StringInfoData name;

	acl = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_TABLE, ac_display_relname(relid));
	rel = ac_open_chained_table(relid, AccessShareLock, &nlanes);
	tupdesc = RelationGetDescr(rel);
	desc = ac_rowdesc_build(tupdesc, RelationGetRelationName(rel), true);

	memset(starts, 0, sizeof(starts));
	(void) ac_registry_lanes(relid, InvalidSnapshot, starts, &numbered);

	initStringInfo(&buf);
	initStringInfo(&name);
	appendStringInfoString(&buf, "{\"format\": \"" AC_CHAIN_EXPORT_V1 "\", \"database\": ");
	ac_encode_name(&name, get_database_name(MyDatabaseId));
	escape_json(&buf, name.data);
	appendStringInfoString(&buf, ", \"table\": ");
	escape_json(&buf, ac_encoded_relname(relid));
	appendStringInfoString(&buf, ", \"columns\": [");
	for (int i = 0; i < desc->ncols; i++)
	{
		appendStringInfoString(&buf, i > 0 ? ", {\"name\": " : "{\"name\": ");
		escape_json(&buf, NameStr(TupleDescAttr(tupdesc, desc->cols[i].attnum - 1)->attname));
		appendStringInfoString(&buf, ", \"type\": ");
		escape_json(&buf, hashed_column_type(tupdesc, desc->cols[i].attnum));
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfoString(&buf, "], \"lanes\": [");
	for (int lane = 0; lane < nlanes; lane++)
	{
		if (!starts[lane].valid)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("lane %d of table \"%s\" has no valid genesis hash in audit_chain.chains",
							lane, RelationGetRelationName(rel))));
		appendStringInfo(&buf,
						 "%s{\"lane\": %d, \"genesis\": \"%s\", \"archived_seq\": " INT64_FORMAT
						 ", \"purged_seq\": " INT64_FORMAT "}",
						 lane > 0 ? ", " : "", lane, ac_hash_hex(starts[lane].genesis),
						 starts[lane].seq, starts[lane].purged_seq);
	}
	appendStringInfoString(&buf, "]}");
	table_close(rel, NoLock);
	PG_RETURN_TEXT_P(cstring_to_text(buf.data));
}

/* A publisher's chained table, as its export describes it */
typedef struct ReplicaSource
{
	char	   *database;		/* percent-encoded, as in the export */
	char	   *table;			/* percent-encoded schema.name */
	int			nlanes;
	uint8		genesis[AC_MAX_LANES][AC_HASH_LEN];
} ReplicaSource;

/*
 * bad_chain
 *		The chain description given to protect_replica() is not an export of
 *		export_chain().
 */
static void
bad_chain(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("chain description is not an export of audit_chain.export_chain()"),
			 errdetail("%s", detail),
			 errhint("Pass what audit_chain.export_chain(tbl) returned on the publisher, unchanged.")));
}

/*
 * read_chain_lanes
 *		The lanes of a chain description: numbered 0 to n-1 in order, each
 *		with a genesis of 64 lower-case hex digits, and none archived yet
 *		(the rows before an archive boundary are not in the publisher's
 *		table, so the initial copy of a subscription would not have them).
 *		Must be called inside SPI.
 */
static void
read_chain_lanes(Datum chain, ReplicaSource *src)
{
	Oid			argtypes[1] = {JSONOID};
	Datum		args[1] = {chain};
	SPITupleTable *tt;
	int			ret;

	ret = SPI_execute_with_args("SELECT pg_catalog.json_typeof(t.l), "
								"pg_catalog.json_extract_path_text(t.l, 'lane'), "
								"pg_catalog.json_extract_path_text(t.l, 'genesis'), "
								"pg_catalog.json_extract_path_text(t.l, 'archived_seq'), "
								"pg_catalog.json_extract_path_text(t.l, 'purged_seq') "
								"FROM pg_catalog.json_array_elements("
								"pg_catalog.json_extract_path($1, 'lanes')) "
								"WITH ORDINALITY AS t(l, ord) ORDER BY t.ord",
								1, argtypes, args, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	tt = SPI_tuptable;
	if (SPI_processed < 1 || SPI_processed > AC_MAX_LANES)
		bad_chain(psprintf("It has %llu lanes; a chained table has 1 to %d.",
						   (unsigned long long) SPI_processed, AC_MAX_LANES));
	src->nlanes = (int) SPI_processed;
	for (int i = 0; i < src->nlanes; i++)
	{
		char	   *type = SPI_getvalue(tt->vals[i], tt->tupdesc, 1);
		char	   *lane = SPI_getvalue(tt->vals[i], tt->tupdesc, 2);
		char	   *genesis = SPI_getvalue(tt->vals[i], tt->tupdesc, 3);
		char	   *archived = SPI_getvalue(tt->vals[i], tt->tupdesc, 4);
		char	   *purged = SPI_getvalue(tt->vals[i], tt->tupdesc, 5);

		if (type == NULL || strcmp(type, "object") != 0 || lane == NULL ||
			strcmp(lane, psprintf("%d", i)) != 0)
			bad_chain(psprintf("Its lane %d is not an object with \"lane\": %d.", i, i));
		if (genesis == NULL || strlen(genesis) != 2 * AC_HASH_LEN ||
			strspn(genesis, "0123456789abcdef") != 2 * AC_HASH_LEN)
			bad_chain(psprintf("The \"genesis\" of its lane %d is not 64 lower-case hex digits.", i));
		(void) hex_decode(genesis, 2 * AC_HASH_LEN, (char *) src->genesis[i]);
		if (archived == NULL || purged == NULL)
			bad_chain(psprintf("Its lane %d has no \"archived_seq\" or \"purged_seq\".", i));
		if (strcmp(archived, "0") != 0 || strcmp(purged, "0") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot make a replica of lane %d of table %s, whose rows through chain_seq %s were archived on the publisher",
							i, src->table, archived),
					 errdetail("The archived rows are not in the publisher's table, so a subscription cannot copy them, and the copy would start at a boundary that the subscriber has no record of."),
					 errhint("Set up the subscriber before the publisher archives the table, and publish inserts only, so that the central copy keeps every row.")));
	}
	SPI_freetuptable(tt);
}

/*
 * read_chain
 *		Parse and check a chain description (what export_chain() returned on
 *		the publisher).  Must be called inside SPI.
 */
static void
read_chain(Datum chain, ReplicaSource *src)
{
	Oid			argtypes[1] = {JSONOID};
	Datum		args[1] = {chain};
	SPITupleTable *tt;
	char	   *type;
	char	   *format;
	char	   *lanes_type;
	char	   *columns_type;
	int			ret;

	ret = SPI_execute_with_args("SELECT pg_catalog.json_typeof($1), "
								"pg_catalog.json_extract_path_text($1, 'format'), "
								"pg_catalog.json_extract_path_text($1, 'database'), "
								"pg_catalog.json_extract_path_text($1, 'table'), "
								"pg_catalog.json_typeof(pg_catalog.json_extract_path($1, 'lanes')), "
								"pg_catalog.json_typeof(pg_catalog.json_extract_path($1, 'columns'))",
								1, argtypes, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	tt = SPI_tuptable;
	type = SPI_getvalue(tt->vals[0], tt->tupdesc, 1);
	if (type == NULL || strcmp(type, "object") != 0)
		bad_chain("It is not a JSON object.");
	format = SPI_getvalue(tt->vals[0], tt->tupdesc, 2);
	if (format == NULL || strcmp(format, AC_CHAIN_EXPORT_V1) != 0)
		bad_chain("Its \"format\" is not \"" AC_CHAIN_EXPORT_V1 "\".");
	src->database = SPI_getvalue(tt->vals[0], tt->tupdesc, 3);
	src->table = SPI_getvalue(tt->vals[0], tt->tupdesc, 4);
	if (src->database == NULL || src->table == NULL)
		bad_chain("It has no \"database\" or no \"table\".");
	lanes_type = SPI_getvalue(tt->vals[0], tt->tupdesc, 5);
	columns_type = SPI_getvalue(tt->vals[0], tt->tupdesc, 6);
	if (lanes_type == NULL || strcmp(lanes_type, "array") != 0 ||
		columns_type == NULL || strcmp(columns_type, "array") != 0)
		bad_chain("Its \"lanes\" or \"columns\" is not an array.");
	SPI_freetuptable(tt);

	read_chain_lanes(chain, src);
}

/*
 * check_replica_columns
 *		The hashed columns of the subscriber's table (hash-format.md section
 *		2) must be the publisher's, by name, type and order: they are what
 *		every row hash covers.  Must be called inside SPI.
 */
static void
check_replica_columns(const ProtectTarget *target, Datum chain)
{
	Oid			argtypes[1] = {JSONOID};
	Datum		args[1] = {chain};
	Relation	rel = table_open(target->relid, NoLock);
	TupleDesc	tupdesc = RelationGetDescr(rel);
	AcRowDesc  *desc = ac_rowdesc_build(tupdesc, target->relname, true);
	SPITupleTable *tt;
	uint64		n;
	int			ret;

	ret = SPI_execute_with_args("SELECT pg_catalog.json_extract_path_text(t.c, 'name'), "
								"pg_catalog.json_extract_path_text(t.c, 'type') "
								"FROM pg_catalog.json_array_elements("
								"pg_catalog.json_extract_path($1, 'columns')) "
								"WITH ORDINALITY AS t(c, ord) ORDER BY t.ord",
								1, argtypes, args, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	tt = SPI_tuptable;
	n = SPI_processed;
	for (int i = 0; i < Max((int64) n, desc->ncols); i++)
	{
		char	   *pname = i < n ? SPI_getvalue(tt->vals[i], tt->tupdesc, 1) : NULL;
		char	   *ptype = i < n ? SPI_getvalue(tt->vals[i], tt->tupdesc, 2) : NULL;
		char	   *lname = NULL;
		char	   *ltype = NULL;

		if (i < desc->ncols)
		{
			lname = NameStr(TupleDescAttr(tupdesc, desc->cols[i].attnum - 1)->attname);
			ltype = hashed_column_type(tupdesc, desc->cols[i].attnum);
		}
		if (i < n && (pname == NULL || ptype == NULL))
			bad_chain(psprintf("Its column %d has no \"name\" or no \"type\".", i + 1));
		if (lname == NULL || pname == NULL ||
			strcmp(lname, pname) != 0 || strcmp(ltype, ptype) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
					 errmsg("the columns of table \"%s\" are not those of the publisher's table",
							target->display),
					 lname == NULL ?
					 errdetail("The publisher's table has a hashed column %d, \"%s\" %s, which this table lacks.",
							   i + 1, pname, ptype) :
					 pname == NULL ?
					 errdetail("This table has a hashed column %d, \"%s\" %s, which the publisher's table lacks.",
							   i + 1, lname, ltype) :
					 errdetail("Hashed column %d is \"%s\" %s here, but \"%s\" %s on the publisher.",
							   i + 1, lname, ltype, pname, ptype),
					 errhint("Create the table with the publisher's columns, in the same order and with the same types, followed by chain_lane smallint, chain_seq bigint, chain_at timestamptz, chain_prev bytea and chain_hash bytea.")));
	}
	SPI_freetuptable(tt);
	table_close(rel, NoLock);
}

/*
 * check_replicable
 *		Everything protect_replica() refuses of the subscriber's table
 *		itself, checked before it changes anything: what protect() refuses,
 *		except that the chain columns must be there already, with their
 *		types, since they arrive with the rows.
 */
static void
check_replicable(const ProtectTarget *target)
{
	Relation	rel = table_open(target->relid, NoLock);

	if (rel->rd_rel->relpersistence != RELPERSISTENCE_PERMANENT)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot make %s table \"%s\" a replica copy",
						rel->rd_rel->relpersistence == RELPERSISTENCE_TEMP ?
						"temporary" : "unlogged", target->display),
				 errdetail("Its rows, the audit trail, would not survive a crash or the end of the session.")));
	if (rel->rd_rel->relispartition)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("cannot make \"%s\", which is a partition, a replica copy", target->display),
				 errhint("Register the partitioned table instead.")));
	if (strcmp(target->nspname, "pg_catalog") == 0 ||
		strcmp(target->nspname, "information_schema") == 0 ||
		strcmp(target->nspname, "audit_chain") == 0 ||
		strcmp(target->nspname, "audit_chain_archive") == 0 ||
		strncmp(target->nspname, "pg_toast", 8) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cannot make \"%s\", which is in schema %s, a replica copy",
						target->display, target->nspname),
				 errhint("The extension's own tables cannot be replicated; see audit_chain.export_events() to ship events.")));
	if (target->relkind == RELKIND_PARTITIONED_TABLE)
		check_partitions(target);
	ac_check_protectable_shape(target->relid);
	ac_check_chain_columns(rel);
	table_close(rel, NoLock);
	check_no_late_trigger(target->relid);
}

/*
 * register_replica_lanes
 *		Enter the lanes of a replica copy in audit_chain.chains with the
 *		publisher's genesis, after checking that no lane here has one of
 *		them (the same publisher's table registered twice, under two names,
 *		would be two copies of one chain that checkpoints cannot tell apart).
 */
static void
register_replica_lanes(const ProtectTarget *target, const ReplicaSource *src)
{
	Oid			owner = ac_table_owner("chains", false);
	Oid			argtypes[4] = {REGCLASSOID, INT2OID, BYTEAOID, TEXTOID};
	char	   *replica_of = psprintf("%s %s", src->database, src->table);

	for (int lane = 0; lane < src->nlanes; lane++)
	{
		Datum		args[4];

		args[0] = ObjectIdGetDatum(target->relid);
		args[1] = Int16GetDatum((int16) lane);
		args[2] = PointerGetDatum(ac_hash_bytea(src->genesis[lane]));
		args[3] = CStringGetTextDatum(replica_of);
		if (ac_execute_as(owner, NULL,
						  "SELECT tbl::pg_catalog.text, lane FROM audit_chain.chains "
						  "WHERE genesis OPERATOR(pg_catalog.=) $1",
						  1, &argtypes[2], &args[2], NULL) != SPI_OK_SELECT)
			elog(ERROR, "could not read audit_chain.chains");
		if (SPI_processed > 0)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("lane %d of the publisher's table %s is registered already, as lane %s of table %s",
							lane, src->table,
							SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2),
							SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)),
					 errdetail("Its genesis %s names one lane.", ac_hash_hex(src->genesis[lane])),
					 errhint("A publisher's table has one replica copy in a database.")));
		if (ac_execute_as(owner, NULL,
						  "INSERT INTO audit_chain.chains (tbl, lane, genesis, replica_of) "
						  "VALUES ($1, $2, $3, $4)",
						  4, argtypes, args, NULL) != SPI_OK_INSERT)
			elog(ERROR, "could not register lane %d", lane);
	}
}

/*
 * protect_replica(tbl regclass, chain json) RETURNS void
 *		Register a table the caller owns on a subscriber as the replica copy
 *		of the publisher's chained table that chain (export_chain() there)
 *		describes: its lanes get the publisher's genesis, so that the rows
 *		logical replication applies, sealed on the publisher, verify here
 *		with verify_chain() and against the publisher's checkpoints.  The
 *		table must have the publisher's columns and the five chain columns;
 *		it gets the chain index, the seal trigger, which refuses local
 *		INSERT, UPDATE and DELETE on a replica copy, and the TRUNCATE
 *		refusal.  Recorded in audit_chain.protection_log.
 */
PG_FUNCTION_INFO_V1(audit_chain_protect_replica);
Datum
audit_chain_protect_replica(PG_FUNCTION_ARGS)
{
	ProtectTarget target;
	ReplicaSource src;
	bool		numbered;
	char	   *here;
	Oid			index;
	AttrNumber	att_lane;
	AttrNumber	att_seq;
	AttrNumber	att_hash;
	Relation	rel;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table must not be NULL")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("chain description must not be NULL"),
				 errhint("Pass what audit_chain.export_chain(tbl) returned on the publisher.")));

	open_target(PG_GETARG_OID(0), "replica copies", &target);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	if (ac_registry_lanes(target.relid, GetLatestSnapshot(), NULL, &numbered) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("table \"%s\" is already protected", target.display),
				 errhint("See audit_chain.chains.")));
	check_replicable(&target);
	check_not_published(&target, "make a replica copy of");

	memset(&src, 0, sizeof(src));
	read_chain(PG_GETARG_DATUM(1), &src);

	/* logical replication matches tables by schema-qualified name */
	here = ac_encoded_relname(target.relid);
	if (strcmp(here, src.table) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("chain description is of table %s, not of %s", src.table, here),
				 errdetail("Logical replication applies the rows of a published table to the subscriber's table of the same schema and name."),
				 errhint("Create the table here under the publisher's schema and name, and pass export_chain() of that table.")));
	check_replica_columns(&target, PG_GETARG_DATUM(1));

	register_replica_lanes(&target, &src);

	/* the chain index, unless the table was made with one */
	rel = table_open(target.relid, NoLock);
	index = ac_chain_index(rel, &att_lane, &att_seq, &att_hash, true);
	table_close(rel, NoLock);
	if (!OidIsValid(index))
		run_ddl(psprintf("CREATE %s INDEX %s ON %s (chain_lane, chain_seq)",
						 target.relkind == RELKIND_PARTITIONED_TABLE ? "" : "UNIQUE",
						 quote_identifier(ChooseRelationName(target.relname, "chain", "idx",
															 get_rel_namespace(target.relid),
															 false)),
						 target.qualname));
	create_triggers(&target, src.nlanes);

	run_ddl(psprintf("ALTER TABLE %s ALTER COLUMN chain_lane SET NOT NULL, "
					 "ALTER COLUMN chain_seq SET NOT NULL, ALTER COLUMN chain_at SET NOT NULL, "
					 "ALTER COLUMN chain_prev SET NOT NULL, ALTER COLUMN chain_hash SET NOT NULL",
					 target.qualname));

	log_protection(&target, "protect_replica", src.nlanes, -1, NULL,
				   cstring_to_text(psprintf("replica of %s %s", src.database, src.table)));
	SPI_finish();
	PG_RETURN_VOID();
}
