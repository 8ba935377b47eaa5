/* file.h — the file store backend's shared parts; internal to file.c and file_list.c. */
#ifndef TONEARM_STORE_FILE_H
#define TONEARM_STORE_FILE_H

#include "store/backend.h"

/* Temporaries live here: a name outside the key alphabet, so no key can reach it and
 * listings skip it. */
#define FILE_TMP_DIR ".tmp~"

struct file_store {
	struct store base;
	char *root;
	int rootfd; /* the root directory, O_RDONLY: every path is resolved relative to it */
	int tmpfd;  /* <root>/.tmp~ */
};

/* store_stat of a key (the ops' stat). */
int file_stat(struct store *s, const char *key, struct store_stat *st, struct err *e);

/* store_list (the ops' list): a sorted walk of the tree. */
int file_list(struct store *s, const char *prefix, store_list_fn cb, void *ud, struct err *e);

#endif
