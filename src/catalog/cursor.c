/* cursor.c — keyset cursors as base64url text (see cursor.h). OpenSSL does the base64; this
 * file maps its alphabet to the URL-safe one and checks the record field by field. */
#include "catalog/cursor.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "base/utf8.h"

#define CURSOR_VERSION 1
#define FLAG_DESC 1u
#define FLAG_TEXT 2u
#define HEADER_LEN 4

char *catalog_cursor_encode(const struct catalog_cursor *c, struct err *e)
{
	unsigned char *raw = NULL;
	char *out = NULL;
	size_t rlen, o = 0, olen;
	int n;

	if (!id_valid(c->id)) {
		err_set(e, ERR_INVALID, "cursor: invalid id");
		return NULL;
	}
	if (c->is_text && (c->tkey_len > CATALOG_CURSOR_TEXT_MAX || (!c->tkey && c->tkey_len))) {
		err_set(e, ERR_INVALID, "cursor: key too long");
		return NULL;
	}
	rlen = HEADER_LEN + (c->is_text ? 2 + c->tkey_len : 8) + ID_LEN;
	raw = malloc(rlen);
	out = malloc(4 * ((rlen + 2) / 3) + 1);
	if (!raw || !out) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto fail;
	}
	raw[o++] = CURSOR_VERSION;
	raw[o++] = (unsigned char)c->kind;
	raw[o++] = (unsigned char)c->sort;
	raw[o++] = (unsigned char)((c->desc ? FLAG_DESC : 0) | (c->is_text ? FLAG_TEXT : 0));
	if (c->is_text) {
		raw[o++] = (unsigned char)(c->tkey_len >> 8);
		raw[o++] = (unsigned char)(c->tkey_len & 0xff);
		if (c->tkey_len)
			memcpy(raw + o, c->tkey, c->tkey_len);
		o += c->tkey_len;
	} else {
		uint64_t v = (uint64_t)c->ikey;

		for (int i = 7; i >= 0; i--)
			raw[o++] = (unsigned char)(v >> (8 * i));
	}
	memcpy(raw + o, c->id, ID_LEN);
	o += ID_LEN;
	n = EVP_EncodeBlock((unsigned char *)out, raw, (int)o);
	if (n < 0) {
		err_set(e, ERR_INTERNAL, "cursor: encoding failed");
		goto fail;
	}
	olen = (size_t)n;
	while (olen > 0 && out[olen - 1] == '=')
		olen--;
	out[olen] = '\0';
	for (size_t i = 0; i < olen; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
	free(raw);
	return out;
fail:
	free(raw);
	free(out);
	return NULL;
}

static int bad(struct err *e, const char *why)
{
	return err_set(e, ERR_INVALID, "cursor: %s", why);
}

int catalog_cursor_decode(const char *s, size_t len, struct catalog_cursor *c, struct err *e)
{
	char *b64 = NULL;
	unsigned char *raw = NULL;
	size_t padded, rlen, o = 0, pad;
	int n, ret = -1;

	memset(c, 0, sizeof(*c));
	if (len == 0 || len > CATALOG_CURSOR_MAX || len % 4 == 1)
		return bad(e, "malformed");
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '-' || ch == '_'))
			return bad(e, "malformed");
	}
	pad = (4 - len % 4) % 4;
	padded = len + pad;
	b64 = malloc(padded + 1);
	raw = malloc(padded / 4 * 3 + 1);
	if (!b64 || !raw) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < len; i++)
		b64[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	memset(b64 + len, '=', pad);
	b64[padded] = '\0';
	n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)padded);
	if (n < 0 || (size_t)n < pad) {
		bad(e, "malformed");
		goto out;
	}
	rlen = (size_t)n - pad; /* EVP_DecodeBlock counts the padding as zero bytes */
	if (rlen < HEADER_LEN + 2 + ID_LEN || raw[0] != CURSOR_VERSION || (raw[3] & ~(FLAG_DESC | FLAG_TEXT))) {
		bad(e, "malformed");
		goto out;
	}
	c->kind = raw[1];
	c->sort = raw[2];
	c->desc = raw[3] & FLAG_DESC;
	c->is_text = raw[3] & FLAG_TEXT;
	o = HEADER_LEN;
	if (c->is_text) {
		size_t tl = ((size_t)raw[o] << 8) | raw[o + 1];

		o += 2;
		if (tl > CATALOG_CURSOR_TEXT_MAX || rlen != o + tl + ID_LEN || !utf8_valid((const char *)raw + o, tl) ||
		    memchr(raw + o, '\0', tl)) {
			bad(e, "malformed");
			goto out;
		}
		c->tkey = malloc(tl + 1);
		if (!c->tkey) {
			err_set(e, ERR_NOMEM, "out of memory");
			goto out;
		}
		memcpy(c->tkey, raw + o, tl);
		c->tkey[tl] = '\0';
		c->tkey_len = tl;
		o += tl;
	} else {
		uint64_t v = 0;

		if (rlen != o + 8 + ID_LEN) {
			bad(e, "malformed");
			goto out;
		}
		for (int i = 0; i < 8; i++)
			v = (v << 8) | raw[o++];
		c->ikey = (int64_t)v;
	}
	memcpy(c->id, raw + o, ID_LEN);
	c->id[ID_LEN] = '\0';
	if (!id_valid(c->id)) {
		bad(e, "malformed");
		goto out;
	}
	ret = 0;
out:
	if (ret < 0)
		catalog_cursor_release(c);
	free(b64);
	free(raw);
	return ret;
}

void catalog_cursor_release(struct catalog_cursor *c)
{
	free(c->tkey);
	c->tkey = NULL;
	c->tkey_len = 0;
}
