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

/* A registry for a daemon: besides what is registered, it renders fanwatch_build_info{version}
 * 1 and the process metrics Prometheus client libraries export (process_cpu_seconds_total,
 * process_start_time_seconds, process_resident_memory_bytes, process_virtual_memory_bytes,
 * process_open_fds, process_max_fds; read from /proc/self at each scrape). */
fw_metrics_t *fw_metrics_new(void);
/* A registry that renders only what is registered (tests). */
fw_metrics_t *fw_metrics_new_empty(void);
void fw_metrics_free(fw_metrics_t *m);

/* Register (or find, if name and labels match) a series. labels is NULL or a label set in
 * Prometheus syntax without braces, e.g. "kind=\"http_5xx\"". help is one line, rendered in
 * one style for every daemon: sentence case, no trailing period ("sessions seen." is rendered
 * "Sessions seen"). Returns NULL if the name is not a valid metric name or is already
 * registered with another type. */
fw_counter_t *fw_metrics_counter(fw_metrics_t *m, const char *name, const char *labels,
                                 const char *help);
fw_gauge_t *fw_metrics_gauge(fw_metrics_t *m, const char *name, const char *labels,
                             const char *help);
/* bounds: ascending upper bounds (the +Inf bucket is implicit), n <= 32. */
fw_histogram_t *fw_metrics_histogram(fw_metrics_t *m, const char *name, const char *labels,
                                     const char *help, const double *bounds, size_t n);

/* A freshness gauge: it holds a time (fw_gauge_set_time_ms, epoch ms) and is rendered as the
 * seconds from then to the scrape, so it keeps growing when nothing updates it. Not rendered
 * until its first time. */
fw_gauge_t *fw_metrics_age_gauge(fw_metrics_t *m, const char *name, const char *labels,
                                 const char *help);

/* The detector's per-partition freshness:
 * fanwatch_detector_event_time_lag_seconds{partition="N"} = now - newest_ms (the newest event
 * time seen on the partition), computed at scrape time. newest_ms < 0 (FW_ABSENT: revoked, or
 * no session yet) hides the partition's series. Call it whenever the engine's clock is read. */
void fw_metrics_event_time(fw_metrics_t *m, int32_t partition, int64_t newest_ms);

void fw_counter_add(fw_counter_t *c, uint64_t v);
uint64_t fw_counter_get(const fw_counter_t *c);
/* Set (and show again after fw_gauge_hide). */
void fw_gauge_set(fw_gauge_t *g, double v);
/* Seconds from whole milliseconds: ms / 1000.0 in one rounding. Use it for differences of
 * times: (double)now_ms / 1000 - (double)then_s subtracts two large doubles and renders float
 * noise (1716026402.834 - 1716026400 = 2.8340001106262207), (now_ms - then_s * 1000) / 1000.0
 * renders 2.834. */
void fw_gauge_set_ms(fw_gauge_t *g, int64_t ms);
/* An age gauge's time (epoch ms). */
void fw_gauge_set_time_ms(fw_gauge_t *g, int64_t epoch_ms);
/* Leave the series out of the exposition until it is set again (a revoked partition). */
void fw_gauge_hide(fw_gauge_t *g);
void fw_gauge_add(fw_gauge_t *g, double v);
double fw_gauge_get(const fw_gauge_t *g);
void fw_histogram_observe(fw_histogram_t *h, double v);

/* Render all series (grouped by name, with # HELP and # TYPE) into a malloc'd NUL-terminated
 * string; *len gets its length. Returns NULL on allocation failure. */
char *fw_metrics_render(fw_metrics_t *m, size_t *len);
/* The same with the clock the age gauges are rendered against (tests). */
char *fw_metrics_render_at(fw_metrics_t *m, int64_t now_ms, size_t *len);

#endif
