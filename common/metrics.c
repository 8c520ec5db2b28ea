#include "metrics.h"
#include "timeutil.h"

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MAX_BUCKETS 32

/* TYPE_AGE is a gauge holding a time (epoch ms) and rendered as the seconds since then. */
typedef enum { TYPE_COUNTER, TYPE_GAUGE, TYPE_HISTOGRAM, TYPE_AGE } metric_type_t;

static const char *const type_names[] = {"counter", "gauge", "histogram", "gauge"};

struct fw_counter {
        _Atomic uint64_t value;
};

/* The bits of a double; updated with a compare-and-swap loop. hidden: not rendered (an age
 * gauge before its first time, or after fw_gauge_hide). */
struct fw_gauge {
        _Atomic uint64_t bits;
        _Atomic int hidden;
};

/* buckets[i] counts observations in (bounds[i-1], bounds[i]]; buckets[n] is the +Inf bucket.
 * Counts are stored per bucket and made cumulative when rendering, so an observation is one
 * increment. _count is rendered as the sum of the buckets, which keeps it equal to the +Inf
 * bucket even while observations race with rendering. */
struct fw_histogram {
        size_t n;
        double bounds[MAX_BUCKETS];
        _Atomic uint64_t buckets[MAX_BUCKETS + 1];
        _Atomic uint64_t sum_bits;
};

/* One label set of a metric. The typed part is embedded so that the pointers handed out stay
 * valid until fw_metrics_free. */
struct series {
        struct series *next;
        char *labels; /* NULL when the series has no labels */
        union {
                struct fw_counter counter;
                struct fw_gauge gauge;
                struct fw_histogram histogram;
        } u;
};

/* All series sharing a name: one # HELP / # TYPE block. */
struct family {
        struct family *next;
        char *name;
        char *help; /* NULL when none was given */
        metric_type_t type;
        struct series *series;
        struct series **series_tail;
};

struct fw_metrics {
        pthread_mutex_t lock;
        struct family *families;
        struct family **families_tail;
        int standard; /* render fanwatch_build_info and process_* after the families */
        int64_t created_ms;
};

/* ---- small helpers ---- */

static uint64_t double_to_bits(double d) {
        uint64_t b;
        memcpy(&b, &d, sizeof(b));
        return b;
}

static double bits_to_double(uint64_t b) {
        double d;
        memcpy(&d, &b, sizeof(d));
        return d;
}

static void atomic_add_double(_Atomic uint64_t *bits, double v) {
        uint64_t old = atomic_load_explicit(bits, memory_order_relaxed);
        uint64_t new_bits;
        do {
                new_bits = double_to_bits(bits_to_double(old) + v);
        } while (!atomic_compare_exchange_weak_explicit(bits, &old, new_bits, memory_order_relaxed,
                                                        memory_order_relaxed));
}

static char *dup_string(const char *s) {
        size_t n = strlen(s) + 1;
        char *d = malloc(n);
        if (d)
                memcpy(d, s, n);
        return d;
}

static int same_labels(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}

/* Prometheus metric name: [a-zA-Z_:][a-zA-Z0-9_:]* */
static int valid_name(const char *name) {
        if (!name || !*name)
                return 0;
        for (const char *p = name; *p; p++) {
                char c = *p;
                int alpha =
                        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
                int digit = c >= '0' && c <= '9';
                if (!alpha && !(digit && p != name))
                        return 0;
        }
        return 1;
}

/* Labels are stored verbatim, so only check that they cannot break the exposition: non-empty,
 * one line, no dangling comma, and every quoted value closed (backslash escapes honoured). */
static int valid_labels(const char *labels) {
        if (!labels)
                return 1;
        size_t len = strlen(labels);
        if (len == 0 || labels[0] == ',' || labels[len - 1] == ',')
                return 0;
        int quoted = 0;
        for (const char *p = labels; *p; p++) {
                if (*p == '\n' || *p == '\r')
                        return 0;
                if (quoted && *p == '\\') {
                        if (p[1] == '\0')
                                return 0;
                        p++;
                } else if (*p == '"') {
                        quoted = !quoted;
                }
        }
        return !quoted;
}

static int valid_bounds(const double *bounds, size_t n) {
        if (n > MAX_BUCKETS || (n > 0 && !bounds))
                return 0;
        for (size_t i = 0; i < n; i++) {
                if (!isfinite(bounds[i]))
                        return 0;
                if (i > 0 && !(bounds[i] > bounds[i - 1]))
                        return 0;
        }
        return 1;
}

/* ---- growable output buffer ---- */

struct buf {
        char *data;
        size_t len;
        size_t cap;
        int failed;
};

static int buf_reserve(struct buf *b, size_t extra) {
        if (b->failed)
                return -1;
        if (b->len + extra + 1 <= b->cap)
                return 0;
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + extra + 1)
                cap *= 2;
        char *data = realloc(b->data, cap);
        if (!data) {
                b->failed = 1;
                return -1;
        }
        b->data = data;
        b->cap = cap;
        return 0;
}

static void buf_put(struct buf *b, const char *s, size_t n) {
        if (buf_reserve(b, n) != 0)
                return;
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
}

static void buf_puts(struct buf *b, const char *s) {
        buf_put(b, s, strlen(s));
}

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void buf_printf(struct buf *b, const char *fmt, ...) {
        char tmp[128];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
        va_end(ap);
        if (n < 0) {
                b->failed = 1;
                return;
        }
        if ((size_t)n < sizeof(tmp)) {
                buf_put(b, tmp, (size_t)n);
                return;
        }
        if (buf_reserve(b, (size_t)n) != 0)
                return;
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t)n;
}

/* Shortest "%.*g" (at most 17 digits, which always round-trips) that reads back as v, so 0.1
 * renders as "0.1" rather than "0.10000000000000001". Values in [1e-4, 1e17) are kept out of
 * exponent notation, so 400000 renders as "400000" and not "4e+05". */
static void format_double(char *out, size_t outlen, double v) {
        if (isnan(v)) {
                snprintf(out, outlen, "NaN");
                return;
        }
        if (isinf(v)) {
                snprintf(out, outlen, v > 0 ? "+Inf" : "-Inf");
                return;
        }
        double a = fabs(v);
        int plain_possible = a == 0 || (a >= 1e-4 && a < 1e17);
        for (int prec = 1; prec <= 17; prec++) {
                snprintf(out, outlen, "%.*g", prec, v);
                if (strtod(out, NULL) == v && (!plain_possible || !strchr(out, 'e')))
                        return;
        }
}

static void buf_put_double(struct buf *b, double v) {
        char tmp[40];
        format_double(tmp, sizeof(tmp), v);
        buf_puts(b, tmp);
}

/* HELP text escaping: backslash -> \\, newline -> \n. */
static void buf_put_help(struct buf *b, const char *help) {
        for (const char *p = help; *p; p++) {
                if (*p == '\\')
                        buf_put(b, "\\\\", 2);
                else if (*p == '\n')
                        buf_put(b, "\\n", 2);
                else
                        buf_put(b, p, 1);
        }
}

/* "name{labels} " or "name " (with suffix appended to name). */
static void buf_put_series_start(struct buf *b, const char *name, const char *suffix,
                                 const char *labels) {
        buf_puts(b, name);
        buf_puts(b, suffix);
        if (labels) {
                buf_puts(b, "{");
                buf_puts(b, labels);
                buf_puts(b, "}");
        }
        buf_puts(b, " ");
}

/* ---- registry ---- */

fw_metrics_t *fw_metrics_new_empty(void) {
        fw_metrics_t *m = calloc(1, sizeof(*m));
        if (!m)
                return NULL;
        if (pthread_mutex_init(&m->lock, NULL) != 0) {
                free(m);
                return NULL;
        }
        m->families_tail = &m->families;
        m->created_ms = fw_wall_ms();
        return m;
}

fw_metrics_t *fw_metrics_new(void) {
        fw_metrics_t *m = fw_metrics_new_empty();
        if (m)
                m->standard = 1;
        return m;
}

void fw_metrics_free(fw_metrics_t *m) {
        if (!m)
                return;
        struct family *f = m->families;
        while (f) {
                struct family *fnext = f->next;
                struct series *s = f->series;
                while (s) {
                        struct series *snext = s->next;
                        free(s->labels);
                        free(s);
                        s = snext;
                }
                free(f->name);
                free(f->help);
                free(f);
                f = fnext;
        }
        pthread_mutex_destroy(&m->lock);
        free(m);
}

static struct family *find_family(fw_metrics_t *m, const char *name) {
        for (struct family *f = m->families; f; f = f->next) {
                if (strcmp(f->name, name) == 0)
                        return f;
        }
        return NULL;
}

static struct family *add_family(fw_metrics_t *m, const char *name, const char *help,
                                 metric_type_t type) {
        struct family *f = calloc(1, sizeof(*f));
        if (!f)
                return NULL;
        f->name = dup_string(name);
        f->help = help && *help ? dup_string(help) : NULL;
        if (f->help) {
                /* one style for every daemon's HELP: sentence case, no trailing period */
                size_t n = strlen(f->help);
                while (n > 0 && (f->help[n - 1] == '.' || f->help[n - 1] == ' '))
                        f->help[--n] = '\0';
                if (f->help[0] >= 'a' && f->help[0] <= 'z')
                        f->help[0] = (char)(f->help[0] - 'a' + 'A');
        }
        if (!f->name || (help && *help && !f->help)) {
                free(f->name);
                free(f->help);
                free(f);
                return NULL;
        }
        f->type = type;
        f->series_tail = &f->series;
        *m->families_tail = f;
        m->families_tail = &f->next;
        return f;
}

static void init_series(struct series *s, metric_type_t type, const double *bounds, size_t n) {
        switch (type) {
        case TYPE_COUNTER:
                atomic_init(&s->u.counter.value, 0);
                break;
        case TYPE_GAUGE:
        case TYPE_AGE:
                atomic_init(&s->u.gauge.bits, double_to_bits(0.0));
                atomic_init(&s->u.gauge.hidden, type == TYPE_AGE);
                break;
        case TYPE_HISTOGRAM:
                s->u.histogram.n = n;
                for (size_t i = 0; i < n; i++)
                        s->u.histogram.bounds[i] = bounds[i];
                for (size_t i = 0; i <= MAX_BUCKETS; i++)
                        atomic_init(&s->u.histogram.buckets[i], 0);
                atomic_init(&s->u.histogram.sum_bits, double_to_bits(0.0));
                break;
        }
}

static int same_bounds(const struct fw_histogram *h, const double *bounds, size_t n) {
        if (h->n != n)
                return 0;
        for (size_t i = 0; i < n; i++) {
                if (h->bounds[i] != bounds[i])
                        return 0;
        }
        return 1;
}

/* Find or create the series name{labels}. Returns NULL on a bad name/labels/bounds, a type
 * conflict, a histogram re-registered with other bounds, or allocation failure. */
static struct series *get_series(fw_metrics_t *m, metric_type_t type, const char *name,
                                 const char *labels, const char *help, const double *bounds,
                                 size_t n) {
        if (!m || !valid_name(name) || !valid_labels(labels))
                return NULL;
        if (type == TYPE_HISTOGRAM && !valid_bounds(bounds, n))
                return NULL;

        struct series *result = NULL;
        pthread_mutex_lock(&m->lock);
        struct family *f = find_family(m, name);
        if (f && f->type != type)
                goto out;
        if (f) {
                for (struct series *s = f->series; s; s = s->next) {
                        if (same_labels(s->labels, labels)) {
                                if (type != TYPE_HISTOGRAM ||
                                    same_bounds(&s->u.histogram, bounds, n))
                                        result = s;
                                goto out;
                        }
                }
        }

        struct series *s = calloc(1, sizeof(*s));
        if (!s)
                goto out;
        if (labels && !(s->labels = dup_string(labels))) {
                free(s);
                goto out;
        }
        if (!f && !(f = add_family(m, name, help, type))) {
                free(s->labels);
                free(s);
                goto out;
        }
        init_series(s, type, bounds, n);
        *f->series_tail = s;
        f->series_tail = &s->next;
        result = s;
out:
        pthread_mutex_unlock(&m->lock);
        return result;
}

fw_counter_t *fw_metrics_counter(fw_metrics_t *m, const char *name, const char *labels,
                                 const char *help) {
        struct series *s = get_series(m, TYPE_COUNTER, name, labels, help, NULL, 0);
        return s ? &s->u.counter : NULL;
}

fw_gauge_t *fw_metrics_gauge(fw_metrics_t *m, const char *name, const char *labels,
                             const char *help) {
        struct series *s = get_series(m, TYPE_GAUGE, name, labels, help, NULL, 0);
        return s ? &s->u.gauge : NULL;
}

fw_histogram_t *fw_metrics_histogram(fw_metrics_t *m, const char *name, const char *labels,
                                     const char *help, const double *bounds, size_t n) {
        struct series *s = get_series(m, TYPE_HISTOGRAM, name, labels, help, bounds, n);
        return s ? &s->u.histogram : NULL;
}

fw_gauge_t *fw_metrics_age_gauge(fw_metrics_t *m, const char *name, const char *labels,
                                 const char *help) {
        struct series *s = get_series(m, TYPE_AGE, name, labels, help, NULL, 0);
        return s ? &s->u.gauge : NULL;
}

#define EVENT_TIME_LAG "fanwatch_detector_event_time_lag_seconds"

void fw_metrics_event_time(fw_metrics_t *m, int32_t partition, int64_t newest_ms) {
        char labels[32];
        if (!m || partition < 0)
                return;
        snprintf(labels, sizeof(labels), "partition=\"%d\"", (int)partition);
        if (newest_ms < 0) {
                /* hide an existing series, create none */
                pthread_mutex_lock(&m->lock);
                struct family *f = find_family(m, EVENT_TIME_LAG);
                for (struct series *s = f && f->type == TYPE_AGE ? f->series : NULL; s;
                     s = s->next) {
                        if (same_labels(s->labels, labels))
                                atomic_store(&s->u.gauge.hidden, 1);
                }
                pthread_mutex_unlock(&m->lock);
                return;
        }
        fw_gauge_set_time_ms(
                fw_metrics_age_gauge(m, EVENT_TIME_LAG, labels,
                                     "Now minus the newest event time (firstPacket) seen on the "
                                     "partition; grows while the partition is idle or stuck"),
                newest_ms);
}

/* ---- updates (lock-free; a NULL series is ignored so a failed registration is harmless) ---- */

void fw_counter_add(fw_counter_t *c, uint64_t v) {
        if (c)
                atomic_fetch_add_explicit(&c->value, v, memory_order_relaxed);
}

uint64_t fw_counter_get(const fw_counter_t *c) {
        if (!c)
                return 0;
        return atomic_load_explicit((_Atomic uint64_t *)&c->value, memory_order_relaxed);
}

void fw_gauge_set(fw_gauge_t *g, double v) {
        if (g) {
                atomic_store_explicit(&g->bits, double_to_bits(v), memory_order_relaxed);
                atomic_store_explicit(&g->hidden, 0, memory_order_relaxed);
        }
}

void fw_gauge_set_ms(fw_gauge_t *g, int64_t ms) {
        fw_gauge_set(g, (double)ms / 1000.0);
}

void fw_gauge_set_time_ms(fw_gauge_t *g, int64_t epoch_ms) {
        fw_gauge_set(g, (double)epoch_ms);
}

void fw_gauge_hide(fw_gauge_t *g) {
        if (g)
                atomic_store_explicit(&g->hidden, 1, memory_order_relaxed);
}

void fw_gauge_add(fw_gauge_t *g, double v) {
        if (g)
                atomic_add_double(&g->bits, v);
}

double fw_gauge_get(const fw_gauge_t *g) {
        if (!g)
                return 0.0;
        return bits_to_double(
                atomic_load_explicit((_Atomic uint64_t *)&g->bits, memory_order_relaxed));
}

void fw_histogram_observe(fw_histogram_t *h, double v) {
        if (!h)
                return;
        size_t i = 0;
        while (i < h->n && !(v <= h->bounds[i]))
                i++;
        atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
        atomic_add_double(&h->sum_bits, v);
}

/* ---- rendering ---- */

static void render_histogram(struct buf *b, const char *name, const char *labels,
                             struct fw_histogram *h) {
        const char *sep = labels ? "," : "";
        const char *lab = labels ? labels : "";
        uint64_t cumulative = 0;
        for (size_t i = 0; i <= h->n; i++) {
                cumulative += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
                buf_printf(b, "%s_bucket{%s%sle=\"", name, lab, sep);
                if (i < h->n)
                        buf_put_double(b, h->bounds[i]);
                else
                        buf_puts(b, "+Inf");
                buf_printf(b, "\"} %llu\n", (unsigned long long)cumulative);
        }
        buf_put_series_start(b, name, "_sum", labels);
        buf_put_double(b, bits_to_double(atomic_load_explicit(&h->sum_bits, memory_order_relaxed)));
        buf_puts(b, "\n");
        buf_put_series_start(b, name, "_count", labels);
        buf_printf(b, "%llu\n", (unsigned long long)cumulative);
}

static void render_family(struct buf *b, const struct family *f, int64_t now_ms) {
        if (f->help) {
                buf_printf(b, "# HELP %s ", f->name);
                buf_put_help(b, f->help);
                buf_puts(b, "\n");
        }
        buf_printf(b, "# TYPE %s %s\n", f->name, type_names[f->type]);
        for (struct series *s = f->series; s; s = s->next) {
                switch (f->type) {
                case TYPE_COUNTER:
                        buf_put_series_start(b, f->name, "", s->labels);
                        buf_printf(b, "%llu\n",
                                   (unsigned long long)atomic_load_explicit(&s->u.counter.value,
                                                                            memory_order_relaxed));
                        break;
                case TYPE_GAUGE:
                case TYPE_AGE: {
                        if (atomic_load_explicit(&s->u.gauge.hidden, memory_order_relaxed))
                                break;
                        double v = bits_to_double(
                                atomic_load_explicit(&s->u.gauge.bits, memory_order_relaxed));
                        /* whole milliseconds, then one division: no float noise */
                        if (f->type == TYPE_AGE)
                                v = (double)(now_ms - (int64_t)v) / 1000.0;
                        buf_put_series_start(b, f->name, "", s->labels);
                        buf_put_double(b, v);
                        buf_puts(b, "\n");
                        break;
                }
                case TYPE_HISTOGRAM:
                        render_histogram(b, f->name, s->labels, &s->u.histogram);
                        break;
                }
        }
}

/* ---- the standard families: build information and the process (Prometheus client
 * libraries' process collector, read from /proc/self as they do on Linux) ---- */

static void render_one(struct buf *b, const char *name, const char *type, const char *help,
                       const char *labels, double v) {
        buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
        buf_put_series_start(b, name, "", labels);
        buf_put_double(b, v);
        buf_puts(b, "\n");
}

/* utime + stime (clock ticks) and starttime (ticks after boot) of /proc/self/stat. */
static int proc_stat(double *cpu_s, double *start_s) {
        char line[1024];
        FILE *f = fopen("/proc/self/stat", "r");
        if (!f)
                return -1;
        size_t n = fread(line, 1, sizeof(line) - 1, f);
        fclose(f);
        line[n] = '\0';
        char *p = strrchr(line, ')'); /* the command name may hold spaces and parentheses */
        if (!p)
                return -1;
        /* after ")": field 3 (state) onwards; utime is field 14, stime 15, starttime 22 */
        unsigned long long v[20] = {0};
        int field = 3;
        char *save = NULL;
        for (char *tok = strtok_r(p + 1, " ", &save); tok && field <= 22;
             tok = strtok_r(NULL, " ", &save), field++) {
                if (field >= 14)
                        v[field - 14] = strtoull(tok, NULL, 10);
        }
        long hz = sysconf(_SC_CLK_TCK);
        if (field <= 22 || hz <= 0)
                return -1;
        *cpu_s = (double)(v[0] + v[1]) / (double)hz;
        /* boot time (btime of /proc/stat) plus the start in ticks after boot */
        f = fopen("/proc/stat", "r");
        if (!f)
                return -1;
        long long btime = -1;
        while (fgets(line, sizeof(line), f)) {
                if (strncmp(line, "btime ", 6) == 0) {
                        btime = strtoll(line + 6, NULL, 10);
                        break;
                }
        }
        fclose(f);
        if (btime < 0)
                return -1;
        *start_s = (double)btime + (double)v[8] / (double)hz;
        return 0;
}

static void render_standard(struct buf *b, const fw_metrics_t *m) {
        char labels[160];
#ifdef FW_COMMIT
        snprintf(labels, sizeof(labels), "version=\"%s\",commit=\"%s\"", FW_VERSION, FW_COMMIT);
#else
        snprintf(labels, sizeof(labels), "version=\"%s\"", FW_VERSION);
#endif
        render_one(b, "fanwatch_build_info", "gauge",
                   "The daemon's fanwatch version (and commit when the build knew it); always 1",
                   labels, 1);

        double cpu, start;
        if (proc_stat(&cpu, &start) == 0) {
                render_one(b, "process_cpu_seconds_total", "counter",
                           "Total user and system CPU time spent in seconds", NULL, cpu);
                render_one(b, "process_start_time_seconds", "gauge",
                           "Start time of the process since unix epoch in seconds", NULL, start);
        } else {
                render_one(b, "process_start_time_seconds", "gauge",
                           "Start time of the process since unix epoch in seconds", NULL,
                           (double)m->created_ms / 1000.0);
        }
        FILE *f = fopen("/proc/self/statm", "r");
        unsigned long long vsz, rss;
        long page = sysconf(_SC_PAGESIZE);
        if (f) {
                if (fscanf(f, "%llu %llu", &vsz, &rss) == 2 && page > 0) {
                        render_one(b, "process_virtual_memory_bytes", "gauge",
                                   "Virtual memory size in bytes", NULL,
                                   (double)vsz * (double)page);
                        render_one(b, "process_resident_memory_bytes", "gauge",
                                   "Resident memory size in bytes", NULL,
                                   (double)rss * (double)page);
                }
                fclose(f);
        }
        DIR *d = opendir("/proc/self/fd");
        if (d) {
                long fds = 0;
                for (struct dirent *e = readdir(d); e; e = readdir(d))
                        if (e->d_name[0] != '.')
                                fds++;
                closedir(d);
                render_one(b, "process_open_fds", "gauge", "Number of open file descriptors", NULL,
                           (double)(fds > 0 ? fds - 1 : 0)); /* not the directory's own */
        }
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
                render_one(b, "process_max_fds", "gauge", "Maximum number of open file descriptors",
                           NULL, (double)rl.rlim_cur);
}

char *fw_metrics_render(fw_metrics_t *m, size_t *len) {
        return fw_metrics_render_at(m, fw_wall_ms(), len);
}

char *fw_metrics_render_at(fw_metrics_t *m, int64_t now_ms, size_t *len) {
        struct buf b = {0};
        if (buf_reserve(&b, 0) != 0)
                return NULL;
        b.data[0] = '\0';
        if (m) {
                pthread_mutex_lock(&m->lock);
                for (const struct family *f = m->families; f; f = f->next)
                        render_family(&b, f, now_ms);
                if (m->standard)
                        render_standard(&b, m);
                pthread_mutex_unlock(&m->lock);
        }
        if (b.failed) {
                free(b.data);
                return NULL;
        }
        if (len)
                *len = b.len;
        return b.data;
}
