/* throttle.h — sign-in throttling: growing delays after repeated failed sign-ins, decided
 * before the password is verified (so a throttled guess costs no Argon2id work), the same
 * whether or not the account exists (keys are the user name as typed, lower-cased, never
 * the account), and built so that an attacker cannot lock the real owner out.
 *
 * The choice (issue 5, "without letting an attacker lock the real owner out"): three
 * counters of failures, each with delays that double from 1 s up to `max_ms`:
 *   - per (user name, address) pair: delays after `after` failures (default 5). This is the
 *     one a guesser at one account from one address meets. The owner's own address has its
 *     own pair, untouched by the attacker's failures.
 *   - per address, across user names: delays after 4 × `after` failures (credential
 *     stuffing: one address trying many accounts).
 *   - per user name, across addresses: delays after 10 × `after` failures (a botnet guessing
 *     one account), counting only failures from addresses that have not signed in to that
 *     account successfully in the last 30 days, and not applied to such addresses: the owner
 *     signing in from an address they used before is never delayed by it.
 * A success clears its pair and marks the address as good for the account. A counter
 * forgets its failures once it has been quiet for `window_ms` past its last delay.
 * State is in process memory, bounded (least recently used entries are dropped).
 */
#ifndef TONEARM_AUTH_THROTTLE_H
#define TONEARM_AUTH_THROTTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "base/err.h"

struct auth_throttle_options {
	unsigned after;     /* failures before delays start; 0: 5 */
	int64_t max_ms;     /* longest delay; 0: 60 s */
	int64_t window_ms;  /* quiet time after which failures are forgotten; 0: 15 minutes */
	size_t max_entries; /* bound on the state kept; 0: 100000 */
};

struct auth_throttle;

/* NULL with ERR_NOMEM. Free with auth_throttle_free(). Thread-safe. */
struct auth_throttle *auth_throttle_new(const struct auth_throttle_options *opt, struct err *e);
void auth_throttle_free(struct auth_throttle *t);

/* Milliseconds `addr` must still wait before trying `username` again at `now_ms` (wall or
 * monotonic, as long as every call uses the same clock); 0 when it may try now. `addr` may
 * be NULL (counted as one unknown address). */
int64_t auth_throttle_wait(struct auth_throttle *t, const char *username, const char *addr, int64_t now_ms);

/* Count a failed sign-in. Returns the delay (ms) this failure started, 0 if none: a caller
 * that gets > 0 writes an audit line for the lockout. */
int64_t auth_throttle_fail(struct auth_throttle *t, const char *username, const char *addr, int64_t now_ms);

/* Count a successful sign-in: clears the pair and remembers the address as the owner's. */
void auth_throttle_ok(struct auth_throttle *t, const char *username, const char *addr, int64_t now_ms);

/* auth_login() behind the throttle: when `username` from `client->peer` must wait, -1 with
 * ERR_UNAUTHORIZED and *retry_after_s > 0 (seconds, rounded up) without verifying anything;
 * otherwise auth_login()'s result, with the outcome counted (a wrong password or unknown
 * name is a failure; a database error is not), a lockout audited ("login_lockout"), and
 * *retry_after_s = 0. `t` may be NULL (no throttling). */
int auth_login_throttled(struct auth *a, struct auth_throttle *t, const char *username, const char *password,
			 size_t password_len, const struct auth_client *client, struct auth_tokens *out,
			 int64_t *retry_after_s, struct err *e);

#endif
