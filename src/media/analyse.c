/* analyse.c — the one decode loop, and the EBU R128 and Chromaprint consumers it feeds.
 * Peaks and features are in analyse_wave.c, album gain and fingerprint comparison in
 * analyse_compare.c. */
#include "media/analyse.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <chromaprint.h>
#include <ebur128.h>

#include "media/analyse_internal.h"
#include "media/decode.h"

#define BLOCK_FRAMES 4096

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- EBU R128 ---------------------------------------------------------------------------
 * libebur128 closes a 400 ms gating block every 100 ms of input (the first after 400 ms).
 * Feeding it in pieces that end exactly there and asking for the momentary loudness right
 * after gives each block's loudness: the values its own histogram counts, which is what
 * album gain needs kept per track. */

struct loudness {
	ebur128_state *st;
	size_t s100;  /* frames in 100 ms, as libebur128 counts them */
	size_t need;  /* frames until the next block closes */
	uint32_t *hist;
};

static int loudness_init(struct loudness *l, int rate, int channels, uint32_t *hist, struct err *e)
{
	int mode = EBUR128_MODE_I | EBUR128_MODE_LRA | EBUR128_MODE_HISTOGRAM | EBUR128_MODE_SAMPLE_PEAK;

	l->st = ebur128_init((unsigned)channels, (unsigned long)rate, mode);
	if (!l->st)
		return err_set(e, ERR_UNSUPPORTED, "loudness: cannot measure %d channels at %d Hz", channels, rate);
	l->s100 = ((size_t)rate + 5) / 10;
	l->need = l->s100 * 4;
	l->hist = hist;
	return 0;
}

static int loudness_feed(struct loudness *l, const float *pcm, size_t frames, int channels, struct err *e)
{
	while (frames > 0) {
		size_t n = frames < l->need ? frames : l->need;
		double m;

		if (ebur128_add_frames_float(l->st, pcm, n) != EBUR128_SUCCESS)
			return err_set(e, ERR_NOMEM, "loudness: out of memory");
		pcm += n * (size_t)channels;
		frames -= n;
		l->need -= n;
		if (l->need == 0) {
			l->need = l->s100;
			if (ebur128_loudness_momentary(l->st, &m) == EBUR128_SUCCESS)
				media_gating_hist_add(l->hist, m);
		}
	}
	return 0;
}

/* `tp` is the true peak measured by truepeak.c, or NULL when it was not asked for. */
static void loudness_finish(struct loudness *l, int channels, const struct media_truepeak *tp, struct media_analysis *a)
{
	double v;

	if (ebur128_loudness_global(l->st, &a->integrated_lufs) != EBUR128_SUCCESS)
		a->integrated_lufs = -INFINITY;
	if (ebur128_loudness_range(l->st, &a->loudness_range_lu) != EBUR128_SUCCESS)
		a->loudness_range_lu = 0;
	for (int c = 0; c < channels; c++)
		if (ebur128_sample_peak(l->st, (unsigned)c, &v) == EBUR128_SUCCESS && v > a->sample_peak)
			a->sample_peak = v;
	/* As libebur128 reports it: never below the sample peak (interpolation can undershoot
	 * a sample's exact value by a hair). */
	a->true_peak = tp && tp->peak > a->sample_peak ? tp->peak : a->sample_peak;
	a->true_peak_dbtp = a->true_peak > 0 ? 20 * log10(a->true_peak) : -INFINITY;
	if (isfinite(a->integrated_lufs))
		a->track_gain_db = MEDIA_REPLAYGAIN_REFERENCE - a->integrated_lufs;
	else
		a->integrated_lufs = -INFINITY;
}

/* --- Chromaprint ------------------------------------------------------------------------ */

struct fingerprint {
	ChromaprintContext *ctx;
	int64_t left;     /* frames still to feed */
	int16_t *pcm16;   /* BLOCK_FRAMES * channels */
};

static int fingerprint_init(struct fingerprint *f, int rate, int channels, double seconds, struct err *e)
{
	f->ctx = chromaprint_new(CHROMAPRINT_ALGORITHM_DEFAULT);
	f->pcm16 = malloc((size_t)BLOCK_FRAMES * (size_t)channels * sizeof(int16_t));
	if (!f->ctx || !f->pcm16)
		return err_set(e, ERR_NOMEM, "fingerprint: out of memory");
	/* A rate or channel count Chromaprint refuses leaves the file without a fingerprint;
	 * the rest of the analysis stands. */
	if (!chromaprint_start(f->ctx, rate, channels)) {
		chromaprint_free(f->ctx);
		f->ctx = NULL;
		return 0;
	}
	f->left = (int64_t)(seconds * rate);
	return 0;
}

/* Any number of frames, converted BLOCK_FRAMES at a time. */
static int fingerprint_feed(struct fingerprint *f, const float *pcm, size_t frames, int channels, struct err *e)
{
	while (frames > 0 && f->left > 0) {
		size_t n = frames < BLOCK_FRAMES ? frames : BLOCK_FRAMES, samples;

		if ((int64_t)n > f->left)
			n = (size_t)f->left;
		samples = n * (size_t)channels;
		for (size_t i = 0; i < samples; i++) {
			float v = pcm[i] * 32768.0f;

			f->pcm16[i] = (int16_t)(v >= 32767.0f ? 32767 : v <= -32768.0f ? -32768 : lrintf(v));
		}
		f->left -= (int64_t)n;
		if (!chromaprint_feed(f->ctx, f->pcm16, (int)samples))
			return err_set(e, ERR_INTERNAL, "fingerprint: chromaprint refused the audio");
		pcm += samples;
		frames -= n;
	}
	return 0;
}

/* A fingerprint needs a few seconds of audio; shorter files simply have none. */
static int fingerprint_finish(struct fingerprint *f, struct media_analysis *a, struct err *e)
{
	char *text = NULL;
	uint32_t *raw = NULL;
	int size = 0, ret = -1;

	if (!chromaprint_finish(f->ctx) || !chromaprint_get_raw_fingerprint(f->ctx, &raw, &size) || size <= 0 ||
	    !chromaprint_get_fingerprint(f->ctx, &text) || !text) {
		ret = 0;
		goto out;
	}
	a->fingerprint = strdup(text);
	a->fingerprint_raw = malloc((size_t)size * sizeof(uint32_t));
	if (!a->fingerprint || !a->fingerprint_raw) {
		err_set(e, ERR_NOMEM, "fingerprint: out of memory");
		goto out;
	}
	memcpy(a->fingerprint_raw, raw, (size_t)size * sizeof(uint32_t));
	a->fingerprint_len = (size_t)size;
	ret = 0;
out:
	if (text)
		chromaprint_dealloc(text);
	if (raw)
		chromaprint_dealloc(raw);
	return ret;
}

static void fingerprint_release(struct fingerprint *f)
{
	if (f->ctx)
		chromaprint_free(f->ctx);
	free(f->pcm16);
}

/* --- the loop ------------------------------------------------------------------------------ */

void media_analysis_release(struct media_analysis *a)
{
	free(a->fingerprint);
	free(a->fingerprint_raw);
	free(a->peaks);
	memset(a, 0, sizeof(*a));
}

/* The consumers of one analysis, fed block by block (media_analyser_new). */
struct media_analyser {
	struct media_analyse_options o;
	int rate, channels;
	int64_t expect_ms, max_frames;
	bool trust_length;
	struct loudness loud;
	struct media_truepeak tp;
	struct fingerprint fp;
	struct media_peaks pk;
	struct media_features ft;
	struct media_analysis a;
};

void media_analyser_free(struct media_analyser *an)
{
	if (!an)
		return;
	if (an->loud.st)
		ebur128_destroy(&an->loud.st);
	media_truepeak_release(&an->tp);
	fingerprint_release(&an->fp);
	media_peaks_release(&an->pk);
	media_features_release(&an->ft);
	media_analysis_release(&an->a);
	free(an);
}

int media_analyser_new(const struct media_analyse_options *opt, int sample_rate, int channels, int64_t expect_ms,
		       bool trust_length, struct media_analyser **out, struct err *e)
{
	struct media_analyser *an;
	struct media_analyse_options *o;

	*out = NULL;
	if (sample_rate <= 0 || channels <= 0)
		return err_set(e, ERR_INVALID, "analysis: %d channels at %d Hz", channels, sample_rate);
	if (!(an = calloc(1, sizeof(*an))))
		return err_set(e, ERR_NOMEM, "out of memory");
	o = &an->o;
	*o = opt ? *opt : (struct media_analyse_options){ 0 };
	if (!o->parts)
		o->parts = MEDIA_ANALYSE_ALL;
	if (!o->peaks)
		o->peaks = MEDIA_PEAKS_DEFAULT;
	if (o->fingerprint_s <= 0)
		o->fingerprint_s = MEDIA_FINGERPRINT_S_DEFAULT;
	an->rate = sample_rate;
	an->channels = channels;
	an->expect_ms = expect_ms > 0 ? expect_ms : 0;
	an->trust_length = trust_length;
	an->a.sample_rate = sample_rate;
	an->a.channels = channels;
	if (o->max_s > 0)
		an->max_frames = (int64_t)(o->max_s * sample_rate) > 0 ? (int64_t)(o->max_s * sample_rate) : 1;
	if ((o->parts & MEDIA_ANALYSE_LOUDNESS) && loudness_init(&an->loud, sample_rate, channels, an->a.gating_hist, e) < 0)
		goto fail;
	if ((o->parts & MEDIA_ANALYSE_LOUDNESS) && (o->parts & MEDIA_ANALYSE_TRUE_PEAK) &&
	    media_truepeak_init(&an->tp, sample_rate, channels, e) < 0)
		goto fail;
	if ((o->parts & MEDIA_ANALYSE_FINGERPRINT) && fingerprint_init(&an->fp, sample_rate, channels, o->fingerprint_s, e) < 0)
		goto fail;
	if ((o->parts & MEDIA_ANALYSE_PEAKS) &&
	    media_peaks_init(&an->pk, o->peaks, an->expect_ms > 0 ? an->expect_ms * sample_rate / 1000 : 0, e) < 0)
		goto fail;
	if ((o->parts & MEDIA_ANALYSE_FEATURES) && media_features_init(&an->ft, sample_rate, e) < 0)
		goto fail;
	*out = an;
	return 0;
fail:
	media_analyser_free(an);
	return -1;
}

int media_analyser_feed(struct media_analyser *an, const float *pcm, size_t frames, struct err *e)
{
	struct media_analysis *out = &an->a;
	int ch = an->channels;
	double t0, t1 = now_s();

	if (an->max_frames > 0) {
		if (out->frames >= an->max_frames)
			return 1;
		if (out->frames + (int64_t)frames > an->max_frames)
			frames = (size_t)(an->max_frames - out->frames);
	}
	if (an->loud.st) {
		if (loudness_feed(&an->loud, pcm, frames, ch, e) < 0)
			return -1;
		t0 = now_s(), out->times.loudness += t0 - t1, t1 = t0;
	}
	if (an->tp.coef) {
		if (media_truepeak_feed(&an->tp, pcm, frames, ch, e) < 0)
			return -1;
		t0 = now_s(), out->times.true_peak += t0 - t1, t1 = t0;
	}
	if (an->fp.ctx) {
		if (fingerprint_feed(&an->fp, pcm, frames, ch, e) < 0)
			return -1;
		t0 = now_s(), out->times.fingerprint += t0 - t1, t1 = t0;
	}
	if (an->pk.fine_min) {
		if (media_peaks_feed(&an->pk, pcm, frames, ch, e) < 0)
			return -1;
		t0 = now_s(), out->times.peaks += t0 - t1, t1 = t0;
	}
	if (an->ft.rate) {
		if (media_features_feed(&an->ft, pcm, frames, ch, e) < 0)
			return -1;
		t0 = now_s(), out->times.features += t0 - t1, t1 = t0;
	}
	out->frames += (int64_t)frames;
	return an->max_frames > 0 && out->frames >= an->max_frames ? 1 : 0;
}

int media_analyser_finish(struct media_analyser *an, struct media_analysis *out, struct err *e)
{
	struct media_analysis *a = &an->a;

	memset(out, 0, sizeof(*out));
	if (a->frames == 0)
		return err_set(e, ERR_INVALID, "no audio: duration is 0");
	if (!an->max_frames && an->expect_ms > 0 && an->trust_length) {
		int64_t got_ms = a->frames * 1000 / an->rate;
		int64_t slack = an->expect_ms / 50 > 500 ? an->expect_ms / 50 : 500;

		if (got_ms < an->expect_ms - slack)
			return err_set(e, ERR_INVALID,
				       "truncated or corrupt at %.3f s: the audio stops before the %.3f s its header announces",
				       (double)got_ms / 1000, (double)an->expect_ms / 1000);
	}
	if (an->loud.st)
		loudness_finish(&an->loud, an->channels, an->tp.coef ? &an->tp : NULL, a);
	else
		a->integrated_lufs = a->true_peak_dbtp = -INFINITY;
	if (an->fp.ctx && fingerprint_finish(&an->fp, a, e) < 0)
		return -1;
	if (an->pk.fine_min && media_peaks_finish(&an->pk, a, e) < 0)
		return -1;
	if (an->ft.rate)
		media_features_finish(&an->ft, a);
	*out = *a;
	memset(a, 0, sizeof(*a)); /* the arrays are the caller's now */
	return 0;
}

/* Decode once and feed the analyser. The rate is final only once the first block is out
 * (HE-AAC announces half of it), so the analyser starts then. */
static int analyse(const char *path, const struct media_source *src, const struct media_analyse_options *opt,
		   struct media_analysis *out, struct err *e)
{
	struct media_analyse_options o = opt ? *opt : (struct media_analyse_options){ 0 };
	struct media_decoder *d = NULL;
	struct media_analyser *an = NULL;
	const struct media_info *info;
	float *pcm = NULL;
	double t_start = now_s(), t_decode = 0, t0;
	int ret = -1, fed = 0;
	long n;

	memset(out, 0, sizeof(*out));
	if ((path ? media_decoder_open(path, &d, e) : media_decoder_open_source(src, &d, e)) < 0)
		goto out;
	info = media_decoder_info(d);
	pcm = malloc((size_t)BLOCK_FRAMES * (size_t)info->channels * sizeof(float));
	if (!pcm) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	t_decode = now_s() - t_start;
	while (fed == 0) {
		t0 = now_s();
		n = media_decoder_read(d, pcm, BLOCK_FRAMES, e);
		t_decode += now_s() - t0;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		/* A length guessed from the bit rate sizes the peak bins, but a file falling
		 * short of it is not thereby truncated. */
		if (!an && media_analyser_new(&o, info->sample_rate, info->channels,
					      o.duration_ms > 0 ? o.duration_ms : info->duration_ms,
					      o.duration_ms > 0 || !info->duration_estimated, &an, e) < 0)
			goto out;
		if ((fed = media_analyser_feed(an, pcm, (size_t)n, e)) < 0)
			goto out;
	}
	if (!an) {
		err_set(e, ERR_INVALID, "no audio: duration is 0");
		goto out;
	}
	if (media_analyser_finish(an, out, e) < 0)
		goto out;
	out->times.decode = t_decode;
	out->times.total = now_s() - t_start;
	ret = 0;
out:
	media_analyser_free(an);
	free(pcm);
	media_decoder_free(d);
	if (ret < 0)
		media_analysis_release(out);
	return ret;
}

int media_analyse(const char *path, const struct media_analyse_options *opt, struct media_analysis *out,
		  struct err *e)
{
	return analyse(path, NULL, opt, out, e);
}

int media_analyse_source(const struct media_source *src, const struct media_analyse_options *opt,
			 struct media_analysis *out, struct err *e)
{
	return analyse(NULL, src, opt, out, e);
}

int media_fingerprint_decode(const char *text, uint32_t **raw, size_t *len, struct err *e)
{
	uint32_t *fp = NULL;
	int n = 0, algo = 0;
	size_t tlen = text ? strlen(text) : 0;

	*raw = NULL;
	*len = 0;
	if (tlen == 0 || tlen > MEDIA_FINGERPRINT_TEXT_MAX)
		return err_set(e, ERR_INVALID, "fingerprint: empty or too long");
	if (!chromaprint_decode_fingerprint(text, (int)tlen, &fp, &n, &algo, 1) || n < 0 || (n && !fp)) {
		if (fp)
			chromaprint_dealloc(fp);
		return err_set(e, ERR_INVALID, "fingerprint: not a compressed Chromaprint");
	}
	/* Ours, not Chromaprint's allocator: the caller frees with free(). */
	if (n && !(*raw = malloc((size_t)n * sizeof(**raw)))) {
		chromaprint_dealloc(fp);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	if (n)
		memcpy(*raw, fp, (size_t)n * sizeof(**raw));
	chromaprint_dealloc(fp);
	*len = (size_t)n;
	return 0;
}
