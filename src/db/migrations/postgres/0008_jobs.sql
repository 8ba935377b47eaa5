-- 0008 jobs (PostgreSQL): the durable job queue (src/jobs/jobs.h). The SQLite file declares
-- the same table; keep both in step.
--
-- A worker claims a job by taking a lease (lease_owner, lease_expires in ms); a running job
-- whose lease expired belongs to a dead worker and is claimable again, counting an attempt.
-- Every change after the claim is conditional on lease_owner and attempts still being the
-- claimer's, so a worker that lost its lease cannot settle the job. error is kept on failure.
CREATE TABLE jobs (
	id TEXT PRIMARY KEY NOT NULL,
	kind TEXT NOT NULL,
	subject TEXT NOT NULL,
	payload TEXT,
	state TEXT NOT NULL DEFAULT 'queued'
		CHECK (state IN ('queued', 'running', 'done', 'failed')),
	attempts BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	max_attempts BIGINT NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
	run_after BIGINT NOT NULL DEFAULT 0,
	lease_owner TEXT,
	lease_expires BIGINT NOT NULL DEFAULT 0,
	heartbeat_at BIGINT NOT NULL DEFAULT 0,
	progress DOUBLE PRECISION NOT NULL DEFAULT 0,
	step TEXT NOT NULL DEFAULT '',
	error TEXT,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
-- At most one pending job per kind and subject: enqueue is idempotent.
CREATE UNIQUE INDEX jobs_pending_subject ON jobs (kind, subject) WHERE state IN ('queued', 'running');
-- Claiming: due queued jobs, and running jobs whose lease ran out.
CREATE INDEX jobs_due ON jobs (run_after, id) WHERE state = 'queued';
CREATE INDEX jobs_leases ON jobs (lease_expires) WHERE state = 'running';
-- Status: a subject's latest job; the admin list by state, newest first.
CREATE INDEX jobs_by_subject ON jobs (subject, id);
CREATE INDEX jobs_by_state ON jobs (state, id);

-- Rows written by the `sleep` test job kind (test_jobs = true only; empty otherwise): the kill
-- test checks that every row names an object that exists and that re-runs were harmless.
CREATE TABLE jobs_test_writes (
	object_key TEXT PRIMARY KEY NOT NULL,
	subject TEXT NOT NULL,
	job_id TEXT NOT NULL,
	attempt BIGINT NOT NULL,
	writes BIGINT NOT NULL DEFAULT 1,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
