/*-------------------------------------------------------------------------
 *
 * restore.c
 *	  Restores of a dump: the ways that cannot work, refused early and
 *	  with an error that says what to do instead.
 *
 * A restore of the whole dump into a new database works: pg_dump's script
 * makes the extension (which makes its tables, the lanes of
 * audit_chain.events and audit_chain.boundaries, and their triggers), loads
 * every row the extension keeps (pg_extension_config_dump) with those
 * triggers on, which keep the rows of the dump as sealed, loads the rows of
 * the chained tables and of their archive tables, and only then, after all
 * the data, makes the triggers of the chained and archive tables.  Two
 * other ways cannot give back what was dumped, and would leave a database
 * that looks restored:
 *	- a restore into a database that has the extension already: CREATE
 *	  EXTENSION made the lanes, and whatever was written since would clash
 *	  with the restored rows or be mixed into the restored chains;
 *	- a data-only restore (pg_restore --data-only into a database whose
 *	  schema, triggers included, is there already, with or without
 *	  --disable-triggers): the rows of the chained tables would load before
 *	  the registry that says what their lanes are, through triggers that
 *	  take rows only from audit_chain itself.  (A restore in sections,
 *	  pre-data, data, then post-data, makes the triggers after the data, as
 *	  a whole restore does, and works.)
 * Both are told apart from a full restore by what they run into while a
 * dump is replayed: CREATE SCHEMA audit_chain when the extension is there,
 * and a row or a DISABLE TRIGGER reaching a chained or archive table.
 *
 * IDENTIFICATION
 *	  src/restore.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "restore.h"

#define SEAL_TRIGGER_NAME		"zz_audit_chain_seal"
#define ARCHIVE_GUARD_NAME		"zz_audit_chain_archive_guard"

/*
 * ac_replaying_dump
 *		True while a superuser replays a dump: pg_dump's scripts and
 *		pg_restore set check_function_bodies = off.  The session must act as
 *		a superuser, not only the function running (see events.c).
 */
bool
ac_replaying_dump(void)
{
	return !check_function_bodies && superuser() && superuser_arg(GetOuterUserId());
}

/*
 * ac_restore_check_create_schema
 *		ddl_guard, CREATE SCHEMA: a dump being replayed makes schema
 *		audit_chain (the extension's schema is not one of its members, so
 *		pg_dump dumps it) in a database that has the extension already.
 */
void
ac_restore_check_create_schema(CreateSchemaStmt *stmt)
{
	if (stmt->if_not_exists || stmt->schemaname == NULL ||
		strcmp(stmt->schemaname, "audit_chain") != 0 ||
		!ac_replaying_dump() ||
		!OidIsValid(get_extension_oid("audit_chain", true)))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot restore a dump of audit_chain into database \"%s\", which has the extension already",
					get_database_name(MyDatabaseId)),
			 errdetail("The dump makes the extension and loads every row it keeps; the rows CREATE EXTENSION made here, and any written since, would clash with them or be mixed into the restored chains."),
			 errhint("Restore into a new database made with \"createdb -T template0\", stopping at the first error (pg_restore --exit-on-error, or psql -v ON_ERROR_STOP=1).")));
}

/*
 * has_trigger
 *		Whether relation rel has a trigger named name.
 */
static bool
has_trigger(Relation rel, const char *name)
{
	TriggerDesc *td = rel->trigdesc;

	if (td == NULL)
		return false;
	for (int i = 0; i < td->numtriggers; i++)
	{
		if (strcmp(td->triggers[i].tgname, name) == 0)
			return true;
	}
	return false;
}

/*
 * ac_refuse_data_only_restore
 *		Raise the error for rows of a dump loaded into chained table (or
 *		archive table) rel while its triggers are there: a data-only
 *		restore.
 */
void
ac_refuse_data_only_restore(Relation rel)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("cannot restore the rows of table \"%s\" into a table that audit_chain guards already",
					RelationGetRelationName(rel)),
			 errdetail("A data-only restore (pg_restore --data-only, with or without --disable-triggers) into tables whose triggers are made already loads the rows of chained and archive tables before, or without, the registry of their lanes, so the restored chains could not be trusted to be whole."),
			 errhint("Restore the whole dump, schema and data, into a new database made with \"createdb -T template0\".")));
}

/*
 * ac_restore_check_alter_table
 *		ddl_guard, ALTER TABLE: pg_restore --data-only --disable-triggers
 *		turns off the triggers of each table before loading it (DISABLE
 *		TRIGGER ALL, or USER as a non-superuser); of a chained
 *		table, an archive table or one of the extension's own tables, that is
 *		a data-only restore, refused at its first table.
 */
void
ac_restore_check_alter_table(AlterTableStmt *stmt)
{
	ListCell   *lc;
	Oid			relid;
	Relation	rel;
	bool		guarded;

	if (!ac_replaying_dump() || stmt->relation == NULL)
		return;
	/*
	 * ALL or USER, what --disable-triggers runs.  A trigger disabled by name
	 * is the user's own trigger, disabled in the database dumped (a chain
	 * trigger cannot be), which a whole restore disables again.
	 */
	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		if (cmd->subtype == AT_DisableTrigAll ||
			cmd->subtype == AT_DisableTrigUser)
			break;
	}
	if (lc == NULL)
		return;
	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	if (!OidIsValid(relid))
		return;
	rel = relation_open(relid, AccessShareLock);
	guarded = has_trigger(rel, SEAL_TRIGGER_NAME) ||
		has_trigger(rel, ARCHIVE_GUARD_NAME) ||
		(OidIsValid(get_extension_oid("audit_chain", true)) &&
		 getExtensionOfObject(RelationRelationId, relid) ==
		 get_extension_oid("audit_chain", true));
	if (guarded)
		ac_refuse_data_only_restore(rel);
	relation_close(rel, AccessShareLock);
}

/*
 * ac_restore_check_row
 *		The seal trigger of a chained table (not one of the extension's own
 *		tables, whose triggers CREATE EXTENSION makes before their rows are
 *		restored) receives a sealed row while a dump is replayed: in a full
 *		restore the trigger is made after the data, so this is a data-only
 *		restore.
 */
void
ac_restore_check_row(Relation rel, HeapTuple tuple)
{
	/* the last table asked about: a restore loads a table's rows in a row */
	static Oid	last_relid = InvalidOid;
	static bool last_member = false;
	int			att;

	if (!ac_replaying_dump())
		return;
	att = SPI_fnumber(RelationGetDescr(rel), "chain_hash");
	if (att <= 0 || heap_attisnull(tuple, att, RelationGetDescr(rel)))
		return;
	if (RelationGetRelid(rel) != last_relid)
	{
		Oid			ext = get_extension_oid("audit_chain", true);

		last_member = OidIsValid(ext) &&
			getExtensionOfObject(RelationRelationId, RelationGetRelid(rel)) == ext;
		last_relid = RelationGetRelid(rel);
	}
	if (!last_member)
		ac_refuse_data_only_restore(rel);
}
