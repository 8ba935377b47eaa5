/* keys.c (cli) — `tonearm keys rotate`: a new ES256 signing key becomes current. The old
 * ones stay published in the JWKS and keep verifying for access_token_ttl after their
 * retirement (tokens they signed are still out there), then are dropped. Running servers
 * pick the change up within a few seconds (auth.h, "Keys"). */
#include <stdio.h>
#include <string.h>

#include "auth/auth.h"
#include "auth/jwt.h"
#include "base/config.h"
#include "cli/setup.h"
#include "cli/user.h"
#include "db/db.h"
#include "db/migrate.h"

int cmd_keys(const struct config *conf, int argc, char **argv)
{
	struct db *db = NULL;
	struct auth *a = NULL;
	struct err e = ERR_INIT;
	char kid[AUTH_KID_MAX + 1];
	int ret = 1;

	if (argc != 1 || strcmp(argv[0], "rotate") != 0) {
		fputs("usage: tonearm keys rotate\n", stderr);
		return 2;
	}
	cli_setup_logging(conf);
	if (cli_open_db(conf, &db, &e) < 0 || db_migrate(db, &e) < 0 || cli_open_auth(conf, db, &a, &e) < 0 ||
	    auth_keys_rotate(a, kid, &e) < 0)
		goto out;
	printf("new signing key: %s\n", kid);
	ret = 0;
out:
	if (ret)
		fprintf(stderr, "tonearm keys: %s\n", e.msg);
	auth_free(a);
	db_close(db);
	return ret;
}
