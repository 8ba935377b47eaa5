/* pg.c — the PostgreSQL backend: a pool of libpq connections.
 *
 * Connections open lazily, up to pool_size; db_acquire takes an idle one or waits for one
 * (bounded by busy_timeout_ms). Before handing out an idle connection we look, without a
 * round trip, whether the server has hung up on it (a restart sends a FATAL and closes
 * the socket) and reconnect if so. A statement that still finds the connection broken is
 * run again once on a fresh connection when no transaction was open — inside a
 * transaction the work is lost, and the caller gets ERR_UNAVAILABLE instead.
 *
 * One caveat of that retry: if the server committed an autocommit statement and the
 * connection died before the reply, the retry runs it twice. Writes that must happen
 * once belong in a transaction (never retried) or must be idempotent (ON CONFLICT).
 */
#include "db/pg.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/log.h"

struct pg_db {
	struct db base;
	char *url;               /* as given, password included: for libpq only, never logged */
	char *options;           /* server options: our lock_timeout, then the URL's own */
	pthread_mutex_t mu;      /* guards everything below */
	pthread_cond_t freed;    /* a connection went idle, or a slot opened */
	struct pg_conn *idle;    /* most recently released first */
	struct pg_conn **all;    /* pool_size slots: every open connection */
	int total;               /* connections open or being opened */
};

static const struct db_ops pg_ops;

/* ---- errors ---- */

static enum err_code pg_code(const char *state)
{
	if (!state || strlen(state) != 5)
		return ERR_INTERNAL;
	if (strcmp(state, "23505") == 0 || strcmp(state, "23503") == 0 || strcmp(state, "23P01") == 0 ||
	    strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
		return ERR_CONFLICT;
	if (strcmp(state, "23502") == 0 || strcmp(state, "23514") == 0 || strncmp(state, "22", 2) == 0)
		return ERR_INVALID;
	if (strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0)
		return ERR_TIMEOUT;
	if (strncmp(state, "08", 2) == 0 || strncmp(state, "53", 2) == 0 || strncmp(state, "57P", 3) == 0)
		return ERR_UNAVAILABLE;
	return ERR_INTERNAL;
}

int pg_err(struct err *e, struct pg_conn *c, const PGresult *res, const char *context)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	enum err_code code = pg_code(state);

	/* The primary message only: DETAIL would echo the row's values. */
	if (!msg)
		msg = res ? PQresultErrorMessage(res) : NULL;
	if (!msg || !*msg)
		msg = PQerrorMessage(c->pg);
	if (PQstatus(c->pg) == CONNECTION_BAD)
		code = ERR_UNAVAILABLE;
	return db_err_backend(e, code, context, msg);
}

/* Server notices (e.g. "relation already exists, skipping") would go to stderr by
 * default, breaking the one-JSON-object-a-line log. */
static void pg_notice(void *arg, const PGresult *res)
{
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);

	(void)arg;
	log_kv(LOG_DEBUG, NULL, "postgres notice",
	       LOG_FIELDS(LOG_STR("severity", sev), LOG_STR("message", msg)));
}

/* ---- connections ---- */

static void pg_conn_free(struct pg_conn *c)
{
	if (!c)
		return;
	pg_cache_free(c);
	PQfinish(c->pg);
	free(c);
}

static int pg_conn_new(struct pg_db *d, struct pg_conn **out, struct err *e)
{
	/* Defaults first, then the URL (expand_dbname): what the URL says wins. `options`
	 * comes last because it already holds the URL's options after ours. */
	const char *const keys[] = { "connect_timeout", "application_name", "client_encoding", "dbname",
				     "options", NULL };
	const char *const vals[] = { "5", "tonearm", "UTF8", d->url, d->options, NULL };
	struct pg_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return err_set(e, ERR_NOMEM, "postgres: out of memory");
	c->owner = d;
	c->base.db = &d->base;
	c->pg = PQconnectdbParams(keys, vals, 1);
	if (!c->pg) {
		free(c);
		return err_set(e, ERR_NOMEM, "postgres: out of memory");
	}
	if (PQstatus(c->pg) != CONNECTION_OK) {
		db_err_backend(e, ERR_UNAVAILABLE, "postgres: cannot connect", PQerrorMessage(c->pg));
		log_kv(LOG_WARN, NULL, "database connection failed",
		       LOG_FIELDS(LOG_STR("url", d->base.url_safe), LOG_STR("error", e ? e->msg : "")));
		pg_conn_free(c);
		return -1;
	}
	PQsetNoticeReceiver(c->pg, pg_notice, NULL);
	c->gen = 1;
	*out = c;
	return 0;
}

int pg_conn_reconnect(struct pg_conn *c, struct err *e)
{
	PQreset(c->pg);
	c->tx = false;
	c->gen++;
	if (PQstatus(c->pg) != CONNECTION_OK) {
		db_err_backend(e, ERR_UNAVAILABLE, "postgres: reconnecting", PQerrorMessage(c->pg));
		return -1;
	}
	log_kv(LOG_INFO, NULL, "database connection re-established",
	       LOG_FIELDS(LOG_STR("url", c->owner->base.url_safe)));
	return 0;
}

bool pg_conn_idle(struct pg_conn *c)
{
	return !c->tx && PQtransactionStatus(c->pg) == PQTRANS_IDLE;
}

bool pg_should_retry(struct pg_conn *c, bool was_idle)
{
	if (!was_idle || PQstatus(c->pg) != CONNECTION_BAD)
		return false;
	log_kv(LOG_INFO, NULL, "database connection lost mid-statement; reconnecting to run it again",
	       LOG_FIELDS(LOG_STR("url", c->owner->base.url_safe)));
	return true;
}

int pg_conn_ready(struct pg_conn *c, struct err *e)
{
	if (PQstatus(c->pg) == CONNECTION_OK)
		return 0;
	if (c->tx)
		return err_set(e, ERR_UNAVAILABLE,
			       "postgres: connection lost inside a transaction; roll back and retry");
	return pg_conn_reconnect(c, e);
}

/* Has the server hung up on this idle connection? Reads whatever is waiting (a FATAL
 * before a shutdown, then end of file) without blocking; libpq marks the connection bad
 * when it sees the end. A few rounds: the message and the end may arrive apart. */
static void pg_conn_check(struct pg_conn *c)
{
	for (int i = 0; i < 4 && PQstatus(c->pg) == CONNECTION_OK; i++) {
		struct pollfd p = { .fd = PQsocket(c->pg), .events = POLLIN };
		PGnotify *n;

		if (p.fd < 0 || poll(&p, 1, 0) <= 0)
			return;
		if (!PQconsumeInput(c->pg))
			return;
		while ((n = PQnotifies(c->pg)) != NULL)
			PQfreemem(n);
	}
}

static void pg_slot_put(struct pg_db *d, struct pg_conn *c)
{
	for (int i = 0; i < d->base.pool_size; i++) {
		if (!d->all[i]) {
			d->all[i] = c;
			return;
		}
	}
}

static void pg_slot_drop(struct pg_db *d, struct pg_conn *c)
{
	for (int i = 0; i < d->base.pool_size; i++)
		if (d->all[i] == c)
			d->all[i] = NULL;
}

static struct db_conn *pg_acquire(struct db *db, struct err *e)
{
	struct pg_db *d = (struct pg_db *)db;
	struct pg_conn *c = NULL;
	struct timespec deadline;
	bool create = false;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += db->busy_timeout_ms / 1000;
	deadline.tv_nsec += (long)(db->busy_timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&d->mu);
	for (;;) {
		if (d->idle) {
			c = d->idle;
			d->idle = c->next_idle;
			c->next_idle = NULL;
			break;
		}
		if (d->total < db->pool_size) {
			d->total++;
			create = true;
			break;
		}
		if (pthread_cond_timedwait(&d->freed, &d->mu, &deadline) == ETIMEDOUT && !d->idle &&
		    d->total >= db->pool_size) {
			pthread_mutex_unlock(&d->mu);
			err_set(e, ERR_TIMEOUT, "postgres: all %d connections stayed busy for %d ms",
				db->pool_size, db->busy_timeout_ms);
			return NULL;
		}
	}
	pthread_mutex_unlock(&d->mu);

	if (create) {
		if (pg_conn_new(d, &c, e) < 0) {
			pthread_mutex_lock(&d->mu);
			d->total--;
			pthread_cond_signal(&d->freed);
			pthread_mutex_unlock(&d->mu);
			return NULL;
		}
		pthread_mutex_lock(&d->mu);
		pg_slot_put(d, c);
		pthread_mutex_unlock(&d->mu);
		return &c->base;
	}
	pg_conn_check(c);
	if (PQstatus(c->pg) != CONNECTION_OK && pg_conn_reconnect(c, e) < 0) {
		/* Give the slot back empty: the next acquire connects afresh. */
		pthread_mutex_lock(&d->mu);
		pg_slot_drop(d, c);
		d->total--;
		pthread_cond_signal(&d->freed);
		pthread_mutex_unlock(&d->mu);
		pg_conn_free(c);
		return NULL;
	}
	return &c->base;
}

static void pg_release(struct db_conn *base)
{
	struct pg_conn *c = (struct pg_conn *)base;
	struct pg_db *d = c->owner;

	if (PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
		log_debug("postgres: connection released inside a transaction; rolling back");
		PQclear(PQexec(c->pg, "ROLLBACK"));
	}
	c->tx = false;
	pthread_mutex_lock(&d->mu);
	c->next_idle = d->idle;
	d->idle = c;
	pthread_cond_signal(&d->freed);
	pthread_mutex_unlock(&d->mu);
}

static void pg_close(struct db *db)
{
	struct pg_db *d = (struct pg_db *)db;

	for (int i = 0; i < db->pool_size; i++)
		pg_conn_free(d->all[i]);
	pthread_cond_destroy(&d->freed);
	pthread_mutex_destroy(&d->mu);
	db_base_release(&d->base);
	free(d->all);
	free(d->url);
	free(d->options);
	free(d);
}

struct db *db_pg_open(const char *url, const struct db_options *opt, struct err *e)
{
	struct pg_db *d = calloc(1, sizeof(*d));
	pthread_condattr_t ca;
	char *why = NULL;
	PQconninfoOption *info;
	int stage = 0;

	if (!d) {
		err_set(e, ERR_NOMEM, "postgres: out of memory");
		return NULL;
	}
	if (db_base_init(&d->base, &pg_ops, url, opt, e) < 0)
		goto fail;
	stage = 1;
	/* Parse only: a malformed URL is a configuration error now, not at first use. */
	info = PQconninfoParse(url, &why);
	if (!info) {
		/* libpq's message may quote the URL (and its password): show it only if not. */
		bool quotes = why && strstr(why, "://");
		err_set(e, ERR_INVALID, "postgres: malformed URL %s%s%.*s", d->base.url_safe,
			why && !quotes ? ": " : "", why && !quotes ? (int)strcspn(why, "\n") : 0,
			why && !quotes ? why : "");
		PQfreemem(why);
		goto fail;
	}
	/* A lock wait is bounded like SQLite's busy wait: a statement stuck behind a row lock
	 * for busy_timeout_ms fails with 55P03 (ERR_TIMEOUT) instead of hanging a request. */
	const char *url_options = NULL;
	for (PQconninfoOption *o = info; o->keyword; o++)
		if (strcmp(o->keyword, "options") == 0 && o->val && *o->val)
			url_options = o->val;
	struct buf opts = BUF_INIT;
	if (buf_addf(&opts, "-c lock_timeout=%d", d->base.busy_timeout_ms) == 0 &&
	    (!url_options || buf_addf(&opts, " %s", url_options) == 0))
		d->options = buf_detach(&opts, NULL);
	buf_release(&opts);
	PQconninfoFree(info);
	d->url = strdup(url);
	d->all = calloc((size_t)d->base.pool_size, sizeof(*d->all));
	if (!d->url || !d->all || !d->options) {
		err_set(e, ERR_NOMEM, "postgres: out of memory");
		goto fail;
	}
	if (pthread_mutex_init(&d->mu, NULL) != 0) {
		err_set(e, ERR_INTERNAL, "postgres: pthread_mutex_init failed");
		goto fail;
	}
	stage = 2;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_cond_init(&d->freed, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		err_set(e, ERR_INTERNAL, "postgres: pthread_cond_init failed");
		goto fail;
	}
	pthread_condattr_destroy(&ca);
	return &d->base;
fail:
	if (stage >= 2)
		pthread_mutex_destroy(&d->mu);
	if (stage >= 1)
		db_base_release(&d->base);
	free(d->all);
	free(d->url);
	free(d->options);
	free(d);
	return NULL;
}

/* ---- transactions and plain SQL ---- */

/* PQexec with the reconnect-and-retry rule. Returns the result (the caller PQclears it)
 * when the SQL succeeded, else NULL with *e set. */
static PGresult *pg_exec_sql(struct pg_conn *c, const char *sql, struct err *e)
{
	for (int attempt = 0;; attempt++) {
		bool was_idle;
		PGresult *res;
		ExecStatusType st;

		if (pg_conn_ready(c, e) < 0)
			return NULL;
		was_idle = pg_conn_idle(c);
		res = PQexec(c->pg, sql);
		st = PQresultStatus(res);
		if (res && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK))
			return res;
		if (attempt == 0 && pg_should_retry(c, was_idle)) {
			PQclear(res);
			if (pg_conn_reconnect(c, e) < 0)
				return NULL;
			continue;
		}
		pg_err(e, c, res, NULL);
		PQclear(res);
		return NULL;
	}
}

static int pg_exec(struct db_conn *base, const char *sql, struct err *e)
{
	PGresult *res = pg_exec_sql((struct pg_conn *)base, sql, e);

	if (!res)
		return -1;
	PQclear(res);
	return 0;
}

static int pg_begin(struct db_conn *base, enum db_tx_mode mode, struct err *e)
{
	struct pg_conn *c = (struct pg_conn *)base;
	PGresult *res = pg_exec_sql(c, mode == DB_TX_WRITE ? "BEGIN"
				    : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", e);

	if (!res)
		return -1;
	PQclear(res);
	c->tx = true;
	return 0;
}

static int pg_end(struct pg_conn *c, const char *sql, struct err *e)
{
	PGresult *res;
	int ret = -1;

	if (PQstatus(c->pg) != CONNECTION_OK) {
		c->tx = false;
		return err_set(e, ERR_UNAVAILABLE, "postgres: connection lost; the transaction was rolled back");
	}
	res = PQexec(c->pg, sql);
	c->tx = false;
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pg_err(e, c, res, NULL);
		goto out;
	}
	/* COMMIT of a transaction that already failed "succeeds" as a ROLLBACK. */
	if (strcmp(sql, "COMMIT") == 0 && strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
		err_set(e, ERR_INTERNAL, "postgres: a statement of the transaction had failed; rolled back");
		goto out;
	}
	ret = 0;
out:
	PQclear(res);
	/* Never leave a transaction open behind a failed COMMIT. */
	if (ret < 0 && PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
		PQclear(PQexec(c->pg, "ROLLBACK"));
	return ret;
}

static int pg_commit(struct db_conn *base, struct err *e)
{
	return pg_end((struct pg_conn *)base, "COMMIT", e);
}

static int pg_rollback(struct db_conn *base, struct err *e)
{
	return pg_end((struct pg_conn *)base, "ROLLBACK", e);
}

static bool pg_in_tx(struct db_conn *base)
{
	struct pg_conn *c = (struct pg_conn *)base;
	PGTransactionStatusType st = PQtransactionStatus(c->pg);

	return c->tx || st == PQTRANS_INTRANS || st == PQTRANS_INERROR;
}

static const struct db_ops pg_ops = {
	.name = "postgres",
	.close = pg_close,
	.acquire = pg_acquire,
	.release = pg_release,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.in_tx = pg_in_tx,
	.exec = pg_exec,
	.prepare = pg_prepare,
	.bind_int = pg_bind_int,
	.bind_double = pg_bind_double,
	.bind_text = pg_bind_text,
	.bind_blob = pg_bind_blob,
	.bind_null = pg_bind_null,
	.step = pg_step,
	.col_count = pg_col_count,
	.col_name = pg_col_name,
	.col_null = pg_col_null,
	.col_int = pg_col_int,
	.col_double = pg_col_double,
	.col_text = pg_col_text,
	.col_blob = pg_col_blob,
	.changes = pg_changes,
	.reset = pg_reset,
	.finalize = pg_finalize,
};
