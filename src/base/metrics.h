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
 * 0.0005 to 10. Returns NULL on bad arguments or out of memory. Bad arguments: an invalid
 * metric or label name (label names also may not start with "__"), a counter not ending in
 * _total, a duplicate label name, "le" as a histogram label, more than 16 labels, buckets on a
 * non-histogram, buckets not finite and strictly ascending (a last +Inf is allowed and
 * dropped) or more than 64, and a name taken by another family with another shape or by a
 * histogram's _bucket/_sum/_count series. A family without labels starts with its one
 * series at 0, so it is rendered before first use; a labelled one appears once it has a child. */
struct metric_family *metrics_family(struct metrics *reg, enum metric_type type, const char *name,
				     const char *help, const char *const *label_names,
				     const double *buckets, size_t nbuckets);

/* The series for these label values (as many as the family has names; NULL when none),
 * created on first use. Values may be any text: invalid UTF-8 is stored (and matched) with
 * U+FFFD in its place. Returns NULL when `fam` is NULL, a value is missing, or out of memory. */
struct metric *metric_child(struct metric_family *fam, const char *const *label_values);

void metric_inc(struct metric *m, double v);     /* counter or gauge: add v (counters: v >= 0) */
void metric_set(struct metric *m, double v);     /* gauge */
void metric_observe(struct metric *m, double v); /* histogram */
/* The updates above do nothing when `m` is NULL (a failed lookup never crashes a request), when
 * the call does not fit the family's type, or for a negative or NaN counter increment. */

/* A callback run at the start of each render, to refresh gauges that are read rather than
 * pushed (resident memory, open connections …). It runs without the registry's lock (it may
 * look children up), and two renders on two threads may run it at the same time. */
void metrics_on_collect(struct metrics *reg, void (*fn)(struct metrics *reg, void *ud), void *ud);

/* Append the whole registry in text format to `out`: families in registration order, series
 * in creation order. -1 if `out` hits its cap, and `out` is then as it was. */
int metrics_render(struct metrics *reg, struct buf *out);

/* The Content-Type of what metrics_render() writes. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Register the standard process gauges, read from /proc/self at each render:
 * process_resident_memory_bytes, process_open_fds, process_max_fds (-1 when unlimited) and
 * process_start_time_seconds (since the epoch, computed once here). Returns 0, or -1 when a
 * family cannot be registered (e.g. the names are taken) or /proc cannot be read. Call once
 * per registry. */
int metrics_process_register(struct metrics *reg);

#endif
