/* record.c — the import_files table (what an import made of each source file) and the
 * duplicate check by content.
 *
 * ingest_find_sha reads the catalogue's tracks table directly: it is the one query ingest needs
 * before the expensive steps, and catalog.h has no lookup by content yet (a catalog_track_by_sha256
 * there should replace it). */
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "catalog/catalog.h"
#include "db/db.h"
#include "ingest/internal.h"
#include "store/store.h"

static void copy_col(struct db_stmt *s, int col, char *out, size_t cap)
{
	const char *v = db_col_text(s, col);

	snprintf(out, cap, "%s", v ? v : "");
}

int ingest_find_sha(struct ingest *ing, const char *sha256, char id[ID_LEN + 1], struct err *e)
{
	struct db_conn *c = db_acquire(ing->db, e);
	struct db_stmt *s = NULL;
	int ret = -1;

	if (!c)
		return -1;
	s = db_prepare(c, "SELECT id FROM tracks WHERE sha256 = $1", e);
	if (!s)
		goto out;
	db_bind_str(s, 1, sha256);
	ret = db_step(s, e);
	if (ret == 1)
		copy_col(s, 0, id, ID_LEN + 1);
out:
	db_finalize(s);
	db_release(c);
	return ret;
}

int ingest_record_get(struct ingest *ing, const char *path, struct ingest_record *r, struct err *e)
{
	struct db_conn *c = db_acquire(ing->db, e);
	struct db_stmt *s = NULL;
	int ret = -1, rc;

	memset(r, 0, sizeof(*r));
	if (!c)
		return -1;
	s = db_prepare(c, "SELECT size, mtime_ns, in_place, outcome, sha256, track_id FROM import_files "
			  "WHERE path = $1", e);
	if (!s)
		goto out;
	db_bind_str(s, 1, path);
	rc = db_step(s, e);
	if (rc < 0)
		goto out;
	if (rc == 1) {
		r->found = true;
		r->size = db_col_int(s, 0);
		r->mtime_ns = db_col_int(s, 1);
		r->in_place = db_col_int(s, 2) != 0;
		copy_col(s, 3, r->outcome, sizeof(r->outcome));
		copy_col(s, 4, r->sha256, sizeof(r->sha256));
		copy_col(s, 5, r->track_id, sizeof(r->track_id));
	}
	ret = 0;
out:
	db_finalize(s);
	db_release(c);
	return ret;
}

int ingest_record_put(struct ingest *ing, const char *path, int64_t size, int64_t mtime_ns,
		      bool in_place, const struct ingest_result *res, struct err *e)
{
	static const char *const outcomes[] = { "added", "duplicate", "refused" };
	struct db_conn *c = db_acquire(ing->db, e);
	struct db_stmt *s = NULL;
	int ret = -1;

	if (!c)
		return -1;
	s = db_prepare(c, "INSERT INTO import_files (path, size, mtime_ns, in_place, outcome, sha256, track_id, "
			  "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (path) DO UPDATE SET "
			  "size = $2, mtime_ns = $3, in_place = $4, outcome = $5, sha256 = $6, track_id = $7, "
			  "updated_at = $8", e);
	if (!s)
		goto out;
	db_bind_str(s, 1, path);
	db_bind_int(s, 2, size);
	db_bind_int(s, 3, mtime_ns);
	db_bind_int(s, 4, in_place);
	db_bind_str(s, 5, outcomes[res->outcome]);
	db_bind_str(s, 6, res->sha256);
	db_bind_str(s, 7, res->track_id[0] ? res->track_id : NULL);
	db_bind_int(s, 8, clock_now_ms());
	if (db_step(s, e) < 0)
		goto out;
	ret = 0;
out:
	db_finalize(s);
	db_release(c);
	return ret;
}

int ingest_record_del(struct ingest *ing, const char *path, struct err *e)
{
	struct db_conn *c = db_acquire(ing->db, e);
	struct db_stmt *s = NULL;
	int ret = -1;

	if (!c)
		return -1;
	s = db_prepare(c, "DELETE FROM import_files WHERE path = $1", e);
	if (!s)
		goto out;
	db_bind_str(s, 1, path);
	if (db_step(s, e) < 0)
		goto out;
	ret = 0;
out:
	db_finalize(s);
	db_release(c);
	return ret;
}

/* A store_list callback deleting every key it is given. */
static int delete_each(void *ud, const char *key, const struct store_stat *st)
{
	struct ingest *ing = ud;
	struct err e = ERR_INIT;

	(void)st;
	store_delete(ing->store, key, &e);
	return 0;
}

int ingest_track_remove(struct ingest *ing, const char *track_id, struct err *e)
{
	struct catalog_keys keys = { 0 };
	struct err se = ERR_INIT;

	if (catalog_track_delete(ing->cat, track_id, &keys, e) < 0)
		return e->code == ERR_NOT_FOUND ? 0 : -1;
	/* The row is gone; the objects only cost space, so a failure here is not the caller's. */
	for (size_t i = 0; i < keys.n; i++) {
		size_t len = strlen(keys.keys[i]);

		if (len && keys.keys[i][len - 1] == '/')
			store_list(ing->store, keys.keys[i], delete_each, ing, &se);
		else
			store_delete(ing->store, keys.keys[i], &se);
	}
	catalog_keys_release(&keys);
	return 0;
}

int ingest_seen(struct ingest *ing, const char *path, bool in_place, int64_t size, int64_t mtime_ns,
		struct err *e)
{
	struct ingest_record r;

	if (ingest_record_get(ing, path, &r, e) < 0)
		return -1;
	return r.found && r.in_place == in_place && r.size == size && r.mtime_ns == mtime_ns;
}

int ingest_any_seen(struct ingest *ing, struct err *e)
{
	struct db_conn *c = db_acquire(ing->db, e);
	struct db_stmt *s = NULL;
	int ret = -1;

	if (!c)
		return -1;
	s = db_prepare(c, "SELECT 1 FROM import_files LIMIT 1", e);
	if (s)
		ret = db_step(s, e);
	db_finalize(s);
	db_release(c);
	return ret;
}

int ingest_forget(struct ingest *ing, const char *path, bool *removed, struct err *e)
{
	struct ingest_record r;

	*removed = false;
	if (ingest_record_get(ing, path, &r, e) < 0)
		return -1;
	if (!r.found)
		return 0;
	/* Only a track read in place from this very file goes with it: a copied track has its
	 * bytes in the store, and a duplicate belongs to the file it was first read from. */
	if (r.in_place && strcmp(r.outcome, "added") == 0 && r.track_id[0]) {
		if (ingest_track_remove(ing, r.track_id, e) < 0)
			return -1;
		*removed = true;
	}
	return ingest_record_del(ing, path, e);
}
