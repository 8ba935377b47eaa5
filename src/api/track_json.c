/* track_json.c — the JSON of tracks, kept between requests under each row's revision.
 *
 * A page of 50 tracks is 50 objects of about a kilobyte, written from 41 columns each: most of
 * the page's cost, and the same text on every request while the tracks do not change. The
 * objects are kept in a revcache (base/revcache.h) under the track's id and its row's revision,
 * which the database changes with every write of the row (migration 0016). A page asks the
 * catalogue for its tracks' ids and revisions first (catalog_query.known); the objects kept at
 * exactly those revisions are held and copied into the page, and only the other tracks are
 * read, written and kept. A stale object is never an answer: its revision no longer matches.
 * Each server keeps its own; the revisions live in the shared database, so servers behind a
 * balancer agree.
 *
 * What is kept must be the same for every reader allowed to list tracks: it is keyed by track
 * and revision alone. A field that depends on the listener (a star, a play count, a link signed
 * for one account) belongs outside the kept object, written next to it per request.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/catalog.h"
#include "base/jsonw.h"
#include "base/metrics.h"
#include "base/revcache.h"
#include "catalog/catalog.h"

/* The metrics are read from the cache's own counts when /metrics is rendered; counters move by
 * the difference since the last render (two renders at once may both see it: under a lock). */
struct cache_metrics {
	struct revcache *cache;
	struct metric *hits, *misses, *entries, *bytes;
	pthread_mutex_t lock;
	uint64_t hits_seen, misses_seen;
};

static struct cache_metrics metrics_of_cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void collect(struct metrics *reg, void *ud)
{
	struct cache_metrics *m = ud;
	struct revcache_stats st;

	(void)reg;
	pthread_mutex_lock(&m->lock);
	if (m->cache) { /* NULL once api_track_json_cache_free ran */
		revcache_stats(m->cache, &st);
		metric_inc(m->hits, (double)(st.hits - m->hits_seen));
		metric_inc(m->misses, (double)(st.misses - m->misses_seen));
		m->hits_seen = st.hits;
		m->misses_seen = st.misses;
		metric_set(m->entries, (double)st.entries);
		metric_set(m->bytes, (double)st.bytes);
	}
	pthread_mutex_unlock(&m->lock);
}

static struct metric *family(struct metrics *reg, enum metric_type type, const char *name, const char *help)
{
	return metric_child(metrics_family(reg, type, name, help, NULL, NULL, 0), NULL);
}

int api_track_json_cache(struct api *a, size_t max_bytes, struct err *e)
{
	struct cache_metrics *m = &metrics_of_cache;
	bool first;

	a->track_json = NULL;
	if (max_bytes == 0)
		return 0;
	a->track_json = revcache_new(max_bytes);
	if (!a->track_json)
		return err_set(e, ERR_NOMEM, "out of memory for the track JSON cache");
	if (!a->metrics)
		return 0;
	/* One server per process: the metrics name one cache, the first made. */
	pthread_mutex_lock(&m->lock);
	first = !m->cache && !m->hits;
	if (first)
		m->cache = a->track_json;
	pthread_mutex_unlock(&m->lock);
	if (!first)
		return 0;
	m->hits = family(a->metrics, METRIC_COUNTER, "tonearm_track_json_cache_hits_total",
			 "tracks of browse pages answered from kept JSON");
	m->misses = family(a->metrics, METRIC_COUNTER, "tonearm_track_json_cache_misses_total",
			   "tracks of browse pages read from the database and written anew");
	m->entries = family(a->metrics, METRIC_GAUGE, "tonearm_track_json_cache_entries", "tracks whose JSON is kept");
	m->bytes = family(a->metrics, METRIC_GAUGE, "tonearm_track_json_cache_bytes",
			  "memory the kept JSON takes (track_json_cache bounds it)");
	metrics_on_collect(a->metrics, collect, m);
	return 0;
}

void api_track_json_cache_free(struct api *a)
{
	struct cache_metrics *m = &metrics_of_cache;

	pthread_mutex_lock(&m->lock);
	if (m->cache == a->track_json)
		m->cache = NULL;
	pthread_mutex_unlock(&m->lock);
	revcache_free(a->track_json);
	a->track_json = NULL;
}

int api_track_json_begin(struct api_track_json *tj, struct revcache *cache, size_t limit)
{
	memset(tj, 0, sizeof(*tj));
	tj->cache = cache;
	if (!cache)
		return 0;
	tj->known = calloc(limit ? limit : 1, sizeof(*tj->known));
	if (!tj->known)
		return -1;
	tj->nknown = limit;
	return 0;
}

void api_track_json_end(struct api_track_json *tj)
{
	for (size_t i = 0; i < tj->nknown; i++)
		revcache_release(tj->known[i].held);
	free(tj->known);
	memset(tj, 0, sizeof(*tj));
}

bool api_track_json_known(void *ud, size_t i, const char *id, int64_t rev)
{
	struct api_track_json *tj = ud;

	if (i >= tj->nknown || tj->known[i].held)
		return false;
	tj->known[i].held = revcache_hold(tj->cache, id, strlen(id), rev, &tj->known[i].text, &tj->known[i].len);
	return tj->known[i].held != NULL;
}

void api_track_json_write(struct jsonw *w, struct api_track_json *tj, size_t i, const struct catalog_track *t)
{
	size_t start = w->buf.len;
	const char *text;
	size_t len;

	if (t->known && i < tj->nknown && tj->known[i].held) {
		jsonw_raw(w, tj->known[i].text, tj->known[i].len);
		return;
	}
	api_track_write(w, t, 0, false);
	if (!tj->cache || t->rev <= 0 || w->failed)
		return;
	text = w->buf.data + start;
	len = w->buf.len - start;
	if (len && text[0] == ',') { /* the separator before it belongs to the page */
		text++;
		len--;
	}
	revcache_put(tj->cache, t->id, strlen(t->id), t->rev, text, len);
}

void api_track_json_forget(struct api *a, const char *id)
{
	if (id)
		revcache_drop(a->track_json, id, strlen(id));
}
