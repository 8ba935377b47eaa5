/* mail.h (api) — the e-mail routes: verifying an address and resetting a forgotten password.
 *
 * Tokens come from auth/verify.h; messages go out through the mailer port (mail/mail.h) in
 * struct api. Links point at api->issuer (the public base URL). Every route here blocks
 * (database, Argon2id, sending mail), so all are HTTP_BLOCKING.
 *
 *   POST /api/v1/auth/verify-email             {"token"} → 200 the account, email_verified true
 *   POST /api/v1/me/email/verify               mail a new verification link → 202
 *   POST /api/v1/auth/password-reset           {"username"} or {"email"} → always 202
 *   POST /api/v1/auth/password-reset/confirm   {"token","password"} → 204
 *
 * A used, expired or unknown token answers 400; a password breaking the rules 422. A reset
 * request answers 202 whether or not the account exists, and only an existing account with
 * an address is mailed.
 */
#ifndef TONEARM_API_MAIL_H
#define TONEARM_API_MAIL_H

struct http_req;
struct api;
struct auth_user;

void api_auth_verify_email(struct http_req *req, void *app);
void api_me_email_verify(struct http_req *req, void *app);
void api_auth_password_forgot(struct http_req *req, void *app);
void api_auth_password_reset(struct http_req *req, void *app);

/* After a registration with an address: mail the verification link. Best effort — a failure
 * is logged (without the token) and the registration stands; the user can ask again. */
void api_mail_welcome(struct api *a, const struct auth_user *u, const char *request_id);

#endif
