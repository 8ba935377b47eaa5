/* ES256 JWT signing and verification, and every token attack of the identity issue: alg none,
 * HS256 signed with the public key, tampered payload or header, expired, not yet valid, wrong
 * issuer or audience, unknown or retired kid, truncated and garbage segments, oversized. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "auth/b64url.h"
#include "auth/jwt.h"

static struct auth_keyring *kr;
static char *pem;
static char kid[AUTH_KID_MAX + 1];
static int64_t now;

static struct auth_claims claims(void)
{
	struct auth_claims c;

	memset(&c, 0, sizeof(c));
	snprintf(c.sub, sizeof(c.sub), "01ARZ3NDEKTSV4RRFFQ69G5FAV");
	snprintf(c.sid, sizeof(c.sid), "01ARZ3NDEKTSV4RRFFQ69G5FAW");
	snprintf(c.jti, sizeof(c.jti), "abc");
	snprintf(c.role, sizeof(c.role), "free");
	snprintf(c.scope, sizeof(c.scope), "library:read stream");
	c.iat = c.nbf = now;
	c.exp = now + 900;
	return c;
}

static int setup(void **state)
{
	struct auth_key_spec spec;
	struct err e = ERR_INIT;

	(void)state;
	now = (int64_t)time(NULL);
	kr = auth_keyring_new("tonearm", &e);
	if (!kr || auth_key_generate(&pem, kid, &e) < 0)
		return -1;
	spec = (struct auth_key_spec){ kid, pem, INT64_MAX, true };
	return auth_keyring_set(kr, &spec, 1, &e);
}

static int teardown(void **state)
{
	(void)state;
	auth_keyring_free(kr);
	free(pem);
	return 0;
}

static char *sign(const struct auth_claims *c)
{
	struct err e = ERR_INIT;
	char *tok = NULL;

	if (auth_jwt_sign(kr, c, &tok, &e) < 0)
		fail_msg("sign: %s", e.msg);
	return tok;
}

static void expect_refused(const char *tok, size_t len, const char *why)
{
	struct auth_claims out;
	struct err e = ERR_INIT;

	assert_int_equal(auth_jwt_verify(kr, tok, len, now, &out, &e), -1);
	assert_int_equal(e.code, ERR_UNAUTHORIZED);
	if (why && !strstr(e.msg, why))
		fail_msg("refused for \"%s\", wanted \"%s\"", e.msg, why);
}

static void b64(const char *s, size_t n, char *out, size_t cap)
{
	assert_true(b64url_encode(s, n, out, cap) >= 0);
}

/* A token from any header and payload JSON, signed ES256 with `key_pem` the way a forger
 * holding that key would (so the tests can make claims our signer never would). */
static char *forge(const char *header, const char *payload, const char *key_pem)
{
	static char tok[4096];
	char h[1024], p[2048];
	unsigned char der[80], raw[64];
	size_t derlen = sizeof(der);
	const unsigned char *dp = der;
	BIO *bio = BIO_new_mem_buf(key_pem, -1);
	EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	ECDSA_SIG *sig;
	int n;

	b64(header, strlen(header), h, sizeof(h));
	b64(payload, strlen(payload), p, sizeof(p));
	n = snprintf(tok, sizeof(tok), "%s.%s", h, p);
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k), 1);
	assert_int_equal(EVP_DigestSign(md, der, &derlen, (unsigned char *)tok, (size_t)n), 1);
	sig = d2i_ECDSA_SIG(NULL, &dp, (long)derlen);
	BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32);
	BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32);
	tok[n] = '.';
	b64url_encode(raw, 64, tok + n + 1, sizeof(tok) - (size_t)n - 1);
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	BIO_free(bio);
	return tok;
}

static const char *payload_with(const char *iss, const char *aud, int64_t iat, int64_t nbf, int64_t exp)
{
	static char p[1024];

	snprintf(p, sizeof(p),
		 "{\"iss\":\"%s\",\"aud\":%s,\"sub\":\"01ARZ3NDEKTSV4RRFFQ69G5FAV\",\"role\":\"admin\","
		 "\"scope\":\"admin\",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld}",
		 iss, aud, (long long)iat, (long long)nbf, (long long)exp);
	return p;
}

static const char *es256_header(const char *k)
{
	static char h[256];

	snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", k);
	return h;
}

static void test_round_trip(void **state)
{
	struct auth_claims c = claims(), out;
	struct err e = ERR_INIT;
	char *tok = sign(&c);

	(void)state;
	assert_int_equal(auth_jwt_verify(kr, tok, strlen(tok), now, &out, &e), 0);
	assert_string_equal(out.sub, c.sub);
	assert_string_equal(out.sid, c.sid);
	assert_string_equal(out.role, "free");
	assert_string_equal(out.scope, "library:read stream");
	assert_string_equal(out.kid, kid);
	assert_int_equal(out.exp, c.exp);
	/* Verification keeps no state: the second time says the same. */
	memset(&out, 0, sizeof(out));
	assert_int_equal(auth_jwt_verify(kr, tok, strlen(tok), now, &out, &e), 0);
	assert_string_equal(out.sub, c.sub);
	free(tok);
}

static void test_forge_helper_is_sound(void **state)
{
	struct auth_claims out;
	struct err e = ERR_INIT;
	const char *t = forge(es256_header(kid), payload_with("tonearm", "[\"x\",\"tonearm\"]", now, now, now + 60), pem);

	(void)state;
	assert_int_equal(auth_jwt_verify(kr, t, strlen(t), now, &out, &e), 0);
	assert_string_equal(out.role, "admin");
}

static void test_alg_none(void **state)
{
	char h[256], p[1024], tok[2048];

	(void)state;
	b64("{\"alg\":\"none\",\"typ\":\"JWT\"}", 27, h, sizeof(h));
	b64(payload_with("tonearm", "\"tonearm\"", now, now, now + 60), strlen(payload_with("tonearm", "\"tonearm\"", now, now, now + 60)), p, sizeof(p));
	snprintf(tok, sizeof(tok), "%s.%s.", h, p);
	expect_refused(tok, strlen(tok), NULL);
	/* With a kid and some signature bytes it still is not ES256. */
	{
		const char *hdr = "{\"alg\":\"none\",\"kid\":\"x\"}";
		b64(hdr, strlen(hdr), h, sizeof(h));
		snprintf(tok, sizeof(tok), "%s.%s.AAAA", h, p);
		expect_refused(tok, strlen(tok), "algorithm");
	}
}

static void test_hs256_with_public_key(void **state)
{
	char h[512], p[1024], tok[4096], sig[64];
	unsigned char mac[32];
	unsigned int maclen = 0;
	char *jwks = auth_keyring_jwks(kr);
	char hdr[256];
	int n;

	(void)state;
	/* The classic confusion: the public key (here its JWKS text) used as an HMAC secret. */
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
	b64(hdr, strlen(hdr), h, sizeof(h));
	b64(payload_with("tonearm", "\"tonearm\"", now, now, now + 60), strlen(payload_with("tonearm", "\"tonearm\"", now, now, now + 60)), p, sizeof(p));
	n = snprintf(tok, sizeof(tok), "%s.%s", h, p);
	HMAC(EVP_sha256(), jwks, (int)strlen(jwks), (unsigned char *)tok, (size_t)n, mac, &maclen);
	b64url_encode(mac, maclen, sig, sizeof(sig));
	snprintf(tok + n, sizeof(tok) - (size_t)n, ".%s", sig);
	expect_refused(tok, strlen(tok), "algorithm");
	free(jwks);
}

static void test_tampered(void **state)
{
	struct auth_claims c = claims();
	char *tok = sign(&c), *d1, *d2, p[1024], forged[4096];
	const char *evil = payload_with("tonearm", "\"tonearm\"", now, now, now + 900);

	(void)state;
	d1 = strchr(tok, '.');
	d2 = strchr(d1 + 1, '.');
	b64(evil, strlen(evil), p, sizeof(p));
	snprintf(forged, sizeof(forged), "%.*s.%s%s", (int)(d1 - tok), tok, p, d2);
	expect_refused(forged, strlen(forged), "bad signature");
	/* One flipped character of the signature. */
	snprintf(forged, sizeof(forged), "%s", tok);
	forged[strlen(forged) - 5] = forged[strlen(forged) - 5] == 'A' ? 'B' : 'A';
	expect_refused(forged, strlen(forged), NULL);
	/* A header changed to another (still ES256) kid spelling breaks the signature or the kid. */
	free(tok);
}

static void test_times(void **state)
{
	struct auth_claims c = claims();
	char *tok;

	(void)state;
	c.iat = now - 2000;
	c.nbf = now - 2000;
	c.exp = now - AUTH_JWT_LEEWAY - 1;
	tok = sign(&c);
	expect_refused(tok, strlen(tok), "expired");
	free(tok);
	c = claims();
	c.nbf = now + AUTH_JWT_LEEWAY + 60;
	tok = sign(&c);
	expect_refused(tok, strlen(tok), "not yet valid");
	free(tok);
	/* Within the leeway is fine. */
	c = claims();
	c.nbf = now + AUTH_JWT_LEEWAY - 5;
	tok = sign(&c);
	{
		struct auth_claims out;
		struct err e = ERR_INIT;
		assert_int_equal(auth_jwt_verify(kr, tok, strlen(tok), now, &out, &e), 0);
		/* And the token expires. */
		assert_int_equal(auth_jwt_verify(kr, tok, strlen(tok), now + 10000, &out, &e), -1);
		assert_non_null(strstr(e.msg, "expired"));
	}
	free(tok);
}

static void test_issuer_audience(void **state)
{
	const char *t;

	(void)state;
	t = forge(es256_header(kid), payload_with("someone-else", "\"tonearm\"", now, now, now + 60), pem);
	expect_refused(t, strlen(t), "issuer");
	t = forge(es256_header(kid), payload_with("tonearm", "\"other-api\"", now, now, now + 60), pem);
	expect_refused(t, strlen(t), "audience");
	t = forge(es256_header(kid), payload_with("tonearm", "[\"a\",\"b\"]", now, now, now + 60), pem);
	expect_refused(t, strlen(t), "audience");
	t = forge(es256_header(kid), "{\"iss\":\"tonearm\",\"aud\":\"tonearm\",\"sub\":\"x\",\"iat\":1}", pem);
	expect_refused(t, strlen(t), "claims"); /* no exp */
	t = forge(es256_header(kid), "{\"iss\":\"tonearm\",\"aud\":\"tonearm\",\"sub\":\"x\",\"iat\":1,\"exp\":\"soon\"}", pem);
	expect_refused(t, strlen(t), "claims");
	t = forge("{\"alg\":\"ES256\"}", payload_with("tonearm", "\"tonearm\"", now, now, now + 60), pem);
	expect_refused(t, strlen(t), "key id");
	{
		char h[300];
		snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"kid\":\"%s\",\"crit\":[\"exp\"]}", kid);
		t = forge(h, payload_with("tonearm", "\"tonearm\"", now, now, now + 60), pem);
		expect_refused(t, strlen(t), "critical");
	}
}

static void test_unknown_and_retired_kid(void **state)
{
	struct auth_keyring *other;
	char *opem, okid[AUTH_KID_MAX + 1], *tok;
	struct auth_key_spec spec[2];
	struct auth_claims c = claims(), out;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(auth_key_generate(&opem, okid, &e), 0);
	assert_string_not_equal(okid, kid);
	assert_int_equal(strlen(okid), 43);
	other = auth_keyring_new("tonearm", &e);
	spec[0] = (struct auth_key_spec){ okid, opem, INT64_MAX, true };
	assert_int_equal(auth_keyring_set(other, spec, 1, &e), 0);
	assert_int_equal(auth_jwt_sign(other, &c, &tok, &e), 0);
	expect_refused(tok, strlen(tok), "unknown key");
	/* Our kid in the header, the other key's signature. */
	{
		const char *t = forge(es256_header(kid), payload_with("tonearm", "\"tonearm\"", now, now, now + 60), opem);
		expect_refused(t, strlen(t), "bad signature");
	}
	/* Rotation: the other key becomes ours too, then the old one is retired past its grace. */
	spec[0] = (struct auth_key_spec){ kid, pem, INT64_MAX, false };
	spec[1] = (struct auth_key_spec){ okid, opem, INT64_MAX, true };
	assert_int_equal(auth_keyring_set(kr, spec, 2, &e), 0);
	assert_int_equal(auth_jwt_verify(kr, tok, strlen(tok), now, &out, &e), 0);
	free(tok);
	c = claims();
	tok = sign(&c); /* signed by okid now */
	assert_int_equal(auth_jwt_verify(kr, tok, strlen(tok), now, &out, &e), 0);
	assert_string_equal(out.kid, okid);
	free(tok);
	/* Our first key, retired long ago: its tokens are refused, even ones verified before. */
	spec[0].valid_until_ms = (now - 10) * 1000;
	{
		struct auth_claims c0 = claims();
		char *t0;
		struct auth_key_spec only = { kid, pem, INT64_MAX, true };

		uint64_t gen;

		assert_int_equal(auth_keyring_set(kr, &only, 1, &e), 0);
		t0 = sign(&c0);
		assert_int_equal(auth_jwt_verify(kr, t0, strlen(t0), now, &out, &e), 0);
		/* The same keys again, or one more: what was verified stays good (auth/tokcache.h). */
		gen = auth_keyring_gen(kr);
		assert_int_equal(auth_keyring_set(kr, &only, 1, &e), 0);
		assert_true(auth_keyring_gen(kr) == gen);
		spec[1].current = false;
		only.current = false;
		{
			struct auth_key_spec both[2] = { only, spec[1] };

			both[0].current = true;
			assert_int_equal(auth_keyring_set(kr, both, 2, &e), 0);
			assert_true(auth_keyring_gen(kr) == gen);
		}
		spec[1].current = true;
		/* Our key's life shortened: the generation moves. */
		assert_int_equal(auth_keyring_set(kr, spec, 2, &e), 0);
		assert_true(auth_keyring_gen(kr) != gen);
		expect_refused(t0, strlen(t0), "unknown key");
		free(t0);
	}
	/* A malformed PEM is refused and leaves the keyring alone. */
	spec[1].private_pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
	assert_int_equal(auth_keyring_set(kr, spec, 2, &e), -1);
	assert_int_equal(auth_keyring_count(kr), 2);
	/* Put the original single key back for the other tests. */
	spec[0] = (struct auth_key_spec){ kid, pem, INT64_MAX, true };
	assert_int_equal(auth_keyring_set(kr, spec, 1, &e), 0);
	auth_keyring_free(other);
	free(opem);
}

static void test_malformed(void **state)
{
	struct auth_claims c = claims();
	char *tok = sign(&c), buf[AUTH_JWT_MAX + 100];
	size_t n = strlen(tok);
	static const char *const garbage[] = {
		"", ".", "..", "...", "a.b", "a.b.c.d", "eyJ.eyJ.", ".eyJ.abc", "abc..def", "a b.c.d",
		"e30.e30.AAAA", "bnVsbA.bnVsbA.AAAA", "W10.W10.AAAA", "e30=.e30.AAAA", "e30.e30.A",
		"!!!.???.###", "eyJhbGciOiJFUzI1NiJ9.\x01\x02.AAAA",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++)
		expect_refused(garbage[i], strlen(garbage[i]), NULL);
	/* Every truncation of a good token fails. */
	for (size_t k = 0; k < n; k++)
		expect_refused(tok, k, NULL);
	/* A NUL inside. */
	memcpy(buf, tok, n);
	buf[10] = '\0';
	expect_refused(buf, n, NULL);
	/* Over the size limit, whatever it holds. */
	memset(buf, 'A', sizeof(buf));
	memcpy(buf, tok, n);
	expect_refused(buf, AUTH_JWT_MAX + 1, "too large");
	/* A signature of the wrong size (the good one plus a byte). */
	snprintf(buf, sizeof(buf), "%sAA", tok);
	expect_refused(buf, strlen(buf), "signature");
	free(tok);
}

static void test_jwks(void **state)
{
	char *s = auth_keyring_jwks(kr);
	json_error_t je;
	json_t *j = json_loads(s, 0, &je), *k;

	(void)state;
	assert_non_null(j);
	assert_int_equal(json_array_size(json_object_get(j, "keys")), 1);
	k = json_array_get(json_object_get(j, "keys"), 0);
	assert_string_equal(json_string_value(json_object_get(k, "kty")), "EC");
	assert_string_equal(json_string_value(json_object_get(k, "crv")), "P-256");
	assert_string_equal(json_string_value(json_object_get(k, "alg")), "ES256");
	assert_string_equal(json_string_value(json_object_get(k, "use")), "sig");
	assert_string_equal(json_string_value(json_object_get(k, "kid")), kid);
	assert_int_equal(strlen(json_string_value(json_object_get(k, "x"))), 43);
	assert_int_equal(strlen(json_string_value(json_object_get(k, "y"))), 43);
	assert_null(json_object_get(k, "d")); /* never the private part */
	assert_null(strstr(s, "PRIVATE"));
	json_decref(j);
	free(s);
}

static void test_b64url(void **state)
{
	unsigned char out[16];
	char enc[32];

	(void)state;
	assert_int_equal(b64url_encode("f", 1, enc, sizeof(enc)), 2);
	assert_string_equal(enc, "Zg");
	assert_int_equal(b64url_encode("\xfb\xff", 2, enc, sizeof(enc)), 3);
	assert_string_equal(enc, "-_8");
	assert_int_equal(b64url_decode("-_8", 3, out, sizeof(out)), 2);
	assert_memory_equal(out, "\xfb\xff", 2);
	assert_int_equal(b64url_decode("Zm9v", 4, out, sizeof(out)), 3);
	assert_int_equal(b64url_decode("Zh", 2, out, sizeof(out)), -1);   /* non-zero spare bits */
	assert_int_equal(b64url_decode("Zg==", 4, out, sizeof(out)), -1); /* padding */
	assert_int_equal(b64url_decode("Z", 1, out, sizeof(out)), -1);
	assert_int_equal(b64url_decode("Zm9+", 4, out, sizeof(out)), -1); /* not URL-safe */
	assert_int_equal(b64url_decode("Zm9vZm9v", 8, out, 5), -1);       /* does not fit */
	assert_int_equal(b64url_encode("foo", 3, enc, 4), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_forge_helper_is_sound),
		cmocka_unit_test(test_alg_none),
		cmocka_unit_test(test_hs256_with_public_key),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_issuer_audience),
		cmocka_unit_test(test_unknown_and_retired_kid),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_jwks),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
