#include "http/router.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"

/* One trie node: reached by a literal segment, a parameter or a rest parameter. */
struct node {
	const char *lit; /* literal children: the segment (into the pattern, not NUL-ended) */
	size_t lit_len;
	struct node **lits; /* sorted by segment_cmp() */
	size_t nlits;
	struct node *param; /* "{x}" child */
	struct node *rest;  /* "{x*}" child; always a leaf */
	size_t *routes;     /* routes ending here, in table order */
	size_t nroutes;
	unsigned methods;   /* the union of their methods */
};

/* A compiled route: its parameter names in pattern order. */
struct compiled {
	char *names[HTTP_ROUTE_MAX_PARAMS];
	unsigned nparams;
};

struct http_router {
	const struct http_route *routes;
	size_t nroutes;
	struct compiled *compiled;
	struct node root;
};

static const struct {
	unsigned bit;
	const char *name;
} methods[] = {
	{ HTTP_GET, "GET" },	   { HTTP_HEAD, "HEAD" },     { HTTP_POST, "POST" },
	{ HTTP_PUT, "PUT" },	   { HTTP_PATCH, "PATCH" },   { HTTP_DELETE, "DELETE" },
	{ HTTP_OPTIONS, "OPTIONS" },
};

const char *http_method_name(unsigned method)
{
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (methods[i].bit == method)
			return methods[i].name;
	return NULL;
}

unsigned http_method_parse(const char *s, size_t len)
{
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strlen(methods[i].name) == len && memcmp(methods[i].name, s, len) == 0)
			return methods[i].bit;
	return 0;
}

int http_allow_format(unsigned allow, char *out, size_t cap)
{
	size_t n = 0;

	if (cap == 0)
		return -1;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		size_t l = strlen(methods[i].name);

		if (!(allow & methods[i].bit))
			continue;
		if (n + (n ? 2 : 0) + l + 1 > cap)
			return -1;
		if (n) {
			memcpy(out + n, ", ", 2);
			n += 2;
		}
		memcpy(out + n, methods[i].name, l);
		n += l;
		out[n] = '\0';
	}
	return (int)n;
}

/* Order of literal children: by bytes, then by length (any total order works for bsearch). */
static int segment_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = memcmp(a, b, n);

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static void node_release(struct node *n)
{
	for (size_t i = 0; i < n->nlits; i++) {
		node_release(n->lits[i]);
		free(n->lits[i]);
	}
	free(n->lits);
	if (n->param) {
		node_release(n->param);
		free(n->param);
	}
	if (n->rest) {
		node_release(n->rest);
		free(n->rest);
	}
	free(n->routes);
}

void http_router_free(struct http_router *r)
{
	if (!r)
		return;
	node_release(&r->root);
	for (size_t i = 0; r->compiled && i < r->nroutes; i++)
		for (unsigned p = 0; p < r->compiled[i].nparams; p++)
			free(r->compiled[i].names[p]);
	free(r->compiled);
	free(r);
}

/* The literal child for a segment, created when `create` is set. NULL when absent or out of
 * memory (the caller tells the two apart by `create`). */
static struct node *lit_child(struct node *n, const char *seg, size_t len, bool create)
{
	size_t lo = 0, hi = n->nlits;
	struct node **grown, *c;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = segment_cmp(seg, len, n->lits[mid]->lit, n->lits[mid]->lit_len);

		if (cmp == 0)
			return n->lits[mid];
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (!create)
		return NULL;
	c = calloc(1, sizeof(*c));
	grown = c ? realloc(n->lits, (n->nlits + 1) * sizeof(*n->lits)) : NULL;
	if (!grown) {
		free(c);
		return NULL;
	}
	n->lits = grown;
	memmove(n->lits + lo + 1, n->lits + lo, (n->nlits - lo) * sizeof(*n->lits));
	c->lit = seg;
	c->lit_len = len;
	n->lits[lo] = c;
	n->nlits++;
	return c;
}

static struct node *new_child(struct node **slot)
{
	if (!*slot)
		*slot = calloc(1, sizeof(**slot));
	return *slot;
}

static bool name_valid(const char *s, size_t len)
{
	if (len == 0 || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	for (size_t i = 1; i < len; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

static bool literal_valid(const char *s, size_t len)
{
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < len; i++)
		if (strchr("{}%?#", s[i]) || (unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return utf8_valid(s, len);
}

/* Add route `idx` to the trie. */
static int add_route(struct http_router *r, size_t idx, struct err *e)
{
	const struct http_route *rt = &r->routes[idx];
	struct compiled *c = &r->compiled[idx];
	const char *p = rt->pattern;
	struct node *n = &r->root;
	unsigned nseg = 0;
	size_t *grown;

	if (!p || p[0] != '/')
		return err_set(e, ERR_INVALID, "route %zu: pattern must start with '/'", idx);
	if (!rt->handler)
		return err_set(e, ERR_INVALID, "route %zu (%s): no handler", idx, p);
	if (rt->methods == 0 || (rt->methods & ~(unsigned)HTTP_METHODS_ALL))
		return err_set(e, ERR_INVALID, "route %zu (%s): bad method set", idx, p);
	if (strcmp(p, "/") == 0) {
		n = lit_child(n, p + 1, 0, true);
		if (!n)
			return err_set(e, ERR_NOMEM, "out of memory");
		goto leaf;
	}
	for (const char *seg = p + 1;; nseg++) {
		const char *end = strchr(seg, '/');
		size_t len = end ? (size_t)(end - seg) : strlen(seg);

		if (nseg >= HTTP_ROUTE_MAX_SEGMENTS)
			return err_set(e, ERR_INVALID, "route %zu (%s): too many segments", idx, p);
		if (len == 0)
			return err_set(e, ERR_INVALID, "route %zu (%s): empty segment", idx, p);
		if (seg[0] == '{') {
			bool rest = len >= 3 && seg[len - 2] == '*';
			size_t nlen = len - 2 - (rest ? 1 : 0);

			if (seg[len - 1] != '}' || !name_valid(seg + 1, nlen))
				return err_set(e, ERR_INVALID, "route %zu (%s): bad parameter", idx, p);
			if (rest && end)
				return err_set(e, ERR_INVALID, "route %zu (%s): {name*} must be last", idx, p);
			if (c->nparams >= HTTP_ROUTE_MAX_PARAMS)
				return err_set(e, ERR_INVALID, "route %zu (%s): too many parameters", idx, p);
			for (unsigned i = 0; i < c->nparams; i++)
				if (strlen(c->names[i]) == nlen && memcmp(c->names[i], seg + 1, nlen) == 0)
					return err_set(e, ERR_INVALID, "route %zu (%s): repeated parameter", idx, p);
			c->names[c->nparams] = strndup(seg + 1, nlen);
			if (!c->names[c->nparams])
				return err_set(e, ERR_NOMEM, "out of memory");
			c->nparams++;
			n = new_child(rest ? &n->rest : &n->param);
		} else {
			if (!literal_valid(seg, len))
				return err_set(e, ERR_INVALID, "route %zu (%s): bad literal segment", idx, p);
			n = lit_child(n, seg, len, true);
		}
		if (!n)
			return err_set(e, ERR_NOMEM, "out of memory");
		if (!end)
			break;
		seg = end + 1;
	}
leaf:
	if (n->methods & rt->methods)
		return err_set(e, ERR_INVALID, "route %zu (%s): duplicate route (same shape and method)", idx, p);
	grown = realloc(n->routes, (n->nroutes + 1) * sizeof(*n->routes));
	if (!grown)
		return err_set(e, ERR_NOMEM, "out of memory");
	n->routes = grown;
	n->routes[n->nroutes++] = idx;
	n->methods |= rt->methods;
	return 0;
}

struct http_router *http_router_new(const struct http_route *routes, size_t n, struct err *e)
{
	struct http_router *r = calloc(1, sizeof(*r));

	if (!r || (n && !(r->compiled = calloc(n, sizeof(*r->compiled))))) {
		free(r);
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	r->routes = routes;
	r->nroutes = n;
	for (size_t i = 0; i < n; i++) {
		if (add_route(r, i, e) < 0) {
			http_router_free(r);
			return NULL;
		}
	}
	return r;
}

/* ---- matching ---- */

struct walk {
	const struct http_router *r;
	const char *path;
	size_t len;
	unsigned method;
	unsigned allow;
	unsigned depth; /* parameters captured so far */
	struct http_span caps[HTTP_ROUTE_MAX_PARAMS];
	struct http_match *m;
};

/* The route at a leaf for the method: an explicit one first, then GET for HEAD. */
static bool leaf_pick(struct walk *w, const struct node *n)
{
	const struct http_route *routes = w->r->routes;
	size_t found = SIZE_MAX;

	if (!n->nroutes)
		return false;
	w->allow |= n->methods | HTTP_OPTIONS | ((n->methods & HTTP_GET) ? HTTP_HEAD : 0);
	for (size_t i = 0; i < n->nroutes && found == SIZE_MAX; i++)
		if (routes[n->routes[i]].methods & w->method)
			found = n->routes[i];
	for (size_t i = 0; i < n->nroutes && found == SIZE_MAX && w->method == HTTP_HEAD; i++)
		if (routes[n->routes[i]].methods & HTTP_GET)
			found = n->routes[i];
	if (found == SIZE_MAX)
		return false;
	w->m->kind = HTTP_MATCH_FOUND;
	w->m->route = found;
	w->m->nparams = w->r->compiled[found].nparams;
	w->m->names = (const char *const *)w->r->compiled[found].names;
	memcpy(w->m->params, w->caps, w->depth * sizeof(w->caps[0]));
	return true;
}

/* Match the segment starting at `pos` (just after a '/') and the rest below node `n`. */
static bool walk(struct walk *w, const struct node *n, size_t pos)
{
	const char *seg = w->path + pos;
	const char *slash = memchr(seg, '/', w->len - pos);
	size_t seglen = slash ? (size_t)(slash - seg) : w->len - pos;
	const struct node *c;

	c = lit_child((struct node *)n, seg, seglen, false);
	if (c && (slash ? walk(w, c, pos + seglen + 1) : leaf_pick(w, c)))
		return true;
	if (n->param && seglen > 0 && w->depth < HTTP_ROUTE_MAX_PARAMS) {
		w->caps[w->depth++] = (struct http_span){ pos, seglen };
		if (slash ? walk(w, n->param, pos + seglen + 1) : leaf_pick(w, n->param))
			return true;
		w->depth--;
	}
	if (n->rest && pos < w->len && w->depth < HTTP_ROUTE_MAX_PARAMS) {
		w->caps[w->depth++] = (struct http_span){ pos, w->len - pos };
		if (leaf_pick(w, n->rest))
			return true;
		w->depth--;
	}
	return false;
}

void http_router_match(const struct http_router *r, unsigned method, const char *path, size_t len,
		       struct http_match *m)
{
	struct walk w = { .r = r, .path = path, .len = len, .method = method, .m = m };

	m->kind = HTTP_MATCH_NOT_FOUND;
	m->route = SIZE_MAX;
	m->allow = 0;
	m->nparams = 0;
	m->names = NULL;
	if (len == 0 || path[0] != '/')
		return;
	if (walk(&w, &r->root, 1))
		return;
	m->allow = w.allow;
	if (w.allow)
		m->kind = method == HTTP_OPTIONS ? HTTP_MATCH_OPTIONS : HTTP_MATCH_NOT_ALLOWED;
}
