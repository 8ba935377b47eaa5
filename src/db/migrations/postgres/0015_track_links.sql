-- 0015 track links (PostgreSQL): each track keeps its credits, genres and album title, and each
-- album its artist's name, in columns of its own row, as on SQLite (the SQLite file says why and
-- what the text looks like). Here it saves the database server two index scans and a join per
-- page, and tonearm the rows they sent. The SQLite step also makes the sort indexes of artists,
-- albums and genres covering, since its WITHOUT ROWID tables find a row from an index entry by a
-- search of text ids; here an index entry points at its heap tuple directly, and an index-only
-- scan would depend on the visibility map being current: not done.
ALTER TABLE tracks ADD COLUMN credits TEXT, ADD COLUMN genre_links TEXT, ADD COLUMN album_title TEXT;
ALTER TABLE albums ADD COLUMN artist_name TEXT;
UPDATE albums SET artist_name = (SELECT name FROM artists WHERE id = albums.artist_id);
UPDATE tracks SET
	album_title = (SELECT title FROM albums WHERE id = tracks.album_id),
	credits = COALESCE((SELECT string_agg(ta.role || ':' || CAST(ta.position AS TEXT) || ':' || ar.id || ':' ||
					      CAST(octet_length(ar.name) AS TEXT) || ':' || ar.name || ';', '')
			    FROM track_artists ta JOIN artists ar ON ar.id = ta.artist_id
			    WHERE ta.track_id = tracks.id), ''),
	genre_links = COALESCE((SELECT string_agg(':' || CAST(tg.position AS TEXT) || ':' || g.id || ':' ||
						  CAST(octet_length(g.name) AS TEXT) || ':' || g.name || ';', '')
				FROM track_genres tg JOIN genres g ON g.id = tg.genre_id
				WHERE tg.track_id = tracks.id), '');
