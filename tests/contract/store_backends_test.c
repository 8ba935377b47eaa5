/* store_backends_test.c — what only one store backend has, beside the shared suite
 * (store_contract_test.c): the file tree's rules and stale temporaries, S3 URL parsing and an
 * unreachable endpoint (no service needed), and, when TA_TEST_S3 is set (see
 * store_contract_test.c), S3 credentials and buckets against the real service.
 */
#include "contract/store_common.h"

/* ---- file backend only ------------------------------------------------------------------ */

static int mk_tempdir(char *out, size_t n)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	snprintf(out, n, "%s/store-file-XXXXXX", tmp);
	return mkdtemp(out) ? 0 : -1;
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void touch(const char *path, time_t age)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	struct timespec ts[2];

	assert_true(fd >= 0);
	close(fd);
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= age;
	ts[1] = ts[0];
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static bool exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

static void test_file_root_and_stale_temporaries(void **state)
{
	char dir[256], url[400], path[600];
	struct err e = ERR_INIT;
	struct store *s;

	(void)state;
	assert_int_equal(mk_tempdir(dir, sizeof(dir)), 0);
	snprintf(url, sizeof(url), "file://localhost%s/a/b/", dir);
	s = store_open(url, NULL, &e);
	if (!s)
		fail_msg("open: %s", e.msg);
	assert_string_equal(store_backend_name(s), "file");
	assert_int_equal(store_caps(s), STORE_CAP_FD | STORE_CAP_SHA256);
	store_close(s);
	snprintf(path, sizeof(path), "%s/a/b/.tmp~", dir);
	assert_true(exists(path));

	/* a crashed writer's temporary two hours old goes; a fresh one and strangers stay */
	snprintf(path, sizeof(path), "%s/a/b/.tmp~/w-old", dir);
	touch(path, 7200);
	snprintf(path, sizeof(path), "%s/a/b/.tmp~/w-new", dir);
	touch(path, 0);
	snprintf(path, sizeof(path), "%s/a/b/.tmp~/other", dir);
	touch(path, 7200);
	s = store_open(url, NULL, &e);
	assert_non_null(s);
	store_close(s);
	snprintf(path, sizeof(path), "%s/a/b/.tmp~/w-old", dir);
	assert_false(exists(path));
	snprintf(path, sizeof(path), "%s/a/b/.tmp~/w-new", dir);
	assert_true(exists(path));
	snprintf(path, sizeof(path), "%s/a/b/.tmp~/other", dir);
	assert_true(exists(path));
	rm_tree(dir);
}

static void test_file_bad_urls(void **state)
{
	static const char *bad[] = { "file://relative/path", "file:///x?y=1", "file:///x#f",
				     "file:///x%zz", "file:///x%00y", "ftp://host/x", "", "file:",
				     "s4://bucket" };
	struct err e;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&e);
		assert_null(store_open(bad[i], NULL, &e));
		assert_int_equal(e.code, ERR_INVALID);
	}
	err_clear(&e);
	assert_null(store_open(NULL, NULL, &e));
	assert_int_equal(e.code, ERR_INVALID);
	/* a root that cannot be created */
	err_clear(&e);
	assert_null(store_open("file:///proc/self/no/such/dir", NULL, &e));
	assert_int_equal(e.code, ERR_IO);
}

/* Things only a directory tree has: a key cannot also be a "directory" of keys, deletes prune
 * empty directories, the ETag is the content's SHA-256 (with xattrs), symlinks are ignored. */
static void test_file_tree_rules(void **state)
{
	char dir[256], url[400], path[600];
	struct err e = ERR_INIT;
	struct store_stat st;
	struct store *s;
	struct collect c = { 0 };

	(void)state;
	assert_int_equal(mk_tempdir(dir, sizeof(dir)), 0);
	snprintf(url, sizeof(url), "file://%s", dir);
	s = store_open(url, NULL, &e);
	assert_non_null(s);

	assert_int_equal(store_put(s, "c/a", "1", 1, &e), 0);
	assert_int_equal(store_put(s, "c/a/b", "2", 1, &e), -1);
	assert_int_equal(e.code, ERR_CONFLICT);
	assert_int_equal(store_put(s, "d/a/b", "2", 1, &e), 0);
	assert_int_equal(store_put(s, "d/a", "1", 1, &e), -1);
	assert_int_equal(e.code, ERR_CONFLICT);
	/* a "directory" is not an object */
	assert_int_equal(store_stat(s, "d/a", &st, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_int_equal(store_delete(s, "d/a", &e), 0);

	assert_int_equal(store_put(s, "p/q/r/s", "x", 1, &e), 0);
	assert_int_equal(store_delete(s, "p/q/r/s", &e), 0);
	snprintf(path, sizeof(path), "%s/p", dir);
	assert_false(exists(path));

	assert_int_equal(store_put(s, "abc", "abc", 3, &e), 0);
	assert_int_equal(store_stat(s, "abc", &st, &e), 0);
	snprintf(path, sizeof(path), "%s/abc", dir);
	char xv[128];
	if (getxattr(path, "user.tonearm.sha256", xv, sizeof(xv)) > 0) {
		assert_string_equal(st.etag,
				    "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"");
		/* changed behind our back: the hash no longer describes it */
		int fd = open(path, O_WRONLY | O_APPEND);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, "d", 1), 1);
		close(fd);
		struct store_stat st2;
		assert_int_equal(store_stat(s, "abc", &st2, &e), 0);
		assert_int_equal(st2.size, 4);
		assert_string_not_equal(st2.etag, st.etag);
		assert_int_equal(st2.etag[1], 'i');
	} else {
		print_message("xattrs unsupported here: inode ETag only\n");
		assert_int_equal(st.etag[1], 'i');
	}

	snprintf(path, sizeof(path), "%s/link", dir);
	assert_int_equal(symlink("/etc/hostname", path), 0);
	assert_int_equal(store_stat(s, "link", &st, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	list_into(&(struct fixture){ .s = s }, "", &c);
	assert_int_equal(c.n, 3); /* not the link, not .tmp~ */
	assert_string_equal(c.keys[0], "abc");
	assert_string_equal(c.keys[1], "c/a");
	assert_string_equal(c.keys[2], "d/a/b");
	collect_free(&c);
	/* S3's extras refuse other stores */
	assert_int_equal(store_s3_create_bucket(s, &e), -1);
	assert_int_equal(e.code, ERR_UNSUPPORTED);
	assert_int_equal(store_s3_count_uploads(s, "", &(size_t){ 0 }, &e), -1);
	assert_int_equal(e.code, ERR_UNSUPPORTED);
	store_close(s);
	rm_tree(dir);
}

static const struct CMUnitTest file_only[] = {
	cmocka_unit_test(test_file_root_and_stale_temporaries),
	cmocka_unit_test(test_file_bad_urls),
	cmocka_unit_test(test_file_tree_rules),
};

/* ---- S3 backend, no service needed ------------------------------------------------------ */

static const struct store_options test_creds = { .s3_access_key = "test:tester",
						 .s3_secret_key = "testing" };

static void test_s3_urls(void **state)
{
	static const char *bad[] = {
		"s3://", "s3://?endpoint=http://h", "s3://bucket/path", "s3://bu cket",
		"s3://b?unknown=1", "s3://b?part_size=100", "s3://b?part_size=abc",
		"s3://b?endpoint=ftp://x", "s3://b?endpoint=http://h/path", "s3://b?endpoint=http://u@h",
		"s3://b?path_style=maybe", "s3://b?region=EU_WEST", "s3://b?endpoint",
		"s3://b?endpoint=http%3A%2F%2Fh%zz", "s3://b?connect_timeout_ms=0",
	};
	struct err e;
	struct store *s;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&e);
		s = store_open(bad[i], &test_creds, &e);
		if (s)
			fail_msg("accepted %s", bad[i]);
		assert_int_equal(e.code, ERR_INVALID);
	}
	/* no credentials anywhere */
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	err_clear(&e);
	assert_null(store_open("s3://bucket", NULL, &e));
	assert_int_equal(e.code, ERR_INVALID);
	/* from the environment, then; opening does not touch the network */
	setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
	s = store_open("s3://my.bucket", NULL, &e);
	assert_non_null(s);
	assert_string_equal(store_backend_name(s), "s3");
	assert_int_equal(store_caps(s) & STORE_CAP_FD, 0);
	store_close(s);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	s = store_open("s3://b?endpoint=http%3A%2F%2F127.0.0.1%3A9&region=eu-west-1&path_style=false"
		       "&part_size=5242880&connect_timeout_ms=100", &test_creds, &e);
	if (!s)
		fail_msg("open: %s", e.msg);
	store_close(s);
	/* S3 refuses nothing locally: the file store's fd is its own */
	s = store_open("s3://b?endpoint=http://127.0.0.1:9", &test_creds, &e);
	assert_non_null(s);
	int fd;
	assert_int_equal(store_open_fd(s, "k", &fd, NULL, &e), -1);
	assert_int_equal(e.code, ERR_UNSUPPORTED);
	assert_int_equal(store_s3_count_uploads(s, "../", &(size_t){ 0 }, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	store_close(s);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A port nothing listens on: bind one, note it, close it. */
static int closed_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static void test_s3_unreachable(void **state)
{
	char url[200];
	struct err e = ERR_INIT;
	struct store_stat st;
	struct store *s;
	struct buf b = BUF_INIT;
	double t0;

	(void)state;
	snprintf(url, sizeof(url), "s3://b?endpoint=http://127.0.0.1:%d&connect_timeout_ms=1000",
		 closed_port());
	s = store_open(url, &test_creds, &e);
	assert_non_null(s);

	t0 = now_s();
	assert_int_equal(store_stat(s, "k", &st, &e), -1);
	assert_int_equal(e.code, ERR_UNAVAILABLE);
	assert_int_equal(store_put(s, "k", "v", 1, &e), -1);
	assert_int_equal(e.code, ERR_UNAVAILABLE);
	assert_int_equal(store_read_buf(s, "k", 0, UINT64_MAX, &b, &e), -1);
	assert_int_equal(e.code, ERR_UNAVAILABLE);
	assert_int_equal(store_ping(s, &e), -1);
	assert_int_equal(e.code, ERR_UNAVAILABLE);
	struct store_writer *w = store_write_begin(s, "k", &e);
	assert_non_null(w);
	assert_int_equal(store_write(w, "v", 1, &e), 0);
	assert_int_equal(store_write_commit(w, &e), -1);
	assert_int_equal(e.code, ERR_UNAVAILABLE);
	/* retries included, all of it in bounded time */
	assert_true(now_s() - t0 < 10.0);

	/* a bad key never reaches the (unreachable) backend */
	t0 = now_s();
	err_clear(&e);
	assert_int_equal(store_stat(s, "../k", &st, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_true(now_s() - t0 < 0.05);
	buf_release(&b);
	store_close(s);
}

static const struct CMUnitTest s3_offline[] = {
	cmocka_unit_test(test_s3_urls),
	cmocka_unit_test(test_s3_unreachable),
};

/* ---- S3 backend against the service ----------------------------------------------------- */

static void test_s3_wrong_secret(void **state)
{
	struct fixture *fx = *state;
	struct store_options bad = fx->opt;
	struct err e = ERR_INIT;
	struct store_stat st;
	struct collect c = { 0 };
	struct store *s;
	char k[256];

	bad.s3_secret_key = "not-the-secret";
	s = store_open(fx->url, &bad, &e);
	assert_non_null(s);
	key(fx, k, sizeof(k), "forbidden/k");
	assert_int_equal(store_put(s, k, "v", 1, &e), -1);
	assert_int_equal(e.code, ERR_FORBIDDEN);
	assert_non_null(strstr(e.msg, "signature/credentials"));
	err_clear(&e);
	assert_int_equal(store_stat(s, k, &st, &e), -1);
	assert_int_equal(e.code, ERR_FORBIDDEN);
	err_clear(&e);
	assert_int_equal(store_list(s, fx->prefix, collect_cb, &c, &e), -1);
	assert_int_equal(e.code, ERR_FORBIDDEN);
	err_clear(&e);
	assert_int_equal(store_ping(s, &e), -1);
	assert_int_equal(e.code, ERR_FORBIDDEN);
	store_close(s);
	/* and the right one still works, nothing was written */
	assert_int_equal(store_stat(fx->s, k, &st, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
}

static void test_s3_bucket(void **state)
{
	struct fixture *fx = *state;
	const char *q = strchr(fx->url, '?');
	char url[1100];
	struct err e = ERR_INIT;
	struct store_stat st;
	struct store *s;

	snprintf(url, sizeof(url), "s3://tonearm-ct-%ld%s", (long)getpid(), q ? q : "");
	s = store_open(url, &fx->opt, &e);
	assert_non_null(s);
	assert_int_equal(store_ping(s, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_non_null(strstr(e.msg, "bucket"));
	if (store_s3_create_bucket(s, &e) < 0)
		fail_msg("create bucket: %s", e.msg);
	assert_int_equal(store_ping(s, &e), 0);
	assert_int_equal(store_s3_create_bucket(s, &e), 0); /* ours already: fine */
	assert_int_equal(store_put(s, "k", "v", 1, &e), 0);
	assert_int_equal(store_stat(s, "k", &st, &e), 0);
	assert_int_equal(store_delete(s, "k", &e), 0);
	store_close(s);
}

static const struct CMUnitTest s3_only[] = {
	cmocka_unit_test(test_s3_wrong_secret),
	cmocka_unit_test(test_s3_bucket),
};

int main(void)
{
	int failed = 0;

	failed += cmocka_run_group_tests_name("store/file-only", file_only, NULL, NULL);
	failed += cmocka_run_group_tests_name("store/s3-offline", s3_offline, NULL, NULL);
	if (getenv("TA_TEST_S3") && getenv("TA_TEST_S3")[0])
		failed += cmocka_run_group_tests_name("store/s3-only", s3_only, s3_setup, s3_teardown);
	else
		printf("SKIPPED s3: TA_TEST_S3 not set\n");
	return failed ? 1 : 0;
}
