/* auth_admin.c (api) — account and invitation management for admins (perm ADMIN). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/body.h"
#include "api/api.h"
#include "api/auth.h"
#include "auth/auth.h"
#include "base/clock.h"
#include "base/json.h"
#include "http/http.h"

/* An optional "role" field: 1 (set), 0 (absent), -1 (answered 400/422). */
static int role_field(struct http_req *req, json_t *j, enum auth_role *role)
{
	const char *s = NULL;
	struct err e = ERR_INIT;
	int rc = tjson_get_str(j, "role", false, 32, &s, &e);

	if (rc < 0) {
		http_res_err(req, &e);
		return -1;
	}
	if (rc == 0 || !s)
		return 0;
	if (auth_role_parse(s, role, &e) < 0) {
		api_auth_send_err(req, &e);
		return -1;
	}
	return 1;
}

void api_admin_users_list(struct http_req *req, void *app)
{
	struct api *a = app;
	struct auth_user *u = NULL;
	size_t n = 0;
	long long limit;
	const char *after = http_req_query(req, "after");
	struct err e = ERR_INIT;
	json_t *items;

	if (http_req_query_int(req, "limit", 100, 1, 1000, &limit, &e) < 0 ||
	    auth_user_list(a->auth, after, (int)limit, &u, &n, &e) < 0) {
		http_res_err(req, &e);
		return;
	}
	items = json_array();
	for (size_t i = 0; items && i < n; i++)
		json_array_append_new(items, api_user_json(&u[i]));
	http_res_header(req, "Cache-Control", "no-store");
	http_res_json(req, 200, json_pack("{s:o, s:s?}", "items", items, "next_cursor",
					  n == (size_t)limit && n ? u[n - 1].id : NULL));
	free(u);
}

void api_admin_users_create(struct http_req *req, void *app)
{
	struct api *a = app;
	json_t *j = api_body_object(req), *body;
	struct auth_user_input in = { .role = AUTH_ROLE_FREE };
	struct auth_user u;
	struct err e = ERR_INIT;
	char generated[40] = "";

	if (!j)
		return;
	if (tjson_get_str(j, "username", true, 1024, &in.username, &e) < 0 ||
	    tjson_get_str(j, "email", false, 1024, &in.email, &e) < 0 ||
	    tjson_get_str(j, "password", false, 4096, &in.password, &e) < 0) {
		http_res_err(req, &e);
		goto out;
	}
	if (role_field(req, j, &in.role) < 0)
		goto out;
	if (!in.password) {
		if (auth_password_generate(generated, sizeof(generated)) < 0) {
			http_res_problem(req, 500, "Internal Server Error", "random source failed");
			goto out;
		}
		in.password = generated;
	}
	in.password_len = strlen(in.password);
	if (auth_user_create(a->auth, &in, &u, &e) < 0) {
		api_auth_send_err(req, &e);
		goto out;
	}
	body = api_user_json(&u);
	/* A generated password is shown once, here, and never stored in the clear. */
	if (body && generated[0])
		json_object_set_new(body, "password", json_string(generated));
	http_res_header(req, "Cache-Control", "no-store");
	http_res_header(req, "Location", http_req_printf(req, "/api/v1/admin/users/%s", u.id));
	http_res_json(req, 201, body);
out:
	json_decref(j);
}

void api_admin_user_patch(struct http_req *req, void *app)
{
	struct api *a = app;
	const struct auth_principal *p = api_principal(req);
	const char *id = http_req_param(req, "id");
	json_t *j = api_body_object(req);
	enum auth_role role;
	bool disabled;
	int has_role, has_disabled;
	struct auth_user u;
	struct err e = ERR_INIT;

	if (!j)
		return;
	if ((has_role = role_field(req, j, &role)) < 0)
		goto out;
	if ((has_disabled = tjson_get_bool(j, "disabled", false, &disabled, &e)) < 0) {
		http_res_err(req, &e);
		goto out;
	}
	/* An admin cannot lock themselves out (and so leave the service without one by mistake). */
	if (p && strcmp(p->user_id, id) == 0 && ((has_role && role != AUTH_ROLE_ADMIN) || (has_disabled && disabled))) {
		http_res_problem(req, 409, "Conflict", "you cannot demote or disable your own account");
		goto out;
	}
	if (auth_user_update(a->auth, id, has_role ? &role : NULL, has_disabled ? &disabled : NULL, &u, &e) < 0) {
		api_auth_send_err(req, &e);
		goto out;
	}
	http_res_json(req, 200, api_user_json(&u));
out:
	json_decref(j);
}

void api_admin_user_delete(struct http_req *req, void *app)
{
	struct api *a = app;
	const struct auth_principal *p = api_principal(req);
	const char *id = http_req_param(req, "id");
	struct err e = ERR_INIT;

	if (p && strcmp(p->user_id, id) == 0) {
		http_res_problem(req, 409, "Conflict", "you cannot delete your own account");
		return;
	}
	if (auth_user_delete(a->auth, id, &e) < 0)
		http_res_err(req, &e);
	else
		http_res_send(req, 204, NULL, NULL, 0);
}

void api_admin_invitations_create(struct http_req *req, void *app)
{
	struct api *a = app;
	const struct auth_principal *p = api_principal(req);
	json_t *j = api_body_object(req);
	enum auth_role role = AUTH_ROLE_FREE;
	long long hours = 168;
	struct auth_invitation inv;
	struct err e = ERR_INIT;
	char t[CLOCK_RFC3339_LEN];

	if (!j)
		return;
	if (role_field(req, j, &role) < 0)
		goto out;
	if (tjson_get_int(j, "ttl_hours", false, 1, 24 * 365, &hours, &e) < 0) {
		http_res_err(req, &e);
		goto out;
	}
	if (auth_invitation_create(a->auth, p ? p->user_id : NULL, role, hours * 3600 * 1000, &inv, &e) < 0) {
		api_auth_send_err(req, &e);
		goto out;
	}
	clock_rfc3339(inv.expires_at, t, sizeof(t));
	http_res_header(req, "Cache-Control", "no-store");
	http_res_json(req, 201, json_pack("{s:s, s:s, s:s, s:s}", "id", inv.id, "code", inv.code, "role",
					  auth_role_name(inv.role), "expires_at", t));
out:
	json_decref(j);
}
