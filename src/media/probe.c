/* probe.c — identify an audio file and check that it is whole before ingest accepts it.
 *
 * Three reads beyond the headers, each bounded: the first packets are decoded (a file that
 * fails there is corrupt; four frames, or one for FLAC, whose frames stand alone — damage
 * further in is the full decode's to find, as anywhere else in a file), the last few seconds of packets are read (a file cut short ends
 * well before its header's duration — FLAC's STREAMINFO and MP3's Xing frame both keep
 * announcing the original length), and, only when the header has no duration or merely
 * estimates it from the bit rate, every packet is read (not decoded) to count it.
 */
#include "media/probe.h"

#include <stdio.h>
#include <string.h>

#include <libavcodec/avcodec.h>

#include "media/av_input.h"

#define FIRST_PACKETS 64   /* packets decoded up front at most */
#define FIRST_FRAMES 4     /* frames that must decode for the start to count as sound */
#define FIRST_FRAMES_FLAC 1 /* a FLAC frame stands alone (sync code, its own header CRC) */
#define TAIL_MS 5000       /* how far before the announced end the tail check starts */

/* Decode the first frames. 0 when they decode (*frames gets how many did), -1 otherwise. */
static int decode_start(AVFormatContext *fmt, int stream, struct media_av_guard *guard, int *frames, struct err *e)
{
	const AVCodecParameters *par = fmt->streams[stream]->codecpar;
	const AVCodec *codec = avcodec_find_decoder(par->codec_id);
	AVCodecContext *c = avcodec_alloc_context3(codec);
	AVPacket *pkt = av_packet_alloc();
	AVFrame *frame = av_frame_alloc();
	int r, sent = 0, ret = -1;
	char msg[128];

	int want = par->codec_id == AV_CODEC_ID_FLAC ? FIRST_FRAMES_FLAC : FIRST_FRAMES;

	*frames = 0;
	if (!c || !pkt || !frame) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	c->thread_count = 1;
	c->pkt_timebase = fmt->streams[stream]->time_base;
	if ((r = avcodec_parameters_to_context(c, par)) < 0 || (r = avcodec_open2(c, codec, NULL)) < 0)
		goto corrupt;
	while (*frames < want) {
		r = avcodec_receive_frame(c, frame);
		if (r == 0) {
			if (frame->nb_samples > 0)
				(*frames)++;
			av_frame_unref(frame);
			continue;
		}
		if (r == AVERROR_EOF)
			break;
		if (r != AVERROR(EAGAIN))
			goto corrupt;
		if (sent >= FIRST_PACKETS)
			break;
		r = av_read_frame(fmt, pkt);
		if (r == AVERROR_EOF) {
			avcodec_send_packet(c, NULL);
			sent = FIRST_PACKETS;
			continue;
		}
		if (r < 0)
			goto corrupt;
		if (pkt->stream_index == stream) {
			media_av_progress(guard);
			r = avcodec_send_packet(c, pkt);
			sent++;
		}
		av_packet_unref(pkt);
		if (r < 0)
			goto corrupt;
	}
	ret = 0;
	goto out;
corrupt:
	if (r == AVERROR(ENOMEM))
		err_set(e, ERR_INVALID, MEDIA_AV_ENOMEM_MSG);
	else if (guard->tripped)
		err_set(e, ERR_INVALID, "truncated or corrupt: no audio data in %lld MiB",
			(long long)(MEDIA_READ_WITHOUT_AUDIO_MAX >> 20));
	else
		err_set(e, ERR_INVALID, "truncated or corrupt: %s", media_av_strerror(r, msg, sizeof(msg)));
out:
	av_frame_free(&frame);
	av_packet_free(&pkt);
	avcodec_free_context(&c);
	return ret;
}

/* Read packets (not decoding them) from the current position to the end of the file and
 * return the end of the last one, in ms from the stream's start; -1 when there was none. */
static int64_t packets_end_ms(AVFormatContext *fmt, int stream, struct media_av_guard *guard, struct err *e)
{
	const AVStream *st = fmt->streams[stream];
	int64_t start = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
	int64_t end = AV_NOPTS_VALUE, dts_next = AV_NOPTS_VALUE;
	AVPacket *pkt = av_packet_alloc();
	int r;

	if (!pkt)
		return err_set(e, ERR_NOMEM, "out of memory") * 2; /* -2: a failure, not "no packet" */
	while ((r = av_read_frame(fmt, pkt)) >= 0) {
		if (pkt->stream_index == stream) {
			int64_t t = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : (pkt->dts != AV_NOPTS_VALUE ? pkt->dts : dts_next);

			media_av_progress(guard);
			if (t != AV_NOPTS_VALUE) {
				t += pkt->duration > 0 ? pkt->duration : 0;
				dts_next = t;
				if (end == AV_NOPTS_VALUE || t > end)
					end = t;
			}
		}
		av_packet_unref(pkt);
	}
	av_packet_free(&pkt);
	if (guard->tripped)
		return err_set(e, ERR_INVALID, "truncated or corrupt: no audio data in %lld MiB",
			       (long long)(MEDIA_READ_WITHOUT_AUDIO_MAX >> 20)) * 2;
	if (end == AV_NOPTS_VALUE)
		return -1;
	end -= start;
	return end < 0 ? 0 : av_rescale_q(end, st->time_base, (AVRational){ 1, 1000 });
}

static int seek_ms(AVFormatContext *fmt, int stream, int64_t ms)
{
	const AVStream *st = fmt->streams[stream];
	int64_t ts = av_rescale_q(ms, (AVRational){ 1, 1000 }, st->time_base);

	if (st->start_time != AV_NOPTS_VALUE)
		ts += st->start_time;
	return av_seek_frame(fmt, stream, ts, AVSEEK_FLAG_BACKWARD);
}

/* How far short of its announced end a file may stop: encoder padding, a last partial
 * frame, timestamps rounded by the container. */
static int64_t tolerance_ms(int64_t duration_ms)
{
	int64_t t = duration_ms / 50;

	return t < 500 ? 500 : t;
}

static int probe(const char *path, const struct media_source *src, const char *demuxer, struct media_info *out,
		 struct err *e)
{
	AVFormatContext *fmt = NULL;
	struct media_av_guard guard;
	struct media_info info;
	int stream, frames, ret = -1;
	bool seekable;
	int64_t end;

	if ((demuxer ? media_av_open_known(path, demuxer, &fmt, &stream, &guard, e)
		     : media_av_open(path, src, &fmt, &stream, &guard, e)) < 0)
		return -1;
	media_av_describe(fmt, stream, &info);
	seekable = fmt->pb && (fmt->pb->seekable & AVIO_SEEKABLE_NORMAL);
	/* PCM whose data chunk the header found whole (FFmpeg only takes the length from it
	 * when the chunk ends inside the file): every byte is a sample, so decoding the first
	 * ones and reading to the end would check nothing more. They would also make FFmpeg
	 * probe the first packets for a disguised codec (16-bit PCM), most of their cost. */
	if (guard.header_only && strncmp(info.codec, "pcm_", 4) == 0 && info.duration_ms > 0 &&
	    !info.duration_estimated) {
		*out = info;
		ret = 0;
		goto out;
	}
	if (decode_start(fmt, stream, &guard, &frames, e) < 0)
		goto out;
	if (frames == 0) {
		err_set(e, ERR_INVALID, "no audio: duration is 0");
		goto out;
	}

	if (info.duration_ms <= 0 || info.duration_estimated) {
		/* No trustworthy duration: count it. Only the end of the last packet matters, so
		 * a stream that cannot go back to the start is read on from where it is. */
		if (seekable && seek_ms(fmt, stream, 0) < 0)
			avformat_seek_file(fmt, -1, INT64_MIN, 0, 0, 0);
		if ((end = packets_end_ms(fmt, stream, &guard, e)) < -1)
			goto out;
		info.duration_ms = end > 0 ? end : 0;
		info.duration_counted = true;
		info.duration_estimated = false;
	} else if (seekable) {
		/* A duration from the header: check that the data reaches it. */
		end = -1;
		if (seek_ms(fmt, stream, info.duration_ms > TAIL_MS ? info.duration_ms - TAIL_MS : 0) >= 0 &&
		    (end = packets_end_ms(fmt, stream, &guard, e)) < -1)
			goto out;
		if (end < 0) {
			/* The seek failed or landed past the data (a cut file whose index points
			 * beyond its end): read it all from the start to know where it stops. */
			if (seek_ms(fmt, stream, 0) >= 0 && (end = packets_end_ms(fmt, stream, &guard, e)) < -1)
				goto out;
		}
		if (end >= 0 && end < info.duration_ms - tolerance_ms(info.duration_ms)) {
			err_set(e, ERR_INVALID, "truncated or corrupt: the audio stops at %.1f s of the %.1f s its header announces",
				(double)end / 1000, (double)info.duration_ms / 1000);
			goto out;
		}
		if (end < 0) {
			err_set(e, ERR_INVALID, "truncated or corrupt: no audio data where the header says it is");
			goto out;
		}
	}
	if (info.duration_ms <= 0) {
		err_set(e, ERR_INVALID, "no audio: duration is 0");
		goto out;
	}
	*out = info;
	ret = 0;
out:
	if (ret < 0 && guard.read_failed)
		err_set(e, ERR_IO, "cannot read audio file: the source failed");
	media_av_close(&fmt, &guard);
	return ret;
}

int media_probe(const char *path, struct media_info *out, struct err *e)
{
	return probe(path, NULL, NULL, out, e);
}

int media_probe_known(const char *path, const char *format, struct media_info *out, struct err *e)
{
	if (!format || (strcmp(format, "flac") != 0 && strcmp(format, "wav") != 0))
		return probe(path, NULL, NULL, out, e);
	return probe(path, NULL, format, out, e);
}

int media_probe_source(const struct media_source *src, struct media_info *out, struct err *e)
{
	return probe(NULL, src, NULL, out, e);
}
