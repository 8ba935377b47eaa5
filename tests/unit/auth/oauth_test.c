/* The pure parts of the OAuth server and API keys: PKCE S256 (RFC 7636's own example), the
 * Basic client credentials parser, the key shape check, error and grant names. The flows that
 * need a database are in tests/contract/auth_oauth_test.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "auth/apikey.h"
#include "auth/oauth.h"
#include "base/buf.h"

/* RFC 7636 Appendix B. */
#define VERIFIER "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

static void test_pkce(void **state)
{
	char v[130];

	(void)state;
	assert_true(oauth_pkce_valid(VERIFIER, CHALLENGE));
	/* One character off on either side. */
	assert_false(oauth_pkce_valid("eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", CHALLENGE));
	assert_false(oauth_pkce_valid(VERIFIER, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"));
	/* `plain` would have the challenge equal the verifier: that must not pass. */
	assert_false(oauth_pkce_valid(CHALLENGE, CHALLENGE));
	/* RFC 7636 §4.1: 43–128 unreserved characters. */
	assert_false(oauth_pkce_valid("short", CHALLENGE));
	memset(v, 'a', 129);
	v[129] = '\0';
	assert_false(oauth_pkce_valid(v, CHALLENGE));
	assert_false(oauth_pkce_valid("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX+", CHALLENGE));
	assert_false(oauth_pkce_valid(NULL, CHALLENGE));
	assert_false(oauth_pkce_valid(VERIFIER, NULL));
	assert_false(oauth_pkce_valid(VERIFIER, ""));
}

static void test_basic(void **state)
{
	char id[32], secret[64];

	(void)state;
	/* "client:s3cret" */
	assert_int_equal(oauth_basic_parse("Basic Y2xpZW50OnMzY3JldA==", id, sizeof(id), secret, sizeof(secret)), 0);
	assert_string_equal(id, "client");
	assert_string_equal(secret, "s3cret");
	/* Scheme is case-insensitive; parts are form-encoded (RFC 6749 §2.3.1): "a%3Ab:c+d%25" */
	assert_int_equal(oauth_basic_parse("basic YSUzQWI6YytkJTI1", id, sizeof(id), secret, sizeof(secret)), 0);
	assert_string_equal(id, "a:b");
	assert_string_equal(secret, "c d%");
	/* No padding variant: "ab:cd" is YWI6Y2Q= */
	assert_int_equal(oauth_basic_parse("Basic YWI6Y2Q=", id, sizeof(id), secret, sizeof(secret)), 0);
	assert_string_equal(secret, "cd");
	/* Empty secret is allowed by the syntax ("x:" = eDo=). */
	assert_int_equal(oauth_basic_parse("Basic eDo=", id, sizeof(id), secret, sizeof(secret)), 0);
	assert_string_equal(id, "x");
	assert_string_equal(secret, "");
	/* Refused: another scheme, no colon ("client" = Y2xpZW50), bad base64, bad escapes ("a%zz:b"
	 * = YSV6ejpi), an encoded NUL ("a%00:b" = YSUwMDpi), parts too long for the buffers. */
	assert_int_equal(oauth_basic_parse("Bearer Y2xpZW50OnMzY3JldA==", id, sizeof(id), secret, sizeof(secret)), -1);
	assert_int_equal(oauth_basic_parse("Basic Y2xpZW50", id, sizeof(id), secret, sizeof(secret)), -1);
	assert_int_equal(oauth_basic_parse("Basic ***", id, sizeof(id), secret, sizeof(secret)), -1);
	assert_int_equal(oauth_basic_parse("Basic ", id, sizeof(id), secret, sizeof(secret)), -1);
	assert_int_equal(oauth_basic_parse("Basic YSV6ejpi", id, sizeof(id), secret, sizeof(secret)), -1);
	assert_int_equal(oauth_basic_parse("Basic YSUwMDpi", id, sizeof(id), secret, sizeof(secret)), -1);
	assert_int_equal(oauth_basic_parse("Basic Y2xpZW50OnMzY3JldA==", id, 4, secret, sizeof(secret)), -1);
	assert_int_equal(oauth_basic_parse("Basic Y2xpZW50OnMzY3JldA==", id, sizeof(id), secret, 3), -1);
	assert_int_equal(oauth_basic_parse(NULL, id, sizeof(id), secret, sizeof(secret)), -1);
}

static void test_names(void **state)
{
	struct buf b = BUF_INIT;
	unsigned bit = 0;

	(void)state;
	assert_string_equal(oauth_error_name(OAUTH_INVALID_GRANT), "invalid_grant");
	assert_string_equal(oauth_error_name(OAUTH_INVALID_CLIENT), "invalid_client");
	assert_string_equal(oauth_error_name((enum oauth_error)999), "server_error");
	assert_int_equal(oauth_grant_parse("client_credentials", &bit, NULL), 0);
	assert_int_equal(bit, OAUTH_GRANT_CLIENT_CREDENTIALS);
	assert_int_equal(oauth_grant_parse("password", &bit, NULL), -1);
	assert_int_equal(oauth_grant_parse("implicit", &bit, NULL), -1);
	assert_int_equal(oauth_grants_format(OAUTH_GRANT_CODE | OAUTH_GRANT_REFRESH, &b), 0);
	assert_string_equal(buf_str(&b), "authorization_code refresh_token");
	buf_release(&b);
}

static void test_apikey_shape(void **state)
{
	(void)state;
	assert_true(auth_apikey_looks("ta_01ARZ3NDEKTSV4RRFFQ69G5FAV_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"));
	assert_false(auth_apikey_looks("ta_01ARZ3NDEKTSV4RRFFQ69G5FAV_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"));
	assert_false(auth_apikey_looks("tb_01ARZ3NDEKTSV4RRFFQ69G5FAV_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"));
	assert_false(auth_apikey_looks("ta_01ARZ3NDEKTSV4RRFFQ69G5FAVXabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"));
	assert_false(auth_apikey_looks(NULL));
	assert_false(auth_apikey_looks("eyJhbGciOiJFUzI1NiJ9.e30.sig"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pkce),
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_apikey_shape),
	};

	return cmocka_run_group_tests_name("auth oauth", tests, NULL, NULL);
}
