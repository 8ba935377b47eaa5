/* oauth.c (api) — the metadata, token, revocation and introspection endpoints, client
 * administration, and the form helpers the pages share (see api/oauth.h). */
#include "api/oauth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/auth.h"
#include "auth/oauth.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/json.h"
#include "http/http.h"

#define FORM_BODY_MAX 65536

/* ---- forms ---- */

int api_form_parse(struct http_req *req, struct api_form *f)
{
	const char *ct = http_req_header(req, "content-type"), *why = NULL;
	const void *body;
	size_t len = 0, count = 0;
	char *buf;

	f->n = 0;
	body = http_req_body(req, &len);
	if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0 || (ct[33] && ct[33] != ';' && ct[33] != ' ')) {
		http_res_problem(req, 415, "Unsupported Media Type", "send application/x-www-form-urlencoded");
		return -1;
	}
	if (len > FORM_BODY_MAX || http_query_check(body ? body : "", len, API_FORM_MAX, &count, &why) < 0) {
		http_res_problem(req, 400, "Bad Request", why ? why : "the form is too large");
		return -1;
	}
	if (!(buf = http_req_alloc(req, len + 2 * count + 1))) {
		http_res_problem(req, 500, "Internal Server Error", "out of memory");
		return -1;
	}
	f->n = http_query_parse(body ? body : "", len, buf, f->p, API_FORM_MAX);
	return 0;
}

const char *api_form_get(const struct api_form *f, const char *name, bool *dup)
{
	const char *v = NULL;

	for (size_t i = 0; i < f->n; i++) {
		if (strcmp(f->p[i].name, name) != 0)
			continue;
		if (v && dup)
			*dup = true;
		if (!v)
			v = f->p[i].value;
	}
	return v;
}

char *api_pct_append(struct http_req *req, const char *prefix, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t pl = strlen(prefix), n = strlen(s), o = pl;
	char *out = http_req_alloc(req, pl + 3 * n + 1);

	if (!out)
		return NULL;
	memcpy(out, prefix, pl);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}

/* ---- metadata ---- */

void api_oauth_set_issuer(struct api *a, const char *public_url, const char *listen, unsigned port)
{
	size_t n;

	if (public_url && public_url[0]) {
		snprintf(a->issuer, sizeof(a->issuer), "%s", public_url);
	} else {
		/* "host:port" or "[v6]:port": keep the host, take the port actually bound. */
		const char *colon = listen ? strrchr(listen, ':') : NULL;
		int hl = colon ? (int)(colon - listen) : 0;
		const char *host = listen;

		if (hl == 0 || (hl == 7 && strncmp(listen, "0.0.0.0", 7) == 0) || (hl == 4 && strncmp(listen, "[::]", 4) == 0)) {
			host = "127.0.0.1";
			hl = 9;
		}
		snprintf(a->issuer, sizeof(a->issuer), "http://%.*s:%u", hl, host, port);
	}
	n = strlen(a->issuer);
	while (n > 0 && a->issuer[n - 1] == '/')
		a->issuer[--n] = '\0';
}

void api_oauth_metadata(struct http_req *req, void *app)
{
	struct api *a = app;
	const char *iss = a->issuer;
	struct buf scopes = BUF_INIT;
	json_t *body, *sc;

	if (!iss[0]) {
		http_res_problem(req, 503, "Service Unavailable", "the issuer URL is not configured");
		return;
	}
	sc = json_array();
	if (sc && auth_scope_format(AUTH_PERM_ALL, &scopes) == 0) {
		char *list = http_req_strdup(req, buf_str(&scopes)), *save = NULL;

		for (char *t = list ? strtok_r(list, " ", &save) : NULL; t; t = strtok_r(NULL, " ", &save))
			json_array_append_new(sc, json_string(t));
	}
	buf_release(&scopes);
	body = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:[s], s:[s], s:[sss], s:[s], s:[sss], s:[ss], s:[s]}",
			 "issuer", iss,
			 "authorization_endpoint", http_req_printf(req, "%s/oauth/authorize", iss),
			 "token_endpoint", http_req_printf(req, "%s/oauth/token", iss),
			 "revocation_endpoint", http_req_printf(req, "%s/oauth/revoke", iss),
			 "introspection_endpoint", http_req_printf(req, "%s/oauth/introspect", iss),
			 "jwks_uri", http_req_printf(req, "%s/.well-known/jwks.json", iss),
			 "scopes_supported", sc,
			 "response_types_supported", "code",
			 "response_modes_supported", "query",
			 "grant_types_supported", "authorization_code", "refresh_token", "client_credentials",
			 "code_challenge_methods_supported", "S256",
			 "token_endpoint_auth_methods_supported", "client_secret_basic", "client_secret_post", "none",
			 "revocation_endpoint_auth_methods_supported", "client_secret_basic", "client_secret_post",
			 "introspection_endpoint_auth_methods_supported", "client_secret_basic");
	if (!body) {
		http_res_problem(req, 500, "Internal Server Error", "out of memory");
		return;
	}
	http_res_header(req, "Cache-Control", "public, max-age=300");
	http_res_json(req, 200, body);
}

/* ---- the token endpoint and friends ---- */

/* An RFC 6749 §5.2 error. */
static void oauth_fail(struct http_req *req, enum oauth_error oe, const char *detail)
{
	int status = oe == OAUTH_INVALID_CLIENT ? 401 : oe == OAUTH_SERVER_ERROR ? 500 : 400;
	json_t *body = json_pack("{s:s, s:s?}", "error", oauth_error_name(oe), "error_description", detail);

	if (oe == OAUTH_INVALID_CLIENT)
		http_res_header(req, "WWW-Authenticate", "Basic realm=\"tonearm\"");
	http_res_header(req, "Cache-Control", "no-store");
	http_res_header(req, "Pragma", "no-cache");
	if (!body)
		http_res_problem(req, 500, "Internal Server Error", "out of memory");
	else
		http_res_json(req, status, body);
}

/* Authenticate the client of a token-endpoint request (Basic, or client_id/client_secret in the
 * form, never both). 0, or -1 after answering. */
static int client_auth(struct http_req *req, struct api *a, const struct api_form *f, struct oauth_client *cl)
{
	const char *h = http_req_header(req, "authorization");
	const char *fid = api_form_get(f, "client_id", NULL), *fsecret = api_form_get(f, "client_secret", NULL);
	char id[ID_LEN + 8], secret[OAUTH_SECRET_LEN + 8];
	enum oauth_error oe;
	struct err e = ERR_INIT;
	int rc;

	if (h && strncasecmp(h, "Basic ", 6) == 0) {
		if (fsecret || oauth_basic_parse(h, id, sizeof(id), secret, sizeof(secret)) < 0 ||
		    (fid && strcmp(fid, id) != 0)) {
			oauth_fail(req, OAUTH_INVALID_CLIENT, "malformed client authentication");
			return -1;
		}
		rc = oauth_client_authenticate(a->auth, id, secret, cl, &oe, &e);
	} else if (fid) {
		rc = oauth_client_authenticate(a->auth, fid, fsecret, cl, &oe, &e);
	} else {
		oauth_fail(req, OAUTH_INVALID_CLIENT, "client authentication is missing");
		return -1;
	}
	if (rc < 0) {
		oauth_fail(req, oe, e.msg);
		return -1;
	}
	return 0;
}

static void send_grant(struct http_req *req, struct oauth_grant_result *g)
{
	json_t *body = json_pack("{s:s, s:s, s:I, s:s}", "access_token", g->tokens.access_token, "token_type", "Bearer",
				 "expires_in", (json_int_t)g->tokens.expires_in, "scope", g->scope);

	if (body && g->tokens.refresh_token[0])
		json_object_set_new(body, "refresh_token", json_string(g->tokens.refresh_token));
	auth_tokens_release(&g->tokens);
	http_res_header(req, "Cache-Control", "no-store");
	http_res_header(req, "Pragma", "no-cache");
	if (!body)
		http_res_problem(req, 500, "Internal Server Error", "out of memory");
	else
		http_res_json(req, 200, body);
}

void api_oauth_token(struct http_req *req, void *app)
{
	struct api *a = app;
	struct api_form f;
	struct oauth_client cl;
	struct oauth_grant_result g;
	struct auth_client who = { http_req_header(req, "user-agent"), http_req_peer(req) };
	enum oauth_error oe = OAUTH_OK;
	struct err e = ERR_INIT;
	const char *gt;
	bool dup = false;
	int rc;

	if (api_form_parse(req, &f) < 0)
		return;
	gt = api_form_get(&f, "grant_type", &dup);
	api_form_get(&f, "code", &dup);
	api_form_get(&f, "code_verifier", &dup);
	api_form_get(&f, "redirect_uri", &dup);
	api_form_get(&f, "refresh_token", &dup);
	api_form_get(&f, "scope", &dup);
	if (dup) {
		oauth_fail(req, OAUTH_INVALID_REQUEST, "a parameter is repeated");
		return;
	}
	if (!gt) {
		oauth_fail(req, OAUTH_INVALID_REQUEST, "grant_type is missing");
		return;
	}
	if (client_auth(req, a, &f, &cl) < 0)
		return;
	if (strcmp(gt, "authorization_code") == 0) {
		rc = oauth_grant_code(a->auth, &cl, api_form_get(&f, "code", NULL), api_form_get(&f, "redirect_uri", NULL),
				      api_form_get(&f, "code_verifier", NULL), &who, &g, &oe, &e);
	} else if (strcmp(gt, "refresh_token") == 0) {
		rc = oauth_grant_refresh(a->auth, &cl, api_form_get(&f, "refresh_token", NULL), &who, &g, &oe, &e);
	} else if (strcmp(gt, "client_credentials") == 0) {
		rc = oauth_grant_client_credentials(a->auth, &cl, api_form_get(&f, "scope", NULL), &g, &oe, &e);
	} else {
		oauth_fail(req, OAUTH_UNSUPPORTED_GRANT_TYPE, "grant_type must be authorization_code, refresh_token or client_credentials");
		return;
	}
	if (rc < 0) {
		oauth_fail(req, oe == OAUTH_OK ? OAUTH_SERVER_ERROR : oe, oe == OAUTH_SERVER_ERROR ? "try again later" : e.msg);
		return;
	}
	send_grant(req, &g);
}

void api_oauth_revoke(struct http_req *req, void *app)
{
	struct api *a = app;
	struct api_form f;
	struct oauth_client cl;
	struct err e = ERR_INIT;
	const char *tok;

	if (api_form_parse(req, &f) < 0 || client_auth(req, a, &f, &cl) < 0)
		return;
	if (!(tok = api_form_get(&f, "token", NULL))) {
		oauth_fail(req, OAUTH_INVALID_REQUEST, "token is missing");
		return;
	}
	if (oauth_revoke(a->auth, &cl, tok, &e) < 0) {
		oauth_fail(req, OAUTH_SERVER_ERROR, "try again later");
		return;
	}
	http_res_header(req, "Cache-Control", "no-store");
	http_res_send(req, 200, NULL, NULL, 0);
}

void api_oauth_introspect(struct http_req *req, void *app)
{
	struct api *a = app;
	struct api_form f;
	struct oauth_client cl;
	struct oauth_introspection info;
	struct err e = ERR_INIT;
	const char *tok;
	json_t *body;

	if (api_form_parse(req, &f) < 0 || client_auth(req, a, &f, &cl) < 0)
		return;
	/* Resource servers ask here; a public app has no business reading other tokens. */
	if (cl.type != OAUTH_CLIENT_CONFIDENTIAL) {
		oauth_fail(req, OAUTH_UNAUTHORIZED_CLIENT, "introspection is for confidential clients");
		return;
	}
	if (!(tok = api_form_get(&f, "token", NULL))) {
		oauth_fail(req, OAUTH_INVALID_REQUEST, "token is missing");
		return;
	}
	if (oauth_introspect(a->auth, tok, &info, &e) < 0) {
		oauth_fail(req, OAUTH_SERVER_ERROR, "try again later");
		return;
	}
	if (!info.active)
		body = json_pack("{s:b}", "active", 0);
	else
		body = json_pack("{s:b, s:s, s:s, s:s?, s:s, s:I, s:I}", "active", 1, "token_type",
				 info.refresh ? "refresh_token" : "Bearer", "sub", info.sub, "client_id",
				 info.client_id[0] ? info.client_id : NULL, "scope", info.scope, "exp", (json_int_t)info.exp,
				 "iat", (json_int_t)info.iat);
	http_res_header(req, "Cache-Control", "no-store");
	http_res_json(req, 200, body);
}

/* ---- client administration (admin) ---- */

static json_t *time_json(int64_t ms)
{
	char t[CLOCK_RFC3339_LEN];

	return clock_rfc3339(ms, t, sizeof(t)) < 0 ? json_null() : json_string(t);
}

static json_t *client_json(const struct oauth_client *c)
{
	struct buf g = BUF_INIT;
	json_t *uris = json_array(), *grants = json_array(), *j;

	for (size_t i = 0; uris && i < c->nredirect; i++)
		json_array_append_new(uris, json_string(c->redirect[i]));
	if (grants && oauth_grants_format(c->grants, &g) == 0) {
		char *list = buf_detach(&g, NULL), *save = NULL;

		for (char *t = list ? strtok_r(list, " ", &save) : NULL; t; t = strtok_r(NULL, " ", &save))
			json_array_append_new(grants, json_string(t));
		free(list);
	}
	buf_release(&g);
	j = json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:s?, s:o}", "client_id", c->id, "name", c->name, "type",
		      c->type == OAUTH_CLIENT_CONFIDENTIAL ? "confidential" : "public", "redirect_uris", uris ? uris : json_null(),
		      "grant_types", grants ? grants : json_null(), "scope", c->scope, "created_by",
		      c->created_by[0] ? c->created_by : NULL, "created_at", time_json(c->created_at));
	return j;
}

void api_oauth_clients_create(struct http_req *req, void *app)
{
	struct api *a = app;
	const struct auth_principal *p = api_principal(req);
	struct err e = ERR_INIT;
	json_t *j = http_req_json(req, &e), *v, *body;
	struct oauth_client_input in = { 0 };
	struct oauth_client cl;
	const char *type = NULL, *uris[OAUTH_REDIRECT_MAX];
	char secret[OAUTH_SECRET_LEN + 1];
	size_t i;

	if (!j || !json_is_object(j)) {
		if (j)
			err_set(&e, ERR_INVALID, "the body must be a JSON object");
		http_res_problem(req, 400, "Bad Request", e.msg);
		goto out;
	}
	if (tjson_get_str(j, "name", true, OAUTH_NAME_MAX, &in.name, &e) < 0 ||
	    tjson_get_str(j, "type", true, 32, &type, &e) < 0 || tjson_get_str(j, "scope", false, AUTH_SCOPE_MAX, &in.scope, &e) < 0) {
		http_res_err(req, &e);
		goto out;
	}
	if (strcmp(type, "public") == 0) {
		in.type = OAUTH_CLIENT_PUBLIC;
	} else if (strcmp(type, "confidential") == 0) {
		in.type = OAUTH_CLIENT_CONFIDENTIAL;
	} else {
		http_res_problem(req, 422, "Unprocessable Content", "type must be public or confidential");
		goto out;
	}
	v = json_object_get(j, "redirect_uris");
	if (v && (!json_is_array(v) || json_array_size(v) > OAUTH_REDIRECT_MAX)) {
		http_res_problem(req, 422, "Unprocessable Content", "redirect_uris: an array of at most 16 URIs");
		goto out;
	}
	for (i = 0; v && i < json_array_size(v); i++) {
		if (!(uris[i] = json_string_value(json_array_get(v, i)))) {
			http_res_problem(req, 422, "Unprocessable Content", "redirect_uris: each must be a string");
			goto out;
		}
	}
	in.redirect = uris;
	in.nredirect = v ? json_array_size(v) : 0;
	v = json_object_get(j, "grant_types");
	if (v && !json_is_array(v)) {
		http_res_problem(req, 422, "Unprocessable Content", "grant_types: an array of names");
		goto out;
	}
	for (i = 0; v && i < json_array_size(v); i++) {
		unsigned bit;

		if (oauth_grant_parse(json_string_value(json_array_get(v, i)), &bit, &e) < 0) {
			api_auth_send_err(req, &e);
			goto out;
		}
		in.grants |= bit;
	}
	in.created_by = p ? p->user_id : NULL;
	if (oauth_client_create(a->auth, &in, &cl, secret, &e) < 0) {
		api_auth_send_err(req, &e);
		goto out;
	}
	body = client_json(&cl);
	if (body && secret[0])
		json_object_set_new(body, "client_secret", json_string(secret));
	memset(secret, 0, sizeof(secret));
	http_res_header(req, "Cache-Control", "no-store");
	http_res_header(req, "Location", http_req_printf(req, "/api/v1/admin/oauth/clients/%s", cl.id));
	http_res_json(req, 201, body);
out:
	json_decref(j);
}

void api_oauth_clients_list(struct http_req *req, void *app)
{
	struct api *a = app;
	struct oauth_client *cl = NULL;
	size_t n = 0;
	struct err e = ERR_INIT;
	json_t *items;

	if (oauth_client_list(a->auth, &cl, &n, &e) < 0) {
		http_res_err(req, &e);
		return;
	}
	items = json_array();
	for (size_t i = 0; items && i < n; i++)
		json_array_append_new(items, client_json(&cl[i]));
	free(cl);
	http_res_header(req, "Cache-Control", "no-store");
	http_res_json(req, 200, json_pack("{s:o}", "items", items));
}

void api_oauth_client_get(struct http_req *req, void *app)
{
	struct api *a = app;
	struct oauth_client cl;
	struct err e = ERR_INIT;

	if (oauth_client_get(a->auth, http_req_param(req, "id"), &cl, &e) < 0) {
		http_res_err(req, &e);
		return;
	}
	http_res_header(req, "Cache-Control", "no-store");
	http_res_json(req, 200, client_json(&cl));
}

void api_oauth_client_delete(struct http_req *req, void *app)
{
	struct api *a = app;
	struct err e = ERR_INIT;

	if (oauth_client_delete(a->auth, http_req_param(req, "id"), &e) < 0)
		http_res_err(req, &e);
	else
		http_res_send(req, 204, NULL, NULL, 0);
}
