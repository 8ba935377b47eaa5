/* store.c — the dispatcher: checks keys, picks the backend from the URL, and implements the
 * parts every backend shares (spoiled writers, store_put on top of a writer, read into a buf),
 * so each backend only does what is specific to it. */
#include "store/store.h"

#include <string.h>
#include <strings.h>

#include "store/backend.h"

#define STORE_URL_MAX 4096

static bool key_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-' || c == '/';
}

/* The shared part of key and prefix checks. `partial_tail`: the text after the last '/' is
 * the beginning of a segment (a prefix), so it may be empty, "." or "..". */
static int name_check(const char *s, bool partial_tail, const char *what, struct err *e)
{
	size_t n = strnlen(s, STORE_KEY_MAX + 1), seg = 0;

	if (n > STORE_KEY_MAX)
		return err_set(e, ERR_INVALID, "%s longer than %d bytes", what, STORE_KEY_MAX);
	if (n == 0 && !partial_tail)
		return err_set(e, ERR_INVALID, "empty %s", what);
	if (s[0] == '/')
		return err_set(e, ERR_INVALID, "%s starts with '/'", what);
	for (size_t i = 0; i <= n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i < n && !key_char_ok(c))
			return err_set(e, ERR_INVALID, "%s has a byte outside [A-Za-z0-9._-/] at offset %zu",
				       what, i);
		if (i < n && c != '/')
			continue;
		/* a segment ends at s[seg, i) */
		if (i == n && partial_tail)
			break;
		size_t len = i - seg;
		if (len == 0)
			return err_set(e, ERR_INVALID, "%s has an empty segment", what);
		if (len > STORE_SEGMENT_MAX)
			return err_set(e, ERR_INVALID, "%s has a segment longer than %d bytes", what,
				       STORE_SEGMENT_MAX);
		if ((len == 1 && s[seg] == '.') || (len == 2 && s[seg] == '.' && s[seg + 1] == '.'))
			return err_set(e, ERR_INVALID, "%s has a '.' or '..' segment", what);
		seg = i + 1;
	}
	return 0;
}

int store_key_check(const char *key, struct err *e)
{
	if (!key)
		return err_set(e, ERR_INVALID, "no key");
	return name_check(key, false, "key", e);
}

int store_prefix_check(const char *prefix, struct err *e)
{
	if (!prefix)
		return 0;
	return name_check(prefix, true, "prefix", e);
}

struct store *store_open(const char *url, const struct store_options *opt, struct err *e)
{
	static const struct store_options none;
	size_t n;

	if (!url)
		return err_set(e, ERR_INVALID, "no store URL"), NULL;
	n = strnlen(url, STORE_URL_MAX + 1);
	if (n > STORE_URL_MAX)
		return err_set(e, ERR_INVALID, "store URL longer than %d bytes", STORE_URL_MAX), NULL;
	if (!opt)
		opt = &none;
	if (n >= 7 && strncasecmp(url, "file://", 7) == 0)
		return store_file_open(url + 7, opt, e);
	if (n >= 5 && strncasecmp(url, "s3://", 5) == 0)
		return store_s3_open(url + 5, opt, e);
	return err_set(e, ERR_INVALID, "store URL: unknown scheme (want file:// or s3://)"), NULL;
}

void store_close(struct store *s)
{
	if (s)
		s->ops->close(s);
}

const char *store_backend_name(const struct store *s)
{
	return s->ops->name;
}

unsigned store_caps(const struct store *s)
{
	return s->ops->caps;
}

int store_ping(struct store *s, struct err *e)
{
	return s->ops->ping(s, e);
}

struct store_writer *store_write_begin(struct store *s, const char *key, struct err *e)
{
	struct store_writer *w;

	if (store_key_check(key, e) < 0)
		return NULL;
	w = s->ops->write_begin(s, key, e);
	if (w) {
		w->store = s;
		w->spoiled = false;
		err_clear(&w->err);
	}
	return w;
}

static int writer_spoiled(struct store_writer *w, struct err *e)
{
	if (e)
		*e = w->err;
	return -1;
}

int store_write(struct store_writer *w, const void *data, size_t len, struct err *e)
{
	struct err local = ERR_INIT;

	if (w->spoiled)
		return writer_spoiled(w, e);
	if (len == 0)
		return 0;
	if (w->store->ops->write(w, data, len, &local) == 0)
		return 0;
	w->spoiled = true;
	w->err = local;
	return writer_spoiled(w, e);
}

int store_write_commit(struct store_writer *w, struct err *e)
{
	if (w->spoiled) {
		struct err saved = w->err;

		w->store->ops->abort(w);
		if (e)
			*e = saved;
		return -1;
	}
	return w->store->ops->commit(w, e);
}

int store_write_commit_unsynced(struct store_writer *w, struct err *e)
{
	if (w->spoiled || !w->store->ops->commit_unsynced)
		return store_write_commit(w, e);
	return w->store->ops->commit_unsynced(w, e);
}

int store_write_sha256(struct store_writer *w, char out[65], struct err *e)
{
	if (w->spoiled)
		return writer_spoiled(w, e);
	if (!w->store->ops->written_sha256)
		return err_set(e, ERR_UNSUPPORTED, "this store does not hash what it writes");
	return w->store->ops->written_sha256(w, out, e);
}

int store_sync(struct store *s, struct err *e)
{
	return s->ops->sync ? s->ops->sync(s, e) : 0;
}

void store_write_abort(struct store_writer *w)
{
	if (w)
		w->store->ops->abort(w);
}

int store_put(struct store *s, const char *key, const void *data, size_t len, struct err *e)
{
	struct store_writer *w;

	if (store_key_check(key, e) < 0)
		return -1;
	if (s->ops->put)
		return s->ops->put(s, key, data, len, e);
	w = store_write_begin(s, key, e);
	if (!w)
		return -1;
	if (store_write(w, data, len, e) < 0) {
		store_write_abort(w);
		return -1;
	}
	return store_write_commit(w, e);
}

int store_read(struct store *s, const char *key, uint64_t off, uint64_t len, store_sink_fn sink,
	       void *ud, struct err *e)
{
	if (store_key_check(key, e) < 0)
		return -1;
	if (len > UINT64_MAX - off)
		len = UINT64_MAX - off;
	if (len == 0) {
		/* Nothing to transfer, but the key must exist and the range must start inside it,
		 * as for any other length. */
		struct store_stat st;

		if (s->ops->stat(s, key, &st, e) < 0)
			return -1;
		if (off > 0 && off >= st.size)
			return err_set(e, ERR_RANGE, "range starts at %llu, past the end (%llu bytes)",
				       (unsigned long long)off, (unsigned long long)st.size);
		return 0;
	}
	return s->ops->read(s, key, off, len, sink, ud, e);
}

struct buf_sink {
	struct buf *out;
	bool full;
};

static int buf_sink_add(void *ud, const void *data, size_t n)
{
	struct buf_sink *bs = ud;

	if (buf_add(bs->out, data, n) < 0) {
		bs->full = true;
		return -1;
	}
	return 0;
}

int store_read_buf(struct store *s, const char *key, uint64_t off, uint64_t len, struct buf *out,
		   struct err *e)
{
	struct buf_sink bs = { out, false };
	size_t was = out->len;

	if (store_read(s, key, off, len, buf_sink_add, &bs, e) == 0)
		return 0;
	buf_truncate(out, was);
	if (bs.full)
		return err_set(e, ERR_TOO_LARGE, "object does not fit the buffer's cap");
	return -1;
}

int store_stat(struct store *s, const char *key, struct store_stat *st, struct err *e)
{
	if (store_key_check(key, e) < 0)
		return -1;
	return s->ops->stat(s, key, st, e);
}

int store_delete(struct store *s, const char *key, struct err *e)
{
	if (store_key_check(key, e) < 0)
		return -1;
	return s->ops->del(s, key, e);
}

int store_list(struct store *s, const char *prefix, store_list_fn cb, void *ud, struct err *e)
{
	if (!prefix)
		prefix = "";
	if (store_prefix_check(prefix, e) < 0)
		return -1;
	return s->ops->list(s, prefix, cb, ud, e);
}

int store_open_fd(struct store *s, const char *key, int *fd, struct store_stat *st, struct err *e)
{
	if (store_key_check(key, e) < 0)
		return -1;
	if (!s->ops->open_fd)
		return err_set(e, ERR_UNSUPPORTED, "the %s store cannot give file descriptors",
			       s->ops->name);
	return s->ops->open_fd(s, key, fd, st, e);
}
