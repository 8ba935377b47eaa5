/* transcode.c — run the ladder: plan the renditions, decode once, fan the PCM out to the
 * encoder threads, store. Part of the media stack (media/stack.h). */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "media/analyse.h"
#include "media/decode.h"
#include "store/store.h"
#include "stream/encode.h"

#define BLOCK_FRAMES 4096

void pcm_block_unref(struct pcm_block *b)
{
	if (b && atomic_fetch_sub(&b->refs, 1) == 1)
		free(b);
}

static void queue_push(struct pcm_queue *q, struct pcm_block *b)
{
	pthread_mutex_lock(&q->mu);
	while (q->count == PCM_QUEUE_CAP)
		pthread_cond_wait(&q->cv, &q->mu);
	q->items[(q->head + q->count) % PCM_QUEUE_CAP] = b;
	q->count++;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* AAC sample rates at most 48 kHz, best first: the AAC rungs use the source's rate when it
 * is one of them, else the largest that divides it (so segment boundaries map exactly). */
static int aac_rate_for(int src)
{
	static const int rates[] = { 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000 };
	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++)
		if (src == rates[i])
			return src;
	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++)
		if (src % rates[i] == 0)
			return rates[i];
	return 48000; /* odd rate: boundaries are then only as close as rounding allows */
}

static int64_t ceil_div(int64_t a, int64_t b)
{
	return (a + b - 1) / b;
}

static void fill_bandwidth(struct stream_rendition *r)
{
	uint64_t total = 0, dur = 0;
	double peak = 0, longest = 0;
	for (size_t i = 0; i < r->nsegments; i++) {
		const struct stream_segment *sg = &r->segments[i];
		double secs = (double)sg->duration / r->sample_rate;
		total += sg->size;
		dur += sg->duration;
		if (secs > 0 && sg->size * 8.0 / secs > peak)
			peak = sg->size * 8.0 / secs;
		if (secs > longest)
			longest = secs;
	}
	r->peak_bandwidth = (int)(peak + 0.5);
	r->avg_bandwidth = dur ? (int)((double)total * 8.0 * r->sample_rate / (double)dur + 0.5) : 0;
	if (r->bitrate == 0)
		r->bitrate = r->avg_bandwidth;
	/* RFC 8216: EXTINF rounded to the nearest integer must not exceed the target. */
	r->target_duration = (int)(longest + 0.5);
	if (r->target_duration < 1)
		r->target_duration = 1;
}

static int get_key(struct stream *s, const char *track_id, unsigned char key[STREAM_KEY_LEN],
		   unsigned char wrapped[STREAM_WRAPPED_KEY_LEN], struct err *e)
{
	bool found = false;
	if (stream_repo_key_get(s, track_id, wrapped, &found, e) < 0)
		return -1;
	if (found)
		return stream_key_unwrap(s->opt.master_key, wrapped, key, e);
	if (RAND_bytes(key, STREAM_KEY_LEN) != 1)
		return err_set(e, ERR_INTERNAL, "no randomness for a track key");
	return stream_key_wrap(s->opt.master_key, key, wrapped, e);
}

/* Feed one decoded block to the analysis, if one is wanted and has not failed. */
static void analyse_block(struct stream_analysis *sa, struct media_analyser **an, const struct media_info *info,
			  const struct pcm_block *b)
{
	if (!sa || sa->err.code != ERR_NONE)
		return;
	if (!*an && media_analyser_new(NULL, info->sample_rate, info->channels,
				       sa->duration_ms > 0 ? sa->duration_ms : info->duration_ms,
				       sa->duration_ms > 0 || !info->duration_estimated, an, &sa->err) < 0)
		return;
	if (media_analyser_feed(*an, b->data, b->frames, &sa->err) < 0) {
		media_analyser_free(*an);
		*an = NULL;
	}
}

int stream_transcode_path(struct stream *s, const char *track_id, const char *path,
			  struct stream_analysis *analysis, stream_progress_fn progress, void *ud, struct err *err_out)
{
	struct err le = ERR_INIT, *e = &le;
	int ret = -1;
	struct media_decoder *d = NULL;
	struct media_analyser *an = NULL;
	const struct media_info *info;
	struct rend rends[STREAM_RUNGS_MAX];
	size_t nr = 0, nstarted = 0;
	struct pcm_block *first = NULL, *b = NULL;
	long got;
	atomic_bool stop = false;
	unsigned char key[STREAM_KEY_LEN], wrapped[STREAM_WRAPPED_KEY_LEN];
	struct stream_rendition outs[STREAM_RUNGS_MAX];
	int64_t seg_aac;
	int aac_rate, ratio;
	bool decode_failed = false, cancelled = false;
	double duration_s;

	memset(rends, 0, sizeof(rends));
	if (analysis) {
		memset(&analysis->an, 0, sizeof(analysis->an));
		err_clear(&analysis->err);
	}
	if (get_key(s, track_id, key, wrapped, err_out) < 0)
		return -1;
	if (media_decoder_open(path, &d, e) < 0)
		goto out;
	info = media_decoder_info(d);
	if (info->channels < 1 || info->channels > 8) {
		err_set(e, ERR_UNSUPPORTED, "%d channels", info->channels);
		goto out;
	}
	/* The first block fixes the sample rate (HE-AAC announces half of it). */
	first = malloc(sizeof(*first) + sizeof(float) * BLOCK_FRAMES * (size_t)info->channels);
	if (!first) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	got = media_decoder_read(d, first->data, BLOCK_FRAMES, e);
	if (got < 0)
		goto out;
	if (got == 0) {
		err_set(e, ERR_INVALID, "no audio");
		goto out;
	}
	first->frames = (size_t)got;
	duration_s = info->duration_ms > 0 ? info->duration_ms / 1000.0 : 0;

	aac_rate = aac_rate_for(info->sample_rate);
	ratio = info->sample_rate % aac_rate == 0 ? info->sample_rate / aac_rate : 0;
	seg_aac = ceil_div((int64_t)s->opt.segment_seconds * aac_rate, 1024) * 1024;
	for (size_t i = 0; i < s->opt.nrungs; i++) {
		const struct stream_rung *g = &s->opt.rungs[i];
		struct rend *r = &rends[nr];
		/* Lossless only from lossless, and only depths float carries exactly (≤ 24 bits). */
		if (g->codec == STREAM_FLAC &&
		    (!info->lossless || info->bits_per_sample <= 0 || info->bits_per_sample > 24))
			continue;
		r->codec = g->codec;
		r->kbps = g->kbps;
		r->src_rate = info->sample_rate;
		r->src_channels = info->channels;
		r->key = key;
		r->stop = &stop;
		if (g->codec == STREAM_AAC) {
			r->out_rate = aac_rate;
			r->out_channels = info->channels > 2 ? 2 : info->channels;
			r->frame_size = 1024;
			r->seg_out = seg_aac;
		} else {
			int64_t k;
			r->out_rate = info->sample_rate;
			r->out_channels = info->channels;
			r->bits = info->bits_per_sample <= 16 ? 16 : 24;
			r->seg_out = ratio ? seg_aac * ratio
					   : (int64_t)((double)seg_aac * info->sample_rate / aac_rate + 0.5);
			/* The largest block of 4096/2048/1024 samples that divides a segment. */
			k = r->seg_out;
			r->frame_size = k % 4096 == 0 ? 4096 : k % 2048 == 0 ? 2048 : 1024;
			if (k % r->frame_size)
				r->frame_size = 4096; /* odd rates: boundaries approximate */
		}
		if (rend_open(r, e) < 0) {
			nr++;
			goto out;
		}
		r->out.sample_rate = r->out_rate;
		{
			char name[sizeof(r->out.name)];
			memcpy(name, r->out.name, sizeof(name));
			if ((size_t)snprintf(r->out.object_key, sizeof(r->out.object_key), "hls/%s/%s.mp4", track_id,
					     name) >= sizeof(r->out.object_key)) {
				nr++;
				err_set(e, ERR_INVALID, "track id too long");
				goto out;
			}
		}
		nr++;
		if (!(r->w = store_write_begin(s->store, r->out.object_key, e)))
			goto out;
	}
	for (size_t i = 0; i < nr; i++) {
		if (pthread_create(&rends[i].thread, NULL, rend_thread, &rends[i]) != 0) {
			err_set(e, ERR_INTERNAL, "cannot start an encoder thread");
			goto out;
		}
		rends[i].started = true;
		nstarted++;
	}

	/* Decode once; every encoder gets the same block, and the analysis reads it first (the
	 * encoders free it). */
	b = first;
	first = NULL;
	for (;;) {
		analyse_block(analysis, &an, info, b);
		atomic_store(&b->refs, (int)nr);
		for (size_t i = 0; i < nr; i++)
			queue_push(&rends[i].q, b);
		b = NULL;
		if (atomic_load(&stop))
			break;
		if (progress && duration_s > 0 &&
		    progress(ud, 0.95 * ((double)media_decoder_position(d) / info->sample_rate) / duration_s,
			     "encoding") < 0) {
			cancelled = true;
			atomic_store(&stop, true);
			break;
		}
		b = malloc(sizeof(*b) + sizeof(float) * BLOCK_FRAMES * (size_t)info->channels);
		if (!b) {
			err_set(e, ERR_NOMEM, "out of memory");
			atomic_store(&stop, true);
			break;
		}
		got = media_decoder_read(d, b->data, BLOCK_FRAMES, e);
		if (got <= 0) {
			free(b);
			b = NULL;
			if (got < 0) {
				decode_failed = true;
				atomic_store(&stop, true);
			}
			break;
		}
		b->frames = (size_t)got;
	}

out:
	for (size_t i = 0; i < nstarted; i++)
		queue_push(&rends[i].q, NULL);
	for (size_t i = 0; i < nstarted; i++)
		pthread_join(rends[i].thread, NULL);
	free(first);
	media_decoder_free(d);
	d = NULL;
	if (nstarted == nr && nr > 0 && !decode_failed && !cancelled && e->code == ERR_NONE) {
		bool ok = true;
		for (size_t i = 0; i < nr; i++)
			if (rends[i].failed) {
				*e = rends[i].err;
				err_wrap(e, "%s", rends[i].out.name);
				ok = false;
				break;
			}
		if (ok && progress && progress(ud, 0.96, "storing") < 0)
			cancelled = true;
		if (ok && !cancelled) {
			/* Objects first, then the rows: a crash in between leaves objects no row
			 * points to yet (or the old rows, marked not ready, over new objects). */
			if (stream_repo_mark_unready(s, track_id, e) < 0)
				goto fail;
			for (size_t i = 0; i < nr; i++) {
				struct store_writer *w = rends[i].w;
				rends[i].w = NULL;
				if (store_write_commit(w, e) < 0)
					goto fail;
				fill_bandwidth(&rends[i].out);
				outs[i] = rends[i].out;
			}
			if (stream_repo_replace(s, track_id, wrapped, outs, nr, e) < 0)
				goto fail;
			ret = 0;
			if (analysis && analysis->err.code == ERR_NONE) {
				if (!an)
					err_set(&analysis->err, ERR_INVALID, "no audio: duration is 0");
				else
					media_analyser_finish(an, &analysis->an, &analysis->err);
			}
		}
	}
	if (cancelled && e->code == ERR_NONE)
		err_set(e, ERR_CONFLICT, "stopped");
fail:
	for (size_t i = 0; i < nr; i++) {
		store_write_abort(rends[i].w);
		rend_close(&rends[i]);
		free(rends[i].out.segments);
	}
	media_analyser_free(an);
	OPENSSL_cleanse(key, sizeof(key));
	if (ret == 0)
		log_kv(LOG_INFO, NULL, "ladder stored", LOG_FIELDS(LOG_STR("track", track_id)));
	else
		*err_out = le;
	return ret;
}
