/* tokcache.c — verified access tokens, remembered until they expire (see tokcache.h). */
#include "auth/tokcache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/pages.h"

#define LOCKS 64
#define MIN_LEN 16 /* shorter than any JWS: never cached */

struct slot {
	uint64_t gen; /* 0: empty */
	int64_t until;
	size_t len;
	struct auth_principal p;
	char token[AUTH_TOKCACHE_TOKEN_MAX];
};

struct auth_tokcache {
	pthread_mutex_t lock[LOCKS];
	struct slot *slots;
};

struct auth_tokcache *auth_tokcache_new(void)
{
	struct auth_tokcache *tc = calloc(1, sizeof(*tc));

	if (!tc)
		return NULL;
	if (!(tc->slots = pages_alloc(AUTH_TOKCACHE_SLOTS * sizeof(*tc->slots)))) {
		free(tc);
		return NULL;
	}
	for (int i = 0; i < LOCKS; i++)
		pthread_mutex_init(&tc->lock[i], NULL);
	return tc;
}

void auth_tokcache_free(struct auth_tokcache *tc)
{
	if (!tc)
		return;
	for (int i = 0; i < LOCKS; i++)
		pthread_mutex_destroy(&tc->lock[i]);
	/* Not cleansed: that would touch every page; unmapped memory comes back only zeroed. */
	pages_free(tc->slots, AUTH_TOKCACHE_SLOTS * sizeof(*tc->slots));
	free(tc);
}

/* The slot of a token: a multiplicative hash of its last 8 bytes (the signature's). */
static size_t slot_of(const char *token, size_t len)
{
	uint64_t tail;

	memcpy(&tail, token + len - sizeof(tail), sizeof(tail));
	return (size_t)((tail * UINT64_C(0x9E3779B97F4A7C15)) >> 32) % AUTH_TOKCACHE_SLOTS;
}

/* Whether n bytes are equal, in time that depends on n only: eight bytes a step, since a
 * token is ≈ 600 bytes and CRYPTO_memcmp goes one byte at a time. */
static int equal_ct(const char *a, const char *b, size_t n)
{
	uint64_t diff = 0, x, y;
	size_t i = 0;

	for (; i + sizeof(x) <= n; i += sizeof(x)) {
		memcpy(&x, a + i, sizeof(x));
		memcpy(&y, b + i, sizeof(y));
		diff |= x ^ y;
	}
	for (; i < n; i++)
		diff |= (uint64_t)((unsigned char)a[i] ^ (unsigned char)b[i]);
	return diff == 0;
}

static int cacheable(size_t len)
{
	return len >= MIN_LEN && len <= AUTH_TOKCACHE_TOKEN_MAX;
}

int auth_tokcache_get(struct auth_tokcache *tc, const char *token, size_t len, uint64_t gen, int64_t now,
		      struct auth_principal *out)
{
	size_t i;
	struct slot *s;
	int hit;

	if (!cacheable(len))
		return 0;
	i = slot_of(token, len);
	s = &tc->slots[i];
	pthread_mutex_lock(&tc->lock[i % LOCKS]);
	hit = s->gen == gen && s->len == len && equal_ct(s->token, token, len) && now < s->until;
	if (hit)
		*out = s->p;
	pthread_mutex_unlock(&tc->lock[i % LOCKS]);
	return hit;
}

void auth_tokcache_put(struct auth_tokcache *tc, const char *token, size_t len, uint64_t gen, int64_t until,
		       const struct auth_principal *p)
{
	size_t i;
	struct slot *s;

	if (!cacheable(len) || gen == 0)
		return;
	i = slot_of(token, len);
	s = &tc->slots[i];
	pthread_mutex_lock(&tc->lock[i % LOCKS]);
	s->gen = gen;
	s->until = until;
	s->len = len;
	s->p = *p;
	memcpy(s->token, token, len);
	pthread_mutex_unlock(&tc->lock[i % LOCKS]);
}
