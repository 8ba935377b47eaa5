/* commands.h — the subcommands. Each gets the finished configuration and the arguments that
 * were not configuration options, and returns the process exit status (0 ok, 1 failure,
 * 2 usage error). */
#ifndef TONEARM_CLI_COMMANDS_H
#define TONEARM_CLI_COMMANDS_H

struct config;

int cmd_serve(const struct config *conf, int argc, char **argv);
int cmd_migrate(const struct config *conf, int argc, char **argv);
int cmd_config(const struct config *conf, int argc, char **argv);
/* `tonearm import [--in-place] [--watch] [--jobs N] DIR` (cli/import.c). */
int cmd_import(const struct config *conf, int argc, char **argv);
/* `tonearm worker [--jobs N]` and `tonearm jobs enqueue|list|test-writes` (cli/worker.c). */
int cmd_worker(const struct config *conf, int argc, char **argv);
int cmd_jobs(const struct config *conf, int argc, char **argv);
/* Hidden (not in usage): fill the catalogue with synthetic tracks for benchmarks. */
int cmd_seed(const struct config *conf, int argc, char **argv);

#endif
