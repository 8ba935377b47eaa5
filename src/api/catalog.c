/* catalog.c (api) — the browse handlers: they read parameters, call the catalogue, and turn
 * its structs into JSON. No SQL here; the catalogue owns it. */
#include "api/catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/json.h"
#include "base/jsonw.h"
#include "base/log.h"
#include "catalog/catalog.h"
#include "http/http.h"
#include "store/store.h"

/* The ETag of everything read at one catalogue version: any write changes it. Weak, since
 * the same version may be rendered differently by another server build. */
static void etag_of(int64_t version, char out[40])
{
	snprintf(out, 40, "W/\"c%lld\"", (long long)version);
}

/* True when If-None-Match lists `etag` (weak comparison, RFC 9110 §13.1.2) or is "*". */
static bool none_match(struct http_req *req, const char *etag)
{
	const char *h = http_req_header(req, "if-none-match");
	const char *tag = strncmp(etag, "W/", 2) == 0 ? etag + 2 : etag;
	size_t tlen = strlen(tag);

	if (!h)
		return false;
	while (*h) {
		const char *end;

		while (*h == ' ' || *h == '\t' || *h == ',')
			h++;
		if (*h == '*')
			return true;
		if (strncmp(h, "W/", 2) == 0)
			h += 2;
		end = h;
		while (*end && *end != ',')
			end++;
		while (end > h && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if ((size_t)(end - h) == tlen && memcmp(h, tag, tlen) == 0)
			return true;
		h = end;
		while (*h && *h != ',')
			h++;
	}
	return false;
}

/* Answer 304 when the client holds the current version. Checked before any real query, so a
 * revalidation costs one indexed read. */
static bool not_modified(struct http_req *req, struct api *a)
{
	char etag[40];
	int64_t v;
	struct err e = ERR_INIT;

	if (!http_req_header(req, "if-none-match") || catalog_version(a->catalog, &v, &e) < 0)
		return false;
	etag_of(v, etag);
	if (!none_match(req, etag))
		return false;
	http_res_header(req, "ETag", etag);
	http_res_header(req, "Cache-Control", "no-cache");
	http_res_send(req, 304, NULL, NULL, 0);
	return true;
}

static void send_page(struct http_req *req, int64_t version, struct jsonw *w)
{
	char etag[40];

	if (!w->failed) {
		etag_of(version, etag);
		http_res_header(req, "ETag", etag);
		http_res_header(req, "Cache-Control", "no-cache");
	}
	api_send_jsonw(req, 200, w);
}

/* A first guess at a page's size, so that the buffer seldom has to move while it fills. */
static size_t guess_size(enum catalog_kind kind, size_t n)
{
	return 64 + n * (kind == CATALOG_TRACKS ? 1100 : 320);
}

static void list(struct http_req *req, void *app, enum catalog_kind kind)
{
	struct api *a = app;
	struct catalog_query q;
	struct catalog_page *p = NULL;
	struct err e = ERR_INIT;
	struct jsonw w;
	struct api_track_json tj;
	size_t n;

	if (api_catalog_query(req, &q, &e) < 0) {
		http_res_err(req, &e);
		return;
	}
	if (not_modified(req, a))
		return;
	if (api_track_json_begin(&tj, kind == CATALOG_TRACKS ? a->track_json : NULL,
				 (size_t)(q.limit ? q.limit : CATALOG_LIMIT_DEFAULT)) < 0) {
		http_res_problem(req, 500, "Internal Server Error", "out of memory");
		return;
	}
	if (tj.cache) {
		q.known = api_track_json_known;
		q.known_ud = &tj;
	}
	if (catalog_list(a->catalog, kind, &q, &p, &e) < 0) {
		api_track_json_end(&tj);
		http_res_err(req, &e);
		return;
	}
	n = kind == CATALOG_ARTISTS ? p->nartists : kind == CATALOG_ALBUMS ? p->nalbums
	  : kind == CATALOG_TRACKS ? p->ntracks : p->ngenres;
	jsonw_init(&w, API_JSON_MAX);
	if (buf_grow(&w.buf, guess_size(kind, n)) < 0)
		w.failed = true;
	jsonw_obj_begin(&w);
	jsonw_key(&w, "items");
	jsonw_arr_begin(&w);
	for (size_t i = 0; i < n; i++) {
		switch (kind) {
		case CATALOG_ARTISTS: api_artist_write(&w, &p->artists[i], 0, false); break;
		case CATALOG_ALBUMS: api_album_write(&w, &p->albums[i], 0, false); break;
		case CATALOG_TRACKS: api_track_json_write(&w, &tj, i, &p->tracks[i]); break;
		case CATALOG_GENRES: api_genre_write(&w, &p->genres[i], 0, false); break;
		}
	}
	jsonw_arr_end(&w);
	jsonw_key(&w, "next_cursor");
	jsonw_str(&w, p->next_cursor);
	jsonw_obj_end(&w);
	send_page(req, p->version, &w);
	jsonw_release(&w);
	api_track_json_end(&tj);
	catalog_page_free(p);
}

static void get(struct http_req *req, void *app, enum catalog_kind kind)
{
	struct api *a = app;
	struct catalog_page *p = NULL;
	struct err e = ERR_INIT;
	struct jsonw w;

	if (not_modified(req, a))
		return;
	if (catalog_get(a->catalog, kind, http_req_param(req, "id"), &p, &e) < 0) {
		http_res_err(req, &e);
		return;
	}
	jsonw_init(&w, API_JSON_MAX);
	if (buf_grow(&w.buf, guess_size(kind, 1) + guess_size(CATALOG_TRACKS, p->ntracks) +
			     guess_size(CATALOG_ALBUMS, kind == CATALOG_ARTISTS ? p->nalbums : 0)) < 0)
		w.failed = true;
	switch (kind) {
	case CATALOG_ARTISTS:
		api_artist_write(&w, p->artists, 1, true);
		jsonw_key(&w, "albums");
		jsonw_arr_begin(&w);
		for (size_t i = 0; i < p->nalbums; i++)
			api_album_write(&w, &p->albums[i], 0, false);
		jsonw_arr_end(&w);
		jsonw_obj_end(&w);
		break;
	case CATALOG_ALBUMS:
		api_album_write(&w, p->albums, 1, true);
		jsonw_key(&w, "tracks");
		jsonw_arr_begin(&w);
		for (size_t i = 0; i < p->ntracks; i++)
			api_track_write(&w, &p->tracks[i], 0, false);
		jsonw_arr_end(&w);
		jsonw_obj_end(&w);
		break;
	case CATALOG_TRACKS: api_track_write(&w, p->tracks, 1, false); break;
	case CATALOG_GENRES: api_genre_write(&w, p->genres, 1, false); break;
	}
	send_page(req, p->version, &w);
	jsonw_release(&w);
	catalog_page_free(p);
}

void api_artists_list(struct http_req *req, void *app) { list(req, app, CATALOG_ARTISTS); }
void api_albums_list(struct http_req *req, void *app) { list(req, app, CATALOG_ALBUMS); }
void api_tracks_list(struct http_req *req, void *app) { list(req, app, CATALOG_TRACKS); }
void api_genres_list(struct http_req *req, void *app) { list(req, app, CATALOG_GENRES); }
void api_artist_get(struct http_req *req, void *app) { get(req, app, CATALOG_ARTISTS); }
void api_album_get(struct http_req *req, void *app) { get(req, app, CATALOG_ALBUMS); }
void api_track_get(struct http_req *req, void *app) { get(req, app, CATALOG_TRACKS); }
void api_genre_get(struct http_req *req, void *app) { get(req, app, CATALOG_GENRES); }

/* ---- PATCH ---- */

/* The members a track patch may hold. Anything else is refused, so a typo is not silently
 * ignored. */
static const char *const patch_keys[] = {
	"title", "sort_title", "artists", "composers", "album", "album_artist", "genres", "disc",
	"disc_total", "track", "track_total", "year", "date", "isrc", "label", "bpm", "lyrics",
};

struct patch_arrays {
	struct catalog_artist_input artists[CATALOG_ARTISTS_MAX];
	const char *composers[CATALOG_ARTISTS_MAX];
	const char *genres[CATALOG_GENRES_MAX];
};

/* A string member that may be null (clears). 1 present, 0 absent, -1 invalid. */
static int patch_str(json_t *o, const char *key, size_t max, bool nullable, const char **out, struct err *e)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return 0;
	if (json_is_null(v)) {
		if (!nullable)
			return err_set(e, ERR_INVALID, "field \"%s\": must not be null", key);
		*out = NULL;
		return 1;
	}
	return tjson_get_str(o, key, true, max, out, e) < 0 ? -1 : 1;
}

static int patch_int(json_t *o, const char *key, long long max, int *out, struct err *e)
{
	json_t *v = json_object_get(o, key);
	long long n = 0;

	if (!v)
		return 0;
	if (json_is_null(v)) {
		*out = 0;
		return 1;
	}
	if (tjson_get_int(o, key, true, 0, max, &n, e) < 0)
		return -1;
	*out = (int)n;
	return 1;
}

/* An array of names (strings), at most max. */
static int patch_names(json_t *o, const char *key, size_t max, const char **out, size_t *n, struct err *e)
{
	json_t *v = json_object_get(o, key), *item;
	size_t i;

	if (!v)
		return 0;
	if (json_is_null(v)) {
		*n = 0;
		return 1;
	}
	if (!json_is_array(v) || json_array_size(v) > max)
		return err_set(e, ERR_INVALID, "field \"%s\": expected an array of at most %zu names", key, max);
	json_array_foreach(v, i, item) {
		if (!json_is_string(item) || json_string_length(item) == 0 ||
		    strlen(json_string_value(item)) != json_string_length(item))
			return err_set(e, ERR_INVALID, "field \"%s\": item %zu is not a name", key, i);
		out[i] = json_string_value(item);
	}
	*n = json_array_size(v);
	return 1;
}

/* "artists": ["Name", …] or [{"name": "…", "role": "main"|"featured"}, …]. */
static int patch_artists(json_t *o, struct catalog_artist_input *out, size_t *n, struct err *e)
{
	json_t *v = json_object_get(o, "artists"), *item;
	size_t i;

	if (!v)
		return 0;
	if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > CATALOG_ARTISTS_MAX)
		return err_set(e, ERR_INVALID, "field \"artists\": expected an array of 1–%d artists", CATALOG_ARTISTS_MAX);
	json_array_foreach(v, i, item) {
		memset(&out[i], 0, sizeof(out[i]));
		if (json_is_string(item)) {
			out[i].name = json_string_value(item);
			if (strlen(out[i].name) != json_string_length(item))
				return err_set(e, ERR_INVALID, "field \"artists\": item %zu holds a NUL", i);
			continue;
		}
		if (!json_is_object(item))
			return err_set(e, ERR_INVALID, "field \"artists\": item %zu is not a name or an object", i);
		const char *role = NULL;

		if (tjson_get_str(item, "name", true, CATALOG_NAME_MAX, &out[i].name, e) < 0 ||
		    tjson_get_str(item, "role", false, 16, &role, e) < 0)
			return err_wrap(e, "field \"artists\" item %zu", i);
		if (!role || strcmp(role, "main") == 0)
			out[i].role = CATALOG_ROLE_MAIN;
		else if (strcmp(role, "featured") == 0)
			out[i].role = CATALOG_ROLE_FEATURED;
		else
			return err_set(e, ERR_INVALID, "field \"artists\": item %zu: role must be main or featured", i);
	}
	*n = json_array_size(v);
	return 1;
}

static int parse_patch(json_t *o, struct catalog_track_patch *p, struct patch_arrays *arr, struct err *e)
{
	const char *key;
	json_t *v;
	int rc;

	memset(p, 0, sizeof(*p));
	if (!json_is_object(o))
		return err_set(e, ERR_INVALID, "the body must be a JSON object");
	json_object_foreach(o, key, v) {
		size_t i;

		for (i = 0; i < sizeof(patch_keys) / sizeof(patch_keys[0]); i++)
			if (strcmp(key, patch_keys[i]) == 0)
				break;
		if (i == sizeof(patch_keys) / sizeof(patch_keys[0]))
			return err_set(e, ERR_INVALID, "field \"%.64s\": unknown (or not editable)", key);
	}
#define STR(name, max, nullable, bit)                                           \
	if ((rc = patch_str(o, #name, max, nullable, &p->name, e)) < 0)         \
		return -1;                                                      \
	if (rc)                                                                 \
		p->fields |= bit;
#define INT(name, json, max, bit)                                               \
	if ((rc = patch_int(o, json, max, &p->name, e)) < 0)                    \
		return -1;                                                      \
	if (rc)                                                                 \
		p->fields |= bit;
	STR(title, CATALOG_NAME_MAX, false, CATALOG_PATCH_TITLE)
	STR(sort_title, CATALOG_NAME_MAX, true, CATALOG_PATCH_SORT_TITLE)
	STR(album, CATALOG_NAME_MAX, false, CATALOG_PATCH_ALBUM)
	STR(album_artist, CATALOG_NAME_MAX, true, CATALOG_PATCH_ALBUM_ARTIST)
	STR(date, 64, true, CATALOG_PATCH_DATE)
	STR(isrc, 64, true, CATALOG_PATCH_ISRC)
	STR(label, CATALOG_NAME_MAX, true, CATALOG_PATCH_LABEL)
	STR(lyrics, CATALOG_LYRICS_MAX, true, CATALOG_PATCH_LYRICS)
	INT(disc, "disc", CATALOG_NUMBER_MAX, CATALOG_PATCH_DISC)
	INT(disc_total, "disc_total", CATALOG_NUMBER_MAX, CATALOG_PATCH_DISC_TOTAL)
	INT(track, "track", CATALOG_NUMBER_MAX, CATALOG_PATCH_TRACK)
	INT(track_total, "track_total", CATALOG_NUMBER_MAX, CATALOG_PATCH_TRACK_TOTAL)
	INT(year, "year", 9999, CATALOG_PATCH_YEAR)
#undef STR
#undef INT
	v = json_object_get(o, "bpm");
	if (v) {
		if (json_is_null(v))
			p->bpm = -1;
		else if (json_is_number(v) && json_number_value(v) >= 0 && json_number_value(v) <= 10000)
			p->bpm = json_number_value(v);
		else
			return err_set(e, ERR_INVALID, "field \"bpm\": a number 0–10000 or null");
		p->fields |= CATALOG_PATCH_BPM;
	}
	if ((rc = patch_artists(o, arr->artists, &p->nartists, e)) < 0)
		return -1;
	if (rc) {
		p->artists = arr->artists;
		p->fields |= CATALOG_PATCH_ARTISTS;
	}
	if ((rc = patch_names(o, "composers", CATALOG_ARTISTS_MAX, arr->composers, &p->ncomposers, e)) < 0)
		return -1;
	if (rc) {
		p->composers = arr->composers;
		p->fields |= CATALOG_PATCH_COMPOSERS;
	}
	if ((rc = patch_names(o, "genres", CATALOG_GENRES_MAX, arr->genres, &p->ngenres, e)) < 0)
		return -1;
	if (rc) {
		p->genres = arr->genres;
		p->fields |= CATALOG_PATCH_GENRES;
	}
	return 0;
}

void api_track_patch(struct http_req *req, void *app)
{
	struct api *a = app;
	struct err e = ERR_INIT;
	struct catalog_track_patch p;
	struct patch_arrays *arr = NULL;
	json_t *body = http_req_json(req, &e);

	if (!body) {
		http_res_err(req, &e);
		return;
	}
	arr = http_req_alloc(req, sizeof(*arr));
	if (!arr) {
		json_decref(body);
		http_res_problem(req, 500, "Internal Server Error", "out of memory");
		return;
	}
	if (parse_patch(body, &p, arr, &e) < 0 || catalog_track_update(a->catalog, http_req_param(req, "id"), &p, &e) < 0) {
		json_decref(body);
		http_res_err(req, &e);
		return;
	}
	json_decref(body);
	get(req, app, CATALOG_TRACKS);
}

/* ---- DELETE ---- */

struct key_list {
	char **keys;
	size_t n, cap;
	bool oom;
};

static int collect_key(void *ud, const char *key, const struct store_stat *st)
{
	struct key_list *l = ud;

	(void)st;
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 16;
		char **nk = realloc(l->keys, ncap * sizeof(*nk));

		if (!nk) {
			l->oom = true;
			return 1;
		}
		l->keys = nk;
		l->cap = ncap;
	}
	l->keys[l->n] = strdup(key);
	if (!l->keys[l->n]) {
		l->oom = true;
		return 1;
	}
	l->n++;
	return 0;
}

/* Delete one unreferenced key or every object under a prefix ("…/"). Failures are logged,
 * not returned: the catalogue has committed already, and a leftover object only costs space
 * (a later sweep can find objects no row names). */
static void delete_objects(struct api *a, const char *rid, const char *key)
{
	struct err e = ERR_INIT;
	size_t len = strlen(key);

	if (len && key[len - 1] == '/') {
		struct key_list l = { 0 };

		if (store_list(a->store, key, collect_key, &l, &e) < 0)
			log_kv(LOG_WARN, rid, "catalog: listing objects to delete failed",
			       LOG_FIELDS(LOG_STR("prefix", key), LOG_STR("error", e.msg)));
		for (size_t i = 0; i < l.n; i++) {
			delete_objects(a, rid, l.keys[i]);
			free(l.keys[i]);
		}
		free(l.keys);
		return;
	}
	if (store_delete(a->store, key, &e) < 0)
		log_kv(LOG_WARN, rid, "catalog: deleting an object failed",
		       LOG_FIELDS(LOG_STR("key", key), LOG_STR("error", e.msg)));
}

void api_track_delete(struct http_req *req, void *app)
{
	struct api *a = app;
	struct err e = ERR_INIT;
	struct catalog_keys keys = { 0 };

	if (catalog_track_delete(a->catalog, http_req_param(req, "id"), &keys, &e) < 0) {
		http_res_err(req, &e);
		return;
	}
	/* After the commit: a crash here leaves unreferenced bytes, never a row without them. */
	for (size_t i = 0; i < keys.n; i++)
		delete_objects(a, http_req_id(req), keys.keys[i]);
	catalog_keys_release(&keys);
	api_track_json_forget(a, http_req_param(req, "id"));
	http_res_send(req, 204, NULL, NULL, 0);
}
