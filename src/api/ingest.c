/* ingest.c (api) — the plain single-request upload (POST /api/v1/tracks: the body is the file)
 * and the admin's view of the quarantine (GET /api/v1/quarantine). Resumable uploads are tus
 * (api/uploads.c); both end in ingest_object. */
#include "api/ingest.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/catalog.h"
#include "base/clock.h"
#include "base/jsonw.h"
#include "base/utf8.h"
#include "catalog/catalog.h"
#include "http/http.h"
#include "ingest/ingest.h"
#include "store/store.h"

#define NAME_MAX_BYTES 255

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode `len` bytes of `s` into out (cap bytes with its NUL). -1 when malformed or too
 * long; a decoded NUL is kept (and refused by the check). *outlen gets the length. */
static int pct_decode(const char *s, size_t len, char *out, size_t cap, size_t *outlen)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len || (hi = hexval(s[i + 1])) < 0 || (lo = hexval(s[i + 2])) < 0)
				return -1;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (n + 1 >= cap)
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	*outlen = n;
	return 0;
}

/* The file name from `Content-Disposition: attachment; filename*=UTF-8''…` (RFC 6266/8187) or
 * `filename="…"`. 1 found (into out), 0 none, -1 malformed. */
static int disposition_name(const char *h, char *out, size_t cap, size_t *len)
{
	const char *p;

	if (!h)
		return 0;
	if ((p = strcasestr(h, "filename*="))) {
		const char *v = p + 10, *q = strstr(v, "''"), *end;

		if (!q || (size_t)(q - v) != 5 || strncasecmp(v, "UTF-8", 5) != 0)
			return -1;
		v = q + 2;
		end = v + strcspn(v, "; \t");
		return pct_decode(v, (size_t)(end - v), out, cap, len) < 0 ? -1 : 1;
	}
	if ((p = strcasestr(h, "filename="))) {
		const char *v = p + 9;
		size_t n;

		if (*v == '"') {
			const char *end = strchr(++v, '"');

			if (!end)
				return -1;
			n = (size_t)(end - v);
		} else {
			n = strcspn(v, "; \t");
		}
		if (n + 1 > cap)
			return -1;
		memcpy(out, v, n);
		out[n] = '\0';
		*len = n;
		return 1;
	}
	return 0;
}

/* A client's file name is shown and stored, never used as a path; still, refuse anything that
 * would be one, or would not be text. */
static int check_name(const char *name, size_t len, struct err *e)
{
	if (len == 0)
		return err_set(e, ERR_INVALID, "the file name is empty");
	if (len > NAME_MAX_BYTES)
		return err_set(e, ERR_INVALID, "the file name is longer than %d bytes", NAME_MAX_BYTES);
	if (memchr(name, '\0', len) || memchr(name, '/', len) || memchr(name, '\\', len) ||
	    memmem(name, len, "..", 2))
		return err_set(e, ERR_INVALID, "the file name must not hold '/', '\\', NUL or '..'");
	if (!utf8_valid(name, len))
		return err_set(e, ERR_INVALID, "the file name is not valid UTF-8");
	return 0;
}

static bool audio_type(const char *ct)
{
	size_t n;

	if (!ct || !*ct)
		return true; /* no type: bytes, which the probe will judge */
	n = strcspn(ct, "; \t");
	return (n > 6 && strncasecmp(ct, "audio/", 6) == 0) ||
	       (n == 24 && strncasecmp(ct, "application/octet-stream", 24) == 0);
}

void api_tracks_upload(struct http_req *req, void *app)
{
	struct api *a = app;
	struct err e = ERR_INIT, de = ERR_INIT;
	struct ingest_result res;
	struct catalog_page *page = NULL;
	struct jsonw w;
	const char *q = http_req_query(req, "name");
	const void *body;
	size_t len, nlen = 0;
	char name[NAME_MAX_BYTES * 3 + 1], key[64], id[ID_LEN + 1], *location;
	int rc;

	if (!a->ingest) {
		http_res_problem(req, 503, "Service Unavailable", "ingest is not configured on this server");
		return;
	}
	if (!audio_type(http_req_header(req, "content-type"))) {
		http_res_problem(req, 415, "Unsupported Media Type",
				 "send the file as its audio type or application/octet-stream");
		return;
	}
	rc = disposition_name(http_req_header(req, "content-disposition"), name, sizeof(name), &nlen);
	if (rc == 0 && q) {
		nlen = strlen(q);
		if (nlen >= sizeof(name))
			nlen = sizeof(name) - 1; /* check_name refuses it for its length */
		memcpy(name, q, nlen);
		name[nlen] = '\0';
		rc = 1;
	}
	if (rc < 0) {
		http_res_problem(req, 400, "Bad Request", "malformed Content-Disposition file name");
		return;
	}
	if (rc == 0) {
		http_res_problem(req, 400, "Bad Request",
				 "name the file: Content-Disposition: attachment; filename*=UTF-8''… or ?name=");
		return;
	}
	if (check_name(name, nlen, &e) < 0) {
		http_res_err(req, &e);
		return;
	}
	body = http_req_body(req, &len);
	id_new(id);
	snprintf(key, sizeof(key), "tmp/plain-uploads/%s", id);
	if (store_put(a->store, key, body ? body : "", body ? len : 0, &e) < 0) {
		http_res_err(req, &e);
		return;
	}
	if (ingest_object(a->ingest, key, name, &res, &e) < 0) {
		store_delete(a->store, key, &de);
		http_res_err(req, &e);
		return;
	}
	if (res.outcome == INGEST_REFUSED) {
		http_res_problem(req, 422, "Unprocessable Content", res.reason);
		return;
	}
	location = http_req_printf(req, "/api/v1/tracks/%s", res.track_id);
	if (location)
		http_res_header(req, "Location", location);
	if (catalog_get(a->catalog, CATALOG_TRACKS, res.track_id, &page, &e) < 0) {
		http_res_err(req, &e);
		return;
	}
	jsonw_init(&w, API_JSON_MAX);
	api_track_write(&w, &page->tracks[0], 1, false);
	api_send_jsonw(req, res.outcome == INGEST_ADDED ? 201 : 200, &w);
	jsonw_release(&w);
	catalog_page_free(page);
}

void api_quarantine_list(struct http_req *req, void *app)
{
	struct api *a = app;
	struct err e = ERR_INIT;
	struct ingest_quarantine_page p;
	long long limit;
	json_t *items, *body;

	if (!a->ingest) {
		http_res_problem(req, 503, "Service Unavailable", "ingest is not configured on this server");
		return;
	}
	if (http_req_query_int(req, "limit", 50, 1, INGEST_QUARANTINE_LIMIT_MAX, &limit, &e) < 0) {
		http_res_err(req, &e);
		return;
	}
	if (ingest_quarantine_list(a->ingest, (int)limit, http_req_query(req, "cursor"), &p, &e) < 0) {
		ingest_quarantine_page_release(&p);
		http_res_err(req, &e);
		return;
	}
	items = json_array();
	for (size_t i = 0; items && i < p.n; i++) {
		const struct ingest_quarantined *qd = &p.items[i];
		char when[CLOCK_RFC3339_LEN];

		if (clock_rfc3339(qd->created_at, when, sizeof(when)) < 0)
			when[0] = '\0';
		json_array_append_new(items, json_pack("{s:s, s:s, s:s?, s:I, s:s, s:s, s:s}", "id", qd->id,
						       "name", qd->name, "sha256", qd->sha256[0] ? qd->sha256 : NULL,
						       "size", (json_int_t)qd->size, "reason", qd->reason,
						       "source", qd->source, "created_at", when));
	}
	body = json_pack("{s:o?, s:s?}", "items", items, "next_cursor", p.next_cursor[0] ? p.next_cursor : NULL);
	ingest_quarantine_page_release(&p);
	if (!body) {
		http_res_problem(req, 500, "Internal Server Error", "out of memory");
		return;
	}
	http_res_json(req, 200, body);
}
