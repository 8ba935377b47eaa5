-- 0011 browse indexes (SQLite): covering indexes for the look-ups every page of tracks makes.
-- The PostgreSQL file matches it.
--
-- Each track on a page needs its credits (artist id, role, position) and its genres (id,
-- position). The primary keys hold the track id but not the other columns, so each look-up
-- searched the key's index and then the table; a page of 50 tracks made some 150 such double
-- searches, and the genres also went through a temporary B-tree to be put in order. These
-- indexes hold every column the page reads, in the order it reads them.
-- (Covering (id, name) indexes on artists and genres were tried too: SQLite's planner keeps
-- the unique primary-key index for an equality on id, so they were never used.)
CREATE INDEX track_artists_by_track ON track_artists (track_id, role, position, artist_id);
CREATE INDEX track_genres_by_track ON track_genres (track_id, position, genre_id);
