/*-------------------------------------------------------------------------
 *
 * restore.h
 *	  Restores of a dump: the ways that cannot work, refused early.
 *
 * IDENTIFICATION
 *	  src/restore.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_CHAIN_RESTORE_H
#define AUDIT_CHAIN_RESTORE_H

#include "nodes/parsenodes.h"
#include "utils/relcache.h"

extern bool ac_replaying_dump(void);
extern void ac_restore_check_create_schema(CreateSchemaStmt *stmt);
extern void ac_restore_check_alter_table(AlterTableStmt *stmt);
extern void ac_restore_check_row(Relation rel, HeapTuple tuple);
extern void ac_refuse_data_only_restore(Relation rel) pg_attribute_noreturn();

#endif							/* AUDIT_CHAIN_RESTORE_H */
