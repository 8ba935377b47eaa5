/* decode.c — libavformat packets → libavcodec frames → libswresample to interleaved float. */
#include "media/decode.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <libswresample/swresample.h>

#include "media/av_input.h"

struct media_decoder {
	AVFormatContext *fmt;
	AVCodecContext *codec;
	SwrContext *swr;
	AVPacket *pkt;
	AVFrame *frame;
	struct media_info info;
	struct media_av_guard guard;
	int stream;
	int swr_format;   /* the sample format swr was set up for; -1 before the first frame */
	float *pend;      /* converted frames not yet handed out */
	size_t pend_cap;  /* in frames */
	size_t pend_len;  /* frames in pend */
	size_t pend_off;  /* frames of pend already handed out */
	int64_t position; /* frames handed out */
	bool flushed;     /* the decoder has been told the stream ended */
	bool done;        /* and has given its last frame */
};

static int decoder_open(const char *path, const struct media_source *src, struct media_decoder **out, struct err *e)
{
	struct media_decoder *d = calloc(1, sizeof(*d));
	const AVCodec *codec;
	const AVStream *st;
	int r, ret = -1;
	char msg[128];

	if (!d)
		return err_set(e, ERR_NOMEM, "out of memory");
	d->swr_format = -1;
	if (media_av_open(path, src, &d->fmt, &d->stream, &d->guard, e) < 0)
		goto out;
	media_av_describe(d->fmt, d->stream, &d->info);
	st = d->fmt->streams[d->stream];
	codec = avcodec_find_decoder(st->codecpar->codec_id);
	d->codec = avcodec_alloc_context3(codec);
	d->pkt = av_packet_alloc();
	d->frame = av_frame_alloc();
	if (!d->codec || !d->pkt || !d->frame) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = avcodec_parameters_to_context(d->codec, st->codecpar)) < 0) {
		err_set(e, ERR_INVALID, "truncated or corrupt: %s", media_av_strerror(r, msg, sizeof(msg)));
		goto out;
	}
	d->codec->pkt_timebase = st->time_base;
	/* One core per decode: the service runs many decodes side by side, and frame threads
	 * would add latency and memory without adding throughput there. */
	d->codec->thread_count = 1;
	if ((r = avcodec_open2(d->codec, codec, NULL)) < 0) {
		err_set(e, ERR_INVALID, "truncated or corrupt: cannot open the %s decoder: %s", d->info.codec,
			media_av_strerror(r, msg, sizeof(msg)));
		goto out;
	}
	*out = d;
	d = NULL;
	ret = 0;
out:
	media_decoder_free(d);
	return ret;
}

int media_decoder_open(const char *path, struct media_decoder **out, struct err *e)
{
	return decoder_open(path, NULL, out, e);
}

int media_decoder_open_source(const struct media_source *src, struct media_decoder **out, struct err *e)
{
	return decoder_open(NULL, src, out, e);
}

const struct media_info *media_decoder_info(const struct media_decoder *d)
{
	return &d->info;
}

int64_t media_decoder_position(const struct media_decoder *d)
{
	return d->position;
}

void media_decoder_free(struct media_decoder *d)
{
	if (!d)
		return;
	swr_free(&d->swr);
	av_frame_free(&d->frame);
	av_packet_free(&d->pkt);
	avcodec_free_context(&d->codec);
	media_av_close(&d->fmt, &d->guard);
	free(d->pend);
	free(d);
}

static double position_s(const struct media_decoder *d)
{
	return (double)(d->position + (int64_t)(d->pend_len - d->pend_off)) / d->info.sample_rate;
}

static int corrupt(const struct media_decoder *d, int averr, struct err *e)
{
	char msg[128];

	if (averr == AVERROR(ENOMEM))
		return err_set(e, ERR_INVALID, "truncated or corrupt at %.3f s: it declares sizes no audio file has",
			       position_s(d));
	if (d->guard.read_failed)
		return err_set(e, ERR_IO, "read error at %.3f s: the source failed", position_s(d));
	if (d->guard.tripped)
		return err_set(e, ERR_INVALID, "truncated or corrupt at %.3f s: no audio data in the next %lld MiB",
			       position_s(d), (long long)(MEDIA_READ_WITHOUT_AUDIO_MAX >> 20));
	/* EIO from a demuxer reading a local file means a packet ran past the end of the data
	 * far more often than a failing disk; either way the file cannot be used. */
	return err_set(e, ERR_INVALID, "truncated or corrupt at %.3f s: %s", position_s(d),
		       media_av_strerror(averr, msg, sizeof(msg)));
}

/* (Re)create the converter for the decoder's current output format. The layout is kept as
 * it is — only the sample format and interleaving change. */
static int setup_swr(struct media_decoder *d, const AVFrame *f, struct err *e)
{
	AVChannelLayout layout = { 0 };
	int r;

	if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || av_channel_layout_copy(&layout, &f->ch_layout) < 0)
		av_channel_layout_default(&layout, f->ch_layout.nb_channels);
	swr_free(&d->swr);
	r = swr_alloc_set_opts2(&d->swr, &layout, AV_SAMPLE_FMT_FLT, f->sample_rate, &layout,
				(enum AVSampleFormat)f->format, f->sample_rate, 0, NULL);
	av_channel_layout_uninit(&layout);
	if (r < 0 || (r = swr_init(d->swr)) < 0)
		return corrupt(d, r, e);
	d->swr_format = f->format;
	return 0;
}

/* Turn the frame just decoded into pend. */
static int convert(struct media_decoder *d, struct err *e)
{
	AVFrame *f = d->frame;
	int n;

	if (f->ch_layout.nb_channels != d->info.channels)
		return err_set(e, ERR_INVALID, "truncated or corrupt at %.3f s: the channel count changes from %d to %d",
			       position_s(d), d->info.channels, f->ch_layout.nb_channels);
	if (f->sample_rate != d->info.sample_rate) {
		/* HE-AAC headers can announce half the rate SBR decodes to; believe the decoder
		 * until the first frame has been handed out, never after. */
		if (d->position > 0 || f->sample_rate <= 0)
			return err_set(e, ERR_INVALID, "truncated or corrupt at %.3f s: the sample rate changes",
				       position_s(d));
		d->info.sample_rate = f->sample_rate;
	}
	if (f->format != d->swr_format && setup_swr(d, f, e) < 0)
		return -1;
	if ((size_t)f->nb_samples > d->pend_cap) {
		float *p = realloc(d->pend, (size_t)f->nb_samples * (size_t)d->info.channels * sizeof(float));

		if (!p)
			return err_set(e, ERR_NOMEM, "out of memory");
		d->pend = p;
		d->pend_cap = (size_t)f->nb_samples;
	}
	n = swr_convert(d->swr, (uint8_t **)&d->pend, (int)d->pend_cap, (const uint8_t **)f->extended_data, f->nb_samples);
	if (n < 0)
		return corrupt(d, n, e);
	d->pend_len = (size_t)n;
	d->pend_off = 0;
	av_frame_unref(f);
	return 0;
}

/* Decode the next frame into pend: 1, 0 at the end of the stream, -1 on error. */
static int next_frame(struct media_decoder *d, struct err *e)
{
	int r;

	for (;;) {
		r = avcodec_receive_frame(d->codec, d->frame);
		if (r == 0)
			return convert(d, e) < 0 ? -1 : 1;
		if (r == AVERROR_EOF) {
			d->done = true;
			return 0;
		}
		if (r != AVERROR(EAGAIN))
			return corrupt(d, r, e);
		r = av_read_frame(d->fmt, d->pkt);
		if (r == AVERROR_EOF) {
			d->flushed = true;
			if ((r = avcodec_send_packet(d->codec, NULL)) < 0 && r != AVERROR_EOF)
				return corrupt(d, r, e);
			continue;
		}
		if (r < 0)
			return corrupt(d, r, e);
		if (d->pkt->stream_index != d->stream) {
			av_packet_unref(d->pkt);
			continue;
		}
		media_av_progress(&d->guard);
		r = avcodec_send_packet(d->codec, d->pkt);
		av_packet_unref(d->pkt);
		if (r < 0)
			return corrupt(d, r, e);
	}
}

long media_decoder_read(struct media_decoder *d, float *dst, size_t max_frames, struct err *e)
{
	size_t got = 0, ch = (size_t)d->info.channels;

	while (got < max_frames) {
		if (d->pend_off < d->pend_len) {
			size_t n = d->pend_len - d->pend_off;

			if (n > max_frames - got)
				n = max_frames - got;
			memcpy(dst + got * ch, d->pend + d->pend_off * ch, n * ch * sizeof(float));
			d->pend_off += n;
			got += n;
			d->position += (int64_t)n;
			continue;
		}
		if (d->done)
			break;
		int r = next_frame(d, e);

		if (r < 0)
			return -1;
		if (r == 0)
			break;
	}
	return (long)got;
}
