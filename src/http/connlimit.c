/* connlimit.c — open connections per client address (the socket peer, not X-Forwarded-For:
 * a proxy's connections are its own and it is trusted to limit its clients).
 *
 * One table for all loops behind one mutex: taken twice per connection (accept and close),
 * far less often than per request. Entries are freed when their count drops to zero, so the
 * table holds at most as many entries as there are open connections.
 */
#include "http/internal.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 1024

struct cl_entry {
	struct cl_entry *next;
	uint64_t key[2];
	unsigned count;
};

struct http_connlimit {
	pthread_mutex_t lock;
	unsigned max;
	struct cl_entry *buckets[NBUCKETS];
};

struct http_connlimit *http_connlimit_new(unsigned max_per_addr)
{
	struct http_connlimit *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	c->max = max_per_addr;
	return c;
}

void http_connlimit_free(struct http_connlimit *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < NBUCKETS; i++) {
		while (c->buckets[i]) {
			struct cl_entry *n = c->buckets[i]->next;

			free(c->buckets[i]);
			c->buckets[i] = n;
		}
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static void addr_key(const struct sockaddr *sa, socklen_t len, uint64_t key[2])
{
	unsigned char a[16] = { 0 };

	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		a[10] = a[11] = 0xff;
		memcpy(a + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		memcpy(a, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	}
	memcpy(key, a, 16);
}

static size_t slot(const uint64_t key[2])
{
	uint64_t h = (key[0] ^ (key[1] * 0x9e3779b97f4a7c15ULL));

	return (size_t)((h ^ (h >> 31)) % NBUCKETS);
}

bool http_connlimit_acquire(struct http_connlimit *c, const struct sockaddr *sa, socklen_t len, uint64_t key[2])
{
	struct cl_entry *en;
	bool ok = false;
	size_t s;

	addr_key(sa, len, key);
	s = slot(key);
	pthread_mutex_lock(&c->lock);
	for (en = c->buckets[s]; en; en = en->next)
		if (en->key[0] == key[0] && en->key[1] == key[1])
			break;
	if (!en) {
		en = calloc(1, sizeof(*en));
		if (!en)
			goto out;
		en->key[0] = key[0];
		en->key[1] = key[1];
		en->next = c->buckets[s];
		c->buckets[s] = en;
	}
	if (en->count < c->max) {
		en->count++;
		ok = true;
	}
out:
	pthread_mutex_unlock(&c->lock);
	return ok;
}

void http_connlimit_release(struct http_connlimit *c, const uint64_t key[2])
{
	struct cl_entry **p;
	size_t s = slot(key);

	pthread_mutex_lock(&c->lock);
	for (p = &c->buckets[s]; *p; p = &(*p)->next) {
		if ((*p)->key[0] == key[0] && (*p)->key[1] == key[1]) {
			if (--(*p)->count == 0) {
				struct cl_entry *dead = *p;

				*p = dead->next;
				free(dead);
			}
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
}
