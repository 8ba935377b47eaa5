/* edit.c — correcting a track (catalog_track_update) and deleting one (catalog_track_delete).
 *
 * Both may leave an album, artist or genre without tracks. Rather than sweeping whole tables,
 * each remembers the rows the track touched before the change (struct orphans) and removes
 * those of them nothing uses afterwards, in the same transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "catalog/internal.h"
#include "catalog/text.h"
#include "db/db.h"

struct idlist {
	char (*ids)[ID_LEN + 1];
	size_t n, cap;
};

struct orphans {
	char album[ID_LEN + 1];
	struct idlist artists, genres;
};

static int idlist_add(struct idlist *l, const char *id, struct err *e)
{
	if (!id || strlen(id) != ID_LEN)
		return 0;
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->ids[i], id) == 0)
			return 0;
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 8;
		void *nids = realloc(l->ids, ncap * sizeof(*l->ids));

		if (!nids)
			return err_set(e, ERR_NOMEM, "out of memory");
		l->ids = nids;
		l->cap = ncap;
	}
	memcpy(l->ids[l->n++], id, ID_LEN + 1);
	return 0;
}

static void orphans_release(struct orphans *o)
{
	free(o->artists.ids);
	free(o->genres.ids);
	memset(o, 0, sizeof(*o));
}

/* Add column 0 of every row of `sql` (one text parameter) to the list. */
static int collect(struct db_conn *c, const char *sql, const char *id, struct idlist *l, struct err *e)
{
	struct db_stmt *s = db_prepare(c, sql, e);
	int rc;

	if (!s)
		return -1;
	db_bind_str(s, 1, id);
	while ((rc = db_step(s, e)) == 1)
		if (idlist_add(l, db_col_text(s, 0), e) < 0) {
			rc = -1;
			break;
		}
	db_finalize(s);
	return rc < 0 ? -1 : 0;
}

/* Remember what the track uses now. 0, or -1 (ERR_NOT_FOUND when there is no such track). */
static int orphans_collect(struct db_conn *c, const char *track_id, struct orphans *o, struct err *e)
{
	int rc;

	memset(o, 0, sizeof(*o));
	rc = catalog_query_id(c, "SELECT album_id FROM tracks WHERE id = $1", o->album, e, 1, track_id);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return err_set(e, ERR_NOT_FOUND, "no such track");
	if (collect(c, "SELECT artist_id FROM albums WHERE id = $1", o->album, &o->artists, e) < 0 ||
	    collect(c, "SELECT artist_id FROM track_artists WHERE track_id = $1", track_id, &o->artists, e) < 0 ||
	    collect(c, "SELECT genre_id FROM track_genres WHERE track_id = $1", track_id, &o->genres, e) < 0)
		return -1;
	return 0;
}

/* Remove the remembered rows nothing uses any more: the album first, since an album keeps
 * its artist alive. */
static int orphans_prune(struct db_conn *c, const struct orphans *o, struct err *e)
{
	if (catalog_exec_args(c, "DELETE FROM albums WHERE id = $1 AND NOT EXISTS "
			      "(SELECT 1 FROM tracks t WHERE t.album_id = $1)", e, 1, o->album) < 0)
		return -1;
	for (size_t i = 0; i < o->artists.n; i++)
		if (catalog_exec_args(c, "DELETE FROM artists WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM "
				      "track_artists ta WHERE ta.artist_id = $1) AND NOT EXISTS (SELECT 1 FROM "
				      "albums al WHERE al.artist_id = $1)", e, 1, o->artists.ids[i]) < 0)
			return -1;
	for (size_t i = 0; i < o->genres.n; i++)
		if (catalog_exec_args(c, "DELETE FROM genres WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM "
				      "track_genres tg WHERE tg.genre_id = $1)", e, 1, o->genres.ids[i]) < 0)
			return -1;
	return 0;
}

/* ---- update ---- */

static int check_patch(const struct catalog_track_patch *p, struct err *e)
{
	unsigned f = p->fields;
	size_t nmain = 0;

	if ((f & CATALOG_PATCH_TITLE) && catalog_check_text("title", p->title, CATALOG_NAME_MAX, true, e) < 0)
		return -1;
	if (catalog_check_text("sort_title", p->sort_title, CATALOG_NAME_MAX, false, e) < 0 ||
	    catalog_check_text("date", p->date, 64, false, e) < 0 ||
	    catalog_check_text("isrc", p->isrc, 64, false, e) < 0 ||
	    catalog_check_text("label", p->label, CATALOG_NAME_MAX, false, e) < 0 ||
	    catalog_check_text("lyrics", p->lyrics, CATALOG_LYRICS_MAX, false, e) < 0 ||
	    catalog_check_text("album_artist", p->album_artist, CATALOG_NAME_MAX, false, e) < 0)
		return -1;
	if ((f & CATALOG_PATCH_ALBUM) && catalog_check_text("album", p->album, CATALOG_NAME_MAX, true, e) < 0)
		return -1;
	if (catalog_check_number("disc", p->disc, CATALOG_NUMBER_MAX, e) < 0 ||
	    catalog_check_number("disc_total", p->disc_total, CATALOG_NUMBER_MAX, e) < 0 ||
	    catalog_check_number("track", p->track, CATALOG_NUMBER_MAX, e) < 0 ||
	    catalog_check_number("track_total", p->track_total, CATALOG_NUMBER_MAX, e) < 0 ||
	    catalog_check_number("year", p->year, 9999, e) < 0)
		return -1;
	if ((f & CATALOG_PATCH_BPM) && !(p->bpm < 0) && !(p->bpm <= 10000))
		return err_set(e, ERR_INVALID, "field \"bpm\": must be 0–10000");
	if (f & CATALOG_PATCH_ARTISTS) {
		if (p->nartists > CATALOG_ARTISTS_MAX)
			return err_set(e, ERR_INVALID, "field \"artists\": more than %d", CATALOG_ARTISTS_MAX);
		for (size_t i = 0; i < p->nartists; i++) {
			if (catalog_check_text("artists", p->artists[i].name, CATALOG_NAME_MAX, true, e) < 0)
				return -1;
			if (p->artists[i].role == CATALOG_ROLE_COMPOSER || p->artists[i].role > CATALOG_ROLE_COMPOSER)
				return err_set(e, ERR_INVALID, "field \"artists\": role must be main or featured");
			nmain += p->artists[i].role == CATALOG_ROLE_MAIN;
		}
		if (nmain == 0)
			return err_set(e, ERR_INVALID, "field \"artists\": at least one main artist is required");
	}
	if (f & CATALOG_PATCH_COMPOSERS) {
		if (p->ncomposers > CATALOG_ARTISTS_MAX)
			return err_set(e, ERR_INVALID, "field \"composers\": more than %d", CATALOG_ARTISTS_MAX);
		for (size_t i = 0; i < p->ncomposers; i++)
			if (catalog_check_text("composers", p->composers[i], CATALOG_NAME_MAX, true, e) < 0)
				return -1;
	}
	if (f & CATALOG_PATCH_GENRES) {
		if (p->ngenres > CATALOG_GENRES_MAX)
			return err_set(e, ERR_INVALID, "field \"genres\": more than %d", CATALOG_GENRES_MAX);
		for (size_t i = 0; i < p->ngenres; i++)
			if (catalog_check_text("genres", p->genres[i], CATALOG_NAME_MAX, true, e) < 0)
				return -1;
	}
	return 0;
}

/* A scalar column a patch may set. */
struct column {
	unsigned field;
	const char *name;
	enum { C_TEXT, C_INT, C_BPM } type;
};

static const struct column columns[] = {
	{ CATALOG_PATCH_DISC, "disc", C_INT },
	{ CATALOG_PATCH_DISC_TOTAL, "disc_total", C_INT },
	{ CATALOG_PATCH_TRACK, "track_no", C_INT },
	{ CATALOG_PATCH_TRACK_TOTAL, "track_total", C_INT },
	{ CATALOG_PATCH_YEAR, "year", C_INT },
	{ CATALOG_PATCH_DATE, "date", C_TEXT },
	{ CATALOG_PATCH_ISRC, "isrc", C_TEXT },
	{ CATALOG_PATCH_LABEL, "label", C_TEXT },
	{ CATALOG_PATCH_LYRICS, "lyrics", C_TEXT },
	{ CATALOG_PATCH_BPM, "bpm", C_BPM },
};

static const char *column_text(const struct catalog_track_patch *p, unsigned field)
{
	const char *v = field == CATALOG_PATCH_DATE ? p->date : field == CATALOG_PATCH_ISRC ? p->isrc
		      : field == CATALOG_PATCH_LABEL ? p->label : p->lyrics;

	return v && *v ? v : NULL;
}

static int column_int(const struct catalog_track_patch *p, unsigned field)
{
	return field == CATALOG_PATCH_DISC ? p->disc : field == CATALOG_PATCH_DISC_TOTAL ? p->disc_total
	     : field == CATALOG_PATCH_TRACK ? p->track : field == CATALOG_PATCH_TRACK_TOTAL ? p->track_total
	     : p->year;
}

/* Title, sort title and the scalar columns, in one UPDATE whose SET list names only
 * constant column names. */
static int update_columns(struct db_conn *c, const char *id, const struct catalog_track_patch *p, int64_t now,
			  struct err *e)
{
	struct buf sql = BUF_INIT;
	struct db_stmt *s = NULL;
	char *title = NULL, *title_norm = NULL, *sort = NULL, *sort_norm = NULL;
	int k = 3, ret = -1;
	bool sort_changes = p->fields & (CATALOG_PATCH_TITLE | CATALOG_PATCH_SORT_TITLE);

	buf_init(&sql, 4096);
	if (buf_adds(&sql, "UPDATE tracks SET rev = rev + 1, updated_at = $2") < 0)
		goto oom;
	if (p->fields & CATALOG_PATCH_TITLE) {
		title_norm = catalog_normalize(p->title, e);
		if (!title_norm)
			goto out;
		if (!*title_norm) {
			err_set(e, ERR_INVALID, "field \"title\": empty");
			goto out;
		}
		if (buf_addf(&sql, ", title = $%d, title_norm = $%d", k, k + 1) < 0)
			goto oom;
		k += 2;
	}
	if (sort_changes) {
		/* A sort title given wins; else it follows the (new or current) title. */
		if ((p->fields & CATALOG_PATCH_SORT_TITLE) && p->sort_title && *p->sort_title) {
			sort = strdup(p->sort_title);
		} else {
			if (p->fields & CATALOG_PATCH_TITLE) {
				title = strdup(p->title);
			} else {
				struct db_stmt *q = db_prepare(c, "SELECT title FROM tracks WHERE id = $1", e);

				if (!q)
					goto out;
				db_bind_str(q, 1, id);
				if (db_step(q, e) == 1)
					title = strdup(db_col_text(q, 0) ? db_col_text(q, 0) : "");
				db_finalize(q);
			}
			sort = title ? catalog_sort_name(title) : NULL;
		}
		if (!sort)
			goto oom;
		sort_norm = catalog_normalize(sort, e);
		if (!sort_norm)
			goto out;
		if (buf_addf(&sql, ", sort_title = $%d, sort_norm = $%d", k, k + 1) < 0)
			goto oom;
		k += 2;
	}
	for (size_t i = 0; i < sizeof(columns) / sizeof(columns[0]); i++)
		if ((p->fields & columns[i].field) && buf_addf(&sql, ", %s = $%d", columns[i].name, k++) < 0)
			goto oom;
	if (buf_adds(&sql, " WHERE id = $1") < 0)
		goto oom;
	s = db_prepare(c, buf_str(&sql), e);
	if (!s)
		goto out;
	db_bind_str(s, 1, id);
	db_bind_int(s, 2, now);
	k = 3;
	if (p->fields & CATALOG_PATCH_TITLE) {
		db_bind_str(s, k++, p->title);
		db_bind_str(s, k++, title_norm);
	}
	if (sort_changes) {
		db_bind_str(s, k++, sort);
		db_bind_str(s, k++, *sort_norm ? sort_norm : (title_norm ? title_norm : sort));
	}
	for (size_t i = 0; i < sizeof(columns) / sizeof(columns[0]); i++) {
		if (!(p->fields & columns[i].field))
			continue;
		if (columns[i].type == C_TEXT)
			db_bind_str(s, k++, column_text(p, columns[i].field));
		else if (columns[i].type == C_INT)
			db_bind_int(s, k++, column_int(p, columns[i].field));
		else if (p->bpm < 0)
			db_bind_null(s, k++);
		else
			db_bind_double(s, k++, p->bpm);
	}
	if (db_step(s, e) < 0)
		goto out;
	ret = 0;
	goto out;
oom:
	err_set(e, ERR_NOMEM, "out of memory");
out:
	db_finalize(s);
	buf_release(&sql);
	free(title);
	free(title_norm);
	free(sort);
	free(sort_norm);
	return ret;
}

/* Move the track to the album named by the patch (title and/or album artist), found or made. */
static int update_album(struct db_conn *c, const char *id, const struct orphans *o,
			const struct catalog_track_patch *p, int64_t now, struct err *e)
{
	struct catalog_album_spec spec;
	char artist[ID_LEN + 1], album[ID_LEN + 1];
	char *title = NULL;
	struct db_stmt *s;
	int rc, ret = -1;

	memset(&spec, 0, sizeof(spec));
	s = db_prepare(c, "SELECT title, artist_id, year FROM albums WHERE id = $1", e);
	if (!s)
		return -1;
	db_bind_str(s, 1, o->album);
	rc = db_step(s, e);
	if (rc == 1) {
		title = strdup(db_col_text(s, 0) ? db_col_text(s, 0) : "");
		snprintf(artist, sizeof(artist), "%s", db_col_text(s, 1) ? db_col_text(s, 1) : "");
		spec.year = (int)db_col_int(s, 2);
	}
	db_finalize(s);
	if (rc <= 0) {
		if (rc == 0)
			err_set(e, ERR_INTERNAL, "the track's album is missing");
		return -1;
	}
	if (!title)
		return err_set(e, ERR_NOMEM, "out of memory");
	if ((p->fields & CATALOG_PATCH_ALBUM_ARTIST) && p->album_artist && *p->album_artist &&
	    catalog_artist_ensure(c, p->album_artist, NULL, NULL, now, artist, e) < 0)
		goto out;
	spec.title = (p->fields & CATALOG_PATCH_ALBUM) ? p->album : title;
	spec.artist_id = artist;
	if (catalog_album_ensure(c, &spec, now, album, e) < 0)
		goto out;
	if (catalog_exec_args(c, "UPDATE tracks SET rev = rev + 1, album_id = $2, album_title = (SELECT title FROM albums WHERE id = $2) "
				 "WHERE id = $1", e, 2, id, album) < 0)
		goto out;
	ret = 0;
out:
	free(title);
	return ret;
}

static int update_links(struct catalog *cat, struct db_conn *c, const char *id, const struct catalog_track_patch *p,
			int64_t now,
			struct err *e)
{
	char aid[ID_LEN + 1];
	int pos[3] = { 0, 0, 0 };

	if (p->fields & CATALOG_PATCH_ARTISTS) {
		if (catalog_exec_args(c, "DELETE FROM track_artists WHERE track_id = $1 AND role <> 'composer'", e, 1,
				      id) < 0)
			return -1;
		for (size_t i = 0; i < p->nartists; i++) {
			enum catalog_role r = p->artists[i].role;

			if (catalog_artist_ensure(c, p->artists[i].name, p->artists[i].sort_name, p->artists[i].mbid, now,
						  aid, e) < 0 ||
			    catalog_credit_add(c, id, aid, r, pos[r]++, e) < 0)
				return -1;
		}
	}
	if (p->fields & CATALOG_PATCH_COMPOSERS) {
		if (catalog_exec_args(c, "DELETE FROM track_artists WHERE track_id = $1 AND role = 'composer'", e, 1,
				      id) < 0)
			return -1;
		for (size_t i = 0; i < p->ncomposers; i++)
			if (catalog_artist_ensure(c, p->composers[i], NULL, NULL, now, aid, e) < 0 ||
			    catalog_credit_add(c, id, aid, CATALOG_ROLE_COMPOSER, (int)i, e) < 0)
				return -1;
	}
	if (p->fields & CATALOG_PATCH_GENRES) {
		if (catalog_exec_args(c, "DELETE FROM track_genres WHERE track_id = $1", e, 1, id) < 0)
			return -1;
		for (size_t i = 0; i < p->ngenres; i++)
			if (catalog_genre_ensure(c, p->genres[i], now, aid, e) < 0 ||
			    catalog_genre_link(c, id, aid, (int)i, e) < 0)
				return -1;
	}
	/* The text pages read (links.c), in the same transaction. */
	if ((p->fields & (CATALOG_PATCH_ARTISTS | CATALOG_PATCH_COMPOSERS | CATALOG_PATCH_GENRES)) &&
	    catalog_links_store(cat, c, id, e) < 0)
		return -1;
	return 0;
}

int catalog_track_update(struct catalog *cat, const char *id, const struct catalog_track_patch *p, struct err *e)
{
	struct orphans o;
	struct db_conn *c;
	int64_t now = clock_now_ms();
	int ret = -1;

	memset(&o, 0, sizeof(o));
	if (!id || !id_valid(id))
		return err_set(e, ERR_NOT_FOUND, "no such track");
	if (check_patch(p, e) < 0)
		return -1;
	c = db_acquire(cat->db, e);
	if (!c)
		return -1;
	if (db_begin(c, e) < 0)
		goto out;
	if (orphans_collect(c, id, &o, e) < 0 || update_columns(c, id, p, now, e) < 0 ||
	    update_links(cat, c, id, p, now, e) < 0)
		goto out;
	if ((p->fields & (CATALOG_PATCH_ALBUM | CATALOG_PATCH_ALBUM_ARTIST)) && update_album(c, id, &o, p, now, e) < 0)
		goto out;
	if (orphans_prune(c, &o, e) < 0 || catalog_bump(c, e) < 0 || db_commit(c, e) < 0)
		goto out;
	ret = 0;
out:
	catalog_release(c);
	orphans_release(&o);
	return ret;
}

/* ---- delete ---- */

/* Add the key prefix + v + suffix. */
static int keys_add(struct catalog_keys *k, const char *prefix, const char *v, const char *suffix, struct err *e)
{
	char **nk = realloc(k->keys, (k->n + 1) * sizeof(*k->keys));
	size_t len = strlen(prefix) + strlen(v) + strlen(suffix) + 1;
	char *key;

	if (!nk)
		return err_set(e, ERR_NOMEM, "out of memory");
	k->keys = nk;
	key = malloc(len);
	if (!key)
		return err_set(e, ERR_NOMEM, "out of memory");
	snprintf(key, len, "%s%s%s", prefix, v, suffix);
	k->keys[k->n++] = key;
	return 0;
}

void catalog_keys_release(struct catalog_keys *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->n; i++)
		free(k->keys[i]);
	free(k->keys);
	k->keys = NULL;
	k->n = 0;
}

static int64_t count1(struct db_conn *c, const char *sql, const char *v, struct err *e)
{
	struct db_stmt *s = db_prepare(c, sql, e);
	int64_t n = -1;

	if (!s)
		return -1;
	db_bind_str(s, 1, v);
	if (db_step(s, e) == 1)
		n = db_col_int(s, 0);
	db_finalize(s);
	return n;
}

int catalog_track_delete(struct catalog *cat, const char *id, struct catalog_keys *keys, struct err *e)
{
	struct orphans o;
	struct db_conn *c;
	char *object_key = NULL, *cover = NULL;
	struct db_stmt *s;
	int64_t n;
	int rc, ret = -1;

	memset(&o, 0, sizeof(o));
	if (!id || !id_valid(id))
		return err_set(e, ERR_NOT_FOUND, "no such track");
	c = db_acquire(cat->db, e);
	if (!c)
		return -1;
	if (db_begin(c, e) < 0 || orphans_collect(c, id, &o, e) < 0)
		goto out;
	s = db_prepare(c, "SELECT object_key, cover_hash FROM tracks WHERE id = $1", e);
	if (!s)
		goto out;
	db_bind_str(s, 1, id);
	rc = db_step(s, e);
	if (rc == 1) {
		if (db_col_text(s, 0))
			object_key = strdup(db_col_text(s, 0));
		if (db_col_text(s, 1))
			cover = strdup(db_col_text(s, 1));
	}
	db_finalize(s);
	if (rc < 0)
		goto out;
	if (catalog_exec_args(c, "DELETE FROM tracks WHERE id = $1", e, 1, id) < 0 || orphans_prune(c, &o, e) < 0)
		goto out;
	if (object_key) {
		n = count1(c, "SELECT count(*) FROM tracks WHERE object_key = $1", object_key, e);
		if (n < 0 || (n == 0 && keys_add(keys, "", object_key, "", e) < 0))
			goto out;
	}
	if (keys_add(keys, "hls/", id, "/", e) < 0 || keys_add(keys, "live/", id, "/", e) < 0)
		goto out;
	if (cover) {
		n = count1(c, "SELECT count(*) FROM tracks WHERE cover_hash = $1", cover, e);
		if (n == 0)
			n = count1(c, "SELECT count(*) FROM albums WHERE cover_hash = $1", cover, e);
		if (n < 0 || (n == 0 && keys_add(keys, "art/", cover, "/", e) < 0))
			goto out;
	}
	if (catalog_bump(c, e) < 0 || db_commit(c, e) < 0)
		goto out;
	ret = 0;
out:
	catalog_release(c);
	if (ret < 0)
		catalog_keys_release(keys);
	orphans_release(&o);
	free(object_key);
	free(cover);
	return ret;
}
