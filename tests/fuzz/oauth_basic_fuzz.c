/* Fuzz the OAuth client credentials parser (auth/oauth.h: oauth_basic_parse), which reads an
 * Authorization header straight from the network: it must never read or write out of bounds,
 * and what it returns must be NUL-terminated within the caller's capacity. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/oauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *h = malloc(size + 7);
	char id[ID_LEN + 8], secret[OAUTH_SECRET_LEN + 8];

	if (!h)
		return 0;
	/* Half the inputs get the scheme, so the decoder is reached often. */
	if (size && (data[0] & 1)) {
		memcpy(h, "Basic ", 6);
		memcpy(h + 6, data + 1, size - 1);
		h[size + 5] = '\0';
	} else {
		memcpy(h, data, size);
		h[size] = '\0';
	}
	if (oauth_basic_parse(h, id, sizeof(id), secret, sizeof(secret)) == 0) {
		if (strlen(id) >= sizeof(id) || strlen(secret) >= sizeof(secret))
			abort();
	}
	free(h);
	return 0;
}
