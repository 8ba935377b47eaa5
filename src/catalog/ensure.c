/* ensure.c — find or create artists, albums and genres, following the merge rules of
 * catalog.h. Each runs inside the caller's write transaction and is safe when another
 * process adds the same row at the same moment: the unique indexes of migration 0002 let
 * only one INSERT win (ON CONFLICT DO NOTHING), and everyone then reads the winner. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "catalog/internal.h"
#include "catalog/text.h"
#include "db/db.h"

/* The normalised forms of a name and of its sort name (a tagged sort name wins over the
 * derived one). Both malloc'd; -1 with *e set. An empty normalised name is refused: it
 * would merge every blank name into one row. */
static int names(const char *field, const char *name, const char *sort_name, char **norm, char **sort,
		 char **sort_norm, struct err *e)
{
	*norm = *sort = *sort_norm = NULL;
	*norm = catalog_normalize(name, e);
	if (!*norm)
		return err_wrap(e, "field \"%s\"", field);
	if (!**norm)
		return err_set(e, ERR_INVALID, "field \"%s\": empty", field);
	*sort = sort_name && *sort_name ? strdup(sort_name) : catalog_sort_name(name);
	if (!*sort)
		return err_set(e, ERR_NOMEM, "out of memory");
	*sort_norm = catalog_normalize(*sort, e);
	if (!*sort_norm)
		return err_wrap(e, "sort name of \"%s\"", field);
	if (!**sort_norm) {
		free(*sort_norm);
		*sort_norm = strdup(*norm);
		if (!*sort_norm)
			return err_set(e, ERR_NOMEM, "out of memory");
	}
	return 0;
}

static void trim_copy(const char *s, char **out)
{
	const char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*out = strndup(s, (size_t)(end - s));
}

int catalog_artist_ensure(struct db_conn *c, const char *name, const char *sort_name, const char *mbid,
			  int64_t now, char out[ID_LEN + 1], struct err *e)
{
	char *norm = NULL, *sort = NULL, *sort_norm = NULL, *display = NULL;
	char id[ID_LEN + 1];
	struct db_stmt *s = NULL;
	int rc, ret = -1;

	if (mbid && !*mbid)
		mbid = NULL;
	if (names("artists", name, sort_name, &norm, &sort, &sort_norm, e) < 0)
		goto out;
	if (mbid) {
		rc = catalog_query_id(c, "SELECT id FROM artists WHERE mbid = $1", out, e, 1, mbid);
		if (rc != 0) {
			ret = rc < 0 ? -1 : 0;
			goto out;
		}
		/* The same name met earlier without an id: it is this artist; give it the id. */
		rc = catalog_query_id(c,
			"UPDATE artists SET mbid = $1 WHERE id = (SELECT id FROM artists WHERE name_norm = $2 "
			"AND mbid IS NULL) AND mbid IS NULL RETURNING id", out, e, 2, mbid, norm);
		if (rc != 0) {
			ret = rc < 0 ? -1 : 0;
			goto out;
		}
	} else {
		/* Without an id, a name matches the plain artist of that name, else the oldest one
		 * that has an id. */
		rc = catalog_query_id(c, "SELECT id FROM artists WHERE name_norm = $1 "
				      "ORDER BY (mbid IS NULL) DESC, id LIMIT 1", out, e, 1, norm);
		if (rc != 0) {
			ret = rc < 0 ? -1 : 0;
			goto out;
		}
	}
	trim_copy(name, &display);
	if (!display) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	id_new(id);
	s = db_prepare(c, "INSERT INTO artists (id, name, sort_name, name_norm, sort_norm, mbid, created_at, "
			  "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT DO NOTHING", e);
	if (!s)
		goto out;
	db_bind_str(s, 1, id);
	db_bind_str(s, 2, display);
	db_bind_str(s, 3, sort);
	db_bind_str(s, 4, norm);
	db_bind_str(s, 5, sort_norm);
	db_bind_str(s, 6, mbid);
	db_bind_int(s, 7, now);
	if (db_step(s, e) < 0)
		goto out;
	rc = mbid ? catalog_query_id(c, "SELECT id FROM artists WHERE mbid = $1", out, e, 1, mbid)
		  : catalog_query_id(c, "SELECT id FROM artists WHERE name_norm = $1 AND mbid IS NULL", out, e, 1, norm);
	if (rc == 0)
		err_set(e, ERR_CONFLICT, "artist vanished while being added");
	ret = rc == 1 ? 0 : -1;
out:
	db_finalize(s);
	free(norm);
	free(sort);
	free(sort_norm);
	free(display);
	return ret;
}

static int album_insert(struct db_conn *c, const struct catalog_album_spec *a, const char *display,
			const char *sort, const char *norm, const char *sort_norm, int64_t now, struct err *e)
{
	char id[ID_LEN + 1];
	struct db_stmt *s;
	int rc;

	id_new(id);
	s = db_prepare(c, "INSERT INTO albums (id, title, sort_title, title_norm, sort_norm, artist_id, mbid, "
			  "compilation, artist_inferred, year, date, label, disc_total, cover_hash, created_at, "
			  "updated_at, artist_name) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
			  "$14, $15, $15, (SELECT name FROM artists WHERE id = $6)) ON CONFLICT DO NOTHING", e);
	if (!s)
		return -1;
	db_bind_str(s, 1, id);
	db_bind_str(s, 2, display);
	db_bind_str(s, 3, sort);
	db_bind_str(s, 4, norm);
	db_bind_str(s, 5, sort_norm);
	db_bind_str(s, 6, a->artist_id);
	db_bind_str(s, 7, a->mbid);
	db_bind_int(s, 8, a->compilation);
	db_bind_int(s, 9, a->inferred);
	db_bind_int(s, 10, a->year);
	db_bind_str(s, 11, a->date && *a->date ? a->date : NULL);
	db_bind_str(s, 12, a->label && *a->label ? a->label : NULL);
	db_bind_int(s, 13, a->disc_total);
	db_bind_str(s, 14, a->cover_hash && *a->cover_hash ? a->cover_hash : NULL);
	db_bind_int(s, 15, now);
	rc = db_step(s, e);
	db_finalize(s);
	return rc < 0 ? -1 : 0;
}

/* An untagged album artist stood in by the track's artist: when another artist's untagged
 * track of the same title and year arrives, the album is a compilation (several different
 * track artists, no album artist) and moves to Various Artists. 1 with *out set when an
 * album was found (or converted), 0 when none, -1 on error. */
static int album_inferred(struct db_conn *c, const struct catalog_album_spec *a, const char *norm,
			  int64_t now, char out[ID_LEN + 1], struct err *e)
{
	char found_artist[ID_LEN + 1], va[ID_LEN + 1], other[ID_LEN + 1];
	struct db_stmt *s;
	int rc, best = -1, found = 0;

	/* `+year`: not by albums_by_year. SQLite (no statistics) rated that index as good as
	 * albums_by_name, and where years are untagged every album has year 0: each new track
	 * then read every such album, a folder import growing quadratically (a sixth of a 5,000-file
	 * import's CPU). The title narrows it to a handful of rows, read in the index's id order;
	 * the preferred one (this artist's, else a compilation, else the oldest) is picked here
	 * rather than by an ORDER BY on expressions, which SQLite sorts in a temporary b-tree. */
	s = db_prepare(c, "SELECT id, artist_id, compilation FROM albums WHERE title_norm = $1 AND artist_inferred = 1 "
			  "AND +year = $2 AND mbid IS NULL ORDER BY id", e);
	if (!s)
		return -1;
	db_bind_str(s, 1, norm);
	db_bind_int(s, 2, a->year);
	while ((rc = db_step(s, e)) == 1) {
		const char *artist = db_col_text(s, 1);
		int rank = (artist && strcmp(artist, a->artist_id) == 0) * 2 + (db_col_int(s, 2) != 0);

		if (rank > best) {
			best = rank;
			found = 1;
			snprintf(out, ID_LEN + 1, "%s", db_col_text(s, 0) ? db_col_text(s, 0) : "");
			snprintf(found_artist, sizeof(found_artist), "%s", artist ? artist : "");
		}
	}
	db_finalize(s);
	if (rc < 0)
		return -1;
	if (!found)
		return 0;
	if (strcmp(found_artist, a->artist_id) == 0)
		return 1;
	if (catalog_artist_ensure(c, CATALOG_VARIOUS_ARTISTS, NULL, NULL, now, va, e) < 0)
		return -1;
	if (strcmp(found_artist, va) == 0)
		return 1;
	/* A Various Artists album of that title exists already: join it, leave the other be. */
	rc = catalog_query_id(c, "SELECT id FROM albums WHERE title_norm = $1 AND artist_id = $2 AND mbid IS NULL",
			      other, e, 2, norm, va);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		memcpy(out, other, ID_LEN + 1);
		return 1;
	}
	s = db_prepare(c, "UPDATE albums SET artist_id = $2, artist_name = (SELECT name FROM artists WHERE id = $2), "
			  "compilation = 1, updated_at = $3 WHERE id = $1", e);
	if (!s)
		return -1;
	db_bind_str(s, 1, out);
	db_bind_str(s, 2, va);
	db_bind_int(s, 3, now);
	rc = db_step(s, e);
	db_finalize(s);
	return rc < 0 ? -1 : 1;
}

/* The album of this title by this artist, one without a MusicBrainz id first, else the oldest:
 * 1 with *out set, 0, or -1. The rows come in the index's id order and the choice is made
 * here, not by ORDER BY (mbid IS NULL) DESC, which SQLite sorts in a temporary b-tree. */
static int album_by_title(struct db_conn *c, const char *norm, const char *artist_id, char out[ID_LEN + 1],
			  struct err *e)
{
	struct db_stmt *s = db_prepare(c, "SELECT id, CASE WHEN mbid IS NULL THEN 1 ELSE 0 END FROM albums "
					  "WHERE title_norm = $1 AND artist_id = $2 ORDER BY id", e);
	int rc, found = 0;

	if (!s)
		return -1;
	db_bind_str(s, 1, norm);
	db_bind_str(s, 2, artist_id);
	while ((rc = db_step(s, e)) == 1) {
		bool plain = db_col_int(s, 1) != 0;

		if (!found || plain) {
			snprintf(out, ID_LEN + 1, "%s", db_col_text(s, 0) ? db_col_text(s, 0) : "");
			found = 1;
		}
		if (plain)
			break;
	}
	db_finalize(s);
	return rc < 0 ? -1 : found;
}

/* Fill in what the album did not know yet from a later track. */
static int album_complete(struct db_conn *c, const char *id, const struct catalog_album_spec *a, int64_t now,
			  struct err *e)
{
	struct db_stmt *s;
	int rc = 0;

	if (a->year > 0) {
		s = db_prepare(c, "UPDATE albums SET year = $2, updated_at = $3 WHERE id = $1 AND year = 0", e);
		if (!s)
			return -1;
		db_bind_str(s, 1, id);
		db_bind_int(s, 2, a->year);
		db_bind_int(s, 3, now);
		rc = db_step(s, e);
		db_finalize(s);
	}
	if (rc >= 0 && a->cover_hash && *a->cover_hash) {
		s = db_prepare(c, "UPDATE albums SET cover_hash = $2, updated_at = $3 WHERE id = $1 AND cover_hash IS NULL", e);
		if (!s)
			return -1;
		db_bind_str(s, 1, id);
		db_bind_str(s, 2, a->cover_hash);
		db_bind_int(s, 3, now);
		rc = db_step(s, e);
		db_finalize(s);
	}
	return rc < 0 ? -1 : 0;
}

int catalog_album_ensure(struct db_conn *c, const struct catalog_album_spec *a, int64_t now,
			 char out[ID_LEN + 1], struct err *e)
{
	char *norm = NULL, *sort = NULL, *sort_norm = NULL, *display = NULL;
	const char *mbid = a->mbid && *a->mbid ? a->mbid : NULL;
	int rc, ret = -1;

	if (names("album", a->title, a->sort_title, &norm, &sort, &sort_norm, e) < 0)
		goto out;
	if (mbid) {
		rc = catalog_query_id(c, "SELECT id FROM albums WHERE mbid = $1", out, e, 1, mbid);
		if (rc == 0)
			rc = catalog_query_id(c,
				"UPDATE albums SET mbid = $1 WHERE id = (SELECT id FROM albums WHERE title_norm = $2 "
				"AND artist_id = $3 AND mbid IS NULL) AND mbid IS NULL RETURNING id", out, e, 3, mbid,
				norm, a->artist_id);
	} else if (a->inferred) {
		rc = album_inferred(c, a, norm, now, out, e);
		if (rc == 0)
			rc = album_by_title(c, norm, a->artist_id, out, e);
	} else {
		rc = album_by_title(c, norm, a->artist_id, out, e);
	}
	if (rc < 0)
		goto out;
	if (rc == 0) {
		trim_copy(a->title, &display);
		if (!display) {
			err_set(e, ERR_NOMEM, "out of memory");
			goto out;
		}
		if (album_insert(c, a, display, sort, norm, sort_norm, now, e) < 0)
			goto out;
		rc = mbid ? catalog_query_id(c, "SELECT id FROM albums WHERE mbid = $1", out, e, 1, mbid)
			  : catalog_query_id(c, "SELECT id FROM albums WHERE title_norm = $1 AND artist_id = $2 "
					     "AND mbid IS NULL", out, e, 2, norm, a->artist_id);
		if (rc < 0)
			goto out;
		if (rc == 0) {
			err_set(e, ERR_CONFLICT, "album vanished while being added");
			goto out;
		}
	}
	if (album_complete(c, out, a, now, e) < 0)
		goto out;
	ret = 0;
out:
	free(norm);
	free(sort);
	free(sort_norm);
	free(display);
	return ret;
}

int catalog_genre_ensure(struct db_conn *c, const char *name, int64_t now, char out[ID_LEN + 1], struct err *e)
{
	char *norm = catalog_normalize(name, e), *display = NULL;
	char id[ID_LEN + 1];
	struct db_stmt *s = NULL;
	int rc, ret = -1;

	if (!norm)
		return err_wrap(e, "field \"genres\"");
	if (!*norm) {
		err_set(e, ERR_INVALID, "field \"genres\": empty");
		goto out;
	}
	rc = catalog_query_id(c, "SELECT id FROM genres WHERE name_norm = $1", out, e, 1, norm);
	if (rc != 0) {
		ret = rc < 0 ? -1 : 0;
		goto out;
	}
	trim_copy(name, &display);
	if (!display) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	id_new(id);
	s = db_prepare(c, "INSERT INTO genres (id, name, name_norm, created_at, updated_at) "
			  "VALUES ($1, $2, $3, $4, $4) ON CONFLICT DO NOTHING", e);
	if (!s)
		goto out;
	db_bind_str(s, 1, id);
	db_bind_str(s, 2, display);
	db_bind_str(s, 3, norm);
	db_bind_int(s, 4, now);
	if (db_step(s, e) < 0)
		goto out;
	rc = catalog_query_id(c, "SELECT id FROM genres WHERE name_norm = $1", out, e, 1, norm);
	if (rc == 0)
		err_set(e, ERR_CONFLICT, "genre vanished while being added");
	ret = rc == 1 ? 0 : -1;
out:
	db_finalize(s);
	free(norm);
	free(display);
	return ret;
}
