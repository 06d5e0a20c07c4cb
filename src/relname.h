/*-------------------------------------------------------------------------
 *
 * relname.h
 *	  Relations in words: quoted names for SQL text and messages, and kinds.
 *
 * IDENTIFICATION
 *	  src/relname.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_CHAIN_RELNAME_H
#define AUDIT_CHAIN_RELNAME_H

extern char *ac_quote_relname(Oid nspid, const char *relname,
							  bool for_display);
extern char *ac_qualified_relname(Oid relid);
extern char *ac_display_relname(Oid relid);
extern const char *ac_relkind_name(char relkind);

#endif							/* AUDIT_CHAIN_RELNAME_H */
