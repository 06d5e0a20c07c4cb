/*-------------------------------------------------------------------------
 *
 * guc.c
 *	  Settings of audit_chain: who and why, for the audit events a session
 *	  writes.
 *
 * A connection pool logs in as one role; the application says who the real
 * user is, and why it acts, with SET LOCAL audit_chain.actor = '...' and
 * friends, and audit_chain.events picks them up as column defaults.  These
 * are ordinary user settings: they describe, they do not enforce.
 *
 * IDENTIFICATION
 *	  src/guc.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/guc.h"
#include "utils/varlena.h"

#include "collect.h"
#include "guc.h"

static char *ac_actor = NULL;
static char *ac_purpose = NULL;
static char *ac_legal_basis = NULL;
static char *ac_data_subject = NULL;
static char *ac_session_id = NULL;
static char *ac_request_id = NULL;
static char *ac_trace_id = NULL;
static char *ac_traceparent = NULL;
static char *ac_hash_detail_keys = NULL;

/* At most this many keys in audit_chain.hash_detail_keys, of at most this length */
#define AC_MAX_MASK_KEYS	100
#define AC_MAX_MASK_KEYLEN	200

/* Milliseconds archive() and the purge sleep after each batch */
int			ac_archive_delay = 0;

/* The PEM file of the Ed25519 key that signs checkpoints ('' = unsigned) */
char	   *ac_signing_key_file = NULL;

/* GDPR Art. 6(1) lawful bases, as audit_chain.events spells them */
static const char *const legal_bases[] = {
	"consent", "contract", "legal_obligation", "vital_interests",
	"public_task", "legitimate_interests", NULL
};

/*
 * check_legal_basis
 *		Accept the empty string (unset) or one of the Art. 6(1) bases.
 */
static bool
check_legal_basis(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	for (int i = 0; legal_bases[i] != NULL; i++)
		if (strcmp(*newval, legal_bases[i]) == 0)
			return true;
	GUC_check_errdetail("Valid values are consent, contract, legal_obligation, vital_interests, public_task and legitimate_interests (GDPR Art. 6(1)).");
	return false;
}

/*
 * check_trace_id
 *		Accept the empty string (unset) or a W3C Trace Context trace-id.
 */
static bool
check_trace_id(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0' || ac_trace_id_valid(*newval))
		return true;
	GUC_check_errdetail("A W3C Trace Context trace-id is 32 lower-case hexadecimal digits, not all zero.");
	GUC_check_errhint("For example 4bf92f3577b34da6a3ce929d0e0e4736; or set audit_chain.traceparent to the whole traceparent header.");
	return false;
}

/*
 * check_traceparent
 *		Accept the empty string (unset) or a traceparent header value of
 *		version 00.
 */
static bool
check_traceparent(char **newval, void **extra, GucSource source)
{
	const char *problem;

	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	problem = ac_traceparent_problem(*newval);
	if (problem == NULL)
		return true;
	GUC_check_errdetail("%s", problem);
	GUC_check_errhint("The format is 00-<trace-id>-<parent-id>-<flags>, for example 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.");
	return false;
}

/*
 * check_hash_detail_keys
 *		Parse a comma-separated list of keys of details (double-quoted
 *		where a key has a comma, a space or a quote) into an AcMaskKeys,
 *		malloc'd in one block as GUC extra data must be.
 */
static bool
check_hash_detail_keys(char **newval, void **extra, GucSource source)
{
	char	   *raw;
	List	   *keys;
	ListCell   *lc;
	Size		size;
	AcMaskKeys *mk;
	char	   *p;
	int			i = 0;

	raw = pstrdup(*newval == NULL ? "" : *newval);
	if (!SplitGUCList(raw, ',', &keys))
	{
		GUC_check_errdetail("The list of keys is not valid: an empty key, an unmatched double quote or a missing comma.");
		GUC_check_errhint("List the keys of details to mask separated by commas, for example: prompt, email, \"user name\".");
		return false;
	}
	if (list_length(keys) > AC_MAX_MASK_KEYS)
	{
		GUC_check_errdetail("At most %d keys can be listed.", AC_MAX_MASK_KEYS);
		return false;
	}
	size = offsetof(AcMaskKeys, keys) + sizeof(char *) * list_length(keys);
	foreach(lc, keys)
	{
		const char *k = (const char *) lfirst(lc);

		if (strlen(k) > AC_MAX_MASK_KEYLEN)
		{
			GUC_check_errdetail("A key is at most %d bytes long.", AC_MAX_MASK_KEYLEN);
			return false;
		}
		size += strlen(k) + 1;
	}
	mk = (AcMaskKeys *) malloc(size);
	if (mk == NULL)
		return false;
	mk->nkeys = list_length(keys);
	p = (char *) mk + offsetof(AcMaskKeys, keys) + sizeof(char *) * list_length(keys);
	foreach(lc, keys)
	{
		const char *k = (const char *) lfirst(lc);

		strcpy(p, k);
		mk->keys[i++] = p;
		p += strlen(k) + 1;
	}
	list_free(keys);
	pfree(raw);
	*extra = mk;
	return true;
}

/*
 * assign_hash_detail_keys
 *		Make the parsed list the one mask_event() uses.
 */
static void
assign_hash_detail_keys(const char *newval, void *extra)
{
	ac_mask_keys = (AcMaskKeys *) extra;
}

/*
 * ac_guc_init
 *		Define the settings; called from _PG_init.
 */
void
ac_guc_init(void)
{
	DefineCustomStringVariable("audit_chain.actor",
							   "The real user behind this session, for audit events.",
							   "Set it per transaction (SET LOCAL) when a pool shares one database role.",
							   &ac_actor, "", PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("audit_chain.purpose",
							   "Why this session processes personal data, for audit events.",
							   NULL, &ac_purpose, "", PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("audit_chain.legal_basis",
							   "GDPR Art. 6(1) basis of the processing, for audit events.",
							   "One of consent, contract, legal_obligation, vital_interests, public_task, legitimate_interests.",
							   &ac_legal_basis, "", PGC_USERSET, 0,
							   check_legal_basis, NULL, NULL);
	DefineCustomStringVariable("audit_chain.data_subject",
							   "The person whose data this session processes, for audit events.",
							   NULL, &ac_data_subject, "", PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("audit_chain.session_id",
							   "The application's session or request id, for audit events.",
							   NULL, &ac_session_id, "", PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("audit_chain.request_id",
							   "The id of the request this transaction serves, for audit events.",
							   "Set it per transaction (SET LOCAL); audit_chain.request_timeline() follows it.",
							   &ac_request_id, "", PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("audit_chain.trace_id",
							   "The W3C Trace Context trace-id of this transaction's work, for audit events.",
							   "32 lower-case hexadecimal digits.  Wins over the trace-id of audit_chain.traceparent.",
							   &ac_trace_id, "", PGC_USERSET, 0, check_trace_id, NULL, NULL);
	DefineCustomStringVariable("audit_chain.traceparent",
							   "A W3C traceparent header value, for the trace_id and span_id of audit events.",
							   "Version 00: 00-<trace-id>-<parent-id>-<flags>.",
							   &ac_traceparent, "", PGC_USERSET, 0, check_traceparent, NULL, NULL);

	/*
	 * Masking at collection protects the data subjects from the writer's
	 * mistakes, so the writer must not turn it off: PGC_SUSET, settable in
	 * postgresql.conf, ALTER SYSTEM, ALTER DATABASE or ALTER ROLE by a
	 * superuser (per database is where applications differ), or by a role
	 * granted SET on it (PostgreSQL 15).
	 */
	DefineCustomStringVariable("audit_chain.hash_detail_keys",
							   "Keys of details whose values audit_chain.events stores as digests only.",
							   "A comma-separated list; matched at any depth, ignoring case.  Each value becomes \"sha256:\" and the hex SHA-256 of its JSON text.",
							   &ac_hash_detail_keys, "", PGC_SUSET, GUC_LIST_INPUT,
							   check_hash_detail_keys, assign_hash_detail_keys, NULL);
	DefineCustomIntVariable("audit_chain.archive_delay",
							"Time archive() and the purge of apply_retention() sleep after each batch.",
							"Like vacuum_cost_delay: a longer archive that leaves more of the machine to the writers.  0 (the default) does not sleep.",
							&ac_archive_delay, 0, 0, 10000, PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	/*
	 * The signing key's file: only where the server's own configuration is
	 * (postgresql.conf, ALTER SYSTEM), as ssl_key_file, and shown to
	 * superusers only (and pg_read_all_settings): the path tells an
	 * attacker which file to steal.
	 */
	DefineCustomStringVariable("audit_chain.signing_key_file",
							   "PEM file of the Ed25519 private key that signs checkpoints.",
							   "Empty (the default): checkpoints are not signed.  The file must be owned by the database user with mode 0600, or by root with mode 0640.",
							   &ac_signing_key_file, "", PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY, NULL, NULL, NULL);
	MarkGUCPrefixReserved("audit_chain");
}
