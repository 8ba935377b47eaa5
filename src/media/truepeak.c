/* truepeak.c — true peak (ITU-R BS.1770-4 Annex 2) without libebur128's cost.
 *
 * Measured on a 5-minute 44.1 kHz stereo FLAC, libebur128's EBUR128_MODE_TRUE_PEAK took
 * 1.65 s of a 2.9 s analysis: it upsamples every sample in double precision. This does the
 * same interpolation — libebur128's own filter: a 49-tap Hann-windowed sinc, 4x below 96 kHz,
 * 2x below 192 kHz — but in float, in loops the compiler vectorises, and it skips every
 * stretch of samples that cannot beat the peak found so far: an interpolated value is at most
 * the largest |sample| under the filter times the filter phase's L1 norm, so a chunk whose
 * samples stay below peak / L1 is left alone. Music settles at its peak quickly, so most
 * chunks are skipped. The result matches libebur128's within 0.01 dB (tested).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "media/analyse_internal.h"

#define TAPS 49
#define CHUNK 64

int media_truepeak_init(struct media_truepeak *tp, int rate, int channels, struct err *e)
{
	memset(tp, 0, sizeof(*tp));
	tp->factor = rate < 96000 ? 4 : rate < 192000 ? 2 : 1;
	tp->taps = (TAPS + tp->factor - 1) / tp->factor;
	tp->channels = channels;
	tp->coef = calloc((size_t)tp->factor * (size_t)tp->taps, sizeof(float));
	tp->hist = calloc((size_t)channels * (size_t)(tp->taps - 1 + MEDIA_TRUEPEAK_BLOCK), sizeof(float));
	tp->out = malloc(CHUNK * sizeof(float));
	if (!tp->coef || !tp->hist || !tp->out) {
		media_truepeak_release(tp);
		return err_set(e, ERR_NOMEM, "true peak: out of memory");
	}
	for (int j = 0; j < TAPS; j++) {
		double m = (double)j - (TAPS - 1) / 2.0, c = 1.0;

		if (fabs(m) > 1e-6)
			c = sin(m * M_PI / tp->factor) / (m * M_PI / tp->factor);
		c *= 0.5 * (1 - cos(2 * M_PI * j / (TAPS - 1)));
		tp->coef[(j % tp->factor) * tp->taps + j / tp->factor] = (float)c;
	}
	for (int f = tp->factor > 1 ? 1 : 0; f < tp->factor; f++) {
		double l1 = 0;

		for (int t = 0; t < tp->taps; t++)
			l1 += fabs(tp->coef[f * tp->taps + t]);
		if (l1 > tp->l1)
			tp->l1 = (float)l1;
	}
	return 0;
}

/* The upsampled maximum of x[0 .. n) given the taps - 1 samples before x[0]. Phase 0 of
 * the filter is the input itself, delayed (the sinc is zero at every other original
 * sample), so it is left to the sample peak. Built for AVX2 too where the CPU has it. */
__attribute__((target_clones("avx2", "default")))
static float chunk_peak(const struct media_truepeak *tp, const float *x, size_t n, float *y)
{
	float peak = 0;

	for (int f = tp->factor > 1 ? 1 : 0; f < tp->factor; f++) {
		const float *h = tp->coef + f * tp->taps;

		memset(y, 0, n * sizeof(float));
		for (int t = 0; t < tp->taps; t++) {
			const float c = h[t], *xs = x - t;

			for (size_t i = 0; i < n; i++)
				y[i] += c * xs[i];
		}
		for (size_t i = 0; i < n; i++) {
			float a = fabsf(y[i]);

			peak = a > peak ? a : peak;
		}
	}
	return peak;
}

int media_truepeak_feed(struct media_truepeak *tp, const float *pcm, size_t frames, int channels, struct err *e)
{
	size_t hl = (size_t)tp->taps - 1, stride = hl + MEDIA_TRUEPEAK_BLOCK;

	(void)e;
	while (frames > 0) {
		size_t n = frames < MEDIA_TRUEPEAK_BLOCK ? frames : MEDIA_TRUEPEAK_BLOCK;

		for (int c = 0; c < channels; c++) {
			float *x = tp->hist + (size_t)c * stride; /* [history | this block] */

			for (size_t i = 0; i < n; i++)
				x[hl + i] = pcm[i * (size_t)channels + (size_t)c];
			for (size_t s = 0; s < n; s += CHUNK) {
				size_t k = n - s < CHUNK ? n - s : CHUNK;
				const float *cx = x + hl + s;
				float mx = 0;

				for (size_t i = 0; i < k + hl; i++) {
					float a = fabsf(cx[(ptrdiff_t)i - (ptrdiff_t)hl]);

					mx = a > mx ? a : mx;
				}
				if (mx * tp->l1 <= tp->peak)
					continue;
				float p = chunk_peak(tp, cx, k, tp->out);

				if (p > tp->peak)
					tp->peak = p;
			}
			memmove(x, x + n, hl * sizeof(float));
		}
		pcm += n * (size_t)channels;
		frames -= n;
	}
	return 0;
}

void media_truepeak_release(struct media_truepeak *tp)
{
	free(tp->coef);
	free(tp->hist);
	free(tp->out);
	tp->coef = tp->hist = tp->out = NULL;
}
