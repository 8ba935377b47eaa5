/* hash.c — a file's identity (SHA-256) and its copy into the store, both streamed in fixed
 * chunks so that a file of any size costs the same memory.
 *
 * Why two passes in copy mode rather than hashing while writing: the object's key is its
 * hash (orig/<sha256>), which is known only at the end, and the store port has no rename (on
 * S3 the key is fixed when the multipart upload starts). Hashing first also lets a duplicate
 * or a refused file skip the write entirely; the copy then checks the digest of what it wrote
 * (the store's own, when its writers hash anyway: STORE_CAP_SHA256), so a file that changed in
 * between is caught instead of stored under the wrong name. The second read comes from the
 * page cache. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingest/internal.h"
#include "store/store.h"

/* Read size, and a buffer on the stack: a 256 KiB malloc per file went to mmap (above
 * glibc's threshold), and its page faults and zeroing cost more than hashing a short file. */
#define CHUNK (64 * 1024)

static void hex(const unsigned char *d, unsigned n, char out[65])
{
	static const char digits[] = "0123456789abcdef";

	for (unsigned i = 0; i < n && i < 32; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[64] = '\0';
}

void ingest_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	if (!EVP_Digest(data, len, d, &n, EVP_sha256(), NULL) || n != 32) {
		out[0] = '\0';
		return;
	}
	hex(d, n, out);
}

/* Read the whole fd from 0, feeding each chunk to the writer if `w` is set, and to the digest
 * (into out) unless `out` is NULL. */
static int stream_fd(int fd, struct store_writer *w, char out[65], uint64_t *size, struct err *e)
{
	EVP_MD_CTX *ctx = out ? EVP_MD_CTX_new() : NULL;
	unsigned char chunk[CHUNK];
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	uint64_t off = 0;
	int ret = -1;

	if (out && !ctx) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (ctx && !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		err_set(e, ERR_INTERNAL, "SHA-256 is not available");
		goto out;
	}
	for (;;) {
		ssize_t got = pread(fd, chunk, CHUNK, (off_t)off);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			err_errno(e, ERR_IO, errno, "reading the file");
			goto out;
		}
		if (got == 0)
			break;
		if (ctx && !EVP_DigestUpdate(ctx, chunk, (size_t)got)) {
			err_set(e, ERR_INTERNAL, "SHA-256 failed");
			goto out;
		}
		if (w && store_write(w, chunk, (size_t)got, e) < 0)
			goto out;
		off += (uint64_t)got;
	}
	if (ctx && (!EVP_DigestFinal_ex(ctx, d, &n) || n != 32)) {
		err_set(e, ERR_INTERNAL, "SHA-256 failed");
		goto out;
	}
	if (ctx)
		hex(d, n, out);
	*size = off;
	ret = 0;
out:
	EVP_MD_CTX_free(ctx);
	return ret;
}

int ingest_hash_fd(int fd, char out[65], uint64_t *size, struct err *e)
{
	return stream_fd(fd, NULL, out, size, e);
}

int ingest_copy_fd(struct store *st, int fd, const char *key, const char *sha256, uint64_t size,
		   bool unsynced, struct err *e)
{
	/* A store that hashes what it writes (the file store) tells the digest: the bytes are
	 * not hashed twice on their way in. */
	bool store_hashes = (store_caps(st) & STORE_CAP_SHA256) != 0;
	struct store_writer *w = store_write_begin(st, key, e);
	char again[65];
	uint64_t n = 0;

	if (!w)
		return -1;
	if (stream_fd(fd, w, store_hashes ? NULL : again, &n, e) < 0 ||
	    (store_hashes && store_write_sha256(w, again, e) < 0)) {
		store_write_abort(w);
		return -1;
	}
	if (n != size || strcmp(again, sha256) != 0) {
		store_write_abort(w);
		return err_set(e, ERR_CONFLICT, "the file changed while it was being imported");
	}
	return unsynced ? store_write_commit_unsynced(w, e) : store_write_commit(w, e);
}
