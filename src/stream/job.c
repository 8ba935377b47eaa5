/* job.c — the `transcode` job: find the track's source, run the ladder, report progress. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "catalog/catalog.h"
#include "jobs/jobs.h"
#include "store/store.h"
#include "stream/internal.h"

static int job_progress_cb(void *ud, double fraction, const char *step)
{
	return job_progress(ud, fraction, step);
}

struct fd_sink {
	int fd;
};

static int write_sink(void *ud, const void *data, size_t n)
{
	struct fd_sink *s = ud;
	const char *p = data;
	while (n > 0) {
		ssize_t w = write(s->fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A path the decoder can open for `key`: the file store's own file through /proc/self/fd,
 * else a download into an unlinked temporary file. *fd is the caller's to close. */
static int source_path(struct stream *s, const char *key, char *path, size_t cap, int *fd, struct err *e)
{
	char tmpl[] = "/tmp/tonearm-src-XXXXXX";
	struct fd_sink sink;

	if (store_caps(s->store) & STORE_CAP_FD) {
		if (store_open_fd(s->store, key, fd, NULL, e) < 0)
			return -1;
	} else {
		const char *dir = getenv("TMPDIR");
		char t[512];
		snprintf(t, sizeof(t), "%s/tonearm-src-XXXXXX", dir && *dir ? dir : "/tmp");
		*fd = mkstemp(strlen(t) < sizeof(t) - 1 ? t : tmpl);
		if (*fd < 0)
			return err_errno(e, ERR_IO, errno, "creating a temporary file");
		unlink(strlen(t) < sizeof(t) - 1 ? t : tmpl);
		sink.fd = *fd;
		if (store_read(s->store, key, 0, UINT64_MAX, write_sink, &sink, e) < 0) {
			close(*fd);
			*fd = -1;
			return err_wrap(e, "downloading the source");
		}
	}
	snprintf(path, cap, "/proc/self/fd/%d", *fd);
	return 0;
}

void stream_set_analysis_sink(struct stream *s, stream_analysis_sink_fn sink)
{
	s->analysis_sink = sink;
}

/* Record the analysis made in the ladder's decode; a failure leaves the track unanalysed and
 * is logged, not the job's (its ladder is stored). */
static void record_analysis(struct stream *s, const char *track_id, struct stream_analysis *sa)
{
	struct err e = ERR_INIT;

	if (sa->err.code == ERR_NONE && s->analysis_sink(s->cat, track_id, &sa->an, &e) == 0)
		return;
	log_kv(LOG_WARN, NULL, "transcode: no analysis",
	       LOG_FIELDS(LOG_STR("track", track_id), LOG_STR("error", sa->err.code != ERR_NONE ? sa->err.msg : e.msg)));
}

int stream_transcode_job(struct job *job, void *ud, struct err *e)
{
	struct stream *s = ud;
	int ret = -1, fd = -1;
	struct catalog_page *page = NULL;
	const struct catalog_track *t;
	struct stream_analysis sa;
	bool analysed = true;
	char path[64];
	const char *src;

	memset(&sa, 0, sizeof(sa));
	if (!job_subject(job) || !*job_subject(job))
		return err_set(e, ERR_INVALID, "transcode job without a track id");
	if (catalog_get(s->cat, CATALOG_TRACKS, job_subject(job), &page, e) < 0)
		return -1;
	if (page->ntracks != 1) {
		err_set(e, ERR_NOT_FOUND, "track not found");
		goto out;
	}
	t = &page->tracks[0];
	sa.duration_ms = t->duration_ms;
	if (s->analysis_sink && catalog_track_analysed(s->cat, t->id, &analysed, e) < 0)
		goto out;
	if (job_progress(job, 0, "reading") < 0) {
		err_set(e, ERR_CONFLICT, "lease lost");
		goto out;
	}
	if (t->object_key && *t->object_key) {
		if (source_path(s, t->object_key, path, sizeof(path), &fd, e) < 0)
			goto out;
		src = path;
	} else if (t->path && *t->path) {
		src = t->path;
	} else {
		err_set(e, ERR_INVALID, "track has no source");
		goto out;
	}
	if (stream_transcode_path(s, t->id, src, analysed ? NULL : &sa, job_progress_cb, job, e) < 0)
		goto out;
	if (!analysed)
		record_analysis(s, t->id, &sa);
	job_progress(job, 1, "done");
	ret = 0;
out:
	media_analysis_release(&sa.an);
	if (fd >= 0)
		close(fd);
	catalog_page_free(page);
	return ret;
}
