/* clock: the date formats against known values, round trips, and garbage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "base/clock.h"

static void test_now_and_mono(void **state)
{
	(void)state;
	int64_t now = clock_now_ms();
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	/* within a second of libc's own clock, and after 2024 */
	assert_true(now > 1704067200000LL);
	assert_true(now / 1000 - ts.tv_sec <= 1 && ts.tv_sec - now / 1000 <= 1);

	int64_t a = clock_mono_ns();
	struct timespec nap = { 0, 2000000 };
	nanosleep(&nap, NULL);
	int64_t b = clock_mono_ns();
	assert_true(b - a >= 2000000);
}

static void test_rfc3339(void **state)
{
	(void)state;
	char out[CLOCK_RFC3339_LEN];

	assert_int_equal(clock_rfc3339(0, out, sizeof(out)), 24);
	assert_string_equal(out, "1970-01-01T00:00:00.000Z");
	assert_int_equal(clock_rfc3339(784111777123LL, out, sizeof(out)), 24);
	assert_string_equal(out, "1994-11-06T08:49:37.123Z");
	/* before the epoch: floor, not truncation toward zero */
	assert_int_equal(clock_rfc3339(-1, out, sizeof(out)), 24);
	assert_string_equal(out, "1969-12-31T23:59:59.999Z");
	/* a leap day */
	assert_int_equal(clock_rfc3339(951782400000LL, out, sizeof(out)), 24);
	assert_string_equal(out, "2000-02-29T00:00:00.000Z");
	assert_int_equal(clock_rfc3339(253402300799999LL, out, sizeof(out)), 24);
	assert_string_equal(out, "9999-12-31T23:59:59.999Z");

	/* too small a buffer, years past 9999: refused, buffer untouched */
	memcpy(out, "untouched", 10);
	assert_int_equal(clock_rfc3339(0, out, 24), -1);
	assert_string_equal(out, "untouched");
	assert_int_equal(clock_rfc3339(253402300800000LL, out, sizeof(out)), -1);
	assert_int_equal(clock_rfc3339(INT64_MAX, out, sizeof(out)), -1);
	assert_int_equal(clock_rfc3339(INT64_MIN, out, sizeof(out)), -1);
}

static void test_http_date(void **state)
{
	(void)state;
	char out[CLOCK_HTTP_DATE_LEN];
	int64_t sec = -5;

	assert_int_equal(clock_http_date(784111777, out), 29);
	assert_string_equal(out, "Sun, 06 Nov 1994 08:49:37 GMT");
	assert_int_equal(clock_http_date(0, out), 29);
	assert_string_equal(out, "Thu, 01 Jan 1970 00:00:00 GMT");
	assert_int_equal(clock_http_date(-86400, out), 29);
	assert_string_equal(out, "Wed, 31 Dec 1969 00:00:00 GMT");
	assert_int_equal(clock_http_date(INT64_MAX, out), -1);

	/* the three forms of RFC 9110 §5.6.7 all mean the same instant */
	assert_int_equal(clock_parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", &sec), 0);
	assert_int_equal(sec, 784111777);
	sec = 0;
	assert_int_equal(clock_parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", &sec), 0);
	assert_int_equal(sec, 784111777);
	sec = 0;
	assert_int_equal(clock_parse_http_date("Sun Nov  6 08:49:37 1994", &sec), 0);
	assert_int_equal(sec, 784111777);
	assert_int_equal(clock_parse_http_date("Thu Nov 16 08:49:37 1994", &sec), 0);
	assert_int_equal(sec, 784111777 + 10 * 86400);
	/* RFC 850 two-digit years: "10" is 2010 (not 50+ years ahead), "94" is 1994 */
	assert_int_equal(clock_parse_http_date("Friday, 01-Jan-10 00:00:00 GMT", &sec), 0);
	assert_int_equal(sec, 1262304000);
	/* leap day and a leap second */
	assert_int_equal(clock_parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT", &sec), 0);
	assert_int_equal(sec, 951782400);
	assert_int_equal(clock_parse_http_date("Sat, 31 Dec 2016 23:59:60 GMT", &sec), 0);
	assert_int_equal(sec, 1483228800);
}

static void test_http_date_round_trip(void **state)
{
	(void)state;
	char out[CLOCK_HTTP_DATE_LEN];

	/* every ~7 hours and 13 minutes over two centuries, and each day's edges */
	for (int64_t t = -2208988800LL; t < 4102444800LL; t += 26011) {
		int64_t back = 0;
		assert_int_equal(clock_http_date(t, out), 29);
		assert_int_equal(clock_parse_http_date(out, &back), 0);
		assert_int_equal(back, t);
	}
	for (int64_t d = -800; d < 800; d++) {
		int64_t y;
		unsigned m, day;

		clock_civil_from_days(d * 97, &y, &m, &day);
		assert_int_equal(clock_days_from_civil(y, m, day), d * 97);
	}
}

static void test_garbage(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"garbage",
		"Sun, 06 Nov 1994 08:49:37",          /* no GMT */
		"Sun, 06 Nov 1994 08:49:37 UTC",      /* wrong zone */
		"sun, 06 Nov 1994 08:49:37 GMT",      /* case-sensitive */
		"Sun, 06 nov 1994 08:49:37 GMT",
		"Sun, 6 Nov 1994 08:49:37 GMT",       /* day must be two digits */
		"Sun, 06 Nov 94 08:49:37 GMT",        /* year must be four digits */
		"Sun, 31 Nov 1994 08:49:37 GMT",      /* no 31 November */
		"Sun, 29 Feb 1900 08:49:37 GMT",      /* 1900 is not a leap year */
		"Sun, 00 Nov 1994 08:49:37 GMT",
		"Sun, 06 Nov 1994 24:00:00 GMT",
		"Sun, 06 Nov 1994 08:60:00 GMT",
		"Sun, 06 Nov 1994 08:49:61 GMT",
		" Sun, 06 Nov 1994 08:49:37 GMT",     /* surrounding space */
		"Sun, 06 Nov 1994 08:49:37 GMT ",
		"Sun, 06 Nov 1994 08:49:37 GMTx",
		"Xyz, 06 Nov 1994 08:49:37 GMT",      /* not a weekday */
		"Sun, 06 Nov 1994 8:49:37 GMT",
		"Sun, 06 Nov 1994 08:4a:37 GMT",
		"Sunday, 06-Nov-1994 08:49:37 GMT",   /* RFC 850 has two-digit years */
		"Sun, 06-Nov-94 08:49:37 GMT",        /* RFC 850 has the long weekday */
		"Sun Nov 6 08:49:37 1994",            /* asctime pads the day with a space */
		"Sun Nov  6 08:49:37 94",
		"Sun Nov 06 08:49:37 1994 ",
	};
	int64_t sec = 42;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (clock_parse_http_date(bad[i], &sec) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(sec, 42);
	}
	assert_int_equal(clock_parse_http_date(NULL, &sec), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_now_and_mono),
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_http_date),
		cmocka_unit_test(test_http_date_round_trip),
		cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
