/* Unit tests for detector/spike.c: per-interval session counts against a winsorised EWMA
 * baseline (mean + mean absolute deviation, Poisson floor). */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "spike.h"

#define MIN_MS 60000
#define PI     3.14159265358979323846

_Static_assert(sizeof(fw_spike_t) <= 32, "fw_spike_t must stay at most 32 bytes");

static fw_spike_params_t params(void) {
        fw_spike_params_t p = {.interval_ms = MIN_MS,
                               .min_count = 0,
                               .k = 6,
                               .alpha = 0.1,
                               .warmup = 10,
                               .escalation = 2.0};
        return p;
}

/* What one interval's worth of sessions produced. */
typedef struct {
        int alerts;
        uint32_t at[64];  /* count at each alert */
        uint32_t esc[64]; /* escalation number of each alert */
        fw_spike_verdict_t first, last;
} feed_t;

/* Add `count` sessions spread over interval `idx`; every call must return 0 or 1. */
static feed_t feed(fw_spike_t *s, const fw_spike_params_t *p, int64_t idx, uint32_t count) {
        feed_t f;
        memset(&f, 0, sizeof(f));
        for (uint32_t j = 0; j < count; j++) {
                fw_spike_verdict_t v;
                int64_t t = idx * p->interval_ms +
                            (int64_t)((uint64_t)j * (uint64_t)p->interval_ms / count);
                int rc = fw_spike_add(s, p, t, &v);
                assert_true(rc == 0 || rc == 1);
                if (rc == 1) {
                        if (f.alerts == 0)
                                f.first = v;
                        f.last = v;
                        if (f.alerts < 64) {
                                f.at[f.alerts] = v.count;
                                f.esc[f.alerts] = v.escalation;
                        }
                        f.alerts++;
                }
        }
        return f;
}

/* Feed `n` intervals of a constant count starting at interval idx0; returns the alerts seen. */
static int feed_const(fw_spike_t *s, const fw_spike_params_t *p, int64_t idx0, int n,
                      uint32_t count) {
        int alerts = 0;
        for (int i = 0; i < n; i++)
                alerts += feed(s, p, idx0 + i, count).alerts;
        return alerts;
}

/* ---- seeded PRNG and Poisson sampler ---- */

static uint64_t splitmix64(uint64_t *st) {
        uint64_t x = (*st += 0x9e3779b97f4a7c15ULL);
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
        return x ^ (x >> 31);
}

static double unif(uint64_t *st) {
        return (double)(splitmix64(st) >> 11) * 0x1.0p-53;
}

/* Knuth's product method, in chunks of lambda <= 50 (a sum of Poissons is Poisson). */
static uint32_t poisson(uint64_t *st, double lambda) {
        uint32_t total = 0;
        while (lambda > 0) {
                double l = lambda > 50 ? 50 : lambda;
                lambda -= l;
                double limit = exp(-l), prod = unif(st);
                while (prod > limit) {
                        total++;
                        prod *= unif(st);
                }
        }
        return total;
}

/* ---- tests ---- */

static void test_init(void **state) {
        (void)state;
        fw_spike_t s;
        memset(&s, 0x5a, sizeof(s));
        fw_spike_init(&s);
        assert_true(s.idx == INT64_MIN);
        assert_int_equal(s.count, 0);
        assert_int_equal(s.alerted, 0);
        assert_int_equal(s.n, 0);
        assert_true(s.mean == 0 && s.dev == 0);
        assert_true(sizeof(fw_spike_t) <= 32);

        fw_spike_params_t p = params();
        assert_int_equal(fw_spike_add(&s, &p, 123456, NULL), 0);
        assert_true(s.idx == 2);
        assert_int_equal(s.count, 1);
        assert_int_equal(s.n, 0);
}

/* The first closed interval sets the mean; adjacent intervals fold one value each. */
static void test_fold(void **state) {
        (void)state;
        fw_spike_params_t p = params();
        fw_spike_t s;
        fw_spike_init(&s);
        feed(&s, &p, 0, 50);
        assert_int_equal(s.count, 50);
        assert_int_equal(s.n, 0);
        feed(&s, &p, 1, 70);
        assert_int_equal(s.n, 1);
        assert_float_equal(s.mean, 50, 1e-6);
        assert_float_equal(s.dev, 0, 1e-6);
        feed(&s, &p, 2, 1);
        assert_int_equal(s.n, 2);
        assert_float_equal(s.mean, 52, 1e-4); /* 0.9 * 50 + 0.1 * 70 */
        assert_float_equal(s.dev, 2, 1e-5);   /* 0.9 * 0 + 0.1 * |70 - 50| */
}

/* No alert before `warmup` closed intervals, whatever the jump; the same jump alerts after. */
static void test_warmup(void **state) {
        (void)state;
        fw_spike_params_t p = params();
        fw_spike_t s;
        fw_spike_init(&s);
        assert_int_equal(feed_const(&s, &p, 0, 9, 100), 0);
        assert_int_equal(s.n, 8);
        /* interval 9: n = 9 < 10 */
        assert_int_equal(feed(&s, &p, 9, 100000).alerts, 0);
        assert_int_equal(s.n, 9);

        fw_spike_init(&s);
        assert_int_equal(feed_const(&s, &p, 0, 10, 100), 0);
        /* interval 10: n = 10 == warmup */
        feed_t f = feed(&s, &p, 10, 100000);
        assert_int_equal(s.n, 10);
        assert_true(f.alerts >= 1);
        assert_int_equal(f.at[0], 161); /* 100 + 6 * sqrt(100) = 160 */
}

/* Steady Poisson background (and a slow daily cycle) with k = 6: no false alarm. */
static void test_background_no_false_alarm(void **state) {
        (void)state;
        const double rates[] = {0.3, 3, 30, 100, 1000};
        const int intervals = 10000;
        int total_alerts = 0;
        for (size_t r = 0; r < sizeof(rates) / sizeof(rates[0]) + 1; r++) {
                fw_spike_params_t p = params();
                fw_spike_t s;
                fw_spike_init(&s);
                uint64_t st = 0x5eed0000u + r;
                int alerts = 0;
                double max_z = 0; /* worst (count - mean) / max(dev, sqrt(mean), 1) seen */
                for (int i = 0; i < intervals; i++) {
                        double lambda;
                        if (r < sizeof(rates) / sizeof(rates[0]))
                                lambda = rates[r];
                        else /* daily cycle at 1-min intervals: 50 .. 150 */
                                lambda = 100 * (1 + 0.5 * sin(2 * PI * i / 1440.0));
                        uint32_t c = poisson(&st, lambda);
                        if (s.n >= p.warmup && c > 0) {
                                double f = fmax(fmax(s.dev, sqrt(s.mean)), 1);
                                double z = (c - s.mean) / f;
                                if (z > max_z)
                                        max_z = z;
                        }
                        alerts += feed(&s, &p, i, c).alerts;
                }
                printf("# background lambda=%s%g: %d alerts in %d intervals, max z %.2f (k 6)\n",
                       r < sizeof(rates) / sizeof(rates[0]) ? "" : "cycle ",
                       r < sizeof(rates) / sizeof(rates[0]) ? rates[r] : 100.0, alerts, intervals,
                       max_z);
                assert_true(max_z > 2); /* the measurement did measure something */
                total_alerts += alerts;
        }
        assert_int_equal(total_alerts, 0);
}

/* A 10x jump alerts once at the crossing, then at 2x and 4x of it, and nowhere in between. */
static void test_jump_and_escalation(void **state) {
        (void)state;
        fw_spike_params_t p = params();
        fw_spike_t s;
        fw_spike_init(&s);
        assert_int_equal(feed_const(&s, &p, 100, 30, 100), 0);
        feed_t f = feed(&s, &p, 130, 1000);
        assert_int_equal(f.alerts, 3);
        assert_int_equal(f.at[0], 161);
        assert_int_equal(f.at[1], 322);
        assert_int_equal(f.at[2], 644);
        assert_int_equal(f.esc[0], 0);
        assert_int_equal(f.esc[1], 1);
        assert_int_equal(f.esc[2], 2);
        assert_true(f.first.interval_start_ms == 130LL * MIN_MS);
        assert_float_equal(f.first.mean, 100, 1e-3);
        assert_float_equal(f.first.dev, 10, 1e-3); /* dev 0, floor sqrt(100) */
        assert_float_equal(f.first.limit, 160, 1e-3);
        assert_int_equal(s.alerted, 644);

        /* the next interval starts over: first crossing again, escalation 0 */
        f = feed(&s, &p, 131, 200);
        assert_int_equal(f.alerts, 1);
        assert_int_equal(f.esc[0], 0);
        assert_true(f.first.interval_start_ms == 131LL * MIN_MS);

        /* a non-integer factor: c0, ceil(1.5 c0), ... numbered 0, 1, 2, ... */
        p.escalation = 1.5;
        fw_spike_init(&s);
        feed_const(&s, &p, 0, 30, 100);
        f = feed(&s, &p, 30, 600);
        assert_int_equal(f.alerts, 4);
        const uint32_t want[] = {161, 242, 363, 545};
        for (int i = 0; i < 4; i++) {
                assert_int_equal(f.at[i], want[i]);
                assert_int_equal(f.esc[i], (uint32_t)i);
        }

        /* escalation <= 1 disables re-alerts */
        p.escalation = 1.0;
        fw_spike_init(&s);
        feed_const(&s, &p, 0, 30, 100);
        f = feed(&s, &p, 30, 5000);
        assert_int_equal(f.alerts, 1);
        assert_int_equal(f.at[0], 161);
}

/* min_count keeps a quiet host's small jump quiet; without it the same jump alerts. */
static void test_min_count(void **state) {
        (void)state;
        fw_spike_params_t p = params();
        p.k = 2; /* limit for a mean of 1: 1 + 2 * max(0, 1, 1) = 3 */
        fw_spike_t s;
        fw_spike_init(&s);
        feed_const(&s, &p, 0, 20, 1);
        feed_t f = feed(&s, &p, 20, 5);
        assert_int_equal(f.alerts, 1); /* control: the jump 1 -> 5 is an outlier */
        assert_int_equal(f.at[0], 4);

        p.min_count = 10;
        fw_spike_init(&s);
        feed_const(&s, &p, 0, 20, 1);
        assert_int_equal(feed(&s, &p, 20, 5).alerts, 0);

        /* with k = 6 and min_count 100: 1 -> 50 silent, 1 -> 150 alerts at exactly 100 */
        p = params();
        p.min_count = 100;
        fw_spike_init(&s);
        feed_const(&s, &p, 0, 20, 1);
        assert_int_equal(feed(&s, &p, 20, 50).alerts, 0);
        f = feed(&s, &p, 21, 150);
        assert_int_equal(f.alerts, 1);
        assert_int_equal(f.at[0], 100);
        assert_int_equal(f.esc[0], 0);
        /* escalation from a min_count crossing: 100, 200, 400 numbered 0, 1, 2 */
        f = feed(&s, &p, 22, 500);
        assert_int_equal(f.alerts, 3);
        assert_int_equal(f.at[2], 400);
        assert_int_equal(f.esc[2], 2);
}

/* An attack of 3 intervals does not teach the baseline (once warm); a 4th still alerts. */
static void test_not_poisoned(void **state) {
        (void)state;
        fw_spike_params_t p = params();
        fw_spike_t s;
        fw_spike_init(&s);
        uint64_t st = 42;
        int64_t i = 0;
        for (; i < 200; i++)
                assert_int_equal(feed(&s, &p, i, poisson(&st, 100)).alerts, 0);
        double mean0 = s.mean;
        for (int a = 0; a < 3; a++, i++)
                assert_true(feed(&s, &p, i, 10000).alerts >= 1);
        feed(&s, &p, i++, poisson(&st, 100)); /* closes the last attack interval */
        printf("# poisoning: mean %.1f -> %.1f, dev %.1f after 3 intervals of 10000\n", mean0,
               (double)s.mean, (double)s.dev);
        /* each attack interval is folded as the limit, mean + 6 * spread: the mean moves by
         * 6, 8, 12 (dev grows 1.5x per clamped interval). An unclamped EWMA would be at
         * 100 + 0.271 * 9900 = 2,783. */
        assert_true(s.mean < 1.4 * mean0);
        assert_true(s.dev < 50);
        assert_true(feed(&s, &p, i++, 10000).alerts >= 1);
        /* and the background returns to silence */
        for (int b = 0; b < 100; b++, i++)
                assert_int_equal(feed(&s, &p, i, poisson(&st, 100)).alerts, 0);
        assert_float_equal(s.mean, 100, 10);

        /* control: during warm-up nothing is clamped, an attack does teach the baseline */
        fw_spike_init(&s);
        feed_const(&s, &p, 0, 5, 100);
        feed(&s, &p, 5, 10000);
        feed(&s, &p, 6, 100);
        assert_true(s.mean > 1000);
}

/* A sustained level shift is learnt: it alerts for a bounded number of intervals, then stops. */
static void test_sustained_shift(void **state) {
        (void)state;
        const double mult[] = {10, 100};
        const int lo[] = {4, 8}, hi[] = {12, 25};
        for (int m = 0; m < 2; m++) {
                fw_spike_params_t p = params();
                fw_spike_t s;
                fw_spike_init(&s);
                uint64_t st = 7;
                int64_t i = 0;
                for (; i < 200; i++)
                        feed(&s, &p, i, poisson(&st, 100));
                int alerting = 0, last = -1;
                for (int a = 0; a < 200; a++, i++) {
                        if (feed(&s, &p, i, poisson(&st, 100 * mult[m])).alerts > 0) {
                                alerting++;
                                last = a;
                        }
                }
                printf("# sustained %gx shift: %d alerting intervals, last at %d, mean %.0f\n",
                       mult[m], alerting, last, (double)s.mean);
                assert_int_equal(last, alerting - 1); /* consecutive from the start */
                assert_in_range(alerting, lo[m], hi[m]);
                assert_float_equal(s.mean, 100 * mult[m], 10 * mult[m]);
        }
}

/* Empty intervals fold zeros in closed form; a long silence decays the baseline. */
static void test_gaps(void **state) {
        (void)state;
        fw_spike_params_t p = params();
        fw_spike_t s;
        fw_spike_init(&s);
        feed_const(&s, &p, 0, 50, 100);
        assert_int_equal(s.n, 49);
        double m0 = s.mean, d0 = s.dev;

        /* gap of 5 empty intervals: compare with folding zeros one by one */
        feed(&s, &p, 55, 1); /* closes 49 (100), then 50..54 empty */
        double m = 0.9 * m0 + 0.1 * 100, d = 0.9 * d0 + 0.1 * fabs(100 - m0);
        for (int g = 0; g < 5; g++) {
                d = 0.9 * d + 0.1 * m;
                m = 0.9 * m;
        }
        assert_int_equal(s.n, 55);
        assert_float_equal(s.mean, m, 1e-3);
        assert_float_equal(s.dev, d, 1e-3);
        assert_true(s.dev > d0 + 10); /* dev rose towards |0 - mean| */

        /* silent for 1,000 intervals: mean and dev decayed to ~0 */
        fw_spike_init(&s);
        feed_const(&s, &p, 0, 50, 100);
        feed(&s, &p, 50 + 1000, 1); /* closes 49; 50 .. 1049 empty */
        assert_int_equal(s.n, 50 + 1000);
        assert_true(s.mean < 1e-3);
        assert_true(s.dev < 1e-3);
        /* its return is judged against the decayed baseline: min_count decides */
        feed_t f = feed(&s, &p, 1051, 100);
        assert_int_equal(f.alerts, 4); /* 7, 14, 28, 56 */
        assert_int_equal(f.at[0], 7);  /* limit 0.1 + 6 * 1 after folding the 1 */
        p.min_count = 100;
        fw_spike_init(&s);
        feed_const(&s, &p, 0, 50, 100);
        feed(&s, &p, 50 + 1000, 1);
        assert_int_equal(feed(&s, &p, 1051, 99).alerts, 0);
        p.min_count = 0;

        /* alpha = 1: the baseline is the last interval; one gap interval zeroes it */
        p.alpha = 1;
        p.warmup = 1;
        fw_spike_init(&s);
        feed_const(&s, &p, 0, 3, 100);
        feed(&s, &p, 4, 1);
        assert_float_equal(s.mean, 0, 1e-9);
        assert_float_equal(s.dev, 100, 1e-3);

        /* the largest possible gap: n saturates, nothing overflows */
        p = params();
        p.interval_ms = 1;
        fw_spike_init(&s);
        assert_int_equal(fw_spike_add(&s, &p, INT64_MIN, NULL), 0);
        assert_true(s.idx == INT64_MIN);
        assert_int_equal(s.count, 1);
        assert_int_equal(fw_spike_add(&s, &p, INT64_MAX, NULL), 0);
        assert_true(s.idx == INT64_MAX);
        assert_int_equal(s.n, UINT32_MAX);
        assert_true(s.mean == 0 && s.dev == 0);
}

/* A session older than the current interval returns -1 and changes nothing. */
static void test_late(void **state) {
        (void)state;
        fw_spike_params_t p = params();
        fw_spike_t s;
        fw_spike_init(&s);
        feed_const(&s, &p, 0, 20, 100);
        assert_int_equal(fw_spike_add(&s, &p, 20 * MIN_MS + 5, NULL), 0);
        fw_spike_t before = s;
        fw_spike_verdict_t v;
        memset(&v, 0x77, sizeof(v));
        fw_spike_verdict_t vbefore = v;
        assert_int_equal(fw_spike_add(&s, &p, 20 * MIN_MS - 1, &v), -1);
        assert_int_equal(fw_spike_add(&s, &p, 0, &v), -1);
        assert_int_equal(fw_spike_add(&s, &p, INT64_MIN, &v), -1);
        assert_memory_equal(&s, &before, sizeof(s));
        assert_memory_equal(&v, &vbefore, sizeof(v));
        /* earlier within the current interval is not late */
        assert_int_equal(fw_spike_add(&s, &p, 20 * MIN_MS, NULL), 0);
        assert_int_equal(s.count, before.count + 1);

        /* invalid interval: -1, nothing changes */
        before = s;
        p.interval_ms = 0;
        assert_int_equal(fw_spike_add(&s, &p, 21 * MIN_MS, &v), -1);
        assert_memory_equal(&s, &before, sizeof(s));
}

/* Interval index is floor(t / interval) for negative times too. */
static void test_negative_times(void **state) {
        (void)state;
        fw_spike_params_t p = params();
        fw_spike_t s;
        fw_spike_init(&s);
        assert_int_equal(fw_spike_add(&s, &p, -MIN_MS - 1, NULL), 0);
        assert_true(s.idx == -2);
        assert_int_equal(fw_spike_add(&s, &p, -MIN_MS, NULL), 0);
        assert_true(s.idx == -1);
        assert_int_equal(s.n, 1); /* interval -2 closed */
        assert_int_equal(fw_spike_add(&s, &p, -1, NULL), 0);
        assert_true(s.idx == -1);
        assert_int_equal(s.count, 2);
        assert_int_equal(fw_spike_add(&s, &p, -MIN_MS - 1, NULL), -1);
        assert_int_equal(fw_spike_add(&s, &p, 0, NULL), 0);
        assert_true(s.idx == 0);
        assert_int_equal(s.n, 2);

        /* a baseline built across t = 0 alerts with a negative interval start */
        fw_spike_init(&s);
        feed_const(&s, &p, -40, 30, 100);
        feed_t f = feed(&s, &p, -10, 500);
        assert_int_equal(f.alerts, 2);
        assert_true(f.first.interval_start_ms == -10LL * MIN_MS);
        assert_int_equal(f.at[0], 161);

        /* interval start clamps at INT64_MIN instead of overflowing */
        p.interval_ms = 7;
        p.warmup = 0;
        p.k = 1.5;
        fw_spike_init(&s);
        fw_spike_verdict_t v;
        assert_int_equal(fw_spike_add(&s, &p, INT64_MIN, &v), 0); /* 1 <= 0 + 1.5 * 1 */
        assert_int_equal(fw_spike_add(&s, &p, INT64_MIN, &v), 1);
        assert_int_equal(v.count, 2);
        assert_true(v.interval_start_ms == INT64_MIN);
}

/* The count saturates at UINT32_MAX; a saturated interval never re-alerts. */
static void test_saturation(void **state) {
        (void)state;
        fw_spike_params_t p = params();
        fw_spike_t s;
        fw_spike_init(&s);
        feed_const(&s, &p, 0, 20, 100);
        assert_int_equal(fw_spike_add(&s, &p, 20 * MIN_MS, NULL), 0);
        s.count = UINT32_MAX - 1;
        fw_spike_verdict_t v;
        assert_int_equal(fw_spike_add(&s, &p, 20 * MIN_MS, &v), 1);
        assert_int_equal(v.count, UINT32_MAX);
        assert_int_equal(fw_spike_add(&s, &p, 20 * MIN_MS, &v), 0);
        assert_int_equal(s.count, UINT32_MAX);
        /* closing it folds at most the limit (winsorised) */
        assert_int_equal(fw_spike_add(&s, &p, 21 * MIN_MS, NULL), 0);
        assert_true(s.mean < 110);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_init),
                cmocka_unit_test(test_fold),
                cmocka_unit_test(test_warmup),
                cmocka_unit_test(test_background_no_false_alarm),
                cmocka_unit_test(test_jump_and_escalation),
                cmocka_unit_test(test_min_count),
                cmocka_unit_test(test_not_poisoned),
                cmocka_unit_test(test_sustained_shift),
                cmocka_unit_test(test_gaps),
                cmocka_unit_test(test_late),
                cmocka_unit_test(test_negative_times),
                cmocka_unit_test(test_saturation),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
