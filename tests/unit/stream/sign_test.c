/* sign_test.c — signed HLS URLs: a signature verifies only for exactly what was signed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "stream/sign.h"

static const unsigned char master[STREAM_MASTER_KEY_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
#define ACC "01JACCOUNTAAAAAAAAAAAAAAAA"
#define TRK "01JTRACKAAAAAAAAAAAAAAAAAA"
#define NOW 1800000000

static void test_roundtrip_and_binding(void **state)
{
	struct stream_signer sg;
	struct err e = ERR_INIT;
	char sig[STREAM_SIG_HEX_LEN + 1], other[STREAM_SIG_HEX_LEN + 1];

	(void)state;
	assert_int_equal(stream_signer_init(&sg, master, &e), 0);
	assert_int_equal(stream_sign(&sg, STREAM_SIGN_KEY, ACC, TRK, 0x1c, NOW + 60, sig, &e), 0);
	assert_int_equal(strlen(sig), STREAM_SIG_HEX_LEN);
	assert_int_equal(stream_sign_verify(&sg, STREAM_SIGN_KEY, ACC, TRK, 0x1c, NOW + 60, sig, NOW, &e), 0);
	/* Upper-case hex is the same signature. */
	for (char *c = sig; *c; c++)
		if (*c >= 'a' && *c <= 'f')
			*c = (char)(*c - 'a' + 'A');
	assert_int_equal(stream_sign_verify(&sg, STREAM_SIGN_KEY, ACC, TRK, 0x1c, NOW + 60, sig, NOW, &e), 0);

	/* Every signed field matters. */
	assert_int_equal(stream_sign_verify(&sg, STREAM_SIGN_MASTER, ACC, TRK, 0x1c, NOW + 60, sig, NOW, &e), -1);
	assert_int_equal(e.code, ERR_FORBIDDEN);
	assert_int_equal(stream_sign_verify(&sg, STREAM_SIGN_KEY, ACC "B", TRK, 0x1c, NOW + 60, sig, NOW, &e), -1);
	assert_int_equal(e.code, ERR_FORBIDDEN);
	assert_int_equal(stream_sign_verify(&sg, STREAM_SIGN_KEY, ACC, TRK "B", 0x1c, NOW + 60, sig, NOW, &e), -1);
	assert_int_equal(stream_sign_verify(&sg, STREAM_SIGN_KEY, ACC, TRK, 0x1d, NOW + 60, sig, NOW, &e), -1);
	assert_int_equal(stream_sign_verify(&sg, STREAM_SIGN_KEY, ACC, TRK, 0x1c, NOW + 61, sig, NOW, &e), -1);
	assert_int_equal(e.code, ERR_FORBIDDEN);

	/* Two different messages give two different signatures. */
	assert_int_equal(stream_sign(&sg, STREAM_SIGN_MEDIA, ACC, TRK, 0x1c, NOW + 60, other, &e), 0);
	assert_string_not_equal(sig, other);
	stream_signer_release(&sg);
}

static void test_tampered_and_malformed(void **state)
{
	struct stream_signer sg;
	struct err e = ERR_INIT;
	char sig[STREAM_SIG_HEX_LEN + 1];

	(void)state;
	assert_int_equal(stream_signer_init(&sg, master, &e), 0);
	assert_int_equal(stream_sign(&sg, STREAM_SIGN_MASTER, ACC, TRK, 4, NOW, sig, &e), 0);
	sig[10] = sig[10] == '0' ? '1' : '0';
	assert_int_equal(stream_sign_verify(&sg, STREAM_SIGN_MASTER, ACC, TRK, 4, NOW, sig, NOW, &e), -1);
	assert_int_equal(e.code, ERR_FORBIDDEN);
	assert_int_equal(stream_sign_verify(&sg, STREAM_SIGN_MASTER, ACC, TRK, 4, NOW, "abc", NOW, &e), -1);
	assert_int_equal(e.code, ERR_FORBIDDEN);
	assert_int_equal(stream_sign_verify(&sg, STREAM_SIGN_MASTER, ACC, TRK, 4, NOW, NULL, NOW, &e), -1);
	/* 64 characters that are not hex: refused, not read as zeros. */
	assert_int_equal(stream_sign_verify(&sg, STREAM_SIGN_MASTER, ACC, TRK, 4, NOW,
					    "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", NOW, &e),
			 -1);
	assert_int_equal(e.code, ERR_FORBIDDEN);
	/* Newlines would let one field pose as two: refused when signing and when verifying. */
	assert_int_equal(stream_sign(&sg, STREAM_SIGN_MASTER, "a\nb", TRK, 4, NOW, sig, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_int_equal(stream_sign(&sg, STREAM_SIGN_MASTER, "", TRK, 4, NOW, sig, &e), -1);
	assert_int_equal(stream_sign_verify(&sg, STREAM_SIGN_MASTER, "a\nb", TRK, 4, NOW, sig, NOW, &e), -1);
	assert_int_equal(e.code, ERR_FORBIDDEN);
	stream_signer_release(&sg);
}

static void test_expiry(void **state)
{
	struct stream_signer sg;
	struct err e = ERR_INIT;
	char sig[STREAM_SIG_HEX_LEN + 1];

	(void)state;
	assert_int_equal(stream_signer_init(&sg, master, &e), 0);
	assert_int_equal(stream_sign(&sg, STREAM_SIGN_MEDIA, ACC, TRK, 4, NOW, sig, &e), 0);
	assert_int_equal(stream_sign_verify(&sg, STREAM_SIGN_MEDIA, ACC, TRK, 4, NOW, sig, NOW, &e), 0);
	assert_int_equal(stream_sign_verify(&sg, STREAM_SIGN_MEDIA, ACC, TRK, 4, NOW, sig, NOW + 1, &e), -1);
	assert_int_equal(e.code, ERR_UNAUTHORIZED);
	stream_signer_release(&sg);
}

static void test_key_derivation(void **state)
{
	struct stream_signer a, b, c;
	unsigned char other[STREAM_MASTER_KEY_LEN] = { 9 };
	struct err e = ERR_INIT;
	char s1[STREAM_SIG_HEX_LEN + 1], s2[STREAM_SIG_HEX_LEN + 1];

	(void)state;
	assert_int_equal(stream_signer_init(&a, master, &e), 0);
	assert_int_equal(stream_signer_init(&b, master, &e), 0);
	assert_int_equal(stream_signer_init(&c, other, &e), 0);
	/* Derived, deterministic, and not the master key itself. */
	assert_memory_equal(a.key, b.key, STREAM_SIGN_KEY_LEN);
	assert_memory_not_equal(a.key, c.key, STREAM_SIGN_KEY_LEN);
	assert_memory_not_equal(a.key, master, STREAM_SIGN_KEY_LEN);
	/* Another server's master key: its signatures are refused. */
	assert_int_equal(stream_sign(&c, STREAM_SIGN_KEY, ACC, TRK, 4, NOW, s1, &e), 0);
	assert_int_equal(stream_sign_verify(&a, STREAM_SIGN_KEY, ACC, TRK, 4, NOW, s1, NOW, &e), -1);
	assert_int_equal(stream_sign(&b, STREAM_SIGN_KEY, ACC, TRK, 4, NOW, s2, &e), 0);
	assert_int_equal(stream_sign_verify(&a, STREAM_SIGN_KEY, ACC, TRK, 4, NOW, s2, NOW, &e), 0);
	stream_signer_release(&a);
	stream_signer_release(&b);
	stream_signer_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_and_binding),
		cmocka_unit_test(test_tampered_and_malformed),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_key_derivation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
