-- 0005 uploads (SQLite): the state of tus resumable uploads. The PostgreSQL file declares the
-- same table; keep both in step.
--
-- The bytes are not here: each PATCH chunk is its own object uploads/<id>/<offset, 16 digits>,
-- committed to the store before upload_offset moves past it, so a crash never leaves an
-- offset that names missing bytes. lease_until (ms) is held by the one request writing a chunk
-- or completing the upload, so two requests never write the same chunk. A row outlives its
-- bytes: an expired upload keeps its row (state 'expired') a while so clients get 410, and a
-- finished one keeps its outcome (track_id or reason) so the client can find its track.
CREATE TABLE uploads (
	id TEXT PRIMARY KEY NOT NULL,
	owner TEXT NOT NULL,                  -- user id of the creator; '' without authentication
	upload_length INTEGER NOT NULL CHECK (upload_length >= 0),
	upload_offset INTEGER NOT NULL DEFAULT 0 CHECK (upload_offset >= 0),
	chunks INTEGER NOT NULL DEFAULT 0,         -- chunks recorded (bounded: each is an object)
	filename TEXT NOT NULL,
	filetype TEXT NOT NULL,
	state TEXT NOT NULL DEFAULT 'receiving'
		CHECK (state IN ('receiving', 'complete', 'refused', 'expired')),
	track_id TEXT,                        -- complete: the track (new or the existing duplicate)
	duplicate INTEGER NOT NULL DEFAULT 0 CHECK (duplicate IN (0, 1)),
	reason TEXT,                          -- refused: why
	lease_until INTEGER NOT NULL DEFAULT 0,
	expires_at INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX uploads_by_expiry ON uploads (state, expires_at);
