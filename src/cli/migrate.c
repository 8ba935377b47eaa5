/* migrate.c — `tonearm migrate [--status]`: bring the database schema up to date, or list
 * which migrations are applied and pending. `serve` migrates at start too; this command lets an
 * operator do it first, once, in a scaled setup. */
#include <stdio.h>
#include <string.h>

#include "base/config.h"
#include "base/log.h"
#include "cli/commands.h"
#include "cli/setup.h"
#include "db/db.h"
#include "db/migrate.h"

int cmd_migrate(const struct config *conf, int argc, char **argv)
{
	struct db *db = NULL;
	struct err e = ERR_INIT;
	int status_only = 0, ret = 1;

	if (argc > 0 && strcmp(argv[0], "--status") == 0) {
		status_only = 1;
		argc--;
		argv++;
	}
	if (cli_no_args("migrate", argc, argv) < 0)
		return 2;
	cli_setup_logging(conf);
	if (cli_open_db(conf, &db, &e) < 0)
		goto out;
	if (status_only ? db_migrate_status(db, stdout, &e) : db_migrate(db, &e))
		goto out;
	ret = 0;
out:
	if (ret)
		fprintf(stderr, "tonearm migrate: %s\n", e.msg);
	if (db)
		db_close(db);
	return ret;
}

int cmd_config(const struct config *conf, int argc, char **argv)
{
	if (cli_no_args("config", argc, argv) < 0)
		return 2;
	config_print(conf, stdout);
	return 0;
}
