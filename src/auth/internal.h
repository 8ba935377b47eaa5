/* internal.h — what the files of auth/ share; not for other modules. */
#ifndef TONEARM_AUTH_INTERNAL_H
#define TONEARM_AUTH_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "auth/auth.h"
#include "auth/jwt.h"
#include "db/db.h"

struct auth {
	struct db *db;
	struct auth_keyring *keys;
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

/* One "audit" log line: event, user (may be NULL), peer (may be NULL), detail (may be NULL). */
void auth_audit(const char *event, const char *user_id, const char *peer, const char *detail);

/* Revoke every live session of `user_id` except `keep` (may be NULL), on connection `c`. */
int auth_revoke_user_sessions(struct db_conn *c, const char *user_id, const char *keep, int64_t now,
			      struct err *e);

/* Insert an account row (password already hashed) on `c`; fills *out. */
int auth_user_insert(struct db_conn *c, const char *username, const char *email, const char *hash,
		     enum auth_role role, struct auth_user *out, struct err *e);

/* Hash `in`'s password after checking every field; *hash is the caller's to free. */
int auth_user_prepare(struct auth *a, const struct auth_user_input *in, char **hash, struct err *e);

/* Load the keys from the database into the keyring (under keys_lock). */
int auth_keys_load(struct auth *a, struct err *e);

#endif
