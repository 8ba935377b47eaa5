/* err: codes, formatting, truncation, wrapping, errno text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "base/err.h"

static void test_set(void **state)
{
	(void)state;
	struct err e = ERR_INIT;

	assert_int_equal(e.code, ERR_NONE);
	assert_int_equal(err_set(&e, ERR_NOT_FOUND, "track %s not found (%d)", "abc", 7), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_string_equal(e.msg, "track abc not found (7)");
	/* NULL is allowed: callers that do not care pass none */
	assert_int_equal(err_set(NULL, ERR_INVALID, "x"), -1);
	assert_int_equal(err_errno(NULL, ERR_IO, EIO, "x"), -1);
	assert_int_equal(err_wrap(NULL, "x"), -1);
	err_clear(NULL);
	err_clear(&e);
	assert_int_equal(e.code, ERR_NONE);
	assert_string_equal(e.msg, "");
}

static void test_truncation(void **state)
{
	(void)state;
	struct err e = ERR_INIT;
	char long_text[1000];

	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	err_set(&e, ERR_INVALID, "%s", long_text);
	assert_int_equal(strlen(e.msg), ERR_MSG_MAX - 1);
	err_wrap(&e, "context");
	assert_int_equal(strlen(e.msg), ERR_MSG_MAX - 1);
	assert_memory_equal(e.msg, "context: xxx", 12);
	err_wrap(&e, "%s", long_text);
	assert_int_equal(strlen(e.msg), ERR_MSG_MAX - 1);
}

static void test_errno_and_wrap(void **state)
{
	(void)state;
	struct err e = ERR_INIT;

	assert_int_equal(err_errno(&e, ERR_IO, ENOENT, "opening %s", "/x"), -1);
	assert_int_equal(e.code, ERR_IO);
	assert_string_equal(e.msg, "opening /x: No such file or directory");
	assert_int_equal(err_wrap(&e, "loading %s", "config"), -1);
	assert_string_equal(e.msg, "loading config: opening /x: No such file or directory");
	assert_int_equal(e.code, ERR_IO); /* wrapping keeps the code */
	/* wrapping an empty error makes it an internal one */
	struct err none = ERR_INIT;
	err_wrap(&none, "what");
	assert_int_equal(none.code, ERR_INTERNAL);
	assert_string_equal(none.msg, "what: ");
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(err_code_name(ERR_NONE), "none");
	assert_string_equal(err_code_name(ERR_NOT_FOUND), "not_found");
	assert_string_equal(err_code_name(ERR_TOO_LARGE), "too_large");
	assert_string_equal(err_code_name(ERR_INTERNAL), "internal");
	assert_string_equal(err_code_name((enum err_code)999), "unknown");
	/* every code has its own name */
	for (int a = ERR_NONE; a <= ERR_INTERNAL; a++)
		for (int b = a + 1; b <= ERR_INTERNAL; b++)
			assert_string_not_equal(err_code_name((enum err_code)a), err_code_name((enum err_code)b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_errno_and_wrap),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
