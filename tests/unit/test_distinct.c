/* Unit tests for detector/distinct.c: sliding-window distinct counter (exact + Sliding HLL). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "distinct.h"
#include "session_gen.h"

#define WIN 300000 /* 5 minutes in ms */

static uint64_t splitmix64(uint64_t x) {
        x += 0x9e3779b97f4a7c15ULL;
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
        return x ^ (x >> 31);
}

/* Hash of element i in trial `seed`. */
static uint64_t elem(uint64_t seed, uint64_t i) {
        return splitmix64(splitmix64(seed) ^ (i * 0x632be59bd9b4e019ULL));
}

static fw_distinct_t *make(uint32_t exact_max, uint8_t p) {
        fw_distinct_cfg_t cfg = {.window_ms = WIN, .exact_max = exact_max, .hll_p = p};
        fw_distinct_t *d = fw_distinct_new(&cfg);

        assert_non_null(d);
        return d;
}

static fw_distinct_t *make_w(int64_t window, uint32_t exact_max, uint8_t p) {
        fw_distinct_cfg_t cfg = {.window_ms = window, .exact_max = exact_max, .hll_p = p};
        fw_distinct_t *d = fw_distinct_new(&cfg);

        assert_non_null(d);
        return d;
}

/* A hash in register r with rho v (1 <= v <= 64 - p); `low` fills the bits below the leading one.
 */
static uint64_t crafted(uint8_t p, uint32_t r, uint32_t v, uint64_t low) {
        uint32_t b = 64u - p - v; /* position of the leading one */

        return ((uint64_t)r << (64 - p)) | (1ull << b) | (low & ((1ull << b) - 1));
}

static uint32_t rho_of(uint64_t h, uint8_t p) {
        uint64_t w = h << p;

        return w == 0 ? 64u - p + 1 : (uint32_t)__builtin_clzll(w) + 1;
}

/* Fixed overhead of a p-sketch without any pair (header sizes as documented in distinct.h): the
 * bytes of a sketch-only counter whose pairs have all been swept. */
static size_t sketch_floor(uint8_t p) {
        size_t m = (size_t)1 << p;

        return 56 + 4 * 16 + 32 + 16 * (m < 32 ? 1 : m / 32) + m; /* + the 4 inline slots */
}

/* Reference Sliding HLL: per-register max rho over the elements whose last sighting is in
 * (now - WIN, now]; the estimate is read from a fresh sketch holding just those maxima, so the
 * counter under test must have exactly the same register values to give the same count. */
struct ref {
        uint8_t p;
        size_t n;
        uint64_t *hash;
        int64_t *last;
};

static uint64_t ref_count(const struct ref *rf, int64_t window, int64_t now, uint64_t *truth) {
        size_t m = (size_t)1 << rf->p;
        uint32_t *reg = calloc(m, sizeof(*reg));
        fw_distinct_t *snap = make_w(window, 0, rf->p);
        uint64_t c;

        assert_non_null(reg);
        *truth = 0;
        for (size_t i = 0; i < rf->n; i++) {
                uint32_t r = (uint32_t)(rf->hash[i] >> (64 - rf->p)), v;

                if (rf->last[i] <= now - window || rf->last[i] > now)
                        continue;
                (*truth)++;
                v = rho_of(rf->hash[i], rf->p);
                if (v > reg[r])
                        reg[r] = v;
        }
        for (uint32_t r = 0; r < m; r++)
                if (reg[r] > 0)
                        assert_int_equal(fw_distinct_add(snap, crafted(rf->p, r, reg[r], 0), now),
                                         0);
        c = fw_distinct_count(snap, now);
        fw_distinct_free(snap);
        free(reg);
        return c;
}

static double rel_err(uint64_t est, uint64_t truth) {
        return fabs((double)est - (double)truth) / (double)truth;
}

static void test_invalid_cfg(void **state) {
        fw_distinct_cfg_t cfg = {.window_ms = 0, .exact_max = 8, .hll_p = 12};

        (void)state;
        assert_null(fw_distinct_new(&cfg));
        cfg.window_ms = WIN;
        cfg.hll_p = 3;
        assert_null(fw_distinct_new(&cfg));
        cfg.hll_p = 19;
        assert_null(fw_distinct_new(&cfg));
        assert_null(fw_distinct_new(NULL));
        fw_distinct_free(NULL);
}

static void test_exact_counts_and_duplicates(void **state) {
        const uint32_t emax = 64;
        fw_distinct_t *d = make(emax, 12);

        (void)state;
        assert_int_equal(fw_distinct_count(d, 1000), 0);
        for (uint32_t i = 1; i <= emax; i++) {
                assert_int_equal(fw_distinct_add(d, elem(1, i), 1000 + i), 0);
                assert_int_equal(fw_distinct_count(d, 1000 + i), i);
                /* duplicates of every element so far: no inflation */
                for (uint32_t j = 1; j <= i; j++)
                        assert_int_equal(fw_distinct_add(d, elem(1, j), 1000 + i), 0);
                assert_int_equal(fw_distinct_count(d, 1000 + i), i);
                assert_true(fw_distinct_is_exact(d));
        }
        fw_distinct_free(d);
}

static void test_exact_window_edge_and_refresh(void **state) {
        fw_distinct_t *d = make(64, 12);
        const int64_t t = 5000000;

        (void)state;
        assert_int_equal(fw_distinct_add(d, elem(2, 1), t), 0);
        assert_int_equal(fw_distinct_count(d, t), 1);
        assert_int_equal(fw_distinct_count(d, t + WIN - 1), 1);
        assert_int_equal(fw_distinct_count(d, t + WIN), 0);
        /* refresh: a re-add moves the last sighting forward */
        assert_int_equal(fw_distinct_add(d, elem(2, 1), t + 1000), 0);
        assert_int_equal(fw_distinct_count(d, t + WIN), 1);
        assert_int_equal(fw_distinct_count(d, t + 1000 + WIN - 1), 1);
        assert_int_equal(fw_distinct_count(d, t + 1000 + WIN), 0);
        /* out of order: an older sighting does not move the last time backwards */
        assert_int_equal(fw_distinct_add(d, elem(2, 2), t + 2000), 0);
        assert_int_equal(fw_distinct_add(d, elem(2, 1), t + 10), 0);
        assert_int_equal(fw_distinct_count(d, t + 1000 + WIN - 1), 2);
        assert_int_equal(fw_distinct_count(d, t + 1000 + WIN), 1);
        /* out of order: a new element seen late counts from its own time */
        assert_int_equal(fw_distinct_add(d, elem(2, 3), t + 1500), 0);
        assert_int_equal(fw_distinct_count(d, t + 1500 + WIN - 1), 2);
        assert_int_equal(fw_distinct_count(d, t + 1500 + WIN), 1);
        assert_int_equal(fw_distinct_count(d, t + 2000 + WIN), 0);
        /* a sighting already out of the window of the newest time is ignored */
        assert_int_equal(fw_distinct_add(d, elem(2, 4), t + 2000 - WIN), 0);
        assert_int_equal(fw_distinct_count(d, t + 2000), 3);
        fw_distinct_free(d);
}

/* Elements expire, so a long stream with few live elements stays exact and small. */
static void test_exact_expiry_keeps_table_small(void **state) {
        fw_distinct_t *d = make(64, 12);
        size_t max_bytes = 0;

        (void)state;
        for (uint32_t i = 0; i < 100000; i++) {
                int64_t ts = (int64_t)i * (WIN / 40); /* 40 arrivals per window */

                assert_int_equal(fw_distinct_add(d, elem(3, i), ts), 0);
                if (i >= 40)
                        assert_int_equal(fw_distinct_count(d, ts), 40);
                if (fw_distinct_bytes(d) > max_bytes)
                        max_bytes = fw_distinct_bytes(d);
        }
        assert_true(fw_distinct_is_exact(d));
        assert_true(max_bytes <= 2048);
        fw_distinct_free(d);
}

/* T targets evenly over one window length (last - first = WIN - 1), 50 start offsets. */
static void boundary_case(uint32_t T, uint32_t exact_max, double tol) {
        for (int o = 0; o < 50; o++) {
                fw_distinct_t *d = make(exact_max, 12);
                int64_t t0 = 1000000 + (int64_t)o * 7919;
                int64_t last = 0;
                uint64_t c;

                for (uint32_t i = 0; i < T; i++) {
                        last = t0 + (int64_t)i * (WIN - 1) / (T - 1);
                        assert_int_equal(fw_distinct_add(d, elem(100 + (uint64_t)o, i), last), 0);
                }
                assert_int_equal(last - t0, WIN - 1);
                c = fw_distinct_count(d, last);
                if (tol == 0.0)
                        assert_int_equal(c, T);
                else if (rel_err(c, T) > tol)
                        fail_msg("offset %d: count %llu for %u targets", o, (unsigned long long)c,
                                 T);
                /* one ms later the first target has left the window */
                c = fw_distinct_count(d, last + 1);
                if (tol == 0.0)
                        assert_int_equal(c, T - 1);
                fw_distinct_free(d);
        }
}

static void test_no_boundary_miss(void **state) {
        (void)state;
        boundary_case(25, 64, 0.0);
        boundary_case(64, 64, 0.0);
        boundary_case(2000, 64, 0.05);
}

static void test_promotion(void **state) {
        fw_distinct_t *d = make(64, 12);
        int64_t ts = 0;

        (void)state;
        for (uint32_t i = 0; i < 1000; i++) {
                ts = 10000 + i * 100;
                assert_int_equal(fw_distinct_add(d, elem(4, i), ts), 0);
                assert_int_equal(fw_distinct_is_exact(d), i < 64);
                if (i == 63)
                        assert_int_equal(fw_distinct_count(d, ts), 64);
        }
        assert_true(rel_err(fw_distinct_count(d, ts), 1000) <= 0.05);
        /* duplicates in the sketch do not inflate */
        for (uint32_t i = 0; i < 1000; i++)
                assert_int_equal(fw_distinct_add(d, elem(4, i), ts), 0);
        assert_true(rel_err(fw_distinct_count(d, ts), 1000) <= 0.05);
        /* window edge in the sketch: everything last seen at ts */
        assert_true(fw_distinct_count(d, ts + WIN - 1) > 900);
        assert_int_equal(fw_distinct_count(d, ts + WIN), 0);
        /* after silence, counting starts again */
        assert_int_equal(fw_distinct_add(d, elem(4, 5000), ts + 2 * WIN), 0);
        assert_int_equal(fw_distinct_count(d, ts + 2 * WIN), 1);
        fw_distinct_free(d);
}

/* Promotion carries the exact entries with their times; exact_max = 0 is sketch-only. */
static void test_promotion_keeps_times(void **state) {
        fw_distinct_t *d = make(8, 12);

        (void)state;
        for (uint32_t i = 0; i < 8; i++)
                assert_int_equal(fw_distinct_add(d, elem(5, i), 1000), 0);
        assert_true(fw_distinct_is_exact(d));
        assert_int_equal(fw_distinct_add(d, elem(5, 8), 2000), 0);
        assert_false(fw_distinct_is_exact(d));
        assert_int_equal(fw_distinct_count(d, 2000), 9);
        assert_int_equal(fw_distinct_count(d, 1000 + WIN), 1);
        assert_int_equal(fw_distinct_count(d, 2000 + WIN), 0);
        fw_distinct_free(d);

        d = make(0, 12);
        assert_int_equal(fw_distinct_add(d, elem(6, 1), 1000), 0);
        assert_false(fw_distinct_is_exact(d));
        assert_int_equal(fw_distinct_count(d, 1000), 1);
        fw_distinct_free(d);
}

/* Out-of-order sightings in the sketch: late sightings of fresh elements count, old ones of
 * refreshed elements do not shorten their life. */
static void test_sketch_out_of_order(void **state) {
        fw_distinct_t *d = make(0, 12);
        const uint32_t n = 3000;

        (void)state;
        for (uint32_t i = 0; i < n; i++)
                assert_int_equal(fw_distinct_add(d, elem(7, i), 100000), 0);
        for (uint32_t i = 0; i < n; i++) /* older sightings after newer ones */
                assert_int_equal(fw_distinct_add(d, elem(7, i), 50000), 0);
        assert_true(rel_err(fw_distinct_count(d, 100000 + WIN - 1), n) <= 0.05);
        assert_int_equal(fw_distinct_count(d, 100000 + WIN), 0);
        fw_distinct_free(d);
}

static void test_accuracy(void **state) {
        static const uint32_t ns[] = {1000, 10000, 100000};
        enum { TRIALS = 200 };
        double err[TRIALS];

        (void)state;
        for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
                double p50, p99;

                for (int t = 0; t < TRIALS; t++) {
                        fw_distinct_t *d = make(64, 12);
                        uint64_t seed = 1000 + (uint64_t)k * TRIALS + (uint64_t)t;

                        for (uint32_t i = 0; i < ns[k]; i++)
                                assert_int_equal(fw_distinct_add(d, elem(seed, i), 1000 + i % 1000),
                                                 0);
                        err[t] = rel_err(fw_distinct_count(d, 2000), ns[k]);
                        fw_distinct_free(d);
                }
                p99 = fw_gen_quantile(err, TRIALS, 0.99);
                p50 = fw_gen_quantile(err, TRIALS, 0.50);
                printf("accuracy n=%u trials=%d p=12 p50=%.4f p99=%.4f max=%.4f\n", ns[k], TRIALS,
                       p50, p99, err[TRIALS - 1]);
                assert_true(p99 <= 0.05);
        }
}

/* 20,000 elements at a steady rate over 3 windows, ~30% re-sighted later; compare with the exact
 * count of elements whose last sighting is in the window, at 40 times per run, 10 runs. */
static void test_sliding_accuracy(void **state) {
        enum { N = 20000, RUNS = 10, CHECKS = 40 };
        int64_t *last = malloc(N * sizeof(*last));
        double *err = malloc(RUNS * CHECKS * sizeof(*err));
        size_t ne = 0;
        double p50, p99;

        (void)state;
        assert_non_null(last);
        assert_non_null(err);
        for (int run = 0; run < RUNS; run++) {
                fw_distinct_t *d = make(64, 12);
                uint64_t seed = 50000 + (uint64_t)run;
                const int64_t span = 3 * WIN, step = span / N;
                int check = 0;

                for (int i = 0; i < N; i++)
                        last[i] = INT64_MIN;
                for (int i = 0; i < N; i++) {
                        int64_t ts = (int64_t)i * step;
                        uint64_t r = splitmix64(seed * 7 + (uint64_t)i);

                        assert_int_equal(fw_distinct_add(d, elem(seed, (uint64_t)i), ts), 0);
                        last[i] = ts;
                        if (i > 0 && r % 10 < 3) { /* re-sight an element from the last window */
                                int j = i - 1 - (int)((r >> 8) % (uint64_t)(i < 4000 ? i : 4000));

                                assert_int_equal(fw_distinct_add(d, elem(seed, (uint64_t)j), ts),
                                                 0);
                                last[j] = ts;
                        }
                        if (i >= N / 6 && i % ((N - N / 6) / CHECKS) == 0 && check < CHECKS) {
                                uint64_t truth = 0;

                                for (int j = 0; j <= i; j++)
                                        if (last[j] > ts - WIN)
                                                truth++;
                                err[ne++] = rel_err(fw_distinct_count(d, ts), truth);
                                check++;
                        }
                }
                assert_false(fw_distinct_is_exact(d));
                fw_distinct_free(d);
        }
        p99 = fw_gen_quantile(err, ne, 0.99);
        p50 = fw_gen_quantile(err, ne, 0.50);
        printf("sliding accuracy samples=%zu p50=%.4f p99=%.4f max=%.4f\n", ne, p50, p99,
               err[ne - 1]);
        assert_true(p99 <= 0.05);
        free(last);
        free(err);
}

/* A stream with new elements, re-sightings and out-of-order times over 3 windows; at every check
 * the sketch's registers must equal the reference maxima exactly (same count as the snapshot). */
static void reference_case(uint8_t p, uint32_t steps, uint64_t seed) {
        enum { CHECKS = 30 };
        fw_distinct_t *d = make(0, p);
        struct ref rf = {.p = p, .n = 0};
        const int64_t step = 3 * WIN / steps;
        int64_t newest = INT64_MIN;
        int checks = 0;

        rf.hash = malloc(steps * sizeof(*rf.hash));
        rf.last = malloc(steps * sizeof(*rf.last));
        assert_non_null(rf.hash);
        assert_non_null(rf.last);
        for (uint32_t i = 0; i < steps; i++) {
                uint64_t r = splitmix64(seed * 31 + i);
                int64_t ts = 1000000 + (int64_t)i * step -
                             (int64_t)((r >> 40) % 4 == 0 ? (r >> 20) % 20000 : 0);
                size_t id;
                uint64_t c, want, truth;

                if (rf.n == 0 || r % 10 < 6) { /* a new element */
                        id = rf.n++;
                        rf.hash[id] = elem(seed, id);
                        rf.last[id] = INT64_MIN;
                } else { /* a re-sighting of one of the last ~2 windows' elements */
                        size_t back = (size_t)((r >> 8) % (rf.n < steps / 2 ? rf.n : steps / 2));

                        id = rf.n - 1 - back;
                }
                assert_int_equal(fw_distinct_add(d, rf.hash[id], ts), 0);
                if (newest == INT64_MIN || ts > newest - WIN) {
                        if (ts > rf.last[id])
                                rf.last[id] = ts;
                        if (ts > newest)
                                newest = ts;
                }
                if (i > 0 && i % (steps / CHECKS) == 0) {
                        int64_t now = newest + (int64_t)(checks % 3) * (WIN / 3);

                        c = fw_distinct_count(d, now);
                        want = ref_count(&rf, WIN, now, &truth);
                        if (c != want)
                                fail_msg("p=%u step %u now %lld: count %llu, reference %llu", p, i,
                                         (long long)now, (unsigned long long)c,
                                         (unsigned long long)want);
                        checks++;
                }
        }
        assert_true(checks >= CHECKS - 1);
        assert_false(fw_distinct_is_exact(d));
        fw_distinct_free(d);
        free(rf.hash);
        free(rf.last);
}

static void test_sketch_matches_reference(void **state) {
        (void)state;
        reference_case(4, 3000, 11);   /* 16 registers: one partial group, long lists */
        reference_case(8, 20000, 12);  /* 8 groups, ~20 live elements per register */
        reference_case(12, 60000, 13); /* 128 groups */
}

/* 64 registers (2 groups) with 16-pair lists; the cap drops the oldest pair; lists shrink as
 * pairs expire, and so do the bytes. */
/* d counts at now what a sketch holding one sighting of rank rho in every register (at t0)
 * counts. */
static void expect_registers_at(fw_distinct_t *d, uint8_t p, int64_t t0, uint8_t rho, int64_t now) {
        fw_distinct_t *snap = make(0, p);
        for (uint32_t r = 0; r < (1u << p); r++)
                assert_int_equal(fw_distinct_add(snap, crafted(p, r, rho, 0), t0), 0);
        assert_int_equal(fw_distinct_count(d, now), fw_distinct_count(snap, now));
        fw_distinct_free(snap);
}

static void test_sketch_long_lists(void **state) {
        const uint8_t p = 6;
        const uint32_t m = 1u << p;
        const int64_t t0 = 2000000;
        fw_distinct_t *d = make(0, p);
        fw_distinct_t *snap;
        size_t full, prev, b;

        (void)state;
        /* register r: rho 17, 16, ..., 2 at t0 + k * 1000 + r (k = 0..15): every pair kept */
        for (uint32_t k = 0; k < 16; k++)
                for (uint32_t r = 0; r < m; r++)
                        assert_int_equal(fw_distinct_add(d, crafted(p, r, 17 - k, splitmix64(k)),
                                                         t0 + k * 1000 + r),
                                         0);
        full = fw_distinct_bytes(d);
        assert_true(full >= sketch_floor(p) + m * 16 * 4);
        assert_true(full <= sketch_floor(p) + m * 16 * 4 * 5 / 4);
        /* every register is at 17 */
        expect_registers_at(d, p, t0, 17, t0 + 15 * 1000 + 100);
        /* a 17th pair (rho 1) overflows the cap: the oldest pair (rho 17) goes, registers at 16 */
        for (uint32_t r = 0; r < m; r++)
                assert_int_equal(fw_distinct_add(d, crafted(p, r, 1, 7), t0 + 16 * 1000 + r), 0);
        assert_true(fw_distinct_bytes(d) <= full + 2 * 8 * 4);
        expect_registers_at(d, p, t0, 16, t0 + 16 * 1000 + 100);
        /* at now_j = t0 + WIN + j * 1000 + 100, pairs k <= j are out: the registers are at 16 - j;
         * a rho-1 sighting at now_j in every register replaces the older rho-1 pair */
        prev = fw_distinct_bytes(d);
        for (uint32_t j = 0; j < 16; j++) {
                int64_t now = t0 + WIN + (int64_t)j * 1000 + 100;

                for (uint32_t r = 0; r < m; r++)
                        assert_int_equal(fw_distinct_add(d, crafted(p, r, 1, 9 + j), now), 0);
                snap = make(0, p);
                for (uint32_t r = 0; r < m; r++)
                        assert_int_equal(fw_distinct_add(snap, crafted(p, r, 16 - j, 0), now), 0);
                assert_int_equal(fw_distinct_count(d, now), fw_distinct_count(snap, now));
                fw_distinct_free(snap);
                b = fw_distinct_bytes(d);
                assert_true(b <= prev); /* never grows while lists only shrink */
                prev = b;
        }
        /* one pair per register left (rho 1 at now_15) */
        assert_true(prev <= sketch_floor(p) + m * 4 * 3 / 2 + 2 * 4 * 4);
        assert_true(prev * 4 < full);
        /* all expired: the next sweep frees every buffer but the one holding the new pair */
        assert_int_equal(fw_distinct_add(d, crafted(p, 0, 3, 0), t0 + 4 * WIN), 0);
        assert_int_equal(fw_distinct_count(d, t0 + 4 * WIN), 1);
        assert_true(fw_distinct_bytes(d) <= sketch_floor(p) + 3 * 4);
        fw_distinct_free(d);
}

/* Steady streams at p = 12: 100,000 live, then 10,000, then 10 per window; memory follows (the
 * bound is checked over the second half of the second window at each rate: expired pairs are
 * swept every quarter window). */
static void test_sketch_memory_follows_live(void **state) {
        static const uint32_t rate[] = {100000, 10000, 10};
        static const size_t cap[] = {80 * 1024, 40 * 1024, 0};
        fw_distinct_t *d = make(64, 12);
        size_t bytes[3];
        int64_t t = 0;
        uint64_t id = 0;

        (void)state;
        for (int ph = 0; ph < 3; ph++) {
                size_t maxb = 0, limit = cap[ph] ? cap[ph] : sketch_floor(12) + 1024;
                uint64_t c;

                for (int w = 0; w < 2; w++) { /* two windows at this rate */
                        for (uint32_t i = 0; i < rate[ph]; i++) {
                                t += WIN / rate[ph];
                                assert_int_equal(fw_distinct_add(d, elem(14, id++), t), 0);
                                if (w == 1 && i >= rate[ph] / 2 && fw_distinct_bytes(d) > maxb)
                                        maxb = fw_distinct_bytes(d);
                        }
                }
                c = fw_distinct_count(d, t);
                bytes[ph] = fw_distinct_bytes(d);
                printf("memory regime=sketch p=12 steady live=%u bytes=%zu max_in_window=%zu "
                       "count=%llu\n",
                       rate[ph], bytes[ph], maxb, (unsigned long long)c);
                assert_true(rel_err(c, rate[ph]) <= (rate[ph] > 10 ? 0.05 : 0.1));
                assert_true(maxb <= limit);
                if (ph > 0)
                        assert_true(bytes[ph] < bytes[ph - 1]);
        }
        assert_false(fw_distinct_is_exact(d));
        fw_distinct_free(d);
}

/* A window above 2^23 ms uses coarser ticks; sweeps keep working over many windows. */
static void test_sketch_large_window(void **state) {
        const int64_t win = 100000000; /* ~28 hours: 12 ms ticks */
        fw_distinct_t *d = make_w(win, 64, 12);
        int64_t t = 5;
        uint64_t id = 0;

        (void)state;
        for (int w = 0; w < 20; w++) {
                for (int i = 0; i < 2000; i++) {
                        t += win / 2000;
                        assert_int_equal(fw_distinct_add(d, elem(15, id++), t), 0);
                }
                if (w > 0)
                        assert_true(rel_err(fw_distinct_count(d, t), 2000) <= 0.05);
                assert_true(fw_distinct_bytes(d) <= 40 * 1024);
        }
        assert_true(fw_distinct_count(d, t + win - 1) >= 1);
        assert_int_equal(fw_distinct_count(d, t + win + 12), 0);
        fw_distinct_free(d);
}

static void test_memory(void **state) {
        static const uint32_t exact_n[] = {1, 3, 10, 25};
        static const uint32_t sketch_n[] = {10000, 100000};
        static const size_t sketch_cap[] = {40 * 1024, 80 * 1024};
        fw_distinct_t *d = make(64, 12);

        (void)state;
        /* the per-key header and, in the same allocation, the smallest table (4 slots of 16 B)
         * for up to 3 elements */
        assert_true(fw_distinct_bytes(d) <= 56 + 4 * 16);
        fw_distinct_free(d);
        for (size_t k = 0; k < sizeof(exact_n) / sizeof(exact_n[0]); k++) {
                d = make(64, 12);
                for (uint32_t i = 0; i < exact_n[k]; i++)
                        assert_int_equal(fw_distinct_add(d, elem(9, i), 1000), 0);
                assert_true(fw_distinct_is_exact(d));
                printf("memory regime=exact elements=%u bytes=%zu\n", exact_n[k],
                       fw_distinct_bytes(d));
                if (exact_n[k] <= 3)
                        assert_true(fw_distinct_bytes(d) <= 56 + 4 * 16);
                assert_true(fw_distinct_bytes(d) <= 144 + 32 * exact_n[k]);
                fw_distinct_free(d);
        }
        for (size_t k = 0; k < 2; k++) {
                d = make(64, 12);
                for (uint32_t i = 0; i < sketch_n[k]; i++)
                        assert_int_equal(fw_distinct_add(d, elem(9, i), 1000 + i), 0);
                assert_false(fw_distinct_is_exact(d));
                printf("memory regime=sketch p=12 elements=%u bytes=%zu\n", sketch_n[k],
                       fw_distinct_bytes(d));
                assert_true(fw_distinct_bytes(d) <= sketch_cap[k]);
                assert_true(fw_distinct_bytes(d) > sketch_floor(12) + sketch_n[k] / 4);
                fw_distinct_free(d);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_invalid_cfg),
                cmocka_unit_test(test_exact_counts_and_duplicates),
                cmocka_unit_test(test_exact_window_edge_and_refresh),
                cmocka_unit_test(test_exact_expiry_keeps_table_small),
                cmocka_unit_test(test_no_boundary_miss),
                cmocka_unit_test(test_promotion),
                cmocka_unit_test(test_promotion_keeps_times),
                cmocka_unit_test(test_sketch_out_of_order),
                cmocka_unit_test(test_accuracy),
                cmocka_unit_test(test_sliding_accuracy),
                cmocka_unit_test(test_sketch_matches_reference),
                cmocka_unit_test(test_sketch_long_lists),
                cmocka_unit_test(test_sketch_memory_follows_live),
                cmocka_unit_test(test_sketch_large_window),
                cmocka_unit_test(test_memory),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
