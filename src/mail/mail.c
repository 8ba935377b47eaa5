/* mail.c — the mailer port's dispatcher: URL parsing, address and header checks, the message
 * format (RFC 5322, RFC 2045 quoted-printable, RFC 2047 encoded-words) and the log line. */
#include "mail/backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/id.h"
#include "base/log.h"
#include "base/utf8.h"

#define DEFAULT_FROM "tonearm@localhost"
#define DEFAULT_TIMEOUT_MS 30000
/* RFC 2047 §2: an encoded-word is at most 75 characters; 45 bytes of UTF-8 make 60 of base64. */
#define EW_CHUNK 45
/* RFC 2045 §6.7: encoded lines at most 76 characters, soft break "=" included. */
#define QP_LINE 75

int mail_addr_check(const char *addr, struct err *e)
{
	size_t n = addr ? strlen(addr) : 0;
	const char *at = addr ? strrchr(addr, '@') : NULL;

	if (n == 0 || n > MAIL_ADDR_MAX || !at || at == addr || !at[1] || !utf8_valid(addr, n))
		return err_set(e, ERR_INVALID, "not a valid e-mail address");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)addr[i];

		/* Control characters (CR, LF above all) would start a new header or SMTP command. */
		if (c <= ' ' || c == 0x7f || strchr("<>,;\"\\()[]:", c))
			return err_set(e, ERR_INVALID, "not a valid e-mail address");
	}
	return 0;
}

void mail_addr_mask(const char *addr, char *out, size_t cap)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;

	if (cap == 0)
		return;
	if (!at || at == addr)
		snprintf(out, cap, "***");
	else
		snprintf(out, cap, "%c***%s", addr[0], at);
}

static int subject_check(const char *s, struct err *e)
{
	size_t n = s ? strlen(s) : 0;

	if (n > MAIL_SUBJECT_MAX || !utf8_valid(s ? s : "", n))
		return err_set(e, ERR_INVALID, "subject is too long or not UTF-8");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < ' ' || s[i] == 0x7f)
			return err_set(e, ERR_INVALID, "subject may not hold control characters");
	return 0;
}

static bool is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

static int add_b64(struct buf *b, const unsigned char *p, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
		char q[4] = { tab[v >> 18 & 63], tab[v >> 12 & 63], i + 1 < n ? tab[v >> 6 & 63] : '=',
			      i + 2 < n ? tab[v & 63] : '=' };

		if (buf_add(b, q, 4) < 0)
			return -1;
	}
	return 0;
}

/* Subject: as is when ASCII, else B encoded-words, split between UTF-8 characters and folded. */
static int add_subject(struct buf *b, const char *s)
{
	size_t n = strlen(s), i = 0;

	if (buf_adds(b, "Subject: ") < 0)
		return -1;
	if (is_ascii(s))
		return buf_adds(b, s) < 0 || buf_adds(b, "\r\n") < 0 ? -1 : 0;
	while (i < n) {
		size_t k = n - i < EW_CHUNK ? n - i : EW_CHUNK;

		/* Never cut a character in two: back up to the start of one. */
		while (i + k < n && ((unsigned char)s[i + k] & 0xC0) == 0x80)
			k--;
		if ((i > 0 && buf_adds(b, "\r\n ") < 0) || buf_adds(b, "=?UTF-8?B?") < 0 ||
		    add_b64(b, (const unsigned char *)s + i, k) < 0 || buf_adds(b, "?=") < 0)
			return -1;
		i += k;
	}
	return buf_adds(b, "\r\n");
}

/* The body in quoted-printable with CRLF line ends ("\n" and "\r\n" in the input both end a line). */
static int add_qp(struct buf *b, const char *t)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;

	for (const char *p = t; *p; p++) {
		unsigned char c = (unsigned char)*p;
		char enc[4];
		size_t w;

		if (c == '\r' && p[1] == '\n')
			continue;
		if (c == '\n') {
			if (buf_adds(b, "\r\n") < 0)
				return -1;
			col = 0;
			continue;
		}
		/* Trailing white space would be stripped in transit: encode it. */
		if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && p[1] && p[1] != '\n' && p[1] != '\r')) {
			enc[0] = (char)c;
			w = 1;
		} else {
			enc[0] = '=';
			enc[1] = hex[c >> 4];
			enc[2] = hex[c & 15];
			w = 3;
		}
		if (col + w > QP_LINE) {
			if (buf_adds(b, "=\r\n") < 0)
				return -1;
			col = 0;
		}
		if (buf_add(b, enc, w) < 0)
			return -1;
		col += w;
	}
	return col ? buf_adds(b, "\r\n") : 0;
}

/* True when the body is ASCII without control characters but tabs and line ends, in lines
 * of at most 998 characters (RFC 5322 §2.1.1). */
static bool body_is_7bit(const char *t)
{
	size_t col = 0;

	for (; *t; t++) {
		unsigned char c = (unsigned char)*t;

		if (c == '\n') {
			col = 0;
			continue;
		}
		if (c == '\r' && t[1] == '\n')
			continue;
		if (c >= 0x7f || (c < ' ' && c != '\t') || ++col > 998)
			return false;
	}
	return true;
}

/* The text with CRLF line ends, ending in one. */
static int add_crlf(struct buf *b, const char *t)
{
	size_t col = 0;

	for (; *t; t++) {
		if (*t == '\r' && t[1] == '\n')
			continue;
		if (*t == '\n') {
			if (buf_adds(b, "\r\n") < 0)
				return -1;
			col = 0;
		} else if (buf_addch(b, *t) < 0) {
			return -1;
		} else {
			col++;
		}
	}
	return col ? buf_adds(b, "\r\n") : 0;
}

int mail_format(const char *from, const char *from_name, const struct mail_msg *msg, int64_t now_ms, char **out,
		size_t *len, struct err *e)
{
	struct buf b = BUF_INIT;
	char date[CLOCK_HTTP_DATE_LEN], mid[ID_LEN + 1];
	const char *dom;
	size_t tlen = msg->text ? strlen(msg->text) : 0;
	int ret = -1;

	*out = NULL;
	*len = 0;
	if (mail_addr_check(msg->to, e) < 0 || mail_addr_check(from, e) < 0 || subject_check(msg->subject, e) < 0)
		return -1;
	if (from_name && subject_check(from_name, e) < 0)
		return -1;
	if (tlen > MAIL_BODY_MAX || !utf8_valid(msg->text ? msg->text : "", tlen))
		return err_set(e, ERR_INVALID, "the body is too long or not UTF-8");
	buf_init(&b, 4 * MAIL_BODY_MAX);
	dom = strrchr(from, '@') + 1;
	id_new(mid);
	if (clock_http_date(now_ms / 1000, date) < 0) {
		err_set(e, ERR_INVALID, "the clock is out of range");
		goto out;
	}
	/* A display name is only ASCII without quotes here: anything else goes without one. */
	if (from_name && *from_name && is_ascii(from_name) && !strpbrk(from_name, "\"\\")) {
		if (buf_addf(&b, "From: \"%s\" <%s>\r\n", from_name, from) < 0)
			goto nomem;
	} else if (buf_addf(&b, "From: <%s>\r\n", from) < 0) {
		goto nomem;
	}
	if (buf_addf(&b, "To: <%s>\r\n", msg->to) < 0 || add_subject(&b, msg->subject ? msg->subject : "") < 0 ||
	    buf_addf(&b, "Date: %s\r\nMessage-ID: <%s@%s>\r\nMIME-Version: 1.0\r\n", date, mid, dom) < 0 ||
	    buf_adds(&b, "Content-Type: text/plain; charset=utf-8\r\n") < 0)
		goto nomem;
	/* Plain ASCII in short lines goes as is (links stay readable in the raw file); anything
	 * else as quoted-printable, which every server and client takes. */
	if (body_is_7bit(msg->text ? msg->text : "")) {
		if (buf_adds(&b, "Content-Transfer-Encoding: 7bit\r\n\r\n") < 0 || add_crlf(&b, msg->text ? msg->text : "") < 0)
			goto nomem;
	} else if (buf_adds(&b, "Content-Transfer-Encoding: quoted-printable\r\n\r\n") < 0 ||
		   add_qp(&b, msg->text ? msg->text : "") < 0)
		goto nomem;
	*out = buf_detach(&b, len);
	if (!*out)
		goto nomem;
	ret = 0;
	goto out;
nomem:
	err_set(e, ERR_NOMEM, "out of memory formatting a message");
out:
	buf_release(&b);
	return ret;
}

struct mail *mail_open(const char *url, const struct mail_options *opt, struct err *e)
{
	const char *from = opt && opt->from && *opt->from ? opt->from : DEFAULT_FROM;
	struct mail *m = NULL;

	if (!url)
		url = "";
	if (mail_addr_check(from, NULL) < 0) {
		err_set(e, ERR_INVALID, "mail_from is not a valid address");
		return NULL;
	}
	if (strncmp(url, "outbox://", 9) == 0)
		m = mail_outbox_open(url + 9, e);
	else if (strncmp(url, "smtp://", 7) == 0)
		m = mail_smtp_open(url, false, e);
	else if (strncmp(url, "smtps://", 8) == 0)
		m = mail_smtp_open(url, true, e);
	else
		err_set(e, ERR_INVALID, "mail: the URL must start with outbox://, smtp:// or smtps://");
	if (!m)
		return NULL;
	snprintf(m->from, sizeof(m->from), "%s", from);
	m->timeout_ms = opt && opt->timeout_ms > 0 ? opt->timeout_ms : DEFAULT_TIMEOUT_MS;
	m->require_tls = opt && opt->require_tls;
	m->insecure_tls = opt && opt->insecure_tls;
	if (opt && opt->from_name && *opt->from_name && !(m->from_name = strdup(opt->from_name))) {
		mail_close(m);
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	return m;
}

void mail_close(struct mail *m)
{
	if (!m)
		return;
	free(m->from_name);
	m->ops->close(m);
}

const char *mail_backend_name(const struct mail *m)
{
	return m->ops->name;
}

const char *mail_outbox_dir(const struct mail *m)
{
	return m->ops->dir ? m->ops->dir(m) : NULL;
}

int mail_send(struct mail *m, const struct mail_msg *msg, struct err *e)
{
	char masked[MAIL_ADDR_MAX + 8];
	char *data = NULL;
	size_t len;
	int ret = -1;

	if (mail_format(m->from, m->from_name, msg, clock_now_ms(), &data, &len, e) < 0)
		return -1;
	mail_addr_mask(msg->to, masked, sizeof(masked));
	if (m->ops->send(m, msg->to, data, len, e) < 0) {
		log_kv(LOG_WARN, NULL, "mail not sent",
		       LOG_FIELDS(LOG_STR("backend", m->ops->name), LOG_STR("to", masked),
				  LOG_STR("kind", msg->tag ? msg->tag : ""), LOG_STR("error", e ? e->msg : "")));
		goto out;
	}
	log_kv(LOG_INFO, NULL, "mail sent",
	       LOG_FIELDS(LOG_STR("backend", m->ops->name), LOG_STR("to", masked),
			  LOG_STR("kind", msg->tag ? msg->tag : "")));
	ret = 0;
out:
	free(data);
	return ret;
}
