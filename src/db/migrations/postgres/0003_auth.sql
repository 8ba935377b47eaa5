-- 0003 identity (PostgreSQL): accounts, sessions and their refresh tokens, signing keys,
-- invitations. The PostgreSQL file declares the same tables; keep both in step.
--
-- Conventions: ids are ULIDs (TEXT); times are Unix milliseconds; flags are 0/1 integers.
-- Secrets handed to clients (refresh tokens, invitation codes) are stored only as their
-- SHA-256, so a copy of the database does not let anyone sign in.

-- keys_version changes on every key rotation: servers poll it to reload their keyring.
CREATE TABLE auth_state (
	id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
	keys_version BIGINT NOT NULL
);
INSERT INTO auth_state (id, keys_version) VALUES (1, 0);

CREATE TABLE users (
	id TEXT PRIMARY KEY NOT NULL,
	username TEXT NOT NULL,
	username_norm TEXT NOT NULL UNIQUE,   -- lower-case: names are unique ignoring case
	email TEXT,
	email_norm TEXT UNIQUE,
	password_hash TEXT NOT NULL,          -- Argon2id, PHC string form
	role TEXT NOT NULL CHECK (role IN ('admin', 'label', 'artist', 'premium', 'free')),
	disabled BIGINT NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX users_by_role ON users (role, id);

-- A session is one sign-in on one device: the family of refresh tokens rotated from it.
CREATE TABLE sessions (
	id TEXT PRIMARY KEY NOT NULL,
	user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	user_agent TEXT,
	peer TEXT,
	created_at BIGINT NOT NULL,
	last_used_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	revoked_at BIGINT
);
CREATE INDEX sessions_by_user ON sessions (user_id, id);

CREATE TABLE refresh_tokens (
	hash BYTEA PRIMARY KEY NOT NULL,       -- SHA-256 of the token
	session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at BIGINT                       -- set when rotated; presenting it again is reuse
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);

-- ES256 signing keys. The private key is PEM (PKCS#8), not yet wrapped: the server's master
-- key arrives with the streaming work and will wrap it then.
CREATE TABLE signing_keys (
	kid TEXT PRIMARY KEY NOT NULL,
	alg TEXT NOT NULL,
	private_pem TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	retired_at BIGINT                    -- NULL for the current key
);

CREATE TABLE invitations (
	id TEXT PRIMARY KEY NOT NULL,
	hash BYTEA NOT NULL UNIQUE,            -- SHA-256 of the code
	role TEXT NOT NULL CHECK (role IN ('admin', 'label', 'artist', 'premium', 'free')),
	created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at BIGINT,
	used_by TEXT REFERENCES users (id) ON DELETE SET NULL
);
