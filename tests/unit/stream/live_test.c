/* live_test.c — the on-the-fly transcoder's choices: formats, bit rate steps under a client's
 * and an account's limits, and cache keys that stay inside their prefix. (Transcoding itself is
 * checked end to end with ffmpeg as the decoder: tests/e2e/live.test.mjs.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "stream/live.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_parse),
		cmocka_unit_test(test_kbps_steps),
		cmocka_unit_test(test_cache_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
