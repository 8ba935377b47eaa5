/* art.c (api) — cover art served from the store, resized on first request and kept. */
#include "api/art.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/buf.h"
#include "base/log.h"
#include "http/http.h"
#include "media/art.h"
#include "store/store.h"

#define IMMUTABLE "public, max-age=31536000, immutable"

static const char *const sizes[] = { "64", "300", "600", "1200" };

/* Copy a 64-hex-digit hash into `out` in lower case; false for anything else. */
static bool hash_ok(const char *h, char out[65])
{
	if (!h || strlen(h) != 64)
		return false;
	for (int i = 0; i < 64; i++) {
		if (!isxdigit((unsigned char)h[i]))
			return false;
		out[i] = (char)tolower((unsigned char)h[i]);
	}
	out[64] = '\0';
	return true;
}

/* Make art/<hash>/<size>.jpg from the original. Two requests doing this at once both write
 * the same bytes; the store's atomic replace makes that harmless. */
static int make_size(struct store *s, const char *orig, const char *key, int box, struct err *e)
{
	struct buf in, out = BUF_INIT;
	int ret = -1;

	buf_init(&in, MEDIA_ART_MAX_BYTES);
	if (store_read_buf(s, orig, 0, UINT64_MAX, &in, e) < 0)
		goto out;
	if (media_art_resize(in.data, in.len, box, &out, NULL, NULL, e) < 0) {
		/* The original was accepted by ingest: failing now is ours, not the client's. */
		if (e->code == ERR_INVALID || e->code == ERR_TOO_LARGE)
			e->code = ERR_INTERNAL;
		goto out;
	}
	if (store_put(s, key, out.data, out.len, e) < 0)
		goto out;
	ret = 0;
out:
	buf_release(&in);
	buf_release(&out);
	return ret;
}

/* Reading through the store for a backend without file descriptors (S3). */
struct reader {
	struct store *store;
	const char *key;
	char *dst;
	size_t got, cap;
};

static int reader_sink(void *ud, const void *data, size_t n)
{
	struct reader *r = ud;

	if (n > r->cap - r->got)
		n = r->cap - r->got;
	memcpy(r->dst + r->got, data, n);
	r->got += n;
	return 0;
}

static ssize_t reader_pread(void *ud, void *buf, size_t len, uint64_t off)
{
	struct reader *r = ud;
	struct err e = ERR_INIT;

	r->dst = buf;
	r->got = 0;
	r->cap = len;
	if (store_read(r->store, r->key, off, len, reader_sink, r, &e) < 0)
		return e.code == ERR_RANGE ? 0 : -1;
	return (ssize_t)r->got;
}

static void serve(struct http_req *req, struct store *s, const char *key, const char *type)
{
	struct http_entity ent;
	struct store_stat st;
	struct err e = ERR_INIT;
	int fd = -1;

	memset(&ent, 0, sizeof(ent));
	ent.fd = -1;
	if (store_caps(s) & STORE_CAP_FD) {
		if (store_open_fd(s, key, &fd, &st, &e) < 0) {
			http_res_err(req, &e);
			return;
		}
		ent.fd = fd;
	} else {
		struct reader *r = http_req_alloc(req, sizeof(*r));

		if (!r || store_stat(s, key, &st, &e) < 0) {
			if (!r)
				err_set(&e, ERR_NOMEM, "out of memory");
			http_res_err(req, &e);
			return;
		}
		r->store = s;
		r->key = http_req_strdup(req, key);
		if (!r->key) {
			http_res_problem(req, 500, "Internal Server Error", "out of memory");
			return;
		}
		ent.pread = reader_pread;
		ent.ud = r;
	}
	ent.size = st.size;
	ent.etag = http_req_strdup(req, st.etag);
	ent.mtime = st.mtime;
	ent.content_type = type;
	ent.cache_control = IMMUTABLE;
	http_res_entity(req, &ent);
}

void api_art_get(struct http_req *req, void *app)
{
	struct api *a = app;
	const char *size = http_req_query(req, "size");
	char hash[65], orig[96], key[96];
	struct store_stat st;
	struct err e = ERR_INIT;
	int box = 0;

	if (!hash_ok(http_req_param(req, "hash"), hash)) {
		http_res_problem(req, 400, "Bad Request", "an art hash is 64 hexadecimal digits (its SHA-256)");
		return;
	}
	if (size) {
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]) && !box; i++)
			if (strcmp(size, sizes[i]) == 0)
				box = (int)strtol(size, NULL, 10);
		if (!box) {
			http_res_problem(req, 400, "Bad Request", "size is one of 64, 300, 600 or 1200");
			return;
		}
	}
	snprintf(orig, sizeof(orig), "art/%s/orig", hash);
	if (!box) {
		struct buf head = BUF_INIT;
		const char *type;

		/* The original's type is in its first bytes. */
		buf_init(&head, 64);
		if (store_read_buf(a->store, orig, 0, 16, &head, &e) < 0) {
			buf_release(&head);
			if (e.code == ERR_NOT_FOUND)
				err_set(&e, ERR_NOT_FOUND, "no cover art with this hash");
			http_res_err(req, &e);
			return;
		}
		type = media_art_mime(media_art_sniff(head.data, head.len));
		buf_release(&head);
		serve(req, a->store, orig, type);
		return;
	}
	snprintf(key, sizeof(key), "art/%s/%d.jpg", hash, box);
	if (store_stat(a->store, key, &st, &e) < 0) {
		if (e.code != ERR_NOT_FOUND) {
			http_res_err(req, &e);
			return;
		}
		err_clear(&e);
		if (make_size(a->store, orig, key, box, &e) < 0) {
			if (e.code == ERR_NOT_FOUND)
				err_set(&e, ERR_NOT_FOUND, "no cover art with this hash");
			http_res_err(req, &e);
			return;
		}
	}
	serve(req, a->store, key, "image/jpeg");
}
