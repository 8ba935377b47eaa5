/* auth.c — the identity module's lifetime, keys, token checks and first-start admin (see
 * auth.h). Accounts are in user.c, sign-in and sessions in session.c. */
#include "auth/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "base/clock.h"
#include "base/log.h"

#define FORCED_RELOAD_NS 1000000000LL

void auth_secret_hash(const char *secret, unsigned char out[32])
{
	SHA256((const unsigned char *)secret, strlen(secret), out);
}

void auth_lower(const char *s, char *out, size_t cap)
{
	size_t i = 0;

	for (; s[i] && i + 1 < cap; i++)
		out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
	out[i] = '\0';
}

void auth_audit(struct auth *a, const char *event, const char *user_id, const char *peer, const char *detail)
{
	struct err e = ERR_INIT;
	struct db_conn *c;
	struct db_stmt *s = NULL;
	char id[ID_LEN + 1];

	log_kv(LOG_INFO, NULL, "audit",
	       LOG_FIELDS(LOG_STR("event", event), LOG_STR("user", user_id), LOG_STR("peer", peer),
			  LOG_STR("detail", detail)));
	/* The row is best effort: the log line above already has the event, and a failing insert
	 * must not undo the action it records. */
	if (!a || !(c = db_acquire(a->db, &e)))
		goto out;
	id_new(id);
	s = db_prepare(c, "INSERT INTO audit_events (id, at, event, user_id, peer, detail) VALUES ($1, $2, $3, $4, $5, $6)",
		       &e);
	if (s && db_bind_str(s, 1, id) == 0 && db_bind_int(s, 2, clock_now_ms()) == 0 && db_bind_str(s, 3, event) == 0 &&
	    db_bind_str(s, 4, user_id) == 0 && db_bind_str(s, 5, peer) == 0 && db_bind_str(s, 6, detail) == 0)
		db_step(s, &e);
	db_finalize(s);
	db_release(c);
out:
	if (e.code != ERR_NONE)
		log_kv(LOG_WARN, NULL, "audit: not stored", LOG_FIELDS(LOG_STR("event", event), LOG_STR("reason", e.msg)));
}

static int64_t ttl_or(int64_t v, int64_t def)
{
	return v > 0 ? v : def;
}

/* ---- keys ---- */

int auth_keys_load(struct auth *a, struct err *e)
{
	struct db_conn *c = db_acquire(a->db, e);
	struct db_stmt *s = NULL;
	struct auth_key_spec *specs = NULL;
	char **kids = NULL, **pems = NULL;
	size_t n = 0, cap = 0, current = (size_t)-1;
	int64_t version = 0, newest = INT64_MIN, now = clock_now_ms();
	int64_t grace = a->opt.access_ttl_ms + AUTH_JWT_LEEWAY * 1000LL;
	int ret = -1, rc;

	if (!c)
		return -1;
	if (db_begin_read(c, e) < 0)
		goto out;
	if (!(s = db_prepare(c, "SELECT keys_version FROM auth_state WHERE id = 1", e)) || (rc = db_step(s, e)) < 0)
		goto fail;
	if (rc == 0) {
		err_set(e, ERR_INTERNAL, "auth_state has no row: is migration 0003 applied?");
		goto fail;
	}
	version = db_col_int(s, 0);
	db_finalize(s);
	s = db_prepare(c, "SELECT kid, private_pem, created_at, retired_at FROM signing_keys "
			  "WHERE retired_at IS NULL OR retired_at > $1 ORDER BY created_at, kid", e);
	if (!s || db_bind_int(s, 1, now - grace) < 0)
		goto fail;
	while ((rc = db_step(s, e)) == 1) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 4;
			struct auth_key_spec *ns = realloc(specs, ncap * sizeof(*ns));
			char **nk = ns ? realloc(kids, ncap * sizeof(*nk)) : NULL;
			char **np = nk ? realloc(pems, ncap * sizeof(*np)) : NULL;

			if (ns)
				specs = ns;
			if (nk)
				kids = nk;
			if (!np) {
				err_set(e, ERR_NOMEM, "out of memory");
				goto fail;
			}
			pems = np;
			cap = ncap;
		}
		kids[n] = strdup(db_col_text(s, 0) ? db_col_text(s, 0) : "");
		pems[n] = strdup(db_col_text(s, 1) ? db_col_text(s, 1) : "");
		if (!kids[n] || !pems[n]) {
			free(kids[n]);
			free(pems[n]);
			err_set(e, ERR_NOMEM, "out of memory");
			goto fail;
		}
		specs[n].kid = kids[n];
		specs[n].private_pem = pems[n];
		specs[n].current = false;
		specs[n].valid_until_ms = db_col_null(s, 3) ? INT64_MAX : db_col_int(s, 3) + grace;
		/* Two unretired keys can only come from a race between first starts: the newest signs,
		 * the other still verifies. */
		if (db_col_null(s, 3) && db_col_int(s, 2) >= newest) {
			newest = db_col_int(s, 2);
			current = n;
		}
		n++;
	}
	if (rc < 0)
		goto fail;
	db_finalize(s);
	s = NULL;
	db_commit(c, NULL);
	if (current != (size_t)-1)
		specs[current].current = true;
	if (auth_keyring_set(a->keys, specs, n, e) < 0)
		goto out;
	a->keys_version = version;
	ret = 0;
	goto out;
fail:
	db_finalize(s);
	s = NULL;
	db_rollback(c, NULL);
out:
	db_finalize(s);
	for (size_t i = 0; i < n; i++) {
		free(kids[i]);
		OPENSSL_clear_free(pems[i], strlen(pems[i]));
	}
	free(kids);
	free(pems);
	free(specs);
	db_release(c);
	return ret;
}

/* Insert a new current key and retire the others, in one transaction that holds the
 * auth_state row lock, so two processes never both add a "first" key. When `only_if_none`,
 * does nothing if a current key exists already. */
static int keys_add(struct auth *a, bool only_if_none, char *kid_out, struct err *e)
{
	struct db_conn *c = db_acquire(a->db, e);
	struct db_stmt *s = NULL;
	char *pem = NULL, kid[AUTH_KID_MAX + 1];
	int64_t now = clock_now_ms();
	int ret = -1;

	if (!c)
		return -1;
	if (db_begin(c, e) < 0)
		goto out;
	if (!(s = db_prepare(c, "UPDATE auth_state SET keys_version = keys_version + 1 WHERE id = 1", e)) ||
	    db_step(s, e) < 0)
		goto out;
	db_finalize(s);
	if (only_if_none) {
		int rc;

		s = db_prepare(c, "SELECT 1 FROM signing_keys WHERE retired_at IS NULL", e);
		if (!s || (rc = db_step(s, e)) < 0)
			goto out;
		if (rc == 1) {
			db_finalize(s);
			s = NULL;
			ret = db_rollback(c, e);
			goto out;
		}
		db_finalize(s);
	}
	s = NULL;
	if (auth_key_generate(&pem, kid, e) < 0)
		goto out;
	if (!(s = db_prepare(c, "UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL", e)) ||
	    db_bind_int(s, 1, now) < 0 || db_step(s, e) < 0)
		goto out;
	db_finalize(s);
	s = db_prepare(c, "DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < $1", e);
	if (!s || db_bind_int(s, 1, now - a->opt.access_ttl_ms - AUTH_JWT_LEEWAY * 1000LL) < 0 || db_step(s, e) < 0)
		goto out;
	db_finalize(s);
	s = db_prepare(c, "INSERT INTO signing_keys (kid, alg, private_pem, created_at) VALUES ($1, 'ES256', $2, $3)", e);
	if (!s || db_bind_str(s, 1, kid) < 0 || db_bind_str(s, 2, pem) < 0 || db_bind_int(s, 3, now) < 0 ||
	    db_step(s, e) < 0)
		goto out;
	db_finalize(s);
	s = NULL;
	if (db_commit(c, e) < 0)
		goto out;
	auth_audit(a, "key_rotated", NULL, NULL, kid);
	if (kid_out)
		memcpy(kid_out, kid, strlen(kid) + 1);
	ret = 0;
out:
	db_finalize(s);
	if (pem)
		OPENSSL_clear_free(pem, strlen(pem));
	db_release(c);
	return ret;
}

int auth_keys_rotate(struct auth *a, char *kid, struct err *e)
{
	int ret;

	pthread_mutex_lock(&a->keys_lock);
	ret = keys_add(a, false, kid, e);
	if (ret == 0)
		ret = auth_keys_load(a, e);
	pthread_mutex_unlock(&a->keys_lock);
	return ret;
}

int auth_keys_refresh(struct auth *a, bool force, struct err *e)
{
	int64_t now = clock_mono_ns(), last;
	struct db_conn *c;
	struct db_stmt *s = NULL;
	int ret = -1;

	if (force) {
		last = atomic_load(&a->keys_forced_ns);
		if (now - last < FORCED_RELOAD_NS || !atomic_compare_exchange_strong(&a->keys_forced_ns, &last, now))
			return 0;
	} else {
		last = atomic_load(&a->keys_checked_ns);
		if (now - last < AUTH_KEYS_POLL_MS * 1000000LL ||
		    !atomic_compare_exchange_strong(&a->keys_checked_ns, &last, now))
			return 0;
	}
	if (!(c = db_acquire(a->db, e)))
		return -1;
	pthread_mutex_lock(&a->keys_lock);
	if (!(s = db_prepare(c, "SELECT keys_version FROM auth_state WHERE id = 1", e)) || db_step(s, e) != 1)
		goto out;
	/* A changed version, or the periodic check: also drops keys whose grace time ended. */
	if (db_col_int(s, 0) != a->keys_version || !force) {
		db_finalize(s);
		s = NULL;
		if (auth_keys_load(a, e) < 0)
			goto out;
	}
	ret = 0;
out:
	db_finalize(s);
	pthread_mutex_unlock(&a->keys_lock);
	db_release(c);
	return ret;
}

/* ---- lifetime ---- */

struct auth *auth_new(struct db *db, const struct auth_options *opt, struct err *e)
{
	struct auth *a = calloc(1, sizeof(*a));

	if (!a) {
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	a->db = db;
	a->opt = *opt;
	a->opt.access_ttl_ms = ttl_or(opt->access_ttl_ms, 15 * 60 * 1000LL);
	a->opt.refresh_ttl_ms = ttl_or(opt->refresh_ttl_ms, 30 * 24 * 3600 * 1000LL);
	if (!a->opt.argon2.memory_kib)
		a->opt.argon2 = (struct auth_argon2){ 19456, 2, 1 };
	pthread_mutex_init(&a->keys_lock, NULL);
	a->issuer = strdup(opt->issuer && *opt->issuer ? opt->issuer : "tonearm");
	a->opt.issuer = a->issuer;
	if (!a->issuer || !(a->keys = auth_keyring_new(a->issuer, e)) || !(a->tokens = auth_tokcache_new())) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto fail;
	}
	if (keys_add(a, true, NULL, e) < 0 || auth_keys_load(a, e) < 0)
		goto fail;
	atomic_store(&a->keys_checked_ns, clock_mono_ns());
	/* The dummy hash has the configured cost, so an unknown name costs what a known one does;
	 * it is built, not hashed (see auth_password_dummy), which keeps an Argon2id run off every start. */
	if (auth_password_dummy(&a->opt.argon2, &a->dummy_hash, e) < 0)
		goto fail;
	return a;
fail:
	err_wrap(e, "identity");
	auth_free(a);
	return NULL;
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	auth_keyring_free(a->keys);
	auth_tokcache_free(a->tokens);
	pthread_mutex_destroy(&a->keys_lock);
	free(a->dummy_hash);
	free(a->issuer);
	free(a);
}

int64_t auth_access_ttl(const struct auth *a)
{
	return a->opt.access_ttl_ms / 1000;
}

enum auth_registration auth_registration_mode(const struct auth *a)
{
	return a->opt.registration;
}

/* ---- tokens ---- */

int auth_verify_access(struct auth *a, const char *token, size_t len, struct auth_principal *out, struct err *e)
{
	struct auth_claims c;
	enum auth_role role;
	unsigned scopes;
	int64_t now = clock_now_ms() / 1000;
	/* Read before verifying: if the keys change meanwhile, the entry is stale, never wrong. */
	uint64_t gen = auth_keyring_gen(a->keys);

	if (auth_tokcache_get(a->tokens, token, len, gen, now, out))
		return 0;
	if (auth_jwt_verify(a->keys, token, len, now, &c, e) < 0)
		return -1;
	if (!id_valid(c.sub) || (c.sid[0] && !id_valid(c.sid)) || auth_role_parse(c.role, &role, NULL) < 0 ||
	    auth_scope_parse(c.scope, &scopes, NULL) < 0)
		return err_set(e, ERR_UNAUTHORIZED, "invalid token: malformed claims");
	memset(out, 0, sizeof(*out));
	memcpy(out->user_id, c.sub, ID_LEN + 1);
	if (c.sid[0])
		memcpy(out->session_id, c.sid, ID_LEN + 1);
	out->role = role;
	out->scopes = scopes;
	out->perms = auth_role_perms(role) & scopes;
	out->expires_at = c.exp;
	/* auth_jwt_verify refuses a token from the second now - AUTH_JWT_LEEWAY reaches exp. */
	auth_tokcache_put(a->tokens, token, len, gen, c.exp + AUTH_JWT_LEEWAY, out);
	return 0;
}

bool auth_principal_can(const struct auth_principal *p, unsigned perms)
{
	if (!perms)
		return true;
	return p && (p->perms & perms) == perms;
}

bool auth_may_have_rendition(const struct auth_principal *p, int bitrate_kbps, bool lossless)
{
	return p && auth_perms_allow_rendition(p->perms, bitrate_kbps, lossless);
}

char *auth_jwks(struct auth *a)
{
	return auth_keyring_jwks(a->keys);
}

/* ---- first start ---- */

int auth_bootstrap_admin(struct auth *a, const char *password, char *generated, size_t cap, bool *created,
			 struct err *e)
{
	struct db_conn *c = db_acquire(a->db, e);
	struct db_stmt *s = NULL;
	struct auth_user_input in = { .username = "admin", .role = AUTH_ROLE_ADMIN };
	struct auth_user u;
	int ret = -1, rc;

	*created = false;
	if (generated && cap)
		generated[0] = '\0';
	if (!c)
		return -1;
	s = db_prepare(c, "SELECT 1 FROM users WHERE role = 'admin' LIMIT 1", e);
	if (!s || (rc = db_step(s, e)) < 0)
		goto out;
	db_finalize(s);
	s = NULL;
	if (rc == 1) {
		ret = 0;
		goto out;
	}
	if (password && *password) {
		in.password = password;
	} else {
		if (!generated || auth_password_generate(generated, cap) < 0) {
			err_set(e, ERR_INTERNAL, "cannot generate a password");
			goto out;
		}
		in.password = generated;
	}
	in.password_len = strlen(in.password);
	if (auth_user_create(a, &in, &u, e) < 0) {
		err_wrap(e, "creating the first admin account");
		goto out;
	}
	*created = true;
	ret = 0;
out:
	db_finalize(s);
	db_release(c);
	return ret;
}
