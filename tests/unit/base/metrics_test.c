/* metrics: the exact text rendered, argument checks, concurrency, and promtool's verdict. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/metrics.h"

static char *render(struct metrics *reg)
{
	struct buf out = BUF_INIT;

	assert_int_equal(metrics_render(reg, &out), 0);
	return buf_detach(&out, NULL);
}

static void test_render_exact(void **state)
{
	(void)state;
	struct metrics *reg = metrics_new();
	static const char *const route_labels[] = { "route", "status", NULL };
	static const double bounds[] = { 0.1, 0.5, 1 };
	struct metric_family *req, *up, *lat;
	struct metric *a, *b, *h;
	char *text;

	assert_non_null(reg);
	req = metrics_family(reg, METRIC_COUNTER, "http_requests_total", "Requests answered.", route_labels,
			     NULL, 0);
	up = metrics_family(reg, METRIC_GAUGE, "up", "Help with \\ and\nnewline.", NULL, NULL, 0);
	lat = metrics_family(reg, METRIC_HISTOGRAM, "latency_seconds", "Latency.", NULL, bounds, 3);
	assert_non_null(req);
	assert_non_null(up);
	assert_non_null(lat);

	a = metric_child(req, (const char *const[]){ "/tracks/{id}", "200" });
	b = metric_child(req, (const char *const[]){ "we\"ird\\\nroute", "404" });
	assert_non_null(a);
	assert_non_null(b);
	/* the same labels find the same series */
	assert_ptr_equal(metric_child(req, (const char *const[]){ "/tracks/{id}", "200" }), a);
	metric_inc(a, 1);
	metric_inc(a, 2);
	metric_inc(b, 1);
	metric_inc(b, -5);   /* counters never go down */
	metric_inc(b, NAN);  /* nor turn into NaN */
	metric_set(a, 100);  /* set is for gauges */
	metric_set(metric_child(up, NULL), 1);
	metric_inc(metric_child(up, NULL), 0.5);
	h = metric_child(lat, NULL);
	metric_observe(h, 0.05);
	metric_observe(h, 0.1);  /* a bound is inclusive */
	metric_observe(h, 0.7);
	metric_observe(h, 3);
	metric_observe(metric_child(up, NULL), 9); /* observe is for histograms */

	text = render(reg);
	assert_string_equal(text,
			    "# HELP http_requests_total Requests answered.\n"
			    "# TYPE http_requests_total counter\n"
			    "http_requests_total{route=\"/tracks/{id}\",status=\"200\"} 3\n"
			    "http_requests_total{route=\"we\\\"ird\\\\\\nroute\",status=\"404\"} 1\n"
			    "# HELP up Help with \\\\ and\\nnewline.\n"
			    "# TYPE up gauge\n"
			    "up 1.5\n"
			    "# HELP latency_seconds Latency.\n"
			    "# TYPE latency_seconds histogram\n"
			    "latency_seconds_bucket{le=\"0.1\"} 2\n"
			    "latency_seconds_bucket{le=\"0.5\"} 2\n"
			    "latency_seconds_bucket{le=\"1\"} 3\n"
			    "latency_seconds_bucket{le=\"+Inf\"} 4\n"
			    "latency_seconds_sum 3.85\n"
			    "latency_seconds_count 4\n");
	free(text);
	metrics_free(reg);
}

static void test_numbers_and_labels(void **state)
{
	(void)state;
	struct metrics *reg = metrics_new();
	static const char *const l[] = { "k", NULL };
	static const char *const hl[] = { "method", NULL };
	struct metric_family *g = metrics_family(reg, METRIC_GAUGE, "g", "", l, NULL, 0);
	struct metric_family *h = metrics_family(reg, METRIC_HISTOGRAM, "h_seconds", "h", hl, NULL, 0);
	char *text;

	metric_set(metric_child(g, (const char *const[]){ "a" }), 0.1);
	metric_set(metric_child(g, (const char *const[]){ "b" }), 1e21);
	metric_set(metric_child(g, (const char *const[]){ "c" }), -INFINITY);
	metric_set(metric_child(g, (const char *const[]){ "d" }), NAN);
	metric_set(metric_child(g, (const char *const[]){ "e" }), 1.0 / 3);
	/* invalid UTF-8 in a value is stored (and found again) as U+FFFD */
	metric_set(metric_child(g, (const char *const[]){ "\xff" }), 2);
	assert_ptr_equal(metric_child(g, (const char *const[]){ "\xff" }),
			 metric_child(g, (const char *const[]){ "\xef\xbf\xbd" }));
	metric_observe(metric_child(h, (const char *const[]){ "GET" }), 0.0003);
	text = render(reg);
	assert_non_null(strstr(text, "g{k=\"a\"} 0.1\n"));
	assert_non_null(strstr(text, "g{k=\"b\"} 1e+21\n"));
	assert_non_null(strstr(text, "g{k=\"c\"} -Inf\n"));
	assert_non_null(strstr(text, "g{k=\"d\"} NaN\n"));
	assert_non_null(strstr(text, "g{k=\"e\"} 0.33333333333333331\n"));
	assert_non_null(strstr(text, "g{k=\"\xef\xbf\xbd\"} 2\n"));
	/* default buckets, from 0.0005 to 10, with the labels before le */
	assert_non_null(strstr(text, "h_seconds_bucket{method=\"GET\",le=\"0.0005\"} 1\n"));
	assert_non_null(strstr(text, "h_seconds_bucket{method=\"GET\",le=\"10\"} 1\n"));
	assert_non_null(strstr(text, "h_seconds_bucket{method=\"GET\",le=\"+Inf\"} 1\n"));
	assert_non_null(strstr(text, "h_seconds_sum{method=\"GET\"} 0.0003\n"));
	assert_non_null(strstr(text, "h_seconds_count{method=\"GET\"} 1\n"));
	free(text);
	metrics_free(reg);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	struct metrics *reg = metrics_new();
	static const char *const le[] = { "le", NULL };
	static const char *const dup[] = { "a", "a", NULL };
	static const char *const reserved[] = { "__a", NULL };
	static const char *const ab[] = { "a", "b", NULL };
	static const double down[] = { 1, 0.5 };
	static const double withinf[] = { 1, INFINITY };

	assert_null(metrics_family(reg, METRIC_COUNTER, "requests", "no _total", NULL, NULL, 0));
	assert_null(metrics_family(reg, METRIC_GAUGE, "9lives", "", NULL, NULL, 0));
	assert_null(metrics_family(reg, METRIC_GAUGE, "has-dash", "", NULL, NULL, 0));
	assert_null(metrics_family(reg, METRIC_GAUGE, "", "", NULL, NULL, 0));
	assert_null(metrics_family(reg, METRIC_HISTOGRAM, "h", "", le, NULL, 0));
	assert_null(metrics_family(reg, METRIC_GAUGE, "g", "", dup, NULL, 0));
	assert_null(metrics_family(reg, METRIC_GAUGE, "g", "", reserved, NULL, 0));
	assert_null(metrics_family(reg, METRIC_HISTOGRAM, "h", "", NULL, down, 2));
	assert_null(metrics_family(reg, METRIC_GAUGE, "g", "", NULL, down, 1)); /* buckets on a gauge */
	assert_null(metrics_family(NULL, METRIC_GAUGE, "g", "", NULL, NULL, 0));

	/* registering again: same shape finds it, another shape is refused */
	struct metric_family *g = metrics_family(reg, METRIC_GAUGE, "ns:g", "", ab, NULL, 0);
	assert_non_null(g);
	assert_ptr_equal(metrics_family(reg, METRIC_GAUGE, "ns:g", "other help", ab, NULL, 0), g);
	assert_null(metrics_family(reg, METRIC_GAUGE, "ns:g", "", NULL, NULL, 0));
	assert_null(metrics_family(reg, METRIC_HISTOGRAM, "ns:g", "", ab, NULL, 0));
	/* a histogram's series names are taken, both ways round */
	assert_non_null(metrics_family(reg, METRIC_HISTOGRAM, "x", "", NULL, withinf, 2));
	assert_null(metrics_family(reg, METRIC_GAUGE, "x_count", "", NULL, NULL, 0));
	assert_non_null(metrics_family(reg, METRIC_GAUGE, "y_sum", "", NULL, NULL, 0));
	assert_null(metrics_family(reg, METRIC_HISTOGRAM, "y", "", NULL, NULL, 0));
	/* a labelled child needs its values */
	assert_null(metric_child(g, NULL));
	assert_null(metric_child(g, (const char *const[]){ "x", NULL }));
	assert_null(metric_child(NULL, NULL));
	/* updates on NULL are harmless (a failed lookup must not crash a request) */
	metric_inc(NULL, 1);
	metric_set(NULL, 1);
	metric_observe(NULL, 1);

	/* +Inf spelled out is the implied bucket, not a second one */
	char *text = render(reg);
	assert_non_null(strstr(text, "x_bucket{le=\"1\"} 0\nx_bucket{le=\"+Inf\"} 0\nx_sum 0\nx_count 0\n"));
	/* a labelled family nobody used renders nothing */
	assert_null(strstr(text, "ns:g"));
	free(text);
	metrics_free(reg);
}

static void test_render_cap(void **state)
{
	(void)state;
	struct metrics *reg = metrics_new();
	struct buf out;

	metric_set(metric_child(metrics_family(reg, METRIC_GAUGE, "a_long_gauge_name", "help", NULL, NULL, 0), NULL), 1);
	buf_init(&out, 20);
	assert_int_equal(buf_adds(&out, "keep"), 0);
	assert_int_equal(metrics_render(reg, &out), -1);
	/* a failed render leaves what was there */
	assert_string_equal(buf_str(&out), "keep");
	buf_release(&out);
	metrics_free(reg);
}

struct hammer {
	struct metric_family *c, *h;
	int id;
};

#define ROUNDS 200000

static void *hammer(void *arg)
{
	struct hammer *w = arg;
	struct metric *c = metric_child(w->c, (const char *const[]){ "shared" });
	struct metric *h = metric_child(w->h, NULL);

	for (int i = 0; i < ROUNDS; i++) {
		metric_inc(c, 1);
		metric_observe(h, 0.25);
		if (i % 1000 == 0) {
			char name[32];
			snprintf(name, sizeof(name), "t%d-%d", w->id, i);
			metric_inc(metric_child(w->c, (const char *const[]){ name }), 1);
		}
	}
	return NULL;
}

static void test_concurrent(void **state)
{
	(void)state;
	struct metrics *reg = metrics_new();
	static const char *const l[] = { "k", NULL };
	static const double bounds[] = { 0.5 };
	struct hammer w[4];
	pthread_t t[4];
	char *text;

	for (int i = 0; i < 4; i++) {
		w[i].c = metrics_family(reg, METRIC_COUNTER, "ops_total", "", l, NULL, 0);
		w[i].h = metrics_family(reg, METRIC_HISTOGRAM, "op_seconds", "", NULL, bounds, 1);
		w[i].id = i;
		assert_int_equal(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
	}
	/* render while the others write: must not crash or tear */
	for (int i = 0; i < 20; i++)
		free(render(reg));
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	text = render(reg);
	/* no increment lost: 4 × ROUNDS, and 0.25 × that as the sum (exact in binary) */
	assert_non_null(strstr(text, "ops_total{k=\"shared\"} 800000\n"));
	assert_non_null(strstr(text, "op_seconds_bucket{le=\"0.5\"} 800000\n"));
	assert_non_null(strstr(text, "op_seconds_sum 200000\n"));
	assert_non_null(strstr(text, "ops_total{k=\"t3-199000\"} 1\n"));
	free(text);
	metrics_free(reg);
}

static void test_process(void **state)
{
	(void)state;
	struct metrics *reg = metrics_new();
	char *text, *p;
	double start, rss, fds;

	assert_int_equal(metrics_process_register(reg), 0);
	text = render(reg);
	p = strstr(text, "\nprocess_start_time_seconds ");
	assert_non_null(p);
	start = strtod(p + strlen("\nprocess_start_time_seconds "), NULL);
	/* started in the last hour */
	assert_true(start > (double)time(NULL) - 3600 && start <= (double)time(NULL) + 1);
	p = strstr(text, "\nprocess_resident_memory_bytes ");
	assert_non_null(p);
	rss = strtod(p + strlen("\nprocess_resident_memory_bytes "), NULL);
	assert_true(rss > 100000);
	p = strstr(text, "\nprocess_open_fds ");
	assert_non_null(p);
	fds = strtod(p + strlen("\nprocess_open_fds "), NULL);
	free(text);
	/* open two more descriptors: the next render counts them */
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	text = render(reg);
	p = strstr(text, "\nprocess_open_fds ");
	assert_non_null(p);
	assert_true(strtod(p + strlen("\nprocess_open_fds "), NULL) == fds + 2);
	assert_non_null(strstr(text, "# TYPE process_max_fds gauge\n"));
	free(text);
	close(pfd[0]);
	close(pfd[1]);
	metrics_free(reg);
}

/* promtool, when installed, is the judge of the format: a registry using every feature. */
static void test_promtool(void **state)
{
	(void)state;
	static const char *const l[] = { "route", "method", NULL };
	struct metrics *reg;
	struct buf out = BUF_INIT;
	int in[2], status;
	pid_t pid;

	if (access("/usr/bin/promtool", X_OK) != 0) {
		skip();
		return;
	}
	reg = metrics_new();
	assert_int_equal(metrics_process_register(reg), 0);
	struct metric_family *c = metrics_family(reg, METRIC_COUNTER, "tonearm_http_requests_total",
						 "HTTP requests answered.", l, NULL, 0);
	struct metric_family *h = metrics_family(reg, METRIC_HISTOGRAM, "tonearm_http_request_duration_seconds",
						 "Time to answer \\ a request\n(seconds).", l, NULL, 0);
	struct metric_family *g = metrics_family(reg, METRIC_GAUGE, "tonearm_connections", "Open connections.",
						 NULL, NULL, 0);
	metric_inc(metric_child(c, (const char *const[]){ "/a\"b\\c\nd", "GET" }), 3);
	metric_inc(metric_child(c, (const char *const[]){ "/\xc3\xa9t\xc3\xa9", "POST" }), 1);
	metric_observe(metric_child(h, (const char *const[]){ "/x", "GET" }), 0.003);
	metric_observe(metric_child(h, (const char *const[]){ "/x", "GET" }), 42);
	metric_set(metric_child(g, NULL), -3.25e-7);
	assert_int_equal(metrics_render(reg, &out), 0);

	assert_int_equal(pipe(in), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(in[0], 0);
		close(in[0]);
		close(in[1]);
		execl("/usr/bin/promtool", "promtool", "check", "metrics", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	for (size_t off = 0; off < out.len;) {
		ssize_t n = write(in[1], out.data + off, out.len - off);
		assert_true(n > 0);
		off += (size_t)n;
	}
	close(in[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("promtool refused:\n%s", out.data);
	buf_release(&out);
	metrics_free(reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_exact),
		cmocka_unit_test(test_numbers_and_labels),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_render_cap),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_process),
		cmocka_unit_test(test_promtool),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
