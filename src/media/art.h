/* art.h — cover art in memory: recognise an image, and make a resized JPEG of it.
 *
 * Decoding, scaling and encoding are FFmpeg's (libavcodec decoders for JPEG, PNG, WebP and
 * GIF; libswscale's area-averaging scaler, which is what downscaling wants; libavcodec's
 * mjpeg encoder). Everything happens in memory and is bounded: images larger than
 * MEDIA_ART_MAX_BYTES or than MEDIA_ART_MAX_DIM pixels a side are refused before they are
 * decoded whole. Thread-safe: no shared state.
 */
#ifndef TONEARM_MEDIA_ART_H
#define TONEARM_MEDIA_ART_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

#define MEDIA_ART_MAX_BYTES ((size_t)64 << 20)
#define MEDIA_ART_MAX_DIM 16384

enum media_art_type {
	MEDIA_ART_UNKNOWN = 0,
	MEDIA_ART_JPEG,
	MEDIA_ART_PNG,
	MEDIA_ART_WEBP,
	MEDIA_ART_GIF,
};

/* What the first bytes say the image is (its magic number); MEDIA_ART_UNKNOWN otherwise. */
enum media_art_type media_art_sniff(const void *data, size_t len);

/* The media type of a kind ("image/jpeg"); "application/octet-stream" for UNKNOWN. Static. */
const char *media_art_mime(enum media_art_type t);

/* Decode the image in `data` (JPEG, PNG, WebP or the first frame of a GIF), scale it to fit
 * a `box` × `box` square keeping its aspect ratio (never enlarged: a smaller image keeps its
 * size), and append it as a baseline JPEG (quality about q:v 3) to `out`. *w and *h (may be
 * NULL) get the result's size. Transparency is dropped.
 * -1 with *e set: ERR_INVALID for bytes that are not a supported image or do not decode,
 * ERR_TOO_LARGE over the limits above, ERR_NOMEM, ERR_INTERNAL when FFmpeg lacks a codec. */
int media_art_resize(const void *data, size_t len, int box, struct buf *out, int *w, int *h,
		     struct err *e);

#endif
