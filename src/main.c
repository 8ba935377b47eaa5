/* tonearm — the one binary. Everything lives in the core library; this only dispatches. */
#include <malloc.h>

#include "cli/cli.h"

int main(int argc, char **argv)
{
	/* A fixed mmap threshold stops glibc from raising it after the first large free (an
	 * Argon2 hash's 19 MiB, a decoder's buffers), so such blocks go back to the system
	 * instead of staying in the heap for the life of the process; two arenas are plenty on
	 * the loop-per-core design and keep idle memory small. Measured: idle anonymous memory
	 * 25 MiB → 6 MiB (docs/BENCHMARKS.md). */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	mallopt(M_ARENA_MAX, 2);
	return cli_main(argc, argv);
}
