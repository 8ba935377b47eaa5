/* user.c — accounts: the field rules, create, register, read, list, update, delete, and
 * password changes (see auth.h). */
#include "auth/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "auth/b64url.h"
#include "base/clock.h"
#include "base/utf8.h"

#define INVITE_TTL_DEFAULT_MS (7 * 24 * 3600 * 1000LL)

#define USER_COLUMNS "id, username, email, role, disabled, created_at, updated_at"

int auth_username_check(const char *s, struct err *e)
{
	size_t n = s ? strlen(s) : 0;

	if (n < AUTH_USERNAME_MIN || n > AUTH_USERNAME_MAX)
		return err_set(e, ERR_INVALID, "username must be %d to %d characters", AUTH_USERNAME_MIN,
			       AUTH_USERNAME_MAX);
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
		      ch == '_' || ch == '-'))
			return err_set(e, ERR_INVALID, "username may only hold letters, digits, '.', '_' and '-'");
	}
	return 0;
}

int auth_email_check(const char *s, struct err *e)
{
	size_t n = s ? strlen(s) : 0;
	const char *at = s ? strchr(s, '@') : NULL;

	if (n == 0 || n > AUTH_EMAIL_MAX || !at || at == s || strchr(at + 1, '@') || !strchr(at + 1, '.') ||
	    at[1] == '.' || s[n - 1] == '.')
		return err_set(e, ERR_INVALID, "email is not a valid address");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return err_set(e, ERR_INVALID, "email is not a valid address");
	if (!utf8_valid(s, n))
		return err_set(e, ERR_INVALID, "email is not a valid address");
	return 0;
}

static void read_user(struct db_stmt *s, struct auth_user *u)
{
	const char *t;

	memset(u, 0, sizeof(*u));
	snprintf(u->id, sizeof(u->id), "%s", db_col_text(s, 0) ? db_col_text(s, 0) : "");
	snprintf(u->username, sizeof(u->username), "%s", db_col_text(s, 1) ? db_col_text(s, 1) : "");
	t = db_col_text(s, 2);
	snprintf(u->email, sizeof(u->email), "%s", t ? t : "");
	if (auth_role_parse(db_col_text(s, 3), &u->role, NULL) < 0)
		u->role = AUTH_ROLE_FREE;
	u->disabled = db_col_int(s, 4) != 0;
	u->created_at = db_col_int(s, 5);
	u->updated_at = db_col_int(s, 6);
}

int auth_user_prepare(struct auth *a, const struct auth_user_input *in, char **hash, struct err *e)
{
	*hash = NULL;
	if (auth_username_check(in->username, e) < 0)
		return -1;
	if (in->email && *in->email && auth_email_check(in->email, e) < 0)
		return -1;
	if ((unsigned)in->role >= AUTH_ROLE_COUNT)
		return err_set(e, ERR_INVALID, "unknown role");
	if (auth_password_check(in->password, in->password_len, e) < 0)
		return -1;
	return auth_password_hash(&a->opt.argon2, in->password, in->password_len, hash, e);
}

int auth_user_insert(struct db_conn *c, const char *username, const char *email, const char *hash,
		     enum auth_role role, struct auth_user *out, struct err *e)
{
	char norm[AUTH_USERNAME_MAX + 1], enorm[AUTH_EMAIL_MAX + 1], id[ID_LEN + 1];
	struct db_stmt *s;
	int64_t now = clock_now_ms();
	bool has_email = email && *email;
	int ret = -1;

	id_new(id);
	auth_lower(username, norm, sizeof(norm));
	if (has_email)
		auth_lower(email, enorm, sizeof(enorm));
	s = db_prepare(c, "INSERT INTO users (id, username, username_norm, email, email_norm, password_hash, role, "
			  "disabled, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $8)", e);
	if (!s)
		return -1;
	db_bind_str(s, 1, id);
	db_bind_str(s, 2, username);
	db_bind_str(s, 3, norm);
	db_bind_str(s, 4, has_email ? email : NULL);
	db_bind_str(s, 5, has_email ? enorm : NULL);
	db_bind_str(s, 6, hash);
	db_bind_str(s, 7, auth_role_name(role));
	db_bind_int(s, 8, now);
	if (db_step(s, e) < 0) {
		if (e && e->code == ERR_CONFLICT)
			err_set(e, ERR_CONFLICT, "username or email already in use");
		goto out;
	}
	if (out) {
		memset(out, 0, sizeof(*out));
		memcpy(out->id, id, sizeof(id));
		snprintf(out->username, sizeof(out->username), "%s", username);
		snprintf(out->email, sizeof(out->email), "%s", has_email ? email : "");
		out->role = role;
		out->created_at = out->updated_at = now;
	}
	ret = 0;
out:
	db_finalize(s);
	return ret;
}

int auth_user_create(struct auth *a, const struct auth_user_input *in, struct auth_user *out, struct err *e)
{
	struct db_conn *c;
	char *hash = NULL;
	int ret = -1;

	if (auth_user_prepare(a, in, &hash, e) < 0)
		return -1;
	if ((c = db_acquire(a->db, e))) {
		ret = auth_user_insert(c, in->username, in->email, hash, in->role, out, e);
		db_release(c);
	}
	if (ret == 0)
		auth_audit(a, "user_created", out ? out->id : NULL, NULL, auth_role_name(in->role));
	free(hash);
	return ret;
}

/* Spend an invitation inside the open transaction; *role gets what it grants. */
static int invitation_spend(struct db_conn *c, const char *code, const char *user_id, enum auth_role *role,
			    struct err *e)
{
	unsigned char h[32];
	struct db_stmt *s;
	int rc, ret = -1;

	auth_secret_hash(code, h);
	s = db_prepare(c, "UPDATE invitations SET used_at = $2, used_by = $3 WHERE hash = $1 AND used_at IS NULL "
			  "AND expires_at > $2 RETURNING role", e);
	if (!s || db_bind_blob(s, 1, h, sizeof(h)) < 0 || db_bind_int(s, 2, clock_now_ms()) < 0 ||
	    db_bind_str(s, 3, user_id) < 0)
		goto out;
	rc = db_step(s, e);
	if (rc < 0)
		goto out;
	if (rc == 0) {
		err_set(e, ERR_INVALID, "invitation is unknown, used or expired");
		goto out;
	}
	if (auth_role_parse(db_col_text(s, 0), role, e) < 0)
		goto out;
	while ((rc = db_step(s, e)) == 1)
		;
	ret = rc;
out:
	db_finalize(s);
	return ret;
}

int auth_register(struct auth *a, const struct auth_user_input *in, struct auth_user *out, struct err *e)
{
	struct auth_user_input tmp = *in;
	struct db_conn *c = NULL;
	struct db_stmt *s = NULL;
	enum auth_role role = AUTH_ROLE_FREE;
	bool invited = in->invitation && *in->invitation;
	char *hash = NULL;
	int ret = -1;

	if (a->opt.registration == AUTH_REG_CLOSED)
		return err_set(e, ERR_FORBIDDEN, "registration is closed");
	if (a->opt.registration == AUTH_REG_INVITE && !invited)
		return err_set(e, ERR_FORBIDDEN, "registration needs an invitation");
	if (invited && strlen(in->invitation) != AUTH_INVITE_LEN)
		return err_set(e, ERR_INVALID, "invitation is unknown, used or expired");
	tmp.role = AUTH_ROLE_FREE;
	if (auth_user_prepare(a, &tmp, &hash, e) < 0)
		return -1;
	if (!(c = db_acquire(a->db, e)) || db_begin(c, e) < 0)
		goto out;
	if (auth_user_insert(c, in->username, in->email, hash, AUTH_ROLE_FREE, out, e) < 0)
		goto out;
	if (invited) {
		if (invitation_spend(c, in->invitation, out->id, &role, e) < 0)
			goto out;
		if (role != AUTH_ROLE_FREE) {
			s = db_prepare(c, "UPDATE users SET role = $2 WHERE id = $1", e);
			if (!s || db_bind_str(s, 1, out->id) < 0 || db_bind_str(s, 2, auth_role_name(role)) < 0 ||
			    db_step(s, e) < 0)
				goto out;
			out->role = role;
		}
	}
	if (db_commit(c, e) < 0)
		goto out;
	auth_audit(a, "user_registered", out->id, NULL, auth_role_name(out->role));
	ret = 0;
out:
	db_finalize(s);
	db_release(c);
	free(hash);
	return ret;
}

static int user_where(struct auth *a, const char *sql, const char *arg, struct auth_user *out, struct err *e)
{
	struct db_conn *c = db_acquire(a->db, e);
	struct db_stmt *s = NULL;
	int ret = -1, rc;

	if (!c)
		return -1;
	if (!(s = db_prepare(c, sql, e)) || db_bind_str(s, 1, arg) < 0 || (rc = db_step(s, e)) < 0)
		goto out;
	if (rc == 0) {
		err_set(e, ERR_NOT_FOUND, "no such user");
		goto out;
	}
	read_user(s, out);
	ret = 0;
out:
	db_finalize(s);
	db_release(c);
	return ret;
}

int auth_user_get(struct auth *a, const char *id, struct auth_user *out, struct err *e)
{
	return user_where(a, "SELECT " USER_COLUMNS " FROM users WHERE id = $1", id ? id : "", out, e);
}

int auth_user_by_name(struct auth *a, const char *username, struct auth_user *out, struct err *e)
{
	char norm[AUTH_USERNAME_MAX + 1];

	if (auth_username_check(username, NULL) < 0)
		return err_set(e, ERR_NOT_FOUND, "no such user");
	auth_lower(username, norm, sizeof(norm));
	return user_where(a, "SELECT " USER_COLUMNS " FROM users WHERE username_norm = $1", norm, out, e);
}

int auth_user_list(struct auth *a, const char *after, int limit, struct auth_user **out, size_t *n, struct err *e)
{
	struct db_conn *c;
	struct db_stmt *s = NULL;
	struct auth_user *items;
	int ret = -1, rc;

	*out = NULL;
	*n = 0;
	if (limit < 1 || limit > 1000)
		return err_set(e, ERR_INVALID, "limit must be 1 to 1000");
	if (!(items = calloc((size_t)limit, sizeof(*items))))
		return err_set(e, ERR_NOMEM, "out of memory");
	if (!(c = db_acquire(a->db, e))) {
		free(items);
		return -1;
	}
	s = db_prepare(c, "SELECT " USER_COLUMNS " FROM users WHERE id > $1 ORDER BY id LIMIT $2", e);
	if (!s || db_bind_str(s, 1, after ? after : "") < 0 || db_bind_int(s, 2, limit) < 0)
		goto out;
	while ((rc = db_step(s, e)) == 1)
		read_user(s, &items[(*n)++]);
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

int auth_revoke_user_sessions(struct db_conn *c, const char *user_id, const char *keep, int64_t now,
			      struct err *e)
{
	struct db_stmt *s = db_prepare(c, "UPDATE sessions SET revoked_at = $3 WHERE user_id = $1 AND id <> $2 "
					  "AND revoked_at IS NULL", e);
	int ret = -1;

	if (s && db_bind_str(s, 1, user_id) == 0 && db_bind_str(s, 2, keep ? keep : "") == 0 &&
	    db_bind_int(s, 3, now) == 0 && db_step(s, e) >= 0)
		ret = 0;
	db_finalize(s);
	return ret;
}

int auth_user_update(struct auth *a, const char *id, const enum auth_role *role, const bool *disabled,
		     struct auth_user *out, struct err *e)
{
	struct db_conn *c = db_acquire(a->db, e);
	struct db_stmt *s = NULL;
	int64_t now = clock_now_ms();
	int ret = -1;

	if (!c)
		return -1;
	if (role && (unsigned)*role >= AUTH_ROLE_COUNT) {
		err_set(e, ERR_INVALID, "unknown role");
		goto out;
	}
	if (db_begin(c, e) < 0)
		goto out;
	/* COALESCE keeps what the caller leaves NULL, in one statement. */
	s = db_prepare(c, "UPDATE users SET role = COALESCE($2, role), disabled = COALESCE(CAST($3 AS BIGINT), disabled), "
			  "updated_at = $4 WHERE id = $1", e);
	if (!s || db_bind_str(s, 1, id) < 0 || db_bind_str(s, 2, role ? auth_role_name(*role) : NULL) < 0 ||
	    (disabled ? db_bind_int(s, 3, *disabled) : db_bind_null(s, 3)) < 0 || db_bind_int(s, 4, now) < 0 ||
	    db_step(s, e) < 0)
		goto out;
	if (db_changes(s) == 0) {
		err_set(e, ERR_NOT_FOUND, "no such user");
		goto out;
	}
	if (disabled && *disabled && auth_revoke_user_sessions(c, id, NULL, now, e) < 0)
		goto out;
	if (db_commit(c, e) < 0)
		goto out;
	if (role)
		auth_audit(a, "role_changed", id, NULL, auth_role_name(*role));
	if (disabled)
		auth_audit(a, *disabled ? "user_disabled" : "user_enabled", id, NULL, NULL);
	ret = out ? auth_user_get(a, id, out, e) : 0;
out:
	db_finalize(s);
	db_release(c);
	return ret;
}

int auth_user_delete(struct auth *a, const char *id, struct err *e)
{
	struct db_conn *c = db_acquire(a->db, e);
	struct db_stmt *s = NULL;
	int ret = -1;

	if (!c)
		return -1;
	if (!(s = db_prepare(c, "DELETE FROM users WHERE id = $1", e)) || db_bind_str(s, 1, id) < 0 ||
	    db_step(s, e) < 0)
		goto out;
	if (db_changes(s) == 0) {
		err_set(e, ERR_NOT_FOUND, "no such user");
		goto out;
	}
	auth_audit(a, "user_deleted", id, NULL, NULL);
	ret = 0;
out:
	db_finalize(s);
	db_release(c);
	return ret;
}

/* Store a new hash and revoke sessions (all but `keep`), in one transaction. */
static int password_store(struct auth *a, const char *user_id, const char *hash, const char *keep, struct err *e)
{
	struct db_conn *c = db_acquire(a->db, e);
	struct db_stmt *s = NULL;
	int64_t now = clock_now_ms();
	int ret = -1;

	if (!c)
		return -1;
	if (db_begin(c, e) < 0)
		goto out;
	s = db_prepare(c, "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1", e);
	if (!s || db_bind_str(s, 1, user_id) < 0 || db_bind_str(s, 2, hash) < 0 || db_bind_int(s, 3, now) < 0 ||
	    db_step(s, e) < 0)
		goto out;
	if (db_changes(s) == 0) {
		err_set(e, ERR_NOT_FOUND, "no such user");
		goto out;
	}
	if (auth_revoke_user_sessions(c, user_id, keep, now, e) < 0 || db_commit(c, e) < 0)
		goto out;
	auth_audit(a, "password_changed", user_id, NULL, NULL);
	ret = 0;
out:
	db_finalize(s);
	db_release(c);
	return ret;
}

int auth_password_set(struct auth *a, const char *user_id, const char *pw, size_t len, struct err *e)
{
	char *hash = NULL;
	int ret;

	if (auth_password_check(pw, len, e) < 0 || auth_password_hash(&a->opt.argon2, pw, len, &hash, e) < 0)
		return -1;
	ret = password_store(a, user_id, hash, NULL, e);
	free(hash);
	return ret;
}

int auth_password_change(struct auth *a, const char *user_id, const char *old, size_t old_len, const char *pw,
			 size_t len, const char *keep_session, struct err *e)
{
	struct db_conn *c = db_acquire(a->db, e);
	struct db_stmt *s = NULL;
	char *stored = NULL, *hash = NULL;
	int ret = -1, rc;

	if (!c)
		return -1;
	s = db_prepare(c, "SELECT password_hash FROM users WHERE id = $1", e);
	if (!s || db_bind_str(s, 1, user_id) < 0 || (rc = db_step(s, e)) < 0)
		goto out;
	if (rc == 0) {
		err_set(e, ERR_NOT_FOUND, "no such user");
		goto out;
	}
	if (!(stored = strdup(db_col_text(s, 0) ? db_col_text(s, 0) : ""))) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	db_finalize(s);
	s = NULL;
	/* Not holding a connection through the hashing: it takes tens of milliseconds. */
	db_release(c);
	c = NULL;
	if (old_len > AUTH_PASSWORD_MAX || auth_password_verify(stored, old, old_len) != 1) {
		auth_audit(a, "password_change_failed", user_id, NULL, NULL);
		err_set(e, ERR_UNAUTHORIZED, "current password is wrong");
		goto out;
	}
	if (auth_password_check(pw, len, e) < 0 || auth_password_hash(&a->opt.argon2, pw, len, &hash, e) < 0)
		goto out;
	ret = password_store(a, user_id, hash, keep_session, e);
out:
	free(stored);
	free(hash);
	db_finalize(s);
	db_release(c);
	return ret;
}

int auth_invitation_create(struct auth *a, const char *created_by, enum auth_role role, int64_t ttl_ms,
			   struct auth_invitation *out, struct err *e)
{
	unsigned char raw[24], h[32];
	struct db_conn *c;
	struct db_stmt *s = NULL;
	int64_t now = clock_now_ms();
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if ((unsigned)role >= AUTH_ROLE_COUNT)
		return err_set(e, ERR_INVALID, "unknown role");
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return err_set(e, ERR_INTERNAL, "random source failed");
	b64url_encode(raw, sizeof(raw), out->code, sizeof(out->code));
	OPENSSL_cleanse(raw, sizeof(raw));
	auth_secret_hash(out->code, h);
	id_new(out->id);
	out->role = role;
	out->expires_at = now + (ttl_ms > 0 ? ttl_ms : INVITE_TTL_DEFAULT_MS);
	if (!(c = db_acquire(a->db, e)))
		return -1;
	s = db_prepare(c, "INSERT INTO invitations (id, hash, role, created_by, created_at, expires_at) "
			  "VALUES ($1, $2, $3, $4, $5, $6)", e);
	if (!s || db_bind_str(s, 1, out->id) < 0 || db_bind_blob(s, 2, h, sizeof(h)) < 0 ||
	    db_bind_str(s, 3, auth_role_name(role)) < 0 || db_bind_str(s, 4, created_by) < 0 ||
	    db_bind_int(s, 5, now) < 0 || db_bind_int(s, 6, out->expires_at) < 0 || db_step(s, e) < 0)
		goto out;
	auth_audit(a, "invitation_created", created_by, NULL, auth_role_name(role));
	ret = 0;
out:
	if (ret < 0)
		OPENSSL_cleanse(out->code, sizeof(out->code));
	db_finalize(s);
	db_release(c);
	return ret;
}
