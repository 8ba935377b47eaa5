-- 0012 acoustic duplicates and album gain.
--
-- Finding the other copies of a recording starts from the tracks of about the same length
-- (catalog/acoustic.c), then compares their fingerprints.
CREATE INDEX tracks_by_duration ON tracks (duration_ms);

-- ReplayGain album gain is the gated loudness of all an album's 400 ms blocks pooled
-- (media/analyse.h): each analysed track keeps the histogram of its blocks' loudness (1,000
-- 0.1 LU bins, 4-byte little-endian counts), and the album's gain is recomputed from them when a
-- track of it is analysed. A gain read from the file's tags is the tagger's word and is never
-- replaced: rg_album_tagged marks it (every album gain stored before this step came from tags).
ALTER TABLE track_analysis ADD COLUMN gating_hist BYTEA;
ALTER TABLE tracks ADD COLUMN rg_album_tagged INTEGER NOT NULL DEFAULT 0;
UPDATE tracks SET rg_album_tagged = 1 WHERE rg_album_gain IS NOT NULL;
