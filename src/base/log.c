#include "base/log.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/jsonw.h"

#include "base/utf8.h"

static enum log_level log_min = LOG_INFO;
static int log_fd = 2;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void log_setup(enum log_level min, int fd)
{
	log_min = min;
	log_fd = fd;
}

static const char *const level_names[] = { "debug", "info", "warn", "error" };

const char *log_level_name(enum log_level level)
{
	return (unsigned)level < 4 ? level_names[level] : "info";
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (unsigned i = 0; i < 4; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

bool log_enabled(enum log_level level)
{
	return level >= log_min;
}

/* write(2) all of `n` bytes under the mutex, so that this batch or line is never interleaved
 * with another thread's (a pipe writes more than PIPE_BUF bytes in pieces; a regular file can
 * take a short write on a signal). A failing descriptor drops the rest: logging never blocks
 * the caller on an error and never retries forever. */
static void log_write_locked(const char *p, size_t n)
{
	pthread_mutex_lock(&log_lock);
	for (size_t off = 0; off < n;) {
		ssize_t w = write(log_fd, p + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	pthread_mutex_unlock(&log_lock);
}

/* A thread's batch of whole lines: buf[0..len) always ends at a line boundary. */
struct log_buffer {
	char *buf;
	size_t len, cap;
	void (*on_pending)(void *arg);
	void *arg;
};

static _Thread_local struct log_buffer *log_tbuf;

int log_thread_buffer_begin(size_t cap, void (*on_pending)(void *arg), void *arg)
{
	struct log_buffer *b;

	if (log_tbuf)
		return -1;
	if (cap < 1024)
		cap = 1024;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -1;
	b->buf = malloc(cap);
	if (!b->buf) {
		free(b);
		return -1;
	}
	b->cap = cap;
	b->on_pending = on_pending;
	b->arg = arg;
	log_tbuf = b;
	return 0;
}

void log_thread_flush(void)
{
	struct log_buffer *b = log_tbuf;

	if (!b || b->len == 0)
		return;
	log_write_locked(b->buf, b->len);
	b->len = 0;
}

bool log_thread_pending(void)
{
	return log_tbuf && log_tbuf->len > 0;
}

void log_thread_buffer_end(void)
{
	struct log_buffer *b = log_tbuf;

	if (!b)
		return;
	log_thread_flush();
	log_tbuf = NULL;
	free(b->buf);
	free(b);
}

/* ---- building a line ----
 *
 * A line is written straight as JSON text, without building a jansson object: at the access
 * log's rate, an object per line (a hash table, a string per value, a dump) cost about 3 µs of
 * an event loop's time per request. The text is what json_dumpb() made of the object before,
 * byte for byte (tests/unit/base/log_test.c compares them): the same escapes (", \, and control
 * characters; nothing else), reals as "%.6g" with ".0" added when that reads as an integer and
 * the exponent without "+" or leading zeros, a non-finite real left out (jansson has no value
 * for it), a field repeating an earlier key replacing its value in the first one's place. A
 * field may not use "time", "level", "request_id" or "msg": it is dropped, so no caller can
 * forge those.
 */

/* Writes into buf[0..cap) while it fits and counts what the whole line needs, like snprintf:
 * when need > cap at the end, nothing usable was written and the caller retries with more. */
struct line {
	char *buf;
	size_t cap, need;
};

static void put(struct line *l, const char *s, size_t n)
{
	if (l->need + n <= l->cap)
		memcpy(l->buf + l->need, s, n);
	l->need += n;
}

#define PUT_LIT(l, lit) put((l), (lit), sizeof(lit) - 1)

/* A JSON string of `len` bytes of valid UTF-8. */
static void put_escaped(struct line *l, const char *s, size_t len)
{
	size_t run = 0;

	put(l, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		char esc[6];
		size_t elen = jsonw_escape((unsigned char)s[i], esc);

		if (!elen)
			continue;
		put(l, s + run, i - run);
		run = i + 1;
		put(l, esc, elen);
	}
	put(l, s + run, len - run);
	put(l, "\"", 1);
}

/* A JSON string from arbitrary bytes: invalid UTF-8 becomes U+FFFD; NULL is null. */
static void put_string(struct line *l, const char *s)
{
	char stack[512];
	char *fixed;
	size_t len, need;

	if (!s) {
		PUT_LIT(l, "null");
		return;
	}
	len = strlen(s);
	if (utf8_valid(s, len)) {
		put_escaped(l, s, len);
		return;
	}
	need = utf8_sanitize(NULL, 0, s, len);
	fixed = need < sizeof(stack) ? stack : malloc(need + 1);
	if (!fixed) {
		put_escaped(l, "(unloggable)", 12);
		return;
	}
	utf8_sanitize(fixed, need + 1, s, len);
	put_escaped(l, fixed, need);
	if (fixed != stack)
		free(fixed);
}

/* A finite double as jansson writes it with JSON_REAL_PRECISION(6). */
static void put_real(struct line *l, double d)
{
	char b[JSONW_REAL_MAX];
	size_t n = jsonw_real_text(d, 6, b);

	if (n)
		put(l, b, n);
}

static bool field_settable(const struct log_field *f)
{
	if (!f->key || f->type == LOG_FIELD_END)
		return false;
	if (f->type == LOG_FIELD_DBL && !isfinite(f->v.d))
		return false;
	switch (f->key[0]) { /* the first byte first: this runs for every field of every line */
	case 't': return strcmp(f->key, "time") != 0;
	case 'l': return strcmp(f->key, "level") != 0;
	case 'r': return strcmp(f->key, "request_id") != 0;
	case 'm': return strcmp(f->key, "msg") != 0;
	default: return true;
	}
}

static bool same_key(const struct log_field *a, const struct log_field *b)
{
	return a->key == b->key || (a->key[0] == b->key[0] && strcmp(a->key, b->key) == 0);
}

static void put_value(struct line *l, const struct log_field *f)
{
	char b[24];
	int n;

	switch (f->type) {
	case LOG_FIELD_STR: put_string(l, f->v.s); break;
	case LOG_FIELD_INT:
		n = snprintf(b, sizeof(b), "%lld", f->v.i);
		put(l, b, n > 0 ? (size_t)n : 0);
		break;
	case LOG_FIELD_DBL: put_real(l, f->v.d); break;
	case LOG_FIELD_BOOL:
		if (f->v.b)
			PUT_LIT(l, "true");
		else
			PUT_LIT(l, "false");
		break;
	case LOG_FIELD_END: break;
	}
}

/* "YYYY-MM-DDTHH:MM:SS" of the current second, formatted once a second per thread. */
static _Thread_local time_t log_sec = -1;
static _Thread_local char log_sec_text[64]; /* room for any int year: -Wformat-truncation */

static void put_line(struct line *l, const struct timespec *ts, enum log_level level, const char *request_id,
		     const char *msg, const struct log_field *fields)
{
	char ms[8];

	if (ts->tv_sec != log_sec) {
		struct tm tm;

		gmtime_r(&ts->tv_sec, &tm);
		snprintf(log_sec_text, sizeof(log_sec_text), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		log_sec = ts->tv_sec;
	}
	snprintf(ms, sizeof(ms), ".%03ldZ", ts->tv_nsec / 1000000 % 1000);
	PUT_LIT(l, "{\"time\":\"");
	put(l, log_sec_text, strlen(log_sec_text));
	put(l, ms, strlen(ms));
	PUT_LIT(l, "\",\"level\":\"");
	put(l, log_level_name(level), strlen(log_level_name(level)));
	PUT_LIT(l, "\"");
	if (request_id) {
		PUT_LIT(l, ",\"request_id\":");
		put_string(l, request_id);
	}
	PUT_LIT(l, ",\"msg\":");
	put_string(l, msg);
	for (size_t i = 0; fields && fields[i].type != LOG_FIELD_END; i++) {
		size_t last = i;
		bool seen = false;

		if (!field_settable(&fields[i]))
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = field_settable(&fields[j]) && same_key(&fields[j], &fields[i]);
		if (seen)
			continue; /* written in the first one's place */
		for (size_t j = i + 1; fields[j].type != LOG_FIELD_END; j++)
			if (field_settable(&fields[j]) && same_key(&fields[j], &fields[i]))
				last = j;
		PUT_LIT(l, ",");
		put_string(l, fields[i].key);
		PUT_LIT(l, ":");
		put_value(l, &fields[last]);
	}
	PUT_LIT(l, "}\n");
}

void log_kv(enum log_level level, const char *request_id, const char *msg, const struct log_field *fields)
{
	struct log_buffer *b = log_tbuf;
	struct timespec ts;
	char stack[4096];
	struct line l;

	if (!log_enabled(level))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (b) {
		/* Straight into the thread's buffer; if it does not fit, flush and try the whole buffer. */
		bool was_empty = b->len == 0;

		l = (struct line){ b->buf + b->len, b->cap - b->len, 0 };
		put_line(&l, &ts, level, request_id, msg, fields);
		if (l.need > l.cap && l.need <= b->cap) {
			log_thread_flush();
			was_empty = true;
			l = (struct line){ b->buf, b->cap, 0 };
			put_line(&l, &ts, level, request_id, msg, fields);
		}
		if (l.need <= l.cap) {
			b->len += l.need;
			if (level >= LOG_WARN)
				log_thread_flush();
			else if (was_empty && b->on_pending)
				b->on_pending(b->arg);
			return;
		}
		/* Bigger than the whole buffer: written directly, after what the buffer held. */
		log_thread_flush();
	}
	l = (struct line){ stack, sizeof(stack), 0 };
	put_line(&l, &ts, level, request_id, msg, fields);
	if (l.need > l.cap) {
		size_t need = l.need;
		char *heap = malloc(need);

		if (!heap)
			return;
		l = (struct line){ heap, need, 0 };
		put_line(&l, &ts, level, request_id, msg, fields);
		log_write_locked(heap, l.need);
		free(heap);
		return;
	}
	log_write_locked(stack, l.need);
}

void log_msg(enum log_level level, const char *request_id, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);
	log_kv(level, request_id, msg, NULL);
}
