/* text.h — the catalogue's text rules: normalised names for merging, sorting and prefix
 * search, and sort names. Public so that ingest, search and tests use the very same rules. */
#ifndef TONEARM_CATALOG_TEXT_H
#define TONEARM_CATALOG_TEXT_H

#include <stddef.h>

#include "base/err.h"

/* Normalised text is cut to at most this many bytes (at a character boundary), so that it
 * fits in an index entry and a pagination cursor. */
#define CATALOG_NORM_MAX 1024

/* The normalised form of `s`: compatibility decomposition (NFKD), case folding, combining
 * marks, ignorable and control characters removed, look-alike spaces and dashes lumped into
 * ASCII, runs of whitespace collapsed to one space and trimmed. So "Björk", "bjork" and
 * " BJÖRK " all give "bjork". At most CATALOG_NORM_MAX bytes. Returns a malloc'd string the caller frees (possibly "" when
 * `s` is only whitespace or marks), or NULL with *e set: ERR_INVALID when `s` is not valid
 * UTF-8, ERR_NOMEM. */
char *catalog_normalize(const char *s, struct err *e);

/* The display sort name of `name`: a leading English article moves to the end
 * ("The Beatles" → "Beatles, The"; also "A " and "An ", any case); anything else is the
 * name itself, trimmed. Returns a malloc'd string the caller frees, NULL on out of memory. */
char *catalog_sort_name(const char *name);

/* The number of Unicode characters in valid UTF-8 `s` (a byte count for invalid input). */
size_t catalog_text_chars(const char *s);

#endif
