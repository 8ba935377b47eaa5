/* jwt_bench — access token verifications per second on one thread (the target is
 * at least 50,000/s on one core). Two figures:
 *   cold: every token distinct, so every verification does the full ECDSA P-256 check;
 *   warm: clients present the same token on every request until it expires, so the repeat
 *         costs a look-up in the verified-token cache (auth/tokcache.h), as auth_verify_access
 *         does it: a miss verifies and keeps the principal, a hit compares the token's bytes.
 * Usage: jwt_bench [seconds-per-figure]   (default 3) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/jwt.h"
#include "auth/tokcache.h"

#define NTOK 4096

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 3.0, t0, el;
	struct err e = ERR_INIT;
	struct auth_keyring *kr = auth_keyring_new("tonearm", &e);
	char *pem, kid[AUTH_KID_MAX + 1], **tok = calloc(NTOK, sizeof(*tok));
	struct auth_key_spec spec;
	struct auth_claims c, out;
	struct auth_tokcache *tc;
	struct auth_principal p;
	long n;
	int64_t now = (int64_t)time(NULL);

	if (!kr || !tok || auth_key_generate(&pem, kid, &e) < 0)
		return 1;
	spec = (struct auth_key_spec){ kid, pem, INT64_MAX, true };
	if (auth_keyring_set(kr, &spec, 1, &e) < 0)
		return 1;
	memset(&c, 0, sizeof(c));
	snprintf(c.sub, sizeof(c.sub), "01ARZ3NDEKTSV4RRFFQ69G5FAV");
	snprintf(c.sid, sizeof(c.sid), "01ARZ3NDEKTSV4RRFFQ69G5FAW");
	snprintf(c.role, sizeof(c.role), "premium");
	snprintf(c.scope, sizeof(c.scope), "account library:read playlists stream download");
	c.iat = c.nbf = now;
	c.exp = now + 900;
	for (int i = 0; i < NTOK; i++) {
		snprintf(c.jti, sizeof(c.jti), "%032x", i);
		if (auth_jwt_sign(kr, &c, &tok[i], &e) < 0)
			return 1;
	}
	/* Cold: auth_jwt_verify keeps nothing, so each check is full. */
	n = 0;
	t0 = now_s();
	do {
		if (auth_jwt_verify(kr, tok[n % NTOK], strlen(tok[n % NTOK]), now, &out, &e) < 0) {
			fprintf(stderr, "verify: %s\n", e.msg);
			return 1;
		}
		n++;
	} while ((el = now_s() - t0) < secs);
	printf("jwt verify cold (full ES256): %.0f/s  (%ld in %.2f s)\n", (double)n / el, n, el);
	/* Warm: 64 distinct tokens in rotation, like 64 busy clients. */
	if (!(tc = auth_tokcache_new()))
		return 1;
	n = 0;
	t0 = now_s();
	do {
		const char *t = tok[n % 64];
		size_t len = strlen(t);
		uint64_t gen = auth_keyring_gen(kr);

		if (!auth_tokcache_get(tc, t, len, gen, now, &p)) {
			if (auth_jwt_verify(kr, t, len, now, &out, &e) < 0)
				return 1;
			memset(&p, 0, sizeof(p));
			memcpy(p.user_id, out.sub, sizeof(p.user_id) - 1);
			p.expires_at = out.exp;
			auth_tokcache_put(tc, t, len, gen, out.exp + AUTH_JWT_LEEWAY, &p);
		}
		n++;
	} while ((el = now_s() - t0) < secs);
	printf("jwt verify warm (cached):     %.0f/s  (%ld in %.2f s)\n", (double)n / el, n, el);
	for (int i = 0; i < NTOK; i++)
		free(tok[i]);
	free(tok);
	free(pem);
	auth_tokcache_free(tc);
	auth_keyring_free(kr);
	return 0;
}
