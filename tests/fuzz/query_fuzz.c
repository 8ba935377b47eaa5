/* query_fuzz.c — percent-decoding, path checks and query parsing (src/http/uri.c) on
 * arbitrary bytes. Checks the promises the header makes: decoded output never longer than the
 * input, a checked path is valid UTF-8 with no NUL and no dot segment, a checked query parses
 * into at most the counted parameters within the documented buffer size. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"
#include "http/uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *why;
	char *out = malloc(size + 1);
	ssize_t n;
	size_t count;

	n = http_pct_decode(out, in, size, size & 1);
	if (n > (ssize_t)size)
		abort();

	n = http_path_decode(in, size, out, &why);
	if (n >= 0) {
		if ((size_t)n > size || out[n] != '\0' || memchr(out, 0, (size_t)n) || !utf8_valid(out, (size_t)n) ||
		    out[0] != '/' || strstr(out, "/../") || strstr(out, "/./"))
			abort();
		if ((n >= 2 && strcmp(out + n - 2, "/.") == 0) || (n >= 3 && strcmp(out + n - 3, "/..") == 0))
			abort();
	}

	if (http_query_check(in, size, 64, &count, &why) == 0) {
		char *buf = malloc(size + 2 * count + 1);
		struct http_qparam *qp = malloc((count ? count : 1) * sizeof(*qp));
		size_t got = http_query_parse(in, size, buf, qp, count);

		if (got != count)
			abort();
		for (size_t i = 0; i < got; i++)
			if (!utf8_valid(qp[i].name, strlen(qp[i].name)) || !utf8_valid(qp[i].value, strlen(qp[i].value)))
				abort();
		free(buf);
		free(qp);
	}
	free(out);
	return 0;
}
