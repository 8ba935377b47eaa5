/* catalog.h (api) — the browse API over the catalogue: /api/v1/{artists,albums,tracks,genres}
 * and /{id} under each, PATCH and DELETE of a track. All are blocking routes (they query the
 * database). Lists take filters, a sort, a limit and a cursor and answer
 * {"items": [...], "next_cursor": "..." | null}; lists and gets carry a weak ETag from the
 * catalogue's change counter and answer If-None-Match with 304. */
#ifndef TONEARM_API_CATALOG_H
#define TONEARM_API_CATALOG_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

struct http_req;
struct jsonw;
struct catalog_track;
struct catalog_album;
struct catalog_artist;
struct catalog_genre;
struct catalog_query;

void api_artists_list(struct http_req *req, void *app);
void api_artist_get(struct http_req *req, void *app);
void api_albums_list(struct http_req *req, void *app);
void api_album_get(struct http_req *req, void *app);
void api_tracks_list(struct http_req *req, void *app);
void api_track_get(struct http_req *req, void *app);
void api_track_patch(struct http_req *req, void *app);
void api_track_delete(struct http_req *req, void *app);
void api_genres_list(struct http_req *req, void *app);
void api_genre_get(struct http_req *req, void *app);

/* ---- track_json.c: tracks' JSON kept under their rows' revisions ---- */

struct api;
struct revcache;

/* Make a->track_json, a cache of at most max_bytes (0: none, a->track_json NULL), and its
 * metrics in a->metrics. -1 (ERR_NOMEM) when memory runs out. */
int api_track_json_cache(struct api *a, size_t max_bytes, struct err *e);
/* Free a->track_json (its metrics stop moving). */
void api_track_json_cache_free(struct api *a);

/* One page's use of the cache: set catalog_query.known = api_track_json_known and known_ud =
 * the struct, list, then write track i with api_track_json_write (the kept text when the
 * catalogue left it known, else written and kept). With a NULL cache, begin sets nothing up:
 * leave catalog_query.known NULL and every track is written. */
struct revcache_entry;
struct api_track_json {
	struct revcache *cache;
	struct {
		struct revcache_entry *held; /* the known track's entry, held until _end */
		const char *text;
		size_t len;
	} *known;                            /* by position in the page */
	size_t nknown;
};
int api_track_json_begin(struct api_track_json *tj, struct revcache *cache, size_t limit);
void api_track_json_end(struct api_track_json *tj);
bool api_track_json_known(void *ud, size_t i, const char *id, int64_t rev);
void api_track_json_write(struct jsonw *w, struct api_track_json *tj, size_t i, const struct catalog_track *t);
/* A deleted track's text is dropped (it could never be asked for again; this frees it now). */
void api_track_json_forget(struct api *a, const char *id);

/* ---- catalog_json.c: the JSON shapes and the query parameters ---- */

/* Write one row as a JSON object into `w`. `full` adds what only a get shows (lyrics,
 * counts). With `open` the object is left open for the caller to add members and close with
 * jsonw_obj_end. Failures are the writer's (sticky, see base/jsonw.h). */
void api_track_write(struct jsonw *w, const struct catalog_track *t, int full, bool open);
void api_album_write(struct jsonw *w, const struct catalog_album *a, int full, bool open);
void api_artist_write(struct jsonw *w, const struct catalog_artist *a, int full, bool open);
void api_genre_write(struct jsonw *w, const struct catalog_genre *g, int full, bool open);

/* The most a catalogue answer may take: an album page of 10,000 tracks is about 15 MB. */
#define API_JSON_MAX ((size_t)64 << 20)

/* Parse `added_since`: milliseconds since the epoch, or an RFC 3339 date-time
 * ("2024-01-02T03:04:05Z", fractions and ±hh:mm offsets allowed). 0 or -1. */
int api_parse_time(const char *s, int64_t *ms);

/* Read the list parameters of a request into *q (strings point into the request). -1 with
 * ERR_INVALID naming the parameter. */
int api_catalog_query(struct http_req *req, struct catalog_query *q, struct err *e);

#endif
