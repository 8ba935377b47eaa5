/* sql.h — the placeholders of portable SQL (private to src/db/).
 *
 * tonearm writes SQL once, with PostgreSQL's numbered placeholders `$1 … $N`. SQLite
 * understands the same numbers as `?1 … ?N`, so its backend rewrites them; the PostgreSQL
 * backend only needs to know how many there are. Both need the same scanner: one that
 * knows which `$` is a placeholder and which sits in a literal, a quoted identifier, a
 * dollar-quoted string, a comment, or an identifier like `a$1`.
 */
#ifndef TONEARM_DB_SQL_H
#define TONEARM_DB_SQL_H

#include "base/buf.h"
#include "base/err.h"

/* The highest placeholder number accepted: SQLite's default limit (PostgreSQL allows 65535). */
#define DB_SQL_MAX_PARAM 32766

/* Scan `sql` for `$N` placeholders outside literals ('…', E'…' with backslash escapes,
 * $tag$…$tag$), quoted identifiers ("…", `…`) and comments (-- to end of line, nested
 * slash-star). When `out` is not NULL, append to it the SQL with every `$N` written `?N`.
 * *max_param gets the highest N, 0 when there is none. An unterminated literal or comment
 * ends the scan quietly: the database reports the syntax error. Returns 0, or -1 with *e
 * set: ERR_INVALID for `$0` or a number above DB_SQL_MAX_PARAM, ERR_NOMEM when `out`
 * cannot grow. */
int db_sql_placeholders(const char *sql, struct buf *out, int *max_param, struct err *e);

#endif
