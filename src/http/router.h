/* router.h — the route table compiled into a segment trie, and matching a request against it.
 *
 * Pure code: no h2o, no allocation while matching, so it is unit-tested and fuzzed on its own.
 * Patterns are checked once when the server starts (http_router_new); a bad or duplicate
 * pattern is an error then, never a surprise at request time.
 *
 * Pattern rules: it starts with '/'; segments are separated by '/'; a segment is a literal
 * ("tracks"), a parameter ("{id}", one non-empty path segment) or, as the last segment only, a
 * rest parameter ("{path*}", one or more segments, '/' included). Parameter names are
 * [A-Za-z_][A-Za-z0-9_]*, unique within a pattern. Literals hold no '{', '}', '%', '?', '#'
 * and are never "." or ".."; empty segments ("//", a trailing '/') are refused except for the
 * root pattern "/". Two routes with the same shape (parameters count as the same) that share a
 * method are duplicates.
 *
 * Matching works on the percent-decoded path. At each segment a literal beats a parameter,
 * which beats a rest parameter, with backtracking: "/a/b" prefers "/a/b" over "/a/{x}", and
 * still finds "/a/{x}" when only that one takes the request's method. The first route (in that
 * order) whose methods include the request's wins; a GET route also answers HEAD unless a HEAD
 * route matched at the same place.
 */
#ifndef TONEARM_HTTP_ROUTER_H
#define TONEARM_HTTP_ROUTER_H

#include <stddef.h>

#include "base/err.h"
#include "http/http.h"

#define HTTP_ROUTE_MAX_PARAMS 16   /* parameters in one pattern */
#define HTTP_ROUTE_MAX_SEGMENTS 64 /* segments in one pattern */

/* Every method bit the router knows. */
#define HTTP_METHODS_ALL \
	(HTTP_GET | HTTP_HEAD | HTTP_POST | HTTP_PUT | HTTP_PATCH | HTTP_DELETE | HTTP_OPTIONS)

enum http_match_kind {
	HTTP_MATCH_FOUND,       /* `route` answers; parameters are set */
	HTTP_MATCH_NOT_FOUND,   /* no pattern matches the path: 404 */
	HTTP_MATCH_NOT_ALLOWED, /* patterns match the path, none for this method: 405 + Allow */
	HTTP_MATCH_OPTIONS,     /* OPTIONS on a matching path no route claims: 204 + Allow */
};

struct http_span {
	size_t off, len; /* a part of the matched path */
};

struct http_match {
	enum http_match_kind kind;
	size_t route;              /* FOUND: index into the table given to http_router_new */
	unsigned allow;            /* NOT_ALLOWED, OPTIONS: every method the path answers */
	unsigned nparams;          /* FOUND: the route's parameters, in pattern order */
	const char *const *names;  /* FOUND: their names (owned by the router) */
	struct http_span params[HTTP_ROUTE_MAX_PARAMS];
};

struct http_router;

/* Compile `n` routes. The table (and its strings) must outlive the router: it is referenced,
 * not copied. NULL with ERR_INVALID naming the route on a bad pattern, method set, missing
 * handler or duplicate; ERR_NOMEM when memory runs out. */
struct http_router *http_router_new(const struct http_route *routes, size_t n, struct err *e);

void http_router_free(struct http_router *r);

/* Match `method` (one enum http_method bit, or 0 for a method no route can have) and the
 * decoded `path` (`len` bytes, starting with '/') into *m. Parameter spans point into `path`.
 * Never fails; does not allocate. */
void http_router_match(const struct http_router *r, unsigned method, const char *path, size_t len,
		       struct http_match *m);

/* Write an Allow header value for the method bits ("GET, HEAD, OPTIONS") into `out`
 * (NUL-terminated). Returns its length, or -1 if `cap` is too small (64 always suffices). */
int http_allow_format(unsigned allow, char *out, size_t cap);

/* The name of one method bit ("GET"), or NULL if `method` is not exactly one known bit. */
const char *http_method_name(unsigned method);

/* The method bit for a request method token, 0 for one tonearm does not implement. */
unsigned http_method_parse(const char *s, size_t len);

#endif
