/* range.h — HTTP Range requests and conditional requests (RFC 9110 §13, §14), pure code.
 *
 * Choices, per RFC 9110:
 *   - Only "bytes" ranges, case-insensitive unit. A single range ("a-b", "a-", "-n") that is
 *     satisfiable gives 206; one whose start is at or past the end (or "-0", or any range of an
 *     empty entity) gives 416 with "Content-Range: bytes * /size" (without the space).
 *   - A Range header that is malformed (bad syntax, last < first, unknown unit) is ignored:
 *     the full entity is sent with 200 (§14.2: a server MUST ignore a Range with a unit it does
 *     not understand and sends 206 only for a valid ranges-specifier).
 *   - A request for several ranges is ignored too (200 with the whole entity; §14.2 lets a
 *     server ignore Range): we never build multipart/byteranges.
 *   - Range applies to GET only (§14.2); HEAD gets the 200 headers.
 *   - Preconditions are evaluated in §13.2.2 order: If-Match (strong comparison, "*" matches),
 *     else If-Unmodified-Since → 412; If-None-Match (weak comparison) → 304 for GET/HEAD, 412
 *     otherwise, else If-Modified-Since (GET/HEAD) → 304; then If-Range (a strong ETag, or a
 *     date equal to Last-Modified) decides whether Range is used. Dates that do not parse and
 *     dates compared against an entity with no modification time are ignored.
 */
#ifndef TONEARM_HTTP_RANGE_H
#define TONEARM_HTTP_RANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_range {
	uint64_t first, last; /* inclusive byte positions */
};

enum http_range_kind {
	HTTP_RANGE_NONE,          /* no usable Range: send the whole entity */
	HTTP_RANGE_SINGLE,        /* send `first`..`last` with 206 */
	HTTP_RANGE_UNSATISFIABLE, /* send 416 */
};

/* Parse a Range header value (`len` bytes, may be NULL for none) against an entity of `size`
 * bytes. */
enum http_range_kind http_range_parse(const char *s, size_t len, uint64_t size, struct http_range *out);

/* Does the entity-tag list `list` (an If-Match / If-None-Match value) hold `etag` (a single
 * entity-tag with quotes, maybe "W/"-prefixed)? `weak` selects weak comparison (only the
 * opaque tags are compared) instead of strong (neither may be weak). "*" matches any etag.
 * A malformed list matches nothing past the point where it goes wrong. */
bool http_etag_match(const char *list, size_t len, const char *etag, bool weak);

/* The request's validator headers; a NULL pointer means the header is absent. */
struct http_conditions {
	const char *if_match, *if_none_match, *if_modified_since, *if_unmodified_since, *if_range, *range;
	size_t if_match_len, if_none_match_len, if_modified_since_len, if_unmodified_since_len,
		if_range_len, range_len;
};

enum http_cond_method { HTTP_COND_GET, HTTP_COND_HEAD, HTTP_COND_OTHER };

struct http_cond_result {
	int status;              /* 200, 206, 304, 412 or 416 */
	struct http_range range; /* 206: the bytes to send; 200: 0..size-1 */
};

/* Evaluate the conditions against the entity's current `etag` (NULL for none), `mtime`
 * (seconds since the epoch, 0 for none) and `size`. */
void http_cond_eval(const struct http_conditions *c, enum http_cond_method method, const char *etag,
		    int64_t mtime, uint64_t size, struct http_cond_result *out);

#endif
