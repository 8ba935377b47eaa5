/* file_list.c — store_list for the file backend: a depth-first walk of the tree that yields
 * keys in byte order without sorting them all (see dent_cmp), holding one directory's names
 * at a time per level and no directory descriptor across levels. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/file.h"

struct dent {
	char *name;
	bool dir;
};

/* Order entries as the keys under them sort: a directory "d" stands for keys "d/…", so it
 * compares as if its name ended in '/'. Then a depth-first walk yields keys in byte order
 * (e.g. "a-c" < "a/b", since '-' < '/'). */
static int dent_cmp(const void *pa, const void *pb)
{
	const struct dent *a = pa, *b = pb;
	const unsigned char *x = (const unsigned char *)a->name, *y = (const unsigned char *)b->name;

	for (;; x++, y++) {
		unsigned cx = *x ? *x : (a->dir ? '/' : 0), cy = *y ? *y : (b->dir ? '/' : 0);

		if (cx != cy)
			return cx < cy ? -1 : 1;
		if (!*x || !*y)
			return !*x && !*y ? 0 : (!*x ? -1 : 1);
	}
}

static bool name_ok(const char *name)
{
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (const char *p = name; *p; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

struct walk {
	struct file_store *fs;
	store_list_fn cb;
	void *ud;
	struct err *e;
	int cbret;
	struct buf path; /* the directory being walked, relative, "" or ending in '/' */
};

static void dents_free(struct dent *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

/* Read the names of the directory at wk->path that start with `match` (sorted). A directory
 * that vanished, or is not one, is empty. */
static int read_dir(struct walk *wk, const char *match, struct dent **out, size_t *outn)
{
	const char *rel = wk->path.len ? buf_str(&wk->path) : ".";
	int fd = openat(wk->fs->rootfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	DIR *d;
	struct dirent *de;
	struct dent *v = NULL;
	size_t n = 0, cap = 0, mlen = strlen(match);
	int ret = -1;

	*out = NULL;
	*outn = 0;
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			return 0;
		return err_errno(wk->e, ERR_IO, errno, "listing");
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return err_errno(wk->e, ERR_IO, errno, "listing");
	}
	while ((errno = 0, de = readdir(d))) {
		bool isdir;

		if (strncmp(de->d_name, match, mlen) != 0 || !name_ok(de->d_name))
			continue;
		if (de->d_type == DT_DIR || de->d_type == DT_REG) {
			isdir = de->d_type == DT_DIR;
		} else if (de->d_type == DT_UNKNOWN) {
			struct stat sb;
			if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			if (!S_ISDIR(sb.st_mode) && !S_ISREG(sb.st_mode))
				continue;
			isdir = S_ISDIR(sb.st_mode);
		} else {
			continue;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			struct dent *nv = realloc(v, ncap * sizeof(*v));
			if (!nv) {
				err_set(wk->e, ERR_NOMEM, "out of memory");
				goto out;
			}
			v = nv;
			cap = ncap;
		}
		v[n].name = strdup(de->d_name);
		if (!v[n].name) {
			err_set(wk->e, ERR_NOMEM, "out of memory");
			goto out;
		}
		v[n++].dir = isdir;
	}
	if (errno) {
		err_errno(wk->e, ERR_IO, errno, "listing");
		goto out;
	}
	if (n)
		qsort(v, n, sizeof(*v), dent_cmp);
	*out = v;
	*outn = n;
	v = NULL;
	n = 0;
	ret = 0;
out:
	closedir(d);
	dents_free(v, n);
	return ret;
}

/* Walk wk->path depth-first. 0: done; 1: the callback stopped it (wk->cbret); -1: error. */
static int walk_dir(struct walk *wk, const char *match)
{
	struct dent *v;
	size_t n, base = wk->path.len;
	int ret = -1;

	if (read_dir(wk, match, &v, &n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		buf_truncate(&wk->path, base);
		if (buf_adds(&wk->path, v[i].name) < 0 || (v[i].dir && buf_addch(&wk->path, '/') < 0))
			continue; /* longer than any key: nothing valid below */
		if (v[i].dir) {
			int r = walk_dir(wk, "");
			if (r != 0) {
				ret = r;
				goto out;
			}
			continue;
		}
		struct store_stat st;
		struct err ignored = ERR_INIT;
		const char *key = buf_str(&wk->path);

		if (store_key_check(key, &ignored) < 0)
			continue;
		if (file_stat(&wk->fs->base, key, &st, &ignored) < 0) {
			if (ignored.code == ERR_NOT_FOUND)
				continue; /* deleted since readdir */
			*wk->e = ignored;
			goto out;
		}
		wk->cbret = wk->cb(wk->ud, key, &st);
		if (wk->cbret != 0) {
			ret = 1;
			goto out;
		}
	}
	ret = 0;
out:
	buf_truncate(&wk->path, base);
	dents_free(v, n);
	return ret;
}

int file_list(struct store *s, const char *prefix, store_list_fn cb, void *ud,
		     struct err *e)
{
	struct err local = ERR_INIT;
	struct walk wk = { (struct file_store *)s, cb, ud, e ? e : &local, 0, BUF_INIT };
	const char *slash = strrchr(prefix, '/');
	size_t dirlen = slash ? (size_t)(slash - prefix) + 1 : 0;
	int r;

	/* room for the longest key, plus a directory name that turns out too long */
	buf_init(&wk.path, STORE_KEY_MAX + 1);
	if (buf_add(&wk.path, prefix, dirlen) < 0) {
		buf_release(&wk.path);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	r = walk_dir(&wk, prefix + dirlen);
	buf_release(&wk.path);
	if (r < 0)
		return -1;
	return r == 1 ? wk.cbret : 0;
}

