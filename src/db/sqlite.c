/* sqlite.c — the SQLite backend.
 *
 * One connection per thread: SQLite connections are cheap, a WAL database lets readers run
 * beside the one writer, and a thread-local connection needs no pool lock on the hot path.
 * A thread's connection opens on its first db_acquire and closes when the thread exits or
 * at db_close. The handle also keeps one "anchor" connection of its own: it holds an
 * in-memory database alive, and keeps a WAL file from being checkpointed and deleted every
 * time the last worker thread goes away.
 *
 * `sqlite::memory:` uses the memdb VFS under a name unique to the handle, so all threads
 * share one in-memory database with ordinary locking (shared-cache mode would turn lock
 * waits into SQLITE_LOCKED errors that busy_timeout does not cover).
 */
#include "db/backend.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "base/buf.h"
#include "base/log.h"
#include "db/sql.h"

/* Idle statements kept per connection. Enough for every query of a module's hot path;
 * SQL built with a varying shape (IN lists) falls out of it instead of piling up. */
#define SQ_CACHE 64

struct sq_stmt;

struct sq_db {
	struct db base;
	char *path;          /* file name, or the memdb URI */
	bool memory;
	pthread_key_t mine;  /* the calling thread's struct sq_conn */
	pthread_mutex_t mu;  /* guards `conns` */
	struct sq_conn *conns;
	struct sq_conn *anchor;
};

struct sq_conn {
	struct db_conn base;
	struct sq_db *owner;
	sqlite3 *h;
	struct sq_conn *next, **pprev; /* in owner->conns */
	struct sq_stmt *cache[SQ_CACHE];
	unsigned ncache;
	uint64_t tick;       /* orders cache entries by last use */
	bool read_tx;        /* inside db_begin_read: statements that write are refused */
	sqlite3_stmt *tx[4]; /* enum sq_tx, prepared on first use (closed with the connection) */
};

/* The statements that start and end transactions, run on every request: sqlite3_exec parsed
 * each anew (a tokenizer, parser and code generator run twice per browse answer). */
enum sq_tx { SQ_BEGIN, SQ_BEGIN_IMMEDIATE, SQ_COMMIT, SQ_ROLLBACK };
static const char *const sq_tx_sql[] = { "BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK" };

struct sq_stmt {
	struct db_stmt base;
	struct sq_conn *conn;
	sqlite3_stmt *h;
	char *sql;           /* the cache key: the SQL as the caller wrote it */
	uint64_t hash;
	uint64_t used;
	int nparams;
	bool stepped;        /* run since the last reset (binding must reset first) */
	bool row;            /* a row is current */
	bool done;           /* returned 0; stays done until reset */
	int64_t changes;
};

static const struct db_ops sq_ops;

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static enum err_code sq_code(int rc)
{
	switch (rc) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
	case SQLITE_CONSTRAINT_FOREIGNKEY:
	case SQLITE_CONSTRAINT_ROWID:
		return ERR_CONFLICT;
	case SQLITE_CONSTRAINT_NOTNULL:
	case SQLITE_CONSTRAINT_CHECK:
		return ERR_INVALID;
	}
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return ERR_TIMEOUT;
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return ERR_UNAVAILABLE;
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return ERR_IO;
	case SQLITE_NOMEM:
		return ERR_NOMEM;
	case SQLITE_TOOBIG:
		return ERR_TOO_LARGE;
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
		return ERR_INVALID;
	}
	return ERR_INTERNAL;
}

static int sq_err(struct err *e, sqlite3 *h, int rc, const char *context)
{
	const char *msg = h ? sqlite3_errmsg(h) : sqlite3_errstr(rc);

	if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
		return err_set(e, ERR_TIMEOUT, "%s%s%s (gave up waiting for the lock)",
			       context ? context : "", context ? ": " : "", msg);
	return db_err_backend(e, sq_code(rc), context, msg);
}

/* ---- connections ---- */

static void sq_conn_close(struct sq_conn *c)
{
	sqlite3_stmt *st;

	for (unsigned i = 0; i < c->ncache; i++) {
		sqlite3_finalize(c->cache[i]->h);
		free(c->cache[i]->sql);
		free(c->cache[i]);
	}
	/* Statements a caller never finalized: finalize the SQLite side so the file closes. */
	while ((st = sqlite3_next_stmt(c->h, NULL)) != NULL)
		sqlite3_finalize(st);
	sqlite3_close_v2(c->h);
	free(c);
}

static int sq_conn_open(struct sq_db *d, struct sq_conn **out, struct err *e)
{
	struct sq_conn *c = calloc(1, sizeof(*c));
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	int rc;

	if (!c)
		return err_set(e, ERR_NOMEM, "sqlite: out of memory");
	c->owner = d;
	c->base.db = &d->base;
	if (d->memory)
		flags |= SQLITE_OPEN_URI;
	rc = sqlite3_open_v2(d->path, &c->h, flags, NULL);
	if (rc != SQLITE_OK) {
		err_set(e, ERR_UNAVAILABLE, "sqlite: cannot open %s: %s", d->path,
			c->h ? sqlite3_errmsg(c->h) : sqlite3_errstr(rc));
		sqlite3_close(c->h);
		free(c);
		return -1;
	}
	sqlite3_extended_result_codes(c->h, 1);
	sqlite3_busy_timeout(c->h, d->base.busy_timeout_ms);
	/* foreign_keys is per connection; synchronous=NORMAL is safe with WAL (a crash may
	 * lose the last commits, never corrupt the file). */
	rc = sqlite3_exec(c->h, "PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;", NULL, NULL, NULL);
	/* A bulk loader: temporary files (savepoint journals) in memory, and the WAL copied
	 * back into the database (a checkpoint, which syncs both files) every 40 MB instead of
	 * every 4 MB. Neither changes what a crash can lose. */
	if (rc == SQLITE_OK && d->base.bulk)
		rc = sqlite3_exec(c->h, "PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=10000;", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		char ctx[160];
		snprintf(ctx, sizeof(ctx), "sqlite: %s", d->path);
		sq_err(e, c->h, rc, ctx);
		sq_conn_close(c);
		return -1;
	}
	*out = c;
	return 0;
}

static void sq_unlink(struct sq_conn *c)
{
	if (c->pprev) {
		*c->pprev = c->next;
		if (c->next)
			c->next->pprev = c->pprev;
		c->pprev = NULL;
		c->next = NULL;
	}
}

/* Thread exit: the thread's connection goes with it. */
static void sq_thread_exit(void *p)
{
	struct sq_conn *c = p;
	struct sq_db *d = c->owner;

	pthread_mutex_lock(&d->mu);
	sq_unlink(c);
	pthread_mutex_unlock(&d->mu);
	sq_conn_close(c);
}

static struct db_conn *sq_acquire(struct db *db, struct err *e)
{
	struct sq_db *d = (struct sq_db *)db;
	struct sq_conn *c = pthread_getspecific(d->mine);
	int rc;

	if (c)
		return &c->base;
	if (sq_conn_open(d, &c, e) < 0)
		return NULL;
	rc = pthread_setspecific(d->mine, c);
	if (rc != 0) {
		sq_conn_close(c);
		err_errno(e, ERR_NOMEM, rc, "sqlite: pthread_setspecific");
		return NULL;
	}
	pthread_mutex_lock(&d->mu);
	c->next = d->conns;
	if (c->next)
		c->next->pprev = &c->next;
	c->pprev = &d->conns;
	d->conns = c;
	pthread_mutex_unlock(&d->mu);
	return &c->base;
}

static void sq_read_tx_end(struct sq_conn *c)
{
	c->read_tx = false;
}

static void sq_release(struct db_conn *base)
{
	struct sq_conn *c = (struct sq_conn *)base;
	sqlite3_stmt *st = NULL;

	/* A statement left mid-result would pin a WAL snapshot (and block checkpoints). */
	while ((st = sqlite3_next_stmt(c->h, st)) != NULL)
		if (sqlite3_stmt_busy(st))
			sqlite3_reset(st);
	if (!sqlite3_get_autocommit(c->h)) {
		log_debug("sqlite: connection released inside a transaction; rolling back");
		sqlite3_exec(c->h, "ROLLBACK", NULL, NULL, NULL);
	}
	sq_read_tx_end(c);
}

static void sq_close(struct db *db)
{
	struct sq_db *d = (struct sq_db *)db;

	pthread_key_delete(d->mine);
	pthread_mutex_lock(&d->mu);
	while (d->conns) {
		struct sq_conn *c = d->conns;
		sq_unlink(c);
		sq_conn_close(c);
	}
	pthread_mutex_unlock(&d->mu);
	if (d->anchor)
		sq_conn_close(d->anchor);
	pthread_mutex_destroy(&d->mu);
	db_base_release(&d->base);
	free(d->path);
	free(d);
}

/* mkdir -p of the folder holding `path`. */
static int make_parent(const char *path, struct err *e)
{
	char dir[4096];
	size_t n = strlen(path);

	if (n >= sizeof(dir))
		return err_set(e, ERR_INVALID, "sqlite: path too long");
	memcpy(dir, path, n + 1);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char saved = *p;
			*p = '\0';
			struct stat st;
			if (mkdir(dir, 0750) < 0 && errno != EEXIST)
				return err_errno(e, ERR_IO, errno, "sqlite: creating folder %s", dir);
			if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
				return err_errno(e, ERR_IO, ENOTDIR, "sqlite: creating folder %s", dir);
			*p = saved;
			if (saved == '\0')
				break;
		}
	}
	return 0;
}

/* Process-wide settings, made once before SQLite initialises (it refuses them afterwards). */
static void sq_configure(void)
{
	/* Memory statistics take one global mutex around every allocation SQLite makes; with a
	 * connection per handler thread that mutex was the busiest lock of a browse request
	 * (perf: ~10% of its time in futex wake-ups). Nothing reads the statistics. If SQLite
	 * was already initialised by someone else, the call fails and the default stays. */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

struct db *db_sqlite_open(const char *url, const char *target, const struct db_options *opt,
			  struct err *e)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	static atomic_uint serial;
	struct sq_db *d = calloc(1, sizeof(*d));
	sqlite3_stmt *st = NULL;
	bool base_ok = false, key_ok = false, mu_ok = false;
	struct db *ret = NULL;
	int rc;

	pthread_once(&once, sq_configure);
	if (!d) {
		err_set(e, ERR_NOMEM, "sqlite: out of memory");
		return NULL;
	}
	if (db_base_init(&d->base, &sq_ops, url, opt, e) < 0)
		goto out;
	base_ok = true;
	if ((rc = pthread_key_create(&d->mine, sq_thread_exit)) != 0) {
		err_errno(e, ERR_INTERNAL, rc, "sqlite: pthread_key_create");
		goto out;
	}
	key_ok = true;
	if ((rc = pthread_mutex_init(&d->mu, NULL)) != 0) {
		err_errno(e, ERR_INTERNAL, rc, "sqlite: pthread_mutex_init");
		goto out;
	}
	mu_ok = true;

	d->memory = strcmp(target, ":memory:") == 0;
	if (d->memory) {
		char name[96];
		snprintf(name, sizeof(name), "file:/tonearm-%ld-%u?vfs=memdb", (long)getpid(),
			 atomic_fetch_add(&serial, 1));
		d->path = strdup(name);
	} else {
		if (make_parent(target, e) < 0)
			goto out;
		d->path = strdup(target);
	}
	if (!d->path) {
		err_set(e, ERR_NOMEM, "sqlite: out of memory");
		goto out;
	}
	if (sq_conn_open(d, &d->anchor, e) < 0)
		goto out;
	if (!d->memory) {
		/* WAL is a property of the file: set once here, it holds for every connection. */
		rc = sqlite3_prepare_v2(d->anchor->h, "PRAGMA journal_mode=WAL", -1, &st, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(st);
		if (rc != SQLITE_ROW) {
			char ctx[160];
			snprintf(ctx, sizeof(ctx), "sqlite: %s", d->path);
			sq_err(e, d->anchor->h, rc, ctx);
			goto out;
		}
		const char *mode = (const char *)sqlite3_column_text(st, 0);
		if (!mode || strcmp(mode, "wal") != 0) {
			err_set(e, ERR_UNAVAILABLE, "sqlite: %s: cannot use WAL (journal mode stays %s)",
				d->path, mode ? mode : "unknown");
			goto out;
		}
	}
	ret = &d->base;
out:
	sqlite3_finalize(st);
	if (!ret) {
		if (d->anchor)
			sq_conn_close(d->anchor);
		if (mu_ok)
			pthread_mutex_destroy(&d->mu);
		if (key_ok)
			pthread_key_delete(d->mine);
		if (base_ok)
			db_base_release(&d->base);
		free(d->path);
		free(d);
	}
	return ret;
}

/* ---- transactions and plain SQL ---- */

static int sq_exec_sql(struct sq_conn *c, const char *sql, struct err *e)
{
	char *msg = NULL;
	int rc = sqlite3_exec(c->h, sql, NULL, NULL, &msg);

	if (rc == SQLITE_OK)
		return 0;
	rc = sqlite3_extended_errcode(c->h);
	if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
		err_set(e, ERR_TIMEOUT, "%s (gave up waiting for the lock)", msg ? msg : "database is locked");
	else
		db_err_backend(e, sq_code(rc), NULL, msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return -1;
}

/* Run one of the transaction statements: what sq_exec_sql(c, sq_tx_sql[which]) does. */
static int sq_tx_run(struct sq_conn *c, enum sq_tx which, struct err *e)
{
	sqlite3_stmt *st = c->tx[which];
	int rc;

	if (!st) {
		rc = sqlite3_prepare_v3(c->h, sq_tx_sql[which], -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
		if (rc != SQLITE_OK)
			return sq_exec_sql(c, sq_tx_sql[which], e);
		c->tx[which] = st;
	}
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return 0;
	rc = sqlite3_extended_errcode(c->h);
	if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
		return err_set(e, ERR_TIMEOUT, "%s (gave up waiting for the lock)", sqlite3_errmsg(c->h));
	return db_err_backend(e, sq_code(rc), NULL, sqlite3_errmsg(c->h));
}

static int sq_read_only_refused(struct err *e)
{
	return err_set(e, ERR_INTERNAL, "attempt to write in a read-only transaction");
}

/* db_exec inside a read transaction: run the statements one by one, refusing any that
 * would write before it runs (see sq_begin for why this is not PRAGMA query_only). */
static int sq_exec_read_only(struct sq_conn *c, const char *sql, struct err *e)
{
	const char *next = sql;

	while (next && *next) {
		sqlite3_stmt *st = NULL;
		const char *tail = NULL;
		int rc = sqlite3_prepare_v2(c->h, next, -1, &st, &tail);

		if (rc != SQLITE_OK)
			return sq_err(e, c->h, rc, NULL);
		next = tail;
		if (!st)
			continue; /* whitespace or a comment */
		if (!sqlite3_stmt_readonly(st)) {
			sqlite3_finalize(st);
			return sq_read_only_refused(e);
		}
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			;
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return sq_err(e, c->h, rc, NULL);
	}
	return 0;
}

static int sq_exec(struct db_conn *base, const char *sql, struct err *e)
{
	struct sq_conn *c = (struct sq_conn *)base;

	if (c->read_tx)
		return sq_exec_read_only(c, sql, e);
	return sq_exec_sql(c, sql, e);
}

static int sq_begin(struct db_conn *base, enum db_tx_mode mode, struct err *e)
{
	struct sq_conn *c = (struct sq_conn *)base;

	if (mode == DB_TX_WRITE)
		return sq_tx_run(c, SQ_BEGIN_IMMEDIATE, e);
	if (sq_tx_run(c, SQ_BEGIN, e) < 0)
		return -1;
	/* Writes are refused statement by statement (sqlite3_stmt_readonly in sq_step and
	 * sq_exec), not with PRAGMA query_only: flipping a flag pragma expires every prepared
	 * statement of the connection, so each read transaction re-parsed and re-planned every
	 * cached statement it ran — a fifth of a browse request's time. */
	c->read_tx = true;
	return 0;
}

static int sq_commit(struct db_conn *base, struct err *e)
{
	struct sq_conn *c = (struct sq_conn *)base;
	int ret = sq_tx_run(c, SQ_COMMIT, e);

	/* A failed COMMIT (a deferred foreign key) leaves SQLite's transaction open;
	 * PostgreSQL's is gone. Make SQLite's gone too. */
	if (ret < 0 && !sqlite3_get_autocommit(c->h))
		sqlite3_exec(c->h, "ROLLBACK", NULL, NULL, NULL);
	sq_read_tx_end(c);
	return ret;
}

static int sq_rollback(struct db_conn *base, struct err *e)
{
	struct sq_conn *c = (struct sq_conn *)base;
	int ret = sq_tx_run(c, SQ_ROLLBACK, e);

	sq_read_tx_end(c);
	return ret;
}

static bool sq_in_tx(struct db_conn *base)
{
	return !sqlite3_get_autocommit(((struct sq_conn *)base)->h);
}

/* ---- statements ---- */

static struct db_stmt *sq_prepare(struct db_conn *base, const char *sql, struct err *e)
{
	struct sq_conn *c = (struct sq_conn *)base;
	uint64_t hash = fnv1a(sql);
	struct buf rewritten = BUF_INIT;
	struct sq_stmt *s = NULL;
	const char *tail = NULL;
	int max, rc;

	for (unsigned i = 0; i < c->ncache; i++) {
		if (c->cache[i]->hash == hash && strcmp(c->cache[i]->sql, sql) == 0) {
			s = c->cache[i];
			c->cache[i] = c->cache[--c->ncache];
			return &s->base;
		}
	}
	if (db_sql_placeholders(sql, &rewritten, &max, e) < 0)
		goto fail;
	s = calloc(1, sizeof(*s));
	if (!s || !(s->sql = strdup(sql))) {
		err_set(e, ERR_NOMEM, "sqlite: out of memory");
		goto fail;
	}
	rc = sqlite3_prepare_v3(c->h, buf_str(&rewritten), (int)rewritten.len + 1,
				SQLITE_PREPARE_PERSISTENT, &s->h, &tail);
	if (rc != SQLITE_OK) {
		sq_err(e, c->h, rc, NULL);
		goto fail;
	}
	if (!s->h) {
		err_set(e, ERR_INTERNAL, "db_prepare: the SQL holds no statement");
		goto fail;
	}
	if (tail && tail[strspn(tail, " \t\r\n;")] != '\0') {
		err_set(e, ERR_INTERNAL, "db_prepare: one statement at a time (db_exec runs several)");
		goto fail;
	}
	s->conn = c;
	s->hash = hash;
	s->nparams = sqlite3_bind_parameter_count(s->h);
	buf_release(&rewritten);
	return &s->base;
fail:
	buf_release(&rewritten);
	if (s) {
		sqlite3_finalize(s->h);
		free(s->sql);
		free(s);
	}
	return NULL;
}

static void sq_reset(struct db_stmt *base)
{
	struct sq_stmt *s = (struct sq_stmt *)base;

	sqlite3_reset(s->h);
	s->stepped = s->row = s->done = false;
}

static void sq_finalize(struct db_stmt *base)
{
	struct sq_stmt *s = (struct sq_stmt *)base;
	struct sq_conn *c = s->conn;

	sq_reset(base);
	sqlite3_clear_bindings(s->h);
	s->changes = 0;
	s->used = ++c->tick;
	if (c->ncache == SQ_CACHE) {
		unsigned oldest = 0;
		for (unsigned i = 1; i < c->ncache; i++)
			if (c->cache[i]->used < c->cache[oldest]->used)
				oldest = i;
		struct sq_stmt *victim = c->cache[oldest];
		c->cache[oldest] = c->cache[--c->ncache];
		sqlite3_finalize(victim->h);
		free(victim->sql);
		free(victim);
	}
	c->cache[c->ncache++] = s;
}

/* Checks shared by every bind: the index, and a statement already run goes back to its
 * start (SQLite refuses bindings mid-run; PostgreSQL would bind for the next run). */
static int sq_bind_prep(struct sq_stmt *s, int idx)
{
	if (idx < 1 || idx > s->nparams)
		return db_bind_fail(&s->base, ERR_INTERNAL, "parameter $%d out of range (the statement has %d)",
				    idx, s->nparams);
	if (s->stepped)
		sq_reset(&s->base);
	return 0;
}

static int sq_bind_rc(struct sq_stmt *s, int idx, int rc)
{
	if (rc == SQLITE_OK)
		return 0;
	return db_bind_fail(&s->base, sq_code(rc), "parameter $%d: %s", idx, sqlite3_errstr(rc));
}

static int sq_bind_int(struct db_stmt *base, int idx, int64_t v)
{
	struct sq_stmt *s = (struct sq_stmt *)base;

	if (sq_bind_prep(s, idx) < 0)
		return -1;
	return sq_bind_rc(s, idx, sqlite3_bind_int64(s->h, idx, v));
}

static int sq_bind_double(struct db_stmt *base, int idx, double v)
{
	struct sq_stmt *s = (struct sq_stmt *)base;

	if (sq_bind_prep(s, idx) < 0)
		return -1;
	return sq_bind_rc(s, idx, sqlite3_bind_double(s->h, idx, v));
}

static int sq_bind_text(struct db_stmt *base, int idx, const char *v, size_t len)
{
	struct sq_stmt *s = (struct sq_stmt *)base;

	if (sq_bind_prep(s, idx) < 0)
		return -1;
	return sq_bind_rc(s, idx, sqlite3_bind_text64(s->h, idx, v, len, SQLITE_TRANSIENT, SQLITE_UTF8));
}

static int sq_bind_blob(struct db_stmt *base, int idx, const void *v, size_t len)
{
	struct sq_stmt *s = (struct sq_stmt *)base;

	if (sq_bind_prep(s, idx) < 0)
		return -1;
	return sq_bind_rc(s, idx, sqlite3_bind_blob64(s->h, idx, v, len, SQLITE_TRANSIENT));
}

static int sq_bind_null(struct db_stmt *base, int idx)
{
	struct sq_stmt *s = (struct sq_stmt *)base;

	if (sq_bind_prep(s, idx) < 0)
		return -1;
	return sq_bind_rc(s, idx, sqlite3_bind_null(s->h, idx));
}

static int sq_step(struct db_stmt *base, struct err *e)
{
	struct sq_stmt *s = (struct sq_stmt *)base;
	int rc;

	if (s->done)
		return 0;
	if (s->conn->read_tx && !sqlite3_stmt_readonly(s->h))
		return sq_read_only_refused(e);
	s->stepped = true;
	rc = sqlite3_step(s->h);
	if (rc == SQLITE_ROW) {
		s->row = true;
		return 1;
	}
	s->row = false;
	if (rc == SQLITE_DONE) {
		s->done = true;
		s->changes = sqlite3_stmt_readonly(s->h) ? 0 : sqlite3_changes64(s->conn->h);
		return 0;
	}
	sq_err(e, s->conn->h, rc, NULL);
	sq_reset(base);
	return -1;
}

static bool sq_col_ok(struct sq_stmt *s, int col)
{
	return s->row && col >= 0 && col < sqlite3_column_count(s->h);
}

static int sq_col_count(struct db_stmt *base)
{
	return sqlite3_column_count(((struct sq_stmt *)base)->h);
}

static const char *sq_col_name(struct db_stmt *base, int col)
{
	struct sq_stmt *s = (struct sq_stmt *)base;

	if (col < 0 || col >= sqlite3_column_count(s->h))
		return NULL;
	return sqlite3_column_name(s->h, col);
}

static bool sq_col_null(struct db_stmt *base, int col)
{
	struct sq_stmt *s = (struct sq_stmt *)base;

	return !sq_col_ok(s, col) || sqlite3_column_type(s->h, col) == SQLITE_NULL;
}

static int64_t sq_col_int(struct db_stmt *base, int col)
{
	struct sq_stmt *s = (struct sq_stmt *)base;

	return sq_col_ok(s, col) ? sqlite3_column_int64(s->h, col) : 0;
}

static double sq_col_double(struct db_stmt *base, int col)
{
	struct sq_stmt *s = (struct sq_stmt *)base;

	return sq_col_ok(s, col) ? sqlite3_column_double(s->h, col) : 0.0;
}

static const char *sq_col_text(struct db_stmt *base, int col)
{
	struct sq_stmt *s = (struct sq_stmt *)base;

	return sq_col_ok(s, col) ? (const char *)sqlite3_column_text(s->h, col) : NULL;
}

static const void *sq_col_blob(struct db_stmt *base, int col, size_t *len)
{
	struct sq_stmt *s = (struct sq_stmt *)base;
	const void *p;

	*len = 0;
	if (sq_col_null(base, col))
		return NULL;
	/* blob first, then bytes: the order SQLite documents as safe. */
	p = sqlite3_column_blob(s->h, col);
	*len = (size_t)sqlite3_column_bytes(s->h, col);
	return p ? p : "";
}

static int64_t sq_changes(struct db_stmt *base)
{
	return ((struct sq_stmt *)base)->changes;
}

static const struct db_ops sq_ops = {
	.name = "sqlite",
	.close = sq_close,
	.acquire = sq_acquire,
	.release = sq_release,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.in_tx = sq_in_tx,
	.exec = sq_exec,
	.prepare = sq_prepare,
	.bind_int = sq_bind_int,
	.bind_double = sq_bind_double,
	.bind_text = sq_bind_text,
	.bind_blob = sq_bind_blob,
	.bind_null = sq_bind_null,
	.step = sq_step,
	.col_count = sq_col_count,
	.col_name = sq_col_name,
	.col_null = sq_col_null,
	.col_int = sq_col_int,
	.col_double = sq_col_double,
	.col_text = sq_col_text,
	.col_blob = sq_col_blob,
	.changes = sq_changes,
	.reset = sq_reset,
	.finalize = sq_finalize,
};
