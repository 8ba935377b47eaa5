/* user.c (cli) — `tonearm user …`: account management from the command line, through the
 * same identity module as the API. Passwords come from standard input (one line) when it is
 * not a terminal, else they are generated and printed once. */
#include "cli/user.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "auth/auth.h"
#include "base/clock.h"
#include "base/config.h"
#include "base/log.h"
#include "cli/setup.h"
#include "db/db.h"
#include "db/migrate.h"

int cli_open_auth(const struct config *conf, struct db *db, struct auth **out, struct err *e)
{
	struct auth_options opt = {
		.issuer = conf->issuer,
		.access_ttl_ms = conf->access_token_ttl,
		.refresh_ttl_ms = conf->refresh_token_ttl,
		.argon2 = { (uint32_t)conf->argon2_memory, (uint32_t)conf->argon2_iterations,
			    (uint32_t)conf->argon2_parallelism },
		.registration = (enum auth_registration)conf->registration,
	};

	*out = auth_new(db, &opt, e);
	return *out ? 0 : -1;
}

int cli_bootstrap_admin(const struct config *conf, struct auth *auth, struct err *e)
{
	char pw[40];
	bool created;
	struct err be = ERR_INIT;

	if (auth_bootstrap_admin(auth, conf->admin_password, pw, sizeof(pw), &created, &be) < 0) {
		if (be.code != ERR_CONFLICT) {
			*e = be;
			return -1;
		}
		log_kv(LOG_WARN, NULL, "no admin account, and the name admin is taken", LOG_FIELDS(LOG_STR("error", be.msg)));
		return 0;
	}
	if (created) {
		log_kv(LOG_INFO, NULL, "created the first admin account",
		       LOG_FIELDS(LOG_STR("username", "admin"), LOG_BOOL("generated_password", pw[0] != '\0')));
		/* The one place a password is shown: stderr, not the JSON log, and only this once. */
		if (pw[0])
			fprintf(stderr,
				"tonearm: created the admin account \"admin\" with the password: %s\n"
				"tonearm: it is shown only now; change it with `tonearm user passwd admin`.\n",
				pw);
	}
	OPENSSL_cleanse(pw, sizeof(pw));
	return 0;
}

static int usage(void)
{
	fputs("usage: tonearm user list\n"
	      "       tonearm user add NAME [--role ROLE] [--email ADDRESS]   (password: stdin, or generated)\n"
	      "       tonearm user set-role NAME ROLE                         (admin|label|artist|premium|free)\n"
	      "       tonearm user disable NAME | enable NAME | delete NAME\n"
	      "       tonearm user passwd NAME                                (password: stdin, or generated)\n",
	      stderr);
	return 2;
}

/* One line from stdin when it is not a terminal; else (or when empty) a generated password,
 * which is then printed. 0 or -1. */
static int read_password(char *out, size_t cap, bool *generated)
{
	size_t n;

	*generated = false;
	out[0] = '\0';
	if (!isatty(0) && fgets(out, (int)cap, stdin)) {
		n = strlen(out);
		while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
			out[--n] = '\0';
	}
	if (out[0])
		return 0;
	*generated = true;
	return auth_password_generate(out, cap);
}

static void print_user(const struct auth_user *u)
{
	char t[CLOCK_RFC3339_LEN] = "";

	clock_rfc3339(u->created_at, t, sizeof(t));
	printf("%s  %-24s  %-8s  %-8s  %s  %s\n", u->id, u->username, auth_role_name(u->role),
	       u->disabled ? "disabled" : "active", t, u->email);
}

static int list(struct auth *a, struct err *e)
{
	char after[ID_LEN + 1] = "";
	struct auth_user *u;
	size_t n;

	do {
		if (auth_user_list(a, after, 500, &u, &n, e) < 0)
			return -1;
		for (size_t i = 0; i < n; i++)
			print_user(&u[i]);
		if (n)
			memcpy(after, u[n - 1].id, sizeof(after));
		free(u);
	} while (n == 500);
	return 0;
}

static int add(struct auth *a, int argc, char **argv, struct err *e)
{
	struct auth_user_input in = { .username = argv[0], .role = AUTH_ROLE_FREE };
	struct auth_user u;
	char pw[AUTH_PASSWORD_MAX + 2];
	bool generated;
	int ret = -1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--role") == 0 && i + 1 < argc) {
			if (auth_role_parse(argv[++i], &in.role, e) < 0)
				return -1;
		} else if (strcmp(argv[i], "--email") == 0 && i + 1 < argc) {
			in.email = argv[++i];
		} else {
			return err_set(e, ERR_INVALID, "unknown option '%s'", argv[i]);
		}
	}
	if (read_password(pw, sizeof(pw), &generated) < 0)
		return err_set(e, ERR_INTERNAL, "cannot generate a password");
	in.password = pw;
	in.password_len = strlen(pw);
	if (auth_user_create(a, &in, &u, e) == 0) {
		print_user(&u);
		if (generated)
			printf("password: %s\n", pw);
		ret = 0;
	}
	OPENSSL_cleanse(pw, sizeof(pw));
	return ret;
}

static int passwd(struct auth *a, const struct auth_user *u, struct err *e)
{
	char pw[AUTH_PASSWORD_MAX + 2];
	bool generated;
	int ret = -1;

	if (read_password(pw, sizeof(pw), &generated) < 0)
		return err_set(e, ERR_INTERNAL, "cannot generate a password");
	if (auth_password_set(a, u->id, pw, strlen(pw), e) == 0) {
		if (generated)
			printf("password: %s\n", pw);
		ret = 0;
	}
	OPENSSL_cleanse(pw, sizeof(pw));
	return ret;
}

static int run(struct auth *a, int argc, char **argv, struct err *e)
{
	const char *verb = argv[0];
	struct auth_user u;
	enum auth_role role;
	bool flag;

	if (strcmp(verb, "list") == 0)
		return argc == 1 ? list(a, e) : err_set(e, ERR_INVALID, "user list takes no arguments");
	if (argc < 2)
		return err_set(e, ERR_INVALID, "user %s needs a user name", verb);
	if (strcmp(verb, "add") == 0)
		return add(a, argc - 1, argv + 1, e);
	if (auth_user_by_name(a, argv[1], &u, e) < 0)
		return err_wrap(e, "%s", argv[1]);
	if (strcmp(verb, "set-role") == 0 && argc == 3) {
		if (auth_role_parse(argv[2], &role, e) < 0 || auth_user_update(a, u.id, &role, NULL, &u, e) < 0)
			return -1;
		print_user(&u);
		return 0;
	}
	if ((strcmp(verb, "disable") == 0 || strcmp(verb, "enable") == 0) && argc == 2) {
		flag = strcmp(verb, "disable") == 0;
		if (auth_user_update(a, u.id, NULL, &flag, &u, e) < 0)
			return -1;
		print_user(&u);
		return 0;
	}
	if (strcmp(verb, "delete") == 0 && argc == 2)
		return auth_user_delete(a, u.id, e);
	if (strcmp(verb, "passwd") == 0 && argc == 2)
		return passwd(a, &u, e);
	return err_set(e, ERR_INVALID, "unknown or malformed user command '%s'", verb);
}

int cmd_user(const struct config *conf, int argc, char **argv)
{
	struct db *db = NULL;
	struct auth *a = NULL;
	struct err e = ERR_INIT;
	int ret = 1;

	if (argc < 1)
		return usage();
	cli_setup_logging(conf);
	if (cli_open_db(conf, &db, &e) < 0 || db_migrate(db, &e) < 0 || cli_open_auth(conf, db, &a, &e) < 0)
		goto out;
	if (run(a, argc, argv, &e) < 0) {
		ret = e.code == ERR_INVALID && strstr(e.msg, "user ") ? 2 : 1;
		goto out;
	}
	ret = 0;
out:
	if (ret == 2)
		usage();
	if (ret != 0)
		fprintf(stderr, "tonearm user: %s\n", e.msg);
	auth_free(a);
	db_close(db);
	return ret;
}
