/* mail.h (cli) — opening the mailer from configuration, for `tonearm serve`. */
#ifndef TONEARM_CLI_MAIL_H
#define TONEARM_CLI_MAIL_H

#include "base/err.h"

struct config;
struct mail;

/* Open the mailer of conf->mail (empty: outbox://<data>/outbox) with conf->mail_from as the
 * sender. *out is the caller's to mail_close(). -1 with *e set as mail_open() fails. */
int cli_open_mail(const struct config *conf, struct mail **out, struct err *e);

#endif
