/* art.c — cover art: the picture embedded in the file or the image beside it, stored once by
 * the hash of its bytes as art/<sha256>/orig. Resized copies (art/<sha256>/<size>.jpg) are made
 * on demand by whoever serves them; ingest keeps the original only. */
#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ingest/internal.h"
#include "store/store.h"

int ingest_art_store(struct ingest *ing, const void *data, size_t len, char out[65], struct err *e)
{
	char key[96];
	struct store_stat st;
	struct err se = ERR_INIT;

	ingest_sha256_hex(data, len, out);
	if (!out[0])
		return err_set(e, ERR_INTERNAL, "SHA-256 failed");
	snprintf(key, sizeof(key), "art/%s/orig", out);
	/* Many tracks of an album share a cover: look before writing it again. */
	if (store_stat(ing->store, key, &st, &se) == 0 && st.size == len)
		return 0;
	if (se.code != ERR_NONE && se.code != ERR_NOT_FOUND) {
		*e = se;
		return err_wrap(e, "storing cover art");
	}
	if (store_put(ing->store, key, data, len, e) < 0)
		return err_wrap(e, "storing cover art");
	return 0;
}

/* Lower rank wins; -1: not a folder image. */
static int art_rank(const char *name)
{
	static const char *const stems[] = { "cover", "folder", "front", "album" };
	static const char *const exts[] = { "jpg", "jpeg", "png" };
	const char *dot = strrchr(name, '.');
	size_t stem_len;
	int ext = -1;

	if (!dot || name[0] == '.')
		return -1;
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
		if (strcasecmp(dot + 1, exts[i]) == 0)
			ext = (int)i;
	if (ext < 0)
		return -1;
	stem_len = (size_t)(dot - name);
	for (size_t i = 0; i < sizeof(stems) / sizeof(stems[0]); i++)
		if (stem_len == strlen(stems[i]) && strncasecmp(name, stems[i], stem_len) == 0)
			return (int)i * 3 + ext;
	/* Windows Media Player's AlbumArt_{…}_Large.jpg and the like. */
	if (stem_len >= 8 && strncasecmp(name, "albumart", 8) == 0)
		return 100 + ext;
	return -1;
}

/* The path of the folder image in `dir` (see ingest_art_folder) into path: 1, or 0 when
 * there is none (or the folder cannot be read). */
static int folder_pick(const char *dir, char *path, size_t cap)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char best[256] = "";
	int best_rank = 1 << 30;

	if (!d)
		return 0; /* an unreadable folder has no image we can use */
	while ((de = readdir(d))) {
		int r = art_rank(de->d_name);

		if (r >= 0 && r < best_rank && strlen(de->d_name) < sizeof(best)) {
			best_rank = r;
			snprintf(best, sizeof(best), "%s", de->d_name);
		}
	}
	closedir(d);
	return best[0] && (size_t)snprintf(path, cap, "%s/%s", dir, best) < cap;
}

/* Open the image at `path` if it is one we use: 1 with *fd and *sb, 0 when not. */
static int folder_open(const char *path, int *fd, struct stat *sb)
{
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (*fd < 0)
		return 0;
	if (fstat(*fd, sb) < 0 || !S_ISREG(sb->st_mode) || sb->st_size == 0 || (uint64_t)sb->st_size > INGEST_ART_MAX) {
		close(*fd);
		*fd = -1;
		return 0;
	}
	return 1;
}

int ingest_art_folder(const char *dir, unsigned char **data, size_t *len, struct err *e)
{
	char path[4352];
	int fd = -1, ret = -1;
	struct stat sb;
	unsigned char *bytes = NULL;
	size_t got = 0;

	*data = NULL;
	*len = 0;
	if (!folder_pick(dir, path, sizeof(path)) || !folder_open(path, &fd, &sb))
		return 0;
	bytes = malloc((size_t)sb.st_size);
	if (!bytes) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	while (got < (size_t)sb.st_size) {
		ssize_t n = pread(fd, bytes + got, (size_t)sb.st_size - got, (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_errno(e, ERR_IO, errno, "reading the folder image");
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got == 0) {
		ret = 0;
		goto out;
	}
	*data = bytes;
	*len = got;
	bytes = NULL;
	ret = 1;
out:
	free(bytes);
	if (fd >= 0)
		close(fd);
	return ret;
}

/* A folder and its image as last seen. A folder whose entries did not change (same inode and
 * mtime) still picks the same image, and an image with the same inode, size and mtime has
 * the same bytes: the ten or so tracks of an album then cost a stat of the folder and one of
 * the image, instead of a readdir and a read and hash of the image each. */
struct ingest_art_seen {
	char dir[4352];
	dev_t ddev;
	ino_t dino;
	struct timespec dmtime;
	char path[4352]; /* "" when the folder has no image we use */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	char hash[65];
};

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static bool same_dir(const struct ingest_art_seen *a, const char *dir, const struct stat *db)
{
	return a->dir[0] && strcmp(a->dir, dir) == 0 && a->ddev == db->st_dev && a->dino == db->st_ino &&
	       same_time(&a->dmtime, &db->st_mtim);
}

static bool same_image(const struct ingest_art_seen *a, const struct stat *sb)
{
	return S_ISREG(sb->st_mode) && a->dev == sb->st_dev && a->ino == sb->st_ino && a->size == sb->st_size &&
	       same_time(&a->mtime, &sb->st_mtim);
}

/* Remember `dir` (as `db` saw it before it was read) with its image (NULL: none). */
static void remember(struct ingest *ing, const char *dir, const struct stat *db, const char *path,
		     const struct stat *sb, const char *hash)
{
	struct ingest_art_seen *a;

	pthread_mutex_lock(&ing->art_lock);
	a = &ing->art_seen[ing->art_next++ % INGEST_ART_SEEN];
	memset(a, 0, sizeof(*a));
	snprintf(a->dir, sizeof(a->dir), "%s", dir);
	a->ddev = db->st_dev;
	a->dino = db->st_ino;
	a->dmtime = db->st_mtim;
	if (path) {
		snprintf(a->path, sizeof(a->path), "%s", path);
		a->dev = sb->st_dev;
		a->ino = sb->st_ino;
		a->size = sb->st_size;
		a->mtime = sb->st_mtim;
		memcpy(a->hash, hash, 65);
	}
	pthread_mutex_unlock(&ing->art_lock);
}

int ingest_art_folder_store(struct ingest *ing, const char *dir, char out[65], struct err *e)
{
	char path[4352], key[96];
	struct stat db, sb;
	struct store_stat st;
	struct err se = ERR_INIT;
	struct ingest_art_seen seen;
	unsigned char *img = NULL;
	size_t len = 0;
	int fd = -1, rc;
	bool hit = false;

	out[0] = '\0';
	if (stat(dir, &db) < 0)
		return 0; /* an unreadable folder has no image we can use */
	pthread_mutex_lock(&ing->art_lock);
	for (size_t i = 0; i < INGEST_ART_SEEN && !hit; i++) {
		if (same_dir(&ing->art_seen[i], dir, &db)) {
			seen = ing->art_seen[i];
			hit = true;
		}
	}
	pthread_mutex_unlock(&ing->art_lock);
	if (hit && !seen.path[0])
		return 0;
	if (hit && stat(seen.path, &sb) == 0 && same_image(&seen, &sb)) {
		/* Still there? (A deleted track may have taken the last reference with it.) */
		snprintf(key, sizeof(key), "art/%s/orig", seen.hash);
		if (store_stat(ing->store, key, &st, &se) == 0 && st.size == (uint64_t)sb.st_size) {
			memcpy(out, seen.hash, 65);
			return 1;
		}
	}
	if (!folder_pick(dir, path, sizeof(path)) || !folder_open(path, &fd, &sb)) {
		remember(ing, dir, &db, NULL, NULL, NULL);
		return 0;
	}
	close(fd);
	rc = ingest_art_folder(dir, &img, &len, e);
	if (rc <= 0)
		return rc;
	rc = ingest_art_store(ing, img, len, out, e);
	free(img);
	if (rc < 0)
		return -1;
	/* Remembered by what stat said before the reads: a folder or file changed meanwhile
	 * has a new mtime and is read again next time. */
	remember(ing, dir, &db, path, &sb, out);
	return 1;
}

int ingest_art_seen_init(struct ingest *ing)
{
	ing->art_seen = calloc(INGEST_ART_SEEN, sizeof(*ing->art_seen));
	if (!ing->art_seen)
		return -1;
	pthread_mutex_init(&ing->art_lock, NULL);
	return 0;
}

void ingest_art_seen_release(struct ingest *ing)
{
	if (!ing->art_seen)
		return;
	pthread_mutex_destroy(&ing->art_lock);
	free(ing->art_seen);
	ing->art_seen = NULL;
}
