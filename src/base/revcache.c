/* revcache.c — see revcache.h. Each shard is a chained hash table whose entries are also on a
 * doubly linked list in order of use (most recent first); an entry is one allocation holding
 * its key and bytes. */
#include "base/revcache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define SHARD_BITS 6 /* four handler threads reading 50 keys each seldom meet in 64 */
#define NSHARDS (1u << SHARD_BITS)
_Static_assert(NSHARDS == REVCACHE_SHARDS, "revcache.h says how many shards there are");
#define BUCKETS_MIN 64

/* A place in a shard's list of entries in order of use. */
struct link {
	struct link *prev, *next;
};

struct revcache_entry {
	struct link use;              /* first: an entry is its link */
	struct revcache_entry *chain; /* next in the bucket */
	uint64_t hash;
	int64_t rev;
	size_t keylen, len;
	size_t cap;                /* bytes allocated for the whole entry */
	atomic_int refs;           /* the cache's own (while in it), and one per hold */
	char mem[];                /* the key, then the bytes */
};

struct shard {
	pthread_mutex_t lock;
	struct revcache_entry **buckets;
	size_t nbuckets;    /* a power of two */
	struct link lru;    /* sentinel: lru.next is the most recently used, lru.prev the least */
	size_t entries, bytes, limit;
	uint64_t hits, misses;
};

struct revcache {
	struct shard shards[NSHARDS];
};

/* FNV-1a, 64 bits: keys are short ids, and its top bits pick the shard, its low bits the
 * bucket. */
static uint64_t hash_of(const char *key, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Let go of a reference; the last one frees the entry. */
static void unref(struct revcache_entry *en)
{
	if (atomic_fetch_sub_explicit(&en->refs, 1, memory_order_acq_rel) == 1)
		free(en);
}

struct revcache *revcache_new(size_t max_bytes)
{
	struct revcache *c;
	pthread_mutexattr_t attr;

	if (max_bytes == 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	/* The locks are held for a lookup or a link, a few hundred nanoseconds: spinning a little
	 * before sleeping in the kernel (glibc's adaptive mutex) saves a futex call per meeting. */
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
	for (unsigned i = 0; i < NSHARDS; i++) {
		struct shard *s = &c->shards[i];

		s->buckets = calloc(BUCKETS_MIN, sizeof(*s->buckets));
		if (!s->buckets) {
			while (i-- > 0) {
				pthread_mutex_destroy(&c->shards[i].lock);
				free(c->shards[i].buckets);
			}
			pthread_mutexattr_destroy(&attr);
			free(c);
			return NULL;
		}
		pthread_mutex_init(&s->lock, &attr);
		s->nbuckets = BUCKETS_MIN;
		s->lru.next = s->lru.prev = &s->lru;
		s->limit = max_bytes / NSHARDS;
	}
	pthread_mutexattr_destroy(&attr);
	return c;
}

void revcache_free(struct revcache *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < NSHARDS; i++) {
		struct shard *s = &c->shards[i];

		for (struct link *l = s->lru.next, *next; l != &s->lru; l = next) {
			next = l->next;
			unref((struct revcache_entry *)l);
		}
		free(s->buckets);
		pthread_mutex_destroy(&s->lock);
	}
	free(c);
}

static struct shard *shard_of(struct revcache *c, uint64_t hash)
{
	return &c->shards[hash >> (64 - SHARD_BITS)];
}

/* The entry of `key` in s, and where the bucket's chain points at it; NULL when absent. */
static struct revcache_entry *find(struct shard *s, uint64_t hash, const char *key, size_t keylen, struct revcache_entry ***link)
{
	struct revcache_entry **p = &s->buckets[hash & (s->nbuckets - 1)];

	for (; *p; p = &(*p)->chain) {
		struct revcache_entry *en = *p;

		if (en->hash == hash && en->keylen == keylen && memcmp(en->mem, key, keylen) == 0) {
			if (link)
				*link = p;
			return en;
		}
	}
	return NULL;
}

static void lru_unlink(struct revcache_entry *en)
{
	en->use.prev->next = en->use.next;
	en->use.next->prev = en->use.prev;
}

static void lru_push(struct shard *s, struct revcache_entry *en)
{
	en->use.next = s->lru.next;
	en->use.prev = &s->lru;
	s->lru.next->prev = &en->use;
	s->lru.next = &en->use;
}

/* Take en out of the table and the list; the caller frees it. */
static void remove_entry(struct shard *s, struct revcache_entry *en, struct revcache_entry **link)
{
	if (!link)
		find(s, en->hash, en->mem, en->keylen, &link);
	*link = en->chain;
	lru_unlink(en);
	s->entries--;
	s->bytes -= en->cap;
}

/* Double the buckets when the chains grow longer than one on average. A failed allocation
 * leaves the table as it was, only slower. */
static void maybe_grow(struct shard *s)
{
	size_t n = s->nbuckets * 2;
	struct revcache_entry **b;

	if (s->entries <= s->nbuckets)
		return;
	b = calloc(n, sizeof(*b));
	if (!b)
		return;
	for (size_t i = 0; i < s->nbuckets; i++) {
		for (struct revcache_entry *en = s->buckets[i], *next; en; en = next) {
			struct revcache_entry **slot = &b[en->hash & (n - 1)];

			next = en->chain;
			en->chain = *slot;
			*slot = en;
		}
	}
	free(s->buckets);
	s->buckets = b;
	s->nbuckets = n;
}

struct revcache_entry *revcache_hold(struct revcache *c, const char *key, size_t keylen, int64_t rev,
				     const char **data, size_t *len)
{
	uint64_t hash;
	struct shard *s;
	struct revcache_entry *en;

	if (!c)
		return NULL;
	hash = hash_of(key, keylen);
	s = shard_of(c, hash);
	pthread_mutex_lock(&s->lock);
	en = find(s, hash, key, keylen, NULL);
	if (en && en->rev == rev) {
		atomic_fetch_add_explicit(&en->refs, 1, memory_order_relaxed);
		lru_unlink(en);
		lru_push(s, en);
		s->hits++;
		*data = en->mem + en->keylen;
		*len = en->len;
	} else {
		en = NULL;
		s->misses++;
	}
	pthread_mutex_unlock(&s->lock);
	return en;
}

void revcache_release(struct revcache_entry *en)
{
	if (en)
		unref(en);
}

/* The bytes an entry of this key and value takes, rounded up to 256 so that an evicted entry
 * can usually be reused for the next (a track's JSON varies by a few hundred bytes). */
static size_t size_for(size_t keylen, size_t len)
{
	return (sizeof(struct revcache_entry) + keylen + len + 255) & ~(size_t)255;
}

void revcache_put(struct revcache *c, const char *key, size_t keylen, int64_t rev, const void *data, size_t len)
{
	uint64_t hash;
	struct shard *s;
	struct revcache_entry *en = NULL, *old, **link, *out = NULL;
	size_t need = size_for(keylen, len);

	if (!c)
		return;
	hash = hash_of(key, keylen);
	s = shard_of(c, hash);
	if (need > s->limit / 8)
		return;
	pthread_mutex_lock(&s->lock);
	old = find(s, hash, key, keylen, &link);
	if (old) {
		remove_entry(s, old, link);
		old->chain = out;
		out = old;
	}
	while (s->entries && s->bytes + need > s->limit) {
		struct revcache_entry *lru = (struct revcache_entry *)s->lru.prev;

		remove_entry(s, lru, NULL);
		lru->chain = out;
		out = lru;
	}
	/* Reuse what just went out when no reader holds it (out of the table, no one can take a
	 * new hold) and it is large enough: in a full cache every put evicts about one entry, and
	 * freeing it here and allocating anew crossed threads' malloc arenas (the entry was made
	 * on another thread), whose locks then queued the handler threads. */
	for (struct revcache_entry **p = &out; *p; p = &(*p)->chain) {
		if ((*p)->cap >= need && atomic_load_explicit(&(*p)->refs, memory_order_acquire) == 1) {
			en = *p;
			*p = en->chain;
			break;
		}
	}
	if (!en) {
		en = malloc(need);
		if (!en) {
			pthread_mutex_unlock(&s->lock);
			goto out;
		}
		en->cap = need;
		atomic_init(&en->refs, 1);
	}
	en->hash = hash;
	en->rev = rev;
	en->keylen = keylen;
	en->len = len;
	memcpy(en->mem, key, keylen);
	memcpy(en->mem + keylen, data, len);
	maybe_grow(s);
	link = &s->buckets[hash & (s->nbuckets - 1)];
	en->chain = *link;
	*link = en;
	lru_push(s, en);
	s->entries++;
	s->bytes += en->cap;
	pthread_mutex_unlock(&s->lock);
out:
	while (out) {
		struct revcache_entry *next = out->chain;

		unref(out);
		out = next;
	}
}

void revcache_drop(struct revcache *c, const char *key, size_t keylen)
{
	uint64_t hash;
	struct shard *s;
	struct revcache_entry *en, **link;

	if (!c)
		return;
	hash = hash_of(key, keylen);
	s = shard_of(c, hash);
	pthread_mutex_lock(&s->lock);
	en = find(s, hash, key, keylen, &link);
	if (en)
		remove_entry(s, en, link);
	pthread_mutex_unlock(&s->lock);
	if (en)
		unref(en);
}

void revcache_stats(struct revcache *c, struct revcache_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!c)
		return;
	for (unsigned i = 0; i < NSHARDS; i++) {
		struct shard *s = &c->shards[i];

		pthread_mutex_lock(&s->lock);
		out->hits += s->hits;
		out->misses += s->misses;
		out->entries += s->entries;
		out->bytes += s->bytes;
		pthread_mutex_unlock(&s->lock);
	}
}
