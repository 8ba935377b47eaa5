/* hls.h — HLS serving: master and media playlists, the key, segments (RFC 8216).
 *
 *   GET /api/v1/tracks/{id}/hls            a signed master-playlist URL for the caller (Bearer)
 *   GET /hls/{track}/master.m3u8           Bearer token or signed query (?a=&p=&exp=&sig=)
 *   GET /hls/{track}/{rendition}/index.m3u8   signed query (or Bearer)
 *   GET /hls/{track}/key                   signed query only: the 16 raw key bytes, no-store
 *   GET /hls/{track}/{rendition}/init.mp4  public: the clear init section
 *   GET /hls/{track}/{rendition}/{n}.m4s   public: segment n's ciphertext (n = media sequence)
 *
 * The master playlist lists the renditions the listener may have (auth_may_have_rendition)
 * and every URL inside is signed (stream/sign.h) for the same account, the same permissions
 * and, when the master itself came through a signed URL, the same expiry: a signed URL never
 * begets a longer-lived one. Segments are ciphertext (the init section holds no secret), so
 * they are public and immutable: strong ETag (the object's ETag and the segment number),
 * Range, a year of caching. Each segment URL maps to a byte range of the rendition's one
 * object (stream_segment_range); with a local file store the bytes are read from the
 * object's file descriptor.
 *
 * Rendition indexes are cached in memory per track (struct api_hls) for a few seconds, so a
 * player's stream of segment requests reads the database once, not once per segment.
 */
#ifndef TONEARM_API_HLS_H
#define TONEARM_API_HLS_H

#include "base/err.h"
#include "stream/stream.h"

struct http_req;
struct api_hls;

/* The HLS state for a ladder service `s` (borrowed, outlives it): the URL signer, derived
 * from s's master key, and the index cache. NULL with *e (ERR_NOMEM, ERR_INTERNAL). */
struct api_hls *api_hls_new(struct stream *s, struct err *e);
void api_hls_free(struct api_hls *h);

/* A track's cached renditions, shared: read-only, valid until api_hls_put. Loads them on a
 * miss (reads the database: call from blocking handlers). NULL with *e: ERR_NOT_FOUND when
 * the track has no ready ladder. */
const struct stream_rendition_list *api_hls_get(struct api_hls *h, const char *track, struct err *e);
void api_hls_put(struct api_hls *h, const struct stream_rendition_list *l);

/* The handlers (routes.c). */
void api_hls_url(struct http_req *req, void *app);
void api_hls_master(struct http_req *req, void *app);
void api_hls_media(struct http_req *req, void *app);
void api_hls_key(struct http_req *req, void *app);
void api_hls_segment(struct http_req *req, void *app);

#endif
