/* get.c — catalog_get: one artist, album, track or genre by id, with what its page shows
 * (counts; an album's tracks; an artist's albums). */
#include <stdlib.h>
#include <string.h>

#include "catalog/read.h"
#include "db/db.h"

/* The first column of the first row of `sql` with one text parameter, as an integer. */
static int count_of(struct db_conn *c, const char *sql, const char *id, int64_t *out, struct err *e)
{
	struct db_stmt *s = db_prepare(c, sql, e);
	int rc;

	if (!s)
		return -1;
	db_bind_str(s, 1, id);
	rc = db_step(s, e);
	*out = rc == 1 ? db_col_int(s, 0) : 0;
	db_finalize(s);
	return rc < 0 ? -1 : 0;
}

/* Run `sql` (one text parameter: the id) and read up to `max` tracks into page->tracks. */
static int get_tracks(struct db_conn *c, struct catalog_page *p, const char *sql, const char *id, size_t max,
		      struct err *e)
{
	struct db_stmt *s = db_prepare(c, sql, e);
	size_t cap = 0;
	bool need_links = false; /* a track's links are not stored (see read.h) */
	int rc;

	if (!s)
		return -1;
	db_bind_str(s, 1, id);
	while ((rc = db_step(s, e)) == 1 && p->ntracks < max) {
		if (p->ntracks == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct catalog_track *nt = catalog_arena_alloc(p->arena, ncap * sizeof(*nt));

			if (!nt) {
				rc = err_set(e, ERR_NOMEM, "out of memory");
				break;
			}
			if (p->ntracks)
				memcpy(nt, p->tracks, p->ntracks * sizeof(*nt));
			p->tracks = nt;
			cap = ncap;
		}
		rc = catalog_read_track(s, p->arena, &p->tracks[p->ntracks], e);
		if (rc < 0)
			break;
		need_links |= rc == 1;
		p->ntracks++;
	}
	db_finalize(s);
	if (rc < 0)
		return -1;
	return need_links ? catalog_load_links(c, p->arena, p->tracks, p->ntracks, e) : 0;
}

/* 0, or 1 for a track whose links are to be read from the link tables (see read.h); -1. */
static int get_one(struct db_conn *c, enum catalog_kind kind, const char *id, struct catalog_page *p, struct err *e)
{
	struct db_stmt *s = NULL;
	const char *sql = NULL;
	int rc, ret = -1;

	switch (kind) {
	case CATALOG_ARTISTS: sql = "SELECT " CATALOG_ARTIST_COLS CATALOG_ARTIST_FROM " WHERE a.id = $1"; break;
	case CATALOG_ALBUMS: sql = "SELECT " CATALOG_ALBUM_COLS CATALOG_ALBUM_FROM " WHERE al.id = $1"; break;
	case CATALOG_TRACKS: sql = "SELECT " CATALOG_TRACK_COLS ", t.lyrics" CATALOG_TRACK_FROM " WHERE t.id = $1"; break;
	case CATALOG_GENRES: sql = "SELECT " CATALOG_GENRE_COLS CATALOG_GENRE_FROM " WHERE g.id = $1"; break;
	}
	s = db_prepare(c, sql, e);
	if (!s)
		return -1;
	db_bind_str(s, 1, id);
	rc = db_step(s, e);
	if (rc < 0)
		goto out;
	if (rc == 0) {
		err_set(e, ERR_NOT_FOUND, "no such %s", kind == CATALOG_ARTISTS ? "artist"
						      : kind == CATALOG_ALBUMS ? "album"
						      : kind == CATALOG_TRACKS ? "track" : "genre");
		goto out;
	}
	switch (kind) {
	case CATALOG_ARTISTS:
		p->artists = catalog_arena_alloc(p->arena, sizeof(*p->artists));
		if (!p->artists || catalog_read_artist(s, p->arena, p->artists, e) < 0)
			goto nomem;
		p->nartists = 1;
		break;
	case CATALOG_ALBUMS:
		p->albums = catalog_arena_alloc(p->arena, sizeof(*p->albums));
		if (!p->albums || catalog_read_album(s, p->arena, p->albums, e) < 0)
			goto nomem;
		p->nalbums = 1;
		break;
	case CATALOG_TRACKS:
		p->tracks = catalog_arena_alloc(p->arena, sizeof(*p->tracks));
		if (!p->tracks)
			goto nomem;
		rc = catalog_read_track(s, p->arena, p->tracks, e);
		if (rc < 0)
			goto out;
		p->ntracks = 1;
		ret = rc; /* 1: its links are to be read (get_details) */
		goto out;
	case CATALOG_GENRES:
		p->genres = catalog_arena_alloc(p->arena, sizeof(*p->genres));
		if (!p->genres || catalog_read_genre(s, p->arena, p->genres, e) < 0)
			goto nomem;
		p->ngenres = 1;
		break;
	}
	ret = 0;
	goto out;
nomem:
	err_set(e, ERR_NOMEM, "out of memory");
out:
	db_finalize(s);
	return ret;
}

/* An artist's albums (as album artist), oldest first. */
static int artist_albums(struct db_conn *c, struct catalog_page *p, const char *id, struct err *e)
{
	struct db_stmt *s = db_prepare(c, "SELECT " CATALOG_ALBUM_COLS CATALOG_ALBUM_FROM " WHERE al.artist_id = $1 "
				       "ORDER BY al.year, al.title_norm, al.id LIMIT 10000", e);
	struct catalog_album *rows;
	size_t cap = 0, n = 0;
	int rc;

	if (!s)
		return -1;
	db_bind_str(s, 1, id);
	rows = NULL;
	while ((rc = db_step(s, e)) == 1) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct catalog_album *nr = catalog_arena_alloc(p->arena, ncap * sizeof(*nr));

			if (!nr) {
				rc = err_set(e, ERR_NOMEM, "out of memory");
				break;
			}
			if (n)
				memcpy(nr, rows, n * sizeof(*nr));
			rows = nr;
			cap = ncap;
		}
		if (catalog_read_album(s, p->arena, &rows[n], e) < 0) {
			rc = -1;
			break;
		}
		n++;
	}
	db_finalize(s);
	p->albums = rows;
	p->nalbums = n;
	return rc < 0 ? -1 : 0;
}

static int get_details(struct db_conn *c, enum catalog_kind kind, const char *id, struct catalog_page *p,
		       bool need_links, struct err *e)
{
	switch (kind) {
	case CATALOG_ARTISTS:
		if (artist_albums(c, p, id, e) < 0 ||
		    count_of(c, "SELECT count(DISTINCT track_id) FROM track_artists WHERE artist_id = $1", id,
			     &p->artists->track_count, e) < 0)
			return -1;
		/* All the albums were read (same snapshot) unless the list hit its cap. */
		if (p->nalbums < 10000) {
			p->artists->album_count = (int64_t)p->nalbums;
			return 0;
		}
		return count_of(c, "SELECT count(*) FROM albums WHERE artist_id = $1", id, &p->artists->album_count, e);
	case CATALOG_ALBUMS:
		if (get_tracks(c, p, "SELECT " CATALOG_TRACK_COLS ", NULL" CATALOG_TRACK_FROM " WHERE t.album_id = $1 "
			       "ORDER BY t.disc, t.track_no, t.title_norm, t.id LIMIT 10000", id, 10000, e) < 0)
			return -1;
		if (p->ntracks < 10000) {
			/* Every track was read (same snapshot): count and sum them here rather than
			 * read the album's rows twice more. */
			p->albums->track_count = (int64_t)p->ntracks;
			p->albums->duration_ms = 0;
			for (size_t i = 0; i < p->ntracks; i++)
				p->albums->duration_ms += p->tracks[i].duration_ms;
			return 0;
		}
		if (count_of(c, "SELECT count(*) FROM tracks WHERE album_id = $1", id, &p->albums->track_count, e) < 0 ||
		    count_of(c, "SELECT COALESCE(sum(duration_ms), 0) FROM tracks WHERE album_id = $1", id,
			     &p->albums->duration_ms, e) < 0)
			return -1;
		return 0;
	case CATALOG_TRACKS:
		return need_links ? catalog_load_links(c, p->arena, p->tracks, 1, e) : 0;
	case CATALOG_GENRES:
		/* Kept by the catalogue as tracks gain and lose genres (migration 0013). */
		return count_of(c, "SELECT COALESCE((SELECT track_count FROM genre_counts WHERE genre_id = $1), 0)", id,
				&p->genres->track_count, e);
	}
	return 0;
}

int catalog_get(struct catalog *cat, enum catalog_kind kind, const char *id, struct catalog_page **out,
		struct err *e)
{
	struct catalog_page *p = NULL;
	struct db_conn *c = NULL;
	int rc, ret = -1;

	*out = NULL;
	if ((unsigned)kind > CATALOG_GENRES)
		return err_set(e, ERR_INVALID, "unknown kind");
	if (!id || !id_valid(id))
		return err_set(e, ERR_NOT_FOUND, "no such %s", kind == CATALOG_ARTISTS ? "artist"
							   : kind == CATALOG_ALBUMS ? "album"
							   : kind == CATALOG_TRACKS ? "track" : "genre");
	p = catalog_page_new(e);
	if (!p)
		return -1;
	c = db_acquire(cat->db, e);
	if (!c)
		goto out;
	if (db_begin_read(c, e) < 0)
		goto out;
	if (catalog_read_version(c, &p->version, e) < 0 || (rc = get_one(c, kind, id, p, e)) < 0 ||
	    get_details(c, kind, id, p, rc == 1, e) < 0 || db_commit(c, e) < 0)
		goto out;
	*out = p;
	p = NULL;
	ret = 0;
out:
	catalog_release(c);
	catalog_page_free(p);
	return ret;
}

int catalog_get_tracks(struct catalog *cat, const char *const *ids, size_t n, struct catalog_page **out,
		       struct err *e)
{
	struct catalog_page *p = NULL;
	struct db_conn *c = NULL;
	struct catalog_track *t;
	bool need_links = false, oom = false;
	size_t m = 0, found = 0;
	int ret = -1;

	*out = NULL;
	p = catalog_page_new(e);
	if (!p)
		return -1;
	t = catalog_arena_alloc(p->arena, (n ? n : 1) * sizeof(*t));
	if (!t) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!ids[i] || !id_valid(ids[i]))
			continue; /* no such track */
		memset(&t[m], 0, sizeof(t[m]));
		t[m++].id = catalog_arena_strdup(p->arena, ids[i], &oom);
	}
	if (oom) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	c = db_acquire(cat->db, e);
	if (!c)
		goto out;
	if (db_begin_read(c, e) < 0 || catalog_read_version(c, &p->version, e) < 0 ||
	    (m && catalog_read_unknown(c, p->arena, t, m, true, &need_links, e) < 0))
		goto out;
	for (size_t i = 0; i < m; i++) /* those found, in the order asked */
		if (t[i].title)
			t[found++] = t[i];
	if (need_links && catalog_load_links(c, p->arena, t, found, e) < 0)
		goto out;
	if (db_commit(c, e) < 0)
		goto out;
	p->tracks = t;
	p->ntracks = found;
	*out = p;
	p = NULL;
	ret = 0;
out:
	catalog_release(c);
	catalog_page_free(p);
	return ret;
}
