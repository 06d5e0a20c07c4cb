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

extern void ac_events_init(void);

#endif							/* AUDIT_CHAIN_EVENTS_H */
