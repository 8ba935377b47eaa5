/* clock.h — wall-clock and monotonic time, and the two date formats tonearm writes and reads.
 *
 * Named clock.h rather than time.h so it never shadows <time.h>. Times are plain integers:
 * milliseconds or seconds since the Unix epoch (UTC), or monotonic nanoseconds. Nothing here
 * touches the process's time zone or locale, so the formats are the same on every machine.
 */
#ifndef TONEARM_BASE_CLOCK_H
#define TONEARM_BASE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Room for clock_rfc3339()'s output ("2024-01-02T03:04:05.678Z" and its NUL). */
#define CLOCK_RFC3339_LEN 25
/* Room for clock_http_date()'s output ("Sun, 06 Nov 1994 08:49:37 GMT" is 29 characters). */
#define CLOCK_HTTP_DATE_LEN 32

/* Milliseconds since the epoch from the real-time clock (may jump when the clock is set). */
int64_t clock_now_ms(void);

/* Nanoseconds from the monotonic clock: only differences mean anything. Use it to measure
 * durations and timeouts, never clock_now_ms(). */
int64_t clock_mono_ns(void);

/* Write `ms` (milliseconds since the epoch, may be negative) as RFC 3339 in UTC with
 * milliseconds and 'Z': "2024-01-02T03:04:05.678Z", NUL-terminated. Returns the length written
 * (24), or -1 (out untouched) when `cap` is smaller than CLOCK_RFC3339_LEN or the year falls
 * outside 0000–9999. */
int clock_rfc3339(int64_t ms, char *out, size_t cap);

/* Write `sec` as an HTTP date in IMF-fixdate form (RFC 9110 §5.6.7),
 * "Sun, 06 Nov 1994 08:49:37 GMT", NUL-terminated. Returns the length (29), or -1 when the
 * year falls outside 0000–9999. */
int clock_http_date(int64_t sec, char out[CLOCK_HTTP_DATE_LEN]);

/* Parse an HTTP date in any of the three forms RFC 9110 §5.6.7 makes recipients accept:
 * IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), the obsolete RFC 850 form
 * ("Sunday, 06-Nov-94 08:49:37 GMT"; a two-digit year more than 50 years in the future means
 * the century before) and asctime ("Sun Nov  6 08:49:37 1994"). The whole string must be the
 * date (no surrounding space); names are case-sensitive as the RFC says; the weekday must be a
 * weekday name but is not checked against the date. Returns 0 and sets *sec, or -1 on anything
 * else (*sec untouched). */
int clock_parse_http_date(const char *s, int64_t *sec);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1–12), and back. Exposed for the
 * formats above and for anything that rolls counts up by day. */
int64_t clock_days_from_civil(int64_t year, unsigned month, unsigned day);
void clock_civil_from_days(int64_t days, int64_t *year, unsigned *month, unsigned *day);

#endif
