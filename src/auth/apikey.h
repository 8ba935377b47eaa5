/* apikey.h — app passwords / API keys: long-lived secrets a user makes for a script, a player
 * or a Subsonic client, each limited to the scopes it was given.
 *
 * A key is shown once as `ta_<id>_<secret>` (id: the key's ULID; secret: 43 base64url
 * characters, 256 random bits). Only the SHA-256 of the secret is stored (a copy of the
 * database signs nobody in) and it is compared in constant time. A key's permissions are the
 * owner's role *now* ∩ the key's scopes, so demoting or disabling the owner limits or stops
 * their keys at once. last_used_at is kept to the minute (at most one write a minute per key).
 *
 * Every check reads the database: blocking (the handler pool or the command line).
 * Errors: ERR_INVALID (a field breaks a rule), ERR_UNAUTHORIZED (unknown, revoked or wrong key,
 * disabled owner: the message never says which), ERR_NOT_FOUND, and the database's errors.
 */
#ifndef TONEARM_AUTH_APIKEY_H
#define TONEARM_AUTH_APIKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "auth/jwt.h"

#define AUTH_APIKEY_PREFIX "ta_"
#define AUTH_APIKEY_SECRET_LEN 43
#define AUTH_APIKEY_LEN (3 + ID_LEN + 1 + AUTH_APIKEY_SECRET_LEN)
#define AUTH_APIKEY_NAME_MAX 128
#define AUTH_APIKEY_MAX_PER_USER 100

struct auth_apikey {
	char id[ID_LEN + 1];
	char user_id[ID_LEN + 1];
	char name[AUTH_APIKEY_NAME_MAX + 1];
	char scope[AUTH_SCOPE_MAX + 1];
	int64_t created_at, last_used_at; /* ms; last_used_at 0 when never used */
};

/* Whether `s` has the shape of a key (prefix, id, '_', secret length). Quick, no database. */
bool auth_apikey_looks(const char *s);

/* Make a key for `user_id` named `name` (1–128 bytes of UTF-8) with `scope` (NULL: every scope;
 * what it grants is still bounded by the role). `key` (AUTH_APIKEY_LEN + 1 bytes) gets the key
 * to show once; *out (may be NULL) its record. ERR_INVALID for a bad name or scope, or more
 * than AUTH_APIKEY_MAX_PER_USER keys. */
int auth_apikey_create(struct auth *a, const char *user_id, const char *name, const char *scope,
		       struct auth_apikey *out, char *key, struct err *e);

/* The user's keys, oldest first: *out (caller frees) and *n. */
int auth_apikey_list(struct auth *a, const char *user_id, struct auth_apikey **out, size_t *n, struct err *e);

/* Revoke (delete) one of the user's keys. ERR_NOT_FOUND when it is not theirs or gone. */
int auth_apikey_delete(struct auth *a, const char *user_id, const char *id, struct err *e);

/* Check a presented key and fill *out as an access token would (user, role, scopes, perms;
 * no session, expires_at 0). `peer` (may be NULL) goes into the audit trail on failure. */
int auth_apikey_verify(struct auth *a, const char *key, const char *peer, struct auth_principal *out, struct err *e);

/* The same for protocols that send a user name with the secret (Subsonic's u + p): the key
 * must belong to `username`. ERR_UNAUTHORIZED otherwise. */
int auth_apikey_check(struct auth *a, const char *username, const char *key, const char *peer,
		      struct auth_principal *out, struct err *e);

#endif
