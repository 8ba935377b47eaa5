/* analyse: loudness against the ffmpeg CLI's ebur128 filter and libebur128 itself,
 * fingerprints of one recording in two codecs, waveform peaks, features, broken files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ebur128.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "media/analyse.h"
#include "media/analyse_internal.h"
#include "media/decode.h"
#include "unit/media/fixtures.h"

static char *dir;

static int setup(void **state)
{
	(void)state;
	dir = fixtures_make();
	return dir ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	fixtures_remove(dir);
	return 0;
}

static void analyse_ok(const char *name, const struct media_analyse_options *opt, struct media_analysis *a)
{
	struct err e = ERR_INIT;

	if (media_analyse(fixture(dir, name), opt, a, &e) != 0)
		fail_msg("%s: %s", name, e.msg);
}

/* The integrated loudness the ffmpeg CLI's ebur128 filter reports (its summary's "I:"). */
static double cli_loudness(const char *path)
{
	char cmd[1024], line[512];
	double v = NAN;
	FILE *p;

	snprintf(cmd, sizeof(cmd),
		 "ffmpeg -nostdin -hide_banner -nostats -i '%s' -af ebur128 -f null - 2>&1", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	/* Per-frame lines start with "[Parsed_ebur128…"; the summary's are indented. */
	while (fgets(line, sizeof(line), p)) {
		const char *s = line + strspn(line, " ");

		if (s > line && strncmp(s, "I:", 2) == 0)
			v = strtod(s + 2, NULL);
	}
	pclose(p);
	return v;
}

static void test_loudness_matches_ffmpeg(void **state)
{
	static const char *files[] = { "minus20.flac", "pink.flac", "sine.mp3", "sine.opus", "a.flac" };

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct media_analysis a;
		double ref = cli_loudness(fixture(dir, files[i]));

		analyse_ok(files[i], NULL, &a);
		print_message("%s: %.2f LUFS, ffmpeg %.1f\n", files[i], a.integrated_lufs, ref);
		assert_false(isnan(ref));
		assert_true(fabs(a.integrated_lufs - ref) <= 0.5);
		assert_true(fabs(a.track_gain_db - (-18.0 - a.integrated_lufs)) < 1e-9);
		media_analysis_release(&a);
	}
}

/* 1 kHz at 0.1 peak in both channels: mean square 0.005 a channel, two channels summed,
 * K-weighting adds ~+0.69 dB at 1 kHz and the formula takes 0.691 off: -20.0 LUFS. */
static void test_loudness_known_values(void **state)
{
	struct media_analysis a;

	(void)state;
	analyse_ok("minus20.flac", NULL, &a);
	assert_true(fabs(a.integrated_lufs - -20.0) < 0.1);
	assert_true(fabs(a.true_peak_dbtp - -20.0) < 0.1);
	assert_true(a.loudness_range_lu < 0.5);
	media_analysis_release(&a);

	analyse_ok("full.wav", NULL, &a);
	assert_true(fabs(a.true_peak_dbtp) < 0.2);
	assert_true(fabs(a.true_peak - 1.0) < 0.03);
	assert_true(fabs(a.sample_peak - 1.0) < 1e-3);
	assert_true(fabs(a.integrated_lufs) < 0.2);
	media_analysis_release(&a);

	analyse_ok("silence.flac", NULL, &a);
	assert_true(isinf(a.integrated_lufs) && a.integrated_lufs < 0);
	assert_true(isinf(a.true_peak_dbtp) && a.true_peak_dbtp < 0);
	assert_true(a.track_gain_db == 0);
	media_analysis_release(&a);
}

/* libebur128's own state of a file, fed by our decoder, in histogram mode. */
static ebur128_state *reference_state(const char *name)
{
	struct media_decoder *d;
	struct err e = ERR_INIT;
	ebur128_state *st;
	float pcm[4096 * 2];
	long n;

	assert_int_equal(media_decoder_open(fixture(dir, name), &d, &e), 0);
	assert_true(media_decoder_info(d)->channels <= 2);
	st = ebur128_init((unsigned)media_decoder_info(d)->channels, (unsigned long)media_decoder_info(d)->sample_rate,
			  EBUR128_MODE_I | EBUR128_MODE_HISTOGRAM);
	assert_non_null(st);
	while ((n = media_decoder_read(d, pcm, 4096, &e)) > 0)
		assert_int_equal(ebur128_add_frames_float(st, pcm, (size_t)n), EBUR128_SUCCESS);
	assert_int_equal(n, 0);
	media_decoder_free(d);
	return st;
}

static void test_album_gain(void **state)
{
	static const char *files[] = { "sine.flac", "pink.flac", "minus20.flac", "silence.flac" };
	struct media_analysis a[4];
	ebur128_state *st[4];
	double ref;

	(void)state;
	for (int i = 0; i < 4; i++) {
		analyse_ok(files[i], NULL, &a[i]);
		st[i] = reference_state(files[i]);
	}
	/* One track: the album is the track. */
	assert_true(fabs(media_album_loudness(&a[1], 1) - a[1].integrated_lufs) < 0.01);
	/* Two and four tracks: what libebur128 says of the states together. */
	assert_int_equal(ebur128_loudness_global_multiple(st, 2, &ref), EBUR128_SUCCESS);
	print_message("album of 2: %.4f, libebur128 %.4f\n", media_album_loudness(a, 2), ref);
	assert_true(fabs(media_album_loudness(a, 2) - ref) < 0.01);
	assert_int_equal(ebur128_loudness_global_multiple(st, 4, &ref), EBUR128_SUCCESS);
	assert_true(fabs(media_album_loudness(a, 4) - ref) < 0.01);
	assert_true(fabs(media_album_gain(a, 4) - (-18.0 - ref)) < 0.01);
	/* The album is louder than its quietest track, quieter than its loudest. */
	assert_true(media_album_loudness(a, 2) > a[1].integrated_lufs);
	assert_true(media_album_loudness(a, 2) < a[0].integrated_lufs);
	/* Silence alone has no loudness and no gain. */
	assert_true(isinf(media_album_loudness(&a[3], 1)));
	assert_true(media_album_gain(&a[3], 1) == 0);
	assert_true(isinf(media_album_loudness(a, 0)));
	for (int i = 0; i < 4; i++) {
		media_analysis_release(&a[i]);
		ebur128_destroy(&st[i]);
	}
}

/* truepeak.c against libebur128's EBUR128_MODE_TRUE_PEAK on the same decoded samples. */
static void test_true_peak_matches_libebur128(void **state)
{
	static const char *files[] = { "pink.flac", "noise.flac", "sine.mp3", "a.flac", "full.wav", "sine.opus", "clicks.flac" };

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct media_decoder *d;
		struct media_analysis a;
		struct err e = ERR_INIT;
		ebur128_state *st;
		float pcm[4096 * 2];
		double ref = 0, v;
		long n;

		assert_int_equal(media_decoder_open(fixture(dir, files[i]), &d, &e), 0);
		int channels = media_decoder_info(d)->channels;

		assert_true(channels <= 2);
		st = ebur128_init((unsigned)channels, (unsigned long)media_decoder_info(d)->sample_rate, EBUR128_MODE_TRUE_PEAK);
		assert_non_null(st);
		while ((n = media_decoder_read(d, pcm, 4096, &e)) > 0)
			assert_int_equal(ebur128_add_frames_float(st, pcm, (size_t)n), EBUR128_SUCCESS);
		media_decoder_free(d);
		for (unsigned c = 0; c < (unsigned)channels; c++)
			if (ebur128_true_peak(st, c, &v) == EBUR128_SUCCESS && v > ref)
				ref = v;
		ebur128_destroy(&st);
		analyse_ok(files[i], NULL, &a);
		print_message("%s: true peak %.4f dBTP, libebur128 %.4f\n", files[i], a.true_peak_dbtp, 20 * log10(ref));
		assert_true(fabs(a.true_peak_dbtp - 20 * log10(ref)) < 0.01);
		media_analysis_release(&a);
	}
}

static void test_fingerprints(void **state)
{
	struct media_analysis fa, ma, fb;
	int same, other, self;

	(void)state;
	analyse_ok("a.flac", NULL, &fa);
	analyse_ok("a.mp3", NULL, &ma);
	analyse_ok("b.flac", NULL, &fb);
	assert_non_null(fa.fingerprint);
	assert_true(strlen(fa.fingerprint) > 20);
	assert_true(fa.fingerprint_len > 100); /* 20 s at ~8 items a second */
	self = media_fingerprint_similarity(fa.fingerprint_raw, fa.fingerprint_len, fa.fingerprint_raw, fa.fingerprint_len);
	same = media_fingerprint_similarity(fa.fingerprint_raw, fa.fingerprint_len, ma.fingerprint_raw, ma.fingerprint_len);
	other = media_fingerprint_similarity(fa.fingerprint_raw, fa.fingerprint_len, fb.fingerprint_raw, fb.fingerprint_len);
	print_message("similarity: self %d, flac vs mp3 %d, a vs b %d\n", self, same, other);
	assert_int_equal(self, 100);
	assert_true(same >= 70);
	assert_true(other <= 30);
	/* Shifted by 2 s (16 items): alignment finds it. */
	assert_true(media_fingerprint_similarity(fa.fingerprint_raw + 16, fa.fingerprint_len - 16, ma.fingerprint_raw,
						 ma.fingerprint_len) >= 70);
	assert_int_equal(media_fingerprint_similarity(fa.fingerprint_raw, 5, ma.fingerprint_raw, ma.fingerprint_len), 0);
	/* The stored text decodes to the raw items again; anything else is refused. */
	{
		uint32_t *raw = NULL;
		size_t len = 0;
		struct err e = ERR_INIT;

		assert_int_equal(media_fingerprint_decode(fa.fingerprint, &raw, &len, &e), 0);
		assert_int_equal(len, fa.fingerprint_len);
		assert_memory_equal(raw, fa.fingerprint_raw, len * sizeof(*raw));
		free(raw);
		for (const char *bad[] = { "", "not base64 at all!", "AQAA", NULL }, **b = bad; *b; b++) {
			e = (struct err)ERR_INIT;
			assert_int_equal(media_fingerprint_decode(*b, &raw, &len, &e), -1);
			assert_null(raw);
			assert_int_equal(e.code, ERR_INVALID);
		}
	}
	media_analysis_release(&fa);
	media_analysis_release(&ma);
	media_analysis_release(&fb);
}

static void test_peaks(void **state)
{
	struct media_analysis a;
	struct media_analyse_options opt = { .peaks = 64 };

	(void)state;
	analyse_ok("silence.flac", NULL, &a);
	assert_int_equal(a.npeaks, MEDIA_PEAKS_DEFAULT);
	for (size_t i = 0; i < 2 * a.npeaks; i++)
		assert_true(a.peaks[i] == 0.0f);
	media_analysis_release(&a);

	analyse_ok("full.wav", &opt, &a);
	assert_int_equal(a.npeaks, 64);
	for (size_t i = 0; i < a.npeaks; i++) {
		assert_true(a.peaks[2 * i] < -0.99f && a.peaks[2 * i] >= -1.0f);
		assert_true(a.peaks[2 * i + 1] > 0.99f && a.peaks[2 * i + 1] <= 1.0f);
	}
	media_analysis_release(&a);

	/* Clicks every 0.5 s over 20 s: 40 loud bins out of 80, alternating with near silence. */
	opt.peaks = 80;
	analyse_ok("clicks.flac", &opt, &a);
	for (size_t i = 0; i < a.npeaks; i++) {
		if (i % 2 == 0)
			assert_true(a.peaks[2 * i + 1] > 0.7f);
		else
			assert_true(a.peaks[2 * i + 1] < 0.01f);
	}
	media_analysis_release(&a);
}

/* A ramp 0 … 1 over `total` frames, binned with a wrong expectation of its length: bin i
 * must hold the ramp's values of [i/n, (i+1)/n) within half a bin (one fine bin) — or,
 * when the file is shorter than expected, within one fine bin of the expected length. */
static void check_ramp(int64_t total, int64_t expect, size_t n)
{
	struct media_peaks p;
	struct media_analysis a = { 0 };
	struct err e = ERR_INIT;
	float block[1000];
	int64_t f = 0;

	assert_int_equal(media_peaks_init(&p, n, expect, &e), 0);
	while (f < total) {
		size_t k = total - f < 1000 ? (size_t)(total - f) : 1000;

		for (size_t i = 0; i < k; i++)
			block[i] = (float)(f + (int64_t)i) / (float)total;
		assert_int_equal(media_peaks_feed(&p, block, k, 1, &e), 0);
		f += (int64_t)k;
	}
	assert_int_equal(media_peaks_finish(&p, &a, &e), 0);
	media_peaks_release(&p);
	assert_int_equal(a.npeaks, n);
	for (size_t i = 0; i < n; i++) {
		double lo = (double)i / (double)n, hi = (double)(i + 1) / (double)n;
		double slack = 0.5 / (double)n + 1.0 / (double)total; /* + one frame of granularity */

		if (expect > total)
			slack = (double)expect / (2.0 * (double)n) / (double)total + 1e-6;

		if (fabs(a.peaks[2 * i] - lo) > slack || fabs(a.peaks[2 * i + 1] - hi) > slack)
			fail_msg("total %lld expect %lld: bin %zu is [%f, %f], want [%f, %f]", (long long)total,
				 (long long)expect, i, a.peaks[2 * i], a.peaks[2 * i + 1], lo, hi);
	}
	media_analysis_release(&a);
}

static void test_peaks_adaptive(void **state)
{
	(void)state;
	check_ramp(1000000, 1000000, 100); /* length known */
	check_ramp(1000000, 0, 100);       /* unknown */
	check_ramp(1000000, 300000, 100);  /* header says a third */
	check_ramp(1000000, 600000, 100);
	check_ramp(1000000, 1900000, 100); /* header says almost twice */
	check_ramp(777777, 0, 1000);
	check_ramp(1500, 0, 1000);         /* fewer frames than pairs: stretched */
	check_ramp(1000, 1000, 1000);
}

static void test_features(void **state)
{
	struct media_analysis a;

	(void)state;
	analyse_ok("minus20.flac", NULL, &a);
	/* 0.1 peak sine: RMS 0.0707 = -23.0 dBFS; 1 kHz at 48 kHz crosses zero 2000 times a second. */
	assert_true(fabs(a.rms_dbfs - -23.01) < 0.05);
	assert_true(fabs(a.zero_crossing_rate - 2000.0 / 48000.0) < 0.001);
	media_analysis_release(&a);

	analyse_ok("silence.flac", NULL, &a);
	assert_true(isinf(a.rms_dbfs));
	assert_true(a.zero_crossing_rate == 0);
	assert_true(a.tempo_bpm == 0);
	media_analysis_release(&a);

	analyse_ok("clicks.flac", NULL, &a); /* a click every 0.5 s: 120 BPM */
	print_message("clicks: %.1f BPM\n", a.tempo_bpm);
	assert_true(fabs(a.tempo_bpm - 120.0) < 2.0);
	media_analysis_release(&a);
}

static void test_options(void **state)
{
	struct media_analysis a;
	struct media_analyse_options opt = { .max_s = 2.0, .parts = MEDIA_ANALYSE_PEAKS };

	(void)state;
	analyse_ok("sine.flac", &opt, &a);
	assert_int_equal(a.frames, 88200);
	assert_null(a.fingerprint);
	assert_non_null(a.peaks);
	assert_true(isinf(a.integrated_lufs));
	media_analysis_release(&a);

	opt = (struct media_analyse_options){ .fingerprint_s = 5, .parts = MEDIA_ANALYSE_FINGERPRINT | MEDIA_ANALYSE_LOUDNESS };
	analyse_ok("a.flac", &opt, &a);
	print_message("5 s fingerprint: %zu items\n", a.fingerprint_len);
	/* ~8 items a second, less the ~20 the classifiers' window needs: 19 for 5 s, 140 for 20. */
	assert_true(a.fingerprint_len >= 15 && a.fingerprint_len <= 25);
	assert_null(a.peaks);
	assert_true(a.true_peak == a.sample_peak); /* no true peak asked */
	media_analysis_release(&a);
}

/* Through a media_source, the analysis is the same; over a stream that cannot seek, the MP3
 * demuxer cannot trim the encoder's end padding (under one frame more). */
/* The analyser fed by someone else's decode (the ladder's), in blocks of odd sizes, gives
 * exactly what media_analyse() gives; and refuses audio that stops before the length it was
 * promised. */
static void test_analyser_fed_blocks(void **state)
{
	static const size_t sizes[] = { 1, 4096, 777, 10000, 33 };
	struct media_analysis b, a;
	struct media_analyser *an = NULL;
	struct media_decoder *d = NULL;
	const struct media_info *info;
	struct err e = ERR_INIT;
	float *pcm;
	long n;

	(void)state;
	analyse_ok("a.mp3", NULL, &b);
	assert_int_equal(media_decoder_open(fixture(dir, "a.mp3"), &d, &e), 0);
	info = media_decoder_info(d);
	assert_non_null(pcm = malloc(10000 * sizeof(float) * (size_t)info->channels));
	for (size_t i = 0; (n = media_decoder_read(d, pcm, sizes[i % 5], &e)) > 0; i++) {
		if (!an)
			assert_int_equal(media_analyser_new(NULL, info->sample_rate, info->channels, info->duration_ms,
							    !info->duration_estimated, &an, &e), 0);
		assert_int_equal(media_analyser_feed(an, pcm, (size_t)n, &e), 0);
	}
	assert_int_equal(n, 0);
	assert_int_equal(media_analyser_finish(an, &a, &e), 0);
	media_analyser_free(an);
	media_decoder_free(d);
	assert_int_equal(a.frames, b.frames);
	assert_true(a.integrated_lufs == b.integrated_lufs);
	assert_true(a.loudness_range_lu == b.loudness_range_lu);
	assert_true(a.true_peak == b.true_peak);
	assert_memory_equal(a.gating_hist, b.gating_hist, sizeof(a.gating_hist));
	assert_string_equal(a.fingerprint, b.fingerprint);
	assert_int_equal(a.npeaks, b.npeaks);
	assert_memory_equal(a.peaks, b.peaks, 2 * a.npeaks * sizeof(float));
	assert_true(a.tempo_bpm == b.tempo_bpm);
	media_analysis_release(&a);

	/* Two seconds of audio promised as ten. */
	assert_int_equal(media_analyser_new(NULL, 44100, 2, 10000, true, &an, &e), 0);
	memset(pcm, 0, 10000 * sizeof(float) * 2);
	for (int i = 0; i < 9; i++)
		assert_int_equal(media_analyser_feed(an, pcm, 9800, &e), 0);
	assert_int_equal(media_analyser_finish(an, &a, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_non_null(strstr(e.msg, "truncated"));
	media_analyser_free(an);
	/* Nothing at all. */
	err_clear(&e);
	assert_int_equal(media_analyser_new(NULL, 44100, 2, 0, false, &an, &e), 0);
	assert_int_equal(media_analyser_finish(an, &a, &e), -1);
	assert_non_null(strstr(e.msg, "no audio"));
	media_analyser_free(an);
	free(pcm);
	media_analysis_release(&b);
}

static void test_source(void **state)
{
	struct media_analysis b;

	(void)state;
	analyse_ok("a.mp3", NULL, &b);
	for (int seekable = 1; seekable >= 0; seekable--) {
		struct file_source fs = { fopen(fixture(dir, "a.mp3"), "rb"), -1, 0 };
		struct media_source src;
		struct media_analysis a;
		struct err e = ERR_INIT;

		assert_non_null(fs.f);
		file_source_init(&src, &fs, "a.mp3", seekable);
		assert_int_equal(media_analyse_source(&src, NULL, &a, &e), 0);
		fclose(fs.f);
		if (seekable) {
			assert_int_equal(a.frames, b.frames);
			assert_true(a.integrated_lufs == b.integrated_lufs);
			assert_true(a.true_peak == b.true_peak);
			assert_string_equal(a.fingerprint, b.fingerprint);
			assert_memory_equal(a.peaks, b.peaks, 2 * a.npeaks * sizeof(float));
		} else {
			assert_true(a.frames >= b.frames && a.frames < b.frames + 1152);
			assert_true(fabs(a.integrated_lufs - b.integrated_lufs) < 0.05);
			assert_true(media_fingerprint_similarity(a.fingerprint_raw, a.fingerprint_len, b.fingerprint_raw,
								 b.fingerprint_len) > 90);
		}
		media_analysis_release(&a);
	}
	media_analysis_release(&b);
}

static void expect_failure(const char *name, const char *prefix, double at_min, double at_max)
{
	struct media_analysis a;
	struct err e = ERR_INIT;

	assert_int_equal(media_analyse(fixture(dir, name), NULL, &a, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	print_message("%s: %s\n", name, e.msg);
	if (strncmp(e.msg, prefix, strlen(prefix)) != 0)
		fail_msg("%s: \"%s\" does not start with \"%s\"", name, e.msg, prefix);
	if (at_max > 0) {
		double at = strtod(e.msg + strlen(prefix), NULL);

		assert_true(at >= at_min && at <= at_max);
	}
	assert_null(a.peaks);
	assert_null(a.fingerprint);
}

static void test_broken(void **state)
{
	(void)state;
	expect_failure("trunc.flac", "truncated or corrupt at ", 4.0, 5.5);
	expect_failure("trunc.mp3", "truncated or corrupt at ", 4.0, 5.5);
	expect_failure("corrupt.flac", "truncated or corrupt at ", 4.0, 5.5);
	expect_failure("text.mp3", "not an audio file", 0, 0);
	expect_failure("empty.flac", "empty file", 0, 0);
	expect_failure("zero.wav", "no audio: duration is 0", 0, 0);
}

/* An MP3 without Xing header: its length is FFmpeg's estimate from the bit rate, which is
 * not held against it. */
static void test_estimated_length(void **state)
{
	struct media_analysis a;

	(void)state;
	analyse_ok("noxing.mp3", NULL, &a);
	assert_true(llabs(a.frames - 441000) < 2 * 1152 + 529);
	media_analysis_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loudness_matches_ffmpeg),
		cmocka_unit_test(test_loudness_known_values),
		cmocka_unit_test(test_album_gain),
		cmocka_unit_test(test_true_peak_matches_libebur128),
		cmocka_unit_test(test_fingerprints),
		cmocka_unit_test(test_peaks),
		cmocka_unit_test(test_peaks_adaptive),
		cmocka_unit_test(test_features),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_broken),
		cmocka_unit_test(test_source),
		cmocka_unit_test(test_analyser_fed_blocks),
		cmocka_unit_test(test_estimated_length),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
