/* store.h — the object-store port: named immutable-ish blobs under string keys.
 *
 * One interface, two backends chosen once from a URL (DESIGN.md, "Two ways to run"):
 *   file:///abs/path     a local directory (created if missing); atomic by rename(2)
 *   s3://bucket?…        any S3-compatible service, through libcurl's AWS SigV4 signing
 *                        (see store_open for the query parameters)
 * Nothing above this header knows which one it talks to; STORE_CAP_* bits say what an
 * optional operation can do, and an operation a backend lacks fails with ERR_UNSUPPORTED.
 *
 * Keys: 1–1024 bytes of [A-Za-z0-9._-/]; no leading '/', and no empty, "." or ".." segment
 * ("a//b", "a/./b", "../x" are refused); a segment (between '/') is at most 255 bytes, so
 * that every key is also a valid relative path. Every call checks its key before any backend sees
 * it and fails with ERR_INVALID. Keys sort as bytes (store_list order).
 *
 * Writes are all-or-nothing: a writer's bytes are invisible under its key until
 * store_write_commit returns 0, and an overwrite replaces the whole object at once — a
 * reader sees the old object or the new one, never a mix. An aborted or failed writer leaves
 * nothing behind (on S3, its multipart upload is aborted).
 *
 * Errors (struct err codes): ERR_INVALID (bad key, URL or argument), ERR_NOT_FOUND (no such
 * key; on S3 also no such bucket), ERR_RANGE (a read starting past the end), ERR_FORBIDDEN
 * (S3 refused the signature or credentials), ERR_UNAVAILABLE (endpoint unreachable, or 5xx
 * after retries), ERR_TIMEOUT, ERR_CONFLICT (file backend: a key and a "directory" of keys
 * collide, e.g. "a" and "a/b"; or an object changed while it was being read), ERR_TOO_LARGE,
 * ERR_IO, ERR_NOMEM, ERR_UNSUPPORTED.
 *
 * Threads: a struct store may be used from any number of threads at once. A struct
 * store_writer belongs to one thread at a time.
 */
#ifndef TONEARM_STORE_STORE_H
#define TONEARM_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

#define STORE_KEY_MAX 1024
#define STORE_SEGMENT_MAX 255

/* Capability bits (store_caps). */
enum store_cap {
	STORE_CAP_FD = 1u << 0, /* store_open_fd gives a readable file descriptor (sendfile, pread) */
	STORE_CAP_SHA256 = 1u << 1, /* writers hash what they are given: store_write_sha256 answers */
};

struct store;
struct store_writer;

/* Settings that do not belong in a URL (secrets). Any field may be NULL; the struct may grow,
 * so zero-initialise it. */
struct store_options {
	const char *s3_access_key;    /* else $AWS_ACCESS_KEY_ID */
	const char *s3_secret_key;    /* else $AWS_SECRET_ACCESS_KEY */
	const char *s3_region;        /* overrides the URL's region=; else $AWS_REGION, us-east-1 */
	const char *s3_session_token; /* else $AWS_SESSION_TOKEN; NULL/empty: none */
};

struct store_stat {
	uint64_t size;
	int64_t mtime;  /* seconds since the epoch, UTC */
	char etag[72];  /* a strong ETag with its quotes, e.g. "\"9f86d0…\"": changes when the bytes do */
};

/* Open the store named by `url` (copied; the caller keeps it). `opt` may be NULL.
 *
 * file:///abs/path — the root directory, created (with parents, mode 0755) if missing.
 *   Stale temporaries (older than an hour) left in <root>/.tmp by a crash are removed.
 * s3://bucket[?param=value&…] — parameters (percent-encoded values):
 *   endpoint=http(s)://host[:port]  a non-AWS service; default https://s3.<region>.amazonaws.com
 *   region=us-east-1                the SigV4 signing region (default $AWS_REGION or us-east-1)
 *   path_style=true|false           http://host/bucket/key rather than http://bucket.host/key;
 *                                   default true with an endpoint, false on AWS
 *   part_size=BYTES                 multipart part size for streamed writes, >= 5 MiB (8 MiB)
 *   connect_timeout_ms=MS           per attempt (default 5000)
 *   Credentials come from `opt`, else the AWS_* environment variables; none is ERR_INVALID.
 *   Opening does not contact the service: call store_ping to check it.
 *
 * Returns a store to free with store_close, or NULL with *e set: ERR_INVALID for a malformed
 * or unknown URL, ERR_IO when the file root cannot be created, ERR_NOMEM. */
struct store *store_open(const char *url, const struct store_options *opt, struct err *e);

/* Release the store. Writers still open must have been committed or aborted. NULL is a no-op. */
void store_close(struct store *s);

/* "file" or "s3": a static string. */
const char *store_backend_name(const struct store *s);

/* The STORE_CAP_* bits of this store's backend. */
unsigned store_caps(const struct store *s);

/* Check that the store can serve (for /readyz): the file root is a writable directory; the S3
 * bucket answers a HEAD. 0 when ready, else -1 with *e set (ERR_UNAVAILABLE, ERR_FORBIDDEN,
 * ERR_NOT_FOUND for a missing bucket, ERR_IO …). */
int store_ping(struct store *s, struct err *e);

/* Start writing the object `key`. Nothing is visible under `key` until store_write_commit
 * succeeds. Returns a writer owned by the caller, who must end it with exactly one of
 * store_write_commit or store_write_abort; NULL with *e set on failure (ERR_INVALID key …). */
struct store_writer *store_write_begin(struct store *s, const char *key, struct err *e);

/* Append `len` bytes to the object. After a failure the writer is spoiled: later writes fail
 * with the same error and commit only cleans up. 0 or -1 with *e set. */
int store_write(struct store_writer *w, const void *data, size_t len, struct err *e);

/* Make the written bytes the object `key`, atomically replacing any previous object, and free
 * `w` (also on failure, after cleaning up: nothing is left behind). 0 or -1 with *e set. */
int store_write_commit(struct store_writer *w, struct err *e);

/* store_write_commit without waiting for the object to reach stable storage: it is visible
 * at once, and durable once a later store_sync() on the same store has returned 0. For many
 * objects written together (a folder import): one store_sync before the rows that name them
 * are committed costs one flush instead of one per object. Until that store_sync a crash may
 * lose the object or leave it cut short under its key, so nothing may refer to it before.
 * Backends whose commit is durable anyway (S3) simply commit. Same returns. */
int store_write_commit_unsynced(struct store_writer *w, struct err *e);

/* Make every object committed with store_write_commit_unsynced so far durable (the file
 * backend: syncfs(2) of its filesystem). 0, or -1 with *e set (ERR_IO): then none of them
 * may be relied on. A no-op for backends without unsynced commits. */
int store_sync(struct store *s, struct err *e);

/* The SHA-256 (64 lower-case hex digits) of what `w` was given so far, for a backend that
 * hashes it anyway (STORE_CAP_SHA256: the file store, for its ETags), so that a caller
 * checking the bytes it wrote need not hash them a second time. The writer stays usable.
 * 0; -1 with *e set: ERR_UNSUPPORTED for a backend without the capability (S3: hash them
 * yourself), the writer's error when it is spoiled. */
int store_write_sha256(struct store_writer *w, char out[65], struct err *e);

/* Throw the written bytes away and free `w`. NULL is a no-op. */
void store_write_abort(struct store_writer *w);

/* Write the whole object in one call (store_write_begin + store_write + commit). */
int store_put(struct store *s, const char *key, const void *data, size_t len, struct err *e);

/* A read's consumer: gets the bytes in order, in chunks of any size; returns 0 to go on, or
 * non-zero to stop the read (store_read then fails with ERR_IO "stopped by the sink"). */
typedef int (*store_sink_fn)(void *ud, const void *data, size_t n);

/* Read the bytes [off, off + len) of `key` into `sink`, chunk by chunk (never the whole object
 * in memory). `len` UINT64_MAX (or any length past the end) reads to the end. A read at
 * offset 0 of an empty object succeeds with no bytes. Fails with ERR_NOT_FOUND (no such key),
 * ERR_RANGE (off > 0 and off >= size), or the backend's errors; on S3 a failed transfer is
 * resumed where it stopped (up to 3 attempts), refusing with ERR_CONFLICT if the object was
 * replaced meanwhile. After a failure the sink may have had part of the range. */
int store_read(struct store *s, const char *key, uint64_t off, uint64_t len, store_sink_fn sink,
	       void *ud, struct err *e);

/* store_read into `out`, appending to what is there (within out's cap: ERR_TOO_LARGE beyond;
 * out is then left as it was). */
int store_read_buf(struct store *s, const char *key, uint64_t off, uint64_t len, struct buf *out,
		   struct err *e);

/* Size, modification time and strong ETag of `key` into *st. ERR_NOT_FOUND when absent. */
int store_stat(struct store *s, const char *key, struct store_stat *st, struct err *e);

/* Remove `key`. Removing an absent key succeeds. 0 or -1 with *e set. */
int store_delete(struct store *s, const char *key, struct err *e);

/* Called for each key in order; `key` and `st` are valid during the call only. Return 0 to go
 * on; any other value stops the listing and becomes store_list's return value. */
typedef int (*store_list_fn)(void *ud, const char *key, const struct store_stat *st);

/* Call `cb` for every key starting with `prefix` ("" or NULL: all keys), in ascending byte
 * order. The prefix is any beginning of a valid key ("hls/12", "hls/12/"): its complete
 * segments must be valid (ERR_INVALID otherwise). Keys written by other tools that are not
 * valid tonearm keys are skipped. Returns 0 when every key was listed, cb's non-zero value
 * when cb stopped it, or -1 with *e set. A listing is not a snapshot: keys written or
 * deleted meanwhile may or may not appear. */
int store_list(struct store *s, const char *prefix, store_list_fn cb, void *ud, struct err *e);

/* Open `key` for reading as a file descriptor (O_RDONLY|O_CLOEXEC), for sendfile(2) or pread.
 * The caller owns *fd and closes it; it keeps reading the object it opened even if the key
 * is overwritten or deleted meanwhile. `st` (may be NULL) gets the object's stat. Only
 * backends with STORE_CAP_FD: others fail with ERR_UNSUPPORTED. ERR_NOT_FOUND when absent. */
int store_open_fd(struct store *s, const char *key, int *fd, struct store_stat *st, struct err *e);

/* Check a key against the rules above: 0, or -1 with *e set to ERR_INVALID and a message
 * saying what is wrong (without echoing the key: it may be hostile). */
int store_key_check(const char *key, struct err *e);

/* Check a list prefix: like store_key_check, but "" is fine and the last segment may be
 * partial ("a/." or "a/" are fine; "a/./" is not). */
int store_prefix_check(const char *prefix, struct err *e);

#endif
