/* read.h — row readers shared by list.c and get.c (internal to the catalogue). */
#ifndef TONEARM_CATALOG_READ_H
#define TONEARM_CATALOG_READ_H

#include "catalog/internal.h"

/* The column lists the readers below expect, in order. A track's album title and an album's
 * artist name are the row's own copies (migration 0015), looked up only when a row has none. TRACK_COLS ends with the track's
 * stored links (migration 0015) and the lyrics column's slot, which lists fill with NULL. */
#define CATALOG_TRACK_COLS                                                                          \
	"t.id, t.title, t.sort_title, t.album_id, "                                                    \
	"COALESCE(t.album_title, (SELECT al.title FROM albums al WHERE al.id = t.album_id)), t.disc, t.disc_total, t.track_no, "         \
	"t.track_total, t.duration_ms, t.date, t.year, t.isrc, t.label, t.bpm, t.mb_recording_id, "     \
	"t.mb_release_id, t.rg_track_gain, t.rg_track_peak, t.rg_album_gain, t.rg_album_peak, "         \
	"t.loudness_lufs, t.loudness_range, t.true_peak, t.sha256, t.object_key, t.path, t.container, " \
	"t.codec, t.sample_rate, t.channels, t.bits, t.bitrate, t.lossless, t.file_size, t.cover_hash, " \
	"t.created_at, t.updated_at, t.credits, t.genre_links"
#define CATALOG_TRACK_NCOLS 41 /* with the lyrics slot */
#define CATALOG_TRACK_FROM " FROM tracks t"

#define CATALOG_ALBUM_COLS                                                                      \
	"al.id, al.title, al.sort_title, al.mbid, al.date, al.label, al.cover_hash, al.artist_id, " \
	"COALESCE(al.artist_name, (SELECT ar.name FROM artists ar WHERE ar.id = al.artist_id)), al.compilation, al.year, al.disc_total, al.created_at, al.updated_at"
#define CATALOG_ALBUM_NCOLS 14
#define CATALOG_ALBUM_FROM " FROM albums al"

#define CATALOG_ARTIST_COLS "a.id, a.name, a.sort_name, a.mbid, a.created_at, a.updated_at"
#define CATALOG_ARTIST_NCOLS 6
#define CATALOG_ARTIST_FROM " FROM artists a"

#define CATALOG_GENRE_COLS "g.id, g.name, g.created_at, g.updated_at"
#define CATALOG_GENRE_NCOLS 4
#define CATALOG_GENRE_FROM " FROM genres g"

/* Read the current row into *out, copying strings into the arena. -1 (ERR_NOMEM) on out
 * of memory. catalog_read_track returns 1 when the row's links are not stored (NULL, written
 * by a build before 0015's): the caller reads them with catalog_load_links. */
int catalog_read_track(struct db_stmt *s, struct catalog_arena *a, struct catalog_track *out, struct err *e);
int catalog_read_album(struct db_stmt *s, struct catalog_arena *a, struct catalog_album *out, struct err *e);
int catalog_read_artist(struct db_stmt *s, struct catalog_arena *a, struct catalog_artist *out, struct err *e);
int catalog_read_genre(struct db_stmt *s, struct catalog_arena *a, struct catalog_genre *out, struct err *e);

/* Load the credits and genres of n tracks from the link tables (one query each, whatever n). */
int catalog_load_links(struct db_conn *c, struct catalog_arena *a, struct catalog_track *tracks, size_t n,
		       struct err *e);

/* Read the rows of the tracks of tracks[0, n) that are not `known` (their id set, the rest
 * zero), with one query per 512; each track's rev becomes CATALOG_TRACK_REV's. *need_links is
 * set when a row's links are not stored (see catalog_read_track). A track not found is left
 * as it was (title NULL) when missing_ok, else ERR_INTERNAL (a page's caller found its id in
 * the same snapshot); so is the second of two with one id. */
int catalog_read_unknown(struct db_conn *c, struct catalog_arena *a, struct catalog_track *tracks, size_t n,
			 bool missing_ok, bool *need_links, struct err *e);

/* The revision a cache may keep a track's rendering under (catalog_track.rev): the row's, or 0
 * when the row lacks a stored copy (0015) and shows what another table holds. Only a rendering
 * needs the check: a row found later at the same revision is the same row, copies and all, so
 * the page's first query reads t.rev alone (from the sort indexes, 0016). */
#define CATALOG_TRACK_REV \
	"CASE WHEN t.album_title IS NULL OR t.credits IS NULL OR t.genre_links IS NULL THEN 0 ELSE t.rev END"

/* links.c: the stored links `text` as refs in the pages' order, in the arena. 0 done, 1 when
 * the text is malformed (nothing set: read the link tables instead), -1 out of memory. */
int catalog_links_decode(struct catalog_arena *a, const char *text, bool genres, struct catalog_ref **out,
			 size_t *n, struct err *e);

#endif
