/* catalog_json.c — how catalogue rows look in JSON, and how list parameters are read.
 * Unknown numbers (0 in the catalogue) are JSON null; times are RFC 3339 in UTC. */
#include <stdlib.h>
#include <string.h>

#include "api/catalog.h"
#include "base/clock.h"
#include "catalog/catalog.h"
#include "http/http.h"

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *num_or_null(int64_t v)
{
	return v ? json_integer(v) : json_null();
}

static json_t *real_or_null(bool has, double v)
{
	return has ? json_real(v) : json_null();
}

static json_t *time_json(int64_t ms)
{
	char buf[CLOCK_RFC3339_LEN];

	return clock_rfc3339(ms, buf, sizeof(buf)) < 0 ? json_null() : json_string(buf);
}

static json_t *ref_json(const struct catalog_ref *r)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "id", str_or_null(r->id));
	json_object_set_new(o, "name", str_or_null(r->name));
	if (r->role)
		json_object_set_new(o, "role", json_string(r->role));
	return o;
}

static json_t *refs_json(const struct catalog_ref *r, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, ref_json(&r[i]));
	return a;
}

json_t *api_track_json(const struct catalog_track *t, int full)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "id", json_string(t->id));
	json_object_set_new(o, "title", str_or_null(t->title));
	json_object_set_new(o, "sort_title", str_or_null(t->sort_title));
	json_object_set_new(o, "album", json_pack("{s:s?, s:s?}", "id", t->album.id, "title", t->album.name));
	json_object_set_new(o, "artists", refs_json(t->artists, t->nartists));
	json_object_set_new(o, "genres", refs_json(t->genres, t->ngenres));
	json_object_set_new(o, "disc", num_or_null(t->disc));
	json_object_set_new(o, "disc_total", num_or_null(t->disc_total));
	json_object_set_new(o, "track", num_or_null(t->track));
	json_object_set_new(o, "track_total", num_or_null(t->track_total));
	json_object_set_new(o, "year", num_or_null(t->year));
	json_object_set_new(o, "date", str_or_null(t->date));
	json_object_set_new(o, "duration_ms", json_integer(t->duration_ms));
	json_object_set_new(o, "isrc", str_or_null(t->isrc));
	json_object_set_new(o, "label", str_or_null(t->label));
	json_object_set_new(o, "bpm", real_or_null(t->has & CATALOG_HAS_BPM, t->bpm));
	json_object_set_new(o, "musicbrainz", json_pack("{s:s?, s:s?}", "recording_id", t->mb_recording_id,
							 "release_id", t->mb_release_id));
	json_object_set_new(o, "replaygain",
			    json_pack("{s:o, s:o, s:o, s:o}",
				      "track_gain", real_or_null(t->has & CATALOG_HAS_RG_TRACK, t->rg_track_gain),
				      "track_peak", real_or_null(t->has & CATALOG_HAS_RG_TRACK, t->rg_track_peak),
				      "album_gain", real_or_null(t->has & CATALOG_HAS_RG_ALBUM, t->rg_album_gain),
				      "album_peak", real_or_null(t->has & CATALOG_HAS_RG_ALBUM, t->rg_album_peak)));
	json_object_set_new(o, "loudness",
			    json_pack("{s:o, s:o, s:o}",
				      "integrated_lufs", real_or_null(t->has & CATALOG_HAS_LOUDNESS, t->loudness_lufs),
				      "range_lu", real_or_null(t->has & CATALOG_HAS_LOUDNESS, t->loudness_range),
				      "true_peak_dbtp", real_or_null(t->has & CATALOG_HAS_LOUDNESS, t->true_peak)));
	json_object_set_new(o, "format",
			    json_pack("{s:s?, s:s?, s:o, s:o, s:o, s:o, s:b, s:I}", "container", t->container,
				      "codec", t->codec, "sample_rate", num_or_null(t->sample_rate), "channels",
				      num_or_null(t->channels), "bits", num_or_null(t->bits), "bitrate",
				      num_or_null(t->bitrate), "lossless", t->lossless, "file_size",
				      (json_int_t)t->file_size));
	json_object_set_new(o, "sha256", str_or_null(t->sha256));
	json_object_set_new(o, "cover_hash", str_or_null(t->cover_hash));
	if (full)
		json_object_set_new(o, "lyrics", str_or_null(t->lyrics));
	json_object_set_new(o, "created_at", time_json(t->created_at));
	json_object_set_new(o, "updated_at", time_json(t->updated_at));
	return o;
}

json_t *api_album_json(const struct catalog_album *a, int full)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "id", json_string(a->id));
	json_object_set_new(o, "title", str_or_null(a->title));
	json_object_set_new(o, "sort_title", str_or_null(a->sort_title));
	json_object_set_new(o, "artist", json_pack("{s:s?, s:s?}", "id", a->artist.id, "name", a->artist.name));
	json_object_set_new(o, "compilation", json_boolean(a->compilation));
	json_object_set_new(o, "year", num_or_null(a->year));
	json_object_set_new(o, "date", str_or_null(a->date));
	json_object_set_new(o, "label", str_or_null(a->label));
	json_object_set_new(o, "disc_total", num_or_null(a->disc_total));
	json_object_set_new(o, "musicbrainz_id", str_or_null(a->mbid));
	json_object_set_new(o, "cover_hash", str_or_null(a->cover_hash));
	if (full) {
		json_object_set_new(o, "track_count", json_integer(a->track_count));
		json_object_set_new(o, "duration_ms", json_integer(a->duration_ms));
	}
	json_object_set_new(o, "created_at", time_json(a->created_at));
	json_object_set_new(o, "updated_at", time_json(a->updated_at));
	return o;
}

json_t *api_artist_json(const struct catalog_artist *a, int full)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "id", json_string(a->id));
	json_object_set_new(o, "name", str_or_null(a->name));
	json_object_set_new(o, "sort_name", str_or_null(a->sort_name));
	json_object_set_new(o, "musicbrainz_id", str_or_null(a->mbid));
	if (full) {
		json_object_set_new(o, "album_count", json_integer(a->album_count));
		json_object_set_new(o, "track_count", json_integer(a->track_count));
	}
	json_object_set_new(o, "created_at", time_json(a->created_at));
	json_object_set_new(o, "updated_at", time_json(a->updated_at));
	return o;
}

json_t *api_genre_json(const struct catalog_genre *g, int full)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "id", json_string(g->id));
	json_object_set_new(o, "name", str_or_null(g->name));
	if (full)
		json_object_set_new(o, "track_count", json_integer(g->track_count));
	json_object_set_new(o, "created_at", time_json(g->created_at));
	json_object_set_new(o, "updated_at", time_json(g->updated_at));
	return o;
}

/* Exactly n digits at *p, advancing it. */
static int digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int api_parse_time(const char *s, int64_t *ms)
{
	const char *p = s;
	int y, mo, d, h, mi, sec, frac = 0, oh = 0, om = 0, sign = 0;
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (!s || !*s)
		return -1;
	if (strspn(s, "0123456789") == strlen(s)) {
		if (strlen(s) > 15) /* past year 30000: nonsense */
			return -1;
		*ms = strtoll(s, NULL, 10);
		return 0;
	}
	if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 || *p++ != '-' || digits(&p, 2, &d) < 0 ||
	    (*p != 'T' && *p != 't' && *p != ' '))
		return -1;
	p++;
	if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0 || *p++ != ':' || digits(&p, 2, &sec) < 0)
		return -1;
	if (*p == '.') {
		int n = 0;

		p++;
		while (*p >= '0' && *p <= '9') {
			if (n < 3)
				frac = frac * 10 + (*p - '0');
			n++;
			p++;
		}
		if (n == 0)
			return -1;
		for (; n < 3; n++)
			frac *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (digits(&p, 2, &oh) < 0 || *p++ != ':' || digits(&p, 2, &om) < 0 || oh > 23 || om > 59)
			return -1;
	} else {
		return -1;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 60)
		return -1;
	*ms = ((clock_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec) -
	       sign * (oh * 3600 + om * 60)) * 1000 + frac;
	return 0;
}

static const char *const sort_names[] = { "name", "sort_name", "year", "added" };

int api_catalog_query(struct http_req *req, struct catalog_query *q, struct err *e)
{
	const char *sort = http_req_query(req, "sort"), *v;
	long long n;

	memset(q, 0, sizeof(*q));
	if (sort) {
		size_t i;

		q->desc = sort[0] == '-';
		sort += q->desc;
		for (i = 0; i < sizeof(sort_names) / sizeof(sort_names[0]); i++)
			if (strcmp(sort, sort_names[i]) == 0)
				break;
		if (i == sizeof(sort_names) / sizeof(sort_names[0]))
			return err_set(e, ERR_INVALID, "parameter \"sort\": one of name, sort_name, year, added, "
				       "optionally with a leading '-'");
		q->sort = (enum catalog_sort)i;
	}
	if (http_req_query_int(req, "limit", CATALOG_LIMIT_DEFAULT, 1, CATALOG_LIMIT_MAX, &n, e) < 0)
		return -1;
	q->limit = (int)n;
	if (http_req_query_int(req, "year_from", 0, 0, 9999, &n, e) < 0)
		return -1;
	q->year_from = (int)n;
	if (http_req_query_int(req, "year_to", 0, 0, 9999, &n, e) < 0)
		return -1;
	q->year_to = (int)n;
	v = http_req_query(req, "added_since");
	if (v && api_parse_time(v, &q->added_since) < 0)
		return err_set(e, ERR_INVALID, "parameter \"added_since\": an RFC 3339 date-time or milliseconds");
	q->artist = http_req_query(req, "artist");
	q->album = http_req_query(req, "album");
	q->genre = http_req_query(req, "genre");
	q->q = http_req_query(req, "q");
	q->cursor = http_req_query(req, "cursor");
	if (q->cursor && !*q->cursor)
		q->cursor = NULL;
	if (q->q && !*q->q)
		q->q = NULL;
	return 0;
}
