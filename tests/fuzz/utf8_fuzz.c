/* utf8_fuzz — utf8_sanitize's output is always valid UTF-8 without NUL, its sizing agrees
 * with what it writes (like snprintf), and a truncated result is a prefix of the whole one;
 * utf8_valid agrees with "sanitize changes nothing". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *src = (const char *)data;
	size_t need = utf8_sanitize(NULL, 0, src, size);
	char *full = malloc(need + 1);

	if (!full || utf8_sanitize(full, need + 1, src, size) != need)
		abort();
	if (strlen(full) != need || !utf8_valid(full, need))
		abort();
	/* valid input without NUL comes out unchanged, and only then */
	bool same = need == size && memcmp(full, src, size) == 0;
	if (same != (utf8_valid(src, size) && !memchr(src, '\0', size)))
		abort();
	/* every small cap: NUL-terminated within it, valid, a prefix of the full result */
	for (size_t cap = 1; cap <= need + 1 && cap <= 64; cap++) {
		char *part = malloc(cap);
		if (!part || utf8_sanitize(part, cap, src, size) != need)
			abort();
		size_t n = strlen(part);
		if (n >= cap || !utf8_valid(part, n) || memcmp(part, full, n) != 0)
			abort();
		/* no whole character that would have fitted was left out */
		if (n < need && cap - 1 - n >= 4)
			abort();
		free(part);
	}
	free(full);
	return 0;
}
