/* Unit tests for detector/pairmap.c: the bounded first-sighting map of a source's sub-keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pairmap.h"
#include "session_gen.h"

/* Non-zero pseudo-random key number i of stream seed (key 0 is reserved by the map). */
static uint64_t key_of(uint64_t seed, uint64_t i) {
        uint64_t k = fw_gen_mix(fw_gen_mix(seed) ^ (i * 0x632be59bd9b4e019ULL));
        return k ? k : 1;
}

static int get(const fw_pairmap_t *m, uint64_t key, int64_t cutoff, uint64_t *elem, int64_t *ts) {
        *elem = 0;
        *ts = 0;
        return fw_pairmap_get(m, key, cutoff, elem, ts);
}

static void test_empty(void **state) {
        fw_pairmap_t m;
        uint64_t elem;
        int64_t ts;

        (void)state;
        fw_pairmap_init(&m);
        assert_int_equal(fw_pairmap_bytes(&m), 0);
        assert_int_equal(get(&m, 42, INT64_MIN, &elem, &ts), 0);
        fw_pairmap_del(&m, 42); /* no-op on an empty map */
        assert_int_equal(fw_pairmap_bytes(&m), 0);
        fw_pairmap_free(&m);
        fw_pairmap_free(&m); /* free leaves an empty map that can be freed again */
        assert_int_equal(fw_pairmap_bytes(&m), 0);
}

static void test_put_get_del(void **state) {
        fw_pairmap_t m;
        uint64_t elem;
        int64_t ts;

        (void)state;
        fw_pairmap_init(&m);
        assert_int_equal(fw_pairmap_put(&m, 5, 50, 100, INT64_MIN, 1024), 0);
        assert_int_equal(fw_pairmap_put(&m, 6, 60, 110, INT64_MIN, 1024), 0);
        assert_true(fw_pairmap_bytes(&m) >= 2 * sizeof(fw_pair_t));
        assert_int_equal(get(&m, 5, INT64_MIN, &elem, &ts), 1);
        assert_int_equal(elem, 50);
        assert_int_equal(ts, 100);
        assert_int_equal(get(&m, 6, INT64_MIN, &elem, &ts), 1);
        assert_int_equal(elem, 60);
        assert_int_equal(ts, 110);
        assert_int_equal(get(&m, 7, INT64_MIN, &elem, &ts), 0);

        /* the key's entry is replaced in place: same size, same occupancy, new value */
        size_t bytes = fw_pairmap_bytes(&m);
        uint32_t used = m.used;
        assert_int_equal(fw_pairmap_put(&m, 5, 51, 200, INT64_MIN, 1024), 0);
        assert_int_equal(fw_pairmap_bytes(&m), bytes);
        assert_int_equal(m.used, used);
        assert_int_equal(get(&m, 5, INT64_MIN, &elem, &ts), 1);
        assert_int_equal(elem, 51);
        assert_int_equal(ts, 200);
        /* replacing never leaves the old value visible, even after many replacements */
        for (int i = 0; i < 100; i++)
                assert_int_equal(
                        fw_pairmap_put(&m, 5, 1000 + (uint64_t)i, 300 + i, INT64_MIN, 1024), 0);
        assert_int_equal(m.used, used);
        assert_int_equal(get(&m, 5, INT64_MIN, &elem, &ts), 1);
        assert_int_equal(elem, 1099);
        assert_int_equal(ts, 399);

        /* delete: gone, the other key stays, deleting again or an absent key is a no-op */
        fw_pairmap_del(&m, 5);
        assert_int_equal(get(&m, 5, INT64_MIN, &elem, &ts), 0);
        assert_int_equal(get(&m, 6, INT64_MIN, &elem, &ts), 1);
        assert_int_equal(elem, 60);
        fw_pairmap_del(&m, 5);
        fw_pairmap_del(&m, 12345);
        assert_int_equal(get(&m, 6, INT64_MIN, &elem, &ts), 1);
        /* a deleted key can come back */
        assert_int_equal(fw_pairmap_put(&m, 5, 52, 500, INT64_MIN, 1024), 0);
        assert_int_equal(get(&m, 5, INT64_MIN, &elem, &ts), 1);
        assert_int_equal(elem, 52);
        assert_int_equal(ts, 500);
        fw_pairmap_free(&m);
        assert_int_equal(fw_pairmap_bytes(&m), 0);
        assert_int_equal(get(&m, 6, INT64_MIN, &elem, &ts), 0);
}

/* Entries not newer than the cutoff count as absent; the boundary is exclusive. */
static void test_expiry_by_cutoff(void **state) {
        fw_pairmap_t m;
        uint64_t elem;
        int64_t ts;

        (void)state;
        fw_pairmap_init(&m);
        assert_int_equal(fw_pairmap_put(&m, 9, 90, 1000, INT64_MIN, 64), 0);
        assert_int_equal(get(&m, 9, 998, &elem, &ts), 1);
        assert_int_equal(get(&m, 9, 999, &elem, &ts), 1);
        assert_int_equal(ts, 1000);
        assert_int_equal(get(&m, 9, 1000, &elem, &ts), 0); /* ts <= cutoff: expired */
        assert_int_equal(get(&m, 9, 5000, &elem, &ts), 0);
        /* negative and zero times work like any other */
        assert_int_equal(fw_pairmap_put(&m, 10, 100, -50, INT64_MIN, 64), 0);
        assert_int_equal(get(&m, 10, -51, &elem, &ts), 1);
        assert_int_equal(ts, -50);
        assert_int_equal(get(&m, 10, -50, &elem, &ts), 0);
        fw_pairmap_free(&m);
}

/* Below the cap the map grows and keeps every live entry: no displacement, no loss. */
static void test_growth_keeps_all(void **state) {
        const uint32_t max_cap = 1u << 16; /* never reached: the map needs 4096 slots */
        const uint32_t n = 3000;

        (void)state;
        for (uint64_t seed = 1; seed <= 20; seed++) {
                fw_pairmap_t m;
                uint64_t elem;
                int64_t ts;
                size_t prev = 0;

                fw_pairmap_init(&m);
                for (uint32_t i = 0; i < n; i++) {
                        assert_int_equal(fw_pairmap_put(&m, key_of(seed, i), i, 1000 + i, INT64_MIN,
                                                        max_cap),
                                         0);
                        assert_true(fw_pairmap_bytes(&m) >= prev); /* never shrinks while live */
                        prev = fw_pairmap_bytes(&m);
                        assert_true(m.cap <= max_cap);
                }
                for (uint32_t i = 0; i < n; i++) {
                        assert_int_equal(get(&m, key_of(seed, i), INT64_MIN, &elem, &ts), 1);
                        assert_int_equal(elem, i);
                        assert_int_equal(ts, 1000 + (int64_t)i);
                }
                assert_int_equal(get(&m, key_of(seed + 1000, 0), INT64_MIN, &elem, &ts), 0);
                assert_int_equal(fw_pairmap_bytes(&m), (size_t)m.cap * sizeof(fw_pair_t));
                fw_pairmap_free(&m);
        }
}

/* At the cap, insertions displace (return 1), the map stays bounded, the newest entry is always
 * there and at most cap entries are retrievable. */
static void test_displacement_at_cap(void **state) {
        const uint32_t max_cap = 64;
        const uint32_t n = 5000;
        fw_pairmap_t m;
        uint64_t elem;
        int64_t ts;
        uint32_t displaced = 0;

        (void)state;
        fw_pairmap_init(&m);
        for (uint32_t i = 0; i < n; i++) {
                int r = fw_pairmap_put(&m, key_of(7, i), i, 1000 + i, INT64_MIN, max_cap);

                assert_true(r == 0 || r == 1);
                displaced += (uint32_t)r;
                assert_true(fw_pairmap_bytes(&m) <= max_cap * sizeof(fw_pair_t));
                assert_int_equal(get(&m, key_of(7, i), INT64_MIN, &elem, &ts), 1);
                assert_int_equal(elem, i);
        }
        assert_int_equal(m.cap, max_cap);
        assert_true(displaced >= n - max_cap);
        uint32_t found = 0;
        for (uint32_t i = 0; i < n; i++)
                found += (uint32_t)get(&m, key_of(7, i), INT64_MIN, &elem, &ts);
        assert_true(found <= max_cap);
        assert_true(found >= max_cap / 2);
        /* the oldest entries went first: the very first keys are long gone */
        assert_int_equal(get(&m, key_of(7, 0), INT64_MIN, &elem, &ts), 0);

        /* a cap below the minimum size is raised to it, still bounded */
        fw_pairmap_t s;
        fw_pairmap_init(&s);
        for (uint32_t i = 0; i < 100; i++)
                assert_true(fw_pairmap_put(&s, key_of(8, i), i, i, INT64_MIN, 1) >= 0);
        assert_true(s.cap >= 1 && s.cap <= 4);
        assert_int_equal(get(&s, key_of(8, 99), INT64_MIN, &elem, &ts), 1);
        fw_pairmap_free(&s);
        fw_pairmap_free(&m);
}

/* Expired entries are reused before anything live is displaced, at the cap or below it, so a
 * long stream of short-lived first sightings never displaces and never grows the map. */
static void test_expired_slots_reused(void **state) {
        const uint32_t max_cap = 64;
        fw_pairmap_t m;
        uint64_t elem;
        int64_t ts;

        (void)state;
        fw_pairmap_init(&m);
        /* 20 live entries per "window" of 100 ticks; entries older than a window are expired */
        for (uint32_t i = 0; i < 20000; i++) {
                int64_t t = (int64_t)i * 5;
                int r = fw_pairmap_put(&m, key_of(9, i), i, t, t - 100, max_cap);

                assert_int_equal(r, 0);
                assert_true(m.cap <= max_cap);
        }
        assert_true(m.cap <= 64);
        /* the newest 20 entries are live, older ones read as absent */
        int64_t now = 19999 * 5;
        for (uint32_t i = 19981; i < 20000; i++)
                assert_int_equal(get(&m, key_of(9, i), now - 100, &elem, &ts), 1);
        assert_int_equal(get(&m, key_of(9, 19970), now - 100, &elem, &ts), 0);
        fw_pairmap_free(&m);

        /* at the cap: fill with old entries, then everything is expired and reusable */
        fw_pairmap_init(&m);
        for (uint32_t i = 0; i < 48; i++)
                (void)fw_pairmap_put(&m, key_of(10, i), i, 10, INT64_MIN, 64);
        assert_int_equal(m.cap, 64);
        for (uint32_t i = 0; i < 1000; i++) {
                assert_int_equal(fw_pairmap_put(&m, key_of(11, i), i, 1000 + i, 999 + i - 40, 64),
                                 0);
                assert_int_equal(m.cap, 64);
                assert_int_equal(get(&m, key_of(11, i), 999 + i - 40, &elem, &ts), 1);
        }
        /* deleted slots are reused as well */
        fw_pairmap_t d;
        fw_pairmap_init(&d);
        for (uint32_t i = 0; i < 1000; i++) {
                assert_int_equal(fw_pairmap_put(&d, key_of(12, i), i, 10 + i, INT64_MIN, 16), 0);
                fw_pairmap_del(&d, key_of(12, i));
                assert_true(d.cap <= 16);
        }
        fw_pairmap_free(&d);
        fw_pairmap_free(&m);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_empty),
                cmocka_unit_test(test_put_get_del),
                cmocka_unit_test(test_expiry_by_cutoff),
                cmocka_unit_test(test_growth_keeps_all),
                cmocka_unit_test(test_displacement_at_cap),
                cmocka_unit_test(test_expired_slots_reused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
