/* Unit tests of the job queue's argument checks and backoff, on a private in-memory SQLite
 * database (the contract suite covers the table's behaviour on every backend). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "base/log.h"
#include "db/db.h"
#include "db/migrate.h"
#include "jobs/jobs.h"

static struct db *db;

static int ok(struct job *job, void *ud, struct err *e)
{
	(void)job;
	(void)ud;
	(void)e;
	return 0;
}

static void test_options_are_checked(void **state)
{
	struct err e = ERR_INIT;

	(void)state;
	assert_null(jobs_new(NULL, NULL, &e));
	assert_int_equal(e.code, ERR_INVALID);
	assert_null(jobs_new(db, &(struct jobs_options){ .lease_ms = -1 }, &e));
	assert_int_equal(e.code, ERR_INVALID);
}

static void test_kinds_and_subjects_are_checked(void **state)
{
	struct err e = ERR_INIT;
	struct jobs *q = jobs_new(db, NULL, &e);
	char big[JOBS_SUBJECT_MAX + 2];
	char longkind[JOBS_KIND_MAX + 2];

	(void)state;
	assert_non_null(q);
	assert_int_equal(jobs_register(q, "transcode", ok, NULL), 0);
	assert_int_equal(jobs_register(q, "transcode", ok, NULL), 0); /* replaces */
	assert_int_equal(jobs_register(q, "", ok, NULL), -1);
	assert_int_equal(jobs_register(q, "Upper", ok, NULL), -1);
	assert_int_equal(jobs_register(q, "sp ace", ok, NULL), -1);
	assert_int_equal(jobs_register(q, "x", NULL, NULL), -1);
	memset(longkind, 'k', sizeof(longkind) - 1);
	longkind[sizeof(longkind) - 1] = '\0';
	assert_int_equal(jobs_register(q, longkind, ok, NULL), -1);
	memset(big, 's', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(jobs_enqueue(q, "transcode", big, NULL, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_int_equal(jobs_enqueue(q, "transcode", NULL, NULL, &e), -1);
	assert_int_equal(jobs_enqueue(q, longkind, "s", NULL, &e), -1);
	assert_int_equal(jobs_workers_start(q, 0, NULL, &e), -1);
	assert_int_equal(jobs_workers_start(q, 1, "", &e), -1);
	jobs_workers_stop(q, 0); /* not started: a no-op */
	assert_int_equal(jobs_in_flight(q), 0);
	jobs_free(q);
}

static void test_backoff_doubles_within_jitter(void **state)
{
	struct err e = ERR_INIT;
	struct jobs *q = jobs_new(db, &(struct jobs_options){ .backoff_base_ms = 1000, .backoff_cap_ms = 60000 }, &e);

	(void)state;
	assert_non_null(q);
	for (int a = 1; a <= 10; a++) {
		int64_t nominal = 1000LL << (a - 1);
		int64_t d = jobs_backoff_ms(q, a);

		if (nominal > 60000)
			nominal = 60000;
		assert_true(d >= nominal * 3 / 4 - 1 && d <= nominal * 5 / 4 + 1);
	}
	jobs_free(q);
}

static void test_nothing_registered_claims_nothing(void **state)
{
	struct err e = ERR_INIT;
	struct jobs *q = jobs_new(db, NULL, &e);
	struct job *job = (struct job *)1;

	(void)state;
	assert_int_equal(jobs_enqueue(q, "t", "s", NULL, &e), 0);
	assert_int_equal(jobs_claim(q, "w", &job, &e), 0);
	assert_null(job);
	assert_int_equal(jobs_claim(q, "", &job, &e), -1);
	jobs_free(q);
}

static int setup(void **state)
{
	struct err e = ERR_INIT;

	(void)state;
	db = db_open("sqlite::memory:", NULL, &e);
	return db && db_migrate(db, &e) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	db_close(db);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_options_are_checked),
		cmocka_unit_test(test_kinds_and_subjects_are_checked),
		cmocka_unit_test(test_backoff_doubles_within_jitter),
		cmocka_unit_test(test_nothing_registered_claims_nothing),
	};

	log_setup(LOG_ERROR, 2);
	return cmocka_run_group_tests(tests, setup, teardown);
}
