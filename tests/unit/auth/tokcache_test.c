/* The verified-token cache: a hit only for exactly the stored bytes, under the same keyring
 * generation and before the entry's end; a newer token takes an older one's slot; tokens too long
 * are never kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "auth/tokcache.h"

static struct auth_principal principal(const char *user)
{
	struct auth_principal p;

	memset(&p, 0, sizeof(p));
	snprintf(p.user_id, sizeof(p.user_id), "%s", user);
	p.role = AUTH_ROLE_PREMIUM;
	p.perms = 7;
	p.expires_at = 1000;
	return p;
}

/* A token-like string of `n` bytes whose bytes depend on `seed`. */
static void token(char *t, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		t[i] = (char)('A' + (seed * 31 + i * 7) % 26);
}

static void test_hit_and_misses(void **state)
{
	struct auth_tokcache *tc = auth_tokcache_new();
	struct auth_principal p = principal("01ARZ3NDEKTSV4RRFFQ69G5FAV"), out;
	char t[600], u[600];

	(void)state;
	assert_non_null(tc);
	token(t, sizeof(t), 1);
	assert_int_equal(auth_tokcache_get(tc, t, sizeof(t), 5, 100, &out), 0);
	auth_tokcache_put(tc, t, sizeof(t), 5, 1030, &p);
	memset(&out, 0, sizeof(out));
	assert_int_equal(auth_tokcache_get(tc, t, sizeof(t), 5, 100, &out), 1);
	assert_string_equal(out.user_id, p.user_id);
	assert_int_equal(out.role, AUTH_ROLE_PREMIUM);
	assert_int_equal(out.perms, 7);
	/* Another generation of keys, or the end reached: a miss. */
	assert_int_equal(auth_tokcache_get(tc, t, sizeof(t), 6, 100, &out), 0);
	assert_int_equal(auth_tokcache_get(tc, t, sizeof(t), 5, 1029, &out), 1);
	assert_int_equal(auth_tokcache_get(tc, t, sizeof(t), 5, 1030, &out), 0);
	/* The same tail (so the same slot) but one byte changed anywhere before it: a miss. */
	for (size_t i = 0; i < sizeof(t) - 8; i += 37) {
		memcpy(u, t, sizeof(t));
		u[i] ^= 1;
		assert_int_equal(auth_tokcache_get(tc, u, sizeof(u), 5, 100, &out), 0);
	}
	/* A prefix or an extension of the token: a miss. */
	assert_int_equal(auth_tokcache_get(tc, t + 1, sizeof(t) - 1, 5, 100, &out), 0);
	assert_int_equal(auth_tokcache_get(tc, t, sizeof(t) - 1, 5, 100, &out), 0);
	auth_tokcache_free(tc);
}

static void test_newer_token_takes_the_slot(void **state)
{
	struct auth_tokcache *tc = auth_tokcache_new();
	struct auth_principal p1 = principal("01ARZ3NDEKTSV4RRFFQ69G5FA1"), p2 = principal("01ARZ3NDEKTSV4RRFFQ69G5FA2"),
			      out;
	char t1[500], t2[500];

	(void)state;
	token(t1, sizeof(t1), 1);
	token(t2, sizeof(t2), 2);
	memcpy(t2 + sizeof(t2) - 8, t1 + sizeof(t1) - 8, 8); /* same tail: same slot */
	auth_tokcache_put(tc, t1, sizeof(t1), 1, 2000, &p1);
	auth_tokcache_put(tc, t2, sizeof(t2), 1, 2000, &p2);
	assert_int_equal(auth_tokcache_get(tc, t1, sizeof(t1), 1, 100, &out), 0);
	assert_int_equal(auth_tokcache_get(tc, t2, sizeof(t2), 1, 100, &out), 1);
	assert_string_equal(out.user_id, p2.user_id);
	auth_tokcache_free(tc);
}

static void test_sizes_not_kept(void **state)
{
	struct auth_tokcache *tc = auth_tokcache_new();
	struct auth_principal p = principal("01ARZ3NDEKTSV4RRFFQ69G5FAV"), out;
	static char big[AUTH_TOKCACHE_TOKEN_MAX + 1];
	char small[8];

	(void)state;
	token(big, sizeof(big), 3);
	auth_tokcache_put(tc, big, sizeof(big), 1, 2000, &p);
	assert_int_equal(auth_tokcache_get(tc, big, sizeof(big), 1, 100, &out), 0);
	/* Exactly the largest size is kept. */
	auth_tokcache_put(tc, big, AUTH_TOKCACHE_TOKEN_MAX, 1, 2000, &p);
	assert_int_equal(auth_tokcache_get(tc, big, AUTH_TOKCACHE_TOKEN_MAX, 1, 100, &out), 1);
	token(small, sizeof(small), 4);
	auth_tokcache_put(tc, small, sizeof(small), 1, 2000, &p);
	assert_int_equal(auth_tokcache_get(tc, small, sizeof(small), 1, 100, &out), 0);
	auth_tokcache_free(tc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_and_misses),
		cmocka_unit_test(test_newer_token_takes_the_slot),
		cmocka_unit_test(test_sizes_not_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
