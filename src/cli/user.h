/* user.h (cli) — identity on the command line: `tonearm user …`, `tonearm keys rotate`, and
 * the set-up `tonearm serve` shares with them. */
#ifndef TONEARM_CLI_USER_H
#define TONEARM_CLI_USER_H

#include "base/err.h"

struct config;
struct db;
struct auth;

/* Open identity over `db` (migrated) with the configured token lifetimes, issuer, Argon2id
 * parameters and registration mode. *out is the caller's to auth_free(). */
int cli_open_auth(const struct config *conf, struct db *db, struct auth **out, struct err *e);

/* First start: create the admin account when none exists, with admin_password
 * (TONEARM_ADMIN_PASSWORD) or a generated password printed once to stderr — never to the log.
 * A non-admin account already named "admin" only earns a warning. */
int cli_bootstrap_admin(const struct config *conf, struct auth *auth, struct err *e);

/* `tonearm user list|add|set-role|disable|enable|delete|passwd …` (cli/user.c). */
int cmd_user(const struct config *conf, int argc, char **argv);

/* `tonearm keys rotate` (cli/keys.c). */
int cmd_keys(const struct config *conf, int argc, char **argv);

#endif
