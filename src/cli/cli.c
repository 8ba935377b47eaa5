#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

int cli_main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "version") == 0) {
		printf("tonearm %s (%s)\n", TONEARM_VERSION, TONEARM_COMMIT);
		return 0;
	}
	fprintf(stderr, "usage: tonearm <serve|migrate|version> [options]\n");
	return 2;
}
