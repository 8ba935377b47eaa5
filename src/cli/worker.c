/* worker.c — `tonearm worker [--jobs N]`: run job workers without the HTTP server, until
 * SIGTERM or SIGINT; and `tonearm jobs …`: enqueue and inspect jobs from the command line. */
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "base/log.h"
#include "cli/commands.h"
#include "cli/jobs.h"
#include "cli/setup.h"
#include "db/db.h"
#include "db/migrate.h"
#include "jobs/jobs.h"
#include "media/stack.h"
#include "catalog/catalog.h"
#include "cli/stream.h"
#include "store/store.h"

static int parse_jobs_flag(int argc, char **argv, int *n)
{
	for (int i = 0; i < argc; i++) {
		const char *v = NULL;
		char *end;
		long x;

		if (strcmp(argv[i], "--jobs") == 0 && i + 1 < argc)
			v = argv[++i];
		else if (strncmp(argv[i], "--jobs=", 7) == 0)
			v = argv[i] + 7;
		else {
			fprintf(stderr, "tonearm worker: unexpected argument '%s' (usage: worker [--jobs N])\n", argv[i]);
			return -1;
		}
		x = strtol(v, &end, 10);
		if (*v == '\0' || *end != '\0' || x < 1 || x > 256) {
			fprintf(stderr, "tonearm worker: --jobs wants 1-256\n");
			return -1;
		}
		*n = (int)x;
	}
	return 0;
}

int cmd_worker(const struct config *conf, int argc, char **argv)
{
	struct err e = ERR_INIT;
	struct db *db = NULL;
	struct store *store = NULL;
	struct jobs *q = NULL;
	struct cli_jobs_deps deps = { 0 };
	struct catalog *cat = NULL;
	struct stream *stream = NULL;
	sigset_t stop;
	int n = conf->workers > 0 ? conf->workers : 1;
	int sig = 0, ret = 1;

	if (parse_jobs_flag(argc, argv, &n) < 0)
		return 2;
	cli_setup_logging(conf);
	/* The media stack is loaded at the first upload or job, not now; but whether it is
	 * installed is known now, and a broken install should not wait for a song to show. */
	if (media_stack_check(&e) < 0)
		goto out;
	/* Block the stop signals before any thread starts (threads inherit the mask), then wait
	 * for one here: no async-signal-safety concerns. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (cli_open_db(conf, &db, &e) < 0 || db_migrate(db, &e) < 0)
		goto out;
	if (cli_open_store(conf, &store, &e) < 0)
		goto out;
	q = cli_jobs_new(conf, db, NULL, &e);
	if (!q)
		goto out;
	cat = catalog_new(db, &e);
	if (!cat || !(stream = cli_stream_new(conf, db, store, cat, &e)))
		goto out;
	deps.stream = stream;
	deps.db = db;
	deps.store = store;
	if (cli_jobs_register_all(q, conf, &deps, &e) < 0)
		goto out;
	if (jobs_workers_start(q, n, NULL, &e) < 0)
		goto out;
	log_kv(LOG_INFO, NULL, "worker running",
	       LOG_FIELDS(LOG_INT("jobs", n), LOG_INT("pid", getpid()), LOG_STR("db", db_backend_name(db))));
	if (sigwait(&stop, &sig) != 0)
		sig = 0;
	log_kv(LOG_INFO, NULL, "worker stopping", LOG_FIELDS(LOG_INT("signal", sig)));
	jobs_workers_stop(q, (int)conf->shutdown_timeout);
	ret = 0;
out:
	if (ret != 0) {
		log_kv(LOG_ERROR, NULL, "cannot run workers", LOG_FIELDS(LOG_STR("error", e.msg)));
		fprintf(stderr, "tonearm: %s\n", e.msg);
	}
	jobs_free(q);
	stream_free(stream);
	catalog_free(cat);
	if (store)
		store_close(store);
	if (db)
		db_close(db);
	return ret;
}

static int print_info(const struct jobs_info *in, void *ud)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:f, s:s, s:s, s:s, s:I, s:I, s:I}", "id", in->id,
			      "kind", in->kind, "subject", in->subject, "state", in->state, "attempts", in->attempts,
			      "max_attempts", in->max_attempts, "progress", in->progress, "step", in->step, "error",
			      in->error, "lease_owner", in->lease_owner, "run_after", (json_int_t)in->run_after,
			      "created_at", (json_int_t)in->created_at, "updated_at", (json_int_t)in->updated_at);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	(void)ud;
	if (s)
		printf("%s\n", s);
	free(s);
	json_decref(o);
	return 0;
}

/* Every row of the sleep kind's table, one JSON object a line (tests only). */
static int print_test_writes(struct db *db, struct err *e)
{
	struct db_conn *c = db_acquire(db, e);
	struct db_stmt *s = NULL;
	int rc = -1;

	if (!c)
		return -1;
	s = db_prepare(c, "SELECT object_key, subject, job_id, attempt, writes FROM jobs_test_writes ORDER BY object_key",
		       e);
	if (!s)
		goto out;
	while ((rc = db_step(s, e)) == 1) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I}", "object_key", db_col_text(s, 0), "subject",
				      db_col_text(s, 1), "job_id", db_col_text(s, 2), "attempt",
				      (json_int_t)db_col_int(s, 3), "writes", (json_int_t)db_col_int(s, 4));
		char *str = o ? json_dumps(o, JSON_COMPACT) : NULL;

		if (str)
			printf("%s\n", str);
		free(str);
		json_decref(o);
	}
out:
	db_finalize(s);
	db_release(c);
	return rc < 0 ? -1 : 0;
}

int cmd_jobs(const struct config *conf, int argc, char **argv)
{
	struct err e = ERR_INIT;
	struct db *db = NULL;
	struct jobs *q = NULL;
	const char *verb = argc > 0 ? argv[0] : "";
	int ret = 1;

	if (strcmp(verb, "enqueue") != 0 && strcmp(verb, "list") != 0 && strcmp(verb, "test-writes") != 0) {
		fprintf(stderr, "usage: tonearm jobs enqueue KIND SUBJECT [PAYLOAD_JSON]\n"
				"       tonearm jobs list [STATE]     (the newest 1000, JSON lines)\n");
		return 2;
	}
	cli_setup_logging(conf);
	if (cli_open_db(conf, &db, &e) < 0 || db_migrate(db, &e) < 0)
		goto out;
	q = cli_jobs_new(conf, db, NULL, &e);
	if (!q)
		goto out;
	if (strcmp(verb, "enqueue") == 0) {
		char id[ID_LEN + 1];

		if (argc < 3 || argc > 4) {
			fprintf(stderr, "usage: tonearm jobs enqueue KIND SUBJECT [PAYLOAD_JSON]\n");
			ret = 2;
			goto out;
		}
		if (strcmp(argv[1], "sleep") == 0 && !conf->test_jobs) {
			err_set(&e, ERR_INVALID, "the sleep job kind needs test_jobs = true");
			goto out;
		}
		if (jobs_enqueue_id(q, argv[1], argv[2], argc > 3 ? argv[3] : NULL, id, &e) < 0)
			goto out;
		printf("%s\n", id);
	} else if (strcmp(verb, "list") == 0) {
		/* The newest 1000 (the admin API pages further). */
		if (jobs_list(q, argc > 1 ? argv[1] : NULL, NULL, NULL, 1000, print_info, NULL, &e) < 0)
			goto out;
	} else {
		if (!conf->test_jobs) {
			err_set(&e, ERR_INVALID, "test-writes needs test_jobs = true");
			goto out;
		}
		if (print_test_writes(db, &e) < 0)
			goto out;
	}
	ret = 0;
out:
	if (ret == 1)
		fprintf(stderr, "tonearm: %s\n", e.msg);
	jobs_free(q);
	if (db)
		db_close(db);
	return ret;
}
