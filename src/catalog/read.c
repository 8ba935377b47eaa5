/* read.c — turning result rows into catalogue structs, and loading a page's track credits
 * and genres with one query each (never one per track). */
#include "catalog/read.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "db/db.h"

static const char *col_str(struct db_stmt *s, int col, struct catalog_arena *a, bool *oom)
{
	return catalog_arena_strdup(a, db_col_text(s, col), oom);
}

static double col_opt(struct db_stmt *s, int col, unsigned *has, unsigned bit)
{
	if (db_col_null(s, col))
		return 0;
	*has |= bit;
	return db_col_double(s, col);
}

int catalog_read_track(struct db_stmt *s, struct catalog_arena *a, struct catalog_track *t, struct err *e)
{
	bool oom = false;
	unsigned has = 0;
	const char *credits, *genres;
	int rc;

	memset(t, 0, sizeof(*t));
	t->id = col_str(s, 0, a, &oom);
	t->title = col_str(s, 1, a, &oom);
	t->sort_title = col_str(s, 2, a, &oom);
	t->album.id = col_str(s, 3, a, &oom);
	t->album.name = col_str(s, 4, a, &oom);
	t->disc = (int)db_col_int(s, 5);
	t->disc_total = (int)db_col_int(s, 6);
	t->track = (int)db_col_int(s, 7);
	t->track_total = (int)db_col_int(s, 8);
	t->duration_ms = db_col_int(s, 9);
	t->date = col_str(s, 10, a, &oom);
	t->year = (int)db_col_int(s, 11);
	t->isrc = col_str(s, 12, a, &oom);
	t->label = col_str(s, 13, a, &oom);
	t->bpm = col_opt(s, 14, &has, CATALOG_HAS_BPM);
	t->mb_recording_id = col_str(s, 15, a, &oom);
	t->mb_release_id = col_str(s, 16, a, &oom);
	t->rg_track_gain = col_opt(s, 17, &has, CATALOG_HAS_RG_TRACK);
	t->rg_track_peak = col_opt(s, 18, &has, CATALOG_HAS_RG_TRACK);
	t->rg_album_gain = col_opt(s, 19, &has, CATALOG_HAS_RG_ALBUM);
	t->rg_album_peak = col_opt(s, 20, &has, CATALOG_HAS_RG_ALBUM);
	t->loudness_lufs = col_opt(s, 21, &has, CATALOG_HAS_LOUDNESS);
	t->loudness_range = col_opt(s, 22, &has, CATALOG_HAS_LOUDNESS);
	t->true_peak = col_opt(s, 23, &has, CATALOG_HAS_LOUDNESS);
	t->has = has;
	t->sha256 = col_str(s, 24, a, &oom);
	t->object_key = col_str(s, 25, a, &oom);
	t->path = col_str(s, 26, a, &oom);
	t->container = col_str(s, 27, a, &oom);
	t->codec = col_str(s, 28, a, &oom);
	t->sample_rate = (int)db_col_int(s, 29);
	t->channels = (int)db_col_int(s, 30);
	t->bits = (int)db_col_int(s, 31);
	t->bitrate = (int)db_col_int(s, 32);
	t->lossless = db_col_int(s, 33) != 0;
	t->file_size = db_col_int(s, 34);
	t->cover_hash = col_str(s, 35, a, &oom);
	t->created_at = db_col_int(s, 36);
	t->updated_at = db_col_int(s, 37);
	t->lyrics = col_str(s, 40, a, &oom);
	if (oom)
		return err_set(e, ERR_NOMEM, "out of memory");
	credits = db_col_text(s, 38);
	genres = db_col_text(s, 39);
	if (!credits || !genres)
		return 1;
	rc = catalog_links_decode(a, credits, false, &t->artists, &t->nartists, e);
	if (rc == 0)
		rc = catalog_links_decode(a, genres, true, &t->genres, &t->ngenres, e);
	if (rc == 1) {
		t->artists = t->genres = NULL;
		t->nartists = t->ngenres = 0;
	}
	return rc;
}

int catalog_read_album(struct db_stmt *s, struct catalog_arena *a, struct catalog_album *al, struct err *e)
{
	bool oom = false;

	memset(al, 0, sizeof(*al));
	al->id = col_str(s, 0, a, &oom);
	al->title = col_str(s, 1, a, &oom);
	al->sort_title = col_str(s, 2, a, &oom);
	al->mbid = col_str(s, 3, a, &oom);
	al->date = col_str(s, 4, a, &oom);
	al->label = col_str(s, 5, a, &oom);
	al->cover_hash = col_str(s, 6, a, &oom);
	al->artist.id = col_str(s, 7, a, &oom);
	al->artist.name = col_str(s, 8, a, &oom);
	al->compilation = db_col_int(s, 9) != 0;
	al->year = (int)db_col_int(s, 10);
	al->disc_total = (int)db_col_int(s, 11);
	al->created_at = db_col_int(s, 12);
	al->updated_at = db_col_int(s, 13);
	al->track_count = al->duration_ms = -1;
	return oom ? err_set(e, ERR_NOMEM, "out of memory") : 0;
}

int catalog_read_artist(struct db_stmt *s, struct catalog_arena *a, struct catalog_artist *ar, struct err *e)
{
	bool oom = false;

	memset(ar, 0, sizeof(*ar));
	ar->id = col_str(s, 0, a, &oom);
	ar->name = col_str(s, 1, a, &oom);
	ar->sort_name = col_str(s, 2, a, &oom);
	ar->mbid = col_str(s, 3, a, &oom);
	ar->created_at = db_col_int(s, 4);
	ar->updated_at = db_col_int(s, 5);
	ar->album_count = ar->track_count = -1;
	return oom ? err_set(e, ERR_NOMEM, "out of memory") : 0;
}

int catalog_read_genre(struct db_stmt *s, struct catalog_arena *a, struct catalog_genre *g, struct err *e)
{
	bool oom = false;

	memset(g, 0, sizeof(*g));
	g->id = col_str(s, 0, a, &oom);
	g->name = col_str(s, 1, a, &oom);
	g->created_at = db_col_int(s, 2);
	g->updated_at = db_col_int(s, 3);
	g->track_count = -1;
	return oom ? err_set(e, ERR_NOMEM, "out of memory") : 0;
}

/* IN lists come in a few fixed sizes, padded by repeating the last id, so that the database's
 * statement cache holds a handful of statements rather than one per page size. The default
 * page size (50) and the common 100 have their own: SQLite puts every value of the list into a
 * temporary index on each run, so padding 50 ids to 128 cost more than the look-ups. */
static const size_t buckets[] = { 1, 8, 16, 32, 50, 64, 100, 128, 256, 512 };
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

/* The statements, one per bucket and kind of link, written once. Their rows are (track_id, id,
 * name, role, position) in no particular order: the order a track shows its credits in (main
 * artists first, then featured, then composers, each by position) is not the order of any
 * index, so SQLite sorted every page's credits in a temporary B-tree; they are put in order
 * here instead (sort_links), a few dozen rows. */
static char *links_sql[2][NBUCKETS];
/* And the rows of tracks by id (catalog_read_unknown), one statement per bucket too. */
static char *rows_sql[NBUCKETS];
static pthread_once_t in_list_once = PTHREAD_ONCE_INIT;
static bool in_list_oom;

static void in_list_sql_build(void)
{
	static const char *const heads[3] = {
		"SELECT ta.track_id, ar.id, ar.name, ta.role, ta.position "
		"FROM track_artists ta JOIN artists ar ON ar.id = ta.artist_id WHERE ta.track_id IN (",
		"SELECT tg.track_id, g.id, g.name, NULL, tg.position "
		"FROM track_genres tg JOIN genres g ON g.id = tg.genre_id WHERE tg.track_id IN (",
		"SELECT " CATALOG_TRACK_COLS ", NULL, " CATALOG_TRACK_REV CATALOG_TRACK_FROM " WHERE t.id IN (",
	};

	for (int kind = 0; kind < 3; kind++) {
		for (size_t b = 0; b < NBUCKETS; b++) {
			struct buf sql = BUF_INIT;
			bool oom = buf_adds(&sql, heads[kind]) < 0;
			char **out = kind < 2 ? &links_sql[kind][b] : &rows_sql[b];

			for (size_t i = 0; i < buckets[b] && !oom; i++)
				oom = buf_addf(&sql, "%s$%zu", i ? ", " : "", i + 1) < 0;
			if (oom || buf_addch(&sql, ')') < 0 || !(*out = buf_detach(&sql, NULL))) {
				buf_release(&sql);
				in_list_oom = true;
				return;
			}
		}
	}
}

static size_t bucket_for(size_t n)
{
	for (size_t i = 0; i < NBUCKETS; i++)
		if (n <= buckets[i])
			return i;
	return NBUCKETS;
}

static int cmp_track_id(const void *x, const void *y)
{
	const struct catalog_track *const *a = x, *const *b = y;

	return strcmp((*a)->id, (*b)->id);
}

/* The track whose id is `id` in by_id (sorted by id). SQLite returns the rows in the order of
 * the IN list's index, by track id, so the track is nearly always the one at *hint or the
 * next; otherwise a binary search. */
static struct catalog_track *find_track(struct catalog_track **by_id, size_t n, size_t *hint, const char *id)
{
	size_t lo = 0, hi = n;

	for (size_t i = *hint; i < n && i < *hint + 2; i++) {
		if (strcmp(by_id[i]->id, id) == 0) {
			*hint = i;
			return by_id[i];
		}
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(by_id[mid]->id, id);

		if (c == 0) {
			*hint = mid;
			return by_id[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* One credit or genre row, before it is put in its track's array. */
struct link_row {
	struct catalog_track *owner;
	int rank;         /* credits: main 0, featured 1, others 2 */
	int64_t position;
	struct catalog_ref ref;
};

static int cmp_link(const void *x, const void *y)
{
	const struct link_row *a = x, *b = y;

	if (a->owner != b->owner)
		return a->owner < b->owner ? -1 : 1;
	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	if (a->position != b->position)
		return a->position < b->position ? -1 : 1;
	return strcmp(a->ref.id, b->ref.id); /* as the index on (track, position, genre) had it */
}

/* Roles are one of three words (the schema checks it): point at constants, not copies. */
static const char *role_of(const char *role, int *rank, struct catalog_arena *a, bool *oom)
{
	static const char *const roles[] = { "main", "featured", "composer" };

	for (int i = 0; i < 3; i++) {
		if (role && strcmp(role, roles[i]) == 0) {
			*rank = i;
			return roles[i];
		}
	}
	*rank = 2;
	return catalog_arena_strdup(a, role, oom);
}

/* Run the links statement of `genres` over the ids of tracks[from, from + m); the rows become
 * each track's credits (genres when `genres`), in order. */
static int load_chunk(struct db_conn *c, struct catalog_arena *a, struct catalog_track **by_id, size_t n,
		      struct catalog_track *tracks, size_t from, size_t m, bool genres, struct err *e)
{
	struct db_stmt *s = NULL;
	struct link_row *rows = NULL;
	size_t nrows = 0, cap = 0, b = bucket_for(m), width = buckets[b], hint = 0;
	int rc, ret = -1;

	s = db_prepare(c, links_sql[genres][b], e);
	if (!s)
		goto out;
	for (size_t i = 0; i < width; i++)
		db_bind_str(s, (int)i + 1, tracks[from + (i < m ? i : m - 1)].id);
	while ((rc = db_step(s, e)) == 1) {
		struct link_row *r;
		const char *tid = db_col_text(s, 0);
		bool oom = false;

		if (nrows == cap) {
			size_t ncap = cap ? cap * 2 : 2 * m + 16;
			struct link_row *nr = realloc(rows, ncap * sizeof(*rows));

			if (!nr)
				goto oom;
			rows = nr;
			cap = ncap;
		}
		r = &rows[nrows];
		r->owner = find_track(by_id, n, &hint, tid ? tid : "");
		if (!r->owner)
			continue;
		r->rank = 0;
		r->position = db_col_int(s, 4);
		r->ref.id = catalog_arena_strdup(a, db_col_text(s, 1), &oom);
		r->ref.name = catalog_arena_strdup(a, db_col_text(s, 2), &oom);
		r->ref.role = genres ? NULL : role_of(db_col_text(s, 3), &r->rank, a, &oom);
		if (oom)
			goto oom;
		nrows++;
	}
	if (rc < 0)
		goto out;
	if (nrows > 1)
		qsort(rows, nrows, sizeof(*rows), cmp_link);
	/* Each run of one track's rows becomes that track's array. */
	for (size_t i = 0; i < nrows;) {
		size_t j = i;
		struct catalog_ref *arr;

		while (j < nrows && rows[j].owner == rows[i].owner)
			j++;
		arr = catalog_arena_alloc(a, (j - i) * sizeof(*arr));
		if (!arr)
			goto oom;
		for (size_t k = i; k < j; k++)
			arr[k - i] = rows[k].ref;
		if (genres) {
			rows[i].owner->genres = arr;
			rows[i].owner->ngenres = j - i;
		} else {
			rows[i].owner->artists = arr;
			rows[i].owner->nartists = j - i;
		}
		i = j;
	}
	ret = 0;
	goto out;
oom:
	err_set(e, ERR_NOMEM, "out of memory");
out:
	db_finalize(s);
	free(rows);
	return ret;
}

int catalog_load_links(struct db_conn *c, struct catalog_arena *a, struct catalog_track *tracks, size_t n,
		       struct err *e)
{
	struct catalog_track *one, **by_id;
	const size_t max = buckets[NBUCKETS - 1];
	int ret = 0;

	if (n == 0)
		return 0;
	pthread_once(&in_list_once, in_list_sql_build);
	if (in_list_oom)
		return err_set(e, ERR_NOMEM, "out of memory");
	by_id = n == 1 ? &one : malloc(n * sizeof(*by_id));
	if (!by_id)
		return err_set(e, ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		by_id[i] = &tracks[i];
	qsort(by_id, n, sizeof(*by_id), cmp_track_id);
	for (size_t from = 0; from < n && ret == 0; from += max) {
		size_t m = n - from < max ? n - from : max;

		if (load_chunk(c, a, by_id, n, tracks, from, m, false, e) < 0 ||
		    load_chunk(c, a, by_id, n, tracks, from, m, true, e) < 0)
			ret = -1;
	}
	if (by_id != &one)
		free(by_id);
	return ret;
}

/* Read the rows of tracks[from, from + m) of by_id (the tracks the caller did not know, sorted
 * by id) with one statement. */
static int read_chunk(struct db_conn *c, struct catalog_arena *a, struct catalog_track **by_id, size_t n,
		      size_t from, size_t m, bool missing_ok, bool *need_links, struct err *e)
{
	size_t b = bucket_for(m), width = buckets[b], hint = from, got = 0;
	struct db_stmt *s = db_prepare(c, rows_sql[b], e);
	int rc;

	if (!s)
		return -1;
	for (size_t i = 0; i < width; i++)
		db_bind_str(s, (int)i + 1, by_id[from + (i < m ? i : m - 1)]->id);
	while ((rc = db_step(s, e)) == 1) {
		const char *id = db_col_text(s, 0);
		struct catalog_track *t = find_track(by_id, n, &hint, id ? id : "");

		if (!t || t->title)
			continue; /* not asked for, or read already */
		rc = catalog_read_track(s, a, t, e);
		t->rev = db_col_int(s, CATALOG_TRACK_NCOLS);
		if (rc < 0)
			break;
		*need_links |= rc == 1;
		got++;
	}
	db_finalize(s);
	if (rc < 0)
		return -1;
	if (got != m && !missing_ok)
		return err_set(e, ERR_INTERNAL, "a track of the page is gone from its own snapshot");
	return 0;
}

int catalog_read_unknown(struct db_conn *c, struct catalog_arena *a, struct catalog_track *tracks, size_t n,
			 bool missing_ok, bool *need_links, struct err *e)
{
	struct catalog_track **by_id;
	const size_t max = buckets[NBUCKETS - 1];
	size_t m = 0;
	int ret = 0;

	pthread_once(&in_list_once, in_list_sql_build);
	if (in_list_oom)
		return err_set(e, ERR_NOMEM, "out of memory");
	by_id = malloc((n ? n : 1) * sizeof(*by_id));
	if (!by_id)
		return err_set(e, ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		if (!tracks[i].known)
			by_id[m++] = &tracks[i];
	qsort(by_id, m, sizeof(*by_id), cmp_track_id);
	for (size_t from = 0; from < m && ret == 0; from += max)
		ret = read_chunk(c, a, by_id, m, from, m - from < max ? m - from : max, missing_ok, need_links, e);
	free(by_id);
	return ret;
}
