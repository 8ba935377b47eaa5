-- 0010 e-mail (PostgreSQL): the verified flag on accounts and the single-use tokens that mail
-- carries (e-mail verification, password reset). The SQLite file matches it.
--
-- A token is stored only as its SHA-256 (a copy of the database lets nobody verify or reset).
-- `email` is the address a verification token was sent to: verifying marks the account only
-- while its address is still that one.

ALTER TABLE users ADD COLUMN email_verified BIGINT NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1));

CREATE TABLE email_tokens (
	hash BYTEA PRIMARY KEY NOT NULL,       -- SHA-256 of the token
	user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	kind TEXT NOT NULL CHECK (kind IN ('verify', 'reset')),
	email TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at BIGINT
);
CREATE INDEX email_tokens_by_user ON email_tokens (user_id, kind);
