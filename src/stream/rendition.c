/* rendition.c — one rendition: resample → encode → fMP4 (in memory) → AES-128 per segment → store.
 *
 * The mp4 muxer writes into a memory AVIOContext; we ask it for a fragment (av_write_frame
 * with NULL, movflags frag_custom) exactly when the next packet starts a new segment, so
 * every fragment is one segment and boundaries sit where the planner put them. What the
 * muxer wrote before the first moof is the init section (kept clear); each fragment is
 * encrypted alone and appended to the object, and its place is noted in the index.
 */
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "stream/encode.h"

#define AVIO_BUF 65536
#define SEGMENT_MAX ((size_t)256 << 20)

struct rend_av {
	struct stream_enc x; /* resampler, FIFO, encoder, muxer (enc.c) */
	struct buf pending; /* muxer output since the last fragment */
	bool header_done, init_done;
	int64_t seg;        /* the segment being filled */
	int64_t pkts;       /* packets muxed into it */
	uint64_t obj_off;   /* bytes written to the object so far */
};

int stream_averr(struct err *e, int code, const char *what)
{
	char msg[AV_ERROR_MAX_STRING_SIZE] = { 0 };
	av_strerror(code, msg, sizeof(msg));
	return err_set(e, code == AVERROR(ENOMEM) ? ERR_NOMEM : ERR_INTERNAL, "%s: %s", what, msg);
}

static int avio_write_cb(void *opaque, uint8_t *data, int len)
{
	struct rend_av *a = opaque;
	if (len < 0 || buf_add(&a->pending, data, (size_t)len) < 0)
		return AVERROR(ENOMEM);
	return len;
}

int rend_open(struct rend *r, struct err *e)
{
	int ret = -1, rc;
	struct rend_av *a;
	const AVCodec *codec;
	AVStream *st;
	AVDictionary *opts = NULL;
	AVChannelLayout in_l = { 0 }, out_l = { 0 };
	unsigned char *iobuf = NULL;

	pthread_mutex_init(&r->q.mu, NULL);
	pthread_cond_init(&r->q.cv, NULL);
	a = calloc(1, sizeof(*a));
	if (!a)
		return err_set(e, ERR_NOMEM, "out of memory");
	r->av = a;
	buf_init(&a->pending, SEGMENT_MAX);

	if (r->codec == STREAM_AAC) {
		snprintf(r->out.name, sizeof(r->out.name), "aac_%d", r->kbps);
		snprintf(r->out.codec, sizeof(r->out.codec), "mp4a.40.2");
		codec = avcodec_find_encoder_by_name("aac");
	} else {
		snprintf(r->out.name, sizeof(r->out.name), "flac");
		snprintf(r->out.codec, sizeof(r->out.codec), "fLaC");
		codec = avcodec_find_encoder(AV_CODEC_ID_FLAC);
	}
	if (!codec) {
		err_set(e, ERR_UNSUPPORTED, "no %s encoder in this FFmpeg", r->out.name);
		goto out;
	}
	a->x.enc = avcodec_alloc_context3(codec);
	a->x.frame = av_frame_alloc();
	a->x.pkt = av_packet_alloc();
	if (!a->x.enc || !a->x.frame || !a->x.pkt) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	av_channel_layout_default(&in_l, r->src_channels);
	av_channel_layout_default(&out_l, r->out_channels);
	a->x.enc->sample_rate = r->out_rate;
	a->x.enc->time_base = (AVRational){ 1, r->out_rate };
	if ((rc = av_channel_layout_copy(&a->x.enc->ch_layout, &out_l)) < 0) {
		stream_averr(e, rc, "channel layout");
		goto out;
	}
	if (r->codec == STREAM_AAC) {
		a->x.enc->sample_fmt = AV_SAMPLE_FMT_FLTP;
		a->x.enc->bit_rate = (int64_t)r->kbps * 1000;
		a->x.enc->profile = FF_PROFILE_AAC_LOW;
	} else {
		a->x.enc->sample_fmt = r->bits <= 16 ? AV_SAMPLE_FMT_S16 : AV_SAMPLE_FMT_S32;
		a->x.enc->bits_per_raw_sample = r->bits;
		a->x.enc->frame_size = r->frame_size;
		a->x.enc->strict_std_compliance = FF_COMPLIANCE_EXPERIMENTAL;
	}
	a->x.enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	if ((rc = avcodec_open2(a->x.enc, codec, NULL)) < 0) {
		stream_averr(e, rc, "opening the encoder");
		goto out;
	}
	if (r->codec == STREAM_AAC && a->x.enc->frame_size != 1024) {
		err_set(e, ERR_INTERNAL, "AAC frame size %d, not 1024", a->x.enc->frame_size);
		goto out;
	}
	if (r->codec == STREAM_FLAC && a->x.enc->frame_size != r->frame_size) {
		err_set(e, ERR_INTERNAL, "FLAC block size %d, not %d", a->x.enc->frame_size, r->frame_size);
		goto out;
	}

	rc = swr_alloc_set_opts2(&a->x.swr, &out_l, a->x.enc->sample_fmt, r->out_rate, &in_l, AV_SAMPLE_FMT_FLT,
				 r->src_rate, 0, NULL);
	if (rc < 0 || (rc = swr_init(a->x.swr)) < 0) {
		stream_averr(e, rc, "setting up the resampler");
		goto out;
	}
	a->x.fifo = av_audio_fifo_alloc(a->x.enc->sample_fmt, r->out_channels, 8192);
	if (!a->x.fifo) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}

	if ((rc = avformat_alloc_output_context2(&a->x.mux, NULL, "mp4", NULL)) < 0) {
		stream_averr(e, rc, "creating the mp4 muxer");
		goto out;
	}
	iobuf = av_malloc(AVIO_BUF);
	if (!iobuf || !(a->x.avio = avio_alloc_context(iobuf, AVIO_BUF, 1, a, NULL, avio_write_cb, NULL))) {
		av_free(iobuf);
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	a->x.mux->pb = a->x.avio;
	a->x.mux->flags |= AVFMT_FLAG_CUSTOM_IO;
	/* FLAC in MP4 is still "experimental" to FFmpeg 5.1's muxer (HLS-PLAYERS.md). */
	a->x.mux->strict_std_compliance = FF_COMPLIANCE_EXPERIMENTAL;
	st = avformat_new_stream(a->x.mux, NULL);
	if (!st || (rc = avcodec_parameters_from_context(st->codecpar, a->x.enc)) < 0) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	st->time_base = a->x.enc->time_base;
	av_dict_set(&opts, "movflags", "+frag_custom+delay_moov+dash+skip_sidx+skip_trailer", 0);
	if ((rc = avformat_write_header(a->x.mux, &opts)) < 0) {
		stream_averr(e, rc, "writing the mp4 header");
		goto out;
	}
	a->header_done = true;
	r->out.sample_rate = r->out_rate;
	r->out.channels = r->out_channels;
	r->out.bits = r->codec == STREAM_FLAC ? r->bits : 0;
	r->out.bitrate = r->codec == STREAM_AAC ? r->kbps * 1000 : 0;
	r->out.media_sequence = STREAM_MEDIA_SEQUENCE_FIRST;
	ret = 0;
out:
	av_dict_free(&opts);
	av_channel_layout_uninit(&in_l);
	av_channel_layout_uninit(&out_l);
	return ret;
}

void rend_close(struct rend *r)
{
	struct rend_av *a = r->av;

	while (r->q.count > 0) {
		pcm_block_unref(r->q.items[r->q.head]);
		r->q.head = (r->q.head + 1) % PCM_QUEUE_CAP;
		r->q.count--;
	}
	pthread_mutex_destroy(&r->q.mu);
	pthread_cond_destroy(&r->q.cv);
	if (!a)
		return;
	stream_enc_release(&a->x);
	buf_release(&a->pending);
	free(a);
	r->av = NULL;
}

static uint32_t box_type_at(const unsigned char *p)
{
	return (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
}

/* Where the first fragment starts in the muxer's first output: the first top-level moof
 * (or the styp/sidx the muxer may put before it). */
static int find_first_fragment(const unsigned char *p, size_t len, size_t *at)
{
	size_t off = 0;
	while (off + 8 <= len) {
		uint64_t size = (uint64_t)p[off] << 24 | (uint64_t)p[off + 1] << 16 | (uint64_t)p[off + 2] << 8 | p[off + 3];
		uint32_t t = box_type_at(p + off);
		if (t == 0x6d6f6f66 /* moof */ || t == 0x73747970 /* styp */ || t == 0x73696478 /* sidx */) {
			*at = off;
			return 0;
		}
		if (size == 1 && off + 16 <= len) {
			size = 0;
			for (int i = 0; i < 8; i++)
				size = size << 8 | p[off + 8 + i];
		}
		if (size < 8 || size > len - off)
			return -1;
		off += size;
	}
	return -1;
}

/* Cut the fragment and append it (what the muxer wrote since the last one) to the object. */
static int emit_fragment(struct rend *r, struct err *e)
{
	struct rend_av *a = r->av;
	size_t start = 0, clen = 0;
	unsigned char *ct = NULL;
	struct stream_segment *sg;
	int64_t seg_end;

	int rc;

	if ((rc = av_write_frame(a->x.mux, NULL)) < 0)
		return stream_averr(e, rc, "cutting a fragment");
	avio_flush(a->x.avio);
	/* delay_moov: the first cut writes only ftyp+moov; the fragment comes with a second. */
	if (!a->init_done && find_first_fragment((unsigned char *)a->pending.data, a->pending.len, &start) < 0) {
		if ((rc = av_write_frame(a->x.mux, NULL)) < 0)
			return stream_averr(e, rc, "cutting a fragment");
		avio_flush(a->x.avio);
	}
	if (!a->init_done) {
		if (find_first_fragment((unsigned char *)a->pending.data, a->pending.len, &start) < 0)
			return err_set(e, ERR_INTERNAL, "muxer output has no fragment");
		if (store_write(r->w, a->pending.data, start, e) < 0)
			return -1;
		r->out.init_size = start;
		a->obj_off = start;
		a->init_done = true;
	}
	if (a->pending.len <= start)
		return err_set(e, ERR_INTERNAL, "empty fragment");
	if (stream_segment_encrypt(r->key, (uint64_t)(STREAM_MEDIA_SEQUENCE_FIRST + a->seg),
				   a->pending.data + start, a->pending.len - start, &ct, &clen, e) < 0)
		return -1;
	if (store_write(r->w, ct, clen, e) < 0) {
		free(ct);
		return -1;
	}
	free(ct);
	if (r->out.nsegments == r->segcap) {
		size_t ncap = r->segcap ? r->segcap * 2 : 64;
		void *p = realloc(r->out.segments, ncap * sizeof(*r->out.segments));
		if (!p)
			return err_set(e, ERR_NOMEM, "out of memory");
		r->out.segments = p;
		r->segcap = ncap;
	}
	sg = &r->out.segments[r->out.nsegments++];
	sg->offset = a->obj_off;
	sg->size = (uint32_t)clen;
	/* Presentation span: the same source interval in every rendition. */
	seg_end = (a->seg + 1) * r->seg_out;
	sg->duration = (uint32_t)((seg_end < r->total_out ? seg_end : r->total_out) - a->seg * r->seg_out);
	a->obj_off += clen;
	buf_reset(&a->pending);
	a->pkts = 0;
	return 0;
}

static int mux_packet(struct rend *r, struct err *e)
{
	struct rend_av *a = r->av;
	int rc;
	int64_t seg = a->x.pkt->pts < 0 ? 0 : a->x.pkt->pts / r->seg_out;

	if (seg != a->seg && a->pkts > 0) {
		if (emit_fragment(r, e) < 0)
			return -1;
	}
	a->seg = seg;
	av_packet_rescale_ts(a->x.pkt, a->x.enc->time_base, a->x.mux->streams[0]->time_base);
	a->x.pkt->stream_index = 0;
	if ((rc = av_write_frame(a->x.mux, a->x.pkt)) < 0)
		return stream_averr(e, rc, "muxing");
	a->pkts++;
	return 0;
}

static int drain_encoder(struct rend *r, struct err *e)
{
	struct rend_av *a = r->av;
	int rc;
	for (;;) {
		rc = avcodec_receive_packet(a->x.enc, a->x.pkt);
		if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
			return 0;
		if (rc < 0)
			return stream_averr(e, rc, "encoding");
		rc = mux_packet(r, e);
		av_packet_unref(a->x.pkt);
		if (rc < 0)
			return -1;
	}
}

/* Encode whole frames from the FIFO; at the end (`last`) also the short remainder. */
static int encode_fifo(struct rend *r, bool last, struct err *e)
{
	struct rend_av *a = r->av;
	int fs = a->x.enc->frame_size;

	while (av_audio_fifo_size(a->x.fifo) >= fs || (last && av_audio_fifo_size(a->x.fifo) > 0)) {
		int n = av_audio_fifo_size(a->x.fifo) < fs ? av_audio_fifo_size(a->x.fifo) : fs;
		r->total_out += n;
		if (stream_enc_send(&a->x, n, e) < 0)
			return -1;
		if (drain_encoder(r, e) < 0)
			return -1;
	}
	return 0;
}

/* Resample `frames` input frames (NULL: flush the resampler) into the FIFO. */
static int convert(struct rend *r, const float *in, size_t frames, struct err *e)
{
	return stream_enc_resample(&((struct rend_av *)r->av)->x, in, frames, e);
}

static struct pcm_block *queue_pop(struct pcm_queue *q)
{
	struct pcm_block *b;
	pthread_mutex_lock(&q->mu);
	while (q->count == 0)
		pthread_cond_wait(&q->cv, &q->mu);
	b = q->items[q->head];
	q->head = (q->head + 1) % PCM_QUEUE_CAP;
	q->count--;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return b;
}

void *rend_thread(void *arg)
{
	struct rend *r = arg;
	struct rend_av *a = r->av;
	struct pcm_block *b;
	int rc;

	/* Keep popping after a failure: the producer must never wait on a dead consumer. */
	while ((b = queue_pop(&r->q)) != NULL) {
		if (!r->failed && !atomic_load(r->stop)) {
			if (convert(r, b->data, b->frames, &r->err) < 0 || encode_fifo(r, false, &r->err) < 0) {
				r->failed = 1;
				atomic_store(r->stop, true);
			}
		}
		pcm_block_unref(b);
	}
	if (r->failed || atomic_load(r->stop))
		return NULL;
	if (convert(r, NULL, 0, &r->err) < 0 || encode_fifo(r, true, &r->err) < 0)
		goto fail;
	if ((rc = avcodec_send_frame(a->x.enc, NULL)) < 0) {
		stream_averr(&r->err, rc, "flushing the encoder");
		goto fail;
	}
	if (drain_encoder(r, &r->err) < 0)
		goto fail;
	if (a->pkts > 0) {
		if (emit_fragment(r, &r->err) < 0)
			goto fail;
	}
	/* skip_trailer: the trailer writes nothing we keep (no mfra). */
	if ((rc = av_write_trailer(a->x.mux)) < 0) {
		stream_averr(&r->err, rc, "finishing the mp4");
		goto fail;
	}
	return NULL;
fail:
	r->failed = 1;
	atomic_store(r->stop, true);
	return NULL;
}
