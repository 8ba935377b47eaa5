/* enc.c — the encoding chain the ladder's renditions and live transcodes share (internal.h):
 * interleaved float PCM → resampler → FIFO → frames for the encoder. */
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libswresample/swresample.h>

#include "stream/encode.h"

int stream_enc_resample(struct stream_enc *x, const float *in, size_t frames, struct err *e)
{
	int out_max = swr_get_out_samples(x->swr, (int)frames), n, rc;
	const uint8_t *src = (const uint8_t *)in;

	if (out_max < 0)
		return stream_averr(e, out_max, "resampler");
	if (out_max > x->conv_cap) {
		if (x->conv)
			av_freep(&x->conv[0]);
		av_freep(&x->conv);
		x->conv_cap = 0;
		if ((rc = av_samples_alloc_array_and_samples(&x->conv, NULL, x->enc->ch_layout.nb_channels, out_max,
							     x->enc->sample_fmt, 0)) < 0)
			return stream_averr(e, rc, "resampler buffer");
		x->conv_cap = out_max;
	}
	n = swr_convert(x->swr, x->conv, x->conv_cap, in ? &src : NULL, in ? (int)frames : 0);
	if (n < 0)
		return stream_averr(e, n, "resampling");
	if (n > 0 && av_audio_fifo_write(x->fifo, (void **)x->conv, n) != n)
		return err_set(e, ERR_NOMEM, "out of memory");
	return 0;
}

int stream_enc_send(struct stream_enc *x, int n, struct err *e)
{
	AVCodecContext *enc = x->enc;
	int rc, size = n;

	/* An encoder that cannot take a short last frame gets it padded with silence. */
	if (enc->frame_size > 0 && n < enc->frame_size && !(enc->codec->capabilities & AV_CODEC_CAP_SMALL_LAST_FRAME))
		size = enc->frame_size;
	av_frame_unref(x->frame);
	x->frame->nb_samples = size;
	x->frame->format = enc->sample_fmt;
	x->frame->sample_rate = enc->sample_rate;
	if ((rc = av_channel_layout_copy(&x->frame->ch_layout, &enc->ch_layout)) < 0 ||
	    (rc = av_frame_get_buffer(x->frame, 0)) < 0)
		return stream_averr(e, rc, "allocating a frame");
	if (size > n)
		av_samples_set_silence(x->frame->data, n, size - n, enc->ch_layout.nb_channels, enc->sample_fmt);
	if (av_audio_fifo_read(x->fifo, (void **)x->frame->data, n) != n)
		return err_set(e, ERR_INTERNAL, "audio FIFO short read");
	x->frame->pts = x->pts;
	x->pts += n;
	if ((rc = avcodec_send_frame(enc, x->frame)) < 0)
		return stream_averr(e, rc, "encoding");
	return 0;
}

void stream_enc_release(struct stream_enc *x)
{
	if (x->mux)
		avformat_free_context(x->mux);
	x->mux = NULL;
	if (x->avio) {
		av_freep(&x->avio->buffer);
		avio_context_free(&x->avio);
	}
	avcodec_free_context(&x->enc);
	swr_free(&x->swr);
	if (x->fifo)
		av_audio_fifo_free(x->fifo);
	x->fifo = NULL;
	av_frame_free(&x->frame);
	av_packet_free(&x->pkt);
	if (x->conv)
		av_freep(&x->conv[0]);
	av_freep(&x->conv);
	x->conv_cap = 0;
}
