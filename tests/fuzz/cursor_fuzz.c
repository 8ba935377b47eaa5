/* libFuzzer harness for the pagination cursor decoder: whatever a client puts in ?cursor=
 * must decode to a well-formed cursor or be refused with ERR_INVALID — never crash, leak or
 * read out of bounds — and what decodes must encode back to a cursor that decodes the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/cursor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct catalog_cursor c, d;
	struct err e = ERR_INIT;
	char *again;

	if (catalog_cursor_decode((const char *)data, size, &c, &e) < 0) {
		if (e.code != ERR_INVALID && e.code != ERR_NOMEM)
			abort();
		return 0;
	}
	if (c.is_text && (!c.tkey || c.tkey_len > CATALOG_CURSOR_TEXT_MAX || strlen(c.tkey) != c.tkey_len))
		abort();
	if (!id_valid(c.id))
		abort();
	again = catalog_cursor_encode(&c, &e);
	if (!again)
		abort();
	if (catalog_cursor_decode(again, strlen(again), &d, &e) < 0)
		abort();
	if (d.kind != c.kind || d.sort != c.sort || d.desc != c.desc || d.is_text != c.is_text ||
	    strcmp(d.id, c.id) != 0 || (c.is_text ? d.tkey_len != c.tkey_len || memcmp(d.tkey, c.tkey, c.tkey_len)
						  : d.ikey != c.ikey))
		abort();
	catalog_cursor_release(&d);
	catalog_cursor_release(&c);
	free(again);
	return 0;
}
