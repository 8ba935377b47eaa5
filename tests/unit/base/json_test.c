/* tjson: what the strict parser refuses and how, and the typed getters' messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"

/* Parse a C string; expect failure whose message contains `want`. */
static void refuses(const char *text, size_t len, size_t depth, const char *want)
{
	struct err e = ERR_INIT;
	json_t *j = tjson_parse_strict(text, len, depth, &e);

	if (j) {
		json_decref(j);
		fail_msg("accepted %s", text);
	}
	assert_int_equal(e.code, ERR_INVALID);
	if (!strstr(e.msg, want))
		fail_msg("message \"%s\" lacks \"%s\"", e.msg, want);
}

static void test_accepts(void **state)
{
	(void)state;
	struct err e = ERR_INIT;
	const char *ok = "{\"name\": \"Caf\xc3\xa9 \xf0\x9f\x8e\xb5\", \"n\": [1, 2, {\"x\": null}]}  \n";
	json_t *j = tjson_parse_strict(ok, strlen(ok), 8, &e);

	assert_non_null(j);
	assert_int_equal(e.code, ERR_NONE);
	assert_string_equal(json_string_value(json_object_get(j, "name")), "Caf\xc3\xa9 \xf0\x9f\x8e\xb5");
	json_decref(j);
	/* any value at the top (RFC 8259), and escaped astral characters (a surrogate pair) */
	j = tjson_parse_strict("\"\\ud83c\\udfb5\"", 14, 0, &e);
	assert_non_null(j);
	assert_string_equal(json_string_value(j), "\xf0\x9f\x8e\xb5");
	json_decref(j);
	j = tjson_parse_strict("42", 2, 0, &e);
	assert_non_null(j);
	json_decref(j);
}

static void test_refuses(void **state)
{
	(void)state;
	refuses("{\"a\": 1, \"a\": 2}", 16, 8, "duplicate");
	refuses("{\"a\": \"x\\u0000y\"}", 17, 8, "line 1");
	refuses("{\"a\": 1} x", 10, 8, "line 1, column");
	refuses("{\"a\": 1}{}", 10, 8, "invalid JSON");
	refuses("", 0, 8, "invalid JSON");
	refuses("{\"a\":\n  tru}", 12, 8, "line 2");
	/* a NUL byte in the input itself */
	refuses("{\"a\": \"x\0\"}", 11, 8, "invalid JSON");
	/* invalid UTF-8: overlong '/', a raw surrogate, above U+10FFFF, truncated, stray continuation */
	refuses("[\"\xc0\xaf\"]", 6, 8, "invalid UTF-8");
	refuses("[\"\xed\xa0\x80\"]", 7, 8, "invalid UTF-8");
	refuses("[\"\xf4\x90\x80\x80\"]", 8, 8, "invalid UTF-8");
	refuses("[\"\xe2\x82\"]", 6, 8, "invalid UTF-8");
	refuses("[1,\n\"ok\xc3\xa9\", \"\x80\"]", 17, 8, "line 2, column 10: invalid UTF-8");
	/* an escaped lone surrogate is not a character either */
	refuses("[\"\\ud800\"]", 10, 8, "invalid JSON");
	refuses("[\"\\udc00x\"]", 11, 8, "invalid JSON");
}

static void test_depth(void **state)
{
	(void)state;
	struct err e = ERR_INIT;
	char deep[2 * 300 + 1];
	json_t *j;

	/* [[[…]]] of depth 3 passes a limit of 3 and fails a limit of 2 */
	j = tjson_parse_strict("[[[]]]", 6, 3, &e);
	assert_non_null(j);
	json_decref(j);
	refuses("[[[]]]", 6, 2, "deeper than 2");
	refuses("{\"a\": {\"b\": [1]}}", 17, 2, "deeper than 2");
	refuses("[]", 2, 0, "deeper than 0");
	/* wide is not deep: many siblings at depth 2 */
	{
		size_t n = 0;
		char wide[4 * 5000 + 3];
		wide[n++] = '[';
		for (int i = 0; i < 5000; i++) {
			memcpy(wide + n, i ? ",[1]" : "[1]", i ? 4 : 3);
			n += i ? 4 : 3;
		}
		wide[n++] = ']';
		j = tjson_parse_strict(wide, n, 2, &e);
		assert_non_null(j);
		json_decref(j);
	}
	/* 300 levels, limit 299 and 300 */
	memset(deep, '[', 300);
	memset(deep + 300, ']', 300);
	refuses(deep, 600, 299, "deeper than 299");
	j = tjson_parse_strict(deep, 600, 300, &e);
	assert_non_null(j);
	json_decref(j);
	/* past our hard cap whatever the caller asks */
	char *very = malloc(2 * 1500);
	assert_non_null(very);
	memset(very, '[', 1500);
	memset(very + 1500, ']', 1500);
	refuses(very, 3000, 100000, "deeper than");
	free(very);
}

static void test_get_str(void **state)
{
	(void)state;
	struct err e = ERR_INIT;
	json_t *o = json_pack("{s:s, s:i, s:n, s:s}", "name", "h\xc3\xa9llo", "n", 3, "nothing", "empty", "");
	const char *s = "default";

	assert_int_equal(tjson_get_str(o, "name", true, 5, &s, &e), 1);
	assert_string_equal(s, "h\xc3\xa9llo"); /* 6 bytes, 5 characters */
	assert_int_equal(tjson_get_str(o, "name", true, 4, &s, &e), -1);
	assert_string_equal(e.msg, "field \"name\": expected a string of at most 4 characters");
	assert_int_equal(e.code, ERR_INVALID);
	assert_int_equal(tjson_get_str(o, "n", true, 10, &s, &e), -1);
	assert_string_equal(e.msg, "field \"n\": expected a string");
	assert_int_equal(tjson_get_str(o, "missing", true, 10, &s, &e), -1);
	assert_string_equal(e.msg, "field \"missing\" is required");
	/* absent or null and optional: 0 and NULL */
	s = "x";
	assert_int_equal(tjson_get_str(o, "missing", false, 10, &s, &e), 0);
	assert_null(s);
	s = "x";
	assert_int_equal(tjson_get_str(o, "nothing", false, 10, &s, &e), 0);
	assert_null(s);
	assert_int_equal(tjson_get_str(o, "nothing", true, 10, &s, &e), -1);
	assert_int_equal(tjson_get_str(o, "empty", true, 0, &s, &e), 1);
	assert_string_equal(s, "");
	/* a string built in code with a NUL inside */
	json_object_set_new(o, "nul", json_stringn("a\0b", 3));
	assert_int_equal(tjson_get_str(o, "nul", true, 10, &s, &e), -1);
	assert_non_null(strstr(e.msg, "field \"nul\""));
	/* not an object */
	json_t *arr = json_array();
	assert_int_equal(tjson_get_str(arr, "name", false, 10, &s, &e), -1);
	assert_string_equal(e.msg, "expected a JSON object");
	json_decref(arr);
	json_decref(o);
}

static void test_get_int_bool(void **state)
{
	(void)state;
	struct err e = ERR_INIT;
	json_t *o;
	long long n = 7;
	bool b = false;
	const char *text = "{\"age\": 30, \"big\": 9223372036854775807, \"real\": 3.0, \"s\": \"5\","
			   " \"yes\": true, \"one\": 1}";

	o = tjson_parse_strict(text, strlen(text), 4, &e);
	assert_non_null(o);
	assert_int_equal(tjson_get_int(o, "age", true, 0, 150, &n, &e), 1);
	assert_int_equal(n, 30);
	assert_int_equal(tjson_get_int(o, "age", true, 0, 20, &n, &e), -1);
	assert_string_equal(e.msg, "field \"age\": expected an integer between 0 and 20");
	assert_int_equal(n, 30);
	assert_int_equal(tjson_get_int(o, "big", true, LLONG_MIN, LLONG_MAX, &n, &e), 1);
	assert_true(n == LLONG_MAX);
	assert_int_equal(tjson_get_int(o, "real", true, 0, 10, &n, &e), -1);
	assert_int_equal(tjson_get_int(o, "s", true, 0, 10, &n, &e), -1);
	n = 7;
	assert_int_equal(tjson_get_int(o, "missing", false, 0, 10, &n, &e), 0);
	assert_int_equal(n, 7);
	assert_int_equal(tjson_get_int(o, "missing", true, 0, 10, &n, &e), -1);
	assert_string_equal(e.msg, "field \"missing\" is required");

	assert_int_equal(tjson_get_bool(o, "yes", true, &b, &e), 1);
	assert_true(b);
	assert_int_equal(tjson_get_bool(o, "one", true, &b, &e), -1);
	assert_string_equal(e.msg, "field \"one\": expected true or false");
	assert_int_equal(tjson_get_bool(o, "missing", false, &b, &e), 0);
	assert_true(b);
	json_decref(o);

	/* numbers too big for 64 bits are a parse error, not a silent wrap */
	refuses("{\"n\": 99999999999999999999}", 27, 4, "invalid JSON");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_refuses),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_get_str),
		cmocka_unit_test(test_get_int_bool),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
