/* internal.h — what the ingest files share and nothing else sees: the handle, the source being
 * ingested, and the steps each file implements (hash.c, art.c, record.c, quarantine.c,
 * map.c, pipeline.c). */
#ifndef TONEARM_INGEST_INTERNAL_H
#define TONEARM_INGEST_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "ingest/ingest.h"

struct media_tags;
struct media_info;
struct media_analysis;
struct catalog_track_input;

struct ingest {
	struct db *db;
	struct store *store;
	struct catalog *cat;
	char tmp_dir[512]; /* where S3 objects are downloaded for the media libraries */
	bool skip_analysis;   /* no inline analysis (the probe may then come from TagLib; the
			       * transcode job analyses the track in its decode) */
	struct jobs *jobs; /* where added tracks' transcode jobs go; NULL: none (ingest_set_jobs) */
	pthread_mutex_t art_lock;             /* guards art_seen, art_next */
	struct ingest_art_seen *art_seen;     /* INGEST_ART_SEEN folder images already stored */
	size_t art_next;
};

/* One file on its way in, whichever door it came by. */
struct ingest_src {
	int fd;                 /* readable from offset 0 (pread); owned by the caller */
	const char *media_path; /* the path the media libraries open (maybe /proc/self/fd/N) */
	const char *path;       /* in place: the absolute path the catalogue records; else NULL */
	const char *dir;        /* the folder to look for cover.jpg … in, or NULL */
	const char *name;       /* display name, for messages and quarantine */
	bool in_place;
	bool upload;            /* refused bytes are kept as quarantine/<sha256> */
	uint64_t size;
	char sha256[65];        /* "" until hashed */
};

/* ---- hash.c ---- */

/* SHA-256 of the fd's bytes from offset 0 to its end, streamed in fixed-size chunks (never
 * whole in memory): lower-case hex into out, the byte count into *size. -1 with ERR_IO. */
int ingest_hash_fd(int fd, char out[65], uint64_t *size, struct err *e);

/* Copy the fd's bytes from offset 0 into a new store object `key`, hashing them again on the
 * way; the object is committed only if they still hash to `sha256` (else ERR_CONFLICT: the
 * file changed while it was being ingested) and are `size` bytes long. `unsynced`: committed
 * with store_write_commit_unsynced (durable only after a store_sync). */
int ingest_copy_fd(struct store *st, int fd, const char *key, const char *sha256, uint64_t size,
		   bool unsynced, struct err *e);

/* Lower-case hex of a SHA-256 digest of `len` bytes in memory. */
void ingest_sha256_hex(const void *data, size_t len, char out[65]);

/* ---- pipeline.c ---- */

/* A readable fd on store object `key` (the store's own, or a download to an unlinked
 * temporary file for stores without descriptors) and its size; the caller closes *fd. */
int ingest_object_fd(struct ingest *ing, const char *key, int *fd, uint64_t *size, struct err *e);

/* ---- art.c ---- */

/* Store image bytes once as art/<sha256>/orig (skipped when it exists); hash into out. */
int ingest_art_store(struct ingest *ing, const void *data, size_t len, char out[65], struct err *e);

/* The folder image beside a file: the first of cover, folder, front, album (then any
 * albumart*) with a .jpg, .jpeg or .png extension, case-insensitive, in `dir`. 1 and the
 * bytes (malloc'd, *data) when found, 0 when there is none, -1 on a read error. Images over
 * INGEST_ART_MAX are ignored. */
#define INGEST_ART_MAX (16u * 1024 * 1024)
int ingest_art_folder(const char *dir, unsigned char **data, size_t *len, struct err *e);

/* The folder image beside a file, stored (ingest_art_store), its hash into out: 1, 0 when the
 * folder has none, -1 with *e set. The last INGEST_ART_SEEN folders are remembered (inode and
 * mtime of the folder; path, inode, size and mtime of its image), so an album's tracks list
 * the folder and read and hash its cover once, not once each. */
#define INGEST_ART_SEEN 16
struct ingest_art_seen;
int ingest_art_folder_store(struct ingest *ing, const char *dir, char out[65], struct err *e);
/* Set up and free what ingest_art_folder_store remembers (ingest_new, ingest_free). */
int ingest_art_seen_init(struct ingest *ing);
void ingest_art_seen_release(struct ingest *ing);

/* ---- record.c: what was imported from where, and duplicates ---- */

/* The id of the track with these bytes, if any: 1 (id filled), 0, or -1. */
int ingest_find_sha(struct ingest *ing, const char *sha256, char id[ID_LEN + 1], struct err *e);

struct ingest_record {
	bool found;
	int64_t size, mtime_ns;
	bool in_place;
	char outcome[16];          /* "added" | "duplicate" | "refused" */
	char sha256[65];
	char track_id[ID_LEN + 1]; /* "" for refused */
};

int ingest_record_get(struct ingest *ing, const char *path, struct ingest_record *r, struct err *e);
int ingest_record_put(struct ingest *ing, const char *path, int64_t size, int64_t mtime_ns,
		      bool in_place, const struct ingest_result *res, struct err *e);
int ingest_record_del(struct ingest *ing, const char *path, struct err *e);

/* Delete a track and then the store objects nothing references any more. */
int ingest_track_remove(struct ingest *ing, const char *track_id, struct err *e);

/* ---- quarantine.c ---- */

int ingest_quarantine_add(struct ingest *ing, const struct ingest_src *src, const char *reason,
			  struct err *e);

/* ---- map.c ---- */

/* What map_tags fills besides the input: strings it had to cut or make, freed by
 * ingest_mapped_release. */
struct ingest_mapped {
	char *title;                /* the tag's, or the file name without extension */
	char *owned[24];            /* shortened copies */
	size_t nowned;
	struct catalog_artist_input *artists;
	size_t nartists;
	const char *genres[16];
	signed char *peaks;         /* int8 min/max pairs */
	size_t peaks_len;
};

/* Fill *in from tags, probe and analysis (any of the last two may be NULL). Text is already
 * valid UTF-8 (media/tags.h); here it is fitted to the catalogue's limits: names are cut at a
 * character boundary, identifiers (ISRC, MusicBrainz ids, dates) that cannot be right are
 * dropped. -1 only when memory runs out. */
int ingest_map(const struct media_tags *t, const struct media_info *info,
	       const struct media_analysis *an, const char *display_name,
	       struct catalog_track_input *in, struct ingest_mapped *m, struct err *e);
void ingest_mapped_release(struct ingest_mapped *m);

/* An analysis's waveform as the catalogue stores it: each min and max as a signed byte
 * (-127 … 127 = full scale; out-of-range and non-finite values clamped). *out is malloc'd
 * (NULL with *len 0 when there are no peaks). -1 when out of memory. */
int ingest_peaks_quantise(const struct media_analysis *an, signed char **out, size_t *len);

#endif
