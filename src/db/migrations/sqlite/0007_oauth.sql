-- 0007 OAuth 2.0 authorization server, API keys and the audit trail (SQLite). The PostgreSQL
-- file declares the same tables; keep both in step.
--
-- Secrets (client secrets, authorization codes, API keys, CSRF tokens) are stored only as their
-- SHA-256: each is 256 random bits, so a plain hash is enough and a copy of the database lets
-- nobody in.

-- Apps registered by an admin. redirect_uris: a JSON array of exact strings; grant_types and
-- scope: space-separated lists.
CREATE TABLE oauth_clients (
	id TEXT PRIMARY KEY NOT NULL,
	name TEXT NOT NULL,
	type TEXT NOT NULL CHECK (type IN ('public', 'confidential')),
	secret_hash BLOB,                     -- confidential clients only
	redirect_uris TEXT NOT NULL,
	grant_types TEXT NOT NULL,
	scope TEXT NOT NULL,
	created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
	created_at INTEGER NOT NULL
) STRICT;

-- An authorization request between GET /oauth/authorize and the user's answer: the sign-in and
-- consent forms carry its id and a CSRF token bound to it.
CREATE TABLE oauth_requests (
	id TEXT PRIMARY KEY NOT NULL,
	csrf_hash BLOB NOT NULL,
	client_id TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
	redirect_uri TEXT NOT NULL,
	state TEXT,
	scope TEXT NOT NULL,
	challenge TEXT,
	user_id TEXT REFERENCES users (id) ON DELETE CASCADE, -- set once the user signed in
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT;

-- Authorization codes: single use, short-lived. session_id names the session (refresh token
-- family) the exchange opened, so that a replayed code can revoke it.
CREATE TABLE oauth_codes (
	hash BLOB PRIMARY KEY NOT NULL,
	client_id TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
	redirect_uri TEXT NOT NULL,
	challenge TEXT,
	scope TEXT NOT NULL,
	user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at INTEGER,
	session_id TEXT
) STRICT;

-- A session opened by an OAuth client carries the client and the scopes granted; refreshing
-- keeps them. NULL for first-party sign-ins (every scope the role has).
ALTER TABLE sessions ADD COLUMN client_id TEXT;
ALTER TABLE sessions ADD COLUMN scope TEXT;
CREATE INDEX sessions_by_client ON sessions (client_id);

-- App passwords / API keys: ta_<id>_<secret>, stored as the SHA-256 of the secret.
CREATE TABLE api_keys (
	id TEXT PRIMARY KEY NOT NULL,
	user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	scope TEXT NOT NULL,
	hash BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	last_used_at INTEGER
) STRICT;
CREATE INDEX api_keys_by_user ON api_keys (user_id, id);

-- Security events (sign-ins, failures, revocations, role changes …): who, what, when, from
-- where, details. Never a secret. user_id is not a foreign key: the trail outlives accounts.
CREATE TABLE audit_events (
	id TEXT PRIMARY KEY NOT NULL,         -- ULID: sorts by time
	at INTEGER NOT NULL,
	event TEXT NOT NULL,
	user_id TEXT,
	peer TEXT,
	detail TEXT
) STRICT;
CREATE INDEX audit_events_by_user ON audit_events (user_id, id);
CREATE INDEX audit_events_by_event ON audit_events (event, id);
