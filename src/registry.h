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

extern Oid	ac_extension_relid(const char *relname);
extern Oid	ac_rel_owner(Oid relid);
extern Oid	ac_table_owner(const char *relname, bool missing_ok);
extern int	ac_execute_as(Oid owner, SPIPlanPtr plan, const char *sql, int nargs,
						  Oid *argtypes, Datum *args, const char *nulls);

#endif							/* AUDIT_CHAIN_REGISTRY_H */
