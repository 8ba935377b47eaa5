/* jsonw: the text is byte for byte what jansson's compact dump writes for the same values,
 * since the browse API switched from jansson trees to the writer without changing answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/jsonw.h"

/* Dump `v` (stolen) with jansson the way http_res_json does. */
static char *jansson_text(json_t *v)
{
	char *s;

	assert_non_null(v);
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(v);
	assert_non_null(s);
	return s;
}

static void expect_same(struct jsonw *w, json_t *v)
{
	char *want = jansson_text(v);

	assert_false(w->failed);
	assert_string_equal(buf_str(&w->buf), want);
	free(want);
}

static void test_strings(void **state)
{
	static const char *const cases[] = {
		"", "plain", "quote \" and backslash \\", "slash / stays", "\b\f\n\r\t", "\x01\x1f\x7f",
		"Árvore 夜 Звезда 🎵", "a\x1b[0m", "end\\",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jsonw w;

		jsonw_init(&w, 0);
		jsonw_str(&w, cases[i]);
		expect_same(&w, json_string(cases[i]));
		jsonw_release(&w);
	}
}

static void test_numbers(void **state)
{
	static const double reals[] = {
		0.0, -0.0, 1.0, -1.0, 0.1, -21.7, 5.5, 1e20, 1e21, 1e22, 1.5e300, 1e-5, 1.25e-7, 123456789012345678.0,
		DBL_MAX, DBL_MIN, 4.9e-324, 3.14159265358979, -89.999999999999,
	};
	static const int64_t ints[] = { 0, 1, -1, 42, 9007199254740993LL, INT64_MAX, INT64_MIN };

	(void)state;
	for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
		struct jsonw w;

		jsonw_init(&w, 0);
		jsonw_real(&w, reals[i]);
		expect_same(&w, json_real(reals[i]));
		jsonw_release(&w);
	}
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		struct jsonw w;

		jsonw_init(&w, 0);
		jsonw_int(&w, ints[i]);
		expect_same(&w, json_integer(ints[i]));
		jsonw_release(&w);
		{
			/* The text alone, as headers use it: NUL-terminated, its length returned. */
			char t[JSONW_INT_MAX], want[32];

			snprintf(want, sizeof(want), "%lld", (long long)ints[i]);
			assert_int_equal(jsonw_int_text(ints[i], t), strlen(want));
			assert_string_equal(t, want);
		}
	}
}

/* jsonw's own formatter for "%.17g" (the catalogue's figures) against jansson, which prints
 * with snprintf: random bit patterns, figures like the catalogue's (a few decimals), values
 * at the formatter's range limits and at every power of ten, and exact ties at the 17th
 * digit (glibc rounds them to even). */
static void expect_real(double v)
{
	struct jsonw w;
	json_t *j = json_real(v);

	if (!j) /* not finite */
		return;
	jsonw_init(&w, 0);
	jsonw_real(&w, v);
	expect_same(&w, j);
	jsonw_release(&w);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static void test_reals_formatter(void **state)
{
	(void)state;
	for (int i = 0; i < 200000; i++) {
		uint64_t bits = rng();
		double v;

		memcpy(&v, &bits, sizeof(v));
		expect_real(v);
		/* Magnitudes the fast path covers, 1e-12 to 1e17, evenly in the exponent. */
		bits = (rng() & 0x800FFFFFFFFFFFFFULL) | ((uint64_t)(1023 - 40 + (int)(rng() % 97)) << 52);
		memcpy(&v, &bits, sizeof(v));
		expect_real(v);
		/* Loudness, gains, peaks, bpm: a few decimals. */
		expect_real((double)((int64_t)(rng() % 2000001) - 1000000) / 1000.0);
		expect_real((double)((int64_t)(rng() % 200001) - 100000) / 10.0);
		/* Exact ties at the 17th significant digit: quarters and eighths near 10^15. */
		expect_real(1e15 + (double)(rng() % 1000000) + 0.25 * (double)(rng() % 4));
		expect_real(1e14 + (double)(rng() % 1000000) + 0.125 * (double)(rng() % 8));
	}
	for (int p = -330; p <= 310; p++) {
		double v = pow(10.0, p);

		expect_real(v);
		expect_real(-v);
		expect_real(nextafter(v, 0));
		expect_real(nextafter(v, INFINITY));
	}
	expect_real(9.9999999999999995e15);
	expect_real(9.9999999999999998e-12);
	expect_real(0.5);
	expect_real(-0.0);
}

static void test_nesting_and_commas(void **state)
{
	struct jsonw w;
	json_t *o = json_object(), *a = json_array(), *inner = json_object();

	(void)state;
	jsonw_init(&w, 0);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "items");
	jsonw_arr_begin(&w);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "x");
	jsonw_null(&w);
	jsonw_key(&w, "b");
	jsonw_bool(&w, true);
	jsonw_key(&w, "e");
	jsonw_arr_begin(&w);
	jsonw_arr_end(&w);
	jsonw_obj_end(&w);
	jsonw_int(&w, 3);
	jsonw_str(&w, "s");
	jsonw_bool(&w, false);
	jsonw_arr_end(&w);
	jsonw_key(&w, "next:{");
	jsonw_str(&w, NULL);
	jsonw_obj_end(&w);

	json_object_set_new(inner, "x", json_null());
	json_object_set_new(inner, "b", json_true());
	json_object_set_new(inner, "e", json_array());
	json_array_append_new(a, inner);
	json_array_append_new(a, json_integer(3));
	json_array_append_new(a, json_string("s"));
	json_array_append_new(a, json_false());
	json_object_set_new(o, "items", a);
	json_object_set_new(o, "next:{", json_null());
	expect_same(&w, o);
	jsonw_release(&w);
}

/* A member in one call writes what the key and the value's own call write, in every position
 * (first in an object, after a value, after a nested object), with strings that take the fast
 * path and strings that need escapes or a UTF-8 check; and it fails where they fail. */
static void test_members_in_one_call(void **state)
{
	static const char *const strs[] = {
		"", "plain", "quote \" and backslash \\", "\b\f\n\r\t\x01", "Árvore 夜 🎵", NULL,
	};
	static const int64_t ints[] = { 0, 7, -1, INT64_MAX, INT64_MIN };
	static const double reals[] = { 0.0, -21.7, 1e20, 1.25e-7, NAN };

	(void)state;
	for (size_t round = 0; round < 2; round++) {
		struct jsonw a, b;

		jsonw_init(&a, 0);
		jsonw_init(&b, 0);
		jsonw_obj_begin(&a);
		jsonw_obj_begin(&b);
		for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
			jsonw_member_str(&a, JSONW_QUOTED_KEY("s"), strs[i]);
			JSONW_KEY(&b, "s");
			jsonw_str(&b, strs[i]);
			if (round) {
				jsonw_member_raw(&a, JSONW_QUOTED_KEY("o"), "{", 1);
				JSONW_KEY(&b, "o");
				jsonw_obj_begin(&b);
			}
		}
		for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
			jsonw_member_int(&a, JSONW_QUOTED_KEY("i"), ints[i]);
			JSONW_KEY(&b, "i");
			jsonw_int(&b, ints[i]);
		}
		for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
			jsonw_member_real(&a, JSONW_QUOTED_KEY("r"), reals[i]);
			JSONW_KEY(&b, "r");
			jsonw_real(&b, reals[i]);
		}
		jsonw_member_raw(&a, JSONW_QUOTED_KEY("n"), "null", 4);
		JSONW_KEY(&b, "n");
		jsonw_null(&b);
		jsonw_obj_end(&a);
		jsonw_obj_end(&b);
		assert_false(a.failed);
		assert_false(b.failed);
		assert_string_equal(buf_str(&a.buf), buf_str(&b.buf));
		assert_int_equal(a.buf.len, strlen(buf_str(&a.buf)));
		jsonw_release(&a);
		jsonw_release(&b);
	}

	struct jsonw w;

	jsonw_init(&w, 0);
	jsonw_obj_begin(&w);
	jsonw_member_str(&w, JSONW_QUOTED_KEY("bad"), "bad \xff");
	assert_true(w.failed);
	jsonw_release(&w);
	jsonw_init(&w, 16);
	jsonw_obj_begin(&w);
	jsonw_member_str(&w, JSONW_QUOTED_KEY("long"), "0123456789");
	assert_true(w.failed);
	jsonw_member_int(&w, JSONW_QUOTED_KEY("i"), 1);
	assert_true(w.buf.len <= 16);
	jsonw_release(&w);
}

static void test_failures_are_sticky(void **state)
{
	struct jsonw w;

	(void)state;
	/* Not UTF-8: refused, as the database would have refused to store it. */
	jsonw_init(&w, 0);
	jsonw_arr_begin(&w);
	jsonw_str(&w, "bad \xff");
	jsonw_str(&w, "good");
	assert_true(w.failed);
	jsonw_release(&w);
	assert_false(w.failed);

	/* Past the cap: refused, and nothing later is appended. */
	jsonw_init(&w, 8);
	jsonw_str(&w, "0123456789");
	assert_true(w.failed);
	jsonw_int(&w, 1);
	assert_true(w.failed);
	assert_true(w.buf.len <= 8);
	jsonw_release(&w);

	/* Not finite: null (jansson has no value for it). */
	jsonw_init(&w, 0);
	jsonw_real(&w, NAN);
	jsonw_real(&w, INFINITY);
	assert_false(w.failed);
	assert_string_equal(buf_str(&w.buf), "null,null");
	jsonw_release(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_reals_formatter),
		cmocka_unit_test(test_nesting_and_commas),
		cmocka_unit_test(test_members_in_one_call),
		cmocka_unit_test(test_failures_are_sticky),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
