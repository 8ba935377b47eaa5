/* uri.h — percent-decoding, request-path validation and query-string parsing.
 *
 * Pure code (no h2o, no allocation: callers pass the output buffers), so it is unit-tested and
 * fuzzed on its own. Every function takes a pointer and a length: nothing here needs or
 * trusts a NUL terminator in its input.
 */
#ifndef TONEARM_HTTP_URI_H
#define TONEARM_HTTP_URI_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define HTTP_PATH_MAX 8192 /* bytes of a request path (without the query), before decoding */

/* Decode %XX escapes of `src` (`len` bytes) into `dst`, which has room for `len` bytes (the
 * result is never longer). With `plus_space`, '+' becomes ' ' (form encoding, for queries;
 * never for paths). Returns the decoded length, or -1 on a malformed escape ("%", "%4", "%zz").
 * `dst` may equal `src`. No NUL is added. */
ssize_t http_pct_decode(char *dst, const char *src, size_t len, bool plus_space);

/* Decode and check a request path (the part before '?'): it must start with '/', be at most
 * HTTP_PATH_MAX bytes, have well-formed escapes, and decode to valid UTF-8 with no NUL, no
 * encoded '/' ("%2F" would change the segments the router sees) and no "." or ".." segment.
 * `dst` needs room for `len` + 1 bytes and receives the decoded path, NUL-terminated.
 * Returns the decoded length, or -1 with *why set to a static message for the client. */
ssize_t http_path_decode(const char *raw, size_t len, char *dst, const char **why);

/* Check a raw query string (the part after '?', without it) before any handler runs: escapes
 * well-formed, decoded names and values valid UTF-8 without NUL, and at most `max_params`
 * parameters (empty "&&" pieces do not count). Sets *count to the number of parameters.
 * Returns 0, or -1 with *why set to a static message. Allocation-free. */
int http_query_check(const char *q, size_t len, size_t max_params, size_t *count, const char **why);

struct http_qparam {
	const char *name;  /* decoded, NUL-terminated */
	const char *value; /* decoded, NUL-terminated; "" when the parameter has no '=' */
};

/* Split and decode a query string that passed http_query_check(). Names and values are
 * written into `buf`, which needs `len` + 2 * (number of parameters) bytes (len + 2 * max
 * is always enough). Fills at most `cap` entries of `out`; returns how many it filled. */
size_t http_query_parse(const char *q, size_t len, char *buf, struct http_qparam *out, size_t cap);

#endif
