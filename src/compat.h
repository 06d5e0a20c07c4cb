/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Every tie of audit_chain's C code to a PostgreSQL major version.
 *
 * audit_chain is built and tested on PostgreSQL 15.  What the code uses
 * that differs between major versions is here, with a shim for each version
 * that needs one, so that a port to a new version starts in this file:
 *
 * - PostgreSQL 15 is the oldest version: InitMaterializedSRF (verify.c) and
 *   MarkGUCPrefixReserved (guc.c) appeared in 15, and the error below stops
 *   an older build with a clear message.
 * - The owner check of a relation: pg_class_ownercheck() in 15,
 *   object_ownercheck(RelationRelationId, ...) from 16, which removed the
 *   pg_*_ownercheck functions.  ac_table_ownercheck() is both.
 * - verify.c reads heapam's private page-at-a-time scan state (the fields
 *   of HeapScanDescData) to prefetch the next row; ac_heapscan_next_row()
 *   is the only place that does.
 *
 * Known ties of PostgreSQL 18, which is not supported yet: index_beginscan()
 * takes an IndexScanInstrumentation argument (lane.c), and
 * RelationGetPrimaryKeyIndex() a deferrable_ok argument (chaintable.c).
 *
 * Ties in what the code knows rather than in what it calls: ddl.c lists the
 * ALTER TABLE subcommands (AT_*) it refuses on chained tables, and those it
 * allows on the extension's own tables; a subcommand that a new version adds
 * is allowed on chained tables and refused on the extension's tables until
 * it is listed (17 added AT_SetExpression, which changes no hashed column).
 * lane.c finds INSERT ... ON CONFLICT by walking the plan tree, which
 * relies on where the planner puts ModifyTable nodes.
 *
 * Not code, so not here: the direct encoders of encode.c write the text of
 * numeric_out, inet_out/cidr_out and jsonb_out from the stored values, and
 * so depend on those output functions and on the on-disk formats of
 * numeric, inet and jsonb.  The encoders regression test compares them with
 * the server's own output functions.
 *
 * IDENTIFICATION
 *	  src/compat.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_CHAIN_COMPAT_H
#define AUDIT_CHAIN_COMPAT_H

#include "access/heapam.h"
#include "access/relscan.h"
#include "access/tableam.h"
#include "catalog/pg_class.h"
#include "storage/bufmgr.h"
#include "storage/bufpage.h"
#include "utils/acl.h"

#if PG_VERSION_NUM < 150000
#error "audit_chain requires PostgreSQL 15 or later"
#endif

/*
 * ac_table_ownercheck
 *		Whether roleid owns (or is a member of the owner of) relation relid.
 *		PostgreSQL 16 replaced pg_class_ownercheck(relid, roleid) with
 *		object_ownercheck(RelationRelationId, relid, roleid).
 */
static inline bool
ac_table_ownercheck(Oid relid, Oid roleid)
{
#if PG_VERSION_NUM >= 160000
	return object_ownercheck(RelationRelationId, relid, roleid);
#else
	return pg_class_ownercheck(relid, roleid);
#endif
}

/*
 * ac_heapscan_next_row
 *		The page and line pointer of the row that a heap scan in
 *		page-at-a-time mode returns next from its current page, or false if
 *		that row is on another page (or the scan is not in that mode).
 *
 * These are heapam internals, not an API: the fields of HeapScanDescData
 * (rs_base.rs_flags, rs_cbuf, rs_cindex, rs_ntuples, rs_vistuples) have
 * these names and meanings in 15 to 17, and may move in any major version.
 * Only the prefetch in verify.c uses this, and only as a hint: should it
 * answer false, verification is as right, only slower.
 */
static pg_attribute_always_inline bool
ac_heapscan_next_row(TableScanDesc scan, Page *page, ItemId *lp)
{
	HeapScanDesc hs = (HeapScanDesc) scan;

	if ((hs->rs_base.rs_flags & SO_ALLOW_PAGEMODE) == 0 ||
		hs->rs_cindex + 1 >= hs->rs_ntuples)
		return false;
	*page = BufferGetPage(hs->rs_cbuf);
	*lp = PageGetItemId(*page, hs->rs_vistuples[hs->rs_cindex + 1]);
	return true;
}

#endif							/* AUDIT_CHAIN_COMPAT_H */
