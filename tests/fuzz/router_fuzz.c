/* router_fuzz.c — the router against arbitrary paths and methods (src/http/router.c).
 * The first byte picks the method; the rest is the (already decoded) path. Checks that every
 * parameter span lies inside the path and that the answer is one of the four kinds. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/router.h"

static void h(struct http_req *req, void *app)
{
	(void)req;
	(void)app;
}

static const struct http_route table[] = {
	{ HTTP_GET, "/", h, 0, 0, NULL },
	{ HTTP_GET | HTTP_POST, "/api/v1/tracks", h, 0, 0, NULL },
	{ HTTP_GET | HTTP_DELETE, "/api/v1/tracks/{id}", h, 0, 0, NULL },
	{ HTTP_GET, "/api/v1/tracks/latest", h, 0, 0, NULL },
	{ HTTP_PUT, "/api/v1/tracks/{id}/tags/{tag}", h, 0, 0, NULL },
	{ HTTP_GET, "/api/v1/{a}/{b}/{c}/{d}", h, 0, 0, NULL },
	{ HTTP_GET, "/hls/{track}/{rest*}", h, 0, 0, NULL },
	{ HTTP_POST, "/a/{x}", h, 0, 0, NULL },
	{ HTTP_GET, "/a/b", h, 0, 0, NULL },
	{ HTTP_OPTIONS, "/cors", h, 0, 0, NULL },
	{ HTTP_HEAD, "/{x}/{y}", h, 0, 0, NULL },
	{ HTTP_GET, "/{x}/{y}/z", h, 0, 0, NULL },
	{ HTTP_PATCH, "/{rest*}", h, 0, 0, NULL },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_router *r;
	struct http_match m;
	unsigned method;

	if (!r) {
		struct err e = ERR_INIT;

		r = http_router_new(table, sizeof(table) / sizeof(table[0]), &e);
		if (!r)
			abort();
	}
	if (size < 1)
		return 0;
	method = data[0] & 7 ? 1u << ((data[0] & 7) - 1) : 0;
	/* a copy so that reading past the end is caught */
	char *path = malloc(size - 1 ? size - 1 : 1);
	memcpy(path, data + 1, size - 1);
	http_router_match(r, method, path, size - 1, &m);
	switch (m.kind) {
	case HTTP_MATCH_FOUND:
		if (m.route >= sizeof(table) / sizeof(table[0]) || m.nparams > HTTP_ROUTE_MAX_PARAMS)
			abort();
		for (unsigned i = 0; i < m.nparams; i++)
			if (m.params[i].off + m.params[i].len > size - 1 || m.params[i].len == 0 || !m.names[i])
				abort();
		break;
	case HTTP_MATCH_NOT_ALLOWED:
	case HTTP_MATCH_OPTIONS:
		if (!m.allow)
			abort();
		break;
	case HTTP_MATCH_NOT_FOUND:
		break;
	default:
		abort();
	}
	free(path);
	return 0;
}
