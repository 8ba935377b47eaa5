/* live.h — on-the-fly transcodes: a track as MP3, Opus or AAC at a bit rate the client asks
 * for, made while it is being sent, and kept for the next request.
 *
 * DESIGN.md step 6: "old clients get on-the-fly transcodes". A client that cannot play HLS or
 * fragmented MP4 (a Subsonic app, a car stereo, `curl | mpv`) asks for a format and a maximum
 * bit rate; a track whose ladder is not ready yet plays at once the same way.
 *
 *     decoder (media/decode.h, float PCM) → resampler → encoder → muxer (memory) → reader
 *                                                                            └→ cache object
 *
 * Output is a plain stream a player can start anywhere near the beginning: MP3 frames (no ID3,
 * no Xing header, which would need a seek back), Opus in Ogg, AAC-LC in ADTS. Bytes are handed
 * out as soon as the encoder has some (the first read returns after well under a second of
 * audio is encoded), so playback starts while the rest is still being made. The same bytes go
 * to the store under stream_live_key(); the object is committed only when the whole track was
 * transcoded and read, so a client that goes away leaves nothing half-written behind, and the
 * next request for the same format and rate is served from the object (with Range).
 *
 * Bit rates are quantised to a few steps per format (stream_live_kbps), so a handful of cached
 * objects serve every client's maxBitRate. The copies together are kept within the
 * `live_cache_max` option: past it, the oldest are deleted (stream_live_trim; 0 keeps none).
 *
 * Threads: a struct stream_live belongs to one thread at a time (each read may come from a
 * different pool thread, never two at once).
 */
#ifndef TONEARM_STREAM_LIVE_H
#define TONEARM_STREAM_LIVE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

struct stream;

enum stream_live_format { STREAM_LIVE_MP3 = 1, STREAM_LIVE_OPUS = 2, STREAM_LIVE_AAC = 3 };

/* "mp3", "opus" or "aac" (ASCII case-insensitive) into *out: 0, or -1 with ERR_INVALID. */
int stream_live_format_parse(const char *name, enum stream_live_format *out, struct err *e);

/* The bit rate to encode at, in kb/s: the largest of the format's steps that is at most
 * `max_kbps` (0: no client limit, i.e. the format's default) and at most `cap_kbps` (the
 * account's limit; 0: none). When even the smallest step is above the limits, the smallest
 * step. Steps: MP3 64–320, Opus 32–256, AAC 64–256. */
int stream_live_kbps(enum stream_live_format f, int max_kbps, int cap_kbps);

/* The smallest step of the format (what stream_live_kbps falls back to). */
int stream_live_kbps_min(enum stream_live_format f);

/* "audio/mpeg", "audio/ogg", "audio/aac". */
const char *stream_live_content_type(enum stream_live_format f);

/* The cache object's key, "live/<track-id>/<format>_<kbps>.<ext>", into out[cap]. -1 with
 * ERR_INVALID when it does not fit or the id is not a valid key segment. */
int stream_live_key(const char *track_id, enum stream_live_format f, int kbps, char *out, size_t cap,
		    struct err *e);

struct stream_live;

/* Start transcoding `track_id` (from the catalogue the stream service was made with) to `f`
 * at `kbps` (one of the steps). The source is read where it lives: an in-place file by its
 * path, a local store's object through its descriptor, an S3 object through ranged reads.
 * The cache writer is begun here too (a failure to begin it only means no caching).
 * *out is freed by stream_live_free. -1 with *e: ERR_NOT_FOUND (no such track, or its file
 * is gone), ERR_INVALID (not decodable), ERR_UNSUPPORTED (no such encoder), ERR_NOMEM. */
int stream_live_open(struct stream *s, const char *track_id, enum stream_live_format f, int kbps,
		     struct stream_live **out, struct err *e);

/* The next bytes: at most `cap` (> 0) into buf. Returns the count (> 0), 0 at the end, or -1
 * with *e (ERR_INVALID "truncated or corrupt at 12.345 s: …" when the source stops decoding;
 * the cache object is then dropped). Blocks for as long as encoding takes. */
ssize_t stream_live_read(struct stream_live *l, void *buf, size_t cap, struct err *e);

/* Stop and free. The cache object is committed when the stream was read to its end, else
 * aborted. NULL is allowed. */
void stream_live_free(struct stream_live *l);

/* What stream_live_trim found and did. */
struct stream_live_trimmed {
	size_t copies;          /* cached copies found */
	uint64_t bytes;         /* their total size */
	size_t deleted;         /* the oldest of them deleted */
	uint64_t deleted_bytes;
};

/* When the copies under live/ take more than `max_bytes`, delete the oldest (modification
 * time, then key) until they take at most nine tenths of it. Lists the whole prefix: on S3,
 * one request per 1,000 copies. 0, or -1 with *e (the store's error; copies deleted before it
 * stay deleted). */
int stream_live_trim(struct stream *s, uint64_t max_bytes, struct stream_live_trimmed *out, struct err *e);

/* A copy of `size` bytes was committed: run stream_live_trim with the service's limit, in the
 * calling thread, when the copies may now take more than it (the last listing's total plus
 * what this process added since), on the first call, or when the last listing is ten minutes
 * old (other servers add copies too). One thread at a time; failures are logged. */
void stream_live_added(struct stream *s, uint64_t size);

#endif
