/*-------------------------------------------------------------------------
 *
 * complete.h
 *	  The pre-commit check that every row a transaction sealed is in its
 *	  chained table.
 *
 * IDENTIFICATION
 *	  src/complete.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_CHAIN_COMPLETE_H
#define AUDIT_CHAIN_COMPLETE_H

#include "access/xact.h"
#include "nodes/plannodes.h"

extern void ac_complete_note_may_skip(void);
extern void ac_complete_note_statement(PlannedStmt *stmt);
extern void ac_complete_xact_callback(XactEvent event, void *arg);

#endif							/* AUDIT_CHAIN_COMPLETE_H */
