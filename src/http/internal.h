/* internal.h — what the http/ modules share: the request wrapper, the loops, the server.
 * Not for handlers (they see http.h only); h2o types stay inside http/.
 *
 * Threads. Each event loop (struct http_loop) owns its connections and the h2o requests on
 * them; only that loop's thread touches an h2o_req_t. A handler of a blocking route runs on a
 * pool thread and sees only the wrapper (struct http_req): everything it can read was copied
 * into the wrapper's own memory pool before the job was queued, and what it answers is only
 * recorded there; the loop commits it to h2o when the job comes back.
 *
 * Lifetime of a blocking request's wrapper. It is refcounted (h2o_mem_alloc_shared with no
 * pool). One reference belongs to a small guard linked to the h2o request's pool: when h2o
 * disposes the request (done, or the client went away), the guard's dispose callback clears
 * `req` (the cancelled mark) and drops that reference. Each job queued for the wrapper holds
 * another reference. h2o's refcount is not atomic, so every addref and release happens on the
 * owning loop: a worker never releases; it posts the wrapper back and the loop does.
 * A quick route's wrapper lives in the request pool and is only touched on the loop.
 */
#ifndef TONEARM_HTTP_INTERNAL_H
#define TONEARM_HTTP_INTERNAL_H

#include <h2o.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "http/http.h"
#include "http/limits.h"
#include "http/pool.h"
#include "http/ratelimit.h"
#include "http/router.h"
#include "http/uri.h"

struct metric;
struct metric_family;

#define HTTP_REQ_ID_MAX 128        /* longest incoming X-Request-Id we keep */
#define HTTP_CHUNK (64 * 1024)     /* bytes read per proceed for entities and streams */
#define HTTP_HEADER_LINE_MAX 16384 /* one request header (name + value) */
#define HTTP_HEADERS_MAX 65536     /* all request headers together */
#define HTTP_NMETHOD_LABELS 8      /* the seven methods and "OTHER" */

/* Per-route state resolved once: labels and metric children. */
struct http_route_rt {
	const char *label; /* route name, pattern, or "unmatched" */
	struct metric *duration;
	/* requests_total children by method label and status, resolved on first use; each
	 * array (one per method label) is allocated on first use too. */
	_Atomic(struct metric *) *_Atomic by_status[HTTP_NMETHOD_LABELS];
};

struct http_loop {
	struct http_server *srv;
	int index;
	pthread_t tid;
	bool started;
	h2o_context_t ctx;
	h2o_accept_ctx_t accept;
	int listen_fd;
	h2o_socket_t *listener;
	int wake_fd; /* eventfd written by http_server_stop() */
	h2o_socket_t *wake;
	h2o_multithread_receiver_t done; /* pool jobs come back here */
	size_t requests;                 /* h2o requests we took and h2o has not disposed */
	size_t jobs;                     /* pool jobs queued or running for this loop */
	h2o_linklist_t conns;            /* struct http_conn: every open connection */
	size_t nconns;
	bool stopping;
	/* This loop's log lines are buffered (base/log.h) and written in batches; the timer
	 * writes them at most LOG_FLUSH_INTERVAL_MS after the first one, armed only while lines
	 * wait, so an idle loop does not wake up for it. */
	h2o_timeout_t log_flush;
	h2o_timeout_entry_t log_flush_entry;
};

struct http_server {
	struct http_server_options opt;
	struct http_router *router;
	struct http_route_rt *rt; /* opt.nroutes + 1; the last is "unmatched" */
	h2o_globalconf_t conf;
	bool conf_inited;
	/* TLS comes in a later issue: an SSL_CTX set here is handed to every loop's accept
	 * context (h2o then does the handshake and ALPN h2); NULL means cleartext. */
	SSL_CTX *ssl_ctx;
	struct http_loop *loops;
	int nloops;
	struct http_pool *pool;
	unsigned port;
	atomic_int stop;
	struct http_connlimit *connlimit; /* NULL: no per-address connection limit */
	char **cors;                      /* allowed origins, NULL-terminated; NULL: none */
	/* metrics (all NULL when opt.metrics is NULL) */
	struct metric_family *m_requests, *m_duration;
	struct metric *m_in_flight;
};

struct http_hdr {
	struct http_hdr *next;
	h2o_iovec_t name; /* lower case */
	h2o_iovec_t value;
};

enum http_body_kind { HTTP_BODY_NONE, HTTP_BODY_BYTES, HTTP_BODY_ENTITY, HTTP_BODY_STREAM };
enum http_job_kind { HTTP_JOB_HANDLER, HTTP_JOB_READ, HTTP_JOB_CLOSE };

struct http_req {
	/* ---- owner side: the loop ---- */
	h2o_req_t *req; /* NULL once h2o disposed the request: the cancelled mark */
	struct http_loop *lp;
	struct http_server *srv;
	h2o_mem_pool_t *mem; /* &req->pool (quick route) or &own (blocking route) */
	h2o_mem_pool_t own;
	bool blocking;
	int64_t t0_ns;

	/* ---- the request, read-only for the handler ---- */
	unsigned method; /* enum http_method bit; 0 for others */
	const char *method_name;
	h2o_iovec_t raw_path; /* as received, without the query */
	const char *path;     /* decoded */
	size_t path_len;
	const char *query; /* raw, after '?'; NULL when none */
	size_t query_len;
	size_t nquery;
	struct http_qparam *qparams; /* parsed on first use */
	bool query_parsed;
	const struct http_route *route;
	struct http_route_rt *rt;
	unsigned nparams;
	const char *const *param_names;
	const char *params[HTTP_ROUTE_MAX_PARAMS];
	const h2o_headers_t *headers; /* h2o's, or a copy with NUL-terminated values */
	bool headers_copied;
	const char *body;
	size_t body_len;
	char id[HTTP_REQ_ID_MAX + 1];
	char trace_id[33];
	bool has_trace;
	const char *peer; /* computed on first use (quick) or before queueing (blocking) */
	void *principal;
	struct ratelimit_result rl; /* the tightest bucket this request went through */
	bool rl_set;

	/* ---- the answer, recorded on the handler's thread ---- */
	bool answered;
	int status;
	struct http_hdr *hdrs, **hdrs_tail;
	const char *ctype;
	enum http_body_kind body_kind;
	h2o_iovec_t bytes;             /* HTTP_BODY_BYTES */
	struct http_entity ent;        /* HTTP_BODY_ENTITY */
	struct http_stream stream;     /* HTTP_BODY_STREAM */
	int64_t stream_len;            /* -1: unknown */
	uint64_t off, left;            /* next offset and bytes still to send (when bounded) */
	uint64_t content_length;       /* when bounded */
	bool bounded;                  /* entity, or stream of known length */
	bool send_body;                /* false for HEAD, 304, and errors */
	bool source_open;              /* fd / pread / stream still to be closed */
	char *chunk;                   /* HTTP_CHUNK bytes */
	ssize_t chunk_len;             /* result of the last read */

	/* ---- the response going out (loop) ---- */
	h2o_generator_t gen;
	bool committed;
	bool gen_stopped;
	bool reading; /* a READ job is out */

	/* ---- pool job ---- */
	struct http_job job;
	enum http_job_kind job_kind;
	h2o_multithread_message_t msg;
};

/* dispatch.c */
int http_on_req(h2o_handler_t *self, h2o_req_t *req);
void http_on_jobs_done(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages);
/* Queue a job for a blocking request (loop thread). -1 if the pool refuses it. */
int http_job_submit(struct http_req *r, enum http_job_kind kind);
/* The wrapper h2o's request carries, or NULL when our handler never saw it. */
struct http_req *http_req_of(h2o_req_t *req);
void http_req_attach(struct http_req *r, h2o_req_t *req);

/* response.c */
const char *http_reason(int status);
void http_commit(struct http_req *r);
/* Lower-case copy of a header name into the request's memory; NULL if it is not a token. */
void http_res_header_n(struct http_req *r, const char *name, size_t nlen, const char *value, size_t vlen);
void http_res_problem_code(struct http_req *r, int status, const char *title, const char *detail,
			   const char *code);
/* Serialize a problem document into `pool` (for h2o's own error responses too). */
h2o_iovec_t http_problem_body(h2o_mem_pool_t *pool, int status, const char *title, const char *detail,
			      const char *instance, const char *code);

/* body.c */
/* Right after the handler returned, on its thread: close what will not be sent, and on
 * blocking routes read the first chunk while still on the pool. */
void http_body_after_handler(struct http_req *r);
/* Commit an entity or stream body (loop; headers already set). */
void http_body_commit(struct http_req *r);
/* A READ job came back (loop). */
void http_body_read_done(struct http_req *r);
/* The request went away before or while its body was sent: close the source where it must
 * be closed (loop). */
void http_body_abandon(struct http_req *r);
/* Read the next chunk of the body into r->chunk, on the calling thread (the loop for quick
 * routes, a pool thread for blocking ones); closes the source at its end or on error. */
void http_body_read(struct http_req *r);
/* Close the source now, on the calling thread (if still open). */
void http_body_close(struct http_req *r);

/* limits.c: the per-address check on the loop after routing; 0 to go on, -1 when it
 * answered 429. Also settles r->peer (the client behind trusted proxies). */
int http_limits_check(struct http_req *r);

/* connlimit.c: open connections per client address, shared by the loops. */
struct http_connlimit;
struct http_connlimit *http_connlimit_new(unsigned max_per_addr);
void http_connlimit_free(struct http_connlimit *c);
/* Count one more connection from `sa`; false (nothing counted) when it is over the limit. */
bool http_connlimit_acquire(struct http_connlimit *c, const struct sockaddr *sa, socklen_t len, uint64_t key[2]);
void http_connlimit_release(struct http_connlimit *c, const uint64_t key[2]);

/* headers.c: security headers, HSTS, CORS on every answer (an h2o filter), and preflights. */
void http_headers_setup(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot);
/* A CORS preflight (OPTIONS with Origin and Access-Control-Request-Method): answered and
 * committed here (true), else false. */
bool http_cors_preflight(struct http_req *r);
int http_cors_init(struct http_server *srv, struct err *e);
void http_cors_release(struct http_server *srv);

/* tls.c */
SSL_CTX *http_tls_ctx_new(const char *cert, const char *key, struct err *e);

/* middleware.c */
int http_mw_init(struct http_server *srv, struct err *e);
void http_mw_release(struct http_server *srv);
/* Request id and trace context from the incoming headers (loop). */
void http_mw_begin(struct http_req *r);
/* Run the hooks; 0 to go on to the handler, -1 if a hook answered. */
int http_mw_hooks(struct http_req *r);
/* The access log and metrics, once per h2o request (an h2o logger callback). */
void http_mw_log(h2o_logger_t *self, h2o_req_t *req);
const char *http_peer_text(h2o_req_t *req, h2o_mem_pool_t *pool);
int64_t http_mono_ns(void);

#endif
