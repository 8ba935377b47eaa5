/* The job queue's contract: enqueue, claim, leases, heartbeats, backoff, max attempts and the
 * worker pool, on every database backend.
 *
 * SQLite always; PostgreSQL too when TA_TEST_PG holds a server URL (tests/lib/pg.sh start):
 *   D=$(mktemp -d); export TA_TEST_PG=$(tests/lib/pg.sh start $D); ctest -R jobs_; tests/lib/pg.sh stop $D
 */
#include <pthread.h>
#include <stdatomic.h>

#include "base/log.h"
#include "contract/db_fixture.c"
#include "jobs/jobs.h"

static void (*const unused_fixture_helpers[])(void) = {
	(void (*)(void))fx_table_exists, (void (*)(void))fx_migrate, (void (*)(void))fx_now_ms,
	(void (*)(void))fx_int,
};

#define LEASE 10000
#define BASE 1000

/* A clock the tests move by hand, so leases and backoff are exact. */
static _Atomic int64_t fake_ms = 1700000000000;

static int64_t fake_now(void *ud)
{
	(void)ud;
	return atomic_load(&fake_ms);
}

static struct jobs *new_queue(struct fx *f, int max_attempts, bool fake)
{
	struct err e = ERR_INIT;
	struct jobs_options o = { .lease_ms = LEASE, .poll_ms = 50, .max_attempts = max_attempts,
				  .backoff_base_ms = BASE, .backoff_cap_ms = 8 * BASE };
	struct jobs *q;

	if (fake)
		o.now_ms = fake_now;
	q = jobs_new(f->db, &o, &e);
	if (!q)
		fail_msg("jobs_new: %s", e.msg);
	return q;
}

static int ok_handler(struct job *job, void *ud, struct err *e)
{
	(void)job;
	(void)ud;
	(void)e;
	return 0;
}

static int wipe(void **state)
{
	struct fx *f = *state;
	struct db_conn *c = fx_acquire(f);

	fx_exec(c, "DELETE FROM jobs");
	db_release(c);
	return 0;
}

static void enqueue(struct jobs *q, const char *kind, const char *subject, char id[ID_LEN + 1])
{
	struct err e = ERR_INIT;

	if (jobs_enqueue_id(q, kind, subject, NULL, id, &e) < 0)
		fail_msg("enqueue: %s", e.msg);
}

static struct job *claim(struct jobs *q, const char *owner)
{
	struct err e = ERR_INIT;
	struct job *job = NULL;
	int rc = jobs_claim(q, owner, &job, &e);

	if (rc < 0)
		fail_msg("claim: %s", e.msg);
	assert_true(rc == 0 || job != NULL);
	return job;
}

static void info(struct jobs *q, const char *id, struct jobs_info *out)
{
	struct err e = ERR_INIT;

	if (jobs_get(q, id, out, &e) < 0)
		fail_msg("jobs_get: %s", e.msg);
}

static void test_enqueue_is_idempotent_while_pending(void **state)
{
	struct jobs *q = new_queue(*state, 5, true);
	char a[ID_LEN + 1], b[ID_LEN + 1], c[ID_LEN + 1], d[ID_LEN + 1];
	struct err e = ERR_INIT;
	struct job *job;

	jobs_register(q, "t", ok_handler, NULL);
	enqueue(q, "t", "track1", a);
	enqueue(q, "t", "track1", b);
	assert_string_equal(a, b);
	enqueue(q, "other", "track1", c); /* another kind is another job */
	assert_string_not_equal(a, c);
	job = claim(q, "w1");
	assert_non_null(job);
	assert_string_equal(job_id(job), a);
	enqueue(q, "t", "track1", b); /* still pending while running */
	assert_string_equal(a, b);
	assert_int_equal(jobs_complete(job, &e), 0);
	job_free(job);
	enqueue(q, "t", "track1", d); /* done: a new one */
	assert_string_not_equal(a, d);
	assert_int_equal(jobs_enqueue(q, "Bad Kind", "x", NULL, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_int_equal(jobs_enqueue(q, "t", "", NULL, &e), -1);
	jobs_free(q);
}

static void test_claim_runs_oldest_registered_once(void **state)
{
	struct jobs *q = new_queue(*state, 5, true);
	char a[ID_LEN + 1], b[ID_LEN + 1], x[ID_LEN + 1];
	struct err e = ERR_INIT;
	struct job *j1, *j2;
	struct jobs_info in;

	assert_null(claim(q, "w1")); /* nothing registered: nothing claimed */
	jobs_register(q, "t", ok_handler, NULL);
	enqueue(q, "unknown", "s", x);
	assert_int_equal(jobs_enqueue_id(q, "t", "s1", "{\"ms\":5}", a, &e), 0);
	enqueue(q, "t", "s2", b);
	j1 = claim(q, "w1");
	assert_non_null(j1);
	assert_string_equal(job_id(j1), a);
	assert_string_equal(job_kind(j1), "t");
	assert_string_equal(job_subject(j1), "s1");
	assert_string_equal(job_payload(j1), "{\"ms\":5}");
	assert_int_equal(job_attempts(j1), 1);
	j2 = claim(q, "w2");
	assert_non_null(j2);
	assert_string_equal(job_id(j2), b);
	assert_null(job_payload(j2));
	assert_null(claim(q, "w3")); /* both leased, the other kind is not ours */
	info(q, a, &in);
	assert_string_equal(in.state, "running");
	assert_string_equal(in.lease_owner, "w1");
	assert_int_equal(in.lease_expires, atomic_load(&fake_ms) + LEASE);
	assert_int_equal(jobs_complete(j1, &e), 0);
	info(q, a, &in);
	assert_string_equal(in.state, "done");
	assert_true(in.progress == 1.0);
	assert_string_equal(in.lease_owner, "");
	info(q, x, &in);
	assert_string_equal(in.state, "queued");
	job_free(j1);
	job_free(j2);
	jobs_free(q);
}

static void test_expired_lease_is_reclaimed_and_old_owner_loses(void **state)
{
	struct jobs *q = new_queue(*state, 5, true);
	char a[ID_LEN + 1];
	struct err e = ERR_INIT;
	struct job *j1, *j2;
	struct jobs_info in;

	jobs_register(q, "t", ok_handler, NULL);
	enqueue(q, "t", "s", a);
	j1 = claim(q, "w1");
	assert_non_null(j1);
	atomic_fetch_add(&fake_ms, LEASE - 1);
	assert_null(claim(q, "w2")); /* still leased */
	atomic_fetch_add(&fake_ms, 2);
	j2 = claim(q, "w2"); /* w1 is presumed dead */
	assert_non_null(j2);
	assert_string_equal(job_id(j2), a);
	assert_int_equal(job_attempts(j2), 2);
	assert_false(job_should_stop(j1));
	assert_int_equal(job_progress(j1, 0.5, "late"), -1);
	assert_true(job_should_stop(j1));
	assert_int_equal(jobs_complete(j1, &e), -1);
	assert_int_equal(e.code, ERR_CONFLICT);
	assert_int_equal(jobs_fail(j1, "late", &e), -1);
	info(q, a, &in);
	assert_string_equal(in.state, "running");
	assert_string_equal(in.lease_owner, "w2");
	assert_int_equal(job_progress(j2, 0.25, "encoding"), 0);
	assert_int_equal(jobs_complete(j2, &e), 0);
	info(q, a, &in);
	assert_string_equal(in.state, "done");
	assert_int_equal(in.attempts, 2);
	job_free(j1);
	job_free(j2);
	jobs_free(q);
}

static void test_heartbeat_extends_lease_and_records_progress(void **state)
{
	struct jobs *q = new_queue(*state, 5, true);
	char a[ID_LEN + 1];
	struct job *j1;
	struct jobs_info in;

	jobs_register(q, "t", ok_handler, NULL);
	enqueue(q, "t", "s", a);
	j1 = claim(q, "w1");
	assert_non_null(j1);
	atomic_fetch_add(&fake_ms, LEASE - 100);
	assert_int_equal(job_progress(j1, 0.4, "decoding"), 0);
	atomic_fetch_add(&fake_ms, 1000); /* past the first lease, within the extended one */
	assert_null(claim(q, "w2"));
	info(q, a, &in);
	assert_true(in.progress > 0.39 && in.progress < 0.41);
	assert_string_equal(in.step, "decoding");
	assert_int_equal(job_progress(j1, 7.0, NULL), 0); /* clamped; step kept */
	info(q, a, &in);
	assert_true(in.progress == 1.0);
	assert_string_equal(in.step, "decoding");
	job_free(j1);
	jobs_free(q);
}

static void test_failure_backs_off_then_fails_at_max_attempts(void **state)
{
	struct jobs *q = new_queue(*state, 3, true);
	char a[ID_LEN + 1];
	struct err e = ERR_INIT;
	struct jobs_info in;
	int64_t prev_delay = 0;

	jobs_register(q, "t", ok_handler, NULL);
	enqueue(q, "t", "s", a);
	for (int attempt = 1; attempt <= 3; attempt++) {
		struct job *j = claim(q, "w1");
		char msg[32];

		assert_non_null(j);
		assert_int_equal(job_attempts(j), attempt);
		snprintf(msg, sizeof(msg), "boom %d", attempt);
		assert_int_equal(jobs_fail(j, msg, &e), 0);
		job_free(j);
		info(q, a, &in);
		assert_string_equal(in.error, msg);
		if (attempt < 3) {
			int64_t delay = in.run_after - atomic_load(&fake_ms);
			int64_t nominal = (int64_t)BASE << (attempt - 1);

			assert_string_equal(in.state, "queued");
			assert_true(delay >= nominal * 3 / 4 && delay <= nominal * 5 / 4);
			assert_true(attempt == 1 || delay > prev_delay / 2);
			prev_delay = delay;
			assert_null(claim(q, "w1")); /* not due yet */
			atomic_fetch_add(&fake_ms, delay + 1);
		} else {
			assert_string_equal(in.state, "failed");
			assert_string_equal(in.error, "boom 3");
		}
	}
	atomic_fetch_add(&fake_ms, 1000000);
	assert_null(claim(q, "w1"));
	jobs_free(q);
}

static void test_backoff_is_capped_and_jittered(void **state)
{
	struct jobs *q = new_queue(*state, 5, true);
	bool differs = false;
	int64_t first = jobs_backoff_ms(q, 1);

	for (int i = 0; i < 50; i++) {
		int64_t d = jobs_backoff_ms(q, 30);

		assert_true(d >= 8 * BASE * 3 / 4 && d <= 8 * BASE * 5 / 4);
		if (jobs_backoff_ms(q, 1) != first)
			differs = true;
	}
	assert_true(differs);
	jobs_free(q);
}

static void test_crash_on_last_attempt_fails_the_job(void **state)
{
	struct jobs *q = new_queue(*state, 2, true);
	char a[ID_LEN + 1];
	struct job *j;
	struct jobs_info in;

	jobs_register(q, "t", ok_handler, NULL);
	enqueue(q, "t", "s", a);
	for (int i = 0; i < 2; i++) { /* two workers "crash": claim, never settle */
		j = claim(q, "dies");
		assert_non_null(j);
		job_free(j);
		atomic_fetch_add(&fake_ms, LEASE + 1);
	}
	assert_null(claim(q, "w"));
	info(q, a, &in);
	assert_string_equal(in.state, "failed");
	assert_int_equal(in.attempts, 2);
	assert_non_null(strstr(in.error, "lease expired"));
	jobs_free(q);
}

/* ---- concurrency ---- */

#define NJOBS 120
#define NCLAIMERS 4

struct claimer {
	struct jobs *q;
	char owner[16];
	char ids[NJOBS][ID_LEN + 1];
	int n, errors;
};

static void *claimer_main(void *arg)
{
	struct claimer *c = arg;

	for (;;) {
		struct err e = ERR_INIT;
		struct job *job = NULL;
		int rc = jobs_claim(c->q, c->owner, &job, &e);

		if (rc < 0) {
			if (++c->errors > 20)
				break;
			continue;
		}
		if (rc == 0)
			break;
		if (c->n < NJOBS)
			memcpy(c->ids[c->n++], job_id(job), ID_LEN + 1);
		if (jobs_complete(job, &e) < 0)
			c->errors++;
		job_free(job);
	}
	return NULL;
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_concurrent_claimers_never_share_a_job(void **state)
{
	struct jobs *q = new_queue(*state, 5, false);
	static struct claimer cl[NCLAIMERS];
	static char all[NJOBS * NCLAIMERS][ID_LEN + 1];
	pthread_t th[NCLAIMERS];
	struct jobs_counts n;
	struct err e = ERR_INIT;
	int total = 0;

	jobs_register(q, "t", ok_handler, NULL);
	for (int i = 0; i < NJOBS; i++) {
		char subj[16], id[ID_LEN + 1];

		snprintf(subj, sizeof(subj), "s%d", i);
		enqueue(q, "t", subj, id);
	}
	for (int i = 0; i < NCLAIMERS; i++) {
		memset(&cl[i], 0, sizeof(cl[i]));
		cl[i].q = q;
		snprintf(cl[i].owner, sizeof(cl[i].owner), "c%d", i);
		assert_int_equal(pthread_create(&th[i], NULL, claimer_main, &cl[i]), 0);
	}
	for (int i = 0; i < NCLAIMERS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(cl[i].errors, 0);
		for (int k = 0; k < cl[i].n; k++)
			memcpy(all[total++], cl[i].ids[k], ID_LEN + 1);
	}
	assert_int_equal(total, NJOBS);
	qsort(all, (size_t)total, sizeof(all[0]), cmp_id);
	for (int i = 1; i < total; i++)
		assert_string_not_equal(all[i - 1], all[i]);
	assert_int_equal(jobs_count(q, &n, &e), 0);
	assert_int_equal(n.done, NJOBS);
	assert_int_equal(n.queued + n.running + n.failed, 0);
	jobs_free(q);
}

/* ---- the worker pool ---- */

static atomic_int ran, fail_first;

static int counting_handler(struct job *job, void *ud, struct err *e)
{
	(void)ud;
	if (job_progress(job, 0.5, "half") < 0)
		return err_set(e, ERR_CONFLICT, "lost");
	if (strncmp(job_subject(job), "flaky", 5) == 0 && job_attempts(job) == 1) {
		atomic_fetch_add(&fail_first, 1);
		return err_set(e, ERR_IO, "first try fails");
	}
	atomic_fetch_add(&ran, 1);
	return 0;
}

static bool wait_for(atomic_int *v, int want, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		if (atomic_load(v) >= want)
			return true;
		usleep(10000);
	}
	return atomic_load(v) >= want;
}

static void test_workers_run_jobs_and_retry(void **state)
{
	struct fx *f = *state;
	struct err e = ERR_INIT;
	struct jobs_options o = { .lease_ms = 5000, .poll_ms = 20, .backoff_base_ms = 30, .backoff_cap_ms = 100 };
	struct jobs *q = jobs_new(f->db, &o, &e);
	struct jobs_counts n;

	assert_non_null(q);
	atomic_store(&ran, 0);
	atomic_store(&fail_first, 0);
	assert_int_equal(jobs_register(q, "count", counting_handler, NULL), 0);
	assert_int_equal(jobs_workers_start(q, 3, "test", &e), 0);
	assert_int_equal(jobs_workers_start(q, 1, "test", &e), -1);
	assert_int_equal(e.code, ERR_CONFLICT);
	assert_int_equal(jobs_register(q, "late", ok_handler, NULL), -1);
	for (int i = 0; i < 20; i++) {
		char subj[16];

		snprintf(subj, sizeof(subj), "%s%d", i % 4 ? "plain" : "flaky", i);
		assert_int_equal(jobs_enqueue(q, "count", subj, NULL, &e), 0);
	}
	assert_true(wait_for(&ran, 20, 10000));
	jobs_workers_stop(q, 5000);
	assert_int_equal(atomic_load(&fail_first), 5);
	assert_int_equal(jobs_count(q, &n, &e), 0);
	assert_int_equal(n.done, 20);
	jobs_free(q);
}

static void test_enqueue_wakes_idle_workers(void **state)
{
	struct fx *f = *state;
	struct err e = ERR_INIT;
	/* Idle workers would next look in 30 s: only the wake-up can make this quick. */
	struct jobs_options o = { .lease_ms = 5000, .poll_ms = 30000 };
	struct jobs *q = jobs_new(f->db, &o, &e);
	int64_t t0;

	assert_non_null(q);
	atomic_store(&ran, 0);
	jobs_register(q, "count", counting_handler, NULL);
	assert_int_equal(jobs_workers_start(q, 2, NULL, &e), 0);
	usleep(100000); /* let them go idle */
	t0 = fx_now_ms();
	assert_int_equal(jobs_enqueue(q, "count", "plain-wake", NULL, &e), 0);
	assert_true(wait_for(&ran, 1, 5000));
	assert_true(fx_now_ms() - t0 < 2000);
	t0 = fx_now_ms();
	jobs_workers_stop(q, 1000);
	assert_true(fx_now_ms() - t0 < 1000); /* the stop wakes them too */
	jobs_free(q);
}

static atomic_int slow_started;

static int slow_handler(struct job *job, void *ud, struct err *e)
{
	(void)ud;
	atomic_fetch_add(&slow_started, 1);
	while (!job_should_stop(job))
		usleep(5000);
	return err_set(e, ERR_TIMEOUT, "stopped");
}

static void test_stop_abandons_after_timeout(void **state)
{
	struct fx *f = *state;
	struct err e = ERR_INIT;
	struct jobs_options o = { .lease_ms = 60000, .poll_ms = 20 };
	struct jobs *q = jobs_new(f->db, &o, &e);
	char id[ID_LEN + 1];
	struct jobs_info in;
	int64_t t0;

	assert_non_null(q);
	atomic_store(&slow_started, 0);
	jobs_register(q, "slow", slow_handler, NULL);
	assert_int_equal(jobs_workers_start(q, 1, "stopper", &e), 0);
	assert_int_equal(jobs_enqueue_id(q, "slow", "x", NULL, id, &e), 0);
	assert_true(wait_for(&slow_started, 1, 5000));
	assert_int_equal(jobs_in_flight(q), 1);
	t0 = fx_now_ms();
	jobs_workers_stop(q, 200);
	assert_true(fx_now_ms() - t0 >= 190);
	assert_true(fx_now_ms() - t0 < 3000);
	/* Abandoned, not failed: it stays running under its lease, for another worker later. */
	info(q, id, &in);
	assert_string_equal(in.state, "running");
	assert_int_equal(in.attempts, 1);
	jobs_free(q);
}

static int collect(const struct jobs_info *in, void *ud)
{
	int *n = ud;

	(void)in;
	(*n)++;
	return 0;
}

static void test_list_and_latest(void **state)
{
	struct jobs *q = new_queue(*state, 5, true);
	char a[ID_LEN + 1], b[ID_LEN + 1], c[ID_LEN + 1];
	struct err e = ERR_INIT;
	struct jobs_info in;
	struct job *j;
	int n = 0;

	jobs_register(q, "t", ok_handler, NULL);
	enqueue(q, "t", "track", a);
	j = claim(q, "w");
	assert_int_equal(jobs_complete(j, &e), 0);
	job_free(j);
	enqueue(q, "t", "track", b);
	enqueue(q, "u", "other", c);
	assert_int_equal(jobs_latest(q, NULL, "track", &in, &e), 1);
	assert_string_equal(in.id, b);
	assert_string_equal(in.state, "queued");
	assert_int_equal(jobs_latest(q, "u", "track", &in, &e), 0);
	if (jobs_list(q, NULL, NULL, NULL, 100, collect, &n, &e) != 3)
		fail_msg("jobs_list: %s", e.msg);
	n = 0;
	assert_int_equal(jobs_list(q, "queued", NULL, NULL, 100, collect, &n, &e), 2);
	assert_int_equal(jobs_list(q, "done", "t", NULL, 100, collect, &n, &e), 1);
	assert_int_equal(jobs_list(q, NULL, NULL, c, 100, collect, &n, &e), 2); /* before c */
	assert_int_equal(jobs_list(q, "bogus", NULL, NULL, 100, collect, &n, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_int_equal(jobs_get(q, "01ARZ3NDEKTSV4RRFFQ69G5FAV", &in, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	jobs_free(q);
}

static int group_setup(void **state, int (*setup)(void **))
{
	struct err e = ERR_INIT;
	struct fx *f;

	if (setup(state) < 0)
		return -1;
	f = *state;
	if (db_migrate(f->db, &e) < 0) {
		fprintf(stderr, "migrate: %s\n", e.msg);
		return -1;
	}
	return 0;
}

static int setup_sqlite(void **state)
{
	return group_setup(state, fx_setup_sqlite);
}

static int setup_pg(void **state)
{
	return group_setup(state, fx_setup_pg);
}

#define T(fn) cmocka_unit_test_setup(fn, wipe)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_enqueue_is_idempotent_while_pending),
		T(test_claim_runs_oldest_registered_once),
		T(test_expired_lease_is_reclaimed_and_old_owner_loses),
		T(test_heartbeat_extends_lease_and_records_progress),
		T(test_failure_backs_off_then_fails_at_max_attempts),
		T(test_backoff_is_capped_and_jittered),
		T(test_crash_on_last_attempt_fails_the_job),
		T(test_concurrent_claimers_never_share_a_job),
		T(test_workers_run_jobs_and_retry),
		T(test_enqueue_wakes_idle_workers),
		T(test_stop_abandons_after_timeout),
		T(test_list_and_latest),
	};
	int failed = 0;

	(void)unused_fixture_helpers;
	log_setup(LOG_ERROR, 2);
	failed += cmocka_run_group_tests_name("jobs contract: sqlite", tests, setup_sqlite, fx_teardown);
	if (getenv("TA_TEST_PG") && *getenv("TA_TEST_PG"))
		failed += cmocka_run_group_tests_name("jobs contract: postgres", tests, setup_pg, fx_teardown);
	else
		printf("SKIPPED postgres: TA_TEST_PG not set (start one with tests/lib/pg.sh start DIR)\n");
	return failed;
}
