#include "base/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/config_value.h"
#include "base/log.h"
#include "base/utf8.h"

#define CONFIG_FILE_MAX ((size_t)1 << 20)
#define CONFIG_LINE_MAX 4096

enum config_kind {
	CONFIG_KIND_STRING,
	CONFIG_KIND_PATH,
	CONFIG_KIND_URL,
	CONFIG_KIND_SECRET,
	CONFIG_KIND_ENUM,
	CONFIG_KIND_BOOL,
	CONFIG_KIND_INT,
	CONFIG_KIND_SIZE,
	CONFIG_KIND_DURATION,
};

static const char *const kind_names[] = { "string", "path", "url", "secret", "enum",
					  "bool",   "int",  "size", "duration" };

struct key_info {
	const char *name;
	enum config_kind kind;
	const char *def;
	int64_t min, max;
	const char *choices;
	const char *help;
	size_t offset;
};

static const struct key_info keys[CONFIG_KEY_COUNT] = {
#define CONFIG_ROW(n, k, d, lo, hi, ch, h) { #n, CONFIG_KIND_##k, d, lo, hi, ch, h, offsetof(struct config, n) },
	CONFIG_KEYS(CONFIG_ROW)
#undef CONFIG_ROW
};

/* TONEARM_ variables that are not keys because another part of tonearm reads them. One line
 * each; config_load_env() lets them pass. */
static const char *const env_elsewhere[] = {
	"TONEARM_CONFIG", /* the configuration file's path: the command line reads it */
	NULL,
};

/* A file's keys given so far are a bit set. */
_Static_assert(CONFIG_KEY_COUNT <= 64, "more than 64 keys: widen the `seen` set in load_lines");
/* log_level's choices are written in enum log_level's order. */
_Static_assert(LOG_DEBUG == 0 && LOG_INFO == 1 && LOG_WARN == 2 && LOG_ERROR == 3, "log levels moved");

union value {
	const char *s;
	int i;
	bool b;
	int64_t d;
	uint64_t z;
};

static void *field(struct config *c, enum config_key k)
{
	return (char *)c + keys[k].offset;
}

static const void *cfield(const struct config *c, enum config_key k)
{
	return (const char *)c + keys[k].offset;
}

static bool is_text(enum config_kind kind)
{
	return kind == CONFIG_KIND_STRING || kind == CONFIG_KIND_PATH || kind == CONFIG_KIND_URL ||
	       kind == CONFIG_KIND_SECRET;
}

/* ---- per-key checks beyond the type ---- */

static int check_key(enum config_key k, const char *v, char *why, size_t cap)
{
	struct err e = ERR_INIT;
	char host[256];
	unsigned port;

	switch (k) {
	case CONFIG_KEY_listen:
		if (config_parse_listen(v, host, sizeof(host), &port, &e) < 0) {
			size_t n = strnlen(e.msg, cap - 1);
			memcpy(why, e.msg, n);
			why[n] = '\0';
			return -1;
		}
		return 0;
	case CONFIG_KEY_db:
		/* db/ also takes SQLite's in-memory database, for tests */
		if (!*v || strcmp(v, "sqlite::memory:") == 0)
			return 0;
		return config_check_url(v, "sqlite|postgres|postgresql", true, why, cap);
	case CONFIG_KEY_store:
		return *v ? config_check_url(v, "file|s3", true, why, cap) : 0;
	case CONFIG_KEY_cache:
		return config_check_url(v, "memory|redis|rediss", false, why, cap);
	default:
		return 0;
	}
}

/* ---- one value ---- */

static int parse_value(enum config_key k, const char *text, union value *v, char *why, size_t cap)
{
	const struct key_info *ki = &keys[k];
	int64_t n;

	switch (ki->kind) {
	case CONFIG_KIND_PATH:
		if (!*text) {
			snprintf(why, cap, "expected a path, got an empty value");
			return -1;
		}
		/* fall through */
	case CONFIG_KIND_STRING:
	case CONFIG_KIND_URL:
	case CONFIG_KIND_SECRET:
		if (config_check_text(text, why, cap) < 0 || check_key(k, text, why, cap) < 0)
			return -1;
		v->s = text;
		return 0;
	case CONFIG_KIND_ENUM:
		return config_parse_enum(text, ki->choices, &v->i, why, cap);
	case CONFIG_KIND_BOOL:
		return config_parse_bool(text, &v->b, why, cap);
	case CONFIG_KIND_INT:
		if (config_parse_int(text, ki->min, ki->max, &n, why, cap) < 0)
			return -1;
		v->i = (int)n;
		return 0;
	case CONFIG_KIND_SIZE:
		return config_parse_size(text, (uint64_t)ki->min, (uint64_t)ki->max, &v->z, why, cap);
	case CONFIG_KIND_DURATION:
		return config_parse_duration(text, ki->min, ki->max, &v->d, why, cap);
	}
	snprintf(why, cap, "unknown kind of key");
	return -1;
}

static void drop_owned(struct config *c, enum config_key k)
{
	if (c->owned[k] && keys[k].kind == CONFIG_KIND_SECRET)
		OPENSSL_cleanse(c->owned[k], strlen(c->owned[k]));
	free(c->owned[k]);
	c->owned[k] = NULL;
}

/* Store a parsed value; -1 only when a string cannot be copied. */
static int store_value(struct config *c, enum config_key k, const union value *v, enum config_source src)
{
	void *f = field(c, k);

	switch (keys[k].kind) {
	case CONFIG_KIND_STRING:
	case CONFIG_KIND_PATH:
	case CONFIG_KIND_URL:
	case CONFIG_KIND_SECRET: {
		char *copy = strdup(v->s);
		if (!copy)
			return -1;
		drop_owned(c, k);
		c->owned[k] = copy;
		*(const char **)f = copy;
		break;
	}
	case CONFIG_KIND_ENUM:
	case CONFIG_KIND_INT:
		*(int *)f = v->i;
		break;
	case CONFIG_KIND_BOOL:
		*(bool *)f = v->b;
		break;
	case CONFIG_KIND_SIZE:
		*(uint64_t *)f = v->z;
		break;
	case CONFIG_KIND_DURATION:
		*(int64_t *)f = v->d;
		break;
	}
	c->source[k] = src;
	return 0;
}

/* How strong a source is; a derived value stands in for the default. */
static int rank(enum config_source src)
{
	return src == CONFIG_SRC_DERIVED ? CONFIG_SRC_DEFAULT : (int)src;
}

/* Parse `text` for key `k`; when `apply`, store it unless a stronger source set the key. */
static int set_key(struct config *c, enum config_key k, const char *text, enum config_source src, bool apply,
		   const char *where, struct err *e)
{
	char why[CONFIG_WHY_MAX];
	union value v;

	if (parse_value(k, text, &v, why, sizeof(why)) < 0)
		return err_set(e, ERR_INVALID, "%s: key \"%s\": %s", where, keys[k].name, why);
	if (!apply || rank(src) < rank(c->source[k]))
		return 0;
	if (store_value(c, k, &v, src) < 0)
		return err_set(e, ERR_NOMEM, "%s: key \"%s\": out of memory", where, keys[k].name);
	return 0;
}

void config_init(struct config *c)
{
	memset(c, 0, sizeof(*c));
	for (int k = 0; k < CONFIG_KEY_COUNT; k++) {
		char why[CONFIG_WHY_MAX];
		union value v;

		/* The defaults are constants that the unit tests parse; strings are not copied. */
		if (is_text(keys[k].kind))
			*(const char **)field(c, (enum config_key)k) = keys[k].def;
		else if (parse_value((enum config_key)k, keys[k].def, &v, why, sizeof(why)) == 0)
			store_value(c, (enum config_key)k, &v, CONFIG_SRC_DEFAULT);
		c->source[k] = CONFIG_SRC_DEFAULT;
	}
}

void config_release(struct config *c)
{
	for (int k = 0; k < CONFIG_KEY_COUNT; k++)
		drop_owned(c, (enum config_key)k);
	config_init(c);
}

/* ---- key names ---- */

static int find_key(const char *name, size_t len)
{
	for (int k = 0; k < CONFIG_KEY_COUNT; k++) {
		if (strlen(keys[k].name) == len && memcmp(keys[k].name, name, len) == 0)
			return k;
	}
	return -1;
}

/* Edit distance, for "did you mean": names are short, so the plain quadratic table. */
static size_t distance(const char *a, size_t la, const char *b)
{
	size_t lb = strlen(b), row[65];

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + ((a[i - 1] | 0x20) != (b[j - 1] | 0x20));
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* The key closest to a misspelt name, or NULL if none is close. */
static const char *suggest(const char *name, size_t len)
{
	const char *best = NULL;
	size_t best_d = 3;

	for (int k = 0; k < CONFIG_KEY_COUNT; k++) {
		size_t d = distance(name, len, keys[k].name);
		if (d < best_d) {
			best_d = d;
			best = keys[k].name;
		}
	}
	return best;
}

/* `s` (len bytes) as valid UTF-8 for a message, cut to `cap`. */
static const char *printable(const char *s, size_t len, char *tmp, size_t cap)
{
	utf8_sanitize(tmp, cap, s, len);
	return tmp;
}

static int unknown_key(struct err *e, const char *where, const char *name, size_t len)
{
	char shown[80], hint[100] = "";
	const char *near = suggest(name, len);

	if (near)
		snprintf(hint, sizeof(hint), " (did you mean \"%s\"?)", near);
	return err_set(e, ERR_INVALID, "%s: unknown key \"%s\"%s", where, printable(name, len, shown, sizeof(shown)),
		       hint);
}

/* ---- the file format ---- */

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Split one line in place: 0 for a blank or comment line, 1 with *key and *value set, -1 with
 * the reason in `why`. */
static int split_line(char *line, char **key, size_t *key_len, char **value, char *why, size_t cap)
{
	char *p = line, *eq, *end;

	while (is_space(*p))
		p++;
	if (!*p || *p == '#')
		return 0;
	eq = strchr(p, '=');
	if (!eq) {
		snprintf(why, cap, "expected \"key = value\"");
		return -1;
	}
	end = eq;
	while (end > p && is_space(end[-1]))
		end--;
	for (char *q = p; q < end; q++) {
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
		      *q == '_' || *q == '-' || *q == '.')) {
			snprintf(why, cap, "expected \"key = value\" with a key of letters, digits and _");
			return -1;
		}
	}
	if (end == p) {
		snprintf(why, cap, "expected \"key = value\", found no key");
		return -1;
	}
	*key = p;
	*key_len = (size_t)(end - p);

	p = eq + 1;
	while (is_space(*p))
		p++;
	if (*p != '"') {
		end = p + strlen(p);
		while (end > p && is_space(end[-1]))
			end--;
		*end = '\0';
		*value = p;
		return 1;
	}
	/* "quoted", with \" and \\ only, unescaped in place */
	char *out = p, *in = p + 1;
	for (;; in++) {
		if (!*in) {
			snprintf(why, cap, "unterminated quoted value");
			return -1;
		}
		if (*in == '"')
			break;
		if (*in == '\\') {
			in++;
			if (*in != '"' && *in != '\\') {
				snprintf(why, cap, "unknown escape in quoted value (only \\\" and \\\\)");
				return -1;
			}
		}
		*out++ = *in;
	}
	for (in++; is_space(*in); in++)
		;
	if (*in && *in != '#') {
		snprintf(why, cap, "unexpected text after the closing quote");
		return -1;
	}
	*out = '\0';
	*value = p;
	return 1;
}

static int load_lines(struct config *c, const char *text, size_t len, const char *origin, bool apply,
		      struct err *e)
{
	char line[CONFIG_LINE_MAX + 1], where[300], why[CONFIG_WHY_MAX];
	uint64_t seen = 0;
	size_t lineno = 0, next;
	int ret = -1;

	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		text += 3, len -= 3; /* a byte-order mark some editors write */
	for (size_t pos = 0; pos < len; pos = next) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len, n = end - pos;
		char *key, *value;
		size_t key_len;
		int k, r;

		next = end + 1;
		lineno++;
		snprintf(where, sizeof(where), "%.200s:%zu", origin, lineno);
		if (n > CONFIG_LINE_MAX) {
			err_set(e, ERR_INVALID, "%s: line longer than %d bytes", where, CONFIG_LINE_MAX);
			goto out;
		}
		if (memchr(text + pos, '\0', n)) {
			err_set(e, ERR_INVALID, "%s: NUL byte in line", where);
			goto out;
		}
		if (n && text[end - 1] == '\r')
			n--;
		memcpy(line, text + pos, n);
		line[n] = '\0';
		r = split_line(line, &key, &key_len, &value, why, sizeof(why));
		if (r == 0)
			continue;
		if (r < 0) {
			err_set(e, ERR_INVALID, "%s: %s", where, why);
			goto out;
		}
		k = find_key(key, key_len);
		if (k < 0) {
			unknown_key(e, where, key, key_len);
			goto out;
		}
		if (seen & (UINT64_C(1) << k)) {
			err_set(e, ERR_INVALID, "%s: key \"%s\" given twice", where, keys[k].name);
			goto out;
		}
		seen |= UINT64_C(1) << k;
		if (set_key(c, (enum config_key)k, value, CONFIG_SRC_FILE, apply, where, e) < 0)
			goto out;
	}
	ret = 0;
out:
	OPENSSL_cleanse(line, sizeof(line)); /* it may have held a secret */
	return ret;
}

int config_load_text(struct config *c, const char *text, size_t len, const char *origin, struct err *e)
{
	if (!origin)
		origin = "config";
	if (len > CONFIG_FILE_MAX)
		return err_set(e, ERR_TOO_LARGE, "%.200s: larger than %zu bytes", origin, CONFIG_FILE_MAX);
	if (!text && len)
		return err_set(e, ERR_INVALID, "%.200s: no text", origin);
	/* Check every line first, then apply: a bad line leaves the config untouched. */
	if (load_lines(c, text ? text : "", len, origin, false, e) < 0)
		return -1;
	return load_lines(c, text ? text : "", len, origin, true, e);
}

int config_load_file(struct config *c, const char *path, struct err *e)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	int ret = -1, fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return err_errno(e, errno == ENOENT ? ERR_NOT_FOUND : ERR_IO, errno, "%.200s", path);
	if (fstat(fd, &st) < 0) {
		err_errno(e, ERR_IO, errno, "%.200s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set(e, ERR_INVALID, "%.200s: not a regular file", path);
		goto out;
	}
	/* Read one byte past the limit, so a file that grew since fstat is still caught. */
	text = malloc(CONFIG_FILE_MAX + 1);
	if (!text) {
		err_set(e, ERR_NOMEM, "%.200s: out of memory", path);
		goto out;
	}
	while (len < CONFIG_FILE_MAX + 1) {
		ssize_t n = read(fd, text + len, CONFIG_FILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_errno(e, ERR_IO, errno, "%.200s", path);
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > CONFIG_FILE_MAX) {
		err_set(e, ERR_TOO_LARGE, "%.200s: larger than %zu bytes", path, CONFIG_FILE_MAX);
		goto out;
	}
	ret = config_load_text(c, text, len, path, e);
out:
	if (text) {
		OPENSSL_cleanse(text, len);
		free(text);
	}
	close(fd);
	return ret;
}

/* ---- the environment ---- */

/* The key named by TONEARM_<KEY> (upper-case only), or -1. */
static int env_key(const char *name, size_t len)
{
	for (int k = 0; k < CONFIG_KEY_COUNT; k++) {
		const char *kn = keys[k].name;
		size_t i = 0;

		if (strlen(kn) != len)
			continue;
		while (i < len && name[i] == (kn[i] >= 'a' && kn[i] <= 'z' ? kn[i] - 32 : kn[i]))
			i++;
		if (i == len)
			return k;
	}
	return -1;
}

static int load_env(struct config *c, char *const *envp, bool apply, struct err *e)
{
	for (char *const *v = envp; *v; v++) {
		const char *entry = *v, *eq = strchr(entry, '=');
		char where[120], shown[80];
		size_t nlen;
		bool elsewhere = false;
		int k;

		if (strncmp(entry, "TONEARM_", 8) != 0 || !eq)
			continue;
		nlen = (size_t)(eq - entry);
		for (const char *const *x = env_elsewhere; *x; x++)
			elsewhere |= strlen(*x) == nlen && memcmp(*x, entry, nlen) == 0;
		if (elsewhere)
			continue;
		k = env_key(entry + 8, nlen - 8);
		if (k < 0) {
			/* suggest() ignores case, so the upper-case name finds its key */
			const char *near = suggest(entry + 8, nlen - 8);
			char hint[100] = "";

			if (near) {
				size_t n = (size_t)snprintf(hint, sizeof(hint), " (did you mean TONEARM_%s?)", near);
				for (size_t i = 0; i < n && i < sizeof(hint); i++)
					hint[i] = (char)(hint[i] >= 'a' && hint[i] <= 'z' ? hint[i] - 32 : hint[i]);
				memcpy(hint, " (did you mean", 14);
			}
			return err_set(e, ERR_INVALID, "environment: unknown variable %s%s",
				       printable(entry, nlen, shown, sizeof(shown)), hint);
		}
		snprintf(where, sizeof(where), "environment variable %s",
			 printable(entry, nlen, shown, sizeof(shown)));
		if (set_key(c, (enum config_key)k, eq + 1, CONFIG_SRC_ENV, apply, where, e) < 0)
			return -1;
	}
	return 0;
}

int config_load_env(struct config *c, char *const *envp, struct err *e)
{
	extern char **environ;

	if (!envp)
		envp = environ;
	if (load_env(c, envp, false, e) < 0)
		return -1;
	return load_env(c, envp, true, e);
}

/* `key` with '-' read as '_' into `name`; false when it cannot be a key (too long). */
static bool flag_name(const char *key, char name[64], size_t *len)
{
	*len = key ? strlen(key) : 0;
	if (!key || *len >= 64)
		return false;
	for (size_t i = 0; i <= *len; i++)
		name[i] = key[i] == '-' ? '_' : key[i];
	return true;
}

bool config_key_exists(const char *key)
{
	char name[64];
	size_t len;

	return flag_name(key, name, &len) && find_key(name, len) >= 0;
}

int config_set(struct config *c, const char *key, const char *value, const char *origin, struct err *e)
{
	char name[64];
	size_t len;
	int k;

	if (!origin)
		origin = "command line";
	if (!flag_name(key, name, &len))
		return err_set(e, ERR_INVALID, "%.200s: unknown key", origin);
	k = find_key(name, len);
	if (k < 0)
		return unknown_key(e, origin, name, len);
	if (!value)
		return err_set(e, ERR_INVALID, "%.200s: key \"%s\": missing value", origin, keys[k].name);
	return set_key(c, (enum config_key)k, value, CONFIG_SRC_FLAG, true, origin, e);
}

/* ---- finishing ---- */

/* scheme:// + the path + tail. With `encode`, the path is percent-encoded (RFC 3986 path
 * characters stay as they are), as file:// URLs want; db/ reads a sqlite:// path as it is. */
static int derive(struct config *c, enum config_key k, const char *scheme, const char *dir, bool encode,
		  const char *tail, struct err *e)
{
	struct buf b = BUF_INIT;
	union value v;

	if (buf_adds(&b, scheme) < 0)
		goto nomem;
	for (const unsigned char *p = (const unsigned char *)dir; *p; p++) {
		bool plain = !encode || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			     strchr("/-._~!$&'()*+,;=:@", *p);
		if ((plain ? buf_addch(&b, (char)*p) : buf_addf(&b, "%%%02X", *p)) < 0)
			goto nomem;
	}
	if (buf_adds(&b, tail) < 0)
		goto nomem;
	v.s = buf_str(&b);
	if (store_value(c, k, &v, CONFIG_SRC_DERIVED) < 0)
		goto nomem;
	buf_release(&b);
	return 0;
nomem:
	buf_release(&b);
	return err_set(e, ERR_NOMEM, "key \"%s\": out of memory", keys[k].name);
}

int config_finish(struct config *c, struct err *e)
{
	char why[CONFIG_WHY_MAX];
	union value v;
	char *abs;
	int rc;

	if (!c->data || !*c->data)
		return err_set(e, ERR_INVALID, "key \"data\": expected a folder path, got an empty value");
	abs = config_absolute_path(c->data, e);
	if (!abs)
		return -1;
	v.s = abs;
	rc = store_value(c, CONFIG_KEY_data, &v, c->source[CONFIG_KEY_data]);
	free(abs);
	if (rc < 0)
		return err_set(e, ERR_NOMEM, "key \"data\": out of memory");
	if (!*c->db && derive(c, CONFIG_KEY_db, "sqlite://", c->data, false, "/tonearm.db", e) < 0)
		return -1;
	if (!*c->store && derive(c, CONFIG_KEY_store, "file://", c->data, true, "/objects", e) < 0)
		return -1;
	/* Values were checked as they were set; check again whole, since a default or a derived
	 * value never went through set_key. */
	for (int k = 0; k < CONFIG_KEY_COUNT; k++) {
		const char *s;

		if (!is_text(keys[k].kind))
			continue;
		s = *(const char *const *)cfield(c, (enum config_key)k);
		if (config_check_text(s, why, sizeof(why)) < 0 || check_key((enum config_key)k, s, why, sizeof(why)) < 0)
			return err_set(e, ERR_INVALID, "key \"%s\" (from %s): %s", keys[k].name,
				       config_source_name(c->source[k]), why);
	}
	return 0;
}

/* ---- output ---- */

static void format_value(const struct config *c, enum config_key k, struct buf *out)
{
	const void *f = cfield(c, k);
	char tmp[48];

	switch (keys[k].kind) {
	case CONFIG_KIND_SECRET:
		buf_adds(out, **(const char *const *)f ? "(set)" : "(unset)");
		break;
	case CONFIG_KIND_URL:
		config_redact_url(out, *(const char *const *)f);
		break;
	case CONFIG_KIND_STRING:
	case CONFIG_KIND_PATH:
		buf_adds(out, *(const char *const *)f);
		break;
	case CONFIG_KIND_ENUM: {
		const char *p = keys[k].choices;
		for (int i = *(const int *)f; i > 0 && p; i--)
			p = strchr(p, '|'), p = p ? p + 1 : NULL;
		if (p)
			buf_add(out, p, strcspn(p, "|"));
		break;
	}
	case CONFIG_KIND_BOOL:
		buf_adds(out, *(const bool *)f ? "true" : "false");
		break;
	case CONFIG_KIND_INT:
		buf_addf(out, "%d", *(const int *)f);
		break;
	case CONFIG_KIND_SIZE:
		config_format_size(*(const uint64_t *)f, tmp, sizeof(tmp));
		buf_adds(out, tmp);
		break;
	case CONFIG_KIND_DURATION:
		config_format_duration(*(const int64_t *)f, tmp, sizeof(tmp));
		buf_adds(out, tmp);
		break;
	}
	if (out->len == 0)
		buf_adds(out, "\"\"");
}

void config_print(const struct config *c, FILE *out)
{
	struct buf line = BUF_INIT;

	for (int k = 0; k < CONFIG_KEY_COUNT; k++) {
		buf_reset(&line);
		format_value(c, (enum config_key)k, &line);
		fprintf(out, "%s = %s  (%s)\n", keys[k].name, buf_str(&line), config_source_name(c->source[k]));
	}
	buf_release(&line);
}

void config_help(FILE *out)
{
	fprintf(out, "Configuration keys: in a file as `key = value`, in the environment as TONEARM_<KEY>,\n"
		     "on the command line as --key value (flag > environment > file > default).\n\n");
	for (int k = 0; k < CONFIG_KEY_COUNT; k++) {
		const char *def = *keys[k].def ? keys[k].def : "\"\"";

		fprintf(out, "  %-17s %-8s %-15s %s", keys[k].name, kind_names[keys[k].kind], def, keys[k].help);
		if (keys[k].kind == CONFIG_KIND_ENUM)
			fprintf(out, " (%s)", keys[k].choices);
		if (keys[k].kind == CONFIG_KIND_INT)
			fprintf(out, " (%lld–%lld)", (long long)keys[k].min, (long long)keys[k].max);
		fputc('\n', out);
	}
}

enum config_source config_source_of(const struct config *c, const char *key)
{
	int k = key ? find_key(key, strlen(key)) : -1;
	return k < 0 ? CONFIG_SRC_DEFAULT : c->source[k];
}

const char *config_source_name(enum config_source src)
{
	switch (src) {
	case CONFIG_SRC_DEFAULT: return "default";
	case CONFIG_SRC_FILE: return "file";
	case CONFIG_SRC_ENV: return "environment";
	case CONFIG_SRC_FLAG: return "flag";
	case CONFIG_SRC_DERIVED: return "derived";
	}
	return "unknown";
}
