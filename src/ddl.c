/*-------------------------------------------------------------------------
 *
 * ddl.c
 *	  Event trigger that refuses DDL which would break the verification of a
 *	  chained table.
 *
 * It runs at ddl_command_start and reads the parse tree, so it can tell
 * ALTER TABLE ... ADD COLUMN with a default from one without, and refuse
 * before anything is done.  Drops (of tables, columns and the chain
 * triggers, also by CASCADE) are caught after the fact by the sql_drop
 * trigger in the install script, which raises an error and so undoes them.
 *
 * A table stops being guarded once audit_chain.unprotect() has removed it
 * from audit_chain.chains.
 *
 * IDENTIFICATION
 *	  src/ddl.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_type.h"
#include "catalog/pg_trigger.h"
#include "commands/event_trigger.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"
#include "parser/parse_type.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "chaintable.h"
#include "hash.h"
#include "lane.h"

#define SEAL_TRIGGER_NAME	"zz_audit_chain_seal"

/*
 * chain_root_of
 *		The chained table relid belongs to (itself or a partition ancestor),
 *		or InvalidOid if it belongs to none.
 */
static Oid
chain_root_of(Oid relid)
{
	List	   *candidates = list_make1_oid(relid);
	ListCell   *lc;
	Oid			result = InvalidOid;

	if (get_rel_relispartition(relid))
		candidates = list_concat(candidates, get_partition_ancestors(relid));

	/* the registry is read without the caller's privileges on it */
	foreach(lc, candidates)
	{
		bool		numbered;

		if (ac_registry_lanes(lfirst_oid(lc), InvalidSnapshot, NULL,
							  &numbered) > 0)
		{
			result = lfirst_oid(lc);
			break;
		}
	}
	list_free(candidates);
	return result;
}

/*
 * refuse
 *		Raise the common error for DDL on a chained table.
 */
static void
refuse(Oid relid, const char *what, const char *detail, const char *hint)
	pg_attribute_noreturn();

static void
refuse(Oid relid, const char *what, const char *detail, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot %s chained table \"%s\"", what, get_rel_name(relid)),
			 errdetail("%s", detail),
			 errhint("%s", hint ? hint :
					 "Call audit_chain.unprotect() on the table first; unprotect is recorded.")));
}

/*
 * default_is_null
 *		True if a raw default expression is the NULL constant.
 */
static bool
default_is_null(Node *expr)
{
	if (expr == NULL)
		return true;
	if (IsA(expr, A_Const))
		return ((A_Const *) expr)->isnull;
	if (IsA(expr, TypeCast))
		return default_is_null(((TypeCast *) expr)->arg);
	return false;
}

/*
 * check_add_column
 *		ADD COLUMN is allowed only if old rows keep reading NULL for the new
 *		column, which keeps their hashes (NULL columns are not hashed).
 */
static void
check_add_column(Oid relid, ColumnDef *def)
{
	ListCell   *lc;
	Oid			typid;
	bool		has_default = false;

	foreach(lc, def->constraints)
	{
		Constraint *con = lfirst_node(Constraint, lc);

		if (con->contype == CONSTR_GENERATED)
			return;				/* generated columns are not hashed */
		if (con->contype == CONSTR_DEFAULT)
			has_default = true;
		if ((con->contype == CONSTR_DEFAULT && !default_is_null(con->raw_expr)) ||
			con->contype == CONSTR_IDENTITY)
			refuse(relid, "add a column with a default to",
				   "Existing rows would read the default for the new column, which changes what they hash to.",
				   "Add the column without a default, then set one with ALTER TABLE ... ALTER COLUMN ... SET DEFAULT, which only applies to new rows.");
	}
	if (def->raw_default != NULL && !default_is_null(def->raw_default))
		refuse(relid, "add a column with a default to",
			   "Existing rows would read the default for the new column, which changes what they hash to.",
			   "Add the column without a default, then set one with ALTER TABLE ... ALTER COLUMN ... SET DEFAULT, which only applies to new rows.");
	if (def->typeName != NULL)
	{
		const char *tname = strVal(llast(def->typeName->names));

		if (list_length(def->typeName->names) == 1 &&
			(strcmp(tname, "serial") == 0 || strcmp(tname, "bigserial") == 0 ||
			 strcmp(tname, "smallserial") == 0 || strcmp(tname, "serial4") == 0 ||
			 strcmp(tname, "serial8") == 0 || strcmp(tname, "serial2") == 0))
			refuse(relid, "add a serial column to",
				   "Existing rows would be numbered, which changes what they hash to.",
				   "Add a plain integer column and attach a sequence default to it afterwards.");
		typid = LookupTypeNameOid(NULL, def->typeName, true);
		if (OidIsValid(typid))
		{
			ac_check_column_type(typid, def->colname, get_rel_name(relid));
			/* a domain's own default fills old rows too, unless overridden */
			if (!has_default && def->raw_default == NULL &&
				get_typdefault(typid) != NULL)
				refuse(relid, "add a column whose type has a default to",
					   "Existing rows would read the type's default for the new column, which changes what they hash to.",
					   "Add the column with DEFAULT NULL, then set a default with ALTER TABLE ... ALTER COLUMN ... SET DEFAULT.");
		}
	}
}

/*
 * is_chain_trigger
 *		True if a trigger name is one of the triggers protect() installs.
 */
static bool
is_chain_trigger(const char *name)
{
	return name != NULL && strncmp(name, "zz_audit_chain_", 15) == 0;
}

/*
 * is_tracked_column
 *		True if track() was called on relid with a column list naming colname:
 *		renaming or dropping that column would silently end its tracking.
 */
static bool
is_tracked_column(Oid relid, const char *colname)
{
	Relation	rel = table_open(relid, AccessShareLock);
	TriggerDesc *trigdesc = rel->trigdesc;
	bool		result = false;

	for (int i = 0; trigdesc != NULL && i < trigdesc->numtriggers && !result; i++)
	{
		Trigger    *tg = &trigdesc->triggers[i];

		if (strcmp(tg->tgname, "zz_audit_chain_track") != 0)
			continue;
		for (int a = 1; a < tg->tgnargs && !result; a++)
			result = strcmp(tg->tgargs[a], colname) == 0;
	}
	table_close(rel, AccessShareLock);
	return result;
}

/*
 * refuse_tracked_column
 */
static void
refuse_tracked_column(Oid relid, const char *what, const char *colname)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot %s column \"%s\" of table \"%s\", which audit_chain.track() lists",
					what, colname, get_rel_name(relid)),
			 errdetail("Its changes would silently stop being recorded."),
			 errhint("Call audit_chain.untrack() first, then track() again with the new column list.")));
}

/*
 * check_alter_table
 *		Refuse the subcommands of ALTER TABLE that would break verification.
 */
static void
check_alter_table(AlterTableStmt *stmt)
{
	Oid			relid;
	ListCell   *lc;

	if (stmt->objtype != OBJECT_TABLE)
		return;
	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	if (!OidIsValid(relid))
		return;
	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		if (cmd->subtype == AT_DropColumn && cmd->name != NULL &&
			is_tracked_column(relid, cmd->name))
			refuse_tracked_column(relid, "drop", cmd->name);
	}
	if (!OidIsValid(chain_root_of(relid)))
		return;

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		switch (cmd->subtype)
		{
			case AT_AddColumn:
				check_add_column(relid, castNode(ColumnDef, cmd->def));
				break;
			case AT_DropColumn:
				refuse(relid, "drop a column of",
					   "The column's values are part of every row's hash.", NULL);
				break;
			case AT_AlterColumnType:
				refuse(relid, "change the type of a column of",
					   "A new type can change the text form of old values, which changes what they hash to.",
					   NULL);
				break;
			case AT_DropExpression:
				refuse(relid, "drop the generation expression of a column of",
					   "A generated column is not hashed; turning it into a plain column would change what old rows hash to.",
					   NULL);
				break;
			case AT_DropNotNull:
				if (cmd->name != NULL && ac_is_chain_column(cmd->name))
					refuse(relid, "drop NOT NULL from a chain column of",
						   "Every row of a chained table must be sealed.", NULL);
				break;
			case AT_DisableTrigAll:
			case AT_DisableTrigUser:
				refuse(relid, "disable the triggers of",
					   "The triggers seal rows into the chain and refuse UPDATE, DELETE and TRUNCATE.",
					   NULL);
				break;
			case AT_DisableTrig:
			case AT_EnableReplicaTrig:
				if (is_chain_trigger(cmd->name))
					refuse(relid, "disable a chain trigger of",
						   "The triggers seal rows into the chain and refuse UPDATE, DELETE and TRUNCATE.",
						   NULL);
				break;
			case AT_SetUnLogged:
				refuse(relid, "make unlogged",
					   "An unlogged table is emptied after a crash, which would lose the audit trail.",
					   NULL);
				break;
			case AT_DetachPartition:
				refuse(relid, "detach a partition of",
					   "The partition's rows would leave the chain, which verification reports as deleted rows.",
					   NULL);
				break;
			default:
				break;
		}
	}
}

/*
 * refuse_late_trigger
 *		A BEFORE ROW trigger that would fire after the seal trigger could
 *		change the row after it was hashed.
 */
static void
refuse_late_trigger(Oid relid, const char *trigname)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("BEFORE ROW trigger \"%s\" on chained table \"%s\" would fire after the seal trigger",
					trigname, get_rel_name(relid)),
			 errdetail("BEFORE ROW triggers fire in name order; \"%s\" must see the final row.",
					   SEAL_TRIGGER_NAME),
			 errhint("Give the trigger a name that sorts before \"%s\".",
					 SEAL_TRIGGER_NAME)));
}

/*
 * trigger_is_before_row
 *		True if relid has a BEFORE ROW trigger of that name.
 */
static bool
trigger_is_before_row(Oid relid, const char *trigname)
{
	Relation	tgrel = table_open(TriggerRelationId, AccessShareLock);
	ScanKeyData keys[2];
	SysScanDesc scan;
	HeapTuple	tup;
	bool		result = false;

	ScanKeyInit(&keys[0], Anum_pg_trigger_tgrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	ScanKeyInit(&keys[1], Anum_pg_trigger_tgname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum(trigname));
	scan = systable_beginscan(tgrel, TriggerRelidNameIndexId, true, NULL, 2, keys);
	if (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		int16		tgtype = ((Form_pg_trigger) GETSTRUCT(tup))->tgtype;

		result = TRIGGER_FOR_ROW(tgtype) && TRIGGER_FOR_BEFORE(tgtype);
	}
	systable_endscan(scan);
	table_close(tgrel, AccessShareLock);
	return result;
}

/*
 * check_rename
 *		Column names are hashed; the seal trigger's name fixes its order.
 */
static void
check_rename(RenameStmt *stmt)
{
	Oid			relid;

	if (stmt->relation == NULL)
		return;
	if (stmt->renameType != OBJECT_COLUMN && stmt->renameType != OBJECT_TRIGGER)
		return;
	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	if (!OidIsValid(relid))
		return;
	if (stmt->renameType == OBJECT_COLUMN && is_tracked_column(relid, stmt->subname))
		refuse_tracked_column(relid, "rename", stmt->subname);
	if (!OidIsValid(chain_root_of(relid)))
		return;

	if (stmt->renameType == OBJECT_COLUMN)
		refuse(relid, "rename a column of",
			   "Column names are part of every row's hash.", NULL);
	if (is_chain_trigger(stmt->subname))
		refuse(relid, "rename a chain trigger of",
			   "The seal trigger's name makes it fire after every other BEFORE ROW trigger.",
			   NULL);
	if (strcmp(stmt->newname, SEAL_TRIGGER_NAME) > 0 &&
		trigger_is_before_row(relid, stmt->subname))
		refuse_late_trigger(relid, stmt->newname);
}

/*
 * check_create_trigger
 *		A BEFORE ROW trigger that would fire after the seal trigger could
 *		change the row after it was hashed.
 */
static void
check_create_trigger(CreateTrigStmt *stmt)
{
	Oid			relid;

	if (is_chain_trigger(stmt->trigname))
	{
		/* protect() makes these; replacing one would switch sealing off */
		if (!stmt->replace)
			return;
		relid = RangeVarGetRelid(stmt->relation, NoLock, true);
		if (OidIsValid(relid) && OidIsValid(chain_root_of(relid)))
			refuse(relid, "replace a chain trigger of",
				   "The triggers seal rows into the chain and refuse UPDATE, DELETE and TRUNCATE.",
				   NULL);
		return;
	}
	if (stmt->timing != TRIGGER_TYPE_BEFORE || !stmt->row)
		return;
	if (strcmp(stmt->trigname, SEAL_TRIGGER_NAME) <= 0)
		return;
	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	if (!OidIsValid(relid) || !OidIsValid(chain_root_of(relid)))
		return;
	refuse_late_trigger(relid, stmt->trigname);
}

/*
 * check_drop
 *		DROP INDEX of the chain index (its table cannot be read from the
 *		catalog any more at sql_drop time), and DROP EXTENSION while tables
 *		are chained.
 */
static void
check_drop(DropStmt *stmt)
{
	ListCell   *lc;

	if (stmt->removeType == OBJECT_EXTENSION)
	{
		foreach(lc, stmt->objects)
		{
			int			ret;

			if (strcmp(strVal(lfirst(lc)), "audit_chain") != 0)
				continue;
			if (SPI_connect() != SPI_OK_CONNECT)
				elog(ERROR, "SPI_connect failed");
			ret = SPI_execute("SELECT 1 FROM audit_chain.chains "
							  "WHERE tbl OPERATOR(pg_catalog.<>) 'audit_chain.events'::pg_catalog.regclass "
							  "LIMIT 1", true, 1);
			if (ret != SPI_OK_SELECT)
				elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
			if (SPI_processed > 0)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("cannot drop extension audit_chain while tables are chained"),
						 errdetail("Dropping it would remove the triggers that seal and guard those tables (audit_chain.events is dropped with the extension)."),
						 errhint("Call audit_chain.unprotect() on each table in audit_chain.chains first.")));
			SPI_finish();
		}
		return;
	}

	if (stmt->removeType == OBJECT_TABLE)
	{
		foreach(lc, stmt->objects)
		{
			RangeVar   *rv = makeRangeVarFromNameList((List *) lfirst(lc));
			Oid			relid = RangeVarGetRelid(rv, NoLock, true);
			Oid			root;

			if (!OidIsValid(relid) || !get_rel_relispartition(relid))
				continue;
			root = chain_root_of(relid);
			if (OidIsValid(root) && root != relid)
				refuse(root, "drop a partition of",
					   "The partition's rows would leave the chain, which verification could not tell from rows never written.",
					   NULL);
		}
		return;
	}

	if (stmt->removeType != OBJECT_INDEX)
		return;
	foreach(lc, stmt->objects)
	{
		RangeVar   *rv = makeRangeVarFromNameList((List *) lfirst(lc));
		Oid			indexoid = RangeVarGetRelid(rv, NoLock, true);
		Oid			relid;
		Relation	rel;
		AttrNumber	a1,
					a2,
					a3;
		Oid			chainindex;

		if (!OidIsValid(indexoid) || get_rel_relkind(indexoid) != RELKIND_INDEX)
			continue;
		relid = IndexGetRelation(indexoid, true);
		if (!OidIsValid(relid) || !OidIsValid(chain_root_of(relid)))
			continue;
		rel = table_open(relid, AccessShareLock);
		chainindex = ac_chain_index(rel, &a1, &a2, &a3, true);
		table_close(rel, AccessShareLock);
		if (chainindex == indexoid)
			refuse(relid, "drop the chain index of",
				   "The index on (chain_lane, chain_seq) keeps seqs unique and finds lane heads.",
				   NULL);
	}
}

/*
 * ddl_guard
 *		Event trigger function, ddl_command_start.
 */
PG_FUNCTION_INFO_V1(ddl_guard);
Datum
ddl_guard(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	Node	   *parsetree;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ddl_guard: must be called as an event trigger")));

	trigdata = (EventTriggerData *) fcinfo->context;
	parsetree = trigdata->parsetree;

	switch (nodeTag(parsetree))
	{
		case T_AlterTableStmt:
			check_alter_table((AlterTableStmt *) parsetree);
			break;
		case T_RenameStmt:
			check_rename((RenameStmt *) parsetree);
			break;
		case T_CreateTrigStmt:
			check_create_trigger((CreateTrigStmt *) parsetree);
			break;
		case T_DropStmt:
			check_drop((DropStmt *) parsetree);
			break;
		default:
			break;
	}
	PG_RETURN_VOID();
}
