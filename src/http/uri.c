#include "http/uri.h"

#include <string.h>

#include "base/utf8.h"

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The byte an escape at src[i] ('%' already seen) stands for, or -1 if malformed. */
static int escape_at(const char *src, size_t len, size_t i)
{
	int hi, lo;

	if (len - i < 3)
		return -1;
	hi = hexval((unsigned char)src[i + 1]);
	lo = hexval((unsigned char)src[i + 2]);
	if (hi < 0 || lo < 0)
		return -1;
	return hi << 4 | lo;
}

ssize_t http_pct_decode(char *dst, const char *src, size_t len, bool plus_space)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = src[i];

		if (c == '%') {
			int v = escape_at(src, len, i);

			if (v < 0)
				return -1;
			c = (char)v;
			i += 2;
		} else if (c == '+' && plus_space) {
			c = ' ';
		}
		dst[o++] = c;
	}
	return (ssize_t)o;
}

ssize_t http_path_decode(const char *raw, size_t len, char *dst, const char **why)
{
	size_t o = 0, seg = 1;

	if (len == 0 || raw[0] != '/') {
		*why = "the path must start with '/'";
		return -1;
	}
	if (len > HTTP_PATH_MAX) {
		*why = "the path is too long";
		return -1;
	}
	dst[o++] = '/';
	for (size_t i = 1; i <= len; i++) {
		if (i == len || raw[i] == '/') {
			size_t sl = o - seg;

			/* A "." or ".." segment, however it was spelled (".", "%2e", "%2E%2e"). */
			if ((sl == 1 && dst[seg] == '.') || (sl == 2 && dst[seg] == '.' && dst[seg + 1] == '.')) {
				*why = "the path has a '.' or '..' segment";
				return -1;
			}
			if (i == len)
				break;
			dst[o++] = '/';
			seg = o;
			continue;
		}
		char c = raw[i];

		if (c == '%') {
			int v = escape_at(raw, len, i);

			if (v < 0) {
				*why = "the path has a malformed percent-escape";
				return -1;
			}
			if (v == 0) {
				*why = "the path holds a NUL byte";
				return -1;
			}
			if (v == '/') {
				*why = "the path holds an encoded '/'";
				return -1;
			}
			c = (char)v;
			i += 2;
		} else if (c == '\0') {
			*why = "the path holds a NUL byte";
			return -1;
		}
		dst[o++] = c;
	}
	dst[o] = '\0';
	if (!utf8_valid(dst, o)) {
		*why = "the path is not valid UTF-8";
		return -1;
	}
	return (ssize_t)o;
}

/* UTF-8 checked one byte at a time, for text we decode on the fly without storing it. The
 * rules are utf8_valid()'s: no overlongs, no surrogates, nothing above U+10FFFF. */
struct utf8_inc {
	unsigned need;          /* continuation bytes still expected */
	unsigned char lo, hi;   /* allowed range of the next continuation byte */
};

static bool utf8_inc_feed(struct utf8_inc *u, unsigned char c)
{
	if (u->need) {
		if (c < u->lo || c > u->hi)
			return false;
		u->need--;
		u->lo = 0x80;
		u->hi = 0xbf;
		return true;
	}
	u->lo = 0x80;
	u->hi = 0xbf;
	if (c < 0x80)
		return true;
	if (c >= 0xc2 && c <= 0xdf) {
		u->need = 1;
	} else if (c >= 0xe0 && c <= 0xef) {
		u->need = 2;
		if (c == 0xe0)
			u->lo = 0xa0; /* overlong */
		if (c == 0xed)
			u->hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		u->need = 3;
		if (c == 0xf0)
			u->lo = 0x90; /* overlong */
		if (c == 0xf4)
			u->hi = 0x8f; /* above U+10FFFF */
	} else {
		return false;
	}
	return true;
}

int http_query_check(const char *q, size_t len, size_t max_params, size_t *count, const char **why)
{
	struct utf8_inc u = { 0, 0x80, 0xbf };
	size_t n = 0;
	bool piece = false; /* inside a non-empty piece */

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)q[i];

		if (c == '&' || c == '=') {
			if (u.need) /* a sequence cut by a separator */
				goto bad_utf8;
			if (c == '&') {
				piece = false;
				continue;
			}
		} else if (c == '%') {
			int v = escape_at(q, len, i);

			if (v < 0) {
				*why = "the query has a malformed percent-escape";
				return -1;
			}
			c = (unsigned char)v;
			i += 2;
		}
		if (!piece) {
			piece = true;
			if (++n > max_params) {
				*why = "the query has too many parameters";
				return -1;
			}
		}
		if (c == '\0') {
			*why = "the query holds a NUL byte";
			return -1;
		}
		if (!utf8_inc_feed(&u, c))
			goto bad_utf8;
	}
	if (u.need)
		goto bad_utf8;
	*count = n;
	return 0;
bad_utf8:
	*why = "the query is not valid UTF-8";
	return -1;
}

size_t http_query_parse(const char *q, size_t len, char *buf, struct http_qparam *out, size_t cap)
{
	size_t n = 0, o = 0;

	for (size_t i = 0; i < len && n < cap;) {
		const char *amp = memchr(q + i, '&', len - i);
		size_t end = amp ? (size_t)(amp - q) : len;
		const char *eq = memchr(q + i, '=', end - i);
		size_t nend = eq ? (size_t)(eq - q) : end;
		ssize_t d;

		if (end > i) {
			out[n].name = buf + o;
			d = http_pct_decode(buf + o, q + i, nend - i, true);
			o += d > 0 ? (size_t)d : 0;
			buf[o++] = '\0';
			out[n].value = buf + o;
			if (eq) {
				d = http_pct_decode(buf + o, eq + 1, end - nend - 1, true);
				o += d > 0 ? (size_t)d : 0;
			}
			buf[o++] = '\0';
			n++;
		}
		i = end + 1;
	}
	return n;
}
