/* links.c — a track's credits and genres kept as text in its own row (migration 0015).
 *
 * A page of tracks used to read its links from track_artists and track_genres: a search of a
 * link index per track and of artists or genres per link, about 220 searches of text keys for
 * 50 tracks, a third of the page. Names of artists and genres never change once created, so
 * the links a track shows change only when its link rows do; every function that adds or
 * removes them calls catalog_links_store in the same transaction, and a page reads two columns.
 *
 * The text is one entry per link, in any order: `role:position:id:bytes:name;` (genres: an
 * empty role; `bytes` is the name's length in bytes, so a name may hold any character, ';' and
 * ':' included). The migration and catalog_links_store write it with the same SQL; the reader
 * puts the entries in the order the pages show (main artists first, then featured, then
 * composers, each by position; genres by position), as catalog_load_links does. */
#include "catalog/read.h"

#include <stdlib.h>
#include <string.h>

#include "db/db.h"

/* The text of a track's links, computed by the database in one statement (no rows come back):
 * the same text as migration 0015 writes. Only the aggregate's name and the casts differ. */
#define LINKS_SQL(agg, len_open, len_close)                                                         \
	"UPDATE tracks SET rev = rev + 1, credits = COALESCE((SELECT " agg "(ta.role || ':' || CAST(ta.position AS TEXT) || "  \
	"':' || ar.id || ':' || CAST(" len_open "ar.name" len_close " AS TEXT) || ':' || ar.name || ';', '') "                  \
	"FROM track_artists ta JOIN artists ar ON ar.id = ta.artist_id WHERE ta.track_id = $1), ''), "          \
	"genre_links = COALESCE((SELECT " agg "(':' || CAST(tg.position AS TEXT) || ':' || g.id || ':' || "     \
	"CAST(" len_open "g.name" len_close " AS TEXT) || ':' || g.name || ';', '') "                                         \
	"FROM track_genres tg JOIN genres g ON g.id = tg.genre_id WHERE tg.track_id = $1), '') WHERE id = $1"

static const char links_sql_sqlite[] = LINKS_SQL("group_concat", "length(CAST(", " AS BLOB))");
static const char links_sql_pg[] = LINKS_SQL("string_agg", "octet_length(", ")");

int catalog_links_store(struct catalog *cat, struct db_conn *c, const char *track_id, struct err *e)
{
	bool pg = strcmp(db_backend_name(cat->db), "postgres") == 0;

	return catalog_exec_args(c, pg ? links_sql_pg : links_sql_sqlite, e, 1, track_id) < 0 ? -1 : 0;
}

/* One decoded entry while the track's entries are put in order. */
struct entry {
	int rank;         /* credits: main 0, featured 1, others 2; genres 0 */
	int64_t position;
	struct catalog_ref ref;
};

static bool entry_less(const struct entry *a, const struct entry *b)
{
	if (a->rank != b->rank)
		return a->rank < b->rank;
	if (a->position != b->position)
		return a->position < b->position;
	return strcmp(a->ref.id, b->ref.id) < 0;
}

/* A decimal number ending at ':' into *out; advances *p past the ':'. false when there is none. */
static bool number(char **p, const char *end, int64_t *out)
{
	char *q = *p;
	int64_t v = 0;
	bool neg = false;

	if (q < end && *q == '-') {
		neg = true;
		q++;
	}
	if (q == end || *q < '0' || *q > '9')
		return false;
	while (q < end && *q >= '0' && *q <= '9') {
		if (v > (INT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (*q++ - '0');
	}
	if (q == end || *q != ':')
		return false;
	*p = q + 1;
	*out = neg ? -v : v;
	return true;
}

int catalog_links_decode(struct catalog_arena *a, const char *text, bool genres, struct catalog_ref **out,
			 size_t *n, struct err *e)
{
	static const char *const roles[] = { "main", "featured", "composer" };
	struct entry stack[32], *ents = stack;
	size_t len = strlen(text), count = 0, cap = sizeof(stack) / sizeof(stack[0]);
	char *copy, *p, *end;
	struct catalog_ref *refs;
	int ret = -1;

	*out = NULL;
	*n = 0;
	if (len == 0)
		return 0;
	/* One copy of the whole text; the entries' strings are cut out of it in place. */
	copy = catalog_arena_alloc(a, len + 1);
	if (!copy)
		return err_set(e, ERR_NOMEM, "out of memory");
	memcpy(copy, text, len + 1);
	p = copy;
	end = copy + len;
	while (p < end) {
		struct entry en = { 0 };
		char *role = p, *colon = memchr(p, ':', (size_t)(end - p));
		int64_t nlen;

		if (!colon)
			goto bad;
		*colon = '\0';
		p = colon + 1;
		if (!number(&p, end, &en.position))
			goto bad;
		en.ref.id = p;
		colon = memchr(p, ':', (size_t)(end - p));
		if (!colon)
			goto bad;
		*colon = '\0';
		p = colon + 1;
		if (!number(&p, end, &nlen) || nlen < 0 || nlen >= end - p || p[nlen] != ';')
			goto bad;
		en.ref.name = p;
		p[nlen] = '\0';
		p += nlen + 1;
		if (genres) {
			en.ref.role = NULL;
		} else {
			/* Roles are one of three words (the schema checks it): point at constants. */
			en.rank = 2;
			en.ref.role = role;
			for (int i = 0; i < 3; i++) {
				if (strcmp(role, roles[i]) == 0) {
					en.rank = i;
					en.ref.role = roles[i];
					break;
				}
			}
		}
		if (count == cap) {
			struct entry *more = catalog_arena_alloc(a, 2 * cap * sizeof(*more));

			if (!more) {
				err_set(e, ERR_NOMEM, "out of memory");
				goto out;
			}
			memcpy(more, ents, count * sizeof(*more));
			ents = more;
			cap *= 2;
		}
		/* Insertion in order: a track has a handful of links. */
		size_t k = count++;

		while (k > 0 && entry_less(&en, &ents[k - 1])) {
			ents[k] = ents[k - 1];
			k--;
		}
		ents[k] = en;
	}
	refs = catalog_arena_alloc(a, count * sizeof(*refs));
	if (!refs) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < count; i++)
		refs[i] = ents[i].ref;
	*out = refs;
	*n = count;
	ret = 0;
	goto out;
bad:
	ret = 1;
out:
	return ret;
}
