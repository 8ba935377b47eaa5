/* migrate.c — applying the embedded schema migrations (see migrate.h).
 *
 * All pending steps run in one transaction together with their schema_migrations rows, so a
 * crash or a failing step leaves the database where it was. The record is checked against the
 * embedded files inside that transaction, under the lock, so another node that moved the schema
 * on just before is seen.
 */
#include "db/migrate.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "base/log.h"
#include "db/db.h"

/* pg_advisory_xact_lock key: "tonearm" in ASCII, so it is recognisable in pg_locks. */
#define MIGRATE_LOCK_KEY INT64_C(0x746f6e6561726d)

static const char create_table_sql[] =
	"CREATE TABLE IF NOT EXISTS schema_migrations ("
	" version INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL,"
	" checksum TEXT NOT NULL,"
	" applied_at BIGINT NOT NULL)";

struct applied {
	int version;
	char name[128];
	char checksum[65];
	int64_t applied_at;
};

struct record {
	struct applied *rows;
	size_t n;
};

static void record_release(struct record *r)
{
	free(r->rows);
	r->rows = NULL;
	r->n = 0;
}

static int sha256_hex(const char *sql, char out[65], struct err *e)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	static const char hex[] = "0123456789abcdef";

	if (!EVP_Digest(sql, strlen(sql), md, &len, EVP_sha256(), NULL) || len != 32)
		return err_set(e, ERR_INTERNAL, "migrate: SHA-256 failed");
	for (unsigned i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
	return 0;
}

/* The steps of `backend` from `all`, in order; checks the versions strictly increase. */
static int steps_for(const struct db_migration *all, const char *backend,
		     const struct db_migration ***out, size_t *n, struct err *e)
{
	const struct db_migration **list = NULL;
	size_t count = 0, k = 0;

	for (const struct db_migration *m = all; m->backend; m++)
		if (strcmp(m->backend, backend) == 0)
			count++;
	if (count && !(list = calloc(count, sizeof(*list))))
		return err_set(e, ERR_NOMEM, "migrate: out of memory");
	for (const struct db_migration *m = all; m->backend; m++) {
		if (strcmp(m->backend, backend) != 0)
			continue;
		if (k > 0 && m->version <= list[k - 1]->version) {
			err_set(e, ERR_INTERNAL, "migrate: %s/%04d_%s.sql: version %d is not above %d",
				backend, m->version, m->name, m->version, list[k - 1]->version);
			free(list);
			return -1;
		}
		list[k++] = m;
	}
	*out = list;
	*n = count;
	return 0;
}

static int read_record(struct db_conn *c, struct record *r, struct err *e)
{
	struct db_stmt *s = db_prepare(c, "SELECT version, name, checksum, applied_at "
				       "FROM schema_migrations ORDER BY version", e);
	size_t cap = 0;
	int rc, ret = -1;

	if (!s)
		return -1;
	while ((rc = db_step(s, e)) == 1) {
		if (r->n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct applied *grown = realloc(r->rows, ncap * sizeof(*grown));
			if (!grown) {
				err_set(e, ERR_NOMEM, "migrate: out of memory");
				goto out;
			}
			r->rows = grown;
			cap = ncap;
		}
		struct applied *a = &r->rows[r->n++];
		const char *name = db_col_text(s, 1), *sum = db_col_text(s, 2);
		a->version = (int)db_col_int(s, 0);
		snprintf(a->name, sizeof(a->name), "%s", name ? name : "");
		snprintf(a->checksum, sizeof(a->checksum), "%s", sum ? sum : "");
		a->applied_at = db_col_int(s, 3);
	}
	if (rc == 0)
		ret = 0;
out:
	db_finalize(s);
	return ret;
}

static const struct applied *find_applied(const struct record *r, int version)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->rows[i].version == version)
			return &r->rows[i];
	return NULL;
}

static const struct db_migration *find_step(const struct db_migration **steps, size_t n, int version)
{
	for (size_t i = 0; i < n; i++)
		if (steps[i]->version == version)
			return steps[i];
	return NULL;
}

/* Check the record against the files; *next gets the first pending step, or NULL. */
static int check_record(const char *backend, const struct db_migration **steps, size_t n,
			const struct record *r, const struct db_migration **next, struct err *e)
{
	int max_applied = 0;
	char sum[65];

	*next = NULL;
	for (size_t i = 0; i < r->n; i++) {
		const struct applied *a = &r->rows[i];
		const struct db_migration *m = find_step(steps, n, a->version);

		if (!m)
			return err_set(e, ERR_UNSUPPORTED,
				       "migrate: the database has schema version %d (%s), which this binary "
				       "does not know (it knows up to %d): run a newer tonearm",
				       a->version, a->name, n ? steps[n - 1]->version : 0);
		if (sha256_hex(m->sql, sum, e) < 0)
			return -1;
		if (strcmp(sum, a->checksum) != 0)
			return err_set(e, ERR_CONFLICT,
				       "migrate: migration %04d (%s/%04d_%s.sql) was changed after it was "
				       "applied (recorded sha256 %.12s…, file %.12s…): add a new step instead",
				       m->version, backend, m->version, m->name, a->checksum, sum);
		if (a->version > max_applied)
			max_applied = a->version;
	}
	for (size_t i = 0; i < n; i++) {
		if (find_applied(r, steps[i]->version))
			continue;
		if (steps[i]->version < max_applied)
			return err_set(e, ERR_CONFLICT,
				       "migrate: migration %04d (%s/%04d_%s.sql) is pending, but the later "
				       "version %d is already applied",
				       steps[i]->version, backend, steps[i]->version, steps[i]->name, max_applied);
		*next = steps[i];
		return 0;
	}
	return 0;
}

/* Apply step `m` and record it, inside the caller's transaction. */
static int apply_step(struct db_conn *c, const char *backend, const struct db_migration *m, struct err *e)
{
	struct db_stmt *s = NULL;
	struct timespec now;
	char sum[65];
	int ret = -1;

	if (db_exec(c, m->sql, e) < 0) {
		err_wrap(e, "migrate: %s/%04d_%s.sql", backend, m->version, m->name);
		goto out;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	if (sha256_hex(m->sql, sum, e) < 0)
		goto out;
	s = db_prepare(c, "INSERT INTO schema_migrations (version, name, checksum, applied_at) "
		       "VALUES ($1, $2, $3, $4)", e);
	if (!s || db_bind_int(s, 1, m->version) < 0 || db_bind_str(s, 2, m->name) < 0 ||
	    db_bind_str(s, 3, sum) < 0 ||
	    db_bind_int(s, 4, (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000) < 0 ||
	    db_step(s, e) != 0)
		goto out;
	ret = 0;
out:
	db_finalize(s);
	return ret;
}

/* One transaction: lock, check the record against the files, apply every pending step in
 * order, each with its record row, commit. One commit instead of one per step: a first start
 * applies every step, and each commit costs a WAL append (and on PostgreSQL a flush and a round
 * trip). A crash or a failing step rolls the whole batch back, so the database is still at a
 * step boundary (the one it started from). */
static int migrate_pending(struct db_conn *c, const char *backend, const struct db_migration **steps,
			   size_t n, struct err *e)
{
	struct record r = { 0 };
	const struct db_migration *m = NULL;
	struct db_stmt *s = NULL;
	size_t applied = 0;
	int ret = -1;

	if (db_begin(c, e) < 0)
		goto out;
	if (strcmp(backend, "postgres") == 0) {
		/* Another node may be migrating: wait for it longer than for a row lock. */
		if (db_exec(c, "SET LOCAL lock_timeout = '300s'", e) < 0)
			goto out;
		s = db_prepare(c, "SELECT pg_advisory_xact_lock($1)", e);
		if (!s || db_bind_int(s, 1, MIGRATE_LOCK_KEY) < 0 || db_step(s, e) != 1)
			goto out;
		db_finalize(s);
		s = NULL;
	}
	if (db_exec(c, create_table_sql, e) < 0 || read_record(c, &r, e) < 0)
		goto out;
	if (check_record(backend, steps, n, &r, &m, e) < 0)
		goto out;
	if (!m) {
		ret = 0;
		goto out;
	}
	/* check_record() found the first pending step and made sure nothing after it is applied
	 * (no gap is left behind), so every step from there on is pending. */
	for (size_t i = 0; i < n; i++) {
		if (steps[i]->version < m->version)
			continue;
		if (apply_step(c, backend, steps[i], e) < 0)
			goto out;
		applied++;
	}
	if (db_commit(c, e) < 0) {
		err_wrap(e, "migrate: applying %zu steps from %s/%04d_%s.sql", applied, backend, m->version, m->name);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (steps[i]->version >= m->version)
			log_kv(LOG_INFO, NULL, "applied migration",
			       LOG_FIELDS(LOG_STR("backend", backend), LOG_INT("version", steps[i]->version),
					  LOG_STR("name", steps[i]->name)));
	ret = 0;
out:
	db_finalize(s);
	if (db_in_transaction(c)) {
		struct err ignored = ERR_INIT;
		db_rollback(c, &ignored);
	}
	record_release(&r);
	return ret;
}

int db_migrate_steps(struct db *db, const struct db_migration *all, struct err *e)
{
	const char *backend = db_backend_name(db);
	const struct db_migration **steps = NULL;
	struct db_conn *c = NULL;
	size_t n = 0;
	int ret = -1;

	if (steps_for(all, backend, &steps, &n, e) < 0)
		return -1;
	c = db_acquire(db, e);
	if (!c)
		goto out;
	if (migrate_pending(c, backend, steps, n, e) < 0)
		goto out;
	/* Applying steps left their pages in this connection's cache (a fresh database: ~0.5 MiB
	 * that an idle server would otherwise keep resident); the next reads bring back what they
	 * need. */
	if (strcmp(backend, "sqlite") == 0)
		(void)db_exec(c, "PRAGMA shrink_memory", NULL);
	ret = 0;
out:
	db_release(c);
	free(steps);
	return ret;
}

int db_migrate(struct db *db, struct err *e)
{
	return db_migrate_steps(db, db_migrations, e);
}

static int table_exists(struct db_conn *c, const char *backend, bool *exists, struct err *e)
{
	const char *sql = strcmp(backend, "postgres") == 0
		? "SELECT count(*) FROM information_schema.tables "
		  "WHERE table_schema = current_schema() AND table_name = 'schema_migrations'"
		: "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'";
	struct db_stmt *s = db_prepare(c, sql, e);
	int ret = -1;

	if (s && db_step(s, e) == 1) {
		*exists = db_col_int(s, 0) > 0;
		ret = 0;
	}
	db_finalize(s);
	return ret;
}

static void format_time(int64_t ms, char *out, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, cap, "%lld ms", (long long)ms);
}

int db_migrate_status_steps(struct db *db, const struct db_migration *all, FILE *out,
			    struct err *e)
{
	const char *backend = db_backend_name(db);
	const struct db_migration **steps = NULL;
	struct record r = { 0 };
	struct db_conn *c = NULL;
	size_t n = 0, pending = 0;
	bool exists = false;
	int ret = -1, version = 0;
	char when[32], sum[65];

	if (steps_for(all, backend, &steps, &n, e) < 0)
		return -1;
	c = db_acquire(db, e);
	if (!c || table_exists(c, backend, &exists, e) < 0)
		goto out;
	if (exists && read_record(c, &r, e) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct applied *a = find_applied(&r, steps[i]->version);

		if (!a) {
			pending++;
			fprintf(out, "%04d  %-28s  pending\n", steps[i]->version, steps[i]->name);
			continue;
		}
		if (sha256_hex(steps[i]->sql, sum, e) < 0)
			goto out;
		format_time(a->applied_at, when, sizeof(when));
		fprintf(out, "%04d  %-28s  %s %s\n", steps[i]->version, steps[i]->name,
			strcmp(sum, a->checksum) == 0 ? "applied" : "CHANGED since applied", when);
	}
	for (size_t i = 0; i < r.n; i++) {
		if (r.rows[i].version > version)
			version = r.rows[i].version;
		if (find_step(steps, n, r.rows[i].version))
			continue;
		format_time(r.rows[i].applied_at, when, sizeof(when));
		fprintf(out, "%04d  %-28s  applied, unknown to this binary %s\n", r.rows[i].version,
			r.rows[i].name, when);
	}
	fprintf(out, "%s schema at version %d; %zu pending\n", backend, version, pending);
	ret = 0;
out:
	db_release(c);
	record_release(&r);
	free(steps);
	return ret;
}

int db_migrate_status(struct db *db, FILE *out, struct err *e)
{
	return db_migrate_status_steps(db, db_migrations, out, e);
}
