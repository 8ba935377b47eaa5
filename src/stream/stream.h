/* stream.h — the transcoding ladder: one decode, every rendition, CMAF fMP4, AES-128, stored.
 *
 * DESIGN.md "What happens to a song" steps 4–5. A track's source is decoded ONCE; the PCM
 * feeds one encoder thread per rendition (AAC-LC rungs, plus FLAC when the source is lossless)
 * through bounded queues, so memory stays flat whatever the length. Each rendition becomes
 * ONE object `hls/<track-id>/<name>.mp4`:
 *
 *     [init section: ftyp+moov, clear] [segment 0: moof+mdat, encrypted] [segment 1] …
 *
 * Segments are cut at the same source-sample positions in every rendition (boundaries are
 * chosen on the AAC frame grid, 1024 samples, and FLAC's block size divides them), so a
 * player can switch rendition at any segment. Each segment is encrypted on its own with HLS
 * AES-128 (CBC, PKCS#7) under the track's key, IV = the segment's media sequence number as a
 * 128-bit big-endian integer; the media sequence starts at STREAM_MEDIA_SEQUENCE_FIRST (0).
 * The index gives, per segment, the CIPHERTEXT's offset and size inside the object and its
 * duration in samples of the rendition's timescale (its sample rate).
 *
 * Keys: one random 16-byte key per track, stored wrapped by the server's 32-byte master key
 * with AES-256 key wrap (RFC 3394, 24 bytes). A re-run of the ladder reuses the track's key,
 * so objects and rows never disagree about it.
 *
 * Crash safety: each object is written through a store writer (invisible until committed);
 * only after every object is committed are the rows replaced, in one transaction, and the
 * track marked ready. Re-running after a crash overwrites the same keys and rows.
 *
 * Threads: a struct stream may be used by several threads at once (each run has its own
 * state); it does not own the db, store or catalogue it is given.
 */
#ifndef TONEARM_STREAM_STREAM_H
#define TONEARM_STREAM_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "media/analyse.h"

struct db;
struct store;
struct catalog;
struct job;

#define STREAM_MEDIA_SEQUENCE_FIRST 0
#define STREAM_KEY_LEN 16
#define STREAM_MASTER_KEY_LEN 32
#define STREAM_WRAPPED_KEY_LEN 24
#define STREAM_RUNGS_MAX 8
#define STREAM_LADDER_DEFAULT "aac:64,aac:128,aac:256,flac"
#define STREAM_SEGMENT_SECONDS_DEFAULT 6

enum stream_codec { STREAM_AAC = 1, STREAM_FLAC = 2 };

/* One rung of the configured ladder. */
struct stream_rung {
	enum stream_codec codec;
	int kbps; /* AAC: target bit rate in kb/s; FLAC: 0 */
};

/* Settings, parsed at the edge (config keys `ladder`, `segment_seconds`, `master_key`). */
struct stream_options {
	struct stream_rung rungs[STREAM_RUNGS_MAX];
	size_t nrungs;
	int segment_seconds;                              /* 1–30 */
	uint64_t live_cache_max;                          /* bytes the live/ copies may take; 0: none */
	unsigned char master_key[STREAM_MASTER_KEY_LEN]; /* SECRET: never log */
};

/* One segment of a rendition's object (ciphertext). */
struct stream_segment {
	uint64_t offset;   /* from the start of the object */
	uint32_t size;     /* bytes, a multiple of 16 */
	uint32_t duration; /* samples at the rendition's timescale */
};

/* A stored rendition and its segment index. */
struct stream_rendition {
	char name[24];        /* "aac_128", "flac" */
	char codec[16];       /* for CODECS=: "mp4a.40.2", "fLaC" */
	int bitrate;          /* nominal, bits/s (FLAC: average) */
	int peak_bandwidth;   /* bits/s, the largest segment's size over its duration */
	int avg_bandwidth;    /* bits/s, the whole object over the whole duration */
	int sample_rate;      /* also the timescale of segment durations */
	int channels;
	int bits;             /* FLAC: bits per sample; AAC: 0 */
	int target_duration;  /* seconds: the longest segment rounded up (EXT-X-TARGETDURATION) */
	int media_sequence;   /* the first segment's number (and IV) */
	char object_key[96];  /* hls/<track-id>/<name>.mp4 */
	uint64_t init_size;   /* the init section is bytes [0, init_size) of the object, clear */
	struct stream_segment *segments;
	size_t nsegments;
};

/* A track's renditions, best AAC last then FLAC (the ladder's order). */
struct stream_rendition_list {
	struct stream_rendition *items;
	size_t n;
};

struct stream;

/* Parse a ladder like "aac:64,aac:128,aac:256,flac" into opt->rungs (replacing them). AAC
 * rates 16–320 kb/s; at most one flac; at most STREAM_RUNGS_MAX rungs; at least one AAC rung.
 * 0, or -1 with *e ERR_INVALID naming the bad part. */
int stream_ladder_parse(const char *text, struct stream_options *opt, struct err *e);

/* Fill *opt with the defaults (the default ladder, 6 s) and a zero master key (set it). */
void stream_options_default(struct stream_options *opt);

/* Read the 32-byte master key from `path` (64 hex characters, or 32 raw bytes); when the
 * file does not exist, generate 32 random bytes and create it (mode 0600, hex). Used when
 * the `master_key` config key is unset, with <data>/master.key: deployments with S3 or
 * PostgreSQL (several servers) must set `master_key` instead, or each server would make its
 * own. -1 with *e: ERR_IO, ERR_INVALID for a malformed file. */
int stream_master_key_load(const char *path, unsigned char key[STREAM_MASTER_KEY_LEN], struct err *e);

/* Parse 64 hex characters into a master key. -1 with ERR_INVALID. */
int stream_master_key_parse(const char *hex, unsigned char key[STREAM_MASTER_KEY_LEN], struct err *e);

/* A ladder service on the given db, store and catalogue (borrowed; they outlive it). `opt`
 * is copied. NULL with *e (ERR_NOMEM, ERR_INVALID for an empty ladder). Free: stream_free. */
struct stream *stream_new(struct db *db, struct store *store, struct catalog *cat,
			  const struct stream_options *opt, struct err *e);
void stream_free(struct stream *s);

/* Progress of a run: fraction 0..1 and a step name ("encoding", "storing"). Return -1 to
 * stop the run (it then fails with ERR_CONFLICT "stopped"), 0 to go on. */
typedef int (*stream_progress_fn)(void *ud, double fraction, const char *step);

/* The analysis a ladder run can make of the PCM it decodes anyway (media/analyse.h: loudness,
 * true peak, fingerprint, peaks), so a track is decoded once for both. `duration_ms` is the
 * catalogue's length of the track (0: the header's), against which audio that stops early is
 * refused as truncated. After a run that stored the ladder, `err.code` is ERR_NONE and `an`
 * holds the analysis (the caller's: media_analysis_release), or `err` says why there is none;
 * a failed analysis does not fail the ladder. */
struct stream_analysis {
	int64_t duration_ms;
	struct media_analysis an;
	struct err err;
};

/* Run the ladder for `track_id` on the audio file at `path` (a FLAC rung only when the
 * decoder says the source is lossless, at most 24 bits: never from a lossy source), store the
 * objects, replace the rows and mark the track ready; when `analysis` is not NULL, also analyse the same decode
 * into it (see above). `progress` may be NULL. On failure nothing new is visible
 * in the db (objects of a failed run may have been overwritten: the previous rows then
 * still describe the previous key, which is reused, but sizes may not match — the track
 * is marked not ready until a run succeeds). A source that stops decoding fails with the
 * decoder's ERR_INVALID "truncated or corrupt at 4.900 s: …". */
int stream_transcode_path(struct stream *s, const char *track_id, const char *path,
			  struct stream_analysis *analysis, stream_progress_fn progress, void *ud, struct err *e);

/* Where the `transcode` job hands the analysis of a track that had none (catalog_track_analysed)
 * made in the ladder's decode: ingest_record_analysis. Without a sink (the default) the job
 * analyses nothing. Set before the workers start. */
typedef int (*stream_analysis_sink_fn)(struct catalog *cat, const char *track_id, const struct media_analysis *an,
				       struct err *e);
void stream_set_analysis_sink(struct stream *s, stream_analysis_sink_fn sink);

/* The `transcode` job handler (jobs.h's jobs_handler_fn): subject = track id, ud = the
 * struct stream. Loads the track from the catalogue, reads its source (the in-place path;
 * a file-store object through /proc/self/fd; an S3 object downloaded to a temporary file),
 * runs the ladder reporting through job_progress (stopping when the lease is lost), and
 * records the track's analysis through the sink when it had none. An analysis that fails (a
 * lossy file cut short, which a deferred import does not catch) is logged and the track stays
 * unanalysed; the ladder stands. */
int stream_transcode_job(struct job *job, void *ud, struct err *e);

/* The renditions of a ready track with their indexes into *out (the caller's:
 * stream_rendition_list_release). ERR_NOT_FOUND when the track has no ready ladder. */
int stream_renditions(struct stream *s, const char *track_id, struct stream_rendition_list *out,
		      struct err *e);
void stream_rendition_list_release(struct stream_rendition_list *l);

/* The track's AES-128 key, unwrapped, into key. ERR_NOT_FOUND when it has none;
 * ERR_INTERNAL "key unwrap failed" when the master key is not the one it was wrapped with. */
int stream_key(struct stream *s, const char *track_id, unsigned char key[STREAM_KEY_LEN], struct err *e);

/* Where segment n (counted from 0, i.e. media sequence n - media_sequence) is in the
 * rendition's object: *off and *len of its ciphertext. ERR_NOT_FOUND past the end. */
int stream_segment_range(const struct stream_rendition *r, size_t n, uint64_t *off, uint64_t *len,
			 struct err *e);

/* ---- crypto pieces, public for tests and the serving step ---- */

/* Wrap a 16-byte track key with the 32-byte master key (RFC 3394 AES-256 key wrap) into
 * out[24]. -1 with ERR_INTERNAL. */
int stream_key_wrap(const unsigned char master[STREAM_MASTER_KEY_LEN], const unsigned char key[STREAM_KEY_LEN],
		    unsigned char out[STREAM_WRAPPED_KEY_LEN], struct err *e);
/* Unwrap; ERR_INTERNAL "key unwrap failed" on an integrity failure (wrong master key). */
int stream_key_unwrap(const unsigned char master[STREAM_MASTER_KEY_LEN],
		      const unsigned char wrapped[STREAM_WRAPPED_KEY_LEN], unsigned char key[STREAM_KEY_LEN],
		      struct err *e);

/* Encrypt `len` bytes with AES-128-CBC, PKCS#7 padding, IV = `seq` big-endian, into *out
 * (malloc'd, the caller frees), *out_len = (len / 16 + 1) * 16. -1 with ERR_NOMEM/INTERNAL. */
int stream_segment_encrypt(const unsigned char key[STREAM_KEY_LEN], uint64_t seq, const void *in, size_t len,
			   unsigned char **out, size_t *out_len, struct err *e);
/* The inverse; ERR_INVALID when the padding is wrong (a wrong key, usually). */
int stream_segment_decrypt(const unsigned char key[STREAM_KEY_LEN], uint64_t seq, const void *in, size_t len,
			   unsigned char **out, size_t *out_len, struct err *e);

#endif
