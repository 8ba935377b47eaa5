/* backend.h — what a store backend implements; seen by store.c and the backends only.
 *
 * A backend embeds `struct store` as the first member of its own struct (git's refs/ and
 * curl's vtls/ pattern) and fills a static `struct store_ops`. The dispatcher (store.c) has
 * already checked every key and prefix, and handles spoiled writers, before calling in, so a
 * backend may assume valid arguments. An optional operation left NULL makes the dispatcher
 * answer ERR_UNSUPPORTED (open_fd) or fall back to a generic path (put → writer).
 */
#ifndef TONEARM_STORE_BACKEND_H
#define TONEARM_STORE_BACKEND_H

#include <stdbool.h>

#include "store/store.h"

struct store_ops {
	const char *name; /* "file", "s3" */
	unsigned caps;    /* STORE_CAP_* */
	void (*close)(struct store *s);
	int (*ping)(struct store *s, struct err *e);
	struct store_writer *(*write_begin)(struct store *s, const char *key, struct err *e);
	int (*write)(struct store_writer *w, const void *data, size_t len, struct err *e);
	int (*commit)(struct store_writer *w, struct err *e);  /* frees w */
	/* optional, both or neither: a commit whose durability waits for sync */
	int (*commit_unsynced)(struct store_writer *w, struct err *e); /* frees w */
	int (*sync)(struct store *s, struct err *e);
	void (*abort)(struct store_writer *w);                 /* frees w */
	int (*put)(struct store *s, const char *key, const void *data, size_t len,
		   struct err *e);                              /* optional */
	/* len is never 0 here and off + len does not overflow (the dispatcher clamps it). */
	int (*read)(struct store *s, const char *key, uint64_t off, uint64_t len, store_sink_fn sink,
		    void *ud, struct err *e);
	int (*stat)(struct store *s, const char *key, struct store_stat *st, struct err *e);
	int (*del)(struct store *s, const char *key, struct err *e);
	int (*list)(struct store *s, const char *prefix, store_list_fn cb, void *ud, struct err *e);
	int (*open_fd)(struct store *s, const char *key, int *fd, struct store_stat *st,
		       struct err *e);                      /* optional (STORE_CAP_FD) */
	/* optional: the writer hashes what it is given anyway */
	int (*written_sha256)(struct store_writer *w, char out[65], struct err *e);
};

struct store {
	const struct store_ops *ops;
};

/* The base of every backend's writer. `spoiled` and `err` are the dispatcher's: once a write
 * fails, the writer only remembers why. */
struct store_writer {
	struct store *store;
	bool spoiled;
	struct err err;
};

/* Backend constructors, chosen by store_open from the URL scheme. `rest` is the URL after
 * "scheme://". */
struct store *store_file_open(const char *rest, const struct store_options *opt, struct err *e);
struct store *store_s3_open(const char *rest, const struct store_options *opt, struct err *e);

#endif
