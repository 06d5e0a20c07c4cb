/*-------------------------------------------------------------------------
 *
 * admin.c
 *	  What an admin event says: the object, the grantees and the privileges
 *	  of a GRANT or REVOKE (role grants included), and the roles, databases,
 *	  tablespaces and event triggers of the statements event triggers do
 *	  not see.
 *
 * Two paths record admin events, and a statement takes exactly one of them:
 * - the event trigger ddl_log (events.c), for every statement whose command
 *	 tag fires event triggers on an object type they support; its GRANT and
 *	 REVOKE events are described here from the command PostgreSQL collected
 *	 (ac_admin_describe_grant), DROP OWNED as one event
 *	 (ac_admin_describe_drop_owned);
 * - the utility hook (audit_chain.c), for the others: role and database
 *	 statements, tablespaces, event triggers, REASSIGN OWNED, ALTER SYSTEM,
 *	 and GRANT, REVOKE, COMMENT, SECURITY LABEL, ALTER ... OWNER, RENAME and
 *	 DROP of a database, role, tablespace, event trigger or parameter
 *	 (ac_admin_describe_utility).  The split is standard_ProcessUtility's
 *	 own: a statement it hands to event triggers is never the hook's.
 *
 * Nothing here writes: the caller queues the event (events.c), and only
 * once the statement has succeeded.  No statement text is recorded (it can
 * hold a password); role options are named, a password's value never.
 *
 * IDENTIFICATION
 *	  src/admin.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_database.h"
#include "catalog/pg_foreign_data_wrapper.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_language.h"
#include "catalog/pg_largeobject.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/event_trigger.h"
#include "commands/tablespace.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "nodes/value.h"
#include "parser/parse_type.h"
#include "tcop/cmdtag.h"
#include "tcop/deparse_utility.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/aclchk_internal.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"

#include "admin.h"

/* At most this many objects are named in resource; details has them all */
#define RESOURCE_MAX_OBJECTS 10

/*
 * json_key
 *		Start "key": in a JSON object being built (a comma first if needed).
 */
static void
json_key(StringInfo buf, const char *key)
{
	if (buf->len > 1)
		appendStringInfoString(buf, ", ");
	escape_json(buf, key);
	appendStringInfoString(buf, ": ");
}

/*
 * json_text
 *		Append "key": "value" (or null).
 */
static void
json_text(StringInfo buf, const char *key, const char *value)
{
	json_key(buf, key);
	if (value == NULL)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, value);
}

/*
 * json_bool
 *		Append "key": true or false.
 */
static void
json_bool(StringInfo buf, const char *key, bool value)
{
	json_key(buf, key);
	appendStringInfoString(buf, value ? "true" : "false");
}

/*
 * json_array
 *		Append "key": [...] of a list of C strings.
 */
static void
json_array(StringInfo buf, const char *key, List *strings)
{
	ListCell   *lc;

	json_key(buf, key);
	appendStringInfoChar(buf, '[');
	foreach(lc, strings)
	{
		if (foreach_current_index(lc) > 0)
			appendStringInfoString(buf, ", ");
		escape_json(buf, (const char *) lfirst(lc));
	}
	appendStringInfoChar(buf, ']');
}

/*
 * details_start
 *		A new details object, with the command tag first.
 */
static StringInfo
details_start(const char *command_tag)
{
	StringInfo	buf = makeStringInfo();

	appendStringInfoChar(buf, '{');
	json_text(buf, "command_tag", command_tag);
	return buf;
}

/*
 * make_admin_event
 *		An AdminEvent of that action and resource; closes the details object.
 */
static AdminEvent *
make_admin_event(const char *action, const char *resource, StringInfo details)
{
	AdminEvent *ev = palloc0(sizeof(AdminEvent));

	appendStringInfoChar(details, '}');
	ev->action = pstrdup(action);
	ev->resource = resource ? pstrdup(resource) : NULL;
	ev->details = details->data;
	return ev;
}

/*
 * join_names
 *		The names of a list, joined by ", ", the first RESOURCE_MAX_OBJECTS
 *		of them and then how many more (for resource), or NULL if empty.
 */
static char *
join_names(List *names)
{
	StringInfoData buf;
	ListCell   *lc;

	if (names == NIL)
		return NULL;
	initStringInfo(&buf);
	foreach(lc, names)
	{
		int			i = foreach_current_index(lc);

		if (i == RESOURCE_MAX_OBJECTS)
		{
			appendStringInfo(&buf, " and %d more", list_length(names) - i);
			break;
		}
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, (const char *) lfirst(lc));
	}
	return buf.data;
}

/*
 * rolespec_text
 *		The role a RoleSpec names, or PUBLIC, without looking it up (the
 *		role may not exist, and describing a statement must not fail).
 */
static char *
rolespec_text(RoleSpec *spec)
{
	switch (spec->roletype)
	{
		case ROLESPEC_CSTRING:
			return pstrdup(spec->rolename);
		case ROLESPEC_CURRENT_ROLE:
		case ROLESPEC_CURRENT_USER:
			return GetUserNameFromId(GetUserId(), false);
		case ROLESPEC_SESSION_USER:
			return GetUserNameFromId(GetSessionUserId(), false);
		case ROLESPEC_PUBLIC:
			return pstrdup("PUBLIC");
	}
	return pstrdup("?");
}

/*
 * rolespec_names
 *		rolespec_text of each RoleSpec of a list.
 */
static List *
rolespec_names(List *specs)
{
	List	   *names = NIL;
	ListCell   *lc;

	foreach(lc, specs)
		names = lappend(names, rolespec_text(lfirst_node(RoleSpec, lc)));
	return names;
}

/*
 * role_oid_names
 *		The names of a list of role OIDs (ACL_ID_PUBLIC is PUBLIC).
 */
static List *
role_oid_names(List *oids)
{
	List	   *names = NIL;
	ListCell   *lc;

	foreach(lc, oids)
	{
		Oid			role = lfirst_oid(lc);

		if (role == ACL_ID_PUBLIC)
			names = lappend(names, pstrdup("PUBLIC"));
		else
		{
			char	   *name = GetUserNameFromId(role, true);

			names = lappend(names, name ? name : psprintf("%u", role));
		}
	}
	return names;
}

/*
 * string_names
 *		The C strings of a list of String nodes.
 */
static List *
string_names(List *strings)
{
	List	   *names = NIL;
	ListCell   *lc;

	foreach(lc, strings)
	{
		Node	   *n = (Node *) lfirst(lc);

		names = lappend(names, IsA(n, String) ? pstrdup(strVal(n)) : pstrdup("?"));
	}
	return names;
}

/*
 * object_type_name
 *		The lower-case name of an object type, as details.object_type says
 *		it.
 */
static const char *
object_type_name(ObjectType objtype)
{
	switch (objtype)
	{
		case OBJECT_TABLE:
			return "table";
		case OBJECT_SEQUENCE:
			return "sequence";
		case OBJECT_FUNCTION:
			return "function";
		case OBJECT_PROCEDURE:
			return "procedure";
		case OBJECT_ROUTINE:
			return "routine";
		case OBJECT_SCHEMA:
			return "schema";
		case OBJECT_TYPE:
			return "type";
		case OBJECT_DOMAIN:
			return "domain";
		case OBJECT_LANGUAGE:
			return "language";
		case OBJECT_LARGEOBJECT:
			return "large object";
		case OBJECT_FDW:
			return "foreign data wrapper";
		case OBJECT_FOREIGN_SERVER:
			return "foreign server";
		case OBJECT_DATABASE:
			return "database";
		case OBJECT_TABLESPACE:
			return "tablespace";
		case OBJECT_PARAMETER_ACL:
			return "parameter";
		case OBJECT_ROLE:
			return "role";
		case OBJECT_EVENT_TRIGGER:
			return "event trigger";
		default:
			return "object";
	}
}

/*
 * object_class
 *		The catalog holding objects of a GRANT's object type.
 */
static Oid
object_class(ObjectType objtype)
{
	switch (objtype)
	{
		case OBJECT_TABLE:
		case OBJECT_SEQUENCE:
			return RelationRelationId;
		case OBJECT_FUNCTION:
		case OBJECT_PROCEDURE:
		case OBJECT_ROUTINE:
			return ProcedureRelationId;
		case OBJECT_SCHEMA:
			return NamespaceRelationId;
		case OBJECT_TYPE:
		case OBJECT_DOMAIN:
			return TypeRelationId;
		case OBJECT_LANGUAGE:
			return LanguageRelationId;
		case OBJECT_LARGEOBJECT:
			return LargeObjectRelationId;
		case OBJECT_FDW:
			return ForeignDataWrapperRelationId;
		case OBJECT_FOREIGN_SERVER:
			return ForeignServerRelationId;
		case OBJECT_DATABASE:
			return DatabaseRelationId;
		default:
			return InvalidOid;
	}
}

/*
 * cmp_names
 *		list_sort comparator of C strings.
 */
static int
cmp_names(const ListCell *a, const ListCell *b)
{
	return strcmp((const char *) lfirst(a), (const char *) lfirst(b));
}

/*
 * object_identities
 *		The identities (pg_identify_object's) of a GRANT's object OIDs,
 *		sorted (ALL TABLES IN SCHEMA finds them in catalog order), once each.
 */
static List *
object_identities(ObjectType objtype, List *oids)
{
	List	   *names = NIL;
	Oid			classid = object_class(objtype);
	ListCell   *lc;

	foreach(lc, oids)
	{
		ObjectAddress addr;
		char	   *identity = NULL;

		addr.classId = classid;
		addr.objectId = lfirst_oid(lc);
		addr.objectSubId = 0;
		if (OidIsValid(classid))
			identity = getObjectIdentity(&addr, true);
		names = lappend(names, identity ? identity : psprintf("%u", addr.objectId));
	}
	list_sort(names, cmp_names);
	return names;
}

/*
 * privilege_names
 *		The privileges of an AclMode, as SQL names in the order of the GRANT
 *		reference page.
 */
static List *
privilege_names(AclMode mode)
{
	static const struct
	{
		AclMode		bit;
		const char *name;
	}			privs[] =
	{
		{ACL_SELECT, "SELECT"},
		{ACL_INSERT, "INSERT"},
		{ACL_UPDATE, "UPDATE"},
		{ACL_DELETE, "DELETE"},
		{ACL_TRUNCATE, "TRUNCATE"},
		{ACL_REFERENCES, "REFERENCES"},
		{ACL_TRIGGER, "TRIGGER"},
		{ACL_CREATE, "CREATE"},
		{ACL_CONNECT, "CONNECT"},
		{ACL_CREATE_TEMP, "TEMPORARY"},
		{ACL_EXECUTE, "EXECUTE"},
		{ACL_USAGE, "USAGE"},
		{ACL_SET, "SET"},
		{ACL_ALTER_SYSTEM, "ALTER SYSTEM"},
	};
	List	   *names = NIL;

	for (int i = 0; i < lengthof(privs); i++)
		if (mode & privs[i].bit)
			names = lappend(names, pstrdup(privs[i].name));
	return names;
}

/*
 * privilege_word
 *		The SQL name of a privilege as the parser keeps it (lower case).
 */
static char *
privilege_word(const char *priv_name)
{
	char	   *upper = pstrdup(priv_name);

	for (char *p = upper; *p; p++)
		*p = pg_toupper((unsigned char) *p);
	if (strcmp(upper, "TEMP") == 0)
		return pstrdup("TEMPORARY");
	return upper;
}

/*
 * append_privileges
 *		Append "privileges" (object-level; ["ALL"] for ALL PRIVILEGES) and,
 *		if any, "columns": [{"privilege": ..., "columns": [...]}] of a list
 *		of AccessPriv (column privileges).
 */
static void
append_privileges(StringInfo buf, bool all, List *privs, List *col_privs)
{
	ListCell   *lc;
	bool		first = true;

	json_array(buf, "privileges", all ? list_make1("ALL") : privs);
	if (col_privs == NIL)
		return;
	json_key(buf, "columns");
	appendStringInfoChar(buf, '[');
	foreach(lc, col_privs)
	{
		AccessPriv *ap = lfirst_node(AccessPriv, lc);
		StringInfoData obj;

		initStringInfo(&obj);
		appendStringInfoChar(&obj, '{');
		json_text(&obj, "privilege", ap->priv_name ? privilege_word(ap->priv_name) : "ALL");
		json_array(&obj, "columns", string_names(ap->cols));
		appendStringInfoChar(&obj, '}');
		if (!first)
			appendStringInfoString(buf, ", ");
		appendStringInfoString(buf, obj.data);
		first = false;
	}
	appendStringInfoChar(buf, ']');
}

/*
 * grant_options_held
 *		The grant options roleid holds on an object of a GRANT's type, as
 *		privilege bits (the owner holds them all, a superuser too), or all
 *		of mask for a type not checked here.
 */
static AclMode
grant_options_held(ObjectType objtype, Oid objid, Oid roleid, AclMode privs)
{
	AclMode		mask = ACL_GRANT_OPTION_FOR(privs);
	AclMode		held;

	switch (objtype)
	{
		case OBJECT_TABLE:
		case OBJECT_SEQUENCE:
			held = pg_class_aclmask(objid, roleid, mask, ACLMASK_ALL);
			break;
		case OBJECT_FUNCTION:
		case OBJECT_PROCEDURE:
		case OBJECT_ROUTINE:
			held = pg_proc_aclmask(objid, roleid, mask, ACLMASK_ALL);
			break;
		case OBJECT_SCHEMA:
			held = pg_namespace_aclmask(objid, roleid, mask, ACLMASK_ALL);
			break;
		case OBJECT_TYPE:
		case OBJECT_DOMAIN:
			held = pg_type_aclmask(objid, roleid, mask, ACLMASK_ALL);
			break;
		case OBJECT_LANGUAGE:
			held = pg_language_aclmask(objid, roleid, mask, ACLMASK_ALL);
			break;
		case OBJECT_LARGEOBJECT:
			held = pg_largeobject_aclmask_snapshot(objid, roleid, mask, ACLMASK_ALL, NULL);
			break;
		case OBJECT_FDW:
			held = pg_foreign_data_wrapper_aclmask(objid, roleid, mask, ACLMASK_ALL);
			break;
		case OBJECT_FOREIGN_SERVER:
			held = pg_foreign_server_aclmask(objid, roleid, mask, ACLMASK_ALL);
			break;
		default:
			held = mask;
			break;
	}
	return ACL_OPTION_TO_PRIVS(held);
}

/*
 * append_not_applied
 *		Append "not_applied": [{"object": ..., "privileges": [...]}] for the
 *		objects on which the role that ran a GRANT or REVOKE lacked the grant
 *		option of some of its privileges: PostgreSQL then grants or revokes
 *		only the others, with a WARNING ("no privileges were granted", "not
 *		all privileges could be revoked"), and the event must not claim
 *		them.  Nothing when every privilege applied.  A superuser's always
 *		do; for ALL PRIVILEGES, an object is listed only if none applied.
 *		Column privileges are not checked.
 */
static void
append_not_applied(StringInfo buf, InternalGrant *istmt)
{
	Oid			roleid = GetUserId();
	AclMode		privs = istmt->privileges;
	StringInfoData list;
	ListCell   *lc;

	if (superuser_arg(roleid) || privs == ACL_NO_RIGHTS)
		return;
	initStringInfo(&list);
	foreach(lc, istmt->objects)
	{
		Oid			objid = lfirst_oid(lc);
		AclMode		held = grant_options_held(istmt->objtype, objid, roleid, privs);
		AclMode		missing = privs & ~held;
		StringInfoData obj;

		if (missing == 0 || (istmt->all_privs && (privs & held) != 0))
			continue;
		initStringInfo(&obj);
		appendStringInfoChar(&obj, '{');
		json_text(&obj, "object",
				  linitial(object_identities(istmt->objtype, list_make1_oid(objid))));
		json_array(&obj, "privileges", privilege_names(missing));
		appendStringInfoChar(&obj, '}');
		if (list.len > 0)
			appendStringInfoString(&list, ", ");
		appendStringInfoString(&list, obj.data);
	}
	if (list.len == 0)
		return;
	json_key(buf, "not_applied");
	appendStringInfo(buf, "[%s]", list.data);
}

/*
 * grant_stmt_of
 *		The GrantStmt of a statement's parse tree, or NULL (DROP OWNED also
 *		revokes, through the same collected commands).
 */
static GrantStmt *
grant_stmt_of(Node *parsetree)
{
	if (parsetree != NULL && IsA(parsetree, GrantStmt))
		return (GrantStmt *) parsetree;
	return NULL;
}

/*
 * ac_admin_describe_grant
 *		The admin event of a GRANT or REVOKE on objects event triggers
 *		support, from the command PostgreSQL collected for ddl_command_end
 *		(the privileges it actually applied, the objects resolved to OIDs,
 *		ALL TABLES IN SCHEMA expanded) and the statement's parse tree (for
 *		GRANTED BY).  One event however many objects: details.objects lists
 *		them all, resource the first few.
 */
AdminEvent *
ac_admin_describe_grant(CollectedCommand *cmd, Node *parsetree)
{
	InternalGrant *istmt = cmd->d.grant.istmt;
	GrantStmt  *stmt = grant_stmt_of(parsetree);
	List	   *objects = object_identities(istmt->objtype, istmt->objects);
	StringInfo	details = details_start(istmt->is_grant ? "GRANT" : "REVOKE");
	AclMode		privs = istmt->privileges;
	List	   *privlist;
	char	   *resource;

	json_text(details, "object_type", object_type_name(istmt->objtype));
	json_array(details, "objects", objects);
	if (stmt != NULL && stmt->targtype == ACL_TARGET_ALL_IN_SCHEMA)
		json_array(details, "in_schemas", string_names(stmt->objects));
	/* column privileges only: no object-level ones */
	if (!istmt->all_privs && privs == ACL_NO_RIGHTS && istmt->col_privs != NIL)
		privlist = NIL;
	else
		privlist = privilege_names(privs);
	append_privileges(details, istmt->all_privs, privlist, istmt->col_privs);
	json_array(details, "grantees", role_oid_names(istmt->grantees));
	json_bool(details, "grant_option", istmt->grant_option);
	json_text(details, "granted_by",
			  stmt && stmt->grantor ? rolespec_text(stmt->grantor) : NULL);
	if (!istmt->is_grant)
		json_bool(details, "cascade", istmt->behavior == DROP_CASCADE);
	append_not_applied(details, istmt);
	resource = join_names(objects);
	/* ALL ... IN SCHEMA of schemas that have none: name the schemas */
	if (resource == NULL && stmt != NULL && stmt->targtype == ACL_TARGET_ALL_IN_SCHEMA)
		resource = psprintf("in schema %s", join_names(string_names(stmt->objects)));
	return make_admin_event(istmt->is_grant ? "grant" : "revoke", resource, details);
}

/*
 * describe_grant_stmt
 *		The admin event of a GRANT or REVOKE on objects event triggers do not
 *		support (databases, tablespaces, parameters), from its parse tree.
 */
static AdminEvent *
describe_grant_stmt(GrantStmt *stmt)
{
	List	   *objects = string_names(stmt->objects);
	StringInfo	details = details_start(stmt->is_grant ? "GRANT" : "REVOKE");
	List	   *privs = NIL;
	List	   *col_privs = NIL;
	ListCell   *lc;

	foreach(lc, stmt->privileges)
	{
		AccessPriv *ap = lfirst_node(AccessPriv, lc);

		if (ap->cols != NIL)
			col_privs = lappend(col_privs, ap);
		else
			privs = lappend(privs, privilege_word(ap->priv_name));
	}
	json_text(details, "object_type", object_type_name(stmt->objtype));
	json_array(details, "objects", objects);
	append_privileges(details, stmt->privileges == NIL, privs, col_privs);
	json_array(details, "grantees", rolespec_names(stmt->grantees));
	json_bool(details, "grant_option", stmt->grant_option);
	json_text(details, "granted_by",
			  stmt->grantor ? rolespec_text(stmt->grantor) : NULL);
	if (!stmt->is_grant)
		json_bool(details, "cascade", stmt->behavior == DROP_CASCADE);
	return make_admin_event(stmt->is_grant ? "grant" : "revoke",
							join_names(objects), details);
}

/*
 * ac_admin_describe_defprivs
 *		The admin event of ALTER DEFAULT PRIVILEGES, from its parse tree:
 *		which roles' future objects, in which schemas, of which type, and the
 *		GRANT or REVOKE applied to them.  resource names the roles (or the
 *		current role when none is given).
 */
AdminEvent *
ac_admin_describe_defprivs(Node *parsetree)
{
	AlterDefaultPrivilegesStmt *stmt = (AlterDefaultPrivilegesStmt *) parsetree;
	GrantStmt  *action = stmt->action;
	List	   *roles = NIL;
	List	   *schemas = NIL;
	List	   *privs = NIL;
	StringInfo	details = details_start("ALTER DEFAULT PRIVILEGES");
	ListCell   *lc;

	foreach(lc, stmt->options)
	{
		DefElem    *opt = lfirst_node(DefElem, lc);

		if (strcmp(opt->defname, "roles") == 0)
			roles = rolespec_names((List *) opt->arg);
		else if (strcmp(opt->defname, "schemas") == 0)
			schemas = string_names((List *) opt->arg);
	}
	if (roles == NIL)
		roles = list_make1(GetUserNameFromId(GetUserId(), false));
	foreach(lc, action->privileges)
		privs = lappend(privs, privilege_word(lfirst_node(AccessPriv, lc)->priv_name));

	json_text(details, "object_type", object_type_name(action->objtype));
	json_array(details, "for_roles", roles);
	json_array(details, "in_schemas", schemas);
	json_bool(details, "is_grant", action->is_grant);
	append_privileges(details, action->privileges == NIL, privs, NIL);
	json_array(details, "grantees", rolespec_names(action->grantees));
	json_bool(details, "grant_option", action->grant_option);
	if (!action->is_grant)
		json_bool(details, "cascade", action->behavior == DROP_CASCADE);
	return make_admin_event("alter default privileges", join_names(roles), details);
}

/*
 * ac_admin_describe_drop_owned
 *		The one admin event of DROP OWNED: the roles, CASCADE, and every
 *		object whose privileges it revoked from them, once each (the collected GRANT
 *		commands in grants, which are not recorded one by one).  The objects
 *		it dropped are recorded by sql_drop, one event each, as for DROP.
 */
AdminEvent *
ac_admin_describe_drop_owned(Node *parsetree, List *grants)
{
	DropOwnedStmt *stmt = castNode(DropOwnedStmt, parsetree);
	List	   *roles = rolespec_names(stmt->roles);
	StringInfo	details = details_start("DROP OWNED");
	ListCell   *lc;
	List	   *seen = NIL;
	bool		first = true;

	json_array(details, "roles", roles);
	json_bool(details, "cascade", stmt->behavior == DROP_CASCADE);
	json_key(details, "revoked");
	appendStringInfoChar(details, '[');
	foreach(lc, grants)
	{
		InternalGrant *istmt = ((CollectedCommand *) lfirst(lc))->d.grant.istmt;
		List	   *objects = object_identities(istmt->objtype, istmt->objects);
		ListCell   *lo;

		foreach(lo, objects)
		{
			StringInfoData obj;
			char	   *key = psprintf("%s %s", object_type_name(istmt->objtype),
									   (const char *) lfirst(lo));

			/* revoked from each role in turn: name each object once */
			if (list_member(seen, makeString(key)))
				continue;
			seen = lappend(seen, makeString(key));
			initStringInfo(&obj);
			appendStringInfoChar(&obj, '{');
			json_text(&obj, "object_type", object_type_name(istmt->objtype));
			json_text(&obj, "object", (const char *) lfirst(lo));
			appendStringInfoChar(&obj, '}');
			if (!first)
				appendStringInfoString(details, ", ");
			appendStringInfoString(details, obj.data);
			first = false;
		}
	}
	appendStringInfoChar(details, ']');
	return make_admin_event("drop owned", join_names(roles), details);
}

/*
 * defelem_text
 *		The value of an option, as text, or NULL for none.  List values (role
 *		lists of CREATE ROLE) are joined by ", ".
 */
static char *
defelem_text(DefElem *opt)
{
	Node	   *arg = opt->arg;

	if (arg == NULL)
		return NULL;
	switch (nodeTag(arg))
	{
		case T_String:
			return pstrdup(strVal(arg));
		case T_Integer:
			return psprintf("%d", intVal(arg));
		case T_Float:
			return pstrdup(castNode(Float, arg)->fval);
		case T_Boolean:
			return pstrdup(boolVal(arg) ? "true" : "false");
		case T_TypeName:
			return TypeNameToString((TypeName *) arg);
		case T_List:
			{
				List	   *names = NIL;
				ListCell   *lc;

				foreach(lc, (List *) arg)
				{
					Node	   *n = lfirst(lc);

					if (IsA(n, RoleSpec))
						names = lappend(names, rolespec_text((RoleSpec *) n));
					else if (IsA(n, String))
						names = lappend(names, pstrdup(strVal(n)));
				}
				return join_names(names);
			}
		default:
			return pstrdup("?");
	}
}

/*
 * append_options
 *		Append "options": {name: value, ...} of a statement's DefElem list.
 *		A password's value is never recorded: "password" says only whether
 *		one was set ("<redacted>") or removed (null).
 */
static void
append_options(StringInfo buf, List *options)
{
	StringInfoData obj;
	ListCell   *lc;

	initStringInfo(&obj);
	appendStringInfoChar(&obj, '{');
	foreach(lc, options)
	{
		DefElem    *opt = lfirst_node(DefElem, lc);

		if (strcmp(opt->defname, "password") == 0)
			json_text(&obj, opt->defname, opt->arg ? "<redacted>" : NULL);
		else if (opt->arg == NULL)
			json_text(&obj, opt->defname, "true");
		else
			json_text(&obj, opt->defname, defelem_text(opt));
	}
	appendStringInfoChar(&obj, '}');
	json_key(buf, "options");
	appendStringInfoString(buf, obj.data);
}

/*
 * append_setting
 *		Append the setting an ALTER ROLE/DATABASE ... SET or RESET names (its
 *		value is not recorded: a setting can hold a secret).
 */
static void
append_setting(StringInfo buf, VariableSetStmt *setstmt)
{
	const char *kind;

	switch (setstmt->kind)
	{
		case VAR_RESET:
			kind = "reset";
			break;
		case VAR_RESET_ALL:
			kind = "reset all";
			break;
		default:
			kind = "set";
			break;
	}
	json_text(buf, "setting", setstmt->name);
	json_text(buf, "operation", kind);
}

/*
 * existing_roles
 *		The roles of a RoleSpec list that exist (DROP ROLE IF EXISTS skips
 *		the others, which the event must not name as dropped).
 */
static List *
existing_roles(List *specs)
{
	List	   *names = NIL;
	ListCell   *lc;

	foreach(lc, specs)
	{
		RoleSpec   *spec = lfirst_node(RoleSpec, lc);

		if (spec->roletype != ROLESPEC_CSTRING ||
			OidIsValid(get_role_oid(spec->rolename, true)))
			names = lappend(names, rolespec_text(spec));
	}
	return names;
}

/*
 * shared_object_name
 *		The name a shared object's parse node gives (a String).
 */
static char *
shared_object_name(Node *object)
{
	if (object != NULL && IsA(object, String))
		return pstrdup(strVal(object));
	return NULL;
}

/*
 * describe_role_grant
 *		GRANT role TO member / REVOKE role FROM member.
 */
static AdminEvent *
describe_role_grant(GrantRoleStmt *stmt, const char *tag)
{
	List	   *roles = NIL;
	StringInfo	details = details_start(tag);
	ListCell   *lc;

	foreach(lc, stmt->granted_roles)
		roles = lappend(roles, pstrdup(lfirst_node(AccessPriv, lc)->priv_name));
	json_array(details, "roles", roles);
	json_array(details, "members", rolespec_names(stmt->grantee_roles));
	json_bool(details, "admin_option", stmt->admin_opt);
	json_text(details, "granted_by",
			  stmt->grantor ? rolespec_text(stmt->grantor) : NULL);
	if (!stmt->is_grant)
		json_bool(details, "cascade", stmt->behavior == DROP_CASCADE);
	return make_admin_event(stmt->is_grant ? "grant role" : "revoke role",
							join_names(roles), details);
}

/*
 * describe_shared_object_stmt
 *		GRANT, COMMENT, SECURITY LABEL, ALTER ... OWNER, RENAME or DROP of an
 *		object event triggers do not support (a database, role, tablespace,
 *		event trigger or parameter), or NULL if the object type is one they
 *		support (then ddl_log records the statement).
 */
static AdminEvent *
describe_shared_object_stmt(Node *parsetree, const char *tag, const char *action)
{
	StringInfo	details;
	ObjectType	objtype;

	switch (nodeTag(parsetree))
	{
		case T_GrantStmt:
			objtype = ((GrantStmt *) parsetree)->objtype;
			break;
		case T_CommentStmt:
			objtype = ((CommentStmt *) parsetree)->objtype;
			break;
		case T_SecLabelStmt:
			objtype = ((SecLabelStmt *) parsetree)->objtype;
			break;
		case T_AlterOwnerStmt:
			objtype = ((AlterOwnerStmt *) parsetree)->objectType;
			break;
		case T_RenameStmt:
			objtype = ((RenameStmt *) parsetree)->renameType;
			break;
		case T_DropStmt:
			objtype = ((DropStmt *) parsetree)->removeType;
			break;
		default:
			return NULL;
	}
	if (EventTriggerSupportsObjectType(objtype))
		return NULL;

	if (IsA(parsetree, GrantStmt))
		return describe_grant_stmt((GrantStmt *) parsetree);

	details = details_start(tag);
	json_text(details, "object_type", object_type_name(objtype));
	switch (nodeTag(parsetree))
	{
		case T_CommentStmt:
			{
				CommentStmt *stmt = (CommentStmt *) parsetree;
				char	   *name = shared_object_name(stmt->object);

				/* on a database that does not exist: a WARNING, no change */
				if (objtype == OBJECT_DATABASE && name != NULL &&
					!OidIsValid(get_database_oid(name, true)))
					return NULL;
				json_text(details, "comment", stmt->comment);
				return make_admin_event("comment", name, details);
			}
		case T_SecLabelStmt:
			{
				SecLabelStmt *stmt = (SecLabelStmt *) parsetree;
				char	   *name = shared_object_name(stmt->object);

				json_text(details, "provider", stmt->provider);
				json_text(details, "label", stmt->label);
				return make_admin_event("security label", name, details);
			}
		case T_AlterOwnerStmt:
			{
				AlterOwnerStmt *stmt = (AlterOwnerStmt *) parsetree;

				json_text(details, "new_owner", rolespec_text(stmt->newowner));
				return make_admin_event(action, shared_object_name(stmt->object),
										details);
			}
		case T_RenameStmt:
			{
				RenameStmt *stmt = (RenameStmt *) parsetree;
				char	   *name = stmt->subname;

				if (name == NULL)
					name = shared_object_name(stmt->object);
				json_text(details, "new_name", stmt->newname);
				return make_admin_event(action, name, details);
			}
		case T_DropStmt:
			{
				DropStmt   *stmt = (DropStmt *) parsetree;
				List	   *names = string_names(stmt->objects);

				json_array(details, "objects", names);
				return make_admin_event(action, join_names(names), details);
			}
		default:
			return NULL;
	}
}

/*
 * ac_admin_describe_utility
 *		From the utility hook, before the statement runs: the admin event of
 *		a statement event triggers do not see, or NULL for any other (those
 *		that fire event triggers are ddl_log's, so no statement is recorded
 *		twice).  The caller queues it once the statement has succeeded.
 *		What the statement names is read here, before it runs (DROP ROLE
 *		names the roles that exist before it).
 */
AdminEvent *
ac_admin_describe_utility(Node *parsetree)
{
	CommandTag	tag = CreateCommandTag(parsetree);
	const char *tagname = GetCommandTagName(tag);
	char	   *action;
	StringInfo	details;

	action = pstrdup(tagname);
	for (char *p = action; *p; p++)
		*p = pg_tolower((unsigned char) *p);

	switch (nodeTag(parsetree))
	{
		case T_CreateRoleStmt:
			{
				CreateRoleStmt *stmt = (CreateRoleStmt *) parsetree;

				details = details_start(tagname);
				append_options(details, stmt->options);
				return make_admin_event(action, stmt->role, details);
			}
		case T_AlterRoleStmt:
			{
				AlterRoleStmt *stmt = (AlterRoleStmt *) parsetree;
				ListCell   *lc;

				details = details_start(tagname);
				append_options(details, stmt->options);
				/* ALTER GROUP ... ADD USER / DROP USER: which of the two */
				foreach(lc, stmt->options)
				{
					if (strcmp(lfirst_node(DefElem, lc)->defname, "rolemembers") == 0)
						json_text(details, "members_action",
								  stmt->action > 0 ? "add" : "drop");
				}
				return make_admin_event(action, rolespec_text(stmt->role), details);
			}
		case T_AlterRoleSetStmt:
			{
				AlterRoleSetStmt *stmt = (AlterRoleSetStmt *) parsetree;

				details = details_start(tagname);
				json_text(details, "database", stmt->database);
				append_setting(details, stmt->setstmt);
				return make_admin_event("alter role set",
										stmt->role ? rolespec_text(stmt->role) : "ALL",
										details);
			}
		case T_DropRoleStmt:
			{
				List	   *roles = existing_roles(((DropRoleStmt *) parsetree)->roles);

				if (roles == NIL)
					return NULL;	/* IF EXISTS, and none did */
				details = details_start(tagname);
				json_array(details, "roles", roles);
				return make_admin_event(action, join_names(roles), details);
			}
		case T_GrantRoleStmt:
			return describe_role_grant((GrantRoleStmt *) parsetree, tagname);
		case T_ReassignOwnedStmt:
			{
				ReassignOwnedStmt *stmt = (ReassignOwnedStmt *) parsetree;
				List	   *roles = rolespec_names(stmt->roles);

				details = details_start(tagname);
				json_array(details, "roles", roles);
				json_text(details, "new_owner", rolespec_text(stmt->newrole));
				return make_admin_event(action, join_names(roles), details);
			}
		case T_CreatedbStmt:
			{
				CreatedbStmt *stmt = (CreatedbStmt *) parsetree;

				details = details_start(tagname);
				append_options(details, stmt->options);
				return make_admin_event(action, stmt->dbname, details);
			}
		case T_AlterDatabaseStmt:
			{
				AlterDatabaseStmt *stmt = (AlterDatabaseStmt *) parsetree;

				details = details_start(tagname);
				append_options(details, stmt->options);
				return make_admin_event(action, stmt->dbname, details);
			}
		case T_AlterDatabaseSetStmt:
			{
				AlterDatabaseSetStmt *stmt = (AlterDatabaseSetStmt *) parsetree;

				details = details_start(tagname);
				append_setting(details, stmt->setstmt);
				return make_admin_event("alter database set", stmt->dbname, details);
			}
		case T_AlterDatabaseRefreshCollStmt:
			details = details_start(tagname);
			json_text(details, "operation", "refresh collation version");
			return make_admin_event(action,
									((AlterDatabaseRefreshCollStmt *) parsetree)->dbname,
									details);
		case T_DropdbStmt:
			{
				DropdbStmt *stmt = (DropdbStmt *) parsetree;

				if (stmt->missing_ok && !OidIsValid(get_database_oid(stmt->dbname, true)))
					return NULL;	/* IF EXISTS, and it did not */
				details = details_start(tagname);
				append_options(details, stmt->options);
				return make_admin_event(action, stmt->dbname, details);
			}
		case T_CreateTableSpaceStmt:
			{
				CreateTableSpaceStmt *stmt = (CreateTableSpaceStmt *) parsetree;

				details = details_start(tagname);
				json_text(details, "owner", stmt->owner ? rolespec_text(stmt->owner) : NULL);
				json_text(details, "location", stmt->location);
				append_options(details, stmt->options);
				return make_admin_event(action, stmt->tablespacename, details);
			}
		case T_DropTableSpaceStmt:
			{
				DropTableSpaceStmt *stmt = (DropTableSpaceStmt *) parsetree;

				if (stmt->missing_ok &&
					!OidIsValid(get_tablespace_oid(stmt->tablespacename, true)))
					return NULL;
				details = details_start(tagname);
				return make_admin_event(action, stmt->tablespacename, details);
			}
		case T_AlterTableSpaceOptionsStmt:
			{
				AlterTableSpaceOptionsStmt *stmt = (AlterTableSpaceOptionsStmt *) parsetree;

				details = details_start(tagname);
				json_bool(details, "reset", stmt->isReset);
				append_options(details, stmt->options);
				return make_admin_event(action, stmt->tablespacename, details);
			}
		case T_CreateEventTrigStmt:
			{
				CreateEventTrigStmt *stmt = (CreateEventTrigStmt *) parsetree;
				ListCell   *lc;

				details = details_start(tagname);
				json_text(details, "event", stmt->eventname);
				json_text(details, "function", NameListToString(stmt->funcname));
				foreach(lc, stmt->whenclause)
				{
					DefElem    *opt = lfirst_node(DefElem, lc);

					json_text(details, opt->defname, defelem_text(opt));
				}
				return make_admin_event(action, stmt->trigname, details);
			}
		case T_AlterEventTrigStmt:
			{
				AlterEventTrigStmt *stmt = (AlterEventTrigStmt *) parsetree;
				const char *state;

				switch (stmt->tgenabled)
				{
					case TRIGGER_DISABLED:
						state = "disabled";
						break;
					case TRIGGER_FIRES_ON_REPLICA:
						state = "enabled replica";
						break;
					case TRIGGER_FIRES_ALWAYS:
						state = "enabled always";
						break;
					default:
						state = "enabled";
						break;
				}
				details = details_start(tagname);
				json_text(details, "state", state);
				return make_admin_event(action, stmt->trigname, details);
			}
		case T_AlterSystemStmt:
			{
				AlterSystemStmt *stmt = (AlterSystemStmt *) parsetree;

				details = details_start(tagname);
				append_setting(details, stmt->setstmt);
				return make_admin_event(action, stmt->setstmt->name, details);
			}
		default:
			return describe_shared_object_stmt(parsetree, tagname, action);
	}
}
