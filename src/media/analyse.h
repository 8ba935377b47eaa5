/* analyse.h — loudness, fingerprint, waveform peaks and simple features from ONE decode.
 *
 * media_analyse() pulls float PCM blocks from the decoder (decode.h) once and hands each
 * block to every consumer in the same loop:
 *   - EBU R128 (libebur128): integrated loudness, loudness range, sample and true peak, and
 *     the ReplayGain 2.0 track gain (-18 LUFS reference);
 *   - Chromaprint: the fingerprint of the first `fingerprint_s` seconds (120 s, as fpcalc),
 *     fed int16 at the source rate and channel count;
 *   - waveform peaks: `peaks` min/max pairs over the whole length (all channels together);
 *   - features: RMS level, zero-crossing rate, a rough tempo.
 *
 * Album gain. ReplayGain's album gain is the gated loudness of all an album's 400 ms blocks
 * pooled, not an average of track loudnesses. Tracks are analysed one by one, perhaps in
 * different processes, so each analysis keeps what pooling needs as plain data that can be
 * stored with the track: the histogram of its gating blocks' loudness (`gating_hist`, 0.1 LU
 * bins from -70 LUFS, the same bins libebur128's EBUR128_MODE_HISTOGRAM uses). The track
 * itself is measured in that mode too, so media_album_gain() over tracks gives exactly what
 * ebur128_loudness_global_multiple() gives over their states (tested), without keeping the
 * states alive.
 */
#ifndef TONEARM_MEDIA_ANALYSE_H
#define TONEARM_MEDIA_ANALYSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "media/probe.h"

#define MEDIA_GATING_BINS 1000        /* 0.1 LU bins covering -70 … +30 LUFS */
#define MEDIA_PEAKS_DEFAULT 1000
#define MEDIA_FINGERPRINT_S_DEFAULT 120.0
#define MEDIA_REPLAYGAIN_REFERENCE (-18.0) /* LUFS, ReplayGain 2.0 */

/* What to compute. 0 means everything. */
enum media_analyse_parts {
	MEDIA_ANALYSE_LOUDNESS = 1 << 0,
	MEDIA_ANALYSE_TRUE_PEAK = 1 << 1, /* 4x oversampling (libebur128's filter, see truepeak.c) */
	MEDIA_ANALYSE_FINGERPRINT = 1 << 2,
	MEDIA_ANALYSE_PEAKS = 1 << 3,
	MEDIA_ANALYSE_FEATURES = 1 << 4,
	MEDIA_ANALYSE_ALL = 0x1f,
};

struct media_analyse_options {
	unsigned parts;          /* enum media_analyse_parts bits; 0: all */
	size_t peaks;            /* min/max pairs; 0: MEDIA_PEAKS_DEFAULT */
	double fingerprint_s;    /* seconds fingerprinted from the start; 0: 120 */
	double max_s;            /* stop after this much audio (previews, fuzzing); 0: the whole file */
	int64_t duration_ms;     /* the duration media_probe() found, to size peak bins; 0: the header's */
};

/* Time spent in each part, in seconds of wall clock (for benchmarks). */
struct media_analyse_times {
	double decode, loudness, true_peak, fingerprint, peaks, features, total;
};

struct media_analysis {
	int64_t frames;              /* frames decoded */
	int sample_rate;
	int channels;

	/* Loudness. For digital silence (no block above -70 LUFS) integrated_lufs and
	 * true_peak_dbtp are -INFINITY and track_gain_db is 0. */
	double integrated_lufs;
	double loudness_range_lu;
	double true_peak;            /* linear, 1.0 = full scale; the highest over channels */
	double true_peak_dbtp;
	double sample_peak;          /* linear */
	double track_gain_db;        /* ReplayGain 2.0: -18 - integrated_lufs */
	uint32_t gating_hist[MEDIA_GATING_BINS]; /* 400 ms blocks per 0.1 LU bin (see above) */

	/* Fingerprint (NULL/0 when not computed or the audio is too short for one). */
	char *fingerprint;           /* compressed, base64 (as AcoustID takes it); malloc'd */
	uint32_t *fingerprint_raw;   /* malloc'd */
	size_t fingerprint_len;      /* items in fingerprint_raw */

	/* Waveform: npeaks (min, max) pairs, peaks[2i] = min and peaks[2i+1] = max of bin i over
	 * every channel, bins of equal duration covering the whole file. malloc'd. */
	float *peaks;
	size_t npeaks;

	/* Features. */
	double rms_dbfs;             /* RMS over all samples, dB full scale (-INFINITY for silence) */
	double zero_crossing_rate;   /* sign changes per sample of the mono mix, 0 … 1 */
	double tempo_bpm;            /* rough beat rate from onset autocorrelation, 0 if none found */

	struct media_analyse_times times;
};

/* Decode `path` once and fill *out (zeroed first). `opt` may be NULL for the defaults.
 * Returns 0, or -1 with *e set and *out released: the media_decoder_open() failures, or
 * ERR_INVALID "truncated or corrupt at 12.345 s: …" when the audio stops decoding part way
 * (or ends well before the duration its header announces), ERR_NOMEM. On success the caller
 * owns the arrays in *out: media_analysis_release(). */
int media_analyse(const char *path, const struct media_analyse_options *opt, struct media_analysis *out,
		  struct err *e);

/* The same for a media_source (probe.h); read errors of the source are ERR_IO. */
int media_analyse_source(const struct media_source *src, const struct media_analyse_options *opt,
			 struct media_analysis *out, struct err *e);

/* The same analysis for PCM someone else decodes (the ladder's one decode, stream/): start it
 * once the decoder's rate is final (after its first block), feed every block of interleaved
 * float PCM in order, then finish. `expect_ms` is the length the header announces (0: unknown),
 * sizing the peak bins; when `trust_length` is set, audio that stops well before it is
 * refused as truncated by finish, as media_analyse() does. feed returns 0, 1 when `max_s`
 * is reached (the rest may be skipped), or -1 with *e. finish fills *out (the caller's:
 * media_analysis_release) or fails like media_analyse(); free the analyser either way. */
struct media_analyser;
int media_analyser_new(const struct media_analyse_options *opt, int sample_rate, int channels, int64_t expect_ms,
		       bool trust_length, struct media_analyser **out, struct err *e);
int media_analyser_feed(struct media_analyser *an, const float *pcm, size_t frames, struct err *e);
int media_analyser_finish(struct media_analyser *an, struct media_analysis *out, struct err *e);
void media_analyser_free(struct media_analyser *an);

/* Free the arrays of *a and zero it. */
void media_analysis_release(struct media_analysis *a);

/* Integrated loudness of tracks[0..n) taken together (their gating histograms pooled, gated
 * as one programme): the album loudness of ReplayGain 2.0. -INFINITY when every track is
 * silent or n == 0. */
double media_album_loudness(const struct media_analysis *tracks, size_t n);

/* ReplayGain 2.0 album gain in dB: -18 - media_album_loudness(); 0 when that is -INFINITY. */
double media_album_gain(const struct media_analysis *tracks, size_t n);

/* Similarity of two raw Chromaprint fingerprints, 0 (unrelated) … 100 (identical), after
 * aligning them (offsets up to ±10 s): 100 * (1 - 2 * bit error rate) at the best offset,
 * floored at 0; random pairs score near 0, two encodings of one recording above 70. Returns
 * 0 when either is shorter than about 3 s of audio. Offsets are probed over their first 8 s
 * and compared in full only when that is promising, so scores under 40 are estimates. */
int media_fingerprint_similarity(const uint32_t *a, size_t alen, const uint32_t *b, size_t blen);

/* The raw items of a compressed, base64 fingerprint (media_analysis.fingerprint, as stored):
 * *raw is malloc'd (free()), *len items. -1 with ERR_INVALID for text that is not one (or
 * over MEDIA_FINGERPRINT_TEXT_MAX bytes), ERR_NOMEM. */
#define MEDIA_FINGERPRINT_TEXT_MAX (1u << 20)
int media_fingerprint_decode(const char *text, uint32_t **raw, size_t *len, struct err *e);

#endif
