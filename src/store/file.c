/* file.c — the local-directory store backend (file:///abs/path).
 *
 * Layout: the object `a/b/c` is the file <root>/a/b/c. A writer fills a temporary file in
 * <root>/.tmp~/ — a name outside the key alphabet, so no key can reach it and listings skip
 * it — then commits by fsync, rename(2) into place (creating parent directories) and fsync of
 * the parent directory, so after a crash the key holds either the old or the new object.
 * store_delete removes directories it leaves empty; a commit racing with that removal
 * retries.
 *
 * ETags: while writing we hash the content (SHA-256) and keep it, with the size and mtime it
 * belongs to, in the xattr user.tonearm.sha256; the ETag is then "<sha256 hex>", the same on
 * every node holding the same bytes (what a CDN in front of several nodes wants). When xattrs
 * are unsupported, or the file was changed behind our back (size or mtime differ), the ETag
 * is "i<inode>-<size>-<mtime ns>" in hex: still strong, since any rewrite moves mtime.
 *
 * All paths are resolved relative to an open descriptor of the root (the *at calls); an
 * object is opened with O_NOFOLLOW (a symlink put in place of an object is not followed) and
 * must be a regular file. Listing is in file_list.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "store/file.h"

#define TMP_DIR FILE_TMP_DIR
#define TMP_PREFIX "w-"
#define TMP_STALE_SECONDS 3600
#define XATTR_SHA "user.tonearm.sha256"
#define READ_CHUNK (256 * 1024)
#define COMMIT_RETRIES 10

struct file_writer {
	struct store_writer base;
	struct file_store *fs;
	int fd;
	char tmpname[40];
	char *key;
	EVP_MD_CTX *sha;
};

static const struct store_ops file_ops;

/* ---- opening ---------------------------------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The absolute path of a file URL's rest ("/abs" or "localhost/abs"), percent-decoded, without
 * trailing slashes. Returns malloc'd text or NULL with *e set. */
static char *url_path(const char *rest, struct err *e)
{
	const char *p = rest;
	size_t n, o = 0;
	char *out;

	if (strncmp(p, "localhost/", 10) == 0)
		p += 9;
	if (p[0] != '/')
		return err_set(e, ERR_INVALID, "file store URL: want file:///absolute/path"), NULL;
	if (strpbrk(p, "?#"))
		return err_set(e, ERR_INVALID, "file store URL: no query or fragment allowed"), NULL;
	n = strlen(p);
	out = malloc(n + 1);
	if (!out)
		return err_set(e, ERR_NOMEM, "out of memory"), NULL;
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '%') {
			out[o++] = p[i];
			continue;
		}
		int hi = i + 2 < n ? hexval(p[i + 1]) : -1, lo = i + 2 < n ? hexval(p[i + 2]) : -1;
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(out);
			return err_set(e, ERR_INVALID, "file store URL: bad percent-escape"), NULL;
		}
		out[o++] = (char)(hi * 16 + lo);
		i += 2;
	}
	while (o > 1 && out[o - 1] == '/')
		o--;
	out[o] = '\0';
	return out;
}

/* mkdir -p, mode 0755. */
static int make_dirs(const char *path, struct err *e)
{
	char *p = strdup(path);
	int ret = -1;

	if (!p)
		return err_set(e, ERR_NOMEM, "out of memory");
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			err_errno(e, ERR_IO, errno, "creating the store root");
			goto out;
		}
		*s = c;
		if (!c)
			break;
	}
	ret = 0;
out:
	free(p);
	return ret;
}

/* Remove temporaries a crashed writer left behind, once they are older than an hour (a live
 * writer touches its file at each write, so only long-idle ones could go). */
static void sweep_stale(struct file_store *fs)
{
	int fd = dup(fs->tmpfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	time_t limit = time(NULL) - TMP_STALE_SECONDS;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d))) {
		struct stat sb;

		if (strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) != 0)
			continue;
		if (fstatat(fs->tmpfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(sb.st_mode) && sb.st_mtime < limit)
			unlinkat(fs->tmpfd, de->d_name, 0);
	}
	closedir(d);
}

static void file_close(struct store *s)
{
	struct file_store *fs = (struct file_store *)s;

	if (fs->tmpfd >= 0)
		close(fs->tmpfd);
	if (fs->rootfd >= 0)
		close(fs->rootfd);
	free(fs->root);
	free(fs);
}

struct store *store_file_open(const char *rest, const struct store_options *opt, struct err *e)
{
	struct file_store *fs = calloc(1, sizeof(*fs));
	struct store *ret = NULL;

	(void)opt;
	if (!fs)
		return err_set(e, ERR_NOMEM, "out of memory"), NULL;
	fs->base.ops = &file_ops;
	fs->rootfd = fs->tmpfd = -1;
	fs->root = url_path(rest, e);
	if (!fs->root)
		goto out;
	if (make_dirs(fs->root, e) < 0)
		goto out;
	fs->rootfd = open(fs->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fs->rootfd < 0) {
		err_errno(e, ERR_IO, errno, "opening the store root");
		goto out;
	}
	if (mkdirat(fs->rootfd, TMP_DIR, 0700) < 0 && errno != EEXIST) {
		err_errno(e, ERR_IO, errno, "creating the store's temporary directory");
		goto out;
	}
	fs->tmpfd = openat(fs->rootfd, TMP_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fs->tmpfd < 0) {
		err_errno(e, ERR_IO, errno, "opening the store's temporary directory");
		goto out;
	}
	sweep_stale(fs);
	ret = &fs->base;
out:
	if (!ret)
		file_close(&fs->base);
	return ret;
}

static int file_ping(struct store *s, struct err *e)
{
	struct file_store *fs = (struct file_store *)s;
	struct stat sb;

	/* A root removed behind our back still answers fstat, with no links left. */
	if (fstat(fs->rootfd, &sb) < 0 || sb.st_nlink == 0)
		return err_set(e, ERR_UNAVAILABLE, "store root is gone");
	if (faccessat(fs->rootfd, TMP_DIR, W_OK | X_OK, AT_EACCESS) < 0)
		return err_errno(e, ERR_UNAVAILABLE, errno, "store root is not writable");
	return 0;
}

/* ---- stat and ETag ---------------------------------------------------------------------- */

static int64_t mtime_ns(const struct stat *sb)
{
	return (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec;
}

/* The xattr value: "<64 hex> <size> <mtime ns>", binding the hash to the file it was made for. */
static int xattr_value(char *out, size_t outsz, const char *hex, const struct stat *sb)
{
	int n = snprintf(out, outsz, "%s %" PRIu64 " %" PRId64, hex, (uint64_t)sb->st_size,
			 mtime_ns(sb));
	return n < 0 || (size_t)n >= outsz ? -1 : n;
}

static void fill_stat(int fd, const struct stat *sb, struct store_stat *st)
{
	char got[128], want[128];
	ssize_t n;

	st->size = (uint64_t)sb->st_size;
	st->mtime = sb->st_mtim.tv_sec;
	n = fgetxattr(fd, XATTR_SHA, got, sizeof(got) - 1);
	if (n > 65 && got[64] == ' ' && strspn(got, "0123456789abcdef") == 64) {
		got[n] = '\0';
		got[64] = '\0';
		if (xattr_value(want, sizeof(want), got, sb) == n &&
		    memcmp(got + 65, want + 65, (size_t)n - 65) == 0) {
			snprintf(st->etag, sizeof(st->etag), "\"%.64s\"", got);
			return;
		}
	}
	snprintf(st->etag, sizeof(st->etag), "\"i%" PRIx64 "-%" PRIx64 "-%" PRIx64 "\"",
		 (uint64_t)sb->st_ino, (uint64_t)sb->st_size, (uint64_t)mtime_ns(sb));
}

/* Open an object for reading: a regular file, not through a symlink. O_NONBLOCK so that a
 * FIFO someone put in the tree cannot hang us; it is cleared again for the caller. */
static int open_object(struct file_store *fs, const char *key, struct stat *sb, struct err *e)
{
	int fd = openat(fs->rootfd, key, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			return err_set(e, ERR_NOT_FOUND, "no such object");
		return err_errno(e, ERR_IO, errno, "opening object");
	}
	if (fstat(fd, sb) < 0) {
		err_errno(e, ERR_IO, errno, "stat of object");
		close(fd);
		return -1;
	}
	if (!S_ISREG(sb->st_mode)) {
		close(fd);
		return err_set(e, ERR_NOT_FOUND, "no such object");
	}
	if (fcntl(fd, F_SETFL, 0) < 0) {
		err_errno(e, ERR_IO, errno, "opening object");
		close(fd);
		return -1;
	}
	return fd;
}

int file_stat(struct store *s, const char *key, struct store_stat *st, struct err *e)
{
	struct stat sb;
	int fd = open_object((struct file_store *)s, key, &sb, e);

	if (fd < 0)
		return -1;
	fill_stat(fd, &sb, st);
	close(fd);
	return 0;
}

static int file_open_fd(struct store *s, const char *key, int *fdp, struct store_stat *st,
			struct err *e)
{
	struct stat sb;
	int fd = open_object((struct file_store *)s, key, &sb, e);

	if (fd < 0)
		return -1;
	if (st)
		fill_stat(fd, &sb, st);
	*fdp = fd;
	return 0;
}

/* ---- reading ---------------------------------------------------------------------------- */

static int file_read(struct store *s, const char *key, uint64_t off, uint64_t len,
		     store_sink_fn sink, void *ud, struct err *e)
{
	struct stat sb;
	char *chunk = NULL;
	int ret = -1, fd = open_object((struct file_store *)s, key, &sb, e);
	uint64_t size, end;
	size_t cap;

	if (fd < 0)
		return -1;
	size = (uint64_t)sb.st_size;
	if (off > 0 && off >= size) {
		err_set(e, ERR_RANGE, "range starts at %" PRIu64 ", past the end (%" PRIu64 " bytes)",
			off, size);
		goto out;
	}
	end = len > size - off ? size : off + len;
	cap = end - off < READ_CHUNK ? (size_t)(end - off) : READ_CHUNK;
	chunk = malloc(cap ? cap : 1);
	if (!chunk) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	while (off < end) {
		size_t want = end - off < cap ? (size_t)(end - off) : cap;
		ssize_t n = pread(fd, chunk, want, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_errno(e, ERR_IO, errno, "reading object");
			goto out;
		}
		/* The file is never rewritten in place (writers rename), so a short file here
		 * means someone truncated it behind our back. */
		if (n == 0) {
			err_set(e, ERR_IO, "object shrank while being read");
			goto out;
		}
		if (sink(ud, chunk, (size_t)n) != 0) {
			err_set(e, ERR_IO, "read stopped by the sink");
			goto out;
		}
		off += (uint64_t)n;
	}
	ret = 0;
out:
	free(chunk);
	close(fd);
	return ret;
}

/* ---- writing ---------------------------------------------------------------------------- */

static void writer_free(struct file_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmpname[0])
		unlinkat(w->fs->tmpfd, w->tmpname, 0);
	EVP_MD_CTX_free(w->sha);
	free(w->key);
	free(w);
}

static struct store_writer *file_write_begin(struct store *s, const char *key, struct err *e)
{
	struct file_store *fs = (struct file_store *)s;
	struct file_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return err_set(e, ERR_NOMEM, "out of memory"), NULL;
	w->fs = fs;
	w->fd = -1;
	w->key = strdup(key);
	w->sha = EVP_MD_CTX_new();
	if (!w->key || !w->sha || EVP_DigestInit_ex(w->sha, EVP_sha256(), NULL) != 1) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto fail;
	}
	for (int tries = 0; tries < 16 && w->fd < 0; tries++) {
		uint64_t r;

		if (getrandom(&r, sizeof(r), 0) != sizeof(r)) {
			struct timespec ts;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			r = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32) ^ (uint64_t)tries;
		}
		snprintf(w->tmpname, sizeof(w->tmpname), TMP_PREFIX "%016" PRIx64, r);
		w->fd = openat(fs->tmpfd, w->tmpname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (w->fd < 0 && errno != EEXIST) {
			err_errno(e, ERR_IO, errno, "creating a temporary object");
			goto fail;
		}
	}
	if (w->fd < 0) {
		err_set(e, ERR_IO, "creating a temporary object: no free name");
		goto fail;
	}
	return &w->base;
fail:
	w->tmpname[0] = '\0';
	writer_free(w);
	return NULL;
}

static int file_write(struct store_writer *sw, const void *data, size_t len, struct err *e)
{
	struct file_writer *w = (struct file_writer *)sw;
	const char *p = data;

	if (EVP_DigestUpdate(w->sha, data, len) != 1)
		return err_set(e, ERR_INTERNAL, "SHA-256 failed");
	while (len > 0) {
		ssize_t n = write(w->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_errno(e, ERR_IO, errno, "writing object");
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void sha_hex(const unsigned char md[32], char hex[65])
{
	static const char digits[] = "0123456789abcdef";

	for (unsigned i = 0; i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
}

/* The digest so far, from a copy of the running hash (which commit finishes). */
static int file_written_sha256(struct store_writer *sw, char out[65], struct err *e)
{
	struct file_writer *w = (struct file_writer *)sw;
	EVP_MD_CTX *copy = EVP_MD_CTX_new();
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	int ok = copy && EVP_MD_CTX_copy_ex(copy, w->sha) == 1 && EVP_DigestFinal_ex(copy, md, &mdlen) == 1 &&
		 mdlen == 32;

	EVP_MD_CTX_free(copy);
	if (!ok)
		return err_set(e, ERR_INTERNAL, "SHA-256 failed");
	sha_hex(md, out);
	return 0;
}

static int fsync_dir(int rootfd, const char *dir, struct err *e)
{
	int fd = openat(rootfd, dir[0] ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r;

	if (fd < 0)
		return err_errno(e, ERR_IO, errno, "opening a directory to sync it");
	r = fsync(fd);
	close(fd);
	if (r < 0)
		return err_errno(e, ERR_IO, errno, "syncing a directory");
	return 0;
}

/* Create the directories of `key` (the segments before its last '/'). Sets *created when one
 * was made. 0 when they exist, -2 on ENOENT (a racing store_delete pruned a parent: retry),
 * -1 with *e set otherwise. */
static int make_parents(int rootfd, char *key, bool *created, struct err *e)
{
	for (char *s = strchr(key, '/'); s; s = strchr(s + 1, '/')) {
		struct stat sb;
		int r;

		*s = '\0';
		r = mkdirat(rootfd, key, 0755);
		if (r == 0)
			*created = true;
		else if (errno == EEXIST)
			r = fstatat(rootfd, key, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode) ? 0 : -2;
		else if (errno == ENOTDIR)
			r = -2;
		*s = '/';
		if (r == -2)
			return err_set(e, ERR_CONFLICT, "a parent of the key is an object");
		if (r < 0) {
			if (errno == ENOENT)
				return -2;
			return err_errno(e, ERR_IO, errno, "creating a directory");
		}
	}
	return 0;
}

/* fsync every directory from the root down to the key's parent (after creating some of them:
 * each new entry is only durable once the directory holding it is synced). */
static int sync_parents(int rootfd, char *key, bool all, struct err *e)
{
	char *last = strrchr(key, '/');

	if (all && fsync_dir(rootfd, "", e) < 0)
		return -1;
	for (char *s = strchr(key, '/'); s; s = strchr(s + 1, '/')) {
		int r;

		if (!all && s != last)
			continue;
		*s = '\0';
		r = fsync_dir(rootfd, key, e);
		*s = '/';
		if (r < 0)
			return -1;
	}
	if (!last && !all)
		return fsync_dir(rootfd, "", e);
	return 0;
}

/* sync: fsync the object and the directories that name it before returning (store_write_commit);
 * otherwise leave that to a later file_sync (store_write_commit_unsynced). */
static int commit(struct store_writer *sw, bool sync, struct err *e)
{
	struct file_writer *w = (struct file_writer *)sw;
	struct file_store *fs = w->fs;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char hex[65], val[128];
	struct stat sb;
	bool created = false;
	int ret = -1, n;

	if (EVP_DigestFinal_ex(w->sha, md, &mdlen) != 1 || mdlen != 32) {
		err_set(e, ERR_INTERNAL, "SHA-256 failed");
		goto out;
	}
	sha_hex(md, hex);
	if (fstat(w->fd, &sb) < 0) {
		err_errno(e, ERR_IO, errno, "stat of temporary object");
		goto out;
	}
	/* Best effort: without the xattr the ETag falls back to inode, size and mtime. */
	n = xattr_value(val, sizeof(val), hex, &sb);
	if (n > 0)
		(void)fsetxattr(w->fd, XATTR_SHA, val, (size_t)n, 0);
	if (sync && fsync(w->fd) < 0) {
		err_errno(e, ERR_IO, errno, "syncing object");
		goto out;
	}
	/* The key's folders usually exist already (orig/ after the first object): rename first
	 * and make them only when it fails for want of one. Making them each time cost a mkdirat
	 * (which locks the parent folder even when the child exists) and an fstatat per level. */
	for (int tries = 0;; tries++) {
		int r = tries == 0 ? 0 : make_parents(fs->rootfd, w->key, &created, e);

		if (r == -1)
			goto out;
		if (r == 0) {
			if (renameat(fs->tmpfd, w->tmpname, fs->rootfd, w->key) == 0)
				break;
			/* First try: a folder is missing, or a parent is an object (make_parents says which). */
			if (tries == 0 && errno == ENOTDIR)
				continue;
			if (errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST || errno == ENOTDIR) {
				err_set(e, ERR_CONFLICT, "the key is a directory of other objects");
				goto out;
			}
			if (errno != ENOENT) {
				err_errno(e, ERR_IO, errno, "renaming object into place");
				goto out;
			}
		}
		if (tries > COMMIT_RETRIES) {
			err_set(e, ERR_IO, "renaming object into place: its directory keeps vanishing");
			goto out;
		}
	}
	w->tmpname[0] = '\0'; /* it is the object now: writer_free must not unlink it */
	if (sync && sync_parents(fs->rootfd, w->key, created, e) < 0)
		goto out;
	ret = 0;
out:
	writer_free(w);
	return ret;
}

static int file_commit(struct store_writer *sw, struct err *e)
{
	return commit(sw, true, e);
}

static int file_commit_unsynced(struct store_writer *sw, struct err *e)
{
	return commit(sw, false, e);
}

/* One flush of the whole filesystem stands in for an fsync of each object and directory
 * committed unsynced (and since Linux 5.8 reports their write-back errors). */
static int file_sync(struct store *s, struct err *e)
{
	struct file_store *fs = (struct file_store *)s;

	if (syncfs(fs->rootfd) < 0)
		return err_errno(e, ERR_IO, errno, "syncing the object store");
	return 0;
}

static void file_abort(struct store_writer *sw)
{
	writer_free((struct file_writer *)sw);
}

/* ---- delete ----------------------------------------------------------------------------- */

static int file_del(struct store *s, const char *key, struct err *e)
{
	struct file_store *fs = (struct file_store *)s;
	char *dir;

	if (unlinkat(fs->rootfd, key, 0) < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == EISDIR)
			return 0;
		return err_errno(e, ERR_IO, errno, "deleting object");
	}
	/* Prune the directories this leaves empty, deepest first; the first one that is not
	 * empty (or any error) ends it. Not an error if it fails: empty dirs are harmless. */
	dir = strdup(key);
	if (!dir)
		return 0;
	for (char *s2 = strrchr(dir, '/'); s2; s2 = strrchr(dir, '/')) {
		*s2 = '\0';
		if (unlinkat(fs->rootfd, dir, AT_REMOVEDIR) < 0)
			break;
	}
	free(dir);
	return 0;
}

static const struct store_ops file_ops = {
	.name = "file",
	.caps = STORE_CAP_FD | STORE_CAP_SHA256,
	.close = file_close,
	.ping = file_ping,
	.write_begin = file_write_begin,
	.write = file_write,
	.commit = file_commit,
	.commit_unsynced = file_commit_unsynced,
	.sync = file_sync,
	.abort = file_abort,
	.read = file_read,
	.stat = file_stat,
	.del = file_del,
	.list = file_list,
	.open_fd = file_open_fd,
	.written_sha256 = file_written_sha256,
};
