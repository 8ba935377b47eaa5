-- 0001 init (PostgreSQL). schema_migrations itself is created by src/db/migrate.c.
--
-- kv: small named values that need no table of their own (settings, markers, leases),
-- and what /readyz and the contract tests read and write.
CREATE TABLE kv (
	key TEXT PRIMARY KEY,
	value TEXT,
	updated_at BIGINT NOT NULL -- Unix time, milliseconds
);
