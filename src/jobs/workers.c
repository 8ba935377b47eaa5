/* workers.c — the worker pool: threads that claim and run jobs (see jobs.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "jobs/internal.h"

static void deadline_in(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *worker_main(void *arg)
{
	struct jobs_worker *w = arg;
	struct jobs *q = w->q;
	int64_t backoff_ms = 0;

	for (;;) {
		struct job *job = NULL;
		struct err e = ERR_INIT;
		int rc;

		pthread_mutex_lock(&q->lock);
		if (q->stopping) {
			pthread_mutex_unlock(&q->lock);
			break;
		}
		pthread_mutex_unlock(&q->lock);

		rc = jobs_claim(q, w->owner, &job, &e);
		if (rc == 1) {
			struct err re = ERR_INIT;

			backoff_ms = 0;
			if (jobs_run(q, job, &re) < 0)
				log_kv(LOG_WARN, NULL, "job outcome not recorded",
				       LOG_FIELDS(LOG_STR("job", job_id(job)), LOG_STR("error", re.msg)));
			job_free(job);
			pthread_mutex_lock(&q->lock);
			pthread_cond_broadcast(&q->idle);
			pthread_mutex_unlock(&q->lock);
			continue; /* there may be more due: look again at once */
		}
		if (rc < 0) {
			/* The database is away: back off up to a few polls rather than spin on errors. */
			log_kv(LOG_WARN, NULL, "job claim failed", LOG_FIELDS(LOG_STR("owner", w->owner), LOG_STR("error", e.msg)));
			backoff_ms = backoff_ms ? backoff_ms * 2 : q->opt.poll_ms;
			if (backoff_ms > 8 * (int64_t)q->opt.poll_ms)
				backoff_ms = 8 * (int64_t)q->opt.poll_ms;
		}
		pthread_mutex_lock(&q->lock);
		if (!q->stopping) {
			struct timespec ts;
			int64_t wait = backoff_ms ? backoff_ms : q->opt.poll_ms;

			/* An expired lease becomes claimable without anyone enqueueing, so idle
			 * workers never sleep longer than poll_ms. */
			deadline_in(&ts, wait);
			pthread_cond_timedwait(&q->wake, &q->lock, &ts);
		}
		pthread_mutex_unlock(&q->lock);
	}
	return NULL;
}

static void default_owner(char *out, size_t cap)
{
	char host[64];

	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	snprintf(out, cap, "%s:%ld", host, (long)getpid());
}

int jobs_workers_start(struct jobs *q, int n, const char *owner_prefix, struct err *e)
{
	char prefix[JOBS_OWNER_MAX - 8];
	int started = 0, ret = -1;

	if (n < 1 || n > JOBS_MAX_WORKERS)
		return err_set(e, ERR_INVALID, "jobs: workers must be 1-%d", JOBS_MAX_WORKERS);
	if (owner_prefix && (!*owner_prefix || strlen(owner_prefix) >= sizeof(prefix)))
		return err_set(e, ERR_INVALID, "jobs: owner name must be 1-%zu characters", sizeof(prefix) - 1);
	if (owner_prefix)
		snprintf(prefix, sizeof(prefix), "%s", owner_prefix);
	else
		default_owner(prefix, sizeof(prefix));
	pthread_mutex_lock(&q->lock);
	if (q->nworkers > 0 || q->workers) {
		pthread_mutex_unlock(&q->lock);
		return err_set(e, ERR_CONFLICT, "jobs: workers already running");
	}
	q->workers = calloc((size_t)n, sizeof(*q->workers));
	if (!q->workers) {
		pthread_mutex_unlock(&q->lock);
		return err_set(e, ERR_NOMEM, "jobs: out of memory");
	}
	q->stopping = false;
	atomic_store(&q->abandon, false);
	q->nworkers = n; /* also freezes registrations */
	pthread_mutex_unlock(&q->lock);
	for (started = 0; started < n; started++) {
		struct jobs_worker *w = &q->workers[started];

		w->q = q;
		snprintf(w->owner, sizeof(w->owner), "%s:%d", prefix, started + 1);
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
			err_set(e, ERR_INTERNAL, "jobs: cannot start worker thread %d", started + 1);
			goto out;
		}
	}
	log_kv(LOG_INFO, NULL, "job workers started", LOG_FIELDS(LOG_INT("workers", n), LOG_STR("owner", prefix)));
	ret = 0;
out:
	if (ret < 0) {
		pthread_mutex_lock(&q->lock);
		q->stopping = true;
		pthread_cond_broadcast(&q->wake);
		pthread_mutex_unlock(&q->lock);
		for (int i = 0; i < started; i++)
			pthread_join(q->workers[i].thread, NULL);
		pthread_mutex_lock(&q->lock);
		free(q->workers);
		q->workers = NULL;
		q->nworkers = 0;
		pthread_mutex_unlock(&q->lock);
	}
	return ret;
}

void jobs_workers_stop(struct jobs *q, int timeout_ms)
{
	struct timespec ts;
	int n;

	pthread_mutex_lock(&q->lock);
	n = q->nworkers;
	if (n == 0) {
		pthread_mutex_unlock(&q->lock);
		return;
	}
	q->stopping = true;
	pthread_cond_broadcast(&q->wake);
	deadline_in(&ts, timeout_ms > 0 ? timeout_ms : 0);
	while (atomic_load(&q->in_flight) > 0) {
		if (pthread_cond_timedwait(&q->idle, &q->lock, &ts) == ETIMEDOUT)
			break;
	}
	if (atomic_load(&q->in_flight) > 0) {
		/* Grace over: handlers see job_should_stop(); what they leave unfinished is retried
		 * by whoever claims it once its lease expires. */
		atomic_store(&q->abandon, true);
		log_kv(LOG_WARN, NULL, "abandoning running jobs", LOG_FIELDS(LOG_INT("in_flight", atomic_load(&q->in_flight))));
	}
	pthread_mutex_unlock(&q->lock);
	for (int i = 0; i < n; i++)
		pthread_join(q->workers[i].thread, NULL);
	pthread_mutex_lock(&q->lock);
	free(q->workers);
	q->workers = NULL;
	q->nworkers = 0;
	q->stopping = false;
	atomic_store(&q->abandon, false);
	pthread_mutex_unlock(&q->lock);
	log_kv(LOG_INFO, NULL, "job workers stopped", NULL);
}

int jobs_in_flight(struct jobs *q)
{
	return atomic_load(&q->in_flight);
}
