-- 0009 stream (SQLite): each track's transcoding ladder. The PostgreSQL file declares the same
-- tables; keep both in step.
--
-- stream_tracks holds the track's AES-128 key WRAPPED by the server's master key (RFC 3394
-- AES-256 key wrap, 24 bytes; key_wrap names the scheme) and whether its ladder is ready: the
-- rows of stream_renditions are replaced in one transaction after every object is stored.
-- segments is the index, 8 bytes per segment: ciphertext size then duration (samples at
-- sample_rate), each a big-endian u32; segment n starts at init_size + the sizes before it.
CREATE TABLE stream_tracks (
	track_id TEXT PRIMARY KEY NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
	wrapped_key BLOB NOT NULL,
	key_wrap TEXT NOT NULL DEFAULT 'aes256-kw',
	ready INTEGER NOT NULL DEFAULT 0,
	updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE stream_renditions (
	track_id TEXT NOT NULL REFERENCES stream_tracks (track_id) ON DELETE CASCADE,
	position INTEGER NOT NULL,
	name TEXT NOT NULL,
	codec TEXT NOT NULL,
	bitrate INTEGER NOT NULL,
	peak_bandwidth INTEGER NOT NULL,
	avg_bandwidth INTEGER NOT NULL,
	sample_rate INTEGER NOT NULL,
	channels INTEGER NOT NULL,
	bits INTEGER NOT NULL,
	target_duration INTEGER NOT NULL,
	media_sequence INTEGER NOT NULL,
	object_key TEXT NOT NULL,
	init_size INTEGER NOT NULL,
	segments BLOB NOT NULL,
	PRIMARY KEY (track_id, name)
) STRICT;
