/*-------------------------------------------------------------------------
 *
 * relname.c
 *	  Relations in words: quoted names for SQL text and messages, and kinds.
 *
 * The SQL the extension runs names a table by its schema-qualified, quoted
 * name, so that no search_path can make it another table; messages name it
 * as regclass shows it under the search_path every function of the
 * extension runs with (pg_catalog, pg_temp).
 *
 * IDENTIFICATION
 *	  src/relname.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "relname.h"

/*
 * ac_quote_relname
 *		The quoted name of relation relname in schema nspid: schema-qualified,
 *		for SQL text; or, if for_display, as regclass shows it under
 *		search_path = pg_catalog, pg_temp, which leaves out a temporary
 *		schema.  palloc'd.
 */
char *
ac_quote_relname(Oid nspid, const char *relname, bool for_display)
{
	if (for_display && isAnyTempNamespace(nspid))
		return pstrdup(quote_identifier(relname));
	return quote_qualified_identifier(get_namespace_name(nspid), relname);
}

/*
 * ac_qualified_relname
 *		The schema-qualified, quoted name of relation relid, for SQL text.
 */
char *
ac_qualified_relname(Oid relid)
{
	return ac_quote_relname(get_rel_namespace(relid), get_rel_name(relid),
							false);
}

/*
 * ac_display_relname
 *		The name of relation relid as regclass shows it to the extension's
 *		functions (search_path = pg_catalog, pg_temp): schema-qualified unless
 *		temporary.  For messages.
 */
char *
ac_display_relname(Oid relid)
{
	return ac_quote_relname(get_rel_namespace(relid), get_rel_name(relid),
							true);
}

/*
 * ac_relkind_name
 *		A relation kind that is not a table, in words, for error details.
 */
const char *
ac_relkind_name(char relkind)
{
	switch (relkind)
	{
		case RELKIND_VIEW:
			return "a view";
		case RELKIND_MATVIEW:
			return "a materialized view";
		case RELKIND_FOREIGN_TABLE:
			return "a foreign table";
		case RELKIND_SEQUENCE:
			return "a sequence";
		case RELKIND_INDEX:
			return "an index";
		case RELKIND_PARTITIONED_INDEX:
			return "a partitioned index";
		case RELKIND_COMPOSITE_TYPE:
			return "a composite type";
		case RELKIND_TOASTVALUE:
			return "a TOAST table";
		default:
			return "a relation of another kind";
	}
}
