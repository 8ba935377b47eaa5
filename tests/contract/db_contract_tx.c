/* db_contract_tx.c — the contract suite's transactions, threads and failures: commit and
 * rollback, nesting, concurrent writers, snapshots, lock waits, and (PostgreSQL) the pool
 * and a server restart. Included by db_contract_test.c after db_fixture.c. */

static void kv_put(struct db_conn *c, const char *key, const char *value)
{
	struct db_stmt *s = fx_prepare(c, "INSERT INTO kv (key, value, updated_at) VALUES ($1, $2, 0) "
				       "ON CONFLICT (key) DO UPDATE SET value = excluded.value");

	db_bind_str(s, 1, key);
	db_bind_str(s, 2, value);
	assert_int_equal(fx_step(s), 0);
	db_finalize(s);
}

/* The value under `key` into out ("" if there is none). */
static void kv_get(struct db_conn *c, const char *key, char *out, size_t cap)
{
	struct db_stmt *s = fx_prepare(c, "SELECT value FROM kv WHERE key = $1");

	db_bind_str(s, 1, key);
	out[0] = '\0';
	if (fx_step(s) == 1)
		snprintf(out, cap, "%s", db_col_text(s, 0));
	db_finalize(s);
}

static void test_transactions(void **state)
{
	struct fx *f = *state;
	struct err e = ERR_INIT;
	struct db_conn *c;
	char v[64];

	fx_migrate(f);
	c = fx_acquire(f);
	fx_exec(c, "DELETE FROM kv");
	assert_false(db_in_transaction(c));
	assert_int_equal(db_begin(c, &e), 0);
	assert_true(db_in_transaction(c));
	kv_put(c, "committed", "1");
	assert_int_equal(db_commit(c, &e), 0);
	assert_false(db_in_transaction(c));

	assert_int_equal(db_begin(c, &e), 0);
	kv_put(c, "rolled-back", "1");
	assert_int_equal(db_rollback(c, &e), 0);
	kv_get(c, "committed", v, sizeof(v));
	assert_string_equal(v, "1");
	kv_get(c, "rolled-back", v, sizeof(v));
	assert_string_equal(v, "");

	/* Misuse is refused. */
	assert_int_equal(db_commit(c, &e), -1);
	assert_int_equal(e.code, ERR_INTERNAL);
	assert_int_equal(db_rollback(c, &e), -1);
	assert_int_equal(db_begin(c, &e), 0);
	err_clear(&e);
	assert_int_equal(db_begin(c, &e), -1);
	assert_int_equal(e.code, ERR_INTERNAL);
	assert_true(db_in_transaction(c));

	/* A failed statement spoils the transaction, on both backends alike. */
	struct db_stmt *s = fx_prepare(c, "INSERT INTO kv (key, value, updated_at) VALUES ('committed', 'x', 0)");
	err_clear(&e);
	assert_int_equal(db_step(s, &e), -1);
	assert_int_equal(e.code, ERR_CONFLICT);
	db_finalize(s);
	err_clear(&e);
	assert_int_equal(db_exec(c, "DELETE FROM kv", &e), -1);
	assert_non_null(strstr(e.msg, "roll it back"));
	err_clear(&e);
	assert_int_equal(db_commit(c, &e), -1);
	assert_false(db_in_transaction(c));
	kv_get(c, "committed", v, sizeof(v));
	assert_string_equal(v, "1"); /* the DELETE never ran */

	/* …and after a rollback the connection is fine again. */
	assert_int_equal(db_begin(c, &e), 0);
	s = fx_prepare(c, "INSERT INTO kv (key, value, updated_at) VALUES ('committed', 'x', 0)");
	assert_int_equal(db_step(s, &e), -1);
	db_finalize(s);
	assert_int_equal(db_rollback(c, &e), 0);
	kv_put(c, "after", "ok");
	db_release(c);
}

/* A savepoint undoes one part of a transaction, even a part whose statement failed, and the
 * rest commits (what a batch of imported files relies on). */
static void test_savepoints(void **state)
{
	struct fx *f = *state;
	struct err e = ERR_INIT;
	struct db_conn *c;
	struct db_stmt *s;
	char v[64];

	fx_migrate(f);
	c = fx_acquire(f);
	fx_exec(c, "DELETE FROM kv");
	assert_int_equal(db_savepoint(c, &e), -1); /* outside a transaction */
	assert_int_equal(e.code, ERR_INTERNAL);
	assert_int_equal(db_begin(c, &e), 0);

	assert_int_equal(db_savepoint(c, &e), 0);
	kv_put(c, "kept", "1");
	assert_int_equal(db_savepoint_release(c, &e), 0);

	assert_int_equal(db_savepoint(c, &e), 0);
	kv_put(c, "undone", "1");
	s = fx_prepare(c, "INSERT INTO kv (key, value, updated_at) VALUES ('kept', 'x', 0)");
	err_clear(&e);
	assert_int_equal(db_step(s, &e), -1);
	assert_int_equal(e.code, ERR_CONFLICT);
	db_finalize(s);
	assert_int_equal(db_savepoint_rollback(c, &e), 0);

	assert_int_equal(db_savepoint(c, &e), 0);
	kv_put(c, "also-undone", "1");
	assert_int_equal(db_savepoint_rollback(c, &e), 0);

	kv_put(c, "after", "1");
	assert_int_equal(db_commit(c, &e), 0);
	kv_get(c, "kept", v, sizeof(v));
	assert_string_equal(v, "1");
	kv_get(c, "after", v, sizeof(v));
	assert_string_equal(v, "1");
	kv_get(c, "undone", v, sizeof(v));
	assert_string_equal(v, "");
	kv_get(c, "also-undone", v, sizeof(v));
	assert_string_equal(v, "");
	db_release(c);
}

static void test_release_rolls_back(void **state)
{
	struct fx *f = *state;
	struct err e = ERR_INIT;
	struct db_conn *outer, *inner, *again;
	char v[64];

	fx_migrate(f);
	outer = fx_acquire(f);
	fx_exec(outer, "DELETE FROM kv");
	/* Acquiring again on the same thread nests: same connection, same transaction. */
	inner = fx_acquire(f);
	assert_ptr_equal(inner, outer);
	assert_int_equal(db_begin(inner, &e), 0);
	kv_put(inner, "pending", "1");
	db_release(inner);
	assert_true(db_in_transaction(outer));
	db_release(outer); /* the outermost release rolls back */

	again = fx_acquire(f);
	assert_false(db_in_transaction(again));
	kv_get(again, "pending", v, sizeof(v));
	assert_string_equal(v, "");
	/* A statement left mid-result does not outlive the release either. */
	kv_put(again, "a", "1");
	kv_put(again, "b", "2");
	db_release(again);
}

/* ---- concurrent writers ---- */

#define WRITERS 4
#define WRITES 100

struct writer {
	struct db *db;
	int id;
	int errors;
	int retries;
	char first_error[ERR_MSG_MAX];
};

static void writer_error(struct writer *w, const struct err *e)
{
	if (w->errors++ == 0)
		snprintf(w->first_error, sizeof(w->first_error), "%s", e->msg);
}

/* One write transaction: an atomic increment plus a log row. */
static int write_atomic(struct db_conn *c, int id, int i, struct err *e)
{
	struct db_stmt *s = NULL;
	int ret = -1;

	if (db_begin(c, e) < 0)
		goto out;
	s = db_prepare(c, "UPDATE t_counter SET n = n + 1 WHERE id = 1", e);
	if (!s || db_step(s, e) != 0)
		goto out;
	db_finalize(s);
	s = db_prepare(c, "INSERT INTO t_log (writer, i) VALUES ($1, $2)", e);
	if (!s || db_bind_int(s, 1, id) < 0 || db_bind_int(s, 2, i) < 0 || db_step(s, e) != 0)
		goto out;
	db_finalize(s);
	s = NULL;
	ret = db_commit(c, e);
out:
	db_finalize(s);
	if (db_in_transaction(c))
		db_rollback(c, &(struct err)ERR_INIT);
	return ret;
}

/* Read, then write only if nobody else did meanwhile (optimistic): 1 done, 0 lost the
 * race (try again), -1 error. */
static int write_optimistic(struct db_conn *c, struct err *e)
{
	struct db_stmt *s = db_prepare(c, "SELECT n FROM t_counter WHERE id = 2", e);
	int64_t n;
	int ret = -1;

	if (!s || db_step(s, e) != 1)
		goto out;
	n = db_col_int(s, 0);
	db_finalize(s);
	s = db_prepare(c, "UPDATE t_counter SET n = $1 WHERE id = 2 AND n = $2", e);
	if (!s || db_bind_int(s, 1, n + 1) < 0 || db_bind_int(s, 2, n) < 0 || db_step(s, e) != 0)
		goto out;
	ret = db_changes(s) == 1 ? 1 : 0;
out:
	db_finalize(s);
	return ret;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;

	for (int i = 0; i < WRITES; i++) {
		struct err e = ERR_INIT;
		struct db_conn *c = db_acquire(w->db, &e);
		int rc;

		if (!c) {
			writer_error(w, &e);
			continue;
		}
		if (write_atomic(c, w->id, i, &e) < 0)
			writer_error(w, &e);
		while ((rc = write_optimistic(c, &e)) == 0)
			w->retries++;
		if (rc < 0)
			writer_error(w, &e);
		db_release(c);
	}
	return NULL;
}

static void test_concurrent_writers(void **state)
{
	struct fx *f = *state;
	struct writer w[WRITERS];
	pthread_t t[WRITERS];
	struct db_conn *c = fx_acquire(f);

	fx_exec(c, "DROP TABLE IF EXISTS t_counter; DROP TABLE IF EXISTS t_log;"
		   "CREATE TABLE t_counter (id INTEGER PRIMARY KEY, n BIGINT NOT NULL);"
		   "INSERT INTO t_counter (id, n) VALUES (1, 0), (2, 0);"
		   "CREATE TABLE t_log (writer INTEGER, i INTEGER, PRIMARY KEY (writer, i))");
	db_release(c);
	for (int i = 0; i < WRITERS; i++) {
		w[i] = (struct writer){ .db = f->db, .id = i };
		assert_int_equal(pthread_create(&t[i], NULL, writer_main, &w[i]), 0);
	}
	for (int i = 0; i < WRITERS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		if (w[i].errors)
			fail_msg("writer %d: %d errors, first: %s", i, w[i].errors, w[i].first_error);
	}
	c = fx_acquire(f);
	assert_int_equal(fx_int(c, "SELECT n FROM t_counter WHERE id = 1"), WRITERS * WRITES);
	assert_int_equal(fx_int(c, "SELECT n FROM t_counter WHERE id = 2"), WRITERS * WRITES);
	assert_int_equal(fx_int(c, "SELECT count(*) FROM t_log"), WRITERS * WRITES);
	db_release(c);
}

/* ---- snapshots and lock waits ---- */

struct side {
	struct db *db;
	const char *key, *value;
	int rc;
	enum err_code code;
	int64_t ms;
	char msg[ERR_MSG_MAX];
};

/* In another thread (so another connection): set key=value, autocommit. */
static void *side_put(void *arg)
{
	struct side *sd = arg;
	struct err e = ERR_INIT;
	struct db_conn *c = db_acquire(sd->db, &e);
	struct db_stmt *s = c ? db_prepare(c, "UPDATE kv SET value = $2 WHERE key = $1", &e) : NULL;
	int64_t start = fx_now_ms();

	sd->rc = -1;
	if (s && db_bind_str(s, 1, sd->key) == 0 && db_bind_str(s, 2, sd->value) == 0)
		sd->rc = db_step(s, &e);
	db_finalize(s);
	db_release(c);
	sd->ms = fx_now_ms() - start;
	sd->code = e.code;
	snprintf(sd->msg, sizeof(sd->msg), "%s", e.msg);
	return NULL;
}

static void test_read_transaction(void **state)
{
	struct fx *f = *state;
	struct side sd = { .db = f->db, .key = "snap", .value = "b" };
	struct err e = ERR_INIT;
	struct db_conn *c;
	pthread_t t;
	char v[64];

	fx_migrate(f);
	c = fx_acquire(f);
	kv_put(c, "snap", "a");
	assert_int_equal(db_begin_read(c, &e), 0);
	assert_true(db_in_transaction(c));
	kv_get(c, "snap", v, sizeof(v));
	assert_string_equal(v, "a");
	/* A writer elsewhere is not blocked by the reader… */
	assert_int_equal(pthread_create(&t, NULL, side_put, &sd), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	if (sd.rc != 0)
		fail_msg("writer beside a read transaction: %s", sd.msg);
	/* …and the reader keeps its snapshot. */
	kv_get(c, "snap", v, sizeof(v));
	assert_string_equal(v, "a");
	/* Writes inside a read transaction are refused. */
	assert_int_equal(db_exec(c, "DELETE FROM kv", &e), -1);
	assert_int_equal(db_rollback(c, &e), 0);
	kv_get(c, "snap", v, sizeof(v));
	assert_string_equal(v, "b");
	/* The connection writes again once the read transaction is over. */
	kv_put(c, "snap", "c");
	db_release(c);
}

static void test_lock_wait_times_out(void **state)
{
	struct fx *f = *state;
	struct db_options opt = { .pool_size = 2, .busy_timeout_ms = 300 };
	struct err e = ERR_INIT;
	struct side sd = { .key = "locked", .value = "theirs" };
	struct db_conn *c;
	pthread_t t;

	fx_migrate(f);
	sd.db = db_open(f->url, &opt, &e);
	assert_non_null(sd.db);
	c = fx_acquire(f);
	kv_put(c, "locked", "mine");
	assert_int_equal(db_begin(c, &e), 0);
	kv_put(c, "locked", "held");
	/* The other writer waits busy_timeout_ms for our lock, then gives up. */
	assert_int_equal(pthread_create(&t, NULL, side_put, &sd), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(sd.rc, -1);
	if (sd.code != ERR_TIMEOUT)
		fail_msg("want a timeout, got %s: %s", err_code_name(sd.code), sd.msg);
	assert_true(sd.ms >= 250);
	assert_true(sd.ms < 4000);
	assert_int_equal(db_commit(c, &e), 0);
	db_release(c);
	db_close(sd.db);
}

static void test_ping(void **state)
{
	struct fx *f = *state;
	struct err e = ERR_INIT;

	if (db_ping(f->db, &e) < 0)
		fail_msg("ping: %s", e.msg);
	assert_string_equal(db_backend_name(f->db), f->backend);
}

/* ---- PostgreSQL: the pool, and a server restart ---- */

static void *acquire_once(void *arg)
{
	struct side *sd = arg;
	struct err e = ERR_INIT;
	int64_t start = fx_now_ms();
	struct db_conn *c = db_acquire(sd->db, &e);

	sd->rc = c ? 0 : -1;
	sd->ms = fx_now_ms() - start;
	sd->code = e.code;
	db_release(c);
	return NULL;
}

static void test_pg_pool_wait(void **state)
{
	struct fx *f = *state;
	struct db_options opt = { .pool_size = 1, .busy_timeout_ms = 300 };
	struct side sd = { 0 };
	struct err e = ERR_INIT;
	struct db_conn *c;
	pthread_t t;

	if (!f->pg)
		skip();
	sd.db = db_open(f->url, &opt, &e);
	assert_non_null(sd.db);
	c = db_acquire(sd.db, &e);
	assert_non_null(c);
	/* The only connection is taken: another thread waits, then times out. */
	assert_int_equal(pthread_create(&t, NULL, acquire_once, &sd), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(sd.rc, -1);
	assert_int_equal(sd.code, ERR_TIMEOUT);
	assert_true(sd.ms >= 250);
	db_release(c);
	/* Released, it is there for the next thread. */
	assert_int_equal(pthread_create(&t, NULL, acquire_once, &sd), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(sd.rc, 0);
	db_close(sd.db);
}

static void pg_restart(void)
{
	const char *dir = getenv("TA_TEST_PG_DIR");
	const char *script = getenv("TA_PG_SH");
	char path[1024], cmd[2200];

	if (!script || !*script) {
		/* tests/contract/db_contract_test.c → tests/lib/pg.sh */
		snprintf(path, sizeof(path), "%s", __FILE__);
		char *slash = strrchr(path, '/');
		if (slash)
			*slash = '\0';
		slash = strrchr(path, '/');
		if (slash)
			*slash = '\0';
		snprintf(path + strlen(path), sizeof(path) - strlen(path), "/lib/pg.sh");
		script = path;
	}
	snprintf(cmd, sizeof(cmd), "'%s' restart '%s' >&2", script, dir);
	if (system(cmd) != 0)
		fail_msg("%s failed", cmd);
}

static void *query_kv(void *arg)
{
	struct side *sd = arg;
	struct err e = ERR_INIT;
	struct db_conn *c = db_acquire(sd->db, &e);
	struct db_stmt *s = c ? db_prepare(c, "SELECT count(*) FROM kv WHERE key <> $1", &e) : NULL;

	sd->rc = -1;
	if (s && db_bind_str(s, 1, "x") == 0 && db_step(s, &e) == 1)
		sd->rc = 0;
	sd->code = e.code;
	snprintf(sd->msg, sizeof(sd->msg), "%s", e.msg);
	db_finalize(s);
	db_release(c);
	return NULL;
}

static void test_pg_restart(void **state)
{
	struct fx *f = *state;
	struct side sd[WRITERS];
	pthread_t t[WRITERS];
	struct err e = ERR_INIT;
	struct db_conn *c;
	struct db_stmt *s;

	if (!f->pg)
		skip();
	if (!getenv("TA_TEST_PG_DIR")) {
		printf("SKIPPED postgres restart: TA_TEST_PG_DIR not set\n");
		skip();
	}
	fx_migrate(f);
	/* Several pooled connections, each with the statement prepared on the server. */
	for (int i = 0; i < WRITERS; i++) {
		sd[i] = (struct side){ .db = f->db };
		assert_int_equal(pthread_create(&t[i], NULL, query_kv, &sd[i]), 0);
	}
	for (int i = 0; i < WRITERS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);

	/* 1. Restart while the connections sit idle in the pool. */
	pg_restart();
	for (int i = 0; i < WRITERS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, query_kv, &sd[i]), 0);
	for (int i = 0; i < WRITERS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		if (sd[i].rc != 0)
			fail_msg("query after restart: %s", sd[i].msg);
	}

	/* 2. Restart while a connection is held, outside a transaction: the statement is
	 * re-prepared and run again on a new connection. */
	c = fx_acquire(f);
	kv_put(c, "restart", "before");
	pg_restart();
	s = fx_prepare(c, "SELECT count(*) FROM kv WHERE key <> $1");
	db_bind_str(s, 1, "x");
	assert_int_equal(fx_step(s), 1);
	db_finalize(s);
	pg_restart();
	fx_exec(c, "SELECT 1"); /* db_exec recovers the same way */

	/* 3. Inside a transaction the work is lost: the caller is told, rolls back, and the
	 * connection serves again. */
	assert_int_equal(db_begin(c, &e), 0);
	kv_put(c, "restart", "in-tx");
	pg_restart();
	/* Depending on whether this connection had the statement prepared before its last
	 * reconnect, the loss shows at prepare or at step. */
	s = db_prepare(c, "SELECT value FROM kv WHERE key = $1", &e);
	if (s) {
		db_bind_str(s, 1, "restart");
		assert_int_equal(db_step(s, &e), -1);
		db_finalize(s);
	}
	assert_int_equal(e.code, ERR_UNAVAILABLE);
	db_rollback(c, &e);
	assert_false(db_in_transaction(c));
	char v[64];
	kv_get(c, "restart", v, sizeof(v));
	assert_string_equal(v, "before");
	db_release(c);
	if (db_ping(f->db, &e) < 0)
		fail_msg("ping after restarts: %s", e.msg);
}
