/* jobs.c (api) — job status endpoints (see api/jobs.h). */
#include "api/jobs.h"

#include <jansson.h>
#include <string.h>

#include "api/api.h"
#include "base/clock.h"
#include "catalog/catalog.h"
#include "http/http.h"
#include "jobs/jobs.h"

static json_t *time_json(int64_t ms)
{
	char t[CLOCK_RFC3339_LEN];

	if (ms <= 0 || clock_rfc3339(ms, t, sizeof(t)) < 0)
		return json_null();
	return json_string(t);
}

static json_t *str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

/* The job's state as a client of the track sees it: a failed attempt waiting for its retry
 * is still pending (with its error), only running out of attempts is failed. */
static const char *track_state(const char *job_state)
{
	if (strcmp(job_state, "running") == 0)
		return "processing";
	if (strcmp(job_state, "done") == 0)
		return "ready";
	if (strcmp(job_state, "failed") == 0)
		return "failed";
	return "pending";
}

void api_track_status(struct http_req *req, void *app)
{
	struct api *a = app;
	const char *id = http_req_param(req, "id");
	struct err e = ERR_INIT;
	struct jobs_info in;
	json_t *body;
	int rc;

	if (!a->jobs) {
		err_set(&e, ERR_UNAVAILABLE, "no job queue on this server");
		http_res_err(req, &e);
		return;
	}
	rc = jobs_latest(a->jobs, NULL, id, &in, &e);
	if (rc < 0) {
		http_res_err(req, &e);
		return;
	}
	if (rc == 0) {
		struct catalog_page *p = NULL;

		/* No job: only a known track is pending. */
		if (catalog_get(a->catalog, CATALOG_TRACKS, id, &p, &e) < 0) {
			http_res_err(req, &e);
			return;
		}
		catalog_page_free(p);
		body = json_pack("{s:s, s:s, s:f, s:n, s:i, s:n, s:n}", "track_id", id, "state", "pending", "progress",
				 0.0, "step", "attempts", 0, "error", "updated_at");
	} else {
		body = json_pack("{s:s, s:s, s:f, s:o, s:i, s:o, s:o}", "track_id", id, "state", track_state(in.state),
				 "progress", strcmp(in.state, "done") == 0 ? 1.0 : in.progress, "step",
				 str_or_null(in.step), "attempts", in.attempts, "error",
				 str_or_null(strcmp(in.state, "done") == 0 ? NULL : in.error), "updated_at",
				 time_json(in.updated_at));
	}
	if (!body) {
		err_set(&e, ERR_NOMEM, "out of memory");
		http_res_err(req, &e);
		return;
	}
	http_res_json(req, 200, body);
}

struct list_ctx {
	json_t *items;
	char last[ID_LEN + 1];
	int n;
};

static int add_job(const struct jobs_info *in, void *ud)
{
	struct list_ctx *c = ud;
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:f, s:o, s:o, s:o, s:o, s:o, s:o}", "id", in->id,
			      "kind", in->kind, "subject", in->subject, "state", in->state, "attempts", in->attempts,
			      "max_attempts", in->max_attempts, "progress", in->progress, "step", str_or_null(in->step),
			      "error", str_or_null(in->error), "lease_owner", str_or_null(in->lease_owner), "run_after",
			      time_json(in->run_after), "created_at", time_json(in->created_at), "updated_at",
			      time_json(in->updated_at));

	if (!o || json_array_append_new(c->items, o) < 0)
		return -1;
	memcpy(c->last, in->id, sizeof(c->last));
	c->n++;
	return 0;
}

void api_admin_jobs(struct http_req *req, void *app)
{
	struct api *a = app;
	struct err e = ERR_INIT;
	struct list_ctx c = { 0 };
	struct jobs_counts counts;
	long long limit;
	const char *state = http_req_query(req, "state"), *kind = http_req_query(req, "kind");
	const char *before = http_req_query(req, "before");
	json_t *body = NULL;

	if (!a->jobs) {
		err_set(&e, ERR_UNAVAILABLE, "no job queue on this server");
		goto fail;
	}
	if (http_req_query_int(req, "limit", 50, 1, 500, &limit, &e) < 0)
		goto fail;
	c.items = json_array();
	if (!c.items) {
		err_set(&e, ERR_NOMEM, "out of memory");
		goto fail;
	}
	if (jobs_list(a->jobs, state && *state ? state : NULL, kind && *kind ? kind : NULL, before, (int)limit, add_job,
		      &c, &e) < 0)
		goto fail;
	if (jobs_count(a->jobs, &counts, &e) < 0)
		goto fail;
	body = json_pack("{s:o, s:{s:I, s:I, s:I, s:I}, s:o}", "items", c.items, "counts", "queued",
			 (json_int_t)counts.queued, "running", (json_int_t)counts.running, "done", (json_int_t)counts.done,
			 "failed", (json_int_t)counts.failed, "next",
			 c.n == (int)limit ? json_string(c.last) : json_null());
	c.items = NULL; /* the pack took it, or freed it on failure */
	if (!body) {
		err_set(&e, ERR_NOMEM, "out of memory");
		goto fail;
	}
	http_res_json(req, 200, body);
	return;
fail:
	json_decref(c.items);
	http_res_err(req, &e);
}
