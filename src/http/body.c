/* body.c — entities (Range and conditional requests) and streamed bodies.
 *
 * Bodies are pulled: h2o calls the generator's proceed when it wants more, and we read the next
 * chunk (HTTP_CHUNK bytes). On a quick route the read runs on the loop (a file descriptor is
 * read with pread(2); that is what the route promised to be cheap). On a blocking route each
 * read is a pool job and the loop sends what it brought back; the first chunk is read on the
 * pool right after the handler, so headers and first bytes leave together.
 *
 * The source (fd, pread's ud, stream's ud) is closed exactly once, where its reads run: at
 * the end, on a read error, when nothing is to be sent (HEAD, 304, 412, 416), or when the
 * client goes away (h2o calls the generator's stop; a read still out closes it when it
 * returns).
 */
#include "http/internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "http/range.h"

void http_body_close(struct http_req *r)
{
	if (!r->source_open)
		return;
	r->source_open = false;
	if (r->body_kind == HTTP_BODY_STREAM) {
		if (r->stream.close)
			r->stream.close(r->stream.ud);
		return;
	}
	if (r->ent.fd >= 0) {
		close(r->ent.fd);
		r->ent.fd = -1;
	}
	if (r->ent.close)
		r->ent.close(r->ent.ud);
}

/* Close what a rejected or bodiless entity brought along, right away. */
static void close_given(const struct http_entity *ent)
{
	if (ent->fd >= 0)
		close(ent->fd);
	if (ent->close)
		ent->close(ent->ud);
}

static const char *find_header(const struct http_req *r, const h2o_token_t *t, size_t *len)
{
	ssize_t i = h2o_find_header(r->headers, t, -1);

	if (i < 0)
		return NULL;
	*len = r->headers->entries[i].value.len;
	return r->headers->entries[i].value.base;
}

/* A data entity's `close` runs when h2o is done with the request (its memory is in use
 * until then). */
static void on_data_done(void *p)
{
	const struct http_entity *ent = *(const struct http_entity **)p;

	ent->close(ent->ud);
}

void http_res_entity(struct http_req *req, const struct http_entity *ent)
{
	struct http_req *r = req;
	struct http_conditions c = { 0 };
	struct http_cond_result res;
	enum http_cond_method m = r->method == HTTP_GET ? HTTP_COND_GET : r->method == HTTP_HEAD ? HTTP_COND_HEAD
									     : HTTP_COND_OTHER;
	int sources = (ent->fd >= 0) + (ent->data != NULL) + (ent->pread != NULL);
	char tmp[80];

	if (r->answered) {
		log_kv(LOG_ERROR, r->id, "http: answered twice", LOG_FIELDS(LOG_STR("call", "http_res_entity")));
		close_given(ent);
		return;
	}
	if (sources != 1) {
		log_kv(LOG_ERROR, r->id, "http: an entity needs exactly one of fd, data, pread",
		       LOG_FIELDS(LOG_STR("route", r->rt->label)));
		close_given(ent);
		http_res_problem(r, 500, http_reason(500), "an internal error occurred");
		return;
	}
	r->answered = true;
	r->ent = *ent;
	r->ent.etag = ent->etag ? h2o_strdup(r->mem, ent->etag, SIZE_MAX).base : NULL;
	r->ent.content_type = ent->content_type ? h2o_strdup(r->mem, ent->content_type, SIZE_MAX).base : NULL;
	r->ent.cache_control = ent->cache_control ? h2o_strdup(r->mem, ent->cache_control, SIZE_MAX).base : NULL;
	r->source_open = ent->fd >= 0 || ent->pread != NULL;
	if (ent->data && ent->close) {
		const struct http_entity **hold = h2o_mem_alloc_shared(r->mem, sizeof(*hold), on_data_done);

		*hold = &r->ent;
	}

	c.if_match = find_header(r, H2O_TOKEN_IF_MATCH, &c.if_match_len);
	c.if_none_match = find_header(r, H2O_TOKEN_IF_NONE_MATCH, &c.if_none_match_len);
	c.if_modified_since = find_header(r, H2O_TOKEN_IF_MODIFIED_SINCE, &c.if_modified_since_len);
	c.if_unmodified_since = find_header(r, H2O_TOKEN_IF_UNMODIFIED_SINCE, &c.if_unmodified_since_len);
	c.if_range = find_header(r, H2O_TOKEN_IF_RANGE, &c.if_range_len);
	c.range = find_header(r, H2O_TOKEN_RANGE, &c.range_len);
	http_cond_eval(&c, m, r->ent.etag, ent->mtime, ent->size, &res);

	/* Validators go on every answer, 304 included (RFC 9110 §15.4.5). */
	if (r->ent.etag)
		http_res_header_n(r, "etag", 4, r->ent.etag, strlen(r->ent.etag));
	if (ent->mtime > 0 && clock_http_date(ent->mtime, tmp) > 0)
		http_res_header_n(r, "last-modified", 13, tmp, strlen(tmp));
	if (r->ent.cache_control)
		http_res_header_n(r, "cache-control", 13, r->ent.cache_control, strlen(r->ent.cache_control));
	http_res_header_n(r, "accept-ranges", 13, "bytes", 5);

	switch (res.status) {
	case 200:
	case 206:
		r->status = res.status;
		r->ctype = r->ent.content_type;
		r->body_kind = HTTP_BODY_ENTITY;
		r->bounded = true;
		r->off = ent->size ? res.range.first : 0;
		r->left = ent->size ? res.range.last - res.range.first + 1 : 0;
		r->content_length = r->left;
		r->send_body = m != HTTP_COND_HEAD && r->left > 0;
		if (res.status == 206) {
			int n = snprintf(tmp, sizeof(tmp), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, res.range.first,
					 res.range.last, ent->size);

			http_res_header_n(r, "content-range", 13, tmp, (size_t)n);
		}
		if (!r->send_body)
			http_body_close(r);
		return;
	case 304:
		http_body_close(r);
		r->status = 304;
		r->body_kind = HTTP_BODY_NONE;
		return;
	case 416: {
		int n = snprintf(tmp, sizeof(tmp), "bytes */%" PRIu64, ent->size);

		http_res_header_n(r, "content-range", 13, tmp, (size_t)n);
		http_body_close(r);
		http_res_problem_code(r, 416, http_reason(416), "the requested range is not within the content", NULL);
		return;
	}
	default:
		http_body_close(r);
		http_res_problem_code(r, 412, http_reason(412), "a precondition of the request does not hold", NULL);
		return;
	}
}

void http_res_stream(struct http_req *req, int status, const char *content_type, int64_t length,
		     const struct http_stream *stream)
{
	struct http_req *r = req;

	if (r->answered) {
		log_kv(LOG_ERROR, r->id, "http: answered twice", LOG_FIELDS(LOG_STR("call", "http_res_stream")));
		if (stream->close)
			stream->close(stream->ud);
		return;
	}
	r->answered = true;
	r->status = status;
	r->ctype = content_type ? h2o_strdup(r->mem, content_type, SIZE_MAX).base : NULL;
	r->body_kind = HTTP_BODY_STREAM;
	r->stream = *stream;
	r->stream_len = length;
	r->bounded = length >= 0;
	r->left = length >= 0 ? (uint64_t)length : 0;
	r->content_length = r->left;
	r->source_open = true;
	r->send_body = r->method != HTTP_HEAD && status >= 200 && status != 204 && status != 304 &&
		       (length != 0) && stream->read;
	if (!r->send_body)
		http_body_close(r);
}

void http_body_read(struct http_req *r)
{
	size_t want = HTTP_CHUNK;
	ssize_t n;

	if (r->bounded && r->left < want)
		want = (size_t)r->left;
	if (!r->chunk)
		r->chunk = h2o_mem_alloc_pool(r->mem, HTTP_CHUNK);
	if (r->body_kind == HTTP_BODY_STREAM)
		n = r->stream.read(r->stream.ud, r->chunk, want);
	else if (r->ent.fd >= 0)
		n = pread(r->ent.fd, r->chunk, want, (off_t)r->off);
	else
		n = r->ent.pread(r->ent.ud, r->chunk, want, r->off);
	if (n > (ssize_t)want)
		n = -1; /* a reader that overran its buffer: nothing it says can be trusted */
	r->chunk_len = n;
	if (n > 0 && r->bounded) {
		r->off += (uint64_t)n;
		r->left -= (uint64_t)n;
	}
	if (n <= 0 || (r->bounded && r->left == 0))
		http_body_close(r);
}

/* Send what the last read brought (loop). */
static void send_chunk(struct http_req *r)
{
	h2o_req_t *req = r->req;
	ssize_t n = r->chunk_len;
	h2o_iovec_t iov;

	if (n < 0 || (n == 0 && r->bounded && r->left > 0)) {
		log_kv(LOG_WARN, r->id, "http: response body read failed; cutting the connection",
		       LOG_FIELDS(LOG_STR("route", r->rt->label), LOG_INT("offset", (long long)r->off)));
		h2o_send(req, NULL, 0, H2O_SEND_STATE_ERROR);
		return;
	}
	if (n == 0) {
		h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
		return;
	}
	iov = h2o_iovec_init(r->chunk, (size_t)n);
	h2o_send(req, &iov, 1, r->bounded && r->left == 0 ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
}

static void on_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
	struct http_req *r = H2O_STRUCT_FROM_MEMBER(struct http_req, gen, gen);

	if (r->blocking) {
		r->reading = true;
		if (http_job_submit(r, HTTP_JOB_READ) < 0) {
			r->reading = false;
			h2o_send(req, NULL, 0, H2O_SEND_STATE_ERROR);
		}
		return;
	}
	http_body_read(r);
	send_chunk(r);
}

static void on_stop(h2o_generator_t *gen, h2o_req_t *req)
{
	struct http_req *r = H2O_STRUCT_FROM_MEMBER(struct http_req, gen, gen);

	(void)req;
	r->gen_stopped = true;
	if (!r->reading) /* else the read, when it comes back, closes */
		http_body_abandon(r);
}

void http_body_abandon(struct http_req *r)
{
	if (!r->source_open)
		return;
	/* A blocking route's reader may block on close too: close it on the pool. */
	if (r->blocking && (r->ent.pread || r->body_kind == HTTP_BODY_STREAM) &&
	    http_job_submit(r, HTTP_JOB_CLOSE) == 0)
		return;
	http_body_close(r);
}

void http_body_read_done(struct http_req *r)
{
	r->reading = false;
	if (!r->req || r->gen_stopped) {
		http_body_abandon(r);
		return;
	}
	send_chunk(r);
}

void http_body_after_handler(struct http_req *r)
{
	if ((r->body_kind == HTTP_BODY_ENTITY || r->body_kind == HTTP_BODY_STREAM) && r->send_body &&
	    r->blocking && !(r->body_kind == HTTP_BODY_ENTITY && r->ent.data))
		http_body_read(r);
}

void http_body_commit(struct http_req *r)
{
	h2o_req_t *req = r->req;

	if (r->bounded && r->status != 304 && r->status != 204)
		req->res.content_length = r->content_length;
	r->gen.proceed = on_proceed;
	r->gen.stop = on_stop;
	h2o_start_response(req, &r->gen);
	if (!r->send_body) {
		h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
		return;
	}
	if (r->body_kind == HTTP_BODY_ENTITY && r->ent.data) {
		h2o_iovec_t iov = h2o_iovec_init((const char *)r->ent.data + r->off, (size_t)r->left);

		r->left = 0;
		h2o_send(req, &iov, 1, H2O_SEND_STATE_FINAL);
		return;
	}
	if (!r->blocking) /* blocking routes read the first chunk on the pool already */
		http_body_read(r);
	send_chunk(r);
}
