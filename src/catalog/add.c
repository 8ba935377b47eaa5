/* add.c — catalog_track_add: one ingested file becomes one track, in one transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/id.h"
#include "base/log.h"
#include "catalog/internal.h"
#include "catalog/text.h"
#include "db/db.h"

/* A lost race (another import created the same artist between our read and our insert on
 * a backend that reports it as a conflict) is retried this many times. */
#define ADD_ATTEMPTS 4

static bool is_hex64(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == 64;
}

static int check_input(const struct catalog_track_input *in, struct err *e)
{
	size_t nmain = 0;

	if (catalog_check_text("title", in->title, CATALOG_NAME_MAX, true, e) < 0 ||
	    catalog_check_text("sort_title", in->sort_title, CATALOG_NAME_MAX, false, e) < 0 ||
	    catalog_check_text("album", in->album, CATALOG_NAME_MAX, false, e) < 0 ||
	    catalog_check_text("album_sort", in->album_sort, CATALOG_NAME_MAX, false, e) < 0 ||
	    catalog_check_text("album_artist", in->album_artist, CATALOG_NAME_MAX, false, e) < 0 ||
	    catalog_check_text("album_artist_sort", in->album_artist_sort, CATALOG_NAME_MAX, false, e) < 0 ||
	    catalog_check_text("album_artist_mbid", in->album_artist_mbid, 64, false, e) < 0 ||
	    catalog_check_text("date", in->date, 64, false, e) < 0 ||
	    catalog_check_text("isrc", in->isrc, 64, false, e) < 0 ||
	    catalog_check_text("label", in->label, CATALOG_NAME_MAX, false, e) < 0 ||
	    catalog_check_text("lyrics", in->lyrics, CATALOG_LYRICS_MAX, false, e) < 0 ||
	    catalog_check_text("mb_recording_id", in->mb_recording_id, 64, false, e) < 0 ||
	    catalog_check_text("mb_release_id", in->mb_release_id, 64, false, e) < 0 ||
	    catalog_check_text("object_key", in->object_key, 1024, false, e) < 0 ||
	    catalog_check_text("path", in->path, 4096, false, e) < 0 ||
	    catalog_check_text("container", in->container, 64, false, e) < 0 ||
	    catalog_check_text("codec", in->codec, 64, false, e) < 0 ||
	    catalog_check_text("fingerprint", in->fingerprint, 1u << 20, false, e) < 0)
		return -1;
	if (catalog_check_number("disc", in->disc, CATALOG_NUMBER_MAX, e) < 0 ||
	    catalog_check_number("disc_total", in->disc_total, CATALOG_NUMBER_MAX, e) < 0 ||
	    catalog_check_number("track", in->track, CATALOG_NUMBER_MAX, e) < 0 ||
	    catalog_check_number("track_total", in->track_total, CATALOG_NUMBER_MAX, e) < 0 ||
	    catalog_check_number("year", in->year, 9999, e) < 0 ||
	    catalog_check_number("duration_ms", in->duration_ms, 1000LL * 3600 * 24 * 7, e) < 0 ||
	    catalog_check_number("sample_rate", in->sample_rate, 10000000, e) < 0 ||
	    catalog_check_number("channels", in->channels, 1024, e) < 0 ||
	    catalog_check_number("bits", in->bits, 64, e) < 0 ||
	    catalog_check_number("bitrate", in->bitrate, 1000000000, e) < 0 ||
	    catalog_check_number("file_size", in->file_size, INT64_MAX, e) < 0 ||
	    catalog_check_number("created_at", in->created_at, INT64_MAX, e) < 0)
		return -1;
	if (!in->sha256 || !is_hex64(in->sha256))
		return err_set(e, ERR_INVALID, "field \"sha256\": must be 64 lower-case hex digits");
	if (in->cover_hash && *in->cover_hash && !is_hex64(in->cover_hash))
		return err_set(e, ERR_INVALID, "field \"cover_hash\": must be 64 lower-case hex digits");
	if ((!in->object_key || !*in->object_key) && (!in->path || !*in->path))
		return err_set(e, ERR_INVALID, "field \"object_key\": an object key or a path is required");
	if (in->nartists > CATALOG_ARTISTS_MAX)
		return err_set(e, ERR_INVALID, "field \"artists\": more than %d", CATALOG_ARTISTS_MAX);
	if (in->ngenres > CATALOG_GENRES_MAX)
		return err_set(e, ERR_INVALID, "field \"genres\": more than %d", CATALOG_GENRES_MAX);
	for (size_t i = 0; i < in->nartists; i++) {
		const struct catalog_artist_input *a = &in->artists[i];

		if (catalog_check_text("artists", a->name, CATALOG_NAME_MAX, true, e) < 0 ||
		    catalog_check_text("artists", a->sort_name, CATALOG_NAME_MAX, false, e) < 0 ||
		    catalog_check_text("artists", a->mbid, 64, false, e) < 0)
			return -1;
		if (a->role > CATALOG_ROLE_COMPOSER)
			return err_set(e, ERR_INVALID, "field \"artists\": unknown role");
		nmain += a->role == CATALOG_ROLE_MAIN;
	}
	if (nmain == 0)
		return err_set(e, ERR_INVALID, "field \"artists\": at least one main artist is required");
	for (size_t i = 0; i < in->ngenres; i++)
		if (catalog_check_text("genres", in->genres[i], CATALOG_NAME_MAX, true, e) < 0)
			return -1;
	if (in->peaks_len > (16u << 20) || (in->peaks_len && !in->peaks))
		return err_set(e, ERR_INVALID, "field \"peaks\": at most 16 MiB");
	return 0;
}

/* The year a date starts with ("2003-05-12" → 2003), else 0. */
static int year_of(const char *date)
{
	int y = 0;

	if (!date)
		return 0;
	for (int i = 0; i < 4; i++) {
		if (date[i] < '0' || date[i] > '9')
			return 0;
		y = y * 10 + (date[i] - '0');
	}
	return date[4] == '\0' || date[4] == '-' || date[4] == 'T' || date[4] == ' ' ? y : 0;
}

static const char *nz(const char *s)
{
	return s && *s ? s : NULL;
}

static void bind_opt_double(struct db_stmt *s, int idx, bool has, double v)
{
	if (has)
		db_bind_double(s, idx, v);
	else
		db_bind_null(s, idx);
}

static int insert_track(struct db_conn *c, const struct catalog_track_input *in, const char *id,
			const char *album_id, int year, int64_t now, struct err *e)
{
	char *norm = NULL, *sort = NULL, *sort_norm = NULL;
	struct db_stmt *s = NULL;
	int ret = -1, k = 1;

	norm = catalog_normalize(in->title, e);
	if (!norm)
		goto out;
	sort = nz(in->sort_title) ? strdup(in->sort_title) : catalog_sort_name(in->title);
	if (!sort) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	sort_norm = catalog_normalize(sort, e);
	if (!sort_norm)
		goto out;
	s = db_prepare(c,
		"INSERT INTO tracks (id, title, sort_title, title_norm, sort_norm, album_id, disc, disc_total, "
		"track_no, track_total, duration_ms, date, year, isrc, label, bpm, lyrics, mb_recording_id, "
		"mb_release_id, rg_track_gain, rg_track_peak, rg_album_gain, rg_album_peak, loudness_lufs, "
		"loudness_range, true_peak, sha256, object_key, path, container, codec, sample_rate, channels, "
		"bits, bitrate, lossless, file_size, cover_hash, created_at, updated_at, rg_album_tagged, album_title) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, "
		"$21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, $37, $38, $39, $40, "
		"$41, (SELECT title FROM albums WHERE id = $6))", e);
	if (!s)
		goto out;
	db_bind_str(s, k++, id);
	db_bind_str(s, k++, in->title);
	db_bind_str(s, k++, sort);
	db_bind_str(s, k++, norm);
	db_bind_str(s, k++, *sort_norm ? sort_norm : norm);
	db_bind_str(s, k++, album_id);
	db_bind_int(s, k++, in->disc);
	db_bind_int(s, k++, in->disc_total);
	db_bind_int(s, k++, in->track);
	db_bind_int(s, k++, in->track_total);
	db_bind_int(s, k++, in->duration_ms);
	db_bind_str(s, k++, nz(in->date));
	db_bind_int(s, k++, year);
	db_bind_str(s, k++, nz(in->isrc));
	db_bind_str(s, k++, nz(in->label));
	bind_opt_double(s, k++, in->has & CATALOG_HAS_BPM, in->bpm);
	db_bind_str(s, k++, nz(in->lyrics));
	db_bind_str(s, k++, nz(in->mb_recording_id));
	db_bind_str(s, k++, nz(in->mb_release_id));
	bind_opt_double(s, k++, in->has & CATALOG_HAS_RG_TRACK, in->rg_track_gain);
	bind_opt_double(s, k++, in->has & CATALOG_HAS_RG_TRACK, in->rg_track_peak);
	bind_opt_double(s, k++, in->has & CATALOG_HAS_RG_ALBUM, in->rg_album_gain);
	bind_opt_double(s, k++, in->has & CATALOG_HAS_RG_ALBUM, in->rg_album_peak);
	bind_opt_double(s, k++, in->has & CATALOG_HAS_LOUDNESS, in->loudness_lufs);
	bind_opt_double(s, k++, in->has & CATALOG_HAS_LOUDNESS, in->loudness_range);
	bind_opt_double(s, k++, in->has & CATALOG_HAS_LOUDNESS, in->true_peak);
	db_bind_str(s, k++, in->sha256);
	db_bind_str(s, k++, nz(in->object_key));
	db_bind_str(s, k++, nz(in->path));
	db_bind_str(s, k++, nz(in->container));
	db_bind_str(s, k++, nz(in->codec));
	db_bind_int(s, k++, in->sample_rate);
	db_bind_int(s, k++, in->channels);
	db_bind_int(s, k++, in->bits);
	db_bind_int(s, k++, in->bitrate);
	db_bind_int(s, k++, in->lossless);
	db_bind_int(s, k++, in->file_size);
	db_bind_str(s, k++, nz(in->cover_hash));
	db_bind_int(s, k++, in->created_at ? in->created_at : now);
	db_bind_int(s, k++, now);
	db_bind_int(s, k++, (in->has & CATALOG_HAS_RG_ALBUM) != 0);
	if (db_step(s, e) < 0)
		goto out;
	ret = 0;
out:
	db_finalize(s);
	free(norm);
	free(sort);
	free(sort_norm);
	return ret;
}

/* Insert a credit unless the same artist already has that role on the track. Two statements
 * rather than INSERT … SELECT … WHERE NOT EXISTS: SQLite runs an INSERT whose SELECT reads
 * the same table through a temporary table (a b-tree opened, filled and closed per credit). */
int catalog_credit_add(struct db_conn *c, const char *track_id, const char *artist_id, enum catalog_role role,
		       int position, struct err *e)
{
	const char *role_name = catalog_role_name(role);
	struct db_stmt *s = db_prepare(c, "SELECT 1 FROM track_artists WHERE track_id = $1 AND artist_id = $2 "
				       "AND role = $3", e);
	int rc;

	if (!s)
		return -1;
	db_bind_str(s, 1, track_id);
	db_bind_str(s, 2, artist_id);
	db_bind_str(s, 3, role_name);
	rc = db_step(s, e);
	db_finalize(s);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	s = db_prepare(c, "INSERT INTO track_artists (track_id, artist_id, role, position) VALUES ($1, $2, $3, $4)", e);
	if (!s)
		return -1;
	db_bind_str(s, 1, track_id);
	db_bind_str(s, 2, artist_id);
	db_bind_str(s, 3, role_name);
	db_bind_int(s, 4, position);
	rc = db_step(s, e);
	db_finalize(s);
	return rc < 0 ? -1 : 0;
}

int catalog_genre_link(struct db_conn *c, const char *track_id, const char *genre_id, int position, struct err *e)
{
	struct db_stmt *s = db_prepare(c, "INSERT INTO track_genres (track_id, genre_id, position) "
				       "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", e);
	int rc;

	if (!s)
		return -1;
	db_bind_str(s, 1, track_id);
	db_bind_str(s, 2, genre_id);
	db_bind_int(s, 3, position);
	rc = db_step(s, e);
	db_finalize(s);
	return rc < 0 ? -1 : 0;
}

/* The artist who stands in for a missing album artist. (Two main artists on one track are a
 * duet, not a compilation: only the album-level rule in ensure.c's album_inferred says that.) */
static const struct catalog_artist_input *first_main(const struct catalog_track_input *in)
{
	for (size_t i = 0; i < in->nartists; i++)
		if (in->artists[i].role == CATALOG_ROLE_MAIN)
			return &in->artists[i];
	return &in->artists[0];
}

/* One attempt; *dup is set when the content is already a track (out->id is then that one). */
static int add_once(struct catalog *cat, struct db_conn *c, const struct catalog_track_input *in,
		    const struct catalog_duplicate *dups,
		    size_t ndups, struct catalog_track_added *out, bool *dup, bool own_tx, struct err *e)
{
	char artist_ids[CATALOG_ARTISTS_MAX][ID_LEN + 1];
	char album_artist[ID_LEN + 1], existing[ID_LEN + 1], gid[ID_LEN + 1];
	struct catalog_album_spec spec;
	int64_t now = clock_now_ms();
	int year = in->year ? in->year : year_of(in->date);
	int pos[3] = { 0, 0, 0 }, rc;
	const struct catalog_artist_input *lead = first_main(in);

	if (own_tx && db_begin(c, e) < 0)
		return -1;
	rc = catalog_query_id(c, "SELECT id FROM tracks WHERE sha256 = $1", existing, e, 1, in->sha256);
	if (rc < 0)
		goto fail;
	if (rc == 1) {
		memcpy(out->id, existing, sizeof(existing));
		*dup = true;
		err_set(e, ERR_CONFLICT, "this content is already track %s", existing);
		goto fail;
	}
	for (size_t i = 0; i < in->nartists; i++)
		if (catalog_artist_ensure(c, in->artists[i].name, in->artists[i].sort_name, in->artists[i].mbid, now,
					  artist_ids[i], e) < 0)
			goto fail;

	memset(&spec, 0, sizeof(spec));
	if (nz(in->album_artist)) {
		if (catalog_artist_ensure(c, in->album_artist, in->album_artist_sort, in->album_artist_mbid, now,
					  album_artist, e) < 0)
			goto fail;
	} else if (in->compilation) {
		if (catalog_artist_ensure(c, CATALOG_VARIOUS_ARTISTS, NULL, NULL, now, album_artist, e) < 0)
			goto fail;
	} else {
		memcpy(album_artist, artist_ids[lead - in->artists], sizeof(album_artist));
		spec.inferred = true;
	}
	spec.title = nz(in->album) ? in->album : in->title;
	spec.sort_title = nz(in->album) ? in->album_sort : NULL;
	spec.mbid = in->mb_release_id;
	spec.artist_id = album_artist;
	spec.compilation = in->compilation;
	spec.year = year;
	spec.date = in->date;
	spec.label = in->label;
	spec.disc_total = in->disc_total;
	spec.cover_hash = in->cover_hash;
	if (catalog_album_ensure(c, &spec, now, out->album_id, e) < 0)
		goto fail;

	id_new(out->id);
	if (insert_track(c, in, out->id, out->album_id, year, now, e) < 0)
		goto fail;
	for (size_t i = 0; i < in->nartists; i++) {
		enum catalog_role r = in->artists[i].role;

		if (catalog_credit_add(c, out->id, artist_ids[i], r, pos[r]++, e) < 0)
			goto fail;
	}
	for (size_t i = 0; i < in->ngenres; i++) {
		if (catalog_genre_ensure(c, in->genres[i], now, gid, e) < 0 ||
		    catalog_genre_link(c, out->id, gid, (int)i, e) < 0)
			goto fail;
	}
	if (catalog_links_store(cat, c, out->id, e) < 0)
		goto fail;
	if (nz(in->fingerprint) || in->peaks_len || in->gating_hist) {
		struct db_stmt *s = db_prepare(c, "INSERT INTO track_analysis (track_id, fingerprint, peaks, gating_hist) "
					       "VALUES ($1, $2, $3, $4)", e);
		if (!s)
			goto fail;
		db_bind_str(s, 1, out->id);
		db_bind_str(s, 2, nz(in->fingerprint));
		if (in->peaks_len)
			db_bind_blob(s, 3, in->peaks, in->peaks_len);
		else
			db_bind_null(s, 3);
		catalog_bind_gating_hist(s, 4, in->gating_hist, e);
		rc = db_step(s, e);
		db_finalize(s);
		if (rc < 0 || (in->gating_hist && catalog_album_gain_update(c, out->album_id, now, e) < 0) ||
		    (dups && catalog_duplicates_store(c, out->id, dups, ndups, e) < 0))
			goto fail;
	}
	if (catalog_bump(c, e) < 0 || (own_tx && db_commit(c, e) < 0))
		goto fail;
	return 0;
fail:
	if (own_tx && db_in_transaction(c))
		db_rollback(c, NULL);
	return -1;
}

int catalog_track_add(struct catalog *cat, const struct catalog_track_input *in, struct catalog_track_added *out,
		      struct err *e)
{
	struct catalog_duplicate *dups = NULL;
	size_t ndups = 0;
	struct db_conn *c;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (check_input(in, e) < 0)
		return -1;
	c = db_acquire(cat->db, e);
	if (!c)
		return -1;
	/* Its acoustic duplicates are found first, outside the write transaction when there is
	 * one of our own (comparing fingerprints takes milliseconds in a large catalogue). */
	if (nz(in->fingerprint) && catalog_duplicates_find(c, NULL, in->fingerprint, in->duration_ms, &dups, &ndups, e) < 0) {
		db_release(c);
		return -1;
	}
	if (db_in_transaction(c)) {
		/* Inside a batch: its transaction, no retry (a failed statement spoilt it). */
		bool dup = false;

		ret = add_once(cat, c, in, dups, ndups, out, &dup, false, e);
		if (ret < 0 && !dup)
			memset(out, 0, sizeof(*out));
		db_release(c);
		free(dups);
		return ret;
	}
	for (int attempt = 1; attempt <= ADD_ATTEMPTS; attempt++) {
		struct err tmp = ERR_INIT;
		bool dup = false;

		if (add_once(cat, c, in, dups, ndups, out, &dup, true, &tmp) == 0) {
			ret = 0;
			break;
		}
		*e = tmp;
		if (dup)
			break;
		memset(out, 0, sizeof(*out));
		/* Any other conflict is a lost race with a concurrent add (of the same artist on
		 * PostgreSQL, or of the same bytes): run again, and the winner's rows are found. */
		if (tmp.code != ERR_CONFLICT || attempt == ADD_ATTEMPTS)
			break;
		log_kv(LOG_DEBUG, NULL, "catalog: retrying an add after a conflict",
		       LOG_FIELDS(LOG_STR("error", tmp.msg), LOG_INT("attempt", attempt)));
	}
	db_release(c);
	free(dups);
	return ret;
}

int catalog_batch_begin(struct catalog *cat, struct err *e)
{
	struct db_conn *c = db_acquire(cat->db, e);

	if (!c)
		return -1;
	if (db_begin(c, e) < 0) {
		db_release(c);
		return -1;
	}
	/* The connection stays acquired (and so stays this thread's) until catalog_batch_end. */
	return 0;
}

int catalog_batch_end(struct catalog *cat, bool commit, struct err *e)
{
	struct db_conn *c = db_acquire(cat->db, e);
	int ret;

	if (!c)
		return -1;
	if (!db_in_transaction(c)) {
		db_release(c);
		return err_set(e, ERR_INTERNAL, "no batch is open on this thread");
	}
	ret = commit ? db_commit(c, e) : db_rollback(c, e);
	db_release(c); /* this call's acquisition */
	db_release(c); /* catalog_batch_begin's */
	return ret;
}
