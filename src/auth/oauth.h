/* oauth.h — the OAuth 2.0 authorization server's rules: clients, authorization requests,
 * codes with PKCE, the token grants, revocation (RFC 7009) and introspection (RFC 7662).
 *
 * No HTTP here: api/oauth.c parses requests and renders answers; this module decides. It owns
 * the tables of migration 0007 (oauth_clients, oauth_requests, oauth_codes, and the client_id
 * and scope of sessions).
 *
 * Clients are registered by an admin: a name, redirect URIs compared as exact strings, a type
 * (public: no secret, PKCE required; confidential: a secret shown once, stored as SHA-256 and
 * compared in constant time), the grant types and scopes it may use.
 *
 * The code flow: oauth_authorize_check() validates the query of GET /oauth/authorize;
 * oauth_request_start() records it and hands back a request id and a CSRF token the page embeds;
 * the page signs the user in (oauth_request_signin: Argon2id, blocking) and asks consent;
 * oauth_request_finish() makes a code (single use, OAUTH_CODE_TTL_MS, bound to the client, the
 * redirect URI, the PKCE challenge, the scopes and the user, stored hashed). The token endpoint
 * exchanges it once (oauth_grant_code): a second exchange revokes the session opened by the
 * first. Tokens of the flow are the ordinary access and rotating refresh tokens of auth.h,
 * whose session remembers the client and the granted scope; the access token's permissions are
 * the user's role ∩ the scopes.
 *
 * Everything here is blocking (database, hashing) except oauth_pkce_valid() and the parsers.
 * Errors: -1 with `e` set and *oe naming the RFC 6749 §5.2 error to answer.
 */
#ifndef TONEARM_AUTH_OAUTH_H
#define TONEARM_AUTH_OAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "auth/jwt.h"

#define OAUTH_SECRET_LEN 43      /* base64url of 32 random bytes: client secrets, codes, CSRF */
#define OAUTH_NAME_MAX 128
#define OAUTH_URI_MAX 2048
#define OAUTH_REDIRECT_MAX 16    /* redirect URIs per client */
#define OAUTH_STATE_MAX 1024
#define OAUTH_CHALLENGE_LEN 43   /* base64url(SHA-256): the only length S256 gives */
#define OAUTH_CODE_TTL_MS 60000
#define OAUTH_REQUEST_TTL_MS 600000

enum oauth_client_type { OAUTH_CLIENT_PUBLIC = 0, OAUTH_CLIENT_CONFIDENTIAL };

enum oauth_grant {
	OAUTH_GRANT_CODE = 1u << 0,               /* authorization_code */
	OAUTH_GRANT_REFRESH = 1u << 1,            /* refresh_token */
	OAUTH_GRANT_CLIENT_CREDENTIALS = 1u << 2, /* client_credentials (confidential only) */
};

/* RFC 6749 §4.1.2.1 and §5.2 error codes. */
enum oauth_error {
	OAUTH_OK = 0,
	OAUTH_INVALID_REQUEST,
	OAUTH_INVALID_CLIENT,
	OAUTH_INVALID_GRANT,
	OAUTH_UNAUTHORIZED_CLIENT,
	OAUTH_UNSUPPORTED_GRANT_TYPE,
	OAUTH_UNSUPPORTED_RESPONSE_TYPE,
	OAUTH_INVALID_SCOPE,
	OAUTH_ACCESS_DENIED,
	OAUTH_SERVER_ERROR,
};

/* The error's wire name ("invalid_grant"). Static storage. */
const char *oauth_error_name(enum oauth_error oe);

struct oauth_client {
	char id[ID_LEN + 1];
	char name[OAUTH_NAME_MAX + 1];
	enum oauth_client_type type;
	unsigned grants;                            /* enum oauth_grant bits */
	char scope[AUTH_SCOPE_MAX + 1];             /* what it may ask for, space-separated */
	size_t nredirect;
	char redirect[OAUTH_REDIRECT_MAX][OAUTH_URI_MAX + 1];
	char created_by[ID_LEN + 1];                /* "" when unknown */
	int64_t created_at;                         /* ms */
};

struct oauth_client_input {
	const char *name;
	enum oauth_client_type type;
	unsigned grants;             /* 0: authorization_code + refresh_token */
	const char *scope;           /* NULL: every scope */
	const char *const *redirect; /* absolute http(s) URIs without fragment; required with the code grant */
	size_t nredirect;
	const char *created_by;      /* may be NULL */
};

/* ---- clients (blocking) ---- */

/* Register a client. A confidential one gets a secret in `secret` (OAUTH_SECRET_LEN + 1 bytes,
 * shown once); for a public one `secret` is set to "". ERR_INVALID names the field at fault
 * (client_credentials for a public client, a redirect URI that is not absolute http(s) or has a
 * fragment, an unknown scope). *out (may be NULL) gets the record. */
int oauth_client_create(struct auth *a, const struct oauth_client_input *in, struct oauth_client *out,
			char *secret, struct err *e);

/* ERR_NOT_FOUND when there is none. */
int oauth_client_get(struct auth *a, const char *id, struct oauth_client *out, struct err *e);

/* Every client, oldest first (at most 1000): *out (caller frees) and *n. */
int oauth_client_list(struct auth *a, struct oauth_client **out, size_t *n, struct err *e);

/* Delete a client with its pending requests and codes, and revoke its sessions.
 * ERR_NOT_FOUND when there is none. */
int oauth_client_delete(struct auth *a, const char *id, struct err *e);

/* Authenticate a client at the token, revocation or introspection endpoint. A confidential
 * client needs its secret (compared in constant time as SHA-256); a public one must send none.
 * -1 with ERR_UNAUTHORIZED (and *oe = OAUTH_INVALID_CLIENT) for an unknown client, a wrong or
 * missing secret; the message never says which. */
int oauth_client_authenticate(struct auth *a, const char *id, const char *secret, struct oauth_client *out,
			      enum oauth_error *oe, struct err *e);

/* One grant type name ("authorization_code", "refresh_token", "client_credentials") as its
 * bit in *bit. 0, or -1 with ERR_INVALID naming the allowed ones. */
int oauth_grant_parse(const char *name, unsigned *bit, struct err *e);

/* Append the grant type names of `grants`, space-separated. -1 when the buffer refuses. */
int oauth_grants_format(unsigned grants, struct buf *out);

/* Decode `Authorization: Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1) into
 * `id` and `secret` (capacities id_cap and secret_cap, NUL-terminated). 0, or -1 when the
 * header is not Basic, the base64 or an escape is malformed, a part holds NUL, or a part does
 * not fit. Pure: no allocation, no database (fuzzed: tests/fuzz/oauth_basic_fuzz.c). */
int oauth_basic_parse(const char *header, char *id, size_t id_cap, char *secret, size_t secret_cap);

/* ---- the authorization request (blocking unless said) ---- */

struct oauth_authz_params {
	const char *response_type, *client_id, *redirect_uri, *state, *scope;
	const char *code_challenge, *code_challenge_method;
};

enum oauth_authz_verdict {
	OAUTH_AUTHZ_OK = 0,
	OAUTH_AUTHZ_SHOW_ERROR, /* unknown client or redirect URI: never redirect, show *why */
	OAUTH_AUTHZ_REDIRECT,   /* the redirect URI is the client's: send *oe back to it */
};

/* Validate an authorization request. On OAUTH_AUTHZ_OK, *client holds the client and `scope`
 * (AUTH_SCOPE_MAX + 1 bytes) the normalized scope to grant (the request's, or the client's
 * when absent). Otherwise *oe and *why (static text) say what is wrong. */
enum oauth_authz_verdict oauth_authorize_check(struct auth *a, const struct oauth_authz_params *p,
					       struct oauth_client *client, char *scope, enum oauth_error *oe,
					       const char **why);

/* A pending request as the forms carry it. */
struct oauth_request {
	char id[ID_LEN + 1];
	char client_id[ID_LEN + 1];
	char client_name[OAUTH_NAME_MAX + 1];
	char redirect_uri[OAUTH_URI_MAX + 1];
	char state[OAUTH_STATE_MAX + 1];
	bool has_state;
	char scope[AUTH_SCOPE_MAX + 1];
	char challenge[OAUTH_CHALLENGE_LEN + 1];
	char user_id[ID_LEN + 1];   /* "" until the user signed in */
};

/* Record a request that passed oauth_authorize_check (the same params and scope): *req gets
 * it, `csrf` (OAUTH_SECRET_LEN + 1 bytes) the token the forms must send back. */
int oauth_request_start(struct auth *a, const struct oauth_authz_params *p, const struct oauth_client *client,
			const char *scope, struct oauth_request *req, char *csrf, struct err *e);

/* Load a pending request by id if `csrf` is its token (constant-time) and it has not expired.
 * ERR_FORBIDDEN otherwise (the message does not say which). */
int oauth_request_load(struct auth *a, const char *id, const char *csrf, struct oauth_request *req, struct err *e);

/* Sign the user in for the request (auth_login's verification path; Argon2id). ERR_UNAUTHORIZED
 * "invalid username or password" on failure. req->user_id is set on success. */
int oauth_request_signin(struct auth *a, struct oauth_request *req, const char *username, const char *password,
			 size_t password_len, const char *peer, struct err *e);

/* The user's answer: the request is spent either way. With `approve`, `code`
 * (OAUTH_SECRET_LEN + 1 bytes) gets the authorization code. ERR_FORBIDDEN when nobody signed
 * in for the request. */
int oauth_request_finish(struct auth *a, const struct oauth_request *req, bool approve, const char *peer,
			 char *code, struct err *e);

/* ---- the token endpoint (blocking) ---- */

/* What a grant hands out: the tokens and the granted scope. */
struct oauth_grant_result {
	struct auth_tokens tokens;      /* refresh_token "" when none (client credentials) */
	char scope[AUTH_SCOPE_MAX + 1];
};

/* authorization_code: the code, the redirect_uri of the request, the PKCE verifier (NULL when
 * the code has no challenge). invalid_grant for an unknown, expired, spent or foreign code, a
 * differing redirect URI or a verifier that does not match; a spent code also revokes the
 * session its first exchange opened. Release result->tokens with auth_tokens_release(). */
int oauth_grant_code(struct auth *a, const struct oauth_client *client, const char *code, const char *redirect_uri,
		     const char *verifier, const struct auth_client *cl, struct oauth_grant_result *out,
		     enum oauth_error *oe, struct err *e);

/* refresh_token: rotate a refresh token of this client's sessions (auth_refresh's reuse
 * detection). A narrower `scope` is not supported: NULL or the granted one. */
int oauth_grant_refresh(struct auth *a, const struct oauth_client *client, const char *refresh_token,
			const struct auth_client *cl, struct oauth_grant_result *out, enum oauth_error *oe,
			struct err *e);

/* client_credentials: an access token (no refresh token) whose subject is the client, with
 * `scope` (NULL: all the client's scopes) limited to the client's scopes and, through the role,
 * to what the admin who registered it may do. */
int oauth_grant_client_credentials(struct auth *a, const struct oauth_client *client, const char *scope,
				   struct oauth_grant_result *out, enum oauth_error *oe, struct err *e);

/* PKCE S256: whether BASE64URL(SHA256(verifier)) equals `challenge`, compared in constant
 * time. A verifier outside RFC 7636's 43–128 unreserved characters is false. Quick. */
bool oauth_pkce_valid(const char *verifier, const char *challenge);

/* ---- revocation and introspection (blocking) ---- */

/* RFC 7009: revoke the session behind a refresh or access token issued to `client`. Tokens
 * that are unknown, invalid or another client's are ignored (0), as the RFC asks. */
int oauth_revoke(struct auth *a, const struct oauth_client *client, const char *token, struct err *e);

struct oauth_introspection {
	bool active;
	bool refresh;                  /* a refresh token (else an access token) */
	char sub[AUTH_CLAIM_MAX + 1];
	char client_id[ID_LEN + 1];    /* "" for a first-party token */
	char scope[AUTH_SCOPE_MAX + 1];
	int64_t exp, iat;              /* seconds; 0 when unknown */
};

/* RFC 7662: whether `token` is active now. An access token is active while its signature and
 * times hold and its session (if any) is not revoked; a refresh token while unspent, unexpired
 * and its session live. Never fails for a bad token: out->active is false. */
int oauth_introspect(struct auth *a, const char *token, struct oauth_introspection *out, struct err *e);

#endif
