/* pg_stmt.c — PostgreSQL prepared statements: the per-connection cache, parameters,
 * running with the reconnect rule, and reading text-format results (see pg.h). */
#include "db/pg.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/sql.h"

#define PG_BOOLOID 16
#define PG_BYTEAOID 17
/* PostgreSQL refuses a field over 1 GB; refuse it before copying it. */
#define PG_VALUE_MAX ((size_t)1 << 30)

struct pg_param {
	char small[32];       /* ints, doubles and short text live here */
	char *heap;           /* longer values */
};

struct pg_stmt {
	struct db_stmt base;
	struct pg_conn *conn;
	struct pg_entry *entry;
	int nparams;
	struct pg_param *params;
	const char **values;  /* the libpq parameter arrays; values[i] NULL is SQL NULL */
	int *lengths;
	int *formats;
	PGresult *res;        /* the whole result of the last run, or NULL before a run */
	int row, nrows, ncols;
	bool done;
	unsigned char **blobs; /* decoded bytea of the current row, per column */
	size_t *blob_lens;
	int64_t changes;
};

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* ---- the statement cache ---- */

static void pg_entry_free(struct pg_entry *en)
{
	if (en) {
		free(en->sql);
		free(en);
	}
}

void pg_cache_free(struct pg_conn *c)
{
	for (unsigned i = 0; i < c->ncache; i++)
		pg_entry_free(c->cache[i]);
	free(c->cache);
	c->cache = NULL;
	c->ncache = c->cache_cap = 0;
}

static void pg_cache_remove(struct pg_conn *c, unsigned i)
{
	c->cache[i] = c->cache[--c->ncache];
}

/* Make room for one more entry: evict the least recently used one no statement holds,
 * forgetting it on the server too. When every entry is in use the cache grows instead. */
static int pg_cache_room(struct pg_conn *c, struct err *e)
{
	if (c->ncache >= PG_CACHE) {
		int victim = -1;

		for (unsigned i = 0; i < c->ncache; i++)
			if (c->cache[i]->refs == 0 && (victim < 0 || c->cache[i]->used < c->cache[victim]->used))
				victim = (int)i;
		if (victim >= 0) {
			struct pg_entry *en = c->cache[victim];
			if (en->gen == c->gen && PQstatus(c->pg) == CONNECTION_OK) {
				char sql[32];
				snprintf(sql, sizeof(sql), "DEALLOCATE %s", en->name);
				PQclear(PQexec(c->pg, sql));
			}
			pg_cache_remove(c, (unsigned)victim);
			pg_entry_free(en);
		}
	}
	if (c->ncache == c->cache_cap) {
		unsigned cap = c->cache_cap ? c->cache_cap * 2 : 16;
		struct pg_entry **grown = realloc(c->cache, cap * sizeof(*grown));
		if (!grown)
			return err_set(e, ERR_NOMEM, "postgres: out of memory");
		c->cache = grown;
		c->cache_cap = cap;
	}
	return 0;
}

/* Prepare `en` on the server unless this connection generation already has it. */
static int pg_entry_ready(struct pg_conn *c, struct pg_entry *en, struct err *e)
{
	for (int attempt = 0;; attempt++) {
		PGresult *res;
		bool was_idle;

		if (pg_conn_ready(c, e) < 0)
			return -1;
		if (en->gen == c->gen)
			return 0;
		was_idle = pg_conn_idle(c);
		res = PQprepare(c->pg, en->name, en->sql, 0, NULL);
		if (PQresultStatus(res) == PGRES_COMMAND_OK) {
			PQclear(res);
			en->gen = c->gen;
			return 0;
		}
		if (attempt == 0 && pg_should_retry(c, was_idle)) {
			PQclear(res);
			if (pg_conn_reconnect(c, e) < 0)
				return -1;
			continue;
		}
		pg_err(e, c, res, NULL);
		PQclear(res);
		return -1;
	}
}

/* ---- prepare, finalize, reset ---- */

struct db_stmt *pg_prepare(struct db_conn *base, const char *sql, struct err *e)
{
	struct pg_conn *c = (struct pg_conn *)base;
	uint64_t hash = fnv1a(sql);
	struct pg_entry *en = NULL;
	struct pg_stmt *s = NULL;
	bool fresh = false;
	size_t n;

	for (unsigned i = 0; i < c->ncache; i++) {
		if (c->cache[i]->hash == hash && strcmp(c->cache[i]->sql, sql) == 0) {
			en = c->cache[i];
			break;
		}
	}
	if (!en) {
		int max;

		if (db_sql_placeholders(sql, NULL, &max, e) < 0 || pg_cache_room(c, e) < 0)
			return NULL;
		en = calloc(1, sizeof(*en));
		if (!en || !(en->sql = strdup(sql))) {
			pg_entry_free(en);
			err_set(e, ERR_NOMEM, "postgres: out of memory");
			return NULL;
		}
		en->hash = hash;
		en->nparams = max;
		snprintf(en->name, sizeof(en->name), "ta_%u", ++c->next_name);
		c->cache[c->ncache++] = en;
		fresh = true;
	}
	/* Prepare now rather than at the first step, so a syntax error shows where the
	 * SQL is, as it does on SQLite. */
	if (pg_entry_ready(c, en, e) < 0)
		goto fail;
	s = calloc(1, sizeof(*s));
	n = (size_t)en->nparams;
	if (!s || (n && (!(s->params = calloc(n, sizeof(*s->params))) ||
			 !(s->values = calloc(n, sizeof(*s->values))) ||
			 !(s->lengths = calloc(n, sizeof(*s->lengths))) ||
			 !(s->formats = calloc(n, sizeof(*s->formats)))))) {
		err_set(e, ERR_NOMEM, "postgres: out of memory");
		goto fail;
	}
	s->conn = c;
	s->entry = en;
	s->nparams = en->nparams;
	s->row = -1;
	en->refs++;
	return &s->base;
fail:
	if (s) {
		free(s->params);
		free(s->values);
		free(s->lengths);
		free(s->formats);
		free(s);
	}
	if (fresh) {
		for (unsigned i = 0; i < c->ncache; i++) {
			if (c->cache[i] == en) {
				pg_cache_remove(c, i);
				break;
			}
		}
		pg_entry_free(en);
	}
	return NULL;
}

static void pg_blobs_clear(struct pg_stmt *s)
{
	if (!s->blobs)
		return;
	for (int i = 0; i < s->ncols; i++) {
		if (s->blobs[i]) {
			PQfreemem(s->blobs[i]);
			s->blobs[i] = NULL;
		}
	}
}

void pg_reset(struct db_stmt *base)
{
	struct pg_stmt *s = (struct pg_stmt *)base;

	pg_blobs_clear(s);
	free(s->blobs);
	free(s->blob_lens);
	s->blobs = NULL;
	s->blob_lens = NULL;
	PQclear(s->res);
	s->res = NULL;
	s->row = -1;
	s->nrows = s->ncols = 0;
	s->done = false;
}

void pg_finalize(struct db_stmt *base)
{
	struct pg_stmt *s = (struct pg_stmt *)base;

	pg_reset(base);
	for (int i = 0; i < s->nparams; i++)
		free(s->params[i].heap);
	s->entry->refs--;
	s->entry->used = ++s->conn->tick;
	free(s->params);
	free(s->values);
	free(s->lengths);
	free(s->formats);
	free(s);
}

/* ---- parameters ---- */

/* The slot for $idx, emptied; a statement already run goes back to its start first. */
static struct pg_param *pg_slot(struct pg_stmt *s, int idx)
{
	struct pg_param *p;

	if (idx < 1 || idx > s->nparams) {
		db_bind_fail(&s->base, ERR_INTERNAL, "parameter $%d out of range (the statement has %d)",
			     idx, s->nparams);
		return NULL;
	}
	if (s->res || s->done)
		pg_reset(&s->base);
	p = &s->params[idx - 1];
	free(p->heap);
	p->heap = NULL;
	s->values[idx - 1] = NULL;
	s->lengths[idx - 1] = 0;
	s->formats[idx - 1] = 0;
	return p;
}

/* Copy `len` bytes (plus a NUL, for text) into the slot and point the arrays at them. */
static int pg_set(struct pg_stmt *s, int idx, const void *v, size_t len, int format)
{
	struct pg_param *p = pg_slot(s, idx);
	char *dst;

	if (!p)
		return -1;
	if (len > PG_VALUE_MAX)
		return db_bind_fail(&s->base, ERR_TOO_LARGE, "parameter $%d: %zu bytes is over 1 GB", idx, len);
	if (len < sizeof(p->small)) {
		dst = p->small;
	} else {
		dst = p->heap = malloc(len + 1);
		if (!dst)
			return db_bind_fail(&s->base, ERR_NOMEM, "parameter $%d: out of memory", idx);
	}
	if (len)
		memcpy(dst, v, len);
	dst[len] = '\0';
	s->values[idx - 1] = dst;
	s->lengths[idx - 1] = (int)len;
	s->formats[idx - 1] = format;
	return 0;
}

int pg_bind_int(struct db_stmt *base, int idx, int64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRId64, v);

	return pg_set((struct pg_stmt *)base, idx, num, (size_t)n, 0);
}

int pg_bind_double(struct db_stmt *base, int idx, double v)
{
	char num[32];
	int n;

	/* 17 significant digits give back the same double; the specials as PostgreSQL spells them. */
	if (isnan(v))
		n = snprintf(num, sizeof(num), "NaN");
	else if (isinf(v))
		n = snprintf(num, sizeof(num), "%sInfinity", v < 0 ? "-" : "");
	else
		n = snprintf(num, sizeof(num), "%.17g", v);
	return pg_set((struct pg_stmt *)base, idx, num, (size_t)n, 0);
}

int pg_bind_text(struct db_stmt *base, int idx, const char *v, size_t len)
{
	return pg_set((struct pg_stmt *)base, idx, v, len, 0);
}

int pg_bind_blob(struct db_stmt *base, int idx, const void *v, size_t len)
{
	return pg_set((struct pg_stmt *)base, idx, v, len, 1);
}

int pg_bind_null(struct db_stmt *base, int idx)
{
	return pg_slot((struct pg_stmt *)base, idx) ? 0 : -1;
}

/* ---- running ---- */

static int64_t pg_count_changes(const PGresult *res)
{
	const char *cmd = PQcmdStatus((PGresult *)res);
	const char *n;

	if (strncmp(cmd, "INSERT", 6) != 0 && strncmp(cmd, "UPDATE", 6) != 0 &&
	    strncmp(cmd, "DELETE", 6) != 0 && strncmp(cmd, "MERGE", 5) != 0)
		return 0;
	n = PQcmdTuples((PGresult *)res);
	return *n ? strtoll(n, NULL, 10) : 0;
}

static int pg_run(struct pg_stmt *s, struct err *e)
{
	struct pg_conn *c = s->conn;
	struct pg_entry *en = s->entry;
	PGresult *res;

	for (int attempt = 0;; attempt++) {
		ExecStatusType st;
		bool was_idle;
		const char *state;

		if (pg_entry_ready(c, en, e) < 0)
			return -1;
		was_idle = pg_conn_idle(c);
		res = PQexecPrepared(c->pg, en->name, s->nparams, s->values, s->lengths, s->formats, 0);
		st = PQresultStatus(res);
		if (res && (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK))
			break;
		state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
		if (attempt == 0 && was_idle && state && strcmp(state, "26000") == 0) {
			/* Someone ran DEALLOCATE/DISCARD ALL: prepare it again. */
			PQclear(res);
			en->gen = 0;
			continue;
		}
		if (attempt == 0 && pg_should_retry(c, was_idle)) {
			PQclear(res);
			if (pg_conn_reconnect(c, e) < 0)
				return -1;
			continue;
		}
		pg_err(e, c, res, NULL);
		PQclear(res);
		return -1;
	}
	s->nrows = PQntuples(res);
	s->ncols = PQnfields(res);
	if (s->ncols > 0) {
		s->blobs = calloc((size_t)s->ncols, sizeof(*s->blobs));
		s->blob_lens = calloc((size_t)s->ncols, sizeof(*s->blob_lens));
		if (!s->blobs || !s->blob_lens) {
			PQclear(res);
			pg_reset(&s->base);
			return err_set(e, ERR_NOMEM, "postgres: out of memory");
		}
	}
	s->changes = pg_count_changes(res);
	s->res = res;
	s->row = -1;
	return 0;
}

int pg_step(struct db_stmt *base, struct err *e)
{
	struct pg_stmt *s = (struct pg_stmt *)base;

	if (s->done)
		return 0;
	if (!s->res && pg_run(s, e) < 0)
		return -1;
	pg_blobs_clear(s);
	if (++s->row < s->nrows)
		return 1;
	s->done = true;
	return 0;
}

int64_t pg_changes(struct db_stmt *base)
{
	return ((struct pg_stmt *)base)->changes;
}

/* ---- columns ---- */

static bool pg_col_ok(struct pg_stmt *s, int col)
{
	return s->res && s->row >= 0 && s->row < s->nrows && col >= 0 && col < s->ncols;
}

static const char *pg_val(struct pg_stmt *s, int col)
{
	if (!pg_col_ok(s, col) || PQgetisnull(s->res, s->row, col))
		return NULL;
	return PQgetvalue(s->res, s->row, col);
}

int pg_col_count(struct db_stmt *base)
{
	struct pg_stmt *s = (struct pg_stmt *)base;

	return s->res ? s->ncols : 0;
}

const char *pg_col_name(struct db_stmt *base, int col)
{
	struct pg_stmt *s = (struct pg_stmt *)base;

	return s->res && col >= 0 && col < s->ncols ? PQfname(s->res, col) : NULL;
}

bool pg_col_null(struct db_stmt *base, int col)
{
	return pg_val((struct pg_stmt *)base, col) == NULL;
}

int64_t pg_col_int(struct db_stmt *base, int col)
{
	struct pg_stmt *s = (struct pg_stmt *)base;
	const char *v = pg_val(s, col);
	char *end;
	long long n;
	double d;

	if (!v)
		return 0;
	if (PQftype(s->res, col) == PG_BOOLOID)
		return v[0] == 't';
	errno = 0;
	n = strtoll(v, &end, 10);
	if (end != v && *end == '\0')
		return n; /* out of range saturates, as SQLite does */
	/* numeric or float text: truncate toward zero, saturating. */
	d = strtod(v, &end);
	if (end == v || *end != '\0' || isnan(d))
		return 0;
	if (d >= 9223372036854775807.0)
		return INT64_MAX;
	if (d <= -9223372036854775808.0)
		return INT64_MIN;
	return (int64_t)d;
}

double pg_col_double(struct db_stmt *base, int col)
{
	struct pg_stmt *s = (struct pg_stmt *)base;
	const char *v = pg_val(s, col);
	char *end;
	double d;

	if (!v)
		return 0.0;
	if (PQftype(s->res, col) == PG_BOOLOID)
		return v[0] == 't' ? 1.0 : 0.0;
	d = strtod(v, &end);
	return end == v ? 0.0 : d;
}

const char *pg_col_text(struct db_stmt *base, int col)
{
	return pg_val((struct pg_stmt *)base, col);
}

const void *pg_col_blob(struct db_stmt *base, int col, size_t *len)
{
	struct pg_stmt *s = (struct pg_stmt *)base;
	const char *v = pg_val(s, col);

	*len = 0;
	if (!v)
		return NULL;
	if (PQftype(s->res, col) != PG_BYTEAOID) {
		*len = (size_t)PQgetlength(s->res, s->row, col);
		return v;
	}
	if (!s->blobs[col]) {
		s->blobs[col] = PQunescapeBytea((const unsigned char *)v, &s->blob_lens[col]);
		if (!s->blobs[col])
			return NULL; /* out of memory */
	}
	*len = s->blob_lens[col];
	return s->blobs[col];
}
