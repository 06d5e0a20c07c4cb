/*-------------------------------------------------------------------------
 *
 * registry.c
 *	  Writes to the extension's registry tables on behalf of table owners.
 *
 * protect() and unprotect() run as their caller, who must own the table
 * (ALTER TABLE and CREATE TRIGGER need that anyway).  The registry tables
 * (audit_chain.chains, audit_chain.protection_log) are the extension's own
 * record and nobody but their owner may write them, so these functions check
 * that the caller owns the table and then write as the registry's owner, the
 * way RI triggers act as the owner of the table they check.  A superuser can
 * thus grant protect() and unprotect() to the owners of audit tables.
 *
 * IDENTIFICATION
 *	  src/registry.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "lane.h"
#include "registry.h"

/*
 * check_owner
 *		The caller must own the table (superusers do).
 */
static void
check_owner(Oid relid)
{
	if (!pg_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE, get_rel_name(relid));
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
	HeapTuple	tup;
	Oid			owner;

	if (!OidIsValid(relid))
		return InvalidOid;
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * ac_execute_as
 *		Run one statement inside SPI as role owner (the owner of one of the
 *		extension's tables), with a kept plan if plan is given, else with
 *		sql.  The caller's identity is restored even on error, by the
 *		(sub)transaction abort.  Returns the SPI result code.
 */
int
ac_execute_as(Oid owner, SPIPlanPtr plan, const char *sql, int nargs,
			  Oid *argtypes, Datum *args, const char *nulls)
{
	Oid			save_userid;
	int			save_sec_context;
	int			ret;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(owner, save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	if (plan != NULL)
		ret = SPI_execute_plan(plan, args, nulls, false, 0);
	else
		ret = SPI_execute_with_args(sql, nargs, argtypes, args, nulls, false, 0);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	if (ret < 0)
		elog(ERROR, "SPI execution failed: %s", SPI_result_code_string(ret));
	return ret;
}

/*
 * as_registry_owner
 *		Run one SQL statement, inside SPI, as the owner of audit_chain.chains.
 */
static int
as_registry_owner(const char *sql, int nargs, Oid *argtypes, Datum *args,
				  const char *nulls)
{
	return ac_execute_as(ac_table_owner("chains", false), NULL, sql, nargs,
						 argtypes, args, nulls);
}

/*
 * _register(tbl regclass, lanes int) RETURNS void
 *		Register the lanes of a newly chained table, each with a random
 *		genesis hash.  Internal to protect().
 */
PG_FUNCTION_INFO_V1(_register);
Datum
_register(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	int32		lanes = PG_GETARG_INT32(1);
	Oid			argtypes[2] = {REGCLASSOID, INT4OID};
	Datum		args[2];

	check_owner(relid);
	if (lanes < 1 || lanes > AC_MAX_LANES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lanes must be between 1 and %d, not %d", AC_MAX_LANES, lanes)));
	args[0] = ObjectIdGetDatum(relid);
	args[1] = Int32GetDatum(lanes);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	(void) as_registry_owner("INSERT INTO audit_chain.chains (tbl, lane, genesis) "
							 "SELECT $1, l, audit_chain._random_hash() "
							 "FROM pg_catalog.generate_series(0, $2 - 1) AS l",
							 2, argtypes, args, NULL);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * _unregister(tbl regclass) RETURNS void
 *		Remove a table's lanes from the registry.  Internal to unprotect().
 */
PG_FUNCTION_INFO_V1(_unregister);
Datum
_unregister(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Oid			argtypes[1] = {REGCLASSOID};
	Datum		args[1];

	check_owner(relid);
	args[0] = ObjectIdGetDatum(relid);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	(void) as_registry_owner("DELETE FROM audit_chain.chains "
							 "WHERE tbl OPERATOR(pg_catalog.=) $1",
							 1, argtypes, args, NULL);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * _log_protection(tbl regclass, action text, lanes int, rows_sealed bigint,
 *				   heads jsonb, reason text) RETURNS void
 *		Record a protect() or unprotect() in audit_chain.protection_log.
 */
PG_FUNCTION_INFO_V1(_log_protection);
Datum
_log_protection(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Oid			argtypes[6] = {REGCLASSOID, TEXTOID, INT4OID, INT8OID, JSONBOID, TEXTOID};
	Datum		args[6];
	char		nulls[6];

	check_owner(relid);
	for (int i = 0; i < 6; i++)
	{
		args[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	(void) as_registry_owner("INSERT INTO audit_chain.protection_log "
							 "(tbl_name, relid, action, lanes, rows_sealed, heads, reason) "
							 "VALUES ($1::pg_catalog.text, $1, $2, $3, $4, $5, $6)",
							 6, argtypes, args, nulls);
	SPI_finish();
	PG_RETURN_VOID();
}
