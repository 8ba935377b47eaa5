/* pages.h — large zeroed tables that cost no memory until they are used.
 *
 * A table sized for the worst case (the rate limiter's entries, the verified-token cache) should
 * cost resident memory only for the parts in use. calloc() does not promise that: a request is
 * served from the heap when free heap memory fits it, and calloc() then clears it with memset,
 * which makes every page resident at once (how many depends on what the heap held before, so
 * idle memory varied by megabytes from one start to the next). These come straight from
 * mmap(2): the kernel's zero pages, resident only once written.
 */
#ifndef TONEARM_BASE_PAGES_H
#define TONEARM_BASE_PAGES_H

#include <stddef.h>

/* `size` bytes of zeroes, page-aligned, or NULL (size 0 or out of memory). Free with pages_free()
 * and the same size, never with free(). */
void *pages_alloc(size_t size);

/* Give back what pages_alloc(size) returned. NULL is accepted. The memory is not cleared first:
 * the kernel hands it out again only zeroed. */
void pages_free(void *p, size_t size);

#endif
