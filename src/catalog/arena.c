/* arena.c — the page arena (see internal.h) and the catalogue handle's small shared helpers. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"
#include "catalog/internal.h"
#include "catalog/text.h"
#include "db/db.h"

#define CHUNK_MIN 8192

struct chunk {
	struct chunk *next;
	size_t used, cap;
	max_align_t data[];
};

struct catalog_arena {
	struct chunk *head;
};

struct catalog_arena *catalog_arena_new(void)
{
	return calloc(1, sizeof(struct catalog_arena));
}

void catalog_arena_free(struct catalog_arena *a)
{
	if (!a)
		return;
	for (struct chunk *c = a->head, *next; c; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
}

/* n bytes aligned to `align` (a power of two), not zeroed. */
static void *bump(struct catalog_arena *a, size_t n, size_t align)
{
	struct chunk *c = a->head;
	size_t need = (n + align - 1) & ~(align - 1);
	void *p;

	if (need < n)
		return NULL;
	if (c)
		c->used = (c->used + align - 1) & ~(align - 1); /* chunks' sizes are multiples of max_align_t */
	if (!c || c->cap - c->used < need) {
		size_t cap = need > CHUNK_MIN ? need : CHUNK_MIN;

		/* A multiple of the largest alignment, so that aligning `used` never passes `cap`. */
		if (cap > SIZE_MAX - sizeof(*c) - sizeof(max_align_t))
			return NULL;
		cap = (cap + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		/* A big piece gets a chunk of its own behind the current one, so the current
		 * chunk's free room is not wasted. */
		if (a->head && need > CHUNK_MIN) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	p = (char *)c->data + c->used;
	c->used += need;
	return p;
}

void *catalog_arena_alloc(struct catalog_arena *a, size_t n)
{
	void *p = bump(a, n, sizeof(max_align_t));

	if (p)
		memset(p, 0, n);
	return p;
}

char *catalog_arena_strdup(struct catalog_arena *a, const char *s, bool *oom)
{
	size_t len;
	char *d;

	if (!s)
		return NULL;
	len = strlen(s);
	/* Strings need no alignment and are overwritten at once: a page copies some 1,000. */
	d = bump(a, len + 1, 1);
	if (!d) {
		*oom = true;
		return NULL;
	}
	memcpy(d, s, len + 1);
	return d;
}

struct catalog_page *catalog_page_new(struct err *e)
{
	struct catalog_page *p = calloc(1, sizeof(*p));

	if (p)
		p->arena = catalog_arena_new();
	if (!p || !p->arena) {
		free(p);
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	return p;
}

void catalog_page_free(struct catalog_page *page)
{
	if (!page)
		return;
	catalog_arena_free(page->arena);
	free(page);
}

struct catalog *catalog_new(struct db *db, struct err *e)
{
	struct catalog *cat = calloc(1, sizeof(*cat));

	if (!cat) {
		err_set(e, ERR_NOMEM, "out of memory");
		return NULL;
	}
	cat->db = db;
	return cat;
}

void catalog_free(struct catalog *cat)
{
	free(cat);
}

const char *catalog_role_name(enum catalog_role role)
{
	switch (role) {
	case CATALOG_ROLE_MAIN: return "main";
	case CATALOG_ROLE_FEATURED: return "featured";
	case CATALOG_ROLE_COMPOSER: return "composer";
	}
	return "main";
}

int catalog_bump(struct db_conn *c, struct err *e)
{
	return catalog_exec_args(c, "UPDATE catalog_state SET version = version + 1 WHERE id = 1", e, 0) < 0 ? -1 : 0;
}

void catalog_release(struct db_conn *c)
{
	if (!c)
		return;
	if (db_in_transaction(c))
		db_rollback(c, NULL);
	db_release(c);
}

int catalog_read_version(struct db_conn *c, int64_t *v, struct err *e)
{
	struct db_stmt *s = db_prepare(c, "SELECT version FROM catalog_state WHERE id = 1", e);
	int rc;

	if (!s)
		return -1;
	rc = db_step(s, e);
	if (rc == 1)
		*v = db_col_int(s, 0);
	db_finalize(s);
	if (rc == 0)
		return err_set(e, ERR_INTERNAL, "catalog_state has no row (migration 0002 missing?)");
	return rc < 0 ? -1 : 0;
}

int catalog_version(struct catalog *cat, int64_t *version, struct err *e)
{
	struct db_conn *c = db_acquire(cat->db, e);
	int ret;

	if (!c)
		return -1;
	ret = catalog_read_version(c, version, e);
	db_release(c);
	return ret;
}

static struct db_stmt *prepare_args(struct db_conn *c, const char *sql, struct err *e, int n, va_list ap)
{
	struct db_stmt *s = db_prepare(c, sql, e);

	if (!s)
		return NULL;
	for (int i = 0; i < n; i++)
		db_bind_str(s, i + 1, va_arg(ap, const char *));
	return s;
}

int catalog_query_id(struct db_conn *c, const char *sql, char out[ID_LEN + 1], struct err *e, int n, ...)
{
	struct db_stmt *s;
	va_list ap;
	int rc;

	va_start(ap, n);
	s = prepare_args(c, sql, e, n, ap);
	va_end(ap);
	if (!s)
		return -1;
	rc = db_step(s, e);
	if (rc == 1) {
		const char *id = db_col_text(s, 0);
		size_t len = id ? strlen(id) : 0;

		if (len > ID_LEN) {
			rc = err_set(e, ERR_INTERNAL, "an id longer than %d characters", ID_LEN);
		} else {
			memcpy(out, id ? id : "", len);
			out[len] = '\0';
		}
	}
	db_finalize(s);
	return rc;
}

int64_t catalog_exec_args(struct db_conn *c, const char *sql, struct err *e, int n, ...)
{
	struct db_stmt *s;
	va_list ap;
	int rc;
	int64_t changes;

	va_start(ap, n);
	s = prepare_args(c, sql, e, n, ap);
	va_end(ap);
	if (!s)
		return -1;
	while ((rc = db_step(s, e)) == 1)
		;
	changes = db_changes(s);
	db_finalize(s);
	return rc < 0 ? -1 : changes;
}

int catalog_check_text(const char *field, const char *s, size_t max_chars, bool required, struct err *e)
{
	size_t len;

	if (!s || !*s) {
		if (required)
			return err_set(e, ERR_INVALID, "field \"%s\": required", field);
		return 0;
	}
	len = strlen(s);
	if (!utf8_valid(s, len))
		return err_set(e, ERR_INVALID, "field \"%s\": not valid UTF-8", field);
	if (catalog_text_chars(s) > max_chars)
		return err_set(e, ERR_INVALID, "field \"%s\": longer than %zu characters", field, max_chars);
	return 0;
}

int catalog_check_number(const char *field, long long v, long long max, struct err *e)
{
	if (v < 0 || v > max)
		return err_set(e, ERR_INVALID, "field \"%s\": must be 0–%lld", field, max);
	return 0;
}
