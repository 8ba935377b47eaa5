/* migrate.h — versioned schema migrations, embedded in the binary.
 *
 * Each step is one SQL file per backend, src/db/migrations/<backend>/NNNN_name.sql; the build
 * embeds them all into db_migrations[] (cmake/embed_migrations.cmake). db_migrate() applies the
 * steps a database lacks, each in its own transaction, and records version, name and the
 * SHA-256 of the SQL; a recorded step whose SQL has since changed is refused, naming it.
 */
#ifndef TONEARM_DB_MIGRATE_H
#define TONEARM_DB_MIGRATE_H

struct db_migration {
	const char *backend; /* "sqlite" or "postgres"; NULL ends the table */
	int version;
	const char *name;
	const char *sql;
};

/* Every backend's migrations in version order, ending with a zeroed entry. */
extern const struct db_migration db_migrations[];

#endif
