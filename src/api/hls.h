/* hls.h — HLS serving: master and media playlists, the key, segments (RFC 8216).
 *
 *   GET /api/v1/tracks/{id}/hls[?ttl=s]    a signed master-playlist URL for the caller (Bearer)
 *   GET /hls/{track}/master.m3u8           Bearer token or signed query (?a=&p=&exp=&sig=)
 *   GET /hls/{track}/{rendition}/index.m3u8   signed query (or Bearer)
 *   GET /hls/{track}/key                   signed query only: the 16 raw key bytes, no-store
 *   GET /hls/{track}/{rendition}/init.mp4  public: the clear init section
 *   GET /hls/{track}/{rendition}/{n}.m4s   public: segment n's ciphertext (n = media sequence)
 *   GET /hls/{track}/{rendition}/r/{file}  the same, read through the store on the handler pool
 *
 * The master playlist lists the renditions the listener may have (auth_may_have_rendition)
 * and every URL inside is signed (stream/sign.h) for the same account, the same permissions
 * and, when the master itself came through a signed URL, the same expiry: a signed URL never
 * begets a longer-lived one. Segments are ciphertext (the init section holds no secret), so
 * they are public and immutable: strong ETag (the object's ETag and the segment number),
 * Range, a year of caching. Each segment URL maps to a byte range of the rendition's one
 * object (stream_segment_range); with a local file store the bytes are read from the
 * object's file descriptor on the event loop (a quick route: the index comes from the cache;
 * on a miss it redirects to the `r/` URL, whose blocking handler loads the index into the
 * cache). With a remote store (S3) the media playlist names the `r/` URLs, which run on the
 * handler pool, and the quick URLs redirect there.
 *
 * Rendition indexes are cached in memory per track (struct api_hls) for a few seconds, so a
 * player's stream of segment requests reads the database once, not once per segment.
 */
#ifndef TONEARM_API_HLS_H
#define TONEARM_API_HLS_H

#include <stdint.h>

#include "base/err.h"
#include "store/store.h"
#include "stream/stream.h"

struct http_req;
struct api_hls;

/* The HLS state for a ladder service `s` and the store holding its objects (both borrowed,
 * they outlive it): the URL signer, derived from s's master key, and the index cache. NULL
 * with *e (ERR_NOMEM, ERR_INTERNAL). */
struct api_hls *api_hls_new(struct stream *s, struct store *store, struct err *e);
void api_hls_free(struct api_hls *h);

/* A track's cached renditions, shared: read-only, valid until api_hls_put. An entry older
 * than `max_age_ms` (API_HLS_FRESH_MS for playlists; INT64_MAX for segments, which check the
 * object against the index themselves) is reloaded: that reads the database, so a miss
 * blocks. NULL with *e: ERR_NOT_FOUND when the track has no ready ladder. */
#define API_HLS_FRESH_MS 5000
const struct stream_rendition_list *api_hls_get(struct api_hls *h, const char *track, int64_t max_age_ms,
						struct err *e);
void api_hls_put(struct api_hls *h, const struct stream_rendition_list *l);

/* The track's cached renditions whatever their age, or NULL when none are cached: never
 * reads the database (for the event loop). Release with api_hls_put. */
const struct stream_rendition_list *api_hls_peek(struct api_hls *h, const char *track);

/* The object of rendition `i` of a cached list `l` (from api_hls_get), opened once per cache
 * entry on a store with STORE_CAP_FD: *fd is borrowed (valid while the caller holds `l`; do not
 * close it) and *st is the object's stat at opening. -1 with *e: ERR_UNSUPPORTED on a remote
 * store, the store's errors. */
int api_hls_object_fd(struct api_hls *h, const struct stream_rendition_list *l, size_t i, int *fd,
		      struct store_stat *st, struct err *e);

/* Drop the track's entry (its index no longer matches its objects). */
void api_hls_forget(struct api_hls *h, const char *track);

/* The handlers (routes.c). */
void api_hls_url(struct http_req *req, void *app);
void api_hls_master(struct http_req *req, void *app);
void api_hls_media(struct http_req *req, void *app);
void api_hls_key(struct http_req *req, void *app);
void api_hls_segment(struct http_req *req, void *app);        /* quick */
void api_hls_segment_read(struct http_req *req, void *app);   /* blocking */

#endif
