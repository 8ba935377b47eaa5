/* stack.c — the media stack's side of loading (stack.h): what runs once when it arrives. */
#include "media/stack.h"

#include "media/probe.h"

const char *media_stack_init(void)
{
	media_av_setup();
	return MEDIA_STACK_BUILD;
}
