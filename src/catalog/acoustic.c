/* acoustic.c — what a track's analysis offers listeners and curators: its waveform peaks, and
 * the other tracks that are the same recording (acoustic duplicates), see catalog.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "catalog/internal.h"
#include "db/db.h"
#include "media/analyse.h"

#define CANDIDATES_MAX 5000 /* tracks of about the same length compared per request */

/* The window of durations a copy of a `ms` long recording may have: ±(2 s + 1%). A lossy
 * encoding pads a few dozen milliseconds; a different edit is not the same recording. */
static void window(int64_t ms, int64_t *lo, int64_t *hi)
{
	int64_t d = 2000 + ms / 100;

	*lo = ms > d ? ms - d : 1;
	*hi = ms + d;
}

/* Run `sql` (one parameter: the track id) and leave *out on its row: 0, or -1 with
 * ERR_NOT_FOUND when there is no such track (or the database's error). */
static int track_row(struct db_conn *c, const char *id, const char *sql, struct db_stmt **out, struct err *e)
{
	struct db_stmt *s = db_prepare(c, sql, e);
	int rc;

	*out = NULL;
	if (!s)
		return -1;
	db_bind_str(s, 1, id);
	if ((rc = db_step(s, e)) < 0) {
		db_finalize(s);
		return -1;
	}
	if (rc == 0) {
		db_finalize(s);
		return err_set(e, ERR_NOT_FOUND, "no track %s", id);
	}
	*out = s;
	return 0;
}

int catalog_track_analysed(struct catalog *cat, const char *id, bool *analysed, struct err *e)
{
	struct db_conn *c;
	struct db_stmt *s = NULL;
	int ret = -1;

	*analysed = false;
	if (!id_valid(id))
		return err_set(e, ERR_NOT_FOUND, "no track %s", id ? id : "");
	if (!(c = db_acquire(cat->db, e)))
		return -1;
	if (track_row(c, id,
		      "SELECT a.track_id FROM tracks t LEFT JOIN track_analysis a ON a.track_id = t.id WHERE t.id = $1",
		      &s, e) < 0)
		goto out;
	*analysed = db_col_text(s, 0) != NULL;
	ret = 0;
out:
	db_finalize(s);
	db_release(c);
	return ret;
}

int catalog_track_waveform(struct catalog *cat, const char *id, struct catalog_waveform *out, struct err *e)
{
	struct db_conn *c;
	struct db_stmt *s = NULL;
	const void *blob;
	size_t len = 0;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (!id_valid(id))
		return err_set(e, ERR_NOT_FOUND, "no track %s", id ? id : "");
	if (!(c = db_acquire(cat->db, e)))
		return -1;
	if (track_row(c, id,
		      "SELECT t.sample_rate, t.duration_ms, a.peaks FROM tracks t "
		      "LEFT JOIN track_analysis a ON a.track_id = t.id WHERE t.id = $1",
		      &s, e) < 0)
		goto out;
	blob = db_col_blob(s, 2, &len);
	if (!blob || len < 2) {
		err_set(e, ERR_CONFLICT, "track %s has not been analysed yet; its status says when it is", id);
		goto out;
	}
	if (!(out->peaks = malloc(len))) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(out->peaks, blob, len);
	out->npairs = len / 2;
	out->sample_rate = (int)db_col_int(s, 0);
	out->duration_ms = db_col_int(s, 1);
	ret = 0;
out:
	db_finalize(s);
	db_release(c);
	return ret;
}

void catalog_waveform_release(struct catalog_waveform *w)
{
	free(w->peaks);
	memset(w, 0, sizeof(*w));
}

static int by_similarity(const void *a, const void *b)
{
	const struct catalog_duplicate *x = a, *y = b;

	if (x->similarity != y->similarity)
		return y->similarity - x->similarity;
	return strcmp(x->id, y->id);
}

/* The tracks within the duration window of `ms` (but `id`) whose fingerprints score at least
 * `min` against mine[0..mine_len), most alike first, into *out (malloc'd) and *n. */
static int candidates(struct db_conn *c, const char *id, int64_t ms, const uint32_t *mine, size_t mine_len, int min,
		      struct catalog_duplicate **out, size_t *n, struct err *e)
{
	struct db_stmt *s;
	size_t cap = 0;
	int64_t lo, hi;
	int rc, ret = -1;

	*out = NULL;
	*n = 0;
	window(ms, &lo, &hi);
	s = db_prepare(c,
		       "SELECT t.id, a.fingerprint FROM tracks t JOIN track_analysis a ON a.track_id = t.id "
		       "WHERE t.duration_ms BETWEEN $1 AND $2 AND t.id <> $3 AND a.fingerprint IS NOT NULL "
		       "ORDER BY t.duration_ms LIMIT $4",
		       e);
	if (!s)
		return -1;
	db_bind_int(s, 1, lo);
	db_bind_int(s, 2, hi);
	db_bind_str(s, 3, id);
	db_bind_int(s, 4, CANDIDATES_MAX);
	while ((rc = db_step(s, e)) == 1) {
		uint32_t *theirs = NULL;
		size_t theirs_len = 0;
		struct err de = ERR_INIT;
		int sim;

		/* A fingerprint that does not decode is one we did not write: not a duplicate. */
		if (media_fingerprint_decode(db_col_text(s, 1), &theirs, &theirs_len, &de) < 0) {
			if (de.code == ERR_NOMEM) {
				*e = de;
				goto out;
			}
			continue;
		}
		sim = media_fingerprint_similarity(mine, mine_len, theirs, theirs_len);
		free(theirs);
		if (sim < min)
			continue;
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			struct catalog_duplicate *v = realloc(*out, ncap * sizeof(*v));

			if (!v) {
				err_set(e, ERR_NOMEM, "out of memory");
				goto out;
			}
			*out = v;
			cap = ncap;
		}
		snprintf((*out)[*n].id, sizeof((*out)[*n].id), "%s", db_col_text(s, 0));
		(*out)[*n].similarity = sim;
		(*n)++;
	}
	if (rc < 0)
		goto out;
	if (*n > 1)
		qsort(*out, *n, sizeof(**out), by_similarity);
	ret = 0;
out:
	if (ret < 0) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	db_finalize(s);
	return ret;
}

int catalog_track_duplicates(struct catalog *cat, const char *id, int min_similarity, struct catalog_duplicate **out,
			     size_t *n, struct err *e)
{
	struct db_conn *c;
	struct db_stmt *s = NULL;
	uint32_t *mine = NULL;
	size_t mine_len = 0;
	int64_t ms;
	int ret = -1;

	*out = NULL;
	*n = 0;
	if (!id_valid(id))
		return err_set(e, ERR_NOT_FOUND, "no track %s", id ? id : "");
	if (!(c = db_acquire(cat->db, e)))
		return -1;
	if (db_begin_read(c, e) < 0)
		goto out;
	if (track_row(c, id,
		      "SELECT t.duration_ms, a.fingerprint FROM tracks t "
		      "LEFT JOIN track_analysis a ON a.track_id = t.id WHERE t.id = $1",
		      &s, e) < 0)
		goto out;
	ms = db_col_int(s, 0);
	if (!db_col_text(s, 1) || ms <= 0) {
		err_set(e, ERR_CONFLICT, "track %s has no fingerprint yet; its status says when the analysis is done", id);
		goto out;
	}
	if (media_fingerprint_decode(db_col_text(s, 1), &mine, &mine_len, e) < 0)
		goto out;
	db_finalize(s);
	s = NULL;
	if (candidates(c, id, ms, mine, mine_len, min_similarity, out, n, e) < 0 || db_commit(c, e) < 0)
		goto out;
	ret = 0;
out:
	if (ret < 0) {
		if (db_in_transaction(c))
			db_rollback(c, NULL);
		free(*out);
		*out = NULL;
		*n = 0;
	}
	free(mine);
	db_finalize(s);
	db_release(c);
	return ret;
}

int catalog_duplicates_find(struct db_conn *c, const char *id, const char *fingerprint, int64_t ms,
			    struct catalog_duplicate **out, size_t *n, struct err *e)
{
	uint32_t *mine = NULL;
	size_t mine_len = 0;
	struct err de = ERR_INIT;
	int ret;

	*out = NULL;
	*n = 0;
	/* No fingerprint, no length, or one that does not decode: a track with no known copies. */
	if (!fingerprint || !*fingerprint || ms <= 0)
		return 0;
	if (media_fingerprint_decode(fingerprint, &mine, &mine_len, &de) < 0) {
		if (de.code == ERR_INVALID)
			return 0;
		*e = de;
		return -1;
	}
	ret = candidates(c, id ? id : "", ms, mine, mine_len, CATALOG_DUPLICATE_MIN, out, n, e);
	free(mine);
	return ret;
}

int catalog_duplicates_store(struct db_conn *c, const char *id, const struct catalog_duplicate *d, size_t n,
			     struct err *e)
{
	struct db_stmt *s = db_prepare(c, "DELETE FROM track_duplicates WHERE track_id = $1 OR other_id = $1", e);
	int ret = -1;

	if (!s)
		return -1;
	db_bind_str(s, 1, id);
	if (db_step(s, e) < 0)
		goto out;
	db_finalize(s);
	/* Through a SELECT of the other track: one deleted since it was compared is skipped, not a
	 * broken foreign key. */
	s = db_prepare(c,
		       "INSERT INTO track_duplicates (track_id, other_id, similarity) "
		       "SELECT CAST($1 AS TEXT), t.id, CAST($3 AS INTEGER) FROM tracks t WHERE t.id = $2 "
		       "UNION ALL SELECT t.id, CAST($1 AS TEXT), CAST($3 AS INTEGER) FROM tracks t WHERE t.id = $2",
		       e);
	if (!s)
		goto out;
	for (size_t i = 0; i < n; i++) {
		db_bind_str(s, 1, id);
		db_bind_str(s, 2, d[i].id);
		db_bind_int(s, 3, d[i].similarity);
		if (db_step(s, e) < 0)
			goto out;
		db_reset(s);
	}
	ret = 0;
out:
	db_finalize(s);
	return ret;
}

void catalog_duplicate_groups_free(struct catalog_duplicate_group *g, size_t n)
{
	for (size_t i = 0; g && i < n; i++)
		free(g[i].dups);
	free(g);
}

int catalog_duplicate_groups(struct catalog *cat, const char *after, size_t limit,
			     struct catalog_duplicate_group **out, size_t *n, bool *more, struct err *e)
{
	struct catalog_duplicate_group *g = NULL;
	struct db_conn *c;
	struct db_stmt *s = NULL;
	char last[ID_LEN + 1] = "";
	size_t ng = 0, seen = 0;
	int rc, ret = -1;

	*out = NULL;
	*n = 0;
	*more = false;
	if (limit < 1 || limit > 500)
		return err_set(e, ERR_INVALID, "limit: 1 to 500");
	if (!after)
		after = "";
	if (!(c = db_acquire(cat->db, e)))
		return -1;
	if (db_begin_read(c, e) < 0)
		goto out;
	/* The page's groups: the first `limit` smaller ids after the cursor (one more tells if
	 * there are others). */
	s = db_prepare(c,
		       "SELECT DISTINCT track_id FROM track_duplicates WHERE track_id < other_id AND track_id > $1 "
		       "ORDER BY track_id LIMIT $2",
		       e);
	if (!s)
		goto out;
	db_bind_str(s, 1, after);
	db_bind_int(s, 2, (int64_t)limit + 1);
	while ((rc = db_step(s, e)) == 1) {
		if (++seen > limit) {
			*more = true;
			break;
		}
		snprintf(last, sizeof(last), "%s", db_col_text(s, 0));
	}
	if (rc < 0)
		goto out;
	db_finalize(s);
	s = NULL;
	if (seen == 0 || !(g = calloc(limit, sizeof(*g)))) {
		if (seen)
			err_set(e, ERR_NOMEM, "out of memory");
		ret = seen ? -1 : 0;
		goto out;
	}
	s = db_prepare(c,
		       "SELECT track_id, other_id, similarity FROM track_duplicates "
		       "WHERE track_id < other_id AND track_id > $1 AND track_id <= $2 "
		       "ORDER BY track_id, similarity DESC, other_id",
		       e);
	if (!s)
		goto out;
	db_bind_str(s, 1, after);
	db_bind_str(s, 2, last);
	while ((rc = db_step(s, e)) == 1) {
		const char *tid = db_col_text(s, 0);
		struct catalog_duplicate *d;

		if (ng == 0 || strcmp(g[ng - 1].id, tid) != 0) {
			if (ng == limit)
				break;
			snprintf(g[ng].id, sizeof(g[ng].id), "%s", tid);
			ng++;
		}
		d = realloc(g[ng - 1].dups, (g[ng - 1].ndups + 1) * sizeof(*d));
		if (!d) {
			err_set(e, ERR_NOMEM, "out of memory");
			goto out;
		}
		g[ng - 1].dups = d;
		snprintf(d[g[ng - 1].ndups].id, sizeof(d->id), "%s", db_col_text(s, 1));
		d[g[ng - 1].ndups].similarity = (int)db_col_int(s, 2);
		g[ng - 1].ndups++;
	}
	if (rc < 0)
		goto out;
	db_finalize(s);
	s = NULL;
	if (db_commit(c, e) < 0)
		goto out;
	*out = g;
	*n = ng;
	g = NULL;
	ret = 0;
out:
	if (ret < 0 && db_in_transaction(c))
		db_rollback(c, NULL);
	catalog_duplicate_groups_free(g, ng);
	db_finalize(s);
	db_release(c);
	return ret;
}
