/* metrics.h — a registry of counters, gauges and histograms with labels, rendered in the
 * Prometheus text exposition format (version 0.0.4).
 *
 * A family is a metric name with its help, type and label names; a child is one labelled
 * series of a family. Look children up once (e.g. per route) and keep the pointer: updates
 * on a child are lock-free atomics, safe from any thread. Looking a child up takes the
 * registry's lock. Families and children live as long as the registry.
 *
 * Names must match [a-zA-Z_:][a-zA-Z0-9_:]*; counters' names end in _total (promtool's rule).
 */
#ifndef TONEARM_BASE_METRICS_H
#define TONEARM_BASE_METRICS_H

#include <stddef.h>

#include "base/buf.h"

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

struct metrics;        /* the registry */
struct metric_family;  /* one name */
struct metric;         /* one labelled series */

struct metrics *metrics_new(void);
void metrics_free(struct metrics *reg);

/* Register (or find, if already registered with the same type and labels) a family.
 * `label_names` is a NULL-terminated array, or NULL for none. `buckets` (histograms only) are
 * the ascending upper bounds, +Inf is implied; NULL uses latency buckets in seconds from
 * 0.0005 to 10. Returns NULL on bad arguments or out of memory. */
struct metric_family *metrics_family(struct metrics *reg, enum metric_type type, const char *name,
				     const char *help, const char *const *label_names,
				     const double *buckets, size_t nbuckets);

/* The series for these label values (as many as the family has names; NULL when none),
 * created on first use. Returns NULL on out of memory. */
struct metric *metric_child(struct metric_family *fam, const char *const *label_values);

void metric_inc(struct metric *m, double v);     /* counter or gauge: add v (counters: v >= 0) */
void metric_set(struct metric *m, double v);     /* gauge */
void metric_observe(struct metric *m, double v); /* histogram */

/* A callback run at the start of each render, to refresh gauges that are read rather than
 * pushed (resident memory, open connections …). */
void metrics_on_collect(struct metrics *reg, void (*fn)(struct metrics *reg, void *ud), void *ud);

/* Append the whole registry in text format to `out`. -1 if `out` hits its cap. */
int metrics_render(struct metrics *reg, struct buf *out);

#endif
