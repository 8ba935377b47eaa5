/* tus_fuzz — the tus header parsers (ingest/upload.h) on hostile bytes: Upload-Metadata and
 * Upload-Checksum never read outside their input, and whatever they accept obeys the rules:
 * a decoded file name passes upload_filename_check (no '/', '\\', NUL, "..", valid UTF-8,
 * ≤ 255 bytes) and a file type is printable ASCII. The first byte picks the parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"
#include "ingest/upload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err e = ERR_INIT;
	char *copy;

	if (size < 1)
		return 0;
	/* An exact-size copy, so ASan sees any read past the end. */
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		abort();
	memcpy(copy, data + 1, size - 1);
	if (data[0] & 1) {
		struct upload_metadata m;

		if (upload_metadata_parse(copy, size - 1, &m, &e) == 0) {
			size_t n = strlen(m.filename);

			if (m.has_filename ? upload_filename_check(m.filename, n, &e) != 0 : n != 0)
				abort();
			if (strchr(m.filename, '/') || strchr(m.filename, '\\') || strstr(m.filename, "..") ||
			    !utf8_valid(m.filename, n))
				abort();
			for (const char *p = m.filetype; *p; p++)
				if (*p < 0x20 || *p >= 0x7f)
					abort();
		} else if (e.code != ERR_INVALID) {
			abort();
		}
	} else {
		unsigned char d[32];

		if (upload_checksum_parse(copy, size - 1, d, &e) == 0) {
			if (size - 1 < 7 + 44 || memcmp(copy, "sha256 ", 7) != 0)
				abort();
		} else if (e.code != ERR_INVALID && e.code != ERR_UNSUPPORTED) {
			abort();
		}
	}
	free(copy);
	return 0;
}
