/* The database port's contract: one suite, run against every backend.
 *
 * SQLite always (a file in a temp folder). PostgreSQL when TA_TEST_PG holds a server URL
 * (tests/lib/pg.sh start prints one); the suite then works in a schema of its own, dropped
 * at the end. With TA_TEST_PG_DIR (the pg.sh folder) it also restarts the server mid-test
 * to check that connections recover.
 *
 *   D=$(mktemp -d); export TA_TEST_PG=$(tests/lib/pg.sh start $D) TA_TEST_PG_DIR=$D
 *   ctest -R db_ ; tests/lib/pg.sh stop $D
 *
 * TA_TEST_LOG=debug|info shows the library's log (reconnects, migrations); TA_PG_SH
 * overrides where pg.sh is (default: tests/lib/pg.sh next to this file's folder).
 * The fixture and the transaction/thread tests live in db_fixture.c and
 * db_contract_tx.c, included below (only *_test.c files are built on their own).
 */
#include <float.h>
#include <math.h>
#include <pthread.h>

#include <openssl/evp.h>

#include "base/log.h"
#include "contract/db_fixture.c"

/* ---- migrations ----
 * Other issues add steps to src/db/migrations; these tests must hold whatever is embedded.
 * Their own steps are numbered from 9001, above anything real. */

static const struct db_migration *embedded(struct fx *f, int version)
{
	for (const struct db_migration *m = db_migrations; m->backend; m++)
		if (strcmp(m->backend, f->backend) == 0 && m->version == version)
			return m;
	fail_msg("no embedded %s migration %d", f->backend, version);
	return NULL;
}

/* The embedded steps of this backend: how many, and the highest version. */
static int embedded_count(struct fx *f, int *max)
{
	int n = 0;

	*max = 0;
	for (const struct db_migration *m = db_migrations; m->backend; m++) {
		if (strcmp(m->backend, f->backend) == 0) {
			n++;
			if (m->version > *max)
				*max = m->version;
		}
	}
	return n;
}

/* The embedded steps of this backend followed by `extra` (n of them), NULL-terminated;
 * the caller frees it. */
static struct db_migration *with_steps(struct fx *f, const struct db_migration *extra, int n)
{
	int max, count = embedded_count(f, &max), k = 0;
	struct db_migration *all = calloc((size_t)(count + n + 1), sizeof(*all));

	assert_non_null(all);
	for (const struct db_migration *m = db_migrations; m->backend; m++)
		if (strcmp(m->backend, f->backend) == 0)
			all[k++] = *m;
	for (int i = 0; i < n; i++) {
		assert_true(extra[i].version > max);
		all[k] = extra[i];
		all[k++].backend = f->backend;
	}
	return all;
}

static void sha256_hex(const char *s, char out[65])
{
	unsigned char md[32];
	unsigned len = 0;

	assert_true(EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL));
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* db_migrate_status's output as a string (caller frees). */
static char *status_text(struct fx *f)
{
	struct err e = ERR_INIT;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	assert_non_null(out);
	if (db_migrate_status(f->db, out, &e) < 0)
		fail_msg("status: %s", e.msg);
	fclose(out);
	return text;
}

static void test_migrate_from_empty(void **state)
{
	struct fx *f = *state;
	struct err e = ERR_INIT;
	char sum[65], want[64], *text;
	int max, n = embedded_count(f, &max);

	assert_true(n >= 1);
	text = status_text(f);
	assert_non_null(strstr(text, "0001  init"));
	assert_non_null(strstr(text, "pending\n"));
	snprintf(want, sizeof(want), "schema at version 0; %d pending", n);
	assert_non_null(strstr(text, want));
	free(text);
	assert_false(fx_table_exists(f, "kv"));
	assert_false(fx_table_exists(f, "schema_migrations")); /* status changes nothing */

	if (db_migrate(f->db, &e) < 0)
		fail_msg("migrate: %s", e.msg);
	assert_true(fx_table_exists(f, "kv"));
	struct db_conn *c = fx_acquire(f);
	assert_int_equal(fx_int(c, "SELECT count(*) FROM schema_migrations"), n);
	assert_int_equal(fx_int(c, "SELECT max(version) FROM schema_migrations"), max);
	struct db_stmt *s = fx_prepare(c, "SELECT version, name, checksum, applied_at FROM schema_migrations "
					  "WHERE version = 1");
	assert_int_equal(fx_step(s), 1);
	assert_int_equal(db_col_int(s, 0), 1);
	assert_string_equal(db_col_text(s, 1), "init");
	sha256_hex(embedded(f, 1)->sql, sum);
	assert_string_equal(db_col_text(s, 2), sum);
	assert_true(db_col_int(s, 3) > 1700000000000LL); /* milliseconds */
	db_finalize(s);
	/* The new table works. */
	fx_exec(c, "INSERT INTO kv (key, value, updated_at) VALUES ('k', 'v', 1)");
	assert_int_equal(fx_int(c, "SELECT count(*) FROM kv WHERE key = 'k'"), 1);
	fx_exec(c, "DELETE FROM kv");
	db_release(c);

	text = status_text(f);
	assert_non_null(strstr(text, "applied"));
	assert_null(strstr(text, "  pending\n"));
	snprintf(want, sizeof(want), "schema at version %d; 0 pending", max);
	assert_non_null(strstr(text, want));
	free(text);
}

static void test_migrate_idempotent(void **state)
{
	struct fx *f = *state;
	struct db_conn *c;
	int max, n = embedded_count(f, &max);
	int64_t at;

	fx_migrate(f);
	c = fx_acquire(f);
	at = fx_int(c, "SELECT applied_at FROM schema_migrations WHERE version = 1");
	db_release(c);
	fx_migrate(f);
	fx_migrate(f);
	c = fx_acquire(f);
	assert_int_equal(fx_int(c, "SELECT count(*) FROM schema_migrations"), n);
	assert_int_equal(fx_int(c, "SELECT applied_at FROM schema_migrations WHERE version = 1"), at);
	db_release(c);
}

static void test_migrate_edited_refused(void **state)
{
	struct fx *f = *state;
	const struct db_migration extra[] = { { NULL, 9001, "extra", "CREATE TABLE mig_extra (x INTEGER)" } };
	struct db_migration *steps = with_steps(f, extra, 1);
	struct err e = ERR_INIT;
	int max, n = embedded_count(f, &max);
	char want[64], sum[65], *text;
	struct db_conn *c;

	fx_migrate(f);
	c = fx_acquire(f);
	/* What an edited 0001_init.sql looks like from the database's side. */
	fx_exec(c, "UPDATE schema_migrations SET checksum = 'deadbeef' WHERE version = 1");
	assert_int_equal(db_migrate_steps(f->db, steps, &e), -1);
	assert_int_equal(e.code, ERR_CONFLICT);
	snprintf(want, sizeof(want), "%s/0001_init.sql", f->backend);
	assert_non_null(strstr(e.msg, want));
	assert_non_null(strstr(e.msg, "migration 0001"));
	/* Nothing applied: not the pending step either. */
	assert_false(fx_table_exists(f, "mig_extra"));
	assert_int_equal(fx_int(c, "SELECT count(*) FROM schema_migrations"), n);
	text = status_text(f);
	assert_non_null(strstr(text, "CHANGED"));
	free(text);

	struct db_stmt *s = fx_prepare(c, "UPDATE schema_migrations SET checksum = $1 WHERE version = 1");
	sha256_hex(embedded(f, 1)->sql, sum);
	db_bind_str(s, 1, sum);
	assert_int_equal(fx_step(s), 0);
	assert_int_equal(db_changes(s), 1);
	db_finalize(s);
	db_release(c);
	fx_migrate(f);
	free(steps);
}

static void test_migrate_newer_database_refused(void **state)
{
	struct fx *f = *state;
	const struct db_migration extra[] = {
		{ NULL, 9001, "extra", "CREATE TABLE mig_extra (x INTEGER);\n"
				       "INSERT INTO mig_extra (x) VALUES (42);" },
	};
	struct db_migration *steps = with_steps(f, extra, 1);
	struct err e = ERR_INIT;
	struct db_conn *c;
	char *text;

	fx_migrate(f);
	if (db_migrate_steps(f->db, steps, &e) < 0)
		fail_msg("migrate to 9001: %s", e.msg);
	c = fx_acquire(f);
	/* Both statements of the multi-statement step ran. */
	assert_int_equal(fx_int(c, "SELECT x FROM mig_extra"), 42);
	/* This binary does not know 9001: the database is newer. */
	assert_int_equal(db_migrate(f->db, &e), -1);
	assert_int_equal(e.code, ERR_UNSUPPORTED);
	assert_non_null(strstr(e.msg, "version 9001"));
	text = status_text(f);
	assert_non_null(strstr(text, "unknown to this binary"));
	free(text);
	fx_exec(c, "DROP TABLE mig_extra; DELETE FROM schema_migrations WHERE version = 9001");
	db_release(c);
	fx_migrate(f);
	free(steps);
}

static void test_migrate_failed_step_is_atomic(void **state)
{
	struct fx *f = *state;
	const struct db_migration half[] = {
		{ NULL, 9001, "half", "CREATE TABLE mig_half (x INTEGER);\n"
				      "INSERT INTO no_such_table (x) VALUES (1);" },
	};
	const struct db_migration three[] = { { NULL, 9003, "three", "CREATE TABLE mig_three (x INTEGER)" } };
	const struct db_migration two_three[] = {
		{ NULL, 9002, "two", "CREATE TABLE mig_two (x INTEGER)" },
		{ NULL, 9003, "three", "CREATE TABLE mig_three (x INTEGER)" },
	};
	struct db_migration *bad = with_steps(f, half, 1), *gap_first = with_steps(f, three, 1),
			    *gap = with_steps(f, two_three, 2);
	struct err e = ERR_INIT;
	int max, n = embedded_count(f, &max);
	char want[64];
	struct db_conn *c;

	fx_migrate(f);
	assert_int_equal(db_migrate_steps(f->db, bad, &e), -1);
	snprintf(want, sizeof(want), "%s/9001_half.sql", f->backend);
	assert_non_null(strstr(e.msg, want));
	assert_false(fx_table_exists(f, "mig_half"));
	c = fx_acquire(f);
	assert_int_equal(fx_int(c, "SELECT count(*) FROM schema_migrations"), n);
	db_release(c);

	/* Pending steps are applied together or not at all: a failing second step takes the
	 * first one back with it. */
	{
		const struct db_migration good_bad[] = {
			{ NULL, 9001, "good", "CREATE TABLE mig_good (x INTEGER)" },
			{ NULL, 9002, "bad", "INSERT INTO no_such_table (x) VALUES (1)" },
		};
		struct db_migration *gb = with_steps(f, good_bad, 2);

		err_clear(&e);
		assert_int_equal(db_migrate_steps(f->db, gb, &e), -1);
		snprintf(want, sizeof(want), "%s/9002_bad.sql", f->backend);
		assert_non_null(strstr(e.msg, want));
		assert_false(fx_table_exists(f, "mig_good"));
		c = fx_acquire(f);
		assert_int_equal(fx_int(c, "SELECT count(*) FROM schema_migrations"), n);
		db_release(c);
		free(gb);
		err_clear(&e);
	}

	/* A step missing below an applied one is refused, not applied out of order. */
	if (db_migrate_steps(f->db, gap_first, &e) < 0)
		fail_msg("migrate: %s", e.msg);
	err_clear(&e);
	assert_int_equal(db_migrate_steps(f->db, gap, &e), -1);
	assert_int_equal(e.code, ERR_CONFLICT);
	assert_non_null(strstr(e.msg, "9002"));
	assert_false(fx_table_exists(f, "mig_two"));
	c = fx_acquire(f);
	fx_exec(c, "DROP TABLE mig_three; DELETE FROM schema_migrations WHERE version = 9003");
	db_release(c);
	free(bad);
	free(gap_first);
	free(gap);
}

/* ---- values ---- */

static void test_types_round_trip(void **state)
{
	struct fx *f = *state;
	static const unsigned char bin[] = { 0, 1, 2, 0, 255, 0, '\'', '\\', 0 };
	const char *emoji = "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xf0\x9f\x8e\xb5\xf0\x9f\x8e\xb8";
	const struct {
		int64_t i;
		double d;
		const char *t;
		const void *b;
		size_t blen;
	} rows[] = {
		{ INT64_MAX, DBL_MAX, emoji, bin, sizeof(bin) },
		{ INT64_MIN, -DBL_MIN, "", "", 0 },
		{ 0, -0.0, "ascii", bin, 1 },
		{ -1, 3.141592653589793, "two\nlines\ttab", bin + 1, 1 },
		{ 1, 1e-300, "x", bin + 4, 1 },
		{ 42, INFINITY, "inf", bin, 2 },
	};
	const size_t nrows = sizeof(rows) / sizeof(rows[0]);
	struct db_conn *c;
	struct db_stmt *s;
	char ddl[256];

	fx_migrate(f);
	c = fx_acquire(f);
	snprintf(ddl, sizeof(ddl),
		 "DROP TABLE IF EXISTS t_types; CREATE TABLE t_types (id INTEGER PRIMARY KEY, "
		 "i BIGINT, d DOUBLE PRECISION, t TEXT, b %s)", f->blob_type);
	fx_exec(c, ddl);
	s = fx_prepare(c, "INSERT INTO t_types (id, i, d, t, b) VALUES ($1, $2, $3, $4, $5)");
	for (size_t k = 0; k < nrows; k++) {
		db_reset(s);
		assert_int_equal(db_bind_int(s, 1, (int64_t)k + 1), 0);
		assert_int_equal(db_bind_int(s, 2, rows[k].i), 0);
		assert_int_equal(db_bind_double(s, 3, rows[k].d), 0);
		assert_int_equal(db_bind_str(s, 4, rows[k].t), 0);
		assert_int_equal(db_bind_blob(s, 5, rows[k].b, rows[k].blen), 0);
		assert_int_equal(fx_step(s), 0);
	}
	/* A row of NULLs. */
	db_reset(s);
	for (int p = 2; p <= 5; p++)
		assert_int_equal(db_bind_null(s, p), 0);
	db_bind_int(s, 1, 100);
	assert_int_equal(fx_step(s), 0);
	db_finalize(s);

	s = fx_prepare(c, "SELECT id, i, d, t, b FROM t_types ORDER BY id");
	for (size_t k = 0; k < nrows; k++) {
		size_t len = 99;
		const void *blob;

		assert_int_equal(fx_step(s), 1);
		assert_int_equal(db_col_count(s), 5);
		assert_string_equal(db_col_name(s, 1), "i");
		assert_int_equal(db_col_int(s, 0), (int64_t)k + 1);
		assert_true(db_col_int(s, 1) == rows[k].i);
		/* (== on purpose: exact round trip. The sign of -0.0 is not kept by SQLite.) */
		assert_true(db_col_double(s, 2) == rows[k].d);
		assert_false(db_col_null(s, 3));
		assert_string_equal(db_col_text(s, 3), rows[k].t);
		blob = db_col_blob(s, 4, &len);
		assert_non_null(blob);
		assert_int_equal(len, rows[k].blen);
		assert_memory_equal(blob, rows[k].b, len);
	}
	assert_int_equal(fx_step(s), 1);
	assert_int_equal(db_col_int(s, 0), 100);
	for (int col = 1; col <= 4; col++)
		assert_true(db_col_null(s, col));
	size_t len = 99;
	assert_null(db_col_text(s, 3));
	assert_null(db_col_blob(s, 4, &len));
	assert_int_equal(len, 0);
	assert_int_equal(db_col_int(s, 1), 0);
	/* Out of range reads as NULL. */
	assert_true(db_col_null(s, 5));
	assert_true(db_col_null(s, -1));
	assert_null(db_col_name(s, 9));
	assert_int_equal(fx_step(s), 0);
	/* Done stays done until reset; no current row any more. */
	assert_int_equal(fx_step(s), 0);
	assert_true(db_col_null(s, 0));
	db_finalize(s);

	/* Integers read as text are their digits, on both. */
	s = fx_prepare(c, "SELECT i FROM t_types WHERE id = 1");
	assert_int_equal(fx_step(s), 1);
	assert_string_equal(db_col_text(s, 0), "9223372036854775807");
	db_finalize(s);
	db_release(c);
}

static void test_large_values(void **state)
{
	struct fx *f = *state;
	size_t tlen = 200000, blen = 3 << 20;
	char *text = malloc(tlen + 1);
	unsigned char *blob = malloc(blen);
	struct db_conn *c;
	struct db_stmt *s;
	char ddl[160];
	size_t len;

	assert_non_null(text);
	assert_non_null(blob);
	for (size_t i = 0; i < tlen; i++)
		text[i] = (char)('a' + i % 26);
	text[tlen] = '\0';
	for (size_t i = 0; i < blen; i++)
		blob[i] = (unsigned char)((i * 2654435761u) >> 13); /* zeros included */
	c = fx_acquire(f);
	snprintf(ddl, sizeof(ddl), "DROP TABLE IF EXISTS t_large; CREATE TABLE t_large (t TEXT, b %s)",
		 f->blob_type);
	fx_exec(c, ddl);
	s = fx_prepare(c, "INSERT INTO t_large (t, b) VALUES ($1, $2)");
	db_bind_text(s, 1, text, tlen);
	db_bind_blob(s, 2, blob, blen);
	assert_int_equal(fx_step(s), 0);
	db_finalize(s);
	s = fx_prepare(c, "SELECT t, b FROM t_large");
	assert_int_equal(fx_step(s), 1);
	assert_string_equal(db_col_text(s, 0), text);
	const void *got = db_col_blob(s, 1, &len);
	assert_int_equal(len, blen);
	assert_memory_equal(got, blob, blen);
	db_finalize(s);
	db_release(c);
	free(text);
	free(blob);
}

static void test_placeholders(void **state)
{
	struct fx *f = *state;
	struct db_conn *c;
	struct db_stmt *s;
	struct err e = ERR_INIT;

	c = fx_acquire(f);
	fx_exec(c, "DROP TABLE IF EXISTS t_ph; CREATE TABLE t_ph (a BIGINT, b BIGINT, c BIGINT)");
	/* Reused and out of order: $2 … $1 … $2. */
	s = fx_prepare(c, "INSERT INTO t_ph (a, b, c) VALUES ($2, $1, $2)");
	db_bind_int(s, 1, 10);
	db_bind_int(s, 2, 20);
	assert_int_equal(fx_step(s), 0);
	db_finalize(s);
	s = fx_prepare(c, "SELECT a, b, c FROM t_ph WHERE a = $1 AND c = $1 AND b < $1");
	db_bind_int(s, 1, 20);
	assert_int_equal(fx_step(s), 1);
	assert_int_equal(db_col_int(s, 0), 20);
	assert_int_equal(db_col_int(s, 1), 10);
	assert_int_equal(db_col_int(s, 2), 20);
	assert_int_equal(fx_step(s), 0);
	db_finalize(s);

	/* '$1' in a literal, a quoted identifier and comments is left alone. */
	s = fx_prepare(c, "SELECT '$1' AS \"$2\", a /* $3 */ FROM t_ph -- $4\n WHERE b = $1");
	db_bind_int(s, 1, 10);
	assert_int_equal(fx_step(s), 1);
	assert_string_equal(db_col_text(s, 0), "$1");
	assert_string_equal(db_col_name(s, 0), "$2");
	assert_int_equal(db_col_int(s, 1), 20);
	/* There is no $2 to bind: the error surfaces at the next step, once. */
	assert_int_equal(db_bind_int(s, 2, 1), -1);
	assert_int_equal(db_step(s, &e), -1);
	assert_non_null(strstr(e.msg, "$2"));
	assert_int_equal(fx_step(s), 1); /* bindings kept, statement restarted */
	db_finalize(s);

	/* Binding a statement that has run starts it over (same on both backends). */
	s = fx_prepare(c, "SELECT b FROM t_ph WHERE a = $1");
	db_bind_int(s, 1, 20);
	assert_int_equal(fx_step(s), 1);
	db_bind_int(s, 1, 99);
	assert_int_equal(fx_step(s), 0);
	db_finalize(s);

	/* $0 is refused at prepare. */
	assert_null(db_prepare(c, "SELECT $0", &e));
	assert_int_equal(e.code, ERR_INVALID);
	db_release(c);
}

static void test_metacharacters_verbatim(void **state)
{
	struct fx *f = *state;
	const char *evil[] = {
		"'; DROP TABLE kv; --", "Robert'); DROP TABLE students;--", "$1", "?1", ":name", "@p",
		"\"quoted\"", "''", "\\'\\\"\\\\", "%s%n%x", "$$ dollar $$", "$tag$", "/* c */", "-- c",
		"line1\nline2\r\n\ttab", "\x01\x1f\x7f", "\xc3\xbc\xe2\x82\xac\xf0\x9d\x84\x9e\xf0\x9f\x8e\xb5",
		"E'\\x00'", "\\x00ff", " leading and trailing ",
	};
	const size_t n = sizeof(evil) / sizeof(evil[0]);
	struct db_conn *c;
	struct db_stmt *ins, *get;
	struct err e = ERR_INIT;

	fx_migrate(f);
	c = fx_acquire(f);
	fx_exec(c, "DELETE FROM kv");
	ins = fx_prepare(c, "INSERT INTO kv (key, value, updated_at) VALUES ($1, $2, $3)");
	get = fx_prepare(c, "SELECT value FROM kv WHERE key = $1");
	for (size_t i = 0; i < n; i++) {
		char value[128];

		snprintf(value, sizeof(value), "v:%s", evil[i]);
		db_reset(ins);
		db_bind_str(ins, 1, evil[i]);
		db_bind_str(ins, 2, value);
		db_bind_int(ins, 3, (int64_t)i);
		assert_int_equal(fx_step(ins), 0);
		db_reset(get);
		db_bind_str(get, 1, evil[i]);
		assert_int_equal(fx_step(get), 1);
		assert_string_equal(db_col_text(get, 0), value);
		assert_int_equal(fx_step(get), 0);
	}
	db_finalize(get);
	assert_int_equal(fx_int(c, "SELECT count(*) FROM kv"), (int64_t)n);

	/* Text that is not UTF-8, or holds a NUL, is refused: that is what blobs are for. */
	db_reset(ins);
	db_bind_str(ins, 1, "bad-utf8");
	assert_int_equal(db_bind_text(ins, 2, "\xff\xfe", 2), -1);
	assert_int_equal(db_step(ins, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	err_clear(&e);
	assert_int_equal(db_bind_text(ins, 2, "a\0b", 3), -1);
	assert_int_equal(db_step(ins, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	db_finalize(ins);
	db_release(c);
}

/* ---- errors ---- */

static void test_constraint_errors(void **state)
{
	struct fx *f = *state;
	struct err e = ERR_INIT;
	struct db_conn *c;
	struct db_stmt *s;

	fx_migrate(f);
	c = fx_acquire(f);
	fx_exec(c, "DELETE FROM kv");
	s = fx_prepare(c, "INSERT INTO kv (key, value, updated_at) VALUES ($1, 'x', 0)");
	db_bind_str(s, 1, "secret-value-1234");
	assert_int_equal(fx_step(s), 0);
	db_reset(s);
	assert_int_equal(db_step(s, &e), -1);
	assert_int_equal(e.code, ERR_CONFLICT);
	/* The message names the constraint, never the row's values. */
	assert_null(strstr(e.msg, "secret-value-1234"));
	/* The statement is usable again. */
	db_bind_str(s, 1, "another");
	assert_int_equal(fx_step(s), 0);
	db_finalize(s);

	fx_exec(c, "DROP TABLE IF EXISTS t_child; DROP TABLE IF EXISTS t_parent;"
		   "CREATE TABLE t_parent (id INTEGER PRIMARY KEY);"
		   "CREATE TABLE t_child (id INTEGER PRIMARY KEY, parent INTEGER NOT NULL REFERENCES t_parent (id));"
		   "INSERT INTO t_parent (id) VALUES (1)");
	s = fx_prepare(c, "INSERT INTO t_child (id, parent) VALUES ($1, $2)");
	db_bind_int(s, 1, 1);
	db_bind_int(s, 2, 1);
	assert_int_equal(fx_step(s), 0);
	db_bind_int(s, 1, 2);
	db_bind_int(s, 2, 99);
	err_clear(&e);
	assert_int_equal(db_step(s, &e), -1);
	assert_int_equal(e.code, ERR_CONFLICT);
	db_bind_null(s, 2);
	err_clear(&e);
	assert_int_equal(db_step(s, &e), -1);
	assert_int_equal(e.code, ERR_INVALID); /* NOT NULL */
	db_finalize(s);

	/* SQL errors are ERR_INTERNAL, reported at prepare. */
	err_clear(&e);
	assert_null(db_prepare(c, "SELEC 1", &e));
	assert_int_equal(e.code, ERR_INTERNAL);
	err_clear(&e);
	assert_null(db_prepare(c, "SELECT * FROM no_such_table", &e));
	assert_int_equal(e.code, ERR_INTERNAL);
	err_clear(&e);
	assert_int_equal(db_exec(c, "CREATE TABLE", &e), -1);
	assert_int_equal(e.code, ERR_INTERNAL);
	db_release(c);
}

static void test_changes(void **state)
{
	struct fx *f = *state;
	struct db_conn *c = fx_acquire(f);
	struct db_stmt *s;

	fx_exec(c, "DROP TABLE IF EXISTS t_ch; CREATE TABLE t_ch (id INTEGER PRIMARY KEY, n BIGINT)");
	s = fx_prepare(c, "INSERT INTO t_ch (id, n) VALUES ($1, 0)");
	for (int i = 1; i <= 3; i++) {
		db_bind_int(s, 1, i);
		assert_int_equal(fx_step(s), 0);
		assert_int_equal(db_changes(s), 1);
	}
	db_finalize(s);
	s = fx_prepare(c, "UPDATE t_ch SET n = n + 1 WHERE id <= $1");
	db_bind_int(s, 1, 3);
	assert_int_equal(fx_step(s), 0);
	assert_int_equal(db_changes(s), 3);
	db_bind_int(s, 1, 0);
	assert_int_equal(fx_step(s), 0);
	assert_int_equal(db_changes(s), 0);
	db_finalize(s);
	s = fx_prepare(c, "SELECT id FROM t_ch");
	while (fx_step(s) == 1)
		;
	assert_int_equal(db_changes(s), 0);
	db_finalize(s);
	s = fx_prepare(c, "INSERT INTO t_ch (id, n) VALUES ($1, 7) RETURNING id, n");
	db_bind_int(s, 1, 10);
	assert_int_equal(fx_step(s), 1);
	assert_int_equal(db_col_int(s, 0), 10);
	assert_int_equal(db_col_int(s, 1), 7);
	assert_int_equal(fx_step(s), 0);
	assert_int_equal(db_changes(s), 1);
	db_finalize(s);
	s = fx_prepare(c, "DELETE FROM t_ch");
	assert_int_equal(fx_step(s), 0);
	assert_int_equal(db_changes(s), 4);
	db_finalize(s);
	db_release(c);
}

static void test_statement_reuse(void **state)
{
	struct fx *f = *state;
	struct db_conn *c = fx_acquire(f);
	struct db_stmt *ins, *get, *outer, *inner;
	int outer_rows = 0;

	fx_exec(c, "DROP TABLE IF EXISTS t_reuse; CREATE TABLE t_reuse (id INTEGER PRIMARY KEY, v TEXT)");
	ins = fx_prepare(c, "INSERT INTO t_reuse (id, v) VALUES ($1, $2)");
	for (int i = 0; i < 200; i++) {
		char v[16];
		snprintf(v, sizeof(v), "v%d", i);
		db_reset(ins);
		db_bind_int(ins, 1, i);
		db_bind_str(ins, 2, v);
		assert_int_equal(fx_step(ins), 0);
	}
	db_finalize(ins);
	/* Prepared again and again: the cache hands back a working statement each time. */
	for (int i = 0; i < 1000; i++) {
		char v[16];
		get = fx_prepare(c, "SELECT v FROM t_reuse WHERE id = $1");
		db_bind_int(get, 1, i % 200);
		assert_int_equal(fx_step(get), 1);
		snprintf(v, sizeof(v), "v%d", i % 200);
		assert_string_equal(db_col_text(get, 0), v);
		db_finalize(get);
	}
	/* The same SQL open twice at once (a nested loop) runs as two statements. */
	outer = fx_prepare(c, "SELECT id FROM t_reuse WHERE id < 5 ORDER BY id");
	while (fx_step(outer) == 1) {
		int inner_rows = 0;
		assert_int_equal(db_col_int(outer, 0), outer_rows);
		inner = fx_prepare(c, "SELECT id FROM t_reuse WHERE id < 5 ORDER BY id");
		while (fx_step(inner) == 1)
			inner_rows++;
		assert_int_equal(inner_rows, 5);
		db_finalize(inner);
		outer_rows++;
	}
	assert_int_equal(outer_rows, 5);
	db_finalize(outer);

	/* More distinct statements than a connection caches: old ones are evicted (on
	 * PostgreSQL also DEALLOCATEd) and come back when used again. */
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 300; i++) {
			char sql[64];
			snprintf(sql, sizeof(sql), "SELECT %d + CAST($1 AS BIGINT)", i);
			struct db_stmt *s = fx_prepare(c, sql);
			db_bind_int(s, 1, 1000);
			assert_int_equal(fx_step(s), 1);
			assert_int_equal(db_col_int(s, 0), i + 1000);
			db_finalize(s);
		}
	}
	if (f->pg)
		assert_true(fx_int(c, "SELECT count(*) FROM pg_prepared_statements") <= 130);
	db_release(c);
}

#include "contract/db_contract_tx.c"

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migrate_from_empty),
		cmocka_unit_test(test_migrate_idempotent),
		cmocka_unit_test(test_migrate_edited_refused),
		cmocka_unit_test(test_migrate_newer_database_refused),
		cmocka_unit_test(test_migrate_failed_step_is_atomic),
		cmocka_unit_test(test_types_round_trip),
		cmocka_unit_test(test_large_values),
		cmocka_unit_test(test_placeholders),
		cmocka_unit_test(test_metacharacters_verbatim),
		cmocka_unit_test(test_constraint_errors),
		cmocka_unit_test(test_changes),
		cmocka_unit_test(test_statement_reuse),
		cmocka_unit_test(test_transactions),
		cmocka_unit_test(test_savepoints),
		cmocka_unit_test(test_release_rolls_back),
		cmocka_unit_test(test_concurrent_writers),
		cmocka_unit_test(test_read_transaction),
		cmocka_unit_test(test_lock_wait_times_out),
		cmocka_unit_test(test_ping),
		cmocka_unit_test(test_pg_pool_wait),
		cmocka_unit_test(test_pg_restart),
	};
	int failed = 0;

	enum log_level level = LOG_WARN;
	if (getenv("TA_TEST_LOG"))
		log_level_parse(getenv("TA_TEST_LOG"), &level);
	log_setup(level, 2);
	failed += cmocka_run_group_tests_name("db contract: sqlite", tests, fx_setup_sqlite, fx_teardown);
	if (getenv("TA_TEST_PG") && *getenv("TA_TEST_PG"))
		failed += cmocka_run_group_tests_name("db contract: postgres", tests, fx_setup_pg, fx_teardown);
	else
		printf("SKIPPED postgres: TA_TEST_PG not set (start one with tests/lib/pg.sh start DIR)\n");
	return failed;
}
