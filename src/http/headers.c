/* headers.c — headers every answer carries, and CORS.
 *
 * An h2o filter, so that h2o's own answers (413, 400 …) carry them as well as ours:
 *   - X-Content-Type-Options: nosniff and Referrer-Policy: no-referrer on everything;
 *   - X-Frame-Options: DENY on everything, and on HTML a Content-Security-Policy
 *     (default-src 'self', frame-ancestors 'none', …): HTML is the only type a browser
 *     renders as a page (sign-in and consent pages), JSON needs no policy;
 *   - Strict-Transport-Security (two years) when the server speaks TLS;
 *   - the RateLimit-* headers of the buckets the request went through (http/limits.h);
 *   - CORS: when cors_origins is set, Vary: Origin on everything, and for a request whose
 *     Origin is one of them exactly, Access-Control-Allow-Origin with that origin (never
 *     "*") and Access-Control-Expose-Headers for the headers a script may need. No
 *     Access-Control-Allow-Credentials: the API authenticates with bearer tokens, not cookies.
 */
#include "base/jsonw.h"
#include "http/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CSP_HTML                                                                                               \
	"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; " \
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
#define HSTS "max-age=63072000"
#define PREFLIGHT_MAX_AGE "600"
#define CORS_METHODS "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
#define CORS_HEADERS_DEFAULT "authorization, content-type"
#define CORS_EXPOSE                                                                                         \
	"x-request-id, retry-after, ratelimit-limit, ratelimit-remaining, ratelimit-reset, location, etag, " \
	"content-range, upload-offset, upload-length, tus-resumable"
#define MAX_ORIGINS 64

int http_cors_init(struct http_server *srv, struct err *e)
{
	const char *s = srv->opt.cors_origins;
	size_t n = 0;

	if (!s || !*s)
		return 0;
	srv->cors = calloc(MAX_ORIGINS + 1, sizeof(*srv->cors));
	if (!srv->cors)
		return err_set(e, ERR_NOMEM, "out of memory");
	while (s && *s) {
		const char *end = strchr(s, ','), *b = s;
		size_t len = end ? (size_t)(end - s) : strlen(s);

		while (len && *b == ' ')
			b++, len--;
		while (len && (b[len - 1] == ' ' || b[len - 1] == '/'))
			len--;
		if (len) {
			if (n == MAX_ORIGINS)
				return err_set(e, ERR_INVALID, "cors_origins: at most %d origins", MAX_ORIGINS);
			if (len == 1 && *b == '*')
				return err_set(e, ERR_INVALID, "cors_origins: list the origins; \"*\" is not allowed");
			if (!(srv->cors[n] = strndup(b, len)))
				return err_set(e, ERR_NOMEM, "out of memory");
			if (strncmp(srv->cors[n], "http://", 7) != 0 && strncmp(srv->cors[n], "https://", 8) != 0)
				return err_set(e, ERR_INVALID, "cors_origins: \"%s\" is not an origin (scheme://host[:port])",
					       srv->cors[n]);
			n++;
		}
		s = end ? end + 1 : NULL;
	}
	return 0;
}

void http_cors_release(struct http_server *srv)
{
	if (!srv->cors)
		return;
	for (size_t i = 0; srv->cors[i]; i++)
		free(srv->cors[i]);
	free(srv->cors);
	srv->cors = NULL;
}

/* The request's Origin when it is allowed, else NULL. Exact, case-sensitive comparison:
 * browsers send the serialized origin, lower-case scheme and host. */
static bool origin_allowed(const struct http_server *srv, const h2o_iovec_t *o)
{
	for (size_t i = 0; srv->cors && srv->cors[i]; i++)
		if (strlen(srv->cors[i]) == o->len && memcmp(srv->cors[i], o->base, o->len) == 0)
			return true;
	return false;
}

static void add(h2o_req_t *req, const char *name, const char *value)
{
	h2o_add_header_by_str(&req->pool, &req->res.headers, name, strlen(name), 0, NULL, value, strlen(value));
}

/* A header whose value is a decimal number, written without printf (three per request). */
static void add_uint(h2o_req_t *req, const char *name, size_t name_len, unsigned v)
{
	char *p = h2o_mem_alloc_pool(&req->pool, JSONW_INT_MAX);
	size_t n = jsonw_int_text(v, p);

	h2o_add_header_by_str(&req->pool, &req->res.headers, name, name_len, 0, NULL, p, n);
}

static bool has_header(h2o_req_t *req, const char *name)
{
	return h2o_find_header_by_str(&req->res.headers, name, strlen(name), -1) >= 0;
}

void http_headers_setup(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
	struct http_loop *lp = H2O_STRUCT_FROM_MEMBER(struct http_loop, ctx, req->conn->ctx);
	struct http_server *srv = lp->srv;
	struct http_req *r = http_req_of(req);
	ssize_t ct = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);

	(void)self;
	add(req, "x-content-type-options", "nosniff");
	add(req, "referrer-policy", "no-referrer");
	if (!has_header(req, "x-frame-options"))
		add(req, "x-frame-options", "DENY");
	if (ct >= 0 && req->res.headers.entries[ct].value.len >= 9 &&
	    strncasecmp(req->res.headers.entries[ct].value.base, "text/html", 9) == 0 &&
	    !has_header(req, "content-security-policy"))
		add(req, "content-security-policy", CSP_HTML);
	if (srv->ssl_ctx)
		add(req, "strict-transport-security", HSTS);
	if (r && r->rl_set) {
		add_uint(req, H2O_STRLIT("ratelimit-limit"), r->rl.limit);
		add_uint(req, H2O_STRLIT("ratelimit-remaining"), r->rl.remaining);
		add_uint(req, H2O_STRLIT("ratelimit-reset"), r->rl.reset);
	}
	if (srv->cors && !has_header(req, "access-control-allow-origin")) {
		ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("origin"), -1);

		h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_VARY, NULL, H2O_STRLIT("Origin"));
		if (i >= 0 && origin_allowed(srv, &req->headers.entries[i].value)) {
			h2o_iovec_t o = h2o_strdup(&req->pool, req->headers.entries[i].value.base,
						   req->headers.entries[i].value.len);

			h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("access-control-allow-origin"), 0,
					      NULL, o.base, o.len);
			add(req, "access-control-expose-headers", CORS_EXPOSE);
		}
	}
	h2o_setup_next_ostream(req, slot);
}

/* Requested header names: a comma list of tokens, echoed when sane, else a safe default. */
static bool token_list(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 1024)
		return false;
	for (; *s; s++)
		if (!(*s == ',' || *s == ' ' || *s == '-' || *s == '_' || (*s >= '0' && *s <= '9') ||
		      (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
			return false;
	return true;
}

bool http_cors_preflight(struct http_req *r)
{
	const char *origin, *method, *hdrs;
	h2o_iovec_t o;

	if (r->method != HTTP_OPTIONS || !(origin = http_req_header(r, "origin")) ||
	    !(method = http_req_header(r, "access-control-request-method")))
		return false;
	o = h2o_iovec_init(origin, strlen(origin));
	if (!origin_allowed(r->srv, &o)) {
		/* No CORS headers: the browser refuses the real request. Vary is added by the filter. */
		http_res_problem(r, 403, "Forbidden", "this origin may not call the API");
		http_commit(r);
		return true;
	}
	hdrs = http_req_header(r, "access-control-request-headers");
	http_res_header(r, "Access-Control-Allow-Origin", origin);
	http_res_header(r, "Access-Control-Allow-Methods", CORS_METHODS);
	http_res_header(r, "Access-Control-Allow-Headers", hdrs && token_list(hdrs) ? hdrs : CORS_HEADERS_DEFAULT);
	http_res_header(r, "Access-Control-Max-Age", PREFLIGHT_MAX_AGE);
	http_res_header(r, "Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
	http_res_send(r, 204, NULL, NULL, 0);
	http_commit(r);
	return true;
}
