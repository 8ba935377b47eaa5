/* s3.h — operations only the S3 backend has, for set-up tools and tests.
 *
 * Both take any store and fail with ERR_UNSUPPORTED when it is not an S3 one, so a caller
 * needs no knowledge of the backend to call them.
 */
#ifndef TONEARM_STORE_S3_H
#define TONEARM_STORE_S3_H

#include <stddef.h>

#include "store/store.h"

/* Create the store's bucket (in the store's region). A bucket that already exists and is
 * ours is fine. 0, or -1 with *e set (ERR_FORBIDDEN, ERR_CONFLICT when someone else owns
 * the name, ERR_UNAVAILABLE …). */
int store_s3_create_bucket(struct store *s, struct err *e);

/* The number of multipart uploads in progress (begun, neither completed nor aborted) for keys
 * starting with `prefix`, into *n (at most one page of the listing: 1000). For checking that
 * aborted writers left nothing behind. 0, or -1 with *e set. */
int store_s3_count_uploads(struct store *s, const char *prefix, size_t *n, struct err *e);

#endif
