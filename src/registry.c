/*-------------------------------------------------------------------------
 *
 * registry.c
 *	  The extension's own tables: finding them, and writing them on behalf
 *	  of table owners.
 *
 * The extension's tables (the registry audit_chain.chains, protection_log,
 * verification_log, events) are its own record: nobody but their owner may
 * write them.  The C code that writes them on a caller's behalf (protect.c,
 * verify.c, events.c) checks the caller first and then writes as the
 * table's owner, the way RI triggers act as the owner of the table they
 * check.  There is no SQL entry point to these writes.
 *
 * IDENTIFICATION
 *	  src/registry.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "registry.h"

/*
 * ac_extension_relid
 *		The OID of audit_chain.<relname>, or InvalidOid if there is no such
 *		table (while the extension is being created or dropped).  Takes no
 *		lock and ignores search_path.
 */
Oid
ac_extension_relid(const char *relname)
{
	Oid			nsp = get_namespace_oid("audit_chain", true);

	if (!OidIsValid(nsp))
		return InvalidOid;
	return get_relname_relid(relname, nsp);
}

/*
 * ac_rel_owner
 *		The owner of relation relid, which must exist.
 */
Oid
ac_rel_owner(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * ac_table_owner
 *		The owner of audit_chain.<relname>, or InvalidOid if there is no such
 *		table in this database (and missing_ok).
 */
Oid
ac_table_owner(const char *relname, bool missing_ok)
{
	Oid			relid = RangeVarGetRelid(makeRangeVar("audit_chain", (char *) relname, -1),
										 AccessShareLock, missing_ok);

	if (!OidIsValid(relid))
		return InvalidOid;
	return ac_rel_owner(relid);
}

/*
 * ac_execute_as
 *		Run one statement inside SPI as role owner (the owner of one of the
 *		extension's tables), with a kept plan if plan is given, else with
 *		sql.  The caller's identity is restored even on error, by the
 *		(sub)transaction abort.  Returns the SPI result code.
 *
 * The statements run here touch only the extension's own tables, name
 * everything with its schema and are not influenced by the caller's
 * search_path, so no code of the caller's runs with the owner's
 * privileges.  They run as a security-restricted operation all the same
 * (as VACUUM and REFRESH MATERIALIZED VIEW run a table owner's code), so
 * that whatever they might reach could not create temporary objects,
 * change role or leave anything else behind for the caller.
 */
int
ac_execute_as(Oid owner, SPIPlanPtr plan, const char *sql, int nargs,
			  Oid *argtypes, Datum *args, const char *nulls)
{
	return ac_execute_as_ro(owner, plan, sql, nargs, argtypes, args, nulls, false);
}

/*
 * ac_execute_as_ro
 *		ac_execute_as(), read_only as SPI means it: true runs a SELECT in the
 *		active snapshot, without the new snapshot SPI takes for every
 *		statement otherwise (READ COMMITTED).  verify_chain() reads the
 *		boundaries, the archive and the checkpoints this way, in the snapshot
 *		it reads the rows with: with a snapshot of their own, an archive()
 *		batch or a checkpoint committed in between made an intact chain look
 *		tampered with (test/soak/soak.sh found it; test/verify_snapshot.sql).
 */
int
ac_execute_as_ro(Oid owner, SPIPlanPtr plan, const char *sql, int nargs,
				 Oid *argtypes, Datum *args, const char *nulls, bool read_only)
{
	Oid			save_userid;
	int			save_sec_context;
	int			ret;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(owner, save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	if (plan != NULL)
		ret = SPI_execute_plan(plan, args, nulls, read_only, 0);
	else
		ret = SPI_execute_with_args(sql, nargs, argtypes, args, nulls, read_only, 0);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	if (ret < 0)
		elog(ERROR, "SPI execution failed: %s", SPI_result_code_string(ret));
	return ret;
}

/*
 * ac_create_statement_trigger_as
 *		Create a FOR EACH STATEMENT trigger on relid calling
 *		audit_chain.<funcname>(args), as role owner (an owner of the
 *		extension's tables), in a security-restricted operation.
 *
 * CreateTrigger is called directly rather than through a CREATE TRIGGER
 * statement: a statement would fire every event trigger of the database
 * as owner, under the caller's search_path, in the middle of the caller's
 * command, and code of the caller's could then run with owner's
 * privileges.  Called directly, it runs nothing but itself.
 */
void
ac_create_statement_trigger_as(Oid owner, Oid relid, const char *trigname,
							   const char *funcname, List *args,
							   int16 timing, int16 events)
{
	CreateTrigStmt *stmt = makeNode(CreateTrigStmt);
	Oid			save_userid;
	int			save_sec_context;

	stmt->replace = false;
	stmt->isconstraint = false;
	stmt->trigname = (char *) trigname;
	stmt->relation = makeRangeVar(get_namespace_name(get_rel_namespace(relid)),
								  get_rel_name(relid), -1);
	stmt->funcname = list_make2(makeString("audit_chain"),
								makeString((char *) funcname));
	stmt->args = args;
	stmt->row = false;
	stmt->timing = timing;
	stmt->events = events;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(owner, save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	(void) CreateTrigger(stmt, NULL, relid, InvalidOid, InvalidOid, InvalidOid,
						 InvalidOid, InvalidOid, NULL, false, false);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	CommandCounterIncrement();
}

/*
 * ac_vformat_in
 *		The message fmt formats to, allocated in cxt: for problems kept past
 *		the memory context they are found in (verify.c, cpcheck.c).
 */
char *
ac_vformat_in(MemoryContext cxt, const char *fmt, va_list args)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	StringInfoData buf;

	initStringInfo(&buf);
	for (;;)
	{
		va_list		copy;
		int			needed;

		va_copy(copy, args);
		needed = appendStringInfoVA(&buf, fmt, copy);
		va_end(copy);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	MemoryContextSwitchTo(old);
	return buf.data;
}
