/* range_test.c — Range parsing and conditional-request evaluation (src/http/range.c),
 * table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http/range.h"

struct range_case {
	const char *hdr;
	uint64_t size;
	enum http_range_kind kind;
	uint64_t first, last;
};

static void test_range_parse(void **state)
{
	static const struct range_case cases[] = {
		{ "bytes=0-499", 1000, HTTP_RANGE_SINGLE, 0, 499 },
		{ "bytes=500-999", 1000, HTTP_RANGE_SINGLE, 500, 999 },
		{ "bytes=500-", 1000, HTTP_RANGE_SINGLE, 500, 999 },
		{ "bytes=-200", 1000, HTTP_RANGE_SINGLE, 800, 999 },
		{ "bytes=-5000", 1000, HTTP_RANGE_SINGLE, 0, 999 },
		{ "bytes=900-5000", 1000, HTTP_RANGE_SINGLE, 900, 999 },
		{ "bytes=0-0", 1000, HTTP_RANGE_SINGLE, 0, 0 },
		{ "bytes=999-999", 1000, HTTP_RANGE_SINGLE, 999, 999 },
		{ "Bytes=1-2", 1000, HTTP_RANGE_SINGLE, 1, 2 },
		{ " bytes= 1-2 ", 1000, HTTP_RANGE_SINGLE, 1, 2 },
		{ "bytes=0-99999999999999999999999", 1000, HTTP_RANGE_SINGLE, 0, 999 },
		{ "bytes=1000-", 1000, HTTP_RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=1000-2000", 1000, HTTP_RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=99999999999999999999999-", 1000, HTTP_RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=-0", 1000, HTTP_RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=0-", 0, HTTP_RANGE_UNSATISFIABLE, 0, 0 },
		{ "bytes=-1", 0, HTTP_RANGE_UNSATISFIABLE, 0, 0 },
		/* malformed: ignored */
		{ "bytes=5-1", 1000, HTTP_RANGE_NONE, 0, 0 },
		{ "bytes=-", 1000, HTTP_RANGE_NONE, 0, 0 },
		{ "bytes=", 1000, HTTP_RANGE_NONE, 0, 0 },
		{ "bytes=a-b", 1000, HTTP_RANGE_NONE, 0, 0 },
		{ "bytes=1-2x", 1000, HTTP_RANGE_NONE, 0, 0 },
		{ "bytes 1-2", 1000, HTTP_RANGE_NONE, 0, 0 },
		{ "items=1-2", 1000, HTTP_RANGE_NONE, 0, 0 },
		{ "bytes=--1", 1000, HTTP_RANGE_NONE, 0, 0 },
		{ "", 1000, HTTP_RANGE_NONE, 0, 0 },
		/* several ranges: ignored (200 with the whole entity) */
		{ "bytes=0-1,5-6", 1000, HTTP_RANGE_NONE, 0, 0 },
		{ "bytes=0-1, -5", 1000, HTTP_RANGE_NONE, 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_range r = { 0, 0 };
		enum http_range_kind k = http_range_parse(cases[i].hdr, strlen(cases[i].hdr), cases[i].size, &r);

		if (k != cases[i].kind)
			fail_msg("\"%s\" (size %llu): kind %d, want %d", cases[i].hdr, (unsigned long long)cases[i].size,
				 k, cases[i].kind);
		if (k == HTTP_RANGE_SINGLE && (r.first != cases[i].first || r.last != cases[i].last))
			fail_msg("\"%s\": %llu-%llu", cases[i].hdr, (unsigned long long)r.first,
				 (unsigned long long)r.last);
	}
	assert_int_equal(http_range_parse(NULL, 0, 10, NULL), HTTP_RANGE_NONE);
}

struct etag_case {
	const char *list, *etag;
	bool weak, want;
};

static void test_etag_match(void **state)
{
	static const struct etag_case cases[] = {
		{ "\"abc\"", "\"abc\"", false, true },
		{ "\"abc\"", "\"abd\"", false, false },
		{ "\"x\", \"abc\"", "\"abc\"", false, true },
		{ "\"x\",\"abc\" ", "\"abc\"", false, true },
		{ "W/\"abc\"", "\"abc\"", false, false }, /* strong comparison refuses weak */
		{ "W/\"abc\"", "\"abc\"", true, true },
		{ "\"abc\"", "W/\"abc\"", true, true },
		{ "\"abc\"", "W/\"abc\"", false, false },
		{ "*", "\"abc\"", false, true },
		{ " * ", "\"abc\"", true, true },
		{ "*, \"x\"", "\"abc\"", false, false },
		{ "abc", "\"abc\"", false, false },    /* unquoted: malformed */
		{ "\"abc", "\"abc\"", false, false },  /* unterminated */
		{ "\"a\" \"abc\"", "\"abc\"", false, false }, /* no comma */
		{ "", "\"abc\"", false, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (http_etag_match(cases[i].list, strlen(cases[i].list), cases[i].etag, cases[i].weak) != cases[i].want)
			fail_msg("list %s vs %s (%s): want %d", cases[i].list, cases[i].etag, cases[i].weak ? "weak" : "strong",
				 cases[i].want);
}

#define ETAG "\"v1\""
#define MTIME 784111777 /* Sun, 06 Nov 1994 08:49:37 GMT */
#define D_EQ "Sun, 06 Nov 1994 08:49:37 GMT"
#define D_BEFORE "Sun, 06 Nov 1994 08:49:36 GMT"
#define D_AFTER "Mon, 07 Nov 1994 08:49:37 GMT"

struct cond_case {
	const char *if_match, *if_none_match, *ims, *ius, *if_range, *range;
	enum http_cond_method method;
	int status;
	uint64_t first, last;
};


static void test_cond_eval(void **state)
{
	static const struct cond_case cases[] = {
		/* no conditions */
		{ NULL, NULL, NULL, NULL, NULL, NULL, HTTP_COND_GET, 200, 0, 99 },
		{ NULL, NULL, NULL, NULL, NULL, "bytes=10-19", HTTP_COND_GET, 206, 10, 19 },
		{ NULL, NULL, NULL, NULL, NULL, "bytes=10-19", HTTP_COND_HEAD, 200, 0, 99 },
		{ NULL, NULL, NULL, NULL, NULL, "bytes=100-", HTTP_COND_GET, 416, 0, 0 },
		{ NULL, NULL, NULL, NULL, NULL, "bytes=x", HTTP_COND_GET, 200, 0, 99 },
		/* If-None-Match */
		{ NULL, ETAG, NULL, NULL, NULL, NULL, HTTP_COND_GET, 304, 0, 0 },
		{ NULL, "W/" ETAG, NULL, NULL, NULL, NULL, HTTP_COND_HEAD, 304, 0, 0 },
		{ NULL, "*", NULL, NULL, NULL, NULL, HTTP_COND_GET, 304, 0, 0 },
		{ NULL, "\"other\"", NULL, NULL, NULL, NULL, HTTP_COND_GET, 200, 0, 99 },
		{ NULL, ETAG, NULL, NULL, NULL, NULL, HTTP_COND_OTHER, 412, 0, 0 },
		/* If-None-Match wins over If-Modified-Since */
		{ NULL, "\"other\"", D_AFTER, NULL, NULL, NULL, HTTP_COND_GET, 200, 0, 99 },
		/* If-Modified-Since */
		{ NULL, NULL, D_EQ, NULL, NULL, NULL, HTTP_COND_GET, 304, 0, 0 },
		{ NULL, NULL, D_AFTER, NULL, NULL, NULL, HTTP_COND_GET, 304, 0, 0 },
		{ NULL, NULL, D_BEFORE, NULL, NULL, NULL, HTTP_COND_GET, 200, 0, 99 },
		{ NULL, NULL, "garbage", NULL, NULL, NULL, HTTP_COND_GET, 200, 0, 99 },
		{ NULL, NULL, D_EQ, NULL, NULL, NULL, HTTP_COND_OTHER, 200, 0, 99 },
		/* If-Match */
		{ ETAG, NULL, NULL, NULL, NULL, NULL, HTTP_COND_GET, 200, 0, 99 },
		{ "\"other\"", NULL, NULL, NULL, NULL, NULL, HTTP_COND_GET, 412, 0, 0 },
		{ "W/" ETAG, NULL, NULL, NULL, NULL, NULL, HTTP_COND_GET, 412, 0, 0 },
		{ "*", NULL, NULL, NULL, NULL, NULL, HTTP_COND_OTHER, 200, 0, 99 },
		/* If-Match wins over If-Unmodified-Since */
		{ ETAG, NULL, NULL, D_BEFORE, NULL, NULL, HTTP_COND_GET, 200, 0, 99 },
		/* If-Unmodified-Since */
		{ NULL, NULL, NULL, D_BEFORE, NULL, NULL, HTTP_COND_GET, 412, 0, 0 },
		{ NULL, NULL, NULL, D_EQ, NULL, NULL, HTTP_COND_GET, 200, 0, 99 },
		{ NULL, NULL, NULL, "nope", NULL, NULL, HTTP_COND_GET, 200, 0, 99 },
		/* If-Range */
		{ NULL, NULL, NULL, NULL, ETAG, "bytes=0-9", HTTP_COND_GET, 206, 0, 9 },
		{ NULL, NULL, NULL, NULL, "\"old\"", "bytes=0-9", HTTP_COND_GET, 200, 0, 99 },
		{ NULL, NULL, NULL, NULL, "W/" ETAG, "bytes=0-9", HTTP_COND_GET, 200, 0, 99 },
		{ NULL, NULL, NULL, NULL, D_EQ, "bytes=0-9", HTTP_COND_GET, 206, 0, 9 },
		{ NULL, NULL, NULL, NULL, D_AFTER, "bytes=0-9", HTTP_COND_GET, 200, 0, 99 },
		{ NULL, NULL, NULL, NULL, ETAG, "bytes=500-", HTTP_COND_GET, 416, 0, 0 },
		{ NULL, NULL, NULL, NULL, "\"old\"", "bytes=500-", HTTP_COND_GET, 200, 0, 99 },
		/* a precondition failure beats a Range */
		{ "\"other\"", NULL, NULL, NULL, NULL, "bytes=0-9", HTTP_COND_GET, 412, 0, 0 },
		{ NULL, ETAG, NULL, NULL, NULL, "bytes=0-9", HTTP_COND_GET, 304, 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct cond_case *k = &cases[i];
		struct http_conditions c = { 0 };
		struct http_cond_result res;

		c.if_match = k->if_match;
		c.if_match_len = k->if_match ? strlen(k->if_match) : 0;
		c.if_none_match = k->if_none_match;
		c.if_none_match_len = k->if_none_match ? strlen(k->if_none_match) : 0;
		c.if_modified_since = k->ims;
		c.if_modified_since_len = k->ims ? strlen(k->ims) : 0;
		c.if_unmodified_since = k->ius;
		c.if_unmodified_since_len = k->ius ? strlen(k->ius) : 0;
		c.if_range = k->if_range;
		c.if_range_len = k->if_range ? strlen(k->if_range) : 0;
		c.range = k->range;
		c.range_len = k->range ? strlen(k->range) : 0;
		http_cond_eval(&c, k->method, ETAG, MTIME, 100, &res);
		if (res.status != k->status)
			fail_msg("case %zu: status %d, want %d", i, res.status, k->status);
		if ((res.status == 200 || res.status == 206) && (res.range.first != k->first || res.range.last != k->last))
			fail_msg("case %zu: range %llu-%llu", i, (unsigned long long)res.range.first,
				 (unsigned long long)res.range.last);
	}
}

static void test_cond_no_validators(void **state)
{
	struct http_conditions c = { 0 };
	struct http_cond_result res;

	(void)state;
	/* Without an mtime, date conditions are ignored; without an etag, If-Match fails. */
	c.if_modified_since = D_EQ;
	c.if_modified_since_len = strlen(D_EQ);
	http_cond_eval(&c, HTTP_COND_GET, NULL, 0, 10, &res);
	assert_int_equal(res.status, 200);
	memset(&c, 0, sizeof(c));
	c.if_match = "\"a\"";
	c.if_match_len = 3;
	http_cond_eval(&c, HTTP_COND_GET, NULL, 0, 10, &res);
	assert_int_equal(res.status, 412);
	c.if_match = "*";
	c.if_match_len = 1;
	http_cond_eval(&c, HTTP_COND_GET, NULL, 0, 10, &res);
	assert_int_equal(res.status, 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_range_parse),
		cmocka_unit_test(test_etag_match),
		cmocka_unit_test(test_cond_eval),
		cmocka_unit_test(test_cond_no_validators),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
