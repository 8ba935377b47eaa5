-- 0016 track revision (SQLite): a number that changes whenever a track's row does.
--
-- A page of tracks costs most of its time turning 41 columns into 50 JSON objects of about a
-- kilobyte each, the same objects on every request while the tracks do not change. The server
-- keeps the objects it rendered (src/api/track_json.c), each tagged with the revision of
-- the row it was rendered from, and a page first asks the database only for its tracks' ids and
-- revisions. Everything a track's object shows is in its own row (0015), so the revision of the
-- row is the revision of the object.
--
-- The database keeps the number, not the code that writes: a trigger bumps it on every UPDATE of
-- the row that did not, whatever statement or build (an older node in a rolling upgrade) makes
-- it. The catalogue's own UPDATEs set `rev = rev + 1` themselves, which spares SQLite the
-- trigger's second UPDATE of the row (6 % of an import, where every new track's links are
-- written just after its row). It starts at 1; readers treat 0 as "do not keep".
--
-- The sort indexes end with it, so that the first query of a page (ids and revisions in the
-- page's order) reads the index alone, not 50 rows of 44 columns.
ALTER TABLE tracks ADD COLUMN rev INTEGER NOT NULL DEFAULT 1;
CREATE TRIGGER tracks_rev AFTER UPDATE ON tracks FOR EACH ROW WHEN NEW.rev = OLD.rev BEGIN
	UPDATE tracks SET rev = OLD.rev + 1 WHERE rowid = NEW.rowid;
END;
DROP INDEX tracks_by_name;
DROP INDEX tracks_by_sort;
DROP INDEX tracks_by_year;
DROP INDEX tracks_by_added;
CREATE INDEX tracks_by_name ON tracks (title_norm, id, rev);
CREATE INDEX tracks_by_sort ON tracks (sort_norm, id, rev);
CREATE INDEX tracks_by_year ON tracks (year, id, rev);
CREATE INDEX tracks_by_added ON tracks (created_at, id, rev);
