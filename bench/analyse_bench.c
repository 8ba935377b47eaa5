/* analyse_bench — full analysis (loudness with true peak, fingerprint, peaks, features) of
 * one file, ROUNDS times, through media_analyse(): median wall time, × real time, and the
 * median time of each part, so the costly one is visible. Then the same without true peak
 * (4x oversampling), for comparison.
 *
 *   analyse_bench FILE [ROUNDS]        (bench/run.sh analyse generates a 5-minute FLAC)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/analyse.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define MAX_ROUNDS 100

static int run(const char *path, int rounds, unsigned parts, const char *label)
{
	static double total[MAX_ROUNDS], dec[MAX_ROUNDS], loud[MAX_ROUNDS], tpk[MAX_ROUNDS], fp[MAX_ROUNDS],
		pk[MAX_ROUNDS], ft[MAX_ROUNDS];
	struct media_analyse_options opt = { .parts = parts };
	double seconds = 0;

	for (int i = 0; i < rounds; i++) {
		struct media_analysis a;
		struct err e = ERR_INIT;

		if (media_analyse(path, &opt, &a, &e) < 0) {
			fprintf(stderr, "analyse_bench: %s: %s\n", path, e.msg);
			return 1;
		}
		seconds = (double)a.frames / a.sample_rate;
		total[i] = a.times.total;
		dec[i] = a.times.decode;
		loud[i] = a.times.loudness;
		tpk[i] = a.times.true_peak;
		fp[i] = a.times.fingerprint;
		pk[i] = a.times.peaks;
		ft[i] = a.times.features;
		if (i == 0)
			printf("%s: %.1f s of audio, %.2f LUFS, LRA %.1f LU, true peak %.2f dBTP, fingerprint %zu items\n",
			       label, seconds, a.integrated_lufs, a.loudness_range_lu, a.true_peak_dbtp, a.fingerprint_len);
		media_analysis_release(&a);
	}
	double t = median(total, rounds);

	printf("  median %.3f s = %.0fx real time (target >= 150x)\n", t, seconds / t);
	printf("  parts: decode %.3f  loudness %.3f  true peak %.3f  fingerprint %.3f  peaks %.3f  features %.3f s\n",
	       median(dec, rounds), median(loud, rounds), median(tpk, rounds), median(fp, rounds), median(pk, rounds),
	       median(ft, rounds));
	return 0;
}

int main(int argc, char **argv)
{
	int rounds = argc > 2 ? atoi(argv[2]) : 5;

	if (argc < 2 || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: analyse_bench FILE [ROUNDS (1-%d)]\n", MAX_ROUNDS);
		return 2;
	}
	if (run(argv[1], rounds, MEDIA_ANALYSE_ALL, "full analysis"))
		return 1;
	return run(argv[1], rounds, MEDIA_ANALYSE_ALL & ~MEDIA_ANALYSE_TRUE_PEAK, "without true peak");
}
