/* bench_distinct: fw_distinct (exact table / Sliding HLL, exact_max = 64, p = 12) against an exact
 * timestamped hash set (the same counter with exact_max = UINT32_MAX / 2: never promoted).
 * Prints one machine-readable line per (structure, size) and per throughput workload. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "distinct.h"
#include "session_gen.h"

#define WIN 300000

static uint64_t splitmix64(uint64_t x) {
        x += 0x9e3779b97f4a7c15ULL;
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
        return x ^ (x >> 31);
}

static double now_s(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static fw_distinct_t *make(uint32_t exact_max) {
        fw_distinct_cfg_t cfg = {.window_ms = WIN, .exact_max = exact_max, .hll_p = 12};
        fw_distinct_t *d = fw_distinct_new(&cfg);

        if (d == NULL)
                exit(1);
        return d;
}

/* Feeds `elements` distinct hashes of trial r, each sighted twice, times spread over one window;
 * returns the seconds spent in fw_distinct_add. */
static double feed(fw_distinct_t *d, uint64_t r, uint32_t elements) {
        uint64_t adds = 2ull * elements;
        double t = now_s();

        for (uint64_t i = 0; i < adds; i++)
                if (fw_distinct_add(d, splitmix64(r << 32 | (i % elements)),
                                    (int64_t)i * (WIN - 1) / (int64_t)adds) != 0)
                        exit(1);
        return now_s() - t;
}

/* Bytes per key, error quantiles and add rate at `elements` live elements. */
static void size_line(uint32_t elements, int trials) {
        int64_t last = (int64_t)(2ull * elements - 1) * (WIN - 1) / (int64_t)(2ull * elements);
        double *err = malloc((size_t)trials * sizeof(*err));
        double t_add = 0, b_add = 0;
        size_t bytes = 0, bbytes = 0;
        int exact = 0;

        if (err == NULL)
                exit(1);
        for (int r = 0; r < trials; r++) {
                fw_distinct_t *d = make(64);
                uint64_t c;

                t_add += feed(d, (uint64_t)r, elements);
                c = fw_distinct_count(d, last);
                err[r] = fabs((double)c - (double)elements) / (double)elements;
                bytes += fw_distinct_bytes(d);
                exact = fw_distinct_is_exact(d);
                fw_distinct_free(d);
        }
        for (int r = 0; r < (trials < 3 ? trials : 3); r++) {
                fw_distinct_t *d = make(UINT32_MAX / 2);

                b_add += feed(d, (uint64_t)r, elements);
                if (fw_distinct_count(d, last) != elements)
                        exit(1);
                bbytes += fw_distinct_bytes(d);
                fw_distinct_free(d);
        }
        printf("bench=distinct_size live=%u regime=%s bytes_per_key=%zu exact_set_bytes=%zu "
               "ratio=%.3f err_p50=%.4f err_p99=%.4f trials=%d adds_per_s=%.0f "
               "exact_set_adds_per_s=%.0f\n",
               elements, exact ? "exact" : "sketch", bytes / (size_t)trials,
               bbytes / (size_t)(trials < 3 ? trials : 3),
               (double)bytes / (double)trials / ((double)bbytes / (trials < 3 ? trials : 3)),
               fw_gen_quantile(err, (size_t)trials, 0.5),
               fw_gen_quantile(err, (size_t)trials, 0.99), trials, 2.0 * elements * trials / t_add,
               2.0 * elements * (trials < 3 ? trials : 3) / b_add);
        free(err);
}

/* Add throughput on one long-lived counter: `live` elements per window, at least 8 windows and
 * 2M iterations of stream,
 * each sighting re-sighted once later (half the adds refresh an element). */
static void throughput_line(const char *name, uint32_t exact_max, uint32_t live) {
        fw_distinct_t *d = make(exact_max);
        uint64_t adds = 0;
        size_t maxb = 0;
        uint64_t n = 8ull * live < 2000000 ? 2000000 : 8ull * live;
        double t = now_s(), dt;

        for (uint64_t i = 0; i < n; i++) {
                int64_t ts = (int64_t)(i * WIN / live);
                uint64_t h = splitmix64(i);

                if (fw_distinct_add(d, h, ts) != 0 ||
                    fw_distinct_add(d, splitmix64(i - i % 2), ts) != 0)
                        exit(1);
                adds += 2;
                if (i % 4096 == 0 && fw_distinct_bytes(d) > maxb)
                        maxb = fw_distinct_bytes(d);
        }
        dt = now_s() - t;
        printf("bench=distinct_adds workload=%s live=%u regime=%s adds=%llu adds_per_s=%.0f "
               "bytes=%zu max_bytes=%zu count=%llu\n",
               name, live, fw_distinct_is_exact(d) ? "exact" : "sketch", (unsigned long long)adds,
               (double)adds / dt, fw_distinct_bytes(d), maxb,
               (unsigned long long)fw_distinct_count(d, (int64_t)((n - 1) * WIN / live)));
        fw_distinct_free(d);
}

/* Many small exact keys: the per-key cost that matters with hundreds of thousands of keys. */
static void exact_keys_line(uint32_t keys, uint32_t per_key) {
        fw_distinct_t **k = malloc(keys * sizeof(*k));
        size_t bytes = 0;
        double t, dt;

        if (k == NULL)
                exit(1);
        for (uint32_t i = 0; i < keys; i++)
                k[i] = make(64);
        t = now_s();
        for (uint32_t j = 0; j < 4 * per_key; j++)
                for (uint32_t i = 0; i < keys; i++)
                        if (fw_distinct_add(k[i], splitmix64((uint64_t)i << 32 | (j % per_key)),
                                            (int64_t)j) != 0)
                                exit(1);
        dt = now_s() - t;
        for (uint32_t i = 0; i < keys; i++) {
                bytes += fw_distinct_bytes(k[i]);
                fw_distinct_free(k[i]);
        }
        printf("bench=distinct_adds workload=many_exact_keys keys=%u live=%u adds_per_s=%.0f "
               "bytes_per_key=%.1f\n",
               keys, per_key, 4.0 * per_key * keys / dt, (double)bytes / keys);
        free(k);
}

int main(void) {
        size_line(10, 1000);
        size_line(100, 1000);
        size_line(1000, 500);
        size_line(10000, 200);
        size_line(100000, 200);
        throughput_line("exact_steady", 64, 50);
        throughput_line("sketch_steady", 64, 10000);
        throughput_line("sketch_steady", 64, 100000);
        throughput_line("sketch_only_steady", 0, 1000000);
        exact_keys_line(100000, 5);
        return 0;
}
