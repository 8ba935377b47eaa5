/* import.h — what `tonearm import` (cli/import.c) and its --watch loop (cli/import_watch.c)
 * share. */
#ifndef TONEARM_CLI_IMPORT_H
#define TONEARM_CLI_IMPORT_H

#include <signal.h>
#include <stdbool.h>

#include "base/err.h"
#include "base/id.h"

struct ingest;

struct import_ctx {
	struct ingest *ing;
	const char *root; /* the folder, absolute, without a trailing '/' */
	bool in_place;
};

enum import_kind { IMPORT_ADDED, IMPORT_DUPLICATE, IMPORT_SKIPPED, IMPORT_REFUSED, IMPORT_FAILED };

struct import_file_outcome {
	enum import_kind kind;
	char track_id[ID_LEN + 1];
	char reason[ERR_MSG_MAX]; /* refused or failed: why */
};

/* Set by SIGINT/SIGTERM: finish what is in flight, then stop. */
extern volatile sig_atomic_t import_stop;

/* True for the audio extensions import takes (mp3 m4a mp4 aac alac flac ogg oga opus wav aiff
 * aif wv ape, any case); hidden names never. */
bool import_is_audio(const char *name);

/* Import one file (skipped when ingest_seen says it is unchanged); never fails: the outcome
 * says what happened. Thread-safe. */
void import_one(struct import_ctx *ctx, const char *path, struct import_file_outcome *o);

/* `path` relative to the imported folder, for messages (a pointer into path). */
const char *import_rel(const struct import_ctx *ctx, const char *path);

/* Follow the folder with inotify after the first pass until SIGINT/SIGTERM: new and changed
 * audio files are imported, deleted ones forgotten (in place: their tracks removed). Prints a
 * line per change. Returns the exit status (0; 1 when inotify cannot start). */
int import_watch(struct import_ctx *ctx);

#endif
