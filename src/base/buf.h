/* buf.h — a growable, bounded byte buffer (after git's strbuf and curl's dynbuf).
 *
 * Invariants:
 *   - `len <= cap`; when `data` is not NULL, `data[len] == '\0'` (so text can be used as a
 *     C string; binary content may also hold NULs before `len`).
 *   - the buffer never grows past `max` bytes of content: an append that would is refused
 *     with -1 and leaves the buffer as it was. `max == 0` means BUF_MAX_DEFAULT.
 *   - a zeroed struct (or BUF_INIT) is an empty buffer with the default cap; it allocates
 *     on the first append.
 * Ownership: the buffer owns `data` until buf_detach() hands it to the caller (free()).
 * Not thread-safe: one owner at a time.
 */
#ifndef TONEARM_BASE_BUF_H
#define TONEARM_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#define BUF_MAX_DEFAULT ((size_t)1 << 30) /* 1 GiB: nothing we build in memory is larger */

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

#define BUF_INIT { NULL, 0, 0, 0 }

/* Start an empty buffer holding at most `max` bytes (0: the default cap). */
void buf_init(struct buf *b, size_t max);

/* Free the contents; the buffer is empty and reusable afterwards. */
void buf_release(struct buf *b);

/* Make room for `extra` more bytes. -1 on overflow of the cap or out of memory. */
int buf_grow(struct buf *b, size_t extra);

/* Append bytes, a C string, one character, or printf-formatted text. -1 (buffer unchanged)
 * when the result would exceed the cap or memory runs out. */
int buf_add(struct buf *b, const void *data, size_t len);
int buf_adds(struct buf *b, const char *s);
int buf_addch(struct buf *b, char c);
int buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vaddf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Forget the content but keep the allocation. */
void buf_reset(struct buf *b);

/* Shorten to `len` bytes (no-op if already shorter). */
void buf_truncate(struct buf *b, size_t len);

/* The content as a C string; "" for a buffer that never allocated. Valid until the next change. */
const char *buf_str(const struct buf *b);

/* Hand the content to the caller, who must free() it; *len (if not NULL) gets its length.
 * Never NULL unless out of memory: an empty buffer yields an allocated "". The buffer is
 * left empty. */
char *buf_detach(struct buf *b, size_t *len);

#endif
