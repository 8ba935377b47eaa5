/* session.c — sign-in, refresh token rotation with reuse detection, sign-out and the
 * session list (see auth.h). */
#include "auth/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "auth/b64url.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/utf8.h"

#define INVALID_LOGIN "invalid username or password"
#define INVALID_REFRESH "invalid refresh token"

void auth_tokens_release(struct auth_tokens *t)
{
	if (!t)
		return;
	if (t->access_token)
		OPENSSL_clear_free(t->access_token, strlen(t->access_token));
	OPENSSL_cleanse(t->refresh_token, sizeof(t->refresh_token));
	t->access_token = NULL;
}

static int new_refresh(char out[AUTH_REFRESH_LEN + 1], unsigned char hash[32], struct err *e)
{
	unsigned char raw[32];

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return err_set(e, ERR_INTERNAL, "random source failed");
	b64url_encode(raw, sizeof(raw), out, AUTH_REFRESH_LEN + 1);
	OPENSSL_cleanse(raw, sizeof(raw));
	auth_secret_hash(out, hash);
	return 0;
}

static int insert_refresh(struct db_conn *c, const unsigned char hash[32], const char *sid, int64_t now,
			  int64_t expires, struct err *e)
{
	struct db_stmt *s = db_prepare(c, "INSERT INTO refresh_tokens (hash, session_id, created_at, expires_at) "
					  "VALUES ($1, $2, $3, $4)", e);
	int ret = -1;

	if (s && db_bind_blob(s, 1, hash, 32) == 0 && db_bind_str(s, 2, sid) == 0 && db_bind_int(s, 3, now) == 0 &&
	    db_bind_int(s, 4, expires) == 0 && db_step(s, e) >= 0)
		ret = 0;
	db_finalize(s);
	return ret;
}

/* The access token for a session (sid "" for none), with `scope`, or every scope the role can
 * use when NULL (a first-party sign-in). */
static int issue_access(struct auth *a, const char *user_id, enum auth_role role, const char *sid, const char *scope_in,
			struct auth_tokens *out, struct err *e)
{
	struct auth_claims c;
	struct buf scope = BUF_INIT;
	char jti[33];
	int64_t now = clock_now_ms() / 1000;
	int ret = -1;

	memset(&c, 0, sizeof(c));
	if ((scope_in ? buf_adds(&scope, scope_in) : auth_scope_format(auth_role_perms(role), &scope)) < 0 ||
	    scope.len > AUTH_SCOPE_MAX ||
	    id_random_hex(jti, 16) < 0) {
		err_set(e, ERR_INTERNAL, "cannot build the token");
		goto out;
	}
	snprintf(c.sub, sizeof(c.sub), "%s", user_id);
	snprintf(c.sid, sizeof(c.sid), "%s", sid);
	snprintf(c.jti, sizeof(c.jti), "%s", jti);
	snprintf(c.role, sizeof(c.role), "%s", auth_role_name(role));
	memcpy(c.scope, buf_str(&scope), scope.len + 1);
	c.iat = c.nbf = now;
	c.exp = now + auth_access_ttl(a);
	/* A key rotated by another process is picked up before we sign. */
	auth_keys_refresh(a, false, NULL);
	if (auth_jwt_sign(a->keys, &c, &out->access_token, e) < 0)
		goto out;
	out->expires_in = auth_access_ttl(a);
	snprintf(out->session_id, sizeof(out->session_id), "%s", sid);
	snprintf(out->user_id, sizeof(out->user_id), "%s", user_id);
	ret = 0;
out:
	buf_release(&scope);
	return ret;
}

static void cut(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (n >= cap)
		n = cap - 1;
	/* Never split a UTF-8 sequence: back up over continuation bytes. */
	while (n > 0 && src[n] && ((unsigned char)src[n] & 0xc0) == 0x80)
		n--;
	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

int auth_access_issue(struct auth *a, const char *subject, enum auth_role role, const char *scope,
		      struct auth_tokens *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	return issue_access(a, subject, role, "", scope, out, e);
}

int auth_session_open(struct auth *a, const char *user_id, enum auth_role role, const struct auth_client *cl,
		      const char *client_id, const char *scope, struct auth_tokens *out, struct err *e)
{
	struct db_conn *c = db_acquire(a->db, e);
	struct db_stmt *s = NULL;
	unsigned char h[32];
	char sid[ID_LEN + 1], ua[AUTH_UA_MAX + 1], peer[AUTH_PEER_MAX + 1];
	int64_t now = clock_now_ms(), expires = now + a->opt.refresh_ttl_ms;
	int ret = -1;

	if (!c)
		return -1;
	id_new(sid);
	cut(ua, sizeof(ua), cl ? cl->user_agent : NULL);
	cut(peer, sizeof(peer), cl ? cl->peer : NULL);
	if (new_refresh(out->refresh_token, h, e) < 0 || db_begin(c, e) < 0)
		goto out;
	s = db_prepare(c, "INSERT INTO sessions (id, user_id, user_agent, peer, created_at, last_used_at, expires_at, "
			  "client_id, scope) VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8)", e);
	if (!s || db_bind_str(s, 1, sid) < 0 || db_bind_str(s, 2, user_id) < 0 ||
	    db_bind_str(s, 3, ua[0] && utf8_valid(ua, strlen(ua)) ? ua : NULL) < 0 || db_bind_str(s, 4, peer[0] ? peer : NULL) < 0 ||
	    db_bind_int(s, 5, now) < 0 || db_bind_int(s, 6, expires) < 0 || db_bind_str(s, 7, client_id) < 0 ||
	    db_bind_str(s, 8, scope) < 0 || db_step(s, e) < 0)
		goto out;
	if (insert_refresh(c, h, sid, now, expires, e) < 0 || db_commit(c, e) < 0)
		goto out;
	ret = issue_access(a, user_id, role, sid, scope, out, e);
out:
	db_finalize(s);
	db_release(c);
	if (ret < 0)
		auth_tokens_release(out);
	return ret;
}

int auth_credentials_verify(struct auth *a, const char *username, const char *password, size_t password_len,
			    const char *peer, struct auth_user *user, struct err *e)
{
	struct db_conn *c = NULL;
	struct db_stmt *s = NULL;
	char norm[AUTH_USERNAME_MAX + 1], id[ID_LEN + 1] = "", *stored = NULL, *rehash = NULL;
	enum auth_role role = AUTH_ROLE_FREE;
	bool disabled = false, found = false, ok;
	int ret = -1, rc;

	memset(user, 0, sizeof(*user));
	if (!password || password_len > AUTH_PASSWORD_MAX)
		password_len = 0;
	if (auth_username_check(username, NULL) == 0) {
		auth_lower(username, norm, sizeof(norm));
		if (!(c = db_acquire(a->db, e)))
			return -1;
		s = db_prepare(c, "SELECT id, password_hash, role, disabled FROM users WHERE username_norm = $1", e);
		if (!s || db_bind_str(s, 1, norm) < 0 || (rc = db_step(s, e)) < 0)
			goto out;
		if (rc == 1) {
			found = true;
			snprintf(id, sizeof(id), "%s", db_col_text(s, 0) ? db_col_text(s, 0) : "");
			stored = strdup(db_col_text(s, 1) ? db_col_text(s, 1) : "");
			disabled = db_col_int(s, 3) != 0 || auth_role_parse(db_col_text(s, 2), &role, NULL) < 0;
			if (!stored) {
				err_set(e, ERR_NOMEM, "out of memory");
				goto out;
			}
		}
		db_finalize(s);
		s = NULL;
		db_release(c);
		c = NULL;
	}
	/* The same Argon2id work whether or not the name exists (and for names that cannot). */
	ok = auth_password_verify(found ? stored : a->dummy_hash, password ? password : "", password_len) == 1;
	if (!found || !ok || disabled || password_len == 0) {
		auth_audit(a, "login_failed", found ? id : NULL, peer, found && ok && disabled ? "disabled" : NULL);
		err_set(e, ERR_UNAUTHORIZED, INVALID_LOGIN);
		goto out;
	}
	if (auth_password_needs_rehash(&a->opt.argon2, stored) &&
	    auth_password_hash(&a->opt.argon2, password, password_len, &rehash, NULL) == 0 &&
	    (c = db_acquire(a->db, NULL))) {
		/* Conditional on the old hash, so a concurrent password change wins. */
		s = db_prepare(c, "UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2", NULL);
		if (s && db_bind_str(s, 1, id) == 0 && db_bind_str(s, 2, stored) == 0 && db_bind_str(s, 3, rehash) == 0 &&
		    db_step(s, NULL) >= 0)
			auth_audit(a, "password_rehashed", id, peer, NULL);
		db_finalize(s);
		s = NULL;
		db_release(c);
		c = NULL;
	}
	memcpy(user->id, id, sizeof(user->id));
	snprintf(user->username, sizeof(user->username), "%s", username);
	user->role = role;
	ret = 0;
out:
	db_finalize(s);
	db_release(c);
	free(stored);
	free(rehash);
	return ret;
}

int auth_login(struct auth *a, const char *username, const char *password, size_t password_len,
	       const struct auth_client *client, struct auth_tokens *out, struct err *e)
{
	const char *peer = client ? client->peer : NULL;
	struct auth_user u;

	memset(out, 0, sizeof(*out));
	if (auth_credentials_verify(a, username, password, password_len, peer, &u, e) < 0 ||
	    auth_session_open(a, u.id, u.role, client, NULL, NULL, out, e) < 0)
		return -1;
	auth_audit(a, "login", u.id, peer, out->session_id);
	return 0;
}

static int revoke_session(struct db_conn *c, const char *sid, int64_t now, struct err *e)
{
	struct db_stmt *s = db_prepare(c, "UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL", e);
	int ret = -1;

	if (s && db_bind_str(s, 1, sid) == 0 && db_bind_int(s, 2, now) == 0 && db_step(s, e) >= 0)
		ret = 0;
	db_finalize(s);
	return ret;
}

int auth_session_kill(struct auth *a, const char *session_id, struct err *e)
{
	struct db_conn *c = db_acquire(a->db, e);
	int ret;

	if (!c)
		return -1;
	ret = revoke_session(c, session_id, clock_now_ms(), e);
	db_release(c);
	return ret;
}

int auth_refresh(struct auth *a, const char *refresh_token, const struct auth_client *client,
		 struct auth_tokens *out, struct err *e)
{
	return auth_refresh_for(a, refresh_token, NULL, client, out, e);
}

int auth_refresh_for(struct auth *a, const char *refresh_token, const char *client_id, const struct auth_client *client,
		     struct auth_tokens *out, struct err *e)
{
	struct db_conn *c = NULL;
	struct db_stmt *s = NULL;
	unsigned char h[32], nh[32];
	char sid[ID_LEN + 1], uid[ID_LEN + 1], *scope = NULL;
	const char *peer = client ? client->peer : NULL;
	enum auth_role role;
	int64_t now = clock_now_ms();
	bool used, dead;
	int ret = -1, rc;

	memset(out, 0, sizeof(*out));
	if (!refresh_token || strlen(refresh_token) != AUTH_REFRESH_LEN)
		return err_set(e, ERR_UNAUTHORIZED, INVALID_REFRESH);
	auth_secret_hash(refresh_token, h);
	if (!(c = db_acquire(a->db, e)) || db_begin(c, e) < 0)
		goto out;
	s = db_prepare(c, "SELECT t.session_id, t.used_at, t.expires_at, s.revoked_at, s.user_id, u.role, u.disabled, "
			  "s.client_id, s.scope "
			  "FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id JOIN users u ON u.id = s.user_id "
			  "WHERE t.hash = $1", e);
	if (!s || db_bind_blob(s, 1, h, sizeof(h)) < 0 || (rc = db_step(s, e)) < 0)
		goto out;
	if (rc == 0) {
		auth_audit(a, "refresh_failed", NULL, peer, "unknown token");
		err_set(e, ERR_UNAUTHORIZED, INVALID_REFRESH);
		goto out;
	}
	snprintf(sid, sizeof(sid), "%s", db_col_text(s, 0) ? db_col_text(s, 0) : "");
	snprintf(uid, sizeof(uid), "%s", db_col_text(s, 4) ? db_col_text(s, 4) : "");
	/* A refresh token is bound to the client it was issued to (RFC 6749 §6); first-party
	 * tokens to none. Someone else's token is refused without spending it. */
	if ((client_id == NULL) != db_col_null(s, 7) ||
	    (client_id && strcmp(client_id, db_col_text(s, 7) ? db_col_text(s, 7) : "") != 0)) {
		db_finalize(s);
		s = NULL;
		db_rollback(c, NULL);
		auth_audit(a, "refresh_failed", uid, peer, "token of another client");
		err_set(e, ERR_UNAUTHORIZED, INVALID_REFRESH);
		goto out;
	}
	if (!db_col_null(s, 8) && !(scope = strdup(db_col_text(s, 8)))) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	used = !db_col_null(s, 1);
	dead = db_col_int(s, 2) <= now || !db_col_null(s, 3) || db_col_int(s, 6) != 0 ||
	       auth_role_parse(db_col_text(s, 5), &role, NULL) < 0;
	db_finalize(s);
	s = NULL;
	if (!used && !dead) {
		/* Spend the token; losing a race to a concurrent refresh with the same token makes
		 * this one a reuse. */
		s = db_prepare(c, "UPDATE refresh_tokens SET used_at = $2 WHERE hash = $1 AND used_at IS NULL", e);
		if (!s || db_bind_blob(s, 1, h, sizeof(h)) < 0 || db_bind_int(s, 2, now) < 0 || db_step(s, e) < 0)
			goto out;
		used = db_changes(s) == 0;
		db_finalize(s);
		s = NULL;
		if (!used) {
			s = db_prepare(c, "UPDATE sessions SET last_used_at = $2, expires_at = $3 WHERE id = $1", e);
			if (!s || db_bind_str(s, 1, sid) < 0 || db_bind_int(s, 2, now) < 0 ||
			    db_bind_int(s, 3, now + a->opt.refresh_ttl_ms) < 0 || db_step(s, e) < 0 ||
			    new_refresh(out->refresh_token, nh, e) < 0 ||
			    insert_refresh(c, nh, sid, now, now + a->opt.refresh_ttl_ms, e) < 0 || db_commit(c, e) < 0)
				goto out;
			db_release(c);
			c = NULL;
			ret = issue_access(a, uid, role, sid, scope, out, e);
			goto out;
		}
	}
	if (used) {
		/* Someone presented a token that was already exchanged: either the client or a thief
		 * holds a copy, and we cannot tell which, so the whole family goes. */
		if (revoke_session(c, sid, now, e) < 0 || db_commit(c, e) < 0)
			goto out;
		auth_audit(a, "refresh_reuse", uid, peer, sid);
	} else {
		db_rollback(c, NULL);
		auth_audit(a, "refresh_failed", uid, peer, "expired or revoked");
	}
	err_set(e, ERR_UNAUTHORIZED, INVALID_REFRESH);
out:
	free(scope);
	db_finalize(s);
	db_release(c);
	if (ret < 0)
		auth_tokens_release(out);
	return ret;
}

int auth_logout(struct auth *a, const char *refresh_token, struct err *e)
{
	struct db_conn *c;
	struct db_stmt *s = NULL;
	unsigned char h[32];
	int ret = -1;

	if (!refresh_token || strlen(refresh_token) != AUTH_REFRESH_LEN)
		return 0;
	auth_secret_hash(refresh_token, h);
	if (!(c = db_acquire(a->db, e)))
		return -1;
	s = db_prepare(c, "UPDATE sessions SET revoked_at = $2 WHERE revoked_at IS NULL AND id = "
			  "(SELECT session_id FROM refresh_tokens WHERE hash = $1)", e);
	if (!s || db_bind_blob(s, 1, h, sizeof(h)) < 0 || db_bind_int(s, 2, clock_now_ms()) < 0 || db_step(s, e) < 0)
		goto out;
	if (db_changes(s) > 0)
		auth_audit(a, "logout", NULL, NULL, NULL);
	ret = 0;
out:
	db_finalize(s);
	db_release(c);
	return ret;
}

int auth_sessions_list(struct auth *a, const char *user_id, struct auth_session **out, size_t *n, struct err *e)
{
	struct db_conn *c;
	struct db_stmt *s = NULL;
	struct auth_session *items = NULL;
	size_t cap = 0;
	int ret = -1, rc;

	*out = NULL;
	*n = 0;
	if (!(c = db_acquire(a->db, e)))
		return -1;
	s = db_prepare(c, "SELECT id, user_agent, peer, created_at, last_used_at, expires_at FROM sessions "
			  "WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY id LIMIT 1000", e);
	if (!s || db_bind_str(s, 1, user_id) < 0 || db_bind_int(s, 2, clock_now_ms()) < 0)
		goto out;
	while ((rc = db_step(s, e)) == 1) {
		struct auth_session *x;

		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 8;

			if (!(x = realloc(items, ncap * sizeof(*x)))) {
				err_set(e, ERR_NOMEM, "out of memory");
				goto out;
			}
			items = x;
			cap = ncap;
		}
		x = &items[(*n)++];
		memset(x, 0, sizeof(*x));
		cut(x->id, sizeof(x->id), db_col_text(s, 0));
		cut(x->user_agent, sizeof(x->user_agent), db_col_text(s, 1));
		cut(x->peer, sizeof(x->peer), db_col_text(s, 2));
		x->created_at = db_col_int(s, 3);
		x->last_used_at = db_col_int(s, 4);
		x->expires_at = db_col_int(s, 5);
	}
	if (rc < 0)
		goto out;
	*out = items;
	items = NULL;
	ret = 0;
out:
	if (ret < 0)
		*n = 0;
	free(items);
	db_finalize(s);
	db_release(c);
	return ret;
}

int auth_session_revoke(struct auth *a, const char *user_id, const char *session_id, struct err *e)
{
	struct db_conn *c;
	struct db_stmt *s = NULL;
	int ret = -1;

	if (!(c = db_acquire(a->db, e)))
		return -1;
	s = db_prepare(c, "UPDATE sessions SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL", e);
	if (!s || db_bind_str(s, 1, session_id ? session_id : "") < 0 || db_bind_str(s, 2, user_id) < 0 ||
	    db_bind_int(s, 3, clock_now_ms()) < 0 || db_step(s, e) < 0)
		goto out;
	if (db_changes(s) == 0) {
		err_set(e, ERR_NOT_FOUND, "no such session");
		goto out;
	}
	auth_audit(a, "session_revoked", user_id, NULL, session_id);
	ret = 0;
out:
	db_finalize(s);
	db_release(c);
	return ret;
}
