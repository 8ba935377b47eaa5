/* The catalogue repository's contract: the merge rules, duplicates, deletes, concurrency and
 * pagination, on every database backend.
 *
 * SQLite always; PostgreSQL too when TA_TEST_PG holds a server URL (tests/lib/pg.sh start):
 *   D=$(mktemp -d); export TA_TEST_PG=$(tests/lib/pg.sh start $D); ctest -R catalog_; tests/lib/pg.sh stop $D
 */
#include <math.h>
#include <pthread.h>

#include "base/log.h"
#include "catalog/catalog.h"
#include "catalog/cursor.h"
#include "media/analyse.h"
#include "contract/db_fixture.c"

/* The fixture's helpers this suite does not need. */
static void (*const unused_fixture_helpers[])(void) = {
	(void (*)(void))fx_table_exists, (void (*)(void))fx_migrate, (void (*)(void))fx_now_ms,
};

static struct catalog *cat;

static int group_setup(void **state, int (*setup)(void **))
{
	struct err e = ERR_INIT;
	struct fx *f;

	if (setup(state) < 0)
		return -1;
	f = *state;
	if (db_migrate(f->db, &e) < 0) {
		fprintf(stderr, "migrate: %s\n", e.msg);
		return -1;
	}
	cat = catalog_new(f->db, &e);
	return cat ? 0 : -1;
}

static int setup_sqlite(void **state)
{
	return group_setup(state, fx_setup_sqlite);
}

static int setup_pg(void **state)
{
	return group_setup(state, fx_setup_pg);
}

static int teardown(void **state)
{
	catalog_free(cat);
	cat = NULL;
	return fx_teardown(state);
}

/* Every test starts with an empty catalogue. */
static int wipe(void **state)
{
	struct fx *f = *state;
	struct db_conn *c = fx_acquire(f);

	fx_exec(c, "DELETE FROM track_duplicates; DELETE FROM track_analysis; DELETE FROM track_genres; DELETE FROM track_artists; "
		   "DELETE FROM tracks; DELETE FROM albums; DELETE FROM artists; DELETE FROM genres");
	db_release(c);
	return 0;
}

/* A track with one main artist; the sha256 comes from a counter so every call is new content. */
struct spec {
	const char *title, *artist, *artist_mbid, *album, *album_artist, *release_mbid, *genre, *cover;
	const char *object_key;
	int year, disc, track;
	bool compilation;
	int64_t created_at;
	bool tagged_album_gain; /* the file's tags said album gain -3.21 dB, peak 0.5 */
};

static int sha_counter;

static void next_sha(char out[65])
{
	snprintf(out, 65, "%064x", ++sha_counter);
}

static int add_spec(const struct spec *sp, struct catalog_track_added *out, struct err *e)
{
	struct catalog_artist_input artist = { sp->artist ? sp->artist : "Artist", NULL, sp->artist_mbid,
					       CATALOG_ROLE_MAIN };
	const char *genres[1] = { sp->genre };
	struct catalog_track_input in;
	char sha[65], key[80];

	next_sha(sha);
	snprintf(key, sizeof(key), "orig/%s", sha);
	memset(&in, 0, sizeof(in));
	in.title = sp->title ? sp->title : "Title";
	in.artists = &artist;
	in.nartists = 1;
	in.album = sp->album;
	in.album_artist = sp->album_artist;
	in.mb_release_id = sp->release_mbid;
	in.compilation = sp->compilation;
	in.genres = genres;
	in.ngenres = sp->genre ? 1 : 0;
	in.year = sp->year;
	in.disc = sp->disc;
	in.track = sp->track;
	in.duration_ms = 180000;
	in.sha256 = sha;
	in.object_key = sp->object_key ? sp->object_key : key;
	in.cover_hash = sp->cover;
	in.created_at = sp->created_at;
	if (sp->tagged_album_gain) {
		in.rg_album_gain = -3.21;
		in.rg_album_peak = 0.5;
		in.has |= CATALOG_HAS_RG_ALBUM;
	}
	return catalog_track_add(cat, &in, out, e);
}

static void add_ok(const struct spec *sp, struct catalog_track_added *out)
{
	struct err e = ERR_INIT;
	struct catalog_track_added tmp;

	if (add_spec(sp, out ? out : &tmp, &e) < 0)
		fail_msg("catalog_track_add: %s (%s)", e.msg, err_code_name(e.code));
}

static int64_t count(struct fx *f, const char *sql)
{
	struct db_conn *c = fx_acquire(f);
	int64_t n = fx_int(c, sql);

	db_release(c);
	return n;
}

static struct catalog_page *get(enum catalog_kind kind, const char *id)
{
	struct err e = ERR_INIT;
	struct catalog_page *p = NULL;

	if (catalog_get(cat, kind, id, &p, &e) < 0)
		fail_msg("catalog_get %s: %s", id, e.msg);
	return p;
}

/* ---- merge rules ---- */

static void test_artist_merge_by_normalised_name(void **state)
{
	struct fx *f = *state;
	struct catalog_track_added a, b, c;
	struct catalog_page *p;

	add_ok(&(struct spec){ .title = "Hyperballad", .artist = "Björk", .album = "Post" }, &a);
	add_ok(&(struct spec){ .title = "Army of Me", .artist = "bjork", .album = "post" }, &b);
	add_ok(&(struct spec){ .title = "Isobel", .artist = " BJÖRK ", .album = "  POST " }, &c);
	assert_int_equal(count(f, "SELECT count(*) FROM artists"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM albums"), 1);
	assert_string_equal(a.album_id, b.album_id);
	assert_string_equal(a.album_id, c.album_id);
	/* The first spelling is the one shown. */
	p = get(CATALOG_TRACKS, c.id);
	assert_int_equal(p->tracks[0].nartists, 1);
	assert_string_equal(p->tracks[0].artists[0].name, "Björk");
	assert_string_equal(p->tracks[0].artists[0].role, "main");
	assert_string_equal(p->tracks[0].album.name, "Post");
	catalog_page_free(p);
}

static void test_artist_merge_by_mbid(void **state)
{
	struct fx *f = *state;
	const char *mb1 = "87c5dedd-371d-4a53-9f7f-80522fb7f3cb", *mb2 = "5b11f4ce-a62d-471e-81fc-a69a8278c7da";

	/* Same id, different spellings: one artist. */
	add_ok(&(struct spec){ .title = "a", .artist = "Björk", .artist_mbid = mb1, .album = "X" }, NULL);
	add_ok(&(struct spec){ .title = "b", .artist = "Bjork Gudmundsdottir", .artist_mbid = mb1, .album = "X" }, NULL);
	assert_int_equal(count(f, "SELECT count(*) FROM artists"), 1);
	/* Same name, another id: another artist (two bands called Nirvana). */
	add_ok(&(struct spec){ .title = "c", .artist = "Nirvana", .artist_mbid = mb2, .album = "Y" }, NULL);
	add_ok(&(struct spec){ .title = "d", .artist = "Nirvana", .artist_mbid = "9282c8b4-ca0b-4c6b-b7e3-4f7762dfc4d6", .album = "Z" }, NULL);
	assert_int_equal(count(f, "SELECT count(*) FROM artists WHERE name = 'Nirvana'"), 2);
	/* A plain name met first gets the id when the id arrives with the same name. */
	add_ok(&(struct spec){ .title = "e", .artist = "Portishead", .album = "Dummy" }, NULL);
	add_ok(&(struct spec){ .title = "f", .artist = "portishead", .artist_mbid = "8f6bd1e4-fbe1-4f50-aa9b-94c450ec0f11", .album = "Dummy" }, NULL);
	assert_int_equal(count(f, "SELECT count(*) FROM artists WHERE name_norm = 'portishead'"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM artists WHERE mbid = '8f6bd1e4-fbe1-4f50-aa9b-94c450ec0f11'"), 1);
}

static void test_album_merge_by_release_mbid(void **state)
{
	struct fx *f = *state;
	const char *rel = "1b022e01-4da6-387b-8658-8678046e4cef";
	struct catalog_track_added a, b, c;

	add_ok(&(struct spec){ .title = "1", .artist = "A", .album = "Album", .release_mbid = rel }, &a);
	add_ok(&(struct spec){ .title = "2", .artist = "A", .album = "Album (Deluxe)", .release_mbid = rel }, &b);
	assert_string_equal(a.album_id, b.album_id);
	/* Same title, same album artist, another release: another album. */
	add_ok(&(struct spec){ .title = "3", .artist = "A", .album = "Album", .release_mbid = "2c2b6bd9-0000-4000-8000-000000000001" }, &c);
	assert_string_not_equal(a.album_id, c.album_id);
	/* Same title, another album artist: another album. */
	add_ok(&(struct spec){ .title = "4", .artist = "B", .album = "Greatest Hits", .year = 1990 }, &a);
	add_ok(&(struct spec){ .title = "5", .artist = "C", .album = "Greatest Hits", .album_artist = "C" }, &b);
	assert_string_not_equal(a.album_id, b.album_id);
	assert_int_equal(count(f, "SELECT count(*) FROM albums"), 4);
}

static void test_compilations(void **state)
{
	struct fx *f = *state;
	struct catalog_track_added a, b, c, d;
	struct catalog_page *p;

	/* The flag files the album under Various Artists. */
	add_ok(&(struct spec){ .title = "1", .artist = "X", .album = "Now 1", .compilation = true }, &a);
	add_ok(&(struct spec){ .title = "2", .artist = "Y", .album = "Now 1", .compilation = true }, &b);
	assert_string_equal(a.album_id, b.album_id);
	p = get(CATALOG_ALBUMS, a.album_id);
	assert_string_equal(p->albums[0].artist.name, CATALOG_VARIOUS_ARTISTS);
	assert_true(p->albums[0].compilation);
	assert_int_equal(p->albums[0].track_count, 2);
	catalog_page_free(p);

	/* Several different track artists and no album artist: also a compilation. */
	add_ok(&(struct spec){ .title = "1", .artist = "P", .album = "Summer Mix", .year = 2001 }, &a);
	add_ok(&(struct spec){ .title = "2", .artist = "Q", .album = "Summer Mix", .year = 2001 }, &b);
	add_ok(&(struct spec){ .title = "3", .artist = "R", .album = "summer mix", .year = 2001 }, &c);
	add_ok(&(struct spec){ .title = "4", .artist = "P", .album = "Summer Mix", .year = 2001 }, &d);
	assert_string_equal(a.album_id, b.album_id);
	assert_string_equal(a.album_id, c.album_id);
	assert_string_equal(a.album_id, d.album_id);
	p = get(CATALOG_ALBUMS, a.album_id);
	assert_string_equal(p->albums[0].artist.name, CATALOG_VARIOUS_ARTISTS);
	assert_int_equal(p->ntracks, 4);
	catalog_page_free(p);
	/* One Various Artists, whatever number of compilations. */
	assert_int_equal(count(f, "SELECT count(*) FROM artists WHERE name = 'Various Artists'"), 1);
	/* An album artist tag keeps one artist's album its own. */
	add_ok(&(struct spec){ .title = "1", .artist = "P", .album = "Solo", .album_artist = "P" }, &a);
	add_ok(&(struct spec){ .title = "2", .artist = "P feat. Q", .album = "Solo", .album_artist = "P" }, &b);
	assert_string_equal(a.album_id, b.album_id);
	p = get(CATALOG_ALBUMS, a.album_id);
	assert_string_equal(p->albums[0].artist.name, "P");
	assert_false(p->albums[0].compilation);
	catalog_page_free(p);
}

static void test_sort_names(void **state)
{
	struct catalog_track_added a;
	struct catalog_page *p, *ap;
	struct catalog_artist_input artists[2] = {
		{ "Pink Floyd", "Floyd, Pink (tagged)", NULL, CATALOG_ROLE_MAIN },
		{ "A Tribe Called Quest", NULL, NULL, CATALOG_ROLE_FEATURED },
	};
	struct catalog_track_input in;
	struct err e = ERR_INIT;
	char sha[65];

	(void)state;
	add_ok(&(struct spec){ .title = "The Long and Winding Road", .artist = "The Beatles", .album = "Let It Be" }, &a);
	p = get(CATALOG_TRACKS, a.id);
	assert_string_equal(p->tracks[0].sort_title, "Long and Winding Road, The");
	ap = get(CATALOG_ARTISTS, p->tracks[0].artists[0].id);
	assert_string_equal(ap->artists[0].name, "The Beatles");
	assert_string_equal(ap->artists[0].sort_name, "Beatles, The");
	assert_int_equal(ap->artists[0].track_count, 1);
	assert_int_equal(ap->artists[0].album_count, 1);
	assert_int_equal(ap->nalbums, 1);
	assert_string_equal(ap->albums[0].title, "Let It Be");
	catalog_page_free(ap);
	catalog_page_free(p);

	/* A tagged sort name wins; "A " and "An " move too. */
	next_sha(sha);
	memset(&in, 0, sizeof(in));
	in.title = "An Ending";
	in.artists = artists;
	in.nartists = 2;
	in.album = "A Collection";
	in.sha256 = sha;
	in.path = "/music/x.flac";
	if (catalog_track_add(cat, &in, &a, &e) < 0)
		fail_msg("add: %s", e.msg);
	p = get(CATALOG_TRACKS, a.id);
	assert_string_equal(p->tracks[0].sort_title, "Ending, An");
	assert_int_equal(p->tracks[0].nartists, 2);
	assert_string_equal(p->tracks[0].artists[1].role, "featured");
	ap = get(CATALOG_ARTISTS, p->tracks[0].artists[0].id);
	assert_string_equal(ap->artists[0].sort_name, "Floyd, Pink (tagged)");
	catalog_page_free(ap);
	ap = get(CATALOG_ARTISTS, p->tracks[0].artists[1].id);
	assert_string_equal(ap->artists[0].sort_name, "Tribe Called Quest, A");
	catalog_page_free(ap);
	ap = get(CATALOG_ALBUMS, p->tracks[0].album.id);
	assert_string_equal(ap->albums[0].sort_title, "Collection, A");
	catalog_page_free(ap);
	catalog_page_free(p);
}

static void test_duplicate_content(void **state)
{
	struct fx *f = *state;
	struct catalog_artist_input artist = { "A", NULL, NULL, CATALOG_ROLE_MAIN };
	struct catalog_track_input in;
	struct catalog_track_added first, second;
	struct err e = ERR_INIT;

	memset(&in, 0, sizeof(in));
	in.title = "Same bytes";
	in.artists = &artist;
	in.nartists = 1;
	in.sha256 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	in.object_key = "orig/aaaa";
	if (catalog_track_add(cat, &in, &first, &e) < 0)
		fail_msg("add: %s", e.msg);
	in.title = "Other tags, same bytes";
	assert_int_equal(catalog_track_add(cat, &in, &second, &e), -1);
	assert_int_equal(e.code, ERR_CONFLICT);
	assert_string_equal(second.id, first.id);
	assert_non_null(strstr(e.msg, first.id));
	assert_int_equal(count(f, "SELECT count(*) FROM tracks"), 1);
}

static void test_invalid_input(void **state)
{
	struct catalog_artist_input artist = { "A", NULL, NULL, CATALOG_ROLE_MAIN };
	struct catalog_artist_input blank = { "   ", NULL, NULL, CATALOG_ROLE_MAIN };
	struct catalog_track_input in;
	struct catalog_track_added out;
	struct err e = ERR_INIT;
	char sha[65];

	(void)state;
	next_sha(sha);
	memset(&in, 0, sizeof(in));
	in.title = "T";
	in.artists = &artist;
	in.nartists = 1;
	in.sha256 = sha;
	in.object_key = "orig/x";
	in.track = 100000;
	assert_int_equal(catalog_track_add(cat, &in, &out, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_non_null(strstr(e.msg, "\"track\""));
	in.track = 1;
	in.title = "bad \xff utf-8";
	assert_int_equal(catalog_track_add(cat, &in, &out, &e), -1);
	assert_non_null(strstr(e.msg, "\"title\""));
	in.title = "T";
	in.sha256 = "not-a-hash";
	assert_int_equal(catalog_track_add(cat, &in, &out, &e), -1);
	assert_non_null(strstr(e.msg, "sha256"));
	in.sha256 = sha;
	in.artists = &blank;
	assert_int_equal(catalog_track_add(cat, &in, &out, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	in.artists = &artist;
	in.object_key = NULL;
	assert_int_equal(catalog_track_add(cat, &in, &out, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
}

/* ---- delete and update ---- */

static bool has_key(const struct catalog_keys *k, const char *key)
{
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->keys[i], key) == 0)
			return true;
	return false;
}

static void test_delete_cascades(void **state)
{
	struct fx *f = *state;
	const char *cover1 = "1111111111111111111111111111111111111111111111111111111111111111";
	const char *cover2 = "2222222222222222222222222222222222222222222222222222222222222222";
	struct catalog_track_added a, b, c;
	struct catalog_keys keys = { 0 };
	struct err e = ERR_INIT;
	char want[96];
	int64_t v0, v1;

	add_ok(&(struct spec){ .title = "1", .artist = "Solo", .album = "Only", .genre = "Rare Genre", .cover = cover1,
			      .object_key = "orig/one" }, &a);
	add_ok(&(struct spec){ .title = "2", .artist = "Duo", .album = "Pair", .genre = "Rock", .cover = cover2 }, &b);
	add_ok(&(struct spec){ .title = "3", .artist = "Duo", .album = "Pair", .genre = "Rock", .cover = cover2 }, &c);
	assert_int_equal(count(f, "SELECT count(*) FROM artists"), 2);
	assert_int_equal(catalog_version(cat, &v0, &e), 0);

	if (catalog_track_delete(cat, a.id, &keys, &e) < 0)
		fail_msg("delete: %s", e.msg);
	assert_true(has_key(&keys, "orig/one"));
	snprintf(want, sizeof(want), "hls/%s/", a.id);
	assert_true(has_key(&keys, want));
	snprintf(want, sizeof(want), "live/%s/", a.id);
	assert_true(has_key(&keys, want));
	snprintf(want, sizeof(want), "art/%s/", cover1);
	assert_true(has_key(&keys, want));
	assert_int_equal(keys.n, 4);
	catalog_keys_release(&keys);
	/* Its album, artist and genre had nothing else. */
	assert_int_equal(count(f, "SELECT count(*) FROM albums WHERE title = 'Only'"), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM artists WHERE name = 'Solo'"), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM genres WHERE name = 'Rare Genre'"), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM track_artists"), 2);
	assert_int_equal(catalog_version(cat, &v1, &e), 0);
	assert_true(v1 > v0);

	/* A shared cover and album stay while another track uses them. */
	if (catalog_track_delete(cat, b.id, &keys, &e) < 0)
		fail_msg("delete: %s", e.msg);
	snprintf(want, sizeof(want), "art/%s/", cover2);
	assert_false(has_key(&keys, want));
	assert_int_equal(keys.n, 3); /* its original, hls/ and live/ */
	catalog_keys_release(&keys);
	assert_int_equal(count(f, "SELECT count(*) FROM albums WHERE title = 'Pair'"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM genres WHERE name = 'Rock'"), 1);

	/* Gone is gone. */
	assert_int_equal(catalog_track_delete(cat, b.id, &keys, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_int_equal(keys.n, 0);
}

static void test_update(void **state)
{
	struct fx *f = *state;
	struct catalog_track_added a, b;
	struct catalog_artist_input artists[2] = {
		{ "New Main", NULL, NULL, CATALOG_ROLE_MAIN },
		{ "Guest", NULL, NULL, CATALOG_ROLE_FEATURED },
	};
	const char *genres[2] = { "Jazz", "jazz " };
	const char *composers[1] = { "Writer" };
	struct catalog_track_patch p;
	struct catalog_page *pg;
	struct err e = ERR_INIT;

	add_ok(&(struct spec){ .title = "Old", .artist = "Old Artist", .album = "Old Album", .genre = "Pop", .year = 1999 }, &a);
	add_ok(&(struct spec){ .title = "Other", .artist = "Keeper", .album = "Kept" }, &b);
	memset(&p, 0, sizeof(p));
	p.fields = CATALOG_PATCH_TITLE | CATALOG_PATCH_ARTISTS | CATALOG_PATCH_ALBUM | CATALOG_PATCH_ALBUM_ARTIST |
		   CATALOG_PATCH_GENRES | CATALOG_PATCH_YEAR | CATALOG_PATCH_TRACK | CATALOG_PATCH_COMPOSERS |
		   CATALOG_PATCH_ISRC | CATALOG_PATCH_BPM;
	p.title = "The New Title";
	p.artists = artists;
	p.nartists = 2;
	p.album = "New Album";
	p.album_artist = "New Main";
	p.genres = genres;
	p.ngenres = 2;
	p.composers = composers;
	p.ncomposers = 1;
	p.year = 2020;
	p.track = 7;
	p.isrc = "USRC17607839";
	p.bpm = 120.5;
	if (catalog_track_update(cat, a.id, &p, &e) < 0)
		fail_msg("update: %s", e.msg);
	pg = get(CATALOG_TRACKS, a.id);
	assert_string_equal(pg->tracks[0].title, "The New Title");
	assert_string_equal(pg->tracks[0].sort_title, "New Title, The");
	assert_int_equal(pg->tracks[0].year, 2020);
	assert_int_equal(pg->tracks[0].track, 7);
	assert_string_equal(pg->tracks[0].isrc, "USRC17607839");
	assert_true(pg->tracks[0].has & CATALOG_HAS_BPM);
	assert_true(pg->tracks[0].bpm > 120.4 && pg->tracks[0].bpm < 120.6);
	assert_string_equal(pg->tracks[0].album.name, "New Album");
	assert_int_equal(pg->tracks[0].nartists, 3);
	assert_string_equal(pg->tracks[0].artists[0].name, "New Main");
	assert_string_equal(pg->tracks[0].artists[1].name, "Guest");
	assert_string_equal(pg->tracks[0].artists[2].role, "composer");
	assert_int_equal(pg->tracks[0].ngenres, 1); /* "Jazz" and "jazz " are one genre */
	catalog_page_free(pg);
	/* What the track left behind is gone; what others use stays. */
	assert_int_equal(count(f, "SELECT count(*) FROM albums WHERE title = 'Old Album'"), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM artists WHERE name = 'Old Artist'"), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM genres WHERE name = 'Pop'"), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM artists WHERE name = 'Keeper'"), 1);

	/* Rules: a required title, ranges, unknown ids. */
	memset(&p, 0, sizeof(p));
	p.fields = CATALOG_PATCH_TITLE;
	p.title = "";
	assert_int_equal(catalog_track_update(cat, a.id, &p, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	p.fields = CATALOG_PATCH_DISC;
	p.disc = 10000;
	assert_int_equal(catalog_track_update(cat, a.id, &p, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	p.disc = 2;
	assert_int_equal(catalog_track_update(cat, "01ARZ3NDEKTSV4RRFFQ69G5FAV", &p, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	/* Clearing a value. */
	p.fields = CATALOG_PATCH_BPM | CATALOG_PATCH_ISRC;
	p.bpm = -1;
	p.isrc = NULL;
	if (catalog_track_update(cat, a.id, &p, &e) < 0)
		fail_msg("update: %s", e.msg);
	pg = get(CATALOG_TRACKS, a.id);
	assert_false(pg->tracks[0].has & CATALOG_HAS_BPM);
	assert_null(pg->tracks[0].isrc);
	catalog_page_free(pg);
}

/* ---- concurrency ---- */

struct adder {
	int n;
	int failures;
	char msg[ERR_MSG_MAX];
};

static void *add_same_artist(void *arg)
{
	struct adder *ad = arg;
	struct catalog_artist_input artist = { "Brand New Artist", NULL, NULL, CATALOG_ROLE_MAIN };
	const char *genres[1] = { "Brand New Genre" };
	struct catalog_track_input in;
	struct catalog_track_added out;
	char sha[65], title[32];

	for (int i = 0; i < 5; i++) {
		struct err e = ERR_INIT;

		snprintf(sha, sizeof(sha), "%032x%032x", ad->n + 1000, i);
		snprintf(title, sizeof(title), "t%d-%d", ad->n, i);
		memset(&in, 0, sizeof(in));
		in.title = title;
		in.artists = &artist;
		in.nartists = 1;
		in.album = "Brand New Album";
		in.genres = genres;
		in.ngenres = 1;
		in.sha256 = sha;
		in.object_key = "orig/x";
		if (catalog_track_add(cat, &in, &out, &e) < 0) {
			ad->failures++;
			snprintf(ad->msg, sizeof(ad->msg), "%s", e.msg);
		}
	}
	return NULL;
}

static void test_concurrent_same_artist(void **state)
{
	struct fx *f = *state;
	pthread_t th[4];
	struct adder ad[4];

	for (int i = 0; i < 4; i++) {
		memset(&ad[i], 0, sizeof(ad[i]));
		ad[i].n = i;
		assert_int_equal(pthread_create(&th[i], NULL, add_same_artist, &ad[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		if (ad[i].failures)
			fail_msg("thread %d: %d failures, last: %s", i, ad[i].failures, ad[i].msg);
	}
	assert_int_equal(count(f, "SELECT count(*) FROM tracks"), 20);
	assert_int_equal(count(f, "SELECT count(*) FROM artists"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM albums"), 1);
	assert_int_equal(count(f, "SELECT count(*) FROM genres"), 1);
}

/* ---- listing ---- */

static const char *id_of(enum catalog_kind kind, const struct catalog_page *p, size_t i)
{
	switch (kind) {
	case CATALOG_ARTISTS: return p->artists[i].id;
	case CATALOG_ALBUMS: return p->albums[i].id;
	case CATALOG_TRACKS: return p->tracks[i].id;
	case CATALOG_GENRES: return p->genres[i].id;
	}
	return NULL;
}

static size_t n_of(enum catalog_kind kind, const struct catalog_page *p)
{
	return kind == CATALOG_ARTISTS ? p->nartists : kind == CATALOG_ALBUMS ? p->nalbums
	     : kind == CATALOG_TRACKS ? p->ntracks : p->ngenres;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Walk every page of a list; return how many rows, after checking none came twice. */
static size_t walk(enum catalog_kind kind, struct catalog_query q, int limit, size_t expect)
{
	char **seen = calloc(expect + 1, sizeof(*seen));
	char *cursor = NULL;
	size_t n = 0;
	int pages = 0;

	assert_non_null(seen);
	q.limit = limit;
	for (;;) {
		struct catalog_page *p = NULL;
		struct err e = ERR_INIT;

		q.cursor = cursor;
		if (catalog_list(cat, kind, &q, &p, &e) < 0)
			fail_msg("list kind %d sort %d desc %d: %s", kind, q.sort, q.desc, e.msg);
		for (size_t i = 0; i < n_of(kind, p); i++) {
			if (n >= expect)
				fail_msg("kind %d sort %d desc %d: more rows than %zu", kind, q.sort, q.desc, expect);
			seen[n++] = strdup(id_of(kind, p, i));
		}
		assert_true(n_of(kind, p) <= (size_t)limit);
		free(cursor);
		cursor = p->next_cursor ? strdup(p->next_cursor) : NULL;
		if (p->next_cursor)
			assert_int_equal(n_of(kind, p), limit);
		catalog_page_free(p);
		pages++;
		assert_true(pages < 1000);
		if (!cursor)
			break;
	}
	qsort(seen, n, sizeof(*seen), cmp_str);
	for (size_t i = 1; i < n; i++)
		if (strcmp(seen[i - 1], seen[i]) == 0)
			fail_msg("kind %d sort %d desc %d: %s twice", kind, q.sort, q.desc, seen[i]);
	for (size_t i = 0; i < n; i++)
		free(seen[i]);
	free(seen);
	return n;
}

static void seed_ties(void)
{
	/* Titles, years and creation times repeat so that every sort has ties. */
	const char *titles[] = { "Same", "same", "SAME", "Other", "The Other", "Ärger", "Zed" };
	const char *artists[] = { "One", "Two", "The Three", "Four" };
	const char *genres[] = { "Rock", "Pop", "Jazz" };

	for (int i = 0; i < 41; i++) {
		char album[16];

		snprintf(album, sizeof(album), "Album %d", i % 6);
		add_ok(&(struct spec){ .title = titles[i % 7], .artist = artists[i % 4], .album = album,
				      .album_artist = artists[i % 4], .genre = genres[i % 3], .year = 1990 + i % 3,
				      .created_at = 1700000000000LL + (i % 5) }, NULL);
	}
}

static void test_pagination_walks_every_row_once(void **state)
{
	struct fx *f = *state;
	static const struct { enum catalog_kind kind; const char *table; bool year, sort_name; } kinds[] = {
		{ CATALOG_TRACKS, "tracks", true, true },
		{ CATALOG_ALBUMS, "albums", true, true },
		{ CATALOG_ARTISTS, "artists", false, true },
		{ CATALOG_GENRES, "genres", false, false },
	};

	seed_ties();
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		char sql[64];
		size_t total;

		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", kinds[k].table);
		total = (size_t)count(f, sql);
		assert_true(total > 0);
		for (int sort = 0; sort <= CATALOG_SORT_ADDED; sort++) {
			if ((sort == CATALOG_SORT_YEAR && !kinds[k].year) || (sort == CATALOG_SORT_SORT_NAME && !kinds[k].sort_name))
				continue;
			for (int desc = 0; desc < 2; desc++) {
				for (int limit = 1; limit <= 7; limit += 3) {
					struct catalog_query q = { .sort = sort, .desc = desc };

					assert_int_equal(walk(kinds[k].kind, q, limit, total), total);
				}
			}
		}
	}
}

static void test_list_order_and_filters(void **state)
{
	struct catalog_track_added a, b, c;
	struct catalog_query q;
	struct catalog_page *p = NULL, *g;
	struct err e = ERR_INIT;
	char artist_id[ID_LEN + 1];

	(void)state;
	add_ok(&(struct spec){ .title = "beta", .artist = "X", .album = "Al1", .genre = "Rock", .year = 1980 }, &a);
	add_ok(&(struct spec){ .title = "Alpha", .artist = "Y", .album = "Al2", .genre = "Pop", .year = 1995 }, &b);
	add_ok(&(struct spec){ .title = "Álpine", .artist = "X", .album = "Al1", .genre = "Pop", .year = 2010 }, &c);

	memset(&q, 0, sizeof(q));
	assert_int_equal(catalog_list(cat, CATALOG_TRACKS, &q, &p, &e), 0);
	assert_int_equal(p->ntracks, 3);
	assert_string_equal(p->tracks[0].title, "Alpha");
	assert_string_equal(p->tracks[1].title, "Álpine");
	assert_string_equal(p->tracks[2].title, "beta");
	assert_null(p->next_cursor);
	assert_int_equal(p->tracks[0].ngenres, 1);
	assert_string_equal(p->tracks[0].genres[0].name, "Pop");
	catalog_page_free(p);

	q.sort = CATALOG_SORT_YEAR;
	q.desc = true;
	assert_int_equal(catalog_list(cat, CATALOG_TRACKS, &q, &p, &e), 0);
	assert_string_equal(p->tracks[0].id, c.id);
	assert_string_equal(p->tracks[2].id, a.id);
	catalog_page_free(p);

	memset(&q, 0, sizeof(q));
	q.album = a.album_id;
	assert_int_equal(catalog_list(cat, CATALOG_TRACKS, &q, &p, &e), 0);
	assert_int_equal(p->ntracks, 2);
	snprintf(artist_id, sizeof(artist_id), "%s", p->tracks[0].artists[0].id);
	q.artist = artist_id;
	catalog_page_free(p);
	q.album = NULL;
	assert_int_equal(catalog_list(cat, CATALOG_TRACKS, &q, &p, &e), 0);
	assert_int_equal(p->ntracks, 2);
	catalog_page_free(p);

	memset(&q, 0, sizeof(q));
	q.year_from = 1990;
	q.year_to = 2000;
	assert_int_equal(catalog_list(cat, CATALOG_TRACKS, &q, &p, &e), 0);
	assert_int_equal(p->ntracks, 1);
	assert_string_equal(p->tracks[0].id, b.id);
	catalog_page_free(p);

	memset(&q, 0, sizeof(q));
	q.q = "AL";
	assert_int_equal(catalog_list(cat, CATALOG_TRACKS, &q, &p, &e), 0);
	assert_int_equal(p->ntracks, 2); /* Alpha, Álpine */
	catalog_page_free(p);

	memset(&q, 0, sizeof(q));
	q.q = "pop";
	assert_int_equal(catalog_list(cat, CATALOG_GENRES, &q, &p, &e), 0);
	assert_int_equal(p->ngenres, 1);
	g = get(CATALOG_GENRES, p->genres[0].id);
	assert_int_equal(g->genres[0].track_count, 2);
	memset(&q, 0, sizeof(q));
	q.genre = g->genres[0].id;
	catalog_page_free(p);
	assert_int_equal(catalog_list(cat, CATALOG_TRACKS, &q, &p, &e), 0);
	assert_int_equal(p->ntracks, 2);
	catalog_page_free(p);
	assert_int_equal(catalog_list(cat, CATALOG_ALBUMS, &q, &p, &e), 0);
	assert_int_equal(p->nalbums, 2);
	catalog_page_free(p);
	assert_int_equal(catalog_list(cat, CATALOG_ARTISTS, &q, &p, &e), 0);
	assert_int_equal(p->nartists, 2);
	catalog_page_free(p);
	catalog_page_free(g);

	memset(&q, 0, sizeof(q));
	q.added_since = INT64_MAX / 2;
	assert_int_equal(catalog_list(cat, CATALOG_TRACKS, &q, &p, &e), 0);
	assert_int_equal(p->ntracks, 0);
	catalog_page_free(p);
}

static void test_list_refuses_bad_queries(void **state)
{
	struct catalog_query q;
	struct catalog_page *p = NULL;
	struct err e = ERR_INIT;
	char *other;
	struct catalog_cursor cur = { .kind = CATALOG_ALBUMS, .sort = CATALOG_SORT_YEAR, .ikey = 1999,
				      .id = "01ARZ3NDEKTSV4RRFFQ69G5FAV" };

	(void)state;
	memset(&q, 0, sizeof(q));
	q.sort = CATALOG_SORT_YEAR;
	assert_int_equal(catalog_list(cat, CATALOG_ARTISTS, &q, &p, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_non_null(strstr(e.msg, "sort"));
	memset(&q, 0, sizeof(q));
	q.album = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
	assert_int_equal(catalog_list(cat, CATALOG_ARTISTS, &q, &p, &e), -1);
	assert_non_null(strstr(e.msg, "album"));
	memset(&q, 0, sizeof(q));
	q.artist = "'; DROP TABLE tracks; --";
	assert_int_equal(catalog_list(cat, CATALOG_TRACKS, &q, &p, &e), -1);
	assert_non_null(strstr(e.msg, "artist"));
	memset(&q, 0, sizeof(q));
	q.cursor = "!!!";
	assert_int_equal(catalog_list(cat, CATALOG_TRACKS, &q, &p, &e), -1);
	assert_non_null(strstr(e.msg, "cursor"));
	/* A well-formed cursor of another list. */
	other = catalog_cursor_encode(&cur, &e);
	assert_non_null(other);
	q.cursor = other;
	assert_int_equal(catalog_list(cat, CATALOG_TRACKS, &q, &p, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_non_null(strstr(e.msg, "cursor"));
	free(other);
	assert_null(p);
	/* Unknown and malformed ids are not found. */
	assert_int_equal(catalog_get(cat, CATALOG_TRACKS, "01ARZ3NDEKTSV4RRFFQ69G5FAV", &p, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_int_equal(catalog_get(cat, CATALOG_ALBUMS, "../../etc", &p, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
}

static void test_album_tracks_in_disc_order(void **state)
{
	struct catalog_track_added t[4];
	struct catalog_page *p;
	static const int order[4][2] = { { 2, 1 }, { 1, 2 }, { 1, 1 }, { 2, 3 } };

	(void)state;
	for (int i = 0; i < 4; i++) {
		char title[8];

		snprintf(title, sizeof(title), "d%dt%d", order[i][0], order[i][1]);
		add_ok(&(struct spec){ .title = title, .artist = "A", .album = "Double", .disc = order[i][0],
				      .track = order[i][1] }, &t[i]);
	}
	p = get(CATALOG_ALBUMS, t[0].album_id);
	assert_int_equal(p->ntracks, 4);
	assert_string_equal(p->tracks[0].title, "d1t1");
	assert_string_equal(p->tracks[1].title, "d1t2");
	assert_string_equal(p->tracks[2].title, "d2t1");
	assert_string_equal(p->tracks[3].title, "d2t3");
	assert_int_equal(p->albums[0].duration_ms, 4 * 180000);
	assert_int_equal(p->tracks[0].nartists, 1);
	catalog_page_free(p);
}

/* ---- album gain ---- */

/* The album gain of a track as the catalogue answers it; NAN when it has none. */
static double album_gain_of(const char *id, double *peak)
{
	struct catalog_page *p = get(CATALOG_TRACKS, id);
	double g = p->tracks[0].has & CATALOG_HAS_RG_ALBUM ? p->tracks[0].rg_album_gain : NAN;

	*peak = p->tracks[0].rg_album_peak;
	catalog_page_free(p);
	return g;
}

/* Album gain pools the blocks of every analysed track of the album (CATALOG_GATING_BINS):
 * recomputed at each analysis, set on the album's tracks but the tagged one, and equal to what
 * media_album_gain says of the same blocks. */
static void test_album_gain_from_analyses(void **state)
{
	struct catalog_track_added t[3], other;
	static uint32_t loud[CATALOG_GATING_BINS], quiet[CATALOG_GATING_BINS];
	struct media_analysis pool[2];
	struct catalog_analysis a;
	struct err e = ERR_INIT;
	double g0, g1, g2, peak, want;

	(void)state;
	add_ok(&(struct spec){ .title = "loud", .artist = "G", .album = "Gains" }, &t[0]);
	add_ok(&(struct spec){ .title = "quiet", .artist = "G", .album = "Gains" }, &t[1]);
	add_ok(&(struct spec){ .title = "tagged", .artist = "G", .album = "Gains", .tagged_album_gain = true }, &t[2]);
	add_ok(&(struct spec){ .title = "elsewhere", .artist = "G", .album = "Other" }, &other);
	assert_string_equal(t[0].album_id, t[2].album_id);
	/* 300 blocks at -8 LUFS, 500 at -14 LUFS (bins of 0.1 LU from -70): within the relative
	 * gate (-10 LU) of each other, so both count. */
	loud[620] = 300;
	quiet[560] = 500;
	memset(&a, 0, sizeof(a));
	a.has_loudness = true;
	a.loudness_lufs = -8;
	a.true_peak = -1.0; /* dBTP */
	a.gating_hist = loud;
	assert_int_equal(catalog_track_set_analysis(cat, t[0].id, &a, &e), 0);
	/* One track analysed: the album is as loud as it. */
	g0 = album_gain_of(t[0].id, &peak);
	assert_true(fabs(g0 - (-18 - -7.95)) < 0.02);
	assert_true(fabs(peak - pow(10, -1.0 / 20)) < 1e-5);
	a.loudness_lufs = -14;
	a.true_peak = -12.0;
	a.gating_hist = quiet;
	/* A fingerprint that does not decode records no duplicates and fails nothing. */
	a.fingerprint = "not a fingerprint";
	assert_int_equal(catalog_track_set_analysis(cat, t[1].id, &a, &e), 0);
	assert_int_equal(count(*state, "SELECT COUNT(*) FROM track_duplicates"), 0);
	memset(pool, 0, sizeof(pool));
	memcpy(pool[0].gating_hist, loud, sizeof(loud));
	memcpy(pool[1].gating_hist, quiet, sizeof(quiet));
	want = media_album_gain(pool, 2);
	g0 = album_gain_of(t[0].id, &peak);
	g1 = album_gain_of(t[1].id, &peak);
	assert_true(fabs(g0 - want) < 0.006);
	assert_true(g0 == g1);
	assert_true(fabs(peak - pow(10, -1.0 / 20)) < 1e-5); /* the loudest track's */
	assert_true(g0 > -18 - -7.95 + 1 && g0 < -18 - -13.95 - 1);
	/* The tagged track keeps its own; the other album is untouched. */
	g2 = album_gain_of(t[2].id, &peak);
	assert_true(g2 == -3.21 && peak == 0.5);
	assert_true(isnan(album_gain_of(other.id, &peak)));
}

/* Pages read a track's links and album title, and an album's artist name, from copies kept in
 * their rows (migration 0015); a row without them (an older build wrote it) is read from the
 * tables. Both must give the same page, after adds, patches and an album turning compilation. */
static void same_refs(const struct catalog_ref *a, size_t na, const struct catalog_ref *b, size_t nb)
{
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++) {
		assert_string_equal(a[i].id, b[i].id);
		assert_string_equal(a[i].name, b[i].name);
		assert_true((a[i].role == NULL) == (b[i].role == NULL));
		if (a[i].role)
			assert_string_equal(a[i].role, b[i].role);
	}
}

static struct catalog_page *list_all(enum catalog_kind kind)
{
	struct catalog_query q = { .limit = CATALOG_LIMIT_MAX };
	struct catalog_page *p = NULL;
	struct err e = ERR_INIT;

	if (catalog_list(cat, kind, &q, &p, &e) < 0)
		fail_msg("catalog_list: %s", e.msg);
	return p;
}

static void test_stored_copies_match_the_tables(void **state)
{
	struct fx *f = *state;
	struct catalog_track_added a, b, c;
	struct catalog_artist_input artists[3] = {
		{ "Zed;:x", NULL, NULL, CATALOG_ROLE_MAIN },
		{ "Feat: 2", NULL, NULL, CATALOG_ROLE_FEATURED },
		{ "Alpha", NULL, NULL, CATALOG_ROLE_FEATURED },
	};
	const char *genres[3] = { "Zeta", "Alpha;9:", "Mid\x01" };
	const char *composers[2] = { "Comp B", "Comp A" };
	struct catalog_track_patch p;
	struct catalog_page *pages[2][2];
	struct err e = ERR_INIT;
	struct db_conn *conn;

	add_ok(&(struct spec){ .title = "1", .artist = "P", .album = "Mix", .genre = "Pop" }, &a);
	add_ok(&(struct spec){ .title = "2", .artist = "Q", .album = "Mix" }, &b); /* Mix turns compilation */
	add_ok(&(struct spec){ .title = "3", .artist = "Ünï", .album = "Solo", .genre = "Rock" }, &c);
	memset(&p, 0, sizeof(p));
	p.fields = CATALOG_PATCH_ARTISTS | CATALOG_PATCH_COMPOSERS | CATALOG_PATCH_GENRES | CATALOG_PATCH_ALBUM;
	p.artists = artists;
	p.nartists = 3;
	p.composers = composers;
	p.ncomposers = 2;
	p.genres = genres;
	p.ngenres = 3;
	p.album = "Elsewhere";
	if (catalog_track_update(cat, c.id, &p, &e) < 0)
		fail_msg("update: %s", e.msg);
	memset(&p, 0, sizeof(p));
	p.fields = CATALOG_PATCH_GENRES;
	if (catalog_track_update(cat, a.id, &p, &e) < 0)
		fail_msg("update: %s", e.msg);
	assert_int_equal(count(f, "SELECT count(*) FROM tracks WHERE credits IS NULL OR genre_links IS NULL "
				  "OR album_title IS NULL"), 0);
	assert_int_equal(count(f, "SELECT count(*) FROM albums WHERE artist_name IS NULL"), 0);
	for (int round = 0; round < 2; round++) {
		pages[round][0] = list_all(CATALOG_TRACKS);
		pages[round][1] = list_all(CATALOG_ALBUMS);
		conn = fx_acquire(f);
		fx_exec(conn, "UPDATE tracks SET credits = NULL, genre_links = NULL, album_title = NULL");
		fx_exec(conn, "UPDATE albums SET artist_name = NULL");
		db_release(conn);
	}
	assert_int_equal(pages[0][0]->ntracks, 3);
	assert_int_equal(pages[1][0]->ntracks, 3);
	for (size_t i = 0; i < 3; i++) {
		const struct catalog_track *x = &pages[0][0]->tracks[i], *y = &pages[1][0]->tracks[i];

		assert_string_equal(x->id, y->id);
		assert_string_equal(x->album.name, y->album.name);
		same_refs(x->artists, x->nartists, y->artists, y->nartists);
		same_refs(x->genres, x->ngenres, y->genres, y->ngenres);
		if (strcmp(x->id, c.id) == 0) {
			assert_int_equal(x->nartists, 5);
			assert_string_equal(x->artists[0].name, "Zed;:x");
			assert_string_equal(x->artists[1].name, "Feat: 2");
			assert_string_equal(x->artists[3].name, "Comp B");
			assert_string_equal(x->artists[4].role, "composer");
			assert_int_equal(x->ngenres, 3);
			assert_string_equal(x->genres[2].name, "Mid\x01");
			assert_string_equal(x->album.name, "Elsewhere");
		} else if (strcmp(x->id, a.id) == 0) {
			assert_int_equal(x->ngenres, 0);
		}
	}
	assert_int_equal(pages[0][1]->nalbums, pages[1][1]->nalbums);
	for (size_t i = 0; i < pages[0][1]->nalbums; i++) {
		assert_string_equal(pages[0][1]->albums[i].id, pages[1][1]->albums[i].id);
		assert_string_equal(pages[0][1]->albums[i].artist.name, pages[1][1]->albums[i].artist.name);
		if (strcmp(pages[0][1]->albums[i].title, "Mix") == 0)
			assert_string_equal(pages[0][1]->albums[i].artist.name, CATALOG_VARIOUS_ARTISTS);
	}
	for (int round = 0; round < 2; round++) {
		catalog_page_free(pages[round][0]);
		catalog_page_free(pages[round][1]);
	}
}

/* ---- revisions, and lists for a caller that knows some tracks (catalog_query.known) ---- */

struct asked {
	const char *know;        /* the id to answer true for, or NULL */
	size_t n;
	char ids[8][ID_LEN + 1];
	int64_t revs[8];
	size_t pos[8];
};

static bool know_one(void *ud, size_t i, const char *id, int64_t rev)
{
	struct asked *k = ud;

	if (k->n < 8) {
		snprintf(k->ids[k->n], sizeof(k->ids[0]), "%s", id);
		k->revs[k->n] = rev;
		k->pos[k->n] = i;
		k->n++;
	}
	return k->know && strcmp(id, k->know) == 0;
}

static struct catalog_page *list_knowing(struct asked *k, const char *know, int limit, const char *cursor)
{
	struct catalog_query q = { .limit = limit, .cursor = cursor, .known = know_one, .known_ud = k };
	struct catalog_page *p = NULL;
	struct err e = ERR_INIT;

	memset(k, 0, sizeof(*k));
	k->know = know;
	if (catalog_list(cat, CATALOG_TRACKS, &q, &p, &e) < 0)
		fail_msg("catalog_list: %s", e.msg);
	return p;
}

/* The revision `id` was asked at in the last list_knowing. */
static int64_t rev_of(const struct asked *k, const char *id)
{
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->ids[i], id) == 0)
			return k->revs[i];
	fail_msg("%s was not asked for", id);
	return -1;
}

static void test_known_tracks_and_revisions(void **state)
{
	struct fx *f = *state;
	struct catalog_track_added a, b, c;
	struct catalog_page *plain, *p, *p2;
	struct catalog_track_patch patch;
	struct catalog_analysis an = { .has_loudness = true, .loudness_lufs = -14, .loudness_range = 5,
				       .true_peak = -1 };
	struct asked k;
	struct err e = ERR_INIT;
	struct db_conn *conn;
	int64_t ra, rb, rc;
	char sql[160];

	add_ok(&(struct spec){ .title = "Alpha", .artist = "P", .album = "One", .genre = "Pop" }, &a);
	add_ok(&(struct spec){ .title = "Beta", .artist = "Q", .album = "One" }, &b);
	add_ok(&(struct spec){ .title = "Gamma", .artist = "R", .album = "Two", .genre = "Rock" }, &c);
	plain = list_all(CATALOG_TRACKS);
	p = list_knowing(&k, b.id, 0, NULL);
	/* Asked for every track of the page, in order, at a revision. */
	assert_int_equal(k.n, 3);
	assert_int_equal(p->ntracks, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(k.pos[i], i);
		assert_string_equal(k.ids[i], plain->tracks[i].id);
		assert_true(k.revs[i] > 0);
	}
	/* The known one is its id and revision alone; the others are read in full, with the
	 * revision they were asked at, and equal the plain list's. */
	for (size_t i = 0; i < 3; i++) {
		const struct catalog_track *t = &p->tracks[i], *x = &plain->tracks[i];

		assert_string_equal(t->id, x->id);
		assert_int_equal(t->rev, k.revs[i]);
		if (strcmp(t->id, b.id) == 0) {
			assert_true(t->known);
			assert_null(t->title);
			continue;
		}
		assert_false(t->known);
		assert_string_equal(t->title, x->title);
		assert_string_equal(t->album.name, x->album.name);
		same_refs(t->artists, t->nartists, x->artists, x->nartists);
		same_refs(t->genres, t->ngenres, x->genres, x->ngenres);
		assert_int_equal(t->duration_ms, x->duration_ms);
		assert_string_equal(t->sha256, x->sha256);
	}
	catalog_page_free(p);
	ra = rev_of(&k, a.id);
	rb = rev_of(&k, b.id);
	rc = rev_of(&k, c.id);

	/* No write, no new revision. */
	catalog_page_free(list_knowing(&k, NULL, 0, NULL));
	assert_int_equal(rev_of(&k, a.id), ra);
	assert_int_equal(rev_of(&k, b.id), rb);
	assert_int_equal(rev_of(&k, c.id), rc);

	/* Every kind of write moves the written track's revision, and only its: a PATCH, an
	 * analysis, and a statement from outside the catalogue (the database keeps the number). */
	memset(&patch, 0, sizeof(patch));
	patch.fields = CATALOG_PATCH_TITLE;
	patch.title = "Alpha 2";
	if (catalog_track_update(cat, a.id, &patch, &e) < 0)
		fail_msg("update: %s", e.msg);
	if (catalog_track_set_analysis(cat, b.id, &an, &e) < 0)
		fail_msg("analysis: %s", e.msg);
	conn = fx_acquire(f);
	snprintf(sql, sizeof(sql), "UPDATE tracks SET label = 'L' WHERE id = '%s'", c.id);
	fx_exec(conn, sql);
	db_release(conn);
	catalog_page_free(list_knowing(&k, NULL, 0, NULL));
	assert_true(rev_of(&k, a.id) > ra);
	assert_true(rev_of(&k, b.id) > rb);
	assert_true(rev_of(&k, c.id) > rc);
	ra = rev_of(&k, a.id);
	rb = rev_of(&k, b.id);
	conn = fx_acquire(f);
	snprintf(sql, sizeof(sql), "UPDATE tracks SET label = 'M' WHERE id = '%s'", c.id);
	fx_exec(conn, sql);
	db_release(conn);
	catalog_page_free(list_knowing(&k, NULL, 0, NULL));
	assert_int_equal(rev_of(&k, a.id), ra);
	assert_int_equal(rev_of(&k, b.id), rb);

	/* A row without its stored copies (written by a build before 0015) is read with rev 0:
	 * what it shows comes from other tables, so it must not be kept. */
	conn = fx_acquire(f);
	snprintf(sql, sizeof(sql), "UPDATE tracks SET credits = NULL WHERE id = '%s'", a.id);
	fx_exec(conn, sql);
	db_release(conn);
	p = list_knowing(&k, NULL, 0, NULL);
	for (size_t i = 0; i < p->ntracks; i++) {
		const struct catalog_track *t = &p->tracks[i];

		assert_true(rev_of(&k, t->id) > 0);
		if (strcmp(t->id, a.id) == 0) {
			assert_int_equal(t->rev, 0);
			assert_int_equal(t->nartists, 1); /* read from the link table */
			assert_string_equal(t->artists[0].name, "P");
			assert_string_equal(t->title, "Alpha 2");
		} else {
			assert_int_equal(t->rev, rev_of(&k, t->id));
		}
	}
	catalog_page_free(p);

	/* A filtered page (ids picked first, rows found by id) reads the unknown ones by id: the
	 * same tracks as the plain list, the known one left alone. */
	{
		struct catalog_query fq = { .album = a.album_id, .known = know_one, .known_ud = &k };
		struct catalog_query pq = { .album = a.album_id };
		struct catalog_page *fp = NULL, *pp = NULL;

		memset(&k, 0, sizeof(k));
		k.know = b.id;
		if (catalog_list(cat, CATALOG_TRACKS, &fq, &fp, &e) < 0 || catalog_list(cat, CATALOG_TRACKS, &pq, &pp, &e) < 0)
			fail_msg("catalog_list: %s", e.msg);
		assert_int_equal(fp->ntracks, 2); /* Alpha 2 and Beta, album One */
		assert_int_equal(pp->ntracks, 2);
		for (size_t i = 0; i < 2; i++) {
			assert_string_equal(fp->tracks[i].id, pp->tracks[i].id);
			if (strcmp(fp->tracks[i].id, b.id) == 0) {
				assert_true(fp->tracks[i].known);
				assert_null(fp->tracks[i].title);
			} else {
				assert_string_equal(fp->tracks[i].title, pp->tracks[i].title);
				same_refs(fp->tracks[i].artists, fp->tracks[i].nartists, pp->tracks[i].artists,
					  pp->tracks[i].nartists);
				assert_int_equal(fp->tracks[i].rev, 0); /* Alpha's credits copy is still NULL */
			}
		}
		catalog_page_free(fp);
		catalog_page_free(pp);
	}

	/* Pages and cursors are the plain list's. */
	p = list_knowing(&k, NULL, 2, NULL);
	assert_int_equal(p->ntracks, 2);
	assert_non_null(p->next_cursor);
	p2 = list_knowing(&k, plain->tracks[2].id, 2, p->next_cursor);
	assert_int_equal(p2->ntracks, 1);
	assert_string_equal(p2->tracks[0].id, plain->tracks[2].id);
	assert_true(p2->tracks[0].known);
	assert_null(p2->next_cursor);
	catalog_page_free(p);
	catalog_page_free(p2);
	catalog_page_free(plain);
}

/* Tracks by id for answers that name many: the order asked, gone or malformed ids left out, an
 * id asked twice once, each track as a list shows it. */
static void test_get_tracks_by_id(void **state)
{
	struct fx *f = *state;
	struct catalog_track_added a, b, c;
	struct catalog_page *p, *plain;
	struct err e = ERR_INIT;
	struct db_conn *conn;
	char sql[160];

	(void)f;
	add_ok(&(struct spec){ .title = "One", .artist = "P", .album = "A", .genre = "Pop" }, &a);
	add_ok(&(struct spec){ .title = "Two", .artist = "Q", .album = "A" }, &b);
	add_ok(&(struct spec){ .title = "Three", .artist = "R", .album = "B", .genre = "Rock" }, &c);
	{
		const char *ids[] = { c.id, "01ARZ3NDEKTSV4RRFFQ69G5FAV", a.id, "not an id", NULL, c.id, b.id };

		if (catalog_get_tracks(cat, ids, 7, &p, &e) < 0)
			fail_msg("catalog_get_tracks: %s", e.msg);
	}
	assert_int_equal(p->ntracks, 3);
	assert_string_equal(p->tracks[0].id, c.id);
	assert_string_equal(p->tracks[1].id, a.id);
	assert_string_equal(p->tracks[2].id, b.id);
	plain = list_all(CATALOG_TRACKS);
	for (size_t i = 0; i < 3; i++) {
		const struct catalog_track *t = &p->tracks[i], *x = NULL;

		for (size_t j = 0; j < plain->ntracks; j++)
			if (strcmp(plain->tracks[j].id, t->id) == 0)
				x = &plain->tracks[j];
		assert_non_null(x);
		assert_string_equal(t->title, x->title);
		assert_string_equal(t->album.name, x->album.name);
		same_refs(t->artists, t->nartists, x->artists, x->nartists);
		same_refs(t->genres, t->ngenres, x->genres, x->ngenres);
	}
	catalog_page_free(p);
	catalog_page_free(plain);
	/* Links read from the tables when a row has no stored copy; none asked, none given. */
	conn = fx_acquire(f);
	snprintf(sql, sizeof(sql), "UPDATE tracks SET credits = NULL, genre_links = NULL WHERE id = '%s'", a.id);
	fx_exec(conn, sql);
	db_release(conn);
	{
		const char *ids[] = { a.id };

		if (catalog_get_tracks(cat, ids, 1, &p, &e) < 0)
			fail_msg("catalog_get_tracks: %s", e.msg);
	}
	assert_int_equal(p->ntracks, 1);
	assert_int_equal(p->tracks[0].nartists, 1);
	assert_string_equal(p->tracks[0].artists[0].name, "P");
	assert_int_equal(p->tracks[0].ngenres, 1);
	assert_string_equal(p->tracks[0].genres[0].name, "Pop");
	catalog_page_free(p);
	if (catalog_get_tracks(cat, NULL, 0, &p, &e) < 0)
		fail_msg("catalog_get_tracks: %s", e.msg);
	assert_int_equal(p->ntracks, 0);
	catalog_page_free(p);
}

#define T(fn) cmocka_unit_test_setup(fn, wipe)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_artist_merge_by_normalised_name),
		T(test_artist_merge_by_mbid),
		T(test_album_merge_by_release_mbid),
		T(test_compilations),
		T(test_sort_names),
		T(test_duplicate_content),
		T(test_invalid_input),
		T(test_delete_cascades),
		T(test_update),
		T(test_concurrent_same_artist),
		T(test_pagination_walks_every_row_once),
		T(test_list_order_and_filters),
		T(test_list_refuses_bad_queries),
		T(test_album_tracks_in_disc_order),
		T(test_album_gain_from_analyses),
		T(test_stored_copies_match_the_tables),
		T(test_known_tracks_and_revisions),
		T(test_get_tracks_by_id),
	};
	int failed = 0;

	(void)unused_fixture_helpers;
	log_setup(LOG_WARN, 2);
	failed += cmocka_run_group_tests_name("catalog contract: sqlite", tests, setup_sqlite, teardown);
	if (getenv("TA_TEST_PG") && *getenv("TA_TEST_PG"))
		failed += cmocka_run_group_tests_name("catalog contract: postgres", tests, setup_pg, teardown);
	else
		printf("SKIPPED postgres: TA_TEST_PG not set (start one with tests/lib/pg.sh start DIR)\n");
	return failed;
}
