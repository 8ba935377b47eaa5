/* verify.h — the single-use, expiring tokens that e-mail carries: verifying an account's
 * address and resetting a forgotten password (see auth.h for the module).
 *
 * A token is 256 random bits in base64url (AUTH_MAIL_TOKEN_LEN characters), handed out once
 * for the caller to mail and stored only as its SHA-256 in email_tokens (migration 0010).
 * Spending one is atomic: of two requests with the same token, one wins. A used, expired or
 * unknown token is ERR_INVALID "the link is invalid, used or expired" — the same words for all
 * three, so a guess learns nothing. This module sends nothing: api/ mails what it returns
 * (auth/ stays free of the mailer).
 *
 * Every function here blocks (database, and Argon2id for the reset).
 */
#ifndef TONEARM_AUTH_VERIFY_H
#define TONEARM_AUTH_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/auth.h"

#define AUTH_MAIL_TOKEN_LEN 43 /* base64url of 32 bytes */
#define AUTH_VERIFY_TTL_DEFAULT_MS (24 * 3600 * 1000LL)
#define AUTH_RESET_TTL_DEFAULT_MS (3600 * 1000LL)

/* What to mail: the token and the address it goes to. */
struct auth_mail_token {
	char token[AUTH_MAIL_TOKEN_LEN + 1];
	char email[AUTH_EMAIL_MAX + 1];
	char username[AUTH_USERNAME_MAX + 1];
	char user_id[ID_LEN + 1];
	int64_t expires_at; /* ms */
};

/* A verification token for the account's current address, valid `ttl_ms` (≤ 0: 24 hours).
 * ERR_NOT_FOUND for no such account; ERR_INVALID when it has no address; ERR_CONFLICT when
 * the address is verified already. */
int auth_verify_email_issue(struct auth *a, const char *user_id, int64_t ttl_ms, struct auth_mail_token *out,
			    struct err *e);

/* Spend a verification token: the account's address is verified when it is still the one
 * the token was sent to (else ERR_INVALID). *out (may be NULL) gets the account. */
int auth_verify_email(struct auth *a, const char *token, struct auth_user *out, struct err *e);

/* Whether the account's current address is verified. ERR_NOT_FOUND for no such account. */
int auth_email_verified(struct auth *a, const char *user_id, bool *verified, struct err *e);

/* A password reset for `who` (a user name, or an address when it holds '@'), valid `ttl_ms`
 * (≤ 0: 1 hour). Returns 0 whether or not such an account exists: *found says whether *out
 * holds a token to mail (never for an unknown name, a disabled account or one without an
 * address). The caller must answer the same in both cases. */
int auth_password_reset_issue(struct auth *a, const char *who, int64_t ttl_ms, bool *found,
			      struct auth_mail_token *out, struct err *e);

/* Spend a reset token and set the account's password to `pw`: ERR_INVALID when the password
 * breaks the rules (the token is then left unspent) or the token is unknown, used or expired.
 * Revokes every session of the account and every other reset token it had; the address it
 * was mailed to counts as verified from then on. */
int auth_password_reset(struct auth *a, const char *token, const char *pw, size_t len, struct err *e);

#endif
