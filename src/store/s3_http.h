/* s3_http.h — one signed S3 request, with retries; internal to the S3 store backend.
 *
 * What libcurl 7.88's SigV4 signing (CURLOPT_AWS_SIGV4) needs from us, measured against Swift
 * (see /work/shared/notes/SERVICES.md): an x-amz-content-sha256 header holding the payload's
 * SHA-256 (curl signs the value we give and uses it as the payload hash), a query string
 * already in canonical form (parameters sorted, values percent-encoded, "flag=" for a flag),
 * and the access key given through CURLOPT_USERNAME (it may contain ':'). Any custom header
 * we add is signed too, so we never send an empty one (an "Expect:" to suppress a header
 * would be signed but not sent, and the signature would fail).
 *
 * Connections: libcurl's shared connection cache (CURL_LOCK_DATA_CONNECT) is documented as
 * not safe between concurrent threads (curl KNOWN_BUGS, still so in 7.88), so each request
 * borrows an easy handle from a small pool — a handle keeps its connections alive across
 * curl_easy_reset — and only the DNS cache and TLS sessions are shared, under locks.
 */
#ifndef TONEARM_STORE_S3_HTTP_H
#define TONEARM_STORE_S3_HTTP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "base/buf.h"
#include "base/err.h"
#include "store/store.h"

#define S3_POOL_MAX 16                   /* idle easy handles kept for reuse */
#define S3_ATTEMPTS 3                    /* tries per retryable request */
#define S3_BODY_MAX ((size_t)16 << 20)   /* largest XML answer we take in */

struct s3_cfg {
	char *bucket;
	char *region;
	char *base;      /* scheme://host[:port][/bucket] — everything before "/<key>" */
	char *sigv4;     /* "aws:amz:<region>:s3" */
	char *access, *secret, *token;
	long connect_timeout_ms;
	size_t part_size;

	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	pthread_mutex_t pool_lock;
	CURL *pool[S3_POOL_MAX];
	size_t npool;
};

/* Set up what s3_cfg_release frees: the share and the handle pool (the strings are the
 * caller's to fill and free). 0, or -1 with *e set and nothing left to release. */
int s3_cfg_init(struct s3_cfg *c, struct err *e);
void s3_cfg_release(struct s3_cfg *c);

struct s3_request {
	const char *method;        /* GET HEAD PUT POST DELETE */
	const char *key;           /* NULL: the bucket itself */
	const char *query;         /* canonical query without '?', or NULL */
	const void *body;          /* PUT/POST payload (may be NULL with body_len 0) */
	size_t body_len;
	const char *content_type;  /* for a body, or NULL */
	const char *if_match;      /* an ETag the object must still have, or NULL */
	bool retry;                /* idempotent: may be sent again after a failure */
	/* A GET of [off, off + len) into a sink (len UINT64_MAX: to the end). The bytes go to
	 * the sink only for a 2xx answer; a 200 to a ranged request is cut down to the range. */
	store_sink_fn sink;
	void *ud;
	uint64_t off, len;
};

struct s3_response {
	long status;           /* 0 when no HTTP answer came */
	struct buf body;       /* the body when there is no sink, or an error body (capped) */
	char etag[80];         /* ETag header, as sent */
	uint64_t length;       /* Content-Length, when has_length */
	bool has_length;
	int64_t last_modified; /* Last-Modified header, 0 when absent */
	uint64_t total;        /* a 206's total size (Content-Range "…/total"), when has_total */
	bool has_total;
	uint64_t delivered;    /* bytes given to the sink */
	bool sink_stopped;     /* the sink asked to stop */
};

void s3_response_init(struct s3_response *rs);
void s3_response_release(struct s3_response *rs);

/* Send the request, retrying (S3_ATTEMPTS, exponential backoff with jitter) on connection
 * failures, timeouts, 5xx and 429 when rq->retry and nothing reached the sink yet. Returns 0
 * on a 2xx answer; otherwise -1 with rs->status the last status (0: none) and *e mapped:
 * 404 ERR_NOT_FOUND, 403 ERR_FORBIDDEN, 416 ERR_RANGE, 412 ERR_CONFLICT, other 4xx
 * ERR_INVALID, 5xx/429 and unreachable ERR_UNAVAILABLE, a stalled transfer ERR_TIMEOUT, a
 * stopping sink ERR_IO. rs must have been initialised; it is reset first. */
int s3_perform(struct s3_cfg *c, const struct s3_request *rq, struct s3_response *rs,
	       struct err *e);

/* Percent-encode [s, s + n) per RFC 3986 (unreserved A-Z a-z 0-9 - . _ ~ kept), keeping '/'
 * when keep_slash (a key in a path) and encoding it otherwise (a query value), appending to
 * out. 0, or -1 when out hits its cap. */
int s3_uri_encode(struct buf *out, const char *s, size_t n, bool keep_slash);

/* The message and code of an S3 error for `status` and its XML body (may be empty), into *e.
 * Always returns -1. */
int s3_error(long status, const char *body, size_t len, const char *what, struct err *e);

#endif
