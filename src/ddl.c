/*-------------------------------------------------------------------------
 *
 * ddl.c
 *	  Event triggers that refuse DDL which would break the verification of a
 *	  chained table.
 *
 * ddl_guard (ddl_command_start) reads the parse tree, so it can tell ALTER
 * TABLE ... ADD COLUMN with a default from one without, and refuse before
 * anything is done.  It also closes the ways around itself:
 *  - a command on a parent reaches its children (ALTER TABLE recurses), so it
 *	  is judged as a command on every chained table below; a chained table may
 *	  not become a child, a partition or a typed table, and no table may
 *	  inherit from one (partitions made by CREATE TABLE ... PARTITION OF are
 *	  the chain itself, and are judged as the chained table);
 *  - no rule on a chained table (DO INSTEAD NOTHING swallows rows silently);
 *  - a change to a type that a chained table's column uses, to any depth
 *	  (ALTER TYPE ... ADD ATTRIBUTE, RENAME VALUE, ALTER TABLE on a table
 *	  whose row type is used, CREATE OR REPLACE VIEW of a view whose row type
 *	  is used), is refused as the column type change it is;
 *  - the extension's own tables keep the shape its script gave them, also
 *	  for superusers;
 *  - DROP SCHEMA and DROP OWNED may not take partitions of chained tables.
 *
 * drop_guard (sql_drop) catches drops of chained tables, their columns and
 * the chain triggers, also by CASCADE, after the fact, and raises an error,
 * which undoes them.
 *
 * partition_guard (ddl_command_end) gives every new partition of a chained
 * table the statement trigger that refuses TRUNCATE (statement triggers are
 * not cloned to partitions), and refuses an attached table that has rows.
 *
 * The guards read the registry, audit_chain.chains, directly (not through
 * SQL), so they work whatever the calling role may read.  A table stops
 * being guarded once audit_chain.unprotect() has removed it from the
 * registry.
 *
 * IDENTIFICATION
 *	  src/ddl.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/dependency.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parse_func.h"
#include "parser/parse_type.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "chaintable.h"
#include "ddl.h"
#include "hash.h"
#include "lane.h"
#include "registry.h"
#include "restore.h"
#include "retention.h"

static void refuse_foreign_partition(Oid parent, const char *part);

/*
 * The chained tables (audit_chain.chains.tbl), read once per event trigger
 * call, in that call's memory context.  Every entry point calls
 * guard_begin() first.
 */
static List *guard_chained = NIL;
static bool guard_loaded = false;

/*
 * The table a command was given when it reaches a chained table through
 * inheritance or a typed table's type (InvalidOid: the chained table itself).
 * refuse() says so.
 */
static Oid	guard_via = InvalidOid;

/*
 * The tables an ALTER TABLE ... ATTACH PARTITION under a chained table
 * attaches, resolved by ddl_guard (under the caller's search_path, which
 * partition_guard does not run under) for partition_guard, which checks
 * them once they are attached and locked.  In TopMemoryContext; every
 * ALTER TABLE that ddl_guard sees starts it afresh.
 */
static List *guard_attached = NIL;

/*
 * Set by archive() around its own ALTER TABLE ... DETACH PARTITION of an old
 * partition of this chained table (ac_ddl_permit_detach).
 */
static Oid	detach_permit_parent = InvalidOid;

/*
 * ac_ddl_permit_detach
 *		Let the DDL guard pass DETACH PARTITION on chained table parent (or,
 *		with InvalidOid, stop letting it).  archive() sets it around the one
 *		statement that detaches a partition it has checked, in PG_FINALLY.
 */
void
ac_ddl_permit_detach(Oid parent)
{
	detach_permit_parent = parent;
}

/*
 * guard_begin
 *		Forget what an earlier call read: each event trigger call starts here.
 */
static void
guard_begin(void)
{
	guard_chained = NIL;
	guard_loaded = false;
	guard_via = InvalidOid;
}

/*
 * load_chained
 *		Read the chained tables from audit_chain.chains (none while the
 *		extension is being created or dropped), without SQL, so that no
 *		privilege on the registry is needed and no search_path is involved.
 *
 * The newest committed registry, not the transaction's snapshot: under
 * REPEATABLE READ a table protected after the snapshot was taken is chained
 * all the same.
 */
static void
load_chained(void)
{
	guard_loaded = true;
	guard_chained = ac_registry_tables_as_of(GetLatestSnapshot(), true);
}

/*
 * is_chained
 *		True if relid itself is registered in audit_chain.chains.
 */
static bool
is_chained(Oid relid)
{
	if (!guard_loaded)
		load_chained();
	return list_member_oid(guard_chained, relid);
}

/*
 * is_chained_test
 *		is_chained() for ac_partition_ancestor().
 */
static bool
is_chained_test(Oid relid, void *arg)
{
	return is_chained(relid);
}

/*
 * chain_root_of
 *		The chained table relid belongs to (itself or a partition ancestor),
 *		or InvalidOid if it belongs to none.
 */
static Oid
chain_root_of(Oid relid)
{
	return ac_partition_ancestor(relid, is_chained_test, NULL);
}

/*
 * is_extension_table
 *		True if relid is one of audit_chain's own tables (a member of the
 *		extension).
 */
static bool
is_extension_table(Oid relid)
{
	Oid			ext = get_extension_oid("audit_chain", true);

	return OidIsValid(ext) &&
		getExtensionOfObject(RelationRelationId, relid) == ext;
}

/*
 * in_install_script
 *		True while CREATE EXTENSION or ALTER EXTENSION UPDATE runs
 *		audit_chain's own script, or during pg_upgrade.
 */
static bool
in_install_script(void)
{
	Oid			ext;

	if (IsBinaryUpgrade)
		return true;
	if (!creating_extension)
		return false;
	ext = get_extension_oid("audit_chain", true);
	return !OidIsValid(ext) || CurrentExtensionObject == ext;
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
	const char *via = OidIsValid(guard_via) ? get_rel_name(guard_via) : NULL;

	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot %s chained table \"%s\"", what, get_rel_name(relid)),
			 via ?
			 errdetail("%s The command on \"%s\" applies to \"%s\" too.",
					   detail, via, get_rel_name(relid)) :
			 errdetail("%s", detail),
			 errhint("%s", hint ? hint :
					 "Call audit_chain.unprotect() on the table first; unprotect is recorded.")));
}

/*
 * refuse_become
 *		Raise the error for making a chained table something commands on
 *		another object reach: "cannot make chained table "t" <what>".
 */
static void
refuse_become(Oid relid, const char *what, const char *detail)
	pg_attribute_noreturn();

static void
refuse_become(Oid relid, const char *what, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot make chained table \"%s\" %s", get_rel_name(relid), what),
			 errdetail("%s", detail),
			 errhint("Call audit_chain.unprotect() on the table first; unprotect is recorded.")));
}

/*
 * refuse_extension_table
 *		Raise the error for DDL on one of the extension's own tables.
 */
static void
refuse_extension_table(Oid relid)
	pg_attribute_noreturn();

static void
refuse_extension_table(Oid relid)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot change table \"%s\", which belongs to extension audit_chain",
					get_rel_name(relid)),
			 errdetail("pg_dump saves only the rows of the extension's tables and the extension's script makes the tables, so a restore could not load rows of a changed table."),
			 errhint("Keep data of your own in tables of your own.")));
}

/*
 * inheritance_targets
 *		The tables a command on relid reaches: relid, and, unless ONLY was
 *		given, every table that inherits from it or is a partition of it.
 */
static List *
inheritance_targets(Oid relid, bool inh)
{
	char		relkind = get_rel_relkind(relid);

	if (inh && (relkind == RELKIND_RELATION ||
				relkind == RELKIND_PARTITIONED_TABLE ||
				relkind == RELKIND_FOREIGN_TABLE))
		return find_all_inheritors(relid, NoLock, NULL);
	return list_make1_oid(relid);
}

/*
 * typed_chained_tables
 *		The chained tables that are typed tables of the composite type whose
 *		pg_class entry is typrelid (ALTER TYPE ... CASCADE changes them).
 */
static List *
typed_chained_tables(Oid typrelid)
{
	Oid			typid = get_rel_type_id(typrelid);
	List	   *result = NIL;
	ListCell   *lc;

	if (!guard_loaded)
		load_chained();
	if (!OidIsValid(typid))
		return NIL;
	foreach(lc, guard_chained)
	{
		HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(lfirst_oid(lc)));

		if (!HeapTupleIsValid(tup))
			continue;
		if (((Form_pg_class) GETSTRUCT(tup))->reloftype == typid)
			result = lappend_oid(result, lfirst_oid(lc));
		ReleaseSysCache(tup);
	}
	return result;
}

/*
 * typed_tables
 *		Every table of the composite type whose pg_class entry is typrelid,
 *		and the partitions below them: ALTER TYPE ... CASCADE changes their
 *		row types.  Reads pg_class through (there is no index on reloftype),
 *		which only a change to a composite type's attributes does.
 */
static List *
typed_tables(Oid typrelid)
{
	Oid			typid = get_rel_type_id(typrelid);
	Relation	classrel;
	TableScanDesc scan;
	HeapTuple	tup;
	List	   *typed = NIL;
	List	   *result = NIL;
	ListCell   *lc;

	if (!OidIsValid(typid))
		return NIL;
	classrel = table_open(RelationRelationId, AccessShareLock);
	scan = table_beginscan_catalog(classrel, 0, NULL);
	while (HeapTupleIsValid(tup = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_class form = (Form_pg_class) GETSTRUCT(tup);

		if (form->reloftype == typid)
			typed = lappend_oid(typed, form->oid);
	}
	table_endscan(scan);
	table_close(classrel, AccessShareLock);
	foreach(lc, typed)
		result = list_concat_unique_oid(result,
										inheritance_targets(lfirst_oid(lc), true));
	return result;
}

/*
 * type_user
 *		Find a column of a chained table whose type is or contains typid (at
 *		any depth: domains, arrays, composites, ranges).  Returns the table and
 *		sets *attname, or returns InvalidOid.  Partitions have their root's
 *		columns, so the roots suffice.
 */
static Oid
type_user(Oid typid, char **attname)
{
	ListCell   *lc;

	if (!guard_loaded)
		load_chained();
	foreach(lc, guard_chained)
	{
		Oid			relid = lfirst_oid(lc);
		Relation	rel = try_relation_open(relid, AccessShareLock);
		TupleDesc	tupdesc;
		bool		found = false;

		if (rel == NULL)
			continue;
		tupdesc = RelationGetDescr(rel);
		for (int i = 0; i < tupdesc->natts && !found; i++)
		{
			Form_pg_attribute att = TupleDescAttr(tupdesc, i);

			if (att->attisdropped)
				continue;
			found = ac_type_contains(att->atttypid, typid);
			if (found)
				*attname = pstrdup(NameStr(att->attname));
		}
		relation_close(rel, AccessShareLock);
		if (found)
			return relid;
	}
	return InvalidOid;
}

/*
 * type_is_referenced
 *		True if something other than its array type and functions depends on
 *		typid or on its array type in pg_depend: a column, a domain, a range
 *		or another composite might use it.  Keeps type_user(), which opens
 *		every chained table, off the path of everyday ALTER TABLE.
 */
static bool
type_is_referenced(Oid typid, bool is_array)
{
	Relation	deprel = table_open(DependRelationId, AccessShareLock);
	Oid			arraytype = is_array ? InvalidOid : get_array_type(typid);
	ScanKeyData keys[2];
	SysScanDesc scan;
	HeapTuple	tup;
	bool		result = false;

	ScanKeyInit(&keys[0], Anum_pg_depend_refclassid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(TypeRelationId));
	ScanKeyInit(&keys[1], Anum_pg_depend_refobjid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(typid));
	scan = systable_beginscan(deprel, DependReferenceIndexId, true, NULL, 2, keys);
	while (!result && HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_depend dep = (Form_pg_depend) GETSTRUCT(tup);

		if (dep->classid == ProcedureRelationId)
			continue;
		if (dep->classid == TypeRelationId && dep->objid == arraytype)
			continue;
		result = true;
	}
	systable_endscan(scan);
	table_close(deprel, AccessShareLock);
	if (!result && OidIsValid(arraytype))
		result = type_is_referenced(arraytype, true);
	return result;
}

/*
 * refuse_type_change
 *		A change to a type that a chained table's column uses changes the text
 *		of the column's old values, and so what old rows hash to.  what says
 *		which type, for the message.
 */
static void
refuse_type_change(Oid typid, const char *what)
{
	char	   *attname = NULL;
	Oid			user;

	if (!OidIsValid(typid) || !type_is_referenced(typid, false))
		return;
	user = type_user(typid, &attname);
	if (!OidIsValid(user))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot alter %s %s because column \"%s\" of chained table \"%s\" uses it",
					what, format_type_be(typid), attname, get_rel_name(user)),
			 errdetail("The text form of the column's old values would change, which changes what old rows hash to."),
			 errhint("Make a new type instead, or call audit_chain.unprotect() on the table first; unprotect is recorded.")));
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
 * is_tracked_column
 *		True if track() was called on relid with a column list naming colname:
 *		renaming or dropping that column would silently end its tracking.
 */
static bool
is_tracked_column(Oid relid, const char *colname)
{
	Relation	rel;
	TriggerDesc *trigdesc;
	bool		result = false;
	char		relkind = get_rel_relkind(relid);

	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		return false;
	rel = table_open(relid, AccessShareLock);
	trigdesc = rel->trigdesc;

	for (int i = 0; trigdesc != NULL && i < trigdesc->numtriggers && !result; i++)
	{
		Trigger    *tg = &trigdesc->triggers[i];

		if (strcmp(tg->tgname, AC_TRACK_TRIGGER) != 0)
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
 * check_chained_subcommand
 *		Refuse one subcommand of ALTER TABLE that would break the verification
 *		of chained table relid (the table named, or one the command reaches).
 */
static void
check_chained_subcommand(Oid relid, AlterTableCmd *cmd)
{
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
			if (ac_is_chain_trigger(cmd->name))
				refuse(relid, "disable a chain trigger of",
					   "The triggers seal rows into the chain and refuse UPDATE, DELETE and TRUNCATE.",
					   NULL);
			break;
		case AT_EnableRule:
		case AT_EnableAlwaysRule:
		case AT_EnableReplicaRule:
			refuse(relid, "enable a rule on",
				   "A rule can rewrite or swallow the statements that write the table (DO INSTEAD NOTHING drops rows without an error), so rows would go unsealed or unwritten.",
				   "Drop the rule.");
			break;
		case AT_SetUnLogged:
			refuse(relid, "make unlogged",
				   "An unlogged table is emptied after a crash, which would lose the audit trail.",
				   NULL);
			break;
		case AT_DetachPartition:
			/* archive()'s own DETACH of an old partition */
			if (OidIsValid(detach_permit_parent) && relid == detach_permit_parent)
				break;
			refuse(relid, "detach a partition of",
				   "The partition's rows would leave the chain, which verification reports as deleted rows.",
				   NULL);
			break;
		case AT_AddInherit:
			refuse_become(relid, "inherit from another table",
						  "Commands on the parent would reach the chained table through it: a column renamed, retyped or added with a default there changes what old rows hash to.");
			break;
		case AT_AddOf:
			refuse_become(relid, "a typed table",
						  "ALTER TYPE ... CASCADE on the type would reach the chained table: an attribute dropped, retyped or renamed there changes what old rows hash to.");
			break;
		default:
			break;
	}
}

/*
 * check_extension_subcommand
 *		The extension's own tables keep the shape its script gave them: pg_dump
 *		dumps only their rows, in that shape.  Storage settings, statistics,
 *		ownership, row security and the like change no shape and are allowed.
 */
static void
check_extension_subcommand(Oid relid, AlterTableCmd *cmd)
{
	switch (cmd->subtype)
	{
		case AT_SetStatistics:
		case AT_SetOptions:
		case AT_ResetOptions:
		case AT_SetStorage:
		case AT_SetCompression:
		case AT_ClusterOn:
		case AT_DropCluster:
		case AT_SetLogged:
		case AT_SetTableSpace:
		case AT_SetRelOptions:
		case AT_ResetRelOptions:
		case AT_ReplaceRelOptions:
		case AT_ChangeOwner:
		case AT_ReplicaIdentity:
		case AT_EnableRowSecurity:
		case AT_DisableRowSecurity:
		case AT_ForceRowSecurity:
		case AT_NoForceRowSecurity:
			break;
		default:
			refuse_extension_table(relid);
	}
}

/*
 * check_attach
 *		ALTER TABLE parent ATTACH PARTITION part: refuse if part is chained,
 *		for the reason INHERIT is refused.
 */
static void
check_attach(Oid parent, PartitionCmd *pcmd)
{
	Oid			part = RangeVarGetRelid(pcmd->name, NoLock, true);
	Oid			root;

	if (!OidIsValid(part))
		return;
	if (get_rel_relkind(part) == RELKIND_FOREIGN_TABLE &&
		OidIsValid(root = chain_root_of(parent)))
		refuse_foreign_partition(root, get_rel_name(part));
	if (OidIsValid(chain_root_of(parent)))
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		guard_attached = lappend_oid(guard_attached, part);
		MemoryContextSwitchTo(old);
	}
	if (!OidIsValid(chain_root_of(part)))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot attach chained table \"%s\" as a partition of \"%s\"",
					get_rel_name(part), get_rel_name(parent)),
			 errdetail("Commands on the parent would reach the chained table through it: a column renamed, retyped or added with a default there changes what old rows hash to."),
			 errhint("Protect the partitioned table and create its partitions with CREATE TABLE ... PARTITION OF, or call audit_chain.unprotect() on the table first; unprotect is recorded.")));
}

/*
 * subcommand_recurses
 *		True for the subcommands that a command on a parent (or on a typed
 *		table's type) may pass on to a chained table below it.  Triggers are
 *		counted in, to be safe: some versions pass them on to partitions.
 *		The others (ATTACH, DETACH, INHERIT, rules, persistence) act on the
 *		named table alone.
 */
static bool
subcommand_recurses(AlterTableCmd *cmd)
{
	switch (cmd->subtype)
	{
		case AT_AddColumn:
		case AT_DropColumn:
		case AT_AlterColumnType:
		case AT_DropExpression:
		case AT_DropNotNull:
		case AT_DisableTrigAll:
		case AT_DisableTrigUser:
		case AT_DisableTrig:
		case AT_EnableReplicaTrig:
			return true;
		default:
			return false;
	}
}

/*
 * refuse_child_of_chained
 *		A table may not inherit from a chained table: reading the chained
 *		table (as verification does) would include the child's rows, which
 *		nothing seals.  Partitions of a chained table are the chain itself and
 *		are made with CREATE TABLE ... PARTITION OF.
 */
static void
refuse_child_of_chained(Oid parent, const char *child)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot make table \"%s\" inherit from chained table \"%s\"",
					child, get_rel_name(parent)),
			 errdetail("Reading the chained table would include the child's rows, which are not sealed into the chain."),
			 errhint("Chain the other table on its own with audit_chain.protect().")));
}

/*
 * refuse_foreign_partition
 *		The rows of a foreign partition live on another server, where the
 *		chain's triggers do not guard them.
 */
static void
refuse_foreign_partition(Oid parent, const char *part)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot make foreign table \"%s\" a partition of chained table \"%s\"",
					part, get_rel_name(parent)),
			 errdetail("The rows of a foreign table live on another server, out of reach of the triggers that seal and guard the chain.")));
}

/*
 * check_create_table
 *		CREATE TABLE ... INHERITS (chained table), and CREATE FOREIGN TABLE
 *		... PARTITION OF a chained table.
 */
static void
check_create_table(CreateStmt *stmt, bool foreign)
{
	ListCell   *lc;

	foreach(lc, stmt->inhRelations)
	{
		Oid			parent = RangeVarGetRelid(lfirst_node(RangeVar, lc), NoLock, true);
		Oid			root;

		if (!OidIsValid(parent) || !OidIsValid(root = chain_root_of(parent)))
			continue;
		if (stmt->partbound == NULL)
			refuse_child_of_chained(parent, stmt->relation->relname);
		if (foreign)
			refuse_foreign_partition(root, stmt->relation->relname);
	}
}

/*
 * check_alter_table
 *		Refuse the subcommands of ALTER TABLE (and ALTER TYPE on a composite
 *		type, which is an ALTER TABLE underneath) that would break
 *		verification: on a chained table, on a chained table the command
 *		reaches by recursion, on a type a chained table's column uses, and on
 *		the extension's own tables.
 */
static void
check_alter_table(AlterTableStmt *stmt)
{
	Oid			relid;
	ListCell   *lc;
	List	   *targets;
	bool		changes_rowtype = false;

	if (stmt->objtype != OBJECT_TABLE && stmt->objtype != OBJECT_TYPE &&
		stmt->objtype != OBJECT_FOREIGN_TABLE)
		return;
	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	if (!OidIsValid(relid))
		return;

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		if (cmd->subtype == AT_AddColumn || cmd->subtype == AT_DropColumn ||
			cmd->subtype == AT_AlterColumnType)
			changes_rowtype = true;
		if (cmd->subtype == AT_DropColumn && cmd->name != NULL &&
			is_tracked_column(relid, cmd->name))
			refuse_tracked_column(relid, "drop", cmd->name);
		if (cmd->subtype == AT_AttachPartition)
			check_attach(relid, castNode(PartitionCmd, cmd->def));
		if (cmd->subtype == AT_AddInherit)
		{
			Oid			parent = RangeVarGetRelid(castNode(RangeVar, cmd->def),
												  NoLock, true);

			if (OidIsValid(parent) && OidIsValid(chain_root_of(parent)))
				refuse_child_of_chained(parent, get_rel_name(relid));
		}
	}

	/*
	 * A column of a chained table may have this row type, or the row type of
	 * a table the command reaches: a column added to a parent is added to
	 * its children, an attribute added to a type with CASCADE to its typed
	 * tables.
	 */
	if (changes_rowtype)
	{
		List	   *reached;

		refuse_type_change(get_rel_type_id(relid),
						   stmt->objtype == OBJECT_TYPE ? "type" : "row type");
		if (stmt->objtype == OBJECT_TYPE)
			reached = typed_tables(relid);
		else
			reached = inheritance_targets(relid, stmt->relation->inh);
		foreach(lc, reached)
		{
			if (lfirst_oid(lc) != relid)
				refuse_type_change(get_rel_type_id(lfirst_oid(lc)), "row type");
		}
	}

	if (is_extension_table(relid) && !in_install_script())
	{
		foreach(lc, stmt->cmds)
			check_extension_subcommand(relid, lfirst_node(AlterTableCmd, lc));
	}

	/* the chained tables the command reaches */
	if (stmt->objtype == OBJECT_TYPE)
		targets = typed_chained_tables(relid);
	else
		targets = inheritance_targets(relid, stmt->relation->inh);
	foreach(lc, targets)
	{
		Oid			target = lfirst_oid(lc);
		ListCell   *lc2;

		if (!OidIsValid(chain_root_of(target)))
			continue;
		guard_via = target == relid ? InvalidOid : relid;
		foreach(lc2, stmt->cmds)
		{
			AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc2);

			if (target == relid || subcommand_recurses(cmd))
				check_chained_subcommand(target, cmd);
		}
	}
	guard_via = InvalidOid;
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
					   AC_SEAL_TRIGGER),
			 errhint("Give the trigger a name that sorts before \"%s\".",
					 AC_SEAL_TRIGGER)));
}

/*
 * find_trigger
 *		True if relid has a trigger of that name; its tgtype in *tgtype.
 */
static bool
find_trigger(Oid relid, const char *trigname, int16 *tgtype)
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
		result = true;
		if (tgtype != NULL)
			*tgtype = ((Form_pg_trigger) GETSTRUCT(tup))->tgtype;
	}
	systable_endscan(scan);
	table_close(tgrel, AccessShareLock);
	return result;
}

/*
 * check_rename
 *		Column names are hashed; the seal trigger's name fixes its order; the
 *		extension's tables keep their names.  A rename on a parent reaches its
 *		children, and RENAME ATTRIBUTE ... CASCADE a typed table's columns.
 */
static void
check_rename(RenameStmt *stmt)
{
	Oid			relid;
	List	   *targets;
	ListCell   *lc;
	int16		tgtype;

	if (stmt->relation == NULL)
		return;
	if (stmt->renameType != OBJECT_COLUMN && stmt->renameType != OBJECT_TRIGGER &&
		stmt->renameType != OBJECT_TABLE && stmt->renameType != OBJECT_ATTRIBUTE)
		return;
	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	if (!OidIsValid(relid))
		return;
	if (stmt->renameType == OBJECT_COLUMN && is_tracked_column(relid, stmt->subname))
		refuse_tracked_column(relid, "rename", stmt->subname);
	if (is_extension_table(relid) && !in_install_script() &&
		(stmt->renameType == OBJECT_TABLE || stmt->renameType == OBJECT_COLUMN))
		refuse_extension_table(relid);
	if (stmt->renameType == OBJECT_TABLE)
		return;

	if (stmt->renameType == OBJECT_ATTRIBUTE)
		targets = typed_chained_tables(relid);
	else
		targets = inheritance_targets(relid, stmt->relation->inh);
	foreach(lc, targets)
	{
		Oid			target = lfirst_oid(lc);

		if (!OidIsValid(chain_root_of(target)))
			continue;
		guard_via = target == relid ? InvalidOid : relid;
		if (stmt->renameType == OBJECT_COLUMN || stmt->renameType == OBJECT_ATTRIBUTE)
			refuse(target, "rename a column of",
				   "Column names are part of every row's hash.", NULL);
		if (ac_is_chain_trigger(stmt->subname))
			refuse(target, "rename a chain trigger of",
				   "The seal trigger's name makes it fire after every other BEFORE ROW trigger.",
				   NULL);
		if (find_trigger(target, stmt->subname, &tgtype) &&
			ac_trigger_fires_after_seal(tgtype, stmt->newname, AC_SEAL_TRIGGER))
			refuse_late_trigger(target, stmt->newname);
	}
	guard_via = InvalidOid;
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
	int16		tgtype;

	if (ac_is_chain_trigger(stmt->trigname) && stmt->replace)
	{
		/* protect() makes these; replacing one would switch sealing off */
		relid = RangeVarGetRelid(stmt->relation, NoLock, true);
		if (OidIsValid(relid) && OidIsValid(chain_root_of(relid)))
			refuse(relid, "replace a chain trigger of",
				   "The triggers seal rows into the chain and refuse UPDATE, DELETE and TRUNCATE.",
				   NULL);
	}

	/*
	 * The type of the trigger, as CreateTrigger() will make it.  A name with
	 * the extension's prefix is no exception: "zz_audit_chain_z" sorts after
	 * the seal trigger like any other (and drop_guard would keep it).
	 */
	TRIGGER_CLEAR_TYPE(tgtype);
	if (stmt->row)
		TRIGGER_SETT_ROW(tgtype);
	tgtype |= stmt->timing;
	if (!ac_trigger_fires_after_seal(tgtype, stmt->trigname, AC_SEAL_TRIGGER))
		return;
	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	if (!OidIsValid(relid) || !OidIsValid(chain_root_of(relid)))
		return;
	refuse_late_trigger(relid, stmt->trigname);
}

/*
 * check_create_rule
 *		CREATE [OR REPLACE] RULE on a chained table (or a partition of one):
 *		a rule rewrites the statements that write the table before any
 *		trigger runs, and DO INSTEAD NOTHING drops rows without an error.
 *		Also refused on the extension's own tables.
 */
static void
check_create_rule(RuleStmt *stmt)
{
	Oid			relid = RangeVarGetRelid(stmt->relation, NoLock, true);

	if (!OidIsValid(relid))
		return;
	if (OidIsValid(chain_root_of(relid)))
		refuse(relid, "create a rule on",
			   "A rule can rewrite or swallow the statements that write the table (DO INSTEAD NOTHING drops rows without an error), so rows would go unsealed or unwritten.",
			   "Write to the table through a view or a function instead.");
	if (is_extension_table(relid) && !in_install_script())
		refuse_extension_table(relid);
}

/*
 * check_create_view
 *		CREATE OR REPLACE VIEW may add columns to the view's row type; refuse
 *		it if a chained table's column uses that row type.
 */
static void
check_create_view(ViewStmt *stmt)
{
	Oid			relid;

	if (!stmt->replace)
		return;
	relid = RangeVarGetRelid(stmt->view, NoLock, true);
	if (OidIsValid(relid) && get_rel_relkind(relid) == RELKIND_VIEW)
		refuse_type_change(get_rel_type_id(relid), "row type");
}

/*
 * check_alter_enum
 *		ALTER TYPE ... RENAME VALUE changes the text of every stored value of
 *		the enum; refuse it if a chained table's column uses the enum.  Adding
 *		a value changes no stored text.
 */
static void
check_alter_enum(AlterEnumStmt *stmt)
{
	TypeName   *tn;
	Oid			typid;

	if (stmt->oldVal == NULL)
		return;
	tn = makeTypeNameFromNameList(stmt->typeName);
	typid = LookupTypeNameOid(NULL, tn, true);
	if (OidIsValid(typid))
		refuse_type_change(typid, "enum");
}

/*
 * check_partitions_dropped
 *		DROP SCHEMA ... CASCADE and DROP OWNED drop the partitions of chained
 *		tables in those schemas or owned by those roles, and drop_guard cannot
 *		tell afterwards which partitions were chained.  Refuse before.
 */
static void
check_partitions_dropped(List *nsps, List *roles)
{
	ListCell   *lc;

	if (nsps == NIL && roles == NIL)
		return;
	if (!guard_loaded)
		load_chained();
	foreach(lc, guard_chained)
	{
		Oid			root = lfirst_oid(lc);
		List	   *tree;
		ListCell   *lc2;

		if (!OidIsValid(get_rel_relkind(root)))
			continue;
		tree = find_all_inheritors(root, NoLock, NULL);
		foreach(lc2, tree)
		{
			Oid			part = lfirst_oid(lc2);
			HeapTuple	tup;
			Oid			nsp,
						owner;

			if (part == root)
				continue;		/* drop_guard catches the table itself */
			tup = SearchSysCache1(RELOID, ObjectIdGetDatum(part));
			if (!HeapTupleIsValid(tup))
				continue;
			nsp = ((Form_pg_class) GETSTRUCT(tup))->relnamespace;
			owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
			ReleaseSysCache(tup);
			if (list_member_oid(nsps, nsp) || list_member_oid(roles, owner))
				refuse(root, "drop a partition of",
					   "The partition's rows would leave the chain, which verification could not tell from rows never written.",
					   NULL);
		}
	}
}

/*
 * check_drop_owned
 *		DROP OWNED BY drops the partitions those roles own.
 */
static void
check_drop_owned(DropOwnedStmt *stmt)
{
	List	   *roles = NIL;
	ListCell   *lc;

	foreach(lc, stmt->roles)
	{
		Oid			role = get_rolespec_oid(lfirst(lc), true);

		if (OidIsValid(role))
			roles = lappend_oid(roles, role);
	}
	check_partitions_dropped(NIL, roles);
}

/*
 * check_drop
 *		DROP INDEX of the chain index (its table cannot be read from the
 *		catalog any more at sql_drop time), DROP TABLE of a partition of a
 *		chained table, DROP SCHEMA of a schema holding one, and DROP EXTENSION
 *		while tables are chained or audit_chain.events is under legal hold.
 */
static void
check_drop(DropStmt *stmt)
{
	ListCell   *lc;

	if (stmt->removeType == OBJECT_EXTENSION)
	{
		foreach(lc, stmt->objects)
		{
			ListCell   *lc2;

			if (strcmp(strVal(lfirst(lc)), "audit_chain") != 0)
				continue;
			/* the events would go with it, and the record of the hold too */
			if (ac_legal_hold_active(ac_extension_relid("events")))
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("cannot drop extension audit_chain while audit_chain.events is under legal hold"),
						 errdetail("Dropping the extension drops the events, and the record of the hold with them."),
						 errhint("Release the hold first with audit_chain.legal_hold('audit_chain.events', false, reason).")));
			if (!guard_loaded)
				load_chained();
			foreach(lc2, guard_chained)
			{
				Oid			relid = lfirst_oid(lc2);

				if (is_extension_table(relid))
					continue;	/* audit_chain.events goes with it */
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("cannot drop extension audit_chain while tables are chained"),
						 errdetail("Dropping it would remove the triggers that seal and guard those tables (audit_chain.events is dropped with the extension)."),
						 errhint("Call audit_chain.unprotect() on each table in audit_chain.chains first.")));
			}
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

	if (stmt->removeType == OBJECT_SCHEMA)
	{
		List	   *nsps = NIL;

		foreach(lc, stmt->objects)
		{
			Oid			nsp = get_namespace_oid(strVal(lfirst(lc)), true);

			if (OidIsValid(nsp))
				nsps = lappend_oid(nsps, nsp);
		}
		check_partitions_dropped(nsps, NIL);
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
 * check_set_schema
 *		ALTER TABLE ... SET SCHEMA of one of the extension's own tables.
 */
static void
check_set_schema(AlterObjectSchemaStmt *stmt)
{
	Oid			relid;

	if (stmt->objectType != OBJECT_TABLE || stmt->relation == NULL)
		return;
	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	if (OidIsValid(relid) && is_extension_table(relid) && !in_install_script())
		refuse_extension_table(relid);
}

/*
 * check_extension_contents
 *		ALTER EXTENSION audit_chain DROP TABLE of one of its own tables: the
 *		table would then be a table like any other, which ALTER TABLE could
 *		change, and pg_dump would dump it whole next to the extension's
 *		script, which makes it again.
 */
static void
check_extension_contents(AlterExtensionContentsStmt *stmt)
{
	Oid			relid;

	if (stmt->action >= 0 || strcmp(stmt->extname, "audit_chain") != 0 ||
		stmt->objtype != OBJECT_TABLE)
		return;
	relid = RangeVarGetRelid(makeRangeVarFromNameList(castNode(List, stmt->object)),
							 NoLock, true);
	if (OidIsValid(relid) && is_extension_table(relid) && !in_install_script())
		refuse_extension_table(relid);
}

/*
 * ddl_guard
 *		Event trigger function, ddl_command_start: refuses DDL that would
 *		break the verification of a chained table.  Runs with the caller's
 *		search_path, which the names in the command are looked up in.
 */
PG_FUNCTION_INFO_V1(audit_chain_ddl_guard);
Datum
audit_chain_ddl_guard(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	Node	   *parsetree;
	ListCell   *lc;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ddl_guard: must be called as an event trigger")));

	trigdata = (EventTriggerData *) fcinfo->context;
	parsetree = trigdata->parsetree;
	guard_begin();

	switch (nodeTag(parsetree))
	{
		case T_AlterTableStmt:
			list_free(guard_attached);
			guard_attached = NIL;
			ac_restore_check_alter_table((AlterTableStmt *) parsetree);
			check_alter_table((AlterTableStmt *) parsetree);
			break;
		case T_RenameStmt:
			check_rename((RenameStmt *) parsetree);
			break;
		case T_CreateTrigStmt:
			check_create_trigger((CreateTrigStmt *) parsetree);
			break;
		case T_RuleStmt:
			check_create_rule((RuleStmt *) parsetree);
			break;
		case T_ViewStmt:
			check_create_view((ViewStmt *) parsetree);
			break;
		case T_AlterEnumStmt:
			check_alter_enum((AlterEnumStmt *) parsetree);
			break;
		case T_AlterObjectSchemaStmt:
			check_set_schema((AlterObjectSchemaStmt *) parsetree);
			break;
		case T_DropStmt:
			check_drop((DropStmt *) parsetree);
			break;
		case T_DropOwnedStmt:
			check_drop_owned((DropOwnedStmt *) parsetree);
			break;
		case T_CreateStmt:
			check_create_table((CreateStmt *) parsetree, false);
			break;
		case T_CreateSchemaStmt:
			ac_restore_check_create_schema((CreateSchemaStmt *) parsetree);
			foreach(lc, ((CreateSchemaStmt *) parsetree)->schemaElts)
			{
				if (IsA(lfirst(lc), CreateStmt))
					check_create_table(lfirst_node(CreateStmt, lc), false);
			}
			break;
		case T_CreateForeignTableStmt:
			check_create_table(&((CreateForeignTableStmt *) parsetree)->base, true);
			break;
		case T_AlterExtensionContentsStmt:
			check_extension_contents((AlterExtensionContentsStmt *) parsetree);
			break;
		default:
			break;
	}
	guard_begin();
	PG_RETURN_VOID();
}

/*
 * refuse_drop
 *		Raise the error for a dropped object of a chained table.
 */
static void
refuse_drop(const char *kind, const char *identity, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot drop %s %s, which belongs to a chained table",
					kind, identity),
			 errdetail("%s", detail),
			 ac_replaying_dump() ?
			 errhint("To restore a dump, restore it into a new database made with \"createdb -T template0\", not over this one (pg_restore --clean).") :
			 errhint("Call audit_chain.unprotect() on the table first; unprotect is recorded.")));
}

/*
 * drop_guard
 *		Event trigger function, sql_drop: refuses drops of chained tables,
 *		their columns and their chain triggers (by raising an error, which
 *		undoes the drop), however they were dropped: DROP TABLE, DROP COLUMN,
 *		DROP TRIGGER, DROP SCHEMA ... CASCADE, DROP TYPE ... CASCADE.
 */
PG_FUNCTION_INFO_V1(audit_chain_drop_guard);
Datum
audit_chain_drop_guard(PG_FUNCTION_ARGS)
{
	int			ret;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("drop_guard: must be called as an event trigger")));
	guard_begin();

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ret = SPI_execute("SELECT objid, object_type, object_identity, "
					  "address_names[1], address_names[2], address_names[3] "
					  "FROM pg_catalog.pg_event_trigger_dropped_objects()",
					  true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	tupdesc = SPI_tuptable->tupdesc;
		bool		isnull;
		Oid			objid = DatumGetObjectId(SPI_getbinval(tup, tupdesc, 1, &isnull));
		char	   *type = SPI_getvalue(tup, tupdesc, 2);
		char	   *identity = SPI_getvalue(tup, tupdesc, 3);

		if (type == NULL)
			continue;
		if (strcmp(type, "table") == 0 || strcmp(type, "table column") == 0)
		{
			if (!isnull && is_chained(objid))
				refuse_drop(strcmp(type, "table") == 0 ? "table" : "column",
							identity ? identity : "?",
							"Dropping it would make the chain unverifiable.");
		}

		/*
		 * A column dropped from a composite type or a table (DROP TYPE or
		 * DROP DOMAIN ... CASCADE drops the attributes that use the type)
		 * changes the text of every value of its row type, which a column of
		 * a chained table may use.  If the relation went too, so did any
		 * column using its row type, which the above catches.
		 */
		if (!isnull && strlen(type) > strlen(" column") &&
			strcmp(type + strlen(type) - strlen(" column"), " column") == 0)
			refuse_type_change(get_rel_type_id(objid), "row type");
		else if (strcmp(type, "trigger") == 0)
		{
			char	   *nspname = SPI_getvalue(tup, tupdesc, 4);
			char	   *relname = SPI_getvalue(tup, tupdesc, 5);
			char	   *tgname = SPI_getvalue(tup, tupdesc, 6);
			Oid			nsp;
			Oid			relid;

			if (nspname == NULL || relname == NULL || !ac_is_chain_trigger(tgname))
				continue;
			/* the table is gone too if it was dropped with its triggers */
			nsp = get_namespace_oid(nspname, true);
			relid = OidIsValid(nsp) ? get_relname_relid(relname, nsp) : InvalidOid;
			if (OidIsValid(relid) && OidIsValid(chain_root_of(relid)))
				refuse_drop("trigger", identity ? identity : "?",
							"The triggers seal rows into the chain and refuse UPDATE, DELETE and TRUNCATE.");
		}
	}
	SPI_finish();
	guard_begin();
	PG_RETURN_VOID();
}

/*
 * add_truncate_trigger
 *		Create the statement trigger that refuses TRUNCATE on partition relid
 *		of a chained table.  It is created as the owner of the registry, so
 *		that it does not depend on the privileges of the role that made the
 *		partition (EXECUTE on audit_chain.refuse_truncate() in particular).
 */
static void
add_truncate_trigger(Oid relid)
{
	ac_create_statement_trigger_as(ac_rel_owner(ac_extension_relid("chains")),
								   relid, AC_TRUNCATE_TRIGGER, "refuse_truncate",
								   NIL, TRIGGER_TYPE_BEFORE,
								   TRIGGER_TYPE_TRUNCATE);
}

/*
 * table_has_rows
 *		True if relid (a plain table) holds a row visible to a new snapshot.
 */
static bool
table_has_rows(Oid relid)
{
	Relation	rel = table_open(relid, AccessShareLock);
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	TableScanDesc scan = table_beginscan(rel, snapshot, 0, NULL);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	bool		result;

	result = table_scan_getnextslot(scan, ForwardScanDirection, slot);
	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
	return result;
}

/*
 * truncate_trigger_state
 *		Whether relid has the trigger that refuses TRUNCATE: 0 if it has no
 *		trigger of that name, 1 if it has audit_chain's (BEFORE TRUNCATE, FOR
 *		EACH STATEMENT, calling audit_chain.refuse_truncate(), enabled), -1 if
 *		it has another of the same name, which its owner could have made
 *		before attaching it.
 */
static int
truncate_trigger_state(Oid relid)
{
	Relation	tgrel = table_open(TriggerRelationId, AccessShareLock);
	ScanKeyData keys[2];
	SysScanDesc scan;
	HeapTuple	tup;
	int			result = 0;

	ScanKeyInit(&keys[0], Anum_pg_trigger_tgrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	ScanKeyInit(&keys[1], Anum_pg_trigger_tgname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum(AC_TRUNCATE_TRIGGER));
	scan = systable_beginscan(tgrel, TriggerRelidNameIndexId, true, NULL, 2, keys);
	if (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_trigger tg = (Form_pg_trigger) GETSTRUCT(tup);
		Oid			func = LookupFuncName(list_make2(makeString("audit_chain"),
													 makeString("refuse_truncate")),
										  0, NULL, true);

		result = (OidIsValid(func) && tg->tgfoid == func &&
				  tg->tgtype == (TRIGGER_TYPE_BEFORE | TRIGGER_TYPE_TRUNCATE) &&
				  (tg->tgenabled == TRIGGER_FIRES_ON_ORIGIN ||
				   tg->tgenabled == TRIGGER_FIRES_ALWAYS)) ? 1 : -1;
	}
	systable_endscan(scan);
	table_close(tgrel, AccessShareLock);
	return result;
}

/*
 * check_new_partition
 *		Refuse a partition that is new to chained table root (made by this
 *		command, or attached by it) if it is something a chained table may
 *		not be: unlogged, with rules, with a BEFORE ROW trigger that fires
 *		after the seal trigger, or, for a plain table, with rows.  A table
 *		made with CREATE TABLE ... PARTITION OF is empty, but CREATE SCHEMA
 *		can give it rules and triggers in the same command; an attached one
 *		brings whatever it had.
 */
static void
check_new_partition(Oid part, Oid root)
{
	Relation	rel;
	TriggerDesc *trigdesc;

	/* an unlogged partition is emptied by a crash, its rows with it */
	if (get_rel_persistence(part) != RELPERSISTENCE_PERMANENT)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot make unlogged table \"%s\" a partition of chained table \"%s\"",
						get_rel_name(part), get_rel_name(root)),
				 errdetail("An unlogged table is emptied after a crash, which would lose the audit trail."),
				 errhint("Make it logged first with ALTER TABLE ... SET LOGGED.")));

	rel = table_open(part, AccessShareLock);
	if (rel->rd_rel->relhasrules)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot make table \"%s\", which has rules, a partition of chained table \"%s\"",
						get_rel_name(part), get_rel_name(root)),
				 errdetail("A rule can rewrite or swallow the statements that write the table (DO INSTEAD NOTHING drops rows without an error), so rows would go unsealed or unwritten."),
				 errhint("Drop the rules first.")));
	trigdesc = rel->trigdesc;
	for (int i = 0; trigdesc != NULL && i < trigdesc->numtriggers; i++)
	{
		Trigger    *tg = &trigdesc->triggers[i];

		if (ac_trigger_fires_after_seal(tg->tgtype, tg->tgname, AC_SEAL_TRIGGER))
			refuse_late_trigger(part, tg->tgname);
	}
	table_close(rel, AccessShareLock);

	if (get_rel_relkind(part) == RELKIND_RELATION && table_has_rows(part))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot attach table \"%s\", which has rows, to chained table \"%s\"",
						get_rel_name(part), get_rel_name(root)),
				 errdetail("Its rows were not sealed into the chain."),
				 errhint("Attach an empty table and insert the rows through the chained table.")));
}

/*
 * partition_guard
 *		Event trigger function, ddl_command_end (CREATE TABLE, ALTER TABLE):
 *		statement triggers are not cloned to partitions, so give every
 *		partition of a chained table that the command made or attached the
 *		trigger that refuses TRUNCATE.  An attached table must be empty.
 */
PG_FUNCTION_INFO_V1(audit_chain_partition_guard);
Datum
audit_chain_partition_guard(PG_FUNCTION_ARGS)
{
	MemoryContext outer = CurrentMemoryContext;
	EventTriggerData *trigdata;
	List	   *relids = NIL;
	List	   *attached = NIL;
	ListCell   *lc;
	bool		attach = false;
	int			ret;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("partition_guard: must be called as an event trigger")));
	trigdata = (EventTriggerData *) fcinfo->context;
	guard_begin();

	/*
	 * Only CREATE TABLE (also inside CREATE SCHEMA) and ALTER TABLE ...
	 * ATTACH PARTITION make partitions.  Other ALTER TABLEs on a chained
	 * table are left alone: pg_restore runs some (ADD CONSTRAINT) on loaded
	 * partitions before it creates their triggers.
	 */
	if (IsA(trigdata->parsetree, AlterTableStmt))
	{
		foreach(lc, ((AlterTableStmt *) trigdata->parsetree)->cmds)
			if (lfirst_node(AlterTableCmd, lc)->subtype == AT_AttachPartition)
				attach = true;
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ret = SPI_execute("SELECT classid, objid, command_tag "
					  "FROM pg_catalog.pg_event_trigger_ddl_commands()",
					  true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull1,
					isnull2;
		Oid			classid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
															 SPI_tuptable->tupdesc, 1, &isnull1));
		Oid			objid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
														   SPI_tuptable->tupdesc, 2, &isnull2));
		char	   *tag = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3);
		MemoryContext spicxt;

		if (isnull1 || isnull2 || classid != RelationRelationId || tag == NULL)
			continue;
		if (strcmp(tag, "CREATE TABLE") != 0 &&
			!(attach && strcmp(tag, "ALTER TABLE") == 0))
			continue;
		spicxt = MemoryContextSwitchTo(outer);
		relids = list_append_unique_oid(relids, objid);
		MemoryContextSwitchTo(spicxt);
	}
	SPI_finish();

	/* the tables ATTACH attached, and what they brought along */
	if (attach)
	{
		foreach(lc, guard_attached)
		{
			Oid			a = lfirst_oid(lc);

			if (OidIsValid(get_rel_relkind(a)))
				attached = list_concat_unique_oid(attached,
												  find_all_inheritors(a, NoLock, NULL));
		}
	}
	list_free(guard_attached);
	guard_attached = NIL;

	foreach(lc, relids)
	{
		Oid			relid = lfirst_oid(lc);
		char		relkind = get_rel_relkind(relid);
		List	   *tree;
		ListCell   *lc2;

		if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
			continue;
		if (!OidIsValid(chain_root_of(relid)))
			continue;
		/* the table, and below it anything it brought along (ATTACH) */
		tree = find_all_inheritors(relid, NoLock, NULL);
		foreach(lc2, tree)
		{
			Oid			part = lfirst_oid(lc2);
			int			state;

			relkind = get_rel_relkind(part);
			if ((relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE) ||
				!get_rel_relispartition(part))
				continue;
			state = truncate_trigger_state(part);
			if (state < 0)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("trigger \"%s\" on partition \"%s\" of chained table \"%s\" is not audit_chain's",
								AC_TRUNCATE_TRIGGER, get_rel_name(part),
								get_rel_name(chain_root_of(part))),
						 errdetail("The trigger of that name must refuse TRUNCATE with audit_chain.refuse_truncate()."),
						 errhint("Drop the trigger before making the table a partition.")));

			/*
			 * A partition without the trigger is new to the chain (protect()
			 * gives every partition it finds one), and so is one this ATTACH
			 * brought, trigger or not: its rows, if any, were never sealed,
			 * yet would read as part of the chain.
			 */
			if (state > 0 && !list_member_oid(attached, part))
				continue;
			check_new_partition(part, chain_root_of(part));
			if (state == 0)
				add_truncate_trigger(part);
		}
	}
	guard_begin();
	PG_RETURN_VOID();
}

/*
 * refuse_shape
 *		Raise the error for a table protect() may not chain as it is.
 */
static void
refuse_shape(Oid relid, const char *what, const char *detail, const char *hint)
	pg_attribute_noreturn();

static void
refuse_shape(Oid relid, const char *what, const char *detail, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot protect \"%s\", which %s", get_rel_name(relid), what),
			 errdetail("%s", detail),
			 errhint("%s", hint)));
}

/*
 * ac_check_protectable_shape
 *		Refuse, before protect() changes anything, a table that the DDL guard
 *		would not let a chained table become: an inheritance child or parent,
 *		a typed table, a table with rules, a partitioned table with a foreign
 *		partition or with a partition that is any of these.  (Column types
 *		are ac_check_column_type()'s.)  For protect().
 */
void
ac_check_protectable_shape(Oid relid)
{
	List	   *tree;
	ListCell   *lc;

	/* an inheritance parent of its own (a partition is refused elsewhere) */
	if (!get_rel_relispartition(relid))
	{
		Relation	inhrel = table_open(InheritsRelationId, AccessShareLock);
		ScanKeyData key;
		SysScanDesc scan;
		HeapTuple	tup;
		Oid			parent = InvalidOid;

		ScanKeyInit(&key, Anum_pg_inherits_inhrelid, BTEqualStrategyNumber,
					F_OIDEQ, ObjectIdGetDatum(relid));
		scan = systable_beginscan(inhrel, InheritsRelidSeqnoIndexId, true,
								  NULL, 1, &key);
		if (HeapTupleIsValid(tup = systable_getnext(scan)))
			parent = ((Form_pg_inherits) GETSTRUCT(tup))->inhparent;
		systable_endscan(scan);
		table_close(inhrel, AccessShareLock);
		if (OidIsValid(parent))
			refuse_shape(relid, "inherits from another table",
						 "Commands on the parent would reach the chained table through it: a column renamed, retyped or added with a default there changes what old rows hash to.",
						 "Detach it first with ALTER TABLE ... NO INHERIT.");
	}

	tree = find_all_inheritors(relid, NoLock, NULL);
	foreach(lc, tree)
	{
		Oid			member = lfirst_oid(lc);
		HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(member));
		Form_pg_class form;
		char		relkind;
		bool		relispartition;
		bool		hasrules;
		Oid			oftype;

		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for relation %u", member);
		form = (Form_pg_class) GETSTRUCT(tup);
		relkind = form->relkind;
		relispartition = form->relispartition;
		hasrules = form->relhasrules;
		oftype = form->reloftype;
		ReleaseSysCache(tup);

		if (member != relid && !relispartition)
			refuse_shape(relid, "has inheritance children",
						 "Reading the chained table would include the children's rows, which are not sealed into the chain.",
						 "Detach them first with ALTER TABLE ... NO INHERIT.");
		if (relkind == RELKIND_FOREIGN_TABLE)
			refuse_shape(relid, "has a foreign partition",
						 "The rows of a foreign table live on another server, out of reach of the triggers that seal and guard the chain.",
						 "Detach the foreign partition first.");
		if (hasrules)
			refuse_shape(relid, member == relid ? "has rules" : "has a partition with rules",
						 "A rule can rewrite or swallow the statements that write the table (DO INSTEAD NOTHING drops rows without an error), so rows would go unsealed or unwritten.",
						 "Drop the rules first.");
		if (OidIsValid(oftype))
			refuse_shape(relid, member == relid ? "is a typed table" : "has a typed partition",
						 "ALTER TYPE ... CASCADE on the type would reach the chained table: an attribute dropped, retyped or renamed there changes what old rows hash to.",
						 "Make it an ordinary table first with ALTER TABLE ... NOT OF.");
	}
	list_free(tree);
}
