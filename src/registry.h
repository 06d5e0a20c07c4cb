/*-------------------------------------------------------------------------
 *
 * registry.h
 *	  Writing the extension's own tables on behalf of other roles.
 *
 * IDENTIFICATION
 *	  src/registry.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_CHAIN_REGISTRY_H
#define AUDIT_CHAIN_REGISTRY_H

#include "executor/spi.h"

extern Oid	ac_table_owner(const char *relname, bool missing_ok);
extern int	ac_execute_as(Oid owner, SPIPlanPtr plan, const char *sql, int nargs,
						  Oid *argtypes, Datum *args, const char *nulls);

#endif							/* AUDIT_CHAIN_REGISTRY_H */
