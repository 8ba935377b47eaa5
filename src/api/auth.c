/* auth.c (api) — the authentication hook and the sign-in, token and own-account routes
 * (see api/auth.h). No SQL and no crypto here: auth/ owns both. */
#include "api/body.h"
#include "api/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/mail.h"
#include "auth/apikey.h"
#include "auth/auth.h"
#include "auth/jwt.h"
#include "auth/throttle.h"
#include "auth/verify.h"
#include "base/clock.h"
#include "base/json.h"
#include "base/log.h"
#include "http/http.h"

#define REALM "Bearer realm=\"tonearm\""

const struct auth_principal *api_principal(const struct http_req *req)
{
	return http_req_principal(req);
}

/* ---- the hook ---- */

static int challenge(struct http_req *req, const char *error, const char *detail)
{
	char *v = error ? http_req_printf(req, REALM ", error=\"%s\"", error) : NULL;

	http_res_header(req, "WWW-Authenticate", v ? v : REALM);
	http_res_problem(req, 401, "Unauthorized", detail);
	return -1;
}

/* The token of "Bearer <token>" (scheme case-insensitive, RFC 6750 §2.1), or NULL. */
static const char *bearer_token(const char *h, size_t *len)
{
	const char *t, *end;

	if (strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	t = h + 7;
	while (*t == ' ')
		t++;
	end = t + strlen(t);
	while (end > t && end[-1] == ' ')
		end--;
	*len = (size_t)(end - t);
	return *len ? t : NULL;
}

/* An API key (auth/apikey.h) instead of an access token. Checking one reads the database, so
 * only blocking routes take keys; a quick route that needs a permission answers 401 with a hint
 * (no in-memory cache of verified keys yet: revoking a key then takes effect at once).
 * 1 with *p set, 0 to go on anonymously (open route), -1 answered. */
static int apikey_principal(struct http_req *req, const struct http_route *route, struct api *a, const char *key,
			    size_t len, struct auth_principal *p)
{
	char k[AUTH_APIKEY_LEN + 1];
	struct err e = ERR_INIT;

	if (!(route->flags & HTTP_BLOCKING)) {
		if (!route->perm)
			return 0;
		return challenge(req, "invalid_request", "API keys are not accepted on this route: use an access token");
	}
	if (len != AUTH_APIKEY_LEN) {
		if (!route->perm)
			return 0;
		return challenge(req, "invalid_token", "invalid API key");
	}
	memcpy(k, key, len);
	k[len] = '\0';
	if (auth_apikey_verify(a->auth, k, http_req_peer(req), p, &e) < 0) {
		if (!route->perm)
			return 0;
		if (e.code != ERR_UNAUTHORIZED) {
			http_res_err(req, &e);
			return -1;
		}
		return challenge(req, "invalid_token", e.msg);
	}
	return 1;
}

int api_auth_hook(struct http_req *req, const struct http_route *route, void *app)
{
	struct api *a = app;
	const char *h = http_req_header(req, "authorization"), *tok, *xkey = http_req_header(req, "x-api-key");
	struct auth_principal p, *kept;
	struct err e = ERR_INIT;
	size_t len = 0;
	int rc;

	if (!a->auth) {
		if (!route->perm)
			return 0;
		http_res_problem(req, 503, "Service Unavailable", "identity is not configured");
		return -1;
	}
	if (route->flags & HTTP_BLOCKING)
		auth_keys_refresh(a->auth, false, NULL);
	if (!h && !xkey) {
		if (!route->perm)
			return 0;
		return challenge(req, NULL, "sign in first: send Authorization: Bearer <access token>");
	}
	tok = h ? bearer_token(h, &len) : NULL;
	if (xkey || (tok && len > 3 && strncmp(tok, AUTH_APIKEY_PREFIX, 3) == 0)) {
		if ((rc = apikey_principal(req, route, a, xkey ? xkey : tok, xkey ? strlen(xkey) : len, &p)) <= 0)
			return rc;
		goto verified;
	}
	if (!tok) {
		if (!route->perm)
			return 0;
		return challenge(req, "invalid_request", "the Authorization header must be: Bearer <access token>");
	}
	rc = auth_verify_access(a->auth, tok, len, &p, &e);
	/* A kid we do not know may be a key another node just made: on a route that may block,
	 * look at the database once (at most once a second) and try again. */
	if (rc < 0 && (route->flags & HTTP_BLOCKING) && strstr(e.msg, "unknown key") &&
	    auth_keys_refresh(a->auth, true, NULL) == 0) {
		err_clear(&e);
		rc = auth_verify_access(a->auth, tok, len, &p, &e);
	}
	if (rc < 0) {
		if (!route->perm)
			return 0;
		log_kv(LOG_INFO, http_req_id(req), "auth: token refused",
		       LOG_FIELDS(LOG_STR("reason", e.msg), LOG_STR("peer", http_req_peer(req))));
		return challenge(req, "invalid_token", e.msg);
	}
verified:
	kept = http_req_alloc(req, sizeof(*kept));
	if (!kept) {
		http_res_problem(req, 500, "Internal Server Error", "out of memory");
		return -1;
	}
	*kept = p;
	http_req_set_principal(req, kept);
	if (auth_principal_can(kept, route->perm))
		return 0;
	log_kv(LOG_INFO, http_req_id(req), "auth: permission refused",
	       LOG_FIELDS(LOG_STR("user", kept->user_id), LOG_STR("role", auth_role_name(kept->role)),
			  LOG_INT("perm", route->perm)));
	/* The role would allow it but the token's scopes do not: say which scope to ask for. */
	if ((auth_role_perms(kept->role) & route->perm) == route->perm)
		http_res_header(req, "WWW-Authenticate", REALM ", error=\"insufficient_scope\"");
	http_res_problem(req, 403, "Forbidden", "your account may not do this");
	return -1;
}

/* ---- shared helpers ---- */

void api_auth_send_err(struct http_req *req, const struct err *e)
{
	if (e->code == ERR_INVALID)
		http_res_problem(req, 422, "Unprocessable Content", e->msg);
	else
		http_res_err(req, e);
}

static json_t *time_json(int64_t ms)
{
	char t[CLOCK_RFC3339_LEN];

	return clock_rfc3339(ms, t, sizeof(t)) < 0 ? json_null() : json_string(t);
}

json_t *api_user_json(const struct auth_user *u)
{
	return json_pack("{s:s, s:s, s:o, s:s, s:b, s:o, s:o}", "id", u->id, "username", u->username, "email",
			 u->email[0] ? json_string(u->email) : json_null(), "role", auth_role_name(u->role),
			 "disabled", u->disabled, "created_at", time_json(u->created_at), "updated_at",
			 time_json(u->updated_at));
}

/* A required string field as bytes (passwords may hold any character but NUL, which the
 * strict JSON parser already refused). 0, or -1 after answering 400. */
static int field_bytes(struct http_req *req, json_t *obj, const char *key, const char **s, size_t *len)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_string(v)) {
		http_res_problem(req, 400, "Bad Request", http_req_printf(req, "field \"%s\": expected a string", key));
		return -1;
	}
	*s = json_string_value(v);
	*len = json_string_length(v);
	return 0;
}

static void send_tokens(struct http_req *req, struct auth_tokens *t)
{
	json_t *body = json_pack("{s:s, s:s, s:s, s:I}", "access_token", t->access_token, "refresh_token",
				 t->refresh_token, "token_type", "Bearer", "expires_in", (json_int_t)t->expires_in);

	auth_tokens_release(t);
	http_res_header(req, "Cache-Control", "no-store");
	http_res_header(req, "Pragma", "no-cache");
	if (!body)
		http_res_problem(req, 500, "Internal Server Error", "out of memory");
	else
		http_res_json(req, 200, body);
}

static struct auth_client client_of(struct http_req *req)
{
	return (struct auth_client){ http_req_header(req, "user-agent"), http_req_peer(req) };
}

/* ---- open routes ---- */

void api_jwks(struct http_req *req, void *app)
{
	struct api *a = app;
	char *s = a->auth ? auth_jwks(a->auth) : NULL;

	if (!s) {
		http_res_problem(req, 503, "Service Unavailable", "no keys");
		return;
	}
	/* Short enough that a rotation reaches caches well within a token's lifetime. */
	http_res_header(req, "Cache-Control", "public, max-age=300");
	http_res_send(req, 200, "application/jwk-set+json", s, strlen(s));
	free(s);
}

void api_auth_login(struct http_req *req, void *app)
{
	struct api *a = app;
	json_t *j = api_body_object(req);
	const char *user, *pw;
	size_t ulen, pwlen;
	struct auth_tokens t;
	struct auth_client cl = client_of(req);
	struct err e = ERR_INIT;
	int64_t retry = 0;

	if (!j)
		return;
	if (field_bytes(req, j, "username", &user, &ulen) < 0 || field_bytes(req, j, "password", &pw, &pwlen) < 0)
		goto out;
	/* Throttled before the password is looked at (auth/throttle.h). */
	if (auth_login_throttled(a->auth, a->throttle, user, pw, pwlen, &cl, &t, &retry, &e) < 0) {
		if (retry > 0) {
			http_res_header(req, "Retry-After", http_req_printf(req, "%lld", (long long)retry));
			http_res_problem(req, 429, "Too Many Requests", e.msg);
		} else {
			http_res_err(req, &e);
		}
		goto out;
	}
	send_tokens(req, &t);
out:
	json_decref(j);
}

void api_auth_refresh(struct http_req *req, void *app)
{
	struct api *a = app;
	json_t *j = api_body_object(req);
	const char *rt;
	size_t len;
	struct auth_tokens t;
	struct auth_client cl = client_of(req);
	struct err e = ERR_INIT;

	if (!j)
		return;
	if (field_bytes(req, j, "refresh_token", &rt, &len) < 0)
		goto out;
	if (auth_refresh(a->auth, rt, &cl, &t, &e) < 0) {
		http_res_err(req, &e);
		goto out;
	}
	send_tokens(req, &t);
out:
	json_decref(j);
}

void api_auth_logout(struct http_req *req, void *app)
{
	struct api *a = app;
	json_t *j = api_body_object(req);
	const char *rt;
	size_t len;
	struct err e = ERR_INIT;

	if (!j)
		return;
	if (field_bytes(req, j, "refresh_token", &rt, &len) < 0)
		goto out;
	if (auth_logout(a->auth, rt, &e) < 0)
		http_res_err(req, &e);
	else
		http_res_send(req, 204, NULL, NULL, 0);
out:
	json_decref(j);
}

void api_auth_register(struct http_req *req, void *app)
{
	struct api *a = app;
	json_t *j = api_body_object(req);
	struct auth_user_input in = { 0 };
	struct auth_user u;
	struct err e = ERR_INIT;

	if (!j)
		return;
	if (tjson_get_str(j, "username", true, 1024, &in.username, &e) < 0 ||
	    tjson_get_str(j, "email", false, 1024, &in.email, &e) < 0 ||
	    tjson_get_str(j, "invitation", false, 256, &in.invitation, &e) < 0) {
		http_res_err(req, &e);
		goto out;
	}
	if (field_bytes(req, j, "password", &in.password, &in.password_len) < 0)
		goto out;
	/* CR or LF in an address is an attempt to add mail headers, not a typo: 400, not 422. */
	if (in.email && strpbrk(in.email, "\r\n")) {
		http_res_problem(req, 400, "Bad Request", "field \"email\": line breaks are not allowed");
		goto out;
	}
	if (auth_register(a->auth, &in, &u, &e) < 0) {
		api_auth_send_err(req, &e);
		goto out;
	}
	/* The address is unverified until the link mailed now comes back (api/mail.c). */
	api_mail_welcome(a, &u, http_req_id(req));
	http_res_header(req, "Location", http_req_printf(req, "/api/v1/me"));
	http_res_json(req, 201, api_user_json(&u));
out:
	json_decref(j);
}

/* ---- the caller's own account (perm ACCOUNT: the hook set a principal) ---- */

void api_me(struct http_req *req, void *app)
{
	struct api *a = app;
	const struct auth_principal *p = api_principal(req);
	struct auth_user u;
	struct err e = ERR_INIT;
	json_t *body, *perms;
	bool verified = false;

	if (auth_user_get(a->auth, p->user_id, &u, &e) < 0 || auth_email_verified(a->auth, p->user_id, &verified, &e) < 0) {
		/* The token outlived its account. */
		if (e.code == ERR_NOT_FOUND)
			challenge(req, "invalid_token", "the account no longer exists");
		else
			http_res_err(req, &e);
		return;
	}
	body = api_user_json(&u);
	perms = json_array();
	for (unsigned bit = 1; perms && bit <= AUTH_PERM_ALL; bit <<= 1)
		if ((p->perms & bit) && auth_perm_name(bit))
			json_array_append_new(perms, json_string(auth_perm_name(bit)));
	if (!body || !perms || json_object_set_new(body, "permissions", perms) < 0 ||
	    json_object_set_new(body, "session_id", p->session_id[0] ? json_string(p->session_id) : json_null()) < 0 ||
	    json_object_set_new(body, "email_verified", json_boolean(verified)) < 0) {
		json_decref(body);
		http_res_problem(req, 500, "Internal Server Error", "out of memory");
		return;
	}
	http_res_header(req, "Cache-Control", "no-store");
	http_res_json(req, 200, body);
}

void api_me_password(struct http_req *req, void *app)
{
	struct api *a = app;
	const struct auth_principal *p = api_principal(req);
	json_t *j = api_body_object(req);
	const char *old, *pw;
	size_t olen, len;
	struct err e = ERR_INIT;

	if (!j)
		return;
	if (field_bytes(req, j, "old_password", &old, &olen) < 0 || field_bytes(req, j, "new_password", &pw, &len) < 0)
		goto out;
	if (auth_password_change(a->auth, p->user_id, old, olen, pw, len, p->session_id[0] ? p->session_id : NULL,
				 &e) < 0) {
		/* A wrong old password is not a bad token: 403 keeps clients from signing out. */
		if (e.code == ERR_UNAUTHORIZED)
			http_res_problem(req, 403, "Forbidden", e.msg);
		else
			api_auth_send_err(req, &e);
		goto out;
	}
	http_res_send(req, 204, NULL, NULL, 0);
out:
	json_decref(j);
}

void api_me_sessions(struct http_req *req, void *app)
{
	struct api *a = app;
	const struct auth_principal *p = api_principal(req);
	struct auth_session *s = NULL;
	size_t n = 0;
	struct err e = ERR_INIT;
	json_t *items = json_array();

	if (!items || auth_sessions_list(a->auth, p->user_id, &s, &n, &e) < 0) {
		json_decref(items);
		if (!items)
			err_set(&e, ERR_NOMEM, "out of memory");
		http_res_err(req, &e);
		return;
	}
	for (size_t i = 0; i < n; i++)
		json_array_append_new(items, json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:b}", "id", s[i].id,
						       "user_agent", s[i].user_agent[0] ? json_string(s[i].user_agent) : json_null(),
						       "peer", s[i].peer[0] ? json_string(s[i].peer) : json_null(),
						       "created_at", time_json(s[i].created_at),
						       "last_used_at", time_json(s[i].last_used_at),
						       "expires_at", time_json(s[i].expires_at),
						       "current", strcmp(s[i].id, p->session_id) == 0));
	free(s);
	http_res_header(req, "Cache-Control", "no-store");
	http_res_json(req, 200, json_pack("{s:o}", "items", items));
}

void api_me_session_delete(struct http_req *req, void *app)
{
	struct api *a = app;
	const struct auth_principal *p = api_principal(req);
	struct err e = ERR_INIT;

	if (auth_session_revoke(a->auth, p->user_id, http_req_param(req, "id"), &e) < 0)
		http_res_err(req, &e);
	else
		http_res_send(req, 204, NULL, NULL, 0);
}
