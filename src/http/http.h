/* http.h — what handlers see of HTTP: tonearm's own request and response types.
 *
 * Nothing here exposes h2o. A handler gets a `struct http_req *` and the application context
 * it was registered with, reads the request through http_req_*(), and answers exactly once
 * through one of the http_res_*() calls (a handler that returns without answering gets a 500).
 *
 * Where a handler runs: a route flagged HTTP_QUICK runs on the event loop and must never block
 * (no database writes, no password hashing, no S3 calls); a route flagged HTTP_BLOCKING runs on
 * the handler thread pool and may block. Either way the answer is sent by the loop that owns
 * the connection; if the client went away meanwhile, the answer is dropped safely.
 *
 * Memory: strings returned by http_req_*() and made with http_req_alloc()/http_req_printf() live
 * in the request's pool and are freed when the request is done. Never free them.
 */
#ifndef TONEARM_HTTP_HTTP_H
#define TONEARM_HTTP_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

struct http_req;
struct metrics;

enum http_method {
	HTTP_GET = 1u << 0,
	HTTP_HEAD = 1u << 1,
	HTTP_POST = 1u << 2,
	HTTP_PUT = 1u << 3,
	HTTP_PATCH = 1u << 4,
	HTTP_DELETE = 1u << 5,
	HTTP_OPTIONS = 1u << 6,
};

enum http_route_flags {
	HTTP_QUICK = 0,           /* runs on the event loop */
	HTTP_BLOCKING = 1u << 0,  /* runs on the handler thread pool */
};

typedef void (*http_handler_fn)(struct http_req *req, void *app);

/* One row of the route table. A pattern is a path of literal segments and parameters:
 * "/api/v1/tracks/{id}" binds `id` to one segment; a last segment "{rest*}" binds the rest of
 * the path (may contain '/'). A route with HTTP_GET also answers HEAD. Literal segments win
 * over parameters. A path that matches a pattern under another method gets 405 with Allow. */
struct http_route {
	unsigned methods;        /* enum http_method bits */
	const char *pattern;
	http_handler_fn handler;
	unsigned flags;          /* enum http_route_flags */
	unsigned perm;           /* the permission hooks check; 0 = open to all */
	const char *name;        /* label in metrics and logs; NULL = the pattern */
};

/* Middleware hooks run in order before the handler, on the same thread as the handler
 * (authentication, rate limiting). A hook returns 0 to go on, or answers the request itself
 * (e.g. 401, 429) and returns -1 to stop. */
struct http_hook {
	const char *name;
	int (*fn)(struct http_req *req, const struct http_route *route, void *app);
};

/* ---- the request ---- */

enum http_method http_req_method(const struct http_req *req);
const char *http_req_method_name(const struct http_req *req); /* "GET" */

/* The path without the query string, percent-decoded ("/api/v1/tracks/x"). A path whose
 * decoding holds NUL, is not valid UTF-8 or has a ".." segment never reaches a handler (400). */
const char *http_req_path(const struct http_req *req);

/* The route that matched (its pattern and name), for logs. */
const struct http_route *http_req_route(const struct http_req *req);

/* A path parameter of the matched route, percent-decoded; NULL if the route has none so named. */
const char *http_req_param(const struct http_req *req, const char *name);

/* The first value of a query parameter, percent-decoded ('+' is a space); NULL if absent,
 * "" if present without a value. At most HTTP_MAX_QUERY_PARAMS parameters are accepted: more
 * is a 400 before the handler runs. */
#define HTTP_MAX_QUERY_PARAMS 256
const char *http_req_query(const struct http_req *req, const char *name);

/* A query parameter as an integer in [min, max]; `def` when absent. -1 with ERR_INVALID
 * (naming the parameter) when it is not a number or out of range. */
int http_req_query_int(const struct http_req *req, const char *name, long long def, long long min,
		       long long max, long long *out, struct err *e);

/* A request header by case-insensitive name, NUL-terminated; NULL if absent. Repeated headers
 * are joined with ", ". */
const char *http_req_header(const struct http_req *req, const char *name);

/* The whole request body (bodies over the server's max_body were refused with 413 already). */
const void *http_req_body(const struct http_req *req, size_t *len);

/* The body parsed as JSON. Refuses (NULL, with `e` set) a body that is not
 * application/json-compatible JSON (ERR_INVALID, with jansson's line and column), larger
 * than max_json (ERR_TOO_LARGE), or not valid UTF-8. The caller owns the reference. */
json_t *http_req_json(struct http_req *req, struct err *e);

/* The request id: the incoming X-Request-Id when it is sane (printable, ≤ 128 bytes), else a
 * new sortable id. Also sent back as X-Request-Id and put on every log line of the request. */
const char *http_req_id(const struct http_req *req);

/* The W3C trace id from an incoming `traceparent` (32 hex digits), or NULL. */
const char *http_req_trace_id(const struct http_req *req);

/* The client's address as text ("127.0.0.1", "::1"). */
const char *http_req_peer(const struct http_req *req);

/* Request-pool memory, freed when the request is done. NULL on out of memory. */
void *http_req_alloc(struct http_req *req, size_t n);
char *http_req_strdup(struct http_req *req, const char *s);
char *http_req_printf(struct http_req *req, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A slot for what the authentication hook found (the principal); NULL until set. */
void http_req_set_principal(struct http_req *req, void *principal);
void *http_req_principal(const struct http_req *req);

/* ---- the response: call exactly one of the senders below, once ---- */

/* Add a response header (name and value are copied). Call before a sender. */
void http_res_header(struct http_req *req, const char *name, const char *value);

/* JSON body (application/json); takes over the reference to `body`. */
void http_res_json(struct http_req *req, int status, json_t *body);

/* A body of `len` bytes, copied; `content_type` may be NULL for none (e.g. 204). */
void http_res_send(struct http_req *req, int status, const char *content_type, const void *body, size_t len);

/* A body of `len` bytes that the response takes over: `body` (from malloc) is sent without a copy
 * and freed when the request is done, or at once when the request was answered already. For
 * large built answers (a page of the catalogue is 50 KB). */
void http_res_send_owned(struct http_req *req, int status, const char *content_type, char *body, size_t len);

/* An RFC 9457 problem (application/problem+json) with "type", "title", "status", "detail" and
 * "instance" (the request id). `detail` may be NULL. */
void http_res_problem(struct http_req *req, int status, const char *title, const char *detail);

/* The problem for an error value: the one place an err_code becomes an HTTP status. */
void http_res_err(struct http_req *req, const struct err *e);
int http_status_for_err(enum err_code code);

/* A whole entity served with HTTP Range and conditional requests (If-None-Match, If-Match,
 * If-Modified-Since, If-Unmodified-Since, If-Range), with Accept-Ranges, ETag, Last-Modified,
 * Content-Length. A single satisfiable range gets 206 with Content-Range; an unsatisfiable one
 * 416 with "Content-Range: bytes * /size" (no space); a malformed Range header or one asking
 * for several ranges is ignored and the whole entity sent with 200, as RFC 9110 §14.2 allows
 * (see http/range.h). Range is honoured on GET only; HEAD gets the 200 headers and no body.
 * The bytes come from exactly one of `fd`, `data` or `pread` (anything else is a 500, and
 * what was given is closed). The status and headers are decided when this is called. */
struct http_entity {
	uint64_t size;
	const char *etag;          /* a strong ETag including its quotes, or NULL */
	int64_t mtime;             /* seconds since the epoch, or 0 for none */
	const char *content_type;
	const char *cache_control; /* NULL for none */
	int fd;                    /* an open file, closed by http when done; -1 if not used */
	const void *data;          /* memory that lives until the response is done (request pool) */
	/* Read up to `len` bytes at `off` into `buf`; returns bytes read (0 only past the end) or
	 * -1. Runs where the route's handler runs (so a blocking route may do network I/O here).
	 * `close` (may be NULL) is called once with `ud` when the response is done or abandoned:
	 * where pread runs for a pread entity; on the event loop, after the last byte left, for a
	 * data entity (so it may free `data`). */
	ssize_t (*pread)(void *ud, void *buf, size_t len, uint64_t off);
	void (*close)(void *ud);
	void *ud;
};
void http_res_entity(struct http_req *req, const struct http_entity *ent);

/* A streamed body pulled piece by piece (a transcoder, a decrypting reader). `read` fills up
 * to `cap` bytes and returns how many (> 0), 0 at the end, -1 on error (the connection is then
 * cut, since the status is already sent). `close` is called exactly once: at the end, on error,
 * or when the client goes away. `read` runs where the route's handler runs. `length` is the
 * Content-Length, or -1 for unknown (chunked on HTTP/1.1). */
struct http_stream {
	ssize_t (*read)(void *ud, char *buf, size_t cap);
	void (*close)(void *ud);
	void *ud;
};
void http_res_stream(struct http_req *req, int status, const char *content_type, int64_t length,
		     const struct http_stream *stream);

/* ---- the server ---- */

struct http_server_options {
	const char *listen;          /* "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:0" (port 0: any free) */
	int threads;                 /* event loops; 0 = one per core */
	int handler_threads;         /* blocking pool; 0 = two per core */
	size_t max_body;             /* request bodies above are refused with 413; 0 = 16 MiB */
	size_t max_json;             /* http_req_json() refuses bodies above; 0 = 1 MiB */
	int shutdown_timeout_ms;     /* drain in-flight requests at most this long on stop; 0 = 10 s */
	bool access_log;             /* one log line per request */
	struct metrics *metrics;     /* requests by route and status, latency; may be NULL */
	const struct http_route *routes;
	size_t nroutes;
	const struct http_hook *hooks;
	size_t nhooks;
	void *app;                   /* passed to every handler and hook */
	/* Abuse protection (http/limits.h, http/tls.h, http/headers.h). All optional. */
	struct http_limits *limits;  /* rate limits; NULL: none. Not owned */
	int max_conns_per_ip;        /* open connections per client address; 0 = no limit */
	int request_timeout_ms;      /* HTTP/1 request head and body must arrive within; 0 = 10 s */
	int idle_timeout_ms;         /* HTTP/2 connection with nothing going on; 0 = 30 s */
	const char *tls_cert;        /* PEM certificate chain; with tls_key turns on HTTPS only */
	const char *tls_key;         /* PEM private key */
	const char *cors_origins;    /* comma-separated exact origins allowed by CORS; NULL: none */
};

struct http_server;

/* Validate the route table and bind the listeners (so a bad address or a busy port fails
 * here, with `e` naming it). Threads start in http_server_run(). */
struct http_server *http_server_new(const struct http_server_options *opt, struct err *e);

/* The port actually bound (useful with port 0). */
unsigned http_server_port(const struct http_server *srv);

/* Run the event loops and the handler pool until http_server_stop(); then stop accepting,
 * let in-flight requests finish (at most shutdown_timeout_ms), close the remaining (idle)
 * connections, wait for blocking handlers still running (they cannot be interrupted; their
 * clients are gone by then) and return 0. -1 with `e` set if a thread cannot be started.
 * Sets SIGPIPE to SIG_IGN for the process (a closed peer must not kill the server). */
int http_server_run(struct http_server *srv, struct err *e);

/* Ask the server to stop. Async-signal-safe: call it from a SIGTERM/SIGINT handler. */
void http_server_stop(struct http_server *srv);

void http_server_free(struct http_server *srv);

#endif
