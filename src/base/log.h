/* log.h — structured logging: one JSON object a line.
 *
 * Every line has "time" (RFC 3339 UTC, milliseconds), "level", "msg", and, when known,
 * "request_id"; then the caller's fields. Lines are written whole with one write(2) under a
 * mutex, so lines from different threads never interleave. Values are escaped by jansson, so
 * a hostile string (quotes, control bytes, invalid UTF-8) cannot forge a field or a line:
 * invalid UTF-8 is replaced by U+FFFD before it is logged.
 *
 * Logging is process-wide state (like syslog): log_setup() once at start-up, before threads.
 * Never log a password, a token or a key.
 */
#ifndef TONEARM_BASE_LOG_H
#define TONEARM_BASE_LOG_H

#include <stdbool.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

enum log_field_type { LOG_FIELD_END = 0, LOG_FIELD_STR, LOG_FIELD_INT, LOG_FIELD_DBL, LOG_FIELD_BOOL };

struct log_field {
	const char *key;
	enum log_field_type type;
	union {
		const char *s; /* NULL is logged as null */
		long long i;
		double d;
		bool b;
	} v;
};

#define LOG_STR(k, val) ((struct log_field){ .key = (k), .type = LOG_FIELD_STR, .v.s = (val) })
#define LOG_INT(k, val) ((struct log_field){ .key = (k), .type = LOG_FIELD_INT, .v.i = (long long)(val) })
#define LOG_DBL(k, val) ((struct log_field){ .key = (k), .type = LOG_FIELD_DBL, .v.d = (double)(val) })
#define LOG_BOOL(k, val) ((struct log_field){ .key = (k), .type = LOG_FIELD_BOOL, .v.b = (val) })
#define LOG_END ((struct log_field){ .key = NULL, .type = LOG_FIELD_END })
/* LOG_FIELDS(LOG_STR("a", x), LOG_INT("n", 3)) — a field array ending with LOG_END. */
#define LOG_FIELDS(...) ((const struct log_field[]){ __VA_ARGS__, LOG_END })

/* Send lines at or above `min` to file descriptor `fd` (2 = stderr by default). */
void log_setup(enum log_level min, int fd);

/* Parse "debug" | "info" | "warn" | "error". 0 on success, -1 if unknown. */
int log_level_parse(const char *s, enum log_level *out);
const char *log_level_name(enum log_level level);

bool log_enabled(enum log_level level);

/* A line with a printf-formatted message and no fields. `request_id` may be NULL. */
void log_msg(enum log_level level, const char *request_id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A line with a fixed message and fields (an array ending with LOG_END; NULL for none). */
void log_kv(enum log_level level, const char *request_id, const char *msg, const struct log_field *fields);

#define log_debug(...) log_msg(LOG_DEBUG, NULL, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, NULL, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, NULL, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, NULL, __VA_ARGS__)

#endif
