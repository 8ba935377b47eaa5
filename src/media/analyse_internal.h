/* analyse_internal.h — internal to media/: the waveform and feature consumers of the
 * analysis loop (analyse_wave.c) and the gating histogram (analyse_compare.c). Each consumer
 * is init / feed(interleaved float block) / finish(into the analysis) / release. */
#ifndef TONEARM_MEDIA_ANALYSE_INTERNAL_H
#define TONEARM_MEDIA_ANALYSE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "media/analyse.h"

/* Waveform peaks. The length may be unknown or wrong until the end, so frames go into fine
 * bins first: fine bin j ends at frame floor((j + 1) * expect * 2^shift / (2n)), i.e. 2n fine
 * bins span the expected length, and when the 4n fine bins are full, neighbours merge in
 * pairs and shift grows (the file is longer than expected). When the expectation was right,
 * every pair of fine bins is exactly one output bin; otherwise an output bin can be off by
 * at most one fine bin at its edges. */
struct media_peaks {
	size_t n;          /* pairs wanted */
	size_t cap;        /* fine bins at most (4 * n) */
	size_t used;       /* fine bins complete */
	int64_t expect;    /* frames expected (2n at least) */
	int shift;         /* merges so far */
	int64_t bin_end;   /* frame at which the fine bin being filled ends */
	int64_t frames;    /* frames seen */
	float cur_min, cur_max;
	float *fine_min, *fine_max;
};

int media_peaks_init(struct media_peaks *p, size_t n, int64_t expect_frames, struct err *e);
int media_peaks_feed(struct media_peaks *p, const float *pcm, size_t frames, int channels, struct err *e);
int media_peaks_finish(struct media_peaks *p, struct media_analysis *a, struct err *e);
void media_peaks_release(struct media_peaks *p);

/* RMS, zero-crossing rate, and an onset envelope (energy per hop of the mono mix) for tempo. */
struct media_features {
	int rate;          /* 0: not in use */
	double sum_sq;     /* over every sample */
	int64_t samples;
	int64_t crossings; /* of the mono mix */
	int64_t mono_frames;
	int prev_sign;
	double hop_energy;
	int hop_fill;
	float *env;        /* energy per hop */
	size_t env_len, env_cap;
};

int media_features_init(struct media_features *f, int rate, struct err *e);
int media_features_feed(struct media_features *f, const float *pcm, size_t frames, int channels, struct err *e);
void media_features_finish(struct media_features *f, struct media_analysis *a);
void media_features_release(struct media_features *f);

/* True peak by 4x (2x) oversampling, libebur128's filter, skipping what cannot be a new
 * peak (truepeak.c). `peak` is linear, the highest over all channels. */
#define MEDIA_TRUEPEAK_BLOCK 1024
struct media_truepeak {
	int factor, taps, channels;
	float l1;       /* the largest L1 norm of a filter phase */
	float peak;
	float *coef;    /* factor x taps */
	float *hist;    /* per channel: taps - 1 samples of history, then a block */
	float *out;     /* scratch */
};

int media_truepeak_init(struct media_truepeak *tp, int rate, int channels, struct err *e);
int media_truepeak_feed(struct media_truepeak *tp, const float *pcm, size_t frames, int channels, struct err *e);
void media_truepeak_release(struct media_truepeak *tp);

/* Count a 400 ms block of loudness `lufs` into a MEDIA_GATING_BINS histogram, as libebur128
 * does (nothing below the -70 LUFS absolute gate). */
void media_gating_hist_add(uint32_t *hist, double lufs);

#endif
