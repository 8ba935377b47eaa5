/* analyse_wave.c — waveform peaks and cheap features, fed by the analysis loop. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "media/analyse_internal.h"

#define HOP 512               /* frames per onset-envelope point (~11.6 ms at 44.1 kHz) */
#define ENV_MAX (1 << 16)     /* envelope points kept: the first ~12 minutes suffice for a tempo */
#define TEMPO_MIN 70.0
#define TEMPO_MAX 180.0

/* --- peaks --------------------------------------------------------------------------------- */

/* Where fine bin j (0-based) starts, at the current shift. */
static int64_t fine_start(const struct media_peaks *p, size_t j)
{
	unsigned __int128 x = (unsigned __int128)j * (unsigned __int128)p->expect << p->shift;

	return (int64_t)(x / (2 * p->n));
}

int media_peaks_init(struct media_peaks *p, size_t n, int64_t expect_frames, struct err *e)
{
	memset(p, 0, sizeof(*p));
	if (n == 0 || n > ((size_t)1 << 24))
		return err_set(e, ERR_INVALID, "peaks: %zu pairs is not a sensible number", n);
	p->n = n;
	p->cap = 4 * n;
	/* Unknown length: one-frame fine bins to begin with; merging makes them as large as the
	 * file needs, a few passes over 4n floats each. */
	p->expect = expect_frames > 0 ? expect_frames : (int64_t)(2 * n);
	if (p->expect < (int64_t)(2 * n))
		p->expect = (int64_t)(2 * n);
	p->bin_end = fine_start(p, 1);
	p->cur_min = INFINITY;
	p->cur_max = -INFINITY;
	p->fine_min = malloc(p->cap * sizeof(float));
	p->fine_max = malloc(p->cap * sizeof(float));
	if (!p->fine_min || !p->fine_max) {
		media_peaks_release(p);
		return err_set(e, ERR_NOMEM, "peaks: out of memory");
	}
	return 0;
}

static void peaks_push(struct media_peaks *p)
{
	p->fine_min[p->used] = p->cur_min;
	p->fine_max[p->used] = p->cur_max;
	p->used++;
	p->cur_min = INFINITY;
	p->cur_max = -INFINITY;
	if (p->used == p->cap) {
		for (size_t i = 0; i < p->cap / 2; i++) {
			p->fine_min[i] = fminf(p->fine_min[2 * i], p->fine_min[2 * i + 1]);
			p->fine_max[i] = fmaxf(p->fine_max[2 * i], p->fine_max[2 * i + 1]);
		}
		p->used = p->cap / 2;
		p->shift++;
	}
	p->bin_end = fine_start(p, p->used + 1);
}

int media_peaks_feed(struct media_peaks *p, const float *pcm, size_t frames, int channels, struct err *e)
{
	(void)e;
	while (frames > 0) {
		int64_t room = p->bin_end - p->frames;
		size_t k = (int64_t)frames < room ? frames : (size_t)room;
		size_t samples = k * (size_t)channels;
		float mn = p->cur_min, mx = p->cur_max;

		for (size_t i = 0; i < samples; i++) {
			mn = pcm[i] < mn ? pcm[i] : mn;
			mx = pcm[i] > mx ? pcm[i] : mx;
		}
		p->cur_min = mn;
		p->cur_max = mx;
		p->frames += (int64_t)k;
		pcm += samples;
		frames -= k;
		if (p->frames == p->bin_end)
			peaks_push(p);
	}
	return 0;
}

int media_peaks_finish(struct media_peaks *p, struct media_analysis *a, struct err *e)
{
	float *out;
	size_t i;

	if (p->frames > fine_start(p, p->used))
		peaks_push(p);
	out = malloc(2 * p->n * sizeof(float));
	if (!out)
		return err_set(e, ERR_NOMEM, "peaks: out of memory");
	for (i = 0; i < p->n; i++) {
		out[2 * i] = INFINITY;
		out[2 * i + 1] = -INFINITY;
	}
	/* Output bin i spans [floor(i * T / n), floor((i + 1) * T / n)) of the T frames seen; a
	 * fine bin goes to the output bin holding its first frame s: the largest i with
	 * floor(i * T / n) <= s, which is ((s + 1) * n - 1) / T. */
	for (size_t j = 0; j < p->used && p->frames > 0; j++) {
		unsigned __int128 s1 = (unsigned __int128)(fine_start(p, j) + 1) * p->n - 1;

		i = (size_t)(s1 / (unsigned __int128)p->frames);
		if (i >= p->n)
			i = p->n - 1;
		out[2 * i] = fminf(out[2 * i], p->fine_min[j]);
		out[2 * i + 1] = fmaxf(out[2 * i + 1], p->fine_max[j]);
	}
	/* A file shorter than n frames (or far shorter than announced) leaves bins empty:
	 * they repeat the bin before them, so the waveform is stretched rather than holed. */
	for (i = 0; i < p->n; i++) {
		if (isinf(out[2 * i]) && out[2 * i] > 0) {
			out[2 * i] = i > 0 ? out[2 * i - 2] : 0;
			out[2 * i + 1] = i > 0 ? out[2 * i - 1] : 0;
		}
	}
	a->peaks = out;
	a->npeaks = p->n;
	return 0;
}

void media_peaks_release(struct media_peaks *p)
{
	free(p->fine_min);
	free(p->fine_max);
	p->fine_min = p->fine_max = NULL;
}

/* --- features ------------------------------------------------------------------------------ */

int media_features_init(struct media_features *f, int rate, struct err *e)
{
	memset(f, 0, sizeof(*f));
	f->env_cap = 4096;
	f->env = malloc(f->env_cap * sizeof(float));
	if (!f->env)
		return err_set(e, ERR_NOMEM, "features: out of memory");
	f->rate = rate;
	f->prev_sign = 2; /* no sample yet */
	return 0;
}

int media_features_feed(struct media_features *f, const float *pcm, size_t frames, int channels, struct err *e)
{
	double sum_sq = 0;
	float inv = 1.0f / (float)channels;

	for (size_t i = 0; i < frames; i++) {
		const float *fr = pcm + i * (size_t)channels;
		float m = 0;
		int sign;

		for (int c = 0; c < channels; c++) {
			m += fr[c];
			sum_sq += (double)fr[c] * fr[c];
		}
		m *= inv;
		sign = m >= 0 ? 1 : -1;
		if (sign != f->prev_sign && f->prev_sign != 2)
			f->crossings++;
		f->prev_sign = sign;
		f->hop_energy += (double)m * m;
		if (++f->hop_fill == HOP) {
			if (f->env_len == f->env_cap && f->env_cap < ENV_MAX) {
				float *p = realloc(f->env, 2 * f->env_cap * sizeof(float));

				if (!p)
					return err_set(e, ERR_NOMEM, "features: out of memory");
				f->env = p;
				f->env_cap *= 2;
			}
			if (f->env_len < f->env_cap)
				f->env[f->env_len++] = (float)f->hop_energy;
			f->hop_energy = 0;
			f->hop_fill = 0;
		}
	}
	f->sum_sq += sum_sq;
	f->samples += (int64_t)(frames * (size_t)channels);
	f->mono_frames += (int64_t)frames;
	return 0;
}

/* Tempo: autocorrelation of the onset strength (rises of log energy) over the lags of
 * 70–180 BPM. Crude — octave errors happen — but cheap, and enough to sort by pace. */
static double tempo(const struct media_features *f)
{
	size_t n = f->env_len, lo, hi, best = 0;
	double lag_min = 60.0 * f->rate / (HOP * TEMPO_MAX), lag_max = 60.0 * f->rate / (HOP * TEMPO_MIN);
	double mean = 0, best_r = 0, r_prev = 0, r_next = 0, shift = 0;
	float *o;

	lo = (size_t)floor(lag_min);
	hi = (size_t)ceil(lag_max);
	if (lo < 2 || n < 4 * hi)
		return 0;
	o = malloc(n * sizeof(float));
	if (!o)
		return 0;
	o[0] = 0;
	for (size_t i = 1; i < n; i++) {
		double d = log(f->env[i] + 1e-9) - log(f->env[i - 1] + 1e-9);

		o[i] = d > 0 ? (float)d : 0;
		mean += o[i];
	}
	mean /= (double)n;
	for (size_t i = 0; i < n; i++)
		o[i] -= (float)mean;
	double *r = calloc(hi + 2, sizeof(double));

	if (!r) {
		free(o);
		return 0;
	}
	for (size_t lag = lo - 1; lag <= hi + 1; lag++) {
		double s = 0;

		for (size_t i = 0; i + lag < n; i++)
			s += (double)o[i] * o[i + lag];
		r[lag] = s / (double)(n - lag);
	}
	for (size_t lag = lo; lag <= hi; lag++) {
		if (r[lag] > best_r && r[lag] >= r[lag - 1] && r[lag] >= r[lag + 1]) {
			best_r = r[lag];
			best = lag;
		}
	}
	if (best) {
		r_prev = r[best - 1];
		r_next = r[best + 1];
		double den = r_prev - 2 * best_r + r_next;

		if (den < 0)
			shift = 0.5 * (r_prev - r_next) / den;
	}
	free(r);
	free(o);
	/* No positive local maximum: nothing recurs (silence, a steady tone). */
	if (!best)
		return 0;
	return 60.0 * f->rate / (HOP * ((double)best + shift));
}

void media_features_finish(struct media_features *f, struct media_analysis *a)
{
	a->rms_dbfs = f->sum_sq > 0 && f->samples > 0 ? 10 * log10(f->sum_sq / (double)f->samples) : -INFINITY;
	a->zero_crossing_rate = f->mono_frames > 1 ? (double)f->crossings / (double)(f->mono_frames - 1) : 0;
	a->tempo_bpm = tempo(f);
}

void media_features_release(struct media_features *f)
{
	free(f->env);
	f->env = NULL;
	f->rate = 0;
}
