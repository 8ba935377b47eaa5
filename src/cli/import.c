/* import.c — `tonearm import [--in-place] [--watch] [--jobs N] DIR`: take a music folder into
 * the catalogue, in parallel, with a progress bar (or a plain line per 100 files when stderr is
 * not a terminal), and a summary at the end. SIGINT lets the files in flight finish, prints the
 * summary and exits 130; running it again skips what is already in (import_files: path, size,
 * mtime). --watch then follows the folder with inotify (cli/import_watch.c). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/config.h"
#include "base/log.h"
#include "catalog/catalog.h"
#include "cli/commands.h"
#include "cli/import.h"
#include "cli/jobs.h"
#include "cli/setup.h"
#include "db/db.h"
#include "db/migrate.h"
#include "ingest/ingest.h"
#include "jobs/jobs.h"
#include "store/store.h"

volatile sig_atomic_t import_stop;

static void on_stop(int sig)
{
	(void)sig;
	import_stop = 1;
}

bool import_is_audio(const char *name)
{
	static const char *const exts[] = { "mp3", "m4a", "mp4", "aac", "alac", "flac", "ogg", "oga",
					    "opus", "wav", "aiff", "aif", "wv", "ape" };
	const char *dot = strrchr(name, '.');

	if (!dot || name[0] == '.')
		return false;
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
		if (strcasecmp(dot + 1, exts[i]) == 0)
			return true;
	return false;
}

/* ---- the walk ---- */

struct file_list {
	char **paths;
	size_t n, cap;
};

static int list_add(struct file_list *l, const char *path)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		char **p = realloc(l->paths, cap * sizeof(*p));

		if (!p)
			return -1;
		l->paths = p;
		l->cap = cap;
	}
	l->paths[l->n] = strdup(path);
	if (!l->paths[l->n])
		return -1;
	l->n++;
	return 0;
}

static void list_free(struct file_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->paths[i]);
	free(l->paths);
	memset(l, 0, sizeof(*l));
}

/* Depth-first, skipping hidden entries; symbolic links to folders are not followed (a loop
 * would never end), links to files are. */
static int walk(const char *dir, struct file_list *out, int depth)
{
	DIR *d;
	struct dirent *de;
	char path[PATH_MAX];
	int ret = 0;

	if (depth > 64)
		return 0;
	d = opendir(dir);
	if (!d) {
		fprintf(stderr, "tonearm import: cannot read %s: %s\n", dir, strerror(errno));
		return 0;
	}
	while ((de = readdir(d)) && ret == 0) {
		struct stat sb;

		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path))
			continue;
		if (de->d_type == DT_DIR) {
			ret = walk(path, out, depth + 1);
			continue;
		}
		if (de->d_type == DT_UNKNOWN) {
			if (lstat(path, &sb) < 0)
				continue;
			if (S_ISDIR(sb.st_mode)) {
				ret = walk(path, out, depth + 1);
				continue;
			}
		}
		if (import_is_audio(de->d_name) && list_add(out, path) < 0)
			ret = -1;
	}
	closedir(d);
	return ret;
}

/* ---- the workers ---- */

struct import_run {
	struct import_ctx *ctx;
	struct file_list files;
	atomic_size_t next, done;
	atomic_size_t added, duplicates, skipped, refused, failed;
	pthread_mutex_t lock; /* refused list and error lines */
	struct buf refusals;
};

static void *worker(void *arg)
{
	struct import_run *r = arg;

	for (;;) {
		size_t i;
		struct import_file_outcome o;

		if (import_stop)
			break;
		i = atomic_fetch_add(&r->next, 1);
		if (i >= r->files.n)
			break;
		import_one(r->ctx, r->files.paths[i], &o);
		switch (o.kind) {
		case IMPORT_ADDED: atomic_fetch_add(&r->added, 1); break;
		case IMPORT_DUPLICATE: atomic_fetch_add(&r->duplicates, 1); break;
		case IMPORT_SKIPPED: atomic_fetch_add(&r->skipped, 1); break;
		case IMPORT_REFUSED: atomic_fetch_add(&r->refused, 1); break;
		case IMPORT_FAILED: atomic_fetch_add(&r->failed, 1); break;
		}
		if (o.kind == IMPORT_REFUSED || o.kind == IMPORT_FAILED) {
			pthread_mutex_lock(&r->lock);
			buf_addf(&r->refusals, "  %s %s: %s\n", o.kind == IMPORT_REFUSED ? "refused" : "failed ",
				 import_rel(r->ctx, r->files.paths[i]), o.reason);
			pthread_mutex_unlock(&r->lock);
		}
		atomic_fetch_add(&r->done, 1);
	}
	return NULL;
}

const char *import_rel(const struct import_ctx *ctx, const char *path)
{
	size_t n = strlen(ctx->root);

	if (strncmp(path, ctx->root, n) == 0 && path[n] == '/')
		return path + n + 1;
	return path;
}

void import_one(struct import_ctx *ctx, const char *path, struct import_file_outcome *o)
{
	struct ingest_result res;
	struct err e = ERR_INIT;
	struct stat sb;
	int rc;

	memset(o, 0, sizeof(*o));
	if (stat(path, &sb) < 0) {
		o->kind = IMPORT_FAILED;
		snprintf(o->reason, sizeof(o->reason), "%s", strerror(errno));
		return;
	}
	rc = ingest_seen(ctx->ing, path, ctx->in_place, sb.st_size,
			 (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec, &e);
	if (rc == 1) {
		o->kind = IMPORT_SKIPPED;
		return;
	}
	if (rc < 0 || ingest_file(ctx->ing, path, import_rel(ctx, path), ctx->in_place, &res, &e) < 0) {
		o->kind = IMPORT_FAILED;
		snprintf(o->reason, sizeof(o->reason), "%s", e.msg);
		return;
	}
	snprintf(o->track_id, sizeof(o->track_id), "%s", res.track_id);
	switch (res.outcome) {
	case INGEST_ADDED: o->kind = IMPORT_ADDED; break;
	case INGEST_DUPLICATE: o->kind = IMPORT_DUPLICATE; break;
	case INGEST_REFUSED:
		o->kind = IMPORT_REFUSED;
		snprintf(o->reason, sizeof(o->reason), "%s", res.reason);
		break;
	}
}

static void progress(struct import_run *r, bool tty, int64_t start_ns, size_t *last_line, bool final)
{
	size_t done = atomic_load(&r->done), total = r->files.n;
	double secs = (double)(clock_mono_ns() - start_ns) / 1e9, rate = secs > 0 ? (double)done / secs : 0;
	double eta = rate > 0 ? (double)(total - done) / rate : 0;

	if (tty) {
		char bar[31];
		size_t fill = total ? done * 30 / total : 30;

		for (size_t i = 0; i < 30; i++)
			bar[i] = i < fill ? '#' : '-';
		bar[30] = '\0';
		fprintf(stderr, "\r[%s] %zu/%zu files  %.0f files/s  ETA %.0fs   ", bar, done, total, rate, eta);
		fflush(stderr);
		return;
	}
	/* Not a terminal (a log, CI): a plain line per 100 files. */
	while (*last_line + 100 <= done) {
		*last_line += 100;
		fprintf(stderr, "import: %zu/%zu files (%.0f files/s)\n", *last_line, total, rate);
	}
	if (final && *last_line != done) {
		*last_line = done;
		fprintf(stderr, "import: %zu/%zu files (%.0f files/s)\n", done, total, rate);
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The refused and failed files, one line each, sorted by path so runs compare. */
static void print_sorted_lines(char *text)
{
	size_t n = 0, i = 0;
	char **lines, *save = NULL, *l;

	for (const char *p = text; *p; p++)
		n += *p == '\n';
	lines = calloc(n + 1, sizeof(*lines));
	if (!lines) {
		fputs(text, stdout);
		return;
	}
	for (l = strtok_r(text, "\n", &save); l && i < n + 1; l = strtok_r(NULL, "\n", &save))
		lines[i++] = l;
	qsort(lines, i, sizeof(*lines), cmp_str);
	for (size_t k = 0; k < i; k++)
		printf("%s\n", lines[k]);
	free(lines);
}

static int first_pass(struct import_ctx *ctx, int jobs)
{
	struct import_run r;
	pthread_t *threads = NULL;
	int nthreads = 0, ret = 1;
	int64_t start = clock_mono_ns();
	bool tty = isatty(2);
	size_t last_line = 0;
	double secs;

	memset(&r, 0, sizeof(r));
	r.ctx = ctx;
	pthread_mutex_init(&r.lock, NULL);
	buf_init(&r.refusals, 0);
	if (walk(ctx->root, &r.files, 0) < 0) {
		fprintf(stderr, "tonearm import: out of memory listing %s\n", ctx->root);
		goto out;
	}
	threads = calloc((size_t)jobs, sizeof(*threads));
	if (!threads)
		goto out;
	for (nthreads = 0; nthreads < jobs; nthreads++)
		if (pthread_create(&threads[nthreads], NULL, worker, &r) != 0)
			break;
	if (nthreads == 0) {
		fprintf(stderr, "tonearm import: cannot start threads\n");
		goto out;
	}
	while (atomic_load(&r.done) < r.files.n && !(import_stop && atomic_load(&r.next) >= r.files.n)) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		progress(&r, tty, start, &last_line, false);
		if (import_stop)
			break;
		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	progress(&r, tty, start, &last_line, true);
	if (tty)
		fputc('\n', stderr);
	secs = (double)(clock_mono_ns() - start) / 1e9;
	printf("%s %zu of %zu files in %.1f s (%.0f files/s)%s\n", import_stop ? "stopped after" : "done:",
	       atomic_load(&r.done), r.files.n, secs, secs > 0 ? (double)atomic_load(&r.done) / secs : 0.0,
	       ctx->in_place ? ", in place" : "");
	printf("  imported:   %zu\n  duplicates: %zu\n  skipped:    %zu (already imported)\n  refused:    %zu\n",
	       atomic_load(&r.added), atomic_load(&r.duplicates), atomic_load(&r.skipped), atomic_load(&r.refused));
	if (atomic_load(&r.failed))
		printf("  failed:     %zu (not recorded; run again)\n", atomic_load(&r.failed));
	if (r.refusals.len)
		print_sorted_lines(r.refusals.data);
	fflush(stdout);
	ret = import_stop ? 130 : atomic_load(&r.failed) ? 1 : 0;
out:
	free(threads);
	list_free(&r.files);
	buf_release(&r.refusals);
	pthread_mutex_destroy(&r.lock);
	return ret;
}

static void usage(void)
{
	fputs("usage: tonearm import [--in-place] [--watch] [--jobs N] [--no-analyse | --analyse-now] DIR\n", stderr);
}

int cmd_import(const struct config *conf, int argc, char **argv)
{
	struct import_ctx ctx;
	struct db *db = NULL;
	struct store *st = NULL;
	struct catalog *cat = NULL;
	struct jobs *q = NULL;
	struct err e = ERR_INIT;
	struct sigaction sa;
	const char *dir = NULL;
	bool watch = false;
	int analyse = 1; /* 0: none (--no-analyse), 1: deferred to `analyse` jobs, 2: inline (--analyse-now) */
	long jobs = sysconf(_SC_NPROCESSORS_ONLN);
	char root[PATH_MAX];
	int ret = 1;

	memset(&ctx, 0, sizeof(ctx));
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--in-place") == 0) {
			ctx.in_place = true;
		} else if (strcmp(argv[i], "--watch") == 0) {
			watch = true;
		} else if (strcmp(argv[i], "--no-analyse") == 0) {
			analyse = 0;
		} else if (strcmp(argv[i], "--analyse-now") == 0) {
			analyse = 2;
		} else if (strcmp(argv[i], "--jobs") == 0 || strncmp(argv[i], "--jobs=", 7) == 0) {
			const char *v = argv[i][6] == '=' ? argv[i] + 7 : i + 1 < argc ? argv[++i] : "";
			char *end;

			errno = 0;
			jobs = strtol(v, &end, 10);
			if (errno || *end || end == v || jobs < 1 || jobs > 256) {
				fprintf(stderr, "tonearm import: --jobs wants a number from 1 to 256\n");
				return 2;
			}
		} else if (argv[i][0] == '-' || dir) {
			fprintf(stderr, "tonearm import: unknown option or argument '%s'\n", argv[i]);
			usage();
			return 2;
		} else {
			dir = argv[i];
		}
	}
	if (!dir) {
		usage();
		return 2;
	}
	if (!realpath(dir, root)) {
		fprintf(stderr, "tonearm import: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	if (jobs < 1)
		jobs = 1;
	ctx.root = root;
	/* The summary reports every refusal: the log says more only when asked for (debug). */
	log_setup(conf->log_level == LOG_DEBUG ? LOG_DEBUG : LOG_WARN, 2);
	if (cli_open_db(conf, &db, &e) < 0 || db_migrate(db, &e) < 0)
		goto out;
	cat = catalog_new(db, &e);
	if (!cat || cli_open_store(conf, &st, &e) < 0)
		goto out;
	ctx.ing = ingest_new(db, st, cat, &e);
	if (!ctx.ing)
		goto out;
	/* The analysis (one full decode per file) is most of an import's time: by default it is
	 * queued as `analyse` jobs for the workers, and the import catalogues metadata only. */
	if (analyse == 1)
		ingest_set_defer_analysis(ctx.ing, true);
	else
		ingest_set_analyse(ctx.ing, analyse == 2);
	/* Imported tracks are transcoded by the workers of `serve` or `tonearm worker`: the
	 * import only queues the jobs (nothing here runs them). */
	q = cli_jobs_new(conf, db, NULL, &e);
	if (!q)
		goto out;
	ingest_set_jobs(ctx.ing, q);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	ret = first_pass(&ctx, (int)jobs);
	if (ret == 0 && watch)
		ret = import_watch(&ctx);
out:
	if (ret == 1 && e.code != ERR_NONE)
		fprintf(stderr, "tonearm import: %s\n", e.msg);
	ingest_free(ctx.ing);
	jobs_free(q);
	catalog_free(cat);
	if (st)
		store_close(st);
	if (db)
		db_close(db);
	return ret;
}
