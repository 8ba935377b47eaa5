/* upload.c — resumable uploads: rows in `uploads`, chunks in the store (see upload.h).
 *
 * The order of writes is what makes a crash harmless: a chunk object is committed before the
 * row's offset moves past it; an outcome is recorded before the chunks are deleted; a row is
 * marked expired before its chunks go, and its chunks are deleted before the row is. So a
 * row never names bytes that are missing, and stray objects are only ever under a prefix
 * whose row will still delete them. */
#include "ingest/upload.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "db/db.h"
#include "store/store.h"

#define DEFAULT_MAX_SIZE ((uint64_t)2 << 30)
#define DEFAULT_EXPIRY_MS (24LL * 3600 * 1000)
#define DEFAULT_LEASE_MS (10LL * 60 * 1000)
/* Finished rows and tombstones are kept this long after their last change. */
#define KEEP_DONE_MS (7LL * 24 * 3600 * 1000)
/* Each chunk is an object: bound how many one upload may make (64 KiB chunks still reach
 * 6 GiB). */
#define UPLOAD_CHUNKS_MAX 100000
#define SWEEP_BATCH 100

struct uploads {
	struct db *db;
	struct store *store;
	struct upload_options opt;
};

static const char *const state_names[] = { "receiving", "complete", "refused", "expired" };

const char *upload_state_name(enum upload_state s)
{
	return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "unknown";
}

static enum upload_state state_parse(const char *s)
{
	for (size_t i = 0; s && i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (strcmp(s, state_names[i]) == 0)
			return (enum upload_state)i;
	return UPLOAD_RECEIVING;
}

struct uploads *upload_new(struct db *db, struct store *store, const struct upload_options *opt,
			   struct err *e)
{
	struct uploads *u;

	if (!db || !store || !opt || !opt->complete) {
		err_set(e, ERR_INVALID, "uploads: a database, a store and a completion function are required");
		return NULL;
	}
	u = calloc(1, sizeof(*u));
	if (!u) {
		err_set(e, ERR_NOMEM, "uploads: out of memory");
		return NULL;
	}
	u->db = db;
	u->store = store;
	u->opt = *opt;
	if (!u->opt.max_size)
		u->opt.max_size = DEFAULT_MAX_SIZE;
	if (u->opt.expiry_ms <= 0)
		u->opt.expiry_ms = DEFAULT_EXPIRY_MS;
	if (u->opt.lease_ms <= 0)
		u->opt.lease_ms = DEFAULT_LEASE_MS;
	return u;
}

void upload_free(struct uploads *u)
{
	free(u);
}

uint64_t upload_max_size(const struct uploads *u)
{
	return u->opt.max_size;
}

/* ---- keys ---- */

static void chunk_key(const char *id, uint64_t offset, char out[STORE_KEY_MAX])
{
	snprintf(out, STORE_KEY_MAX, "uploads/%s/%016" PRIu64, id, offset);
}

static void chunk_prefix(const char *id, char out[STORE_KEY_MAX])
{
	snprintf(out, STORE_KEY_MAX, "uploads/%s/", id);
}

static void tmp_key(const char *id, char out[STORE_KEY_MAX])
{
	snprintf(out, STORE_KEY_MAX, "tmp/upload-%s", id);
}

/* The offset a chunk key names, or -1 for a key that is not a chunk. */
static int64_t chunk_offset(const char *key, size_t prefix_len)
{
	const char *p = key + prefix_len;
	int64_t v = 0;

	if (strlen(p) != 16)
		return -1;
	for (int i = 0; i < 16; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

struct key_list {
	char (*keys)[STORE_KEY_MAX];
	size_t n, cap;
};

static int collect_key(void *ud, const char *key, const struct store_stat *st)
{
	struct key_list *l = ud;

	(void)st;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *p = reallocarray(l->keys, cap, sizeof(*l->keys));

		if (!p)
			return 2;
		l->keys = p;
		l->cap = cap;
	}
	snprintf(l->keys[l->n++], STORE_KEY_MAX, "%s", key);
	return 0;
}

/* Delete every object of upload `id`: its chunks and a leftover assembly. Collected first,
 * deleted after, so the listing never runs over keys being removed. */
static int delete_objects(struct uploads *u, const char *id, struct err *e)
{
	char prefix[STORE_KEY_MAX], tmp[STORE_KEY_MAX];
	struct key_list l = { 0 };
	int ret = -1, r;

	chunk_prefix(id, prefix);
	r = store_list(u->store, prefix, collect_key, &l, e);
	if (r == 2) {
		err_set(e, ERR_NOMEM, "uploads: out of memory listing chunks");
		goto out;
	}
	if (r != 0)
		goto out;
	for (size_t i = 0; i < l.n; i++)
		if (store_delete(u->store, l.keys[i], e) < 0)
			goto out;
	tmp_key(id, tmp);
	if (store_delete(u->store, tmp, e) < 0)
		goto out;
	ret = 0;
out:
	free(l.keys);
	return ret;
}

/* ---- rows ---- */

#define ROW_COLUMNS "id, upload_length, upload_offset, filename, filetype, state, track_id, duplicate, " \
		    "reason, lease_until, expires_at, created_at, chunks"

struct row {
	struct upload_info info;
	int64_t lease_until;
	int64_t chunks;
};

static void row_read(struct db_stmt *s, struct row *r)
{
	struct upload_info *i = &r->info;

	memset(r, 0, sizeof(*r));
	snprintf(i->id, sizeof(i->id), "%s", db_col_text(s, 0) ? db_col_text(s, 0) : "");
	i->length = (uint64_t)db_col_int(s, 1);
	i->offset = (uint64_t)db_col_int(s, 2);
	snprintf(i->filename, sizeof(i->filename), "%s", db_col_text(s, 3) ? db_col_text(s, 3) : "");
	snprintf(i->filetype, sizeof(i->filetype), "%s", db_col_text(s, 4) ? db_col_text(s, 4) : "");
	i->state = state_parse(db_col_text(s, 5));
	snprintf(i->track_id, sizeof(i->track_id), "%s", db_col_text(s, 6) ? db_col_text(s, 6) : "");
	i->duplicate = db_col_int(s, 7) != 0;
	snprintf(i->reason, sizeof(i->reason), "%s", db_col_text(s, 8) ? db_col_text(s, 8) : "");
	r->lease_until = db_col_int(s, 9);
	i->expires_at = db_col_int(s, 10);
	i->created_at = db_col_int(s, 11);
	r->chunks = db_col_int(s, 12);
}

/* Read the row of `id` owned by `owner`. ERR_NOT_FOUND when there is none. */
static int row_load(struct uploads *u, const char *owner, const char *id, struct row *r, struct err *e)
{
	struct db_conn *c = NULL;
	struct db_stmt *s = NULL;
	int ret = -1, st;

	if (!id || !id_valid(id))
		return err_set(e, ERR_NOT_FOUND, "no such upload");
	c = db_acquire(u->db, e);
	if (!c)
		return -1;
	s = db_prepare(c, "SELECT " ROW_COLUMNS " FROM uploads WHERE id = $1 AND owner = $2", e);
	if (!s)
		goto out;
	db_bind_str(s, 1, id);
	db_bind_str(s, 2, owner ? owner : "");
	st = db_step(s, e);
	if (st < 0)
		goto out;
	if (st == 0) {
		err_set(e, ERR_NOT_FOUND, "no such upload");
		goto out;
	}
	row_read(s, r);
	ret = 0;
out:
	db_finalize(s);
	db_release(c);
	return ret;
}

/* Run one UPDATE/DELETE with up to four integer-or-text parameters given as text or ints.
 * *changes gets the rows touched. */
struct param {
	const char *s;
	int64_t i;
	bool is_int;
};
#define P_STR(v) ((struct param){ .s = (v) })
#define P_INT(v) ((struct param){ .i = (v), .is_int = true })

static int exec_params(struct uploads *u, const char *sql, const struct param *p, int np,
		       int64_t *changes, struct err *e)
{
	struct db_conn *c = db_acquire(u->db, e);
	struct db_stmt *s = NULL;
	int ret = -1;

	if (!c)
		return -1;
	s = db_prepare(c, sql, e);
	if (!s)
		goto out;
	for (int k = 0; k < np; k++)
		if (p[k].is_int)
			db_bind_int(s, k + 1, p[k].i);
		else
			db_bind_str(s, k + 1, p[k].s);
	if (db_step(s, e) < 0)
		goto out;
	if (changes)
		*changes = db_changes(s);
	ret = 0;
out:
	db_finalize(s);
	db_release(c);
	return ret;
}

/* Mark a receiving upload expired, then delete its bytes. */
static int expire_one(struct uploads *u, const char *id, int64_t now, struct err *e)
{
	int64_t n = 0;
	struct param p[] = { P_STR(id), P_INT(now) };

	if (exec_params(u, "UPDATE uploads SET state = 'expired', updated_at = $2 "
			   "WHERE id = $1 AND state = 'receiving' AND lease_until <= $2", p, 2, &n, e) < 0)
		return -1;
	return delete_objects(u, id, e);
}

/* Give up a lease we hold (after a failure). Errors are logged: the lease times out anyway. */
static void lease_drop(struct uploads *u, const char *id, int64_t lease)
{
	struct err e = ERR_INIT;
	struct param p[] = { P_STR(id), P_INT(lease) };

	if (exec_params(u, "UPDATE uploads SET lease_until = 0 WHERE id = $1 AND lease_until = $2", p, 2, NULL, &e) < 0)
		log_kv(LOG_WARN, NULL, "upload: cannot drop a lease",
		       LOG_FIELDS(LOG_STR("upload", id), LOG_STR("error", e.msg)));
}

/* ---- completion ---- */

struct assembly {
	struct uploads *u;
	struct store_writer *w;
	size_t prefix_len;
	uint64_t pos;
	struct err *e;
};

static int write_sink(void *ud, const void *data, size_t n)
{
	struct assembly *a = ud;

	return store_write(a->w, data, n, a->e) < 0 ? 1 : 0;
}

/* Append one chunk (keys come in ascending order: offsets are zero-padded). A chunk that does
 * not start where the previous one ended means the row and the objects disagree: stop. */
static int assemble_chunk(void *ud, const char *key, const struct store_stat *st)
{
	struct assembly *a = ud;
	int64_t off = chunk_offset(key, a->prefix_len);

	if (off < 0)
		return 0;
	if ((uint64_t)off != a->pos) {
		err_set(a->e, ERR_INTERNAL, "upload: its chunks do not follow each other (at %" PRIu64 ")", a->pos);
		return 3;
	}
	if (st->size && store_read(a->u->store, key, 0, UINT64_MAX, write_sink, a, a->e) < 0)
		return 3;
	a->pos += st->size;
	return 0;
}

/* Stream the chunks of `r` into its temporary object, hand it to the completion function and
 * record the outcome. Called with the row's lease held (`lease`); releases it. */
static int finish(struct uploads *u, struct row *r, int64_t lease, struct err *e)
{
	struct upload_info *i = &r->info;
	char prefix[STORE_KEY_MAX], tmp[STORE_KEY_MAX];
	struct assembly a = { u, NULL, 0, 0, e };
	struct ingest_result res;
	struct err derr = ERR_INIT;
	int ret = -1, lr;

	chunk_prefix(i->id, prefix);
	tmp_key(i->id, tmp);
	a.prefix_len = strlen(prefix);
	a.w = store_write_begin(u->store, tmp, e);
	if (!a.w)
		goto out;
	lr = store_list(u->store, prefix, assemble_chunk, &a, e);
	if (lr != 0) {
		if (lr > 0 && e && e->code == ERR_NONE)
			err_set(e, ERR_IO, "upload: cannot assemble the chunks");
		goto out;
	}
	if (a.pos != i->length) {
		err_set(e, ERR_INTERNAL, "upload: the chunks hold %" PRIu64 " bytes, not %" PRIu64, a.pos, i->length);
		goto out;
	}
	lr = store_write_commit(a.w, e);
	a.w = NULL;
	if (lr < 0)
		goto out;
	memset(&res, 0, sizeof(res));
	if (u->opt.complete(u->opt.complete_ctx, tmp, i->filename[0] ? i->filename : i->id, &res, e) < 0)
		goto out;
	{
		const char *state = res.outcome == INGEST_REFUSED ? "refused" : "complete";
		struct param p[] = {
			P_STR(i->id), P_STR(state), P_STR(res.outcome == INGEST_REFUSED ? NULL : res.track_id),
			P_INT(res.outcome == INGEST_DUPLICATE), P_STR(res.outcome == INGEST_REFUSED ? res.reason : NULL),
			P_INT(clock_now_ms()),
		};

		if (exec_params(u, "UPDATE uploads SET state = $2, track_id = $3, duplicate = $4, reason = $5, "
				   "lease_until = 0, updated_at = $6 WHERE id = $1", p, 6, NULL, e) < 0)
			goto out;
		i->state = state_parse(state);
		snprintf(i->track_id, sizeof(i->track_id), "%s", res.outcome == INGEST_REFUSED ? "" : res.track_id);
		i->duplicate = res.outcome == INGEST_DUPLICATE;
		snprintf(i->reason, sizeof(i->reason), "%s", res.outcome == INGEST_REFUSED ? res.reason : "");
	}
	lease = 0;
	/* Recorded: the chunks are no longer needed. Failing to delete them now only leaves
	 * objects the sweep removes with the row. */
	if (delete_objects(u, i->id, &derr) < 0)
		log_kv(LOG_WARN, NULL, "upload: cannot delete the chunks of a finished upload",
		       LOG_FIELDS(LOG_STR("upload", i->id), LOG_STR("error", derr.msg)));
	ret = 0;
out:
	store_write_abort(a.w);
	if (ret < 0) {
		store_delete(u->store, tmp, &derr);
		log_kv(LOG_WARN, NULL, "upload: completion failed; it is tried again on the next request",
		       LOG_FIELDS(LOG_STR("upload", i->id), LOG_STR("error", e ? e->msg : "")));
	}
	if (lease)
		lease_drop(u, i->id, lease);
	return ret;
}

/* Take the row's lease if nobody holds it and the offset is still `offset`. 1 taken,
 * 0 not (someone else holds it, or the offset moved), -1 error. */
static int lease_take(struct uploads *u, const char *id, uint64_t offset, int64_t now, int64_t *lease,
		      struct err *e)
{
	int64_t n = 0;
	struct param p[] = { P_STR(id), P_INT((int64_t)offset), P_INT(now + u->opt.lease_ms), P_INT(now) };

	if (exec_params(u, "UPDATE uploads SET lease_until = $3 WHERE id = $1 AND upload_offset = $2 "
			   "AND state = 'receiving' AND lease_until <= $4", p, 4, &n, e) < 0)
		return -1;
	*lease = now + u->opt.lease_ms;
	return n == 1;
}

/* A receiving upload whose every byte arrived but whose completion failed before: try again. */
static int retry_finish(struct uploads *u, struct row *r, struct err *e)
{
	int64_t now = clock_now_ms(), lease;
	int t;

	if (r->info.state != UPLOAD_RECEIVING || r->info.offset != r->info.length || r->lease_until > now)
		return 0;
	t = lease_take(u, r->info.id, r->info.offset, now, &lease, e);
	if (t <= 0)
		return t;
	return finish(u, r, lease, e);
}

/* Load, and expire on access. */
static int load_live(struct uploads *u, const char *owner, const char *id, struct row *r, struct err *e)
{
	int64_t now = clock_now_ms();

	if (row_load(u, owner, id, r, e) < 0)
		return -1;
	if (r->info.state == UPLOAD_RECEIVING && r->info.expires_at <= now && r->lease_until <= now) {
		if (expire_one(u, r->info.id, now, e) < 0)
			return -1;
		r->info.state = UPLOAD_EXPIRED;
	}
	return 0;
}

/* ---- the calls ---- */

int upload_create(struct uploads *u, const char *owner, uint64_t length, const char *filename,
		  const char *filetype, struct upload_info *out, struct err *e)
{
	int64_t now = clock_now_ms(), lease;
	struct row r;
	struct err serr = ERR_INIT;

	if (length > u->opt.max_size)
		return err_set(e, ERR_TOO_LARGE, "the upload is larger than the limit of %" PRIu64 " bytes",
			       u->opt.max_size);
	if (length > INT64_MAX)
		return err_set(e, ERR_TOO_LARGE, "the upload is too large");
	filename = filename ? filename : "";
	filetype = filetype ? filetype : "";
	if (filename[0] && upload_filename_check(filename, strlen(filename), e) < 0)
		return -1;
	if (strlen(filetype) > UPLOAD_FILETYPE_MAX)
		return err_set(e, ERR_INVALID, "the file type is longer than %d bytes", UPLOAD_FILETYPE_MAX);
	if (upload_sweep(u, now, &serr) < 0)
		log_kv(LOG_WARN, NULL, "upload: sweep failed", LOG_FIELDS(LOG_STR("error", serr.msg)));

	memset(&r, 0, sizeof(r));
	id_new(r.info.id);
	r.info.length = length;
	r.info.state = UPLOAD_RECEIVING;
	snprintf(r.info.filename, sizeof(r.info.filename), "%s", filename);
	snprintf(r.info.filetype, sizeof(r.info.filetype), "%s", filetype);
	r.info.created_at = now;
	r.info.expires_at = now + u->opt.expiry_ms;
	{
		/* An empty upload is complete at once: it is created holding the lease for that. */
		lease = length == 0 ? now + u->opt.lease_ms : 0;
		struct param p[] = { P_STR(r.info.id), P_STR(owner ? owner : ""), P_INT((int64_t)length),
				     P_STR(filename), P_STR(filetype), P_INT(r.info.expires_at), P_INT(now),
				     P_INT(lease) };

		if (exec_params(u, "INSERT INTO uploads (id, owner, upload_length, filename, filetype, "
				   "expires_at, created_at, updated_at, lease_until) "
				   "VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)", p, 8, NULL, e) < 0)
			return -1;
	}
	if (length == 0 && finish(u, &r, lease, e) < 0)
		return -1;
	*out = r.info;
	return 0;
}

int upload_get(struct uploads *u, const char *owner, const char *id, struct upload_info *out, struct err *e)
{
	struct row r;

	if (load_live(u, owner, id, &r, e) < 0)
		return -1;
	if (retry_finish(u, &r, e) < 0)
		return -1;
	*out = r.info;
	return 0;
}

int upload_append(struct uploads *u, const char *owner, const char *id, uint64_t offset,
		  const void *data, size_t len, struct upload_info *out, struct err *e)
{
	char key[STORE_KEY_MAX];
	int64_t now = clock_now_ms(), lease = 0, n = 0;
	struct row r;
	int t, ret = -1;

	if (load_live(u, owner, id, &r, e) < 0)
		return -1;
	*out = r.info;
	if (r.info.state == UPLOAD_EXPIRED)
		return err_set(e, ERR_NOT_FOUND, "the upload expired");
	if (r.info.state != UPLOAD_RECEIVING)
		return err_set(e, ERR_CONFLICT, "the upload is finished");
	if (offset != r.info.offset)
		return err_set(e, ERR_CONFLICT, "Upload-Offset %" PRIu64 " is not the upload's offset %" PRIu64,
			       offset, r.info.offset);
	if (len > r.info.length - r.info.offset)
		return err_set(e, ERR_TOO_LARGE, "the chunk goes past the upload's length of %" PRIu64 " bytes",
			       r.info.length);
	if (len == 0) {
		/* Nothing to store; a finished transfer whose completion failed is retried. */
		if (retry_finish(u, &r, e) < 0)
			return -1;
		*out = r.info;
		return 0;
	}
	if (r.chunks >= UPLOAD_CHUNKS_MAX)
		return err_set(e, ERR_TOO_LARGE, "the upload has %d chunks already: send larger chunks",
			       UPLOAD_CHUNKS_MAX);
	t = lease_take(u, r.info.id, offset, now, &lease, e);
	if (t < 0)
		return -1;
	if (t == 0)
		return err_set(e, ERR_CONFLICT, "another request is writing to this upload");

	chunk_key(r.info.id, offset, key);
	if (store_put(u->store, key, data, len, e) < 0)
		goto out;
	{
		bool last = offset + len == r.info.length;
		struct param p[] = { P_STR(r.info.id), P_INT((int64_t)offset), P_INT((int64_t)(offset + len)),
				     P_INT(lease), P_INT(last ? lease : 0), P_INT(clock_now_ms()) };

		if (exec_params(u, "UPDATE uploads SET upload_offset = $3, chunks = chunks + 1, lease_until = $5, "
				   "updated_at = $6 WHERE id = $1 AND upload_offset = $2 AND lease_until = $4",
				   p, 6, &n, e) < 0)
			goto out;
		if (n != 1) {
			/* Our lease ran out and another request took over: its write stands. */
			lease = 0;
			err_set(e, ERR_CONFLICT, "the upload changed while this chunk was written");
			goto out;
		}
		r.info.offset = offset + len;
		*out = r.info;
		if (last) {
			int64_t held = lease;

			lease = 0;
			ret = finish(u, &r, held, e);
			*out = r.info;
			return ret;
		}
		lease = 0;
	}
	ret = 0;
out:
	if (lease)
		lease_drop(u, r.info.id, lease);
	return ret;
}

int upload_delete(struct uploads *u, const char *owner, const char *id, struct err *e)
{
	struct row r;
	int64_t n = 0, now = clock_now_ms();

	if (row_load(u, owner, id, &r, e) < 0)
		return -1;
	if (r.lease_until > now)
		return err_set(e, ERR_CONFLICT, "another request is writing to this upload");
	/* The bytes first: a crash in between leaves a row that a retried DELETE finishes. */
	if (delete_objects(u, r.info.id, e) < 0)
		return -1;
	{
		struct param p[] = { P_STR(r.info.id), P_STR(owner ? owner : ""), P_INT(now) };

		if (exec_params(u, "DELETE FROM uploads WHERE id = $1 AND owner = $2 AND lease_until <= $3",
				p, 3, &n, e) < 0)
			return -1;
	}
	if (n != 1)
		return err_set(e, ERR_CONFLICT, "another request is writing to this upload");
	return 0;
}

/* Ids of up to SWEEP_BATCH rows a query selects, with two integer parameters. */
static int select_ids(struct uploads *u, const char *sql, int64_t a, char ids[][ID_LEN + 1], size_t *n,
		      struct err *e)
{
	struct db_conn *c = db_acquire(u->db, e);
	struct db_stmt *s = NULL;
	int ret = -1, st;

	*n = 0;
	if (!c)
		return -1;
	s = db_prepare(c, sql, e);
	if (!s)
		goto out;
	db_bind_int(s, 1, a);
	db_bind_int(s, 2, SWEEP_BATCH);
	while ((st = db_step(s, e)) == 1)
		snprintf(ids[(*n)++], ID_LEN + 1, "%s", db_col_text(s, 0) ? db_col_text(s, 0) : "");
	if (st < 0)
		goto out;
	ret = 0;
out:
	db_finalize(s);
	db_release(c);
	return ret;
}

int upload_sweep(struct uploads *u, int64_t now_ms, struct err *e)
{
	char ids[SWEEP_BATCH][ID_LEN + 1];
	size_t n;
	int expired = 0;

	if (select_ids(u, "SELECT id FROM uploads WHERE state = 'receiving' AND expires_at <= $1 "
			  "AND lease_until <= $1 ORDER BY expires_at LIMIT $2", now_ms, ids, &n, e) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (expire_one(u, ids[i], now_ms, e) < 0)
			return -1;
		expired++;
	}
	if (select_ids(u, "SELECT id FROM uploads WHERE state <> 'receiving' AND updated_at <= $1 "
			  "ORDER BY updated_at LIMIT $2", now_ms - KEEP_DONE_MS, ids, &n, e) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct param p[] = { P_STR(ids[i]) };

		if (delete_objects(u, ids[i], e) < 0 ||
		    exec_params(u, "DELETE FROM uploads WHERE id = $1 AND state <> 'receiving'", p, 1, NULL, e) < 0)
			return -1;
	}
	return expired;
}
