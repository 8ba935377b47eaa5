/* import_watch.c — `tonearm import --watch`: after the first pass, keep the catalogue in step
 * with the folder through inotify. A file is taken when it is closed after writing or moved
 * in (never half-written), a new folder is watched and imported, a file deleted or moved away
 * is forgotten (a track read in place from it goes). One event at a time on this thread:
 * changes to a music folder come at human pace. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "cli/import.h"
#include "ingest/ingest.h"

#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_DELETE_SELF)

struct watch {
	int wd;
	char *path;
};

struct watcher {
	struct import_ctx *ctx;
	int fd;
	struct watch *w;
	size_t n, cap;
};

static const char *watch_path(struct watcher *wt, int wd)
{
	for (size_t i = 0; i < wt->n; i++)
		if (wt->w[i].wd == wd)
			return wt->w[i].path;
	return NULL;
}

static void report(struct import_ctx *ctx, const char *path, const struct import_file_outcome *o)
{
	static const char *const words[] = { "added", "duplicate", "unchanged", "refused", "failed" };

	if (o->kind == IMPORT_REFUSED || o->kind == IMPORT_FAILED)
		printf("%s %s: %s\n", words[o->kind], import_rel(ctx, path), o->reason);
	else
		printf("%s %s\n", words[o->kind], import_rel(ctx, path));
	fflush(stdout);
}

/* Watch `dir` and the folders under it; with `import`, also take the files found (a folder
 * that appeared after the first pass). */
static void add_tree(struct watcher *wt, const char *dir, bool import, int depth)
{
	DIR *d;
	struct dirent *de;
	char path[PATH_MAX];
	int wd;

	if (depth > 64)
		return;
	wd = inotify_add_watch(wt->fd, dir, WATCH_MASK | IN_ONLYDIR);
	if (wd < 0) {
		fprintf(stderr, "tonearm import: cannot watch %s: %s\n", dir, strerror(errno));
		return;
	}
	if (!watch_path(wt, wd)) {
		if (wt->n == wt->cap) {
			size_t cap = wt->cap ? wt->cap * 2 : 64;
			struct watch *w = realloc(wt->w, cap * sizeof(*w));

			if (!w)
				return;
			wt->w = w;
			wt->cap = cap;
		}
		wt->w[wt->n].wd = wd;
		wt->w[wt->n].path = strdup(dir);
		if (!wt->w[wt->n].path)
			return;
		wt->n++;
	}
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path))
			continue;
		if (de->d_type == DT_DIR) {
			add_tree(wt, path, import, depth + 1);
		} else if (import && import_is_audio(de->d_name)) {
			struct import_file_outcome o;

			import_one(wt->ctx, path, &o);
			report(wt->ctx, path, &o);
		}
	}
	closedir(d);
}

static void forget(struct import_ctx *ctx, const char *path)
{
	struct err e = ERR_INIT;
	bool removed = false;

	if (ingest_forget(ctx->ing, path, &removed, &e) < 0)
		printf("failed %s: %s\n", import_rel(ctx, path), e.msg);
	else if (removed)
		printf("removed %s\n", import_rel(ctx, path));
	fflush(stdout);
}

static void handle(struct watcher *wt, const struct inotify_event *ev)
{
	const char *dir = watch_path(wt, ev->wd);
	char path[PATH_MAX];

	if (ev->mask & IN_IGNORED) {
		for (size_t i = 0; i < wt->n; i++) {
			if (wt->w[i].wd == ev->wd) {
				free(wt->w[i].path);
				wt->w[i] = wt->w[--wt->n];
				break;
			}
		}
		return;
	}
	if (!dir || !ev->len || ev->name[0] == '.')
		return;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, ev->name) >= sizeof(path))
		return;
	if (ev->mask & IN_ISDIR) {
		if (ev->mask & (IN_CREATE | IN_MOVED_TO))
			add_tree(wt, path, true, 0);
		return;
	}
	if (!import_is_audio(ev->name))
		return;
	if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
		struct import_file_outcome o;

		import_one(wt->ctx, path, &o);
		if (o.kind != IMPORT_SKIPPED)
			report(wt->ctx, path, &o);
	} else if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
		forget(wt->ctx, path);
	}
}

int import_watch(struct import_ctx *ctx)
{
	struct watcher wt = { .ctx = ctx, .fd = -1 };
	/* inotify_event is followed by its name: align the buffer for it. */
	char events[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	int ret = 1;

	wt.fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (wt.fd < 0) {
		fprintf(stderr, "tonearm import: cannot start inotify: %s\n", strerror(errno));
		return 1;
	}
	add_tree(&wt, ctx->root, false, 0);
	printf("watching %s (%zu folders); Ctrl-C stops\n", ctx->root, wt.n);
	fflush(stdout);
	while (!import_stop) {
		struct pollfd p = { .fd = wt.fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 250) <= 0)
			continue; /* timeout, or EINTR from the stop signal */
		n = read(wt.fd, events, sizeof(events));
		if (n <= 0)
			continue;
		for (char *at = events; at < events + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)(void *)at;

			handle(&wt, ev);
			at += sizeof(*ev) + ev->len;
		}
	}
	ret = 0;
	for (size_t i = 0; i < wt.n; i++)
		free(wt.w[i].path);
	free(wt.w);
	close(wt.fd);
	return ret;
}
