/*-------------------------------------------------------------------------
 *
 * retention.h
 *	  Retention policies and legal holds of chained tables, for the code
 *	  that archives, purges or redacts their rows.
 *
 * IDENTIFICATION
 *	  src/retention.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_CHAIN_RETENTION_H
#define AUDIT_CHAIN_RETENTION_H

/*
 * The lock legal_hold() and set_retention() take on the table: it conflicts
 * with itself (and with DDL) but not with readers and writers.  Code that
 * must not act on a table under hold (archive, purge, redaction) takes it
 * too before it calls ac_legal_hold_active(), so that a hold placed
 * meanwhile is either committed and seen, or waits for that code's
 * transaction to end.
 */
#define AC_RETENTION_LOCKMODE	ShareUpdateExclusiveLock

extern char *ac_check_table_owner(Oid relid);
extern bool ac_legal_hold_active(Oid relid);
extern void ac_check_no_legal_hold(Oid relid, const char *action);
extern void ac_retention_forget(Oid relid, const char *display);

#endif							/* AUDIT_CHAIN_RETENTION_H */
