/*-------------------------------------------------------------------------
 *
 * registry.h
 *	  The extension's own tables: finding them, and writing them on behalf
 *	  of other roles.
 *
 * IDENTIFICATION
 *	  src/registry.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_CHAIN_REGISTRY_H
#define AUDIT_CHAIN_REGISTRY_H

#include "executor/spi.h"
#include "nodes/pg_list.h"

extern Oid	ac_extension_relid(const char *relname);
extern char *ac_vformat_in(MemoryContext cxt, const char *fmt, va_list args)
			pg_attribute_printf(2, 0);
extern Oid	ac_rel_owner(Oid relid);
extern Oid	ac_table_owner(const char *relname, bool missing_ok);
extern int	ac_execute_as(Oid owner, SPIPlanPtr plan, const char *sql, int nargs,
						  Oid *argtypes, Datum *args, const char *nulls);
extern int	ac_execute_as_ro(Oid owner, SPIPlanPtr plan, const char *sql, int nargs,
							 Oid *argtypes, Datum *args, const char *nulls,
							 bool read_only);

extern void ac_create_statement_trigger_as(Oid owner, Oid relid,
										   const char *trigname,
										   const char *funcname, List *args,
										   int16 timing, int16 events);

#endif							/* AUDIT_CHAIN_REGISTRY_H */
