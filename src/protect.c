/*-------------------------------------------------------------------------
 *
 * protect.c
 *	  protect() and unprotect(): turning a table into a chained table and
 *	  back, with every write to the registry they make.
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
#include "commands/defrem.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "chaintable.h"
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
