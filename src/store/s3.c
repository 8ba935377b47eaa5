/* s3.c — the S3 store backend (s3://bucket?endpoint=…): the operations, on top of one
 * signed request with retries (s3_http.c) and the XML extractor (s3xml.c).
 *
 * Writes: store_put and a writer's commit send one PUT when the object fits in one part
 * (part_size, 8 MiB by default); a larger object goes up as a multipart upload, one part at
 * a time from a part-sized buffer, so memory stays bounded whatever the object size. S3
 * shows nothing under the key until CompleteMultipartUpload, which gives the all-or-nothing
 * rule; a failure or abort sends AbortMultipartUpload so no parts linger (if that also fails,
 * a bucket lifecycle rule for incomplete uploads is the backstop).
 *
 * Reads stream a ranged GET into the caller's sink. A transfer cut off midway is resumed
 * from where it stopped with If-Match on the first answer's ETag, so the pieces can only come
 * from one version of the object.
 */
#include "store/s3.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "store/backend.h"
#include "store/s3_http.h"
#include "store/s3_write.h"
#include "store/s3xml.h"

#define PART_MIN ((size_t)5 << 20)
#define PART_DEFAULT ((size_t)8 << 20)
#define PART_MAX ((size_t)1 << 30)  /* S3 allows 5 GiB; a part is held in memory */
#define CONNECT_TIMEOUT_MS 5000L

struct s3_store {
	struct store base;
	struct s3_cfg cfg;
	bool cfg_ready;
};

static const struct store_ops s3_ops;

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

/* Percent-decode [s, s + n) into a new string (no NUL bytes allowed). NULL when malformed. */
static char *pct_decode(const char *s, size_t n)
{
	char *out = malloc(n + 1);
	size_t o = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		int hi = i + 2 < n ? hexval(s[i + 1]) : -1, lo = i + 2 < n ? hexval(s[i + 2]) : -1;
		if (hi < 0 || lo < 0 || (hi | lo) == 0) {
			free(out);
			return NULL;
		}
		out[o++] = (char)(hi * 16 + lo);
		i += 2;
	}
	out[o] = '\0';
	return out;
}

static bool all_of(const char *s, const char *set)
{
	return s[0] && strspn(s, set) == strlen(s);
}

#define LOWER_DIGITS "abcdefghijklmnopqrstuvwxyz0123456789"
#define ALNUM LOWER_DIGITS "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

static int parse_size(const char *v, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	unsigned long long x;

	if (!all_of(v, "0123456789"))
		return -1;
	x = strtoull(v, &end, 10);
	if (*end || x < lo || x > hi)
		return -1;
	*out = x;
	return 0;
}

struct s3_url {
	char *bucket, *endpoint, *region;
	int path_style; /* -1: not given */
	uint64_t part_size, connect_timeout_ms;
};

static void s3_url_release(struct s3_url *u)
{
	free(u->bucket);
	free(u->endpoint);
	free(u->region);
}

static int parse_param(struct s3_url *u, const char *name, size_t nlen, char *val, struct err *e)
{
#define IS(lit) (nlen == strlen(lit) && memcmp(name, lit, nlen) == 0)
	if (IS("endpoint")) {
		free(u->endpoint);
		u->endpoint = val;
		return 0;
	}
	if (IS("region")) {
		free(u->region);
		u->region = val;
		return 0;
	}
	int r = 0;
	if (IS("path_style")) {
		if (!strcmp(val, "true") || !strcmp(val, "1"))
			u->path_style = 1;
		else if (!strcmp(val, "false") || !strcmp(val, "0"))
			u->path_style = 0;
		else
			r = err_set(e, ERR_INVALID, "s3 URL: path_style wants true or false");
	} else if (IS("part_size")) {
		if (parse_size(val, PART_MIN, PART_MAX, &u->part_size) < 0)
			r = err_set(e, ERR_INVALID, "s3 URL: part_size wants bytes, %zu to %zu", PART_MIN,
				    PART_MAX);
	} else if (IS("connect_timeout_ms")) {
		if (parse_size(val, 1, 600000, &u->connect_timeout_ms) < 0)
			r = err_set(e, ERR_INVALID, "s3 URL: connect_timeout_ms wants 1 to 600000");
	} else {
		r = err_set(e, ERR_INVALID, "s3 URL: unknown parameter '%.*s'", (int)(nlen > 40 ? 40 : nlen),
			    name);
	}
	free(val);
	return r;
#undef IS
}

static int parse_url(const char *rest, struct s3_url *u, struct err *e)
{
	const char *q = strchr(rest, '?');
	size_t blen = q ? (size_t)(q - rest) : strlen(rest);

	u->path_style = -1;
	if (blen && rest[blen - 1] == '/')
		blen--;
	if (blen == 0 || blen > 255)
		return err_set(e, ERR_INVALID, "s3 URL: want s3://bucket[?params]");
	u->bucket = strndup(rest, blen);
	if (!u->bucket)
		return err_set(e, ERR_NOMEM, "out of memory");
	if (!all_of(u->bucket, ALNUM "._-"))
		return err_set(e, ERR_INVALID, "s3 URL: the bucket name has characters outside [A-Za-z0-9._-] "
				  "(no path after the bucket)");
	for (const char *p = q ? q + 1 : NULL; p && *p;) {
		const char *amp = strchr(p, '&'), *end = amp ? amp : p + strlen(p);
		const char *eq = memchr(p, '=', (size_t)(end - p));
		char *val;

		if (!eq)
			return err_set(e, ERR_INVALID, "s3 URL: parameter without '=' value");
		val = pct_decode(eq + 1, (size_t)(end - eq - 1));
		if (!val)
			return err_set(e, ERR_INVALID, "s3 URL: bad percent-escape in a parameter");
		if (parse_param(u, p, (size_t)(eq - p), val, e) < 0)
			return -1;
		p = amp ? amp + 1 : end;
	}
	return 0;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

/* Fill the request configuration from the parsed URL, the options and the environment. */
static int configure(struct s3_cfg *c, struct s3_url *u, const struct store_options *opt,
		     struct err *e)
{
	const char *region = opt->s3_region && opt->s3_region[0] ? opt->s3_region :
			     u->region && u->region[0] ? u->region :
			     getenv("AWS_REGION") && getenv("AWS_REGION")[0] ? getenv("AWS_REGION") :
			     "us-east-1";
	const char *access = opt->s3_access_key ? opt->s3_access_key : getenv("AWS_ACCESS_KEY_ID");
	const char *secret = opt->s3_secret_key ? opt->s3_secret_key : getenv("AWS_SECRET_ACCESS_KEY");
	const char *token = opt->s3_session_token ? opt->s3_session_token : getenv("AWS_SESSION_TOKEN");
	struct buf b = BUF_INIT;
	bool path_style;
	int ret = -1;

	if (!all_of(region, LOWER_DIGITS "-"))
		return err_set(e, ERR_INVALID, "s3: region wants [a-z0-9-]");
	if (!access || !access[0] || !secret || !secret[0])
		return err_set(e, ERR_INVALID, "s3: no credentials (store options or AWS_ACCESS_KEY_ID and "
				  "AWS_SECRET_ACCESS_KEY)");
	/* they end up in request headers: printable ASCII only */
	if (!printable(access) || !printable(secret) || (token && !printable(token)))
		return err_set(e, ERR_INVALID, "s3: credentials with control or non-ASCII bytes");
	c->bucket = strdup(u->bucket);
	c->region = strdup(region);
	c->access = strdup(access);
	c->secret = strdup(secret);
	c->token = token && token[0] ? strdup(token) : NULL;
	if (!c->bucket || !c->region || !c->access || !c->secret || (token && token[0] && !c->token))
		return err_set(e, ERR_NOMEM, "out of memory");
	c->part_size = u->part_size ? (size_t)u->part_size : PART_DEFAULT;
	c->connect_timeout_ms = u->connect_timeout_ms ? (long)u->connect_timeout_ms : CONNECT_TIMEOUT_MS;

	if (buf_addf(&b, "aws:amz:%s:s3", region) < 0)
		goto nomem;
	c->sigv4 = buf_detach(&b, NULL);
	if (!c->sigv4)
		goto nomem;

	if (u->endpoint) {
		const char *ep = u->endpoint, *host;
		size_t n = strlen(ep);

		if (strncasecmp(ep, "http://", 7) == 0)
			host = ep + 7;
		else if (strncasecmp(ep, "https://", 8) == 0)
			host = ep + 8;
		else
			return err_set(e, ERR_INVALID, "s3 URL: endpoint wants http:// or https://");
		while (n > (size_t)(host - ep) && ep[n - 1] == '/')
			n--;
		if (n == (size_t)(host - ep) || memchr(host, '/', n - (size_t)(host - ep)) ||
		    strpbrk(host, "?#@ "))
			return err_set(e, ERR_INVALID, "s3 URL: endpoint wants scheme://host[:port] only");
		path_style = u->path_style != 0; /* self-hosted services mostly want path style */
		if (path_style)
			ret = buf_addf(&b, "%.*s/%s", (int)n, ep, c->bucket);
		else
			ret = buf_addf(&b, "%.*s%s.%.*s", (int)(host - ep), ep, c->bucket,
				       (int)(n - (size_t)(host - ep)), host);
	} else {
		/* AWS: virtual-hosted style, except for dotted names, which the wildcard TLS
		 * certificate does not cover. */
		path_style = u->path_style == 1 || (u->path_style == -1 && strchr(c->bucket, '.'));
		if (path_style)
			ret = buf_addf(&b, "https://s3.%s.amazonaws.com/%s", region, c->bucket);
		else
			ret = buf_addf(&b, "https://%s.s3.%s.amazonaws.com", c->bucket, region);
	}
	if (ret < 0)
		goto nomem;
	c->base = buf_detach(&b, NULL);
	if (!c->base)
		goto nomem;
	return 0;
nomem:
	buf_release(&b);
	return err_set(e, ERR_NOMEM, "out of memory");
}

static void free_secret(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

static void s3_close(struct store *st)
{
	struct s3_store *s = (struct s3_store *)st;
	struct s3_cfg *c = &s->cfg;

	if (s->cfg_ready)
		s3_cfg_release(c);
	free(c->bucket);
	free(c->region);
	free(c->base);
	free(c->sigv4);
	free(c->access);
	free_secret(c->secret);
	free_secret(c->token);
	free(s);
}

struct store *store_s3_open(const char *rest, const struct store_options *opt, struct err *e)
{
	struct s3_store *s = calloc(1, sizeof(*s));
	struct s3_url u = { 0 };
	struct store *ret = NULL;

	if (!s)
		return err_set(e, ERR_NOMEM, "out of memory"), NULL;
	s->base.ops = &s3_ops;
	if (parse_url(rest, &u, e) < 0 || configure(&s->cfg, &u, opt, e) < 0)
		goto out;
	if (s3_cfg_init(&s->cfg, e) < 0)
		goto out;
	s->cfg_ready = true;
	ret = &s->base;
out:
	s3_url_release(&u);
	if (!ret)
		s3_close(&s->base);
	return ret;
}

/* ---- reading ---------------------------------------------------------------------------- */

static struct s3_cfg *cfg_of(struct store *st)
{
	return &((struct s3_store *)st)->cfg;
}

static int s3_ping(struct store *st, struct err *e)
{
	struct s3_request rq = { .method = "HEAD" };
	struct s3_response rs;
	int r;

	s3_response_init(&rs);
	r = s3_perform(cfg_of(st), &rq, &rs, e);
	if (r < 0 && rs.status == 404)
		err_set(e, ERR_NOT_FOUND, "S3 bucket '%s' not found", cfg_of(st)->bucket);
	s3_response_release(&rs);
	return r;
}

/* An S3 ETag as a strong validator with its quotes (S3 sends them; some services do not). */
static int etag_copy(char *out, size_t outsz, const char *etag, struct err *e)
{
	size_t n = strlen(etag);
	int k;

	if (n == 0 || strpbrk(etag, "\r\n") || strncmp(etag, "W/", 2) == 0)
		return err_set(e, ERR_IO, "S3 sent no usable ETag");
	if (etag[0] == '"' && n >= 2 && etag[n - 1] == '"')
		k = snprintf(out, outsz, "%s", etag);
	else
		k = snprintf(out, outsz, "\"%s\"", etag);
	if (k < 0 || (size_t)k >= outsz)
		return err_set(e, ERR_IO, "S3 sent an ETag longer than %zu bytes", outsz - 1);
	return 0;
}

static int s3_stat(struct store *st, const char *key, struct store_stat *out, struct err *e)
{
	struct s3_request rq = { .method = "HEAD", .key = key, .retry = true };
	struct s3_response rs;
	int ret = -1;

	s3_response_init(&rs);
	if (s3_perform(cfg_of(st), &rq, &rs, e) < 0)
		goto out;
	if (!rs.has_length) {
		err_set(e, ERR_IO, "S3 HEAD: no Content-Length");
		goto out;
	}
	if (etag_copy(out->etag, sizeof(out->etag), rs.etag, e) < 0)
		goto out;
	out->size = rs.length;
	out->mtime = rs.last_modified;
	ret = 0;
out:
	s3_response_release(&rs);
	return ret;
}

static int s3_read(struct store *st, const char *key, uint64_t off, uint64_t len,
		   store_sink_fn sink, void *ud, struct err *e)
{
	struct s3_request rq = { .method = "GET", .key = key, .retry = true, .sink = sink, .ud = ud };
	struct s3_response rs;
	char etag[80] = "";
	int ret = -1;

	s3_response_init(&rs);
	for (int resume = 0;; resume++) {
		struct err why = ERR_INIT;

		rq.off = off;
		rq.len = len;
		rq.if_match = etag[0] ? etag : NULL;
		if (s3_perform(cfg_of(st), &rq, &rs, &why) == 0) {
			ret = 0;
			break;
		}
		if (rs.status == 416 && off == 0) {
			/* S3 cannot satisfy "bytes=0-N" on an empty object; an empty read can. */
			struct store_stat sst;
			if (s3_stat(st, key, &sst, e) == 0 && sst.size == 0)
				ret = 0;
			else if (e)
				*e = why;
			break;
		}
		bool transient = why.code == ERR_UNAVAILABLE || why.code == ERR_TIMEOUT;
		if (rs.delivered == 0 || !transient || resume + 1 >= S3_ATTEMPTS) {
			if (e)
				*e = why;
			break;
		}
		/* Part of the range arrived: ask for the rest of the same version. */
		if (!etag[0] && rs.etag[0])
			snprintf(etag, sizeof(etag), "%s", rs.etag);
		if (!etag[0]) {
			if (e)
				*e = why;
			break;
		}
		off += rs.delivered;
		if (len != UINT64_MAX)
			len -= rs.delivered;
		if (len == 0) {
			ret = 0;
			break;
		}
	}
	s3_response_release(&rs);
	return ret;
}

/* ---- listing ---------------------------------------------------------------------------- */

struct list_ctx {
	store_list_fn cb;
	void *ud;
	int cbret;
};

static int list_one(void *ud, const struct s3xml_object *obj)
{
	struct list_ctx *lc = ud;
	struct store_stat st = { .size = obj->size, .mtime = obj->mtime };

	if (store_key_check(obj->key, NULL) < 0)
		return 0; /* not one of ours: a key we could not read back anyway */
	if (etag_copy(st.etag, sizeof(st.etag), obj->etag, NULL) < 0)
		st.etag[0] = '\0';
	lc->cbret = lc->cb(lc->ud, obj->key, &st);
	return lc->cbret != 0 ? 1 : 0;
}

static int s3_list(struct store *st, const char *prefix, store_list_fn cb, void *ud,
		   struct err *e)
{
	struct s3_cfg *c = cfg_of(st);
	struct list_ctx lc = { .cb = cb, .ud = ud };
	struct s3xml_list *page = malloc(sizeof(*page));
	struct buf query = BUF_INIT;
	struct s3_response rs;
	char *token = NULL;
	int ret = -1;

	s3_response_init(&rs);
	if (!page) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	for (;;) {
		struct s3_request rq = { .method = "GET", .retry = true };
		int r;

		/* canonical order: continuation-token < list-type < prefix */
		buf_reset(&query);
		if ((token && (buf_adds(&query, "continuation-token=") < 0 ||
			       s3_uri_encode(&query, token, strlen(token), false) < 0 ||
			       buf_addch(&query, '&') < 0)) ||
		    buf_adds(&query, "list-type=2") < 0 ||
		    (prefix[0] && (buf_adds(&query, "&prefix=") < 0 ||
				   s3_uri_encode(&query, prefix, strlen(prefix), false) < 0))) {
			err_set(e, ERR_NOMEM, "out of memory");
			goto out;
		}
		rq.query = buf_str(&query);
		if (s3_perform(c, &rq, &rs, e) < 0) {
			if (rs.status == 404)
				err_set(e, ERR_NOT_FOUND, "S3 bucket '%s' not found", c->bucket);
			goto out;
		}
		r = s3xml_parse_list(rs.body.data ? rs.body.data : "", rs.body.len, list_one, &lc, page, e);
		if (r < 0)
			goto out;
		if (r > 0) {
			ret = lc.cbret;
			goto out;
		}
		if (!page->truncated)
			break;
		if (!page->next_token[0] || (token && strcmp(token, page->next_token) == 0)) {
			err_set(e, ERR_IO, "S3 listing: truncated without a new continuation token");
			goto out;
		}
		free(token);
		token = strdup(page->next_token);
		if (!token) {
			err_set(e, ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	ret = 0;
out:
	free(token);
	free(page);
	buf_release(&query);
	s3_response_release(&rs);
	return ret;
}

/* ---- deleting, and bucket tools ------------------------------------------------------- */

static int s3_del(struct store *st, const char *key, struct err *e)
{
	struct s3_request rq = { .method = "DELETE", .key = key, .retry = true };
	struct s3_response rs;
	int r;

	s3_response_init(&rs);
	r = s3_perform(cfg_of(st), &rq, &rs, e);
	if (r < 0 && rs.status == 404)
		r = 0; /* absent already: what the caller wanted */
	s3_response_release(&rs);
	return r;
}

int store_s3_create_bucket(struct store *st, struct err *e)
{
	struct s3_cfg *c;
	struct s3_request rq = { .method = "PUT", .retry = true };
	struct s3_response rs;
	struct buf body = BUF_INIT;
	int r = -1;

	if (st->ops != &s3_ops)
		return err_set(e, ERR_UNSUPPORTED, "not an S3 store");
	c = cfg_of(st);
	s3_response_init(&rs);
	/* us-east-1 is the default location and must not be named */
	if (strcmp(c->region, "us-east-1") != 0) {
		if (buf_addf(&body, "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
			     "<LocationConstraint>%s</LocationConstraint></CreateBucketConfiguration>",
			     c->region) < 0) {
			err_set(e, ERR_NOMEM, "out of memory");
			goto out;
		}
		rq.body = body.data;
		rq.body_len = body.len;
		rq.content_type = "application/xml";
	}
	r = s3_perform(c, &rq, &rs, e);
	if (r < 0 && rs.status == 409) {
		char code[64];
		if (s3xml_text(rs.body.data ? rs.body.data : "", rs.body.len, "Code", code, sizeof(code)) == 1 &&
		    strcmp(code, "BucketAlreadyOwnedByYou") == 0)
			r = 0;
	}
out:
	buf_release(&body);
	s3_response_release(&rs);
	return r;
}

int store_s3_count_uploads(struct store *st, const char *prefix, size_t *n, struct err *e)
{
	struct s3_request rq = { .method = "GET", .retry = true };
	struct s3_response rs;
	struct buf query = BUF_INIT;
	int ret = -1, k;

	if (st->ops != &s3_ops)
		return err_set(e, ERR_UNSUPPORTED, "not an S3 store");
	if (store_prefix_check(prefix, e) < 0)
		return -1;
	s3_response_init(&rs);
	if ((prefix && prefix[0] && (buf_adds(&query, "prefix=") < 0 ||
				     s3_uri_encode(&query, prefix, strlen(prefix), false) < 0 ||
				     buf_addch(&query, '&') < 0)) ||
	    buf_adds(&query, "uploads=") < 0) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	rq.query = buf_str(&query);
	if (s3_perform(cfg_of(st), &rq, &rs, e) < 0)
		goto out;
	k = s3xml_count(rs.body.data ? rs.body.data : "", rs.body.len, "Upload");
	if (k < 0) {
		err_set(e, ERR_IO, "malformed S3 upload listing");
		goto out;
	}
	*n = (size_t)k;
	ret = 0;
out:
	buf_release(&query);
	s3_response_release(&rs);
	return ret;
}

static struct store_writer *s3_op_write_begin(struct store *st, const char *key, struct err *e)
{
	return s3_write_begin(cfg_of(st), key, e);
}

static int s3_op_put(struct store *st, const char *key, const void *data, size_t len,
		     struct err *e)
{
	return s3_put(cfg_of(st), key, data, len, e);
}

static const struct store_ops s3_ops = {
	.name = "s3",
	.caps = 0,
	.close = s3_close,
	.ping = s3_ping,
	.write_begin = s3_op_write_begin,
	.write = s3_write,
	.commit = s3_commit,
	.abort = s3_abort,
	.put = s3_op_put,
	.read = s3_read,
	.stat = s3_stat,
	.del = s3_del,
	.list = s3_list,
	.open_fd = NULL,
};
