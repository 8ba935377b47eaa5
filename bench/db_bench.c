/* db_bench — the database port's throughput on one backend: 50,000 single-row inserts in
 * batches of 1,000 per transaction, then 100,000 point reads by primary key, through the same
 * db_* calls the service uses (prepared statements, bound parameters).
 *
 *   db_bench sqlite:///tmp/x.db     db_bench postgres://postgres@127.0.0.1:5432/postgres
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/db.h"

#define INSERTS 50000
#define BATCH 1000
#define READS 100000

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(const char *what, const struct err *e)
{
	fprintf(stderr, "db_bench: %s: %s\n", what, e->msg);
	return 1;
}

int main(int argc, char **argv)
{
	struct db_options opt = { .pool_size = 2, .busy_timeout_ms = 5000 };
	struct err e = ERR_INIT;
	struct db *db;
	struct db_conn *c;
	struct db_stmt *s;
	char val[64];
	double t0, t_ins, t_read;
	unsigned seed = 1;
	long found = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: db_bench DB_URL\n");
		return 2;
	}
	db = db_open(argv[1], &opt, &e);
	if (!db)
		return fail("open", &e);
	c = db_acquire(db, &e);
	if (!c)
		return fail("acquire", &e);
	db_exec(c, "DROP TABLE IF EXISTS bench_rows", &e);
	if (db_exec(c, "CREATE TABLE bench_rows (id BIGINT PRIMARY KEY, name TEXT NOT NULL, n BIGINT NOT NULL)", &e) < 0)
		return fail("create", &e);

	t0 = now_s();
	for (int b = 0; b < INSERTS / BATCH; b++) {
		if (db_begin(c, &e) < 0)
			return fail("begin", &e);
		s = db_prepare(c, "INSERT INTO bench_rows (id, name, n) VALUES ($1, $2, $3)", &e);
		if (!s)
			return fail("prepare insert", &e);
		for (int i = 0; i < BATCH; i++) {
			int64_t id = (int64_t)b * BATCH + i;

			snprintf(val, sizeof(val), "row-%lld", (long long)id);
			db_reset(s);
			db_bind_int(s, 1, id);
			db_bind_text(s, 2, val, strlen(val));
			db_bind_int(s, 3, id * 7);
			if (db_step(s, &e) < 0)
				return fail("insert", &e);
		}
		db_finalize(s);
		if (db_commit(c, &e) < 0)
			return fail("commit", &e);
	}
	t_ins = now_s() - t0;

	s = db_prepare(c, "SELECT name, n FROM bench_rows WHERE id = $1", &e);
	if (!s)
		return fail("prepare select", &e);
	t0 = now_s();
	for (int i = 0; i < READS; i++) {
		seed = seed * 1103515245u + 12345u;
		db_reset(s);
		db_bind_int(s, 1, (int64_t)(seed % INSERTS));
		int r = db_step(s, &e);
		if (r < 0)
			return fail("select", &e);
		found += r == 1 && db_col_int(s, 1) >= 0;
	}
	t_read = now_s() - t0;
	db_finalize(s);
	if (found != READS) {
		fprintf(stderr, "db_bench: %ld of %d reads found their row\n", found, READS);
		return 1;
	}
	db_exec(c, "DROP TABLE bench_rows", &e);
	db_release(c);
	printf("%-9s inserts %9.0f rows/s (%.2f s)   point reads %9.0f rows/s (%.2f s)\n", db_backend_name(db),
	       INSERTS / t_ins, t_ins, READS / t_read, t_read);
	db_close(db);
	return 0;
}
