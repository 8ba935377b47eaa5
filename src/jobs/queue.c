/* queue.c — the job table's writes: enqueue, claim, heartbeat, settle (see jobs.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/metrics.h"
#include "db/db.h"
#include "jobs/internal.h"

#define PAYLOAD_MAX (64 * 1024)

int64_t jobs_now(const struct jobs *q)
{
	return q->opt.now_ms ? q->opt.now_ms(q->opt.now_ud) : clock_now_ms();
}

struct jobs *jobs_new(struct db *db, const struct jobs_options *opt, struct err *e)
{
	struct jobs *q;
	static const char *const total_labels[] = { "kind", "outcome", NULL };

	if (!db) {
		err_set(e, ERR_INVALID, "jobs: no database");
		return NULL;
	}
	if (opt && (opt->lease_ms < 0 || opt->poll_ms < 0 || opt->max_attempts < 0 || opt->backoff_base_ms < 0 ||
		    opt->backoff_cap_ms < 0)) {
		err_set(e, ERR_INVALID, "jobs: negative option");
		return NULL;
	}
	q = calloc(1, sizeof(*q));
	if (!q) {
		err_set(e, ERR_NOMEM, "jobs: out of memory");
		return NULL;
	}
	q->db = db;
	if (opt)
		q->opt = *opt;
	if (!q->opt.lease_ms)
		q->opt.lease_ms = 30000;
	if (!q->opt.poll_ms)
		q->opt.poll_ms = 1000;
	if (!q->opt.max_attempts)
		q->opt.max_attempts = 5;
	if (!q->opt.backoff_base_ms)
		q->opt.backoff_base_ms = 1000;
	if (!q->opt.backoff_cap_ms)
		q->opt.backoff_cap_ms = 600000;
	pthread_mutex_init(&q->lock, NULL);
	{
		pthread_condattr_t ca;

		/* Idle waits are timeouts: measure them on the monotonic clock. */
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&q->wake, &ca);
		pthread_cond_init(&q->idle, &ca);
		pthread_condattr_destroy(&ca);
	}
	atomic_init(&q->abandon, false);
	atomic_init(&q->in_flight, 0);
	if (q->opt.metrics) {
		struct metric_family *g;

		q->m_total = metrics_family(q->opt.metrics, METRIC_COUNTER, "tonearm_jobs_total",
					    "Jobs run by this process, by kind and outcome (done, retry, failed, lost).",
					    total_labels, NULL, 0);
		g = metrics_family(q->opt.metrics, METRIC_GAUGE, "tonearm_jobs_in_flight",
				   "Job handlers running in this process.", NULL, NULL, 0);
		q->m_in_flight = metric_child(g, NULL);
	}
	return q;
}

void jobs_free(struct jobs *q)
{
	if (!q)
		return;
	jobs_workers_stop(q, 30000);
	free(q->claim_sql);
	pthread_cond_destroy(&q->wake);
	pthread_cond_destroy(&q->idle);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

static bool kind_valid(const char *kind)
{
	size_t n = kind ? strlen(kind) : 0;

	if (n == 0 || n > JOBS_KIND_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = kind[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

int jobs_register(struct jobs *q, const char *kind, jobs_handler_fn fn, void *ud)
{
	int ret = -1;

	if (!q || !kind_valid(kind) || !fn)
		return -1;
	pthread_mutex_lock(&q->lock);
	if (q->nworkers > 0)
		goto out;
	for (int i = 0; i < q->nkinds; i++) {
		if (strcmp(q->kinds[i].name, kind) == 0) {
			q->kinds[i].fn = fn;
			q->kinds[i].ud = ud;
			ret = 0;
			goto out;
		}
	}
	if (q->nkinds >= JOBS_MAX_KINDS)
		goto out;
	memcpy(q->kinds[q->nkinds].name, kind, strlen(kind) + 1);
	q->kinds[q->nkinds].fn = fn;
	q->kinds[q->nkinds].ud = ud;
	q->nkinds++;
	ret = 0;
out:
	pthread_mutex_unlock(&q->lock);
	return ret;
}

/* The existing pending job of kind+subject, or 0 when none (it may have just finished). */
static int find_pending(struct db_conn *c, const char *kind, const char *subject, char id_out[ID_LEN + 1],
			struct err *e)
{
	struct db_stmt *s;
	int rc;

	s = db_prepare(c, "SELECT id FROM jobs WHERE kind = $1 AND subject = $2 AND state IN ('queued', 'running')", e);
	if (!s)
		return -1;
	db_bind_str(s, 1, kind);
	db_bind_str(s, 2, subject);
	rc = db_step(s, e);
	if (rc == 1 && id_out) {
		const char *id = db_col_text(s, 0);

		snprintf(id_out, ID_LEN + 1, "%s", id ? id : "");
	}
	db_finalize(s);
	return rc;
}

int jobs_enqueue_id(struct jobs *q, const char *kind, const char *subject, const char *payload_json,
		    char id_out[ID_LEN + 1], struct err *e)
{
	struct db_conn *c = NULL;
	struct db_stmt *s = NULL;
	char id[ID_LEN + 1];
	size_t slen = subject ? strlen(subject) : 0;
	int64_t now;
	int ret = -1;

	if (!kind_valid(kind))
		return err_set(e, ERR_INVALID, "jobs: bad kind");
	if (slen == 0 || slen > JOBS_SUBJECT_MAX)
		return err_set(e, ERR_INVALID, "jobs: subject must be 1-%d characters", JOBS_SUBJECT_MAX);
	if (payload_json && strlen(payload_json) > PAYLOAD_MAX)
		return err_set(e, ERR_TOO_LARGE, "jobs: payload over %d bytes", PAYLOAD_MAX);
	c = db_acquire(q->db, e);
	if (!c)
		return -1;
	/* Insert unless a pending job exists; if it exists, return it. Between the two statements
	 * the pending job may finish, so try again a few times. Whether the row went in is told by
	 * the change count, not RETURNING: SQLite buffers RETURNING rows in a temporary table, a
	 * b-tree opened and closed per enqueue (a folder import enqueues for every track). */
	for (int tries = 0; tries < 5; tries++) {
		int rc;

		id_new(id);
		now = jobs_now(q);
		s = db_prepare(c,
			       "INSERT INTO jobs (id, kind, subject, payload, max_attempts, run_after, created_at, updated_at) "
			       "VALUES ($1, $2, $3, $4, $5, $6, $6, $6) "
			       "ON CONFLICT (kind, subject) WHERE state IN ('queued', 'running') DO NOTHING",
			       e);
		if (!s)
			goto out;
		db_bind_str(s, 1, id);
		db_bind_str(s, 2, kind);
		db_bind_str(s, 3, subject);
		db_bind_str(s, 4, payload_json);
		db_bind_int(s, 5, q->opt.max_attempts);
		db_bind_int(s, 6, now);
		rc = db_step(s, e);
		if (rc == 0 && db_changes(s) == 1) {
			if (id_out)
				memcpy(id_out, id, sizeof(id));
			ret = 0;
			break;
		}
		if (rc < 0)
			goto out;
		db_finalize(s);
		s = NULL;
		rc = find_pending(c, kind, subject, id_out, e);
		if (rc < 0)
			goto out;
		if (rc == 1) {
			ret = 0;
			break;
		}
	}
	if (ret < 0)
		err_set(e, ERR_CONFLICT, "jobs: enqueue kept racing with the job finishing");
out:
	db_finalize(s);
	db_release(c);
	if (ret == 0) {
		pthread_mutex_lock(&q->lock);
		pthread_cond_broadcast(&q->wake);
		pthread_mutex_unlock(&q->lock);
	}
	return ret;
}

int jobs_enqueue(struct jobs *q, const char *kind, const char *subject, const char *payload_json, struct err *e)
{
	return jobs_enqueue_id(q, kind, subject, payload_json, NULL, e);
}

/* The claim statement for the registered kinds. The kind list goes in as placeholders $4…
 * (never as text); PostgreSQL skips rows another claimer has locked instead of waiting. */
static char *claim_sql(struct jobs *q, int nkinds, bool pg)
{
	struct buf b;

	buf_init(&b, 16384);
	buf_adds(&b, "UPDATE jobs SET state = 'running', lease_owner = $2, lease_expires = $3, heartbeat_at = $1, "
		     "attempts = attempts + 1, updated_at = $1 WHERE id = (SELECT id FROM jobs WHERE "
		     "((state = 'queued' AND run_after <= $1) OR (state = 'running' AND lease_expires < $1)) "
		     "AND kind IN (");
	for (int i = 0; i < nkinds; i++)
		buf_addf(&b, "%s$%d", i ? ", " : "", i + 4);
	buf_adds(&b, ") ORDER BY id LIMIT 1");
	if (pg)
		buf_adds(&b, " FOR UPDATE SKIP LOCKED");
	buf_adds(&b, ") RETURNING id, kind, subject, payload, attempts, max_attempts");
	(void)q;
	return buf_detach(&b, NULL);
}

/* A running job whose lease expired on its last allowed attempt is not run again: its worker
 * died (or hung) each time, so it fails, with the reason kept. */
static int reap_exhausted(struct db_conn *c, int64_t now, struct err *e)
{
	struct db_stmt *s;
	int rc;

	s = db_prepare(c,
		       "UPDATE jobs SET state = 'failed', lease_owner = NULL, updated_at = $1, "
		       "error = 'the worker was lost (lease expired) on the last attempt' "
		       "WHERE state = 'running' AND lease_expires < $1 AND attempts >= max_attempts",
		       e);
	if (!s)
		return -1;
	db_bind_int(s, 1, now);
	rc = db_step(s, e);
	db_finalize(s);
	return rc < 0 ? -1 : 0;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int jobs_claim(struct jobs *q, const char *owner, struct job **out, struct err *e)
{
	struct db_conn *c = NULL;
	struct db_stmt *s = NULL;
	struct job *job = NULL;
	char *sql = NULL;
	const char *kinds[JOBS_MAX_KINDS];
	char kindbuf[JOBS_MAX_KINDS][JOBS_KIND_MAX + 1];
	int nkinds, rc, ret = -1;
	int64_t now;

	*out = NULL;
	if (!owner || !*owner || strlen(owner) >= JOBS_OWNER_MAX)
		return err_set(e, ERR_INVALID, "jobs: bad owner name");
	pthread_mutex_lock(&q->lock);
	nkinds = q->nkinds;
	for (int i = 0; i < nkinds; i++) {
		memcpy(kindbuf[i], q->kinds[i].name, sizeof(kindbuf[i]));
		kinds[i] = kindbuf[i];
	}
	pthread_mutex_unlock(&q->lock);
	if (nkinds == 0)
		return 0;
	sql = claim_sql(q, nkinds, strcmp(db_backend_name(q->db), "postgres") == 0);
	if (!sql)
		return err_set(e, ERR_NOMEM, "jobs: out of memory");
	c = db_acquire(q->db, e);
	if (!c)
		goto out;
	now = jobs_now(q);
	if (db_begin(c, e) < 0)
		goto out;
	if (reap_exhausted(c, now, e) < 0)
		goto rollback;
	s = db_prepare(c, sql, e);
	if (!s)
		goto rollback;
	db_bind_int(s, 1, now);
	db_bind_str(s, 2, owner);
	db_bind_int(s, 3, now + q->opt.lease_ms);
	for (int i = 0; i < nkinds; i++)
		db_bind_str(s, i + 4, kinds[i]);
	rc = db_step(s, e);
	if (rc < 0)
		goto rollback;
	if (rc == 1) {
		const char *id = db_col_text(s, 0);

		job = calloc(1, sizeof(*job));
		if (!job || !id || strlen(id) != ID_LEN) {
			err_set(e, job ? ERR_INTERNAL : ERR_NOMEM, "jobs: cannot read the claimed job");
			goto rollback;
		}
		job->q = q;
		memcpy(job->id, id, ID_LEN + 1);
		job->kind = dup_or_null(db_col_text(s, 1));
		job->subject = dup_or_null(db_col_text(s, 2));
		job->payload = dup_or_null(db_col_text(s, 3));
		job->attempts = (int)db_col_int(s, 4);
		job->max_attempts = (int)db_col_int(s, 5);
		snprintf(job->owner, sizeof(job->owner), "%s", owner);
		if (!job->kind || !job->subject || (!db_col_null(s, 3) && !job->payload)) {
			err_set(e, ERR_NOMEM, "jobs: out of memory");
			goto rollback;
		}
		while ((rc = db_step(s, e)) == 1)
			;
		if (rc < 0)
			goto rollback;
	}
	db_finalize(s);
	s = NULL;
	if (db_commit(c, e) < 0)
		goto out;
	ret = job ? 1 : 0;
	*out = job;
	job = NULL;
	goto out;
rollback:
	db_finalize(s);
	s = NULL;
	db_rollback(c, NULL);
out:
	db_finalize(s);
	db_release(c);
	job_free(job);
	free(sql);
	return ret;
}

void job_free(struct job *job)
{
	if (!job)
		return;
	free(job->kind);
	free(job->subject);
	free(job->payload);
	free(job);
}

const char *job_id(const struct job *job) { return job->id; }
const char *job_kind(const struct job *job) { return job->kind; }
const char *job_subject(const struct job *job) { return job->subject; }
const char *job_payload(const struct job *job) { return job->payload; }
int job_attempts(const struct job *job) { return job->attempts; }
int job_max_attempts(const struct job *job) { return job->max_attempts; }

bool job_should_stop(const struct job *job)
{
	return job->lost || atomic_load(&job->q->abandon);
}

/* Run `sql` (whose $1 is now, $2 id, $3 owner, $4 attempts: the claim that must still hold)
 * with extra bindings from `bind`; 1 when the row was ours and changed, 0 when it was not,
 * -1 on a database error. */
static int update_ours(struct job *job, const char *sql, void (*bind)(struct db_stmt *, void *), void *ud,
		       struct err *e)
{
	struct db_conn *c;
	struct db_stmt *s = NULL;
	int rc, ret = -1;

	c = db_acquire(job->q->db, e);
	if (!c)
		return -1;
	s = db_prepare(c, sql, e);
	if (!s)
		goto out;
	db_bind_int(s, 1, jobs_now(job->q));
	db_bind_str(s, 2, job->id);
	db_bind_str(s, 3, job->owner);
	db_bind_int(s, 4, job->attempts);
	if (bind)
		bind(s, ud);
	while ((rc = db_step(s, e)) == 1)
		;
	if (rc < 0)
		goto out;
	ret = db_changes(s) > 0 ? 1 : 0;
out:
	db_finalize(s);
	db_release(c);
	return ret;
}

#define OURS "WHERE id = $2 AND state = 'running' AND lease_owner = $3 AND attempts = $4"

struct progress_args {
	int64_t lease_until;
	double fraction;
	const char *step;
};

static void bind_progress(struct db_stmt *s, void *ud)
{
	struct progress_args *a = ud;

	db_bind_int(s, 5, a->lease_until);
	db_bind_double(s, 6, a->fraction);
	db_bind_str(s, 7, a->step);
}

int job_progress(struct job *job, double fraction, const char *step)
{
	struct err e = ERR_INIT;
	char stepbuf[JOBS_STEP_MAX + 1];
	struct progress_args a;
	int rc;

	if (job->lost)
		return -1;
	if (atomic_load(&job->q->abandon))
		return -1;
	if (isnan(fraction) || fraction < 0)
		fraction = 0;
	if (fraction > 1)
		fraction = 1;
	if (step) {
		snprintf(stepbuf, sizeof(stepbuf), "%s", step);
		step = stepbuf;
	}
	a.lease_until = jobs_now(job->q) + job->q->opt.lease_ms;
	a.fraction = fraction;
	a.step = step;
	rc = update_ours(job,
			 "UPDATE jobs SET lease_expires = $5, heartbeat_at = $1, progress = $6, "
			 "step = COALESCE($7, step), updated_at = $1 " OURS,
			 bind_progress, &a, &e);
	if (rc < 0) {
		log_kv(LOG_WARN, NULL, "job heartbeat failed",
		       LOG_FIELDS(LOG_STR("job", job->id), LOG_STR("error", e.msg)));
		return 0;
	}
	if (rc == 0) {
		job->lost = true;
		log_kv(LOG_WARN, NULL, "job lease lost",
		       LOG_FIELDS(LOG_STR("job", job->id), LOG_STR("kind", job->kind), LOG_STR("owner", job->owner)));
		return -1;
	}
	return 0;
}

int64_t jobs_backoff_ms(const struct jobs *q, int attempts)
{
	double d = (double)q->opt.backoff_base_ms;
	unsigned char r[2] = { 0, 0 };
	double jitter;

	for (int i = 1; i < attempts && d < (double)q->opt.backoff_cap_ms; i++)
		d *= 2;
	if (d > (double)q->opt.backoff_cap_ms)
		d = (double)q->opt.backoff_cap_ms;
	/* Jitter spreads the retries of jobs that failed together (a backend outage) apart. */
	if (RAND_bytes(r, sizeof(r)) != 1)
		r[0] = r[1] = 0x80;
	jitter = ((double)((r[0] << 8) | r[1]) / 65535.0 - 0.5) * 0.5; /* -0.25 .. +0.25 */
	d *= 1.0 + jitter;
	if (d < (double)q->opt.backoff_base_ms / 2)
		d = (double)q->opt.backoff_base_ms / 2;
	return (int64_t)d;
}

static void count(struct jobs *q, const char *kind, const char *outcome)
{
	const char *labels[] = { kind, outcome };

	if (q->m_total)
		metric_inc(metric_child(q->m_total, labels), 1);
}

int jobs_complete(struct job *job, struct err *e)
{
	int rc = update_ours(job,
			     "UPDATE jobs SET state = 'done', progress = 1, lease_owner = NULL, lease_expires = 0, "
			     "error = NULL, updated_at = $1 " OURS,
			     NULL, NULL, e);

	if (rc < 0)
		return -1;
	if (rc == 0) {
		job->lost = true;
		count(job->q, job->kind, "lost");
		return err_set(e, ERR_CONFLICT, "jobs: lease of job %s was lost before it completed", job->id);
	}
	count(job->q, job->kind, "done");
	return 0;
}

struct fail_args {
	int64_t run_after;
	const char *error;
};

static void bind_fail(struct db_stmt *s, void *ud)
{
	struct fail_args *a = ud;

	db_bind_int(s, 5, a->run_after);
	db_bind_str(s, 6, a->error);
}

int jobs_fail(struct job *job, const char *error, struct err *e)
{
	char msg[JOBS_ERROR_MAX + 1];
	struct fail_args a;
	int rc;

	snprintf(msg, sizeof(msg), "%s", error && *error ? error : "failed");
	a.run_after = jobs_now(job->q) + jobs_backoff_ms(job->q, job->attempts);
	a.error = msg;
	rc = update_ours(job,
			 "UPDATE jobs SET state = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END, "
			 "run_after = $5, error = $6, lease_owner = NULL, lease_expires = 0, updated_at = $1 " OURS,
			 bind_fail, &a, e);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		job->lost = true;
		count(job->q, job->kind, "lost");
		return err_set(e, ERR_CONFLICT, "jobs: lease of job %s was lost before it failed", job->id);
	}
	count(job->q, job->kind, job->attempts >= job->max_attempts ? "failed" : "retry");
	return 0;
}

int jobs_run(struct jobs *q, struct job *job, struct err *e)
{
	jobs_handler_fn fn = NULL;
	void *ud = NULL;
	struct err he = ERR_INIT;
	int64_t t0 = clock_mono_ns();
	int rc;

	pthread_mutex_lock(&q->lock);
	for (int i = 0; i < q->nkinds; i++) {
		if (strcmp(q->kinds[i].name, job->kind) == 0) {
			fn = q->kinds[i].fn;
			ud = q->kinds[i].ud;
		}
	}
	pthread_mutex_unlock(&q->lock);
	if (!fn) {
		err_set(&he, ERR_UNSUPPORTED, "no handler for job kind %s", job->kind);
		rc = -1;
	} else {
		atomic_fetch_add(&q->in_flight, 1);
		metric_inc(q->m_in_flight, 1);
		rc = fn(job, ud, &he);
		metric_inc(q->m_in_flight, -1);
		atomic_fetch_sub(&q->in_flight, 1);
	}
	log_kv(rc == 0 ? LOG_INFO : LOG_WARN, NULL, rc == 0 ? "job done" : "job failed",
	       LOG_FIELDS(LOG_STR("job", job->id), LOG_STR("kind", job->kind), LOG_STR("subject", job->subject),
			  LOG_INT("attempt", job->attempts), LOG_INT("ms", (clock_mono_ns() - t0) / 1000000),
			  LOG_STR("error", rc == 0 ? "" : he.msg)));
	if (job->lost) {
		count(q, job->kind, "lost");
		return err_set(e, ERR_CONFLICT, "jobs: lease of job %s was lost", job->id);
	}
	if (rc == 0)
		return jobs_complete(job, e) < 0 ? -1 : 0;
	if (atomic_load(&q->abandon))
		return err_set(e, ERR_TIMEOUT, "jobs: job %s abandoned at shutdown; its lease will expire", job->id);
	return jobs_fail(job, he.msg[0] ? he.msg : "failed", e) < 0 ? -1 : 1;
}
