/* analysis.c — recording a track's analysis after it was added (in the `transcode` job's decode): loudness,
 * ReplayGain when the file was not tagged with any, fingerprint and waveform peaks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "catalog/internal.h"
#include "db/db.h"

int catalog_track_set_analysis(struct catalog *cat, const char *track_id, const struct catalog_analysis *a,
			       struct err *e)
{
	struct catalog_duplicate *dups = NULL;
	size_t ndups = 0;
	struct db_conn *c;
	struct db_stmt *s = NULL;
	bool own_tx;
	int ret = -1, k = 1;

	if (!track_id || !a || (a->peaks_len && !a->peaks))
		return err_set(e, ERR_INVALID, "catalog_track_set_analysis: bad arguments");
	c = db_acquire(cat->db, e);
	if (!c)
		return -1;
	own_tx = !db_in_transaction(c);
	/* Its acoustic duplicates, compared before the write transaction (milliseconds in a large
	 * catalogue), by the length other tracks are compared by: the row's, else the decode's. */
	if (a->fingerprint && *a->fingerprint) {
		int64_t ms = a->duration_ms;
		int rc;

		if (!(s = db_prepare(c, "SELECT duration_ms FROM tracks WHERE id = $1", e)))
			goto out;
		db_bind_str(s, 1, track_id);
		if ((rc = db_step(s, e)) < 0)
			goto out;
		if (rc == 1 && db_col_int(s, 0) > 0)
			ms = db_col_int(s, 0);
		db_finalize(s);
		s = NULL;
		if (catalog_duplicates_find(c, track_id, a->fingerprint, ms, &dups, &ndups, e) < 0)
			goto out;
	}
	if (own_tx && db_begin(c, e) < 0)
		goto out;
	/* Every right-hand side sees the row as it was: the peak is taken with the gain only when
	 * no gain was tagged, and a tagged gain is never replaced by a computed one. */
	s = db_prepare(c,
		       "UPDATE tracks SET rev = rev + 1, loudness_lufs = $2, loudness_range = $3, true_peak = $4, "
		       "rg_track_peak = CASE WHEN rg_track_gain IS NULL THEN $6 ELSE rg_track_peak END, "
		       "rg_track_gain = COALESCE(rg_track_gain, $5), "
		       "duration_ms = CASE WHEN duration_ms > 0 THEN duration_ms ELSE $7 END, updated_at = $8 "
		       "WHERE id = $1", e);
	if (!s)
		goto fail;
	db_bind_str(s, k++, track_id);
	for (int i = 0; i < 3; i++) {
		double v = i == 0 ? a->loudness_lufs : i == 1 ? a->loudness_range : a->true_peak;

		if (a->has_loudness && isfinite(v))
			db_bind_double(s, k++, v);
		else
			db_bind_null(s, k++);
	}
	if (a->has_track_gain && isfinite(a->track_gain) && isfinite(a->track_peak)) {
		db_bind_double(s, k++, a->track_gain);
		db_bind_double(s, k++, a->track_peak);
	} else {
		db_bind_null(s, k++);
		db_bind_null(s, k++);
	}
	db_bind_int(s, k++, a->duration_ms > 0 ? a->duration_ms : 0);
	db_bind_int(s, k++, clock_now_ms());
	if (db_step(s, e) < 0)
		goto fail;
	if (db_changes(s) == 0) {
		err_set(e, ERR_NOT_FOUND, "no track %s", track_id);
		goto fail;
	}
	db_finalize(s);
	s = NULL;
	if (a->fingerprint || a->peaks_len || a->gating_hist) {
		s = db_prepare(c, "INSERT INTO track_analysis (track_id, fingerprint, peaks, gating_hist) "
				  "VALUES ($1, $2, $3, $4) ON CONFLICT (track_id) DO UPDATE SET "
				  "fingerprint = excluded.fingerprint, peaks = excluded.peaks, gating_hist = excluded.gating_hist", e);
		if (!s)
			goto fail;
		db_bind_str(s, 1, track_id);
		db_bind_str(s, 2, a->fingerprint && *a->fingerprint ? a->fingerprint : NULL);
		if (a->peaks_len)
			db_bind_blob(s, 3, a->peaks, a->peaks_len);
		else
			db_bind_null(s, 3);
		catalog_bind_gating_hist(s, 4, a->gating_hist, e);
		if (db_step(s, e) < 0)
			goto fail;
		if (a->gating_hist) {
			char album[ID_LEN + 1];
			int rc = catalog_query_id(c, "SELECT album_id FROM tracks WHERE id = $1", album, e, 1, track_id);

			db_finalize(s);
			s = NULL;
			if (rc < 0 || (rc == 1 && catalog_album_gain_update(c, album, clock_now_ms(), e) < 0))
				goto fail;
		}
		if (a->fingerprint && *a->fingerprint && catalog_duplicates_store(c, track_id, dups, ndups, e) < 0)
			goto fail;
	}
	if (catalog_bump(c, e) < 0 || (own_tx && db_commit(c, e) < 0))
		goto fail;
	ret = 0;
	goto out;
fail:
	if (own_tx && db_in_transaction(c))
		db_rollback(c, NULL);
out:
	db_finalize(s);
	db_release(c);
	free(dups);
	return ret;
}
