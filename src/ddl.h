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

#endif							/* AUDIT_CHAIN_DDL_H */
