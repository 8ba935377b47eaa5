/* id: format, validity, time order, and uniqueness from two threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/id.h"

#define PER_THREAD 500000

static void test_format(void **state)
{
	(void)state;
	char id[ID_LEN + 1];
	int64_t before = clock_now_ms();

	id_new(id);
	int64_t after = clock_now_ms();
	assert_int_equal(strlen(id), ID_LEN);
	assert_true(id_valid(id));
	assert_true(id[0] >= '0' && id[0] <= '7');
	for (size_t i = 0; i < ID_LEN; i++)
		assert_non_null(strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", id[i]));
	/* the timestamp inside is the time it was made */
	assert_in_range(id_time_ms(id), before, after);
}

static void test_valid(void **state)
{
	(void)state;
	assert_true(id_valid("01ARZ3NDEKTSV4RRFFQ69G5FAV"));
	assert_true(id_valid("7ZZZZZZZZZZZZZZZZZZZZZZZZZ"));
	assert_true(id_valid("00000000000000000000000000"));
	assert_false(id_valid("8ZZZZZZZZZZZZZZZZZZZZZZZZZ"));  /* over 128 bits */
	assert_false(id_valid("01ARZ3NDEKTSV4RRFFQ69G5FA"));   /* short */
	assert_false(id_valid("01ARZ3NDEKTSV4RRFFQ69G5FAVX")); /* long */
	assert_false(id_valid("01ARZ3NDEKTSV4RRFFQ69G5FAI"));  /* I is not Crockford */
	assert_false(id_valid("01ARZ3NDEKTSV4RRFFQ69G5FAU"));
	assert_false(id_valid("01arz3ndektsv4rrffq69g5fav"));  /* ours are upper-case */
	assert_false(id_valid(""));
	assert_false(id_valid(NULL));
	/* the spec's decodeTime example */
	assert_int_equal(id_time_ms("01ARYZ6S41TSV4RRFFQ69G5FAV"), 1469918176385LL);
	assert_int_equal(id_time_ms("01ARZ3NDEKTSV4RRFFQ69G5FAV"), 1469922850259LL);
	assert_int_equal(id_time_ms("nope"), -1);
}

struct run {
	char (*ids)[ID_LEN + 1];
	size_t n;
};

static void *make_ids(void *arg)
{
	struct run *r = arg;

	for (size_t i = 0; i < r->n; i++)
		id_new(r->ids[i]);
	return NULL;
}

static int cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, ID_LEN);
}

static void test_unique_two_threads(void **state)
{
	(void)state;
	char (*all)[ID_LEN + 1] = malloc(2 * PER_THREAD * sizeof(*all));
	struct run runs[2] = { { all, PER_THREAD }, { all + PER_THREAD, PER_THREAD } };
	pthread_t t[2];

	assert_non_null(all);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, make_ids, &runs[i]), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	/* strictly increasing within each thread */
	for (int r = 0; r < 2; r++) {
		for (size_t i = 1; i < PER_THREAD; i++) {
			if (memcmp(runs[r].ids[i - 1], runs[r].ids[i], ID_LEN) >= 0)
				fail_msg("thread %d: id %zu (%s) not after %s", r, i, runs[r].ids[i], runs[r].ids[i - 1]);
		}
	}
	/* and all 1,000,000 distinct */
	qsort(all, 2 * PER_THREAD, sizeof(*all), cmp_id);
	for (size_t i = 1; i < 2 * PER_THREAD; i++) {
		if (memcmp(all[i - 1], all[i], ID_LEN) == 0)
			fail_msg("duplicate id %s", all[i]);
	}
	free(all);
}

static void test_random_hex(void **state)
{
	(void)state;
	char a[65], b[65], small[3] = "zz";

	assert_int_equal(id_random_hex(a, 32), 0);
	assert_int_equal(id_random_hex(b, 32), 0);
	assert_int_equal(strlen(a), 64);
	assert_int_equal(strspn(a, "0123456789abcdef"), 64);
	assert_string_not_equal(a, b);
	assert_int_equal(id_random_hex(small, 1), 0);
	assert_int_equal(strlen(small), 2);
	/* nothing asked, or an absurd amount: refused with an empty string */
	small[0] = 'x';
	assert_int_equal(id_random_hex(small, 0), -1);
	assert_string_equal(small, "");
	assert_int_equal(id_random_hex(small, SIZE_MAX / 2 + 1), -1);
	assert_int_equal(id_random_hex(NULL, 4), -1);

	/* more than one internal chunk: all bytes filled, none left over */
	char *big = malloc(2 * 1000 + 1);
	assert_non_null(big);
	assert_int_equal(id_random_hex(big, 1000), 0);
	assert_int_equal(strlen(big), 2000);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_unique_two_threads),
		cmocka_unit_test(test_random_hex),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
