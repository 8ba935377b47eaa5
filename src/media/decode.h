/* decode.h — one audio file as a stream of interleaved float PCM at its own sample rate.
 *
 * The single decoder of tonearm: analysis (loudness, fingerprint, peaks) and transcoding
 * (every rendition's encoder) pull blocks from it, so a song is decoded once. Samples are
 * float, interleaved (L R L R …), nominally in [-1, 1] (lossy codecs may overshoot), at the
 * source's sample rate and channel count (media_decoder_info()): no resampling, no down-mix;
 * a consumer that needs another rate or layout converts what it pulls.
 *
 *     struct media_decoder *d;
 *     float pcm[4096 * 8];
 *     long n;
 *     if (media_decoder_open(path, &d, &e) < 0) …
 *     const struct media_info *info = media_decoder_info(d);   // assume channels <= 8 here
 *     while ((n = media_decoder_read(d, pcm, 4096, &e)) > 0) … consume n frames …
 *     media_decoder_free(d);   // n < 0: *e names the failure and its position
 *
 * A decoder is used by one thread at a time; different decoders are independent.
 */
#ifndef TONEARM_MEDIA_DECODE_H
#define TONEARM_MEDIA_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "media/probe.h"

struct media_decoder;

/* Open `path` for decoding its best audio stream. *out is the new decoder, freed by
 * media_decoder_free(). Fails like media_probe()'s opening step (ERR_INVALID "empty file",
 * "not an audio file"; ERR_NOT_FOUND; ERR_IO; ERR_UNSUPPORTED for a codec without decoder;
 * ERR_NOMEM). It does not validate the whole file: media_probe() does that at ingest. */
int media_decoder_open(const char *path, struct media_decoder **out, struct err *e);

/* The same for a media_source (probe.h); read errors of the source are ERR_IO. */
int media_decoder_open_source(const struct media_source *src, struct media_decoder **out, struct err *e);

/* The source as described by its headers: rate, channels, layout, codec, lossless flag and
 * bit depth, duration (-1 when the header lacks it, duration_estimated when FFmpeg guessed
 * it from the bit rate; duration_counted is never set). The sample rate is final once the
 * first block has been read (an HE-AAC header may announce half the decoded rate). Owned by
 * the decoder, valid until media_decoder_free(). */
const struct media_info *media_decoder_info(const struct media_decoder *d);

/* Decode up to `max_frames` (> 0) frames into `dst`, which holds max_frames * channels floats.
 * Returns the number of frames written — exactly max_frames unless the stream ends — 0 at
 * the end of the stream, or -1 with *e set: ERR_INVALID "truncated or corrupt at 12.345 s: …"
 * when the data stops decoding, ERR_NOMEM. After -1 the decoder may only be freed. */
long media_decoder_read(struct media_decoder *d, float *dst, size_t max_frames, struct err *e);

/* Frames returned so far by media_decoder_read(). */
int64_t media_decoder_position(const struct media_decoder *d);

/* Close the file and free everything. NULL is allowed. */
void media_decoder_free(struct media_decoder *d);

#endif
