-- 0002 catalogue (SQLite): artists, albums, tracks, genres and their links. The PostgreSQL
-- file declares the same tables; keep both in step.
--
-- Conventions: ids are ULIDs (TEXT). Times are Unix milliseconds. Numbers a tag may lack
-- (year, disc, track) are 0 when unknown rather than NULL, so they sort the same on both
-- backends and keyset pagination never has to reason about NULLs. *_norm columns hold the
-- normalised text (NFKD, case folded, marks stripped, whitespace collapsed) that merging,
-- sorting and prefix search use; the display text is kept as tagged.

-- A change counter: every catalogue write bumps it in its own transaction; list and get
-- answers carry it as their ETag.
CREATE TABLE catalog_state (
	id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
	version INTEGER NOT NULL
) STRICT;
INSERT INTO catalog_state (id, version) VALUES (1, 0);

CREATE TABLE artists (
	id TEXT PRIMARY KEY NOT NULL,
	name TEXT NOT NULL,
	sort_name TEXT NOT NULL,
	name_norm TEXT NOT NULL,
	sort_norm TEXT NOT NULL,
	mbid TEXT,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;
-- One artist per MusicBrainz id; among artists without one, one per normalised name. These
-- two indexes are what makes concurrent imports of a new artist end with one row.
CREATE UNIQUE INDEX artists_mbid ON artists (mbid) WHERE mbid IS NOT NULL;
CREATE UNIQUE INDEX artists_name_plain ON artists (name_norm) WHERE mbid IS NULL;
CREATE INDEX artists_by_name ON artists (name_norm, id);
CREATE INDEX artists_by_sort ON artists (sort_norm, id);
CREATE INDEX artists_by_added ON artists (created_at, id);

CREATE TABLE albums (
	id TEXT PRIMARY KEY NOT NULL,
	title TEXT NOT NULL,
	sort_title TEXT NOT NULL,
	title_norm TEXT NOT NULL,
	sort_norm TEXT NOT NULL,
	artist_id TEXT NOT NULL REFERENCES artists (id),
	mbid TEXT,
	compilation INTEGER NOT NULL DEFAULT 0,
	-- 1 when no album artist was tagged and the first track's artist stood in for one:
	-- such an album becomes a Various Artists compilation when another artist's untagged
	-- track with the same title and year joins it.
	artist_inferred INTEGER NOT NULL DEFAULT 0,
	year INTEGER NOT NULL DEFAULT 0,
	date TEXT,
	label TEXT,
	disc_total INTEGER NOT NULL DEFAULT 0,
	cover_hash TEXT,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX albums_mbid ON albums (mbid) WHERE mbid IS NOT NULL;
CREATE UNIQUE INDEX albums_title_plain ON albums (title_norm, artist_id) WHERE mbid IS NULL;
CREATE INDEX albums_by_name ON albums (title_norm, id);
CREATE INDEX albums_by_sort ON albums (sort_norm, id);
CREATE INDEX albums_by_year ON albums (year, id);
CREATE INDEX albums_by_added ON albums (created_at, id);
CREATE INDEX albums_by_artist ON albums (artist_id, title_norm, id);

CREATE TABLE genres (
	id TEXT PRIMARY KEY NOT NULL,
	name TEXT NOT NULL,
	name_norm TEXT NOT NULL UNIQUE,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX genres_by_name ON genres (name_norm, id);
CREATE INDEX genres_by_added ON genres (created_at, id);

CREATE TABLE tracks (
	id TEXT PRIMARY KEY NOT NULL,
	title TEXT NOT NULL,
	sort_title TEXT NOT NULL,
	title_norm TEXT NOT NULL,
	sort_norm TEXT NOT NULL,
	album_id TEXT NOT NULL REFERENCES albums (id),
	disc INTEGER NOT NULL DEFAULT 0,
	disc_total INTEGER NOT NULL DEFAULT 0,
	track_no INTEGER NOT NULL DEFAULT 0,
	track_total INTEGER NOT NULL DEFAULT 0,
	duration_ms INTEGER NOT NULL DEFAULT 0,
	date TEXT,
	year INTEGER NOT NULL DEFAULT 0,
	isrc TEXT,
	label TEXT,
	bpm REAL,
	lyrics TEXT,
	mb_recording_id TEXT,
	mb_release_id TEXT,
	rg_track_gain REAL,
	rg_track_peak REAL,
	rg_album_gain REAL,
	rg_album_peak REAL,
	loudness_lufs REAL,
	loudness_range REAL,
	true_peak REAL,
	sha256 TEXT NOT NULL UNIQUE,
	object_key TEXT,
	path TEXT,
	container TEXT,
	codec TEXT,
	sample_rate INTEGER NOT NULL DEFAULT 0,
	channels INTEGER NOT NULL DEFAULT 0,
	bits INTEGER NOT NULL DEFAULT 0,
	bitrate INTEGER NOT NULL DEFAULT 0,
	lossless INTEGER NOT NULL DEFAULT 0,
	file_size INTEGER NOT NULL DEFAULT 0,
	cover_hash TEXT,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	CHECK (object_key IS NOT NULL OR path IS NOT NULL)
) STRICT;
CREATE INDEX tracks_by_name ON tracks (title_norm, id);
CREATE INDEX tracks_by_sort ON tracks (sort_norm, id);
CREATE INDEX tracks_by_year ON tracks (year, id);
CREATE INDEX tracks_by_added ON tracks (created_at, id);
CREATE INDEX tracks_by_album ON tracks (album_id, disc, track_no, title_norm, id);
CREATE INDEX tracks_by_object ON tracks (object_key);
CREATE INDEX tracks_by_cover ON tracks (cover_hash);

-- Credits, in order within each role.
CREATE TABLE track_artists (
	track_id TEXT NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
	artist_id TEXT NOT NULL REFERENCES artists (id),
	role TEXT NOT NULL CHECK (role IN ('main', 'featured', 'composer')),
	position INTEGER NOT NULL,
	PRIMARY KEY (track_id, role, position)
) STRICT;
CREATE INDEX track_artists_by_artist ON track_artists (artist_id, track_id);

CREATE TABLE track_genres (
	track_id TEXT NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
	genre_id TEXT NOT NULL REFERENCES genres (id),
	position INTEGER NOT NULL,
	PRIMARY KEY (track_id, genre_id)
) STRICT;
CREATE INDEX track_genres_by_genre ON track_genres (genre_id, track_id);

-- Wide analysis results, kept apart so list queries over tracks stay narrow.
CREATE TABLE track_analysis (
	track_id TEXT PRIMARY KEY NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
	fingerprint TEXT,
	peaks BLOB
) STRICT;
