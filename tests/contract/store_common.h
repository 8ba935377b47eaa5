/* store_common.h — helpers shared by the store contract tests (store_contract_test.c, the
 * suite every backend runs; store_backends_test.c, what is particular to one backend).
 * Everything here is static inline so each test file takes what it uses. */
#ifndef TONEARM_TESTS_STORE_COMMON_H
#define TONEARM_TESTS_STORE_COMMON_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/s3.h"
#include "store/store.h"

#define MiB ((size_t)1 << 20)

struct fixture {
	struct store *s;
	char dir[256];     /* file: the temporary directory holding the root */
	char root[512];    /* file: the store root */
	char prefix[64];   /* every key of this run starts with it */
	char url[1024];
	struct store_options opt;
};


/* ---- helpers ---------------------------------------------------------------------------- */

static inline const char *key(const struct fixture *fx, char *out, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static inline const char *key(const struct fixture *fx, char *out, size_t n, const char *fmt, ...)
{
	va_list ap;
	int k = snprintf(out, n, "%s", fx->prefix);

	assert_true(k > 0 && (size_t)k < n);
	va_start(ap, fmt);
	vsnprintf(out + k, n - (size_t)k, fmt, ap);
	va_end(ap);
	return out;
}

/* snprintf that must fit (through a va_list: no truncation guessing by the compiler). */
static inline void fmt(char *out, size_t n, const char *f, ...) __attribute__((format(printf, 3, 4)));
static inline void fmt(char *out, size_t n, const char *f, ...)
{
	va_list ap;
	int k;

	va_start(ap, f);
	k = vsnprintf(out, n, f, ap);
	va_end(ap);
	assert_true(k >= 0 && (size_t)k < n);
}

/* A deterministic byte stream, the same however it is cut into chunks. */
struct gen {
	uint64_t x;
};

static inline void gen_fill(struct gen *g, unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		g->x = g->x * 6364136223846793005ULL + 1442695040888963407ULL;
		p[i] = (unsigned char)(g->x >> 56);
	}
}

struct cmp_sink {
	struct gen g;
	uint64_t seen;
	bool differs;
};

static inline int cmp_sink(void *ud, const void *data, size_t n)
{
	struct cmp_sink *cs = ud;
	unsigned char want[65536];
	const unsigned char *p = data;

	while (n > 0) {
		size_t k = n < sizeof(want) ? n : sizeof(want);
		gen_fill(&cs->g, want, k);
		if (memcmp(want, p, k) != 0)
			cs->differs = true;
		p += k;
		n -= k;
		cs->seen += k;
	}
	return 0;
}

static inline void put_text(struct fixture *fx, const char *k, const char *text)
{
	struct err e = ERR_INIT;

	if (store_put(fx->s, k, text, strlen(text), &e) < 0)
		fail_msg("put %s: %s", k, e.msg);
}

/* Read a whole range into a fresh buffer (freed by the caller with buf_release). */
static inline int read_range(struct fixture *fx, const char *k, uint64_t off, uint64_t len, struct buf *b,
		      struct err *e)
{
	buf_init(b, 64 * MiB);
	return store_read_buf(fx->s, k, off, len, b, e);
}

struct collect {
	char **keys;
	struct store_stat *st;
	size_t n, cap;
	size_t stop_after; /* 0: never */
	int stop_value;
};

static inline int collect_cb(void *ud, const char *k, const struct store_stat *st)
{
	struct collect *c = ud;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->keys = realloc(c->keys, c->cap * sizeof(*c->keys));
		c->st = realloc(c->st, c->cap * sizeof(*c->st));
		assert_non_null(c->keys);
		assert_non_null(c->st);
	}
	c->keys[c->n] = strdup(k);
	c->st[c->n] = *st;
	c->n++;
	if (c->stop_after && c->n == c->stop_after)
		return c->stop_value;
	return 0;
}

static inline void collect_free(struct collect *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->keys[i]);
	free(c->keys);
	free(c->st);
	memset(c, 0, sizeof(*c));
}

static inline void list_into(struct fixture *fx, const char *prefix, struct collect *c)
{
	struct err e = ERR_INIT;
	int r = store_list(fx->s, prefix, collect_cb, c, &e);

	if (r != 0)
		fail_msg("list %s: %d %s", prefix, r, e.msg);
}

/* ---- fixtures --------------------------------------------------------------------------- */

static inline void set_prefix(struct fixture *fx)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(fx->prefix, sizeof(fx->prefix), "ct-%ld-%ld/", (long)getpid(), (long)ts.tv_nsec);
}

static inline int file_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct err e = ERR_INIT;
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	if (!fx)
		return -1;
	*state = fx; /* the teardown frees it, whatever happens here */
	snprintf(fx->dir, sizeof(fx->dir), "%s/store-contract-XXXXXX", tmp);
	if (!mkdtemp(fx->dir))
		return -1;
	/* a root that does not exist yet, two levels down: store_open creates it */
	fmt(fx->root, sizeof(fx->root), "%s/objects/root", fx->dir);
	fmt(fx->url, sizeof(fx->url), "file://%s", fx->root);
	set_prefix(fx);
	fx->s = store_open(fx->url, NULL, &e);
	if (!fx->s) {
		fprintf(stderr, "file store: %s\n", e.msg);
		return -1;
	}
	*state = fx;
	return 0;
}

static inline int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline int file_teardown(void **state)
{
	struct fixture *fx = *state;

	if (!fx)
		return 0;
	store_close(fx->s);
	if (fx->dir[0])
		nftw(fx->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static inline int s3_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct err e = ERR_INIT;
	const char *ak = getenv("TA_TEST_S3_ACCESS_KEY"), *sk = getenv("TA_TEST_S3_SECRET_KEY");

	if (!fx)
		return -1;
	*state = fx;
	snprintf(fx->url, sizeof(fx->url), "%s", getenv("TA_TEST_S3"));
	fx->opt.s3_access_key = ak ? ak : "test:tester";
	fx->opt.s3_secret_key = sk ? sk : "testing";
	set_prefix(fx);
	fx->s = store_open(fx->url, &fx->opt, &e);
	if (!fx->s) {
		fprintf(stderr, "s3 store: %s\n", e.msg);
		return -1;
	}
	*state = fx;
	return 0;
}

static inline int del_cb(void *ud, const char *k, const struct store_stat *st)
{
	struct err e = ERR_INIT;

	(void)st;
	store_delete(ud, k, &e);
	return 0;
}

static inline int s3_teardown(void **state)
{
	struct fixture *fx = *state;
	struct err e = ERR_INIT;

	if (!fx)
		return 0;
	if (fx->s)
		store_list(fx->s, fx->prefix, del_cb, fx->s, &e);
	store_close(fx->s);
	free(fx);
	return 0;
}

#endif
