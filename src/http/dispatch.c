/* dispatch.c — from an h2o request to a handler: checks, routing, and the trip of a blocking
 * route through the handler pool and back to its loop. See internal.h for the threading and
 * lifetime rules this file implements.
 */
#include "http/internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"

#define ENV_KEY "tonearm.req"

struct http_req *http_req_of(h2o_req_t *req)
{
	h2o_iovec_t *slot = h2o_req_getenv(req, H2O_STRLIT(ENV_KEY), 0);

	return slot ? (struct http_req *)(void *)slot->base : NULL;
}

void http_req_attach(struct http_req *r, h2o_req_t *req)
{
	h2o_iovec_t *slot = h2o_req_getenv(req, H2O_STRLIT(ENV_KEY), 1);

	slot->base = (char *)r;
	slot->len = 0;
}

/* Answer on the loop, before any handler: a problem document. */
static void reject(struct http_req *r, int status, const char *detail)
{
	http_res_problem(r, status, http_reason(status), detail);
	http_commit(r);
}

/* Hooks, handler, and the 500 for a handler that forgot to answer. On the handler's thread. */
static void run_handler(struct http_req *r)
{
	if (http_mw_hooks(r) == 0)
		r->route->handler(r, r->srv->opt.app);
	if (!r->answered) {
		log_kv(LOG_ERROR, r->id, "http: handler returned without answering",
		       LOG_FIELDS(LOG_STR("route", r->rt->label)));
		http_res_problem(r, 500, http_reason(500), "the server could not answer this request");
	}
	http_body_after_handler(r);
}

static void job_run(struct http_job *job)
{
	struct http_req *r = H2O_STRUCT_FROM_MEMBER(struct http_req, job, job);

	switch (r->job_kind) {
	case HTTP_JOB_HANDLER:
		run_handler(r);
		break;
	case HTTP_JOB_READ:
		http_body_read(r);
		break;
	case HTTP_JOB_CLOSE:
		http_body_close(r);
		break;
	}
	/* From here on the wrapper is the loop's again: do not touch it. */
	h2o_multithread_send_message(&r->lp->done, &r->msg);
}

int http_job_submit(struct http_req *r, enum http_job_kind kind)
{
	r->job_kind = kind;
	r->job.run = job_run;
	h2o_mem_addref_shared(r);
	r->lp->jobs++;
	if (http_pool_submit(r->srv->pool, &r->job) < 0) {
		r->lp->jobs--;
		h2o_mem_release_shared(r); /* never the last reference: the caller holds one */
		return -1;
	}
	return 0;
}

void http_on_jobs_done(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
	(void)receiver;
	while (!h2o_linklist_is_empty(messages)) {
		h2o_multithread_message_t *msg = H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
		struct http_req *r = H2O_STRUCT_FROM_MEMBER(struct http_req, msg, msg);
		struct http_loop *lp = r->lp;

		h2o_linklist_unlink(&msg->link);
		switch (r->job_kind) {
		case HTTP_JOB_HANDLER:
			if (r->req)
				http_commit(r);
			else
				http_body_abandon(r); /* the client left while the handler ran */
			break;
		case HTTP_JOB_READ:
			http_body_read_done(r);
			break;
		case HTTP_JOB_CLOSE:
			break;
		}
		lp->jobs--;
		h2o_mem_release_shared(r);
	}
}

/* ---- blocking routes: a wrapper that outlives the h2o request ---- */

static void on_guard_dispose(void *p)
{
	struct http_req *b = *(struct http_req **)p;

	b->req = NULL; /* cancelled: h2o is done with the request */
	h2o_mem_release_shared(b);
}

static void on_wrapper_free(void *p)
{
	struct http_req *b = p;

	if (b->source_open) {
		/* Every path closes the source before this; a leak here would be a bug. */
		log_kv(LOG_ERROR, b->id, "http: response body source was still open", NULL);
		http_body_close(b);
	}
	h2o_mem_clear_pool(&b->own);
}

static const char *dup_str(h2o_mem_pool_t *pool, const char *s, size_t len)
{
	char *d = h2o_mem_alloc_pool(pool, len + 1);

	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

/* Copy what the handler may read into the wrapper's own pool: h2o's memory for the request
 * (headers, body, the socket buffer) goes away if the client disconnects mid-handler. */
static void copy_request(struct http_req *b, const struct http_req *r, h2o_req_t *req)
{
	h2o_mem_pool_t *m = &b->own;
	const h2o_headers_t *src = &req->headers;
	h2o_headers_t *hv = h2o_mem_alloc_pool(m, sizeof(*hv));

	b->raw_path = h2o_strdup(m, r->raw_path.base, r->raw_path.len);
	b->path = dup_str(m, r->path, r->path_len);
	if (r->query)
		b->query = dup_str(m, r->query, r->query_len);
	if (!r->method) /* a method name that is not a static string */
		b->method_name = dup_str(m, r->method_name, strlen(r->method_name));
	for (unsigned i = 0; i < r->nparams; i++)
		b->params[i] = dup_str(m, r->params[i], strlen(r->params[i]));
	hv->size = hv->capacity = src->size;
	hv->entries = h2o_mem_alloc_pool(m, (src->size ? src->size : 1) * sizeof(*hv->entries));
	for (size_t i = 0; i < src->size; i++) {
		const h2o_header_t *h = &src->entries[i];
		h2o_header_t *d = &hv->entries[i];

		if (h2o_iovec_is_token(h->name)) {
			d->name = h->name; /* tokens are static */
		} else {
			d->name = h2o_mem_alloc_pool(m, sizeof(*d->name));
			*d->name = h2o_strdup(m, h->name->base, h->name->len);
		}
		d->orig_name = NULL;
		d->value = h2o_strdup(m, h->value.base, h->value.len); /* NUL-terminated */
	}
	b->headers = hv;
	b->headers_copied = true;
	if (r->body) {
		char *body = h2o_mem_alloc_pool(m, r->body_len ? r->body_len : 1);

		memcpy(body, r->body, r->body_len);
		b->body = body;
	}
	/* The client address the limiter settled on (X-Forwarded-For from a trusted proxy). */
	b->peer = r->peer ? dup_str(m, r->peer, strlen(r->peer)) : http_peer_text(req, m);
}

static void dispatch_blocking(struct http_req *r)
{
	h2o_req_t *req = r->req;
	struct http_req *b = h2o_mem_alloc_shared(NULL, sizeof(*b), on_wrapper_free);
	struct http_req **guard;

	*b = *r;
	h2o_mem_init_pool(&b->own);
	b->mem = &b->own;
	b->blocking = true;
	b->hdrs = NULL;
	b->hdrs_tail = &b->hdrs;
	b->msg.link.next = b->msg.link.prev = NULL;
	copy_request(b, r, req);
	guard = h2o_mem_alloc_shared(&req->pool, sizeof(*guard), on_guard_dispose);
	*guard = b;
	http_req_attach(b, req);
	if (http_job_submit(b, HTTP_JOB_HANDLER) < 0) {
		http_res_header(b, "Retry-After", "1");
		reject(b, 503, "the server is busy; try again shortly");
	}
}

/* ---- intake ---- */

static bool headers_too_large(const h2o_headers_t *h)
{
	size_t total = 0;

	for (size_t i = 0; i < h->size; i++) {
		size_t one = h->entries[i].name->len + h->entries[i].value.len;

		if (one > HTTP_HEADER_LINE_MAX)
			return true;
		total += one;
	}
	return total > HTTP_HEADERS_MAX;
}

static void answer_unrouted(struct http_req *r, const struct http_match *m)
{
	char allow[64];

	if (m->kind == HTTP_MATCH_NOT_FOUND) {
		reject(r, 404, "no such resource");
		return;
	}
	if (http_allow_format(m->allow, allow, sizeof(allow)) >= 0)
		http_res_header(r, "Allow", allow);
	if (m->kind == HTTP_MATCH_OPTIONS) {
		http_res_send(r, 204, NULL, NULL, 0);
		http_commit(r);
		return;
	}
	reject(r, 405, "this resource does not take that method");
}

int http_on_req(h2o_handler_t *self, h2o_req_t *req)
{
	struct http_loop *lp = H2O_STRUCT_FROM_MEMBER(struct http_loop, ctx, req->conn->ctx);
	struct http_server *srv = lp->srv;
	struct http_req *r = h2o_mem_alloc_pool(&req->pool, sizeof(*r));
	struct http_match m;
	const char *why = NULL;
	size_t plen;
	ssize_t n;
	char *path;

	(void)self;
	memset(r, 0, sizeof(*r));
	r->req = req;
	r->lp = lp;
	r->srv = srv;
	r->mem = &req->pool;
	r->t0_ns = http_mono_ns();
	r->hdrs_tail = &r->hdrs;
	r->stream_len = -1;
	r->ent.fd = -1;
	r->headers = &req->headers;
	r->rt = &srv->rt[srv->opt.nroutes];
	r->body = req->entity.base;
	r->body_len = req->entity.base ? req->entity.len : 0;
	http_req_attach(r, req);
	lp->requests++;
	http_mw_begin(r);

	r->method = http_method_parse(req->method.base, req->method.len);
	r->method_name = r->method ? http_method_name(r->method)
				   : h2o_strdup(&req->pool, req->method.base, req->method.len).base;
	plen = req->query_at == SIZE_MAX ? req->path.len : req->query_at;
	r->raw_path = h2o_iovec_init(req->path.base, plen);
	if (req->query_at != SIZE_MAX) {
		r->query = req->path.base + req->query_at + 1;
		r->query_len = req->path.len - req->query_at - 1;
	}
	if (!r->method) {
		reject(r, 501, "this server does not implement that method");
		return 0;
	}
	if (headers_too_large(&req->headers)) {
		reject(r, 431, "the request headers are too large");
		return 0;
	}
	if (plen > HTTP_PATH_MAX) {
		reject(r, 414, "the path is too long");
		return 0;
	}
	path = h2o_mem_alloc_pool(&req->pool, plen + 1);
	n = http_path_decode(req->path.base, plen, path, &why);
	if (n < 0) {
		reject(r, 400, why);
		return 0;
	}
	r->path = path;
	r->path_len = (size_t)n;
	if (r->query && http_query_check(r->query, r->query_len, HTTP_MAX_QUERY_PARAMS, &r->nquery, &why) < 0) {
		reject(r, 400, why);
		return 0;
	}

	if (http_cors_preflight(r))
		return 0;
	http_router_match(srv->router, r->method, path, (size_t)n, &m);
	if (m.kind != HTTP_MATCH_FOUND) {
		answer_unrouted(r, &m);
		return 0;
	}
	r->route = &srv->opt.routes[m.route];
	r->rt = &srv->rt[m.route];
	r->nparams = m.nparams;
	r->param_names = m.names;
	for (unsigned i = 0; i < m.nparams; i++)
		r->params[i] = h2o_strdup(&req->pool, path + m.params[i].off, m.params[i].len).base;
	/* On the loop, before a blocking route is queued: a flood never reaches the pool. */
	if (http_limits_check(r) < 0) {
		http_commit(r);
		return 0;
	}

	if (r->route->flags & HTTP_BLOCKING) {
		dispatch_blocking(r);
		return 0;
	}
	run_handler(r);
	http_commit(r);
	return 0;
}
