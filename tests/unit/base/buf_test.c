/* buf: the invariants its header promises. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

/* The header's invariants, checked after every operation. */
static void invariants(const struct buf *b)
{
	assert_true(b->len <= b->cap || (b->cap == 0 && b->len == 0));
	if (b->data) {
		assert_true(b->len < b->cap);
		assert_int_equal(b->data[b->len], '\0');
	}
	assert_true(b->len <= (b->max ? b->max : BUF_MAX_DEFAULT));
}

static void test_zeroed_is_empty(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;

	assert_string_equal(buf_str(&b), "");
	assert_int_equal(b.len, 0);
	assert_null(b.data); /* nothing allocated until the first append */
	assert_int_equal(buf_adds(&b, "hello"), 0);
	invariants(&b);
	assert_string_equal(buf_str(&b), "hello");
	buf_release(&b);
	assert_null(b.data);
	assert_string_equal(buf_str(&b), "");
	buf_release(&b); /* twice is fine */
}

static void test_cap_refusal(void **state)
{
	(void)state;
	struct buf b;

	buf_init(&b, 10);
	assert_int_equal(buf_adds(&b, "0123456789"), 0); /* exactly the cap */
	invariants(&b);
	size_t cap = b.cap;
	char *data = b.data;
	/* one more byte, by each way of appending: refused, buffer unchanged */
	assert_int_equal(buf_addch(&b, 'x'), -1);
	assert_int_equal(buf_adds(&b, "x"), -1);
	assert_int_equal(buf_add(&b, "xy", 2), -1);
	assert_int_equal(buf_addf(&b, "%d", 1), -1);
	assert_int_equal(buf_grow(&b, 1), -1);
	assert_int_equal(buf_grow(&b, SIZE_MAX), -1);
	assert_int_equal(b.len, 10);
	assert_ptr_equal(b.data, data);
	assert_int_equal(b.cap, cap);
	assert_string_equal(buf_str(&b), "0123456789");
	invariants(&b);
	/* the allocation never exceeds the cap + NUL */
	assert_true(b.cap <= 11);
	buf_release(&b);

	buf_init(&b, 10);
	assert_int_equal(buf_adds(&b, "abc"), 0);
	assert_int_equal(buf_addf(&b, "%s", "12345678"), -1); /* 11 > 10 */
	assert_string_equal(buf_str(&b), "abc");
	invariants(&b);
	buf_release(&b);
}

static void test_addf_growth(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	char expect[64];

	/* many small formatted appends that cross several reallocations */
	for (int i = 0; i < 5000; i++) {
		assert_int_equal(buf_addf(&b, "%d,", i), 0);
		invariants(&b);
	}
	assert_memory_equal(b.data, "0,1,2,3,", 8);
	snprintf(expect, sizeof(expect), "4998,4999,");
	assert_string_equal(b.data + b.len - strlen(expect), expect);
	/* one formatted append far larger than the current capacity */
	char big[10000];
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	size_t before = b.len;
	assert_int_equal(buf_addf(&b, "[%s]", big), 0);
	assert_int_equal(b.len, before + sizeof(big) + 1);
	assert_int_equal(b.data[b.len - 1], ']');
	invariants(&b);
	buf_release(&b);
}

static void test_binary_reset_truncate(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;

	assert_int_equal(buf_add(&b, "a\0b", 3), 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "a\0b", 4);
	invariants(&b);
	assert_int_equal(buf_add(&b, NULL, 0), 0);
	assert_int_equal(b.len, 3);
	buf_truncate(&b, 10); /* longer: no-op */
	assert_int_equal(b.len, 3);
	buf_truncate(&b, 1);
	assert_string_equal(buf_str(&b), "a");
	invariants(&b);
	char *data = b.data;
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_ptr_equal(b.data, data); /* allocation kept */
	assert_string_equal(buf_str(&b), "");
	invariants(&b);
	buf_release(&b);
	/* resetting and truncating a never-used buffer is harmless */
	buf_reset(&b);
	buf_truncate(&b, 0);
	assert_null(b.data);
}

static void test_detach(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	size_t len = 99;
	char *s;

	/* empty: an allocated "" */
	s = buf_detach(&b, &len);
	assert_non_null(s);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);

	buf_adds(&b, "track");
	s = buf_detach(&b, &len);
	assert_string_equal(s, "track");
	assert_int_equal(len, 5);
	/* the buffer is empty and reusable, and no longer owns the string */
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	buf_adds(&b, "other");
	assert_string_equal(s, "track");
	free(s);
	s = buf_detach(&b, NULL);
	assert_string_equal(s, "other");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zeroed_is_empty),
		cmocka_unit_test(test_cap_refusal),
		cmocka_unit_test(test_addf_growth),
		cmocka_unit_test(test_binary_reset_truncate),
		cmocka_unit_test(test_detach),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
