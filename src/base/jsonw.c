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

/* What a byte needs inside a JSON string: 0 nothing (printable ASCII other than '"' and '\\'),
 * 1 an escape, 2 a UTF-8 check (the lead or continuation byte of a multi-byte character). */
static const unsigned char byte_class[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

/* Append a string of `len` bytes in quotes, escaped. One pass: runs of plain bytes are copied at
 * once, only the characters JSON needs escaped stop a run, and the first non-ASCII byte has the
 * rest checked as UTF-8 (the bytes before it are ASCII, so it starts a character). */
static void put_stringn(struct jsonw *w, const char *s, size_t len)
{
	const char *run = s, *end = s + len;
	bool checked = false;

	put(w, "\"", 1);
	for (const char *p = s; p < end; p++) {
		unsigned char c = (unsigned char)*p;
		char esc[6];
		size_t n;

		if (byte_class[c] == 0)
			continue;
		if (byte_class[c] == 2) {
			if (!checked && !utf8_valid(p, (size_t)(end - p))) {
				w->failed = true;
				return;
			}
			checked = true;
			continue;
		}
		n = jsonw_escape(c, esc);
		put(w, run, (size_t)(p - run));
		run = p + 1;
		put(w, esc, n);
	}
	put(w, run, (size_t)(end - run));
	put(w, "\"", 1);
}

static void put_string(struct jsonw *w, const char *s)
{
	put_stringn(w, s, strlen(s));
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

/* Room for n more bytes and the NUL after them, or false (the writer failed). */
static inline bool reserve(struct jsonw *w, size_t n)
{
	struct buf *b = &w->buf;

	if (w->failed)
		return false;
	if (b->data && n < b->cap - b->len && b->len + n <= (b->max ? b->max : BUF_MAX_DEFAULT))
		return true;
	if (buf_grow(b, n) < 0) {
		w->failed = true;
		return false;
	}
	return true;
}

/* Where the next member starts, after its comma if it needs one (see sep); room was reserved. */
static inline char *member_start(struct jsonw *w, const char *key, size_t keylen)
{
	struct buf *b = &w->buf;
	char *d = b->data + b->len;

	if (b->len) {
		char last = d[-1];

		if (last != '{' && last != '[' && last != ':')
			*d++ = ',';
	}
	memcpy(d, key, keylen);
	return d + keylen;
}

static inline void member_end(struct jsonw *w, char *d)
{
	w->buf.len = (size_t)(d - w->buf.data);
	*d = '\0';
}

void jsonw_member_raw(struct jsonw *w, const char *key, size_t keylen, const char *text, size_t n)
{
	char *d;

	if (!reserve(w, keylen + n + 1))
		return;
	d = member_start(w, key, keylen);
	memcpy(d, text, n);
	member_end(w, d + n);
}

void jsonw_member_str(struct jsonw *w, const char *key, size_t keylen, const char *s)
{
	size_t len, i;
	char *d;

	if (!s) {
		jsonw_member_raw(w, key, keylen, "null", 4);
		return;
	}
	len = strlen(s);
	if (!reserve(w, keylen + len + 3))
		return;
	d = member_start(w, key, keylen);
	for (i = 0; i < len; i++)
		if (byte_class[(unsigned char)s[i]])
			break;
	if (i < len) {
		/* Something to escape or a character to check: the general path, after the key. */
		member_end(w, d);
		put_stringn(w, s, len);
		return;
	}
	*d++ = '"';
	memcpy(d, s, len);
	d += len;
	*d++ = '"';
	member_end(w, d);
}

void jsonw_member_int(struct jsonw *w, const char *key, size_t keylen, int64_t v)
{
	char *d;

	if (!reserve(w, keylen + 1 + JSONW_INT_MAX))
		return;
	d = member_start(w, key, keylen);
	member_end(w, d + jsonw_int_text(v, d));
}

void jsonw_member_real(struct jsonw *w, const char *key, size_t keylen, double v)
{
	jsonw_key_quoted(w, key, keylen);
	jsonw_real(w, v);
}

void jsonw_key_quoted(struct jsonw *w, const char *text, size_t n)
{
	sep(w);
	put(w, text, n);
}

void jsonw_raw(struct jsonw *w, const char *text, size_t n)
{
	sep(w);
	put(w, text, n);
}

void jsonw_strn(struct jsonw *w, const char *s, size_t len)
{
	sep(w);
	put_stringn(w, s, len);
}

void jsonw_str(struct jsonw *w, const char *s)
{
	sep(w);
	if (s)
		put_string(w, s);
	else
		put(w, "null", 4);
}

size_t jsonw_int_text(int64_t v, char out[JSONW_INT_MAX])
{
	char tmp[JSONW_INT_MAX], *p = tmp + sizeof(tmp);
	/* Through unsigned, so INT64_MIN negates without overflow. */
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	size_t n;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	n = (size_t)(tmp + sizeof(tmp) - p);
	memcpy(out, p, n);
	out[n] = '\0';
	return n;
}

void jsonw_int(struct jsonw *w, int64_t v)
{
	char t[JSONW_INT_MAX];
	size_t n = jsonw_int_text(v, t);

	sep(w);
	put(w, t, n);
}

/* 10^0 … 10^19 and 5^0 … 5^27 (5^27 < 2^63), for the exact formatter below. */
static const uint64_t pow10_u64[] = {
	1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL, 100000000ULL,
	1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL, 10000000000000ULL,
	100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL, 100000000000000000ULL,
	1000000000000000000ULL, 10000000000000000000ULL,
};

static const uint64_t pow5_u64[] = {
	1ULL, 5ULL, 25ULL, 125ULL, 625ULL, 3125ULL, 15625ULL, 78125ULL, 390625ULL, 1953125ULL, 9765625ULL,
	48828125ULL, 244140625ULL, 1220703125ULL, 6103515625ULL, 30517578125ULL, 152587890625ULL,
	762939453125ULL, 3814697265625ULL, 19073486328125ULL, 95367431640625ULL, 476837158203125ULL,
	2384185791015625ULL, 11920928955078125ULL, 59604644775390625ULL, 298023223876953125ULL,
	1490116119384765625ULL, 7450580596923828125ULL,
};

/* |v| = m·2^e2 times 10^k, rounded to an integer (ties to even, as glibc's printf rounds in
 * the default rounding mode): exact, with 128-bit arithmetic, for 0 <= k <= 27. */
static uint64_t scaled_round(uint64_t m, int e2, int k, bool *inexact_overflow)
{
	unsigned __int128 n = (unsigned __int128)m * pow5_u64[k];
	int shift = e2 + k; /* m·5^k·2^shift */

	*inexact_overflow = false;
	if (shift >= 0) {
		if (shift > 10) { /* the caller's range keeps this from happening; refuse rather than wrap */
			*inexact_overflow = true;
			return 0;
		}
		return (uint64_t)(n << shift);
	}
	if (-shift >= 127) {
		*inexact_overflow = true;
		return 0;
	}
	{
		int s = -shift;
		unsigned __int128 q = n >> s, rem = n - (q << s), half = (unsigned __int128)1 << (s - 1);

		if (rem > half || (rem == half && (q & 1)))
			q++;
		return (uint64_t)q;
	}
}

/* v as jsonw_real_text(v, 17, …) writes it — "%.17g" exactly as glibc prints it, then jansson's
 * touches (".0" on an integral value, no leading zero in the exponent) — for finite normal v
 * with 1e-11 <= |v| < 1e16 (every figure the catalogue holds); 0 outside that range, where
 * the caller uses snprintf. snprintf's exact multi-precision path was a third of the time
 * spent writing a page of tracks. */
static size_t g17(double v, char *out)
{
	uint64_t bits, m, d;
	int be, e2, x, k;
	bool bad;
	char digits[17], *o = out;
	int nd;

	memcpy(&bits, &v, sizeof(bits));
	be = (int)((bits >> 52) & 0x7FF);
	if (be == 0 || be == 0x7FF)
		return 0; /* zero, subnormal, infinite, NaN */
	m = (bits & ((UINT64_C(1) << 52) - 1)) | (UINT64_C(1) << 52);
	e2 = be - 1075;
	/* |v| lies in [2^(e2+52), 2^(e2+53)): its decimal exponent is this estimate or one more. */
	x = (int)floor((e2 + 52) * 0.30102999566398119521);
	if (x < -11 || x > 15)
		return 0;
	k = 16 - x;
	d = scaled_round(m, e2, k, &bad);
	if (bad)
		return 0;
	if (d >= pow10_u64[17]) {
		/* The estimate was one low: scale by one power of ten less (rounding again from the
		 * exact value, not from d). */
		x++;
		k--;
		d = scaled_round(m, e2, k, &bad);
		if (bad)
			return 0;
	}
	if (d >= pow10_u64[17]) { /* rounded up to 10^17: one digit more to the left */
		d /= 10;
		x++;
	}
	if (d < pow10_u64[16] || x > 15 || x < -11)
		return 0;
	for (int i = 16; i >= 0; i--) {
		digits[i] = (char)('0' + d % 10);
		d /= 10;
	}
	nd = 17;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	if (bits >> 63)
		*o++ = '-';
	if (x < -4) {
		/* %e form: d.ddd e-XX (never a positive exponent in this range). */
		*o++ = digits[0];
		if (nd > 1) {
			*o++ = '.';
			memcpy(o, digits + 1, (size_t)nd - 1);
			o += nd - 1;
		}
		*o++ = 'e';
		*o++ = '-';
		if (-x >= 10)
			*o++ = (char)('0' + -x / 10);
		*o++ = (char)('0' + -x % 10);
	} else if (x < 0) {
		*o++ = '0';
		*o++ = '.';
		for (int i = 0; i < -x - 1; i++)
			*o++ = '0';
		memcpy(o, digits, (size_t)nd);
		o += nd;
	} else {
		memcpy(o, digits, (size_t)x + 1);
		o += x + 1;
		*o++ = '.';
		if (nd > x + 1) {
			memcpy(o, digits + x + 1, (size_t)(nd - x - 1));
			o += nd - x - 1;
		} else {
			*o++ = '0';
		}
	}
	*o = '\0';
	return (size_t)(o - out);
}

size_t jsonw_real_text(double v, int precision, char out[JSONW_REAL_MAX])
{
	int n = 0;
	char *e;

	if (!isfinite(v))
		return 0;
	if (precision == 17 && (n = (int)g17(v, out)) > 0)
		return (size_t)n;
	n = snprintf(out, JSONW_REAL_MAX - 2, "%.*g", precision, v);
	if (n < 0 || (size_t)n >= JSONW_REAL_MAX - 2)
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
