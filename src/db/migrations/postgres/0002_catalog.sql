-- 0002 catalogue (PostgreSQL): artists, albums, tracks, genres and their links. The SQLite
-- file declares the same tables; keep both in step. The *_norm columns and ids use the "C"
-- collation so that text orders byte by byte, as SQLite's BINARY does: a cursor means the
-- same on both backends whatever the database's locale.
--
-- Conventions: ids are ULIDs (TEXT). Times are Unix milliseconds. Numbers a tag may lack
-- (year, disc, track) are 0 when unknown rather than NULL, so they sort the same on both
-- backends and keyset pagination never has to reason about NULLs. *_norm columns hold the
-- normalised text (NFKD, case folded, marks stripped, whitespace collapsed) that merging,
-- sorting and prefix search use; the display text is kept as tagged.

-- A change counter: every catalogue write bumps it in its own transaction; list and get
-- answers carry it as their ETag.
CREATE TABLE catalog_state (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	version BIGINT NOT NULL
);
INSERT INTO catalog_state (id, version) VALUES (1, 0);

CREATE TABLE artists (
	id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
	name TEXT NOT NULL,
	sort_name TEXT NOT NULL,
	name_norm TEXT COLLATE "C" NOT NULL,
	sort_norm TEXT COLLATE "C" NOT NULL,
	mbid TEXT,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
-- One artist per MusicBrainz id; among artists without one, one per normalised name. These
-- two indexes are what makes concurrent imports of a new artist end with one row.
CREATE UNIQUE INDEX artists_mbid ON artists (mbid) WHERE mbid IS NOT NULL;
CREATE UNIQUE INDEX artists_name_plain ON artists (name_norm) WHERE mbid IS NULL;
CREATE INDEX artists_by_name ON artists (name_norm, id);
CREATE INDEX artists_by_sort ON artists (sort_norm, id);
CREATE INDEX artists_by_added ON artists (created_at, id);

CREATE TABLE albums (
	id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
	title TEXT NOT NULL,
	sort_title TEXT NOT NULL,
	title_norm TEXT COLLATE "C" NOT NULL,
	sort_norm TEXT COLLATE "C" NOT NULL,
	artist_id TEXT COLLATE "C" NOT NULL REFERENCES artists (id),
	mbid TEXT,
	compilation BIGINT NOT NULL DEFAULT 0,
	-- 1 when no album artist was tagged and the first track's artist stood in for one:
	-- such an album becomes a Various Artists compilation when another artist's untagged
	-- track with the same title and year joins it.
	artist_inferred BIGINT NOT NULL DEFAULT 0,
	year BIGINT NOT NULL DEFAULT 0,
	date TEXT,
	label TEXT,
	disc_total BIGINT NOT NULL DEFAULT 0,
	cover_hash TEXT,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX albums_mbid ON albums (mbid) WHERE mbid IS NOT NULL;
CREATE UNIQUE INDEX albums_title_plain ON albums (title_norm, artist_id) WHERE mbid IS NULL;
CREATE INDEX albums_by_name ON albums (title_norm, id);
CREATE INDEX albums_by_sort ON albums (sort_norm, id);
CREATE INDEX albums_by_year ON albums (year, id);
CREATE INDEX albums_by_added ON albums (created_at, id);
CREATE INDEX albums_by_artist ON albums (artist_id, title_norm, id);

CREATE TABLE genres (
	id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
	name TEXT NOT NULL,
	name_norm TEXT COLLATE "C" NOT NULL UNIQUE,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX genres_by_name ON genres (name_norm, id);
CREATE INDEX genres_by_added ON genres (created_at, id);

CREATE TABLE tracks (
	id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
	title TEXT NOT NULL,
	sort_title TEXT NOT NULL,
	title_norm TEXT COLLATE "C" NOT NULL,
	sort_norm TEXT COLLATE "C" NOT NULL,
	album_id TEXT COLLATE "C" NOT NULL REFERENCES albums (id),
	disc BIGINT NOT NULL DEFAULT 0,
	disc_total BIGINT NOT NULL DEFAULT 0,
	track_no BIGINT NOT NULL DEFAULT 0,
	track_total BIGINT NOT NULL DEFAULT 0,
	duration_ms BIGINT NOT NULL DEFAULT 0,
	date TEXT,
	year BIGINT NOT NULL DEFAULT 0,
	isrc TEXT,
	label TEXT,
	bpm DOUBLE PRECISION,
	lyrics TEXT,
	mb_recording_id TEXT,
	mb_release_id TEXT,
	rg_track_gain DOUBLE PRECISION,
	rg_track_peak DOUBLE PRECISION,
	rg_album_gain DOUBLE PRECISION,
	rg_album_peak DOUBLE PRECISION,
	loudness_lufs DOUBLE PRECISION,
	loudness_range DOUBLE PRECISION,
	true_peak DOUBLE PRECISION,
	sha256 TEXT NOT NULL UNIQUE,
	object_key TEXT,
	path TEXT,
	container TEXT,
	codec TEXT,
	sample_rate BIGINT NOT NULL DEFAULT 0,
	channels BIGINT NOT NULL DEFAULT 0,
	bits BIGINT NOT NULL DEFAULT 0,
	bitrate BIGINT NOT NULL DEFAULT 0,
	lossless BIGINT NOT NULL DEFAULT 0,
	file_size BIGINT NOT NULL DEFAULT 0,
	cover_hash TEXT,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	CHECK (object_key IS NOT NULL OR path IS NOT NULL)
);
CREATE INDEX tracks_by_name ON tracks (title_norm, id);
CREATE INDEX tracks_by_sort ON tracks (sort_norm, id);
CREATE INDEX tracks_by_year ON tracks (year, id);
CREATE INDEX tracks_by_added ON tracks (created_at, id);
CREATE INDEX tracks_by_album ON tracks (album_id, disc, track_no, title_norm, id);
CREATE INDEX tracks_by_object ON tracks (object_key);
CREATE INDEX tracks_by_cover ON tracks (cover_hash);

-- Credits, in order within each role.
CREATE TABLE track_artists (
	track_id TEXT COLLATE "C" NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
	artist_id TEXT COLLATE "C" NOT NULL REFERENCES artists (id),
	role TEXT NOT NULL CHECK (role IN ('main', 'featured', 'composer')),
	position INTEGER NOT NULL,
	PRIMARY KEY (track_id, role, position)
);
CREATE INDEX track_artists_by_artist ON track_artists (artist_id, track_id);

CREATE TABLE track_genres (
	track_id TEXT COLLATE "C" NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
	genre_id TEXT COLLATE "C" NOT NULL REFERENCES genres (id),
	position INTEGER NOT NULL,
	PRIMARY KEY (track_id, genre_id)
);
CREATE INDEX track_genres_by_genre ON track_genres (genre_id, track_id);

-- Wide analysis results, kept apart so list queries over tracks stay narrow.
CREATE TABLE track_analysis (
	track_id TEXT COLLATE "C" PRIMARY KEY NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
	fingerprint TEXT,
	peaks BYTEA
);
