/* stream.h (cli) — the transcode ladder built from the configuration (keys ladder,
 * segment_seconds, master_key; see base/config.h). */
#ifndef TONEARM_CLI_STREAM_H
#define TONEARM_CLI_STREAM_H

#include "base/config.h"
#include "base/err.h"
#include "stream/stream.h"

/* A struct stream on db, store and catalogue (borrowed) for this configuration. The master
 * key is `master_key` (64 hex characters) or, when unset, <data>/master.key, created with
 * 32 random bytes (mode 0600) on first start and reused after. Free with stream_free (after
 * the job workers have stopped). NULL with *e set (ERR_INVALID for a bad ladder or key). */
struct stream *cli_stream_new(const struct config *conf, struct db *db, struct store *store,
			      struct catalog *cat, struct err *e);

#endif
