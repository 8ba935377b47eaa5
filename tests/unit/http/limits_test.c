/* limits_test.c — the rate-limit policy and the answer headers in a real server on
 * 127.0.0.1 (src/http/limits.c, src/http/headers.c): trusted X-Forwarded-For, named and
 * per-account buckets, exemptions, the limit reached on the loop before a blocking route
 * is queued, RateLimit headers, CSP on HTML only, CORS, and bad configuration refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "http/http.h"
#include "http/limits.h"

const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:h2o_mem_alloc_recycle\nleak:h2o_multithread_create_queue\n";
}

static atomic_int blocking_runs;

static void h_peer(struct http_req *req, void *app)
{
	const char *p = http_req_peer(req);

	(void)app;
	http_res_send(req, 200, "text/plain", p, strlen(p));
}

static void h_html(struct http_req *req, void *app)
{
	(void)app;
	http_res_send(req, 200, "text/html; charset=utf-8", "<p>hi</p>", 9);
}

static void h_block(struct http_req *req, void *app)
{
	(void)app;
	atomic_fetch_add(&blocking_runs, 1);
	http_res_send(req, 204, NULL, NULL, 0);
}

static const struct http_route routes[] = {
	{ HTTP_GET, "/peer", h_peer, HTTP_QUICK, 0, "peer" },
	{ HTTP_GET, "/html", h_html, HTTP_QUICK, 0, "html" },
	{ HTTP_GET, "/health", h_peer, HTTP_QUICK, 0, "health" },
	{ HTTP_POST, "/login", h_block, HTTP_BLOCKING, 0, "login" },
	{ HTTP_GET, "/block", h_block, HTTP_BLOCKING, 0, "block" },
};

/* The test's "principal": an X-User header (the real server uses the auth hook's). */
static const char *account_of(const struct http_req *req)
{
	return http_req_header(req, "x-user");
}

static const struct http_hook hooks[] = { { "account", http_limits_account_hook } };

static struct http_server *srv;
static struct http_limits *lim;
static pthread_t tid;
static char base[64];

static void *run(void *arg)
{
	struct err e = ERR_INIT;

	(void)arg;
	http_server_run(srv, &e);
	return NULL;
}

static int setup(void **state)
{
	static const struct http_limit_named named[] = { { "login", { 1.0 / 60, 2 } } };
	struct http_limits_options lo = {
		.per_ip = { 1, 5 },
		.per_account = { 1, 3 },
		.named = named,
		.nnamed = 1,
		.exempt = " health , metrics",
		.trusted_proxies = "127.0.0.1,10.0.0.9",
		.account_of = account_of,
	};
	struct http_server_options o = { .listen = "127.0.0.1:0", .threads = 2, .handler_threads = 2,
					 .routes = routes, .nroutes = sizeof(routes) / sizeof(routes[0]),
					 .hooks = hooks, .nhooks = 1,
					 .cors_origins = "https://a.example, https://b.example:8443/" };
	struct err e = ERR_INIT;

	(void)state;
	lim = http_limits_new(&lo, &e);
	if (!lim)
		return -1;
	o.limits = lim;
	srv = http_server_new(&o, &e);
	if (!srv)
		return -1;
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", http_server_port(srv));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return pthread_create(&tid, NULL, run, NULL) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	http_server_stop(srv);
	pthread_join(tid, NULL);
	http_server_free(srv);
	http_limits_free(lim);
	curl_global_cleanup();
	return 0;
}

struct res {
	long status;
	struct buf headers, body;
};

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
	return buf_add(ud, p, sz * n) == 0 ? sz * n : 0;
}

/* GET/POST `path` with the given extra header lines (NULL-terminated). */
static void fetch(struct res *r, const char *method, const char *path, const char *const *hdrs)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hl = NULL;
	char url[256];

	buf_init(&r->headers, 1 << 16);
	buf_init(&r->body, 1 << 16);
	snprintf(url, sizeof(url), "%s%s", base, path);
	for (; hdrs && *hdrs; hdrs++)
		hl = curl_slist_append(hl, *hdrs);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "POST") == 0)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{}");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
}

static void res_release(struct res *r)
{
	buf_release(&r->headers);
	buf_release(&r->body);
}

/* The value of response header `name` (lower case) in a static buffer, or NULL. */
static const char *hdr(const struct res *r, const char *name)
{
	static char v[512];
	const char *h = buf_str(&r->headers);
	size_t n = strlen(name);

	for (const char *l = h; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncasecmp(l, name, n) == 0 && l[n] == ':') {
			const char *s = l + n + 1, *e = strpbrk(s, "\r\n");

			while (*s == ' ')
				s++;
			snprintf(v, sizeof(v), "%.*s", (int)(e ? e - s : (long)strlen(s)), s);
			return v;
		}
	}
	return NULL;
}

static void forwarded_for_from_trusted_proxies(void **state)
{
	struct res r;

	(void)state;
	/* The right-most entry that is not a trusted proxy; spaces trimmed. */
	fetch(&r, "GET", "/peer", (const char *const[]){ "X-Forwarded-For: 203.0.113.1, 198.51.100.2 ,10.0.0.9", NULL });
	assert_int_equal(r.status, 200);
	assert_string_equal(buf_str(&r.body), "198.51.100.2");
	res_release(&r);
	/* Garbage ends the walk: the last good address stands. */
	fetch(&r, "GET", "/peer", (const char *const[]){ "X-Forwarded-For: not-an-ip, 2001:db8::7", NULL });
	assert_string_equal(buf_str(&r.body), "2001:db8::7");
	res_release(&r);
	fetch(&r, "GET", "/peer", (const char *const[]){ "X-Forwarded-For: <script>", NULL });
	assert_string_equal(buf_str(&r.body), "127.0.0.1");
	res_release(&r);
}

static void per_address_limit_with_headers(void **state)
{
	const char *const h[] = { "X-Forwarded-For: 192.0.2.1", NULL };
	struct res r;

	(void)state;
	for (int i = 0; i < 5; i++) {
		fetch(&r, "GET", "/peer", h);
		assert_int_equal(r.status, 200);
		assert_string_equal(hdr(&r, "ratelimit-limit"), "5");
		assert_int_equal(atoi(hdr(&r, "ratelimit-remaining")), 4 - i);
		assert_non_null(hdr(&r, "ratelimit-reset"));
		res_release(&r);
	}
	fetch(&r, "GET", "/peer", h);
	assert_int_equal(r.status, 429);
	assert_string_equal(hdr(&r, "retry-after"), "1");
	assert_string_equal(hdr(&r, "ratelimit-remaining"), "0");
	assert_non_null(strstr(hdr(&r, "content-type"), "problem+json"));
	res_release(&r);
	/* Exempt routes and other addresses are served. */
	fetch(&r, "GET", "/health", h);
	assert_int_equal(r.status, 200);
	assert_null(hdr(&r, "ratelimit-limit"));
	res_release(&r);
	fetch(&r, "GET", "/peer", (const char *const[]){ "X-Forwarded-For: 192.0.2.2", NULL });
	assert_int_equal(r.status, 200);
	res_release(&r);
}

/* IPv6 clients share a bucket per /64: rotating the interface id buys nothing. */
static void ipv6_by_prefix(void **state)
{
	char xff[80];
	struct res r;

	(void)state;
	for (int i = 0; i < 6; i++) {
		snprintf(xff, sizeof(xff), "X-Forwarded-For: 2001:db8:1:2::%x", i + 1);
		fetch(&r, "GET", "/peer", (const char *const[]){ xff, NULL });
		assert_int_equal(r.status, i < 5 ? 200 : 429);
		res_release(&r);
	}
	fetch(&r, "GET", "/peer", (const char *const[]){ "X-Forwarded-For: 2001:db8:1:3::1", NULL });
	assert_int_equal(r.status, 200);
	res_release(&r);
}

/* The named bucket is refused on the loop: the blocking handler never runs. */
static void named_bucket_before_the_pool(void **state)
{
	const char *const h[] = { "X-Forwarded-For: 192.0.2.30", NULL };
	struct res r;
	int before = atomic_load(&blocking_runs);

	(void)state;
	for (int i = 0; i < 2; i++) {
		fetch(&r, "POST", "/login", h);
		assert_int_equal(r.status, 204);
		assert_string_equal(hdr(&r, "ratelimit-limit"), "2");
		res_release(&r);
	}
	for (int i = 0; i < 3; i++) {
		fetch(&r, "POST", "/login", h);
		assert_int_equal(r.status, 429);
		/* One a minute: about a minute to wait. */
		assert_true(atoi(hdr(&r, "retry-after")) >= 55);
		res_release(&r);
	}
	assert_int_equal(atomic_load(&blocking_runs), before + 2);
}

static void per_account_bucket(void **state)
{
	struct res r;

	(void)state;
	for (int i = 0; i < 3; i++) {
		/* A fresh address each time: only the account's bucket runs out. */
		char xff[64];

		snprintf(xff, sizeof(xff), "X-Forwarded-For: 192.0.2.%d", 100 + i);
		fetch(&r, "GET", "/block", (const char *const[]){ xff, "X-User: u1", NULL });
		assert_int_equal(r.status, 204);
		/* The tighter bucket (the account's: 3) is the one described. */
		assert_string_equal(hdr(&r, "ratelimit-limit"), "3");
		res_release(&r);
	}
	fetch(&r, "GET", "/block", (const char *const[]){ "X-Forwarded-For: 192.0.2.110", "X-User: u1", NULL });
	assert_int_equal(r.status, 429);
	assert_non_null(strstr(buf_str(&r.body), "account"));
	res_release(&r);
	fetch(&r, "GET", "/block", (const char *const[]){ "X-Forwarded-For: 192.0.2.111", "X-User: u2", NULL });
	assert_int_equal(r.status, 204);
	res_release(&r);
}

static void security_headers_and_csp_on_html(void **state)
{
	struct res r;

	(void)state;
	fetch(&r, "GET", "/html", (const char *const[]){ "X-Forwarded-For: 192.0.2.50", NULL });
	assert_int_equal(r.status, 200);
	assert_string_equal(hdr(&r, "x-content-type-options"), "nosniff");
	assert_string_equal(hdr(&r, "referrer-policy"), "no-referrer");
	assert_string_equal(hdr(&r, "x-frame-options"), "DENY");
	assert_non_null(strstr(hdr(&r, "content-security-policy"), "frame-ancestors 'none'"));
	assert_non_null(strstr(hdr(&r, "content-security-policy"), "default-src 'self'"));
	assert_null(hdr(&r, "strict-transport-security"));
	res_release(&r);
	fetch(&r, "GET", "/peer", (const char *const[]){ "X-Forwarded-For: 192.0.2.50", NULL });
	assert_null(hdr(&r, "content-security-policy"));
	assert_string_equal(hdr(&r, "x-content-type-options"), "nosniff");
	res_release(&r);
	/* A 404 nobody routed carries them too. */
	fetch(&r, "GET", "/nope", NULL);
	assert_int_equal(r.status, 404);
	assert_string_equal(hdr(&r, "x-frame-options"), "DENY");
	res_release(&r);
}

static void cors_exact_origins(void **state)
{
	struct res r;

	(void)state;
	/* The configured trailing slash is not part of the origin. */
	fetch(&r, "OPTIONS", "/block",
	      (const char *const[]){ "Origin: https://b.example:8443", "Access-Control-Request-Method: GET",
				     "Access-Control-Request-Headers: x-ok, x-evil<script>", NULL });
	assert_int_equal(r.status, 204);
	assert_string_equal(hdr(&r, "access-control-allow-origin"), "https://b.example:8443");
	assert_string_equal(hdr(&r, "access-control-allow-headers"), "authorization, content-type");
	assert_null(hdr(&r, "access-control-allow-credentials"));
	res_release(&r);
	/* A sane list of header names is echoed. */
	fetch(&r, "OPTIONS", "/block",
	      (const char *const[]){ "Origin: https://a.example", "Access-Control-Request-Method: POST",
				     "Access-Control-Request-Headers: x-custom, content-type", NULL });
	assert_string_equal(hdr(&r, "access-control-allow-headers"), "x-custom, content-type");
	res_release(&r);
	fetch(&r, "OPTIONS", "/block",
	      (const char *const[]){ "Origin: https://a.example.evil", "Access-Control-Request-Method: GET", NULL });
	assert_int_equal(r.status, 403);
	assert_null(hdr(&r, "access-control-allow-origin"));
	res_release(&r);
	fetch(&r, "GET", "/peer", (const char *const[]){ "Origin: https://a.example", "X-Forwarded-For: 192.0.2.60", NULL });
	assert_string_equal(hdr(&r, "access-control-allow-origin"), "https://a.example");
	assert_string_equal(hdr(&r, "vary"), "Origin");
	res_release(&r);
	fetch(&r, "GET", "/peer", (const char *const[]){ "Origin: null", "X-Forwarded-For: 192.0.2.60", NULL });
	assert_null(hdr(&r, "access-control-allow-origin"));
	res_release(&r);
}

static void bad_configuration_refused(void **state)
{
	struct http_limits_options lo = { .trusted_proxies = "127.0.0.1, example.com" };
	struct http_server_options o = { .listen = "127.0.0.1:0", .threads = 1, .routes = routes, .nroutes = 1,
					 .cors_origins = "*" };
	struct err e = ERR_INIT;

	(void)state;
	assert_null(http_limits_new(&lo, &e));
	assert_non_null(strstr(e.msg, "example.com"));
	err_clear(&e);
	assert_null(http_server_new(&o, &e));
	assert_non_null(strstr(e.msg, "cors_origins"));
	err_clear(&e);
	o.cors_origins = NULL;
	o.tls_cert = "/nonexistent/cert.pem";
	o.tls_key = "/nonexistent/key.pem";
	assert_null(http_server_new(&o, &e));
	assert_non_null(strstr(e.msg, "/nonexistent/cert.pem"));
	err_clear(&e);
	o.tls_key = NULL;
	assert_null(http_server_new(&o, &e));
	assert_non_null(strstr(e.msg, "tls_key"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(forwarded_for_from_trusted_proxies),
		cmocka_unit_test(per_address_limit_with_headers),
		cmocka_unit_test(ipv6_by_prefix),
		cmocka_unit_test(named_bucket_before_the_pool),
		cmocka_unit_test(per_account_bucket),
		cmocka_unit_test(security_headers_and_csp_on_html),
		cmocka_unit_test(cors_exact_origins),
		cmocka_unit_test(bad_configuration_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
