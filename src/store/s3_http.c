/* s3_http.c — see s3_http.h. */
#include "store/s3_http.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include <openssl/sha.h>

#include "base/log.h"
#include "store/s3xml.h"

#define LOW_SPEED_BYTES 1024L  /* a transfer slower than this … */
#define LOW_SPEED_SECONDS 30L  /* … for this long is dead */
#define BACKOFF_MS 100         /* first retry after 50–100 ms, then 100–200 ms */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

/* curl_global_init is not thread-safe in 7.88; run it once, whoever opens a store first. */
static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
	struct s3_cfg *c = ud;

	(void)h;
	(void)access;
	pthread_mutex_lock(&c->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ud)
{
	struct s3_cfg *c = ud;

	(void)h;
	pthread_mutex_unlock(&c->share_locks[data]);
}

int s3_cfg_init(struct s3_cfg *c, struct err *e)
{
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return err_set(e, ERR_INTERNAL, "libcurl: %s", curl_easy_strerror(global_rc));
	for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&c->share_locks[i], NULL);
	pthread_mutex_init(&c->pool_lock, NULL);
	c->npool = 0;
	c->share = curl_share_init();
	if (!c->share ||
	    curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock) != CURLSHE_OK ||
	    curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock) != CURLSHE_OK ||
	    curl_share_setopt(c->share, CURLSHOPT_USERDATA, c) != CURLSHE_OK ||
	    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
	    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
		s3_cfg_release(c);
		return err_set(e, ERR_NOMEM, "libcurl: cannot set up a share");
	}
	return 0;
}

void s3_cfg_release(struct s3_cfg *c)
{
	for (size_t i = 0; i < c->npool; i++)
		curl_easy_cleanup(c->pool[i]);
	c->npool = 0;
	if (c->share)
		curl_share_cleanup(c->share);
	c->share = NULL;
	pthread_mutex_destroy(&c->pool_lock);
	for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&c->share_locks[i]);
}

static CURL *pool_get(struct s3_cfg *c)
{
	CURL *h = NULL;

	pthread_mutex_lock(&c->pool_lock);
	if (c->npool)
		h = c->pool[--c->npool];
	pthread_mutex_unlock(&c->pool_lock);
	return h ? h : curl_easy_init();
}

static void pool_put(struct s3_cfg *c, CURL *h)
{
	pthread_mutex_lock(&c->pool_lock);
	if (c->npool < S3_POOL_MAX) {
		c->pool[c->npool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&c->pool_lock);
	if (h)
		curl_easy_cleanup(h);
}

void s3_response_init(struct s3_response *rs)
{
	memset(rs, 0, sizeof(*rs));
	buf_init(&rs->body, S3_BODY_MAX);
}

void s3_response_release(struct s3_response *rs)
{
	buf_release(&rs->body);
}

static void response_reset(struct s3_response *rs)
{
	rs->status = 0;
	buf_reset(&rs->body);
	rs->etag[0] = '\0';
	rs->has_length = rs->has_total = false;
	rs->length = rs->total = 0;
	rs->last_modified = 0;
}

int s3_uri_encode(struct buf *out, const char *s, size_t n, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			    c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/');
		char esc[3] = { '%', hex[c >> 4], hex[c & 15] };

		if (keep ? buf_addch(out, (char)c) < 0 : buf_add(out, esc, 3) < 0)
			return -1;
	}
	return 0;
}

/* ---- one transfer ----------------------------------------------------------------------- */

struct call {
	CURL *h;
	const struct s3_request *rq;
	struct s3_response *rs;
	size_t upload_pos;
	bool started;          /* the first byte of a 2xx body has been seen */
	uint64_t skip, remain; /* of a 2xx body: bytes to drop, then to deliver */
	uint64_t range_start;  /* Content-Range "bytes <start>-…" */
	bool has_range_start;
	bool overflow;         /* the body did not fit rs->body */
	bool bad_range;        /* a 206 for some other range than asked */
};

static size_t on_read(char *dst, size_t size, size_t n, void *ud)
{
	struct call *cl = ud;
	size_t left = cl->rq->body_len - cl->upload_pos, k = size * n < left ? size * n : left;

	if (k)
		memcpy(dst, (const char *)cl->rq->body + cl->upload_pos, k);
	cl->upload_pos += k;
	return k;
}

static int on_seek(void *ud, curl_off_t off, int origin)
{
	struct call *cl = ud;

	if (origin != SEEK_SET || off < 0 || (uint64_t)off > cl->rq->body_len)
		return CURL_SEEKFUNC_FAIL;
	cl->upload_pos = (size_t)off;
	return CURL_SEEKFUNC_OK;
}

static bool ranged(const struct s3_request *rq)
{
	return rq->sink && (rq->off > 0 || rq->len != UINT64_MAX);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct call *cl = ud;
	size_t len = size * n;
	long status = 0;

	curl_easy_getinfo(cl->h, CURLINFO_RESPONSE_CODE, &status);
	if (!(status >= 200 && status < 300 && cl->rq->sink)) {
		if (buf_add(&cl->rs->body, p, len) < 0) {
			cl->overflow = true;
			return 0;
		}
		return len;
	}
	if (!cl->started) {
		cl->started = true;
		if (status == 206) {
			if (!cl->has_range_start || cl->range_start != cl->rq->off) {
				cl->bad_range = true;
				return 0;
			}
			cl->skip = 0;
			cl->remain = UINT64_MAX;
		} else {
			/* a server that ignored Range sends the whole object: cut out the range */
			cl->skip = ranged(cl->rq) ? cl->rq->off : 0;
			cl->remain = cl->rq->len;
		}
	}
	if (cl->skip) {
		size_t k = cl->skip < len ? (size_t)cl->skip : len;
		cl->skip -= k;
		p += k;
		len -= k;
	}
	if (len > cl->remain)
		len = (size_t)cl->remain;
	if (len == 0)
		return size * n;
	if (cl->rq->sink(cl->rq->ud, p, len) != 0) {
		cl->rs->sink_stopped = true;
		return 0;
	}
	cl->remain -= len;
	cl->rs->delivered += len;
	return size * n;
}

static bool header_is(const char *line, size_t n, const char *name, const char **val, size_t *vlen)
{
	size_t k = strlen(name);

	if (n <= k || line[k] != ':' || strncasecmp(line, name, k) != 0)
		return false;
	line += k + 1;
	n -= k + 1;
	while (n && (*line == ' ' || *line == '\t'))
		line++, n--;
	while (n && (line[n - 1] == '\r' || line[n - 1] == '\n' || line[n - 1] == ' '))
		n--;
	*val = line;
	*vlen = n;
	return true;
}

static bool parse_u64(const char *s, size_t n, uint64_t *out, size_t *used)
{
	uint64_t v = 0;
	size_t i = 0;

	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (i == 0)
		return false;
	*out = v;
	if (used)
		*used = i;
	return used ? true : i == n;
}

static size_t on_header(char *line, size_t size, size_t n, void *ud)
{
	struct call *cl = ud;
	struct s3_response *rs = cl->rs;
	size_t len = size * n, vlen, used;
	const char *v;

	if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
		/* a new header block (after a 100 Continue, say): forget the last one */
		response_reset(rs);
		cl->has_range_start = false;
		return len;
	}
	if (header_is(line, len, "etag", &v, &vlen)) {
		if (vlen < sizeof(rs->etag)) {
			memcpy(rs->etag, v, vlen);
			rs->etag[vlen] = '\0';
		}
	} else if (header_is(line, len, "content-length", &v, &vlen)) {
		rs->has_length = parse_u64(v, vlen, &rs->length, NULL);
	} else if (header_is(line, len, "last-modified", &v, &vlen)) {
		char tmp[64];
		if (vlen < sizeof(tmp)) {
			memcpy(tmp, v, vlen);
			tmp[vlen] = '\0';
			time_t t = curl_getdate(tmp, NULL);
			rs->last_modified = t > 0 ? (int64_t)t : 0;
		}
	} else if (header_is(line, len, "content-range", &v, &vlen)) {
		/* "bytes <first>-<last>/<total>" */
		if (vlen > 6 && memcmp(v, "bytes ", 6) == 0 &&
		    parse_u64(v + 6, vlen - 6, &cl->range_start, &used)) {
			cl->has_range_start = true;
			const char *slash = memchr(v, '/', vlen);
			if (slash) {
				size_t rest = vlen - (size_t)(slash + 1 - v);
				rs->has_total = parse_u64(slash + 1, rest, &rs->total, NULL);
			}
		}
	}
	return len;
}

static bool retryable_curl(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

static bool retryable_status(long status)
{
	return status == 429 || status >= 500;
}

static void backoff(int attempt)
{
	unsigned ms = BACKOFF_MS << attempt, r = 0;
	struct timespec ts;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (unsigned)time(NULL);
	ms = ms / 2 + r % (ms / 2 + 1);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0)
		;
}

static CURLcode setup(struct s3_cfg *c, struct call *cl, const char *url, struct curl_slist *hdrs,
		      char *errbuf)
{
	CURL *h = cl->h;
	const struct s3_request *rq = cl->rq;
	CURLcode rc = CURLE_OK;

#define SET(opt, val)                                          \
	do {                                                   \
		if (rc == CURLE_OK)                            \
			rc = curl_easy_setopt(h, opt, val);    \
	} while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_SHARE, c->share);
	SET(CURLOPT_AWS_SIGV4, c->sigv4);
	SET(CURLOPT_USERNAME, c->access);
	SET(CURLOPT_PASSWORD, c->secret);
	SET(CURLOPT_HTTPHEADER, hdrs);
	SET(CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	SET(CURLOPT_LOW_SPEED_LIMIT, LOW_SPEED_BYTES);
	SET(CURLOPT_LOW_SPEED_TIME, LOW_SPEED_SECONDS);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, cl);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, cl);
	if (strcmp(rq->method, "HEAD") == 0) {
		SET(CURLOPT_NOBODY, 1L);
	} else if (strcmp(rq->method, "PUT") == 0 || strcmp(rq->method, "POST") == 0) {
		SET(CURLOPT_UPLOAD, 1L);
		SET(CURLOPT_READFUNCTION, on_read);
		SET(CURLOPT_READDATA, cl);
		SET(CURLOPT_SEEKFUNCTION, on_seek);
		SET(CURLOPT_SEEKDATA, cl);
		SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)rq->body_len);
		if (strcmp(rq->method, "POST") == 0)
			SET(CURLOPT_CUSTOMREQUEST, "POST");
	} else if (strcmp(rq->method, "GET") != 0) {
		SET(CURLOPT_CUSTOMREQUEST, rq->method);
	}
#undef SET
	return rc;
}

static int add_header(struct curl_slist **l, const char *name, const char *value)
{
	struct buf line = BUF_INIT;
	struct curl_slist *n = NULL;

	buf_init(&line, 16384);
	if (buf_addf(&line, "%s: %s", name, value) == 0)
		n = curl_slist_append(*l, buf_str(&line));
	buf_release(&line);
	if (!n)
		return -1;
	*l = n;
	return 0;
}

/* The request's URL and signed headers. */
static int prepare(struct s3_cfg *c, const struct s3_request *rq, struct buf *url,
		   struct curl_slist **hdrs, struct err *e)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char hex[2 * SHA256_DIGEST_LENGTH + 1], range[64];

	if (buf_adds(url, c->base) < 0)
		return err_set(e, ERR_NOMEM, "out of memory");
	if (rq->key && (buf_addch(url, '/') < 0 || s3_uri_encode(url, rq->key, strlen(rq->key), true) < 0))
		return err_set(e, ERR_NOMEM, "out of memory");
	if (rq->query && rq->query[0] && (buf_addch(url, '?') < 0 || buf_adds(url, rq->query) < 0))
		return err_set(e, ERR_NOMEM, "out of memory");

	SHA256(rq->body_len ? rq->body : (const void *)"", rq->body_len, md);
	for (size_t i = 0; i < sizeof(md); i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if (add_header(hdrs, "x-amz-content-sha256", hex) < 0)
		goto nomem;
	if (c->token && add_header(hdrs, "x-amz-security-token", c->token) < 0)
		goto nomem;
	if (rq->content_type && add_header(hdrs, "Content-Type", rq->content_type) < 0)
		goto nomem;
	if (rq->if_match && add_header(hdrs, "If-Match", rq->if_match) < 0)
		goto nomem;
	if (ranged(rq)) {
		if (rq->len == UINT64_MAX || rq->len > UINT64_MAX - rq->off)
			snprintf(range, sizeof(range), "bytes=%" PRIu64 "-", rq->off);
		else
			snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64, rq->off,
				 rq->off + rq->len - 1);
		if (add_header(hdrs, "Range", range) < 0)
			goto nomem;
	}
	return 0;
nomem:
	return err_set(e, ERR_NOMEM, "out of memory");
}

int s3_error(long status, const char *body, size_t len, const char *what, struct err *e)
{
	char code[64] = "", msg[160] = "";

	if (len) {
		if (s3xml_text(body, len, "Code", code, sizeof(code)) != 1)
			code[0] = '\0';
		if (s3xml_text(body, len, "Message", msg, sizeof(msg)) != 1)
			msg[0] = '\0';
	}
	const char *sep = code[0] ? " " : "";
	switch (status) {
	case 404:
		if (strcmp(code, "NoSuchBucket") == 0)
			return err_set(e, ERR_NOT_FOUND, "%s: S3 bucket not found", what);
		if (strcmp(code, "NoSuchUpload") == 0)
			return err_set(e, ERR_NOT_FOUND, "%s: S3 multipart upload not found", what);
		return err_set(e, ERR_NOT_FOUND, "%s: no such object", what);
	case 403:
		return err_set(e, ERR_FORBIDDEN,
			       "%s: S3 refused the request (403%s%s): check the signature/credentials "
			       "(access key, secret key, region)", what, sep, code);
	case 401:
		return err_set(e, ERR_UNAUTHORIZED, "%s: S3 wants credentials (401%s%s)", what, sep, code);
	case 416:
		return err_set(e, ERR_RANGE, "%s: range starts past the end of the object", what);
	case 409:
	case 412:
		return err_set(e, ERR_CONFLICT, "%s: S3 %ld%s%s (the object changed meanwhile?)", what,
			       status, sep, code);
	case 413:
		return err_set(e, ERR_TOO_LARGE, "%s: S3 %ld%s%s", what, status, sep, code);
	default:
		break;
	}
	if (status == 429 || status >= 500)
		return err_set(e, ERR_UNAVAILABLE, "%s: S3 unavailable (%ld%s%s)", what, status, sep, code);
	if (status >= 400)
		return err_set(e, ERR_INVALID, "%s: S3 %ld%s%s%s%s", what, status, sep, code,
			       msg[0] ? ": " : "", msg);
	return err_set(e, ERR_IO, "%s: unexpected S3 answer %ld", what, status);
}

static int curl_error(CURLcode cc, const struct call *cl, const char *errbuf, struct err *e)
{
	const char *what = cl->rq->method, *detail = errbuf[0] ? errbuf : curl_easy_strerror(cc);

	if (cl->rs->sink_stopped)
		return err_set(e, ERR_IO, "read stopped by the sink");
	if (cl->overflow)
		return err_set(e, ERR_TOO_LARGE, "S3 %s: answer larger than %zu bytes", what, S3_BODY_MAX);
	if (cl->bad_range)
		return err_set(e, ERR_IO, "S3 %s: the server sent another range than asked", what);
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
		return err_set(e, ERR_UNAVAILABLE, "S3 %s: cannot reach the endpoint: %s", what, detail);
	case CURLE_OPERATION_TIMEDOUT:
		/* no HTTP answer at all: the endpoint is as good as unreachable */
		if (cl->rs->status == 0)
			return err_set(e, ERR_UNAVAILABLE, "S3 %s: cannot reach the endpoint: %s", what, detail);
		return err_set(e, ERR_TIMEOUT, "S3 %s: transfer stalled: %s", what, detail);
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return err_set(e, ERR_UNAVAILABLE, "S3 %s: connection failed: %s", what, detail);
	case CURLE_OUT_OF_MEMORY:
		return err_set(e, ERR_NOMEM, "out of memory");
	default:
		return err_set(e, ERR_IO, "S3 %s: %s", what, detail);
	}
}

int s3_perform(struct s3_cfg *c, const struct s3_request *rq, struct s3_response *rs,
	       struct err *e)
{
	struct buf url = BUF_INIT;
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE];
	struct call cl;
	CURLcode cc = CURLE_OK;
	CURL *h = NULL;
	int ret = -1;

	response_reset(rs);
	rs->delivered = 0;
	rs->sink_stopped = false;
	if (prepare(c, rq, &url, &hdrs, e) < 0)
		goto out;
	h = pool_get(c);
	if (!h) {
		err_set(e, ERR_NOMEM, "libcurl: no handle");
		goto out;
	}
	for (int attempt = 0;; attempt++) {
		memset(&cl, 0, sizeof(cl));
		cl.h = h;
		cl.rq = rq;
		cl.rs = rs;
		errbuf[0] = '\0';
		response_reset(rs);
		curl_easy_reset(h);
		cc = setup(c, &cl, buf_str(&url), hdrs, errbuf);
		if (cc == CURLE_OK)
			cc = curl_easy_perform(h);
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rs->status);
		if (cc == CURLE_OK && !retryable_status(rs->status))
			break;
		if (cc != CURLE_OK && !retryable_curl(cc))
			break;
		if (!rq->retry || rs->delivered > 0 || attempt + 1 >= S3_ATTEMPTS)
			break;
		log_kv(LOG_WARN, NULL, "s3 request failed, retrying",
		       LOG_FIELDS(LOG_STR("method", rq->method), LOG_INT("status", rs->status),
				  LOG_STR("error", cc == CURLE_OK ? "" : curl_easy_strerror(cc)),
				  LOG_INT("attempt", attempt + 1)));
		backoff(attempt);
	}
	if (cc != CURLE_OK) {
		curl_error(cc, &cl, errbuf, e);
		goto out;
	}
	if (rs->status < 200 || rs->status > 299) {
		char what[32];

		snprintf(what, sizeof(what), "S3 %s", rq->method);
		s3_error(rs->status, rs->body.data, rs->body.len, what, e);
		goto out;
	}
	/* A server that ignores Range answers 200 with the whole object, also when the range
	 * starts past its end: that is a 416 all the same. */
	if (rs->status == 200 && ranged(rq) && rq->off > 0 && rs->has_length &&
	    rq->off >= rs->length) {
		rs->status = 416;
		s3_error(416, NULL, 0, "S3 GET", e);
		goto out;
	}
	ret = 0;
out:
	if (h)
		pool_put(c, h);
	curl_slist_free_all(hdrs);
	buf_release(&url);
	return ret;
}
