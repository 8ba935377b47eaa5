#include "base/clock.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const wday_short[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const wday_long[7] = { "Sunday",   "Monday", "Tuesday", "Wednesday",
					  "Thursday", "Friday", "Saturday" };
static const char *const month_names[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

int64_t clock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Howard Hinnant's days_from_civil / civil_from_days: exact for the proleptic Gregorian
 * calendar, no tables, no time zone, no libc state. */
int64_t clock_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void clock_civil_from_days(int64_t z, int64_t *year, unsigned *month, unsigned *day)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;

	*year = (int64_t)yoe + era * 400 + (m <= 2);
	*month = m;
	*day = d;
}

struct civil {
	int64_t year;
	unsigned month, day, hour, min, sec, wday;
};

/* Floor division, so times before 1970 land on the right day. */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Split seconds since the epoch; false when the year cannot be written in four digits. */
static bool civil_from_seconds(int64_t sec, struct civil *c)
{
	/* Outside ±2^40 s the year is far past 9999 anyway; this also keeps the arithmetic safe. */
	if (sec > ((int64_t)1 << 40) || sec < -((int64_t)1 << 40))
		return false;
	int64_t days = floor_div(sec, 86400);
	int64_t rem = sec - days * 86400;

	clock_civil_from_days(days, &c->year, &c->month, &c->day);
	if (c->year < 0 || c->year > 9999)
		return false;
	c->hour = (unsigned)(rem / 3600);
	c->min = (unsigned)(rem / 60 % 60);
	c->sec = (unsigned)(rem % 60);
	/* 1970-01-01 was a Thursday (4). */
	c->wday = (unsigned)(((days % 7) + 11) % 7);
	return true;
}

int clock_rfc3339(int64_t ms, char *out, size_t cap)
{
	struct civil c;
	int64_t sec = floor_div(ms, 1000);

	if (!out || cap < CLOCK_RFC3339_LEN || !civil_from_seconds(sec, &c))
		return -1;
	int frac = (int)(ms - sec * 1000); /* safe: civil_from_seconds bounded sec */
	/* By hand rather than with snprintf: a page of the catalogue formats two of these per row,
	 * and snprintf was a tenth of the page's JSON time. civil_from_seconds bounded the year to
	 * 0000–9999, so four digits always suffice. */
	static const char d[] = "0123456789";
	unsigned y = (unsigned)c.year;
	char *p = out;

	*p++ = d[y / 1000]; *p++ = d[y / 100 % 10]; *p++ = d[y / 10 % 10]; *p++ = d[y % 10];
	*p++ = '-'; *p++ = d[c.month / 10]; *p++ = d[c.month % 10];
	*p++ = '-'; *p++ = d[c.day / 10]; *p++ = d[c.day % 10];
	*p++ = 'T'; *p++ = d[c.hour / 10]; *p++ = d[c.hour % 10];
	*p++ = ':'; *p++ = d[c.min / 10]; *p++ = d[c.min % 10];
	*p++ = ':'; *p++ = d[c.sec / 10]; *p++ = d[c.sec % 10];
	*p++ = '.'; *p++ = d[frac / 100]; *p++ = d[frac / 10 % 10]; *p++ = d[frac % 10];
	*p++ = 'Z';
	*p = '\0';
	return (int)(p - out);
}

int clock_http_date(int64_t sec, char out[CLOCK_HTTP_DATE_LEN])
{
	struct civil c;

	if (!out || !civil_from_seconds(sec, &c))
		return -1;
	return snprintf(out, CLOCK_HTTP_DATE_LEN, "%s, %02u %s %04d %02u:%02u:%02u GMT", wday_short[c.wday],
			c.day, month_names[c.month - 1], (int)c.year, c.hour, c.min, c.sec);
}

/* ---- parsing: a tiny cursor over the string, each step either matches or fails ---- */

static bool take_lit(const char **p, const char *lit)
{
	size_t n = strlen(lit);

	if (strncmp(*p, lit, n) != 0)
		return false;
	*p += n;
	return true;
}

/* Exactly `n` digits. */
static bool take_digits(const char **p, unsigned n, unsigned *out)
{
	unsigned v = 0;

	for (unsigned i = 0; i < n; i++) {
		char ch = (*p)[i];
		if (ch < '0' || ch > '9')
			return false;
		v = v * 10 + (unsigned)(ch - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool take_name(const char **p, const char *const *names, unsigned count, unsigned *idx)
{
	for (unsigned i = 0; i < count; i++) {
		if (take_lit(p, names[i])) {
			*idx = i;
			return true;
		}
	}
	return false;
}

/* "08:49:37" */
static bool take_time(const char **p, struct civil *c)
{
	return take_digits(p, 2, &c->hour) && take_lit(p, ":") && take_digits(p, 2, &c->min) &&
	       take_lit(p, ":") && take_digits(p, 2, &c->sec);
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static bool civil_to_seconds(const struct civil *c, int64_t *sec)
{
	static const unsigned mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (c->month < 1 || c->month > 12 || c->day < 1)
		return false;
	if (c->day > mdays[c->month - 1] + (c->month == 2 && is_leap(c->year)))
		return false;
	/* 60 is a leap second: it reads as the first second of the next minute. */
	if (c->hour > 23 || c->min > 59 || c->sec > 60)
		return false;
	*sec = clock_days_from_civil(c->year, c->month, c->day) * 86400 + c->hour * 3600 +
	       c->min * 60 + c->sec;
	return true;
}

/* "Sun, 06 Nov 1994 08:49:37 GMT" */
static bool parse_imf(const char *p, struct civil *c)
{
	unsigned y;

	if (!take_name(&p, wday_short, 7, &c->wday) || !take_lit(&p, ", ") ||
	    !take_digits(&p, 2, &c->day) || !take_lit(&p, " ") || !take_name(&p, month_names, 12, &c->month) ||
	    !take_lit(&p, " ") || !take_digits(&p, 4, &y) || !take_lit(&p, " ") || !take_time(&p, c) ||
	    !take_lit(&p, " GMT") || *p)
		return false;
	c->month++;
	c->year = y;
	return true;
}

/* "Sunday, 06-Nov-94 08:49:37 GMT" */
static bool parse_rfc850(const char *p, struct civil *c, int64_t now_year)
{
	unsigned yy;

	if (!take_name(&p, wday_long, 7, &c->wday) || !take_lit(&p, ", ") ||
	    !take_digits(&p, 2, &c->day) || !take_lit(&p, "-") ||
	    !take_name(&p, month_names, 12, &c->month) || !take_lit(&p, "-") || !take_digits(&p, 2, &yy) ||
	    !take_lit(&p, " ") || !take_time(&p, c) || !take_lit(&p, " GMT") || *p)
		return false;
	c->month++;
	/* RFC 9110: a two-digit year that looks more than 50 years ahead is in the past century. */
	int64_t century = now_year - now_year % 100;
	c->year = century + yy;
	if (c->year > now_year + 50)
		c->year -= 100;
	return true;
}

/* "Sun Nov  6 08:49:37 1994" (the day is space-padded) */
static bool parse_asctime(const char *p, struct civil *c)
{
	unsigned y;

	if (!take_name(&p, wday_short, 7, &c->wday) || !take_lit(&p, " ") ||
	    !take_name(&p, month_names, 12, &c->month) || !take_lit(&p, " "))
		return false;
	if (*p == ' ') {
		p++;
		if (!take_digits(&p, 1, &c->day))
			return false;
	} else if (!take_digits(&p, 2, &c->day)) {
		return false;
	}
	if (!take_lit(&p, " ") || !take_time(&p, c) || !take_lit(&p, " ") || !take_digits(&p, 4, &y) || *p)
		return false;
	c->month++;
	c->year = y;
	return true;
}

int clock_parse_http_date(const char *s, int64_t *sec)
{
	struct civil c = { 0 };
	struct civil now;

	if (!s || !sec)
		return -1;
	if (!parse_imf(s, &c)) {
		memset(&c, 0, sizeof(c));
		if (!civil_from_seconds(clock_now_ms() / 1000, &now))
			now.year = 2000;
		if (!parse_rfc850(s, &c, now.year)) {
			memset(&c, 0, sizeof(c));
			if (!parse_asctime(s, &c))
				return -1;
		}
	}
	return civil_to_seconds(&c, sec) ? 0 : -1;
}
