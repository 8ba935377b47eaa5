/* uploads.c (api) — tus 1.0 over HTTP: headers in, calls on ingest/upload.h, headers out.
 * The protocol's rules about state (offsets, leases, expiry, completion) live in the domain;
 * this file knows the header names and which status each outcome gets. */
#include "api/uploads.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "api/api.h"
#include "api/auth.h"
#include "auth/auth.h"
#include "base/clock.h"
#include "ingest/ingest.h"
#include "ingest/upload.h"
#include "http/http.h"

#define TUS_VERSION "1.0.0"
#define TUS_EXTENSIONS "creation,termination,checksum,expiration"

int api_uploads_ingest(void *ctx, const char *tmp_key, const char *filename, struct ingest_result *res,
		       struct err *e)
{
	return ingest_object(ctx, tmp_key, filename, res, e);
}

/* The account uploads belong to: "" when authentication is off. */
static const char *owner_of(struct http_req *req)
{
	const struct auth_principal *p = api_principal(req);

	return p ? p->user_id : "";
}

/* Every answer says which protocol version it speaks; a tus request must say it too. */
static bool tus_begin(struct http_req *req, bool require)
{
	const char *v = http_req_header(req, "tus-resumable");

	http_res_header(req, "Tus-Resumable", TUS_VERSION);
	if (!require || (v && strcmp(v, TUS_VERSION) == 0))
		return true;
	http_res_header(req, "Tus-Version", TUS_VERSION);
	http_res_problem(req, 412, "Precondition Failed",
			 v ? "this server speaks tus 1.0.0 only (Tus-Version)" : "the Tus-Resumable header is required");
	return false;
}

static bool no_uploads(struct http_req *req, struct api *a)
{
	if (a->uploads)
		return false;
	http_res_problem(req, 503, "Service Unavailable", "uploads are not configured on this server");
	return true;
}

/* A non-negative decimal header value (no sign, no spaces, at most 19 digits). */
static int header_u64(struct http_req *req, const char *name, bool required, uint64_t *out, bool *present)
{
	const char *v = http_req_header(req, name);
	uint64_t n = 0;
	size_t len;

	*present = v != NULL;
	if (!v)
		return required ? -1 : 0;
	len = strlen(v);
	if (len == 0 || len > 19)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	*out = n;
	return 0;
}

static void set_u64(struct http_req *req, const char *name, uint64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%" PRIu64, v);
	http_res_header(req, name, s);
}

static void set_expires(struct http_req *req, const struct upload_info *i)
{
	char d[CLOCK_HTTP_DATE_LEN];

	if (i->state == UPLOAD_RECEIVING && clock_http_date(i->expires_at / 1000, d) > 0)
		http_res_header(req, "Upload-Expires", d);
}

/* The answer for a failed domain call: tus gives some outcomes their own status. */
static void send_upload_err(struct http_req *req, const struct err *e, const struct upload_info *i)
{
	if (e->code == ERR_NOT_FOUND && i && i->state == UPLOAD_EXPIRED) {
		http_res_problem(req, 410, "Gone", "the upload expired; start a new one");
		return;
	}
	if (e->code == ERR_CONFLICT) {
		if (i && i->id[0])
			set_u64(req, "Upload-Offset", i->offset);
		http_res_problem(req, 409, "Conflict", e->msg);
		return;
	}
	http_res_err(req, e);
}

void api_uploads_options(struct http_req *req, void *app)
{
	struct api *a = app;

	tus_begin(req, false);
	http_res_header(req, "Tus-Version", TUS_VERSION);
	http_res_header(req, "Tus-Extension", TUS_EXTENSIONS);
	http_res_header(req, "Tus-Checksum-Algorithm", "sha256");
	if (a->uploads)
		set_u64(req, "Tus-Max-Size", upload_max_size(a->uploads));
	http_res_send(req, 204, NULL, NULL, 0);
}

void api_uploads_create(struct http_req *req, void *app)
{
	struct api *a = app;
	struct upload_metadata md;
	struct upload_info info;
	struct err e = ERR_INIT;
	const char *mdh;
	uint64_t length = 0;
	bool present;
	char *loc;

	if (!tus_begin(req, true) || no_uploads(req, a))
		return;
	if (http_req_header(req, "upload-defer-length")) {
		http_res_problem(req, 400, "Bad Request", "Upload-Defer-Length is not supported: give Upload-Length");
		return;
	}
	if (header_u64(req, "upload-length", true, &length, &present) < 0) {
		http_res_problem(req, 400, "Bad Request",
				 present ? "Upload-Length is not a non-negative integer" : "Upload-Length is required");
		return;
	}
	if (length > upload_max_size(a->uploads)) {
		set_u64(req, "Tus-Max-Size", upload_max_size(a->uploads));
		http_res_problem(req, 413, "Content Too Large", "Upload-Length is over the server's Tus-Max-Size");
		return;
	}
	mdh = http_req_header(req, "upload-metadata");
	if (upload_metadata_parse(mdh ? mdh : "", mdh ? strlen(mdh) : 0, &md, &e) < 0 ||
	    upload_create(a->uploads, owner_of(req), length, md.filename, md.filetype, &info, &e) < 0) {
		http_res_err(req, &e);
		return;
	}
	loc = http_req_printf(req, "/api/v1/uploads/%s", info.id);
	if (!loc) {
		http_res_problem(req, 500, "Internal Server Error", "out of memory");
		return;
	}
	http_res_header(req, "Location", loc);
	set_expires(req, &info);
	http_res_send(req, 201, NULL, NULL, 0);
}

static json_t *info_json(const struct upload_info *i)
{
	char exp[CLOCK_RFC3339_LEN];

	if (clock_rfc3339(i->expires_at, exp, sizeof(exp)) < 0)
		exp[0] = '\0';
	return json_pack("{s:s, s:I, s:I, s:s, s:s, s:s?, s:s?, s:b, s:s?, s:s?}", "id", i->id, "offset",
			 (json_int_t)i->offset, "length", (json_int_t)i->length, "state", upload_state_name(i->state),
			 "filename", i->filename, "filetype", i->filetype[0] ? i->filetype : NULL, "track_id",
			 i->track_id[0] ? i->track_id : NULL, "duplicate", i->duplicate, "reason",
			 i->reason[0] ? i->reason : NULL, "expires_at",
			 i->state == UPLOAD_RECEIVING && exp[0] ? exp : NULL);
}

void api_upload_get(struct http_req *req, void *app)
{
	struct api *a = app;
	struct upload_info info;
	struct err e = ERR_INIT;
	bool head = http_req_method(req) == HTTP_HEAD;

	/* HEAD is tus's offset query; GET is ours (JSON) and needs no tus header. */
	if (!tus_begin(req, head) || no_uploads(req, a))
		return;
	http_res_header(req, "Cache-Control", "no-store");
	if (upload_get(a->uploads, owner_of(req), http_req_param(req, "id"), &info, &e) < 0) {
		send_upload_err(req, &e, NULL);
		return;
	}
	if (info.state == UPLOAD_EXPIRED) {
		http_res_problem(req, 410, "Gone", "the upload expired; start a new one");
		return;
	}
	set_u64(req, "Upload-Offset", info.offset);
	set_u64(req, "Upload-Length", info.length);
	set_expires(req, &info);
	if (head) {
		http_res_send(req, 200, NULL, NULL, 0);
		return;
	}
	http_res_json(req, 200, info_json(&info));
}

void api_upload_patch(struct http_req *req, void *app)
{
	struct api *a = app;
	struct upload_info info;
	struct err e = ERR_INIT;
	const char *ct = http_req_header(req, "content-type"), *ck = http_req_header(req, "upload-checksum");
	unsigned char want[32], got[32];
	const void *body;
	uint64_t offset = 0;
	size_t len = 0;
	bool present;

	if (!tus_begin(req, true) || no_uploads(req, a))
		return;
	if (!ct || strcmp(ct, "application/offset+octet-stream") != 0) {
		http_res_problem(req, 415, "Unsupported Media Type",
				 "a PATCH body must be Content-Type: application/offset+octet-stream");
		return;
	}
	if (header_u64(req, "upload-offset", true, &offset, &present) < 0) {
		http_res_problem(req, 400, "Bad Request",
				 present ? "Upload-Offset is not a non-negative integer" : "Upload-Offset is required");
		return;
	}
	body = http_req_body(req, &len);
	if (ck) {
		if (upload_checksum_parse(ck, strlen(ck), want, &e) < 0) {
			/* tus: an unsupported algorithm is a 400, like a malformed value. */
			http_res_problem(req, 400, "Bad Request", e.msg);
			return;
		}
		SHA256(len ? body : (const void *)"", len, got);
		if (CRYPTO_memcmp(want, got, sizeof(got)) != 0) {
			http_res_problem(req, 460, "Checksum Mismatch",
					 "the chunk's SHA-256 is not the Upload-Checksum given; it was discarded");
			return;
		}
	}
	memset(&info, 0, sizeof(info));
	if (upload_append(a->uploads, owner_of(req), http_req_param(req, "id"), offset, body, len, &info, &e) < 0) {
		send_upload_err(req, &e, &info);
		return;
	}
	set_u64(req, "Upload-Offset", info.offset);
	set_expires(req, &info);
	http_res_send(req, 204, NULL, NULL, 0);
}

void api_upload_delete(struct http_req *req, void *app)
{
	struct api *a = app;
	struct err e = ERR_INIT;

	if (!tus_begin(req, true) || no_uploads(req, a))
		return;
	if (upload_delete(a->uploads, owner_of(req), http_req_param(req, "id"), &e) < 0) {
		send_upload_err(req, &e, NULL);
		return;
	}
	http_res_send(req, 204, NULL, NULL, 0);
}
