/* uri_test.c — percent-decoding, path checks and query parsing (src/http/uri.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/internal.h"
#include "http/uri.h"

static void test_pct_decode(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(http_pct_decode(out, "a%20b%2fc", 9, false), 5);
	assert_memory_equal(out, "a b/c", 5);
	assert_int_equal(http_pct_decode(out, "a+b", 3, false), 3);
	assert_memory_equal(out, "a+b", 3);
	assert_int_equal(http_pct_decode(out, "a+b", 3, true), 3);
	assert_memory_equal(out, "a b", 3);
	assert_int_equal(http_pct_decode(out, "%e2%82%AC", 9, false), 3);
	assert_memory_equal(out, "\xe2\x82\xac", 3);
	assert_int_equal(http_pct_decode(out, "%", 1, false), -1);
	assert_int_equal(http_pct_decode(out, "%4", 2, false), -1);
	assert_int_equal(http_pct_decode(out, "%zz", 3, false), -1);
	assert_int_equal(http_pct_decode(out, "ab%4", 4, false), -1);
	assert_int_equal(http_pct_decode(out, "", 0, false), 0);
}

struct path_case {
	const char *raw;
	const char *decoded; /* NULL: must be refused */
};

static void test_path_decode(void **state)
{
	static const struct path_case cases[] = {
		{ "/", "/" },
		{ "/api/v1/tracks/x", "/api/v1/tracks/x" },
		{ "/caf%C3%A9", "/caf\xc3\xa9" },
		{ "/a%20b", "/a b" },
		{ "/a+b", "/a+b" },
		{ "/a/.b/c..", "/a/.b/c.." },
		{ "/a/...", "/a/..." },
		{ "/a//b", "/a//b" },
		{ "/a/b/", "/a/b/" },
		{ "/..", NULL },
		{ "/a/../b", NULL },
		{ "/a/./b", NULL },
		{ "/a/.", NULL },
		{ "/%2e%2e/etc/passwd", NULL },
		{ "/%2E%2e", NULL },
		{ "/.%2e/x", NULL },
		{ "/%2e/x", NULL },
		{ "/a%00b", NULL },
		{ "/a%2fb", NULL },
		{ "/a%2Fb", NULL },
		{ "/a%zz", NULL },
		{ "/a%2", NULL },
		{ "/%c3%28", NULL },     /* invalid UTF-8 */
		{ "/%ed%a0%80", NULL },  /* a surrogate */
		{ "/%c0%af", NULL },     /* overlong '/' */
		{ "/\xff", NULL },
		{ "", NULL },
		{ "api", NULL },
	};
	char out[64];
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ssize_t n = http_path_decode(cases[i].raw, strlen(cases[i].raw), out, &why);

		if (cases[i].decoded) {
			if (n < 0)
				fail_msg("%s refused: %s", cases[i].raw, why);
			assert_int_equal((size_t)n, strlen(cases[i].decoded));
			assert_string_equal(out, cases[i].decoded);
		} else if (n >= 0) {
			fail_msg("%s accepted as %s", cases[i].raw, out);
		}
	}
	/* NUL in the raw bytes, and the length limit. */
	assert_int_equal(http_path_decode("/a\0b", 4, out, &why), -1);
	char *big = malloc(HTTP_PATH_MAX + 2), *dst = malloc(HTTP_PATH_MAX + 2);
	memset(big, 'a', HTTP_PATH_MAX + 1);
	big[0] = '/';
	assert_int_equal(http_path_decode(big, HTTP_PATH_MAX, dst, &why), HTTP_PATH_MAX);
	assert_int_equal(http_path_decode(big, HTTP_PATH_MAX + 1, dst, &why), -1);
	assert_string_equal(why, "the path is too long");
	free(big);
	free(dst);
}

static void test_query_check(void **state)
{
	size_t n = 99;
	const char *why;

	(void)state;
	assert_int_equal(http_query_check("a=1&b=2", 7, 10, &n, &why), 0);
	assert_int_equal(n, 2);
	assert_int_equal(http_query_check("", 0, 10, &n, &why), 0);
	assert_int_equal(n, 0);
	assert_int_equal(http_query_check("&&a&&", 5, 10, &n, &why), 0);
	assert_int_equal(n, 1);
	assert_int_equal(http_query_check("q=caf%C3%A9&x=%E2%82%AC", 23, 10, &n, &why), 0);
	assert_int_equal(http_query_check("a=%zz", 5, 10, &n, &why), -1);
	assert_int_equal(http_query_check("a=%00", 5, 10, &n, &why), -1);
	assert_int_equal(http_query_check("a=%ff", 5, 10, &n, &why), -1);
	assert_int_equal(http_query_check("a=%c3&b=%a9", 11, 10, &n, &why), -1); /* cut by '&' */
	assert_int_equal(http_query_check("a=%c3", 5, 10, &n, &why), -1);
	assert_int_equal(http_query_check("a=1&b=2&c=3", 11, 2, &n, &why), -1);
	assert_string_equal(why, "the query has too many parameters");

	/* 10,000 parameters against the real limit. */
	size_t len = 10000 * 4;
	char *q = malloc(len);
	for (size_t i = 0; i < 10000; i++)
		memcpy(q + i * 4, "a=1&", 4);
	assert_int_equal(http_query_check(q, len - 1, HTTP_MAX_QUERY_PARAMS, &n, &why), -1);
	assert_int_equal(http_query_check(q, HTTP_MAX_QUERY_PARAMS * 4 - 1, HTTP_MAX_QUERY_PARAMS, &n, &why), 0);
	assert_int_equal(n, HTTP_MAX_QUERY_PARAMS);
	free(q);
}

static void test_query_parse(void **state)
{
	const char *q = "a=1&b=x+y%21&empty=&flag&&c=%3D%26&a=2&=v";
	size_t n, len = strlen(q);
	const char *why;
	struct http_qparam out[16];
	char *buf;

	(void)state;
	assert_int_equal(http_query_check(q, len, 16, &n, &why), 0);
	assert_int_equal(n, 7);
	buf = malloc(len + 2 * n);
	assert_int_equal(http_query_parse(q, len, buf, out, 16), 7);
	assert_string_equal(out[0].name, "a");
	assert_string_equal(out[0].value, "1");
	assert_string_equal(out[1].name, "b");
	assert_string_equal(out[1].value, "x y!");
	assert_string_equal(out[2].name, "empty");
	assert_string_equal(out[2].value, "");
	assert_string_equal(out[3].name, "flag");
	assert_string_equal(out[3].value, "");
	assert_string_equal(out[4].name, "c");
	assert_string_equal(out[4].value, "=&");
	assert_string_equal(out[5].value, "2");
	assert_string_equal(out[6].name, "");
	assert_string_equal(out[6].value, "v");
	/* cap respected */
	assert_int_equal(http_query_parse(q, len, buf, out, 2), 2);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pct_decode),
		cmocka_unit_test(test_path_decode),
		cmocka_unit_test(test_query_check),
		cmocka_unit_test(test_query_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
