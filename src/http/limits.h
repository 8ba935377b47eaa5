/* limits.h — request rate limits for the HTTP server: token buckets per client address, per
 * account and per named route (sign-in, registration, token refresh), with the draft IETF
 * RateLimit-Limit / RateLimit-Remaining / RateLimit-Reset headers on every limited answer and
 * 429 problem+json with Retry-After over the limit.
 *
 * Two checks:
 *   - per client address (and the route's named bucket, if any): run by the server on the
 *     event loop right after routing, before any hook and before a blocking route is queued,
 *     so a flood is refused without ever reaching the handler pool;
 *   - per account: http_limits_account_hook, a struct http_hook placed after the
 *     authentication hook (it needs the principal, which only that hook knows).
 * The RateLimit headers describe the tighter of the buckets the request went through.
 *
 * The client address: the socket peer, unless the peer is one of `trusted_proxies`; then the
 * right-most X-Forwarded-For entry that is not itself a trusted proxy. http_req_peer() returns
 * that address too, so logs and the sign-in throttle see the real client.
 */
#ifndef TONEARM_HTTP_LIMITS_H
#define TONEARM_HTTP_LIMITS_H

#include <stddef.h>

#include "base/err.h"
#include "http/http.h"
#include "http/ratelimit.h"

/* A stricter bucket for one route, by route name, keyed per client address. */
struct http_limit_named {
	const char *route; /* struct http_route.name */
	struct ratelimit_rule rule;
};

struct http_limits_options {
	struct ratelimit_rule per_ip;      /* rate 0: no per-address limit */
	struct ratelimit_rule per_account; /* rate 0: no per-account limit */
	const struct http_limit_named *named;
	size_t nnamed;
	const char *exempt;          /* comma-separated route names never limited ("healthz,readyz") */
	const char *trusted_proxies; /* comma-separated IP addresses; NULL or "" for none */
	/* The account a request is from (after authentication), or NULL when anonymous. */
	const char *(*account_of)(const struct http_req *req);
	struct ratelimit *backend;   /* NULL: an in-process one of max_keys buckets */
	size_t max_keys;
};

struct http_limits;

/* Build the limiter; the strings and the named table are copied. Takes ownership of
 * opt->backend (freed with the limiter, also on failure). NULL with ERR_INVALID for a bad
 * trusted proxy address, ERR_NOMEM. */
struct http_limits *http_limits_new(const struct http_limits_options *opt, struct err *e);
void http_limits_free(struct http_limits *l);

/* The hook that applies the per-account bucket (use after the authentication hook). Finds
 * the limiter through the server (http_server_options.limits); answers 429 and returns -1
 * over the limit. */
int http_limits_account_hook(struct http_req *req, const struct http_route *route, void *app);

#endif
