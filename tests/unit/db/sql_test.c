/* Unit tests for src/db/sql.c: which `$` is a placeholder, and the SQLite rewrite. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "db/sql.h"

/* Rewrite `in` and check the output and the highest placeholder. */
static void expect_rewrite(const char *in, const char *want, int want_max)
{
	struct buf out = BUF_INIT;
	struct err e = ERR_INIT;
	int max = -1, max2 = -1;

	assert_int_equal(db_sql_placeholders(in, &out, &max, &e), 0);
	assert_string_equal(buf_str(&out), want);
	assert_int_equal(max, want_max);
	/* Counting alone (the PostgreSQL backend's use) agrees. */
	assert_int_equal(db_sql_placeholders(in, NULL, &max2, &e), 0);
	assert_int_equal(max2, want_max);
	buf_release(&out);
}

static void test_plain(void **state)
{
	(void)state;
	expect_rewrite("SELECT 1", "SELECT 1", 0);
	expect_rewrite("", "", 0);
	expect_rewrite("SELECT $1", "SELECT ?1", 1);
	expect_rewrite("INSERT INTO t VALUES ($1,$2,$3)", "INSERT INTO t VALUES (?1,?2,?3)", 3);
}

static void test_reused_and_out_of_order(void **state)
{
	(void)state;
	expect_rewrite("SELECT $2, $1, $2 WHERE x=$10", "SELECT ?2, ?1, ?2 WHERE x=?10", 10);
	/* Leading zeros mean the same number. */
	expect_rewrite("SELECT $007", "SELECT ?7", 7);
}

static void test_literals_untouched(void **state)
{
	(void)state;
	expect_rewrite("SELECT '$1', $1", "SELECT '$1', ?1", 1);
	expect_rewrite("SELECT 'it''s $2', $1", "SELECT 'it''s $2', ?1", 1);
	expect_rewrite("SELECT \"col$1\", $1", "SELECT \"col$1\", ?1", 1);
	expect_rewrite("SELECT \"a\"\"$2\", $1", "SELECT \"a\"\"$2\", ?1", 1);
	expect_rewrite("SELECT `$2`, $1", "SELECT `$2`, ?1", 1);
	/* E'…' strings: a backslash escapes the quote. */
	expect_rewrite("SELECT E'\\' $2', $1", "SELECT E'\\' $2', ?1", 1);
	/* …but only with the E prefix: here the backslash is an ordinary character. */
	expect_rewrite("SELECT '\\', $1", "SELECT '\\', ?1", 1);
	/* Dollar quoting, plain and tagged, with a `$1` inside. */
	expect_rewrite("SELECT $$ $1 $$, $1", "SELECT $$ $1 $$, ?1", 1);
	expect_rewrite("SELECT $fn$ $1 $x$ $2 $fn$, $1", "SELECT $fn$ $1 $x$ $2 $fn$, ?1", 1);
}

static void test_comments_untouched(void **state)
{
	(void)state;
	expect_rewrite("SELECT $1 -- and $2\n, $3", "SELECT ?1 -- and $2\n, ?3", 3);
	expect_rewrite("SELECT /* $2 */ $1", "SELECT /* $2 */ ?1", 1);
	expect_rewrite("SELECT /* a /* $2 */ $3 */ $1", "SELECT /* a /* $2 */ $3 */ ?1", 1);
	expect_rewrite("SELECT $1 -- $2 to the end", "SELECT ?1 -- $2 to the end", 1);
	/* Division and subtraction are not comments. */
	expect_rewrite("SELECT $1/$2-$3", "SELECT ?1/?2-?3", 3);
}

static void test_not_placeholders(void **state)
{
	(void)state;
	/* `$` inside an identifier (PostgreSQL allows it after the first character). */
	expect_rewrite("SELECT a$1, $1", "SELECT a$1, ?1", 1);
	/* SQLite named parameters and a lone dollar stay as they are. */
	expect_rewrite("SELECT $name, $", "SELECT $name, $", 0);
}

static void test_unterminated(void **state)
{
	(void)state;
	/* The database reports these; the scanner must just not run off the end. */
	expect_rewrite("SELECT '$1", "SELECT '$1", 0);
	expect_rewrite("SELECT $1, \"x", "SELECT ?1, \"x", 1);
	expect_rewrite("SELECT $1 /* $2", "SELECT ?1 /* $2", 1);
	expect_rewrite("SELECT $1, $$ $2", "SELECT ?1, $$ $2", 1);
	expect_rewrite("SELECT E'\\", "SELECT E'\\", 0);
}

static void test_refused(void **state)
{
	struct err e = ERR_INIT;
	int max;

	(void)state;
	assert_int_equal(db_sql_placeholders("SELECT $0", NULL, &max, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_non_null(strstr(e.msg, "$0"));
	err_clear(&e);
	assert_int_equal(db_sql_placeholders("SELECT $32767", NULL, &max, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	err_clear(&e);
	assert_int_equal(db_sql_placeholders("SELECT $99999999999999999999999", NULL, &max, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	expect_rewrite("SELECT $32766", "SELECT ?32766", 32766);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_reused_and_out_of_order),
		cmocka_unit_test(test_literals_untouched),
		cmocka_unit_test(test_comments_untouched),
		cmocka_unit_test(test_not_placeholders),
		cmocka_unit_test(test_unterminated),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
