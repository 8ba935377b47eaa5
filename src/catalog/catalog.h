/* catalog.h — the music catalogue: artists, albums, tracks, genres, and the rules that tie
 * them together. Plain C structs in, plain C structs out; the SQL lives in the catalog files
 * and runs through the db/ port, so the same code serves SQLite and PostgreSQL.
 *
 * The model:
 *   artist  — a name, a sort name ("Beatles, The"), an optional MusicBrainz id.
 *   album   — a title and exactly one album artist ("Various Artists" for compilations),
 *             an optional MusicBrainz release id, a year.
 *   track   — a title, one album, ordered artist credits (main, featured, composer), ordered
 *             genres, numbers, format facts, loudness, and the SHA-256 of its original bytes,
 *             which is its identity (a second add of the same bytes is refused with its id).
 *   genre   — a name.
 * Merging: artists by MusicBrainz id when given, else by normalised name (catalog_normalize:
 * case, diacritics and spacing do not matter); albums by MusicBrainz release id when given,
 * else by normalised title and album artist. An album or artist or genre that no track uses
 * any more is removed with the track that used it last.
 *
 * Threads: a struct catalog is shared by every thread; each call acquires the calling
 * thread's database connection (so it nests inside a caller's own acquisition).
 *
 * Results: lists and gets fill a struct catalog_page whose strings live in the page itself;
 * free it with catalog_page_free(). Nothing in a page points into the catalog or the db.
 *
 * Errors: ERR_INVALID (input that breaks a rule; the message names the field or parameter),
 * ERR_NOT_FOUND, ERR_CONFLICT (duplicate content: the existing track's id is reported),
 * and the db/ port's codes (ERR_UNAVAILABLE, ERR_TIMEOUT, ERR_INTERNAL …).
 */
#ifndef TONEARM_CATALOG_CATALOG_H
#define TONEARM_CATALOG_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/id.h"

struct db;
struct catalog;

/* Limits every write enforces (text lengths in Unicode characters). */
#define CATALOG_NAME_MAX 1000       /* titles, names, labels, dates */
#define CATALOG_LYRICS_MAX 100000
#define CATALOG_ARTISTS_MAX 32      /* credits per track */
#define CATALOG_GENRES_MAX 16       /* genres per track */
#define CATALOG_NUMBER_MAX 9999     /* disc, track and their totals; years are 0–9999 too */
#define CATALOG_LIMIT_MAX 500       /* list page size */
#define CATALOG_LIMIT_DEFAULT 50

/* The name compilations are filed under. */
#define CATALOG_VARIOUS_ARTISTS "Various Artists"

/* Create the catalogue over an open (and migrated) database; the db must outlive it.
 * NULL with *e set (ERR_NOMEM) on failure. Free with catalog_free(); NULL is a no-op. */
struct catalog *catalog_new(struct db *db, struct err *e);
void catalog_free(struct catalog *cat);

/* The catalogue's change counter: it grows with every write (add, update, delete), so a
 * reader can use it as an ETag. 0 or -1 with *e set. */
int catalog_version(struct catalog *cat, int64_t *version, struct err *e);

/* ---- adding a track (ingest) ---- */

enum catalog_role { CATALOG_ROLE_MAIN = 0, CATALOG_ROLE_FEATURED, CATALOG_ROLE_COMPOSER };

/* "main", "featured", "composer". Static storage. */
const char *catalog_role_name(enum catalog_role role);

struct catalog_artist_input {
	const char *name;       /* required (after trimming, not empty) */
	const char *sort_name;  /* NULL: derived from name ("The X" → "X, The") */
	const char *mbid;       /* MusicBrainz artist id, or NULL */
	enum catalog_role role;
};

/* Which of the optional numbers below are known (a plain zero is a valid gain). */
enum catalog_has {
	CATALOG_HAS_BPM = 1u << 0,
	CATALOG_HAS_RG_TRACK = 1u << 1,    /* rg_track_gain and rg_track_peak */
	CATALOG_HAS_RG_ALBUM = 1u << 2,    /* rg_album_gain and rg_album_peak */
	CATALOG_HAS_LOUDNESS = 1u << 3,    /* loudness_lufs, loudness_range, true_peak */
};

/* Everything ingest knows about one file. Strings must be valid UTF-8 (ingest sanitises
 * tags first); NULL or "" means unknown. Numbers 0 mean unknown. The struct only borrows:
 * catalog_track_add copies what it keeps. */
struct catalog_track_input {
	const char *title;            /* required */
	const char *sort_title;
	const struct catalog_artist_input *artists; /* credits in order; at least one main */
	size_t nartists;
	const char *album;            /* NULL: the track goes on an album named after its title */
	const char *album_sort;
	const char *album_artist;     /* NULL: the first main artist (or Various Artists, below) */
	const char *album_artist_sort;
	const char *album_artist_mbid;
	bool compilation;             /* the tag's flag: file under Various Artists */
	const char *const *genres;
	size_t ngenres;
	int disc, disc_total, track, track_total; /* 0–CATALOG_NUMBER_MAX */
	int64_t duration_ms;
	const char *date;             /* as tagged ("2003-05-12", "2003") */
	int year;                     /* 0–9999; 0: taken from date when it starts with a year */
	const char *isrc, *label, *lyrics;
	double bpm;
	const char *mb_recording_id, *mb_release_id;
	double rg_track_gain, rg_track_peak, rg_album_gain, rg_album_peak;
	double loudness_lufs, loudness_range, true_peak;
	unsigned has;                 /* enum catalog_has bits */
	const char *sha256;           /* required: 64 lower-case hex digits of the original */
	const char *object_key;       /* the original in the object store, or NULL … */
	const char *path;             /* … the file read in place (one of the two is required) */
	const char *container, *codec;
	int sample_rate, channels, bits, bitrate;
	bool lossless;
	int64_t file_size;
	const char *cover_hash;       /* SHA-256 hex of the cover art, or NULL */
	const char *fingerprint;      /* Chromaprint, or NULL */
	const void *peaks;            /* waveform peaks, or NULL */
	size_t peaks_len;
	const uint32_t *gating_hist;  /* CATALOG_GATING_BINS loudness blocks per bin (album gain), or NULL */
	int64_t created_at;           /* ms; 0: now (seeding and re-imports may set it) */
};

struct catalog_track_added {
	char id[ID_LEN + 1];          /* the new track, or on ERR_CONFLICT the existing one */
	char album_id[ID_LEN + 1];    /* empty on ERR_CONFLICT */
};

/* Add one track in one transaction: find or create its artists, album artist, album and
 * genres (see the merge rules at the top), insert the track, its credits, genres and
 * analysis, and bump the change counter. Safe against concurrent adds of the same new
 * artist, album or genre (they end as one row). 0 and *out filled; -1 with *e set:
 * ERR_INVALID naming the field that breaks a rule, ERR_CONFLICT when a track with the same
 * sha256 exists (out->id is then that track's id), or a database error. */
int catalog_track_add(struct catalog *cat, const struct catalog_track_input *in,
		      struct catalog_track_added *out, struct err *e);

/* media/analyse.h's MEDIA_GATING_BINS: a track's 400 ms blocks counted per 0.1 LU of loudness.
 * When a track with them is added or analysed, its album's ReplayGain album gain and peak are
 * computed again from all its analysed tracks' blocks pooled, and set on every track of the
 * album whose album gain did not come from its tags. */
#define CATALOG_GATING_BINS 1000

/* A track's analysis, computed after it was added (in its `transcode` job's decode, ingest.h). */
struct catalog_analysis {
	bool has_loudness;            /* loudness_lufs, loudness_range, true_peak (dBTP) */
	double loudness_lufs, loudness_range, true_peak;
	bool has_track_gain;          /* a computed ReplayGain: used only when none was tagged */
	double track_gain, track_peak;
	int64_t duration_ms;          /* from the decode: kept only when the row has none */
	const char *fingerprint;      /* Chromaprint, or NULL */
	const void *peaks;            /* waveform peaks, or NULL */
	size_t peaks_len;
	const uint32_t *gating_hist;  /* CATALOG_GATING_BINS loudness blocks per bin (album gain), or NULL */
};

/* Record `a` on track `track_id` (replacing an earlier analysis; a tagged ReplayGain stays) and
 * bump the change counter, in one transaction (or the caller's batch). 0; -1 with *e set:
 * ERR_NOT_FOUND when there is no such track (it was deleted meanwhile), ERR_INVALID for bad
 * arguments, or a database error. Nothing is kept from `a`. */
int catalog_track_set_analysis(struct catalog *cat, const char *track_id, const struct catalog_analysis *a,
			       struct err *e);

/* ---- what the analysis offers (acoustic.c) ---- */

/* Whether track `id` has been analysed (catalog_track_add with an analysis, or
 * catalog_track_set_analysis). 0; -1 with *e: ERR_NOT_FOUND, a database error. */
int catalog_track_analysed(struct catalog *cat, const char *id, bool *analysed, struct err *e);

/* A track's waveform: npairs (min, max) pairs over its whole length, each -127 … 127 (full
 * scale), bins of equal duration. */
struct catalog_waveform {
	signed char *peaks;           /* 2 * npairs, malloc'd */
	size_t npairs;
	int sample_rate;              /* of the source; 0 when unknown */
	int64_t duration_ms;
};

/* The waveform of track `id`. 0 (release with catalog_waveform_release); -1 with *e:
 * ERR_NOT_FOUND (no such track), ERR_CONFLICT (not analysed yet), ERR_NOMEM, a database error. */
int catalog_track_waveform(struct catalog *cat, const char *id, struct catalog_waveform *out, struct err *e);
void catalog_waveform_release(struct catalog_waveform *w);

/* Another track that is the same recording, and how alike their fingerprints are (0–100). */
struct catalog_duplicate {
	char id[ID_LEN + 1];
	int similarity;
};

/* The bar for track_duplicates, the catalogue-wide list (catalog_duplicate_groups). */
#define CATALOG_DUPLICATE_MIN 70

/* Acoustic duplicates of track `id`: tracks whose duration is within 2 s + 1% of its own and
 * whose Chromaprint fingerprints score at least `min_similarity` (media_fingerprint_similarity:
 * two encodings of one recording score above 70, unrelated audio near 0), most alike first.
 * At most 5,000 tracks of about the same length are compared. *out is malloc'd (free()), *n
 * items. -1 with *e: ERR_NOT_FOUND, ERR_CONFLICT (the track has no fingerprint yet), ERR_NOMEM,
 * a database error. */
int catalog_track_duplicates(struct catalog *cat, const char *id, int min_similarity, struct catalog_duplicate **out,
			     size_t *n, struct err *e);

/* Every track that has acoustic duplicates, a page at a time: each track whose id is above
 * `after` ("" or NULL: from the start) and below its duplicates' ids, in id order, with its
 * duplicates (similarity at least CATALOG_DUPLICATE_MIN, recorded when each track was analysed),
 * most alike first. So each pair appears once, under its smaller id. At most `limit` (1–500)
 * groups; *more is set when there are others after them. */
struct catalog_duplicate_group {
	char id[ID_LEN + 1];
	struct catalog_duplicate *dups; /* malloc'd */
	size_t ndups;
};
int catalog_duplicate_groups(struct catalog *cat, const char *after, size_t limit,
			     struct catalog_duplicate_group **out, size_t *n, bool *more, struct err *e);
void catalog_duplicate_groups_free(struct catalog_duplicate_group *g, size_t n);

/* Group many adds into one transaction (seeding, bulk imports): between catalog_batch_begin
 * and catalog_batch_end, every catalog_track_add made on this thread joins the batch's
 * transaction instead of committing on its own (and is not retried). A duplicate is still
 * reported as ERR_CONFLICT without harming the batch; any other failed add spoils it, and
 * catalog_batch_end then rolls back and fails. catalog_batch_end(commit = false) rolls back.
 * Batches do not nest. Returns 0 or -1 with *e set. */
int catalog_batch_begin(struct catalog *cat, struct err *e);
int catalog_batch_end(struct catalog *cat, bool commit, struct err *e);

/* ---- reading ---- */

enum catalog_kind { CATALOG_ARTISTS = 0, CATALOG_ALBUMS, CATALOG_TRACKS, CATALOG_GENRES };

enum catalog_sort {
	CATALOG_SORT_NAME = 0,  /* normalised name or title */
	CATALOG_SORT_SORT_NAME, /* normalised sort name ("Beatles, The") */
	CATALOG_SORT_YEAR,      /* albums and tracks only; unknown years (0) first */
	CATALOG_SORT_ADDED,     /* creation time */
};

/* A reference to another row: an artist credit (role set), an album, a genre. */
struct catalog_ref {
	const char *id;
	const char *name;
	const char *role; /* credits only, else NULL */
};

struct catalog_artist {
	const char *id, *name, *sort_name, *mbid;
	int64_t created_at, updated_at;
	int64_t album_count, track_count; /* gets only; -1 in lists */
};

struct catalog_album {
	const char *id, *title, *sort_title, *mbid, *date, *label, *cover_hash;
	struct catalog_ref artist;
	bool compilation;
	int year, disc_total; /* 0: unknown */
	int64_t created_at, updated_at;
	int64_t track_count, duration_ms; /* gets only; -1 in lists */
};

struct catalog_genre {
	const char *id, *name;
	int64_t created_at, updated_at;
	int64_t track_count; /* gets only; -1 in lists */
};

struct catalog_track {
	const char *id, *title, *sort_title;
	struct catalog_ref album;
	struct catalog_ref *artists; /* credits: main ones first, each role in order */
	size_t nartists;
	struct catalog_ref *genres;
	size_t ngenres;
	int disc, disc_total, track, track_total, year; /* 0: unknown */
	int64_t duration_ms;
	const char *date, *isrc, *label;
	const char *lyrics; /* gets only; NULL in lists */
	const char *mb_recording_id, *mb_release_id;
	double bpm, rg_track_gain, rg_track_peak, rg_album_gain, rg_album_peak;
	double loudness_lufs, loudness_range, true_peak;
	unsigned has; /* enum catalog_has bits */
	const char *sha256, *object_key, *path, *container, *codec, *cover_hash;
	int sample_rate, channels, bits, bitrate;
	bool lossless;
	int64_t file_size;
	int64_t created_at, updated_at;
	/* The row's revision (migration 0016: the database changes it with every write of the row,
	 * and everything above is in the row), set by lists and catalog_get_tracks; 0 in gets, and
	 * when the row lacks its stored copies (what it shows is then not all in the row). */
	int64_t rev;
	/* The list's `known` answered true for (id, rev): only id and rev are set. */
	bool known;
};

/* A list page or a get result. Everything it points to lives inside it. */
struct catalog_page {
	int64_t version;             /* the change counter the data was read at */
	struct catalog_artist *artists;
	size_t nartists;
	struct catalog_album *albums;
	size_t nalbums;
	struct catalog_track *tracks;
	size_t ntracks;
	struct catalog_genre *genres;
	size_t ngenres;
	const char *next_cursor;     /* lists: the next page's cursor, or NULL at the end */
	struct catalog_arena *arena; /* private */
};

/* What to list. Zero it, then set what applies; catalog_list refuses (ERR_INVALID, naming
 * the parameter) a filter or sort that does not apply to the kind:
 *   artists: genre, q, added_since; sort name, sort_name, added
 *   albums:  artist (album artist), genre, year_from/to, q, added_since; every sort
 *   tracks:  artist (any credit), album, genre, year_from/to, q, added_since; every sort
 *   genres:  q, added_since; sort name, added */
struct catalog_query {
	enum catalog_sort sort;
	bool desc;
	int limit;                   /* 1–CATALOG_LIMIT_MAX; 0: CATALOG_LIMIT_DEFAULT */
	const char *artist, *album, *genre; /* ids, or NULL */
	int year_from, year_to;      /* inclusive; 0: no bound */
	int64_t added_since;         /* ms, inclusive; 0: no bound */
	const char *q;               /* prefix of the normalised name or title, or NULL */
	const char *cursor;          /* from a previous page's next_cursor, or NULL */
	/* Tracks only, for a caller that keeps what it made of tracks it read before (the API's
	 * rendered JSON): asked for each track of the page, by its position, id and revision
	 * (rev > 0), before the track is read; true leaves the track as its id and rev alone
	 * (catalog_track.known) and saves reading it. The page is then two queries on one
	 * snapshot: ids and revisions, then the rows of the tracks the caller did not know (by id
	 * when they are few, else the page's query again). NULL: every track is read. Called from
	 * the calling thread, inside the page's transaction. */
	bool (*known)(void *ud, size_t i, const char *id, int64_t rev);
	void *known_ud;
};

/* List one page, in keyset order (sort key, then id) starting after the cursor. A cursor
 * must come from the same kind and sort (else ERR_INVALID naming "cursor"). Tracks come with
 * their credits and genres, albums with their album artist, loaded with one query each per
 * page. *out is the caller's (catalog_page_free). -1 with *e set. */
int catalog_list(struct catalog *cat, enum catalog_kind kind, const struct catalog_query *q,
		 struct catalog_page **out, struct err *e);

/* One row by id, with its counts; an album comes with its tracks in disc and track order
 * (page->tracks), an artist with the albums it is album artist of (page->albums). *out is the
 * caller's. ERR_NOT_FOUND for an unknown (or malformed) id. */
int catalog_get(struct catalog *cat, enum catalog_kind kind, const char *id,
		struct catalog_page **out, struct err *e);

/* Tracks by id, as lists show them, read on one snapshot with one query per 512: page->tracks
 * holds those found, in the order asked; an id with no track (deleted, or not an id) is left
 * out, and one asked twice comes once. For answers that name many tracks (acoustic
 * duplicates). *out is the caller's. */
int catalog_get_tracks(struct catalog *cat, const char *const *ids, size_t n, struct catalog_page **out,
		       struct err *e);

void catalog_page_free(struct catalog_page *page);

/* ---- correcting and deleting ---- */

/* Which fields of a patch are present (a JSON merge patch: present and NULL/0 clears). */
enum catalog_patch_field {
	CATALOG_PATCH_TITLE = 1u << 0,
	CATALOG_PATCH_SORT_TITLE = 1u << 1,
	CATALOG_PATCH_ARTISTS = 1u << 2,      /* replaces the main and featured credits */
	CATALOG_PATCH_COMPOSERS = 1u << 3,
	CATALOG_PATCH_ALBUM = 1u << 4,        /* moves the track to (a found or new) album */
	CATALOG_PATCH_ALBUM_ARTIST = 1u << 5, /* with ALBUM, or alone: the album artist of the move */
	CATALOG_PATCH_GENRES = 1u << 6,
	CATALOG_PATCH_DISC = 1u << 7,
	CATALOG_PATCH_DISC_TOTAL = 1u << 8,
	CATALOG_PATCH_TRACK = 1u << 9,
	CATALOG_PATCH_TRACK_TOTAL = 1u << 10,
	CATALOG_PATCH_YEAR = 1u << 11,
	CATALOG_PATCH_DATE = 1u << 12,
	CATALOG_PATCH_ISRC = 1u << 13,
	CATALOG_PATCH_LABEL = 1u << 14,
	CATALOG_PATCH_BPM = 1u << 15,
	CATALOG_PATCH_LYRICS = 1u << 16,
};

struct catalog_track_patch {
	unsigned fields; /* enum catalog_patch_field bits */
	const char *title, *sort_title, *album, *album_artist, *date, *isrc, *label, *lyrics;
	const struct catalog_artist_input *artists; /* roles main or featured */
	size_t nartists;
	const char *const *composers;
	size_t ncomposers;
	const char *const *genres;
	size_t ngenres;
	int disc, disc_total, track, track_total, year;
	double bpm; /* < 0: clear */
};

/* Apply a patch to a track in one transaction (validating every field as catalog_track_add
 * does), then remove albums, artists and genres left without tracks. 0, or -1 with *e set:
 * ERR_NOT_FOUND, ERR_INVALID naming the field. */
int catalog_track_update(struct catalog *cat, const char *id, const struct catalog_track_patch *p,
			 struct err *e);

/* Object-store keys nothing references any more. A key ending in '/' is a prefix: every
 * object under it goes. */
struct catalog_keys {
	char **keys;
	size_t n;
};
void catalog_keys_release(struct catalog_keys *k);

/* Delete a track with its credits, genres and analysis, then the albums, artists and genres
 * left without tracks, in one transaction. *keys (zero it first; release it with
 * catalog_keys_release) gets the store keys no longer referenced — the original's key, the
 * track's "hls/<id>/" and "live/<id>/" (cached transcodes) prefixes, and "art/<hash>/" when no other track or album shows that
 * cover — for the caller to delete once this has returned. ERR_NOT_FOUND for an unknown id. */
int catalog_track_delete(struct catalog *cat, const char *id, struct catalog_keys *keys, struct err *e);

#endif
