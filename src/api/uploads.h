/* uploads.h (api) — tus 1.0 resumable uploads at /api/v1/uploads (https://tus.io/protocols/
 * resumable-upload): the core protocol and the creation, termination, checksum (sha256) and
 * expiration extensions, over the domain in ingest/upload.h.
 *
 * Every answer carries Tus-Resumable: 1.0.0; a tus request (POST, HEAD, PATCH, DELETE) without
 * Tus-Resumable: 1.0.0 gets 412 with Tus-Version. Errors are problem+json: 400 malformed
 * headers or metadata, 404 no such upload (or another account's), 409 wrong Upload-Offset or
 * a concurrent write, 410 expired, 413 over the size limit or past Upload-Length, 415 a PATCH
 * that is not application/offset+octet-stream, 460 checksum mismatch (the chunk is discarded).
 *
 * Each PATCH body is buffered whole by the server (at most max_body): clients must send
 * chunks no larger than that (tus-js-client: chunkSize). GET /api/v1/uploads/{id} (not part
 * of tus) answers JSON: offset, length, state, and the track once complete. All routes are
 * BLOCKING (database and store calls).
 */
#ifndef TONEARM_API_UPLOADS_H
#define TONEARM_API_UPLOADS_H

struct http_req;
struct ingest_result;
struct err;

void api_uploads_options(struct http_req *req, void *app);
void api_uploads_create(struct http_req *req, void *app);
void api_upload_get(struct http_req *req, void *app); /* HEAD: tus; GET: JSON */
void api_upload_patch(struct http_req *req, void *app);
void api_upload_delete(struct http_req *req, void *app);

/* An upload_complete_fn (ingest/upload.h) over ingest_object: `ctx` is the struct ingest. */
int api_uploads_ingest(void *ctx, const char *tmp_key, const char *filename, struct ingest_result *res,
		       struct err *e);

#endif
