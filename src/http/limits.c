/* limits.c — the HTTP rate-limit policy over struct ratelimit (see limits.h). */
#include "http/internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

#define MAX_PROXIES 32
#define MAX_NAMED 32
#define ADDR_TEXT 64 /* INET6_ADDRSTRLEN and then some */

struct http_limits {
	struct ratelimit *rl;
	struct ratelimit_rule per_ip, per_account;
	struct http_limit_named named[MAX_NAMED];
	size_t nnamed;
	char *strings; /* route names of `named` and `exempt`, one allocation */
	const char *exempt[MAX_NAMED];
	size_t nexempt;
	unsigned char proxies[MAX_PROXIES][16]; /* IPv6 or IPv4-mapped */
	size_t nproxies;
	const char *(*account_of)(const struct http_req *req);
};

/* Text address to 16 bytes (IPv4 as ::ffff:a.b.c.d); false when it is not one. */
static bool addr_parse(const char *s, size_t n, unsigned char out[16])
{
	char t[ADDR_TEXT];
	struct in_addr v4;

	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= sizeof(t))
		return false;
	memcpy(t, s, n);
	t[n] = '\0';
	if (inet_pton(AF_INET, t, &v4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &v4, 4);
		return true;
	}
	return inet_pton(AF_INET6, t, out) == 1;
}

static bool is_proxy(const struct http_limits *l, const unsigned char a[16])
{
	for (size_t i = 0; i < l->nproxies; i++)
		if (memcmp(l->proxies[i], a, 16) == 0)
			return true;
	return false;
}

/* Split `list` at commas into trimmed, non-empty pieces kept in `dst` (copied into *pool,
 * advanced). Returns how many, at most `cap`. */
static size_t split_names(const char *list, const char **dst, size_t cap, char **pool)
{
	size_t n = 0;

	while (list && *list && n < cap) {
		const char *end = strchr(list, ','), *b = list;
		size_t len = end ? (size_t)(end - list) : strlen(list);

		while (len && *b == ' ')
			b++, len--;
		while (len && b[len - 1] == ' ')
			len--;
		if (len) {
			memcpy(*pool, b, len);
			(*pool)[len] = '\0';
			dst[n++] = *pool;
			*pool += len + 1;
		}
		list = end ? end + 1 : NULL;
	}
	return n;
}

struct http_limits *http_limits_new(const struct http_limits_options *opt, struct err *e)
{
	struct http_limits *l = calloc(1, sizeof(*l));
	size_t need = (opt->exempt ? strlen(opt->exempt) + 1 : 1) + 1;
	const char *tp = opt->trusted_proxies;
	char *pool;

	if (!l) {
		ratelimit_free(opt->backend);
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	l->rl = opt->backend;
	if (!l->rl && !(l->rl = ratelimit_memory_new(opt->max_keys, e)))
		goto fail;
	if (opt->nnamed > MAX_NAMED) {
		err_set(e, ERR_INVALID, "rate limits: at most %d named buckets", MAX_NAMED);
		goto fail;
	}
	for (size_t i = 0; i < opt->nnamed; i++)
		need += strlen(opt->named[i].route) + 1;
	l->strings = pool = malloc(need);
	if (!pool) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < opt->nnamed; i++) {
		size_t n = strlen(opt->named[i].route);

		memcpy(pool, opt->named[i].route, n + 1);
		l->named[i].route = pool;
		l->named[i].rule = opt->named[i].rule;
		pool += n + 1;
	}
	l->nnamed = opt->nnamed;
	l->nexempt = split_names(opt->exempt, l->exempt, MAX_NAMED, &pool);
	while (tp && *tp) {
		const char *end = strchr(tp, ',');
		size_t len = end ? (size_t)(end - tp) : strlen(tp);

		if (l->nproxies == MAX_PROXIES) {
			err_set(e, ERR_INVALID, "trusted_proxies: at most %d addresses", MAX_PROXIES);
			goto fail;
		}
		if (!addr_parse(tp, len, l->proxies[l->nproxies])) {
			err_set(e, ERR_INVALID, "trusted_proxies: \"%.*s\" is not an IP address", (int)(len > 64 ? 64 : len),
				tp);
			goto fail;
		}
		l->nproxies++;
		tp = end ? end + 1 : NULL;
	}
	l->per_ip = opt->per_ip;
	l->per_account = opt->per_account;
	l->account_of = opt->account_of;
	return l;
fail:
	http_limits_free(l);
	return NULL;
}

void http_limits_free(struct http_limits *l)
{
	if (!l)
		return;
	ratelimit_free(l->rl);
	free(l->strings);
	free(l);
}

/* The client behind trusted proxies: X-Forwarded-For read from the right, skipping
 * addresses that are themselves trusted proxies. Anything malformed ends the walk: what
 * is left of it was written by the client and proves nothing. */
static const char *client_addr(struct http_limits *l, struct http_req *r)
{
	const char *peer = http_peer_text(r->req, r->mem), *xff, *p;
	unsigned char a[16];

	if (!l->nproxies || !addr_parse(peer, strlen(peer), a) || !is_proxy(l, a))
		return peer;
	xff = http_req_header(r, "x-forwarded-for");
	if (!xff)
		return peer;
	p = xff + strlen(xff);
	while (p > xff) {
		const char *start = p;

		while (start > xff && start[-1] != ',')
			start--;
		if (!addr_parse(start, (size_t)(p - start), a))
			break;
		peer = h2o_strdup(r->mem, start, (size_t)(p - start)).base;
		while (*peer == ' ' || *peer == '\t')
			peer++;
		if (!is_proxy(l, a))
			break;
		p = start > xff ? start - 1 : xff;
	}
	/* Trim trailing blanks of the piece kept. */
	{
		char *t = (char *)peer;
		size_t n = strlen(t);

		while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
			t[--n] = '\0';
	}
	return peer;
}

/* Keep the tighter of the buckets seen for the RateLimit headers. */
static void note(struct http_req *r, const struct ratelimit_result *res)
{
	if (!res->limit || (r->rl_set && !r->rl.allowed))
		return;
	if (!r->rl_set || !res->allowed || res->remaining < r->rl.remaining)
		r->rl = *res;
	r->rl_set = true;
}

static int refuse(struct http_req *r, const char *what)
{
	char v[16];

	snprintf(v, sizeof(v), "%u", r->rl.retry_after);
	http_res_header(r, "Retry-After", v);
	http_res_problem(r, 429, "Too Many Requests", what);
	return -1;
}

static int take(struct http_limits *l, struct http_req *r, const char *key, const struct ratelimit_rule *rule)
{
	struct ratelimit_result res;
	struct err e = ERR_INIT;

	/* The request's arrival is "now" for its buckets: one clock read less per bucket. */
	if (ratelimit_take(l->rl, key, rule, r->t0_ns, &res, &e) < 0) {
		/* Fail open: a broken limiter must not take the service down. */
		log_kv(LOG_WARN, r->id, "http: rate limiter failed", LOG_FIELDS(LOG_STR("error", e.msg)));
		return 0;
	}
	note(r, &res);
	return res.allowed ? 0 : -1;
}

/* A bucket key: the parts one after the other, cut at RATELIMIT_KEY_MAX as snprintf would
 * (without its format parsing, on every request). */
static void key_join(char key[RATELIMIT_KEY_MAX + 1], const char *const *parts)
{
	size_t n = 0;

	for (int i = 0; parts[i]; i++) {
		size_t k = strnlen(parts[i], RATELIMIT_KEY_MAX - n);

		memcpy(key + n, parts[i], k);
		n += k;
	}
	key[n] = '\0';
}

static bool exempt(const struct http_limits *l, const struct http_req *r)
{
	for (size_t i = 0; i < l->nexempt; i++)
		if (strcmp(l->exempt[i], r->rt->label) == 0)
			return true;
	return false;
}

/* The bucket key of an address: IPv6 by its /64, since one subscriber usually holds a whole
 * /64 and could otherwise rotate through 2^64 fresh buckets. IPv4 (and v4-mapped) as is. */
static const char *bucket_addr(struct http_req *r, const char *addr)
{
	struct in6_addr a6;
	char t[INET6_ADDRSTRLEN];
	const char *k;

	if (!strchr(addr, ':') || inet_pton(AF_INET6, addr, &a6) != 1 || IN6_IS_ADDR_V4MAPPED(&a6))
		return addr;
	memset(a6.s6_addr + 8, 0, 8);
	if (!inet_ntop(AF_INET6, &a6, t, sizeof(t)))
		return addr;
	k = http_req_printf(r, "%s/64", t);
	return k ? k : addr;
}

int http_limits_check(struct http_req *r)
{
	struct http_limits *l = r->srv->opt.limits;
	char key[RATELIMIT_KEY_MAX + 1];
	const char *addr;

	if (!l)
		return 0;
	r->peer = client_addr(l, r);
	if (!r->route || exempt(l, r))
		return 0;
	addr = bucket_addr(r, r->peer);
	for (size_t i = 0; i < l->nnamed; i++) {
		if (strcmp(l->named[i].route, r->rt->label) != 0)
			continue;
		key_join(key, (const char *const[]){ "r:", l->named[i].route, ":", addr, NULL });
		if (take(l, r, key, &l->named[i].rule) < 0)
			return refuse(r, "too many attempts from your address; try again later");
		break;
	}
	key_join(key, (const char *const[]){ "ip:", addr, NULL });
	if (take(l, r, key, &l->per_ip) < 0)
		return refuse(r, "too many requests from your address; slow down");
	return 0;
}

int http_limits_account_hook(struct http_req *req, const struct http_route *route, void *app)
{
	struct http_limits *l = req->srv->opt.limits;
	char key[RATELIMIT_KEY_MAX + 1];
	const char *who;

	(void)route;
	(void)app;
	if (!l || !l->account_of || exempt(l, req) || !(who = l->account_of(req)))
		return 0;
	key_join(key, (const char *const[]){ "u:", who, NULL });
	if (take(l, req, key, &l->per_account) < 0)
		return refuse(req, "too many requests for your account; slow down");
	return 0;
}
