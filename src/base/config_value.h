/* config_value.h — the value parsers and checks behind config.c (internal to base/).
 *
 * Each parser reads a whole string and either stores the value or writes why not into
 * `why` (a phrase such as `expected a size like 512k or 16MiB, got "12x"`), which config.c
 * prefixes with where the value came from and its key. Exposed for the unit tests.
 */
#ifndef TONEARM_BASE_CONFIG_VALUE_H
#define TONEARM_BASE_CONFIG_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

#define CONFIG_WHY_MAX 200

int config_parse_bool(const char *s, bool *out, char *why, size_t cap);
int config_parse_int(const char *s, int64_t min, int64_t max, int64_t *out, char *why, size_t cap);
int config_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *why, size_t cap);
int config_parse_duration(const char *s, int64_t min, int64_t max, int64_t *out, char *why, size_t cap);
/* `choices` is "a|b|c"; *out is the index of the match (any case). */
int config_parse_enum(const char *s, const char *choices, int *out, char *why, size_t cap);
/* Valid UTF-8 without control characters (what every string value must be). */
int config_check_text(const char *s, char *why, size_t cap);
/* The scheme of `url` is one of `schemes` ("sqlite|postgres|postgresql"), any case, followed
 * by "://" and, when `need_rest`, at least one more character. */
int config_check_url(const char *url, const char *schemes, bool need_rest, char *why, size_t cap);

/* The shortest spelling that parses back to the same value: "16MiB", "1500ms", "10s". */
void config_format_size(uint64_t v, char *out, size_t cap);
void config_format_duration(int64_t ms, char *out, size_t cap);

/* `path` made absolute against the working directory and cleaned lexically ("." and ".."
 * segments and repeated slashes removed; symbolic links are left alone, since the folder may
 * not exist yet). The caller frees the result; NULL with `e` set (ERR_IO, ERR_NOMEM). */
char *config_absolute_path(const char *path, struct err *e);

/* Append `url` with any password in it replaced by "(secret)". -1 if `out` is full. */
int config_redact_url(struct buf *out, const char *url);

#endif
