/* id.h — sortable unique identifiers and random tokens.
 *
 * Ids are ULIDs (https://github.com/ulid/spec): a 48-bit millisecond timestamp and 80 random
 * bits in Crockford's base32, 26 characters, e.g. "01ARZ3NDEKTSV4RRFFQ69G5FAV". Sorting ids as
 * strings sorts them by creation time; within one process they are strictly increasing, even
 * for ids made in the same millisecond on different threads (the random part is incremented)
 * and when the wall clock steps back (the last timestamp is kept until the clock catches up).
 * An id says when it was made, so never use one as a secret: tokens come from id_random_hex().
 */
#ifndef TONEARM_BASE_ID_H
#define TONEARM_BASE_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ID_LEN 26

/* Write a new id and its NUL into `out`. Thread-safe; never fails: if the system's random
 * source fails, the id is still unique and ordered (the previous random part is incremented),
 * only less unpredictable. */
void id_new(char out[ID_LEN + 1]);

/* True when `s` is exactly ID_LEN upper-case Crockford base32 characters whose value fits in
 * 128 bits (the first character is 0–7). NULL is not valid. */
bool id_valid(const char *s);

/* The millisecond timestamp inside a valid id, or -1 if `s` is not valid. */
int64_t id_time_ms(const char *s);

/* Fill `out` with 2 * `nbytes` lower-case hex characters encoding `nbytes` bytes from a
 * cryptographically secure generator (OpenSSL RAND_bytes), and a NUL: `out` must hold
 * 2 * nbytes + 1 bytes. Returns 0, or -1 if the generator fails or nbytes is 0 or absurd
 * (over 1 MiB); `out` is then an empty string when it could hold one. */
int id_random_hex(char *out, size_t nbytes);

#endif
