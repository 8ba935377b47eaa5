/* playback.c — progressive stream (a rendition decrypted on the fly) and download of the
 * original (see playback.h). Both answer through http_res_entity with a pread callback, so
 * Range, HEAD and conditional requests are http/'s job, not ours. */
#include "api/playback.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "api/auth.h"
#include "api/hls.h"
#include "auth/auth.h"
#include "base/buf.h"
#include "catalog/catalog.h"
#include "http/http.h"
#include "store/store.h"
#include "stream/live.h"

/* ---- reading an object: its fd on a local store, ranged reads otherwise ---- */

struct object {
	int fd;
	struct store *store;
	char key[256];
};

static ssize_t object_pread(struct object *o, void *buf, size_t len, uint64_t off)
{
	struct buf b;
	struct err e = ERR_INIT;
	ssize_t n;

	if (o->fd >= 0) {
		do
			n = pread(o->fd, buf, len, (off_t)off);
		while (n < 0 && errno == EINTR);
		return n;
	}
	buf_init(&b, len + 1);
	if (store_read_buf(o->store, o->key, off, len, &b, &e) < 0 || b.len > len) {
		buf_release(&b);
		return -1;
	}
	memcpy(buf, b.data, b.len);
	n = (ssize_t)b.len;
	buf_release(&b);
	return n;
}

/* Read exactly len bytes or fail. */
static int object_read_full(struct object *o, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = object_pread(o, (char *)buf + got, len - got, off + got);

		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static int object_open(struct object *o, struct store *s, const char *key, struct store_stat *st, struct err *e)
{
	o->fd = -1;
	o->store = s;
	if (strlen(key) >= sizeof(o->key))
		return err_set(e, ERR_INVALID, "object key too long");
	memcpy(o->key, key, strlen(key) + 1);
	if (store_caps(s) & STORE_CAP_FD)
		return store_open_fd(s, key, &o->fd, st, e);
	return store_stat(s, key, st, e);
}

/* ---- progressive: init + decrypted segments ---- */

struct prog {
	struct api *a;
	const struct stream_rendition_list *l; /* a reference on the index cache */
	const struct stream_rendition *r;
	struct object obj;
	unsigned char key[STREAM_KEY_LEN];
	uint64_t *start;  /* plaintext offset of segment i; start[nsegments] = total */
	size_t cur;       /* the segment in `plain`, or SIZE_MAX */
	unsigned char *plain;
	size_t plain_len;
};

static void prog_close(void *ud)
{
	struct prog *p = ud;

	if (p->obj.fd >= 0)
		close(p->obj.fd);
	if (p->l)
		api_hls_put(p->a->hls, p->l);
	OPENSSL_cleanse(p->key, sizeof(p->key));
	free(p->start);
	free(p->plain);
	free(p);
}

/* The plaintext length of segment i: its ciphertext less the PKCS#7 padding, which the last
 * block tells once decrypted with the block before it (or the IV) as CBC chaining value. */
static int plain_size(struct prog *p, size_t i, uint64_t *out)
{
	const struct stream_segment *s = &p->r->segments[i];
	unsigned char in[32], iv[16], last[16];
	EVP_CIPHER_CTX *c = NULL;
	int n = 0, ret = -1;
	unsigned pad;

	if (s->size < 16 || s->size % 16)
		return -1;
	if (s->size >= 32) {
		if (object_read_full(&p->obj, in, 32, s->offset + s->size - 32) < 0)
			return -1;
		memcpy(iv, in, 16);
		memcpy(in, in + 16, 16);
	} else {
		uint64_t seq = (uint64_t)p->r->media_sequence + i;

		if (object_read_full(&p->obj, in, 16, s->offset) < 0)
			return -1;
		memset(iv, 0, 8);
		for (int k = 0; k < 8; k++)
			iv[8 + k] = (unsigned char)(seq >> (56 - 8 * k));
	}
	if (!(c = EVP_CIPHER_CTX_new()) || EVP_DecryptInit_ex(c, EVP_aes_128_cbc(), NULL, p->key, iv) != 1 ||
	    EVP_CIPHER_CTX_set_padding(c, 0) != 1 || EVP_DecryptUpdate(c, last, &n, in, 16) != 1 || n != 16)
		goto out;
	pad = last[15];
	if (pad < 1 || pad > 16)
		goto out;
	*out = s->size - pad;
	ret = 0;
out:
	EVP_CIPHER_CTX_free(c);
	return ret;
}

static ssize_t prog_pread(void *ud, void *buf, size_t len, uint64_t off)
{
	struct prog *p = ud;
	const struct stream_rendition *r = p->r;
	size_t lo = 0, hi = r->nsegments, i;
	uint64_t in_seg;
	struct err e = ERR_INIT;

	if (off < r->init_size)
		return object_pread(&p->obj, buf, len < r->init_size - off ? len : (size_t)(r->init_size - off), off);
	if (off >= p->start[r->nsegments])
		return 0;
	while (hi - lo > 1) { /* the last segment starting at or before off */
		size_t mid = (lo + hi) / 2;

		if (p->start[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	i = lo;
	if (p->cur != i) {
		const struct stream_segment *s = &r->segments[i];
		unsigned char *ct = malloc(s->size);

		free(p->plain);
		p->plain = NULL;
		p->cur = SIZE_MAX;
		if (!ct || object_read_full(&p->obj, ct, s->size, s->offset) < 0 ||
		    stream_segment_decrypt(p->key, (uint64_t)r->media_sequence + i, ct, s->size, &p->plain, &p->plain_len,
					   &e) < 0 ||
		    p->plain_len != p->start[i + 1] - p->start[i]) {
			free(ct);
			return -1;
		}
		free(ct);
		p->cur = i;
	}
	in_seg = off - p->start[i];
	if (len > p->plain_len - in_seg)
		len = p->plain_len - (size_t)in_seg;
	memcpy(buf, p->plain + in_seg, len);
	return (ssize_t)len;
}

static bool lossless(const struct stream_rendition *r)
{
	return strcmp(r->codec, "fLaC") == 0;
}

/* ---- on-the-fly transcodes (stream/live.h) ---- */

struct dl {
	struct object obj;
};

static ssize_t dl_pread(void *ud, void *buf, size_t len, uint64_t off)
{
	return object_pread(&((struct dl *)ud)->obj, buf, len, off);
}

static void dl_close(void *ud)
{
	struct dl *d = ud;

	if (d->obj.fd >= 0)
		close(d->obj.fd);
	free(d);
}

static ssize_t live_read(void *ud, char *buf, size_t cap)
{
	struct err e = ERR_INIT;

	return stream_live_read(ud, buf, cap, &e);
}

static void live_close(void *ud)
{
	stream_live_free(ud);
}

/* The largest bit rate step of `f`, at most max_kbps (0: the format's default), that the
 * account may have; 0 when it may have none. */
static int live_kbps_for(const struct auth_principal *pr, enum stream_live_format f, int max_kbps)
{
	int k = stream_live_kbps(f, max_kbps, 0);

	while (!auth_may_have_rendition(pr, k, false)) {
		if (k <= stream_live_kbps_min(f))
			return 0;
		k = stream_live_kbps(f, k - 1, 0);
	}
	return k;
}

/* Answer with the track transcoded to `f`: from the cached object when an earlier request
 * made it (Range, ETag and conditionals then work), else made while it is sent. */
static void live_serve(struct http_req *req, struct api *a, const char *id, enum stream_live_format f, int max_kbps)
{
	int kbps = live_kbps_for(api_principal(req), f, max_kbps);
	char key[STORE_KEY_MAX + 1];
	struct stream_live *l = NULL;
	struct store_stat st;
	struct http_entity ent;
	struct err e = ERR_INIT;
	struct dl *d;

	if (!kbps) {
		http_res_problem(req, 403, "Forbidden", "your account may not have this bit rate");
		return;
	}
	if (stream_live_key(id, f, kbps, key, sizeof(key), &e) < 0) {
		http_res_problem(req, 404, "Not Found", "no such track");
		return;
	}
	if (!(d = calloc(1, sizeof(*d)))) {
		http_res_problem(req, 500, "Internal Server Error", "out of memory");
		return;
	}
	d->obj.fd = -1;
	if (object_open(&d->obj, a->store, key, &st, &e) == 0) {
		memset(&ent, 0, sizeof(ent));
		ent.size = st.size;
		ent.etag = st.etag[0] == '"' && strlen(st.etag) > 2 ? http_req_strdup(req, st.etag) : NULL;
		ent.mtime = st.mtime;
		ent.content_type = stream_live_content_type(f);
		ent.cache_control = "private, max-age=86400";
		ent.fd = d->obj.fd;
		ent.pread = d->obj.fd >= 0 ? NULL : dl_pread;
		ent.close = d->obj.fd >= 0 ? NULL : dl_close;
		ent.ud = d->obj.fd >= 0 ? NULL : d;
		if (d->obj.fd >= 0)
			free(d);
		http_res_header(req, "X-Transcode", "cached");
		http_res_entity(req, &ent);
		return;
	}
	dl_close(d);
	if (e.code != ERR_NOT_FOUND) {
		http_res_err(req, &e);
		return;
	}
	e = (struct err)ERR_INIT;
	if (stream_live_open(a->stream, id, f, kbps, &l, &e) < 0) {
		http_res_err(req, &e);
		return;
	}
	/* No length and no Range until the transcode is cached: the next request has both. */
	http_res_header(req, "Accept-Ranges", "none");
	http_res_header(req, "Cache-Control", "private, no-store");
	http_res_header(req, "X-Transcode", "live");
	http_res_stream(req, 200, stream_live_content_type(f), -1,
			&(struct http_stream){ .read = live_read, .close = live_close, .ud = l });
}

void api_track_stream(struct http_req *req, void *app)
{
	struct api *a = app;
	const char *id = http_req_param(req, "id"), *want = http_req_query(req, "rendition");
	const struct auth_principal *pr = api_principal(req);
	const char *format = http_req_query(req, "format");
	struct prog *p = NULL;
	struct store_stat st;
	struct http_entity ent;
	struct err e = ERR_INIT;
	enum stream_live_format lf;
	long long max_kbps;

	if (!a->hls || !a->stream) {
		http_res_problem(req, 503, "Service Unavailable", "streaming is not configured on this server");
		return;
	}
	if (http_req_query_int(req, "maxBitRate", 0, 0, 100000, &max_kbps, &e) < 0) {
		http_res_err(req, &e);
		return;
	}
	if (format && *format) {
		if (want) {
			http_res_problem(req, 400, "Bad Request", "give either rendition or format, not both");
			return;
		}
		if (stream_live_format_parse(format, &lf, &e) < 0) {
			http_res_err(req, &e);
			return;
		}
		live_serve(req, a, id, lf, (int)max_kbps);
		return;
	}
	if (!(p = calloc(1, sizeof(*p)))) {
		http_res_problem(req, 500, "Internal Server Error", "out of memory");
		return;
	}
	p->a = a;
	p->obj.fd = -1;
	p->cur = SIZE_MAX;
	if (!(p->l = api_hls_get(a->hls, id, API_HLS_FRESH_MS, &e))) {
		struct catalog_page *page = NULL;

		if (e.code == ERR_NOT_FOUND && !want && catalog_get(a->catalog, CATALOG_TRACKS, id, &page, &e) == 0 &&
		    page->ntracks == 1) {
			/* The ladder is not ready yet: the track plays at once, transcoded on the fly. */
			catalog_page_free(page);
			prog_close(p);
			live_serve(req, a, id, STREAM_LIVE_AAC, (int)max_kbps);
			return;
		}
		catalog_page_free(page);
		if (e.code == ERR_NOT_FOUND && want) {
			http_res_problem(req, 409, "Conflict",
					 http_req_printf(req, "still processing: see /api/v1/tracks/%s/status", id));
		} else {
			http_res_err(req, &e);
		}
		goto fail;
	}
	for (size_t i = 0; i < p->l->n; i++) {
		const struct stream_rendition *r = &p->l->items[i];
		bool ok = auth_may_have_rendition(pr, lossless(r) ? 0 : (r->bitrate + 500) / 1000, lossless(r));

		bool fits = !max_kbps || (r->bitrate + 500) / 1000 <= max_kbps;

		if (want ? strcmp(r->name, want) == 0 : (ok && !lossless(r) && fits)) {
			if (want && !ok) {
				http_res_problem(req, 403, "Forbidden", "your account may not have this rendition");
				goto fail;
			}
			p->r = r; /* without `rendition`: the last (best) allowed AAC rung wins */
		}
	}
	for (size_t i = 0; !p->r && !want && max_kbps && i < p->l->n; i++) {
		const struct stream_rendition *r = &p->l->items[i]; /* below every rung: the smallest */

		if (!lossless(r) && auth_may_have_rendition(pr, (r->bitrate + 500) / 1000, false))
			p->r = r;
	}
	if (!p->r) {
		http_res_problem(req, want ? 404 : 403, want ? "Not Found" : "Forbidden",
				 want ? "no such rendition" : "no rendition of this track is available to your account");
		goto fail;
	}
	if (object_open(&p->obj, a->store, p->r->object_key, &st, &e) < 0 ||
	    stream_key(a->stream, id, p->key, &e) < 0) {
		http_res_err(req, &e);
		goto fail;
	}
	if (!(p->start = calloc(p->r->nsegments + 1, sizeof(*p->start)))) {
		http_res_problem(req, 500, "Internal Server Error", "out of memory");
		goto fail;
	}
	p->start[0] = p->r->init_size;
	for (size_t i = 0; i < p->r->nsegments; i++) {
		uint64_t n;

		if (plain_size(p, i, &n) < 0) {
			http_res_problem(req, 500, "Internal Server Error", "a segment does not decrypt");
			goto fail;
		}
		p->start[i + 1] = p->start[i] + n;
	}
	memset(&ent, 0, sizeof(ent));
	ent.size = p->start[p->r->nsegments];
	{
		size_t q = strlen(st.etag);

		ent.etag = q >= 2 && st.etag[q - 1] == '"' ? http_req_printf(req, "%.*s-plain\"", (int)(q - 1), st.etag)
							  : NULL;
	}
	ent.mtime = st.mtime;
	ent.content_type = "audio/mp4";
	ent.cache_control = "private, max-age=3600";
	ent.fd = -1;
	ent.pread = prog_pread;
	ent.close = prog_close;
	ent.ud = p;
	http_res_entity(req, &ent);
	return;
fail:
	prog_close(p);
}

/* ---- download ---- */

static const char *extension(const struct catalog_track *t)
{
	static const struct { const char *codec, *ext; } map[] = {
		{ "flac", "flac" }, { "mp3", "mp3" }, { "aac", "m4a" }, { "alac", "m4a" }, { "vorbis", "ogg" },
		{ "opus", "opus" }, { "wavpack", "wv" },
	};

	for (size_t i = 0; t->codec && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(t->codec, map[i].codec) == 0)
			return map[i].ext;
	if (t->codec && strncmp(t->codec, "pcm_", 4) == 0)
		return "wav";
	return "bin";
}

/* attachment; filename="ascii fallback.ext"; filename*=UTF-8''percent-encoded.ext (RFC 6266/8187) */
static const char *disposition(struct http_req *req, const char *name, const char *ext)
{
	static const char hex[] = "0123456789ABCDEF";
	struct buf ascii, utf;
	const char *out = NULL;

	buf_init(&ascii, 1024);
	buf_init(&utf, 4096);
	for (const unsigned char *c = (const unsigned char *)name; *c && ascii.len < 200; c++) {
		bool plain = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
			     strchr("!#$&+-.^_`|~", *c);

		buf_addch(&ascii, *c >= 0x20 && *c < 0x7f && *c != '"' && *c != '\\' && *c != '/' ? (char)*c : '_');
		if (plain) {
			buf_addch(&utf, (char)*c);
		} else {
			buf_addch(&utf, '%');
			buf_addch(&utf, hex[*c >> 4]);
			buf_addch(&utf, hex[*c & 15]);
		}
	}
	if (buf_str(&ascii) && buf_str(&utf))
		out = http_req_printf(req, "attachment; filename=\"%s.%s\"; filename*=UTF-8''%s.%s", buf_str(&ascii), ext,
				      buf_str(&utf), ext);
	buf_release(&ascii);
	buf_release(&utf);
	return out;
}

void api_track_download(struct http_req *req, void *app)
{
	struct api *a = app;
	const char *id = http_req_param(req, "id"), *cd;
	struct catalog_page *page = NULL;
	const struct catalog_track *t;
	struct store_stat st;
	struct http_entity ent;
	struct err e = ERR_INIT;
	struct dl *d = NULL;

	if (catalog_get(a->catalog, CATALOG_TRACKS, id, &page, &e) < 0 || page->ntracks != 1) {
		if (e.code == ERR_NONE)
			err_set(&e, ERR_NOT_FOUND, "no such track");
		http_res_err(req, &e);
		goto out;
	}
	t = &page->tracks[0];
	if (!(d = calloc(1, sizeof(*d)))) {
		http_res_problem(req, 500, "Internal Server Error", "out of memory");
		goto out;
	}
	d->obj.fd = -1;
	memset(&st, 0, sizeof(st));
	if (t->object_key) {
		if (object_open(&d->obj, a->store, t->object_key, &st, &e) < 0) {
			http_res_err(req, &e);
			goto out;
		}
	} else if (t->path) {
		struct stat sb;

		/* A track imported in place: its file, where the import found it. */
		d->obj.fd = open(t->path, O_RDONLY | O_CLOEXEC);
		if (d->obj.fd < 0 || fstat(d->obj.fd, &sb) < 0) {
			http_res_problem(req, 404, "Not Found", "the original file is no longer there");
			goto out;
		}
		st.size = (uint64_t)sb.st_size;
		st.mtime = sb.st_mtime;
		snprintf(st.etag, sizeof(st.etag), "\"%.64s\"", t->sha256 ? t->sha256 : "");
	} else {
		http_res_problem(req, 404, "Not Found", "this track has no original");
		goto out;
	}
	if (!(cd = disposition(req, t->title && *t->title ? t->title : t->id, extension(t)))) {
		http_res_problem(req, 500, "Internal Server Error", "out of memory");
		goto out;
	}
	http_res_header(req, "Content-Disposition", cd);
	memset(&ent, 0, sizeof(ent));
	ent.size = st.size;
	ent.etag = st.etag[0] == '"' && strlen(st.etag) > 2 ? http_req_strdup(req, st.etag) : NULL;
	ent.mtime = st.mtime;
	ent.content_type = "application/octet-stream";
	ent.cache_control = "private, max-age=86400";
	if (d->obj.fd >= 0) { /* a local file: let http send it straight from the descriptor */
		ent.fd = d->obj.fd;
		d->obj.fd = -1;
	} else {
		ent.fd = -1;
		ent.pread = dl_pread;
		ent.close = dl_close;
		ent.ud = d;
		d = NULL;
	}
	http_res_entity(req, &ent);
out:
	if (d)
		dl_close(d);
	catalog_page_free(page);
}
