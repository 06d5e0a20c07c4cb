/*-------------------------------------------------------------------------
 *
 * cpcheck.c
 *	  verify_chain()'s check of the checkpoints (doc/checkpoints.md).
 *
 * Every stored checkpoint is checked, in checkpoint_id order: its payload
 * is a payload v2 that agrees with its columns, its previous digest is the
 * SHA-256 of the payload of the stored checkpoint before it (a checkpoint
 * deleted or changed in the middle breaks that), and, if signed, its key is
 * in audit_chain.signing_keys, that key's PEM hashes to its key id, and the
 * signature verifies.  Then each published document given to verify_chain()
 * (what export_checkpoint() returned, kept outside the database) is checked
 * the same way on its own, against a trusted public key if one is given, and
 * compared with the stored checkpoint of the same id: a superuser who
 * rewrote the chain and deleted the checkpoints cannot make a published one
 * disappear.
 *
 * Each checkpoint that passes its own checks says what every lane it
 * recorded must hold: its head row (seq, hash, chain_at) and its two
 * boundaries.  These points are collected per lane (by genesis, which names
 * a lane across renames), sorted by seq, one per seq, for verify.c to check
 * during its one walk of each lane, and the highest boundaries recorded, to
 * check that boundaries only moved forward.
 *
 * Problems with the checkpoints themselves are reported in a row of their
 * own (verify.c), the first one in full.
 *
 * IDENTIFICATION
 *	  src/cpcheck.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/base64.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "chaintable.h"
#include "checkpoint.h"
#include "cpcheck.h"
#include "lane.h"
#include "registry.h"
#include "sign.h"

/* Checkpoints read per query */
#define CHECKPOINTS_PER_FETCH 200

/* A registered table, to find a lane whose genesis a checkpoint no longer matches */
typedef struct RegTable
{
	char	   *tbl;			/* percent-encoded, as payloads name it */
	bool		replica;		/* a replica copy (protect_replica()) */
	int			nlanes;
	uint8		genesis[AC_MAX_LANES][AC_HASH_LEN];
} RegTable;

/* A stored checkpoint's payload digest, to compare published ones with */
typedef struct StoredDigest
{
	int64		id;				/* hash key */
	uint8		digest[AC_HASH_LEN];
} StoredDigest;

/* A signing key checked once: does its PEM hash to its key id? */
typedef struct KeyChecked
{
	uint8		key_id[AC_KEY_ID_LEN];
	bool		ok;
	uint8		raw[AC_RAW_KEY_LEN];	/* the key, to check signatures with */
} KeyChecked;

/* The state of the loading */
typedef struct Loader
{
	AcCheckpointCheck *cc;
	List	   *tables;			/* RegTable */
	HTAB	   *stored;			/* StoredDigest by id */
	List	   *keys;			/* KeyChecked */
} Loader;

/*
 * ac_cp_label
 *		How messages name a checkpoint: "checkpoint 7" or "published
 *		checkpoint 7".
 */
char *
ac_cp_label(AcCpLabel cp)
{
	if (cp.foreign)
		return psprintf("the publisher's checkpoint " INT64_FORMAT, cp.id);
	return psprintf("%scheckpoint " INT64_FORMAT,
					cp.published ? "published " : "", cp.id);
}

/*
 * cp_problem
 *		Record a problem with a checkpoint; the first one is reported in
 *		full, the others counted.
 */
static void
cp_problem(AcCheckpointCheck *cc, int64 id, const char *fmt,...)
	pg_attribute_printf(3, 4);

static void
cp_problem(AcCheckpointCheck *cc, int64 id, const char *fmt,...)
{
	va_list		args;

	cc->nproblems++;
	if (cc->bad)
		return;
	va_start(args, fmt);
	cc->problem = ac_vformat_in(cc->cxt, fmt, args);
	va_end(args);
	cc->bad = true;
	cc->first_bad_id = id;
}

/*
 * load_registry
 *		An AcLaneExpect for every registered lane, by genesis, and the
 *		registered tables by name.
 */
static void
load_registry(Loader *ld)
{
	HASHCTL		ctl;
	List	   *roots = ac_registry_tables();
	ListCell   *lc;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = AC_HASH_LEN;
	ctl.entrysize = sizeof(AcLaneExpect);
	ctl.hcxt = CurrentMemoryContext;
	ld->cc->by_genesis = hash_create("audit_chain checkpoint lanes", 64, &ctl,
									 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	foreach(lc, roots)
	{
		Oid			root = lfirst_oid(lc);
		AcLaneStart starts[AC_MAX_LANES];
		bool		numbered;
		int			n;
		RegTable   *rt = palloc0(sizeof(RegTable));

		memset(starts, 0, sizeof(starts));
		n = ac_registry_lanes(root, InvalidSnapshot, starts, &numbered);
		rt->tbl = ac_encoded_relname(root);
		rt->nlanes = Min(n, AC_MAX_LANES);
		for (int i = 0; i < rt->nlanes; i++)
		{
			AcLaneExpect *e;
			bool		found;

			if (!starts[i].valid)
				continue;
			memcpy(rt->genesis[i], starts[i].genesis, AC_HASH_LEN);
			rt->replica |= starts[i].replica;
			e = hash_search(ld->cc->by_genesis, starts[i].genesis, HASH_ENTER, &found);
			if (found)
				continue;		/* two lanes with one genesis: verify reports it */
			e->root = root;
			e->lane = i;
			e->replica = starts[i].replica;
			e->npoints = 0;
			e->maxpoints = 0;
			e->points = NULL;
			e->last[0] = e->last[1] = e->last[2] = -1;
			e->has_bounds = false;
			e->genesis_changed = false;
			e->stored_match_id = 0;
			e->stored_mismatch_id = 0;
		}
		if (rt->tbl != NULL)
			ld->tables = lappend(ld->tables, rt);
	}
}

/*
 * add_point
 *		Add a point to a lane's expectations, unless the last one of its kind
 *		is the same row (an idle lane's head, or boundaries that did not
 *		move, in checkpoint after checkpoint).
 */
static void
add_point(MemoryContext cxt, AcLaneExpect *e, char kind, int64 seq, const uint8 *hash,
		  bool has_at, int64 at_us, AcCpLabel cp)
{
	int			k = kind == AC_POINT_HEAD ? 0 : kind == AC_POINT_START ? 1 : 2;
	AcExpPoint *p;

	if (e->last[k] >= 0)
	{
		p = &e->points[e->last[k]];
		if (p->seq == seq && memcmp(p->hash, hash, AC_HASH_LEN) == 0 &&
			p->has_at == has_at && (!has_at || p->at_us == at_us))
			return;
	}
	if (e->npoints == e->maxpoints)
	{
		e->maxpoints = e->maxpoints == 0 ? 8 : e->maxpoints * 2;
		e->points = e->points == NULL ?
			MemoryContextAlloc(cxt, sizeof(AcExpPoint) * e->maxpoints) :
			repalloc(e->points, sizeof(AcExpPoint) * e->maxpoints);
	}
	p = &e->points[e->npoints];
	p->seq = seq;
	memcpy(p->hash, hash, AC_HASH_LEN);
	p->has_at = has_at;
	p->at_us = at_us;
	p->kind = kind;
	p->cp = cp;
	e->last[k] = e->npoints++;
}

/*
 * is_foreign
 *		Whether a published checkpoint is the publisher's, not this
 *		database's: it records a lane of a replica copy here (by genesis,
 *		which the publisher made) and no lane sealed here.  A checkpoint of
 *		this database whose replica lanes and local lanes an attacker gave
 *		new genesis hashes is not foreign, and is then missing from
 *		audit_chain.checkpoints and records lanes that are no lane's here.
 */
static bool
is_foreign(Loader *ld, const AcCheckpointPayload *cp)
{
	bool		replica = false;

	for (int i = 0; i < cp->nlanes; i++)
	{
		AcLaneExpect *e;

		/*
		 * audit_chain.events and audit_chain.boundaries have the same
		 * genesis in every database (made by the install script): theirs
		 * are not ours, nor a sign of either.
		 */
		if (strncmp(cp->lanes[i].tbl, "audit_chain.", 12) == 0)
			continue;
		e = hash_search(ld->cc->by_genesis, cp->lanes[i].genesis, HASH_FIND, NULL);
		if (e == NULL)
			continue;
		if (!e->replica)
			return false;
		replica = true;
	}
	return replica;
}

/*
 * add_foreign_lane
 *		What the publisher's checkpoint says of one of its lanes.  A lane
 *		that is replicated here: its head, and the rows at its boundaries
 *		(the publisher's archive or purge does not reach the copy, which is
 *		sent inserts only, so these are rows the copy still holds); the
 *		copy's own boundaries are not the publisher's, so they are not
 *		compared.  A lane not replicated here (the publisher's
 *		audit_chain.events, or a table not published to this database) is
 *		not this database's to check, unless a replica copy here has its
 *		table's name: then the copy's lane has another genesis.
 */
static void
add_foreign_lane(Loader *ld, const AcCheckpointLane *l, AcLaneExpect *e,
				 AcCpLabel label)
{
	if (e == NULL)
	{
		ListCell   *lc;

		foreach(lc, ld->tables)
		{
			RegTable   *rt = lfirst(lc);

			if (rt->replica && strcmp(rt->tbl, l->tbl) == 0)
			{
				cp_problem(ld->cc, label.id,
						   "the publisher's checkpoint " INT64_FORMAT " records lane %d of table %s with genesis %s, which is not the genesis of that lane of the replica copy in audit_chain.chains",
						   label.id, l->lane, l->tbl, ac_hash_hex(l->genesis));
				break;
			}
		}
		return;
	}
	/* the publisher's audit_chain.events or boundaries: see is_foreign() */
	if (!e->replica)
		return;
	if (l->purged_seq > 0)
		add_point(ld->cc->cxt, e, AC_POINT_PURGE, l->purged_seq, l->purged_hash, false, 0, label);
	if (l->start_seq > 0)
		add_point(ld->cc->cxt, e, AC_POINT_START, l->start_seq, l->start_hash, false, 0, label);
	add_point(ld->cc->cxt, e, AC_POINT_HEAD, l->head_seq, l->head_hash, l->head_has_at,
			  l->head_at_us, label);
}

/*
 * add_lanes
 *		What a checkpoint that passed its own checks says of every lane it
 *		recorded, by genesis.
 *
 * A lane line whose genesis is no registered lane's: if its table (by
 * name) is registered, that lane got a new genesis since.  unprotect() and
 * protect() again do that legitimately, so for the stored checkpoints only
 * the newest one that recorded the table counts (as before signing: a new
 * checkpoint accepts the new start); a published checkpoint, the evidence
 * the caller brought, always counts, and so does a lane of it that is gone
 * from the registry altogether.
 */
static void
add_lanes(Loader *ld, const AcCheckpointPayload *cp, AcCpLabel label)
{
	for (int i = 0; i < cp->nlanes; i++)
	{
		const AcCheckpointLane *l = &cp->lanes[i];
		AcLaneExpect *e = hash_search(ld->cc->by_genesis, l->genesis, HASH_FIND, NULL);

		if (label.foreign)
		{
			add_foreign_lane(ld, l, e, label);
			continue;
		}

		if (e == NULL)
		{
			ListCell   *lc;

			foreach(lc, ld->tables)
			{
				RegTable   *rt = lfirst(lc);

				if (strcmp(rt->tbl, l->tbl) != 0 || l->lane >= rt->nlanes)
					continue;
				e = hash_search(ld->cc->by_genesis, rt->genesis[l->lane], HASH_FIND, NULL);
				break;
			}
			if (e != NULL && !label.published)
				e->stored_mismatch_id = Max(e->stored_mismatch_id, label.id);
			else if (e != NULL && !e->genesis_changed)
			{
				e->genesis_changed = true;
				e->genesis_cp = label;
			}
			if (label.published)
				cp_problem(ld->cc, label.id,
						   "published checkpoint " INT64_FORMAT " records lane %d of table %s with genesis %s, which is no lane's genesis in audit_chain.chains: the table was unprotected, or the lane's genesis was replaced",
						   label.id, l->lane, l->tbl, ac_hash_hex(l->genesis));
			continue;
		}
		if (!label.published)
			e->stored_match_id = Max(e->stored_match_id, label.id);

		add_point(ld->cc->cxt, e, AC_POINT_PURGE, l->purged_seq, l->purged_hash, false, 0, label);
		add_point(ld->cc->cxt, e, AC_POINT_START, l->start_seq, l->start_hash, false, 0, label);
		add_point(ld->cc->cxt, e, AC_POINT_HEAD, l->head_seq, l->head_hash, l->head_has_at,
				  l->head_at_us, label);
		if (!e->has_bounds || l->start_seq > e->max_start_seq)
		{
			e->max_start_seq = l->start_seq;
			e->max_start_cp = label;
		}
		if (!e->has_bounds || l->purged_seq > e->max_purged_seq)
		{
			e->max_purged_seq = l->purged_seq;
			e->max_purged_cp = label;
		}
		e->has_bounds = true;
	}
}

/*
 * point_cmp
 *		Points by seq; for one seq, stored checkpoints before published
 *		ones, then by checkpoint id: the first names the point in messages.
 */
static int
point_cmp(const void *a, const void *b)
{
	const AcExpPoint *pa = (const AcExpPoint *) a;
	const AcExpPoint *pb = (const AcExpPoint *) b;

	if (pa->seq != pb->seq)
		return pa->seq < pb->seq ? -1 : 1;
	if (pa->cp.published != pb->cp.published)
		return pa->cp.published ? 1 : -1;
	if (pa->cp.id != pb->cp.id)
		return pa->cp.id < pb->cp.id ? -1 : 1;
	return (pa->kind > pb->kind) - (pa->kind < pb->kind);
}

/*
 * finish_points
 *		Sort every lane's points and keep one per seq.  Two checkpoints that
 *		record different rows at one seq of one lane cannot both be right:
 *		that is a problem of the checkpoints.
 */
static void
finish_points(Loader *ld)
{
	HASH_SEQ_STATUS status;
	AcLaneExpect *e;

	hash_seq_init(&status, ld->cc->by_genesis);
	while ((e = hash_seq_search(&status)) != NULL)
	{
		int			n = 0;

		/* the newest stored checkpoint of the table had another genesis */
		if (!e->genesis_changed && e->stored_mismatch_id > e->stored_match_id)
		{
			e->genesis_changed = true;
			e->genesis_cp.id = e->stored_mismatch_id;
			e->genesis_cp.published = false;
			e->genesis_cp.foreign = false;
		}
		if (e->npoints < 2)
			continue;
		qsort(e->points, e->npoints, sizeof(AcExpPoint), point_cmp);
		for (int i = 0; i < e->npoints; i++)
		{
			if (n > 0 && e->points[n - 1].seq == e->points[i].seq)
			{
				AcExpPoint *kept = &e->points[n - 1];
				AcExpPoint *p = &e->points[i];

				if (memcmp(kept->hash, p->hash, AC_HASH_LEN) != 0 ||
					(kept->has_at && p->has_at && kept->at_us != p->at_us))
				{
					char	   *name = ac_encoded_relname(e->root);

					cp_problem(ld->cc, p->cp.id,
							   "%s and %s record different rows at chain_seq " INT64_FORMAT " of lane %d of table %s",
							   ac_cp_label(kept->cp), ac_cp_label(p->cp),
							   p->seq, e->lane,
							   name ? name : psprintf("with OID %u", e->root));
				}
				else if (p->has_at && !kept->has_at)
				{
					kept->has_at = true;
					kept->at_us = p->at_us;
				}
				continue;
			}
			e->points[n++] = e->points[i];
		}
		e->npoints = n;
	}
}

/*
 * check_key
 *		The key key_id of audit_chain.signing_keys, PEM pem, parsed once per
 *		key: NULL if the PEM is no Ed25519 key or does not hash to key_id.
 */
static KeyChecked *
check_key(Loader *ld, const uint8 *key_id, const char *pem)
{
	ListCell   *lc;
	KeyChecked *k;
	uint8		computed[AC_KEY_ID_LEN];
	char	   *why;
	MemoryContext old;

	foreach(lc, ld->keys)
	{
		k = lfirst(lc);
		if (memcmp(k->key_id, key_id, AC_KEY_ID_LEN) == 0)
			return k->ok ? k : NULL;
	}
	k = MemoryContextAllocZero(ld->cc->cxt, sizeof(KeyChecked));
	memcpy(k->key_id, key_id, AC_KEY_ID_LEN);
	k->ok = ac_public_key_parse(pem, computed, k->raw, &why) &&
		memcmp(computed, key_id, AC_KEY_ID_LEN) == 0;
	old = MemoryContextSwitchTo(ld->cc->cxt);
	ld->keys = lappend(ld->keys, k);
	MemoryContextSwitchTo(old);
	return k->ok ? k : NULL;
}

/*
 * check_one_stored
 *		One stored checkpoint (the columns of a row of the query in
 *		check_stored): its own checks, its link to the one before (prev, or
 *		none yet), and, if it passes, what it says of the lanes.
 */
static void
check_one_stored(Loader *ld, int64 id, TimestampTz created_at, bytea *payload,
				 bytea *sig, bytea *key_id, const char *pem,
				 bool *have_prev, int64 *prev_id, uint8 *prev_digest)
{
	AcCheckpointCheck *cc = ld->cc;
	const char *data = VARDATA_ANY(payload);
	int			len = VARSIZE_ANY_EXHDR(payload);
	AcCheckpointPayload *cp;
	char	   *why = NULL;
	uint8		digest[AC_HASH_LEN];
	StoredDigest *sd;
	KeyChecked *key;
	AcCpLabel	label = {id, false, false};

	ac_sha256(data, len, digest);
	sd = hash_search(ld->stored, &id, HASH_ENTER, NULL);
	memcpy(sd->digest, digest, AC_HASH_LEN);
	cc->checked++;
	cc->any = true;

	cp = ac_parse_checkpoint(data, len, &why);
	if (cp == NULL)
	{
		cp_problem(cc, id, "checkpoint " INT64_FORMAT ": its payload is not a checkpoint payload v2: %s",
				   id, why);
		goto link;
	}
	if (cp->checkpoint_id != id ||
		strcmp(cp->created_at, ac_checkpoint_time(created_at)) != 0)
	{
		cp_problem(cc, id, "checkpoint " INT64_FORMAT ": its checkpoint_id or created_at column is not what its payload says",
				   id);
		cp = NULL;
	}
	else if (cp->has_key_id != (key_id != NULL) ||
			 (key_id != NULL &&
			  (VARSIZE_ANY_EXHDR(key_id) != AC_KEY_ID_LEN ||
			   memcmp(VARDATA_ANY(key_id), cp->key_id, AC_KEY_ID_LEN) != 0)))
	{
		cp_problem(cc, id, "checkpoint " INT64_FORMAT ": its key_id column is not the key_id line of its payload",
				   id);
		cp = NULL;
	}
	else if (!cp->has_key_id && sig != NULL)
	{
		cp_problem(cc, id, "checkpoint " INT64_FORMAT " has a signature, but its payload names no key",
				   id);
		cp = NULL;
	}
	else if (cp->has_key_id)
	{
		if (sig == NULL)
		{
			cp_problem(cc, id, "checkpoint " INT64_FORMAT " has no signature, but its payload names key %s",
					   id, ac_hash_hex(cp->key_id));
			cp = NULL;
		}
		else if (pem == NULL)
		{
			cp_problem(cc, id, "checkpoint " INT64_FORMAT " is signed by key %s, which is not in audit_chain.signing_keys",
					   id, ac_hash_hex(cp->key_id));
			cp = NULL;
		}
		else if ((key = check_key(ld, cp->key_id, pem)) == NULL)
		{
			cp_problem(cc, id, "the public key of key %s in audit_chain.signing_keys does not hash to its key_id: it was replaced (checkpoint " INT64_FORMAT ")",
					   ac_hash_hex(cp->key_id), id);
			cp = NULL;
		}
		else if (!ac_raw_signature_valid(key->raw, data, len,
										 (const uint8 *) VARDATA_ANY(sig),
										 VARSIZE_ANY_EXHDR(sig), &why))
		{
			cp_problem(cc, id, "the signature of checkpoint " INT64_FORMAT " does not verify with key %s: its payload or signature was changed",
					   id, ac_hash_hex(cp->key_id));
			cp = NULL;
		}
	}

	/* the chain of checkpoints, from the payload whatever else is wrong */
link:
	if (cp == NULL)
		cp = ac_parse_checkpoint(data, len, &why);
	else
		add_lanes(ld, cp, label);
	if (cp != NULL)
	{
		if (!*have_prev && cp->has_previous)
			cp_problem(cc, id, "checkpoint " INT64_FORMAT " follows a checkpoint that is no longer in audit_chain.checkpoints: checkpoints before it were deleted",
					   id);
		else if (*have_prev &&
				 (!cp->has_previous || memcmp(cp->previous, prev_digest, AC_HASH_LEN) != 0))
			cp_problem(cc, id, "checkpoint " INT64_FORMAT " does not follow checkpoint " INT64_FORMAT ": its previous digest is not the SHA-256 of that checkpoint's payload (a checkpoint between them was deleted, or one of them was changed)",
					   id, *prev_id);
	}
	*have_prev = true;
	*prev_id = id;
	memcpy(prev_digest, digest, AC_HASH_LEN);
}

/*
 * check_stored
 *		Every stored checkpoint, in checkpoint_id order, read as the owner of
 *		audit_chain.checkpoints a batch at a time.  Must be called inside
 *		SPI.
 */
static void
check_stored(Loader *ld)
{
	Oid			owner = ac_table_owner("checkpoints", false);
	Oid			argtypes[1] = {INT8OID};
	int64		after = PG_INT64_MIN;
	bool		have_prev = false;
	int64		prev_id = 0;
	uint8		prev_digest[AC_HASH_LEN];
	MemoryContext rowcxt = AllocSetContextCreate(CurrentMemoryContext,
												 "audit_chain checkpoint row",
												 ALLOCSET_DEFAULT_SIZES);
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(StoredDigest);
	ctl.hcxt = CurrentMemoryContext;
	ld->stored = hash_create("audit_chain stored checkpoints", 64, &ctl,
							 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	for (;;)
	{
		Datum		args[1] = {Int64GetDatum(after)};
		SPITupleTable *tt;
		uint64		n;
		int			ret;

		ret = ac_execute_as_ro(owner, NULL,
							"SELECT c.checkpoint_id, c.created_at, c.payload, c.signature, "
							"c.key_id, k.public_key "
							"FROM audit_chain.checkpoints c "
							"LEFT JOIN audit_chain.signing_keys k "
							"ON k.key_id OPERATOR(pg_catalog.=) c.key_id "
							"WHERE c.checkpoint_id OPERATOR(pg_catalog.>) $1 "
							"ORDER BY c.checkpoint_id LIMIT " CppAsString2(CHECKPOINTS_PER_FETCH),
							1, argtypes, args, NULL, true);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
		tt = SPI_tuptable;
		n = SPI_processed;
		for (uint64 i = 0; i < n; i++)
		{
			HeapTuple	tup = tt->vals[i];
			TupleDesc	td = tt->tupdesc;
			bool		isnull;
			int64		id = DatumGetInt64(SPI_getbinval(tup, td, 1, &isnull));
			TimestampTz at = DatumGetTimestampTz(SPI_getbinval(tup, td, 2, &isnull));
			Datum		d;
			bytea	   *payload;
			bytea	   *sig = NULL;
			bytea	   *key_id = NULL;
			char	   *pem = NULL;
			MemoryContext old;

			CHECK_FOR_INTERRUPTS();
			old = MemoryContextSwitchTo(rowcxt);
			payload = DatumGetByteaPP(SPI_getbinval(tup, td, 3, &isnull));
			d = SPI_getbinval(tup, td, 4, &isnull);
			if (!isnull)
				sig = DatumGetByteaPP(d);
			d = SPI_getbinval(tup, td, 5, &isnull);
			if (!isnull)
				key_id = DatumGetByteaPP(d);
			d = SPI_getbinval(tup, td, 6, &isnull);
			if (!isnull)
				pem = TextDatumGetCString(d);
			/* in rowcxt: what it says of the lanes is kept in cc->cxt */
			check_one_stored(ld, id, at, payload, sig, key_id, pem,
							 &have_prev, &prev_id, prev_digest);
			MemoryContextSwitchTo(old);
			MemoryContextReset(rowcxt);
			after = id;
		}
		SPI_freetuptable(tt);
		if (n < CHECKPOINTS_PER_FETCH)
			break;
	}
	MemoryContextDelete(rowcxt);
}

/*
 * bad_document
 *		A published document that is not an export of a checkpoint at all:
 *		the caller passed the wrong thing.
 */
static void
bad_document(int64 ord, const char *why)
	pg_attribute_noreturn();

static void
bad_document(int64 ord, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("published checkpoint document " INT64_FORMAT " is not a checkpoint export", ord),
			 errdetail("%s", why),
			 errhint("Pass documents as audit_chain.export_checkpoint() returns them: one JSON object, or a JSON array of them.")));
}

/*
 * decode_base64
 *		Decode base64 text (RFC 4648, padded, no line breaks) into a palloc'd
 *		buffer; false if it is not base64.
 */
static bool
decode_base64(const char *text, char **out, int *outlen)
{
	int			len = strlen(text);
	char	   *buf = palloc(pg_b64_dec_len(len) + 1);
	int			n = pg_b64_decode(text, len, buf, pg_b64_dec_len(len));

	if (n < 0 || len % 4 != 0)
		return false;
	*out = buf;
	*outlen = n;
	return true;
}

/*
 * check_published
 *		Every published document (one JSON object, or an array of them): on
 *		its own as a stored checkpoint is, against the trusted key if one is
 *		given, and against the stored checkpoint of the same id.  Must be
 *		called inside SPI, after check_stored.
 */
static void
check_published(Loader *ld, Datum published, const char *trusted_key)
{
	AcCheckpointCheck *cc = ld->cc;
	Oid			argtypes[1] = {JSONOID};
	Datum		args[1] = {published};
	uint8		trusted_id[AC_KEY_ID_LEN];
	char	   *why;
	SPITupleTable *tt;
	uint64		n;
	int			ret;

	if (trusted_key != NULL && !ac_public_key_id(trusted_key, trusted_id, &why))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the trusted key is not an Ed25519 public key in PEM"),
				 errdetail("OpenSSL says: %s.", why),
				 errhint("Pass the public key the administrator published, as openssl pkey -pubout writes it.")));

	ret = SPI_execute_with_args("SELECT t.ord, pg_catalog.json_typeof(t.d), "
								"pg_catalog.json_extract_path_text(t.d, 'format'), "
								"pg_catalog.json_extract_path_text(t.d, 'checkpoint_id'), "
								"pg_catalog.json_extract_path_text(t.d, 'created_at'), "
								"pg_catalog.json_extract_path_text(t.d, 'payload'), "
								"pg_catalog.json_extract_path_text(t.d, 'signature'), "
								"pg_catalog.json_extract_path_text(t.d, 'key_id'), "
								"pg_catalog.json_extract_path_text(t.d, 'public_key') "
								"FROM pg_catalog.json_array_elements("
								"CASE WHEN pg_catalog.json_typeof($1) OPERATOR(pg_catalog.=) 'array' THEN $1 "
								"ELSE pg_catalog.json_build_array($1) END) "
								"WITH ORDINALITY AS t(d, ord)",
								1, argtypes, args, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	tt = SPI_tuptable;
	n = SPI_processed;
	if (n == 0)
		bad_document(0, "The array of published checkpoints is empty.");
	for (uint64 i = 0; i < n; i++)
	{
		HeapTuple	tup = tt->vals[i];
		TupleDesc	td = tt->tupdesc;
		bool		isnull;
		int64		ord = DatumGetInt64(SPI_getbinval(tup, td, 1, &isnull));
		char	   *type = SPI_getvalue(tup, td, 2);
		char	   *format = SPI_getvalue(tup, td, 3);
		char	   *id_text = SPI_getvalue(tup, td, 4);
		char	   *created_at = SPI_getvalue(tup, td, 5);
		char	   *payload_b64 = SPI_getvalue(tup, td, 6);
		char	   *sig_b64 = SPI_getvalue(tup, td, 7);
		char	   *key_hex = SPI_getvalue(tup, td, 8);
		char	   *pem = SPI_getvalue(tup, td, 9);
		char	   *payload;
		int			payload_len;
		char	   *sig = NULL;
		int			sig_len = 0;
		int64		id;
		char	   *end;
		AcCheckpointPayload *cp;
		AcCpLabel	label;
		StoredDigest *sd;
		uint8		digest[AC_HASH_LEN];
		uint8		computed[AC_KEY_ID_LEN];

		CHECK_FOR_INTERRUPTS();
		if (type == NULL || strcmp(type, "object") != 0)
			bad_document(ord, "It is not a JSON object.");
		if (format == NULL || strcmp(format, AC_EXPORT_V1) != 0)
			bad_document(ord, "Its \"format\" is not \"" AC_EXPORT_V1 "\".");
		errno = 0;
		id = id_text ? strtoi64(id_text, &end, 10) : 0;
		if (id_text == NULL || errno != 0 || *end != '\0' || id_text[0] == '\0')
			bad_document(ord, "Its \"checkpoint_id\" is not an integer.");
		if (payload_b64 == NULL || !decode_base64(payload_b64, &payload, &payload_len))
			bad_document(ord, "Its \"payload\" is not base64.");
		if (sig_b64 != NULL && !decode_base64(sig_b64, &sig, &sig_len))
			bad_document(ord, "Its \"signature\" is not base64.");

		label.id = id;
		label.published = true;
		label.foreign = false;
		cc->checked++;
		cc->any = true;

		cp = ac_parse_checkpoint(payload, payload_len, &why);
		if (cp == NULL)
		{
			cp_problem(cc, id, "published checkpoint " INT64_FORMAT ": its payload is not a checkpoint payload v2: %s",
					   id, why);
			continue;
		}
		if (cp->checkpoint_id != id || created_at == NULL ||
			strcmp(cp->created_at, created_at) != 0)
		{
			cp_problem(cc, id, "published checkpoint " INT64_FORMAT ": its checkpoint_id or created_at is not what its payload says",
					   id);
			continue;
		}
		if (cp->has_key_id != (key_hex != NULL) ||
			(key_hex != NULL && strcmp(key_hex, ac_hash_hex(cp->key_id)) != 0))
		{
			cp_problem(cc, id, "published checkpoint " INT64_FORMAT ": its key_id is not the key_id line of its payload",
					   id);
			continue;
		}
		if (!cp->has_key_id)
		{
			if (trusted_key != NULL)
			{
				cp_problem(cc, id, "published checkpoint " INT64_FORMAT " is not signed, but a trusted key was given",
						   id);
				continue;
			}
		}
		else if (!ac_public_key_id(pem, computed, &why) ||
				 memcmp(computed, cp->key_id, AC_KEY_ID_LEN) != 0)
		{
			cp_problem(cc, id, "published checkpoint " INT64_FORMAT ": its public key does not hash to its key_id",
					   id);
			continue;
		}
		else if (!ac_signature_valid(pem, payload, payload_len,
									 (const uint8 *) sig, sig_len, &why))
		{
			cp_problem(cc, id, "published checkpoint " INT64_FORMAT ": %s",
					   id, why);
			continue;
		}
		else if (trusted_key != NULL &&
				 (memcmp(trusted_id, cp->key_id, AC_KEY_ID_LEN) != 0 ||
				  !ac_signature_valid(trusted_key, payload, payload_len,
									  (const uint8 *) sig, sig_len, &why)))
		{
			cp_problem(cc, id, "published checkpoint " INT64_FORMAT " is not signed by the trusted key (it names key %s)",
					   id, ac_hash_hex(cp->key_id));
			continue;
		}

		/*
		 * The publisher's checkpoint (verifying a replica copy): it is in
		 * the publisher's audit_chain.checkpoints, not in ours.
		 */
		label.foreign = is_foreign(ld, cp);
		if (label.foreign)
		{
			add_lanes(ld, cp, label);
			continue;
		}

		/* the evidence: the database must still hold it, unchanged */
		ac_sha256(payload, payload_len, digest);
		sd = hash_search(ld->stored, &id, HASH_FIND, NULL);
		if (sd == NULL)
			cp_problem(cc, id, "published checkpoint " INT64_FORMAT " is missing from audit_chain.checkpoints",
					   id);
		else if (memcmp(sd->digest, digest, AC_HASH_LEN) != 0)
			cp_problem(cc, id, "published checkpoint " INT64_FORMAT " differs from checkpoint " INT64_FORMAT " in audit_chain.checkpoints",
					   id, id);
		add_lanes(ld, cp, label);
	}
	SPI_freetuptable(tt);
}

/*
 * ac_check_checkpoints
 *		Check every stored checkpoint and every published one given (a
 *		json object or array, if has_published; trusted_key a PEM public key
 *		or NULL), and collect what they say of each registered lane.  Made in
 *		CurrentMemoryContext, which must last for the whole verification.
 *		Must be called inside SPI.
 */
AcCheckpointCheck *
ac_check_checkpoints(bool has_published, Datum published,
					 const char *trusted_key)
{
	Loader		ld;

	memset(&ld, 0, sizeof(ld));
	ld.cc = palloc0(sizeof(AcCheckpointCheck));
	ld.cc->cxt = CurrentMemoryContext;
	load_registry(&ld);
	check_stored(&ld);
	if (has_published)
		check_published(&ld, published, trusted_key);
	finish_points(&ld);
	if (ld.cc->nproblems > 1)
		ld.cc->problem = psprintf("%s (and %d more problems with checkpoints)",
								  ld.cc->problem, ld.cc->nproblems - 1);
	return ld.cc;
}

/*
 * ac_lane_expect
 *		What the checkpoints say of the registered lane with this genesis,
 *		or NULL.
 */
AcLaneExpect *
ac_lane_expect(AcCheckpointCheck *cc, const uint8 *genesis)
{
	if (cc == NULL || cc->by_genesis == NULL)
		return NULL;
	return hash_search(cc->by_genesis, genesis, HASH_FIND, NULL);
}
