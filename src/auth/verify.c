/* verify.c — e-mail verification and password reset tokens (see verify.h). */
#include "auth/verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "auth/b64url.h"
#include "auth/internal.h"
#include "base/clock.h"

#define BAD_TOKEN "the link is invalid, used or expired"

static const char *kind_name(bool reset)
{
	return reset ? "reset" : "verify";
}

/* Make a token for `user_id`, store its hash, fill out->token and expires_at. */
static int token_insert(struct db_conn *c, const char *user_id, bool reset, const char *email, int64_t ttl_ms,
			struct auth_mail_token *out, struct err *e)
{
	unsigned char raw[32], h[32];
	int64_t now = clock_now_ms();
	struct db_stmt *s;
	int ret = -1;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return err_set(e, ERR_INTERNAL, "random source failed");
	b64url_encode(raw, sizeof(raw), out->token, sizeof(out->token));
	OPENSSL_cleanse(raw, sizeof(raw));
	auth_secret_hash(out->token, h);
	out->expires_at = now + ttl_ms;
	s = db_prepare(c, "INSERT INTO email_tokens (hash, user_id, kind, email, created_at, expires_at) "
			  "VALUES ($1, $2, $3, $4, $5, $6)", e);
	if (s && db_bind_blob(s, 1, h, sizeof(h)) == 0 && db_bind_str(s, 2, user_id) == 0 &&
	    db_bind_str(s, 3, kind_name(reset)) == 0 && db_bind_str(s, 4, email) == 0 && db_bind_int(s, 5, now) == 0 &&
	    db_bind_int(s, 6, out->expires_at) == 0 && db_step(s, e) >= 0)
		ret = 0;
	db_finalize(s);
	if (ret < 0)
		OPENSSL_cleanse(out->token, sizeof(out->token));
	return ret;
}

int auth_verify_email_issue(struct auth *a, const char *user_id, int64_t ttl_ms, struct auth_mail_token *out,
			    struct err *e)
{
	struct db_conn *c;
	struct db_stmt *s = NULL;
	int ret = -1, rc;

	memset(out, 0, sizeof(*out));
	if (!(c = db_acquire(a->db, e)))
		return -1;
	s = db_prepare(c, "SELECT id, username, email, email_verified FROM users WHERE id = $1", e);
	if (!s || db_bind_str(s, 1, user_id ? user_id : "") < 0 || (rc = db_step(s, e)) < 0)
		goto out;
	if (rc == 0) {
		err_set(e, ERR_NOT_FOUND, "no such user");
		goto out;
	}
	if (!db_col_text(s, 2) || !*db_col_text(s, 2)) {
		err_set(e, ERR_INVALID, "the account has no e-mail address");
		goto out;
	}
	if (db_col_int(s, 3)) {
		err_set(e, ERR_CONFLICT, "the e-mail address is verified already");
		goto out;
	}
	snprintf(out->user_id, sizeof(out->user_id), "%s", db_col_text(s, 0));
	snprintf(out->username, sizeof(out->username), "%s", db_col_text(s, 1) ? db_col_text(s, 1) : "");
	snprintf(out->email, sizeof(out->email), "%s", db_col_text(s, 2));
	db_finalize(s);
	s = NULL;
	if (token_insert(c, out->user_id, false, out->email, ttl_ms > 0 ? ttl_ms : AUTH_VERIFY_TTL_DEFAULT_MS, out,
			 e) < 0)
		goto out;
	auth_audit(a, "email_verification_sent", out->user_id, NULL, NULL);
	ret = 0;
out:
	db_finalize(s);
	db_release(c);
	return ret;
}

/* Spend a token of its kind inside the open transaction on `c`: *user_id and *email (caps
 * ID_LEN + 1 and AUTH_EMAIL_MAX + 1) get whom it was for. ERR_INVALID BAD_TOKEN otherwise. */
static int token_spend(struct db_conn *c, const char *token, bool reset, int64_t now, char *user_id, char *email,
		       struct err *e)
{
	unsigned char h[32];
	const void *stored;
	size_t slen = 0;
	struct db_stmt *s = NULL;
	bool ok;
	int ret = -1, rc;

	if (!token || strlen(token) != AUTH_MAIL_TOKEN_LEN)
		return err_set(e, ERR_INVALID, BAD_TOKEN);
	auth_secret_hash(token, h);
	s = db_prepare(c, "SELECT hash, user_id, email, expires_at, used_at FROM email_tokens WHERE hash = $1 AND kind = $2",
		       e);
	if (!s || db_bind_blob(s, 1, h, sizeof(h)) < 0 || db_bind_str(s, 2, kind_name(reset)) < 0 ||
	    (rc = db_step(s, e)) < 0)
		goto out;
	if (rc == 0) {
		err_set(e, ERR_INVALID, BAD_TOKEN);
		goto out;
	}
	/* The index found it by hash already; comparing again in constant time costs nothing and
	 * keeps the rule "secrets are compared in constant time" true without exceptions. */
	stored = db_col_blob(s, 0, &slen);
	ok = slen == sizeof(h) && CRYPTO_memcmp(stored, h, sizeof(h)) == 0 && db_col_null(s, 4) &&
	     db_col_int(s, 3) > now;
	if (!ok) {
		err_set(e, ERR_INVALID, BAD_TOKEN);
		goto out;
	}
	snprintf(user_id, ID_LEN + 1, "%s", db_col_text(s, 1) ? db_col_text(s, 1) : "");
	snprintf(email, AUTH_EMAIL_MAX + 1, "%s", db_col_text(s, 2) ? db_col_text(s, 2) : "");
	db_finalize(s);
	/* Conditional: of two spenders racing, only one changes the row. */
	s = db_prepare(c, "UPDATE email_tokens SET used_at = $2 WHERE hash = $1 AND used_at IS NULL", e);
	if (!s || db_bind_blob(s, 1, h, sizeof(h)) < 0 || db_bind_int(s, 2, now) < 0 || db_step(s, e) < 0)
		goto out;
	if (db_changes(s) != 1) {
		err_set(e, ERR_INVALID, BAD_TOKEN);
		goto out;
	}
	ret = 0;
out:
	db_finalize(s);
	return ret;
}

/* Mark the address verified when it is still `email`; 1 when it was, 0 when it changed. */
static int mark_verified(struct db_conn *c, const char *user_id, const char *email, int64_t now, struct err *e)
{
	char norm[AUTH_EMAIL_MAX + 1];
	struct db_stmt *s;
	int ret = -1;

	auth_lower(email, norm, sizeof(norm));
	s = db_prepare(c, "UPDATE users SET email_verified = 1, updated_at = $3 WHERE id = $1 AND email_norm = $2", e);
	if (s && db_bind_str(s, 1, user_id) == 0 && db_bind_str(s, 2, norm) == 0 && db_bind_int(s, 3, now) == 0 &&
	    db_step(s, e) >= 0)
		ret = db_changes(s) > 0;
	db_finalize(s);
	return ret;
}

int auth_verify_email(struct auth *a, const char *token, struct auth_user *out, struct err *e)
{
	char user_id[ID_LEN + 1], email[AUTH_EMAIL_MAX + 1];
	int64_t now = clock_now_ms();
	struct db_conn *c;
	int ret = -1, rc;

	if (!(c = db_acquire(a->db, e)))
		return -1;
	if (db_begin(c, e) < 0 || token_spend(c, token, false, now, user_id, email, e) < 0)
		goto out;
	if ((rc = mark_verified(c, user_id, email, now, e)) < 0)
		goto out;
	if (rc == 0) {
		err_set(e, ERR_INVALID, "the account's e-mail address changed since this link was sent");
		goto out;
	}
	if (db_commit(c, e) < 0)
		goto out;
	auth_audit(a, "email_verified", user_id, NULL, NULL);
	ret = out ? auth_user_get(a, user_id, out, e) : 0;
out:
	db_release(c);
	return ret;
}

int auth_email_verified(struct auth *a, const char *user_id, bool *verified, struct err *e)
{
	struct db_conn *c;
	struct db_stmt *s = NULL;
	int ret = -1, rc;

	*verified = false;
	if (!(c = db_acquire(a->db, e)))
		return -1;
	s = db_prepare(c, "SELECT email_verified FROM users WHERE id = $1", e);
	if (!s || db_bind_str(s, 1, user_id ? user_id : "") < 0 || (rc = db_step(s, e)) < 0)
		goto out;
	if (rc == 0) {
		err_set(e, ERR_NOT_FOUND, "no such user");
		goto out;
	}
	*verified = db_col_int(s, 0) != 0;
	ret = 0;
out:
	db_finalize(s);
	db_release(c);
	return ret;
}

int auth_password_reset_issue(struct auth *a, const char *who, int64_t ttl_ms, bool *found,
			      struct auth_mail_token *out, struct err *e)
{
	char norm[AUTH_EMAIL_MAX + 1];
	bool by_email = who && strchr(who, '@');
	struct db_conn *c;
	struct db_stmt *s = NULL;
	int ret = -1, rc;

	*found = false;
	memset(out, 0, sizeof(*out));
	/* Malformed input is simply "no such account": the answer must not differ. */
	if (!who || (by_email ? auth_email_check(who, NULL) : auth_username_check(who, NULL)) < 0)
		return 0;
	auth_lower(who, norm, sizeof(norm));
	if (!(c = db_acquire(a->db, e)))
		return -1;
	s = db_prepare(c, by_email ? "SELECT id, username, email FROM users WHERE email_norm = $1 AND disabled = 0"
				   : "SELECT id, username, email FROM users WHERE username_norm = $1 AND disabled = 0",
		       e);
	if (!s || db_bind_str(s, 1, norm) < 0 || (rc = db_step(s, e)) < 0)
		goto out;
	if (rc == 0 || !db_col_text(s, 2) || !*db_col_text(s, 2)) {
		auth_audit(a, "password_reset_unknown", NULL, NULL, NULL);
		ret = 0;
		goto out;
	}
	snprintf(out->user_id, sizeof(out->user_id), "%s", db_col_text(s, 0));
	snprintf(out->username, sizeof(out->username), "%s", db_col_text(s, 1) ? db_col_text(s, 1) : "");
	snprintf(out->email, sizeof(out->email), "%s", db_col_text(s, 2));
	db_finalize(s);
	s = NULL;
	if (token_insert(c, out->user_id, true, out->email, ttl_ms > 0 ? ttl_ms : AUTH_RESET_TTL_DEFAULT_MS, out, e) < 0)
		goto out;
	*found = true;
	auth_audit(a, "password_reset_requested", out->user_id, NULL, NULL);
	ret = 0;
out:
	if (ret < 0)
		memset(out, 0, sizeof(*out));
	db_finalize(s);
	db_release(c);
	return ret;
}

int auth_password_reset(struct auth *a, const char *token, const char *pw, size_t len, struct err *e)
{
	char user_id[ID_LEN + 1], email[AUTH_EMAIL_MAX + 1], *hash = NULL;
	int64_t now = clock_now_ms();
	struct db_conn *c = NULL;
	struct db_stmt *s = NULL;
	int ret = -1;

	if (!token || strlen(token) != AUTH_MAIL_TOKEN_LEN)
		return err_set(e, ERR_INVALID, BAD_TOKEN);
	/* Hash before taking the write lock: Argon2id takes tens of milliseconds. */
	if (auth_password_check(pw, len, e) < 0 || auth_password_hash(&a->opt.argon2, pw, len, &hash, e) < 0)
		return -1;
	if (!(c = db_acquire(a->db, e)))
		goto out;
	if (db_begin(c, e) < 0 || token_spend(c, token, true, now, user_id, email, e) < 0)
		goto out;
	s = db_prepare(c, "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1 AND disabled = 0", e);
	if (!s || db_bind_str(s, 1, user_id) < 0 || db_bind_str(s, 2, hash) < 0 || db_bind_int(s, 3, now) < 0 ||
	    db_step(s, e) < 0)
		goto out;
	if (db_changes(s) == 0) {
		err_set(e, ERR_INVALID, BAD_TOKEN);
		goto out;
	}
	db_finalize(s);
	/* The other links mailed for this account die with this one. */
	s = db_prepare(c, "UPDATE email_tokens SET used_at = $2 WHERE user_id = $1 AND kind = 'reset' AND used_at IS NULL",
		       e);
	if (!s || db_bind_str(s, 1, user_id) < 0 || db_bind_int(s, 2, now) < 0 || db_step(s, e) < 0)
		goto out;
	/* Whoever read the mail controls the address. */
	if (mark_verified(c, user_id, email, now, e) < 0 || auth_revoke_user_sessions(c, user_id, NULL, now, e) < 0 ||
	    db_commit(c, e) < 0)
		goto out;
	auth_audit(a, "password_reset", user_id, NULL, NULL);
	ret = 0;
out:
	db_finalize(s);
	db_release(c);
	free(hash);
	return ret;
}
