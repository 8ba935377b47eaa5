/* pages: zeroed, and resident only once written (the reason it exists, see pages.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <unistd.h>

#include "base/pages.h"

/* Resident pages of this process, from /proc/self/statm. */
static long resident_pages(void)
{
	long size = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld %ld", &size, &rss), 2);
	fclose(f);
	return rss;
}

static void test_lazy_and_zeroed(void **state)
{
	(void)state;
	const size_t size = 64u << 20;
	long page = sysconf(_SC_PAGESIZE), before, after;
	unsigned char *p;

	assert_null(pages_alloc(0));
	before = resident_pages();
	p = pages_alloc(size);
	assert_non_null(p);
	assert_int_equal((uintptr_t)p % (uintptr_t)page, 0);
	/* 64 MiB asked for, nothing written: next to nothing resident (a calloc from a heap that
	 * held freed memory would have cleared, and so touched, all of it) */
	after = resident_pages();
	assert_true(after - before < 256);
	/* writing ten pages makes about ten resident */
	for (int i = 0; i < 10; i++)
		p[(size_t)i * (size_t)page] = 1;
	assert_true(resident_pages() - after >= 10);
	assert_int_equal(p[size - 1], 0);
	assert_int_equal(p[(size_t)page + 1], 0);
	pages_free(p, size);
	pages_free(NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lazy_and_zeroed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
