/*-------------------------------------------------------------------------
 *
 * guc.h
 *	  Settings of audit_chain.
 *
 * IDENTIFICATION
 *	  src/guc.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_CHAIN_GUC_H
#define AUDIT_CHAIN_GUC_H

extern int	ac_archive_delay;
extern char *ac_signing_key_file;

extern void ac_guc_init(void);

#endif							/* AUDIT_CHAIN_GUC_H */
