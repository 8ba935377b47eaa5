/* map.c — from what the file says (tags, probe, analysis) to what the catalogue takes.
 *
 * The tag reader already hands out valid UTF-8 with absurd numbers zeroed (media/tags.h); what
 * is left is fitting values to the catalogue's limits so that a long or odd tag never costs the
 * user their track: names are cut at a character boundary, identifiers that cannot be right
 * (an "ISRC" of 500 characters) are dropped, and a track without a title or artist gets the
 * file's name and "Unknown Artist". */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"
#include "catalog/catalog.h"
#include "ingest/internal.h"
#include "media/analyse.h"
#include "media/probe.h"
#include "media/tags.h"

#define UNKNOWN_ARTIST "Unknown Artist"
#define ID_FIELD_MAX 64 /* the catalogue's limit on dates, ISRCs and MusicBrainz ids */

static size_t chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* `s`, or a copy cut to `max` characters (kept in m->owned); NULL for NULL or "". */
static const char *fit(struct ingest_mapped *m, const char *s, size_t max, bool *oom)
{
	size_t n = 0, i;
	char *cut;

	if (!s || !*s)
		return NULL;
	if (chars(s) <= max)
		return s;
	if (m->nowned == sizeof(m->owned) / sizeof(m->owned[0]))
		return NULL; /* more long fields than slots: drop this one rather than fail */
	for (i = 0; s[i]; i++) {
		if (((unsigned char)s[i] & 0xC0) != 0x80 && n++ == max)
			break;
	}
	cut = malloc(i + 1);
	if (!cut) {
		*oom = true;
		return NULL;
	}
	memcpy(cut, s, i);
	cut[i] = '\0';
	m->owned[m->nowned++] = cut;
	return cut;
}

/* An identifier is right or useless: drop it when too long. */
static const char *fit_id(const char *s)
{
	return s && *s && chars(s) <= ID_FIELD_MAX ? s : NULL;
}

/* The file name without folders and extension, as valid UTF-8 (file names are bytes). */
static char *title_from_name(const char *name)
{
	const char *base = name ? strrchr(name, '/') : NULL, *dot;
	size_t len, need;
	char *out;

	base = base ? base + 1 : name ? name : "";
	dot = strrchr(base, '.');
	len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
	if (len == 0) {
		base = "Untitled";
		len = strlen(base);
	}
	need = utf8_sanitize(NULL, 0, base, len);
	out = malloc(need + 1);
	if (out)
		utf8_sanitize(out, need + 1, base, len);
	return out;
}

static double finite_or(double v, double def)
{
	return isfinite(v) ? v : def;
}

int ingest_peaks_quantise(const struct media_analysis *an, signed char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (!an->peaks || !an->npeaks)
		return 0;
	if (!(*out = malloc(2 * an->npeaks)))
		return -1;
	for (size_t i = 0; i < 2 * an->npeaks; i++) {
		float v = an->peaks[i];

		v = v > 1.0f ? 1.0f : v < -1.0f ? -1.0f : isfinite(v) ? v : 0.0f;
		(*out)[i] = (signed char)lrintf(v * 127.0f);
	}
	*len = 2 * an->npeaks;
	return 0;
}

int ingest_map(const struct media_tags *t, const struct media_info *info,
	       const struct media_analysis *an, const char *display_name,
	       struct catalog_track_input *in, struct ingest_mapped *m, struct err *e)
{
	bool oom = false;
	size_t n = 0;

	memset(in, 0, sizeof(*in));
	memset(m, 0, sizeof(*m));
	m->artists = calloc(t->nartists + t->ncomposers + 1, sizeof(*m->artists));
	if (!m->artists)
		return err_set(e, ERR_NOMEM, "out of memory");

	in->title = fit(m, t->title, CATALOG_NAME_MAX, &oom);
	if (!in->title) {
		m->title = title_from_name(display_name);
		in->title = fit(m, m->title, CATALOG_NAME_MAX, &oom);
	}
	in->sort_title = fit(m, t->sort_title, CATALOG_NAME_MAX, &oom);

	for (size_t i = 0; i < t->nartists; i++) {
		struct catalog_artist_input *a = &m->artists[n];

		a->name = fit(m, t->artists[i], CATALOG_NAME_MAX, &oom);
		if (!a->name)
			continue;
		a->role = CATALOG_ROLE_MAIN;
		/* MusicBrainz ids pair with names only when the lists line up. */
		if (t->nmb_artist_ids == t->nartists)
			a->mbid = fit_id(t->mb_artist_ids[i]);
		if (t->nartists == 1)
			a->sort_name = fit(m, t->sort_artist, CATALOG_NAME_MAX, &oom);
		n++;
	}
	if (n == 0) {
		m->artists[0].name = t->nalbum_artists ? fit(m, t->album_artists[0], CATALOG_NAME_MAX, &oom) : NULL;
		if (!m->artists[0].name)
			m->artists[0].name = UNKNOWN_ARTIST;
		m->artists[0].role = CATALOG_ROLE_MAIN;
		n = 1;
	}
	for (size_t i = 0; i < t->ncomposers && n < CATALOG_ARTISTS_MAX; i++) {
		m->artists[n].name = fit(m, t->composers[i], CATALOG_NAME_MAX, &oom);
		m->artists[n].role = CATALOG_ROLE_COMPOSER;
		n += m->artists[n].name != NULL;
	}
	in->artists = m->artists;
	in->nartists = n;

	in->album = fit(m, t->album, CATALOG_NAME_MAX, &oom);
	in->album_sort = fit(m, t->sort_album, CATALOG_NAME_MAX, &oom);
	if (t->nalbum_artists) {
		in->album_artist = fit(m, t->album_artists[0], CATALOG_NAME_MAX, &oom);
		in->album_artist_sort = fit(m, t->sort_album_artist, CATALOG_NAME_MAX, &oom);
		if (t->nmb_album_artist_ids)
			in->album_artist_mbid = fit_id(t->mb_album_artist_ids[0]);
	}
	in->compilation = t->compilation;
	for (size_t i = 0; i < t->ngenres && i < CATALOG_GENRES_MAX && i < 16; i++) {
		const char *g = fit(m, t->genres[i], CATALOG_NAME_MAX, &oom);

		if (g)
			m->genres[in->ngenres++] = g;
	}
	in->genres = m->genres;
	in->disc = t->disc;
	in->disc_total = t->disc_total;
	in->track = t->track;
	in->track_total = t->track_total;
	in->date = fit_id(t->date);
	in->year = t->year >= 0 && t->year <= 9999 ? t->year : 0;
	in->isrc = fit_id(t->isrc);
	in->label = fit(m, t->label, CATALOG_NAME_MAX, &oom);
	in->lyrics = fit(m, t->lyrics, CATALOG_LYRICS_MAX, &oom);
	if (isfinite(t->bpm) && t->bpm > 0 && t->bpm < 10000) {
		in->bpm = t->bpm;
		in->has |= CATALOG_HAS_BPM;
	}
	in->mb_recording_id = fit_id(t->mb_recording_id);
	in->mb_release_id = fit_id(t->mb_release_id);
	if (t->has_rg_track && isfinite(t->rg_track_gain)) {
		in->rg_track_gain = t->rg_track_gain;
		in->rg_track_peak = finite_or(t->rg_track_peak, 0);
		in->has |= CATALOG_HAS_RG_TRACK;
	}
	if (t->has_rg_album && isfinite(t->rg_album_gain)) {
		in->rg_album_gain = t->rg_album_gain;
		in->rg_album_peak = finite_or(t->rg_album_peak, 0);
		in->has |= CATALOG_HAS_RG_ALBUM;
	}

	if (info) {
		in->duration_ms = info->duration_ms > 0 ? info->duration_ms : 0;
		in->container = info->format[0] ? info->format : NULL;
		in->codec = info->codec[0] ? info->codec : NULL;
		in->sample_rate = info->sample_rate > 0 ? info->sample_rate : 0;
		in->channels = info->channels > 0 ? info->channels : 0;
		in->bits = info->bits_per_sample > 0 && info->bits_per_sample <= 64 ? info->bits_per_sample : 0;
		in->bitrate = info->bit_rate > 0 && info->bit_rate <= 1000000000 ? (int)info->bit_rate : 0;
		in->lossless = info->lossless;
	}
	if (an) {
		if (in->duration_ms == 0 && an->sample_rate > 0)
			in->duration_ms = an->frames * 1000 / an->sample_rate;
		/* Digital silence has no loudness (-inf): leave it unknown rather than invent one. */
		if (isfinite(an->integrated_lufs)) {
			in->loudness_lufs = an->integrated_lufs;
			in->loudness_range = finite_or(an->loudness_range_lu, 0);
			in->true_peak = finite_or(an->true_peak_dbtp, 0);
			in->has |= CATALOG_HAS_LOUDNESS;
			in->gating_hist = an->gating_hist; /* its album's gain (catalog.h) */
			/* Measured ReplayGain stands in for a tag the file lacks. */
			if (!(in->has & CATALOG_HAS_RG_TRACK) && isfinite(an->track_gain_db)) {
				in->rg_track_gain = an->track_gain_db;
				in->rg_track_peak = finite_or(an->true_peak, 0);
				in->has |= CATALOG_HAS_RG_TRACK;
			}
		}
		in->fingerprint = an->fingerprint;
		if (ingest_peaks_quantise(an, &m->peaks, &m->peaks_len) < 0)
			oom = true;
		in->peaks = m->peaks;
		in->peaks_len = m->peaks_len;
	}
	if (oom || !in->title) {
		ingest_mapped_release(m);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	return 0;
}

void ingest_mapped_release(struct ingest_mapped *m)
{
	for (size_t i = 0; i < m->nowned; i++)
		free(m->owned[i]);
	free(m->title);
	free(m->artists);
	free(m->peaks);
	memset(m, 0, sizeof(*m));
}
