/* s3xml.c — see s3xml.h. Every index is checked against the length before it is read; the
 * only state is the cursor and a fixed stack of element names pointing into the input. */
#include "store/s3xml.h"

#include <string.h>
#include <time.h>

void s3xml_init(struct s3xml *x, const char *xml, size_t len)
{
	x->s = xml;
	x->len = len;
	x->pos = 0;
}

/* The offset of `needle` at or after `from`, or len when absent. */
static size_t find(const struct s3xml *x, size_t from, const char *needle)
{
	size_t nl = strlen(needle);

	for (size_t i = from; i + nl <= x->len; i++)
		if (memcmp(x->s + i, needle, nl) == 0)
			return i;
	return x->len;
}

static bool starts(const struct s3xml *x, size_t at, const char *lit)
{
	size_t n = strlen(lit);

	return at + n <= x->len && memcmp(x->s + at, lit, n) == 0;
}

static bool name_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || c >= 0x80;
}

static bool name_char(unsigned char c)
{
	return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static bool space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A tag starting at x->pos ('<' seen, not '<!' or '<?'). */
static int read_tag(struct s3xml *x, struct s3xml_tok *t)
{
	size_t i = x->pos + 1, name;
	bool close = false;
	char quote = 0;

	if (i < x->len && x->s[i] == '/') {
		close = true;
		i++;
	}
	name = i;
	if (i >= x->len || !name_start((unsigned char)x->s[i]))
		return -1;
	while (i < x->len && name_char((unsigned char)x->s[i]))
		i++;
	t->p = x->s + name;
	t->n = i - name;
	if (close) {
		while (i < x->len && space((unsigned char)x->s[i]))
			i++;
		if (i >= x->len || x->s[i] != '>')
			return -1;
		t->type = S3XML_CLOSE;
		x->pos = i + 1;
		return 0;
	}
	/* attributes: skipped, but quoted values may hold '>' */
	for (; i < x->len; i++) {
		char c = x->s[i];

		if (c == '\0')
			return -1;
		if (quote) {
			if (c == quote)
				quote = 0;
			continue;
		}
		if (c == '"' || c == '\'') {
			quote = c;
		} else if (c == '<') {
			return -1;
		} else if (c == '>') {
			t->type = S3XML_OPEN;
			x->pos = i + 1;
			return 0;
		} else if (c == '/') {
			if (i + 1 >= x->len || x->s[i + 1] != '>')
				return -1;
			t->type = S3XML_EMPTY;
			x->pos = i + 2;
			return 0;
		}
	}
	return -1;
}

int s3xml_next(struct s3xml *x, struct s3xml_tok *t)
{
	size_t save = x->pos;

	for (;;) {
		size_t end;

		if (x->pos >= x->len) {
			t->type = S3XML_EOF;
			t->p = x->s + x->len;
			t->n = 0;
			return 0;
		}
		if (x->s[x->pos] != '<') {
			end = x->pos;
			while (end < x->len && x->s[end] != '<') {
				if (x->s[end] == '\0')
					goto bad;
				end++;
			}
			t->type = S3XML_TEXT;
			t->p = x->s + x->pos;
			t->n = end - x->pos;
			x->pos = end;
			return 0;
		}
		if (starts(x, x->pos, "<?")) {
			end = find(x, x->pos + 2, "?>");
			if (end >= x->len)
				goto bad;
			x->pos = end + 2;
			continue;
		}
		if (starts(x, x->pos, "<!--")) {
			end = find(x, x->pos + 4, "-->");
			if (end >= x->len)
				goto bad;
			x->pos = end + 3;
			continue;
		}
		if (starts(x, x->pos, "<![CDATA[")) {
			size_t from = x->pos + 9;

			end = find(x, from, "]]>");
			if (end >= x->len || memchr(x->s + from, '\0', end - from))
				goto bad;
			t->type = S3XML_CDATA;
			t->p = x->s + from;
			t->n = end - from;
			x->pos = end + 3;
			return 0;
		}
		if (starts(x, x->pos, "<!"))
			goto bad; /* DOCTYPE and the like: never from S3 */
		if (read_tag(x, t) < 0)
			goto bad;
		return 0;
	}
bad:
	x->pos = save;
	return -1;
}

static int put_utf8(unsigned long cp, char *out, size_t outsz, size_t *o)
{
	unsigned char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (n >= outsz - *o)
		return -1;
	memcpy(out + *o, b, n);
	*o += n;
	return 0;
}

/* A character reference body (between "&#" and ';'): decimal or x-hex. */
static int char_ref(const char *p, size_t n, unsigned long *cp)
{
	unsigned long v = 0;
	bool hex = n > 0 && (p[0] == 'x' || p[0] == 'X');
	size_t i = hex ? 1 : 0;

	if (i >= n || n - i > 8)
		return -1;
	for (; i < n; i++) {
		char c = p[i];
		int d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (hex && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (hex && c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v * (hex ? 16 : 10) + (unsigned long)d;
	}
	if (v == 0 || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return -1;
	*cp = v;
	return 0;
}

int s3xml_decode(const char *p, size_t n, char *out, size_t outsz, size_t *outlen)
{
	static const struct { const char *name; char c; } named[] = {
		{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' }, { "apos", '\'' },
	};
	size_t o = *outlen;
	int ret = -1;

	if (outsz == 0 || o >= outsz)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\0')
			goto out;
		if (p[i] != '&') {
			if (o + 1 >= outsz)
				goto out;
			out[o++] = p[i];
			continue;
		}
		/* an entity: at most 10 characters up to its ';' (&#x10FFFF; is the longest) */
		size_t semi = i + 1;
		while (semi < n && semi - i <= 10 && p[semi] != ';')
			semi++;
		if (semi >= n || p[semi] != ';')
			goto out;
		const char *body = p + i + 1;
		size_t blen = semi - i - 1;
		if (blen > 0 && body[0] == '#') {
			unsigned long cp;
			if (char_ref(body + 1, blen - 1, &cp) < 0 || put_utf8(cp, out, outsz, &o) < 0)
				goto out;
		} else {
			size_t k;
			for (k = 0; k < sizeof(named) / sizeof(named[0]); k++)
				if (strlen(named[k].name) == blen && memcmp(named[k].name, body, blen) == 0)
					break;
			if (k == sizeof(named) / sizeof(named[0]) || o + 1 >= outsz)
				goto out;
			out[o++] = named[k].c;
		}
		i = semi;
	}
	ret = 0;
out:
	out[o] = '\0';
	*outlen = o;
	return ret;
}

static bool tok_is(const struct s3xml_tok *t, const char *name)
{
	return strlen(name) == t->n && memcmp(t->p, name, t->n) == 0;
}

/* A stack of open elements, to check that tags nest. */
struct nest {
	struct s3xml_tok open[S3XML_DEPTH_MAX];
	size_t depth;
};

/* Track t in the stack: push an open, pop (checking the name) a close. -1 if malformed. */
static int nest_track(struct nest *st, const struct s3xml_tok *t)
{
	if (t->type == S3XML_OPEN) {
		if (st->depth >= S3XML_DEPTH_MAX)
			return -1;
		st->open[st->depth++] = *t;
	} else if (t->type == S3XML_CLOSE) {
		if (st->depth == 0)
			return -1;
		const struct s3xml_tok *o = &st->open[st->depth - 1];
		if (o->n != t->n || memcmp(o->p, t->p, t->n) != 0)
			return -1;
		st->depth--;
	}
	return 0;
}

static void append_text(const struct s3xml_tok *t, char *out, size_t outsz, size_t *o, bool *bad)
{
	if (*bad)
		return;
	if (t->type == S3XML_CDATA) {
		if (t->n >= outsz - *o) {
			*bad = true;
			return;
		}
		memcpy(out + *o, t->p, t->n);
		*o += t->n;
		out[*o] = '\0';
	} else if (s3xml_decode(t->p, t->n, out, outsz, o) < 0) {
		*bad = true;
	}
}

int s3xml_text(const char *xml, size_t len, const char *name, char *out, size_t outsz)
{
	struct s3xml x;
	struct s3xml_tok t;
	struct nest st = { .depth = 0 };
	size_t o = 0, in = 0; /* in: the depth of the element being read, 0 when none */
	bool bad = false, rooted = false;

	if (outsz == 0)
		return -1;
	out[0] = '\0';
	s3xml_init(&x, xml, len);
	for (;;) {
		if (s3xml_next(&x, &t) < 0 || nest_track(&st, &t) < 0)
			return -1;
		if (t.type == S3XML_EOF)
			return !in && rooted && st.depth == 0 ? 0 : -1;
		if (t.type == S3XML_OPEN || t.type == S3XML_EMPTY)
			rooted = true;
		if (!in && t.type == S3XML_EMPTY && tok_is(&t, name))
			return 1;
		if (!in && t.type == S3XML_OPEN && tok_is(&t, name)) {
			in = st.depth;
			continue;
		}
		if (in && (t.type == S3XML_TEXT || t.type == S3XML_CDATA) && st.depth == in)
			append_text(&t, out, outsz, &o, &bad);
		if (in && t.type == S3XML_CLOSE && st.depth == in - 1)
			return bad ? -1 : 1;
	}
}

/* Whether t (already tracked) is an element at the top level of the document. */
static bool top_level(const struct s3xml_tok *t, const struct nest *st)
{
	return (t->type == S3XML_OPEN && st->depth == 1) || (t->type == S3XML_EMPTY && st->depth == 0);
}

int s3xml_count(const char *xml, size_t len, const char *name)
{
	struct s3xml x;
	struct s3xml_tok t;
	struct nest st = { .depth = 0 };
	int n = 0;
	bool rooted = false;

	s3xml_init(&x, xml, len);
	for (;;) {
		if (s3xml_next(&x, &t) < 0 || nest_track(&st, &t) < 0)
			return -1;
		if (t.type == S3XML_EOF)
			return rooted && st.depth == 0 ? n : -1;
		if (t.type == S3XML_OPEN || t.type == S3XML_EMPTY) {
			if (top_level(&t, &st) && rooted)
				return -1; /* a second root */
			rooted = true;
			if (tok_is(&t, name) && n < 1000000)
				n++;
		}
	}
}

static int digits(const char *s, size_t n, int *out)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int s3xml_time(const char *s, int64_t *out)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec;
	size_t n = strlen(s), i = 19;
	time_t t;

	if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
	    s[16] != ':')
		return -1;
	if (digits(s, 4, &y) < 0 || digits(s + 5, 2, &mo) < 0 || digits(s + 8, 2, &d) < 0 ||
	    digits(s + 11, 2, &h) < 0 || digits(s + 14, 2, &mi) < 0 || digits(s + 17, 2, &sec) < 0)
		return -1;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	if (s[i] == '.') {
		i++;
		size_t f = i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == f)
			return -1;
	}
	if (!(strcmp(s + i, "Z") == 0 || strcmp(s + i, "z") == 0 || strcmp(s + i, "+00:00") == 0))
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*out = (int64_t)t;
	return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* The fields of one <Contents> as they are read. */
struct entry {
	char key[S3XML_KEY_MAX + 1], size[24], etag[80], mtime[40];
	size_t klen, slen, elen, mlen;
	bool kbad, sbad, ebad, mbad, has_key, has_size;
};

int s3xml_parse_list(const char *xml, size_t len,
		     int (*cb)(void *ud, const struct s3xml_object *obj), void *ud,
		     struct s3xml_list *res, struct err *e)
{
	struct s3xml x;
	struct s3xml_tok t;
	struct nest st = { .depth = 0 };
	struct entry ent;
	char flag[8];
	size_t tlen = 0, flen = 0;
	bool in_contents = false, tbad = false, fbad = false, rooted = false;
	int field = 0; /* which element's text is being read: see the switch below */

	memset(&ent, 0, sizeof(ent));
	res->truncated = false;
	res->next_token[0] = '\0';
	flag[0] = '\0';
	s3xml_init(&x, xml, len);
	for (;;) {
		if (s3xml_next(&x, &t) < 0 || nest_track(&st, &t) < 0)
			return err_set(e, ERR_IO, "malformed S3 listing (XML)");
		switch (t.type) {
		case S3XML_EOF:
			if (!rooted || st.depth != 0)
				return err_set(e, ERR_IO, "malformed S3 listing (truncated XML)");
			if (tbad)
				return err_set(e, ERR_IO, "malformed S3 listing (continuation token)");
			return 0;
		case S3XML_OPEN:
		case S3XML_EMPTY:
			if (!rooted) {
				if (!tok_is(&t, "ListBucketResult"))
					return err_set(e, ERR_IO, "S3 listing: not a ListBucketResult");
				rooted = true;
				break;
			}
			if (top_level(&t, &st))
				return err_set(e, ERR_IO, "malformed S3 listing (two roots)");
			field = 0;
			if (t.type == S3XML_EMPTY)
				break;
			if (st.depth == 2 && tok_is(&t, "Contents")) {
				memset(&ent, 0, sizeof(ent));
				in_contents = true;
			} else if (st.depth == 2 && tok_is(&t, "IsTruncated")) {
				field = 5;
				flen = 0;
				flag[0] = '\0';
			} else if (st.depth == 2 && tok_is(&t, "NextContinuationToken")) {
				field = 6;
				tlen = 0;
				res->next_token[0] = '\0';
			} else if (st.depth == 3 && in_contents) {
				field = tok_is(&t, "Key") ? 1 : tok_is(&t, "Size") ? 2 :
					tok_is(&t, "ETag") ? 3 : tok_is(&t, "LastModified") ? 4 : 0;
				if (field == 1)
					ent.has_key = true;
				if (field == 2)
					ent.has_size = true;
			}
			break;
		case S3XML_TEXT:
		case S3XML_CDATA:
			switch (field) {
			case 1: append_text(&t, ent.key, sizeof(ent.key), &ent.klen, &ent.kbad); break;
			case 2: append_text(&t, ent.size, sizeof(ent.size), &ent.slen, &ent.sbad); break;
			case 3: append_text(&t, ent.etag, sizeof(ent.etag), &ent.elen, &ent.ebad); break;
			case 4: append_text(&t, ent.mtime, sizeof(ent.mtime), &ent.mlen, &ent.mbad); break;
			case 5: append_text(&t, flag, sizeof(flag), &flen, &fbad); break;
			case 6:
				append_text(&t, res->next_token, sizeof(res->next_token), &tlen, &tbad);
				break;
			default: break;
			}
			break;
		case S3XML_CLOSE:
			field = 0;
			if (st.depth == 1 && tok_is(&t, "IsTruncated"))
				res->truncated = !fbad && strcmp(flag, "true") == 0;
			if (st.depth == 1 && in_contents && tok_is(&t, "Contents")) {
				struct s3xml_object obj = { ent.key, 0, 0, ent.etag };

				in_contents = false;
				if (!ent.has_key || !ent.has_size || ent.kbad || ent.sbad || ent.ebad ||
				    ent.mbad || parse_u64(ent.size, &obj.size) < 0 ||
				    (ent.mlen && s3xml_time(ent.mtime, &obj.mtime) < 0))
					break;
				int r = cb(ud, &obj);
				if (r != 0)
					return r;
			}
			break;
		}
	}
}
