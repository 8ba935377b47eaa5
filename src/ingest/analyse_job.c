/* analyse_job.c — recording an analysis made after the import (loudness, fingerprint, peaks,
 * with catalog_track_set_analysis): the one the `transcode` job makes in its decode
 * (ingest_record_analysis), or a decode of its own (the `analyse` job). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "catalog/catalog.h"
#include "db/db.h"
#include "ingest/internal.h"
#include "jobs/jobs.h"
#include "media/analyse.h"

/* Where the track's bytes are: its in-place path, or its original's object key. */
static int locate(struct ingest *ing, const char *id, char *path, size_t path_cap, char *key, size_t key_cap,
		  int64_t *duration_ms, struct err *e)
{
	struct db_conn *c = db_acquire(ing->db, e);
	struct db_stmt *s = NULL;
	int rc, ret = -1;

	if (!c)
		return -1;
	s = db_prepare(c, "SELECT path, object_key, duration_ms FROM tracks WHERE id = $1", e);
	if (!s)
		goto out;
	db_bind_str(s, 1, id);
	rc = db_step(s, e);
	if (rc < 0)
		goto out;
	if (rc == 0) {
		err_set(e, ERR_NOT_FOUND, "no track %s", id);
		goto out;
	}
	snprintf(path, path_cap, "%s", db_col_text(s, 0) ? db_col_text(s, 0) : "");
	snprintf(key, key_cap, "%s", db_col_text(s, 1) ? db_col_text(s, 1) : "");
	*duration_ms = db_col_int(s, 2);
	ret = 0;
out:
	db_finalize(s);
	db_release(c);
	return ret;
}

int ingest_record_analysis(struct catalog *cat, const char *track_id, const struct media_analysis *an,
			   struct err *e)
{
	struct catalog_analysis ca;
	signed char *peaks = NULL;
	int ret;

	memset(&ca, 0, sizeof(ca));
	if (an->sample_rate > 0)
		ca.duration_ms = an->frames * 1000 / an->sample_rate;
	/* Digital silence has no loudness (-inf): left unknown rather than invented (as map.c). */
	if (isfinite(an->integrated_lufs)) {
		ca.has_loudness = true;
		ca.gating_hist = an->gating_hist; /* its album's gain (catalog.h) */
		ca.loudness_lufs = an->integrated_lufs;
		ca.loudness_range = isfinite(an->loudness_range_lu) ? an->loudness_range_lu : 0;
		ca.true_peak = isfinite(an->true_peak_dbtp) ? an->true_peak_dbtp : 0;
		if (isfinite(an->track_gain_db)) {
			ca.has_track_gain = true;
			ca.track_gain = an->track_gain_db;
			ca.track_peak = isfinite(an->true_peak) ? an->true_peak : 0;
		}
	}
	ca.fingerprint = an->fingerprint;
	if (ingest_peaks_quantise(an, &peaks, &ca.peaks_len) < 0)
		return err_set(e, ERR_NOMEM, "out of memory");
	ca.peaks = peaks;
	ret = catalog_track_set_analysis(cat, track_id, &ca, e);
	free(peaks);
	return ret;
}

int ingest_analyse_track(struct ingest *ing, const char *track_id, struct err *e)
{
	struct media_analysis an;
	struct media_analyse_options aopt = { 0 };
	char path[4096], key[256], fdpath[64];
	const char *media_path = path;
	int64_t duration_ms = 0;
	uint64_t size = 0;
	int fd = -1, ret = -1;

	memset(&an, 0, sizeof(an));
	if (locate(ing, track_id, path, sizeof(path), key, sizeof(key), &duration_ms, e) < 0)
		return -1;
	if (!path[0]) {
		if (!key[0])
			return err_set(e, ERR_NOT_FOUND, "track %s has neither a path nor an object", track_id);
		if (ingest_object_fd(ing, key, &fd, &size, e) < 0)
			return -1;
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
		media_path = fdpath;
	}
	aopt.duration_ms = duration_ms > 0 ? duration_ms : 0;
	if (media_analyse(media_path, &aopt, &an, e) < 0)
		goto out;
	ret = ingest_record_analysis(ing->cat, track_id, &an, e);
out:
	media_analysis_release(&an);
	if (fd >= 0)
		close(fd);
	return ret;
}

int ingest_analyse_job(struct job *job, void *ud, struct err *e)
{
	struct ingest *ing = ud;
	const char *id = job_subject(job);

	if (!id || !*id)
		return err_set(e, ERR_INVALID, "an analyse job needs a track id");
	if (ingest_analyse_track(ing, id, e) == 0)
		return 0;
	/* A track deleted since it was queued has nothing left to analyse: done, not failed. */
	if (e->code == ERR_NOT_FOUND) {
		log_kv(LOG_INFO, NULL, "analyse: track gone", LOG_FIELDS(LOG_STR("track", id)));
		err_clear(e);
		return 0;
	}
	log_kv(LOG_WARN, NULL, "analyse failed", LOG_FIELDS(LOG_STR("track", id), LOG_STR("error", e->msg)));
	return -1;
}
