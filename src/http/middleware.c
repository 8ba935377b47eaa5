/* middleware.c — request ids, W3C trace context, hooks, the access log and HTTP metrics.
 *
 * Cheap by design: the access log line and the metric updates happen once per request in an
 * h2o logger callback (when h2o disposes the request, so bytes and duration are final), metric
 * children are resolved once per route and status and then updated lock-free, and no label
 * comes from the request itself except the status: the route label is the route's name (or
 * "unmatched"), so a scanner cannot blow up the number of series.
 */
#include "http/internal.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "base/clock.h"
#include "base/id.h"
#include "base/log.h"
#include "base/metrics.h"

#define STATUS_SLOTS 500 /* 100–599 */

static const char *const method_labels[HTTP_NMETHOD_LABELS] = { "GET",	  "HEAD",    "POST",  "PUT",
								 "PATCH", "DELETE", "OPTIONS", "OTHER" };

int64_t http_mono_ns(void)
{
	return clock_mono_ns();
}

static unsigned method_index(unsigned method)
{
	for (unsigned i = 0; i < 7; i++)
		if (method == 1u << i)
			return i;
	return 7;
}

int http_mw_init(struct http_server *srv, struct err *e)
{
	static const char *const l_req[] = { "route", "method", "status", NULL };
	static const char *const l_route[] = { "route", NULL };
	size_t n = srv->opt.nroutes;

	srv->rt = calloc(n + 1, sizeof(*srv->rt));
	if (!srv->rt)
		return err_set(e, ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		srv->rt[i].label = srv->opt.routes[i].name ? srv->opt.routes[i].name : srv->opt.routes[i].pattern;
	srv->rt[n].label = "unmatched";
	if (!srv->opt.metrics)
		return 0;
	srv->m_requests = metrics_family(srv->opt.metrics, METRIC_COUNTER, "tonearm_http_requests_total",
					 "HTTP requests answered, by route, method and status.", l_req, NULL, 0);
	srv->m_duration = metrics_family(srv->opt.metrics, METRIC_HISTOGRAM, "tonearm_http_request_duration_seconds",
					 "Time from the request reaching a handler to the response being sent.",
					 l_route, NULL, 0);
	struct metric_family *inflight = metrics_family(srv->opt.metrics, METRIC_GAUGE,
							"tonearm_http_requests_in_flight",
							"HTTP requests being handled now.", NULL, NULL, 0);
	if (!srv->m_requests || !srv->m_duration || !inflight || !(srv->m_in_flight = metric_child(inflight, NULL)))
		return err_set(e, ERR_NOMEM, "http metrics: cannot register");
	for (size_t i = 0; i <= n; i++) {
		const char *lv[] = { srv->rt[i].label, NULL };

		srv->rt[i].duration = metric_child(srv->m_duration, lv);
		if (!srv->rt[i].duration)
			return err_set(e, ERR_NOMEM, "http metrics: cannot register");
	}
	return 0;
}

void http_mw_release(struct http_server *srv)
{
	if (!srv->rt)
		return;
	for (size_t i = 0; i <= srv->opt.nroutes; i++)
		for (unsigned m = 0; m < HTTP_NMETHOD_LABELS; m++)
			free((void *)srv->rt[i].by_status[m]);
	free(srv->rt);
	srv->rt = NULL;
}

/* The requests_total child for (route, method, status): looked up in the registry the first
 * time only; afterwards an atomic load. Two threads racing on a first use both ask the
 * registry, which hands both the same child. */
static struct metric *status_child(struct http_server *srv, struct http_route_rt *rt, unsigned mi, int status)
{
	_Atomic(struct metric *) *arr = atomic_load_explicit(&rt->by_status[mi], memory_order_acquire);
	struct metric *m;
	char st[8];

	if (status < 100 || status > 599)
		return NULL;
	if (!arr) {
		_Atomic(struct metric *) *fresh = calloc(STATUS_SLOTS, sizeof(*fresh)), *expected = NULL;

		if (!fresh)
			return NULL;
		if (atomic_compare_exchange_strong_explicit(&rt->by_status[mi], &expected, fresh, memory_order_acq_rel,
							    memory_order_acquire)) {
			arr = fresh;
		} else {
			free((void *)fresh);
			arr = expected;
		}
	}
	m = atomic_load_explicit(&arr[status - 100], memory_order_acquire);
	if (m)
		return m;
	snprintf(st, sizeof(st), "%d", status);
	const char *lv[] = { rt->label, method_labels[mi], st, NULL };
	m = metric_child(srv->m_requests, lv);
	if (m)
		atomic_store_explicit(&arr[status - 100], m, memory_order_release);
	return m;
}

/* ---- request id and trace context ---- */

static bool id_sane(const char *s, size_t len)
{
	if (len == 0 || len > HTTP_REQ_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

static bool lower_hex(const char *s, size_t n, bool *all_zero)
{
	*all_zero = true;
	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
		if (s[i] != '0')
			*all_zero = false;
	}
	return true;
}

/* W3C traceparent: "00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>", lower case; a
 * later version may append "-…". All-zero ids and version ff are invalid. */
static bool parse_traceparent(const char *s, size_t len, char trace[33])
{
	bool zero, zero_trace;

	if (len < 55 || !lower_hex(s, 2, &zero) || (s[0] == 'f' && s[1] == 'f'))
		return false;
	if ((s[0] == '0' && s[1] == '0') ? len != 55 : (len > 55 && s[55] != '-'))
		return false;
	if (s[2] != '-' || s[35] != '-' || s[52] != '-')
		return false;
	if (!lower_hex(s + 3, 32, &zero_trace) || zero_trace)
		return false;
	if (!lower_hex(s + 36, 16, &zero) || zero)
		return false;
	if (!lower_hex(s + 53, 2, &zero))
		return false;
	memcpy(trace, s + 3, 32);
	trace[32] = '\0';
	return true;
}

void http_mw_begin(struct http_req *r)
{
	h2o_req_t *req = r->req;
	ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-request-id"), -1);

	if (i >= 0 && id_sane(req->headers.entries[i].value.base, req->headers.entries[i].value.len)) {
		memcpy(r->id, req->headers.entries[i].value.base, req->headers.entries[i].value.len);
		r->id[req->headers.entries[i].value.len] = '\0';
	} else {
		id_new(r->id);
	}
	i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("traceparent"), -1);
	if (i >= 0)
		r->has_trace = parse_traceparent(req->headers.entries[i].value.base, req->headers.entries[i].value.len,
						 r->trace_id);
	if (r->srv->m_in_flight)
		metric_inc(r->srv->m_in_flight, 1);
}

int http_mw_hooks(struct http_req *r)
{
	for (size_t i = 0; i < r->srv->opt.nhooks; i++) {
		const struct http_hook *h = &r->srv->opt.hooks[i];

		if (h->fn(r, r->route, r->srv->opt.app) != 0) {
			if (!r->answered) {
				log_kv(LOG_ERROR, r->id, "http: hook stopped the request without answering",
				       LOG_FIELDS(LOG_STR("hook", h->name)));
				http_res_problem(r, 500, http_reason(500), "an internal error occurred");
			}
			return -1;
		}
	}
	return 0;
}

/* ---- access log and metrics ---- */

/* An IPv4 address as dotted decimal, without the printf h2o_socket_getnumerichost uses: every
 * request asks for its peer (rate limits, logs). Returns the length written (at most 15). */
static size_t ipv4_text(const struct in_addr *a, char out[INET_ADDRSTRLEN])
{
	const unsigned char *b = (const unsigned char *)&a->s_addr;
	size_t n = 0;

	for (int i = 0; i < 4; i++) {
		unsigned v = b[i];

		if (i)
			out[n++] = '.';
		if (v >= 100)
			out[n++] = (char)('0' + v / 100);
		if (v >= 10)
			out[n++] = (char)('0' + v / 10 % 10);
		out[n++] = (char)('0' + v % 10);
	}
	out[n] = '\0';
	return n;
}

const char *http_peer_text(h2o_req_t *req, h2o_mem_pool_t *pool)
{
	struct sockaddr_storage ss;
	socklen_t l = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
	char buf[NI_MAXHOST];
	size_t n;

	if (l >= sizeof(struct sockaddr_in) && ss.ss_family == AF_INET)
		n = ipv4_text(&((const struct sockaddr_in *)&ss)->sin_addr, buf);
	else
		n = l ? h2o_socket_getnumerichost((struct sockaddr *)&ss, l, buf) : SIZE_MAX;
	if (n == SIZE_MAX)
		return "unknown";
	return h2o_strdup(pool, buf, n).base;
}

void http_mw_log(h2o_logger_t *self, h2o_req_t *req)
{
	struct http_loop *lp = H2O_STRUCT_FROM_MEMBER(struct http_loop, ctx, req->conn->ctx);
	struct http_server *srv = lp->srv;
	struct http_req *r = http_req_of(req);
	struct http_route_rt *rt = r ? r->rt : &srv->rt[srv->opt.nroutes];
	int status = req->res.status;
	double secs;

	(void)self;
	if (r) {
		lp->requests--;
		secs = (double)(http_mono_ns() - r->t0_ns) / 1e9;
		if (srv->m_in_flight)
			metric_inc(srv->m_in_flight, -1);
	} else {
		/* h2o answered by itself (e.g. 413): time it from the request's first byte. */
		struct timeval now;

		gettimeofday(&now, NULL);
		secs = h2o_timeval_is_null(&req->timestamps.request_begin_at)
			       ? 0
			       : (double)h2o_timeval_subtract(&req->timestamps.request_begin_at, &now) / 1e6;
	}
	if (srv->m_requests) {
		struct metric *m = status_child(srv, rt, r ? method_index(r->method) : 7, status);

		if (m)
			metric_inc(m, 1);
		metric_observe(rt->duration, secs);
	}
	if (srv->opt.access_log && log_enabled(LOG_INFO)) {
		size_t plen = r ? r->raw_path.len : req->path.len;
		const char *pbase = r ? r->raw_path.base : req->path.base;
		const char *q = pbase ? memchr(pbase, '?', plen) : NULL;
		h2o_iovec_t path = h2o_strdup(&req->pool, pbase ? pbase : "", q ? (size_t)(q - pbase) : plen);
		ssize_t ua = h2o_find_header(&req->headers, H2O_TOKEN_USER_AGENT, -1);
		const char *agent = ua >= 0 ? h2o_strdup(&req->pool, req->headers.entries[ua].value.base,
							    req->headers.entries[ua].value.len).base
					    : NULL;

		log_kv(LOG_INFO, r ? r->id : NULL, "http request",
		       LOG_FIELDS(LOG_STR("method", r ? r->method_name : h2o_strdup(&req->pool, req->method.base,
										    req->method.len).base),
				  LOG_STR("path", path.base), LOG_STR("route", rt->label), LOG_INT("status", status),
				  LOG_INT("bytes", (long long)req->bytes_sent), LOG_DBL("duration_ms", secs * 1000),
				  LOG_STR("peer", r && r->peer ? r->peer : http_peer_text(req, &req->pool)),
				  LOG_STR("trace_id", r && r->has_trace ? r->trace_id : NULL),
				  LOG_STR("user_agent", agent), LOG_STR("proto", req->version >= 0x200 ? "HTTP/2" : "HTTP/1.1")));
	}
}
