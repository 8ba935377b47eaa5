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

/* One track as in lists, with `similarity` when >= 0; left out when deleted meanwhile. 0, or
 * -1 after answering. */
static int write_track(struct http_req *req, struct api *a, struct jsonw *w, const char *id, int similarity,
		       bool open, bool *written)
{
	struct catalog_page *p = NULL;
	struct err e = ERR_INIT;

	*written = false;
	if (catalog_get(a->catalog, CATALOG_TRACKS, id, &p, &e) < 0) {
		if (e.code == ERR_NOT_FOUND)
			return 0;
		http_res_err(req, &e);
		return -1;
	}
	api_track_write(w, p->tracks, 0, true);
	if (similarity >= 0) {
		jsonw_key(w, "similarity");
		jsonw_int(w, similarity);
	}
	if (!open)
		jsonw_obj_end(w);
	catalog_page_free(p);
	*written = true;
	return 0;
}

void api_track_duplicates(struct http_req *req, void *app)
{
	struct api *a = app;
	const char *id = http_req_param(req, "id");
	struct catalog_duplicate *d = NULL;
	struct err e = ERR_INIT;
	long long min;
	size_t n = 0;
	bool written;
	struct jsonw w;

	if (http_req_query_int(req, "min_similarity", MIN_SIMILARITY_DEFAULT, 1, 100, &min, &e) < 0) {
		http_res_problem(req, 400, "Bad Request", e.msg);
		return;
	}
	if (catalog_track_duplicates(a->catalog, id, (int)min, &d, &n, &e) < 0) {
		http_res_err(req, &e);
		return;
	}
	jsonw_init(&w, API_JSON_MAX);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "track_id");
	jsonw_str(&w, id);
	jsonw_key(&w, "min_similarity");
	jsonw_int(&w, min);
	jsonw_key(&w, "items");
	jsonw_arr_begin(&w);
	for (size_t i = 0; i < n; i++)
		if (write_track(req, a, &w, d[i].id, d[i].similarity, false, &written) < 0)
			goto out;
	jsonw_arr_end(&w);
	jsonw_obj_end(&w);
	api_send_jsonw(req, 200, &w);
out:
	jsonw_release(&w);
	free(d);
}

void api_duplicates_list(struct http_req *req, void *app)
{
	struct api *a = app;
	const char *after = http_req_query(req, "cursor");
	struct catalog_duplicate_group *g = NULL;
	struct err e = ERR_INIT;
	long long limit;
	size_t n = 0;
	bool more = false, written;
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
	jsonw_init(&w, API_JSON_MAX);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "items");
	jsonw_arr_begin(&w);
	for (size_t i = 0; i < n; i++) {
		if (write_track(req, a, &w, g[i].id, -1, true, &written) < 0)
			goto fail;
		if (!written)
			continue;
		jsonw_key(&w, "duplicates");
		jsonw_arr_begin(&w);
		for (size_t j = 0; j < g[i].ndups; j++)
			if (write_track(req, a, &w, g[i].dups[j].id, g[i].dups[j].similarity, false, &written) < 0)
				goto fail;
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
fail:
	jsonw_release(&w);
	catalog_duplicate_groups_free(g, n);
}
