/* range_fuzz.c — Range and conditional headers (src/http/range.c) on arbitrary bytes. The
 * input is split on '\n' into Range, If-Match, If-None-Match, If-Modified-Since,
 * If-Unmodified-Since and If-Range; a 206 must lie inside the entity. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *parts[6] = { 0 };
	size_t lens[6] = { 0 };
	size_t k = 0, start = 0;
	char *copy = malloc(size ? size : 1);
	struct http_conditions c;
	struct http_cond_result res;
	struct http_range r;
	uint64_t esize = size ? data[0] * 37u : 0;

	memcpy(copy, data, size);
	for (size_t i = 0; i <= size && k < 6; i++) {
		if (i == size || copy[i] == '\n') {
			parts[k] = copy + start;
			lens[k] = i - start;
			k++;
			start = i + 1;
		}
	}
	if (http_range_parse(parts[0], lens[0], esize, &r) == HTTP_RANGE_SINGLE && (r.first > r.last || r.last >= esize))
		abort();
	http_etag_match(parts[1], lens[1], "\"v1\"", size & 1);
	c = (struct http_conditions){ parts[1], parts[2], parts[3], parts[4], parts[5], parts[0],
				      lens[1],	lens[2],  lens[3],  lens[4],  lens[5],  lens[0] };
	for (int m = HTTP_COND_GET; m <= HTTP_COND_OTHER; m++) {
		http_cond_eval(&c, (enum http_cond_method)m, size & 2 ? "W/\"v1\"" : "\"v1\"", size & 4 ? 784111777 : 0,
			       esize, &res);
		if (res.status == 206 && (m != HTTP_COND_GET || res.range.first > res.range.last || res.range.last >= esize))
			abort();
		if (res.status != 200 && res.status != 206 && res.status != 304 && res.status != 412 && res.status != 416)
			abort();
	}
	free(copy);
	return 0;
}
