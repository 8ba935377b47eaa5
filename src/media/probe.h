/* probe.h — what an audio file is, from its container and first packets (libavformat).
 *
 * media_probe() is the gate of ingest: a file it accepts has an audio stream whose first
 * packets decode and whose data reaches the end its header announces; a file it refuses gets
 * ERR_INVALID with a message written for people (it ends up in the API's problem+json and in
 * `tonearm import`'s summary):
 *
 *   "empty file"                              zero bytes
 *   "not an audio file"                       no container FFmpeg knows, or no audio stream
 *   "truncated or corrupt: <why>"             the first packets do not decode, or the data
 *                                             stops well before the duration the header claims
 *   "no audio: duration is 0"                 an audio stream with no samples
 *
 * The probe reads a bounded amount (MEDIA_PROBE_SIZE bytes, MEDIA_PROBE_ANALYZE_US of
 * stream) before deciding, so a hostile header cannot make it read gigabytes; counting the
 * duration from packets (when the header lacks or only estimates it) reads packets without
 * decoding them and stops at the end of the file.
 *
 * FFmpeg's own log is routed to tonearm's log at debug level, and its largest single
 * allocation is capped at 256 MiB (av_max_alloc: process-wide) so that a header claiming
 * gigabytes is refused instead of served (see media_av_setup()).
 */
#ifndef TONEARM_MEDIA_PROBE_H
#define TONEARM_MEDIA_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

#define MEDIA_PROBE_SIZE (4 << 20)         /* bytes read to identify streams */
#define MEDIA_PROBE_ANALYZE_US 5000000     /* microseconds of stream analysed at most */
#define MEDIA_PROBE_KNOWN_SIZE 4096        /* bytes analysed by media_probe_known */
#define MEDIA_NAME_MAX 32

/* What a file holds. Plain data, no pointers: copy it freely. */
struct media_info {
	char format[MEDIA_NAME_MAX];   /* container: "mp3", "mp4", "flac", "ogg", "wav", "aiff", … */
	char codec[MEDIA_NAME_MAX];    /* codec of the audio stream: "mp3", "aac", "alac", "opus", "pcm_s16le", … */
	char layout[MEDIA_NAME_MAX];   /* channel layout: "mono", "stereo", "5.1", or "3 channels" */
	int64_t duration_ms;           /* length of the audio; -1 when unknown (decoder only) */
	int64_t bit_rate;              /* bits per second of the audio stream (container's if the stream has none) */
	int sample_rate;               /* Hz */
	int channels;
	int bits_per_sample;           /* bit depth of a lossless source (16, 24, …); 0 for lossy codecs */
	bool lossless;                 /* FLAC, ALAC, WavPack, PCM (WAV/AIFF), … */
	bool has_picture;              /* an attached picture (cover art) stream is present */
	bool duration_counted;         /* the header lacked or only estimated the duration: counted from packets */
	bool duration_estimated;       /* decoder only: duration_ms is FFmpeg's guess from the bit rate */
};

/* A file that is not at a path: bytes behind callbacks (e.g. an object-store reader, which
 * media/ does not know). The callbacks run on the calling thread, inside the media_* call.
 * The source must stay valid until the probe, analysis or decoder using it is done. */
struct media_source {
	void *opaque;
	/* Read up to `len` bytes at the current position into `buf`: the count (> 0), 0 at the
	 * end, -1 on a read error. */
	long (*read)(void *opaque, uint8_t *buf, size_t len);
	/* Move to absolute byte `offset`: 0, or -1. NULL for a stream that cannot seek (then
	 * the probe cannot check the end of the file and trusts the header). */
	int (*seek)(void *opaque, int64_t offset);
	int64_t size;      /* bytes in total; -1 when unknown */
	const char *name;  /* a file name, used only as a hint of the format by its extension; may be NULL */
};

/* Identify the audio file at `path` and fill *out. Returns 0, or -1 with *e set: ERR_INVALID
 * with one of the messages above for a file that is not usable audio, ERR_NOT_FOUND when
 * there is no such file, ERR_IO when it cannot be read, ERR_NOMEM. *out is only meaningful
 * on success. Thread-safe (no shared state besides FFmpeg's log callback). */
int media_probe(const char *path, struct media_info *out, struct err *e);

/* media_probe for a file whose container another reader already recognised by its content
 * (TagLib: media_tag_audio.container): "flac" or "wav" (any other value, or NULL, is a plain
 * media_probe). The same answers for a file that is what it was taken for (the same
 * media_info, the same refusals), for less work:
 *   - no search through every FFmpeg demuxer for the container;
 *   - no stream analysis when the header says everything (FLAC's STREAMINFO; PCM in WAV
 *     whose data chunk ends inside the file), else one limited to MEDIA_PROBE_KNOWN_SIZE
 *     bytes (FFmpeg otherwise re-probes 16-bit PCM for a disguised codec up to
 *     MEDIA_PROBE_SIZE: most of the cost of a short WAV);
 *   - for such whole PCM no packet at all: every byte is a sample, so decoding the first
 *     ones and reading to the end would check nothing the header's length did not.
 * FLAC keeps both checks (first frames decode, data reaches the announced end). */
int media_probe_known(const char *path, const char *format, struct media_info *out, struct err *e);

/* The same for a media_source. Read errors of the source are ERR_IO. */
int media_probe_source(const struct media_source *src, struct media_info *out, struct err *e);

/* Route FFmpeg's log (warnings and errors only) to tonearm's log at debug level and cap
 * FFmpeg's allocations (see above). Called by media_probe() and the decoder; idempotent and
 * thread-safe. */
void media_av_setup(void);

#endif
