/* analyse_compare.c — album loudness from per-track gating histograms, and fingerprint
 * similarity. Plain C on stored numbers: the server uses it without the media stack (stack.h). */
#include <math.h>
#include <stdbool.h>

#include "media/analyse_internal.h"

/* libebur128's histogram: bin i spans [-70 + i/10, -70 + (i+1)/10) LUFS and stands for the
 * energy of its centre. The same numbers here make pooled histograms gate exactly as
 * ebur128_loudness_global_multiple() gates the tracks' states. */
static double boundaries[MEDIA_GATING_BINS + 1];
static double centres[MEDIA_GATING_BINS];
static bool tables_ready;

static double lufs_to_energy(double lufs)
{
	return pow(10.0, (lufs + 0.691) / 10.0);
}

/* Racing initialisations write the same values, so no lock is needed for correctness; the
 * flag is set last. */
static void tables(void)
{
	if (__atomic_load_n(&tables_ready, __ATOMIC_ACQUIRE))
		return;
	for (int i = 0; i <= MEDIA_GATING_BINS; i++)
		boundaries[i] = lufs_to_energy((double)i / 10.0 - 70.0);
	for (int i = 0; i < MEDIA_GATING_BINS; i++)
		centres[i] = lufs_to_energy((double)i / 10.0 - 69.95);
	__atomic_store_n(&tables_ready, true, __ATOMIC_RELEASE);
}

static size_t bin_of(double energy)
{
	size_t lo = 0, hi = MEDIA_GATING_BINS;

	while (hi - lo != 1) {
		size_t mid = (lo + hi) / 2;

		if (energy >= boundaries[mid])
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

void media_gating_hist_add(uint32_t *hist, double lufs)
{
	double energy;

	tables();
	if (!isfinite(lufs))
		return;
	energy = lufs_to_energy(lufs);
	if (energy >= boundaries[0])
		hist[bin_of(energy)]++;
}

double media_album_loudness(const struct media_analysis *tracks, size_t n)
{
	double sum = 0, threshold;
	uint64_t count = 0;
	size_t start;

	tables();
	for (size_t t = 0; t < n; t++)
		for (size_t i = 0; i < MEDIA_GATING_BINS; i++) {
			sum += tracks[t].gating_hist[i] * centres[i];
			count += tracks[t].gating_hist[i];
		}
	if (!count)
		return -INFINITY;
	/* Relative gate: 10 LU below the loudness of the blocks above the absolute gate. */
	threshold = sum / (double)count * 0.1;
	if (threshold < boundaries[0]) {
		start = 0;
	} else {
		start = bin_of(threshold);
		if (threshold > centres[start])
			start++;
	}
	sum = 0;
	count = 0;
	for (size_t t = 0; t < n; t++)
		for (size_t i = start; i < MEDIA_GATING_BINS; i++) {
			sum += tracks[t].gating_hist[i] * centres[i];
			count += tracks[t].gating_hist[i];
		}
	if (!count)
		return -INFINITY;
	return 10 * log10(sum / (double)count) - 0.691;
}

double media_album_gain(const struct media_analysis *tracks, size_t n)
{
	double l = media_album_loudness(tracks, n);

	return isfinite(l) ? MEDIA_REPLAYGAIN_REFERENCE - l : 0;
}

#define MAX_OFFSET 80  /* fingerprint items (~0.124 s each): about ±10 s */
#define MIN_OVERLAP 24 /* about 3 s */
#define PROBE 64       /* items compared first at each offset (~8 s) */
#define PROBE_BER 0.3  /* offsets whose probe errs more are not compared in full */

/* Bit error rate of a[ia..ia+len) against b[ib..ib+len). */
static double ber(const uint32_t *a, size_t ia, const uint32_t *b, size_t ib, size_t len)
{
	size_t bits = 0;

	for (size_t i = 0; i < len; i++)
		bits += (size_t)__builtin_popcount(a[ia + i] ^ b[ib + i]);
	return (double)bits / (32.0 * (double)len);
}

/* Every offset is first probed over its first PROBE items (a catalogue compares a track with
 * thousands of others of its length, and unrelated audio errs on about half the bits); only
 * offsets whose probe errs on under 30% are compared in full. So a score that no offset could
 * reach 40 with is the best probe's, an estimate: the bar callers set (70) is far above it. */
int media_fingerprint_similarity(const uint32_t *a, size_t alen, const uint32_t *b, size_t blen)
{
	double best = 1.0;

	if (!a || !b || alen < MIN_OVERLAP || blen < MIN_OVERLAP)
		return 0;
	for (long off = -MAX_OFFSET; off <= MAX_OFFSET; off++) {
		/* a[i] lines up with b[i + off]. */
		size_t ia = off < 0 ? (size_t)-off : 0, ib = off > 0 ? (size_t)off : 0, len;
		double r;

		if (ia >= alen || ib >= blen)
			continue;
		len = alen - ia < blen - ib ? alen - ia : blen - ib;
		if (len < MIN_OVERLAP)
			continue;
		r = ber(a, ia, b, ib, len < PROBE ? len : PROBE);
		if (r < PROBE_BER && len > PROBE)
			r = ber(a, ia, b, ib, len);
		if (r < best)
			best = r;
	}
	double score = 100.0 * (1.0 - 2.0 * best);

	return score <= 0 ? 0 : (int)lround(score);
}
