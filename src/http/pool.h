/* pool.h — the handler thread pool: a FIFO of jobs run by N threads.
 *
 * Generic on purpose: a job is an intrusive struct with a run callback; whoever submits it
 * decides how the result gets back (http/ posts it to the owning event loop through h2o's
 * multithread queue, see dispatch.c). The queue is bounded so that a flood of slow requests is
 * refused (503) instead of growing memory without limit.
 */
#ifndef TONEARM_HTTP_POOL_H
#define TONEARM_HTTP_POOL_H

#include <stddef.h>

#include "base/err.h"

struct http_job {
	struct http_job *next;              /* owned by the pool while queued */
	void (*run)(struct http_job *job);  /* runs on a pool thread */
};

struct http_pool;

/* A pool of `threads` threads (started now) holding at most `max_queued` waiting jobs.
 * NULL with `e` set when a thread cannot be started or memory runs out. */
struct http_pool *http_pool_new(int threads, size_t max_queued, struct err *e);

/* Queue a job. Returns 0, or -1 when the queue is full or the pool is stopping (the job is
 * then not queued and stays the caller's). Thread-safe. */
int http_pool_submit(struct http_pool *p, struct http_job *job);

/* Run every queued job, then stop and join the threads; then free the pool. NULL is a no-op. */
void http_pool_free(struct http_pool *p);

#endif
