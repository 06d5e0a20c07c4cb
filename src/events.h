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

#include "access/xact.h"
#include "nodes/nodes.h"

extern void ac_events_xact_callback(XactEvent event, void *arg);
extern void ac_events_subxact_callback(SubXactEvent event,
									   SubTransactionId mySubid,
									   SubTransactionId parentSubid,
									   void *arg);
extern const char *ac_events_role_command(Node *parsetree, char **role);
extern void ac_events_role_changed(const char *command, const char *role);

#endif							/* AUDIT_CHAIN_EVENTS_H */
