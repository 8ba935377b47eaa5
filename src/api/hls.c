/* hls.c — HLS playlists, key and segments (see hls.h). */
#include "api/hls.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/auth.h"
#include "api/perm.h"
#include "auth/auth.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/id.h"
#include "catalog/catalog.h"
#include "http/http.h"
#include "store/store.h"
#include "stream/sign.h"

#define HLS_CACHE_SLOTS 256
#define PLAYLIST_MAX (4u << 20)
#define M3U8_TYPE "application/vnd.apple.mpegurl"

/* An object opened for a cache entry: segments are read with pread from one descriptor per
 * rendition rather than an open() per request. It is the object as it was when the entry was
 * loaded (a re-run renames a new file over it; this descriptor keeps the old, consistent bytes
 * until the entry is replaced). */
struct hls_file {
	int fd; /* -1 until opened */
	struct store_stat st;
};

struct hls_cached {
	struct stream_rendition_list l; /* first: api_hls_put gets this pointer back */
	int refs;
	int64_t at_ms;
	char track[ID_LEN + 1];
	struct hls_file *files; /* l.n of them */
};

struct api_hls {
	struct stream *s;
	struct store *store;
	struct stream_signer sg;
	pthread_mutex_t mu;
	struct hls_cached *slot[HLS_CACHE_SLOTS];
};

struct api_hls *api_hls_new(struct stream *s, struct store *store, struct err *e)
{
	struct api_hls *h = calloc(1, sizeof(*h));

	if (!h) {
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	h->s = s;
	h->store = store;
	if (stream_signer_init_from(&h->sg, s, e) < 0) {
		free(h);
		return NULL;
	}
	pthread_mutex_init(&h->mu, NULL);
	return h;
}

static void cached_free(struct hls_cached *c)
{
	if (!c)
		return;
	for (size_t i = 0; c->files && i < c->l.n; i++)
		if (c->files[i].fd >= 0)
			close(c->files[i].fd);
	free(c->files);
	stream_rendition_list_release(&c->l);
	free(c);
}

void api_hls_free(struct api_hls *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < HLS_CACHE_SLOTS; i++)
		cached_free(h->slot[i]);
	stream_signer_release(&h->sg);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

static size_t slot_of(const char *track)
{
	uint32_t x = 2166136261u; /* FNV-1a */

	for (; *track; track++)
		x = (x ^ (unsigned char)*track) * 16777619u;
	return x % HLS_CACHE_SLOTS;
}

const struct stream_rendition_list *api_hls_get(struct api_hls *h, const char *track, int64_t max_age_ms,
						struct err *e)
{
	size_t i = slot_of(track);
	int64_t now = clock_now_ms();
	struct hls_cached *c, *old = NULL;

	pthread_mutex_lock(&h->mu);
	c = h->slot[i];
	if (c && strcmp(c->track, track) == 0 && now - c->at_ms < max_age_ms && now >= c->at_ms) {
		c->refs++;
		pthread_mutex_unlock(&h->mu);
		return &c->l;
	}
	pthread_mutex_unlock(&h->mu);

	if (strlen(track) > ID_LEN) {
		err_set(e, ERR_NOT_FOUND, "no such track");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	if (stream_renditions(h->s, track, &c->l, e) < 0) {
		free(c);
		return NULL;
	}
	if (!(c->files = calloc(c->l.n ? c->l.n : 1, sizeof(*c->files)))) {
		cached_free(c);
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	for (size_t k = 0; k < c->l.n; k++)
		c->files[k].fd = -1;
	memcpy(c->track, track, strlen(track) + 1);
	c->at_ms = now;
	c->refs = 2; /* the table's and the caller's */
	pthread_mutex_lock(&h->mu);
	old = h->slot[i];
	h->slot[i] = c;
	if (old && --old->refs > 0)
		old = NULL;
	pthread_mutex_unlock(&h->mu);
	cached_free(old);
	return &c->l;
}

const struct stream_rendition_list *api_hls_peek(struct api_hls *h, const char *track)
{
	struct hls_cached *c;

	pthread_mutex_lock(&h->mu);
	c = h->slot[slot_of(track)];
	if (c && strcmp(c->track, track) == 0)
		c->refs++;
	else
		c = NULL;
	pthread_mutex_unlock(&h->mu);
	return c ? &c->l : NULL;
}

void api_hls_put(struct api_hls *h, const struct stream_rendition_list *l)
{
	struct hls_cached *c = (struct hls_cached *)l;
	bool last;

	if (!l)
		return;
	pthread_mutex_lock(&h->mu);
	last = --c->refs == 0;
	pthread_mutex_unlock(&h->mu);
	if (last)
		cached_free(c);
}

int api_hls_object_fd(struct api_hls *h, const struct stream_rendition_list *l, size_t i, int *fd,
		      struct store_stat *st, struct err *e)
{
	struct hls_cached *c = (struct hls_cached *)l;
	struct hls_file f = { .fd = -1 };
	int spare = -1;

	if (i >= c->l.n)
		return err_set(e, ERR_NOT_FOUND, "no such rendition");
	pthread_mutex_lock(&h->mu);
	f = c->files[i];
	pthread_mutex_unlock(&h->mu);
	if (f.fd < 0) {
		/* Open outside the lock; whoever installs first wins, the other closes its own. */
		if (store_open_fd(h->store, c->l.items[i].object_key, &f.fd, &f.st, e) < 0)
			return -1;
		pthread_mutex_lock(&h->mu);
		if (c->files[i].fd < 0) {
			c->files[i] = f;
		} else {
			spare = f.fd;
			f = c->files[i];
		}
		pthread_mutex_unlock(&h->mu);
		if (spare >= 0)
			close(spare);
	}
	*fd = f.fd;
	*st = f.st;
	return 0;
}

void api_hls_forget(struct api_hls *h, const char *track)
{
	size_t i = slot_of(track);
	struct hls_cached *c = NULL;

	pthread_mutex_lock(&h->mu);
	if (h->slot[i] && strcmp(h->slot[i]->track, track) == 0) {
		c = h->slot[i];
		h->slot[i] = NULL;
		if (--c->refs > 0)
			c = NULL;
	}
	pthread_mutex_unlock(&h->mu);
	cached_free(c);
}

/* ---- who is asking ---- */

static bool is_lossless(const struct stream_rendition *r)
{
	return strcmp(r->codec, "fLaC") == 0;
}

static bool may_have(const struct auth_principal *p, const struct stream_rendition *r)
{
	return auth_may_have_rendition(p, is_lossless(r) ? 0 : (r->bitrate + 500) / 1000, is_lossless(r));
}

/* Account ids go into URLs unescaped and into the signed message: keep them to id characters. */
static bool id_chars(const char *s)
{
	if (!*s || strlen(s) > ID_LEN)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '-' ||
		      *s == '_'))
			return false;
	return true;
}

/* The caller: the signed query when there is one (then *exp is its expiry), else the Bearer
 * principal the hook set (*exp 0). `need_sig`: only a signature will do (the key). Answers
 * the request and returns -1 when neither is acceptable. */
static int who(struct http_req *req, struct api *a, enum stream_sign_kind kind, const char *track, bool need_sig,
	       struct auth_principal *out, int64_t *exp)
{
	const struct auth_principal *bearer = api_principal(req);
	const char *sig = http_req_query(req, "sig"), *acc = http_req_query(req, "a"), *ps = http_req_query(req, "p");
	struct err e = ERR_INIT;
	long long x;
	char *end;
	unsigned long perms;

	memset(out, 0, sizeof(*out));
	*exp = 0;
	if (!sig) {
		if (need_sig || !bearer) {
			http_res_problem(req, 401, "Unauthorized",
					 need_sig ? "a signed URL is required (?a=&p=&exp=&sig=)"
						  : "send Authorization: Bearer <access token> or use a signed URL");
			return -1;
		}
		*out = *bearer;
		goto check;
	}
	if (!acc || !ps || !id_chars(acc) || http_req_query_int(req, "exp", -1, 0, INT64_MAX / 2, &x, &e) < 0 ||
	    x < 0) {
		http_res_problem(req, 403, "Forbidden", "invalid signature");
		return -1;
	}
	errno = 0;
	perms = strtoul(ps, &end, 16);
	if (!*ps || *end || errno || perms > AUTH_PERM_ALL) {
		http_res_problem(req, 403, "Forbidden", "invalid signature");
		return -1;
	}
	if (stream_sign_verify(&a->hls->sg, kind, acc, track, (unsigned)perms, x, sig, clock_now_ms() / 1000,
			       &e) < 0) {
		http_res_problem(req, e.code == ERR_UNAUTHORIZED ? 401 : 403,
				 e.code == ERR_UNAUTHORIZED ? "Unauthorized" : "Forbidden", e.msg);
		return -1;
	}
	/* A signed URL used together with someone else's token: the two disagree. */
	if (bearer && strcmp(bearer->user_id, acc) != 0) {
		http_res_problem(req, 403, "Forbidden", "this signed URL belongs to another account");
		return -1;
	}
	memcpy(out->user_id, acc, strlen(acc) + 1); /* id_chars: at most ID_LEN */
	out->perms = (unsigned)perms;
	out->scopes = (unsigned)perms;
	*exp = x;
check:
	if (!auth_principal_can(out, PERM_STREAM)) {
		http_res_problem(req, 403, "Forbidden", "your account may not stream");
		return -1;
	}
	return 0;
}

/* "a=…&p=…&exp=…&sig=…" for `kind`, in the request's pool; NULL on failure (answered). */
static const char *signed_query(struct http_req *req, struct api *a, enum stream_sign_kind kind, const char *track,
				const struct auth_principal *p, int64_t exp)
{
	char sig[STREAM_SIG_HEX_LEN + 1];
	struct err e = ERR_INIT;
	const char *q;

	if (!exp)
		exp = clock_now_ms() / 1000 + STREAM_SIGN_TTL_DEFAULT;
	if (!id_chars(p->user_id)) {
		http_res_problem(req, 403, "Forbidden", "this principal cannot be given signed URLs");
		return NULL;
	}
	if (stream_sign(&a->hls->sg, kind, p->user_id, track, p->perms, exp, sig, &e) < 0) {
		http_res_err(req, &e);
		return NULL;
	}
	q = http_req_printf(req, "a=%s&p=%x&exp=%lld&sig=%s", p->user_id, p->perms, (long long)exp, sig);
	if (!q)
		http_res_problem(req, 500, "Internal Server Error", "out of memory");
	return q;
}

/* The track's renditions, or an answer: 404 unknown track, 409 still processing. */
static const struct stream_rendition_list *renditions(struct http_req *req, struct api *a, const char *track)
{
	const struct stream_rendition_list *l;
	struct catalog_page *page = NULL;
	struct err e = ERR_INIT;

	if (!a->hls) {
		http_res_problem(req, 503, "Service Unavailable", "streaming is not configured on this server");
		return NULL;
	}
	l = api_hls_get(a->hls, track, API_HLS_FRESH_MS, &e);
	if (l)
		return l;
	if (e.code != ERR_NOT_FOUND) {
		http_res_err(req, &e);
		return NULL;
	}
	err_clear(&e);
	if (!id_valid(track) || catalog_get(a->catalog, CATALOG_TRACKS, track, &page, &e) < 0) {
		http_res_problem(req, 404, "Not Found", "no such track");
		return NULL;
	}
	catalog_page_free(page);
	http_res_header(req, "Retry-After", "2");
	http_res_problem(req, 409, "Conflict",
			 http_req_printf(req, "still processing: see /api/v1/tracks/%s/status", track));
	return NULL;
}

static const struct stream_rendition *find(const struct stream_rendition_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->items[i].name, name) == 0)
			return &l->items[i];
	return NULL;
}

static void send_text(struct http_req *req, struct buf *b, bool bad)
{
	if (bad || b->len == 0 || !buf_str(b)) {
		http_res_problem(req, 500, "Internal Server Error", "playlist too large");
		return;
	}
	http_res_header(req, "Cache-Control", "private, no-store");
	http_res_send(req, 200, M3U8_TYPE, buf_str(b), b->len);
}

/* ---- handlers ---- */

void api_hls_url(struct http_req *req, void *app)
{
	struct api *a = app;
	const char *track = http_req_param(req, "id"), *q;
	const struct auth_principal *p = api_principal(req);
	struct err e = ERR_INIT;
	long long ttl;
	int64_t exp;
	json_t *body;

	if (!a->hls) {
		http_res_problem(req, 503, "Service Unavailable", "streaming is not configured on this server");
		return;
	}
	if (!p || !id_valid(track)) {
		http_res_problem(req, p ? 404 : 401, p ? "Not Found" : "Unauthorized", p ? "no such track" : "sign in first");
		return;
	}
	/* A client may ask for a shorter-lived URL (to hand to a device it trusts less). */
	if (http_req_query_int(req, "ttl", STREAM_SIGN_TTL_DEFAULT, 1, STREAM_SIGN_TTL_DEFAULT, &ttl, &e) < 0) {
		http_res_err(req, &e);
		return;
	}
	exp = clock_now_ms() / 1000 + ttl;
	if (!(q = signed_query(req, a, STREAM_SIGN_MASTER, track, p, exp)))
		return;
	body = json_pack("{s:s, s:I}", "url", http_req_printf(req, "/hls/%s/master.m3u8?%s", track, q), "expires_at",
			 (json_int_t)exp);
	if (!body) {
		http_res_problem(req, 500, "Internal Server Error", "out of memory");
		return;
	}
	http_res_header(req, "Cache-Control", "private, no-store");
	http_res_json(req, 200, body);
}

void api_hls_master(struct http_req *req, void *app)
{
	struct api *a = app;
	const char *track = http_req_param(req, "track"), *q;
	const struct stream_rendition_list *l = NULL;
	struct auth_principal p;
	struct buf b;
	int64_t exp;
	size_t listed = 0;
	bool bad = false;

	buf_init(&b, PLAYLIST_MAX);
	if (!a->hls) {
		http_res_problem(req, 503, "Service Unavailable", "streaming is not configured on this server");
		goto out;
	}
	if (who(req, a, STREAM_SIGN_MASTER, track, false, &p, &exp) < 0 || !(l = renditions(req, a, track)))
		goto out;
	if (!(q = signed_query(req, a, STREAM_SIGN_MEDIA, track, &p, exp)))
		goto out;
	bad |= buf_adds(&b, "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n") < 0;
	for (size_t i = 0; i < l->n; i++) {
		const struct stream_rendition *r = &l->items[i];

		if (!may_have(&p, r))
			continue;
		bad |= buf_addf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%d,AVERAGE-BANDWIDTH=%d,CODECS=\"%s\"\n%s/index.m3u8?%s\n",
				r->peak_bandwidth, r->avg_bandwidth, r->codec, r->name, q) < 0;
		listed++;
	}
	if (!listed) {
		http_res_problem(req, 403, "Forbidden", "no rendition of this track is available to your account");
		goto out;
	}
	send_text(req, &b, bad);
out:
	if (a->hls)
		api_hls_put(a->hls, l);
	buf_release(&b);
}

void api_hls_media(struct http_req *req, void *app)
{
	struct api *a = app;
	const char *track = http_req_param(req, "track"), *name = http_req_param(req, "rendition"), *q, *dir;
	const struct stream_rendition_list *l = NULL;
	const struct stream_rendition *r;
	struct auth_principal p;
	struct buf b;
	int64_t exp;
	bool bad = false;

	buf_init(&b, PLAYLIST_MAX);
	if (!a->hls) {
		http_res_problem(req, 503, "Service Unavailable", "streaming is not configured on this server");
		goto out;
	}
	if (who(req, a, STREAM_SIGN_MEDIA, track, false, &p, &exp) < 0 || !(l = renditions(req, a, track)))
		goto out;
	if (!(r = find(l, name))) {
		http_res_problem(req, 404, "Not Found", "no such rendition");
		goto out;
	}
	if (!may_have(&p, r)) {
		http_res_problem(req, 403, "Forbidden", "your account may not have this rendition");
		goto out;
	}
	if (!(q = signed_query(req, a, STREAM_SIGN_KEY, track, &p, exp)))
		goto out;
	/* A remote store cannot be read on the event loop: name the URLs served from the pool. */
	dir = store_caps(a->store) & STORE_CAP_FD ? "" : "r/";
	bad |= buf_addf(&b,
		 "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:%d\n#EXT-X-PLAYLIST-TYPE:VOD\n"
		 "#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MEDIA-SEQUENCE:%d\n#EXT-X-MAP:URI=\"%sinit.mp4\"\n",
		 r->target_duration, r->media_sequence, dir) < 0;
	/* The key line is repeated with each segment's explicit IV (its media sequence number):
	 * the default IV would be the same number, but saying it leaves players nothing to guess. */
	for (size_t i = 0; i < r->nsegments; i++) {
		uint64_t seq = (uint64_t)r->media_sequence + i;

		bad |= buf_addf(&b, "#EXT-X-KEY:METHOD=AES-128,URI=\"../key?%s\",IV=0x%032" PRIx64 "\n#EXTINF:%.3f,\n%s%" PRIu64
			     ".m4s\n",
			 q, seq, (double)r->segments[i].duration / (double)r->sample_rate, dir, seq) < 0;
	}
	bad |= buf_adds(&b, "#EXT-X-ENDLIST\n") < 0;
	send_text(req, &b, bad);
out:
	if (a->hls)
		api_hls_put(a->hls, l);
	buf_release(&b);
}

void api_hls_key(struct http_req *req, void *app)
{
	struct api *a = app;
	const char *track = http_req_param(req, "track");
	unsigned char key[STREAM_KEY_LEN];
	struct auth_principal p;
	struct err e = ERR_INIT;
	int64_t exp;

	if (!a->hls || !a->stream) {
		http_res_problem(req, 503, "Service Unavailable", "streaming is not configured on this server");
		return;
	}
	if (who(req, a, STREAM_SIGN_KEY, track, true, &p, &exp) < 0)
		return;
	if (stream_key(a->stream, track, key, &e) < 0) {
		http_res_err(req, &e);
		return;
	}
	http_res_header(req, "Cache-Control", "no-store");
	http_res_send(req, 200, "application/octet-stream", key, sizeof(key));
	OPENSSL_cleanse(key, sizeof(key));
}
