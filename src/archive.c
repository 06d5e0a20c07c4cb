/*-------------------------------------------------------------------------
 *
 * archive.c
 *	  Moving the oldest rows of a chained table into its archive table, and
 *	  purging archived rows, without a hole in any lane and without losing
 *	  the ability to verify what is left.
 *
 * Every lane of a chained table has two boundaries in audit_chain.chains:
 * archived_seq/archived_hash, where the live lane starts (the rows up to it
 * are in the archive table), and purged_seq/purged_hash, where the archived
 * segment starts (the rows up to it are gone).  archive() and the purge of
 * apply_retention() move them forward in batches, each batch one
 * transaction that
 *	- moves (or deletes) the next rows of one lane whose chain_at is older
 *	  than the cutoff, a prefix of what is left of the lane, never a hole;
 *	- recomputes the hash of every row it moves and checks the links, so
 *	  that a row changed in place is never archived or purged out of sight;
 *	- updates the boundary in audit_chain.chains;
 *	- appends the move to audit_chain.boundaries, itself a chained table, so
 *	  that verify_chain() can tell a boundary moved by these procedures from
 *	  one edited by hand, and a checkpoint binds the record of every move.
 * A batch that fails, is cancelled, or dies with its backend leaves nothing
 * behind: the rows are in exactly one of the two tables and the boundary
 * says which.  Rerunning goes on from the boundary.
 *
 * Called with CALL outside a transaction block, the procedures commit after
 * every batch, so no lock is held long and memory stays bounded; called
 * inside one, everything is one transaction.
 *
 * The rows leave the live table by a DELETE that the seal trigger lets
 * through under a permit (ac_seal_permit_begin) for exactly the lane and
 * seq range being moved, and enter the archive table by an INSERT that the
 * archive table's guard trigger lets through under a permit of its own.
 * Both run as the live table's owner in a security-restricted operation,
 * as one statement; the archive table belongs to the extension's owner,
 * who grants the live table's owner SELECT and INSERT on it (the guard
 * refuses any INSERT outside archive()).
 *
 * IDENTIFICATION
 *	  src/archive.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/partition.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_index.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_statistic_ext.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "partitioning/partdesc.h"
#include "utils/partcache.h"
#include "utils/syscache.h"
#include "utils/typcache.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "pgstat.h"
#include "storage/lock.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "archive.h"
#include "chaintable.h"
#include "compat.h"
#include "ddl.h"
#include "encode.h"
#include "events.h"
#include "guc.h"
#include "hash.h"
#include "lane.h"
#include "redact.h"
#include "registry.h"
#include "relname.h"
#include "restore.h"
#include "retention.h"
#include "seal.h"

/* Rows one batch moves or purges at most */
#define ARCHIVE_BATCH_ROWS	10000

/* objsubid of the advisory lock tag that one archive() of a table holds */
#define AC_ARCHIVE_LOCK_FIELD4	0x4144	/* "AD" */

#define ARCHIVE_SCHEMA		"audit_chain_archive"
#define ARCHIVE_GUARD		"zz_audit_chain_archive_guard"
#define ARCHIVE_TRUNCATE	"zz_audit_chain_archive_truncate"

/*
 * What the guard trigger of archive tables lets through: archive()'s INSERT
 * of the rows it moves, or the purge's DELETE, into or from this archive
 * table (or a table inheriting from it), for one lane and seq range.
 */
static struct
{
	Oid			archive;
	CmdType		cmd;
	int16		lane;
	int64		first_seq;
	int64		last_seq;
}			archive_permit = {InvalidOid, CMD_UNKNOWN, 0, 0, 0};

/* One lane's registry row, read (and row-locked) at the start of a batch */
typedef struct LaneBoundary
{
	uint8		genesis[AC_HASH_LEN];
	int64		archived_seq;
	uint8		archived_hash[AC_HASH_LEN];
	int64		purged_seq;
	uint8		purged_hash[AC_HASH_LEN];
} LaneBoundary;

/* What one run of archive() or of a purge did, for its event */
typedef struct RunTotals
{
	int64		rows;
	int			batches;
	int			partitions;		/* detached whole */
	int64		lane_rows[AC_MAX_LANES];
} RunTotals;

static void begin_batch(int *nestlevel);
static void end_batch(bool atomic, int nestlevel);


/*
 * ac_archive_root_of
 *		The table relid inherits from, through any number of levels, up to
 *		the top (relid itself if it inherits from nothing): for an old
 *		partition that archive() detached, its archive table.
 */
Oid
ac_archive_root_of(Oid relid)
{
	for (int depth = 0; depth < 32; depth++)
	{
		Relation	inh = table_open(InheritsRelationId, AccessShareLock);
		ScanKeyData key[2];
		SysScanDesc scan;
		HeapTuple	tup;
		Oid			parent = InvalidOid;

		ScanKeyInit(&key[0], Anum_pg_inherits_inhrelid, BTEqualStrategyNumber,
					F_OIDEQ, ObjectIdGetDatum(relid));
		ScanKeyInit(&key[1], Anum_pg_inherits_inhseqno, BTEqualStrategyNumber,
					F_INT4EQ, Int32GetDatum(1));
		scan = systable_beginscan(inh, InheritsRelidSeqnoIndexId, true,
								  NULL, 2, key);
		if (HeapTupleIsValid(tup = systable_getnext(scan)))
			parent = ((Form_pg_inherits) GETSTRUCT(tup))->inhparent;
		systable_endscan(scan);
		table_close(inh, AccessShareLock);
		if (!OidIsValid(parent))
			break;
		relid = parent;
	}
	return relid;
}

/*
 * guard_archive
 *		BEFORE INSERT OR UPDATE OR DELETE row trigger, and BEFORE TRUNCATE
 *		statement trigger, of archive tables: an archive table takes rows
 *		only from archive() and gives them up only to the purge.
 */
PG_FUNCTION_INFO_V1(audit_chain_guard_archive);
Datum
audit_chain_guard_archive(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	const char *verb;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("guard_archive: must be called as a trigger")));
	rel = trigdata->tg_relation;

	if (TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) &&
		TRIGGER_FIRED_BEFORE(trigdata->tg_event) &&
		!TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) &&
		OidIsValid(archive_permit.archive) &&
		(RelationGetRelid(rel) == archive_permit.archive ||
		 ac_archive_root_of(RelationGetRelid(rel)) == archive_permit.archive) &&
		(TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ?
		 archive_permit.cmd == CMD_INSERT : archive_permit.cmd == CMD_DELETE))
	{
		HeapTuple	tuple = trigdata->tg_trigtuple;
		TupleDesc	tupdesc = RelationGetDescr(rel);
		int			att_lane = SPI_fnumber(tupdesc, "chain_lane");
		int			att_seq = SPI_fnumber(tupdesc, "chain_seq");
		bool		lnull = true;
		bool		snull = true;
		int16		lane = 0;
		int64		seq = 0;

		if (att_lane > 0 && att_seq > 0)
		{
			lane = DatumGetInt16(heap_getattr(tuple, att_lane, tupdesc, &lnull));
			seq = DatumGetInt64(heap_getattr(tuple, att_seq, tupdesc, &snull));
		}
		if (!lnull && !snull && lane == archive_permit.lane &&
			seq >= archive_permit.first_seq && seq <= archive_permit.last_seq)
			return PointerGetDatum(tuple);
	}

	/* the rows of a dump, loaded while the guard is there: data-only */
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) && ac_replaying_dump())
		ac_refuse_data_only_restore(rel);
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		verb = "insert into";
	else if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		verb = "update";
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		verb = "delete from";
	else
		verb = "truncate";
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("cannot %s archive table \"%s\"", verb,
					RelationGetRelationName(rel)),
			 errdetail("Rows enter an archive table only through audit_chain.archive() and leave it only through the purge of audit_chain.apply_retention()."),
			 errhint("Archived rows are verified with audit_chain.verify_chain() on the archive table.")));
	PG_RETURN_NULL();			/* keep compiler quiet */
}

/*
 * ac_archive_of
 *		The archive table of chained table relid from audit_chain.archives
 *		(read as its owner), or InvalidOid if it has none.  Must be called
 *		inside SPI.  The OID may name a table that was dropped since.
 */
Oid
ac_archive_of(Oid relid)
{
	Oid			argtypes[1] = {REGCLASSOID};
	Datum		args[1] = {ObjectIdGetDatum(relid)};
	bool		isnull;
	int			ret;

	ret = ac_execute_as(ac_table_owner("archives", false), NULL,
						"SELECT archive FROM audit_chain.archives "
						"WHERE tbl OPERATOR(pg_catalog.=) $1",
						1, argtypes, args, NULL);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		return InvalidOid;
	return DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
										  SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * ac_archive_live_table
 *		The chained table whose archive table relid is (or from which relid
 *		inherits), or InvalidOid if relid is no archive table.  Read directly,
 *		without SPI and without any privilege on audit_chain.archives.
 */
Oid
ac_archive_live_table(Oid relid)
{
	Oid			regid = ac_extension_relid("archives");
	Relation	reg;
	TableScanDesc scan;
	HeapTuple	tup;
	Oid			live = InvalidOid;
	Oid			root;
	Snapshot	snapshot;

	if (!OidIsValid(regid) || get_rel_namespace(relid) == InvalidOid)
		return InvalidOid;
	root = ac_archive_root_of(relid);
	reg = table_open(regid, AccessShareLock);
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = table_beginscan(reg, snapshot, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		Datum		a = heap_getattr(tup, 2, RelationGetDescr(reg), &isnull);

		if (!isnull && DatumGetObjectId(a) == root)
		{
			live = DatumGetObjectId(heap_getattr(tup, 1, RelationGetDescr(reg), &isnull));
			break;
		}
	}
	table_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(reg, AccessShareLock);
	return live;
}

/*
 * run_as
 *		Run one statement as role, failing unless it gives expected (an SPI
 *		result code).
 */
static void
run_as(Oid role, int expected, const char *sql, int nargs, Oid *argtypes,
	   Datum *args, const char *nulls)
{
	int			ret = ac_execute_as(role, NULL, sql, nargs, argtypes, args, nulls);

	if (ret != expected)
		elog(ERROR, "unexpected SPI result %s for: %s",
			 SPI_result_code_string(ret), sql);
}

/*
 * add_archive_guard
 *		Give table qname (an archive table, or a partition joining one) the
 *		guard triggers, as role owner (the extension's owner).
 */
static void
add_archive_guard(Oid owner, const char *qname)
{
	run_as(owner, SPI_OK_UTILITY,
		   psprintf("CREATE TRIGGER " ARCHIVE_GUARD
					" BEFORE INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW"
					" EXECUTE FUNCTION audit_chain.guard_archive()", qname),
		   0, NULL, NULL, NULL);
	run_as(owner, SPI_OK_UTILITY,
		   psprintf("CREATE TRIGGER " ARCHIVE_TRUNCATE
					" BEFORE TRUNCATE ON %s FOR EACH STATEMENT"
					" EXECUTE FUNCTION audit_chain.guard_archive()", qname),
		   0, NULL, NULL, NULL);
}

/*
 * sync_archive
 *		Give the archive table the columns the live table gained since it was
 *		made (ADD COLUMN, which the DDL guard allows with no default), and
 *		SELECT and INSERT to the live table's current owner (taking them
 *		from a former one).  The archive's columns then stay in the live
 *		table's order, which the hash follows.
 */
static void
sync_archive(Oid relid, Oid archive, Oid archive_owner)
{
	Relation	live = table_open(relid, AccessShareLock);
	Relation	arch = table_open(archive, AccessShareLock);
	TupleDesc	ld = RelationGetDescr(live);
	TupleDesc	ad = RelationGetDescr(arch);
	char	   *archname = ac_qualified_relname(archive);
	Oid			owner = live->rd_rel->relowner;
	List	   *adds = NIL;
	ListCell   *lc;

	for (int i = 0; i < ld->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(ld, i);
		Oid			typid;
		int32		typmod;

		if (att->attisdropped || att->attgenerated != '\0')
			continue;
		if (SPI_fnumber(ad, NameStr(att->attname)) > 0)
			continue;
		typid = att->atttypid;
		typmod = att->atttypmod;

		/*
		 * A domain with constraints: its base type instead (which hashes the
		 * same).  Adding a column of such a domain rewrites the table and
		 * checks the constraints on every archived row, as the extension's
		 * owner: code of the live table's owner would run with its
		 * privileges.  Rows enter only from the live table, where the
		 * domain checked them.
		 */
		if (DomainHasConstraints(typid))
		{
			typmod = -1;
			typid = getBaseTypeAndTypmod(typid, &typmod);
			if (typmod < 0)
				typmod = att->atttypmod;
		}
		adds = lappend(adds,
					   psprintf("ALTER TABLE %s ADD COLUMN %s %s", archname,
								quote_identifier(NameStr(att->attname)),
								format_type_with_typemod(typid, typmod)));
	}
	/* closed first: ALTER TABLE refuses a table this session has open */
	table_close(arch, AccessShareLock);
	table_close(live, AccessShareLock);
	foreach(lc, adds)
		run_as(archive_owner, SPI_OK_UTILITY, lfirst(lc), 0, NULL, NULL, NULL);

	if (!ac_table_ownercheck(archive, owner) ||
		pg_class_aclcheck(archive, owner, ACL_SELECT | ACL_INSERT) != ACLCHECK_OK)
	{
		const char *role = quote_identifier(GetUserNameFromId(owner, false));

		run_as(archive_owner, SPI_OK_UTILITY,
			   psprintf("GRANT USAGE ON SCHEMA " ARCHIVE_SCHEMA " TO %s", role),
			   0, NULL, NULL, NULL);
		run_as(archive_owner, SPI_OK_UTILITY,
			   psprintf("GRANT SELECT, INSERT ON %s TO %s", archname, role),
			   0, NULL, NULL, NULL);
	}

	/*
	 * INSERT (and SELECT with it) on an archive table is only ever granted
	 * to the live table's owner: a role that has it and is no longer the
	 * owner (ALTER TABLE ... OWNER TO another role) loses both, so that it
	 * reads none of the rows archived since.  A role granted SELECT alone,
	 * by hand, keeps it.
	 */
	{
		Oid			argtypes[3] = {OIDOID, OIDOID, OIDOID};
		Datum		args[3];
		bool		isnull;
		Datum		roles;

		args[0] = ObjectIdGetDatum(archive);
		args[1] = ObjectIdGetDatum(archive_owner);
		args[2] = ObjectIdGetDatum(owner);
		run_as(archive_owner, SPI_OK_SELECT,
			   "SELECT pg_catalog.string_agg(DISTINCT pg_catalog.quote_ident(r.rolname), ', ') "
			   "FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a "
			   "JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) a.grantee "
			   "WHERE c.oid OPERATOR(pg_catalog.=) $1 "
			   "AND a.privilege_type OPERATOR(pg_catalog.=) 'INSERT' "
			   "AND a.grantee OPERATOR(pg_catalog.<>) $2 AND a.grantee OPERATOR(pg_catalog.<>) $3",
			   3, argtypes, args, NULL);
		roles = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (!isnull)
			run_as(archive_owner, SPI_OK_UTILITY,
				   psprintf("REVOKE SELECT, INSERT ON %s FROM %s", archname,
							TextDatumGetCString(roles)),
				   0, NULL, NULL, NULL);
	}
}

/*
 * archive_name
 *		A name for the archive table of relid in audit_chain_archive: the
 *		table's own name, or with _2, _3, ... if a table of another schema
 *		took it first.
 */
static char *
archive_name(Oid relid)
{
	Oid			nsp = get_namespace_oid(ARCHIVE_SCHEMA, false);
	const char *base = get_rel_name(relid);

	for (int n = 1;; n++)
	{
		char		suffix[16];
		char		name[NAMEDATALEN];
		int			room;

		suffix[0] = '\0';
		if (n > 1)
			snprintf(suffix, sizeof(suffix), "_%d", n);
		room = NAMEDATALEN - 1 - strlen(suffix);
		snprintf(name, sizeof(name), "%.*s%s", room, base, suffix);
		/* never cut a multibyte character in two */
		name[pg_mbcliplen(name, strlen(name) - strlen(suffix), room) ] = '\0';
		strlcat(name, suffix, sizeof(name));
		if (!OidIsValid(get_relname_relid(name, nsp)))
			return pstrdup(name);
	}
}

/*
 * ensure_archive
 *		The archive table of chained table relid (which the caller owns and
 *		has locked), made if it has none.  Must be called inside SPI, under
 *		search_path = pg_catalog, pg_temp.
 *
 * Made by the owner of the extension's tables, with the live table's
 * columns in the live table's order (LIKE, generated columns kept
 * generated: they are not hashed), a unique index on (chain_lane,
 * chain_seq), the guard triggers, and no access for PUBLIC.
 */
static Oid
ensure_archive(Oid relid)
{
	Oid			archive = ac_archive_of(relid);
	Oid			ext_owner = ac_table_owner("archives", false);
	char	   *qname;
	char	   *name;
	char	   *live = ac_qualified_relname(relid);
	Oid			argtypes[2] = {REGCLASSOID, REGCLASSOID};
	Datum		args[2];
	StringInfoData details;

	if (OidIsValid(archive))
	{
		if (get_rel_name(archive) == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("the archive table of table \"%s\" was dropped",
							get_rel_name(relid)),
					 errdetail("audit_chain.archives names table OID %u, which no longer exists: the archived rows are gone.",
							   archive)));
		sync_archive(relid, archive, ext_owner);
		return archive;
	}

	name = archive_name(relid);
	qname = psprintf(ARCHIVE_SCHEMA ".%s", quote_identifier(name));
	run_as(ext_owner, SPI_OK_UTILITY,
		   psprintf("CREATE TABLE %s (LIKE %s INCLUDING GENERATED)", qname, live),
		   0, NULL, NULL, NULL);
	archive = get_relname_relid(name, get_namespace_oid(ARCHIVE_SCHEMA, false));
	if (!OidIsValid(archive))
		elog(ERROR, "archive table %s was not created", qname);
	run_as(ext_owner, SPI_OK_UTILITY,
		   psprintf("CREATE UNIQUE INDEX ON %s (chain_lane, chain_seq)", qname),
		   0, NULL, NULL, NULL);
	add_archive_guard(ext_owner, qname);
	run_as(ext_owner, SPI_OK_UTILITY,
		   psprintf("REVOKE ALL ON %s FROM PUBLIC", qname),
		   0, NULL, NULL, NULL);
	args[0] = ObjectIdGetDatum(relid);
	args[1] = ObjectIdGetDatum(archive);
	run_as(ext_owner, SPI_OK_INSERT,
		   "INSERT INTO audit_chain.archives (tbl, archive) VALUES ($1, $2)",
		   2, argtypes, args, NULL);
	CommandCounterIncrement();
	sync_archive(relid, archive, ext_owner);

	initStringInfo(&details);
	appendStringInfoString(&details, "{\"table\": ");
	escape_json(&details, ac_display_relname(relid));
	appendStringInfoString(&details, ", \"archive\": ");
	escape_json(&details, ac_display_relname(archive));
	appendStringInfoChar(&details, '}');
	ac_events_queue_admin("create archive table", ac_display_relname(relid),
						  details.data);
	return archive;
}

/*
 * begin_batch / end_batch
 *		Bracket one transaction's worth of work: search_path fixed to
 *		pg_catalog, pg_temp and row_security off for whatever runs in it
 *		(the procedures have no SET clause, which would forbid their
 *		COMMITs), an SPI connection of its own (the procedure's connection
 *		would keep every result until the procedure ends), and the COMMIT
 *		after it when the procedure may commit.
 */
static void
begin_batch(int *nestlevel)
{
	*nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);

	/*
	 * What a batch reads of the owner's tables it reads in full, or fails:
	 * a row security policy of the owner's on one partition must not hide
	 * rows from the check that the partition to detach is a prefix.
	 */
	(void) set_config_option("row_security", "off",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	/* a batch reads a small seq range: the (lane, seq) index, always */
	(void) set_config_option("enable_seqscan", "off",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	/* a connection of the batch's own, whose SPI_finish frees its results */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
}

static void
end_batch(bool atomic, int nestlevel)
{
	SPI_finish();
	AtEOXact_GUC(true, nestlevel);
	if (!atomic)
		SPI_commit();
	else
		CommandCounterIncrement();
}

/*
 * read_boundary
 *		Read lane's registry row of relid, locking it (FOR UPDATE) so that
 *		two movers of one lane's boundaries go one after the other.
 */
static void
read_boundary(Oid relid, int16 lane, LaneBoundary *b)
{
	Oid			argtypes[2] = {REGCLASSOID, INT2OID};
	Datum		args[2] = {ObjectIdGetDatum(relid), Int16GetDatum(lane)};
	HeapTuple	tup;
	TupleDesc	td;
	bool		isnull;
	const uint8 *h;

	run_as(ac_table_owner("chains", false), SPI_OK_SELECT,
		   "SELECT genesis, archived_seq, "
		   "COALESCE(archived_hash, genesis), purged_seq, "
		   "COALESCE(purged_hash, genesis) "
		   "FROM audit_chain.chains WHERE tbl OPERATOR(pg_catalog.=) $1 "
		   "AND lane OPERATOR(pg_catalog.=) $2 FOR UPDATE",
		   2, argtypes, args, NULL);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" is not a chained table", get_rel_name(relid)),
				 errdetail("Lane %d of the table is not registered in audit_chain.chains: the table was unprotected.",
						   lane)));
	tup = SPI_tuptable->vals[0];
	td = SPI_tuptable->tupdesc;
	if ((h = ac_hash_of_bytea(SPI_getbinval(tup, td, 1, &isnull))) == NULL)
		goto bad;
	memcpy(b->genesis, h, AC_HASH_LEN);
	b->archived_seq = DatumGetInt64(SPI_getbinval(tup, td, 2, &isnull));
	if ((h = ac_hash_of_bytea(SPI_getbinval(tup, td, 3, &isnull))) == NULL)
		goto bad;
	memcpy(b->archived_hash, h, AC_HASH_LEN);
	b->purged_seq = DatumGetInt64(SPI_getbinval(tup, td, 4, &isnull));
	if ((h = ac_hash_of_bytea(SPI_getbinval(tup, td, 5, &isnull))) == NULL)
		goto bad;
	memcpy(b->purged_hash, h, AC_HASH_LEN);
	return;

bad:
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("lane %d of table \"%s\" has no valid genesis or boundary hash in audit_chain.chains",
					lane, get_rel_name(relid))));
}

/*
 * check_moved_rows
 *		The rows a batch moved or purged (SPI_tuptable, any order), in the
 *		layout of table layout_rel's columns: they must be seq from_seq+1
 *		on, with no gap, each linking to the one before (the first to
 *		from_hash) and hashing to its chain_hash.  Returns how many there
 *		are, with the last one's seq and hash in *to_seq and to_hash.
 *		Any failure is an error, which undoes the batch: a row that does not
 *		verify is never moved out of sight.
 */
static int64
check_moved_rows(Oid relid, int16 lane, Relation layout_rel,
				 int64 from_seq, const uint8 *from_hash,
				 int64 *to_seq, uint8 *to_hash, const char *what)
{
	SPITupleTable *tt = SPI_tuptable;
	uint64		n = SPI_processed;
	TupleDesc	td = tt->tupdesc;
	AcRowDesc  *desc;
	HeapTuple  *byseq;
	Datum	   *values;
	bool	   *isnull;
	uint8		prev[AC_HASH_LEN];
	MemoryContext rowcxt;
	AcRedactions *redactions;

	if (n == 0)
		return 0;
	/* redacted rows hash with their kept digests (redact.c) */
	redactions = ac_redactions_load(relid, -1, 0,
									ActiveSnapshotSet() ? GetActiveSnapshot() :
									GetTransactionSnapshot(),
									CurrentMemoryContext);
	desc = ac_rowdesc_build(RelationGetDescr(layout_rel),
							RelationGetRelationName(layout_rel), true);
	ac_rowdesc_remap(desc, RelationGetDescr(layout_rel), td);

	/* place each row at its seq */
	byseq = palloc0(sizeof(HeapTuple) * n);
	for (uint64 i = 0; i < n; i++)
	{
		bool		snull;
		int64		seq = DatumGetInt64(heap_getattr(tt->vals[i], desc->att_seq, td, &snull));

		if (snull || seq <= from_seq || seq > from_seq + (int64) n ||
			byseq[seq - from_seq - 1] != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("cannot %s rows of lane %d of table \"%s\": its rows after chain_seq %lld are not numbered without a gap",
							what, lane, get_rel_name(relid), (long long) from_seq),
					 errhint("Run audit_chain.verify_chain() on the table.")));
		byseq[seq - from_seq - 1] = tt->vals[i];
	}

	values = palloc(sizeof(Datum) * td->natts);
	isnull = palloc(sizeof(bool) * td->natts);
	memcpy(prev, from_hash, AC_HASH_LEN);
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "audit_chain archive row",
								   ALLOCSET_DEFAULT_SIZES);
	for (uint64 i = 0; i < n; i++)
	{
		int64		seq = from_seq + i + 1;
		const uint8 *rprev;
		const uint8 *rhash;
		const uint8 **kept;
		const char *redacted;
		uint8		computed[AC_HASH_LEN];
		MemoryContext old;

		MemoryContextReset(rowcxt);
		old = MemoryContextSwitchTo(rowcxt);
		heap_deform_tuple(byseq[i], td, values, isnull);
		rprev = isnull[desc->att_prev - 1] ? NULL : ac_hash_of_bytea(values[desc->att_prev - 1]);
		rhash = isnull[desc->att_hash - 1] ? NULL : ac_hash_of_bytea(values[desc->att_hash - 1]);
		redacted = ac_redactions_kept(redactions, desc, lane, seq, isnull, &kept);
		if (rprev != NULL && rhash != NULL && !isnull[desc->att_at - 1])
			ac_row_hash(desc, values, isnull, seq,
						DatumGetTimestampTz(values[desc->att_at - 1]),
						rprev, kept, computed);
		if (rprev == NULL || rhash == NULL || isnull[desc->att_at - 1] ||
			redacted != NULL ||
			memcmp(rprev, prev, AC_HASH_LEN) != 0 ||
			memcmp(rhash, computed, AC_HASH_LEN) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("cannot %s rows of lane %d of table \"%s\": chain_seq %lld does not verify",
							what, lane, get_rel_name(relid), (long long) seq),
					 errdetail("Rows that do not verify are never archived or purged; nothing was moved."),
					 errhint("Run audit_chain.verify_chain() on the table.")));
		memcpy(prev, rhash, AC_HASH_LEN);
		MemoryContextSwitchTo(old);
	}
	MemoryContextDelete(rowcxt);
	*to_seq = from_seq + n;
	memcpy(to_hash, prev, AC_HASH_LEN);
	return (int64) n;
}

/*
 * check_moved_all
 *		Every row from after_seq + 1 to last existed, and is older than the
 *		cutoff (prefix_end saw to it), so the statement must have moved all
 *		of them: fewer means a BEFORE trigger of the table's owner skipped
 *		some, or deleted some itself under the permit (they would then be in
 *		neither table).  Either way the batch is undone.
 */
static void
check_moved_all(Oid relid, int16 lane, int64 after_seq, int64 last, int64 n,
				const char *what)
{
	if (n != last - after_seq)
		ereport(ERROR,
				(errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
				 errmsg("cannot %s rows of lane %d of table \"%s\": %lld of the %lld rows after chain_seq %lld were moved",
						what, lane, get_rel_name(relid), (long long) n,
						(long long) (last - after_seq), (long long) after_seq),
				 errdetail("A trigger on the table skipped or removed rows while they were being moved; nothing was moved.")));
}

/*
 * record_boundary
 *		Move a lane's boundary in audit_chain.chains and append the move to
 *		audit_chain.boundaries.
 */
static void
record_boundary(Oid relid, int16 lane, const char *kind, const LaneBoundary *b,
				int64 from_seq, const uint8 *from_hash,
				int64 to_seq, const uint8 *to_hash, int64 rows,
				TimestampTz cutoff)
{
	bool		purge = strcmp(kind, "purge") == 0;
	Oid			argtypes1[5] = {REGCLASSOID, INT2OID, INT8OID, BYTEAOID, BYTEAOID};
	Datum		args1[5];
	Oid			argtypes2[10] = {TEXTOID, TEXTOID, INT2OID, BYTEAOID, INT8OID,
	BYTEAOID, INT8OID, BYTEAOID, INT8OID, TIMESTAMPTZOID};
	Datum		args2[10];

	args1[0] = ObjectIdGetDatum(relid);
	args1[1] = Int16GetDatum(lane);
	args1[2] = Int64GetDatum(to_seq);
	args1[3] = PointerGetDatum(ac_hash_bytea(to_hash));
	args1[4] = PointerGetDatum(ac_hash_bytea(b->genesis));
	run_as(ac_table_owner("chains", false), SPI_OK_UPDATE,
		   purge ?
		   "UPDATE audit_chain.chains SET purged_seq = $3, purged_hash = $4 "
		   "WHERE tbl OPERATOR(pg_catalog.=) $1 AND lane OPERATOR(pg_catalog.=) $2 "
		   "AND genesis OPERATOR(pg_catalog.=) $5" :
		   "UPDATE audit_chain.chains SET archived_seq = $3, archived_hash = $4, "
		   "archived_at = pg_catalog.clock_timestamp() "
		   "WHERE tbl OPERATOR(pg_catalog.=) $1 AND lane OPERATOR(pg_catalog.=) $2 "
		   "AND genesis OPERATOR(pg_catalog.=) $5",
		   5, argtypes1, args1, NULL);
	if (SPI_processed != 1)
		elog(ERROR, "could not move the boundary of lane %d of \"%s\"",
			 lane, get_rel_name(relid));

	args2[0] = CStringGetTextDatum(kind);
	args2[1] = CStringGetTextDatum(ac_display_relname(relid));
	args2[2] = Int16GetDatum(lane);
	args2[3] = PointerGetDatum(ac_hash_bytea(b->genesis));
	args2[4] = Int64GetDatum(from_seq);
	args2[5] = PointerGetDatum(ac_hash_bytea(from_hash));
	args2[6] = Int64GetDatum(to_seq);
	args2[7] = PointerGetDatum(ac_hash_bytea(to_hash));
	args2[8] = Int64GetDatum(rows);
	args2[9] = TimestampTzGetDatum(cutoff);
	run_as(ac_table_owner("boundaries", false), SPI_OK_INSERT,
		   "INSERT INTO audit_chain.boundaries (kind, tbl_name, lane, lane_genesis, "
		   "from_seq, from_hash, to_seq, to_hash, row_count, cutoff) "
		   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
		   10, argtypes2, args2, NULL);
}

/*
 * copied_column_list
 *		The columns of the archive table that archive() copies: every column
 *		but the generated ones, quoted and separated by commas.
 */
static char *
copied_column_list(Relation arch)
{
	TupleDesc	td = RelationGetDescr(arch);
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < td->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(td, i);

		if (att->attisdropped || att->attgenerated != '\0')
			continue;
		if (buf.len > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, quote_identifier(NameStr(att->attname)));
	}
	return buf.data;
}

/*
 * prefix_end
 *		The last seq of the prefix of lane in table tbl (read as role) that a
 *		batch may take: the rows after after_seq up to upto, stopping before
 *		the first one whose chain_at is not older than cutoff.  after_seq if
 *		there is none.
 */
static int64
prefix_end(Oid role, Oid tbl, int16 lane, int64 after_seq, int64 upto,
		   TimestampTz cutoff)
{
	Oid			argtypes[4] = {INT2OID, INT8OID, INT8OID, TIMESTAMPTZOID};
	Datum		args[4];
	bool		isnull;
	int64		first_new;
	int64		last_row;

	args[0] = Int16GetDatum(lane);
	args[1] = Int64GetDatum(after_seq);
	args[2] = Int64GetDatum(upto);
	args[3] = TimestampTzGetDatum(cutoff);
	run_as(role, SPI_OK_SELECT,
		   psprintf("SELECT pg_catalog.min(chain_seq) FILTER (WHERE chain_at OPERATOR(pg_catalog.>=) $4),"
					" pg_catalog.max(chain_seq)"
					" FROM %s WHERE chain_lane OPERATOR(pg_catalog.=) $1"
					" AND chain_seq OPERATOR(pg_catalog.>) $2"
					" AND chain_seq OPERATOR(pg_catalog.<=) $3",
					ac_qualified_relname(tbl)),
		   4, argtypes, args, NULL);
	first_new = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
											SPI_tuptable->tupdesc, 1, &isnull));
	if (!isnull)
		return first_new - 1;
	last_row = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										   SPI_tuptable->tupdesc, 2, &isnull));
	return isnull ? after_seq : last_row;
}

/*
 * run_snapshot_as
 *		Run one statement (parameters lane int2, after_seq int8, last int8,
 *		cutoff timestamptz) as role, in a security-restricted operation,
 *		with snapshot; fail unless it gives expected.  Returns the rows it
 *		processed.
 */
static uint64
run_snapshot_as(Oid role, const char *sql, Datum *args, Snapshot snapshot,
				bool read_only, int expected)
{
	Oid			argtypes[4] = {INT2OID, INT8OID, INT8OID, TIMESTAMPTZOID};
	SPIPlanPtr	plan;
	Oid			save_userid;
	int			save_sec_context;
	int			ret;

	plan = SPI_prepare(sql, 4, argtypes);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(role, save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	ret = SPI_execute_snapshot(plan, args, NULL, snapshot, InvalidSnapshot,
							   read_only, true, 0);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	if (ret != expected)
		elog(ERROR, "unexpected SPI result %s for: %s", SPI_result_code_string(ret), sql);
	return SPI_processed;
}

/*
 * delete_rows
 *		Delete the rows of tt (whose first two columns are tableoid and ctid)
 *		by TID, as the rows snapshot saw them: a row changed or deleted
 *		since is an error.  Straight from the table, as VACUUM or a
 *		replication apply worker removes rows: no trigger fires, so neither
 *		the seal trigger's refusal nor any trigger of the owner's is in the
 *		way (the rows are not deleted but moved, and checked as they move).
 *		archive() refuses a table that a foreign key references.
 */
static void
delete_rows(SPITupleTable *tt, Snapshot snapshot)
{
	Relation	rel = NULL;

	for (uint64 i = 0; i < tt->numvals; i++)
	{
		bool		isnull;
		Oid			leaf = DatumGetObjectId(heap_getattr(tt->vals[i], 1, tt->tupdesc, &isnull));
		ItemPointer tid = (ItemPointer) DatumGetPointer(heap_getattr(tt->vals[i], 2,
																	 tt->tupdesc, &isnull));

		if (rel == NULL || RelationGetRelid(rel) != leaf)
		{
			if (rel != NULL)
				table_close(rel, NoLock);
			rel = table_open(leaf, RowExclusiveLock);
		}
		simple_table_tuple_delete(rel, tid, snapshot);
	}
	if (rel != NULL)
		table_close(rel, NoLock);
	CommandCounterIncrement();
}

/*
 * check_not_referenced
 *		archive() deletes rows without firing triggers, so it would leave
 *		the foreign keys that reference the table dangling: refuse.
 */
static void
check_not_referenced(Oid relid)
{
	List	   *leaves = ac_chain_leaves(relid);
	Relation	con = table_open(ConstraintRelationId, AccessShareLock);
	SysScanDesc scan;
	HeapTuple	tup;

	leaves = lappend_oid(leaves, relid);
	scan = systable_beginscan(con, InvalidOid, false, NULL, 0, NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_constraint c = (Form_pg_constraint) GETSTRUCT(tup);

		if (c->contype == CONSTRAINT_FOREIGN && list_member_oid(leaves, c->confrelid))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot archive rows of table \"%s\": foreign key \"%s\" of table \"%s\" references it",
							get_rel_name(relid), NameStr(c->conname), get_rel_name(c->conrelid)),
					 errdetail("Archived rows leave the table; the rows that reference them would be left dangling."),
					 errhint("Drop the foreign key, or reference the rows by value.")));
	}
	systable_endscan(scan);
	table_close(con, AccessShareLock);
}

/*
 * archive_batch
 *		Move the next rows of one lane (at most ARCHIVE_BATCH_ROWS, all with
 *		chain_at < cutoff, the first ones left in the lane) into the archive
 *		table.  Returns how many.  Must be called inside SPI.
 */
static int64
archive_batch(Oid relid, int16 lane, TimestampTz cutoff)
{
	LaneBoundary b;
	Oid			archive;
	Relation	arch;
	char	   *cols;
	Datum		args[4];
	int64		to_seq;
	uint8		to_hash[AC_HASH_LEN];
	int64		n;
	int64		last;
	Oid			owner;
	Snapshot	snapshot;
	char	   *range;
	SPITupleTable *rows;
	volatile uint64 copied = 0;

	/* the checks of a call, made again in every batch's transaction */
	(void) ac_check_table_owner(relid);
	(void) ac_check_chained_table(relid, AC_RETENTION_LOCKMODE);
	(void) ac_check_table_owner(relid);
	ac_check_no_legal_hold(relid, "archive rows of");
	check_not_referenced(relid);

	archive = ensure_archive(relid);
	read_boundary(relid, lane, &b);

	arch = table_open(archive, AccessShareLock);
	cols = copied_column_list(arch);
	owner = ac_rel_owner(relid);
	last = prefix_end(owner, relid, lane, b.archived_seq,
					  b.archived_seq + ARCHIVE_BATCH_ROWS, cutoff);
	if (last <= b.archived_seq)
	{
		table_close(arch, AccessShareLock);
		return 0;
	}

	/*
	 * One snapshot for the three steps: read the rows and check them, copy
	 * those same rows into the archive, delete them by TID.  A row changed
	 * or deleted in between (by a superuser with triggers off) makes the
	 * delete fail, which undoes the batch.  Rows sealed after prefix_end()
	 * looked are newer than the cutoff: chain_at < $4 leaves them out.
	 */
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	range = psprintf(" FROM %s WHERE chain_lane OPERATOR(pg_catalog.=) $1"
					 " AND chain_seq OPERATOR(pg_catalog.>) $2"
					 " AND chain_seq OPERATOR(pg_catalog.<=) $3"
					 " AND chain_at OPERATOR(pg_catalog.<) $4",
					 ac_qualified_relname(relid));
	args[0] = Int16GetDatum(lane);
	args[1] = Int64GetDatum(b.archived_seq);
	args[2] = Int64GetDatum(last);
	args[3] = TimestampTzGetDatum(cutoff);

	(void) run_snapshot_as(owner, psprintf("SELECT tableoid, ctid, *%s", range),
						   args, snapshot, true, SPI_OK_SELECT);
	n = check_moved_rows(relid, lane, arch, b.archived_seq, b.archived_hash,
						 &to_seq, to_hash, "archive");
	check_moved_all(relid, lane, b.archived_seq, last, n, "archive");
	rows = SPI_tuptable;

	archive_permit.archive = archive;
	archive_permit.cmd = CMD_INSERT;
	archive_permit.lane = lane;
	archive_permit.first_seq = b.archived_seq + 1;
	archive_permit.last_seq = last;
	PG_TRY();
	{
		copied = run_snapshot_as(owner,
								 psprintf("INSERT INTO %s (%s) SELECT %s%s",
										  ac_qualified_relname(archive), cols, cols, range),
								 args, snapshot, false, SPI_OK_INSERT);
	}
	PG_FINALLY();
	{
		archive_permit.archive = InvalidOid;
		archive_permit.cmd = CMD_UNKNOWN;
	}
	PG_END_TRY();
	if (copied != (uint64) n)
		elog(ERROR, "archive() copied " UINT64_FORMAT " rows of " INT64_FORMAT, copied, n);
	delete_rows(rows, snapshot);
	UnregisterSnapshot(snapshot);
	table_close(arch, AccessShareLock);
	if (n > 0)
		record_boundary(relid, lane, "archive", &b, b.archived_seq,
						b.archived_hash, to_seq, to_hash, n, cutoff);
	return n;
}

/*
 * purge_batch
 *		Delete the next archived rows of one lane (at most
 *		ARCHIVE_BATCH_ROWS, all with chain_at < cutoff, the first ones left
 *		in the archived segment) from the archive table.  Returns how many.
 *		Must be called inside SPI.
 */
static int64
purge_batch(Oid relid, int16 lane, TimestampTz cutoff)
{
	LaneBoundary b;
	Oid			archive;
	Relation	arch;
	Datum		args[4];
	int64		to_seq;
	uint8		to_hash[AC_HASH_LEN];
	int64		n;
	int64		last;
	Snapshot	snapshot;

	(void) ac_check_chained_table(relid, AC_RETENTION_LOCKMODE);
	ac_check_no_legal_hold(relid, "purge archived rows of");
	read_boundary(relid, lane, &b);
	if (b.purged_seq >= b.archived_seq)
		return 0;
	archive = ensure_archive(relid);
	last = Min(b.purged_seq + ARCHIVE_BATCH_ROWS, b.archived_seq);

	arch = table_open(archive, AccessShareLock);
	last = prefix_end(ac_rel_owner(archive), archive, lane, b.purged_seq,
					  last, cutoff);
	if (last <= b.purged_seq)
	{
		table_close(arch, AccessShareLock);
		return 0;
	}
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	args[0] = Int16GetDatum(lane);
	args[1] = Int64GetDatum(b.purged_seq);
	args[2] = Int64GetDatum(last);
	args[3] = TimestampTzGetDatum(cutoff);
	(void) run_snapshot_as(ac_rel_owner(archive),
						   psprintf("SELECT tableoid, ctid, * FROM %s"
									" WHERE chain_lane OPERATOR(pg_catalog.=) $1"
									" AND chain_seq OPERATOR(pg_catalog.>) $2"
									" AND chain_seq OPERATOR(pg_catalog.<=) $3"
									" AND chain_at OPERATOR(pg_catalog.<) $4",
									ac_qualified_relname(archive)),
						   args, snapshot, true, SPI_OK_SELECT);
	n = check_moved_rows(relid, lane, arch, b.purged_seq, b.purged_hash,
						 &to_seq, to_hash, "purge");
	check_moved_all(relid, lane, b.purged_seq, last, n, "purge");
	delete_rows(SPI_tuptable, snapshot);
	UnregisterSnapshot(snapshot);
	table_close(arch, AccessShareLock);
	if (n > 0)
	{
		record_boundary(relid, lane, "purge", &b, b.purged_seq,
						b.purged_hash, to_seq, to_hash, n, cutoff);
		/* the purged rows' kept digests go with them */
		ac_redactions_forget_through(relid, lane, to_seq);
	}
	return n;
}


/* An old partition that archive() may detach whole */
typedef struct OldPartition
{
	Oid			relid;
	TimestampTz lower;
} OldPartition;

/*
 * bound_as_timestamptz
 *		A range bound of a timestamptz, timestamp or date partition key as a
 *		timestamptz (a timestamp in the session's time zone, as a cast does).
 */
static TimestampTz
bound_as_timestamptz(PartitionRangeDatum *prd, Oid typid, bool upper)
{
	Const	   *c;

	if (prd->kind == PARTITION_RANGE_DATUM_MINVALUE)
		return DT_NOBEGIN;
	if (prd->kind == PARTITION_RANGE_DATUM_MAXVALUE)
		return DT_NOEND;
	c = castNode(Const, prd->value);
	if (c->constisnull)
		return upper ? DT_NOEND : DT_NOBEGIN;
	if (typid == TIMESTAMPTZOID)
		return DatumGetTimestampTz(c->constvalue);
	if (typid == TIMESTAMPOID)
		return DatumGetTimestampTz(DirectFunctionCall1(timestamp_timestamptz,
													   c->constvalue));
	return DatumGetTimestampTz(DirectFunctionCall1(date_timestamptz,
												   c->constvalue));
}

static int
old_partition_cmp(const ListCell *a, const ListCell *b)
{
	const OldPartition *pa = lfirst(a);
	const OldPartition *pb = lfirst(b);

	return (pa->lower < pb->lower) ? -1 : (pa->lower > pb->lower) ? 1 : 0;
}

/*
 * old_partitions
 *		If relid is partitioned by range on one column of type timestamptz,
 *		timestamp or date: its partitions (plain tables, not the default
 *		one) whose upper bound is at or before cutoff, oldest first.  NIL
 *		otherwise.
 */
static List *
old_partitions(Oid relid, TimestampTz cutoff)
{
	Relation	rel = table_open(relid, AccessShareLock);
	PartitionKey key;
	PartitionDesc pd;
	Oid			typid;
	List	   *result = NIL;

	if (rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
	{
		table_close(rel, AccessShareLock);
		return NIL;
	}
	key = RelationGetPartitionKey(rel);
	typid = key->parttypid[0];
	if (key->strategy != PARTITION_STRATEGY_RANGE || key->partnatts != 1 ||
		key->partattrs[0] == 0 ||
		(typid != TIMESTAMPTZOID && typid != TIMESTAMPOID && typid != DATEOID))
	{
		table_close(rel, AccessShareLock);
		return NIL;
	}
	pd = RelationGetPartitionDesc(rel, true);
	for (int i = 0; i < pd->nparts; i++)
	{
		Oid			part = pd->oids[i];
		HeapTuple	tup;
		Datum		d;
		bool		isnull;
		PartitionBoundSpec *spec;
		TimestampTz upper;
		OldPartition *op;

		if (get_rel_relkind(part) != RELKIND_RELATION)
			continue;
		tup = SearchSysCache1(RELOID, ObjectIdGetDatum(part));
		if (!HeapTupleIsValid(tup))
			continue;
		d = SysCacheGetAttr(RELOID, tup, Anum_pg_class_relpartbound, &isnull);
		spec = isnull ? NULL :
			castNode(PartitionBoundSpec, stringToNode(TextDatumGetCString(d)));
		ReleaseSysCache(tup);
		if (spec == NULL || spec->is_default ||
			spec->strategy != PARTITION_STRATEGY_RANGE ||
			list_length(spec->upperdatums) != 1)
			continue;
		upper = bound_as_timestamptz(linitial_node(PartitionRangeDatum, spec->upperdatums),
									 typid, true);
		if (upper > cutoff)
			continue;
		op = palloc(sizeof(OldPartition));
		op->relid = part;
		op->lower = bound_as_timestamptz(linitial_node(PartitionRangeDatum, spec->lowerdatums),
										 typid, false);
		result = lappend(result, op);
	}
	table_close(rel, AccessShareLock);
	list_sort(result, old_partition_cmp);
	return result;
}

/*
 * lane_range_in
 *		The lowest and highest seq of lane in table part (false if it has
 *		no row of the lane), read as role.
 */
static bool
lane_range_in(Oid role, Oid part, int16 lane, int64 *min_seq, int64 *max_seq)
{
	Oid			argtypes[1] = {INT2OID};
	Datum		args[1] = {Int16GetDatum(lane)};
	bool		isnull;

	run_as(role, SPI_OK_SELECT,
		   psprintf("SELECT pg_catalog.min(chain_seq), pg_catalog.max(chain_seq) FROM %s "
					"WHERE chain_lane OPERATOR(pg_catalog.=) $1",
					ac_qualified_relname(part)),
		   1, argtypes, args, NULL);
	*min_seq = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										   SPI_tuptable->tupdesc, 1, &isnull));
	if (isnull)
		return false;
	*max_seq = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										   SPI_tuptable->tupdesc, 2, &isnull));
	return true;
}

/*
 * partition_code
 *		What code of the live table's owner partition part carries that would
 *		run as the extension's owner once archive() gives it the partition:
 *		a trigger (fired by whoever writes the table, before the guard), an
 *		index on an expression or with a predicate, or extended statistics on
 *		an expression (evaluated by ANALYZE, VACUUM FULL, REINDEX and
 *		autovacuum as the table's owner), a row security policy, or a rule
 *		(whose actions run with the table owner's privileges).  NULL if none.
 */
static const char *
partition_code(Oid part)
{
	Relation	rel = table_open(part, AccessShareLock);
	const char *what = NULL;
	List	   *indexes;
	ListCell   *lc;
	Relation	cat;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;

	if (rel->rd_rel->relrowsecurity || rel->rd_rel->relforcerowsecurity)
		what = "row level security";
	else if (rel->rd_rel->relhasrules)
		what = "a rule";
	for (int i = 0; what == NULL && rel->trigdesc != NULL &&
		 i < rel->trigdesc->numtriggers; i++)
	{
		Trigger    *trig = &rel->trigdesc->triggers[i];

		/* a clone of the parent's trigger goes with DETACH */
		if (!trig->tgisinternal && !trig->tgisclone &&
			!ac_is_chain_trigger(trig->tgname))
			what = psprintf("trigger \"%s\"", trig->tgname);
	}
	indexes = RelationGetIndexList(rel);
	foreach(lc, indexes)
	{
		HeapTuple	itup;
		Form_pg_index idx;

		if (what != NULL)
			break;
		itup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(lfirst_oid(lc)));
		if (!HeapTupleIsValid(itup))
			continue;
		idx = (Form_pg_index) GETSTRUCT(itup);
		if (!heap_attisnull(itup, Anum_pg_index_indexprs, NULL) ||
			!heap_attisnull(itup, Anum_pg_index_indpred, NULL))
			what = psprintf("index \"%s\" on an expression or with a predicate",
							get_rel_name(idx->indexrelid));
		ReleaseSysCache(itup);
	}
	list_free(indexes);
	table_close(rel, AccessShareLock);
	if (what != NULL)
		return what;

	cat = table_open(StatisticExtRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_statistic_ext_stxrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(part));
	scan = systable_beginscan(cat, StatisticExtRelidIndexId, true, NULL, 1, &key);
	while (what == NULL && HeapTupleIsValid(tup = systable_getnext(scan)))
		if (!heap_attisnull(tup, Anum_pg_statistic_ext_stxexprs, NULL))
			what = psprintf("statistics object \"%s\" on an expression",
							NameStr(((Form_pg_statistic_ext) GETSTRUCT(tup))->stxname));
	systable_endscan(scan);
	table_close(cat, AccessShareLock);
	if (what != NULL)
		return what;

	cat = table_open(PolicyRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_policy_polrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(part));
	scan = systable_beginscan(cat, PolicyPolrelidPolnameIndexId, true, NULL, 1, &key);
	if (HeapTupleIsValid(systable_getnext(scan)))
		what = "a row security policy";
	systable_endscan(scan);
	table_close(cat, AccessShareLock);
	return what;
}

/*
 * free_name
 *		name, or name with _2, _3, ... (cut to fit, never inside a multibyte
 *		character), whichever no relation but self has in namespace nsp and
 *		no relation has in namespace archnsp: a name relation self can be
 *		renamed to in its namespace and then moved under into archnsp.
 */
static char *
free_name(const char *name, Oid self, Oid nsp, Oid archnsp)
{
	for (int n = 1;; n++)
	{
		char		suffix[16];
		char	   *candidate;
		Oid			here;

		suffix[0] = '\0';
		if (n > 1)
			snprintf(suffix, sizeof(suffix), "_%d", n);
		candidate = psprintf("%.*s%s",
							 pg_mbcliplen(name, strlen(name),
										  NAMEDATALEN - 1 - strlen(suffix)),
							 name, suffix);
		here = get_relname_relid(candidate, nsp);
		if ((!OidIsValid(here) || here == self) &&
			!OidIsValid(get_relname_relid(candidate, archnsp)))
			return candidate;
	}
}

/*
 * detach_batch
 *		Archive old partition part of partitioned chained table relid whole,
 *		if it holds, in every lane, the rows right after the lane's boundary
 *		and no row after a row of another partition: DETACH it, move it into
 *		audit_chain_archive with the archive guard (it keeps its owner), make
 *		it a child of the archive table, and move each lane's boundary to the
 *		last row it holds.  Catalog work only: the time does
 *		not depend on the partition's size.  Its rows are not re-hashed here
 *		(verify_chain() on the archive table does that).  Returns false,
 *		having changed nothing, if the partition is not such a prefix, or
 *		if it carries code of the owner's (*code says what: see
 *		partition_code), which would run as the extension's owner once the
 *		partition is its.  Must be called inside SPI.
 */
static bool
detach_batch(Oid relid, Oid part, TimestampTz cutoff, RunTotals *totals,
			 const char **code)
{
	int			nlanes;
	Oid			owner;
	Oid			ext_owner = ac_table_owner("archives", false);
	Oid			archive;
	List	   *leaves;
	LaneBoundary b[AC_MAX_LANES];
	int64		maxs[AC_MAX_LANES];
	uint8		hashes[AC_MAX_LANES][AC_HASH_LEN];
	bool		has[AC_MAX_LANES];
	char	   *qpart;
	Oid			nsp = get_namespace_oid(ARCHIVE_SCHEMA, false);

	(void) ac_check_table_owner(relid);

	/*
	 * The lock DETACH takes, taken before looking: a writer's row not yet
	 * committed in the partition would otherwise leave with it, past the
	 * boundary this looked for.  Writers lock the table before its
	 * partitions, so this waits for them and does not deadlock.
	 */
	LockRelationOid(relid, AccessExclusiveLock);
	nlanes = ac_check_chained_table(relid, AC_RETENTION_LOCKMODE);
	(void) ac_check_table_owner(relid);
	ac_check_no_legal_hold(relid, "archive rows of");
	owner = ac_rel_owner(relid);
	archive = ensure_archive(relid);
	leaves = ac_chain_leaves(relid);
	if (!list_member_oid(leaves, part))
		return false;
	if ((*code = partition_code(part)) != NULL)
		return false;

	for (int lane = 0; lane < nlanes; lane++)
	{
		int64		minp;
		ListCell   *lc;

		read_boundary(relid, lane, &b[lane]);
		has[lane] = lane_range_in(owner, part, lane, &minp, &maxs[lane]);
		if (!has[lane])
			continue;
		if (minp != b[lane].archived_seq + 1)
			return false;
		foreach(lc, leaves)
		{
			int64		minq;
			int64		maxq;

			if (lfirst_oid(lc) == part)
				continue;
			if (lane_range_in(owner, lfirst_oid(lc), lane, &minq, &maxq) &&
				minq <= maxs[lane])
				return false;
		}
	}

	/* the hash of each lane's last row in the partition: the new boundary */
	for (int lane = 0; lane < nlanes; lane++)
	{
		Oid			argtypes[2] = {INT2OID, INT8OID};
		Datum		args[2];
		bool		isnull;
		const uint8 *h;

		if (!has[lane])
			continue;
		args[0] = Int16GetDatum(lane);
		args[1] = Int64GetDatum(maxs[lane]);
		run_as(owner, SPI_OK_SELECT,
			   psprintf("SELECT chain_hash FROM %s WHERE chain_lane OPERATOR(pg_catalog.=) $1 "
						"AND chain_seq OPERATOR(pg_catalog.=) $2", ac_qualified_relname(part)),
			   2, argtypes, args, NULL);
		h = SPI_processed == 1 ?
			ac_hash_of_bytea(SPI_getbinval(SPI_tuptable->vals[0],
										   SPI_tuptable->tupdesc, 1, &isnull)) : NULL;
		if (h == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("cannot archive partition \"%s\": chain_seq %lld of lane %d has no valid chain_hash",
							get_rel_name(part), (long long) maxs[lane], lane),
					 errhint("Run audit_chain.verify_chain() on the table.")));
		memcpy(hashes[lane], h, AC_HASH_LEN);
	}

	/* detach it, as the table's owner, past the DDL guard */
	qpart = ac_qualified_relname(part);
	ac_ddl_permit_detach(relid);
	PG_TRY();
	{
		run_as(owner, SPI_OK_UTILITY,
			   psprintf("ALTER TABLE %s DETACH PARTITION %s",
						ac_qualified_relname(relid), qpart),
			   0, NULL, NULL, NULL);
	}
	PG_FINALLY();
	{
		ac_ddl_permit_detach(InvalidOid);
	}
	PG_END_TRY();

	/*
	 * Into the archive schema, under a name free there, and so are its
	 * indexes, which move with it (two schemas' partitions of the same name,
	 * as pg_partman makes them, have indexes of the same names)
	 */
	run_as(ext_owner, SPI_OK_UTILITY,
		   psprintf("ALTER TABLE %s OWNER TO %s", qpart,
					quote_identifier(GetUserNameFromId(ext_owner, false))),
		   0, NULL, NULL, NULL);
	{
		Relation	prel = table_open(part, AccessShareLock);
		List	   *moving = list_make1_oid(part);
		ListCell   *lc;

		moving = list_concat(moving, RelationGetIndexList(prel));
		table_close(prel, AccessShareLock);
		foreach(lc, moving)
		{
			Oid			rel = lfirst_oid(lc);
			char	   *name = get_rel_name(rel);
			char	   *newname = free_name(name, rel, get_rel_namespace(rel), nsp);

			if (strcmp(newname, name) == 0)
				continue;
			run_as(ext_owner, SPI_OK_UTILITY,
				   psprintf("ALTER %s %s RENAME TO %s",
							rel == part ? "TABLE" : "INDEX",
							ac_qualified_relname(rel), quote_identifier(newname)),
				   0, NULL, NULL, NULL);
			CommandCounterIncrement();
		}
		qpart = ac_qualified_relname(part);
	}
	run_as(ext_owner, SPI_OK_UTILITY,
		   psprintf("ALTER TABLE %s SET SCHEMA " ARCHIVE_SCHEMA, qpart),
		   0, NULL, NULL, NULL);
	CommandCounterIncrement();
	qpart = ac_qualified_relname(part);
	run_as(ext_owner, SPI_OK_UTILITY,
		   psprintf("DROP TRIGGER IF EXISTS " AC_TRUNCATE_TRIGGER " ON %s", qpart),
		   0, NULL, NULL, NULL);
	add_archive_guard(ext_owner, qpart);

	/*
	 * No column default of the owner's stays: it would run, as whoever
	 * inserts into the partition, before the guard refuses the row
	 */
	{
		Relation	prel = table_open(part, AccessShareLock);
		TupleDesc	pd = RelationGetDescr(prel);
		List	   *drops = NIL;
		ListCell   *lc;

		for (int i = 0; i < pd->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(pd, i);

			if (!att->attisdropped && att->atthasdef && att->attgenerated == '\0')
				drops = lappend(drops,
								psprintf("ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT", qpart,
										 quote_identifier(NameStr(att->attname))));
		}
		table_close(prel, AccessShareLock);
		foreach(lc, drops)
			run_as(ext_owner, SPI_OK_UTILITY, lfirst(lc), 0, NULL, NULL, NULL);
	}
	/* no privilege the owner granted on its partition outlives the move */
	{
		Oid			argtypes[2] = {OIDOID, OIDOID};
		Datum		args[2] = {ObjectIdGetDatum(part), ObjectIdGetDatum(ext_owner)};
		bool		isnull;
		Datum		roles;

		run_as(ext_owner, SPI_OK_SELECT,
			   "SELECT pg_catalog.string_agg(DISTINCT pg_catalog.quote_ident(r.rolname), ', ') "
			   "FROM (SELECT a.grantee FROM pg_catalog.pg_class c, "
			   "      pg_catalog.aclexplode(c.relacl) a WHERE c.oid OPERATOR(pg_catalog.=) $1 "
			   "      UNION SELECT a.grantee FROM pg_catalog.pg_attribute t, "
			   "      pg_catalog.aclexplode(t.attacl) a WHERE t.attrelid OPERATOR(pg_catalog.=) $1) g "
			   "JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) g.grantee "
			   "WHERE g.grantee OPERATOR(pg_catalog.<>) $2",
			   2, argtypes, args, NULL);
		roles = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		run_as(ext_owner, SPI_OK_UTILITY,
			   psprintf("REVOKE ALL ON %s FROM PUBLIC%s%s CASCADE", qpart,
						isnull ? "" : ", ",
						isnull ? "" : TextDatumGetCString(roles)),
			   0, NULL, NULL, NULL);
	}
	run_as(ext_owner, SPI_OK_UTILITY,
		   psprintf("ALTER TABLE %s INHERIT %s", qpart, ac_qualified_relname(archive)),
		   0, NULL, NULL, NULL);

	for (int lane = 0; lane < nlanes; lane++)
	{
		int64		n;

		if (!has[lane])
			continue;
		n = maxs[lane] - b[lane].archived_seq;
		record_boundary(relid, lane, "detach", &b[lane], b[lane].archived_seq,
						b[lane].archived_hash, maxs[lane], hashes[lane], n, cutoff);
		totals->rows += n;
		totals->lane_rows[lane] += n;
	}
	totals->batches++;
	totals->partitions++;
	return true;
}

/*
 * archive_locktag
 *		The session-level lock one archive() or purge of a table holds from
 *		start to end, across its commits: an advisory lock tag that no SQL
 *		function can take.
 */
static void
archive_locktag(LOCKTAG *tag, Oid relid)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, (uint32) relid, 0,
						 AC_ARCHIVE_LOCK_FIELD4);
}

/*
 * run_batch
 *		Run one batch in a transaction of its own (begin_batch, then the
 *		COMMIT unless atomic): the detach of old partition part if it is
 *		valid, else the next archive or purge batch of lane.  Returns what
 *		the batch returns (rows moved; 1 or 0 for a detach).
 *
 * With keep_going (apply_retention()), the batch runs in a subtransaction: an
 * error undoes that batch alone, is reported as a warning, and run_batch
 * returns -1.  A table whose owner makes its archive fail (a foreign key, a
 * domain that refuses, a concurrent archive()) then keeps the retention of
 * the other tables from stopping.  A cancel is raised again.
 */
static int64
run_batch(Oid relid, Oid part, int16 lane, bool purge, TimestampTz cutoff,
		  bool atomic, bool keep_going, MemoryContext batchcxt, RunTotals *totals)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile int64 n = -1;

	CHECK_FOR_INTERRUPTS();
	if (keep_going)
	{
		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(oldcxt);
	}
	PG_TRY();
	{
		int			nestlevel;
		const char *code = NULL;

		begin_batch(&nestlevel);
		MemoryContextSwitchTo(batchcxt);
		if (OidIsValid(part))
		{
			n = detach_batch(relid, part, cutoff, totals, &code) ? 1 : 0;
			if (n == 0 && code != NULL)
				ereport(NOTICE,
						(errmsg("partition \"%s\" is not detached: it has %s, which would run as the owner of the archive table: the rest is archived row by row",
								get_rel_name(part), code)));
			else if (n == 0)
				ereport(NOTICE,
						(errmsg("partition \"%s\" does not hold the first rows of every lane: the rest is archived row by row",
								get_rel_name(part))));
		}
		else
			n = purge ? purge_batch(relid, lane, cutoff) :
				archive_batch(relid, lane, cutoff);
		MemoryContextSwitchTo(oldcxt);
		SPI_finish();
		AtEOXact_GUC(true, nestlevel);
		if (keep_going)
		{
			ReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(oldcxt);
			CurrentResourceOwner = oldowner;
		}
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		if (!keep_going)
			PG_RE_THROW();
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
			ReThrowError(edata);
		ereport(WARNING,
				(errcode(edata->sqlerrcode),
				 errmsg("skipping the rest of table \"%s\": %s",
						ac_display_relname(relid), edata->message),
				 edata->detail ? errdetail_internal("%s", edata->detail) : 0,
				 edata->hint ? errhint("%s", edata->hint) : 0));
		FreeErrorData(edata);
		n = -1;
	}
	PG_END_TRY();
	MemoryContextReset(batchcxt);
	if (!atomic)
		SPI_commit();
	else
		CommandCounterIncrement();
	return n;
}

/*
 * run_lanes
 *		Run batch (archive_batch or purge_batch) over every lane of relid
 *		until each has nothing more to move, committing after each batch
 *		unless atomic.  Holds the table's archive lock throughout.  With
 *		keep_going (apply_retention()), a table that cannot be archived is
 *		skipped with a warning, and false returned, instead of an error.
 */
static bool
run_lanes(Oid relid, TimestampTz cutoff, bool atomic, bool purge, bool keep_going,
		  RunTotals *totals)
{
	LOCKTAG		tag;
	int			nlanes;
	MemoryContext batchcxt;
	volatile bool ok = true;

	memset(totals, 0, sizeof(RunTotals));
	if (keep_going)
	{
		AcTableProblem *bad = ac_chained_table_problem(relid, AccessShareLock, &nlanes);

		if (bad != NULL)
		{
			ereport(WARNING,
					(errcode(bad->sqlerrcode),
					 errmsg("skipping table \"%s\": %s",
							get_rel_name(relid) ? ac_display_relname(relid) : "?",
							bad->message),
					 bad->detail ? errdetail_internal("%s", bad->detail) : 0));
			return false;
		}
	}
	else
		nlanes = ac_check_chained_table(relid, AccessShareLock);
	if (relid == ac_extension_relid("boundaries"))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot archive rows of table \"audit_chain.boundaries\""),
				 errdetail("It records every boundary move; verification of every archived table starts from it.")));

	archive_locktag(&tag, relid);
	if (LockAcquire(&tag, ExclusiveLock, true, true) == LOCKACQUIRE_NOT_AVAIL)
	{
		ereport(keep_going ? WARNING : ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("table \"%s\" is being archived or purged by another session",
						get_rel_name(relid)),
				 errhint("Wait for the other archive() or apply_retention() to finish.")));
		return false;
	}

	batchcxt = AllocSetContextCreate(CurrentMemoryContext, "audit_chain archive batch",
									 ALLOCSET_DEFAULT_SIZES);
	PG_TRY();
	{
		/* a table partitioned by time: its old partitions first, whole */
		if (!purge)
		{
			List	   *olds = old_partitions(relid, cutoff);
			ListCell   *lc;

			foreach(lc, olds)
			{
				OldPartition *op = lfirst(lc);
				int64		done = run_batch(relid, op->relid, 0, false, cutoff,
											 atomic, keep_going, batchcxt, totals);

				if (done < 0)
					ok = false;
				if (done <= 0)
					break;
			}
		}

		for (int lane = 0; ok && lane < nlanes; lane++)
		{
			for (;;)
			{
				int64		n = run_batch(relid, InvalidOid, lane, purge, cutoff,
										  atomic, keep_going, batchcxt, totals);

				if (n < 0)
					ok = false;
				if (n <= 0)
					break;
				if (ac_archive_delay > 0)
				{
					(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
									 ac_archive_delay, PG_WAIT_EXTENSION);
					ResetLatch(MyLatch);
					CHECK_FOR_INTERRUPTS();
				}
				totals->rows += n;
				totals->batches++;
				totals->lane_rows[lane] += n;
			}
		}
	}
	PG_FINALLY();
	{
		LockRelease(&tag, ExclusiveLock, true);
	}
	PG_END_TRY();
	MemoryContextDelete(batchcxt);
	return ok;
}

/*
 * record_run
 *		The admin event of one archive() or purge of a table.
 */
static void
record_run(Oid relid, const char *action, Interval *older_than,
		   TimestampTz cutoff, const RunTotals *t)
{
	StringInfoData details;

	initStringInfo(&details);
	appendStringInfoString(&details, "{\"table\": ");
	escape_json(&details, ac_display_relname(relid));
	appendStringInfoString(&details, ", \"older_than\": ");
	escape_json(&details, DatumGetCString(DirectFunctionCall1(interval_out,
															  IntervalPGetDatum(older_than))));
	appendStringInfoString(&details, ", \"cutoff\": ");
	escape_json(&details, timestamptz_to_str(cutoff));
	appendStringInfo(&details, ", \"rows\": " INT64_FORMAT ", \"batches\": %d, \"partitions\": %d}",
					 t->rows, t->batches, t->partitions);
	ac_events_queue_admin(action, ac_display_relname(relid), details.data);
}

/*
 * is_atomic_call
 *		Whether the procedure was called where it may not commit (inside a
 *		transaction block, from a function, with a SET clause).
 */
static bool
is_atomic_call(FunctionCallInfo fcinfo)
{
	if (fcinfo->context && IsA(fcinfo->context, CallContext))
		return castNode(CallContext, fcinfo->context)->atomic;
	return true;
}

/*
 * check_interval
 *		older_than must be a positive interval.
 */
static Interval *
check_interval(FunctionCallInfo fcinfo, int argno, const char *name)
{
	Interval   *iv;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name)));
	iv = PG_GETARG_INTERVAL_P(argno);
	if (iv->month < 0 || iv->day < 0 || iv->time < 0 ||
		(iv->month == 0 && iv->day == 0 && iv->time == 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a positive interval, not %s", name,
						DatumGetCString(DirectFunctionCall1(interval_out,
															IntervalPGetDatum(iv)))),
				 errhint("Rows whose chain_at is older than statement_timestamp() minus %s are archived.", name)));
	return iv;
}

/*
 * cutoff_for
 *		statement_timestamp() minus an interval: the start of the CALL, so
 *		that rows written earlier in the same transaction count as older.
 */
static TimestampTz
cutoff_for(Interval *iv)
{
	return DatumGetTimestampTz(DirectFunctionCall2(timestamptz_mi_interval,
												   TimestampTzGetDatum(GetCurrentStatementStartTimestamp()),
												   IntervalPGetDatum(iv)));
}

/*
 * archive_table(tbl regclass) RETURNS regclass
 *		The archive table of a chained table the caller owns, made on first
 *		use.
 */
PG_FUNCTION_INFO_V1(audit_chain_archive_table);
Datum
audit_chain_archive_table(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Oid			archive;
	int			nestlevel;

	(void) ac_check_table_owner(relid);
	(void) ac_check_chained_table(relid, AC_RETENTION_LOCKMODE);
	(void) ac_check_table_owner(relid);
	if (relid == ac_extension_relid("boundaries"))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("table \"audit_chain.boundaries\" has no archive table")));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	archive = ensure_archive(relid);
	AtEOXact_GUC(true, nestlevel);
	SPI_finish();
	PG_RETURN_OID(archive);
}

/*
 * archive(tbl regclass, older_than interval)
 *		Procedure: move, lane by lane, the longest prefix of rows whose
 *		chain_at is older than now() - older_than into the archive table of
 *		a chained table the caller owns.  Refused under legal hold.
 */
PG_FUNCTION_INFO_V1(audit_chain_archive);
Datum
audit_chain_archive(PG_FUNCTION_ARGS)
{
	bool		atomic = is_atomic_call(fcinfo);
	Oid			relid;
	Interval   *older_than;
	TimestampTz cutoff;
	RunTotals	totals;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table must not be NULL")));
	relid = PG_GETARG_OID(0);
	older_than = check_interval(fcinfo, 1, "older_than");
	cutoff = cutoff_for(older_than);

	(void) ac_check_table_owner(relid);
	(void) ac_check_chained_table(relid, AccessShareLock);
	ac_check_no_legal_hold(relid, "archive rows of");

	if (SPI_connect_ext(atomic ? 0 : SPI_OPT_NONATOMIC) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	(void) run_lanes(relid, cutoff, atomic, false, false, &totals);
	record_run(relid, "archive", older_than, cutoff, &totals);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * apply_retention()
 *		Procedure: apply the retention policy of every chained table the
 *		caller owns (every one, for a superuser): archive the rows older than
 *		keep, then purge the archived rows older than keep + archive_keep.
 *		A table under legal hold is skipped with a warning, and one the
 *		caller does not own with a notice.  Each table's work is committed
 *		batch by batch; a batch that fails is undone alone, and its table
 *		skipped with a warning (run_batch), so that one table's owner
 *		cannot stop the retention of every other table.
 */
PG_FUNCTION_INFO_V1(audit_chain_apply_retention);
Datum
audit_chain_apply_retention(PG_FUNCTION_ARGS)
{
	bool		atomic = is_atomic_call(fcinfo);
	int			npolicies;
	Oid		   *tbls;
	Interval  **keeps;
	Interval  **archive_keeps;
	MemoryContext cxt = CurrentMemoryContext;
	int			ret;
	int			nfailed = 0;
	StringInfoData failed = {0};

	if (SPI_connect_ext(atomic ? 0 : SPI_OPT_NONATOMIC) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	ret = ac_execute_as(ac_table_owner("retention_policies", false), NULL,
						"SELECT tbl, keep, archive_keep "
						"FROM audit_chain.retention_policies ORDER BY tbl",
						0, NULL, NULL, NULL);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	npolicies = (int) SPI_processed;
	tbls = MemoryContextAlloc(cxt, sizeof(Oid) * Max(npolicies, 1));
	keeps = MemoryContextAlloc(cxt, sizeof(Interval *) * Max(npolicies, 1));
	archive_keeps = MemoryContextAlloc(cxt, sizeof(Interval *) * Max(npolicies, 1));
	for (int i = 0; i < npolicies; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	td = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		d;
		MemoryContext old = MemoryContextSwitchTo(cxt);

		tbls[i] = DatumGetObjectId(SPI_getbinval(tup, td, 1, &isnull));
		keeps[i] = DatumGetIntervalP(datumCopy(SPI_getbinval(tup, td, 2, &isnull),
											   false, sizeof(Interval)));
		d = SPI_getbinval(tup, td, 3, &isnull);
		archive_keeps[i] = isnull ? NULL :
			DatumGetIntervalP(datumCopy(d, false, sizeof(Interval)));
		MemoryContextSwitchTo(old);
	}
	SPI_freetuptable(SPI_tuptable);

	for (int i = 0; i < npolicies; i++)
	{
		Oid			relid = tbls[i];
		RunTotals	totals;
		TimestampTz cutoff;
		bool		done;

		if (!ac_table_ownercheck(relid, GetUserId()))
		{
			ereport(NOTICE,
					(errmsg("skipping table \"%s\": only its owner can apply its retention policy",
							get_rel_name(relid) ? get_rel_name(relid) : "?")));
			continue;
		}
		if (ac_legal_hold_active(relid))
		{
			ereport(WARNING,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("skipping table \"%s\", which is under legal hold",
							ac_display_relname(relid)),
					 errdetail("Its rows are neither archived nor purged while the hold is on.")));
			continue;
		}

		cutoff = cutoff_for(keeps[i]);
		done = run_lanes(relid, cutoff, atomic, false, true, &totals);
		record_run(relid, "archive", keeps[i], cutoff, &totals);

		if (done && archive_keeps[i] != NULL)
		{
			Interval   *total = DatumGetIntervalP(DirectFunctionCall2(interval_pl,
																	  IntervalPGetDatum(keeps[i]),
																	  IntervalPGetDatum(archive_keeps[i])));

			cutoff = cutoff_for(total);
			done = run_lanes(relid, cutoff, atomic, true, true, &totals);
			if (totals.rows > 0)
				record_run(relid, "purge archive", total, cutoff, &totals);
		}
		if (!done)
		{
			MemoryContext old = MemoryContextSwitchTo(cxt);

			if (failed.len == 0)
				initStringInfo(&failed);
			else
				appendStringInfoString(&failed, ", ");
			appendStringInfoString(&failed, get_rel_name(relid) ?
								   ac_display_relname(relid) : "?");
			nfailed++;
			MemoryContextSwitchTo(old);
		}
		if (!atomic)
		{
			int			nestlevel;

			begin_batch(&nestlevel);
			end_batch(atomic, nestlevel);
		}
	}
	SPI_finish();

	/*
	 * After every other table's retention is done (and committed): a run
	 * from cron or pg_cron must not report success when a table was left
	 * as it was.
	 */
	if (nfailed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg_plural("apply_retention() could not apply the retention policy of %d table",
							   "apply_retention() could not apply the retention policy of %d tables",
							   nfailed, nfailed),
				 errdetail("Left as it was, at least in part: %s.", failed.data),
				 atomic ?
				 errhint("The warnings above say why.  Called inside a transaction block, the whole run is undone.") :
				 errhint("The warnings above say why; the policies of the other tables were applied and committed.")));
	PG_RETURN_VOID();
}
