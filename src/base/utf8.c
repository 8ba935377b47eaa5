#include "base/utf8.h"

#include <stdint.h>
#include <string.h>

/* Length of the valid sequence starting at s[0] (1–4), or 0 if it is not valid UTF-8. */
static size_t utf8_seq(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return len >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (len < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && s[1] < 0xa0)
			return 0; /* overlong */
		if (c == 0xed && s[1] >= 0xa0)
			return 0; /* surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (len < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && s[1] < 0x90)
			return 0; /* overlong */
		if (c == 0xf4 && s[1] >= 0x90)
			return 0; /* above U+10FFFF */
		return 4;
	}
	return 0;
}

bool utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		size_t n;

		if (p[i] < 0x80) {
			i++;
			continue;
		}
		n = utf8_seq(p + i, len - i);
		if (!n)
			return false;
		i += n;
	}
	return true;
}

size_t utf8_sanitize(char *dst, size_t cap, const char *src, size_t len)
{
	static const char repl[] = "\xef\xbf\xbd";
	const unsigned char *p = (const unsigned char *)src;
	size_t out = 0, written = 0;
	bool full = !dst || cap == 0;

	for (size_t i = 0; i < len;) {
		size_t n = p[i] ? utf8_seq(p + i, len - i) : 0;
		const char *from = n ? src + i : repl;
		size_t take = n ? n : 3;

		/* Once a character does not fit, stop writing (never half a character) but keep
		 * counting, so the return value is the full length as with snprintf. */
		if (!full && out + take < cap) {
			memcpy(dst + out, from, take);
			written = out + take;
		} else {
			full = true;
		}
		out += take;
		i += n ? n : 1;
	}
	if (dst && cap)
		dst[written] = '\0';
	return out;
}

size_t utf8_copy(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (n >= cap) {
		n = cap - 1;
		/* Back up over continuation bytes so the cut falls between characters. */
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	}
	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
	return n;
}
