#include "base/log.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/* A JSON string from arbitrary bytes: invalid UTF-8 becomes U+FFFD, never an error. */
static json_t *log_string(const char *s)
{
	char stack[512];
	char *fixed;
	json_t *j;
	size_t len, need;

	if (!s)
		return json_null();
	len = strlen(s);
	if (utf8_valid(s, len))
		return json_stringn_nocheck(s, len);
	need = utf8_sanitize(NULL, 0, s, len);
	fixed = need < sizeof(stack) ? stack : malloc(need + 1);
	if (!fixed)
		return json_string("(unloggable)");
	utf8_sanitize(fixed, need + 1, s, len);
	j = json_stringn_nocheck(fixed, need);
	if (fixed != stack)
		free(fixed);
	return j;
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

#define LOG_DUMP_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6))

/* Serialise `line` straight into the thread's buffer. Returns false if it cannot take the line
 * even when empty (the caller then writes it directly, after flushing). */
static bool log_buffered(struct log_buffer *b, json_t *line, enum log_level level)
{
	size_t n, room = b->cap - b->len;

	/* json_dumpb returns the size it needs even when that does not fit; the newline needs one
	 * more byte. What it wrote past a failed fit is ignored: len has not moved. */
	n = json_dumpb(line, b->buf + b->len, room, LOG_DUMP_FLAGS);
	if (n == 0)
		return true; /* cannot be serialised: dropped, as unbuffered */
	if (n + 1 > room) {
		if (n + 1 > b->cap)
			return false;
		log_thread_flush();
		n = json_dumpb(line, b->buf, b->cap, LOG_DUMP_FLAGS);
		if (n == 0 || n + 1 > b->cap)
			return false;
	}
	bool was_empty = b->len == 0;

	b->buf[b->len + n] = '\n';
	b->len += n + 1;
	if (level >= LOG_WARN)
		log_thread_flush();
	else if (was_empty && b->on_pending)
		b->on_pending(b->arg);
	return true;
}

static void log_emit(json_t *line, enum log_level level)
{
	char stack[4096];
	char *heap = NULL, *out = stack;
	size_t n;

	if (log_tbuf) {
		if (log_buffered(log_tbuf, line, level))
			return;
		log_thread_flush(); /* keep this thread's order: what it buffered goes first */
	}
	n = json_dumpb(line, stack, sizeof(stack) - 1, LOG_DUMP_FLAGS);
	if (n == 0)
		return;
	if (n >= sizeof(stack) - 1) {
		heap = malloc(n + 1);
		if (!heap)
			return;
		n = json_dumpb(line, heap, n, LOG_DUMP_FLAGS);
		out = heap;
	}
	out[n++] = '\n';
	log_write_locked(out, n);
	free(heap);
}

static json_t *log_start(enum log_level level, const char *request_id)
{
	struct timespec ts;
	struct tm tm;
	char when[64];
	json_t *line = json_object();

	if (!line)
		return NULL;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	json_object_set_new(line, "time", json_string(when));
	json_object_set_new(line, "level", json_string(log_level_name(level)));
	if (request_id)
		json_object_set_new(line, "request_id", log_string(request_id));
	return line;
}

void log_kv(enum log_level level, const char *request_id, const char *msg, const struct log_field *fields)
{
	json_t *line;

	if (!log_enabled(level))
		return;
	line = log_start(level, request_id);
	if (!line)
		return;
	json_object_set_new(line, "msg", log_string(msg));
	for (const struct log_field *f = fields; f && f->type != LOG_FIELD_END; f++) {
		json_t *v = NULL;

		switch (f->type) {
		case LOG_FIELD_STR: v = log_string(f->v.s); break;
		case LOG_FIELD_INT: v = json_integer(f->v.i); break;
		case LOG_FIELD_DBL: v = json_real(f->v.d); break;
		case LOG_FIELD_BOOL: v = json_boolean(f->v.b); break;
		case LOG_FIELD_END: break;
		}
		if (v && f->key)
			json_object_set_new(line, f->key, v);
		else
			json_decref(v);
	}
	log_emit(line, level);
	json_decref(line);
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
