/* live_test.c — the on-the-fly transcoder's choices: formats, bit rate steps under a client's
 * and an account's limits, and cache keys that stay inside their prefix. (Transcoding itself is
 * checked end to end with ffmpeg as the decoder: tests/e2e/live.test.mjs.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "stream/live.h"
#include "stream/stream.h"

static void test_format_parse(void **state)
{
	enum stream_live_format f;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(stream_live_format_parse("mp3", &f, &e), 0);
	assert_int_equal(f, STREAM_LIVE_MP3);
	assert_int_equal(stream_live_format_parse("OPUS", &f, &e), 0);
	assert_int_equal(f, STREAM_LIVE_OPUS);
	assert_int_equal(stream_live_format_parse("aac", &f, &e), 0);
	assert_int_equal(f, STREAM_LIVE_AAC);
	assert_string_equal(stream_live_content_type(STREAM_LIVE_MP3), "audio/mpeg");
	assert_string_equal(stream_live_content_type(STREAM_LIVE_OPUS), "audio/ogg");
	assert_string_equal(stream_live_content_type(STREAM_LIVE_AAC), "audio/aac");
	for (const char *bad[] = { "", "wav", "mp33", "mp", "raw", NULL }, **b = bad; *b; b++) {
		e = (struct err)ERR_INIT;
		assert_int_equal(stream_live_format_parse(*b, &f, &e), -1);
		assert_int_equal(e.code, ERR_INVALID);
	}
	assert_int_equal(stream_live_format_parse(NULL, &f, &e), -1);
}

static void test_kbps_steps(void **state)
{
	(void)state;
	/* No limit: the format's default. */
	assert_int_equal(stream_live_kbps(STREAM_LIVE_MP3, 0, 0), 192);
	assert_int_equal(stream_live_kbps(STREAM_LIVE_OPUS, 0, 0), 128);
	assert_int_equal(stream_live_kbps(STREAM_LIVE_AAC, 0, 0), 192);
	/* The largest step within the client's limit. */
	assert_int_equal(stream_live_kbps(STREAM_LIVE_MP3, 320, 0), 320);
	assert_int_equal(stream_live_kbps(STREAM_LIVE_MP3, 319, 0), 256);
	assert_int_equal(stream_live_kbps(STREAM_LIVE_MP3, 100, 0), 96);
	assert_int_equal(stream_live_kbps(STREAM_LIVE_AAC, 1000, 0), 256);
	assert_int_equal(stream_live_kbps(STREAM_LIVE_OPUS, 50, 0), 48);
	/* And the account's. */
	assert_int_equal(stream_live_kbps(STREAM_LIVE_MP3, 320, 128), 128);
	assert_int_equal(stream_live_kbps(STREAM_LIVE_MP3, 0, 128), 128);
	assert_int_equal(stream_live_kbps(STREAM_LIVE_MP3, 96, 128), 96);
	/* Below every step: the smallest. */
	assert_int_equal(stream_live_kbps(STREAM_LIVE_MP3, 8, 0), 64);
	assert_int_equal(stream_live_kbps_min(STREAM_LIVE_MP3), 64);
	assert_int_equal(stream_live_kbps(STREAM_LIVE_OPUS, 1, 0), 32);
	assert_int_equal(stream_live_kbps_min(STREAM_LIVE_OPUS), 32);
}

static void test_cache_key(void **state)
{
	char key[128], small[16];
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(stream_live_key("01ABC", STREAM_LIVE_MP3, 192, key, sizeof(key), &e), 0);
	assert_string_equal(key, "live/01ABC/mp3_192.mp3");
	assert_int_equal(stream_live_key("01ABC", STREAM_LIVE_OPUS, 96, key, sizeof(key), &e), 0);
	assert_string_equal(key, "live/01ABC/opus_96.opus");
	assert_int_equal(stream_live_key("01ABC", STREAM_LIVE_AAC, 64, key, sizeof(key), &e), 0);
	assert_string_equal(key, "live/01ABC/aac_64.aac");
	/* An id that would leave the prefix, or cannot be a key segment, is refused. */
	for (const char *bad[] = { "", "..", "a/b", "../../etc", ".", NULL }, **b = bad; *b; b++) {
		e = (struct err)ERR_INIT;
		assert_int_equal(stream_live_key(*b, STREAM_LIVE_MP3, 192, key, sizeof(key), &e), -1);
		assert_int_equal(e.code, ERR_INVALID);
	}
	assert_int_equal(stream_live_key("01ABCDEFGHIJKLMNOP", STREAM_LIVE_MP3, 192, small, sizeof(small), &e), -1);
}

/* An object of `size` bytes under `key`, its file's mtime set to `mtime` (the file store keeps
 * key k at <root>/k). */
static void put(struct store *st, const char *root, const char *key, size_t size, time_t mtime)
{
	static char zeros[4096];
	struct err e = ERR_INIT;
	struct store_writer *w = store_write_begin(st, key, &e);
	char path[1024];
	struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };

	assert_non_null(w);
	for (size_t n = 0; n < size; n += sizeof(zeros))
		assert_int_equal(store_write(w, zeros, size - n < sizeof(zeros) ? size - n : sizeof(zeros), &e), 0);
	assert_int_equal(store_write_commit(w, &e), 0);
	snprintf(path, sizeof(path), "%s/%s", root, key);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static int exists(struct store *st, const char *key)
{
	struct store_stat sst;
	struct err e = ERR_INIT;

	return store_stat(st, key, &sst, &e) == 0;
}

/* Past the limit, the oldest copies go until nine tenths of it are left; nothing outside live/
 * is touched; under the limit nothing goes. */
static void test_trim(void **state)
{
	char dir[] = "/tmp/tonearm-live-trim-XXXXXX", url[700], root[600];
	struct stream_options opt;
	struct stream_live_trimmed t;
	struct err e = ERR_INIT;
	struct store *st;
	struct stream *s;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(root, sizeof(root), "%s/store", dir);
	snprintf(url, sizeof(url), "file://%s", root);
	assert_non_null(st = store_open(url, NULL, &e));
	stream_options_default(&opt);
	assert_non_null(s = stream_new(NULL, st, NULL, &opt, &e));
	/* Ten copies of 10 KB, one older than the next; and an original that is not a copy. */
	for (int i = 0; i < 10; i++) {
		char key[64];

		snprintf(key, sizeof(key), "live/t%d/mp3_128.mp3", (i * 7) % 10);
		put(st, root, key, 10000, 1700000000 + i * 60);
	}
	put(st, root, "orig/aa/original", 50000, 1600000000);
	/* 100 KB under a 100 KB limit: nothing to do. */
	assert_int_equal(stream_live_trim(s, 100000, &t, &e), 0);
	assert_int_equal(t.copies, 10);
	assert_int_equal(t.bytes, 100000);
	assert_int_equal(t.deleted, 0);
	/* A 50 KB limit: the six oldest go (down to 40 KB, at most 45 KB). */
	assert_int_equal(stream_live_trim(s, 50000, &t, &e), 0);
	assert_int_equal(t.deleted, 6);
	assert_int_equal(t.deleted_bytes, 60000);
	for (int i = 0; i < 10; i++) {
		char key[64];

		snprintf(key, sizeof(key), "live/t%d/mp3_128.mp3", (i * 7) % 10);
		assert_int_equal(exists(st, key), i >= 6);
	}
	assert_true(exists(st, "orig/aa/original"));
	/* A limit of 0 keeps none. */
	assert_int_equal(stream_live_trim(s, 0, &t, &e), 0);
	assert_int_equal(t.copies, 4);
	assert_int_equal(t.deleted, 4);
	assert_true(exists(st, "orig/aa/original"));
	stream_free(s);
	store_close(st);
	snprintf(url, sizeof(url), "rm -rf '%s'", dir);
	assert_int_equal(system(url), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_parse),
		cmocka_unit_test(test_kbps_steps),
		cmocka_unit_test(test_cache_key),
		cmocka_unit_test(test_trim),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
