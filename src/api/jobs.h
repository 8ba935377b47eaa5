/* jobs.h (api) — job status over HTTP: a track's processing state, and the admin job list. */
#ifndef TONEARM_API_JOBS_H
#define TONEARM_API_JOBS_H

struct http_req;

/* GET /api/v1/tracks/{id}/status → {"track_id", "state": pending|processing|ready|failed,
 * "progress" 0..1, "step", "attempts", "error" (null unless failed or retrying), "updated_at"
 * (RFC 3339, null when no job exists)}, from the track's latest job (any kind). A track with no
 * job yet is pending; an unknown track is 404; no queue configured is 503. */
void api_track_status(struct http_req *req, void *app);

/* GET /api/v1/admin/jobs?state=queued|running|done|failed&kind=K&limit=N&before=ID →
 * {"items": [job…], "counts": {queued, running, done, failed}, "next": id or null}, newest
 * first (keyset paging with `before`). 400 for an unknown state or a bad limit. */
void api_admin_jobs(struct http_req *req, void *app);

#endif
