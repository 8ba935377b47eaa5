/* log.h — structured logging: one JSON object a line.
 *
 * Every line has "time" (RFC 3339 UTC, milliseconds), "level", "msg", and, when known,
 * "request_id"; then the caller's fields. Lines are written whole: a thread without a buffer
 * writes each line with write(2) under a process-wide mutex; a thread with a buffer (an event
 * loop: log_thread_buffer_begin) collects whole lines and writes them in batches under the same
 * mutex. Either way a line is never torn or interleaved with another, and one thread's lines
 * appear in the order it logged them. Values are escaped as JSON (the same text jansson would
 * write), so a hostile string (quotes, control bytes, invalid UTF-8) cannot forge a field or a
 * line: invalid UTF-8 is replaced by U+FFFD before it is logged. A field named "time",
 * "level", "request_id" or "msg" is dropped; a key given twice keeps the first place and the
 * last value; a non-finite real is left out.
 *
 * Logging is process-wide state (like syslog): log_setup() once at start-up, before threads.
 * Never log a password, a token or a key.
 */
#ifndef TONEARM_BASE_LOG_H
#define TONEARM_BASE_LOG_H

#include <stdbool.h>
#include <stddef.h>

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

/* ---- per-thread buffered output ----
 *
 * At tens of thousands of lines a second (the access log), one write(2) per line under the
 * shared mutex serialises the event loops. A thread that logs a lot can instead collect its
 * lines in a buffer of its own and write them in batches: one write(2) and one mutex hold per
 * batch. The buffer is flushed
 *   - before a line that does not fit in it (a line bigger than the whole buffer is then
 *     written directly, after what the buffer held, so order is kept);
 *   - right after a line at LOG_WARN or above (errors show promptly);
 *   - when the owner calls log_thread_flush(): an event loop does so on a timer, so lines
 *     reach a pipe or a terminal within LOG_FLUSH_INTERVAL_MS;
 *   - at log_thread_buffer_end(), which a loop calls when it stops (after draining).
 * Lines still in a buffer are lost if the process dies without stopping (SIGKILL, a crash):
 * at most one flush interval's worth. Lines from different threads are in order per thread only.
 */

/* How often an owner should call log_thread_flush() while its buffer holds lines. */
#define LOG_FLUSH_INTERVAL_MS 100
#define LOG_BUFFER_DEFAULT (64u * 1024)

/* Give the calling thread a buffer of `cap` bytes (at least 1 KiB). `on_pending(arg)`, which may
 * be NULL, is called on this thread each time the buffer goes from empty to holding a line, so
 * its owner can arm a timer that calls log_thread_flush(). Returns 0, or -1 if out of memory or
 * the thread already has a buffer (its lines are then written directly, as before). */
int log_thread_buffer_begin(size_t cap, void (*on_pending)(void *arg), void *arg);

/* Write every line in the calling thread's buffer now (nothing if it has none). */
void log_thread_flush(void);

/* True if the calling thread's buffer holds lines not written yet. */
bool log_thread_pending(void);

/* Flush, then free the calling thread's buffer; its later lines are written directly. */
void log_thread_buffer_end(void);

#define log_debug(...) log_msg(LOG_DEBUG, NULL, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, NULL, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, NULL, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, NULL, __VA_ARGS__)

#endif
