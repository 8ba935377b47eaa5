/* internal.h — what the catalogue's files share and nothing else sees: the handle, the
 * page arena, and small statement helpers. */
#ifndef TONEARM_CATALOG_INTERNAL_H
#define TONEARM_CATALOG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "catalog/catalog.h"

struct db;
struct db_conn;
struct db_stmt;

struct catalog {
	struct db *db;
};

/* A bump allocator for a page's strings and arrays: many small pieces, freed at once. */
struct catalog_arena;
struct catalog_arena *catalog_arena_new(void);
void catalog_arena_free(struct catalog_arena *a);
/* Zeroed memory, NULL when out of memory. */
void *catalog_arena_alloc(struct catalog_arena *a, size_t n);
/* A copy of s (NULL stays NULL; *oom set on out of memory). */
char *catalog_arena_strdup(struct catalog_arena *a, const char *s, bool *oom);

/* A new page with its arena, or NULL (ERR_NOMEM in *e). */
struct catalog_page *catalog_page_new(struct err *e);

/* Bump the change counter; call inside the writing transaction, last, so that concurrent
 * writers hold the counter's row lock (PostgreSQL) as briefly as possible. */
int catalog_bump(struct db_conn *c, struct err *e);

/* acoustic.c: bind a gating histogram (CATALOG_GATING_BINS counts, or NULL) as a blob of 4-byte
 * little-endian counts; and recompute the album gain and peak of `album_id` from its analysed
 * tracks (see CATALOG_GATING_BINS), inside the caller's transaction. 0 or -1. */
struct db_stmt;
int catalog_bind_gating_hist(struct db_stmt *s, int k, const uint32_t *hist, struct err *e);
int catalog_album_gain_update(struct db_conn *c, const char *album_id, int64_t now, struct err *e);

/* acoustic.c: the acoustic duplicates of a track (`id`, or NULL for one not added yet; its
 * `fingerprint` as stored; its length `ms`): catalog_duplicates_find compares, reading only,
 * so callers run it before their write transaction (it decodes up to 5,000 fingerprints); a
 * fingerprint that does not decode has none. catalog_duplicates_store replaces what
 * track_duplicates holds for `id` with them, both ways. 0 or -1. */
struct catalog_duplicate;
int catalog_duplicates_find(struct db_conn *c, const char *id, const char *fingerprint, int64_t ms,
			    struct catalog_duplicate **out, size_t *n, struct err *e);
int catalog_duplicates_store(struct db_conn *c, const char *id, const struct catalog_duplicate *d, size_t n,
			     struct err *e);

/* The counter, read on `c`. */
int catalog_read_version(struct db_conn *c, int64_t *v, struct err *e);

/* Give back a connection whose transaction, if one is still open (an error path), is rolled
 * back first: db_release rolls back only the outermost of nested acquisitions. NULL is a
 * no-op. */
void catalog_release(struct db_conn *c);

/* Prepare, bind the n texts (NULL binds NULL), step once and copy column 0 (an id) into
 * out. 1 when a row came, 0 when none, -1 with *e set. */
int catalog_query_id(struct db_conn *c, const char *sql, char out[ID_LEN + 1], struct err *e, int n, ...);

/* Prepare, bind the n texts, run to the end. Rows changed, or -1 with *e set. */
int64_t catalog_exec_args(struct db_conn *c, const char *sql, struct err *e, int n, ...);

/* Find or create (see catalog.h's merge rules), inside the caller's transaction. */
int catalog_artist_ensure(struct db_conn *c, const char *name, const char *sort_name,
			  const char *mbid, int64_t now, char out[ID_LEN + 1], struct err *e);
struct catalog_album_spec {
	const char *title, *sort_title, *mbid, *artist_id, *date, *label, *cover_hash;
	bool inferred;    /* no album artist was tagged: artist_id is the track's first artist */
	bool compilation;
	int year, disc_total;
};
int catalog_album_ensure(struct db_conn *c, const struct catalog_album_spec *spec, int64_t now,
			 char out[ID_LEN + 1], struct err *e);
int catalog_genre_ensure(struct db_conn *c, const char *name, int64_t now, char out[ID_LEN + 1],
			 struct err *e);

/* Link a track to an artist in a role (skipped when already so linked) or to a genre. */
int catalog_credit_add(struct db_conn *c, const char *track_id, const char *artist_id, enum catalog_role role,
		       int position, struct err *e);
int catalog_genre_link(struct db_conn *c, const char *track_id, const char *genre_id, int position,
		       struct err *e);

/* links.c: rewrite the links `track_id` keeps in its row (migration 0015) from the link
 * tables, in one statement; call it in the write transaction after adding or removing any of
 * them. 0 or -1. */
int catalog_links_store(struct catalog *cat, struct db_conn *c, const char *track_id, struct err *e);

/* Field checks shared by add and update: ERR_INVALID naming `field`. */
int catalog_check_text(const char *field, const char *s, size_t max_chars, bool required, struct err *e);
int catalog_check_number(const char *field, long long v, long long max, struct err *e);

#endif
