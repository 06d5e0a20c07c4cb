/*-------------------------------------------------------------------------
 *
 * audit_chain.c
 *	  Module entry point of the audit_chain extension.
 *
 * IDENTIFICATION
 *	  src/audit_chain.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "events.h"
#include "guc.h"
#include "hash.h"
#include "lane.h"
#include "seal.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * _PG_init
 *		Define the settings and register transaction and cache callbacks.
 *		Nothing here needs shared_preload_libraries.
 */
void
_PG_init(void)
{
	ac_guc_init();
	ac_events_init();
	ac_lane_init();
	ac_seal_init();
}

/*
 * version() RETURNS text
 *		The version of the loaded library, which may differ from the
 *		installed SQL version until ALTER EXTENSION ... UPDATE.
 */
PG_FUNCTION_INFO_V1(version);
Datum
version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(AUDIT_CHAIN_VERSION));
}
