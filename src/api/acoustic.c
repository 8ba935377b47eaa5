/* acoustic.c (api) — a track's waveform and acoustic duplicates (see api/acoustic.h). */
#include "api/acoustic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "api/api.h"
#include "api/catalog.h"
#include "base/id.h"
#include "base/jsonw.h"
#include "catalog/catalog.h"
#include "http/http.h"
#include "http/range.h"

#define MIN_SIMILARITY_DEFAULT 70

/* A strong ETag of the peaks themselves: they change only when the track is analysed again. */
static void waveform_etag(const struct catalog_waveform *w, char out[40])
{
	unsigned char d[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)w->peaks, 2 * w->npairs, d);
	snprintf(out, 40, "\"w%02x%02x%02x%02x%02x%02x%02x%02x\"", d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]);
}

void api_track_waveform(struct http_req *req, void *app)
{
	struct api *a = app;
	struct catalog_waveform wf;
	struct err e = ERR_INIT;
	const char *inm = http_req_header(req, "if-none-match");
	char etag[40];
	struct jsonw w;
	int64_t frames;

	if (catalog_track_waveform(a->catalog, http_req_param(req, "id"), &wf, &e) < 0) {
		http_res_err(req, &e);
		return;
	}
	waveform_etag(&wf, etag);
	http_res_header(req, "ETag", etag);
	http_res_header(req, "Cache-Control", "private, max-age=86400");
	if (inm && http_etag_match(inm, strlen(inm), etag, true)) {
		http_res_send(req, 304, NULL, NULL, 0);
		catalog_waveform_release(&wf);
		return;
	}
	/* samples_per_pixel: the source's frames per bin, which a player needs to map a bin to a
	 * time (bins are of equal duration; the last may be short). */
	frames = wf.sample_rate > 0 ? wf.duration_ms * wf.sample_rate / 1000 : 0;
	jsonw_init(&w, API_JSON_MAX);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "version");
	jsonw_int(&w, 2);
	jsonw_key(&w, "channels");
	jsonw_int(&w, 1);
	jsonw_key(&w, "sample_rate");
	jsonw_int(&w, wf.sample_rate);
	jsonw_key(&w, "samples_per_pixel");
	jsonw_int(&w, wf.npairs ? (frames + (int64_t)wf.npairs - 1) / (int64_t)wf.npairs : 0);
	jsonw_key(&w, "bits");
	jsonw_int(&w, 8);
	jsonw_key(&w, "length");
	jsonw_int(&w, (int64_t)wf.npairs);
	jsonw_key(&w, "duration_ms");
	jsonw_int(&w, wf.duration_ms);
	jsonw_key(&w, "data");
	jsonw_arr_begin(&w);
	for (size_t i = 0; i < 2 * wf.npairs; i++)
		jsonw_int(&w, wf.peaks[i] < -127 ? -127 : wf.peaks[i]);
	jsonw_arr_end(&w);
	jsonw_obj_end(&w);
	api_send_jsonw(req, 200, &w);
	jsonw_release(&w);
	catalog_waveform_release(&wf);
}

/* The tracks an answer names, read with one catalogue call (not one get each: a page of 100
 * duplicate groups names some 300), and found again by id. Collect the ids with named_add
 * (at most the `cap` given to named_init), then named_load. */
struct named {
	const char **ids;
	size_t nids, cap;
	struct catalog_page *page;
	const struct catalog_track **by_id; /* page's tracks sorted by id */
};

static int cmp_track_ptr(const void *x, const void *y)
{
	const struct catalog_track *const *a = x, *const *b = y;

	return strcmp((*a)->id, (*b)->id);
}

static int cmp_key_track(const void *key, const void *elem)
{
	const struct catalog_track *const *t = elem;

	return strcmp(key, (*t)->id);
}

/* Room for cap ids; out of memory shows at named_load. */
static void named_init(struct named *nm, size_t cap)
{
	memset(nm, 0, sizeof(*nm));
	nm->ids = malloc((cap ? cap : 1) * sizeof(*nm->ids));
	nm->cap = nm->ids ? cap : 0;
}

static void named_add(struct named *nm, const char *id)
{
	if (nm->nids < nm->cap)
		nm->ids[nm->nids++] = id;
}

static int named_load(struct api *a, struct named *nm, struct err *e)
{
	if (!nm->ids || catalog_get_tracks(a->catalog, nm->ids, nm->nids, &nm->page, e) < 0)
		return nm->ids ? -1 : err_set(e, ERR_NOMEM, "out of memory");
	nm->by_id = malloc((nm->page->ntracks ? nm->page->ntracks : 1) * sizeof(*nm->by_id));
	if (!nm->by_id)
		return err_set(e, ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < nm->page->ntracks; i++)
		nm->by_id[i] = &nm->page->tracks[i];
	qsort(nm->by_id, nm->page->ntracks, sizeof(*nm->by_id), cmp_track_ptr);
	return 0;
}

/* The track `id`, or NULL when it is gone (deleted since the duplicates were listed). */
static const struct catalog_track *named_find(const struct named *nm, const char *id)
{
	const struct catalog_track *const *t =
		bsearch(id, nm->by_id, nm->page->ntracks, sizeof(*nm->by_id), cmp_key_track);

	return t ? *t : NULL;
}

static void named_release(struct named *nm)
{
	free(nm->ids);
	free(nm->by_id);
	catalog_page_free(nm->page);
	memset(nm, 0, sizeof(*nm));
}

/* One track as in lists, with `similarity` when >= 0, left open when `open`. */
static void write_track(struct jsonw *w, const struct catalog_track *t, int similarity, bool open)
{
	api_track_write(w, t, 0, true);
	if (similarity >= 0) {
		jsonw_key(w, "similarity");
		jsonw_int(w, similarity);
	}
	if (!open)
		jsonw_obj_end(w);
}

void api_track_duplicates(struct http_req *req, void *app)
{
	struct api *a = app;
	const char *id = http_req_param(req, "id");
	struct catalog_duplicate *d = NULL;
	struct named nm = { 0 };
	struct err e = ERR_INIT;
	long long min;
	size_t n = 0;
	struct jsonw w;

	if (http_req_query_int(req, "min_similarity", MIN_SIMILARITY_DEFAULT, 1, 100, &min, &e) < 0) {
		http_res_problem(req, 400, "Bad Request", e.msg);
		return;
	}
	if (catalog_track_duplicates(a->catalog, id, (int)min, &d, &n, &e) < 0) {
		http_res_err(req, &e);
		return;
	}
	named_init(&nm, n);
	for (size_t i = 0; i < n; i++)
		named_add(&nm, d[i].id);
	if (named_load(a, &nm, &e) < 0) {
		http_res_err(req, &e);
		goto out;
	}
	jsonw_init(&w, API_JSON_MAX);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "track_id");
	jsonw_str(&w, id);
	jsonw_key(&w, "min_similarity");
	jsonw_int(&w, min);
	jsonw_key(&w, "items");
	jsonw_arr_begin(&w);
	for (size_t i = 0; i < n; i++) {
		const struct catalog_track *t = named_find(&nm, d[i].id);

		if (t)
			write_track(&w, t, d[i].similarity, false);
	}
	jsonw_arr_end(&w);
	jsonw_obj_end(&w);
	api_send_jsonw(req, 200, &w);
	jsonw_release(&w);
out:
	named_release(&nm);
	free(d);
}

void api_duplicates_list(struct http_req *req, void *app)
{
	struct api *a = app;
	const char *after = http_req_query(req, "cursor");
	struct catalog_duplicate_group *g = NULL;
	struct named nm = { 0 };
	struct err e = ERR_INIT;
	long long limit;
	size_t n = 0, nids = 0;
	bool more = false;
	struct jsonw w;

	if (http_req_query_int(req, "limit", 20, 1, 100, &limit, &e) < 0) {
		http_res_problem(req, 400, "Bad Request", e.msg);
		return;
	}
	if (after && !id_valid(after)) {
		http_res_problem(req, 400, "Bad Request", "cursor: not one this server gave");
		return;
	}
	if (catalog_duplicate_groups(a->catalog, after, (size_t)limit, &g, &n, &more, &e) < 0) {
		http_res_err(req, &e);
		return;
	}
	for (size_t i = 0; i < n; i++)
		nids += 1 + g[i].ndups;
	named_init(&nm, nids);
	for (size_t i = 0; i < n; i++) {
		named_add(&nm, g[i].id);
		for (size_t j = 0; j < g[i].ndups; j++)
			named_add(&nm, g[i].dups[j].id);
	}
	if (named_load(a, &nm, &e) < 0) {
		http_res_err(req, &e);
		goto out;
	}
	jsonw_init(&w, API_JSON_MAX);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "items");
	jsonw_arr_begin(&w);
	for (size_t i = 0; i < n; i++) {
		const struct catalog_track *t = named_find(&nm, g[i].id);

		if (!t)
			continue; /* deleted since the groups were read */
		write_track(&w, t, -1, true);
		jsonw_key(&w, "duplicates");
		jsonw_arr_begin(&w);
		for (size_t j = 0; j < g[i].ndups; j++) {
			const struct catalog_track *dup = named_find(&nm, g[i].dups[j].id);

			if (dup)
				write_track(&w, dup, g[i].dups[j].similarity, false);
		}
		jsonw_arr_end(&w);
		jsonw_obj_end(&w);
	}
	jsonw_arr_end(&w);
	jsonw_key(&w, "next_cursor");
	if (more && n)
		jsonw_str(&w, g[n - 1].id);
	else
		jsonw_null(&w);
	jsonw_obj_end(&w);
	api_send_jsonw(req, 200, &w);
	jsonw_release(&w);
out:
	named_release(&nm);
	catalog_duplicate_groups_free(g, n);
}
