/* ratelimit.h — token buckets keyed by a string, behind a small backend interface.
 *
 * A rule is a bucket of `burst` tokens refilled at `rate` tokens a second; each request
 * takes one token. A key that has not been seen is a full bucket. The answer says whether
 * the request may go on and what the draft IETF RateLimit headers should say.
 *
 * Backends: `memory` (this process: a sharded hash table, one mutex per shard, O(1) per
 * take, at most `max_keys` buckets; when a shard is full the bucket idle the longest is
 * evicted — a bucket idle long enough is full again, so evicting it loses nothing; under
 * pressure from a key flood it may hand an evicted key a fresh bucket, which is the price of a
 * bounded table). A shared backend (Redis, for several processes) implements
 * struct ratelimit_ops and is chosen from the `cache` URL.
 *
 * Thread-safe: ratelimit_take() may be called from any thread at once.
 */
#ifndef TONEARM_HTTP_RATELIMIT_H
#define TONEARM_HTTP_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define RATELIMIT_KEY_MAX 80 /* longer keys are cut (they are addresses and ids) */

struct ratelimit_rule {
	double rate;    /* tokens added per second; > 0 */
	unsigned burst; /* bucket size; ≥ 1 */
};

struct ratelimit_result {
	bool allowed;
	unsigned limit;       /* RateLimit-Limit: the burst */
	unsigned remaining;   /* RateLimit-Remaining: whole tokens left after this request */
	unsigned reset;       /* RateLimit-Reset: seconds until the bucket is full again */
	unsigned retry_after; /* Retry-After when refused: seconds until one token (≥ 1) */
};

struct ratelimit;

/* A backend. `take` takes one token of `rule` for `key` at monotonic time `now_ns` and fills
 * *out; it returns 0, or -1 with `e` set when the backend failed (callers let the request
 * through then: a broken limiter must not take the service down). */
struct ratelimit_ops {
	const char *name;
	int (*take)(struct ratelimit *rl, const char *key, const struct ratelimit_rule *rule, int64_t now_ns,
		    struct ratelimit_result *out, struct err *e);
	void (*free)(struct ratelimit *rl);
};

/* Every backend embeds this first. */
struct ratelimit {
	const struct ratelimit_ops *ops;
};

/* The in-process backend holding at most `max_keys` buckets (0: 65536; at least 64).
 * NULL with ERR_NOMEM. Free with ratelimit_free(). */
struct ratelimit *ratelimit_memory_new(size_t max_keys, struct err *e);

/* Take one token (see struct ratelimit_ops). A rule with rate ≤ 0 or burst 0 always allows. */
int ratelimit_take(struct ratelimit *rl, const char *key, const struct ratelimit_rule *rule, int64_t now_ns,
		   struct ratelimit_result *out, struct err *e);

/* The pure bucket arithmetic, for backends and tests: refill a bucket holding `*tokens`
 * last updated at `*last_ns` up to `now_ns`, take one token if there is one, update both
 * and fill *out. A new bucket starts with tokens = burst. */
void ratelimit_bucket_take(double *tokens, int64_t *last_ns, const struct ratelimit_rule *rule, int64_t now_ns,
			   struct ratelimit_result *out);

/* Number of buckets the memory backend holds now (for tests). */
size_t ratelimit_memory_count(struct ratelimit *rl);

void ratelimit_free(struct ratelimit *rl);

#endif
