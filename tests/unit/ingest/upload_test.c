/* upload_test.c — resumable uploads over a real SQLite database and a real file store: the
 * tus header parsers, chunks and offsets, completion (assembly in order, outcome recorded,
 * chunks gone), expiry, ownership, deletion, and a completion that fails and is retried.
 *
 * The completion function here stands in for ingest_object (tested with the ingest module):
 * it reads the assembled object, keeps its bytes for the test to compare, deletes it as
 * ingest_object does, and refuses content starting with "BAD". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/log.h"
#include "db/db.h"
#include "db/migrate.h"
#include "ingest/upload.h"
#include "store/store.h"

struct fixture {
	char dir[64];
	struct db *db;
	struct store *store;
	struct uploads *u;
	struct buf got;   /* the last assembled bytes */
	int calls;
	int fail_next;    /* the completion fails (service error) this many times */
};

static int complete(void *ctx, const char *tmp_key, const char *filename, struct ingest_result *res,
		    struct err *e)
{
	struct fixture *f = ctx;

	f->calls++;
	if (f->fail_next > 0) {
		f->fail_next--;
		return err_set(e, ERR_UNAVAILABLE, "the test says the catalogue is down");
	}
	buf_reset(&f->got);
	if (store_read_buf(f->store, tmp_key, 0, UINT64_MAX, &f->got, e) < 0)
		return -1;
	if (store_delete(f->store, tmp_key, e) < 0)
		return -1;
	memset(res, 0, sizeof(*res));
	if (f->got.len >= 3 && memcmp(f->got.data, "BAD", 3) == 0) {
		res->outcome = INGEST_REFUSED;
		snprintf(res->reason, sizeof(res->reason), "%s is not audio", filename);
	} else {
		res->outcome = INGEST_ADDED;
		snprintf(res->track_id, sizeof(res->track_id), "01HZZZZZZZZZZZZZZZZZZZZZZZ");
	}
	return 0;
}

static struct fixture *open_fixture(int64_t expiry_ms)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct err e = ERR_INIT;
	char url[128];
	struct upload_options opt = { .max_size = 1 << 20, .expiry_ms = expiry_ms, .complete = complete };

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/upload-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->db = db_open("sqlite::memory:", NULL, &e);
	assert_non_null(f->db);
	assert_int_equal(db_migrate(f->db, &e), 0);
	snprintf(url, sizeof(url), "file://%s", f->dir);
	f->store = store_open(url, NULL, &e);
	assert_non_null(f->store);
	opt.complete_ctx = f;
	f->u = upload_new(f->db, f->store, &opt, &e);
	assert_non_null(f->u);
	buf_init(&f->got, 0);
	return f;
}

static void close_fixture(struct fixture *f)
{
	char cmd[128];

	upload_free(f->u);
	store_close(f->store);
	db_close(f->db);
	buf_release(&f->got);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
}

static int count_keys(void *ud, const char *key, const struct store_stat *st)
{
	(void)key;
	(void)st;
	(*(int *)ud)++;
	return 0;
}

static int objects(struct fixture *f, const char *prefix)
{
	int n = 0;
	struct err e = ERR_INIT;

	assert_int_equal(store_list(f->store, prefix, count_keys, &n, &e), 0);
	return n;
}

/* ---- parsers ---- */

static void test_metadata(void **state)
{
	struct upload_metadata m;
	struct err e = ERR_INIT;
	/* "song.flac" and "audio/flac" */
	const char *ok = "filename c29uZy5mbGFj,filetype YXVkaW8vZmxhYw==,is_confidential";
	const char *bad[] = {
		"filename Li4vZXRjL3Bhc3N3ZA==",    /* ../etc/passwd */
		"filename YQBi",                    /* a NUL b */
		"filename YS9i",                    /* a/b */
		"filename YVxi",                    /* a\b */
		"filename Li4=",                    /* .. */
		"filename /w==",                    /* invalid UTF-8 */
		"filename ",                        /* empty */
		"filename c29uZy5mbGFj,filename c29uZy5mbGFj", /* twice */
		"filename c29uZy5mbGF",             /* not base64 */
		"filename c29uZy5mbGFj,",           /* trailing comma */
		",filename c29uZy5mbGFj",           /* empty key */
		"filetype AQ==",                    /* control character */
	};

	(void)state;
	assert_int_equal(upload_metadata_parse(ok, strlen(ok), &m, &e), 0);
	assert_string_equal(m.filename, "song.flac");
	assert_string_equal(m.filetype, "audio/flac");
	assert_true(m.has_filename);
	assert_int_equal(upload_metadata_parse("", 0, &m, &e), 0);
	assert_false(m.has_filename);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&e);
		if (upload_metadata_parse(bad[i], strlen(bad[i]), &m, &e) != -1)
			fail_msg("accepted %s", bad[i]);
		assert_int_equal(e.code, ERR_INVALID);
	}
	/* 256 bytes of name is one too many */
	{
		char name[257];

		memset(name, 'a', 256);
		name[256] = '\0';
		assert_int_equal(upload_filename_check(name, 255, &e), 0);
		assert_int_equal(upload_filename_check(name, 256, &e), -1);
		assert_int_equal(upload_filename_check("日本語.mp3", strlen("日本語.mp3"), &e), 0);
	}
}

static void test_checksum(void **state)
{
	unsigned char d[32];
	struct err e = ERR_INIT;
	/* sha256("abc") */
	const char *ok = "sha256 ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";
	static const unsigned char want[4] = { 0xba, 0x78, 0x16, 0xbf };

	(void)state;
	assert_int_equal(upload_checksum_parse(ok, strlen(ok), d, &e), 0);
	assert_memory_equal(d, want, 4);
	assert_int_equal(upload_checksum_parse("md5 kAFQmDzST7DWlj99KOF/cg==", 27, d, &e), -1);
	assert_int_equal(e.code, ERR_UNSUPPORTED);
	assert_int_equal(upload_checksum_parse("sha256 kAFQmDzST7DWlj99KOF/cg==", 31, d, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_int_equal(upload_checksum_parse("sha256", 6, d, &e), -1);
	assert_int_equal(upload_checksum_parse("sha256 !!!!", 11, d, &e), -1);
}

/* ---- the state ---- */

static void test_chunks_and_completion(void **state)
{
	struct fixture *f = open_fixture(0);
	struct upload_info info, got;
	struct err e = ERR_INIT;
	char data[1000];

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7 + 3);
	assert_int_equal(upload_create(f->u, "alice", sizeof(data), "song.flac", "audio/flac", &info, &e), 0);
	assert_int_equal(info.offset, 0);
	assert_int_equal(info.length, sizeof(data));
	assert_int_equal(info.state, UPLOAD_RECEIVING);

	assert_int_equal(upload_append(f->u, "alice", info.id, 0, data, 300, &got, &e), 0);
	assert_int_equal(got.offset, 300);
	/* A wrong offset, a chunk past the end, another owner, an unknown id. */
	assert_int_equal(upload_append(f->u, "alice", info.id, 0, data, 300, &got, &e), -1);
	assert_int_equal(e.code, ERR_CONFLICT);
	assert_int_equal(upload_append(f->u, "alice", info.id, 300, data, 701, &got, &e), -1);
	assert_int_equal(e.code, ERR_TOO_LARGE);
	assert_int_equal(upload_append(f->u, "bob", info.id, 300, data + 300, 300, &got, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_int_equal(upload_get(f->u, "bob", info.id, &got, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_int_equal(upload_get(f->u, "alice", "01HZZZZZZZZZZZZZZZZZZZZZZZ", &got, &e), -1);
	assert_int_equal(upload_get(f->u, "alice", "../../x", &got, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	/* Nothing was recorded by the refusals. */
	assert_int_equal(upload_get(f->u, "alice", info.id, &got, &e), 0);
	assert_int_equal(got.offset, 300);
	assert_int_equal(objects(f, "uploads/"), 1);

	assert_int_equal(upload_append(f->u, "alice", info.id, 300, data + 300, 0, &got, &e), 0);
	assert_int_equal(got.offset, 300);
	assert_int_equal(upload_append(f->u, "alice", info.id, 300, data + 300, 650, &got, &e), 0);
	assert_int_equal(objects(f, "uploads/"), 2);
	assert_int_equal(f->calls, 0);
	assert_int_equal(upload_append(f->u, "alice", info.id, 950, data + 950, 50, &got, &e), 0);
	assert_int_equal(f->calls, 1);
	assert_int_equal(got.state, UPLOAD_COMPLETE);
	assert_string_equal(got.track_id, "01HZZZZZZZZZZZZZZZZZZZZZZZ");
	assert_int_equal(f->got.len, sizeof(data));
	assert_memory_equal(f->got.data, data, sizeof(data));
	assert_int_equal(objects(f, ""), 0);

	assert_int_equal(upload_get(f->u, "alice", info.id, &got, &e), 0);
	assert_int_equal(got.state, UPLOAD_COMPLETE);
	assert_int_equal(got.offset, sizeof(data));
	assert_string_equal(got.filename, "song.flac");
	/* A finished upload takes no more bytes. */
	assert_int_equal(upload_append(f->u, "alice", info.id, 1000, data, 1, &got, &e), -1);
	assert_int_equal(e.code, ERR_CONFLICT);
	close_fixture(f);
}

static void test_refused_and_limits(void **state)
{
	struct fixture *f = open_fixture(0);
	struct upload_info info, got;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(upload_create(f->u, NULL, (1 << 20) + 1, "x.mp3", NULL, &info, &e), -1);
	assert_int_equal(e.code, ERR_TOO_LARGE);
	assert_int_equal(upload_create(f->u, NULL, 10, "../x.mp3", NULL, &info, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);

	assert_int_equal(upload_create(f->u, NULL, 6, "x.mp3", NULL, &info, &e), 0);
	assert_int_equal(upload_append(f->u, "", info.id, 0, "BADBAD", 6, &got, &e), 0);
	assert_int_equal(got.state, UPLOAD_REFUSED);
	assert_string_equal(got.reason, "x.mp3 is not audio");
	assert_string_equal(got.track_id, "");

	/* Empty: complete at creation, and refused by what ingests it (here: added). */
	assert_int_equal(upload_create(f->u, NULL, 0, "", NULL, &info, &e), 0);
	assert_int_equal(f->calls, 2);
	assert_int_equal(info.state, UPLOAD_COMPLETE);
	assert_int_equal(f->got.len, 0);
	close_fixture(f);
}

static void test_failed_completion_is_retried(void **state)
{
	struct fixture *f = open_fixture(0);
	struct upload_info info, got;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(upload_create(f->u, "a", 8, "x.flac", NULL, &info, &e), 0);
	assert_int_equal(upload_append(f->u, "a", info.id, 0, "0123", 4, &got, &e), 0);
	f->fail_next = 1;
	assert_int_equal(upload_append(f->u, "a", info.id, 4, "4567", 4, &got, &e), -1);
	assert_int_equal(e.code, ERR_UNAVAILABLE);
	/* The bytes are recorded; the chunks are kept for the retry. */
	assert_int_equal(objects(f, "uploads/"), 2);
	assert_int_equal(objects(f, "tmp/"), 0);
	assert_int_equal(upload_get(f->u, "a", info.id, &got, &e), 0);
	assert_int_equal(got.state, UPLOAD_COMPLETE);
	assert_int_equal(f->got.len, 8);
	assert_memory_equal(f->got.data, "01234567", 8);
	assert_int_equal(objects(f, ""), 0);
	close_fixture(f);
}

static void test_expiry_and_delete(void **state)
{
	struct fixture *f = open_fixture(50);
	struct upload_info info, other, got;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(upload_create(f->u, "a", 8, "x.flac", NULL, &info, &e), 0);
	assert_int_equal(upload_append(f->u, "a", info.id, 0, "0123", 4, &got, &e), 0);
	assert_int_equal(objects(f, "uploads/"), 1);
	usleep(120 * 1000);
	assert_int_equal(upload_get(f->u, "a", info.id, &got, &e), 0);
	assert_int_equal(got.state, UPLOAD_EXPIRED);
	assert_int_equal(objects(f, "uploads/"), 0);
	assert_int_equal(upload_append(f->u, "a", info.id, 4, "4567", 4, &got, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_int_equal(got.state, UPLOAD_EXPIRED);

	/* The sweep expires what nobody asks about. */
	assert_int_equal(upload_create(f->u, "a", 8, "y.flac", NULL, &other, &e), 0);
	assert_int_equal(upload_append(f->u, "a", other.id, 0, "0123", 4, &got, &e), 0);
	usleep(120 * 1000);
	assert_int_equal(upload_sweep(f->u, other.expires_at + 1, &e), 1);
	assert_int_equal(objects(f, "uploads/"), 0);

	/* Deleting removes the row and the bytes; another owner cannot. */
	assert_int_equal(upload_delete(f->u, "b", other.id, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_int_equal(upload_delete(f->u, "a", other.id, &e), 0);
	assert_int_equal(upload_get(f->u, "a", other.id, &got, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_int_equal(upload_delete(f->u, "a", other.id, &e), -1);
	close_fixture(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metadata),
		cmocka_unit_test(test_checksum),
		cmocka_unit_test(test_chunks_and_completion),
		cmocka_unit_test(test_refused_and_limits),
		cmocka_unit_test(test_failed_completion_is_retried),
		cmocka_unit_test(test_expiry_and_delete),
	};

	log_setup(LOG_ERROR, 2);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
