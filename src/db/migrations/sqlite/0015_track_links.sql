-- 0015 track links (SQLite): each track keeps its credits, genres and album title, and each
-- album its artist's name, as the browse pages show them, in columns of its own row.
--
-- A page of 50 tracks read its credits and genres with two IN-list queries: a temporary index of
-- the 50 ids, a search of the link index per track and one of artists or genres per link, about
-- 220 searches of text keys, a third of the page's cost. Names of artists and genres never
-- change once created (a different spelling is a different row, see 0002), so the text a track
-- shows changes only when its links do, and the catalogue rewrites both columns in the same
-- transaction whenever it adds or removes one (src/catalog/links.c). NULL means "not known":
-- readers then read the link tables, as before.
--
-- The same holds for an album's title and an artist's name, read for every track and every album
-- of a page (a search of albums or artists by text id each): they never change, and a track's
-- album or an album's artist changes only in the catalogue's own UPDATEs, which set the copy in
-- the same statement. Readers take the copy when it is there: COALESCE(copy, (SELECT … by id)).
--
-- Each link is `role:position:id:bytes:name;` (genres have an empty role; `bytes` is the name's
-- length in bytes, so a name may hold any character), concatenated in any order: the reader
-- puts them in the order the pages show.
ALTER TABLE tracks ADD COLUMN credits TEXT;
ALTER TABLE tracks ADD COLUMN genre_links TEXT;
ALTER TABLE tracks ADD COLUMN album_title TEXT;
ALTER TABLE albums ADD COLUMN artist_name TEXT;
UPDATE albums SET artist_name = (SELECT name FROM artists WHERE id = albums.artist_id);
UPDATE tracks SET
	album_title = (SELECT title FROM albums WHERE id = tracks.album_id),
	credits = COALESCE((SELECT group_concat(ta.role || ':' || ta.position || ':' || ar.id || ':' ||
						length(CAST(ar.name AS BLOB)) || ':' || ar.name || ';', '')
			    FROM track_artists ta JOIN artists ar ON ar.id = ta.artist_id
			    WHERE ta.track_id = tracks.id), ''),
	genre_links = COALESCE((SELECT group_concat(':' || tg.position || ':' || g.id || ':' ||
						    length(CAST(g.name AS BLOB)) || ':' || g.name || ';', '')
				FROM track_genres tg JOIN genres g ON g.id = tg.genre_id
				WHERE tg.track_id = tracks.id), '');

-- The sort indexes of artists, albums and genres hold every column a list shows. These tables are
-- WITHOUT ROWID (0013), so an index entry leads to its row by a search of the primary key's
-- B-tree by text id: 50 searches per page, about a sixth of a page of albums or artists. A
-- covering index answers the page from the index alone. The tables are small next to tracks
-- (100,000 tracks: 10,000 albums, 2,500 artists, 50 genres; the file grows by 2.5 %), and
-- their rows change seldom. Every sort a list offers gets one, so any page of any sort costs
-- the same.
DROP INDEX artists_by_name;
DROP INDEX artists_by_sort;
DROP INDEX artists_by_added;
CREATE INDEX artists_by_name ON artists (name_norm, id, name, sort_name, mbid, created_at, updated_at);
CREATE INDEX artists_by_sort ON artists (sort_norm, id, name, sort_name, mbid, created_at, updated_at);
CREATE INDEX artists_by_added ON artists (created_at, id, name, sort_name, mbid, updated_at);
DROP INDEX albums_by_name;
DROP INDEX albums_by_sort;
DROP INDEX albums_by_year;
DROP INDEX albums_by_added;
CREATE INDEX albums_by_name ON albums (title_norm, id, title, sort_title, mbid, date, label, cover_hash, artist_id,
	artist_name, compilation, year, disc_total, created_at, updated_at);
CREATE INDEX albums_by_sort ON albums (sort_norm, id, title, sort_title, mbid, date, label, cover_hash, artist_id,
	artist_name, compilation, year, disc_total, created_at, updated_at);
CREATE INDEX albums_by_year ON albums (year, id, title, sort_title, mbid, date, label, cover_hash, artist_id,
	artist_name, compilation, disc_total, created_at, updated_at);
CREATE INDEX albums_by_added ON albums (created_at, id, title, sort_title, mbid, date, label, cover_hash, artist_id,
	artist_name, compilation, year, disc_total, updated_at);
DROP INDEX genres_by_name;
DROP INDEX genres_by_added;
CREATE INDEX genres_by_name ON genres (name_norm, id, name, created_at, updated_at);
CREATE INDEX genres_by_added ON genres (created_at, id, name, updated_at);
