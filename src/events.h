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

struct AdminEvent;

extern void ac_events_queue_admin(const char *action, const char *resource,
								  const char *details_json);
extern void ac_events_flush_pending(void);
extern void ac_events_refuse_prepare(void);
extern void ac_events_at_eoxact(void);
extern void ac_events_at_eosubxact(bool is_commit, SubTransactionId mySubid,
								   SubTransactionId parentSubid);
extern void ac_events_utility_done(struct AdminEvent *ev);

#endif							/* AUDIT_CHAIN_EVENTS_H */
