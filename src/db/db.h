/* db.h — the database port: one interface, a SQLite and a PostgreSQL backend.
 *
 * The backend is chosen once, from the URL given to db_open():
 *   sqlite:///abs/path.db      a file, absolute path (parent folders are created)
 *   sqlite://rel/path.db       a file, relative to the working directory
 *   sqlite::memory:            a private in-memory database (tests), shared by the
 *                              handle's connections and gone at db_close()
 *                              (sqlite://:memory: means the same)
 *   postgres://user:pass@host:port/db?opt=…  or postgresql://…   handed to libpq as is
 *
 * Objects and threads:
 *   struct db       a handle: the backend plus its connections. Thread-safe.
 *   struct db_conn  one connection, used by one thread at a time: the thread that called
 *                   db_acquire() uses it and calls db_release(). A thread that already holds
 *                   a connection of this handle gets the same one again from db_acquire()
 *                   (acquisitions nest; the outermost db_release() gives it back), so a
 *                   function can acquire without knowing whether its caller did.
 *   struct db_stmt  a prepared statement on one connection; finalize it before releasing.
 *
 * SQL is written once, PostgreSQL style, with numbered placeholders `$1, $2 …`; a number
 * may appear several times and in any order. The SQLite backend rewrites them to `?1, ?2 …`
 * (leaving quoted literals, quoted identifiers and comments alone), so the numbers mean
 * the same on both. Values always go through bindings: never build SQL from input.
 * Portable SQL sticks to what both accept: `INTEGER`/`BIGINT`, `TEXT`, `DOUBLE PRECISION`
 * (SQLite: REAL), blobs (`BYTEA` / `BLOB` — the migration files differ there), `RETURNING`,
 * `ON CONFLICT … DO UPDATE`. Where PostgreSQL cannot infer a parameter's type (`SELECT $1`
 * gives text, `$1 + 1` gives a 32-bit integer) write a cast: `$1::bigint` is not portable, use
 * `CAST($1 AS BIGINT)`.
 *
 * Transactions: db_begin() takes the write lock at once on SQLite (`BEGIN IMMEDIATE`), so
 * writers queue for busy_timeout_ms instead of failing later with a lock upgrade deadlock;
 * on PostgreSQL it is a READ COMMITTED transaction. Write updates that are correct under
 * both: atomic in SQL (`SET n = n + 1`) or conditional (`WHERE version = $2`, then check
 * db_changes()). Once a statement fails inside a transaction, the transaction is spoilt
 * on both backends (as PostgreSQL has it): every further db_step/db_exec fails and
 * db_commit rolls back and fails, until db_rollback. Use ON CONFLICT rather than
 * "try the insert, then update" inside a transaction.
 *
 * Errors (struct err codes): unique, foreign-key or exclusion violation and a lost
 * serialization race → ERR_CONFLICT; waiting for a lock or a pooled connection longer than
 * busy_timeout_ms → ERR_TIMEOUT; the server unreachable or the connection lost inside a
 * transaction → ERR_UNAVAILABLE; a value the column type, NOT NULL or CHECK rejects, or
 * text that is not UTF-8 → ERR_INVALID; anything else (syntax errors, a missing table, a
 * write in a read-only transaction) → ERR_INTERNAL. The message is the backend's primary
 * message, one line, without the row's values or a password.
 */
#ifndef TONEARM_DB_DB_H
#define TONEARM_DB_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct db;
struct db_conn;
struct db_stmt;

struct db_options {
	int pool_size;       /* PostgreSQL connections at most; 0: 8. (SQLite: one per thread.) */
	int busy_timeout_ms; /* longest wait for a lock (SQLite busy_timeout, PostgreSQL
			      * lock_timeout) or a free pooled connection; 0: 5000 */
	bool bulk;           /* a bulk loader (tonearm import), not a server: SQLite keeps its
			      * temporary files in memory (PRAGMA temp_store=MEMORY), above all
			      * the statement journal of each savepoint of a batch, which it
			      * otherwise writes to /var/tmp a page per syscall (sorts of large
			      * results then stay in memory too: not for the server), and
			      * checkpoints its WAL every 10,000 pages instead of 1,000 (a
			      * checkpoint syncs the WAL and the database; the WAL grows to
			      * ≈ 40 MB between them). Durability is unchanged.
			      * PostgreSQL: no effect. */
};

/* Open the database named by `url` (see above); `opt` may be NULL for the defaults.
 * SQLite opens the file at once (creating it and its parent folders), turns on WAL and
 * checks it; PostgreSQL only checks the URL and connects lazily — call db_ping() to know
 * the server is there. Returns a handle the caller frees with db_close(), or NULL with
 * *e set (ERR_INVALID for a malformed or unknown URL, ERR_UNAVAILABLE / ERR_IO when the
 * file cannot be opened, ERR_NOMEM). */
struct db *db_open(const char *url, const struct db_options *opt, struct err *e);

/* Close every connection and free the handle. Call it once no thread uses the handle any
 * more (every connection released, every statement finalized). NULL is a no-op. */
void db_close(struct db *db);

/* "sqlite" or "postgres". Static storage. */
const char *db_backend_name(const struct db *db);

/* The URL the handle was opened with, password replaced by "***": safe to log. Owned by
 * the handle. */
const char *db_url_safe(const struct db *db);

/* Write `url` with any password (user:PASS@ or ?password=PASS) replaced by "***" into
 * out (capacity cap, always NUL-terminated when cap > 0). Returns the length the full
 * result needs, like snprintf. */
size_t db_url_redact(const char *url, char *out, size_t cap);

/* A quick round trip (`SELECT 1` on a connection) for /readyz. 0 when the database
 * answers, -1 with *e set (usually ERR_UNAVAILABLE or ERR_TIMEOUT) when it does not. */
int db_ping(struct db *db, struct err *e);

/* A connection for the calling thread (see "Objects and threads"). SQLite: the thread's
 * own connection, opened on first use. PostgreSQL: one from the pool, connected or
 * reconnected as needed; when all pool_size connections are taken, waits up to
 * busy_timeout_ms (then ERR_TIMEOUT). NULL with *e set on failure (ERR_UNAVAILABLE when the
 * server cannot be reached). The connection belongs to the handle: give it back with
 * db_release(). */
struct db_conn *db_acquire(struct db *db, struct err *e);

/* Give back a connection from db_acquire(), on the thread that acquired it. The outermost
 * release of a nested acquisition rolls back a transaction still open and resets any
 * statement left running. NULL is a no-op. */
void db_release(struct db_conn *c);

/* Start a write transaction (SQLite: BEGIN IMMEDIATE, i.e. take the database's write lock
 * now, waiting up to busy_timeout_ms; PostgreSQL: BEGIN, READ COMMITTED). No nesting:
 * a second db_begin on the same connection fails with ERR_INTERNAL. */
int db_begin(struct db_conn *c, struct err *e);

/* Start a read-only transaction: every statement in it sees one snapshot of the database
 * and writes are refused with ERR_INTERNAL (SQLite: BEGIN, and a statement that would write
 * fails before it runs; PostgreSQL: REPEATABLE READ READ ONLY). It does not block writers.
 * End it with db_commit or db_rollback. */
int db_begin_read(struct db_conn *c, struct err *e);

/* End the open transaction. db_commit: -1 with *e set when the commit fails (ERR_CONFLICT
 * for a deferred constraint or serialization failure; ERR_INTERNAL when a statement of the
 * transaction had failed), and the transaction is then rolled back — except that with
 * ERR_UNAVAILABLE (the PostgreSQL connection broke during the COMMIT) whether it
 * committed is unknown. db_rollback: -1 only when the connection is broken; the transaction is gone either
 * way. Both fail with ERR_INTERNAL when no transaction is open. */
int db_commit(struct db_conn *c, struct err *e);
int db_rollback(struct db_conn *c, struct err *e);

/* True while a transaction is open on `c`. */
bool db_in_transaction(struct db_conn *c);

/* One savepoint inside the open write transaction, so that a part of a batch can fail
 * without taking the rest with it (SAVEPOINT / RELEASE / ROLLBACK TO on both backends).
 * db_savepoint marks the point; db_savepoint_release keeps what was done since; and
 * db_savepoint_rollback undoes it, ends the savepoint and makes the transaction usable
 * again even after a failed statement (as PostgreSQL allows). One level only: release or
 * roll back before the next db_savepoint. ERR_INTERNAL without an open transaction; a
 * failure of the rollback itself (a broken connection) leaves the transaction spoilt. */
int db_savepoint(struct db_conn *c, struct err *e);
int db_savepoint_release(struct db_conn *c, struct err *e);
int db_savepoint_rollback(struct db_conn *c, struct err *e);

/* Run constant SQL without parameters: DDL, or several statements separated by `;`
 * (both backends run them all, stopping at the first error). Never for SQL that holds
 * input: use db_prepare and bindings. 0 or -1 with *e set. */
int db_exec(struct db_conn *c, const char *sql, struct err *e);

/* Prepare one statement. Statements are cached per connection by SQL text, so preparing
 * the same SQL again is cheap (no parsing, no round trip): prepare where you use it, and
 * finalize when done. Returns a statement owned by the caller until db_finalize(), or
 * NULL with *e set (a syntax error is ERR_INTERNAL; ERR_INVALID for a `$0` placeholder). */
struct db_stmt *db_prepare(struct db_conn *c, const char *sql, struct err *e);

/* Bind a value to placeholder `$idx` (1-based). Values are copied: the caller's buffer may
 * go away after the call. A parameter never bound is NULL; bindings stay until rebound
 * (also across db_reset). Text must be valid UTF-8 without NUL bytes (use a blob for
 * bytes); a blob may hold anything, `len` 0 included. Returns 0, or -1 when idx is out of
 * range, the text is not valid or memory runs out: the error is kept and reported by the
 * next db_step. */
int db_bind_int(struct db_stmt *s, int idx, int64_t v);
int db_bind_double(struct db_stmt *s, int idx, double v);
int db_bind_text(struct db_stmt *s, int idx, const char *v, size_t len);
int db_bind_blob(struct db_stmt *s, int idx, const void *v, size_t len);
int db_bind_null(struct db_stmt *s, int idx);

/* db_bind_text of a C string; NULL binds NULL. Same failures as db_bind_text. */
int db_bind_str(struct db_stmt *s, int idx, const char *v);

/* Run the statement, or move to its next row: 1 when a row is ready to read, 0 when the
 * statement is done, -1 with *e set on error. On PostgreSQL the first step fetches the
 * whole result (keep big reads paged: LIMIT and a keyset). A failed step leaves the
 * statement as if reset. */
int db_step(struct db_stmt *s, struct err *e);

/* The current row (after db_step returned 1). Columns are 0-based; a column out of range,
 * or no current row, reads as NULL. Conversions follow SQLite: an integer read as text is
 * its decimal digits, text that is not a number reads as 0.
 * db_col_text: NULL for NULL; otherwise a NUL-terminated string owned by the statement,
 *   valid until the next db_step, db_reset or db_finalize. (A blob column read as text
 *   differs between backends: read blobs with db_col_blob.)
 * db_col_blob: NULL for NULL (with *len 0); otherwise the bytes (*len of them; a non-NULL
 *   pointer even for an empty blob), owned by the statement, valid as for db_col_text.
 * db_col_name: the column's name, owned by the statement; NULL when out of range.
 * db_col_count: columns of the result, known once a row is ready. */
int db_col_count(struct db_stmt *s);
const char *db_col_name(struct db_stmt *s, int col);
bool db_col_null(struct db_stmt *s, int col);
int64_t db_col_int(struct db_stmt *s, int col);
double db_col_double(struct db_stmt *s, int col);
const char *db_col_text(struct db_stmt *s, int col);
const void *db_col_blob(struct db_stmt *s, int col, size_t *len);

/* Rows inserted, updated or deleted by the statement's last run; 0 for a statement that
 * only reads. Known once db_step has returned 0 (a statement with RETURNING: step it to
 * the end). */
int64_t db_changes(struct db_stmt *s);

/* Make the statement ready to run again; bindings are kept (rebind what changes).
 * Returns 0; -1 only for a NULL statement. */
int db_reset(struct db_stmt *s);

/* Done with the statement: it goes back to the connection's cache. NULL is a no-op. */
void db_finalize(struct db_stmt *s);

#endif
