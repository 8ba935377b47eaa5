/* art.h (api) — cover art by content hash: GET /api/v1/art/{hash}[?size=64|300|600|1200].
 *
 * Without `size`: the original image as ingest stored it (art/<hash>/orig), with its media
 * type. With `size`: a JPEG fitting a size × size box, made on first request from the
 * original (media/art.h) and kept as art/<hash>/<size>.jpg, so later requests are served
 * straight from the store. Both are immutable: a strong ETag (the object's), Cache-Control
 * public, max-age=31536000, immutable, conditional requests and Range (http_res_entity).
 * 400 for a hash that is not 64 hex digits or another size, 404 for an unknown hash. BLOCKING.
 */
#ifndef TONEARM_API_ART_H
#define TONEARM_API_ART_H

struct http_req;

void api_art_get(struct http_req *req, void *app);

#endif
