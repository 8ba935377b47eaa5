/* live.c — on-the-fly transcodes (see live.h).
 *
 * Pull-driven: nothing runs between reads. Each read decodes and encodes just enough to hand
 * out bytes (at least LIVE_FIRST_BYTES on the first read, so the first answer leaves fast;
 * about `cap` later, so steady state costs few round trips through the handler pool). A slow
 * client therefore slows the transcode down instead of piling output up in memory.
 */
#include "stream/live.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

#include "base/buf.h"
#include "base/log.h"
#include "catalog/catalog.h"
#include "media/decode.h"
#include "store/store.h"
#include "stream/encode.h"

#define LIVE_BLOCK 4096                  /* frames pulled from the decoder at a time */
#define LIVE_FIRST_BYTES 4096            /* the first read returns once this much exists */
#define LIVE_AVIO_BUF 4096               /* the muxer's write buffer */
#define LIVE_OUT_MAX ((size_t)16 << 20)  /* bound on output not yet handed out */
#define LIVE_SRC_WINDOW ((size_t)256 << 10) /* ranged-read window over a remote source */

/* ---- a remote object as a media_source, read through a window of ranged GETs ---- */

struct store_src {
	struct store *store;
	char key[STORE_KEY_MAX + 1];
	uint64_t size, pos, win_off;
	struct buf win;
};

static long src_read(void *opaque, uint8_t *dst, size_t len)
{
	struct store_src *s = opaque;
	struct err e = ERR_INIT;
	size_t n;

	if (s->pos >= s->size)
		return 0;
	if (s->pos < s->win_off || s->pos >= s->win_off + s->win.len) {
		uint64_t want = s->size - s->pos < LIVE_SRC_WINDOW ? s->size - s->pos : LIVE_SRC_WINDOW;

		buf_reset(&s->win);
		if (store_read_buf(s->store, s->key, s->pos, want, &s->win, &e) < 0 || s->win.len == 0) {
			log_kv(LOG_WARN, NULL, "live transcode: reading the source failed",
			       LOG_FIELDS(LOG_STR("error", e.msg)));
			return -1;
		}
		s->win_off = s->pos;
	}
	n = (size_t)(s->win_off + s->win.len - s->pos);
	if (n > len)
		n = len;
	memcpy(dst, s->win.data + (s->pos - s->win_off), n);
	s->pos += n;
	return (long)n;
}

static int src_seek(void *opaque, int64_t off)
{
	struct store_src *s = opaque;

	if (off < 0 || (uint64_t)off > s->size)
		return -1;
	s->pos = (uint64_t)off;
	return 0;
}

/* ---- the transcoder ---- */

struct stream_live {
	struct stream *s;
	const struct stream_live_fmt *fmt;
	char track[64];
	struct media_decoder *dec;
	int src_fd;              /* a local store's object, read through /proc/self/fd */
	struct store_src *src;   /* or a remote one */
	struct media_source msrc;
	float *pcm;              /* LIVE_BLOCK frames from the decoder */
	long pcm_frames;         /* frames of the first block, read before the encoder was made */
	int src_channels;
	int64_t expected_ms;     /* the catalogue's duration; 0 when unknown */

	struct stream_enc x;     /* resampler, FIFO, encoder, muxer (enc.c) */

	struct buf out;          /* muxed bytes not yet handed out, from out_off */
	size_t out_off;
	struct store_writer *w;  /* the cache object; NULL when not caching */
	uint64_t cached;         /* bytes written to it */
	char cache_key[STORE_KEY_MAX + 1];
	bool draining, eof, complete, failed;
	struct err err;
	unsigned reads;
};

static int avio_write_cb(void *opaque, uint8_t *data, int len)
{
	struct stream_live *l = opaque;

	if (len < 0 || buf_add(&l->out, data, (size_t)len) < 0)
		return AVERROR(ENOMEM);
	return len;
}

/* The encoder's rate nearest the source's: the source's own when the encoder takes it, else
 * the smallest it takes above, else its largest. */
static int pick_rate(const AVCodec *c, int src)
{
	int best = 0, above = 0;

	if (!c->supported_samplerates)
		return src;
	for (const int *r = c->supported_samplerates; *r; r++) {
		if (*r == src)
			return src;
		if (*r > src && (!above || *r < above))
			above = *r;
		if (*r > best)
			best = *r;
	}
	return above ? above : best;
}

static enum AVSampleFormat pick_format(const AVCodec *c)
{
	if (!c->sample_fmts)
		return AV_SAMPLE_FMT_FLTP;
	for (const enum AVSampleFormat *f = c->sample_fmts; *f != AV_SAMPLE_FMT_NONE; f++)
		if (*f == AV_SAMPLE_FMT_FLTP || *f == AV_SAMPLE_FMT_FLT)
			return *f;
	return c->sample_fmts[0];
}

/* Make the encoder, the resampler and the muxer, once the decoder's format is final. */
static int open_encoder(struct stream_live *l, int kbps, struct err *e)
{
	const struct media_info *in = media_decoder_info(l->dec);
	const AVCodec *codec = avcodec_find_encoder_by_name(l->fmt->encoder);
	AVChannelLayout in_l = { 0 }, out_l = { 0 };
	AVDictionary *opts = NULL, *enc_opts = NULL;
	unsigned char *iobuf = NULL;
	AVStream *st;
	int rc, ret = -1, out_ch = in->channels >= 2 ? 2 : 1;

	if (!codec)
		return err_set(e, ERR_UNSUPPORTED, "no %s encoder in this FFmpeg", l->fmt->encoder);
	l->x.enc = avcodec_alloc_context3(codec);
	l->x.frame = av_frame_alloc();
	l->x.pkt = av_packet_alloc();
	if (!l->x.enc || !l->x.frame || !l->x.pkt)
		return err_set(e, ERR_NOMEM, "out of memory");
	av_channel_layout_default(&in_l, in->channels);
	av_channel_layout_default(&out_l, out_ch);
	l->x.enc->sample_rate = pick_rate(codec, in->sample_rate);
	l->x.enc->time_base = (AVRational){ 1, l->x.enc->sample_rate };
	l->x.enc->sample_fmt = pick_format(codec);
	l->x.enc->bit_rate = (int64_t)kbps * 1000;
	if (strcmp(l->fmt->encoder, "aac") == 0)
		l->x.enc->profile = FF_PROFILE_AAC_LOW;
	if ((rc = av_channel_layout_copy(&l->x.enc->ch_layout, &out_l)) < 0) {
		stream_averr(e, rc, "channel layout");
		goto out;
	}

	if ((rc = avformat_alloc_output_context2(&l->x.mux, NULL, l->fmt->muxer, NULL)) < 0) {
		stream_averr(e, rc, "creating the muxer");
		goto out;
	}
	if (l->x.mux->oformat->flags & AVFMT_GLOBALHEADER)
		l->x.enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	/* maxBitRate is a ceiling: Opus's unconstrained VBR may overshoot it by a quarter. */
	if (strcmp(l->fmt->encoder, "libopus") == 0)
		av_dict_set(&enc_opts, "vbr", "constrained", 0);
	if ((rc = avcodec_open2(l->x.enc, codec, &enc_opts)) < 0) {
		stream_averr(e, rc, "opening the encoder");
		goto out;
	}
	rc = swr_alloc_set_opts2(&l->x.swr, &out_l, l->x.enc->sample_fmt, l->x.enc->sample_rate, &in_l, AV_SAMPLE_FMT_FLT,
				 in->sample_rate, 0, NULL);
	if (rc < 0 || (rc = swr_init(l->x.swr)) < 0) {
		stream_averr(e, rc, "setting up the resampler");
		goto out;
	}
	if (!(l->x.fifo = av_audio_fifo_alloc(l->x.enc->sample_fmt, out_ch, 8192))) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}

	iobuf = av_malloc(LIVE_AVIO_BUF);
	if (!iobuf || !(l->x.avio = avio_alloc_context(iobuf, LIVE_AVIO_BUF, 1, l, NULL, avio_write_cb, NULL))) {
		av_free(iobuf);
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	l->x.mux->pb = l->x.avio;
	l->x.mux->flags |= AVFMT_FLAG_CUSTOM_IO;
	st = avformat_new_stream(l->x.mux, NULL);
	if (!st || (rc = avcodec_parameters_from_context(st->codecpar, l->x.enc)) < 0) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	st->time_base = l->x.enc->time_base;
	/* A plain stream: no ID3 tag in front and no Xing header (which the muxer would seek
	 * back to fill in at the end, and an unseekable stream cannot). */
	av_dict_set(&opts, "id3v2_version", "0", 0);
	av_dict_set(&opts, "write_xing", "0", 0);
	if ((rc = avformat_write_header(l->x.mux, &opts)) < 0) {
		stream_averr(e, rc, "writing the stream header");
		goto out;
	}
	ret = 0;
out:
	av_dict_free(&opts);
	av_dict_free(&enc_opts);
	av_channel_layout_uninit(&in_l);
	av_channel_layout_uninit(&out_l);
	return ret;
}

static int write_packets(struct stream_live *l, struct err *e)
{
	int rc;

	for (;;) {
		rc = avcodec_receive_packet(l->x.enc, l->x.pkt);
		if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
			return 0;
		if (rc < 0)
			return stream_averr(e, rc, "encoding");
		av_packet_rescale_ts(l->x.pkt, l->x.enc->time_base, l->x.mux->streams[0]->time_base);
		l->x.pkt->stream_index = 0;
		rc = av_write_frame(l->x.mux, l->x.pkt);
		av_packet_unref(l->x.pkt);
		if (rc < 0)
			return stream_averr(e, rc, "muxing");
	}
}

static int encode_frame(struct stream_live *l, int n, struct err *e)
{
	return stream_enc_send(&l->x, n, e) < 0 ? -1 : write_packets(l, e);
}

/* Decode one block and encode what it makes; at the end, flush everything and write the
 * trailer. The bytes land in l->out (the muxer's buffer is flushed each time). */
static int pump(struct stream_live *l, struct err *e)
{
	long n;
	int rc, fs = l->x.enc->frame_size > 0 ? l->x.enc->frame_size : 1024;

	if (l->pcm_frames > 0) { /* the block read before the encoder existed */
		n = l->pcm_frames;
		l->pcm_frames = 0;
	} else if ((n = media_decoder_read(l->dec, l->pcm, LIVE_BLOCK, e)) < 0) {
		return -1;
	}
	if (stream_enc_resample(&l->x, n > 0 ? l->pcm : NULL, (size_t)n, e) < 0)
		return -1;
	if (n == 0) {
		/* A source that ends well before its known length was truncated or damaged since it
		 * was ingested: fail rather than hand out (and cache) a short copy. */
		int64_t got_ms = media_decoder_position(l->dec) * 1000 / media_decoder_info(l->dec)->sample_rate;
		int64_t slack = l->expected_ms / 50 > 1000 ? l->expected_ms / 50 : 1000;

		if (l->expected_ms > 0 && got_ms < l->expected_ms - slack)
			return err_set(e, ERR_INVALID, "truncated or corrupt at %.3f s: the source ends %.3f s early",
				       (double)got_ms / 1000, (double)(l->expected_ms - got_ms) / 1000);
		l->draining = true;
	}
	while (av_audio_fifo_size(l->x.fifo) >= fs || (l->draining && av_audio_fifo_size(l->x.fifo) > 0)) {
		int k = av_audio_fifo_size(l->x.fifo) < fs ? av_audio_fifo_size(l->x.fifo) : fs;

		if (encode_frame(l, k, e) < 0)
			return -1;
	}
	if (l->draining) {
		if ((rc = avcodec_send_frame(l->x.enc, NULL)) < 0 && rc != AVERROR_EOF)
			return stream_averr(e, rc, "flushing the encoder");
		if (write_packets(l, e) < 0)
			return -1;
		if ((rc = av_write_trailer(l->x.mux)) < 0)
			return stream_averr(e, rc, "ending the stream");
		l->eof = true;
	}
	avio_flush(l->x.avio);
	return 0;
}

/* Open the track's source and its decoder. */
static int open_source(struct stream_live *l, struct stream *s, const struct catalog_track *t, struct err *e)
{
	char path[64];

	if (t->object_key && *t->object_key) {
		if (store_caps(s->store) & STORE_CAP_FD) {
			if (store_open_fd(s->store, t->object_key, &l->src_fd, NULL, e) < 0)
				return -1;
			snprintf(path, sizeof(path), "/proc/self/fd/%d", l->src_fd);
			return media_decoder_open(path, &l->dec, e);
		}
		struct store_stat st;

		if (strlen(t->object_key) > STORE_KEY_MAX)
			return err_set(e, ERR_INVALID, "object key too long");
		if (store_stat(s->store, t->object_key, &st, e) < 0)
			return -1;
		if (!(l->src = calloc(1, sizeof(*l->src))))
			return err_set(e, ERR_NOMEM, "out of memory");
		l->src->store = s->store;
		memcpy(l->src->key, t->object_key, strlen(t->object_key) + 1);
		l->src->size = st.size;
		buf_init(&l->src->win, LIVE_SRC_WINDOW + 1);
		l->msrc = (struct media_source){ .opaque = l->src, .read = src_read, .seek = src_seek,
						 .size = (int64_t)st.size, .name = NULL };
		return media_decoder_open_source(&l->msrc, &l->dec, e);
	}
	if (t->path && *t->path) {
		if (access(t->path, R_OK) < 0)
			return err_set(e, ERR_NOT_FOUND, "the track's file is no longer there");
		return media_decoder_open(t->path, &l->dec, e);
	}
	return err_set(e, ERR_NOT_FOUND, "this track has no source");
}

int stream_live_open(struct stream *s, const char *track_id, enum stream_live_format f, int kbps,
		     struct stream_live **out, struct err *e)
{
	struct stream_live *l = calloc(1, sizeof(*l));
	struct catalog_page *page = NULL;
	struct err ce = ERR_INIT;
	int ret = -1;

	if (!l)
		return err_set(e, ERR_NOMEM, "out of memory");
	l->s = s;
	l->src_fd = -1;
	l->fmt = stream_live_fmt(f);
	buf_init(&l->out, LIVE_OUT_MAX);
	if (strlen(track_id) >= sizeof(l->track)) {
		err_set(e, ERR_NOT_FOUND, "no such track");
		goto out;
	}
	memcpy(l->track, track_id, strlen(track_id) + 1);
	if (catalog_get(s->cat, CATALOG_TRACKS, track_id, &page, e) < 0)
		goto out;
	if (page->ntracks != 1) {
		err_set(e, ERR_NOT_FOUND, "no such track");
		goto out;
	}
	l->expected_ms = page->tracks[0].duration_ms > 0 ? page->tracks[0].duration_ms : 0;
	if (open_source(l, s, &page->tracks[0], e) < 0)
		goto out;
	l->src_channels = media_decoder_info(l->dec)->channels;
	if (l->src_channels < 1 || l->src_channels > 8) {
		err_set(e, ERR_UNSUPPORTED, "%d channels", l->src_channels);
		goto out;
	}
	if (!(l->pcm = malloc((size_t)LIVE_BLOCK * (size_t)l->src_channels * sizeof(float)))) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	/* The sample rate is final only once audio has been decoded (HE-AAC). */
	if ((l->pcm_frames = media_decoder_read(l->dec, l->pcm, LIVE_BLOCK, e)) < 0)
		goto out;
	if (l->pcm_frames == 0) {
		err_set(e, ERR_INVALID, "the source has no audio");
		goto out;
	}
	if (open_encoder(l, kbps, e) < 0)
		goto out;
	if (s->opt.live_cache_max == 0)
		; /* keep no copies */
	else if (stream_live_key(track_id, f, kbps, l->cache_key, sizeof(l->cache_key), &ce) < 0 ||
		 !(l->w = store_write_begin(s->store, l->cache_key, &ce)))
		log_kv(LOG_WARN, NULL, "live transcode: not caching",
		       LOG_FIELDS(LOG_STR("track", track_id), LOG_STR("error", ce.msg)));
	*out = l;
	l = NULL;
	ret = 0;
out:
	catalog_page_free(page);
	stream_live_free(l);
	return ret;
}

static void drop_cache(struct stream_live *l)
{
	store_write_abort(l->w);
	l->w = NULL;
}

ssize_t stream_live_read(struct stream_live *l, void *buf, size_t cap, struct err *e)
{
	size_t want = l->reads++ == 0 && cap > LIVE_FIRST_BYTES ? LIVE_FIRST_BYTES : cap, avail, n;

	if (l->failed) {
		*e = l->err;
		return -1;
	}
	while (l->out.len - l->out_off < want && !l->eof) {
		if (pump(l, &l->err) < 0) {
			l->failed = true;
			drop_cache(l);
			log_kv(LOG_WARN, NULL, "live transcode failed",
			       LOG_FIELDS(LOG_STR("track", l->track), LOG_STR("format", l->fmt->name),
					  LOG_STR("error", l->err.msg)));
			*e = l->err;
			return -1;
		}
	}
	avail = l->out.len - l->out_off;
	if (avail == 0) {
		l->complete = true;
		return 0;
	}
	n = avail < cap ? avail : cap;
	memcpy(buf, l->out.data + l->out_off, n);
	if (l->w) {
		struct err we = ERR_INIT;

		if (store_write(l->w, l->out.data + l->out_off, n, &we) < 0) {
			log_kv(LOG_WARN, NULL, "live transcode: caching failed",
			       LOG_FIELDS(LOG_STR("track", l->track), LOG_STR("error", we.msg)));
			drop_cache(l);
		} else {
			l->cached += n;
		}
	}
	l->out_off += n;
	if (l->out_off == l->out.len) {
		buf_reset(&l->out);
		l->out_off = 0;
	}
	return (ssize_t)n;
}

void stream_live_free(struct stream_live *l)
{
	if (!l)
		return;
	if (l->w) {
		struct err e = ERR_INIT;

		if (!l->complete)
			drop_cache(l);
		else if (store_write_commit(l->w, &e) < 0)
			log_kv(LOG_WARN, NULL, "live transcode: storing the cached copy failed",
			       LOG_FIELDS(LOG_STR("track", l->track), LOG_STR("error", e.msg)));
		else
			stream_live_added(l->s, l->cached);
		l->w = NULL;
	}
	stream_enc_release(&l->x);
	media_decoder_free(l->dec);
	if (l->src_fd >= 0)
		close(l->src_fd);
	if (l->src) {
		buf_release(&l->src->win);
		free(l->src);
	}
	free(l->pcm);
	buf_release(&l->out);
	free(l);
}
