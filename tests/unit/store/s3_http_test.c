/* s3_http_test.c — the S3 backend's behaviour on failures a real service rarely shows on
 * demand: 5xx and 429 retries, a transfer cut off midway (resumed with If-Match), a server
 * that ignores Range, a 200 that carries an error, and the exact requests sent.
 *
 * The server here is a real TCP server on 127.0.0.1 that answers each connection with the
 * next response of a script and records what it was asked; it stands in for S3 only where
 * Swift (tests/contract/store_contract_test.c) cannot be made to fail on cue.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/log.h"
#include "store/store.h"

#define MAX_REQ 16

struct fake {
	int lfd, port;
	pthread_t thread;
	const char *const *script; /* raw responses; the connection is closed after each */
	size_t n;
	size_t served;
	char req[MAX_REQ][4096]; /* request line and headers */
	size_t body[MAX_REQ];    /* request body bytes received */
};

static bool has_header(const char *req, const char *name, char *val, size_t valsz)
{
	size_t nl = strlen(name);

	for (const char *p = strstr(req, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
		const char *line = p + 2, *end = strstr(line, "\r\n");
		if (!end || end == line)
			return false;
		if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
			const char *v = line + nl + 1;
			while (*v == ' ')
				v++;
			snprintf(val, valsz, "%.*s", (int)(end - v), v);
			return true;
		}
	}
	return false;
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k <= 0)
			return;
		p += k;
		n -= (size_t)k;
	}
}

/* Send a scripted response; "Content-Length: ?" becomes the length of its body. */
static void respond(int fd, const char *r)
{
	const char *q = strstr(r, "Content-Length: ?"), *body = strstr(r, "\r\n\r\n");
	char len[48];

	if (!q || !body) {
		send_all(fd, r, strlen(r));
		return;
	}
	body += 4;
	snprintf(len, sizeof(len), "Content-Length: %zu", strlen(body));
	send_all(fd, r, (size_t)(q - r));
	send_all(fd, len, strlen(len));
	send_all(fd, q + 17, strlen(q + 17));
}

static void *serve(void *arg)
{
	struct fake *f = arg;

	for (size_t i = 0; i < f->n && i < MAX_REQ; i++) {
		struct pollfd pfd = { f->lfd, POLLIN, 0 };
		char buf[65536], val[64];
		size_t got = 0;
		char *end = NULL;

		if (poll(&pfd, 1, 5000) <= 0)
			break;
		int c = accept(f->lfd, NULL, NULL);
		if (c < 0)
			break;
		while (!end && got < sizeof(f->req[i]) - 1) {
			ssize_t k = recv(c, f->req[i] + got, sizeof(f->req[i]) - 1 - got, 0);
			if (k <= 0)
				break;
			got += (size_t)k;
			f->req[i][got] = '\0';
			end = strstr(f->req[i], "\r\n\r\n");
		}
		size_t head = end ? (size_t)(end + 4 - f->req[i]) : got;
		size_t want = has_header(f->req[i], "Content-Length", val, sizeof(val)) ? strtoull(val, NULL, 10) : 0;
		size_t have = got - head;
		bool expect = has_header(f->req[i], "Expect", val, sizeof(val));
		bool ok = strncmp(f->script[i], "HTTP/1.1 2", 10) == 0;

		f->req[i][head] = '\0';
		if (!expect || ok) {
			if (expect)
				send_all(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
			while (have < want) {
				ssize_t k = recv(c, buf, sizeof(buf), 0);
				if (k <= 0)
					break;
				have += (size_t)k;
			}
			f->body[i] = have;
		}
		respond(c, f->script[i]);
		shutdown(c, SHUT_WR);
		while (recv(c, buf, sizeof(buf), 0) > 0)
			;
		close(c);
		f->served++;
	}
	return NULL;
}

static void fake_start(struct fake *f, const char *const *script, size_t n)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);

	memset(f, 0, sizeof(*f));
	f->script = script;
	f->n = n;
	f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(f->lfd, 16), 0);
	assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&a, &len), 0);
	f->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&f->thread, NULL, serve, f), 0);
}

static void fake_stop(struct fake *f)
{
	shutdown(f->lfd, SHUT_RDWR);
	pthread_join(f->thread, NULL);
	close(f->lfd);
}

static struct store *open_at(const struct fake *f)
{
	static const struct store_options o = { .s3_access_key = "test:tester", .s3_secret_key = "sekrit" };
	char url[200];
	struct err e = ERR_INIT;
	struct store *s;

	snprintf(url, sizeof(url), "s3://bkt?endpoint=http://127.0.0.1:%d&part_size=5242880", f->port);
	s = store_open(url, &o, &e);
	if (!s)
		fail_msg("open: %s", e.msg);
	return s;
}

#define NSCRIPT(a) (sizeof(a) / sizeof((a)[0]))
#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void test_retry_then_ok(void **state)
{
	static const char *const script[] = {
		"HTTP/1.1 503 Slow Down\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 429 Too Many\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nETag: \"abc\"\r\n"
		"Last-Modified: Wed, 21 Oct 2015 07:28:00 GMT\r\n\r\n",
	};
	struct fake f;
	struct err e = ERR_INIT;
	struct store_stat st;
	char v[128];

	(void)state;
	fake_start(&f, script, NSCRIPT(script));
	struct store *s = open_at(&f);
	if (store_stat(s, "dir/obj", &st, &e) < 0)
		fail_msg("stat: %s", e.msg);
	store_close(s);
	fake_stop(&f);
	assert_int_equal(f.served, 3);
	assert_int_equal(st.size, 5);
	assert_string_equal(st.etag, "\"abc\"");
	assert_int_equal(st.mtime, 1445412480);
	/* what was asked, signed */
	assert_memory_equal(f.req[0], "HEAD /bkt/dir/obj HTTP/1.1\r\n", 28);
	assert_true(has_header(f.req[0], "x-amz-content-sha256", v, sizeof(v)));
	assert_string_equal(v, EMPTY_SHA);
	assert_true(has_header(f.req[0], "Authorization", v, sizeof(v)));
	assert_memory_equal(v, "AWS4-HMAC-SHA256 Credential=test:tester/", 40);
	assert_non_null(strstr(v, "/us-east-1/s3/aws4_request"));
	assert_non_null(strstr(v, "x-amz-content-sha256"));
}

static void test_retries_run_out(void **state)
{
	static const char *const script[] = {
		"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 502 Oops\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 503 Oops\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", /* never reached */
	};
	struct fake f;
	struct err e = ERR_INIT;

	(void)state;
	fake_start(&f, script, NSCRIPT(script));
	struct store *s = open_at(&f);
	assert_int_equal(store_delete(s, "k", &e), -1);
	assert_int_equal(e.code, ERR_UNAVAILABLE);
	store_close(s);
	fake_stop(&f);
	assert_int_equal(f.served, 3);
}

static void test_no_retry_on_4xx(void **state)
{
	static const char *const script[] = {
		"HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\nContent-Length: ?\r\n\r\n"
		"<Error><Code>SignatureDoesNotMatch</Code><Message>no</Message></Error>",
		"HTTP/1.1 400 Bad\r\nContent-Length: ?\r\n\r\n"
		"<Error><Code>InvalidArgument</Code><Message>odd</Message></Error>",
		"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
	};
	struct fake f;
	struct err e = ERR_INIT;
	struct buf b = BUF_INIT;

	(void)state;
	fake_start(&f, script, NSCRIPT(script));
	struct store *s = open_at(&f);
	assert_int_equal(store_put(s, "k", "v", 1, &e), -1);
	assert_int_equal(e.code, ERR_FORBIDDEN);
	assert_non_null(strstr(e.msg, "SignatureDoesNotMatch"));
	assert_int_equal(store_read_buf(s, "k", 0, UINT64_MAX, &b, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_non_null(strstr(e.msg, "InvalidArgument: odd"));
	assert_int_equal(b.len, 0); /* an error body never reaches the sink */
	assert_int_equal(store_read_buf(s, "k", 0, UINT64_MAX, &b, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	store_close(s);
	fake_stop(&f);
	assert_int_equal(f.served, 3);
	buf_release(&b);
}

static void test_resume_with_if_match(void **state)
{
	static const char *const script[] = {
		/* promises 10 bytes, sends 5, hangs up */
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nETag: \"v1\"\r\n\r\n01234",
		"HTTP/1.1 206 Partial\r\nContent-Range: bytes 5-9/10\r\nContent-Length: 5\r\nETag: \"v1\"\r\n\r\n56789",
		/* the same, but the object changes in between */
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nETag: \"v1\"\r\n\r\n012",
		"HTTP/1.1 412 Precondition Failed\r\nContent-Length: 0\r\n\r\n",
	};
	struct fake f;
	struct err e = ERR_INIT;
	struct buf b = BUF_INIT;
	char v[64];

	(void)state;
	fake_start(&f, script, NSCRIPT(script));
	struct store *s = open_at(&f);
	if (store_read_buf(s, "obj", 0, UINT64_MAX, &b, &e) < 0)
		fail_msg("read: %s", e.msg);
	assert_string_equal(buf_str(&b), "0123456789");
	buf_reset(&b);
	assert_int_equal(store_read_buf(s, "obj", 0, UINT64_MAX, &b, &e), -1);
	assert_int_equal(e.code, ERR_CONFLICT);
	store_close(s);
	fake_stop(&f);
	assert_int_equal(f.served, 4);
	assert_false(has_header(f.req[0], "Range", v, sizeof(v)));
	assert_false(has_header(f.req[0], "If-Match", v, sizeof(v)));
	assert_true(has_header(f.req[1], "Range", v, sizeof(v)));
	assert_string_equal(v, "bytes=5-");
	assert_true(has_header(f.req[1], "If-Match", v, sizeof(v)));
	assert_string_equal(v, "\"v1\"");
	assert_true(has_header(f.req[3], "Range", v, sizeof(v)));
	assert_string_equal(v, "bytes=3-");
	buf_release(&b);
}

static void test_ranges_from_odd_servers(void **state)
{
	static const char *const script[] = {
		/* Range ignored: the whole object comes back */
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789",
		/* … also for a range past the end */
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789",
		/* a 206 for another range than asked */
		"HTTP/1.1 206 Partial\r\nContent-Range: bytes 0-3/10\r\nContent-Length: 4\r\n\r\n0123",
		/* S3 on an empty object asked for bytes=0-9; then the HEAD that checks it is empty */
		"HTTP/1.1 416 Range Not Satisfiable\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nETag: \"e\"\r\n\r\n",
	};
	struct fake f;
	struct err e = ERR_INIT;
	struct buf b = BUF_INIT;
	char v[64];

	(void)state;
	fake_start(&f, script, NSCRIPT(script));
	struct store *s = open_at(&f);
	if (store_read_buf(s, "obj", 3, 4, &b, &e) < 0)
		fail_msg("read: %s", e.msg);
	assert_string_equal(buf_str(&b), "3456");
	buf_reset(&b);
	assert_int_equal(store_read_buf(s, "obj", 10, 4, &b, &e), -1);
	assert_int_equal(e.code, ERR_RANGE);
	assert_int_equal(store_read_buf(s, "obj", 3, 4, &b, &e), -1);
	assert_int_equal(e.code, ERR_IO);
	assert_int_equal(b.len, 0);
	if (store_read_buf(s, "empty", 0, 10, &b, &e) < 0)
		fail_msg("read empty: %s", e.msg);
	assert_int_equal(b.len, 0);
	store_close(s);
	fake_stop(&f);
	assert_int_equal(f.served, 5);
	assert_true(has_header(f.req[0], "Range", v, sizeof(v)));
	assert_string_equal(v, "bytes=3-6");
	assert_memory_equal(f.req[4], "HEAD /bkt/empty ", 16);
	buf_release(&b);
}

static int stop_sink(void *ud, const void *data, size_t n)
{
	(void)ud;
	(void)data;
	(void)n;
	return 1;
}

static void test_sink_stops(void **state)
{
	static const char *const script[] = {
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789",
	};
	struct fake f;
	struct err e = ERR_INIT;

	(void)state;
	fake_start(&f, script, NSCRIPT(script));
	struct store *s = open_at(&f);
	assert_int_equal(store_read(s, "obj", 0, UINT64_MAX, stop_sink, NULL, &e), -1);
	assert_int_equal(e.code, ERR_IO);
	assert_non_null(strstr(e.msg, "sink"));
	store_close(s);
	fake_stop(&f);
	assert_int_equal(f.served, 1); /* not retried */
}

static void test_put_retried_with_payload_hash(void **state)
{
	static const char *const script[] = {
		"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nETag: \"x\"\r\nContent-Length: 0\r\n\r\n",
	};
	struct fake f;
	struct err e = ERR_INIT;
	char v[80];

	(void)state;
	fake_start(&f, script, NSCRIPT(script));
	struct store *s = open_at(&f);
	if (store_put(s, "a/b c", "abc", 3, &e) == 0)
		fail_msg("a key with a space was accepted");
	if (store_put(s, "a/b~c", "abc", 3, &e) == 0)
		fail_msg("a key with ~ was accepted");
	if (store_put(s, "a/b.c", "abc", 3, &e) < 0)
		fail_msg("put: %s", e.msg);
	store_close(s);
	fake_stop(&f);
	assert_int_equal(f.served, 2);
	for (int i = 0; i < 2; i++) {
		assert_memory_equal(f.req[i], "PUT /bkt/a/b.c HTTP/1.1\r\n", 25);
		assert_true(has_header(f.req[i], "x-amz-content-sha256", v, sizeof(v)));
		assert_string_equal(v, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	}
	assert_int_equal(f.body[1], 3);
}

/* A multipart upload whose CompleteMultipartUpload answers 200 with an error inside: the
 * commit fails and the upload is aborted. */
static void test_multipart_error_in_200(void **state)
{
	static const char *const script[] = {
		"HTTP/1.1 200 OK\r\nContent-Length: ?\r\n\r\n"
		"<InitiateMultipartUploadResult><Key>big</Key><UploadId>u/1+</UploadId></InitiateMultipartUploadResult>",
		"HTTP/1.1 200 OK\r\nETag: \"p1\"\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nETag: \"p2\"\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: ?\r\n\r\n"
		"<Error><Code>InternalError</Code><Message>try again</Message></Error>",
		"HTTP/1.1 204 No Content\r\n\r\n",
	};
	const size_t part = 5 << 20, total = part + 1000;
	char *data = calloc(1, total);
	struct fake f;
	struct err e = ERR_INIT;
	struct store_writer *w;

	(void)state;
	assert_non_null(data);
	fake_start(&f, script, NSCRIPT(script));
	struct store *s = open_at(&f);
	w = store_write_begin(s, "big", &e);
	assert_non_null(w);
	assert_int_equal(store_write(w, data, 3000, &e), 0);
	assert_int_equal(store_write(w, data, total - 3000, &e), 0);
	assert_int_equal(store_write_commit(w, &e), -1);
	assert_int_equal(e.code, ERR_UNAVAILABLE);
	assert_non_null(strstr(e.msg, "InternalError"));
	store_close(s);
	fake_stop(&f);
	free(data);
	assert_int_equal(f.served, 5);
	assert_memory_equal(f.req[0], "POST /bkt/big?uploads= HTTP/1.1\r\n", 33);
	assert_memory_equal(f.req[1], "PUT /bkt/big?partNumber=1&uploadId=u%2F1%2B HTTP/1.1\r\n", 54);
	assert_int_equal(f.body[1], part);
	assert_memory_equal(f.req[2], "PUT /bkt/big?partNumber=2&uploadId=u%2F1%2B HTTP/1.1\r\n", 54);
	assert_int_equal(f.body[2], 1000);
	assert_memory_equal(f.req[3], "POST /bkt/big?uploadId=u%2F1%2B HTTP/1.1\r\n", 42);
	assert_memory_equal(f.req[4], "DELETE /bkt/big?uploadId=u%2F1%2B HTTP/1.1\r\n", 44);
}

static int list_cb(void *ud, const char *k, const struct store_stat *st)
{
	int *n = ud;

	if (*n == 0) {
		assert_string_equal(k, "p/a");
		assert_string_equal(st->etag, "\"1\"");
	} else {
		assert_string_equal(k, "p/b");
		assert_int_equal(st->size, 2);
	}
	++*n;
	return 0;
}

static void test_list_pages(void **state)
{
	static const char *const script[] = {
		"HTTP/1.1 200 OK\r\nContent-Length: ?\r\n\r\n"
		"<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>t/1+=</NextContinuationToken>"
		"<Contents><Key>p/a</Key><Size>1</Size><ETag>&quot;1&quot;</ETag></Contents></ListBucketResult>",
		"HTTP/1.1 200 OK\r\nContent-Length: ?\r\n\r\n"
		"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>p/b</Key><Size>2</Size></Contents>"
		"<Contents><Key>p/bad key</Key><Size>3</Size></Contents></ListBucketResult>",
	};
	struct fake f;
	struct err e = ERR_INIT;
	int n = 0;

	(void)state;
	fake_start(&f, script, NSCRIPT(script));
	struct store *s = open_at(&f);
	assert_int_equal(store_list(s, "p/", list_cb, &n, &e), 0);
	store_close(s);
	fake_stop(&f);
	assert_int_equal(n, 2);
	assert_memory_equal(f.req[0], "GET /bkt?list-type=2&prefix=p%2F HTTP/1.1\r\n", 43);
	assert_memory_equal(f.req[1], "GET /bkt?continuation-token=t%2F1%2B%3D&list-type=2&prefix=p%2F HTTP", 68);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retry_then_ok),
		cmocka_unit_test(test_retries_run_out),
		cmocka_unit_test(test_no_retry_on_4xx),
		cmocka_unit_test(test_resume_with_if_match),
		cmocka_unit_test(test_ranges_from_odd_servers),
		cmocka_unit_test(test_sink_stops),
		cmocka_unit_test(test_put_retried_with_payload_hash),
		cmocka_unit_test(test_multipart_error_in_200),
		cmocka_unit_test(test_list_pages),
	};

	log_setup(LOG_ERROR, 2); /* the retries' warnings are expected here */
	return cmocka_run_group_tests_name("store/s3_http", tests, NULL, NULL);
}
