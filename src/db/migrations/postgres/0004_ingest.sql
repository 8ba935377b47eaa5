-- 0004 ingest (PostgreSQL): quarantine, and the record of what was imported from which file. The
-- SQLite file declares the same tables; keep both in step.
--
-- quarantine: one row per refused file (import or upload), with the reason a user can act on.
-- The bytes of a refused upload are kept as the object quarantine/<sha256>; an import's file
-- stays where it is (path). sha256 is '' when the file could not even be read.
CREATE TABLE quarantine (
	id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
	name TEXT NOT NULL,                   -- display name (the file's or the client's)
	sha256 TEXT NOT NULL,
	size BIGINT NOT NULL CHECK (size >= 0),
	reason TEXT NOT NULL,
	source TEXT NOT NULL CHECK (source IN ('import', 'upload')),
	path TEXT,                            -- import: the file
	object_key TEXT,                      -- upload: quarantine/<sha256>
	created_at BIGINT NOT NULL
);
CREATE INDEX quarantine_by_time ON quarantine (created_at, id);

-- import_files: what `tonearm import` made of each source file, so a second run skips an
-- unchanged file by path + size + mtime without reading it, and --watch knows which track an
-- in-place file was (to remove it when the file goes). outcome is 'added' (track_id is the
-- track made from this file), 'duplicate' (track_id is the track that already had the bytes)
-- or 'refused'.
CREATE TABLE import_files (
	path TEXT PRIMARY KEY NOT NULL,
	size BIGINT NOT NULL,
	mtime_ns BIGINT NOT NULL,
	in_place INTEGER NOT NULL CHECK (in_place IN (0, 1)),
	outcome TEXT NOT NULL CHECK (outcome IN ('added', 'duplicate', 'refused')),
	sha256 TEXT NOT NULL,
	track_id TEXT,
	updated_at BIGINT NOT NULL
);
CREATE INDEX import_files_by_track ON import_files (track_id);
