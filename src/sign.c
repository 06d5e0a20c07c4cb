/*-------------------------------------------------------------------------
 *
 * sign.c
 *	  Ed25519 signatures of checkpoints (doc/checkpoints.md section 2): the
 *	  signing key named by audit_chain.signing_key_file, key ids, and
 *	  checking a signature with a public key.
 *
 * The private key is read from its file for each checkpoint, held only
 * while the payload is built and signed, and freed (OpenSSL clears it) by
 * ac_signer_close(), which checkpoint() calls on error too.  The file's
 * bytes are cleared as soon as OpenSSL has parsed them.  No message names
 * anything of the key but the file's name and, for a wrong key, its type.
 *
 * The key file must be as private as PostgreSQL asks ssl_key_file to be
 * (src/backend/libpq/be-secure-common.c): owned by the server's OS user
 * with no access for group or others, or owned by root with at most group
 * read.
 *
 * IDENTIFICATION
 *	  src/sign.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "storage/fd.h"
#include "utils/memutils.h"

#include "guc.h"
#include "hash.h"
#include "sign.h"

/* A key file is a few hundred bytes; refuse anything absurd */
#define MAX_KEY_FILE_SIZE	65536

struct AcSigner
{
	EVP_PKEY   *pkey;
};

/*
 * no_passphrase
 *		OpenSSL's passphrase callback: there is none to give (an encrypted
 *		key is refused), and being asked tells that the key is encrypted.
 */
static int
no_passphrase(char *buf, int size, int rwflag, void *userdata)
{
	*(bool *) userdata = true;
	return -1;
}

/*
 * check_key_file_permissions
 *		Refuse a key file that others could read or change: the rule of
 *		PostgreSQL's ssl_key_file.
 */
static void
check_key_file_permissions(const char *path, const struct stat *st)
{
	if (!S_ISREG(st->st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("signing key file \"%s\" is not a regular file", path),
				 errhint("Set audit_chain.signing_key_file to the PEM file of an Ed25519 private key.")));
	if (st->st_uid != geteuid() && st->st_uid != 0)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("signing key file \"%s\" must be owned by the database user or root",
						path),
				 errhint("Run chown on the file: the user the server runs as, or root.")));
	if ((st->st_uid == geteuid() && (st->st_mode & (S_IRWXG | S_IRWXO)) != 0) ||
		(st->st_uid == 0 && (st->st_mode & (S_IWGRP | S_IXGRP | S_IRWXO)) != 0))
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("signing key file \"%s\" has group or world access", path),
				 errdetail("File must have permissions u=rw (0600) or less if owned by the database user, or permissions u=rw,g=r (0640) or less if owned by root."),
				 errhint("Run chmod 600 on the file.")));
}

/*
 * read_key_file
 *		The bytes of the key file (NUL-terminated, *len of them), after its
 *		ownership and permissions are checked.  The caller clears them.
 */
static char *
read_key_file(const char *path, size_t *len)
{
	struct stat st;
	char	   *buf;
	int			fd;
	size_t		done = 0;

	if (stat(path, &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not access signing key file \"%s\": %m", path),
				 errhint("Set audit_chain.signing_key_file to the PEM file of an Ed25519 private key, or to '' to take unsigned checkpoints, and reload the configuration.")));
	check_key_file_permissions(path, &st);
	if (st.st_size <= 0 || st.st_size > MAX_KEY_FILE_SIZE)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("signing key file \"%s\" is not a PEM private key", path),
				 errdetail("The file is %lld bytes long.", (long long) st.st_size),
				 errhint("Make a key with: openssl genpkey -algorithm ed25519 -out signing.key")));

	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open signing key file \"%s\": %m", path)));
	buf = palloc(st.st_size + 1);
	while (done < (size_t) st.st_size)
	{
		ssize_t		n = read(fd, buf + done, st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
		{
			int			save_errno = errno;

			OPENSSL_cleanse(buf, done);
			CloseTransientFile(fd);
			errno = save_errno;
			ereport(ERROR,
					(errcode_for_file_access(),
					 n < 0 ?
					 errmsg("could not read signing key file \"%s\": %m", path) :
					 errmsg("could not read signing key file \"%s\": it changed while being read", path)));
		}
		done += n;
	}
	CloseTransientFile(fd);
	buf[done] = '\0';
	*len = done;
	return buf;
}

/*
 * public_key_of
 *		The key id (SHA-256 of the DER SubjectPublicKeyInfo) and the PEM of
 *		the public half of pkey.  Returns false if OpenSSL cannot write it.
 */
static bool
public_key_of(EVP_PKEY *pkey, AcPublicKey *pub)
{
	unsigned char *der = NULL;
	int			derlen;
	BIO		   *bio;
	char	   *data;
	long		len;

	derlen = i2d_PUBKEY(pkey, &der);
	if (derlen <= 0)
		return false;
	ac_sha256(der, derlen, pub->key_id);
	OPENSSL_free(der);

	bio = BIO_new(BIO_s_mem());
	if (bio == NULL)
		return false;
	if (PEM_write_bio_PUBKEY(bio, pkey) != 1 ||
		(len = BIO_get_mem_data(bio, &data)) <= 0)
	{
		BIO_free(bio);
		return false;
	}
	pub->pem = pnstrdup(data, len);
	BIO_free(bio);
	return true;
}

/*
 * ac_signer_open
 *		Open the signing key of audit_chain.signing_key_file, and describe
 *		its public half in *pub; NULL if the setting is empty (checkpoints
 *		are then unsigned).  Every problem with the file is an error that
 *		names the file and says what to do.  The caller must pass the result
 *		to ac_signer_close(), also on error (PG_FINALLY).
 */
AcSigner *
ac_signer_open(AcPublicKey *pub)
{
	const char *path = ac_signing_key_file;
	char	   *buf;
	size_t		len;
	BIO		   *bio;
	EVP_PKEY   *pkey;
	bool		asked = false;
	bool		encrypted;
	int			type;
	AcSigner   *signer;

	if (path == NULL || path[0] == '\0')
		return NULL;

	/* allocated first: nothing can fail between making the key and keeping it */
	signer = MemoryContextAllocZero(TopTransactionContext, sizeof(AcSigner));
	buf = read_key_file(path, &len);
	encrypted = strstr(buf, "-----BEGIN ENCRYPTED PRIVATE KEY-----") != NULL ||
		strstr(buf, "Proc-Type: 4,ENCRYPTED") != NULL;
	pkey = NULL;
	if (!encrypted)
	{
		bio = BIO_new_mem_buf(buf, (int) len);
		if (bio != NULL)
		{
			pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, &asked);
			BIO_free(bio);
		}
	}
	OPENSSL_cleanse(buf, len);
	pfree(buf);
	ERR_clear_error();

	if (encrypted || asked)
	{
		EVP_PKEY_free(pkey);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("signing key file \"%s\" holds an encrypted key", path),
				 errdetail("The server cannot ask for a passphrase."),
				 errhint("Store the key unencrypted, readable only by the database user (chmod 600).")));
	}
	if (pkey == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("signing key file \"%s\" is not a PEM private key", path),
				 errhint("Make a key with: openssl genpkey -algorithm ed25519 -out signing.key")));
	type = EVP_PKEY_get_base_id(pkey);
	if (type != EVP_PKEY_ED25519)
	{
		const char *name = OBJ_nid2sn(type);

		EVP_PKEY_free(pkey);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("signing key file \"%s\" does not hold an Ed25519 key", path),
				 errdetail("The key is of type %s.", name ? name : "unknown"),
				 errhint("Make a key with: openssl genpkey -algorithm ed25519 -out signing.key")));
	}

	signer->pkey = pkey;
	if (!public_key_of(pkey, pub))
	{
		ac_signer_close(signer);
		ERR_clear_error();
		elog(ERROR, "could not write the public key of the signing key");
	}
	return signer;
}

/*
 * ac_signer_sign
 *		The Ed25519 signature (RFC 8032, pure: no digest) of data into sig
 *		(AC_SIG_LEN bytes).
 */
void
ac_signer_sign(AcSigner *signer, const char *data, size_t len, uint8 *sig)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t		siglen = AC_SIG_LEN;
	bool		ok;

	ok = ctx != NULL &&
		EVP_DigestSignInit(ctx, NULL, NULL, NULL, signer->pkey) == 1 &&
		EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *) data, len) == 1 &&
		siglen == AC_SIG_LEN;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	if (!ok)
		elog(ERROR, "could not sign the checkpoint with the signing key");
}

/*
 * ac_signer_close
 *		Free the key (OpenSSL clears its private bytes).  NULL is fine.
 */
void
ac_signer_close(AcSigner *signer)
{
	if (signer == NULL)
		return;
	EVP_PKEY_free(signer->pkey);
	signer->pkey = NULL;
	pfree(signer);
}

/*
 * read_public_key
 *		Parse a PEM SubjectPublicKeyInfo that must be Ed25519; NULL with
 *		*why set if it is not one.
 */
static EVP_PKEY *
read_public_key(const char *pem, char **why)
{
	BIO		   *bio;
	EVP_PKEY   *pkey;

	if (pem == NULL)
	{
		*why = "no public key";
		return NULL;
	}
	bio = BIO_new_mem_buf(pem, -1);
	if (bio == NULL)
	{
		*why = "out of memory";
		return NULL;
	}
	pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (pkey == NULL)
	{
		*why = "the public key is not a PEM public key";
		return NULL;
	}
	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519)
	{
		EVP_PKEY_free(pkey);
		*why = "the public key is not an Ed25519 key";
		return NULL;
	}
	return pkey;
}

/*
 * ac_public_key_id
 *		The key id of a PEM Ed25519 public key into key_id; false with *why
 *		set if it is not one.
 */
bool
ac_public_key_id(const char *pem, uint8 *key_id, char **why)
{
	EVP_PKEY   *pkey = read_public_key(pem, why);
	unsigned char *der = NULL;
	int			derlen;

	if (pkey == NULL)
		return false;
	derlen = i2d_PUBKEY(pkey, &der);
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	if (derlen <= 0)
	{
		*why = "the public key cannot be encoded";
		return false;
	}
	ac_sha256(der, derlen, key_id);
	OPENSSL_free(der);
	return true;
}

/*
 * ac_signature_valid
 *		Whether sig is a valid Ed25519 signature of payload by the PEM public
 *		key pem; false with *why set if it is not (or the key is unusable).
 */
bool
ac_signature_valid(const char *pem, const char *payload, int payload_len,
				   const uint8 *sig, int sig_len, char **why)
{
	EVP_PKEY   *pkey;
	EVP_MD_CTX *ctx;
	bool		ok;

	if (sig == NULL || sig_len != AC_SIG_LEN)
	{
		*why = "the signature is not 64 bytes long";
		return false;
	}
	pkey = read_public_key(pem, why);
	if (pkey == NULL)
		return false;
	ctx = EVP_MD_CTX_new();
	ok = ctx != NULL &&
		EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
		EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *) payload,
						 payload_len) == 1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	if (!ok)
		*why = "the signature does not verify";
	return ok;
}
