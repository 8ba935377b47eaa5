/* serve.c — `tonearm serve`: wire the ports, the API and the HTTP server, run until SIGTERM or
 * SIGINT, then drain and stop. */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/auth.h"
#include "api/catalog.h"
#include "api/hls.h"
#include "api/oauth.h"
#include "api/uploads.h"
#include "auth/auth.h"
#include "base/clock.h"
#include "base/config.h"
#include "base/log.h"
#include "base/metrics.h"
#include "catalog/catalog.h"
#include "cli/stream.h"
#include "cli/commands.h"
#include "cli/jobs.h"
#include "cli/limits.h"
#include "cli/mail.h"
#include "cli/setup.h"
#include "cli/user.h"
#include "db/db.h"
#include "db/migrate.h"
#include "http/http.h"
#include "ingest/ingest.h"
#include "ingest/upload.h"
#include "jobs/jobs.h"
#include "mail/mail.h"
#include "media/stack.h"
#include "store/store.h"

static struct http_server *volatile running_server;

/* Authentication runs before every handler (api/auth.h); rate limiting will join it here. */
static const struct http_hook auth_hooks[] = { { "auth", api_auth_hook } };

static void on_stop_signal(int sig)
{
	(void)sig;
	if (running_server)
		http_server_stop(running_server);
}

static int install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0)
		return -1;
	sa.sa_handler = SIG_IGN;
	return sigaction(SIGPIPE, &sa, NULL);
}

int cmd_serve(const struct config *conf, int argc, char **argv)
{
	struct api app = { 0 };
	struct http_server *srv = NULL;
	struct err e = ERR_INIT;
	struct http_server_options opt = { 0 };
	struct cli_jobs_deps jobs_deps = { 0 };
	struct stream *stream = NULL;
	int ret = 1;

	if (cli_no_args("serve", argc, argv) < 0)
		return 2;
	cli_setup_logging(conf);
	/* The media stack is loaded at the first upload or job, not now; but whether it is
	 * installed is known now, and a broken install should not wait for a song to show. */
	if (media_stack_check(&e) < 0)
		goto out;
	app.started_ms = clock_now_ms();
	app.metrics = metrics_new();
	if (!app.metrics || metrics_process_register(app.metrics) < 0) {
		err_set(&e, ERR_NOMEM, "cannot create the metrics registry");
		goto out;
	}
	if (cli_open_db(conf, &app.db, &e) < 0 || db_migrate(app.db, &e) < 0)
		goto out;
	app.catalog = catalog_new(app.db, &e);
	if (!app.catalog)
		goto out;
	if (cli_open_auth(conf, app.db, &app.auth, &e) < 0 || cli_bootstrap_admin(conf, app.auth, &e) < 0)
		goto out;
	if (cli_open_store(conf, &app.store, &e) < 0)
		goto out;
	if (cli_open_mail(conf, &app.mail, &e) < 0)
		goto out;
	app.verify_ttl_ms = conf->verify_token_ttl;
	app.reset_ttl_ms = conf->reset_token_ttl;
	app.ingest = ingest_new(app.db, app.store, app.catalog, &e);
	if (!app.ingest)
		goto out;
	/* The job queue: ingest enqueues into it; workers start once the server is built. */
	app.jobs = cli_jobs_new(conf, app.db, app.metrics, &e);
	if (!app.jobs)
		goto out;
	stream = cli_stream_new(conf, app.db, app.store, app.catalog, &e);
	if (!stream)
		goto out;
	jobs_deps.stream = stream;
	app.stream = stream;
	app.hls = api_hls_new(stream, app.store, &e);
	if (!app.hls)
		goto out;
	if (api_track_json_cache(&app, (size_t)conf->track_json_cache, &e) < 0)
		goto out;
	jobs_deps.db = app.db;
	jobs_deps.store = app.store;
	if (cli_jobs_register_all(app.jobs, conf, &jobs_deps, &e) < 0)
		goto out;
	ingest_set_jobs(app.ingest, app.jobs);
	{
		struct upload_options uo = { .max_size = conf->upload_max_size, .expiry_ms = conf->upload_expiry,
					     .complete = api_uploads_ingest, .complete_ctx = app.ingest };

		app.uploads = upload_new(app.db, app.store, &uo, &e);
		if (!app.uploads)
			goto out;
	}

	memset(&opt, 0, sizeof(opt));
	opt.listen = conf->listen;
	opt.threads = conf->threads;
	opt.handler_threads = conf->handler_threads;
	opt.max_body = (size_t)conf->max_body;
	opt.max_json = (size_t)conf->max_json;
	opt.shutdown_timeout_ms = (int)conf->shutdown_timeout;
	opt.access_log = conf->access_log;
	opt.metrics = app.metrics;
	opt.routes = api_routes(&opt.nroutes);
	opt.app = &app;
	opt.hooks = auth_hooks;
	opt.nhooks = sizeof(auth_hooks) / sizeof(auth_hooks[0]);
	/* Rate limits, sign-in throttle, connection limits, timeouts, TLS, CORS (cli/limits.c);
	 * replaces the hooks with auth + the per-account bucket. */
	if (cli_limits_open(conf, &app, &opt, &e) < 0)
		goto out;
	srv = http_server_new(&opt, &e);
	if (!srv)
		goto out;
	api_oauth_set_issuer(&app, conf->public_url, conf->listen, http_server_port(srv));
	running_server = srv;
	if (install_signals() < 0) {
		err_set(&e, ERR_INTERNAL, "cannot install signal handlers");
		goto out;
	}
	log_kv(LOG_INFO, NULL, "listening",
	       LOG_FIELDS(LOG_STR("listen", conf->listen), LOG_INT("port", http_server_port(srv)),
			  LOG_STR("db", db_backend_name(app.db)), LOG_STR("store", store_backend_name(app.store)),
			  LOG_STR("version", TONEARM_VERSION)));
	if (conf->workers > 0 && jobs_workers_start(app.jobs, conf->workers, NULL, &e) < 0)
		goto out;
	/* Start-up (migrations on a fresh database above all) allocated and freed more than an idle
	 * server keeps; give the free heap pages back rather than hold them resident. */
	malloc_trim(0);
	/* Then keep up to 4 MiB free per malloc arena rather than glibc's 128 KiB (its dynamic
	 * threshold stops moving once set). A page of tracks is a 50 KB buffer made on a handler
	 * thread and freed on a loop thread once sent: at the default, the arenas' tops were given
	 * back to the kernel (madvise, brk) and faulted in again on nearly every page; that was a
	 * sixth of the page's CPU, TLB shootdowns across both cores included. */
	mallopt(M_TRIM_THRESHOLD, 4 << 20);
	if (http_server_run(srv, &e) < 0)
		goto out;
	/* HTTP has drained: nothing enqueues any more. Running jobs get the same grace. */
	jobs_workers_stop(app.jobs, (int)conf->shutdown_timeout);
	log_kv(LOG_INFO, NULL, "stopped", NULL);
	ret = 0;
out:
	if (ret != 0) {
		log_kv(LOG_ERROR, NULL, "cannot serve", LOG_FIELDS(LOG_STR("error", e.msg)));
		fprintf(stderr, "tonearm: %s\n", e.msg);
	}
	running_server = NULL;
	if (srv)
		http_server_free(srv);
	cli_limits_release(&opt, &app);
	upload_free(app.uploads);
	jobs_free(app.jobs); /* stops workers still running on an error path */
	api_hls_free(app.hls);
	api_track_json_cache_free(&app);
	stream_free(stream);
	ingest_free(app.ingest);
	catalog_free(app.catalog);
	auth_free(app.auth);
	mail_close(app.mail);
	if (app.store)
		store_close(app.store);
	if (app.db)
		db_close(app.db);
	if (app.metrics)
		metrics_free(app.metrics);
	return ret;
}
