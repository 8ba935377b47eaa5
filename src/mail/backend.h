/* backend.h — what a mail backend implements; seen by mail.c and the backends only.
 *
 * A backend embeds `struct mail` as its first member (as store/backend.h does) and fills a
 * static `struct mail_ops`. mail.c has already checked the message and formatted it. */
#ifndef TONEARM_MAIL_BACKEND_H
#define TONEARM_MAIL_BACKEND_H

#include "mail/mail.h"

struct mail_ops {
	const char *name; /* "outbox", "smtp" */
	void (*close)(struct mail *m);
	/* Deliver `data` (len bytes, the formatted message) to `to`. */
	int (*send)(struct mail *m, const char *to, const char *data, size_t len, struct err *e);
	const char *(*dir)(const struct mail *m); /* optional */
};

struct mail {
	const struct mail_ops *ops;
	char from[MAIL_ADDR_MAX + 1];
	char *from_name;  /* may be NULL */
	int timeout_ms;
	bool require_tls, insecure_tls;
};

/* Backend constructors; `rest` is the URL after "scheme://". They fill only their own part:
 * mail_open sets the base fields afterwards. */
struct mail *mail_outbox_open(const char *rest, struct err *e);
struct mail *mail_smtp_open(const char *url, bool implicit_tls, struct err *e);

#endif
