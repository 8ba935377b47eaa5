/* config.h — tonearm's configuration: one plain struct, parsed at the edge and injected.
 *
 * No module reads a global configuration: the command line builds a struct config and hands
 * each module the fields it needs. Keys come from four sources, weakest first: the defaults,
 * a file, the environment (TONEARM_<KEY>), and command-line flags. A value is only replaced by
 * one from an equal or stronger source, so precedence is flag > environment > file > default
 * whatever order the sources are loaded in; the command line calls
 *   config_init → config_load_file → config_load_env → config_set (per flag) → config_finish.
 *
 * The file format: one `key = value` a line; blank lines and lines starting with '#' are
 * ignored; whitespace around keys and values is trimmed; a value may be double-quoted (to
 * keep surrounding spaces or start with '"'), with \" and \\ as its only escapes, and only
 * whitespace or a # comment after the closing quote. An unquoted value is taken literally to
 * the end of the line ('#' included). A key given twice in one file is an error.
 *
 * Value types: strings (valid UTF-8, no control characters); booleans true/false/yes/no/on/
 * off/1/0 (any case); integers in a per-key range; sizes in bytes as a whole number with an
 * optional unit, any case: k/KiB = 1024, m/MiB = 1024², g/GiB = 1024³, t/TiB = 1024⁴, and the
 * decimal KB = 1000, MB = 1000², GB = 1000³, TB = 1000⁴ ("16MiB", "512k", "123"); durations
 * as a whole number with ms, s, m or h, a bare number meaning seconds ("10s", "250ms", "5").
 *
 * Every error names where it came from and the key: `tonearm.conf:7: unknown key "listne"
 * (did you mean "listen"?)`, `environment variable TONEARM_MAX_BODY: key "max_body": …`.
 * A failed load leaves the struct as it was.
 *
 * Not thread-safe: build it at start-up, then only read it.
 *
 * Adding a key is one line in CONFIG_KEYS below: it makes the struct field, the file key, the
 * TONEARM_<KEY> variable, the help line, and the dump line.
 */
#ifndef TONEARM_BASE_CONFIG_H
#define TONEARM_BASE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"

/* The field type each kind of key is stored as. */
#define CONFIG_CTYPE_STRING const char *  /* owned by the config */
#define CONFIG_CTYPE_PATH const char *    /* a non-empty path; made absolute by config_finish */
#define CONFIG_CTYPE_URL const char *     /* scheme checked per key; "" = derive (db, store) */
#define CONFIG_CTYPE_SECRET const char *  /* never printed: config_print shows (set)/(unset) */
#define CONFIG_CTYPE_ENUM int             /* index into the key's choices */
#define CONFIG_CTYPE_BOOL bool
#define CONFIG_CTYPE_INT int              /* within [min, max] */
#define CONFIG_CTYPE_SIZE uint64_t        /* bytes, within [min, max] */
#define CONFIG_CTYPE_DURATION int64_t     /* milliseconds, within [min, max] */

#define CONFIG_GIB (1024LL * 1024 * 1024)
#define CONFIG_TIB (1024LL * CONFIG_GIB)
#define CONFIG_HOUR_MS (3600LL * 1000)

/* The keys: X(name, kind, default, min, max, choices, help). min and max bound INT, SIZE (in
 * bytes) and DURATION (in milliseconds); choices ("a|b|c") are an ENUM's values, in the order
 * of the ints they are stored as. The default is text, parsed like any other value. */
#define CONFIG_KEYS(X)                                                                                                                                                               \
	X(listen,           STRING,   "127.0.0.1:8080", 0, 0,              NULL,                    "address:port to listen on ([v6]:port for IPv6)")                                \
	X(data,             PATH,     "./var",          0, 0,              NULL,                    "data folder: database and objects live here unless db/store say otherwise")     \
	X(db,               URL,      "",               0, 0,              NULL,                    "database: sqlite:///path or postgres://… (default sqlite://<data>/tonearm.db)") \
	X(store,            URL,      "",               0, 0,              NULL,                    "object store: file:///path or s3://bucket… (default file://<data>/objects)")    \
	X(cache,            URL,      "memory://",      0, 0,              NULL,                    "cache and rate-limit state: memory:// or redis://host:port")                    \
	X(log_level,        ENUM,     "info",           0, 0,              "debug|info|warn|error", "least severe log level written (enum log_level)")                               \
	X(access_log,       BOOL,     "true",           0, 0,              NULL,                    "log one line per HTTP request")                                                 \
	X(threads,          INT,      "0",              0, 256,            NULL,                    "event loops; 0 = one per core")                                                 \
	X(handler_threads,  INT,      "0",              0, 1024,           NULL,                    "blocking handler pool; 0 = two per core")                                       \
	X(max_body,         SIZE,     "16MiB",          1, CONFIG_TIB,     NULL,                    "largest request body accepted")                                                 \
	X(max_json,         SIZE,     "1MiB",           1, CONFIG_GIB,     NULL,                    "largest JSON request body parsed")                                              \
	X(shutdown_timeout, DURATION, "10s",            0, CONFIG_HOUR_MS, NULL,                    "how long a graceful stop waits for requests in flight")                         \
	X(rate_ip_rps,      INT,      "100",            0, 1000000,        NULL,                    "requests a second per client address (token refill); 0 = no limit")               \
	X(rate_ip_burst,    INT,      "200",            1, 10000000,       NULL,                    "requests a client address may make at once (bucket size)")                        \
	X(rate_user_rps,    INT,      "50",             0, 1000000,        NULL,                    "requests a second per signed-in account; 0 = no limit")                           \
	X(rate_user_burst,  INT,      "100",            1, 10000000,       NULL,                    "requests an account may make at once")                                            \
	X(rate_login_per_min, INT,      "30",             0, 100000,         NULL,                    "sign-in attempts a minute per client address (also the burst); 0 = off")        \
	X(rate_register_per_min, INT,      "10",             0, 100000,         NULL,                    "registrations a minute per client address (also the burst); 0 = off")        \
	X(rate_refresh_per_min, INT,      "60",             0, 100000,         NULL,                    "token refreshes and password changes a minute per address; 0 = off")          \
	X(rate_exempt,      STRING,   "healthz,readyz,metrics", 0, 0,              NULL,                    "route names never rate-limited, comma-separated")                         \
	X(trusted_proxies,  STRING,   "",               0, 0,              NULL,                    "proxy addresses whose X-Forwarded-For is believed, comma-separated")              \
	X(max_conns_per_ip, INT,      "256",            0, 1000000,        NULL,                    "open connections per client address; 0 = no limit")                               \
	X(request_timeout,  DURATION, "10s",            100, CONFIG_HOUR_MS, NULL,                    "an HTTP/1 request head and body must arrive within this (slow clients)")        \
	X(idle_timeout,     DURATION, "30s",            100, CONFIG_HOUR_MS, NULL,                    "an HTTP/2 connection with no request is closed after this")                     \
	X(tls_cert,         STRING,   "",               0, 0,              NULL,                    "PEM certificate chain: with tls_key the listener speaks HTTPS (TLS 1.2/1.3)")     \
	X(tls_key,          STRING,   "",               0, 0,              NULL,                    "PEM private key for tls_cert")                                                    \
	X(cors_origins,     STRING,   "",               0, 0,              NULL,                    "origins allowed to call the API from a browser (exact, comma-separated)")         \
	X(login_throttle_after, INT,      "5",              1, 1000,           NULL,                    "failed sign-ins (per account and address) before delays start")               \
	X(login_throttle_max, DURATION, "60s",            1000, CONFIG_HOUR_MS, NULL,                    "longest sign-in delay after repeated failures")                              \
	X(db_pool,          INT,      "8",              1, 1000,           NULL,                    "PostgreSQL connections per process")                                            \
	X(db_busy_timeout,  DURATION, "5s",             0, CONFIG_HOUR_MS, NULL,                    "how long a database call waits for a lock")                                     \
	X(s3_access_key,    SECRET,   "",               0, 0,              NULL,                    "S3 access key id")                                                              \
	X(s3_secret_key,    SECRET,   "",               0, 0,              NULL,                    "S3 secret access key")                                                          \
	X(s3_region,        STRING,   "us-east-1",      0, 0,              NULL,                    "S3 region used in request signatures")                                          \
	X(registration,     ENUM,     "open",           0, 0,              "open|invite|closed",    "who may create an account: anyone, holders of an invitation, or nobody")        \
	X(issuer,           STRING,   "tonearm",        0, 0,              NULL,                    "iss claim of the access tokens this server signs and accepts")                  \
	X(public_url,       STRING,   "",               0, 0,              NULL,                    "base URL clients reach this server at (OAuth issuer); \"\" = http://<listen>") \
	X(mail,             URL,      "",               0, 0,              NULL,                    "mailer: outbox:///folder, smtp://user:pass@host:port or smtps://… (default outbox://<data>/outbox)") \
	X(mail_from,        STRING,   "tonearm@localhost", 0, 0,           NULL,                    "From: address of the mail this server sends")                                  \
	X(verify_token_ttl, DURATION, "24h",            1000, 720 * CONFIG_HOUR_MS, NULL,           "how long an e-mail verification link stays valid")                              \
	X(reset_token_ttl,  DURATION, "1h",             1000, 24 * CONFIG_HOUR_MS, NULL,            "how long a password reset link stays valid")                                    \
	X(access_token_ttl, DURATION, "15m",            60000, 24 * CONFIG_HOUR_MS, NULL,           "lifetime of an access token (JWT)")                                             \
	X(refresh_token_ttl, DURATION, "720h",          60000, 8760 * CONFIG_HOUR_MS, NULL,         "lifetime of a refresh token; each use renews it")                               \
	X(argon2_memory,    INT,      "19456",          1024, 4194304,     NULL,                    "Argon2id memory per password hash, KiB (19456 = OWASP's minimum)")              \
	X(argon2_iterations, INT,     "2",              1, 100,            NULL,                    "Argon2id passes over the memory")                                               \
	X(argon2_parallelism, INT,    "1",              1, 64,             NULL,                    "Argon2id lanes")                                                                \
	X(admin_password,   SECRET,   "",               0, 0,              NULL,                    "password of the first admin account, used once when none exists (else generated)") \
	X(upload_max_size,  SIZE,     "2GiB",           0, CONFIG_TIB,     NULL,                    "largest file accepted by an upload (tus Upload-Length)")                        \
	X(upload_expiry,    DURATION, "24h",            1, 720 * CONFIG_HOUR_MS, NULL,              "how long an unfinished upload is kept before it expires") \
	X(workers,          INT,      "1",              0, 256,            NULL,                    "job worker threads inside serve (0 = none: run `tonearm worker` instead)")     \
	X(job_lease,        DURATION, "30s",            500, CONFIG_HOUR_MS, NULL,                  "a claimed job is retried elsewhere if its worker is silent this long")           \
	X(test_jobs,        BOOL,     "false",          0, 0,              NULL,                    "(tests only) enable the sleep job kind and test enqueueing") \
	X(ladder,           STRING,   "aac:64,aac:128,aac:256,flac", 0, 0, NULL,                    "renditions per track: aac:KBPS (16-320) rungs and flac (lossless sources only)") \
	X(segment_seconds,  INT,      "6",              1, 30,             NULL,                    "HLS segment length, seconds (cut on the AAC frame grid, aligned across renditions)") \
	X(live_cache_max,   SIZE,     "1GiB",           0, CONFIG_TIB,     NULL,                    "most the on-the-fly transcodes kept under live/ may take; the oldest go past it (0 = keep none)") \
	X(track_json_cache, SIZE,     "16MiB",          0, CONFIG_GIB,     NULL,                    "most memory the rendered JSON of tracks kept for browse pages may take (0 = keep none)") \
	X(master_key,       SECRET,   "",               0, 0,              NULL,                    "64 hex chars wrapping the per-track stream keys; \"\" = <data>/master.key (made once; set it with S3/PostgreSQL)")

enum config_key {
#define CONFIG_KEY_ENUM(name, ...) CONFIG_KEY_##name,
	CONFIG_KEYS(CONFIG_KEY_ENUM)
#undef CONFIG_KEY_ENUM
	CONFIG_KEY_COUNT
};

/* Where a key's value came from, weakest first. DERIVED: computed by config_finish. */
enum config_source { CONFIG_SRC_DEFAULT, CONFIG_SRC_FILE, CONFIG_SRC_ENV, CONFIG_SRC_FLAG, CONFIG_SRC_DERIVED };

/* One field per key, named as the key. Read the fields freely; change them only through the
 * functions below. Never copy the struct by value (it owns its strings): pass pointers. */
struct config {
#define CONFIG_FIELD(name, kind, ...) CONFIG_CTYPE_##kind name;
	CONFIG_KEYS(CONFIG_FIELD)
#undef CONFIG_FIELD
	/* private to config.c */
	enum config_source source[CONFIG_KEY_COUNT];
	char *owned[CONFIG_KEY_COUNT];
};

/* The defaults. Cannot fail; string fields point at constants until something sets them. */
void config_init(struct config *c);

/* Free what the config owns (secrets are wiped first) and reset it to the defaults. */
void config_release(struct config *c);

/* Read `key = value` lines from the file at `path` (at most 1 MiB), naming `path` in errors.
 * -1 with ERR_NOT_FOUND / ERR_IO when it cannot be read, ERR_TOO_LARGE over 1 MiB, ERR_INVALID
 * for its content (the first bad line: an unknown key, a malformed line, a bad value, a key
 * given twice, a NUL byte, a line over 4 KiB). On -1 the config is unchanged. */
int config_load_file(struct config *c, const char *path, struct err *e);

/* The same from `len` bytes of `text`; `origin` names it in errors ("tonearm.conf"). */
int config_load_text(struct config *c, const char *text, size_t len, const char *origin, struct err *e);

/* Every TONEARM_<KEY> variable of `envp` (a NULL-terminated "NAME=value" array as main's third
 * argument or `environ`; NULL means `environ`). A TONEARM_ variable that names no key is an
 * error, unless it is read elsewhere (TONEARM_CONFIG, the file path, read by the command
 * line; add such names to the list in config.c). On -1 the config is unchanged. */
int config_load_env(struct config *c, char *const *envp, struct err *e);

/* Set one key from a command-line flag (source CONFIG_SRC_FLAG); '-' in `key` reads as '_'
 * (--max-body → max_body). `origin` (e.g. "--max-body") names it in errors. -1 with
 * ERR_INVALID for an unknown key or a bad value; the config is then unchanged. */
int config_set(struct config *c, const char *key, const char *value, const char *origin, struct err *e);

/* True when `key` names a configuration key ('-' read as '_', as config_set does): lets the
 * command line tell configuration flags from a command's own options. */
bool config_key_exists(const char *key);

/* Complete and check the configuration once every source is loaded: make `data` absolute,
 * derive db (sqlite://<data>/tonearm.db) and store (file://<data>/objects) when they are
 * empty, and validate what only makes sense whole: listen is host:port or [v6]:port with port
 * 0–65535; db is sqlite://, postgres://, postgresql:// or sqlite::memory:; store is file:// or
 * s3://; cache is memory://, redis:// or rediss://. The derived file:// URL is percent-encoded
 * (RFC 8089: a space is %20); the derived sqlite:// URL holds the path as it is, which is how
 * db/ reads it. -1 with ERR_INVALID naming the key (ERR_NOMEM, ERR_IO
 * when the working directory cannot be read). Calling it again is harmless. */
int config_finish(struct config *c, struct err *e);

/* The effective configuration, one `key = value  (source)` line per key in table order.
 * Secrets print as (set)/(unset); a password inside a URL (user:password@ or a
 * password/secret/token query parameter) prints as "(secret)". */
void config_print(const struct config *c, FILE *out);

/* Every key with its type, default and one-line help, for `tonearm help config`. */
void config_help(FILE *out);

/* Where `key`'s value came from (CONFIG_SRC_DEFAULT for an unknown key), and that source's
 * name ("default", "file", "environment", "flag", "derived"). */
enum config_source config_source_of(const struct config *c, const char *key);
const char *config_source_name(enum config_source src);

/* Split a listen address ("127.0.0.1:8080", "[::1]:0", "localhost:80") into its host
 * (without brackets, NUL-terminated in `host` of `cap` bytes) and port. -1 with ERR_INVALID
 * saying what is wrong, or when the host does not fit. */
int config_parse_listen(const char *s, char *host, size_t cap, unsigned *port, struct err *e);

#endif
