/*-------------------------------------------------------------------------
 *
 * admin.h
 *	  What an admin event says: the object, the grantees and privileges of
 *	  a GRANT or REVOKE, the roles and databases of the statements event
 *	  triggers do not see.
 *
 * IDENTIFICATION
 *	  src/admin.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AUDIT_CHAIN_ADMIN_H
#define AUDIT_CHAIN_ADMIN_H

#include "nodes/nodes.h"
#include "nodes/pg_list.h"

/* AdminEvent: one admin event, described but not yet queued */
typedef struct AdminEvent
{
	char	   *action;
	char	   *resource;		/* NULL if the statement named nothing */
	char	   *details;		/* JSON object text */
} AdminEvent;

struct CollectedCommand;

extern AdminEvent *ac_admin_describe_utility(Node *parsetree);
extern AdminEvent *ac_admin_describe_grant(struct CollectedCommand *cmd,
										   Node *parsetree);
extern AdminEvent *ac_admin_describe_defprivs(Node *parsetree);
extern AdminEvent *ac_admin_describe_drop_owned(Node *parsetree,
												List *grants);

#endif							/* AUDIT_CHAIN_ADMIN_H */
