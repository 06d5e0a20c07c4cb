/*-------------------------------------------------------------------------
 *
 * ddl.h
 *	  The DDL guard's checks that protect() shares.
 *
 * IDENTIFICATION
 *	  src/ddl.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_CHAIN_DDL_H
#define AUDIT_CHAIN_DDL_H

extern void ac_check_protectable_shape(Oid relid);
extern void ac_ddl_permit_detach(Oid parent);

#endif							/* AUDIT_CHAIN_DDL_H */
