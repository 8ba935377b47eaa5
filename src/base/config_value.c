#include "base/config_value.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/config.h"
#include "base/utf8.h"

/* Quote a user's value inside a reason, cut to a readable length. */
static const char *shown(const char *s, char *tmp, size_t cap)
{
	size_t n = strlen(s);

	if (n < cap) {
		memcpy(tmp, s, n + 1);
		return tmp;
	}
	/* cut on a character boundary so the message stays valid UTF-8 */
	n = cap > 4 ? cap - 4 : 0;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	memcpy(tmp, s, n);
	memcpy(tmp + n, "...", 4);
	return tmp;
}

int config_check_text(const char *s, char *why, size_t cap)
{
	size_t len = strlen(s);

	if (!utf8_valid(s, len)) {
		snprintf(why, cap, "expected valid UTF-8 text");
		return -1;
	}
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			snprintf(why, cap, "expected text without control characters");
			return -1;
		}
	}
	return 0;
}

int config_parse_bool(const char *s, bool *out, char *why, size_t cap)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	char tmp[40];

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	snprintf(why, cap, "expected true/false, yes/no, on/off or 1/0, got \"%s\"", shown(s, tmp, sizeof(tmp)));
	return -1;
}

int config_parse_int(const char *s, int64_t min, int64_t max, int64_t *out, char *why, size_t cap)
{
	char tmp[40], *end;
	long long v;
	/* strtoll would also skip leading space: insist on a sign or a digit */
	bool lead_ok = (s[0] >= '0' && s[0] <= '9') || s[0] == '-' || s[0] == '+';

	errno = 0;
	v = strtoll(s, &end, 10);
	if (!lead_ok || end == s || *end || errno == ERANGE || v < min || v > max) {
		snprintf(why, cap, "expected an integer from %lld to %lld, got \"%s\"", (long long)min,
			 (long long)max, shown(s, tmp, sizeof(tmp)));
		return -1;
	}
	*out = v;
	return 0;
}

/* Leading decimal digits as uint64; the rest in *rest. -1 when there are none or too many. */
static int leading_number(const char *s, uint64_t *out, const char **rest)
{
	uint64_t v = 0;
	const char *p = s;

	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (p == s)
		return -1;
	*out = v;
	*rest = p;
	return 0;
}

struct unit {
	const char *name;
	uint64_t mult;
};

static const struct unit size_units[] = {
	{ "", 1 },
	{ "b", 1 },
	{ "k", 1ULL << 10 },
	{ "kib", 1ULL << 10 },
	{ "kb", 1000ULL },
	{ "m", 1ULL << 20 },
	{ "mib", 1ULL << 20 },
	{ "mb", 1000ULL * 1000 },
	{ "g", 1ULL << 30 },
	{ "gib", 1ULL << 30 },
	{ "gb", 1000ULL * 1000 * 1000 },
	{ "t", 1ULL << 40 },
	{ "tib", 1ULL << 40 },
	{ "tb", 1000ULL * 1000 * 1000 * 1000 },
};

static const struct unit duration_units[] = {
	{ "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60 * 1000 }, { "h", 3600 * 1000 },
};

/* number [spaces] unit, the product in *out; 1 = syntax error, 2 = overflow. */
static int number_with_unit(const char *s, const struct unit *units, size_t nunits, uint64_t *out)
{
	const char *rest;
	uint64_t n;

	if (leading_number(s, &n, &rest) < 0)
		return *s >= '0' && *s <= '9' ? 2 : 1;
	while (*rest == ' ')
		rest++;
	for (size_t i = 0; i < nunits; i++) {
		if (strcasecmp(rest, units[i].name) != 0)
			continue;
		if (n > UINT64_MAX / units[i].mult)
			return 2;
		*out = n * units[i].mult;
		return 0;
	}
	return 1;
}

int config_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *why, size_t cap)
{
	char tmp[40], lo[32], hi[32];
	uint64_t v = 0;
	int r = number_with_unit(s, size_units, sizeof(size_units) / sizeof(size_units[0]), &v);

	if (r == 1) {
		snprintf(why, cap, "expected a size like 512k, 16MiB or 1GB, got \"%s\"", shown(s, tmp, sizeof(tmp)));
		return -1;
	}
	if (r == 2 || v < min || v > max) {
		config_format_size(min, lo, sizeof(lo));
		config_format_size(max, hi, sizeof(hi));
		snprintf(why, cap, "size \"%s\" is out of range (%s to %s)", shown(s, tmp, sizeof(tmp)), lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

int config_parse_duration(const char *s, int64_t min, int64_t max, int64_t *out, char *why, size_t cap)
{
	char tmp[40], lo[32], hi[32];
	uint64_t v = 0;
	int r = number_with_unit(s, duration_units, sizeof(duration_units) / sizeof(duration_units[0]), &v);

	if (r == 1) {
		snprintf(why, cap, "expected a duration like 250ms, 10s, 5m or 1h, got \"%s\"", shown(s, tmp, sizeof(tmp)));
		return -1;
	}
	if (r == 2 || v > (uint64_t)INT64_MAX || (int64_t)v < min || (int64_t)v > max) {
		config_format_duration(min, lo, sizeof(lo));
		config_format_duration(max, hi, sizeof(hi));
		snprintf(why, cap, "duration \"%s\" is out of range (%s to %s)", shown(s, tmp, sizeof(tmp)), lo, hi);
		return -1;
	}
	*out = (int64_t)v;
	return 0;
}

int config_parse_enum(const char *s, const char *choices, int *out, char *why, size_t cap)
{
	char tmp[40];
	int idx = 0;
	size_t n = strlen(s);

	for (const char *p = choices; *p; idx++) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);

		if (len == n && strncasecmp(p, s, n) == 0) {
			*out = idx;
			return 0;
		}
		p += len + (bar ? 1 : 0);
	}
	snprintf(why, cap, "expected one of %s, got \"%s\"", choices, shown(s, tmp, sizeof(tmp)));
	return -1;
}

int config_check_url(const char *url, const char *schemes, bool need_rest, char *why, size_t cap)
{
	char tmp[60];
	const char *sep = strstr(url, "://");
	size_t slen = sep ? (size_t)(sep - url) : 0;

	if (config_check_text(url, why, cap) < 0)
		return -1;
	for (const char *p = schemes; sep && *p;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);

		if (len == slen && strncasecmp(p, url, len) == 0) {
			if (sep[3] || !need_rest)
				return 0;
			break;
		}
		p += len + (bar ? 1 : 0);
	}
	snprintf(why, cap, "expected a URL starting with one of %s followed by ://…, got \"%s\"", schemes,
		 shown(url, tmp, sizeof(tmp)));
	return -1;
}

/* Largest unit that divides the value exactly, so the text parses back to the same number. */
static void format_units(uint64_t v, const struct unit *units, const char *const *names, size_t n, char *out,
			 size_t cap)
{
	for (size_t i = n; i-- > 0;) {
		if (v != 0 && v % units[i].mult == 0) {
			snprintf(out, cap, "%llu%s", (unsigned long long)(v / units[i].mult), names[i]);
			return;
		}
	}
	snprintf(out, cap, "%llu%s", (unsigned long long)v, names[0]);
}

void config_format_size(uint64_t v, char *out, size_t cap)
{
	static const struct unit u[] = { { "", 1 }, { "KiB", 1ULL << 10 }, { "MiB", 1ULL << 20 },
					 { "GiB", 1ULL << 30 }, { "TiB", 1ULL << 40 } };
	static const char *const names[] = { "", "KiB", "MiB", "GiB", "TiB" };

	format_units(v, u, names, 5, out, cap);
}

void config_format_duration(int64_t ms, char *out, size_t cap)
{
	static const struct unit u[] = { { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 } };
	static const char *const names[] = { "ms", "s", "m", "h" };

	if (ms < 0) {
		snprintf(out, cap, "%lldms", (long long)ms);
		return;
	}
	format_units((uint64_t)ms, u, names, 4, out, cap);
}

static bool secret_param(const char *name, size_t len)
{
	static const char *const words[] = { "password", "secret", "token", "passwd" };

	for (size_t i = 0; i < 4; i++) {
		size_t w = strlen(words[i]);
		for (size_t j = 0; j + w <= len; j++) {
			if (strncasecmp(name + j, words[i], w) == 0)
				return true;
		}
	}
	return false;
}

int config_redact_url(struct buf *out, const char *url)
{
	const char *sep = strstr(url, "://");
	const char *auth = sep ? sep + 3 : url;
	const char *auth_end = auth + strcspn(auth, "/?#");
	const char *at = memchr(auth, '@', (size_t)(auth_end - auth));
	const char *p = url;

	/* scheme://user:password@host → scheme://user:(secret)@host */
	if (sep && at) {
		const char *colon = memchr(auth, ':', (size_t)(at - auth));
		if (colon) {
			if (buf_add(out, url, (size_t)(colon + 1 - url)) < 0 || buf_adds(out, "(secret)") < 0)
				return -1;
			p = at;
		}
	}
	/* ?password=x&… → ?password=(secret)&… */
	const char *q = strchr(p, '?');
	if (!q)
		return buf_adds(out, p);
	if (buf_add(out, p, (size_t)(q + 1 - p)) < 0)
		return -1;
	for (p = q + 1; *p;) {
		size_t plen = strcspn(p, "&#");
		const char *eq = memchr(p, '=', plen);

		if (eq && secret_param(p, (size_t)(eq - p))) {
			if (buf_add(out, p, (size_t)(eq + 1 - p)) < 0 || buf_adds(out, "(secret)") < 0)
				return -1;
		} else if (buf_add(out, p, plen) < 0) {
			return -1;
		}
		p += plen;
		if (*p == '#')
			return buf_adds(out, p);
		if (*p && buf_addch(out, *p++) < 0)
			return -1;
	}
	return 0;
}

/* `path` made absolute against the working directory and cleaned lexically ("." and ".."
 * segments and repeated slashes removed; symbolic links are left alone, the folder may not
 * exist yet). The caller frees the result. */
char *config_absolute_path(const char *path, struct err *e)
{
	struct buf out = BUF_INIT;
	char cwd[PATH_MAX];
	struct buf joined = BUF_INIT;
	char *ret = NULL;

	if (path[0] != '/') {
		if (!getcwd(cwd, sizeof(cwd))) {
			err_errno(e, ERR_IO, errno, "key \"data\": reading the working directory");
			return NULL;
		}
		if (buf_adds(&joined, cwd) < 0 || buf_addch(&joined, '/') < 0)
			goto nomem;
	}
	if (buf_adds(&joined, path) < 0)
		goto nomem;
	for (const char *p = buf_str(&joined); *p;) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.') {
			const char *last = strrchr(buf_str(&out), '/');
			buf_truncate(&out, last ? (size_t)(last - buf_str(&out)) : 0);
		} else if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (buf_addch(&out, '/') < 0 || buf_add(&out, p, n) < 0)
				goto nomem;
		}
		p += n;
		p += *p == '/';
	}
	if (out.len == 0 && buf_addch(&out, '/') < 0)
		goto nomem;
	ret = buf_detach(&out, NULL);
	if (!ret)
		goto nomem;
	buf_release(&joined);
	return ret;
nomem:
	buf_release(&out);
	buf_release(&joined);
	err_set(e, ERR_NOMEM, "key \"data\": out of memory");
	return NULL;
}

/* ---- listen addresses ---- */

int config_parse_listen(const char *s, char *host, size_t cap, unsigned *port, struct err *e)
{
	char shown[64], tmp[256];
	const char *colon, *h;
	size_t hlen;
	unsigned long p = 0;

	if (!s || !*s)
		return err_set(e, ERR_INVALID, "expected host:port or [v6]:port, got an empty value");
	utf8_sanitize(shown, sizeof(shown), s, strlen(s));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		struct in6_addr a6;

		if (!close || close[1] != ':')
			return err_set(e, ERR_INVALID, "expected [v6]:port, got \"%s\"", shown);
		h = s + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
		/* a zone ("%eth0") is allowed after the address */
		size_t alen = strcspn(h, "%]");
		if (alen >= sizeof(tmp))
			return err_set(e, ERR_INVALID, "bad IPv6 address in \"%s\"", shown);
		memcpy(tmp, h, alen);
		tmp[alen] = '\0';
		if (inet_pton(AF_INET6, tmp, &a6) != 1 || (h[alen] == '%' && alen + 1 == hlen))
			return err_set(e, ERR_INVALID, "bad IPv6 address in \"%s\"", shown);
	} else {
		bool dotted = true;
		struct in_addr a4;

		colon = strrchr(s, ':');
		if (!colon)
			return err_set(e, ERR_INVALID, "expected host:port, got \"%s\" (no port)", shown);
		h = s;
		hlen = (size_t)(colon - s);
		if (memchr(h, ':', hlen))
			return err_set(e, ERR_INVALID, "IPv6 addresses go in brackets, as in [::1]:8080; got \"%s\"", shown);
		if (hlen == 0 || hlen > 253)
			return err_set(e, ERR_INVALID, "expected host:port, got \"%s\" (bad host)", shown);
		for (size_t i = 0; i < hlen; i++) {
			char ch = h[i];
			if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			      ch == '.' || ch == '-'))
				return err_set(e, ERR_INVALID, "bad host name in \"%s\"", shown);
			dotted &= (ch >= '0' && ch <= '9') || ch == '.';
		}
		memcpy(tmp, h, hlen);
		tmp[hlen] = '\0';
		if (dotted && inet_pton(AF_INET, tmp, &a4) != 1)
			return err_set(e, ERR_INVALID, "bad IPv4 address in \"%s\"", shown);
	}
	const char *d = colon + 1;
	size_t ndigits = strspn(d, "0123456789");
	if (ndigits == 0 || ndigits > 5 || d[ndigits])
		return err_set(e, ERR_INVALID, "port must be a number from 0 to 65535, in \"%s\"", shown);
	for (size_t i = 0; i < ndigits; i++)
		p = p * 10 + (unsigned long)(d[i] - '0');
	if (p > 65535)
		return err_set(e, ERR_INVALID, "port must be a number from 0 to 65535, in \"%s\"", shown);
	if (hlen >= cap)
		return err_set(e, ERR_INVALID, "host too long in \"%s\"", shown);
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (unsigned)p;
	return 0;
}
