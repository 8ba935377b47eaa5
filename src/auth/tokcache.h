/* tokcache.h — verified access tokens, remembered until they expire.
 *
 * A client presents the same access token on every request for its 15 minutes, and a full
 * ES256 verification costs about 40 µs. Once auth_verify_access has verified a token and turned
 * its claims into a principal, the principal is kept here under the token's exact bytes, so a
 * repeat costs a look-up and a constant-time compare of the token (well under a microsecond).
 *
 * A slot is chosen by the token's last bytes (its signature, random for any token we issued;
 * a forged tail gains nothing, since only verified tokens are ever stored) and holds one token:
 * a newer token evicts the older one. Tokens longer than AUTH_TOKCACHE_TOKEN_MAX are verified
 * every time. Every entry carries the keyring generation it was verified under (jwt.h:
 * auth_keyring_gen); changing the keys makes every older entry a miss, so a removed key's tokens
 * stop working at once. An entry is a miss from the second its caller said it stops being valid.
 *
 * The table is AUTH_TOKCACHE_SLOTS slots from pages_alloc: memory is resident only for the
 * slots in use. Thread-safety: any thread, any time (slots are guarded by striped mutexes).
 */
#ifndef TONEARM_AUTH_TOKCACHE_H
#define TONEARM_AUTH_TOKCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"

#define AUTH_TOKCACHE_SLOTS 2048
#define AUTH_TOKCACHE_TOKEN_MAX 1024

struct auth_tokcache;

/* An empty cache, or NULL when out of memory. */
struct auth_tokcache *auth_tokcache_new(void);
void auth_tokcache_free(struct auth_tokcache *tc);

/* 1 with *out filled when exactly these `len` bytes were stored under generation `gen` and `now`
 * (seconds since the epoch) is before the entry's `until`; 0 otherwise. */
int auth_tokcache_get(struct auth_tokcache *tc, const char *token, size_t len, uint64_t gen, int64_t now,
		      struct auth_principal *out);

/* Remember that `token` verified under generation `gen` as *p, valid until the second `until`
 * (exclusive). Does nothing for a token too long or too short to be cached. */
void auth_tokcache_put(struct auth_tokcache *tc, const char *token, size_t len, uint64_t gen, int64_t until,
		       const struct auth_principal *p);

#endif
