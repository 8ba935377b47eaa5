/* hls_segment.c — /hls/{track}/{rendition}/init.mp4 and /{n}.m4s: one URL per segment, one
 * byte range of the rendition's object behind it (see hls.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/hls.h"
#include "base/buf.h"
#include "http/http.h"
#include "store/store.h"

#define SEGMENT_CACHE "public, max-age=31536000, immutable"

/* Where a segment's bytes are: a window [base, base + size) of the object. */
struct window {
	int fd;              /* a local file store: the object's descriptor (the cache's); else -1 */
	struct store *store; /* else read through the store (S3) */
	struct api_hls *hls;
	const struct stream_rendition_list *l; /* the cache reference that keeps fd open */
	char key[96];
	uint64_t base;
};

static ssize_t window_pread(void *ud, void *buf, size_t len, uint64_t off)
{
	struct window *w = ud;
	ssize_t n;

	if (w->fd >= 0) {
		do
			n = pread(w->fd, buf, len, (off_t)(w->base + off));
		while (n < 0 && errno == EINTR);
		return n;
	}
	{
		struct buf b;
		struct err e = ERR_INIT;

		buf_init(&b, len + 1);
		if (store_read_buf(w->store, w->key, w->base + off, len, &b, &e) < 0 || b.len > len) {
			buf_release(&b);
			return -1;
		}
		memcpy(buf, b.data, b.len);
		n = (ssize_t)b.len;
		buf_release(&b);
		return n;
	}
}

static void window_close(void *ud)
{
	struct window *w = ud;

	if (w->l)
		api_hls_put(w->hls, w->l);
	free(w);
}

/* "init.mp4" → *init; "<n>.m4s" (n: 1–9 digits, no sign, no leading zero) → *n. */
static int parse_name(const char *s, bool *init, uint64_t *n)
{
	size_t len = strlen(s), digits;

	*init = false;
	*n = 0;
	if (strcmp(s, "init.mp4") == 0) {
		*init = true;
		return 0;
	}
	if (len < 5 || strcmp(s + len - 4, ".m4s") != 0)
		return -1;
	digits = len - 4;
	if (digits > 9 || (digits > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < digits; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*n = *n * 10 + (uint64_t)(s[i] - '0');
	}
	return 0;
}

/* Track ids and rendition names: what may go back out in a Location header as is. */
static bool name_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++, n++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '-' ||
		      *s == '_'))
			return false;
	return n > 0 && n <= 64;
}

/* The object's size as the index says: the init section then every segment, back to back. */
static uint64_t indexed_size(const struct stream_rendition *r)
{
	const struct stream_segment *last = r->nsegments ? &r->segments[r->nsegments - 1] : NULL;

	return last ? last->offset + last->size : r->init_size;
}

/* `quick`: on the event loop, so only the cache and a local store's descriptor may be read;
 * anything else (a remote store, an index not cached) is redirected to the r/ URL, served on
 * the handler pool, which loads the index into the cache. The index is checked against the
 * object's size: a mismatch (the ladder was re-run) drops the entry and reloads it once (pool)
 * or redirects (loop). */
static void serve(struct http_req *req, struct api *a, bool quick)
{
	const char *track = http_req_param(req, "track"), *name = http_req_param(req, "rendition"),
		   *file = http_req_param(req, "file");
	const struct stream_rendition_list *l = NULL;
	const struct stream_rendition *r = NULL;
	bool local = store_caps(a->store) & STORE_CAP_FD, init;
	struct store_stat st;
	struct err e = ERR_INIT;
	struct window *w = NULL;
	struct http_entity ent;
	uint64_t n, off, len;
	size_t q;
	int attempt = 0;
	size_t ri = 0;

	if (!a->hls) {
		http_res_problem(req, 503, "Service Unavailable", "streaming is not configured on this server");
		return;
	}
	if (parse_name(file, &init, &n) < 0 || !name_chars(track) || !name_chars(name)) {
		http_res_problem(req, 404, "Not Found", "no such segment: use init.mp4 or <n>.m4s");
		return;
	}
	/* The loop never reads the database or a remote store: the pool's URL does. A remote
	 * store's redirect is permanent (cacheable), a cache miss's is not. */
	if (quick && (!local || !(l = api_hls_peek(a->hls, track)))) {
		http_res_header(req, "Location", http_req_printf(req, "/hls/%s/%s/r/%s", track, name, file));
		http_res_header(req, "Cache-Control", local ? "no-store" : SEGMENT_CACHE);
		http_res_send(req, 307, NULL, NULL, 0);
		return;
	}
again:
	if (!l && !(l = api_hls_get(a->hls, track, quick ? INT64_MAX : API_HLS_FRESH_MS, &e))) {
		http_res_problem(req, e.code == ERR_NOT_FOUND ? 404 : http_status_for_err(e.code),
				 e.code == ERR_NOT_FOUND ? "Not Found" : "Error",
				 e.code == ERR_NOT_FOUND ? "no such track, or its ladder is not ready" : e.msg);
		return;
	}
	r = NULL;
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->items[i].name, name) == 0) {
			r = &l->items[i];
			ri = i;
		}
	if (!r) {
		http_res_problem(req, 404, "Not Found", "no such rendition");
		goto out;
	}
	if (init) {
		off = 0;
		len = r->init_size;
	} else if (n < (uint64_t)r->media_sequence ||
		   stream_segment_range(r, (size_t)(n - (uint64_t)r->media_sequence), &off, &len, &e) < 0) {
		http_res_problem(req, 404, "Not Found", "no such segment");
		goto out;
	}
	if (!(w = calloc(1, sizeof(*w)))) {
		http_res_problem(req, 500, "Internal Server Error", "out of memory");
		goto out;
	}
	w->fd = -1;
	w->base = off;
	w->store = a->store;
	w->hls = a->hls;
	memcpy(w->key, r->object_key, sizeof(w->key));
	w->key[sizeof(w->key) - 1] = '\0';
	if (local) {
		if (api_hls_object_fd(a->hls, l, ri, &w->fd, &st, &e) < 0) {
			http_res_err(req, &e);
			goto out;
		}
	} else if (store_stat(a->store, r->object_key, &st, &e) < 0) {
		http_res_err(req, &e);
		goto out;
	}
	if (st.size != indexed_size(r)) {
		window_close(w);
		w = NULL;
		api_hls_put(a->hls, l);
		l = NULL;
		api_hls_forget(a->hls, track);
		if (quick) { /* reloading reads the database: the pool's URL does that */
			http_res_header(req, "Location", http_req_printf(req, "/hls/%s/%s/r/%s", track, name, file));
			http_res_header(req, "Cache-Control", "no-store");
			http_res_send(req, 307, NULL, NULL, 0);
			goto out;
		}
		if (attempt++ == 0)
			goto again;
		/* Still disagreeing: a re-run is replacing rows and objects right now. */
		http_res_header(req, "Retry-After", "1");
		http_res_problem(req, 503, "Service Unavailable", "this rendition is being replaced; try again");
		goto out;
	}
	/* Strong ETag: the object's, narrowed to this segment. */
	q = strlen(st.etag);
	if (q < 2 || st.etag[q - 1] != '"')
		q = 1;
	memset(&ent, 0, sizeof(ent));
	ent.size = len;
	ent.etag = init ? http_req_printf(req, "%.*s-init\"", (int)(q - 1), st.etag)
			: http_req_printf(req, "%.*s-%llu\"", (int)(q - 1), st.etag, (unsigned long long)n);
	ent.mtime = st.mtime;
	ent.content_type = init ? "audio/mp4" : "video/iso.segment";
	ent.cache_control = SEGMENT_CACHE;
	ent.fd = -1;
	ent.pread = window_pread;
	ent.close = window_close;
	ent.ud = w;
	w->l = l; /* the window holds the cache reference until http is done with it */
	l = NULL;
	w = NULL; /* http closes it */
	http_res_entity(req, &ent);
out:
	if (w)
		window_close(w);
	if (l)
		api_hls_put(a->hls, l);
}

void api_hls_segment(struct http_req *req, void *app)
{
	serve(req, app, true);
}

void api_hls_segment_read(struct http_req *req, void *app)
{
	serve(req, app, false);
}
