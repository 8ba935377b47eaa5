/* mail.c (api) — the e-mail verification and password reset routes (see api/mail.h). */
#include "api/body.h"
#include "api/mail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api/api.h"
#include "api/auth.h"
#include "auth/auth.h"
#include "auth/verify.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/log.h"
#include "http/http.h"
#include "mail/mail.h"

#define TEXT_MAX 8192

/* "24 hours", "1 hour", "30 minutes", "5 seconds": how long a link lives, for the message. */
static void ttl_words(int64_t ms, char *out, size_t cap)
{
	int64_t s = ms / 1000;

	if (s >= 3600 && s % 3600 == 0)
		snprintf(out, cap, "%lld hour%s", (long long)(s / 3600), s == 3600 ? "" : "s");
	else if (s >= 60 && s % 60 == 0)
		snprintf(out, cap, "%lld minute%s", (long long)(s / 60), s == 60 ? "" : "s");
	else
		snprintf(out, cap, "%lld second%s", (long long)s, s == 1 ? "" : "s");
}

/* Mail a token. The body holds the link and the bare token (for clients without a web page). */
static int send_token(struct api *a, const struct auth_mail_token *t, bool reset, int64_t ttl_ms, struct err *e)
{
	struct buf b = BUF_INIT;
	char ttl[48];
	struct mail_msg msg = { .to = t->email, .tag = reset ? "password_reset" : "verify_email" };
	int ret = -1;

	buf_init(&b, TEXT_MAX);
	ttl_words(ttl_ms, ttl, sizeof(ttl));
	if (reset)
		buf_addf(&b,
			 "Hello %s,\n\nSomeone asked to reset the password of your tonearm account. To choose a new "
			 "password, open this link:\n\n%s/reset-password?token=%s\n\nor send the token with the new "
			 "password to POST /api/v1/auth/password-reset/confirm:\n\n%s\n\nThe link works once and for "
			 "%s. Every device signed in to the account is signed out when the password changes.\nIf this "
			 "was not you, ignore this message: your password stays as it is.\n",
			 t->username, a->issuer, t->token, t->token, ttl);
	else
		buf_addf(&b,
			 "Hello %s,\n\nPlease confirm that this is your e-mail address for tonearm by opening this "
			 "link:\n\n%s/verify-email?token=%s\n\nor send the token to POST /api/v1/auth/verify-email:\n\n"
			 "%s\n\nThe link works once and for %s. If you did not create this account, ignore this "
			 "message.\n",
			 t->username, a->issuer, t->token, t->token, ttl);
	msg.subject = reset ? "Reset your tonearm password" : "Confirm your e-mail address for tonearm";
	msg.text = buf_str(&b);
	if (b.len == 0)
		err_set(e, ERR_NOMEM, "out of memory");
	else
		ret = mail_send(a->mail, &msg, e);
	/* The buffer held a live token. */
	if (b.data)
		OPENSSL_cleanse(b.data, b.cap);
	buf_release(&b);
	return ret;
}

void api_mail_welcome(struct api *a, const struct auth_user *u, const char *request_id)
{
	struct auth_mail_token t;
	struct err e = ERR_INIT;

	if (!a->mail || !u->email[0])
		return;
	if (auth_verify_email_issue(a->auth, u->id, a->verify_ttl_ms, &t, &e) < 0 ||
	    send_token(a, &t, false, a->verify_ttl_ms > 0 ? a->verify_ttl_ms : AUTH_VERIFY_TTL_DEFAULT_MS, &e) < 0)
		log_kv(LOG_WARN, request_id, "mail: no verification mail after registration",
		       LOG_FIELDS(LOG_STR("user", u->id), LOG_STR("error", e.msg)));
	OPENSSL_cleanse(t.token, sizeof(t.token));
}

static bool mail_ready(struct http_req *req, struct api *a)
{
	if (a->auth && a->mail)
		return true;
	http_res_problem(req, 503, "Service Unavailable", "mail is not configured");
	return false;
}

void api_auth_verify_email(struct http_req *req, void *app)
{
	struct api *a = app;
	json_t *j = api_body_object(req), *body;
	const char *token = NULL;
	struct auth_user u;
	struct err e = ERR_INIT;

	if (!j)
		return;
	if (!a->auth) {
		http_res_problem(req, 503, "Service Unavailable", "identity is not configured");
		goto out;
	}
	if (tjson_get_str(j, "token", true, 256, &token, &e) < 0 || auth_verify_email(a->auth, token, &u, &e) < 0) {
		http_res_err(req, &e);
		goto out;
	}
	body = api_user_json(&u);
	if (!body || json_object_set_new(body, "email_verified", json_true()) < 0) {
		json_decref(body);
		http_res_problem(req, 500, "Internal Server Error", "out of memory");
		goto out;
	}
	http_res_header(req, "Cache-Control", "no-store");
	http_res_json(req, 200, body);
out:
	json_decref(j);
}

void api_me_email_verify(struct http_req *req, void *app)
{
	struct api *a = app;
	const struct auth_principal *p = api_principal(req);
	struct auth_mail_token t;
	struct err e = ERR_INIT;
	int64_t ttl = a->verify_ttl_ms > 0 ? a->verify_ttl_ms : AUTH_VERIFY_TTL_DEFAULT_MS;

	if (!mail_ready(req, a))
		return;
	if (auth_verify_email_issue(a->auth, p->user_id, ttl, &t, &e) < 0) {
		api_auth_send_err(req, &e);
		return;
	}
	if (send_token(a, &t, false, ttl, &e) < 0)
		http_res_problem(req, 503, "Service Unavailable", "the message could not be sent; try again later");
	else
		http_res_json(req, 202, json_pack("{s:s}", "status", "sent"));
	OPENSSL_cleanse(t.token, sizeof(t.token));
}

void api_auth_password_forgot(struct http_req *req, void *app)
{
	struct api *a = app;
	json_t *j, *u, *m;
	struct auth_mail_token t;
	struct err e = ERR_INIT;
	int64_t ttl = a->reset_ttl_ms > 0 ? a->reset_ttl_ms : AUTH_RESET_TTL_DEFAULT_MS;
	bool found = false;

	if (!mail_ready(req, a) || !(j = api_body_object(req)))
		return;
	u = json_object_get(j, "username");
	m = json_object_get(j, "email");
	if ((!json_is_string(u) && !json_is_string(m)) || (u && !json_is_string(u)) || (m && !json_is_string(m))) {
		http_res_problem(req, 400, "Bad Request", "send \"username\" or \"email\" as a string");
		goto out;
	}
	if (json_string_length(json_is_string(u) ? u : m) > 1024) {
		http_res_problem(req, 400, "Bad Request", "the field is too long");
		goto out;
	}
	if (auth_password_reset_issue(a->auth, json_string_value(json_is_string(u) ? u : m), ttl, &found, &t, &e) < 0) {
		http_res_err(req, &e);
		goto out;
	}
	/* A failed send says nothing to the caller either: the answer must not depend on the account. */
	if (found && send_token(a, &t, true, ttl, &e) < 0)
		log_kv(LOG_WARN, http_req_id(req), "mail: password reset mail not sent",
		       LOG_FIELDS(LOG_STR("user", t.user_id), LOG_STR("error", e.msg)));
	OPENSSL_cleanse(t.token, sizeof(t.token));
	http_res_header(req, "Cache-Control", "no-store");
	http_res_json(req, 202, json_pack("{s:s}", "status",
					  "if the account exists and has an e-mail address, a message is on its way"));
out:
	json_decref(j);
}

void api_auth_password_reset(struct http_req *req, void *app)
{
	struct api *a = app;
	json_t *j = api_body_object(req), *pw;
	const char *token = NULL;
	struct err e = ERR_INIT;

	if (!j)
		return;
	if (!a->auth) {
		http_res_problem(req, 503, "Service Unavailable", "identity is not configured");
		goto out;
	}
	if (tjson_get_str(j, "token", true, 256, &token, &e) < 0) {
		http_res_err(req, &e);
		goto out;
	}
	pw = json_object_get(j, "password");
	if (!json_is_string(pw)) {
		http_res_problem(req, 400, "Bad Request", "field \"password\": expected a string");
		goto out;
	}
	/* The rules first, so a weak password leaves the link usable for a second try. */
	if (auth_password_check(json_string_value(pw), json_string_length(pw), &e) < 0) {
		api_auth_send_err(req, &e);
		goto out;
	}
	if (auth_password_reset(a->auth, token, json_string_value(pw), json_string_length(pw), &e) < 0) {
		http_res_err(req, &e);
		goto out;
	}
	http_res_send(req, 204, NULL, NULL, 0);
out:
	json_decref(j);
}
