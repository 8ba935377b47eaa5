#include "cli/setup.h"

#include <stdio.h>

#include "base/config.h"
#include "base/log.h"
#include "db/db.h"
#include "store/store.h"

void cli_setup_logging(const struct config *conf)
{
	/* The config's log_level choices are in enum log_level's order. */
	log_setup((enum log_level)conf->log_level, 2);
}

int cli_open_db(const struct config *conf, struct db **out, struct err *e)
{
	struct db_options opt = { .pool_size = conf->db_pool, .busy_timeout_ms = (int)conf->db_busy_timeout };

	*out = db_open(conf->db, &opt, e);
	if (!*out)
		return err_wrap(e, "opening the database");
	return 0;
}

int cli_open_db_bulk(const struct config *conf, struct db **out, struct err *e)
{
	struct db_options opt = { .pool_size = conf->db_pool, .busy_timeout_ms = (int)conf->db_busy_timeout,
				  .bulk = true };

	*out = db_open(conf->db, &opt, e);
	if (!*out)
		return err_wrap(e, "opening the database");
	return 0;
}

int cli_open_store(const struct config *conf, struct store **out, struct err *e)
{
	struct store_options opt = {
		.s3_access_key = conf->s3_access_key,
		.s3_secret_key = conf->s3_secret_key,
		.s3_region = conf->s3_region,
	};

	*out = store_open(conf->store, &opt, e);
	if (!*out)
		return err_wrap(e, "opening the object store");
	return 0;
}

int cli_no_args(const char *cmd, int argc, char **argv)
{
	if (argc == 0)
		return 0;
	fprintf(stderr, "tonearm %s: unknown option or argument '%s' (see tonearm help)\n", cmd, argv[0]);
	return -1;
}
