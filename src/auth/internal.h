/* internal.h — what the files of auth/ share; not for other modules. */
#ifndef TONEARM_AUTH_INTERNAL_H
#define TONEARM_AUTH_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "auth/auth.h"
#include "auth/jwt.h"
#include "auth/tokcache.h"
#include "db/db.h"

struct auth {
	struct db *db;
	struct auth_keyring *keys;
	struct auth_tokcache *tokens; /* verified access tokens (tokcache.h) */
	struct auth_options opt;
	char *issuer;
	char *dummy_hash;       /* verified against when the user name is unknown */
	pthread_mutex_t keys_lock; /* one reload at a time */
	int64_t keys_version;   /* under keys_lock */
	_Atomic int64_t keys_checked_ns, keys_forced_ns;
};

/* SHA-256 of a secret handed to a client (refresh token, invitation code). */
void auth_secret_hash(const char *secret, unsigned char out[32]);

/* Lower-case ASCII copy of `s` into out (cap bytes). */
void auth_lower(const char *s, char *out, size_t cap);

/* One audit event: a log line and a row of audit_events (best effort: a failed insert is
 * logged, never reported). event, user (may be NULL), peer (may be NULL), detail (may be NULL:
 * never a secret). Inside a transaction on this thread's connection the row joins it. */
void auth_audit(struct auth *a, const char *event, const char *user_id, const char *peer, const char *detail);

/* Revoke every live session of `user_id` except `keep` (may be NULL), on connection `c`. */
int auth_revoke_user_sessions(struct db_conn *c, const char *user_id, const char *keep, int64_t now,
			      struct err *e);

/* Insert an account row (password already hashed) on `c`; fills *out. */
int auth_user_insert(struct db_conn *c, const char *username, const char *email, const char *hash,
		     enum auth_role role, struct auth_user *out, struct err *e);

/* Hash `in`'s password after checking every field; *hash is the caller's to free. */
int auth_user_prepare(struct auth *a, const struct auth_user_input *in, char **hash, struct err *e);

/* Check a user name and password with the same Argon2id work whether or not the account
 * exists (auth_login's verification path, without opening a session): 0 and *user filled, or
 * ERR_UNAUTHORIZED "invalid username or password" (audited as login_failed). Re-hashes the
 * password when the parameters changed. */
int auth_credentials_verify(struct auth *a, const char *username, const char *password, size_t password_len,
			    const char *peer, struct auth_user *user, struct err *e);

/* Open a session for `user_id` with its first refresh token and an access token. client_id
 * and scope (both may be NULL: a first-party sign-in with every scope of the role) bind the
 * session to an OAuth client and the scopes it was granted; refreshes keep them. */
int auth_session_open(struct auth *a, const char *user_id, enum auth_role role, const struct auth_client *cl,
		      const char *client_id, const char *scope, struct auth_tokens *out, struct err *e);

/* An access token without a session: sub = `subject`, role, scope (NULL: the role's). */
int auth_access_issue(struct auth *a, const char *subject, enum auth_role role, const char *scope,
		      struct auth_tokens *out, struct err *e);

/* Rotate a refresh token like auth_refresh, but only for a session of `client_id` (NULL: only a
 * first-party session). A token of another client is ERR_UNAUTHORIZED and spends nothing. */
int auth_refresh_for(struct auth *a, const char *refresh_token, const char *client_id, const struct auth_client *cl,
		     struct auth_tokens *out, struct err *e);

/* Revoke a session by id (no owner check). 0 also when it was already revoked. */
int auth_session_kill(struct auth *a, const char *session_id, struct err *e);

/* Load the keys from the database into the keyring (under keys_lock). */
int auth_keys_load(struct auth *a, struct err *e);

#endif
