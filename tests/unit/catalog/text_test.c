/* Normalised names and sort names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "catalog/text.h"

static void norm_is(const char *in, const char *want)
{
	struct err e = ERR_INIT;
	char *got = catalog_normalize(in, &e);

	if (!got)
		fail_msg("normalize(%s): %s", in, e.msg);
	if (strcmp(got, want) != 0)
		fail_msg("normalize(\"%s\") = \"%s\", want \"%s\"", in, got, want);
	free(got);
}

static void test_normalize(void **state)
{
	(void)state;
	/* Case, diacritics and spacing do not matter. */
	norm_is("Björk", "bjork");
	norm_is("bjork", "bjork");
	norm_is(" BJÖRK ", "bjork");
	norm_is("Bjo\xcc\x88rk", "bjork");      /* decomposed ö */
	norm_is("Sigur  Rós", "sigur ros");
	norm_is("Sigur\t\n Rós ", "sigur ros");
	norm_is("Sigur\xc2\xa0Rós", "sigur ros"); /* no-break space */
	norm_is("Mötley Crüe", "motley crue");
	norm_is("ＡＢＣ", "abc");                 /* full-width forms */
	norm_is("Ǆ", "dz");
	norm_is("Straße", "strasse");
	norm_is("Beyoncé", "beyonce");
	/* Scripts without case or marks are kept as they are. */
	norm_is("坂本龍一", "坂本龍一");
	norm_is("Кино", "кино");
	norm_is("עברית", "עברית");
	norm_is("🎵 Music", "🎵 music");
	norm_is("", "");
	norm_is("   ", "");
	norm_is("a\x01" "b", "ab");
}

static void test_normalize_refuses_invalid_utf8(void **state)
{
	struct err e = ERR_INIT;

	(void)state;
	assert_null(catalog_normalize("bad \xff", &e));
	assert_int_equal(e.code, ERR_INVALID);
	assert_null(catalog_normalize("\xc0\xaf", &e));
}

static void test_normalize_caps_length(void **state)
{
	char *big = malloc(3 * 2000 + 1), *got;
	struct err e = ERR_INIT;

	(void)state;
	assert_non_null(big);
	for (int i = 0; i < 2000; i++)
		memcpy(big + 3 * i, "日", 3);
	big[6000] = '\0';
	got = catalog_normalize(big, &e);
	assert_non_null(got);
	assert_true(strlen(got) <= CATALOG_NORM_MAX);
	assert_int_equal(strlen(got) % 3, 0); /* cut between characters */
	free(got);
	free(big);
}

static void sort_is(const char *in, const char *want)
{
	char *got = catalog_sort_name(in);

	assert_non_null(got);
	if (strcmp(got, want) != 0)
		fail_msg("sort_name(\"%s\") = \"%s\", want \"%s\"", in, got, want);
	free(got);
}

static void test_sort_name(void **state)
{
	(void)state;
	sort_is("The Beatles", "Beatles, The");
	sort_is("the the", "the, the");
	sort_is("A Tribe Called Quest", "Tribe Called Quest, A");
	sort_is("An Pierlé", "Pierlé, An");
	sort_is("  The  Who ", "Who, The");
	sort_is("The", "The");
	sort_is("The ", "The");
	sort_is("Theatre of Tragedy", "Theatre of Tragedy");
	sort_is("Anathema", "Anathema");
	sort_is("ABBA", "ABBA");
	sort_is("Björk", "Björk");
	sort_is("", "");
}

static void test_text_chars(void **state)
{
	(void)state;
	assert_int_equal(catalog_text_chars("abc"), 3);
	assert_int_equal(catalog_text_chars("Björk"), 5);
	assert_int_equal(catalog_text_chars("日本"), 2);
	assert_int_equal(catalog_text_chars("🎵"), 1);
	assert_int_equal(catalog_text_chars(""), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_normalize_refuses_invalid_utf8),
		cmocka_unit_test(test_normalize_caps_length),
		cmocka_unit_test(test_sort_name),
		cmocka_unit_test(test_text_chars),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
