/* store_test.c — the key and prefix rules (store.c) and S3's percent-encoding (s3_http.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "store/s3_http.h"
#include "store/store.h"

static void test_valid_keys(void **state)
{
	static const char *good[] = {
		"a", "orig/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		"hls/123/aac-128.mp4", "art/abc/600.jpg", ".hidden", "a/.b", "a/..b", "a/b..", "...",
		"_-.", "A-Z_0.9", "x/y/z/w/v/u",
	};
	struct err e = ERR_INIT;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (store_key_check(good[i], &e) != 0)
			fail_msg("refused %s: %s", good[i], e.msg);
}

static void test_invalid_keys(void **state)
{
	static const char *bad[] = {
		"", "/", "/a", "a/", "a//b", ".", "..", "./a", "../a", "a/.", "a/..", "a/./b",
		"a/../b", "a b", "a\tb", "a\nb", "a\x7f", "caf\xc3\xa9", "a:b", "a~b", "a%20b", "a?b",
		"a#b", "a\\b", "a+b", "a*b", "a\"b",
	};
	struct err e;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&e);
		if (store_key_check(bad[i], &e) == 0)
			fail_msg("accepted key #%zu", i);
		assert_int_equal(e.code, ERR_INVALID);
		assert_true(e.msg[0] != '\0');
	}
	err_clear(&e);
	assert_int_equal(store_key_check(NULL, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	/* no crash without an error struct */
	assert_int_equal(store_key_check("../x", NULL), -1);
}

static void test_key_lengths(void **state)
{
	char k[STORE_KEY_MAX + 2];
	struct err e = ERR_INIT;

	(void)state;
	/* segments of 200 separated by '/' up to exactly 1024 bytes */
	memset(k, 'x', sizeof(k));
	for (size_t i = 200; i < STORE_KEY_MAX; i += 201)
		k[i] = '/';
	k[STORE_KEY_MAX] = '\0';
	assert_int_equal(store_key_check(k, &e), 0);
	k[STORE_KEY_MAX] = 'x';
	k[STORE_KEY_MAX + 1] = '\0';
	assert_int_equal(store_key_check(k, &e), -1);
	assert_non_null(strstr(e.msg, "longer than 1024"));

	/* one segment of 255 is fine, 256 is not */
	memset(k, 'y', 256);
	k[255] = '\0';
	assert_int_equal(store_key_check(k, &e), 0);
	k[255] = 'y';
	k[256] = '\0';
	assert_int_equal(store_key_check(k, &e), -1);
	assert_non_null(strstr(e.msg, "segment longer"));

	/* a very long string is not scanned to its end to be refused */
	static char huge[1 << 20];
	memset(huge, 'z', sizeof(huge) - 1);
	assert_int_equal(store_key_check(huge, &e), -1);
}

static void test_prefixes(void **state)
{
	static const char *good[] = { "", "a", "a/", "a/b", "a/.", "a/..", "hls/12", "hls/12/", "." };
	static const char *bad[] = { "/", "/a", "a//", "./", "../", "a/./", "a/../", "a b", "a//b" };
	struct err e;

	(void)state;
	assert_int_equal(store_prefix_check(NULL, &e), 0);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (store_prefix_check(good[i], &e) != 0)
			fail_msg("refused prefix %s: %s", good[i], e.msg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&e);
		if (store_prefix_check(bad[i], &e) == 0)
			fail_msg("accepted prefix %s", bad[i]);
		assert_int_equal(e.code, ERR_INVALID);
	}
}

static void encode_is(const char *in, bool keep_slash, const char *want)
{
	struct buf b = BUF_INIT;

	assert_int_equal(s3_uri_encode(&b, in, strlen(in), keep_slash), 0);
	assert_string_equal(buf_str(&b), want);
	buf_release(&b);
}

static void test_uri_encode(void **state)
{
	(void)state;
	encode_is("hls/123/aac-128.mp4", true, "hls/123/aac-128.mp4");
	encode_is("hls/123/aac-128.mp4", false, "hls%2F123%2Faac-128.mp4");
	encode_is("A-Za-z0-9-._~", false, "A-Za-z0-9-._~");
	encode_is("a b+c=d&e?f#g%h", false, "a%20b%2Bc%3Dd%26e%3Ff%23g%25h");
	encode_is("caf\xc3\xa9", true, "caf%C3%A9");
	encode_is("", false, "");

	/* all 256 byte values: only the unreserved ones stay as they are */
	char all[256];
	struct buf b = BUF_INIT;
	for (int i = 0; i < 256; i++)
		all[i] = (char)i;
	assert_int_equal(s3_uri_encode(&b, all, sizeof(all), false), 0);
	assert_int_equal(b.len, 66 + (256 - 66) * 3);
	buf_release(&b);

	/* a capped buffer refuses, it does not overflow */
	buf_init(&b, 5);
	assert_int_equal(s3_uri_encode(&b, "a b c", 5, false), -1);
	assert_true(b.len <= 5);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_keys),
		cmocka_unit_test(test_invalid_keys),
		cmocka_unit_test(test_key_lengths),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_uri_encode),
	};

	return cmocka_run_group_tests_name("store/key", tests, NULL, NULL);
}
