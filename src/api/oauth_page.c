/* oauth_page.c (api) — GET and POST /oauth/authorize: the server-rendered sign-in and consent
 * pages (see api/oauth.h). Minimal HTML, every interpolated value escaped, no script. */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/oauth.h"
#include "auth/oauth.h"
#include "auth/throttle.h"
#include "base/clock.h"
#include "base/buf.h"
#include "http/http.h"

#define CSP "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
#define COOKIE "ta_oauth"
#define PAGE_MAX (64 * 1024)

static const char *const scope_text[][2] = {
	{ "account", "see and change your account" },
	{ "library:read", "browse the music library" },
	{ "library:write", "add and correct music in the library" },
	{ "playlists", "manage your playlists" },
	{ "stream", "play music" },
	{ "download", "download music" },
	{ "analytics:read", "read play counts and reports" },
	{ "admin", "administer this server (accounts, keys)" },
};

static int esc(struct buf *b, const char *s)
{
	for (; s && *s; s++) {
		int rc;

		switch (*s) {
		case '&': rc = buf_adds(b, "&amp;"); break;
		case '<': rc = buf_adds(b, "&lt;"); break;
		case '>': rc = buf_adds(b, "&gt;"); break;
		case '"': rc = buf_adds(b, "&quot;"); break;
		case '\'': rc = buf_adds(b, "&#39;"); break;
		default: rc = buf_addch(b, *s); break;
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int head(struct buf *b, const char *title)
{
	return buf_adds(b, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
			   "<meta name=\"viewport\" content=\"width=device-width\"><title>") < 0 ||
			       esc(b, title) < 0 ||
			       buf_adds(b, "</title><style>body{font:16px system-ui,sans-serif;max-width:28em;margin:3em auto;"
					   "padding:0 1em}label,input,button{display:block;margin:.4em 0}input{width:100%}"
					   ".err{color:#a00}</style></head><body>") < 0
		       ? -1
		       : 0;
}

static void send_page(struct http_req *req, int status, struct buf *b, int rc)
{
	if (rc < 0 || buf_adds(b, "</body></html>\n") < 0) {
		buf_release(b);
		http_res_problem(req, 500, "Internal Server Error", "out of memory");
		return;
	}
	http_res_header(req, "Content-Security-Policy", CSP);
	http_res_header(req, "X-Frame-Options", "DENY");
	http_res_header(req, "Referrer-Policy", "no-referrer");
	http_res_header(req, "Cache-Control", "no-store");
	http_res_send(req, status, "text/html; charset=utf-8", buf_str(b), b->len);
	buf_release(b);
}

/* An error that must not go to the redirect URI (it is unknown or not the client's). */
static void error_page(struct http_req *req, int status, const char *why)
{
	struct buf b;
	int rc;

	buf_init(&b, PAGE_MAX);
	rc = head(&b, "Sign-in error") < 0 || buf_adds(&b, "<h1>This sign-in link is not valid</h1><p class=\"err\">") < 0 ||
	     esc(&b, why) < 0 || buf_adds(&b, "</p><p>Go back to the app and try again.</p>") < 0 ? -1 : 0;
	send_page(req, status, &b, rc);
}

static int hidden(struct buf *b, const char *name, const char *value)
{
	return buf_adds(b, "<input type=\"hidden\" name=\"") < 0 || esc(b, name) < 0 || buf_adds(b, "\" value=\"") < 0 ||
			       esc(b, value) < 0 || buf_adds(b, "\">") < 0
		       ? -1
		       : 0;
}

static void signin_page(struct http_req *req, const struct oauth_request *r, const char *csrf, const char *error)
{
	struct buf b;
	int rc;

	buf_init(&b, PAGE_MAX);
	rc = head(&b, "Sign in") < 0 || buf_adds(&b, "<h1>Sign in</h1><p><b>") < 0 || esc(&b, r->client_name) < 0 ||
	     buf_adds(&b, "</b> wants to use your tonearm account.</p>") < 0 ? -1 : 0;
	if (rc == 0 && error)
		rc = buf_adds(&b, "<p class=\"err\">") < 0 || esc(&b, error) < 0 || buf_adds(&b, "</p>") < 0 ? -1 : 0;
	if (rc == 0)
		rc = buf_adds(&b, "<form method=\"post\" action=\"/oauth/authorize\">") < 0 || hidden(&b, "request", r->id) < 0 ||
		     hidden(&b, "csrf", csrf) < 0 || hidden(&b, "action", "signin") < 0 ||
		     buf_adds(&b, "<label for=\"u\">User name</label><input id=\"u\" name=\"username\" autocomplete=\"username\" required>"
				  "<label for=\"p\">Password</label><input id=\"p\" name=\"password\" type=\"password\" "
				  "autocomplete=\"current-password\" required><button type=\"submit\">Sign in</button></form>") < 0
		     ? -1 : 0;
	send_page(req, error ? 401 : 200, &b, rc);
}

static void consent_page(struct http_req *req, const struct oauth_request *r, const char *csrf)
{
	struct buf b;
	int rc;

	buf_init(&b, PAGE_MAX);
	rc = head(&b, "Allow access?") < 0 || buf_adds(&b, "<h1>Allow access?</h1><p><b>") < 0 ||
	     esc(&b, r->client_name) < 0 || buf_adds(&b, "</b> asks to:</p><ul>") < 0 ? -1 : 0;
	for (size_t i = 0; rc == 0 && i < sizeof(scope_text) / sizeof(scope_text[0]); i++) {
		const char *p = strstr(r->scope, scope_text[i][0]);
		size_t n = strlen(scope_text[i][0]);

		if (p && (p == r->scope || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			rc = buf_adds(&b, "<li>") < 0 || esc(&b, scope_text[i][1]) < 0 || buf_adds(&b, " (") < 0 ||
			     esc(&b, scope_text[i][0]) < 0 || buf_adds(&b, ")</li>") < 0 ? -1 : 0;
	}
	if (rc == 0)
		rc = buf_adds(&b, "</ul><p>It will be sent back to ") < 0 || esc(&b, r->redirect_uri) < 0 ||
		     buf_adds(&b, "</p><form method=\"post\" action=\"/oauth/authorize\">") < 0 || hidden(&b, "request", r->id) < 0 ||
		     hidden(&b, "csrf", csrf) < 0 ||
		     buf_adds(&b, "<button type=\"submit\" name=\"action\" value=\"approve\">Allow</button>"
				  "<button type=\"submit\" name=\"action\" value=\"deny\">Deny</button></form>") < 0
		     ? -1 : 0;
	send_page(req, 200, &b, rc);
}

/* 302 to the client's redirect URI with the given query parameters (value NULL: left out). */
static void redirect_back(struct http_req *req, const char *uri, const char *const *kv, size_t n)
{
	char *loc = http_req_strdup(req, uri);
	bool has_query = strchr(uri, '?') != NULL;

	for (size_t i = 0; loc && i + 1 < n; i += 2) {
		if (!kv[i + 1])
			continue;
		loc = http_req_printf(req, "%s%c%s=", loc, has_query ? '&' : '?', kv[i]);
		has_query = true;
		loc = loc ? api_pct_append(req, loc, kv[i + 1]) : NULL;
	}
	if (!loc) {
		http_res_problem(req, 500, "Internal Server Error", "out of memory");
		return;
	}
	http_res_header(req, "Location", loc);
	http_res_header(req, "Cache-Control", "no-store");
	http_res_header(req, "Referrer-Policy", "no-referrer");
	http_res_send(req, 302, NULL, NULL, 0);
}

void api_oauth_authorize_get(struct http_req *req, void *app)
{
	struct api *a = app;
	struct oauth_authz_params p = {
		http_req_query(req, "response_type"), http_req_query(req, "client_id"), http_req_query(req, "redirect_uri"),
		http_req_query(req, "state"), http_req_query(req, "scope"), http_req_query(req, "code_challenge"),
		http_req_query(req, "code_challenge_method"),
	};
	struct oauth_client cl;
	struct oauth_request r;
	char scope[AUTH_SCOPE_MAX + 1], csrf[OAUTH_SECRET_LEN + 1];
	enum oauth_error oe;
	const char *why;
	struct err e = ERR_INIT;

	switch (oauth_authorize_check(a->auth, &p, &cl, scope, &oe, &why)) {
	case OAUTH_AUTHZ_SHOW_ERROR:
		error_page(req, oe == OAUTH_SERVER_ERROR ? 500 : 400, why);
		return;
	case OAUTH_AUTHZ_REDIRECT: {
		const char *kv[] = { "error", oauth_error_name(oe), "error_description", why, "state", p.state };

		redirect_back(req, p.redirect_uri, kv, 6);
		return;
	}
	case OAUTH_AUTHZ_OK:
		break;
	}
	if (oauth_request_start(a->auth, &p, &cl, scope, &r, csrf, &e) < 0) {
		error_page(req, 500, "the server could not start the sign-in; try again later");
		return;
	}
	/* The cookie makes the CSRF token double-submitted: a form posted from elsewhere lacks it. */
	http_res_header(req, "Set-Cookie",
			http_req_printf(req, COOKIE "=%s; Path=/oauth; HttpOnly; SameSite=Strict; Max-Age=%d", csrf,
					OAUTH_REQUEST_TTL_MS / 1000));
	signin_page(req, &r, csrf, NULL);
}

/* The ta_oauth cookie's value, or NULL. */
static const char *cookie_csrf(struct http_req *req)
{
	const char *h = http_req_header(req, "cookie"), *p;
	size_t n = strlen(COOKIE);

	for (p = h; p && *p;) {
		while (*p == ' ' || *p == ';' || *p == ',')
			p++;
		if (strncmp(p, COOKIE "=", n + 1) == 0) {
			const char *v = p + n + 1;
			size_t len = strcspn(v, ";, ");
			char *out = http_req_alloc(req, len + 1);

			if (!out)
				return NULL;
			memcpy(out, v, len);
			out[len] = '\0';
			return out;
		}
		p += strcspn(p, ";,");
	}
	return NULL;
}

/* Both strings equal, in time that depends only on their lengths. */
static bool same(const char *x, const char *y)
{
	size_t n = strlen(x);
	unsigned char d = 0;

	if (n != strlen(y))
		return false;
	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)(x[i] ^ y[i]);
	return d == 0;
}

void api_oauth_authorize_post(struct http_req *req, void *app)
{
	struct api *a = app;
	struct api_form f;
	struct oauth_request r;
	const char *csrf, *action, *cookie = cookie_csrf(req);
	char code[OAUTH_SECRET_LEN + 1];
	struct err e = ERR_INIT;

	if (api_form_parse(req, &f) < 0)
		return;
	csrf = api_form_get(&f, "csrf", NULL);
	action = api_form_get(&f, "action", NULL);
	if (!csrf || !cookie || !same(csrf, cookie) ||
	    oauth_request_load(a->auth, api_form_get(&f, "request", NULL), csrf, &r, &e) < 0) {
		error_page(req, 403, e.code != ERR_NONE && e.code != ERR_FORBIDDEN
				     ? "the server could not check this form; try again later"
				     : "this sign-in form is not valid any more: start again from the app");
		return;
	}
	if (action && strcmp(action, "signin") == 0) {
		const char *user = api_form_get(&f, "username", NULL), *pw = api_form_get(&f, "password", NULL);
		const char *peer = http_req_peer(req);
		int64_t wait;

		user = user ? user : "";
		/* The same throttle as the sign-in API, so this page is no way around it. */
		if (a->throttle && (wait = auth_throttle_wait(a->throttle, user, peer, clock_now_ms())) > 0) {
			http_res_header(req, "Retry-After", http_req_printf(req, "%lld", (long long)((wait + 999) / 1000)));
			signin_page(req, &r, csrf, "Too many failed sign-ins: wait a little and try again.");
			return;
		}
		if (oauth_request_signin(a->auth, &r, user, pw ? pw : "", pw ? strlen(pw) : 0, peer, &e) < 0) {
			if (e.code == ERR_UNAUTHORIZED) {
				if (a->throttle)
					auth_throttle_fail(a->throttle, user, peer, clock_now_ms());
				signin_page(req, &r, csrf, "Invalid user name or password.");
			} else {
				error_page(req, 500, "the server could not sign you in; try again later");
			}
			return;
		}
		if (a->throttle)
			auth_throttle_ok(a->throttle, user, peer, clock_now_ms());
		consent_page(req, &r, csrf);
		return;
	}
	if (!action || (strcmp(action, "approve") != 0 && strcmp(action, "deny") != 0)) {
		error_page(req, 400, "unknown action");
		return;
	}
	if (!r.user_id[0]) {
		signin_page(req, &r, csrf, "Sign in first.");
		return;
	}
	if (oauth_request_finish(a->auth, &r, strcmp(action, "approve") == 0, http_req_peer(req), code, &e) < 0) {
		error_page(req, e.code == ERR_FORBIDDEN ? 403 : 500, e.msg);
		return;
	}
	if (code[0]) {
		const char *kv[] = { "code", code, "state", r.has_state ? r.state : NULL };

		redirect_back(req, r.redirect_uri, kv, 4);
	} else {
		const char *kv[] = { "error", "access_denied", "state", r.has_state ? r.state : NULL };

		redirect_back(req, r.redirect_uri, kv, 4);
	}
	/* The request is spent: the cookie has no further use. */
}
