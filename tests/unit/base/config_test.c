/* config: defaults, the file format, the environment, flags, precedence, derivation, every
 * error naming its origin and key, and the value parsers' edges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "base/config_value.h"
#include "base/log.h"

static int load(struct config *c, const char *text, struct err *e)
{
	return config_load_text(c, text, strlen(text), "tonearm.conf", e);
}

/* Loading `text` fails with exactly `msg`, and leaves the config at its defaults. */
static void load_fails(const char *text, const char *msg)
{
	struct config c;
	struct err e = ERR_INIT;

	config_init(&c);
	if (load(&c, text, &e) != -1)
		fail_msg("accepted: %s", text);
	assert_int_equal(e.code, ERR_INVALID);
	assert_string_equal(e.msg, msg);
	assert_string_equal(c.listen, "127.0.0.1:8080");
	assert_int_equal(c.source[CONFIG_KEY_listen], CONFIG_SRC_DEFAULT);
	config_release(&c);
}

static void test_defaults(void **state)
{
	(void)state;
	struct config c;
	struct err e = ERR_INIT;

	config_init(&c);
	assert_string_equal(c.listen, "127.0.0.1:8080");
	assert_string_equal(c.data, "./var");
	assert_string_equal(c.db, "");
	assert_string_equal(c.store, "");
	assert_string_equal(c.cache, "memory://");
	assert_int_equal(c.log_level, LOG_INFO);
	assert_true(c.access_log);
	assert_int_equal(c.threads, 0);
	assert_int_equal(c.handler_threads, 0);
	assert_int_equal(c.max_body, 16 << 20);
	assert_int_equal(c.max_json, 1 << 20);
	assert_int_equal(c.shutdown_timeout, 10000);
	assert_int_equal(c.db_pool, 8);
	assert_int_equal(c.db_busy_timeout, 5000);
	assert_string_equal(c.s3_access_key, "");
	assert_string_equal(c.s3_secret_key, "");
	assert_string_equal(c.s3_region, "us-east-1");
	for (int k = 0; k < CONFIG_KEY_COUNT; k++)
		assert_int_equal(c.source[k], CONFIG_SRC_DEFAULT);
	/* the defaults are themselves valid */
	assert_int_equal(config_finish(&c, &e), 0);
	config_release(&c);
}

static void test_file_format(void **state)
{
	(void)state;
	struct config c;
	struct err e = ERR_INIT;
	const char *text = "\xef\xbb\xbf# tonearm\n"
			   "\n"
			   "   # indented comment\n"
			   "listen = 0.0.0.0:9000\r\n"
			   "\tdata=/srv/music   \n"
			   "s3_region = \"  spaced \\\"quoted\\\" \\\\ \"   # trailing comment\n"
			   "s3_access_key = abc#def\n"
			   "log_level = WARN\n"
			   "access_log = off\n"
			   "threads = 4\n"
			   "max_body = 10 KiB\n"
			   "max_json = 2mb\n"
			   "shutdown_timeout = 250ms\n"
			   "db_busy_timeout = 3\n"
			   "db = \"\"\n"
			   "cache = redis://127.0.0.1:6379/0"; /* no final newline */

	config_init(&c);
	assert_int_equal(load(&c, text, &e), 0);
	assert_string_equal(c.listen, "0.0.0.0:9000");
	assert_string_equal(c.data, "/srv/music");
	assert_string_equal(c.s3_region, "  spaced \"quoted\" \\ ");
	assert_string_equal(c.s3_access_key, "abc#def"); /* '#' inside an unquoted value is kept */
	assert_int_equal(c.log_level, LOG_WARN);
	assert_false(c.access_log);
	assert_int_equal(c.threads, 4);
	assert_int_equal(c.max_body, 10240);
	assert_int_equal(c.max_json, 2000000);
	assert_int_equal(c.shutdown_timeout, 250);
	assert_int_equal(c.db_busy_timeout, 3000);
	assert_string_equal(c.cache, "redis://127.0.0.1:6379/0");
	assert_int_equal(c.source[CONFIG_KEY_listen], CONFIG_SRC_FILE);
	assert_int_equal(c.source[CONFIG_KEY_db_pool], CONFIG_SRC_DEFAULT);
	/* an empty db is "derive it" */
	assert_int_equal(config_finish(&c, &e), 0);
	assert_string_equal(c.db, "sqlite:///srv/music/tonearm.db");
	assert_string_equal(c.store, "file:///srv/music/objects");
	assert_int_equal(config_source_of(&c, "db"), CONFIG_SRC_DERIVED);
	assert_int_equal(config_source_of(&c, "listen"), CONFIG_SRC_FILE);
	config_release(&c);
	/* after release: the defaults again, safe to release twice */
	assert_string_equal(c.listen, "127.0.0.1:8080");
	config_release(&c);

	/* an empty file and a comments-only file are fine */
	config_init(&c);
	assert_int_equal(config_load_text(&c, "", 0, "empty", &e), 0);
	assert_int_equal(load(&c, "# nothing\n\n  \n", &e), 0);
	config_release(&c);
}

static void test_file_errors(void **state)
{
	(void)state;
	load_fails("# ok\nlistne = 1.2.3.4:80\n", "tonearm.conf:2: unknown key \"listne\" (did you mean \"listen\"?)");
	load_fails("frobnicate = 1\n", "tonearm.conf:1: unknown key \"frobnicate\"");
	load_fails("listen\n", "tonearm.conf:1: expected \"key = value\"");
	load_fails(" = 3\n", "tonearm.conf:1: expected \"key = value\", found no key");
	load_fails("max body = 3\n", "tonearm.conf:1: expected \"key = value\" with a key of letters, digits and _");
	load_fails("listen = \"1.2.3.4:80\n", "tonearm.conf:1: unterminated quoted value");
	load_fails("listen = \"1.2.3.4:80\" x\n", "tonearm.conf:1: unexpected text after the closing quote");
	load_fails("listen = \"a\\tb\"\n", "tonearm.conf:1: unknown escape in quoted value (only \\\" and \\\\)");
	load_fails("threads = 2\nthreads = 3\n", "tonearm.conf:2: key \"threads\" given twice");
	/* bad values: every message names the line and the key */
	load_fails("\n\nthreads = 257\n", "tonearm.conf:3: key \"threads\": expected an integer from 0 to 256, got \"257\"");
	load_fails("threads = -1\n", "tonearm.conf:1: key \"threads\": expected an integer from 0 to 256, got \"-1\"");
	load_fails("threads = 4x\n", "tonearm.conf:1: key \"threads\": expected an integer from 0 to 256, got \"4x\"");
	load_fails("threads = \" 4\"\n", "tonearm.conf:1: key \"threads\": expected an integer from 0 to 256, got \" 4\"");
	load_fails("db_pool = 0\n", "tonearm.conf:1: key \"db_pool\": expected an integer from 1 to 1000, got \"0\"");
	load_fails("handler_threads = 99999999999999999999\n",
		   "tonearm.conf:1: key \"handler_threads\": expected an integer from 0 to 1024, got \"99999999999999999999\"");
	load_fails("access_log = maybe\n",
		   "tonearm.conf:1: key \"access_log\": expected true/false, yes/no, on/off or 1/0, got \"maybe\"");
	load_fails("log_level = loud\n", "tonearm.conf:1: key \"log_level\": expected one of debug|info|warn|error, got \"loud\"");
	load_fails("max_body = 12x\n", "tonearm.conf:1: key \"max_body\": expected a size like 512k, 16MiB or 1GB, got \"12x\"");
	load_fails("max_body = 99999999999999GiB\n",
		   "tonearm.conf:1: key \"max_body\": size \"99999999999999GiB\" is out of range (1 to 1TiB)");
	load_fails("max_body = 999999999999999999999999\n",
		   "tonearm.conf:1: key \"max_body\": size \"999999999999999999999999\" is out of range (1 to 1TiB)");
	load_fails("max_body = 0\n", "tonearm.conf:1: key \"max_body\": size \"0\" is out of range (1 to 1TiB)");
	load_fails("max_body = -5\n", "tonearm.conf:1: key \"max_body\": expected a size like 512k, 16MiB or 1GB, got \"-5\"");
	load_fails("max_body = MiB\n", "tonearm.conf:1: key \"max_body\": expected a size like 512k, 16MiB or 1GB, got \"MiB\"");
	load_fails("shutdown_timeout = 2d\n",
		   "tonearm.conf:1: key \"shutdown_timeout\": expected a duration like 250ms, 10s, 5m or 1h, got \"2d\"");
	load_fails("shutdown_timeout = 2h\n",
		   "tonearm.conf:1: key \"shutdown_timeout\": duration \"2h\" is out of range (0ms to 1h)");
	load_fails("shutdown_timeout = 18446744073709551615h\n",
		   "tonearm.conf:1: key \"shutdown_timeout\": duration \"18446744073709551615h\" is out of range (0ms to 1h)");
	load_fails("shutdown_timeout = 1.5s\n",
		   "tonearm.conf:1: key \"shutdown_timeout\": expected a duration like 250ms, 10s, 5m or 1h, got \"1.5s\"");
	load_fails("listen = localhost\n",
		   "tonearm.conf:1: key \"listen\": expected host:port, got \"localhost\" (no port)");
	load_fails("listen = 1.2.3.4:65536\n",
		   "tonearm.conf:1: key \"listen\": port must be a number from 0 to 65535, in \"1.2.3.4:65536\"");
	load_fails("listen = ::1:80\n",
		   "tonearm.conf:1: key \"listen\": IPv6 addresses go in brackets, as in [::1]:8080; got \"::1:80\"");
	load_fails("db = mysql://x\n",
		   "tonearm.conf:1: key \"db\": expected a URL starting with one of sqlite|postgres|postgresql followed by ://…, got \"mysql://x\"");
	load_fails("store = /srv/objects\n",
		   "tonearm.conf:1: key \"store\": expected a URL starting with one of file|s3 followed by ://…, got \"/srv/objects\"");
	load_fails("cache = memcached://x\n",
		   "tonearm.conf:1: key \"cache\": expected a URL starting with one of memory|redis|rediss followed by ://…, got \"memcached://x\"");
	load_fails("data = \n", "tonearm.conf:1: key \"data\": expected a path, got an empty value");
	load_fails("s3_region = \"a\xff\"\n", "tonearm.conf:1: key \"s3_region\": expected valid UTF-8 text");
	load_fails("s3_region = a\x01z\n", "tonearm.conf:1: key \"s3_region\": expected text without control characters");
	/* a bad line after good ones: nothing of the good ones is applied */
	load_fails("listen = 1.2.3.4:80\nthreads = 999\n",
		   "tonearm.conf:2: key \"threads\": expected an integer from 0 to 256, got \"999\"");
}

static void test_limits(void **state)
{
	(void)state;
	struct config c;
	struct err e = ERR_INIT;
	char *big;
	size_t n;

	config_init(&c);
	/* a NUL byte */
	assert_int_equal(config_load_text(&c, "threads = 1\nlisten = 1\0\n", 24, "f", &e), -1);
	assert_string_equal(e.msg, "f:2: NUL byte in line");
	/* a line of exactly 4096 bytes passes, 4097 does not */
	big = malloc((1 << 20) + 2);
	assert_non_null(big);
	n = (size_t)snprintf(big, 64, "s3_region = ");
	memset(big + n, 'r', 4096 - n);
	big[4096] = '\n';
	assert_int_equal(config_load_text(&c, big, 4097, "f", &e), 0);
	assert_int_equal(strlen(c.s3_region), 4096 - n);
	big[4096] = 'r';
	big[4097] = '\n';
	assert_int_equal(config_load_text(&c, big, 4098, "f", &e), -1);
	assert_string_equal(e.msg, "f:1: line longer than 4096 bytes");
	/* over 1 MiB of text (even of blank lines) */
	memset(big, '\n', (1 << 20) + 1);
	assert_int_equal(config_load_text(&c, big, (1 << 20) + 1, "f", &e), -1);
	assert_int_equal(e.code, ERR_TOO_LARGE);
	assert_int_equal(config_load_text(&c, big, 1 << 20, "f", &e), 0);
	free(big);
	config_release(&c);
}

static void test_load_file(void **state)
{
	(void)state;
	struct config c;
	struct err e = ERR_INIT;
	char path[] = "/tmp/tonearm-config-XXXXXX";
	int fd = mkstemp(path);
	FILE *f;

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("listen = 127.0.0.1:9999\nlisten2 = x\n", f);
	fclose(f);
	config_init(&c);
	assert_int_equal(config_load_file(&c, path, &e), -1);
	/* the message names the file by its path */
	char want[128];
	snprintf(want, sizeof(want), "%s:2: unknown key \"listen2\" (did you mean \"listen\"?)", path);
	assert_string_equal(e.msg, want);
	f = fopen(path, "w");
	fputs("listen = 127.0.0.1:9999\n", f);
	fclose(f);
	assert_int_equal(config_load_file(&c, path, &e), 0);
	assert_string_equal(c.listen, "127.0.0.1:9999");
	/* over 1 MiB on disk */
	f = fopen(path, "w");
	for (int i = 0; i < (1 << 20) / 8 + 1; i++)
		fputs("# 34567\n", f);
	fclose(f);
	assert_int_equal(config_load_file(&c, path, &e), -1);
	assert_int_equal(e.code, ERR_TOO_LARGE);
	unlink(path);
	assert_int_equal(config_load_file(&c, path, &e), -1);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_int_equal(config_load_file(&c, "/tmp", &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	config_release(&c);
}

static void test_env(void **state)
{
	(void)state;
	struct config c;
	struct err e = ERR_INIT;
	char *good[] = { "PATH=/bin", "TONEARM_LISTEN=[::1]:7000", "TONEARM_MAX_BODY=1g",
			 "TONEARM_CONFIG=/etc/tonearm.conf", "TONEARM_S3_SECRET_KEY=hunter2", "TONEARM_ODD", NULL };
	char *unknown[] = { "TONEARM_LISTNE=x", NULL };
	char *lower[] = { "TONEARM_listen=1.2.3.4:5", NULL };
	char *bad[] = { "TONEARM_THREADS=4", "TONEARM_DB_POOL=lots", NULL };

	config_init(&c);
	assert_int_equal(config_load_env(&c, good, &e), 0);
	assert_string_equal(c.listen, "[::1]:7000");
	assert_int_equal(c.max_body, 1 << 30);
	assert_string_equal(c.s3_secret_key, "hunter2");
	assert_int_equal(c.source[CONFIG_KEY_listen], CONFIG_SRC_ENV);

	assert_int_equal(config_load_env(&c, unknown, &e), -1);
	assert_string_equal(e.msg, "environment: unknown variable TONEARM_LISTNE (did you mean TONEARM_LISTEN?)");
	assert_int_equal(config_load_env(&c, lower, &e), -1);
	assert_string_equal(e.msg, "environment: unknown variable TONEARM_listen (did you mean TONEARM_LISTEN?)");
	/* a bad variable names itself and its key; the good one before it is not applied */
	assert_int_equal(config_load_env(&c, bad, &e), -1);
	assert_string_equal(e.msg, "environment variable TONEARM_DB_POOL: key \"db_pool\": expected an integer from 1 to 1000, got \"lots\"");
	assert_int_equal(c.threads, 0);
	config_release(&c);
}

static void test_precedence(void **state)
{
	(void)state;
	struct config c;
	struct err e = ERR_INIT;
	char *env[] = { "TONEARM_LISTEN=127.0.0.1:2000", "TONEARM_THREADS=2", NULL };

	/* the command line's order: file, env, flags */
	config_init(&c);
	assert_int_equal(load(&c, "listen = 127.0.0.1:1000\nthreads = 1\ndb_pool = 3\n", &e), 0);
	assert_int_equal(config_load_env(&c, env, &e), 0);
	assert_int_equal(config_set(&c, "listen", "127.0.0.1:3000", "--listen", &e), 0);
	assert_string_equal(c.listen, "127.0.0.1:3000");
	assert_int_equal(c.threads, 2);
	assert_int_equal(c.db_pool, 3);
	assert_int_equal(c.source[CONFIG_KEY_listen], CONFIG_SRC_FLAG);
	assert_int_equal(c.source[CONFIG_KEY_threads], CONFIG_SRC_ENV);
	assert_int_equal(c.source[CONFIG_KEY_db_pool], CONFIG_SRC_FILE);
	config_release(&c);

	/* any other order gives the same result: a weaker source never overrides */
	config_init(&c);
	assert_int_equal(config_set(&c, "listen", "127.0.0.1:3000", "--listen", &e), 0);
	assert_int_equal(config_load_env(&c, env, &e), 0);
	assert_int_equal(load(&c, "listen = 127.0.0.1:1000\nthreads = 1\ndb_pool = 3\n", &e), 0);
	assert_string_equal(c.listen, "127.0.0.1:3000");
	assert_int_equal(c.threads, 2);
	assert_int_equal(c.db_pool, 3);
	/* a weaker source's bad value is still an error */
	assert_int_equal(load(&c, "listen = nonsense\n", &e), -1);
	/* the same source twice: the later one wins (two files, two flags) */
	assert_int_equal(config_set(&c, "max-body", "1k", "--max-body", &e), 0);
	assert_int_equal(config_set(&c, "max_body", "2k", "--max_body", &e), 0);
	assert_int_equal(c.max_body, 2048);
	config_release(&c);
}

static void test_set(void **state)
{
	(void)state;
	struct config c;
	struct err e = ERR_INIT;

	config_init(&c);
	assert_int_equal(config_set(&c, "listne", "x", "--listne", &e), -1);
	assert_string_equal(e.msg, "--listne: unknown key \"listne\" (did you mean \"listen\"?)");
	assert_int_equal(config_set(&c, "threads", "x", "--threads", &e), -1);
	assert_string_equal(e.msg, "--threads: key \"threads\": expected an integer from 0 to 256, got \"x\"");
	assert_true(config_key_exists("max-body"));
	assert_true(config_key_exists("max_body"));
	assert_false(config_key_exists("status"));
	assert_false(config_key_exists(NULL));
	assert_int_equal(config_set(&c, "db", "sqlite::memory:", "--db", &e), 0);
	assert_int_equal(config_set(&c, "threads", NULL, "--threads", &e), -1);
	assert_string_equal(e.msg, "--threads: key \"threads\": missing value");
	assert_int_equal(c.threads, 0);
	assert_int_equal(c.source[CONFIG_KEY_threads], CONFIG_SRC_DEFAULT);
	/* replacing an owned string frees the old one (ASan would see a leak) */
	assert_int_equal(config_set(&c, "s3-region", "eu-west-1", NULL, &e), 0);
	assert_int_equal(config_set(&c, "s3-region", "eu-west-2", NULL, &e), 0);
	assert_string_equal(c.s3_region, "eu-west-2");
	config_release(&c);
}

static void test_finish(void **state)
{
	(void)state;
	struct config c;
	struct err e = ERR_INIT;
	char cwd[PATH_MAX], want[PATH_MAX + 64];

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	config_init(&c);
	assert_int_equal(config_finish(&c, &e), 0);
	snprintf(want, sizeof(want), "%s/var", strcmp(cwd, "/") ? cwd : "");
	assert_string_equal(c.data, want);
	snprintf(want, sizeof(want), "sqlite://%s/var/tonearm.db", strcmp(cwd, "/") ? cwd : "");
	assert_string_equal(c.db, want);
	snprintf(want, sizeof(want), "file://%s/var/objects", strcmp(cwd, "/") ? cwd : "");
	assert_string_equal(c.store, want);
	/* again: nothing changes */
	assert_int_equal(config_finish(&c, &e), 0);
	assert_string_equal(c.store, want);
	config_release(&c);

	/* lexical clean-up, and percent-encoding of what a URL cannot hold */
	config_init(&c);
	assert_int_equal(config_set(&c, "data", "/srv//a/./b/../my music?#%/", NULL, &e), 0);
	assert_int_equal(config_set(&c, "store", "s3://bucket?endpoint=http://127.0.0.1:9000", NULL, &e), 0);
	assert_int_equal(config_finish(&c, &e), 0);
	assert_string_equal(c.data, "/srv/a/my music?#%");
	assert_string_equal(c.db, "sqlite:///srv/a/my music?#%/tonearm.db");
	assert_string_equal(c.store, "s3://bucket?endpoint=http://127.0.0.1:9000");
	config_release(&c);
	config_init(&c);
	assert_int_equal(config_set(&c, "data", "/srv//a/./b/../my music?#%/", NULL, &e), 0);
	assert_int_equal(config_finish(&c, &e), 0);
	assert_string_equal(c.store, "file:///srv/a/my%20music%3F%23%25/objects");
	config_release(&c);
	config_init(&c);
	assert_int_equal(config_set(&c, "store", "s3://bucket?endpoint=http://127.0.0.1:9000", NULL, &e), 0);
	assert_int_equal(config_finish(&c, &e), 0);
	assert_string_equal(c.store, "s3://bucket?endpoint=http://127.0.0.1:9000");
	assert_int_equal(c.source[CONFIG_KEY_store], CONFIG_SRC_FLAG);
	config_release(&c);

	config_init(&c);
	assert_int_equal(config_set(&c, "data", "/../..", NULL, &e), 0);
	assert_int_equal(config_finish(&c, &e), 0);
	assert_string_equal(c.data, "/");
	assert_string_equal(c.db, "sqlite:////tonearm.db");
	config_release(&c);
}

static void test_listen(void **state)
{
	(void)state;
	char host[64];
	unsigned port = 1;
	struct err e = ERR_INIT;

	assert_int_equal(config_parse_listen("127.0.0.1:8080", host, sizeof(host), &port, &e), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 8080);
	assert_int_equal(config_parse_listen("[::1]:0", host, sizeof(host), &port, &e), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 0);
	assert_int_equal(config_parse_listen("[fe80::1%eth0]:65535", host, sizeof(host), &port, &e), 0);
	assert_string_equal(host, "fe80::1%eth0");
	assert_int_equal(port, 65535);
	assert_int_equal(config_parse_listen("localhost:80", host, sizeof(host), &port, &e), 0);
	assert_string_equal(host, "localhost");
	static const char *const bad[] = { "", ":80", "1.2.3.4:", "1.2.3.4", "1.2.3.4:x", "1.2.3.4:-1",
					   "1.2.3.4:123456", "1.2.3.999:80", "[::1]", "[::1]80", "[::g]:80",
					   "[1.2.3.4]:80", "[]:80", "[::1%]:80", "a b:80", "h\xc3\xa9:80",
					   "1.2.3.4:80 " };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (config_parse_listen(bad[i], host, sizeof(host), &port, &e) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(e.code, ERR_INVALID);
	}
	/* a host that does not fit the caller's buffer */
	assert_int_equal(config_parse_listen("averyveryverylonghostname:80", host, 8, &port, &e), -1);
}

static void test_values(void **state)
{
	(void)state;
	char why[CONFIG_WHY_MAX], out[32];
	uint64_t z = 0;
	int64_t d = 0;
	bool b = false;
	static const struct { const char *s; uint64_t v; } sizes[] = {
		{ "123", 123 }, { "123b", 123 }, { "10k", 10240 }, { "10K", 10240 }, { "10KiB", 10240 },
		{ "10kib", 10240 }, { "10KB", 10000 }, { "10kb", 10000 }, { "3MiB", 3 << 20 }, { "3m", 3 << 20 },
		{ "3MB", 3000000 }, { "2GiB", 2ULL << 30 }, { "2gb", 2000000000ULL }, { "1TiB", 1ULL << 40 },
		{ "16 MiB", 16 << 20 }, { "18446744073709551615", UINT64_MAX },
	};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (config_parse_size(sizes[i].s, 0, UINT64_MAX, &z, why, sizeof(why)) != 0)
			fail_msg("refused size \"%s\": %s", sizes[i].s, why);
		assert_true(z == sizes[i].v);
	}
	/* 2^64 exactly overflows */
	assert_int_equal(config_parse_size("16777216TiB", 0, UINT64_MAX, &z, why, sizeof(why)), -1);
	assert_int_equal(config_parse_size("18446744073709551616", 0, UINT64_MAX, &z, why, sizeof(why)), -1);
	assert_int_equal(config_parse_size("", 0, 100, &z, why, sizeof(why)), -1);
	assert_int_equal(config_parse_size("1 2", 0, 100, &z, why, sizeof(why)), -1);
	assert_int_equal(config_parse_size("1KiBs", 0, 10000, &z, why, sizeof(why)), -1);

	static const struct { const char *s; int64_t ms; } durs[] = {
		{ "5", 5000 }, { "250ms", 250 }, { "10s", 10000 }, { "2m", 120000 }, { "1h", 3600000 }, { "0", 0 },
		{ "3 S", 3000 },
	};
	for (size_t i = 0; i < sizeof(durs) / sizeof(durs[0]); i++) {
		if (config_parse_duration(durs[i].s, 0, INT64_MAX, &d, why, sizeof(why)) != 0)
			fail_msg("refused duration \"%s\": %s", durs[i].s, why);
		assert_int_equal(d, durs[i].ms);
	}
	assert_int_equal(config_parse_duration("9223372036854775808ms", 0, INT64_MAX, &d, why, sizeof(why)), -1);
	assert_int_equal(config_parse_duration("-1s", INT64_MIN, INT64_MAX, &d, why, sizeof(why)), -1);
	assert_int_equal(config_parse_duration("1d", 0, INT64_MAX, &d, why, sizeof(why)), -1);

	static const char *const yes[] = { "true", "TRUE", "yes", "Yes", "on", "ON", "1" };
	static const char *const no[] = { "false", "False", "no", "NO", "off", "Off", "0" };
	for (size_t i = 0; i < 7; i++) {
		assert_int_equal(config_parse_bool(yes[i], &b, why, sizeof(why)), 0);
		assert_true(b);
		assert_int_equal(config_parse_bool(no[i], &b, why, sizeof(why)), 0);
		assert_false(b);
	}
	assert_int_equal(config_parse_bool("", &b, why, sizeof(why)), -1);
	assert_int_equal(config_parse_bool("2", &b, why, sizeof(why)), -1);
	assert_int_equal(config_parse_bool("truee", &b, why, sizeof(why)), -1);

	/* formatting reads back */
	config_format_size(16 << 20, out, sizeof(out));
	assert_string_equal(out, "16MiB");
	config_format_size(1000, out, sizeof(out));
	assert_string_equal(out, "1000");
	config_format_size(0, out, sizeof(out));
	assert_string_equal(out, "0");
	config_format_duration(1500, out, sizeof(out));
	assert_string_equal(out, "1500ms");
	config_format_duration(120000, out, sizeof(out));
	assert_string_equal(out, "2m");
	config_format_duration(0, out, sizeof(out));
	assert_string_equal(out, "0ms");
}

static char *print_config(const struct config *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	config_print(c, f);
	fclose(f);
	return text;
}

static void test_print_and_help(void **state)
{
	(void)state;
	struct config c;
	struct err e = ERR_INIT;
	char *text, *help = NULL;
	size_t len = 0;

	config_init(&c);
	assert_int_equal(config_set(&c, "listen", "127.0.0.1:9000", "--listen", &e), 0);
	assert_int_equal(config_set(&c, "s3_secret_key", "hunter2", NULL, &e), 0);
	assert_int_equal(config_set(&c, "db", "postgres://tone:pa55word@db.example:5432/tonearm?sslmode=require",
				    NULL, &e), 0);
	assert_int_equal(config_set(&c, "store", "s3://bucket?endpoint=http://h:9000&secret_key=abc&x=1", NULL, &e), 0);
	assert_int_equal(config_set(&c, "data", "/srv/tonearm", NULL, &e), 0);
	assert_int_equal(config_finish(&c, &e), 0);
	text = print_config(&c);
	assert_non_null(strstr(text, "listen = 127.0.0.1:9000  (flag)\n"));
	assert_non_null(strstr(text, "data = /srv/tonearm  (flag)\n"));
	assert_non_null(strstr(text, "s3_secret_key = (set)  (flag)\n"));
	assert_non_null(strstr(text, "s3_access_key = (unset)  (default)\n"));
	assert_non_null(strstr(text, "db = postgres://tone:(secret)@db.example:5432/tonearm?sslmode=require  (flag)\n"));
	assert_non_null(strstr(text, "store = s3://bucket?endpoint=http://h:9000&secret_key=(secret)&x=1  (flag)\n"));
	assert_non_null(strstr(text, "max_body = 16MiB  (default)\n"));
	assert_non_null(strstr(text, "shutdown_timeout = 10s  (default)\n"));
	assert_non_null(strstr(text, "log_level = info  (default)\n"));
	assert_non_null(strstr(text, "access_log = true  (default)\n"));
	assert_non_null(strstr(text, "cache = memory://  (default)\n"));
	assert_null(strstr(text, "hunter2"));
	assert_null(strstr(text, "pa55word"));
	assert_null(strstr(text, "abc"));
	free(text);
	config_release(&c);

	config_init(&c);
	assert_int_equal(config_finish(&c, &e), 0);
	text = print_config(&c);
	assert_non_null(strstr(text, "/var/tonearm.db  (derived)\n"));
	free(text);
	config_release(&c);

	FILE *f = open_memstream(&help, &len);
	config_help(f);
	fclose(f);
	assert_non_null(strstr(help, "listen"));
	assert_non_null(strstr(help, "127.0.0.1:8080"));
	assert_non_null(strstr(help, "address:port to listen on"));
	assert_non_null(strstr(help, "debug|info|warn|error"));
	/* every key has its line */
	assert_non_null(strstr(help, "  db_busy_timeout "));
	assert_non_null(strstr(help, "  s3_region "));
	free(help);
}

static void test_redact(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;

	assert_int_equal(config_redact_url(&b, "redis://:pw@h:6379/0"), 0);
	assert_string_equal(buf_str(&b), "redis://:(secret)@h:6379/0");
	buf_reset(&b);
	assert_int_equal(config_redact_url(&b, "redis://user@h/0"), 0);
	assert_string_equal(buf_str(&b), "redis://user@h/0");
	buf_reset(&b);
	assert_int_equal(config_redact_url(&b, "postgres://h/db?password=x&PassWord=y#frag"), 0);
	assert_string_equal(buf_str(&b), "postgres://h/db?password=(secret)&PassWord=(secret)#frag");
	buf_reset(&b);
	assert_int_equal(config_redact_url(&b, "file:///a@b:c/d"), 0);
	assert_string_equal(buf_str(&b), "file:///a@b:c/d");
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_file_format),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_finish),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_print_and_help),
		cmocka_unit_test(test_redact),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
