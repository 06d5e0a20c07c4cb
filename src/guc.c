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

#include "guc.h"

static char *ac_actor = NULL;
static char *ac_purpose = NULL;
static char *ac_legal_basis = NULL;
static char *ac_data_subject = NULL;
static char *ac_session_id = NULL;

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
