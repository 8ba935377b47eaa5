/* album_gain.c — an album's ReplayGain album gain and peak, from the loudness blocks of all its
 * analysed tracks pooled (see CATALOG_GATING_BINS in catalog.h). */
#include <math.h>
#include <stdlib.h>

#include "catalog/internal.h"
#include "db/db.h"
#include "media/analyse.h"

_Static_assert(CATALOG_GATING_BINS == MEDIA_GATING_BINS, "catalog and media count loudness bins alike");

int catalog_bind_gating_hist(struct db_stmt *s, int k, const uint32_t *hist, struct err *e)
{
	unsigned char b[CATALOG_GATING_BINS * 4];

	(void)e;
	if (!hist) {
		db_bind_null(s, k);
		return 0;
	}
	for (size_t i = 0; i < CATALOG_GATING_BINS; i++) {
		b[4 * i] = (unsigned char)hist[i];
		b[4 * i + 1] = (unsigned char)(hist[i] >> 8);
		b[4 * i + 2] = (unsigned char)(hist[i] >> 16);
		b[4 * i + 3] = (unsigned char)(hist[i] >> 24);
	}
	db_bind_blob(s, k, b, sizeof(b));
	return 0;
}

int catalog_album_gain_update(struct db_conn *c, const char *album_id, int64_t now, struct err *e)
{
	struct media_analysis *pool = calloc(1, sizeof(*pool));
	struct db_stmt *s = NULL;
	double peak = 0, loudness;
	size_t tracks = 0;
	int rc, ret = -1;

	if (!pool)
		return err_set(e, ERR_NOMEM, "out of memory");
	s = db_prepare(c,
		       "SELECT a.gating_hist, t.true_peak FROM tracks t JOIN track_analysis a ON a.track_id = t.id "
		       "WHERE t.album_id = $1 AND a.gating_hist IS NOT NULL",
		       e);
	if (!s)
		goto out;
	db_bind_str(s, 1, album_id);
	while ((rc = db_step(s, e)) == 1) {
		size_t len = 0;
		const unsigned char *b = db_col_blob(s, 0, &len);

		if (!b || len != CATALOG_GATING_BINS * 4)
			continue; /* not ours */
		/* Pooling the tracks' blocks is adding their histograms (media_album_loudness). */
		for (size_t i = 0; i < CATALOG_GATING_BINS; i++)
			pool->gating_hist[i] += (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 |
						(uint32_t)b[4 * i + 2] << 16 | (uint32_t)b[4 * i + 3] << 24;
		if (!db_col_null(s, 1)) {
			double p = pow(10.0, db_col_double(s, 1) / 20.0);

			if (isfinite(p) && p > peak)
				peak = p;
		}
		tracks++;
	}
	if (rc < 0)
		goto out;
	db_finalize(s);
	s = NULL;
	loudness = media_album_loudness(pool, 1);
	/* An album of silence has no loudness to correct: its gains stay as they are. */
	if (tracks == 0 || !isfinite(loudness)) {
		ret = 0;
		goto out;
	}
	s = db_prepare(c,
		       "UPDATE tracks SET rev = rev + 1, rg_album_gain = $2, rg_album_peak = $3, updated_at = $4 "
		       "WHERE album_id = $1 AND rg_album_tagged = 0 AND "
		       "(rg_album_gain IS DISTINCT FROM $2 OR rg_album_peak IS DISTINCT FROM $3)",
		       e);
	if (!s)
		goto out;
	db_bind_str(s, 1, album_id);
	/* Rounded as tags write them (0.01 dB, 6 places of peak), so an album whose gain did not
	 * change touches no row. */
	db_bind_double(s, 2, round((MEDIA_REPLAYGAIN_REFERENCE - loudness) * 100.0) / 100.0);
	db_bind_double(s, 3, round(peak * 1e6) / 1e6);
	db_bind_int(s, 4, now);
	if (db_step(s, e) < 0)
		goto out;
	ret = 0;
out:
	db_finalize(s);
	free(pool);
	return ret;
}
