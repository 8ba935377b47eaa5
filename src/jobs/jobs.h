/* jobs.h — a durable job queue in the database, with leases, retries and a worker pool.
 *
 * A job is a row of the `jobs` table (migration 0008_jobs.sql): a kind ("transcode"), a
 * subject (what it is about, e.g. a track id), an optional JSON payload, and a state:
 *
 *   queued  ──claim──▶ running ──handler returns 0──▶ done
 *     ▲                   │
 *     └──handler fails────┘  (run_after = now + backoff; attempts < max_attempts)
 *                         └──▶ failed      (attempts reached max_attempts; error kept)
 *
 * Claiming takes a lease: the row names its owner (hostname:pid:thread) and the time the
 * lease expires. A running job whose lease expired (its worker died, or hung without
 * heartbeating) is claimable again, and that claim counts as a further attempt — so a job
 * that crashes its process is retried and eventually fails instead of looping forever.
 * Claiming is safe across threads, processes and machines sharing the database (SQLite:
 * BEGIN IMMEDIATE; PostgreSQL: FOR UPDATE SKIP LOCKED). Every state change after the claim
 * is conditional on the row still being ours, so a worker whose lease was taken over can
 * no longer complete or fail the job.
 *
 * Consequence for handlers: a job may run more than once (a lease lost mid-run, a crash
 * after the work but before the completion was recorded). Handlers must be idempotent —
 * write objects under deterministic keys (the store makes a write visible only at commit),
 * then record rows pointing at them, in that order.
 *
 * Enqueueing is idempotent per (kind, subject): while a job of that kind and subject is
 * queued or running, enqueueing again returns the existing job (a unique partial index
 * enforces it, also across processes).
 *
 * Threads: struct jobs is thread-safe. A struct job belongs to the thread running it.
 */
#ifndef TONEARM_JOBS_JOBS_H
#define TONEARM_JOBS_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/id.h"

struct db;
struct metrics;
struct jobs;
struct job; /* a claimed job, handed to a handler */

/* Handle one claimed job. Return 0 when the work is done (the job becomes done), -1 with *e
 * set when it failed (the job is retried with backoff, or marked failed with e->msg kept
 * once attempts reach max_attempts). `job` and everything read from it are valid only
 * during the call. A long handler calls job_progress() regularly (well within the lease)
 * and stops, returning -1, when it reports the lease lost or job_should_stop() is true. */
typedef int (*jobs_handler_fn)(struct job *job, void *ud, struct err *e);

struct jobs_options {
	int64_t lease_ms;       /* lease length; a heartbeat extends it by as much. 0: 30000 */
	int poll_ms;            /* idle workers look for due jobs this often. 0: 1000 */
	int max_attempts;       /* for jobs enqueued by this handle. 0: 5 */
	int64_t backoff_base_ms;/* first retry after ~base, then 2^attempts × base. 0: 1000 */
	int64_t backoff_cap_ms; /* longest backoff. 0: 600000 (10 min) */
	struct metrics *metrics;/* may be NULL: tonearm_jobs_total{kind,outcome},
				 * tonearm_jobs_in_flight */
	/* Tests only: the clock (milliseconds since the epoch) used for run_after and leases.
	 * NULL: clock_now_ms. */
	int64_t (*now_ms)(void *ud);
	void *now_ud;
};

/* Make a queue on `db` (already migrated: the `jobs` table must exist). `opt` may be NULL for
 * the defaults; it is copied. The database must outlive the queue. Returns a handle freed
 * with jobs_free(), or NULL with *e set (ERR_NOMEM, ERR_INVALID for negative options). */
struct jobs *jobs_new(struct db *db, const struct jobs_options *opt, struct err *e);

/* Stop the workers if they run (jobs_workers_stop with its default timeout) and free the
 * handle. NULL is a no-op. */
void jobs_free(struct jobs *q);

/* Route jobs of `kind` (1–64 characters) to `fn` with user data `ud`. Register before
 * jobs_workers_start(); registering a kind again replaces its handler. Workers only claim
 * kinds registered here, so processes with different handler sets can share one table.
 * 0, or -1 with *e set (ERR_INVALID bad kind, ERR_CONFLICT workers already running,
 * ERR_NOMEM). */
int jobs_register(struct jobs *q, const char *kind, jobs_handler_fn fn, void *ud);

/* Add a job of `kind` about `subject` (1–256 characters; e.g. a track id) with an optional
 * JSON payload (NULL: none; at most 64 KiB; it is stored as given, not parsed). If a job of
 * the same kind and subject is already queued or running, nothing is added and that job's id
 * is returned. Wakes this process's idle workers. 0, or -1 with *e set (ERR_INVALID, or the
 * database's error). */
int jobs_enqueue(struct jobs *q, const char *kind, const char *subject, const char *payload_json,
		 struct err *e);

/* jobs_enqueue, also writing the new (or existing pending) job's id into `id_out` when it is
 * not NULL. */
int jobs_enqueue_id(struct jobs *q, const char *kind, const char *subject, const char *payload_json,
		    char id_out[ID_LEN + 1], struct err *e);

/* ---- what a handler reads and reports ---- */

/* The claimed job's fields: strings owned by the job, valid while the handler runs.
 * job_payload is NULL when the job has none. job_attempts counts this run (1 on the first). */
const char *job_id(const struct job *job);
const char *job_kind(const struct job *job);
const char *job_subject(const struct job *job);
const char *job_payload(const struct job *job);
int job_attempts(const struct job *job);
int job_max_attempts(const struct job *job);

/* Record progress (`fraction` clamped to 0..1; `step` up to 64 characters, e.g. "encoding",
 * NULL keeps the previous step) and extend the lease — the heartbeat. Returns 0, or -1 when
 * the handler must stop and return -1 without writing further results: the lease was lost
 * (the row is no longer ours: another worker claimed it after our lease expired, or it was
 * settled), or the pool is stopping and its grace period ran out (job_should_stop). A database error is not a lost lease: it is logged and 0 is returned (the lease
 * may still run out; the next heartbeat will tell). */
int job_progress(struct job *job, double fraction, const char *step);

/* True when the handler should stop early: the lease was lost, or the worker pool is
 * stopping and its grace period ran out. Cheap: no database access. */
bool job_should_stop(const struct job *job);

/* ---- worker pool ---- */

/* Start `n` (1–256) worker threads that claim and run jobs of the registered kinds until
 * jobs_workers_stop(). Each is named `owner_prefix`:thread-number in leases (NULL: the
 * default "hostname:pid"). Idle workers wait poll_ms between looks, or less when this process
 * enqueues or a lease may expire. 0, or -1 with *e set (ERR_CONFLICT when already started,
 * ERR_INVALID, ERR_INTERNAL when a thread cannot start — none is left running then). */
int jobs_workers_start(struct jobs *q, int n, const char *owner_prefix, struct err *e);

/* Stop the workers: no new claims; running handlers get up to `timeout_ms` to finish (and
 * their outcome is recorded). After that job_should_stop() turns true for them and the call
 * keeps waiting for the threads to return — a handler that ignores it holds the stop up.
 * An abandoned job's lease simply expires and another worker retries it. A no-op when no
 * worker runs. */
void jobs_workers_stop(struct jobs *q, int timeout_ms);

/* Handlers running right now in this process. */
int jobs_in_flight(struct jobs *q);

/* ---- single steps, for tests and custom loops (the pool uses these) ---- */

/* Claim the oldest runnable job of a registered kind (queued with run_after <= now, or
 * running with an expired lease) for `owner`: attempts + 1, lease = now + lease_ms.
 * Returns 1 and *out (freed with job_free) when a job was claimed, 0 when none is due,
 * -1 with *e set on a database error. */
int jobs_claim(struct jobs *q, const char *owner, struct job **out, struct err *e);

/* Run the registered handler on a claimed job and record the outcome (jobs_complete or
 * jobs_fail). Returns 0 when the job ended done, 1 when it failed (retry or failed), -1
 * with *e set when recording the outcome failed (e.g. the lease was lost). Does not free
 * the job. */
int jobs_run(struct jobs *q, struct job *job, struct err *e);

/* Settle a claimed job: done, or failed with `error` (kept in the row; NULL: "failed"),
 * which re-queues it with backoff unless attempts reached max_attempts. Only while the row is
 * still ours: -1 with ERR_CONFLICT when the lease was lost; other database errors as is. */
int jobs_complete(struct job *job, struct err *e);
int jobs_fail(struct job *job, const char *error, struct err *e);

/* Free a claimed job (does not change its row). NULL is a no-op. */
void job_free(struct job *job);

/* The delay before retry number `attempts` (the attempts made so far, >= 1): base ×
 * 2^(attempts-1), capped, with ±25 % jitter, never below base/2. Exposed for tests. */
int64_t jobs_backoff_ms(const struct jobs *q, int attempts);

/* ---- reading the table (status endpoints, tests) ---- */

#define JOBS_KIND_MAX 64
#define JOBS_STEP_MAX 64
#define JOBS_ERROR_MAX 512
#define JOBS_SUBJECT_MAX 256

/* One job row as read. Strings are copies (truncated to fit); payload is not included. */
struct jobs_info {
	char id[ID_LEN + 1];
	char kind[JOBS_KIND_MAX + 1];
	char subject[JOBS_SUBJECT_MAX + 1];
	char state[16];         /* queued | running | done | failed */
	int attempts, max_attempts;
	double progress;        /* 0..1 */
	char step[JOBS_STEP_MAX + 1];
	char error[JOBS_ERROR_MAX + 1]; /* "" when none */
	char lease_owner[128];  /* "" when none */
	int64_t run_after, lease_expires, created_at, updated_at; /* ms since the epoch; 0 none */
};

/* The job with id `id`. 0, or -1 with *e set (ERR_NOT_FOUND, database errors). */
int jobs_get(struct jobs *q, const char *id, struct jobs_info *out, struct err *e);

/* The latest job (by creation) about `subject`, of `kind` or of any kind when kind is NULL.
 * 1 and *out when there is one, 0 when none, -1 with *e set. */
int jobs_latest(struct jobs *q, const char *kind, const char *subject, struct jobs_info *out,
		struct err *e);

/* Call `fn` for up to `limit` (1–1000) jobs, newest first, in state `state` (NULL: any) and
 * of kind `kind` (NULL: any), created before the job with id `before` (NULL: from the newest;
 * keyset paging). `fn` returning non-zero stops early. Returns the number of jobs passed to
 * fn, or -1 with *e set (ERR_INVALID for an unknown state). */
int jobs_list(struct jobs *q, const char *state, const char *kind, const char *before, int limit,
	      int (*fn)(const struct jobs_info *info, void *ud), void *ud, struct err *e);

/* Counts per state, for metrics and the admin view. 0, or -1 with *e set. */
struct jobs_counts {
	int64_t queued, running, done, failed;
};
int jobs_count(struct jobs *q, struct jobs_counts *out, struct err *e);

#endif
