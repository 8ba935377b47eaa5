/* revcache.h — a bounded, thread-safe cache of bytes kept under an id and a revision.
 *
 * For text that is costly to make and changes only when its source does: a track's JSON
 * object, kept under the track's id and the revision number of its database row. A reader
 * learns the current revision cheaply (it is one column of the row) and asks for the bytes of
 * exactly that revision; an older copy is a miss, never an answer, and is replaced by the next
 * put. Nothing here knows what the bytes mean or when they go stale: the revision says it.
 *
 * Bounded by bytes (each entry's allocation counted: its key, bytes and header, rounded up to
 * 256 so that an evicted entry can be reused for the next), evicting the least recently used.
 * The table is split into shards, each with its own lock, so handler threads seldom wait for
 * one another. hold hands out the entry itself with a reference, so that what a reader holds
 * is freed by whoever lets go of it last: nothing is copied under a lock.
 */
#ifndef TONEARM_BASE_REVCACHE_H
#define TONEARM_BASE_REVCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct revcache;

#define REVCACHE_SHARDS 64 /* each bounded by max_bytes / REVCACHE_SHARDS */

/* A cache of at most `max_bytes`. NULL when max_bytes is 0 (no cache: every call below takes
 * NULL and does nothing, hold always misses) or memory runs out. */
struct revcache *revcache_new(size_t max_bytes);
void revcache_free(struct revcache *c);

/* The bytes kept under (key, rev), without a copy: *data and *len point at them, and they stay
 * (even if the cache drops them meanwhile) until revcache_release of the returned handle. NULL
 * on a miss. For a caller that reads many entries and then writes them out in one go. */
struct revcache_entry;
struct revcache_entry *revcache_hold(struct revcache *c, const char *key, size_t keylen, int64_t rev,
				     const char **data, size_t *len);
void revcache_release(struct revcache_entry *en);

/* Keep `len` bytes under (key, rev), replacing whatever the key held. Entries larger than an
 * eighth of a shard are not kept. Out of memory is a silent no-op: a cache may forget. */
void revcache_put(struct revcache *c, const char *key, size_t keylen, int64_t rev, const void *data, size_t len);

/* Forget the key (any revision). */
void revcache_drop(struct revcache *c, const char *key, size_t keylen);

struct revcache_stats {
	uint64_t hits, misses; /* holds since revcache_new */
	size_t entries, bytes; /* now */
};
void revcache_stats(struct revcache *c, struct revcache_stats *out);

#endif
