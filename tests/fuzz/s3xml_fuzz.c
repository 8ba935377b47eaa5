/* s3xml_fuzz.c — libFuzzer harness for the S3 XML extractor (src/store/s3xml.c).
 *
 * The input is copied into a buffer of exactly its size, not NUL-terminated, so that
 * AddressSanitizer catches any read past the length. Every entry point runs on it; the
 * callbacks check the extractor's promises (NUL-terminated, bounded, no NUL inside).
 *
 *   cmake -S . -B build-fuzz -G Ninja -DTONEARM_FUZZ=ON -DCMAKE_C_COMPILER=clang
 *   cmake --build build-fuzz --target s3xml_fuzz && build-fuzz/s3xml_fuzz -max_total_time=60
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/s3xml.h"

static int on_obj(void *ud, const struct s3xml_object *o)
{
	size_t *n = ud;

	if (strlen(o->key) > S3XML_KEY_MAX || strlen(o->etag) >= 80)
		abort();
	return ++*n > 100000 ? 1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *xml = malloc(size ? size : 1), *str = malloc(size + 1), out[128];
	struct s3xml_list *res = malloc(sizeof(*res));
	struct err e = ERR_INIT;
	size_t n = 0, o = 0;
	int64_t t;

	if (!xml || !str || !res)
		abort();
	memcpy(xml, data, size);
	memcpy(str, data, size);
	str[size] = '\0';

	if (s3xml_parse_list(xml, size, on_obj, &n, res, &e) == 0 &&
	    strlen(res->next_token) > S3XML_TOKEN_MAX)
		abort();
	if (s3xml_text(xml, size, "Code", out, sizeof(out)) == 1 && strlen(out) >= sizeof(out))
		abort();
	(void)s3xml_count(xml, size, "Upload");
	if (s3xml_decode(xml, size, out, sizeof(out), &o) == 0 && (o >= sizeof(out) || out[o] != '\0'))
		abort();
	(void)s3xml_time(str, &t);

	struct s3xml x;
	struct s3xml_tok tok;
	s3xml_init(&x, xml, size);
	while (s3xml_next(&x, &tok) == 0 && tok.type != S3XML_EOF)
		if (tok.p < xml || tok.p + tok.n > xml + size)
			abort();

	free(res);
	free(str);
	free(xml);
	return 0;
}
