/* auth.h — identity: accounts, passwords, sessions, access and refresh tokens, signing keys.
 *
 * The domain module behind sign-in and every permission check. It owns the tables of
 * migration 0003 (users, sessions, refresh_tokens, signing_keys, invitations, auth_state)
 * and talks to them only through db/. It never sees HTTP: api/auth.c turns requests into these
 * calls and the principal into answers.
 *
 * Tokens. Access tokens are ES256 JWTs (jwt.h) that live `access_ttl_ms`, carrying sub (user
 * id), role, scope, sid (session), jti. Refresh tokens are 256 random bits in base64url,
 * stored as SHA-256, rotated on every use; presenting one that was already rotated revokes
 * its whole session (the family) — someone holds a copy. A session is one sign-in on one
 * device. Access tokens are not looked up per request, so revoking a session stops its
 * refreshes at once and its access tokens within access_ttl_ms.
 *
 * Keys. Signing keys live in the database (signing_keys, PEM, not yet wrapped by a master
 * key). Each process holds them in memory; auth_keys_refresh() reloads them when the
 * database's key version changed (checked at most every AUTH_KEYS_POLL_MS, or at once — at
 * most once a second — when a token names an unknown kid). A retired key verifies for
 * access_ttl_ms (+ leeway) after its retirement, then it is dropped.
 *
 * Where things may run. "quick" functions never block (no database, no hashing): call them
 * on an event loop. Everything else is "blocking": the handler pool or the command line.
 *
 * Errors: ERR_INVALID (a field breaks a rule; the message names it), ERR_UNAUTHORIZED (bad
 * credentials or token: the message never says whether an account exists), ERR_FORBIDDEN,
 * ERR_CONFLICT (a name or e-mail already taken), ERR_NOT_FOUND, and the database's errors.
 * Every sign-in, failure, revocation, role change, deletion and key rotation writes an
 * "audit" log line (event, user, peer); never a password or token.
 */
#ifndef TONEARM_AUTH_AUTH_H
#define TONEARM_AUTH_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/password.h"
#include "auth/perm.h"
#include "base/err.h"
#include "base/id.h"

struct db;
struct auth;

#define AUTH_USERNAME_MIN 3
#define AUTH_USERNAME_MAX 64
#define AUTH_EMAIL_MAX 254
#define AUTH_REFRESH_LEN 43   /* base64url of 32 bytes */
#define AUTH_INVITE_LEN 32    /* base64url of 24 bytes */
#define AUTH_KEYS_POLL_MS 5000
#define AUTH_UA_MAX 256
#define AUTH_PEER_MAX 64

enum auth_registration { AUTH_REG_OPEN = 0, AUTH_REG_INVITE, AUTH_REG_CLOSED };

struct auth_options {
	const char *issuer;          /* iss of our tokens; NULL: "tonearm" */
	int64_t access_ttl_ms;       /* 0: 15 minutes */
	int64_t refresh_ttl_ms;      /* 0: 30 days */
	struct auth_argon2 argon2;   /* zeros: the OWASP minimum (19456 KiB, 2, 1) */
	enum auth_registration registration;
};

/* Who a request is from, as an access token says. */
struct auth_principal {
	char user_id[ID_LEN + 1];
	char session_id[ID_LEN + 1]; /* "" when the token belongs to no session */
	enum auth_role role;
	unsigned scopes;             /* the permissions the token's scopes grant */
	unsigned perms;              /* role ∩ scopes: what this principal may do */
	int64_t expires_at;          /* seconds since the epoch */
};

struct auth_user {
	char id[ID_LEN + 1];
	char username[AUTH_USERNAME_MAX + 1];
	char email[AUTH_EMAIL_MAX + 1]; /* "" when none */
	enum auth_role role;
	bool disabled;
	int64_t created_at, updated_at; /* ms */
};

/* What creating an account takes. `email` and `invitation` may be NULL. */
struct auth_user_input {
	const char *username;
	const char *email;
	const char *password;
	size_t password_len;
	enum auth_role role;         /* admin creation only; registration uses free or the invitation's */
	const char *invitation;
};

struct auth_client {
	const char *user_agent;      /* may be NULL; cut to AUTH_UA_MAX bytes */
	const char *peer;            /* the client's address; may be NULL */
};

struct auth_tokens {
	char *access_token;          /* owned: auth_tokens_release() frees it */
	char refresh_token[AUTH_REFRESH_LEN + 1];
	int64_t expires_in;          /* seconds the access token lives */
	char session_id[ID_LEN + 1];
	char user_id[ID_LEN + 1];
};

struct auth_session {
	char id[ID_LEN + 1];
	char user_agent[AUTH_UA_MAX + 1];
	char peer[AUTH_PEER_MAX + 1];
	int64_t created_at, last_used_at, expires_at; /* ms */
};

struct auth_invitation {
	char id[ID_LEN + 1];
	char code[AUTH_INVITE_LEN + 1]; /* shown once; only its hash is stored */
	enum auth_role role;
	int64_t expires_at;             /* ms */
};

/* ---- lifetime (blocking) ---- */

/* Open identity over a migrated database: make sure a signing key exists (creating the first
 * one), load the keys, prepare the dummy hash that sign-ins for unknown names verify against.
 * The caller frees it with auth_free() after every user is done; `db` must outlive it. */
struct auth *auth_new(struct db *db, const struct auth_options *opt, struct err *e);
void auth_free(struct auth *a);

/* The first start: when no admin account exists, create "admin" with `password` (NULL or ""
 * to generate one, written into `generated` of `cap` ≥ 33 bytes, for the caller to show once).
 * *created says whether an account was made. ERR_CONFLICT when the name "admin" is taken by a
 * non-admin; ERR_INVALID when `password` breaks the rules. */
int auth_bootstrap_admin(struct auth *a, const char *password, char *generated, size_t cap, bool *created,
			 struct err *e);

/* ---- quick ---- */

/* Verify an access token and fill *out. ERR_UNAUTHORIZED with the reason (see jwt.h) when
 * it is not valid now. Also refused: a role or scope this server does not know. */
int auth_verify_access(struct auth *a, const char *token, size_t len, struct auth_principal *out, struct err *e);

/* True when the principal holds every bit of `perms`. NULL is nobody (false unless perms 0). */
bool auth_principal_can(const struct auth_principal *p, unsigned perms);

/* Whether `p` may receive a rendition: free up to 128 kb/s lossy, premium (and above)
 * everything. NULL (not signed in) may have nothing. */
bool auth_may_have_rendition(const struct auth_principal *p, int bitrate_kbps, bool lossless);

/* The public keys as a JWK Set (NUL-terminated JSON, caller frees); NULL when out of memory. */
char *auth_jwks(struct auth *a);

/* The access token lifetime in seconds (for expires_in and caching headers). */
int64_t auth_access_ttl(const struct auth *a);

/* The configured registration mode. */
enum auth_registration auth_registration_mode(const struct auth *a);

/* ---- keys (blocking) ---- */

/* Reload the keys when the database's key version changed. Without `force`, asks the database
 * at most every AUTH_KEYS_POLL_MS (else returns 0 at once); with it, at most once a second. */
int auth_keys_refresh(struct auth *a, bool force, struct err *e);

/* Make a new signing key current, retire the current one, drop keys retired more than the
 * access token lifetime (+ leeway) ago, reload. `kid` (AUTH_KID_MAX + 1 bytes, may be NULL)
 * gets the new key's id. */
int auth_keys_rotate(struct auth *a, char *kid, struct err *e);

/* ---- sign-in and sessions (blocking) ---- */

/* Check a user name and password and open a session. ERR_UNAUTHORIZED "invalid username or
 * password" for an unknown name, a wrong password or a disabled account, after the same
 * Argon2id work in each case. Re-hashes the password when the parameters changed. */
int auth_login(struct auth *a, const char *username, const char *password, size_t password_len,
	       const struct auth_client *client, struct auth_tokens *out, struct err *e);

/* Rotate a refresh token: the old one is spent, a new pair is issued with the account's
 * current role. ERR_UNAUTHORIZED for an unknown, expired or revoked token; for a token already
 * rotated, the whole session is revoked first (reuse detection). */
int auth_refresh(struct auth *a, const char *refresh_token, const struct auth_client *client,
		 struct auth_tokens *out, struct err *e);

/* Revoke the session (family) of a refresh token. Unknown tokens are not an error (0). */
int auth_logout(struct auth *a, const char *refresh_token, struct err *e);

void auth_tokens_release(struct auth_tokens *t);

/* The account's live sessions (not revoked, not expired), oldest first, at most 1000.
 * *out (caller frees) and *n. */
int auth_sessions_list(struct auth *a, const char *user_id, struct auth_session **out, size_t *n, struct err *e);

/* Revoke one of the account's sessions. ERR_NOT_FOUND when it is not theirs or gone. */
int auth_session_revoke(struct auth *a, const char *user_id, const char *session_id, struct err *e);

/* ---- accounts (blocking) ---- */

/* 0 when `s` is a valid user name (3–64 of A–Z a–z 0–9 . _ -), else ERR_INVALID. */
int auth_username_check(const char *s, struct err *e);

/* 0 when `s` is a plausible e-mail address (≤ 254 bytes, local@domain.tld, no space or
 * control character), else ERR_INVALID. */
int auth_email_check(const char *s, struct err *e);

/* Self-service registration under the configured mode: ERR_FORBIDDEN when closed, or when
 * invitation-only and `in->invitation` is missing; ERR_INVALID for an unknown, used or
 * expired invitation. The account gets the invitation's role, else free (in->role is
 * ignored). */
int auth_register(struct auth *a, const struct auth_user_input *in, struct auth_user *out, struct err *e);

/* Create an account with in->role (admins, the command line). */
int auth_user_create(struct auth *a, const struct auth_user_input *in, struct auth_user *out, struct err *e);

int auth_user_get(struct auth *a, const char *id, struct auth_user *out, struct err *e);
int auth_user_by_name(struct auth *a, const char *username, struct auth_user *out, struct err *e);

/* Accounts ordered by id after `after` (NULL: from the start), at most `limit` (1–1000).
 * *out (caller frees) and *n. */
int auth_user_list(struct auth *a, const char *after, int limit, struct auth_user **out, size_t *n, struct err *e);

/* Change an account's role and/or disabled flag (NULL: keep). Disabling revokes its
 * sessions. *out (may be NULL) gets the result. */
int auth_user_update(struct auth *a, const char *id, const enum auth_role *role, const bool *disabled,
		     struct auth_user *out, struct err *e);

/* Delete an account with its sessions. ERR_NOT_FOUND when there is none. */
int auth_user_delete(struct auth *a, const char *id, struct err *e);

/* Change one's own password: ERR_UNAUTHORIZED when `old` is wrong, ERR_INVALID when `new`
 * breaks the rules. Revokes every other session (all of them when keep_session is NULL). */
int auth_password_change(struct auth *a, const char *user_id, const char *old, size_t old_len, const char *pw,
			 size_t len, const char *keep_session, struct err *e);

/* Set a password without the old one (admins, the command line); revokes every session. */
int auth_password_set(struct auth *a, const char *user_id, const char *pw, size_t len, struct err *e);

/* A single-use invitation for `role`, valid `ttl_ms` (0: 7 days), made by `created_by` (may be
 * NULL). The code is in out->code, shown once. */
int auth_invitation_create(struct auth *a, const char *created_by, enum auth_role role, int64_t ttl_ms,
			   struct auth_invitation *out, struct err *e);

/* ---- the audit trail (blocking; src/auth/audit.c) ---- */

#define AUTH_AUDIT_EVENT_MAX 64
#define AUTH_AUDIT_DETAIL_MAX 256

/* One stored audit event (sign-ins, failures, revocations, role changes, keys, OAuth grants). */
struct auth_audit_event {
	char id[ID_LEN + 1];                      /* ULID: newer events sort after older ones */
	int64_t at;                               /* ms */
	char event[AUTH_AUDIT_EVENT_MAX + 1];
	char user_id[ID_LEN + 1];                 /* "" when none */
	char peer[AUTH_PEER_MAX + 1];             /* "" when unknown */
	char detail[AUTH_AUDIT_DETAIL_MAX + 1];   /* "" when none; never a secret */
};

/* Events newest first, before the event id `cursor` (NULL: from the newest), at most `limit`
 * (1–1000), only of `user_id` and/or `event` when not NULL. *out (caller frees) and *n.
 * ERR_INVALID for a malformed cursor. */
int auth_audit_list(struct auth *a, const char *cursor, int limit, const char *user_id, const char *event,
		    struct auth_audit_event **out, size_t *n, struct err *e);

#endif
