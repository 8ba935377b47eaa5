/* read.c — reading the job table for status views (see jobs.h). */
#include <stdio.h>
#include <string.h>

#include "db/db.h"
#include "jobs/internal.h"
#include "base/utf8.h"

#define INFO_COLS "id, kind, subject, state, attempts, max_attempts, progress, step, error, lease_owner, " \
		  "run_after, lease_expires, created_at, updated_at"

static void read_info(struct db_stmt *s, struct jobs_info *o)
{
	memset(o, 0, sizeof(*o));
	utf8_copy(o->id, sizeof(o->id), db_col_text(s, 0));
	utf8_copy(o->kind, sizeof(o->kind), db_col_text(s, 1));
	utf8_copy(o->subject, sizeof(o->subject), db_col_text(s, 2));
	utf8_copy(o->state, sizeof(o->state), db_col_text(s, 3));
	o->attempts = (int)db_col_int(s, 4);
	o->max_attempts = (int)db_col_int(s, 5);
	o->progress = db_col_double(s, 6);
	utf8_copy(o->step, sizeof(o->step), db_col_text(s, 7));
	utf8_copy(o->error, sizeof(o->error), db_col_text(s, 8));
	utf8_copy(o->lease_owner, sizeof(o->lease_owner), db_col_text(s, 9));
	o->run_after = db_col_int(s, 10);
	o->lease_expires = db_col_int(s, 11);
	o->created_at = db_col_int(s, 12);
	o->updated_at = db_col_int(s, 13);
}

/* Run a one-row query with text bindings; 1 and *out, 0 none, -1 error. */
static int one(struct jobs *q, const char *sql, const char *a, const char *b, struct jobs_info *out, struct err *e)
{
	struct db_conn *c;
	struct db_stmt *s;
	int rc = -1;

	c = db_acquire(q->db, e);
	if (!c)
		return -1;
	s = db_prepare(c, sql, e);
	if (s) {
		db_bind_str(s, 1, a);
		if (b)
			db_bind_str(s, 2, b);
		rc = db_step(s, e);
		if (rc == 1)
			read_info(s, out);
	}
	db_finalize(s);
	db_release(c);
	return rc;
}

int jobs_get(struct jobs *q, const char *id, struct jobs_info *out, struct err *e)
{
	int rc;

	if (!id || !*id)
		return err_set(e, ERR_INVALID, "jobs: no id");
	rc = one(q, "SELECT " INFO_COLS " FROM jobs WHERE id = $1", id, NULL, out, e);
	if (rc == 0)
		return err_set(e, ERR_NOT_FOUND, "no such job");
	return rc < 0 ? -1 : 0;
}

int jobs_latest(struct jobs *q, const char *kind, const char *subject, struct jobs_info *out, struct err *e)
{
	if (!subject || !*subject)
		return err_set(e, ERR_INVALID, "jobs: no subject");
	if (kind)
		return one(q, "SELECT " INFO_COLS " FROM jobs WHERE subject = $1 AND kind = $2 ORDER BY id DESC LIMIT 1",
			   subject, kind, out, e);
	return one(q, "SELECT " INFO_COLS " FROM jobs WHERE subject = $1 ORDER BY id DESC LIMIT 1", subject, NULL, out,
		   e);
}

static bool state_valid(const char *s)
{
	return strcmp(s, "queued") == 0 || strcmp(s, "running") == 0 || strcmp(s, "done") == 0 ||
	       strcmp(s, "failed") == 0;
}

int jobs_list(struct jobs *q, const char *state, const char *kind, const char *before, int limit,
	      int (*fn)(const struct jobs_info *info, void *ud), void *ud, struct err *e)
{
	struct db_conn *c;
	struct db_stmt *s;
	struct jobs_info info;
	int rc, n = 0;

	if (state && !state_valid(state))
		return err_set(e, ERR_INVALID, "unknown job state '%.32s' (queued, running, done, failed)", state);
	if (limit < 1 || limit > 1000)
		return err_set(e, ERR_INVALID, "limit must be 1-1000");
	c = db_acquire(q->db, e);
	if (!c)
		return -1;
	/* NULL filters match everything, so one statement serves every combination. */
	s = db_prepare(c,
		       "SELECT " INFO_COLS " FROM jobs WHERE (CAST($1 AS TEXT) IS NULL OR state = $1) "
		       "AND (CAST($2 AS TEXT) IS NULL OR kind = $2) "
		       "AND (CAST($3 AS TEXT) IS NULL OR id < $3) ORDER BY id DESC LIMIT $4",
		       e);
	if (!s) {
		n = -1;
		goto out;
	}
	db_bind_str(s, 1, state);
	db_bind_str(s, 2, kind);
	db_bind_str(s, 3, before && *before ? before : NULL);
	db_bind_int(s, 4, limit);
	while ((rc = db_step(s, e)) == 1) {
		read_info(s, &info);
		n++;
		if (fn(&info, ud) != 0)
			break;
	}
	if (rc < 0)
		n = -1;
out:
	db_finalize(s);
	db_release(c);
	return n;
}

int jobs_count(struct jobs *q, struct jobs_counts *out, struct err *e)
{
	struct db_conn *c;
	struct db_stmt *s;
	int rc, ret = -1;

	memset(out, 0, sizeof(*out));
	c = db_acquire(q->db, e);
	if (!c)
		return -1;
	s = db_prepare(c, "SELECT state, count(*) FROM jobs GROUP BY state", e);
	if (!s)
		goto out;
	while ((rc = db_step(s, e)) == 1) {
		const char *st = db_col_text(s, 0);
		int64_t v = db_col_int(s, 1);

		if (!st)
			continue;
		if (strcmp(st, "queued") == 0)
			out->queued = v;
		else if (strcmp(st, "running") == 0)
			out->running = v;
		else if (strcmp(st, "done") == 0)
			out->done = v;
		else if (strcmp(st, "failed") == 0)
			out->failed = v;
	}
	if (rc == 0)
		ret = 0;
out:
	db_finalize(s);
	db_release(c);
	return ret;
}
