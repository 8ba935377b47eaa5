/* auth.h (api) — the identity routes and the authentication hook.
 *
 * The hook (api_auth_hook, put in http_server_options.hooks by `tonearm serve`) runs before
 * every handler: it reads `Authorization: Bearer <access token>`, verifies it in memory
 * (no database: safe on the event loop), and stores a struct auth_principal with
 * http_req_set_principal(). For a route whose perm is not 0 it answers 401 with
 * `WWW-Authenticate: Bearer …` when there is no valid token, and 403 when the principal
 * lacks the permission. Routes with perm 0 stay open; a bad token there is ignored. On a
 * blocking route it also lets the keyring notice rotated keys (auth_keys_refresh).
 *
 * API keys (auth/apikey.h) are taken in place of an access token, as `Authorization: Bearer
 * ta_…` or `X-API-Key: ta_…`. Checking one reads the database, so only blocking routes accept
 * them; a quick route that needs a permission answers 401 "use an access token" (there is no
 * in-memory cache of verified keys, so a revoked key stops at once).
 *
 * Handlers: sign-in, refresh, sign-out, registration, the JWKS, the caller's own account and
 * sessions, and the admin's account and invitation management. Passwords are hashed only in
 * BLOCKING routes. Token answers carry Cache-Control: no-store.
 */
#ifndef TONEARM_API_AUTH_H
#define TONEARM_API_AUTH_H

#include <jansson.h>

struct http_req;
struct http_route;
struct auth_principal;

int api_auth_hook(struct http_req *req, const struct http_route *route, void *app);

/* The principal the hook found, or NULL for an anonymous request. Lives with the request. */
const struct auth_principal *api_principal(const struct http_req *req);

void api_jwks(struct http_req *req, void *app);
void api_auth_login(struct http_req *req, void *app);
void api_auth_refresh(struct http_req *req, void *app);
void api_auth_logout(struct http_req *req, void *app);
void api_auth_register(struct http_req *req, void *app);
void api_me(struct http_req *req, void *app);
void api_me_password(struct http_req *req, void *app);
void api_me_sessions(struct http_req *req, void *app);
void api_me_session_delete(struct http_req *req, void *app);

/* api/auth_admin.c */
void api_admin_users_list(struct http_req *req, void *app);
void api_admin_users_create(struct http_req *req, void *app);
void api_admin_user_patch(struct http_req *req, void *app);
void api_admin_user_delete(struct http_req *req, void *app);
void api_admin_invitations_create(struct http_req *req, void *app);

/* Shared by the two files: an error as problem+json, with ERR_INVALID (a field breaking a
 * rule) as 422; and an account as JSON (new reference, NULL when out of memory). */
struct err;
struct auth_user;
void api_auth_send_err(struct http_req *req, const struct err *e);
json_t *api_user_json(const struct auth_user *u);

#endif
