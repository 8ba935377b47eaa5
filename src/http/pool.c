#include "http/pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct http_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct http_job *head, **tail;
	size_t queued, max_queued;
	bool stopping;
	int nthreads;
	pthread_t *threads;
};

static void *pool_main(void *arg)
{
	struct http_pool *p = arg;

	for (;;) {
		struct http_job *job;
		int spins = 0;

		pthread_mutex_lock(&p->lock);
		while (!p->head && !p->stopping) {
			/* Before sleeping, give way a few times: the loops (on the same cores) are
			 * usually about to hand over the next request, and a sleep costs a futex
			 * wait, a wake-up and two context switches per request. Measured on 2
			 * shared cores with 64 connections (docs/BENCHMARKS.md, browse): 5–10 us
			 * less CPU per small answer and more answers per second; 3 tries measured
			 * the same as 10. With nothing else ready, sched_yield returns at once. */
			if (spins++ < 3) {
				pthread_mutex_unlock(&p->lock);
				sched_yield();
				pthread_mutex_lock(&p->lock);
				continue;
			}
			pthread_cond_wait(&p->cond, &p->lock);
		}
		job = p->head;
		if (!job) { /* stopping and drained */
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		p->head = job->next;
		if (!p->head)
			p->tail = &p->head;
		p->queued--;
		pthread_mutex_unlock(&p->lock);
		job->next = NULL;
		job->run(job);
	}
}

struct http_pool *http_pool_new(int threads, size_t max_queued, struct err *e)
{
	struct http_pool *p = calloc(1, sizeof(*p));

	if (!p || threads <= 0 || !(p->threads = calloc((size_t)threads, sizeof(*p->threads)))) {
		free(p);
		err_set(e, threads <= 0 ? ERR_INVALID : ERR_NOMEM, "handler pool: cannot allocate");
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->tail = &p->head;
	p->max_queued = max_queued;
	for (; p->nthreads < threads; p->nthreads++) {
		int rc = pthread_create(&p->threads[p->nthreads], NULL, pool_main, p);

		if (rc != 0) {
			err_errno(e, ERR_INTERNAL, rc, "handler pool: starting thread %d", p->nthreads);
			http_pool_free(p);
			return NULL;
		}
	}
	return p;
}

int http_pool_submit(struct http_pool *p, struct http_job *job)
{
	int ret = -1;

	pthread_mutex_lock(&p->lock);
	if (p->stopping || p->queued >= p->max_queued)
		goto out;
	job->next = NULL;
	*p->tail = job;
	p->tail = &job->next;
	p->queued++;
	pthread_cond_signal(&p->cond);
	ret = 0;
out:
	pthread_mutex_unlock(&p->lock);
	return ret;
}

void http_pool_free(struct http_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	free(p);
}
