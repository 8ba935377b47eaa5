/* db_fixture.c — the database contract suite's fixture and helpers. Included by
 * db_contract_test.c (not built on its own).
 *
 * A fixture is one backend: SQLite in a temp folder, or PostgreSQL (TA_TEST_PG) in a schema
 * made for this run (search_path set through the URL's options), dropped at the end. The
 * helpers fail the current test with the database's message; call them from the test's
 * own thread only (cmocka's failures do not cross threads). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db/db.h"
#include "db/migrate.h"

struct fx {
	const char *backend;   /* "sqlite" | "postgres" */
	const char *blob_type; /* the column type of a blob */
	bool pg;
	char url[1024];
	char dir[512];         /* SQLite: the temp folder */
	char schema[64];       /* PostgreSQL: this run's schema */
	struct db *db;
};

static struct fx fx_sqlite, fx_pg;

static int64_t fx_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int fx_setup_sqlite(void **state)
{
	struct fx *f = &fx_sqlite;
	const char *tmp = getenv("TMPDIR");
	struct err e = ERR_INIT;

	memset(f, 0, sizeof(*f));
	f->backend = "sqlite";
	f->blob_type = "BLOB";
	snprintf(f->dir, sizeof(f->dir), "%s/ta-db-contract-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->dir)) {
		perror("mkdtemp");
		return -1;
	}
	/* A folder that does not exist yet: db_open creates it. */
	snprintf(f->url, sizeof(f->url), "sqlite://%s/data/contract.db", f->dir);
	f->db = db_open(f->url, NULL, &e);
	if (!f->db) {
		fprintf(stderr, "db_open %s: %s\n", f->url, e.msg);
		return -1;
	}
	*state = f;
	return 0;
}

/* Run constant SQL on a short-lived handle to the server's own URL. */
static int fx_admin(const char *sql)
{
	struct err e = ERR_INIT;
	struct db *db = db_open(getenv("TA_TEST_PG"), NULL, &e);
	struct db_conn *c = db ? db_acquire(db, &e) : NULL;
	int ret = c ? db_exec(c, sql, &e) : -1;

	if (ret < 0)
		fprintf(stderr, "postgres admin (%s): %s\n", sql, e.msg);
	db_release(c);
	db_close(db);
	return ret;
}

static int fx_setup_pg(void **state)
{
	struct fx *f = &fx_pg;
	const char *admin = getenv("TA_TEST_PG");
	struct err e = ERR_INIT;
	char sql[256];

	memset(f, 0, sizeof(*f));
	f->backend = "postgres";
	f->blob_type = "BYTEA";
	f->pg = true;
	snprintf(f->schema, sizeof(f->schema), "ta_contract_%ld", (long)getpid());
	snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", f->schema, f->schema);
	if (fx_admin(sql) < 0)
		return -1;
	snprintf(f->url, sizeof(f->url), "%s%soptions=-csearch_path%%3D%s", admin,
		 strchr(admin, '?') ? "&" : "?", f->schema);
	f->db = db_open(f->url, &(struct db_options){ .pool_size = 8 }, &e);
	if (!f->db) {
		fprintf(stderr, "db_open postgres: %s\n", e.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	char cmd[600];

	if (!f)
		return 0; /* the group's setup failed before it made anything */
	db_close(f->db);
	f->db = NULL;
	if (f->pg) {
		snprintf(cmd, sizeof(cmd), "DROP SCHEMA IF EXISTS %s CASCADE", f->schema);
		return fx_admin(cmd) < 0 ? -1 : 0;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct db_conn *fx_acquire(struct fx *f)
{
	struct err e = ERR_INIT;
	struct db_conn *c = db_acquire(f->db, &e);

	if (!c)
		fail_msg("db_acquire: %s", e.msg);
	return c;
}

static void fx_exec(struct db_conn *c, const char *sql)
{
	struct err e = ERR_INIT;

	if (db_exec(c, sql, &e) < 0)
		fail_msg("db_exec %s: %s", sql, e.msg);
}

static struct db_stmt *fx_prepare(struct db_conn *c, const char *sql)
{
	struct err e = ERR_INIT;
	struct db_stmt *s = db_prepare(c, sql, &e);

	if (!s)
		fail_msg("db_prepare %s: %s", sql, e.msg);
	return s;
}

static int fx_step(struct db_stmt *s)
{
	struct err e = ERR_INIT;
	int rc = db_step(s, &e);

	if (rc < 0)
		fail_msg("db_step: %s (%s)", e.msg, err_code_name(e.code));
	return rc;
}

/* The integer in the first column of the first row of constant SQL. */
static int64_t fx_int(struct db_conn *c, const char *sql)
{
	struct db_stmt *s = fx_prepare(c, sql);
	int64_t v;

	if (fx_step(s) != 1)
		fail_msg("%s: no row", sql);
	v = db_col_int(s, 0);
	db_finalize(s);
	return v;
}

static void fx_migrate(struct fx *f)
{
	struct err e = ERR_INIT;

	if (db_migrate(f->db, &e) < 0)
		fail_msg("db_migrate: %s", e.msg);
}

static bool fx_table_exists(struct fx *f, const char *name)
{
	struct db_conn *c = fx_acquire(f);
	struct db_stmt *s = fx_prepare(c, f->pg
		? "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1"
		: "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = $1");
	bool exists;

	db_bind_str(s, 1, name);
	assert_int_equal(fx_step(s), 1);
	exists = db_col_int(s, 0) > 0;
	db_finalize(s);
	db_release(c);
	return exists;
}
