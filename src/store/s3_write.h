/* s3_write.h — writing objects to S3: one PUT, or a multipart upload for large ones.
 * Internal to the S3 backend (s3.c fills its store_ops with these). */
#ifndef TONEARM_STORE_S3_WRITE_H
#define TONEARM_STORE_S3_WRITE_H

#include "store/backend.h"
#include "store/s3_http.h"

/* A writer buffering up to c->part_size bytes; see store_write_begin. */
struct store_writer *s3_write_begin(struct s3_cfg *c, const char *key, struct err *e);
int s3_write(struct store_writer *w, const void *data, size_t len, struct err *e);
int s3_commit(struct store_writer *w, struct err *e);
void s3_abort(struct store_writer *w);

/* The whole object from memory: one PUT up to c->part_size, else a multipart upload sliced
 * straight from `data` (no copy). */
int s3_put(struct s3_cfg *c, const char *key, const void *data, size_t len, struct err *e);

#endif
