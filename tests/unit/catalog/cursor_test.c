/* Cursors: they round-trip, and anything else a client may send is refused, never a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/cursor.h"

static const char *const ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

static void test_round_trip_int(void **state)
{
	const int64_t keys[] = { 0, 1, -1, 1999, INT64_MAX, INT64_MIN, 1700000000123LL };

	(void)state;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct catalog_cursor c = { .kind = 2, .sort = 3, .desc = i % 2, .ikey = keys[i] }, d;
		struct err e = ERR_INIT;
		char *s;

		memcpy(c.id, ID, sizeof(c.id));
		s = catalog_cursor_encode(&c, &e);
		assert_non_null(s);
		/* URL-safe: nothing to escape in a query string. */
		assert_int_equal(strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), strlen(s));
		if (catalog_cursor_decode(s, strlen(s), &d, &e) < 0)
			fail_msg("decode %s: %s", s, e.msg);
		assert_int_equal(d.kind, 2);
		assert_int_equal(d.sort, 3);
		assert_int_equal(d.desc, i % 2);
		assert_false(d.is_text);
		assert_true(d.ikey == keys[i]);
		assert_string_equal(d.id, ID);
		catalog_cursor_release(&d);
		free(s);
	}
}

static void test_round_trip_text(void **state)
{
	const char *keys[] = { "", "a", "ab", "abc", "beatles, the", "björk", "日本語のタイトル", "'; DROP TABLE x; --" };
	char big[CATALOG_CURSOR_TEXT_MAX + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) + 1; i++) {
		struct catalog_cursor c = { .kind = 0, .sort = 1, .is_text = true }, d;
		struct err e = ERR_INIT;
		char *s;

		if (i == sizeof(keys) / sizeof(keys[0])) {
			memset(big, 'x', sizeof(big) - 1);
			big[sizeof(big) - 1] = '\0';
			c.tkey = big;
		} else {
			c.tkey = (char *)keys[i];
		}
		c.tkey_len = strlen(c.tkey);
		memcpy(c.id, ID, sizeof(c.id));
		s = catalog_cursor_encode(&c, &e);
		assert_non_null(s);
		assert_true(strlen(s) <= CATALOG_CURSOR_MAX);
		if (catalog_cursor_decode(s, strlen(s), &d, &e) < 0)
			fail_msg("decode %zu (%s): %s", i, s, e.msg);
		assert_true(d.is_text);
		assert_int_equal(d.tkey_len, c.tkey_len);
		assert_memory_equal(d.tkey, c.tkey, c.tkey_len);
		assert_string_equal(d.id, ID);
		catalog_cursor_release(&d);
		free(s);
	}
}

static void test_encode_refuses(void **state)
{
	struct catalog_cursor c = { .is_text = true, .tkey = "x" , .tkey_len = CATALOG_CURSOR_TEXT_MAX + 1 };
	struct err e = ERR_INIT;

	(void)state;
	memcpy(c.id, ID, sizeof(c.id));
	assert_null(catalog_cursor_encode(&c, &e));
	assert_int_equal(e.code, ERR_INVALID);
	c.tkey_len = 1;
	memcpy(c.id, "not an id at all!!!!!!!!!!", sizeof(c.id));
	assert_null(catalog_cursor_encode(&c, &e));
}

static void refused(const char *s, size_t len)
{
	struct catalog_cursor d;
	struct err e = ERR_INIT;

	if (catalog_cursor_decode(s, len, &d, &e) == 0)
		fail_msg("accepted: %.*s", (int)len, s);
	assert_int_equal(e.code, ERR_INVALID);
	assert_non_null(strstr(e.msg, "cursor"));
	assert_null(d.tkey);
}

static void test_hostile(void **state)
{
	struct catalog_cursor c = { .kind = 1, .sort = 0, .is_text = true, .tkey = "abc", .tkey_len = 3 };
	struct err e = ERR_INIT;
	char *good, *bad;
	size_t len;

	(void)state;
	refused("", 0);
	refused("A", 1);
	refused("!!!!", 4);
	refused("AAAA====", 8);
	refused("abc+/def", 8);           /* the non-URL base64 alphabet */
	refused("' OR 1=1 --", 11);
	refused("AQIDBA", 6);             /* decodes, far too short */
	refused("a\0bc", 4);
	memcpy(c.id, ID, sizeof(c.id));
	good = catalog_cursor_encode(&c, &e);
	assert_non_null(good);
	len = strlen(good);
	/* Every truncation is refused. */
	for (size_t i = 0; i < len; i++)
		refused(good, i);
	/* Trailing bytes are refused. */
	bad = malloc(len + 5);
	assert_non_null(bad);
	memcpy(bad, good, len);
	memcpy(bad + len, "AAAA", 5);
	refused(bad, len + 4);
	/* Flipping any character either is refused or decodes to a valid cursor — never more. */
	for (size_t i = 0; i < len; i++) {
		struct catalog_cursor d;

		memcpy(bad, good, len + 1);
		bad[i] = bad[i] == 'A' ? 'z' : 'A';
		if (catalog_cursor_decode(bad, len, &d, &e) == 0) {
			assert_true(d.tkey_len <= CATALOG_CURSOR_TEXT_MAX);
			catalog_cursor_release(&d);
		}
	}
	free(bad);
	/* Absurd lengths. */
	bad = malloc(CATALOG_CURSOR_MAX + 2);
	assert_non_null(bad);
	memset(bad, 'A', CATALOG_CURSOR_MAX + 1);
	refused(bad, CATALOG_CURSOR_MAX + 1);
	free(bad);
	free(good);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_int),
		cmocka_unit_test(test_round_trip_text),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
