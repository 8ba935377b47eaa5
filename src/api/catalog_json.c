/* catalog_json.c — how catalogue rows look in JSON, and how list parameters are read.
 * Unknown numbers (0 in the catalogue) are JSON null; times are RFC 3339 in UTC. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/catalog.h"
#include "base/clock.h"
#include "base/jsonw.h"
#include "catalog/catalog.h"
#include "http/http.h"

/* The member helpers below say what each JSON shape holds; see jsonw.h for why these are
 * written as text rather than built as jansson trees. Keys are literals, quoted with their
 * colon by the preprocessor (K): a page of 50 tracks writes some 3,000 of them. */
#define K(lit) JSONW_QUOTED_KEY(lit)
static void str_member(struct jsonw *w, const char *key, size_t keylen, const char *s)
{
	jsonw_member_str(w, key, keylen, s);
}

/* Unknown numbers are 0 in the catalogue and null in JSON. */
static void num_member(struct jsonw *w, const char *key, size_t keylen, int64_t v)
{
	if (v)
		jsonw_member_int(w, key, keylen, v);
	else
		jsonw_member_raw(w, key, keylen, "null", 4);
}

static void int_member(struct jsonw *w, const char *key, size_t keylen, int64_t v)
{
	jsonw_member_int(w, key, keylen, v);
}

static void real_member(struct jsonw *w, const char *key, size_t keylen, bool has, double v)
{
	if (has)
		jsonw_member_real(w, key, keylen, v);
	else
		jsonw_member_raw(w, key, keylen, "null", 4);
}

static void bool_member(struct jsonw *w, const char *key, size_t keylen, bool v)
{
	if (v)
		jsonw_member_raw(w, key, keylen, "true", 4);
	else
		jsonw_member_raw(w, key, keylen, "false", 5);
}

/* A member whose value is an object: the caller writes its members and closes it. */
static void obj_member(struct jsonw *w, const char *key, size_t keylen)
{
	jsonw_member_raw(w, key, keylen, "{", 1);
}

static void time_member(struct jsonw *w, const char *key, size_t keylen, int64_t ms)
{
	char buf[CLOCK_RFC3339_LEN + 2];
	int n;

	/* The text is digits, '-', ':', '.', 'T' and 'Z': its own JSON string body. */
	n = clock_rfc3339(ms, buf + 1, sizeof(buf) - 2);
	if (n < 0) {
		jsonw_member_raw(w, key, keylen, "null", 4);
		return;
	}
	buf[0] = '"';
	buf[n + 1] = '"';
	jsonw_member_raw(w, key, keylen, buf, (size_t)n + 2);
}

static void refs_member(struct jsonw *w, const char *key, size_t keylen, const struct catalog_ref *r, size_t n)
{
	jsonw_member_raw(w, key, keylen, "[", 1);
	for (size_t i = 0; i < n; i++) {
		jsonw_obj_begin(w);
		str_member(w, K("id"), r[i].id);
		str_member(w, K("name"), r[i].name);
		if (r[i].role)
			str_member(w, K("role"), r[i].role);
		jsonw_obj_end(w);
	}
	jsonw_arr_end(w);
}

/* Open the object; api_*_write leave it open so that a get can add members (an album's
 * tracks, an artist's albums) before closing it. */
static void track_members(struct jsonw *w, const struct catalog_track *t, int full)
{
	jsonw_obj_begin(w);
	str_member(w, K("id"), t->id);
	str_member(w, K("title"), t->title);
	str_member(w, K("sort_title"), t->sort_title);
	obj_member(w, K("album"));
	str_member(w, K("id"), t->album.id);
	str_member(w, K("title"), t->album.name);
	jsonw_obj_end(w);
	refs_member(w, K("artists"), t->artists, t->nartists);
	refs_member(w, K("genres"), t->genres, t->ngenres);
	num_member(w, K("disc"), t->disc);
	num_member(w, K("disc_total"), t->disc_total);
	num_member(w, K("track"), t->track);
	num_member(w, K("track_total"), t->track_total);
	num_member(w, K("year"), t->year);
	str_member(w, K("date"), t->date);
	int_member(w, K("duration_ms"), t->duration_ms);
	str_member(w, K("isrc"), t->isrc);
	str_member(w, K("label"), t->label);
	real_member(w, K("bpm"), t->has & CATALOG_HAS_BPM, t->bpm);
	obj_member(w, K("musicbrainz"));
	str_member(w, K("recording_id"), t->mb_recording_id);
	str_member(w, K("release_id"), t->mb_release_id);
	jsonw_obj_end(w);
	obj_member(w, K("replaygain"));
	real_member(w, K("track_gain"), t->has & CATALOG_HAS_RG_TRACK, t->rg_track_gain);
	real_member(w, K("track_peak"), t->has & CATALOG_HAS_RG_TRACK, t->rg_track_peak);
	real_member(w, K("album_gain"), t->has & CATALOG_HAS_RG_ALBUM, t->rg_album_gain);
	real_member(w, K("album_peak"), t->has & CATALOG_HAS_RG_ALBUM, t->rg_album_peak);
	jsonw_obj_end(w);
	obj_member(w, K("loudness"));
	real_member(w, K("integrated_lufs"), t->has & CATALOG_HAS_LOUDNESS, t->loudness_lufs);
	real_member(w, K("range_lu"), t->has & CATALOG_HAS_LOUDNESS, t->loudness_range);
	real_member(w, K("true_peak_dbtp"), t->has & CATALOG_HAS_LOUDNESS, t->true_peak);
	jsonw_obj_end(w);
	obj_member(w, K("format"));
	str_member(w, K("container"), t->container);
	str_member(w, K("codec"), t->codec);
	num_member(w, K("sample_rate"), t->sample_rate);
	num_member(w, K("channels"), t->channels);
	num_member(w, K("bits"), t->bits);
	num_member(w, K("bitrate"), t->bitrate);
	bool_member(w, K("lossless"), t->lossless);
	int_member(w, K("file_size"), t->file_size);
	jsonw_obj_end(w);
	str_member(w, K("sha256"), t->sha256);
	str_member(w, K("cover_hash"), t->cover_hash);
	if (full)
		str_member(w, K("lyrics"), t->lyrics);
	time_member(w, K("created_at"), t->created_at);
	time_member(w, K("updated_at"), t->updated_at);
}

static void album_members(struct jsonw *w, const struct catalog_album *a, int full)
{
	jsonw_obj_begin(w);
	str_member(w, K("id"), a->id);
	str_member(w, K("title"), a->title);
	str_member(w, K("sort_title"), a->sort_title);
	obj_member(w, K("artist"));
	str_member(w, K("id"), a->artist.id);
	str_member(w, K("name"), a->artist.name);
	jsonw_obj_end(w);
	bool_member(w, K("compilation"), a->compilation);
	num_member(w, K("year"), a->year);
	str_member(w, K("date"), a->date);
	str_member(w, K("label"), a->label);
	num_member(w, K("disc_total"), a->disc_total);
	str_member(w, K("musicbrainz_id"), a->mbid);
	str_member(w, K("cover_hash"), a->cover_hash);
	if (full) {
		int_member(w, K("track_count"), a->track_count);
		int_member(w, K("duration_ms"), a->duration_ms);
	}
	time_member(w, K("created_at"), a->created_at);
	time_member(w, K("updated_at"), a->updated_at);
}

static void artist_members(struct jsonw *w, const struct catalog_artist *a, int full)
{
	jsonw_obj_begin(w);
	str_member(w, K("id"), a->id);
	str_member(w, K("name"), a->name);
	str_member(w, K("sort_name"), a->sort_name);
	str_member(w, K("musicbrainz_id"), a->mbid);
	if (full) {
		int_member(w, K("album_count"), a->album_count);
		int_member(w, K("track_count"), a->track_count);
	}
	time_member(w, K("created_at"), a->created_at);
	time_member(w, K("updated_at"), a->updated_at);
}

static void genre_members(struct jsonw *w, const struct catalog_genre *g, int full)
{
	jsonw_obj_begin(w);
	str_member(w, K("id"), g->id);
	str_member(w, K("name"), g->name);
	if (full)
		int_member(w, K("track_count"), g->track_count);
	time_member(w, K("created_at"), g->created_at);
	time_member(w, K("updated_at"), g->updated_at);
}

void api_track_write(struct jsonw *w, const struct catalog_track *t, int full, bool open)
{
	track_members(w, t, full);
	if (!open)
		jsonw_obj_end(w);
}

void api_album_write(struct jsonw *w, const struct catalog_album *a, int full, bool open)
{
	album_members(w, a, full);
	if (!open)
		jsonw_obj_end(w);
}

void api_artist_write(struct jsonw *w, const struct catalog_artist *a, int full, bool open)
{
	artist_members(w, a, full);
	if (!open)
		jsonw_obj_end(w);
}

void api_genre_write(struct jsonw *w, const struct catalog_genre *g, int full, bool open)
{
	genre_members(w, g, full);
	if (!open)
		jsonw_obj_end(w);
}

void api_send_jsonw(struct http_req *req, int status, struct jsonw *w)
{
	if (w->failed) {
		/* The writer's only failures: its cap (an album of thousands of tracks with long
		 * lyrics), memory, or text that is not UTF-8 (the database refuses to store any). */
		http_res_problem(req, 500, "Internal Server Error", "the answer could not be written");
		return;
	}
	/* The text is handed over, not copied: a page of tracks is 50 KB. */
	size_t len;
	char *text = buf_detach(&w->buf, &len);

	if (!text) {
		http_res_problem(req, 500, "Internal Server Error", "out of memory");
		return;
	}
	http_res_send_owned(req, status, "application/json", text, len);
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
