/* server_test.c — the real server on 127.0.0.1 (port 0) with a test route table, driven by
 * libcurl: JSON, problem+json for bad input, HEAD, Range and conditionals on fd / data /
 * pread entities, streams, blocking routes, request ids and trace context, metrics, HTTP/2,
 * graceful stop, and clients that leave while their handler runs (run it under ASan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/metrics.h"
#include "http/http.h"

#define FILE_SIZE 200000 /* more than three 64 KiB chunks */
#define FILE_ETAG "\"f1\""
#define FILE_MTIME 1700000000

static char file_path[64];
static unsigned char file_bytes[FILE_SIZE];
static atomic_int pread_open, pread_closed, stream_closed, sleep_done, sleep_started;
static char log_path[64];
static int log_fd = -1;

/* LeakSanitizer: h2o 2.2 keeps per-thread caches of memory chunks (h2o_mem_alloc_recycle)
 * with no call to release them, and never frees a context's message queue; both are bounded
 * and once per thread. Everything else must be freed. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:h2o_mem_alloc_recycle\nleak:h2o_multithread_create_queue\n";
}

/* ---- handlers ---- */

static void h_json(struct http_req *req, void *app)
{
	(void)app;
	http_res_json(req, 200, json_pack("{s:b, s:s}", "ok", 1, "id", http_req_id(req)));
}

static void h_item(struct http_req *req, void *app)
{
	struct err e = ERR_INIT;
	long long n;
	const char *q = http_req_query(req, "q");

	(void)app;
	if (http_req_query_int(req, "n", 7, 0, 100, &n, &e) < 0) {
		http_res_err(req, &e);
		return;
	}
	http_res_json(req, 200, json_pack("{s:s, s:s?, s:I, s:s}", "id", http_req_param(req, "id"), "q", q,
					  "n", (json_int_t)n, "path", http_req_path(req)));
}

static void h_echo(struct http_req *req, void *app)
{
	struct err e = ERR_INIT;
	json_t *j = http_req_json(req, &e);

	(void)app;
	if (!j) {
		http_res_err(req, &e);
		return;
	}
	http_res_json(req, 201, j);
}

static void h_file(struct http_req *req, void *app)
{
	struct http_entity ent = { .size = FILE_SIZE, .etag = FILE_ETAG, .mtime = FILE_MTIME,
				   .content_type = "application/octet-stream", .cache_control = "public, max-age=60",
				   .fd = open(file_path, O_RDONLY | O_CLOEXEC) };

	(void)app;
	http_res_entity(req, &ent);
}

static void h_data(struct http_req *req, void *app)
{
	static const char data[] = "0123456789abcdefghij";
	struct http_entity ent = { .size = sizeof(data) - 1, .etag = "\"d1\"", .content_type = "text/plain",
				   .fd = -1, .data = data };

	(void)app;
	http_res_entity(req, &ent);
}

static ssize_t file_pread(void *ud, void *buf, size_t len, uint64_t off)
{
	(void)ud;
	usleep(1000); /* pretend to be a remote store */
	if (off >= FILE_SIZE)
		return 0;
	if (len > FILE_SIZE - off)
		len = FILE_SIZE - off;
	memcpy(buf, file_bytes + off, len);
	return (ssize_t)len;
}

static void file_close(void *ud)
{
	(void)ud;
	atomic_fetch_add(&pread_closed, 1);
}

static void h_pread(struct http_req *req, void *app)
{
	struct http_entity ent = { .size = FILE_SIZE, .etag = FILE_ETAG, .content_type = "audio/flac", .fd = -1,
				   .pread = file_pread, .close = file_close };

	(void)app;
	atomic_fetch_add(&pread_open, 1);
	http_res_entity(req, &ent);
}

struct counter {
	int left;
	int delay_us;
};

static ssize_t count_read(void *ud, char *buf, size_t cap)
{
	struct counter *c = ud;
	int n;

	if (c->delay_us)
		usleep((useconds_t)c->delay_us);
	if (c->left == 0)
		return 0;
	n = snprintf(buf, cap, "line %d\n", c->left--);
	return n;
}

static void count_close(void *ud)
{
	free(ud);
	atomic_fetch_add(&stream_closed, 1);
}

static void h_stream(struct http_req *req, void *app)
{
	struct counter *c = calloc(1, sizeof(*c));
	struct http_stream s = { count_read, count_close, c };
	long long n = 5, delay = 0;

	(void)app;
	http_req_query_int(req, "n", 5, 0, 1000000, &n, NULL);
	http_req_query_int(req, "delay_us", 0, 0, 1000000, &delay, NULL);
	c->left = (int)n;
	c->delay_us = (int)delay;
	http_res_stream(req, 200, "text/plain", -1, &s);
}

static void h_sleep(struct http_req *req, void *app)
{
	long long ms = 100;

	(void)app;
	atomic_fetch_add(&sleep_started, 1);
	http_req_query_int(req, "ms", 100, 0, 10000, &ms, NULL);
	usleep((useconds_t)(ms * 1000));
	/* Everything a handler may touch still works although the client may be gone. */
	char *s = http_req_printf(req, "slept %lld ms for %s at %s", ms, http_req_path(req), http_req_peer(req));
	http_res_send(req, 200, "text/plain", s, strlen(s));
	atomic_fetch_add(&sleep_done, 1);
}

static void h_err(struct http_req *req, void *app)
{
	struct err e = ERR_INIT;
	const char *code = http_req_param(req, "code");

	(void)app;
	if (strcmp(code, "io") == 0)
		err_set(&e, ERR_IO, "disk /secret/path exploded");
	else if (strcmp(code, "conflict") == 0)
		err_set(&e, ERR_CONFLICT, "already there");
	else
		err_set(&e, ERR_UNAVAILABLE, "db down at 10.0.0.1");
	http_res_err(req, &e);
}

static void h_noanswer(struct http_req *req, void *app)
{
	(void)req;
	(void)app;
}

static void h_trace(struct http_req *req, void *app)
{
	(void)app;
	http_res_json(req, 200, json_pack("{s:s?, s:s, s:s?}", "trace", http_req_trace_id(req), "id", http_req_id(req),
					  "principal", (const char *)http_req_principal(req)));
}

static int hook_auth(struct http_req *req, const struct http_route *route, void *app)
{
	(void)app;
	if (route->perm && http_req_header(req, "x-deny")) {
		http_res_header(req, "WWW-Authenticate", "Bearer");
		http_res_problem(req, 401, "Unauthorized", "no entry");
		return -1;
	}
	http_req_set_principal(req, "alice");
	return 0;
}

static const struct http_route routes[] = {
	{ HTTP_GET, "/json", h_json, HTTP_QUICK, 0, "json" },
	{ HTTP_GET, "/items/{id}", h_item, HTTP_QUICK, 0, "item" },
	{ HTTP_POST, "/echo", h_echo, HTTP_QUICK, 0, "echo" },
	{ HTTP_POST, "/becho", h_echo, HTTP_BLOCKING, 0, "becho" },
	{ HTTP_GET, "/file", h_file, HTTP_QUICK, 0, "file" },
	{ HTTP_GET, "/data", h_data, HTTP_QUICK, 0, "data" },
	{ HTTP_GET, "/pread", h_pread, HTTP_BLOCKING, 0, "pread" },
	{ HTTP_GET, "/stream", h_stream, HTTP_QUICK, 0, "stream" },
	{ HTTP_GET, "/bstream", h_stream, HTTP_BLOCKING, 0, "bstream" },
	{ HTTP_GET, "/sleep", h_sleep, HTTP_BLOCKING, 0, "sleep" },
	{ HTTP_GET, "/err/{code}", h_err, HTTP_QUICK, 0, "err" },
	{ HTTP_GET, "/noanswer", h_noanswer, HTTP_QUICK, 0, NULL },
	{ HTTP_GET, "/trace", h_trace, HTTP_QUICK, 1, "trace" },
	{ HTTP_GET, "/btrace", h_trace, HTTP_BLOCKING, 1, "btrace" },
};

static const struct http_hook hooks[] = { { "auth", hook_auth } };

/* ---- server in a thread ---- */

struct running {
	struct http_server *srv;
	pthread_t tid;
	int rc;
	atomic_int done;
};

static struct running main_srv;
static struct metrics *reg;

static void *run_thread(void *arg)
{
	struct running *r = arg;
	struct err e = ERR_INIT;

	r->rc = http_server_run(r->srv, &e);
	atomic_store(&r->done, 1);
	return NULL;
}

static int start(struct running *r, struct metrics *m)
{
	struct http_server_options o = { .listen = "127.0.0.1:0", .threads = 2, .handler_threads = 2,
					 .max_body = 4096, .max_json = 1024, .shutdown_timeout_ms = 3000,
					 .access_log = true, .metrics = m, .routes = routes,
					 .nroutes = sizeof(routes) / sizeof(routes[0]), .hooks = hooks, .nhooks = 1 };
	struct err e = ERR_INIT;

	memset(r, 0, sizeof(*r));
	r->srv = http_server_new(&o, &e);
	if (!r->srv) {
		fprintf(stderr, "http_server_new: %s\n", e.msg);
		return -1;
	}
	return pthread_create(&r->tid, NULL, run_thread, r) == 0 ? 0 : -1;
}

/* ---- client ---- */

struct resp {
	long status;
	struct buf body, headers;
	long version;
	CURLcode rc;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	buf_add(ud, p, sz * n);
	return sz * n;
}

struct reqopt {
	const char *method;
	const char *const *headers; /* NULL-terminated */
	const char *body;
	size_t body_len;
	bool h2;
	long timeout_ms;
	bool path_as_is;
};

static void do_req(const char *path, const struct reqopt *o, struct resp *out)
{
	static const struct reqopt none = { 0 };
	CURL *c = curl_easy_init();
	struct curl_slist *hl = NULL;
	char url[65536];

	if (!o)
		o = &none;
	memset(out, 0, sizeof(*out));
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", http_server_port(main_srv.srv), path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out->body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &out->headers);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, o->timeout_ms ? o->timeout_ms : 10000L);
	if (o->path_as_is)
		curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	if (o->method && strcmp(o->method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (o->method)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, o->method);
	if (o->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, o->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)o->body_len);
	}
	for (const char *const *h = o->headers; h && *h; h++)
		hl = curl_slist_append(hl, *h);
	hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	if (o->h2)
		curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	out->rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_easy_getinfo(c, CURLINFO_HTTP_VERSION, &out->version);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
}

static void resp_free(struct resp *r)
{
	buf_release(&r->body);
	buf_release(&r->headers);
}

/* A response header's value (case-insensitive name), copied into `out`; NULL if absent. */
static const char *hdr(const struct resp *r, const char *name, char *out, size_t cap)
{
	const char *p = buf_str(&r->headers);
	size_t nl = strlen(name);

	while ((p = strchr(p, '\n'))) {
		p++;
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1, *end;
			size_t l;

			while (*v == ' ')
				v++;
			end = strpbrk(v, "\r\n");
			l = end ? (size_t)(end - v) : strlen(v);
			if (l >= cap)
				l = cap - 1;
			memcpy(out, v, l);
			out[l] = '\0';
			return out;
		}
	}
	return NULL;
}

static json_t *body_json(const struct resp *r)
{
	json_error_t je;
	json_t *j = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, &je);

	if (!j)
		fail_msg("response is not JSON (%s): %.200s", je.text, buf_str(&r->body));
	return j;
}

/* The response is an RFC 9457 problem with this status, instance = X-Request-Id. */
static json_t *expect_problem(const struct resp *r, long status)
{
	char ct[128], id[160];
	json_t *j;

	if (r->status != status)
		fail_msg("status %ld, want %ld: %.300s", r->status, status, buf_str(&r->body));
	assert_non_null(hdr(r, "content-type", ct, sizeof(ct)));
	assert_string_equal(ct, "application/problem+json");
	assert_non_null(hdr(r, "x-request-id", id, sizeof(id)));
	j = body_json(r);
	assert_int_equal(json_integer_value(json_object_get(j, "status")), status);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "about:blank");
	assert_non_null(json_string_value(json_object_get(j, "title")));
	assert_string_equal(json_string_value(json_object_get(j, "instance")), id);
	return j;
}

/* ---- tests ---- */

static void test_json_route(void **state)
{
	struct resp r;
	char ct[64], id[64], cl[32];
	json_t *j;

	(void)state;
	do_req("/json", NULL, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(hdr(&r, "content-type", ct, sizeof(ct)), "application/json");
	assert_non_null(hdr(&r, "x-request-id", id, sizeof(id)));
	assert_int_equal(strlen(id), 26); /* a ULID */
	assert_int_equal(atoi(hdr(&r, "content-length", cl, sizeof(cl))), (int)r.body.len);
	j = body_json(&r);
	assert_true(json_is_true(json_object_get(j, "ok")));
	assert_string_equal(json_string_value(json_object_get(j, "id")), id);
	json_decref(j);
	resp_free(&r);

	do_req("/items/a%20b?q=caf%C3%A9&n=42", NULL, &r);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "id")), "a b");
	assert_string_equal(json_string_value(json_object_get(j, "q")), "caf\xc3\xa9");
	assert_int_equal(json_integer_value(json_object_get(j, "n")), 42);
	assert_string_equal(json_string_value(json_object_get(j, "path")), "/items/a b");
	json_decref(j);
	resp_free(&r);

	do_req("/items/x?n=1000", NULL, &r); /* out of range: 400 naming the parameter */
	j = expect_problem(&r, 400);
	assert_non_null(strstr(json_string_value(json_object_get(j, "detail")), "\"n\""));
	json_decref(j);
	resp_free(&r);
}

static void test_not_found_and_methods(void **state)
{
	struct resp r;
	char allow[128];
	json_t *j;

	(void)state;
	do_req("/nope", NULL, &r);
	json_decref(expect_problem(&r, 404));
	resp_free(&r);

	do_req("/json", &(struct reqopt){ .method = "DELETE" }, &r);
	json_decref(expect_problem(&r, 405));
	assert_string_equal(hdr(&r, "allow", allow, sizeof(allow)), "GET, HEAD, OPTIONS");
	resp_free(&r);

	do_req("/json", &(struct reqopt){ .method = "OPTIONS" }, &r);
	assert_int_equal(r.status, 204);
	assert_string_equal(hdr(&r, "allow", allow, sizeof(allow)), "GET, HEAD, OPTIONS");
	assert_int_equal(r.body.len, 0);
	resp_free(&r);

	do_req("/json", &(struct reqopt){ .method = "BREW" }, &r);
	json_decref(expect_problem(&r, 501));
	resp_free(&r);

	do_req("/noanswer", NULL, &r);
	json_decref(expect_problem(&r, 500));
	resp_free(&r);

	/* 5xx hides the internal message; 4xx shows it; both carry the error code. */
	do_req("/err/io", NULL, &r);
	j = expect_problem(&r, 500);
	assert_null(strstr(buf_str(&r.body), "secret"));
	assert_string_equal(json_string_value(json_object_get(j, "code")), "io");
	json_decref(j);
	resp_free(&r);
	do_req("/err/down", NULL, &r);
	j = expect_problem(&r, 503);
	assert_null(strstr(buf_str(&r.body), "10.0.0.1"));
	json_decref(j);
	resp_free(&r);
	do_req("/err/conflict", NULL, &r);
	j = expect_problem(&r, 409);
	assert_string_equal(json_string_value(json_object_get(j, "detail")), "already there");
	json_decref(j);
	resp_free(&r);
}

static void test_bad_paths_and_queries(void **state)
{
	static const char *const bad[] = { "/a/../json", "/%2e%2e/json", "/%2E%2E", "/a%00b", "/a%2fb", "/./json",
					   "/x%zz", "/%c3%28" };
	struct resp r;
	char *q;
	size_t n = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		do_req(bad[i], &(struct reqopt){ .path_as_is = true }, &r);
		if (r.status != 400)
			fail_msg("%s: status %ld", bad[i], r.status);
		json_decref(expect_problem(&r, 400));
		resp_free(&r);
	}
	/* 10,000 query parameters */
	q = malloc(10000 * 4 + 16);
	n = (size_t)snprintf(q, 16, "/json?");
	for (int i = 0; i < 10000; i++) {
		memcpy(q + n, "a=1&", 4);
		n += 4;
	}
	q[n - 1] = '\0';
	do_req(q, NULL, &r);
	json_decref(expect_problem(&r, 400));
	assert_non_null(strstr(buf_str(&r.body), "too many parameters"));
	resp_free(&r);
	free(q);
	do_req("/json?a=%ff", NULL, &r);
	json_decref(expect_problem(&r, 400));
	resp_free(&r);
	/* a path over 8 KiB */
	q = malloc(9000);
	memset(q, 'a', 8999);
	q[0] = '/';
	q[8999] = '\0';
	do_req(q, NULL, &r);
	json_decref(expect_problem(&r, 414));
	resp_free(&r);
	free(q);
}

static void test_bodies(void **state)
{
	struct resp r;
	char big[5000];
	json_t *j;
	const char *const json_ct[] = { "Content-Type: application/json", NULL };

	(void)state;
	do_req("/echo", &(struct reqopt){ .body = "{\"a\":[1,2]}", .body_len = 11, .headers = json_ct }, &r);
	assert_int_equal(r.status, 201);
	assert_string_equal(buf_str(&r.body), "{\"a\":[1,2]}");
	resp_free(&r);

	do_req("/becho", &(struct reqopt){ .body = "{\"b\":true}", .body_len = 10, .headers = json_ct }, &r);
	assert_int_equal(r.status, 201);
	assert_string_equal(buf_str(&r.body), "{\"b\":true}");
	resp_free(&r);

	do_req("/echo", &(struct reqopt){ .body = "{\n  \"a\": tru }", .body_len = 14, .headers = json_ct }, &r);
	j = expect_problem(&r, 400);
	assert_non_null(strstr(json_string_value(json_object_get(j, "detail")), "line 2"));
	assert_non_null(strstr(json_string_value(json_object_get(j, "detail")), "column"));
	json_decref(j);
	resp_free(&r);

	const char *const text_ct[] = { "Content-Type: text/plain", NULL };
	do_req("/echo", &(struct reqopt){ .body = "{}", .body_len = 2, .headers = text_ct }, &r);
	json_decref(expect_problem(&r, 400));
	resp_free(&r);

	/* over max_json (1024) but under max_body (4096) */
	memset(big, ' ', sizeof(big));
	big[0] = '[';
	big[2000] = ']';
	do_req("/echo", &(struct reqopt){ .body = big, .body_len = 2001, .headers = json_ct }, &r);
	json_decref(expect_problem(&r, 413));
	resp_free(&r);

	/* over max_body: h2o refuses it (413), rewritten into problem+json */
	do_req("/echo", &(struct reqopt){ .body = big, .body_len = sizeof(big), .headers = json_ct }, &r);
	json_decref(expect_problem(&r, 413));
	resp_free(&r);
}

static void test_headers(void **state)
{
	struct resp r;
	char id[200], *line;
	size_t big = 20000;
	json_t *j;

	(void)state;
	do_req("/trace", &(struct reqopt){ .headers = (const char *const[]){ "X-Request-Id: abc-123.x", NULL } }, &r);
	assert_string_equal(hdr(&r, "x-request-id", id, sizeof(id)), "abc-123.x");
	resp_free(&r);

	/* not sane (a space, too long): replaced */
	do_req("/json", &(struct reqopt){ .headers = (const char *const[]){ "X-Request-Id: a b", NULL } }, &r);
	assert_int_equal(strlen(hdr(&r, "x-request-id", id, sizeof(id))), 26);
	resp_free(&r);

	do_req("/trace",
	       &(struct reqopt){ .headers = (const char *const[]){
					 "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", NULL } },
	       &r);
	j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "trace")), "4bf92f3577b34da6a3ce929d0e0e4736");
	assert_string_equal(json_string_value(json_object_get(j, "principal")), "alice");
	json_decref(j);
	resp_free(&r);
	do_req("/btrace",
	       &(struct reqopt){ .headers = (const char *const[]){
					 "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", NULL } },
	       &r);
	j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "trace")), "4bf92f3577b34da6a3ce929d0e0e4736");
	json_decref(j);
	resp_free(&r);
	do_req("/trace",
	       &(struct reqopt){ .headers = (const char *const[]){
					 "traceparent: 00-00000000000000000000000000000000-00f067aa0ba902b7-01", NULL } },
	       &r);
	j = body_json(&r);
	assert_true(json_is_null(json_object_get(j, "trace")));
	json_decref(j);
	resp_free(&r);

	/* a hook answering 401 */
	do_req("/trace", &(struct reqopt){ .headers = (const char *const[]){ "X-Deny: 1", NULL } }, &r);
	json_decref(expect_problem(&r, 401));
	assert_string_equal(hdr(&r, "www-authenticate", id, sizeof(id)), "Bearer");
	resp_free(&r);
	do_req("/btrace", &(struct reqopt){ .headers = (const char *const[]){ "X-Deny: 1", NULL } }, &r);
	json_decref(expect_problem(&r, 401));
	resp_free(&r);

	/* a 20 KB header line: ours, 431 */
	line = malloc(big + 16);
	memcpy(line, "X-Big: ", 7);
	memset(line + 7, 'a', big);
	line[7 + big] = '\0';
	do_req("/json", &(struct reqopt){ .headers = (const char *const[]){ line, NULL } }, &r);
	json_decref(expect_problem(&r, 431));
	resp_free(&r);
	free(line);
	/* a 500 KB header: h2o's own plain 400 before any of our code runs */
	big = 500000;
	line = malloc(big + 16);
	memcpy(line, "X-Big: ", 7);
	memset(line + 7, 'a', big);
	line[7 + big] = '\0';
	do_req("/json", &(struct reqopt){ .headers = (const char *const[]){ line, NULL } }, &r);
	assert_int_equal(r.status, 400);
	resp_free(&r);
	free(line);
}

static void test_head(void **state)
{
	struct resp g, h;
	char a[32], b[32];

	(void)state;
	do_req("/json", NULL, &g);
	do_req("/json", &(struct reqopt){ .method = "HEAD" }, &h);
	assert_int_equal(h.status, 200);
	assert_int_equal(h.body.len, 0);
	assert_string_equal(hdr(&h, "content-length", a, sizeof(a)), hdr(&g, "content-length", b, sizeof(b)));
	resp_free(&g);
	resp_free(&h);
	do_req("/file", &(struct reqopt){ .method = "HEAD", .headers = (const char *const[]){ "Range: bytes=0-9", NULL } },
	       &h);
	assert_int_equal(h.status, 200); /* Range is for GET only */
	assert_int_equal(atoi(hdr(&h, "content-length", a, sizeof(a))), FILE_SIZE);
	resp_free(&h);
	do_req("/pread", &(struct reqopt){ .method = "HEAD" }, &h);
	assert_int_equal(h.status, 200);
	assert_int_equal(atoi(hdr(&h, "content-length", a, sizeof(a))), FILE_SIZE);
	resp_free(&h);
}

/* Range and conditionals on one entity route. */
static void check_entity(const char *path, const unsigned char *bytes, size_t size, const char *etag)
{
	struct resp r;
	char v[128], ims[64];
	const char *range_hdr[] = { "Range: bytes=10-19", NULL };

	do_req(path, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, size);
	assert_memory_equal(r.body.data, bytes, size);
	assert_string_equal(hdr(&r, "etag", v, sizeof(v)), etag);
	assert_string_equal(hdr(&r, "accept-ranges", v, sizeof(v)), "bytes");
	resp_free(&r);

	do_req(path, &(struct reqopt){ .headers = range_hdr }, &r);
	assert_int_equal(r.status, 206);
	assert_int_equal(r.body.len, 10);
	assert_memory_equal(r.body.data, bytes + 10, 10);
	snprintf(ims, sizeof(ims), "bytes 10-19/%zu", size);
	assert_string_equal(hdr(&r, "content-range", v, sizeof(v)), ims);
	resp_free(&r);

	do_req(path, &(struct reqopt){ .headers = (const char *const[]){ "Range: bytes=-5", NULL } }, &r);
	assert_int_equal(r.status, 206);
	assert_memory_equal(r.body.data, bytes + size - 5, 5);
	resp_free(&r);

	do_req(path, &(struct reqopt){ .headers = (const char *const[]){ "Range: bytes=99999999-", NULL } }, &r);
	json_decref(expect_problem(&r, 416));
	snprintf(ims, sizeof(ims), "bytes */%zu", size);
	assert_string_equal(hdr(&r, "content-range", v, sizeof(v)), ims);
	resp_free(&r);

	/* malformed and multiple ranges: ignored, the whole entity */
	do_req(path, &(struct reqopt){ .headers = (const char *const[]){ "Range: bytes=5-1", NULL } }, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, size);
	resp_free(&r);
	do_req(path, &(struct reqopt){ .headers = (const char *const[]){ "Range: bytes=0-1,4-5", NULL } }, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, size);
	resp_free(&r);

	snprintf(v, sizeof(v), "If-None-Match: %s", etag);
	do_req(path, &(struct reqopt){ .headers = (const char *const[]){ v, NULL } }, &r);
	assert_int_equal(r.status, 304);
	assert_int_equal(r.body.len, 0);
	assert_non_null(hdr(&r, "etag", ims, sizeof(ims)));
	resp_free(&r);

	do_req(path, &(struct reqopt){ .headers = (const char *const[]){ "If-Match: \"nope\"", NULL } }, &r);
	json_decref(expect_problem(&r, 412));
	resp_free(&r);

	/* If-Range with a stale tag: the whole entity */
	do_req(path, &(struct reqopt){ .headers = (const char *const[]){ "If-Range: \"old\"", "Range: bytes=0-1", NULL } },
	       &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, size);
	resp_free(&r);
}

static void test_entities(void **state)
{
	struct resp r;
	char v[64];

	(void)state;
	check_entity("/file", file_bytes, FILE_SIZE, FILE_ETAG);
	check_entity("/data", (const unsigned char *)"0123456789abcdefghij", 20, "\"d1\"");
	check_entity("/pread", file_bytes, FILE_SIZE, FILE_ETAG);

	do_req("/file", NULL, &r);
	assert_string_equal(hdr(&r, "last-modified", v, sizeof(v)), "Tue, 14 Nov 2023 22:13:20 GMT");
	assert_string_equal(hdr(&r, "cache-control", v, sizeof(v)), "public, max-age=60");
	resp_free(&r);
	do_req("/file", &(struct reqopt){ .headers = (const char *const[]){ "If-Modified-Since: Tue, 14 Nov 2023 22:13:20 GMT", NULL } }, &r);
	assert_int_equal(r.status, 304);
	resp_free(&r);

	/* HTTP/2 serves the same bytes */
	do_req("/pread", &(struct reqopt){ .h2 = true }, &r);
	assert_int_equal(r.version, CURL_HTTP_VERSION_2_0);
	assert_int_equal(r.body.len, FILE_SIZE);
	assert_memory_equal(r.body.data, file_bytes, FILE_SIZE);
	resp_free(&r);
}

static void test_streams(void **state)
{
	struct resp r;
	char v[64];
	int closed = atomic_load(&stream_closed);

	(void)state;
	do_req("/stream?n=3", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(buf_str(&r.body), "line 3\nline 2\nline 1\n");
	assert_string_equal(hdr(&r, "transfer-encoding", v, sizeof(v)), "chunked");
	resp_free(&r);
	do_req("/bstream?n=20000", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_true(r.body.len > 100000);
	assert_int_equal(strncmp(buf_str(&r.body), "line 20000\n", 11), 0);
	resp_free(&r);
	do_req("/bstream?n=2", &(struct reqopt){ .h2 = true }, &r);
	assert_string_equal(buf_str(&r.body), "line 2\nline 1\n");
	resp_free(&r);
	do_req("/stream?n=2", &(struct reqopt){ .method = "HEAD" }, &r);
	assert_int_equal(r.body.len, 0);
	resp_free(&r);
	for (int i = 0; i < 100 && atomic_load(&stream_closed) < closed + 4; i++)
		usleep(10000);
	assert_int_equal(atomic_load(&stream_closed), closed + 4);
}

/* A blocking route must not hold up a quick one on the same server. */
static void test_blocking_does_not_block(void **state)
{
	CURLM *multi = curl_multi_init();
	CURL *slow[4];
	char url[128];
	struct buf sink = BUF_INIT;
	struct timespec t0, t1;
	struct resp r;
	int running = 1;

	(void)state;
	for (int i = 0; i < 4; i++) {
		slow[i] = curl_easy_init();
		snprintf(url, sizeof(url), "http://127.0.0.1:%u/sleep?ms=700", http_server_port(main_srv.srv));
		curl_easy_setopt(slow[i], CURLOPT_URL, url);
		curl_easy_setopt(slow[i], CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(slow[i], CURLOPT_WRITEDATA, &sink);
		curl_multi_add_handle(multi, slow[i]);
	}
	curl_multi_perform(multi, &running);
	usleep(150000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do_req("/json", NULL, &r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 300);
	while (running) {
		curl_multi_perform(multi, &running);
		curl_multi_poll(multi, NULL, 0, 100, NULL);
	}
	for (int i = 0; i < 4; i++) {
		long status;

		curl_easy_getinfo(slow[i], CURLINFO_RESPONSE_CODE, &status);
		assert_int_equal(status, 200);
		curl_multi_remove_handle(multi, slow[i]);
		curl_easy_cleanup(slow[i]);
	}
	assert_non_null(strstr(buf_str(&sink), "slept 700 ms for /sleep at 127.0.0.1"));
	buf_release(&sink);
	curl_multi_cleanup(multi);
}

/* Clients that give up while the handler (or a blocking body) runs. */
static void test_disconnect(void **state)
{
	struct resp r;
	int done = atomic_load(&sleep_done);
	int opened, closed;

	(void)state;
	do_req("/sleep?ms=600", &(struct reqopt){ .timeout_ms = 150 }, &r);
	assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
	resp_free(&r);
	do_req("/sleep?ms=600", &(struct reqopt){ .timeout_ms = 150, .h2 = true }, &r);
	assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
	resp_free(&r);
	/* a slow blocking stream and a slow pread entity, cut mid-body */
	do_req("/bstream?n=100000&delay_us=2000", &(struct reqopt){ .timeout_ms = 200 }, &r);
	resp_free(&r);
	do_req("/bstream?n=100000&delay_us=2000", &(struct reqopt){ .timeout_ms = 200, .h2 = true }, &r);
	resp_free(&r);
	for (int i = 0; i < 200 && atomic_load(&sleep_done) < done + 2; i++)
		usleep(10000);
	assert_int_equal(atomic_load(&sleep_done), done + 2);
	/* The server is fine and every source got closed. */
	do_req("/json", NULL, &r);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	for (int i = 0; i < 200; i++) {
		opened = atomic_load(&pread_open);
		closed = atomic_load(&pread_closed);
		if (opened == closed)
			break;
		usleep(10000);
	}
	assert_int_equal(opened, closed);
}

static void test_metrics_and_log(void **state)
{
	struct buf out = BUF_INIT;
	struct resp r;
	char *text;
	off_t size;

	(void)state;
	do_req("/json", NULL, &r);
	resp_free(&r);
	do_req("/nope/nothing", NULL, &r);
	resp_free(&r);
	usleep(50000); /* the log callback runs when h2o disposes the request */
	assert_int_equal(metrics_render(reg, &out), 0);
	text = out.data;
	assert_non_null(strstr(text, "tonearm_http_requests_total{route=\"json\",method=\"GET\",status=\"200\"}"));
	assert_non_null(strstr(text, "tonearm_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"}"));
	assert_non_null(strstr(text, "tonearm_http_request_duration_seconds_bucket{route=\"json\""));
	assert_non_null(strstr(text, "tonearm_http_requests_in_flight"));
	assert_null(strstr(text, "nothing")); /* no label from the path */
	buf_release(&out);

	size = lseek(log_fd, 0, SEEK_END);
	text = malloc((size_t)size + 1);
	assert_int_equal(pread(log_fd, text, (size_t)size, 0), size);
	text[size] = '\0';
	assert_non_null(strstr(text, "\"msg\":\"http request\""));
	assert_non_null(strstr(text, "\"route\":\"json\""));
	assert_non_null(strstr(text, "\"path\":\"/items/x\"")); /* no query string in the log */
	assert_null(strstr(text, "n=1000"));
	assert_non_null(strstr(text, "disk /secret/path exploded")); /* 5xx detail goes to the log */
	free(text);
}

/* Stop while a slow blocking request is in flight: it completes, then run() returns. */
static void *slow_client(void *arg)
{
	struct resp *r = arg;

	do_req("/sleep?ms=800", NULL, r);
	return NULL;
}

static void test_stop_drains(void **state)
{
	pthread_t t;
	struct resp r;
	int started = atomic_load(&sleep_started);

	(void)state;
	pthread_create(&t, NULL, slow_client, &r);
	for (int i = 0; i < 200 && atomic_load(&sleep_started) == started; i++)
		usleep(5000);
	http_server_stop(main_srv.srv);
	usleep(100000);
	assert_int_equal(atomic_load(&main_srv.done), 0); /* still draining */
	pthread_join(t, NULL);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(buf_str(&r.body), "slept 800 ms"));
	resp_free(&r);
	for (int i = 0; i < 300 && !atomic_load(&main_srv.done); i++)
		usleep(10000);
	assert_int_equal(atomic_load(&main_srv.done), 1);
	assert_int_equal(main_srv.rc, 0);
}

static void test_bind_errors(void **state)
{
	struct http_server_options o = { .listen = "127.0.0.1:0", .routes = routes, .nroutes = 1 };
	struct err e = ERR_INIT;
	struct http_server *a, *b;
	char addr[64];

	(void)state;
	o.listen = "nonsense";
	assert_null(http_server_new(&o, &e));
	assert_int_equal(e.code, ERR_INVALID);
	o.listen = "[::1]:0";
	a = http_server_new(&o, &e);
	if (a) /* IPv6 may be off in a container */
		http_server_free(a);
	o.listen = "127.0.0.1:0";
	o.threads = 2;
	a = http_server_new(&o, &e);
	assert_non_null(a);
	/* A second server on the same port is refused (SO_REUSEPORT would silently share it). */
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", http_server_port(a));
	o.listen = addr;
	b = http_server_new(&o, &e);
	assert_null(b);
	assert_int_equal(e.code, ERR_UNAVAILABLE);
	http_server_free(a);
	const struct http_route dup[] = { routes[0], routes[0] };
	o.listen = "127.0.0.1:0";
	o.routes = dup;
	o.nroutes = 2;
	assert_null(http_server_new(&o, &e));
	assert_non_null(strstr(e.msg, "duplicate"));
}

static int setup(void **state)
{
	int fd;

	(void)state;
	curl_global_init(CURL_GLOBAL_ALL);
	for (size_t i = 0; i < FILE_SIZE; i++)
		file_bytes[i] = (unsigned char)(i * 31 + (i >> 8));
	snprintf(file_path, sizeof(file_path), "/tmp/tonearm-http-XXXXXX");
	fd = mkstemp(file_path);
	if (fd < 0 || write(fd, file_bytes, FILE_SIZE) != FILE_SIZE)
		return -1;
	close(fd);
	snprintf(log_path, sizeof(log_path), "/tmp/tonearm-http-log-XXXXXX");
	log_fd = mkstemp(log_path);
	if (log_fd < 0)
		return -1;
	log_setup(LOG_INFO, log_fd);
	reg = metrics_new();
	return start(&main_srv, reg);
}

static int teardown(void **state)
{
	(void)state;
	if (!atomic_load(&main_srv.done))
		http_server_stop(main_srv.srv);
	pthread_join(main_srv.tid, NULL);
	http_server_free(main_srv.srv);
	metrics_free(reg);
	unlink(file_path);
	log_setup(LOG_INFO, 2);
	close(log_fd);
	unlink(log_path);
	curl_global_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_route),
		cmocka_unit_test(test_not_found_and_methods),
		cmocka_unit_test(test_bad_paths_and_queries),
		cmocka_unit_test(test_bodies),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_head),
		cmocka_unit_test(test_entities),
		cmocka_unit_test(test_streams),
		cmocka_unit_test(test_blocking_does_not_block),
		cmocka_unit_test(test_disconnect),
		cmocka_unit_test(test_metrics_and_log),
		cmocka_unit_test(test_stop_drains), /* stops the server: keep last */
		cmocka_unit_test(test_bind_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
