/* jsonw.h — writing JSON text straight into a bounded buffer, for hot paths.
 *
 * Building a jansson tree only to dump it costs a malloc per value and a second pass; a page
 * of 50 tracks spent more time there than in the database. A writer appends text instead,
 * byte for byte what json_dumpb(…, JSON_COMPACT) writes for the same values, so a handler can
 * switch to it without its answers changing:
 *   - strings are escaped as jansson does ('"', '\\', \b \f \n \r \t, other control characters
 *     as \u00XX in capitals; '/' and non-ASCII are left alone);
 *   - integers are plain decimal; reals are "%.17g" with ".0" added when there is neither a
 *     '.' nor an 'e', and the exponent without '+' or leading zeros ("1e20", "1e-5").
 * Two deliberate differences, neither reachable with values read from the database: a string
 * that is not valid UTF-8 fails the writer (jansson's json_string gives NULL, and the member
 * silently disappears), and a real that is not finite is written as null (jansson refuses it).
 *
 * Separators are implied: every value, key and container opened after another value gets its
 * comma, so callers write members in order and never think about commas.
 *
 * Errors are sticky: once an append fails (the buffer's cap, or memory) or a string is not
 * UTF-8, `failed` is set, later calls do nothing, and the text must not be used.
 * Ownership: the writer owns `buf`; take the text with buf_detach(&w->buf, …) or read it in
 * place before jsonw_release().
 */
#ifndef TONEARM_BASE_JSONW_H
#define TONEARM_BASE_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

struct jsonw {
	struct buf buf;
	bool failed;
};

/* An empty writer whose text may grow to `max` bytes (0: the buffer's default cap). */
void jsonw_init(struct jsonw *w, size_t max);

/* Free the text; the writer is empty (and not failed) afterwards. */
void jsonw_release(struct jsonw *w);

void jsonw_obj_begin(struct jsonw *w);
void jsonw_obj_end(struct jsonw *w);
void jsonw_arr_begin(struct jsonw *w);
void jsonw_arr_end(struct jsonw *w);

/* A member's key (escaped like any string), then its value with one of the calls below. */
void jsonw_key(struct jsonw *w, const char *key);

/* A key written by the preprocessor: JSONW_KEY(w, "name") appends "name": with its
 * separator, without measuring or checking the key at run time. Only for literal keys of
 * printable ASCII without '"' or '\\' (every key of tonearm's answers). */
#define JSONW_QUOTED_KEY(lit) "\"" lit "\":", sizeof("\"" lit "\":") - 1
#define JSONW_KEY(w, lit) jsonw_key_quoted((w), JSONW_QUOTED_KEY(lit))
void jsonw_key_quoted(struct jsonw *w, const char *text, size_t n);

/* A member in one call: its key (as JSONW_QUOTED_KEY gives it) and its value, the same text as
 * jsonw_key_quoted followed by the value's own call. A page of 50 tracks writes some 2,000
 * members; one call and one check of the buffer's room each instead of five halves its cost.
 * jsonw_member_raw's value is JSON text the caller vouches for ("null", "{" to open an
 * object, a quoted timestamp). */
void jsonw_member_str(struct jsonw *w, const char *key, size_t keylen, const char *s);
void jsonw_member_int(struct jsonw *w, const char *key, size_t keylen, int64_t v);
void jsonw_member_real(struct jsonw *w, const char *key, size_t keylen, double v);
void jsonw_member_raw(struct jsonw *w, const char *key, size_t keylen, const char *text, size_t n);

/* A value that is already JSON text (e.g. a quoted timestamp the caller formatted), appended
 * as it is with its separator. The caller vouches that it is valid JSON. */
void jsonw_raw(struct jsonw *w, const char *text, size_t n);

/* A string; NULL writes null. */
void jsonw_str(struct jsonw *w, const char *s);
/* A string of `len` bytes (no NUL inside), for callers that know its length. */
void jsonw_strn(struct jsonw *w, const char *s, size_t len);
void jsonw_int(struct jsonw *w, int64_t v);
void jsonw_real(struct jsonw *w, double v);
void jsonw_bool(struct jsonw *w, bool v);
void jsonw_null(struct jsonw *w);

/* A finite real as jansson writes it with `precision` significant digits ("%.*g", ".0"
 * added to an integral value, the exponent without '+' or leading zeros) into out, NUL-
 * terminated: its length, or 0 for a non-finite value or a precision too large to fit. */
/* An integer as jsonw_int writes it (decimal, no printf) into out, NUL-terminated; returns its
 * length. Also for other text that wants a number fast (HTTP header values). */
#define JSONW_INT_MAX 21
size_t jsonw_int_text(int64_t v, char out[JSONW_INT_MAX]);

#define JSONW_REAL_MAX 40
size_t jsonw_real_text(double v, int precision, char out[JSONW_REAL_MAX]);

/* The JSON escape of byte `c` (jansson's: \" \\ \b \f \n \r \t, other control bytes \u00XX in
 * capitals) into out: its length (2 or 6), or 0 when the byte stands for itself in a string. */
size_t jsonw_escape(unsigned char c, char out[6]);

#endif
