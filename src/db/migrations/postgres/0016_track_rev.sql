-- 0016 track revision (PostgreSQL): a number that changes whenever a track's row does, kept by
-- the database whatever statement or build writes the row. The SQLite file says what reads it.
-- A BEFORE trigger sets it in the row being written, so no second UPDATE is needed here.
ALTER TABLE tracks ADD COLUMN rev BIGINT NOT NULL DEFAULT 1;
CREATE FUNCTION tracks_bump_rev() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	NEW.rev := OLD.rev + 1;
	RETURN NEW;
END
$$;
CREATE TRIGGER tracks_rev BEFORE UPDATE ON tracks FOR EACH ROW EXECUTE FUNCTION tracks_bump_rev();
