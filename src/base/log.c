#include "base/log.h"

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

static void log_emit(json_t *line)
{
	char stack[4096];
	char *heap = NULL, *out = stack;
	size_t n;

	n = json_dumpb(line, stack, sizeof(stack) - 1, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	if (n == 0)
		return;
	if (n >= sizeof(stack) - 1) {
		heap = malloc(n + 1);
		if (!heap)
			return;
		n = json_dumpb(line, heap, n, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
		out = heap;
	}
	out[n++] = '\n';
	pthread_mutex_lock(&log_lock);
	for (size_t off = 0; off < n;) {
		ssize_t w = write(log_fd, out + off, n - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	pthread_mutex_unlock(&log_lock);
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
	log_emit(line);
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
