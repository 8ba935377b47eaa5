/* The permission table, pinned: a change to who may do what must change this test too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "auth/perm.h"

#define P(x) AUTH_PERM_##x

static void test_table(void **state)
{
	(void)state;
	assert_int_equal(auth_role_perms(AUTH_ROLE_FREE), P(LIBRARY_READ) | P(STREAM) | P(PLAYLISTS) | P(ACCOUNT));
	assert_int_equal(auth_role_perms(AUTH_ROLE_PREMIUM),
			 auth_role_perms(AUTH_ROLE_FREE) | P(STREAM_LOSSLESS) | P(DOWNLOAD));
	assert_int_equal(auth_role_perms(AUTH_ROLE_ARTIST),
			 auth_role_perms(AUTH_ROLE_PREMIUM) | P(UPLOAD) | P(ANALYTICS_READ));
	assert_int_equal(auth_role_perms(AUTH_ROLE_LABEL), auth_role_perms(AUTH_ROLE_ARTIST));
	assert_int_equal(auth_role_perms(AUTH_ROLE_ADMIN), AUTH_PERM_ALL);
	/* Only admins write the catalogue or manage accounts, for now. */
	for (int r = 0; r < AUTH_ROLE_COUNT; r++) {
		bool admin = r == AUTH_ROLE_ADMIN;

		assert_int_equal((auth_role_perms(r) & P(ADMIN)) != 0, admin);
		assert_int_equal((auth_role_perms(r) & P(CATALOG_WRITE)) != 0, admin);
		assert_true(auth_role_perms(r) & P(ACCOUNT));
	}
	assert_int_equal(auth_role_perms((enum auth_role)99), 0);
}

static void test_names(void **state)
{
	enum auth_role r;
	struct err e = ERR_INIT;

	(void)state;
	for (int i = 0; i < AUTH_ROLE_COUNT; i++) {
		assert_int_equal(auth_role_parse(auth_role_name(i), &r, &e), 0);
		assert_int_equal(r, i);
	}
	assert_int_equal(auth_role_parse("Admin", &r, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_int_equal(auth_role_parse("admin' OR 1=1", &r, &e), -1);
	assert_int_equal(auth_role_parse(NULL, &r, &e), -1);
	assert_string_equal(auth_role_name((enum auth_role)42), "unknown");
	assert_string_equal(auth_perm_name(P(STREAM_LOSSLESS)), "stream_lossless");
	assert_null(auth_perm_name(P(STREAM) | P(ADMIN)));
	for (unsigned bit = 1; bit <= AUTH_PERM_ALL; bit <<= 1)
		assert_non_null(auth_perm_name(bit));
}

static void test_scopes(void **state)
{
	unsigned perms;
	struct err e = ERR_INIT;
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(auth_scope_parse("library:read  stream", &perms, &e), 0);
	assert_int_equal(perms, P(LIBRARY_READ) | P(STREAM) | P(STREAM_LOSSLESS));
	assert_int_equal(auth_scope_parse("", &perms, &e), 0);
	assert_int_equal(perms, 0);
	assert_int_equal(auth_scope_parse("stream superuser", &perms, &e), -1);
	assert_non_null(strstr(e.msg, "superuser"));
	assert_int_equal(auth_scope_parse("streams", &perms, &e), -1);
	/* A role's own scope string grants back exactly the role's permissions. */
	for (int r = 0; r < AUTH_ROLE_COUNT; r++) {
		buf_reset(&b);
		assert_int_equal(auth_scope_format(auth_role_perms(r), &b), 0);
		assert_int_equal(auth_scope_parse(buf_str(&b), &perms, &e), 0);
		assert_int_equal(perms & auth_role_perms(r), auth_role_perms(r));
	}
	buf_reset(&b);
	auth_scope_format(auth_role_perms(AUTH_ROLE_FREE), &b);
	assert_null(strstr(buf_str(&b), "admin"));
	assert_null(strstr(buf_str(&b), "download"));
	buf_release(&b);
}

static void test_renditions(void **state)
{
	unsigned fr = auth_role_perms(AUTH_ROLE_FREE), pr = auth_role_perms(AUTH_ROLE_PREMIUM);

	(void)state;
	assert_true(auth_perms_allow_rendition(fr, 64, false));
	assert_true(auth_perms_allow_rendition(fr, 128, false));
	assert_false(auth_perms_allow_rendition(fr, 129, false));
	assert_false(auth_perms_allow_rendition(fr, 256, false));
	assert_false(auth_perms_allow_rendition(fr, 0, true));
	assert_false(auth_perms_allow_rendition(fr, 1000, true));
	assert_true(auth_perms_allow_rendition(pr, 256, false));
	assert_true(auth_perms_allow_rendition(pr, 1411, true));
	assert_false(auth_perms_allow_rendition(0, 64, false));
	/* A scope-limited token of a premium account without "stream" plays nothing. */
	assert_false(auth_perms_allow_rendition(pr & P(LIBRARY_READ), 64, false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_scopes),
		cmocka_unit_test(test_renditions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
