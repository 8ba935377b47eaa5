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
