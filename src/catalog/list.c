/* list.c — catalog_list: one page of artists, albums, tracks or genres in keyset order.
 *
 * The SQL is assembled from the constant fragments below, chosen by the query's enums; every
 * value (filters, the cursor's key and id, the limit) is a bound parameter. Each sort has an
 * index on (key, id) (migration 0002), so a page costs one index range scan of `limit` rows
 * whatever the page's depth; a track's credits and genres are stored in its row (links.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "catalog/cursor.h"
#include "catalog/read.h"
#include "catalog/text.h"
#include "db/db.h"

struct kind_spec {
	const char *name;
	const char *select;      /* columns, FROM, joins */
	const char *id;          /* the id column */
	const char *keys[4];     /* sort key column per enum catalog_sort; NULL: not offered */
	bool text_key[4];
	const char *artist, *album, *genre; /* filter fragments taking one parameter, or NULL */
	const char *year;        /* the year column, or NULL */
	const char *added;       /* the creation time column */
	const char *name_norm;   /* the column q is a prefix of */
};

static const struct kind_spec specs[] = {
	[CATALOG_ARTISTS] = {
		"artists", "SELECT " CATALOG_ARTIST_COLS, "a.id",
		{ "a.name_norm", "a.sort_norm", NULL, "a.created_at" }, { true, true, false, false },
		NULL, NULL,
		"a.id IN (SELECT ta.artist_id FROM track_artists ta JOIN track_genres tg ON tg.track_id = ta.track_id "
		"WHERE tg.genre_id = $%d)",
		NULL, "a.created_at", "a.name_norm",
	},
	[CATALOG_ALBUMS] = {
		"albums", "SELECT " CATALOG_ALBUM_COLS, "al.id",
		{ "al.title_norm", "al.sort_norm", "al.year", "al.created_at" }, { true, true, false, false },
		"al.artist_id = $%d", NULL,
		"al.id IN (SELECT t.album_id FROM tracks t JOIN track_genres tg ON tg.track_id = t.id "
		"WHERE tg.genre_id = $%d)",
		"al.year", "al.created_at", "al.title_norm",
	},
	[CATALOG_TRACKS] = {
		"tracks", "SELECT " CATALOG_TRACK_COLS ", NULL, " CATALOG_TRACK_REV, "t.id",
		{ "t.title_norm", "t.sort_norm", "t.year", "t.created_at" }, { true, true, false, false },
		"t.id IN (SELECT ta.track_id FROM track_artists ta WHERE ta.artist_id = $%d)",
		"t.album_id = $%d",
		"t.id IN (SELECT tg.track_id FROM track_genres tg WHERE tg.genre_id = $%d)",
		"t.year", "t.created_at", "t.title_norm",
	},
	[CATALOG_GENRES] = {
		"genres", "SELECT " CATALOG_GENRE_COLS, "g.id",
		{ "g.name_norm", NULL, NULL, "g.created_at" }, { true, false, false, false },
		NULL, NULL, NULL, NULL, "g.created_at", "g.name_norm",
	},
};

/* Two steps in one statement: the inner query picks the page's ids from the narrow base table
 * (an index range scan, or a filter's rows sorted by key and id only), the outer one fetches
 * the wide rows of just those ids. Sorting a filter's thousands of candidates as whole rows
 * would cost far more. */
static const char *const base_from[] = {
	[CATALOG_ARTISTS] = " FROM artists a",
	[CATALOG_ALBUMS] = " FROM albums al",
	[CATALOG_TRACKS] = " FROM tracks t",
	[CATALOG_GENRES] = " FROM genres g",
};

/* The one-step form (see run_list): the wide rows straight from the sort key's index. */
static const char *const direct_from[] = {
	[CATALOG_ARTISTS] = CATALOG_ARTIST_FROM,
	[CATALOG_ALBUMS] = CATALOG_ALBUM_FROM,
	[CATALOG_TRACKS] = CATALOG_TRACK_FROM,
	[CATALOG_GENRES] = CATALOG_GENRE_FROM,
};

static const char *const page_join[] = {
	[CATALOG_ARTISTS] = " JOIN artists a ON a.id = p.pid",
	[CATALOG_ALBUMS] = " JOIN albums al ON al.id = p.pid",
	[CATALOG_TRACKS] = " JOIN tracks t ON t.id = p.pid",
	[CATALOG_GENRES] = " JOIN genres g ON g.id = p.pid",
};

static const char *const sort_names[] = { "name", "sort_name", "year", "added" };

enum param_type { P_TEXT, P_INT };

struct param {
	enum param_type type;
	const char *s;
	int64_t i;
};

#define MAX_PARAMS 12

struct builder {
	struct buf sql;
	struct param params[MAX_PARAMS];
	int n;
	bool where;
	bool oom;
};

/* Append the strings up to a NULL. The SQL is put together on every request from constant
 * pieces; printf-style formatting of them cost more than SQLite's look-up of the statement. */
static void adds(struct builder *b, ...)
{
	va_list ap;
	const char *piece;

	va_start(ap, b);
	while ((piece = va_arg(ap, const char *)) != NULL)
		if (buf_adds(&b->sql, piece) < 0)
			b->oom = true;
	va_end(ap);
}

/* Append "$n". */
static void add_placeholder(struct builder *b, int n)
{
	char num[16];
	int len = 0;

	num[len++] = '$';
	if (n >= 10)
		num[len++] = (char)('0' + n / 10 % 10);
	num[len++] = (char)('0' + n % 10);
	if (buf_add(&b->sql, num, (size_t)len) < 0)
		b->oom = true;
}

/* The strings up to a NULL, joined into out (cap bytes, always NUL-terminated; the fragments
 * are short constants, far below the cap). */
static void join(char *out, size_t cap, ...)
{
	va_list ap;
	const char *piece;
	size_t len = 0;

	va_start(ap, cap);
	while ((piece = va_arg(ap, const char *)) != NULL) {
		size_t n = strlen(piece);

		if (n > cap - 1 - len)
			n = cap - 1 - len;
		memcpy(out + len, piece, n);
		len += n;
	}
	va_end(ap);
	out[len] = '\0';
}

/* Add " WHERE "/" AND " and a fragment whose "%d"s all name the next parameter. */
static void add_cond(struct builder *b, const char *fragment, int nparams, const struct param *p)
{
	int first = b->n + 1;

	if (buf_adds(&b->sql, b->where ? " AND " : " WHERE ") < 0)
		b->oom = true;
	b->where = true;
	for (const char *f = fragment; *f; f++) {
		if (f[0] == '$' && f[1] == '%' && f[2] == 'd') {
			/* Fragments name their parameters $%d (first), $%d+ (second) in order. */
			int which = 0;

			f += 2;
			if (f[1] == '+') {
				which = 1;
				f++;
			}
			add_placeholder(b, first + which);
			continue;
		}
		if (buf_addch(&b->sql, *f) < 0)
			b->oom = true;
	}
	for (int i = 0; i < nparams; i++)
		b->params[b->n++] = p[i];
}

static struct param ptext(const char *s)
{
	return (struct param){ P_TEXT, s, 0 };
}

static struct param pint(int64_t i)
{
	return (struct param){ P_INT, NULL, i };
}

/* The smallest string greater than every string starting with `prefix`, in byte order:
 * the prefix with its last code point incremented (UTF-8 byte order is code point order).
 * NULL when there is none (the last code point is U+10FFFF) or memory runs out. */
static char *prefix_end(const char *prefix)
{
	size_t len = strlen(prefix), start = len;
	uint32_t cp;
	char *out;
	unsigned char *p;

	while (start > 0 && ((unsigned char)prefix[start - 1] & 0xC0) == 0x80)
		start--;
	if (start == 0 && len == 0)
		return NULL;
	start = start > 0 ? start - 1 : 0;
	p = (unsigned char *)prefix + start;
	switch (len - start) {
	case 1: cp = p[0]; break;
	case 2: cp = ((p[0] & 0x1Fu) << 6) | (p[1] & 0x3Fu); break;
	case 3: cp = ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu); break;
	default: cp = ((p[0] & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) | (p[3] & 0x3Fu); break;
	}
	cp++;
	if (cp == 0xD800)
		cp = 0xE000;
	if (cp > 0x10FFFF)
		return NULL;
	out = malloc(start + 5);
	if (!out)
		return NULL;
	memcpy(out, prefix, start);
	p = (unsigned char *)out + start;
	if (cp < 0x80) {
		*p++ = (unsigned char)cp;
	} else if (cp < 0x800) {
		*p++ = (unsigned char)(0xC0 | (cp >> 6));
		*p++ = (unsigned char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		*p++ = (unsigned char)(0xE0 | (cp >> 12));
		*p++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		*p++ = (unsigned char)(0x80 | (cp & 0x3F));
	} else {
		*p++ = (unsigned char)(0xF0 | (cp >> 18));
		*p++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
		*p++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		*p++ = (unsigned char)(0x80 | (cp & 0x3F));
	}
	*p = '\0';
	return out;
}

static int check_query(enum catalog_kind kind, const struct catalog_query *q, struct err *e)
{
	const struct kind_spec *k = &specs[kind];

	if ((unsigned)q->sort > CATALOG_SORT_ADDED || !k->keys[q->sort])
		return err_set(e, ERR_INVALID, "parameter \"sort\": %s cannot be sorted by %s", k->name,
			       (unsigned)q->sort <= CATALOG_SORT_ADDED ? sort_names[q->sort] : "that");
	if (q->limit < 0 || q->limit > CATALOG_LIMIT_MAX)
		return err_set(e, ERR_INVALID, "parameter \"limit\": must be 1–%d", CATALOG_LIMIT_MAX);
	if (q->artist && !k->artist)
		return err_set(e, ERR_INVALID, "parameter \"artist\": not a filter of %s", k->name);
	if (q->album && !k->album)
		return err_set(e, ERR_INVALID, "parameter \"album\": not a filter of %s", k->name);
	if (q->genre && !k->genre)
		return err_set(e, ERR_INVALID, "parameter \"genre\": not a filter of %s", k->name);
	if ((q->year_from || q->year_to) && !k->year)
		return err_set(e, ERR_INVALID, "parameter \"%s\": not a filter of %s",
			       q->year_from ? "year_from" : "year_to", k->name);
	if (q->year_from < 0 || q->year_from > 9999)
		return err_set(e, ERR_INVALID, "parameter \"year_from\": must be 0–9999");
	if (q->year_to < 0 || q->year_to > 9999)
		return err_set(e, ERR_INVALID, "parameter \"year_to\": must be 0–9999");
	if (q->added_since < 0)
		return err_set(e, ERR_INVALID, "parameter \"added_since\": must not be negative");
	/* Ids in filters are checked here so that a malformed one is a 400, not an empty page. */
	if (q->artist && !id_valid(q->artist))
		return err_set(e, ERR_INVALID, "parameter \"artist\": not an id");
	if (q->album && !id_valid(q->album))
		return err_set(e, ERR_INVALID, "parameter \"album\": not an id");
	if (q->genre && !id_valid(q->genre))
		return err_set(e, ERR_INVALID, "parameter \"genre\": not an id");
	if (q->q && catalog_text_chars(q->q) > CATALOG_NAME_MAX)
		return err_set(e, ERR_INVALID, "parameter \"q\": longer than %d characters", CATALOG_NAME_MAX);
	return 0;
}

static int read_row(enum catalog_kind kind, struct db_stmt *s, struct catalog_page *p, size_t i, struct err *e)
{
	switch (kind) {
	case CATALOG_ARTISTS: return catalog_read_artist(s, p->arena, &p->artists[i], e);
	case CATALOG_ALBUMS: return catalog_read_album(s, p->arena, &p->albums[i], e);
	case CATALOG_TRACKS: {
		int rc = catalog_read_track(s, p->arena, &p->tracks[i], e);

		p->tracks[i].rev = db_col_int(s, CATALOG_TRACK_NCOLS); /* the select's CATALOG_TRACK_REV */
		return rc;
	}
	case CATALOG_GENRES: return catalog_read_genre(s, p->arena, &p->genres[i], e);
	}
	return err_set(e, ERR_INTERNAL, "unknown kind");
}

static int alloc_rows(enum catalog_kind kind, struct catalog_page *p, size_t n)
{
	void *rows = NULL;

	switch (kind) {
	case CATALOG_ARTISTS: rows = p->artists = catalog_arena_alloc(p->arena, n * sizeof(*p->artists)); break;
	case CATALOG_ALBUMS: rows = p->albums = catalog_arena_alloc(p->arena, n * sizeof(*p->albums)); break;
	case CATALOG_TRACKS: rows = p->tracks = catalog_arena_alloc(p->arena, n * sizeof(*p->tracks)); break;
	case CATALOG_GENRES: rows = p->genres = catalog_arena_alloc(p->arena, n * sizeof(*p->genres)); break;
	}
	return rows ? 0 : -1;
}

static void set_count(enum catalog_kind kind, struct catalog_page *p, size_t n)
{
	switch (kind) {
	case CATALOG_ARTISTS: p->nartists = n; break;
	case CATALOG_ALBUMS: p->nalbums = n; break;
	case CATALOG_TRACKS: p->ntracks = n; break;
	case CATALOG_GENRES: p->ngenres = n; break;
	}
}

/* A row of the ids-and-revisions form: the track's id and rev, and whether the caller knows
 * it (else *unknown is counted up, and the row is read later). */
static int ask_row(const struct catalog_query *q, struct db_stmt *s, struct catalog_page *p, size_t i,
		   size_t *unknown, struct err *e)
{
	struct catalog_track *t = &p->tracks[i];
	bool oom = false;

	memset(t, 0, sizeof(*t));
	t->id = catalog_arena_strdup(p->arena, db_col_text(s, 0), &oom);
	if (oom || !t->id)
		return err_set(e, oom ? ERR_NOMEM : ERR_INTERNAL, oom ? "out of memory" : "a track without an id");
	t->rev = db_col_int(s, 1);
	t->known = t->rev > 0 && q->known(q->known_ud, i, t->id, t->rev);
	if (!t->known)
		(*unknown)++;
	return 0;
}

/* Build and run the page query on `c`; fills p's rows and next_cursor. */
static int run_list(struct db_conn *c, enum catalog_kind kind, const struct catalog_query *q,
		    const struct catalog_cursor *cur, struct catalog_page *p, struct err *e)
{
	const struct kind_spec *k = &specs[kind];
	const char *key = k->keys[q->sort];
	bool text = k->text_key[q->sort];
	int limit = q->limit ? q->limit : CATALOG_LIMIT_DEFAULT;
	struct builder b;
	struct db_stmt *s = NULL;
	struct buf lastkey = BUF_INIT;
	char *qnorm = NULL, *qend = NULL, lastid[ID_LEN + 1] = "";
	int64_t lastikey = 0;
	size_t n = 0, unknown = 0;
	bool need_links = false; /* a track's links are not stored (see read.h) */
	const char *dir = q->desc ? " DESC" : " ASC", *id;
	size_t idlen;
	int rc, ret = -1;
	char frag[160];

	/* Without filters, or with only a prefix of the very key the page is sorted by, the page is
	 * a range of the sort key's index: one step reads it in order, each wide row found by the
	 * index entry's rowid. The two-step form would find each row again by its id (one more
	 * index search per row) and sort the wide rows once more; it pays off only when a filter
	 * leaves candidates to sort. */
	bool direct = !q->artist && !q->album && !q->genre && !q->year_from && !q->year_to && !q->added_since &&
		      (!q->q || q->sort == CATALOG_SORT_NAME);

	/* A caller that knows some tracks already: the page's ids and revisions first (see
	 * catalog_query.known), the rows it does not know afterwards. */
	bool ask = kind == CATALOG_TRACKS && q->known;
	const char *select = ask ? "SELECT t.id, t.rev" : k->select;

	memset(&b, 0, sizeof(b));
	buf_init(&b.sql, 16 * 1024);
	buf_init(&lastkey, CATALOG_CURSOR_TEXT_MAX * 4 + 16);
	if (direct)
		adds(&b, select, ", ", key, " AS pkey", direct_from[kind], NULL);
	else
		adds(&b, select, ", p.pkey FROM (SELECT ", k->id, " AS pid, ", key, " AS pkey", base_from[kind], NULL);
	if (q->artist)
		add_cond(&b, k->artist, 1, (struct param[]){ ptext(q->artist) });
	if (q->album)
		add_cond(&b, k->album, 1, (struct param[]){ ptext(q->album) });
	if (q->genre)
		add_cond(&b, k->genre, 1, (struct param[]){ ptext(q->genre) });
	if (q->year_from) {
		join(frag, sizeof(frag), k->year, " >= $%d", NULL);
		add_cond(&b, frag, 1, (struct param[]){ pint(q->year_from) });
	}
	if (q->year_to) {
		join(frag, sizeof(frag), k->year, " <= $%d", NULL);
		add_cond(&b, frag, 1, (struct param[]){ pint(q->year_to) });
	}
	if (q->added_since) {
		join(frag, sizeof(frag), k->added, " >= $%d", NULL);
		add_cond(&b, frag, 1, (struct param[]){ pint(q->added_since) });
	}
	if (q->q && *q->q) {
		qnorm = catalog_normalize(q->q, e);
		if (!qnorm)
			goto out;
		if (*qnorm) {
			/* A prefix is a range of the sorted names, so the name index serves it. */
			qend = prefix_end(qnorm);
			if (qend) {
				join(frag, sizeof(frag), k->name_norm, " >= $%d AND ", k->name_norm, " < $%d+", NULL);
				add_cond(&b, frag, 2, (struct param[]){ ptext(qnorm), ptext(qend) });
			} else {
				join(frag, sizeof(frag), k->name_norm, " >= $%d", NULL);
				add_cond(&b, frag, 1, (struct param[]){ ptext(qnorm) });
			}
		}
	}
	if (cur) {
		join(frag, sizeof(frag), "(", key, ", ", k->id, q->desc ? ") < ($%d, $%d+)" : ") > ($%d, $%d+)", NULL);
		add_cond(&b, frag, 2,
			 (struct param[]){ text ? ptext(cur->tkey) : pint(cur->ikey), ptext(cur->id) });
	}
	adds(&b, " ORDER BY ", key, dir, ", ", k->id, dir, " LIMIT ", NULL);
	add_placeholder(&b, b.n + 1);
	if (!direct)
		adds(&b, ") p", page_join[kind], " ORDER BY p.pkey", dir, ", p.pid", dir, NULL);
	b.params[b.n++] = pint(limit + 1);
	if (b.oom) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (alloc_rows(kind, p, (size_t)limit) < 0) {
		err_set(e, ERR_NOMEM, "out of memory");
		goto out;
	}
	s = db_prepare(c, buf_str(&b.sql), e);
	if (!s)
		goto out;
	for (int i = 0; i < b.n; i++) {
		if (b.params[i].type == P_TEXT)
			db_bind_str(s, i + 1, b.params[i].s);
		else
			db_bind_int(s, i + 1, b.params[i].i);
	}
	while ((rc = db_step(s, e)) == 1) {
		int keycol = db_col_count(s) - 1;

		if (n == (size_t)limit) {
			/* One row more than asked: there is a next page, starting after the last. */
			struct catalog_cursor next = {
				.kind = kind, .sort = q->sort, .desc = q->desc, .is_text = text,
				.ikey = lastikey, .tkey = lastkey.data, .tkey_len = lastkey.len,
			};
			char *enc;
			bool oom = false;

			memcpy(next.id, lastid, sizeof(lastid));
			enc = catalog_cursor_encode(&next, e);
			if (!enc)
				goto out;
			p->next_cursor = catalog_arena_strdup(p->arena, enc, &oom);
			free(enc);
			if (oom) {
				err_set(e, ERR_NOMEM, "out of memory");
				goto out;
			}
			break;
		}
		if (ask) {
			rc = ask_row(q, s, p, n, &unknown, e);
		} else {
			rc = read_row(kind, s, p, n, e);
			need_links |= rc == 1;
		}
		if (rc < 0)
			goto out;
		id = db_col_text(s, 0);
		idlen = id ? strnlen(id, ID_LEN) : 0;
		memcpy(lastid, id ? id : "", idlen);
		lastid[idlen] = '\0';
		if (text) {
			const char *kv = db_col_text(s, keycol);

			buf_reset(&lastkey);
			if (buf_adds(&lastkey, kv ? kv : "") < 0) {
				err_set(e, ERR_INVALID, "a sort key too long for a cursor");
				goto out;
			}
		} else {
			lastikey = db_col_int(s, keycol);
		}
		n++;
	}
	if (rc < 0)
		goto out;
	set_count(kind, p, n);
	if (unknown && direct && unknown * 4 > n) {
		/* Most of a range is unknown: read the range again in full, as a plain list does, and
		 * keep the known tracks as they were. Fetching the unknown ones by id instead would
		 * search the id index once for each, scattered pages of it; on a catalogue larger than
		 * SQLite's page cache that cost more than reading the known rows too. The same query
		 * on the same snapshot gives the same rows. */
		struct catalog_track *asked = p->tracks;
		struct catalog_query plain = *q;

		plain.known = NULL;
		if (run_list(c, kind, &plain, cur, p, e) < 0)
			goto out;
		if (p->ntracks != n) {
			err_set(e, ERR_INTERNAL, "a page read twice on one snapshot differs");
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			if (strcmp(p->tracks[i].id, asked[i].id) != 0) {
				err_set(e, ERR_INTERNAL, "a page read twice on one snapshot differs");
				goto out;
			}
			if (asked[i].known)
				p->tracks[i] = asked[i];
		}
		ret = 0;
		goto out;
	}
	if (unknown && catalog_read_unknown(c, p->arena, p->tracks, n, false, &need_links, e) < 0)
		goto out;
	if (need_links && catalog_load_links(c, p->arena, p->tracks, n, e) < 0)
		goto out;
	ret = 0;
out:
	db_finalize(s);
	buf_release(&b.sql);
	buf_release(&lastkey);
	free(qnorm);
	free(qend);
	return ret;
}

int catalog_list(struct catalog *cat, enum catalog_kind kind, const struct catalog_query *q,
		 struct catalog_page **out, struct err *e)
{
	struct catalog_cursor cur;
	bool have_cursor = false;
	struct catalog_page *p = NULL;
	struct db_conn *c = NULL;
	int ret = -1;

	*out = NULL;
	if ((unsigned)kind > CATALOG_GENRES)
		return err_set(e, ERR_INVALID, "unknown kind");
	if (check_query(kind, q, e) < 0)
		return -1;
	if (q->cursor) {
		if (catalog_cursor_decode(q->cursor, strlen(q->cursor), &cur, e) < 0)
			return -1;
		have_cursor = true;
		if (cur.kind != (int)kind || cur.sort != (int)q->sort || cur.desc != q->desc ||
		    cur.is_text != specs[kind].text_key[q->sort]) {
			err_set(e, ERR_INVALID, "parameter \"cursor\": belongs to another list or sort order");
			goto out;
		}
	}
	p = catalog_page_new(e);
	if (!p)
		goto out;
	c = db_acquire(cat->db, e);
	if (!c)
		goto out;
	/* One snapshot: the version and the rows agree, so the ETag names exactly this page. */
	if (db_begin_read(c, e) < 0)
		goto out;
	if (catalog_read_version(c, &p->version, e) < 0 || run_list(c, kind, q, have_cursor ? &cur : NULL, p, e) < 0)
		goto out;
	if (db_commit(c, e) < 0)
		goto out;
	*out = p;
	p = NULL;
	ret = 0;
out:
	catalog_release(c);
	if (have_cursor)
		catalog_cursor_release(&cur);
	catalog_page_free(p);
	return ret;
}
