/* ingest.h — taking one audio file into the catalogue: the steps of "What happens to a song"
 * 1–3 (DESIGN.md) for one file, whichever door it came in by (a folder import, an upload).
 *
 * For one file: its SHA-256 (its identity: the same bytes are found, not stored twice), a
 * probe of what it is (libavformat), its tags (TagLib), one decode feeding the analysis
 * (loudness, fingerprint, peaks), its cover art (embedded, else a folder image) stored once
 * by content hash, then one catalogue transaction. Objects are committed to the store before
 * the row that names them, so a crash never leaves a row pointing at missing bytes.
 *
 * A file that is not audio, is truncated, empty, lies about itself, or whose tags break a
 * rule is REFUSED: it goes to quarantine (a row with the reason; for uploads the bytes are
 * kept under quarantine/<sha256>) and nothing in the catalogue changes.
 *
 * Threads: one struct ingest is shared by all threads (an import runs several at once).
 */
#ifndef TONEARM_INGEST_INGEST_H
#define TONEARM_INGEST_INGEST_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "base/id.h"

struct db;
struct store;
struct catalog;
struct ingest;

enum ingest_outcome {
	INGEST_ADDED = 0,   /* a new track */
	INGEST_DUPLICATE,   /* the same bytes are already a track: track_id names it */
	INGEST_REFUSED,     /* not taken: reason says why; recorded in quarantine */
};

struct ingest_result {
	enum ingest_outcome outcome;
	char track_id[ID_LEN + 1];  /* ADDED, DUPLICATE */
	char sha256[65];            /* of the file's bytes ("" if it could not be read) */
	char reason[ERR_MSG_MAX];   /* REFUSED: a sentence a user can act on */
};

/* The database, store and catalogue must outlive it. NULL with *e set on failure. */
struct ingest *ingest_new(struct db *db, struct store *store, struct catalog *cat, struct err *e);
void ingest_free(struct ingest *ing);

/* Ingest a file on local disk. With `in_place` the file stays where it is and the catalogue
 * points at its path (a music folder read in place); otherwise its bytes are copied into the
 * store as orig/<sha256>. `display_name` (may be NULL: the path's last part) is what messages
 * and quarantine call it. A folder image (cover.jpg, folder.jpg … beside the file) is used when
 * the file has no embedded picture.
 * Returns 0 with *res filled for every outcome (added, duplicate, refused); -1 with *e set only
 * when the service itself failed (database or store unavailable …), in which case nothing was
 * recorded and the call may be retried. */
int ingest_file(struct ingest *ing, const char *path, const char *display_name, bool in_place,
		struct ingest_result *res, struct err *e);

/* ---- many files, one transaction (folder imports) ----
 *
 * ingest_file is ingest_file_prepare followed by the recording of that one file. A folder
 * import prepares files on several threads (the reading, probing and object writes: nearly
 * all of the time) and records them by batches in one database transaction each, which is
 * far cheaper than a transaction per file and keeps the import's writers from queueing on
 * the database lock. Crash safety is unchanged: a prepared file's objects are already
 * committed to the store, and its rows appear only when its batch commits. */
struct ingest_item;

/* What stat(2) said of a file just before a folder import looked at it. */
struct ingest_stat {
	int64_t size, mtime_ns;
};

/* Everything of ingest_file except writing to the database. 0 with *item set (give it to
 * ingest_items_record, then ingest_item_free); -1 with *e set when the service failed, as
 * ingest_file (nothing to record; *item NULL). A prepared item holds no file descriptor.
 * With `skip_if_seen` (may be NULL), a file ingest_seen would call unchanged is not read:
 * 1 with *item NULL. (One lookup of the file's import record serves both that check and the
 * preparing.) */
int ingest_file_prepare(struct ingest *ing, const char *path, const char *display_name, bool in_place,
			const struct ingest_stat *skip_if_seen, struct ingest_item **item, struct err *e);

/* Record n prepared items in one transaction, each under a savepoint of its own: a file
 * whose rows fail is undone alone (errs[i] says why, res[i] is then meaningless) and the
 * others commit. res[i] is what ingest_file would have answered. Returns 0 when the batch
 * committed (check each errs[i].code != ERR_NONE), -1 with *e set when nothing was committed
 * (every errs[i] set). Call from one thread at a time per process, so the batches of an
 * import do not wait on each other in the database's lock. */
int ingest_items_record(struct ingest *ing, struct ingest_item **items, size_t n, struct ingest_result *res,
			struct err *errs, struct err *e);

/* Free a prepared item (NULL: no-op). */
void ingest_item_free(struct ingest_item *item);

/* Ingest bytes already in the store under a temporary key (an upload that just completed):
 * hash them, commit them as orig/<sha256> (or quarantine/<sha256> when refused) and delete the
 * temporary object. `display_name` is the client's file name (already validated). Same returns
 * as ingest_file. */
int ingest_object(struct ingest *ing, const char *tmp_key, const char *display_name,
		  struct ingest_result *res, struct err *e);

/* ---- added by the ingest pipeline (src/ingest/) for folder imports and the admin list ----
 *
 * What the pipeline stores besides the catalogue row: the original as orig/<sha256> (copy
 * mode and uploads), the cover as art/<sha256-of-image>/orig, and with the track's analysis
 * its waveform peaks as a blob of int8 (min, max) pairs, value / 127 = linear amplitude.
 * ingest_file records each source path (size, mtime, outcome) in import_files, which the two
 * calls below read. */

/* 1 when `path` was imported before (in the same mode) and still has this size and mtime
 * (nanoseconds), so an import can skip it without reading it; 0 when not; -1 with *e set. */
int ingest_seen(struct ingest *ing, const char *path, bool in_place, int64_t size, int64_t mtime_ns,
		struct err *e);

/* 1 when any file was ever imported into this catalogue (import_files has a row), 0 when
 * none, -1 with *e set. A first import will surely need the media stack; a later one may
 * find every file unchanged and need none of it. */
int ingest_any_seen(struct ingest *ing, struct err *e);

/* The file at `path` is gone (import --watch): forget its record and, when a track was read in
 * place from this very file, delete the track and the objects only it used (*removed = true).
 * A file never imported is a no-op. 0 or -1 with *e set. */
int ingest_forget(struct ingest *ing, const char *path, bool *removed, struct err *e);

/* Whether to analyse each file (loudness, fingerprint, peaks) as it is ingested: the default,
 * and what uploads do, since the full decode is also what catches a cut or corrupt file. When
 * not, files are catalogued from their probe and tags only, with a cheaper probe (TagLib's
 * audio properties for the lossy formats it reads, so a cut MP3/AAC/Vorbis/Opus file is not
 * refused here), and the `transcode` job every added track gets when a queue is set
 * (ingest_set_jobs) analyses the track in the ladder's decode, since it has none
 * (stream_set_analysis_sink, ingest_record_analysis): one decode for both. `tonearm import`
 * does that unless told --analyse-now. Call before any ingest. */
void ingest_set_analyse(struct ingest *ing, bool analyse);

/* Analyse the catalogued track `track_id` now: decode its file (in place) or original (store)
 * once and record loudness, ReplayGain when none was tagged, fingerprint and peaks
 * (catalog_track_set_analysis). 0; -1 with *e set: ERR_NOT_FOUND (no such track, or its file
 * is gone), ERR_INVALID when the audio does not decode to its end (a truncated file: it stays
 * catalogued, unanalysed), ERR_NOMEM, a store or database error. */
int ingest_analyse_track(struct ingest *ing, const char *track_id, struct err *e);

/* Record analysis `an` of track `track_id` as ingest_analyse_track does (ReplayGain only where
 * none was tagged; the album's gain and the track's acoustic duplicates follow). The signature
 * of stream_set_analysis_sink, which the `transcode` job calls with its decode's analysis.
 * 0, or -1 with *e: catalog_track_set_analysis's errors. */
struct catalog;
struct media_analysis;
int ingest_record_analysis(struct catalog *cat, const char *track_id, const struct media_analysis *an,
			   struct err *e);

/* The `analyse` job handler (jobs.h): `ud` is a struct ingest, the subject a track id. A track
 * deleted meanwhile completes the job; any other failure fails this attempt (retried with
 * backoff, then kept as failed with its error). */
struct job;
int ingest_analyse_job(struct job *job, void *ud, struct err *e);

/* Enqueue a `transcode` job (subject: the track id) for every track this ingest adds, once its
 * row is committed. `q` is borrowed and must outlive the ingest; NULL (the default) enqueues
 * nothing, for tests and tools without a queue. A failed enqueue is logged, not an error. */
struct jobs;
void ingest_set_jobs(struct ingest *ing, struct jobs *q);

/* One refused file, newest first. */
struct ingest_quarantined {
	char id[ID_LEN + 1];
	char *name;      /* the display name (malloc'd) */
	char sha256[65]; /* "" when the file could not be read */
	int64_t size;
	char *reason;    /* malloc'd */
	char source[8];  /* "import" | "upload" */
	int64_t created_at; /* ms */
};

struct ingest_quarantine_page {
	struct ingest_quarantined *items;
	size_t n;
	char next_cursor[ID_LEN + 1]; /* "" at the end */
};

#define INGEST_QUARANTINE_LIMIT_MAX 500

/* Up to `limit` (1–INGEST_QUARANTINE_LIMIT_MAX) quarantine rows older than the cursor
 * `before` (a previous page's next_cursor; NULL or "" for the newest). *out is the caller's:
 * ingest_quarantine_page_release() it (also after a failure). ERR_INVALID for a bad limit or
 * cursor, or a database error. */
int ingest_quarantine_list(struct ingest *ing, int limit, const char *before,
			   struct ingest_quarantine_page *out, struct err *e);
void ingest_quarantine_page_release(struct ingest_quarantine_page *p);

#endif
