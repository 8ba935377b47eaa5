-- 0014 acoustic duplicates, recorded: when a track is analysed, the tracks of about its length
-- whose fingerprints score at least 70 against its own (catalog/acoustic.c) are written here,
-- both ways, so the catalogue-wide list (/api/v1/duplicates) reads pairs instead of comparing
-- every fingerprint with every other. Tracks analysed before this step have none recorded
-- until they are analysed again; /api/v1/tracks/{id}/duplicates compares on the spot.
CREATE TABLE track_duplicates (
	track_id TEXT NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
	other_id TEXT NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
	similarity INTEGER NOT NULL,
	PRIMARY KEY (track_id, other_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX track_duplicates_by_other ON track_duplicates (other_id);
