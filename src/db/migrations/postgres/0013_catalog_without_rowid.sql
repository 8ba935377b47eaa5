-- 0013 catalogue tables keyed by their ids (PostgreSQL): nothing to do. The SQLite step stores
-- artists, albums and genres in their primary keys' B-trees (WITHOUT ROWID) so that a look-up
-- by id is one search instead of two; a PostgreSQL table is always a heap beside its indexes,
-- and a page's credits and genres are already index-only scans of the 0011 indexes. The step
-- exists so that both backends go through the same versions.
SELECT 1;
