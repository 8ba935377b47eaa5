/* jwt.h — ES256 JSON Web Tokens over an in-memory keyring.
 *
 * A keyring holds the signing keys (P-256, OpenSSL EVP_PKEY) the database handed it: one
 * current key that signs, and retired keys that still verify until their `valid_until`.
 * Verification never touches the database, so it may run on an event loop: it takes a read
 * lock, checks the signature (about 40 µs for P-256 on this machine's cores) and the claims.
 * Clients present the same token on every request until it expires: auth/tokcache.h keeps
 * what a verified token stood for, under the keyring's generation (auth_keyring_gen).
 *
 * Verification refuses, with ERR_UNAUTHORIZED and a reason safe to show (it names no key
 * material): a token over AUTH_JWT_MAX bytes; anything but three base64url segments; a header
 * or payload that is not a strict JSON object; `alg` other than ES256 (so "none" and HS256
 * made with the public key fail); a `crit` header; an unknown or expired `kid`; a signature
 * that is not 64 bytes (JOSE R||S) or does not verify; `iss` or `aud` other than the
 * keyring's; a missing or malformed `sub`, `exp`, `iat`; `exp` in the past or `nbf`/`iat` in
 * the future beyond AUTH_JWT_LEEWAY seconds.
 *
 * Thread-safety: every function may be called from any thread at any time.
 */
#ifndef TONEARM_AUTH_JWT_H
#define TONEARM_AUTH_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define AUTH_JWT_MAX 8192        /* longest token accepted, bytes */
#define AUTH_JWT_LEEWAY 30       /* clock skew allowed, seconds */
#define AUTH_JWT_AUDIENCE "tonearm"
#define AUTH_KID_MAX 64
#define AUTH_CLAIM_MAX 64        /* sub, sid, jti, role */
#define AUTH_SCOPE_MAX 512

/* The claims we issue and read. Strings are NUL-terminated; an absent one is "". */
struct auth_claims {
	char sub[AUTH_CLAIM_MAX + 1];
	char sid[AUTH_CLAIM_MAX + 1];
	char jti[AUTH_CLAIM_MAX + 1];
	char role[AUTH_CLAIM_MAX + 1];
	char scope[AUTH_SCOPE_MAX + 1];
	char kid[AUTH_KID_MAX + 1];     /* from the header, filled by verify */
	int64_t iat, nbf, exp;          /* seconds since the epoch */
};

/* One key as stored: its id, the PKCS#8 PEM of the private key, when it stops verifying
 * (INT64_MAX for a key not retired; milliseconds) and whether it is the one that signs. */
struct auth_key_spec {
	const char *kid;
	const char *private_pem;
	int64_t valid_until_ms;
	bool current;
};

struct auth_keyring;

/* An empty keyring whose tokens carry `iss` = issuer and `aud` = AUTH_JWT_AUDIENCE. The
 * caller frees it with auth_keyring_free(). NULL with ERR_NOMEM. */
struct auth_keyring *auth_keyring_new(const char *issuer, struct err *e);
void auth_keyring_free(struct auth_keyring *kr);

/* Replace every key with `n` specs (at most one `current`); changes the generation when a key
 * went or verifies for less long (auth_keyring_gen). All or nothing: -1 with ERR_INVALID (a PEM that is not a P-256 private key, a kid too
 * long) leaves the keyring as it was. */
int auth_keyring_set(struct auth_keyring *kr, const struct auth_key_spec *keys, size_t n, struct err *e);

/* The number of keys held, and whether one of them signs. */
size_t auth_keyring_count(struct auth_keyring *kr);
bool auth_keyring_can_sign(struct auth_keyring *kr);

/* A new P-256 key: its PKCS#8 PEM (caller frees) and its kid, the RFC 7638 JWK thumbprint
 * (43 characters; `kid` holds AUTH_KID_MAX + 1). -1 with ERR_INTERNAL if OpenSSL fails. */
int auth_key_generate(char **pem, char kid[AUTH_KID_MAX + 1], struct err *e);

/* Sign `c` (sub, sid, jti, role, scope, iat, nbf, exp; its kid is ignored) with the current
 * key; iss and aud come from the keyring. *out is the token, NUL-terminated, caller frees.
 * -1 with ERR_UNAVAILABLE when there is no current key, ERR_INTERNAL/ERR_NOMEM otherwise. */
int auth_jwt_sign(struct auth_keyring *kr, const struct auth_claims *c, char **out, struct err *e);

/* Verify `len` bytes of `token` at time `now` (seconds) and fill *out. 0, or -1 with
 * ERR_UNAUTHORIZED (see above). */
int auth_jwt_verify(struct auth_keyring *kr, const char *token, size_t len, int64_t now,
		    struct auth_claims *out, struct err *e);

/* A number that changes whenever auth_keyring_set removes a key or shortens its life: what was
 * verified under an older one may no longer verify. Never 0. */
uint64_t auth_keyring_gen(struct auth_keyring *kr);

/* The public keys that still verify, as a JWK Set: {"keys":[{kty,crv,x,y,kid,alg,use}]}.
 * A NUL-terminated string the caller frees; NULL when out of memory. */
char *auth_keyring_jwks(struct auth_keyring *kr);

#endif
