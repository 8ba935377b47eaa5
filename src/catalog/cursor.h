/* cursor.h — opaque keyset pagination cursors.
 *
 * A cursor names the last row of a page: its sort key (an integer or a text) and its id,
 * with the kind and sort it belongs to, so the next page starts strictly after it. On the
 * wire it is base64url without padding of a small binary record:
 *   byte 0  version (1)   byte 1  kind   byte 2  sort   byte 3  flags (bit 0: descending;
 *   bit 1: text key)   then either an 8-byte big-endian integer key or a 2-byte big-endian
 *   length and that many bytes of UTF-8 text, then the 26-character id.
 * Nothing in it is trusted: decoding checks every length, the id's form, the text's UTF-8
 * and that nothing trails. It is not signed — it only ever becomes bound parameters.
 */
#ifndef TONEARM_CATALOG_CURSOR_H
#define TONEARM_CATALOG_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/id.h"

#define CATALOG_CURSOR_TEXT_MAX 1024 /* bytes of a text key (CATALOG_NORM_MAX) */
#define CATALOG_CURSOR_MAX 1500      /* characters of an encoded cursor, with room to spare */

struct catalog_cursor {
	int kind;                 /* enum catalog_kind */
	int sort;                 /* enum catalog_sort */
	bool desc;
	bool is_text;
	int64_t ikey;
	char *tkey;               /* malloc'd when is_text */
	size_t tkey_len;
	char id[ID_LEN + 1];
};

/* Encode a cursor. Returns a malloc'd NUL-terminated string the caller frees, or NULL with
 * *e set (ERR_INVALID for a text key over CATALOG_CURSOR_TEXT_MAX or an invalid id; ERR_NOMEM). */
char *catalog_cursor_encode(const struct catalog_cursor *c, struct err *e);

/* Decode `len` bytes of `s` into *c (its tkey is then the caller's: catalog_cursor_release).
 * -1 with ERR_INVALID ("cursor: …") for anything but a well-formed cursor. */
int catalog_cursor_decode(const char *s, size_t len, struct catalog_cursor *c, struct err *e);

void catalog_cursor_release(struct catalog_cursor *c);

#endif
