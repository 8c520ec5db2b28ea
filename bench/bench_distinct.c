/* bench_distinct: fw_distinct (exact table / Sliding HLL) against an exact timestamped hash set.
 * Prints one machine-readable line per (structure, workload). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "distinct.h"

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

/* Baseline: exact set of (hash, last_ts), linear probing, power-of-two, grows at load 1/2. */
struct base_set {
        uint64_t *hash;
        int64_t *ts; /* INT64_MIN = empty */
        size_t cap, used;
};

static int base_grow(struct base_set *s) {
        size_t ncap = s->cap ? s->cap * 2 : 16;
        uint64_t *nh = malloc(ncap * sizeof(*nh));
        int64_t *nt = malloc(ncap * sizeof(*nt));

        if (nh == NULL || nt == NULL) {
                free(nh);
                free(nt);
                return -1;
        }
        for (size_t i = 0; i < ncap; i++)
                nt[i] = INT64_MIN;
        for (size_t i = 0; i < s->cap; i++) {
                size_t j;

                if (s->ts[i] == INT64_MIN)
                        continue;
                for (j = s->hash[i] & (ncap - 1); nt[j] != INT64_MIN; j = (j + 1) & (ncap - 1))
                        ;
                nh[j] = s->hash[i];
                nt[j] = s->ts[i];
        }
        free(s->hash);
        free(s->ts);
        s->hash = nh;
        s->ts = nt;
        s->cap = ncap;
        return 0;
}

static int base_add(struct base_set *s, uint64_t h, int64_t ts) {
        size_t j;

        if ((s->used + 1) * 2 > s->cap && base_grow(s) != 0)
                return -1;
        for (j = h & (s->cap - 1); s->ts[j] != INT64_MIN; j = (j + 1) & (s->cap - 1)) {
                if (s->hash[j] == h) {
                        if (ts > s->ts[j])
                                s->ts[j] = ts;
                        return 0;
                }
        }
        s->hash[j] = h;
        s->ts[j] = ts;
        s->used++;
        return 0;
}

static uint64_t base_count(const struct base_set *s, int64_t now) {
        uint64_t n = 0;

        for (size_t i = 0; i < s->cap; i++)
                if (s->ts[i] != INT64_MIN && s->ts[i] > now - WIN && s->ts[i] <= now)
                        n++;
        return n;
}

/* Workload: `elements` distinct hashes, each sighted twice, times spread over one window. */
static void run(uint32_t elements, uint32_t exact_max) {
        fw_distinct_cfg_t cfg = {.window_ms = WIN, .exact_max = exact_max, .hll_p = 12};
        uint64_t adds = 2ull * elements, reps = 1 + 4000000 / adds, c = 0, cb = 0;
        int64_t last = (int64_t)(adds - 1) * (WIN - 1) / (int64_t)adds;
        double t_add = 0, t_cnt = 0, b_add = 0, b_cnt = 0, t;
        size_t bytes = 0, bbytes = 0;
        int exact = 0;

        for (uint64_t r = 0; r < reps; r++) {
                fw_distinct_t *d = fw_distinct_new(&cfg);
                struct base_set s = {0};

                if (d == NULL)
                        exit(1);
                t = now_s();
                for (uint64_t i = 0; i < adds; i++)
                        if (fw_distinct_add(d, splitmix64(r << 32 | (i % elements)),
                                            (int64_t)i * (WIN - 1) / (int64_t)adds) != 0)
                                exit(1);
                t_add += now_s() - t;
                t = now_s();
                c += fw_distinct_count(d, last);
                t_cnt += now_s() - t;
                bytes = fw_distinct_bytes(d);
                exact = fw_distinct_is_exact(d);
                fw_distinct_free(d);

                t = now_s();
                for (uint64_t i = 0; i < adds; i++)
                        if (base_add(&s, splitmix64(r << 32 | (i % elements)),
                                     (int64_t)i * (WIN - 1) / (int64_t)adds) != 0)
                                exit(1);
                b_add += now_s() - t;
                t = now_s();
                cb += base_count(&s, last);
                b_cnt += now_s() - t;
                bbytes = sizeof(s) + s.cap * (sizeof(uint64_t) + sizeof(int64_t));
                free(s.hash);
                free(s.ts);
        }
        printf("bench=distinct regime=%s elements=%u exact_max=%u hll_p=12 bytes=%zu "
               "adds_per_s=%.0f count_ns=%.0f mean_count=%.1f\n",
               exact ? "exact" : "sketch", elements, exact_max, bytes,
               (double)(adds * reps) / t_add, t_cnt / (double)reps * 1e9, (double)c / (double)reps);
        printf("bench=distinct regime=baseline_exact_set elements=%u bytes=%zu adds_per_s=%.0f "
               "count_ns=%.0f mean_count=%.1f\n",
               elements, bbytes, (double)(adds * reps) / b_add, b_cnt / (double)reps * 1e9,
               (double)cb / (double)reps);
}

int main(void) {
        run(25, 64);
        run(64, 64);
        run(10000, 64);
        run(100000, 64);
        run(1000000, 64);
        return 0;
}
