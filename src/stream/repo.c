/* repo.c — the rows of stream_tracks and stream_renditions (the only SQL of src/stream/). */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "db/db.h"
#include "stream/internal.h"

#define SEG_REC 8

int stream_repo_key_get(struct stream *s, const char *track_id, unsigned char wrapped[STREAM_WRAPPED_KEY_LEN],
			bool *found, struct err *e)
{
	int ret = -1, rc;
	struct db_conn *c = db_acquire(s->db, e);
	struct db_stmt *st = NULL;

	*found = false;
	if (!c)
		return -1;
	st = db_prepare(c, "SELECT wrapped_key FROM stream_tracks WHERE track_id = $1", e);
	if (!st)
		goto out;
	db_bind_str(st, 1, track_id);
	rc = db_step(st, e);
	if (rc < 0)
		goto out;
	if (rc == 1) {
		size_t len = 0;
		const void *p = db_col_blob(st, 0, &len);
		if (!p || len != STREAM_WRAPPED_KEY_LEN) {
			err_set(e, ERR_INTERNAL, "stored track key has the wrong size");
			goto out;
		}
		memcpy(wrapped, p, len);
		*found = true;
	}
	ret = 0;
out:
	db_finalize(st);
	db_release(c);
	return ret;
}

int stream_repo_mark_unready(struct stream *s, const char *track_id, struct err *e)
{
	int ret = -1;
	struct db_conn *c = db_acquire(s->db, e);
	struct db_stmt *st = NULL;

	if (!c)
		return -1;
	st = db_prepare(c, "UPDATE stream_tracks SET ready = 0, updated_at = $2 WHERE track_id = $1", e);
	if (!st)
		goto out;
	db_bind_str(st, 1, track_id);
	db_bind_int(st, 2, clock_now_ms());
	if (db_step(st, e) < 0)
		goto out;
	ret = 0;
out:
	db_finalize(st);
	db_release(c);
	return ret;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int insert_rendition(struct db_conn *c, const char *track_id, int pos, const struct stream_rendition *r,
			    struct err *e)
{
	int ret = -1;
	struct db_stmt *st = NULL;
	unsigned char *blob = malloc(r->nsegments * SEG_REC + 1);

	if (!blob)
		return err_set(e, ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < r->nsegments; i++) {
		put32(blob + i * SEG_REC, r->segments[i].size);
		put32(blob + i * SEG_REC + 4, r->segments[i].duration);
	}
	st = db_prepare(c,
			"INSERT INTO stream_renditions (track_id, position, name, codec, bitrate, peak_bandwidth,"
			" avg_bandwidth, sample_rate, channels, bits, target_duration, media_sequence, object_key,"
			" init_size, segments) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
			e);
	if (!st)
		goto out;
	db_bind_str(st, 1, track_id);
	db_bind_int(st, 2, pos);
	db_bind_str(st, 3, r->name);
	db_bind_str(st, 4, r->codec);
	db_bind_int(st, 5, r->bitrate);
	db_bind_int(st, 6, r->peak_bandwidth);
	db_bind_int(st, 7, r->avg_bandwidth);
	db_bind_int(st, 8, r->sample_rate);
	db_bind_int(st, 9, r->channels);
	db_bind_int(st, 10, r->bits);
	db_bind_int(st, 11, r->target_duration);
	db_bind_int(st, 12, r->media_sequence);
	db_bind_str(st, 13, r->object_key);
	db_bind_int(st, 14, (int64_t)r->init_size);
	db_bind_blob(st, 15, blob, r->nsegments * SEG_REC);
	if (db_step(st, e) < 0)
		goto out;
	ret = 0;
out:
	db_finalize(st);
	free(blob);
	return ret;
}

int stream_repo_replace(struct stream *s, const char *track_id, const unsigned char wrapped[STREAM_WRAPPED_KEY_LEN],
			const struct stream_rendition *r, size_t n, struct err *e)
{
	int ret = -1;
	struct db_conn *c = db_acquire(s->db, e);
	struct db_stmt *st = NULL;

	if (!c)
		return -1;
	if (db_begin(c, e) < 0)
		goto out;
	st = db_prepare(c,
			"INSERT INTO stream_tracks (track_id, wrapped_key, ready, updated_at) VALUES ($1, $2, 1, $3)"
			" ON CONFLICT (track_id) DO UPDATE SET wrapped_key = $2, ready = 1, updated_at = $3",
			e);
	if (!st)
		goto out;
	db_bind_str(st, 1, track_id);
	db_bind_blob(st, 2, wrapped, STREAM_WRAPPED_KEY_LEN);
	db_bind_int(st, 3, clock_now_ms());
	if (db_step(st, e) < 0)
		goto out;
	db_finalize(st);
	st = db_prepare(c, "DELETE FROM stream_renditions WHERE track_id = $1", e);
	if (!st)
		goto out;
	db_bind_str(st, 1, track_id);
	if (db_step(st, e) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (insert_rendition(c, track_id, (int)i, &r[i], e) < 0)
			goto out;
	if (db_commit(c, e) < 0)
		goto out;
	ret = 0;
out:
	db_finalize(st);
	if (ret < 0 && db_in_transaction(c))
		db_rollback(c, NULL);
	db_release(c);
	return ret;
}

static int read_rendition(struct db_stmt *st, struct stream_rendition *r, struct err *e)
{
	size_t len = 0;
	const unsigned char *blob = db_col_blob(st, 13, &len);
	uint64_t off;

	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", db_col_text(st, 0) ? db_col_text(st, 0) : "");
	snprintf(r->codec, sizeof(r->codec), "%s", db_col_text(st, 1) ? db_col_text(st, 1) : "");
	r->bitrate = (int)db_col_int(st, 2);
	r->peak_bandwidth = (int)db_col_int(st, 3);
	r->avg_bandwidth = (int)db_col_int(st, 4);
	r->sample_rate = (int)db_col_int(st, 5);
	r->channels = (int)db_col_int(st, 6);
	r->bits = (int)db_col_int(st, 7);
	r->target_duration = (int)db_col_int(st, 8);
	r->media_sequence = (int)db_col_int(st, 9);
	snprintf(r->object_key, sizeof(r->object_key), "%s", db_col_text(st, 10) ? db_col_text(st, 10) : "");
	r->init_size = (uint64_t)db_col_int(st, 11);
	if (len % SEG_REC)
		return err_set(e, ERR_INTERNAL, "corrupt segment index");
	r->nsegments = len / SEG_REC;
	r->segments = calloc(r->nsegments ? r->nsegments : 1, sizeof(*r->segments));
	if (!r->segments)
		return err_set(e, ERR_NOMEM, "out of memory");
	off = r->init_size;
	for (size_t i = 0; i < r->nsegments; i++) {
		r->segments[i].offset = off;
		r->segments[i].size = get32(blob + i * SEG_REC);
		r->segments[i].duration = get32(blob + i * SEG_REC + 4);
		off += r->segments[i].size;
	}
	return 0;
}

int stream_renditions(struct stream *s, const char *track_id, struct stream_rendition_list *out, struct err *e)
{
	int ret = -1, rc;
	struct db_conn *c = db_acquire(s->db, e);
	struct db_stmt *st = NULL;
	struct stream_rendition_list l = { 0 };

	if (!c)
		return -1;
	st = db_prepare(c,
			"SELECT r.name, r.codec, r.bitrate, r.peak_bandwidth, r.avg_bandwidth, r.sample_rate,"
			" r.channels, r.bits, r.target_duration, r.media_sequence, r.object_key, r.init_size,"
			" t.ready, r.segments FROM stream_renditions r JOIN stream_tracks t ON t.track_id = r.track_id"
			" WHERE r.track_id = $1 AND t.ready = 1 ORDER BY r.position",
			e);
	if (!st)
		goto out;
	db_bind_str(st, 1, track_id);
	while ((rc = db_step(st, e)) == 1) {
		if (l.n == STREAM_RUNGS_MAX) {
			err_set(e, ERR_INTERNAL, "too many renditions");
			goto out;
		}
		if (!l.items && !(l.items = calloc(STREAM_RUNGS_MAX, sizeof(*l.items)))) {
			err_set(e, ERR_NOMEM, "out of memory");
			goto out;
		}
		l.n++;
		if (read_rendition(st, &l.items[l.n - 1], e) < 0)
			goto out;
	}
	if (rc < 0)
		goto out;
	if (l.n == 0) {
		err_set(e, ERR_NOT_FOUND, "no ladder for this track");
		goto out;
	}
	*out = l;
	l = (struct stream_rendition_list){ 0 };
	ret = 0;
out:
	stream_rendition_list_release(&l);
	db_finalize(st);
	db_release(c);
	return ret;
}

void stream_rendition_list_release(struct stream_rendition_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i].segments);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

int stream_key(struct stream *s, const char *track_id, unsigned char key[STREAM_KEY_LEN], struct err *e)
{
	unsigned char wrapped[STREAM_WRAPPED_KEY_LEN];
	bool found = false;
	if (stream_repo_key_get(s, track_id, wrapped, &found, e) < 0)
		return -1;
	if (!found)
		return err_set(e, ERR_NOT_FOUND, "no key for this track");
	return stream_key_unwrap(s->opt.master_key, wrapped, key, e);
}

int stream_segment_range(const struct stream_rendition *r, size_t n, uint64_t *off, uint64_t *len, struct err *e)
{
	if (!r || n >= r->nsegments)
		return err_set(e, ERR_NOT_FOUND, "no such segment");
	*off = r->segments[n].offset;
	*len = r->segments[n].size;
	return 0;
}
