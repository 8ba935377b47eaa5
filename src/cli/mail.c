/* mail.c (cli) — the mailer from configuration (see cli/mail.h). */
#include "cli/mail.h"

#include <stdio.h>
#include <string.h>

#include "base/config.h"
#include "base/log.h"
#include "db/db.h"
#include "mail/mail.h"

int cli_open_mail(const struct config *conf, struct mail **out, struct err *e)
{
	char url[4096], safe[4096];
	struct mail_options mo = { .from = conf->mail_from, .from_name = "tonearm" };

	if (*conf->mail)
		snprintf(url, sizeof(url), "%s", conf->mail);
	else if ((size_t)snprintf(url, sizeof(url), "outbox://%s/outbox", conf->data) >= sizeof(url))
		return err_set(e, ERR_INVALID, "key \"data\": the path is too long");
	*out = mail_open(url, &mo, e);
	if (!*out)
		return -1;
	/* Same user:password@ shape as database URLs: one redactor for both. */
	db_url_redact(url, safe, sizeof(safe));
	log_kv(LOG_INFO, NULL, "mail ready",
	       LOG_FIELDS(LOG_STR("backend", mail_backend_name(*out)), LOG_STR("mail", safe)));
	return 0;
}
