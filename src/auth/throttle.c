/* throttle.c — sign-in throttling (see throttle.h for the policy and why). */
#include "auth/throttle.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/internal.h"
#include "base/clock.h"

#define KEY_MAX (AUTH_USERNAME_MAX + 64)
#define NBUCKETS 4096
#define GOOD_MS (30LL * 24 * 3600 * 1000)
#define ADDR_FACTOR 4
#define ACCOUNT_FACTOR 10
#define SEP "\x1f" /* cannot occur in a user name or an address */

struct entry {
	struct entry *chain, *newer, *older;
	char key[KEY_MAX + 1];
	unsigned fails;
	int64_t last_fail, until; /* counters */
	int64_t good_until;       /* "good" marks */
};

struct auth_throttle {
	pthread_mutex_t lock;
	struct auth_throttle_options opt;
	struct entry *buckets[NBUCKETS];
	struct entry *newest, *oldest;
	size_t n;
};

struct auth_throttle *auth_throttle_new(const struct auth_throttle_options *opt, struct err *e)
{
	struct auth_throttle *t = calloc(1, sizeof(*t));

	if (!t) {
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&t->lock, NULL);
	if (opt)
		t->opt = *opt;
	if (!t->opt.after)
		t->opt.after = 5;
	if (t->opt.max_ms <= 0)
		t->opt.max_ms = 60000;
	if (t->opt.window_ms <= 0)
		t->opt.window_ms = 15 * 60000;
	if (!t->opt.max_entries)
		t->opt.max_entries = 100000;
	return t;
}

void auth_throttle_free(struct auth_throttle *t)
{
	if (!t)
		return;
	while (t->newest) {
		struct entry *n = t->newest->older;

		free(t->newest);
		t->newest = n;
	}
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static size_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return (size_t)((h ^ (h >> 32)) % NBUCKETS);
}

static void lru_unlink(struct auth_throttle *t, struct entry *en)
{
	if (en->newer)
		en->newer->older = en->older;
	else
		t->newest = en->older;
	if (en->older)
		en->older->newer = en->newer;
	else
		t->oldest = en->newer;
}

static void lru_push(struct auth_throttle *t, struct entry *en)
{
	en->newer = NULL;
	en->older = t->newest;
	if (t->newest)
		t->newest->newer = en;
	t->newest = en;
	if (!t->oldest)
		t->oldest = en;
}

static void chain_remove(struct auth_throttle *t, struct entry *en)
{
	struct entry **p = &t->buckets[hash(en->key)];

	while (*p && *p != en)
		p = &(*p)->chain;
	if (*p)
		*p = en->chain;
}

/* The entry for `key`; created (possibly recycling the least recently used one) when
 * `create`, else NULL when absent. Under the lock. */
static struct entry *lookup(struct auth_throttle *t, const char *key, bool create)
{
	size_t b = hash(key);
	struct entry *en;

	for (en = t->buckets[b]; en; en = en->chain)
		if (strcmp(en->key, key) == 0)
			break;
	if (en) {
		lru_unlink(t, en);
		lru_push(t, en);
		return en;
	}
	if (!create)
		return NULL;
	if (t->n >= t->opt.max_entries && t->oldest) {
		en = t->oldest;
		lru_unlink(t, en);
		chain_remove(t, en);
	} else {
		en = malloc(sizeof(*en));
		if (!en)
			return NULL; /* out of memory: this failure goes uncounted */
		t->n++;
	}
	memset(en, 0, sizeof(*en));
	snprintf(en->key, sizeof(en->key), "%s", key);
	en->chain = t->buckets[b];
	t->buckets[b] = en;
	lru_push(t, en);
	return en;
}

static void forget_old(const struct auth_throttle *t, struct entry *en, int64_t now)
{
	if (en->fails && now > en->until + t->opt.window_ms && now > en->last_fail + t->opt.window_ms)
		en->fails = 0;
}

static int64_t count_fail(const struct auth_throttle *t, struct entry *en, unsigned threshold, int64_t now)
{
	unsigned over;
	int64_t delay;

	if (!en)
		return 0;
	forget_old(t, en, now);
	en->fails++;
	en->last_fail = now;
	if (en->fails < threshold)
		return 0;
	over = en->fails - threshold;
	delay = over >= 30 ? t->opt.max_ms : 1000LL << over;
	if (delay > t->opt.max_ms)
		delay = t->opt.max_ms;
	en->until = now + delay;
	return delay;
}

static int64_t left(const struct entry *en, int64_t now)
{
	return en && en->until > now ? en->until - now : 0;
}

struct keys {
	char pair[KEY_MAX + 1], addr[KEY_MAX + 1], acct[KEY_MAX + 1], good[KEY_MAX + 1];
};

static void make_keys(const char *username, const char *addr, struct keys *k)
{
	char norm[AUTH_USERNAME_MAX + 1];

	auth_lower(username ? username : "", norm, sizeof(norm));
	if (!addr)
		addr = "unknown";
	snprintf(k->pair, sizeof(k->pair), "p" SEP "%s" SEP "%.48s", norm, addr);
	snprintf(k->addr, sizeof(k->addr), "a" SEP "%.48s", addr);
	snprintf(k->acct, sizeof(k->acct), "u" SEP "%s", norm);
	snprintf(k->good, sizeof(k->good), "g" SEP "%s" SEP "%.48s", norm, addr);
}

static bool is_good(struct auth_throttle *t, const struct keys *k, int64_t now)
{
	struct entry *g = lookup(t, k->good, false);

	return g && g->good_until > now;
}

int64_t auth_throttle_wait(struct auth_throttle *t, const char *username, const char *addr, int64_t now_ms)
{
	struct keys k;
	int64_t w, x;

	make_keys(username, addr, &k);
	pthread_mutex_lock(&t->lock);
	w = left(lookup(t, k.pair, false), now_ms);
	x = left(lookup(t, k.addr, false), now_ms);
	if (x > w)
		w = x;
	if (!is_good(t, &k, now_ms)) {
		x = left(lookup(t, k.acct, false), now_ms);
		if (x > w)
			w = x;
	}
	pthread_mutex_unlock(&t->lock);
	return w;
}

int64_t auth_throttle_fail(struct auth_throttle *t, const char *username, const char *addr, int64_t now_ms)
{
	struct keys k;
	int64_t d, x;

	make_keys(username, addr, &k);
	pthread_mutex_lock(&t->lock);
	d = count_fail(t, lookup(t, k.pair, true), t->opt.after, now_ms);
	x = count_fail(t, lookup(t, k.addr, true), t->opt.after * ADDR_FACTOR, now_ms);
	if (x > d)
		d = x;
	/* The owner's own mistakes from a known address do not count towards the account-wide
	 * delay, so they cannot add to what an attacker builds up. */
	if (!is_good(t, &k, now_ms)) {
		x = count_fail(t, lookup(t, k.acct, true), t->opt.after * ACCOUNT_FACTOR, now_ms);
		if (x > d)
			d = x;
	}
	pthread_mutex_unlock(&t->lock);
	return d;
}

void auth_throttle_ok(struct auth_throttle *t, const char *username, const char *addr, int64_t now_ms)
{
	struct keys k;
	struct entry *en;

	make_keys(username, addr, &k);
	pthread_mutex_lock(&t->lock);
	en = lookup(t, k.pair, false);
	if (en)
		en->fails = 0, en->until = 0;
	en = lookup(t, k.good, true);
	if (en)
		en->good_until = now_ms + GOOD_MS;
	pthread_mutex_unlock(&t->lock);
}

int auth_login_throttled(struct auth *a, struct auth_throttle *t, const char *username, const char *password,
			 size_t password_len, const struct auth_client *client, struct auth_tokens *out,
			 int64_t *retry_after_s, struct err *e)
{
	const char *addr = client ? client->peer : NULL;
	int64_t now = clock_mono_ns() / 1000000, wait, d;
	char detail[160];
	int rc;

	*retry_after_s = 0;
	if (!t)
		return auth_login(a, username, password, password_len, client, out, e);
	wait = auth_throttle_wait(t, username, addr, now);
	if (wait > 0) {
		memset(out, 0, sizeof(*out));
		*retry_after_s = (wait + 999) / 1000;
		return err_set(e, ERR_UNAUTHORIZED, "too many failed sign-ins; try again in %lld s",
			       (long long)*retry_after_s);
	}
	rc = auth_login(a, username, password, password_len, client, out, e);
	if (rc == 0) {
		auth_throttle_ok(t, username, addr, now);
	} else if (e->code == ERR_UNAUTHORIZED) {
		d = auth_throttle_fail(t, username, addr, now);
		if (d > 0) {
			/* The name as typed, not an account id: the line must not say whether it exists. */
			snprintf(detail, sizeof(detail), "username=%.64s delay_s=%lld", username ? username : "",
				 (long long)((d + 999) / 1000));
			auth_audit(a, "login_lockout", NULL, addr, detail);
		}
	}
	return rc;
}
