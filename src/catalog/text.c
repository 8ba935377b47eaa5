/* text.c — normalised names and sort names (see text.h). utf8proc does the Unicode work;
 * this file only collapses the whitespace it leaves. */
#include "catalog/text.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <utf8proc.h>

#include "base/utf8.h"

/* The ASCII whitespace utf8proc leaves after UTF8PROC_LUMP (which maps the Unicode spaces
 * to ' ') and UTF8PROC_STRIPCC (which turns tabs and line breaks into spaces or drops them). */
static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

char *catalog_normalize(const char *s, struct err *e)
{
	utf8proc_uint8_t *mapped = NULL;
	utf8proc_ssize_t n;
	size_t len = s ? strlen(s) : 0;
	char *out;
	size_t o = 0;
	int pending_space = 0;

	if (!s || len == 0) {
		out = strdup("");
		if (!out)
			err_set(e, ERR_NOMEM, "out of memory");
		return out;
	}
	if (!utf8_valid(s, len)) {
		err_set(e, ERR_INVALID, "text is not valid UTF-8");
		return NULL;
	}
	n = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &mapped,
			 UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_DECOMPOSE | UTF8PROC_CASEFOLD |
				 UTF8PROC_STRIPMARK | UTF8PROC_IGNORE | UTF8PROC_STRIPCC | UTF8PROC_LUMP);
	if (n < 0) {
		err_set(e, n == UTF8PROC_ERROR_NOMEM ? ERR_NOMEM : ERR_INVALID, "normalising text: %s",
			utf8proc_errmsg(n));
		return NULL;
	}
	/* Collapse in place: the result is never longer than utf8proc's. */
	out = (char *)mapped;
	for (utf8proc_ssize_t i = 0; i < n; i++) {
		unsigned char c = mapped[i];

		if (is_space(c)) {
			pending_space = o > 0;
			continue;
		}
		if (pending_space) {
			out[o++] = ' ';
			pending_space = 0;
		}
		out[o++] = (char)c;
	}
	if (o > CATALOG_NORM_MAX) {
		o = CATALOG_NORM_MAX;
		while (o > 0 && ((unsigned char)out[o] & 0xC0) == 0x80)
			o--;
		while (o > 0 && out[o - 1] == ' ')
			o--;
	}
	out[o] = '\0';
	return out;
}

static const char *const articles[] = { "the ", "an ", "a " };

char *catalog_sort_name(const char *name)
{
	const char *start = name ? name : "", *end;
	size_t len;
	char *out;

	while (is_space((unsigned char)*start))
		start++;
	end = start + strlen(start);
	while (end > start && is_space((unsigned char)end[-1]))
		end--;
	len = (size_t)(end - start);
	for (size_t i = 0; i < sizeof(articles) / sizeof(articles[0]); i++) {
		size_t alen = strlen(articles[i]);
		const char *rest;
		size_t rlen;

		if (len <= alen || strncasecmp(start, articles[i], alen) != 0)
			continue;
		rest = start + alen;
		while (rest < end && is_space((unsigned char)*rest))
			rest++;
		rlen = (size_t)(end - rest);
		if (rlen == 0)
			break;
		/* "Beatles" + ", " + "The" */
		out = malloc(rlen + 2 + alen);
		if (!out)
			return NULL;
		memcpy(out, rest, rlen);
		memcpy(out + rlen, ", ", 2);
		memcpy(out + rlen + 2, start, alen - 1);
		out[rlen + 2 + alen - 1] = '\0';
		return out;
	}
	out = malloc(len + 1);
	if (!out)
		return NULL;
	memcpy(out, start, len);
	out[len] = '\0';
	return out;
}

size_t catalog_text_chars(const char *s)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++)
		if ((*p & 0xC0) != 0x80)
			n++;
	return n;
}
