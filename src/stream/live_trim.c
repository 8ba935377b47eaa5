/* live_trim.c — keeping the on-the-fly copies under live/ within live_cache_max (see live.h).
 *
 * The copies are a cache: any of them is made again by the next request that wants it. So the
 * policy is the simplest that bounds the space: list live/, and when the copies add up to more
 * than the limit, delete the oldest (by modification time, then key) until they take at most
 * nine tenths of it, so that every new copy does not start another round at once. Listing is
 * not done for every copy: the process keeps a running total between listings. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "store/store.h"
#include "stream/internal.h"
#include "stream/live.h"

#define RELIST_NS (600 * 1000000000LL)

struct copy {
	char *key;
	uint64_t size;
	int64_t mtime;
};

struct listing {
	struct copy *v;
	size_t n, cap;
	uint64_t total;
};

static int collect(void *ud, const char *key, const struct store_stat *st)
{
	struct listing *l = ud;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct copy *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return 1;
		l->v = v;
		l->cap = cap;
	}
	if (!(l->v[l->n].key = strdup(key)))
		return 1;
	l->v[l->n].size = st->size;
	l->v[l->n].mtime = st->mtime;
	l->n++;
	l->total += st->size;
	return 0;
}

static int older_first(const void *a, const void *b)
{
	const struct copy *x = a, *y = b;

	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? -1 : 1;
	return strcmp(x->key, y->key);
}

int stream_live_trim(struct stream *s, uint64_t max_bytes, struct stream_live_trimmed *out, struct err *e)
{
	struct listing l = { 0 };
	uint64_t keep = max_bytes - max_bytes / 10;
	int rc, ret = -1;

	memset(out, 0, sizeof(*out));
	rc = store_list(s->store, "live/", collect, &l, e);
	if (rc < 0)
		goto out;
	if (rc > 0) {
		err_set(e, ERR_NOMEM, "out of memory listing live/");
		goto out;
	}
	out->copies = l.n;
	out->bytes = l.total;
	if (l.total > max_bytes) {
		qsort(l.v, l.n, sizeof(*l.v), older_first);
		for (size_t i = 0; i < l.n && l.total > keep; i++) {
			struct err de = ERR_INIT;

			/* Gone already (another server trimmed, the track was deleted): as good. */
			if (store_delete(s->store, l.v[i].key, &de) < 0 && de.code != ERR_NOT_FOUND) {
				*e = de;
				goto out;
			}
			l.total -= l.v[i].size;
			out->deleted++;
			out->deleted_bytes += l.v[i].size;
		}
	}
	ret = 0;
out:
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i].key);
	free(l.v);
	return ret;
}

void stream_live_added(struct stream *s, uint64_t size)
{
	uint64_t est = atomic_fetch_add(&s->live_bytes, size) + size;
	int64_t now = clock_mono_ns(), listed = atomic_load(&s->live_listed_ns);
	struct stream_live_trimmed t;
	struct err e = ERR_INIT;

	if (listed && est <= s->opt.live_cache_max && now - listed < RELIST_NS)
		return;
	if (atomic_exchange(&s->live_trimming, true))
		return; /* another thread is at it */
	if (stream_live_trim(s, s->opt.live_cache_max, &t, &e) < 0) {
		log_kv(LOG_WARN, NULL, "live transcode: trimming the cached copies failed",
		       LOG_FIELDS(LOG_STR("error", e.msg)));
	} else {
		atomic_store(&s->live_bytes, t.bytes - t.deleted_bytes);
		atomic_store(&s->live_listed_ns, now);
		if (t.deleted)
			log_kv(LOG_INFO, NULL, "live transcode: deleted the oldest cached copies",
			       LOG_FIELDS(LOG_INT("deleted", t.deleted), LOG_INT("deleted_bytes", t.deleted_bytes),
					  LOG_INT("copies", t.copies - t.deleted), LOG_INT("bytes", t.bytes - t.deleted_bytes),
					  LOG_INT("limit", s->opt.live_cache_max)));
	}
	atomic_store(&s->live_trimming, false);
}
