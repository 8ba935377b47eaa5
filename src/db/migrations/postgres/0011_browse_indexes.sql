-- 0011 browse indexes (PostgreSQL): the covering indexes of the SQLite file, so that reading
-- a page's credits and genres can be an index-only scan in the order the page wants them.
CREATE INDEX track_artists_by_track ON track_artists (track_id, role, position) INCLUDE (artist_id);
CREATE INDEX track_genres_by_track ON track_genres (track_id, position) INCLUDE (genre_id);
