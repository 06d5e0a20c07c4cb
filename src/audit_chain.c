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

/*
 * _random_hash() RETURNS bytea
 *		32 bytes from the server's strong random source: a lane's genesis.
 */
PG_FUNCTION_INFO_V1(_random_hash);
Datum
_random_hash(PG_FUNCTION_ARGS)
{
	bytea	   *result = palloc(VARHDRSZ + AC_HASH_LEN);

	SET_VARSIZE(result, VARHDRSZ + AC_HASH_LEN);
	if (!pg_strong_random(VARDATA(result), AC_HASH_LEN))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random bytes for a genesis hash")));
	PG_RETURN_BYTEA_P(result);
}
