/* utf8: strict validation and repair. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/utf8.h"

#define V(s) utf8_valid((s), sizeof(s) - 1)
#define FFFD "\xef\xbf\xbd"

static void test_valid(void **state)
{
	(void)state;
	assert_true(V(""));
	assert_true(V("plain ascii"));
	assert_true(V("caf\xc3\xa9"));               /* U+00E9 */
	assert_true(V("\xe2\x82\xac"));              /* U+20AC */
	assert_true(V("\xf0\x9f\x8e\xb5"));          /* U+1F3B5 */
	assert_true(V("\xf4\x8f\xbf\xbf"));          /* U+10FFFF, the last */
	assert_true(V("\xed\x9f\xbf"));              /* U+D7FF, just below surrogates */
	assert_true(V("\xee\x80\x80"));              /* U+E000, just above */
	assert_true(V("\xef\xbf\xbf"));              /* U+FFFF */
	assert_true(utf8_valid("a\0b", 3));          /* NUL is valid UTF-8 (sanitize replaces it) */
	/* overlongs */
	assert_false(V("\xc0\xaf"));
	assert_false(V("\xc1\xbf"));
	assert_false(V("\xe0\x80\xaf"));
	assert_false(V("\xe0\x9f\xbf"));
	assert_false(V("\xf0\x80\x80\xaf"));
	assert_false(V("\xf0\x8f\xbf\xbf"));
	/* surrogates */
	assert_false(V("\xed\xa0\x80"));
	assert_false(V("\xed\xbf\xbf"));
	/* above U+10FFFF, and bytes that never occur */
	assert_false(V("\xf4\x90\x80\x80"));
	assert_false(V("\xf5\x80\x80\x80"));
	assert_false(V("\xff"));
	assert_false(V("\xfe"));
	/* truncated sequences, alone and followed by more text */
	assert_false(V("\xc3"));
	assert_false(V("\xe2\x82"));
	assert_false(V("\xf0\x9f\x8e"));
	assert_false(V("\xe2\x82x"));
	assert_false(V("\xf0\x9f\x8ex"));
	/* stray continuation bytes */
	assert_false(V("\x80"));
	assert_false(V("a\xbf"));
	/* the length bounds the check: a valid prefix of an invalid buffer */
	assert_true(utf8_valid("ok\xff", 2));
	assert_false(utf8_valid("\xc3\xa9", 1));
}

static void test_sanitize(void **state)
{
	(void)state;
	char out[64];

	assert_int_equal(utf8_sanitize(out, sizeof(out), "abc", 3), 3);
	assert_string_equal(out, "abc");
	/* each invalid byte or sequence start becomes one U+FFFD */
	assert_int_equal(utf8_sanitize(out, sizeof(out), "a\xff" "b", 3), 5);
	assert_string_equal(out, "a" FFFD "b");
	assert_int_equal(utf8_sanitize(out, sizeof(out), "\xc0\xaf", 2), 6);
	assert_string_equal(out, FFFD FFFD);
	assert_int_equal(utf8_sanitize(out, sizeof(out), "\xed\xa0\x80", 3), 9);
	assert_string_equal(out, FFFD FFFD FFFD);
	assert_int_equal(utf8_sanitize(out, sizeof(out), "x\xe2\x82", 3), 7);
	assert_string_equal(out, "x" FFFD FFFD);
	/* NUL is replaced, so the result is a whole C string */
	assert_int_equal(utf8_sanitize(out, sizeof(out), "a\0b", 3), 5);
	assert_string_equal(out, "a" FFFD "b");
	/* valid multi-byte text passes through */
	assert_int_equal(utf8_sanitize(out, sizeof(out), "\xf0\x9f\x8e\xb5", 4), 4);
	assert_string_equal(out, "\xf0\x9f\x8e\xb5");
	assert_int_equal(utf8_sanitize(out, sizeof(out), "", 0), 0);
	assert_string_equal(out, "");
}

static void test_sanitize_sizing(void **state)
{
	(void)state;
	const char *src = "ab\xff\xc3\xa9z";   /* a b FFFD é z = 1+1+3+2+1 = 8 */
	char out[16];

	/* like snprintf: NULL sizes it, the return never depends on cap */
	assert_int_equal(utf8_sanitize(NULL, 0, src, 6), 8);
	assert_int_equal(utf8_sanitize(out, 0, src, 6), 8);
	for (size_t cap = 1; cap <= sizeof(out); cap++) {
		memset(out, '#', sizeof(out));
		assert_int_equal(utf8_sanitize(out, cap, src, 6), 8);
		size_t n = strlen(out);
		/* NUL-terminated inside cap, never past it, and whole characters only */
		assert_true(n < cap);
		assert_true(utf8_valid(out, n));
		if (cap > 8)
			assert_string_equal(out, "ab" FFFD "\xc3\xa9z");
		for (size_t i = cap; i < sizeof(out); i++)
			assert_int_equal(out[i], '#');
	}
	/* cut before a character that does not fit; later small ones are not squeezed in */
	assert_int_equal(utf8_sanitize(out, 4, src, 6), 8);
	assert_string_equal(out, "ab");
	/* a long run of bad bytes into a tiny buffer: nothing written past the end */
	char tiny[5] = "####";
	assert_int_equal(utf8_sanitize(tiny, 4, "\xff\xff\xff\xff\xff\xff", 6), 18);
	assert_string_equal(tiny, FFFD);
	char more[8] = "#######";
	assert_int_equal(utf8_sanitize(more, 4, "abc" "defgh", 8), 8);
	assert_string_equal(more, "abc");
	assert_int_equal(more[4], '#');
}

/* utf8_copy cuts between characters, terminates always, and reads NULL as "". */
static void test_copy(void **state)
{
	char out[6];

	(void)state;
	assert_int_equal(utf8_copy(out, sizeof(out), "abc"), 3);
	assert_string_equal(out, "abc");
	assert_int_equal(utf8_copy(out, sizeof(out), NULL), 0);
	assert_string_equal(out, "");
	/* "ab" + "é" (2 bytes) + "日" (3 bytes): 5 bytes fit, but the cut would split 日. */
	assert_int_equal(utf8_copy(out, sizeof(out), "ab\xc3\xa9\xe6\x97\xa5"), 4);
	assert_string_equal(out, "ab\xc3\xa9");
	assert_true(utf8_valid(out, strlen(out)));
	assert_int_equal(utf8_copy(out, 1, "xyz"), 0);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_sanitize_sizing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
