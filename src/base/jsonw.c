/* jsonw.c — JSON text into a bounded buffer, as jansson's compact dump writes it (see jsonw.h). */
#include "base/jsonw.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/utf8.h"

void jsonw_init(struct jsonw *w, size_t max)
{
	buf_init(&w->buf, max);
	w->failed = false;
}

void jsonw_release(struct jsonw *w)
{
	buf_release(&w->buf);
	w->failed = false;
}

/* Most appends are a few bytes into room already there: copy them without a call into buf.c,
 * keeping its invariant (NUL after the content) by hand. */
static inline void put(struct jsonw *w, const char *s, size_t n)
{
	struct buf *b = &w->buf;

	if (w->failed)
		return;
	if (b->data && b->len + n < b->cap && b->len + n <= (b->max ? b->max : BUF_MAX_DEFAULT)) {
		memcpy(b->data + b->len, s, n);
		b->len += n;
		b->data[b->len] = '\0';
		return;
	}
	if (buf_add(b, s, n) < 0)
		w->failed = true;
}

/* The comma a value needs: one after anything but an opening bracket or a key's colon. A
 * string or number never ends in one of these (a string ends with its quote). */
static void sep(struct jsonw *w)
{
	char last;

	if (w->failed || w->buf.len == 0)
		return;
	last = w->buf.data[w->buf.len - 1];
	if (last != '{' && last != '[' && last != ':')
		put(w, ",", 1);
}

void jsonw_obj_begin(struct jsonw *w)
{
	sep(w);
	put(w, "{", 1);
}

void jsonw_obj_end(struct jsonw *w)
{
	put(w, "}", 1);
}

void jsonw_arr_begin(struct jsonw *w)
{
	sep(w);
	put(w, "[", 1);
}

void jsonw_arr_end(struct jsonw *w)
{
	put(w, "]", 1);
}

size_t jsonw_escape(unsigned char c, char out[6])
{
	static const char hex[] = "0123456789ABCDEF"; /* jansson writes \u001F */

	if (c >= 0x20 && c != '"' && c != '\\')
		return 0;
	out[0] = '\\';
	switch (c) {
	case '"': out[1] = '"'; return 2;
	case '\\': out[1] = '\\'; return 2;
	case '\b': out[1] = 'b'; return 2;
	case '\f': out[1] = 'f'; return 2;
	case '\n': out[1] = 'n'; return 2;
	case '\r': out[1] = 'r'; return 2;
	case '\t': out[1] = 't'; return 2;
	default:
		memcpy(out + 1, "u00", 3);
		out[4] = hex[c >> 4];
		out[5] = hex[c & 15];
		return 6;
	}
}

static void put_string(struct jsonw *w, const char *s)
{
	size_t len = strlen(s);
	const char *run = s, *end = s + len;

	if (!utf8_valid(s, len)) {
		w->failed = true;
		return;
	}
	put(w, "\"", 1);
	/* Copy runs of plain bytes at once; only the few characters JSON needs escaped stop a run. */
	for (const char *p = s; p < end; p++) {
		char esc[6];
		size_t n = jsonw_escape((unsigned char)*p, esc);

		if (!n)
			continue;
		put(w, run, (size_t)(p - run));
		run = p + 1;
		put(w, esc, n);
	}
	put(w, run, (size_t)(end - run));
	put(w, "\"", 1);
}

/* True for printable ASCII without '"' or '\\': text that is its own JSON string body. */
static bool plain_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			return false;
	}
	return true;
}

void jsonw_key(struct jsonw *w, const char *key)
{
	char tmp[64];
	size_t n = strlen(key);

	sep(w);
	/* Keys are nearly always short literals that need no escape: write quote, key, quote and
	 * colon in one append. Anything else goes the long way. */
	if (n + 3 <= sizeof(tmp) && plain_ascii(key, n)) {
		tmp[0] = '"';
		memcpy(tmp + 1, key, n);
		tmp[n + 1] = '"';
		tmp[n + 2] = ':';
		put(w, tmp, n + 3);
		return;
	}
	put_string(w, key);
	put(w, ":", 1);
}

void jsonw_str(struct jsonw *w, const char *s)
{
	sep(w);
	if (s)
		put_string(w, s);
	else
		put(w, "null", 4);
}

void jsonw_int(struct jsonw *w, int64_t v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	/* Through unsigned, so INT64_MIN negates without overflow. */
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	sep(w);
	put(w, p, (size_t)(tmp + sizeof(tmp) - p));
}

size_t jsonw_real_text(double v, int precision, char out[JSONW_REAL_MAX])
{
	int n = snprintf(out, JSONW_REAL_MAX - 2, "%.*g", precision, v);
	char *e;

	if (!isfinite(v) || n < 0 || (size_t)n >= JSONW_REAL_MAX - 2)
		return 0;
	if (!strchr(out, '.') && !strchr(out, 'e')) {
		memcpy(out + n, ".0", 3);
		n += 2;
	}
	e = strchr(out, 'e');
	if (e) {
		/* "1e+20" → "1e20", "1e-05" → "1e-5": drop the '+' and the exponent's leading zeros. */
		char *start = e + 1, *from = e + 2;

		if (*start == '-')
			start++;
		while (*from == '0')
			from++;
		if (from != start) {
			memmove(start, from, (size_t)(out + n - from) + 1);
			n -= (int)(from - start);
		}
	}
	return (size_t)n;
}

void jsonw_real(struct jsonw *w, double v)
{
	char tmp[JSONW_REAL_MAX];
	size_t n;

	sep(w);
	if (!isfinite(v)) {
		put(w, "null", 4);
		return;
	}
	/* jansson's jsonp_dtostr with its default precision: 17 significant digits round-trip. */
	if (!(n = jsonw_real_text(v, 17, tmp))) {
		w->failed = true;
		return;
	}
	put(w, tmp, n);
}

void jsonw_bool(struct jsonw *w, bool v)
{
	sep(w);
	if (v)
		put(w, "true", 4);
	else
		put(w, "false", 5);
}

void jsonw_null(struct jsonw *w)
{
	sep(w);
	put(w, "null", 4);
}
