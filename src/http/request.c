/* request.c — what a handler reads: the http_req_* accessors. They read the wrapper only
 * (never h2o's request), so they work the same on the loop and on a pool thread.
 */
#include "http/internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/json.h"

#define HTTP_JSON_DEPTH 128

enum http_method http_req_method(const struct http_req *req)
{
	return (enum http_method)req->method;
}

const char *http_req_method_name(const struct http_req *req)
{
	return req->method_name;
}

const char *http_req_path(const struct http_req *req)
{
	return req->path;
}

const struct http_route *http_req_route(const struct http_req *req)
{
	return req->route;
}

const char *http_req_param(const struct http_req *req, const char *name)
{
	for (unsigned i = 0; i < req->nparams; i++)
		if (strcmp(req->param_names[i], name) == 0)
			return req->params[i];
	return NULL;
}

const char *http_req_query(const struct http_req *req, const char *name)
{
	struct http_req *r = (struct http_req *)req; /* the parse is a cache, not a change */

	if (!r->query || r->nquery == 0)
		return NULL;
	if (!r->query_parsed) {
		char *buf = h2o_mem_alloc_pool(r->mem, r->query_len + 2 * r->nquery + 1);

		r->qparams = h2o_mem_alloc_pool(r->mem, r->nquery * sizeof(*r->qparams));
		r->nquery = http_query_parse(r->query, r->query_len, buf, r->qparams, r->nquery);
		r->query_parsed = true;
	}
	for (size_t i = 0; i < r->nquery; i++)
		if (strcmp(r->qparams[i].name, name) == 0)
			return r->qparams[i].value;
	return NULL;
}

int http_req_query_int(const struct http_req *req, const char *name, long long def, long long min,
		       long long max, long long *out, struct err *e)
{
	const char *v = http_req_query(req, name);
	char *end;
	long long n;

	if (!v) {
		*out = def;
		return 0;
	}
	errno = 0;
	n = strtoll(v, &end, 10);
	if (!*v || *end || errno || v[0] == ' ' || v[0] == '+')
		return err_set(e, ERR_INVALID, "query parameter \"%s\": expected an integer", name);
	if (n < min || n > max)
		return err_set(e, ERR_INVALID, "query parameter \"%s\": must be between %lld and %lld", name, min, max);
	*out = n;
	return 0;
}

const char *http_req_header(const struct http_req *req, const char *name)
{
	struct http_req *r = (struct http_req *)req;
	const h2o_headers_t *h = r->headers;
	char lower[256];
	size_t nlen = strlen(name), total = 0, count = 0, first = SIZE_MAX;
	char *joined, *p;

	if (nlen == 0 || nlen >= sizeof(lower))
		return NULL;
	for (size_t i = 0; i < nlen; i++)
		lower[i] = (char)h2o_tolower((unsigned char)name[i]);
	/* Header names arrive lower-cased (h2o lowers HTTP/1 names; HTTP/2 requires it). */
	for (size_t i = 0; i < h->size; i++) {
		if (h->entries[i].name->len == nlen && memcmp(h->entries[i].name->base, lower, nlen) == 0) {
			if (first == SIZE_MAX)
				first = i;
			count++;
			total += h->entries[i].value.len + 2;
		}
	}
	if (!count)
		return NULL;
	if (count == 1 && r->headers_copied)
		return h->entries[first].value.base;
	p = joined = h2o_mem_alloc_pool(r->mem, total + 1);
	for (size_t i = first; i < h->size; i++) {
		if (h->entries[i].name->len != nlen || memcmp(h->entries[i].name->base, lower, nlen) != 0)
			continue;
		if (p != joined) {
			memcpy(p, ", ", 2);
			p += 2;
		}
		memcpy(p, h->entries[i].value.base, h->entries[i].value.len);
		p += h->entries[i].value.len;
	}
	*p = '\0';
	return joined;
}

const void *http_req_body(const struct http_req *req, size_t *len)
{
	*len = req->body_len;
	return req->body;
}

/* application/json, or any structured +json type (application/merge-patch+json …). */
static bool json_media_type(const char *ct)
{
	size_t n;

	while (*ct == ' ' || *ct == '\t')
		ct++;
	n = strcspn(ct, "; \t");
	return (n == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
	       (n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0);
}

json_t *http_req_json(struct http_req *req, struct err *e)
{
	const char *ct = http_req_header(req, "content-type");

	if (ct && !json_media_type(ct)) {
		err_set(e, ERR_INVALID, "the request body must be application/json");
		return NULL;
	}
	if (req->body_len > req->srv->opt.max_json) {
		err_set(e, ERR_TOO_LARGE, "the JSON body is larger than %zu bytes", req->srv->opt.max_json);
		return NULL;
	}
	if (!req->body || req->body_len == 0) {
		err_set(e, ERR_INVALID, "the request has no JSON body");
		return NULL;
	}
	return tjson_parse_strict(req->body, req->body_len, HTTP_JSON_DEPTH, e);
}

const char *http_req_id(const struct http_req *req)
{
	return req->id;
}

const char *http_req_trace_id(const struct http_req *req)
{
	return req->has_trace ? req->trace_id : NULL;
}

const char *http_req_peer(const struct http_req *req)
{
	struct http_req *r = (struct http_req *)req;

	/* Quick routes only get here on the loop; blocking ones have it copied already. */
	if (!r->peer)
		r->peer = r->req ? http_peer_text(r->req, r->mem) : "unknown";
	return r->peer;
}

void *http_req_alloc(struct http_req *req, size_t n)
{
	return h2o_mem_alloc_pool(req->mem, n ? n : 1);
}

char *http_req_strdup(struct http_req *req, const char *s)
{
	return h2o_strdup(req->mem, s, SIZE_MAX).base;
}

char *http_req_printf(struct http_req *req, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	p = h2o_mem_alloc_pool(req->mem, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void http_req_set_principal(struct http_req *req, void *principal)
{
	req->principal = principal;
}

void *http_req_principal(const struct http_req *req)
{
	return req->principal;
}
