/* metrics: a registry of counters, gauges and histograms rendered as Prometheus text
 * exposition format 0.0.4. Updates are lock-free atomics (safe from any thread); registration
 * takes a lock and is done at start-up. Names follow Prometheus practice:
 * fanwatch_<daemon>_<what>_<unit>, counters end in _total, labels are low-cardinality. */
#ifndef FW_METRICS_H
#define FW_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct fw_metrics fw_metrics_t;
typedef struct fw_counter fw_counter_t;
typedef struct fw_gauge fw_gauge_t;
typedef struct fw_histogram fw_histogram_t;

fw_metrics_t *fw_metrics_new(void);
void fw_metrics_free(fw_metrics_t *m);

/* Register (or find, if name and labels match) a series. labels is NULL or a label set in
 * Prometheus syntax without braces, e.g. "kind=\"http_5xx\"". help is one line. Returns NULL
 * if the name is not a valid metric name or is already registered with another type. */
fw_counter_t *fw_metrics_counter(fw_metrics_t *m, const char *name, const char *labels,
                                 const char *help);
fw_gauge_t *fw_metrics_gauge(fw_metrics_t *m, const char *name, const char *labels,
                             const char *help);
/* bounds: ascending upper bounds (the +Inf bucket is implicit), n <= 32. */
fw_histogram_t *fw_metrics_histogram(fw_metrics_t *m, const char *name, const char *labels,
                                     const char *help, const double *bounds, size_t n);

void fw_counter_add(fw_counter_t *c, uint64_t v);
uint64_t fw_counter_get(const fw_counter_t *c);
void fw_gauge_set(fw_gauge_t *g, double v);
void fw_gauge_add(fw_gauge_t *g, double v);
double fw_gauge_get(const fw_gauge_t *g);
void fw_histogram_observe(fw_histogram_t *h, double v);

/* Render all series (grouped by name, with # HELP and # TYPE) into a malloc'd NUL-terminated
 * string; *len gets its length. Returns NULL on allocation failure. */
char *fw_metrics_render(fw_metrics_t *m, size_t *len);

#endif
