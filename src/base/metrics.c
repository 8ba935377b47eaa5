#include "base/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"

#define METRICS_LABELS_MAX 16
#define METRICS_BUCKETS_MAX 64

/* One labelled series. Values are doubles kept as their bit patterns in 64-bit atomics, so an
 * update is a load and a compare-and-swap, never a lock. */
struct metric {
	struct metric_family *fam;
	char **values;                /* sanitized copies, fam->nlabels of them */
	uint64_t hash;
	_Atomic uint64_t bits;        /* counter, gauge: the value */
	_Atomic uint64_t sum;         /* histogram: sum of observations */
	_Atomic uint64_t *counts;     /* histogram: per bucket, nbuckets + 1 (+Inf); not cumulative */
	struct metric *next;          /* creation order, for rendering */
};

struct metric_family {
	struct metrics *reg;
	enum metric_type type;
	char *name;
	char *help;
	char **labels;
	size_t nlabels;
	double *bounds;               /* histogram upper bounds, ascending, +Inf excluded */
	size_t nbounds;
	struct metric *first, **tail; /* children in creation order; never moved or freed early */
	struct metric **slots;        /* open-addressing index of the children by label values */
	size_t nslots, count;
	struct metric_family *next;
};

struct collector {
	void (*fn)(struct metrics *reg, void *ud);
	void *ud;
	struct collector *next;
};

struct metrics {
	pthread_mutex_t lock;         /* families, children lists and index, collectors */
	struct metric_family *first, **tail;
	struct collector *collectors;
};

static const double default_bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
					 0.1,    0.25,  0.5,    1,     2.5,  5,     10 };

/* ---- doubles in atomics ---- */

static uint64_t dbits(double v)
{
	uint64_t u;
	memcpy(&u, &v, sizeof(u));
	return u;
}

static double dval(uint64_t u)
{
	double v;
	memcpy(&v, &u, sizeof(v));
	return v;
}

static void atomic_add_double(_Atomic uint64_t *a, double v)
{
	uint64_t old = atomic_load_explicit(a, memory_order_relaxed);

	while (!atomic_compare_exchange_weak_explicit(a, &old, dbits(dval(old) + v), memory_order_relaxed,
						      memory_order_relaxed))
		;
}

/* ---- registry ---- */

struct metrics *metrics_new(void)
{
	struct metrics *reg = calloc(1, sizeof(*reg));

	if (!reg)
		return NULL;
	if (pthread_mutex_init(&reg->lock, NULL) != 0) {
		free(reg);
		return NULL;
	}
	reg->tail = &reg->first;
	return reg;
}

static void free_strings(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void child_free(struct metric *m)
{
	free_strings(m->values, m->fam->nlabels);
	free(m->counts);
	free(m);
}

static void family_free(struct metric_family *f)
{
	for (struct metric *m = f->first, *next; m; m = next) {
		next = m->next;
		child_free(m);
	}
	free(f->slots);
	free(f->name);
	free(f->help);
	free_strings(f->labels, f->nlabels);
	free(f->bounds);
	free(f);
}

void metrics_free(struct metrics *reg)
{
	if (!reg)
		return;
	for (struct metric_family *f = reg->first, *next; f; f = next) {
		next = f->next;
		family_free(f);
	}
	for (struct collector *c = reg->collectors, *next; c; c = next) {
		next = c->next;
		free(c);
	}
	pthread_mutex_destroy(&reg->lock);
	free(reg);
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* for metric names; label names the same without ':' and not
 * starting with "__" (reserved by Prometheus). */
static bool valid_name(const char *s, bool label)
{
	if (!s || !*s)
		return false;
	if (label && s[0] == '_' && s[1] == '_')
		return false;
	for (const char *p = s; *p; p++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!label && c == ':') ||
			  (p != s && c >= '0' && c <= '9');
		if (!ok)
			return false;
	}
	return true;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* A histogram `h` also owns the names h_bucket, h_sum and h_count. */
static bool owns_name(const struct metric_family *f, const char *name)
{
	static const char *const suffixes[] = { "_bucket", "_sum", "_count" };
	size_t n = strlen(f->name);

	if (strcmp(f->name, name) == 0)
		return true;
	if (f->type != METRIC_HISTOGRAM || strncmp(f->name, name, n) != 0)
		return false;
	for (size_t i = 0; i < 3; i++) {
		if (strcmp(name + n, suffixes[i]) == 0)
			return true;
	}
	return false;
}

static bool clashes(const struct metrics *reg, enum metric_type type, const char *name)
{
	static const char *const suffixes[] = { "_bucket", "_sum", "_count" };

	for (const struct metric_family *f = reg->first; f; f = f->next) {
		if (owns_name(f, name))
			return true;
		if (type != METRIC_HISTOGRAM)
			continue;
		/* the new histogram's series names against the existing family's name */
		size_t n = strlen(name);
		if (strncmp(f->name, name, n) != 0)
			continue;
		for (size_t i = 0; i < 3; i++) {
			if (strcmp(f->name + n, suffixes[i]) == 0)
				return true;
		}
	}
	return false;
}

static char *dup_utf8(const char *s)
{
	size_t len = strlen(s), need = utf8_sanitize(NULL, 0, s, len);
	char *d = malloc(need + 1);

	if (d)
		utf8_sanitize(d, need + 1, s, len);
	return d;
}

static bool same_shape(const struct metric_family *f, enum metric_type type, const char *const *labels,
		       size_t nlabels, const double *bounds, size_t nbounds)
{
	if (f->type != type || f->nlabels != nlabels || f->nbounds != nbounds)
		return false;
	for (size_t i = 0; i < nlabels; i++) {
		if (strcmp(f->labels[i], labels[i]) != 0)
			return false;
	}
	for (size_t i = 0; i < nbounds; i++) {
		if (f->bounds[i] != bounds[i])
			return false;
	}
	return true;
}

static struct metric *child_create(struct metric_family *f, char **values, uint64_t hash);
static uint64_t hash_values(const char *const *values, size_t n);
static int index_insert(struct metric_family *f, struct metric *m);

struct metric_family *metrics_family(struct metrics *reg, enum metric_type type, const char *name,
				     const char *help, const char *const *label_names,
				     const double *buckets, size_t nbuckets)
{
	struct metric_family *f = NULL, *ret = NULL;
	size_t nlabels = 0;

	if (!reg || !valid_name(name, false))
		return NULL;
	if (type != METRIC_COUNTER && type != METRIC_GAUGE && type != METRIC_HISTOGRAM)
		return NULL;
	if (type == METRIC_COUNTER && !ends_with(name, "_total"))
		return NULL;
	if (type != METRIC_HISTOGRAM && buckets)
		return NULL;
	for (; label_names && label_names[nlabels]; nlabels++) {
		if (nlabels == METRICS_LABELS_MAX || !valid_name(label_names[nlabels], true))
			return NULL;
		if (type == METRIC_HISTOGRAM && strcmp(label_names[nlabels], "le") == 0)
			return NULL;
		for (size_t j = 0; j < nlabels; j++) {
			if (strcmp(label_names[j], label_names[nlabels]) == 0)
				return NULL;
		}
	}
	if (type == METRIC_HISTOGRAM) {
		if (!buckets) {
			buckets = default_bounds;
			nbuckets = sizeof(default_bounds) / sizeof(default_bounds[0]);
		}
		/* +Inf is implied; allow it to be spelled out as the last bound. */
		if (nbuckets > 0 && isinf(buckets[nbuckets - 1]) && buckets[nbuckets - 1] > 0)
			nbuckets--;
		if (nbuckets > METRICS_BUCKETS_MAX)
			return NULL;
		for (size_t i = 0; i < nbuckets; i++) {
			if (!isfinite(buckets[i]) || (i > 0 && !(buckets[i] > buckets[i - 1])))
				return NULL;
		}
	} else {
		nbuckets = 0;
	}

	pthread_mutex_lock(&reg->lock);
	for (struct metric_family *g = reg->first; g; g = g->next) {
		if (strcmp(g->name, name) == 0) {
			ret = same_shape(g, type, label_names, nlabels, buckets, nbuckets) ? g : NULL;
			goto out;
		}
	}
	if (clashes(reg, type, name))
		goto out;
	f = calloc(1, sizeof(*f));
	if (!f)
		goto out;
	f->reg = reg;
	f->type = type;
	f->tail = &f->first;
	f->name = strdup(name);
	f->help = dup_utf8(help ? help : "");
	if (!f->name || !f->help)
		goto out;
	if (nlabels) {
		f->labels = calloc(nlabels, sizeof(*f->labels));
		if (!f->labels)
			goto out;
		f->nlabels = nlabels;
		for (size_t i = 0; i < nlabels; i++) {
			f->labels[i] = strdup(label_names[i]);
			if (!f->labels[i])
				goto out;
		}
	}
	if (nbuckets) {
		f->bounds = malloc(nbuckets * sizeof(*f->bounds));
		if (!f->bounds)
			goto out;
		memcpy(f->bounds, buckets, nbuckets * sizeof(*f->bounds));
		f->nbounds = nbuckets;
	}
	/* A family without labels has exactly one series: make it now so it renders as 0 from
	 * the start, as Prometheus clients do. */
	if (nlabels == 0) {
		struct metric *m = child_create(f, NULL, hash_values(NULL, 0));
		if (!m)
			goto out;
		if (index_insert(f, m) < 0) {
			child_free(m);
			goto out;
		}
	}
	*reg->tail = f;
	reg->tail = &f->next;
	ret = f;
	f = NULL;
out:
	pthread_mutex_unlock(&reg->lock);
	if (f)
		family_free(f);
	return ret;
}

/* ---- children ---- */

/* FNV-1a over the values, each followed by 0xff (a byte valid UTF-8 never holds). */
static uint64_t hash_values(const char *const *values, size_t n)
{
	uint64_t h = 0xcbf29ce484222325u;

	for (size_t i = 0; i < n; i++) {
		for (const unsigned char *p = (const unsigned char *)values[i]; *p; p++)
			h = (h ^ *p) * 0x100000001b3u;
		h = (h ^ 0xff) * 0x100000001b3u;
	}
	return h;
}

static bool values_equal(const struct metric *m, const char *const *values, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(m->values[i], values[i]) != 0)
			return false;
	}
	return true;
}

static struct metric *index_find(const struct metric_family *f, const char *const *values, uint64_t hash)
{
	if (!f->nslots)
		return NULL;
	for (size_t i = hash & (f->nslots - 1);; i = (i + 1) & (f->nslots - 1)) {
		struct metric *m = f->slots[i];
		if (!m)
			return NULL;
		if (m->hash == hash && values_equal(m, values, f->nlabels))
			return m;
	}
}

static void slot_put(struct metric **slots, size_t nslots, struct metric *m)
{
	size_t i = m->hash & (nslots - 1);

	while (slots[i])
		i = (i + 1) & (nslots - 1);
	slots[i] = m;
}

/* Add `m` to the index, growing it to keep the load under one half. */
static int index_insert(struct metric_family *f, struct metric *m)
{
	if ((f->count + 1) * 2 > f->nslots) {
		size_t n = f->nslots ? f->nslots * 2 : 8;
		struct metric **slots = calloc(n, sizeof(*slots));

		if (!slots)
			return -1;
		for (size_t i = 0; i < f->nslots; i++) {
			if (f->slots[i])
				slot_put(slots, n, f->slots[i]);
		}
		free(f->slots);
		f->slots = slots;
		f->nslots = n;
	}
	slot_put(f->slots, f->nslots, m);
	f->count++;
	*f->tail = m;
	f->tail = &m->next;
	return 0;
}

/* A new child owning `values` (taken over even on failure). */
static struct metric *child_create(struct metric_family *f, char **values, uint64_t hash)
{
	struct metric *m = calloc(1, sizeof(*m));

	if (!m) {
		free_strings(values, f->nlabels);
		return NULL;
	}
	m->fam = f;
	m->values = values;
	m->hash = hash;
	atomic_init(&m->bits, dbits(0));
	atomic_init(&m->sum, dbits(0));
	if (f->type == METRIC_HISTOGRAM) {
		m->counts = calloc(f->nbounds + 1, sizeof(*m->counts));
		if (!m->counts) {
			child_free(m);
			return NULL;
		}
		for (size_t i = 0; i <= f->nbounds; i++)
			atomic_init(&m->counts[i], 0);
	}
	return m;
}

struct metric *metric_child(struct metric_family *fam, const char *const *label_values)
{
	const char *fixed[METRICS_LABELS_MAX];
	char *copies[METRICS_LABELS_MAX] = { 0 };
	char **values = NULL;
	struct metric *m = NULL;
	size_t n;

	if (!fam)
		return NULL;
	n = fam->nlabels;
	if (n && !label_values)
		return NULL;
	/* Values are stored as valid UTF-8; look up by the stored form so that an invalid value
	 * finds the series it created before. */
	for (size_t i = 0; i < n; i++) {
		if (!label_values[i])
			goto out;
		fixed[i] = label_values[i];
		if (!utf8_valid(label_values[i], strlen(label_values[i]))) {
			copies[i] = dup_utf8(label_values[i]);
			if (!copies[i])
				goto out;
			fixed[i] = copies[i];
		}
	}
	uint64_t hash = hash_values(fixed, n);

	pthread_mutex_lock(&fam->reg->lock);
	m = index_find(fam, fixed, hash);
	if (!m && n) {
		values = calloc(n, sizeof(*values));
		for (size_t i = 0; values && i < n; i++) {
			values[i] = copies[i] ? copies[i] : strdup(fixed[i]);
			copies[i] = NULL;
			if (!values[i]) {
				free_strings(values, n);
				values = NULL;
			}
		}
		m = values ? child_create(fam, values, hash) : NULL;
		if (m && index_insert(fam, m) < 0) {
			child_free(m);
			m = NULL;
		}
	}
	pthread_mutex_unlock(&fam->reg->lock);
out:
	for (size_t i = 0; i < n; i++)
		free(copies[i]);
	return m;
}

void metric_inc(struct metric *m, double v)
{
	if (!m)
		return;
	if (m->fam->type == METRIC_COUNTER && !(v >= 0))
		return; /* a counter never goes down (and NaN would poison it) */
	if (m->fam->type == METRIC_HISTOGRAM)
		return;
	atomic_add_double(&m->bits, v);
}

void metric_set(struct metric *m, double v)
{
	if (m && m->fam->type == METRIC_GAUGE)
		atomic_store_explicit(&m->bits, dbits(v), memory_order_relaxed);
}

void metric_observe(struct metric *m, double v)
{
	size_t i = 0;

	if (!m || m->fam->type != METRIC_HISTOGRAM)
		return;
	/* Linear: at most METRICS_BUCKETS_MAX bounds, and the early ones are the hot ones. NaN
	 * compares false everywhere and lands in +Inf, as in the Go client. */
	while (i < m->fam->nbounds && !(v <= m->fam->bounds[i]))
		i++;
	atomic_fetch_add_explicit(&m->counts[i], 1, memory_order_relaxed);
	atomic_add_double(&m->sum, v);
}

void metrics_on_collect(struct metrics *reg, void (*fn)(struct metrics *reg, void *ud), void *ud)
{
	struct collector *c;

	if (!reg || !fn)
		return;
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->fn = fn;
	c->ud = ud;
	pthread_mutex_lock(&reg->lock);
	c->next = reg->collectors;
	reg->collectors = c;
	pthread_mutex_unlock(&reg->lock);
}

/* ---- rendering ---- */

/* Shortest of %.15g / %.17g that reads back exactly; Prometheus' own spellings of the
 * non-finite values. `tmp` holds at least 32 bytes. */
static const char *format_number(double v, char *tmp, size_t cap)
{
	if (isnan(v))
		return "NaN";
	if (isinf(v))
		return v > 0 ? "+Inf" : "-Inf";
	snprintf(tmp, cap, "%.15g", v);
	if (strtod(tmp, NULL) != v)
		snprintf(tmp, cap, "%.17g", v);
	return tmp;
}

static int add_number(struct buf *out, double v)
{
	char tmp[32];

	return buf_adds(out, format_number(v, tmp, sizeof(tmp)));
}

/* Escape for a label value (\\, \", \n) or for HELP text (\\, \n only). */
static int add_escaped(struct buf *out, const char *s, bool quote)
{
	for (const char *p = s; *p; p++) {
		int r;

		if (*p == '\\')
			r = buf_adds(out, "\\\\");
		else if (*p == '\n')
			r = buf_adds(out, "\\n");
		else if (quote && *p == '"')
			r = buf_adds(out, "\\\"");
		else
			r = buf_addch(out, *p);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* name{a="x",b="y"[,le="…"]} — no braces when there are no labels at all. */
static int add_series(struct buf *out, const struct metric *m, const char *suffix, const char *le)
{
	const struct metric_family *f = m->fam;
	bool any = f->nlabels || le;

	if (buf_adds(out, f->name) < 0 || buf_adds(out, suffix) < 0)
		return -1;
	if (any && buf_addch(out, '{') < 0)
		return -1;
	for (size_t i = 0; i < f->nlabels; i++) {
		if ((i && buf_addch(out, ',') < 0) || buf_addf(out, "%s=\"", f->labels[i]) < 0 ||
		    add_escaped(out, m->values[i], true) < 0 || buf_addch(out, '"') < 0)
			return -1;
	}
	if (le && buf_addf(out, "%sle=\"%s\"", f->nlabels ? "," : "", le) < 0)
		return -1;
	if (any && buf_addch(out, '}') < 0)
		return -1;
	return buf_addch(out, ' ');
}

static int render_histogram(struct buf *out, const struct metric *m)
{
	const struct metric_family *f = m->fam;
	uint64_t cumulative = 0;
	char le[32];

	for (size_t i = 0; i <= f->nbounds; i++) {
		cumulative += atomic_load_explicit(&m->counts[i], memory_order_relaxed);
		const char *bound = i < f->nbounds ? format_number(f->bounds[i], le, sizeof(le)) : "+Inf";
		if (add_series(out, m, "_bucket", bound) < 0 || buf_addf(out, "%llu\n", (unsigned long long)cumulative) < 0)
			return -1;
	}
	/* _count is the +Inf bucket as read above, so the two always agree in one scrape. */
	if (add_series(out, m, "_sum", NULL) < 0 ||
	    add_number(out, dval(atomic_load_explicit(&m->sum, memory_order_relaxed))) < 0 ||
	    buf_addch(out, '\n') < 0 || add_series(out, m, "_count", NULL) < 0 ||
	    buf_addf(out, "%llu\n", (unsigned long long)cumulative) < 0)
		return -1;
	return 0;
}

static int render_family(struct buf *out, const struct metric_family *f)
{
	static const char *const type_names[] = { "counter", "gauge", "histogram" };

	if (!f->first)
		return 0; /* a labelled family nobody has used yet: nothing to say */
	if (buf_addf(out, "# HELP %s ", f->name) < 0 || add_escaped(out, f->help, false) < 0 ||
	    buf_addf(out, "\n# TYPE %s %s\n", f->name, type_names[f->type]) < 0)
		return -1;
	for (const struct metric *m = f->first; m; m = m->next) {
		if (f->type == METRIC_HISTOGRAM) {
			if (render_histogram(out, m) < 0)
				return -1;
		} else if (add_series(out, m, "", NULL) < 0 ||
			   add_number(out, dval(atomic_load_explicit(&m->bits, memory_order_relaxed))) < 0 ||
			   buf_addch(out, '\n') < 0) {
			return -1;
		}
	}
	return 0;
}

int metrics_render(struct metrics *reg, struct buf *out)
{
	struct collector *c;
	size_t start = out->len;
	int ret = -1;

	if (!reg)
		return -1;
	/* Collectors take the lock themselves (to look children up), so run them before it. The
	 * list only ever grows at its head and lives as long as the registry. */
	pthread_mutex_lock(&reg->lock);
	c = reg->collectors;
	pthread_mutex_unlock(&reg->lock);
	for (; c; c = c->next)
		c->fn(reg, c->ud);

	pthread_mutex_lock(&reg->lock);
	for (const struct metric_family *f = reg->first; f; f = f->next) {
		if (render_family(out, f) < 0)
			goto out;
	}
	ret = 0;
out:
	pthread_mutex_unlock(&reg->lock);
	if (ret < 0)
		buf_truncate(out, start);
	return ret;
}
