/* json_fuzz — tjson_parse_strict on arbitrary bytes. Checks: no crash or leak; a refusal says
 * why; what is accepted is within the depth asked, dumps and parses back to an equal value,
 * and the typed getters never misbehave on it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/utf8.h"

#define DEPTH 16

static size_t depth(json_t *v)
{
	size_t d = 0, i;
	const char *k;
	json_t *child;

	if (json_is_array(v)) {
		json_array_foreach(v, i, child) {
			size_t c = depth(child);
			d = c > d ? c : d;
		}
		return d + 1;
	}
	if (json_is_object(v)) {
		json_object_foreach(v, k, child) {
			size_t c = depth(child);
			d = c > d ? c : d;
		}
		return d + 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err e = ERR_INIT;
	json_t *j = tjson_parse_strict(data, size, DEPTH, &e);

	if (!j) {
		if (e.code == ERR_NONE || !e.msg[0])
			abort();
		return 0;
	}
	if (!utf8_valid((const char *)data, size) || depth(j) > DEPTH)
		abort();

	char *text = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
	if (!text)
		abort();
	struct err e2 = ERR_INIT;
	json_t *back = tjson_parse_strict(text, strlen(text), DEPTH, &e2);
	if (!back || !json_equal(j, back))
		abort();
	json_decref(back);
	free(text);

	if (json_is_object(j)) {
		const char *key;
		json_t *v;
		json_object_foreach(j, key, v) {
			const char *s;
			long long n;
			bool b;
			int r = tjson_get_str(j, key, true, 8, &s, &e);
			if (r == 1 && (!json_is_string(v) || !utf8_valid(s, strlen(s))))
				abort();
			r = tjson_get_int(j, key, false, -100, 100, &n, &e);
			if (r == 1 && (n < -100 || n > 100))
				abort();
			r = tjson_get_bool(j, key, false, &b, &e);
			if (r == 1 && !json_is_boolean(v))
				abort();
		}
	}
	json_decref(j);
	return 0;
}
