/* apikey.c — app passwords / API keys (see apikey.h). */
#include "auth/apikey.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "auth/b64url.h"
#include "auth/internal.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/utf8.h"

#define INVALID_KEY "invalid API key"
#define LAST_USED_GRAIN_MS 60000

bool auth_apikey_looks(const char *s)
{
	return s && strlen(s) == AUTH_APIKEY_LEN && strncmp(s, AUTH_APIKEY_PREFIX, 3) == 0 && s[3 + ID_LEN] == '_';
}

/* Split a key into its id and secret; false when it has not the shape of one. */
static bool split(const char *key, char id[ID_LEN + 1], const char **secret)
{
	if (!auth_apikey_looks(key))
		return false;
	memcpy(id, key + 3, ID_LEN);
	id[ID_LEN] = '\0';
	*secret = key + 3 + ID_LEN + 1;
	return id_valid(id);
}

int auth_apikey_create(struct auth *a, const char *user_id, const char *name, const char *scope,
		       struct auth_apikey *out, char *key, struct err *e)
{
	struct auth_apikey k;
	struct db_conn *c = NULL;
	struct db_stmt *s = NULL;
	struct buf b = BUF_INIT;
	unsigned char raw[32], h[32];
	char secret[AUTH_APIKEY_SECRET_LEN + 1];
	unsigned perms = AUTH_PERM_ALL;
	int ret = -1, rc;

	memset(&k, 0, sizeof(k));
	key[0] = '\0';
	if (!name || !name[0] || strlen(name) > AUTH_APIKEY_NAME_MAX || !utf8_valid(name, strlen(name)))
		return err_set(e, ERR_INVALID, "name: 1 to %d bytes of UTF-8", AUTH_APIKEY_NAME_MAX);
	if (scope && auth_scope_parse(scope, &perms, e) < 0)
		return -1;
	if (perms == 0)
		return err_set(e, ERR_INVALID, "scope: name at least one scope");
	if (auth_scope_format(perms, &b) < 0 || b.len > AUTH_SCOPE_MAX) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	utf8_copy(k.scope, sizeof(k.scope), buf_str(&b));
	id_new(k.id);
	utf8_copy(k.user_id, sizeof(k.user_id), user_id);
	utf8_copy(k.name, sizeof(k.name), name);
	k.created_at = clock_now_ms();
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		err_set(e, ERR_INTERNAL, "random source failed");
		goto out;
	}
	b64url_encode(raw, sizeof(raw), secret, sizeof(secret));
	OPENSSL_cleanse(raw, sizeof(raw));
	auth_secret_hash(secret, h);
	if (!(c = db_acquire(a->db, e)) || db_begin(c, e) < 0)
		goto out;
	s = db_prepare(c, "SELECT COUNT(*) FROM api_keys WHERE user_id = $1", e);
	if (!s || db_bind_str(s, 1, user_id) < 0 || (rc = db_step(s, e)) < 0)
		goto out;
	if (rc == 1 && db_col_int(s, 0) >= AUTH_APIKEY_MAX_PER_USER) {
		err_set(e, ERR_INVALID, "at most %d API keys per account: revoke one first", AUTH_APIKEY_MAX_PER_USER);
		goto out;
	}
	db_finalize(s);
	s = db_prepare(c, "INSERT INTO api_keys (id, user_id, name, scope, hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)", e);
	if (!s || db_bind_str(s, 1, k.id) < 0 || db_bind_str(s, 2, user_id) < 0 || db_bind_str(s, 3, name) < 0 ||
	    db_bind_str(s, 4, k.scope) < 0 || db_bind_blob(s, 5, h, sizeof(h)) < 0 || db_bind_int(s, 6, k.created_at) < 0 ||
	    db_step(s, e) < 0)
		goto out;
	db_finalize(s);
	s = NULL;
	if (db_commit(c, e) < 0)
		goto out;
	snprintf(key, AUTH_APIKEY_LEN + 1, AUTH_APIKEY_PREFIX "%s_%s", k.id, secret);
	auth_audit(a, "apikey_created", user_id, NULL, k.id);
	if (out)
		*out = k;
	ret = 0;
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	db_finalize(s);
	if (c && db_in_transaction(c))
		db_rollback(c, NULL);
	db_release(c);
	buf_release(&b);
	return ret;
}

int auth_apikey_list(struct auth *a, const char *user_id, struct auth_apikey **out, size_t *n, struct err *e)
{
	struct db_conn *c;
	struct db_stmt *s = NULL;
	struct auth_apikey *items = NULL;
	size_t cap = 0;
	int ret = -1, rc;

	*out = NULL;
	*n = 0;
	if (!(c = db_acquire(a->db, e)))
		return -1;
	s = db_prepare(c, "SELECT id, user_id, name, scope, created_at, last_used_at FROM api_keys WHERE user_id = $1 "
			  "ORDER BY id LIMIT 1000", e);
	if (!s || db_bind_str(s, 1, user_id) < 0)
		goto out;
	while ((rc = db_step(s, e)) == 1) {
		struct auth_apikey *x;

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
		utf8_copy(x->id, sizeof(x->id), db_col_text(s, 0));
		utf8_copy(x->user_id, sizeof(x->user_id), db_col_text(s, 1));
		utf8_copy(x->name, sizeof(x->name), db_col_text(s, 2));
		utf8_copy(x->scope, sizeof(x->scope), db_col_text(s, 3));
		x->created_at = db_col_int(s, 4);
		x->last_used_at = db_col_int(s, 5);
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

int auth_apikey_delete(struct auth *a, const char *user_id, const char *id, struct err *e)
{
	struct db_conn *c;
	struct db_stmt *s = NULL;
	int ret = -1;

	if (!(c = db_acquire(a->db, e)))
		return -1;
	s = db_prepare(c, "DELETE FROM api_keys WHERE id = $1 AND user_id = $2", e);
	if (!s || db_bind_str(s, 1, id ? id : "") < 0 || db_bind_str(s, 2, user_id) < 0 || db_step(s, e) < 0)
		goto out;
	if (db_changes(s) == 0) {
		err_set(e, ERR_NOT_FOUND, "no such API key");
		goto out;
	}
	auth_audit(a, "apikey_revoked", user_id, NULL, id);
	ret = 0;
out:
	db_finalize(s);
	db_release(c);
	return ret;
}

/* The shared check: `username` NULL for any owner. */
static int verify(struct auth *a, const char *username, const char *key, const char *peer, struct auth_principal *p,
		  struct err *e)
{
	struct db_conn *c = NULL;
	struct db_stmt *s = NULL;
	char id[ID_LEN + 1], uid[ID_LEN + 1] = "", norm[AUTH_USERNAME_MAX + 1];
	const char *secret;
	const void *stored = NULL;
	size_t len = 0;
	unsigned char h[32];
	unsigned scopes = 0;
	enum auth_role role = AUTH_ROLE_FREE;
	int64_t now = clock_now_ms(), last = 0;
	bool ok;
	int ret = -1, rc;

	memset(p, 0, sizeof(*p));
	if (!split(key, id, &secret)) {
		auth_audit(a, "apikey_failed", NULL, peer, "malformed");
		return err_set(e, ERR_UNAUTHORIZED, INVALID_KEY);
	}
	auth_secret_hash(secret, h);
	if (!(c = db_acquire(a->db, e)))
		return -1;
	s = db_prepare(c, "SELECT k.hash, k.scope, k.last_used_at, u.id, u.role, u.disabled, u.username_norm "
			  "FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.id = $1", e);
	if (!s || db_bind_str(s, 1, id) < 0 || (rc = db_step(s, e)) < 0)
		goto out;
	if (rc == 1)
		stored = db_col_blob(s, 0, &len);
	ok = stored && len == sizeof(h) && CRYPTO_memcmp(stored, h, sizeof(h)) == 0;
	if (ok) {
		utf8_copy(uid, sizeof(uid), db_col_text(s, 3));
		last = db_col_int(s, 2);
		ok = db_col_int(s, 5) == 0 && auth_role_parse(db_col_text(s, 4), &role, NULL) == 0 &&
		     auth_scope_parse(db_col_text(s, 1), &scopes, NULL) == 0;
		if (ok && username) {
			auth_lower(username, norm, sizeof(norm));
			ok = strlen(username) <= AUTH_USERNAME_MAX && strcmp(norm, db_col_text(s, 6) ? db_col_text(s, 6) : "") == 0;
		}
	}
	db_finalize(s);
	s = NULL;
	if (!ok) {
		auth_audit(a, "apikey_failed", uid[0] ? uid : NULL, peer, id);
		err_set(e, ERR_UNAUTHORIZED, INVALID_KEY);
		goto out;
	}
	if (now - last >= LAST_USED_GRAIN_MS) {
		s = db_prepare(c, "UPDATE api_keys SET last_used_at = $2 WHERE id = $1", NULL);
		if (s && db_bind_str(s, 1, id) == 0 && db_bind_int(s, 2, now) == 0)
			db_step(s, NULL);
	}
	memcpy(p->user_id, uid, sizeof(p->user_id));
	p->role = role;
	p->scopes = scopes;
	p->perms = auth_role_perms(role) & scopes;
	ret = 0;
out:
	db_finalize(s);
	db_release(c);
	return ret;
}

int auth_apikey_verify(struct auth *a, const char *key, const char *peer, struct auth_principal *out, struct err *e)
{
	return verify(a, NULL, key, peer, out, e);
}

int auth_apikey_check(struct auth *a, const char *username, const char *key, const char *peer,
		      struct auth_principal *out, struct err *e)
{
	if (!username)
		return err_set(e, ERR_UNAUTHORIZED, INVALID_KEY);
	return verify(a, username, key, peer, out, e);
}
