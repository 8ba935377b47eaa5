/* cli.h — the command line: `tonearm <command> [options]`. */
#ifndef TONEARM_CLI_CLI_H
#define TONEARM_CLI_CLI_H

/* Parse argv, run the subcommand, return the process exit status. */
int cli_main(int argc, char **argv);

#endif
