-- 0001 init (SQLite). schema_migrations itself is created by src/db/migrate.c.
--
-- kv: small named values that need no table of their own (settings, markers, leases),
-- and what /readyz and the contract tests read and write. STRICT makes SQLite refuse a
-- value of the wrong type, as PostgreSQL does, so such a bug shows on both backends.
CREATE TABLE kv (
	key TEXT PRIMARY KEY NOT NULL,
	value TEXT,
	updated_at INTEGER NOT NULL -- Unix time, milliseconds
) STRICT;
