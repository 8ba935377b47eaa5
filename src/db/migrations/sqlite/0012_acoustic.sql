-- 0012 acoustic duplicates: finding the other copies of a recording starts from the tracks of
-- about the same length (catalog/acoustic.c), then compares their fingerprints.
CREATE INDEX tracks_by_duration ON tracks (duration_ms);
