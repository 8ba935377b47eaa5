-- 0013 browse look-ups (SQLite): catalogue tables keyed by their ids, and each genre's number
-- of tracks kept as tracks gain and lose genres. The PostgreSQL file says what it does instead.
--
-- artists, albums and genres are looked up by id far more often than they are scanned: every
-- track on a page names its album, its artists and its genres. As rowid tables, each look-up
-- searched the id's index for the rowid and then the table for the row. WITHOUT ROWID tables
-- are stored in their primary key's B-tree, so a look-up by id is one search. Secondary
-- indexes then hold the id instead of the rowid, so a list read from the name index finds
-- each row by its id (a text key) rather than by an integer.
--
-- Each table is copied aside, dropped and created again under its own name, so the foreign
-- keys that name it (albums.artist_id, tracks.album_id, track_artists.artist_id,
-- track_genres.genre_id) keep pointing at it. Migrations run inside one transaction with
-- foreign keys on, where PRAGMA foreign_keys cannot be changed; deferring them lets the drop
-- count the children it orphans and the copy back count them found again, so the commit
-- checks that every reference still resolves.
PRAGMA defer_foreign_keys = ON;

CREATE TEMP TABLE artists_copy AS SELECT * FROM artists;
DROP TABLE artists;
CREATE TABLE artists (
	id TEXT PRIMARY KEY NOT NULL,
	name TEXT NOT NULL,
	sort_name TEXT NOT NULL,
	name_norm TEXT NOT NULL,
	sort_norm TEXT NOT NULL,
	mbid TEXT,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO artists (id, name, sort_name, name_norm, sort_norm, mbid, created_at, updated_at)
	SELECT id, name, sort_name, name_norm, sort_norm, mbid, created_at, updated_at FROM artists_copy;
DROP TABLE artists_copy;
CREATE UNIQUE INDEX artists_mbid ON artists (mbid) WHERE mbid IS NOT NULL;
CREATE UNIQUE INDEX artists_name_plain ON artists (name_norm) WHERE mbid IS NULL;
CREATE INDEX artists_by_name ON artists (name_norm, id);
CREATE INDEX artists_by_sort ON artists (sort_norm, id);
CREATE INDEX artists_by_added ON artists (created_at, id);

CREATE TEMP TABLE albums_copy AS SELECT * FROM albums;
DROP TABLE albums;
CREATE TABLE albums (
	id TEXT PRIMARY KEY NOT NULL,
	title TEXT NOT NULL,
	sort_title TEXT NOT NULL,
	title_norm TEXT NOT NULL,
	sort_norm TEXT NOT NULL,
	artist_id TEXT NOT NULL REFERENCES artists (id),
	mbid TEXT,
	compilation INTEGER NOT NULL DEFAULT 0,
	-- 1 when no album artist was tagged and the first track's artist stood in for one (see 0002).
	artist_inferred INTEGER NOT NULL DEFAULT 0,
	year INTEGER NOT NULL DEFAULT 0,
	date TEXT,
	label TEXT,
	disc_total INTEGER NOT NULL DEFAULT 0,
	cover_hash TEXT,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO albums (id, title, sort_title, title_norm, sort_norm, artist_id, mbid, compilation, artist_inferred,
		    year, date, label, disc_total, cover_hash, created_at, updated_at)
	SELECT id, title, sort_title, title_norm, sort_norm, artist_id, mbid, compilation, artist_inferred,
	       year, date, label, disc_total, cover_hash, created_at, updated_at FROM albums_copy;
DROP TABLE albums_copy;
CREATE UNIQUE INDEX albums_mbid ON albums (mbid) WHERE mbid IS NOT NULL;
CREATE UNIQUE INDEX albums_title_plain ON albums (title_norm, artist_id) WHERE mbid IS NULL;
CREATE INDEX albums_by_name ON albums (title_norm, id);
CREATE INDEX albums_by_sort ON albums (sort_norm, id);
CREATE INDEX albums_by_year ON albums (year, id);
CREATE INDEX albums_by_added ON albums (created_at, id);
CREATE INDEX albums_by_artist ON albums (artist_id, title_norm, id);

CREATE TEMP TABLE genres_copy AS SELECT * FROM genres;
DROP TABLE genres;
CREATE TABLE genres (
	id TEXT PRIMARY KEY NOT NULL,
	name TEXT NOT NULL,
	name_norm TEXT NOT NULL UNIQUE,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO genres (id, name, name_norm, created_at, updated_at)
	SELECT id, name, name_norm, created_at, updated_at FROM genres_copy;
DROP TABLE genres_copy;
CREATE INDEX genres_by_name ON genres (name_norm, id);
CREATE INDEX genres_by_added ON genres (created_at, id);

-- A genre's page shows how many tracks it has. Counting them read every entry of the genre's
-- part of track_genres_by_genre on every request (some 3,000 in a catalogue of 100,000 tracks,
-- most of that page's time). The count is kept here instead, in the transaction that links or
-- unlinks a track (SQLite has one writer at a time, so the row is never a queue). Missing
-- row: no tracks. PostgreSQL has a view of the same name that counts (see its 0013).
CREATE TABLE genre_counts (
	genre_id TEXT PRIMARY KEY NOT NULL REFERENCES genres (id) ON DELETE CASCADE,
	track_count INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO genre_counts (genre_id, track_count)
	SELECT genre_id, count(*) FROM track_genres GROUP BY genre_id;
CREATE TRIGGER track_genres_count_insert AFTER INSERT ON track_genres BEGIN
	INSERT INTO genre_counts (genre_id, track_count) VALUES (NEW.genre_id, 1)
		ON CONFLICT (genre_id) DO UPDATE SET track_count = track_count + 1;
END;
CREATE TRIGGER track_genres_count_delete AFTER DELETE ON track_genres BEGIN
	UPDATE genre_counts SET track_count = track_count - 1 WHERE genre_id = OLD.genre_id;
END;
CREATE TRIGGER track_genres_count_update AFTER UPDATE OF genre_id ON track_genres
	WHEN OLD.genre_id IS NOT NEW.genre_id BEGIN
	UPDATE genre_counts SET track_count = track_count - 1 WHERE genre_id = OLD.genre_id;
	INSERT INTO genre_counts (genre_id, track_count) VALUES (NEW.genre_id, 1)
		ON CONFLICT (genre_id) DO UPDATE SET track_count = track_count + 1;
END;
