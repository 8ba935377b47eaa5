/* internal.h — what the files of src/stream/ share; not part of the module's interface.
 * What only the encoding side shares (it uses FFmpeg) is in encode.h. */
#ifndef TONEARM_STREAM_INTERNAL_H
#define TONEARM_STREAM_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "stream/live.h"
#include "stream/stream.h"

struct db;
struct store;
struct store_writer;
struct catalog;

struct stream {
	struct db *db;
	struct store *store;
	struct catalog *cat;
	struct stream_options opt;
	stream_analysis_sink_fn analysis_sink; /* NULL: the transcode job analyses nothing */
	/* The live/ copies' total as of the last listing plus what this process added since
	 * (live_trim.c), when that listing was made (clock_mono_ns; 0: never), and whether a
	 * thread is trimming now. */
	_Atomic uint64_t live_bytes;
	_Atomic int64_t live_listed_ns;
	atomic_bool live_trimming;
};

/* A format of on-the-fly transcodes (live_format.c): FFmpeg's encoder and muxer for it, and
 * its bit-rate steps. */
#define STREAM_LIVE_STEPS_MAX 8
struct stream_live_fmt {
	const char *name, *encoder, *muxer, *content_type, *ext;
	int steps[STREAM_LIVE_STEPS_MAX]; /* ascending, 0-terminated when shorter */
	int def;                          /* kb/s when the client sets no limit */
};

/* The format's description (an out-of-range value gives AAC's). Static. */
const struct stream_live_fmt *stream_live_fmt(enum stream_live_format f);

/* Rows (repo.c). */
int stream_repo_key_get(struct stream *s, const char *track_id, unsigned char wrapped[STREAM_WRAPPED_KEY_LEN],
			bool *found, struct err *e);
int stream_repo_mark_unready(struct stream *s, const char *track_id, struct err *e);
int stream_repo_replace(struct stream *s, const char *track_id, const unsigned char wrapped[STREAM_WRAPPED_KEY_LEN],
			const struct stream_rendition *r, size_t n, struct err *e);

#endif
