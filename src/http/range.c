#include "http/range.h"

#include <string.h>
#include <strings.h>

#include "base/clock.h"

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Digits at s[*i] as a saturating unsigned number. false if there is no digit. */
static bool parse_u64(const char *s, size_t len, size_t *i, uint64_t *out)
{
	uint64_t v = 0;
	size_t start = *i;

	while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
		unsigned d = (unsigned)(s[*i] - '0');

		v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
		(*i)++;
	}
	*out = v;
	return *i > start;
}

enum http_range_kind http_range_parse(const char *s, size_t len, uint64_t size, struct http_range *out)
{
	size_t i = 0;
	uint64_t first = 0, last = 0;
	bool has_first, has_last;

	if (!s)
		return HTTP_RANGE_NONE;
	while (i < len && is_ows(s[i]))
		i++;
	if (len - i < 6 || strncasecmp(s + i, "bytes=", 6) != 0)
		return HTTP_RANGE_NONE; /* another unit, or garbage: ignored */
	i += 6;
	while (i < len && is_ows(s[i]))
		i++;
	has_first = parse_u64(s, len, &i, &first);
	if (i >= len || s[i] != '-')
		return HTTP_RANGE_NONE;
	i++;
	has_last = parse_u64(s, len, &i, &last);
	while (i < len && is_ows(s[i]))
		i++;
	if (i != len)
		return HTTP_RANGE_NONE; /* a second range (",") or trailing garbage */
	if (!has_first && !has_last)
		return HTTP_RANGE_NONE;
	if (has_first && has_last && last < first)
		return HTTP_RANGE_NONE; /* invalid byte-range-spec */
	if (!has_first) {
		/* suffix: the last `last` bytes */
		if (last == 0 || size == 0)
			return HTTP_RANGE_UNSATISFIABLE;
		out->first = last >= size ? 0 : size - last;
		out->last = size - 1;
		return HTTP_RANGE_SINGLE;
	}
	if (first >= size)
		return HTTP_RANGE_UNSATISFIABLE;
	out->first = first;
	out->last = !has_last || last >= size ? size - 1 : last;
	return HTTP_RANGE_SINGLE;
}

/* One entity-tag at s[*i]: sets the opaque tag (with its quotes) and weakness; false when
 * malformed. */
static bool parse_etag(const char *s, size_t len, size_t *i, const char **tag, size_t *tlen, bool *weak)
{
	size_t j = *i;

	*weak = false;
	if (len - j >= 2 && s[j] == 'W' && s[j + 1] == '/') {
		*weak = true;
		j += 2;
	}
	if (j >= len || s[j] != '"')
		return false;
	*tag = s + j;
	for (j++; j < len && s[j] != '"'; j++) {
		unsigned char c = (unsigned char)s[j];

		if (c < 0x21 || c == 0x7f) /* etagc = %x21 / %x23-7E / obs-text */
			return false;
	}
	if (j >= len)
		return false;
	j++;
	*tlen = (size_t)(s + j - *tag);
	*i = j;
	return true;
}

bool http_etag_match(const char *list, size_t len, const char *etag, bool weak)
{
	const char *mine, *tag;
	size_t mlen, tlen, i = 0, k = 0;
	bool mweak, tweak;

	if (!list || !etag)
		return false;
	while (i < len && is_ows(list[i]))
		i++;
	if (i < len && list[i] == '*') {
		for (i++; i < len && is_ows(list[i]); i++)
			;
		return i == len;
	}
	if (!parse_etag(etag, strlen(etag), &k, &mine, &mlen, &mweak))
		return false;
	while (i < len) {
		if (list[i] == ',' || is_ows(list[i])) {
			i++;
			continue;
		}
		if (!parse_etag(list, len, &i, &tag, &tlen, &tweak))
			return false;
		if (tlen == mlen && memcmp(tag, mine, mlen) == 0 && (weak || (!tweak && !mweak)))
			return true;
		while (i < len && is_ows(list[i]))
			i++;
		if (i < len && list[i] != ',')
			return false;
	}
	return false;
}

/* An HTTP date header as seconds; false when it does not parse. */
static bool parse_date(const char *s, size_t len, int64_t *out)
{
	char tmp[64];

	if (len >= sizeof(tmp))
		return false;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return clock_parse_http_date(tmp, out) == 0;
}

/* Does If-Range allow the Range to be used? */
static bool if_range_holds(const char *s, size_t len, const char *etag, int64_t mtime)
{
	int64_t when;

	if (len >= 1 && (s[0] == '"' || (len >= 2 && s[0] == 'W' && s[1] == '/'))) {
		size_t i = 0;
		const char *tag;
		size_t tlen;
		bool weak;

		/* Exactly one strong entity-tag, compared strongly. */
		if (!parse_etag(s, len, &i, &tag, &tlen, &weak) || i != len || weak)
			return false;
		return http_etag_match(s, len, etag, false);
	}
	return mtime > 0 && parse_date(s, len, &when) && when == mtime;
}

void http_cond_eval(const struct http_conditions *c, enum http_cond_method method, const char *etag,
		    int64_t mtime, uint64_t size, struct http_cond_result *out)
{
	bool safe = method != HTTP_COND_OTHER;
	int64_t when;

	out->status = 200;
	out->range.first = 0;
	out->range.last = size ? size - 1 : 0;

	/* §13.2.2 step 1–2 */
	if (c->if_match) {
		if (!http_etag_match(c->if_match, c->if_match_len, etag ? etag : "", false)) {
			out->status = 412;
			return;
		}
	} else if (c->if_unmodified_since && mtime > 0 &&
		   parse_date(c->if_unmodified_since, c->if_unmodified_since_len, &when) && mtime > when) {
		out->status = 412;
		return;
	}
	/* step 3–4 */
	if (c->if_none_match) {
		if (http_etag_match(c->if_none_match, c->if_none_match_len, etag ? etag : "", true)) {
			out->status = safe ? 304 : 412;
			return;
		}
	} else if (safe && c->if_modified_since && mtime > 0 &&
		   parse_date(c->if_modified_since, c->if_modified_since_len, &when) && mtime <= when) {
		out->status = 304;
		return;
	}
	/* step 5: Range, on GET only, unless If-Range says the client's copy is stale */
	if (method != HTTP_COND_GET || !c->range)
		return;
	if (c->if_range && !if_range_holds(c->if_range, c->if_range_len, etag, mtime))
		return;
	switch (http_range_parse(c->range, c->range_len, size, &out->range)) {
	case HTTP_RANGE_SINGLE:
		out->status = 206;
		break;
	case HTTP_RANGE_UNSATISFIABLE:
		out->status = 416;
		break;
	case HTTP_RANGE_NONE:
		out->range.first = 0;
		out->range.last = size ? size - 1 : 0;
		break;
	}
}
