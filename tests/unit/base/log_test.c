/* log: lines read back from a pipe and parsed as JSON; hostile values cannot break them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/utf8.h"

static int fds[2];

static int setup(void **state)
{
	(void)state;
	if (pipe2(fds, O_NONBLOCK) != 0)
		return -1;
	fcntl(fds[1], F_SETFL, 0); /* writes block; reads do not */
	fcntl(fds[0], F_SETPIPE_SZ, 1 << 20);
	log_setup(LOG_DEBUG, fds[1]);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	log_setup(LOG_INFO, 2);
	close(fds[0]);
	close(fds[1]);
	return 0;
}

/* Everything written so far, as text. */
static char *drain(size_t *len)
{
	static char data[1 << 20];
	size_t n = 0;
	ssize_t r;

	while (n < sizeof(data) - 1 && (r = read(fds[0], data + n, sizeof(data) - 1 - n)) > 0)
		n += (size_t)r;
	data[n] = '\0';
	*len = n;
	return data;
}

/* The one line written since the last call, parsed. */
static json_t *one_line(void)
{
	size_t len;
	char *text = drain(&len);
	json_error_t je;
	json_t *j;

	assert_true(len > 0);
	assert_int_equal(text[len - 1], '\n');
	assert_ptr_equal(memchr(text, '\n', len), text + len - 1); /* exactly one line */
	assert_true(utf8_valid(text, len));
	j = json_loadb(text, len - 1, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		fail_msg("not JSON (%s): %s", je.text, text);
	return j;
}

static void test_fields(void **state)
{
	(void)state;
	json_t *j;

	log_kv(LOG_WARN, "req-1", "uploaded",
	       LOG_FIELDS(LOG_STR("track", "t1"), LOG_INT("bytes", 12345678901LL), LOG_DBL("secs", 1.5),
			  LOG_BOOL("dup", true), LOG_STR("nothing", NULL)));
	j = one_line();
	assert_string_equal(json_string_value(json_object_get(j, "level")), "warn");
	assert_string_equal(json_string_value(json_object_get(j, "msg")), "uploaded");
	assert_string_equal(json_string_value(json_object_get(j, "request_id")), "req-1");
	assert_string_equal(json_string_value(json_object_get(j, "track")), "t1");
	assert_true(json_integer_value(json_object_get(j, "bytes")) == 12345678901LL);
	assert_true(json_real_value(json_object_get(j, "secs")) == 1.5);
	assert_true(json_is_true(json_object_get(j, "dup")));
	assert_true(json_is_null(json_object_get(j, "nothing")));
	/* time is RFC 3339 UTC with milliseconds */
	const char *t = json_string_value(json_object_get(j, "time"));
	assert_non_null(t);
	assert_int_equal(strlen(t), 24);
	assert_int_equal(t[10], 'T');
	assert_int_equal(t[19], '.');
	assert_int_equal(t[23], 'Z');
	json_decref(j);

	log_msg(LOG_INFO, NULL, "hello %s %d", "world", 42);
	j = one_line();
	assert_string_equal(json_string_value(json_object_get(j, "msg")), "hello world 42");
	assert_null(json_object_get(j, "request_id"));
	json_decref(j);
}

static void test_hostile_values(void **state)
{
	(void)state;
	const char *evil = "x\"}\n{\"level\":\"error\",\"msg\":\"forged\"}\r\n\x01\x7f\\";
	json_t *j;

	log_kv(LOG_INFO, "id\n\"", evil, LOG_FIELDS(LOG_STR("name", "bad\xff\xfe utf8 \xc0\xaf"), LOG_STR("q", evil)));
	j = one_line();
	assert_string_equal(json_string_value(json_object_get(j, "msg")), evil);
	assert_string_equal(json_string_value(json_object_get(j, "q")), evil);
	assert_string_equal(json_string_value(json_object_get(j, "request_id")), "id\n\"");
	assert_string_equal(json_string_value(json_object_get(j, "level")), "info");
	/* invalid UTF-8 is replaced, not dropped and not passed through */
	assert_string_equal(json_string_value(json_object_get(j, "name")),
			    "bad\xef\xbf\xbd\xef\xbf\xbd utf8 \xef\xbf\xbd\xef\xbf\xbd");
	json_decref(j);
	/* a long invalid message (past the stack buffer) */
	char big[3000];
	memset(big, '\xff', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_kv(LOG_INFO, NULL, big, NULL);
	j = one_line();
	assert_int_equal(strlen(json_string_value(json_object_get(j, "msg"))), 3 * (sizeof(big) - 1));
	json_decref(j);
}

static void test_levels(void **state)
{
	(void)state;
	enum log_level l;
	size_t len;

	log_setup(LOG_WARN, fds[1]);
	log_info("dropped");
	log_debug("dropped");
	drain(&len);
	assert_int_equal(len, 0);
	assert_false(log_enabled(LOG_INFO));
	assert_true(log_enabled(LOG_ERROR));
	log_error("kept");
	json_t *j = one_line();
	assert_string_equal(json_string_value(json_object_get(j, "level")), "error");
	json_decref(j);
	log_setup(LOG_DEBUG, fds[1]);

	assert_int_equal(log_level_parse("warn", &l), 0);
	assert_int_equal(l, LOG_WARN);
	assert_int_equal(log_level_parse("WARN", &l), -1);
	assert_int_equal(log_level_parse("verbose", &l), -1);
	assert_string_equal(log_level_name(LOG_DEBUG), "debug");
}

#define THREAD_LINES 2000

static void *spam(void *arg)
{
	char pad[600];

	memset(pad, 'a' + (int)(intptr_t)arg, sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	for (int i = 0; i < THREAD_LINES; i++)
		log_kv(LOG_INFO, NULL, "spam", LOG_FIELDS(LOG_STR("pad", pad), LOG_INT("i", i)));
	return NULL;
}

static void test_threads_do_not_interleave(void **state)
{
	(void)state;
	pthread_t t[4];
	size_t total = 0, lines = 0;
	static char acc[4 * THREAD_LINES * 700];

	for (intptr_t i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, spam, (void *)i), 0);
	/* read while they write, so the pipe never fills */
	for (;;) {
		size_t len;
		char *chunk = drain(&len);
		memcpy(acc + total, chunk, len);
		total += len;
		if (total > 0 && acc[total - 1] == '\n') {
			size_t count = 0;
			for (size_t i = 0; i < total; i++)
				count += acc[i] == '\n';
			if (count == 4 * THREAD_LINES)
				break;
		}
		usleep(1000);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (char *line = acc, *nl; line < acc + total; line = nl + 1) {
		json_error_t je;
		nl = memchr(line, '\n', (size_t)(acc + total - line));
		json_t *j = json_loadb(line, (size_t)(nl - line), 0, &je);
		if (!j)
			fail_msg("line %zu is not JSON: %s", lines, je.text);
		/* a line's pad is one thread's letter only */
		const char *pad = json_string_value(json_object_get(j, "pad"));
		assert_int_equal(strspn(pad, (char[]){ pad[0], 0 }), 599);
		json_decref(j);
		lines++;
	}
	assert_int_equal(lines, 4 * THREAD_LINES);
}

/* ---- the line is what jansson would write ---- */

static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* Random bytes, biased towards what needs care: quotes, backslashes, control bytes, bytes of
 * valid and invalid UTF-8. */
static void rnd_text(char *out, size_t cap)
{
	static const char *const pieces[] = { "\"", "\\", "\n", "\r", "\t", "\b", "\f", "\x01", "\x1f", "\x7f",
					      "/", "a", "Z", " ", "\xc3\xa9", "\xe2\x9c\x93", "\xf0\x9f\x8e\xb5",
					      "\xff", "\xc0\xaf", "\xed\xa0\x80", "\xe2\x80\xa8", "}", "{", ":" };
	size_t n = 0, want = rnd() % 40;

	for (size_t i = 0; i < want; i++) {
		const char *p = pieces[rnd() % (sizeof(pieces) / sizeof(pieces[0]))];
		size_t pl = strlen(p);

		if (n + pl >= cap)
			break;
		memcpy(out + n, p, pl);
		n += pl;
	}
	out[n] = '\0';
}

static double rnd_real(void)
{
	static const double special[] = { 0.0, -0.0, 1.0, -1.0, 0.5, 1e6, 1e-5, 123456.0, 1234567.0, 1e21, 1e-300,
					  1e300, 3.141592653589793, 0.1, 100.0, 2.5e-7, NAN, INFINITY, -INFINITY };
	uint64_t r = rnd();

	if (r % 3 == 0)
		return special[(r >> 8) % (sizeof(special) / sizeof(special[0]))];
	double m = (double)(int64_t)rnd() / 9.2e18;
	return m * pow(10.0, (double)((int)((r >> 8) % 40) - 20));
}

/* The reference: the object the logger used to build, dumped by jansson. */
static char *reference_line(const char *rid, const char *msg, const struct log_field *f)
{
	json_t *o = json_object();
	char *out;

	json_object_set_new(o, "time", json_string("T"));
	json_object_set_new(o, "level", json_string("info"));
	if (rid) {
		char fixed[4096];
		size_t n = utf8_sanitize(fixed, sizeof(fixed), rid, strlen(rid));
		json_object_set_new(o, "request_id", json_stringn(fixed, n));
	}
	{
		char fixed[4096];
		size_t n = utf8_sanitize(fixed, sizeof(fixed), msg, strlen(msg));
		json_object_set_new(o, "msg", json_stringn(fixed, n));
	}
	for (; f->type != LOG_FIELD_END; f++) {
		json_t *v = NULL;
		char fixed[4096];

		if (!strcmp(f->key, "time") || !strcmp(f->key, "level") || !strcmp(f->key, "request_id") ||
		    !strcmp(f->key, "msg"))
			continue; /* the one intended difference: these cannot be overridden */
		switch (f->type) {
		case LOG_FIELD_STR:
			v = f->v.s ? json_stringn(fixed, utf8_sanitize(fixed, sizeof(fixed), f->v.s, strlen(f->v.s)))
				   : json_null();
			break;
		case LOG_FIELD_INT: v = json_integer(f->v.i); break;
		case LOG_FIELD_DBL: v = json_real(f->v.d); break;
		case LOG_FIELD_BOOL: v = json_boolean(f->v.b); break;
		case LOG_FIELD_END: break;
		}
		if (v)
			json_object_set_new(o, f->key, v);
	}
	out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(o);
	return out;
}

static void test_same_text_as_jansson(void **state)
{
	(void)state;
	static const char *const keys[] = { "a", "path", "peer", "proto", "msg", "level", "n", "ratio", "ok", "route" };
	char strs[8][256], rid[256], msg[256];

	for (int round = 0; round < 3000; round++) {
		struct log_field f[9];
		size_t nf = rnd() % 8, len;
		char *ref, *got;

		for (size_t i = 0; i < nf; i++) {
			const char *key = keys[rnd() % (sizeof(keys) / sizeof(keys[0]))];

			switch (rnd() % 5) {
			case 0:
				rnd_text(strs[i], sizeof(strs[i]));
				f[i] = LOG_STR(key, strs[i]);
				break;
			case 1: f[i] = LOG_STR(key, NULL); break;
			case 2: f[i] = LOG_INT(key, (long long)rnd() >> (rnd() % 64)); break;
			case 3: f[i] = LOG_DBL(key, rnd_real()); break;
			default: f[i] = LOG_BOOL(key, rnd() & 1); break;
			}
		}
		f[nf] = LOG_END;
		rnd_text(rid, sizeof(rid));
		rnd_text(msg, sizeof(msg));
		log_kv(LOG_INFO, round % 4 ? rid : NULL, msg, f);
		got = drain(&len);
		ref = reference_line(round % 4 ? rid : NULL, msg, f);
		/* time differs by design: compare what follows it */
		assert_true(len > 35 && got[len - 1] == '\n');
		got[len - 1] = '\0';
		assert_memory_equal(got, "{\"time\":\"", 9);
		assert_int_equal(got[9 + 24], '"');
		if (strcmp(got + 9 + 25, ref + strlen("{\"time\":\"T\"")) != 0)
			fail_msg("round %d differs:\n got %s\n ref %s", round, got, ref);
		free(ref);
	}
}

/* ---- per-thread buffers ---- */

static int pending_calls;

static void count_pending(void *arg)
{
	(void)arg;
	pending_calls++;
}

/* When a buffered thread's lines appear: on flush, at once for warnings, at the end. */
static void test_buffer_flush_points(void **state)
{
	(void)state;
	size_t len;
	char *text;

	pending_calls = 0;
	assert_int_equal(log_thread_buffer_begin(4096, count_pending, NULL), 0);
	assert_int_equal(log_thread_buffer_begin(4096, count_pending, NULL), -1); /* one per thread */
	assert_false(log_thread_pending());
	log_info("one");
	log_info("two");
	drain(&len);
	assert_int_equal(len, 0); /* held */
	assert_true(log_thread_pending());
	assert_int_equal(pending_calls, 1); /* only the empty → non-empty transition */
	log_thread_flush();
	assert_false(log_thread_pending());
	text = drain(&len);
	assert_non_null(strstr(text, "\"one\""));
	assert_true(strstr(text, "\"one\"") < strstr(text, "\"two\""));
	log_thread_flush(); /* nothing to write: nothing written */
	drain(&len);
	assert_int_equal(len, 0);

	/* a warning writes itself and what was buffered before it, in order */
	log_info("three");
	assert_int_equal(pending_calls, 2);
	log_warn("four");
	text = drain(&len);
	assert_non_null(strstr(text, "\"three\""));
	assert_true(strstr(text, "\"three\"") < strstr(text, "\"four\""));
	assert_false(log_thread_pending());

	/* a line bigger than the whole buffer is written directly, after what was buffered */
	char big[6000];
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_info("five");
	log_kv(LOG_INFO, NULL, big, NULL);
	text = drain(&len);
	assert_non_null(strstr(text, "\"five\""));
	assert_true(strstr(text, "\"five\"") < strstr(text, big));
	assert_false(log_thread_pending());

	/* lines that do not fit push the older ones out, whole */
	for (int i = 0; i < 100; i++)
		log_kv(LOG_INFO, NULL, "fill", LOG_FIELDS(LOG_INT("i", i)));
	text = drain(&len);
	assert_true(len > 0 && text[len - 1] == '\n');

	/* the end writes the rest */
	log_thread_buffer_end();
	assert_false(log_thread_pending());
	text = drain(&len);
	assert_non_null(strstr(text, "\"i\":99}"));
	log_info("after"); /* unbuffered again: written at once */
	text = drain(&len);
	assert_non_null(strstr(text, "\"after\""));
}

#define BUF_THREADS 4

/* Each thread: its own small buffer (many flushes, some lines bigger than it), numbered lines. */
static void *buffered_spam(void *arg)
{
	int t = (int)(intptr_t)arg;
	char pad[3000];

	assert_int_equal(log_thread_buffer_begin(2048, NULL, NULL), 0);
	memset(pad, 'a' + t, sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	for (int i = 0; i < THREAD_LINES; i++) {
		/* mostly short lines; every 97th is past the buffer, every 13th a warning */
		size_t plen = i % 97 == 0 ? 2999 : (size_t)(i % 300);
		char saved = pad[plen];

		pad[plen] = '\0';
		log_kv(i % 13 == 0 ? LOG_WARN : LOG_INFO, NULL, "spam",
		       LOG_FIELDS(LOG_INT("t", t), LOG_INT("i", i), LOG_STR("pad", pad)));
		pad[plen] = saved;
		if (i % 500 == 0)
			log_thread_flush();
	}
	log_thread_buffer_end();
	return NULL;
}

/* Lines from buffered threads (and an unbuffered one) are whole, none is lost or doubled, and
 * each thread's lines come out in the order it logged them. */
static void test_buffered_threads(void **state)
{
	(void)state;
	pthread_t t[BUF_THREADS + 1];
	static char acc[(BUF_THREADS + 1) * THREAD_LINES * 800];
	size_t total = 0, lines = 0, want = (size_t)BUF_THREADS * THREAD_LINES + THREAD_LINES;
	int next[BUF_THREADS] = { 0 };

	for (intptr_t i = 0; i < BUF_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, buffered_spam, (void *)i), 0);
	assert_int_equal(pthread_create(&t[BUF_THREADS], NULL, spam, (void *)(intptr_t)20), 0);
	for (;;) {
		size_t len, count = 0;
		char *chunk = drain(&len);

		assert_true(total + len <= sizeof(acc));
		memcpy(acc + total, chunk, len);
		total += len;
		for (size_t i = 0; i < total; i++)
			count += acc[i] == '\n';
		if (count >= want && acc[total - 1] == '\n')
			break;
		usleep(1000); /* read while they write, so the pipe never fills */
	}
	for (int i = 0; i <= BUF_THREADS; i++)
		pthread_join(t[i], NULL);
	{
		size_t len;
		drain(&len);
		assert_int_equal(len, 0); /* nothing more after the count was reached */
	}
	for (char *line = acc, *nl; line < acc + total; line = nl + 1) {
		json_error_t je;
		json_t *j;

		nl = memchr(line, '\n', (size_t)(acc + total - line));
		j = json_loadb(line, (size_t)(nl - line), JSON_REJECT_DUPLICATES, &je);
		if (!j)
			fail_msg("line %zu is not JSON: %s", lines, je.text);
		const char *pad = json_string_value(json_object_get(j, "pad"));
		assert_non_null(pad);
		if (*pad)
			assert_int_equal(strspn(pad, (char[]){ pad[0], 0 }), strlen(pad));
		json_t *tj = json_object_get(j, "t");
		if (tj) {
			int tt = (int)json_integer_value(tj), i = (int)json_integer_value(json_object_get(j, "i"));

			assert_true(tt >= 0 && tt < BUF_THREADS);
			assert_int_equal(i, next[tt]); /* in order, none missing, none twice */
			next[tt]++;
		}
		json_decref(j);
		lines++;
	}
	assert_int_equal(lines, want);
	for (int i = 0; i < BUF_THREADS; i++)
		assert_int_equal(next[i], THREAD_LINES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_hostile_values),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_threads_do_not_interleave),
		cmocka_unit_test(test_same_text_as_jansson),
		cmocka_unit_test(test_buffer_flush_points),
		cmocka_unit_test(test_buffered_threads),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
