/* revcache: hits only at the exact revision, replacement, the byte bound, and many threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/revcache.h"

/* The bytes kept under (key, rev) into out: 1 when they were there, 0 on a miss. */
static int get(struct revcache *c, const char *key, int64_t rev, struct buf *out)
{
	const char *data;
	size_t len;
	struct revcache_entry *h = revcache_hold(c, key, strlen(key), rev, &data, &len);

	buf_reset(out);
	if (!h)
		return 0;
	assert_int_equal(buf_add(out, data, len), 0);
	revcache_release(h);
	return 1;
}

static void put(struct revcache *c, const char *key, int64_t rev, const char *text)
{
	revcache_put(c, key, strlen(key), rev, text, strlen(text));
}

static void test_exact_revision(void **state)
{
	(void)state;
	struct revcache *c = revcache_new(1 << 20);
	struct buf out = BUF_INIT;
	struct revcache_stats st;

	assert_non_null(c);
	assert_int_equal(get(c, "01AAA", 1, &out), 0);
	put(c, "01AAA", 1, "{\"title\":\"one\"}");
	assert_int_equal(get(c, "01AAA", 1, &out), 1);
	assert_string_equal(buf_str(&out), "{\"title\":\"one\"}");
	/* Another revision of the same key is a miss, older or newer. */
	assert_int_equal(get(c, "01AAA", 2, &out), 0);
	assert_int_equal(get(c, "01AAA", 0, &out), 0);
	assert_int_equal(out.len, 0);
	/* A put of the next revision replaces the old bytes: one entry, the new text. */
	put(c, "01AAA", 2, "{\"title\":\"two\"}");
	assert_int_equal(get(c, "01AAA", 1, &out), 0);
	assert_int_equal(get(c, "01AAA", 2, &out), 1);
	assert_string_equal(buf_str(&out), "{\"title\":\"two\"}");
	/* A key is its bytes, not a prefix. */
	assert_int_equal(get(c, "01AA", 2, &out), 0);
	revcache_stats(c, &st);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.hits, 2);
	assert_int_equal(st.misses, 5);
	revcache_drop(c, "01AAA", 5);
	assert_int_equal(get(c, "01AAA", 2, &out), 0);
	revcache_stats(c, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.bytes, 0);
	buf_release(&out);
	revcache_free(c);
}

static void test_no_cache(void **state)
{
	(void)state;
	struct buf out = BUF_INIT;
	struct revcache_stats st;

	assert_null(revcache_new(0));
	put(NULL, "k", 1, "v"); /* all no-ops */
	assert_int_equal(get(NULL, "k", 1, &out), 0);
	revcache_drop(NULL, "k", 1);
	revcache_stats(NULL, &st);
	assert_int_equal(st.entries, 0);
	revcache_free(NULL);
}

/* Never more bytes than asked for, the least recently used going first. */
static void test_bound_and_lru(void **state)
{
	(void)state;
	const size_t max = 1024 * 1024;
	struct revcache *c = revcache_new(max);
	struct buf out = BUF_INIT;
	struct revcache_stats st;
	char key[32], val[200];
	int kept = 0;

	assert_non_null(c);
	memset(val, 'x', sizeof(val) - 1);
	val[sizeof(val) - 1] = '\0';
	for (int i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "key%d", i);
		put(c, key, 1, val);
		/* key0 is read after every put: always the most recently used, never evicted. */
		assert_int_equal(get(c, "key0", 1, &out), 1);
		revcache_stats(c, &st);
		assert_true(st.bytes <= max);
	}
	revcache_stats(c, &st);
	assert_true(st.entries > 1000);  /* it does hold many */
	assert_true(st.entries < 20000); /* but not all */
	for (int i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "key%d", i);
		kept += get(c, key, 1, &out);
	}
	assert_int_equal((size_t)kept, st.entries);
	/* The newest survive, the oldest (but key0) went. */
	assert_int_equal(get(c, "key19999", 1, &out), 1);
	assert_int_equal(get(c, "key1", 1, &out), 0);
	/* Too big for a shard's eighth: not kept, and nothing else is evicted for it. */
	{
		size_t big = max / REVCACHE_SHARDS / 8 + 1;
		char *b = malloc(big);
		struct revcache_stats before;

		assert_non_null(b);
		memset(b, 'y', big);
		revcache_stats(c, &before);
		revcache_put(c, "big", 3, 1, b, big);
		assert_int_equal(get(c, "big", 1, &out), 0);
		revcache_stats(c, &st);
		assert_int_equal(st.entries, before.entries);
		free(b);
	}
	buf_release(&out);
	revcache_free(c);
}

/* What a reader holds stays readable when the cache replaces, drops or evicts it (ASan would
 * see a use after free), and is freed when the last holder lets go (LeakSanitizer would see a
 * leak). */
static void test_hold(void **state)
{
	(void)state;
	struct revcache *c = revcache_new(256 * 1024);
	struct revcache_entry *h1, *h2, *h3;
	const char *d1, *d2, *d3;
	size_t l1, l2, l3;
	char key[16];

	put(c, "a", 1, "first");
	assert_null(revcache_hold(c, "a", 1, 2, &d1, &l1));
	h1 = revcache_hold(c, "a", 1, 1, &d1, &l1);
	h2 = revcache_hold(c, "a", 1, 1, &d2, &l2);
	assert_non_null(h1);
	assert_ptr_equal(d1, d2);
	assert_int_equal(l1, 5);
	put(c, "a", 1, "second"); /* replaced while held */
	assert_memory_equal(d1, "first", 5);
	h3 = revcache_hold(c, "a", 1, 1, &d3, &l3);
	assert_non_null(h3);
	assert_memory_equal(d3, "second", 6);
	revcache_release(h1);
	assert_memory_equal(d2, "first", 5);
	revcache_release(h2);
	for (int i = 0; i < 4000; i++) { /* evicts "a" */
		snprintf(key, sizeof(key), "k%d", i);
		put(c, key, 1, "filler filler filler");
	}
	assert_null(revcache_hold(c, "a", 1, 1, &d1, &l1));
	assert_memory_equal(d3, "second", 6);
	revcache_release(h3);
	revcache_release(NULL);
	assert_null(revcache_hold(NULL, "a", 1, 1, &d1, &l1));
	revcache_free(c);
}

/* Threads putting and getting the same keys: every hit holds the bytes of the revision asked
 * for (each value names its key and revision), under ASan and TSan-like interleavings. */
struct worker {
	struct revcache *c;
	unsigned seed;
	int bad;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct buf out = BUF_INIT;
	char key[16], val[64];

	for (int i = 0; i < 20000; i++) {
		unsigned r = (w->seed = w->seed * 1103515245u + 12345u) >> 8;
		int k = (int)(r % 1000), rev = (int)(r / 1000 % 4);

		snprintf(key, sizeof(key), "t%d", k);
		snprintf(val, sizeof(val), "%s@%d", key, rev);
		if ((r >> 20) & 1) { /* not r's low bit: it would tie the choice to k's parity */
			revcache_put(w->c, key, strlen(key), rev, val, strlen(val));
		} else if ((r >> 21) & 1) {
			const char *d;
			size_t len;
			struct revcache_entry *h = revcache_hold(w->c, key, strlen(key), rev, &d, &len);

			if (h && (len != strlen(val) || memcmp(d, val, len) != 0))
				w->bad++;
			revcache_release(h);
		} else if (get(w->c, key, rev, &out) == 1 && strcmp(buf_str(&out), val) != 0) {
			w->bad++;
		}
	}
	buf_release(&out);
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	struct revcache *c = revcache_new(128 * 1024); /* less than the 1,000 keys take: it evicts */
	struct worker w[4];
	pthread_t t[4];
	struct revcache_stats st;

	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ c, (unsigned)i * 7919u + 1, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].bad, 0);
	}
	revcache_stats(c, &st);
	assert_true(st.bytes <= 128 * 1024);
	assert_true(st.hits > 0);
	revcache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_revision),
		cmocka_unit_test(test_no_cache),
		cmocka_unit_test(test_bound_and_lru),
		cmocka_unit_test(test_hold),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
