/* Argon2id hashing: round trip, wrong passwords, the rules, re-hash detection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <argon2.h>

#include "auth/password.h"

static const struct auth_argon2 cheap = { 1024, 1, 1 };

static void test_hash_verify(void **state)
{
	char *h = NULL, *h2 = NULL;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(auth_password_hash(&cheap, "correct horse", 13, &h, &e), 0);
	assert_non_null(strstr(h, "$argon2id$v=19$m=1024,t=1,p=1$"));
	assert_null(strstr(h, "correct"));
	assert_int_equal(auth_password_verify(h, "correct horse", 13), 1);
	assert_int_equal(auth_password_verify(h, "correct hors", 12), 0);
	assert_int_equal(auth_password_verify(h, "correct horsf", 13), 0);
	assert_int_equal(auth_password_verify(h, "", 0), 0);
	/* A password with a NUL inside is compared as bytes, not cut at the NUL. */
	assert_int_equal(auth_password_verify(h, "correct horse\0x", 15), 0);
	/* Same password, fresh salt: a different hash. */
	assert_int_equal(auth_password_hash(&cheap, "correct horse", 13, &h2, &e), 0);
	assert_string_not_equal(h, h2);
	/* Not an Argon2id hash at all. */
	assert_int_equal(auth_password_verify("$argon2i$v=19$m=1024,t=1,p=1$AAAA$AAAA", "x", 1), 0);
	assert_int_equal(auth_password_verify("plaintext", "plaintext", 9), 0);
	assert_int_equal(auth_password_verify(NULL, "x", 1), 0);
	free(h);
	free(h2);
}

/* The dummy is a real Argon2id string: libargon2 decodes it and runs the whole hash before it
 * says "mismatch" (a decoding failure would return at once and tell unknown names apart). */
static void test_dummy(void **state)
{
	char *d = NULL, *d2 = NULL, *h = NULL;
	struct err e = ERR_INIT;
	const struct auth_argon2 bad = { 4, 1, 1 };

	(void)state;
	assert_int_equal(auth_password_dummy(&cheap, &d, &e), 0);
	assert_int_equal(auth_password_hash(&cheap, "correct horse", 13, &h, &e), 0);
	/* same shape as a real hash with the same parameters */
	assert_int_equal(strlen(d), strlen(h));
	assert_memory_equal(d, h, strlen("$argon2id$v=19$m=1024,t=1,p=1$"));
	assert_false(auth_password_needs_rehash(&cheap, d));
	assert_int_equal(argon2id_verify(d, "correct horse", 13), ARGON2_VERIFY_MISMATCH);
	assert_int_equal(argon2id_verify(d, "", 0), ARGON2_VERIFY_MISMATCH);
	assert_int_equal(auth_password_verify(d, "correct horse", 13), 0);
	/* fresh salt and tag each time */
	assert_int_equal(auth_password_dummy(&cheap, &d2, &e), 0);
	assert_string_not_equal(d, d2);
	free(d2);
	/* parameters libargon2 would refuse are refused here too */
	assert_int_equal(auth_password_dummy(&bad, &d2, &e), -1);
	assert_null(d2);
	assert_int_equal(e.code, ERR_INVALID);
	free(d);
	free(h);
}

static void test_rules(void **state)
{
	struct err e = ERR_INIT;
	char big[AUTH_PASSWORD_MAX + 2];

	(void)state;
	assert_int_equal(auth_password_check("123456789", 9, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_int_equal(auth_password_check("1234567890", 10, &e), 0);
	memset(big, 'a', sizeof(big));
	assert_int_equal(auth_password_check(big, AUTH_PASSWORD_MAX, &e), 0);
	assert_int_equal(auth_password_check(big, AUTH_PASSWORD_MAX + 1, &e), -1);
	assert_int_equal(auth_password_check("12345\0" "67890", 11, &e), -1);
}

static void test_rehash(void **state)
{
	struct auth_argon2 stronger = { 2048, 2, 1 };
	char *h = NULL;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(auth_password_hash(&cheap, "0123456789", 10, &h, &e), 0);
	assert_false(auth_password_needs_rehash(&cheap, h));
	assert_true(auth_password_needs_rehash(&stronger, h));
	assert_true(auth_password_needs_rehash(&cheap, NULL));
	/* The old hash still verifies under new settings: its parameters travel with it. */
	assert_int_equal(auth_password_verify(h, "0123456789", 10), 1);
	free(h);
	/* Parameters libargon2 refuses are an error, not a crash. */
	assert_int_equal(auth_password_hash(&(struct auth_argon2){ 1, 1, 1 }, "0123456789", 10, &h, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_null(h);
}

static void test_generate(void **state)
{
	char a[40], b[40];

	(void)state;
	assert_int_equal(auth_password_generate(a, sizeof(a)), 0);
	assert_int_equal(auth_password_generate(b, sizeof(b)), 0);
	assert_int_equal(strlen(a), 24);
	assert_string_not_equal(a, b);
	assert_null(strpbrk(a, "0O1lI"));
	assert_int_equal(auth_password_generate(a, 10), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_verify),
		cmocka_unit_test(test_dummy),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_rehash),
		cmocka_unit_test(test_generate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
