-- 0009 stream (PostgreSQL): each track's transcoding ladder. The SQLite file declares the same
-- tables; keep both in step.
--
-- stream_tracks holds the track's AES-128 key WRAPPED by the server's master key (RFC 3394
-- AES-256 key wrap, 24 bytes; key_wrap names the scheme) and whether its ladder is ready: the
-- rows of stream_renditions are replaced in one transaction after every object is stored.
-- segments is the index, 8 bytes per segment: ciphertext size then duration (samples at
-- sample_rate), each a big-endian u32; segment n starts at init_size + the sizes before it.
CREATE TABLE stream_tracks (
	track_id TEXT PRIMARY KEY NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
	wrapped_key BYTEA NOT NULL,
	key_wrap TEXT NOT NULL DEFAULT 'aes256-kw',
	ready INTEGER NOT NULL DEFAULT 0,
	updated_at BIGINT NOT NULL
);

CREATE TABLE stream_renditions (
	track_id TEXT NOT NULL REFERENCES stream_tracks (track_id) ON DELETE CASCADE,
	position BIGINT NOT NULL,
	name TEXT NOT NULL,
	codec TEXT NOT NULL,
	bitrate BIGINT NOT NULL,
	peak_bandwidth BIGINT NOT NULL,
	avg_bandwidth BIGINT NOT NULL,
	sample_rate BIGINT NOT NULL,
	channels BIGINT NOT NULL,
	bits BIGINT NOT NULL,
	target_duration BIGINT NOT NULL,
	media_sequence BIGINT NOT NULL,
	object_key TEXT NOT NULL,
	init_size BIGINT NOT NULL,
	segments BYTEA NOT NULL,
	PRIMARY KEY (track_id, name)
);
