/* setup.h — what several commands do the same way: logging from the configuration, opening the
 * database and the object store with the configured options, refusing stray arguments. */
#ifndef TONEARM_CLI_SETUP_H
#define TONEARM_CLI_SETUP_H

#include "base/err.h"

struct config;
struct db;
struct store;

void cli_setup_logging(const struct config *conf);

/* Open the configured database / object store; on failure `e` says which and why. */
int cli_open_db(const struct config *conf, struct db **out, struct err *e);
/* The same for a bulk loader (db_options.bulk): `tonearm import`. */
int cli_open_db_bulk(const struct config *conf, struct db **out, struct err *e);
int cli_open_store(const struct config *conf, struct store **out, struct err *e);

/* -1 (after printing a usage error naming the first one) if any arguments are left. */
int cli_no_args(const char *cmd, int argc, char **argv);

#endif
