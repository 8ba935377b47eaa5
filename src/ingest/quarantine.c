/* quarantine.c — refused files: a row saying what, from where and why, listed for admins.
 * (The bytes of a refused upload are stored by pipeline.c before the row is written.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/utf8.h"
#include "db/db.h"
#include "ingest/internal.h"

/* Names and reasons come from files and clients: store them as valid UTF-8 without NULs. */
static char *clean(const char *s)
{
	size_t len = strlen(s), need = utf8_sanitize(NULL, 0, s, len);
	char *out = malloc(need + 1);

	if (out)
		utf8_sanitize(out, need + 1, s, len);
	return out;
}

int ingest_quarantine_add(struct ingest *ing, const struct ingest_src *src, const char *reason,
			  struct err *e)
{
	struct db_conn *c = NULL;
	struct db_stmt *s = NULL;
	char id[ID_LEN + 1], key[80];
	char *name = clean(src->name ? src->name : ""), *why = clean(reason);
	int ret = -1;

	if (!name || !why) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	c = db_acquire(ing->db, e);
	if (!c)
		goto out;
	s = db_prepare(c, "INSERT INTO quarantine (id, name, sha256, size, reason, source, path, object_key, "
			  "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)", e);
	if (!s)
		goto out;
	id_new(id);
	snprintf(key, sizeof(key), "quarantine/%s", src->sha256);
	db_bind_str(s, 1, id);
	db_bind_str(s, 2, name);
	db_bind_str(s, 3, src->sha256);
	db_bind_int(s, 4, (int64_t)src->size);
	db_bind_str(s, 5, why);
	db_bind_str(s, 6, src->upload ? "upload" : "import");
	db_bind_str(s, 7, src->upload ? NULL : src->path ? src->path : src->media_path);
	db_bind_str(s, 8, src->upload && src->sha256[0] ? key : NULL);
	db_bind_int(s, 9, clock_now_ms());
	if (db_step(s, e) < 0)
		goto out;
	ret = 0;
out:
	db_finalize(s);
	db_release(c);
	free(name);
	free(why);
	return ret;
}

void ingest_quarantine_page_release(struct ingest_quarantine_page *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->items[i].name);
		free(p->items[i].reason);
	}
	free(p->items);
	memset(p, 0, sizeof(*p));
}

int ingest_quarantine_list(struct ingest *ing, int limit, const char *before,
			   struct ingest_quarantine_page *out, struct err *e)
{
	struct db_conn *c = NULL;
	struct db_stmt *s = NULL;
	int ret = -1, rc;

	memset(out, 0, sizeof(*out));
	if (limit < 1 || limit > INGEST_QUARANTINE_LIMIT_MAX)
		return err_set(e, ERR_INVALID, "parameter \"limit\": must be 1–%d", INGEST_QUARANTINE_LIMIT_MAX);
	if (before && *before && !id_valid(before))
		return err_set(e, ERR_INVALID, "parameter \"cursor\": not a cursor from this list");
	out->items = calloc((size_t)limit, sizeof(*out->items));
	if (!out->items)
		return err_set(e, ERR_NOMEM, "out of memory");
	c = db_acquire(ing->db, e);
	if (!c)
		goto out;
	/* Ids are ULIDs: newest first is id order, and the last id seen is the cursor. One row
	 * more than asked says whether there is a next page. */
	s = db_prepare(c, "SELECT id, name, sha256, size, reason, source, created_at FROM quarantine "
			  "WHERE $1 = '' OR id < $1 ORDER BY id DESC LIMIT $2", e);
	if (!s)
		goto out;
	db_bind_str(s, 1, before ? before : "");
	db_bind_int(s, 2, limit + 1);
	while ((rc = db_step(s, e)) == 1) {
		struct ingest_quarantined *q;
		const char *v;

		if (out->n == (size_t)limit) {
			snprintf(out->next_cursor, sizeof(out->next_cursor), "%s", out->items[out->n - 1].id);
			break;
		}
		q = &out->items[out->n];
		v = db_col_text(s, 0);
		snprintf(q->id, sizeof(q->id), "%s", v ? v : "");
		q->name = strdup((v = db_col_text(s, 1)) ? v : "");
		v = db_col_text(s, 2);
		snprintf(q->sha256, sizeof(q->sha256), "%s", v ? v : "");
		q->size = db_col_int(s, 3);
		q->reason = strdup((v = db_col_text(s, 4)) ? v : "");
		v = db_col_text(s, 5);
		snprintf(q->source, sizeof(q->source), "%s", v ? v : "");
		q->created_at = db_col_int(s, 6);
		out->n++;
		if (!q->name || !q->reason) {
			err_set(e, ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	if (rc < 0)
		goto out;
	ret = 0;
out:
	db_finalize(s);
	db_release(c);
	if (ret < 0)
		ingest_quarantine_page_release(out);
	return ret;
}
