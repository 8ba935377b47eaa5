/* migrate.h — versioned schema migrations, embedded in the binary.
 *
 * Each step is one SQL file per backend, src/db/migrations/<backend>/NNNN_name.sql; the build
 * embeds them all into db_migrations[] (cmake/embed_migrations.cmake). db_migrate() applies the
 * steps a database lacks, all in one transaction, and records version, name and the
 * SHA-256 of the SQL; a recorded step whose SQL has since changed is refused, naming it.
 *
 * Rules for a step: never edit one that has shipped (add a new step instead); a file may
 * hold several statements; everything in it runs in one transaction, so PostgreSQL's
 * CREATE INDEX CONCURRENTLY and SQLite's VACUUM cannot be used, and SQLite's foreign_keys
 * stays on (a SQLite table rebuild uses PRAGMA defer_foreign_keys=ON instead). The table
 *   schema_migrations(version INTEGER PRIMARY KEY, name TEXT, checksum TEXT,
 *                     applied_at BIGINT -- Unix time, milliseconds)
 * is created by db_migrate itself.
 */
#ifndef TONEARM_DB_MIGRATE_H
#define TONEARM_DB_MIGRATE_H

#include <stdio.h>

#include "base/err.h"

struct db;

struct db_migration {
	const char *backend; /* "sqlite" or "postgres"; NULL ends the table */
	int version;
	const char *name;
	const char *sql;
};

/* Every backend's migrations in version order, ending with a zeroed entry. */
extern const struct db_migration db_migrations[];

/* Bring the database's schema up to date with db_migrations[] for its backend: apply, in
 * version order, each step not yet recorded in schema_migrations, with its record, all in one
 * transaction (all pending steps are applied, or none). Safe when several processes start at once (PostgreSQL: an advisory
 * lock; SQLite: BEGIN IMMEDIATE), and a no-op when nothing is pending.
 * Returns 0, or -1 with *e set, having applied none of the pending steps:
 *   ERR_CONFLICT    a recorded step's checksum differs from its file (the message names the
 *                   version and the file), or a step is missing below an applied one;
 *   ERR_UNSUPPORTED the database records a version this binary does not know (it is newer);
 *   otherwise the error of the failing SQL, prefixed with the step's file name. */
int db_migrate(struct db *db, struct err *e);

/* db_migrate with another table of steps (same shape as db_migrations[]; entries of other
 * backends are skipped): for tests and tools. */
int db_migrate_steps(struct db *db, const struct db_migration *steps, struct err *e);

/* Print one line per step to `out`: version, name, and "applied <UTC time>", "pending",
 * "CHANGED since applied", or "applied, unknown to this binary"; then a summary line.
 * Changes nothing (a database never migrated shows every step pending). 0, or -1 with *e
 * set when the database cannot be read. */
int db_migrate_status(struct db *db, FILE *out, struct err *e);

/* The same for another table of steps. */
int db_migrate_status_steps(struct db *db, const struct db_migration *steps, FILE *out,
			    struct err *e);

#endif
