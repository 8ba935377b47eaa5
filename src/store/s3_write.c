/* s3_write.c — see s3_write.h.
 *
 * A multipart upload is CreateMultipartUpload (POST ?uploads=), UploadPart for parts 1…n
 * (PUT ?partNumber=i&uploadId=…, each retried like any idempotent request: re-sending a part
 * replaces it), then CompleteMultipartUpload (POST ?uploadId=… with the parts' ETags) — the
 * one moment the object appears. Every part but the last must be at least 5 MiB (part_size
 * is), and there are at most 10,000 of them. Failure anywhere sends AbortMultipartUpload.
 */
#include "store/s3_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "store/s3xml.h"

#define PARTS_MAX 10000
#define UPLOAD_ID_MAX 1024

struct s3_mp {
	char *upload_id; /* NULL until the upload is created */
	char (*etags)[80];
	size_t nparts, cap;
};

struct s3_writer {
	struct store_writer base;
	struct s3_cfg *c;
	char *key;
	struct buf part; /* up to c->part_size bytes not sent yet */
	struct s3_mp mp;
};

static void mp_release(struct s3_mp *mp)
{
	free(mp->upload_id);
	free(mp->etags);
	memset(mp, 0, sizeof(*mp));
}

/* "<name>uploadId=<encoded id>" into q, after an optional "partNumber=N&". */
static int upload_query(struct buf *q, const struct s3_mp *mp, size_t part)
{
	buf_reset(q);
	if (part && buf_addf(q, "partNumber=%zu&", part) < 0)
		return -1;
	if (buf_adds(q, "uploadId=") < 0)
		return -1;
	return s3_uri_encode(q, mp->upload_id, strlen(mp->upload_id), false);
}

static int mp_create(struct s3_cfg *c, const char *key, struct s3_mp *mp, struct err *e)
{
	/* Retried like the others: a lost answer may orphan an empty upload, which the abort
	 * of a later failure does not see; a lifecycle rule on the bucket cleans those. */
	struct s3_request rq = { .method = "POST", .key = key, .query = "uploads=", .retry = true };
	struct s3_response rs;
	char id[UPLOAD_ID_MAX + 1];
	int ret = -1;

	s3_response_init(&rs);
	if (s3_perform(c, &rq, &rs, e) < 0)
		goto out;
	if (s3xml_text(rs.body.data ? rs.body.data : "", rs.body.len, "UploadId", id, sizeof(id)) != 1 ||
	    !id[0]) {
		err_set(e, ERR_IO, "S3 CreateMultipartUpload: no UploadId in the answer");
		goto out;
	}
	mp->upload_id = strdup(id);
	if (!mp->upload_id) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	ret = 0;
out:
	s3_response_release(&rs);
	return ret;
}

static int mp_part(struct s3_cfg *c, const char *key, struct s3_mp *mp, const void *data,
		   size_t len, struct err *e)
{
	struct s3_request rq = { .method = "PUT", .key = key, .body = data, .body_len = len,
				 .retry = true };
	struct s3_response rs;
	struct buf q = BUF_INIT;
	int ret = -1;

	if (mp->nparts >= PARTS_MAX)
		return err_set(e, ERR_TOO_LARGE, "object needs more than %d parts of %zu bytes",
			       PARTS_MAX, c->part_size);
	if (mp->nparts == mp->cap) {
		size_t ncap = mp->cap ? mp->cap * 2 : 16;
		void *n = realloc(mp->etags, ncap * sizeof(*mp->etags));
		if (!n)
			return err_set(e, ERR_NOMEM, "out of memory");
		mp->etags = n;
		mp->cap = ncap;
	}
	s3_response_init(&rs);
	if (upload_query(&q, mp, mp->nparts + 1) < 0) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	rq.query = buf_str(&q);
	if (s3_perform(c, &rq, &rs, e) < 0)
		goto out;
	if (!rs.etag[0] || strlen(rs.etag) >= sizeof(mp->etags[0])) {
		err_set(e, ERR_IO, "S3 UploadPart: no usable ETag in the answer");
		goto out;
	}
	memcpy(mp->etags[mp->nparts++], rs.etag, strlen(rs.etag) + 1);
	ret = 0;
out:
	buf_release(&q);
	s3_response_release(&rs);
	return ret;
}

static int xml_escaped(struct buf *b, const char *s)
{
	for (; *s; s++) {
		int r = *s == '&' ? buf_adds(b, "&amp;") : *s == '<' ? buf_adds(b, "&lt;") :
			*s == '>' ? buf_adds(b, "&gt;") : buf_addch(b, *s);
		if (r < 0)
			return -1;
	}
	return 0;
}

static int mp_complete(struct s3_cfg *c, const char *key, struct s3_mp *mp, struct err *e)
{
	/* Not retried: once an attempt has completed the upload, a second one gets
	 * NoSuchUpload, and we could not tell that from a real failure. */
	struct s3_request rq = { .method = "POST", .key = key, .content_type = "application/xml" };
	struct s3_response rs;
	struct buf q = BUF_INIT, body = BUF_INIT;
	char code[64];
	int ret = -1;

	s3_response_init(&rs);
	if (buf_adds(&body, "<CompleteMultipartUpload>") < 0)
		goto nomem;
	for (size_t i = 0; i < mp->nparts; i++)
		if (buf_addf(&body, "<Part><PartNumber>%zu</PartNumber><ETag>", i + 1) < 0 ||
		    xml_escaped(&body, mp->etags[i]) < 0 || buf_adds(&body, "</ETag></Part>") < 0)
			goto nomem;
	if (buf_adds(&body, "</CompleteMultipartUpload>") < 0 || upload_query(&q, mp, 0) < 0)
		goto nomem;
	rq.query = buf_str(&q);
	rq.body = body.data;
	rq.body_len = body.len;
	if (s3_perform(c, &rq, &rs, e) < 0)
		goto out;
	/* S3 may answer 200 and still report an error in the body. */
	if (s3xml_count(rs.body.data ? rs.body.data : "", rs.body.len, "Error") > 0) {
		if (s3xml_text(rs.body.data, rs.body.len, "Code", code, sizeof(code)) != 1)
			code[0] = '\0';
		err_set(e, ERR_UNAVAILABLE, "S3 CompleteMultipartUpload failed: %s", code[0] ? code : "error");
		goto out;
	}
	ret = 0;
	goto out;
nomem:
	err_set(e, ERR_NOMEM, "out of memory");
out:
	buf_release(&q);
	buf_release(&body);
	s3_response_release(&rs);
	return ret;
}

/* Best effort: a failure is logged, not returned (the caller is already failing). */
static void mp_abort(struct s3_cfg *c, const char *key, struct s3_mp *mp)
{
	struct s3_request rq = { .method = "DELETE", .key = key, .retry = true };
	struct s3_response rs;
	struct buf q = BUF_INIT;
	struct err e = ERR_INIT;

	if (!mp->upload_id)
		return;
	s3_response_init(&rs);
	if (upload_query(&q, mp, 0) == 0) {
		rq.query = buf_str(&q);
		if (s3_perform(c, &rq, &rs, &e) < 0 && rs.status != 404)
			log_kv(LOG_WARN, NULL, "s3: aborting a multipart upload failed",
			       LOG_FIELDS(LOG_STR("key", key), LOG_STR("error", e.msg)));
	}
	buf_release(&q);
	s3_response_release(&rs);
}

static int put_single(struct s3_cfg *c, const char *key, const void *data, size_t len,
		      struct err *e)
{
	struct s3_request rq = { .method = "PUT", .key = key, .body = data, .body_len = len,
				 .retry = true };
	struct s3_response rs;
	int r;

	s3_response_init(&rs);
	r = s3_perform(c, &rq, &rs, e);
	s3_response_release(&rs);
	return r;
}

int s3_put(struct s3_cfg *c, const char *key, const void *data, size_t len, struct err *e)
{
	struct s3_mp mp = { 0 };
	const char *p = data;
	int ret = -1;

	if (len <= c->part_size)
		return put_single(c, key, data, len, e);
	if (mp_create(c, key, &mp, e) < 0)
		goto out;
	for (size_t off = 0; off < len; off += c->part_size) {
		size_t n = len - off < c->part_size ? len - off : c->part_size;
		if (mp_part(c, key, &mp, p + off, n, e) < 0)
			goto out;
	}
	if (mp_complete(c, key, &mp, e) < 0)
		goto out;
	ret = 0;
out:
	if (ret < 0)
		mp_abort(c, key, &mp);
	mp_release(&mp);
	return ret;
}

struct store_writer *s3_write_begin(struct s3_cfg *c, const char *key, struct err *e)
{
	struct s3_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return err_set(e, ERR_NOMEM, "out of memory"), NULL;
	w->c = c;
	w->key = strdup(key);
	if (!w->key) {
		free(w);
		return err_set(e, ERR_NOMEM, "out of memory"), NULL;
	}
	buf_init(&w->part, c->part_size);
	return &w->base;
}

static void writer_free(struct s3_writer *w)
{
	mp_release(&w->mp);
	buf_release(&w->part);
	free(w->key);
	free(w);
}

/* Send the full buffer as the next part (starting the upload on the first). */
static int flush_part(struct s3_writer *w, struct err *e)
{
	if (!w->mp.upload_id && mp_create(w->c, w->key, &w->mp, e) < 0)
		return -1;
	if (mp_part(w->c, w->key, &w->mp, w->part.data, w->part.len, e) < 0)
		return -1;
	buf_reset(&w->part);
	return 0;
}

int s3_write(struct store_writer *sw, const void *data, size_t len, struct err *e)
{
	struct s3_writer *w = (struct s3_writer *)sw;
	const char *p = data;

	while (len > 0) {
		/* Flush only when more bytes come after a full buffer, so an object of exactly
		 * one part still goes up as a single PUT. */
		if (w->part.len == w->c->part_size && flush_part(w, e) < 0)
			return -1;
		size_t room = w->c->part_size - w->part.len, n = len < room ? len : room;
		if (buf_add(&w->part, p, n) < 0)
			return err_set(e, ERR_NOMEM, "out of memory");
		p += n;
		len -= n;
	}
	return 0;
}

int s3_commit(struct store_writer *sw, struct err *e)
{
	struct s3_writer *w = (struct s3_writer *)sw;
	int ret = -1;

	if (!w->mp.upload_id) {
		ret = put_single(w->c, w->key, w->part.data ? w->part.data : "", w->part.len, e);
		goto out;
	}
	if (w->part.len && mp_part(w->c, w->key, &w->mp, w->part.data, w->part.len, e) < 0)
		goto out;
	if (mp_complete(w->c, w->key, &w->mp, e) < 0)
		goto out;
	ret = 0;
out:
	if (ret < 0)
		mp_abort(w->c, w->key, &w->mp);
	writer_free(w);
	return ret;
}

void s3_abort(struct store_writer *sw)
{
	struct s3_writer *w = (struct s3_writer *)sw;

	mp_abort(w->c, w->key, &w->mp);
	writer_free(w);
}
