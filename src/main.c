/* tonearm — the one binary. Everything lives in the core library; this only dispatches. */
#include "cli/cli.h"

int main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
