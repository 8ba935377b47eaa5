-- 0013 browse look-ups (PostgreSQL). The SQLite step does two things; here:
--
-- 1. It stores artists, albums and genres in their primary keys' B-trees (WITHOUT ROWID) so
--    that a look-up by id is one search instead of two. A PostgreSQL table is always a heap
--    beside its indexes, and a page's credits and genres are already index-only scans of the
--    0011 indexes: nothing to do.
-- 2. It keeps each genre's number of tracks in a table, updated by triggers, so that a genre's
--    page does not count thousands of index entries in tonearm's process. Here a counter row
--    would make concurrent imports queue on a popular genre's row until each transaction ends,
--    and the count runs in the database server, not in tonearm: genre_counts is a view that
--    counts (the genre's equality is pushed into it, an index-only scan of
--    track_genres_by_genre, as before), so both backends answer the same query.
CREATE VIEW genre_counts AS
	SELECT genre_id, count(*) AS track_count FROM track_genres GROUP BY genre_id;
