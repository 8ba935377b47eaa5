/* upload.h — resumable uploads: the state behind tus 1.0 (https://tus.io/protocols/resumable-upload)
 * at /api/v1/uploads, without any HTTP.
 *
 * An upload is a row (table `uploads`, migration 0005) and its chunks in the object store. A
 * client declares the length up front, then sends the bytes in order in one or more chunks,
 * each starting exactly at the current offset. Each chunk is stored as its own object,
 * uploads/<id>/<offset as 16 decimal digits>, committed before the row's offset moves past it,
 * so a crash at any moment leaves an offset that names bytes which exist (a chunk committed
 * but not yet recorded is simply written again by the client's retry).
 *
 * When the last byte arrives the chunks are streamed in order into one temporary object
 * (never the whole file in memory), handed to the completion function (ingest_object in
 * `tonearm serve`), and deleted; the row records the outcome: the track (new or the existing
 * one with the same bytes) or the reason it was refused.
 *
 * One request at a time writes to an upload: a chunk write or the completion holds a lease on
 * the row (lease_until); a second request meanwhile fails with ERR_CONFLICT, as does one whose
 * offset is not the current one. Leases time out, so a process killed mid-request does not
 * block the upload for ever.
 *
 * Expiry: an upload still receiving after `expiry_ms` expires: its chunks are deleted (by
 * upload_sweep, and on access) and its row is kept as a tombstone for a while (state
 * UPLOAD_EXPIRED) so that clients can be told "gone" rather than "not found".
 *
 * Ownership: every upload has an owner (a user id, "" when authentication is off); every call
 * that names an upload takes the caller's owner id, and another owner's upload is NOT_FOUND.
 *
 * Threads: one struct uploads may be used from any number of threads at once.
 */
#ifndef TONEARM_INGEST_UPLOAD_H
#define TONEARM_INGEST_UPLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/id.h"
#include "ingest/ingest.h"

struct db;
struct store;
struct uploads;

#define UPLOAD_FILENAME_MAX 255 /* bytes of a decoded file name */
#define UPLOAD_FILETYPE_MAX 255 /* bytes of a decoded media type */

/* Take the assembled bytes at `tmp_key` (and delete that object), as ingest_object does:
 * 0 with *res filled for every outcome, -1 with *e set when the service failed (then the
 * upload stays complete-but-unprocessed and completion is tried again on the next request). */
typedef int (*upload_complete_fn)(void *ctx, const char *tmp_key, const char *filename,
				  struct ingest_result *res, struct err *e);

struct upload_options {
	uint64_t max_size;           /* largest Upload-Length accepted; 0: 2 GiB */
	int64_t expiry_ms;           /* an upload still receiving expires this long after it was
				      * created; 0: 24 hours */
	int64_t lease_ms;            /* how long one request may hold an upload; 0: 10 minutes */
	upload_complete_fn complete; /* required */
	void *complete_ctx;
};

enum upload_state {
	UPLOAD_RECEIVING = 0, /* bytes still expected (or the last completion failed: retried) */
	UPLOAD_COMPLETE,      /* every byte arrived and the track exists: track_id */
	UPLOAD_REFUSED,       /* every byte arrived and ingest refused it: reason */
	UPLOAD_EXPIRED,       /* not finished in time; its bytes are gone */
};

struct upload_info {
	char id[ID_LEN + 1];
	uint64_t length;
	uint64_t offset;
	enum upload_state state;
	char filename[UPLOAD_FILENAME_MAX + 1];
	char filetype[UPLOAD_FILETYPE_MAX + 1];
	char track_id[ID_LEN + 1]; /* COMPLETE: "" otherwise */
	bool duplicate;            /* COMPLETE: the same bytes were already a track */
	char reason[ERR_MSG_MAX];  /* REFUSED: "" otherwise */
	int64_t expires_at;        /* ms since the epoch */
	int64_t created_at;
};

/* The database (migrated to 0005) and store must outlive it; `opt` is copied. NULL with *e
 * set (ERR_INVALID without a completion function, ERR_NOMEM). */
struct uploads *upload_new(struct db *db, struct store *store, const struct upload_options *opt,
			   struct err *e);
void upload_free(struct uploads *u);

/* The largest length upload_create accepts (the configured max_size). */
uint64_t upload_max_size(const struct uploads *u);

/* The short name of a state ("receiving", "complete", "refused", "expired"). Static. */
const char *upload_state_name(enum upload_state s);

/* Start an upload of `length` bytes owned by `owner` (NULL: ""), named `filename` (checked
 * with upload_filename_check) of type `filetype` (NULL: ""). Expired uploads are swept first.
 * An upload of 0 bytes is complete at once (and ingest refuses it as empty).
 * 0 with *out filled, or -1: ERR_TOO_LARGE over max_size, ERR_INVALID for a bad name or type,
 * or the database's and store's errors. */
int upload_create(struct uploads *u, const char *owner, uint64_t length, const char *filename,
		  const char *filetype, struct upload_info *out, struct err *e);

/* Read upload `id` of `owner` into *out. An expired upload is still found (state
 * UPLOAD_EXPIRED; its chunks are deleted if a sweep had not yet done it). A receiving upload
 * whose bytes all arrived but whose completion failed is completed now. -1 with ERR_NOT_FOUND
 * when there is no such upload of this owner (an invalid id included). */
int upload_get(struct uploads *u, const char *owner, const char *id, struct upload_info *out,
	       struct err *e);

/* Append the `len` bytes of `data` at `offset` to upload `id` of `owner`; on the last byte,
 * complete the upload (assemble, call the completion function, record the outcome). *out
 * gets the upload after the call (also on most failures, for the caller's headers).
 * -1 with: ERR_NOT_FOUND (no such upload; or state UPLOAD_EXPIRED in *out: it expired),
 * ERR_CONFLICT (`offset` is not the current offset, the upload is no longer receiving, or
 * another request is writing to it), ERR_TOO_LARGE (the chunk would go past the length),
 * or the store's and database's errors (the chunk is then not recorded: send it again). */
int upload_append(struct uploads *u, const char *owner, const char *id, uint64_t offset,
		  const void *data, size_t len, struct upload_info *out, struct err *e);

/* Remove upload `id` of `owner`: its chunks and its row. -1 with ERR_NOT_FOUND when there is
 * no such upload, ERR_CONFLICT while another request is writing to it. */
int upload_delete(struct uploads *u, const char *owner, const char *id, struct err *e);

/* Expire every upload past its expiry at `now_ms` (delete its chunks, keep a tombstone) and
 * drop tombstones and finished rows older than a week. Returns the number of uploads expired,
 * or -1 with *e set. */
int upload_sweep(struct uploads *u, int64_t now_ms, struct err *e);

/* ---- the tus header formats (pure functions; fuzzed in tests/fuzz/tus_fuzz.c) ---- */

/* Check a client's file name: 1–255 bytes of valid UTF-8, no '/', '\\', NUL or control
 * character, not "." and no "..". 0, or -1 with ERR_INVALID saying what is wrong. */
int upload_filename_check(const char *name, size_t len, struct err *e);

/* The decoded values of an Upload-Metadata header ("key base64,key2 base64,flag"). */
struct upload_metadata {
	char filename[UPLOAD_FILENAME_MAX + 1]; /* "" when absent */
	char filetype[UPLOAD_FILETYPE_MAX + 1]; /* "" when absent */
	bool has_filename;
};

/* Parse an Upload-Metadata header of `len` bytes: comma-separated pairs of a key (printable
 * ASCII without spaces or commas, unique) and an optional standard-base64 value. `filename`
 * is checked with upload_filename_check; `filetype` must be printable ASCII; other keys are
 * allowed and ignored. 0 with *out filled, or -1 with ERR_INVALID. */
int upload_metadata_parse(const char *hdr, size_t len, struct upload_metadata *out, struct err *e);

/* Parse an Upload-Checksum header of `len` bytes: "sha256 <base64 of 32 bytes>". 0 with the
 * digest in `sha256`; -1 with ERR_UNSUPPORTED for another algorithm (tus: 400), ERR_INVALID
 * for a malformed value. */
int upload_checksum_parse(const char *hdr, size_t len, unsigned char sha256[32], struct err *e);

#endif
