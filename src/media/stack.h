/* stack.h — where the media stack comes from: loaded on first use, or linked in.
 *
 * The media stack is the code that calls FFmpeg, TagLib, Chromaprint or libebur128: src/media/
 * (all but art_type.c, analyse_compare.c and the two files below) and the encoding half of src/stream/ (enc.c,
 * rendition.c, live.c, transcode.c). Those libraries pull in some 150 more (gnutls, glib,
 * x265, ICU, libstdc++ …): most of an idle server's memory, spent before the first upload.
 * So the `tonearm` binary does not link them. It loads the stack from MEDIA_STACK_MODULE,
 * in the binary's own folder, on the first call that needs it (lazy.c); the module takes
 * base/, store/, catalog/ … from the binary, so there is one copy of their state. Tests,
 * fuzzers and benches link the stack in (linked.c).
 *
 * The rest of tonearm calls into the stack through these functions only; each has a
 * trampoline in lazy.c (a new entry point needs one there too):
 *
 *   media/probe.h     media_probe, media_probe_known
 *   media/tags.h      media_tags_read, media_tags_read_audio, media_tags_release
 *   media/analyse.h   media_analyse, media_analysis_release, media_fingerprint_decode
 *   media/art.h       media_art_resize
 *   stream/stream.h   stream_transcode_path
 *   stream/live.h     stream_live_open, stream_live_read, stream_live_free
 *
 * When the module cannot be loaded (missing, unreadable, from another build, a library it
 * needs is missing), the first call logs why, naming the path, and every call fails with
 * ERR_INTERNAL; the release and free functions do nothing (there is nothing of the stack's
 * to free). The module is deployed next to the binary, always with it.
 */
#ifndef TONEARM_MEDIA_STACK_H
#define TONEARM_MEDIA_STACK_H

#include "base/err.h"

#define MEDIA_STACK_MODULE "tonearm-media.so"

/* Whether the media stack will be there when needed, without loading it: the module file is
 * next to the binary and readable (linked in: always). For `serve` and `worker` at start-up,
 * so that a broken install fails then rather than at the first upload. 0, or -1 with *e
 * (ERR_UNAVAILABLE naming the path). */
int media_stack_check(struct err *e);

/* Start loading the media stack now, on a thread of its own, so that its ≈ 25 ms of dynamic
 * linking overlap whatever the caller does next (a folder import walks its folder and opens
 * the database meanwhile) instead of stalling the first file. Fire and forget: the first real
 * call waits for the load to finish (or fails as it would have), so nothing changes when the
 * thread cannot start. Linked in: a no-op. */
void media_stack_preload(void);

/* The module's side (stack.c): called once by the loader, before any entry point. Does the
 * process-wide set-up of the libraries (FFmpeg's log and allocation cap; TagLib's hooks are
 * set on the first read) and returns the build the module is from ("0.1.0 1a2b3c4d5e6f"),
 * which the loader compares with its own. */
const char *media_stack_init(void);

/* The build identity both sides compare. */
#define MEDIA_STACK_BUILD TONEARM_VERSION " " TONEARM_COMMIT

#endif
