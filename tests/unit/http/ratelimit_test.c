/* ratelimit_test.c — token-bucket arithmetic and the in-process backend (src/http/ratelimit.c):
 * burst, refill, Retry-After and Reset rounding, key separation, eviction of idle buckets,
 * and the limiter under concurrent takes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "http/ratelimit.h"

#define SEC 1000000000LL
#define MS 1000000LL

static struct ratelimit *mem(size_t n)
{
	struct err e = ERR_INIT;
	struct ratelimit *rl = ratelimit_memory_new(n, &e);

	assert_non_null(rl);
	return rl;
}

static struct ratelimit_result take(struct ratelimit *rl, const char *key, const struct ratelimit_rule *rule,
				    int64_t now)
{
	struct ratelimit_result r;
	struct err e = ERR_INIT;

	assert_int_equal(ratelimit_take(rl, key, rule, now, &r, &e), 0);
	return r;
}

static void burst_then_refused(void **state)
{
	struct ratelimit *rl = mem(0);
	struct ratelimit_rule rule = { 10, 5 };
	struct ratelimit_result r;

	(void)state;
	for (unsigned i = 0; i < 5; i++) {
		r = take(rl, "ip:1.2.3.4", &rule, 100 * SEC);
		assert_true(r.allowed);
		assert_int_equal(r.limit, 5);
		assert_int_equal(r.remaining, 4 - i);
	}
	r = take(rl, "ip:1.2.3.4", &rule, 100 * SEC);
	assert_false(r.allowed);
	assert_int_equal(r.remaining, 0);
	/* One token takes 100 ms at 10/s: rounded up to a whole second, never 0. */
	assert_int_equal(r.retry_after, 1);
	/* Five tokens take 500 ms: Reset rounds up too. */
	assert_int_equal(r.reset, 1);
	ratelimit_free(rl);
}

static void refill_over_time(void **state)
{
	struct ratelimit *rl = mem(0);
	struct ratelimit_rule rule = { 2, 4 }; /* 2 a second, burst 4 */
	struct ratelimit_result r;
	int64_t t = 50 * SEC;

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_true(take(rl, "k", &rule, t).allowed);
	assert_false(take(rl, "k", &rule, t).allowed);
	/* 400 ms: 0.8 token, still refused. */
	r = take(rl, "k", &rule, t + 400 * MS);
	assert_false(r.allowed);
	/* 500 ms: one token. */
	assert_true(take(rl, "k", &rule, t + 500 * MS).allowed);
	assert_false(take(rl, "k", &rule, t + 500 * MS).allowed);
	/* A long pause refills only up to the burst. */
	for (int i = 0; i < 4; i++)
		assert_true(take(rl, "k", &rule, t + 3600 * SEC).allowed);
	assert_false(take(rl, "k", &rule, t + 3600 * SEC).allowed);
	/* Time going backwards (another thread's clock reading) neither refills nor breaks. */
	assert_false(take(rl, "k", &rule, t).allowed);
	ratelimit_free(rl);
}

static void retry_after_rounding(void **state)
{
	struct ratelimit_rule slow = { 1.0 / 60, 3 }; /* 1 a minute, burst 3 */
	struct ratelimit_result r;
	double tokens = 3;
	int64_t last = 0;

	(void)state;
	for (int i = 0; i < 3; i++) {
		ratelimit_bucket_take(&tokens, &last, &slow, 0, &r);
		assert_true(r.allowed);
	}
	ratelimit_bucket_take(&tokens, &last, &slow, 0, &r);
	assert_false(r.allowed);
	assert_int_equal(r.retry_after, 60);
	assert_int_equal(r.reset, 180);
	/* 59.5 s later: half a second short of a token, so 1 s, not 0. */
	ratelimit_bucket_take(&tokens, &last, &slow, 59500 * MS, &r);
	assert_false(r.allowed);
	assert_int_equal(r.retry_after, 1);
	ratelimit_bucket_take(&tokens, &last, &slow, 60 * SEC, &r);
	assert_true(r.allowed);
}

static void keys_are_separate(void **state)
{
	struct ratelimit *rl = mem(0);
	struct ratelimit_rule rule = { 1, 1 };

	(void)state;
	assert_true(take(rl, "ip:10.0.0.1", &rule, SEC).allowed);
	assert_false(take(rl, "ip:10.0.0.1", &rule, SEC).allowed);
	assert_true(take(rl, "ip:10.0.0.2", &rule, SEC).allowed);
	assert_true(take(rl, "u:10.0.0.1", &rule, SEC).allowed);
	assert_int_equal(ratelimit_memory_count(rl), 3);
	ratelimit_free(rl);
}

static void disabled_rule_allows(void **state)
{
	struct ratelimit *rl = mem(0);
	struct ratelimit_rule off = { 0, 0 };

	(void)state;
	for (int i = 0; i < 1000; i++)
		assert_true(take(rl, "x", &off, SEC).allowed);
	assert_int_equal(ratelimit_memory_count(rl), 0);
	ratelimit_free(rl);
}

/* The table is bounded: more keys than it holds evict the least recently used, and the
 * keys touched recently keep their (empty) buckets. */
static void eviction_bounded_lru(void **state)
{
	struct ratelimit *rl = mem(64 * 4); /* 4 per shard */
	struct ratelimit_rule rule = { 1, 1 };
	char key[32];

	(void)state;
	assert_false(take(rl, "hot", &rule, SEC).allowed == false);
	for (int i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		take(rl, key, &rule, SEC);
		/* Keep "hot" the most recently used in its shard. */
		assert_false(take(rl, "hot", &rule, SEC).allowed);
	}
	assert_true(ratelimit_memory_count(rl) <= 64 * 4);
	/* An early key was evicted: it comes back as a full bucket. */
	assert_true(take(rl, "k0", &rule, SEC).allowed);
	ratelimit_free(rl);
}

struct par {
	struct ratelimit *rl;
	int allowed;
};

static void *hammer(void *arg)
{
	struct par *p = arg;
	struct ratelimit_rule rule = { 0.001, 1000 };
	struct ratelimit_result r;

	for (int i = 0; i < 5000; i++) {
		if (ratelimit_take(p->rl, "shared", &rule, SEC, &r, NULL) == 0 && r.allowed)
			p->allowed++;
	}
	return NULL;
}

/* Eight threads on one key: exactly the burst gets through (the shard lock holds). */
static void concurrent_takes(void **state)
{
	struct par p[8];
	pthread_t t[8];
	int total = 0;

	(void)state;
	struct ratelimit *rl = mem(0);
	for (int i = 0; i < 8; i++) {
		p[i] = (struct par){ rl, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, hammer, &p[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		total += p[i].allowed;
	}
	assert_int_equal(total, 1000);
	ratelimit_free(rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(burst_then_refused),   cmocka_unit_test(refill_over_time),
		cmocka_unit_test(retry_after_rounding), cmocka_unit_test(keys_are_separate),
		cmocka_unit_test(disabled_rule_allows), cmocka_unit_test(eviction_bounded_lru),
		cmocka_unit_test(concurrent_takes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
