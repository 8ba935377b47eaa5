/* cli.c — `tonearm <command> [options]`: parse the command line into a configuration and run
 * the command. Every command takes the same configuration options; see usage(). */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/err.h"
#include "cli/commands.h"
#include "cli/user.h"

extern char **environ;

static void usage(FILE *out)
{
	fputs("usage: tonearm <command> [options]\n"
	      "\n"
	      "commands:\n"
	      "  serve      run the server (HTTP API, HLS, workers)\n"
	      "  migrate    apply database migrations; --status lists them\n"
	      "  config     print the effective configuration and where each value came from\n"
	      "  version    print the version\n"
	      "  import     import a music folder: import [--in-place] [--watch] [--jobs N] DIR\n"
	      "  worker     run job workers only: worker [--jobs N]\n"
	      "  jobs       jobs enqueue KIND SUBJECT [PAYLOAD] | jobs list [STATE]\n"
	      "  keys       keys rotate: new token signing key (old ones verify until their tokens expire)\n"
	      "  user       manage accounts: list, add, set-role, disable, enable, delete, passwd\n"
	      "\n"
	      "options (every command):\n"
	      "  --config FILE      configuration file (also TONEARM_CONFIG)\n"
	      "  --data DIR         data folder; the database and objects live here unless db/store say otherwise\n"
	      "  --listen ADDR:PORT address to listen on\n"
	      "  --KEY VALUE        any configuration key, e.g. --max-body 32MiB (see `tonearm help config`)\n"
	      "\n"
	      "Precedence: flag > environment (TONEARM_<KEY>) > file > default.\n",
	      out);
}

/* Load the configuration in precedence order: defaults, file, environment, flags. Options that
 * are not configuration keys are left for the command in `rest` (argv order kept). */
static int cli_configure(int argc, char **argv, struct config *conf, char **rest, int *nrest, struct err *e)
{
	const char *file = getenv("TONEARM_CONFIG");
	int i;

	*nrest = 0;
	/* First pass: the config file path, which must be loaded before the flags apply. */
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0) {
			if (i + 1 >= argc)
				return err_set(e, ERR_INVALID, "--config needs a file");
			file = argv[++i];
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			file = argv[i] + 9;
		}
	}
	config_init(conf);
	if (file && *file && config_load_file(conf, file, e) < 0)
		return -1;
	if (config_load_env(conf, environ, e) < 0)
		return -1;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		char key[64];
		const char *value = NULL, *eq;
		size_t klen;

		if (strcmp(a, "--config") == 0) {
			i++;
			continue;
		}
		if (strncmp(a, "--config=", 9) == 0)
			continue;
		if (strncmp(a, "--", 2) != 0) {
			rest[(*nrest)++] = argv[i];
			continue;
		}
		eq = strchr(a, '=');
		klen = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		if (klen >= sizeof(key)) {
			rest[(*nrest)++] = argv[i];
			continue;
		}
		memcpy(key, a + 2, klen);
		key[klen] = '\0';
		for (char *p = key; *p; p++)
			if (*p == '-')
				*p = '_';
		/* Not a configuration key: an option of the command itself (e.g. migrate --status),
		 * which the command checks. */
		if (!config_key_exists(key)) {
			rest[(*nrest)++] = argv[i];
			continue;
		}
		if (eq) {
			value = eq + 1;
		} else {
			if (i + 1 >= argc)
				return err_set(e, ERR_INVALID, "option --%s needs a value", key);
			value = argv[++i];
		}
		if (config_set(conf, key, value, a, e) < 0)
			return -1;
	}
	return config_finish(conf, e);
}

static const struct {
	const char *name;
	int (*run)(const struct config *conf, int argc, char **argv);
} commands[] = {
	{ "serve", cmd_serve },
	{ "migrate", cmd_migrate },
	{ "config", cmd_config },
	{ "seed", cmd_seed }, /* hidden: benchmarks and tests (cli/seed.c) */
	{ "user", cmd_user },
	{ "keys", cmd_keys },
	{ "import", cmd_import },
	{ "worker", cmd_worker },
	{ "jobs", cmd_jobs },
};

int cli_main(int argc, char **argv)
{
	struct config conf;
	struct err e = ERR_INIT;
	char **rest;
	int nrest, ret;
	const char *cmd;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("tonearm %s (%s)\n", TONEARM_VERSION, TONEARM_COMMIT);
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		if (argc > 2 && strcmp(argv[2], "config") == 0)
			config_help(stdout);
		else
			usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(cmd, commands[i].name) != 0)
			continue;
		rest = calloc((size_t)argc, sizeof(*rest));
		if (!rest)
			return 1;
		if (cli_configure(argc - 2, argv + 2, &conf, rest, &nrest, &e) < 0) {
			fprintf(stderr, "tonearm: %s\n", e.msg);
			config_release(&conf);
			free(rest);
			return e.code == ERR_INVALID ? 2 : 1;
		}
		ret = commands[i].run(&conf, nrest, rest);
		config_release(&conf);
		free(rest);
		return ret;
	}
	fprintf(stderr, "tonearm: unknown command '%s'\n\n", cmd);
	usage(stderr);
	return 2;
}
