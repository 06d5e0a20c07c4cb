/*-------------------------------------------------------------------------
 *
 * archive.h
 *	  Archive tables of chained tables, archive() and the purge.
 *
 * IDENTIFICATION
 *	  src/archive.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_CHAIN_ARCHIVE_H
#define AUDIT_CHAIN_ARCHIVE_H

extern Oid	ac_archive_live_table(Oid relid);
extern Oid	ac_archive_of(Oid relid);
extern Oid	ac_archive_root_of(Oid relid);

#endif							/* AUDIT_CHAIN_ARCHIVE_H */
