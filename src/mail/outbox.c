/* outbox.c — the outbox mail backend: each message becomes one .eml file in a folder.
 * A reader (a developer, a test) never sees half a message: the file is written under a
 * temporary name that does not end in .eml, synced, then renamed into place. */
#include "mail/backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/id.h"

#define PATH_CAP 4096

struct outbox {
	struct mail base;
	char *dir;
};

/* mkdir -p, mode 0700: the messages hold single-use secrets. */
static int mkdirs(const char *path, struct err *e)
{
	char p[PATH_CAP];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(p))
		return err_set(e, ERR_INVALID, "mail: the outbox path is empty or too long");
	memcpy(p, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return err_set(e, ERR_IO, "mail: cannot create the outbox folder: %s", strerror(errno));
		p[i] = i == n ? '\0' : '/';
	}
	return 0;
}

static void outbox_close(struct mail *m)
{
	struct outbox *o = (struct outbox *)m;

	free(o->dir);
	free(o);
}

static const char *outbox_dir(const struct mail *m)
{
	return ((const struct outbox *)m)->dir;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int outbox_send(struct mail *m, const char *to, const char *data, size_t len, struct err *e)
{
	struct outbox *o = (struct outbox *)m;
	char id[ID_LEN + 1], tmp[PATH_CAP], final[PATH_CAP];
	int fd, ret = -1;

	(void)to;
	id_new(id);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", o->dir, id) >= sizeof(tmp) ||
	    (size_t)snprintf(final, sizeof(final), "%s/%s.eml", o->dir, id) >= sizeof(final))
		return err_set(e, ERR_INVALID, "mail: the outbox path is too long");
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(e, ERR_IO, "mail: cannot write to the outbox: %s", strerror(errno));
	if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		err_set(e, ERR_IO, "mail: cannot write to the outbox: %s", strerror(errno));
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		err_set(e, ERR_IO, "mail: cannot write to the outbox: %s", strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, final) < 0) {
		err_set(e, ERR_IO, "mail: cannot write to the outbox: %s", strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ret < 0)
		unlink(tmp);
	return ret;
}

static const struct mail_ops outbox_ops = {
	.name = "outbox",
	.close = outbox_close,
	.send = outbox_send,
	.dir = outbox_dir,
};

struct mail *mail_outbox_open(const char *rest, struct err *e)
{
	struct outbox *o;
	size_t n = strlen(rest);

	/* outbox:///abs keeps the leading slash; outbox://rel is relative to the working folder. */
	while (n > 1 && rest[n - 1] == '/')
		n--;
	if (n == 0) {
		err_set(e, ERR_INVALID, "mail: outbox:// needs a folder");
		return NULL;
	}
	if (!(o = calloc(1, sizeof(*o))) || !(o->dir = strndup(rest, n))) {
		free(o);
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	o->base.ops = &outbox_ops;
	if (mkdirs(o->dir, e) < 0) {
		outbox_close(&o->base);
		return NULL;
	}
	return &o->base;
}
