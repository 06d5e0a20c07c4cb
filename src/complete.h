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

#include "nodes/plannodes.h"

extern void ac_complete_note_may_skip(void);
extern void ac_complete_note_statement(PlannedStmt *stmt);
extern void ac_complete_pre_commit(void);
extern void ac_complete_at_eoxact(void);

#endif							/* AUDIT_CHAIN_COMPLETE_H */
