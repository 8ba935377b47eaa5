/* json.h — strict JSON parsing and typed field access over jansson, for handlers.
 *
 * Our names are prefixed `tjson_` because `json_` is jansson's namespace. Every failure fills
 * a struct err with ERR_INVALID and a message safe to send back to the client, naming the
 * field that is wrong: `field "name": expected a string of at most 200 characters`.
 */
#ifndef TONEARM_BASE_JSON_H
#define TONEARM_BASE_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

/* Nesting deeper than this is refused whatever the caller asks (jansson's own limit is 2048). */
#define TJSON_DEPTH_MAX 1024

/* Parse exactly one JSON value (any type, RFC 8259) from `len` bytes. Refuses, with
 * ERR_INVALID and a "line L, column C" message: invalid UTF-8 (including overlongs, surrogates
 * and escaped lone surrogates), "\u0000" in strings, duplicate object keys, nesting deeper
 * than `max_depth` (a scalar is depth 0, `[]` is 1, `[[1]]` is 2; capped at TJSON_DEPTH_MAX),
 * and anything after the value but whitespace. Returns a new reference the caller must
 * json_decref(), or NULL with `e` set (ERR_NOMEM when memory runs out). */
json_t *tjson_parse_strict(const void *data, size_t len, size_t max_depth, struct err *e);

/* The typed getters read `key` from the object `obj`. Each returns 1 when the field is present
 * and valid (the value is stored in *out), 0 when it is absent or JSON null and not
 * `required` (*out is left as it was, so set the default first; for strings *out becomes
 * NULL), and -1 with ERR_INVALID in `e` when it is absent but required, of the wrong type or
 * out of range, or when `obj` is not an object.
 *
 * A string's length is counted in Unicode characters (code points), not bytes; a string
 * holding a NUL is refused. The returned pointer belongs to `obj` and lives as long as it. */
int tjson_get_str(json_t *obj, const char *key, bool required, size_t max_len, const char **out,
		  struct err *e);

/* An integer in [min, max]. A JSON number with a fraction or exponent (3.0, 1e3) is refused:
 * integers are written as integers. */
int tjson_get_int(json_t *obj, const char *key, bool required, long long min, long long max,
		  long long *out, struct err *e);

/* true or false (not 0/1, not "true"). */
int tjson_get_bool(json_t *obj, const char *key, bool required, bool *out, struct err *e);

#endif
