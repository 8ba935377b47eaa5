/* art.c — decode, scale and re-encode cover art in memory with libavcodec and libswscale. */
#include "media/art.h"

#include <stdint.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

#include "media/av_input.h"

/* mjpeg's quantiser scale: 2–31, lower is better; 3 is ffmpeg's `-q:v 3`, visually clean at
 * a fraction of the size of 2. */
#define JPEG_QSCALE 3

static enum AVCodecID codec_of(enum media_art_type t)
{
	switch (t) {
	case MEDIA_ART_JPEG: return AV_CODEC_ID_MJPEG;
	case MEDIA_ART_PNG: return AV_CODEC_ID_PNG;
	case MEDIA_ART_WEBP: return AV_CODEC_ID_WEBP;
	case MEDIA_ART_GIF: return AV_CODEC_ID_GIF;
	case MEDIA_ART_UNKNOWN: break;
	}
	return AV_CODEC_ID_NONE;
}

/* The first frame of the image. The whole file is one packet for these decoders (that is how
 * FFmpeg's image demuxers hand them over). */
static int decode(const void *data, size_t len, enum media_art_type t, AVFrame *frame, struct err *e)
{
	const AVCodec *codec = avcodec_find_decoder(codec_of(t));
	AVCodecContext *dec = NULL;
	AVPacket *pkt = NULL;
	int ret = -1, r;

	if (!codec)
		return err_set(e, ERR_INTERNAL, "art: FFmpeg has no decoder for %s", media_art_mime(t));
	dec = avcodec_alloc_context3(codec);
	pkt = av_packet_alloc();
	if (!dec || !pkt || av_new_packet(pkt, (int)len) < 0) {
		err_set(e, ERR_NOMEM, "art: out of memory");
		goto out;
	}
	memcpy(pkt->data, data, len);
	/* Refuse huge images before their pixels are allocated: the decoder checks this
	 * against the header's dimensions. */
	dec->max_pixels = (int64_t)MEDIA_ART_MAX_DIM * MEDIA_ART_MAX_DIM;
	dec->thread_count = 1;
	if (avcodec_open2(dec, codec, NULL) < 0) {
		err_set(e, ERR_INTERNAL, "art: cannot open the %s decoder", media_art_mime(t));
		goto out;
	}
	r = avcodec_send_packet(dec, pkt);
	if (r >= 0) {
		r = avcodec_receive_frame(dec, frame);
		if (r == AVERROR(EAGAIN)) {
			avcodec_send_packet(dec, NULL);
			r = avcodec_receive_frame(dec, frame);
		}
	}
	if (r < 0) {
		if (r == AVERROR(ENOMEM) || (r == AVERROR(EINVAL) && dec->width > 0 &&
					     (int64_t)dec->width * dec->height > dec->max_pixels))
			err_set(e, ERR_TOO_LARGE, "art: the image is larger than %dx%d pixels", MEDIA_ART_MAX_DIM,
				MEDIA_ART_MAX_DIM);
		else
			err_set(e, ERR_INVALID, "art: the %s image does not decode", media_art_mime(t));
		goto out;
	}
	if (frame->width <= 0 || frame->height <= 0 || frame->format < 0) {
		err_set(e, ERR_INVALID, "art: the image has no pixels");
		goto out;
	}
	if (frame->width > MEDIA_ART_MAX_DIM || frame->height > MEDIA_ART_MAX_DIM) {
		err_set(e, ERR_TOO_LARGE, "art: the image is larger than %d pixels a side", MEDIA_ART_MAX_DIM);
		goto out;
	}
	ret = 0;
out:
	av_packet_free(&pkt);
	avcodec_free_context(&dec);
	return ret;
}

/* Fit w × h in a box × box square, keeping the aspect ratio and never enlarging. */
static void fit(int w, int h, int box, int *tw, int *th)
{
	if (w <= box && h <= box) {
		*tw = w;
		*th = h;
	} else if (w >= h) {
		*tw = box;
		*th = (int)(((int64_t)h * box + w / 2) / w);
	} else {
		*th = box;
		*tw = (int)(((int64_t)w * box + h / 2) / h);
	}
	if (*tw < 1)
		*tw = 1;
	if (*th < 1)
		*th = 1;
}

/* The YUVJ formats are FFmpeg's deprecated spelling of "full range": name the plain format
 * and say the range instead, as libswscale asks. */
static enum AVPixelFormat unj(enum AVPixelFormat f, int *full)
{
	*full = 1;
	switch (f) {
	case AV_PIX_FMT_YUVJ420P: return AV_PIX_FMT_YUV420P;
	case AV_PIX_FMT_YUVJ422P: return AV_PIX_FMT_YUV422P;
	case AV_PIX_FMT_YUVJ444P: return AV_PIX_FMT_YUV444P;
	case AV_PIX_FMT_YUVJ440P: return AV_PIX_FMT_YUV440P;
	case AV_PIX_FMT_YUVJ411P: return AV_PIX_FMT_YUV411P;
	default: break;
	}
	*full = 0;
	return f;
}

static int encode_jpeg(AVFrame *frame, struct buf *out, struct err *e)
{
	const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
	AVCodecContext *enc = NULL;
	AVPacket *pkt = NULL;
	int ret = -1, r;

	if (!codec)
		return err_set(e, ERR_INTERNAL, "art: FFmpeg has no JPEG encoder");
	enc = avcodec_alloc_context3(codec);
	pkt = av_packet_alloc();
	if (!enc || !pkt) {
		err_set(e, ERR_NOMEM, "art: out of memory");
		goto out;
	}
	enc->width = frame->width;
	enc->height = frame->height;
	enc->pix_fmt = AV_PIX_FMT_YUV420P;
	enc->color_range = AVCOL_RANGE_JPEG;
	enc->time_base = (AVRational){ 1, 25 };
	enc->flags |= AV_CODEC_FLAG_QSCALE;
	enc->global_quality = FF_QP2LAMBDA * JPEG_QSCALE;
	enc->thread_count = 1;
	if (avcodec_open2(enc, codec, NULL) < 0) {
		err_set(e, ERR_INTERNAL, "art: cannot open the JPEG encoder");
		goto out;
	}
	frame->quality = enc->global_quality;
	frame->pict_type = AV_PICTURE_TYPE_I;
	if (avcodec_send_frame(enc, frame) < 0 || avcodec_send_frame(enc, NULL) < 0) {
		err_set(e, ERR_INTERNAL, "art: the JPEG encoder refused the picture");
		goto out;
	}
	while ((r = avcodec_receive_packet(enc, pkt)) >= 0) {
		if (buf_add(out, pkt->data, (size_t)pkt->size) < 0) {
			err_set(e, ERR_NOMEM, "art: out of memory");
			goto out;
		}
		av_packet_unref(pkt);
	}
	if (r != AVERROR_EOF) {
		err_set(e, ERR_INTERNAL, "art: the JPEG encoder failed");
		goto out;
	}
	ret = 0;
out:
	av_packet_free(&pkt);
	avcodec_free_context(&enc);
	return ret;
}

int media_art_resize(const void *data, size_t len, int box, struct buf *out, int *w, int *h,
		     struct err *e)
{
	enum media_art_type t = media_art_sniff(data, len);
	AVFrame *in = NULL, *scaled = NULL;
	struct SwsContext *sws = NULL;
	size_t was = out->len;
	enum AVPixelFormat src_fmt;
	int tw, th, src_full, ret = -1;

	if (len > MEDIA_ART_MAX_BYTES)
		return err_set(e, ERR_TOO_LARGE, "art: the image is larger than %zu MiB", MEDIA_ART_MAX_BYTES >> 20);
	if (box < 1 || box > MEDIA_ART_MAX_DIM)
		return err_set(e, ERR_INVALID, "art: a box of %d pixels is out of range", box);
	if (t == MEDIA_ART_UNKNOWN)
		return err_set(e, ERR_INVALID, "art: not a JPEG, PNG, WebP or GIF image");
	media_av_setup();
	in = av_frame_alloc();
	scaled = av_frame_alloc();
	if (!in || !scaled) {
		err_set(e, ERR_NOMEM, "art: out of memory");
		goto out;
	}
	if (decode(data, len, t, in, e) < 0)
		goto out;
	fit(in->width, in->height, box, &tw, &th);
	scaled->width = tw;
	scaled->height = th;
	scaled->format = AV_PIX_FMT_YUV420P;
	scaled->color_range = AVCOL_RANGE_JPEG;
	if (av_frame_get_buffer(scaled, 0) < 0) {
		err_set(e, ERR_NOMEM, "art: out of memory");
		goto out;
	}
	/* Area averaging: each output pixel is the mean of the input pixels it covers, the
	 * right filter for shrinking (no aliasing, no ringing). */
	src_fmt = unj((enum AVPixelFormat)in->format, &src_full);
	sws = sws_getContext(in->width, in->height, src_fmt, tw, th, AV_PIX_FMT_YUV420P,
			     SWS_AREA | SWS_ACCURATE_RND, NULL, NULL, NULL);
	/* JPEG's YCbCr is full range on both sides (the source's range matters only for YUV). */
	if (!sws || sws_setColorspaceDetails(sws, sws_getCoefficients(SWS_CS_DEFAULT), src_full,
					     sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16) < 0) {
		err_set(e, ERR_INVALID, "art: cannot convert the image's pixel format");
		goto out;
	}
	if (sws_scale(sws, (const uint8_t *const *)in->data, in->linesize, 0, in->height, scaled->data,
		      scaled->linesize) != th) {
		err_set(e, ERR_INTERNAL, "art: scaling failed");
		goto out;
	}
	if (encode_jpeg(scaled, out, e) < 0)
		goto out;
	if (w)
		*w = tw;
	if (h)
		*h = th;
	ret = 0;
out:
	if (ret < 0)
		buf_truncate(out, was);
	sws_freeContext(sws);
	av_frame_free(&in);
	av_frame_free(&scaled);
	return ret;
}
