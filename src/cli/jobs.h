/* jobs.h (cli) — the one place that says which job kinds this build handles, for both
 * `tonearm serve` (its worker threads) and `tonearm worker`, and the hidden `sleep` test kind. */
#ifndef TONEARM_CLI_JOBS_H
#define TONEARM_CLI_JOBS_H

#include "base/err.h"

struct config;
struct db;
struct store;
struct jobs;
struct stream;
struct metrics;

/* What the handlers run on; borrowed, they outlive the queue's workers. */
struct cli_jobs_deps {
	struct db *db;
	struct store *store;
	struct stream *stream; /* the transcode ladder; NULL: no `transcode` handler here */
};

/* Register every job kind this process handles on `q`: `transcode` (when deps->stream is
 * set; it also analyses a track that has no analysis yet), `analyse` (when deps->store is set;
 * a decode of its own, for jobs queued before the transcode job analysed), and `sleep` when
 * conf->test_jobs is on. Call
 * before jobs_workers_start. 0, or -1 with *e set. */
int cli_jobs_register_all(struct jobs *q, const struct config *conf, const struct cli_jobs_deps *deps,
			  struct err *e);

/* The queue options from the configuration (job_lease; metrics may be NULL). */
struct jobs *cli_jobs_new(const struct config *conf, struct db *db, struct metrics *metrics, struct err *e);

#endif
