/* linked.c — the media stack linked into the program (tests, fuzzers, benches): there is
 * nothing to load, so nothing can be missing. The server binary has lazy.c instead. */
#include "media/stack.h"

void media_stack_preload(void)
{
}

int media_stack_check(struct err *e)
{
	(void)e;
	return 0;
}
