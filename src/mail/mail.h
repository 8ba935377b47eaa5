/* mail.h — the mailer port: send one plain-text e-mail, through an outbox folder or SMTP.
 *
 * The backend is chosen once, from the URL given to mail_open():
 *   outbox:///abs/folder            one .eml file per message in the folder (created), written
 *   outbox://rel/folder             atomically (temporary file, then rename), plus a log line;
 *                                   the default: development and tests read the files
 *   smtp://[user:pass@]host[:port]  SMTP through libcurl; STARTTLS when the server offers it
 *                                   (required when opt->require_tls)
 *   smtps://[user:pass@]host[:port] SMTP over implicit TLS (port 465 by default)
 *
 * Messages. mail_format() builds what is sent: RFC 5322 headers (From, To, Subject, Date,
 * Message-ID, MIME-Version, Content-Type text/plain; charset=utf-8), a subject outside ASCII
 * as RFC 2047 encoded-words, CRLF line ends. The body is UTF-8 text, sent 7bit when it is
 * ASCII in lines of at most 998 characters, else quoted-printable. An address or subject holding CR, LF or any other control character is
 * refused (ERR_INVALID): it could smuggle headers in.
 *
 * Threads: mail_send() blocks (a file write, or a whole SMTP conversation): call it on the
 * handler pool or the command line, never on an event loop. A handle may be used by several
 * threads at once.
 *
 * Logging: every message sent writes one "mail sent" line with the backend, the recipient
 * masked (u***@example.com) and the caller's `tag` (what kind of message) — never the body,
 * which may hold a token.
 */
#ifndef TONEARM_MAIL_MAIL_H
#define TONEARM_MAIL_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct mail;

#define MAIL_ADDR_MAX 254
#define MAIL_SUBJECT_MAX 998
#define MAIL_BODY_MAX (1024 * 1024)

struct mail_options {
	const char *from;        /* envelope and From: address; NULL or "": "tonearm@localhost" */
	const char *from_name;   /* display name in From:; NULL: none */
	int timeout_ms;          /* SMTP: the whole conversation; 0: 30 s */
	bool require_tls;        /* smtp://: refuse to send without STARTTLS */
	bool insecure_tls;       /* smtps/STARTTLS: skip certificate checks (tests only) */
};

struct mail_msg {
	const char *to;          /* one address, local@domain */
	const char *subject;     /* UTF-8, one line */
	const char *text;        /* UTF-8 body; "\n" line ends are sent as CRLF */
	const char *tag;         /* for the log line ("verify_email", "password_reset"); may be NULL */
};

/* Open the mailer named by `url` (see above); `opt` may be NULL. An outbox folder is created
 * at once. Returns a handle for mail_close(), or NULL with *e set: ERR_INVALID for a malformed
 * or unknown URL or a bad from address, ERR_IO when the folder cannot be made, ERR_NOMEM. */
struct mail *mail_open(const char *url, const struct mail_options *opt, struct err *e);

/* Free the handle. NULL is a no-op. */
void mail_close(struct mail *m);

/* "outbox" or "smtp". Static storage. */
const char *mail_backend_name(const struct mail *m);

/* The outbox folder (owned by the handle); NULL for SMTP. */
const char *mail_outbox_dir(const struct mail *m);

/* Send one message (blocking). ERR_INVALID for a bad address, header injection, a body over
 * MAIL_BODY_MAX or text that is not UTF-8; ERR_IO when the outbox cannot be written;
 * ERR_UNAVAILABLE when the SMTP server cannot be reached or refuses the message (the message
 * says why, without credentials); ERR_TIMEOUT past opt->timeout_ms. */
int mail_send(struct mail *m, const struct mail_msg *msg, struct err *e);

/* Build the complete message (headers and body, CRLF line ends) that
 * mail_send would send, from `from` (and `from_name`, may be NULL) at `now_ms`. *out gets a
 * NUL-terminated string the caller frees, *len its length. Same ERR_INVALID cases as
 * mail_send; ERR_NOMEM. */
int mail_format(const char *from, const char *from_name, const struct mail_msg *msg, int64_t now_ms, char **out,
		size_t *len, struct err *e);

/* 0 when `addr` is one plain address local@domain (≤ MAIL_ADDR_MAX bytes, no space, control
 * character, '<', '>', ',', ';', '"' or '\\'), else ERR_INVALID. */
int mail_addr_check(const char *addr, struct err *e);

/* `addr` masked for logs: the first character of the local part, "***", and the domain
 * ("u***@example.com"), into out (cap bytes, always NUL-terminated when cap > 0). */
void mail_addr_mask(const char *addr, char *out, size_t cap);

#endif
