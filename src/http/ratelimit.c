/* ratelimit.c — token-bucket arithmetic and the in-process backend (see ratelimit.h).
 *
 * The memory backend: NSHARDS shards chosen by the key's hash, each a fixed array of
 * entries with a chained hash index (indices, not pointers, so a shard is two allocations,
 * both of zero pages: nothing is resident until keys arrive) and an LRU list; a take is a
 * hash, a lock, a chain walk, a move to the LRU head. Nothing grows after creation.
 */
#include "http/ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/pages.h"

#define NSHARDS 64
#define NIL UINT32_MAX
#define DEFAULT_MAX_KEYS 65536

struct entry {
	char key[RATELIMIT_KEY_MAX + 1];
	uint64_t hash;
	double tokens;
	int64_t last_ns;
	uint32_t chain;           /* next in the hash chain, or the free list */
	uint32_t newer, older;    /* LRU list */
};

struct shard {
	pthread_mutex_t lock;
	struct entry *ents;
	uint32_t *heads;
	uint32_t cap, hmask, used; /* ents[0, used) have been handed out */
	uint32_t newest, oldest;
};

struct mem_rl {
	struct ratelimit base;
	struct shard shards[NSHARDS];
};

void ratelimit_bucket_take(double *tokens, int64_t *last_ns, const struct ratelimit_rule *rule, int64_t now_ns,
			   struct ratelimit_result *out)
{
	double burst = rule->burst, t = *tokens;

	if (now_ns > *last_ns) {
		t += (double)(now_ns - *last_ns) / 1e9 * rule->rate;
		*last_ns = now_ns;
	}
	if (t > burst)
		t = burst;
	out->limit = rule->burst;
	out->allowed = t >= 1.0;
	if (out->allowed)
		t -= 1.0;
	*tokens = t;
	out->remaining = (unsigned)floor(t);
	/* Round up: a client told "retry in 0 s" would come back at once and be refused again. */
	out->reset = (unsigned)ceil((burst - t) / rule->rate);
	out->retry_after = out->allowed ? 0 : (unsigned)ceil((1.0 - t) / rule->rate);
	if (!out->allowed && out->retry_after < 1)
		out->retry_after = 1;
}

static uint64_t hash_key(const char *k, size_t n)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)k[i];
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

static void lru_unlink(struct shard *s, uint32_t i)
{
	struct entry *en = &s->ents[i];

	if (en->newer != NIL)
		s->ents[en->newer].older = en->older;
	else
		s->newest = en->older;
	if (en->older != NIL)
		s->ents[en->older].newer = en->newer;
	else
		s->oldest = en->newer;
}

static void lru_push(struct shard *s, uint32_t i)
{
	struct entry *en = &s->ents[i];

	en->newer = NIL;
	en->older = s->newest;
	if (s->newest != NIL)
		s->ents[s->newest].newer = i;
	s->newest = i;
	if (s->oldest == NIL)
		s->oldest = i;
}

/* The hash index holds ~i for entry i, so that NIL reads as 0 and the index can come from
 * zero pages like the entries: a bucket's page becomes resident when a key lands in it, not
 * at start-up (filling it with NIL made 256 KiB resident for nothing). */
static uint32_t head_get(const struct shard *s, uint64_t h)
{
	return ~s->heads[h & s->hmask];
}

static void head_set(struct shard *s, uint64_t h, uint32_t i)
{
	s->heads[h & s->hmask] = ~i;
}

static void chain_remove(struct shard *s, uint32_t i)
{
	uint64_t h = s->ents[i].hash;
	uint32_t j = head_get(s, h);

	if (j == i) {
		head_set(s, h, s->ents[i].chain);
		return;
	}
	while (s->ents[j].chain != i)
		j = s->ents[j].chain;
	s->ents[j].chain = s->ents[i].chain;
}

/* A free entry: the next never-used one, else the least recently used one. Entries are handed
 * out in order rather than threaded on a free list at start, so the table's pages become
 * resident only as addresses arrive (the whole table is ≈ 9 MiB for 65,536 keys). */
static uint32_t entry_get(struct shard *s)
{
	uint32_t i;

	if (s->used < s->cap)
		return s->used++;
	i = s->oldest;
	lru_unlink(s, i);
	chain_remove(s, i);
	return i;
}

static int mem_take(struct ratelimit *rl, const char *key, const struct ratelimit_rule *rule, int64_t now_ns,
		    struct ratelimit_result *out, struct err *e)
{
	struct mem_rl *m = (struct mem_rl *)rl;
	size_t n = strnlen(key, RATELIMIT_KEY_MAX);
	uint64_t h = hash_key(key, n);
	struct shard *s = &m->shards[h % NSHARDS];
	uint32_t i;

	(void)e;
	pthread_mutex_lock(&s->lock);
	for (i = head_get(s, h); i != NIL; i = s->ents[i].chain)
		if (s->ents[i].hash == h && strncmp(s->ents[i].key, key, n) == 0 && s->ents[i].key[n] == '\0')
			break;
	if (i == NIL) {
		i = entry_get(s);
		memcpy(s->ents[i].key, key, n);
		s->ents[i].key[n] = '\0';
		s->ents[i].hash = h;
		s->ents[i].tokens = rule->burst;
		s->ents[i].last_ns = now_ns;
		s->ents[i].chain = head_get(s, h);
		head_set(s, h, i);
	} else {
		lru_unlink(s, i);
	}
	lru_push(s, i);
	ratelimit_bucket_take(&s->ents[i].tokens, &s->ents[i].last_ns, rule, now_ns, out);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static void mem_free(struct ratelimit *rl)
{
	struct mem_rl *m = (struct mem_rl *)rl;

	for (int k = 0; k < NSHARDS; k++) {
		pthread_mutex_destroy(&m->shards[k].lock);
		pages_free(m->shards[k].ents, (size_t)m->shards[k].cap * sizeof(struct entry));
		pages_free(m->shards[k].heads, ((size_t)m->shards[k].hmask + 1) * sizeof(uint32_t));
	}
	free(m);
}

static const struct ratelimit_ops mem_ops = { "memory", mem_take, mem_free };

struct ratelimit *ratelimit_memory_new(size_t max_keys, struct err *e)
{
	struct mem_rl *m = calloc(1, sizeof(*m));
	uint32_t per, hcap = 1;
	int k;

	if (!m) {
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	m->base.ops = &mem_ops;
	if (max_keys == 0)
		max_keys = DEFAULT_MAX_KEYS;
	if (max_keys > (size_t)NSHARDS * (1u << 24))
		max_keys = (size_t)NSHARDS * (1u << 24);
	per = (uint32_t)((max_keys + NSHARDS - 1) / NSHARDS);
	while (hcap < per)
		hcap <<= 1;
	for (k = 0; k < NSHARDS; k++) {
		struct shard *s = &m->shards[k];

		pthread_mutex_init(&s->lock, NULL);
		s->cap = per;
		s->hmask = hcap - 1;
		s->newest = s->oldest = NIL;
		/* Zero pages: an entry becomes resident when it is handed out (see pages.h). */
		s->ents = pages_alloc((size_t)per * sizeof(*s->ents));
		s->heads = pages_alloc(hcap * sizeof(*s->heads)); /* all NIL: see head_get */
		if (!s->ents || !s->heads) {
			for (k++; k < NSHARDS; k++)
				pthread_mutex_init(&m->shards[k].lock, NULL);
			mem_free(&m->base);
			err_set(e, ERR_NOMEM, "out of memory");
			return NULL;
		}
	}
	return &m->base;
}

size_t ratelimit_memory_count(struct ratelimit *rl)
{
	struct mem_rl *m = (struct mem_rl *)rl;
	size_t n = 0;

	if (!rl || rl->ops != &mem_ops)
		return 0;
	for (int k = 0; k < NSHARDS; k++) {
		pthread_mutex_lock(&m->shards[k].lock);
		n += m->shards[k].used;
		pthread_mutex_unlock(&m->shards[k].lock);
	}
	return n;
}

int ratelimit_take(struct ratelimit *rl, const char *key, const struct ratelimit_rule *rule, int64_t now_ns,
		   struct ratelimit_result *out, struct err *e)
{
	if (rule->rate <= 0 || rule->burst == 0) {
		*out = (struct ratelimit_result){ .allowed = true };
		return 0;
	}
	return rl->ops->take(rl, key, rule, now_ns, out, e);
}

void ratelimit_free(struct ratelimit *rl)
{
	if (rl)
		rl->ops->free(rl);
}
