/* pg.h — the PostgreSQL backend's shared parts (private to src/db/pg*.c).
 *
 * pg.c: the pool, connections (connect, health check, transparent reconnect), transactions
 * and db_exec. pg_stmt.c: prepared statements, parameters and results.
 *
 * Wire formats: parameters go as text, except blobs which go in binary (raw bytes, so
 * zero bytes survive without escaping). Results come back as text throughout — one
 * format that every column type has, so db_col_text works on any column — and a bytea
 * column is decoded from its hex text by db_col_blob (PQunescapeBytea).
 *
 * Prepared statements are named per connection ("ta_<n>") and cached by SQL text. A
 * reconnect bumps the connection's generation: the server has forgotten every statement,
 * so each cached one is prepared again, under its old name, the next time it runs.
 */
#ifndef TONEARM_DB_PG_H
#define TONEARM_DB_PG_H

#include <libpq-fe.h>

#include "db/backend.h"

/* Statements prepared on the server per connection, at most (beyond it the least
 * recently used one is DEALLOCATEd). */
#define PG_CACHE 128

struct pg_db;

struct pg_entry {
	char *sql;            /* the cache key, and what was prepared */
	uint64_t hash;
	char name[16];        /* server-side name, unique on its connection */
	int nparams;
	unsigned gen;         /* connection generation it is prepared in; 0: not yet */
	unsigned refs;        /* statements using it now: not evictable while > 0 */
	uint64_t used;
};

struct pg_conn {
	struct db_conn base;
	struct pg_db *owner;
	PGconn *pg;
	unsigned gen;         /* bumped by every (re)connect */
	bool tx;              /* db_begin succeeded and no commit/rollback since */
	struct pg_entry **cache;
	unsigned ncache, cache_cap;
	unsigned next_name;
	uint64_t tick;
	struct pg_conn *next_idle;
};

/* Make `c` usable for a round trip: a broken connection outside a transaction is
 * reconnected; inside one it is an error (ERR_UNAVAILABLE: the transaction is lost). */
int pg_conn_ready(struct pg_conn *c, struct err *e);

/* True when the last round trip failed because the connection broke and nothing was lost
 * (no transaction was open), so reconnecting and running it once more is safe. `was_idle`
 * is whether the connection was outside a transaction before the round trip. */
bool pg_should_retry(struct pg_conn *c, bool was_idle);

/* Reconnect a broken connection (PQreset). 0, or -1 with *e set (ERR_UNAVAILABLE). */
int pg_conn_reconnect(struct pg_conn *c, struct err *e);

/* Whether the connection is outside any transaction (ours or one begun by db_exec). */
bool pg_conn_idle(struct pg_conn *c);

/* Fill *e from a failed result (NULL: the connection's message), mapping SQLSTATE to a
 * code. Returns -1. */
int pg_err(struct err *e, struct pg_conn *c, const PGresult *res, const char *context);

/* Drop every cached statement of `c` (the connection is closing). */
void pg_cache_free(struct pg_conn *c);

/* pg_stmt.c's operations, wired into the ops table by pg.c. */
struct db_stmt *pg_prepare(struct db_conn *c, const char *sql, struct err *e);
int pg_bind_int(struct db_stmt *s, int idx, int64_t v);
int pg_bind_double(struct db_stmt *s, int idx, double v);
int pg_bind_text(struct db_stmt *s, int idx, const char *v, size_t len);
int pg_bind_blob(struct db_stmt *s, int idx, const void *v, size_t len);
int pg_bind_null(struct db_stmt *s, int idx);
int pg_step(struct db_stmt *s, struct err *e);
int pg_col_count(struct db_stmt *s);
const char *pg_col_name(struct db_stmt *s, int col);
bool pg_col_null(struct db_stmt *s, int col);
int64_t pg_col_int(struct db_stmt *s, int col);
double pg_col_double(struct db_stmt *s, int col);
const char *pg_col_text(struct db_stmt *s, int col);
const void *pg_col_blob(struct db_stmt *s, int col, size_t *len);
int64_t pg_changes(struct db_stmt *s);
void pg_reset(struct db_stmt *s);
void pg_finalize(struct db_stmt *s);

#endif
