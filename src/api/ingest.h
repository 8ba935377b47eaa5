/* ingest.h (api) — the plain upload and the quarantine list, over ingest/ingest.h.
 *
 * POST /api/v1/tracks (blocking; PERM_UPLOAD): the raw body is the file (Content-Type audio/<any>
 *   or application/octet-stream; none is taken as bytes), named by Content-Disposition
 *   (`attachment; filename*=UTF-8''…` or `filename="…"`) or ?name=. The name must be 1–255
 *   bytes of UTF-8 without '/', '\', NUL or ".." (else 400). The body limit is the server's
 *   max_body (413 before the handler runs). Answers 201 + the track (Location) for new bytes,
 *   200 + the existing track (Location) for a duplicate, 422 problem+json with the reason for a
 *   refused file (kept in quarantine).
 * GET /api/v1/quarantine (blocking; PERM_ADMIN): refused files, newest first,
 *   {"items": [{id, name, sha256, size, reason, source, created_at}], "next_cursor"}, with
 *   ?limit=1–500 (50) and ?cursor=. */
#ifndef TONEARM_API_INGEST_H
#define TONEARM_API_INGEST_H

struct http_req;

void api_tracks_upload(struct http_req *req, void *app);
void api_quarantine_list(struct http_req *req, void *app);

#endif
