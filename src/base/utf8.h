/* utf8.h — UTF-8 validation and repair.
 *
 * Text from the network, tags and file names is untrusted. utf8_valid() checks strict UTF-8
 * (no overlongs, no surrogates, nothing above U+10FFFF). utf8_sanitize() copies while
 * replacing each invalid sequence with U+FFFD, so what we store and send is always valid.
 */
#ifndef TONEARM_BASE_UTF8_H
#define TONEARM_BASE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

bool utf8_valid(const char *s, size_t len);

/* Copy `len` bytes of `src` into `dst` (capacity `cap`, NUL-terminated when cap > 0),
 * replacing invalid sequences and NUL bytes with U+FFFD. Returns the length the full
 * result needs (excluding the NUL), like snprintf: call with dst = NULL to size it. When the
 * result does not fit, `dst` holds the longest prefix of whole characters that does, so a
 * truncated result is still valid UTF-8. */
size_t utf8_sanitize(char *dst, size_t cap, const char *src, size_t len);

/* Copy the C string `src` (NULL reads as "") into `dst` of `cap` > 0 bytes, cut to fit at a
 * character boundary (never in the middle of a UTF-8 sequence), always NUL-terminated.
 * Returns the length written. For fixed-size fields filled from the database or a request. */
size_t utf8_copy(char *dst, size_t cap, const char *src);

#endif
