/* smtp.c — the SMTP mail backend: one libcurl conversation per message.
 *
 * Credentials are taken out of the URL at open (CURLOPT_USERNAME / CURLOPT_PASSWORD), so
 * neither libcurl's error messages nor ours can carry them. A handle only keeps strings:
 * each send makes its own easy handle, which makes sending from several threads safe. */
#include "mail/backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

struct smtp {
	struct mail base;
	char *url;      /* without user and password */
	char *user;     /* NULL: no authentication */
	char *password;
	bool implicit_tls;
};

struct reader {
	const char *p;
	size_t left;
};

static void smtp_close(struct mail *m)
{
	struct smtp *s = (struct smtp *)m;

	free(s->url);
	free(s->user);
	if (s->password) {
		memset(s->password, 0, strlen(s->password));
		free(s->password);
	}
	free(s);
}

static size_t read_cb(char *dst, size_t size, size_t nitems, void *ud)
{
	struct reader *r = ud;
	size_t n = size * nitems < r->left ? size * nitems : r->left;

	memcpy(dst, r->p, n);
	r->p += n;
	r->left -= n;
	return n;
}

static int smtp_send(struct mail *m, const char *to, const char *data, size_t len, struct err *e)
{
	struct smtp *s = (struct smtp *)m;
	char from[MAIL_ADDR_MAX + 3], rcpt[MAIL_ADDR_MAX + 3], errbuf[CURL_ERROR_SIZE] = "";
	struct reader r = { data, len };
	struct curl_slist *rcpts = NULL;
	CURL *c = curl_easy_init();
	CURLcode rc;
	int ret = -1;

	if (!c)
		return err_set(e, ERR_NOMEM, "mail: cannot start libcurl");
	snprintf(from, sizeof(from), "<%s>", m->from);
	snprintf(rcpt, sizeof(rcpt), "<%s>", to);
	if (!(rcpts = curl_slist_append(NULL, rcpt))) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, s->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)m->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)m->timeout_ms);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpts);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, &r);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	/* smtps:// is TLS from the first byte; smtp:// upgrades with STARTTLS when offered, and
	 * insists on it when configured to. */
	curl_easy_setopt(c, CURLOPT_USE_SSL,
			 (long)(s->implicit_tls || m->require_tls ? CURLUSESSL_ALL : CURLUSESSL_TRY));
	if (m->insecure_tls) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (s->user) {
		curl_easy_setopt(c, CURLOPT_USERNAME, s->user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, s->password ? s->password : "");
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		err_set(e, ERR_TIMEOUT, "mail: the SMTP server did not answer in time");
		goto out;
	}
	if (rc != CURLE_OK) {
		err_set(e, ERR_UNAVAILABLE, "mail: SMTP failed: %s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
		goto out;
	}
	ret = 0;
out:
	curl_slist_free_all(rcpts);
	curl_easy_cleanup(c);
	return ret;
}

static const struct mail_ops smtp_ops = {
	.name = "smtp",
	.close = smtp_close,
	.send = smtp_send,
};

/* Move a URL part into *dst (decoded) and clear it in the URL. */
static int take_part(CURLU *u, CURLUPart part, char **dst)
{
	char *v = NULL;
	CURLUcode rc = curl_url_get(u, part, &v, CURLU_URLDECODE);

	*dst = NULL;
	if (rc == CURLUE_OK) {
		*dst = strdup(v);
		curl_free(v);
		if (!*dst)
			return -1;
		curl_url_set(u, part, NULL, 0);
	}
	return 0;
}

struct mail *mail_smtp_open(const char *url, bool implicit_tls, struct err *e)
{
	struct smtp *s = calloc(1, sizeof(*s));
	CURLU *u = curl_url();
	char *clean = NULL, *host = NULL;

	if (!s || !u) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto fail;
	}
	s->base.ops = &smtp_ops;
	s->implicit_tls = implicit_tls;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host) {
		err_set(e, ERR_INVALID, "mail: not a valid smtp:// URL");
		goto fail;
	}
	if (take_part(u, CURLUPART_USER, &s->user) < 0 || take_part(u, CURLUPART_PASSWORD, &s->password) < 0 ||
	    curl_url_get(u, CURLUPART_URL, &clean, 0) != CURLUE_OK || !(s->url = strdup(clean))) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto fail;
	}
	curl_free(clean);
	curl_free(host);
	curl_url_cleanup(u);
	return &s->base;
fail:
	curl_free(clean);
	curl_free(host);
	curl_url_cleanup(u);
	if (s)
		smtp_close(&s->base);
	return NULL;
}
