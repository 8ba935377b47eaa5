/* server.c — listeners, event loops, h2o configuration, stop and drain.
 *
 * One event loop per thread, each with its own SO_REUSEPORT listening socket on the same
 * address, so the kernel spreads connections over the loops with no shared accept lock.
 * All sockets are bound in http_server_new() so that a busy port or a bad address fails
 * there; with port 0 the first socket picks the port and the others reuse it.
 *
 * HTTP/2 without TLS: h2o 2.2 takes both the h2c upgrade (Upgrade: h2c) and prior knowledge
 * (a connection that starts with "PRI * HTTP/2.0"). With tls_cert/tls_key the listener speaks
 * HTTPS only (http/tls.c) and h2 is negotiated by ALPN.
 *
 * Against slow clients: http1.req_timeout (request_timeout_ms) bounds the time from the
 * first byte of a request head to the end of its body, so a client trickling a header byte a
 * second is cut off; http2.idle_timeout bounds an HTTP/2 connection with no stream active.
 * max_conns_per_ip caps the sockets one address may hold open (counted at accept).
 *
 * What h2o answers by itself, before any of our code runs (measured with h2o 2.2.5):
 *   - a malformed request line or header block, a NUL in the request line, more than 100
 *     header lines or a request head over ~400 KB (H2O_MAX_REQLEN): h2o writes a fixed
 *     "400 Bad Request" (text/plain, "Bad Request", Connection: close) straight to the socket.
 *     No request object exists, so there is no hook to make it problem+json.
 *   - HTTP/1 Content-Length over max_body, or a chunked body growing past it: 413; a broken
 *     chunked encoding or an unknown Transfer-Encoding: 400; an Expect other than
 *     100-continue: 417. These go through h2o's request path, so the filter below rewrites
 *     them into application/problem+json with an X-Request-Id.
 *   - HTTP/2 request body over max_body: h2o resets the stream (RST_STREAM REFUSED_STREAM);
 *     there is no HTTP status at all (curl reports "REFUSED_STREAM").
 *   - Request headers over HTTP_HEADER_LINE_MAX (one) or HTTP_HEADERS_MAX (all) are ours:
 *     431 problem+json (dispatch.c).
 */
#include "http/internal.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/id.h"
#include "base/log.h"

#define HTTP1_REQ_TIMEOUT_MS 10000  /* to receive a request head and body */
#define HTTP2_IDLE_TIMEOUT_MS 30000 /* an HTTP/2 connection with nothing going on */
#define DEFAULT_MAX_BODY (16u << 20)
#define DEFAULT_MAX_JSON (1u << 20)
#define DEFAULT_SHUTDOWN_MS 10000
#define POOL_QUEUE_PER_THREAD 256

/* A connection we accepted, tracked so that stop can close the idle ones. */
struct http_conn {
	h2o_linklist_t link;
	struct http_loop *lp;
	h2o_socket_t *sock;
	uint64_t addr[2]; /* counted in srv->connlimit when that is set */
};

static void on_sock_close(void *data)
{
	struct http_conn *c = data;

	h2o_linklist_unlink(&c->link);
	c->lp->nconns--;
	if (c->lp->srv->connlimit)
		http_connlimit_release(c->lp->srv->connlimit, c->addr);
	free(c);
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
	struct http_loop *lp = listener->data;

	if (err)
		return;
	/* Take a few per wake-up: fair to the other loops, cheap under a burst. */
	for (int i = 0; i < 16 && !lp->stopping; i++) {
		h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
		struct http_conn *c;

		if (!sock)
			break;
		/* Zeroed: h2o_linklist_insert asserts the node is not linked yet. */
		c = calloc(1, sizeof(*c));
		if (!c) {
			h2o_socket_close(sock);
			continue;
		}
		c->lp = lp;
		c->sock = sock;
		if (lp->srv->connlimit) {
			struct sockaddr_storage ss;
			socklen_t sl = h2o_socket_getpeername(sock, (struct sockaddr *)&ss);

			/* Over the limit: closed before a byte is read (the client sees a reset or EOF;
			 * answering 503 would cost the very work the limit is there to refuse). */
			if (!sl || !http_connlimit_acquire(lp->srv->connlimit, (struct sockaddr *)&ss, sl, c->addr)) {
				free(c);
				h2o_socket_close(sock);
				continue;
			}
		}
		h2o_linklist_insert(&lp->conns, &c->link);
		lp->nconns++;
		sock->on_close.cb = on_sock_close;
		sock->on_close.data = c;
		h2o_accept(&lp->accept, sock);
	}
}

static void on_wake(h2o_socket_t *sock, const char *err)
{
	(void)err;
	/* h2o already read the eventfd's counter into the input buffer; the loop checks the
	 * stop flag as soon as this returns. */
	h2o_buffer_consume(&sock->input, sock->input->size);
}

/* Close connections: all of them, or only HTTP/1 ones between requests. shutdown(2) rather
 * than close(2): h2o sees end-of-file on its next read and tears the connection down itself,
 * so none of its state is freed behind its back. */
static int idle_http1(h2o_req_t *req, void *arg)
{
	(void)arg;
	if (req->version == 0) { /* waiting for the next request on a keep-alive connection */
		h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);

		if (sock)
			shutdown(h2o_socket_get_fd(sock), SHUT_RDWR);
	}
	return 0;
}

static void close_conns(struct http_loop *lp, bool all)
{
	if (!all) {
		if (lp->ctx.globalconf->http1.callbacks.foreach_request)
			lp->ctx.globalconf->http1.callbacks.foreach_request(&lp->ctx, idle_http1, NULL);
		return;
	}
	for (h2o_linklist_t *n = lp->conns.next; n != &lp->conns; n = n->next) {
		struct http_conn *c = H2O_STRUCT_FROM_MEMBER(struct http_conn, link, n);

		shutdown(h2o_socket_get_fd(c->sock), SHUT_RDWR);
	}
}

/* Stop accepting, let in-flight requests finish (until the deadline), then close whatever
 * is left and wait for pool jobs that still hold requests of this loop. */
static void loop_drain(struct http_loop *lp)
{
	struct http_server *srv = lp->srv;
	int64_t deadline = http_mono_ns() + (int64_t)srv->opt.shutdown_timeout_ms * 1000000;
	int64_t next_warn;

	lp->stopping = true;
	if (lp->listener) {
		h2o_socket_read_stop(lp->listener);
		h2o_socket_close(lp->listener);
		lp->listener = NULL;
		lp->listen_fd = -1;
	}
	/* HTTP/2: GOAWAY; HTTP/1: every further response says Connection: close. */
	h2o_context_request_shutdown(&lp->ctx);
	while ((lp->requests || lp->jobs) && http_mono_ns() < deadline) {
		close_conns(lp, false);
		h2o_evloop_run(lp->ctx.loop, 10);
	}
	if (lp->requests || lp->jobs)
		log_kv(LOG_WARN, NULL, "http: shutdown timeout, closing connections",
		       LOG_FIELDS(LOG_INT("loop", lp->index), LOG_INT("requests", (long long)lp->requests)));
	/* No request is in flight any more (or we gave up waiting): what is left is idle. */
	deadline = http_mono_ns() + 2000000000LL;
	while (lp->nconns && http_mono_ns() < deadline) {
		close_conns(lp, true);
		h2o_evloop_run(lp->ctx.loop, 10);
	}
	/* A blocking handler cannot be interrupted: wait for it, its request is gone already. */
	next_warn = http_mono_ns() + 5000000000LL;
	while (lp->jobs) {
		h2o_evloop_run(lp->ctx.loop, 100);
		if (lp->jobs && http_mono_ns() > next_warn) {
			log_kv(LOG_WARN, NULL, "http: waiting for blocking handlers",
			       LOG_FIELDS(LOG_INT("loop", lp->index), LOG_INT("jobs", (long long)lp->jobs)));
			next_warn += 5000000000LL;
		}
	}
}

static void on_log_flush(h2o_timeout_entry_t *entry)
{
	(void)entry;
	log_thread_flush();
}

/* The loop's log buffer just received its first line: write it out within the interval. */
static void on_log_pending(void *arg)
{
	struct http_loop *lp = arg;

	if (!h2o_timeout_is_linked(&lp->log_flush_entry))
		h2o_timeout_link(lp->ctx.loop, &lp->log_flush, &lp->log_flush_entry);
}

static void *loop_main(void *arg)
{
	struct http_loop *lp = arg;
	struct http_server *srv = lp->srv;
	int wake;

	h2o_context_init(&lp->ctx, h2o_evloop_create(), &srv->conf);
	lp->accept.ctx = &lp->ctx;
	lp->accept.hosts = srv->conf.hosts;
	lp->accept.ssl_ctx = srv->ssl_ctx;
	h2o_multithread_register_receiver(lp->ctx.queue, &lp->done, http_on_jobs_done);
	h2o_timeout_init(lp->ctx.loop, &lp->log_flush, LOG_FLUSH_INTERVAL_MS);
	lp->log_flush_entry.cb = on_log_flush;
	/* Without a buffer (out of memory) lines are written one by one: slower, still whole. */
	if (log_thread_buffer_begin(LOG_BUFFER_DEFAULT, on_log_pending, lp) < 0)
		log_kv(LOG_WARN, NULL, "http: no log buffer for this loop; writing lines one by one",
		       LOG_FIELDS(LOG_INT("loop", lp->index)));

	lp->listener = h2o_evloop_socket_create(lp->ctx.loop, lp->listen_fd, H2O_SOCKET_FLAG_DONT_READ);
	lp->listener->data = lp;
	h2o_socket_read_start(lp->listener, on_accept);
	/* h2o closes the descriptor it is given; http_server_stop() keeps writing to ours. */
	wake = dup(lp->wake_fd);
	if (wake >= 0) {
		lp->wake = h2o_evloop_socket_create(lp->ctx.loop, wake, 0);
		lp->wake->data = lp;
		h2o_socket_read_start(lp->wake, on_wake);
	} else {
		log_kv(LOG_ERROR, NULL, "http: cannot watch the stop signal; polling it", NULL);
	}

	/* After each batch of events, give way to the other threads that are ready on this core
	 * before taking the next: a loop that always has work would otherwise hold the core for a
	 * whole scheduler slice (milliseconds) while the clients it just answered, our handler pool
	 * or job workers wait. When nothing else is ready, sched_yield returns at once. Measured on
	 * 2 shared cores (docs/BENCHMARKS.md, issue 2): p99 7.9 → 2.6–3.4 ms, and more req/s. */
	while (!atomic_load(&srv->stop)) {
		h2o_evloop_run(lp->ctx.loop, lp->wake ? INT32_MAX : 100);
		sched_yield();
	}

	loop_drain(lp);
	/* Every request of this loop has been logged: write what is buffered before the loop
	 * goes (a stop by SIGTERM loses no line). What h2o logs while disposing is unbuffered. */
	log_thread_buffer_end();
	if (h2o_timeout_is_linked(&lp->log_flush_entry))
		h2o_timeout_unlink(&lp->log_flush_entry);
	h2o_timeout_dispose(lp->ctx.loop, &lp->log_flush);

	if (lp->wake) {
		h2o_socket_read_stop(lp->wake);
		h2o_socket_close(lp->wake);
		lp->wake = NULL;
	}
	h2o_multithread_unregister_receiver(lp->ctx.queue, &lp->done);
	h2o_evloop_t *loop = lp->ctx.loop;
/* h2o's HTTP/2 shutdown arms a context-level timer (a second GOAWAY after 1 s) that nothing
	 * disarms; h2o_context_dispose() asserts that every timer is idle. */
	if (h2o_timeout_is_linked(&lp->ctx.http2._graceful_shutdown_timeout))
		h2o_timeout_unlink(&lp->ctx.http2._graceful_shutdown_timeout);
	h2o_context_dispose(&lp->ctx);
	/* Let the closes above run their deferred callbacks before the loop goes. */
	h2o_evloop_run(loop, 0);
	/* h2o 2.2 keeps a per-thread cache of socket buffers: release it with the thread. (Its
	 * pool-chunk cache is private to h2o, and h2o_context_dispose() closes the queue's socket
	 * but never frees the queue itself: both stay, bounded, once per loop thread.) */
	h2o_evloop_destroy(loop);
	while (h2o_socket_buffer_prototype.allocator.cnt)
		free(h2o_mem_alloc_recycle(&h2o_socket_buffer_prototype.allocator,
					   h2o_socket_buffer_prototype._initial_buf.capacity));
	return NULL;
}

/* ---- listening sockets ---- */

/* Split "host:port" or "[v6]:port" into its parts (copied into `host`). */
static int split_listen(const char *s, char *host, size_t hcap, const char **port, struct err *e)
{
	const char *colon;
	size_t hl;

	if (!s || !*s)
		return err_set(e, ERR_INVALID, "listen address is empty");
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return err_set(e, ERR_INVALID, "listen address %s: expected [v6]:port", s);
		hl = (size_t)(close - s - 1);
		colon = close + 1;
		s++;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return err_set(e, ERR_INVALID, "listen address %s: expected host:port", s);
		hl = (size_t)(colon - s);
	}
	if (hl >= hcap)
		return err_set(e, ERR_INVALID, "listen address: host too long");
	memcpy(host, s, hl);
	host[hl] = '\0';
	*port = colon + 1;
	if (!**port)
		return err_set(e, ERR_INVALID, "listen address: no port");
	return 0;
}

static int open_listener(const struct sockaddr *sa, socklen_t salen, struct err *e)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return err_errno(e, ERR_IO, errno, "socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
		err_errno(e, ERR_IO, errno, "setsockopt");
		close(fd);
		return -1;
	}
	if (bind(fd, sa, salen) < 0 || listen(fd, H2O_SOMAXCONN) < 0) {
		err_errno(e, ERR_UNAVAILABLE, errno, "bind");
		close(fd);
		return -1;
	}
	return fd;
}

static int bind_all(struct http_server *srv, struct err *e)
{
	char host[256];
	const char *port = NULL;
	struct addrinfo hints = { .ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl;
	int rc, ret = -1;

	if (split_listen(srv->opt.listen, host, sizeof(host), &port, e) < 0)
		return -1;
	rc = getaddrinfo(host[0] && strcmp(host, "*") ? host : NULL, port, &hints, &ai);
	if (rc != 0) {
		err_set(e, ERR_INVALID, "listen address %s: %s", srv->opt.listen, gai_strerror(rc));
		return -1;
	}
	memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
	sl = ai->ai_addrlen;
	/* SO_REUSEPORT would let us share a port another server holds the same way (traffic
	 * silently split between two processes): first make sure nobody listens there. */
	if (strcmp(port, "0") != 0) {
		int probe = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

		if (probe < 0 || setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(probe, (struct sockaddr *)&ss, sl) < 0) {
			err_errno(e, ERR_UNAVAILABLE, errno, "listen %s", srv->opt.listen);
			if (probe >= 0)
				close(probe);
			goto out;
		}
		close(probe);
	}
	for (int i = 0; i < srv->nloops; i++) {
		int fd = open_listener((struct sockaddr *)&ss, sl, e);

		if (fd < 0) {
			err_wrap(e, "listen %s", srv->opt.listen);
			goto out;
		}
		srv->loops[i].listen_fd = fd;
		if (i == 0) {
			/* Port 0: the kernel chose one; the other loops must share it. */
			socklen_t l = sizeof(ss);

			if (getsockname(fd, (struct sockaddr *)&ss, &l) < 0) {
				err_errno(e, ERR_IO, errno, "getsockname");
				goto out;
			}
			sl = l;
			srv->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
							       : ntohs(((struct sockaddr_in *)&ss)->sin_port);
		}
	}
	ret = 0;
out:
	freeaddrinfo(ai);
	return ret;
}

/* ---- h2o's own error responses as problem+json ---- */

struct problem_ostream {
	h2o_ostream_t super;
	h2o_iovec_t body;
};

static void problem_do_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t n,
			    h2o_send_state_t state)
{
	struct problem_ostream *p = (struct problem_ostream *)self;

	(void)bufs;
	(void)n;
	/* h2o's error body is replaced: nothing until its last piece, then ours. */
	if (h2o_send_state_is_in_progress(state))
		h2o_ostream_send_next(self, req, NULL, 0, state);
	else
		h2o_ostream_send_next(self, req, &p->body, 1, state);
}

static void problem_setup(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
	(void)self;
	if (req->res.status >= 400 && !http_req_of(req)) {
		struct problem_ostream *p;
		char id[ID_LEN + 1];
		const char *detail = req->res.status == 413 ? "the request body is larger than this server accepts"
				     : req->res.status == 417 ? "only 100-continue is supported"
							      : "the request is malformed";
		ssize_t i;

		id_new(id);
		while ((i = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1)) != -1)
			h2o_delete_header(&req->res.headers, i);
		h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
			       H2O_STRLIT("application/problem+json"));
		h2o_iovec_t idv = h2o_strdup(&req->pool, id, SIZE_MAX);
		h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, NULL, idv.base,
				      idv.len);
		p = (struct problem_ostream *)h2o_add_ostream(req, sizeof(*p), slot);
		p->super.do_send = problem_do_send;
		p->body = http_problem_body(&req->pool, req->res.status, http_reason(req->res.status), detail, idv.base,
					    NULL);
		req->res.content_length = p->body.len;
		slot = &p->super.next;
	}
	h2o_setup_next_ostream(req, slot);
}

/* ---- lifecycle ---- */

static int ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 && n < 1024 ? (int)n : 1;
}

static void attach(h2o_pathconf_t *pc)
{
	h2o_handler_t *h = h2o_create_handler(pc, sizeof(*h));
	h2o_filter_t *f = h2o_create_filter(pc, sizeof(*f));
	h2o_logger_t *l = h2o_create_logger(pc, sizeof(*l));
	h2o_filter_t *hf = h2o_create_filter(pc, sizeof(*hf));

	h->on_req = http_on_req;
	f->on_setup_ostream = problem_setup;
	hf->on_setup_ostream = http_headers_setup;
	l->log_access = http_mw_log;
}

struct http_server *http_server_new(const struct http_server_options *opt, struct err *e)
{
	struct http_server *srv = calloc(1, sizeof(*srv));
	h2o_hostconf_t *host;

	if (!srv) {
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	srv->opt = *opt;
	if (srv->opt.threads <= 0)
		srv->opt.threads = ncpu();
	if (srv->opt.handler_threads <= 0)
		srv->opt.handler_threads = 2 * ncpu();
	if (srv->opt.max_body == 0)
		srv->opt.max_body = DEFAULT_MAX_BODY;
	if (srv->opt.max_json == 0)
		srv->opt.max_json = DEFAULT_MAX_JSON;
	if (srv->opt.shutdown_timeout_ms <= 0)
		srv->opt.shutdown_timeout_ms = DEFAULT_SHUTDOWN_MS;
	srv->nloops = srv->opt.threads;
	srv->loops = calloc((size_t)srv->nloops, sizeof(*srv->loops));
	if (!srv->loops) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto fail;
	}
	for (int i = 0; i < srv->nloops; i++) {
		srv->loops[i].srv = srv;
		srv->loops[i].index = i;
		srv->loops[i].listen_fd = -1;
		srv->loops[i].wake_fd = -1;
		h2o_linklist_init_anchor(&srv->loops[i].conns);
	}
	srv->router = http_router_new(opt->routes, opt->nroutes, e);
	if (!srv->router)
		goto fail;
	if (http_mw_init(srv, e) < 0 || http_cors_init(srv, e) < 0)
		goto fail;
	if (srv->opt.max_conns_per_ip > 0 && !(srv->connlimit = http_connlimit_new((unsigned)srv->opt.max_conns_per_ip))) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto fail;
	}
	if ((srv->opt.tls_cert && *srv->opt.tls_cert) != (srv->opt.tls_key && *srv->opt.tls_key)) {
		err_set(e, ERR_INVALID, "tls: give both tls_cert and tls_key, or neither");
		goto fail;
	}
	if (srv->opt.tls_cert && *srv->opt.tls_cert &&
	    !(srv->ssl_ctx = http_tls_ctx_new(srv->opt.tls_cert, srv->opt.tls_key, e)))
		goto fail;

	h2o_config_init(&srv->conf);
	srv->conf_inited = true;
	srv->conf.server_name = h2o_iovec_init(H2O_STRLIT("tonearm"));
	srv->conf.max_request_entity_size = srv->opt.max_body;
	srv->conf.http1.req_timeout = srv->opt.request_timeout_ms > 0 ? (uint64_t)srv->opt.request_timeout_ms
								      : HTTP1_REQ_TIMEOUT_MS;
	srv->conf.http1.upgrade_to_http2 = 1;
	srv->conf.http2.idle_timeout = srv->opt.idle_timeout_ms > 0 ? (uint64_t)srv->opt.idle_timeout_ms
								    : HTTP2_IDLE_TIMEOUT_MS;
	/* No h2o deadline for HTTP/2 drains: loop_drain() applies shutdown_timeout_ms to both
	 * protocols (and h2o would leave its timer linked past the context's disposal). */
	srv->conf.http2.graceful_shutdown_timeout = 0;
	host = h2o_config_register_host(&srv->conf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
	attach(h2o_config_register_path(host, "/", 0));
	attach(&host->fallback_path); /* "*", absolute-form and other odd targets */

	for (int i = 0; i < srv->nloops; i++) {
		srv->loops[i].wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (srv->loops[i].wake_fd < 0) {
			err_errno(e, ERR_IO, errno, "eventfd");
			goto fail;
		}
	}
	if (bind_all(srv, e) < 0)
		goto fail;
	return srv;
fail:
	http_server_free(srv);
	return NULL;
}

unsigned http_server_port(const struct http_server *srv)
{
	return srv->port;
}

int http_server_run(struct http_server *srv, struct err *e)
{
	int ret = -1, started = 0;

	/* A peer that closed its end makes write(2) raise SIGPIPE, which would kill the process;
	 * h2o handles EPIPE itself. Process-wide, as in every server. */
	signal(SIGPIPE, SIG_IGN);
	srv->pool = http_pool_new(srv->opt.handler_threads,
				  (size_t)srv->opt.handler_threads * POOL_QUEUE_PER_THREAD, e);
	if (!srv->pool)
		return -1;
	for (; started < srv->nloops; started++) {
		int rc = pthread_create(&srv->loops[started].tid, NULL, loop_main, &srv->loops[started]);

		if (rc != 0) {
			err_errno(e, ERR_INTERNAL, rc, "starting event loop %d", started);
			http_server_stop(srv);
			goto out;
		}
		srv->loops[started].started = true;
	}
	log_kv(LOG_INFO, NULL, "http: listening",
	       LOG_FIELDS(LOG_STR("listen", srv->opt.listen), LOG_INT("port", srv->port),
			  LOG_INT("loops", srv->nloops), LOG_INT("handler_threads", srv->opt.handler_threads)));
	ret = 0;
out:
	for (int i = 0; i < started; i++) {
		pthread_join(srv->loops[i].tid, NULL);
		srv->loops[i].started = false;
	}
	/* Every loop waited for its own jobs, so the queue is empty: this only joins. */
	http_pool_free(srv->pool);
	srv->pool = NULL;
	return ret;
}

void http_server_stop(struct http_server *srv)
{
	uint64_t one = 1;

	/* Only an atomic store and write(2): safe in a signal handler. */
	atomic_store(&srv->stop, 1);
	for (int i = 0; i < srv->nloops; i++) {
		if (srv->loops[i].wake_fd >= 0) {
			ssize_t w = write(srv->loops[i].wake_fd, &one, sizeof(one));

			(void)w; /* a full counter (EAGAIN) wakes the loop just the same */
		}
	}
}

void http_server_free(struct http_server *srv)
{
	if (!srv)
		return;
	for (int i = 0; srv->loops && i < srv->nloops; i++) {
		if (srv->loops[i].listen_fd >= 0)
			close(srv->loops[i].listen_fd);
		if (srv->loops[i].wake_fd >= 0)
			close(srv->loops[i].wake_fd);
	}
	free(srv->loops);
	if (srv->conf_inited)
		h2o_config_dispose(&srv->conf);
	http_mw_release(srv);
	http_cors_release(srv);
	http_connlimit_free(srv->connlimit);
	if (srv->ssl_ctx)
		SSL_CTX_free(srv->ssl_ctx);
	http_router_free(srv->router);
	free(srv);
}
