/* router_test.c — route table compilation and matching (src/http/router.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http/router.h"

static void h(struct http_req *req, void *app)
{
	(void)req;
	(void)app;
}

static const struct http_route table[] = {
	{ HTTP_GET, "/", h, 0, 0, "root" },
	{ HTTP_GET | HTTP_POST, "/api/v1/tracks", h, 0, 0, "tracks" },
	{ HTTP_GET | HTTP_DELETE, "/api/v1/tracks/{id}", h, 0, 0, "track" },
	{ HTTP_GET, "/api/v1/tracks/latest", h, 0, 0, "latest" },
	{ HTTP_PUT, "/api/v1/tracks/{id}/tags/{tag}", h, 0, 0, "tag" },
	{ HTTP_GET, "/hls/{track}/{rest*}", h, 0, 0, "hls" },
	{ HTTP_POST, "/a/{x}", h, 0, 0, "a-param" },
	{ HTTP_GET, "/a/b", h, 0, 0, "a-lit" },
	{ HTTP_OPTIONS, "/cors", h, 0, 0, "cors" },
	{ HTTP_GET, "/cors", h, 0, 0, "cors-get" },
	{ HTTP_HEAD, "/head", h, 0, 0, "head-only" },
	{ HTTP_GET, "/head", h, 0, 0, "head-get" },
	{ HTTP_GET, "/caf\xc3\xa9", h, 0, 0, "utf8" },
};
#define NT (sizeof(table) / sizeof(table[0]))

static struct http_router *r;

static int setup(void **state)
{
	struct err e = ERR_INIT;

	(void)state;
	r = http_router_new(table, NT, &e);
	return r ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	http_router_free(r);
	return 0;
}

static struct http_match match(unsigned method, const char *path)
{
	struct http_match m;

	http_router_match(r, method, path, strlen(path), &m);
	return m;
}

static const char *param(const struct http_match *m, const char *path, const char *name, char *buf, size_t cap)
{
	for (unsigned i = 0; i < m->nparams; i++) {
		if (strcmp(m->names[i], name) == 0) {
			size_t n = m->params[i].len < cap - 1 ? m->params[i].len : cap - 1;

			memcpy(buf, path + m->params[i].off, n);
			buf[n] = '\0';
			return buf;
		}
	}
	return NULL;
}

static void test_literals_and_params(void **state)
{
	char buf[128];
	struct http_match m;
	const char *p;

	(void)state;
	m = match(HTTP_GET, "/");
	assert_int_equal(m.kind, HTTP_MATCH_FOUND);
	assert_string_equal(table[m.route].name, "root");

	m = match(HTTP_POST, "/api/v1/tracks");
	assert_int_equal(m.kind, HTTP_MATCH_FOUND);
	assert_string_equal(table[m.route].name, "tracks");

	p = "/api/v1/tracks/01ABC";
	m = match(HTTP_GET, p);
	assert_int_equal(m.kind, HTTP_MATCH_FOUND);
	assert_string_equal(table[m.route].name, "track");
	assert_int_equal(m.nparams, 1);
	assert_string_equal(param(&m, p, "id", buf, sizeof(buf)), "01ABC");

	p = "/api/v1/tracks/7/tags/rock";
	m = match(HTTP_PUT, p);
	assert_int_equal(m.kind, HTTP_MATCH_FOUND);
	assert_string_equal(param(&m, p, "id", buf, sizeof(buf)), "7");
	assert_string_equal(param(&m, p, "tag", buf, sizeof(buf)), "rock");
	assert_null(param(&m, p, "nope", buf, sizeof(buf)));

	m = match(HTTP_GET, "/caf\xc3\xa9");
	assert_int_equal(m.kind, HTTP_MATCH_FOUND);
	assert_string_equal(table[m.route].name, "utf8");
}

static void test_literal_beats_param(void **state)
{
	struct http_match m;

	(void)state;
	m = match(HTTP_GET, "/api/v1/tracks/latest");
	assert_int_equal(m.kind, HTTP_MATCH_FOUND);
	assert_string_equal(table[m.route].name, "latest");
	assert_int_equal(m.nparams, 0);
	/* DELETE only exists on the parameter route: backtracking finds it. */
	m = match(HTTP_DELETE, "/api/v1/tracks/latest");
	assert_int_equal(m.kind, HTTP_MATCH_FOUND);
	assert_string_equal(table[m.route].name, "track");
	/* POST /a/b: the literal only takes GET, the parameter takes POST. */
	m = match(HTTP_POST, "/a/b");
	assert_int_equal(m.kind, HTTP_MATCH_FOUND);
	assert_string_equal(table[m.route].name, "a-param");
	m = match(HTTP_GET, "/a/b");
	assert_string_equal(table[m.route].name, "a-lit");
}

static void test_rest(void **state)
{
	char buf[128];
	struct http_match m;
	const char *p = "/hls/t1/256k/12.m4s";

	(void)state;
	m = match(HTTP_GET, p);
	assert_int_equal(m.kind, HTTP_MATCH_FOUND);
	assert_string_equal(table[m.route].name, "hls");
	assert_string_equal(param(&m, p, "track", buf, sizeof(buf)), "t1");
	assert_string_equal(param(&m, p, "rest", buf, sizeof(buf)), "256k/12.m4s");
	/* A rest parameter needs at least one non-empty byte. */
	assert_int_equal(match(HTTP_GET, "/hls/t1/").kind, HTTP_MATCH_NOT_FOUND);
	assert_int_equal(match(HTTP_GET, "/hls/t1").kind, HTTP_MATCH_NOT_FOUND);
}

static void test_404_405_options(void **state)
{
	char allow[64];
	struct http_match m;

	(void)state;
	assert_int_equal(match(HTTP_GET, "/nope").kind, HTTP_MATCH_NOT_FOUND);
	assert_int_equal(match(HTTP_GET, "/api/v1/tracks/").kind, HTTP_MATCH_NOT_FOUND); /* empty param */
	assert_int_equal(match(HTTP_GET, "/api/v1/tracks/a/b").kind, HTTP_MATCH_NOT_FOUND);
	assert_int_equal(match(HTTP_GET, "").kind, HTTP_MATCH_NOT_FOUND);
	assert_int_equal(match(HTTP_GET, "api").kind, HTTP_MATCH_NOT_FOUND);

	m = match(HTTP_PATCH, "/api/v1/tracks/9");
	assert_int_equal(m.kind, HTTP_MATCH_NOT_ALLOWED);
	assert_int_equal(m.allow, HTTP_GET | HTTP_HEAD | HTTP_DELETE | HTTP_OPTIONS);
	assert_int_equal(http_allow_format(m.allow, allow, sizeof(allow)), (int)strlen("GET, HEAD, DELETE, OPTIONS"));
	assert_string_equal(allow, "GET, HEAD, DELETE, OPTIONS");

	/* The Allow set is the union over every pattern matching the path. */
	m = match(HTTP_PUT, "/api/v1/tracks/latest");
	assert_int_equal(m.kind, HTTP_MATCH_NOT_ALLOWED);
	assert_int_equal(m.allow, HTTP_GET | HTTP_HEAD | HTTP_DELETE | HTTP_OPTIONS);

	/* An unknown method (0) on a known path: 405. */
	assert_int_equal(match(0, "/").kind, HTTP_MATCH_NOT_ALLOWED);

	m = match(HTTP_OPTIONS, "/api/v1/tracks");
	assert_int_equal(m.kind, HTTP_MATCH_OPTIONS);
	assert_int_equal(m.allow, HTTP_GET | HTTP_HEAD | HTTP_POST | HTTP_OPTIONS);
	/* A route that claims OPTIONS gets it. */
	m = match(HTTP_OPTIONS, "/cors");
	assert_int_equal(m.kind, HTTP_MATCH_FOUND);
	assert_string_equal(table[m.route].name, "cors");
	assert_int_equal(match(HTTP_OPTIONS, "/nope").kind, HTTP_MATCH_NOT_FOUND);
}

static void test_head(void **state)
{
	struct http_match m;

	(void)state;
	m = match(HTTP_HEAD, "/api/v1/tracks/x");
	assert_int_equal(m.kind, HTTP_MATCH_FOUND);
	assert_string_equal(table[m.route].name, "track");
	/* An explicit HEAD route wins over GET's implied HEAD. */
	m = match(HTTP_HEAD, "/head");
	assert_string_equal(table[m.route].name, "head-only");
	m = match(HTTP_GET, "/head");
	assert_string_equal(table[m.route].name, "head-get");
	assert_int_equal(match(HTTP_HEAD, "/a/zz").kind, HTTP_MATCH_NOT_ALLOWED);
}

static void expect_bad(const struct http_route *routes, size_t n, const char *needle)
{
	struct err e = ERR_INIT;
	struct http_router *bad = http_router_new(routes, n, &e);

	assert_null(bad);
	assert_int_equal(e.code, ERR_INVALID);
	if (!strstr(e.msg, needle))
		fail_msg("error \"%s\" lacks \"%s\"", e.msg, needle);
}

static void test_bad_tables(void **state)
{
	(void)state;
	const struct http_route dup[] = { { HTTP_GET, "/x/{a}", h, 0, 0, NULL }, { HTTP_GET | HTTP_PUT, "/x/{b}", h, 0, 0, NULL } };
	expect_bad(dup, 2, "duplicate");
	const struct http_route rel[] = { { HTTP_GET, "x", h, 0, 0, NULL } };
	expect_bad(rel, 1, "start with");
	const struct http_route empty[] = { { HTTP_GET, "/a//b", h, 0, 0, NULL } };
	expect_bad(empty, 1, "empty segment");
	const struct http_route trailing[] = { { HTTP_GET, "/a/", h, 0, 0, NULL } };
	expect_bad(trailing, 1, "empty segment");
	const struct http_route restmid[] = { { HTTP_GET, "/a/{r*}/b", h, 0, 0, NULL } };
	expect_bad(restmid, 1, "last");
	const struct http_route badname[] = { { HTTP_GET, "/a/{1x}", h, 0, 0, NULL } };
	expect_bad(badname, 1, "parameter");
	const struct http_route partial[] = { { HTTP_GET, "/a/x{y}", h, 0, 0, NULL } };
	expect_bad(partial, 1, "literal");
	const struct http_route dots[] = { { HTTP_GET, "/a/../b", h, 0, 0, NULL } };
	expect_bad(dots, 1, "literal");
	const struct http_route rep[] = { { HTTP_GET, "/a/{x}/{x}", h, 0, 0, NULL } };
	expect_bad(rep, 1, "repeated");
	const struct http_route nomethod[] = { { 0, "/a", h, 0, 0, NULL } };
	expect_bad(nomethod, 1, "method");
	const struct http_route nohandler[] = { { HTTP_GET, "/a", NULL, 0, 0, NULL } };
	expect_bad(nohandler, 1, "handler");

	/* Same shape, different methods: fine. GET and an explicit HEAD: fine. */
	const struct http_route ok[] = { { HTTP_GET, "/x/{a}", h, 0, 0, NULL }, { HTTP_PUT, "/x/{b}", h, 0, 0, NULL },
					 { HTTP_HEAD, "/x/{c}", h, 0, 0, NULL } };
	struct err e = ERR_INIT;
	struct http_router *good = http_router_new(ok, 3, &e);
	assert_non_null(good);
	http_router_free(good);
}

static void test_method_names(void **state)
{
	(void)state;
	assert_int_equal(http_method_parse("GET", 3), HTTP_GET);
	assert_int_equal(http_method_parse("OPTIONS", 7), HTTP_OPTIONS);
	assert_int_equal(http_method_parse("get", 3), 0); /* methods are case-sensitive */
	assert_int_equal(http_method_parse("TRACE", 5), 0);
	assert_string_equal(http_method_name(HTTP_PATCH), "PATCH");
	assert_null(http_method_name(HTTP_GET | HTTP_PUT));
	char small[4];
	assert_int_equal(http_allow_format(HTTP_GET | HTTP_PUT, small, sizeof(small)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literals_and_params), cmocka_unit_test(test_literal_beats_param),
		cmocka_unit_test(test_rest),		    cmocka_unit_test(test_404_405_options),
		cmocka_unit_test(test_head),		    cmocka_unit_test(test_bad_tables),
		cmocka_unit_test(test_method_names),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
