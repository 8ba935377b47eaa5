/* oauth_flow.c — the authorization code flow: checking a request, the pending request the
 * sign-in and consent forms carry, codes with PKCE, and the grants of the token endpoint
 * (see oauth.h). */
#include "auth/oauth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "auth/b64url.h"
#include "auth/internal.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/utf8.h"

#define INVALID_CODE "invalid authorization code"
#define OAUTH_CODE_KEEP_MS (24LL * 3600 * 1000)

/* 256 random bits as base64url (OAUTH_SECRET_LEN characters) and their SHA-256. */
static int new_secret(char out[OAUTH_SECRET_LEN + 1], unsigned char hash[32], struct err *e)
{
	unsigned char raw[32];

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return err_set(e, ERR_INTERNAL, "random source failed");
	b64url_encode(raw, sizeof(raw), out, OAUTH_SECRET_LEN + 1);
	OPENSSL_cleanse(raw, sizeof(raw));
	auth_secret_hash(out, hash);
	return 0;
}

/* Whether every scope of `want` (space-separated) is one of `allowed`'s. */
static bool scope_subset(const char *want, const char *allowed)
{
	const char *p = want;

	while (*p) {
		size_t n;
		bool found = false;

		while (*p == ' ')
			p++;
		if (!(n = strcspn(p, " ")))
			break;
		for (const char *q = allowed; *q;) {
			size_t m;

			while (*q == ' ')
				q++;
			m = strcspn(q, " ");
			if (m == n && memcmp(p, q, n) == 0) {
				found = true;
				break;
			}
			q += m;
		}
		if (!found)
			return false;
		p += n;
	}
	return true;
}

/* `in` (NULL: the client's whole scope) checked against the client and normalized into out. */
static int grant_scope(const struct oauth_client *client, const char *in, char *out, size_t cap)
{
	struct buf b = BUF_INIT;
	unsigned perms;
	int ret = -1;

	if (!in || !in[0])
		in = client->scope;
	if (strlen(in) > AUTH_SCOPE_MAX || auth_scope_parse(in, &perms, NULL) < 0 || !scope_subset(in, client->scope) ||
	    perms == 0)
		return -1;
	if (auth_scope_format(perms, &b) == 0 && b.len < cap) {
		memcpy(out, buf_str(&b), b.len + 1);
		ret = 0;
	}
	buf_release(&b);
	return ret;
}

enum oauth_authz_verdict oauth_authorize_check(struct auth *a, const struct oauth_authz_params *p,
					       struct oauth_client *client, char *scope, enum oauth_error *oe,
					       const char **why)
{
	struct err e = ERR_INIT;
	bool known = false;

	*oe = OAUTH_INVALID_REQUEST;
	if (!p->client_id || oauth_client_get(a, p->client_id, client, &e) < 0) {
		*why = e.code == ERR_NOT_FOUND || !p->client_id ? "unknown client_id" : "the client could not be loaded";
		if (e.code != ERR_NOT_FOUND && p->client_id)
			*oe = OAUTH_SERVER_ERROR;
		return OAUTH_AUTHZ_SHOW_ERROR;
	}
	/* Exact string comparison, as RFC 9700 §4.1.3 requires: no prefix or pattern matching. */
	for (size_t i = 0; p->redirect_uri && i < client->nredirect; i++)
		if (strcmp(p->redirect_uri, client->redirect[i]) == 0)
			known = true;
	if (!known) {
		*why = p->redirect_uri ? "redirect_uri is not registered for this client" : "redirect_uri is missing";
		return OAUTH_AUTHZ_SHOW_ERROR;
	}
	/* From here on the redirect URI is the client's own: errors go back to it. */
	if (p->state && (strlen(p->state) > OAUTH_STATE_MAX || !utf8_valid(p->state, strlen(p->state)))) {
		*why = "state is too long";
		return OAUTH_AUTHZ_REDIRECT;
	}
	if (!p->response_type || strcmp(p->response_type, "code") != 0) {
		*oe = OAUTH_UNSUPPORTED_RESPONSE_TYPE;
		*why = "response_type must be code";
		return OAUTH_AUTHZ_REDIRECT;
	}
	if (!(client->grants & OAUTH_GRANT_CODE)) {
		*oe = OAUTH_UNAUTHORIZED_CLIENT;
		*why = "this client may not use the authorization code grant";
		return OAUTH_AUTHZ_REDIRECT;
	}
	if (p->code_challenge || p->code_challenge_method) {
		/* S256 only: `plain` would hand the verifier to whoever sees the request. */
		if (!p->code_challenge_method || strcmp(p->code_challenge_method, "S256") != 0) {
			*why = "code_challenge_method must be S256";
			return OAUTH_AUTHZ_REDIRECT;
		}
		if (!p->code_challenge || strlen(p->code_challenge) != OAUTH_CHALLENGE_LEN) {
			*why = "code_challenge must be 43 base64url characters";
			return OAUTH_AUTHZ_REDIRECT;
		}
		for (const char *c = p->code_challenge; *c; c++) {
			if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' ||
			      *c == '_')) {
				*why = "code_challenge must be 43 base64url characters";
				return OAUTH_AUTHZ_REDIRECT;
			}
		}
	} else if (client->type == OAUTH_CLIENT_PUBLIC) {
		*why = "a public client must use PKCE (code_challenge with S256)";
		return OAUTH_AUTHZ_REDIRECT;
	}
	if (grant_scope(client, p->scope, scope, AUTH_SCOPE_MAX + 1) < 0) {
		*oe = OAUTH_INVALID_SCOPE;
		*why = "scope asks for something this client may not have";
		return OAUTH_AUTHZ_REDIRECT;
	}
	*oe = OAUTH_OK;
	*why = NULL;
	return OAUTH_AUTHZ_OK;
}

int oauth_request_start(struct auth *a, const struct oauth_authz_params *p, const struct oauth_client *client,
			const char *scope, struct oauth_request *req, char *csrf, struct err *e)
{
	struct db_conn *c = NULL;
	struct db_stmt *s = NULL;
	unsigned char h[32];
	int64_t now = clock_now_ms();
	int ret = -1;

	memset(req, 0, sizeof(*req));
	id_new(req->id);
	utf8_copy(req->client_id, sizeof(req->client_id), client->id);
	utf8_copy(req->client_name, sizeof(req->client_name), client->name);
	utf8_copy(req->redirect_uri, sizeof(req->redirect_uri), p->redirect_uri);
	utf8_copy(req->state, sizeof(req->state), p->state);
	req->has_state = p->state != NULL;
	utf8_copy(req->scope, sizeof(req->scope), scope);
	utf8_copy(req->challenge, sizeof(req->challenge), p->code_challenge);
	if (new_secret(csrf, h, e) < 0 || !(c = db_acquire(a->db, e)))
		goto out;
	/* Requests nobody finished, and codes a day past their expiry (kept that long so that a
	 * late replay still revokes what the code gave), are swept here rather than by a job: they
	 * are few and small. */
	s = db_prepare(c, "DELETE FROM oauth_requests WHERE expires_at < $1", e);
	if (!s || db_bind_int(s, 1, now) < 0 || db_step(s, e) < 0)
		goto out;
	db_finalize(s);
	s = db_prepare(c, "DELETE FROM oauth_codes WHERE expires_at < $1", e);
	if (!s || db_bind_int(s, 1, now - OAUTH_CODE_KEEP_MS) < 0 || db_step(s, e) < 0)
		goto out;
	db_finalize(s);
	s = db_prepare(c, "INSERT INTO oauth_requests (id, csrf_hash, client_id, redirect_uri, state, scope, challenge, "
			  "created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)", e);
	if (!s || db_bind_str(s, 1, req->id) < 0 || db_bind_blob(s, 2, h, sizeof(h)) < 0 ||
	    db_bind_str(s, 3, req->client_id) < 0 || db_bind_str(s, 4, req->redirect_uri) < 0 ||
	    db_bind_str(s, 5, p->state) < 0 || db_bind_str(s, 6, req->scope) < 0 ||
	    db_bind_str(s, 7, req->challenge[0] ? req->challenge : NULL) < 0 || db_bind_int(s, 8, now) < 0 ||
	    db_bind_int(s, 9, now + OAUTH_REQUEST_TTL_MS) < 0 || db_step(s, e) < 0)
		goto out;
	ret = 0;
out:
	db_finalize(s);
	db_release(c);
	return ret;
}

int oauth_request_load(struct auth *a, const char *id, const char *csrf, struct oauth_request *req, struct err *e)
{
	struct db_conn *c;
	struct db_stmt *s = NULL;
	unsigned char given[32];
	const void *stored;
	size_t len = 0;
	int ret = -1, rc;

	memset(req, 0, sizeof(*req));
	if (!id || !id_valid(id) || !csrf || strlen(csrf) != OAUTH_SECRET_LEN)
		return err_set(e, ERR_FORBIDDEN, "this sign-in form is not valid any more: start again from the app");
	auth_secret_hash(csrf, given);
	if (!(c = db_acquire(a->db, e)))
		return -1;
	s = db_prepare(c, "SELECT r.csrf_hash, r.client_id, c.name, r.redirect_uri, r.state, r.scope, r.challenge, "
			  "r.user_id FROM oauth_requests r JOIN oauth_clients c ON c.id = r.client_id "
			  "WHERE r.id = $1 AND r.expires_at > $2", e);
	if (!s || db_bind_str(s, 1, id) < 0 || db_bind_int(s, 2, clock_now_ms()) < 0 || (rc = db_step(s, e)) < 0)
		goto out;
	stored = rc == 1 ? db_col_blob(s, 0, &len) : NULL;
	if (!stored || len != sizeof(given) || CRYPTO_memcmp(stored, given, sizeof(given)) != 0) {
		err_set(e, ERR_FORBIDDEN, "this sign-in form is not valid any more: start again from the app");
		goto out;
	}
	utf8_copy(req->id, sizeof(req->id), id);
	utf8_copy(req->client_id, sizeof(req->client_id), db_col_text(s, 1));
	utf8_copy(req->client_name, sizeof(req->client_name), db_col_text(s, 2));
	utf8_copy(req->redirect_uri, sizeof(req->redirect_uri), db_col_text(s, 3));
	req->has_state = !db_col_null(s, 4);
	utf8_copy(req->state, sizeof(req->state), db_col_text(s, 4));
	utf8_copy(req->scope, sizeof(req->scope), db_col_text(s, 5));
	utf8_copy(req->challenge, sizeof(req->challenge), db_col_text(s, 6));
	utf8_copy(req->user_id, sizeof(req->user_id), db_col_text(s, 7));
	ret = 0;
out:
	db_finalize(s);
	db_release(c);
	return ret;
}

int oauth_request_signin(struct auth *a, struct oauth_request *req, const char *username, const char *password,
			 size_t password_len, const char *peer, struct err *e)
{
	struct auth_user u;
	struct db_conn *c;
	struct db_stmt *s = NULL;
	int ret = -1;

	if (auth_credentials_verify(a, username, password, password_len, peer, &u, e) < 0)
		return -1;
	if (!(c = db_acquire(a->db, e)))
		return -1;
	s = db_prepare(c, "UPDATE oauth_requests SET user_id = $2 WHERE id = $1", e);
	if (!s || db_bind_str(s, 1, req->id) < 0 || db_bind_str(s, 2, u.id) < 0 || db_step(s, e) < 0)
		goto out;
	utf8_copy(req->user_id, sizeof(req->user_id), u.id);
	auth_audit(a, "oauth_signin", u.id, peer, req->client_id);
	ret = 0;
out:
	db_finalize(s);
	db_release(c);
	return ret;
}

int oauth_request_finish(struct auth *a, const struct oauth_request *req, bool approve, const char *peer,
			 char *code, struct err *e)
{
	struct db_conn *c;
	struct db_stmt *s = NULL;
	unsigned char h[32];
	int64_t now = clock_now_ms();
	int ret = -1;

	code[0] = '\0';
	if (!req->user_id[0])
		return err_set(e, ERR_FORBIDDEN, "sign in first");
	if (!(c = db_acquire(a->db, e)))
		return -1;
	if (db_begin(c, e) < 0)
		goto out;
	/* Spending the request first makes a double submit of the consent form give one code. */
	s = db_prepare(c, "DELETE FROM oauth_requests WHERE id = $1", e);
	if (!s || db_bind_str(s, 1, req->id) < 0 || db_step(s, e) < 0)
		goto out;
	if (db_changes(s) == 0) {
		err_set(e, ERR_FORBIDDEN, "this sign-in form is not valid any more: start again from the app");
		goto out;
	}
	db_finalize(s);
	s = NULL;
	if (approve) {
		if (new_secret(code, h, e) < 0)
			goto out;
		s = db_prepare(c, "INSERT INTO oauth_codes (hash, client_id, redirect_uri, challenge, scope, user_id, "
				  "created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", e);
		if (!s || db_bind_blob(s, 1, h, sizeof(h)) < 0 || db_bind_str(s, 2, req->client_id) < 0 ||
		    db_bind_str(s, 3, req->redirect_uri) < 0 || db_bind_str(s, 4, req->challenge[0] ? req->challenge : NULL) < 0 ||
		    db_bind_str(s, 5, req->scope) < 0 || db_bind_str(s, 6, req->user_id) < 0 || db_bind_int(s, 7, now) < 0 ||
		    db_bind_int(s, 8, now + OAUTH_CODE_TTL_MS) < 0 || db_step(s, e) < 0)
			goto out;
	}
	if (db_commit(c, e) < 0)
		goto out;
	auth_audit(a, approve ? "oauth_consent" : "oauth_denied", req->user_id, peer, req->client_id);
	ret = 0;
out:
	db_finalize(s);
	if (ret < 0) {
		if (db_in_transaction(c))
			db_rollback(c, NULL);
		OPENSSL_cleanse(code, OAUTH_SECRET_LEN + 1);
		code[0] = '\0';
	}
	db_release(c);
	return ret;
}

bool oauth_pkce_valid(const char *verifier, const char *challenge)
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	char enc[OAUTH_CHALLENGE_LEN + 1];
	size_t n = verifier ? strlen(verifier) : 0;

	if (n < 43 || n > 128 || !challenge || strlen(challenge) != OAUTH_CHALLENGE_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = verifier[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		      c == '_' || c == '~'))
			return false;
	}
	SHA256((const unsigned char *)verifier, n, d);
	if (b64url_encode(d, sizeof(d), enc, sizeof(enc)) != OAUTH_CHALLENGE_LEN)
		return false;
	return CRYPTO_memcmp(enc, challenge, OAUTH_CHALLENGE_LEN) == 0;
}

int oauth_grant_code(struct auth *a, const struct oauth_client *client, const char *code, const char *redirect_uri,
		     const char *verifier, const struct auth_client *cl, struct oauth_grant_result *out,
		     enum oauth_error *oe, struct err *e)
{
	struct db_conn *c = NULL;
	struct db_stmt *s = NULL;
	struct auth_user u;
	unsigned char h[32];
	char uid[ID_LEN + 1], sid[ID_LEN + 1] = "", challenge[OAUTH_CHALLENGE_LEN + 1] = "";
	const char *peer = cl ? cl->peer : NULL;
	int64_t now = clock_now_ms();
	bool spent, ok;
	int ret = -1, rc;

	memset(out, 0, sizeof(*out));
	*oe = OAUTH_INVALID_GRANT;
	if (!(client->grants & OAUTH_GRANT_CODE)) {
		*oe = OAUTH_UNAUTHORIZED_CLIENT;
		return err_set(e, ERR_FORBIDDEN, "this client may not use the authorization code grant");
	}
	if (!code || strlen(code) != OAUTH_SECRET_LEN)
		return err_set(e, ERR_UNAUTHORIZED, INVALID_CODE);
	auth_secret_hash(code, h);
	if (!(c = db_acquire(a->db, e)) || db_begin(c, e) < 0)
		goto fail;
	s = db_prepare(c, "SELECT client_id, redirect_uri, challenge, scope, user_id, expires_at, used_at, session_id "
			  "FROM oauth_codes WHERE hash = $1", e);
	if (!s || db_bind_blob(s, 1, h, sizeof(h)) < 0 || (rc = db_step(s, e)) < 0)
		goto fail;
	if (rc == 0) {
		err_set(e, ERR_UNAUTHORIZED, INVALID_CODE);
		goto fail;
	}
	spent = !db_col_null(s, 6);
	utf8_copy(sid, sizeof(sid), db_col_text(s, 7));
	utf8_copy(uid, sizeof(uid), db_col_text(s, 4));
	utf8_copy(challenge, sizeof(challenge), db_col_text(s, 2));
	utf8_copy(out->scope, sizeof(out->scope), db_col_text(s, 3));
	/* Every check reads the row before any early exit, so timing says little about which failed. */
	ok = !spent && db_col_int(s, 5) > now && strcmp(db_col_text(s, 0) ? db_col_text(s, 0) : "", client->id) == 0 &&
	     redirect_uri && strcmp(db_col_text(s, 1) ? db_col_text(s, 1) : "", redirect_uri) == 0;
	if (challenge[0])
		ok = oauth_pkce_valid(verifier, challenge) && ok;
	else if (verifier || client->type == OAUTH_CLIENT_PUBLIC)
		ok = false;
	db_finalize(s);
	s = NULL;
	if (spent) {
		/* A code presented twice: someone else may hold it. The tokens the first exchange got
		 * are revoked (RFC 6749 §4.1.2), whoever made this request. */
		if (sid[0] && auth_session_kill(a, sid, e) < 0)
			goto fail;
		if (db_commit(c, e) < 0)
			goto fail;
		auth_audit(a, "oauth_code_reuse", uid, peer, client->id);
		err_set(e, ERR_UNAUTHORIZED, INVALID_CODE);
		goto fail;
	}
	/* Any attempt spends the code, so a wrong verifier cannot be retried. */
	s = db_prepare(c, "UPDATE oauth_codes SET used_at = $2 WHERE hash = $1 AND used_at IS NULL", e);
	if (!s || db_bind_blob(s, 1, h, sizeof(h)) < 0 || db_bind_int(s, 2, now) < 0 || db_step(s, e) < 0)
		goto fail;
	if (db_changes(s) == 0)
		ok = false;
	db_finalize(s);
	s = NULL;
	if (db_commit(c, e) < 0)
		goto fail;
	if (!ok) {
		auth_audit(a, "oauth_code_refused", uid, peer, client->id);
		err_set(e, ERR_UNAUTHORIZED, INVALID_CODE);
		goto fail;
	}
	if (auth_user_get(a, uid, &u, e) < 0 || u.disabled) {
		err_set(e, ERR_UNAUTHORIZED, INVALID_CODE);
		goto fail;
	}
	if (auth_session_open(a, uid, u.role, cl, client->id,
			      out->scope, &out->tokens, e) < 0) {
		*oe = OAUTH_SERVER_ERROR;
		goto fail;
	}
	s = db_prepare(c, "UPDATE oauth_codes SET session_id = $2 WHERE hash = $1", e);
	if (!s || db_bind_blob(s, 1, h, sizeof(h)) < 0 || db_bind_str(s, 2, out->tokens.session_id) < 0 ||
	    db_step(s, e) < 0) {
		*oe = OAUTH_SERVER_ERROR;
		goto fail;
	}
	auth_audit(a, "oauth_token", uid, peer, client->id);
	*oe = OAUTH_OK;
	ret = 0;
	goto out;
fail:
	if (c && db_in_transaction(c))
		db_rollback(c, NULL);
	auth_tokens_release(&out->tokens);
out:
	db_finalize(s);
	db_release(c);
	return ret;
}

int oauth_grant_refresh(struct auth *a, const struct oauth_client *client, const char *refresh_token,
			const struct auth_client *cl, struct oauth_grant_result *out, enum oauth_error *oe,
			struct err *e)
{
	struct oauth_introspection info;

	memset(out, 0, sizeof(*out));
	*oe = OAUTH_INVALID_GRANT;
	if (!(client->grants & OAUTH_GRANT_REFRESH)) {
		*oe = OAUTH_UNAUTHORIZED_CLIENT;
		return err_set(e, ERR_FORBIDDEN, "this client may not use the refresh token grant");
	}
	if (auth_refresh_for(a, refresh_token, client->id, cl, &out->tokens, e) < 0) {
		if (e->code != ERR_UNAUTHORIZED)
			*oe = OAUTH_SERVER_ERROR;
		return -1;
	}
	/* The scope the session carries, for the answer. */
	if (oauth_introspect(a, out->tokens.access_token, &info, NULL) == 0 && info.active)
		utf8_copy(out->scope, sizeof(out->scope), info.scope);
	*oe = OAUTH_OK;
	return 0;
}

int oauth_grant_client_credentials(struct auth *a, const struct oauth_client *client, const char *scope,
				   struct oauth_grant_result *out, enum oauth_error *oe, struct err *e)
{
	struct auth_user owner;
	struct err le = ERR_INIT;

	memset(out, 0, sizeof(*out));
	*oe = OAUTH_UNAUTHORIZED_CLIENT;
	if (client->type != OAUTH_CLIENT_CONFIDENTIAL || !(client->grants & OAUTH_GRANT_CLIENT_CREDENTIALS))
		return err_set(e, ERR_FORBIDDEN, "this client may not use the client credentials grant");
	/* The client acts with the role of the admin who registered it, so it never outranks them
	 * (and loses its power with theirs). */
	if (!client->created_by[0] || auth_user_get(a, client->created_by, &owner, &le) < 0 || owner.disabled)
		return err_set(e, ERR_FORBIDDEN, "the account that registered this client is gone or disabled");
	if (grant_scope(client, scope, out->scope, sizeof(out->scope)) < 0) {
		*oe = OAUTH_INVALID_SCOPE;
		return err_set(e, ERR_INVALID, "scope asks for something this client may not have");
	}
	if (auth_access_issue(a, client->id, owner.role, out->scope, &out->tokens, e) < 0) {
		*oe = OAUTH_SERVER_ERROR;
		return -1;
	}
	auth_audit(a, "oauth_client_token", NULL, NULL, client->id);
	*oe = OAUTH_OK;
	return 0;
}
