/* apikeys.c (api) — the caller's API keys and the audit trail (see api/apikeys.h). */
#include "api/apikeys.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api/api.h"
#include "api/auth.h"
#include "auth/apikey.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/json.h"
#include "http/http.h"

static json_t *time_json(int64_t ms)
{
	char t[CLOCK_RFC3339_LEN];

	if (ms <= 0)
		return json_null();
	return clock_rfc3339(ms, t, sizeof(t)) < 0 ? json_null() : json_string(t);
}

static json_t *key_json(const struct auth_apikey *k)
{
	return json_pack("{s:s, s:s, s:s, s:o, s:o}", "id", k->id, "name", k->name, "scope", k->scope, "created_at",
			 time_json(k->created_at), "last_used_at", time_json(k->last_used_at));
}

void api_me_apikeys_create(struct http_req *req, void *app)
{
	struct api *a = app;
	const struct auth_principal *p = api_principal(req);
	struct err e = ERR_INIT;
	json_t *j = http_req_json(req, &e), *body;
	const char *name = NULL, *scope = NULL;
	struct auth_apikey k;
	char key[AUTH_APIKEY_LEN + 1];

	if (!j || !json_is_object(j)) {
		http_res_problem(req, 400, "Bad Request", j ? "the body must be a JSON object" : e.msg);
		goto out;
	}
	if (tjson_get_str(j, "name", true, AUTH_APIKEY_NAME_MAX, &name, &e) < 0 ||
	    tjson_get_str(j, "scope", false, AUTH_SCOPE_MAX, &scope, &e) < 0) {
		http_res_err(req, &e);
		goto out;
	}
	/* A key made with a key or an app's token must not outgrow it: its scope is at most the
	 * caller's own. */
	{
		unsigned want = AUTH_PERM_ALL;
		struct buf b = BUF_INIT;

		if (scope && auth_scope_parse(scope, &want, &e) < 0) {
			api_auth_send_err(req, &e);
			goto out;
		}
		if (!scope)
			want = p->scopes;
		if ((want & ~p->scopes) != 0) {
			http_res_problem(req, 403, "Forbidden", "a key cannot have a scope the credentials making it lack");
			goto out;
		}
		if (auth_scope_format(want, &b) < 0 || !(scope = http_req_strdup(req, buf_str(&b)))) {
			buf_release(&b);
			http_res_problem(req, 500, "Internal Server Error", "out of memory");
			goto out;
		}
		buf_release(&b);
	}
	if (auth_apikey_create(a->auth, p->user_id, name, scope, &k, key, &e) < 0) {
		api_auth_send_err(req, &e);
		goto out;
	}
	body = key_json(&k);
	if (body)
		json_object_set_new(body, "key", json_string(key));
	OPENSSL_cleanse(key, sizeof(key));
	http_res_header(req, "Cache-Control", "no-store");
	http_res_header(req, "Location", http_req_printf(req, "/api/v1/me/api-keys/%s", k.id));
	http_res_json(req, 201, body);
out:
	json_decref(j);
}

void api_me_apikeys_list(struct http_req *req, void *app)
{
	struct api *a = app;
	const struct auth_principal *p = api_principal(req);
	struct auth_apikey *k = NULL;
	size_t n = 0;
	struct err e = ERR_INIT;
	json_t *items;

	if (auth_apikey_list(a->auth, p->user_id, &k, &n, &e) < 0) {
		http_res_err(req, &e);
		return;
	}
	items = json_array();
	for (size_t i = 0; items && i < n; i++)
		json_array_append_new(items, key_json(&k[i]));
	free(k);
	http_res_header(req, "Cache-Control", "no-store");
	http_res_json(req, 200, json_pack("{s:o}", "items", items));
}

void api_me_apikey_delete(struct http_req *req, void *app)
{
	struct api *a = app;
	const struct auth_principal *p = api_principal(req);
	struct err e = ERR_INIT;

	if (auth_apikey_delete(a->auth, p->user_id, http_req_param(req, "id"), &e) < 0)
		http_res_err(req, &e);
	else
		http_res_send(req, 204, NULL, NULL, 0);
}

void api_admin_audit(struct http_req *req, void *app)
{
	struct api *a = app;
	struct auth_audit_event *ev = NULL;
	size_t n = 0;
	long long limit;
	const char *cursor = http_req_query(req, "cursor"), *user = http_req_query(req, "user");
	const char *event = http_req_query(req, "event");
	struct err e = ERR_INIT;
	json_t *items;

	if (http_req_query_int(req, "limit", 100, 1, 1000, &limit, &e) < 0 ||
	    auth_audit_list(a->auth, cursor && cursor[0] ? cursor : NULL, (int)limit, user && user[0] ? user : NULL,
			    event && event[0] ? event : NULL, &ev, &n, &e) < 0) {
		api_auth_send_err(req, &e);
		return;
	}
	items = json_array();
	for (size_t i = 0; items && i < n; i++)
		json_array_append_new(items, json_pack("{s:s, s:o, s:s, s:s?, s:s?, s:s?}", "id", ev[i].id, "at",
						       time_json(ev[i].at), "event", ev[i].event, "user",
						       ev[i].user_id[0] ? ev[i].user_id : NULL, "peer",
						       ev[i].peer[0] ? ev[i].peer : NULL, "detail",
						       ev[i].detail[0] ? ev[i].detail : NULL));
	http_res_header(req, "Cache-Control", "no-store");
	http_res_json(req, 200, json_pack("{s:o, s:s?}", "items", items, "next_cursor",
					  n == (size_t)limit && n ? ev[n - 1].id : NULL));
	free(ev);
}
