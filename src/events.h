/*-------------------------------------------------------------------------
 *
 * events.h
 *	  Events the extension writes itself into audit_chain.events.
 *
 * IDENTIFICATION
 *	  src/events.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_CHAIN_EVENTS_H
#define AUDIT_CHAIN_EVENTS_H

#include "nodes/nodes.h"

extern void ac_events_queue_admin(const char *action, const char *resource,
								  const char *details_json);
extern void ac_events_flush_pending(void);
extern void ac_events_refuse_prepare(void);
extern void ac_events_at_eoxact(void);
extern void ac_events_at_eosubxact(bool is_commit, SubTransactionId mySubid,
								   SubTransactionId parentSubid);
extern const char *ac_events_role_command(Node *parsetree, char **role);
extern void ac_events_role_changed(const char *command, const char *role);

#endif							/* AUDIT_CHAIN_EVENTS_H */
