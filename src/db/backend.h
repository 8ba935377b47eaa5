/* backend.h — what a database backend implements (private to src/db/).
 *
 * A backend embeds `struct db`, `struct db_conn` and `struct db_stmt` as the first member
 * of its own structs and fills a `struct db_ops`. db.c checks arguments, keeps the
 * per-thread nesting of db_acquire, and dispatches; the backend does the rest. Bind
 * errors are kept in the statement base (`bind_err`) and reported by the next step.
 */
#ifndef TONEARM_DB_BACKEND_H
#define TONEARM_DB_BACKEND_H

#include <pthread.h>

#include "db/db.h"

enum db_tx_mode { DB_TX_WRITE, DB_TX_READ };

struct db_ops {
	const char *name;
	void (*close)(struct db *db);
	/* Take a connection for the calling thread (no nesting: db.c handles that). */
	struct db_conn *(*acquire)(struct db *db, struct err *e);
	/* Roll back an open transaction, reset running statements, give the connection back. */
	void (*release)(struct db_conn *c);
	int (*begin)(struct db_conn *c, enum db_tx_mode mode, struct err *e);
	int (*commit)(struct db_conn *c, struct err *e);
	int (*rollback)(struct db_conn *c, struct err *e);
	bool (*in_tx)(struct db_conn *c);
	int (*exec)(struct db_conn *c, const char *sql, struct err *e);
	struct db_stmt *(*prepare)(struct db_conn *c, const char *sql, struct err *e);
	int (*bind_int)(struct db_stmt *s, int idx, int64_t v);
	int (*bind_double)(struct db_stmt *s, int idx, double v);
	int (*bind_text)(struct db_stmt *s, int idx, const char *v, size_t len);
	int (*bind_blob)(struct db_stmt *s, int idx, const void *v, size_t len);
	int (*bind_null)(struct db_stmt *s, int idx);
	int (*step)(struct db_stmt *s, struct err *e);
	int (*col_count)(struct db_stmt *s);
	const char *(*col_name)(struct db_stmt *s, int col);
	bool (*col_null)(struct db_stmt *s, int col);
	int64_t (*col_int)(struct db_stmt *s, int col);
	double (*col_double)(struct db_stmt *s, int col);
	const char *(*col_text)(struct db_stmt *s, int col);
	const void *(*col_blob)(struct db_stmt *s, int col, size_t *len);
	int64_t (*changes)(struct db_stmt *s);
	void (*reset)(struct db_stmt *s);
	void (*finalize)(struct db_stmt *s);
};

struct db {
	const struct db_ops *ops;
	char *url_safe;          /* the URL with the password redacted */
	int pool_size;           /* options with defaults applied */
	int busy_timeout_ms;
	bool bulk;
	pthread_key_t held;      /* the connection this thread holds (nesting), or NULL */
};

struct db_conn {
	struct db *db;
	int depth;               /* nested db_acquire calls on the holding thread */
	bool tx_failed;          /* a statement failed inside the open transaction */
};

struct db_stmt {
	struct db_conn *conn;
	struct err bind_err;     /* first bind failure since the last step; code ERR_NONE if none */
};

/* Backend constructors, called by db_open with the URL already matched to them (SQLite
 * also gets the file path, or ":memory:"). They fill the base through db_base_init. */
struct db *db_sqlite_open(const char *url, const char *path, const struct db_options *opt,
			  struct err *e);
struct db *db_pg_open(const char *url, const struct db_options *opt, struct err *e);

/* Fill a new handle's base (ops, redacted URL, options with defaults, the nesting key).
 * 0, or -1 with *e set; db_base_release undoes it. */
int db_base_init(struct db *db, const struct db_ops *ops, const char *url,
		 const struct db_options *opt, struct err *e);
void db_base_release(struct db *db);

/* Record a bind failure on `s` (the first one wins) and return -1. */
int db_bind_fail(struct db_stmt *s, enum err_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Check a text value for binding: valid UTF-8, no NUL. 0, or -1 recorded on `s`. */
int db_bind_check_text(struct db_stmt *s, int idx, const char *v, size_t len);

/* Copy the first line of a backend message into *e with `code`, after an optional
 * context prefix (may be NULL). Returns -1. */
int db_err_backend(struct err *e, enum err_code code, const char *context, const char *msg);

#endif
