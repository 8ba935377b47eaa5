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
#include "media/stack.h"
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

/* Files recorded per database transaction. Each transaction costs the same WAL frames for the
 * pages every file touches (the catalogue's indexes, the jobs table, import_files) and, in the
 * end, checkpoint syncs; 256 files share them (and, copying, one syncfs of the store). A batch
 * holds its files' tags and catalogue input in memory (no descriptors, no pictures): about
 * 16 KiB each. Measured on 5,000 files in place, `--jobs 2`, medians of 7: 32 files 0.70 s,
 * 64 0.62–0.65 s, 128 0.58 s, 256 0.55–0.56 s (peak 47 MiB), 512 0.57 s (53 MiB), 1,024 0.60 s
 * (64 MiB). */
#define IMPORT_BATCH 256

struct import_batch {
	struct ingest_item *items[IMPORT_BATCH];
	const char *paths[IMPORT_BATCH];
	size_t n;
};

struct import_run {
	struct import_ctx *ctx;
	struct file_list files;
	atomic_size_t next, done;
	atomic_size_t added, duplicates, skipped, refused, failed;
	pthread_mutex_t lock; /* refused list and error lines */
	struct buf refusals;
	pthread_mutex_t batch_lock;  /* guards pending */
	struct import_batch pending; /* prepared files waiting for their transaction */
	/* One batch is recorded at a time: the import's threads then never wait for each other
	 * in SQLite's busy handler (which sleeps in steps of up to 100 ms). */
	pthread_mutex_t record_lock;
	int running;                 /* workers not yet out of their loop (batch_lock) */
	pthread_mutex_t end_lock;
	pthread_cond_t end;          /* a worker finished: the main thread stops waiting at once */
	int finished;                /* workers done with their last batch (end_lock) */
};

static void account(struct import_run *r, const char *path, const struct import_file_outcome *o)
{
	switch (o->kind) {
	case IMPORT_ADDED: atomic_fetch_add(&r->added, 1); break;
	case IMPORT_DUPLICATE: atomic_fetch_add(&r->duplicates, 1); break;
	case IMPORT_SKIPPED: atomic_fetch_add(&r->skipped, 1); break;
	case IMPORT_REFUSED: atomic_fetch_add(&r->refused, 1); break;
	case IMPORT_FAILED: atomic_fetch_add(&r->failed, 1); break;
	}
	if (o->kind == IMPORT_REFUSED || o->kind == IMPORT_FAILED) {
		pthread_mutex_lock(&r->lock);
		buf_addf(&r->refusals, "  %s %s: %s\n", o->kind == IMPORT_REFUSED ? "refused" : "failed ",
			 import_rel(r->ctx, path), o->reason);
		pthread_mutex_unlock(&r->lock);
	}
	atomic_fetch_add(&r->done, 1);
}

static void outcome_of(const struct ingest_result *res, struct import_file_outcome *o)
{
	snprintf(o->track_id, sizeof(o->track_id), "%s", res->track_id);
	switch (res->outcome) {
	case INGEST_ADDED: o->kind = IMPORT_ADDED; break;
	case INGEST_DUPLICATE: o->kind = IMPORT_DUPLICATE; break;
	case INGEST_REFUSED:
		o->kind = IMPORT_REFUSED;
		snprintf(o->reason, sizeof(o->reason), "%s", res->reason);
		break;
	}
}

/* Record a batch in one transaction and count what each file came to. */
static void flush(struct import_run *r, struct import_batch *b)
{
	/* 150 KB for a whole batch: the heap's, not a worker's stack. */
	struct ingest_result *res = calloc(IMPORT_BATCH, sizeof(*res));
	struct err *errs = calloc(IMPORT_BATCH, sizeof(*errs)), e = ERR_INIT;

	if (b->n == 0)
		goto out;
	if (!res || !errs) {
		for (size_t i = 0; i < b->n; i++) {
			struct import_file_outcome o = { .kind = IMPORT_FAILED };

			snprintf(o.reason, sizeof(o.reason), "out of memory");
			account(r, b->paths[i], &o);
			ingest_item_free(b->items[i]);
		}
		b->n = 0;
		goto out;
	}
	pthread_mutex_lock(&r->record_lock);
	ingest_items_record(r->ctx->ing, b->items, b->n, res, errs, &e);
	pthread_mutex_unlock(&r->record_lock);
	for (size_t i = 0; i < b->n; i++) {
		struct import_file_outcome o;

		memset(&o, 0, sizeof(o));
		if (errs[i].code != ERR_NONE) {
			o.kind = IMPORT_FAILED;
			snprintf(o.reason, sizeof(o.reason), "%s", errs[i].msg);
		} else {
			outcome_of(&res[i], &o);
		}
		account(r, b->paths[i], &o);
		ingest_item_free(b->items[i]);
	}
	b->n = 0;
out:
	free(res);
	free(errs);
}

/* import_one's first half: skipped, failed, or prepared (*item set, to be recorded). */
static void prepare_one(struct import_ctx *ctx, const char *path, struct ingest_item **item,
			struct import_file_outcome *o)
{
	struct err e = ERR_INIT;
	struct ingest_stat seen;
	struct stat sb;
	int rc;

	memset(o, 0, sizeof(*o));
	*item = NULL;
	if (stat(path, &sb) < 0) {
		o->kind = IMPORT_FAILED;
		snprintf(o->reason, sizeof(o->reason), "%s", strerror(errno));
		return;
	}
	seen.size = sb.st_size;
	seen.mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
	rc = ingest_file_prepare(ctx->ing, path, import_rel(ctx, path), ctx->in_place, &seen, item, &e);
	if (rc == 1) {
		o->kind = IMPORT_SKIPPED;
	} else if (rc < 0) {
		o->kind = IMPORT_FAILED;
		snprintf(o->reason, sizeof(o->reason), "%s", e.msg);
	}
}

static void *worker(void *arg)
{
	struct import_run *r = arg;
	struct import_batch full;

	full.n = 0;
	for (;;) {
		size_t i;
		struct import_file_outcome o;
		struct ingest_item *item;

		if (import_stop)
			break;
		i = atomic_fetch_add(&r->next, 1);
		if (i >= r->files.n)
			break;
		prepare_one(r->ctx, r->files.paths[i], &item, &o);
		if (!item) {
			account(r, r->files.paths[i], &o);
			continue;
		}
		pthread_mutex_lock(&r->batch_lock);
		r->pending.items[r->pending.n] = item;
		r->pending.paths[r->pending.n] = r->files.paths[i];
		if (++r->pending.n == IMPORT_BATCH) {
			full = r->pending;
			r->pending.n = 0;
		}
		pthread_mutex_unlock(&r->batch_lock);
		flush(r, &full);
	}
	/* The last worker out records what is left. */
	pthread_mutex_lock(&r->batch_lock);
	if (--r->running == 0) {
		full = r->pending;
		r->pending.n = 0;
	}
	pthread_mutex_unlock(&r->batch_lock);
	flush(r, &full);
	pthread_mutex_lock(&r->end_lock);
	r->finished++;
	pthread_cond_signal(&r->end);
	pthread_mutex_unlock(&r->end_lock);
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
	struct ingest_item *item;
	struct ingest_result res;
	struct err e = ERR_INIT, fe = ERR_INIT;

	prepare_one(ctx, path, &item, o);
	if (!item)
		return;
	/* A batch of one: the same transaction and savepoint as the first pass's batches. */
	if (ingest_items_record(ctx->ing, &item, 1, &res, &fe, &e) < 0 || fe.code != ERR_NONE) {
		o->kind = IMPORT_FAILED;
		snprintf(o->reason, sizeof(o->reason), "%s", fe.code != ERR_NONE ? fe.msg : e.msg);
	} else {
		outcome_of(&res, o);
	}
	ingest_item_free(item);
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
	pthread_mutex_init(&r.batch_lock, NULL);
	pthread_mutex_init(&r.record_lock, NULL);
	pthread_mutex_init(&r.end_lock, NULL);
	pthread_cond_init(&r.end, NULL);
	buf_init(&r.refusals, 0);
	if (walk(ctx->root, &r.files, 0) < 0) {
		fprintf(stderr, "tonearm import: out of memory listing %s\n", ctx->root);
		goto out;
	}
	threads = calloc((size_t)jobs, sizeof(*threads));
	if (!threads)
		goto out;
	r.running = jobs;
	for (nthreads = 0; nthreads < jobs; nthreads++)
		if (pthread_create(&threads[nthreads], NULL, worker, &r) != 0)
			break;
	pthread_mutex_lock(&r.batch_lock);
	r.running -= jobs - nthreads; /* threads that could not start */
	if (r.running == 0) { /* and those that did are gone already: their last batch is ours */
		struct import_batch left = r.pending;

		r.pending.n = 0;
		pthread_mutex_unlock(&r.batch_lock);
		flush(&r, &left);
	} else {
		pthread_mutex_unlock(&r.batch_lock);
	}
	if (nthreads == 0) {
		fprintf(stderr, "tonearm import: cannot start threads\n");
		goto out;
	}
	/* Progress every 100 ms, and out at once when the last worker is done (a fixed sleep
	 * would add up to 100 ms to every import). */
	pthread_mutex_lock(&r.end_lock);
	while (r.finished < nthreads) {
		struct timespec ts;

		pthread_mutex_unlock(&r.end_lock);
		progress(&r, tty, start, &last_line, false);
		pthread_mutex_lock(&r.end_lock);
		if (r.finished >= nthreads)
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&r.end, &r.end_lock, &ts);
	}
	pthread_mutex_unlock(&r.end_lock);
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
	pthread_mutex_destroy(&r.batch_lock);
	pthread_mutex_destroy(&r.record_lock);
	pthread_mutex_destroy(&r.end_lock);
	pthread_cond_destroy(&r.end);
	return ret;
}

static void usage(void)
{
	fputs("usage: tonearm import [--in-place] [--watch] [--jobs N] [--analyse-now] DIR\n", stderr);
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
	bool analyse_now = false; /* else each track's transcode job analyses it */
	long jobs = sysconf(_SC_NPROCESSORS_ONLN);
	char root[PATH_MAX];
	int ret = 1;

	memset(&ctx, 0, sizeof(ctx));
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--in-place") == 0) {
			ctx.in_place = true;
		} else if (strcmp(argv[i], "--watch") == 0) {
			watch = true;
		} else if (strcmp(argv[i], "--analyse-now") == 0) {
			analyse_now = true;
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
	/* Every file needs the media stack: without it, say so once rather than per file. */
	if (media_stack_check(&e) < 0 || cli_open_db_bulk(conf, &db, &e) < 0 || db_migrate(db, &e) < 0)
		goto out;
	cat = catalog_new(db, &e);
	if (!cat || cli_open_store(conf, &st, &e) < 0)
		goto out;
	ctx.ing = ingest_new(db, st, cat, &e);
	if (!ctx.ing)
		goto out;
	/* A first import reads every file: the media stack then loads (≈ 25 ms) while the folder
	 * is walked instead of holding up the first files. A later run may skip every file and
	 * need none of it: there it loads with the first file that is read, as before. */
	if (ingest_any_seen(ctx.ing, &e) == 0)
		media_stack_preload();
	err_clear(&e);
	/* The analysis (one full decode per file) is most of an import's time: by default the
	 * import catalogues metadata only and each track's `transcode` job analyses it in the
	 * ladder's decode. */
	ingest_set_analyse(ctx.ing, analyse_now);
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
