/* av_input.c — opening audio files with libavformat inside fixed bounds, and describing them. */
#include "media/av_input.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <libavutil/log.h>
#include <libavutil/mem.h>

#include "base/log.h"

/* FFmpeg logs from any thread straight to stderr by default; tonearm's log is JSON lines.
 * Warnings and errors about a user's file are worth keeping for debugging, never at info. */
static void av_log_to_ours(void *avcl, int level, const char *fmt, va_list ap)
{
	char line[512];
	int prefix = 1;
	size_t n;

	if (level > AV_LOG_WARNING || !log_enabled(LOG_DEBUG))
		return;
	av_log_format_line2(avcl, level, fmt, ap, line, sizeof(line), &prefix);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (n > 0)
		log_kv(LOG_DEBUG, NULL, "ffmpeg", LOG_FIELDS(LOG_STR("detail", line)));
}

static void av_setup_once(void)
{
	/* FFmpeg allocates what headers claim (up to INT_MAX by default); no audio file or
	 * cover needs a single block this large, and a hostile one should not get 2 GB. */
	av_max_alloc(MEDIA_AV_MAX_ALLOC);
	av_log_set_level(AV_LOG_WARNING);
	av_log_set_callback(av_log_to_ours);
}

void media_av_setup(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, av_setup_once);
}

const char *media_av_strerror(int averr, char *buf, size_t size)
{
	if (av_strerror(averr, buf, size) < 0)
		snprintf(buf, size, "error %d", averr);
	return buf;
}

static int guard_check(void *opaque)
{
	struct media_av_guard *g = opaque;

	if (g->fmt && g->fmt->pb && g->fmt->pb->bytes_read - g->mark > MEDIA_READ_WITHOUT_AUDIO_MAX)
		g->tripped = true;
	return g->tripped;
}

void media_av_progress(struct media_av_guard *g)
{
	if (g->fmt && g->fmt->pb)
		g->mark = g->fmt->pb->bytes_read;
}

#define SOURCE_BUFFER 65536

/* AVIOContext callbacks over a media_source. The interrupt callback only guards FFmpeg's
 * own protocols, so the read budget is checked here too. */
static int source_read(void *opaque, uint8_t *buf, int size)
{
	struct media_av_guard *g = opaque;
	long r;

	if (g->pb && g->pb->bytes_read - g->mark > MEDIA_READ_WITHOUT_AUDIO_MAX)
		g->tripped = true;
	if (g->tripped)
		return AVERROR_EXIT;
	r = g->src->read(g->src->opaque, buf, (size_t)size);
	if (r < 0 || r > size) {
		g->read_failed = true;
		return AVERROR(EIO);
	}
	if (r == 0)
		return AVERROR_EOF;
	g->pos += r;
	return (int)r;
}

static int64_t source_seek(void *opaque, int64_t offset, int whence)
{
	struct media_av_guard *g = opaque;
	int64_t to;

	whence &= ~AVSEEK_FORCE;
	if (whence == AVSEEK_SIZE)
		return g->src->size >= 0 ? g->src->size : -1;
	if (!g->src->seek)
		return -1;
	if (whence == SEEK_SET)
		to = offset;
	else if (whence == SEEK_CUR)
		to = g->pos + offset;
	else if (whence == SEEK_END && g->src->size >= 0)
		to = g->src->size + offset;
	else
		return -1;
	if (to < 0 || g->src->seek(g->src->opaque, to) < 0)
		return -1;
	g->pos = to;
	return to;
}

void media_av_close(AVFormatContext **fmt, struct media_av_guard *g)
{
	avformat_close_input(fmt);
	if (g->pb) {
		av_freep(&g->pb->buffer);
		avio_context_free(&g->pb);
	}
}

/* FFmpeg 5.1's flac demuxer keeps STREAMINFO as extradata and leaves the stream's rate,
 * channels and depth at 0 for find_stream_info, which fills them by running the parser and
 * decoding the first frames: most of the probe of a short FLAC, and done again by the probe's
 * own first-frames decode. They are three fixed fields of STREAMINFO (RFC 9639 8.2: 20 bits
 * of sample rate, 3 of channels - 1, 5 of bits per sample - 1, from its 11th byte), read here
 * as the decoder reads them. Only mono and stereo: for those the decoder's channel layout is
 * the default one, as set here; other counts keep find_stream_info. */
static void flac_streaminfo(AVStream *st)
{
	AVCodecParameters *par = st->codecpar;
	const uint8_t *b = par->extradata;
	int rate, channels, bits;

	if (par->sample_rate > 0 || par->ch_layout.nb_channels > 0 || !b || par->extradata_size < 34)
		return;
	rate = (b[10] << 12) | (b[11] << 4) | (b[12] >> 4);
	channels = ((b[12] >> 1) & 7) + 1;
	bits = (((b[12] & 1) << 4) | (b[13] >> 4)) + 1;
	if (rate <= 0 || channels > 2 || bits < 4)
		return;
	par->sample_rate = rate;
	av_channel_layout_uninit(&par->ch_layout);
	av_channel_layout_default(&par->ch_layout, channels);
	par->bits_per_raw_sample = bits;
}

/* A FLAC or WAV header (STREAMINFO, fmt and data chunks) says all find_stream_info would:
 * codec, rate, channels, depth, length. Only the overall bit rate is left, which FFmpeg
 * derives from the file size and duration; computed here the same way. */
static bool header_complete(AVFormatContext *fmt, const char *demuxer)
{
	const AVStream *st;
	const AVCodecDescriptor *desc;
	int64_t size, dur;

	if (!demuxer || fmt->nb_streams != 1)
		return false;
	if (strcmp(demuxer, "flac") == 0 && fmt->streams[0]->codecpar->codec_id == AV_CODEC_ID_FLAC)
		flac_streaminfo(fmt->streams[0]);
	st = fmt->streams[0];
	/* FLAC in FLAC, PCM in WAV: anything else in a WAV (MP3, ADPCM …) is analysed as usual. */
	desc = avcodec_descriptor_get(st->codecpar->codec_id);
	if (!desc || (strcmp(demuxer, "flac") == 0 ? st->codecpar->codec_id != AV_CODEC_ID_FLAC
						   : strncmp(desc->name, "pcm_", 4) != 0))
		return false;
	if (st->codecpar->codec_type != AVMEDIA_TYPE_AUDIO || st->codecpar->codec_id == AV_CODEC_ID_NONE ||
	    st->codecpar->sample_rate <= 0 || st->codecpar->ch_layout.nb_channels <= 0 || st->duration <= 0 ||
	    st->duration == AV_NOPTS_VALUE)
		return false;
	size = fmt->pb ? avio_size(fmt->pb) : -1;
	dur = av_rescale_q(st->duration, st->time_base, AV_TIME_BASE_Q);
	if (fmt->bit_rate <= 0 && size > 0 && dur > 0)
		fmt->bit_rate = (int64_t)((double)size * 8.0 * AV_TIME_BASE / (double)dur);
	return true;
}

/* `demuxer`: the container is already known (NULL: probe for it); `probe_bytes`: the probesize. */
static int av_open(const char *path, const struct media_source *src, const char *demuxer, int probe_bytes,
		   AVFormatContext **fmtp, int *stream, struct media_av_guard *guard, struct err *e)
{
	AVFormatContext *fmt = NULL;
	AVDictionary *opts = NULL;
	const AVInputFormat *ifmt = NULL;
	struct stat sb;
	char probesize[32], analyze[32], msg[128];
	int r, ret = -1;

	*guard = (struct media_av_guard){ .src = path ? NULL : src };
	media_av_setup();
	if (path) {
		if (stat(path, &sb) != 0)
			return err_errno(e, errno == ENOENT ? ERR_NOT_FOUND : ERR_IO, errno, "cannot read audio file");
		if (!S_ISREG(sb.st_mode))
			return err_set(e, ERR_INVALID, "not an audio file: not a regular file");
		if (sb.st_size == 0)
			return err_set(e, ERR_INVALID, "empty file");
	} else {
		if (!src || !src->read)
			return err_set(e, ERR_INTERNAL, "media source without a read callback");
		if (src->size == 0)
			return err_set(e, ERR_INVALID, "empty file");
	}

	if (demuxer && !(ifmt = av_find_input_format(demuxer)))
		return err_set(e, ERR_INTERNAL, "FFmpeg has no %s demuxer", demuxer);
	snprintf(probesize, sizeof(probesize), "%d", probe_bytes);
	snprintf(analyze, sizeof(analyze), "%d", MEDIA_PROBE_ANALYZE_US);
	if (av_dict_set(&opts, "probesize", probesize, 0) < 0 || av_dict_set(&opts, "analyzeduration", analyze, 0) < 0 ||
	    av_dict_set(&opts, "formatprobesize", probesize, 0) < 0) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	fmt = avformat_alloc_context();
	if (!fmt) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	guard->fmt = fmt;
	fmt->interrupt_callback = (AVIOInterruptCB){ guard_check, guard };
	if (!path) {
		uint8_t *buffer = av_malloc(SOURCE_BUFFER);

		guard->pb = buffer ? avio_alloc_context(buffer, SOURCE_BUFFER, 0, guard, source_read, NULL, source_seek) : NULL;
		if (!guard->pb) {
			av_free(buffer);
			avformat_free_context(fmt);
			fmt = NULL;
			err_set(e, ERR_NOMEM, "out of memory");
			goto out;
		}
		if (!src->seek)
			guard->pb->seekable = 0;
		fmt->pb = guard->pb;
		fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
	}
	r = avformat_open_input(&fmt, path ? path : (src->name ? src->name : ""), ifmt, &opts);
	if (r == AVERROR(ENOMEM)) {
		err_set(e, ERR_INVALID, MEDIA_AV_ENOMEM_MSG);
		goto out;
	}
	if (r == AVERROR(EACCES) || guard->read_failed) {
		err_set(e, ERR_IO, "cannot read audio file: %s", media_av_strerror(r, msg, sizeof(msg)));
		goto out;
	}
	/* Demuxers answer EIO when a header runs past the end of the file: the file was
	 * readable (stat said so), its content is what is wrong. */
	if (r == AVERROR(EIO) || r == AVERROR_EOF) {
		err_set(e, ERR_INVALID, "truncated or corrupt: the file ends inside its header");
		goto out;
	}
	if (r < 0) {
		err_set(e, ERR_INVALID, "not an audio file");
		goto out;
	}
	guard->fmt = fmt;
	/* Without this, a container with many streams could make find_stream_info decode video. */
	for (unsigned i = 0; i < fmt->nb_streams; i++)
		if (fmt->streams[i]->codecpar->codec_type != AVMEDIA_TYPE_AUDIO)
			fmt->streams[i]->discard = AVDISCARD_ALL;
	guard->header_only = header_complete(fmt, demuxer);
	r = guard->header_only ? 0 : avformat_find_stream_info(fmt, NULL);
	if (r < 0) {
		err_set(e, ERR_INVALID, "not an audio file");
		goto out;
	}
	r = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
	if (r < 0) {
		err_set(e, ERR_INVALID, "not an audio file");
		goto out;
	}
	{
		const AVCodecParameters *par = fmt->streams[r]->codecpar;

		if (par->sample_rate <= 0 || par->ch_layout.nb_channels <= 0) {
			err_set(e, ERR_INVALID, "not an audio file");
			goto out;
		}
		if (!avcodec_find_decoder(par->codec_id)) {
			err_set(e, ERR_UNSUPPORTED, "unsupported audio codec: %s", avcodec_get_name(par->codec_id));
			goto out;
		}
	}
	*stream = r;
	media_av_progress(guard);
	*fmtp = fmt;
	fmt = NULL;
	ret = 0;
out:
	if (ret < 0 && guard->read_failed)
		err_set(e, ERR_IO, "cannot read audio file: the source failed");
	else if (ret < 0 && guard->tripped)
		err_set(e, ERR_INVALID, "not an audio file: no audio found in the first %lld MiB",
			(long long)(MEDIA_READ_WITHOUT_AUDIO_MAX >> 20));
	av_dict_free(&opts);
	if (ret < 0)
		media_av_close(&fmt, guard);
	return ret;
}

int media_av_open(const char *path, const struct media_source *src, AVFormatContext **fmtp, int *stream,
		  struct media_av_guard *guard, struct err *e)
{
	return av_open(path, src, NULL, MEDIA_PROBE_SIZE, fmtp, stream, guard, e);
}

int media_av_open_known(const char *path, const char *demuxer, AVFormatContext **fmtp, int *stream,
			struct media_av_guard *guard, struct err *e)
{
	return av_open(path, NULL, demuxer, MEDIA_PROBE_KNOWN_SIZE, fmtp, stream, guard, e);
}

/* FFmpeg names demuxers by every extension they serve ("mov,mp4,m4a,3gp,3g2,mj2"); the
 * catalogue wants one short word. */
static void container_name(const AVFormatContext *fmt, char *out, size_t size)
{
	const char *name = fmt->iformat->name;
	size_t n = strcspn(name, ",");

	if (strncmp(name, "mov,", 4) == 0)
		name = "mp4", n = 3;
	snprintf(out, size, "%.*s", (int)n, name);
}

void media_av_describe(const AVFormatContext *fmt, int stream, struct media_info *out)
{
	const AVStream *st = fmt->streams[stream];
	const AVCodecParameters *par = st->codecpar;
	const AVCodecDescriptor *desc = avcodec_descriptor_get(par->codec_id);

	memset(out, 0, sizeof(*out));
	container_name(fmt, out->format, sizeof(out->format));
	snprintf(out->codec, sizeof(out->codec), "%s", avcodec_get_name(par->codec_id));
	if (av_channel_layout_describe(&par->ch_layout, out->layout, sizeof(out->layout)) < 0)
		snprintf(out->layout, sizeof(out->layout), "%d channels", par->ch_layout.nb_channels);
	out->sample_rate = par->sample_rate;
	out->channels = par->ch_layout.nb_channels;
	out->bit_rate = par->bit_rate > 0 ? par->bit_rate : (fmt->bit_rate > 0 ? fmt->bit_rate : 0);
	/* WavPack is marked both lossy and lossless (its hybrid mode); plain WavPack is what
	 * people mean by it, so it counts as lossless. */
	out->lossless = desc && (desc->props & AV_CODEC_PROP_LOSSLESS) &&
			(!(desc->props & AV_CODEC_PROP_LOSSY) || par->codec_id == AV_CODEC_ID_WAVPACK);
	if (out->lossless) {
		out->bits_per_sample = par->bits_per_raw_sample > 0 ? par->bits_per_raw_sample : par->bits_per_coded_sample;
		if (out->bits_per_sample <= 0)
			out->bits_per_sample = av_get_bytes_per_sample((enum AVSampleFormat)par->format) * 8;
	}
	if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
		out->duration_ms = av_rescale_q(st->duration, st->time_base, (AVRational){ 1, 1000 });
	else if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0)
		out->duration_ms = av_rescale(fmt->duration, 1000, AV_TIME_BASE);
	else
		out->duration_ms = -1;
	out->duration_estimated = out->duration_ms > 0 &&
				  av_fmt_ctx_get_duration_estimation_method(fmt) == AVFMT_DURATION_FROM_BITRATE;
	for (unsigned i = 0; i < fmt->nb_streams; i++)
		if (fmt->streams[i]->disposition & AV_DISPOSITION_ATTACHED_PIC)
			out->has_picture = true;
}
