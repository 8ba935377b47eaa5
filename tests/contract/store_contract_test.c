/* store_contract_test.c — one suite, run against every store backend.
 *
 * The file backend always runs (in a temporary directory). The S3 backend runs when
 * TA_TEST_S3 names a bucket URL, with TA_TEST_S3_ACCESS_KEY / TA_TEST_S3_SECRET_KEY
 * (default test:tester / testing, the Swift set-up of tests/lib/swift.sh):
 *
 *   D=$(mktemp -d); rmdir "$D"; set -a; eval "$(tests/lib/swift.sh start "$D")"; set +a
 *   build/contract_store_contract_test; tests/lib/swift.sh stop "$D"
 *
 * Each run works under a fresh key prefix and removes what it wrote. Backend-specific
 * checks (stale temporaries, wrong credentials, unreachable endpoints) are in
 * store_backends_test.c.
 */
#include "contract/store_common.h"

/* ---- the shared suite ------------------------------------------------------------------ */

static void test_name_and_ping(void **state)
{
	struct fixture *fx = *state;
	struct err e = ERR_INIT;
	const char *name = store_backend_name(fx->s);

	assert_true(strcmp(name, "file") == 0 || strcmp(name, "s3") == 0);
	assert_int_equal(store_ping(fx->s, &e), 0);
}

static void test_put_read_stat_delete(void **state)
{
	struct fixture *fx = *state;
	struct err e = ERR_INIT;
	struct store_stat st, st2;
	struct buf b;
	char k[256];
	time_t now = time(NULL);

	key(fx, k, sizeof(k), "basic/hello.txt");
	put_text(fx, k, "hello, world");
	assert_int_equal(read_range(fx, k, 0, UINT64_MAX, &b, &e), 0);
	assert_int_equal(b.len, 12);
	assert_memory_equal(b.data, "hello, world", 12);
	buf_release(&b);

	assert_int_equal(store_stat(fx->s, k, &st, &e), 0);
	assert_int_equal(st.size, 12);
	assert_true(st.mtime > now - 3600 && st.mtime < now + 3600);
	size_t el = strlen(st.etag);
	assert_true(el >= 3 && st.etag[0] == '"' && st.etag[el - 1] == '"');

	/* new bytes, new ETag; the read sees the new bytes */
	put_text(fx, k, "hello, there");
	assert_int_equal(store_stat(fx->s, k, &st2, &e), 0);
	assert_string_not_equal(st.etag, st2.etag);
	assert_int_equal(read_range(fx, k, 0, UINT64_MAX, &b, &e), 0);
	assert_memory_equal(b.data, "hello, there", 12);
	buf_release(&b);

	assert_int_equal(store_delete(fx->s, k, &e), 0);
	assert_int_equal(store_stat(fx->s, k, &st, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	/* deleting what is absent is fine */
	assert_int_equal(store_delete(fx->s, k, &e), 0);
}

/* An unsynced commit is a commit (visible at once, same bytes, same stat); store_sync then
 * succeeds, also with nothing to sync. */
static void test_commit_unsynced(void **state)
{
	struct fixture *fx = *state;
	struct err e = ERR_INIT;
	struct store_writer *w;
	struct store_stat st;
	struct buf b;
	char k[256], k2[256];

	key(fx, k, sizeof(k), "unsynced/a/one.bin");
	key(fx, k2, sizeof(k2), "unsynced/two.bin");
	w = store_write_begin(fx->s, k, &e);
	assert_non_null(w);
	assert_int_equal(store_write(w, "first ", 6, &e), 0);
	assert_int_equal(store_write(w, "object", 6, &e), 0);
	assert_int_equal(store_write_commit_unsynced(w, &e), 0);
	w = store_write_begin(fx->s, k2, &e);
	assert_non_null(w);
	assert_int_equal(store_write(w, "second", 6, &e), 0);
	assert_int_equal(store_write_commit_unsynced(w, &e), 0);
	assert_int_equal(store_stat(fx->s, k, &st, &e), 0);
	assert_int_equal(st.size, 12);
	assert_int_equal(read_range(fx, k, 0, UINT64_MAX, &b, &e), 0);
	assert_memory_equal(b.data, "first object", 12);
	buf_release(&b);
	assert_int_equal(store_sync(fx->s, &e), 0);
	assert_int_equal(store_sync(fx->s, &e), 0);
	assert_int_equal(read_range(fx, k2, 0, UINT64_MAX, &b, &e), 0);
	assert_memory_equal(b.data, "second", 6);
	buf_release(&b);
	assert_int_equal(store_delete(fx->s, k, &e), 0);
	assert_int_equal(store_delete(fx->s, k2, &e), 0);
}

static void test_missing_key(void **state)
{
	struct fixture *fx = *state;
	struct err e = ERR_INIT;
	struct store_stat st;
	struct buf b;
	char k[256];

	key(fx, k, sizeof(k), "missing/nothing-here");
	assert_int_equal(read_range(fx, k, 0, UINT64_MAX, &b, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_int_equal(b.len, 0);
	buf_release(&b);
	err_clear(&e);
	assert_int_equal(read_range(fx, k, 10, 5, &b, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	buf_release(&b);
	err_clear(&e);
	assert_int_equal(store_stat(fx->s, k, &st, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
}

static void test_empty_object(void **state)
{
	struct fixture *fx = *state;
	struct err e = ERR_INIT;
	struct store_stat st;
	struct buf b;
	char k[256];

	key(fx, k, sizeof(k), "empty/zero");
	assert_int_equal(store_put(fx->s, k, "", 0, &e), 0);
	assert_int_equal(store_stat(fx->s, k, &st, &e), 0);
	assert_int_equal(st.size, 0);
	assert_int_equal(read_range(fx, k, 0, UINT64_MAX, &b, &e), 0);
	assert_int_equal(b.len, 0);
	buf_release(&b);
	assert_int_equal(read_range(fx, k, 0, 100, &b, &e), 0);
	assert_int_equal(b.len, 0);
	buf_release(&b);
	assert_int_equal(read_range(fx, k, 1, UINT64_MAX, &b, &e), -1);
	assert_int_equal(e.code, ERR_RANGE);
	buf_release(&b);
	assert_int_equal(store_delete(fx->s, k, &e), 0);
}

static void test_ranges(void **state)
{
	struct fixture *fx = *state;
	struct err e = ERR_INIT;
	unsigned char data[1000];
	struct gen g = { 42 };
	struct buf b;
	char k[256];
	static const struct { uint64_t off, len, want_off, want_len; } ok[] = {
		{ 0, 10, 0, 10 },             /* start */
		{ 500, 100, 500, 100 },       /* middle */
		{ 990, UINT64_MAX, 990, 10 }, /* suffix to the end */
		{ 995, 100, 995, 5 },         /* running past the end is cut */
		{ 999, 1, 999, 1 },           /* the last byte */
		{ 0, 1000, 0, 1000 },         /* exactly all */
		{ 7, UINT64_MAX - 3, 7, 993 }, /* off + len overflows */
		{ 300, 0, 300, 0 },           /* nothing, inside */
	};

	gen_fill(&g, data, sizeof(data));
	key(fx, k, sizeof(k), "ranges/obj");
	assert_int_equal(store_put(fx->s, k, data, sizeof(data), &e), 0);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (read_range(fx, k, ok[i].off, ok[i].len, &b, &e) < 0)
			fail_msg("range %zu: %s", i, e.msg);
		assert_int_equal(b.len, ok[i].want_len);
		if (b.len)
			assert_memory_equal(b.data, data + ok[i].want_off, ok[i].want_len);
		buf_release(&b);
	}
	static const uint64_t past[] = { 1000, 1001, 5000, UINT64_MAX };
	for (size_t i = 0; i < sizeof(past) / sizeof(past[0]); i++) {
		err_clear(&e);
		assert_int_equal(read_range(fx, k, past[i], 10, &b, &e), -1);
		assert_int_equal(e.code, ERR_RANGE);
		assert_int_equal(b.len, 0);
		buf_release(&b);
	}
	/* a buffer too small for the read is left as it was */
	buf_init(&b, 100);
	buf_adds(&b, "keep");
	assert_int_equal(store_read_buf(fx->s, k, 0, UINT64_MAX, &b, &e), -1);
	assert_int_equal(e.code, ERR_TOO_LARGE);
	assert_string_equal(buf_str(&b), "keep");
	buf_release(&b);
	assert_int_equal(store_delete(fx->s, k, &e), 0);
}

static void test_invalid_keys(void **state)
{
	struct fixture *fx = *state;
	char big[2048 + 1], seg[300], edge[STORE_KEY_MAX + 2];
	const char *bad[] = { "../x", "/x", "a//b", "", "a/./b", "a/..", "x/", ".", "..", "a b",
			      "a\x01z", "a\nb", "caf\xc3\xa9", "a?b", "a%2Fb", "a\\b", big, seg, NULL };
	struct err e;
	struct store_stat st;
	struct buf b = BUF_INIT;
	int fd;

	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memset(seg, 's', sizeof(seg) - 1); /* one segment longer than 255 */
	seg[sizeof(seg) - 1] = '\0';
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *k = bad[i];

		err_clear(&e);
		assert_int_equal(store_put(fx->s, k, "x", 1, &e), -1);
		assert_int_equal(e.code, ERR_INVALID);
		err_clear(&e);
		assert_int_equal(store_read_buf(fx->s, k, 0, UINT64_MAX, &b, &e), -1);
		assert_int_equal(e.code, ERR_INVALID);
		err_clear(&e);
		assert_int_equal(store_stat(fx->s, k, &st, &e), -1);
		assert_int_equal(e.code, ERR_INVALID);
		err_clear(&e);
		assert_int_equal(store_delete(fx->s, k, &e), -1);
		assert_int_equal(e.code, ERR_INVALID);
		err_clear(&e);
		assert_null(store_write_begin(fx->s, k, &e));
		assert_int_equal(e.code, ERR_INVALID);
		err_clear(&e);
		assert_int_equal(store_open_fd(fx->s, k, &fd, &st, &e), -1);
		assert_int_equal(e.code, ERR_INVALID);
	}
	buf_release(&b);
	/* the longest valid key: 1024 bytes in segments of at most 255 */
	memset(edge, 'e', sizeof(edge));
	size_t pl = strlen(fx->prefix);
	memcpy(edge, fx->prefix, pl);
	for (size_t i = pl + 200; i < STORE_KEY_MAX; i += 200)
		edge[i] = '/';
	edge[STORE_KEY_MAX] = '\0';
	err_clear(&e);
	if (store_put(fx->s, edge, "edge", 4, &e) < 0)
		fail_msg("1024-byte key: %s", e.msg);
	assert_int_equal(store_stat(fx->s, edge, &st, &e), 0);
	assert_int_equal(st.size, 4);
	assert_int_equal(store_delete(fx->s, edge, &e), 0);
	edge[STORE_KEY_MAX] = 'e';
	edge[STORE_KEY_MAX + 1] = '\0';
	assert_int_equal(store_put(fx->s, edge, "edge", 4, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	/* a bad prefix is refused too */
	struct collect c = { 0 };
	assert_int_equal(store_list(fx->s, "../", collect_cb, &c, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_int_equal(store_list(fx->s, "a//", collect_cb, &c, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_int_equal(c.n, 0);
}

static void test_list_order_and_prefix(void **state)
{
	struct fixture *fx = *state;
	/* in byte order: 'B' < '-' < '.' < '/' < '0' < 'b' ('-' 0x2d, '.' 0x2e, '/' 0x2f) */
	static const char *names[] = { "B", "a-c", "a.x", "a/b", "a/c", "a0", "b/c/d" };
	const size_t n = sizeof(names) / sizeof(names[0]);
	struct collect c = { 0 };
	struct err e = ERR_INIT;
	char k[256], p[256];

	for (size_t i = n; i-- > 0;) /* written in reverse: order must come from the store */
		put_text(fx, key(fx, k, sizeof(k), "list/%s", names[i]), names[i]);

	list_into(fx, key(fx, p, sizeof(p), "list/"), &c);
	assert_int_equal(c.n, n);
	for (size_t i = 0; i < n; i++) {
		struct store_stat st;

		assert_string_equal(c.keys[i], key(fx, k, sizeof(k), "list/%s", names[i]));
		assert_int_equal(c.st[i].size, strlen(names[i]));
		assert_int_equal(store_stat(fx->s, k, &st, &e), 0);
		assert_string_equal(c.st[i].etag, st.etag);
	}
	collect_free(&c);

	/* a partial segment as prefix */
	list_into(fx, key(fx, p, sizeof(p), "list/a"), &c);
	assert_int_equal(c.n, 5);
	assert_string_equal(c.keys[0], key(fx, k, sizeof(k), "list/a-c"));
	assert_string_equal(c.keys[4], key(fx, k, sizeof(k), "list/a0"));
	collect_free(&c);
	list_into(fx, key(fx, p, sizeof(p), "list/a/"), &c);
	assert_int_equal(c.n, 2);
	collect_free(&c);
	list_into(fx, key(fx, p, sizeof(p), "list/b/c/d"), &c);
	assert_int_equal(c.n, 1);
	collect_free(&c);
	list_into(fx, key(fx, p, sizeof(p), "list/nothing"), &c);
	assert_int_equal(c.n, 0);
	collect_free(&c);

	/* the callback stops the walk, and its value comes back */
	c.stop_after = 2;
	c.stop_value = 7;
	assert_int_equal(store_list(fx->s, key(fx, p, sizeof(p), "list/"), collect_cb, &c, &e), 7);
	assert_int_equal(c.n, 2);
	collect_free(&c);

	for (size_t i = 0; i < n; i++)
		assert_int_equal(store_delete(fx->s, key(fx, k, sizeof(k), "list/%s", names[i]), &e), 0);
	list_into(fx, key(fx, p, sizeof(p), "list/"), &c);
	assert_int_equal(c.n, 0);
	collect_free(&c);
}

#define MANY 1100
#define MANY_THREADS 8

struct many_job {
	struct fixture *fx;
	int first, step;
	bool del;
	int failures;
	struct err e;
};

static void *many_worker(void *arg)
{
	struct many_job *j = arg;

	for (int i = j->first; i < MANY; i += j->step) {
		char k[256], v[16];
		int r;

		snprintf(k, sizeof(k), "%smany/k%04d", j->fx->prefix, i);
		snprintf(v, sizeof(v), "%d", i);
		r = j->del ? store_delete(j->fx->s, k, &j->e) : store_put(j->fx->s, k, v, strlen(v), &j->e);
		if (r < 0)
			j->failures++;
	}
	return NULL;
}

static void run_many(struct fixture *fx, bool del)
{
	pthread_t t[MANY_THREADS];
	struct many_job j[MANY_THREADS];

	for (int i = 0; i < MANY_THREADS; i++) {
		j[i] = (struct many_job){ .fx = fx, .first = i, .step = MANY_THREADS, .del = del };
		assert_int_equal(pthread_create(&t[i], NULL, many_worker, &j[i]), 0);
	}
	for (int i = 0; i < MANY_THREADS; i++) {
		pthread_join(t[i], NULL);
		if (j[i].failures)
			fail_msg("%s: %d failures, last: %s", del ? "delete" : "put", j[i].failures, j[i].e.msg);
	}
}

/* More than one page of an S3 listing (1000), written from several threads at once. */
static void test_list_many(void **state)
{
	struct fixture *fx = *state;
	struct collect c = { 0 };
	char p[256], k[256];

	run_many(fx, false);
	list_into(fx, key(fx, p, sizeof(p), "many/"), &c);
	assert_int_equal(c.n, MANY);
	for (size_t i = 0; i < c.n; i++) {
		assert_string_equal(c.keys[i], key(fx, k, sizeof(k), "many/k%04zu", i));
		assert_int_equal(c.st[i].size, snprintf(NULL, 0, "%zu", i));
	}
	collect_free(&c);
	run_many(fx, true);
	list_into(fx, p, &c);
	assert_int_equal(c.n, 0);
	collect_free(&c);
}

/* 20 MiB through a writer in odd-sized chunks (a multipart upload on S3), read back exactly. */
static void test_stream_write(void **state)
{
	struct fixture *fx = *state;
	static const size_t chunks[] = { 1, 4093, 65537, 1000003, 7, 3 * MiB + 11, 999 };
	const size_t total = 20 * MiB;
	unsigned char *buf = malloc(4 * MiB);
	struct gen g = { 7 };
	struct err e = ERR_INIT;
	struct store_stat st;
	struct store_writer *w;
	char k[256];
	size_t done = 0;

	assert_non_null(buf);
	key(fx, k, sizeof(k), "stream/big.bin");
	w = store_write_begin(fx->s, k, &e);
	assert_non_null(w);
	for (size_t i = 0; done < total; i++) {
		size_t n = chunks[i % (sizeof(chunks) / sizeof(chunks[0]))];
		if (n > total - done)
			n = total - done;
		gen_fill(&g, buf, n);
		if (store_write(w, buf, n, &e) < 0) {
			store_write_abort(w);
			fail_msg("write: %s", e.msg);
		}
		done += n;
	}
	if (store_write_commit(w, &e) < 0)
		fail_msg("commit: %s", e.msg);
	free(buf);

	assert_int_equal(store_stat(fx->s, k, &st, &e), 0);
	assert_int_equal(st.size, total);

	struct cmp_sink cs = { { 7 }, 0, false };
	if (store_read(fx->s, k, 0, UINT64_MAX, cmp_sink, &cs, &e) < 0)
		fail_msg("read: %s", e.msg);
	assert_int_equal(cs.seen, total);
	assert_false(cs.differs);

	/* a range across the first 8 MiB part boundary */
	struct buf b;
	unsigned char want[200];
	struct gen g2 = { 7 };
	unsigned char skip[4096];
	for (size_t left = 8 * MiB - 100; left > 0;) {
		size_t n = left < sizeof(skip) ? left : sizeof(skip);
		gen_fill(&g2, skip, n);
		left -= n;
	}
	gen_fill(&g2, want, sizeof(want));
	assert_int_equal(read_range(fx, k, 8 * MiB - 100, 200, &b, &e), 0);
	assert_int_equal(b.len, 200);
	assert_memory_equal(b.data, want, 200);
	buf_release(&b);
	assert_int_equal(store_delete(fx->s, k, &e), 0);
}

static size_t tmp_entries(const struct fixture *fx)
{
	char path[600];
	DIR *d;
	struct dirent *de;
	size_t n = 0;

	fmt(path, sizeof(path), "%s/.tmp~", fx->root);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static size_t uploads(struct fixture *fx, const char *k)
{
	struct err e = ERR_INIT;
	size_t n = 0;

	if (store_s3_count_uploads(fx->s, k, &n, &e) < 0)
		fail_msg("count uploads: %s", e.msg);
	return n;
}

/* Nothing is visible before commit; an abort leaves nothing behind, not even a pending
 * multipart upload (9 MiB: past one 8 MiB part). */
static void test_invisible_then_abort(void **state)
{
	struct fixture *fx = *state;
	const size_t n = 9 * MiB;
	unsigned char *data = malloc(n);
	struct gen g = { 9 };
	struct err e = ERR_INIT;
	struct store_stat st;
	struct collect c = { 0 };
	struct store_writer *w;
	char k[256], p[256];
	bool s3 = strcmp(store_backend_name(fx->s), "s3") == 0;

	assert_non_null(data);
	gen_fill(&g, data, n);
	key(fx, k, sizeof(k), "abort/obj");
	key(fx, p, sizeof(p), "abort/");

	w = store_write_begin(fx->s, k, &e);
	assert_non_null(w);
	assert_int_equal(store_write(w, data, n, &e), 0);
	assert_int_equal(store_stat(fx->s, k, &st, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	list_into(fx, p, &c);
	assert_int_equal(c.n, 0);
	if (s3)
		assert_int_equal(uploads(fx, k), 1);
	else
		assert_int_equal(tmp_entries(fx), 1);
	store_write_abort(w);
	assert_int_equal(store_stat(fx->s, k, &st, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	list_into(fx, p, &c);
	assert_int_equal(c.n, 0);
	if (s3)
		assert_int_equal(uploads(fx, k), 0);
	else
		assert_int_equal(tmp_entries(fx), 0);

	/* the same, committed: now it is there, whole */
	w = store_write_begin(fx->s, k, &e);
	assert_non_null(w);
	assert_int_equal(store_write(w, data, n, &e), 0);
	assert_int_equal(store_stat(fx->s, k, &st, &e), -1);
	if (store_write_commit(w, &e) < 0)
		fail_msg("commit: %s", e.msg);
	assert_int_equal(store_stat(fx->s, k, &st, &e), 0);
	assert_int_equal(st.size, n);
	if (s3)
		assert_int_equal(uploads(fx, k), 0);
	else
		assert_int_equal(tmp_entries(fx), 0);
	assert_int_equal(store_delete(fx->s, k, &e), 0);
	free(data);
}

struct reader {
	struct fixture *fx;
	const char *k;
	size_t size;
	int stop; /* these are shared with the main thread: __atomic access */
	int reads, mixed, missing, errors;
	struct err e;
};

static void *reader_loop(void *arg)
{
	struct reader *r = arg;

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		struct buf b;

		buf_init(&b, 2 * r->size);
		if (store_read_buf(r->fx->s, r->k, 0, UINT64_MAX, &b, &r->e) < 0) {
			__atomic_add_fetch(r->e.code == ERR_NOT_FOUND ? &r->missing : &r->errors, 1,
					   __ATOMIC_RELEASE);
		} else {
			bool same = b.len == r->size && (b.data[0] == 'A' || b.data[0] == 'B');
			for (size_t i = 1; same && i < b.len; i++)
				same = b.data[i] == b.data[0];
			if (!same)
				__atomic_add_fetch(&r->mixed, 1, __ATOMIC_RELEASE);
			__atomic_add_fetch(&r->reads, 1, __ATOMIC_RELEASE);
		}
		buf_release(&b);
	}
	return NULL;
}

/* A reader sees the old object or the new, never a mix: first step by step, then with a
 * reader running while the object is replaced again and again. */
static void test_overwrite_atomic(void **state)
{
	struct fixture *fx = *state;
	const size_t n = 256 * 1024;
	char *a = malloc(n), *bb = malloc(n);
	struct err e = ERR_INIT;
	struct store_writer *w;
	struct buf b;
	char k[256];

	assert_non_null(a);
	assert_non_null(bb);
	memset(a, 'A', n);
	memset(bb, 'B', n);
	key(fx, k, sizeof(k), "atomic/obj");
	assert_int_equal(store_put(fx->s, k, a, n, &e), 0);

	w = store_write_begin(fx->s, k, &e);
	assert_non_null(w);
	assert_int_equal(store_write(w, bb, n / 2, &e), 0);
	assert_int_equal(read_range(fx, k, 0, UINT64_MAX, &b, &e), 0);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.data, a, n);
	buf_release(&b);
	assert_int_equal(store_write(w, bb, n / 2, &e), 0);
	assert_int_equal(store_write_commit(w, &e), 0);
	assert_int_equal(read_range(fx, k, 0, UINT64_MAX, &b, &e), 0);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.data, bb, n);
	buf_release(&b);

	struct reader r = { .fx = fx, .k = k, .size = n };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, reader_loop, &r), 0);
	for (int i = 0; i < 20; i++) {
		char *v = i % 2 ? bb : a;
		if (store_put(fx->s, k, v, n, &e) < 0) {
			__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
			pthread_join(t, NULL);
			fail_msg("put: %s", e.msg);
		}
	}
	while (__atomic_load_n(&r.reads, __ATOMIC_ACQUIRE) + __atomic_load_n(&r.errors, __ATOMIC_ACQUIRE) +
		       __atomic_load_n(&r.missing, __ATOMIC_ACQUIRE) < 5)
		usleep(1000);
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	if (r.errors)
		fail_msg("%d reads failed, last: %s", r.errors, r.e.msg);
	assert_int_equal(r.mixed, 0);
	/* Swift's object server can answer 404 for an instant while an overwrite replaces the
	 * file (seen about once in 40 runs; its proxy and object logs both show the 404). AWS S3
	 * is strongly consistent, and a local rename never shows a gap. */
	if (strcmp(store_backend_name(fx->s), "file") == 0)
		assert_int_equal(r.missing, 0);
	else if (r.missing)
		print_message("note: %d reads saw 404 during overwrites (Swift)\n", r.missing);
	assert_true(r.reads > 0 && r.reads + r.missing >= 5);
	assert_int_equal(store_delete(fx->s, k, &e), 0);
	free(a);
	free(bb);
}

static void test_open_fd(void **state)
{
	struct fixture *fx = *state;
	struct err e = ERR_INIT;
	struct store_stat st, st2;
	char k[256], got[32];
	int fd = -1;

	key(fx, k, sizeof(k), "fd/obj");
	put_text(fx, k, "file descriptor");
	if (!(store_caps(fx->s) & STORE_CAP_FD)) {
		assert_int_equal(store_open_fd(fx->s, k, &fd, &st, &e), -1);
		assert_int_equal(e.code, ERR_UNSUPPORTED);
		assert_int_equal(fd, -1);
		assert_int_equal(store_delete(fx->s, k, &e), 0);
		return;
	}
	assert_int_equal(store_open_fd(fx->s, k, &fd, &st, &e), 0);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDONLY);
	assert_int_equal(st.size, 15);
	assert_int_equal(store_stat(fx->s, k, &st2, &e), 0);
	assert_string_equal(st.etag, st2.etag);
	/* the descriptor keeps the object it opened, even once the key is gone */
	assert_int_equal(store_delete(fx->s, k, &e), 0);
	assert_int_equal(pread(fd, got, sizeof(got), 0), 15);
	assert_memory_equal(got, "file descriptor", 15);
	close(fd);
	err_clear(&e);
	assert_int_equal(store_open_fd(fx->s, k, &fd, &st, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
}

/* A store that hashes what its writers are given says so, and its digest is the content's
 * SHA-256 at any point of the writing; the others answer ERR_UNSUPPORTED. */
static void test_written_sha256(void **state)
{
	struct fixture *fx = *state;
	struct err e = ERR_INIT;
	struct store_writer *w;
	char k[256], hex[65], want[65];

	key(fx, k, sizeof(k), "sha/obj");
	w = store_write_begin(fx->s, k, &e);
	assert_non_null(w);
	if (!(store_caps(fx->s) & STORE_CAP_SHA256)) {
		assert_int_equal(store_write_sha256(w, hex, &e), -1);
		assert_int_equal(e.code, ERR_UNSUPPORTED);
		store_write_abort(w);
		return;
	}
	assert_int_equal(store_write_sha256(w, hex, &e), 0);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"); /* "" */
	assert_int_equal(store_write(w, "hello ", 6, &e), 0);
	assert_int_equal(store_write_sha256(w, hex, &e), 0);
	assert_int_equal(store_write(w, "world", 5, &e), 0);
	assert_int_equal(store_write_sha256(w, hex, &e), 0);
	/* sha256("hello world") */
	snprintf(want, sizeof(want), "%s", "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
	assert_string_equal(hex, want);
	/* asking did not disturb the object's own hash: its ETag names the same digest */
	assert_int_equal(store_write_commit(w, &e), 0);
	{
		struct store_stat st;

		assert_int_equal(store_stat(fx->s, k, &st, &e), 0);
		assert_non_null(strstr(st.etag, want));
	}
	assert_int_equal(store_delete(fx->s, k, &e), 0);
}

int main(void)
{
	const struct CMUnitTest shared[] = {
		cmocka_unit_test(test_name_and_ping),
		cmocka_unit_test(test_put_read_stat_delete),
		cmocka_unit_test(test_commit_unsynced),
		cmocka_unit_test(test_missing_key),
		cmocka_unit_test(test_empty_object),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_invalid_keys),
		cmocka_unit_test(test_list_order_and_prefix),
		cmocka_unit_test(test_list_many),
		cmocka_unit_test(test_stream_write),
		cmocka_unit_test(test_invisible_then_abort),
		cmocka_unit_test(test_overwrite_atomic),
		cmocka_unit_test(test_open_fd),
		cmocka_unit_test(test_written_sha256),
	};
	int failed = 0;

	failed += cmocka_run_group_tests_name("store/file", shared, file_setup, file_teardown);
	if (getenv("TA_TEST_S3") && getenv("TA_TEST_S3")[0])
		failed += cmocka_run_group_tests_name("store/s3", shared, s3_setup, s3_teardown);
	else
		printf("SKIPPED s3: TA_TEST_S3 not set\n");
	return failed ? 1 : 0;
}
