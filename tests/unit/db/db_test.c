/* Unit tests for src/db/db.c and what is particular to one backend: URLs and their
 * redaction, API misuse, SQLite's files, memory databases and statement cache, and a
 * PostgreSQL server that is not there. The shared behaviour of both backends is in
 * tests/contract/db_contract_test.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/db.h"
#include "db/migrate.h"

static void expect_redact(const char *url, const char *want)
{
	char out[256];
	size_t n = db_url_redact(url, out, sizeof(out));

	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
}

static void test_redact(void **state)
{
	char small[8];

	(void)state;
	expect_redact("postgres://u:secret@h:5432/db", "postgres://u:***@h:5432/db");
	expect_redact("postgresql://u@h/db", "postgresql://u@h/db");
	expect_redact("postgres://h/db?sslmode=require&password=hunter2&x=1",
		      "postgres://h/db?sslmode=require&password=***&x=1");
	expect_redact("postgres://u:a@b@h/db?password=p", "postgres://u:***@h/db?password=***");
	expect_redact("postgres://h/db?sslpassword=k", "postgres://h/db?sslpassword=***");
	/* Raw '?', '#' or '/' inside a password (libpq ends the userinfo at the first '/'). */
	expect_redact("postgres://u:p?x@h/db", "postgres://u:***@h/db");
	expect_redact("postgres://u:p#x@h/db", "postgres://u:***@h/db");
	expect_redact("postgres://u:p/x@h/db", "postgres://u:***@h/db");
	expect_redact("sqlite:///var/lib/x.db", "sqlite:///var/lib/x.db");
	/* A query '@' is not a userinfo separator. */
	expect_redact("postgres://h:1/db?application_name=a@b", "postgres://h:1/db?application_name=a@b");
	/* Truncated like snprintf: the length returned is the full one. */
	assert_int_equal(db_url_redact("postgres://u:pw@host/db", small, sizeof(small)),
			 strlen("postgres://u:***@host/db"));
	assert_string_equal(small, "postgre");
}

static void test_bad_urls(void **state)
{
	const char *bad[] = { "", "mysql://h/db", "sqlite://", "sqlite:///", "sqlite:", "file:///x.db" };
	struct err e = ERR_INIT;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&e);
		assert_null(db_open(bad[i], NULL, &e));
		assert_int_equal(e.code, ERR_INVALID);
	}
	/* The message never shows a password. */
	err_clear(&e);
	assert_null(db_open("mysql://root:topsecret@h/db", NULL, &e));
	assert_null(strstr(e.msg, "topsecret"));
	assert_non_null(strstr(e.msg, "***"));
	err_clear(&e);
	assert_null(db_open("postgres://u:topsecret@h/db?nosuchoption=1", NULL, &e));
	assert_int_equal(e.code, ERR_INVALID);
	assert_null(strstr(e.msg, "topsecret"));
	assert_null(db_open(NULL, NULL, &e));
}

static void test_null_safety(void **state)
{
	struct err e = ERR_INIT;
	size_t len = 99;

	(void)state;
	db_close(NULL);
	db_release(NULL);
	db_finalize(NULL);
	assert_null(db_acquire(NULL, &e));
	assert_int_equal(db_exec(NULL, "SELECT 1", &e), -1);
	assert_null(db_prepare(NULL, "SELECT 1", &e));
	assert_int_equal(db_step(NULL, &e), -1);
	assert_int_equal(db_bind_int(NULL, 1, 1), -1);
	assert_true(db_col_null(NULL, 0));
	assert_null(db_col_blob(NULL, 0, &len));
	assert_int_equal(len, 0);
	assert_int_equal(db_reset(NULL), -1);
	assert_false(db_in_transaction(NULL));
	assert_string_equal(db_backend_name(NULL), "none");
}

/* A temp folder for SQLite files; removed by rm_rf at the end of the test. */
static char *temp_dir(void)
{
	const char *tmp = getenv("TMPDIR");
	char path[512];

	snprintf(path, sizeof(path), "%s/ta-db-unit-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(path));
	return strdup(path);
}

static void rm_rf(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_sqlite_file(void **state)
{
	char *dir = temp_dir();
	char url[600], path[600], wal[620];
	struct err e = ERR_INIT;
	struct stat st;
	struct db *db;

	(void)state;
	/* Parent folders are created; the database is in WAL mode. */
	snprintf(url, sizeof(url), "sqlite://%s/a/b/c.db", dir);
	snprintf(path, sizeof(path), "%s/a/b/c.db", dir);
	db = db_open(url, NULL, &e);
	assert_non_null(db);
	assert_string_equal(db_backend_name(db), "sqlite");
	assert_string_equal(db_url_safe(db), url);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(db_migrate(db, &e), 0);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	assert_int_equal(stat(wal, &st), 0);

	struct db_conn *c = db_acquire(db, &e);
	struct db_stmt *s = db_prepare(c, "PRAGMA journal_mode", &e);
	assert_non_null(s);
	assert_int_equal(db_step(s, &e), 1);
	assert_string_equal(db_col_text(s, 0), "wal");
	db_finalize(s);
	s = db_prepare(c, "PRAGMA foreign_keys", &e);
	assert_int_equal(db_step(s, &e), 1);
	assert_int_equal(db_col_int(s, 0), 1);
	db_finalize(s);
	db_release(c);
	db_close(db);

	/* A relative path: sqlite://rel/path.db, against the working directory. */
	char cwd[512];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(dir), 0);
	db = db_open("sqlite://rel/x.db", NULL, &e);
	assert_non_null(db);
	db_close(db);
	snprintf(path, sizeof(path), "%s/rel/x.db", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(chdir(cwd), 0);

	/* A folder that cannot be created. */
	snprintf(url, sizeof(url), "sqlite://%s/rel/x.db/inside.db", dir);
	err_clear(&e);
	assert_null(db_open(url, NULL, &e));
	assert_int_equal(e.code, ERR_IO);
	rm_rf(dir);
	free(dir);
}

static void test_sqlite_not_a_database(void **state)
{
	char *dir = temp_dir();
	char url[700], path[600];
	struct err e = ERR_INIT;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/junk.db", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("this is not an SQLite database, just some text long enough to have a header......\n", f);
	fclose(f);
	snprintf(url, sizeof(url), "sqlite://%s", path);
	assert_null(db_open(url, NULL, &e));
	assert_int_equal(e.code, ERR_IO);
	assert_non_null(strstr(e.msg, "junk.db"));
	rm_rf(dir);
	free(dir);
}

static void *count_kv(void *arg)
{
	struct db *db = arg;
	struct err e = ERR_INIT;
	struct db_conn *c = db_acquire(db, &e);
	struct db_stmt *s = db_prepare(c, "SELECT count(*) FROM kv", &e);
	intptr_t n = -1;

	if (s && db_step(s, &e) == 1)
		n = (intptr_t)db_col_int(s, 0);
	db_finalize(s);
	db_release(c);
	return (void *)n;
}

static void test_sqlite_memory_shared(void **state)
{
	struct err e = ERR_INIT;
	struct db *db = db_open("sqlite::memory:", NULL, &e), *other;
	struct db_conn *c;
	pthread_t t;
	void *n;

	(void)state;
	assert_non_null(db);
	assert_int_equal(db_migrate(db, &e), 0);
	c = db_acquire(db, &e);
	assert_int_equal(db_exec(c, "INSERT INTO kv VALUES ('a','1',0),('b','2',0)", &e), 0);
	db_release(c);
	/* Another thread (another connection) sees the same in-memory database… */
	assert_int_equal(pthread_create(&t, NULL, count_kv, db), 0);
	assert_int_equal(pthread_join(t, &n), 0);
	assert_int_equal((intptr_t)n, 2);
	/* …and another handle has its own. */
	other = db_open("sqlite::memory:", NULL, &e);
	assert_non_null(other);
	c = db_acquire(other, &e);
	assert_int_equal(db_exec(c, "SELECT count(*) FROM kv", &e), -1);
	db_release(c);
	db_close(other);
	db_close(db);

	/* sqlite://:memory: is the same thing, not a per-connection database. */
	db = db_open("sqlite://:memory:", NULL, &e);
	assert_non_null(db);
	assert_int_equal(db_migrate(db, &e), 0);
	assert_int_equal(pthread_create(&t, NULL, count_kv, db), 0);
	assert_int_equal(pthread_join(t, &n), 0);
	assert_int_equal((intptr_t)n, 0);
	db_close(db);
}

static void test_sqlite_statement_cache(void **state)
{
	struct err e = ERR_INIT;
	struct db *db = db_open("sqlite::memory:", NULL, &e);
	struct db_conn *c = db_acquire(db, &e);
	struct db_stmt *a, *b, *again;
	char sql[64];

	(void)state;
	/* Finalize returns the statement to the cache: the same one comes back. */
	a = db_prepare(c, "SELECT $1", &e);
	assert_non_null(a);
	db_finalize(a);
	again = db_prepare(c, "SELECT $1", &e);
	assert_ptr_equal(again, a);
	/* While one is in use, the same SQL gets a second, independent statement. */
	b = db_prepare(c, "SELECT $1", &e);
	assert_ptr_not_equal(b, again);
	db_bind_int(again, 1, 1);
	db_bind_int(b, 1, 2);
	assert_int_equal(db_step(again, &e), 1);
	assert_int_equal(db_step(b, &e), 1);
	assert_int_equal(db_col_int(again, 0), 1);
	assert_int_equal(db_col_int(b, 0), 2);
	db_finalize(again);
	db_finalize(b);
	/* A cached statement comes back without its old bindings. */
	a = db_prepare(c, "SELECT $1", &e);
	assert_int_equal(db_step(a, &e), 1);
	assert_true(db_col_null(a, 0));
	db_finalize(a);
	/* Many distinct statements: the cache stays bounded and still answers right. */
	for (int i = 0; i < 300; i++) {
		snprintf(sql, sizeof(sql), "SELECT %d + $1", i);
		struct db_stmt *s = db_prepare(c, sql, &e);
		assert_non_null(s);
		db_bind_int(s, 1, 1);
		assert_int_equal(db_step(s, &e), 1);
		assert_int_equal(db_col_int(s, 0), i + 1);
		db_finalize(s);
	}
	db_release(c);
	db_close(db);
}

static void test_sqlite_one_statement(void **state)
{
	struct err e = ERR_INIT;
	struct db *db = db_open("sqlite::memory:", NULL, &e);
	struct db_conn *c = db_acquire(db, &e);

	(void)state;
	assert_null(db_prepare(c, "SELECT 1; SELECT 2", &e));
	assert_non_null(strstr(e.msg, "one statement"));
	err_clear(&e);
	assert_null(db_prepare(c, "  -- nothing\n", &e));
	assert_int_equal(e.code, ERR_INTERNAL);
	/* A trailing semicolon is fine. */
	struct db_stmt *s = db_prepare(c, "SELECT 1;", &e);
	assert_non_null(s);
	db_finalize(s);
	db_release(c);
	db_close(db);
}

static void test_pg_unreachable(void **state)
{
	struct err e = ERR_INIT;
	struct db_options opt = { .pool_size = 2, .busy_timeout_ms = 1000 };
	/* Port 1 on loopback: nothing listens there, so the connection is refused at once. */
	struct db *db = db_open("postgres://u:topsecret@127.0.0.1:1/db?connect_timeout=2", &opt, &e);

	(void)state;
	assert_non_null(db); /* lazy: no connection yet */
	assert_string_equal(db_backend_name(db), "postgres");
	assert_null(strstr(db_url_safe(db), "topsecret"));
	assert_int_equal(db_ping(db, &e), -1);
	assert_int_equal(e.code, ERR_UNAVAILABLE);
	assert_null(strstr(e.msg, "topsecret"));
	/* A failed connect gives its pool slot back: trying again fails the same way, not
	 * with a timeout for a pool that looks full. */
	for (int i = 0; i < 3; i++) {
		err_clear(&e);
		assert_null(db_acquire(db, &e));
		assert_int_equal(e.code, ERR_UNAVAILABLE);
	}
	db_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_bad_urls),
		cmocka_unit_test(test_null_safety),
		cmocka_unit_test(test_sqlite_file),
		cmocka_unit_test(test_sqlite_not_a_database),
		cmocka_unit_test(test_sqlite_memory_shared),
		cmocka_unit_test(test_sqlite_statement_cache),
		cmocka_unit_test(test_sqlite_one_statement),
		cmocka_unit_test(test_pg_unreachable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
