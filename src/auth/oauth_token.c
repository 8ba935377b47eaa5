/* oauth_token.c — what a client may ask about its tokens: revocation (RFC 7009) and
 * introspection (RFC 7662). See oauth.h. */
#include "auth/oauth.h"

#include <stdio.h>
#include <string.h>

#include "auth/internal.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/utf8.h"

/* A refresh token is 43 base64url characters; an access token is a JWT (it has dots). */
static bool looks_refresh(const char *t)
{
	return strlen(t) == AUTH_REFRESH_LEN && !strchr(t, '.');
}

/* The session of a refresh token: its id and client ("" for first-party), and whether the
 * token itself is still usable. 1 found, 0 not, -1 error. */
static int refresh_session(struct auth *a, const char *token, char sid[ID_LEN + 1], struct oauth_introspection *info,
			   struct err *e)
{
	struct db_conn *c;
	struct db_stmt *s = NULL;
	unsigned char h[32];
	int64_t now = clock_now_ms();
	int ret = -1, rc;

	auth_secret_hash(token, h);
	if (!(c = db_acquire(a->db, e)))
		return -1;
	s = db_prepare(c, "SELECT t.session_id, t.used_at, t.expires_at, t.created_at, s.revoked_at, s.expires_at, "
			  "s.user_id, s.client_id, s.scope, u.role, u.disabled FROM refresh_tokens t "
			  "JOIN sessions s ON s.id = t.session_id JOIN users u ON u.id = s.user_id WHERE t.hash = $1", e);
	if (!s || db_bind_blob(s, 1, h, sizeof(h)) < 0 || (rc = db_step(s, e)) < 0)
		goto out;
	ret = rc;
	if (rc == 0)
		goto out;
	utf8_copy(sid, ID_LEN + 1, db_col_text(s, 0));
	memset(info, 0, sizeof(*info));
	info->refresh = true;
	info->active = db_col_null(s, 1) && db_col_int(s, 2) > now && db_col_null(s, 4) && db_col_int(s, 5) > now &&
		       db_col_int(s, 10) == 0;
	utf8_copy(info->sub, sizeof(info->sub), db_col_text(s, 6));
	utf8_copy(info->client_id, sizeof(info->client_id), db_col_text(s, 7));
	if (!db_col_null(s, 8)) {
		utf8_copy(info->scope, sizeof(info->scope), db_col_text(s, 8));
	} else {
		struct buf b = BUF_INIT;
		enum auth_role role;

		if (auth_role_parse(db_col_text(s, 9), &role, NULL) == 0 && auth_scope_format(auth_role_perms(role), &b) == 0)
			utf8_copy(info->scope, sizeof(info->scope), buf_str(&b));
		buf_release(&b);
	}
	info->exp = db_col_int(s, 2) / 1000;
	info->iat = db_col_int(s, 3) / 1000;
out:
	db_finalize(s);
	db_release(c);
	return ret;
}

/* Whether session `sid` is live; its client into client_id (may be NULL). -1 on error. */
static int session_live(struct auth *a, const char *sid, char *client_id, struct err *e)
{
	struct db_conn *c;
	struct db_stmt *s = NULL;
	int ret = -1, rc;

	if (!(c = db_acquire(a->db, e)))
		return -1;
	s = db_prepare(c, "SELECT revoked_at, expires_at, client_id FROM sessions WHERE id = $1", e);
	if (!s || db_bind_str(s, 1, sid) < 0 || (rc = db_step(s, e)) < 0)
		goto out;
	ret = rc == 1 && db_col_null(s, 0) && db_col_int(s, 1) > clock_now_ms();
	if (rc == 1 && client_id)
		utf8_copy(client_id, ID_LEN + 1, db_col_text(s, 2));
out:
	db_finalize(s);
	db_release(c);
	return ret;
}

int oauth_introspect(struct auth *a, const char *token, struct oauth_introspection *out, struct err *e)
{
	struct auth_principal p;
	struct oauth_client cl;
	struct buf b = BUF_INIT;
	char sid[ID_LEN + 1];
	int rc;

	memset(out, 0, sizeof(*out));
	if (!token || !token[0])
		return 0;
	if (looks_refresh(token)) {
		rc = refresh_session(a, token, sid, out, e);
		if (rc <= 0)
			memset(out, 0, sizeof(*out));
		return rc < 0 ? -1 : 0;
	}
	if (auth_verify_access(a, token, strlen(token), &p, NULL) < 0)
		return 0;
	if (p.session_id[0]) {
		if ((rc = session_live(a, p.session_id, out->client_id, e)) < 0)
			return -1;
		if (rc == 0) {
			memset(out, 0, sizeof(*out));
			return 0;
		}
	} else if (oauth_client_get(a, p.user_id, &cl, NULL) == 0) {
		/* No session: a client credentials token, whose subject is the client. */
		utf8_copy(out->client_id, sizeof(out->client_id), cl.id);
	}
	out->active = true;
	utf8_copy(out->sub, sizeof(out->sub), p.user_id);
	if (auth_scope_format(p.scopes, &b) == 0)
		utf8_copy(out->scope, sizeof(out->scope), buf_str(&b));
	buf_release(&b);
	out->exp = p.expires_at;
	out->iat = p.expires_at - auth_access_ttl(a);
	return 0;
}

int oauth_revoke(struct auth *a, const struct oauth_client *client, const char *token, struct err *e)
{
	struct oauth_introspection info;
	struct auth_principal p;
	char sid[ID_LEN + 1] = "", owner[ID_LEN + 1] = "";
	int rc;

	if (!token || !token[0])
		return 0;
	if (looks_refresh(token)) {
		if ((rc = refresh_session(a, token, sid, &info, e)) < 0)
			return -1;
		if (rc == 0)
			return 0;
		utf8_copy(owner, sizeof(owner), info.client_id);
	} else {
		/* Access tokens are not looked up per request: revoking one ends its session, so its
		 * refreshes stop at once, introspection says inactive, and it expires within the
		 * access token lifetime. */
		if (auth_verify_access(a, token, strlen(token), &p, NULL) < 0 || !p.session_id[0])
			return 0;
		utf8_copy(sid, sizeof(sid), p.session_id);
		if (session_live(a, sid, owner, e) < 0)
			return -1;
	}
	/* RFC 7009 §2.1: a client may revoke only the tokens issued to it; others are ignored. */
	if (strcmp(owner, client->id) != 0)
		return 0;
	if (auth_session_kill(a, sid, e) < 0)
		return -1;
	auth_audit(a, "oauth_revoked", NULL, NULL, client->id);
	return 0;
}
