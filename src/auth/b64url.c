/* b64url.c — strict base64url (see b64url.h). Small enough that a table beats pulling
 * OpenSSL's BIO chain in, and OpenSSL's decoder accepts padding and whitespace, which a
 * token parser must not. */
#include "auth/b64url.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int value_of(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

long b64url_encode(const void *in, size_t n, char *out, size_t cap)
{
	const unsigned char *p = in;
	size_t need = B64URL_LEN(n), o = 0, i;

	if (cap < need + 1)
		return -1;
	for (i = 0; i + 3 <= n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];

		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = alphabet[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)p[i] << 16;

		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
	} else if (n - i == 2) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;

		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
	}
	out[o] = '\0';
	return (long)o;
}

long b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap)
{
	size_t o = 0, i, rest = len % 4;
	size_t need = len / 4 * 3 + (rest ? rest - 1 : 0);
	unsigned v = 0;

	if (rest == 1 || need > cap)
		return -1;
	for (i = 0; i < len; i++) {
		int d = value_of((unsigned char)in[i]);

		if (d < 0)
			return -1;
		v = v << 6 | (unsigned)d;
		if (i % 4 == 3) {
			out[o++] = (unsigned char)(v >> 16);
			out[o++] = (unsigned char)(v >> 8);
			out[o++] = (unsigned char)v;
			v = 0;
		}
	}
	if (rest == 2) {
		if (v & 0xf)
			return -1;
		out[o++] = (unsigned char)(v >> 4);
	} else if (rest == 3) {
		if (v & 0x3)
			return -1;
		out[o++] = (unsigned char)(v >> 10);
		out[o++] = (unsigned char)(v >> 2);
	}
	return (long)o;
}
