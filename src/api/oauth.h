/* oauth.h (api) — the OAuth 2.0 authorization server's HTTP face (the rules are auth/oauth.h).
 *
 *   GET  /.well-known/oauth-authorization-server   RFC 8414 metadata (quick)
 *   GET  /oauth/authorize    checks the request; an unknown client or redirect URI is an HTML
 *                            error page (never a redirect); other errors go back to the
 *                            redirect URI; else the sign-in page (api/oauth_page.c)
 *   POST /oauth/authorize    the sign-in form, then the consent form; ends in a 302 to the
 *                            redirect URI with code + state, or error=access_denied
 *   POST /oauth/token        authorization_code (PKCE), refresh_token, client_credentials;
 *                            errors per RFC 6749 §5.2; Cache-Control: no-store
 *   POST /oauth/revoke       RFC 7009
 *   POST /oauth/introspect   RFC 7662, confidential clients only
 *   /api/v1/admin/oauth/clients[/{id}]   register, list, show, delete clients (admin)
 *
 * Client authentication: client_secret_basic or client_secret_post for confidential clients,
 * none (client_id in the form) for public ones. The issuer in the metadata is api->issuer: the
 * configured public_url, else http://<listen address>:<port> (see api_oauth_set_issuer).
 *
 * The pages carry a CSRF token bound to the authorization request (a hidden field that must
 * match both the request's stored hash and the ta_oauth cookie set with the sign-in page), and
 * Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; form-action 'self';
 * frame-ancestors 'none'.
 */
#ifndef TONEARM_API_OAUTH_H
#define TONEARM_API_OAUTH_H

#include <stddef.h>

#include "http/uri.h"

struct http_req;
struct api;

/* Set a->issuer: `public_url` when not empty, else http://<host of listen>:<port>, where a
 * wildcard host (0.0.0.0, [::]) becomes 127.0.0.1 — set public_url when clients come from
 * elsewhere. A trailing '/' is dropped. */
void api_oauth_set_issuer(struct api *a, const char *public_url, const char *listen, unsigned port);

void api_oauth_metadata(struct http_req *req, void *app);
void api_oauth_authorize_get(struct http_req *req, void *app);
void api_oauth_authorize_post(struct http_req *req, void *app);
void api_oauth_token(struct http_req *req, void *app);
void api_oauth_revoke(struct http_req *req, void *app);
void api_oauth_introspect(struct http_req *req, void *app);
void api_oauth_clients_list(struct http_req *req, void *app);
void api_oauth_clients_create(struct http_req *req, void *app);
void api_oauth_client_get(struct http_req *req, void *app);
void api_oauth_client_delete(struct http_req *req, void *app);

/* ---- shared by api/oauth.c and api/oauth_page.c ---- */

#define API_FORM_MAX 64

/* An application/x-www-form-urlencoded body, decoded. */
struct api_form {
	struct http_qparam p[API_FORM_MAX];
	size_t n;
};

/* Parse the request body as a form. Answers 400 itself and returns -1 when the content type
 * is not application/x-www-form-urlencoded or the body is malformed. Strings live in the
 * request pool. */
int api_form_parse(struct http_req *req, struct api_form *f);

/* A form field; NULL when absent. *dup (may be NULL) is set when it appears more than once
 * (RFC 6749 §3.1 refuses repeated parameters). */
const char *api_form_get(const struct api_form *f, const char *name, bool *dup);

/* Append `s` percent-encoded (every byte but RFC 3986 unreserved ones) to a request-pool
 * string; returns the new string or NULL on out of memory. */
char *api_pct_append(struct http_req *req, const char *prefix, const char *s);

#endif
