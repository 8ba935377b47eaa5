/* jobs.c (cli) — the job kinds this build handles, and the `sleep` test kind (see cli/jobs.h). */
#include "cli/jobs.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/config.h"
#include "base/json.h"
#include "catalog/catalog.h"
#include "ingest/ingest.h"
#include "db/db.h"
#include "jobs/jobs.h"
#include "store/store.h"
#include "stream/stream.h"

struct jobs *cli_jobs_new(const struct config *conf, struct db *db, struct metrics *metrics, struct err *e)
{
	struct jobs_options o = { 0 };

	o.lease_ms = conf->job_lease;
	o.metrics = metrics;
	/* A test deployment runs with short leases: look for expired ones as often. */
	o.poll_ms = conf->job_lease < 4000 ? (int)(conf->job_lease / 4) : 1000;
	if (conf->test_jobs) {
		o.backoff_base_ms = 200;
		o.backoff_cap_ms = 2000;
	}
	return jobs_new(db, &o, e);
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0)
		;
}

/* Record the write after the object is committed: a row never names a missing object. A
 * re-run (the first run's worker died after writing) overwrites the same object and bumps
 * `writes`, which is harmless and visible to the test. */
static int record_write(struct db *db, const char *key, struct job *job, struct err *e)
{
	struct db_conn *c = db_acquire(db, e);
	struct db_stmt *s = NULL;
	int rc, ret = -1;

	if (!c)
		return -1;
	s = db_prepare(c,
		       "INSERT INTO jobs_test_writes (object_key, subject, job_id, attempt, created_at, updated_at) "
		       "VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (object_key) DO UPDATE SET "
		       "writes = jobs_test_writes.writes + 1, job_id = $3, attempt = $4, updated_at = $5",
		       e);
	if (!s)
		goto out;
	db_bind_str(s, 1, key);
	db_bind_str(s, 2, job_subject(job));
	db_bind_str(s, 3, job_id(job));
	db_bind_int(s, 4, job_attempts(job));
	db_bind_int(s, 5, clock_now_ms());
	rc = db_step(s, e);
	if (rc >= 0)
		ret = 0;
out:
	db_finalize(s);
	db_release(c);
	return ret;
}

/* payload {"ms": total sleep, "steps": heartbeats, "write": "object/key", "fail": first n
 * attempts fail}: sleeps in steps reporting progress, then writes the object, then the row. */
static int sleep_job(struct job *job, void *ud, struct err *e)
{
	const struct cli_jobs_deps *deps = ud;
	const char *payload = job_payload(job);
	json_t *root = NULL;
	long long ms = 1000, steps = 10, fail = 0;
	const char *key = NULL;
	struct store_writer *w = NULL;
	char body[256];
	int n, ret = -1;

	if (payload) {
		root = tjson_parse_strict(payload, strlen(payload), 4, e);
		if (!root)
			goto out;
		if (tjson_get_int(root, "ms", false, 0, 600000, &ms, e) < 0 ||
		    tjson_get_int(root, "steps", false, 1, 10000, &steps, e) < 0 ||
		    tjson_get_int(root, "fail", false, 0, 100, &fail, e) < 0 ||
		    tjson_get_str(root, "write", false, 1024, &key, e) < 0)
			goto out;
	}
	for (long long i = 1; i <= steps; i++) {
		sleep_ms(ms / steps);
		if (job_progress(job, (double)i / (double)steps * 0.9, "sleeping") < 0) {
			err_set(e, ERR_CONFLICT, "lease lost");
			goto out;
		}
	}
	if (job_attempts(job) <= fail) {
		err_set(e, ERR_IO, "failing on purpose (attempt %d of the first %lld)", job_attempts(job), fail);
		goto out;
	}
	if (key) {
		if (store_key_check(key, e) < 0)
			goto out;
		n = snprintf(body, sizeof(body), "{\"job\":\"%s\",\"attempt\":%d}\n", job_id(job), job_attempts(job));
		w = store_write_begin(deps->store, key, e);
		if (!w || store_write(w, body, (size_t)n, e) < 0)
			goto out;
		/* The lease may have been lost while we slept: another run owns the job now. */
		if (job_progress(job, 0.95, "committing") < 0) {
			err_set(e, ERR_CONFLICT, "lease lost");
			goto out;
		}
		if (store_write_commit(w, e) < 0) {
			w = NULL;
			goto out;
		}
		w = NULL;
		if (record_write(deps->db, key, job, e) < 0)
			goto out;
	}
	ret = 0;
out:
	store_write_abort(w);
	if (root)
		json_decref(root);
	return ret;
}

/* `analyse` (subject: a track id): the analysis `tonearm import` deferred, in a decode of its
 * own. Nothing queues it now (the `transcode` job analyses in its decode); it stays for the
 * jobs a data folder's earlier builds queued, which would otherwise wait forever. The catalogue
 * and ingest handles are a few bytes each, made per job so nothing outlives the registration. */
static int analyse_job(struct job *job, void *ud, struct err *e)
{
	const struct cli_jobs_deps *deps = ud;
	struct catalog *cat = catalog_new(deps->db, e);
	struct ingest *ing = NULL;
	int ret = -1;

	if (!cat)
		return -1;
	ing = ingest_new(deps->db, deps->store, cat, e);
	if (ing)
		ret = ingest_analyse_job(job, ing, e);
	ingest_free(ing);
	catalog_free(cat);
	return ret;
}

int cli_jobs_register_all(struct jobs *q, const struct config *conf, const struct cli_jobs_deps *deps,
			  struct err *e)
{
	if (deps->stream) {
		/* A track imported without its analysis gets it in the ladder's decode. */
		stream_set_analysis_sink(deps->stream, ingest_record_analysis);
		if (jobs_register(q, "transcode", stream_transcode_job, deps->stream) < 0)
			return err_set(e, ERR_INTERNAL, "cannot register the transcode job handler");
	}
	if (deps->store && jobs_register(q, "analyse", analyse_job, (void *)deps) < 0)
		return err_set(e, ERR_INTERNAL, "cannot register the analyse job handler");
	if (conf->test_jobs && jobs_register(q, "sleep", sleep_job, (void *)deps) < 0)
		return err_set(e, ERR_INTERNAL, "cannot register the sleep job handler");
	return 0;
}
