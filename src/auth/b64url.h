/* b64url.h — base64url without padding (RFC 4648 §5), as JOSE and our opaque tokens use it.
 *
 * Decoding is strict, since tokens come from outside: only the URL-safe alphabet, no padding,
 * no whitespace, no length that cannot occur (len % 4 == 1), and the unused low bits of the
 * last character must be zero (so one byte string has exactly one encoding).
 */
#ifndef TONEARM_AUTH_B64URL_H
#define TONEARM_AUTH_B64URL_H

#include <stddef.h>

/* Characters needed to encode n bytes (without the NUL). */
#define B64URL_LEN(n) (((n) / 3) * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))

/* Encode `n` bytes into `out` (capacity `cap`, at least B64URL_LEN(n) + 1), NUL-terminated.
 * Returns the length written, or -1 (out untouched) when it does not fit. */
long b64url_encode(const void *in, size_t n, char *out, size_t cap);

/* Decode `len` characters of `in` into `out` (capacity `cap`). Returns the byte count, or -1
 * when the input is not canonical base64url or the result does not fit. */
long b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap);

#endif
