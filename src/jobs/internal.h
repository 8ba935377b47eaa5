/* internal.h — what the queue (queue.c), the worker pool (workers.c) and the readers (read.c)
 * share. Not part of the public interface. */
#ifndef TONEARM_JOBS_INTERNAL_H
#define TONEARM_JOBS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "jobs/jobs.h"

#define JOBS_MAX_KINDS 32
#define JOBS_MAX_WORKERS 256
#define JOBS_OWNER_MAX 128

struct jobs_kind {
	char name[JOBS_KIND_MAX + 1];
	jobs_handler_fn fn;
	void *ud;
};

struct jobs_worker {
	struct jobs *q;
	pthread_t thread;
	char owner[JOBS_OWNER_MAX];
};

struct jobs {
	struct db *db;
	struct jobs_options opt;

	pthread_mutex_t lock;        /* guards everything below */
	struct jobs_kind kinds[JOBS_MAX_KINDS];
	int nkinds;
	char *claim_sql;             /* built from nkinds when workers start or claim first runs */
	int claim_sql_kinds;

	/* worker pool */
	pthread_cond_t wake;         /* an enqueue or a stop: idle workers look again */
	pthread_cond_t idle;         /* a handler finished: jobs_workers_stop looks again */
	struct jobs_worker *workers;
	int nworkers;
	bool stopping;
	atomic_bool abandon;         /* stop's grace period ran out: handlers should stop */
	atomic_int in_flight;

	struct metric_family *m_total;
	struct metric *m_in_flight;
};

struct job {
	struct jobs *q;
	char id[ID_LEN + 1];
	char *kind, *subject, *payload;
	char owner[JOBS_OWNER_MAX];
	int attempts, max_attempts;
	bool lost;
};

int64_t jobs_now(const struct jobs *q);

#endif
