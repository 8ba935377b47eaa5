/* response.c — the senders. They only record the answer in the wrapper (so that a handler on
 * a pool thread never touches h2o); http_commit() hands it to h2o on the owning loop.
 */
#include "http/internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/utf8.h"

const char *http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 417: return "Expectation Failed";
	case 422: return "Unprocessable Content";
	case 428: return "Precondition Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 460: return "Checksum Mismatch"; /* tus 1.0 checksum extension */
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	}
	return status < 200 ? "Informational" : status < 300 ? "OK" : status < 400 ? "Redirection"
	       : status < 500 ? "Client Error" : "Server Error";
}

int http_status_for_err(enum err_code code)
{
	switch (code) {
	case ERR_INVALID: return 400;
	case ERR_NOT_FOUND: return 404;
	case ERR_CONFLICT: return 409;
	case ERR_TOO_LARGE: return 413;
	case ERR_RANGE: return 416;
	case ERR_UNAUTHORIZED: return 401;
	case ERR_FORBIDDEN: return 403;
	case ERR_UNSUPPORTED: return 501;
	case ERR_UNAVAILABLE: return 503;
	case ERR_TIMEOUT: return 504;
	case ERR_NONE:
	case ERR_IO:
	case ERR_NOMEM:
	case ERR_INTERNAL: return 500;
	}
	return 500;
}

/* The first sender wins; a second one is a handler bug, logged and ignored. */
static bool claim(struct http_req *r, const char *what)
{
	if (r->answered) {
		log_kv(LOG_ERROR, r->id, "http: answered twice",
		       LOG_FIELDS(LOG_STR("call", what), LOG_STR("route", r->rt->label)));
		return false;
	}
	r->answered = true;
	return true;
}

static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

void http_res_header_n(struct http_req *r, const char *name, size_t nlen, const char *value, size_t vlen)
{
	struct http_hdr *h;
	char *n, *v;

	if (nlen == 0)
		goto bad;
	for (size_t i = 0; i < nlen; i++)
		if (!is_tchar((unsigned char)name[i]))
			goto bad;
	for (size_t i = 0; i < vlen; i++) {
		unsigned char c = (unsigned char)value[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f) /* CR, LF, NUL: header injection */
			goto bad;
	}
	h = h2o_mem_alloc_pool(r->mem, sizeof(*h));
	n = h2o_mem_alloc_pool(r->mem, nlen + 1);
	v = h2o_mem_alloc_pool(r->mem, vlen + 1);
	for (size_t i = 0; i < nlen; i++)
		n[i] = (char)h2o_tolower((unsigned char)name[i]); /* HTTP/2 wants lower case */
	n[nlen] = '\0';
	memcpy(v, value, vlen);
	v[vlen] = '\0';
	h->name = h2o_iovec_init(n, nlen);
	h->value = h2o_iovec_init(v, vlen);
	h->next = NULL;
	*r->hdrs_tail = h;
	r->hdrs_tail = &h->next;
	return;
bad:
	log_kv(LOG_ERROR, r->id, "http: invalid response header dropped",
	       LOG_FIELDS(LOG_STR("route", r->rt->label)));
}

void http_res_header(struct http_req *req, const char *name, const char *value)
{
	if (req->answered) {
		log_kv(LOG_ERROR, req->id, "http: header added after the answer",
		       LOG_FIELDS(LOG_STR("name", name), LOG_STR("route", req->rt->label)));
		return;
	}
	http_res_header_n(req, name, strlen(name), value, strlen(value));
}

static void record(struct http_req *r, int status, const char *ctype, const void *body, size_t len, bool copy)
{
	r->status = status;
	r->ctype = ctype;
	r->body_kind = HTTP_BODY_BYTES;
	if (copy && len) {
		char *p = h2o_mem_alloc_pool(r->mem, len);

		memcpy(p, body, len);
		body = p;
	}
	r->bytes = h2o_iovec_init(body, len);
}

h2o_iovec_t http_problem_body(h2o_mem_pool_t *pool, int status, const char *title, const char *detail,
			      const char *instance, const char *code)
{
	json_t *o = json_object();
	char fixed[ERR_MSG_MAX * 3 + 1];
	h2o_iovec_t out = { NULL, 0 };
	size_t n;

	if (detail && !utf8_valid(detail, strlen(detail))) {
		utf8_sanitize(fixed, sizeof(fixed), detail, strnlen(detail, ERR_MSG_MAX));
		detail = fixed;
	}
	if (o) {
		json_object_set_new(o, "type", json_string("about:blank"));
		json_object_set_new(o, "title", json_string(title ? title : http_reason(status)));
		json_object_set_new(o, "status", json_integer(status));
		if (detail)
			json_object_set_new(o, "detail", json_string(detail));
		if (instance)
			json_object_set_new(o, "instance", json_string(instance));
		if (code)
			json_object_set_new(o, "code", json_string(code));
		n = json_dumpb(o, NULL, 0, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (n) {
			out.base = h2o_mem_alloc_pool(pool, n);
			out.len = json_dumpb(o, out.base, n, JSON_COMPACT | JSON_PRESERVE_ORDER);
		}
		json_decref(o);
	}
	if (!out.base) { /* out of memory in jansson: still a valid document */
		static const char minimal[] = "{\"type\":\"about:blank\",\"status\":500}";

		out = h2o_iovec_init(minimal, sizeof(minimal) - 1);
	}
	return out;
}

void http_res_problem_code(struct http_req *r, int status, const char *title, const char *detail,
			   const char *code)
{
	h2o_iovec_t b = http_problem_body(r->mem, status, title, detail, r->id, code);

	record(r, status, "application/problem+json", b.base, b.len, false);
}

void http_res_problem(struct http_req *req, int status, const char *title, const char *detail)
{
	if (!claim(req, "http_res_problem"))
		return;
	http_res_problem_code(req, status, title, detail, NULL);
}

void http_res_err(struct http_req *req, const struct err *e)
{
	enum err_code code = e ? e->code : ERR_INTERNAL;
	int status = http_status_for_err(code);
	const char *detail = e ? e->msg : NULL;

	if (!claim(req, "http_res_err"))
		return;
	if (status >= 500) {
		/* The real message is for the log only: it may name hosts, files or queries. */
		log_kv(LOG_ERROR, req->id, "http: request failed",
		       LOG_FIELDS(LOG_STR("route", req->rt->label), LOG_STR("code", err_code_name(code)),
				  LOG_STR("error", e ? e->msg : "(no error given)")));
		detail = status == 501 ? "this operation is not supported"
			 : status == 503 ? "a service this request needs is unavailable; try again later"
			 : status == 504 ? "a service this request needs did not answer in time"
					 : "an internal error occurred";
	}
	http_res_problem_code(req, status, http_reason(status), detail, err_code_name(code));
}

void http_res_send(struct http_req *req, int status, const char *content_type, const void *body, size_t len)
{
	if (!claim(req, "http_res_send"))
		return;
	if (content_type)
		content_type = h2o_strdup(req->mem, content_type, SIZE_MAX).base;
	record(req, status, content_type, body, len, true);
}

static void free_owned(void *p)
{
	free(*(char **)p);
}

void http_res_send_owned(struct http_req *req, int status, const char *content_type, char *body, size_t len)
{
	char **hold;

	if (!claim(req, "http_res_send_owned")) {
		free(body);
		return;
	}
	/* Freed with the request's memory, after the loop has sent it. */
	hold = h2o_mem_alloc_shared(req->mem, sizeof(*hold), free_owned);
	*hold = body;
	if (content_type)
		content_type = h2o_strdup(req->mem, content_type, SIZE_MAX).base;
	record(req, status, content_type, body, len, false);
}

void http_res_json(struct http_req *req, int status, json_t *body)
{
	size_t n;
	char *p;

	if (!claim(req, "http_res_json")) {
		json_decref(body);
		return;
	}
	n = body ? json_dumpb(body, NULL, 0, JSON_COMPACT) : 0;
	if (n == 0) {
		json_decref(body);
		log_kv(LOG_ERROR, req->id, "http: JSON body could not be serialized",
		       LOG_FIELDS(LOG_STR("route", req->rt->label)));
		http_res_problem_code(req, 500, http_reason(500), "an internal error occurred", NULL);
		return;
	}
	p = h2o_mem_alloc_pool(req->mem, n);
	n = json_dumpb(body, p, n, JSON_COMPACT);
	json_decref(body);
	record(req, status, "application/json", p, n, false);
}

void http_commit(struct http_req *r)
{
	h2o_req_t *req = r->req;
	bool nobody = r->status < 200 || r->status == 204 || r->status == 304;

	if (r->committed)
		return;
	r->committed = true;
	req->res.status = r->status;
	req->res.reason = http_reason(r->status);
	h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, NULL, r->id,
			      strlen(r->id));
	for (struct http_hdr *h = r->hdrs; h; h = h->next)
		h2o_add_header_by_str(&req->pool, &req->res.headers, h->name.base, h->name.len, 1, NULL,
				      h->value.base, h->value.len);
	if (r->ctype && !nobody)
		h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, r->ctype, strlen(r->ctype));
	if (r->body_kind == HTTP_BODY_ENTITY || r->body_kind == HTTP_BODY_STREAM) {
		http_body_commit(r);
		return;
	}
	if (!nobody)
		req->res.content_length = r->bytes.len; /* before start_response: h2o decides chunking there */
	h2o_start_response(req, &r->gen);
	/* h2o 2.2 does not drop bodies of HEAD responses itself. */
	if (nobody || r->method == HTTP_HEAD || r->bytes.len == 0)
		h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
	else
		h2o_send(req, &r->bytes, 1, H2O_SEND_STATE_FINAL);
}
