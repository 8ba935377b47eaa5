#include "db/sql.h"

#include <stdbool.h>
#include <string.h>

static bool ident_char(char c)
{
	/* Bytes above 0x7F belong to identifiers in both dialects (UTF-8 names). */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '$' || (unsigned char)c >= 0x80;
}

static bool ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (unsigned char)c >= 0x80;
}

/* Where the quoted run starting at sql[i] (the opening quote) ends: the index just past
 * its closing quote, or the length of the SQL when it never closes. A doubled quote stands
 * for itself; with `backslash`, so does the character after a backslash (E'…'). */
static size_t skip_quoted(const char *sql, size_t i, char q, bool backslash)
{
	for (i++; sql[i]; i++) {
		if (backslash && sql[i] == '\\' && sql[i + 1]) {
			i++;
		} else if (sql[i] == q) {
			if (sql[i + 1] != q)
				return i + 1;
			i++;
		}
	}
	return i;
}

/* PostgreSQL nests block comments; SQLite does not, but would reject such SQL anyway. */
static size_t skip_block_comment(const char *sql, size_t i)
{
	int depth = 0;

	while (sql[i]) {
		if (sql[i] == '/' && sql[i + 1] == '*') {
			depth++;
			i += 2;
		} else if (sql[i] == '*' && sql[i + 1] == '/') {
			i += 2;
			if (--depth == 0)
				return i;
		} else {
			i++;
		}
	}
	return i;
}

/* If sql[i] opens a dollar-quoted string ($$ or $tag$), the index past its end (or the
 * end of the SQL); otherwise i unchanged. */
static size_t skip_dollar_quoted(const char *sql, size_t i)
{
	size_t t = i + 1, taglen;
	const char *end;

	if (sql[t] != '$') {
		if (!ident_start(sql[t]))
			return i;
		while (sql[t] && sql[t] != '$' && ident_char(sql[t]))
			t++;
		if (sql[t] != '$')
			return i;
	}
	taglen = t + 1 - i; /* "$tag$" including both dollars */
	end = sql + t + 1;
	for (;;) {
		end = strchr(end, '$');
		if (!end)
			return i + strlen(sql + i);
		if (strncmp(end, sql + i, taglen) == 0)
			return (size_t)(end - sql) + taglen;
		end++;
	}
}

int db_sql_placeholders(const char *sql, struct buf *out, int *max_param, struct err *e)
{
	size_t i = 0, copied = 0, next;
	int max = 0;

	*max_param = 0;
	while (sql[i]) {
		char c = sql[i];

		next = i + 1;
		if (c == '\'') {
			/* E'…' (PostgreSQL) lets a backslash escape the quote. */
			bool esc = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
				   (i < 2 || !ident_char(sql[i - 2]));
			next = skip_quoted(sql, i, '\'', esc);
		} else if (c == '"' || c == '`') {
			next = skip_quoted(sql, i, c, false);
		} else if (c == '-' && sql[i + 1] == '-') {
			const char *nl = strchr(sql + i, '\n');
			next = nl ? (size_t)(nl - sql) + 1 : i + strlen(sql + i);
		} else if (c == '/' && sql[i + 1] == '*') {
			next = skip_block_comment(sql, i);
		} else if (c == '$' && (i == 0 || !ident_char(sql[i - 1]))) {
			if (sql[i + 1] >= '0' && sql[i + 1] <= '9') {
				long n = 0;

				next = i + 1;
				while (sql[next] >= '0' && sql[next] <= '9') {
					n = n * 10 + (sql[next] - '0');
					if (n > DB_SQL_MAX_PARAM)
						return err_set(e, ERR_INVALID,
							       "placeholder at offset %zu: numbers go up to $%d",
							       i, DB_SQL_MAX_PARAM);
					next++;
				}
				if (n == 0)
					return err_set(e, ERR_INVALID,
						       "placeholder at offset %zu: $0 (they start at $1)", i);
				if (n > max)
					max = (int)n;
				if (out) {
					if (buf_add(out, sql + copied, i - copied) < 0 ||
					    buf_addf(out, "?%ld", n) < 0)
						return err_set(e, ERR_NOMEM, "rewriting placeholders: out of memory");
					copied = next;
				}
			} else {
				next = skip_dollar_quoted(sql, i);
				if (next == i)
					next = i + 1;
			}
		}
		i = next;
	}
	if (out && buf_add(out, sql + copied, i - copied) < 0)
		return err_set(e, ERR_NOMEM, "rewriting placeholders: out of memory");
	*max_param = max;
	return 0;
}
