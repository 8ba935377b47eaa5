/* db.c — choosing a backend from the URL, and the calls every backend shares: argument
 * checks, nesting of db_acquire on one thread, and dispatch through struct db_ops. */
#include "db/backend.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/utf8.h"

#define DB_DEFAULT_POOL 8
#define DB_DEFAULT_BUSY_MS 5000

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

struct db *db_open(const char *url, const struct db_options *opt, struct err *e)
{
	if (!url || !*url) {
		err_set(e, ERR_INVALID, "database URL is empty");
		return NULL;
	}
	/* sqlite://:memory: too: handed to SQLite as a file name it would give each thread's
	 * connection a private database. */
	if (strcmp(url, "sqlite::memory:") == 0 || strcmp(url, "sqlite://:memory:") == 0)
		return db_sqlite_open(url, ":memory:", opt, e);
	if (has_prefix(url, "sqlite://")) {
		const char *path = url + strlen("sqlite://");

		if (!*path || strcmp(path, "/") == 0) {
			err_set(e, ERR_INVALID, "database URL %s names no file", url);
			return NULL;
		}
		return db_sqlite_open(url, path, opt, e);
	}
	if (has_prefix(url, "postgres://") || has_prefix(url, "postgresql://"))
		return db_pg_open(url, opt, e);

	char safe[160];
	db_url_redact(url, safe, sizeof(safe));
	err_set(e, ERR_INVALID,
		"database URL %s: unknown scheme (want sqlite:///path, sqlite::memory: or postgres://)",
		safe);
	return NULL;
}

void db_close(struct db *db)
{
	if (db)
		db->ops->close(db);
}

const char *db_backend_name(const struct db *db)
{
	return db ? db->ops->name : "none";
}

const char *db_url_safe(const struct db *db)
{
	return db ? db->url_safe : "";
}

/* The userinfo's password runs from the first ':' after "://" to the '@' ending the
 * userinfo. libpq ends the authority at the first '/', so a raw '?' or '#' may sit inside
 * a password: look for the '@' up to the first '/', taking the last one (an unescaped '@'
 * in a password stays hidden too); failing that, up to the query (a raw '/' in a
 * password). Hiding too much is fine here, showing a password is not. */
static const char *userinfo_end(const char *auth)
{
	size_t limits[2] = { strcspn(auth, "/"), strcspn(auth, "?#") };

	for (int k = 0; k < 2; k++) {
		const char *at = NULL;
		for (const char *q = auth; q < auth + limits[k]; q++)
			if (*q == '@')
				at = q;
		if (at)
			return at;
	}
	return NULL;
}

static int redact_into(struct buf *b, const char *url)
{
	const char *scheme_end = strstr(url, "://");
	const char *p = url;

	if (scheme_end) {
		const char *auth = scheme_end + 3;
		const char *at = userinfo_end(auth);
		const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;

		if (colon) {
			if (buf_add(b, url, (size_t)(colon + 1 - url)) < 0 || buf_adds(b, "***") < 0)
				return -1;
			p = at;
		}
	}
	/* Query parameters named …password (password, sslpassword) lose their values. */
	while (*p) {
		const char *amp = strpbrk(p, "?&");
		if (!amp)
			break;
		const char *name = amp + 1, *eq = strchr(name, '=');
		size_t name_len = strcspn(name, "=&#");
		if (buf_add(b, p, (size_t)(name - p)) < 0)
			return -1;
		p = name;
		if (eq && name + name_len == eq && name_len >= 8 &&
		    strncmp(eq - 8, "password", 8) == 0) {
			if (buf_add(b, name, (size_t)(eq + 1 - name)) < 0 || buf_adds(b, "***") < 0)
				return -1;
			p = eq + 1 + strcspn(eq + 1, "&#");
		}
	}
	return buf_adds(b, p);
}

size_t db_url_redact(const char *url, char *out, size_t cap)
{
	struct buf b = BUF_INIT;
	size_t n;

	buf_init(&b, 0);
	if (!url || redact_into(&b, url) < 0) {
		buf_release(&b);
		if (cap > 0)
			out[0] = '\0';
		return 0;
	}
	n = b.len;
	if (cap > 0) {
		size_t k = n < cap - 1 ? n : cap - 1;
		memcpy(out, buf_str(&b), k);
		out[k] = '\0';
	}
	buf_release(&b);
	return n;
}

int db_base_init(struct db *db, const struct db_ops *ops, const char *url,
		 const struct db_options *opt, struct err *e)
{
	size_t n = db_url_redact(url, NULL, 0);
	int rc;

	db->ops = ops;
	db->pool_size = opt && opt->pool_size > 0 ? opt->pool_size : DB_DEFAULT_POOL;
	db->busy_timeout_ms = opt && opt->busy_timeout_ms > 0 ? opt->busy_timeout_ms : DB_DEFAULT_BUSY_MS;
	db->bulk = opt && opt->bulk;
	db->url_safe = malloc(n + 1);
	if (!db->url_safe)
		return err_set(e, ERR_NOMEM, "opening database: out of memory");
	db_url_redact(url, db->url_safe, n + 1);
	rc = pthread_key_create(&db->held, NULL);
	if (rc != 0) {
		free(db->url_safe);
		db->url_safe = NULL;
		return err_errno(e, ERR_INTERNAL, rc, "opening database: pthread_key_create");
	}
	return 0;
}

void db_base_release(struct db *db)
{
	pthread_key_delete(db->held);
	free(db->url_safe);
	db->url_safe = NULL;
}

int db_bind_fail(struct db_stmt *s, enum err_code code, const char *fmt, ...)
{
	va_list ap;

	if (s->bind_err.code != ERR_NONE)
		return -1;
	s->bind_err.code = code;
	va_start(ap, fmt);
	if (vsnprintf(s->bind_err.msg, sizeof(s->bind_err.msg), fmt, ap) < 0)
		s->bind_err.msg[0] = '\0';
	va_end(ap);
	return -1;
}

int db_bind_check_text(struct db_stmt *s, int idx, const char *v, size_t len)
{
	if (!v && len > 0)
		return db_bind_fail(s, ERR_INVALID, "parameter $%d: NULL text with a length", idx);
	if (len > 0 && memchr(v, '\0', len))
		return db_bind_fail(s, ERR_INVALID, "parameter $%d: text holds a NUL byte (bind a blob)", idx);
	if (len > 0 && !utf8_valid(v, len))
		return db_bind_fail(s, ERR_INVALID, "parameter $%d: text is not valid UTF-8", idx);
	return 0;
}

int db_err_backend(struct err *e, enum err_code code, const char *context, const char *msg)
{
	int n;

	if (!msg)
		msg = "unknown error";
	/* libpq prefixes "ERROR:  " and ends with newlines; keep one clean line. */
	if (has_prefix(msg, "ERROR:  "))
		msg += 8;
	else if (has_prefix(msg, "FATAL:  "))
		msg += 8;
	n = (int)strcspn(msg, "\r\n");
	if (context)
		return err_set(e, code, "%s: %.*s", context, n, msg);
	return err_set(e, code, "%.*s", n, msg);
}

/* ---- dispatch ---- */

struct db_conn *db_acquire(struct db *db, struct err *e)
{
	struct db_conn *c;
	int rc;

	if (!db) {
		err_set(e, ERR_INTERNAL, "db_acquire: no database");
		return NULL;
	}
	c = pthread_getspecific(db->held);
	if (c) {
		c->depth++;
		return c;
	}
	c = db->ops->acquire(db, e);
	if (!c)
		return NULL;
	c->db = db;
	c->depth = 1;
	rc = pthread_setspecific(db->held, c);
	if (rc != 0) {
		db->ops->release(c);
		err_errno(e, ERR_NOMEM, rc, "db_acquire: pthread_setspecific");
		return NULL;
	}
	return c;
}

void db_release(struct db_conn *c)
{
	if (!c || --c->depth > 0)
		return;
	pthread_setspecific(c->db->held, NULL);
	c->tx_failed = false;
	c->db->ops->release(c);
}

/* PostgreSQL refuses every statement of a transaction after one failed; SQLite would
 * carry on and commit the rest. Code written against SQLite must not come to rely on
 * that, so both behave like PostgreSQL: note the failure, refuse what follows. */
static void note_failure(struct db_conn *c)
{
	if (c->db->ops->in_tx(c))
		c->tx_failed = true;
}

static int refuse_failed_tx(struct err *e)
{
	return err_set(e, ERR_INTERNAL,
		       "a statement of this transaction failed: roll it back (db_rollback)");
}

int db_ping(struct db *db, struct err *e)
{
	struct db_conn *c = db_acquire(db, e);
	struct db_stmt *s = NULL;
	int ret = -1;

	if (!c)
		return -1;
	s = db_prepare(c, "SELECT 1", e);
	if (!s)
		goto out;
	if (db_step(s, e) != 1)
		goto out;
	if (db_col_int(s, 0) != 1) {
		err_set(e, ERR_INTERNAL, "ping: SELECT 1 did not answer 1");
		goto out;
	}
	ret = 0;
out:
	db_finalize(s);
	db_release(c);
	return ret;
}

#define NEED_CONN(c, e, what) \
	do { \
		if (!(c)) \
			return err_set((e), ERR_INTERNAL, what ": no connection"); \
	} while (0)

int db_begin(struct db_conn *c, struct err *e)
{
	NEED_CONN(c, e, "db_begin");
	if (c->db->ops->in_tx(c))
		return err_set(e, ERR_INTERNAL, "db_begin: a transaction is already open");
	c->tx_failed = false;
	return c->db->ops->begin(c, DB_TX_WRITE, e);
}

int db_begin_read(struct db_conn *c, struct err *e)
{
	NEED_CONN(c, e, "db_begin_read");
	if (c->db->ops->in_tx(c))
		return err_set(e, ERR_INTERNAL, "db_begin_read: a transaction is already open");
	c->tx_failed = false;
	return c->db->ops->begin(c, DB_TX_READ, e);
}

int db_commit(struct db_conn *c, struct err *e)
{
	NEED_CONN(c, e, "db_commit");
	if (!c->db->ops->in_tx(c))
		return err_set(e, ERR_INTERNAL, "db_commit: no transaction is open");
	if (c->tx_failed) {
		struct err ignored = ERR_INIT;

		c->tx_failed = false;
		c->db->ops->rollback(c, &ignored);
		return err_set(e, ERR_INTERNAL,
			       "db_commit: a statement of the transaction had failed; rolled back");
	}
	return c->db->ops->commit(c, e);
}

int db_rollback(struct db_conn *c, struct err *e)
{
	NEED_CONN(c, e, "db_rollback");
	if (!c->db->ops->in_tx(c))
		return err_set(e, ERR_INTERNAL, "db_rollback: no transaction is open");
	c->tx_failed = false;
	return c->db->ops->rollback(c, e);
}

bool db_in_transaction(struct db_conn *c)
{
	return c && c->db->ops->in_tx(c);
}

/* One constant statement through the statement cache: a batch runs three savepoint
 * statements per file, and db_exec would parse each of them every time. `force` runs it in
 * a spoilt transaction too (the rollback that repairs it). */
static int run_cached(struct db_conn *c, const char *sql, bool force, struct err *e)
{
	struct db_stmt *s;
	int rc;

	if (!force && c->tx_failed)
		return refuse_failed_tx(e);
	s = db_prepare(c, sql, e);
	if (!s) {
		note_failure(c);
		return -1;
	}
	rc = c->db->ops->step(s, e);
	db_finalize(s);
	if (rc < 0) {
		note_failure(c);
		return -1;
	}
	return 0;
}

int db_savepoint(struct db_conn *c, struct err *e)
{
	NEED_CONN(c, e, "db_savepoint");
	if (!c->db->ops->in_tx(c))
		return err_set(e, ERR_INTERNAL, "db_savepoint: no transaction is open");
	return run_cached(c, "SAVEPOINT tonearm_sp", false, e);
}

int db_savepoint_release(struct db_conn *c, struct err *e)
{
	NEED_CONN(c, e, "db_savepoint_release");
	if (!c->db->ops->in_tx(c))
		return err_set(e, ERR_INTERNAL, "db_savepoint_release: no transaction is open");
	return run_cached(c, "RELEASE SAVEPOINT tonearm_sp", false, e);
}

int db_savepoint_rollback(struct db_conn *c, struct err *e)
{
	NEED_CONN(c, e, "db_savepoint_rollback");
	if (!c->db->ops->in_tx(c))
		return err_set(e, ERR_INTERNAL, "db_savepoint_rollback: no transaction is open");
	/* Forced: undoing the failed part is what makes a spoilt transaction usable again. */
	if (run_cached(c, "ROLLBACK TO SAVEPOINT tonearm_sp", true, e) < 0 ||
	    run_cached(c, "RELEASE SAVEPOINT tonearm_sp", true, e) < 0) {
		c->tx_failed = true;
		return -1;
	}
	c->tx_failed = false;
	return 0;
}

int db_exec(struct db_conn *c, const char *sql, struct err *e)
{
	NEED_CONN(c, e, "db_exec");
	if (!sql)
		return err_set(e, ERR_INTERNAL, "db_exec: no SQL");
	if (c->tx_failed)
		return refuse_failed_tx(e);
	if (c->db->ops->exec(c, sql, e) < 0) {
		note_failure(c);
		return -1;
	}
	return 0;
}

struct db_stmt *db_prepare(struct db_conn *c, const char *sql, struct err *e)
{
	struct db_stmt *s;

	if (!c || !sql) {
		err_set(e, ERR_INTERNAL, "db_prepare: no connection or no SQL");
		return NULL;
	}
	s = c->db->ops->prepare(c, sql, e);
	if (s) {
		s->conn = c;
		err_clear(&s->bind_err);
	}
	return s;
}

int db_bind_int(struct db_stmt *s, int idx, int64_t v)
{
	return s ? s->conn->db->ops->bind_int(s, idx, v) : -1;
}

int db_bind_double(struct db_stmt *s, int idx, double v)
{
	return s ? s->conn->db->ops->bind_double(s, idx, v) : -1;
}

int db_bind_text(struct db_stmt *s, int idx, const char *v, size_t len)
{
	if (!s)
		return -1;
	if (db_bind_check_text(s, idx, v, len) < 0)
		return -1;
	return s->conn->db->ops->bind_text(s, idx, v ? v : "", len);
}

int db_bind_str(struct db_stmt *s, int idx, const char *v)
{
	if (!v)
		return db_bind_null(s, idx);
	return db_bind_text(s, idx, v, strlen(v));
}

int db_bind_blob(struct db_stmt *s, int idx, const void *v, size_t len)
{
	if (!s)
		return -1;
	if (!v && len > 0)
		return db_bind_fail(s, ERR_INVALID, "parameter $%d: NULL blob with a length", idx);
	return s->conn->db->ops->bind_blob(s, idx, v ? v : "", len);
}

int db_bind_null(struct db_stmt *s, int idx)
{
	return s ? s->conn->db->ops->bind_null(s, idx) : -1;
}

int db_step(struct db_stmt *s, struct err *e)
{
	int rc;

	if (!s)
		return err_set(e, ERR_INTERNAL, "db_step: no statement");
	if (s->conn->tx_failed)
		return refuse_failed_tx(e);
	if (s->bind_err.code != ERR_NONE) {
		err_set(e, s->bind_err.code, "%s", s->bind_err.msg);
		err_clear(&s->bind_err);
		s->conn->db->ops->reset(s);
		note_failure(s->conn);
		return -1;
	}
	rc = s->conn->db->ops->step(s, e);
	if (rc < 0)
		note_failure(s->conn);
	return rc;
}

int db_col_count(struct db_stmt *s)
{
	return s ? s->conn->db->ops->col_count(s) : 0;
}

const char *db_col_name(struct db_stmt *s, int col)
{
	return s ? s->conn->db->ops->col_name(s, col) : NULL;
}

bool db_col_null(struct db_stmt *s, int col)
{
	return s ? s->conn->db->ops->col_null(s, col) : true;
}

int64_t db_col_int(struct db_stmt *s, int col)
{
	return s ? s->conn->db->ops->col_int(s, col) : 0;
}

double db_col_double(struct db_stmt *s, int col)
{
	return s ? s->conn->db->ops->col_double(s, col) : 0.0;
}

const char *db_col_text(struct db_stmt *s, int col)
{
	return s ? s->conn->db->ops->col_text(s, col) : NULL;
}

const void *db_col_blob(struct db_stmt *s, int col, size_t *len)
{
	if (!s) {
		if (len)
			*len = 0;
		return NULL;
	}
	size_t dummy;
	return s->conn->db->ops->col_blob(s, col, len ? len : &dummy);
}

int64_t db_changes(struct db_stmt *s)
{
	return s ? s->conn->db->ops->changes(s) : 0;
}

int db_reset(struct db_stmt *s)
{
	if (!s)
		return -1;
	err_clear(&s->bind_err);
	s->conn->db->ops->reset(s);
	return 0;
}

void db_finalize(struct db_stmt *s)
{
	if (s)
		s->conn->db->ops->finalize(s);
}
