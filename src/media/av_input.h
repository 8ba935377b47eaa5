/* av_input.h — internal to media/: opening a file with libavformat, bounded, and describing
 * its audio stream. Shared by probe.c and decode.c; not part of the public interface. */
#ifndef TONEARM_MEDIA_AV_INPUT_H
#define TONEARM_MEDIA_AV_INPUT_H

#include <stdbool.h>

#include <libavformat/avformat.h>

#include "base/err.h"
#include "media/probe.h"

/* How many bytes may be read without a packet of the audio stream coming out. FFmpeg's
 * demuxers and parsers can otherwise read a whole hostile file (3 GB of zeros named .mp3
 * makes the MP3 parser buffer 2 GB) hunting for a frame; probesize does not stop that. */
#define MEDIA_READ_WITHOUT_AUDIO_MAX ((int64_t)64 << 20)

/* The largest single allocation FFmpeg may make (av_max_alloc, process-wide). */
#define MEDIA_AV_MAX_ALLOC ((size_t)256 << 20)

/* FFmpeg answers ENOMEM when a header claims a size past that limit: that is the file's
 * fault, reported as such (our own allocations still fail with ERR_NOMEM). */
#define MEDIA_AV_ENOMEM_MSG "truncated or corrupt: it declares sizes no audio file has"

/* A read budget enforced through FFmpeg's interrupt callback. It must outlive the format
 * context it guards. */
struct media_av_guard {
	AVFormatContext *fmt;
	int64_t mark;  /* bytes_read when audio data was last seen */
	bool tripped;  /* the budget ran out: the call that failed was interrupted */
	/* A media_source instead of a path: its AVIOContext, and where the source is. */
	const struct media_source *src;
	AVIOContext *pb;
	int64_t pos;
	bool read_failed; /* the source's read callback said -1 */
	/* media_av_open_known only: the header described the stream completely (FLAC's
	 * STREAMINFO; PCM in WAV whose data chunk is all there), no packet was read for it */
	bool header_only;
};

/* Open `path` — or, when path is NULL, `src` — with the probe bounds, find stream info and
 * the best audio stream. On success *fmt is open (media_av_close() it), guarded by *guard
 * (which must stay where it is until then), and *stream is the audio stream's index. Fails
 * with the ERR_INVALID messages of probe.h ("empty file", "not an audio file"),
 * ERR_NOT_FOUND or ERR_IO. */
int media_av_open(const char *path, const struct media_source *src, AVFormatContext **fmt, int *stream,
		  struct media_av_guard *guard, struct err *e);

/* The same for a file whose container is already known (`demuxer`: FFmpeg's name, "flac",
 * "wav"): no format probe, and stream analysis limited to MEDIA_PROBE_KNOWN_SIZE bytes. The
 * limit matters for PCM in WAV, where FFmpeg otherwise runs every demuxer's probe over the
 * first packets again and again to look for a compressed stream disguised as PCM (S/PDIF):
 * most of the CPU time of importing a WAV file. ERR_INTERNAL when FFmpeg lacks the demuxer. */
int media_av_open_known(const char *path, const char *demuxer, AVFormatContext **fmt, int *stream,
			struct media_av_guard *guard, struct err *e);

/* Close what media_av_open() opened (*fmt may be NULL). */
void media_av_close(AVFormatContext **fmt, struct media_av_guard *guard);

/* Audio data was seen: the budget starts again from here. */
void media_av_progress(struct media_av_guard *guard);

/* Fill *out from the container and stream headers (duration_ms -1 when absent). */
void media_av_describe(const AVFormatContext *fmt, int stream, struct media_info *out);

/* An FFmpeg error code as text ("Invalid data found when processing input"). */
const char *media_av_strerror(int averr, char *buf, size_t size);

#endif
